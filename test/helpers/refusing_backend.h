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

/* A completion backend's sends and receives on the refused fd are refused
 * too: they stand in for its watcher (readiness then takes over, and is
 * refused as it would be). */
static int refusing_submit(void *state, art__op_t *op) {
  int io = op->kind == ART__OP_SEND || op->kind == ART__OP_SENDMSG ||
           op->kind == ART__OP_RECV || op->kind == ART__OP_RECVMSG;
  if (io && (refusing.fd == -1 || refusing.fd == op->fd))
    return refusing.err; /* counted when readiness is refused in turn */
  return refusing.inner->submit(state, op);
}

/* And an operation on it already in the ring completes with the refusal,
 * as one the kernel failed would: its pool buffer goes back unread. */
static int refusing_wait(void *state, int64_t timeout_ns, art__event_t *out,
                         int max) {
  int n = refusing.inner->wait(state, timeout_ns, out, max);
  for (int i = 0; i < n; i++) {
    art__op_t *op = out[i].op;
    if (op == NULL ||
        (op->kind != ART__OP_RECV && op->kind != ART__OP_SEND &&
         op->kind != ART__OP_SENDMSG) ||
        (refusing.fd != -1 && refusing.fd != op->fd))
      continue;
    if (out[i].events & ART__GOT_BUFFER)
      refusing.inner->recycle(state, out[i].events >> ART__GOT_ID_SHIFT);
    out[i].events &= ~(unsigned)ART__GOT_BUFFER;
    out[i].result = refusing.err;
    refusing.refusals++;
  }
  return n;
}

/* Inits loop on the refusing backend, refusing registrations of fd (-1:
 * any fd, -2: none) with err from the start, the loop's own included. */
static __attribute__((unused)) int refusing_loop_init_armed(art_loop_t *loop,
                                                            int fd, int err) {
  refusing.inner = art__backend_select();
  refusing.ops = *refusing.inner;
  refusing.ops.update = refusing_update;
  if (refusing.inner->submit != NULL) {
    refusing.ops.submit = refusing_submit;
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
