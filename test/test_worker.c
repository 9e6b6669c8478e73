/* Worker loops: start, exit status, stop from outside with handles open,
 * channels to a worker, failures to start, bad arguments.
 * ART_SUITE_THREADS */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "helpers/harness.h"

static int return_7(art_worker_t *w, art_loop_t *loop, void *arg) {
  (void)w;
  (void)loop;
  (void)arg;
  return 7;
}

ART_TEST(entry_return_is_the_status) {
  art_worker_t w;
  int status = 0;
  assert_int_equal(art_worker_start(&w, NULL, return_7, NULL), 0);
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, 7);
  /* Joined: the worker is the caller's memory again. */
  assert_int_equal(art_worker_join(&w, &status), ART_EINVAL);
  assert_int_equal(art_worker_stop(&w), ART_EINVAL);
}

/* The loop runs after the entry returns; a callback sets the status. */
static void set_status_timer(art_timer_t *t) {
  art_worker_set_status(t->data, 42);
  art_close((art_handle_t *)t, NULL);
}

static int start_timer(art_worker_t *w, art_loop_t *loop, void *arg) {
  art_timer_t *t = arg;
  art_timer_init(loop, t);
  t->data = w;
  art_timer_start(t, set_status_timer, 1, 0);
  return 1;
}

ART_TEST(status_set_by_a_callback) {
  art_worker_t w;
  art_timer_t t; /* the worker's, until it is joined */
  int status = 0;
  assert_int_equal(art_worker_start(&w, NULL, start_timer, &t), 0);
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, 42);
}

/* A worker that would run forever: a repeating timer and an idle handle
 * that is never started. Stopping it from outside closes both; the close
 * callback given by on_stop runs. */
typedef struct {
  art_timer_t tick;
  art_idle_t unused;
  int ticks;
  int stops;   /* on_stop calls */
  int closed;  /* the tick's close callback ran */
  int running; /* atomic: the worker's loop ticked at least once */
} forever_t;

static void forever_tick(art_timer_t *t) {
  forever_t *f = t->data;
  f->ticks++;
  __atomic_store_n(&f->running, 1, __ATOMIC_SEQ_CST);
}

static void forever_closed(art_handle_t *h) {
  ((forever_t *)h->data)->closed++;
}

static void forever_on_stop(art_worker_t *w, art_loop_t *loop) {
  forever_t *f = w->data;
  (void)loop;
  f->stops++;
  art_close((art_handle_t *)&f->tick, forever_closed);
}

static int forever(art_worker_t *w, art_loop_t *loop, void *arg) {
  forever_t *f = arg;
  art_timer_init(loop, &f->tick);
  f->tick.data = f;
  art_timer_start(&f->tick, forever_tick, 1, 1);
  art_idle_init(loop, &f->unused);
  return 3;
}

ART_TEST(stop_from_outside) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_worker_t w;
  forever_t f;
  memset(&f, 0, sizeof(f));
  art_worker_options_t opts = {0, "art-test", NULL, forever_on_stop};
  w.data = &f;
  assert_int_equal(art_worker_start(&w, &opts, forever, &f), 0);
  while (!__atomic_load_n(&f.running, __ATOMIC_SEQ_CST))
    art_run(loop, ART_RUN_NOWAIT); /* nothing to run: yields to the worker */
  assert_int_equal(art_worker_stop(&w), 0);
  assert_int_equal(art_worker_stop(&w), 0); /* twice is harmless */
  int status = 0;
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, 3);
  assert_int_equal(f.stops, 1);
  assert_int_equal(f.closed, 1);
  assert_true(f.ticks >= 1);
}

/* Stop before the entry has run: the entry still runs, then the stop. */
ART_TEST(stop_before_the_entry) {
  art_worker_t w;
  forever_t f;
  memset(&f, 0, sizeof(f));
  w.data = &f;
  assert_int_equal(art_worker_start(&w, NULL, forever, &f), 0);
  assert_int_equal(art_worker_stop(&w), 0);
  int status = 0;
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, 3);
  assert_int_equal(f.closed, 0); /* no on_stop: closed without callback */
}

/* A channel to a worker: the worker echoes, and when the worker is
 * stopped its port closes, so this side sees the end of the channel. */
typedef struct {
  art_channel_t *ch;
  art_port_t port; /* the worker's */
} echo_worker_t;

static void worker_echo(art_port_t *port, const art_port_msg_t *msg) {
  art_port_send(port, msg->data, msg->len);
}

static int echo_entry(art_worker_t *w, art_loop_t *loop, void *arg) {
  echo_worker_t *e = arg;
  (void)w;
  if (art_port_open(loop, &e->port, e->ch, 1) != 0)
    return -1;
  art_port_start(&e->port, worker_echo);
  return 0;
}

typedef struct {
  art_worker_t *worker;
  int replies;
  int ended;
} main_side_t;

static void main_reply(art_port_t *port, const art_port_msg_t *msg) {
  main_side_t *m = port->data;
  (void)msg;
  if (++m->replies == 3)
    art_worker_stop(m->worker);
}

static void main_end(art_port_t *port) {
  ((main_side_t *)port->data)->ended++;
  art_close((art_handle_t *)port, NULL);
}

ART_TEST(stop_closes_the_workers_ports) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_worker_t w;
  echo_worker_t e;
  art_port_t port;
  main_side_t m = {&w, 0, 0};
  assert_int_equal(art_channel_new(&e.ch), 0);
  assert_int_equal(art_port_open(loop, &port, e.ch, 0), 0);
  port.data = &m;
  art_port_on_end(&port, main_end);
  art_port_start(&port, main_reply);
  for (int i = 0; i < 3; i++)
    assert_int_equal(art_port_send(&port, "hi", 2), 0);
  assert_int_equal(art_worker_start(&w, NULL, echo_entry, &e), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  int status = -9;
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, 0);
  assert_int_equal(m.replies, 3);
  assert_int_equal(m.ended, 1);
}

/* on_exit: the worker's end is an async send to this loop, whose callback
 * joins. */
typedef struct {
  art_worker_t w;
  art_async_t exit;
  int status;
} exit_watch_t;

static void on_worker_exit(art_async_t *a) {
  exit_watch_t *x = a->data;
  /* Ended already: a stop is harmless. */
  assert_int_equal(art_worker_stop(&x->w), 0);
  assert_int_equal(art_worker_join(&x->w, &x->status), 0);
  art_close((art_handle_t *)a, NULL);
}

ART_TEST(exit_notice_on_another_loop) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  exit_watch_t x;
  x.status = 0;
  assert_int_equal(art_async_init(loop, &x.exit, on_worker_exit), 0);
  x.exit.data = &x;
  art_worker_options_t opts = {0, NULL, &x.exit, NULL};
  assert_int_equal(art_worker_start(&x.w, &opts, return_7, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(x.status, 7);
}

/* The worker's thread blocks every signal, as the pool's threads do. */
static int check_mask(art_worker_t *w, art_loop_t *loop, void *arg) {
  sigset_t set;
  (void)w;
  (void)loop;
  (void)arg;
  pthread_sigmask(SIG_SETMASK, NULL, &set);
  return sigismember(&set, SIGINT) && sigismember(&set, SIGTERM) &&
         sigismember(&set, SIGCHLD) && sigismember(&set, SIGUSR1);
}

ART_TEST(signals_blocked_in_the_worker) {
  art_worker_t w;
  int status = 0;
  assert_int_equal(art_worker_start(&w, NULL, check_mask, NULL), 0);
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, 1);
}

static int join_self(art_worker_t *w, art_loop_t *loop, void *arg) {
  (void)loop;
  (void)arg;
  return art_worker_join(w, NULL);
}

ART_TEST(bad_arguments) {
  art_worker_t w;
  int status = 0;
  memset(&w, 0, sizeof(w));
  assert_int_equal(art_worker_start(NULL, NULL, return_7, NULL), ART_EINVAL);
  assert_int_equal(art_worker_start(&w, NULL, NULL, NULL), ART_EINVAL);
  art_worker_options_t opts = {0, "a-name-longer-than-15", NULL, NULL};
  assert_int_equal(art_worker_start(&w, &opts, return_7, NULL), ART_EINVAL);
  opts.name = NULL;
  opts.stack_size = 1; /* below the system's least stack */
  assert_int_equal(art_worker_start(&w, &opts, return_7, NULL), ART_EINVAL);
  assert_null(w.impl_);
  assert_int_equal(art_worker_stop(NULL), ART_EINVAL);
  assert_int_equal(art_worker_stop(&w), ART_EINVAL);
  assert_int_equal(art_worker_join(NULL, NULL), ART_EINVAL);
  assert_int_equal(art_worker_join(&w, NULL), ART_EINVAL);
  assert_int_equal(art_worker_set_status(NULL, 1), ART_EINVAL);
  /* Joining itself would wait forever: refused. */
  assert_int_equal(art_worker_start(&w, NULL, join_self, NULL), 0);
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, ART_EINVAL);
}

/* pthread_create refusing the thread (a 64 TiB stack cannot be mapped
 * under the kernel's overcommit heuristic) is an error for the caller,
 * and the worker can be started again afterwards. */
ART_TEST(thread_failure_is_an_error) {
  art_worker_t w;
  art_worker_options_t opts = {(size_t)1 << 46, NULL, NULL, NULL};
  int err = art_worker_start(&w, &opts, return_7, NULL);
  if (err == 0) { /* a kernel that maps it: nothing to test here */
    assert_int_equal(art_worker_join(&w, NULL), 0);
    skip();
  }
  assert_true(err == ART_EAGAIN || err == ART_ENOMEM);
  assert_null(w.impl_);
  int status = 0;
  assert_int_equal(art_worker_start(&w, NULL, return_7, NULL), 0);
  assert_int_equal(art_worker_join(&w, &status), 0);
  assert_int_equal(status, 7);
}

/* A loop that cannot be made is an error for the caller, with no thread,
 * fd or memory left behind (the harness counts the fds, ASan the memory).
 * The first allocation is the worker's state; every later one that fails,
 * in turn, is inside the worker's loop or its stop handle. */
ART_TEST(loop_failure_is_an_error) {
  art_worker_t w;
  int failures = 0;
  for (long n = 0; n < 64; n++) {
    art_test_fail_alloc_after(n);
    int err = art_worker_start(&w, NULL, return_7, NULL);
    if (err == 0) /* the allocator is the worker's until it is joined */
      assert_int_equal(art_worker_join(&w, NULL), 0);
    int failed = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    if (err == 0) {
      if (!failed)
        break;  /* past the last allocation a worker makes */
      continue; /* a failure the worker's run absorbed */
    }
    assert_int_equal(err, ART_ENOMEM);
    assert_null(w.impl_);
    failures++;
  }
  assert_true(failures >= 2);
}
