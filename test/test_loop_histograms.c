/* The histograms the library records: the work pool's queue wait and run
 * time per lane, the file system's request latency, the per-phase time of
 * ART_LOOP_MEASURE_PHASES and the event-loop delay monitor. Counts are
 * checked exactly; times only as lower bounds made certain by
 * busy-waiting. Pool workers record: ART_SUITE_THREADS */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helpers/harness.h"

#define MS 1000000ull

static void spin_ns(uint64_t ns) {
  uint64_t end = art_hrtime() + ns;
  while (art_hrtime() < end)
    ;
}

/* ---- The pool: every item of every lane, once in each histogram. ---- */

#define PER_LANE 20

static int done_count;

static void spin_work(art_work_t *req) {
  spin_ns(MS);
}

static void count_after(art_work_t *req, int status) {
  assert_int_equal(status, 0);
  done_count++;
}

ART_TEST(pool_histograms_count_every_item_per_lane) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static art_work_t reqs[ART_LANE_COUNT][PER_LANE];
  static art_histogram_t wait, run;
  art_pool_t *pool;
  done_count = 0;
  assert_int_equal(art_pool_init(&pool, 2), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  for (int lane = 0; lane < ART_LANE_COUNT; lane++)
    for (int i = 0; i < PER_LANE; i++)
      assert_int_equal(art_queue_work_lane(loop, &reqs[lane][i], lane,
                                           spin_work, count_after),
                       0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(done_count, ART_LANE_COUNT * PER_LANE);
  for (int lane = 0; lane < ART_LANE_COUNT; lane++) {
    assert_int_equal(art_pool_histograms(pool, lane, &wait, &run), 0);
    assert_int_equal(art_histogram_count(&wait), PER_LANE);
    assert_int_equal(art_histogram_count(&run), PER_LANE);
    assert_true(art_histogram_min(&run) >= MS); /* each spun 1 ms */
  }
  /* 60 items of 1 ms on 2 threads: some item waited for 20 ms or more. */
  uint64_t longest = 0;
  for (int lane = 0; lane < ART_LANE_COUNT; lane++) {
    assert_int_equal(art_pool_histograms(pool, lane, &wait, NULL), 0);
    uint64_t m = art_histogram_max(&wait);
    longest = m > longest ? m : longest;
  }
  assert_true(longest >= 20 * MS);
  assert_int_equal(art_pool_histograms(pool, ART_LANE_COUNT, &wait, &run),
                   ART_EINVAL);
  assert_int_equal(art_pool_histograms(pool, ART_LANE_CPU, NULL, NULL),
                   ART_EINVAL);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* A canceled item never ran: it is in neither histogram. */
static void cancel_after(art_work_t *req, int status) {
  done_count += status == ART_ECANCELED ? 100 : 1;
}

static void block_work(art_work_t *req) {
  spin_ns(20 * MS);
}

ART_TEST(pool_histograms_leave_out_canceled_items) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_work_t first, second;
  art_histogram_t wait, run;
  art_pool_t *pool;
  done_count = 0;
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  assert_int_equal(
      art_queue_work_lane(loop, &first, ART_LANE_FS, block_work, cancel_after),
      0);
  assert_int_equal(
      art_queue_work_lane(loop, &second, ART_LANE_FS, block_work, cancel_after),
      0);
  /* One thread: second waits behind first, or first has not started yet;
   * cancel whichever is still queued. */
  if (art_cancel((art_req_t *)&second) != 0)
    fail();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(done_count, 101);
  assert_int_equal(art_pool_histograms(pool, ART_LANE_FS, &wait, &run), 0);
  assert_int_equal(art_histogram_count(&wait), 1);
  assert_int_equal(art_histogram_count(&run), 1);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* ---- File-system latency. ---- */

static int fs_done;

static void stat_cb(art_fs_t *req) {
  assert_int_equal(req->result, 0);
  fs_done++;
  art_fs_req_cleanup(req);
}

ART_TEST(fs_latency_counts_every_request) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t reqs[25];
  fs_done = 0;
  assert_null(art_fs_latency(loop)); /* no request yet */
  art_fs_t sync_req;                 /* synchronous requests are not counted */
  assert_int_equal(art_fs_stat(loop, &sync_req, ".", NULL), 0);
  art_fs_req_cleanup(&sync_req);
  assert_null(art_fs_latency(loop));
  for (int i = 0; i < 25; i++)
    assert_int_equal(art_fs_stat(loop, &reqs[i], ".", stat_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(fs_done, 25);
  art_histogram_t *h = art_fs_latency(loop);
  assert_non_null(h);
  assert_int_equal(art_histogram_count(h), 25);
  assert_true(art_histogram_min(h) > 0);
  for (int i = 0; i < 10; i++)
    assert_int_equal(art_fs_stat(loop, &reqs[i], ".", stat_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_histogram_count(h), 35);
  assert_null(art_fs_latency(NULL));
}

/* ---- Per-phase time. ---- */

static void spin_idle_cb(art_idle_t *c) {
  spin_ns(3 * MS);
  art_idle_stop(c);
}

ART_TEST(phase_histograms_record_each_phase_per_iteration) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t c;
  art_loop_metrics_t m;
  assert_null(art_loop_phase_histogram(loop, ART_PHASE_IDLE_PREPARE));
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MEASURE_PHASES, 1), 0);
  for (int p = 0; p < ART_PHASE_NONE; p++)
    assert_non_null(art_loop_phase_histogram(loop, (art_phase)p));
  assert_null(art_loop_phase_histogram(loop, ART_PHASE_NONE));
  assert_null(art_loop_phase_histogram(NULL, ART_PHASE_POLL));
  assert_int_equal(art_idle_init(loop, &c), 0);
  assert_int_equal(art_idle_start(&c, spin_idle_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  /* One value per phase per iteration; the idle phase's largest holds the
   * 3 ms spin. */
  for (int p = 0; p < ART_PHASE_MICROTASKS; p++)
    assert_int_equal(
        art_histogram_count(art_loop_phase_histogram(loop, (art_phase)p)),
        m.iterations);
  art_histogram_t *check =
      art_loop_phase_histogram(loop, ART_PHASE_IDLE_PREPARE);
  assert_true(art_histogram_max(check) >= 3 * MS);
  /* Off: nothing more is recorded, and the figures stay. */
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MEASURE_PHASES, 0), 0);
  uint64_t before = art_histogram_count(check);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(art_histogram_count(check), before);
  assert_int_equal(art_close((art_handle_t *)&c, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static void spin_micro_cb(art_loop_t *loop, void *arg) {
  spin_ns(2 * MS);
}

static void queue_micro_cb(art_timer_t *t) {
  art_queue_microtask(t->loop, spin_micro_cb, NULL);
}

ART_TEST(phase_histograms_record_each_microtask_drain) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MEASURE_PHASES, 1), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, queue_micro_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  art_histogram_t *h = art_loop_phase_histogram(loop, ART_PHASE_MICROTASKS);
  assert_int_equal(art_histogram_count(h), 1);
  assert_true(art_histogram_min(h) >= 2 * MS);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- The event-loop delay monitor. ---- */

static void busy_timer_cb(art_timer_t *t) {
  spin_ns(30 * MS);
}

static void done_timer_cb(art_timer_t *t) {
  art_close((art_handle_t *)t, NULL);
}

/* A callback that blocks the loop for 30 ms makes the 1 ms monitor run at
 * least 29 ms late: its deadline was at most 1 ms after the block began. */
ART_TEST(delay_monitor_sees_a_blocked_loop) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t busy, done;
  art_histogram_t h;
  art_histogram_init(&h);
  assert_int_equal(art_loop_monitor_delay(loop, 1, &h), 0);
  assert_int_equal(art_loop_alive(loop), 0); /* unreferenced */
  assert_int_equal(art_timer_init(loop, &busy), 0);
  assert_int_equal(art_timer_init(loop, &done), 0);
  assert_int_equal(art_timer_start(&busy, busy_timer_cb, 5, 0), 0);
  assert_int_equal(art_timer_start(&done, done_timer_cb, 60, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_true(art_histogram_count(&h) >= 2);
  assert_true(art_histogram_max(&h) >= 29 * MS);
  /* Stopped, it records nothing more. */
  assert_int_equal(art_loop_monitor_delay_stop(loop), 0);
  uint64_t n = art_histogram_count(&h);
  assert_int_equal(art_timer_start(&busy, busy_timer_cb, 5, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_histogram_count(&h), n);
  assert_int_equal(art_close((art_handle_t *)&busy, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* Started again, the monitor records into the new histogram; the loop
 * closes with it running (the harness's art_loop_close frees it). */
ART_TEST(delay_monitor_restarts_and_closes_with_the_loop) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t done;
  static art_histogram_t a, b;
  art_histogram_init(&a);
  art_histogram_init(&b);
  assert_int_equal(art_loop_monitor_delay(loop, 0, &a), ART_EINVAL);
  assert_int_equal(art_loop_monitor_delay(loop, 1, NULL), ART_EINVAL);
  assert_int_equal(art_loop_monitor_delay(NULL, 1, &a), ART_EINVAL);
  assert_int_equal(art_loop_monitor_delay_stop(NULL), ART_EINVAL);
  assert_int_equal(art_loop_monitor_delay_stop(loop), 0); /* never started */
  assert_int_equal(art_loop_monitor_delay(loop, 1, &a), 0);
  assert_int_equal(art_loop_monitor_delay(loop, 1, &b), 0);
  assert_int_equal(art_timer_init(loop, &done), 0);
  assert_int_equal(art_timer_start(&done, done_timer_cb, 20, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_histogram_count(&a), 0);
  assert_true(art_histogram_count(&b) >= 1);
}
