/* Loop metrics: always-on counters, the opt-in per-phase clock
 * (ART_LOOP_MEASURE_PHASES), event-loop utilisation and timer lag. Timing
 * assertions are only lower bounds made certain by busy-waiting, or sums
 * that must not exceed the wall time they were measured in. */
#include <string.h>
#include <time.h>

#include "helpers/harness.h"

#define MS 1000000ull

/* Busy-waits for ms milliseconds: that much time certainly passes inside
 * the current phase. */
static void spin_ms(unsigned ms) {
  uint64_t end = art_hrtime() + ms * MS;
  while (art_hrtime() < end)
    ;
}

static uint64_t phase_sum(const art_loop_metrics_t *m) {
  uint64_t sum = 0;
  for (int i = 0; i < 7; i++)
    sum += m->phase_time_ns[i];
  return sum;
}

static void spin_timer_cb(art_timer_t *t) {
  spin_ms(4);
}

static void spin_micro_cb(art_loop_t *loop, void *arg) {
  spin_ms(3);
}

static void spin_check_cb(art_check_t *c) {
  spin_ms(5);
  art_queue_microtask(c->loop, spin_micro_cb, NULL);
  art_check_stop(c);
}

static void spin_close_cb(art_handle_t *h) {
  spin_ms(2);
}

ART_TEST(phase_times_are_off_by_default) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_loop_metrics_t m;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, spin_timer_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  assert_true(m.iterations >= 1);
  assert_int_equal(phase_sum(&m), 0);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* Each phase gets at least the time spent in it; microtask time is carved
 * out of the phase it ran in, so nothing is counted twice: the phases add
 * up to no more than the wall time of the run. */
ART_TEST(measured_phases_add_up_without_double_counting) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_check_t c;
  art_loop_metrics_t m;
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MEASURE_PHASES, 1), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_timer_start(&t, spin_timer_cb, 0, 0), 0);
  assert_int_equal(art_check_start(&c, spin_check_cb), 0);
  uint64_t t0 = art_hrtime();
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(art_close((art_handle_t *)&t, spin_close_cb), 0);
  assert_int_equal(art_close((art_handle_t *)&c, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  uint64_t wall = art_hrtime() - t0;
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  assert_true(m.phase_time_ns[ART_PHASE_TIMERS] >= 4 * MS);
  assert_true(m.phase_time_ns[ART_PHASE_CHECK] >= 5 * MS);
  assert_true(m.phase_time_ns[ART_PHASE_MICROTASKS] >= 3 * MS);
  assert_true(m.phase_time_ns[ART_PHASE_CLOSE] >= 2 * MS);
  assert_true(phase_sum(&m) <= wall);
}

static void enable_cb(art_timer_t *t) {
  assert_int_equal(art_loop_configure(t->loop, ART_LOOP_MEASURE_PHASES, 1), 0);
  spin_ms(2);
}

/* Turned on from inside a callback, the clock starts there: no phase is
 * charged the time since the loop was created. */
ART_TEST(measuring_can_start_mid_iteration_and_stop) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_loop_metrics_t m1, m2;
  struct timespec nap = {0, 20 * 1000000L};
  nanosleep(&nap, NULL);
  uint64_t t0 = art_hrtime();
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, enable_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  uint64_t wall = art_hrtime() - t0;
  assert_int_equal(art_loop_metrics(loop, &m1), 0);
  assert_true(phase_sum(&m1) <= wall);
  assert_true(m1.phase_time_ns[ART_PHASE_TIMERS] >= 2 * MS);
  /* Off again: the figures stop moving. */
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MEASURE_PHASES, 0), 0);
  assert_int_equal(art_timer_start(&t, spin_timer_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &m2), 0);
  assert_memory_equal(m1.phase_time_ns, m2.phase_time_ns,
                      sizeof(m1.phase_time_ns));
  assert_true(m2.iterations > m1.iterations);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(configure_and_utilization_bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_loop_metrics_t a, b;
  double u;
  assert_int_equal(art_loop_configure(NULL, ART_LOOP_MEASURE_PHASES, 1),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, (art_loop_option)42, 1),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MEASURE_PHASES, 2),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MEASURE_PHASES, -1),
                   ART_EINVAL);
  art_loop_t closed;
  assert_int_equal(art_loop_init(&closed), 0);
  assert_int_equal(art_loop_close(&closed), 0);
  assert_int_equal(art_loop_configure(&closed, ART_LOOP_MEASURE_PHASES, 1),
                   ART_EINVAL);
  assert_int_equal(art_loop_metrics(NULL, &a), ART_EINVAL);
  assert_int_equal(art_loop_metrics(loop, NULL), ART_EINVAL);
  assert_int_equal(art_loop_metrics(loop, &a), 0);
  assert_int_equal(art_loop_metrics(loop, &b), 0);
  assert_int_equal(art_loop_utilization(&a, NULL, &u), ART_EINVAL);
  assert_int_equal(art_loop_utilization(&a, &b, NULL), ART_EINVAL);
  b.sample_ns = a.sample_ns; /* an empty interval */
  assert_int_equal(art_loop_utilization(&a, &b, &u), ART_EINVAL);
  assert_int_equal(art_loop_utilization(&b, &a, &u), ART_EINVAL);
}

static art_idle_t busy_idle;
static uint64_t busy_until;

static void busy_idle_cb(art_idle_t *idle) {
  if (art_hrtime() >= busy_until)
    art_idle_stop(idle);
}

/* A loop that never waits is fully utilised; one that waits for a timer
 * spends that time idle. */
ART_TEST(utilization_tracks_waiting) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_loop_metrics_t a, b, c;
  double u;
  assert_int_equal(art_loop_metrics(loop, &a), 0);
  assert_int_equal(art_idle_init(loop, &busy_idle), 0);
  busy_until = art_hrtime() + 20 * MS;
  assert_int_equal(art_idle_start(&busy_idle, busy_idle_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &b), 0);
  assert_int_equal(art_loop_utilization(&a, &b, &u), 0);
  assert_true(u == 1.0); /* the poll phase never blocked */
  assert_int_equal(art_timer_init(loop, &t), 0);
  art_update_time(loop); /* the cached time is 20 ms stale after the spin */
  assert_int_equal(art_timer_start(&t, spin_timer_cb, 50, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &c), 0);
  /* How long the wait lasted depends on the machine's load; that it was
   * counted at all is what a test can assert. */
  assert_true(c.idle_time_ns > b.idle_time_ns);
  assert_int_equal(art_loop_utilization(&b, &c, &u), 0);
  assert_true(u >= 0.0 && u < 1.0);
  assert_int_equal(art_loop_utilization(NULL, &c, &u), 0);
  assert_true(u >= 0.0 && u <= 1.0);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&busy_idle, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static void noop_timer_cb(art_timer_t *t) {}

/* A timer that runs 30 ms after its deadline shows up as 30 ms of lag. */
ART_TEST(timer_lag_counts_lateness) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_loop_metrics_t m;
  art_update_time(loop);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, noop_timer_cb, 0, 0), 0);
  struct timespec nap = {0, 30 * 1000000L};
  nanosleep(&nap, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  assert_int_equal(m.timers_fired, 1);
  assert_true(m.timer_lag_max_ms >= 30);
  assert_int_equal(m.timer_lag_sum_ms, m.timer_lag_max_ms);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}
