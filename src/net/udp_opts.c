/* UDP socket options: broadcast, hop limits, multicast.
 *
 * Each option exists twice, as an IPv4 option (IPPROTO_IP) and an IPv6 one
 * (IPPROTO_IPV6); the socket's family picks which. Interfaces for multicast
 * are named by an address: an IPv4 address of the interface, or for IPv6
 * any address whose scope names it ("::%lo", "::%2"), because IPv6
 * multicast selects interfaces by index, not by address. */
#include <string.h>
#include <sys/socket.h>

#include "udp.h"

/* The handle must be usable and have a socket: options belong to it. */
static int opt_check(const art_udp_t *h) {
  if (!art__handle_usable((const art_handle_t *)h) || h->type != ART_UDP)
    return ART_EINVAL;
  return h->io_.fd >= 0 ? 0 : ART_EBADF;
}

static int is_v6(const art_udp_t *h) {
  return (h->flags_ & ART__UDP_IPV6) != 0;
}

/* Sets an int option, the IPv4 or the IPv6 one after the socket's family. */
static int set_family_opt(art_udp_t *h, int v4name, int v6name, int value) {
  int err = opt_check(h);
  if (err)
    return err;
  int level = is_v6(h) ? IPPROTO_IPV6 : IPPROTO_IP;
  int name = is_v6(h) ? v6name : v4name;
  if (setsockopt(h->io_.fd, level, name, &value, sizeof(value)) == -1)
    return -errno;
  return 0;
}

int art_udp_set_broadcast(art_udp_t *h, int on) {
  int err = opt_check(h);
  int value = on != 0;
  if (!err && setsockopt(h->io_.fd, SOL_SOCKET, SO_BROADCAST, &value,
                         sizeof(value)) == -1)
    err = -errno;
  return err;
}

int art_udp_set_ttl(art_udp_t *h, int ttl) {
  if (ttl < 1 || ttl > 255)
    return ART_EINVAL;
  return set_family_opt(h, IP_TTL, IPV6_UNICAST_HOPS, ttl);
}

int art_udp_set_multicast_ttl(art_udp_t *h, int ttl) {
  if (ttl < 0 || ttl > 255)
    return ART_EINVAL;
  return set_family_opt(h, IP_MULTICAST_TTL, IPV6_MULTICAST_HOPS, ttl);
}

int art_udp_set_multicast_loop(art_udp_t *h, int on) {
  return set_family_opt(h, IP_MULTICAST_LOOP, IPV6_MULTICAST_LOOP, on != 0);
}

/* An IPv4 interface address; NULL means INADDR_ANY. */
static int parse_if4(const char *s, struct in_addr *out) {
  struct sockaddr_in a;
  if (s == NULL) {
    out->s_addr = htonl(INADDR_ANY);
    return 0;
  }
  int err = art_ip4_addr(s, 0, &a);
  if (!err)
    *out = a.sin_addr;
  return err;
}

/* An IPv6 interface, as the scope of an address; NULL means index 0. */
static int parse_if6(const char *s, unsigned *index) {
  struct sockaddr_in6 a;
  if (s == NULL) {
    *index = 0;
    return 0;
  }
  int err = art_ip6_addr(s, 0, &a);
  if (!err)
    *index = a.sin6_scope_id;
  return err;
}

int art_udp_set_multicast_interface(art_udp_t *h, const char *ifaddr) {
  int err = opt_check(h);
  if (err)
    return err;
  if (is_v6(h)) {
    unsigned index;
    err = parse_if6(ifaddr, &index);
    if (!err && setsockopt(h->io_.fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &index,
                           sizeof(index)) == -1)
      err = -errno;
  } else {
    struct in_addr a;
    err = parse_if4(ifaddr, &a);
    if (!err &&
        setsockopt(h->io_.fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a)) == -1)
      err = -errno;
  }
  return err;
}

/* IPv4 group membership: IP_ADD_MEMBERSHIP / IP_DROP_MEMBERSHIP. */
static int membership4(art_udp_t *h, const struct in_addr *group,
                       const char *ifaddr, int join) {
  struct ip_mreq mreq;
  memset(&mreq, 0, sizeof(mreq));
  mreq.imr_multiaddr = *group;
  int err = parse_if4(ifaddr, &mreq.imr_interface);
  int opt = join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP;
  if (!err && setsockopt(h->io_.fd, IPPROTO_IP, opt, &mreq, sizeof(mreq)) == -1)
    err = -errno;
  return err;
}

/* IPv6 group membership: IPV6_ADD_MEMBERSHIP / IPV6_DROP_MEMBERSHIP. */
static int membership6(art_udp_t *h, const struct in6_addr *group,
                       const char *ifaddr, int join) {
  struct ipv6_mreq mreq;
  unsigned index;
  memset(&mreq, 0, sizeof(mreq));
  mreq.ipv6mr_multiaddr = *group;
  int err = parse_if6(ifaddr, &index);
  mreq.ipv6mr_interface = index;
  int opt = join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP;
  if (!err &&
      setsockopt(h->io_.fd, IPPROTO_IPV6, opt, &mreq, sizeof(mreq)) == -1)
    err = -errno;
  return err;
}

int art_udp_set_membership(art_udp_t *h, const char *multicast_addr,
                           const char *interface_addr,
                           art_membership membership) {
  struct sockaddr_in a4;
  struct sockaddr_in6 a6;
  if (multicast_addr == NULL ||
      (membership != ART_JOIN_GROUP && membership != ART_LEAVE_GROUP))
    return ART_EINVAL;
  int err = opt_check(h);
  if (err)
    return err;
  int join = membership == ART_JOIN_GROUP;
  if (!is_v6(h) && art_ip4_addr(multicast_addr, 0, &a4) == 0)
    return membership4(h, &a4.sin_addr, interface_addr, join);
  if (is_v6(h) && art_ip6_addr(multicast_addr, 0, &a6) == 0)
    return membership6(h, &a6.sin6_addr, interface_addr, join);
  return ART_EINVAL; /* not an address of the socket's family */
}

/* IPv4 source-specific membership: IP_ADD/DROP_SOURCE_MEMBERSHIP. */
static int source_membership4(art_udp_t *h, const char *group,
                              const char *ifaddr, const char *source,
                              int join) {
  struct ip_mreq_source mreq;
  struct sockaddr_in g, src;
  memset(&mreq, 0, sizeof(mreq));
  int err = art_ip4_addr(group, 0, &g);
  if (!err)
    err = art_ip4_addr(source, 0, &src);
  if (!err)
    err = parse_if4(ifaddr, &mreq.imr_interface);
  if (err)
    return err;
  mreq.imr_multiaddr = g.sin_addr;
  mreq.imr_sourceaddr = src.sin_addr;
  int opt = join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP;
  if (setsockopt(h->io_.fd, IPPROTO_IP, opt, &mreq, sizeof(mreq)) == -1)
    return -errno;
  return 0;
}

/* IPv6 source-specific membership: MCAST_JOIN/LEAVE_SOURCE_GROUP, which take
 * the group and source as sockaddrs and the interface as an index. */
static int source_membership6(art_udp_t *h, const char *group,
                              const char *ifaddr, const char *source,
                              int join) {
  struct group_source_req req;
  unsigned index;
  memset(&req, 0, sizeof(req));
  int err = art_ip6_addr(group, 0, (struct sockaddr_in6 *)&req.gsr_group);
  if (!err)
    err = art_ip6_addr(source, 0, (struct sockaddr_in6 *)&req.gsr_source);
  if (!err)
    err = parse_if6(ifaddr, &index);
  if (err)
    return err;
  req.gsr_interface = index;
  int opt = join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP;
  if (setsockopt(h->io_.fd, IPPROTO_IPV6, opt, &req, sizeof(req)) == -1)
    return -errno;
  return 0;
}

int art_udp_set_source_membership(art_udp_t *h, const char *multicast_addr,
                                  const char *interface_addr,
                                  const char *source_addr,
                                  art_membership membership) {
  if (multicast_addr == NULL || source_addr == NULL ||
      (membership != ART_JOIN_GROUP && membership != ART_LEAVE_GROUP))
    return ART_EINVAL;
  int err = opt_check(h);
  if (err)
    return err;
  int join = membership == ART_JOIN_GROUP;
  if (is_v6(h))
    return source_membership6(h, multicast_addr, interface_addr, source_addr,
                              join);
  return source_membership4(h, multicast_addr, interface_addr, source_addr,
                            join);
}
