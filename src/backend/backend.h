/* The backend contract: what the loop's core asks of a poller.
 *
 * A backend sits below the core. It knows fds, masks and operations, never
 * the loop: the core hands it its own state, and a wait writes what it found
 * into an array the core owns and then dispatches. Nothing here calls back
 * into the core, which is what lets a backend be written and tested alone.
 *
 * Two kinds of backend fit the same contract:
 *
 * - Readiness (epoll, poll(2), kqueue): the core says which events it wants
 *   on an fd (update); a wait reports fds that are ready, and the owner then
 *   makes the system call itself.
 * - Completion (io_uring): an operation (a read into a buffer, an accept, a
 *   file call) is submitted whole (submit) and a wait reports it done, with
 *   its result. A completion backend still serves update, with a poll
 *   operation per fd (io_uring's POLL_ADD), so that streams, UDP
 *   and fs code run unchanged on it and need not branch on the backend:
 *   this is how libuv's Windows port runs one stream API over IOCP, where
 *   uv_read_start posts a zero-byte read whose completion means "readable"
 *   and the data is then read without blocking. Operations the ring does
 *   better than readiness (accept, reads into provided buffers, file
 *   system calls without the pool) go through submit where the backend says
 *   it can (ART__BACKEND_COMPLETIONS), and the core's art__io_submit
 *   refuses them with ART_ENOTSUP where it cannot.
 */
#ifndef ART_BACKEND_H
#define ART_BACKEND_H

#include "base.h"

/* Backend event bits: the public ART_READABLE... values plus error. */
enum { ART__IO_ERROR = 16 };
/* Not from a backend: the core tells a watcher's owner that the backend
 * refused to register it (art__io_t.error says why). */
enum { ART__IO_REFUSED = 32 };

/* Kinds of operation a completion backend may run whole. A path is the
 * caller's until the operation completes; relative ones start at the
 * current directory. */
typedef enum {
  ART__OP_READ = 1,  /* read(fd, buf, len) at offset (-1: current) */
  ART__OP_WRITE,     /* write(fd, buf, len) at offset (-1: current) */
  ART__OP_ACCEPT,    /* accept4(fd) with SOCK_NONBLOCK | SOCK_CLOEXEC */
  ART__OP_FSYNC,     /* fsync(fd) */
  ART__OP_FDATASYNC, /* fdatasync(fd) */
  ART__OP_READV,     /* preadv(fd, buf: len struct iovec, offset; -1 too) */
  ART__OP_WRITEV,    /* pwritev(fd, buf: len struct iovec, offset; -1 too) */
  ART__OP_OPEN,      /* open(path, flags, mode) */
  ART__OP_CLOSE,     /* close(fd) */
  ART__OP_STATX,     /* statx(fd, path, flags, mode as the mask, buf) */
  ART__OP_RENAME,    /* rename(path, path2) */
  ART__OP_UNLINK,    /* unlink(path) */
  ART__OP_RMDIR,     /* rmdir(path) */
  ART__OP_MKDIR,     /* mkdir(path, mode) */
  ART__OP_LINK,      /* link(path, path2) */
  ART__OP_SYMLINK,   /* symlink(path: the target, path2: the link) */
  ART__OP_FTRUNCATE, /* ftruncate(fd, offset) */
  ART__OP_SEND,      /* send(fd, buf, len, MSG_NOSIGNAL | flags) */
  ART__OP_SENDMSG,   /* sendmsg(fd, buf: struct msghdr, MSG_NOSIGNAL | flags) */
  ART__OP_RECV,      /* recv(fd, buf, len, flags); or into a pool buffer */
  ART__OP_RECVMSG,   /* recvmsg(fd, buf: struct msghdr, flags) */
  ART__OP_CONNECT,   /* connect(fd, buf: struct sockaddr, len) */
  ART__OP_KINDS      /* not a kind: how many there are, plus one */
} art__op_kind;

/* Flags of art__op_t.how. */
enum {
  /* Hand the operation to the kernel before submit returns: it then runs
   * with the credentials the calling thread has now, not with those it
   * has at the loop's next wait. ART_EAGAIN where the backend cannot now
   * (a ring no thread has entered yet). */
  ART__OP_NOW = 1,
  /* Run it on a kernel worker from the start (io_uring's IOSQE_ASYNC):
   * never tried without blocking first. An open must, since the kernel's
   * first, non-blocking try opens a FIFO or a device with O_NONBLOCK,
   * which does not wait for the other end as open(2) does. */
  ART__OP_BLOCKING = 2,
  /* ACCEPT only: one submission accepts every connection that comes
   * (io_uring's IORING_ACCEPT_MULTISHOT), and done runs once per accepted
   * fd or error. The operation stays in flight (art__op_in_flight) until a
   * completion ends it: a cancel (ART_ECANCELED), an error, or the kernel
   * ending it; done then runs for the last time. A kernel without it ends
   * the operation at once with ART_EINVAL. */
  ART__OP_MULTISHOT = 4,
  /* RECV only: the backend picks the buffer from its pool when data comes
   * (io_uring's provided buffers), so nothing is pinned while the socket
   * is idle; buf and len are unused. With ART__OP_MULTISHOT one submission
   * receives until canceled, an error, the end of the stream, or the pool
   * running dry (ART_ENOBUFS, then the owner submits again). Each
   * completion that carries bytes has ART__GOT_BUFFER in op->got_: the
   * owner reads them at art__io_buffer and gives the buffer back with
   * art__io_recycle before its done returns. */
  ART__OP_PROVIDED = 8,
  /* RECV, RECVMSG: the owner just drained the socket, so the kernel
   * waits for bytes at once instead of trying a receive that would find
   * none (io_uring's IORING_RECVSEND_POLL_FIRST). */
  ART__OP_POLL_FIRST = 16
};

/* Bits of art__op_t.got_, set by the core before each done. */
enum {
  ART__GOT_MORE = 1,   /* a multishot op stays in flight: more will come */
  ART__GOT_BUFFER = 2, /* a pool buffer holds the bytes: id in the top bits */
  ART__GOT_ID_SHIFT = 16
};

/* One submitted operation, embedded in its owner (a request or a handle):
 * submitting allocates nothing. done runs in the poll phase with the result
 * (bytes, an fd, or a negative ART_E* code), exactly once, also after a
 * cancel (with ART_ECANCELED unless the operation had finished; an
 * operation interrupted in a kernel worker may report ART_EINTR). */
typedef struct art__op_s art__op_t;
struct art__op_s {
  void (*done)(art__op_t *op, int64_t result); /* the owner's */
  art__op_kind kind;
  int fd;             /* the file; STATX: the folder of path, or the file */
  void *buf;          /* READ, WRITE: bytes; *V: iovecs; STATX: statx */
  size_t len;         /* READ, WRITE: bytes; *V: iovecs */
  int64_t offset;     /* READ, WRITE, *V; FTRUNCATE: the length */
  const char *path;   /* OPEN, STATX, RENAME, UNLINK, RMDIR, MKDIR, LINK... */
  const char *path2;  /* RENAME, LINK, SYMLINK */
  int flags;          /* OPEN: open(2) flags; STATX: AT_* flags */
  unsigned mode;      /* OPEN, MKDIR: the mode; STATX: the STATX_* mask */
  unsigned how;       /* ART__OP_NOW, ART__OP_BLOCKING... */
  unsigned got_;      /* ART__GOT_* of the completion done is called for */
  art__queue_t node_; /* the backend's, while the operation is in flight */
};

/* True while op is in the backend: submitted, and its last completion not
 * yet reported (inside done: false for the last one). The owner sets node_
 * empty (art__queue_init) before it first submits. */
static inline int art__op_in_flight(const art__op_t *op) {
  return !art__queue_empty(&op->node_);
}

/* What one wait found: an fd that is ready (op NULL), or an operation that
 * completed (op set, fd -1). The core blanks the fd of an entry (fd -1)
 * when a callback of the same batch closes that fd. */
typedef struct {
  int fd;          /* ready fd, or -1 */
  unsigned events; /* ART_READABLE | ... | ART__IO_ERROR; an op's ART__GOT_* */
  art__op_t *op;   /* completed operation, or NULL */
  int64_t result;  /* op's result */
} art__event_t;

/* Flags of art__backend_ops_t.caps. */
enum {
  ART__BACKEND_COMPLETIONS = 1 /* submit and cancel run operations */
};

/* What pool_stats reports of a backend's buffer pool. */
typedef struct {
  unsigned count, size; /* buffers, and bytes each */
  int made;             /* 1 once registered with the kernel */
  uint64_t dry;         /* receives that found no buffer (ENOBUFS) */
} art__pool_stats_t;

/* The operations, over backend-private state (a void *state the backend
 * makes in init). Small on purpose, as Redis' ae: a new poller is one file. */
typedef struct art__backend_ops {
  const char *name;
  unsigned caps; /* ART__BACKEND_* */
  /* Makes the backend's state; 0 or a negative ART_E* code. */
  int (*init)(void **state);
  void (*close)(void *state);
  /* Brings the kernel's view of fd from events `had` to `want` (either may
   * be 0). Called only for real changes, at the start of the poll phase. */
  int (*update)(void *state, int fd, unsigned had, unsigned want);
  /* Waits up to timeout_ns (-1: forever, 0: not at all) and writes at most
   * max entries into out. Returns how many (0 on timeout or EINTR). A
   * backend whose system call counts in coarser units rounds the timeout
   * up: a wait may end late, never before the time asked for. */
  int (*wait)(void *state, int64_t timeout_ns, art__event_t *out, int max);
  /* fd is about to be closed: drop it from the kernel's set now (epoll
   * watches open files, not numbers, and a dup would keep it there). */
  void (*forget_fd)(void *state, int fd);
  /* An fd that is readable when events wait (for embedding), or
   * ART_ENOTSUP. */
  int (*fd)(const void *state);
  /* ART_EPERM if the backend can never watch fd (regular files on epoll). */
  int (*check_fd)(const void *state, int fd);
  /* Makes room for fd before it is first watched, when nfds fds are watched
   * already, so that update never allocates and an out-of-memory error
   * reaches the caller that registered the fd. NULL: no per-fd memory. */
  int (*reserve)(void *state, int fd, unsigned nfds);
  /* Completion backends only (NULL otherwise): starts op, or cancels it.
   * op->done runs from a later wait. submit refuses a kind the kernel
   * lacks with ART_ENOTSUP, and ART_EAGAIN when it has no room now.
   * cancel never fails for room (one without room now goes in with the
   * next wait): 0, or ART_ENOENT for an op not in flight. */
  int (*submit)(void *state, art__op_t *op);
  int (*cancel)(void *state, art__op_t *op);
  /* Completion backends: 1 while operations are in flight (their owners
   * wait for a completion only this state can give). */
  int (*busy)(const void *state);
  /* Completion backends, in a forked child: state (new) takes the
   * operations `from` (the parent's, of the same backend, about to be
   * closed) had in flight, and its next wait reports them canceled. */
  void (*adopt)(void *state, void *from);
  /* Optional: hands the kernel what the backend queued for its next wait
   * (io_uring's re-armed polls), without waiting. The core calls it when
   * art_run returns, so that a host blocking on fd() sees every watched
   * fd. 0 or a negative ART_E* code. */
  int (*flush)(void *state);
  /* Completion backends: 1 if submit would take an operation of kind with
   * these ART__OP_* flags (ART__OP_PROVIDED: the pool can be made). */
  int (*supports)(void *state, art__op_kind kind, unsigned how);
  /* ART__OP_PROVIDED: the bytes of pool buffer id (and the size of every
   * pool buffer), and giving it back. */
  char *(*buffer)(void *state, unsigned id, size_t *size);
  void (*recycle)(void *state, unsigned id);
  /* Optional: the pool's shape, before it is first used: count buffers
   * (a power of two) of size bytes, 0 keeping either as it is.
   * ART_EBUSY once the pool is made. */
  int (*set_pool)(void *state, unsigned count, unsigned size);
  /* Optional: the pool's shape, whether it is made, and how many receives
   * found it dry (each then read its socket directly), for the report. */
  void (*pool_stats)(const void *state, art__pool_stats_t *out);
  /* Optional: the backend a loop gets instead when init fails (a ring the
   * kernel refuses falls back to epoll). */
  const struct art__backend_ops *fallback;
} art__backend_ops_t;

/* The backend named by ART_BACKEND ("poll", "io_uring"; anything else:
 * epoll), picked once per loop at art_loop_init (src/backend/select.c). */
const art__backend_ops_t *art__backend_select(void) ART__HIDDEN;

/* The backend of an art_backend_kind (ART_BACKEND_DEFAULT: the one
 * art__backend_select picks), or NULL for a value out of range. */
const art__backend_ops_t *art__backend_of_kind(long kind) ART__HIDDEN;

/* Makes *ops's state; when that fails and *ops has a fallback, sets *ops to
 * the fallback and makes its state instead. 0 or a negative ART_E* code
 * (the fallback's). */
int art__backend_open(const art__backend_ops_t **ops, void **state) ART__HIDDEN;

#endif
