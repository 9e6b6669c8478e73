/* Internal interfaces shared by the files of src/: handle flags, the
 * allocator, the backend contract, io watchers and the microtask drain.
 * Nothing declared here is exported from the shared library. */
#ifndef ART_INTERNAL_H
#define ART_INTERNAL_H

#include <stdint.h>

#include "asyncrt.h"
#include "queue.h"

#define ART__HIDDEN __attribute__((visibility("hidden")))

/* Handle flags (handle->flags_). */
enum {
  ART__H_ACTIVE = 1u << 0,  /* started: counts toward liveness if REF */
  ART__H_REF = 1u << 1,     /* referenced */
  ART__H_CLOSING = 1u << 2, /* art_close called, close_cb not yet run */
  ART__H_CLOSED = 1u << 3,  /* close_cb has run */
  ART__H_INTERNAL = 1u << 4,
  /* Bits from 8 up belong to the handle type. */
  ART__H_TYPE_SHIFT = 8
};

/* ---- Allocator (src/allocator.c): every allocation goes through here. ---- */
void *art__malloc(size_t size) ART__HIDDEN;
void *art__realloc(void *ptr, size_t size) ART__HIDDEN;
void *art__calloc(size_t count, size_t size) ART__HIDDEN;
void art__free(void *ptr) ART__HIDDEN;
char *art__strdup(const char *s) ART__HIDDEN;

/* ---- Handles (src/handle.c). ---- */
void art__handle_init(art_loop_t *loop, art_handle_t *h,
                      art_handle_type type) ART__HIDDEN;

static inline void art__handle_start(art_handle_t *h) {
  if (h->flags_ & ART__H_ACTIVE)
    return;
  h->flags_ |= ART__H_ACTIVE;
  if (h->flags_ & ART__H_REF)
    h->loop->active_handles_++;
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

/* True for a handle that may still be used: not closing, not closed. */
static inline int art__handle_usable(const art_handle_t *h) {
  return h != NULL && h->loop != NULL &&
         !(h->flags_ & (ART__H_CLOSING | ART__H_CLOSED));
}

void art__run_closing(art_loop_t *loop) ART__HIDDEN;

/* What art_close needs to know of a handle type. Each type's file defines
 * one, named art__<type>_ops (see handle.c). */
typedef struct {
  size_t size;                      /* sizeof the public handle struct */
  void (*close)(art_handle_t *h);   /* stop everything; runs in art_close */
  void (*endgame)(art_handle_t *h); /* last step in the close phase, or NULL */
} art__handle_ops_t;

/* ---- Requests. ---- */
static inline void art__req_register(art_loop_t *loop, art_req_t *r,
                                     art_req_type type) {
  r->type = type;
  r->loop = loop;
  loop->active_reqs_++;
}

static inline void art__req_unregister(art_loop_t *loop) {
  loop->active_reqs_--;
}

/* ---- Pending phase. ---- */
static inline void art__pending_add(art_loop_t *loop, art__pending_t *p,
                                    void (*cb)(art__pending_t *)) {
  p->cb = cb;
  art__queue_insert_tail(&loop->pending_, &p->node);
}

/* ---- Microtasks (src/microtask.c). ---- */
void art__microtask_drain_slow(art_loop_t *loop) ART__HIDDEN;
void art__microtask_free(art_loop_t *loop) ART__HIDDEN;

/* Every place that invokes a user callback calls this right after it: the
 * Node rule that ticks and microtasks run after every callback. */
static inline void art__drain(art_loop_t *loop) {
  if ((loop->ticks_.count | loop->microtasks_.count) && !loop->draining_)
    art__microtask_drain_slow(loop);
}

/* ---- Timers (src/timer.c). ---- */
void art__run_timers(art_loop_t *loop) ART__HIDDEN;
int art__next_timeout(art_loop_t *loop) ART__HIDDEN;
void art__timers_free(art_loop_t *loop) ART__HIDDEN;

/* ---- Idle / prepare / check (src/phase_watchers.c). ---- */
void art__run_idle(art_loop_t *loop) ART__HIDDEN;
void art__run_prepare(art_loop_t *loop) ART__HIDDEN;
void art__run_check(art_loop_t *loop) ART__HIDDEN;

/* ---- io watchers (src/io.c). ----
 * Owners say what they want with art__io_start/stop; the mask reaches the
 * backend lazily, once per iteration, only if it really changed. */
void art__io_init(art__io_t *w, art__io_cb cb, int fd) ART__HIDDEN;
int art__io_start(art_loop_t *loop, art__io_t *w, unsigned events) ART__HIDDEN;
void art__io_stop(art_loop_t *loop, art__io_t *w, unsigned events) ART__HIDDEN;
/* Stops w and forgets its fd at once (call before closing the fd). */
void art__io_close(art_loop_t *loop, art__io_t *w) ART__HIDDEN;
int art__io_active(const art__io_t *w, unsigned events) ART__HIDDEN;
void art__io_dispatch(art_loop_t *loop, int fd, unsigned events) ART__HIDDEN;

/* Backend event bits: the public ART_READABLE... values plus error. */
enum { ART__IO_ERROR = 16 };

/* ---- The backend contract (src/backend/). ----
 * Seven small operations over backend-private state (loop->backend_data_). */
typedef struct art__backend_ops {
  const char *name;
  int (*init)(art_loop_t *loop);
  void (*close)(art_loop_t *loop);
  /* Brings the backend in line with w->events; sets w->pevents. */
  int (*update)(art_loop_t *loop, art__io_t *w);
  /* Waits up to timeout ms (-1: forever) and dispatches with
   * art__io_dispatch. Returns the number of events dispatched. */
  int (*wait)(art_loop_t *loop, int timeout);
  /* fd is being closed: drop it from the backend and from any batch of
   * events not yet dispatched. */
  void (*invalidate_fd)(art_loop_t *loop, int fd);
  /* An fd that is readable when events wait, or ART_ENOTSUP. */
  int (*fd)(const art_loop_t *loop);
  /* ART_EPERM if the backend cannot watch fd (regular files on epoll). */
  int (*check_fd)(const art_loop_t *loop, int fd);
  /* Makes room for fd before it is first watched, so that update never has
   * to allocate and an out-of-memory error reaches the caller that
   * registered the fd. NULL when the backend keeps no per-fd memory. */
  int (*reserve)(art_loop_t *loop, int fd);
} art__backend_ops_t;

extern const art__backend_ops_t art__backend_epoll ART__HIDDEN;
extern const art__backend_ops_t art__backend_poll ART__HIDDEN;

/* ---- Wakeup, completions, async (src/async.c). ---- */
int art__wakeup_init(art_loop_t *loop) ART__HIDDEN;
void art__wakeup_close(art_loop_t *loop) ART__HIDDEN;
/* Thread-safe: queue c and wake the loop; c->cb runs in the poll phase. */
void art__loop_post(art_loop_t *loop, art__completion_t *c) ART__HIDDEN;
/* Thread-safe and async-signal-safe: make the poll phase return soon. */
void art__loop_wake(art_loop_t *loop) ART__HIDDEN;
/* Loop thread. art_run brackets its iterations with enter and leave; the
 * poll phase waits for what before_wait returns (it may run what was
 * posted, and then returns 0) and calls after_wait after a blocking wait. */
void art__wakeup_enter(art_loop_t *loop) ART__HIDDEN;
void art__wakeup_leave(art_loop_t *loop) ART__HIDDEN;
int art__wakeup_before_wait(art_loop_t *loop, int timeout) ART__HIDDEN;
void art__wakeup_after_wait(art_loop_t *loop) ART__HIDDEN;

/* Bits of loop->wakeup_pending_; src/async.c explains them. */
enum {
  ART__W_WRITTEN = 1, /* an eventfd write is unread */
  ART__W_AWAKE = 2,   /* the loop runs: posters need not write */
  ART__W_POSTED = 4,  /* posted since the loop last took its queues */
  ART__W_HOT = 8      /* posts came while the loop ran (loop only) */
};

static inline int art__wakeup_word(const art_loop_t *loop) {
  return __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_ACQUIRE);
}

/* True when the poll phase must call art__wakeup_before_wait: it means to
 * block, or something was posted. An iteration that does neither pays one
 * load. */
static inline int art__wakeup_must_look(const art_loop_t *loop, int timeout) {
  return timeout != 0 || (art__wakeup_word(loop) & ART__W_POSTED);
}

/* True while an eventfd write may be unread: a zero-timeout wait could then
 * find the eventfd readable, and must be made. */
static inline int art__wakeup_unread(const art_loop_t *loop) {
  return (art__wakeup_word(loop) & ART__W_WRITTEN) != 0;
}

/* ---- Metrics (src/metrics.c), only while ART_LOOP_MEASURE_PHASES is on. ----
 * begin marks the start of an iteration; charge adds the time since the last
 * mark, minus microtask time, to phase p; drain_time adds ns to the
 * microtask figure. */
void art__phase_begin(art_loop_t *loop) ART__HIDDEN;
void art__phase_charge(art_loop_t *loop, int phase) ART__HIDDEN;
void art__phase_drain_time(art_loop_t *loop, uint64_t ns) ART__HIDDEN;

/* ---- Misc (src/util.c). ---- */
/* Sets O_CLOEXEC / O_NONBLOCK on fd; 0 or -errno. */
int art__cloexec(int fd, int set) ART__HIDDEN;
int art__nonblock(int fd, int set) ART__HIDDEN;
/* close() that keeps errno and ignores EINTR. */
void art__close_fd(int fd) ART__HIDDEN;
/* Wraps a time in ms to an int poll timeout. */
int art__clamp_timeout(uint64_t ms) ART__HIDDEN;

#endif
