/* A loop that never blocks (an idle handle is active, so every poll has a
 * zero timeout) still receives cross-thread wakeups. The poll phase skips
 * its zero-timeout backend wait when the only watched fd is the wakeup
 * eventfd and no wakeup is outstanding (src/loop.c); these tests prove that
 * the skip never loses an async send or a finished work item, and that a
 * real fd still gets polled. ART_SUITE_THREADS */
#include <pthread.h>
#include <unistd.h>

#include "helpers/harness.h"

static void spin_idle_cb(art_idle_t *idle) {}

static art_async_t wake;
static int wake_runs;

static void wake_cb(art_async_t *a) {
  wake_runs++;
}

static void *sender(void *arg) {
  usleep(20000); /* let the loop spin a while first */
  art_async_send(&wake);
  return NULL;
}

static int woke(void *arg) {
  return wake_runs > 0;
}

ART_TEST(async_send_reaches_a_loop_that_never_blocks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t idle;
  pthread_t th;
  wake_runs = 0;
  assert_int_equal(art_idle_init(loop, &idle), 0);
  assert_int_equal(art_idle_start(&idle, spin_idle_cb), 0);
  assert_int_equal(art_async_init(loop, &wake, wake_cb), 0);
  assert_int_equal(pthread_create(&th, NULL, sender, NULL), 0);
  assert_true(art_test_run_until(loop, 10000, woke, NULL)); /* liveness */
  pthread_join(th, NULL);
  assert_int_equal(wake_runs, 1);
  assert_int_equal(art_close((art_handle_t *)&idle, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&wake, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static int work_done;

static void slow_work(art_work_t *req) {
  usleep(20000);
}

static void after_work(art_work_t *req, int status) {
  assert_int_equal(status, 0);
  work_done++;
}

static int worked(void *arg) {
  return work_done > 0;
}

ART_TEST(finished_work_reaches_a_loop_that_never_blocks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t idle;
  art_work_t req;
  work_done = 0;
  assert_int_equal(art_idle_init(loop, &idle), 0);
  assert_int_equal(art_idle_start(&idle, spin_idle_cb), 0);
  assert_int_equal(art_queue_work(loop, &req, slow_work, after_work), 0);
  assert_true(art_test_run_until(loop, 10000, worked, NULL)); /* liveness */
  assert_int_equal(work_done, 1);
  assert_int_equal(art_close((art_handle_t *)&idle, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static int readable;

static void pipe_cb(art_poll_t *p, int status, int events) {
  readable++;
  art_poll_stop(p);
}

static int became_readable(void *arg) {
  return readable > 0;
}

/* With an fd of its own watched, a spinning loop polls it every iteration. */
ART_TEST(watched_fd_is_polled_by_a_loop_that_never_blocks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t idle;
  art_poll_t p;
  int fds[2];
  readable = 0;
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(art_idle_init(loop, &idle), 0);
  assert_int_equal(art_idle_start(&idle, spin_idle_cb), 0);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, pipe_cb), 0);
  for (int i = 0; i < 10; i++)
    assert_int_not_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(readable, 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_true(art_test_run_until(loop, 10000, became_readable, NULL));
  assert_int_equal(art_close((art_handle_t *)&idle, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(fds[0]);
  close(fds[1]);
}
