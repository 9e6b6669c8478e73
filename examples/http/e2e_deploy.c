/* End-to-end scenarios of running under a service manager or an
 * orchestrator (docs/deploy.md): the probes and the drain on SIGTERM, the
 * notify protocol heard on a test NOTIFY_SOCKET, and the server started by
 * systemd-socket-activate serving through the socket it passed.
 *
 * Loops that wait for the server (a socket to appear, a datagram to come)
 * are bounded liveness checks, never what a test decides by. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "e2e.h"

/* ------------------------------------------------------------------------ */
/* drain: /healthz, /readyz, and SIGTERM with --drain-delay.                */

static void get_on(client_t *c, const char *target, resp_t *r) {
  char req[128];
  snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: e\r\n\r\n", target);
  send_str(c, req);
  read_response(c, r, 0);
}

/* The first SIGTERM: the idle keep-alive connection closes, /readyz turns
 * 503 while new connections are still served, the request in flight
 * finishes. The second: the listener closes while a request is still
 * arriving on an open connection; that request is answered, and the
 * server exits 0 as soon as it is. */
void scenario_drain(void) {
  client_t *idle = client_open(), *busy = client_open(),
           *partial = client_open();
  resp_t r;
  int status, tries;
  expect_get("/healthz", 200, "{\"status\":\"ok\"}");
  expect_get("/readyz", 200, "{\"ready\":true}");
  get_on(idle, "/readyz", &r);
  CHECK(r.status == 200 && !r.closes, "readyz before: %d", r.status);
  resp_free(&r);
  send_str(partial, "GET /readyz HTTP/1.1\r\nHo");
  send_str(busy, "GET /api/slow?ms=300 HTTP/1.1\r\nHost: e\r\n\r\n");
  wait_busy();

  CHECK(kill(server_pid, SIGTERM) == 0, "kill: %s", strerror(errno));
  expect_eof(idle); /* the drain began */
  request("GET", "/readyz", NULL, &r);
  CHECK(r.status == 503 && r.closes && strstr(r.body, "\"draining\":true"),
        "readyz while draining: %d", r.status);
  resp_free(&r);
  expect_get("/healthz", 200, "{\"status\":\"ok\"}");
  read_response(busy, &r, 0);
  CHECK(r.status == 200 && r.closes && strstr(r.body, "slow") != NULL,
        "in-flight request: %d", r.status);
  resp_free(&r);
  expect_eof(busy);

  CHECK(kill(server_pid, SIGTERM) == 0, "kill: %s", strerror(errno));
  for (tries = 0;; tries++) {
    int fd = connect_server();
    if (fd < 0)
      break;
    close(fd);
    CHECK(tries < 500, "still accepting after the second SIGTERM");
    usleep(10000);
  }
  send_str(partial, "st: e\r\n\r\n");
  read_response(partial, &r, 0);
  CHECK(r.status == 503 && r.closes, "request finished in the drain: %d",
        r.status);
  resp_free(&r);
  expect_eof(partial);
  client_close(idle);
  client_close(busy);
  client_close(partial);
  status = server_stop(0, 10000);
  CHECK(status == 0, "exit status %d", status);
  CHECK(strstr(server_said, "drain") != NULL, "no drain line: %s", server_said);
}

/* ------------------------------------------------------------------------ */
/* notify: READY=1, WATCHDOG=1 and STOPPING=1 on a test NOTIFY_SOCKET.      */

static int notify_fd = -1;
static char notify_path[108];

static void notify_bind(void) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  snprintf(notify_path, sizeof(notify_path), "/tmp/art-e2e-notify-%d",
           (int)getpid());
  unlink(notify_path);
  memcpy(sun.sun_path, notify_path, strlen(notify_path) + 1);
  notify_fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  CHECK(notify_fd >= 0 &&
            bind(notify_fd, (struct sockaddr *)&sun, sizeof(sun)) == 0,
        "notify socket: %s", strerror(errno));
  CHECK(setenv("NOTIFY_SOCKET", notify_path, 1) == 0, "setenv");
}

/* The next datagram the server sent, NUL-terminated. */
static const char *notify_next(void) {
  static char buf[4097];
  struct pollfd p = {notify_fd, POLLIN, 0};
  CHECK(poll(&p, 1, 10000) == 1, "no message from the server in 10 s");
  ssize_t n = recv(notify_fd, buf, sizeof(buf) - 1, 0);
  CHECK(n > 0, "recv: %s", strerror(errno));
  buf[n] = '\0';
  return buf;
}

/* The next datagram that is not a watchdog ping. */
static const char *notify_next_state(void) {
  for (;;) {
    const char *m = notify_next();
    if (strcmp(m, "WATCHDOG=1") != 0)
      return m;
  }
}

/* READY=1 once it listens, with its address as the status; watchdog pings
 * (WATCHDOG_USEC=100 ms: one every 50 ms); STOPPING=1 when SIGTERM starts
 * the drain; and nothing else. */
void scenario_notify(const char *binary) {
  char want[128];
  const char *m;
  int status;
  notify_bind();
  CHECK(setenv("WATCHDOG_USEC", "100000", 1) == 0, "setenv");
  server_start(binary, NULL);
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  snprintf(want, sizeof(want), "READY=1\nSTATUS=serving http://127.0.0.1:%d",
           server_port);
  m = notify_next();
  CHECK(strcmp(m, want) == 0, "first message: \"%s\"", m);
  m = notify_next();
  CHECK(strcmp(m, "WATCHDOG=1") == 0, "second message: \"%s\"", m);
  m = notify_next();
  CHECK(strcmp(m, "WATCHDOG=1") == 0, "third message: \"%s\"", m);
  expect_get("/healthz", 200, NULL);
  CHECK(kill(server_pid, SIGTERM) == 0, "kill: %s", strerror(errno));
  m = notify_next_state();
  CHECK(strcmp(m, "STOPPING=1\nSTATUS=draining") == 0, "at SIGTERM: \"%s\"", m);
  status = server_stop(0, 10000);
  CHECK(status == 0, "exit status %d", status);
  close(notify_fd);
  unlink(notify_path);
}

/* ------------------------------------------------------------------------ */
/* activated: started by systemd-socket-activate.                           */

/* A port free a moment ago (the tool wants one; it cannot pick its own). */
static int free_port(void) {
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t len = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
            getsockname(fd, (struct sockaddr *)&sa, &len) == 0,
        "free port: %s", strerror(errno));
  close(fd);
  return ntohs(sa.sin_port);
}

/* systemd-socket-activate binds the port and starts the server (asked for
 * port 0, so any socket of its own would be elsewhere) at the first
 * connection; that connection is served through the passed socket, and so
 * is the next one. SIGTERM stops it with status 0. */
void scenario_activated(const char *binary) {
  char listen_arg[64], banner[512];
  int port = free_port(), tries, status;
  client_t *first;
  resp_t r;
  snprintf(listen_arg, sizeof(listen_arg), "127.0.0.1:%d", port);
  const char *argv[] = {"systemd-socket-activate",
                        "--listen",
                        listen_arg,
                        "--fdname=http",
                        binary,
                        "0",
                        "--root",
                        root,
                        NULL};
  server_spawn(argv);
  server_port = port;
  for (tries = 0; (first = calloc(1, sizeof(*first))) != NULL &&
                  (first->fd = connect_server()) < 0;
       tries++) {
    free(first);
    CHECK(tries < 500, "systemd-socket-activate never listened");
    usleep(10000);
  }
  CHECK(first != NULL, "out of memory");
  /* A server that ignored the passed socket would never answer here. */
  struct timeval tv = {10, 0};
  CHECK(setsockopt(first->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0,
        "SO_RCVTIMEO: %s", strerror(errno));
  send_str(first, "GET /healthz HTTP/1.1\r\nHost: e\r\n\r\n");
  read_response(first, &r, 0);
  CHECK(r.status == 200, "first request: %d", r.status);
  resp_free(&r);
  client_close(first);
  server_wait_banner(banner, sizeof(banner));
  CHECK(server_port == port, "the server listens on %d, not on %d", server_port,
        port);
  CHECK(strstr(banner, "socket passed by the service manager") != NULL,
        "banner: %s", banner);
  expect_get("/api/fast", 200, "\"route\":\"fast\"");
  expect_get("/readyz", 200, "{\"ready\":true}");
  status = server_stop(SIGTERM, 10000);
  CHECK(status == 0, "exit status %d", status);
  CHECK(connect_server() < 0, "the port still accepts after the exit");
}
