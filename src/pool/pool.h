/* Internal interface of the work pool (src/pool/pool.c) and of the
 * completion channels that join it to loops (src/pool/channel.c), for the
 * requests built on them (fs, dns, work). */
#ifndef ART_POOL_INTERNAL_H
#define ART_POOL_INTERNAL_H

#include "internal.h"

/* States of an item (w->state_, accessed atomically). */
enum {
  ART__W_IDLE = 0,
  ART__W_QUEUED,
  ART__W_RUNNING,
  ART__W_DONE,
  ART__W_CANCELED,
  ART__W_ELSEWHERE /* run by its owner outside the pool: see cancel_ */
};

/* A completion channel: the one object where a loop and a pool meet. There
 * is one per (pool, loop), made by the loop's first submission to that
 * pool. Work goes out through it (batched while the loop runs a batch of
 * completions) and comes back through it: a worker pushes the finished item
 * on the channel's lock-free stack and writes the loop's eventfd only when
 * the stack was empty; the loop drains the stack, as one of its wake
 * sources, in the poll phase. */
typedef struct art__channel {
  art__wake_source_t source; /* first: the loop's wake source node */
  art_loop_t *loop;
  art_pool_t *pool;
  struct art__work *done;    /* atomic: finished or canceled items, LIFO */
  struct art__queue batch;   /* submitted while batching, not yet on a lane */
  unsigned nbatch;           /* items in batch */
  struct art__channel *next; /* the loop's other channels */
} art__channel_t;

/* Hands w back to its loop: pushes it on the channel's stack with one CAS
 * and wakes the loop only when the stack was empty (the loop takes the
 * whole stack at once, so one write covers every item pushed until then).
 * Any thread. Until the write is done the poster holds the loop, so that a
 * loop closed from w's own callback waits for it; the channel itself is not
 * touched after the push. */
static inline void art__channel_post(struct art__work *w) {
  art__channel_t *ch = w->chan_;
  art_loop_t *loop = ch->loop;
  art__loop_hold(loop);
  struct art__work *head = __atomic_load_n(&ch->done, __ATOMIC_RELAXED);
  do
    w->next_done_ = head;
  while (!__atomic_compare_exchange_n(&ch->done, &head, w, 1, __ATOMIC_RELEASE,
                                      __ATOMIC_RELAXED));
  if (head == NULL)
    art__loop_wake(loop);
  art__loop_release(loop);
}

/* ---- The pool (src/pool/pool.c). ---- */

/* Puts the n items of list (struct art__work, by wq_) on their lanes under
 * one lock and wakes at most one idle worker per item. */
void art__pool_enqueue(art_pool_t *p, struct art__queue *list,
                       unsigned n) ART__HIDDEN;
/* Takes w off its lane if it is still queued (0), else ART_EBUSY. */
int art__pool_dequeue(art_pool_t *p, struct art__work *w) ART__HIDDEN;
/* Counts a loop that holds the pool open (delta +1 or -1). */
void art__pool_attach(art_pool_t *p, int delta) ART__HIDDEN;
/* The default pool if it was started, else NULL: for readers (the
 * diagnostic report) that must not start threads to look. */
art_pool_t *art__default_pool_peek(void) ART__HIDDEN;
/* The pool the loop submits to now: its art_loop_set_pool choice, else the
 * default pool if started, else NULL. Starts nothing. */
art_pool_t *art__loop_pool_peek(const art_loop_t *loop) ART__HIDDEN;

/* ---- Channels (src/pool/channel.c). ---- */

/* Queues w on the loop's pool in lane and registers req with the loop.
 * work runs on a pool thread; after runs on the loop thread in the poll
 * phase with 0, or ART_ECANCELED if art__work_cancel took it off the queue,
 * and req unregisters after it returns. Returns 0, or an error (the default
 * pool could not start, no memory for the loop's first channel to that
 * pool) with nothing queued or registered. */
int art__work_submit(art_loop_t *loop, art_req_t *req, art_req_type type,
                     struct art__work *w, art_lane lane,
                     void (*work)(struct art__work *w),
                     void (*after)(struct art__work *w,
                                   int status)) ART__HIDDEN;

/* 0 if w was queued and is now canceled (after will run with
 * ART_ECANCELED), ART_EBUSY if it is running or finished, or was never
 * submitted. An item its owner runs elsewhere (ART__W_ELSEWHERE) is
 * canceled by its own cancel_. */
int art__work_cancel(struct art__work *w) ART__HIDDEN;

/* Marks w as never submitted: art_cancel then says ART_EBUSY. */
static inline void art__work_clear(struct art__work *w) {
  w->state_ = ART__W_IDLE;
}

#endif
