/* Cross-thread wakeups: the loop's eventfd, the completion queue that the
 * work pool pushes finished items onto, and art_async_t.
 *
 * One eventfd per loop carries every kind of wakeup. A writer first sets
 * loop->wakeup_pending_; only the writer that flips it from 0 to 1 writes the
 * eventfd, so a storm of sends costs one syscall per loop iteration. The
 * loop reads the eventfd, clears the flag, and only then drains, so nothing
 * posted after the drain can be missed.
 *
 * Async handles that were sent are pushed on a lock-free stack (a CAS on
 * loop->async_stack_, async-signal-safe), so delivering a wakeup visits only
 * the handles that were sent, never every async handle of the loop.
 *
 * An async handle's pending_ is one of:
 *   IDLE     not sent since its callback last ran;
 *   BUSY     a sender won the race and is pushing it on the stack;
 *   QUEUED   on the stack or on loop->async_ready_;
 *   CLOSED   closed: sends are ignored.
 * Only senders move IDLE -> BUSY -> QUEUED; only the loop thread moves
 * QUEUED -> IDLE and anything -> CLOSED, so close never frees memory that a
 * sender is still writing.
 *
 * A thread that may still write the eventfd after the loop could have
 * finished with its item or handle (a pool worker posting, a sender after
 * QUEUED) counts itself in loop->wakers_ until the write is done;
 * art__wakeup_close waits for that count to reach zero. The writes happen
 * outside every lock and every BUSY window, so the loop, woken at once on
 * another CPU, never finds a lock still held or a handle still BUSY.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"
#include "pool/pool.h"

enum { IDLE = 0, BUSY = 1, QUEUED = 2, CLOSED = 3 };

static void wakeup_cb(art_loop_t *loop, art__io_t *w, unsigned events);

int art__wakeup_init(art_loop_t *loop) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd == -1)
    return -errno;
  loop->wakeup_fd_ = fd;
  loop->wakeup_wfd_ = fd;
  loop->completions_ = NULL;
  art__queue_init(&loop->async_ready_);
  loop->async_stack_ = NULL;
  art__io_init(&loop->wakeup_io_, wakeup_cb, fd);
  int err = art__io_start(loop, &loop->wakeup_io_, ART_READABLE);
  if (err) {
    art__wakeup_close(loop);
    return err;
  }
  return 0;
}

void art__wakeup_close(art_loop_t *loop) {
  /* A poster may still be between its unlock and its eventfd write. */
  while (__atomic_load_n(&loop->wakers_, __ATOMIC_ACQUIRE) != 0)
    sched_yield();
  if (loop->wakeup_fd_ >= 0) {
    art__io_close(loop, &loop->wakeup_io_);
    art__close_fd(loop->wakeup_fd_);
  }
  loop->wakeup_fd_ = loop->wakeup_wfd_ = -1;
}

void art__loop_wake(art_loop_t *loop) {
  if (__atomic_exchange_n(&loop->wakeup_pending_, 1, __ATOMIC_ACQ_REL))
    return;
  uint64_t one = 1;
  ssize_t r;
  do
    r = write(loop->wakeup_wfd_, &one, sizeof(one));
  while (r == -1 && errno == EINTR);
  /* EAGAIN means the counter is already huge: the loop will wake anyway. */
}

/* Pushes c on the loop's completion stack with one CAS (no lock for a
 * worker to wait on, or for the loop to find held when it wakes) and
 * writes the eventfd only when the stack was empty: the loop takes the
 * whole stack at once, so one write covers every completion pushed until
 * then. Until the write is done the poster counts in loop->wakers_: once
 * the loop has run c's callback it may be closed, and art__wakeup_close
 * waits for that count to drop before it frees anything a poster
 * touches. */
void art__loop_post(art_loop_t *loop, art__completion_t *c) {
  __atomic_add_fetch(&loop->wakers_, 1, __ATOMIC_RELAXED);
  art__completion_t *head =
      __atomic_load_n(&loop->completions_, __ATOMIC_RELAXED);
  do
    c->next = head;
  while (!__atomic_compare_exchange_n(&loop->completions_, &head, c, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  if (head == NULL)
    art__loop_wake(loop);
  __atomic_sub_fetch(&loop->wakers_, 1, __ATOMIC_RELEASE);
}

/* Moves every handle on the lock-free stack onto async_ready_ (oldest
 * first). Runs on the loop thread only. */
static void take_async_stack(art_loop_t *loop) {
  art_async_t *a =
      __atomic_exchange_n(&loop->async_stack_, NULL, __ATOMIC_ACQUIRE);
  art__queue_t reversed;
  art__queue_init(&reversed);
  for (; a != NULL; a = a->next_pending_)
    art__queue_insert_head(&reversed, &a->ready_);
  while (!art__queue_empty(&reversed)) {
    art__queue_t *q = art__queue_head(&reversed);
    art__queue_remove(q);
    art__queue_insert_tail(&loop->async_ready_, q);
  }
}

/* Takes the whole completion stack and runs it oldest first. A callback
 * may free or re-post its completion, so the next link is read before. */
static void run_completions(art_loop_t *loop) {
  art__completion_t *c =
      __atomic_exchange_n(&loop->completions_, NULL, __ATOMIC_ACQUIRE);
  art__completion_t *fifo = NULL;
  while (c != NULL) { /* reverse the LIFO stack */
    art__completion_t *next = c->next;
    c->next = fifo;
    fifo = c;
    c = next;
  }
  int batch = art__pool_batch_begin(loop);
  while (fifo != NULL) {
    c = fifo;
    fifo = c->next;
    c->cb(c);
    art__drain(loop);
  }
  art__pool_batch_end(batch);
}

/* QUEUED -> IDLE. A handle still BUSY was pushed by a sender that has not
 * yet marked it QUEUED: wait the few instructions until it has. */
static void rearm(art_async_t *a) {
  int expected = QUEUED;
  while (!__atomic_compare_exchange_n(&a->pending_, &expected, IDLE, 0,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    expected = QUEUED;
    sched_yield();
  }
}

static void run_asyncs(art_loop_t *loop) {
  take_async_stack(loop);
  while (!art__queue_empty(&loop->async_ready_)) {
    art__queue_t *q = art__queue_head(&loop->async_ready_);
    art__queue_remove(q);
    art_async_t *a = art__container_of(q, art_async_t, ready_);
    /* Re-arm before the callback: a send made during it runs it again. */
    rearm(a);
    if (a->cb_ != NULL) {
      a->cb_(a);
      art__drain(loop);
    }
  }
}

static void wakeup_cb(art_loop_t *loop, art__io_t *w, unsigned events) {
  uint64_t count;
  ssize_t r;
  (void)events;
  do
    r = read(w->fd, &count, sizeof(count));
  while (r == -1 && errno == EINTR);
  /* An exchange, not a store: as a read-modify-write it cannot be ordered
   * after the loads of the queues below, so a poster either sees 0 here and
   * writes the eventfd, or its item is seen by this drain. */
  (void)__atomic_exchange_n(&loop->wakeup_pending_, 0, __ATOMIC_SEQ_CST);
  run_completions(loop);
  run_asyncs(loop);
}

int art_async_init(art_loop_t *loop, art_async_t *a, art_async_cb cb) {
  if (!art__loop_usable(loop) || a == NULL)
    return ART_EINVAL;
  art__handle_init(loop, (art_handle_t *)a, ART_ASYNC);
  a->cb_ = cb;
  a->pending_ = IDLE;
  a->next_pending_ = NULL;
  art__queue_init(&a->ready_);
  art__handle_start((art_handle_t *)a);
  return 0;
}

int art_async_send(art_async_t *a) {
  if (a == NULL || a->type != ART_ASYNC) /* type never changes: no race */
    return ART_EINVAL;
  int expected = IDLE;
  /* Cheap exit for the common coalesced case: already queued. */
  int state = __atomic_load_n(&a->pending_, __ATOMIC_ACQUIRE);
  if (state == CLOSED)
    return ART_EINVAL;
  if (state != IDLE)
    return 0;
  if (!__atomic_compare_exchange_n(&a->pending_, &expected, BUSY, 0,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0;
  /* BUSY keeps the handle open, hence the loop alive: count as a waker
   * first, so that after QUEUED (when the handle may be closed and freed)
   * the loop is still kept until the eventfd write below is done. */
  art_loop_t *loop = a->loop;
  __atomic_add_fetch(&loop->wakers_, 1, __ATOMIC_RELAXED);
  art_async_t *head = __atomic_load_n(&loop->async_stack_, __ATOMIC_RELAXED);
  do
    a->next_pending_ = head;
  while (!__atomic_compare_exchange_n(&loop->async_stack_, &head, a, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  __atomic_store_n(&a->pending_, QUEUED, __ATOMIC_RELEASE);
  art__loop_wake(loop); /* a is not touched any more */
  __atomic_sub_fetch(&loop->wakers_, 1, __ATOMIC_RELEASE);
  return 0;
}

/* Makes a->pending_ CLOSED, taking a off the stack or ready list if a send
 * queued it. Waits out a sender caught between BUSY and QUEUED (a few
 * instructions). */
static void async_retire(art_async_t *a) {
  for (;;) {
    int state = __atomic_load_n(&a->pending_, __ATOMIC_ACQUIRE);
    if (state == CLOSED)
      return;
    if (state == BUSY) {
      sched_yield();
      continue;
    }
    if (state == QUEUED) {
      take_async_stack(a->loop);
      art__queue_remove(&a->ready_);
      __atomic_store_n(&a->pending_, CLOSED, __ATOMIC_RELEASE);
      return;
    }
    int expected = IDLE;
    if (__atomic_compare_exchange_n(&a->pending_, &expected, CLOSED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return;
  }
}

/* Retired at art_close, and again in the close phase: a send made in
 * between finds CLOSED and does nothing, and one caught half-way is waited
 * out, so the close callback may free the handle. */
static void async_close(art_handle_t *h) {
  async_retire((art_async_t *)h);
}

const art__handle_ops_t art__async_ops = {sizeof(art_async_t), async_close,
                                          async_close};
