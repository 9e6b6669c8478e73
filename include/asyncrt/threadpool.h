/* The work pool: art_pool_t, art_queue_work, lanes, statistics.
 * Included by asyncrt.h; include that, not this. */
/* Thread safety. A pool is shared by threads and guards all of its state
 * with one mutex (src/pool/pool.c), so any thread may call
 * art_pool_init, art_pool_set_size, art_pool_stats and art_pool_histograms
 * at any time.
 * art_default_pool is made once under a mutex and then read with an
 * acquire load: any thread. art_pool_close may be called from any thread
 * too, but like free() only when no loop uses the pool and no other
 * thread is still calling a function on it.
 * On the loop's thread only: art_queue_work, art_queue_work_lane,
 * art_cancel and art_loop_set_pool, which use the loop's channel to the
 * pool (its batch of submissions has no lock).
 * work_cb runs on a pool thread: it may use its request and what the
 * program guards itself, never the loop or its handles (art_async_send
 * excepted). after_work_cb runs on the loop's thread. */
#ifndef ASYNCRT_THREADPOOL_H
#define ASYNCRT_THREADPOOL_H

#include "core.h"
#include "histogram.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct art_pool_s art_pool_t;
typedef struct art_work_s art_work_t;

/* Lanes keep kinds of work apart: slow work (DNS) may never occupy more than
 * half the threads, so it cannot starve file-system work. */
typedef enum {
  ART_LANE_CPU = 0, /* art_queue_work */
  ART_LANE_FS,      /* file-system requests */
  ART_LANE_SLOW,    /* DNS and other work that may block for long */
  ART_LANE_COUNT
} art_lane;

struct art__channel;

/* One item of pool work, embedded in every request that runs on the pool
 * (work, fs, getaddrinfo...). Private. */
struct art__work {
  struct art__work *next_done_;       /* on the channel's stack once finished */
  struct art__queue wq_;              /* on a lane's queue while waiting */
  void (*work_)(struct art__work *w); /* on a pool thread */
  void (*after_)(struct art__work *w, int status); /* on the loop thread */
  struct art__channel *chan_; /* the (pool, loop) it goes and returns by */
  int lane_;
  int state_; /* queued, running, done, canceled: src/pool/pool.c */
  uint64_t queued_ns_;
  uint64_t started_ns_;
  /* ART__W_ELSEWHERE: the request runs outside the pool (a file call in
   * the loop's io_uring), and this cancels it there. */
  int (*cancel_)(struct art__work *w);
  void *reserved_[1]; /* the public fields of pool requests follow: room
                         to grow without moving them */
};

typedef void (*art_work_cb)(art_work_t *req);
typedef void (*art_after_work_cb)(art_work_t *req, int status);

/* Every request that runs on the pool starts with these fields, so that
 * art_cancel finds its work item without knowing its type. */
#define ART_POOL_REQ_FIELDS                                                    \
  ART_REQ_FIELDS                                                               \
  struct art__work work_;

struct art_work_s {
  ART_POOL_REQ_FIELDS
  art_work_cb work_cb_;
  art_after_work_cb after_work_cb_;
};

/* Counters of a pool; see art_pool_stats. */
typedef struct {
  unsigned threads;                /* worker threads now */
  unsigned idle;                   /* of which asleep, waiting for work */
  uint64_t queued[ART_LANE_COUNT]; /* items waiting, per lane */
  uint64_t running;                /* items being run */
  uint64_t completed;              /* items finished (canceled excluded) */
  uint64_t canceled;               /* items canceled before they ran */
  uint64_t wait_time_ns;           /* total time items waited in a queue */
  uint64_t run_time_ns;            /* total time items ran */
} art_pool_stats_t;

/* Creates a pool of nthreads (1-1024) workers. ART_EINVAL outside that
 * range, ART_ENOMEM, or the error of pthread_create. */
ART_EXTERN int art_pool_init(art_pool_t **pool, unsigned nthreads);

/* Changes the number of workers (1-1024) while the pool runs. Growing
 * starts threads at once; shrinking does not wait: workers above the new
 * size exit as soon as they are between items, so running work finishes.
 * art_pool_stats shows the count falling. */
ART_EXTERN int art_pool_set_size(art_pool_t *pool, unsigned nthreads);

/* Stops the workers and frees the pool. ART_EBUSY, changing nothing, while
 * work is queued or running or a loop still uses the pool (art_loop_set_pool
 * until that loop is closed or given another pool). ART_EINVAL for the
 * default pool, which is closed at process exit. */
ART_EXTERN int art_pool_close(art_pool_t *pool);

/* Copies the pool's counters. NULL means the default pool. */
ART_EXTERN int art_pool_stats(art_pool_t *pool, art_pool_stats_t *stats);

/* Copies the pool's histograms of one lane: how long each item that
 * started waited in the queue (wait), and how long each item that finished
 * ran (run), in ns, since the pool was made. Canceled items are in
 * neither. Either pointer may be NULL, not both. Workers record them under
 * the pool's lock, and the copy is made under it: any thread. NULL pool:
 * the default pool. ART_EINVAL for a lane out of range. */
ART_EXTERN int art_pool_histograms(art_pool_t *pool, art_lane lane,
                                   art_histogram_t *wait, art_histogram_t *run);

/* The process-wide default pool, started on first use with 4 threads or
 * ART_THREADPOOL_SIZE (1-1024). NULL if it cannot start; *err (may be NULL)
 * says why, ART_EINVAL for a bad ART_THREADPOOL_SIZE. */
ART_EXTERN art_pool_t *art_default_pool(int *err);

/* Makes the loop submit its work to pool (NULL: the default pool) from now
 * on; work already submitted finishes on the pool it was given to. */
ART_EXTERN int art_loop_set_pool(art_loop_t *loop, art_pool_t *pool);

/* Runs work_cb on a pool thread (CPU lane), then after_work_cb(req, 0) on
 * the loop thread in the poll phase; after_work_cb(req, ART_ECANCELED)
 * instead if the work was canceled before it started. after_work_cb may be
 * NULL. The request keeps the loop alive until after_work_cb returns, and
 * may be queued again from it. Nothing is allocated. Work queued from an
 * after-callback reaches the pool when that batch of completions has been
 * run (at most 256 items later), in one lock acquisition. ART_EINVAL for
 * NULL loop, req or work_cb, or the error of starting the default pool
 * (ART_EINVAL for a bad ART_THREADPOOL_SIZE). Call it on the loop's
 * thread. */
ART_EXTERN int art_queue_work(art_loop_t *loop, art_work_t *req,
                              art_work_cb work_cb,
                              art_after_work_cb after_work_cb);

/* art_queue_work on a chosen lane: ART_LANE_SLOW for work that may block
 * for long (a remote database, a slow device), so that it never holds more
 * than half the threads; ART_LANE_FS for short blocking file-system calls.
 * ART_EINVAL for a lane out of range. */
ART_EXTERN int art_queue_work_lane(art_loop_t *loop, art_work_t *req,
                                   art_lane lane, art_work_cb work_cb,
                                   art_after_work_cb after_work_cb);

/* Cancels a request (work, fs, getaddrinfo, getnameinfo) that is queued
 * and not yet running: its callback runs with ART_ECANCELED, exactly once.
 * ART_EBUSY if it is already running or done. An fs request the loop's
 * io_uring runs is canceled in the ring even while the kernel runs it
 * (0): its callback runs once, with ART_ECANCELED, or with its result if
 * it finished first; a second art_cancel says ART_EBUSY. */
ART_EXTERN int art_cancel(art_req_t *req);

#ifdef __cplusplus
}
#endif

#endif
