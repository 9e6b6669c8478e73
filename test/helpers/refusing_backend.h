/* A backend that refuses registrations on demand, for the internal suites
 * that prove every watcher owner turns a refusal (epoll_ctl failing with
 * ENOMEM or ENOSPC) into an error for its user. It is the backend
 * ART_BACKEND selects, with update failing for one fd (or every fd) once
 * armed. Include after internal.h; one loop at a time. */
#ifndef ART_TEST_HELPERS_REFUSING_BACKEND_H
#define ART_TEST_HELPERS_REFUSING_BACKEND_H

#include "backend/backend.h"

static struct {
  const art__backend_ops_t *inner;
  art__backend_ops_t ops;
  int fd;       /* the fd to refuse; -1: every fd; -2: none */
  int err;      /* what update returns for it */
  int refusals; /* updates refused so far */
  int updates;  /* updates asked for, refused or not */
} refusing;

static int refusing_update(void *state, int fd, unsigned had, unsigned want) {
  refusing.updates++;
  if (want != 0 && (refusing.fd == -1 || refusing.fd == fd)) {
    refusing.refusals++;
    return refusing.err;
  }
  return refusing.inner->update(state, fd, had, want);
}

/* A completion backend's sends and receives stand in for the fd's
 * watcher, so they are refused the same way: held by submit, as a watch
 * waits for the poll phase, and handed to the ring by the next wait
 * unless their fd is refused by then, when they complete with the
 * refusal instead, as operations the kernel failed. */
static art__queue_t refusing_held;

static int refusing_io(const art__op_t *op) {
  return op->kind == ART__OP_SEND || op->kind == ART__OP_SENDMSG ||
         op->kind == ART__OP_RECV || op->kind == ART__OP_RECVMSG ||
         op->kind == ART__OP_CONNECT;
}

static int refusing_refuses(int fd) {
  return refusing.fd == -1 || refusing.fd == fd;
}

static int refusing_submit(void *state, art__op_t *op) {
  if (!refusing_io(op))
    return refusing.inner->submit(state, op);
  if (op->how & ART__OP_NOW) /* cannot wait: refused at once, or taken */
    return refusing_refuses(op->fd) ? refusing.err
                                    : refusing.inner->submit(state, op);
  art__queue_insert_tail(&refusing_held, &op->node_);
  return 0;
}

static int refusing_cancel(void *state, art__op_t *op) {
  art__queue_t *q;
  art__queue_foreach(q, &refusing_held) {
    if (q == &op->node_) {
      op->fd = -1; /* reported canceled by the next wait */
      return 0;
    }
  }
  return refusing.inner->cancel(state, op);
}

static int refusing_busy(const void *state) {
  return !art__queue_empty(&refusing_held) || refusing.inner->busy(state);
}

static int refusing_wait(void *state, int64_t timeout_ns, art__event_t *out,
                         int max) {
  int k = 0;
  while (!art__queue_empty(&refusing_held) && k < max) {
    art__queue_t *q = art__queue_head(&refusing_held);
    art__op_t *op = art__container_of(q, art__op_t, node_);
    art__queue_remove(q);
    art__queue_init(q);
    int err = op->fd == -1 ? ART_ECANCELED : 0;
    if (err == 0 && refusing_refuses(op->fd)) {
      err = refusing.err;
      refusing.refusals++;
    }
    if (err == 0)
      err = refusing.inner->submit(state, op);
    if (err != 0)
      out[k++] = (art__event_t){-1, 0, op, err};
  }
  int n = refusing.inner->wait(state, k > 0 ? 0 : timeout_ns, out + k, max - k);
  /* An operation already in the ring when its fd became refused completes
   * with the refusal: its pool buffer goes back unread. */
  for (int i = k; i < k + n; i++) {
    art__op_t *op = out[i].op;
    if (op == NULL || !refusing_io(op) || !refusing_refuses(op->fd))
      continue;
    if (out[i].events & ART__GOT_BUFFER)
      refusing.inner->recycle(state, out[i].events >> ART__GOT_ID_SHIFT);
    out[i].events &= ~(unsigned)ART__GOT_BUFFER;
    out[i].result = refusing.err;
    refusing.refusals++;
  }
  return k + n;
}

/* Inits loop on the refusing backend, refusing registrations of fd (-1:
 * any fd, -2: none) with err from the start, the loop's own included. */
static __attribute__((unused)) int refusing_loop_init_armed(art_loop_t *loop,
                                                            int fd, int err) {
  refusing.inner = art__backend_select();
  refusing.ops = *refusing.inner;
  refusing.ops.update = refusing_update;
  art__queue_init(&refusing_held);
  if (refusing.inner->submit != NULL) {
    refusing.ops.submit = refusing_submit;
    refusing.ops.cancel = refusing_cancel;
    refusing.ops.busy = refusing_busy;
    refusing.ops.wait = refusing_wait;
  }
  refusing.fd = fd;
  refusing.err = err;
  refusing.refusals = 0;
  refusing.updates = 0;
  return art__loop_init_with(loop, &refusing.ops);
}

/* Inits loop on the refusing backend, refusing nothing yet. */
static __attribute__((unused)) int refusing_loop_init(art_loop_t *loop) {
  return refusing_loop_init_armed(loop, -2, ART_ENOMEM);
}

/* From now on, registrations of fd (-1: any fd) fail with err. */
static __attribute__((unused)) void refuse_fd(int fd, int err) {
  refusing.fd = fd;
  refusing.err = err;
}

#endif
