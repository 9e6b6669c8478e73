/* The work pool (src/pool/, the API of asyncrt/threadpool.h): round trips,
 * lanes, cancellation, resizing, statistics, separate pools, shutdown
 * rules. ART_SUITE_THREADS */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers/harness.h"

/* A gate that work items block on until the test opens it, and a count of
 * items that reached it: lets a test hold every worker busy without
 * sleeping. */
typedef struct {
  pthread_mutex_t lock;
  pthread_cond_t cond;
  int open;
  int started;
  int inside;     /* items blocked at the gate now */
  int max_inside; /* the most that were there at once */
} gate_t;

static gate_t gate = {
    PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0};

static void gate_reset(void) {
  gate.open = 0;
  gate.started = 0;
  gate.inside = 0;
  gate.max_inside = 0;
}

static void gate_work(art_work_t *req) {
  pthread_mutex_lock(&gate.lock);
  gate.started++;
  gate.inside++;
  if (gate.inside > gate.max_inside)
    gate.max_inside = gate.inside;
  pthread_cond_broadcast(&gate.cond);
  while (!gate.open)
    pthread_cond_wait(&gate.cond, &gate.lock);
  gate.inside--;
  pthread_mutex_unlock(&gate.lock);
}

/* Waits (10 s at most, for liveness only) until n items reached the gate. */
static int gate_wait_started(int n) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 10;
  pthread_mutex_lock(&gate.lock);
  while (gate.started < n)
    if (pthread_cond_timedwait(&gate.cond, &gate.lock, &ts) != 0)
      break;
  int ok = gate.started >= n;
  pthread_mutex_unlock(&gate.lock);
  return ok;
}

static void gate_open(void) {
  pthread_mutex_lock(&gate.lock);
  gate.open = 1;
  pthread_cond_broadcast(&gate.cond);
  pthread_mutex_unlock(&gate.lock);
}

/* Per-request record of what happened. */
typedef struct {
  art_work_t req;
  pthread_t worker;    /* thread that ran work_cb */
  int ran;             /* work_cb calls */
  int calls;           /* after_cb calls */
  int status;          /* status given to after_cb */
  art_phase phase;     /* phase after_cb ran in */
  pthread_t cb_thread; /* thread after_cb ran on */
} item_t;

static void item_work(art_work_t *req) {
  item_t *it = (item_t *)req;
  it->worker = pthread_self();
  it->ran++;
}

static void item_after(art_work_t *req, int status) {
  item_t *it = (item_t *)req;
  it->calls++;
  it->status = status;
  it->phase = art_loop_phase(req->loop);
  it->cb_thread = pthread_self();
}

ART_TEST(round_trip) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  item_t it;
  memset(&it, 0, sizeof(it));
  assert_int_equal(art_queue_work(loop, &it.req, item_work, item_after), 0);
  assert_int_equal(it.req.type, ART_WORK);
  assert_true(art_loop_alive(loop));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(it.ran, 1);
  assert_int_equal(it.calls, 1);
  assert_int_equal(it.status, 0);
  assert_int_equal(it.phase, ART_PHASE_POLL);
  assert_false(pthread_equal(it.worker, pthread_self()));
  assert_true(pthread_equal(it.cb_thread, pthread_self()));
  /* Done: canceling now is too late. */
  assert_int_equal(art_cancel((art_req_t *)&it.req), ART_EBUSY);
}

static void noop_work(art_work_t *req) {}

ART_TEST(null_after_cb) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_work_t req;
  assert_int_equal(art_queue_work(loop, &req, noop_work, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

#define MANY 2000

ART_TEST(many_items) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  item_t *items = calloc(MANY, sizeof(*items));
  assert_non_null(items);
  for (int i = 0; i < MANY; i++)
    assert_int_equal(art_queue_work(loop, &items[i].req, item_work, item_after),
                     0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(items[i].ran, 1);
    assert_int_equal(items[i].calls, 1);
    assert_int_equal(items[i].status, 0);
  }
  free(items);
}

/* An after-callback that queues its own request again: the request is
 * reusable from its callback, and the loop stays alive across. */
static int chain_left;

static void chain_after(art_work_t *req, int status) {
  assert_int_equal(status, 0);
  if (--chain_left > 0)
    assert_int_equal(art_queue_work(req->loop, req, noop_work, chain_after), 0);
}

ART_TEST(resubmit_from_callback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_work_t req;
  chain_left = 500;
  assert_int_equal(art_queue_work(loop, &req, noop_work, chain_after), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(chain_left, 0);
}

#define QUEUED_BEHIND 16

/* Four workers held at the gate, QUEUED_BEHIND items queued on lane behind
 * them and canceled: each gets ART_ECANCELED once, from the loop. */
static void cancel_behind_blocked(art_loop_t *loop, art_lane lane) {
  art_pool_t *pool;
  item_t blockers[4], waiting[QUEUED_BEHIND];
  memset(blockers, 0, sizeof(blockers));
  memset(waiting, 0, sizeof(waiting));
  gate_reset();
  assert_int_equal(art_pool_init(&pool, 4), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(
        art_queue_work(loop, &blockers[i].req, gate_work, item_after), 0);
  assert_true(gate_wait_started(4));
  for (int i = 0; i < QUEUED_BEHIND; i++)
    assert_int_equal(
        art_queue_work_lane(loop, &waiting[i].req, lane, item_work, item_after),
        0);
  for (int i = 0; i < QUEUED_BEHIND; i++)
    assert_int_equal(art_cancel((art_req_t *)&waiting[i].req), 0);
  /* A second cancel, and canceling running work, are refused. */
  assert_int_equal(art_cancel((art_req_t *)&waiting[0].req), ART_EBUSY);
  for (int i = 0; i < 4; i++)
    assert_int_equal(art_cancel((art_req_t *)&blockers[i].req), ART_EBUSY);
  /* The callbacks come from the loop, not from art_cancel. */
  assert_int_equal(waiting[0].calls, 0);
  art_pool_stats_t s;
  assert_int_equal(art_pool_stats(pool, &s), 0);
  assert_int_equal(s.canceled, QUEUED_BEHIND);
  assert_int_equal(s.queued[lane], 0);
  assert_int_equal(s.running, 4);
  gate_open();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < QUEUED_BEHIND; i++) {
    assert_int_equal(waiting[i].calls, 1);
    assert_int_equal(waiting[i].ran, 0);
    assert_int_equal(waiting[i].status, ART_ECANCELED);
    assert_int_equal(waiting[i].phase, ART_PHASE_POLL);
  }
  for (int i = 0; i < 4; i++) {
    assert_int_equal(blockers[i].calls, 1);
    assert_int_equal(blockers[i].status, 0);
  }
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

ART_TEST(cancel_queued_with_workers_blocked) {
  cancel_behind_blocked(ART_TEST_LOOP(state), ART_LANE_CPU);
}

ART_TEST(cancel_queued_fs_lane_with_workers_blocked) {
  cancel_behind_blocked(ART_TEST_LOOP(state), ART_LANE_FS);
}

#define PAIRS 10000

ART_TEST(queue_cancel_pairs) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  item_t *items = calloc(PAIRS, sizeof(*items));
  int *cancel_rc = calloc(PAIRS, sizeof(*cancel_rc));
  assert_non_null(items);
  assert_non_null(cancel_rc);
  for (int i = 0; i < PAIRS; i++) {
    assert_int_equal(art_queue_work(loop, &items[i].req, item_work, item_after),
                     0);
    cancel_rc[i] = art_cancel((art_req_t *)&items[i].req);
    assert_true(cancel_rc[i] == 0 || cancel_rc[i] == ART_EBUSY);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < PAIRS; i++) {
    assert_int_equal(items[i].calls, 1);
    if (cancel_rc[i] == 0) {
      assert_int_equal(items[i].status, ART_ECANCELED);
      assert_int_equal(items[i].ran, 0);
    } else {
      assert_int_equal(items[i].status, 0);
      assert_int_equal(items[i].ran, 1);
    }
  }
  free(cancel_rc);
  free(items);
}

/* Work that takes a little while, so the pool is under load while it is
 * resized. */
static void short_work(art_work_t *req) {
  struct timespec ts = {0, 200 * 1000};
  nanosleep(&ts, NULL);
}

static int pool_threads_are(art_pool_t *pool, unsigned n) {
  art_pool_stats_t s;
  for (int i = 0; i < 10000; i++) {
    assert_int_equal(art_pool_stats(pool, &s), 0);
    if (s.threads == n)
      return 1;
    struct timespec ts = {0, 1000 * 1000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

static int resize_done;

static void count_after(art_work_t *req, int status) {
  assert_int_equal(status, 0);
  resize_done++;
}

static int reached(void *arg) {
  return resize_done >= *(int *)arg;
}

ART_TEST(set_size_under_load) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  enum { N = 300 };
  art_work_t *reqs = calloc(N, sizeof(*reqs));
  assert_non_null(reqs);
  resize_done = 0;
  assert_int_equal(art_pool_init(&pool, 2), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  for (int i = 0; i < N; i++)
    assert_int_equal(art_queue_work(loop, &reqs[i], short_work, count_after),
                     0);
  int target = N / 3;
  assert_true(art_test_run_until(loop, 20000, reached, &target));
  assert_int_equal(art_pool_set_size(pool, 8), 0);
  assert_true(pool_threads_are(pool, 8));
  target = 2 * N / 3;
  assert_true(art_test_run_until(loop, 20000, reached, &target));
  assert_int_equal(art_pool_set_size(pool, 1), 0);
  assert_true(pool_threads_are(pool, 1));
  assert_int_equal(art_pool_set_size(pool, 3), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(resize_done, N);
  assert_true(pool_threads_are(pool, 3));
  art_pool_stats_t s;
  assert_int_equal(art_pool_stats(pool, &s), 0);
  assert_int_equal(s.completed, N);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
  free(reqs);
}

ART_TEST(shrink_lets_running_work_finish) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  item_t items[4];
  memset(items, 0, sizeof(items));
  gate_reset();
  assert_int_equal(art_pool_init(&pool, 4), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(art_queue_work(loop, &items[i].req, gate_work, item_after),
                     0);
  assert_true(gate_wait_started(4));
  assert_int_equal(art_pool_set_size(pool, 1), 0);
  gate_open();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < 4; i++) {
    assert_int_equal(items[i].calls, 1);
    assert_int_equal(items[i].status, 0);
  }
  assert_true(pool_threads_are(pool, 1));
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* Two loops, each on its own pool and its own thread. */
typedef struct {
  art_loop_t loop;
  art_pool_t *pool;
  item_t items[100];
  pthread_t thread;
} loop_ctx_t;

static void *run_loop_thread(void *arg) {
  loop_ctx_t *c = arg;
  for (int i = 0; i < 100; i++)
    art_queue_work(&c->loop, &c->items[i].req, item_work, item_after);
  art_run(&c->loop, ART_RUN_DEFAULT);
  return NULL;
}

ART_TEST(two_loops_separate_pools) {
  loop_ctx_t *ctx = calloc(2, sizeof(*ctx));
  assert_non_null(ctx);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(art_loop_init(&ctx[i].loop), 0);
    assert_int_equal(art_pool_init(&ctx[i].pool, 2), 0);
    assert_int_equal(art_loop_set_pool(&ctx[i].loop, ctx[i].pool), 0);
  }
  for (int i = 0; i < 2; i++)
    assert_int_equal(
        pthread_create(&ctx[i].thread, NULL, run_loop_thread, &ctx[i]), 0);
  for (int i = 0; i < 2; i++)
    pthread_join(ctx[i].thread, NULL);
  for (int i = 0; i < 2; i++) {
    art_pool_stats_t s;
    assert_int_equal(art_pool_stats(ctx[i].pool, &s), 0);
    assert_int_equal(s.completed, 100);
    for (int j = 0; j < 100; j++) {
      assert_int_equal(ctx[i].items[j].calls, 1);
      /* Work of one loop never ran on the other loop's pool. */
      for (int k = 0; k < 100; k++)
        assert_false(
            pthread_equal(ctx[i].items[j].worker, ctx[1 - i].items[k].worker));
    }
  }
  for (int i = 0; i < 2; i++) {
    /* A pool stays open while a loop uses it. */
    assert_int_equal(art_pool_close(ctx[i].pool), ART_EBUSY);
    assert_int_equal(art_loop_close(&ctx[i].loop), 0);
    assert_int_equal(art_pool_close(ctx[i].pool), 0);
  }
  free(ctx);
}

ART_TEST(slow_lane_takes_at_most_half) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  item_t slow[4], cpu;
  memset(slow, 0, sizeof(slow));
  memset(&cpu, 0, sizeof(cpu));
  gate_reset();
  assert_int_equal(art_pool_init(&pool, 4), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(art_queue_work_lane(loop, &slow[i].req, ART_LANE_SLOW,
                                         gate_work, item_after),
                     0);
  assert_true(gate_wait_started(2));
  /* The other half of the pool still serves other lanes. */
  assert_int_equal(art_queue_work(loop, &cpu.req, item_work, item_after), 0);
  while (cpu.calls == 0)
    art_run(loop, ART_RUN_ONCE);
  assert_int_equal(cpu.status, 0);
  art_pool_stats_t s;
  assert_int_equal(art_pool_stats(pool, &s), 0);
  assert_int_equal(s.queued[ART_LANE_SLOW], 2);
  assert_int_equal(s.running, 2);
  gate_open();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(slow[i].calls, 1);
  assert_int_equal(gate.max_inside, 2);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

ART_TEST(slow_lane_on_one_thread) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  item_t it;
  memset(&it, 0, sizeof(it));
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  assert_int_equal(
      art_queue_work_lane(loop, &it.req, ART_LANE_SLOW, item_work, item_after),
      0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(it.calls, 1);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

static void sleepy_work(art_work_t *req) {
  struct timespec ts = {0, 1000 * 1000};
  nanosleep(&ts, NULL);
}

ART_TEST(stats_sanity) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  art_work_t reqs[20];
  art_pool_stats_t s;
  assert_int_equal(art_pool_init(&pool, 3), 0);
  assert_int_equal(art_pool_stats(pool, &s), 0);
  assert_int_equal(s.threads, 3);
  assert_int_equal(s.completed, 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  resize_done = 0;
  for (int i = 0; i < 20; i++)
    assert_int_equal(art_queue_work(loop, &reqs[i], sleepy_work, count_after),
                     0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_pool_stats(pool, &s), 0);
  assert_int_equal(s.threads, 3);
  assert_int_equal(s.completed, 20);
  assert_int_equal(s.canceled, 0);
  assert_int_equal(s.running, 0);
  for (int i = 0; i < ART_LANE_COUNT; i++)
    assert_int_equal(s.queued[i], 0);
  /* Each item slept at least 1 ms. */
  assert_true(s.run_time_ns >= 20u * 1000 * 1000);
  /* 20 items on 3 threads: most of them waited behind others. */
  assert_true(s.wait_time_ns > 0);
  assert_true(s.idle <= s.threads);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

ART_TEST(default_pool_stats) {
  art_pool_stats_t s;
  int err = -1;
  art_pool_t *p = art_default_pool(&err);
  assert_non_null(p);
  assert_int_equal(err, 0);
  assert_ptr_equal(art_default_pool(NULL), p);
  assert_int_equal(art_pool_stats(NULL, &s), 0);
  assert_true(s.threads >= 1);
  /* The default pool is closed at exit, not by the user. */
  assert_int_equal(art_pool_close(p), ART_EINVAL);
}

ART_TEST(loop_close_busy_with_work_in_flight) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  item_t it;
  memset(&it, 0, sizeof(it));
  gate_reset();
  assert_int_equal(art_queue_work(loop, &it.req, gate_work, item_after), 0);
  assert_int_equal(art_loop_close(loop), ART_EBUSY);
  assert_true(gate_wait_started(1));
  assert_int_equal(art_loop_close(loop), ART_EBUSY);
  gate_open();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(it.calls, 1);
}

ART_TEST(pool_close_busy) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  item_t it;
  memset(&it, 0, sizeof(it));
  gate_reset();
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  assert_int_equal(art_queue_work(loop, &it.req, gate_work, item_after), 0);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  /* Running work keeps it open. */
  assert_int_equal(art_pool_close(pool), ART_EBUSY);
  gate_open();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* Work queued from an after-callback is batched until the callbacks are
 * done; detaching the pool meanwhile must not let it close under that
 * work. */
static art_pool_t *detach_pool;
static art_work_t detach_second;
static int detach_second_calls;

static void detach_second_after(art_work_t *req, int status) {
  assert_int_equal(status, 0);
  detach_second_calls++;
}

static void *close_from_thread(void *arg) {
  return (void *)(intptr_t)art_pool_close(detach_pool);
}

static void detach_first_after(art_work_t *req, int status) {
  assert_int_equal(
      art_queue_work(req->loop, &detach_second, gate_work, detach_second_after),
      0);
  assert_int_equal(art_loop_set_pool(req->loop, NULL), 0);
  /* Another thread tries to close the pool: the second item is queued or
   * held at the gate, so it is busy. */
  pthread_t th;
  void *rc;
  assert_int_equal(pthread_create(&th, NULL, close_from_thread, NULL), 0);
  pthread_join(th, &rc);
  assert_int_equal((intptr_t)rc, ART_EBUSY);
  gate_open();
}

ART_TEST(set_pool_from_callback_keeps_queued_work) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_work_t first;
  detach_second_calls = 0;
  gate_reset();
  assert_int_equal(art_pool_init(&detach_pool, 1), 0);
  assert_int_equal(art_loop_set_pool(loop, detach_pool), 0);
  assert_int_equal(art_queue_work(loop, &first, noop_work, detach_first_after),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(detach_second_calls, 1);
  assert_int_equal(art_pool_close(detach_pool), 0);
}

/* Runs check(value) in a child process, where the default pool is fresh
 * and reads ART_THREADPOOL_SIZE anew. */
static int child_with_size(const char *value, int (*check)(void)) {
  fflush(NULL); /* the child exits through exit(): nothing printed twice */
  pid_t pid = fork();
  if (pid == 0) {
    setenv("ART_THREADPOOL_SIZE", value, 1);
    /* exit(), not _exit(): the default pool's teardown runs, so the child
     * is leak-free under valgrind too. */
    exit(check());
  }
  int status;
  if (pid < 0 || waitpid(pid, &status, 0) != pid)
    return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* 0 when the default pool refuses to start with ART_EINVAL everywhere. */
static int expect_bad_size(void) {
  int err = 0;
  art_loop_t loop;
  art_work_t req;
  art_pool_stats_t s;
  if (art_default_pool(&err) != NULL || err != ART_EINVAL)
    return 1;
  if (art_loop_init(&loop) != 0)
    return 2;
  if (art_queue_work(&loop, &req, noop_work, NULL) != ART_EINVAL)
    return 3;
  if (art_pool_stats(NULL, &s) != ART_EINVAL)
    return 4;
  /* Read once: the answer does not change. */
  if (art_default_pool(&err) != NULL || err != ART_EINVAL)
    return 5;
  return art_loop_close(&loop) == 0 ? 0 : 6;
}

static int expect_seven_threads(void) {
  art_pool_stats_t s;
  if (art_pool_stats(NULL, &s) != 0)
    return 1;
  return s.threads == 7 ? 0 : 2;
}

ART_TEST(threadpool_size_from_environment) {
  const char *bad[] = {"0", "1025", "abc", "-3", "4x", "99999999999999999999"};
  for (size_t i = 0; i < ART_ARRAY_SIZE(bad); i++)
    assert_int_equal(child_with_size(bad[i], expect_bad_size), 0);
  assert_int_equal(child_with_size("7", expect_seven_threads), 0);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool = NULL;
  art_work_t req;
  art_pool_stats_t s;
  assert_int_equal(art_pool_init(NULL, 4), ART_EINVAL);
  assert_int_equal(art_pool_init(&pool, 0), ART_EINVAL);
  assert_int_equal(art_pool_init(&pool, 1025), ART_EINVAL);
  assert_null(pool);
  assert_int_equal(art_pool_set_size(NULL, 2), ART_EINVAL);
  assert_int_equal(art_pool_close(NULL), ART_EINVAL);
  assert_int_equal(art_pool_stats(NULL, NULL), ART_EINVAL);
  assert_int_equal(art_loop_set_pool(NULL, NULL), ART_EINVAL);
  assert_int_equal(art_queue_work(NULL, &req, noop_work, NULL), ART_EINVAL);
  assert_int_equal(art_queue_work(loop, NULL, noop_work, NULL), ART_EINVAL);
  assert_int_equal(art_queue_work(loop, &req, NULL, NULL), ART_EINVAL);
  assert_int_equal(
      art_queue_work_lane(loop, &req, ART_LANE_COUNT, noop_work, NULL),
      ART_EINVAL);
  assert_int_equal(
      art_queue_work_lane(loop, &req, (art_lane)-1, noop_work, NULL),
      ART_EINVAL);
  assert_int_equal(art_cancel(NULL), ART_EINVAL);
  art_req_t other;
  memset(&other, 0, sizeof(other));
  other.type = ART_WRITE;
  assert_int_equal(art_cancel(&other), ART_EINVAL);
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_pool_set_size(pool, 0), ART_EINVAL);
  assert_int_equal(art_pool_set_size(pool, 1025), ART_EINVAL);
  assert_int_equal(art_pool_stats(pool, NULL), ART_EINVAL);
  assert_int_equal(art_pool_stats(pool, &s), 0);
  assert_int_equal(s.threads, 1);
  assert_int_equal(art_pool_close(pool), 0);
}
