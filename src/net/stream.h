/* The stream base shared by TCP, pipes and TTYs (src/stream.c), and the
 * parts of TCP and pipes the other stream files need. */
#ifndef ART_STREAM_INTERNAL_H
#define ART_STREAM_INTERNAL_H

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
  ART__S_NEED_DRAIN = 1u << 7, /* art_write returned ART_STREAM_FULL */
  ART__S_IPC = 1u << 8,        /* an IPC pipe: reads use recvmsg */
  ART__S_BLOCKING = 1u << 9,   /* fd left blocking: never touch its flags */
  ART__S_TYPE_SHIFT = 24
};

/* Per-loop state of the stream area (loop->stream_state_). */
typedef struct {
  int reserve_fd; /* spare fd for the EMFILE defence, or -1 */
} art__stream_state_t;

/* Initialises the stream part of a handle of the given type. */
void art__stream_init(art_loop_t *loop, art_stream_t *s,
                      art_handle_type type) ART__HIDDEN;

/* Gives the stream its fd (already non-blocking and close-on-exec) with
 * ART__S_* flags saying what it can do. */
int art__stream_open(art_stream_t *s, int fd, unsigned flags) ART__HIDDEN;

/* The handle-ops close and endgame of every stream type: close stops the
 * I/O and closes the fd; endgame completes what is still queued (with
 * ART_ECANCELED) just before the close callback. */
void art__stream_close(art_handle_t *h) ART__HIDDEN;
void art__stream_endgame(art_handle_t *h) ART__HIDDEN;

/* Queues the stream for the pending phase, where completed writes, connect
 * and shutdown results are delivered. */
void art__stream_defer(art_stream_t *s) ART__HIDDEN;

/* The poll callback of listening streams: accepts with the EMFILE defence. */
void art__stream_server_io(art_loop_t *loop, art__io_t *w,
                           unsigned events) ART__HIDDEN;

/* Takes the accepted fd into client (called by art_accept). */
int art__stream_accept_fd(art_stream_t *server, art_stream_t *client,
                          int (*open)(art_stream_t *, int)) ART__HIDDEN;

/* The write path used by stream.c and pipe.c (IPC writes). */
int art__stream_write(art_write_t *req, art_stream_t *s, const art_buf_t *bufs,
                      unsigned nbufs, art_stream_t *send_handle,
                      art_write_cb cb) ART__HIDDEN;

/* For an IPC pipe: reads with recvmsg and keeps received fds (pipe.c). */
ssize_t art__pipe_recv(art_stream_t *s, char *buf, size_t len) ART__HIDDEN;
/* src of a pipeline is closing: the pipeline ends with ART_ECANCELED once
 * its writes in flight are done (stream_pipe.c). */
void art__stream_pipe_src_closed(art_stream_t *src) ART__HIDDEN;

/* dst of pipelines is closing: each ends with ART_ECANCELED once its
 * writes in flight (canceled by the close) are done (stream_pipe.c). */
void art__stream_pipe_dst_closed(art_stream_t *dst) ART__HIDDEN;

/* Takes the next handle received on an IPC pipe into client (pipe.c). */
int art__pipe_accept_pending(art_stream_t *pipe,
                             art_stream_t *client) ART__HIDDEN;
/* The fd of a stream or UDP handle (what IPC can pass), or -1. */
int art__handle_fd(const art_handle_t *h) ART__HIDDEN;

/* Connect completion used by tcp.c and pipe.c. */
void art__stream_connect_start(art_connect_t *req, art_stream_t *s, int err,
                               art_connect_cb cb) ART__HIDDEN;

/* Open helpers used by art_accept for a received or accepted fd. */
int art__tcp_open_fd(art_stream_t *s, int fd) ART__HIDDEN;
int art__pipe_open_fd(art_stream_t *s, int fd) ART__HIDDEN;

static inline int art__is_stream_type(art_handle_type t) {
  return t == ART_TCP || t == ART_NAMED_PIPE || t == ART_TTY;
}

/* True for a usable stream handle. */
static inline int art__stream_usable(const art_stream_t *s) {
  return art__handle_usable((const art_handle_t *)s) &&
         art__is_stream_type(s->type);
}

#endif
