/* Internal interface of the work pool, for the requests built on it (fs,
 * dns, work). */
#ifndef ART_THREADPOOL_INTERNAL_H
#define ART_THREADPOOL_INTERNAL_H

#include "internal.h"

/* Queues w on the loop's pool in lane. work runs on a pool thread; after
 * runs on the loop thread in the poll phase with 0, or ART_ECANCELED if
 * art__work_cancel took it off the queue. Counts as an active request of the
 * loop from submission until after returns. Returns 0, or an error (the
 * default pool could not start) with nothing queued. */
int art__work_submit(art_loop_t *loop, struct art__work *w, art_lane lane,
                     void (*work)(struct art__work *w),
                     void (*after)(struct art__work *w,
                                   int status)) ART__HIDDEN;

/* 0 if w was queued and is now canceled (after will run with
 * ART_ECANCELED), ART_EBUSY if it is running or finished. */
int art__work_cancel(struct art__work *w) ART__HIDDEN;

/* The poll phase brackets a batch of completions with these (on the loop
 * thread): work submitted meanwhile reaches the pool in one batch at the
 * end. begin returns what end must be given. */
int art__pool_batch_begin(art_loop_t *loop) ART__HIDDEN;
void art__pool_batch_end(int begun) ART__HIDDEN;

/* Called by art_loop_close: the loop stops holding its pool open. */
void art__pool_loop_close(art_loop_t *loop) ART__HIDDEN;

#endif
