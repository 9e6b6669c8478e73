/* art_poll_t on pipes and socketpairs: readiness, mask changes, stop,
 * closed fds, an fd watched twice, regular files per backend. */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"

typedef struct {
  int calls;
  int status;
  int events; /* of the last call */
  int all;    /* every event seen */
  int stop;   /* stop the handle in the callback */
} seen_t;

static void seen_cb(art_poll_t *p, int status, int events) {
  seen_t *s = p->data;
  s->calls++;
  s->status = status;
  s->events = events;
  s->all |= events;
  if (s->stop)
    assert_int_equal(art_poll_stop(p), 0);
}

static int called(void *arg) {
  return ((seen_t *)arg)->calls > 0;
}

static void close_and_drain(art_loop_t *loop, art_poll_t *p) {
  assert_int_equal(art_close((art_handle_t *)p, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* Closes both ends of a pipe or socketpair. */
static void close_pair(int fds[2]) {
  close(fds[0]);
  close(fds[1]);
}

/* Closes p and its fds (after the handle, which watches fds[0]). */
static void close_all(art_loop_t *loop, art_poll_t *p, int fds[2]) {
  close_and_drain(loop, p);
  close_pair(fds);
}

/* A non-blocking, close-on-exec AF_UNIX stream socketpair. */
static void make_socketpair(int sv[2]) {
  assert_int_equal(
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
      0);
}

/* Inits p on fd with s as its data and starts it for events. */
static void watch(art_loop_t *loop, art_poll_t *p, int fd, seen_t *s,
                  int events) {
  assert_int_equal(art_poll_init(loop, p, fd), 0);
  p->data = s;
  assert_int_equal(art_poll_start(p, events, seen_cb), 0);
}

ART_TEST(readable_pipe) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {.stop = 1};
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  watch(loop, &p, fds[0], &s, ART_READABLE);
  assert_int_equal(art_is_active((art_handle_t *)&p), 1);
  /* Nothing to read yet: a non-blocking iteration reports nothing. */
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_true(art_test_run_until(loop, 5000, called, &s));
  assert_int_equal(s.status, 0);
  assert_int_equal(s.events, ART_READABLE);
  assert_int_equal(art_is_active((art_handle_t *)&p), 0);
  close_all(loop, &p, fds);
}

ART_TEST(writable_socketpair) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {.stop = 1};
  int sv[2];
  make_socketpair(sv);
  watch(loop, &p, sv[0], &s, ART_WRITABLE);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.status, 0);
  assert_int_equal(s.events, ART_WRITABLE);
  close_all(loop, &p, sv);
}

/* Readable data waits, but only WRITABLE is wanted after the change: the
 * callback never sees READABLE. Then the mask changes back. */
ART_TEST(mask_change) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {0};
  int sv[2];
  make_socketpair(sv);
  assert_int_equal(write(sv[1], "x", 1), 1);
  watch(loop, &p, sv[0], &s, ART_READABLE | ART_WRITABLE);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.events, ART_READABLE | ART_WRITABLE);
  assert_int_equal(art_poll_start(&p, ART_WRITABLE, seen_cb), 0);
  s = (seen_t){0};
  for (int i = 0; i < 3; i++)
    art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 3);
  assert_int_equal(s.all, ART_WRITABLE);
  assert_int_equal(art_poll_start(&p, ART_READABLE, seen_cb), 0);
  s = (seen_t){0};
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.all, ART_READABLE);
  /* Events 0 stops the handle; unknown bits are refused. */
  assert_int_equal(art_poll_start(&p, 0, seen_cb), 0);
  assert_int_equal(art_is_active((art_handle_t *)&p), 0);
  assert_int_equal(art_poll_start(&p, 64, seen_cb), ART_EINVAL);
  close_all(loop, &p, sv);
}

ART_TEST(stop_delivers_nothing) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {0};
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  watch(loop, &p, fds[0], &s, ART_READABLE);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 1);
  assert_int_equal(art_poll_stop(&p), 0);
  assert_int_equal(art_poll_stop(&p), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  for (int i = 0; i < 3; i++)
    art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 1);
  /* And starting again delivers again. */
  assert_int_equal(art_poll_start(&p, ART_READABLE, seen_cb), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 2);
  close_all(loop, &p, fds);
}

ART_TEST(disconnect) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {.stop = 1};
  int sv[2];
  make_socketpair(sv);
  watch(loop, &p, sv[0], &s, ART_DISCONNECT);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 0);
  assert_int_equal(shutdown(sv[1], SHUT_WR), 0);
  assert_true(art_test_run_until(loop, 5000, called, &s));
  assert_int_equal(s.status, 0);
  assert_true(s.events & ART_DISCONNECT);
  close_all(loop, &p, sv);
}

ART_TEST(bad_fds) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  int fds[2];
  assert_int_equal(art_poll_init(loop, &p, -1), ART_EBADF);
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  close_pair(fds);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), ART_EBADF);
  assert_int_equal(art_poll_init(NULL, &p, 0), ART_EINVAL);
  assert_int_equal(art_poll_init(loop, NULL, 0), ART_EINVAL);
  assert_int_equal(art_poll_start(NULL, ART_READABLE, seen_cb), ART_EINVAL);
  assert_int_equal(art_poll_stop(NULL), ART_EINVAL);
}

/* The fd is closed while watched, then the mask changes: the backend
 * refuses it and the callback gets ART_EBADF once, and the handle stops. */
ART_TEST(fd_closed_under_watcher_reports_ebadf) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {0};
  int sv[2];
  make_socketpair(sv);
  watch(loop, &p, sv[0], &s, ART_READABLE);
  art_run(loop, ART_RUN_NOWAIT); /* registered with the backend */
  assert_int_equal(s.calls, 0);
  close(sv[0]);
  assert_int_equal(art_poll_start(&p, ART_READABLE | ART_WRITABLE, seen_cb), 0);
  assert_true(art_test_run_until(loop, 5000, called, &s));
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.status, ART_EBADF);
  assert_int_equal(art_is_active((art_handle_t *)&p), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 1);
  close_and_drain(loop, &p);
  close(sv[1]);
}

ART_TEST(fd_watched_twice_is_eexist) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t a, b, c;
  seen_t s = {0};
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(art_poll_init(loop, &a, fds[0]), 0);
  a.data = &s;
  assert_int_equal(art_poll_init(loop, &b, fds[0]), 0); /* a not started */
  b.data = &s;
  assert_int_equal(art_poll_start(&a, ART_READABLE, seen_cb), 0);
  assert_int_equal(art_poll_init(loop, &c, fds[0]), ART_EEXIST);
  assert_int_equal(art_poll_start(&b, ART_READABLE, seen_cb), ART_EEXIST);
  assert_int_equal(art_is_active((art_handle_t *)&b), 0);
  /* Once a lets go, b may take the fd. */
  assert_int_equal(art_poll_stop(&a), 0);
  assert_int_equal(art_poll_start(&b, ART_READABLE, seen_cb), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 1);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  close_all(loop, &b, fds);
}

/* epoll cannot watch regular files; poll(2) can, and they are always
 * ready. */
ART_TEST(regular_file_per_backend) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {.stop = 1};
  FILE *f = tmpfile();
  assert_non_null(f);
  int fd = fileno(f);
  if (strcmp(art_backend_name(loop), "epoll") == 0) {
    assert_int_equal(art_poll_init(loop, &p, fd), ART_EPERM);
  } else {
    /* poll(2) and io_uring's poll requests take every kind of fd. */
    assert_true(strcmp(art_backend_name(loop), "poll") == 0 ||
                strcmp(art_backend_name(loop), "io_uring") == 0);
    watch(loop, &p, fd, &s, ART_READABLE);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.events, ART_READABLE);
    close_and_drain(loop, &p);
  }
  fclose(f);
}

/* Two fds ready in the same batch; whichever callback runs first closes
 * the other handle (and its fd, reusing the number for a new pipe): the
 * other callback must not run. */
static art_poll_t pair[2];
static int pair_fds[2][2];
static int pair_calls;

static void pair_cb(art_poll_t *p, int status, int events) {
  int me = p == &pair[0] ? 0 : 1, other = 1 - me;
  pair_calls++;
  if (pair_calls > 1)
    return;
  assert_int_equal(art_close((art_handle_t *)&pair[other], NULL), 0);
  close_pair(pair_fds[other]);
  assert_int_equal(pipe2(pair_fds[other], O_CLOEXEC), 0);
  assert_int_equal(art_poll_stop(p), 0);
}

ART_TEST(close_other_fd_in_same_batch) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pair_calls = 0;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(pipe2(pair_fds[i], O_CLOEXEC), 0);
    assert_int_equal(write(pair_fds[i][1], "x", 1), 1);
    assert_int_equal(art_poll_init(loop, &pair[i], pair_fds[i][0]), 0);
    assert_int_equal(art_poll_start(&pair[i], ART_READABLE, pair_cb), 0);
  }
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(pair_calls, 1);
  int survivor = art_is_closing((art_handle_t *)&pair[0]) ? 1 : 0;
  assert_int_equal(art_close((art_handle_t *)&pair[survivor], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(pair_calls, 1);
  for (int i = 0; i < 2; i++) {
    close_pair(pair_fds[i]);
  }
}

#define MANY 200

static int many_calls;

static void many_cb(art_poll_t *p, int status, int events) {
  assert_int_equal(status, 0);
  assert_int_equal(events, ART_WRITABLE);
  many_calls++;
  art_poll_stop(p);
}

ART_TEST(many_fds) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static art_poll_t p[MANY];
  static int sv[MANY][2];
  many_calls = 0;
  for (int i = 0; i < MANY; i++) {
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]),
                     0);
    assert_int_equal(art_poll_init(loop, &p[i], sv[i][0]), 0);
    assert_int_equal(art_poll_start(&p[i], ART_WRITABLE, many_cb), 0);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(many_calls, MANY);
  for (int i = 0; i < MANY; i++)
    assert_int_equal(art_close((art_handle_t *)&p[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < MANY; i++) {
    close_pair(sv[i]);
  }
}

ART_TEST(start_after_close_is_einval) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, seen_cb), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_poll_start(&p, ART_READABLE, seen_cb), ART_EINVAL);
  /* The fd is the caller's: closing the handle left it open. */
  assert_int_not_equal(fcntl(fds[0], F_GETFD), -1);
  close_pair(fds);
}

/* The writer went away: a READABLE watcher hears of it (read gives EOF),
 * with status 0, not an error. */
ART_TEST(hangup_is_readable) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {.stop = 1};
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  watch(loop, &p, fds[0], &s, ART_READABLE);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(s.calls, 0);
  close(fds[1]);
  assert_true(art_test_run_until(loop, 5000, called, &s));
  assert_int_equal(s.status, 0);
  assert_true(s.events & ART_READABLE);
  char b;
  assert_int_equal(read(fds[0], &b, 1), 0);
  close_and_drain(loop, &p);
  close(fds[0]);
}

/* The fd is closed behind a watcher that changes nothing. poll(2) reports
 * POLLNVAL, which reaches the callback as ART_EBADF, once, and stops the
 * handle. epoll silently forgets a closed fd, so there is nothing to
 * report; the loop must simply go on. */
ART_TEST(fd_closed_without_mask_change) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_poll_t p;
  seen_t s = {0};
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  watch(loop, &p, fds[0], &s, ART_READABLE);
  art_run(loop, ART_RUN_NOWAIT);
  close(fds[0]);
  for (int i = 0; i < 3; i++)
    art_run(loop, ART_RUN_NOWAIT);
  if (strcmp(art_backend_name(loop), "poll") == 0) {
    assert_int_equal(s.calls, 1);
    assert_int_equal(s.status, ART_EBADF);
    assert_int_equal(art_is_active((art_handle_t *)&p), 0);
  } else {
    assert_int_equal(s.calls, 0);
  }
  close_and_drain(loop, &p);
  close(fds[1]);
}
