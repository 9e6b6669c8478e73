/* Signals delivered to one loop per second, libasyncrt against libuv in
 * the same run. Each callback raises the next SIGUSR1, so every delivery
 * goes through the whole path: the process-wide handler, the loop's wakeup,
 * the poll phase and the callback. Rounds alternate (BENCH_ROUNDS, default
 * 3); medians are compared.
 * Usage: bench_signal [signals per round] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define MAX_ROUNDS 64

static long total = 200000;
static long delivered;

static void art_cb(art_signal_t *h, int signum) {
  if (++delivered == total)
    art_close((art_handle_t *)h, NULL);
  else
    raise(SIGUSR1);
}

static double run_art(void) {
  art_loop_t loop;
  art_signal_t h;
  delivered = 0;
  art_loop_init(&loop);
  art_signal_init(&loop, &h);
  art_signal_start(&h, art_cb, SIGUSR1);
  double t0 = bench_now();
  raise(SIGUSR1);
  art_run(&loop, ART_RUN_DEFAULT);
  double t = bench_now() - t0;
  art_loop_close(&loop);
  return delivered / t;
}

#ifdef ART_HAVE_LIBUV
static void uv_cb(uv_signal_t *h, int signum) {
  if (++delivered == total)
    uv_close((uv_handle_t *)h, NULL);
  else
    raise(SIGUSR1);
}

static double run_uv(void) {
  uv_loop_t loop;
  uv_signal_t h;
  delivered = 0;
  uv_loop_init(&loop);
  uv_signal_init(&loop, &h);
  uv_signal_start(&h, uv_cb, SIGUSR1);
  double t0 = bench_now();
  raise(SIGUSR1);
  uv_run(&loop, UV_RUN_DEFAULT);
  double t = bench_now() - t0;
  uv_loop_close(&loop);
  return delivered / t;
}
#endif

int main(int argc, char **argv) {
  double a[MAX_ROUNDS], u[MAX_ROUNDS];
  int rounds = bench_rounds();
  if (argc > 1)
    total = atol(argv[1]);
  if (rounds > MAX_ROUNDS)
    rounds = MAX_ROUNDS;
  for (int r = 0; r < rounds; r++) {
    a[r] = run_art();
#ifdef ART_HAVE_LIBUV
    u[r] = run_uv();
#else
    u[r] = -1;
#endif
  }
  bench_report("signal raised and delivered, one loop", "signals/s",
               bench_median(a, rounds), bench_median(u, rounds));
  return 0;
}
