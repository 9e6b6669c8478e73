/* The loop: init and close, art_run and its six phases, time, liveness. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

void art_update_time(art_loop_t *loop) {
  if (loop != NULL)
    art__loop_set_time(loop, art__loop_clock_ns(loop));
}

uint64_t art_now(const art_loop_t *loop) {
  return loop == NULL ? 0 : loop->time_;
}

uint64_t art_loop_clock_ns(const art_loop_t *loop) {
  return art__loop_usable(loop) ? art__loop_clock_ns(loop) : 0;
}

/* The manual clock starts where the loop's clock is now, rounded up to a
 * whole ms, so that time never goes back, timers already started keep
 * their deadlines, and an art_timer_start timer (counted from the cached
 * ms time) is due a whole number of ms after the clock's origin. Outside
 * art_run the cached time moves to it, as after art_loop_advance. There is
 * no way back to the real clock: the manual one may be ahead of it. */
static int manual_clock(art_loop_t *loop, long value) {
  if (value == 0)
    return loop->manual_clock_ ? ART_EINVAL : 0;
  if (value != 1)
    return ART_EINVAL;
  if (!loop->manual_clock_) {
    uint64_t now = art__loop_clock_ns(loop);
    loop->manual_ns_ = (now + 999999u) / 1000000u * 1000000u;
    loop->manual_clock_ = 1;
    if (loop->phase_ == ART_PHASE_NONE)
      art__loop_set_time(loop, loop->manual_ns_);
  }
  return 0;
}

int art_loop_advance(art_loop_t *loop, uint64_t ns) {
  if (!art__loop_usable(loop) || !loop->manual_clock_)
    return ART_EINVAL;
  loop->manual_ns_ =
      ns > UINT64_MAX - loop->manual_ns_ ? UINT64_MAX : loop->manual_ns_ + ns;
  if (loop->phase_ == ART_PHASE_NONE)
    art__loop_set_time(loop, loop->manual_ns_);
  return 0;
}

int art_loop_configure(art_loop_t *loop, art_loop_option option, long value) {
  if (!art__loop_usable(loop))
    return ART_EINVAL;
  switch (option) {
  case ART_LOOP_MEASURE_PHASES:
    if (value != 0 && value != 1)
      return ART_EINVAL;
    if (value && art__metrics_make_phase_hists(loop) != 0)
      return ART_ENOMEM;
    if (value && !loop->measure_phases_)
      art__phase_begin(loop); /* switched on mid-iteration: start now */
    loop->measure_phases_ = (int)value;
    return 0;
  case ART_LOOP_MANUAL_CLOCK:
    return manual_clock(loop, value);
  case ART_LOOP_BACKEND:
    return art__io_set_backend(loop, value);
  case ART_LOOP_READ_BUFFERS:
    return value == 0 ? ART_EINVAL : art__io_set_pool(loop, value, 0);
  case ART_LOOP_READ_BUFFER_SIZE:
    return value == 0 ? ART_EINVAL : art__io_set_pool(loop, 0, value);
  default:
    return ART_EINVAL;
  }
}

int art__ext_set(art_loop_t *loop, const art__ext_t *ext, void *state) {
  for (unsigned i = 0; i < loop->nexts_; i++)
    if (loop->exts_[i].ext == ext) {
      loop->exts_[i].state = state;
      return 0;
    }
  struct art__ext_entry *e =
      art__realloc(loop->exts_, (loop->nexts_ + 1) * sizeof(*e));
  if (e == NULL)
    return ART_ENOMEM;
  e[loop->nexts_].ext = ext;
  e[loop->nexts_].state = state;
  loop->exts_ = e;
  loop->nexts_++;
  return 0;
}

int art_loop_fork(art_loop_t *loop) {
  if (!art__loop_usable(loop) || loop->phase_ != ART_PHASE_NONE)
    return ART_EINVAL;
  int err = art__io_fork(loop);
  if (err == 0)
    err = art__wakeup_fork(loop);
  /* In the order the areas registered: one that uses another (processes
   * watch SIGCHLD) comes after it. */
  for (unsigned i = 0; err == 0 && i < loop->nexts_; i++) {
    struct art__ext_entry *e = &loop->exts_[i];
    if (e->state != NULL && e->ext->loop_fork != NULL)
      err = e->ext->loop_fork(loop, e->state);
  }
  return err;
}

/* Every area that registered state releases it, the last registered
 * first: an area that uses another on its first use (processes watch
 * SIGCHLD) registers after it and closes before it. */
static void close_exts(art_loop_t *loop) {
  while (loop->nexts_ > 0) {
    struct art__ext_entry e = loop->exts_[--loop->nexts_];
    if (e.state != NULL)
      e.ext->loop_close(loop, e.state);
  }
  art__free(loop->exts_);
  loop->exts_ = NULL;
}

/* Releases what init made, in reverse; safe on a partly made loop. */
static void loop_release(art_loop_t *loop) {
  if (loop->wakeup_fd_ >= 0)
    art__wakeup_close(loop);
  if (loop->backend_state_ != NULL)
    loop->backend_->close(loop->backend_state_);
  loop->backend_state_ = NULL;
  loop->backend_ = NULL;
  art__free(loop->events_);
  loop->events_ = NULL;
  art__free(loop->watchers_);
  loop->watchers_ = NULL;
  loop->nwatchers_ = 0;
}

int art_loop_init(art_loop_t *loop) {
  return art__loop_init_with(loop, art__backend_select());
}

int art__loop_init_with(art_loop_t *loop, const art__backend_ops_t *backend) {
  int err;
  if (loop == NULL || backend == NULL)
    return ART_EINVAL;
  memset(loop, 0, sizeof(*loop));
  art__queue_init(&loop->watcher_changes_);
  art__queue_init(&loop->handles_);
  art__queue_init(&loop->closing_);
  art__queue_init(&loop->idle_handles_);
  art__queue_init(&loop->prepare_handles_);
  art__queue_init(&loop->check_handles_);
  art__queue_init(&loop->immediates_);
  art__queue_init(&loop->pending_);
  art__queue_init(&loop->wake_sources_);
  loop->phase_ = ART_PHASE_NONE;
  loop->wakeup_fd_ = -1;
  loop->metrics_.loop_start_ns = art_hrtime();
  art_update_time(loop);
  loop->backend_ = backend;
  loop->events_ = art__malloc(ART__EVENT_BATCH * sizeof(art__event_t));
  if (loop->events_ == NULL) {
    err = ART_ENOMEM;
    goto fail;
  }
  err = art__backend_open(&loop->backend_, &loop->backend_state_);
  if (err)
    goto fail;
  err = art__wakeup_init(loop);
  if (err)
    goto fail;
  return 0;

fail:
  loop_release(loop);
  return err;
}

/* True while a handle other than the loop's own internal ones is open. */
static int has_open_handles(const art_loop_t *loop) {
  const art__queue_t *q;
  art__queue_foreach(q, &loop->handles_) {
    const art_handle_t *h = art__container_of(q, art_handle_t, handle_node_);
    if (!(h->flags_ & ART__H_INTERNAL))
      return 1;
  }
  return 0;
}

static art_loop_t default_loop_storage;
static art_loop_t *default_loop;
static pthread_mutex_t default_loop_lock = PTHREAD_MUTEX_INITIALIZER;

int art_loop_close(art_loop_t *loop) {
  if (loop == NULL || loop->backend_ == NULL)
    return ART_EINVAL;
  if (loop->phase_ != ART_PHASE_NONE)
    return ART_EBUSY;
  if (has_open_handles(loop) || loop->active_reqs_ > 0 ||
      !art__queue_empty(&loop->closing_) ||
      !art__queue_empty(&loop->pending_) ||
      !art__queue_empty(&loop->immediates_))
    return ART_EBUSY;
  close_exts(loop);
  loop_release(loop);
  art__timers_free(loop);
  art__microtask_free(loop);
  art__metrics_free(loop);
  pthread_mutex_lock(&default_loop_lock);
  if (loop == default_loop)
    default_loop = NULL;
  pthread_mutex_unlock(&default_loop_lock);
  return 0;
}

art_loop_t *art_default_loop(void) {
  pthread_mutex_lock(&default_loop_lock);
  if (default_loop == NULL && art_loop_init(&default_loop_storage) == 0)
    default_loop = &default_loop_storage;
  art_loop_t *loop = default_loop;
  pthread_mutex_unlock(&default_loop_lock);
  return loop;
}

static int loop_alive(const art_loop_t *loop) {
  return loop->active_handles_ > 0 || loop->active_reqs_ > 0 ||
         !art__queue_empty(&loop->closing_) ||
         !art__queue_empty(&loop->pending_) || art__immediates_alive(loop);
}

int art_loop_alive(const art_loop_t *loop) {
  return loop != NULL && loop->backend_ != NULL && loop_alive(loop);
}

void art_stop(art_loop_t *loop) {
  if (loop != NULL)
    loop->stop_flag_ = 1;
}

/* The poll timeout of DESIGN.md, in ns: 0 whenever something is waiting
 * to run without I/O, else the time to the next timer, else forever (-1). */
static int64_t poll_timeout(art_loop_t *loop) {
  if (loop->stop_flag_ || !loop_alive(loop) || art__immediates_alive(loop) ||
      !art__queue_empty(&loop->idle_handles_) ||
      !art__queue_empty(&loop->pending_) ||
      !art__queue_empty(&loop->closing_) || loop->ticks_.count > 0 ||
      loop->microtasks_.count > 0)
    return 0;
  return art__next_timeout(loop);
}

/* For a host loop waiting on art_backend_fd. Mask changes reach the
 * backend only in the poll phase, so while some are queued (a watcher
 * started before the first art_run, or from a check or close callback) the
 * backend fd cannot report their fds: the host must not sleep before the
 * loop has run. */
int art_backend_timeout(const art_loop_t *loop) {
  if (loop == NULL || loop->backend_ == NULL)
    return ART_EINVAL;
  if (!art__queue_empty(&loop->watcher_changes_))
    return 0;
  /* Logically const: settling the timer heap's top changes no outcome.
   * Rounded up to whole ms, so that the host does not wake before a timer
   * is due and find nothing to run. */
  return art__timeout_ms_up(poll_timeout((art_loop_t *)loop));
}

int art_backend_fd(const art_loop_t *loop) {
  if (loop == NULL || loop->backend_ == NULL)
    return ART_EINVAL;
  return loop->backend_->fd(loop->backend_state_);
}

const char *art_backend_name(const art_loop_t *loop) {
  if (loop == NULL || loop->backend_ == NULL)
    return "none";
  return loop->backend_->name;
}

static void run_pending(art_loop_t *loop) {
  art__queue_t local;
  art__queue_move(&loop->pending_, &local);
  while (!art__queue_empty(&local)) {
    art__queue_t *q = art__queue_head(&local);
    art__queue_remove(q);
    art__pending_t *p = art__container_of(q, art__pending_t, node);
    p->cb(p); /* user callbacks inside take the callback path */
  }
}

/* True when a zero-timeout wait cannot find anything: the only fd watched
 * is the wakeup eventfd, no write to it is unread (the loop clears that
 * mark only after reading it; see src/wakeup.c), and no operation is in
 * the backend (a stream's receive in io_uring watches no fd). Skipping the
 * syscall then makes an iteration with nothing to poll cheap, as libuv does
 * when it watches no fd. A wakeup posted after this check is seen by the next
 * iteration's poll phase. */
static int nothing_to_poll(const art_loop_t *loop) {
  return loop->nfds_ == 1 && loop->wakeup_fd_ >= 0 &&
         loop->watchers_[loop->wakeup_fd_] == &loop->wakeup_io_ &&
         !art__wakeup_unread(loop) &&
         (loop->backend_->busy == NULL ||
          !loop->backend_->busy(loop->backend_state_));
}

/* The poll phase of a loop with a manual clock, when it would block:
 * what is ready now is handled first, and only if nothing was ready and a
 * timer is pending does the clock jump to that timer's deadline instead of
 * the wait. With no timer the wait is real, for I/O only. Returns 1 when
 * time moved (ART_RUN_ONCE then runs the timers now due). */
static int manual_poll(art_loop_t *loop, int64_t timeout) {
  uint64_t due;
  if (timeout < 0 || art__next_due(loop, &due) != 0 || due == UINT64_MAX) {
    art__io_poll(loop, timeout); /* no deadline to jump to */
    return 1;
  }
  int n = loop->backend_->wait(loop->backend_state_, 0,
                               (art__event_t *)loop->events_, ART__EVENT_BATCH);
  art__wakeup_after_wait(loop); /* before_wait readied it for a block */
  if (n > 0) {
    art__io_dispatch(loop, n);
    return 0;
  }
  if (due > loop->manual_ns_)
    loop->manual_ns_ = due;
  art__loop_set_time(loop, loop->manual_ns_);
  return 1;
}

/* The poll phase. The timeout is computed only after the mask changes are
 * applied: a refused change runs its owner's callback, which may stop the
 * last handle or queue work, and a timeout computed before that could block
 * forever. Work posted by other threads while the loop ran cost them no
 * eventfd write: art__wakeup_before_wait drains it here (and the wait then
 * does not block). */
static int run_poll(art_loop_t *loop, art_run_mode mode) {
  art__io_apply_changes(loop);
  int64_t timeout = mode == ART_RUN_NOWAIT ? 0 : poll_timeout(loop);
  if (art__wakeup_must_look(loop, timeout))
    timeout = art__wakeup_before_wait(loop, timeout);
  if (timeout != 0 && loop->manual_clock_)
    return manual_poll(loop, timeout);
  if (timeout == 0 && nothing_to_poll(loop))
    return 0;
  art__io_poll(loop, timeout);
  return timeout != 0;
}

/* Runs one phase. With ART_LOOP_MEASURE_PHASES off, measuring costs one
 * predictable branch. */
#define PHASE(loop, p, call)                                                   \
  do {                                                                         \
    (loop)->phase_ = (p);                                                      \
    call;                                                                      \
    if ((loop)->measure_phases_)                                               \
      art__phase_charge(loop, p);                                              \
  } while (0)

/* Step 1 of an iteration: update the cached time. The same clock read
 * starts the first phase's measurement when phases are timed. */
static void begin_iteration(art_loop_t *loop) {
  uint64_t ns = art_hrtime();
  art__loop_set_time(loop, art__loop_clock_at(loop, ns));
  if (loop->measure_phases_) {
    loop->phase_mark_ns_ = ns; /* phase times are on the real clock */
    loop->drain_ns_ = 0;
  }
}

int art_run(art_loop_t *loop, art_run_mode mode) {
  if (loop == NULL || loop->backend_ == NULL ||
      (mode != ART_RUN_DEFAULT && mode != ART_RUN_ONCE &&
       mode != ART_RUN_NOWAIT) ||
      loop->phase_ != ART_PHASE_NONE)
    return 0; /* not an error code: a caller's while (art_run()) must end */
  art__callback_done(loop); /* ticks queued before art_run */
  art__wakeup_enter(loop);
  int alive = loop_alive(loop);
  if (!alive)
    art_update_time(loop);
  while (alive && !loop->stop_flag_) {
    int waited; /* the poll phase blocked: ONCE then runs timers due */
    begin_iteration(loop);
    PHASE(loop, ART_PHASE_TIMERS, art__run_timers(loop));
    PHASE(loop, ART_PHASE_PENDING, run_pending(loop));
    PHASE(loop, ART_PHASE_IDLE_PREPARE,
          (art__run_idle(loop), art__run_prepare(loop)));
    PHASE(loop, ART_PHASE_POLL, waited = run_poll(loop, mode));
    PHASE(loop, ART_PHASE_CHECK,
          (art__run_immediates(loop), art__run_check(loop)));
    PHASE(loop, ART_PHASE_CLOSE, art__run_closing(loop));
    if (mode == ART_RUN_ONCE && waited) /* the wait may have ended on a timer */
      PHASE(loop, ART_PHASE_TIMERS,
            (art_update_time(loop), art__run_timers(loop)));
    loop->phase_ = ART_PHASE_NONE;
    loop->metrics_.iterations++;
    alive = loop_alive(loop);
    if (mode != ART_RUN_DEFAULT)
      break;
  }
  loop->phase_ = ART_PHASE_NONE;
  loop->stop_flag_ = 0;
  art__io_flush(loop);
  art__wakeup_leave(loop);
  return alive;
}

art_phase art_loop_phase(const art_loop_t *loop) {
  return loop == NULL ? ART_PHASE_NONE : (art_phase)loop->phase_;
}

const char *art_phase_name(art_phase phase) {
  static const char *const names[] = {"timers",     "pending", "idle/prepare",
                                      "poll",       "check",   "close",
                                      "microtasks", "none"};
  if ((unsigned)phase > ART_PHASE_NONE)
    return "unknown";
  return names[phase];
}
