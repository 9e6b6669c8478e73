/* io watchers: the link between an fd owner (poll handle, stream, udp...)
 * and the backend, and the poll phase's wait and dispatch.
 *
 * An owner states the events it wants; the change is queued on the loop and
 * reaches the backend once, at the start of the poll phase, and only if the
 * wanted mask differs from what the backend has. That keeps epoll_ctl out of
 * the common read/write path entirely.
 *
 * A wait writes what it found into the loop's event batch (art__event_t,
 * src/backend/backend.h): ready fds from a readiness backend, finished
 * operations from a completion backend. This file dispatches the batch, so
 * the backend never calls the core, and a callback that closes an fd of the
 * same batch blanks that fd's later entries here (art__io_close). */
#include <string.h>

#include "internal.h"

void art__io_init(art__io_t *w, art__io_cb cb, int fd) {
  w->cb = cb;
  w->fd = fd;
  w->events = 0;
  w->pevents = 0;
  w->error = 0;
  art__queue_init(&w->change);
}

/* Makes room in loop->watchers_ for fd. Growth happens only here, when an fd
 * is first registered, never in the poll path. */
static int reserve_fd(art_loop_t *loop, int fd) {
  if ((unsigned)fd < loop->nwatchers_)
    return 0;
  unsigned n = loop->nwatchers_ ? loop->nwatchers_ : 64;
  while (n <= (unsigned)fd)
    n *= 2;
  art__io_t **w = art__realloc(loop->watchers_, n * sizeof(*w));
  if (w == NULL)
    return ART_ENOMEM;
  memset(w + loop->nwatchers_, 0, (n - loop->nwatchers_) * sizeof(*w));
  loop->watchers_ = w;
  loop->nwatchers_ = n;
  return 0;
}

static void note_change(art_loop_t *loop, art__io_t *w) {
  if (w->events != w->pevents) {
    if (art__queue_empty(&w->change))
      art__queue_insert_tail(&loop->watcher_changes_, &w->change);
  } else {
    art__queue_remove(&w->change);
  }
}

int art__io_check_fd(const art_loop_t *loop, int fd) {
  if ((unsigned)fd < loop->nwatchers_ && loop->watchers_[fd] != NULL)
    return ART_EEXIST;
  return loop->backend_->check_fd(loop->backend_state_, fd);
}

int art__io_start(art_loop_t *loop, art__io_t *w, unsigned events) {
  if (w->fd < 0)
    return ART_EBADF;
  int err = reserve_fd(loop, w->fd);
  if (err)
    return err;
  art__io_t *cur = loop->watchers_[w->fd];
  if (cur != NULL && cur != w)
    return ART_EEXIST;
  if (cur == NULL) {
    if (loop->backend_->reserve != NULL &&
        (err = loop->backend_->reserve(loop->backend_state_, w->fd,
                                       loop->nfds_)) != 0)
      return err;
    loop->watchers_[w->fd] = w;
    loop->nfds_++;
  }
  w->events |= events;
  note_change(loop, w);
  return 0;
}

void art__io_stop(art_loop_t *loop, art__io_t *w, unsigned events) {
  w->events &= ~events;
  if (w->events == 0 && w->fd >= 0 && (unsigned)w->fd < loop->nwatchers_ &&
      loop->watchers_[w->fd] == w) {
    loop->watchers_[w->fd] = NULL;
    loop->nfds_--;
  }
  note_change(loop, w);
}

/* Blanks fd's entries in the batch being dispatched, so that a callback
 * closing fd cannot hand its stale events to whoever opens that number
 * next. */
static void blank_batch(art_loop_t *loop, int fd) {
  art__event_t *ev = loop->events_;
  for (int i = 0; i < loop->nevents_; i++)
    if (ev[i].fd == fd)
      ev[i].fd = -1;
}

void art__io_close(art_loop_t *loop, art__io_t *w) {
  art__io_stop(loop, w, ~0u);
  art__queue_remove(&w->change);
  if (w->fd >= 0) {
    blank_batch(loop, w->fd);
    if (w->pevents != 0)
      loop->backend_->forget_fd(loop->backend_state_, w->fd);
  }
  w->pevents = 0;
}

/* A refused change of a registered fd (a MOD that failed) may leave the
 * old mask in the backend; it is dropped, so that pevents 0 is true and a
 * level-triggered event of the old mask cannot wake every wait for a
 * watcher that is gone. */
int art__io_sync(art_loop_t *loop, art__io_t *w) {
  art__queue_remove(&w->change);
  int err = loop->backend_->update(loop->backend_state_, w->fd, w->pevents,
                                   w->events);
  if (err && w->pevents != 0)
    loop->backend_->forget_fd(loop->backend_state_, w->fd);
  w->pevents = err ? 0 : w->events;
  return err;
}

int art__io_start_now(art_loop_t *loop, art__io_t *w, unsigned events) {
  int err = art__io_start(loop, w, events);
  if (err == 0 && (w->events != w->pevents) && (err = art__io_sync(loop, w)))
    art__io_stop(loop, w, ~0u);
  return err;
}

/* The backend refused w (ENOMEM, ENOSPC...): w stops, so the loop neither
 * retries it every iteration nor counts on events that cannot come, and
 * its owner is told why, to fail what waited on it. */
static void refuse(art_loop_t *loop, art__io_t *w, int err) {
  w->error = err;
  art__io_stop(loop, w, ~0u);
  w->cb(loop, w, ART__IO_REFUSED); /* user callbacks inside take the path */
}

void art__io_apply_changes_slow(art_loop_t *loop) {
  while (!art__queue_empty(&loop->watcher_changes_)) {
    art__queue_t *q = art__queue_head(&loop->watcher_changes_);
    art__io_t *w = art__container_of(q, art__io_t, change);
    int err = art__io_sync(loop, w);
    if (err != 0 && w->events != 0)
      refuse(loop, w, err);
  }
}

/* Hands one ready fd to its watcher. Events nobody asked for are dropped,
 * except errors, which go to the owner with the events it wanted so that
 * its own read or write finds out what happened. An fd whose watcher an
 * earlier callback of the batch stopped has none and is skipped: its
 * queued mask change removes it from the backend. */
static void dispatch_fd(art_loop_t *loop, int fd, unsigned events) {
  if ((unsigned)fd >= loop->nwatchers_)
    return;
  art__io_t *w = loop->watchers_[fd];
  if (w == NULL)
    return;
  if (events & ART__IO_ERROR)
    events |= w->events & (ART_READABLE | ART_WRITABLE);
  events &= w->events | ART__IO_ERROR;
  if (events == 0)
    return;
  loop->metrics_.events++;
  w->cb(loop, w, events);
}

/* Gives a backend state the loop's read pool shape, if it has a pool. */
static int apply_pool(const art_loop_t *loop, const art__backend_ops_t *ops,
                      void *state) {
  if (ops->set_pool == NULL ||
      (loop->read_buffers_ == 0 && loop->read_buffer_size_ == 0))
    return 0;
  return ops->set_pool(state, loop->read_buffers_, loop->read_buffer_size_);
}

/* The parent's backend state is closed, never updated: an epoll instance
 * is shared across fork, and a removal here would remove the parent's
 * watchers. The new state starts empty, so every watcher goes back on the
 * change queue with nothing registered (pevents 0); one that only waited
 * to be removed is simply dropped. */
int art__io_fork(art_loop_t *loop) {
  void *state;
  int err = loop->backend_->init(&state);
  if (err)
    return err;
  apply_pool(loop, loop->backend_, state); /* a new state: never busy */
  if (loop->backend_->adopt != NULL)
    loop->backend_->adopt(state, loop->backend_state_);
  loop->backend_->close(loop->backend_state_);
  loop->backend_state_ = state;
  while (!art__queue_empty(&loop->watcher_changes_)) {
    art__io_t *w = art__container_of(art__queue_head(&loop->watcher_changes_),
                                     art__io_t, change);
    art__queue_remove(&w->change);
    w->pevents = 0;
  }
  unsigned n = 0;
  for (unsigned fd = 0; fd < loop->nwatchers_; fd++) {
    art__io_t *w = loop->watchers_[fd];
    if (w == NULL)
      continue;
    if (loop->backend_->reserve != NULL &&
        (err = loop->backend_->reserve(state, (int)fd, n)) != 0)
      return err;
    n++;
    w->pevents = 0;
    note_change(loop, w);
  }
  return 0;
}

void art__io_wait(art_loop_t *loop, int64_t timeout_ns) {
  uint64_t before = art_hrtime();
  int n = loop->backend_->wait(loop->backend_state_, timeout_ns, loop->events_,
                               ART__EVENT_BATCH);
  /* Callbacks after a wait that could block must see the present. The
   * wait ends at the first event, so idle time is the wait itself, on the
   * real clock even when the loop's clock is a manual one. */
  art__wakeup_after_wait(loop);
  uint64_t now = art_hrtime();
  loop->metrics_.idle_time_ns += now - before;
  art__loop_set_time(loop, art__loop_clock_at(loop, now));
  if (n > 0)
    art__io_dispatch(loop, n);
}

/* Events dispatched between two flushes of a long batch: a completion
 * backend otherwise hands the kernel the writes the batch's callbacks made
 * only at the next wait, and the first response of a batch of a hundred
 * waits for the hundredth request to be handled. */
#define FLUSH_EVERY 16

void art__io_dispatch(art_loop_t *loop, int n) {
  art__event_t *ev = loop->events_;
  loop->nevents_ = n;
  for (int i = 0; i < n; i++) {
    if (i != 0 && (i & (FLUSH_EVERY - 1)) == 0 && loop->backend_->flush != NULL)
      loop->backend_->flush(loop->backend_state_);
    if (ev[i].op != NULL) {
      loop->metrics_.events++;
      ev[i].op->got_ = ev[i].events;
      ev[i].op->done(ev[i].op, ev[i].result);
    } else if (ev[i].fd >= 0) {
      dispatch_fd(loop, ev[i].fd, ev[i].events);
    }
  }
  loop->nevents_ = 0;
}

int art__io_submit(art_loop_t *loop, art__op_t *op) {
  if (loop->backend_->submit == NULL)
    return ART_ENOTSUP;
  return loop->backend_->submit(loop->backend_state_, op);
}

int art__io_supports(art_loop_t *loop, art__op_kind kind, unsigned how) {
  return loop->backend_->supports != NULL &&
         loop->backend_->supports(loop->backend_state_, kind, how);
}

char *art__io_buffer(art_loop_t *loop, const art__op_t *op, size_t *size) {
  return loop->backend_->buffer(loop->backend_state_,
                                op->got_ >> ART__GOT_ID_SHIFT, size);
}

void art__io_recycle(art_loop_t *loop, const art__op_t *op) {
  loop->backend_->recycle(loop->backend_state_, op->got_ >> ART__GOT_ID_SHIFT);
}

/* ART_LOOP_READ_BUFFERS (count: a power of two up to 32768) and
 * ART_LOOP_READ_BUFFER_SIZE (size: 512 B to 1 MiB); 0 keeps the other.
 * The loop keeps them for every backend it gets later (a backend without a
 * pool has no use for them); the present one refuses them once its pool
 * is made. */
int art__io_set_pool(art_loop_t *loop, long count, long size) {
  if (count < 0 || count > 32768 || (count & (count - 1)) ||
      (size != 0 && (size < 512 || size > (1l << 20))))
    return ART_EINVAL;
  if (loop->backend_->set_pool != NULL) {
    int err = loop->backend_->set_pool(loop->backend_state_, (unsigned)count,
                                       (unsigned)size);
    if (err)
      return err;
  }
  if (count != 0)
    loop->read_buffers_ = (uint32_t)count;
  if (size != 0)
    loop->read_buffer_size_ = (uint32_t)size;
  return 0;
}

int art__io_pool_stats(art_loop_t *loop, art__pool_stats_t *out) {
  if (loop->backend_->pool_stats == NULL)
    return ART_ENOTSUP;
  loop->backend_->pool_stats(loop->backend_state_, out);
  return 0;
}

int art__io_cancel(art_loop_t *loop, art__op_t *op) {
  if (loop->backend_->cancel == NULL)
    return ART_ENOTSUP;
  return loop->backend_->cancel(loop->backend_state_, op);
}

void art__io_flush(art_loop_t *loop) {
  if (loop->backend_->flush != NULL)
    loop->backend_->flush(loop->backend_state_);
}

/* The new backend knows no fd: every watcher's registered mask is 0 again,
 * and its wanted mask is queued for the next poll phase. The walk takes
 * each watcher once, from the fd table and from the queue of changes
 * (stopped watchers still registered with the old backend). */
static void forget_registrations(art_loop_t *loop) {
  art__queue_t *q = art__queue_head(&loop->watcher_changes_);
  while (q != &loop->watcher_changes_) {
    art__io_t *w = art__container_of(q, art__io_t, change);
    q = q->next;
    w->pevents = 0;
    note_change(loop, w);
  }
  for (unsigned fd = 0; fd < loop->nwatchers_; fd++) {
    art__io_t *w = loop->watchers_[fd];
    if (w != NULL) {
      w->pevents = 0;
      note_change(loop, w);
    }
  }
}

/* Outside art_run only: a batch being dispatched, or a wait, would mix the
 * two backends; and not while operations are in the old backend's ring,
 * whose completions only it can report. Nothing of the old backend is
 * touched until the new one is made and has room for every watched fd. */
int art__io_set_backend(art_loop_t *loop, long kind) {
  const art__backend_ops_t *ops = art__backend_of_kind(kind);
  void *state = NULL;
  if (ops == NULL)
    return ART_EINVAL;
  if (loop->phase_ != ART_PHASE_NONE ||
      (loop->backend_->busy != NULL &&
       loop->backend_->busy(loop->backend_state_)))
    return ART_EBUSY;
  int err = art__backend_open(&ops, &state);
  if (err)
    return err;
  apply_pool(loop, ops, state); /* a new state: never busy */
  for (unsigned fd = 0;
       err == 0 && ops->reserve != NULL && fd < loop->nwatchers_; fd++)
    if (loop->watchers_[fd] != NULL)
      err = ops->reserve(state, (int)fd, loop->nfds_);
  if (err) {
    ops->close(state);
    return err;
  }
  loop->backend_->close(loop->backend_state_);
  loop->backend_ = ops;
  loop->backend_state_ = state;
  forget_registrations(loop);
  return 0;
}
