/* Timer lateness, libasyncrt's ns timers against libuv's ms timers in the
 * same run.
 *
 * One timer is armed, runs, and is armed again from its callback, SAMPLES
 * times per delay (100 us, 1 ms, 10 ms). Its lateness is the time between
 * the moment it was armed plus its delay and the moment its callback began
 * (art_hrtime / uv_hrtime, CLOCK_MONOTONIC). libasyncrt arms it with
 * art_timer_start_ns. libuv counts in whole ms from its cached time: the
 * callback refreshes that time (uv_update_time) and asks for the delay
 * rounded up to whole ms, the closest it can come without a 100 us timer
 * running at once; a negative lateness (the timer ran early, which the
 * truncated ms clock allows) is counted under "early".
 *
 * Two conditions: an idle loop (nothing else runs in the process),
 * and under load: one thread per CPU spinning, so the loop thread competes
 * for the CPU as on a busy server.
 *
 * Rounds alternate libasyncrt and libuv (BENCH_ROUNDS, default 3); p50 and
 * p99 are medians over the rounds, max the largest of all rounds. Times
 * include the kernel's timer slack (50 us by default for a thread that did
 * not lower it with prctl(PR_SET_TIMERSLACK)).
 * Usage: bench_timer_lateness [art|uv|both] [idle|load|all] */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define MAX_SAMPLES 4000
#define MAX_HOGS    64

typedef struct {
  uint64_t delay_ns;
  size_t samples;
  const char *name;
} delay_t;

static const delay_t delays[] = {
    {100000u, 3000, "100 us"},
    {1000000u, 400, "1 ms"},
    {10000000u, 50, "10 ms"},
};
#define NDELAYS (sizeof(delays) / sizeof(delays[0]))

static int64_t lat[MAX_SAMPLES]; /* ns, negative: early */
static size_t nlat, want;
static uint64_t delay_ns, armed_at;

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* One run's figures, us. */
typedef struct {
  double p50, p99, max;
  size_t early;
} run_t;

static run_t summarize(void) {
  run_t r = {0, 0, 0, 0};
  qsort(lat, nlat, sizeof(*lat), cmp_i64);
  for (size_t i = 0; i < nlat; i++)
    r.early += lat[i] < 0;
  r.p50 = lat[(size_t)(0.50 * (double)(nlat - 1) + 0.5)] / 1000.0;
  r.p99 = lat[(size_t)(0.99 * (double)(nlat - 1) + 0.5)] / 1000.0;
  r.max = lat[nlat - 1] / 1000.0;
  return r;
}

static void record(uint64_t now) {
  lat[nlat++] = (int64_t)(now - armed_at) - (int64_t)delay_ns;
}

/* ---- libasyncrt ---- */

static void art_cb(art_timer_t *t) {
  record(art_hrtime());
  if (nlat == want) {
    art_close((art_handle_t *)t, NULL);
    return;
  }
  armed_at = art_hrtime();
  art_timer_start_ns(t, art_cb, delay_ns, 0);
}

static run_t art_measure(const delay_t *d) {
  art_loop_t loop;
  art_timer_t t;
  nlat = 0;
  want = d->samples;
  delay_ns = d->delay_ns;
  if (art_loop_init(&loop) != 0 || art_timer_init(&loop, &t) != 0)
    exit(1);
  armed_at = art_hrtime();
  art_timer_start_ns(&t, art_cb, delay_ns, 0);
  art_run(&loop, ART_RUN_DEFAULT);
  if (art_loop_close(&loop) != 0)
    exit(1);
  return summarize();
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
static uint64_t uv_delay_ms(void) {
  return (delay_ns + 999999u) / 1000000u;
}

static void uv_cb(uv_timer_t *t) {
  record(uv_hrtime());
  if (nlat == want) {
    uv_close((uv_handle_t *)t, NULL);
    return;
  }
  uv_update_time(t->loop);
  armed_at = uv_hrtime();
  uv_timer_start(t, uv_cb, uv_delay_ms(), 0);
}

static run_t uv_measure(const delay_t *d) {
  uv_loop_t loop;
  uv_timer_t t;
  nlat = 0;
  want = d->samples;
  delay_ns = d->delay_ns;
  if (uv_loop_init(&loop) != 0 || uv_timer_init(&loop, &t) != 0)
    exit(1);
  uv_update_time(&loop);
  armed_at = uv_hrtime();
  uv_timer_start(&t, uv_cb, uv_delay_ms(), 0);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (uv_loop_close(&loop) != 0)
    exit(1);
  return summarize();
}
#endif

/* ---- load ---- */

static volatile int hogs_stop;

static void *hog(void *arg) {
  (void)arg;
  volatile uint64_t x = 0;
  while (!hogs_stop)
    x++;
  return NULL;
}

static int start_hogs(pthread_t *th) {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  if (n < 1)
    n = 1;
  if (n > MAX_HOGS)
    n = MAX_HOGS;
  hogs_stop = 0;
  for (long i = 0; i < n; i++)
    pthread_create(&th[i], NULL, hog, NULL);
  return (int)n;
}

static void stop_hogs(pthread_t *th, int n) {
  hogs_stop = 1;
  for (int i = 0; i < n; i++)
    pthread_join(th[i], NULL);
}

/* ---- report ---- */

typedef struct {
  double p50[BENCH_MAX_ROUNDS], p99[BENCH_MAX_ROUNDS];
  double max;
  size_t early, samples;
} agg_t;

static void keep(agg_t *a, int round, run_t r, size_t samples) {
  a->p50[round] = r.p50;
  a->p99[round] = r.p99;
  if (round == 0 || r.max > a->max)
    a->max = r.max;
  a->early = (round == 0 ? 0 : a->early) + r.early;
  a->samples = (round == 0 ? 0 : a->samples) + samples;
}

static void print_row(const char *delay, const char *lib, agg_t *a,
                      int rounds) {
  printf("  %-7s %-8s %10.1f %10.1f %10.1f   %5zu of %zu\n", delay, lib,
         bench_median(a->p50, rounds), bench_median(a->p99, rounds), a->max,
         a->early, a->samples);
}

static void compare(const char *condition, int art, int uv) {
  agg_t a[NDELAYS], u[NDELAYS];
  int rounds = bench_rounds();
  for (int r = 0; r < rounds; r++)
    for (size_t i = 0; i < NDELAYS; i++) {
      if (art)
        keep(&a[i], r, art_measure(&delays[i]), delays[i].samples);
#ifdef ART_HAVE_LIBUV
      if (uv)
        keep(&u[i], r, uv_measure(&delays[i]), delays[i].samples);
#endif
    }
  printf("timer lateness, %s (median of %d rounds), us\n", condition, rounds);
  printf("  %-7s %-8s %10s %10s %10s   %s\n", "delay", "library", "p50", "p99",
         "max", "early");
  for (size_t i = 0; i < NDELAYS; i++) {
    if (art)
      print_row(delays[i].name, "asyncrt", &a[i], rounds);
    if (uv)
      print_row(delays[i].name, "libuv", &u[i], rounds);
  }
  fflush(stdout);
}

int main(int argc, char **argv) {
  int art, uv;
  bench_which(argc, argv, &art, &uv);
  const char *which = argc > 2 ? argv[2] : "all";
  if (strcmp(which, "load") != 0)
    compare("idle loop", art, uv);
  if (strcmp(which, "idle") != 0) {
    pthread_t th[MAX_HOGS];
    int n = start_hogs(th);
    char name[64];
    snprintf(name, sizeof(name), "under load (%d spinning threads)", n);
    compare(name, art, uv);
    stop_hogs(th, n);
  }
  return 0;
}
