/* The stream base shared by TCP, pipes and TTYs (stream.c, and the
 * listening half in stream_server.c), as its types and add-ons see it. */
#ifndef ART_STREAM_INTERNAL_H
#define ART_STREAM_INTERNAL_H

#include <sys/socket.h>
#include <sys/uio.h>

#include "internal.h"

/* stream->stream_flags_ bits. Bits from 24 up belong to the stream type. */
enum {
  ART__S_READABLE = 1u << 0,   /* reads may return data (connected, no EOF) */
  ART__S_WRITABLE = 1u << 1,   /* writes are allowed (connected, no shutdown) */
  ART__S_READING = 1u << 2,    /* art_read_start in effect */
  ART__S_LISTENING = 1u << 3,  /* art_listen in effect */
  ART__S_SOCKET = 1u << 4,     /* the fd is a socket: send with MSG_NOSIGNAL */
  ART__S_FILE = 1u << 5,       /* the fd cannot be polled: always ready */
  ART__S_SHUT = 1u << 6,       /* shutdown(SHUT_WR) done */
  ART__S_NEED_DRAIN = 1u << 7, /* a write reached the mark: drain cb due */
  ART__S_IPC = 1u << 8,        /* an IPC pipe: reads use recvmsg */
  ART__S_BLOCKING = 1u << 9,   /* fd left blocking: never touch its flags */
  ART__S_WRITE_FAILED = 1u << 10, /* a write failed: later ones fail at once */
  ART__S_TYPE_SHIFT = 24
};

/* The table of a stream type (tcp, pipe, tty): the handle table, then what
 * the stream base asks of its types. The base calls its types only through
 * this table, so it knows none of them by name. */
typedef struct {
  art__handle_ops_t handle; /* first: h->ops_ points here */
  /* One read into buf: NULL means read(2). An IPC pipe's recvmsg keeps the
   * fds that come with the bytes. */
  ssize_t (*recv)(art_stream_t *s, char *buf, size_t len);
  /* Takes an fd accepted by a listener of the same type into client. */
  int (*open_accepted)(art_stream_t *client, int fd);
  /* IPC pipes: takes the next handle received on s into client (a tcp,
   * pipe or udp handle). NULL for other types. */
  int (*accept_pending)(art_stream_t *s, art_handle_t *client);
} art__stream_ops_t;

/* The tables of the stream types (tcp.c, pipe.c, tty.c). */
extern const art__stream_ops_t art__tcp_ops ART__HIDDEN;
extern const art__stream_ops_t art__pipe_ops ART__HIDDEN;
extern const art__stream_ops_t art__tty_ops ART__HIDDEN;

static inline const art__stream_ops_t *art__stream_ops(const art_stream_t *s) {
  return (const art__stream_ops_t *)s->ops_;
}

/* Initialises the stream part of a handle of a stream type. */
void art__stream_init(art_loop_t *loop, art_stream_t *s,
                      const art__stream_ops_t *ops) ART__HIDDEN;
/* The handle-ops fd of every stream type. */
int art__stream_fd(const art_handle_t *h) ART__HIDDEN;

/* Gives the stream its fd (already non-blocking and close-on-exec) with
 * ART__S_* flags saying what it can do. */
int art__stream_open(art_stream_t *s, int fd, unsigned flags) ART__HIDDEN;

/* The handle-ops close and endgame of every stream type: close stops the
 * I/O and closes the fd; endgame completes what is still queued (with
 * ART_ECANCELED) just before the close callback. */
void art__stream_close(art_handle_t *h) ART__HIDDEN;
void art__stream_endgame(art_handle_t *h) ART__HIDDEN;

/* Undoes art__stream_open on a stream that never ran (the pipes of a
 * spawn that failed, forgotten without a close): closes its fd and gives
 * back its ring block. */
void art__stream_unopen(art_stream_t *s) ART__HIDDEN;

/* Queues the stream for the pending phase, where completed writes, connect
 * and shutdown results are delivered. */
void art__stream_defer(art_stream_t *s) ART__HIDDEN;

/* The write path used by stream.c and pipe.c (IPC writes). */
int art__stream_write(art_write_t *req, art_stream_t *s, const art_buf_t *bufs,
                      unsigned nbufs, art_stream_t *send_handle,
                      art_write_cb cb) ART__HIDDEN;

/* A connect to addr (len bytes) with the result of a failed bind or
 * socket (err, 0: none): in the ring where the stream can, else by
 * connect(2) and art__stream_connect_start. */
void art__stream_connect(art_connect_t *req, art_stream_t *s,
                         const struct sockaddr *addr, socklen_t len, int err,
                         art_connect_cb cb) ART__HIDDEN;

/* Connect completion used by tcp.c and pipe.c. */
void art__stream_connect_start(art_connect_t *req, art_stream_t *s, int err,
                               art_connect_cb cb) ART__HIDDEN;

static inline int art__is_stream_type(art_handle_type t) {
  return t == ART_TCP || t == ART_NAMED_PIPE || t == ART_TTY;
}

/* ---- Completion I/O (src/net/stream_ring.c) ----
 * On a backend that runs operations whole (io_uring), a socket stream
 * receives with one receive at a time into the loop's buffer pool and
 * sends with send/sendmsg operations from the writes' own buffers; its
 * block of operations is made when it is opened and kept until the
 * close. */
#define ART__SRING_IOV 16 /* buffers one sendmsg of the queue gathers */

typedef struct art__sring_held art__sring_held_t;
typedef struct art__sring art__sring_t;
struct art__sring {
  art__op_t recv;               /* the receive into the pool */
  art__op_t send;               /* the send of the queue's head */
  struct msghdr msg;            /* send's, when it gathers */
  struct sockaddr_storage addr; /* a connect's, until it completes */
  struct iovec iov[ART__SRING_IOV];
  art_stream_t *stream;
  art__sring_held_t *held; /* bytes received after a read stop */
  art__sring_held_t *held_tail;
  int held_status;         /* ART_EOF or an error received then */
  unsigned flags;          /* SR_* of stream_ring.c */
  art__sring_t *next_free; /* the loop's free list */
};

/* 1 if s can do its reads and writes as completions on its loop now;
 * makes its block if it has none (art__stream_open calls it so). */
int art__sring_usable(art_stream_t *s) ART__HIDDEN;
/* The same for the hot paths: a stream gets its block when it is opened
 * on a loop whose backend runs operations (art__stream_open), so a stream
 * without one (every stream of an epoll or poll loop) pays a load and a
 * branch per read start and per write. A stream opened before its loop
 * moved to io_uring stays on readiness. */
static inline int art__sring_on(art_stream_t *s) {
  return s->ring_ != NULL && art__sring_usable(s);
}
/* Reads: art_read_start's and art_read_stop's completion halves. */
int art__sring_read_start(art_stream_t *s) ART__HIDDEN;
void art__sring_read_stop(art_stream_t *s) ART__HIDDEN;
/* The pending phase: delivers what was received after a read stop, which
 * art__sring_pending says is there. */
void art__sring_deliver_held(art_stream_t *s) ART__HIDDEN;
int art__sring_pending(const art_stream_t *s) ART__HIDDEN;
/* Closing: cancels what is in flight; busy while it still is; release
 * gives the block back (endgame). */
void art__sring_close(art_stream_t *s) ART__HIDDEN;
int art__sring_busy(const art_handle_t *h) ART__HIDDEN;
/* For an operation's completion: 1 if s is closing (its close callback
 * waits for the endgame), and then the close phase may finish it once no
 * operation of it is left in the kernel. */
int art__sring_closed(art_stream_t *s) ART__HIDDEN;
void art__sring_release(art_stream_t *s) ART__HIDDEN;

/* True while art_read_start is in effect. */
static inline int art__stream_reading(const art_stream_t *s) {
  return (s->stream_flags_ & ART__S_READING) != 0;
}

/* True while the stream is open and art_read_start is in effect. */
static inline int art__stream_still_reading(const art_stream_t *s) {
  return art__handle_usable((const art_handle_t *)s) &&
         (s->stream_flags_ & ART__S_READING);
}

/* ---- Reading by system calls (src/net/stream_read.c) ---- */
/* Clears ART__S_READING, stops the fd's readable watch and, unless the
 * stream listens, the handle. */
void art__stream_halt_reading(art_stream_t *s) ART__HIDDEN;
/* The user's read callback, through the one callback path. Inline, as
 * the buffer's request below: both run once per read on every backend. */
static inline void art__stream_read_cb(art_stream_t *s, ssize_t n,
                                       const art_buf_t *buf) {
  ART__CALLBACK(s, s->read_cb_, (s, n, buf));
}

#define ART__READ_SUGGESTED (64 * 1024) /* alloc_cb's suggested size */

/* Asks alloc_cb for a buffer: 1 with one in *buf, 0 if the stream
 * stopped reading meanwhile, ART_ENOBUFS (after the read callback heard
 * it) if alloc_cb gave none. */
static inline int art__stream_take_buffer(art_stream_t *s, art_buf_t *buf) {
  buf->base = NULL;
  buf->len = 0;
  ART__CALLBACK(s, s->alloc_cb_, ((art_handle_t *)s, ART__READ_SUGGESTED, buf));
  if (!art__stream_still_reading(s))
    return 0;
  if (buf->base == NULL || buf->len == 0) {
    art__stream_read_cb(s, ART_ENOBUFS, buf);
    return ART_ENOBUFS;
  }
  return 1;
}
/* Reads until drained, the end, an error or a bound of reads. */
void art__stream_read_some(art_stream_t *s) ART__HIDDEN;

/* True for a usable stream handle. */
static inline int art__stream_usable(const art_stream_t *s) {
  return art__handle_usable((const art_handle_t *)s) &&
         art__is_stream_type(s->type);
}

#endif
