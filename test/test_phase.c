/* Idle, prepare and check handles: where they run in an iteration, start
 * order, and changes made to a phase's handles from its own callbacks. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helpers/harness.h"

static char order[512];

static void note(const char *s) {
  strcat(order, s);
  strcat(order, ",");
}

static void idle_cb(art_idle_t *h) {
  note(h->data);
}

static void prepare_cb(art_prepare_t *h) {
  note(h->data);
}

static void check_cb(art_check_t *h) {
  note(h->data);
}

static void timer_cb(art_timer_t *t) {
  note("timer");
}

static void poll_cb(art_poll_t *p, int status, int events) {
  note("poll");
  art_poll_stop(p);
}

static void close_cb(art_handle_t *h) {
  note("close");
}

/* One iteration runs: timers, idle, prepare, poll, check, close; each phase
 * in start order. */
ART_TEST(iteration_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t i1, i2;
  art_prepare_t p1, p2;
  art_check_t c1, c2;
  art_timer_t t, doomed;
  art_poll_t p;
  int fds[2];
  order[0] = 0;
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  /* Started in an order unlike the phase order. */
  assert_int_equal(art_check_init(loop, &c2), 0);
  c2.data = "check2";
  assert_int_equal(art_check_init(loop, &c1), 0);
  c1.data = "check1";
  assert_int_equal(art_check_start(&c2, check_cb), 0);
  assert_int_equal(art_check_start(&c1, check_cb), 0);
  assert_int_equal(art_prepare_init(loop, &p1), 0);
  p1.data = "prepare1";
  assert_int_equal(art_prepare_init(loop, &p2), 0);
  p2.data = "prepare2";
  assert_int_equal(art_prepare_start(&p1, prepare_cb), 0);
  assert_int_equal(art_prepare_start(&p2, prepare_cb), 0);
  assert_int_equal(art_idle_init(loop, &i1), 0);
  i1.data = "idle1";
  assert_int_equal(art_idle_init(loop, &i2), 0);
  i2.data = "idle2";
  assert_int_equal(art_idle_start(&i2, idle_cb), 0);
  assert_int_equal(art_idle_start(&i1, idle_cb), 0);
  /* Starting an active handle again keeps its place. */
  assert_int_equal(art_idle_start(&i2, idle_cb), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, timer_cb, 0, 0), 0);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, poll_cb), 0);
  assert_int_equal(art_timer_init(loop, &doomed), 0);
  assert_int_equal(art_close((art_handle_t *)&doomed, close_cb), 0);
  assert_int_not_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_string_equal(order, "timer,idle2,idle1,prepare1,prepare2,poll,"
                             "check2,check1,close,");
  art_handle_t *hs[] = {(art_handle_t *)&i1, (art_handle_t *)&i2,
                        (art_handle_t *)&p1, (art_handle_t *)&p2,
                        (art_handle_t *)&c1, (art_handle_t *)&c2,
                        (art_handle_t *)&t,  (art_handle_t *)&p};
  for (size_t i = 0; i < ART_ARRAY_SIZE(hs); i++)
    assert_int_equal(art_close(hs[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(fds[0]);
  close(fds[1]);
}

/* A callback changes its own phase's handles: A stops B (not yet run),
 * closes C (not yet run), starts D (waits for the next iteration), then
 * stops and restarts itself (moves to the end). */
static art_check_t ph[5];
static int ph_runs[5];

static void ph_cb(art_check_t *h) {
  int i = (int)(h - ph);
  ph_runs[i]++;
  note(h->data);
  if (i == 0 && ph_runs[0] == 1) {
    assert_int_equal(art_check_stop(&ph[1]), 0);
    assert_int_equal(art_close((art_handle_t *)&ph[2], NULL), 0);
    assert_int_equal(art_check_start(&ph[3], ph_cb), 0);
    assert_int_equal(art_check_stop(&ph[0]), 0);
    assert_int_equal(art_check_start(&ph[0], ph_cb), 0);
  }
}

ART_TEST(callback_changes_own_phase) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static const char *names[] = {"A", "B", "C", "D", "E"};
  order[0] = 0;
  memset(ph_runs, 0, sizeof(ph_runs));
  for (int i = 0; i < 5; i++) {
    assert_int_equal(art_check_init(loop, &ph[i]), 0);
    ph[i].data = (void *)names[i];
  }
  assert_int_equal(art_check_start(&ph[0], ph_cb), 0);
  assert_int_equal(art_check_start(&ph[1], ph_cb), 0);
  assert_int_equal(art_check_start(&ph[2], ph_cb), 0);
  assert_int_equal(art_check_start(&ph[4], ph_cb), 0);
  assert_int_not_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_string_equal(order, "A,E,");
  order[0] = 0;
  assert_int_not_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_string_equal(order, "E,D,A,");
  assert_int_equal(ph_runs[1], 0);
  assert_int_equal(ph_runs[2], 0);
  for (int i = 0; i < 5; i++)
    if (i != 2)
      assert_int_equal(art_close((art_handle_t *)&ph[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* Each callback of a phase may close every handle of the phase, itself
 * included; the rest of the walk must not touch them. */
static art_idle_t all[3];
static int all_runs;

static void close_all_idle_cb(art_idle_t *h) {
  all_runs++;
  for (int i = 0; i < 3; i++)
    assert_int_equal(art_close((art_handle_t *)&all[i], NULL), 0);
}

ART_TEST(callback_closes_whole_phase) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  all_runs = 0;
  for (int i = 0; i < 3; i++) {
    assert_int_equal(art_idle_init(loop, &all[i]), 0);
    assert_int_equal(art_idle_start(&all[i], close_all_idle_cb), 0);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(all_runs, 1);
}

static int prepare_runs;

static void stop_after_three(art_prepare_t *h) {
  if (++prepare_runs == 3)
    art_prepare_stop(h);
}

ART_TEST(active_handles_keep_loop_alive_unrefd_do_not) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_prepare_t p;
  art_idle_t i;
  prepare_runs = 0;
  assert_int_equal(art_prepare_init(loop, &p), 0);
  assert_int_equal(art_idle_init(loop, &i), 0);
  /* Initialised but not started: nothing keeps the loop alive. */
  assert_int_equal(art_loop_alive(loop), 0);
  assert_int_equal(art_prepare_start(&p, stop_after_three), 0);
  assert_int_equal(art_idle_start(&i, (art_idle_cb)idle_cb), 0);
  i.data = "";
  order[0] = 0;
  art_unref((art_handle_t *)&i);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(prepare_runs, 3);
  assert_int_equal(art_is_active((art_handle_t *)&p), 0);
  assert_int_equal(art_is_active((art_handle_t *)&i), 1);
  /* Stop is idempotent; stopping a stopped handle is fine. */
  assert_int_equal(art_prepare_stop(&p), 0);
  assert_int_equal(art_idle_stop(&i), 0);
  assert_int_equal(art_idle_stop(&i), 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&i, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t i;
  art_prepare_t p;
  art_check_t c;
  assert_int_equal(art_idle_init(NULL, &i), ART_EINVAL);
  assert_int_equal(art_idle_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_prepare_init(NULL, &p), ART_EINVAL);
  assert_int_equal(art_check_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_idle_start(NULL, idle_cb), ART_EINVAL);
  assert_int_equal(art_prepare_stop(NULL), ART_EINVAL);
  assert_int_equal(art_check_stop(NULL), ART_EINVAL);
  assert_int_equal(art_idle_init(loop, &i), 0);
  assert_int_equal(art_prepare_init(loop, &p), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_idle_start(&i, NULL), ART_EINVAL);
  /* A handle of another type. */
  assert_int_equal(art_check_start((art_check_t *)(void *)&i, check_cb),
                   ART_EINVAL);
  assert_int_equal(art_idle_stop((art_idle_t *)(void *)&p), ART_EINVAL);
  assert_int_equal(art_check_start(&c, check_cb), 0);
  assert_int_equal(art_close((art_handle_t *)&i, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&c, NULL), 0);
  /* Closing: start refused, stop harmless; the check never runs. */
  assert_int_equal(art_idle_start(&i, idle_cb), ART_EINVAL);
  assert_int_equal(art_check_stop(&c), 0);
  order[0] = 0;
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "");
  /* Closed: still refused. */
  assert_int_equal(art_prepare_start(&p, prepare_cb), ART_EINVAL);
  assert_int_equal(art_check_start(&c, check_cb), ART_EINVAL);
}
