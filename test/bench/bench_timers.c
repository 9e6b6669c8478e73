/* Timer benchmarks, libasyncrt against libuv in the same run.
 *
 * 1. million: start 1,000,000 timers with timeouts spread over SPREAD_MS
 *    (in a scrambled order, so inserts land all over the heap), wait until
 *    every one is due, then run the loop until all have fired. Reports the
 *    arm cost (art_timer_start per timer), the fire cost (the timers
 *    phase per timer, callback included), and the two together (the
 *    workload's throughput; the sleep in between is not counted).
 * 2. rearm: 10,000 started timers; 10,000,000 times pick one at random
 *    (the same sequence for both libraries), stop it and start it again
 *    with a later timeout: the idle-timeout pattern of busy sockets.
 *
 * Rounds alternate libasyncrt and libuv (BENCH_ROUNDS, default 3) and the
 * medians are compared. Usage:
 *   bench_timers [art|uv|both] [timers] [rearms]
 * The first argument runs one library only (for valgrind --tool=callgrind). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define SPREAD_MS    300 /* timeouts are 1..SPREAD_MS ms */
#define REARM_TIMERS 10000

static size_t n_timers = 1000000;
static size_t n_rearms = 10000000;
static size_t fired;

/* A scrambled timeout in 1..SPREAD_MS: 7919 is prime, so i * 7919 walks
 * every residue. */
static uint64_t timeout_of(size_t i) {
  return 1 + (i * 7919u) % SPREAD_MS;
}

/* xorshift32: the same pseudo-random timer choices for both libraries. */
static uint32_t next_rand(uint32_t *s) {
  uint32_t x = *s;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *s = x;
}

static void sleep_ms(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

typedef struct {
  double arm;   /* timers armed per second */
  double fire;  /* timers fired per second */
  double whole; /* timers per second of arm + fire together */
  double rearm; /* stop+start pairs per second */
} result_t;

/* ---- libasyncrt ---- */

static void art_fire_cb(art_timer_t *t) {
  (void)t;
  fired++;
}

static void art_noop_cb(art_timer_t *t) {
  (void)t;
}

/* Closes n timers and runs the loop until their close callbacks ran. */
static void art_close_timers(art_loop_t *loop, art_timer_t *t, size_t n) {
  for (size_t i = 0; i < n; i++)
    art_close((art_handle_t *)&t[i], NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

static void art_million(result_t *r) {
  art_loop_t loop;
  art_timer_t *t = calloc(n_timers, sizeof(*t));
  if (t == NULL || art_loop_init(&loop) != 0)
    abort();
  for (size_t i = 0; i < n_timers; i++)
    art_timer_init(&loop, &t[i]);
  fired = 0;
  art_update_time(&loop);
  double t0 = bench_now();
  for (size_t i = 0; i < n_timers; i++)
    art_timer_start(&t[i], art_fire_cb, timeout_of(i), 0);
  double t1 = bench_now();
  sleep_ms(SPREAD_MS + 2);
  double t2 = bench_now();
  art_run(&loop, ART_RUN_DEFAULT);
  double t3 = bench_now();
  if (fired != n_timers)
    abort();
  r->arm = n_timers / (t1 - t0);
  r->fire = n_timers / (t3 - t2);
  r->whole = n_timers / ((t1 - t0) + (t3 - t2));
  art_close_timers(&loop, t, n_timers);
  if (art_loop_close(&loop) != 0)
    abort();
  free(t);
}

static void art_rearm(result_t *r) {
  art_loop_t loop;
  art_timer_t t[REARM_TIMERS];
  uint32_t seed = 2463534242u;
  if (art_loop_init(&loop) != 0)
    abort();
  for (size_t i = 0; i < REARM_TIMERS; i++) {
    art_timer_init(&loop, &t[i]);
    art_timer_start(&t[i], art_noop_cb, 30000 + i, 0);
  }
  double t0 = bench_now();
  for (size_t op = 0; op < n_rearms; op++) {
    art_timer_t *x = &t[next_rand(&seed) % REARM_TIMERS];
    art_timer_stop(x);
    art_timer_start(x, art_noop_cb, 30000 + (op >> 10), 0);
  }
  double t1 = bench_now();
  r->rearm = n_rearms / (t1 - t0);
  art_close_timers(&loop, t, REARM_TIMERS);
  if (art_loop_close(&loop) != 0)
    abort();
}

/* ---- libuv: the same two workloads ---- */
#ifdef ART_HAVE_LIBUV
static void uv_fire_cb(uv_timer_t *t) {
  (void)t;
  fired++;
}

static void uv_noop_cb(uv_timer_t *t) {
  (void)t;
}

static void uv_close_timers(uv_loop_t *loop, uv_timer_t *t, size_t n) {
  for (size_t i = 0; i < n; i++)
    uv_close((uv_handle_t *)&t[i], NULL);
  uv_run(loop, UV_RUN_DEFAULT);
}

static void uv_million(result_t *r) {
  uv_loop_t loop;
  uv_timer_t *t = calloc(n_timers, sizeof(*t));
  if (t == NULL || uv_loop_init(&loop) != 0)
    abort();
  for (size_t i = 0; i < n_timers; i++)
    uv_timer_init(&loop, &t[i]);
  fired = 0;
  uv_update_time(&loop);
  double t0 = bench_now();
  for (size_t i = 0; i < n_timers; i++)
    uv_timer_start(&t[i], uv_fire_cb, timeout_of(i), 0);
  double t1 = bench_now();
  sleep_ms(SPREAD_MS + 2);
  double t2 = bench_now();
  uv_run(&loop, UV_RUN_DEFAULT);
  double t3 = bench_now();
  if (fired != n_timers)
    abort();
  r->arm = n_timers / (t1 - t0);
  r->fire = n_timers / (t3 - t2);
  r->whole = n_timers / ((t1 - t0) + (t3 - t2));
  uv_close_timers(&loop, t, n_timers);
  if (uv_loop_close(&loop) != 0)
    abort();
  free(t);
}

static void uv_rearm(result_t *r) {
  uv_loop_t loop;
  uv_timer_t t[REARM_TIMERS];
  uint32_t seed = 2463534242u;
  if (uv_loop_init(&loop) != 0)
    abort();
  for (size_t i = 0; i < REARM_TIMERS; i++) {
    uv_timer_init(&loop, &t[i]);
    uv_timer_start(&t[i], uv_noop_cb, 30000 + i, 0);
  }
  double t0 = bench_now();
  for (size_t op = 0; op < n_rearms; op++) {
    uv_timer_t *x = &t[next_rand(&seed) % REARM_TIMERS];
    uv_timer_stop(x);
    uv_timer_start(x, uv_noop_cb, 30000 + (op >> 10), 0);
  }
  double t1 = bench_now();
  r->rearm = n_rearms / (t1 - t0);
  uv_close_timers(&loop, t, REARM_TIMERS);
  if (uv_loop_close(&loop) != 0)
    abort();
}
#endif

/* Runs one round of both workloads on one library. */
static void round_of(int uv, result_t *r) {
#ifdef ART_HAVE_LIBUV
  if (uv) {
    uv_million(r);
    uv_rearm(r);
    return;
  }
#endif
  (void)uv;
  art_million(r);
  art_rearm(r);
}

/* Median of one field over the rounds, divided by scale. */
static double median_of(result_t *rs, int n, size_t offset, double scale) {
  double v[BENCH_MAX_ROUNDS];
  for (int i = 0; i < n; i++)
    v[i] = *(double *)((char *)&rs[i] + offset) / scale;
  return n > 0 ? bench_median(v, (size_t)n) : -1;
}

int main(int argc, char **argv) {
  if (argc > 2)
    n_timers = strtoul(argv[2], NULL, 10);
  if (argc > 3)
    n_rearms = strtoul(argv[3], NULL, 10);
  int rounds = bench_rounds();
  int do_art, do_uv;
  bench_which(argc, argv, &do_art, &do_uv);
  result_t ra[BENCH_MAX_ROUNDS], ru[BENCH_MAX_ROUNDS];
  int na = 0, nu = 0;
  printf("timers: %zu timers over %d ms, %zu re-arms of %d timers, "
         "%d rounds\n",
         n_timers, SPREAD_MS, n_rearms, REARM_TIMERS, rounds);
  for (int i = 0; i < rounds; i++) {
    if (do_art)
      round_of(0, &ra[na++]);
    if (do_uv)
      round_of(1, &ru[nu++]);
  }
  const struct {
    const char *name;
    size_t offset;
    double scale; /* 1e6: M/s; 1e3: k/s */
    const char *unit;
  } rows[] = {
      {"timers_arm (start)", offsetof(result_t, arm), 1e6, "M/s"},
      {"timers_fire (all due, one phase)", offsetof(result_t, fire), 1e3,
       "k/s"},
      {"timers_million (arm + fire)", offsetof(result_t, whole), 1e3, "k/s"},
      {"timers_rearm (stop+start)", offsetof(result_t, rearm), 1e6, "M/s"}};
  for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
    double a = do_art ? median_of(ra, na, rows[i].offset, rows[i].scale) : -1;
    double u = do_uv ? median_of(ru, nu, rows[i].offset, rows[i].scale) : -1;
    if (do_art)
      bench_report(rows[i].name, rows[i].unit, a, u);
    else
      printf("%-40s libuv %12.1f %s\n", rows[i].name, u, rows[i].unit);
  }
  return 0;
}
