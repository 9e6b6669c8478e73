/* Completion channels: how a loop submits work to a pool and gets it back,
 * and the requests that are plain pool work (art_queue_work, art_cancel).
 *
 * Notes:
 * 1. One channel per (pool, loop), made on the loop's first submission to
 *    the pool and freed when the loop closes (the pool area's extension,
 *    src/internal.h). Items carry their channel, so work submitted before
 *    art_loop_set_pool finishes on the pool it went to and still comes
 *    back to the right loop.
 * 2. Batching. While the loop runs a batch of completions, after-callbacks
 *    that queue more work (the common chain: read, then read again) add it
 *    to their channel's batch; when the batch of completions is done, each
 *    batch reaches its pool under one lock with at most one wakeup per idle
 *    worker. The state is the loop's (pool_loop_t.running) and the
 *    channel's, never a thread's: a loop run from inside another loop's
 *    callback batches on its own. Anything that must see every item on its
 *    lane (cancel, art_loop_set_pool) flushes first.
 * 3. Every request registers with the loop through art__req_register when
 *    submitted and unregisters after its after-callback returns.
 */
#include "pool.h"

/* Items batched per channel before the batch is sent anyway. */
#define BATCH_MAX 256

/* The pool area's state on one loop. */
typedef struct {
  art_pool_t *pool;      /* art_loop_set_pool's choice; NULL: the default */
  art__channel_t *chans; /* every channel of the loop, one per pool used */
  int running;           /* completions being run: submissions batch */
} pool_loop_t;

static void pool_loop_close(art_loop_t *loop, void *state);

static const art__ext_t pool_ext = {"pool", pool_loop_close, NULL};

static pool_loop_t *pool_loop(art_loop_t *loop, int make) {
  pool_loop_t *pl = art__ext_get(loop, &pool_ext);
  if (pl != NULL || !make)
    return pl;
  pl = art__calloc(1, sizeof(*pl));
  if (pl == NULL)
    return NULL;
  if (art__ext_set(loop, &pool_ext, pl) != 0) {
    art__free(pl);
    return NULL;
  }
  return pl;
}

/* Sends the channel's batch to its pool. */
static void flush(art__channel_t *ch) {
  unsigned n = ch->nbatch;
  if (n == 0)
    return;
  ch->nbatch = 0;
  art__pool_enqueue(ch->pool, &ch->batch, n);
}

static void flush_all(pool_loop_t *pl) {
  for (art__channel_t *ch = pl->chans; ch != NULL; ch = ch->next)
    flush(ch);
}

/* Runs on the loop thread for a finished or canceled item: its owner's
 * after-callback (which takes the callback path), then the request stops
 * counting. */
static void work_done(art_loop_t *loop, struct art__work *w) {
  int canceled =
      __atomic_load_n(&w->state_, __ATOMIC_RELAXED) == ART__W_CANCELED;
  /* The type is read first: the after-callback may free the request. */
  art_req_type type = art__container_of(w, art_work_t, work_)->type;
  __atomic_store_n(&w->state_, ART__W_DONE, __ATOMIC_RELAXED);
  w->after_(w, canceled ? ART_ECANCELED : 0);
  art__req_unregister(loop, type);
}

/* The channel's wake source: takes the whole stack and runs it oldest
 * first, batching the submissions its callbacks make. A callback may
 * resubmit its item, so the next link is read before. */
static void drain(art_loop_t *loop, art__wake_source_t *src) {
  art__channel_t *ch = (art__channel_t *)src;
  struct art__work *w = __atomic_exchange_n(&ch->done, NULL, __ATOMIC_ACQUIRE);
  struct art__work *fifo = NULL;
  if (w == NULL)
    return;
  while (w != NULL) { /* reverse the LIFO stack */
    struct art__work *next = w->next_done_;
    w->next_done_ = fifo;
    fifo = w;
    w = next;
  }
  pool_loop_t *pl = pool_loop(loop, 0);
  int outer = !pl->running; /* a callback may run this loop's drain again */
  pl->running = 1;
  while (fifo != NULL) {
    w = fifo;
    fifo = w->next_done_;
    work_done(loop, w);
  }
  if (outer) {
    pl->running = 0;
    flush_all(pl);
  }
}

/* The loop's channel to p, made on first use. */
static art__channel_t *channel_to(art_loop_t *loop, pool_loop_t *pl,
                                  art_pool_t *p) {
  art__channel_t *ch;
  for (ch = pl->chans; ch != NULL; ch = ch->next)
    if (ch->pool == p)
      return ch;
  ch = art__calloc(1, sizeof(*ch));
  if (ch == NULL)
    return NULL;
  ch->loop = loop;
  ch->pool = p;
  ch->source.drain = drain;
  art__queue_init(&ch->batch);
  art__wake_source_add(loop, &ch->source);
  ch->next = pl->chans;
  pl->chans = ch;
  return ch;
}

/* art_loop_close: no request is in flight, so every channel is empty. */
static void pool_loop_close(art_loop_t *loop, void *state) {
  pool_loop_t *pl = state;
  (void)loop;
  while (pl->chans != NULL) {
    art__channel_t *ch = pl->chans;
    pl->chans = ch->next;
    art__wake_source_remove(&ch->source);
    art__free(ch);
  }
  if (pl->pool != NULL)
    art__pool_attach(pl->pool, -1);
  art__free(pl);
}

int art__work_submit(art_loop_t *loop, art_req_t *req, art_req_type type,
                     struct art__work *w, art_lane lane,
                     void (*work)(struct art__work *w),
                     void (*after)(struct art__work *w, int status)) {
  int err = ART_ENOMEM;
  pool_loop_t *pl = pool_loop(loop, 1);
  if (pl == NULL)
    return ART_ENOMEM;
  art_pool_t *p = pl->pool;
  if (p == NULL && (p = art_default_pool(&err)) == NULL)
    return err;
  art__channel_t *ch = channel_to(loop, pl, p);
  if (ch == NULL)
    return ART_ENOMEM;
  w->work_ = work;
  w->after_ = after;
  w->chan_ = ch;
  w->lane_ = lane;
  w->queued_ns_ = art_hrtime();
  art__req_register(loop, req, type);
  __atomic_store_n(&w->state_, ART__W_QUEUED, __ATOMIC_RELAXED);
  if (pl->running) {
    art__queue_insert_tail(&ch->batch, &w->wq_);
    if (++ch->nbatch >= BATCH_MAX)
      flush(ch);
    return 0;
  }
  art__queue_t one;
  art__queue_init(&one);
  art__queue_insert_tail(&one, &w->wq_);
  art__pool_enqueue(p, &one, 1);
  return 0;
}

int art__work_cancel(struct art__work *w) {
  int state = __atomic_load_n(&w->state_, __ATOMIC_RELAXED);
  if (state == ART__W_ELSEWHERE)
    return w->cancel_(w);
  if (state != ART__W_QUEUED)
    return ART_EBUSY;
  art__channel_t *ch = w->chan_;
  flush(ch); /* w may be in the batch: put it on its lane first */
  int err = art__pool_dequeue(ch->pool, w);
  if (err)
    return err;
  /* Back through the channel, so the callback runs in the poll phase like
   * every other completion, never inside art_cancel. */
  art__channel_post(w);
  return 0;
}

art_pool_t *art__loop_pool_peek(const art_loop_t *loop) {
  pool_loop_t *pl = art__ext_get(loop, &pool_ext);
  if (pl != NULL && pl->pool != NULL)
    return pl->pool;
  return art__default_pool_peek();
}

int art_loop_set_pool(art_loop_t *loop, art_pool_t *pool) {
  if (!art__loop_usable(loop))
    return ART_EINVAL;
  pool_loop_t *pl = pool_loop(loop, pool != NULL);
  if (pl == NULL)
    return pool == NULL ? 0 : ART_ENOMEM;
  /* Batched items for the old pool must reach it while it is held. */
  flush_all(pl);
  if (pool != NULL)
    art__pool_attach(pool, 1);
  if (pl->pool != NULL)
    art__pool_attach(pl->pool, -1);
  pl->pool = pool;
  return 0;
}

/* ---- art_queue_work and art_cancel. ---- */

static void queue_work_run(struct art__work *w) {
  art_work_t *req = art__container_of(w, art_work_t, work_);
  req->work_cb_(req);
}

static void queue_work_after(struct art__work *w, int status) {
  art_work_t *req = art__container_of(w, art_work_t, work_);
  if (req->after_work_cb_ != NULL)
    ART__REQ_CALLBACK(req->loop, req, req->after_work_cb_, (req, status));
  else
    art__res_destroy(req->loop, req->res_.id_);
}

int art_queue_work_lane(art_loop_t *loop, art_work_t *req, art_lane lane,
                        art_work_cb work_cb, art_after_work_cb after_work_cb) {
  if (!art__loop_usable(loop) || req == NULL || work_cb == NULL ||
      (unsigned)lane >= ART_LANE_COUNT)
    return ART_EINVAL;
  req->work_cb_ = work_cb;
  req->after_work_cb_ = after_work_cb;
  return art__work_submit(loop, (art_req_t *)req, ART_WORK, &req->work_, lane,
                          queue_work_run, queue_work_after);
}

int art_queue_work(art_loop_t *loop, art_work_t *req, art_work_cb work_cb,
                   art_after_work_cb after_work_cb) {
  return art_queue_work_lane(loop, req, ART_LANE_CPU, work_cb, after_work_cb);
}

int art_cancel(art_req_t *req) {
  if (req == NULL)
    return ART_EINVAL;
  switch (req->type) {
  case ART_WORK:
  case ART_FS:
  case ART_GETADDRINFO:
  case ART_GETNAMEINFO:
    break;
  default:
    return ART_EINVAL;
  }
  /* Every pool request starts with ART_POOL_REQ_FIELDS. */
  return art__work_cancel(&((art_work_t *)req)->work_);
}
