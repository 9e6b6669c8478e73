/* Cluster frames against the worker's side, in this process: a worker
 * started on one end of a socketpair whose other end plays a hostile
 * primary, with chosen bad frames and with random ones. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/cluster_worker.h"
#include "helpers/harness.h"

static void put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

/* A frame header as cluster.h describes it, with a chosen reserved byte. */
static void put_header(unsigned char *p, uint32_t len, unsigned char type,
                       unsigned char reserved) {
  put_be32(p, len);
  p[4] = type;
  p[5] = 0;
  p[6] = reserved;
  p[7] = 0;
}

/* HELLO as the primary sends it (cluster.h): slot 0, round robin, the
 * worker's id, a backlog. */
static size_t hello(unsigned char *out, uint64_t id, uint32_t backlog) {
  put_header(out, 20, 1, 0);
  put_be32(out + 8, 0);
  put_be32(out + 12, 0);
  put_be32(out + 16, (uint32_t)(id >> 32));
  put_be32(out + 20, (uint32_t)id);
  put_be32(out + 24, backlog);
  return 28;
}

/* What the test saw of its worker. */
typedef struct {
  int drained;
  int ready;
  char message[16];
} wstate_t;

static void w_ready(art_cluster_worker_t *w) {
  ((wstate_t *)w->data)->ready++;
}

static void w_message(art_cluster_worker_t *w, const void *data, size_t len) {
  wstate_t *ws = w->data;
  if (len < sizeof(ws->message))
    memcpy(ws->message, data, len);
}

static void w_drain(art_cluster_worker_t *w) {
  ((wstate_t *)w->data)->drained++;
}

static int w_drained(void *arg) {
  art_cluster_worker_t *w = arg;
  return ((wstate_t *)w->data)->drained > 0;
}

static void hostile_primary(art_loop_t *loop, const unsigned char *frame,
                            size_t len) {
  int sv[2];
  wstate_t ws = {0};
  art_cluster_worker_t w;
  art_cluster_worker_options_t wo = {0};
  wo.on_connection = cw_connection;
  wo.on_drain = w_drain;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  wo.ipc_fd = sv[1];
  setenv(ART_CLUSTER_ENV, "9", 1);
  assert_int_equal(art_cluster_worker_start(loop, &w, &wo), 0);
  unsetenv(ART_CLUSTER_ENV);
  w.data = &ws;
  assert_int_equal(write(sv[0], frame, len), (ssize_t)len);
  assert_true(art_test_run_until(loop, 5000, w_drained, &w));
  assert_int_equal(w.refused_frames, 1);
  assert_int_equal(art_cluster_worker_send(&w, "x", 1), ART_ENOTCONN);
  art_run(loop, ART_RUN_DEFAULT);
  close(sv[0]);
}

/* The frames as a primary sends them: HELLO, a message, STOP. The worker
 * answers READY, delivers the message, drains, and refuses nothing. */
ART_TEST(well_formed_primary) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  unsigned char in[64], out[64];
  size_t n = hello(in, 9, 511);
  put_header(in + n, 2, 3, 0);
  memcpy(in + n + 8, "hi", 2);
  n += 10;
  put_header(in + n, 0, 5, 0);
  n += 8;
  int sv[2];
  wstate_t ws = {0};
  art_cluster_worker_t w;
  art_cluster_worker_options_t wo = {0};
  wo.on_connection = cw_connection;
  wo.on_ready = w_ready;
  wo.on_message = w_message;
  wo.on_drain = w_drain;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  wo.ipc_fd = sv[1];
  setenv(ART_CLUSTER_ENV, "9", 1);
  assert_int_equal(art_cluster_worker_start(loop, &w, &wo), 0);
  unsetenv(ART_CLUSTER_ENV);
  w.data = &ws;
  assert_int_equal(send(sv[0], in, n, MSG_NOSIGNAL), (ssize_t)n);
  assert_true(art_test_run_until(loop, 5000, w_drained, &w));
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(ws.ready, 1);
  assert_string_equal(ws.message, "hi");
  assert_int_equal(w.refused_frames, 0);
  assert_int_equal(w.slot, 0);
  assert_int_equal(w.mode, ART_CLUSTER_ROUNDROBIN);
  /* READY came back: an empty frame of type 2. */
  static const unsigned char ready[8] = {0, 0, 0, 0, 2, 0, 0, 0};
  assert_true(recv(sv[0], out, sizeof(out), 0) >= 8);
  assert_memory_equal(out, ready, 8);
  close(sv[0]);
}

/* The well-formed frames again, with the worker's allocations failing
 * from each one on: start fails with ART_ENOMEM, or the worker drains;
 * never a crash, a leak or a hang, and the loop closes. */
ART_TEST(out_of_memory_in_the_worker) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  unsigned char in[64];
  size_t n = hello(in, 9, 511);
  put_header(in + n, 2, 3, 0);
  memcpy(in + n + 8, "hi", 2);
  n += 10;
  for (long at = 0; at < 50; at++) {
    int sv[2];
    wstate_t ws = {0};
    art_cluster_worker_t w;
    art_cluster_worker_options_t wo = {0};
    wo.on_connection = cw_connection;
    wo.on_message = cw_message; /* answers: one more allocation */
    wo.on_drain = w_drain;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    wo.ipc_fd = sv[1];
    setenv(ART_CLUSTER_ENV, "9", 1);
    art_test_fail_alloc_after(at);
    int err = art_cluster_worker_start(loop, &w, &wo);
    unsetenv(ART_CLUSTER_ENV);
    if (err != 0) { /* the worker closed sv[1] */
      assert_int_equal(err, ART_ENOMEM);
      art_test_fail_alloc_after(-1);
      art_run(loop, ART_RUN_DEFAULT);
      close(sv[0]);
      continue;
    }
    w.data = &ws;
    assert_int_equal(send(sv[0], in, n, MSG_NOSIGNAL), (ssize_t)n);
    art_test_run_until(loop, 200, w_drained, &w);
    int failed = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    close(sv[0]); /* the end of the pipe drains what is left */
    assert_true(art_test_run_until(loop, 5000, w_drained, &w));
    art_run(loop, ART_RUN_DEFAULT);
    if (!failed)
      break; /* past every allocation */
  }
}

ART_TEST(hostile_primary_frame_is_refused) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  /* Oversized. */
  static const unsigned char big[8] = {0x7f, 0xff, 0xff, 0xff, 3, 0, 0, 0};
  hostile_primary(loop, big, sizeof(big));
  /* One byte over the bound. */
  static const unsigned char over[8] = {0, 1, 0, 1, 3, 0, 0, 0};
  hostile_primary(loop, over, sizeof(over));
  /* Reserved bytes set. */
  static const unsigned char rsv[8] = {0, 0, 0, 0, 3, 0, 1, 0};
  hostile_primary(loop, rsv, sizeof(rsv));
  /* A type the primary never sends. */
  static const unsigned char ready[8] = {0, 0, 0, 0, 2, 0, 0, 0};
  hostile_primary(loop, ready, sizeof(ready));
  /* A message before HELLO. */
  static const unsigned char early[9] = {0, 0, 0, 1, 3, 0, 0, 0, 'x'};
  hostile_primary(loop, early, sizeof(early));
  /* HELLO for another worker (id 8, this one is 9). */
  unsigned char f[64];
  hostile_primary(loop, f, hello(f, 8, 511));
  /* HELLO with a backlog of 0, and of more than INT_MAX. */
  hostile_primary(loop, f, hello(f, 9, 0));
  hostile_primary(loop, f, hello(f, 9, 0x80000000u));
  /* A connection frame with no connection attached (round robin). */
  size_t n = hello(f, 9, 511);
  put_header(f + n, 0, 4, 0);
  hostile_primary(loop, f, n + 8);
}

/* Random frames, valid and not, in random pieces: the worker drains
 * (refused, or at the end of its pipe) and never crashes or leaks; the
 * ASan build checks the second. A fixed seed keeps every run the same. */
static uint32_t rng_state;

static uint32_t rng(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 17;
  rng_state ^= rng_state << 5;
  return rng_state;
}

/* One frame: mostly well formed (a message, sometimes a stop), now and
 * then anything at all: any length up to 4 GiB, any type, a reserved
 * byte set. */
static size_t random_frame(unsigned char *out, size_t room) {
  uint32_t pick = rng() % 10;
  size_t len = pick == 0 ? rng() : rng() % 24;
  unsigned char type = pick == 0   ? (unsigned char)(rng() % 8)
                       : pick == 1 ? 5 /* STOP */
                                   : 3 /* MSG */;
  unsigned char reserved = pick == 0 && rng() % 2 ? (unsigned char)rng() : 0;
  size_t n = len <= room - 8 ? len : room - 8;
  if (type == 5 && pick != 0)
    len = n = 0;
  put_header(out, (uint32_t)len, type, reserved);
  for (size_t i = 0; i < n; i++)
    out[8 + i] = (unsigned char)rng();
  return 8 + n;
}

ART_TEST(random_frames_never_crash_a_worker) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static unsigned char input[4096];
  int refused = 0;
  rng_state = 0x2545F491u;
  for (int round = 0; round < 300; round++) {
    size_t len = 0;
    if (rng() % 8 != 0) /* usually the primary's first frame */
      len = hello(input, 9, 511);
    for (int f = 0; f < 6 && sizeof(input) - len > 64; f++)
      len += random_frame(input + len, sizeof(input) - len);
    int sv[2];
    wstate_t ws = {0};
    art_cluster_worker_t w;
    art_cluster_worker_options_t wo = {0};
    wo.on_connection = cw_connection;
    wo.on_message = cw_message;
    wo.on_drain = w_drain;
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    wo.ipc_fd = sv[1];
    setenv(ART_CLUSTER_ENV, "9", 1);
    assert_int_equal(art_cluster_worker_start(loop, &w, &wo), 0);
    unsetenv(ART_CLUSTER_ENV);
    w.data = &ws;
    for (size_t at = 0; at < len;) {
      size_t piece = 1 + rng() % 64;
      if (piece > len - at)
        piece = len - at;
      if (send(sv[0], input + at, piece, MSG_NOSIGNAL) != (ssize_t)piece)
        break; /* the worker closed its end after refusing */
      at += piece;
      art_run(loop, ART_RUN_NOWAIT);
    }
    close(sv[0]); /* the end of the pipe drains it if nothing did */
    assert_true(art_test_run_until(loop, 5000, w_drained, &w));
    assert_true(w.refused_frames <= 1);
    refused += (int)w.refused_frames;
    art_run(loop, ART_RUN_DEFAULT);
  }
  /* Both ways of ending were taken, many times. */
  assert_true(refused > 30 && refused < 270);
}
