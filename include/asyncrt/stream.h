/* Streams with backpressure: TCP, Unix pipes (with handle passing) and TTYs.
 * Included by asyncrt.h; include that, not this.
 *
 * A stream is a handle that reads and writes a byte stream over one fd.
 * TCP, pipe and TTY handles all start with ART_HANDLE_FIELDS and
 * ART_STREAM_FIELDS, so each can be passed (cast) wherever an art_stream_t
 * is wanted. */
/* Thread safety. Streams belong to their loop's thread: call every
 * function here on it, except two, which any thread may call:
 * art_guess_handle (fstat and getsockopt on the fd, no state) and
 * art_tty_reset_mode (a spin flag taken with an atomic exchange guards the
 * saved terminal settings; it is also async-signal-safe, and answers
 * ART_EBUSY rather than wait while another thread changes a mode). */
#ifndef ASYNCRT_STREAM_H
#define ASYNCRT_STREAM_H

#include <sys/types.h>
#include <termios.h>

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;

typedef struct art_stream_s art_stream_t;
typedef struct art_tcp_s art_tcp_t;
typedef struct art_pipe_s art_pipe_t;
typedef struct art_write_s art_write_t;
typedef struct art_connect_s art_connect_t;
typedef struct art_shutdown_s art_shutdown_t;
typedef struct art_stream_pipe_s art_stream_pipe_t;

/* Asks for a buffer to read into; suggested is a hint (64 KiB). Setting
 * buf->base to NULL or buf->len to 0 makes the read callback get
 * ART_ENOBUFS. */
typedef void (*art_alloc_cb)(art_handle_t *handle, size_t suggested,
                             art_buf_t *buf);

/* nread > 0: bytes read into buf. nread == 0: nothing to read now (buf is
 * handed back so it can be freed). nread < 0: ART_EOF at the end of the
 * stream (reading stops), or an error. buf->base may be NULL for errors. */
typedef void (*art_read_cb)(art_stream_t *stream, ssize_t nread,
                            const art_buf_t *buf);
typedef void (*art_write_cb)(art_write_t *req, int status);
typedef void (*art_connect_cb)(art_connect_t *req, int status);
typedef void (*art_shutdown_cb)(art_shutdown_t *req, int status);
/* A listening stream has a connection to art_accept (status 0), or accepting
 * failed (status < 0; the stream keeps listening). */
typedef void (*art_connection_cb)(art_stream_t *server, int status);
/* The bytes held by unfinished writes fell below the high-water mark after
 * a write took them to it or above (art_stream_needs_drain was true). */
typedef void (*art_drain_cb)(art_stream_t *stream);
/* art_stream_pipe finished: 0, or the first error of either side. */
typedef void (*art_stream_pipe_cb)(art_stream_pipe_t *p, int status);

struct art__sring;

/* The private fields every stream has, after ART_HANDLE_FIELDS. A stream
 * type's public fields (a pipe's ipc) follow them. */
#define ART_STREAM_FIELDS                                                      \
  art__io_t io_;                    /* the fd and its watcher */               \
  art_alloc_cb alloc_cb_;           /* art_read_start's */                     \
  art_read_cb read_cb_;             /* art_read_start's */                     \
  art_connection_cb connection_cb_; /* art_listen's */                         \
  art_drain_cb drain_cb_;           /* art_stream_on_drain's */                \
  art_connect_t *connect_req_;      /* connect in flight */                    \
  art_shutdown_t *shutdown_req_;    /* shutdown waiting for the queue */       \
  struct art__queue write_queue_;   /* art_write_t not fully written */        \
  struct art__queue write_done_;    /* written, callback not yet run */        \
  size_t write_queue_size_;         /* bytes queued and not yet written */     \
  size_t write_held_;               /* bytes of writes whose cb has not run */ \
  size_t high_water_mark_;          /* backpressure threshold, bytes */        \
  int accepted_fd_;                 /* accepted, waiting for art_accept */     \
  unsigned stream_flags_;           /* ART__S_* bits, src/net/stream.h */      \
  art__pending_t pending_;          /* queued for the pending phase */         \
  int bind_error_;                  /* a failed bind: listen, connect fail */  \
  int stream_spare_;                /* reserved */                             \
  struct art__sring *ring_;         /* completion I/O, src/net/stream_ring.c */

struct art_stream_s {
  ART_HANDLE_FIELDS
  ART_STREAM_FIELDS
};

/* Requests. The public fields may be read; the rest is private. */
struct art_write_s {
  ART_REQ_FIELDS
  art_stream_t *handle;      /* the stream written to */
  art_stream_t *send_handle; /* handle passed over an IPC pipe, or NULL */
  art_write_cb cb_;
  struct art__queue queue_; /* on the stream's write_queue_ / write_done_ */
  art_buf_t *bufs_;         /* bufsml_ or an allocated array */
  unsigned nbufs_;          /* entries in bufs_ */
  unsigned index_;          /* first buffer not fully written */
  size_t offset_;           /* bytes of bufs_[index_] already written */
  int error_;               /* status for the callback */
  art_buf_t bufsml_[4];     /* up to four buffers need no allocation */
};

struct art_connect_s {
  ART_REQ_FIELDS
  art_stream_t *handle; /* the stream being connected */
  art_connect_cb cb_;
  int error_; /* result, delivered in the pending phase */
};

struct art_shutdown_s {
  ART_REQ_FIELDS
  art_stream_t *handle; /* the stream being shut down */
  art_shutdown_cb cb_;
  int error_; /* result, delivered in the pending phase */
};

/* ------------------------------------------------------------------------ */
/* Reading and writing.                                                     */

/* Starts reading: alloc_cb then read_cb for each chunk, in the poll phase.
 * Each wakeup reads until the socket is drained (a short read or EAGAIN) or
 * 32 reads, so one busy stream cannot starve the others. ART_EINVAL for
 * NULL callbacks or a closed stream, ART_ENOTCONN if the stream is not
 * readable (not connected, or EOF seen). Calling it again replaces the
 * callbacks. */
ART_EXTERN int art_read_start(art_stream_t *stream, art_alloc_cb alloc_cb,
                              art_read_cb read_cb);

/* Stops reading (no read_cb after it returns); 0 also when not reading or
 * closing or closed, ART_EINVAL for NULL or a handle that is no stream. */
ART_EXTERN int art_read_stop(art_stream_t *stream);

/* Queues nbufs buffers (the buffers themselves must stay valid until cb;
 * the array need not). Writes complete in order, each cb exactly once:
 * status 0, the error (ART_EPIPE, ART_ECONNRESET...), or ART_ECANCELED when
 * the stream is closed first. When nothing is queued, the data is written
 * at once; cb still runs later (the pending phase), never from inside
 * art_write. Returns 0 or a negative error, in which case cb will not run;
 * backpressure is not an error: ask art_stream_needs_drain after writing.
 * Once a write has failed (its cb got the error), every later art_write
 * on the stream fails at once with ART_EPIPE, so a producer learns that
 * the peer is gone without piling up more data. */
ART_EXTERN int art_write(art_write_t *req, art_stream_t *stream,
                         const art_buf_t bufs[], unsigned nbufs,
                         art_write_cb cb);

/* Like art_write on an IPC pipe, also passing send_handle (a TCP or pipe
 * handle, or an art_udp_t cast to art_stream_t *; it stays open here) to
 * the peer. ART_EINVAL if stream is
 * not an IPC pipe or send_handle has no fd; at least one byte must be
 * written. send_handle's memory must stay valid until cb; if it is closed
 * before the write goes out, the write fails with ART_EBADF. */
ART_EXTERN int art_write2(art_write_t *req, art_stream_t *stream,
                          const art_buf_t bufs[], unsigned nbufs,
                          art_stream_t *send_handle, art_write_cb cb);

/* Writes what can be written now without queueing. Returns a count: the
 * bytes written (0 only when every buffer is empty), or a negative error:
 * ART_EAGAIN when nothing could be written (or writes are queued). */
ART_EXTERN int art_try_write(art_stream_t *stream, const art_buf_t bufs[],
                             unsigned nbufs);

/* Half-closes the stream for writing once the queued writes are done; cb
 * gets 0 or an error, ART_ECANCELED if the stream is closed first.
 * ART_ENOTCONN if the stream is not writable (already shut down). */
ART_EXTERN int art_shutdown(art_shutdown_t *req, art_stream_t *stream,
                            art_shutdown_cb cb);

/* Bytes queued and not yet written. */
ART_EXTERN size_t art_stream_write_queue_size(const art_stream_t *stream);

/* Non-zero while the stream can be read (connected, EOF not seen) or
 * written (not shut down); 0 for NULL or a closed stream. */
ART_EXTERN int art_is_readable(const art_stream_t *stream);
ART_EXTERN int art_is_writable(const art_stream_t *stream);

/* Backpressure, as Node's writable.write() returning false and 'drain'.
 * A write holds its bytes from art_write until its callback has run, even
 * when the kernel took them at once: those held bytes are what the
 * high-water mark (default 64 KiB, at least 1) bounds. While they are at
 * or above the mark, art_stream_needs_drain returns 1: stop writing, and
 * the drain callback (may be NULL) runs once when they fall below it. A
 * producer that writes until art_stream_needs_drain says stop therefore
 * holds at most the mark plus its last write, whatever the reader does. */
ART_EXTERN int art_stream_set_high_water_mark(art_stream_t *stream,
                                              size_t bytes);
/* The stream's high-water mark in bytes; 0 for NULL or a closed stream. */
ART_EXTERN size_t art_stream_get_high_water_mark(const art_stream_t *stream);
/* Sets the callback that runs once when the held bytes fall below the mark
 * (NULL: none). */
ART_EXTERN int art_stream_on_drain(art_stream_t *stream, art_drain_cb cb);
/* 1 while the bytes held by unfinished writes are at or above the
 * high-water mark (wait for the drain callback), else 0; 0 for NULL or a
 * closed stream. */
ART_EXTERN int art_stream_needs_drain(const art_stream_t *stream);
/* Bytes held by writes whose callbacks have not run yet (queued, or
 * written and waiting for their callback); 0 for NULL. */
ART_EXTERN size_t art_stream_write_held_size(const art_stream_t *stream);

/* ------------------------------------------------------------------------ */
/* Piping one stream into another: Node's stream.pipeline.                  */

/* art_stream_pipe's options. */
typedef struct {
  int no_end;       /* non-zero: do not shut dst down at the end of src */
  size_t chunk;     /* read buffer size, default 64 KiB */
  unsigned nchunks; /* buffers in flight at most, default 4 */
} art_stream_pipe_opts_t;

/* The state of one pipeline, allocated by the caller. */
struct art_stream_pipe_s {
  void *data;        /* the user's */
  art_stream_t *src; /* read from */
  art_stream_t *dst; /* written to */
  /* private */
  art_stream_pipe_cb cb_;
  art_stream_pipe_opts_t opts_;
  char *mem_;               /* the chunks: one allocation at start */
  void *free_;              /* chunks not in use (a stack) */
  unsigned in_flight_;      /* writes not yet completed */
  int status_;              /* first error, 0 while none */
  int eof_;                 /* src reached its end */
  int done_;                /* cb has run */
  int paused_;              /* reading stopped for backpressure */
  int src_gone_;            /* src closed: never touch it again */
  int dst_gone_;            /* dst closed: never touch it again */
  art__attach_t src_link_;  /* on src: finds p, tells it src closed */
  art__attach_t dst_link_;  /* on dst: tells p dst closed */
  art_loop_t *loop_;        /* the loop of both streams */
  art_shutdown_t shutdown_; /* ends dst at EOF */
  art__res_t res_;          /* id and context, as a request's */
};

/* Reads src (which must not be reading already) and writes everything to
 * dst. Reading pauses while dst is at or above its high-water mark or all
 * chunks are in flight and resumes when a write completes; at EOF of src,
 * dst is shut down (unless opts->no_end), then cb runs once with 0 or the first
 * error of either side. Memory is opts->nchunks * opts->chunk, allocated
 * once. opts may be NULL. Closing src ends the pipeline with ART_ECANCELED
 * once the writes in flight are done; closing dst ends it the same way,
 * failing those writes (cb may then run after the close callbacks: keep p
 * valid). */
ART_EXTERN int art_stream_pipe(art_stream_pipe_t *p, art_stream_t *src,
                               art_stream_t *dst,
                               const art_stream_pipe_opts_t *opts,
                               art_stream_pipe_cb cb);

/* ------------------------------------------------------------------------ */
/* Servers (TCP and pipes).                                                 */

/* Starts listening; cb runs for each incoming connection, which the caller
 * takes with art_accept (if it does not, accepting pauses until it does).
 * Connections are accepted in batches of at most 64 per wakeup. When the
 * process runs out of fds (EMFILE/ENFILE) pending connections are accepted
 * with a reserved fd and closed, so the listener never spins. */
ART_EXTERN int art_listen(art_stream_t *stream, int backlog,
                          art_connection_cb cb);

/* Takes the connection waiting on server into client (an initialised,
 * unused handle of the matching type). On an IPC pipe, takes the next
 * received handle instead, into a handle of art_pipe_pending_type's type
 * (an art_tcp_t, an art_pipe_t, or an art_udp_t cast to art_stream_t *).
 * ART_EAGAIN when nothing waits; ART_EINVAL for a client of another type. */
ART_EXTERN int art_accept(art_stream_t *server, art_stream_t *client);

/* ------------------------------------------------------------------------ */
/* TCP.                                                                     */

struct art_tcp_s {
  ART_HANDLE_FIELDS
  ART_STREAM_FIELDS
};

/* art_tcp_bind flags. */
enum {
  ART_TCP_IPV6ONLY = 1, /* an IPv6 socket that does not accept IPv4 */
  ART_TCP_REUSEPORT = 2 /* SO_REUSEPORT: several sockets share the port */
};

/* Initialises a TCP handle; the socket is created by bind or connect. */
ART_EXTERN int art_tcp_init(art_loop_t *loop, art_tcp_t *tcp);

/* Adopts an open socket (made non-blocking and close-on-exec); art_close
 * closes it. ART_EBADF for a closed fd, ART_ENOTSOCK for a non-socket. */
ART_EXTERN int art_tcp_open(art_tcp_t *tcp, int fd);

/* Binds to addr (struct sockaddr_in or sockaddr_in6) with SO_REUSEADDR.
 * Errors (ART_EADDRINUSE, ART_EADDRNOTAVAIL...) are returned here, at once.
 * After a failed bind the socket is not bound to anything, so the handle
 * remembers the error: art_listen returns it and art_tcp_connect's
 * callback gets it, rather than listening or connecting from an ephemeral
 * port the caller never asked for, until a later bind succeeds. Invalid
 * arguments (ART_EINVAL before any socket call) change nothing. */
ART_EXTERN int art_tcp_bind(art_tcp_t *tcp, const struct sockaddr *addr,
                            unsigned flags);

/* Connects to addr; cb runs once with 0 or the error (ART_ECONNREFUSED...,
 * or the error of a failed art_tcp_bind), never from inside this call, or
 * with ART_ECANCELED if the handle is closed first. */
ART_EXTERN int art_tcp_connect(art_connect_t *req, art_tcp_t *tcp,
                               const struct sockaddr *addr, art_connect_cb cb);

/* Sets or clears TCP_NODELAY (Nagle off); remembered and applied when the
 * socket is created if it does not exist yet. 0, ART_EINVAL, or the
 * setsockopt(2) error. */
ART_EXTERN int art_tcp_nodelay(art_tcp_t *tcp, int enable);

/* TCP keep-alive: first probe after delay s of silence, then every interval
 * s, dropping the connection after count unanswered probes. */
ART_EXTERN int art_tcp_keepalive(art_tcp_t *tcp, int enable, unsigned delay,
                                 unsigned interval, unsigned count);

/* The local or peer address; *namelen is the size of name on input and the
 * address length on output. */
ART_EXTERN int art_tcp_getsockname(const art_tcp_t *tcp, struct sockaddr *name,
                                   int *namelen);
ART_EXTERN int art_tcp_getpeername(const art_tcp_t *tcp, struct sockaddr *name,
                                   int *namelen);

/* Closes the handle and resets the connection (RST instead of FIN): queued
 * writes are cancelled. ART_EINVAL while a shutdown is pending. */
ART_EXTERN int art_tcp_close_reset(art_tcp_t *tcp, art_close_cb close_cb);

/* ------------------------------------------------------------------------ */
/* Pipes: Unix domain sockets, and any other fd (pipe(2) ends, stdin).      */

/* One handle received over an IPC pipe and not yet accepted. */
typedef struct {
  int fd;               /* close-on-exec */
  art_handle_type type; /* ART_TCP, ART_UDP or ART_NAMED_PIPE */
} art__pending_fd_t;

struct art_pipe_s {
  ART_HANDLE_FIELDS
  ART_STREAM_FIELDS
  int ipc;                 /* passes handles (read-only) */
  char *name_;             /* bound path, unlinked on close, or NULL */
  art__pending_fd_t *fds_; /* received handles, not yet accepted */
  unsigned nfds_;          /* entries in fds_ */
  unsigned fds_cap_;       /* capacity of fds_ */
};

/* Initialises a pipe handle; ipc non-zero makes it pass handles. */
ART_EXTERN int art_pipe_init(art_loop_t *loop, art_pipe_t *pipe, int ipc);

/* Adopts any fd: a Unix socket, a pipe(2) end, a FIFO, a terminal, stdin or
 * stdout, even a regular file (always ready: read and written directly).
 * The fd is made non-blocking; that flag belongs to the open file
 * description, so other processes sharing it (a shell's terminal) see it
 * too. art_close closes the fd. */
ART_EXTERN int art_pipe_open(art_pipe_t *pipe, int fd);

/* Binds to a path, or with art_pipe_bind2 to a name of len bytes that may
 * start with '\0' (a Linux abstract name). ART_ENAMETOOLONG when the name
 * does not fit a sockaddr_un, never a truncated name. The path is unlinked
 * when the handle closes. A failed bind leaves the handle without a socket
 * and is remembered as art_tcp_bind's is: art_listen returns its error and
 * art_pipe_connect's callback gets it, until a later bind succeeds. */
ART_EXTERN int art_pipe_bind(art_pipe_t *pipe, const char *name);
ART_EXTERN int art_pipe_bind2(art_pipe_t *pipe, const char *name, size_t len);

/* Connects to a path or (art_pipe_connect2) to a name that may be
 * abstract; cb as for art_tcp_connect. */
ART_EXTERN int art_pipe_connect(art_connect_t *req, art_pipe_t *pipe,
                                const char *name, art_connect_cb cb);
ART_EXTERN int art_pipe_connect2(art_connect_t *req, art_pipe_t *pipe,
                                 const char *name, size_t len,
                                 art_connect_cb cb);

/* The bound or peer name, copied into buf (*len is its size; on return the
 * name's length, without a terminating NUL, which is added when there is
 * room). ART_ENOBUFS, with *len set to what is needed, when buf is too
 * small. An abstract name starts with '\0'. */
ART_EXTERN int art_pipe_getsockname(const art_pipe_t *pipe, char *buf,
                                    size_t *len);
ART_EXTERN int art_pipe_getpeername(const art_pipe_t *pipe, char *buf,
                                    size_t *len);

/* Makes the bound socket file readable and/or writable by everyone
 * (ART_READABLE, ART_WRITABLE). */
ART_EXTERN int art_pipe_chmod(art_pipe_t *pipe, int flags);

/* Handles received on an IPC pipe and not yet accepted, and the type of the
 * next one (ART_UNKNOWN_HANDLE when none). */
ART_EXTERN int art_pipe_pending_count(const art_pipe_t *pipe);
ART_EXTERN art_handle_type art_pipe_pending_type(const art_pipe_t *pipe);

/* ------------------------------------------------------------------------ */
/* TTYs: a terminal as a stream, its modes and size.                        */

typedef struct art_tty_s art_tty_t;

/* Terminal modes of art_tty_set_mode. */
typedef enum {
  ART_TTY_MODE_NORMAL = 0, /* the mode the terminal had before */
  ART_TTY_MODE_RAW,        /* byte at a time, no echo, no signals from keys;
                              output processing (\n to \r\n) kept */
  ART_TTY_MODE_IO          /* binary-safe: cfmakeraw, output unprocessed */
} art_tty_mode_t;

struct art_tty_s {
  ART_HANDLE_FIELDS
  ART_STREAM_FIELDS
  /* private */
  struct termios orig_termios_; /* before the first mode change */
  int mode_;                    /* art_tty_mode_t now in effect */
  int orig_status_;             /* fcntl(F_GETFL) at init, restored at close */
};

/* Opens the terminal fd as a stream. readable: the handle reads (and also
 * writes if fd was opened read-write); otherwise it only writes. The fd is
 * made non-blocking while the handle is open; its file status flags are put
 * back at close, because a terminal's open file description is usually
 * shared with the shell and other processes. art_close closes fd, except
 * 0, 1 and 2, which are left open. ART_EBADF for a bad fd, ART_EINVAL if fd
 * is not a terminal. */
ART_EXTERN int art_tty_init(art_loop_t *loop, art_tty_t *tty, int fd,
                            int readable);

/* Switches the terminal's mode. The first switch away from NORMAL in the
 * process also records the terminal's settings for art_tty_reset_mode. */
ART_EXTERN int art_tty_set_mode(art_tty_t *tty, art_tty_mode_t mode);

/* The terminal's size in character cells. */
ART_EXTERN int art_tty_get_winsize(art_tty_t *tty, int *width, int *height);

/* Restores the settings recorded by the first art_tty_set_mode away from
 * NORMAL; call it at exit or from a signal handler (it is
 * async-signal-safe and keeps errno). 0 if there is nothing to restore,
 * ART_EBUSY if another thread is changing a mode at that very moment. */
ART_EXTERN int art_tty_reset_mode(void);

/* What kind of object fd is: ART_TTY, ART_TCP, ART_UDP, ART_NAMED_PIPE (a
 * pipe, FIFO or Unix socket), ART_FILE (a regular file or other device),
 * or ART_UNKNOWN_HANDLE (a bad fd, a directory, another socket family). */
ART_EXTERN art_handle_type art_guess_handle(int fd);

#ifdef __cplusplus
}
#endif

#endif
