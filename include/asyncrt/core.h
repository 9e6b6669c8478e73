/* The loop core of libasyncrt: the export macro, errors, the allocator hook,
 * the types every handle and request shares, the loop, timers, the phase
 * handles, immediates, microtasks, fd watchers and async handles. Every area
 * header (threadpool.h, fs.h, stream.h, ...) includes this one first, and
 * nothing here includes an area header, so the headers form a tree with no
 * circle. Included by asyncrt.h; include that, not this. */

/* Thread safety. A loop, its handles and its requests belong to the thread
 * that runs the loop, and nothing of the loop is locked: call every
 * function of this header on that thread (a loop that no thread is running
 * may be handed to another thread, through a mutex or a join), except
 * these, which any thread may call at any time:
 * - art_async_send: a compare-and-swap onto the loop's lock-free stack and
 *   at most one eventfd write (src/async.c); also async-signal-safe. Not
 *   after the handle's close callback has run.
 * - art_default_loop: the loop is made once, under a mutex. The loop it
 *   returns then belongs to one thread like any other.
 * - art_loop_init, on a loop no other thread can see yet.
 * - art_hrtime, art_version, art_version_string, art_strerror,
 *   art_err_name, art_phase_name, art_handle_type_name, art_req_type_name,
 *   art_handle_size,
 *   art_buf_init and art_loop_utilization: they read only their arguments
 *   and constant tables.
 * Two traps: art_stop sets a plain flag, so calling it from another thread
 * is a data race and does not wake a loop blocked in poll (send an async
 * handle whose callback calls art_stop); art_loop_metrics copies counters
 * the loop writes without a lock (sample on the loop's thread, from a
 * timer, and publish the copy). art_replace_allocator is not thread-safe at
 * all: call it before any loop or pool exists. The four functions given to
 * it are called from every thread that uses the library, the pool's
 * workers included, so they must be thread-safe themselves. */

#ifndef ASYNCRT_CORE_H
#define ASYNCRT_CORE_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "version.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(ART_BUILDING_LIBRARY) && defined(__GNUC__)
#define ART_EXTERN __attribute__((visibility("default")))
#else
#define ART_EXTERN
#endif

/* The version of the library loaded at run time, as ART_VERSION_HEX and as
 * "MAJOR.MINOR.PATCH" (the macros in version.h give the version compiled
 * against). */
ART_EXTERN unsigned art_version(void);
ART_EXTERN const char *art_version_string(void);

/* ------------------------------------------------------------------------ */
/* Errors: negative errno values, plus ART_EOF for the end of a stream.     */

#define ART_ERRNO_MAP(X)                                                       \
  X(E2BIG, "argument list too long")                                           \
  X(EACCES, "permission denied")                                               \
  X(EADDRINUSE, "address already in use")                                      \
  X(EADDRNOTAVAIL, "address not available")                                    \
  X(EAFNOSUPPORT, "address family not supported")                              \
  X(EAGAIN, "resource temporarily unavailable")                                \
  X(EALREADY, "operation already in progress")                                 \
  X(EBADF, "bad file descriptor")                                              \
  X(EBUSY, "resource busy or locked")                                          \
  X(ECANCELED, "operation canceled")                                           \
  X(ECHILD, "no child processes")                                              \
  X(ECONNABORTED, "software caused connection abort")                          \
  X(ECONNREFUSED, "connection refused")                                        \
  X(ECONNRESET, "connection reset by peer")                                    \
  X(EEXIST, "file already exists")                                             \
  X(EFAULT, "bad address in system call argument")                             \
  X(EFBIG, "file too large")                                                   \
  X(EHOSTUNREACH, "host is unreachable")                                       \
  X(EINTR, "interrupted system call")                                          \
  X(EINVAL, "invalid argument")                                                \
  X(EIO, "i/o error")                                                          \
  X(EISCONN, "socket is already connected")                                    \
  X(EISDIR, "illegal operation on a directory")                                \
  X(ELOOP, "too many symbolic links encountered")                              \
  X(EMFILE, "too many open files")                                             \
  X(EMSGSIZE, "message too long")                                              \
  X(ENAMETOOLONG, "name too long")                                             \
  X(ENETDOWN, "network is down")                                               \
  X(ENETUNREACH, "network is unreachable")                                     \
  X(ENFILE, "file table overflow")                                             \
  X(ENOBUFS, "no buffer space available")                                      \
  X(ENODEV, "no such device")                                                  \
  X(ENOENT, "no such file or directory")                                       \
  X(ENOMEM, "not enough memory")                                               \
  X(ENOSPC, "no space left on device")                                         \
  X(ENOSYS, "function not implemented")                                        \
  X(ENOTCONN, "socket is not connected")                                       \
  X(ENOTDIR, "not a directory")                                                \
  X(ENOTEMPTY, "directory not empty")                                          \
  X(ENOTSOCK, "socket operation on non-socket")                                \
  X(ENOTSUP, "operation not supported")                                        \
  X(ENXIO, "no such device or address")                                        \
  X(EOVERFLOW, "value too large for defined data type")                        \
  X(EPERM, "operation not permitted")                                          \
  X(EPIPE, "broken pipe")                                                      \
  X(EPROTO, "protocol error")                                                  \
  X(ERANGE, "result too large")                                                \
  X(EROFS, "read-only file system")                                            \
  X(ESPIPE, "invalid seek")                                                    \
  X(ESRCH, "no such process")                                                  \
  X(ETIMEDOUT, "connection timed out")                                         \
  X(ETXTBSY, "text file is busy")                                              \
  X(EXDEV, "cross-device link not permitted")

#define ART__ERRNO_ENUM(name, text) ART_##name = -name,
enum { ART_ERRNO_MAP(ART__ERRNO_ENUM) ART_EOF = -4095 };
#undef ART__ERRNO_ENUM

/* Return values. Every function that returns int returns 0 on success or
 * a negative ART_E* code (ART_EAI_* from the resolver, ART_EOF at the end
 * of a stream or listing), never a positive value: `if (r < 0)` and
 * `if (r != 0)` test the same thing. That includes art_write (backpressure
 * is art_stream_needs_drain, asked after writing) and art_run. A libuv
 * habit to drop: no int function here hands back a count for success,
 * except the ones listed below. This is the complete list of the public
 * functions whose value means more than 0-or-error (docs/reference.md
 * is generated from the headers and checks it stays complete).
 *
 * [return-values]
 * A count or a descriptor, or a negative error:
 *   art_try_write           bytes written (ART_EAGAIN: none could be)
 *   art_udp_try_send        bytes sent
 *   art_udp_try_send_batch  datagrams sent, a prefix of the batch
 *   art_fs_* (cb NULL)      synchronous: req->result clamped to INT_MAX:
 *                           the fd (open, mkstemp), bytes (read, write,
 *                           sendfile, read_file, write_file), entries
 *                           (scandir, readdir), else 0
 *   art_fs_get_result       ssize_t: req->result, unclamped
 *   art_backend_fd          the backend's fd (ART_ENOTSUP under poll(2))
 *   art_listen_fds          sockets passed by the service manager
 *   art_backend_timeout     ms to wait, -1 for no timer, ART_EINVAL for
 *                           a bad loop (also negative: test for -1)
 * A count that cannot fail (0 for NULL or a handle of another type):
 *   art_pipe_pending_count  handles received and not yet accepted
 * 0 or 1, never negative (0 for NULL):
 *   art_run                 1 while something keeps the loop alive
 *   art_loop_alive, art_is_active, art_is_closing, art_has_ref,
 *   art_immediate_has_ref, art_is_readable, art_is_writable,
 *   art_stream_needs_drain, art_port_needs_drain, art_histogram_next
 * Other int values:
 *   art_fs_scandir_next     0, ART_EOF after the last entry
 *   art_process_get_pid     the child's pid, 0 once reaped or for NULL
 *   art_getpid, art_getppid the pid, never an error
 *   art_cluster_is_worker   1 in a worker, 0 when not, ART_EINVAL for a
 *                           marker that is set but not valid
 *   art_cluster_worker_pid  the pid of a slot's worker, 0 when none
 * Unsigned values that cannot fail (0 for NULL or unknown):
 *   art_version, art_available_parallelism (at least 1), art_handle_size,
 *   art_now, art_hrtime, art_loop_clock_ns, art_timer_get_repeat,
 *   art_timer_get_due_in, art_stream_write_queue_size,
 *   art_stream_write_held_size, art_stream_get_high_water_mark,
 *   art_udp_get_send_queue_size,
 *   art_udp_get_send_queue_count, art_port_queued_size,
 *   art_total_memory, art_free_memory,
 *   art_constrained_memory, art_loop_current_id, art_histogram_count,
 *   art_histogram_min, art_histogram_max, art_histogram_percentile (0 also
 *   while empty)
 * Doubles that cannot fail (0 for NULL or an empty histogram):
 *   art_histogram_mean, art_histogram_stddev
 * Pointers, names and enums (never NULL unless said):
 *   art_version_string, art_strerror, art_err_name, art_phase_name,
 *   art_handle_type_name, art_req_type_name, art_backend_name,
 *   art_loop_phase,
 *   art_default_loop (NULL if it cannot be made), art_default_pool (NULL,
 *   with the reason in *err), art_fs_get_type, art_fs_get_ptr,
 *   art_fs_get_path, art_fs_get_statbuf, art_pipe_pending_type,
 *   art_guess_handle, art_context_get (NULL: no context),
 *   art_loop_phase_histogram and art_fs_latency (NULL until there is
 *   something to record)
 * [/return-values] */

/* Text for an error code ("no such file or directory") and its name
 * ("ENOENT"). Unknown codes give "unknown error" / "UNKNOWN"; the strings are
 * static. */
ART_EXTERN const char *art_strerror(int err);
ART_EXTERN const char *art_err_name(int err);

/* Replaces the allocator used for every allocation the library makes. All
 * four must be given; returns ART_EINVAL otherwise. Call it before any loop
 * exists (memory from one allocator must be freed by the same one). */
typedef void *(*art_malloc_fn)(size_t size);
typedef void *(*art_realloc_fn)(void *ptr, size_t size);
typedef void *(*art_calloc_fn)(size_t count, size_t size);
typedef void (*art_free_fn)(void *ptr);
ART_EXTERN int art_replace_allocator(art_malloc_fn malloc_fn,
                                     art_realloc_fn realloc_fn,
                                     art_calloc_fn calloc_fn,
                                     art_free_fn free_fn);

/* ------------------------------------------------------------------------ */
/* Types.                                                                   */

typedef struct art_loop_s art_loop_t;
typedef struct art_handle_s art_handle_t;
typedef struct art_req_s art_req_t;
typedef struct art_timer_s art_timer_t;
typedef struct art_idle_s art_idle_t;
typedef struct art_prepare_s art_prepare_t;
typedef struct art_check_s art_check_t;
typedef struct art_poll_s art_poll_t;
typedef struct art_async_s art_async_t;
typedef struct art_immediate_s art_immediate_t;

/* The private node of every intrusive list (see src/queue.h). */
struct art__queue {
  struct art__queue *next;
  struct art__queue *prev;
};

typedef enum {
  ART_UNKNOWN_HANDLE = 0,
  ART_ASYNC,
  ART_CHECK,
  ART_FS_EVENT,
  ART_FS_POLL,
  ART_HANDLE, /* only in art_walk filters: any type */
  ART_IDLE,
  ART_NAMED_PIPE,
  ART_POLL,
  ART_PREPARE,
  ART_PROCESS,
  ART_STREAM,
  ART_TCP,
  ART_TIMER,
  ART_TTY,
  ART_UDP,
  ART_SIGNAL,
  ART_FILE, /* only from art_guess_handle: a regular file or device */
  ART_PORT, /* one end of a message channel (asyncrt/worker.h) */
  ART_HANDLE_TYPE_MAX
} art_handle_type;

typedef enum {
  ART_UNKNOWN_REQ = 0,
  ART_REQ,
  ART_CONNECT,
  ART_WRITE,
  ART_SHUTDOWN,
  ART_UDP_SEND,
  ART_FS,
  ART_WORK,
  ART_GETADDRINFO,
  ART_GETNAMEINFO,
  ART_IMMEDIATE,
  ART_REQ_TYPE_MAX
} art_req_type;

typedef enum {
  ART_RUN_DEFAULT = 0, /* until nothing keeps the loop alive, or art_stop */
  ART_RUN_ONCE,        /* one iteration, blocking in poll if needed; if it
                          blocked, timers due when the wait ended run before
                          it returns, so a call always makes progress */
  ART_RUN_NOWAIT       /* one iteration, never blocking */
} art_run_mode;

typedef void (*art_close_cb)(art_handle_t *handle);
typedef void (*art_walk_cb)(art_handle_t *handle, void *arg);
typedef void (*art_timer_cb)(art_timer_t *timer);
typedef void (*art_idle_cb)(art_idle_t *idle);
typedef void (*art_prepare_cb)(art_prepare_t *prepare);
typedef void (*art_check_cb)(art_check_t *check);
typedef void (*art_poll_cb)(art_poll_t *poll, int status, int events);
typedef void (*art_async_cb)(art_async_t *async);
typedef void (*art_immediate_cb)(art_immediate_t *immediate);
typedef void (*art_microtask_cb)(art_loop_t *loop, void *arg);

/* A buffer the caller owns: used by file reads and writes and by streams.
 * Vectored operations take an array of them. */
typedef struct {
  char *base; /* first byte */
  size_t len; /* bytes at base */
} art_buf_t;

/* Makes a buffer descriptor for len bytes at base. */
static inline art_buf_t art_buf_init(char *base, size_t len) {
  art_buf_t b;
  b.base = base;
  b.len = len;
  return b;
}

/* What every handle, request and queued task carries for the observer
 * (src/observe.c, include/asyncrt/observe.h): its id, unique on its loop,
 * and the async context captured when it was created or last started. */
typedef struct {
  uint64_t id_;
  void *context_;
} art__res_t;

/* A queued microtask or tick: a callback, its argument, its id and
 * context. */
typedef struct {
  art_microtask_cb cb;
  void *arg;
  art__res_t res;
} art__task_t;

/* A growable ring of tasks; it grows only when full, so queueing allocates
 * nothing once the ring has reached the program's steady-state depth. */
typedef struct {
  art__task_t *items;
  size_t head;
  size_t count;
  size_t cap;
} art__task_ring_t;

/* One entry of the timer heap: the key and the timer's slot number, so that
 * sifting touches neither the timers nor anything but dense arrays. */
typedef struct {
  uint64_t due;  /* absolute ns (art_hrtime's clock) */
  uint64_t seq;  /* start order */
  uint32_t slot; /* index into loop->timer_slots_ and loop->timer_pos_ */
} art__heap_entry_t;

/* An fd watched by the backend. */
typedef struct art__io_s art__io_t;
typedef void (*art__io_cb)(art_loop_t *loop, art__io_t *w, unsigned events);
struct art__io_s {
  art__io_cb cb;            /* runs in the poll phase with the ready events */
  struct art__queue change; /* on loop->watcher_changes while unsynced */
  int fd;
  unsigned events;  /* what the owner wants */
  unsigned pevents; /* what the backend has registered */
  int error;        /* why the backend refused it (ART__IO_REFUSED) */
};

/* Something other threads hand work to the loop through (src/wakeup.c):
 * drained on the loop thread in the poll phase after each wakeup. */
typedef struct art__wake_source_s art__wake_source_t;
struct art__wake_source_s {
  struct art__queue node; /* on loop->wake_sources_ */
  void (*drain)(art_loop_t *loop, art__wake_source_t *src);
};

/* Counters of the loop; see art_loop_metrics. */
typedef struct {
  uint64_t iterations;   /* art_run iterations completed */
  uint64_t events;       /* I/O callbacks dispatched by the poll phase */
  uint64_t idle_time_ns; /* time spent blocked waiting in the poll phase */
  /* Time per phase, indexed by art_phase, counted only while
   * ART_LOOP_MEASURE_PHASES is on. Microtask drains count under
   * ART_PHASE_MICROTASKS, not under the phase they ran after; the poll
   * phase's figure includes idle_time_ns. */
  uint64_t phase_time_ns[7];
  uint64_t loop_start_ns;    /* art_hrtime() when the loop was initialised */
  uint64_t sample_ns;        /* art_hrtime() when these figures were read */
  uint64_t timers_fired;     /* timer callbacks run */
  uint64_t timer_lag_sum_ms; /* sum over them of (run time - due time) */
  uint64_t timer_lag_max_ms; /* the largest such lateness: the loop's lag */
} art_loop_metrics_t;

/* The phases, in the order an iteration runs them. */
typedef enum {
  ART_PHASE_TIMERS = 0,
  ART_PHASE_PENDING,
  ART_PHASE_IDLE_PREPARE,
  ART_PHASE_POLL,
  ART_PHASE_CHECK,
  ART_PHASE_CLOSE,
  ART_PHASE_MICROTASKS,
  ART_PHASE_NONE /* outside art_run */
} art_phase;

/* Returns a static name: "timers", "pending", "idle/prepare", "poll",
 * "check", "close", "microtasks", "none". */
ART_EXTERN const char *art_phase_name(art_phase phase);

struct art__backend_ops;
struct art__ext_entry;
struct art__observer;

/* The loop. Every field but data is private: use the functions below. The
 * reserved fields keep room to grow without changing the size. */
struct art_loop_s {
  void *data; /* the user's */
  /* ---- private ---- */
  /* The backend and the fds it watches (src/io.c). */
  const struct art__backend_ops *backend_;
  void *backend_state_;  /* the backend's own state */
  void *events_;         /* art__event_t[]: the batch being dispatched */
  int nevents_;          /* entries of events_ being dispatched */
  art__io_t **watchers_; /* indexed by fd; grown on registration */
  unsigned nwatchers_;
  unsigned nfds_;                     /* watchers registered */
  struct art__queue watcher_changes_; /* io watchers whose mask changed */
  /* Handles, requests and the phases (src/loop.c, src/handle.c). */
  struct art__queue handles_; /* every open handle, for walk and close */
  struct art__queue idle_handles_;
  struct art__queue prepare_handles_;
  struct art__queue check_handles_;
  struct art__queue pending_; /* art__pending_t, run in the pending phase */
  struct art__queue closing_; /* closed handles, for the close phase */
  unsigned active_handles_;   /* active and referenced */
  unsigned active_reqs_;      /* requests in flight */
  unsigned reqs_by_type_[ART_REQ_TYPE_MAX]; /* the same, per art_req_type */
  int stop_flag_;
  int phase_;        /* art_phase now running */
  uint64_t time_;    /* cached now, ms (time_ns_ / 1e6) */
  uint64_t time_ns_; /* cached now, ns: what the timers phase compares */
  /* Timers (src/timer.c). */
  art__heap_entry_t *timer_heap_; /* min-heap of started timers */
  art_timer_t **timer_slots_;     /* slot -> timer */
  uint32_t *timer_pos_;           /* slot -> heap index, or next free slot */
  size_t timer_count_;            /* entries in the heap */
  size_t timer_cap_;              /* capacity of the three arrays */
  size_t timer_reserved_;         /* slots handed out (high-water mark) */
  uint32_t timer_free_;           /* 1 + first free slot, 0: none */
  uint64_t timer_seq_;            /* start counter: equal deadlines in order */
  uint32_t timer_deferred_;       /* repeats that fell behind, see timer.c */
  /* Ticks and microtasks (src/microtask.c). */
  art__task_ring_t ticks_;      /* art_next_tick queue */
  art__task_ring_t microtasks_; /* art_queue_microtask queue */
  int draining_;                /* microtask drain running */
  /* Metrics (src/metrics.c). */
  art_loop_metrics_t metrics_;
  int measure_phases_;     /* ART_LOOP_MEASURE_PHASES is on */
  uint64_t phase_mark_ns_; /* when the phase being measured began */
  uint64_t drain_ns_;      /* microtask time inside that phase */
  /* Cross-thread wakeup (src/wakeup.c, src/async.c). */
  int wakeup_fd_; /* eventfd */
  art__io_t wakeup_io_;
  int wakeup_pending_;              /* atomic: wakeup word, src/wakeup.c */
  int wakers_;                      /* atomic: threads that may still write */
  struct art__queue wake_sources_;  /* art__wake_source_t, drained on wakeup */
  art_async_t *async_stack_;        /* atomic: async handles sent, LIFO */
  struct art__queue async_ready_;   /* async handles popped, to dispatch */
  art__wake_source_t async_source_; /* the async handles' wake source */
  /* Per-area state, registered by each area on first use (src/loop.c). */
  struct art__ext_entry *exts_;
  unsigned nexts_;
  /* Immediates (src/immediate.c): the FIFO of pending ones, and how many of
   * them are referenced. Taken from reserved_, so the size is unchanged. */
  struct art__queue immediates_;
  unsigned immediate_refs_;
  /* The manual clock (ART_LOOP_MANUAL_CLOCK, src/loop.c): whether it is
   * on, and its time in ns. Taken from reserved_: the size is unchanged. */
  int manual_clock_;
  uint64_t manual_ns_;
  /* Per-phase histograms (src/metrics.c): ART_PHASE_NONE of them, made when
   * ART_LOOP_MEASURE_PHASES is first turned on. From reserved_. */
  struct art_histogram_s *phase_hists_;
  /* The observer (src/observe.c): what is on (ART__OBS_*, in the padding
   * after immediate_refs_), the current async context, the last id handed
   * out and the state of hooks and slow-callback reports. */
  unsigned observe_;
  void *context_;
  uint64_t last_id_;
  struct art__observer *observer_;
  /* The read pool's shape (ART_LOOP_READ_BUFFERS, ART_LOOP_READ_BUFFER_SIZE;
   * 0: the backend's default), handed to every backend state the loop
   * makes (src/io.c). From reserved_: the size is unchanged. */
  uint32_t read_buffers_;
  uint32_t read_buffer_size_;
  void *reserved_[1];
};

struct art__handle_ops;

/* A user of a handle from outside the handle's type (a pipeline on a
 * stream), told when the handle closes; see src/internal.h. */
typedef struct art__attach_s art__attach_t;
struct art__attach_s {
  art__attach_t *next;
  const struct art__attach_ops *ops;
};

/* Fields every handle starts with: the user's data, the read-only loop and
 * type, then the private block (ART_HANDLE_PRIVATE_FIELDS). A type's own
 * public fields follow the block, so the block's size is part of the ABI:
 * it grows into reserved_, never past it (docs/design.md, "ABI and
 * versioning"). */
#define ART_HANDLE_FIELDS                                                      \
  void *data;                                                                  \
  art_loop_t *loop;                                                            \
  art_handle_type type;                                                        \
  ART_HANDLE_PRIVATE_FIELDS

#define ART_HANDLE_PRIVATE_FIELDS                                              \
  unsigned flags_;                                                             \
  const struct art__handle_ops *ops_; /* the type's table, src/internal.h */   \
  art_close_cb close_cb_;                                                      \
  struct art__queue handle_node_; /* on loop->handles_, then ->closing_ */     \
  art__attach_t *attached_; /* users of the handle, told when it closes */     \
  art__res_t res_;          /* id and context, src/observe.c */                \
  uint64_t born_ns_;        /* the loop's cached time at init: its age */

struct art_handle_s {
  ART_HANDLE_FIELDS
};

/* Fields every request starts with, in the order of a handle's: the user's
 * data, the read-only loop and type, then a private block of fixed size (it
 * took the room reserved for it), so a request's own public fields never
 * move. */
#define ART_REQ_FIELDS                                                         \
  void *data;                                                                  \
  art_loop_t *loop;                                                            \
  art_req_type type;                                                           \
  ART_REQ_PRIVATE_FIELDS

#define ART_REQ_PRIVATE_FIELDS art__res_t res_; /* src/observe.c */

struct art_req_s {
  ART_REQ_FIELDS
};

/* An I/O callback deferred to the next pending phase. */
typedef struct art__pending_s {
  struct art__queue node;
  void (*cb)(struct art__pending_s *p);
} art__pending_t;

/* ------------------------------------------------------------------------ */
/* The loop.                                                                */

/* Initialises a loop: its backend (epoll; poll(2) when the environment says
 * ART_BACKEND=poll; io_uring with ART_BACKEND=io_uring, or epoll, quietly,
 * where the kernel refuses a ring) and its wakeup fd. Returns ART_EINVAL for
 * NULL, ART_ENOMEM, or the error of the system call that failed. */
ART_EXTERN int art_loop_init(art_loop_t *loop);

/* Releases what the loop allocated. Returns ART_EBUSY, changing nothing, while
 * any handle is open or request in flight; memory owned by the user is never
 * freed. */
ART_EXTERN int art_loop_close(art_loop_t *loop);

/* The process-wide default loop, created on first call (NULL if that fails).
 * art_loop_close on it releases it; a later call makes a new one. */
ART_EXTERN art_loop_t *art_default_loop(void);

/* Runs the loop. ART_RUN_DEFAULT returns when no active referenced handle or
 * request remains (0) or after art_stop (1 if something is still alive);
 * ART_RUN_ONCE and ART_RUN_NOWAIT run one iteration and return 1 if more
 * work remains, else 0. Never negative, so `while (art_run(loop,
 * ART_RUN_ONCE))` cannot spin on a mistake: it runs nothing and returns 0
 * for NULL, a loop not initialised or already closed, an unknown mode, or
 * a call from inside a callback of the same loop. */
ART_EXTERN int art_run(art_loop_t *loop, art_run_mode mode);

/* Makes art_run return after the current iteration. */
ART_EXTERN void art_stop(art_loop_t *loop);

/* Non-zero if active referenced handles, requests, closing handles or
 * referenced pending immediates remain (what keeps ART_RUN_DEFAULT going). */
ART_EXTERN int art_loop_alive(const art_loop_t *loop);

/* The loop's cached time in ms, updated at the start of every iteration and
 * when the poll phase returns from a blocking wait (before its I/O
 * callbacks); art_update_time refreshes it now (after a long callback,
 * before starting a timer that should count from the present). Both read
 * the loop's clock: the manual one under ART_LOOP_MANUAL_CLOCK. */
ART_EXTERN uint64_t art_now(const art_loop_t *loop);
ART_EXTERN void art_update_time(art_loop_t *loop);

/* Monotonic time in ns, arbitrary origin. Always the real clock, also for
 * a loop with a manual clock: it belongs to the process, not to a loop. */
ART_EXTERN uint64_t art_hrtime(void);

/* The loop's clock now, in ns: art_hrtime(), or the manual clock's time
 * under ART_LOOP_MANUAL_CLOCK. Not the cached time (art_now). 0 for NULL
 * or a loop not initialised. */
ART_EXTERN uint64_t art_loop_clock_ns(const art_loop_t *loop);

/* Moves a loop's manual clock forward by ns (saturating). It runs nothing:
 * the timers now due run in the next iteration's timers phase (run the
 * loop, with ART_RUN_NOWAIT for exactly one iteration). Called outside
 * art_run it also refreshes the cached time, as art_update_time would, so
 * art_now and a timer started next count from the advanced time; from a
 * callback it leaves the cached time alone, like any time that passes
 * during a callback. ART_EINVAL for NULL, a loop not initialised, or a
 * loop without ART_LOOP_MANUAL_CLOCK. Loop thread only. */
ART_EXTERN int art_loop_advance(art_loop_t *loop, uint64_t ns);

/* Embedding: an fd that becomes readable when the loop has I/O to process,
 * and the ms until it must run for timers (-1: none, 0: now). A program with
 * its own main loop polls the fd with that timeout, then calls
 * art_run(loop, ART_RUN_NOWAIT). The timeout is also 0 while fd watchers
 * changed since the loop last ran (the fd cannot report them yet). The
 * poll(2) backend has no such fd and returns ART_ENOTSUP. */
ART_EXTERN int art_backend_fd(const art_loop_t *loop);
ART_EXTERN int art_backend_timeout(const art_loop_t *loop);

/* The name of the backend in use: "epoll", "poll" or "io_uring". */
ART_EXTERN const char *art_backend_name(const art_loop_t *loop);

/* Copies the loop's counters and stamps m->sample_ns. Always on and free:
 * iterations, events, idle time, timer lag (how late timer callbacks ran,
 * measured against the loop's cached ms clock). Per-phase times need
 * ART_LOOP_MEASURE_PHASES. ART_EINVAL for NULL. */
ART_EXTERN int art_loop_metrics(const art_loop_t *loop, art_loop_metrics_t *m);

/* Event-loop utilisation between two samples of art_loop_metrics (prev NULL:
 * since the loop was initialised): the share of wall time not spent blocked
 * in the poll phase, from 0 (always waiting) to 1 (never waiting), as Node's
 * performance.eventLoopUtilization(). Stores it in *out. ART_EINVAL for NULL
 * cur or out, or if cur was not sampled after prev. */
ART_EXTERN int art_loop_utilization(const art_loop_metrics_t *prev,
                                    const art_loop_metrics_t *cur, double *out);

/* Loop options for art_loop_configure. */
typedef enum {
  /* value 1: measure the time of every phase into phase_time_ns and into
   * the phase histograms (one clock read per phase boundary, six per
   * iteration, and one histogram record per phase); the first time, the
   * histograms are allocated (7 x 5 KB; ART_ENOMEM if they cannot be).
   * 0: stop measuring (the default: the loop then pays one predictable
   * branch per phase). */
  ART_LOOP_MEASURE_PHASES = 1,
  /* value 1: the loop's time moves only when the program moves it
   * (art_loop_advance), or when the poll phase would block and a timer is
   * pending: it then polls without waiting and, if no I/O is ready, sets
   * the clock to the next timer's deadline instead of sleeping (docs/loop.md,
   * "Manual clock"). For tests of timeouts that must neither sleep nor
   * depend on the machine's speed. The clock starts at the real clock's
   * time rounded up to a whole ms, so timers started before keep their
   * deadlines. It cannot be
   * turned off (value 0 on a loop that has it: ART_EINVAL), since the
   * loop's time would jump back to the real clock's. art_hrtime and the
   * idle and phase times of art_loop_metrics stay on the real clock; timer
   * lag is measured on the manual one. */
  ART_LOOP_MANUAL_CLOCK = 2,
  /* value an art_backend_kind: the loop moves to that backend, with every
   * fd it watches (art_backend_fd and art_backend_name change). Where the
   * kernel refuses io_uring the loop gets epoll, quietly. ART_EBUSY inside
   * art_run, and while fs requests run in the loop's io_uring or streams
   * read or write in it; the error
   * of the new backend's set-up (the loop then keeps its backend). */
  ART_LOOP_BACKEND = 3,
  /* io_uring only (other backends take the values and ignore them): TCP
   * and Unix-socket streams receive into a pool of buffers the loop owns,
   * which the kernel fills only when bytes come, so that idle connections
   * hold no memory; the bytes are then copied into the buffers alloc_cb
   * gives. The pool is made on the first read: count buffers (a power of
   * two, 1 to 32768; default 128) of size bytes each (512 to 1 MiB;
   * default 16384). Set them before the loop's first read: ART_EBUSY once
   * the pool is made, ART_EINVAL out of range. The loop keeps them for a
   * backend it moves to later (ART_LOOP_BACKEND, art_loop_fork). A stream
   * whose reads find the pool empty waits for a buffer to come back, it
   * loses nothing. */
  ART_LOOP_READ_BUFFERS = 4,
  ART_LOOP_READ_BUFFER_SIZE = 5
} art_loop_option;

/* Values of ART_LOOP_BACKEND. */
typedef enum {
  ART_BACKEND_DEFAULT = 0, /* what the environment's ART_BACKEND names */
  ART_BACKEND_EPOLL = 1,
  ART_BACKEND_POLL = 2,    /* poll(2): portable, no backend fd */
  ART_BACKEND_IO_URING = 3 /* epoll where the kernel refuses a ring */
} art_backend_kind;

/* Sets a loop option. ART_EINVAL for NULL, an unknown option or a value out
 * of range. May be called at any time, also from callbacks. */
ART_EXTERN int art_loop_configure(art_loop_t *loop, art_loop_option option,
                                  long value);

/* Makes a loop usable in the child after fork(2), as uv_loop_fork does. Call
 * it in the child, outside art_run, before anything else on the loop. The
 * kernel objects the loop shares with the parent are replaced, never
 * changed (an epoll set is shared across fork, so a removal in the child
 * would silence the parent): a new backend, eventfd, signal pipe and
 * inotify instance, with every started watcher, timer, listener and file
 * watch still started. Signals sent to the child reach the child's
 * watchers only. The work pools' threads stay in the parent: a pool is
 * started again in the child on first use, and work that was queued or
 * running at the fork completes in the child with ART_ECANCELED (in the
 * parent it runs as usual), as do fs requests in the loop's io_uring.
 * Process handles of the parent's children are stopped in the child (they
 * are not its children: no exit callback will run there; close them).
 * Only the thread that forked exists in the child, so loops of other
 * threads must not be used there. ART_EINVAL for NULL,
 * a loop not initialised or one running; else 0 or the error of the system
 * call that failed (the loop is then only fit to be closed). */
ART_EXTERN int art_loop_fork(art_loop_t *loop);

struct art_histogram_s;

/* The histogram of one phase's time per iteration, in ns (asyncrt/
 * histogram.h): recorded at the end of every phase while
 * ART_LOOP_MEASURE_PHASES is on (ART_PHASE_MICROTASKS: one value per drain
 * of the microtask queues). NULL until the option was first turned on, and
 * for NULL loops or a phase out of range. Owned by the loop and valid
 * until it closes; recorded and read on the loop's thread; the program may
 * art_histogram_reset it. */
ART_EXTERN struct art_histogram_s *
art_loop_phase_histogram(const art_loop_t *loop, art_phase phase);

/* Starts the event-loop delay monitor (Node's monitorEventLoopDelay): an
 * internal timer, unreferenced so that it never keeps the loop alive,
 * fires every resolution_ms and records into h how late it ran, in ns
 * (the time between its deadline and its callback: what a callback
 * blocking the loop, or a long poll-phase batch, costs every timer).
 * Started again, it takes the new resolution and histogram. h belongs to
 * the program and must stay valid until art_loop_monitor_delay_stop or
 * art_loop_close. ART_EINVAL for NULL loop or h or a resolution of 0,
 * ART_ENOMEM on the first start if the monitor cannot be allocated. */
ART_EXTERN int art_loop_monitor_delay(art_loop_t *loop, uint64_t resolution_ms,
                                      struct art_histogram_s *h);

/* Stops the delay monitor; the histogram keeps what it recorded. 0 also if
 * it was not started. ART_EINVAL for NULL. */
ART_EXTERN int art_loop_monitor_delay_stop(art_loop_t *loop);

/* The phase the loop is running now (ART_PHASE_NONE outside art_run). */
ART_EXTERN art_phase art_loop_phase(const art_loop_t *loop);

/* ------------------------------------------------------------------------ */
/* Handles: the lifecycle shared by every type.                             */

/* Stops the handle and releases its resources; close_cb (may be NULL) runs in
 * the close phase of the current iteration, after which the handle's memory
 * may be reused, even from inside close_cb. ART_EINVAL for NULL or a handle
 * already closing or closed.
 *
 * After art_close, every start function of the handle's type returns
 * ART_EINVAL, and every stop function returns 0 and does nothing (the
 * handle is stopped already): a stop is idempotent, as in libuv, whatever
 * state the handle is in. */
ART_EXTERN int art_close(art_handle_t *handle, art_close_cb close_cb);

/* Non-zero if the handle is active (started and not stopped), or if it is
 * closing (art_close called, close callback not yet run). 0 for NULL. */
ART_EXTERN int art_is_active(const art_handle_t *handle);
ART_EXTERN int art_is_closing(const art_handle_t *handle);

/* The fd under a handle (a socket, a pipe, a tty, a poll handle's fd), as
 * uv_fileno: 0 and *fd, ART_EINVAL for NULL or a handle type that has none
 * (timers, idle...), ART_EBADF for one that has none now (not opened yet,
 * closing or closed). The fd stays the handle's: do not close it. */
ART_EXTERN int art_fileno(const art_handle_t *handle, int *fd);

/* A referenced active handle keeps ART_RUN_DEFAULT running; an unreferenced
 * one does not. Handles start referenced. Both are idempotent; art_has_ref
 * gives non-zero for a referenced handle. */
ART_EXTERN void art_ref(art_handle_t *handle);
ART_EXTERN void art_unref(art_handle_t *handle);
ART_EXTERN int art_has_ref(const art_handle_t *handle);

/* Calls cb for every open handle of the loop, in the order they were
 * initialised, then for the closing ones, in the order they were closed.
 * The callback must not close handles other than the one it is given. */
ART_EXTERN void art_walk(art_loop_t *loop, art_walk_cb cb, void *arg);

/* "timer", "tcp", ... for a handle type; "unknown" otherwise. */
ART_EXTERN const char *art_handle_type_name(art_handle_type type);

/* "write", "fs", ... for a request type; "unknown" otherwise. */
ART_EXTERN const char *art_req_type_name(art_req_type type);

/* Prints one line per open handle: type, [A]ctive, [R]ef, [C]losing,
 * address. For debugging leaks of handles. */
ART_EXTERN void art_print_handles(art_loop_t *loop, FILE *stream);

/* Size in bytes of a handle type, for bindings; 0 for ART_HANDLE, ART_STREAM,
 * ART_FILE and values that name no handle type. (Request sizes are
 * sizeof(art_fs_t) and so on: no function gives them.) */
ART_EXTERN size_t art_handle_size(art_handle_type type);

/* ------------------------------------------------------------------------ */
/* Timers: min-heap ordered by (deadline, start order).                     */

struct art_timer_s {
  ART_HANDLE_FIELDS
  /* private */
  art_timer_cb cb_;
  uint64_t due_;     /* absolute ns */
  uint64_t seq_;     /* start order, breaks ties between equal deadlines */
  uint64_t repeat_;  /* ns, 0 = one-shot */
  uint64_t timeout_; /* the last start's timeout, ns, for art_timer_refresh */
  uint32_t slot_;    /* its slot; loop->timer_pos_[slot_] finds its entry */
  uint32_t deferred_next_; /* 1 + slot of the next deferred timer, 0: none */
};

/* Initialises a timer. Reserves its heap slot, so starting and stopping
 * never allocate; ART_ENOMEM if that reservation fails. */
ART_EXTERN int art_timer_init(art_loop_t *loop, art_timer_t *timer);

/* Starts (or restarts) the timer: cb runs timeout ms from the loop's cached
 * now, then every repeat ms (0: once). Timers due at the same time run in
 * start order. A repeating timer is rescheduled from its due time, not from
 * when its callback returned. A timer started from a timer callback runs in
 * the next iteration at the earliest. A timeout too large to add to now
 * saturates (the timer never fires). ART_EINVAL for NULL, a NULL cb, or a
 * handle that is not an open timer. Never allocates. */
ART_EXTERN int art_timer_start(art_timer_t *timer, art_timer_cb cb,
                               uint64_t timeout, uint64_t repeat);

/* Starts (or restarts) a precise timer: cb runs timeout_ns ns after this
 * call (counted from the clock read now, not from the cached time), then
 * every repeat_ns ns (0: once), each run counted from the previous
 * deadline as art_timer_start's. The poll phase waits with ns resolution
 * (epoll_pwait2 or ppoll; Linux before 5.11 rounds the wait up to whole
 * ms), so the callback never runs before the deadline and, on an idle
 * loop, a few tens of us after it. Same rules and errors otherwise. */
ART_EXTERN int art_timer_start_ns(art_timer_t *timer, art_timer_cb cb,
                                  uint64_t timeout_ns, uint64_t repeat_ns);

/* Starts (or restarts) the timer by Node's rules: setTimeout(cb, delay)
 * with interval 0, setInterval(cb, delay) otherwise. The delay counts from
 * this call in whole ms (the clock is read; the cached time art_now does
 * not move), and a delay below 1 or above 2147483647 ms means 1 ms. An
 * interval is re-armed after its callback returns, delay ms after the
 * callback began, unless the callback stopped or restarted it; a timer
 * that the callback started with the same deadline therefore runs first.
 * Same errors as art_timer_start. Never allocates. */
ART_EXTERN int art_timer_start_node(art_timer_t *timer, art_timer_cb cb,
                                    uint64_t delay, int interval);

/* Node's timeout.refresh(): starts the timer again, whether it is running,
 * has run or was stopped, with the timeout and repeat of the start call
 * that last started it (art_timer_start_ns and art_timer_start_node count
 * from now, art_timer_start from the cached time). ART_EINVAL if it was
 * never started or is closed. Never allocates. */
ART_EXTERN int art_timer_refresh(art_timer_t *timer);

/* Stops the timer; its callback will not run until it is started again.
 * Stopping a stopped, closing or closed timer is a no-op that returns 0.
 * ART_EINVAL for NULL or a non-timer.
 * Never allocates. */
ART_EXTERN int art_timer_stop(art_timer_t *timer);

/* Restarts a repeating timer with its repeat as timeout (counted as its
 * start function counts); stops a one-shot timer. ART_EINVAL if the timer
 * was never started or is closed. */
ART_EXTERN int art_timer_again(art_timer_t *timer);

/* The repeat interval in ms (0: one-shot; a repeat_ns is rounded down).
 * Setting it affects the next rescheduling, not the pending deadline. NULL
 * is ignored / gives 0. */
ART_EXTERN void art_timer_set_repeat(art_timer_t *timer, uint64_t repeat);
ART_EXTERN uint64_t art_timer_get_repeat(const art_timer_t *timer);

/* ms until the timer is due, from the cached time, rounded up (0 if due
 * or not active). */
ART_EXTERN uint64_t art_timer_get_due_in(const art_timer_t *timer);

/* ------------------------------------------------------------------------ */
/* Idle, prepare and check handles: callbacks at fixed points of every      */
/* iteration, in the order the handles were started. An active idle handle  */
/* makes the poll phase not block. Check is Node's setImmediate phase (the  */
/* immediates below run there first).                                       */
/* art_<name>_init/start/stop return 0, or ART_EINVAL for NULL, a NULL cb,  */
/* or a handle of another type; start also for a closing or closed handle   */
/* or loop. Starting a started handle only replaces its cb; stopping a      */
/* stopped, closing or closed one is a no-op. The caller owns the memory.   */

#define ART__PHASE_HANDLE(name)                                                \
  struct art_##name##_s {                                                      \
    ART_HANDLE_FIELDS                                                          \
    art_##name##_cb cb_;                                                       \
    struct art__queue queue_;                                                  \
  };                                                                           \
  ART_EXTERN int art_##name##_init(art_loop_t *loop, art_##name##_t *h);       \
  ART_EXTERN int art_##name##_start(art_##name##_t *h, art_##name##_cb cb);    \
  ART_EXTERN int art_##name##_stop(art_##name##_t *h);

ART__PHASE_HANDLE(idle)
ART__PHASE_HANDLE(prepare)
ART__PHASE_HANDLE(check)

/* ------------------------------------------------------------------------ */
/* Immediates: Node's setImmediate and clearImmediate.                      */

/* A request the caller owns: nothing to init or close. Started, it waits in
 * the loop's FIFO; its callback runs once, in the check phase, before the
 * check handles (as Node's immediates run from a check handle it starts
 * before any other). The phase runs the immediates pending when it begins,
 * in start order, with ticks and microtasks drained after each one; an
 * immediate started meanwhile waits for the next iteration's check phase.
 * A referenced pending immediate keeps ART_RUN_DEFAULT running and the poll
 * phase from blocking; an unreferenced one does neither, and runs only if
 * the loop gets to a check phase for another reason. From the moment its
 * callback starts the immediate is the caller's again: it may be started
 * again (next iteration) or freed. Loop thread only. */
struct art_immediate_s {
  ART_REQ_FIELDS
  /* private */
  art_immediate_cb cb_;
  struct art__queue node_; /* on loop->immediates_ or the phase's list */
  unsigned flags_;         /* pending, referenced: see src/immediate.c */
  unsigned stamp_;         /* tells a pending immediate from stale memory */
};

/* setImmediate: queues cb(immediate) for the check phase, referenced.
 * O(1), never allocates. ART_EINVAL for a NULL or closed loop, a NULL
 * immediate or cb; ART_EBUSY, changing nothing, if the immediate is
 * pending already. */
ART_EXTERN int art_immediate_start(art_loop_t *loop, art_immediate_t *immediate,
                                   art_immediate_cb cb);

/* clearImmediate: the callback will not run. O(1). 0, also for an
 * immediate that is not pending (ran, cleared, or never started: its
 * memory need not be initialised, since a pending immediate carries a
 * 32-bit stamp derived from its address that stale bytes match with
 * probability 2^-32); ART_EINVAL for NULL. May be called from
 * any callback, an earlier immediate of the same check phase included. */
ART_EXTERN int art_immediate_clear(art_immediate_t *immediate);

/* immediate.ref(), .unref(), .hasRef(): whether the pending immediate keeps
 * the loop alive. Both are idempotent and do nothing to an immediate that is
 * not pending (a start makes it referenced again); art_immediate_has_ref
 * gives 1 for a pending referenced immediate, else 0 (NULL included). */
ART_EXTERN void art_immediate_ref(art_immediate_t *immediate);
ART_EXTERN void art_immediate_unref(art_immediate_t *immediate);
ART_EXTERN int art_immediate_has_ref(const art_immediate_t *immediate);

/* ------------------------------------------------------------------------ */
/* Microtasks: Node's process.nextTick and promise jobs.                    */

/* Queue cb(loop, arg) to run after the current callback returns (or, outside
 * art_run, at the start of the next art_run). After every callback it
 * invokes, the loop runs the whole tick queue, then the whole microtask
 * queue, and repeats while either is non-empty. ART_ENOMEM only when the
 * queue must grow and cannot. */
ART_EXTERN int art_next_tick(art_loop_t *loop, art_microtask_cb cb, void *arg);
ART_EXTERN int art_queue_microtask(art_loop_t *loop, art_microtask_cb cb,
                                   void *arg);

/* ------------------------------------------------------------------------ */
/* fd watchers: any fd, for embedding other libraries in the loop.          */

enum {
  ART_READABLE = 1,
  ART_WRITABLE = 2,
  ART_DISCONNECT = 4,
  ART_PRIORITIZED = 8
};

struct art_poll_s {
  ART_HANDLE_FIELDS
  art_poll_cb cb_;
  art__io_t io_;
};

/* Watches fd (the caller keeps owning it; art_close does not close it).
 * ART_EBADF for a negative or closed fd, ART_EEXIST if the loop already
 * watches the fd, ART_EPERM for regular files under epoll. */
ART_EXTERN int art_poll_init(art_loop_t *loop, art_poll_t *p, int fd);

/* Starts watching for events (ART_READABLE | ...); calling it again changes
 * the mask. cb gets status 0 and the events that fired, or a negative status
 * (ART_EBADF) if the fd went bad. */
ART_EXTERN int art_poll_start(art_poll_t *p, int events, art_poll_cb cb);

/* Stops watching (the fd stays open and the caller's). 0, also for a handle
 * not watching, closing or closed; ART_EINVAL for NULL or a non-poll. */
ART_EXTERN int art_poll_stop(art_poll_t *p);

/* ------------------------------------------------------------------------ */
/* Async handles: wake a loop from any thread.                              */

struct art_async_s {
  ART_HANDLE_FIELDS
  art_async_cb cb_;
  int pending_;               /* atomic state, see src/async.c */
  art_async_t *next_pending_; /* link on loop->async_stack_ */
  struct art__queue ready_;   /* link on loop->async_ready_ */
};

/* Initialises and starts an async handle (active until closed). */
ART_EXTERN int art_async_init(art_loop_t *loop, art_async_t *async,
                              art_async_cb cb);

/* Makes cb run once in the loop's poll phase. Thread-safe and
 * async-signal-safe; sends before the callback runs coalesce into one call.
 * Must not be called after the handle's close callback has run. */
ART_EXTERN int art_async_send(art_async_t *async);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCRT_CORE_H */
