/* Timers. A started timer is an entry of the loop's array heap; when due it
 * moves to the loop's ready list for the current timers phase, so a timer
 * started or restarted by a callback waits for the next iteration and a
 * zero-timeout timer cannot starve I/O. */
#include "heap.h"

#define NOT_IN_HEAP SIZE_MAX

int art_timer_init(art_loop_t *loop, art_timer_t *t) {
  if (loop == NULL || t == NULL)
    return ART_EINVAL;
  if (loop->timer_reserved_ == loop->timer_cap_) {
    size_t cap = loop->timer_cap_ ? loop->timer_cap_ * 2 : 16;
    void *heap = art__realloc(loop->timer_heap_, cap * sizeof(*loop->timer_heap_));
    if (heap == NULL)
      return ART_ENOMEM;
    loop->timer_heap_ = heap;
    loop->timer_cap_ = cap;
  }
  loop->timer_reserved_++;
  art__handle_init(loop, (art_handle_t *)t, ART_TIMER);
  t->cb_ = NULL;
  t->due_ = 0;
  t->repeat_ = 0;
  t->heap_index_ = NOT_IN_HEAP;
  art__queue_init(&t->ready_node_);
  return 0;
}

/* Takes t out of the heap or the ready list, whichever holds it. */
static void unschedule(art_timer_t *t) {
  art_loop_t *loop = t->loop;
  if (t->heap_index_ != NOT_IN_HEAP) {
    art__heap_remove(loop->timer_heap_, &loop->timer_count_, t->heap_index_);
    t->heap_index_ = NOT_IN_HEAP;
  }
  art__queue_remove(&t->ready_node_);
}

static void schedule(art_timer_t *t, uint64_t due) {
  art_loop_t *loop = t->loop;
  art__heap_entry_t e = {due, loop->timer_seq_++, t};
  t->due_ = due;
  art__heap_push(loop->timer_heap_, &loop->timer_count_, e);
  art__handle_start((art_handle_t *)t);
}

int art_timer_start(art_timer_t *t, art_timer_cb cb, uint64_t timeout,
                    uint64_t repeat) {
  if (!art__handle_usable((art_handle_t *)t) || t->type != ART_TIMER ||
      cb == NULL)
    return ART_EINVAL;
  uint64_t now = t->loop->time_;
  uint64_t due = timeout > UINT64_MAX - now ? UINT64_MAX : now + timeout;
  unschedule(t);
  t->cb_ = cb;
  t->repeat_ = repeat;
  schedule(t, due);
  return 0;
}

int art_timer_stop(art_timer_t *t) {
  if (t == NULL || t->type != ART_TIMER || t->loop == NULL)
    return ART_EINVAL;
  unschedule(t);
  art__handle_stop((art_handle_t *)t);
  return 0;
}

int art_timer_again(art_timer_t *t) {
  if (!art__handle_usable((art_handle_t *)t) || t->type != ART_TIMER ||
      t->cb_ == NULL)
    return ART_EINVAL;
  if (t->repeat_ == 0)
    return art_timer_stop(t);
  return art_timer_start(t, t->cb_, t->repeat_, t->repeat_);
}

void art_timer_set_repeat(art_timer_t *t, uint64_t repeat) {
  if (t != NULL)
    t->repeat_ = repeat;
}

uint64_t art_timer_get_repeat(const art_timer_t *t) {
  return t == NULL ? 0 : t->repeat_;
}

uint64_t art_timer_get_due_in(const art_timer_t *t) {
  if (t == NULL || !(t->flags_ & ART__H_ACTIVE) || t->due_ <= t->loop->time_)
    return 0;
  return t->due_ - t->loop->time_;
}

static void timer_close(art_handle_t *h) {
  unschedule((art_timer_t *)h);
}

/* The heap slot reserved at init is given back only now, so the heap never
 * holds more entries than its capacity. */
static void timer_endgame(art_handle_t *h) {
  h->loop->timer_reserved_--;
}

const art__handle_ops_t art__timer_ops = {sizeof(art_timer_t), timer_close,
                                          timer_endgame};

/* The timers phase. Collect every due timer first, then run them, so that
 * callbacks may start, stop or close any timer, themselves included. */
void art__run_timers(art_loop_t *loop) {
  art__heap_entry_t *heap = loop->timer_heap_;
  while (loop->timer_count_ > 0 && heap[0].due <= loop->time_) {
    art_timer_t *t = heap[0].timer;
    art__heap_remove(heap, &loop->timer_count_, 0);
    t->heap_index_ = NOT_IN_HEAP;
    art__queue_insert_tail(&loop->timer_ready_, &t->ready_node_);
  }
  while (!art__queue_empty(&loop->timer_ready_)) {
    art__queue_t *q = art__queue_head(&loop->timer_ready_);
    art_timer_t *t = art__container_of(q, art_timer_t, ready_node_);
    art__queue_remove(q);
    if (t->repeat_ != 0) {
      uint64_t due = t->due_ + t->repeat_;
      schedule(t, due < t->due_ ? UINT64_MAX : due);
    } else {
      art__handle_stop((art_handle_t *)t);
    }
    t->cb_(t);
    art__drain(loop);
  }
}

/* ms until the earliest timer is due: 0 if one is due, -1 if none. */
int art__next_timeout(const art_loop_t *loop) {
  if (loop->timer_count_ == 0)
    return -1;
  uint64_t due = loop->timer_heap_[0].due;
  if (due <= loop->time_)
    return 0;
  return art__clamp_timeout(due - loop->time_);
}

void art__timers_free(art_loop_t *loop) {
  art__free(loop->timer_heap_);
  loop->timer_heap_ = NULL;
  loop->timer_cap_ = 0;
}
