/* The loop core: run modes, liveness, phase order, close rules. */
#include <poll.h>
#include <string.h>

#include "harness.h"

static char order[256];

static void note(const char *s) {
  strcat(order, s);
  strcat(order, ",");
}

ART_TEST(empty_loop_returns_at_once) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_alive(loop), 0);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(art_loop_init(NULL), ART_EINVAL);
  assert_int_equal(art_run(NULL, ART_RUN_DEFAULT), ART_EINVAL);
  assert_int_equal(art_run(loop, (art_run_mode)42), ART_EINVAL);
  assert_int_equal(art_loop_close(NULL), ART_EINVAL);
  assert_int_equal(art_close(NULL, NULL), ART_EINVAL);
  assert_int_equal(art_timer_init(NULL, NULL), ART_EINVAL);
  assert_int_equal(art_next_tick(loop, NULL, NULL), ART_EINVAL);
}

static void tick_cb(art_loop_t *loop, void *arg) {
  note(arg);
}

static void micro_cb(art_loop_t *loop, void *arg) {
  note(arg);
  if (strcmp(arg, "P1") == 0)
    art_next_tick(loop, tick_cb, "T3");
}

static void timer_cb(art_timer_t *t) {
  note("timer");
}

static art_idle_t immediate_idle;

static void idle_noop(art_idle_t *i) {
}

/* Node's setImmediate: a check handle, plus an idle handle so that the poll
 * phase does not block while an immediate is waiting. */
static void check_cb(art_check_t *c) {
  note("check");
  art_check_stop(c);
  art_idle_stop(&immediate_idle);
}

ART_TEST(node_event_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_check_t c;
  order[0] = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_timer_start(&t, timer_cb, 0, 0), 0);
  assert_int_equal(art_check_start(&c, check_cb), 0);
  assert_int_equal(art_idle_init(loop, &immediate_idle), 0);
  assert_int_equal(art_idle_start(&immediate_idle, idle_noop), 0);
  art_next_tick(loop, tick_cb, "T1");
  art_queue_microtask(loop, micro_cb, "P1");
  art_next_tick(loop, tick_cb, "T2");
  art_queue_microtask(loop, micro_cb, "P2");
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "T1,T2,P1,P2,T3,timer,check,");
  art_close((art_handle_t *)&t, NULL);
  art_close((art_handle_t *)&c, NULL);
  art_close((art_handle_t *)&immediate_idle, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      ART_TEST_ENTRY(empty_loop_returns_at_once),
      ART_TEST_ENTRY(bad_arguments),
      ART_TEST_ENTRY(node_event_order),
  };
  return art_test_main(argc, argv, "loop", tests, ART_ARRAY_SIZE(tests));
}
