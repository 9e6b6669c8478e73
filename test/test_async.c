/* art_async_t basics: sends from the loop thread and from another thread,
 * coalescing, close with a send pending, and a send given a handle of
 * another type. The eight-thread storms are in test_async_storm.c.
 * ART_SUITE_THREADS */
#include <pthread.h>
#include <string.h>

#include "helpers/handle.h"
#include "helpers/harness.h"

static int calls;
static art_phase call_phase;

static void count_cb(art_async_t *a) {
  calls++;
  call_phase = art_loop_phase(a->loop);
}

static void sender_timer_cb(art_timer_t *t) {
  art_async_t *a = t->data;
  /* Many sends from the loop thread before the poll phase: one call. */
  for (int i = 0; i < 10; i++)
    assert_int_equal(art_async_send(a), 0);
}

ART_TEST(send_from_loop_thread_runs_in_poll_phase) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_async_t a;
  art_timer_t t;
  art_loop_metrics_t m0, m1;
  calls = 0;
  assert_int_equal(art_async_init(loop, &a, count_cb), 0);
  /* Active until closed: it keeps the loop alive. */
  assert_int_equal(art_is_active((art_handle_t *)&a), 1);
  assert_int_equal(art_loop_alive(loop), 1);
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = &a;
  assert_int_equal(art_timer_start(&t, sender_timer_cb, 0, 0), 0);
  art_loop_metrics(loop, &m0);
  assert_int_equal(art_run(loop, ART_RUN_ONCE), 1);
  art_loop_metrics(loop, &m1);
  /* Same iteration as the timer, in its poll phase, once. */
  assert_int_equal(m1.iterations, m0.iterations + 1);
  assert_int_equal(calls, 1);
  assert_int_equal(call_phase, ART_PHASE_POLL);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(calls, 1);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

typedef struct {
  art_async_t *async;
  int sends;
  int done; /* atomic */
} thread_arg_t;

static void *sender_main(void *p) {
  thread_arg_t *arg = p;
  for (int i = 0; i < arg->sends; i++)
    assert_int_equal(art_async_send(arg->async), 0);
  __atomic_store_n(&arg->done, 1, __ATOMIC_RELEASE);
  assert_int_equal(art_async_send(arg->async), 0);
  return NULL;
}

static thread_arg_t *thread_arg;
static int seen_done;

static void thread_cb(art_async_t *a) {
  calls++;
  if (__atomic_load_n(&thread_arg->done, __ATOMIC_ACQUIRE)) {
    seen_done = 1;
    art_close((art_handle_t *)a, NULL);
  }
}

/* Sends from another thread wake the loop; they coalesce (never more
 * calls than sends) and the last send after `done` is always delivered. */
ART_TEST(send_from_other_thread) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_async_t a;
  pthread_t th;
  thread_arg_t arg = {&a, 20000, 0};
  calls = 0;
  seen_done = 0;
  thread_arg = &arg;
  assert_int_equal(art_async_init(loop, &a, thread_cb), 0);
  assert_int_equal(pthread_create(&th, NULL, sender_main, &arg), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(seen_done, 1);
  assert_true(calls >= 1);
  assert_true(calls <= arg.sends + 1);
}

static int closed;

static void close_cb(art_handle_t *h) {
  closed++;
}

/* A send made before close is dropped: no callback after art_close, from
 * this thread or another. */
ART_TEST(close_with_pending_send_drops_it) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_async_t a, b;
  pthread_t th;
  thread_arg_t arg = {&b, 1, 0};
  calls = closed = 0;
  assert_int_equal(art_async_init(loop, &a, count_cb), 0);
  assert_int_equal(art_async_init(loop, &b, count_cb), 0);
  assert_int_equal(art_async_send(&a), 0);
  /* b is sent from another thread, which has finished before the close. */
  assert_int_equal(pthread_create(&th, NULL, sender_main, &arg), 0);
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&a, close_cb), 0);
  assert_int_equal(art_close((art_handle_t *)&b, close_cb), 0);
  assert_int_equal(art_async_send(&a), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(calls, 0);
  assert_int_equal(closed, 2);
}

/* Closing one async handle while another one's send is pending leaves the
 * other one's call in place. */
ART_TEST(close_one_keeps_others_pending) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_async_t a, b;
  calls = 0;
  assert_int_equal(art_async_init(loop, &a, count_cb), 0);
  assert_int_equal(art_async_init(loop, &b, count_cb), 0);
  assert_int_equal(art_async_send(&b), 0);
  assert_int_equal(art_async_send(&a), 0);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(calls, 1);
  assert_int_equal(art_close((art_handle_t *)&b, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(calls, 1);
}

/* art_async_send given a handle of another type refuses it without
 * touching memory past that handle (helpers/handle.h). */
ART_TEST(send_wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  assert_int_equal(art_async_send((art_async_t *)idle), ART_EINVAL);
  close_and_run(loop, (art_handle_t *)idle);
}
