/* The diagnostic report (art_loop_report): the JSON it writes is parsed
 * by python3's json module (test/report_check.py), which checks the
 * handles listed against those the test opened; the listener's fd it
 * reports is checked here with getsockname; and the size query and a
 * short buffer follow the library's buffer rule. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"

static void timer_cb(art_timer_t *t) {}
static void idle_cb(art_idle_t *i) {}
static void check_cb(art_check_t *c) {}
static void on_connection(art_stream_t *s, int status) {}
static void work_cb(art_work_t *w) {}
static void after_cb(art_work_t *w, int status) {}

/* The report of loop, allocated at the size it asks for. Pool threads may
 * finish work between the size query and the write (the pool's counters
 * and histograms then take more digits), so a short buffer is asked again,
 * as docs/observability.md tells programs to. */
static char *report(art_loop_t *loop) {
  for (int tries = 0; tries < 100; tries++) {
    size_t n = 0;
    assert_int_equal(art_loop_report(loop, NULL, &n), ART_ENOBUFS);
    size_t cap = n;
    char *buf = malloc(cap);
    assert_non_null(buf);
    int err = art_loop_report(loop, buf, &n);
    if (err == 0) {
      assert_int_equal(strlen(buf), n);
      return buf;
    }
    assert_int_equal(err, ART_ENOBUFS);
    assert_true(n > cap);
    free(buf);
  }
  fail_msg("the report kept growing");
  return NULL;
}

/* Runs report_check.py on text with args; returns what it printed (the
 * listener's fd) and fails the test if it exits non-zero. */
static int check(const char *text, const char *args) {
  char path[] = "/tmp/art_report_XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  char cmd[512];
  snprintf(cmd, sizeof(cmd), "python3 %s/report_check.py %s %s", ART_TEST_DIR,
           path, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  int out = -2;
  assert_int_equal(fscanf(p, "%d", &out), 1);
  assert_int_equal(pclose(p), 0);
  unlink(path);
  return out;
}

ART_TEST(report_lists_the_handles_opened) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t1, t2;
  art_idle_t idle;
  art_check_t closing;
  art_tcp_t server;
  struct sockaddr_in addr;
  assert_int_equal(art_timer_init(loop, &t1), 0);
  assert_int_equal(art_timer_init(loop, &t2), 0);
  assert_int_equal(art_timer_start(&t1, timer_cb, 10000, 0), 0);
  assert_int_equal(art_idle_init(loop, &idle), 0);
  assert_int_equal(art_idle_start(&idle, idle_cb), 0);
  assert_int_equal(art_check_init(loop, &closing), 0);
  assert_int_equal(art_check_start(&closing, check_cb), 0);
  assert_int_equal(art_tcp_init(loop, &server), 0);
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_tcp_bind(&server, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_listen((art_stream_t *)&server, 8, on_connection), 0);
  assert_int_equal(art_close((art_handle_t *)&closing, NULL), 0);

  char *text = report(loop);
  int fd = check(text, "timer=2 idle=1 tcp=1 check=1 closing=1");
  free(text);

  /* The fd reported is the listener's own socket. */
  struct sockaddr_in want, got;
  int len = sizeof(want);
  socklen_t glen = sizeof(got);
  assert_int_equal(art_tcp_getsockname(&server, (struct sockaddr *)&want, &len),
                   0);
  assert_true(fd >= 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&got, &glen), 0);
  assert_int_equal(got.sin_port, want.sin_port);

  art_close((art_handle_t *)&t1, NULL);
  art_close((art_handle_t *)&t2, NULL);
  art_close((art_handle_t *)&idle, NULL);
  art_close((art_handle_t *)&server, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

ART_TEST(report_shows_the_loops_pool) {
  art_loop_t loop;
  art_pool_t *pool;
  art_work_t w;
  assert_int_equal(art_pool_init(&pool, 2), 0);
  assert_int_equal(art_loop_init(&loop), 0);
  assert_int_equal(art_loop_set_pool(&loop, pool), 0);
  assert_int_equal(art_queue_work(&loop, &w, work_cb, after_cb), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  char *text = report(&loop);
  check(text, "pool_threads=2");
  free(text);
  assert_int_equal(art_loop_close(&loop), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

ART_TEST(report_size_query_and_short_buffer) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  size_t n = 0, need;
  assert_int_equal(art_loop_report(loop, NULL, &n), ART_ENOBUFS);
  need = n;
  assert_true(need > 1);
  char *buf = malloc(need);
  assert_non_null(buf);
  n = need - 1;
  assert_int_equal(art_loop_report(loop, buf, &n), ART_ENOBUFS);
  assert_int_equal(n, need);
  n = need;
  assert_int_equal(art_loop_report(loop, buf, &n), 0);
  assert_int_equal(n, need - 1);
  assert_int_equal(strlen(buf), need - 1);
  n = 5;
  assert_int_equal(art_loop_report(loop, NULL, &n), ART_EINVAL);
  assert_int_equal(art_loop_report(loop, buf, NULL), ART_EINVAL);
  assert_int_equal(art_loop_report(NULL, NULL, &n), ART_EINVAL);
  free(buf);
}

/* Ages are on the loop's clock: under the manual clock a handle opened
 * before an advance of 2.5 s is 2,500 ms old, one opened after it 0. */
ART_TEST(report_gives_each_handle_its_age) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t old, young;
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 1), 0);
  assert_int_equal(art_timer_init(loop, &old), 0);
  assert_int_equal(art_loop_advance(loop, 2500 * 1000000ull), 0);
  assert_int_equal(art_timer_init(loop, &young), 0);
  char *text = report(loop);
  check(text, "age.timer=2500,0");
  free(text);
  art_close((art_handle_t *)&old, NULL);
  art_close((art_handle_t *)&young, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

static void stat_cb(art_fs_t *req) {
  art_fs_req_cleanup(req);
}

/* Requests in flight are counted by type while they are, and no longer
 * once their callbacks ran. */
ART_TEST(report_counts_requests_by_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_work_t w[2];
  art_fs_t fs;
  assert_int_equal(art_queue_work(loop, &w[0], work_cb, after_cb), 0);
  assert_int_equal(art_queue_work(loop, &w[1], work_cb, after_cb), 0);
  assert_int_equal(art_fs_stat(loop, &fs, "/", stat_cb), 0);
  char *text = report(loop);
  check(text, "req.work=2 req.fs=1 req.total=3");
  free(text);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  text = report(loop);
  check(text, "req.work=0 req.fs=0 req.total=0");
  free(text);
}

/* A name from the program is hostile to the JSON writer: a pipe bound to a
 * path with a quote, a backslash, control characters, UTF-8 and a byte
 * that is not UTF-8 still gives a document python parses, with the path
 * intact (the stray byte as U+FFFD). */
ART_TEST(report_escapes_a_hostile_path) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char path[64], want_hex[2 * sizeof(path) + 1], args[sizeof(want_hex) + 16];
  /* "\xc3\xa9" is e-acute; "\xff" is never UTF-8. */
  snprintf(path, sizeof(path), "/tmp/art \"q\"\\\n\x01\x7f\xc3\xa9\xff%d",
           (int)getpid());
  art_pipe_t pipe;
  assert_int_equal(art_pipe_init(loop, &pipe, 0), 0);
  assert_int_equal(art_pipe_bind(&pipe, path), 0);
  /* What python should read back: the same bytes, 0xff replaced. */
  char want[sizeof(path) + 4];
  char *stray = strchr(path, '\xff');
  snprintf(want, sizeof(want), "%.*s\xef\xbf\xbd%s", (int)(stray - path), path,
           stray + 1);
  for (size_t i = 0; want[i] != '\0'; i++)
    snprintf(want_hex + 2 * i, 3, "%02x", (unsigned char)want[i]);
  snprintf(args, sizeof(args), "path.pipe=%s", want_hex);
  char *text = report(loop);
  check(text, args);
  free(text);
  art_close((art_handle_t *)&pipe, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  unlink(path);
}
