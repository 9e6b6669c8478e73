/* Name resolution on the work pool's slow lane, and address helpers.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_DNS_H
#define ASYNCRT_DNS_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Address helpers. Parsing is strict: the whole string must be an address
 * (no leading or trailing junk, no empty string), ports are 0-65535, and
 * anything else is ART_EINVAL with *addr left untouched. */

/* Fills *addr with the IPv4 address ip ("127.0.0.1", dotted decimal, four
 * parts) and port. */
ART_EXTERN int art_ip4_addr(const char *ip, int port, struct sockaddr_in *addr);

/* Fills *addr with the IPv6 address ip and port. ip may end in "%scope": a
 * numeric interface index ("fe80::1%2") or an interface name ("fe80::1%lo");
 * ART_ENODEV if no interface has that name. */
ART_EXTERN int art_ip6_addr(const char *ip, int port,
                            struct sockaddr_in6 *addr);

/* Writes the address of src (without the port) as a NUL-terminated string
 * into dst of size bytes. An IPv6 address with a scope gets "%index", which
 * art_ip6_addr parses back. ART_ENOSPC when dst is too small (ART_IP_NAME_MAX
 * bytes always suffice), ART_EAFNOSUPPORT for a family other than AF_INET
 * and AF_INET6 (art_ip_name). */
#define ART_IP_NAME_MAX 64
ART_EXTERN int art_ip4_name(const struct sockaddr_in *src, char *dst,
                            size_t size);
ART_EXTERN int art_ip6_name(const struct sockaddr_in6 *src, char *dst,
                            size_t size);
ART_EXTERN int art_ip_name(const struct sockaddr *src, char *dst, size_t size);

#ifdef __cplusplus
}
#endif

#endif
