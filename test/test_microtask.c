/* Ticks and microtasks: Node's drain order, draining after every kind of
 * callback, queueing before art_run, growth, and no allocation in steady
 * state. */
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "helpers/harness.h"

static char order[4096];

static void note(const char *s) {
  strcat(order, s);
  strcat(order, ",");
}

static void note_cb(art_loop_t *loop, void *arg) {
  note(arg);
}

/* Ticks queued by ticks run in the same tick pass; a tick queued by a
 * microtask waits until the microtask queue is empty; microtasks queued by
 * microtasks run in the same pass. */
static void tick_spawner(art_loop_t *loop, void *arg) {
  note(arg);
  if (strcmp(arg, "t1") == 0)
    art_next_tick(loop, note_cb, "t1.t");
}

static void micro_spawner(art_loop_t *loop, void *arg) {
  note(arg);
  if (strcmp(arg, "m1") == 0) {
    art_next_tick(loop, tick_spawner, "m1.t");
    art_queue_microtask(loop, note_cb, "m1.m");
  }
}

ART_TEST(node_drain_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  order[0] = 0;
  assert_int_equal(art_queue_microtask(loop, micro_spawner, "m1"), 0);
  assert_int_equal(art_next_tick(loop, tick_spawner, "t1"), 0);
  assert_int_equal(art_queue_microtask(loop, micro_spawner, "m2"), 0);
  assert_int_equal(art_next_tick(loop, tick_spawner, "t2"), 0);
  /* Nothing is alive: art_run drains what was queued before it, and
   * returns. */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "t1,t2,t1.t,m1,m2,m1.m,m1.t,");
}

/* After every callback of every kind, the queues drain before the next
 * callback runs. */
static void timer_cb(art_timer_t *t) {
  note(t->data);
  art_next_tick(t->loop, note_cb, "tick");
  art_queue_microtask(t->loop, note_cb, "micro");
}

static void idle_cb(art_idle_t *h) {
  note("idle");
  art_queue_microtask(h->loop, note_cb, "micro");
  art_idle_stop(h);
}

static void prepare_cb(art_prepare_t *h) {
  note("prepare");
  art_queue_microtask(h->loop, note_cb, "micro");
  art_prepare_stop(h);
}

static void poll_cb(art_poll_t *p, int status, int events) {
  note("poll");
  art_next_tick(p->loop, note_cb, "tick");
  art_poll_stop(p);
}

static void check_cb(art_check_t *h) {
  note("check");
  art_next_tick(h->loop, note_cb, "tick");
  art_check_stop(h);
}

static void close_cb(art_handle_t *h) {
  note("close");
  art_next_tick(h->loop, note_cb, "tick");
}

ART_TEST(drained_after_every_callback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t1, t2;
  art_idle_t i;
  art_prepare_t pr;
  art_poll_t p;
  art_check_t c;
  int fds[2];
  order[0] = 0;
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_int_equal(art_timer_init(loop, &t1), 0);
  assert_int_equal(art_timer_init(loop, &t2), 0);
  t1.data = "timer1";
  t2.data = "timer2";
  assert_int_equal(art_timer_start(&t1, timer_cb, 0, 0), 0);
  assert_int_equal(art_timer_start(&t2, timer_cb, 0, 0), 0);
  assert_int_equal(art_idle_init(loop, &i), 0);
  assert_int_equal(art_idle_start(&i, idle_cb), 0);
  assert_int_equal(art_prepare_init(loop, &pr), 0);
  assert_int_equal(art_prepare_start(&pr, prepare_cb), 0);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, poll_cb), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_check_start(&c, check_cb), 0);
  art_timer_t doomed;
  assert_int_equal(art_timer_init(loop, &doomed), 0);
  assert_int_equal(art_close((art_handle_t *)&doomed, close_cb), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_string_equal(order, "timer1,tick,micro,timer2,tick,micro,idle,micro,"
                             "prepare,micro,poll,tick,check,tick,close,tick,");
  art_handle_t *hs[] = {(art_handle_t *)&t1, (art_handle_t *)&t2,
                        (art_handle_t *)&i,  (art_handle_t *)&pr,
                        (art_handle_t *)&p,  (art_handle_t *)&c};
  for (size_t k = 0; k < ART_ARRAY_SIZE(hs); k++)
    assert_int_equal(art_close(hs[k], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(fds[0]);
  close(fds[1]);
}

/* Growth while draining, with the ring wrapped: the first tick runs (the
 * head moves), then queues enough to outgrow the ring. Order survives. */
static int seq_next, seq_bad;

static void seq_cb(art_loop_t *loop, void *arg) {
  int n = (int)(intptr_t)arg;
  if (n != seq_next)
    seq_bad++;
  seq_next++;
}

static void grow_cb(art_loop_t *loop, void *arg) {
  seq_cb(loop, arg);
  for (int k = 50; k < 1000; k++)
    assert_int_equal(art_next_tick(loop, seq_cb, (void *)(intptr_t)k), 0);
}

ART_TEST(ring_grows_in_order_while_draining) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  seq_next = seq_bad = 0;
  assert_int_equal(art_next_tick(loop, grow_cb, (void *)(intptr_t)0), 0);
  for (int k = 1; k < 50; k++)
    assert_int_equal(art_next_tick(loop, seq_cb, (void *)(intptr_t)k), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(seq_next, 1000);
  assert_int_equal(seq_bad, 0);
}

static int steady_runs;

static void steady_cb(art_loop_t *loop, void *arg) {
  steady_runs++;
}

/* Once the rings reached a depth, queueing at that depth allocates
 * nothing: with every allocation failing, it still succeeds. */
ART_TEST(no_allocation_in_steady_state) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  steady_runs = 0;
  for (int k = 0; k < 100; k++) {
    assert_int_equal(art_next_tick(loop, steady_cb, NULL), 0);
    assert_int_equal(art_queue_microtask(loop, steady_cb, NULL), 0);
  }
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  art_test_fail_alloc_after(0);
  for (int round = 0; round < 10; round++) {
    for (int k = 0; k < 100; k++) {
      assert_int_equal(art_next_tick(loop, steady_cb, NULL), 0);
      assert_int_equal(art_queue_microtask(loop, steady_cb, NULL), 0);
    }
    assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  }
  assert_int_equal(art_test_alloc_failed(), 0);
  art_test_fail_alloc_after(-1);
  assert_int_equal(steady_runs, 2200);
}

static int nested_result;

static void nested_run_cb(art_loop_t *loop, void *arg) {
  nested_result = art_run(loop, ART_RUN_NOWAIT);
}

ART_TEST(bad_arguments_and_nested_run) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(art_next_tick(NULL, note_cb, NULL), ART_EINVAL);
  assert_int_equal(art_next_tick(loop, NULL, NULL), ART_EINVAL);
  assert_int_equal(art_queue_microtask(NULL, note_cb, NULL), ART_EINVAL);
  assert_int_equal(art_queue_microtask(loop, NULL, NULL), ART_EINVAL);
  nested_result = -1;
  assert_int_equal(art_next_tick(loop, nested_run_cb, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(nested_result, 0); /* refused: ran nothing, no error code */
}

static void task_cb(art_loop_t *loop, void *arg) {
  (void)loop;
  (void)arg;
}

/* Ticks and microtasks queued on a closed loop: ART_EINVAL, not a ring
 * allocated again after the loop freed it (and never freed). */
ART_TEST(queue_on_closed_loop_is_einval) {
  (void)state;
  art_loop_t l;
  assert_int_equal(art_loop_init(&l), 0);
  assert_int_equal(art_loop_close(&l), 0);
  assert_int_equal(art_next_tick(&l, task_cb, NULL), ART_EINVAL);
  assert_int_equal(art_queue_microtask(&l, task_cb, NULL), ART_EINVAL);
}

static art_phase seen_phase;

static void phase_cb(art_loop_t *loop, void *arg) {
  seen_phase = art_loop_phase(loop);
}

ART_TEST(phase_reports_microtasks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  seen_phase = ART_PHASE_NONE;
  assert_int_equal(art_queue_microtask(loop, phase_cb, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(seen_phase, ART_PHASE_MICROTASKS);
  assert_int_equal(art_loop_phase(loop), ART_PHASE_NONE);
  assert_string_equal(art_phase_name(ART_PHASE_MICROTASKS), "microtasks");
  assert_string_equal(art_phase_name((art_phase)99), "unknown");
}
