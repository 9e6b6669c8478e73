/* File-system requests as operations of the loop's io_uring, instead of
 * work for the pool, where the loop's backend runs whole operations
 * (ART__BACKEND_COMPLETIONS) and the operation is one the ring runs
 * better. The request, its callback, its result and its errors are the
 * same on both paths; only who makes the system call changes.
 *
 * Notes:
 * 1. The operation (art__op_t) lives in the request (art_fs_t.ring_), and
 *    so do its paths (the request's copy, made for every asynchronous
 *    request) and a stat's struct statx (statbuf and the room after it):
 *    submitting allocates nothing. The statx is converted in place when
 *    the operation completes, with the pool's conversion.
 * 2. The request registers with the loop while the operation is in
 *    flight, so art_loop_close says ART_EBUSY until its callback ran.
 * 3. Cancel. The request's work item says ART__W_ELSEWHERE while the ring
 *    has it, so art_cancel comes here and asks the ring to cancel it
 *    (IORING_OP_ASYNC_CANCEL): a read waiting for a pipe stops at once, an
 *    open blocked in a kernel worker is interrupted. The callback runs
 *    once, with ART_ECANCELED, or with the real result if the operation
 *    had finished (an open that succeeded gives its fd, which the caller
 *    then owns). An interrupted kernel worker may report EINTR or the
 *    kernel's restart codes: after a cancel those mean canceled too.
 * 4. Credentials. Every operation goes to the kernel before the request's
 *    art_fs_* call returns (ART__OP_NOW), so it runs with the credentials
 *    the thread had at that call: a setuid/setgid/setgroups afterwards
 *    changes nothing for it, one before it applies to it. The ring is
 *    never SQPOLL, whose kernel thread would act with the credentials of
 *    whoever made the ring.
 * 5. A write writes everything, as on the pool: a short write resubmits
 *    the rest from the poll phase, and an error after some bytes reports
 *    the bytes. A read is one call, as on the pool.
 * 6. Opens go to a kernel worker at once (ART__OP_BLOCKING; see
 *    src/backend/io_uring_ops.c), unless the caller asked for O_NONBLOCK.
 * 7. Where the ring loses. The kernel runs stat, open, rename, unlink,
 *    mkdir, link, symlink, fsync and ftruncate on its io-wq workers, never
 *    inline. One at a time that is several times faster than the pool
 *    (the loop thread sleeps in the ring and one kernel wakeup brings the
 *    result); many at once it is slower (bench_fs_stat, 32 in flight:
 *    about 0.45x the pool, where the pool's four threads share each
 *    wakeup among many results), and even one in the ring beside many on
 *    the pool costs the pool its batching (0.9x). So such an operation
 *    goes to the ring only when it is alone: no other in the ring, and no
 *    other fs request of the loop in flight; otherwise to the pool
 *    (docs/performance.md has the figures). Reads, writes and close run
 *    inline in the enter (page cache, pipes through a poll) and always go
 *    to the ring.
 */
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "fs.h"
#include "pool/pool.h"

/* Note 7: a kernel-worker operation goes to the ring only while the loop
 * has fewer than WORKERS_MAX of them there and at most ALONE_MAX fs
 * requests in flight (the one whose callback is submitting the next
 * counts: it unregisters when its callback returns). */
#define WORKERS_MAX 1
#define ALONE_MAX   1

/* What the ring path keeps in the request (art_fs_t.ring_). */
typedef struct {
  art__op_t op;                 /* first: the ring's operation */
  void (*after)(art_fs_t *req); /* src/fs.c: the callback's path */
  size_t written;               /* WRITE: bytes of earlier rounds (note 5) */
  unsigned next;                /* WRITE: the first buffer not written */
  unsigned char canceled;       /* art_cancel asked the ring (note 3) */
  unsigned char worker;         /* counted in ring_loop_t (note 7) */
} ring_t;

/* The fs area's state on a loop: kernel-worker operations in flight. */
typedef struct {
  unsigned workers;
} ring_loop_t;

static void ring_loop_close(art_loop_t *loop, void *state) {
  (void)loop;
  art__free(state);
}

static const art__ext_t ring_ext = {"fs_ring", ring_loop_close, NULL};

static ring_loop_t *ring_loop(art_loop_t *loop) {
  ring_loop_t *rl = art__ext_get(loop, &ring_ext);
  if (rl != NULL)
    return rl;
  if ((rl = art__calloc(1, sizeof(*rl))) == NULL)
    return NULL;
  if (art__ext_set(loop, &ring_ext, rl) != 0) {
    art__free(rl);
    return NULL;
  }
  return rl;
}

/* Note 7: operations the kernel hands to a worker. An open tries
 * without blocking first, unless it is sent to a worker (note 6) or
 * creates or truncates. */
static int on_worker(const art__op_t *op) {
  switch (op->kind) {
  case ART__OP_READ:
  case ART__OP_WRITE:
  case ART__OP_READV:
  case ART__OP_WRITEV:
  case ART__OP_CLOSE:
    return 0;
  case ART__OP_OPEN:
    return (op->how & ART__OP_BLOCKING) || (op->flags & (O_CREAT | O_TRUNC));
  default:
    return 1;
  }
}

_Static_assert(sizeof(ring_t) <= sizeof(((art_fs_t *)0)->ring_),
               "art_fs_t.ring_ holds the ring's state");
_Static_assert(offsetof(art_fs_t, statx_) ==
                       offsetof(art_fs_t, statbuf) + sizeof(art_stat_t) &&
                   sizeof(art_stat_t) + sizeof(((art_fs_t *)0)->statx_) >=
                       sizeof(struct statx),
               "statbuf and statx_ hold a struct statx");

static ring_t *ring_of(art_fs_t *req) {
  return (ring_t *)(void *)req->ring_;
}

static art_fs_t *req_of(art__op_t *op) {
  return (art_fs_t *)(void *)((char *)op - offsetof(art_fs_t, ring_));
}

/* The buffers of a read or write from buffer `next` on: one plain
 * buffer, or an iovec array within IOV_MAX (a longer write goes on in
 * later rounds). */
static void set_bufs(art__op_t *op, const art_fs_t *req, unsigned next,
                     int write) {
  art_buf_t *b = req->bufs_ + next;
  unsigned n = req->nbufs_ - next;
  if (n == 1) {
    op->kind = write ? ART__OP_WRITE : ART__OP_READ;
    op->buf = b->base;
    op->len = b->len;
  } else {
    op->kind = write ? ART__OP_WRITEV : ART__OP_READV;
    op->buf = b;
    op->len = n > IOV_MAX ? IOV_MAX : n;
  }
  op->offset = req->off_;
}

/* A stat of the path, the link itself, or the fd, into statbuf (note 1). */
static void set_statx(art__op_t *op, art_fs_t *req) {
  op->kind = ART__OP_STATX;
  op->fd = AT_FDCWD;
  op->path = req->path;
  op->flags = AT_STATX_SYNC_AS_STAT;
  if (req->fs_type == ART_FS_LSTAT)
    op->flags |= AT_SYMLINK_NOFOLLOW;
  if (req->fs_type == ART_FS_FSTAT) {
    op->fd = req->file_;
    op->path = "";
    op->flags |= AT_EMPTY_PATH;
  }
  op->mode = STATX_BASIC_STATS | STATX_BTIME;
  op->buf = &req->statbuf;
}

/* The operations of path requests: the kind, or 0 for none. */
static art__op_kind path_kind(art_fs_type type) {
  switch (type) {
  case ART_FS_OPEN:
    return ART__OP_OPEN;
  case ART_FS_RENAME:
    return ART__OP_RENAME;
  case ART_FS_UNLINK:
    return ART__OP_UNLINK;
  case ART_FS_RMDIR:
    return ART__OP_RMDIR;
  case ART_FS_MKDIR:
    return ART__OP_MKDIR;
  case ART_FS_LINK:
    return ART__OP_LINK;
  case ART_FS_SYMLINK:
    return ART__OP_SYMLINK;
  default:
    return 0;
  }
}

/* The operations of fd requests: the kind, or 0 for none. */
static art__op_kind fd_kind(art_fs_type type) {
  switch (type) {
  case ART_FS_CLOSE:
    return ART__OP_CLOSE;
  case ART_FS_FSYNC:
    return ART__OP_FSYNC;
  case ART_FS_FDATASYNC:
    return ART__OP_FDATASYNC;
  case ART_FS_FTRUNCATE:
    return ART__OP_FTRUNCATE;
  default:
    return 0;
  }
}

/* Fills the operation for req; 0, or ART_ENOTSUP for a request the ring
 * does not run. */
static int set_op(art__op_t *op, art_fs_t *req) {
  art_fs_type t = req->fs_type;
  op->fd = req->file_;
  op->path = req->path;
  op->path2 = req->new_path_;
  op->mode = (unsigned)req->mode_;
  op->how = ART__OP_NOW; /* note 4 */
  if (t == ART_FS_READ || t == ART_FS_WRITE) {
    set_bufs(op, req, 0, t == ART_FS_WRITE);
  } else if (t == ART_FS_STAT || t == ART_FS_LSTAT ||
             (t == ART_FS_FSTAT && req->file_ >= 0)) {
    set_statx(op, req);
  } else if ((op->kind = path_kind(t)) != 0) {
    op->flags = req->flags_ | O_CLOEXEC;
    if (t == ART_FS_OPEN && !(req->flags_ & O_NONBLOCK))
      op->how |= ART__OP_BLOCKING; /* note 6 */
  } else if ((op->kind = fd_kind(t)) != 0) {
    op->offset = req->off_;
  } else {
    return ART_ENOTSUP;
  }
  return 0;
}

/* Moves past n written bytes (as the pool's write does): r->next to the
 * first buffer not written, that one's start past what was. 1 while
 * something is left. */
static int advance(art_fs_t *req, ring_t *r, size_t n) {
  art_buf_t *b = req->bufs_;
  while (r->next < req->nbufs_ && n >= b[r->next].len)
    n -= b[r->next++].len;
  if (r->next == req->nbufs_)
    return 0;
  b[r->next].base = (char *)b[r->next].base + n;
  b[r->next].len -= n;
  return 1;
}

/* Note 5: 1 when the rest of a short write went back to the ring. */
static int write_more(art_fs_t *req, ring_t *r, int64_t res) {
  if (res <= 0)
    return 0;
  r->written += (size_t)res;
  if (req->off_ >= 0)
    req->off_ += res;
  if (r->canceled || !advance(req, r, (size_t)res))
    return 0;
  set_bufs(&r->op, req, r->next, 1);
  return art__io_submit(req->loop, &r->op) == 0;
}

/* The request's result from the operation's (note 3 for a cancel). */
static ssize_t result_of(art_fs_t *req, const ring_t *r, int64_t res) {
  if (req->fs_type == ART_FS_WRITE && r->written > 0)
    return (ssize_t)r->written; /* this round's bytes counted already */
  if (res < 0 && r->canceled &&
      (res == ART_ECANCELED || res == ART_EINTR ||
       (res <= -512 && res >= -516)))
    return ART_ECANCELED; /* -512...-516: the kernel's ERESTART* codes */
  if (req->fs_type == ART_FS_CLOSE && res == ART_EINTR)
    return 0; /* the fd is released all the same, as on the pool */
  if (res == 0 &&
      (req->fs_type == ART_FS_STAT || req->fs_type == ART_FS_LSTAT ||
       req->fs_type == ART_FS_FSTAT)) {
    struct statx sx;
    memcpy(&sx, &req->statbuf, sizeof(sx));
    art__fs_from_statx(&req->statbuf, &sx);
    req->ptr = &req->statbuf;
  }
  return (ssize_t)res;
}

/* The operation completed (in the poll phase): the request's callback,
 * through the path src/fs.c gave, then the request stops counting. */
static void ring_done(art__op_t *op, int64_t res) {
  art_fs_t *req = req_of(op);
  ring_t *r = ring_of(req);
  art_loop_t *loop = req->loop;
  if (req->fs_type == ART_FS_WRITE && write_more(req, r, res))
    return;
  art__work_clear(&req->work_); /* art_cancel now says ART_EBUSY */
  if (r->worker)
    ring_loop(loop)->workers--;
  req->result = result_of(req, r, res);
  r->after(req); /* may free or reuse req */
  art__req_unregister(loop, ART_FS);
}

/* art_cancel of a request in the ring (note 3). */
static int ring_cancel(struct art__work *w) {
  art_fs_t *req = art__container_of(w, art_fs_t, work_);
  ring_t *r = ring_of(req);
  if (r->canceled)
    return ART_EBUSY; /* as a pool request no longer queued */
  int err = art__io_cancel(req->loop, &r->op);
  if (err == 0)
    r->canceled = 1;
  return err;
}

int art__fs_ring_submit(art_fs_t *req, void (*after)(art_fs_t *req)) {
  ring_t *r = ring_of(req);
  if (!(req->loop->backend_->caps & ART__BACKEND_COMPLETIONS))
    return ART_ENOTSUP; /* not even the cost of filling the operation */
  memset(r, 0, sizeof(*r));
  if (set_op(&r->op, req) != 0)
    return ART_ENOTSUP;
  ring_loop_t *rl = NULL;
  if (on_worker(&r->op)) {
    rl = ring_loop(req->loop);
    if (rl == NULL || rl->workers >= WORKERS_MAX ||
        req->loop->reqs_by_type_[ART_FS] > ALONE_MAX)
      return ART_ENOTSUP;
  }
  r->op.done = ring_done;
  r->after = after;
  req->work_.queued_ns_ = art_hrtime();
  if (art__io_submit(req->loop, &r->op) != 0)
    return ART_ENOTSUP; /* the kind is missing, or the ring is full */
  if (rl != NULL) {
    rl->workers++;
    r->worker = 1;
  }
  req->work_.cancel_ = ring_cancel;
  req->work_.state_ = ART__W_ELSEWHERE;
  art__req_register(req->loop, (art_req_t *)req, ART_FS);
  return 0;
}
