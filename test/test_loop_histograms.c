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
