/* Empty loop iterations per second: one idle handle (so the poll phase
 * never blocks) whose callback counts iterations and stops itself after
 * ITERATIONS. libasyncrt and libuv alternate, BENCH_ROUNDS rounds (default
 * 3), medians compared. A third figure shows the cost of the opt-in
 * per-phase clock (ART_LOOP_MEASURE_PHASES). Usage:
 *   bench_loop [art|uv|both] [iterations] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define MAX_ROUNDS 64

static unsigned long iterations = 5000000;
static unsigned long count;

static void on_art_idle(art_idle_t *idle) {
  if (++count == iterations)
    art_idle_stop(idle);
}

/* Iterations per second of one art_run with one idle handle, with or
 * without the per-phase clock. */
static double art_round(int measure_phases) {
  art_loop_t loop;
  art_idle_t idle;
  if (art_loop_init(&loop) != 0)
    abort();
  art_loop_configure(&loop, ART_LOOP_MEASURE_PHASES, measure_phases);
  art_idle_init(&loop, &idle);
  art_idle_start(&idle, on_art_idle);
  count = 0;
  double t0 = bench_now();
  art_run(&loop, ART_RUN_DEFAULT);
  double t1 = bench_now();
  art_close((art_handle_t *)&idle, NULL);
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

static double uv_round(void) {
  uv_loop_t loop;
  uv_idle_t idle;
  if (uv_loop_init(&loop) != 0)
    abort();
  uv_idle_init(&loop, &idle);
  uv_idle_start(&idle, on_uv_idle);
  count = 0;
  double t0 = bench_now();
  uv_run(&loop, UV_RUN_DEFAULT);
  double t1 = bench_now();
  uv_close((uv_handle_t *)&idle, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (count != iterations || uv_loop_close(&loop) != 0)
    abort();
  return iterations / (t1 - t0);
}
#endif

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "both";
  if (argc > 2)
    iterations = strtoul(argv[2], NULL, 10);
  int rounds = bench_rounds();
  rounds = rounds > MAX_ROUNDS ? MAX_ROUNDS : rounds;
  int do_art = strcmp(which, "uv") != 0;
  int do_uv = strcmp(which, "art") != 0;
#ifndef ART_HAVE_LIBUV
  do_uv = 0;
#endif
  double a[MAX_ROUNDS], m[MAX_ROUNDS], u[MAX_ROUNDS];
  int na = 0, nu = 0;
  printf("loop: %lu iterations with one idle handle, %d rounds\n", iterations,
         rounds);
  for (int i = 0; i < rounds; i++) {
    if (do_art) {
      m[na] = art_round(1) / 1e6;
      a[na++] = art_round(0) / 1e6;
    }
#ifdef ART_HAVE_LIBUV
    if (do_uv)
      u[nu++] = uv_round() / 1e6;
#endif
  }
  double ua = nu > 0 ? bench_median(u, (size_t)nu) : -1;
  if (do_art) {
    bench_report("loop_empty_iterations (idle handle)", "M/s",
                 bench_median(a, (size_t)na), ua);
    printf("%-40s asyncrt %12.2f M/s   (ART_LOOP_MEASURE_PHASES on)\n",
           "loop_empty_iterations (phases timed)", bench_median(m, (size_t)na));
  } else
    printf("%-40s libuv %12.2f M/s\n", "loop_empty_iterations", ua);
  return 0;
}
