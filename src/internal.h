/* The core's internal interface: what the areas (src/pool, src/fs, src/net,
 * src/process) may use of the loop. Handle lifecycle and type tables,
 * attachments, requests, the one callback path, the per-loop extension
 * registry, fd watchers, wakeups, timers and metrics. Nothing declared here
 * is exported from the shared library, and nothing here names an area:
 * areas plug in through the tables and registries below. */
#ifndef ART_INTERNAL_H
#define ART_INTERNAL_H

#include <stdint.h>

#include "backend/backend.h"
#include "base.h"

/* Handle flags (handle->flags_). */
enum {
  ART__H_ACTIVE = 1u << 0,  /* started: counts toward liveness if REF */
  ART__H_REF = 1u << 1,     /* referenced */
  ART__H_CLOSING = 1u << 2, /* art_close called, close_cb not yet run */
  ART__H_CLOSED = 1u << 3,  /* close_cb has run */
  ART__H_INTERNAL = 1u << 4,
  ART__H_PARKED = 1u << 5, /* closing, waiting for the kernel (handle.c) */
  /* Bits from 8 up belong to the handle type. */
  ART__H_TYPE_SHIFT = 8
};

/* art_loop_init with a backend of the caller's choice (the contract's
 * tests run the core over a backend of their own). */
int art__loop_init_with(art_loop_t *loop,
                        const art__backend_ops_t *backend) ART__HIDDEN;

/* ---- Handle types (src/handle.c). ----
 * Each type's file defines one table and passes it to art__handle_init; the
 * core calls a type only through its table, so adding a type touches no
 * core file. Tables may be larger structs that start with this one (the
 * stream types add their own operations). */
typedef struct art__handle_ops {
  art_handle_type type;
  const char *name;                 /* art_handle_type_name's answer */
  size_t size;                      /* sizeof the public handle struct */
  void (*close)(art_handle_t *h);   /* stop everything; runs in art_close */
  void (*endgame)(art_handle_t *h); /* last step in the close phase, or NULL */
  /* The fd behind the handle (art_fileno, IPC passing), or NULL: none. */
  int (*fd)(const art_handle_t *h);
  /* Closing handles only, or NULL: 1 while the kernel still has
   * operations of the handle (a send from the user's buffers). The close
   * phase then parks the handle until the type calls
   * art__handle_unpark, so that no operation outlives the close callback
   * and no buffer is handed back while the kernel may still touch it. */
  int (*busy)(const art_handle_t *h);
} art__handle_ops_t;

/* Declares a type's table, art__<name>_ops, before its file uses it. */
#define ART__DECLARE_HANDLE_OPS(name)                                          \
  extern const art__handle_ops_t art__##name##_ops ART__HIDDEN

void art__handle_init(art_loop_t *loop, art_handle_t *h,
                      const art__handle_ops_t *ops) ART__HIDDEN;
void art__run_closing(art_loop_t *loop) ART__HIDDEN;
/* The type's operations of a closing handle are over (ops->busy is 0 now):
 * a handle the close phase parked finishes in the next one. */
void art__handle_unpark(art_handle_t *h) ART__HIDDEN;
/* The fd behind an open handle (what IPC can pass), or -1. */
int art__handle_fd(const art_handle_t *h) ART__HIDDEN;
/* The delay monitor's histogram while it runs, else NULL
 * (src/loop_delay.c). */
struct art_histogram_s *
art__loop_delay_histogram(const art_loop_t *loop) ART__HIDDEN;

static inline void art__handle_start(art_handle_t *h) {
  if (h->flags_ & ART__H_ACTIVE)
    return;
  h->flags_ |= ART__H_ACTIVE;
  if (h->flags_ & ART__H_REF)
    h->loop->active_handles_++;
}

/* A start function called by the program: the handle's callbacks run with
 * the context current now (include/asyncrt/observe.h). Not in
 * art__handle_start, which also re-arms from inside the loop. */
static inline void art__handle_capture(art_handle_t *h) {
  h->res_.context_ = h->loop->context_;
}

static inline void art__handle_stop(art_handle_t *h) {
  if (!(h->flags_ & ART__H_ACTIVE))
    return;
  h->flags_ &= ~ART__H_ACTIVE;
  if (h->flags_ & ART__H_REF)
    h->loop->active_handles_--;
}

/* True for a loop that was initialised and not closed since. */
static inline int art__loop_usable(const art_loop_t *loop) {
  return loop != NULL && loop->backend_ != NULL;
}

/* True for a handle art_*_init made of the given type, closing, closed or
 * not: a closed handle keeps its loop and type until its memory is reused.
 * A stop function checks this, then returns 0 and does nothing for a handle
 * that is not usable, since art_close stopped it (docs/design.md,
 * section 3); a start function refuses such a handle with ART_EINVAL. */
static inline int art__handle_is(const art_handle_t *h, art_handle_type type) {
  return h != NULL && h->loop != NULL && h->type == type;
}

/* True for a handle that may still be used: not closing, not closed. */
static inline int art__handle_usable(const art_handle_t *h) {
  return h != NULL && h->loop != NULL &&
         !(h->flags_ & (ART__H_CLOSING | ART__H_CLOSED));
}

/* ---- Attachments (src/handle.c). ----
 * Something built on a handle from outside its type (a pipeline on a
 * stream) attaches a node (art__attach_t, include/asyncrt.h) to it; the
 * close phase tells every attachment, so the handle's type need not know
 * who uses it. The node lives in the user of
 * the handle: attaching allocates nothing. */
typedef struct art__attach_ops {
  /* The handle is closing: called in the close phase, before the type's
   * endgame completes its requests and before the close callback. The
   * attachment is already detached, so the hook may free it. */
  void (*closing)(art__attach_t *a, art_handle_t *h);
} art__attach_ops_t;

void art__attach(art_handle_t *h, art__attach_t *a,
                 const art__attach_ops_t *ops) ART__HIDDEN;
void art__detach(art_handle_t *h, art__attach_t *a) ART__HIDDEN;
/* The first attachment of h with these ops, or NULL. */
art__attach_t *art__attached(const art_handle_t *h,
                             const art__attach_ops_t *ops) ART__HIDDEN;

/* ---- The observer (src/observe.c). ----
 * Every handle, request and queued task gets an id and captures the async
 * context when it is created (a handle also when it is started); hooks and
 * slow-callback reports are behind loop->observe_, so a loop without them
 * pays one predictable branch per callback and per creation. */
enum {
  ART__OBS_HOOKS = 1u << 0,   /* art_loop_set_hooks: ids tracked, hooks run */
  ART__OBS_SLOW = 1u << 1,    /* art_loop_set_slow_callback: callbacks timed */
  ART__OBS_CONTEXT = 1u << 2, /* art_context_set was called: contexts swap */
  ART__OBS_ON = 1u << 3,      /* any of them was ever on: the path observes */
  ART__OBS_HIST = 1u << 4,    /* art_loop_set_callback_histogram: timed */
  ART__OBS_TIMED = ART__OBS_SLOW | ART__OBS_HIST, /* two clock reads a call */
  /* Not the observer's: a tick or microtask is queued (src/microtask.c),
   * so the check after a callback has a drain to run. It shares the word
   * so that the check is one load and one branch for both. */
  ART__OBS_TASKS = 1u << 5
};

void art__res_init_slow(art_loop_t *loop, art__res_t *r, int kind, int type,
                        const void *resource) ART__HIDDEN;
void art__res_destroy_slow(art_loop_t *loop, uint64_t id) ART__HIDDEN;
void art__callback_enter(art_loop_t *loop, const art__res_t *r, int kind,
                         int type, void (*fn)(void)) ART__HIDDEN;
void art__callback_leave(art_loop_t *loop) ART__HIDDEN;
/* The histogram art_loop_set_callback_histogram set, or NULL (for the
 * diagnostic report). */
art_histogram_t *art__callback_histogram(const art_loop_t *loop) ART__HIDDEN;

/* A resource is created: while the loop has an observer, a fresh id, the
 * context of now and the init hook; else no id (0) and no context. */
static inline void art__res_init(art_loop_t *loop, art__res_t *r, int kind,
                                 int type, const void *resource) {
  if (__builtin_expect(loop->observe_ & ART__OBS_ON, 0)) {
    art__res_init_slow(loop, r, kind, type, resource);
  } else {
    r->id_ = 0;
    r->context_ = NULL;
  }
}

/* A resource is gone without a last callback (an immediate cleared, a
 * request whose callback is NULL, a handle after its close phase). */
static inline void art__res_destroy(art_loop_t *loop, uint64_t id) {
  if (__builtin_expect(loop->observe_ & ART__OBS_HOOKS, 0))
    art__res_destroy_slow(loop, id);
}

/* ---- Requests: every request registers and unregisters here. ---- */
static inline void art__req_register(art_loop_t *loop, art_req_t *r,
                                     art_req_type type) {
  r->type = type;
  r->loop = loop;
  loop->active_reqs_++;
  loop->reqs_by_type_[type]++;
  art__res_init(loop, &r->res_, ART_RESOURCE_REQ, (int)type, r);
}

static inline void art__req_unregister(art_loop_t *loop, art_req_type type) {
  loop->active_reqs_--;
  loop->reqs_by_type_[type]--;
}

/* ---- Pending phase. ---- */
static inline void art__pending_add(art_loop_t *loop, art__pending_t *p,
                                    void (*cb)(art__pending_t *)) {
  p->cb = cb;
  art__queue_insert_tail(&loop->pending_, &p->node);
}

/* ---- The one callback path (src/microtask.c, src/observe.c). ----
 * Every user callback the library invokes is written
 *     ART__CALLBACK(handle, fn, (args));           a handle's callback
 *     ART__REQ_CALLBACK(loop, req, fn, (args));    a request's callback
 * which runs fn(args) and then Node's rule: ticks and microtasks drain
 * after every callback. It is the single place where hooks around
 * callbacks attach (tracing, timing, async context): with none on, the
 * cost over a bare call is a load and a branch before it, and after it
 * a load and a branch over one word holding the observer's flags and
 * whether a tick or microtask is queued (the observer keeps its own stack
 * of frames, so nothing more is kept across the call and the path stays
 * small enough to inline). ART__OBS_ON
 * never clears once set, so a leave without its enter can only come from
 * an observer set up inside the callback, which the observer ignores.
 * Everything the observer needs is read before the call, because the callback
 * may free the handle or request it came from. A request's callback is its
 * last: the observer reports the request destroyed after it. Callbacks that
 * hand a value back for the library to use at once (alloc callbacks) take the
 * same path: a microtask that closes the handle is then seen by the check that
 * follows the callback anyway. */
void art__microtask_drain_slow(art_loop_t *loop) ART__HIDDEN;
void art__microtask_free(art_loop_t *loop) ART__HIDDEN;

static inline void art__callback_done(art_loop_t *loop) {
  if ((loop->ticks_.count | loop->microtasks_.count) && !loop->draining_)
    art__microtask_drain_slow(loop);
}

/* The rare side of art__callback_after: the observer's leave, then the
 * drain, in the order the two checks had when separate. Out of line and
 * cold, so that the callback path stays small at every call site; a copy
 * per file, which keeps each area's calls inside its own layer. */
__attribute__((noinline, cold, unused)) static void
art__callback_after_slow(art_loop_t *loop) {
  if (loop->observe_ & ART__OBS_ON)
    art__callback_leave(loop);
  art__callback_done(loop);
}

/* After a callback, one test covers both the observer's leave and the
 * drain (ART__OBS_TASKS): a loop with no observer and nothing queued, the
 * common case, pays one load and one branch. */
static inline void art__callback_after(art_loop_t *loop) {
  if (__builtin_expect(loop->observe_ != 0, 0))
    art__callback_after_slow(loop);
}

/* The observer's enter, when one exists: the first half of both forms
 * below. */
#define ART__CALLBACK_ENTER(cb_loop, kind, type, res, fn)                      \
  do {                                                                         \
    if (__builtin_expect((cb_loop)->observe_ & ART__OBS_ON, 0))                \
      art__callback_enter((cb_loop), (res), (kind), (int)(type),               \
                          (void (*)(void))(fn));                               \
  } while (0)

/* The call itself, with the observer around it but no drain: the drain's
 * own callbacks, for which the drain check would find draining_ set. */
#define ART__CALLBACK_BARE(loop, kind, type, res, fn, args)                    \
  do {                                                                         \
    art_loop_t *art__cb_loop_ = (loop);                                        \
    ART__CALLBACK_ENTER(art__cb_loop_, kind, type, res, fn);                   \
    (fn) args;                                                                 \
    if (__builtin_expect(art__cb_loop_->observe_ & ART__OBS_ON, 0))            \
      art__callback_leave(art__cb_loop_);                                      \
  } while (0)

#define ART__CALLBACK_OF(loop, kind, type, res, fn, args)                      \
  do {                                                                         \
    art_loop_t *art__cb_loop_ = (loop);                                        \
    ART__CALLBACK_ENTER(art__cb_loop_, kind, type, res, fn);                   \
    (fn) args;                                                                 \
    art__callback_after(art__cb_loop_);                                        \
  } while (0)

#define ART__CALLBACK(h, fn, args)                                             \
  ART__CALLBACK_OF((h)->loop, ART_RESOURCE_HANDLE, (h)->type, &(h)->res_, fn,  \
                   args)

#define ART__REQ_CALLBACK(loop, r, fn, args)                                   \
  ART__CALLBACK_OF(loop, ART_RESOURCE_REQ, (r)->type, &(r)->res_, fn, args)

/* ---- Per-loop extensions (src/loop.c). ----
 * An area that keeps state per loop (signal pipes, inotify, the pool's
 * completion channel) declares one static art__ext_t and stores its state
 * with art__ext_set on first use. art_loop_close calls each registered
 * area's close hook, the last registered first, then forgets them. */
typedef struct {
  const char *name;                                  /* for debugging */
  void (*loop_close)(art_loop_t *loop, void *state); /* frees state */
  /* In a child after fork (art_loop_fork), once the backend and the
   * wakeup are new: replaces the kernel objects the area shares with the
   * parent. NULL: the area has none. 0 or a negative ART_E* code. */
  int (*loop_fork)(art_loop_t *loop, void *state);
} art__ext_t;

/* One registered area: its extension and its state. */
struct art__ext_entry {
  const art__ext_t *ext;
  void *state;
};

/* The state ext stored on loop, or NULL. Inline: areas look their state up
 * on hot paths (a pool submission), and a loop holds a handful. */
static inline void *art__ext_get(const art_loop_t *loop,
                                 const art__ext_t *ext) {
  for (unsigned i = 0; i < loop->nexts_; i++)
    if (loop->exts_[i].ext == ext)
      return loop->exts_[i].state;
  return NULL;
}
/* Stores state (replacing any); ART_ENOMEM if the registry cannot grow. */
int art__ext_set(art_loop_t *loop, const art__ext_t *ext,
                 void *state) ART__HIDDEN;

/* ---- Time (src/loop.c). ----
 * The one clock the loop reads, in ns: the cached time, timer deadlines
 * counted from the moment of a call, and the poll timeout all come from
 * here. It is the real clock, or the manual clock the program advances
 * (ART_LOOP_MANUAL_CLOCK). Metrics stay on the real clock (art_hrtime). */
static inline uint64_t art__loop_clock_ns(const art_loop_t *loop) {
  return loop->manual_clock_ ? loop->manual_ns_ : art_hrtime();
}
/* The loop's clock given a read of the real one already made, for callers
 * that need both (idle time and the cached time after a wait). */
static inline uint64_t art__loop_clock_at(const art_loop_t *loop,
                                          uint64_t real_ns) {
  return loop->manual_clock_ ? loop->manual_ns_ : real_ns;
}
/* Stores ns as the loop's cached time (time_ns_, and time_ in ms). */
static inline void art__loop_set_time(art_loop_t *loop, uint64_t ns) {
  loop->time_ns_ = ns;
  loop->time_ = ns / 1000000u;
}

/* ---- Timers (src/timer.c). ---- */
void art__run_timers(art_loop_t *loop) ART__HIDDEN;
/* ns until the earliest timer is due: 0 if one is due, -1 if none. */
int64_t art__next_timeout(art_loop_t *loop) ART__HIDDEN;
/* The earliest deadline of a started timer (ns of the loop's clock) in
 * *due; 0 if there is one, -1 if none. */
int art__next_due(art_loop_t *loop, uint64_t *due) ART__HIDDEN;
void art__timers_free(art_loop_t *loop) ART__HIDDEN;

/* ---- Idle / prepare / check (src/phase_watchers.c). ---- */
void art__run_idle(art_loop_t *loop) ART__HIDDEN;
void art__run_prepare(art_loop_t *loop) ART__HIDDEN;
void art__run_check(art_loop_t *loop) ART__HIDDEN;

/* ---- Immediates (src/immediate.c). ---- */
/* Runs the immediates pending when the check phase began. */
void art__run_immediates(art_loop_t *loop) ART__HIDDEN;
/* True while a referenced immediate is pending: the loop is alive, and the
 * poll phase must not block (Node's idle handle for its immediates). */
static inline int art__immediates_alive(const art_loop_t *loop) {
  return loop->immediate_refs_ > 0;
}

/* ---- io watchers (src/io.c). ----
 * Owners say what they want with art__io_start/stop; the mask reaches the
 * backend lazily, once per iteration, only if it really changed. */
void art__io_init(art__io_t *w, art__io_cb cb, int fd) ART__HIDDEN;
int art__io_start(art_loop_t *loop, art__io_t *w, unsigned events) ART__HIDDEN;
void art__io_stop(art_loop_t *loop, art__io_t *w, unsigned events) ART__HIDDEN;
/* Stops w and forgets its fd at once (call before closing the fd). */
void art__io_close(art_loop_t *loop, art__io_t *w) ART__HIDDEN;
/* ART_EEXIST if the loop watches fd already, else what the backend says of
 * fd (ART_EPERM for a regular file under epoll), else 0. */
int art__io_check_fd(const art_loop_t *loop, int fd) ART__HIDDEN;
/* Hands w's queued mask change to the backend now; the backend's error. */
int art__io_sync(art_loop_t *loop, art__io_t *w) ART__HIDDEN;
/* art__io_start, then hands the change to the backend at once: for owners
 * that have no callback to report a refusal through later, so they can
 * return it. On error w is stopped. */
int art__io_start_now(art_loop_t *loop, art__io_t *w,
                      unsigned events) ART__HIDDEN;
/* Hands the backend's queued mask changes over. A change the backend
 * refuses stops its watcher and calls the owner's callback with
 * ART__IO_REFUSED and the reason in w->error; every owner turns that into
 * an error for its user. Inline for the common case of an iteration that
 * changed no mask. */
void art__io_apply_changes_slow(art_loop_t *loop) ART__HIDDEN;
static inline void art__io_apply_changes(art_loop_t *loop) {
  if (!art__queue_empty(&loop->watcher_changes_))
    art__io_apply_changes_slow(loop);
}

/* Entries of the loop's event batch: the most one wait dispatches. */
#define ART__EVENT_BATCH 1024
/* Dispatches the first n entries of the loop's event batch: ready fds to
 * their watchers, completed operations to their owners. */
void art__io_dispatch(art_loop_t *loop, int n) ART__HIDDEN;
/* A wait that may block: measured as idle time, and the cached time is
 * refreshed before anything is dispatched. */
void art__io_wait(art_loop_t *loop, int64_t timeout_ns) ART__HIDDEN;
/* A new backend state for a child after fork; every watcher registers
 * again in the next poll phase. The old state is closed without a call
 * that would change the parent's (src/io.c). */
int art__io_fork(art_loop_t *loop) ART__HIDDEN;

/* Waits in the backend up to timeout_ns and dispatches what it found. The
 * zero-timeout wait of a busy loop stays inline: one indirect call, and
 * nothing else unless the backend found something. */
static inline void art__io_poll(art_loop_t *loop, int64_t timeout_ns) {
  if (timeout_ns != 0) {
    art__io_wait(loop, timeout_ns);
    return;
  }
  int n = loop->backend_->wait(loop->backend_state_, 0,
                               (art__event_t *)loop->events_, ART__EVENT_BATCH);
  if (n > 0)
    art__io_dispatch(loop, n);
}
/* Runs op on a completion backend; ART_ENOTSUP on a readiness backend. */
int art__io_submit(art_loop_t *loop, art__op_t *op) ART__HIDDEN;
/* Asks the backend to cancel op, submitted and not yet done: op->done then
 * runs once, canceled or with its result. ART_ENOTSUP on a readiness
 * backend, ART_ENOENT for an op not in flight. */
int art__io_cancel(art_loop_t *loop, art__op_t *op) ART__HIDDEN;
/* 1 if art__io_submit would take an operation of kind with these
 * ART__OP_* flags (backend.h, supports); 0 on a readiness backend. */
int art__io_supports(art_loop_t *loop, art__op_kind kind,
                     unsigned how) ART__HIDDEN;
/* The bytes of the pool buffer a done of an ART__OP_PROVIDED op was given
 * (ART__GOT_BUFFER) and, in *size, the pool buffers' size; and giving it
 * back (before done returns). */
char *art__io_buffer(art_loop_t *loop, const art__op_t *op,
                     size_t *size) ART__HIDDEN;
void art__io_recycle(art_loop_t *loop, const art__op_t *op) ART__HIDDEN;
/* ART_LOOP_READ_BUFFERS, ART_LOOP_READ_BUFFER_SIZE (0: unchanged). */
int art__io_set_pool(art_loop_t *loop, long count, long size) ART__HIDDEN;
/* The backend's read pool, for the report; ART_ENOTSUP without one. */
int art__io_pool_stats(art_loop_t *loop, art__pool_stats_t *out) ART__HIDDEN;
/* Hands the kernel what the backend queued for its next wait; art_run
 * calls it before it returns (backend.h, flush). */
void art__io_flush(art_loop_t *loop) ART__HIDDEN;
/* Moves the loop and every fd it watches to another backend
 * (ART_LOOP_BACKEND). */
int art__io_set_backend(art_loop_t *loop, long kind) ART__HIDDEN;

/* ---- Wakeups (src/wakeup.c). ----
 * One eventfd per loop carries every cross-thread wakeup. Whatever other
 * threads hand to the loop (finished pool work, async sends) sits in a
 * queue of its own, a wake source (art__wake_source_t, include/asyncrt.h),
 * which the poll phase drains when the eventfd fires. */
int art__wakeup_init(art_loop_t *loop) ART__HIDDEN;
void art__wakeup_close(art_loop_t *loop) ART__HIDDEN;
/* A new eventfd for a child after fork, written once so that the first
 * poll phase drains every wake source. */
int art__wakeup_fork(art_loop_t *loop) ART__HIDDEN;
/* Adds src to the loop's sources (loop thread only; allocates nothing). */
void art__wake_source_add(art_loop_t *loop,
                          art__wake_source_t *src) ART__HIDDEN;
void art__wake_source_remove(art__wake_source_t *src) ART__HIDDEN;
/* Thread-safe and async-signal-safe: make the poll phase look at the
 * sources soon (src/wakeup.c: no system call while the loop runs). */
void art__loop_wake(art_loop_t *loop) ART__HIDDEN;

/* Loop thread. art_run brackets its iterations with enter and leave; the
 * poll phase waits for what before_wait returns (it may drain what was
 * posted, and then returns 0), and art__wakeup_after_wait follows a
 * blocking wait. */
void art__wakeup_enter(art_loop_t *loop) ART__HIDDEN;
void art__wakeup_leave(art_loop_t *loop) ART__HIDDEN;
int64_t art__wakeup_before_wait(art_loop_t *loop, int64_t timeout) ART__HIDDEN;

/* Bits of loop->wakeup_pending_; src/wakeup.c explains them. */
enum {
  ART__W_WRITTEN = 1, /* an eventfd write is unread */
  ART__W_AWAKE = 2,   /* the loop runs: posters need not write */
  ART__W_POSTED = 4,  /* posted since the loop last took its sources */
  ART__W_HOT = 8      /* posts came while the loop ran (loop only) */
};

static inline int art__wakeup_word(const art_loop_t *loop) {
  return __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_ACQUIRE);
}

/* True while another thread can post to the loop: only through a wake
 * source. A loop with none (no async handle, no pool work yet) skips the
 * wakeup word's atomics: AWAKE then stays clear, which costs a poster that
 * appears later one eventfd write, never a missed wakeup. */
static inline int art__wakeup_in_use(const art_loop_t *loop) {
  return !art__queue_empty(&loop->wake_sources_);
}

/* True when the poll phase must call art__wakeup_before_wait: it means to
 * block while posters may exist, or something was posted. An iteration
 * that does neither pays one load. */
static inline int art__wakeup_must_look(const art_loop_t *loop,
                                        int64_t timeout) {
  return (timeout != 0 && art__wakeup_in_use(loop)) ||
         (art__wakeup_word(loop) & ART__W_POSTED);
}

/* True while an eventfd write may be unread: a zero-timeout wait could then
 * find the eventfd readable, and must be made. */
static inline int art__wakeup_unread(const art_loop_t *loop) {
  return (art__wakeup_word(loop) & ART__W_WRITTEN) != 0;
}

/* The blocking wait is over: posters need not write any more. */
static inline void art__wakeup_after_wait(art_loop_t *loop) {
  if (art__wakeup_in_use(loop))
    __atomic_fetch_or(&loop->wakeup_pending_, ART__W_AWAKE, __ATOMIC_ACQ_REL);
}
/* A thread that may still write the loop's eventfd after the loop could
 * have finished with what it posted counts itself between these two;
 * art_loop_close waits for the count to drop. */
static inline void art__loop_hold(art_loop_t *loop) {
  __atomic_add_fetch(&loop->wakers_, 1, __ATOMIC_RELAXED);
}
static inline void art__loop_release(art_loop_t *loop) {
  __atomic_sub_fetch(&loop->wakers_, 1, __ATOMIC_RELEASE);
}

/* ---- Metrics (src/metrics.c), only while ART_LOOP_MEASURE_PHASES is on. ----
 * begin marks the start of an iteration; charge adds the time since the last
 * mark, minus microtask time, to phase p; drain_time adds ns to the
 * microtask figure. */
void art__phase_begin(art_loop_t *loop) ART__HIDDEN;
void art__phase_charge(art_loop_t *loop, int phase) ART__HIDDEN;
void art__phase_drain_time(art_loop_t *loop, uint64_t ns) ART__HIDDEN;
/* Frees the phase histograms (art_loop_close). */
void art__metrics_free(art_loop_t *loop) ART__HIDDEN;
/* Makes the phase histograms on first use: 0 or ART_ENOMEM. */
int art__metrics_make_phase_hists(art_loop_t *loop) ART__HIDDEN;

#endif
