/* UDP sockets.
 * Included by asyncrt.h; include that, not this.
 *
 * An art_udp_t is one datagram socket (IPv4 or IPv6). Sends are requests
 * (art_udp_send_t) queued in order, each completed exactly once; receiving
 * is a callback per datagram, read in batches with recvmmsg when the buffer
 * the allocation callback returns holds more than one datagram slot.
 *
 * Receive buffers and batches:
 * - Before each receive system call the loop calls alloc_cb(handle,
 *   suggested_size, &buf). suggested_size is the handle's slot size (64 KiB
 *   by default, enough for any datagram; see art_udp_set_recv_slot).
 * - If buf.len is smaller than two slots, one datagram is read into the
 *   whole buffer and recv_cb gets buf itself.
 * - If buf.len holds k >= 2 slots, the buffer is split into min(k,
 *   ART_UDP_MMSG_MAX) slots of the slot size and up to that many datagrams
 *   are read with one recvmmsg call. recv_cb runs once per datagram with
 *   flags ART_UDP_MMSG_CHUNK and a buf that points at the datagram's slot
 *   inside the big buffer; after the last one, recv_cb(handle, 0, &buf,
 *   NULL, ART_UDP_MMSG_FREE) hands the whole buffer back.
 * - The rule for releasing memory is therefore: the buffer from alloc_cb
 *   may be freed or reused in the first recv_cb for it whose flags do not
 *   contain ART_UDP_MMSG_CHUNK; buf->base is then the pointer alloc_cb
 *   returned. Exactly one such call is made for every buffer.
 * - nread > 0 (or 0 with a non-NULL addr, an empty datagram): a datagram
 *   from addr. nread 0 with addr NULL: nothing more to read now (or the
 *   end-of-batch hand-back above). nread < 0: an error (ART_ENOBUFS if
 *   alloc_cb returned no memory, or the socket's error, such as
 *   ART_ECONNREFUSED on a connected socket after an ICMP unreachable).
 *   When the poller refuses to watch the socket (ART_ENOMEM, ART_ENOSPC),
 *   recv_cb gets that error once with an empty buf (nothing was
 *   allocated), receiving has stopped, and every queued send fails with the
 *   same error.
 * - A datagram larger than its slot is truncated and flagged
 *   ART_UDP_PARTIAL; nread is then the number of bytes stored.
 * - addr points at memory of the loop, valid only during the callback.
 *
 * Datagram sockets cannot raise SIGPIPE, so no MSG_NOSIGNAL is needed; every
 * socket the library creates is non-blocking and close-on-exec.
 */
/* Thread safety. UDP handles belong to their loop's thread: every
 * function here is called on it. */
#ifndef ASYNCRT_UDP_H
#define ASYNCRT_UDP_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct art_udp_s art_udp_t;
typedef struct art_udp_send_s art_udp_send_t;

/* Flags of art_udp_bind. */
enum {
  ART_UDP_IPV6ONLY = 1,  /* IPv6 only: no IPv4-mapped traffic on "::" */
  ART_UDP_REUSEADDR = 2, /* SO_REUSEADDR: several sockets on one port, as
                            multicast receivers need */
  ART_UDP_REUSEPORT = 4  /* SO_REUSEPORT: the kernel balances datagrams over
                            the sockets bound to the port (one per loop) */
};

/* Flags given to art_udp_recv_cb. */
enum {
  ART_UDP_PARTIAL = 1,    /* the datagram was larger than its slot */
  ART_UDP_MMSG_CHUNK = 2, /* buf is a slot inside a batch buffer */
  ART_UDP_MMSG_FREE = 4   /* end of a batch: buf is the whole buffer */
};

/* Most datagrams one receive or send system call moves. */
#define ART_UDP_MMSG_MAX 128

/* Operations of art_udp_set_membership. */
typedef enum { ART_LEAVE_GROUP = 0, ART_JOIN_GROUP } art_membership;

typedef void (*art_udp_alloc_cb)(art_udp_t *handle, size_t suggested_size,
                                 art_buf_t *buf);
typedef void (*art_udp_recv_cb)(art_udp_t *handle, ssize_t nread,
                                const art_buf_t *buf,
                                const struct sockaddr *addr, unsigned flags);
typedef void (*art_udp_send_cb)(art_udp_send_t *req, int status);

struct art_udp_s {
  ART_HANDLE_FIELDS
  size_t send_queue_size;  /* read-only: bytes queued, not yet sent */
  size_t send_queue_count; /* read-only: requests queued, not yet sent */
  /* private */
  art__io_t io_;              /* the socket; fd -1 until one is created */
  art_udp_alloc_cb alloc_cb_; /* set while receiving */
  art_udp_recv_cb recv_cb_;   /* set while receiving */
  size_t slot_;               /* receive slot size */
  struct art__queue queue_;   /* art_udp_send_t waiting for the socket */
  struct art__queue done_;    /* art_udp_send_t finished, cb not yet run */
  art__pending_t pending_;    /* runs done_ in the pending phase */
};

/* A send request. The data of bufs must stay valid until cb runs; the array
 * of art_buf_t itself is copied. */
struct art_udp_send_s {
  ART_REQ_FIELDS
  art_udp_t *handle; /* read-only */
  /* private */
  art_udp_send_cb cb_;           /* completion, may be NULL */
  struct art__queue node_;       /* on handle->queue_ or handle->done_ */
  art_buf_t *bufs_;              /* bufsml_ or an allocated copy */
  unsigned nbufs_;               /* entries in bufs_ */
  size_t len_;                   /* bytes in the datagram */
  int status_;                   /* result once on done_ */
  socklen_t addrlen_;            /* 0 on a connected socket */
  struct sockaddr_storage addr_; /* destination */
  art_buf_t bufsml_[4];          /* a few buffers need no allocation */
};

/* One datagram of art_udp_try_send_batch. */
typedef struct {
  const art_buf_t *bufs;       /* the datagram's pieces */
  unsigned nbufs;              /* number of pieces */
  const struct sockaddr *addr; /* destination, NULL on a connected socket */
} art_udp_msg_t;

/* Initialises a handle. No socket exists until bind, connect, send, recv
 * start or a socket option needs one (then bound to the family of the
 * address involved, or IPv4). */
ART_EXTERN int art_udp_init(art_loop_t *loop, art_udp_t *handle);

/* Same, creating the socket now: flags is AF_INET, AF_INET6, or AF_UNSPEC
 * (no socket yet). ART_EINVAL for anything else. */
ART_EXTERN int art_udp_init_ex(art_loop_t *loop, art_udp_t *handle,
                               unsigned flags);

/* Adopts an existing datagram socket (made non-blocking; closed by
 * art_close): IPv4 or IPv6, or a connected Unix datagram socket (a
 * socketpair end), which then sends and receives without addresses.
 * ART_EBUSY if the handle already has a socket, ART_ENOTSOCK or ART_EINVAL
 * if fd is not such a socket, ART_EEXIST if the loop already watches fd,
 * ART_EBADF for a bad fd. */
ART_EXTERN int art_udp_open(art_udp_t *handle, int fd);

/* Binds to addr (sockaddr_in or sockaddr_in6) with ART_UDP_* bind flags.
 * IPv6 sockets are dual-stack unless ART_UDP_IPV6ONLY is given (which is
 * ART_EINVAL with an IPv4 address). */
ART_EXTERN int art_udp_bind(art_udp_t *handle, const struct sockaddr *addr,
                            unsigned flags);

/* Connects to addr: sends then need no address and only datagrams from addr
 * are received. addr NULL disconnects (ART_ENOTCONN if not connected);
 * connecting a connected handle is ART_EISCONN. ART_EBUSY while sends are
 * queued, since their destinations were checked against the current
 * state. */
ART_EXTERN int art_udp_connect(art_udp_t *handle, const struct sockaddr *addr);

/* Queues a datagram made of bufs (nbufs 0 to IOV_MAX) to addr (NULL on a
 * connected handle). Sent at once when nothing is queued before it;
 * otherwise when the socket is writable, in order. cb (may be NULL) runs
 * exactly once, in a later pending phase, with 0 or the error of the send;
 * ART_ECANCELED if the handle is closed first (before its close_cb). An
 * error returned here means cb will not run: ART_EINVAL for bad arguments,
 * ART_EISCONN for an address on a connected handle, ART_ENOTCONN for none on
 * an unconnected one. Up to 4 buffers need no allocation. */
ART_EXTERN int art_udp_send(art_udp_send_t *req, art_udp_t *handle,
                            const art_buf_t bufs[], unsigned nbufs,
                            const struct sockaddr *addr, art_udp_send_cb cb);

/* Sends one datagram now if the socket takes it. Returns the bytes sent,
 * ART_EAGAIN if sends are queued or the socket buffer is full, or an error
 * as for art_udp_send. */
ART_EXTERN int art_udp_try_send(art_udp_t *handle, const art_buf_t bufs[],
                                unsigned nbufs, const struct sockaddr *addr);

/* Sends up to count datagrams now with sendmmsg (ART_UDP_MMSG_MAX per
 * system call). Returns how many were sent (a prefix of msgs), or, if the
 * first could not be sent, its error (ART_EAGAIN when queued sends exist or
 * the socket buffer is full). Never allocates. */
ART_EXTERN int art_udp_try_send_batch(art_udp_t *handle,
                                      const art_udp_msg_t msgs[],
                                      unsigned count);

/* Starts receiving; see the top of this file for the buffer rules. Binds to
 * 0.0.0.0, port 0 if the handle has no socket. ART_EALREADY if receiving. */
ART_EXTERN int art_udp_recv_start(art_udp_t *handle, art_udp_alloc_cb alloc_cb,
                                  art_udp_recv_cb recv_cb);

/* Stops receiving; 0 also when not receiving or closing or closed,
 * ART_EINVAL for NULL or a handle of another type. */
ART_EXTERN int art_udp_recv_stop(art_udp_t *handle);

/* Sets the slot size a batch buffer is split into (1 to 65536; default
 * 65536, enough for any datagram). Smaller slots fit more datagrams per
 * buffer; longer datagrams are truncated (ART_UDP_PARTIAL). Also the
 * suggested_size given to alloc_cb. */
ART_EXTERN int art_udp_set_recv_slot(art_udp_t *handle, size_t slot_size);

/* Socket options. ttl: 1-255 (unicast hop limit); multicast ttl 0-255.
 * They apply to the socket, so ART_EBADF until one exists (bind, connect,
 * art_udp_init_ex with a family, or a first send). On an IPv6 socket the
 * IPv6 options (hop limits, IPV6_MULTICAST_LOOP...) are set. */
ART_EXTERN int art_udp_set_broadcast(art_udp_t *handle, int on);
ART_EXTERN int art_udp_set_ttl(art_udp_t *handle, int ttl);
ART_EXTERN int art_udp_set_multicast_ttl(art_udp_t *handle, int ttl);
ART_EXTERN int art_udp_set_multicast_loop(art_udp_t *handle, int on);

/* The interface multicast is sent from: an address of it ("127.0.0.1"; for
 * IPv6 "::%lo" or "::%2", the scope naming the interface), NULL for the
 * system's choice. */
ART_EXTERN int art_udp_set_multicast_interface(art_udp_t *handle,
                                               const char *interface_addr);

/* Joins or leaves multicast_addr on the interface with interface_addr (NULL:
 * the system's choice), as for art_udp_set_multicast_interface. */
ART_EXTERN int art_udp_set_membership(art_udp_t *handle,
                                      const char *multicast_addr,
                                      const char *interface_addr,
                                      art_membership membership);

/* Source-specific multicast: receive multicast_addr only from source_addr
 * (IGMPv3 / MLDv2), on the interface as for art_udp_set_membership. All
 * addresses are of the socket's family. */
ART_EXTERN int art_udp_set_source_membership(art_udp_t *handle,
                                             const char *multicast_addr,
                                             const char *interface_addr,
                                             const char *source_addr,
                                             art_membership membership);

/* The local and the connected address; *namelen is the size of name on
 * entry and of the address on return. ART_EBADF if no socket exists yet,
 * ART_ENOTCONN (getpeername) when not connected. */
ART_EXTERN int art_udp_getsockname(const art_udp_t *handle,
                                   struct sockaddr *name, int *namelen);
ART_EXTERN int art_udp_getpeername(const art_udp_t *handle,
                                   struct sockaddr *name, int *namelen);

/* What is queued and not yet handed to the kernel. */
ART_EXTERN size_t art_udp_get_send_queue_size(const art_udp_t *handle);
ART_EXTERN size_t art_udp_get_send_queue_count(const art_udp_t *handle);

#ifdef __cplusplus
}
#endif

#endif
