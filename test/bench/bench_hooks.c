/* What the observer costs per callback (include/asyncrt/observe.h).
 *
 * Two workloads, each run with nothing observed, with an async context set
 * (contexts then swap around every callback), with trivial tracing hooks
 * (each counts), and with slow-callback reports on (two clock reads per
 * callback, threshold never reached):
 * 1. microtasks: a chain of N microtasks, each queueing the next; each is
 *    a resource of its own (init, before, after, destroy);
 * 2. idle: one idle handle whose callback runs N times (before, after).
 * Reports CPU ns per callback, median over the rounds (BENCH_ROUNDS,
 * default 3), and the difference against nothing observed.
 * Usage: bench_hooks [n] */
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>

#include "common.h"

enum { MODE_NONE, MODE_CONTEXT, MODE_HOOKS, MODE_SLOW, MODES };
static const char *mode_names[MODES] = {
    "nothing observed", "context set", "trivial hooks", "slow-callback timing"};

static long n = 1000000;
static long left;
static unsigned long hook_calls;

static void count_init(void *arg, uint64_t id, art_resource_kind kind, int type,
                       uint64_t trigger, const void *resource) {
  (void)arg, (void)id, (void)kind, (void)type, (void)trigger, (void)resource;
  hook_calls++;
}

static void count_id(void *arg, uint64_t id) {
  (void)arg, (void)id;
  hook_calls++;
}

static void never(art_loop_t *loop, const art_slow_callback_t *r, void *arg) {
  (void)loop, (void)r, (void)arg;
  abort();
}

static void observe(art_loop_t *loop, int mode) {
  static const art_hooks_t hooks = {count_init, count_id, count_id, count_id};
  static char ctx;
  if (mode == MODE_CONTEXT)
    art_context_set(loop, &ctx);
  if (mode == MODE_HOOKS)
    art_loop_set_hooks(loop, &hooks, NULL);
  if (mode == MODE_SLOW)
    art_loop_set_slow_callback(loop, UINT64_MAX, never, NULL);
}

static void next_microtask(art_loop_t *loop, void *arg) {
  if (--left > 0)
    art_queue_microtask(loop, next_microtask, arg);
}

static void idle_cb(art_idle_t *h) {
  if (--left == 0)
    art_idle_stop(h);
}

/* One run of a workload; returns CPU ns per callback. */
static double run(int workload, int mode) {
  art_loop_t loop;
  art_idle_t idle;
  art_loop_init(&loop);
  observe(&loop, mode);
  left = n;
  if (workload == 0) {
    art_queue_microtask(&loop, next_microtask, NULL);
  } else {
    art_idle_init(&loop, &idle);
    art_idle_start(&idle, idle_cb);
  }
  double t0 = bench_cpu_now();
  art_run(&loop, ART_RUN_DEFAULT);
  double dt = bench_cpu_now() - t0;
  if (workload == 1) {
    art_close((art_handle_t *)&idle, NULL);
    art_run(&loop, ART_RUN_DEFAULT);
  }
  art_loop_close(&loop);
  return dt * 1e9 / (double)n;
}

int main(int argc, char **argv) {
  static const char *workloads[] = {"microtask chain", "idle handle"};
  if (argc > 1)
    n = atol(argv[1]);
  if (n <= 0)
    return 2;
  int rounds = bench_rounds();
  for (int w = 0; w < 2; w++) {
    double v[MODES][BENCH_MAX_ROUNDS], med[MODES];
    for (int r = 0; r < rounds; r++)
      for (int m = 0; m < MODES; m++)
        v[m][r] = run(w, m);
    for (int m = 0; m < MODES; m++) {
      med[m] = bench_median(v[m], (size_t)rounds);
      printf("%s, %-20s %6.1f ns per callback (%+.1f)\n", workloads[w],
             mode_names[m], med[m], med[m] - med[MODE_NONE]);
    }
  }
  return hook_calls > 0 ? 0 : 1;
}
