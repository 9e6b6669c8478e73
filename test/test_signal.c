/* Signals: delivery to every watching handle and loop, oneshot, stop and
 * close semantics, dispositions. ART_SUITE_THREADS: two loops on two
 * threads watch the same signal. */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "helpers/harness.h"

static int calls[4];
static int last_signum;

static void count_cb(art_signal_t *h, int signum) {
  calls[(intptr_t)h->data]++;
  last_signum = signum;
}

static void reset_counts(void) {
  memset(calls, 0, sizeof(calls));
  last_signum = 0;
}

static void close_all(art_loop_t *loop, art_signal_t *hs, int n) {
  for (int i = 0; i < n; i++)
    assert_int_equal(art_close((art_handle_t *)&hs[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static int handler_is(int signum, void (*want)(int)) {
  struct sigaction sa;
  sigaction(signum, NULL, &sa);
  return sa.sa_handler == want;
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t h;
  assert_int_equal(art_signal_init(NULL, &h), ART_EINVAL);
  assert_int_equal(art_signal_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_signal_init(loop, &h), 0);
  assert_int_equal(art_signal_start(NULL, count_cb, SIGUSR1), ART_EINVAL);
  assert_int_equal(art_signal_start(&h, NULL, SIGUSR1), ART_EINVAL);
  assert_int_equal(art_signal_start(&h, count_cb, 0), ART_EINVAL);
  assert_int_equal(art_signal_start(&h, count_cb, -3), ART_EINVAL);
  assert_int_equal(art_signal_start(&h, count_cb, 65), ART_EINVAL);
  assert_int_equal(art_signal_start(&h, count_cb, SIGKILL), ART_EINVAL);
  assert_int_equal(art_signal_start_oneshot(&h, count_cb, SIGSTOP), ART_EINVAL);
  assert_int_equal(art_signal_stop(NULL), ART_EINVAL);
  assert_int_equal(art_signal_stop(&h), 0); /* not started: no-op */
  assert_false(art_is_active((art_handle_t *)&h));
  close_all(loop, &h, 1);
  assert_int_equal(art_signal_start(&h, count_cb, SIGUSR1), ART_EINVAL);
  assert_int_equal(art_signal_stop(&h), 0); /* every stop: 0 after close */
  assert_int_equal(art_close((art_handle_t *)&h, NULL), ART_EINVAL);
}

/* Out of memory for the loop's signal state: an error, nothing changed. */
ART_TEST(start_without_memory) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t h;
  assert_int_equal(art_signal_init(loop, &h), 0);
  art_test_fail_alloc_after(0);
  assert_int_equal(art_signal_start(&h, count_cb, SIGUSR1), ART_ENOMEM);
  art_test_fail_alloc_after(-1);
  assert_false(art_is_active((art_handle_t *)&h));
  assert_true(handler_is(SIGUSR1, SIG_DFL));
  assert_int_equal(art_signal_start(&h, count_cb, SIGUSR1), 0);
  close_all(loop, &h, 1);
}

/* The first art_signal_start of a loop makes its pipe: with each
 * allocation failing in turn, a failed start leaves no fd open. */
ART_TEST(start_allocation_failures) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  for (long n = 0; n < 32; n++) {
    art_loop_t l;
    art_signal_t h;
    assert_int_equal(art_loop_init(&l), 0);
    int before = art_test_fd_count();
    assert_int_equal(art_signal_init(&l, &h), 0);
    art_test_fail_alloc_after(n);
    int err = art_signal_start(&h, count_cb, SIGUSR2);
    int failed = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    if (err != 0)
      assert_int_equal(art_test_fd_count(), before);
    art_close((art_handle_t *)&h, NULL);
    assert_int_equal(art_run(&l, ART_RUN_DEFAULT), 0);
    assert_int_equal(art_loop_close(&l), 0);
    if (err == 0 && !failed)
      return;
  }
  (void)loop;
  fail_msg("art_signal_start never succeeded");
}

ART_TEST(every_handle_gets_it) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t hs[3];
  reset_counts();
  for (intptr_t i = 0; i < 3; i++) {
    assert_int_equal(art_signal_init(loop, &hs[i]), 0);
    hs[i].data = (void *)i;
  }
  assert_int_equal(art_signal_start(&hs[0], count_cb, SIGUSR1), 0);
  assert_int_equal(art_signal_start(&hs[1], count_cb, SIGUSR1), 0);
  assert_int_equal(art_signal_start(&hs[2], count_cb, SIGUSR2), 0);
  assert_int_equal(hs[0].signum, SIGUSR1);
  raise(SIGUSR1);
  assert_int_equal(calls[0], 0); /* only in the poll phase */
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(calls[0], 1);
  assert_int_equal(calls[1], 1);
  assert_int_equal(calls[2], 0);
  assert_int_equal(last_signum, SIGUSR1);
  for (int i = 0; i < 5; i++)
    raise(SIGUSR2);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(calls[2], 5);
  assert_int_equal(calls[0], 1);
  close_all(loop, hs, 3);
}

ART_TEST(oneshot_runs_once) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t h;
  reset_counts();
  assert_int_equal(art_signal_init(loop, &h), 0);
  h.data = (void *)0;
  assert_int_equal(art_signal_start_oneshot(&h, count_cb, SIGUSR1), 0);
  assert_true(art_is_active((art_handle_t *)&h));
  raise(SIGUSR1);
  raise(SIGUSR1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0); /* inactive: ends */
  assert_int_equal(calls[0], 1);
  assert_false(art_is_active((art_handle_t *)&h));
  assert_int_equal(h.signum, 0);
  close_all(loop, &h, 1);
}

ART_TEST(closed_with_signal_pending) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t hs[2];
  reset_counts();
  for (intptr_t i = 0; i < 2; i++) {
    assert_int_equal(art_signal_init(loop, &hs[i]), 0);
    hs[i].data = (void *)i;
    assert_int_equal(art_signal_start(&hs[i], count_cb, SIGUSR1), 0);
  }
  raise(SIGUSR1); /* written to the loop's pipe, not yet dispatched */
  assert_int_equal(art_close((art_handle_t *)&hs[0], NULL), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(calls[0], 0);
  assert_int_equal(calls[1], 1);
  raise(SIGUSR1);
  assert_int_equal(art_signal_stop(&hs[1]), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(calls[1], 1);
  close_all(loop, &hs[1], 1);
}

ART_TEST(disposition_restored) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t a, b;
  assert_true(handler_is(SIGUSR2, SIG_DFL));
  assert_int_equal(art_signal_init(loop, &a), 0);
  assert_int_equal(art_signal_init(loop, &b), 0);
  assert_int_equal(art_signal_start(&a, count_cb, SIGUSR2), 0);
  assert_int_equal(art_signal_start(&b, count_cb, SIGUSR2), 0);
  assert_false(handler_is(SIGUSR2, SIG_DFL));
  assert_int_equal(art_signal_stop(&a), 0);
  assert_false(handler_is(SIGUSR2, SIG_DFL));
  /* Moving b to another signal releases SIGUSR2. */
  assert_int_equal(art_signal_start(&b, count_cb, SIGHUP), 0);
  assert_true(handler_is(SIGUSR2, SIG_DFL));
  assert_false(handler_is(SIGHUP, SIG_DFL));
  assert_int_equal(art_signal_stop(&b), 0);
  assert_true(handler_is(SIGHUP, SIG_DFL));
  /* A disposition the program chose is what comes back. */
  signal(SIGUSR2, SIG_IGN);
  assert_int_equal(art_signal_start(&a, count_cb, SIGUSR2), 0);
  assert_int_equal(art_signal_stop(&a), 0);
  assert_true(handler_is(SIGUSR2, SIG_IGN));
  signal(SIGUSR2, SIG_DFL);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&b, NULL), 0);
  art_run(loop, ART_RUN_DEFAULT);
}

/* Callbacks that stop and close other handles of the same delivery. */
static art_signal_t chain[3];

static void closer_cb(art_signal_t *h, int signum) {
  calls[0]++;
  art_close((art_handle_t *)&chain[1], NULL);
  art_signal_stop(&chain[2]);
  art_signal_stop(h);
}

ART_TEST(callback_closes_others) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  reset_counts();
  for (intptr_t i = 0; i < 3; i++) {
    assert_int_equal(art_signal_init(loop, &chain[i]), 0);
    chain[i].data = (void *)(i + 1);
  }
  assert_int_equal(art_signal_start(&chain[0], closer_cb, SIGUSR1), 0);
  assert_int_equal(art_signal_start(&chain[1], count_cb, SIGUSR1), 0);
  assert_int_equal(art_signal_start(&chain[2], count_cb, SIGUSR1), 0);
  raise(SIGUSR1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(calls[0], 1);
  assert_int_equal(calls[2], 0);
  assert_int_equal(calls[3], 0);
  art_close((art_handle_t *)&chain[0], NULL);
  art_close((art_handle_t *)&chain[2], NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

ART_TEST(two_loops_one_thread) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_loop_t other;
  art_signal_t a, b;
  reset_counts();
  assert_int_equal(art_loop_init(&other), 0);
  assert_int_equal(art_signal_init(loop, &a), 0);
  assert_int_equal(art_signal_init(&other, &b), 0);
  a.data = (void *)0;
  b.data = (void *)1;
  assert_int_equal(art_signal_start_oneshot(&a, count_cb, SIGUSR1), 0);
  assert_int_equal(art_signal_start_oneshot(&b, count_cb, SIGUSR1), 0);
  raise(SIGUSR1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_run(&other, ART_RUN_DEFAULT), 0);
  assert_int_equal(calls[0], 1);
  assert_int_equal(calls[1], 1);
  art_close((art_handle_t *)&a, NULL);
  art_close((art_handle_t *)&b, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  art_run(&other, ART_RUN_DEFAULT);
  assert_int_equal(art_loop_close(&other), 0);
}

/* Two threads, each with its own loop and a oneshot handle on SIGUSR2; the
 * main thread sends the signal to the process once both are watching. A
 * timer on each loop ends the wait if the signal never comes. */
typedef struct {
  art_loop_t loop;
  art_signal_t sig;
  art_timer_t timer;
  pthread_barrier_t *ready;
  int got;
} sig_thread_t;

static void thread_sig_cb(art_signal_t *h, int signum) {
  sig_thread_t *t = h->data;
  t->got = signum;
  art_timer_stop(&t->timer);
}

static void thread_timeout_cb(art_timer_t *timer) {
  sig_thread_t *t = timer->data;
  art_signal_stop(&t->sig);
}

static void *sig_thread(void *arg) {
  sig_thread_t *t = arg;
  art_loop_init(&t->loop);
  art_signal_init(&t->loop, &t->sig);
  art_timer_init(&t->loop, &t->timer);
  t->sig.data = t->timer.data = t;
  art_signal_start_oneshot(&t->sig, thread_sig_cb, SIGUSR2);
  art_timer_start(&t->timer, thread_timeout_cb, 5000, 0);
  pthread_barrier_wait(t->ready);
  art_run(&t->loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&t->sig, NULL);
  art_close((art_handle_t *)&t->timer, NULL);
  art_run(&t->loop, ART_RUN_DEFAULT);
  art_loop_close(&t->loop);
  return NULL;
}

ART_TEST(two_loops_two_threads) {
  sig_thread_t t[2];
  pthread_t tid[2];
  pthread_barrier_t ready;
  memset(t, 0, sizeof(t));
  pthread_barrier_init(&ready, NULL, 3);
  for (int i = 0; i < 2; i++) {
    t[i].ready = &ready;
    assert_int_equal(pthread_create(&tid[i], NULL, sig_thread, &t[i]), 0);
  }
  pthread_barrier_wait(&ready);
  kill(getpid(), SIGUSR2);
  for (int i = 0; i < 2; i++)
    pthread_join(tid[i], NULL);
  pthread_barrier_destroy(&ready);
  assert_int_equal(t[0].got, SIGUSR2);
  assert_int_equal(t[1].got, SIGUSR2);
  assert_true(handler_is(SIGUSR2, SIG_DFL));
}

static void sigpipe_cb(art_signal_t *h, int signum) {
  calls[0]++;
}

/* A write to a pipe whose reader is gone raises SIGPIPE; a watching handle
 * turns it into a callback instead of a death. */
ART_TEST(sigpipe_watched) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t h;
  int fds[2];
  reset_counts();
  assert_int_equal(art_signal_init(loop, &h), 0);
  assert_int_equal(art_signal_start(&h, sigpipe_cb, SIGPIPE), 0);
  assert_int_equal(pipe(fds), 0);
  close(fds[0]);
  assert_int_equal(write(fds[1], "x", 1), -1);
  assert_int_equal(errno, EPIPE);
  close(fds[1]);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(calls[0], 1);
  close_all(loop, &h, 1);
  assert_true(handler_is(SIGPIPE, SIG_DFL));
}
