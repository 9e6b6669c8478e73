/* The manual clock (ART_LOOP_MANUAL_CLOCK): the loop's time moves only by
 * art_loop_advance, or by auto-advance when the poll phase would block with
 * a timer pending. Every check here is on the manual clock, which is exact:
 * a timer fires at its deadline to the ns, and timers of hours fire without
 * the test sleeping (the idle-time metric proves no wait blocked). */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"

#define MS   1000000ull
#define SEC  (1000 * MS)
#define HOUR (3600 * SEC)

static art_loop_t *manual_loop(void **state) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 1), 0);
  return loop;
}

static void close_timers(art_loop_t *loop, art_timer_t *ts, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!art_is_closing((art_handle_t *)&ts[i]))
      assert_int_equal(art_close((art_handle_t *)&ts[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static uint64_t idle_ns(const art_loop_t *loop) {
  art_loop_metrics_t m;
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  return m.idle_time_ns;
}

/* What the timer callbacks saw: which timer ran, and the loop's clock. */
static char order[64];
static uint64_t fired_at[64];
static size_t nfired;

static void note(art_timer_t *t) {
  assert_true(nfired < sizeof(order) - 1);
  fired_at[nfired] = art_loop_clock_ns(t->loop);
  order[nfired++] = *(const char *)t->data;
  order[nfired] = '\0';
}

static void reset_notes(void) {
  nfired = 0;
  order[0] = '\0';
}

/* ---- The option and art_loop_advance. ---- */

ART_TEST(option_can_be_set_but_not_turned_off) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(art_loop_advance(loop, MS), ART_EINVAL); /* real clock */
  assert_int_equal(art_loop_advance(NULL, MS), ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 0), 0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 2),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 1), 0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 1), 0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 0),
                   ART_EINVAL);
  assert_int_equal(art_loop_clock_ns(NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* The manual clock starts at the real clock's time (rounded up to a whole
 * ms) and stays there while
 * real time passes; art_hrtime goes on. Advancing outside art_run moves
 * the cached time with it, and saturates instead of wrapping. */
ART_TEST(clock_moves_only_when_advanced) {
  uint64_t before = art_hrtime();
  art_loop_t *loop = manual_loop(state);
  uint64_t start = art_loop_clock_ns(loop);
  assert_true(start >= before && start <= art_hrtime() + MS);
  assert_int_equal(start % MS, 0);
  uint64_t real = art_hrtime();
  while (art_hrtime() < real + MS)
    ; /* a real ms passes */
  assert_int_equal(art_loop_clock_ns(loop), start);
  art_update_time(loop);
  assert_int_equal(art_now(loop), start / MS);
  assert_int_equal(art_loop_advance(loop, 2500 * MS), 0);
  assert_int_equal(art_loop_clock_ns(loop), start + 2500 * MS);
  assert_int_equal(art_now(loop), (start + 2500 * MS) / MS);
  assert_int_equal(art_loop_advance(loop, UINT64_MAX), 0);
  assert_true(art_loop_clock_ns(loop) == UINT64_MAX);
}

/* Without I/O to wait for, timers of seconds and hours run at once, in
 * deadline order, each at its deadline exactly: the clock jumps from one
 * deadline to the next, and no wait ever blocks. All three ways of
 * starting share the clock. */
ART_TEST(long_timers_fire_at_once_in_order) {
  art_loop_t *loop = manual_loop(state);
  static const char *names = "ABCDE";
  art_timer_t t[5];
  uint64_t start = art_loop_clock_ns(loop);
  reset_notes();
  for (int i = 0; i < 5; i++) {
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
    t[i].data = (void *)(names + i);
  }
  assert_int_equal(art_timer_start(&t[0], note, 3 * 3600 * 1000, 0), 0);
  assert_int_equal(art_timer_start(&t[1], note, 1000, 0), 0);
  assert_int_equal(art_timer_start_ns(&t[2], note, 2 * HOUR + 1, 0), 0);
  assert_int_equal(art_timer_start_node(&t[3], note, 1500, 0), 0);
  assert_int_equal(art_timer_start(&t[4], note, 1000, 0), 0); /* ties B */
  uint64_t real = art_hrtime();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_true(art_hrtime() - real < HOUR); /* liveness: it did not sleep */
  assert_string_equal(order, "BEDCA");
  assert_int_equal(fired_at[0] - start, SEC);
  assert_int_equal(fired_at[1] - start, SEC);
  assert_int_equal(fired_at[2] - start, 1500 * MS); /* Node */
  assert_int_equal(fired_at[3] - start, 2 * HOUR + 1);
  assert_int_equal(fired_at[4] - start, 3 * HOUR);
  assert_int_equal(idle_ns(loop), 0);
  assert_int_equal(art_now(loop), (start + 3 * HOUR) / MS);
  close_timers(loop, t, 5);
}

/* art_loop_advance fires exactly what became due, in the next iteration;
 * ART_RUN_NOWAIT alone never moves the clock. The lag metric measures how
 * far past its deadline the clock was when a timer ran. */
ART_TEST(advance_fires_what_is_due) {
  art_loop_t *loop = manual_loop(state);
  static const char *names = "abc";
  art_timer_t t[3];
  art_loop_metrics_t m;
  reset_notes();
  for (int i = 0; i < 3; i++) {
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
    t[i].data = (void *)(names + i);
    assert_int_equal(art_timer_start(&t[i], note, 100 * (i + 1), 0), 0);
  }
  for (int i = 0; i < 3; i++)
    assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_string_equal(order, "");
  assert_int_equal(art_loop_advance(loop, 99 * MS), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_string_equal(order, "");
  assert_int_equal(art_loop_advance(loop, 1 * MS), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_string_equal(order, "a");
  assert_int_equal(art_loop_advance(loop, 1150 * MS), 0); /* at 1250 ms */
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_string_equal(order, "abc");
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  assert_int_equal(m.timers_fired, 3);
  assert_int_equal(m.timer_lag_max_ms, 1050);       /* b: due at 200 */
  assert_int_equal(m.timer_lag_sum_ms, 1050 + 950); /* a was on time */
  assert_int_equal(m.idle_time_ns, 0);
  close_timers(loop, t, 3);
}

/* Auto-advance lands on each deadline: a timer runs with no lag. */
ART_TEST(auto_advance_has_no_lag) {
  art_loop_t *loop = manual_loop(state);
  art_timer_t t;
  art_loop_metrics_t m;
  reset_notes();
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = "x";
  assert_int_equal(art_timer_start(&t, note, 45 * 60 * 1000, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  assert_int_equal(m.timers_fired, 1);
  assert_int_equal(m.timer_lag_max_ms, 0);
  close_timers(loop, &t, 1);
}

/* ART_RUN_ONCE jumps to the next timer and runs it in the same call. */
ART_TEST(run_once_jumps_to_the_next_timer) {
  art_loop_t *loop = manual_loop(state);
  art_timer_t t[2];
  uint64_t start = art_loop_clock_ns(loop);
  reset_notes();
  for (int i = 0; i < 2; i++)
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
  t[0].data = "1";
  t[1].data = "2";
  assert_int_equal(art_timer_start(&t[0], note, 60000, 0), 0);
  assert_int_equal(art_timer_start(&t[1], note, 120000, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_ONCE), 1);
  assert_string_equal(order, "1");
  assert_int_equal(art_loop_clock_ns(loop) - start, 60 * SEC);
  assert_int_equal(art_run(loop, ART_RUN_ONCE), 0);
  assert_string_equal(order, "12");
  assert_int_equal(art_loop_clock_ns(loop) - start, 120 * SEC);
  close_timers(loop, t, 2);
}

/* ---- Intervals. ---- */

static int runs;

static void count_to_five(art_timer_t *t) {
  note(t);
  if (++runs == 5)
    assert_int_equal(art_timer_stop(t), 0);
}

/* An ms interval, an ns interval and a Node interval each run every
 * period, exactly, with no drift (an ns interval leaves the clock between
 * two ms, and a Node timer counts from the clock's whole ms); a Node
 * setTimeout(0) is 1 ms. */
ART_TEST(intervals_run_every_period) {
  art_loop_t *loop = manual_loop(state);
  art_timer_t t;
  uint64_t start;
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = "i";
  for (int kind = 0; kind < 3; kind++) {
    reset_notes();
    runs = 0;
    start = art_loop_clock_ns(loop);
    uint64_t period = kind == 0 ? 10 * MS : kind == 1 ? 250000 : 1000 * MS;
    if (kind == 0)
      assert_int_equal(art_timer_start(&t, count_to_five, 10, 10), 0);
    else if (kind == 1)
      assert_int_equal(art_timer_start_ns(&t, count_to_five, 250000, 250000),
                       0);
    else
      assert_int_equal(art_timer_start_node(&t, count_to_five, 1000, 1), 0);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    assert_int_equal(nfired, 5);
    if (kind == 2)
      start = start / MS * MS; /* Node counts from the clock in whole ms */
    for (size_t i = 0; i < 5; i++)
      assert_int_equal(fired_at[i] - start, (i + 1) * period);
  }
  reset_notes();
  start = art_loop_clock_ns(loop);
  assert_int_equal(art_timer_start_node(&t, note, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(fired_at[0] - start / MS * MS, MS);
  assert_int_equal(idle_ns(loop), 0);
  close_timers(loop, &t, 1);
}

/* ---- Advancing from a callback. ---- */

static art_timer_t later;

/* Advances the clock by 5 s from inside the timers phase. The cached time
 * does not move, so a timer started here counts from it, and a timer that
 * the advance made due waits for the next iteration. */
static void advance_from_callback(art_timer_t *t) {
  uint64_t now = art_now(t->loop);
  note(t);
  assert_int_equal(art_loop_advance(t->loop, 5 * SEC), 0);
  assert_int_equal(art_now(t->loop), now);
  assert_int_equal(art_loop_clock_ns(t->loop), fired_at[0] + 5 * SEC);
  assert_int_equal(art_timer_start(&later, note, 5000, 0), 0);
}

ART_TEST(advance_from_a_callback_waits_for_the_next_iteration) {
  art_loop_t *loop = manual_loop(state);
  art_timer_t t[2];
  reset_notes();
  for (int i = 0; i < 2; i++)
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
  assert_int_equal(art_timer_init(loop, &later), 0);
  t[0].data = "a";
  t[1].data = "b";
  later.data = "L";
  assert_int_equal(art_timer_start(&t[0], advance_from_callback, 10, 0), 0);
  assert_int_equal(art_timer_start(&t[1], note, 4000, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_string_equal(order, ""); /* nothing due: NOWAIT does not jump */
  assert_int_equal(art_run(loop, ART_RUN_ONCE), 1);
  assert_string_equal(order, "a"); /* b became due, but in a's phase */
  /* "later" counts from a's cached time: due at 10 ms + 5 s, the clock. */
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_string_equal(order, "abL");
  assert_int_equal(fired_at[1], fired_at[0] + 5 * SEC);
  assert_int_equal(fired_at[2], fired_at[0] + 5 * SEC);
  close_timers(loop, t, 2);
  close_timers(loop, &later, 1);
}

/* ---- I/O and the auto-advance rule. ---- */

static int reads;
static art_timer_t hour;

static void on_readable(art_poll_t *p, int status, int events) {
  char buf[16];
  assert_int_equal(status, 0);
  assert_true(events & ART_READABLE);
  assert_true(read(*(int *)p->data, buf, sizeof(buf)) > 0);
  reads++;
  /* The hour has not passed: ready I/O runs before the clock jumps. */
  assert_int_equal(nfired, 0);
  assert_int_equal(art_poll_stop(p), 0);
}

ART_TEST(ready_io_runs_before_the_clock_jumps) {
  art_loop_t *loop = manual_loop(state);
  art_poll_t p;
  int sv[2];
  uint64_t start = art_loop_clock_ns(loop);
  reset_notes();
  reads = 0;
  assert_int_equal(
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
      0);
  assert_int_equal(art_timer_init(loop, &hour), 0);
  hour.data = "h";
  assert_int_equal(art_timer_start(&hour, note, 3600 * 1000, 0), 0);
  assert_int_equal(art_poll_init(loop, &p, sv[0]), 0);
  p.data = &sv[0];
  assert_int_equal(art_poll_start(&p, ART_READABLE, on_readable), 0);
  assert_int_equal(write(sv[1], "x", 1), 1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(reads, 1);
  assert_string_equal(order, "h");
  assert_int_equal(fired_at[0] - start, HOUR);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  close_timers(loop, &hour, 1);
  close(sv[0]);
  close(sv[1]);
}

static void slow_work(art_work_t *w) {
  (void)w;
  usleep(20000); /* real time, on a pool thread */
}

static int works_done;

static void after_slow_work(art_work_t *w, int status) {
  (void)w;
  assert_int_equal(status, 0);
  works_done++;
}

/* With no timer pending, the poll phase waits for real (here for pool
 * work): the manual clock stays put, and the wait counts as idle time on
 * the real clock. */
ART_TEST(without_timers_the_wait_is_real) {
  art_loop_t *loop = manual_loop(state);
  art_work_t w;
  uint64_t start = art_loop_clock_ns(loop);
  works_done = 0;
  assert_int_equal(art_queue_work(loop, &w, slow_work, after_slow_work), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(works_done, 1);
  assert_int_equal(art_loop_clock_ns(loop), start);
  assert_true(idle_ns(loop) > 0);
}

/* An unreferenced timer does not keep the loop alive, so it is no reason
 * to jump: art_run returns and the clock has not moved. */
ART_TEST(unreferenced_timer_is_not_jumped_to) {
  art_loop_t *loop = manual_loop(state);
  art_timer_t t;
  uint64_t start = art_loop_clock_ns(loop);
  reset_notes();
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = "u";
  assert_int_equal(art_timer_start(&t, note, 1000, 0), 0);
  art_unref((art_handle_t *)&t);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "");
  assert_int_equal(art_loop_clock_ns(loop), start);
  close_timers(loop, &t, 1);
}
