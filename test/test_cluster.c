/* Cluster: workers serving one address in both modes, restarts with
 * backoff, reload and stop without refused connections, messages both
 * ways, bad options and a hostile worker (the worker's side against a
 * hostile primary: test_cluster_frames.c). The suite's executable is also
 * the worker: re-executed with ART_CLUSTER_ENV set, the constructor in
 * helpers/cluster_worker.h runs it instead of the tests. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/cluster_worker.h"
#include "helpers/harness.h"

/* ---- What the primary saw. ---- */

typedef struct {
  int online;
  int exits;
  int killed; /* exits by SIGKILL */
  int clean;  /* exits with status 0 */
  int64_t restart_ms[16];
  uint64_t exit_at[16]; /* the loop's time (art_now, ms) at each exit */
  int stopped;
  int reloaded;
  int reload_status;
  int messages;
  char last_message[128];
  int pongs[2];
  int accepted;               /* "accepted" messages from slow workers */
  int messages_at_first_exit; /* messages seen when the first exit came */
  int64_t first_status;       /* the first exit's status and pid */
  int first_pid;
} seen_t;

static seen_t seen;

static void on_online(art_cluster_t *c, unsigned slot, int pid) {
  (void)c, (void)slot, (void)pid;
  seen.online++;
}

static void on_exit_cb(art_cluster_t *c, unsigned slot, int pid, int64_t status,
                       int sig, int64_t restart) {
  (void)slot, (void)pid;
  if (seen.exits == 0) {
    seen.messages_at_first_exit = seen.messages;
    seen.first_status = status;
    seen.first_pid = pid;
  }
  if (seen.exits < 16) {
    seen.restart_ms[seen.exits] = restart;
    seen.exit_at[seen.exits] = art_now(c->loop);
  }
  seen.exits++;
  seen.killed += sig == SIGKILL;
  seen.clean += status == 0 && sig == 0;
}

static void on_message(art_cluster_t *c, unsigned slot, const void *data,
                       size_t len) {
  (void)c;
  seen.messages++;
  if (len >= sizeof(seen.last_message))
    len = sizeof(seen.last_message) - 1;
  memcpy(seen.last_message, data, len);
  seen.last_message[len] = '\0';
  if (strncmp(seen.last_message, "pong ", 5) == 0 && slot < 2)
    seen.pongs[slot]++;
  if (strcmp(seen.last_message, "accepted") == 0)
    seen.accepted++;
}

static void on_stopped(art_cluster_t *c, int status) {
  (void)c;
  assert_int_equal(status, 0);
  seen.stopped = 1;
}

static void on_reloaded(art_cluster_t *c, int status) {
  (void)c;
  seen.reloaded = 1;
  seen.reload_status = status;
}

static char *worker_args[3];
static struct sockaddr_in any_port;

static art_cluster_options_t options(unsigned n, art_cluster_mode mode,
                                     const char *behaviour) {
  art_cluster_options_t o;
  memset(&o, 0, sizeof(o));
  memset(&seen, 0, sizeof(seen));
  any_port.sin_family = AF_INET;
  any_port.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  any_port.sin_port = 0;
  worker_args[0] = "test_cluster";
  worker_args[1] = (char *)behaviour;
  worker_args[2] = NULL;
  o.workers = n;
  o.mode = mode;
  o.address = (const struct sockaddr *)&any_port;
  o.args = worker_args;
  o.restart_min_ms = 10;
  o.restart_max_ms = 40;
  o.grace_ms = 5000;
  o.on_online = on_online;
  o.on_exit = on_exit_cb;
  o.on_message = on_message;
  return o;
}

static int online_at_least_1(void *arg) {
  (void)arg;
  return seen.online >= 1;
}

static int online_at_least_2(void *arg) {
  (void)arg;
  return seen.online >= 2;
}

static int online_at_least_3(void *arg) {
  (void)arg;
  return seen.online >= 3;
}

static int online_at_least_4(void *arg) {
  (void)arg;
  return seen.online >= 4 && seen.clean >= 2;
}

static int stopped(void *arg) {
  (void)arg;
  return seen.stopped;
}

/* Stops the cluster, waits for the stop's callback, then lets every
 * handle finish, so the harness finds the loop empty. */
static void stop_and_finish(art_loop_t *loop, art_cluster_t *c) {
  assert_int_equal(art_cluster_stop(c, on_stopped), 0);
  assert_true(art_test_run_until(loop, 20000, stopped, NULL));
  art_run(loop, ART_RUN_DEFAULT);
}

/* ---- A client load: total connections, concurrency at a time. ---- */

typedef struct load_s load_t;

typedef struct {
  load_t *load;
  art_tcp_t tcp;
  art_connect_t req;
  char buf[64];
  size_t n;
} client_t;

struct load_s {
  art_loop_t *loop;
  struct sockaddr_storage addr; /* the cluster's, IPv4 or IPv6 */
  int total, started, finished, concurrency, inflight;
  int ok, refused, failed;
  int connected;  /* connects that succeeded */
  int order[512]; /* the slot that answered each successful connection */
  int per_slot[2];
};

static void load_more(load_t *l);

static void client_closed(art_handle_t *h) {
  client_t *k = h->data;
  load_t *l = k->load;
  free(k);
  l->inflight--;
  l->finished++;
  load_more(l);
}

static void client_alloc(art_handle_t *h, size_t s, art_buf_t *buf) {
  client_t *k = h->data;
  (void)s;
  *buf = art_buf_init(k->buf + k->n, sizeof(k->buf) - 1 - k->n);
}

static void client_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  client_t *k = s->data;
  load_t *l = k->load;
  (void)buf;
  if (n > 0) {
    k->n += (size_t)n;
    if (k->n < sizeof(k->buf) - 1)
      return;
  } else if (n == 0) {
    return;
  }
  k->buf[k->n] = '\0';
  if (n == ART_EOF && k->n > 0 && strchr(k->buf, '\n') != NULL) {
    int slot = atoi(k->buf);
    if (l->ok < (int)ART_ARRAY_SIZE(l->order))
      l->order[l->ok] = slot;
    if (slot >= 0 && slot < 2)
      l->per_slot[slot]++;
    l->ok++;
  } else {
    l->failed++;
  }
  art_close((art_handle_t *)s, client_closed);
}

static void client_connected(art_connect_t *req, int status) {
  client_t *k = req->data;
  if (status != 0) {
    if (status == ART_ECONNREFUSED)
      k->load->refused++;
    else
      k->load->failed++;
    art_close((art_handle_t *)&k->tcp, client_closed);
    return;
  }
  k->load->connected++;
  art_read_start((art_stream_t *)&k->tcp, client_alloc, client_read);
}

static void load_more(load_t *l) {
  while (l->started < l->total && l->inflight < l->concurrency) {
    client_t *k = calloc(1, sizeof(*k));
    assert_non_null(k);
    k->load = l;
    assert_int_equal(art_tcp_init(l->loop, &k->tcp), 0);
    k->tcp.data = k;
    k->req.data = k;
    l->started++;
    l->inflight++;
    assert_int_equal(art_tcp_connect(&k->req, &k->tcp,
                                     (const struct sockaddr *)&l->addr,
                                     client_connected),
                     0);
  }
}

static void load_start(load_t *l, art_loop_t *loop, art_cluster_t *c, int total,
                       int concurrency) {
  int len = sizeof(l->addr);
  memset(l, 0, sizeof(*l));
  l->loop = loop;
  l->total = total;
  l->concurrency = concurrency;
  assert_int_equal(
      art_cluster_getsockname(c, (struct sockaddr *)&l->addr, &len), 0);
  load_more(l);
}

static int load_done(void *arg) {
  load_t *l = arg;
  return l->finished == l->total;
}

/* An open-ended load (total huge) is wound down with this: n more
 * connections after those already started, so the event under test
 * happens while connections keep arriving. */
static void load_wind_down(load_t *l, int n) {
  l->total = l->started + n;
}

#define LOAD_OPEN 1000000

/* ---- Options. ---- */

ART_TEST(bad_options_are_einval) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(0, ART_CLUSTER_ROUNDROBIN, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  o.workers = ART_CLUSTER_MAX_WORKERS + 1;
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  o.workers = 2;
  struct sockaddr unix_addr = {.sa_family = AF_UNIX};
  o.address = &unix_addr;
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  o.address = NULL;
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  o = options(2, (art_cluster_mode)7, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  o = options(2, ART_CLUSTER_REUSEPORT, "serve");
  o.args = NULL;
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  o = options(2, ART_CLUSTER_REUSEPORT, "serve");
  o.flags = 1u << 9;
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  o = options(2, ART_CLUSTER_REUSEPORT, "serve");
  o.restart_min_ms = 50;
  o.restart_max_ms = 10;
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  assert_int_equal(art_cluster_start(NULL, &c, &o), ART_EINVAL);
  assert_int_equal(art_cluster_start(loop, NULL, &o), ART_EINVAL);
  assert_int_equal(art_cluster_start(loop, &c, NULL), ART_EINVAL);
  /* An address this host does not have: the bind's error, nothing open. */
  struct sockaddr_in far = {.sin_family = AF_INET};
  far.sin_addr.s_addr = htonl(0xC0000201); /* 192.0.2.1, TEST-NET-1 */
  o = options(2, ART_CLUSTER_REUSEPORT, "serve");
  o.address = (const struct sockaddr *)&far;
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EADDRNOTAVAIL);
}

/* The marker is outside input: only a plain decimal id counts, and a
 * process that has it may not start a cluster of its own. */
ART_TEST(worker_env_is_validated) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static const char *bad[] = {"",
                              "0",
                              "01",
                              "-1",
                              "+1",
                              "1x",
                              " 1",
                              "1 ",
                              "99999999999999999999",
                              "9007199254740993"};
  assert_int_equal(art_cluster_is_worker(), 0);
  for (size_t i = 0; i < ART_ARRAY_SIZE(bad); i++) {
    setenv(ART_CLUSTER_ENV, bad[i], 1);
    assert_int_equal(art_cluster_is_worker(), ART_EINVAL);
  }
  setenv(ART_CLUSTER_ENV, "9007199254740992", 1);
  assert_int_equal(art_cluster_is_worker(), 1);
  setenv(ART_CLUSTER_ENV, "42", 1);
  assert_int_equal(art_cluster_is_worker(), 1);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_ROUNDROBIN, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), ART_EINVAL);
  /* A worker needs its pipe to be a Unix stream socket. */
  art_cluster_worker_t w;
  art_cluster_worker_options_t wo = {0};
  wo.on_connection = cw_connection;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  wo.ipc_fd = fds[0];
  assert_int_equal(art_cluster_worker_start(loop, &w, &wo), ART_EBADF);
  close(fds[0]);
  close(fds[1]);
  unsetenv(ART_CLUSTER_ENV);
  assert_int_equal(art_cluster_worker_start(loop, &w, &wo), ART_EINVAL);
}

/* ---- Serving. ---- */

ART_TEST(roundrobin_alternates_exactly) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_ROUNDROBIN, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  load_t l;
  load_start(&l, loop, &c, 20, 1);
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  assert_int_equal(l.ok, 20);
  for (int i = 1; i < 20; i++)
    assert_int_not_equal(l.order[i], l.order[i - 1]);
  assert_int_equal(l.per_slot[0], 10);
  assert_int_equal(l.per_slot[1], 10);
  assert_int_equal(c.dispatched, 20);
  stop_and_finish(loop, &c);
  assert_int_equal(seen.clean, 2);
}

ART_TEST(reuseport_every_worker_serves) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_REUSEPORT, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  load_t l;
  load_start(&l, loop, &c, 64, 4);
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  assert_int_equal(l.ok, 64);
  /* The kernel hashes each connection: 64 all on one of two sockets would
   * be a 2^-63 event. */
  assert_true(l.per_slot[0] > 0);
  assert_true(l.per_slot[1] > 0);
  assert_int_equal(c.dispatched, 0);
  stop_and_finish(loop, &c);
  assert_int_equal(seen.clean, 2);
}

/* IPv6: the address family goes through to the sockets; both modes serve
 * on [::1] (skipped where the host has no IPv6 loopback). */
static void serve_on_ipv6(art_loop_t *loop, art_cluster_mode mode) {
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6};
  a6.sin6_addr = in6addr_loopback;
  art_cluster_t c;
  art_cluster_options_t o = options(2, mode, "serve");
  o.address = (const struct sockaddr *)&a6;
  int err = art_cluster_start(loop, &c, &o);
  if (err == ART_EADDRNOTAVAIL || err == ART_EAFNOSUPPORT)
    skip();
  assert_int_equal(err, 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  load_t l;
  load_start(&l, loop, &c, 32, 4);
  assert_int_equal(l.addr.ss_family, AF_INET6);
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  assert_int_equal(l.ok, 32);
  assert_true(l.per_slot[0] > 0 && l.per_slot[1] > 0);
  stop_and_finish(loop, &c);
}

ART_TEST(ipv6_serves_in_both_modes) {
  serve_on_ipv6(ART_TEST_LOOP(state), ART_CLUSTER_ROUNDROBIN);
  serve_on_ipv6(ART_TEST_LOOP(state), ART_CLUSTER_REUSEPORT);
}

static int pongs_both(void *arg) {
  (void)arg;
  return seen.pongs[0] > 0 && seen.pongs[1] > 0;
}

ART_TEST(messages_both_ways) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_REUSEPORT, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  assert_int_equal(art_cluster_send(&c, 0, "ping", 4), 0);
  assert_int_equal(art_cluster_send(&c, 1, "ping", 4), 0);
  assert_int_equal(art_cluster_send(&c, 2, "ping", 4), ART_EINVAL);
  static char big[ART_CLUSTER_MAX_MESSAGE + 1];
  assert_int_equal(art_cluster_send(&c, 0, big, sizeof(big)), ART_EINVAL);
  assert_true(art_test_run_until(loop, 20000, pongs_both, NULL));
  assert_true(strncmp(seen.last_message, "pong ", 5) == 0);
  assert_non_null(strstr(seen.last_message, "ping"));
  /* "hello" from each worker's on_ready came first. */
  assert_true(seen.messages >= 4);
  /* The largest message allowed goes through. */
  assert_int_equal(art_cluster_send(&c, 0, big, ART_CLUSTER_MAX_MESSAGE), 0);
  seen.pongs[0] = 0;
  assert_true(art_test_run_until(loop, 20000, pongs_both, NULL));
  stop_and_finish(loop, &c);
}

/* ---- Failures. ---- */

static void kill_slot0_under_load(art_loop_t *loop, art_cluster_mode mode) {
  art_cluster_t c;
  art_cluster_options_t o = options(2, mode, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  int pid0 = art_cluster_worker_pid(&c, 0);
  assert_true(pid0 > 0);
  load_t l;
  load_start(&l, loop, &c, LOAD_OPEN, 4);
  l.total = 100;
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  l.total = LOAD_OPEN;
  load_more(&l);
  assert_int_equal(art_kill(pid0, SIGKILL), 0);
  /* Connections keep coming until the slot has its new worker. */
  assert_true(art_test_run_until(loop, 20000, online_at_least_3, NULL));
  int during = l.started;
  load_wind_down(&l, 100);
  assert_true(art_test_run_until(loop, 30000, load_done, &l));
  print_message("%s: %d connections, %d during the restart, %d failed\n",
                mode == ART_CLUSTER_REUSEPORT ? "reuseport" : "roundrobin",
                l.total, during - 100, l.failed);
  /* Only the connections the killed worker held can fail, at most the
   * four in flight; none is refused. */
  assert_int_equal(l.refused, 0);
  assert_true(l.failed <= 4);
  assert_int_equal(l.ok + l.failed, l.total);
  assert_int_equal(seen.killed, 1);
  assert_int_equal(c.restarts, 1);
  assert_true(art_cluster_worker_pid(&c, 0) != pid0);
  assert_true(art_cluster_worker_pid(&c, 0) > 0);
  /* The new worker serves: both slots answered after the restart. */
  assert_true(l.per_slot[0] > 0 && l.per_slot[1] > 0);
  stop_and_finish(loop, &c);
}

ART_TEST(roundrobin_sigkill_under_load_restarts) {
  kill_slot0_under_load(ART_TEST_LOOP(state), ART_CLUSTER_ROUNDROBIN);
}

ART_TEST(reuseport_sigkill_under_load_restarts) {
  kill_slot0_under_load(ART_TEST_LOOP(state), ART_CLUSTER_REUSEPORT);
}

static int all_connected(void *arg) {
  load_t *l = arg;
  return l->connected == l->total;
}

/* Reuseport: connections queued on a slot's socket outlive its worker.
 * The worker is stopped (SIGSTOP), so eight connections complete their
 * handshake and wait in the socket's accept queue; it is then killed. The
 * primary's copy keeps the socket open and the queue with it, and the
 * slot's next worker answers all eight. */
ART_TEST(reuseport_queue_survives_its_worker) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_REUSEPORT, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_1, NULL));
  int pid = art_cluster_worker_pid(&c, 0);
  assert_int_equal(art_kill(pid, SIGSTOP), 0);
  load_t l;
  load_start(&l, loop, &c, 8, 8);
  assert_true(art_test_run_until(loop, 20000, all_connected, &l));
  assert_int_equal(l.finished, 0);
  assert_int_equal(art_kill(pid, SIGKILL), 0);
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  assert_int_equal(l.ok, 8);
  assert_int_equal(l.failed, 0);
  assert_int_equal(seen.killed, 1);
  assert_int_equal(c.restarts, 1);
  stop_and_finish(loop, &c);
}

static int finished_60(void *arg) {
  load_t *l = arg;
  return l->finished >= 60;
}

/* Round robin: a stuck worker (stopped here) holds at most the window of
 * connections dealt to it and not acknowledged (8); the primary deals the
 * rest to the other worker. Once it continues, it serves what it holds. */
ART_TEST(roundrobin_stuck_worker_holds_a_window) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_ROUNDROBIN, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  int pid0 = art_cluster_worker_pid(&c, 0);
  assert_int_equal(art_kill(pid0, SIGSTOP), 0);
  load_t l;
  load_start(&l, loop, &c, 68, 12);
  /* 60 of 68 finish while worker 0 is stopped: all but its window. */
  assert_true(art_test_run_until(loop, 20000, finished_60, &l));
  assert_int_equal(l.per_slot[0], 0);
  assert_int_equal(l.per_slot[1], 60);
  assert_int_equal(art_kill(pid0, SIGCONT), 0);
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  assert_int_equal(l.ok, 68);
  assert_int_equal(l.per_slot[0], 8);
  stop_and_finish(loop, &c);
}

/* Everything sent on a worker's pipe arrives before its exit is
 * reported, even what comes after the process itself has gone (here from
 * a child that inherited the pipe). */
static int exited_one(void *arg) {
  (void)arg;
  return seen.exits >= 1;
}

ART_TEST(last_words_come_before_the_exit) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_ROUNDROBIN, "lastwords");
  o.restart_min_ms = o.restart_max_ms = 5000; /* no second worker meanwhile */
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, exited_one, NULL));
  assert_int_equal(seen.messages_at_first_exit, 2);
  stop_and_finish(loop, &c);
}

static int three_exits(void *arg) {
  (void)arg;
  return seen.exits >= 3;
}

/* A program that cannot be spawned is an exit at once: on_exit with pid
 * 0 and art_spawn's error, and the same backoff as a crash. */
ART_TEST(spawn_failure_is_an_exit_with_backoff) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_ROUNDROBIN, "serve");
  o.file = "/nonexistent/cluster-worker";
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, three_exits, NULL));
  assert_int_equal(seen.first_pid, 0);
  assert_int_equal(seen.first_status, ART_ENOENT);
  assert_int_equal(seen.restart_ms[0], 10);
  assert_int_equal(seen.restart_ms[1], 20);
  assert_int_equal(seen.restart_ms[2], 40);
  stop_and_finish(loop, &c);
}

/* options.env is the workers' whole environment, with a marker of its own
 * replaced by the worker's: a stale ART_CLUSTER_WORKER=77 left in it would
 * give the worker the wrong id, and it would refuse its HELLO. Here the
 * environment also turns "exit" into "serve". */
ART_TEST(options_env_is_the_workers_environment) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static char *env[] = {"CW_BEHAVIOUR=serve", ART_CLUSTER_ENV "=77", NULL};
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_REUSEPORT, "exit");
  o.env = env;
  o.file = "/proc/self/exe";
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  assert_int_equal(seen.exits, 0);
  stop_and_finish(loop, &c);
  assert_int_equal(seen.clean, 2);
}

static int six_exits(void *arg) {
  (void)arg;
  return seen.exits >= 6;
}

/* A worker that exits at once is restarted after 10, 20, 40, 40... ms:
 * the delays come from the exit callback (no clock in the verdict), and
 * each restart came no sooner than its delay on the loop's clock, which
 * the restart timer counts from (timers never fire early; the real clock
 * may be ahead of the loop's cached time when an exit is seen, so it
 * cannot be the measure). */
ART_TEST(crash_loop_backs_off) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_ROUNDROBIN, "exit");
  o.restart_reset_ms = 60000;
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, six_exits, NULL));
  static const int64_t expect[6] = {10, 20, 40, 40, 40, 40};
  for (int i = 0; i < 6; i++)
    assert_int_equal(seen.restart_ms[i], expect[i]);
  for (int i = 1; i < 6; i++)
    assert_true(seen.exit_at[i] - seen.exit_at[i - 1] >=
                (uint64_t)seen.restart_ms[i - 1]);
  assert_int_equal(seen.online, 0);
  stop_and_finish(loop, &c);
  assert_true(c.restarts >= 5);
}

static int killed_one(void *arg) {
  (void)arg;
  return seen.killed >= 1;
}

/* A worker that never reports ready is killed after ready_timeout_ms and
 * its slot gets another, with the backoff. */
ART_TEST(worker_never_ready_is_replaced) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_ROUNDROBIN, "mute");
  o.ready_timeout_ms = 50;
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, killed_one, NULL));
  assert_int_equal(seen.online, 0);
  assert_int_equal(seen.restart_ms[0], 10);
  stop_and_finish(loop, &c);
}

/* A worker announcing a 4 GiB frame is cut off and killed; the primary
 * allocated nothing for it and keeps running. */
ART_TEST(hostile_worker_frame_is_refused) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_ROUNDROBIN, "hostile");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, killed_one, NULL));
  assert_true(c.refused_frames >= 1);
  assert_true(seen.restart_ms[0] >= 0);
  stop_and_finish(loop, &c);
}

/* ---- Reload and stop. ---- */

static int reloaded(void *arg) {
  (void)arg;
  return seen.reloaded;
}

static void reload_under_load(art_loop_t *loop, art_cluster_mode mode,
                              int by_signal) {
  art_cluster_t c;
  art_cluster_options_t o = options(2, mode, "serve");
  if (by_signal)
    o.flags = ART_CLUSTER_SIGNALS;
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  int pid0 = art_cluster_worker_pid(&c, 0),
      pid1 = art_cluster_worker_pid(&c, 1);
  load_t l;
  load_start(&l, loop, &c, LOAD_OPEN, 16);
  l.total = 100;
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  l.total = LOAD_OPEN;
  load_more(&l);
  /* The reload starts with connections in flight; how many more start
   * before it ends depends on the machine's speed, and is only printed. */
  assert_int_equal(l.inflight, 16);
  int before = l.started;
  if (by_signal) {
    assert_int_equal(art_kill(getpid(), SIGHUP), 0);
    assert_true(art_test_run_until(loop, 20000, online_at_least_4, NULL));
  } else {
    assert_int_equal(art_cluster_reload(&c, on_reloaded), 0);
    assert_int_equal(art_cluster_reload(&c, on_reloaded), ART_EBUSY);
    assert_true(art_test_run_until(loop, 20000, reloaded, NULL));
    assert_int_equal(seen.reload_status, 0);
  }
  int during = l.started - before;
  load_wind_down(&l, 100);
  assert_true(art_test_run_until(loop, 30000, load_done, &l));
  print_message("%s reload: %d connections, %d during the reload\n",
                mode == ART_CLUSTER_REUSEPORT ? "reuseport" : "roundrobin",
                l.total, during);
  /* Every connection was served, by an old worker or a new one, those in
   * flight when the reload began among them. */
  assert_int_equal(l.refused, 0);
  assert_int_equal(l.failed, 0);
  assert_int_equal(l.ok, l.total);
  assert_int_equal(seen.online, 4);
  assert_true(art_cluster_worker_pid(&c, 0) != pid0);
  assert_true(art_cluster_worker_pid(&c, 1) != pid1);
  if (by_signal) {
    /* The stop the signal starts has no callback: the loop ends when the
     * cluster has closed everything. */
    assert_int_equal(art_kill(getpid(), SIGTERM), 0);
    art_run(loop, ART_RUN_DEFAULT);
  } else {
    stop_and_finish(loop, &c);
  }
  /* Old and new workers all drained and exited 0. */
  assert_int_equal(seen.clean, 4);
  assert_int_equal(c.restarts, 0);
}

ART_TEST(roundrobin_reload_refuses_nothing) {
  reload_under_load(ART_TEST_LOOP(state), ART_CLUSTER_ROUNDROBIN, 0);
}

ART_TEST(reuseport_reload_refuses_nothing) {
  reload_under_load(ART_TEST_LOOP(state), ART_CLUSTER_REUSEPORT, 0);
}

ART_TEST(sighup_reloads_and_sigterm_stops) {
  reload_under_load(ART_TEST_LOOP(state), ART_CLUSTER_REUSEPORT, 1);
}

static int two_exits(void *arg) {
  (void)arg;
  return seen.exits >= 2;
}

/* A reload whose new workers fail keeps the old ones serving: each slot's
 * replacement either exits at once (ART_ECHILD) or never reports ready
 * (ART_ETIMEDOUT after ready_timeout_ms), and the reload moves on. */
static void failed_reload(art_loop_t *loop, const char *replacement,
                          int expect) {
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_ROUNDROBIN, "serve");
  o.ready_timeout_ms = 1000; /* long enough for a worker on a busy machine */
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  int pid0 = art_cluster_worker_pid(&c, 0),
      pid1 = art_cluster_worker_pid(&c, 1);
  setenv("CW_BEHAVIOUR", replacement, 1);
  assert_int_equal(art_cluster_reload(&c, on_reloaded), 0);
  assert_true(art_test_run_until(loop, 20000, reloaded, NULL));
  unsetenv("CW_BEHAVIOUR");
  assert_int_equal(seen.reload_status, expect);
  /* The two replacements' exits (a hung one is reported once reaped). */
  assert_true(art_test_run_until(loop, 20000, two_exits, NULL));
  assert_int_equal(seen.exits, 2);
  assert_int_equal(seen.restart_ms[0], -1);
  assert_int_equal(seen.restart_ms[1], -1);
  assert_int_equal(art_cluster_worker_pid(&c, 0), pid0);
  assert_int_equal(art_cluster_worker_pid(&c, 1), pid1);
  assert_int_equal(c.restarts, 0);
  load_t l;
  load_start(&l, loop, &c, 10, 2);
  assert_true(art_test_run_until(loop, 20000, load_done, &l));
  assert_int_equal(l.ok, 10);
  stop_and_finish(loop, &c);
}

ART_TEST(reload_keeps_old_workers_when_new_ones_exit) {
  failed_reload(ART_TEST_LOOP(state), "exit", ART_ECHILD);
}

ART_TEST(reload_keeps_old_workers_when_new_ones_hang) {
  failed_reload(ART_TEST_LOOP(state), "mute", ART_ETIMEDOUT);
}

static int accepted_one(void *arg) {
  (void)arg;
  return seen.accepted >= 1;
}

/* A stop lets a worker finish the connection it holds: the client gets
 * its whole answer and the worker exits 0. */
ART_TEST(stop_drains) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_ROUNDROBIN, "slow");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  load_t l;
  load_start(&l, loop, &c, 1, 1);
  assert_true(art_test_run_until(loop, 20000, accepted_one, NULL));
  assert_int_equal(art_cluster_stop(&c, on_stopped), 0);
  assert_int_equal(art_cluster_stop(&c, on_stopped), ART_EINVAL);
  assert_int_equal(art_cluster_reload(&c, NULL), ART_EINVAL);
  assert_true(art_test_run_until(loop, 20000, stopped, NULL));
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(l.ok, 1);
  assert_int_equal(l.failed, 0);
  assert_int_equal(seen.clean, 2);
  assert_int_equal(seen.killed, 0);
}

/* Round robin: connections the kernel completed and queued on the
 * primary's listener when the stop comes are dealt before the workers
 * drain, not reset by the listener's close. */
ART_TEST(roundrobin_stop_serves_the_queue) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_ROUNDROBIN, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  load_t l;
  load_start(&l, loop, &c, 8, 8);
  /* The loop has not run: nothing was accepted yet; loopback handshakes
   * complete in the kernel, so the eight wait in the listener's queue. */
  assert_int_equal(art_cluster_stop(&c, on_stopped), 0);
  assert_true(art_test_run_until(loop, 20000, stopped, NULL));
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(l.ok, 8);
  assert_int_equal(l.failed + l.refused, 0);
  assert_int_equal(c.dispatched, 8);
  assert_int_equal(seen.clean, 2);
}

/* Reuseport: a draining worker takes its socket's queue first. The
 * worker is stopped while eight connections queue, the cluster is told
 * to stop, then the worker continues: it finds the STOP frame and the
 * queue, and serves all eight either way round. */
ART_TEST(reuseport_stop_serves_the_queue) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(1, ART_CLUSTER_REUSEPORT, "serve");
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_1, NULL));
  int pid = art_cluster_worker_pid(&c, 0);
  assert_int_equal(art_kill(pid, SIGSTOP), 0);
  load_t l;
  load_start(&l, loop, &c, 8, 8);
  assert_true(art_test_run_until(loop, 20000, all_connected, &l));
  assert_int_equal(art_cluster_stop(&c, on_stopped), 0);
  art_run(loop, ART_RUN_NOWAIT); /* the STOP frame goes out */
  assert_int_equal(art_kill(pid, SIGCONT), 0);
  assert_true(art_test_run_until(loop, 20000, stopped, NULL));
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(l.ok, 8);
  assert_int_equal(l.failed, 0);
  assert_int_equal(seen.clean, 1);
}

/* A stop right after the start, before any worker was spawned, closes
 * everything; until a worker exists, a slot takes no message. */
ART_TEST(stop_before_any_worker) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(3, ART_CLUSTER_REUSEPORT, "serve");
  o.flags = ART_CLUSTER_SIGNALS;
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_int_equal(art_cluster_send(&c, 0, "x", 1), ART_ENOTCONN);
  assert_int_equal(art_cluster_worker_pid(&c, 0), 0);
  stop_and_finish(loop, &c);
  assert_int_equal(seen.exits, 0);
  assert_int_equal(seen.online, 0);
}

/* Out of memory from each of the primary's allocations on (the harness's
 * allocator fails every allocation from the nth), from the start through
 * serving to the stop: every failure is an error, a connection dropped or
 * a worker replaced, never a crash, a leak or a spin, and the loop
 * closes. (A connection whose hand-over could not be allocated once made
 * the primary spin.) */
ART_TEST(out_of_memory_at_each_allocation) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int failed_somewhere = 0;
  for (long n = 0; n < 120; n++) {
    art_cluster_t c;
    art_cluster_options_t o = options(2, ART_CLUSTER_ROUNDROBIN, "serve");
    art_test_fail_alloc_after(n);
    int err = art_cluster_start(loop, &c, &o);
    if (err != 0) {
      assert_int_equal(err, ART_ENOMEM);
      art_run(loop, ART_RUN_DEFAULT);
      failed_somewhere = 1;
      continue;
    }
    art_test_run_until(loop, 1000, online_at_least_2, NULL);
    load_t l;
    load_start(&l, loop, &c, 4, 2);
    art_test_run_until(loop, 1000, load_done, &l);
    failed_somewhere |= art_test_alloc_failed();
    stop_and_finish(loop, &c);
    if (!art_test_alloc_failed())
      break; /* n is past every allocation a run makes */
  }
  art_test_fail_alloc_after(-1);
  assert_true(failed_somewhere);
}

/* A worker that ignores the drain is killed when the grace ends. */
ART_TEST(stop_kills_after_grace) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_cluster_t c;
  art_cluster_options_t o = options(2, ART_CLUSTER_REUSEPORT, "linger");
  o.grace_ms = 100;
  assert_int_equal(art_cluster_start(loop, &c, &o), 0);
  assert_true(art_test_run_until(loop, 20000, online_at_least_2, NULL));
  stop_and_finish(loop, &c);
  assert_int_equal(seen.killed, 2);
  assert_int_equal(seen.restart_ms[0], -1);
  assert_int_equal(seen.restart_ms[1], -1);
}
