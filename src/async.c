/* art_async_t: wake a loop from any thread, or from a signal handler.
 *
 * Async handles that were sent are pushed on a lock-free stack (a CAS on
 * loop->async_stack_, async-signal-safe), so delivering a wakeup visits only
 * the handles that were sent, never every async handle of the loop. The
 * stack is one of the loop's wake sources (src/wakeup.c).
 *
 * An async handle's pending_ is one of:
 *   IDLE     not sent since its callback last ran;
 *   BUSY     a sender won the race and is pushing it on the stack;
 *   QUEUED   on the stack or on loop->async_ready_;
 *   CLOSED   closed: sends are ignored.
 * Only senders move IDLE -> BUSY -> QUEUED; only the loop thread moves
 * QUEUED -> IDLE and anything -> CLOSED, so close never frees memory that a
 * sender is still writing. A sender counts itself in loop->wakers_ from
 * BUSY until its eventfd write is done (the handle may be closed and freed
 * as soon as it is QUEUED), and the write happens outside the BUSY window,
 * so the loop, woken at once on another CPU, never finds the handle BUSY.
 */
#include <sched.h>

#include "internal.h"

enum { IDLE = 0, BUSY = 1, QUEUED = 2, CLOSED = 3 };

ART__DECLARE_HANDLE_OPS(async);

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

/* The async handles' wake source: runs the callback of every handle sent
 * since the last wakeup, oldest first. */
static void run_asyncs(art_loop_t *loop, art__wake_source_t *src) {
  (void)src;
  take_async_stack(loop);
  while (!art__queue_empty(&loop->async_ready_)) {
    art__queue_t *q = art__queue_head(&loop->async_ready_);
    art__queue_remove(q);
    art_async_t *a = art__container_of(q, art_async_t, ready_);
    /* Re-arm before the callback: a send made during it runs it again. */
    rearm(a);
    if (a->cb_ != NULL)
      ART__CALLBACK(a, a->cb_, (a));
  }
}

int art_async_init(art_loop_t *loop, art_async_t *a, art_async_cb cb) {
  if (!art__loop_usable(loop) || a == NULL)
    return ART_EINVAL;
  if (loop->async_source_.drain == NULL) { /* the loop's first async */
    loop->async_source_.drain = run_asyncs;
    art__queue_init(&loop->async_ready_);
    art__wake_source_add(loop, &loop->async_source_);
  }
  art__handle_init(loop, (art_handle_t *)a, &art__async_ops);
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
  art__loop_hold(loop);
  art_async_t *head = __atomic_load_n(&loop->async_stack_, __ATOMIC_RELAXED);
  do
    a->next_pending_ = head;
  while (!__atomic_compare_exchange_n(&loop->async_stack_, &head, a, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  __atomic_store_n(&a->pending_, QUEUED, __ATOMIC_RELEASE);
  art__loop_wake(loop); /* a is not touched any more */
  art__loop_release(loop);
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

const art__handle_ops_t art__async_ops = {
    ART_ASYNC, "async", sizeof(art_async_t), async_close, async_close,
    NULL,      NULL};
