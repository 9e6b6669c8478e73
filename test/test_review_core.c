/* Typed functions given a handle of another type: each one must refuse it
 * (ART_EINVAL, or the neutral value of a getter) without reading or
 * writing past the end of the handle it was given. The handles are
 * allocated at their exact size so that the sanitizer build catches an
 * access beyond them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"

static void free_cb(art_handle_t *h) {
  free(h);
}

/* An idle handle in a block of exactly its size. */
static art_idle_t *new_idle(art_loop_t *loop) {
  art_idle_t *h = malloc(sizeof(*h));
  assert_non_null(h);
  assert_int_equal(art_idle_init(loop, h), 0);
  return h;
}

static void fs_poll_cb(art_fs_poll_t *h, int status, const art_stat_t *prev,
                       const art_stat_t *curr) {
  (void)h;
  (void)status;
  (void)prev;
  (void)curr;
}

static void close_and_run(art_loop_t *loop, art_handle_t *h) {
  assert_int_equal(art_close(h, free_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(async_send_wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  assert_int_equal(art_async_send((art_async_t *)idle), ART_EINVAL);
  close_and_run(loop, (art_handle_t *)idle);
}

ART_TEST(fs_poll_wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  art_fs_poll_t *fp = (art_fs_poll_t *)idle;
  char buf[64];
  size_t size = sizeof(buf);
  assert_int_equal(art_fs_poll_start(fp, fs_poll_cb, "/", 1000), ART_EINVAL);
  assert_int_equal(art_fs_poll_stop(fp), ART_EINVAL);
  assert_int_equal(art_fs_poll_getpath(fp, buf, &size), ART_EINVAL);
  close_and_run(loop, (art_handle_t *)idle);
}

ART_TEST(timer_getters_wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  art_timer_t *t = (art_timer_t *)idle;
  art_timer_set_repeat(t, 5);
  assert_int_equal(art_timer_get_repeat(t), 0);
  assert_int_equal(art_timer_get_due_in(t), 0);
  close_and_run(loop, (art_handle_t *)idle);
}

ART_TEST(stream_and_process_getters_wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  assert_int_equal(art_stream_write_queue_size((art_stream_t *)idle), 0);
  assert_int_equal(art_process_get_pid((art_process_t *)idle), 0);
  assert_int_equal(art_udp_get_send_queue_size((art_udp_t *)idle), 0);
  assert_int_equal(art_udp_get_send_queue_count((art_udp_t *)idle), 0);
  close_and_run(loop, (art_handle_t *)idle);
}

/* art_loop_init with each of its allocations failing in turn: a failed
 * init leaves no fd open, and the one that succeeds closes cleanly. */
ART_TEST(loop_init_allocation_failures) {
  (void)state;
  for (long n = 0; n < 32; n++) {
    art_loop_t l;
    int before = art_test_fd_count();
    art_test_fail_alloc_after(n);
    int err = art_loop_init(&l);
    int failed = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    if (err != 0) {
      assert_int_equal(err, ART_ENOMEM);
      assert_int_equal(art_test_fd_count(), before);
      continue;
    }
    assert_int_equal(art_loop_close(&l), 0);
    assert_int_equal(art_test_fd_count(), before);
    if (!failed)
      return;
  }
  fail_msg("art_loop_init never succeeded");
}

static void signal_cb(art_signal_t *h, int signum) {
  (void)h;
  (void)signum;
}

/* The first art_signal_start of a loop makes its pipe: with each
 * allocation failing in turn, a failed start leaves no fd open. */
ART_TEST(signal_start_allocation_failures) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  for (long n = 0; n < 32; n++) {
    art_loop_t l;
    art_signal_t h;
    assert_int_equal(art_loop_init(&l), 0);
    int before = art_test_fd_count();
    assert_int_equal(art_signal_init(&l, &h), 0);
    art_test_fail_alloc_after(n);
    int err = art_signal_start(&h, signal_cb, SIGUSR2);
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

static int closed_count;

static void count_close(art_handle_t *h) {
  (void)h;
  closed_count++;
}

static int udp_bound(art_loop_t *loop, art_udp_t *u) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(art_udp_init(loop, u), 0);
  return art_udp_bind(u, (const struct sockaddr *)&a, 0);
}

/* Every stop function, given a handle whose close callback has run, says
 * ART_EINVAL (DESIGN.md: a handle used after close), as art_signal_stop,
 * art_fs_event_stop and art_read_stop already did. */
ART_TEST(stop_after_close_is_einval) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_idle_t i;
  art_prepare_t p;
  art_check_t c;
  art_poll_t pw;
  art_udp_t u;
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_idle_init(loop, &i), 0);
  assert_int_equal(art_prepare_init(loop, &p), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_poll_init(loop, &pw, sv[0]), 0);
  assert_int_equal(udp_bound(loop, &u), 0);
  art_handle_t *all[] = {(art_handle_t *)&t,  (art_handle_t *)&i,
                         (art_handle_t *)&p,  (art_handle_t *)&c,
                         (art_handle_t *)&pw, (art_handle_t *)&u};
  closed_count = 0;
  for (size_t k = 0; k < ART_ARRAY_SIZE(all); k++)
    assert_int_equal(art_close(all[k], count_close), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(closed_count, (int)ART_ARRAY_SIZE(all));
  assert_int_equal(art_timer_stop(&t), ART_EINVAL);
  assert_int_equal(art_idle_stop(&i), ART_EINVAL);
  assert_int_equal(art_prepare_stop(&p), ART_EINVAL);
  assert_int_equal(art_check_stop(&c), ART_EINVAL);
  assert_int_equal(art_poll_stop(&pw), ART_EINVAL);
  assert_int_equal(art_udp_recv_stop(&u), ART_EINVAL);
  close(sv[0]);
  close(sv[1]);
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
  assert_int_equal(art_exec(&l, &ex, "/bin/true", args, NULL,
                            (art_exec_cb)(void (*)(void))free_cb),
                   ART_EINVAL);
  close(sv[0]);
  close(sv[1]);
}

static void task_cb(art_loop_t *loop, void *arg) {
  (void)loop;
  (void)arg;
}

/* Ticks and microtasks queued on a closed loop: ART_EINVAL, not a ring
 * allocated again after the loop freed it (and never freed). */
ART_TEST(microtask_on_closed_loop_is_einval) {
  (void)state;
  art_loop_t l;
  assert_int_equal(art_loop_init(&l), 0);
  assert_int_equal(art_loop_close(&l), 0);
  assert_int_equal(art_next_tick(&l, task_cb, NULL), ART_EINVAL);
  assert_int_equal(art_queue_microtask(&l, task_cb, NULL), ART_EINVAL);
}
