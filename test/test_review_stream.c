/* Stream lifetimes: a pipeline whose destination is closed while nothing
 * is in flight ends at once, and never touches the closed stream again. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"

static int done_calls, done_status;

static void done_cb(art_stream_pipe_t *p, int status) {
  (void)p;
  done_calls++;
  done_status = status;
}

static int done_flag(void *arg) {
  (void)arg;
  return done_calls > 0;
}

static int freed;

static void free_cb(art_handle_t *h) {
  freed++;
  free(h);
}

static int freed_flag(void *arg) {
  (void)arg;
  return freed > 0;
}

/* A pipe handle on one end of a new socketpair; *peer gets the other. */
static art_pipe_t *open_pipe(art_loop_t *loop, int *peer) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  art_pipe_t *p = malloc(sizeof(*p));
  assert_non_null(p);
  assert_int_equal(art_pipe_init(loop, p, 0), 0);
  assert_int_equal(art_pipe_open(p, sv[0]), 0);
  *peer = sv[1];
  return p;
}

/* dst is closed (and freed) while the pipeline waits for src: the
 * pipeline ends with ART_ECANCELED and stops reading src, and data that
 * reaches src afterwards is not written to the freed dst. */
ART_TEST(stream_pipe_dst_closed_while_idle) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int src_peer, dst_peer;
  art_pipe_t *src = open_pipe(loop, &src_peer);
  art_pipe_t *dst = open_pipe(loop, &dst_peer);
  art_stream_pipe_t pl;
  done_calls = 0;
  assert_int_equal(art_stream_pipe(&pl, (art_stream_t *)src,
                                   (art_stream_t *)dst, NULL, done_cb),
                   0);
  art_run(loop, ART_RUN_NOWAIT);
  freed = 0;
  assert_int_equal(art_close((art_handle_t *)dst, free_cb), 0);
  assert_true(art_test_run_until(loop, 2000, freed_flag, NULL));
  assert_int_equal(write(src_peer, "late", 4), 4);
  assert_true(art_test_run_until(loop, 2000, done_flag, NULL));
  assert_int_equal(done_calls, 1);
  assert_int_equal(done_status, ART_ECANCELED);
  assert_false(art_is_active((art_handle_t *)src));
  assert_int_equal(art_close((art_handle_t *)src, free_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(done_calls, 1);
  close(src_peer);
  close(dst_peer);
}

static int freed_pipeline_status = 1;

static void free_pipeline_cb(art_stream_pipe_t *p, int status) {
  freed_pipeline_status = status;
  free(p);
}

/* Two pipelines write to one dst. The first ends (src at EOF, no_end) and
 * is freed by its callback; closing dst then ends only the second, without
 * touching the first. */
ART_TEST(stream_pipe_two_into_one_dst) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer1, peer2, dst_peer;
  art_pipe_t *src1 = open_pipe(loop, &peer1);
  art_pipe_t *src2 = open_pipe(loop, &peer2);
  art_pipe_t *dst = open_pipe(loop, &dst_peer);
  art_stream_pipe_opts_t opts = {.no_end = 1};
  art_stream_pipe_t *first = malloc(sizeof(*first)), second;
  assert_non_null(first);
  done_calls = 0;
  freed_pipeline_status = 1;
  assert_int_equal(art_stream_pipe(first, (art_stream_t *)src1,
                                   (art_stream_t *)dst, &opts,
                                   free_pipeline_cb),
                   0);
  assert_int_equal(art_stream_pipe(&second, (art_stream_t *)src2,
                                   (art_stream_t *)dst, &opts, done_cb),
                   0);
  close(peer1);
  while (freed_pipeline_status == 1)
    assert_int_equal(art_run(loop, ART_RUN_ONCE), 1);
  assert_int_equal(freed_pipeline_status, 0);
  freed = 0;
  assert_int_equal(art_close((art_handle_t *)dst, free_cb), 0);
  assert_true(art_test_run_until(loop, 2000, done_flag, NULL));
  assert_int_equal(done_status, ART_ECANCELED);
  art_close((art_handle_t *)src1, free_cb);
  art_close((art_handle_t *)src2, free_cb);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(freed, 3);
  close(peer2);
  close(dst_peer);
}

static int write_calls, write_status;

static void write_cb(art_write_t *req, int status) {
  (void)req;
  write_calls++;
  write_status = status;
}

static int write_flag(void *arg) {
  (void)arg;
  return write_calls > 0;
}

/* A write the kernel takes only part of must wait for the fd to become
 * writable; when watching the fd needs memory that cannot be had, the
 * write fails with ART_ENOMEM instead of waiting forever. The fd is put
 * above the loop's fd table so that watching it allocates. */
ART_TEST(write_that_cannot_wait_fails) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int sv[2], sndbuf = 4096;
  static char big[1 << 20];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  int high = fcntl(sv[0], F_DUPFD_CLOEXEC, 500);
  assert_true(high >= 500);
  close(sv[0]);
  assert_int_equal(
      setsockopt(high, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
  art_pipe_t p;
  assert_int_equal(art_pipe_init(loop, &p, 0), 0);
  assert_int_equal(art_pipe_open(&p, high), 0);
  art_write_t w;
  art_buf_t b = art_buf_init(big, sizeof(big));
  write_calls = 0;
  art_test_fail_alloc_after(0);
  int r = art_write(&w, (art_stream_t *)&p, &b, 1, write_cb);
  art_test_fail_alloc_after(-1);
  assert_true(r >= 0);
  assert_true(art_test_run_until(loop, 1000, write_flag, NULL));
  assert_int_equal(write_status, ART_ENOMEM);
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(write_calls, 1);
  close(sv[1]);
}

/* A bind that fails (no such folder) leaves the pipe unbound: a second
 * bind to a good name succeeds, as it does for TCP. */
ART_TEST(pipe_bind_after_failed_bind) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char dir[] = "/tmp/art_review_XXXXXX", bad[64], good[64];
  assert_non_null(mkdtemp(dir));
  snprintf(bad, sizeof(bad), "%s/missing/sock", dir);
  snprintf(good, sizeof(good), "%s/sock", dir);
  art_pipe_t p;
  assert_int_equal(art_pipe_init(loop, &p, 0), 0);
  assert_int_equal(art_pipe_bind(&p, bad), ART_ENOENT);
  assert_int_equal(art_pipe_bind(&p, good), 0);
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  rmdir(dir);
}

static char sink[65536];

static void sink_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = art_buf_init(sink, sizeof(sink));
}

static void sink_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  (void)s;
  (void)n;
  (void)buf;
}

static int ipc_calls, ipc_status;

static void ipc_written(art_write_t *req, int status) {
  (void)req;
  ipc_calls++;
  ipc_status = status;
}

static int ipc_flag(void *arg) {
  (void)arg;
  return ipc_calls > 0;
}

/* A handle passed with art_write2 and closed (its memory kept until the
 * write's callback) while the write waits in the queue: the write fails
 * with ART_EBADF instead of sending its bytes with no handle, which the
 * peer would take for a plain message. */
ART_TEST(write2_with_handle_closed_while_queued) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int sv[2], other[2], sndbuf = 4096;
  static char big[1 << 20];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(
      setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
  art_pipe_t a, b;
  art_pipe_t *passed = open_pipe(loop, &other[1]);
  assert_int_equal(art_pipe_init(loop, &a, 1), 0);
  assert_int_equal(art_pipe_open(&a, sv[0]), 0);
  assert_int_equal(art_pipe_init(loop, &b, 1), 0);
  assert_int_equal(art_pipe_open(&b, sv[1]), 0);
  art_write_t w1, w2;
  art_buf_t b1 = art_buf_init(big, sizeof(big)), b2 = art_buf_init("x", 1);
  assert_true(art_write(&w1, (art_stream_t *)&a, &b1, 1, NULL) >= 0);
  ipc_calls = 0;
  assert_true(art_write2(&w2, (art_stream_t *)&a, &b2, 1,
                         (art_stream_t *)passed, ipc_written) >= 0);
  art_close((art_handle_t *)passed, NULL);
  assert_int_equal(art_read_start((art_stream_t *)&b, sink_alloc, sink_read),
                   0);
  assert_true(art_test_run_until(loop, 5000, ipc_flag, NULL));
  assert_int_equal(ipc_status, ART_EBADF);
  art_close((art_handle_t *)&a, NULL);
  art_close((art_handle_t *)&b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  free(passed);
  close(other[1]);
}
