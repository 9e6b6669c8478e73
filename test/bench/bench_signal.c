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
  const bench_run_fn runs[] = {run_art, BENCH_UV(run_uv)};
  bench_medians_t m[2];
  if (argc > 1)
    total = atol(argv[1]);
  bench_alternate(runs, 2, NULL, m);
  bench_report("signal raised and delivered, one loop", "signals/s", m[0].rate,
               m[1].rate);
  return 0;
}
