/* Ticks and microtasks (Node's process.nextTick and promise jobs).
 *
 * Both queues are rings that grow only when full, so a program that keeps a
 * steady depth of queued tasks allocates nothing per call. The drain follows
 * Node: all ticks (including ones queued meanwhile), then all microtasks
 * (likewise), repeated while either queue is non-empty.
 *
 * The drain is the second half of the one callback path (ART__CALLBACK in
 * src/internal.h): it runs after every callback the library invokes. The
 * tasks it runs take the same path, so hooks see them as callbacks too;
 * the draining_ flag keeps a drain from nesting. Each queued task has its
 * own id and the context of the moment it was queued (src/observe.c). */
#include <string.h>

#include "internal.h"

static int ring_push(art_loop_t *loop, art__task_ring_t *r, int kind,
                     art_microtask_cb cb, void *arg) {
  if (r->count == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 64;
    art__task_t *items = art__malloc(cap * sizeof(*items));
    if (items == NULL)
      return ART_ENOMEM;
    /* Unwrap the old ring into the start of the new one. */
    for (size_t i = 0; i < r->count; i++)
      items[i] = r->items[(r->head + i) % r->cap];
    art__free(r->items);
    r->items = items;
    r->cap = cap;
    r->head = 0;
  }
  art__task_t *slot = &r->items[(r->head + r->count) % r->cap];
  slot->cb = cb;
  slot->arg = arg;
  art__res_init(loop, &slot->res, kind, 0, NULL);
  r->count++;
  loop->observe_ |= ART__OBS_TASKS; /* the next callback's check drains */
  return 0;
}

static art__task_t ring_pop(art__task_ring_t *r) {
  art__task_t t = r->items[r->head];
  r->head = (r->head + 1) % r->cap;
  r->count--;
  return t;
}

int art_next_tick(art_loop_t *loop, art_microtask_cb cb, void *arg) {
  if (!art__loop_usable(loop) || cb == NULL)
    return ART_EINVAL;
  return ring_push(loop, &loop->ticks_, ART_RESOURCE_TICK, cb, arg);
}

int art_queue_microtask(art_loop_t *loop, art_microtask_cb cb, void *arg) {
  if (!art__loop_usable(loop) || cb == NULL)
    return ART_EINVAL;
  return ring_push(loop, &loop->microtasks_, ART_RESOURCE_MICROTASK, cb, arg);
}

void art__microtask_drain_slow(art_loop_t *loop) {
  uint64_t start = loop->measure_phases_ ? art_hrtime() : 0;
  int saved_phase = loop->phase_;
  loop->draining_ = 1;
  loop->phase_ = ART_PHASE_MICROTASKS;
  while (loop->ticks_.count > 0 || loop->microtasks_.count > 0) {
    while (loop->ticks_.count > 0) {
      art__task_t t = ring_pop(&loop->ticks_);
      ART__CALLBACK_BARE(loop, ART_RESOURCE_TICK, 0, &t.res, t.cb,
                         (loop, t.arg));
      /* draining_: no nesting */
    }
    while (loop->microtasks_.count > 0) {
      art__task_t t = ring_pop(&loop->microtasks_);
      ART__CALLBACK_BARE(loop, ART_RESOURCE_MICROTASK, 0, &t.res, t.cb,
                         (loop, t.arg));
      /* Node: a tick queued by a microtask waits for the microtask queue
       * to empty, so ticks are not checked here. */
    }
  }
  loop->observe_ &= ~(unsigned)ART__OBS_TASKS; /* both queues are empty */
  loop->phase_ = saved_phase;
  loop->draining_ = 0;
  if (start != 0 && loop->measure_phases_)
    art__phase_drain_time(loop, art_hrtime() - start);
}

void art__microtask_free(art_loop_t *loop) {
  art__free(loop->ticks_.items);
  art__free(loop->microtasks_.items);
  memset(&loop->ticks_, 0, sizeof(loop->ticks_));
  memset(&loop->microtasks_, 0, sizeof(loop->microtasks_));
  loop->observe_ &= ~(unsigned)ART__OBS_TASKS;
}
