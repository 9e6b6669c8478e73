/* The timer heap's lazy paths (src/timer.c, src/heap.h): stopped timers
 * whose entries stay in the heap, re-arms to later and earlier deadlines,
 * closes of timers with stale entries, and repeating timers parked on the
 * deferred list. The other timer behaviours are in test_timer.c. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "helpers/harness.h"

static void never_cb(art_timer_t *t) {
  fail_msg("timer must not fire");
}

static void close_timers(art_loop_t *loop, art_timer_t *t, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!art_is_closing((art_handle_t *)&t[i]))
      assert_int_equal(art_close((art_handle_t *)&t[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* A stopped timer's entry stays in the heap, but it must not make the loop
 * wake up at its old deadline. */
ART_TEST(stopped_timer_does_not_shorten_poll_timeout) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t[2];
  for (int i = 0; i < 2; i++)
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
  assert_int_equal(art_timer_start(&t[0], never_cb, 10, 0), 0);
  assert_int_equal(art_timer_start(&t[1], never_cb, 5000, 0), 0);
  assert_int_equal(art_backend_timeout(loop), 10);
  assert_int_equal(art_timer_stop(&t[0]), 0);
  assert_int_equal(art_backend_timeout(loop), 5000);
  /* Pushed back: the old, earlier entry must not count either. */
  assert_int_equal(art_timer_start(&t[0], never_cb, 8000, 0), 0);
  assert_int_equal(art_backend_timeout(loop), 5000);
  /* Pulled forward: counts at once. */
  assert_int_equal(art_timer_start(&t[0], never_cb, 20, 0), 0);
  assert_int_equal(art_backend_timeout(loop), 20);
  close_timers(loop, t, 2);
}

/* Random starts, stops and restarts, all at the same cached time, then one
 * run: the timers still started must fire in (timeout, last start) order,
 * whatever stale entries the heap holds. */
#define MODEL_TIMERS 64
#define MODEL_OPS    4000
static art_timer_t model[MODEL_TIMERS];
static uint64_t model_timeout[MODEL_TIMERS];
static long model_last_start[MODEL_TIMERS];
static int model_active[MODEL_TIMERS];
static int fired_order[MODEL_TIMERS];
static int nfired;

static void model_cb(art_timer_t *t) {
  fired_order[nfired++] = (int)(t - model);
}

/* Sorts indices by (timeout, last start). */
static int by_key(const void *a, const void *b) {
  int x = *(const int *)a, y = *(const int *)b;
  if (model_timeout[x] != model_timeout[y])
    return model_timeout[x] < model_timeout[y] ? -1 : 1;
  return model_last_start[x] < model_last_start[y] ? -1 : 1;
}

ART_TEST(random_rearms_fire_in_deadline_then_start_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  srand(12345);
  nfired = 0;
  memset(model_active, 0, sizeof(model_active));
  for (int i = 0; i < MODEL_TIMERS; i++)
    assert_int_equal(art_timer_init(loop, &model[i]), 0);
  for (long op = 0; op < MODEL_OPS; op++) {
    int i = rand() % MODEL_TIMERS;
    if (rand() % 4 == 0) {
      assert_int_equal(art_timer_stop(&model[i]), 0);
      model_active[i] = 0;
    } else {
      model_timeout[i] = (uint64_t)(rand() % 8);
      model_last_start[i] = op;
      model_active[i] = 1;
      assert_int_equal(
          art_timer_start(&model[i], model_cb, model_timeout[i], 0), 0);
    }
  }
  int want[MODEL_TIMERS], nwant = 0;
  for (int i = 0; i < MODEL_TIMERS; i++)
    if (model_active[i])
      want[nwant++] = i;
  qsort(want, (size_t)nwant, sizeof(want[0]), by_key);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(nfired, nwant);
  assert_memory_equal(fired_order, want, (size_t)nwant * sizeof(int));
  close_timers(loop, model, MODEL_TIMERS);
}

/* A timer closed while its heap entry is stale (re-armed later) leaves no
 * entry behind: its memory is scribbled over in the close callback and the
 * loop keeps running other timers (ASan would see a use after free). */
static art_timer_t *scratch;
static int other_runs;

static void scribble_close_cb(art_handle_t *h) {
  memset(h, 0xA5, sizeof(art_timer_t));
  free(h);
}

static void other_cb(art_timer_t *t) {
  other_runs++;
}

ART_TEST(close_with_stale_entry_leaves_nothing_behind) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t other;
  other_runs = 0;
  scratch = malloc(sizeof(*scratch));
  assert_non_null(scratch);
  assert_int_equal(art_timer_init(loop, scratch), 0);
  assert_int_equal(art_timer_init(loop, &other), 0);
  assert_int_equal(art_timer_start(scratch, never_cb, 1, 0), 0);
  assert_int_equal(art_timer_start(scratch, never_cb, 50, 0), 0); /* stale */
  assert_int_equal(art_timer_stop(scratch), 0);
  assert_int_equal(art_timer_start(scratch, never_cb, 60, 0), 0);
  assert_int_equal(art_close((art_handle_t *)scratch, scribble_close_cb), 0);
  assert_int_equal(art_timer_start(&other, other_cb, 2, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(other_runs, 1);
  close_timers(loop, &other, 1);
}

/* A repeating timer that fell behind waits on the deferred list; a later
 * callback of the same phase stops it, and it must not run again. */
static art_timer_t lag_repeat, lag_stopper;
static int lag_runs;

static void lag_repeat_cb(art_timer_t *t) {
  lag_runs++;
}

static void lag_stopper_cb(art_timer_t *t) {
  assert_int_equal(art_is_active((art_handle_t *)&lag_repeat), 1);
  assert_int_equal(art_timer_stop(&lag_repeat), 0);
}

ART_TEST(stopping_a_deferred_repeat_cancels_it) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  lag_runs = 0;
  art_update_time(loop);
  assert_int_equal(art_timer_init(loop, &lag_repeat), 0);
  assert_int_equal(art_timer_init(loop, &lag_stopper), 0);
  assert_int_equal(art_timer_start(&lag_repeat, lag_repeat_cb, 0, 1), 0);
  assert_int_equal(art_timer_start(&lag_stopper, lag_stopper_cb, 0, 0), 0);
  struct timespec ts = {0, 20 * 1000000L}; /* the loop is now 20 ms late */
  nanosleep(&ts, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(lag_runs, 1);
  assert_int_equal(art_is_active((art_handle_t *)&lag_repeat), 0);
  close_timers(loop, &lag_repeat, 1);
  close_timers(loop, &lag_stopper, 1);
}

/* Many timers, enough to make a deep heap: every removal path (pop,
 * remove from the middle on close, sift up on an earlier re-arm) keeps the
 * order. */
#define DEEP 5000
static art_timer_t deep[DEEP];
static uint64_t deep_last;
static int deep_bad, deep_count;

static void deep_cb(art_timer_t *t) {
  uint64_t key = ((uint64_t)(uintptr_t)t->data);
  if (key < deep_last)
    deep_bad++;
  deep_last = key;
  deep_count++;
}

ART_TEST(deep_heap_keeps_order_through_closes_and_rearms) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  deep_last = 0;
  deep_bad = deep_count = 0;
  for (int i = 0; i < DEEP; i++) {
    assert_int_equal(art_timer_init(loop, &deep[i]), 0);
    uint64_t timeout = (uint64_t)((i * 7919) % 13) + 20;
    deep[i].data = (void *)(uintptr_t)(timeout * DEEP + (uint64_t)i);
    assert_int_equal(art_timer_start(&deep[i], deep_cb, timeout, 0), 0);
  }
  int closed = 0;
  for (int i = 0; i < DEEP; i += 5, closed++)
    assert_int_equal(art_close((art_handle_t *)&deep[i], NULL), 0);
  /* Every seventh timer moves to 1..3 ms, ahead of the rest. */
  int moved = 0;
  for (int i = 1; i < DEEP; i += 7) {
    if (i % 5 == 0)
      continue;
    uint64_t timeout = (uint64_t)(i % 3) + 1;
    deep[i].data = (void *)(uintptr_t)(timeout * DEEP + (uint64_t)DEEP - 1);
    assert_int_equal(art_timer_start(&deep[i], deep_cb, timeout, 0), 0);
    moved++;
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(deep_count, DEEP - closed);
  assert_true(moved > 0);
  assert_int_equal(deep_bad, 0);
  close_timers(loop, deep, DEEP);
}
