/* The stream base: backpressure and drain, art_stream_pipe (and either of
 * its ends closing), half-close, cancelling queued writes on close, resets
 * mid-write, art_try_write, running out of memory, and streams over
 * regular files. */
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "helpers/stream.h"

/* A connected pair of TCP handles in one loop. */
typedef struct {
  art_tcp_t server, a, b; /* a: client side, b: accepted side */
  art_connect_t creq;
  int ready;
} pair_t;

static void pair_connection(art_stream_t *server, int status) {
  pair_t *p = server->data;
  assert_int_equal(art_tcp_init(server->loop, &p->b), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&p->b), 0);
  p->ready++;
  art_close((art_handle_t *)server, NULL);
}

static void pair_connected(art_connect_t *req, int status) {
  pair_t *p = req->data;
  assert_int_equal(status, 0);
  p->ready++;
}

static int pair_ready(void *arg) {
  return ((pair_t *)arg)->ready == 2;
}

static void make_pair(art_loop_t *loop, pair_t *p) {
  memset(p, 0, sizeof(*p));
  p->server.data = p;
  struct sockaddr_in addr = listen_loopback(loop, &p->server, pair_connection);
  p->server.data = p;
  assert_int_equal(art_tcp_init(loop, &p->a), 0);
  p->creq.data = p;
  assert_int_equal(art_tcp_connect(&p->creq, &p->a, (struct sockaddr *)&addr,
                                   pair_connected),
                   0);
  assert_true(art_test_run_until(loop, 5000, pair_ready, p));
}

/* ---- slow reader: the writer's queue stays bounded ---- */

#define SLOW_CHUNK 16384
#define SLOW_TOTAL (8u << 20)

typedef struct {
  pair_t pair;
  art_write_t reqs[64];
  uint64_t free_mask;
  char data[SLOW_CHUNK];
  size_t sent, received, max_queue;
  int full, drains, shut_done;
  art_timer_t timer;
  art_shutdown_t sreq;
} slow_t;

static slow_t *slow;

static void slow_pump(art_stream_t *s);

static void slow_write_cb(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  slow->free_mask |= 1ull << (req - slow->reqs);
  slow_pump(req->handle);
}

static void slow_drain(art_stream_t *s) {
  slow->drains++;
  slow->full = 0;
  slow_pump(s);
}

static void slow_shut(art_shutdown_t *req, int status) {
  assert_int_equal(status, 0);
  slow->shut_done = 1;
}

static void slow_pump(art_stream_t *s) {
  while (!slow->full && slow->sent < SLOW_TOTAL && slow->free_mask) {
    int i = __builtin_ctzll(slow->free_mask);
    slow->free_mask &= ~(1ull << i);
    art_buf_t b = art_buf_init(slow->data, SLOW_CHUNK);
    int r = art_write(&slow->reqs[i], s, &b, 1, slow_write_cb);
    assert_true(r >= 0);
    slow->sent += SLOW_CHUNK;
    size_t q = art_stream_write_queue_size(s);
    if (q > slow->max_queue)
      slow->max_queue = q;
    slow->full = art_stream_needs_drain(s);
  }
  if (slow->sent == SLOW_TOTAL && !slow->sreq.handle)
    assert_int_equal(art_shutdown(&slow->sreq, s, slow_shut), 0);
}

static void slow_read(art_stream_t *s, ssize_t n, const art_buf_t *buf);

/* The reader takes a break after every read, so the writer fills up. */
static void slow_resume(art_timer_t *t) {
  art_read_start((art_stream_t *)&slow->pair.b, helper_alloc, slow_read);
}

static void slow_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  free(buf->base);
  if (n > 0) {
    slow->received += (size_t)n;
    art_read_stop(s);
    art_timer_start(&slow->timer, slow_resume, 0, 0);
  } else if (n == ART_EOF) {
    art_close((art_handle_t *)&slow->pair.a, NULL);
    art_close((art_handle_t *)&slow->pair.b, NULL);
    art_close((art_handle_t *)&slow->timer, NULL);
  }
}

ART_TEST(slow_reader_bounds_writer_memory) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  slow = calloc(1, sizeof(*slow));
  slow->free_mask = ~0ull;
  make_pair(loop, &slow->pair);
  art_stream_t *w = (art_stream_t *)&slow->pair.a;
  assert_int_equal(art_stream_get_high_water_mark(w), 64 * 1024); /* default */
  assert_int_equal(art_stream_set_high_water_mark(w, 32 * 1024), 0);
  assert_int_equal(art_stream_get_high_water_mark(w), 32 * 1024);
  assert_int_equal(art_stream_on_drain(w, slow_drain), 0);
  assert_int_equal(art_timer_init(loop, &slow->timer), 0);
  art_tcp_t *r = &slow->pair.b;
  /* A small send buffer makes the kernel push back early. (A tiny receive
   * buffer would not do: loopback's large MSS then stalls the window.) */
  int small = 8192;
  setsockopt(slow->pair.a.io_.fd, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
  assert_int_equal(art_read_start((art_stream_t *)r, helper_alloc, slow_read),
                   0);
  slow_pump(w);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(slow->received, SLOW_TOTAL);
  assert_true(slow->drains > 0);
  assert_true(slow->shut_done);
  /* Never more than the mark plus the one write that crossed it. */
  assert_true(slow->max_queue < 32 * 1024 + SLOW_CHUNK);
  free(slow);
}

ART_TEST(high_water_mark_of_no_stream_is_zero) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tcp_t t;
  assert_int_equal(art_stream_get_high_water_mark(NULL), 0);
  assert_int_equal(art_tcp_init(loop, &t), 0);
  assert_int_equal(art_stream_set_high_water_mark((art_stream_t *)&t, 0),
                   ART_EINVAL);
  assert_int_equal(art_stream_get_high_water_mark((art_stream_t *)&t),
                   64 * 1024);
  art_close((art_handle_t *)&t, NULL);
  assert_int_equal(art_stream_get_high_water_mark((art_stream_t *)&t), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- half-close ---- */

typedef struct {
  pair_t pair;
  art_write_t w1, w2;
  art_shutdown_t s1;
  char got_b[16], got_a[16];
  size_t nb, na;
  int eof_a, eof_b, shut_status;
} half_t;

static half_t *half;

static void half_read_a(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0) {
    memcpy(half->got_a + half->na, buf->base, (size_t)n);
    half->na += (size_t)n;
  } else if (n == ART_EOF) {
    half->eof_a = 1;
    art_close((art_handle_t *)s, NULL);
  }
  free(buf->base);
}

static void half_read_b(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0) {
    memcpy(half->got_b + half->nb, buf->base, (size_t)n);
    half->nb += (size_t)n;
  } else if (n == ART_EOF) {
    /* a is done writing; b can still answer. */
    half->eof_b = 1;
    assert_false(art_is_readable(s));
    assert_true(art_is_writable(s));
    art_buf_t b = art_buf_init("xyz", 3);
    assert_int_equal(art_write(&half->w2, s, &b, 1, NULL), 0);
    art_close((art_handle_t *)s, NULL);
  }
  free(buf->base);
}

static void half_shut(art_shutdown_t *req, int status) {
  half->shut_status = status;
}

ART_TEST(half_close) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  half = calloc(1, sizeof(*half));
  make_pair(loop, &half->pair);
  art_stream_t *a = (art_stream_t *)&half->pair.a;
  art_buf_t b = art_buf_init("abc", 3);
  assert_int_equal(art_write(&half->w1, a, &b, 1, NULL), 0);
  assert_int_equal(art_shutdown(&half->s1, a, half_shut), 0);
  assert_false(art_is_writable(a));
  assert_int_equal(art_write(&half->w2, a, &b, 1, NULL), ART_EPIPE);
  assert_int_equal(art_shutdown(&half->s1, a, half_shut), ART_ENOTCONN);
  assert_int_equal(art_read_start(a, helper_alloc, half_read_a), 0);
  assert_int_equal(
      art_read_start((art_stream_t *)&half->pair.b, helper_alloc, half_read_b),
      0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(half->shut_status, 0);
  assert_int_equal(half->nb, 3);
  assert_memory_equal(half->got_b, "abc", 3);
  assert_int_equal(half->na, 3);
  assert_memory_equal(half->got_a, "xyz", 3);
  assert_true(half->eof_a && half->eof_b);
  free(half);
}

/* ---- closing cancels queued writes, before the close callback ---- */

typedef struct {
  pair_t pair;
  art_write_t reqs[32];
  char data[1 << 20];
  int ok, canceled, other, closed_before;
  int closed;
  art_shutdown_t sreq;
  int shut_status;
} cancel_t;

static cancel_t *cancel;

static void cancel_write_cb(art_write_t *req, int status) {
  if (status == 0)
    cancel->ok++;
  else if (status == ART_ECANCELED)
    cancel->canceled++;
  else
    cancel->other++;
  if (cancel->closed)
    cancel->closed_before++;
}

static void cancel_close_cb(art_handle_t *h) {
  cancel->closed = 1;
}

static void cancel_shut(art_shutdown_t *req, int status) {
  cancel->shut_status = status;
}

ART_TEST(close_cancels_queued_writes) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  cancel = calloc(1, sizeof(*cancel));
  make_pair(loop, &cancel->pair);
  art_stream_t *a = (art_stream_t *)&cancel->pair.a;
  /* 32 MiB to a peer that does not read: most of it stays queued. */
  for (int i = 0; i < 32; i++) {
    art_buf_t b = art_buf_init(cancel->data, sizeof(cancel->data));
    assert_true(art_write(&cancel->reqs[i], a, &b, 1, cancel_write_cb) >= 0);
  }
  assert_int_equal(art_shutdown(&cancel->sreq, a, cancel_shut), 0);
  assert_true(art_stream_write_queue_size(a) > 0);
  art_run(loop, ART_RUN_NOWAIT);
  art_close((art_handle_t *)a, cancel_close_cb);
  art_close((art_handle_t *)&cancel->pair.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(cancel->ok + cancel->canceled, 32);
  assert_true(cancel->canceled > 0);
  assert_int_equal(cancel->other, 0);
  assert_int_equal(cancel->closed_before, 0);
  assert_int_equal(cancel->shut_status, ART_ECANCELED);
  free(cancel);
}

/* ---- the peer resets the connection mid-write ---- */

typedef struct {
  pair_t pair;
  art_write_t reqs[16];
  char data[1 << 20];
  int statuses[16];
  int calls;
} reset_t;

static reset_t *rst;

static void reset_write_cb(art_write_t *req, int status) {
  rst->statuses[req - rst->reqs] = status;
  if (++rst->calls == 16)
    art_close((art_handle_t *)&rst->pair.a, NULL);
}

static void reset_peer(art_timer_t *t) {
  art_tcp_close_reset(&rst->pair.b, NULL);
  art_close((art_handle_t *)t, NULL);
}

ART_TEST(reset_mid_write) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  struct sigaction old, dfl = {.sa_handler = SIG_DFL};
  art_timer_t t;
  sigaction(SIGPIPE, &dfl, &old); /* SIGPIPE would kill the process */
  rst = calloc(1, sizeof(*rst));
  make_pair(loop, &rst->pair);
  for (int i = 0; i < 16; i++) {
    art_buf_t b = art_buf_init(rst->data, sizeof(rst->data));
    assert_true(art_write(&rst->reqs[i], (art_stream_t *)&rst->pair.a, &b, 1,
                          reset_write_cb) >= 0);
  }
  art_timer_init(loop, &t);
  art_timer_start(&t, reset_peer, 10, 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(rst->calls, 16);
  int errors = 0;
  for (int i = 0; i < 16; i++) {
    int s = rst->statuses[i];
    assert_true(s == 0 || s == ART_ECONNRESET || s == ART_EPIPE);
    errors += s != 0;
  }
  assert_true(errors > 0);
  sigaction(SIGPIPE, &old, NULL);
  free(rst);
}

/* ---- try_write, write hints ---- */

ART_TEST(try_write_and_hints) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pair_t p;
  art_write_t w;
  static char big_buf[32 << 20];
  make_pair(loop, &p);
  art_stream_t *a = (art_stream_t *)&p.a;
  art_buf_t b = art_buf_init("abc", 3);
  assert_int_equal(art_try_write(a, &b, 1), 3);
  assert_int_equal(art_try_write(a, NULL, 1), ART_EINVAL);
  /* 32 MiB against a 64 KiB mark: queued, and the stream says wait. */
  art_buf_t big_b = art_buf_init(big_buf, sizeof(big_buf));
  assert_int_equal(art_write(&w, a, &big_b, 1, NULL), 0);
  assert_int_equal(art_stream_needs_drain(a), 1);
  assert_true(art_stream_write_queue_size(a) > 0);
  assert_int_equal(art_try_write(a, &b, 1), ART_EAGAIN);
  art_close((art_handle_t *)&p.a, NULL);
  art_close((art_handle_t *)&p.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- art_stream_pipe ---- */

#define PIPE_TOTAL (16u << 20)

typedef struct {
  pair_t in, out; /* in.a -> in.b ==pipeline==> out.a -> out.b */
  art_stream_pipe_t pipeline;
  art_write_t reqs[4];
  char data[4][65536];
  unsigned free_mask;
  size_t sent, received, max_queue;
  int full, status, done_calls, eof;
  art_shutdown_t sreq;
} sp_t;

static sp_t *sp;

static void sp_pump(art_stream_t *s);

static void sp_write_cb(art_write_t *req, int status) {
  sp->free_mask |= 1u << (req - sp->reqs);
  sp_pump(req->handle);
}

static void sp_drain(art_stream_t *s) {
  sp->full = 0;
  sp_pump(s);
}

static void sp_pump(art_stream_t *s) {
  while (!sp->full && sp->free_mask && sp->sent < PIPE_TOTAL) {
    int i = __builtin_ctz(sp->free_mask);
    sp->free_mask &= ~(1u << i);
    for (size_t k = 0; k < sizeof(sp->data[i]); k++)
      sp->data[i][k] = (char)((sp->sent + k) % 251);
    art_buf_t b = art_buf_init(sp->data[i], sizeof(sp->data[i]));
    sp->sent += b.len;
    assert_int_equal(art_write(&sp->reqs[i], s, &b, 1, sp_write_cb), 0);
    sp->full = art_stream_needs_drain(s);
  }
  if (sp->sent == PIPE_TOTAL && sp->sreq.handle == NULL)
    art_shutdown(&sp->sreq, s, NULL);
}

static void sp_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  for (ssize_t i = 0; i < n; i++)
    if (buf->base[i] != (char)((sp->received + (size_t)i) % 251))
      fail_msg("byte %zu differs", sp->received + (size_t)i);
  if (n > 0)
    sp->received += (size_t)n;
  if (n == ART_EOF)
    sp->eof = 1;
  size_t q = art_stream_write_queue_size((art_stream_t *)&sp->out.a);
  if (q > sp->max_queue)
    sp->max_queue = q;
  free(buf->base);
}

static void sp_done(art_stream_pipe_t *p, int status) {
  sp->status = status;
  sp->done_calls++;
}

static int sp_finished(void *arg) {
  return sp->eof && sp->done_calls;
}

/* The fixture of the pipeline tests: in.a feeds in.b, which the pipeline
 * moves to out.a, read at out.b. */
static void sp_setup(art_loop_t *loop) {
  sp = calloc(1, sizeof(*sp));
  sp->free_mask = 0xf;
  make_pair(loop, &sp->in);
  make_pair(loop, &sp->out);
  art_stream_on_drain((art_stream_t *)&sp->in.a, sp_drain);
  assert_int_equal(art_stream_pipe(&sp->pipeline, (art_stream_t *)&sp->in.b,
                                   (art_stream_t *)&sp->out.a, NULL, sp_done),
                   0);
}

static void sp_close_all(art_loop_t *loop) {
  art_close((art_handle_t *)&sp->in.a, NULL);
  art_close((art_handle_t *)&sp->in.b, NULL);
  art_close((art_handle_t *)&sp->out.a, NULL);
  art_close((art_handle_t *)&sp->out.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(stream_pipe_moves_everything) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  sp_setup(loop);
  assert_int_equal(art_stream_pipe(&sp->pipeline, (art_stream_t *)&sp->in.b,
                                   (art_stream_t *)&sp->out.a, NULL, sp_done),
                   ART_EBUSY);
  assert_int_equal(
      art_read_start((art_stream_t *)&sp->out.b, helper_alloc, sp_read), 0);
  sp_pump((art_stream_t *)&sp->in.a);
  assert_true(art_test_run_until(loop, 20000, sp_finished, NULL));
  assert_int_equal(sp->status, 0);
  assert_int_equal(sp->done_calls, 1);
  assert_int_equal(sp->received, PIPE_TOTAL);
  /* The pipeline never let dst's queue grow past mark + one chunk. */
  assert_true(sp->max_queue <= 64 * 1024 + 65536);
  sp_close_all(loop);
  assert_int_equal(sp->done_calls, 1);
  free(sp);
}

static size_t sp_goal; /* sp_received_goal: bytes the reader must have */

static int sp_received_goal(void *arg) {
  return sp->received >= sp_goal;
}

/* In steady state a pipeline reuses the chunks it allocated at start: once
 * 2 MiB went through (warm-up), moving the next 12 MiB between two TCP
 * pairs makes no library allocation at all, counted through the allocator
 * hook. The feeding writes and the reads need none either. */
ART_TEST(stream_pipe_steady_state_does_not_allocate) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  sp_setup(loop);
  assert_int_equal(
      art_read_start((art_stream_t *)&sp->out.b, helper_alloc, sp_read), 0);
  sp_pump((art_stream_t *)&sp->in.a);
  sp_goal = 2u << 20;
  assert_true(art_test_run_until(loop, 20000, sp_received_goal, NULL));
  art_test_count_allocs();
  sp_goal = PIPE_TOTAL - (2u << 20);
  assert_true(art_test_run_until(loop, 20000, sp_received_goal, NULL));
  long steady = art_test_alloc_count();
  art_test_fail_alloc_after(-1);
  assert_int_equal(steady, 0);
  assert_true(art_test_run_until(loop, 20000, sp_finished, NULL));
  assert_int_equal(sp->status, 0);
  assert_int_equal(sp->received, PIPE_TOTAL);
  sp_close_all(loop);
  free(sp);
}

static void sp_err_done(art_stream_pipe_t *p, int status) {
  int *st = p->data;
  st[0] = status;
  st[1]++;
  art_close((art_handle_t *)p->src, NULL);
}

/* dst reset by its peer: the pipeline reports the write error once. */
ART_TEST(stream_pipe_reports_first_error) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pair_t in, out;
  art_stream_pipe_t pl;
  art_write_t w;
  static char chunk[1 << 20];
  int st[2] = {0, 0}; /* status, calls */
  make_pair(loop, &in);
  make_pair(loop, &out);
  pl.data = st;
  assert_int_equal(art_stream_pipe(&pl, (art_stream_t *)&in.b,
                                   (art_stream_t *)&out.a, NULL, sp_err_done),
                   0);
  art_tcp_close_reset(&out.b, NULL);
  art_buf_t b = art_buf_init(chunk, sizeof(chunk));
  art_write(&w, (art_stream_t *)&in.a, &b, 1, NULL);
  int r = art_test_run_until(loop, 5000, flag_set, &st[1]);
  int status = st[0];
  assert_true(r);
  if (status != ART_ECONNRESET && status != ART_EPIPE)
    fail_msg("status %s", art_err_name(status));
  art_close((art_handle_t *)&in.a, NULL);
  art_close((art_handle_t *)&out.a, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(st[1], 1);
}

ART_TEST(stream_pipe_bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_stream_pipe_t pl;
  art_tcp_t t;
  pair_t p;
  art_stream_pipe_opts_t opts = {0, 0, 100000};
  make_pair(loop, &p);
  art_tcp_init(loop, &t);
  art_stream_t *a = (art_stream_t *)&p.a, *b = (art_stream_t *)&p.b;
  assert_int_equal(art_stream_pipe(NULL, a, b, NULL, sp_done), ART_EINVAL);
  assert_int_equal(art_stream_pipe(&pl, a, a, NULL, sp_done), ART_EINVAL);
  assert_int_equal(art_stream_pipe(&pl, a, b, NULL, NULL), ART_EINVAL);
  assert_int_equal(art_stream_pipe(&pl, a, b, &opts, sp_done), ART_EINVAL);
  assert_int_equal(art_stream_pipe(&pl, (art_stream_t *)&t, b, NULL, sp_done),
                   ART_ENOTCONN);
  art_close((art_handle_t *)&t, NULL);
  art_close((art_handle_t *)a, NULL);
  art_close((art_handle_t *)b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- regular files as streams: always ready ---- */

typedef struct {
  art_pipe_t in, out;
  art_stream_pipe_t pl;
  int status, done;
} file_t;

static void file_done(art_stream_pipe_t *p, int status) {
  file_t *f = p->data;
  f->status = status;
  f->done = 1;
  art_close((art_handle_t *)&f->in, NULL);
  art_close((art_handle_t *)&f->out, NULL);
}

ART_TEST(file_to_file_through_stream_pipe) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char dir[] = "/tmp/art-stream-XXXXXX", src[64], dst[64];
  file_t f = {0};
  assert_non_null(mkdtemp(dir));
  snprintf(src, sizeof(src), "%s/src", dir);
  snprintf(dst, sizeof(dst), "%s/dst", dir);
  int fd = open(src, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  static char data[300000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (char)(i * 7);
  assert_int_equal(write(fd, data, sizeof(data)), sizeof(data));
  close(fd);
  assert_int_equal(art_pipe_init(loop, &f.in, 0), 0);
  assert_int_equal(art_pipe_init(loop, &f.out, 0), 0);
  assert_int_equal(art_pipe_open(&f.in, open(src, O_RDONLY | O_CLOEXEC)), 0);
  assert_int_equal(
      art_pipe_open(&f.out,
                    open(dst, O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC, 0600)),
      0);
  f.pl.data = &f;
  art_stream_pipe_opts_t opts = {0, 4096, 2};
  assert_int_equal(art_stream_pipe(&f.pl, (art_stream_t *)&f.in,
                                   (art_stream_t *)&f.out, &opts, file_done),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(f.done, 1);
  assert_int_equal(f.status, 0);
  static char back[300001];
  fd = open(dst, O_RDONLY | O_CLOEXEC);
  assert_int_equal(read(fd, back, sizeof(back)), sizeof(data));
  close(fd);
  assert_memory_equal(back, data, sizeof(data));
  unlink(src);
  unlink(dst);
  rmdir(dir);
}

/* ---- many buffers in one write; writes queued before connecting ---- */

#define NPIECES 200

typedef struct {
  art_tcp_t server, a, b;
  art_connect_t creq;
  art_write_t w1, w2;
  char pieces[NPIECES][3];
  char got[NPIECES * 3 + 8];
  size_t ngot;
  int w1_status, w2_status, calls;
} vec_t;

static vec_t *vec;

static void vec_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0) {
    assert_true(vec->ngot + (size_t)n <= sizeof(vec->got));
    memcpy(vec->got + vec->ngot, buf->base, (size_t)n);
    vec->ngot += (size_t)n;
  }
  if (vec->ngot == NPIECES * 3 + 5) {
    art_close((art_handle_t *)&vec->a, NULL);
    art_close((art_handle_t *)&vec->b, NULL);
  }
  free(buf->base);
}

static void vec_connection(art_stream_t *server, int status) {
  assert_int_equal(art_tcp_init(server->loop, &vec->b), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&vec->b), 0);
  assert_int_equal(
      art_read_start((art_stream_t *)&vec->b, helper_alloc, vec_read), 0);
  art_close((art_handle_t *)server, NULL);
}

static void vec_write_cb(art_write_t *req, int status) {
  vec->calls++;
  if (req == &vec->w1)
    vec->w1_status = status;
  else
    vec->w2_status = status;
}

static void vec_connected(art_connect_t *req, int status) {
  assert_int_equal(status, 0);
}

/* 200 buffers in one request (an allocated copy of the array, and more than
 * one writev's worth of vectors), queued before the connection exists. */
ART_TEST(many_buffers_written_before_connect) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_buf_t bufs[NPIECES];
  vec = calloc(1, sizeof(*vec));
  struct sockaddr_in addr = listen_loopback(loop, &vec->server, vec_connection);
  assert_int_equal(art_tcp_init(loop, &vec->a), 0);
  assert_int_equal(art_tcp_connect(&vec->creq, &vec->a,
                                   (struct sockaddr *)&addr, vec_connected),
                   0);
  for (int i = 0; i < NPIECES; i++) {
    snprintf(vec->pieces[i], sizeof(vec->pieces[i]), "%02d", i % 100);
    vec->pieces[i][2] = ',';
    bufs[i] = art_buf_init(vec->pieces[i], 3);
  }
  assert_int_equal(
      art_write(&vec->w1, (art_stream_t *)&vec->a, bufs, NPIECES, vec_write_cb),
      0);
  art_buf_t tail = art_buf_init("<end>", 5);
  assert_int_equal(
      art_write(&vec->w2, (art_stream_t *)&vec->a, &tail, 1, vec_write_cb), 0);
  assert_int_equal(art_stream_write_queue_size((art_stream_t *)&vec->a),
                   NPIECES * 3 + 5);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(vec->calls, 2);
  assert_int_equal(vec->w1_status, 0);
  assert_int_equal(vec->w2_status, 0);
  for (int i = 0; i < NPIECES; i++)
    assert_memory_equal(vec->got + 3 * i, vec->pieces[i], 3);
  assert_memory_equal(vec->got + 3 * NPIECES, "<end>", 5);
  free(vec);
}

/* Out of memory: the failing call reports ART_ENOMEM and changes nothing. */
ART_TEST(out_of_memory_is_reported) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pair_t p;
  art_write_t w;
  art_stream_pipe_t pl;
  char pieces[5] = "abcde";
  art_buf_t bufs[5];
  make_pair(loop, &p);
  for (int i = 0; i < 5; i++)
    bufs[i] = art_buf_init(pieces + i, 1);
  art_test_fail_alloc_after(0);
  assert_int_equal(art_write(&w, (art_stream_t *)&p.a, bufs, 5, NULL),
                   ART_ENOMEM);
  assert_int_equal(art_stream_pipe(&pl, (art_stream_t *)&p.b,
                                   (art_stream_t *)&p.a, NULL, sp_done),
                   ART_ENOMEM);
  assert_true(art_test_alloc_failed());
  art_test_fail_alloc_after(-1);
  assert_int_equal(art_stream_write_queue_size((art_stream_t *)&p.a), 0);
  /* Four buffers or fewer never allocate. */
  art_test_fail_alloc_after(0);
  assert_int_equal(art_write(&w, (art_stream_t *)&p.a, bufs, 4, NULL), 0);
  art_test_fail_alloc_after(-1);
  art_close((art_handle_t *)&p.a, NULL);
  art_close((art_handle_t *)&p.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
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
 * above the loop's fd table so that watching it allocates. On io_uring
 * the write waits in the ring, which needs no memory: it is still
 * waiting, unfailed, when the stream is closed, and then canceled. */
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
  if (strcmp(art_backend_name(loop), "io_uring") == 0) {
    for (int i = 0; i < 5; i++)
      art_run(loop, ART_RUN_NOWAIT);
    assert_int_equal(write_calls, 0);
    art_close((art_handle_t *)&p, NULL);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    assert_int_equal(write_calls, 1);
    assert_int_equal(write_status, ART_ECANCELED);
    close(sv[1]);
    return;
  }
  assert_true(art_test_run_until(loop, 1000, write_flag, NULL));
  assert_int_equal(write_status, ART_ENOMEM);
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(write_calls, 1);
  close(sv[1]);
}

static void count_done(art_stream_pipe_t *p, int status) {
  int *st = p->data;
  st[0] = status;
  st[1]++;
}

static int src_closed_flag;

static void src_closed(art_handle_t *h) {
  src_closed_flag = 1;
}

/* Closing src mid-way ends the pipeline once, with ART_ECANCELED, and frees
 * its buffers (ASan checks the leak). */
ART_TEST(stream_pipe_src_closed_midway) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pair_t in, out;
  art_stream_pipe_t pl;
  art_write_t w;
  static char chunk[256 * 1024];
  int st[2] = {0, 0};
  src_closed_flag = 0;
  make_pair(loop, &in);
  make_pair(loop, &out);
  pl.data = st;
  assert_int_equal(art_stream_pipe(&pl, (art_stream_t *)&in.b,
                                   (art_stream_t *)&out.a, NULL, count_done),
                   0);
  art_buf_t b = art_buf_init(chunk, sizeof(chunk));
  assert_true(art_write(&w, (art_stream_t *)&in.a, &b, 1, NULL) >= 0);
  art_run(loop, ART_RUN_NOWAIT);
  art_run(loop, ART_RUN_NOWAIT);
  art_close((art_handle_t *)&in.b, src_closed);
  assert_true(art_test_run_until(loop, 5000, flag_set, &st[1]));
  assert_int_equal(st[0], ART_ECANCELED);
  art_close((art_handle_t *)&in.a, NULL);
  art_close((art_handle_t *)&out.a, NULL);
  art_close((art_handle_t *)&out.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(st[1], 1);
  assert_true(src_closed_flag);
}

/* ---- a pipeline whose destination closes ---- */

/* A pipeline whose destination is closed while nothing is in flight ends
 * at once, and never touches the closed stream again. */
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

/* ---- a watcher stopped by another's callback in the same poll batch ---- */

typedef struct {
  pair_t p1, p2;
  art_write_t w1, w2;
  art_check_t check;
  art_stream_t *stopped; /* the reader stopped by the other's callback */
  int got1, got2, iteration_reads;
} batch_t;

static batch_t *bt;

static void bt_read(art_stream_t *s, ssize_t n, const art_buf_t *buf);

/* Restarts the stopped reader after the poll phase, before the next wait. */
static void bt_check(art_check_t *c) {
  if (bt->stopped != NULL) {
    art_read_start(bt->stopped, helper_alloc, bt_read);
    bt->stopped = NULL;
  }
  bt->iteration_reads = 0;
}

static void bt_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  free(buf->base);
  if (n <= 0)
    return;
  int first = s == (art_stream_t *)&bt->p1.b;
  *(first ? &bt->got1 : &bt->got2) = 1;
  art_stream_t *other =
      first ? (art_stream_t *)&bt->p2.b : (art_stream_t *)&bt->p1.b;
  if (bt->iteration_reads++ == 0 && !(first ? bt->got2 : bt->got1)) {
    art_read_stop(other); /* its event may be later in this very batch */
    bt->stopped = other;
  }
}

static int bt_both(void *arg) {
  return bt->got1 && bt->got2;
}

ART_TEST(reader_stopped_and_restarted_within_a_batch) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  bt = calloc(1, sizeof(*bt));
  make_pair(loop, &bt->p1);
  make_pair(loop, &bt->p2);
  art_buf_t b = art_buf_init("x", 1);
  art_write(&bt->w1, (art_stream_t *)&bt->p1.a, &b, 1, NULL);
  art_write(&bt->w2, (art_stream_t *)&bt->p2.a, &b, 1, NULL);
  art_check_init(loop, &bt->check);
  art_check_start(&bt->check, bt_check);
  art_read_start((art_stream_t *)&bt->p1.b, helper_alloc, bt_read);
  art_read_start((art_stream_t *)&bt->p2.b, helper_alloc, bt_read);
  /* Both fds are readable before the first wait: one batch holds both. */
  assert_true(art_test_run_until(loop, 3000, bt_both, NULL));
  art_close((art_handle_t *)&bt->check, NULL);
  art_close((art_handle_t *)&bt->p1.a, NULL);
  art_close((art_handle_t *)&bt->p1.b, NULL);
  art_close((art_handle_t *)&bt->p2.a, NULL);
  art_close((art_handle_t *)&bt->p2.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  free(bt);
}

/* ---- steady state: writes of a few buffers do not allocate ---- */

#define NA_WRITES 8  /* writes in flight per round */
#define NA_BUFS   4  /* buffers per write */
#define NA_ROUNDS 50 /* rounds with every allocation failing */

typedef struct {
  pair_t pair;
  art_write_t reqs[NA_WRITES];
  art_timer_t tick; /* bounds each wait; initialised before allocs fail */
  char out[NA_BUFS][300];
  char in[65536];
  size_t received, expected;
  int done;
} no_alloc_t;

static no_alloc_t *na;

static void na_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(na->in, sizeof(na->in));
}

static void na_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0)
    na->received += (size_t)n;
}

static void na_write_done(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  na->done++;
}

static void na_tick(art_timer_t *t) {}

/* Queues one round of writes and runs the loop until all bytes arrived. */
static void na_round(art_loop_t *loop) {
  art_buf_t bufs[NA_BUFS];
  for (int i = 0; i < NA_BUFS; i++)
    bufs[i] = art_buf_init(na->out[i], sizeof(na->out[i]));
  na->done = 0;
  for (int i = 0; i < NA_WRITES; i++)
    assert_int_equal(art_write(&na->reqs[i], (art_stream_t *)&na->pair.a, bufs,
                               NA_BUFS, na_write_done),
                     0);
  na->expected += NA_WRITES * NA_BUFS * sizeof(na->out[0]);
  uint64_t deadline = art_hrtime() + 5000000000u;
  while ((na->done < NA_WRITES || na->received < na->expected) &&
         art_hrtime() < deadline)
    art_run(loop, ART_RUN_ONCE);
  assert_int_equal(na->done, NA_WRITES);
  assert_int_equal(na->received, na->expected);
}

/* Once a connection is up, art_write of a few buffers, the write callbacks
 * and the reads need no memory: with every allocation failing, 50 rounds
 * of 8 writes of 4 buffers still complete, each exactly once. */
ART_TEST(writes_of_few_buffers_do_not_allocate) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  na = calloc(1, sizeof(*na));
  make_pair(loop, &na->pair);
  memset(na->out, 'w', sizeof(na->out));
  assert_int_equal(art_timer_init(loop, &na->tick), 0);
  assert_int_equal(art_timer_start(&na->tick, na_tick, 10, 10), 0);
  art_unref((art_handle_t *)&na->tick);
  assert_int_equal(
      art_read_start((art_stream_t *)&na->pair.b, na_alloc, na_read), 0);
  na_round(loop); /* warm-up: whatever is set up on first use */
  art_test_fail_alloc_after(0);
  for (int r = 0; r < NA_ROUNDS; r++)
    na_round(loop);
  assert_int_equal(art_test_alloc_failed(), 0);
  art_test_fail_alloc_after(-1);
  art_close((art_handle_t *)&na->tick, NULL);
  art_close((art_handle_t *)&na->pair.a, NULL);
  art_close((art_handle_t *)&na->pair.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  free(na);
}

/* ---- fast reader: the held bytes bound the producer too ---- */

#define FAST_CHUNK 16384
#define FAST_TOTAL (4u << 20)
#define FAST_MARK  (64u * 1024)

typedef struct {
  pair_t pair;
  size_t sent, received, held, max_held;
  int drains;
} fast_t;

static fast_t *fast;

typedef struct {
  art_write_t req;
  char data[FAST_CHUNK];
} fast_chunk_t;

static void fast_written(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  fast->held -= FAST_CHUNK;
  free(req);
}

/* Writes until the stream says to wait: with a reader as fast as the
 * kernel, every write completes at once, so only the held bytes stop it. */
static void fast_pump(art_stream_t *s) {
  while (fast->sent < FAST_TOTAL) {
    fast_chunk_t *c = malloc(sizeof(*c));
    memset(c->data, 'f', sizeof(c->data));
    art_buf_t b = art_buf_init(c->data, sizeof(c->data));
    assert_int_equal(art_write(&c->req, s, &b, 1, fast_written), 0);
    fast->sent += FAST_CHUNK;
    fast->held += FAST_CHUNK;
    if (fast->held > fast->max_held)
      fast->max_held = fast->held;
    assert_int_equal(art_stream_write_held_size(s), fast->held);
    if (art_stream_needs_drain(s))
      return;
  }
  art_close((art_handle_t *)s, NULL);
}

static void fast_drain(art_stream_t *s) {
  fast->drains++;
  assert_int_equal(art_stream_needs_drain(s), 0);
  fast_pump(s);
}

static void fast_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  free(buf->base);
  if (n > 0)
    fast->received += (size_t)n;
  else if (n < 0)
    art_close((art_handle_t *)s, NULL);
}

ART_TEST(fast_reader_bounds_writer_memory) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  fast = calloc(1, sizeof(*fast));
  make_pair(loop, &fast->pair);
  art_stream_t *w = (art_stream_t *)&fast->pair.a;
  /* A large send buffer: the kernel takes every chunk at once. */
  int big = 8 << 20;
  setsockopt(fast->pair.a.io_.fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
  assert_int_equal(art_stream_set_high_water_mark(w, FAST_MARK), 0);
  assert_int_equal(art_stream_on_drain(w, fast_drain), 0);
  assert_int_equal(
      art_read_start((art_stream_t *)&fast->pair.b, helper_alloc, fast_read),
      0);
  fast_pump(w);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(fast->received, FAST_TOTAL);
  assert_true(fast->drains > 0);
  /* Never more than the mark plus the one write that crossed it. */
  assert_true(fast->max_held <= FAST_MARK + FAST_CHUNK);
  free(fast);
}

/* ---- after a failed write, new writes fail at once ---- */

typedef struct {
  pair_t pair;
  art_write_t req;
  char data[4096];
  int failed; /* the error a callback got */
  int writes;
} dead_t;

static dead_t *dead;

static void dead_written(art_write_t *req, int status) {
  art_stream_t *s = req->handle;
  if (status < 0) {
    dead->failed = status;
    return;
  }
  /* Keep writing, one request at a time, until the reset shows. */
  art_buf_t b = art_buf_init(dead->data, sizeof(dead->data));
  if (++dead->writes < 10000)
    assert_int_equal(art_write(&dead->req, s, &b, 1, dead_written), 0);
}

ART_TEST(write_after_failed_write_fails_at_once) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  dead = calloc(1, sizeof(*dead));
  make_pair(loop, &dead->pair);
  art_stream_t *w = (art_stream_t *)&dead->pair.a;
  assert_int_equal(art_tcp_close_reset(&dead->pair.b, NULL), 0);
  art_buf_t b = art_buf_init(dead->data, sizeof(dead->data));
  assert_int_equal(art_write(&dead->req, w, &b, 1, dead_written), 0);
  while (dead->failed == 0 && dead->writes < 10000)
    assert_true(art_run(loop, ART_RUN_ONCE) >= 0);
  assert_true(dead->failed == ART_EPIPE || dead->failed == ART_ECONNRESET);
  /* The stream failed for writing: no more data is taken for the peer. */
  art_write_t more;
  assert_int_equal(art_write(&more, w, &b, 1, NULL), ART_EPIPE);
  assert_int_equal(art_stream_write_held_size(w), 0);
  art_close((art_handle_t *)w, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  free(dead);
}

/* Replies written by the callbacks of one long batch of reads reach the
 * peer while the batch is still running, on every backend: a completion
 * backend hands the kernel the batch's writes every 16 events (src/io.c),
 * rather than holding the first reply until the last request is handled.
 * 40 Unix socket streams each get one byte in the same wait; each read
 * callback replies one byte and checks that the reply written 16 callbacks
 * earlier is already readable at its peer. */
#define BATCH 40
static struct {
  art_pipe_t p[BATCH];
  int peer[BATCH];
  int order[BATCH]; /* the stream of the n-th callback */
  int calls, late, closed;
  char in[BATCH], out;
  art_write_t w[BATCH];
} lb;

static void batch_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  (void)suggested;
  int i = (int)((art_pipe_t *)h - lb.p);
  *buf = art_buf_init(&lb.in[i], 1);
}

static void batch_closed(art_handle_t *h) {
  (void)h;
  lb.closed++;
}

static void batch_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  (void)buf;
  int i = (int)((art_pipe_t *)s - lb.p);
  assert_int_equal(n, 1);
  assert_int_equal(art_read_stop(s), 0);
  art_buf_t b = art_buf_init(&lb.out, 1);
  assert_int_equal(art_write(&lb.w[i], s, &b, 1, NULL), 0);
  if (lb.calls >= 16) {
    char c;
    int earlier = lb.order[lb.calls - 16];
    if (recv(lb.peer[earlier], &c, 1, MSG_PEEK | MSG_DONTWAIT) != 1)
      lb.late++;
  }
  lb.order[lb.calls++] = i;
}

ART_TEST(long_batch_writes_reach_the_peer_before_it_ends) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  memset(&lb, 0, sizeof(lb));
  for (int i = 0; i < BATCH; i++) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    lb.peer[i] = sv[1];
    assert_int_equal(art_pipe_init(loop, &lb.p[i], 0), 0);
    assert_int_equal(art_pipe_open(&lb.p[i], sv[0]), 0);
    assert_int_equal(
        art_read_start((art_stream_t *)&lb.p[i], batch_alloc, batch_read), 0);
  }
  /* The receives (or watches) reach the kernel, with nothing to read. */
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(lb.calls, 0);
  for (int i = 0; i < BATCH; i++)
    assert_int_equal(write(lb.peer[i], "q", 1), 1);
  while (lb.calls < BATCH)
    art_run(loop, ART_RUN_ONCE);
  assert_int_equal(lb.late, 0);
  for (int i = 0; i < BATCH; i++) {
    char c;
    assert_int_equal(read(lb.peer[i], &c, 1), 1);
    art_close((art_handle_t *)&lb.p[i], batch_closed);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(lb.closed, BATCH);
  for (int i = 0; i < BATCH; i++)
    close(lb.peer[i]);
}

/* A large write's progress shows in art_stream_write_queue_size while the
 * peer takes it, on every backend, so that a program timing out a peer
 * that makes no progress does not cut off one that does. On io_uring this
 * holds because a send goes without MSG_WAITALL: the kernel completes it
 * with what the socket took, and the rest goes in a new send, instead of
 * retrying inside one operation whose completion alone would move the
 * figure, at the end. The peer reads in the same loop, both sockets'
 * buffers small; a check handle samples the figure once per iteration
 * until the write's callback. */
#define PROG_TOTAL (8u << 20)
static struct {
  pair_t pair;
  art_write_t req;
  art_check_t check;
  char *data;
  char in[65536];
  size_t received, last;
  int values, written;
} pg;

static void progress_alloc(art_handle_t *h, size_t n, art_buf_t *buf) {
  (void)h;
  (void)n;
  *buf = art_buf_init(pg.in, sizeof(pg.in));
}

static void progress_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  (void)s;
  (void)buf;
  if (n > 0)
    pg.received += (size_t)n;
}

static void progress_sample(art_check_t *c) {
  (void)c;
  size_t q = art_stream_write_queue_size((art_stream_t *)&pg.pair.a);
  if (!pg.written && q != pg.last && q > 0 && q < PROG_TOTAL)
    pg.values++; /* a new figure between the whole and nothing */
  pg.last = q;
}

static void progress_written(art_write_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
  pg.written = 1;
}

static int progress_done(void *arg) {
  (void)arg;
  return pg.written && pg.received == PROG_TOTAL;
}

ART_TEST(large_write_progress_shows_in_the_queue_size) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  memset(&pg, 0, sizeof(pg));
  make_pair(loop, &pg.pair);
  /* Small socket buffers, so that the 8 MiB cannot sit in them at once. */
  int size = 65536, afd, bfd;
  assert_int_equal(art_fileno((art_handle_t *)&pg.pair.a, &afd), 0);
  assert_int_equal(art_fileno((art_handle_t *)&pg.pair.b, &bfd), 0);
  assert_int_equal(setsockopt(afd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)),
                   0);
  assert_int_equal(setsockopt(bfd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)),
                   0);
  pg.data = calloc(1, PROG_TOTAL);
  assert_non_null(pg.data);
  pg.last = PROG_TOTAL;
  assert_int_equal(
      art_read_start((art_stream_t *)&pg.pair.b, progress_alloc, progress_read),
      0);
  assert_int_equal(art_check_init(loop, &pg.check), 0);
  assert_int_equal(art_check_start(&pg.check, progress_sample), 0);
  art_buf_t b = art_buf_init(pg.data, PROG_TOTAL);
  assert_int_equal(
      art_write(&pg.req, (art_stream_t *)&pg.pair.a, &b, 1, progress_written),
      0);
  assert_true(art_test_run_until(loop, 20000, progress_done, NULL));
  /* 8 MiB through 64 KiB buffers: dozens of figures on each backend. */
  assert_true(pg.values >= 8);
  art_close((art_handle_t *)&pg.check, NULL);
  art_close((art_handle_t *)&pg.pair.a, NULL);
  art_close((art_handle_t *)&pg.pair.b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  free(pg.data);
}
