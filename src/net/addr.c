/* Address helpers: strict parsing of textual IPv4/IPv6 addresses into
 * sockaddrs, and the reverse.
 *
 * inet_pton already rejects trailing junk and malformed groups; what it does
 * not do is the IPv6 scope suffix, so that is split off and parsed here with
 * the same strictness (an empty or over-long zone is an error, never
 * silently dropped or truncated). */
#include <arpa/inet.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

/* Ports come in as int so that out-of-range values can be refused rather
 * than silently wrapped by a cast to uint16_t. */
static int port_ok(int port) {
  return port >= 0 && port <= 65535;
}

int art_ip4_addr(const char *ip, int port, struct sockaddr_in *addr) {
  struct in_addr a;
  if (ip == NULL || addr == NULL || !port_ok(port))
    return ART_EINVAL;
  if (inet_pton(AF_INET, ip, &a) != 1)
    return ART_EINVAL;
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_port = htons((uint16_t)port);
  addr->sin_addr = a;
  return 0;
}

/* Parses a decimal interface index (digits only, checked by the caller)
 * that must fit 32 bits. */
static int parse_index(const char *s, uint32_t *out) {
  uint64_t v = 0;
  for (; *s != '\0'; s++) {
    v = v * 10 + (uint64_t)(*s - '0');
    if (v > UINT32_MAX)
      return ART_EINVAL;
  }
  *out = (uint32_t)v;
  return 0;
}

/* The zone after '%': all digits is an interface index, anything else an
 * interface name (Linux allows names that start with a digit). */
static int parse_zone(const char *zone, uint32_t *scope) {
  if (*zone == '\0' || strlen(zone) >= IF_NAMESIZE)
    return ART_EINVAL;
  if (strspn(zone, "0123456789") == strlen(zone))
    return parse_index(zone, scope);
  unsigned idx = if_nametoindex(zone);
  if (idx == 0)
    return ART_ENODEV;
  *scope = idx;
  return 0;
}

int art_ip6_addr(const char *ip, int port, struct sockaddr_in6 *addr) {
  char host[INET6_ADDRSTRLEN];
  struct in6_addr a;
  uint32_t scope = 0;
  if (ip == NULL || addr == NULL || !port_ok(port))
    return ART_EINVAL;
  const char *pct = strchr(ip, '%');
  size_t len = pct != NULL ? (size_t)(pct - ip) : strlen(ip);
  if (len == 0 || len >= sizeof(host))
    return ART_EINVAL;
  memcpy(host, ip, len);
  host[len] = '\0';
  if (inet_pton(AF_INET6, host, &a) != 1)
    return ART_EINVAL;
  if (pct != NULL) {
    int err = parse_zone(pct + 1, &scope);
    if (err)
      return err;
  }
  memset(addr, 0, sizeof(*addr));
  addr->sin6_family = AF_INET6;
  addr->sin6_port = htons((uint16_t)port);
  addr->sin6_addr = a;
  addr->sin6_scope_id = scope;
  return 0;
}

int art_ip4_name(const struct sockaddr_in *src, char *dst, size_t size) {
  char buf[INET_ADDRSTRLEN];
  if (src == NULL || dst == NULL)
    return ART_EINVAL;
  if (inet_ntop(AF_INET, &src->sin_addr, buf, sizeof(buf)) == NULL)
    return -errno;
  size_t n = strlen(buf);
  if (n >= size)
    return ART_ENOSPC;
  memcpy(dst, buf, n + 1);
  return 0;
}

int art_ip6_name(const struct sockaddr_in6 *src, char *dst, size_t size) {
  char buf[ART_IP_NAME_MAX];
  if (src == NULL || dst == NULL)
    return ART_EINVAL;
  if (inet_ntop(AF_INET6, &src->sin6_addr, buf, INET6_ADDRSTRLEN) == NULL)
    return -errno;
  size_t n = strlen(buf);
  if (src->sin6_scope_id != 0)
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%%%u",
                          (unsigned)src->sin6_scope_id);
  if (n >= size)
    return ART_ENOSPC;
  memcpy(dst, buf, n + 1);
  return 0;
}

int art_ip_name(const struct sockaddr *src, char *dst, size_t size) {
  if (src == NULL || dst == NULL)
    return ART_EINVAL;
  if (src->sa_family == AF_INET)
    return art_ip4_name((const struct sockaddr_in *)src, dst, size);
  if (src->sa_family == AF_INET6)
    return art_ip6_name((const struct sockaddr_in6 *)src, dst, size);
  return ART_EAFNOSUPPORT;
}
