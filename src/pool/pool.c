/* The work pool: worker threads, per-lane queues, statistics, and the
 * process-wide default pool. How loops submit to it and get their items
 * back is src/pool/channel.c's: this file sees a loop only through the
 * channel an item carries.
 *
 * Notes on the design:
 *
 * 1. One mutex per pool guards the lanes, the counters and the worker lists.
 *    An idle worker sleeps on a semaphore of its own, on the pool's list of
 *    idle workers. Whoever queues n items takes up to n workers off that
 *    list under the lock and posts their semaphores after dropping it, so
 *    a busy pool takes no futex wake per item, and the thread that queues
 *    never waits for a woken worker to be scheduled. (It did with a shared
 *    condition variable: glibc's pthread_cond_broadcast and _signal wait
 *    for waiters woken earlier that have not run yet, which cost the loop
 *    thread 20-40 us per broadcast on a 2-vCPU VM; see
 *    docs/performance.md. Waking one worker and letting each woken worker
 *    wake the next was measured too: slower, the wakeups then come one
 *    after another.)
 * 2. Lanes (CPU, FS, SLOW) are separate FIFO queues taken round-robin, and a
 *    worker takes SLOW work only while fewer than half the threads (rounded
 *    up, at least one) run slow work: DNS cannot starve the file system.
 * 3. A finished item goes back through its completion channel
 *    (art__channel_post): pushed on the channel's stack, waking the loop
 *    only when that stack was empty, which writes the loop's eventfd only
 *    if the loop is not running (src/wakeup.c). Statistics are updated
 *    before the post, so that when the after-callback runs the pool already
 *    counts the item as done (art_pool_close from the callback then
 *    succeeds).
 * 4. Shrinking lowers the target; a worker above the target exits when it
 *    next looks for work, so running items finish. Exited workers are joined
 *    by the next art_pool_set_size or art_pool_close.
 * 5. The default pool is made on first use and closed by a destructor at
 *    process exit if it is idle.
 * 8. Fork. Every pool is on a process-wide list. Around fork(2) the forking
 *    thread holds every pool's lock, so no worker is halfway through an
 *    update of a queue. In the child the workers do not exist: each item
 *    that was queued or running goes back to its loop as canceled (its
 *    channel delivers it when the loop next drains, which art_loop_fork
 *    makes happen), the pool forgets its workers, and the first submission
 *    starts them again (p->nthreads is 0 only there, and in a pool being
 *    closed, which takes no more submissions).
 * 6. Nothing is allocated per item: struct art__work lives in the request.
 * 7. The wait and run histograms are recorded by the worker under the lock
 *    it holds anyway to book the item, from the clock read it makes anyway:
 *    a few ns, no atomics (a histogram shared by workers would need an
 *    atomic add per field, about 20 ns uncontended and 100 contended;
 *    bench_histogram). Canceled items never started: they are in neither.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

#define POOL_MAX_THREADS 1024u
#define DEFAULT_THREADS  4u

/* One worker thread. */
typedef struct {
  pthread_t tid;               /* the thread */
  struct art__queue node;      /* on pool->workers_ or pool->exited_ */
  struct art__queue idle_node; /* on pool->idle_workers while it sleeps */
  sem_t wake;       /* posted once by whoever takes it off idle_workers */
  art_pool_t *pool; /* its pool */
  struct art__work *current; /* the item it runs, under the lock (note 8) */
} worker_t;

struct art_pool_s {
  pthread_mutex_t lock;                    /* guards everything below */
  struct art__queue idle_workers;          /* worker_t sleeping, latest first */
  pthread_cond_t exit_cond;                /* art_pool_close waits for exits */
  struct art__queue lanes[ART_LANE_COUNT]; /* queued items, FIFO per lane */
  uint64_t queued[ART_LANE_COUNT];         /* items on each lane */
  unsigned next_lane;                      /* where the round-robin starts */
  unsigned target;                         /* wanted number of workers */
  unsigned nthreads;                       /* live workers */
  unsigned idle;                           /* workers on idle_workers */
  unsigned slow_running;                   /* SLOW items being run */
  unsigned loops;                          /* loops given this pool */
  uint64_t running;                        /* items being run */
  uint64_t completed;                      /* items that ran to the end */
  uint64_t canceled;                       /* items canceled while queued */
  uint64_t wait_ns; /* total queue time of started items */
  uint64_t run_ns;  /* total run time of finished items */
  /* Per lane, the queue wait of every started item and the run time of
   * every finished one (note 7). */
  art_histogram_t wait_hist[ART_LANE_COUNT];
  art_histogram_t run_hist[ART_LANE_COUNT];
  struct art__queue workers; /* worker_t, alive */
  struct art__queue exited;  /* worker_t, exited, to be joined */
  struct art__queue all;     /* on all_pools (note 8) */
};

/* Every pool of the process, for fork (note 8). */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static struct art__queue all_pools = {&all_pools, &all_pools};

/* The largest number of workers that may run SLOW items at once. */
static unsigned slow_limit(const art_pool_t *p) {
  unsigned n = (p->target + 1) / 2;
  return n == 0 ? 1 : n;
}

static unsigned next_lane_of(unsigned lane) {
  return lane + 1 == ART_LANE_COUNT ? 0 : lane + 1;
}

/* Takes the next item a worker may run, or NULL. Called locked. Lanes are
 * served round-robin, one item each in turn. */
static struct art__work *take_work(art_pool_t *p) {
  unsigned lane = p->next_lane;
  for (unsigned i = 0; i < ART_LANE_COUNT; i++, lane = next_lane_of(lane)) {
    if (art__queue_empty(&p->lanes[lane]))
      continue;
    if (lane == ART_LANE_SLOW && p->slow_running >= slow_limit(p))
      continue;
    p->next_lane = next_lane_of(lane);
    art__queue_t *q = art__queue_head(&p->lanes[lane]);
    art__queue_remove(q);
    p->queued[lane]--;
    return art__container_of(q, struct art__work, wq_);
  }
  return NULL;
}

/* Takes the idle worker that went to sleep last (its cache is the warmest)
 * off the idle list, or returns NULL if none is idle. Called locked; the
 * caller wakes it with wake_worker once it has dropped the lock, so the
 * woken thread does not find the lock held. Until then it stays blocked on
 * its semaphore, so it cannot exit under the caller. */
static worker_t *take_idle(art_pool_t *p) {
  if (art__queue_empty(&p->idle_workers))
    return NULL;
  art__queue_t *q = art__queue_head(&p->idle_workers);
  art__queue_remove(q);
  p->idle--;
  return art__container_of(q, worker_t, idle_node);
}

/* Wakes a worker that take_idle returned (nothing for NULL). */
static void wake_worker(worker_t *wk) {
  if (wk != NULL)
    sem_post(&wk->wake);
}

/* Wakes every idle worker, so that those above the target exit. Called
 * locked (only when resizing or closing the pool). */
static void wake_all_idle(art_pool_t *p) {
  worker_t *wk;
  while ((wk = take_idle(p)) != NULL)
    wake_worker(wk);
}

/* Puts self on the idle list and sleeps until someone takes it off and
 * wakes it. Called locked; returns locked. */
static void sleep_idle(art_pool_t *p, worker_t *self) {
  art__queue_insert_head(&p->idle_workers, &self->idle_node);
  p->idle++;
  pthread_mutex_unlock(&p->lock);
  while (sem_wait(&self->wake) == -1 && errno == EINTR)
    ;
  pthread_mutex_lock(&p->lock);
}

/* Books the end, at now, of the item a worker just ran. Called locked. The
 * statistics change before the completion is posted, so the
 * after-callback already sees the item as done. */
static void finish_locked(art_pool_t *p, struct art__work *w, uint64_t now) {
  p->running--;
  p->completed++;
  p->run_ns += now - w->started_ns_;
  art_histogram_record(&p->run_hist[w->lane_], now - w->started_ns_);
  if (w->lane_ == ART_LANE_SLOW)
    p->slow_running--;
}

/* Marks w as started at now. Called locked. */
static void start_locked(art_pool_t *p, struct art__work *w, uint64_t now) {
  __atomic_store_n(&w->state_, ART__W_RUNNING, __ATOMIC_RELAXED);
  p->running++;
  if (w->lane_ == ART_LANE_SLOW)
    p->slow_running++;
  uint64_t waited = now > w->queued_ns_ ? now - w->queued_ns_ : 0;
  p->wait_ns += waited;
  art_histogram_record(&p->wait_hist[w->lane_], waited);
  w->started_ns_ = now;
}

/* Leaves the pool: called locked by a worker above the target. */
static void worker_exit(art_pool_t *p, worker_t *self) {
  art__queue_remove(&self->node);
  art__queue_insert_tail(&p->exited, &self->node);
  p->nthreads--;
  pthread_cond_broadcast(&p->exit_cond);
}

/* A worker takes the pool lock once per item, to book the item it just ran
 * and take the next, and reads the clock once per item: the end of one
 * item is the start of the next. The finished item is posted to its loop
 * after the lock is dropped; from then on the loop may reuse it. */
static void *worker_main(void *arg) {
  worker_t *self = arg;
  art_pool_t *p = self->pool;
  struct art__work *w = NULL; /* the item being run */
  uint64_t now = 0;           /* when it ended */
  pthread_mutex_lock(&p->lock);
  for (;;) {
    struct art__work *done = w;
    if (done != NULL)
      finish_locked(p, done, now);
    w = p->nthreads > p->target ? NULL : take_work(p);
    self->current = w;
    if (w != NULL) {
      start_locked(p, w, done != NULL ? now : art_hrtime());
    } else if (done == NULL) {
      if (p->nthreads > p->target)
        break;
      sleep_idle(p, self);
      continue;
    }
    pthread_mutex_unlock(&p->lock);
    if (done != NULL)
      art__channel_post(done);
    if (w != NULL) {
      w->work_(w);
      now = art_hrtime();
    }
    pthread_mutex_lock(&p->lock);
  }
  worker_exit(p, self);
  pthread_mutex_unlock(&p->lock);
  return NULL;
}

/* Starts one worker with every signal blocked, so signals go to the
 * program's own threads. Called locked. */
static int start_worker(art_pool_t *p) {
  worker_t *wk = art__malloc(sizeof(*wk));
  if (wk == NULL)
    return ART_ENOMEM;
  wk->pool = p;
  wk->current = NULL;
  if (sem_init(&wk->wake, 0, 0) != 0) {
    int err = -errno;
    art__free(wk);
    return err;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  int err = pthread_create(&wk->tid, NULL, worker_main, wk);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (err != 0) {
    sem_destroy(&wk->wake);
    art__free(wk);
    return -err;
  }
  art__queue_insert_tail(&p->workers, &wk->node);
  p->nthreads++;
  return 0;
}

/* Joins and frees the workers that have exited. Called unlocked; the list
 * is detached under the lock first. */
static void join_exited(art_pool_t *p) {
  art__queue_t local;
  pthread_mutex_lock(&p->lock);
  art__queue_move(&p->exited, &local);
  pthread_mutex_unlock(&p->lock);
  while (!art__queue_empty(&local)) {
    art__queue_t *q = art__queue_head(&local);
    art__queue_remove(q);
    worker_t *wk = art__container_of(q, worker_t, node);
    pthread_join(wk->tid, NULL);
    sem_destroy(&wk->wake);
    art__free(wk);
  }
}

/* Brings the number of workers toward n. Called locked. Growing may stop
 * early on an error, which is returned; the workers already made stay. */
static int resize_locked(art_pool_t *p, unsigned n) {
  p->target = n;
  while (p->nthreads < n) {
    int err = start_worker(p);
    if (err) {
      p->target = p->nthreads > 0 ? p->nthreads : 1;
      return err;
    }
  }
  if (p->nthreads > n)
    wake_all_idle(p);
  return 0;
}

static void pool_free(art_pool_t *p) {
  pthread_mutex_lock(&all_lock);
  art__queue_remove(&p->all);
  pthread_mutex_unlock(&all_lock);
  pthread_cond_destroy(&p->exit_cond);
  pthread_mutex_destroy(&p->lock);
  art__free(p);
}

/* Stops every worker and frees the pool. Only called when it is idle. */
static void pool_destroy(art_pool_t *p) {
  pthread_mutex_lock(&p->lock);
  p->target = 0;
  wake_all_idle(p);
  while (p->nthreads > 0)
    pthread_cond_wait(&p->exit_cond, &p->lock);
  pthread_mutex_unlock(&p->lock);
  join_exited(p);
  pool_free(p);
}

/* ---- Fork (note 8). ---- */

static pthread_mutex_t default_lock = PTHREAD_MUTEX_INITIALIZER;

/* Before fork: no pool is made or freed, no default pool is being made,
 * and no worker is inside a pool's lock. */
static void fork_prepare(void) {
  pthread_mutex_lock(&default_lock);
  pthread_mutex_lock(&all_lock);
  for (art__queue_t *q = all_pools.next; q != &all_pools; q = q->next)
    pthread_mutex_lock(&art__container_of(q, art_pool_t, all)->lock);
}

static void fork_parent(void) {
  for (art__queue_t *q = all_pools.next; q != &all_pools; q = q->next)
    pthread_mutex_unlock(&art__container_of(q, art_pool_t, all)->lock);
  pthread_mutex_unlock(&all_lock);
  pthread_mutex_unlock(&default_lock);
}

/* An item the child will never run goes back to its loop as canceled.
 * The child has one thread: plain stores would do, the atomics are the
 * channel's usual ones. */
static void give_back(struct art__work *w) {
  __atomic_store_n(&w->state_, ART__W_CANCELED, __ATOMIC_RELAXED);
  art__channel_t *ch = w->chan_;
  w->next_done_ = __atomic_load_n(&ch->done, __ATOMIC_RELAXED);
  __atomic_store_n(&ch->done, w, __ATOMIC_RELAXED);
}

/* The child's copy of a pool: its workers stayed in the parent. */
static void reset_in_child(art_pool_t *p) {
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->exit_cond, NULL);
  for (unsigned l = 0; l < ART_LANE_COUNT; l++) {
    while (!art__queue_empty(&p->lanes[l])) {
      art__queue_t *q = art__queue_head(&p->lanes[l]);
      art__queue_remove(q);
      give_back(art__container_of(q, struct art__work, wq_));
      p->canceled++;
    }
    p->queued[l] = 0;
  }
  art__queue_t *lists[] = {&p->workers, &p->exited};
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
    while (!art__queue_empty(lists[i])) {
      art__queue_t *q = art__queue_head(lists[i]);
      art__queue_remove(q);
      worker_t *wk = art__container_of(q, worker_t, node);
      if (wk->current != NULL)
        give_back(wk->current);
      art__free(wk); /* its semaphore died with the thread's process */
    }
  art__queue_init(&p->idle_workers);
  p->nthreads = p->idle = p->slow_running = 0;
  p->running = 0;
}

static void fork_child(void) {
  for (art__queue_t *q = all_pools.next; q != &all_pools; q = q->next)
    reset_in_child(art__container_of(q, art_pool_t, all));
  pthread_mutex_init(&all_lock, NULL);
  pthread_mutex_init(&default_lock, NULL);
}

static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void install_atfork(void) {
  pthread_atfork(fork_prepare, fork_parent, fork_child);
}

int art_pool_init(art_pool_t **pool, unsigned nthreads) {
  if (pool == NULL || nthreads < 1 || nthreads > POOL_MAX_THREADS)
    return ART_EINVAL;
  art_pool_t *p = art__calloc(1, sizeof(*p));
  if (p == NULL)
    return ART_ENOMEM;
  pthread_mutex_init(&p->lock, NULL);
  pthread_cond_init(&p->exit_cond, NULL);
  for (unsigned i = 0; i < ART_LANE_COUNT; i++)
    art__queue_init(&p->lanes[i]);
  art__queue_init(&p->workers);
  art__queue_init(&p->exited);
  art__queue_init(&p->idle_workers);
  for (unsigned i = 0; i < ART_LANE_COUNT; i++) {
    art_histogram_init(&p->wait_hist[i]);
    art_histogram_init(&p->run_hist[i]);
  }
  pthread_once(&atfork_once, install_atfork);
  pthread_mutex_lock(&all_lock);
  art__queue_insert_tail(&all_pools, &p->all);
  pthread_mutex_unlock(&all_lock);
  pthread_mutex_lock(&p->lock);
  int err = resize_locked(p, nthreads);
  pthread_mutex_unlock(&p->lock);
  if (err) {
    pool_destroy(p);
    return err;
  }
  *pool = p;
  return 0;
}

int art_pool_set_size(art_pool_t *pool, unsigned nthreads) {
  if (pool == NULL || nthreads < 1 || nthreads > POOL_MAX_THREADS)
    return ART_EINVAL;
  pthread_mutex_lock(&pool->lock);
  int err = resize_locked(pool, nthreads);
  pthread_mutex_unlock(&pool->lock);
  join_exited(pool);
  return err;
}

/* ---- Queueing and taking back. ---- */

/* Puts the items on their lanes and wakes as many idle workers as there
 * are items, after dropping the lock (note 1). */
void art__pool_enqueue(art_pool_t *p, art__queue_t *list, unsigned n) {
  pthread_mutex_lock(&p->lock);
  if (__builtin_expect(p->nthreads == 0, 0))
    resize_locked(p, p->target); /* a child after fork: note 8 */
  while (!art__queue_empty(list)) {
    art__queue_t *q = art__queue_head(list);
    struct art__work *w = art__container_of(q, struct art__work, wq_);
    art__queue_remove(q);
    art__queue_insert_tail(&p->lanes[w->lane_], q);
    p->queued[w->lane_]++;
  }
  art__queue_t wake; /* the workers to wake, by idle_node */
  art__queue_init(&wake);
  worker_t *wk;
  while (n-- > 0 && (wk = take_idle(p)) != NULL)
    art__queue_insert_tail(&wake, &wk->idle_node);
  pthread_mutex_unlock(&p->lock);
  while (!art__queue_empty(&wake)) {
    art__queue_t *q = art__queue_head(&wake);
    art__queue_remove(q);
    wake_worker(art__container_of(q, worker_t, idle_node));
  }
}

int art__pool_dequeue(art_pool_t *p, struct art__work *w) {
  pthread_mutex_lock(&p->lock);
  int queued = __atomic_load_n(&w->state_, __ATOMIC_RELAXED) == ART__W_QUEUED;
  if (queued) {
    art__queue_remove(&w->wq_);
    p->queued[w->lane_]--;
    p->canceled++;
    __atomic_store_n(&w->state_, ART__W_CANCELED, __ATOMIC_RELAXED);
  }
  pthread_mutex_unlock(&p->lock);
  return queued ? 0 : ART_EBUSY;
}

/* ---- The default pool. ---- */

static art_pool_t *default_pool;
static int default_err;       /* a sticky error from reading the size */
static int default_size_read; /* ART_THREADPOOL_SIZE was looked at */
static unsigned default_size; /* the size it gave */

/* Reads ART_THREADPOOL_SIZE once. A value that is not a whole number from 1
 * to 1024 is an error that every later use reports, with one line on
 * stderr saying why: silently running with another size would hide it. */
static int read_default_size(void) {
  const char *s = getenv("ART_THREADPOOL_SIZE");
  default_size_read = 1;
  default_size = DEFAULT_THREADS;
  if (s == NULL || *s == '\0')
    return 0;
  char *end;
  errno = 0;
  unsigned long n = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || s[0] == '-' || n < 1 ||
      n > POOL_MAX_THREADS) {
    fprintf(stderr,
            "libasyncrt: ART_THREADPOOL_SIZE=\"%s\" is not a number from 1 "
            "to %u; the work pool will not start\n",
            s, POOL_MAX_THREADS);
    return ART_EINVAL;
  }
  default_size = (unsigned)n;
  return 0;
}

art_pool_t *art_default_pool(int *err) {
  int e = 0;
  art_pool_t *p = __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE);
  if (p != NULL) { /* every submission passes here: no lock once made */
    if (err != NULL)
      *err = 0;
    return p;
  }
  pthread_mutex_lock(&default_lock);
  if (!default_size_read)
    default_err = read_default_size();
  p = default_pool;
  if (p == NULL && default_err == 0) {
    e = art_pool_init(&p, default_size);
    if (e == 0)
      __atomic_store_n(&default_pool, p, __ATOMIC_RELEASE);
  } else {
    e = default_err;
  }
  pthread_mutex_unlock(&default_lock);
  if (err != NULL)
    *err = p != NULL ? 0 : e;
  return p;
}

/* At exit, an idle default pool is closed so that valgrind sees no leak; a
 * busy one is left alone, as joining a worker stuck in a system call would
 * hang the exit. */
__attribute__((destructor)) static void default_pool_teardown(void) {
  pthread_mutex_lock(&default_lock);
  art_pool_t *p = default_pool;
  int idle = 0;
  if (p != NULL) {
    pthread_mutex_lock(&p->lock);
    idle = p->running == 0 && p->queued[0] + p->queued[1] + p->queued[2] == 0;
    pthread_mutex_unlock(&p->lock);
  }
  if (idle) {
    __atomic_store_n(&default_pool, NULL, __ATOMIC_RELEASE);
    pool_destroy(p);
  }
  pthread_mutex_unlock(&default_lock);
}

art_pool_t *art__default_pool_peek(void) {
  return __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE);
}

int art_pool_close(art_pool_t *pool) {
  if (pool == NULL)
    return ART_EINVAL;
  if (pool == __atomic_load_n(&default_pool, __ATOMIC_ACQUIRE))
    return ART_EINVAL;
  pthread_mutex_lock(&pool->lock);
  int busy = pool->running > 0 || pool->loops > 0 ||
             pool->queued[0] + pool->queued[1] + pool->queued[2] > 0;
  pthread_mutex_unlock(&pool->lock);
  if (busy)
    return ART_EBUSY;
  pool_destroy(pool);
  return 0;
}

int art_pool_stats(art_pool_t *pool, art_pool_stats_t *s) {
  int err;
  if (s == NULL)
    return ART_EINVAL;
  if (pool == NULL && (pool = art_default_pool(&err)) == NULL)
    return err;
  pthread_mutex_lock(&pool->lock);
  s->threads = pool->nthreads;
  s->idle = pool->idle;
  for (unsigned i = 0; i < ART_LANE_COUNT; i++)
    s->queued[i] = pool->queued[i];
  s->running = pool->running;
  s->completed = pool->completed;
  s->canceled = pool->canceled;
  s->wait_time_ns = pool->wait_ns;
  s->run_time_ns = pool->run_ns;
  pthread_mutex_unlock(&pool->lock);
  return 0;
}

int art_pool_histograms(art_pool_t *pool, art_lane lane, art_histogram_t *wait,
                        art_histogram_t *run) {
  int err;
  if ((unsigned)lane >= ART_LANE_COUNT || (wait == NULL && run == NULL))
    return ART_EINVAL;
  if (pool == NULL && (pool = art_default_pool(&err)) == NULL)
    return err;
  pthread_mutex_lock(&pool->lock);
  if (wait != NULL)
    *wait = pool->wait_hist[lane];
  if (run != NULL)
    *run = pool->run_hist[lane];
  pthread_mutex_unlock(&pool->lock);
  return 0;
}

/* Counts the loops that use a pool, so that it cannot be closed under
 * them. */
void art__pool_attach(art_pool_t *p, int delta) {
  pthread_mutex_lock(&p->lock);
  p->loops += delta;
  pthread_mutex_unlock(&p->lock);
}
