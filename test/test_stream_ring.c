/* TCP and Unix-socket streams on an io_uring loop, where they read with a
 * receive into the loop's buffer pool and write with send operations
 * (src/net/stream_ring.c): every byte arrives once and in order through
 * stops, small user buffers, a refused buffer and a pool far smaller than
 * the data; writes then close deliver what the socket took; a close with a
 * receive in the kernel waits for it. Each test puts its loop on io_uring
 * and skips where the kernel gave epoll instead. The peers are plain
 * blocking sockets, some written by a thread (ART_SUITE_THREADS).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"
#include "net/stream.h"

#define SCRATCH (64 * 1024)

/* The byte at offset i of the stream numbered seed: period 251 (a prime),
 * so no power-of-two chunk lines up with it. */
static unsigned char pattern(unsigned seed, size_t i) {
  return (unsigned char)(i % 251 + seed * 3);
}

static void fill(char *p, size_t len, unsigned seed, size_t from) {
  for (size_t i = 0; i < len; i++)
    p[i] = (char)pattern(seed, from + i);
}

/* Puts loop on io_uring, or skips the test where the kernel refused it. */
static void ring_or_skip(art_loop_t *loop) {
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING), 0);
  if (strcmp(art_backend_name(loop), "io_uring") != 0)
    skip();
}

/* ---- Peers ---- */

/* A listening loopback socket for a connected TCP pair. */
static int listen_raw(struct sockaddr_in *addr) {
  socklen_t len = sizeof(*addr);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)addr, sizeof(*addr)), 0);
  assert_int_equal(listen(fd, 128), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)addr, &len), 0);
  return fd;
}

static int connect_raw(const struct sockaddr_in *addr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (const struct sockaddr *)addr, sizeof(*addr)),
                   0);
  return fd;
}

/* A connected pair: *ours for the stream, *peer stays a plain blocking
 * socket. TCP over loopback, or a Unix socketpair. */
static void socket_pair(int tcp, int *ours, int *peer) {
  if (!tcp) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    *ours = sv[0];
    *peer = sv[1];
    return;
  }
  struct sockaddr_in addr;
  int lfd = listen_raw(&addr);
  *peer = connect_raw(&addr);
  *ours = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  assert_true(*ours >= 0);
  close(lfd);
}

/* Writes len bytes of the seed's pattern to fd, then closes it. */
typedef struct {
  int fd;
  unsigned seed;
  size_t len;
  pthread_t thread;
} sender_t;

static void *send_all(void *arg) {
  sender_t *sd = arg;
  static __thread char chunk[SCRATCH];
  size_t off = 0;
  while (off < sd->len) {
    size_t n = sd->len - off < sizeof(chunk) ? sd->len - off : sizeof(chunk);
    fill(chunk, n, sd->seed, off);
    ssize_t w = send(sd->fd, chunk, n, MSG_NOSIGNAL);
    if (w <= 0)
      break; /* the reader's failure shows in its count */
    off += (size_t)w;
  }
  close(sd->fd);
  return NULL;
}

static void start_sender(sender_t *sd, int fd, unsigned seed, size_t len) {
  sd->fd = fd;
  sd->seed = seed;
  sd->len = len;
  assert_int_equal(pthread_create(&sd->thread, NULL, send_all, sd), 0);
}

/* ---- A reader that checks the pattern ---- */

typedef struct {
  union {
    art_stream_t stream;
    art_tcp_t tcp;
    art_pipe_t pipe;
  } h;
  art_timer_t resume; /* restarts reading after a stop in read_cb */
  unsigned seed;      /* the pattern expected; -1u: from the first byte */
  size_t got;         /* bytes received and checked */
  size_t alloc_len;   /* the buffer alloc_cb gives (SCRATCH at most) */
  int refuse_allocs;  /* alloc_cb gives no buffer this many times */
  int stop_in_read;   /* read_stop in each read_cb, start again later */
  int reads, eofs, enobufs, errors, after_eof, bad_bytes, closed;
  void *other; /* cross_read: the reader it stops */
  int stopped; /* cross_read: stopped by the other */
  char scratch[SCRATCH];
} reader_t;

static void reader_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  reader_t *r = h->data;
  if (r->refuse_allocs > 0) {
    r->refuse_allocs--;
    buf->base = NULL;
    buf->len = 0;
    return;
  }
  size_t len = r->alloc_len < suggested ? r->alloc_len : suggested;
  buf->base = r->scratch;
  buf->len = len;
}

static void reader_read(art_stream_t *s, ssize_t n, const art_buf_t *buf);

static void resume_reading(art_timer_t *t) {
  reader_t *r = t->data;
  assert_int_equal(art_read_start(&r->h.stream, reader_alloc, reader_read), 0);
}

static void reader_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  reader_t *r = s->data;
  if (r->eofs > 0)
    r->after_eof++;
  if (n == ART_EOF) {
    r->eofs++;
    return;
  }
  if (n == ART_ENOBUFS) {
    r->enobufs++;
    return;
  }
  if (n < 0) {
    r->errors++;
    return;
  }
  if (n == 0)
    return;
  assert_ptr_equal(buf->base, r->scratch);
  if (r->seed == -1u)
    r->seed = (unsigned char)buf->base[0] / 3; /* the sender's number */
  for (ssize_t i = 0; i < n; i++)
    if ((unsigned char)buf->base[i] != pattern(r->seed, r->got + (size_t)i))
      r->bad_bytes++;
  r->got += (size_t)n;
  r->reads++;
  if (r->stop_in_read)
    assert_int_equal(art_read_stop(s), 0);
  if (r->stop_in_read == 1)
    assert_int_equal(art_timer_start(&r->resume, resume_reading, 0, 0), 0);
}

static void reader_closed(art_handle_t *h) {
  ((reader_t *)h->data)->closed++;
}

static reader_t *reader_new(art_loop_t *loop, unsigned seed) {
  reader_t *r = calloc(1, sizeof(*r));
  assert_non_null(r);
  r->seed = seed;
  r->alloc_len = SCRATCH;
  assert_int_equal(art_timer_init(loop, &r->resume), 0);
  r->resume.data = r;
  return r;
}

/* A reader on our end of a new pair: TCP or a Unix-socket pipe. */
static reader_t *reader_open(art_loop_t *loop, int tcp, unsigned seed,
                             int *peer) {
  int ours;
  reader_t *r = reader_new(loop, seed);
  socket_pair(tcp, &ours, peer);
  if (tcp) {
    assert_int_equal(art_tcp_init(loop, &r->h.tcp), 0);
    assert_int_equal(art_tcp_open(&r->h.tcp, ours), 0);
  } else {
    assert_int_equal(art_pipe_init(loop, &r->h.pipe, 0), 0);
    assert_int_equal(art_pipe_open(&r->h.pipe, ours), 0);
  }
  r->h.stream.data = r;
  return r;
}

static void reader_start(reader_t *r) {
  assert_int_equal(art_read_start(&r->h.stream, reader_alloc, reader_read), 0);
  assert_non_null(r->h.stream.ring_); /* reads as completions, not readiness */
}

/* Closes the reader and runs the loop until nothing is left. */
static void reader_finish(art_loop_t *loop, reader_t *r) {
  art_close((art_handle_t *)&r->resume, NULL);
  art_close((art_handle_t *)&r->h.stream, reader_closed);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(r->closed, 1);
  free(r);
}

static int got_eof(void *arg) {
  return ((reader_t *)arg)->eofs > 0;
}

/* The whole of len bytes, in order, then one end of stream, nothing else. */
static void assert_complete(const reader_t *r, size_t len) {
  assert_int_equal(r->bad_bytes, 0);
  assert_int_equal(r->got, len);
  assert_int_equal(r->eofs, 1);
  assert_int_equal(r->after_eof, 0);
  assert_int_equal(r->errors, 0);
}

/* ---- Write, then close in the same callback ---- */

static int order, write_seen, write_status, write_calls, close_seen,
    after_close;

static void note_write(art_write_t *req, int status) {
  (void)req;
  if (close_seen)
    after_close++;
  write_calls++;
  write_status = status;
  write_seen = ++order;
}

static void note_close(art_handle_t *h) {
  (void)h;
  close_seen = ++order;
}

typedef struct {
  art_tcp_t tcp;
  art_tcp_t server;
  art_write_t req;
  char *data;
  size_t len;
} writer_t;

static void write_and_close(art_stream_t *server, int status) {
  writer_t *w = server->data;
  assert_int_equal(status, 0);
  assert_int_equal(art_tcp_init(server->loop, &w->tcp), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&w->tcp), 0);
  art_close((art_handle_t *)server, NULL);
  art_buf_t b = art_buf_init(w->data, w->len);
  assert_int_equal(
      art_write(&w->req, (art_stream_t *)&w->tcp, &b, 1, note_write), 0);
  assert_non_null(w->tcp.ring_); /* a send operation, not a write(2) */
  art_close((art_handle_t *)&w->tcp, note_close);
}

/* Accepts one connection and, in the connection callback, writes len bytes
 * and closes. Returns what the peer then reads until the end of stream;
 * checks it is the start of the pattern. */
static size_t write_close_and_collect(art_loop_t *loop, size_t len) {
  writer_t w;
  struct sockaddr_in addr;
  int alen = sizeof(addr);
  order = write_seen = write_calls = close_seen = after_close = 0;
  write_status = 1;
  w.len = len;
  w.data = malloc(len);
  assert_non_null(w.data);
  fill(w.data, len, 5, 0);
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_tcp_init(loop, &w.server), 0);
  w.server.data = &w;
  assert_int_equal(art_tcp_bind(&w.server, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_listen((art_stream_t *)&w.server, 8, write_and_close),
                   0);
  assert_int_equal(
      art_tcp_getsockname(&w.server, (struct sockaddr *)&addr, &alen), 0);
  int peer = connect_raw(&addr); /* not read until the loop is done */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(loop), 0);
  assert_int_equal(art_loop_init(loop), 0); /* for the harness's own check */
  size_t total = 0;
  char *back = malloc(SCRATCH);
  for (;;) {
    ssize_t n = recv(peer, back, SCRATCH, 0);
    assert_true(n >= 0);
    if (n == 0)
      break;
    assert_true(total + (size_t)n <= len);
    assert_memory_equal(back, w.data + total, (size_t)n);
    total += (size_t)n;
  }
  free(back);
  free(w.data);
  close(peer);
  return total;
}

/* A write the socket takes whole, closed in the callback that wrote it:
 * the send goes out before the close, its callback says 0 and runs before
 * the close callback, and the peer reads every byte. */
ART_TEST(small_write_then_close_delivers_every_byte) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  ring_or_skip(loop);
  size_t got = write_close_and_collect(loop, 48 * 1024);
  assert_int_equal(got, 48 * 1024);
  assert_int_equal(write_calls, 1);
  assert_int_equal(write_status, 0);
  assert_int_equal(write_seen, 1);
  assert_int_equal(close_seen, 2);
  assert_int_equal(after_close, 0);
}

/* 32 MiB to a peer that does not read, closed at once: the socket takes
 * part of it; the write's callback runs once, before the close callback,
 * with ART_ECANCELED, and the peer reads exactly a prefix that is shorter
 * than the write. */
ART_TEST(large_write_then_close_cancels_the_rest_once) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  ring_or_skip(loop);
  size_t len = 32u << 20;
  size_t got = write_close_and_collect(loop, len);
  assert_int_equal(write_calls, 1);
  assert_int_equal(write_status, ART_ECANCELED);
  assert_int_equal(write_seen, 1);
  assert_int_equal(close_seen, 2);
  assert_int_equal(after_close, 0);
  assert_true(got > 0);
  assert_true(got < len);
}

/* ---- Stop and start again ---- */

/* 4 MiB through a stream that stops in every read callback (with buffers
 * of 4093 bytes, so a pool buffer is usually cut across a stop and its
 * rest kept) and starts again from a timer: every byte once, in order,
 * then one end of stream. */
static void stop_in_every_read(art_loop_t *loop, int tcp) {
  sender_t sd;
  int peer;
  size_t len = 4u << 20;
  ring_or_skip(loop);
  reader_t *r = reader_open(loop, tcp, 9, &peer);
  r->alloc_len = 4093;
  r->stop_in_read = 1;
  reader_start(r);
  start_sender(&sd, peer, 9, len);
  assert_true(art_test_run_until(loop, 60000, got_eof, r));
  assert_int_equal(pthread_join(sd.thread, NULL), 0);
  assert_complete(r, len);
  assert_true(r->reads >= (int)(len / 4093));
  reader_finish(loop, r);
}

ART_TEST(read_stop_in_read_cb_loses_nothing_unix) {
  stop_in_every_read(ART_TEST_LOOP(state), 0);
}

ART_TEST(read_stop_in_read_cb_loses_nothing_tcp) {
  stop_in_every_read(ART_TEST_LOOP(state), 1);
}

static int got_bytes(void *arg) {
  reader_t *r = arg;
  return r->got > 0;
}

/* The stream stops in its first read callback; while it is stopped the
 * peer sends the rest and closes. Nothing is delivered while stopped; at
 * the next start, the rest in order and one end of stream. */
static void end_while_stopped(art_loop_t *loop, int tcp) {
  int peer;
  size_t first = 1000, len = 40 * 1024;
  ring_or_skip(loop);
  char *data = malloc(len);
  fill(data, len, 4, 0);
  reader_t *r = reader_open(loop, tcp, 4, &peer);
  r->stop_in_read = 2;
  reader_start(r);
  assert_int_equal(send(peer, data, first, MSG_NOSIGNAL), (ssize_t)first);
  assert_true(art_test_run_until(loop, 5000, got_bytes, r));
  r->stop_in_read = 0;
  size_t seen = r->got;
  assert_true(seen <= first);
  assert_int_equal(send(peer, data + first, len - first, MSG_DONTWAIT),
                   (ssize_t)(len - first));
  close(peer);
  for (int i = 0; i < 20; i++)
    art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(r->got, seen);
  assert_int_equal(r->eofs, 0);
  assert_int_equal(art_timer_start(&r->resume, resume_reading, 0, 0), 0);
  assert_true(art_test_run_until(loop, 5000, got_eof, r));
  assert_complete(r, len);
  free(data);
  reader_finish(loop, r);
}

ART_TEST(end_of_stream_while_stopped_comes_once_after_the_bytes_unix) {
  end_while_stopped(ART_TEST_LOOP(state), 0);
}

ART_TEST(end_of_stream_while_stopped_comes_once_after_the_bytes_tcp) {
  end_while_stopped(ART_TEST_LOOP(state), 1);
}

/* A stop from outside the read callbacks, while the receive is in the
 * ring, and the peer's bytes and end come between the stop and the next
 * start, over and over: the cancel and the data race, nothing is lost. */
static void stopped_stop_start_cycles(art_loop_t *loop, int tcp) {
  int peer;
  size_t step = 3000, len = 0;
  ring_or_skip(loop);
  char *data = malloc(SCRATCH);
  reader_t *r = reader_open(loop, tcp, 6, &peer);
  reader_start(r);
  for (int i = 0; i < 40; i++) {
    art_run(loop, ART_RUN_NOWAIT); /* the receive goes in */
    fill(data, step, 6, len);
    assert_int_equal(send(peer, data, step, MSG_DONTWAIT), (ssize_t)step);
    len += step;
    assert_int_equal(art_read_stop(&r->h.stream), 0);
    if (i == 39)
      close(peer);
    art_run(loop, ART_RUN_NOWAIT);
    assert_int_equal(art_read_start(&r->h.stream, reader_alloc, reader_read),
                     0);
  }
  assert_true(art_test_run_until(loop, 5000, got_eof, r));
  assert_complete(r, len);
  free(data);
  reader_finish(loop, r);
}

ART_TEST(stop_with_receive_in_ring_loses_nothing_unix) {
  stopped_stop_start_cycles(ART_TEST_LOOP(state), 0);
}

ART_TEST(stop_with_receive_in_ring_loses_nothing_tcp) {
  stopped_stop_start_cycles(ART_TEST_LOOP(state), 1);
}

/* Each stream stops the other from its own read callback. When both
 * receives completed in the same wait, the second one's completion is
 * handled on a stream that no longer reads: its bytes, or its end of
 * stream, are the stream's already and must wait for its next start. */
static void cross_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  reader_t *r = s->data, *o = r->other;
  reader_read(s, n, buf);
  if (!r->stopped && !o->stopped) {
    o->stopped = 1;
    assert_int_equal(art_read_stop(&o->h.stream), 0);
  }
}

static int one_stopped_other_ended(void *arg) {
  reader_t **rs = arg;
  for (int i = 0; i < 2; i++)
    if (rs[i]->stopped && rs[1 - i]->eofs > 0)
      return 1;
  return 0;
}

static void stopped_by_the_other(art_loop_t *loop, size_t len) {
  int peers[2];
  reader_t *rs[2];
  char data[256];
  ring_or_skip(loop);
  fill(data, sizeof(data), 3, 0);
  for (int i = 0; i < 2; i++)
    rs[i] = reader_open(loop, 0, 3, &peers[i]);
  for (int i = 0; i < 2; i++) {
    rs[i]->other = rs[1 - i];
    assert_int_equal(art_read_start(&rs[i]->h.stream, reader_alloc, cross_read),
                     0);
  }
  art_run(loop, ART_RUN_NOWAIT); /* both receives go in */
  for (int i = 0; i < 2; i++) {
    if (len > 0)
      assert_int_equal(send(peers[i], data, len, 0), (ssize_t)len);
    close(peers[i]);
  }
  assert_true(art_test_run_until(loop, 5000, one_stopped_other_ended, rs));
  reader_t *x = rs[0]->stopped ? rs[0] : rs[1];
  for (int i = 0; i < 20; i++)
    art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(x->eofs, 0); /* nothing ends a stopped stream */
  assert_int_equal(art_read_start(&x->h.stream, reader_alloc, reader_read), 0);
  assert_true(art_test_run_until(loop, 5000, got_eof, x));
  for (int i = 0; i < 2; i++) {
    assert_complete(rs[i], len);
    reader_finish(loop, rs[i]);
  }
}

ART_TEST(end_of_stream_taken_while_stopped_by_another_comes_at_start) {
  stopped_by_the_other(ART_TEST_LOOP(state), 0);
}

ART_TEST(bytes_taken_while_stopped_by_another_come_at_start) {
  stopped_by_the_other(ART_TEST_LOOP(state), 200);
}

/* ---- A pool far smaller than the data ---- */

#define CONNS     64
#define CONN_DATA (32 * 1024)

static reader_t *conns[CONNS];
static int nconns;

static void accept_reader(art_stream_t *server, int status) {
  assert_int_equal(status, 0);
  assert_true(nconns < CONNS);
  reader_t *r = reader_new(server->loop, -1u);
  assert_int_equal(art_tcp_init(server->loop, &r->h.tcp), 0);
  r->h.stream.data = r;
  assert_int_equal(art_accept(server, &r->h.stream), 0);
  conns[nconns++] = r;
  reader_start(r);
}

static int all_ended(void *arg) {
  (void)arg;
  if (nconns < CONNS)
    return 0;
  for (int i = 0; i < CONNS; i++)
    if (conns[i]->eofs == 0)
      return 0;
  return 1;
}

/* Two buffers of 512 bytes for 64 connections whose 32 KiB each are all
 * in the sockets before the first receive: receives find the pool dry and
 * read their sockets directly, and every connection gets all of its bytes,
 * in order. */
ART_TEST(tiny_pool_many_connections_every_byte_arrives) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t server;
  struct sockaddr_in addr;
  int alen = sizeof(addr), clients[CONNS], seen[CONNS] = {0};
  ring_or_skip(loop);
  char *data = malloc(CONN_DATA);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 2), 0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 512), 0);
  nconns = 0;
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_tcp_init(loop, &server), 0);
  assert_int_equal(art_tcp_bind(&server, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_listen((art_stream_t *)&server, CONNS, accept_reader),
                   0);
  assert_int_equal(
      art_tcp_getsockname(&server, (struct sockaddr *)&addr, &alen), 0);
  for (int i = 0; i < CONNS; i++) {
    clients[i] = connect_raw(&addr);
    fill(data, CONN_DATA, (unsigned)i, 0);
    assert_int_equal(send(clients[i], data, CONN_DATA, MSG_DONTWAIT),
                     CONN_DATA);
    assert_int_equal(shutdown(clients[i], SHUT_WR), 0);
  }
  assert_true(art_test_run_until(loop, 20000, all_ended, NULL));
  for (int i = 0; i < CONNS; i++) {
    reader_t *r = conns[i];
    assert_true(r->seed < CONNS);
    assert_int_equal(seen[r->seed]++, 0);
    assert_complete(r, CONN_DATA);
    art_close((art_handle_t *)&r->resume, NULL);
    art_close((art_handle_t *)&r->h.stream, reader_closed);
  }
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < CONNS; i++) {
    assert_int_equal(conns[i]->closed, 1);
    free(conns[i]);
    close(clients[i]);
  }
  free(data);
}

/* A pool far smaller than the connections with bytes waiting does not
 * ration them: a receive that finds the pool dry reads its socket at once
 * (stream_ring.c, note 4), so the first wait serves all 64 connections
 * instead of the pool's two, and the bytes are whole and in order. */
#define DRY     64
#define DRY_LEN 100
ART_TEST(dry_pool_serves_every_waiting_connection_in_one_wait) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  reader_t *r[DRY];
  int peer[DRY], waits = 0;
  char data[DRY_LEN];
  ring_or_skip(loop);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 2), 0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 512), 0);
  for (int i = 0; i < DRY; i++) {
    r[i] = reader_open(loop, 0, (unsigned)i, &peer[i]);
    reader_start(r[i]);
  }
  art_run(loop, ART_RUN_NOWAIT); /* the receives wait in the kernel */
  for (int i = 0; i < DRY; i++) {
    fill(data, DRY_LEN, (unsigned)i, 0);
    assert_int_equal(write(peer[i], data, DRY_LEN), DRY_LEN);
  }
  size_t total = 0;
  while (total < DRY * DRY_LEN && waits < 1000) {
    art_run(loop, ART_RUN_ONCE);
    waits++;
    total = 0;
    for (int i = 0; i < DRY; i++)
      total += r[i]->got;
  }
  for (int i = 0; i < DRY; i++) {
    assert_int_equal(r[i]->got, DRY_LEN);
    assert_int_equal(r[i]->bad_bytes, 0);
    assert_int_equal(r[i]->errors + r[i]->enobufs + r[i]->eofs, 0);
  }
  assert_true(waits <= 2);
  /* The diagnostic report counts those receives, for sizing the pool:
   * all but the pool's two found it dry, some perhaps more than once. */
  static char report[1 << 16];
  static const char prefix[] =
      "\"read_pool\":{\"buffers\":2,\"buffer_size\":512,\"made\":true,"
      "\"dry_receives\":";
  size_t len = sizeof(report);
  assert_int_equal(art_loop_report(loop, report, &len), 0);
  const char *pool = strstr(report, prefix);
  assert_non_null(pool);
  assert_true(strtoull(pool + sizeof(prefix) - 1, NULL, 10) >= DRY - 2);
  for (int i = 0; i < DRY; i++) {
    art_close((art_handle_t *)&r[i]->resume, NULL);
    art_close((art_handle_t *)&r[i]->h.stream, reader_closed);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < DRY; i++) {
    assert_int_equal(r[i]->closed, 1);
    free(r[i]);
    close(peer[i]);
  }
}

/* ---- The pool's options ---- */

static void assert_pool_ranges(art_loop_t *loop) {
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 0),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 3),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 65536),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, -2),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 0),
                   ART_EINVAL);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 100),
                   ART_EINVAL);
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 2l << 20),
      ART_EINVAL);
}

/* Opens a stream on a socketpair and starts reading it, which makes an
 * io_uring loop's pool; returns the stream to close. */
static art_pipe_t *read_once_started(art_loop_t *loop, int *peer) {
  int ours;
  art_pipe_t *p = malloc(sizeof(*p));
  socket_pair(0, &ours, peer);
  assert_int_equal(art_pipe_init(loop, p, 0), 0);
  assert_int_equal(art_pipe_open(p, ours), 0);
  assert_int_equal(art_read_start((art_stream_t *)p, reader_alloc, reader_read),
                   0);
  return p;
}

static void free_handle(art_handle_t *h) {
  free(h);
}

/* Out-of-range values are refused on every backend; in range, readiness
 * backends take them and have no use for them, before and after reads. */
ART_TEST(pool_options_checked_on_every_backend) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static const long kinds[] = {ART_BACKEND_EPOLL, ART_BACKEND_POLL,
                               ART_BACKEND_IO_URING};
  for (unsigned k = 0; k < ART_ARRAY_SIZE(kinds); k++) {
    assert_int_equal(art_loop_configure(loop, ART_LOOP_BACKEND, kinds[k]), 0);
    assert_pool_ranges(loop);
    if (kinds[k] == ART_BACKEND_IO_URING)
      continue;
    int peer;
    assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 32768), 0);
    assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 1), 0);
    assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 512),
                     0);
    art_pipe_t *p = read_once_started(loop, &peer);
    assert_null(p->ring_);
    assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 64), 0);
    assert_int_equal(
        art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 1l << 20), 0);
    art_close((art_handle_t *)p, free_handle);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    close(peer);
  }
}

/* On io_uring the pool is made at the first read: settings before it are
 * taken, after it refused with ART_EBUSY (out of range stays ART_EINVAL). */
ART_TEST(pool_options_refused_once_the_pool_is_made) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer;
  ring_or_skip(loop);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 4), 0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 1024),
                   0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 8), 0);
  art_pipe_t *p = read_once_started(loop, &peer);
  assert_non_null(p->ring_);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 4),
                   ART_EBUSY);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 1024),
                   ART_EBUSY);
  assert_pool_ranges(loop);
  art_close((art_handle_t *)p, free_handle);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(peer);
}

/* The child's side of pool_options_survive_loop_fork: reads 4096 bytes
 * sent at once and exits 0 if the first read callback had 512 of them
 * (a receive filled one 512-byte pool buffer, the rest was drained), 1 if
 * it had more (the default pool's 16 KiB buffer took them all), 2 if it
 * could not tell. No cmocka here: a child must not unwind into the
 * parent's test. */
static size_t first_read;

static void note_first(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  reader_t *r = s->data;
  (void)buf;
  if (n > 0 && first_read == 0)
    first_read = (size_t)n;
  if (n > 0)
    r->got += (size_t)n;
}

static int child_reads_with_pool(art_loop_t *loop, int forked) {
  int sv[2];
  char data[4096] = {0};
  static reader_t r;
  if ((forked && art_loop_fork(loop) != 0) ||
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0 ||
      art_pipe_init(loop, &r.h.pipe, 0) != 0 ||
      art_pipe_open(&r.h.pipe, sv[0]) != 0)
    return 2;
  r.h.stream.data = &r;
  r.alloc_len = SCRATCH;
  if (art_read_start(&r.h.stream, reader_alloc, note_first) != 0 ||
      r.h.stream.ring_ == NULL ||
      send(sv[1], data, sizeof(data), 0) != (ssize_t)sizeof(data))
    return 2;
  while (r.got < sizeof(data))
    art_run(loop, ART_RUN_ONCE);
  return first_read == 512 ? 0 : 1;
}

/* Pool options set before art_loop_fork hold in the child's loop too: its
 * new ring's pool is made with them, not with the defaults. */
ART_TEST(pool_options_survive_loop_fork) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int status;
  ring_or_skip(loop);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFERS, 2), 0);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 512), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(child_reads_with_pool(loop, 1));
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* The child of pool_options_survive_a_backend_move: a loop of its own,
 * configured on epoll, then moved to io_uring (3: no ring here). */
static int child_moves_then_reads(void) {
  static art_loop_t loop;
  if (art_loop_init(&loop) != 0 ||
      art_loop_configure(&loop, ART_LOOP_BACKEND, ART_BACKEND_EPOLL) != 0 ||
      art_loop_configure(&loop, ART_LOOP_READ_BUFFERS, 2) != 0 ||
      art_loop_configure(&loop, ART_LOOP_READ_BUFFER_SIZE, 512) != 0 ||
      art_loop_configure(&loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING) != 0)
    return 2;
  if (strcmp(art_backend_name(&loop), "io_uring") != 0)
    return 3;
  return child_reads_with_pool(&loop, 0);
}

/* Pool options given while the loop is on another backend hold when it
 * moves to io_uring: the loop keeps them for every backend it gets. */
ART_TEST(pool_options_survive_a_backend_move) {
  int status;
  (void)state;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(child_moves_then_reads());
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  if (WEXITSTATUS(status) == 3)
    skip();
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* The child of a_reading_stream_keeps_reading_after_loop_fork: the
 * parent's receive, in flight at the fork, ends canceled in the child's
 * new ring, which has no pool yet; the stream must receive again there
 * (the pool made by that receive) and get the peer's bytes: 0, else 1
 * (never read), 2 (wrong bytes). */
static art_pipe_t fork_reader;
static size_t fork_got;
static char fork_buf[64];

static void fork_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  (void)s;
  (void)buf;
  if (n > 0)
    fork_got += (size_t)n;
}

static void fork_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = art_buf_init(fork_buf + fork_got, sizeof(fork_buf) - fork_got);
}

static int child_reads_on(art_loop_t *loop, int peer) {
  if (art_loop_fork(loop) != 0)
    return 1;
  if (send(peer, "after fork", 10, 0) != 10)
    return 1;
  for (int i = 0; i < 2000 && fork_got < 10; i++)
    art_run(loop, ART_RUN_ONCE);
  if (fork_got != 10)
    return 1;
  return memcmp(fork_buf, "after fork", 10) == 0 ? 0 : 2;
}

/* A stream reading in the ring when the process forks keeps reading in
 * the child after art_loop_fork; in the parent it reads on as before. */
ART_TEST(a_reading_stream_keeps_reading_after_loop_fork) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int ours, peer, status;
  ring_or_skip(loop);
  socket_pair(0, &ours, &peer);
  assert_int_equal(art_pipe_init(loop, &fork_reader, 0), 0);
  assert_int_equal(art_pipe_open(&fork_reader, ours), 0);
  fork_got = 0;
  assert_int_equal(
      art_read_start((art_stream_t *)&fork_reader, fork_alloc, fork_read), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1); /* the receive is in */
  assert_true(art__op_in_flight(&fork_reader.ring_->recv));
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(child_reads_on(loop, peer));
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  /* The child took the bytes; the parent's stream still reads. */
  assert_int_equal(send(peer, "parent", 6, 0), 6);
  while (fork_got < 6)
    assert_int_equal(art_run(loop, ART_RUN_ONCE), 1);
  assert_memory_equal(fork_buf, "parent", 6);
  art_close((art_handle_t *)&fork_reader, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(peer);
}

/* ---- A close that waits for the kernel ---- */

static int walk_found, walk_closing;
static art_handle_t *walk_target;

static void find_target(art_handle_t *h, void *arg) {
  (void)arg;
  if (h == walk_target) {
    walk_found++;
    walk_closing += art_is_closing(h);
  }
}

static void walk_for(art_loop_t *loop, art_handle_t *h) {
  walk_found = walk_closing = 0;
  walk_target = h;
  art_walk(loop, find_target, NULL);
}

static void close_now(art_immediate_t *im) {
  reader_t *r = im->data;
  art_close((art_handle_t *)&r->resume, NULL);
  art_close((art_handle_t *)&r->h.stream, reader_closed);
}

static void walk_at_close(art_handle_t *h) {
  reader_t *r = h->data;
  r->closed++;
  walk_for(h->loop, h); /* finished: no longer the loop's */
  assert_int_equal(walk_found, 0);
}

static void close_now_walking(art_immediate_t *im) {
  reader_t *r = im->data;
  art_close((art_handle_t *)&r->resume, NULL);
  art_close((art_handle_t *)&r->h.stream, walk_at_close);
}

/* Closed from the check phase with its receive in the kernel, the stream
 * is parked by that iteration's close phase: art_walk shows it closing,
 * art_loop_close says ART_EBUSY, no close callback yet. The next wait
 * reaps the canceled receive, and the close callback runs. */
static void parked_close(art_loop_t *loop, int tcp) {
  int peer;
  art_immediate_t im;
  ring_or_skip(loop);
  reader_t *r = reader_open(loop, tcp, 0, &peer);
  reader_start(r);
  art_run(loop, ART_RUN_NOWAIT); /* the receive goes in and waits */
  assert_true(art__op_in_flight(&r->h.stream.ring_->recv));
  im.data = r;
  assert_int_equal(art_immediate_start(loop, &im, close_now_walking), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_true(r->h.stream.flags_ & ART__H_PARKED);
  assert_int_equal(r->closed, 0);
  walk_for(loop, (art_handle_t *)&r->h.stream);
  assert_int_equal(walk_found, 1);
  assert_int_equal(walk_closing, 1);
  assert_int_equal(art_loop_close(loop), ART_EBUSY);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(r->closed, 1);
  walk_for(loop, (art_handle_t *)&r->h.stream);
  assert_int_equal(walk_found, 0);
  assert_int_equal(r->reads + r->eofs + r->errors + r->enobufs, 0);
  assert_int_equal(art_loop_close(loop), 0);
  assert_int_equal(art_loop_init(loop), 0); /* for the harness's own check */
  close(peer);
  free(r);
}

ART_TEST(close_with_receive_in_kernel_parks_until_it_ends_unix) {
  parked_close(ART_TEST_LOOP(state), 0);
}

ART_TEST(close_with_receive_in_kernel_parks_until_it_ends_tcp) {
  parked_close(ART_TEST_LOOP(state), 1);
}

/* The same close made right after art_close's caller, outside art_run:
 * ART_EBUSY before the loop runs, 0 after, the close callback once. */
ART_TEST(close_outside_run_busy_until_run) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer;
  art_immediate_t im;
  ring_or_skip(loop);
  reader_t *r = reader_open(loop, 0, 0, &peer);
  reader_start(r);
  art_run(loop, ART_RUN_NOWAIT);
  im.data = r;
  close_now(&im);
  assert_int_equal(art_loop_close(loop), ART_EBUSY);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(r->closed, 1);
  assert_int_equal(art_loop_close(loop), 0);
  assert_int_equal(art_loop_init(loop), 0);
  close(peer);
  free(r);
}

/* ---- The user's buffers ---- */

/* alloc_cb gives 7 bytes at a time for 256 KiB: each pool buffer is
 * spread over many read callbacks, and every byte arrives in order. */
static void seven_byte_buffers(art_loop_t *loop, int tcp) {
  sender_t sd;
  int peer;
  size_t len = 256 * 1024;
  ring_or_skip(loop);
  reader_t *r = reader_open(loop, tcp, 2, &peer);
  r->alloc_len = 7;
  reader_start(r);
  start_sender(&sd, peer, 2, len);
  assert_true(art_test_run_until(loop, 60000, got_eof, r));
  assert_int_equal(pthread_join(sd.thread, NULL), 0);
  assert_complete(r, len);
  assert_true(r->reads >= (int)((len + 6) / 7));
  reader_finish(loop, r);
}

ART_TEST(seven_byte_buffers_get_every_byte_in_order_unix) {
  seven_byte_buffers(ART_TEST_LOOP(state), 0);
}

ART_TEST(seven_byte_buffers_get_every_byte_in_order_tcp) {
  seven_byte_buffers(ART_TEST_LOOP(state), 1);
}

/* alloc_cb gives no buffer once: read_cb hears ART_ENOBUFS once, the
 * stream goes on reading, and the bytes arrive whole and in order. */
static void refused_buffer(art_loop_t *loop, int tcp) {
  sender_t sd;
  int peer;
  size_t len = 1u << 20;
  ring_or_skip(loop);
  reader_t *r = reader_open(loop, tcp, 8, &peer);
  r->refuse_allocs = 1;
  reader_start(r);
  start_sender(&sd, peer, 8, len);
  assert_true(art_test_run_until(loop, 60000, got_eof, r));
  assert_int_equal(pthread_join(sd.thread, NULL), 0);
  assert_int_equal(r->enobufs, 1);
  assert_complete(r, len);
  reader_finish(loop, r);
}

ART_TEST(refused_buffer_reports_enobufs_once_and_loses_nothing_unix) {
  refused_buffer(ART_TEST_LOOP(state), 0);
}

ART_TEST(refused_buffer_reports_enobufs_once_and_loses_nothing_tcp) {
  refused_buffer(ART_TEST_LOOP(state), 1);
}

/* ---- A send the ring refuses ---- */

/* The io_uring backend with its sends refused at submit (the ring short
 * of room), so that a stream's write takes the system call's path. */
static art__backend_ops_t no_send_ops;

static int no_send_submit(void *state, art__op_t *op) {
  if (op->kind == ART__OP_SEND || op->kind == ART__OP_SENDMSG)
    return ART_EAGAIN;
  return art__backend_of_kind(ART_BACKEND_IO_URING)->submit(state, op);
}

static int sent_calls, sent_status;

static void note_sent(art_write_t *req, int status) {
  (void)req;
  sent_calls++;
  sent_status = status;
}

/* A write whose send the ring refused is written by send(2) at once; its
 * callback still runs, once, from the loop, and the loop then ends. */
ART_TEST(write_with_send_refused_by_the_ring_calls_back) {
  art_loop_t loop;
  art_pipe_t p;
  art_write_t req;
  int ours, peer;
  char data[100], back[200];
  (void)state;
  no_send_ops = *art__backend_of_kind(ART_BACKEND_IO_URING);
  no_send_ops.submit = no_send_submit;
  assert_int_equal(art__loop_init_with(&loop, &no_send_ops), 0);
  if (strcmp(art_backend_name(&loop), "io_uring") != 0) {
    assert_int_equal(art_loop_close(&loop), 0);
    skip();
  }
  socket_pair(0, &ours, &peer);
  assert_int_equal(art_pipe_init(&loop, &p, 0), 0);
  assert_int_equal(art_pipe_open(&p, ours), 0);
  assert_non_null(p.ring_);
  fill(data, sizeof(data), 1, 0);
  art_buf_t b = art_buf_init(data, sizeof(data));
  sent_calls = 0;
  assert_int_equal(art_write(&req, (art_stream_t *)&p, &b, 1, note_sent), 0);
  assert_int_equal(sent_calls, 0); /* never from inside art_write */
  for (int i = 0; i < 10 && art_run(&loop, ART_RUN_NOWAIT); i++)
    ;
  assert_int_equal(sent_calls, 1);
  assert_int_equal(sent_status, 0);
  assert_int_equal(art_stream_write_queue_size((art_stream_t *)&p), 0);
  assert_int_equal(art_loop_alive(&loop), 0);
  assert_int_equal(recv(peer, back, sizeof(back), 0), (ssize_t)sizeof(data));
  assert_memory_equal(back, data, sizeof(data));
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(sent_calls, 1);
  assert_int_equal(art_loop_close(&loop), 0);
  close(peer);
}

/* ---- A receive armed while the socket is drained ---- */

static reader_t *other_reader;

/* The second read of the stream is the first read(2) of its drain (the
 * receive filled a 512-byte pool buffer): there it pauses and resumes,
 * which arms a receive, and closes another stream, which hands the ring
 * what waits in it. */
static void resume_amid_drain(art_stream_t *s, ssize_t n,
                              const art_buf_t *buf) {
  reader_t *r = s->data;
  reader_read(s, n, buf);
  if (r->reads != 2 || other_reader == NULL)
    return;
  assert_int_equal(art_read_stop(s), 0);
  assert_int_equal(art_read_start(s, reader_alloc, resume_amid_drain), 0);
  art_close((art_handle_t *)&other_reader->resume, NULL);
  art_close((art_handle_t *)&other_reader->h.stream, reader_closed);
}

/* A read callback of the drain that pauses and resumes the stream, while
 * the ring is entered before the drain ends: the bytes still arrive once
 * and in order, then one end of stream. */
ART_TEST(resume_during_drain_keeps_the_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer, other_peer;
  size_t len = 16 * 1024;
  char *data = malloc(len);
  ring_or_skip(loop);
  assert_int_equal(art_loop_configure(loop, ART_LOOP_READ_BUFFER_SIZE, 512), 0);
  reader_t *r = reader_open(loop, 0, 4, &peer);
  other_reader = reader_open(loop, 0, 5, &other_peer);
  r->alloc_len = 1000;
  assert_int_equal(
      art_read_start(&r->h.stream, reader_alloc, resume_amid_drain), 0);
  reader_start(other_reader);
  fill(data, len, 4, 0);
  assert_int_equal(send(peer, data, len, 0), (ssize_t)len);
  assert_int_equal(shutdown(peer, SHUT_WR), 0);
  assert_true(art_test_run_until(loop, 10000, got_eof, r));
  assert_int_equal(other_reader->closed, 1);
  assert_complete(r, len);
  free(other_reader);
  other_reader = NULL;
  reader_finish(loop, r);
  close(peer);
  close(other_peer);
  free(data);
}

/* ---- Kept bytes when the loop leaves the ring ---- */

/* The stream stops in its first read callback, whose buffer takes 100
 * bytes of the 4,000 the receive brought, so the rest is kept; then the
 * loop moves to epoll, which it may (nothing is in the ring), and the
 * stream starts again: the kept bytes come first, then the rest from the
 * socket, in order, then one end of stream. */
ART_TEST(kept_bytes_survive_a_move_to_epoll) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer;
  size_t first = 4000, len = 20000;
  char *data = malloc(len);
  ring_or_skip(loop);
  fill(data, len, 6, 0);
  reader_t *r = reader_open(loop, 0, 6, &peer);
  r->alloc_len = 100;
  r->stop_in_read = 2;
  reader_start(r);
  assert_int_equal(send(peer, data, first, 0), (ssize_t)first);
  assert_true(art_test_run_until(loop, 5000, got_bytes, r));
  assert_int_equal(r->got, 100);
  r->stop_in_read = 0;
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_BACKEND, ART_BACKEND_EPOLL), 0);
  assert_int_equal(send(peer, data + first, len - first, 0),
                   (ssize_t)(len - first));
  assert_int_equal(shutdown(peer, SHUT_WR), 0);
  assert_int_equal(art_read_start(&r->h.stream, reader_alloc, reader_read), 0);
  assert_true(art_test_run_until(loop, 5000, got_eof, r));
  assert_complete(r, len);
  reader_finish(loop, r);
  close(peer);
  free(data);
}

/* ---- A batch that names a stream closed earlier in it ---- */

typedef struct {
  reader_t *r[2];
  art_write_t req; /* the second stream's send, waiting for room */
  int write_calls; /* its callback: once, ART_ECANCELED, before close */
  int write_status;
  int closed_first;   /* which reader's callback closed the other */
  int calls_after[2]; /* callbacks of a reader after its close callback */
  int closes[2];
  int other_reaped; /* the other's receive had completed, unread, then */
} batch_t;

static batch_t *bt;

static int reader_index(const art_stream_t *s) {
  return bt->r[1] != NULL && s == &bt->r[1]->h.stream;
}

static void batch_closed(art_handle_t *h) {
  int i = reader_index((art_stream_t *)h);
  bt->closes[i]++;
  free(bt->r[i]); /* its timer, closed after it, ended first; ASan: nothing
                     of it may be touched from now on */
  bt->r[i] = NULL;
}

static void batch_write(art_write_t *req, int status) {
  (void)req;
  if (bt->closes[1] > 0)
    bt->calls_after[1]++;
  bt->write_calls++;
  bt->write_status = status;
}

/* The first of the two streams to hear its bytes closes the other, whose
 * receive completed in the same batch. */
static void batch_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  int i = reader_index(s);
  if (bt->closes[i] > 0)
    bt->calls_after[i]++;
  reader_read(s, n, buf);
  if (bt->closed_first == 0 && bt->r[1 - i] != NULL) {
    bt->closed_first = i + 1;
    art_stream_t *other = &bt->r[1 - i]->h.stream;
    bt->other_reaped =
        !art__op_in_flight(&other->ring_->recv) && bt->r[1 - i]->reads == 0;
    art_close((art_handle_t *)&bt->r[1 - i]->h.stream, batch_closed);
    art_close((art_handle_t *)&bt->r[1 - i]->resume, NULL); /* ends first */
  }
}

/* Two streams whose bytes are both waiting when the loop first waits, so
 * their receives complete in one batch; one also has a send waiting for
 * room in the ring. Whichever reads first closes the other: the other's
 * completion later in the batch calls nothing, its send's callback runs
 * once with ART_ECANCELED before its close callback, which frees it, and
 * the loop then closes cleanly. */
ART_TEST(close_of_a_stream_whose_completion_is_later_in_the_batch) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer[2];
  static char big[8 << 20];
  char data[64];
  ring_or_skip(loop);
  bt = calloc(1, sizeof(*bt));
  for (int i = 0; i < 2; i++) {
    bt->r[i] = reader_open(loop, 1, 7, &peer[i]);
    assert_int_equal(
        art_read_start(&bt->r[i]->h.stream, reader_alloc, batch_read), 0);
  }
  art_buf_t b = art_buf_init(big, sizeof(big));
  assert_int_equal(art_write(&bt->req, &bt->r[1]->h.stream, &b, 1, batch_write),
                   0);
  fill(data, sizeof(data), 7, 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(send(peer[i], data, sizeof(data), 0),
                     (ssize_t)sizeof(data));
  while (bt->closed_first == 0)
    assert_true(art_run(loop, ART_RUN_ONCE) != 0);
  int survivor = bt->closed_first - 1;
  art_close((art_handle_t *)&bt->r[survivor]->h.stream, batch_closed);
  art_close((art_handle_t *)&bt->r[survivor]->resume, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(bt->closes[0], 1);
  assert_int_equal(bt->closes[1], 1);
  assert_int_equal(bt->calls_after[0] + bt->calls_after[1], 0);
  assert_int_equal(bt->other_reaped, 1); /* what the test is about */
  assert_int_equal(bt->write_calls, 1);
  assert_int_equal(bt->write_status, ART_ECANCELED);
  assert_int_equal(art_loop_alive(loop), 0);
  close(peer[0]);
  close(peer[1]);
  free(bt);
}
