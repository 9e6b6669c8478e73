/* The loop embedded in another: a host's main loop drives libasyncrt
 * through art_backend_fd and art_backend_timeout, here a plain poll(2),
 * running ART_RUN_NOWAIT when the fd is readable or the timeout expires.
 * The rest of the loop's behaviour is in test_loop.c. */
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "helpers/harness.h"

typedef struct {
  int timer_fired;
  int fd_events;
  int async_fired;
  int wfd; /* the timer writes here, so the fd event follows the timer */
} embed_t;

static void embed_timer_cb(art_timer_t *t) {
  embed_t *e = t->data;
  e->timer_fired++;
  assert_int_equal(write(e->wfd, "x", 1), 1);
}

static void embed_poll_cb(art_poll_t *p, int status, int events) {
  embed_t *e = p->data;
  char b;
  assert_int_equal(status, 0);
  assert_int_equal(read(p->io_.fd, &b, 1), 1);
  e->fd_events++;
}

static void embed_async_cb(art_async_t *a) {
  ((embed_t *)a->data)->async_fired++;
}

/* One turn of the host's main loop: wait on the backend fd (or only sleep
 * when the backend has none) for at most the loop's timeout, then let the
 * loop run without blocking. The cap only bounds a broken run. */
static void host_turn(art_loop_t *loop) {
  int timeout = art_backend_timeout(loop);
  int fd = art_backend_fd(loop);
  if (timeout < 0)
    timeout = 1000;
  if (fd >= 0) {
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    poll(&pfd, 1, timeout);
  } else {
    poll(NULL, 0, timeout > 10 ? 10 : timeout);
  }
  art_run(loop, ART_RUN_NOWAIT);
}

static int all_done(embed_t *e) {
  return e->timer_fired == 1 && e->fd_events >= 2 && e->async_fired == 1;
}

ART_TEST(driven_from_plain_poll) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_poll_t p;
  art_async_t a;
  embed_t e = {0};
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  e.wfd = fds[1];
  if (strcmp(art_backend_name(loop), "poll") == 0) {
    assert_int_equal(art_backend_fd(loop), ART_ENOTSUP);
  } else {
    int fd = art_backend_fd(loop);
    assert_true(fd >= 0);
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  }
  /* Watchers set up before the loop ever ran: data is already waiting. */
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  p.data = &e;
  assert_int_equal(art_poll_start(&p, ART_READABLE, embed_poll_cb), 0);
  /* The backend does not know the fd yet, so the host must not sleep. */
  assert_int_equal(art_backend_timeout(loop), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = &e;
  assert_int_equal(art_timer_start(&t, embed_timer_cb, 30, 0), 0);
  assert_int_equal(art_async_init(loop, &a, embed_async_cb), 0);
  a.data = &e;
  uint64_t deadline = art_hrtime() + 10ull * 1000000000ull;
  for (int turn = 0; !all_done(&e) && art_hrtime() < deadline; turn++) {
    if (turn == 3)
      assert_int_equal(art_async_send(&a), 0); /* wakes the backend fd */
    host_turn(loop);
  }
  assert_int_equal(e.timer_fired, 1);
  assert_int_equal(e.fd_events, 2);
  assert_int_equal(e.async_fired, 1);
  /* Only the fd is left: now the host may block on it. */
  assert_int_equal(art_backend_timeout(loop), -1);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(fds[0]);
  close(fds[1]);
}

/* The backend fd is readable exactly when the loop has I/O to process. */
ART_TEST(backend_fd_readable_only_with_io) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  embed_t e = {0};
  int fds[2];
  int fd = art_backend_fd(loop);
  if (fd == ART_ENOTSUP) {
    assert_string_equal(art_backend_name(loop), "poll");
    return;
  }
  assert_int_equal(art_backend_fd(NULL), ART_EINVAL);
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  p.data = &e;
  assert_int_equal(art_poll_start(&p, ART_READABLE, embed_poll_cb), 0);
  art_run(loop, ART_RUN_NOWAIT);
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 0), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_int_equal(poll(&pfd, 1, 5000), 1);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(e.fd_events, 1);
  assert_int_equal(poll(&pfd, 1, 0), 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(fds[0]);
  close(fds[1]);
}

/* A send made while the loop runs costs the sender no eventfd write (the
 * loop looks at its queues before it blocks). One made after the loop's
 * last look, from a check callback that then stops the loop, must still
 * leave the backend fd readable when art_run returns, or a host waiting on
 * it would sleep through the send. */
static art_async_t late_async;

static void nothing_idle_cb(art_idle_t *i) {
  (void)i;
}

static void send_and_stop_cb(art_check_t *c) {
  assert_int_equal(art_async_send(&late_async), 0);
  art_check_stop(c);
  art_stop(c->loop);
}

ART_TEST(send_after_last_look_wakes_backend_fd) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_check_t c;
  art_idle_t idle; /* so that the poll phase does not block */
  embed_t e = {0};
  int fd = art_backend_fd(loop);
  if (fd == ART_ENOTSUP) {
    assert_string_equal(art_backend_name(loop), "poll");
    return;
  }
  assert_int_equal(art_async_init(loop, &late_async, embed_async_cb), 0);
  late_async.data = &e;
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_check_start(&c, send_and_stop_cb), 0);
  assert_int_equal(art_idle_init(loop, &idle), 0);
  assert_int_equal(art_idle_start(&idle, nothing_idle_cb), 0);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(art_close((art_handle_t *)&idle, NULL), 0);
  assert_int_equal(e.async_fired, 0);
  struct pollfd pfd = {.fd = fd, .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 0), 1);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(e.async_fired, 1);
  assert_int_equal(poll(&pfd, 1, 0), 0); /* the eventfd was read */
  assert_int_equal(art_close((art_handle_t *)&c, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&late_async, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}
