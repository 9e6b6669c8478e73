/* Name resolution on the work pool's slow lane, and address helpers.
 * Included by asyncrt.h; include that, not this. */
/* Thread safety. Any thread may call the address helpers (art_ip4_addr,
 * art_ip6_addr, art_ip4_name, art_ip6_name, art_ip_name: inet_pton,
 * inet_ntop and if_nametoindex on the caller's memory), art_freeaddrinfo,
 * and the synchronous forms of art_getaddrinfo and art_getnameinfo (cb
 * NULL): they fill the caller's request and never touch the loop, though
 * loop must not be NULL. With a callback both are called on the loop's
 * thread, like art_cancel on them. */
#ifndef ASYNCRT_DNS_H
#define ASYNCRT_DNS_H

#include <netinet/in.h>
#include <sys/socket.h>

#include "core.h"
#include "threadpool.h"

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

/* ------------------------------------------------------------------------ */
/* Resolver errors: getaddrinfo's EAI_* codes as negative ART_EAI_* values,
 * apart from the errno range (EAI_SYSTEM becomes the errno itself).
 * art_strerror and art_err_name know them ("EAI_NONAME"). */

enum {
  ART_EAI_ADDRFAMILY = -3000,
  ART_EAI_AGAIN = -3001,
  ART_EAI_BADFLAGS = -3002,
  ART_EAI_FAIL = -3003,
  ART_EAI_FAMILY = -3004,
  ART_EAI_MEMORY = -3005,
  ART_EAI_NODATA = -3006,
  ART_EAI_NONAME = -3007,
  ART_EAI_OVERFLOW = -3008,
  ART_EAI_SERVICE = -3009,
  ART_EAI_SOCKTYPE = -3010
};

#define ART_EAI_MAP(X)                                                         \
  X(EAI_ADDRFAMILY, "address family for host name not supported")              \
  X(EAI_AGAIN, "temporary failure in name resolution")                         \
  X(EAI_BADFLAGS, "bad flags for name resolution")                             \
  X(EAI_FAIL, "permanent failure in name resolution")                          \
  X(EAI_FAMILY, "address family not supported by the resolver")                \
  X(EAI_MEMORY, "out of memory in name resolution")                            \
  X(EAI_NODATA, "no address associated with host name")                        \
  X(EAI_NONAME, "unknown host or service")                                     \
  X(EAI_OVERFLOW, "resolver argument buffer overflow")                         \
  X(EAI_SERVICE, "service not available for socket type")                      \
  X(EAI_SOCKTYPE, "socket type not supported")

/* ------------------------------------------------------------------------ */
/* getaddrinfo and getnameinfo on the work pool's slow lane (ART_LANE_SLOW):
 * a slow resolver can hold at most half the pool's threads, so it never
 * starves file-system work. Both are requests: cancel one with art_cancel
 * while it is still queued (its callback then gets ART_ECANCELED). With a
 * NULL callback they run synchronously on the calling thread instead and
 * return the result. */

struct addrinfo; /* <netdb.h> */

typedef struct art_getaddrinfo_s art_getaddrinfo_t;
typedef struct art_getnameinfo_s art_getnameinfo_t;

/* status is 0 or an error; res (NULL on error) is the program's to free
 * with art_freeaddrinfo, from the callback or later. */
typedef void (*art_getaddrinfo_cb)(art_getaddrinfo_t *req, int status,
                                   struct addrinfo *res);
typedef void (*art_getnameinfo_cb)(art_getnameinfo_t *req, int status,
                                   const char *hostname, const char *service);

/* The longest host name a resolver accepts (RFC 1035), and its labels. */
#define ART_DNS_NAME_MAX  255
#define ART_DNS_LABEL_MAX 63

struct art_getaddrinfo_s {
  ART_POOL_REQ_FIELDS
  struct addrinfo *addrinfo; /* read-only: the result of a synchronous call */
  /* private */
  art_getaddrinfo_cb cb_; /* completion; NULL for a synchronous call */
  char *node_;            /* the copied host name, or NULL */
  char *service_;         /* the copied service, or NULL */
  char *strings_;         /* one allocation holding both copies */
  int hints_set_;         /* hints were given */
  int ai_flags_;          /* hints->ai_flags */
  int ai_family_;         /* hints->ai_family */
  int ai_socktype_;       /* hints->ai_socktype */
  int ai_protocol_;       /* hints->ai_protocol */
  int retcode_;           /* getaddrinfo's result, on the pool thread */
};

/* Results of getnameinfo, sized like NI_MAXHOST and NI_MAXSERV. */
#define ART_NI_MAXHOST 1025
#define ART_NI_MAXSERV 32

struct art_getnameinfo_s {
  ART_POOL_REQ_FIELDS
  char host[ART_NI_MAXHOST];    /* read-only: the host name found */
  char service[ART_NI_MAXSERV]; /* read-only: the service found */
  /* private */
  art_getnameinfo_cb cb_;        /* completion; NULL: synchronous */
  struct sockaddr_storage addr_; /* the copied address */
  int flags_;                    /* NI_* flags */
  int retcode_;                  /* getnameinfo's result */
};

/* Resolves node (a host name or a numeric address; may be NULL) and service
 * (a name or a port number; may be NULL, not both) with optional hints, as
 * getaddrinfo(3). node, service and hints are copied: they may be freed as
 * soon as the call returns. A host name longer than ART_DNS_NAME_MAX bytes,
 * or with a label longer than ART_DNS_LABEL_MAX, is ART_EINVAL: names are
 * never truncated. Errors: ART_EINVAL, ART_ENOMEM, ART_EAI_* and, for
 * EAI_SYSTEM, the errno. Synchronous (cb NULL): returns the status and
 * leaves the list in req->addrinfo for art_freeaddrinfo. */
ART_EXTERN int art_getaddrinfo(art_loop_t *loop, art_getaddrinfo_t *req,
                               art_getaddrinfo_cb cb, const char *node,
                               const char *service,
                               const struct addrinfo *hints);

/* Frees a result of art_getaddrinfo (NULL is fine). */
ART_EXTERN void art_freeaddrinfo(struct addrinfo *ai);

/* Looks up the host and service names of addr (sockaddr_in or
 * sockaddr_in6, copied) with NI_* flags, as getnameinfo(3); the callback
 * gets pointers into req. Synchronous when cb is NULL: the names are then
 * in req->host and req->service. */
ART_EXTERN int art_getnameinfo(art_loop_t *loop, art_getnameinfo_t *req,
                               art_getnameinfo_cb cb,
                               const struct sockaddr *addr, int flags);

#ifdef __cplusplus
}
#endif

#endif
