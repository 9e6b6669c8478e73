/* The parts of art_udp_t that receiving (udp.c) and sending (udp_send.c)
 * both need: making the socket, checking a destination against it, and
 * whether the handle is active. Below both, so neither calls the other. */
#include <sys/socket.h>

#include "udp.h"

int art__udp_family(const art_udp_t *h) {
  if (h->flags_ & ART__UDP_LOCAL)
    return AF_UNIX;
  return (h->flags_ & ART__UDP_IPV6) ? AF_INET6 : AF_INET;
}

/* Every socket the handle makes: non-blocking and close-on-exec. */
static int create_socket(art_udp_t *h, int family) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd == -1)
    return -errno;
  h->io_.fd = fd;
  if (family == AF_INET6)
    h->flags_ |= ART__UDP_IPV6;
  return 0;
}

int art__udp_ensure_socket(art_udp_t *h, int family) {
  if (h->io_.fd >= 0)
    return art__udp_family(h) == family ? 0 : ART_EAFNOSUPPORT;
  return create_socket(h, family);
}

/* The length of a sockaddr of a family the handle can use, or 0. */
socklen_t art__udp_addr_len(const struct sockaddr *addr) {
  if (addr->sa_family == AF_INET)
    return sizeof(struct sockaddr_in);
  if (addr->sa_family == AF_INET6)
    return sizeof(struct sockaddr_in6);
  return 0;
}

int art__udp_check_dest(art_udp_t *h, const struct sockaddr *addr) {
  if (addr == NULL)
    return (h->flags_ & ART__UDP_CONNECTED) ? 0 : ART_ENOTCONN;
  if (art__udp_addr_len(addr) == 0)
    return ART_EINVAL;
  if (h->flags_ & ART__UDP_CONNECTED)
    return ART_EISCONN;
  return art__udp_ensure_socket(h, addr->sa_family);
}

void art__udp_update_active(art_udp_t *h) {
  if ((h->flags_ & ART__UDP_READING) || !art__queue_empty(&h->queue_))
    art__handle_start((art_handle_t *)h);
  else
    art__handle_stop((art_handle_t *)h);
}
