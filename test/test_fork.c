/* art_loop_fork: a loop with a listener, an fd watcher, a repeating timer, a
 * signal watcher, a file watcher and pool work in flight is forked, and
 * the child keeps serving with all of them, while the parent's loop is
 * untouched by what the child did (the child closes its loop, which would
 * remove the parent's epoll registrations if the set were still shared).
 *
 * The child cannot use cmocka's asserts (they would report into the
 * parent's run): it checks with CHILD_CHECK and exits with the line of the
 * first failed check, 0 when everything held. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/harness.h"

#define CHILD_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "child: check failed at line %d: %s\n", __LINE__,        \
              #cond);                                                          \
      _exit(__LINE__ % 250 + 1);                                               \
    }                                                                          \
  } while (0)

/* Everything one process (parent or child) saw. */
typedef struct {
  art_loop_t loop;
  art_tcp_t server, client, accepted;
  art_connect_t connect;
  art_write_t write;
  art_poll_t poll;
  art_timer_t timer, guard;
  art_signal_t sig;
  art_fs_event_t watch;
  art_work_t blocked[2], fresh;
  int pipe_fds[2];    /* watched by poll */
  int release_fds[2]; /* the blocked work waits to read from [0] */
  char dir[64];
  int blocked_status[2], blocked_done;
  int fresh_status, fresh_done;
  int polled, ticks, signals, fs_events, echoed;
} world_t;

static world_t w;

static void noop_close(art_handle_t *h) {}

static void close_all(void) {
  art_handle_t *hs[] = {(art_handle_t *)&w.server, (art_handle_t *)&w.client,
                        (art_handle_t *)&w.poll,   (art_handle_t *)&w.timer,
                        (art_handle_t *)&w.guard,  (art_handle_t *)&w.sig,
                        (art_handle_t *)&w.watch,  (art_handle_t *)&w.accepted};
  for (size_t i = 0; i < ART_ARRAY_SIZE(hs); i++) /* loop NULL: never made */
    if (hs[i]->loop != NULL && !art_is_closing(hs[i]))
      art_close(hs[i], noop_close);
}

/* Blocks until the parent writes a byte (the parent's copy of the item);
 * in the child it never runs. */
static void blocked_work(art_work_t *req) {
  char c;
  while (read(w.release_fds[0], &c, 1) == -1)
    ;
}

static void blocked_after(art_work_t *req, int status) {
  w.blocked_status[req == &w.blocked[0] ? 0 : 1] = status;
  w.blocked_done++;
}

static void fresh_work(art_work_t *req) {}

static void fresh_after(art_work_t *req, int status) {
  w.fresh_status = status;
  w.fresh_done = 1;
}

static void on_poll(art_poll_t *p, int status, int events) {
  char c;
  if (read(w.pipe_fds[0], &c, 1) == 1)
    w.polled++;
}

static void on_tick(art_timer_t *t) {
  w.ticks++;
}

static void on_signal(art_signal_t *s, int signum) {
  w.signals++;
}

static void on_fs_event(art_fs_event_t *h, const char *name, int events,
                        int status) {
  w.fs_events++;
}

static void alloc_cb(art_handle_t *h, size_t n, art_buf_t *buf) {
  static char bytes[16];
  *buf = art_buf_init(bytes, sizeof(bytes));
}

/* The child's client reads the server's echo of "x". */
static void client_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n == 1 && buf->base[0] == 'x')
    w.echoed = 1;
}

static void server_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0) {
    art_buf_t b = art_buf_init(buf->base, (size_t)n);
    art_write(&w.write, s, &b, 1, NULL);
  }
}

static void on_connection(art_stream_t *server, int status) {
  art_tcp_init(&w.loop, &w.accepted);
  if (art_accept(server, (art_stream_t *)&w.accepted) == 0)
    art_read_start((art_stream_t *)&w.accepted, alloc_cb, server_read);
}

static void on_connect(art_connect_t *req, int status) {
  static char x[] = "x";
  static art_write_t wr;
  if (status != 0)
    return;
  art_buf_t b = art_buf_init(x, 1);
  art_write(&wr, req->handle, &b, 1, NULL);
  art_read_start(req->handle, alloc_cb, client_read);
}

/* The child stops once it has seen everything, or the guard fires. */
static int child_done(void) {
  return w.polled >= 1 && w.ticks >= 2 && w.signals == 1 && w.fs_events >= 1 &&
         w.echoed && w.fresh_done && w.blocked_done == 2;
}

static void child_guard(art_timer_t *t) {
  close_all();
}

static void child_check(art_check_t *c) {
  if (child_done() && !art_is_closing((art_handle_t *)&w.server)) {
    close_all();
    art_close((art_handle_t *)c, noop_close);
  }
}

static void run_child(void) {
  CHILD_CHECK(art_loop_fork(&w.loop) == 0);
  /* Served in the child: a new connection, a byte on the pipe, a signal,
   * a file created, fresh pool work; the timer keeps ticking. */
  struct sockaddr_in addr;
  int len = sizeof(addr);
  CHILD_CHECK(art_tcp_getsockname(&w.server, (struct sockaddr *)&addr, &len) ==
              0);
  CHILD_CHECK(art_tcp_init(&w.loop, &w.client) == 0);
  CHILD_CHECK(art_tcp_connect(&w.connect, &w.client, (struct sockaddr *)&addr,
                              on_connect) == 0);
  CHILD_CHECK(write(w.pipe_fds[1], "p", 1) == 1);
  CHILD_CHECK(raise(SIGUSR1) == 0);
  char file[96];
  snprintf(file, sizeof(file), "%s/child", w.dir);
  int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  CHILD_CHECK(fd >= 0);
  close(fd);
  CHILD_CHECK(art_queue_work(&w.loop, &w.fresh, fresh_work, fresh_after) == 0);
  art_check_t check;
  CHILD_CHECK(art_check_init(&w.loop, &check) == 0);
  CHILD_CHECK(art_check_start(&check, child_check) == 0);
  CHILD_CHECK(art_timer_start(&w.guard, child_guard, 10000, 0) == 0);
  art_run(&w.loop, ART_RUN_DEFAULT);
  CHILD_CHECK(child_done());
  /* Queued and running at the fork, the parent's items never run here. */
  CHILD_CHECK(w.blocked_status[0] == ART_ECANCELED);
  CHILD_CHECK(w.blocked_status[1] == ART_ECANCELED);
  CHILD_CHECK(w.fresh_status == 0);
  CHILD_CHECK(art_loop_close(&w.loop) == 0);
  _exit(0);
}

static void parent_poll_seen(art_timer_t *t) {
  if (w.polled >= 1 && w.blocked_done == 2)
    close_all();
}

ART_TEST(forked_child_keeps_serving_and_parent_is_untouched) {
  memset(&w, 0, sizeof(w));
  art_pool_t *pool;
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_loop_init(&w.loop), 0);
  assert_int_equal(art_loop_set_pool(&w.loop, pool), 0);
  assert_int_equal(pipe2(w.pipe_fds, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(pipe2(w.release_fds, O_CLOEXEC), 0);
  snprintf(w.dir, sizeof(w.dir), "/tmp/art_fork_XXXXXX");
  assert_non_null(mkdtemp(w.dir));

  struct sockaddr_in addr;
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_tcp_init(&w.loop, &w.server), 0);
  assert_int_equal(art_tcp_bind(&w.server, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_listen((art_stream_t *)&w.server, 8, on_connection), 0);
  assert_int_equal(art_poll_init(&w.loop, &w.poll, w.pipe_fds[0]), 0);
  assert_int_equal(art_poll_start(&w.poll, ART_READABLE, on_poll), 0);
  assert_int_equal(art_timer_init(&w.loop, &w.timer), 0);
  assert_int_equal(art_timer_start(&w.timer, on_tick, 5, 5), 0);
  assert_int_equal(art_timer_init(&w.loop, &w.guard), 0);
  assert_int_equal(art_signal_init(&w.loop, &w.sig), 0);
  assert_int_equal(art_signal_start(&w.sig, on_signal, SIGUSR1), 0);
  assert_int_equal(art_fs_event_init(&w.loop, &w.watch), 0);
  assert_int_equal(art_fs_event_start(&w.watch, on_fs_event, w.dir, 0), 0);
  /* One item runs (blocked) on the pool's one thread, one waits. */
  assert_int_equal(
      art_queue_work(&w.loop, &w.blocked[0], blocked_work, blocked_after), 0);
  assert_int_equal(
      art_queue_work(&w.loop, &w.blocked[1], blocked_work, blocked_after), 0);
  art_run(&w.loop, ART_RUN_NOWAIT); /* submits the batch */
  art_pool_stats_t st;
  for (int i = 0; i < 2000; i++) { /* until the first item runs */
    assert_int_equal(art_pool_stats(pool, &st), 0);
    if (st.running == 1)
      break;
    usleep(1000);
  }
  assert_int_equal(st.running, 1);

  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    run_child();

  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);

  /* The parent's loop: the child read its byte from the shared pipe and
   * closed its own loop; a new byte still reaches the parent's watcher,
   * and its two items run once released. No signal reached it. */
  assert_int_equal(write(w.pipe_fds[1], "q", 1), 1);
  assert_int_equal(write(w.release_fds[1], "rr", 2), 2);
  art_timer_t watch;
  assert_int_equal(art_timer_init(&w.loop, &watch), 0);
  assert_int_equal(art_timer_start(&watch, parent_poll_seen, 1, 1), 0);
  art_timer_stop(&w.timer);
  while (!art_is_closing((art_handle_t *)&w.server) &&
         art_run(&w.loop, ART_RUN_ONCE))
    ;
  art_close((art_handle_t *)&watch, NULL);
  art_run(&w.loop, ART_RUN_DEFAULT);
  assert_int_equal(w.polled, 1);
  assert_int_equal(w.blocked_done, 2);
  assert_int_equal(w.blocked_status[0], 0);
  assert_int_equal(w.blocked_status[1], 0);
  assert_int_equal(w.signals, 0);
  assert_int_equal(art_loop_close(&w.loop), 0);
  assert_int_equal(art_pool_close(pool), 0);
  char file[96];
  snprintf(file, sizeof(file), "%s/child", w.dir);
  unlink(file);
  rmdir(w.dir);
  close(w.pipe_fds[0]);
  close(w.pipe_fds[1]);
  close(w.release_fds[0]);
  close(w.release_fds[1]);
}

static void fork_inside(art_timer_t *t) {
  *(int *)t->data = art_loop_fork(t->loop);
}

ART_TEST(fork_bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_loop_t closed;
  assert_int_equal(art_loop_fork(NULL), ART_EINVAL);
  assert_int_equal(art_loop_init(&closed), 0);
  assert_int_equal(art_loop_close(&closed), 0);
  assert_int_equal(art_loop_fork(&closed), ART_EINVAL);
  /* Not from inside art_run. */
  art_timer_t t;
  int got = 1;
  t.data = &got;
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = &got;
  assert_int_equal(art_timer_start(&t, fork_inside, 0, 0), 0);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(got, ART_EINVAL);
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

/* In the parent, art_loop_fork on a loop that was not forked is harmless:
 * the loop keeps working with new kernel objects. */
static void tick_once(art_timer_t *t) {
  (*(int *)t->data)++;
}

ART_TEST(fork_without_fork_keeps_the_loop_working) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  int ticks = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = &ticks;
  assert_int_equal(art_timer_start(&t, tick_once, 1, 0), 0);
  assert_int_equal(art_loop_fork(loop), 0);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(ticks, 1);
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}
