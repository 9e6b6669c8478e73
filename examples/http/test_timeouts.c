/* The HTTP server's timeouts, in process, on a manual clock: the request
 * timeout (408), the keep-alive idle close, the rate-limit window, the
 * send timeout and the shutdown deadline. Nothing here sleeps, and every
 * check is exact: a timeout has not fired 1 ms before its deadline and has
 * fired at it.
 *
 * The server's connection code runs as fuzz_conn.c runs it: server.c is
 * compiled in with -Dmain=http_server_main, each connection is one end of
 * a socketpair adopted with art_tcp_open and started with conn_start, and
 * the test holds the other end. The server's loop is the harness's loop
 * with ART_LOOP_MANUAL_CLOCK on. The test writes, runs the loop with
 * ART_RUN_NOWAIT until it is quiet (no iteration may block, so the clock
 * moves only by art_loop_advance), advances the clock, runs it again and
 * reads what the server wrote. Shutdown is started by raising SIGTERM in
 * the process: the server's own signal handles catch it. What only a real
 * process shows (the exit status, the listener) stays in e2e.c. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "server.h"

#define MS 1000000ull

static server_t *srv;

/* A server on the test's loop, with the manual clock and main()'s
 * defaults; a test changes the settings it is about. */
static server_t *server_new(void **state) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  srv = calloc(1, sizeof(*srv));
  assert_non_null(srv);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 1), 0);
  srv->loop = loop;
  srv->start_ns = art_hrtime();
  srv->root_fd = -1;
  server_config_defaults(&srv->cfg);
  return srv;
}

/* Runs the loop without blocking until an iteration dispatches no I/O. */
static void settle(void) {
  art_loop_metrics_t m;
  uint64_t events;
  int quiet = 0;
  for (int i = 0; i < 1000 && quiet < 3; i++) {
    assert_int_equal(art_loop_metrics(srv->loop, &m), 0);
    events = m.events;
    art_run(srv->loop, ART_RUN_NOWAIT);
    assert_int_equal(art_loop_metrics(srv->loop, &m), 0);
    quiet = m.events == events ? quiet + 1 : 0;
  }
  assert_int_equal(quiet, 3);
}

static void advance_ms(uint64_t ms) {
  assert_int_equal(art_loop_advance(srv->loop, ms * MS), 0);
  settle();
}

/* A new connection served as server.c's accept callback serves one, its
 * send buffer limited to sndbuf bytes (0: the default); returns the
 * client's end. */
static int client_connect_buf(int sndbuf) {
  int sv[2];
  assert_int_equal(
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
      0);
  if (sndbuf > 0)
    assert_int_equal(
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
  conn_t *c = conn_get(srv);
  assert_non_null(c);
  c->flags = 0;
  assert_int_equal(art_tcp_init(srv->loop, &c->tcp), 0);
  assert_int_equal(art_tcp_open(&c->tcp, sv[0]), 0);
  c->tcp.data = c;
  srv->accepted++;
  assert_int_equal(conn_start(c), 0);
  settle();
  return sv[1];
}

static int client_connect(void) {
  return client_connect_buf(0);
}

static void send_str(int fd, const char *s) {
  size_t len = strlen(s);
  assert_int_equal(send(fd, s, len, MSG_NOSIGNAL), (ssize_t)len);
  settle();
}

/* What the server wrote since the last call, NUL-terminated; *eof is set
 * once it has shut its side down. */
static char got[1 << 16];

static size_t receive(int fd, int *eof) {
  size_t len = 0;
  ssize_t n;
  *eof = 0;
  while (len < sizeof(got) - 1 &&
         (n = read(fd, got + len, sizeof(got) - 1 - len)) != 0) {
    if (n < 0) {
      assert_true(errno == EAGAIN || errno == ECONNRESET);
      *eof = errno == ECONNRESET;
      break;
    }
    len += (size_t)n;
  }
  if (n == 0)
    *eof = 1;
  got[len] = '\0';
  return len;
}

/* Nothing arrived and the connection is open. */
static void expect_silence(int fd) {
  int eof;
  assert_int_equal(receive(fd, &eof), 0);
  assert_false(eof);
}

/* A response with this status line start arrived (and nothing else
 * unless more is allowed); returns whether the server closed. */
static int expect_status(int fd, const char *status) {
  int eof;
  receive(fd, &eof);
  assert_true(strncmp(got, status, strlen(status)) == 0);
  return eof;
}

static void expect_eof_silent(int fd) {
  int eof;
  assert_int_equal(receive(fd, &eof), 0);
  assert_true(eof);
}

/* Closes the client's end and everything the server still holds, and
 * gives back the connection structs: the harness then proves the loop
 * closes with no handle and no fd left. */
static void finish(int *fds, int n) {
  for (int i = 0; i < n; i++)
    if (fds[i] >= 0)
      close(fds[i]);
  for (conn_t *c = srv->conns; c != NULL; c = c->next)
    conn_close(c);
  while (art_run(srv->loop, ART_RUN_NOWAIT))
    ;
  assert_int_equal(srv->nconns, 0);
  conn_free_all(srv);
  free(srv);
  srv = NULL;
}

/* Closes the client's end; the server sees the end and lets go. */
static void finish_client(int fd) {
  close(fd);
  settle();
}

static const char GET_FAST[] = "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n";

/* ---- The request timeout. ---- */

ART_TEST(half_a_head_gets_408_at_the_request_timeout) {
  server_new(state)->cfg.request_timeout = 10000;
  int fd = client_connect();
  send_str(fd, "GET /api/fast HTTP/1.1\r\nHo");
  expect_silence(fd);
  advance_ms(9999);
  expect_silence(fd);
  advance_ms(1);
  assert_true(expect_status(fd, "HTTP/1.1 408 "));
  assert_non_null(strstr(got, "Connection: close"));
  finish(&fd, 1);
}

/* After a streamed response (echo) the next request is a new one: a slow
 * one gets its own full request timeout and a 408, not a bare close. */
ART_TEST(slow_request_after_an_echo_gets_408) {
  server_new(state)->cfg.request_timeout = 300;
  int fd = client_connect();
  send_str(fd,
           "POST /api/echo HTTP/1.1\r\nHost: e\r\nContent-Length: 2\r\n\r\nhi");
  expect_status(fd, "HTTP/1.1 200 ");
  assert_non_null(strstr(got, "\r\n\r\nhi"));
  advance_ms(100);
  send_str(fd, "GET /api/fast HTTP/1.1\r\nHo");
  advance_ms(299);
  expect_silence(fd);
  advance_ms(1);
  assert_true(expect_status(fd, "HTTP/1.1 408 "));
  finish(&fd, 1);
}

/* ---- The keep-alive idle close. ---- */

ART_TEST(idle_connection_closes_quietly_at_the_idle_timeout) {
  server_new(state)->cfg.idle_timeout = 5000;
  int fd = client_connect();
  advance_ms(4999);
  expect_silence(fd);
  advance_ms(1);
  expect_eof_silent(fd);
  assert_int_equal(srv->nconns, 0);
  finish(&fd, 1);
}

ART_TEST(idle_timeout_counts_from_the_last_response) {
  server_new(state)->cfg.idle_timeout = 5000;
  int fd = client_connect();
  advance_ms(3000);
  send_str(fd, GET_FAST);
  assert_false(expect_status(fd, "HTTP/1.1 200 "));
  advance_ms(4999); /* 7999 ms after the connection began */
  expect_silence(fd);
  advance_ms(1);
  expect_eof_silent(fd);
  finish(&fd, 1);
}

/* A connection that comes after the loop sat idle for longer than the
 * timeouts gets its full time, counted from its arrival. */
ART_TEST(late_connection_gets_its_full_timeout) {
  server_new(state)->cfg.idle_timeout = 300;
  advance_ms(60000);
  int fd = client_connect();
  advance_ms(299);
  expect_silence(fd);
  advance_ms(1);
  expect_eof_silent(fd);
  finish(&fd, 1);
}

/* ---- The rate-limit window. ---- */

/* One GET /api/fast on a new connection; its status line must start with
 * status. A refusal closes the connection, so each request gets its own;
 * they all come from the same client address. */
static void get_fast(const char *status) {
  int fd = client_connect();
  send_str(fd, GET_FAST);
  expect_status(fd, status);
  finish_client(fd);
}

ART_TEST(rate_limit_refuses_until_the_window_ends) {
  server_new(state);
  srv->cfg.rate_limit = 5;
  srv->cfg.rate_window = 60000;
  for (int i = 0; i < 5; i++)
    get_fast("HTTP/1.1 200 ");
  get_fast("HTTP/1.1 429 ");
  assert_non_null(strstr(got, "Retry-After: 60\r\n"));
  advance_ms(59000);
  get_fast("HTTP/1.1 429 ");
  assert_non_null(strstr(got, "Retry-After: 1\r\n"));
  advance_ms(999);
  get_fast("HTTP/1.1 429 ");
  advance_ms(1); /* the window is over */
  for (int i = 0; i < 5; i++)
    get_fast("HTTP/1.1 200 ");
  get_fast("HTTP/1.1 429 ");
  finish(NULL, 0);
}

/* ---- The send timeout. ---- */

/* A client that pipelines requests and never reads: the responses fill
 * the socket, and a write waits. */
static int stalled_client(void) {
  int fd = client_connect_buf(4096);
  art_stream_t *s = (art_stream_t *)&srv->conns->tcp;
  for (int i = 0; i < 1000 && art_stream_write_queue_size(s) == 0; i++)
    send_str(fd, GET_FAST);
  assert_true(art_stream_write_queue_size(s) > 0);
  return fd;
}

ART_TEST(stalled_response_is_cut_at_the_send_timeout) {
  server_new(state)->cfg.send_timeout = 30000;
  srv->cfg.idle_timeout = 60000;
  int fd = stalled_client();
  advance_ms(29999);
  assert_int_equal(srv->send_timeouts, 0);
  assert_int_equal(srv->nconns, 1);
  advance_ms(1);
  assert_int_equal(srv->send_timeouts, 1);
  assert_int_equal(srv->nconns, 0);
  finish(&fd, 1);
}

/* A client that took some of the response during the period gets another
 * one: the timer fires, sees progress, and starts again. */
ART_TEST(send_timeout_restarts_while_the_client_reads) {
  server_new(state)->cfg.send_timeout = 30000;
  srv->cfg.idle_timeout = 60000;
  int fd = stalled_client();
  int eof;
  advance_ms(29999);
  assert_true(receive(fd, &eof) > 0);
  settle();
  advance_ms(1);
  assert_int_equal(srv->send_timeouts, 0);
  assert_int_equal(srv->nconns, 1);
  finish(&fd, 1);
}

/* ---- Shutdown. ---- */

/* SIGTERM: the idle connection closes at once; the one in flight gets
 * its response, with Connection: close, when its route's timer fires. */
ART_TEST(shutdown_lets_the_request_in_flight_finish) {
  server_new(state);
  assert_int_equal(server_signals_start(srv), 0);
  int fd[2] = {client_connect(), client_connect()};
  send_str(fd[0], GET_FAST);
  expect_status(fd[0], "HTTP/1.1 200 ");
  send_str(fd[1], "GET /api/slow?ms=600 HTTP/1.1\r\nHost: e\r\n\r\n");
  assert_int_equal(raise(SIGTERM), 0);
  settle();
  assert_int_equal(srv->shutting_down, 1);
  expect_eof_silent(fd[0]);
  advance_ms(599);
  expect_silence(fd[1]);
  advance_ms(1);
  assert_true(expect_status(fd[1], "HTTP/1.1 200 "));
  assert_non_null(strstr(got, "Connection: close"));
  assert_int_equal(srv->shutting_down, 1); /* lingers for the client's FIN */
  close(fd[1]);
  fd[1] = -1;
  settle();
  assert_int_equal(srv->shutting_down, 2);
  finish(fd, 2);
}

/* A request that outlives the shutdown timeout is cut at the deadline. */
ART_TEST(shutdown_deadline_cuts_the_request_in_flight) {
  server_new(state)->cfg.shutdown_timeout = 200;
  assert_int_equal(server_signals_start(srv), 0);
  int fd = client_connect();
  send_str(fd, "GET /api/slow?ms=30000 HTTP/1.1\r\nHost: e\r\n\r\n");
  assert_int_equal(raise(SIGTERM), 0);
  settle();
  assert_int_equal(srv->shutting_down, 1);
  advance_ms(199);
  expect_silence(fd);
  advance_ms(1);
  expect_eof_silent(fd);
  assert_int_equal(srv->shutting_down, 2);
  assert_int_equal(srv->nconns, 0);
  finish(&fd, 1);
}

/* A TCP connection to the server's real listener, accepted by the loop. */
static int listener_connect(void) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  assert_int_equal(
      art_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss, &len), 0);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&ss, (socklen_t)len), 0);
  assert_int_equal(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
  settle();
  return fd;
}

static const char GET_READYZ[] = "GET /readyz HTTP/1.1\r\nHost: e\r\n\r\n";

/* --drain-delay: the first SIGTERM makes /readyz answer 503 and closes the
 * idle connection, but the listener keeps accepting for exactly the delay
 * (new connections are served and closed after their response, /healthz
 * still 200); then the shutdown proper closes it. */
ART_TEST(drain_delay_keeps_the_listener_then_stops) {
  server_new(state)->cfg.drain_delay = 1000;
  srv->cfg.port = 0;
  assert_int_equal(server_signals_start(srv), 0);
  assert_int_equal(server_listen(srv), 0);
  int fd[3] = {listener_connect(), -1, -1};
  send_str(fd[0], GET_READYZ);
  assert_false(expect_status(fd[0], "HTTP/1.1 200 "));
  assert_non_null(strstr(got, "{\"ready\":true}"));
  assert_int_equal(raise(SIGTERM), 0);
  settle();
  assert_int_equal(srv->draining, 1);
  assert_int_equal(srv->shutting_down, 0);
  expect_eof_silent(fd[0]);
  advance_ms(999);
  fd[1] = listener_connect();
  send_str(fd[1], GET_READYZ);
  expect_status(fd[1], "HTTP/1.1 503 ");
  assert_non_null(strstr(got, "Connection: close"));
  fd[2] = listener_connect();
  send_str(fd[2], "GET /healthz HTTP/1.1\r\nHost: e\r\n\r\n");
  expect_status(fd[2], "HTTP/1.1 200 ");
  assert_false(art_is_closing((art_handle_t *)&srv->listener));
  advance_ms(1);
  assert_true(art_is_closing((art_handle_t *)&srv->listener));
  assert_int_equal(srv->shutting_down, 1); /* two connections linger */
  finish_client(fd[1]);
  finish_client(fd[2]);
  fd[1] = fd[2] = -1;
  assert_int_equal(srv->shutting_down, 2);
  finish(fd, 3);
}

/* A second signal during the drain delay skips the rest of it: the
 * listener closes and, with no connection left, the server is done. */
ART_TEST(second_signal_ends_the_drain_delay) {
  server_new(state)->cfg.drain_delay = 60000;
  srv->cfg.port = 0;
  assert_int_equal(server_signals_start(srv), 0);
  assert_int_equal(server_listen(srv), 0);
  assert_int_equal(raise(SIGTERM), 0);
  settle();
  assert_int_equal(srv->draining, 1);
  assert_false(art_is_closing((art_handle_t *)&srv->listener));
  assert_int_equal(raise(SIGINT), 0);
  settle();
  assert_true(art_is_closing((art_handle_t *)&srv->listener));
  assert_int_equal(srv->shutting_down, 2);
  finish(NULL, 0);
}

/* A connection accepted but not yet read from when SIGTERM is handled may
 * hold a request the loop has not read (the signal came first in the same
 * poll): it is not closed as idle, its request is answered with
 * Connection: close, and the server then finishes. */
ART_TEST(shutdown_answers_a_connection_not_yet_read) {
  server_new(state);
  assert_int_equal(server_signals_start(srv), 0);
  int fd = client_connect();
  assert_int_equal(raise(SIGTERM), 0);
  settle();
  assert_int_equal(srv->shutting_down, 1);
  expect_silence(fd);
  send_str(fd, GET_FAST);
  expect_status(fd, "HTTP/1.1 200 ");
  assert_non_null(strstr(got, "Connection: close"));
  finish_client(fd);
  assert_int_equal(srv->shutting_down, 2);
  finish(NULL, 0);
}
