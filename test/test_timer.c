/* Timers: ordering, changes made from callbacks, repeat scheduling,
 * starvation, bad input, liveness. No assertion depends on how fast the
 * machine is: real sleeps only make the loop late, never early. */
#include <fcntl.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "helpers/handle.h"
#include "helpers/harness.h"

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) == -1)
    ;
}

static void close_all(art_loop_t *loop, art_handle_t **hs, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!art_is_closing(hs[i]))
      assert_int_equal(art_close(hs[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- Ordering. ---- */

static int fired[64];
static int nfired;

static void record_cb(art_timer_t *t) {
  fired[nfired++] = (int)(intptr_t)t->data;
}

ART_TEST(equal_deadlines_run_in_start_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t[5];
  nfired = 0;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
    t[i].data = (void *)(intptr_t)i;
    assert_int_equal(art_timer_start(&t[i], record_cb, 5, 0), 0);
  }
  /* Restarting t[1] with the same deadline moves it behind the others. */
  assert_int_equal(art_timer_start(&t[1], record_cb, 5, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(nfired, 5);
  const int want[] = {0, 2, 3, 4, 1};
  assert_memory_equal(fired, want, sizeof(want));
  art_handle_t *hs[] = {(art_handle_t *)&t[0], (art_handle_t *)&t[1],
                        (art_handle_t *)&t[2], (art_handle_t *)&t[3],
                        (art_handle_t *)&t[4]};
  close_all(loop, hs, 5);
}

/* Many timers with colliding deadlines, some stopped: the survivors fire in
 * (deadline, start order) order, which exercises every heap path. */
#define MANY 600
static int many_last_due, many_last_idx, many_count, many_bad;

static void many_cb(art_timer_t *t) {
  int idx = (int)(intptr_t)t->data;
  int due = idx % 7;
  if (due < many_last_due || (due == many_last_due && idx < many_last_idx))
    many_bad++;
  many_last_due = due;
  many_last_idx = idx;
  many_count++;
}

ART_TEST(many_timers_fire_in_deadline_then_start_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static art_timer_t t[MANY];
  many_last_due = -1;
  many_last_idx = -1;
  many_count = many_bad = 0;
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
    t[i].data = (void *)(intptr_t)i;
    /* Start in a scrambled order of deadlines, in index order. */
    assert_int_equal(art_timer_start(&t[i], many_cb, (uint64_t)(i % 7), 0), 0);
  }
  int stopped = 0;
  for (int i = 0; i < MANY; i += 3) {
    assert_int_equal(art_timer_stop(&t[i]), 0);
    stopped++;
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(many_count, MANY - stopped);
  assert_int_equal(many_bad, 0);
  for (int i = 0; i < MANY; i++)
    assert_int_equal(art_close((art_handle_t *)&t[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- Changes from inside callbacks. ---- */

static art_timer_t ct[4];
static int ct_runs[4];
static int ct_closed;

static void ct_close_cb(art_handle_t *h) {
  ct_closed++;
}

static void ct_cb(art_timer_t *t) {
  int i = (int)(t - ct);
  ct_runs[i]++;
  if (i == 0 && ct_runs[0] == 1) {
    /* ct[1] and ct[2] are due in this same phase: stop one, close the
     * other; restart ourselves; restart ct[3] further away. */
    assert_int_equal(art_timer_stop(&ct[1]), 0);
    assert_int_equal(art_close((art_handle_t *)&ct[2], ct_close_cb), 0);
    assert_int_equal(art_timer_start(&ct[0], ct_cb, 1, 0), 0);
    assert_int_equal(art_timer_start(&ct[3], ct_cb, 2, 0), 0);
  } else if (i == 0) {
    assert_int_equal(art_close((art_handle_t *)t, ct_close_cb), 0);
  } else if (i == 3) {
    assert_int_equal(art_close((art_handle_t *)t, ct_close_cb), 0);
  }
}

ART_TEST(callback_stops_restarts_and_closes_timers) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  memset(ct_runs, 0, sizeof(ct_runs));
  ct_closed = 0;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(art_timer_init(loop, &ct[i]), 0);
    assert_int_equal(art_timer_start(&ct[i], ct_cb, 1, 0), 0);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(ct_runs[0], 2);
  assert_int_equal(ct_runs[1], 0);
  assert_int_equal(ct_runs[2], 0);
  assert_int_equal(ct_runs[3], 1);
  assert_int_equal(ct_closed, 3);
  assert_int_equal(art_is_active((art_handle_t *)&ct[1]), 0);
  assert_int_equal(art_close((art_handle_t *)&ct[1], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static int repeat_self_closes;

static void repeat_close_self_cb(art_timer_t *t) {
  if (++repeat_self_closes == 3)
    assert_int_equal(art_close((art_handle_t *)t, NULL), 0);
}

ART_TEST(repeating_timer_closes_itself) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  repeat_self_closes = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, repeat_close_self_cb, 0, 1), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(repeat_self_closes, 3);
}

static uint64_t started_iteration, ran_iteration;

static void zero_late_cb(art_timer_t *t) {
  art_loop_metrics_t m;
  art_loop_metrics(t->loop, &m);
  ran_iteration = m.iterations;
}

static void starter_cb(art_timer_t *t) {
  art_loop_metrics_t m;
  art_loop_metrics(t->loop, &m);
  started_iteration = m.iterations;
  assert_int_equal(art_timer_start((art_timer_t *)t->data, zero_late_cb, 0, 0),
                   0);
}

ART_TEST(timer_started_from_timer_callback_waits_an_iteration) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t a, b;
  assert_int_equal(art_timer_init(loop, &a), 0);
  assert_int_equal(art_timer_init(loop, &b), 0);
  a.data = &b;
  assert_int_equal(art_timer_start(&a, starter_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(ran_iteration, started_iteration + 1);
  art_handle_t *hs[] = {(art_handle_t *)&a, (art_handle_t *)&b};
  close_all(loop, hs, 2);
}

/* ---- Repeat scheduling. ---- */

static art_timer_t rep;
static int rep_runs;
static uint64_t rep_due_in_first;
static uint64_t rep_iter[3];

static void slow_cb(art_timer_t *t) {
  sleep_ms(40); /* makes the loop late for rep, never early */
}

static void rep_cb(art_timer_t *t) {
  art_loop_metrics_t m;
  art_loop_metrics(t->loop, &m);
  rep_iter[rep_runs] = m.iterations;
  if (rep_runs == 0) {
    /* slow_cb has run by now (its deadline is earlier), so the real time
     * is past S+40 even if both ran in one phase of a stalled machine. */
    art_update_time(t->loop);
    rep_due_in_first = art_timer_get_due_in(t);
  }
  if (++rep_runs == 3)
    art_timer_stop(t);
}

/* rep is due at S+10, then every 10 ms. A 40 ms callback at S makes the
 * loop reach rep at S+40 or later. Rescheduled from its due time, rep is
 * next due at S+20, already past: due_in is 0 and it runs again in the very
 * next iteration (and the one after), catching up. Rescheduled from the time
 * the callback ran, it would be due 10 ms later and due_in would be 10. */
ART_TEST(repeat_reschedules_from_due_time) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t slow;
  rep_runs = 0;
  art_update_time(loop);
  assert_int_equal(art_timer_init(loop, &slow), 0);
  assert_int_equal(art_timer_init(loop, &rep), 0);
  assert_int_equal(art_timer_start(&slow, slow_cb, 0, 0), 0);
  assert_int_equal(art_timer_start(&rep, rep_cb, 10, 10), 0);
  assert_int_equal(art_timer_get_repeat(&rep), 10);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(rep_runs, 3);
  assert_int_equal(rep_due_in_first, 0);
  assert_int_equal(rep_iter[1], rep_iter[0] + 1);
  assert_int_equal(rep_iter[2], rep_iter[1] + 1);
  art_handle_t *hs[] = {(art_handle_t *)&slow, (art_handle_t *)&rep};
  close_all(loop, hs, 2);
}

/* ---- Starvation. ---- */

static int zero_runs, fd_runs, check_runs;

static void zero_rearm_cb(art_timer_t *t) {
  zero_runs++;
  assert_int_equal(art_timer_start(t, zero_rearm_cb, 0, 0), 0);
}

static void fd_cb(art_poll_t *p, int status, int events) {
  assert_int_equal(status, 0);
  assert_true(events & ART_READABLE);
  fd_runs++;
  art_poll_stop(p);
}

static void check_count_cb(art_check_t *c) {
  check_runs++;
}

ART_TEST(zero_timer_rearmed_in_callback_does_not_starve_io) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_poll_t p;
  art_check_t c;
  int fds[2];
  zero_runs = fd_runs = check_runs = 0;
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, zero_rearm_cb, 0, 0), 0);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, fd_cb), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_check_start(&c, check_count_cb), 0);
  for (int i = 0; i < 3; i++)
    assert_int_not_equal(art_run(loop, ART_RUN_ONCE), 0);
  assert_int_equal(zero_runs, 3); /* once per iteration, not in a loop */
  assert_int_equal(fd_runs, 1);
  assert_int_equal(check_runs, 3);
  art_handle_t *hs[] = {(art_handle_t *)&t, (art_handle_t *)&p,
                        (art_handle_t *)&c};
  close_all(loop, hs, 3);
  close(fds[0]);
  close(fds[1]);
}

/* ---- Small API. ---- */

static void never_cb(art_timer_t *t) {
  fail_msg("timer must not fire");
}

ART_TEST(get_due_in_and_repeat) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_get_due_in(&t), 0);
  assert_int_equal(art_timer_start(&t, never_cb, 1000, 0), 0);
  assert_int_equal(art_timer_get_due_in(&t), 1000); /* from cached now */
  art_timer_set_repeat(&t, 250);
  assert_int_equal(art_timer_get_repeat(&t), 250);
  assert_int_equal(art_timer_get_due_in(&t), 1000);
  assert_int_equal(art_timer_again(&t), 0);
  assert_int_equal(art_timer_get_due_in(&t), 250);
  assert_int_equal(art_timer_stop(&t), 0);
  assert_int_equal(art_timer_get_due_in(&t), 0);
  assert_int_equal(art_is_active((art_handle_t *)&t), 0);
  /* A huge timeout saturates instead of wrapping into the past. */
  assert_int_equal(art_timer_start(&t, never_cb, UINT64_MAX, 0), 0);
  assert_true(art_timer_get_due_in(&t) > (uint64_t)1 << 40);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* The getters and art_timer_set_repeat given a handle of another type:
 * the neutral value, and no write past that handle (helpers/handle.h). */
ART_TEST(getters_wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  art_timer_t *t = (art_timer_t *)idle;
  art_timer_set_repeat(t, 5);
  assert_int_equal(art_timer_get_repeat(t), 0);
  assert_int_equal(art_timer_get_due_in(t), 0);
  close_and_run(loop, (art_handle_t *)idle);
}

ART_TEST(again_rules) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  assert_int_equal(art_timer_init(loop, &t), 0);
  /* Never started: nothing to restart. */
  assert_int_equal(art_timer_again(&t), ART_EINVAL);
  assert_int_equal(art_timer_start(&t, never_cb, 1000, 0), 0);
  /* A one-shot timer has no repeat to restart with: again stops it. */
  assert_int_equal(art_timer_again(&t), 0);
  assert_int_equal(art_is_active((art_handle_t *)&t), 0);
  art_timer_set_repeat(&t, 500);
  assert_int_equal(art_timer_again(&t), 0);
  assert_int_equal(art_is_active((art_handle_t *)&t), 1);
  assert_int_equal(art_timer_get_due_in(&t), 500);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_timer_again(&t), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_idle_t idle;
  assert_int_equal(art_timer_init(NULL, &t), ART_EINVAL);
  assert_int_equal(art_timer_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_timer_start(NULL, never_cb, 0, 0), ART_EINVAL);
  assert_int_equal(art_timer_stop(NULL), ART_EINVAL);
  assert_int_equal(art_timer_again(NULL), ART_EINVAL);
  assert_int_equal(art_timer_get_due_in(NULL), 0);
  assert_int_equal(art_timer_get_repeat(NULL), 0);
  art_timer_set_repeat(NULL, 5);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, NULL, 0, 0), ART_EINVAL);
  /* Another handle type passed as a timer. */
  assert_int_equal(art_idle_init(loop, &idle), 0);
  assert_int_equal(
      art_timer_start((art_timer_t *)(void *)&idle, never_cb, 0, 0),
      ART_EINVAL);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&idle, NULL), 0);
  /* Closing, then closed: start is refused both times. */
  assert_int_equal(art_timer_start(&t, never_cb, 0, 0), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_timer_start(&t, never_cb, 0, 0), ART_EINVAL);
  assert_int_equal(art_is_active((art_handle_t *)&t), 0);
}

ART_TEST(unrefd_timer_does_not_keep_loop_alive) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t bg, fg;
  nfired = 0;
  assert_int_equal(art_timer_init(loop, &bg), 0);
  assert_int_equal(art_timer_init(loop, &fg), 0);
  assert_int_equal(art_timer_start(&bg, never_cb, 60000, 0), 0);
  art_unref((art_handle_t *)&bg);
  assert_int_equal(art_has_ref((art_handle_t *)&bg), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  uint64_t t0 = art_hrtime();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* A referenced short timer runs; the unreferenced one stays started. */
  fg.data = (void *)(intptr_t)7;
  assert_int_equal(art_timer_start(&fg, record_cb, 1, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(nfired, 1);
  assert_int_equal(art_is_active((art_handle_t *)&bg), 1);
  assert_true(art_hrtime() - t0 < 30ull * 1000000000ull); /* liveness only */
  /* Referencing it again makes the loop alive. */
  art_ref((art_handle_t *)&bg);
  assert_int_equal(art_loop_alive(loop), 1);
  art_handle_t *hs[] = {(art_handle_t *)&bg, (art_handle_t *)&fg};
  close_all(loop, hs, 2);
}

static int heap_grow_runs;

static void heap_grow_cb(art_timer_t *t) {
  heap_grow_runs++;
}

/* Starting and stopping never allocates: the heap slot is reserved at init.
 * With every allocation failing, start/stop still work. */
ART_TEST(start_stop_do_not_allocate) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static art_timer_t t[100];
  heap_grow_runs = 0;
  for (int i = 0; i < 100; i++)
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
  art_test_fail_alloc_after(0);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 100; i++)
      assert_int_equal(art_timer_start(&t[i], heap_grow_cb, (uint64_t)i % 3, 0),
                       0);
  for (int i = 0; i < 100; i += 2)
    assert_int_equal(art_timer_stop(&t[i]), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_test_alloc_failed(), 0);
  art_test_fail_alloc_after(-1);
  assert_int_equal(heap_grow_runs, 50);
  for (int i = 0; i < 100; i++)
    assert_int_equal(art_close((art_handle_t *)&t[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- A model of the timer rules, checked against random operations. ----
 * Random starts, stops and agains, from timer callbacks and from a check
 * handle, on timers that are due, not due, stopped or repeating. The model
 * says which timers must fire in each timers phase and in which order:
 * only active ones, only due ones, none started during the phase, in
 * (deadline, start order) order, and every one that qualifies. */
#define NMODEL 64

typedef struct {
  art_timer_t t;
  int active;
  int started; /* ever started: art_timer_again needs it */
  uint64_t due, seq, repeat;
  int fired; /* in the current phase */
} model_t;

static model_t mt[NMODEL];
static uint64_t mseq, phase_limit, last_due, last_seq;
static int have_last;
static unsigned rng = 12345;
static long model_fires, model_errors;

static unsigned rnd(unsigned n) {
  rng = rng * 1103515245u + 12345u;
  return (rng >> 16) % n;
}

static void model_cb(art_timer_t *t);

static void model_start(model_t *m, uint64_t timeout, uint64_t repeat) {
  art_loop_t *loop = m->t.loop;
  assert_int_equal(art_timer_start(&m->t, model_cb, timeout, repeat), 0);
  m->active = m->started = 1;
  m->due = art_now(loop) + timeout;
  m->seq = mseq++;
  m->repeat = repeat;
}

static void model_op(void) {
  model_t *m = &mt[rnd(NMODEL)];
  switch (rnd(4)) {
  case 0:
  case 1:
    model_start(m, rnd(4), rnd(3) == 0 ? 1 + rnd(3) : 0);
    break;
  case 2:
    assert_int_equal(art_timer_stop(&m->t), 0);
    m->active = 0;
    break;
  default:
    if (!m->started) {
      assert_int_equal(art_timer_again(&m->t), ART_EINVAL);
    } else if (m->repeat == 0) {
      assert_int_equal(art_timer_again(&m->t), 0);
      m->active = 0;
    } else {
      model_start(m, m->repeat, m->repeat);
    }
  }
}

static void model_cb(art_timer_t *t) {
  model_t *m = (model_t *)t;
  uint64_t now = art_now(t->loop);
  model_fires++;
  if (!m->active || m->due > now || m->seq >= phase_limit || m->fired)
    model_errors++;
  if (have_last &&
      (m->due < last_due || (m->due == last_due && m->seq < last_seq)))
    model_errors++;
  have_last = 1;
  last_due = m->due;
  last_seq = m->seq;
  m->fired = 1;
  if (m->repeat != 0) {
    m->due += m->repeat;
    m->seq = mseq++;
  } else {
    m->active = 0;
  }
  for (unsigned k = rnd(3); k > 0; k--)
    model_op();
}

/* Runs after the timers phase: did every timer that had to fire, fire?
 * Then changes things for the next iteration. */
static void model_check_cb(art_check_t *c) {
  uint64_t now = art_now(c->loop);
  for (int i = 0; i < NMODEL; i++) {
    model_t *m = &mt[i];
    if (m->active && m->due <= now && m->seq < phase_limit && !m->fired)
      model_errors++;
    m->fired = 0;
  }
  have_last = 0;
  for (unsigned k = rnd(6); k > 0; k--)
    model_op();
  phase_limit = mseq;
}

ART_TEST(random_operations_match_model) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_check_t c;
  memset(mt, 0, sizeof(mt));
  mseq = 0;
  have_last = 0;
  model_fires = model_errors = 0;
  art_update_time(loop);
  for (int i = 0; i < NMODEL; i++)
    assert_int_equal(art_timer_init(loop, &mt[i].t), 0);
  for (int i = 0; i < NMODEL; i++)
    model_start(&mt[i], rnd(4), rnd(4) == 0 ? 1 + rnd(2) : 0);
  phase_limit = mseq;
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_check_start(&c, model_check_cb), 0);
  for (int iter = 0; iter < 300; iter++) {
    art_run(loop, ART_RUN_NOWAIT);
    if (iter % 3 == 0)
      sleep_ms(1);
  }
  assert_int_equal(model_errors, 0);
  assert_true(model_fires > 100);
  for (int i = 0; i < NMODEL; i++)
    assert_int_equal(art_close((art_handle_t *)&mt[i].t, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&c, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* set_repeat from a timer's own callback takes effect after the next run:
 * the next deadline was already set with the old repeat (libuv's rule). A
 * one-shot timer that sets a repeat stays stopped. */
static uint64_t sr_due_in[3];
static int sr_runs;

static void set_repeat_cb(art_timer_t *t) {
  art_timer_set_repeat(t, 5000);
  sr_due_in[sr_runs++] = art_timer_get_due_in(t);
  if (sr_runs == 2)
    art_timer_stop(t);
}

ART_TEST(set_repeat_from_callback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t, once;
  sr_runs = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_init(loop, &once), 0);
  assert_int_equal(art_timer_start(&t, set_repeat_cb, 0, 1), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(sr_runs, 2);
  assert_true(sr_due_in[0] <= 1); /* scheduled with the old repeat */
  assert_int_equal(art_timer_get_repeat(&t), 5000);
  sr_runs = 0;
  assert_int_equal(art_timer_start(&once, set_repeat_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(sr_runs, 1);
  assert_int_equal(art_is_active((art_handle_t *)&once), 0);
  art_handle_t *hs[] = {(art_handle_t *)&t, (art_handle_t *)&once};
  close_all(loop, hs, 2);
}

/* A timer started from an I/O callback after the loop blocked in the poll
 * phase counts from the present, not from the time cached before the wait:
 * otherwise, after a long idle wait, a fresh connection's timeout would be
 * already overdue and fire at once. The loop blocks ~300 ms on a timerfd;
 * its callback starts a 100 ms timer. Everything is measured from when the
 * timerfd was armed, a point before the loop's own clock reads, so a
 * preempted test thread can only make the figures later: the cached time
 * the callback sees is past the timerfd's expiry, and the timer runs at
 * least 100 ms after that (less 1 ms: the cached ms clock truncates). */
static uint64_t bp_armed_ns, bp_seen_ms, bp_fired_ns;
static art_timer_t bp_timer;
static int bp_fd;

static void bp_timer_cb(art_timer_t *t) {
  bp_fired_ns = art_hrtime();
  art_close((art_handle_t *)t, NULL);
}

static void bp_poll_cb(art_poll_t *p, int status, int events) {
  uint64_t expirations;
  assert_int_equal(status, 0);
  assert_true(events & ART_READABLE);
  assert_int_equal(read(bp_fd, &expirations, sizeof(expirations)),
                   (ssize_t)sizeof(expirations));
  art_close((art_handle_t *)p, NULL);
  bp_seen_ms = art_now(p->loop);
  assert_int_equal(art_timer_start(&bp_timer, bp_timer_cb, 100, 0), 0);
}

ART_TEST(timer_started_after_blocking_poll_counts_from_now) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  int fd = bp_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  assert_true(fd >= 0);
  struct itimerspec its = {{0, 0}, {0, 300 * 1000000L}};
  bp_fired_ns = bp_seen_ms = 0;
  bp_armed_ns = art_hrtime();
  assert_int_equal(timerfd_settime(fd, 0, &its, NULL), 0);
  assert_int_equal(art_timer_init(loop, &bp_timer), 0);
  assert_int_equal(art_poll_init(loop, &p, fd), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, bp_poll_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(fd);
  uint64_t expiry_ns = bp_armed_ns + 300u * 1000000u;
  assert_true((bp_seen_ms + 1) * 1000000u > expiry_ns); /* not the stale time */
  assert_true(bp_fired_ns >= expiry_ns + 99u * 1000000u);
}
