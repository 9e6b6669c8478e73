/* TCP: connect, accept, echo, ordering of queued writes, large transfers,
 * half-close, errors, resets, running out of fds, many connections. */
#include <fcntl.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include "helpers/stream.h"

/* ---- a client that writes a message and collects the echo ---- */

typedef struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
  int connect_status;
  int connected;
  char got[64];
  size_t ngot;
  int eof;
  int closed;
  const char *msg;
} client_t;

static void client_close_cb(art_handle_t *h) {
  client_t *c = h->data;
  c->closed = 1;
}

static void client_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  client_t *c = s->data;
  if (n > 0) {
    assert_true(c->ngot + (size_t)n <= sizeof(c->got));
    memcpy(c->got + c->ngot, buf->base, (size_t)n);
    c->ngot += (size_t)n;
    if (c->ngot == strlen(c->msg))
      art_close((art_handle_t *)s, client_close_cb);
  } else if (n < 0) {
    c->eof = 1;
    art_close((art_handle_t *)s, client_close_cb);
  }
  free(buf->base);
}

static void client_connected(art_connect_t *req, int status) {
  client_t *c = req->handle->data;
  c->connect_status = status;
  c->connected = 1;
  if (status < 0) {
    art_close((art_handle_t *)req->handle, client_close_cb);
    return;
  }
  art_buf_t b = art_buf_init((char *)c->msg, strlen(c->msg));
  assert_int_equal(art_write(&c->write, req->handle, &b, 1, NULL), 0);
  assert_int_equal(art_read_start(req->handle, helper_alloc, client_read), 0);
}

static void client_start(art_loop_t *loop, client_t *c,
                         const struct sockaddr_in *addr, const char *msg) {
  memset(c, 0, sizeof(*c));
  c->msg = msg;
  assert_int_equal(art_tcp_init(loop, &c->tcp), 0);
  c->tcp.data = c;
  assert_int_equal(art_tcp_connect(&c->connect, &c->tcp,
                                   (const struct sockaddr *)addr,
                                   client_connected),
                   0);
}

ART_TEST(echo_round_trip) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  client_t c;
  struct sockaddr_in addr = listen_loopback(loop, &server, echo_connection);
  client_start(loop, &c, &addr, "hello, world");
  assert_true(art_test_run_until(loop, 5000, flag_set, &c.closed));
  assert_int_equal(c.connect_status, 0);
  assert_int_equal(c.ngot, strlen("hello, world"));
  assert_memory_equal(c.got, "hello, world", c.ngot);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(helper_open_conns, 0);
}

ART_TEST(ipv6_echo) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  client_t c;
  struct sockaddr_in6 addr;
  int len = sizeof(addr);
  assert_int_equal(art_ip6_addr("::1", 0, &addr), 0);
  assert_int_equal(art_tcp_init(loop, &server), 0);
  assert_int_equal(
      art_tcp_bind(&server, (struct sockaddr *)&addr, ART_TCP_IPV6ONLY), 0);
  assert_int_equal(art_listen((art_stream_t *)&server, 16, echo_connection), 0);
  assert_int_equal(art_tcp_getsockname(&server, (struct sockaddr *)&addr, &len),
                   0);
  assert_int_equal(len, sizeof(addr));
  client_start(loop, &c, (struct sockaddr_in *)(void *)&addr, "six");
  assert_true(art_test_run_until(loop, 5000, flag_set, &c.closed));
  assert_memory_equal(c.got, "six", 3);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static void never_connection(art_stream_t *s, int status) {
  fail_msg("unexpected connection");
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t t, u;
  art_connect_t creq;
  art_write_t wreq;
  art_shutdown_t sreq;
  struct sockaddr_in addr;
  struct sockaddr_un_like {
    sa_family_t family;
    char path[8];
  } bogus = {AF_UNIX, "x"};
  char byte = 'x';
  art_buf_t b = art_buf_init(&byte, 1);
  int len = sizeof(addr);
  art_ip4_addr("127.0.0.1", 1, &addr);
  assert_int_equal(art_tcp_init(NULL, &t), ART_EINVAL);
  assert_int_equal(art_tcp_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_tcp_init(loop, &t), 0);
  assert_int_equal(art_tcp_bind(NULL, (struct sockaddr *)&addr, 0), ART_EINVAL);
  assert_int_equal(art_tcp_bind(&t, NULL, 0), ART_EINVAL);
  assert_int_equal(art_tcp_bind(&t, (struct sockaddr *)&bogus, 0), ART_EINVAL);
  assert_int_equal(art_tcp_bind(&t, (struct sockaddr *)&addr, 0x100),
                   ART_EINVAL);
  assert_int_equal(art_tcp_bind(&t, (struct sockaddr *)&addr, ART_TCP_IPV6ONLY),
                   ART_EINVAL);
  assert_int_equal(
      art_tcp_connect(NULL, &t, (struct sockaddr *)&addr, client_connected),
      ART_EINVAL);
  assert_int_equal(art_tcp_connect(&creq, &t, NULL, client_connected),
                   ART_EINVAL);
  assert_int_equal(art_tcp_connect(&creq, &t, (struct sockaddr *)&addr, NULL),
                   ART_EINVAL);
  assert_int_equal(art_tcp_open(&t, -1), ART_EBADF);
  assert_int_equal(art_tcp_open(&t, 9999), ART_EBADF);
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(art_tcp_open(&t, fds[0]), ART_ENOTSOCK);
  close(fds[0]);
  close(fds[1]);
  /* Not connected: reading, writing and shutting down are refused. */
  assert_int_equal(art_read_start((art_stream_t *)&t, helper_alloc, NULL),
                   ART_EINVAL);
  assert_int_equal(art_read_start((art_stream_t *)&t, helper_alloc,
                                  (art_read_cb)client_read),
                   ART_ENOTCONN);
  assert_int_equal(art_write(&wreq, (art_stream_t *)&t, &b, 1, NULL),
                   ART_ENOTCONN);
  assert_int_equal(art_write(NULL, (art_stream_t *)&t, &b, 1, NULL),
                   ART_EINVAL);
  assert_int_equal(art_write(&wreq, (art_stream_t *)&t, NULL, 1, NULL),
                   ART_EINVAL);
  assert_int_equal(art_try_write((art_stream_t *)&t, &b, 1), ART_ENOTCONN);
  assert_int_equal(art_shutdown(&sreq, (art_stream_t *)&t, NULL), ART_ENOTCONN);
  assert_int_equal(art_shutdown(NULL, (art_stream_t *)&t, NULL), ART_EINVAL);
  assert_int_equal(art_listen((art_stream_t *)&t, 1, never_connection),
                   ART_EINVAL); /* no socket yet */
  assert_int_equal(art_accept((art_stream_t *)&t, (art_stream_t *)&t),
                   ART_EINVAL);
  assert_int_equal(art_tcp_getsockname(&t, (struct sockaddr *)&addr, &len),
                   ART_EBADF);
  assert_int_equal(art_tcp_getsockname(&t, NULL, &len), ART_EINVAL);
  assert_int_equal(art_tcp_keepalive(&t, 1, 0, 1, 1), ART_EINVAL);
  assert_int_equal(art_tcp_keepalive(&t, 1, 1, 1, 1), ART_EBADF);
  assert_int_equal(art_tcp_nodelay(NULL, 1), ART_EINVAL);
  assert_int_equal(art_stream_set_high_water_mark((art_stream_t *)&t, 0),
                   ART_EINVAL);
  assert_int_equal(art_read_stop(NULL), ART_EINVAL);
  assert_int_equal(art_is_readable(NULL), 0);
  assert_int_equal(art_is_writable((art_stream_t *)&t), 0);
  /* A listening server accepts nothing before a connection arrives. */
  art_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(art_tcp_bind(&t, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_listen((art_stream_t *)&t, 1, never_connection), 0);
  assert_int_equal(art_tcp_init(loop, &u), 0);
  assert_int_equal(art_accept((art_stream_t *)&t, (art_stream_t *)&u),
                   ART_EAGAIN);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), ART_EINVAL);
  /* A closed handle refuses everything. */
  assert_int_equal(art_tcp_nodelay(&t, 1), ART_EINVAL);
  assert_int_equal(art_write(&wreq, (art_stream_t *)&t, &b, 1, NULL),
                   ART_EINVAL);
  assert_int_equal(art_accept((art_stream_t *)&t, (art_stream_t *)&u),
                   ART_EINVAL);
  art_close((art_handle_t *)&u, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- connect errors and cancellation ---- */

typedef struct {
  art_tcp_t tcp;
  art_connect_t req;
  int status;
  int calls;
  int closed;
  int order; /* 1: connect cb ran before close cb */
} conn_probe_t;

static void probe_connect_cb(art_connect_t *req, int status) {
  conn_probe_t *p = req->handle->data;
  p->status = status;
  p->calls++;
  if (!p->closed)
    p->order = 1;
  if (!art_is_closing((art_handle_t *)req->handle))
    art_close((art_handle_t *)req->handle, NULL);
}

static void probe_close_cb(art_handle_t *h) {
  conn_probe_t *p = h->data;
  p->closed = 1;
}

static int probe_done(void *arg) {
  conn_probe_t *p = arg;
  return p->calls > 0;
}

ART_TEST(connect_refused) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  conn_probe_t p = {0};
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  /* A port that is bound but not listening refuses connections. */
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  art_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  getsockname(fd, (struct sockaddr *)&addr, &len);
  assert_int_equal(art_tcp_init(loop, &p.tcp), 0);
  p.tcp.data = &p;
  assert_int_equal(art_tcp_connect(&p.req, &p.tcp, (struct sockaddr *)&addr,
                                   probe_connect_cb),
                   0);
  assert_int_equal(p.calls, 0); /* never from inside the call */
  assert_int_equal(art_tcp_connect(&p.req, &p.tcp, (struct sockaddr *)&addr,
                                   probe_connect_cb),
                   ART_EALREADY);
  assert_true(art_test_run_until(loop, 5000, probe_done, &p));
  assert_int_equal(p.status, ART_ECONNREFUSED);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(p.calls, 1);
  close(fd);
}

ART_TEST(close_while_connecting) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  conn_probe_t p = {0};
  struct sockaddr_in addr = listen_loopback(loop, &server, echo_connection);
  assert_int_equal(art_tcp_init(loop, &p.tcp), 0);
  p.tcp.data = &p;
  assert_int_equal(art_tcp_connect(&p.req, &p.tcp, (struct sockaddr *)&addr,
                                   probe_connect_cb),
                   0);
  assert_int_equal(art_close((art_handle_t *)&p.tcp, probe_close_cb), 0);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(p.calls, 1);
  assert_int_equal(p.status, ART_ECANCELED);
  assert_int_equal(p.order, 1);
  assert_int_equal(p.closed, 1);
}

/* ---- 10,000 queued writes: order and exactly-once ---- */

#define NWRITES 10000

typedef struct {
  art_tcp_t server, client, conn;
  art_connect_t creq;
  art_write_t reqs[NWRITES];
  uint32_t seq[NWRITES];
  unsigned next_cb; /* index the next write callback must have */
  unsigned cb_calls[NWRITES];
  uint32_t next_read; /* sequence number expected next */
  uint8_t partial[4]; /* bytes of a number split across reads */
  size_t npartial;
  int closed;
} order_t;

static order_t *ord;

static void order_write_cb(art_write_t *req, int status) {
  unsigned i = (unsigned)(req - ord->reqs);
  assert_int_equal(status, 0);
  assert_int_equal(i, ord->next_cb);
  ord->cb_calls[i]++;
  ord->next_cb++;
}

static void order_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  for (ssize_t i = 0; i < n; i++) {
    ord->partial[ord->npartial++] = (uint8_t)buf->base[i];
    if (ord->npartial == 4) {
      uint32_t v;
      memcpy(&v, ord->partial, 4);
      assert_int_equal(v, ord->next_read);
      ord->next_read++;
      ord->npartial = 0;
    }
  }
  free(buf->base);
  if (ord->next_read == NWRITES) {
    art_close((art_handle_t *)&ord->conn, NULL);
    art_close((art_handle_t *)&ord->client, NULL);
    art_close((art_handle_t *)&ord->server, NULL);
  }
}

static void order_connection(art_stream_t *server, int status) {
  assert_int_equal(status, 0);
  assert_int_equal(art_tcp_init(server->loop, &ord->conn), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&ord->conn), 0);
  assert_int_equal(
      art_read_start((art_stream_t *)&ord->conn, helper_alloc, order_read), 0);
}

static void order_connected(art_connect_t *req, int status) {
  assert_int_equal(status, 0);
  /* Queue all of them at once: most are coalesced into few writevs. */
  for (unsigned i = 0; i < NWRITES; i++) {
    ord->seq[i] = i;
    art_buf_t b = art_buf_init((char *)&ord->seq[i], 4);
    int r = art_write(&ord->reqs[i], req->handle, &b, 1, order_write_cb);
    assert_int_equal(r, 0);
  }
}

ART_TEST(ten_thousand_writes_in_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  ord = calloc(1, sizeof(*ord));
  struct sockaddr_in addr =
      listen_loopback(loop, &ord->server, order_connection);
  assert_int_equal(art_tcp_init(loop, &ord->client), 0);
  assert_int_equal(art_tcp_connect(&ord->creq, &ord->client,
                                   (struct sockaddr *)&addr, order_connected),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(ord->next_read, NWRITES);
  assert_int_equal(ord->next_cb, NWRITES);
  for (unsigned i = 0; i < NWRITES; i++)
    assert_int_equal(ord->cb_calls[i], 1);
  free(ord);
}

/* ---- 100 MiB checked byte for byte, with backpressure ---- */

#define BIG_TOTAL (100u << 20)
#define BIG_CHUNK (64u << 10)

typedef struct {
  art_tcp_t server, client, conn;
  art_connect_t creq;
  art_shutdown_t sreq;
  art_write_t wreq[8];
  char out[8][BIG_CHUNK];
  unsigned free_mask;
  size_t sent;
  size_t received;
  size_t max_queue;
  int eof;
  int shutdown_status;
  int shut;
  int full; /* art_stream_needs_drain said wait, drain not yet seen */
} big_t;

static big_t *big;

/* The byte at offset i of the stream: not periodic in the chunk size. */
static inline char pattern(size_t i) {
  return (char)((i * 2654435761u) >> 13);
}

static void big_pump(art_stream_t *s);
static void big_write_cb(art_write_t *req, int status);

static void big_write_cb_pump(art_write_t *req, int status) {
  big_write_cb(req, status);
  big_pump(req->handle);
}

static void big_write_cb(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  big->free_mask |= 1u << (req - big->wreq);
}

static void big_drain(art_stream_t *s) {
  big->full = 0;
  big_pump(s);
}

static void big_shutdown_cb(art_shutdown_t *req, int status) {
  big->shutdown_status = status;
}

/* Writes chunks while the stream takes them and a buffer is free. */
static void big_pump(art_stream_t *s) {
  while (!big->full && big->sent < BIG_TOTAL && big->free_mask != 0) {
    int i = __builtin_ctz(big->free_mask);
    big->free_mask &= ~(1u << i);
    for (size_t k = 0; k < BIG_CHUNK; k++)
      big->out[i][k] = pattern(big->sent + k);
    art_buf_t b = art_buf_init(big->out[i], BIG_CHUNK);
    big->sent += BIG_CHUNK;
    int r = art_write(&big->wreq[i], s, &b, 1, big_write_cb_pump);
    assert_true(r >= 0);
    if (art_stream_write_queue_size(s) > big->max_queue)
      big->max_queue = art_stream_write_queue_size(s);
    if (art_stream_needs_drain(s)) {
      big->full = 1; /* wait for drain */
      return;
    }
  }
  if (big->sent == BIG_TOTAL && !big->shut) {
    big->shut = 1; /* goes out after the queued writes */
    assert_int_equal(art_shutdown(&big->sreq, s, big_shutdown_cb), 0);
  }
}

static void big_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  for (ssize_t i = 0; i < n; i++)
    if (buf->base[i] != pattern(big->received + (size_t)i))
      fail_msg("byte %zu differs", big->received + (size_t)i);
  if (n > 0)
    big->received += (size_t)n;
  if (n == ART_EOF) {
    big->eof = 1;
    art_close((art_handle_t *)&big->conn, NULL);
    art_close((art_handle_t *)&big->client, NULL);
    art_close((art_handle_t *)&big->server, NULL);
  }
  free(buf->base);
}

static void big_connection(art_stream_t *server, int status) {
  assert_int_equal(art_tcp_init(server->loop, &big->conn), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&big->conn), 0);
  assert_int_equal(
      art_read_start((art_stream_t *)&big->conn, helper_alloc, big_read), 0);
}

static void big_connected(art_connect_t *req, int status) {
  assert_int_equal(status, 0);
  art_stream_on_drain(req->handle, big_drain);
  big_pump(req->handle);
}

ART_TEST(transfer_100_mib) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  big = calloc(1, sizeof(*big));
  big->free_mask = 0xff;
  struct sockaddr_in addr = listen_loopback(loop, &big->server, big_connection);
  assert_int_equal(art_tcp_init(loop, &big->client), 0);
  assert_int_equal(art_tcp_connect(&big->creq, &big->client,
                                   (struct sockaddr *)&addr, big_connected),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(big->received, BIG_TOTAL);
  assert_int_equal(big->eof, 1);
  assert_int_equal(big->shutdown_status, 0);
  /* Backpressure held: never more than the mark plus one chunk queued. */
  assert_true(big->max_queue <= 64 * 1024 + BIG_CHUNK);
  free(big);
}

/* ---- running out of fds: the reserve-fd defence ---- */

static int emfile_reports;

static void emfile_connection(art_stream_t *server, int status) {
  if (status == ART_EMFILE || status == ART_ENFILE) {
    emfile_reports++;
    return;
  }
  echo_connection(server, status);
}

static void tick(art_timer_t *t) {}

/* True when every fd of the array saw its connection end. */
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

static int old_fd_echoed;

static int echo_back(void *arg) {
  char buf[8];
  ssize_t n = recv(*(int *)arg, buf, sizeof(buf), MSG_DONTWAIT);
  if (n == 3 && memcmp(buf, "old", 3) == 0)
    old_fd_echoed = 1;
  return old_fd_echoed;
}

static int one_conn(void *arg) {
  return helper_open_conns == 1;
}

ART_TEST(emfile_closes_pending_and_keeps_old_connections) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  art_timer_t timer;
  struct rlimit saved, low;
  int pending[3], dups[64], ndups = 0;
  art_loop_metrics_t m0, m1;
  emfile_reports = 0;
  old_fd_echoed = 0;
  struct sockaddr_in addr = listen_loopback(loop, &server, emfile_connection);
  assert_int_equal(art_timer_init(loop, &timer), 0);
  assert_int_equal(art_timer_start(&timer, tick, 10, 10), 0);
  /* An established connection, accepted before the fds run out. */
  int old = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(connect(old, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_true(art_test_run_until(loop, 5000, one_conn, NULL));
  for (int i = 0; i < 3; i++)
    pending[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  /* Use up every fd under a lowered limit. */
  getrlimit(RLIMIT_NOFILE, &saved);
  low = saved;
  low.rlim_cur = (rlim_t)art_test_fd_count() + 8;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  int fd;
  while (ndups < 64 && (fd = fcntl(0, F_DUPFD_CLOEXEC, 0)) >= 0)
    dups[ndups++] = fd;
  assert_int_equal(errno, EMFILE);
  for (int i = 0; i < 3; i++)
    connect(pending[i], (struct sockaddr *)&addr, sizeof(addr));
  art_loop_metrics(loop, &m0);
  uint64_t t0 = art_hrtime();
  assert_true(art_test_run_until(loop, 5000, all_ended, pending));
  /* The old connection still works. */
  assert_int_equal(send(old, "old", 3, MSG_NOSIGNAL), 3);
  assert_true(art_test_run_until(loop, 5000, echo_back, &old));
  art_loop_metrics(loop, &m1);
  uint64_t ms = (art_hrtime() - t0) / 1000000u;
  /* No spin: iterations come from the 10 ms tick and real events only. */
  assert_true(m1.iterations - m0.iterations < ms / 10 + 40);
  assert_true(emfile_reports >= 1);
  for (int i = 0; i < ndups; i++)
    close(dups[i]);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &saved), 0);
  for (int i = 0; i < 3; i++)
    close(pending[i]);
  close(old);
  art_close((art_handle_t *)&server, NULL);
  art_close((art_handle_t *)&timer, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(helper_open_conns, 0);
}

/* ---- 1,000 connections, one echo round each ---- */

#define NCONN 1000

typedef struct {
  art_tcp_t tcp;
  art_connect_t creq;
  art_write_t wreq;
  char msg[8];
  char got[8];
  size_t ngot;
} many_t;

static int many_done;

static void many_close(art_handle_t *h) {
  many_done++;
}

static void many_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  many_t *c = s->data;
  if (n > 0) {
    memcpy(c->got + c->ngot, buf->base, (size_t)n);
    c->ngot += (size_t)n;
    if (c->ngot == sizeof(c->msg)) {
      assert_memory_equal(c->got, c->msg, sizeof(c->msg));
      art_close((art_handle_t *)s, many_close);
    }
  } else if (n < 0) {
    fail_msg("connection ended early: %s", art_err_name((int)n));
  }
  free(buf->base);
}

static void many_connected(art_connect_t *req, int status) {
  many_t *c = req->handle->data;
  assert_int_equal(status, 0);
  art_buf_t b = art_buf_init(c->msg, sizeof(c->msg));
  assert_int_equal(art_write(&c->wreq, req->handle, &b, 1, NULL), 0);
  assert_int_equal(art_read_start(req->handle, helper_alloc, many_read), 0);
}

static int all_many_done(void *arg) {
  return many_done == NCONN;
}

ART_TEST(thousand_connection_echo_round) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  if (rl.rlim_cur < 2 * NCONN + 64 && rl.rlim_max >= 2 * NCONN + 64) {
    rl.rlim_cur = 2 * NCONN + 64;
    assert_int_equal(setrlimit(RLIMIT_NOFILE, &rl), 0);
  }
  many_done = 0;
  many_t *c = calloc(NCONN, sizeof(*c));
  struct sockaddr_in addr = listen_loopback(loop, &server, echo_connection);
  for (int i = 0; i < NCONN; i++) {
    snprintf(c[i].msg, sizeof(c[i].msg), "m%06d", i);
    c[i].msg[7] = '!';
    assert_int_equal(art_tcp_init(loop, &c[i].tcp), 0);
    c[i].tcp.data = &c[i];
    assert_int_equal(art_tcp_connect(&c[i].creq, &c[i].tcp,
                                     (struct sockaddr *)&addr, many_connected),
                     0);
  }
  assert_true(art_test_run_until(loop, 20000, all_many_done, NULL));
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(helper_open_conns, 0);
  free(c);
}

/* ---- socket options and names ---- */

static art_tcp_t opt_conn;
static int opt_accepted;

static void opt_connection(art_stream_t *server, int status) {
  assert_int_equal(art_tcp_init(server->loop, &opt_conn), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&opt_conn), 0);
  opt_accepted = 1;
}

static void opt_connected(art_connect_t *req, int status) {
  assert_int_equal(status, 0);
}

ART_TEST(options_and_names) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server, client, other;
  art_connect_t creq;
  struct sockaddr_in a1, a2, peer;
  int l1 = sizeof(a1), l2 = sizeof(a2), lp = sizeof(peer);
  opt_accepted = 0;
  struct sockaddr_in addr = listen_loopback(loop, &server, opt_connection);
  /* Without ART_TCP_REUSEPORT the port is taken. */
  assert_int_equal(art_tcp_init(loop, &other), 0);
  assert_int_equal(art_tcp_bind(&other, (struct sockaddr *)&addr, 0),
                   ART_EADDRINUSE);
  art_close((art_handle_t *)&other, NULL);
  assert_int_equal(art_tcp_init(loop, &client), 0);
  assert_int_equal(art_tcp_nodelay(&client, 1), 0); /* before the socket */
  assert_int_equal(
      art_tcp_connect(&creq, &client, (struct sockaddr *)&addr, opt_connected),
      0);
  assert_int_equal(
      art_tcp_connect(&creq, &client, (struct sockaddr *)&addr, opt_connected),
      ART_EALREADY);
  assert_true(art_test_run_until(loop, 5000, flag_set, &opt_accepted));
  art_run(loop, ART_RUN_NOWAIT);
  int on = 0;
  socklen_t len = sizeof(on);
  getsockopt(client.io_.fd, IPPROTO_TCP, TCP_NODELAY, &on, &len);
  assert_true(on);
  assert_int_equal(art_tcp_keepalive(&opt_conn, 1, 30, 5, 3), 0);
  getsockopt(opt_conn.io_.fd, SOL_SOCKET, SO_KEEPALIVE, &on, &len);
  assert_true(on);
  getsockopt(opt_conn.io_.fd, IPPROTO_TCP, TCP_KEEPINTVL, &on, &len);
  assert_int_equal(on, 5);
  assert_int_equal(art_tcp_keepalive(&opt_conn, 0, 0, 0, 0), 0);
  assert_int_equal(art_tcp_getsockname(&client, (struct sockaddr *)&a1, &l1),
                   0);
  assert_int_equal(art_tcp_getpeername(&opt_conn, (struct sockaddr *)&a2, &l2),
                   0);
  assert_int_equal(a1.sin_port, a2.sin_port);
  assert_int_equal(art_tcp_getpeername(&client, (struct sockaddr *)&peer, &lp),
                   0);
  assert_int_equal(peer.sin_port, addr.sin_port);
  assert_int_equal(art_tcp_getpeername(&server, (struct sockaddr *)&peer, &lp),
                   ART_ENOTCONN);
  art_close((art_handle_t *)&client, NULL);
  art_close((art_handle_t *)&opt_conn, NULL);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(reuseport_shares_a_port) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t a, b;
  struct sockaddr_in addr;
  int len = sizeof(addr);
  art_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(art_tcp_init(loop, &a), 0);
  assert_int_equal(art_tcp_init(loop, &b), 0);
  assert_int_equal(
      art_tcp_bind(&a, (struct sockaddr *)&addr, ART_TCP_REUSEPORT), 0);
  assert_int_equal(art_tcp_getsockname(&a, (struct sockaddr *)&addr, &len), 0);
  assert_int_equal(art_listen((art_stream_t *)&a, 8, echo_connection), 0);
  assert_int_equal(
      art_tcp_bind(&b, (struct sockaddr *)&addr, ART_TCP_REUSEPORT), 0);
  assert_int_equal(art_listen((art_stream_t *)&b, 8, echo_connection), 0);
  art_close((art_handle_t *)&a, NULL);
  art_close((art_handle_t *)&b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* art_tcp_open adopts a connected socket made outside the library. */
ART_TEST(open_adopts_connected_socket) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server, t;
  client_t dummy;
  (void)dummy;
  struct sockaddr_in addr = listen_loopback(loop, &server, echo_connection);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(art_tcp_init(loop, &t), 0);
  assert_int_equal(art_tcp_open(&t, fd), 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
  assert_true(art_is_readable((art_stream_t *)&t));
  assert_true(art_is_writable((art_stream_t *)&t));
  assert_int_equal(art_tcp_open(&t, fd), ART_EBUSY);
  art_close((art_handle_t *)&t, NULL);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static int bind_connect_calls, bind_connect_status;

static void bind_connect_cb(art_connect_t *req, int status) {
  (void)req;
  bind_connect_calls++;
  bind_connect_status = status;
}

static void no_connection(art_stream_t *server, int status) {
  (void)server;
  (void)status;
  fail_msg("nothing connects to this listener");
}

/* After a failed bind the socket is bound to nothing: art_listen and
 * art_tcp_connect fail with the bind's error instead of using a port the
 * caller never asked for, until a bind succeeds. A bind with invalid
 * arguments changes nothing. */
ART_TEST(failed_bind_fails_listen_and_connect) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server, t;
  art_connect_t req;
  struct sockaddr_in addr = listen_loopback(loop, &server, no_connection);
  assert_int_equal(art_tcp_init(loop, &t), 0);
  assert_int_equal(art_tcp_bind(&t, (struct sockaddr *)&addr, 0),
                   ART_EADDRINUSE);
  assert_int_equal(art_listen((art_stream_t *)&t, 8, no_connection),
                   ART_EADDRINUSE);
  assert_false(art_is_active((art_handle_t *)&t));
  bind_connect_calls = 0;
  assert_int_equal(
      art_tcp_connect(&req, &t, (struct sockaddr *)&addr, bind_connect_cb), 0);
  assert_int_equal(bind_connect_calls, 0); /* never from inside the call */
  assert_true(art_test_run_until(loop, 5000, flag_set, &bind_connect_calls));
  assert_int_equal(bind_connect_status, ART_EADDRINUSE);
  /* A bind that succeeds clears the error. */
  struct sockaddr_in any, got;
  int len = sizeof(got);
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &any), 0);
  assert_int_equal(art_tcp_bind(&t, (struct sockaddr *)&any, 0), 0);
  assert_int_equal(art_tcp_bind(&t, NULL, 0), ART_EINVAL);
  assert_int_equal(art_listen((art_stream_t *)&t, 8, no_connection), 0);
  assert_int_equal(art_tcp_getsockname(&t, (struct sockaddr *)&got, &len), 0);
  assert_int_not_equal(got.sin_port, addr.sin_port);
  art_close((art_handle_t *)&t, NULL);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}
