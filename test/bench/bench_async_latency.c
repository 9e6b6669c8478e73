/* Send-to-callback latency of async handles, libasyncrt against libuv in
 * the same run.
 *
 * One thread sends to an async handle of a loop running on the main thread;
 * the callback records how long ago the oldest send it answers was made.
 * The sender stamps a shared slot (CLOCK_MONOTONIC, ns) only when the slot
 * is empty and then sends; the callback empties the slot and records now
 * minus the stamp. Sends that coalesce into one callback are thus counted
 * once, by their oldest member.
 *
 * 1. paced: one send every PERIOD us (an absolute-deadline sleep, so the
 *    sender leaves the CPU between sends): a loop that is idle when the
 *    send arrives, the common case of a thread handing work to a loop.
 * 2. pummel: the sender sends as fast as it can (bench_async's pummel):
 *    the latency of a send under a flood, and callbacks per second.
 *
 * Rounds alternate libasyncrt and libuv (BENCH_ROUNDS, default 3); each
 * figure is the median over the rounds of that round's percentile. Run it
 * pinned (taskset -c 0) and split: see docs/performance.md.
 * Usage: bench_async_latency [art|uv|both] [paced ms] [period us]
 *                            [pummel ms] */
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define MAX_SAMPLES (4u << 20) /* 4 Mi latencies (16 MiB) per run */

static unsigned paced_ms = 1000; /* how long the paced sender sends */
static unsigned period_us = 100; /* its period */
static unsigned pummel_ms = 300; /* how long the pummel sender sends */
static int pummel_mode;          /* the run in progress is a pummel */
static uint64_t stamp;           /* atomic: oldest unanswered send, ns */
static uint32_t *lat;            /* latencies of this run, ns */
static size_t nlat;              /* entries in lat */
static int sender_done;          /* atomic: the sender must stop */
static int sender_cpu;           /* atomic: CPU of the latest send */
static long same_cpu;            /* callbacks run on the sender's CPU */
static pthread_t sender_thread;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The sender's side of the stamp: only an empty slot is stamped, so the
 * slot holds the oldest send the next callback answers. */
static void stamp_send(void) {
  if (__atomic_load_n(&stamp, __ATOMIC_RELAXED) == 0) {
    __atomic_store_n(&sender_cpu, sched_getcpu(), __ATOMIC_RELAXED);
    __atomic_store_n(&stamp, now_ns(), __ATOMIC_RELEASE);
  }
}

/* The callback's side: empty the slot and record the latency. */
static void record(void) {
  uint64_t t = __atomic_exchange_n(&stamp, 0, __ATOMIC_ACQ_REL);
  if (t == 0 || nlat >= MAX_SAMPLES)
    return;
  same_cpu += sched_getcpu() == __atomic_load_n(&sender_cpu, __ATOMIC_RELAXED);
  uint64_t d = now_ns() - t;
  lat[nlat++] = d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

/* Runs send() until told to stop: back to back (pummel), or one send per
 * period on absolute deadlines (paced). */
static void send_loop(void (*send)(void)) {
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (!__atomic_load_n(&sender_done, __ATOMIC_RELAXED)) {
    if (!pummel_mode) {
      next.tv_nsec += (long)period_us * 1000;
      while (next.tv_nsec >= 1000000000) {
        next.tv_nsec -= 1000000000;
        next.tv_sec++;
      }
      clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    stamp_send();
    send();
  }
}

/* One run's results. */
typedef struct {
  double p50, p99, p999; /* us */
  double cb_per_s;       /* callbacks per second */
  double same_cpu;       /* share of callbacks on the sender's CPU */
} lat_t;

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static double pct(double p) {
  size_t i = (size_t)(p * (double)(nlat - 1) + 0.5);
  return lat[i] / 1000.0;
}

static lat_t summarize(double seconds) {
  lat_t r = {0, 0, 0, nlat / seconds, nlat ? (double)same_cpu / nlat : 0};
  if (nlat == 0)
    return r;
  qsort(lat, nlat, sizeof(*lat), cmp_u32);
  r.p50 = pct(0.50);
  r.p99 = pct(0.99);
  r.p999 = pct(0.999);
  return r;
}

static void reset(void) {
  nlat = 0;
  same_cpu = 0;
  stamp = 0;
  sender_done = 0;
}

/* ---- libasyncrt ---- */

static art_async_t art_target;
static art_timer_t art_stopper;

static void art_cb(art_async_t *a) {
  (void)a;
  record();
}

static void art_stop_cb(art_timer_t *t) {
  (void)t;
  __atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
  pthread_join(sender_thread, NULL);
  art_close((art_handle_t *)&art_target, NULL);
  art_close((art_handle_t *)&art_stopper, NULL);
}

static void art_send(void) {
  art_async_send(&art_target);
}

static void *art_sender(void *arg) {
  (void)arg;
  send_loop(art_send);
  return NULL;
}

static lat_t art_measure(unsigned ms) {
  art_loop_t loop;
  art_loop_init(&loop);
  art_async_init(&loop, &art_target, art_cb);
  art_timer_init(&loop, &art_stopper);
  art_timer_start(&art_stopper, art_stop_cb, ms, 0);
  reset();
  double t0 = bench_now();
  pthread_create(&sender_thread, NULL, art_sender, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  double dt = bench_now() - t0;
  art_loop_close(&loop);
  return summarize(dt);
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
static uv_async_t uv_target;
static uv_timer_t uv_stopper;

static void uv_cb(uv_async_t *a) {
  (void)a;
  record();
}

static void uv_stop_cb(uv_timer_t *t) {
  (void)t;
  __atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
  pthread_join(sender_thread, NULL);
  uv_close((uv_handle_t *)&uv_target, NULL);
  uv_close((uv_handle_t *)&uv_stopper, NULL);
}

static void uv_send(void) {
  uv_async_send(&uv_target);
}

static void *uv_sender(void *arg) {
  (void)arg;
  send_loop(uv_send);
  return NULL;
}

static lat_t uv_measure(unsigned ms) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_async_init(&loop, &uv_target, uv_cb);
  uv_timer_init(&loop, &uv_stopper);
  uv_timer_start(&uv_stopper, uv_stop_cb, ms, 0);
  reset();
  double t0 = bench_now();
  pthread_create(&sender_thread, NULL, uv_sender, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  double dt = bench_now() - t0;
  uv_loop_close(&loop);
  return summarize(dt);
}
#endif

/* Medians over the rounds of each percentile, one library. */
typedef struct {
  double v[5][BENCH_MAX_ROUNDS];
} rounds_t;

static void keep(rounds_t *r, int round, lat_t l) {
  r->v[0][round] = l.p50;
  r->v[1][round] = l.p99;
  r->v[2][round] = l.p999;
  r->v[3][round] = l.cb_per_s;
  r->v[4][round] = l.same_cpu;
}

static void print_lib(const char *lib, rounds_t *r, int rounds, int rate) {
  printf("  %-8s p50 %9.1f us   p99 %9.1f us   p99.9 %9.1f us", lib,
         bench_median(r->v[0], rounds), bench_median(r->v[1], rounds),
         bench_median(r->v[2], rounds));
  if (rate)
    printf("   %10.0f cb/s", bench_median(r->v[3], rounds));
  printf("   on the sender's CPU %3.0f%%\n",
         100 * bench_median(r->v[4], rounds));
}

static void compare(const char *name, int art, int uv, unsigned ms, int rate) {
  rounds_t a, u;
  int rounds = bench_rounds();
  for (int r = 0; r < rounds; r++) {
    if (art)
      keep(&a, r, art_measure(ms));
#ifdef ART_HAVE_LIBUV
    if (uv)
      keep(&u, r, uv_measure(ms));
#endif
  }
  printf("%s (median of %d rounds)\n", name, rounds);
  if (art)
    print_lib("asyncrt", &a, rounds, rate);
  if (uv)
    print_lib("libuv", &u, rounds, rate);
  if (art && uv)
    printf("  libuv / asyncrt: p50 %.2fx  p99 %.2fx  p99.9 %.2fx (above 1: "
           "asyncrt answers sooner)\n",
           bench_median(u.v[0], rounds) / bench_median(a.v[0], rounds),
           bench_median(u.v[1], rounds) / bench_median(a.v[1], rounds),
           bench_median(u.v[2], rounds) / bench_median(a.v[2], rounds));
  fflush(stdout);
}

int main(int argc, char **argv) {
  int art, uv;
  bench_which(argc, argv, &art, &uv);
  if (argc > 2)
    paced_ms = (unsigned)atoi(argv[2]);
  if (argc > 3)
    period_us = (unsigned)atoi(argv[3]);
  if (argc > 4)
    pummel_ms = (unsigned)atoi(argv[4]);
  lat = malloc(MAX_SAMPLES * sizeof(*lat));
  if (lat == NULL)
    return 1;
  char name[96];
  pummel_mode = 0;
  snprintf(name, sizeof(name), "async latency, one send every %u us",
           period_us);
  if (paced_ms > 0)
    compare(name, art, uv, paced_ms, 0);
  pummel_mode = 1;
  if (pummel_ms > 0)
    compare("async latency, pummel (sends back to back)", art, uv, pummel_ms,
            1);
  free(lat);
  return 0;
}
