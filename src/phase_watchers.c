/* Idle, prepare and check handles: one shape, three loop lists. Each phase
 * runs its handles in start order, and a callback may start, stop or close
 * any handle of the same phase.
 *
 * The walk detaches the list into `todo`, moves each handle to `done` just
 * before its callback, and finally puts `done` back in front of the loop's
 * list. A handle started by a callback lands on the (emptied) loop list, so
 * it waits for the next iteration and stays behind every handle started
 * before it; a stopped handle just leaves whichever list holds it.
 * (Re-appending each handle to the loop list as it runs, the simpler way,
 * would put handles started during the walk ahead of older ones not yet
 * walked, breaking start order from the next iteration on.) */
#include "internal.h"

ART__DECLARE_HANDLE_OPS(idle);
ART__DECLARE_HANDLE_OPS(prepare);
ART__DECLARE_HANDLE_OPS(check);

/* Moves every element of from to the front of to, keeping their order. */
static void prepend_all(art__queue_t *to, art__queue_t *from) {
  if (art__queue_empty(from))
    return;
  art__queue_t *first = from->next, *last = from->prev;
  last->next = to->next;
  to->next->prev = last;
  to->next = first;
  first->prev = to;
  art__queue_init(from);
}

static void run_phase(art_loop_t *loop, art__queue_t *list) {
  art__queue_t todo, done;
  art__queue_move(list, &todo);
  art__queue_init(&done);
  while (!art__queue_empty(&todo)) {
    art__queue_t *q = art__queue_head(&todo);
    art__queue_remove(q);
    art__queue_insert_tail(&done, q);
    /* Same layout for all three types; idle stands for them. */
    art_idle_t *h = art__container_of(q, art_idle_t, queue_);
    ART__CALLBACK(h, h->cb_, (h));
  }
  prepend_all(list, &done);
}

static void phase_handle_close(art_handle_t *h) {
  art_idle_t *p = (art_idle_t *)h;
  art__queue_remove(&p->queue_);
}

#define ART__PHASE_IMPL(name, TYPE)                                            \
  int art_##name##_init(art_loop_t *loop, art_##name##_t *h) {                 \
    if (!art__loop_usable(loop) || h == NULL)                                  \
      return ART_EINVAL;                                                       \
    art__handle_init(loop, (art_handle_t *)h, &art__##name##_ops);             \
    h->cb_ = NULL;                                                             \
    art__queue_init(&h->queue_);                                               \
    return 0;                                                                  \
  }                                                                            \
                                                                               \
  int art_##name##_start(art_##name##_t *h, art_##name##_cb cb) {              \
    if (!art__handle_usable((art_handle_t *)h) || h->type != TYPE ||           \
        cb == NULL)                                                            \
      return ART_EINVAL;                                                       \
    h->cb_ = cb;                                                               \
    art__handle_capture((art_handle_t *)h);                                    \
    if (h->flags_ & ART__H_ACTIVE)                                             \
      return 0;                                                                \
    art__queue_insert_tail(&h->loop->name##_handles_, &h->queue_);             \
    art__handle_start((art_handle_t *)h);                                      \
    return 0;                                                                  \
  }                                                                            \
                                                                               \
  int art_##name##_stop(art_##name##_t *h) {                                   \
    if (!art__handle_is((art_handle_t *)h, TYPE))                              \
      return ART_EINVAL;                                                       \
    if (!art__handle_usable((art_handle_t *)h))                                \
      return 0; /* art_close stopped it */                                     \
    art__queue_remove(&h->queue_);                                             \
    art__handle_stop((art_handle_t *)h);                                       \
    return 0;                                                                  \
  }                                                                            \
                                                                               \
  void art__run_##name(art_loop_t *loop) {                                     \
    /* Tested here: an empty phase, the common case, then costs no frame. */   \
    if (!art__queue_empty(&loop->name##_handles_))                             \
      run_phase(loop, &loop->name##_handles_);                                 \
  }                                                                            \
                                                                               \
  const art__handle_ops_t art__##name##_ops = {                                \
      TYPE, #name, sizeof(art_##name##_t), phase_handle_close, NULL,           \
      NULL, NULL};

ART__PHASE_IMPL(idle, ART_IDLE)
ART__PHASE_IMPL(prepare, ART_PREPARE)
ART__PHASE_IMPL(check, ART_CHECK)
