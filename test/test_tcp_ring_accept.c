/* Listeners accepting through io_uring completions (a multishot accept,
 * ART_URING_ACCEPT=1): the public semantics of the readiness path, each
 * connection reported once, and no callback after the close callback. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"

#define BURST 200

/* Puts loop on io_uring with accept completions on; 0 when the kernel
 * gave no ring (the loop fell back) and the test has nothing to prove. */
static int ring_accept_loop(art_loop_t *loop) {
  assert_int_equal(setenv("ART_URING_ACCEPT", "1", 1), 0);
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING), 0);
  return strcmp(art_backend_name(loop), "io_uring") == 0;
}

static struct sockaddr_in listen_on(art_loop_t *loop, art_tcp_t *server,
                                    art_connection_cb cb) {
  struct sockaddr_in addr = {.sin_family = AF_INET};
  int len = sizeof(addr);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(art_tcp_init(loop, server), 0);
  assert_int_equal(art_tcp_bind(server, (struct sockaddr *)&addr, 0), 0);
  unsigned watched = loop->nfds_;
  assert_int_equal(art_listen((art_stream_t *)server, BURST, cb), 0);
  assert_int_equal(loop->nfds_, watched); /* no readiness watch: the ring */
  assert_int_equal(art_tcp_getsockname(server, (struct sockaddr *)&addr, &len),
                   0);
  return addr;
}

static int connect_to(const struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (const struct sockaddr *)addr, sizeof(*addr)),
                   0);
  return fd;
}

static int local_port(int fd) {
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  return ntohs(a.sin_port);
}

/* ---- A burst, each connection once ---- */

static art_tcp_t accepted[BURST];
static int naccepted, nreports, hold;
static art_tcp_t *held_server;

/* Takes the connection; while `hold` is set it leaves it for later, as a
 * server that applies backpressure does. */
static void take(art_stream_t *server, int status) {
  assert_int_equal(status, 0);
  nreports++;
  if (hold) {
    held_server = (art_tcp_t *)server;
    return;
  }
  assert_true(naccepted < BURST);
  assert_int_equal(art_tcp_init(server->loop, &accepted[naccepted]), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&accepted[naccepted]), 0);
  naccepted++;
}

static int got_all(void *arg) {
  (void)arg;
  return naccepted == BURST;
}

static int reported(void *arg) {
  return nreports >= *(int *)arg;
}

/* 200 connections, every one reported once and accepted once: the peer
 * ports of the accepted streams are exactly the clients' ports. The first
 * is held unaccepted for a while, so the rest queue behind it. */
ART_TEST(burst_of_connections_each_delivered_once) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  int clients[BURST], one = 1;
  naccepted = nreports = 0;
  hold = 1;
  if (!ring_accept_loop(loop))
    return;
  struct sockaddr_in addr = listen_on(loop, &server, take);
  for (int i = 0; i < BURST; i++)
    clients[i] = connect_to(&addr);
  assert_true(art_test_run_until(loop, 5000, reported, &one));
  for (int i = 0; i < 5; i++)
    art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(nreports, 1); /* the rest wait for art_accept */
  hold = 0;
  assert_int_equal(art_tcp_init(loop, &accepted[0]), 0);
  assert_int_equal(
      art_accept((art_stream_t *)held_server, (art_stream_t *)&accepted[0]), 0);
  naccepted = 1;
  assert_true(art_test_run_until(loop, 5000, got_all, NULL));
  for (int i = 0; i < 5; i++)
    art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(nreports, BURST);
  assert_int_equal(naccepted, BURST);
  char seen[65536] = {0};
  for (int i = 0; i < BURST; i++) {
    struct sockaddr_in peer;
    int len = sizeof(peer);
    assert_int_equal(
        art_tcp_getpeername(&accepted[i], (struct sockaddr *)&peer, &len), 0);
    int port = ntohs(peer.sin_port);
    assert_int_equal(seen[port], 0);
    seen[port] = 1;
  }
  for (int i = 0; i < BURST; i++) {
    assert_int_equal(seen[local_port(clients[i])], 1);
    close(clients[i]);
    art_close((art_handle_t *)&accepted[i], NULL);
  }
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- Close with the accept armed ---- */

static int closed, after_close, close_reports;

static void server_closed(art_handle_t *h) {
  (void)h;
  closed = 1;
}

/* Closes the listener at its first connection, leaving it unaccepted;
 * connections made after that must never reach this callback again. */
static void close_at_first(art_stream_t *server, int status) {
  (void)status;
  if (closed)
    after_close++;
  close_reports++;
  if (!art_is_closing((art_handle_t *)server))
    art_close((art_handle_t *)server, server_closed);
}

static int is_closed(void *arg) {
  (void)arg;
  return closed;
}

/* The listener closes while its multishot accept is in the ring and more
 * connections arrive, in the same batch and after: no callback after the
 * close callback, every accepted fd closed, the loop ends. */
ART_TEST(closing_listener_with_accept_armed_never_calls_back_after_close) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t *server = malloc(sizeof(*server));
  int clients[16];
  closed = after_close = close_reports = 0;
  if (!ring_accept_loop(loop)) {
    free(server);
    return;
  }
  struct sockaddr_in addr = listen_on(loop, server, close_at_first);
  for (int i = 0; i < 8; i++)
    clients[i] = connect_to(&addr);
  assert_true(art_test_run_until(loop, 5000, is_closed, NULL));
  /* The handle's memory is the user's again: poison it. */
  memset(server, 0xa5, sizeof(*server));
  free(server);
  for (int i = 8; i < 16; i++) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    connect(fd, (const struct sockaddr *)&addr, sizeof(addr)); /* refused */
    clients[i] = fd;
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(close_reports, 1);
  assert_int_equal(after_close, 0);
  for (int i = 0; i < 16; i++)
    close(clients[i]);
}

/* ---- Out of fds ---- */

static int emfile_reports, other_reports;

static void count_emfile(art_stream_t *server, int status) {
  art_tcp_t *c;
  if (status == ART_EMFILE || status == ART_ENFILE) {
    emfile_reports++;
    return;
  }
  other_reports++;
  c = malloc(sizeof(*c)); /* cannot happen here: nothing is accepted */
  assert_int_equal(art_tcp_init(server->loop, c), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)c), 0);
  art_close((art_handle_t *)c, (art_close_cb)free);
}

static int all_ended(void *arg) {
  int *fds = arg;
  for (int i = 0; i < 3; i++) {
    char c;
    ssize_t n = recv(fds[i], &c, 1, MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
      return 0;
  }
  return 1;
}

/* The kernel takes RLIMIT_NOFILE when it prepares the accept, so the limit
 * is lowered before the first wait: the multishot then ends with EMFILE,
 * the reserve fd drains the backlog (the peers see their connections
 * end), the listener hears ART_EMFILE and stays armed. */
ART_TEST(out_of_fds_spends_the_reserve_and_keeps_listening) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  struct rlimit saved, low;
  int pending[3], dups[64], ndups = 0, fd;
  emfile_reports = other_reports = 0;
  if (!ring_accept_loop(loop))
    return;
  for (int i = 0; i < 3; i++)
    pending[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  getrlimit(RLIMIT_NOFILE, &saved);
  low = saved;
  low.rlim_cur = (rlim_t)art_test_fd_count() + 8;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  struct sockaddr_in addr = listen_on(loop, &server, count_emfile);
  while (ndups < 64 && (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0)
    dups[ndups++] = fd;
  assert_int_equal(errno, EMFILE);
  for (int i = 0; i < 3; i++)
    connect(pending[i], (struct sockaddr *)&addr, sizeof(addr));
  assert_true(art_test_run_until(loop, 5000, all_ended, pending));
  assert_true(emfile_reports >= 1);
  assert_int_equal(other_reports, 0);
  for (int i = 0; i < ndups; i++)
    close(dups[i]);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
  for (int i = 0; i < 3; i++)
    close(pending[i]);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- A pipe listener ---- */

static art_pipe_t piped[BURST];
static int npiped;

static void take_pipe(art_stream_t *server, int status) {
  assert_int_equal(status, 0);
  assert_true(npiped < BURST);
  assert_int_equal(art_pipe_init(server->loop, &piped[npiped], 0), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&piped[npiped]), 0);
  npiped++;
}

static int got_all_pipes(void *arg) {
  (void)arg;
  return npiped == BURST;
}

/* The same burst on a Unix socket listener: 200 connections accepted once
 * each, shown by every client seeing its end when the 200 accepted streams
 * close (the listener still open, holding none). */
ART_TEST(pipe_burst_each_delivered_once) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pipe_t server;
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  int clients[BURST];
  npiped = 0;
  if (!ring_accept_loop(loop))
    return;
  snprintf(sun.sun_path, sizeof(sun.sun_path), "/tmp/art-ring-accept-%d",
           (int)getpid());
  unlink(sun.sun_path);
  assert_int_equal(art_pipe_init(loop, &server, 0), 0);
  assert_int_equal(art_pipe_bind(&server, sun.sun_path), 0);
  unsigned watched = loop->nfds_;
  assert_int_equal(art_listen((art_stream_t *)&server, BURST, take_pipe), 0);
  assert_int_equal(loop->nfds_, watched);
  for (int i = 0; i < BURST; i++) {
    clients[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(connect(clients[i], (struct sockaddr *)&sun, sizeof(sun)),
                     0);
  }
  assert_true(art_test_run_until(loop, 5000, got_all_pipes, NULL));
  for (int i = 0; i < BURST; i++)
    art_close((art_handle_t *)&piped[i], NULL);
  for (int i = 0; i < 3; i++)
    art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(npiped, BURST);
  for (int i = 0; i < BURST; i++) {
    char c;
    assert_int_equal(recv(clients[i], &c, 1, MSG_DONTWAIT), 0);
    close(clients[i]);
  }
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  unlink(sun.sun_path);
}
