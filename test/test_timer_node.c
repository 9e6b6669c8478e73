/* Precise (ns) timers and Node's timers: art_timer_start_ns,
 * art_timer_start_node, art_timer_refresh. Time only makes the loop late:
 * every check on time is a lower bound (a timer never runs early), or an
 * order that a delay of tens of ms between two adjacent calls would be
 * needed to change. */
#include <string.h>
#include <time.h>

#include "helpers/handle.h"
#include "helpers/harness.h"

#define MS 1000000ull

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1)
    ;
}

/* Burns the CPU for ms: synchronous work, as a long callback would be. */
static void busy_ms(uint64_t ms) {
  uint64_t end = art_hrtime() + ms * MS;
  while (art_hrtime() < end)
    ;
}

static void close_all(art_loop_t *loop, art_timer_t *ts, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!art_is_closing((art_handle_t *)&ts[i]))
      assert_int_equal(art_close((art_handle_t *)&ts[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static char order[64];
static size_t norder;

static void note(art_timer_t *t) {
  if (norder == sizeof(order) - 1)
    return;
  order[norder++] = *(const char *)t->data;
  order[norder] = '\0';
}

static void reset_order(void) {
  norder = 0;
  order[0] = '\0';
}

/* ---- Precise timers. ---- */

#define NS_TIMERS 8
#define NS_ROUNDS 25

typedef struct {
  art_timer_t timer;
  uint64_t started; /* art_hrtime() just before the start call */
  uint64_t delay;   /* ns */
  int round;
} ns_probe_t;

static int ns_early, ns_fired;

static uint64_t ns_delay(int i, int round) {
  return 20000u + (uint64_t)((i * 7919 + round * 104729) % 1500) * 1000u;
}

static void ns_cb(art_timer_t *t) {
  ns_probe_t *p = (ns_probe_t *)t;
  if (art_hrtime() < p->started + p->delay)
    ns_early++;
  ns_fired++;
  if (++p->round == NS_ROUNDS)
    return;
  p->delay = ns_delay((int)(p - (ns_probe_t *)t->data), p->round);
  p->started = art_hrtime();
  assert_int_equal(art_timer_start_ns(t, ns_cb, p->delay, 0), 0);
}

/* 200 deadlines from 20 us to 1.5 ms, started from callbacks at all sorts
 * of moments: none runs before its deadline counted from the call. */
ART_TEST(ns_timers_never_run_before_their_deadline) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  ns_probe_t p[NS_TIMERS];
  ns_early = ns_fired = 0;
  for (int i = 0; i < NS_TIMERS; i++) {
    assert_int_equal(art_timer_init(loop, &p[i].timer), 0);
    p[i].timer.data = p;
    p[i].round = 0;
    p[i].delay = ns_delay(i, 0);
    p[i].started = art_hrtime();
    assert_int_equal(art_timer_start_ns(&p[i].timer, ns_cb, p[i].delay, 0), 0);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(ns_fired, NS_TIMERS * NS_ROUNDS);
  assert_int_equal(ns_early, 0);
  for (int i = 0; i < NS_TIMERS; i++)
    assert_int_equal(art_close((art_handle_t *)&p[i].timer, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static uint64_t rep_last, rep_min_gap;
static int rep_runs;

static void rep_cb(art_timer_t *t) {
  uint64_t now = art_hrtime();
  if (rep_runs > 0 && now - rep_last < rep_min_gap)
    rep_min_gap = now - rep_last;
  rep_last = now;
  if (++rep_runs == 20)
    assert_int_equal(art_timer_stop(t), 0);
}

/* A ns repeat keeps its ns, and the repeat getter rounds it down to ms. */
ART_TEST(ns_repeat_runs_from_each_deadline) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  rep_runs = 0;
  rep_min_gap = UINT64_MAX;
  assert_int_equal(art_timer_init(loop, &t), 0);
  uint64_t t0 = art_hrtime();
  assert_int_equal(art_timer_start_ns(&t, rep_cb, 300000, 1500000), 0);
  assert_int_equal(art_timer_get_repeat(&t), 1);
  assert_true(art_timer_get_due_in(&t) >= 1); /* 0.3 ms rounds up */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(rep_runs, 20);
  /* Run k is due 0.3 + 1.5 k ms after the start. */
  assert_true(rep_last - t0 >= 300000u + 19u * 1500000u);
  close_all(loop, &t, 1);
}

/* The embedding timeout rounds a sub-ms wait up, never down to 0. */
ART_TEST(backend_timeout_rounds_ns_up) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start_ns(&t, note, 500 * MS + 1, 0), 0);
  int ms = art_backend_timeout(loop);
  assert_true(ms >= 1 && ms <= 501);
  close_all(loop, &t, 1);
}

/* ---- Node's rules. ---- */

static uint64_t from_call_started;
static uint64_t from_call_ran;

static void from_call_cb(art_timer_t *t) {
  (void)t;
  from_call_ran = art_hrtime();
}

/* setTimeout(f, 15) after 30 ms of synchronous work is due 15 ms after the
 * call, and the call does not move the cached time. */
ART_TEST(node_delay_counts_from_the_call) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t node, ms;
  assert_int_equal(art_timer_init(loop, &node), 0);
  assert_int_equal(art_timer_init(loop, &ms), 0);
  uint64_t cached = art_now(loop);
  busy_ms(30);
  from_call_started = art_hrtime();
  assert_int_equal(art_timer_start_node(&node, from_call_cb, 15, 0), 0);
  assert_int_equal(art_now(loop), cached);
  /* art_timer_start counts from the cached time, 30 ms old: overdue. */
  assert_int_equal(art_timer_start(&ms, note, 15, 0), 0);
  assert_int_equal(art_timer_get_due_in(&ms), 15);
  ms.data = "m";
  reset_order();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* Whole ms: the start may count from up to 1 ms before the call. */
  assert_true(from_call_ran >= from_call_started + 14 * MS);
  assert_string_equal(order, "m");
  assert_int_equal(art_close((art_handle_t *)&node, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&ms, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static art_timer_t late_b;
static int late_b_due_at_phase; /* b's due_in seen from a's callback */
static uint64_t late_a_iter, late_b_iter;

static uint64_t iterations(art_loop_t *loop) {
  art_loop_metrics_t m;
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  return m.iterations;
}

static void late_a_cb(art_timer_t *t) {
  late_b_due_at_phase = (int)art_timer_get_due_in(&late_b);
  late_a_iter = iterations(t->loop);
  busy_ms(25); /* b becomes due while the phase runs */
}

static void late_b_cb(art_timer_t *t) {
  late_b_iter = iterations(t->loop);
}

/* A timer that becomes due while the timers phase runs waits for the next
 * iteration: the phase compares with the time it began at. */
ART_TEST(node_timer_due_during_the_phase_waits) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t a;
  assert_int_equal(art_timer_init(loop, &a), 0);
  assert_int_equal(art_timer_init(loop, &late_b), 0);
  assert_int_equal(art_timer_start_node(&a, late_a_cb, 1, 0), 0);
  assert_int_equal(art_timer_start_node(&late_b, late_b_cb, 20, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  if (late_b_due_at_phase > 0) /* else the loop itself started late */
    assert_true(late_b_iter > late_a_iter);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  close_all(loop, &late_b, 1);
}

/* setTimeout(b, 0) is setTimeout(b, 1): it runs after a timer of 1 ms
 * started before it, and so does a delay above TIMEOUT_MAX. */
ART_TEST(node_delays_below_1_or_above_max_mean_1) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t[3];
  const char *names[] = {"a", "b", "c"};
  const uint64_t delays[] = {1, 0, 2147483648u};
  reset_order();
  for (int i = 0; i < 3; i++) {
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
    t[i].data = (void *)names[i];
    assert_int_equal(art_timer_start_node(&t[i], note, delays[i], 0), 0);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "abc");
  close_all(loop, t, 3);
}

static art_timer_t iv, iv_t;
static int iv_runs;

static void iv_timeout_cb(art_timer_t *t) {
  note(t);
}

/* First run: 8 ms of work, then a timeout of 15 ms. Node re-arms the
 * interval 20 ms after the callback began, so it runs before the timeout
 * (due 23 ms after); measured from the callback's end it would run after. */
static void iv_work_cb(art_timer_t *t) {
  note(t);
  if (++iv_runs == 1) {
    busy_ms(8);
    assert_int_equal(art_timer_start_node(&iv_t, iv_timeout_cb, 15, 0), 0);
  } else {
    assert_int_equal(art_timer_stop(t), 0); /* clearInterval in its cb */
  }
}

ART_TEST(node_interval_rearms_from_its_callback_start) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(art_timer_init(loop, &iv), 0);
  assert_int_equal(art_timer_init(loop, &iv_t), 0);
  iv.data = "i";
  iv_t.data = "t";
  iv_runs = 0;
  reset_order();
  assert_int_equal(art_timer_start_node(&iv, iv_work_cb, 20, 1), 0);
  assert_int_equal(art_timer_get_repeat(&iv), 20);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "iit");
  assert_int_equal(art_close((art_handle_t *)&iv, NULL), 0);
  close_all(loop, &iv_t, 1);
}

static void iv_late_cb(art_timer_t *t) {
  note(t);
  if (++iv_runs == 1)
    assert_int_equal(art_timer_start_node(&iv_t, iv_timeout_cb, 5, 0), 0);
  else
    assert_int_equal(art_close((art_handle_t *)t, NULL), 0);
}

/* An interval that runs 60 ms late: Node re-arms it 50 ms after that run
 * began, so a 5 ms timeout started by the run comes first. Re-armed from
 * its deadline (art_timer_start's way) it would be overdue and run first. */
ART_TEST(node_interval_late_run_counts_from_the_run) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(art_timer_init(loop, &iv), 0);
  assert_int_equal(art_timer_init(loop, &iv_t), 0);
  iv.data = "i";
  iv_t.data = "t";
  iv_runs = 0;
  reset_order();
  assert_int_equal(art_timer_start_node(&iv, iv_late_cb, 50, 1), 0);
  sleep_ms(110);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "iti");
  close_all(loop, &iv_t, 1);
}

static void iv_tie_cb(art_timer_t *t) {
  note(t);
  if (++iv_runs == 1)
    assert_int_equal(art_timer_start_node(&iv_t, iv_timeout_cb, 10, 0), 0);
  else
    assert_int_equal(art_timer_stop(t), 0);
}

/* A timeout started by an interval's callback with the interval's delay is
 * due with its next run (when the ms did not change during the callback)
 * and runs first: the interval is re-armed after the callback. A try in
 * which the ms changed orders them by deadline instead, so several are
 * made; re-armed before the callback the interval would win every one. */
ART_TEST(node_timeout_from_interval_cb_runs_before_its_next_run) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int timeout_first = 0;
  assert_int_equal(art_timer_init(loop, &iv), 0);
  assert_int_equal(art_timer_init(loop, &iv_t), 0);
  iv.data = "i";
  iv_t.data = "t";
  for (int i = 0; i < 5 && !timeout_first; i++) {
    iv_runs = 0;
    reset_order();
    assert_int_equal(art_timer_start_node(&iv, iv_tie_cb, 10, 1), 0);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    timeout_first = strcmp(order, "iti") == 0;
  }
  assert_true(timeout_first);
  assert_int_equal(art_close((art_handle_t *)&iv, NULL), 0);
  close_all(loop, &iv_t, 1);
}

static int restart_runs;

static void restart_cb(art_timer_t *t) {
  if (++restart_runs == 1)
    assert_int_equal(art_timer_start(t, restart_cb, 1, 0), 0);
}

/* An interval whose callback restarts it keeps the new start: it is not
 * re-armed on top of it. */
ART_TEST(node_interval_restarted_by_its_callback_keeps_the_restart) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  restart_runs = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start_node(&t, restart_cb, 1, 1), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(restart_runs, 2); /* the one-shot restart ended it */
  assert_int_equal(art_is_active((art_handle_t *)&t), 0);
  close_all(loop, &t, 1);
}

/* An unreferenced interval does not keep the loop alive, not even while
 * its callback runs (it stays started, out of the heap, meanwhile). */
ART_TEST(node_unrefd_timers_do_not_keep_the_loop_alive) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t bg, fg;
  reset_order();
  assert_int_equal(art_timer_init(loop, &bg), 0);
  assert_int_equal(art_timer_init(loop, &fg), 0);
  bg.data = "b";
  fg.data = "f";
  assert_int_equal(art_timer_start_node(&bg, note, 1, 1), 0);
  art_unref((art_handle_t *)&bg);
  assert_int_equal(art_timer_start_node(&fg, note, 30, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_non_null(strchr(order, 'f')); /* the loop ran until fg did */
  assert_true(norder >= 2);            /* and bg ran meanwhile */
  assert_int_equal(art_is_active((art_handle_t *)&bg), 1);
  close_all(loop, &bg, 1);
  close_all(loop, &fg, 1);
}

/* ---- refresh. ---- */

static art_timer_t rf_target;
static uint64_t rf_refreshed_at, rf_ran_at;
static int rf_runs;

static void rf_target_cb(art_timer_t *t) {
  (void)t;
  rf_ran_at = art_hrtime();
  rf_runs++;
}

static void rf_refresher_cb(art_timer_t *t) {
  (void)t;
  rf_refreshed_at = art_hrtime();
  assert_int_equal(art_timer_refresh(&rf_target), 0);
}

/* timeout.refresh(): the timer restarts with its delay from the refresh,
 * and runs once. */
ART_TEST(refresh_restarts_from_now) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t r;
  rf_runs = 0;
  assert_int_equal(art_timer_init(loop, &rf_target), 0);
  assert_int_equal(art_timer_init(loop, &r), 0);
  assert_int_equal(art_timer_start_node(&rf_target, rf_target_cb, 40, 0), 0);
  assert_int_equal(art_timer_start_node(&r, rf_refresher_cb, 20, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(rf_runs, 1);
  assert_true(rf_ran_at >= rf_refreshed_at + 39 * MS);
  /* After it ran, refresh starts it again. */
  assert_int_equal(art_timer_refresh(&rf_target), 0);
  assert_int_equal(art_is_active((art_handle_t *)&rf_target), 1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(rf_runs, 2);
  assert_int_equal(art_close((art_handle_t *)&r, NULL), 0);
  close_all(loop, &rf_target, 1);
}

/* refresh keeps each kind's repeat and units; it refuses a timer never
 * started, a closed one, NULL and another type. */
ART_TEST(refresh_rules) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_idle_t idle;
  assert_int_equal(art_timer_refresh(NULL), ART_EINVAL);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_refresh(&t), ART_EINVAL);
  assert_int_equal(art_idle_init(loop, &idle), 0);
  assert_int_equal(art_timer_refresh((art_timer_t *)&idle), ART_EINVAL);
  assert_int_equal(art_timer_start(&t, note, 1000, 250), 0);
  assert_int_equal(art_timer_stop(&t), 0);
  assert_int_equal(art_timer_refresh(&t), 0);
  assert_int_equal(art_is_active((art_handle_t *)&t), 1);
  assert_int_equal(art_timer_get_repeat(&t), 250);
  assert_int_equal(art_timer_get_due_in(&t), 1000);
  assert_int_equal(art_timer_start_ns(&t, note, 2 * MS, 3 * MS), 0);
  assert_int_equal(art_timer_refresh(&t), 0);
  assert_int_equal(art_timer_get_repeat(&t), 3);
  assert_int_equal(art_timer_start_node(&t, NULL, 5, 0), ART_EINVAL);
  assert_int_equal(art_timer_start_ns(NULL, note, 5, 0), ART_EINVAL);
  assert_int_equal(art_close((art_handle_t *)&idle, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_timer_refresh(&t), ART_EINVAL);
  assert_int_equal(art_timer_start_node(&t, note, 5, 0), ART_EINVAL);
  assert_int_equal(art_timer_start_ns(&t, note, 5, 0), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- The deferred list. ---- */

static art_timer_t df[4];
static int df_runs[4];

static void df_cb(art_timer_t *t) {
  int i = (int)(t - df);
  df_runs[i]++;
  if (i != 3 || df_runs[3] != 1)
    return;
  /* df[0..2] ran before and wait on the deferred list: stop one, close
   * one, restart one. */
  assert_int_equal(art_timer_stop(&df[0]), 0);
  assert_int_equal(art_close((art_handle_t *)&df[1], NULL), 0);
  assert_int_equal(art_timer_start(&df[2], df_cb, 0, 0), 0);
}

/* Repeating timers far behind their deadlines wait on the deferred list
 * until the phase ends; one stopped, closed or restarted meanwhile leaves
 * it: the stopped and closed ones never run again, the restarted one runs
 * once, as restarted. */
ART_TEST(deferred_repeats_stopped_closed_or_restarted_leave_the_list) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  memset(df_runs, 0, sizeof(df_runs));
  for (int i = 0; i < 4; i++) {
    assert_int_equal(art_timer_init(loop, &df[i]), 0);
    assert_int_equal(art_timer_start(&df[i], df_cb, 1, 1), 0);
  }
  sleep_ms(20); /* every repeat is now far behind */
  art_update_time(loop);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_int_equal(art_timer_stop(&df[3]), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(df_runs[0], 1);
  assert_int_equal(df_runs[1], 1);
  assert_int_equal(df_runs[2], 2); /* its repeat, then the one-shot restart */
  assert_int_equal(df_runs[3], 1);
  assert_int_equal(art_is_active((art_handle_t *)&df[2]), 0);
  for (int i = 0; i < 4; i++)
    if (i != 1)
      assert_int_equal(art_close((art_handle_t *)&df[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}
