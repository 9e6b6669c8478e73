/* The loop core: run modes, liveness, phase order, close rules, and
 * wakeups reaching a loop that never blocks. Some tests put requests on the
 * work pool or send from another thread: ART_SUITE_THREADS */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "helpers/harness.h"

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
  /* art_run never returns an error code: a while (art_run()) loop ends. */
  assert_int_equal(art_run(NULL, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_run(loop, (art_run_mode)42), 0);
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

static void idle_noop(art_idle_t *i) {}

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

static void never_cb(art_timer_t *t) {
  fail_msg("timer must not fire");
}

static void close_and_drain(art_loop_t *loop, art_handle_t *h) {
  assert_int_equal(art_close(h, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(nowait_never_blocks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, never_cb, 60000, 0), 0);
  uint64_t t0 = art_hrtime();
  for (int i = 0; i < 5; i++)
    assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_true(art_hrtime() - t0 < 20ull * 1000000000ull); /* liveness */
  art_loop_metrics_t m;
  assert_int_equal(art_loop_metrics(loop, &m), 0);
  assert_int_equal(m.iterations, 5);
  close_and_drain(loop, (art_handle_t *)&t);
}

static int fired;

static void count_cb(art_timer_t *t) {
  fired++;
}

/* ONCE blocks in poll for the timer, runs one iteration per call and says
 * whether more remains. */
ART_TEST(once_runs_one_iteration) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_loop_metrics_t m0, m1;
  fired = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, count_cb, 20, 0), 0);
  art_loop_metrics(loop, &m0);
  int calls = 0;
  while (art_run(loop, ART_RUN_ONCE) != 0)
    calls++;
  art_loop_metrics(loop, &m1);
  assert_int_equal(fired, 1);
  /* Each call was exactly one iteration; blocking means few were needed. */
  assert_int_equal(m1.iterations - m0.iterations, (uint64_t)calls + 1);
  assert_true(calls <= 3);
  assert_int_equal(art_run(loop, ART_RUN_ONCE), 0);
  close_and_drain(loop, (art_handle_t *)&t);
}

/* A blocking ONCE call that waited for a timer runs it before returning,
 * as libuv's does: one call, one timer, whatever the wait's rounding. */
ART_TEST(once_that_waits_runs_the_timer) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  fired = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, count_cb, 15, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_ONCE), 0);
  assert_int_equal(fired, 1);
  close_and_drain(loop, (art_handle_t *)&t);
}

static int stop_runs;

static void stop_cb(art_timer_t *t) {
  stop_runs++;
  art_stop(t->loop);
}

ART_TEST(stop_returns_after_iteration) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  stop_runs = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, stop_cb, 0, 1), 0);
  assert_int_not_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(stop_runs, 1);
  assert_int_equal(art_loop_alive(loop), 1);
  /* The stop is used up: the next run goes on until stopped again. */
  assert_int_not_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(stop_runs, 2);
  /* A stop before art_run makes it return at once. */
  art_stop(loop);
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_not_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(stop_runs, 2);
  art_stop(NULL);
  close_and_drain(loop, (art_handle_t *)&t);
}

static void idle_noop2(art_idle_t *i) {}

static void tick_noop(art_loop_t *loop, void *arg) {}

/* The poll timeout of DESIGN.md, observed through art_backend_timeout. */
ART_TEST(poll_timeout_rule) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_idle_t i;
  art_check_t c;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_idle_init(loop, &i), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  /* Nothing alive: no reason to wait. */
  assert_int_equal(art_backend_timeout(loop), 0);
  /* An active check handle alone: wait forever. */
  assert_int_equal(art_check_start(&c, (art_check_cb)idle_noop2), 0);
  assert_int_equal(art_backend_timeout(loop), -1);
  /* A timer: the time to its deadline. */
  assert_int_equal(art_timer_start(&t, never_cb, 5000, 0), 0);
  assert_int_equal(art_backend_timeout(loop), 5000);
  /* Idle handles, microtasks, ticks and stop each make it 0. */
  assert_int_equal(art_idle_start(&i, idle_noop2), 0);
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_equal(art_idle_stop(&i), 0);
  assert_int_equal(art_backend_timeout(loop), 5000);
  assert_int_equal(art_queue_microtask(loop, tick_noop, NULL), 0);
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  art_update_time(loop);
  assert_true(art_backend_timeout(loop) > 0);
  assert_int_equal(art_next_tick(loop, tick_noop, NULL), 0);
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  art_stop(loop);
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1); /* clears the stop */
  assert_true(art_backend_timeout(loop) > 0);
  /* A stopped timer no longer bounds the wait. */
  assert_int_equal(art_timer_stop(&t), 0);
  assert_int_equal(art_backend_timeout(loop), -1);
  /* A handle waiting for its close callback: 0. */
  assert_int_equal(art_close((art_handle_t *)&i, NULL), 0);
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_equal(art_backend_timeout(NULL), ART_EINVAL);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  close_and_drain(loop, (art_handle_t *)&c);
}

ART_TEST(time_is_monotonic_and_cached) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  uint64_t h0 = art_hrtime();
  uint64_t n0 = art_now(loop);
  struct timespec ts = {0, 3 * 1000000L};
  nanosleep(&ts, NULL);
  /* Cached: unchanged until updated. */
  assert_int_equal(art_now(loop), n0);
  art_update_time(loop);
  uint64_t n1 = art_now(loop);
  uint64_t h1 = art_hrtime();
  assert_true(h1 >= h0 + 3 * 1000000ull);
  assert_true(n1 >= n0 + 3);
  /* ms and ns agree on the same clock. */
  assert_true(n1 <= h1 / 1000000u);
  for (int i = 0; i < 1000; i++) {
    uint64_t h = art_hrtime();
    assert_true(h >= h1);
    h1 = h;
  }
  assert_int_equal(art_now(NULL), 0);
  art_update_time(NULL);
}

static void read_cb(art_poll_t *p, int status, int events) {
  char b;
  assert_int_equal(read(p->io_.fd, &b, 1), 1);
  art_poll_stop(p);
}

ART_TEST(metrics) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_loop_metrics_t m0, m1;
  art_timer_t t;
  art_poll_t p;
  int fds[2];
  assert_int_equal(art_loop_metrics(NULL, &m0), ART_EINVAL);
  assert_int_equal(art_loop_metrics(loop, NULL), ART_EINVAL);
  assert_int_equal(art_loop_metrics(loop, &m0), 0);
  assert_true(m0.loop_start_ns <= art_hrtime());
  /* A 30 ms timer with nothing else to do: time spent blocked in poll. */
  fired = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, count_cb, 30, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &m1), 0);
  assert_int_equal(fired, 1);
  assert_true(m1.iterations >= m0.iterations + 2);
  assert_true(m1.idle_time_ns > m0.idle_time_ns);
  /* One readable fd: one event dispatched. */
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, read_cb), 0);
  m0 = m1;
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(loop, &m1), 0);
  assert_int_equal(m1.events, m0.events + 1);
  assert_int_equal(m1.iterations, m0.iterations + 1);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  close_and_drain(loop, (art_handle_t *)&p);
  close(fds[0]);
  close(fds[1]);
}

ART_TEST(loop_close_rules) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_loop_t other;
  art_idle_t i;
  assert_int_equal(art_loop_init(&other), 0);
  /* An open handle, even an inactive one, keeps the loop from closing. */
  assert_int_equal(art_idle_init(&other, &i), 0);
  assert_int_equal(art_loop_close(&other), ART_EBUSY);
  assert_int_equal(art_close((art_handle_t *)&i, NULL), 0);
  /* Closing but not yet closed: still busy. */
  assert_int_equal(art_loop_close(&other), ART_EBUSY);
  assert_int_equal(art_run(&other, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(&other), 0);
  /* Closed: every call refuses it; a second close too. */
  assert_int_equal(art_loop_close(&other), ART_EINVAL);
  assert_int_equal(art_run(&other, ART_RUN_NOWAIT), 0);
  int spins = 0;
  while (art_run(&other, ART_RUN_ONCE) && spins < 10) /* the usual pattern */
    spins++;
  assert_int_equal(spins, 0);
  assert_int_equal(art_loop_alive(&other), 0);
  assert_int_equal(art_backend_fd(&other), ART_EINVAL);
  assert_string_equal(art_backend_name(&other), "none");
  /* The same memory makes a new loop. */
  assert_int_equal(art_loop_init(&other), 0);
  assert_int_equal(art_run(&other, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(&other), 0);
  (void)loop;
}

static void exec_never_cb(art_exec_t *req, int status) {
  fail_msg("art_exec on a closed loop ran its callback");
}

/* Every handle init (and art_spawn, art_exec) given a loop that was
 * closed: ART_EINVAL, not a crash in the backend the loop no longer has. */
ART_TEST(init_on_closed_loop_is_einval) {
  (void)state;
  art_loop_t l;
  union {
    art_timer_t timer;
    art_idle_t idle;
    art_prepare_t prepare;
    art_check_t check;
    art_poll_t poll;
    art_async_t async;
    art_signal_t signal;
    art_tcp_t tcp;
    art_pipe_t pipe;
    art_tty_t tty;
    art_udp_t udp;
    art_fs_event_t fs_event;
    art_fs_poll_t fs_poll;
    art_process_t process;
  } h;
  static art_exec_t ex;
  char *args[] = {"/bin/true", NULL};
  art_process_options_t o = {.file = "/bin/true", .args = args};
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(art_loop_init(&l), 0);
  assert_int_equal(art_loop_close(&l), 0);
  assert_int_equal(art_timer_init(&l, &h.timer), ART_EINVAL);
  assert_int_equal(art_idle_init(&l, &h.idle), ART_EINVAL);
  assert_int_equal(art_prepare_init(&l, &h.prepare), ART_EINVAL);
  assert_int_equal(art_check_init(&l, &h.check), ART_EINVAL);
  assert_int_equal(art_poll_init(&l, &h.poll, sv[0]), ART_EINVAL);
  assert_int_equal(art_async_init(&l, &h.async, NULL), ART_EINVAL);
  assert_int_equal(art_signal_init(&l, &h.signal), ART_EINVAL);
  assert_int_equal(art_tcp_init(&l, &h.tcp), ART_EINVAL);
  assert_int_equal(art_pipe_init(&l, &h.pipe, 0), ART_EINVAL);
  assert_int_equal(art_tty_init(&l, &h.tty, sv[0], 1), ART_EINVAL);
  assert_int_equal(art_udp_init(&l, &h.udp), ART_EINVAL);
  assert_int_equal(art_fs_event_init(&l, &h.fs_event), ART_EINVAL);
  assert_int_equal(art_fs_poll_init(&l, &h.fs_poll), ART_EINVAL);
  assert_int_equal(art_spawn(&l, &h.process, &o), ART_EINVAL);
  assert_int_equal(art_exec(&l, &ex, "/bin/true", args, NULL, exec_never_cb),
                   ART_EINVAL);
  close(sv[0]);
  close(sv[1]);
}

static int inner_run, inner_close;

static void reentrant_cb(art_timer_t *t) {
  inner_run = art_run(t->loop, ART_RUN_NOWAIT);
  inner_close = art_loop_close(t->loop);
}

ART_TEST(run_or_close_from_callback_refused) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, reentrant_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(inner_run, 0); /* ran nothing */
  assert_int_equal(inner_close, ART_EBUSY);
  close_and_drain(loop, (art_handle_t *)&t);
}

ART_TEST(default_loop_lifecycle) {
  art_loop_t *a = art_default_loop();
  assert_non_null(a);
  assert_ptr_equal(art_default_loop(), a);
  assert_int_equal(art_run(a, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(a), 0);
  /* A later call makes a new, working default loop. */
  art_loop_t *b = art_default_loop();
  assert_non_null(b);
  art_timer_t t;
  fired = 0;
  assert_int_equal(art_timer_init(b, &t), 0);
  assert_int_equal(art_timer_start(&t, count_cb, 0, 0), 0);
  assert_int_equal(art_run(b, ART_RUN_DEFAULT), 0);
  assert_int_equal(fired, 1);
  assert_int_equal(art_loop_close(b), ART_EBUSY);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(b, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(b), 0);
}

/* Lists the fds open now. */
static int list_fds(int *fds, int max) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  struct dirent *e;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL)
    if (e->d_name[0] != '.' && n < max && atoi(e->d_name) != dirfd(d))
      fds[n++] = atoi(e->d_name);
  closedir(d);
  return n;
}

static int contains(const int *fds, int n, int fd) {
  for (int i = 0; i < n; i++)
    if (fds[i] == fd)
      return 1;
  return 0;
}

/* Every fd the loop creates (backend, wakeup) is close-on-exec. */
ART_TEST(loop_fds_are_cloexec) {
  int before[256], after[256], nb, na, created = 0;
  art_loop_t other;
  art_async_t a;
  nb = list_fds(before, 256);
  assert_int_equal(art_loop_init(&other), 0);
  assert_int_equal(art_async_init(&other, &a, NULL), 0);
  assert_int_equal(art_run(&other, ART_RUN_NOWAIT), 1);
  na = list_fds(after, 256);
  for (int i = 0; i < na; i++) {
    if (contains(before, nb, after[i]))
      continue;
    created++;
    assert_true(fcntl(after[i], F_GETFD) & FD_CLOEXEC);
  }
  /* epoll: the epoll fd and the eventfd; io_uring: the ring fd and the
   * eventfd; poll: the eventfd. */
  assert_true(created >= 1);
  if (strcmp(art_backend_name(&other), "poll") != 0) {
    assert_int_equal(created, 2);
    assert_true(fcntl(art_backend_fd(&other), F_GETFD) & FD_CLOEXEC);
  }
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  assert_int_equal(art_run(&other, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(&other), 0);
  (void)state;
}

ART_TEST(backend_name) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  const char *want = getenv("ART_BACKEND");
  if (want != NULL && strcmp(want, "poll") == 0)
    assert_string_equal(art_backend_name(loop), "poll");
  else if (want != NULL && strcmp(want, "io_uring") == 0)
    assert_string_equal(art_backend_name(loop), "io_uring");
  else
    assert_string_equal(art_backend_name(loop), "epoll");
  assert_string_equal(art_backend_name(NULL), "none");
}

static int after_status = 1;

static void slow_work(art_work_t *req) {
  struct timespec ts = {0, 20 * 1000000L};
  nanosleep(&ts, NULL);
}

static void after_work(art_work_t *req, int status) {
  after_status = status;
}

/* A request in flight keeps the loop alive and from closing. */
ART_TEST(request_in_flight_blocks_close) {
  art_loop_t other;
  art_work_t w;
  assert_int_equal(art_loop_init(&other), 0);
  assert_int_equal(art_queue_work(&other, &w, slow_work, after_work), 0);
  assert_int_equal(art_loop_alive(&other), 1);
  assert_int_equal(art_loop_close(&other), ART_EBUSY);
  assert_int_equal(art_run(&other, ART_RUN_DEFAULT), 0);
  assert_int_equal(after_status, 0);
  assert_int_equal(art_loop_alive(&other), 0);
  assert_int_equal(art_loop_close(&other), 0);
  (void)state;
}

static int udp_sent = 1;
static art_phase udp_phase;
static art_loop_t *udp_loop;

static void udp_sent_cb(art_udp_send_t *req, int status) {
  udp_sent = status;
  udp_phase = art_loop_phase(udp_loop);
}

/* A callback waiting in the pending phase makes the poll timeout 0. The
 * core has no public source of pending callbacks; a UDP send completes
 * through that phase. */
ART_TEST(pending_callbacks_make_timeout_zero) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_check_t c;
  art_udp_t u;
  art_udp_send_t req;
  struct sockaddr_in addr;
  char byte = 'x';
  art_buf_t buf = art_buf_init(&byte, 1);
  udp_loop = loop;
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_check_start(&c, (art_check_cb)idle_noop2), 0);
  assert_int_equal(art_udp_init(loop, &u), 0);
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_udp_bind(&u, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_backend_timeout(loop), -1);
  /* To ourselves: the send completes at once, its callback waits. */
  int len = sizeof(addr);
  assert_int_equal(art_udp_getsockname(&u, (struct sockaddr *)&addr, &len), 0);
  assert_int_equal(
      art_udp_send(&req, &u, &buf, 1, (struct sockaddr *)&addr, udp_sent_cb),
      0);
  assert_int_equal(udp_sent, 1);
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1);
  assert_int_equal(udp_sent, 0);
  assert_int_equal(udp_phase, ART_PHASE_PENDING);
  assert_int_equal(art_backend_timeout(loop), -1);
  assert_int_equal(art_close((art_handle_t *)&u, NULL), 0);
  close_and_drain(loop, (art_handle_t *)&c);
}

/* A loop that never blocks (an idle handle is active, so every poll has a
 * zero timeout) still receives cross-thread wakeups. The poll phase skips
 * its zero-timeout backend wait when the only watched fd is the wakeup
 * eventfd and no wakeup is outstanding (src/loop.c); these tests prove that
 * the skip never loses an async send or a finished work item, and that a
 * real fd still gets polled. */

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
  assert_int_equal(art_idle_start(&idle, idle_noop), 0);
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

static void count_work_done(art_work_t *req, int status) {
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
  assert_int_equal(art_idle_start(&idle, idle_noop), 0);
  assert_int_equal(art_queue_work(loop, &req, slow_work, count_work_done), 0);
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
  assert_int_equal(art_idle_start(&idle, idle_noop), 0);
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

static void moved_read_cb(art_poll_t *p, int status, int events) {
  int *reads = p->data;
  char c;
  (void)events;
  assert_int_equal(status, 0);
  assert_int_equal(read(p->io_.fd, &c, 1), 1);
  (*reads)++;
  /* Not while the loop runs: a batch of one backend is being dispatched. */
  assert_int_equal(
      art_loop_configure(p->loop, ART_LOOP_BACKEND, ART_BACKEND_EPOLL),
      ART_EBUSY);
}

/* ART_LOOP_BACKEND moves a running loop, and the fd it watches, from
 * backend to backend; the fd keeps being reported on each. */
ART_TEST(backend_option_moves_watched_fds) {
  static const struct {
    long kind;
    const char *name;
  } to[] = {{ART_BACKEND_IO_URING, "io_uring"},
            {ART_BACKEND_POLL, "poll"},
            {ART_BACKEND_EPOLL, "epoll"},
            {ART_BACKEND_IO_URING, "io_uring"},
            {ART_BACKEND_DEFAULT, NULL}};
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  int reads = 0, fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  p.data = &reads;
  assert_int_equal(art_poll_start(&p, ART_READABLE, moved_read_cb), 0);
  art_run(loop, ART_RUN_NOWAIT); /* registered with the first backend */
  for (int i = 0; i < (int)ART_ARRAY_SIZE(to); i++) {
    assert_int_equal(art_loop_configure(loop, ART_LOOP_BACKEND, to[i].kind), 0);
    const char *name = art_backend_name(loop);
    if (to[i].name == NULL) /* default: what ART_BACKEND says */
      assert_true(strcmp(name, "poll") == 0 || strcmp(name, "epoll") == 0 ||
                  strcmp(name, "io_uring") == 0);
    else if (strcmp(to[i].name, "io_uring") == 0)
      assert_true(strcmp(name, "io_uring") == 0 || strcmp(name, "epoll") == 0);
    else
      assert_string_equal(name, to[i].name);
    if (strcmp(name, "poll") == 0)
      assert_int_equal(art_backend_fd(loop), ART_ENOTSUP);
    else
      assert_true(fcntl(art_backend_fd(loop), F_GETFD) & FD_CLOEXEC);
    assert_int_equal(write(fds[1], "x", 1), 1);
    for (int k = 0; k < 3 && reads == i; k++)
      art_run(loop, ART_RUN_NOWAIT);
    assert_int_equal(reads, i + 1);
  }
  assert_int_equal(art_loop_configure(loop, ART_LOOP_BACKEND, 99), ART_EINVAL);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(fds[0]);
  close(fds[1]);
}
