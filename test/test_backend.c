/* The backend contract (src/backend/backend.h), proved from both sides.
 *
 * A completion backend is made here in a few lines: the poll(2) backend for
 * readiness, plus submit and cancel that run whole operations and report
 * them done from the next wait. The core must dispatch those completions to
 * their owners, and everything built on readiness (timers, streams) must run
 * on it unchanged, which is what lets an io_uring backend plug in without
 * the stream, UDP or fs code knowing. This suite links the static library
 * and includes the core's internal header: it tests an internal contract.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"

extern const art__backend_ops_t art__backend_poll;

#define MAX_OPS 16

/* The fake completion backend's state: the poll backend's, and the
 * operations submitted since the last wait. */
typedef struct {
  void *poll;
  art__op_t *ops[MAX_OPS];
  int64_t results[MAX_OPS]; /* set when canceled, else computed at wait */
  int canceled[MAX_OPS];
  int nops;
} fake_t;

static int fake_init(void **state) {
  fake_t *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return ART_ENOMEM;
  int err = art__backend_poll.init(&f->poll);
  if (err) {
    free(f);
    return err;
  }
  *state = f;
  return 0;
}

static void fake_close(void *state) {
  fake_t *f = state;
  art__backend_poll.close(f->poll);
  free(f);
}

static int fake_update(void *state, int fd, unsigned had, unsigned want) {
  return art__backend_poll.update(((fake_t *)state)->poll, fd, had, want);
}

static void fake_forget_fd(void *state, int fd) {
  art__backend_poll.forget_fd(((fake_t *)state)->poll, fd);
}

static int fake_fd(const void *state) {
  (void)state;
  return ART_ENOTSUP;
}

static int fake_check_fd(const void *state, int fd) {
  return art__backend_poll.check_fd(((const fake_t *)state)->poll, fd);
}

static int fake_reserve(void *state, int fd, unsigned nfds) {
  return art__backend_poll.reserve(((fake_t *)state)->poll, fd, nfds);
}

static int fake_submit(void *state, art__op_t *op) {
  fake_t *f = state;
  if (f->nops == MAX_OPS)
    return ART_ENOBUFS;
  f->canceled[f->nops] = 0;
  f->ops[f->nops++] = op;
  return 0;
}

static int fake_cancel(void *state, art__op_t *op) {
  fake_t *f = state;
  for (int i = 0; i < f->nops; i++)
    if (f->ops[i] == op && !f->canceled[i]) {
      f->canceled[i] = 1;
      f->results[i] = ART_ECANCELED;
      return 0;
    }
  return ART_ENOENT;
}

static int64_t run_op(const art__op_t *op) {
  ssize_t r;
  switch (op->kind) {
  case ART__OP_READ:
    r = read(op->fd, op->buf, op->len);
    break;
  case ART__OP_WRITE:
    r = write(op->fd, op->buf, op->len);
    break;
  case ART__OP_FSYNC:
    r = fsync(op->fd);
    break;
  default:
    return ART_ENOTSUP;
  }
  return r < 0 ? -errno : r;
}

/* Runs what was submitted and reports it done first; then readiness. */
static int fake_wait(void *state, int64_t timeout, art__event_t *out, int max) {
  fake_t *f = state;
  int n = 0;
  while (f->nops > 0 && n < max) {
    art__op_t *op = f->ops[0];
    int64_t result = f->canceled[0] ? f->results[0] : run_op(op);
    f->nops--;
    memmove(f->ops, f->ops + 1, (size_t)f->nops * sizeof(f->ops[0]));
    memmove(f->results, f->results + 1, (size_t)f->nops * sizeof(int64_t));
    memmove(f->canceled, f->canceled + 1, (size_t)f->nops * sizeof(int));
    out[n].fd = -1;
    out[n].events = 0;
    out[n].op = op;
    out[n].result = result;
    n++;
  }
  if (n > 0)
    timeout = 0; /* completions are waiting: do not block for readiness */
  return n + art__backend_poll.wait(f->poll, timeout, out + n, max - n);
}

static const art__backend_ops_t fake_backend = {
    .name = "fake-completions",
    .caps = ART__BACKEND_COMPLETIONS,
    .init = fake_init,
    .close = fake_close,
    .update = fake_update,
    .wait = fake_wait,
    .forget_fd = fake_forget_fd,
    .fd = fake_fd,
    .check_fd = fake_check_fd,
    .reserve = fake_reserve,
    .submit = fake_submit,
    .cancel = fake_cancel,
};

/* An owner of operations: a request registered with the loop while its
 * operation is in flight (the core counts no operation by itself). */
typedef struct {
  art_req_t req;
  art__op_t op;
  int64_t result;
  int calls;
  char buf[32];
} owner_t;

static void owner_done(art__op_t *op, int64_t result) {
  owner_t *o = (owner_t *)((char *)op - offsetof(owner_t, op));
  o->result = result;
  o->calls++;
  art__req_unregister(o->req.loop, ART_REQ);
}

static int owner_submit(art_loop_t *loop, owner_t *o, art__op_kind kind, int fd,
                        size_t len) {
  memset(&o->op, 0, sizeof(o->op)); /* no path, no flags, no ART__OP_NOW */
  o->op.done = owner_done;
  o->op.kind = kind;
  o->op.fd = fd;
  o->op.buf = o->buf;
  o->op.len = len;
  o->op.offset = -1;
  o->calls = 0;
  int err = art__io_submit(loop, &o->op);
  if (err == 0)
    art__req_register(loop, &o->req, ART_REQ);
  return err;
}

ART_TEST(readiness_backends_refuse_operations) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  owner_t o;
  int fds[2];
  if (loop->backend_->caps & ART__BACKEND_COMPLETIONS)
    return; /* ART_BACKEND=io_uring: operations are its to run */
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(owner_submit(loop, &o, ART__OP_WRITE, fds[1], 1),
                   ART_ENOTSUP);
  assert_int_equal(o.calls, 0);
  assert_int_equal(art_loop_alive(loop), 0);
  close(fds[0]);
  close(fds[1]);
}

/* The completion backends: the fake one, and io_uring where the kernel
 * gives a ring (elsewhere the loop falls back to epoll, which has none). */
extern const art__backend_ops_t art__backend_io_uring;

static const art__backend_ops_t *const completion_backends[] = {
    &fake_backend, &art__backend_io_uring};

/* Inits loop on completion backend i; 0 when it fell back to one without
 * completions. */
static int completion_loop(art_loop_t *loop, int i) {
  assert_int_equal(art__loop_init_with(loop, completion_backends[i]), 0);
  if (!(loop->backend_->caps & ART__BACKEND_COMPLETIONS)) {
    assert_int_equal(art_loop_close(loop), 0);
    return 0;
  }
  return 1;
}

static void completions_reach_their_owners_on(int i) {
  art_loop_t loop;
  owner_t w, r;
  int fds[2];
  if (!completion_loop(&loop, i))
    return;
  assert_string_equal(art_backend_name(&loop), completion_backends[i]->name);
  assert_int_equal(pipe(fds), 0);
  memcpy(w.buf, "hello", 5);
  assert_int_equal(owner_submit(&loop, &w, ART__OP_WRITE, fds[1], 5), 0);
  assert_int_equal(owner_submit(&loop, &r, ART__OP_READ, fds[0], 32), 0);
  assert_int_equal(art_loop_alive(&loop), 1); /* the owners' requests */
  art_loop_metrics_t m;
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_metrics(&loop, &m), 0);
  assert_int_equal(w.calls, 1);
  assert_int_equal(w.result, 5);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.result, 5);
  assert_memory_equal(r.buf, "hello", 5);
  assert_true(m.events >= 2); /* completions count as events */
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(art_loop_close(&loop), 0);
}

ART_TEST(completions_reach_their_owners) {
  (void)state;
  for (int i = 0; i < (int)ART_ARRAY_SIZE(completion_backends); i++)
    completions_reach_their_owners_on(i);
}

static void a_canceled_operation_completes_once_on(int i) {
  art_loop_t loop;
  owner_t r;
  int fds[2];
  if (!completion_loop(&loop, i))
    return;
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(owner_submit(&loop, &r, ART__OP_READ, fds[0], 8), 0);
  /* io_uring: in the kernel by now, waiting for data that never comes
   * (the fake would run the read at this wait, and block). */
  if (completion_backends[i] != &fake_backend)
    art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(r.calls, 0);
  assert_int_equal(loop.backend_->cancel(loop.backend_state_, &r.op), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.result, ART_ECANCELED);
  /* Done: no longer in flight. */
  assert_int_equal(loop.backend_->cancel(loop.backend_state_, &r.op),
                   ART_ENOENT);
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(art_loop_close(&loop), 0);
}

ART_TEST(a_canceled_operation_completes_once_with_ecanceled) {
  (void)state;
  for (int i = 0; i < (int)ART_ARRAY_SIZE(completion_backends); i++)
    a_canceled_operation_completes_once_on(i);
}

/* Streams and timers, written for readiness, run unchanged. */
typedef struct {
  char got[16];
  size_t len;
  int eof;
  int fired;
} stream_seen_t;

static void alloc_cb(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  static char slab[64];
  (void)h;
  (void)suggested;
  *buf = art_buf_init(slab, sizeof(slab));
}

static void read_cb(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  stream_seen_t *seen = s->data;
  if (n > 0 && seen->len + (size_t)n <= sizeof(seen->got)) {
    memcpy(seen->got + seen->len, buf->base, (size_t)n);
    seen->len += (size_t)n;
  }
  if (n == ART_EOF) {
    seen->eof = 1;
    art_close((art_handle_t *)s, NULL);
  }
}

static void timer_cb(art_timer_t *t) {
  stream_seen_t *seen = t->data;
  seen->fired++;
  art_close((art_handle_t *)t, NULL);
}

ART_TEST(readiness_code_runs_unchanged_on_a_completion_backend) {
  art_loop_t loop;
  art_pipe_t p;
  art_timer_t t;
  stream_seen_t seen = {{0}, 0, 0, 0};
  int fds[2];
  (void)state;
  assert_int_equal(art__loop_init_with(&loop, &fake_backend), 0);
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(write(fds[1], "ping", 4), 4);
  close(fds[1]);
  assert_int_equal(art_pipe_init(&loop, &p, 0), 0);
  assert_int_equal(art_pipe_open(&p, fds[0]), 0);
  p.data = &seen;
  assert_int_equal(art_read_start((art_stream_t *)&p, alloc_cb, read_cb), 0);
  assert_int_equal(art_timer_init(&loop, &t), 0);
  t.data = &seen;
  assert_int_equal(art_timer_start(&t, timer_cb, 1, 0), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen.len, 4);
  assert_memory_equal(seen.got, "ping", 4);
  assert_int_equal(seen.eof, 1);
  assert_int_equal(seen.fired, 1);
  assert_int_equal(art_loop_close(&loop), 0);
}
