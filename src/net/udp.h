/* Internal interface between the files of the UDP handle: src/udp.c (the
 * socket, receiving), udp_opts.c (options), udp_send.c (the send queue)
 * and udp_sock.c (what receiving and sending share). */
#ifndef ART_UDP_INTERNAL_H
#define ART_UDP_INTERNAL_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "internal.h"

/* art_buf_t is handed to the kernel as a struct iovec: same layout. */
_Static_assert(sizeof(art_buf_t) == sizeof(struct iovec) &&
                   offsetof(art_buf_t, base) ==
                       offsetof(struct iovec, iov_base) &&
                   offsetof(art_buf_t, len) == offsetof(struct iovec, iov_len),
               "art_buf_t must match struct iovec");

/* UDP handle flags, above the bits that handle.c owns. */
enum {
  ART__UDP_CONNECTED = 1u << (ART__H_TYPE_SHIFT + 0), /* connect succeeded */
  ART__UDP_READING = 1u << (ART__H_TYPE_SHIFT + 1),   /* recv started */
  ART__UDP_IPV6 = 1u << (ART__H_TYPE_SHIFT + 2),      /* AF_INET6 socket */
  ART__UDP_LOCAL = 1u << (ART__H_TYPE_SHIFT + 3),     /* AF_UNIX, adopted */
  ART__UDP_DEFER = 1u << (ART__H_TYPE_SHIFT + 4)      /* in its callbacks:
                                                         sends queue up */
};

/* ---- udp_sock.c. ---- */

/* AF_INET, AF_INET6 or AF_UNIX: the family of the handle's socket. */
int art__udp_family(const art_udp_t *h) ART__HIDDEN;

/* The length of a sockaddr of a family the handle can use, or 0. */
socklen_t art__udp_addr_len(const struct sockaddr *addr) ART__HIDDEN;

/* Creates the handle's socket of family if it has none. ART_EAFNOSUPPORT
 * when the existing socket is of the other family. */
int art__udp_ensure_socket(art_udp_t *h, int family) ART__HIDDEN;

/* The common case of art__udp_check_dest, inline: an address of the
 * family of an existing, unconnected socket. */
static inline int art__udp_dest_fast(const art_udp_t *h,
                                     const struct sockaddr *addr) {
  int family = (h->flags_ & ART__UDP_IPV6) ? AF_INET6 : AF_INET;
  return addr != NULL && h->io_.fd >= 0 && addr->sa_family == family &&
         !(h->flags_ & (ART__UDP_CONNECTED | ART__UDP_LOCAL));
}

/* Checks a destination against the handle: family and length, and the
 * connected/unconnected rules of art_udp_send. Creates the socket if it is
 * missing. */
int art__udp_check_dest(art_udp_t *h, const struct sockaddr *addr) ART__HIDDEN;

/* The handle is active while it receives or has sends queued. */
void art__udp_update_active(art_udp_t *h) ART__HIDDEN;

/* ---- udp_send.c. ---- */

/* The socket is writable: send what is queued, in order. */
void art__udp_flush(art_udp_t *h) ART__HIDDEN;

/* Brackets a run of the handle's own callbacks (receive or send
 * completions): sends made meanwhile are queued, and the end flushes them
 * together with sendmmsg. An echo server answering 32 datagrams per wake-up
 * then makes one send system call, not 32. */
unsigned art__udp_defer_begin(art_udp_t *h) ART__HIDDEN;
void art__udp_defer_end(art_udp_t *h, unsigned saved) ART__HIDDEN;

/* Every queued send finishes with err: ART_ECANCELED when the handle
 * closes, the reason when the backend refused the socket's watcher. Their
 * callbacks run from the pending phase, or from the endgame of a closing
 * handle (art__udp_run_done), so all of them come before close_cb. */
void art__udp_fail_queue(art_udp_t *h, int err) ART__HIDDEN;
void art__udp_run_done(art_udp_t *h) ART__HIDDEN;

/* The pending-phase entry that runs finished sends' callbacks. */
void art__udp_pending_cb(art__pending_t *p) ART__HIDDEN;

#endif
