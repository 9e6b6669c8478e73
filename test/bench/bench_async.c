/* Cross-thread wakeups, libasyncrt against libuv in the same run.
 *
 * 1. pummel: one thread calls async_send as fast as it can for 300 ms;
 *    the loop counts callbacks. Reports callbacks delivered per second and
 *    the share of sends that coalesced into another send's callback.
 * 2. ping-pong: two loops on two threads, each with an async handle; each
 *    callback sends to the other loop. Reports round trips per second: the
 *    cost of one wakeup each way.
 * Rounds alternate libasyncrt and libuv (BENCH_ROUNDS, default 3); medians
 * are compared. Run pinned (taskset -c 0) and split: see
 * docs/performance.md.
 * Usage: bench_async [art|uv|both] [pummel ms] [round trips] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

static unsigned pummel_ms = 300; /* how long the sender sends */
static long n_pingpong = 50000;

/* Results of one pummel run. */
typedef struct {
  double callbacks_per_s;
  double coalesced; /* share of sends that got no callback of their own */
} pummel_t;

static long callbacks;
static int sender_done; /* atomic */

/* ---- libasyncrt ---- */

static art_async_t art_target;
static art_timer_t art_stopper;
static pthread_t sender_thread;
static long sends;

static void art_count(art_async_t *a) {
  callbacks++;
}

/* The sender stops first, so that no send races with the close. */
static void art_stop_cb(art_timer_t *t) {
  __atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
  pthread_join(sender_thread, NULL);
  art_close((art_handle_t *)&art_target, NULL);
  art_close((art_handle_t *)&art_stopper, NULL);
}

static void *art_sender(void *arg) {
  long n = 0;
  while (!__atomic_load_n(&sender_done, __ATOMIC_RELAXED)) {
    art_async_send(&art_target);
    n++;
  }
  sends = n;
  return NULL;
}

static pummel_t art_pummel(void) {
  art_loop_t loop;
  art_loop_init(&loop);
  art_async_init(&loop, &art_target, art_count);
  art_timer_init(&loop, &art_stopper);
  art_timer_start(&art_stopper, art_stop_cb, pummel_ms, 0);
  callbacks = 0;
  sender_done = 0;
  double t0 = bench_now();
  pthread_create(&sender_thread, NULL, art_sender, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  double dt = bench_now() - t0;
  art_loop_close(&loop);
  return (pummel_t){callbacks / dt, (double)(sends - callbacks) / sends};
}

/* Ping-pong: each side's callback sends to the other side. */
typedef struct {
  art_loop_t loop;
  art_async_t async;
} art_side_t;

static art_side_t art_sides[2];
static long art_trips;

static void art_ping(art_async_t *a) {
  art_side_t *me = a == &art_sides[0].async ? &art_sides[0] : &art_sides[1];
  art_side_t *peer = me == &art_sides[0] ? &art_sides[1] : &art_sides[0];
  if (me == &art_sides[0] && ++art_trips >= n_pingpong) {
    /* Stop both: close ours, then wake the peer a last time. */
    __atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
    art_close((art_handle_t *)&me->async, NULL);
    art_async_send(&peer->async);
    return;
  }
  if (me == &art_sides[1] && __atomic_load_n(&sender_done, __ATOMIC_SEQ_CST)) {
    art_close((art_handle_t *)&me->async, NULL);
    return;
  }
  art_async_send(&peer->async);
}

static void *art_side_thread(void *arg) {
  art_run(&((art_side_t *)arg)->loop, ART_RUN_DEFAULT);
  return NULL;
}

static double art_pingpong(void) {
  pthread_t th;
  art_trips = 0;
  sender_done = 0;
  for (int i = 0; i < 2; i++) {
    art_loop_init(&art_sides[i].loop);
    art_async_init(&art_sides[i].loop, &art_sides[i].async, art_ping);
  }
  double t0 = bench_now();
  pthread_create(&th, NULL, art_side_thread, &art_sides[1]);
  art_async_send(&art_sides[1].async);
  art_run(&art_sides[0].loop, ART_RUN_DEFAULT);
  pthread_join(th, NULL);
  double dt = bench_now() - t0;
  for (int i = 0; i < 2; i++)
    art_loop_close(&art_sides[i].loop);
  return art_trips / dt;
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
static uv_async_t uv_target;
static uv_timer_t uv_stopper;

static void uv_count(uv_async_t *a) {
  callbacks++;
}

static void uv_stop_cb(uv_timer_t *t) {
  __atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
  pthread_join(sender_thread, NULL);
  uv_close((uv_handle_t *)&uv_target, NULL);
  uv_close((uv_handle_t *)&uv_stopper, NULL);
}

static void *uv_sender(void *arg) {
  long n = 0;
  while (!__atomic_load_n(&sender_done, __ATOMIC_RELAXED)) {
    uv_async_send(&uv_target);
    n++;
  }
  sends = n;
  return NULL;
}

static pummel_t uv_pummel(void) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_async_init(&loop, &uv_target, uv_count);
  uv_timer_init(&loop, &uv_stopper);
  uv_timer_start(&uv_stopper, uv_stop_cb, pummel_ms, 0);
  callbacks = 0;
  sender_done = 0;
  double t0 = bench_now();
  pthread_create(&sender_thread, NULL, uv_sender, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  double dt = bench_now() - t0;
  uv_loop_close(&loop);
  return (pummel_t){callbacks / dt, (double)(sends - callbacks) / sends};
}

typedef struct {
  uv_loop_t loop;
  uv_async_t async;
} uv_side_t;

static uv_side_t uv_sides[2];
static long uv_trips;

static void uv_ping(uv_async_t *a) {
  uv_side_t *me = a == &uv_sides[0].async ? &uv_sides[0] : &uv_sides[1];
  uv_side_t *peer = me == &uv_sides[0] ? &uv_sides[1] : &uv_sides[0];
  if (me == &uv_sides[0] && ++uv_trips >= n_pingpong) {
    __atomic_store_n(&sender_done, 1, __ATOMIC_SEQ_CST);
    uv_close((uv_handle_t *)&me->async, NULL);
    uv_async_send(&peer->async);
    return;
  }
  if (me == &uv_sides[1] && __atomic_load_n(&sender_done, __ATOMIC_SEQ_CST)) {
    uv_close((uv_handle_t *)&me->async, NULL);
    return;
  }
  uv_async_send(&peer->async);
}

static void *uv_side_thread(void *arg) {
  uv_run(&((uv_side_t *)arg)->loop, UV_RUN_DEFAULT);
  return NULL;
}

static double uv_pingpong(void) {
  pthread_t th;
  uv_trips = 0;
  sender_done = 0;
  for (int i = 0; i < 2; i++) {
    uv_loop_init(&uv_sides[i].loop);
    uv_async_init(&uv_sides[i].loop, &uv_sides[i].async, uv_ping);
  }
  double t0 = bench_now();
  pthread_create(&th, NULL, uv_side_thread, &uv_sides[1]);
  uv_async_send(&uv_sides[1].async);
  uv_run(&uv_sides[0].loop, UV_RUN_DEFAULT);
  pthread_join(th, NULL);
  double dt = bench_now() - t0;
  for (int i = 0; i < 2; i++)
    uv_loop_close(&uv_sides[i].loop);
  return uv_trips / dt;
}
#endif

int main(int argc, char **argv) {
  int art, uv;
  bench_which(argc, argv, &art, &uv);
  if (argc > 2)
    pummel_ms = (unsigned)atoi(argv[2]);
  if (argc > 3)
    n_pingpong = atol(argv[3]);
  int rounds = bench_rounds();
  double a[BENCH_MAX_ROUNDS], u[BENCH_MAX_ROUNDS], ac[BENCH_MAX_ROUNDS],
      uc[BENCH_MAX_ROUNDS];
  double ap[BENCH_MAX_ROUNDS], up[BENCH_MAX_ROUNDS];
  for (int r = 0; r < rounds; r++) {
    pummel_t p;
    a[r] = ac[r] = u[r] = uc[r] = ap[r] = up[r] = -1;
    if (art) {
      p = art_pummel();
      a[r] = p.callbacks_per_s;
      ac[r] = p.coalesced;
      ap[r] = art_pingpong();
    }
#ifdef ART_HAVE_LIBUV
    if (uv) {
      p = uv_pummel();
      u[r] = p.callbacks_per_s;
      uc[r] = p.coalesced;
      up[r] = uv_pingpong();
    }
#endif
  }
  double am = art ? bench_median(a, rounds) : 0;
  double um = uv ? bench_median(u, rounds) : -1;
  bench_report("async pummel, callbacks delivered", "cb/s", am, um);
  printf("%-40s asyncrt %11.4f%%        libuv %11.4f%%\n", "  sends coalesced",
         art ? 100 * bench_median(ac, rounds) : 0,
         uv ? 100 * bench_median(uc, rounds) : 0);
  bench_report("async ping-pong, two loops", "trips/s",
               art ? bench_median(ap, rounds) : 0,
               uv ? bench_median(up, rounds) : -1);
  return 0;
}
