/* Async handles under pressure: storms of sends from many threads, handles
 * and loops closed while senders keep going, sends from a signal handler.
 * ART_SUITE_THREADS */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "helpers/harness.h"

#define SENDERS    8
#define SENDS_EACH 20000

/* Shared by the storm test: the handle, what was sent and what the
 * callback has seen. */
typedef struct {
  art_async_t async;
  art_async_t done; /* each sender sends it once when finished */
  long sent;        /* atomic: sends made so far */
  long seen;        /* sent as the last callback saw it */
  int calls;        /* callbacks of async */
  int senders_done; /* finished senders as the done callback saw */
  int finished;     /* atomic: senders that returned */
} storm_t;

static storm_t storm;

static void *storm_sender(void *arg) {
  for (int i = 0; i < SENDS_EACH; i++) {
    __atomic_add_fetch(&storm.sent, 1, __ATOMIC_SEQ_CST);
    if (art_async_send(&storm.async) != 0)
      abort();
  }
  __atomic_add_fetch(&storm.finished, 1, __ATOMIC_SEQ_CST);
  art_async_send(&storm.done);
  return NULL;
}

static void storm_cb(art_async_t *a) {
  storm.calls++;
  storm.seen = __atomic_load_n(&storm.sent, __ATOMIC_SEQ_CST);
}

static void storm_done_cb(art_async_t *a) {
  storm.senders_done = __atomic_load_n(&storm.finished, __ATOMIC_SEQ_CST);
}

static int storm_complete(void *arg) {
  return storm.senders_done == SENDERS &&
         storm.seen == (long)SENDERS * SENDS_EACH;
}

ART_TEST(storm_from_eight_threads) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pthread_t th[SENDERS];
  memset(&storm, 0, sizeof(storm));
  assert_int_equal(art_async_init(loop, &storm.async, storm_cb), 0);
  assert_int_equal(art_async_init(loop, &storm.done, storm_done_cb), 0);
  for (int i = 0; i < SENDERS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, storm_sender, NULL), 0);
  /* Every send is followed by a callback that sees it: none is lost. */
  assert_true(art_test_run_until(loop, 30000, storm_complete, NULL));
  for (int i = 0; i < SENDERS; i++)
    pthread_join(th[i], NULL);
  /* Sends coalesce: far fewer callbacks than sends, at least one. */
  assert_true(storm.calls >= 1);
  assert_true(storm.calls <= SENDERS * SENDS_EACH);
  art_close((art_handle_t *)&storm.async, NULL);
  art_close((art_handle_t *)&storm.done, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* Handles closed while eight threads keep sending to them. */
#define HANDLES 8

typedef struct {
  art_async_t h[HANDLES];
  int closed[HANDLES]; /* art_close was called (loop thread only) */
  int late_calls;      /* callbacks after close: must stay 0 */
  int calls;
  int close_cbs;
  int stop; /* atomic: senders stop */
} closing_t;

static closing_t *cl;

static void *closing_sender(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  while (!__atomic_load_n(&cl->stop, __ATOMIC_ACQUIRE)) {
    int i = (int)(rand_r(&seed) % HANDLES);
    int r = art_async_send(&cl->h[i]);
    if (r != 0 && r != ART_EINVAL)
      abort();
  }
  return NULL;
}

static void closing_cb(art_async_t *a) {
  int i = (int)(a - cl->h);
  if (cl->closed[i])
    cl->late_calls++;
  cl->calls++;
}

static void closing_close_cb(art_handle_t *h) {
  cl->close_cbs++;
}

static int all_closed(void *arg) {
  return cl->close_cbs == HANDLES;
}

static int some_calls(void *arg) {
  return cl->calls >= 100;
}

ART_TEST(close_while_storming) {
  art_loop_t *loop = malloc(sizeof(*loop));
  pthread_t th[SENDERS];
  cl = calloc(1, sizeof(*cl));
  assert_non_null(loop);
  assert_non_null(cl);
  assert_int_equal(art_loop_init(loop), 0);
  for (int i = 0; i < HANDLES; i++)
    assert_int_equal(art_async_init(loop, &cl->h[i], closing_cb), 0);
  for (int i = 0; i < SENDERS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, closing_sender,
                                    (void *)(uintptr_t)(i + 1)),
                     0);
  assert_true(art_test_run_until(loop, 10000, some_calls, NULL));
  for (int i = 0; i < HANDLES; i++) {
    assert_int_equal(art_close((art_handle_t *)&cl->h[i], closing_close_cb), 0);
    cl->closed[i] = 1;
    art_run(loop, ART_RUN_NOWAIT);
  }
  assert_true(art_test_run_until(loop, 10000, all_closed, NULL));
  assert_int_equal(cl->late_calls, 0);
  /* The loop goes away while senders still hit the closed handles: a send
   * to a closed handle must not touch the loop. */
  assert_int_equal(art_loop_close(loop), 0);
  free(loop);
  struct timespec ts = {0, 5 * 1000 * 1000};
  nanosleep(&ts, NULL);
  __atomic_store_n(&cl->stop, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < SENDERS; i++)
    pthread_join(th[i], NULL);
  assert_int_equal(art_async_send(&cl->h[0]), ART_EINVAL);
  free(cl);
}

/* One handle closed from its own callback while it is being sent to. */
static art_async_t self_closer;
static int self_close_calls;
static int self_stop;

static void *self_sender(void *arg) {
  while (!__atomic_load_n(&self_stop, __ATOMIC_ACQUIRE))
    art_async_send(&self_closer);
  return NULL;
}

static void self_close_cb(art_async_t *a) {
  self_close_calls++;
  assert_int_equal(art_close((art_handle_t *)a, NULL), 0);
}

ART_TEST(close_from_own_callback_under_sends) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pthread_t th[2];
  self_close_calls = 0;
  self_stop = 0;
  assert_int_equal(art_async_init(loop, &self_closer, self_close_cb), 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(pthread_create(&th[i], NULL, self_sender, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(self_close_calls, 1);
  __atomic_store_n(&self_stop, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < 2; i++)
    pthread_join(th[i], NULL);
}

/* Sends from a signal handler: async-signal-safe. */
static art_async_t sig_async;
static int signals_handled; /* atomic: handler runs so far */
static int sig_seen;
static int sig_calls;

static void on_usr1(int sig) {
  __atomic_add_fetch(&signals_handled, 1, __ATOMIC_SEQ_CST);
  art_async_send(&sig_async);
}

static void sig_cb(art_async_t *a) {
  sig_calls++;
  sig_seen = __atomic_load_n(&signals_handled, __ATOMIC_SEQ_CST);
}

typedef struct {
  pthread_t target;
  int count;
} kill_args_t;

static void *signal_sender(void *arg) {
  kill_args_t *k = arg;
  /* Signals pending at once merge into one: wait for each to be handled
   * before the next. */
  for (int i = 0; i < k->count; i++) {
    int before = __atomic_load_n(&signals_handled, __ATOMIC_SEQ_CST);
    pthread_kill(k->target, SIGUSR1);
    while (__atomic_load_n(&signals_handled, __ATOMIC_SEQ_CST) == before) {
      struct timespec ts = {0, 20 * 1000};
      nanosleep(&ts, NULL);
    }
  }
  return NULL;
}

static int sig_all_seen(void *arg) {
  return sig_seen == *(int *)arg;
}

ART_TEST(send_from_signal_handler) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  struct sigaction sa, old;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = on_usr1;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  __atomic_store_n(&signals_handled, 0, __ATOMIC_SEQ_CST);
  sig_seen = sig_calls = 0;
  assert_int_equal(art_async_init(loop, &sig_async, sig_cb), 0);
  assert_int_equal(sigaction(SIGUSR1, &sa, &old), 0);
  /* From the loop thread itself, outside the loop. */
  raise(SIGUSR1);
  int want = 1;
  assert_true(art_test_run_until(loop, 10000, sig_all_seen, &want));
  /* From another thread, into the loop thread while it waits. */
  kill_args_t k = {pthread_self(), 200};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, signal_sender, &k), 0);
  want = 201;
  assert_true(art_test_run_until(loop, 20000, sig_all_seen, &want));
  pthread_join(th, NULL);
  assert_true(sig_calls >= 2 && sig_calls <= 201);
  sigaction(SIGUSR1, &old, NULL);
  art_close((art_handle_t *)&sig_async, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* A send made from the handle's own callback runs it again. */
static int rearm_calls;

static void rearm_cb(art_async_t *a) {
  if (++rearm_calls < 3)
    assert_int_equal(art_async_send(a), 0);
  else
    art_close((art_handle_t *)a, NULL);
}

ART_TEST(send_from_callback_runs_again) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_async_t a;
  rearm_calls = 0;
  assert_int_equal(art_async_init(loop, &a, rearm_cb), 0);
  assert_int_equal(art_async_send(&a), 0);
  assert_int_equal(art_async_send(&a), 0); /* coalesces */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(rearm_calls, 3);
}

ART_TEST(unreferenced_async_does_not_keep_loop_alive) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_async_t a;
  assert_int_equal(art_async_init(loop, &a, NULL), 0);
  art_unref((art_handle_t *)&a);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_async_send(&a), 0);
  art_close((art_handle_t *)&a, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_async_t a;
  assert_int_equal(art_async_init(NULL, &a, NULL), ART_EINVAL);
  assert_int_equal(art_async_init(loop, NULL, NULL), ART_EINVAL);
  assert_int_equal(art_async_send(NULL), ART_EINVAL);
  assert_int_equal(art_async_init(loop, &a, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  assert_int_equal(art_async_send(&a), ART_EINVAL);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_async_send(&a), ART_EINVAL);
}
