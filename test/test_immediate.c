/* Immediates (Node's setImmediate): FIFO order in the check phase, before
 * the check handles; ticks and microtasks drained between two immediates;
 * immediates started by the phase wait for the next iteration; clear from
 * an earlier immediate; ref and unref for liveness and the poll timeout;
 * the errors. */
#include <string.h>

#include "helpers/harness.h"

static char order[1024];
static art_immediate_t imms[4];

static void note(const char *s) {
  strcat(order, s);
  strcat(order, ",");
}

static void note_cb(art_loop_t *loop, void *arg) {
  (void)loop;
  note(arg);
}

static void say(art_immediate_t *imm) {
  note(imm->data);
}

static void start_all(art_loop_t *loop, art_immediate_cb first) {
  static const char *names[] = {"i0", "i1", "i2", "i3"};
  order[0] = 0;
  for (int i = 0; i < 4; i++) {
    imms[i].data = (void *)names[i];
    assert_int_equal(art_immediate_start(loop, &imms[i], i ? say : first), 0);
  }
}

/* A tick and a microtask queued by the first immediate run before the
 * second immediate, as Node drains them after each one. */
static void queue_tasks(art_immediate_t *imm) {
  note(imm->data);
  art_queue_microtask(imm->loop, note_cb, "micro");
  art_next_tick(imm->loop, note_cb, "tick");
}

ART_TEST(fifo_with_drain_between) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  start_all(loop, queue_tasks);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "i0,tick,micro,i1,i2,i3,");
}

/* Immediates started by the check phase (by an immediate, or by a tick
 * drained after one, or the running one again) wait for the next one. */
static art_immediate_t later, from_tick;

static void start_from_tick(art_loop_t *loop, void *arg) {
  (void)arg;
  from_tick.data = "from tick";
  art_immediate_start(loop, &from_tick, say);
}

static void restart_self(art_immediate_t *imm) {
  note(imm->data);
  if (strcmp(imm->data, "i0") != 0)
    return;
  imm->data = "i0 again";
  assert_int_equal(art_immediate_start(imm->loop, imm, restart_self), 0);
  later.data = "later";
  assert_int_equal(art_immediate_start(imm->loop, &later, say), 0);
  art_next_tick(imm->loop, start_from_tick, NULL);
}

ART_TEST(started_in_phase_wait_for_next_iteration) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  start_all(loop, restart_self);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_string_equal(order, "i0,i1,i2,i3,");
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_string_equal(order, "i0,i1,i2,i3,i0 again,later,from tick,");
}

/* clearImmediate of a later immediate by an earlier one of the same
 * phase, directly and from a tick drained after it. */
static void clear_cb(art_loop_t *loop, void *arg) {
  (void)loop;
  assert_int_equal(art_immediate_clear(arg), 0);
}

static void clear_later(art_immediate_t *imm) {
  note(imm->data);
  assert_int_equal(art_immediate_clear(&imms[1]), 0);
  art_next_tick(imm->loop, clear_cb, &imms[3]);
}

ART_TEST(clear_later_from_earlier) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  start_all(loop, clear_later);
  assert_int_equal(art_immediate_clear(&imms[2]), 0);
  assert_int_equal(art_immediate_clear(&imms[2]), 0); /* idempotent */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "i0,");
}

/* Immediates run before the check handles, whenever those started. */
static void check_cb(art_check_t *check) {
  note("check");
  art_close((art_handle_t *)check, NULL);
}

ART_TEST(before_check_handles) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_check_t check;
  assert_int_equal(art_check_init(loop, &check), 0);
  assert_int_equal(art_check_start(&check, check_cb), 0);
  start_all(loop, say);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "i0,i1,i2,i3,check,");
}

/* A referenced immediate keeps the loop alive and the poll phase from
 * blocking; an unreferenced one does neither, and still blocks
 * art_loop_close until it is cleared. */
static void never(art_timer_t *timer) {
  (void)timer;
  fail();
}

ART_TEST(ref_and_unref) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t timer;
  art_immediate_t imm = {0};
  assert_int_equal(art_immediate_has_ref(&imm), 0);
  assert_int_equal(art_timer_init(loop, &timer), 0);
  order[0] = 0;
  imm.data = "imm";
  assert_int_equal(art_immediate_start(loop, &imm, say), 0);
  assert_int_equal(art_immediate_has_ref(&imm), 1);
  assert_int_equal(art_loop_alive(loop), 1);
  assert_int_equal(art_backend_timeout(loop), 0);
  art_immediate_unref(&imm);
  art_immediate_unref(&imm);
  assert_int_equal(art_immediate_has_ref(&imm), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  /* Nothing keeps the loop alive: art_run returns without a check phase. */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "");
  assert_int_equal(art_loop_close(loop), ART_EBUSY);
  /* A referenced timer keeps the loop alive: the unreferenced immediate
   * does not stop the poll phase from waiting for it. */
  assert_int_equal(art_timer_start(&timer, never, 60000, 0), 0);
  assert_true(art_backend_timeout(loop) > 0);
  art_immediate_ref(&imm);
  assert_int_equal(art_backend_timeout(loop), 0);
  art_close((art_handle_t *)&timer, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(order, "imm,");
  /* After its callback it is not pending: ref and unref do nothing. */
  art_immediate_ref(&imm);
  assert_int_equal(art_immediate_has_ref(&imm), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  /* A pending unreferenced immediate refuses art_loop_close until
   * cleared. */
  assert_int_equal(art_immediate_start(loop, &imm, say), 0);
  art_immediate_unref(&imm);
  assert_int_equal(art_loop_close(loop), ART_EBUSY);
  assert_int_equal(art_immediate_clear(&imm), 0);
}

ART_TEST(errors) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_immediate_t imm = {0};
  assert_int_equal(art_immediate_start(NULL, &imm, say), ART_EINVAL);
  assert_int_equal(art_immediate_start(loop, NULL, say), ART_EINVAL);
  assert_int_equal(art_immediate_start(loop, &imm, NULL), ART_EINVAL);
  assert_int_equal(art_immediate_clear(NULL), ART_EINVAL);
  assert_int_equal(art_immediate_clear(&imm), 0); /* never started */
  assert_int_equal(art_immediate_has_ref(NULL), 0);
  art_immediate_ref(NULL);
  art_immediate_unref(NULL);
  assert_int_equal(art_immediate_start(loop, &imm, say), 0);
  assert_int_equal(imm.type, ART_IMMEDIATE);
  assert_ptr_equal(imm.loop, loop);
  /* Pending already: refused, nothing changed. */
  assert_int_equal(art_immediate_start(loop, &imm, say), ART_EBUSY);
  assert_int_equal(art_immediate_clear(&imm), 0);
  assert_int_equal(art_loop_alive(loop), 0);
}

static void count_run(art_immediate_t *imm) {
  (*(int *)imm->data)++;
}

/* The caller's memory is not initialised before a first start: stale bytes
 * that look like a pending immediate of this loop (its type, its loop, the
 * pending flag, list pointers to nowhere) are not taken for one, so a
 * clear does not unlink them and a start does not refuse. */
ART_TEST(stale_memory_is_not_pending) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_immediate_t imm;
  int runs = 0;
  memset(&imm, 0xff, sizeof(imm));
  imm.type = ART_IMMEDIATE;
  imm.loop = loop;
  assert_int_equal(art_immediate_clear(&imm), 0); /* no crash */
  assert_int_equal(art_immediate_has_ref(&imm), 0);
  imm.data = &runs;
  assert_int_equal(art_immediate_start(loop, &imm, count_run), 0);
  assert_int_equal(art_immediate_start(loop, &imm, count_run), ART_EBUSY);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(runs, 1);
}
