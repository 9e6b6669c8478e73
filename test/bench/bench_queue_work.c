/* Work pool round trips, libasyncrt against libuv in the same run.
 *
 * 1. one in flight: each after-callback queues the next item, so every item
 *    pays the full round trip (wake a worker, run, post back, wake the loop).
 * 2. 1,024 in flight: 1,024 requests, each queued again from its
 *    after-callback until the total is reached: throughput of the queue and
 *    of batched completions.
 * Work items do nothing. Both libraries use 4 workers. Rounds alternate
 * libasyncrt and libuv (BENCH_ROUNDS, default 3); medians are compared.
 * Usage: bench_queue_work [art|uv|both] [items one-in-flight] [items batched]
 * Run it pinned (taskset -c 0) and split across CPUs: see
 * docs/performance.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define IN_FLIGHT 1024

static long n_single = 100000;
static long n_batch = 1000000;
static long submitted; /* items queued in the current run */
static long total;     /* items to queue in the current run */

/* ---- libasyncrt ---- */

static void art_noop(art_work_t *req) {
  (void)req;
}

static void art_again(art_work_t *req, int status) {
  (void)status;
  if (submitted < total) {
    submitted++;
    art_queue_work(req->loop, req, art_noop, art_again);
  }
}

/* Runs n items with depth requests in flight; returns round trips/s. */
static double art_run_items(long n, int depth) {
  static art_work_t reqs[IN_FLIGHT];
  art_loop_t loop;
  art_loop_init(&loop);
  submitted = 0;
  total = n;
  double t0 = bench_now();
  for (int i = 0; i < depth && submitted < total; i++) {
    submitted++;
    art_queue_work(&loop, &reqs[i], art_noop, art_again);
  }
  art_run(&loop, ART_RUN_DEFAULT);
  double dt = bench_now() - t0;
  art_loop_close(&loop);
  return (double)n / dt;
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
static void uv_noop(uv_work_t *req) {
  (void)req;
}

static void uv_again(uv_work_t *req, int status) {
  (void)status;
  if (submitted < total) {
    submitted++;
    uv_queue_work(req->loop, req, uv_noop, uv_again);
  }
}

static double uv_run_items(long n, int depth) {
  static uv_work_t reqs[IN_FLIGHT];
  uv_loop_t loop;
  uv_loop_init(&loop);
  submitted = 0;
  total = n;
  double t0 = bench_now();
  for (int i = 0; i < depth && submitted < total; i++) {
    submitted++;
    uv_queue_work(&loop, &reqs[i], uv_noop, uv_again);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  double dt = bench_now() - t0;
  uv_loop_close(&loop);
  return (double)n / dt;
}
#endif

/* Alternates the libraries for one workload and prints the medians. */
static void compare(const char *name, long n, int depth, int art, int uv) {
  double a[BENCH_MAX_ROUNDS], u[BENCH_MAX_ROUNDS];
  int rounds = bench_rounds();
  /* Warm both pools up (thread start is not what is measured). */
  if (art)
    art_run_items(1000, depth);
#ifdef ART_HAVE_LIBUV
  if (uv)
    uv_run_items(1000, depth);
#endif
  for (int r = 0; r < rounds; r++) {
    a[r] = art ? art_run_items(n, depth) : 0;
    u[r] = -1;
#ifdef ART_HAVE_LIBUV
    if (uv)
      u[r] = uv_run_items(n, depth);
#endif
  }
  double am = art ? bench_median(a, rounds) : 0;
  double um = uv ? bench_median(u, rounds) : -1;
  bench_report(name, "items/s", am, um);
}

int main(int argc, char **argv) {
  int art, uv;
  bench_which(argc, argv, &art, &uv);
  if (argc > 2)
    n_single = atol(argv[2]);
  if (argc > 3)
    n_batch = atol(argv[3]);
#ifdef ART_HAVE_LIBUV
  setenv("UV_THREADPOOL_SIZE", "4", 1);
#endif
  compare("queue_work, one in flight", n_single, 1, art, uv);
  compare("queue_work, 1,024 in flight", n_batch, IN_FLIGHT, art, uv);
  if (art) {
    art_pool_stats_t s;
    art_pool_stats(NULL, &s);
    printf("asyncrt pool: %u threads, %llu completed\n", s.threads,
           (unsigned long long)s.completed);
  }
  return 0;
}
