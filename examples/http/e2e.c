/* http_e2e: end-to-end tests of the HTTP server, with a small blocking
 * HTTP client of its own (e2e_client.c; no curl needed).
 *
 *   http_e2e SERVER SCENARIO
 *
 * Starts SERVER on an ephemeral port with a temporary served folder, runs
 * one scenario against it, then stops it with SIGTERM and requires exit
 * status 0 (under AddressSanitizer that also means nothing leaked).
 * Deadlines are for liveness only: nothing passes or fails on speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include "e2e.h"

static const char *binary;

/* ------------------------------------------------------------------------ */
/* routes: every route, its errors, and the loop staying responsive.        */

static void check_file(const char *name, const char *expect, size_t len) {
  char target[256];
  resp_t r;
  snprintf(target, sizeof(target), "/api/file?name=%s", name);
  request("GET", target, NULL, &r);
  CHECK(r.status == 200, "%s: status %d", target, r.status);
  CHECK(r.body_len == len && memcmp(r.body, expect, len) == 0,
        "%s: %zu bytes, not the file's %zu", target, r.body_len, len);
  resp_free(&r);
}

static void routes_file(void) {
  char *big = malloc(BIG_SIZE);
  resp_t r;
  size_t i;
  for (i = 0; i < BIG_SIZE; i++)
    big[i] = (char)(i * 7 % 251);
  check_file("hello.txt", "hello, file\n", 12);
  check_file("sub/inner.txt", "inner\n", 6);
  check_file("big.bin", big, BIG_SIZE);
  check_file("sub%2Finner.txt", "inner\n", 6);
  free(big);
  request("HEAD", "/api/file?name=big.bin", NULL, &r);
  CHECK(r.status == 200 && atoi(header(&r, "Content-Length")) == BIG_SIZE,
        "HEAD file: %d", r.status);
  resp_free(&r);
  expect_get("/api/file?name=../etc/passwd", 403, "Forbidden");
  expect_get("/api/file?name=sub/../../x", 403, NULL);
  expect_get("/api/file?name=%2e%2e%2fx", 403, NULL);
  expect_get("/api/file?name=/etc/passwd", 403, NULL);
  expect_get("/api/file?name=link", 403, NULL);
  expect_get("/api/file?name=missing.txt", 404, "Not Found");
  expect_get("/api/file?name=sub", 404, NULL);
  expect_get("/api/file", 400, NULL);
  expect_get("/api/file?name=%zz", 400, NULL);
}

static void routes_echo(void) {
  client_t *c = client_open();
  char line[64];
  resp_t r;
  request("POST", "/api/echo", "ping pong", &r);
  CHECK(r.status == 200 && strcmp(r.body, "ping pong") == 0, "echo: %d %s",
        r.status, r.body);
  resp_free(&r);
  request("POST", "/api/echo", "", &r);
  CHECK(r.status == 200 && r.body_len == 0, "empty echo: %d", r.status);
  resp_free(&r);
  send_str(c, "POST /api/echo HTTP/1.1\r\nHost: e\r\nTransfer-Encoding: "
              "chunked\r\nContent-Type: text/plain\r\n\r\n4\r\nabcd\r\n");
  send_str(c, "3;x=1\r\nefg\r\n0\r\nX-T: 1\r\n\r\n");
  read_response(c, &r, 0);
  CHECK(r.status == 200 && strcmp(r.body, "abcdefg") == 0 &&
            strstr(r.head, "text/plain") != NULL,
        "chunked echo: %d %s", r.status, r.body);
  resp_free(&r);
  /* Expect: 100-continue: the body goes only after "100 Continue". */
  send_str(c, "POST /api/echo HTTP/1.1\r\nHost: e\r\nExpect: 100-continue\r\n"
              "Content-Length: 5\r\n\r\n");
  take_line(c, line, sizeof(line));
  CHECK(strcmp(line, "HTTP/1.1 100 Continue") == 0, "not 100: %s", line);
  take_line(c, line, sizeof(line));
  CHECK(line[0] == '\0', "100 Continue has fields");
  send_str(c, "fives");
  read_response(c, &r, 0);
  CHECK(r.status == 200 && strcmp(r.body, "fives") == 0, "expect echo: %s",
        r.body);
  resp_free(&r);
  client_close(c);
  request("GET", "/api/echo", NULL, &r);
  CHECK(r.status == 405 && strstr(r.head, "Allow: POST") != NULL,
        "GET echo: %d", r.status);
  resp_free(&r);
}

/* A body larger than every buffer on the way, sent while the echo is read
 * back: the server must stop reading while its writes wait, and resume. */
static void routes_echo_big(void) {
  enum { SIZE = 600 * 1024 };
  client_t *c = client_open();
  char *body = malloc(SIZE), head[128];
  size_t sent = 0, i;
  resp_t r;
  for (i = 0; i < SIZE; i++)
    body[i] = (char)(i * 13 % 256);
  snprintf(head, sizeof(head),
           "POST /api/echo HTTP/1.1\r\nHost: e\r\nContent-Length: %d\r\n\r\n",
           SIZE);
  send_str(c, head);
  while (sent < SIZE) { /* send what fits, read what came back */
    struct pollfd pfd = {c->fd, POLLIN | POLLOUT, 0};
    CHECK(poll(&pfd, 1, 10000) > 0, "echo stalled at %zu bytes", sent);
    if (pfd.revents & POLLOUT) {
      ssize_t n =
          send(c->fd, body + sent, SIZE - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      CHECK(n > 0 || errno == EAGAIN, "send: %s", strerror(errno));
      sent += n > 0 ? (size_t)n : 0;
    }
    if (pfd.revents & POLLIN)
      CHECK(fill(c) > 0, "connection ended during the echo");
  }
  read_response(c, &r, 0);
  CHECK(r.status == 200 && r.body_len == SIZE &&
            memcmp(r.body, body, SIZE) == 0,
        "big echo: %d, %zu bytes", r.status, r.body_len);
  resp_free(&r);
  free(body);
  client_close(c);
}

/* A long pool job on one connection; /api/fast on another must be
 * answered while it runs. */
static void routes_heavy_keeps_loop_free(void) {
  client_t *heavy = client_open();
  struct pollfd pfd;
  resp_t r;
  int tries;
  send_str(heavy,
           "GET /api/heavy?rounds=400000000 HTTP/1.1\r\nHost: e\r\n\r\n");
  for (tries = 0;; tries++) { /* until the pool runs it */
    request("GET", "/api/stats", NULL, &r);
    if (strstr(r.body, "\"running\":1") != NULL)
      break;
    resp_free(&r);
    CHECK(tries < 500, "the heavy job never ran");
    usleep(10000);
  }
  resp_free(&r);
  expect_get("/api/fast", 200, "fast");
  pfd.fd = heavy->fd;
  pfd.events = POLLIN;
  CHECK(poll(&pfd, 1, 0) == 0, "heavy answered before fast: not on the pool?");
  read_response(heavy, &r, 0);
  CHECK(r.status == 200 && strstr(r.body, "\"rounds\":400000000") != NULL,
        "heavy: %d %s", r.status, r.body);
  resp_free(&r);
  client_close(heavy);
}

/* Numeric query parameters: malformed or above their cap is a 400, never
 * a silent default or clamp. */
static void routes_bad_numbers(void) {
  static const char *const bad[] = {
      "/api/slow?ms=abc",     "/api/slow?ms=-5",
      "/api/slow?ms=",        "/api/slow?ms=10x",
      "/api/slow?ms=60001",   "/api/slow?ms=99999999999999999999999",
      "/api/slow?ms=%2B5",    "/api/heavy?rounds=abc",
      "/api/heavy?rounds=-1", "/api/heavy?rounds=500000001"};
  size_t i;
  for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    expect_get(bad[i], 400, "Bad Request");
  expect_get("/api/slow?ms=0", 200, "\"ms\":0");
  expect_get("/api/slow", 200, "\"ms\":100"); /* absent: the default */
}

/* Without --count-allocs the stats leave library_allocs out. */
static void routes_stats_fields(void) {
  resp_t r;
  request("GET", "/api/stats", NULL, &r);
  CHECK(r.status == 200 && strstr(r.body, "\"rss_bytes\"") != NULL &&
            strstr(r.body, "\"uptime_s\"") != NULL,
        "stats: %d %s", r.status, r.body);
  CHECK(strstr(r.body, "library_allocs") == NULL,
        "library_allocs reported without --count-allocs: %s", r.body);
  resp_free(&r);
}

static void scenario_routes(void) {
  resp_t r;
  expect_get("/api/fast", 200, "\"route\":\"fast\"");
  expect_get("/api/slow?ms=30", 200, "\"ms\":30");
  expect_get("/api/heavy?rounds=1000", 200, "\"rounds\":1000");
  expect_get("/api/stats", 200, "\"utilisation\"");
  routes_stats_fields();
  routes_bad_numbers();
  expect_get("/api/lifecycle", 200, "\"phase\":\"timers\"");
  expect_get("/api/lifecycle", 200, "\"phase\":\"microtasks\"");
  expect_get("/api/lifecycle", 200, "pool work completed");
  expect_get("/nowhere", 404, "\"status\":404");
  request("POST", "/api/fast", "x", &r);
  CHECK(r.status == 405, "POST fast: %d", r.status);
  resp_free(&r);
  request("HEAD", "/api/fast", NULL, &r);
  CHECK(r.status == 200 && atoi(header(&r, "Content-Length")) > 0,
        "HEAD fast: %d", r.status);
  resp_free(&r);
  routes_file();
  routes_echo();
  routes_echo_big();
  routes_heavy_keeps_loop_free();
}

/* ------------------------------------------------------------------------ */
/* pipelining: keep-alive, pipelined requests answered in order.            */

static void scenario_pipelining(void) {
  client_t *c = client_open();
  resp_t r;
  int i;
  static const char *const expect[] = {"fast", "\"ms\":20", "piped",
                                       "Not Found", "fast"};
  for (i = 0; i < 3; i++) { /* keep-alive, one at a time */
    send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
    read_response(c, &r, 0);
    CHECK(r.status == 200 && !r.closes, "keep-alive %d: %d", i, r.status);
    resp_free(&r);
  }
  send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n"
              "GET /api/slow?ms=20 HTTP/1.1\r\nHost: e\r\n\r\n"
              "POST /api/echo HTTP/1.1\r\nHost: e\r\nContent-Length: 5\r\n\r\n"
              "piped"
              "GET /x HTTP/1.1\r\nHost: e\r\n\r\n"
              "GET /api/fast HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n");
  for (i = 0; i < 5; i++) {
    read_response(c, &r, 0);
    CHECK(strstr(r.body, expect[i]) != NULL, "pipelined %d: %s", i, r.body);
    CHECK(r.closes == (i == 4), "pipelined %d: Connection", i);
    resp_free(&r);
  }
  expect_eof(c);
  client_close(c);
  c = client_open(); /* 300 at once: more than the server's 4 KiB buffer */
  for (i = 0; i < 300; i++)
    send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
  for (i = 0; i < 300; i++) {
    read_response(c, &r, 0);
    CHECK(r.status == 200 && strstr(r.body, "fast") != NULL,
          "burst response %d: %d", i, r.status);
    resp_free(&r);
  }
  client_close(c);
  c = client_open(); /* HTTP/1.0 closes unless asked to keep alive */
  send_str(c, "GET /api/fast HTTP/1.0\r\n\r\n");
  read_response(c, &r, 0);
  CHECK(r.status == 200 && r.closes, "1.0: %d", r.status);
  resp_free(&r);
  expect_eof(c);
  client_close(c);
}

/* ------------------------------------------------------------------------ */
/* timeouts: the flags reach the real server, and a blocking wait.         */

/* The timeouts' rules are tested in process on a manual clock
 * (test_timeouts.c). What needs the real process and the real clock: the
 * --request-timeout and --idle-timeout flags take effect, and a connection
 * that arrives after the loop has blocked in poll for longer than the
 * timeouts (with no timer to wait for) still gets its full time, because
 * the cached time is refreshed after that wait. */
static void scenario_timeouts(void) {
  client_t *c = client_open();
  resp_t r;
  send_str(c, "GET /api/fast HTTP/1.1\r\nHo");
  read_response(c, &r, 0);
  CHECK(r.status == 408 && r.closes, "half a head: %d", r.status);
  resp_free(&r);
  expect_eof(c);
  client_close(c);
  c = client_open(); /* idle from the start */
  expect_eof(c);
  CHECK(c->len == 0, "idle close sent bytes");
  client_close(c);
  usleep(600 * 1000); /* no connection: the server blocks with no timer */
  expect_get("/api/fast", 200, "fast");
}

/* ------------------------------------------------------------------------ */
/* rate_limit, limits, conn_limit.                                          */

static void scenario_rate_limit(void) {
  client_t *c = client_open();
  resp_t r;
  int i, retry;
  for (i = 0; i < 5; i++) {
    send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
    read_response(c, &r, 0);
    CHECK(r.status == 200, "request %d: %d", i, r.status);
    resp_free(&r);
  }
  send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
  read_response(c, &r, 0);
  retry = header(&r, "Retry-After") ? atoi(header(&r, "Retry-After")) : -1;
  CHECK(r.status == 429 && retry >= 1 && retry <= 60, "6th: %d retry %d",
        r.status, retry);
  resp_free(&r);
  client_close(c);
  expect_get("/api/fast", 429, "Too Many Requests"); /* per client, not conn */
}

/* Sends raw bytes on a new connection; expects status and a close. */
static void expect_raw(const char *what, const char *data, size_t len,
                       int status) {
  client_t *c = client_open();
  resp_t r;
  send_all(c, data, len);
  read_response(c, &r, 0);
  CHECK(r.status == status && r.closes, "%s: status %d, expected %d", what,
        r.status, status);
  resp_free(&r);
  expect_eof(c);
  client_close(c);
}

static void scenario_limits(void) {
  static char buf[16384];
  size_t n;
  int i;
  n = (size_t)snprintf(buf, sizeof(buf),
                       "POST /api/echo HTTP/1.1\r\nHost: e"
                       "\r\nContent-Length: 1001\r\n\r\n");
  expect_raw("body over --max-body", buf, n, 413);
  n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: e\r\nX: ");
  memset(buf + n, 'x', 9000);
  memcpy(buf + n + 9000, "\r\n\r\n", 4);
  expect_raw("9 KB header", buf, n + 9004, 431);
  n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: e\r\n");
  for (i = 0; i < 100; i++)
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: v\r\n", i);
  n += (size_t)snprintf(buf + n, sizeof(buf) - n, "\r\n");
  expect_raw("101 headers", buf, n, 431);
  expect_raw("bare LF", "GET / HTTP/1.1\nHost: e\n\n", 24, 400);
  expect_raw("CL and TE",
             "POST / HTTP/1.1\r\nHost: e\r\nContent-Length: 1\r\n"
             "Transfer-Encoding: chunked\r\n\r\n",
             75, 400);
  expect_raw("bad version", "GET / HTTP/9.9\r\nHost: e\r\n\r\n", 28, 505);
  /* (not to /api/echo: it streams, so its 200 would be out already) */
  n = (size_t)snprintf(buf, sizeof(buf),
                       "POST /upload HTTP/1.1\r\nHost: "
                       "e\r\nTransfer-Encoding: chunked\r\n\r\n3e9\r\n");
  expect_raw("chunked over --max-body", buf, n, 413);
  expect_get("/api/fast", 200, "fast"); /* and the server is fine */
}

static void scenario_conn_limit(void) {
  client_t *a = client_open(), *b = client_open(), *c;
  resp_t r;
  int tries;
  send_str(a, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
  send_str(b, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
  read_response(a, &r, 0);
  resp_free(&r);
  read_response(b, &r, 0);
  resp_free(&r);
  c = client_open(); /* the third, over --max-conns 2 */
  send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
  read_response(c, &r, 0);
  CHECK(r.status == 503 && r.closes, "third connection: %d", r.status);
  resp_free(&r);
  expect_eof(c);
  client_close(c);
  client_close(b);
  for (tries = 0;; tries++) { /* once the server has seen b go */
    request("GET", "/api/fast", NULL, &r);
    if (r.status == 200)
      break;
    CHECK(r.status == 503 && tries < 500, "after a close: %d", r.status);
    resp_free(&r);
    usleep(10000);
  }
  resp_free(&r);
  client_close(a);
}

/* ------------------------------------------------------------------------ */
/* shutdown: a request in flight completes, then the process exits 0.       */

static void scenario_shutdown(void) {
  client_t *busy = client_open(), *idle = client_open();
  resp_t r;
  int status;
  send_str(idle, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
  read_response(idle, &r, 0);
  resp_free(&r);
  send_str(busy, "GET /api/slow?ms=600 HTTP/1.1\r\nHost: e\r\n\r\n");
  wait_busy();
  CHECK(kill(server_pid, SIGTERM) == 0, "kill");
  expect_eof(idle); /* idle keep-alive connections close at once */
  read_response(busy, &r, 0);
  CHECK(r.status == 200 && r.closes && strstr(r.body, "slow") != NULL,
        "in-flight request: %d", r.status);
  resp_free(&r);
  expect_eof(busy);
  client_close(busy);
  client_close(idle);
  status = server_stop(0, 10000);
  CHECK(status == 0, "exit status %d", status);
  CHECK(connect_server() < 0, "still accepting after shutdown");
}

/* --workers 2 (threads): connections spread over both workers' listeners
 * (40 connections all on one worker would be a chance of 2^-39), each
 * answer says which worker served it, and SIGTERM drains both. */
static void scenario_workers_threads(void) {
  int seen[2] = {0, 0};
  for (int i = 0; i < 40; i++) {
    resp_t r;
    request("GET", "/api/stats", NULL, &r); /* a new connection each */
    const char *w = strstr(r.body, "\"worker\":");
    CHECK(r.status == 200 && w != NULL, "stats: %d", r.status);
    CHECK(strstr(r.body, "\"workers\":2") != NULL, "workers: %s", r.body);
    int id = atoi(w + strlen("\"worker\":"));
    CHECK(id == 0 || id == 1, "worker %d", id);
    seen[id]++;
    resp_free(&r);
  }
  CHECK(seen[0] > 0 && seen[1] > 0, "spread %d/%d", seen[0], seen[1]);
  int status = server_stop(SIGTERM, 10000);
  CHECK(status == 0, "exit status %d", status);
  const char *first = strstr(server_said, "stopped after");
  CHECK(first != NULL && strstr(first + 1, "stopped after") != NULL,
        "both workers stop: %s", server_said);
  CHECK(connect_server() < 0, "still accepting after shutdown");
}

/* GET /api/stats on a new connection without dying on failure: the
 * answering worker and its pid, or -1 when the connection was refused,
 * reset or closed before a whole response (a worker killed under it). */
static int try_stats(int *pid) {
  char buf[8192];
  size_t got = 0;
  int fd = connect_server();
  if (fd < 0)
    return -1;
  static const char req[] =
      "GET /api/stats HTTP/1.1\r\nHost: e\r\nConnection: close\r\n\r\n";
  if (write(fd, req, sizeof(req) - 1) != (ssize_t)sizeof(req) - 1) {
    close(fd);
    return -1;
  }
  for (;;) {
    ssize_t n = read(fd, buf + got, sizeof(buf) - 1 - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  close(fd);
  buf[got] = '\0';
  const char *w = strstr(buf, "\"worker\":"), *p = strstr(buf, "\"pid\":");
  if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || w == NULL || p == NULL)
    return -1;
  *pid = atoi(p + strlen("\"pid\":"));
  return atoi(w + strlen("\"worker\":"));
}

/* Waits (at most 10 s) until the server said text at least count times. */
static void wait_said(const char *text, int count) {
  for (int i = 0; i < 1000; i++) {
    if (server_output_count(text) >= count)
      return;
    usleep(10000);
  }
  die("the server never said \"%s\" %d times", text, count);
}

/* --workers 2 with worker processes: connections reach both; a worker
 * killed (SIGKILL) while requests keep coming costs at most the requests
 * it held, and another takes its place; SIGHUP replaces both with every
 * request answered; SIGTERM drains everything, exit 0. Round robin deals
 * in strict turns; reuseport is the kernel's hash, so only "both" is
 * checked there. */
static void cluster_scenario(int round_robin) {
  int seen[2] = {0, 0}, pids[2] = {0, 0}, pid, w, prev = -1, turns = 0;
  wait_said(" online (pid", 2);
  for (int i = 0; i < 40; i++) {
    CHECK((w = try_stats(&pid)) == 0 || w == 1, "request %d failed", i);
    seen[w]++;
    pids[w] = pid;
    turns += prev >= 0 && w != prev;
    prev = w;
  }
  CHECK(seen[0] > 0 && seen[1] > 0, "spread %d/%d", seen[0], seen[1]);
  /* Strict turns change worker at every connection; the primary skips a
   * worker whose acknowledgements lag (a loaded machine), which costs a
   * turn or two. A dealer that picked at random would change about half
   * the time (19.5 of 39). */
  if (round_robin)
    CHECK(turns >= 33, "round robin: %d turns in 39 (%d/%d)", turns, seen[0],
          seen[1]);
  int failed = 0;
  for (int i = 0; i < 200; i++) {
    if (i == 20)
      CHECK(kill(pids[0], SIGKILL) == 0, "kill worker 0");
    if (try_stats(&pid) < 0)
      failed++;
  }
  CHECK(failed <= 2, "%d requests failed around the kill", failed);
  wait_said(" online (pid", 3); /* the killed worker's replacement */
  CHECK(server_output_count("another starts in") == 1, "no restart");
  CHECK(kill(server_pid, SIGHUP) == 0, "SIGHUP");
  failed = 0;
  for (int i = 0; i < 200; i++)
    if (try_stats(&pid) < 0)
      failed++;
  wait_said(" online (pid", 5); /* both replaced */
  CHECK(failed == 0, "%d requests failed during the reload", failed);
  int status = server_stop(SIGTERM, 20000);
  CHECK(status == 0, "exit status %d", status);
  CHECK(connect_server() < 0, "still accepting after shutdown");
}

static void scenario_cluster_roundrobin(void) {
  cluster_scenario(1);
}

static void scenario_cluster_reuseport(void) {
  cluster_scenario(0);
}

/* A request that outlives --shutdown-timeout is cut at the deadline. */
static void scenario_deadline(void) {
  client_t *c = client_open();
  int status;
  send_str(c, "GET /api/slow?ms=30000 HTTP/1.1\r\nHost: e\r\n\r\n");
  wait_busy();
  status = server_stop(SIGINT, 10000);
  CHECK(status == 0, "exit status %d", status);
  expect_eof(c);
  client_close(c);
}

/* ------------------------------------------------------------------------ */
/* allocs: small keep-alive requests make no library allocation.            */

/* Sends n GET target on c, one at a time, each answered 200. */
static void get_n(client_t *c, const char *target, int n) {
  char req[128];
  resp_t r;
  snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: e\r\n\r\n", target);
  while (n-- > 0) {
    send_str(c, req);
    read_response(c, &r, 0);
    CHECK(r.status == 200 && !r.closes, "%s: %d", target, r.status);
    resp_free(&r);
  }
}

/* The "library_allocs" counter of /api/stats, asked on c. */
static long long lib_allocs(client_t *c) {
  const char *key = "\"library_allocs\":";
  const char *at;
  long long n;
  resp_t r;
  send_str(c, "GET /api/stats HTTP/1.1\r\nHost: e\r\n\r\n");
  read_response(c, &r, 0);
  at = r.status == 200 ? strstr(r.body, key) : NULL;
  CHECK(at != NULL, "stats: %d, no %s", r.status, key);
  n = strtoll(at + strlen(key), NULL, 10);
  resp_free(&r);
  return n;
}

/* The server counts the library's allocations (--count-allocs): after a
 * warm-up, 1,000 keep-alive /api/fast requests (and a stats request) add
 * none. The count is above zero, so the counter is really installed. */
static void scenario_allocs(void) {
  client_t *c = client_open();
  long long before, after;
  get_n(c, "/api/fast", 100); /* warm-up */
  before = lib_allocs(c);
  CHECK(before > 0, "library_allocs %lld: not counting", before);
  get_n(c, "/api/fast", 1000);
  after = lib_allocs(c);
  CHECK(after == before, "1000 requests made %lld library allocations",
        after - before);
  client_close(c);
}

/* ------------------------------------------------------------------------ */
/* files, files_portable: /api/file stays beneath the served folder, with  */
/* openat2 and with the component-by-component walk (--no-openat2).        */

/* Creates root/name as a symbolic link to target. */
static void make_link(const char *target, const char *name) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", root, name);
  CHECK(symlink(target, path) == 0, "symlink %s: %s", name, strerror(errno));
}

static void make_dir(const char *name) {
  char path[256];
  snprintf(path, sizeof(path), "%s/%s", root, name);
  CHECK(mkdir(path, 0755) == 0, "mkdir %s: %s", name, strerror(errno));
}

/* Symbolic links at every depth, to files and to folders, relative and
 * absolute, inside the folder and out of it: every name that goes
 * through one is refused with 403, while the same files reached without
 * a link are served. */
static void files_symlinks(void) {
  static const char *const refused[] = {
      "link",             /* depth 1, absolute, to a file outside */
      "etclink/hostname", /* depth 1, absolute, to a folder outside */
      "etclink/passwd",
      "hello-link",          /* depth 1, relative, to a file inside */
      "sublink/inner.txt",   /* depth 1, relative, to a folder inside */
      "up/etc/hostname",     /* depth 1, relative, to a folder above */
      "sub/abs",             /* depth 2, absolute, to a file outside */
      "sub/etcdir/hostname", /* depth 2, absolute, to a folder outside */
      "sub/rel",             /* depth 2, relative, to a file inside */
      "sub/updir/hello.txt", /* depth 2, relative, to the folder itself */
      "sub/deep/abs",        /* depth 3, absolute, to a file outside */
      "sub/deep/rootdir/etc/hostname", /* depth 3, to / */
      "sub/deep/rel",                  /* depth 3, relative, to a file inside */
      "sub/deep/subdir/inner.txt",     /* depth 3, relative, to a folder */
      "sublink/deep/ok.txt", /* a link in the middle, a real file after */
      "sub/./rel",           /* dots and doubled slashes do not hide it */
      "sub//etcdir//hostname"};
  char target[256];
  size_t i;
  make_link("/etc", "etclink");
  make_link("hello.txt", "hello-link");
  make_link("sub", "sublink");
  make_link("../../", "up");
  make_link("/etc/hostname", "sub/abs");
  make_link("/etc", "sub/etcdir");
  make_link("../hello.txt", "sub/rel");
  make_link("..", "sub/updir");
  make_dir("sub/deep");
  make_link("/etc/hostname", "sub/deep/abs");
  make_link("/", "sub/deep/rootdir");
  make_link("../../hello.txt", "sub/deep/rel");
  make_link("..", "sub/deep/subdir");
  write_root_file("sub/deep/ok.txt", "deep\n");
  for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
    snprintf(target, sizeof(target), "/api/file?name=%s", refused[i]);
    expect_get(target, 403, "Forbidden");
  }
  expect_get("/api/file?name=sub/deep/ok.txt", 200, "deep");
  expect_get("/api/file?name=sub/./deep//ok.txt", 200, "deep");
  expect_get("/api/file?name=hello.txt", 200, "hello, file");
  expect_get("/api/file?name=sub/missing/x", 404, NULL);
  expect_get("/api/file?name=hello.txt/x", 404, NULL);
}

/* A FIFO is opened without blocking and refused; eight requests for it at
 * once (more than the pool's file-system threads) do not jam the pool:
 * each gets 404 and a regular file is still served. */
static void files_fifo(void) {
  client_t *c[8];
  char path[128];
  resp_t r;
  int i;
  snprintf(path, sizeof(path), "%s/fifo", root);
  CHECK(mkfifo(path, 0644) == 0, "mkfifo: %s", strerror(errno));
  for (i = 0; i < 8; i++) {
    c[i] = client_open();
    send_str(c[i], "GET /api/file?name=fifo HTTP/1.1\r\nHost: e\r\n\r\n");
  }
  for (i = 0; i < 8; i++) {
    read_response(c[i], &r, 0);
    CHECK(r.status == 404, "fifo %d: %d", i, r.status);
    resp_free(&r);
    client_close(c[i]);
  }
  expect_get("/api/file?name=fifo", 404, NULL);
  expect_get("/api/file?name=sub/inner.txt", 200, "inner");
}

static void scenario_files(void) {
  files_symlinks();
  files_fifo();
}

/* ------------------------------------------------------------------------ */
/* stuck_pool: the shutdown deadline holds while pool work runs on.         */

/* A hash chain of the largest size runs on the pool (well over a second)
 * when SIGTERM comes with --shutdown-timeout 100: the server closes
 * everything at the deadline, waits a short grace for the work, then
 * exits 1 saying so, instead of waiting for the pool thread. */
static void scenario_stuck_pool(void) {
  client_t *c = client_open();
  resp_t r;
  int tries, status;
  send_str(c, "GET /api/heavy?rounds=500000000 HTTP/1.1\r\nHost: e\r\n\r\n");
  for (tries = 0;; tries++) { /* until the pool runs it */
    request("GET", "/api/stats", NULL, &r);
    if (strstr(r.body, "\"running\":1") != NULL)
      break;
    resp_free(&r);
    CHECK(tries < 500, "the heavy job never ran");
    usleep(10000);
  }
  resp_free(&r);
  status = server_stop(SIGTERM, 10000);
  CHECK(status == 1, "exit status %d, expected 1 (work abandoned)", status);
  CHECK(strstr(server_said, "held by pool work") != NULL,
        "no line about the abandoned work in: %s", server_said);
  expect_eof(c);
  client_close(c);
}

/* ------------------------------------------------------------------------ */
/* send_timeout: a client that never reads its response is cut off.         */

/* The number after "key": in a fresh /api/stats; -1 when absent. */
long long stat_of(const char *key) {
  char pat[64];
  const char *at;
  long long n = -1;
  resp_t r;
  snprintf(pat, sizeof(pat), "\"%s\":", key);
  request("GET", "/api/stats", NULL, &r);
  CHECK(r.status == 200, "stats: %d", r.status);
  if ((at = strstr(r.body, pat)) != NULL)
    n = strtoll(at + strlen(pat), NULL, 10);
  resp_free(&r);
  return n;
}

/* Waits until stat key reaches at least want (liveness bound: 10 s). */
static void wait_stat(const char *key, long long want) {
  int tries;
  for (tries = 0; stat_of(key) < want; tries++) {
    CHECK(tries < 1000, "%s never reached %lld (now %lld)", key, want,
          stat_of(key));
    usleep(10000);
  }
}

/* Waits until exactly n connections are open, the asking one included. */
void wait_open(long long n) {
  int tries;
  for (tries = 0; stat_of("open") != n; tries++) {
    CHECK(tries < 1000, "open connections: %lld, expected %lld",
          stat_of("open"), n);
    usleep(10000);
  }
}

/* Two clients with a tiny receive window ask for a 64 MiB file and never
 * read. Once no byte has left for --send-timeout, both are closed and
 * counted in send_timeouts, and they no longer hold connection slots. */
/* root/huge.bin: 64 MiB of zeros (sparse: cheap to make and to read). */
static void make_huge(void) {
  char path[128];
  int fd;
  snprintf(path, sizeof(path), "%s/huge.bin", root);
  fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  CHECK(fd >= 0 && ftruncate(fd, 64 << 20) == 0 && close(fd) == 0,
        "huge.bin: %s", strerror(errno));
}

/* A client that asks for huge.bin with a tiny receive window and does not
 * read: its response stalls mid-file. Returns the socket. */
static int stalled_file_client(void) {
  static const char req[] =
      "GET /api/file?name=huge.bin HTTP/1.1\r\nHost: e\r\n\r\n";
  int fd = connect_server_rcvbuf(4096);
  CHECK(fd >= 0 && send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) ==
                       (ssize_t)sizeof(req) - 1,
        "stalled client: %s", strerror(errno));
  return fd;
}

static void scenario_send_timeout(void) {
  int fd[2], i;
  make_huge();
  CHECK(stat_of("send_timeouts") == 0, "send_timeouts not reported as 0");
  for (i = 0; i < 2; i++)
    fd[i] = stalled_file_client();
  wait_stat("send_timeouts", 2);
  wait_open(1);
  expect_get("/api/fast", 200, "fast");
  for (i = 0; i < 2; i++)
    close(fd[i]);
}

/* ------------------------------------------------------------------------ */
/* abandon: work for a client that has gone is canceled.                    */

/* A /api/slow whose client closes stops being busy at once (its timer is
 * canceled), rather than holding a connection for its 30 s. */
static void abandon_slow(void) {
  client_t *c = client_open();
  send_str(c, "GET /api/slow?ms=30000 HTTP/1.1\r\nHost: e\r\n\r\n");
  wait_busy();
  client_close(c);
  wait_open(1);
  CHECK(stat_of("busy") == 0, "a request is still busy");
}

/* More /api/heavy requests than pool threads, their clients gone while
 * some still wait in the queue: those are canceled, not run. */
static void abandon_heavy(void) {
  client_t *c[32];
  long long threads = stat_of("threads"), i, n = threads + 4, tries;
  CHECK(threads > 0 && n <= 32, "pool threads: %lld", threads);
  for (i = 0; i < n; i++) {
    c[i] = client_open();
    send_str(c[i],
             "GET /api/heavy?rounds=100000000 HTTP/1.1\r\nHost: e\r\n\r\n");
  }
  for (tries = 0; stat_of("queued") < 1; tries++)
    CHECK(tries < 1000, "no heavy request ever waited in the queue");
  for (i = 0; i < n; i++)
    client_close(c[i]);
  wait_stat("canceled", 1);
  printf("abandon: %lld of %lld heavy jobs canceled\n", stat_of("canceled"), n);
}

/* Half-close: a request and FIN together. A route that answers at once
 * still answers; one that would answer later is abandoned (no reply, the
 * connection closes). */
static void abandon_half_close(void) {
  client_t *c = client_open();
  resp_t r;
  send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
  CHECK(shutdown(c->fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  read_response(c, &r, 0);
  CHECK(r.status == 200, "fast then FIN: %d", r.status);
  resp_free(&r);
  expect_eof(c);
  client_close(c);
  c = client_open();
  send_str(c, "GET /api/slow?ms=30000 HTTP/1.1\r\nHost: e\r\n\r\n");
  CHECK(shutdown(c->fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
  expect_eof(c);
  CHECK(c->len == 0, "slow then FIN: an answer came");
  client_close(c);
}

static void scenario_abandon(void) {
  abandon_slow();
  abandon_half_close();
  abandon_heavy();
}

/* ------------------------------------------------------------------------ */
/* memory: what a burst of connections took goes back when it ends.        */

/* A file response holds a chunk buffer only while it streams; 150
 * connections (five slabs of structs), two of them stalled mid-file, map
 * slabs and buffers that are all given back once they close: the counts
 * in /api/stats return to their level before the burst. */
static void scenario_memory(void) {
  enum { N = 150 };
  static client_t *c[N];
  long long slabs;
  int stalled[2], i;
  make_huge();
  expect_get("/api/file?name=big.bin", 200, NULL);
  wait_open(1);
  slabs = stat_of("slabs");
  CHECK(slabs == 1 && stat_of("file_buffers") == 0,
        "before the burst: %lld slabs, %lld file buffers", slabs,
        stat_of("file_buffers"));
  for (i = 0; i < N; i++) {
    c[i] = client_open();
    send_str(c[i], "GET /api/fast HTTP/1.1\r\nHo"); /* half a head */
  }
  for (i = 0; i < 2; i++)
    stalled[i] = stalled_file_client();
  wait_stat("file_buffers", 2);
  wait_stat("open", N + 3);
  CHECK(stat_of("slabs") >= N / 32, "burst: %lld slabs", stat_of("slabs"));
  for (i = 0; i < N; i++)
    client_close(c[i]);
  for (i = 0; i < 2; i++)
    close(stalled[i]);
  wait_open(1);
  CHECK(stat_of("slabs") == slabs && stat_of("file_buffers") == 0,
        "after the burst: %lld slabs (%lld before), %lld file buffers",
        stat_of("slabs"), slabs, stat_of("file_buffers"));
  CHECK(stat_of("pooled_structs") <= 32, "after the burst: %lld structs",
        stat_of("pooled_structs"));
}

/* ------------------------------------------------------------------------ */
/* log_pipe: --log into a pipe whose reader has gone.                      */

/* The reader of the server's stdout closes after the banner (as
 * `server --log | head -1` does): the log lines that follow fail with
 * EPIPE, and the server must go on serving and exit 0. */
static void scenario_log_pipe(void) {
  int i;
  server_output_close();
  for (i = 0; i < 20; i++)
    expect_get("/api/fast", 200, "fast");
  expect_get("/api/file?name=hello.txt", 200, "hello, file");
}

/* ------------------------------------------------------------------------ */
/* report: /api/report and SIGUSR2 give the loop's report as JSON.          */

#define REPORT_FILE "http_e2e_report.json"

/* Parses the JSON in file with python3 and requires the listener and at
 * least one more tcp handle (the connection asking), each with its fd. */
static void check_report_file(const char *file, int min_tcp) {
  char cmd[512];
  snprintf(
      cmd, sizeof(cmd),
      "python3 -c 'import json,sys\n"
      "r=json.load(open(sys.argv[1]))\n"
      "t=[h for h in r[\"handles\"] if h[\"type\"]==\"tcp\" and \"fd\" in h]\n"
      "sys.exit(0 if len(t)>=int(sys.argv[2]) else 1)' %s %d",
      file, min_tcp);
  CHECK(system(cmd) == 0, "report %s: not JSON or no listener", file);
}

static void scenario_report(void) {
  resp_t r;
  char path[128];
  request("GET", "/api/report", NULL, &r);
  CHECK(r.status == 200, "report: %d", r.status);
  CHECK(strstr(header(&r, "Content-Type"), "application/json") != NULL,
        "report: type %s", header(&r, "Content-Type"));
  snprintf(path, sizeof(path), "%s/api_report.json", root);
  FILE *f = fopen(path, "we");
  CHECK(f != NULL && fwrite(r.body, 1, strlen(r.body), f) == strlen(r.body) &&
            fclose(f) == 0,
        "report: cannot save %s", path);
  resp_free(&r);
  check_report_file(path, 2); /* the listener and this connection */

  /* SIGUSR2: the same report, in the file --report-file names. */
  unlink(REPORT_FILE);
  CHECK(kill(server_pid, SIGUSR2) == 0, "kill: %s", strerror(errno));
  for (int i = 0; i < 500 && access(REPORT_FILE, F_OK) != 0; i++)
    poll(NULL, 0, 10); /* liveness only */
  check_report_file(REPORT_FILE, 1);
  unlink(REPORT_FILE);
  expect_get("/api/fast", 200, "\"route\":\"fast\""); /* still serving */
}

/* ------------------------------------------------------------------------ */

static const struct {
  const char *name;
  void (*run)(void);
  const char *args[8];
} scenarios[] = {
    {"routes", scenario_routes, {"--log", NULL}},
    {"pipelining", scenario_pipelining, {NULL}},
    {"report", scenario_report, {"--report-file", REPORT_FILE, NULL}},
    {"timeouts",
     scenario_timeouts,
     {"--request-timeout", "300", "--idle-timeout", "300", NULL}},
    {"rate_limit",
     scenario_rate_limit,
     {"--rate-limit", "5", "--rate-window", "60000", NULL}},
    {"limits", scenario_limits, {"--max-body", "1000", NULL}},
    {"conn_limit", scenario_conn_limit, {"--max-conns", "2", NULL}},
    {"shutdown", scenario_shutdown, {NULL}},
    {"workers_threads",
     scenario_workers_threads,
     {"--workers", "2", "--cluster", "threads", NULL}},
    {"cluster_roundrobin",
     scenario_cluster_roundrobin,
     {"--workers", "2", "--cluster", "roundrobin", NULL}},
    {"cluster_reuseport",
     scenario_cluster_reuseport,
     {"--workers", "2", "--cluster", "reuseport", NULL}},
    {"deadline", scenario_deadline, {"--shutdown-timeout", "200", NULL}},
    {"allocs", scenario_allocs, {"--count-allocs", NULL}},
    {"log_pipe", scenario_log_pipe, {"--log", NULL}},
    {"files", scenario_files, {NULL}},
    {"memory", scenario_memory, {NULL}},
    {"abandon", scenario_abandon, {"--shutdown-timeout", "30000", NULL}},
    {"send_timeout", scenario_send_timeout, {"--send-timeout", "300", NULL}},
    {"files_portable", scenario_files, {"--no-openat2", NULL}},
    {"stuck_pool", scenario_stuck_pool, {"--shutdown-timeout", "100", NULL}},
    {"metrics", scenario_metrics, {NULL}},
    {"metrics_promtool", scenario_metrics_promtool, {NULL}},
    {"request_ids", scenario_request_ids, {"--log", NULL}},
    {"dashboard", scenario_dashboard, {NULL}},
    {"dashboard_chromium", scenario_dashboard_chromium, {NULL}},
    {"chaos", scenario_chaos, {"--send-timeout", "300", NULL}},
    {"chaos_shutdown",
     scenario_chaos_shutdown,
     {"--send-timeout", "300", "--shutdown-timeout", "2000", NULL}},
    {"drain",
     scenario_drain,
     {"--drain-delay", "60000", "--shutdown-timeout", "30000", NULL}},
};

/* Scenarios that start the server their own way (e2e_deploy.c). */
static const struct {
  const char *name;
  void (*run)(const char *binary);
} self_started[] = {
    {"notify", scenario_notify},
    {"activated", scenario_activated},
};

/* Scenarios that run a program: without it they are skipped (77). */
static const char *tool_of(const char *name) {
  if (strcmp(name, "metrics_promtool") == 0)
    return "promtool";
  if (strcmp(name, "activated") == 0)
    return "systemd-socket-activate";
  return strcmp(name, "dashboard_chromium") == 0 ? "chromium" : NULL;
}

/* Is program on PATH? */
static int have_tool(const char *program) {
  char cmd[128];
  snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", program);
  return system(cmd) == 0;
}

int main(int argc, char **argv) {
  size_t i;
  if (argc != 3) {
    fprintf(stderr, "usage: http_e2e SERVER SCENARIO\n");
    return 2;
  }
  binary = argv[1];
  scenario = argv[2];
  signal(SIGPIPE, SIG_IGN);
  if (tool_of(scenario) != NULL && !have_tool(tool_of(scenario))) {
    printf("http_e2e %s: skipped, no %s\n", scenario, tool_of(scenario));
    return 77;
  }
  for (i = 0; i < sizeof(self_started) / sizeof(self_started[0]); i++) {
    if (strcmp(self_started[i].name, scenario) != 0)
      continue;
    make_root();
    self_started[i].run(binary);
    if (server_pid > 0)
      CHECK(server_stop(SIGTERM, 10000) == 0, "exit status not 0");
    e2e_cleanup();
    printf("http_e2e %s: ok\n", scenario);
    return 0;
  }
  for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
    if (strcmp(scenarios[i].name, scenario) != 0)
      continue;
    make_root();
    server_start(binary, scenarios[i].args);
    scenarios[i].run();
    if (server_pid > 0)
      CHECK(server_stop(SIGTERM, 10000) == 0, "exit status not 0");
    e2e_cleanup();
    printf("http_e2e %s: ok\n", scenario);
    return 0;
  }
  fprintf(stderr, "http_e2e: unknown scenario %s\n", scenario);
  return 2;
}
