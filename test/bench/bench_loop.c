/* Loop iterations per second. One idle handle keeps the poll phase from
 * blocking; its callback counts iterations and stops itself after
 * ITERATIONS. Three workloads:
 *   empty     the idle handle alone;
 *   with_fd   plus a watched pipe that never becomes readable, so both
 *             libraries must ask the kernel every iteration (epoll_wait
 *             with a zero timeout): the per-iteration overhead, like for
 *             like;
 *   timed     empty, with the opt-in per-phase clock on
 *             (ART_LOOP_MEASURE_PHASES; libasyncrt only).
 * libasyncrt and libuv alternate, BENCH_ROUNDS rounds (default 3), medians
 * compared. Usage: bench_loop [art|uv|both] [iterations] [workload]
 * (workload: empty, with_fd or timed; default all three). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

enum { EMPTY, WITH_FD, TIMED, NWORKLOADS };

static unsigned long iterations = 5000000;
static unsigned long count;
static int pipe_fds[2];

static void on_art_idle(art_idle_t *idle) {
  if (++count == iterations)
    art_idle_stop(idle);
}

static void on_art_poll(art_poll_t *p, int status, int events) {
  abort(); /* the pipe is never written */
}

/* Iterations per second of one art_run for a workload. */
static double art_round(int workload) {
  art_loop_t loop;
  art_idle_t idle;
  art_poll_t watcher;
  if (art_loop_init(&loop) != 0)
    abort();
  art_loop_configure(&loop, ART_LOOP_MEASURE_PHASES, workload == TIMED);
  art_idle_init(&loop, &idle);
  art_idle_start(&idle, on_art_idle);
  if (workload == WITH_FD) {
    art_poll_init(&loop, &watcher, pipe_fds[0]);
    art_poll_start(&watcher, ART_READABLE, on_art_poll);
    art_unref((art_handle_t *)&watcher);
  }
  count = 0;
  double t0 = bench_now();
  art_run(&loop, ART_RUN_DEFAULT);
  double t1 = bench_now();
  art_close((art_handle_t *)&idle, NULL);
  if (workload == WITH_FD)
    art_close((art_handle_t *)&watcher, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  if (count != iterations || art_loop_close(&loop) != 0)
    abort();
  return iterations / (t1 - t0);
}

#ifdef ART_HAVE_LIBUV
static void on_uv_idle(uv_idle_t *idle) {
  if (++count == iterations)
    uv_idle_stop(idle);
}

static void on_uv_poll(uv_poll_t *p, int status, int events) {
  abort();
}

static double uv_round(int workload) {
  uv_loop_t loop;
  uv_idle_t idle;
  uv_poll_t watcher;
  if (uv_loop_init(&loop) != 0)
    abort();
  uv_idle_init(&loop, &idle);
  uv_idle_start(&idle, on_uv_idle);
  if (workload == WITH_FD) {
    uv_poll_init(&loop, &watcher, pipe_fds[0]);
    uv_poll_start(&watcher, UV_READABLE, on_uv_poll);
    uv_unref((uv_handle_t *)&watcher);
  }
  count = 0;
  double t0 = bench_now();
  uv_run(&loop, UV_RUN_DEFAULT);
  double t1 = bench_now();
  uv_close((uv_handle_t *)&idle, NULL);
  if (workload == WITH_FD)
    uv_close((uv_handle_t *)&watcher, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (count != iterations || uv_loop_close(&loop) != 0)
    abort();
  return iterations / (t1 - t0);
}
#endif

int main(int argc, char **argv) {
  static const char *const names[NWORKLOADS] = {
      "loop_empty (idle handle)", "loop_with_fd (idle + watched pipe)",
      "loop_empty, phases timed"};
  if (argc > 2)
    iterations = strtoul(argv[2], NULL, 10);
  int rounds = bench_rounds();
  int do_art, do_uv;
  bench_which(argc, argv, &do_art, &do_uv);
  static const char *const keys[NWORKLOADS] = {"empty", "with_fd", "timed"};
  int only = -1;
  for (int w = 0; argc > 3 && w < NWORKLOADS; w++)
    if (strcmp(argv[3], keys[w]) == 0)
      only = w;
  if (pipe(pipe_fds) != 0)
    abort();
  double a[NWORKLOADS][BENCH_MAX_ROUNDS], u[NWORKLOADS][BENCH_MAX_ROUNDS];
  printf("loop: %lu iterations, %d rounds\n", iterations, rounds);
  for (int i = 0; i < rounds; i++)
    for (int w = 0; w < NWORKLOADS; w++) {
      if (only >= 0 && w != only)
        continue;
      if (do_art)
        a[w][i] = art_round(w) / 1e6;
#ifdef ART_HAVE_LIBUV
      if (do_uv && w != TIMED)
        u[w][i] = uv_round(w) / 1e6;
#endif
    }
  for (int w = 0; w < NWORKLOADS; w++) {
    if (only >= 0 && w != only)
      continue;
    double um = do_uv && w != TIMED ? bench_median(u[w], (size_t)rounds) : -1;
    if (do_art && w == TIMED)
      printf("%-40s asyncrt %12.1f M/s   (no libuv equivalent)\n", names[w],
             bench_median(a[w], (size_t)rounds));
    else if (do_art)
      bench_report(names[w], "M/s", bench_median(a[w], (size_t)rounds), um);
    else if (w != TIMED)
      printf("%-40s libuv %12.1f M/s\n", names[w], um);
  }
  return 0;
}
