/* The stream base of TCP, pipe and TTY handles: reading, the ordered write
 * queue, shutdown, backpressure and closing.
 *
 * Notes on why the code is shaped the way it is:
 * 1. A write is tried at once when nothing is queued, and EPOLLOUT is armed
 *    only after the kernel said EAGAIN (or took part of the data). With
 *    io.c's lazy masks, a request-response exchange costs write, epoll_wait
 *    and read per side and no epoll_ctl at all.
 * 2. The callback of a write that completed inside art_write runs in the
 *    next pending phase, never re-entrantly from art_write.
 * 3. When several requests are queued, one writev/sendmsg gathers the
 *    buffers of as many of them as fit in MAX_IOV vectors: many small
 *    writes cost one system call.
 * 4. Sockets are written with MSG_NOSIGNAL. Other fds (pipe(2) ends, FIFOs,
 *    terminals) are written with SIGPIPE blocked in the calling thread; a
 *    SIGPIPE that the write raised is consumed with sigtimedwait before the
 *    mask is restored. The process's SIGPIPE disposition is never changed.
 *    (A SIGPIPE the thread already had blocked is left alone: it is the
 *    application's.)
 * 5. Reads (stream_read.c) go on until a short read, EAGAIN or a bound,
 *    so one busy stream cannot starve the others.
 * 6. An fd that cannot be polled (a regular file) is always ready: its
 *    reads run from the pending phase, its writes complete at once.
 * 7. On a completion backend (io_uring), socket streams read and write
 *    with operations in the ring instead (stream_ring.c, and the write
 *    half below, "Writes as completions").
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "stream.h"

#define MAX_IOV       64
#define MAX_WRITE_CBS 16
#define DEFAULT_HWM   (64 * 1024)

/* Flags that live only in this file. */
enum {
  S_CONNECT_DONE = 1u << 16,  /* connect result waits for the pending phase */
  S_SHUTDOWN_DONE = 1u << 17, /* shutdown result waits for the pending phase */
};

static void stream_io(art_loop_t *loop, art__io_t *w, unsigned events);
static void stream_pending(art__pending_t *p);
static void flush_queue(art_stream_t *s);

static int has_flag(const art_stream_t *s, unsigned f) {
  return (s->stream_flags_ & f) != 0;
}

void art__stream_init(art_loop_t *loop, art_stream_t *s,
                      const art__stream_ops_t *ops) {
  art__handle_init(loop, (art_handle_t *)s, &ops->handle);
  art__io_init(&s->io_, stream_io, -1);
  s->alloc_cb_ = NULL;
  s->read_cb_ = NULL;
  s->connection_cb_ = NULL;
  s->drain_cb_ = NULL;
  s->connect_req_ = NULL;
  s->shutdown_req_ = NULL;
  art__queue_init(&s->write_queue_);
  art__queue_init(&s->write_done_);
  s->write_queue_size_ = 0;
  s->write_held_ = 0;
  s->high_water_mark_ = DEFAULT_HWM;
  s->accepted_fd_ = -1;
  s->stream_flags_ = 0;
  s->bind_error_ = 0;
  s->ring_ = NULL;
  art__queue_init(&s->pending_.node);
  s->pending_.cb = stream_pending;
}

int art__stream_fd(const art_handle_t *h) {
  return ((const art_stream_t *)h)->io_.fd;
}

int art__stream_open(art_stream_t *s, int fd, unsigned flags) {
  art_loop_t *loop = s->loop;
  struct stat sb;
  if (s->io_.fd >= 0)
    return ART_EBUSY;
  if (art__io_check_fd(loop, fd) == ART_EEXIST)
    return ART_EEXIST;
  if (!(flags & ART__S_SOCKET)) { /* sockets we made or accepted are known */
    if (fstat(fd, &sb) == -1)
      return -errno;
    if (S_ISREG(sb.st_mode))
      flags |= ART__S_FILE;
    if (S_ISSOCK(sb.st_mode))
      flags |= ART__S_SOCKET;
  }
  s->io_.fd = fd;
  s->stream_flags_ |= flags;
  s->bind_error_ = 0; /* a failed bind was about another socket */
  if (loop->backend_->caps & ART__BACKEND_COMPLETIONS)
    art__sring_usable(s); /* makes the block; without memory: readiness */
  return 0;
}

void art__stream_unopen(art_stream_t *s) {
  if (s->io_.fd >= 0) {
    art__close_fd(s->io_.fd);
    s->io_.fd = -1;
  }
  art__sring_release(s);
}

void art__stream_defer(art_stream_t *s) {
  if (art__queue_empty(&s->pending_.node))
    art__pending_add(s->loop, &s->pending_, stream_pending);
}

/* ------------------------------------------------------------------------ */
/* Reading.                                                                 */

static void stop_reading(art_stream_t *s) {
  if (s->ring_ != NULL)
    art__sring_read_stop(s);
  art__stream_halt_reading(s);
}

int art_read_start(art_stream_t *s, art_alloc_cb alloc_cb,
                   art_read_cb read_cb) {
  if (!art__stream_usable(s) || alloc_cb == NULL || read_cb == NULL)
    return ART_EINVAL;
  if (!has_flag(s, ART__S_READABLE) || has_flag(s, ART__S_LISTENING))
    return ART_ENOTCONN;
  s->alloc_cb_ = alloc_cb;
  s->read_cb_ = read_cb;
  int err = ART_ENOTSUP;
  s->stream_flags_ |= ART__S_READING; /* what the ring's start looks at */
  if (has_flag(s, ART__S_FILE)) {
    art__stream_defer(s);
    err = 0;
  } else if (art__sring_on(s) || art__sring_pending(s)) {
    err = art__sring_read_start(s); /* kept bytes first, on any backend */
  }
  if (err == ART_ENOTSUP)
    err = art__io_start(s->loop, &s->io_, ART_READABLE);
  if (err) {
    s->stream_flags_ &= ~ART__S_READING;
    return err;
  }
  art__handle_capture((art_handle_t *)s); /* the read callbacks' context */
  art__handle_start((art_handle_t *)s);
  return 0;
}

int art_read_stop(art_stream_t *s) {
  if (s == NULL || s->loop == NULL || !art__is_stream_type(s->type))
    return ART_EINVAL;
  if (art__stream_usable(s) && has_flag(s, ART__S_READING))
    stop_reading(s);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Writing.                                                                 */

/* writev to a non-socket with SIGPIPE blocked (note 4). */
static ssize_t writev_nosigpipe(int fd, const struct iovec *iov, int n) {
  sigset_t pipe_set, old;
  sigemptyset(&pipe_set);
  sigaddset(&pipe_set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
  ssize_t r = writev(fd, iov, n);
  if (r == -1 && errno == EPIPE && !sigismember(&old, SIGPIPE)) {
    struct timespec zero = {0, 0};
    int saved = errno;
    while (sigtimedwait(&pipe_set, NULL, &zero) == -1 && errno == EINTR)
      ;
    errno = saved;
  }
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return r;
}

/* One vectored write, the way the fd needs it; -1 with errno on error. */
static ssize_t write_vec(art_stream_t *s, struct iovec *iov, int n,
                         int send_fd) {
  ssize_t r;
  int fd = s->io_.fd;
  if (send_fd < 0 && !has_flag(s, ART__S_SOCKET)) {
    do
      r = writev_nosigpipe(fd, iov, n);
    while (r == -1 && errno == EINTR);
    return r;
  }
  if (send_fd < 0 && n == 1) {
    do
      r = send(fd, iov[0].iov_base, iov[0].iov_len, MSG_NOSIGNAL);
    while (r == -1 && errno == EINTR);
    return r;
  }
  union {
    char buf[CMSG_SPACE(sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)n};
  if (send_fd >= 0) {
    msg.msg_control = ctl.buf;
    msg.msg_controllen = sizeof(ctl.buf);
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
  }
  do
    r = sendmsg(fd, &msg, MSG_NOSIGNAL);
  while (r == -1 && errno == EINTR);
  return r;
}

static art_write_t *queue_head(const art__queue_t *q) {
  return art__container_of(art__queue_head(q), art_write_t, queue_);
}

static int req_started(const art_write_t *req) {
  return req->index_ != 0 || req->offset_ != 0;
}

/* Fills iov from the queued requests (note 3). A request that passes a
 * handle goes alone, so its fd travels with its own first byte. Returns the
 * vector count; *total gets their byte count and *send_fd the fd to pass
 * (-1: none). */
static int gather(art_stream_t *s, struct iovec *iov, int max, size_t *total,
                  int *send_fd) {
  int n = 0;
  art__queue_t *q;
  *total = 0;
  *send_fd = -1;
  art__queue_foreach(q, &s->write_queue_) {
    art_write_t *req = art__container_of(q, art_write_t, queue_);
    int fresh_ipc = req->send_handle != NULL && !req_started(req);
    if (fresh_ipc && n > 0)
      break;
    if (fresh_ipc)
      *send_fd = art__handle_fd((art_handle_t *)req->send_handle);
    for (unsigned i = req->index_; i < req->nbufs_ && n < max; i++) {
      size_t skip = i == req->index_ ? req->offset_ : 0;
      iov[n].iov_base = req->bufs_[i].base + skip;
      iov[n].iov_len = req->bufs_[i].len - skip;
      *total += iov[n].iov_len;
      n++;
    }
    if (n == max || fresh_ipc)
      break;
  }
  return n;
}

/* A write that fails (other than by a close) fails the stream for
 * writing: later art_write calls return ART_EPIPE at once instead of
 * queueing data no one will take. */
static void set_req_status(art_stream_t *s, art_write_t *req, int status) {
  req->error_ = status;
  if (status < 0 && status != ART_ECANCELED && status != ART_EBADF)
    s->stream_flags_ |= ART__S_WRITE_FAILED;
}

static void complete_req(art_stream_t *s, art_write_t *req, int status) {
  art__queue_remove(&req->queue_);
  set_req_status(s, req, status);
  art__queue_insert_tail(&s->write_done_, &req->queue_);
}

/* Advances the queue past n written bytes, moving finished requests to the
 * done list. */
static void consume(art_stream_t *s, size_t n) {
  s->write_queue_size_ -= n;
  while (!art__queue_empty(&s->write_queue_)) {
    art_write_t *req = queue_head(&s->write_queue_);
    while (req->index_ < req->nbufs_) {
      size_t left = req->bufs_[req->index_].len - req->offset_;
      if (left > n) {
        req->offset_ += n;
        return;
      }
      n -= left;
      req->index_++;
      req->offset_ = 0;
    }
    complete_req(s, req, 0);
  }
}

/* Bytes a request has left to write. */
static size_t req_left(const art_write_t *req) {
  size_t left = 0;
  for (unsigned i = req->index_; i < req->nbufs_; i++)
    left += req->bufs_[i].len;
  return left - req->offset_;
}

/* The queue hit an error: the head request fails with it, and so does every
 * request after it (the stream cannot write any more). */
static void fail_queue(art_stream_t *s, int err) {
  while (!art__queue_empty(&s->write_queue_)) {
    art_write_t *req = queue_head(&s->write_queue_);
    s->write_queue_size_ -= req_left(req);
    complete_req(s, req, err);
  }
}

static void do_shutdown(art_stream_t *s);
static void flush_queue(art_stream_t *s);
static void fail_writes(art_stream_t *s, int err);

/* A request about to pass a handle closed since art_write2 fails with
 * ART_EBADF: sending its bytes alone would make the peer take them for a
 * plain message. Returns 1 if the head request was dropped so. */
static int drop_lost_handle(art_stream_t *s) {
  art_write_t *req = queue_head(&s->write_queue_);
  if (req->send_handle == NULL || req_started(req) ||
      art__handle_fd((art_handle_t *)req->send_handle) >= 0)
    return 0;
  s->write_queue_size_ -= req_left(req);
  complete_req(s, req, ART_EBADF);
  return 1;
}

/* The kernel pushed back: wait for the fd to become writable. Watching it
 * may need memory (the fd's first registration); without it the queue
 * fails with that error rather than waiting for an event that never
 * comes, and a shutdown waiting for the queue goes ahead. */
static void wait_writable(art_stream_t *s) {
  int err = art__io_start(s->loop, &s->io_, ART_WRITABLE);
  if (err != 0)
    fail_writes(s, err);
}

/* Writing cannot go on: every queued write fails with err (callbacks in
 * the pending phase), and a shutdown waiting for the queue goes ahead. */
static void fail_writes(art_stream_t *s, int err) {
  fail_queue(s, err);
  art__stream_defer(s);
  if (s->shutdown_req_ != NULL && !has_flag(s, ART__S_SHUT))
    do_shutdown(s);
}

/* After a direct write left data queued: a socket or pipe that took part
 * (or none) is full, so wait for it; a file takes the rest now, and so
 * does the queue when the direct path did not try (r == -2). */
static void flush_or_wait(art_stream_t *s, ssize_t r) {
  if (has_flag(s, ART__S_FILE) || r == -2) {
    flush_queue(s);
    if (!art__queue_empty(&s->write_done_))
      art__stream_defer(s);
  } else {
    wait_writable(s);
  }
}

/* Writes as much of the queue as the fd takes now. Arms WRITABLE only when
 * the kernel pushed back; disarms it when the queue is empty. */
static void flush_queue(art_stream_t *s) {
  while (!art__queue_empty(&s->write_queue_)) {
    if (drop_lost_handle(s))
      continue;
    struct iovec iov[MAX_IOV];
    size_t total;
    int send_fd;
    int n = gather(s, iov, MAX_IOV, &total, &send_fd);
    ssize_t r = total == 0 && send_fd < 0 ? 0 : write_vec(s, iov, n, send_fd);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      wait_writable(s);
      return;
    }
    if (r < 0) {
      fail_queue(s, -errno);
      break;
    }
    consume(s, (size_t)r);
    if ((size_t)r < total && !has_flag(s, ART__S_FILE)) {
      wait_writable(s);
      return;
    }
  }
  art__io_stop(s->loop, &s->io_, ART_WRITABLE);
  if (s->shutdown_req_ != NULL && !has_flag(s, ART__S_SHUT))
    do_shutdown(s);
}

/* Bytes a request holds until its callback runs. */
static size_t req_total(const art_write_t *req) {
  size_t total = 0;
  for (unsigned i = 0; i < req->nbufs_; i++)
    total += req->bufs_[i].len;
  return total;
}

/* Runs the callbacks of finished writes, then the drain callback if the
 * held bytes fell below the high-water mark after a write reached it.
 * A callback that writes again may complete that write at once, and its
 * callback runs in this same loop: a writer refilling from its callbacks
 * keeps the socket busy without a trip through the poller. The chain stops
 * after MAX_WRITE_CBS callbacks (the rest runs in the next pending phase),
 * so such a writer cannot monopolise the loop or fill the socket far beyond
 * what the reader takes per wakeup. */
static void run_write_done(art_stream_t *s) {
  art_loop_t *loop = s->loop;
  for (int i = 0; !art__queue_empty(&s->write_done_); i++) {
    if (i == MAX_WRITE_CBS && art__handle_usable((art_handle_t *)s)) {
      art__stream_defer(s);
      return;
    }
    art_write_t *req = queue_head(&s->write_done_);
    art__queue_remove(&req->queue_);
    s->write_held_ -= req_total(req);
    if (req->bufs_ != req->bufsml_)
      art__free(req->bufs_);
    req->bufs_ = NULL;
    art__req_unregister(loop, ART_WRITE);
    if (req->cb_ != NULL)
      ART__REQ_CALLBACK(loop, req, req->cb_, (req, req->error_));
    else
      art__res_destroy(loop, req->res_.id_);
  }
  if (has_flag(s, ART__S_NEED_DRAIN) && s->write_held_ < s->high_water_mark_ &&
      art__handle_usable((art_handle_t *)s)) {
    s->stream_flags_ &= ~ART__S_NEED_DRAIN;
    if (s->drain_cb_ != NULL)
      ART__CALLBACK(s, s->drain_cb_, (s));
  }
}

static int prepare_req(art_write_t *req, art_stream_t *s, const art_buf_t *bufs,
                       unsigned nbufs, size_t *total) {
  req->bufs_ = req->bufsml_;
  if (nbufs > sizeof(req->bufsml_) / sizeof(req->bufsml_[0])) {
    req->bufs_ = art__malloc(nbufs * sizeof(*bufs));
    if (req->bufs_ == NULL)
      return ART_ENOMEM;
  }
  *total = 0;
  for (unsigned i = 0; i < nbufs; i++) {
    req->bufs_[i] = bufs[i];
    *total += bufs[i].len;
  }
  req->nbufs_ = nbufs;
  req->index_ = 0;
  req->offset_ = 0;
  req->error_ = 0;
  req->handle = s;
  return 0;
}

/* The common case of note 1: nothing is queued. Writes straight from the
 * request's buffers, without the queue's gathering. Returns the bytes
 * written, -1 with errno, or -2 (not tried) when the request has more
 * buffers than this path takes. */
static ssize_t write_direct(const art_write_t *req, art_stream_t *s) {
  struct iovec iov[sizeof(req->bufsml_) / sizeof(req->bufsml_[0])];
  unsigned n = req->nbufs_;
  if (n > sizeof(iov) / sizeof(iov[0]))
    return -2;
  for (unsigned i = 0; i < n; i++) {
    iov[i].iov_base = req->bufs_[i].base;
    iov[i].iov_len = req->bufs_[i].len;
  }
  return n == 0 ? 0 : write_vec(s, iov, (int)n, -1);
}

/* A request finished by the direct path: its callback runs in the next
 * pending phase (never from inside art_write). */
static void finish_direct(art_write_t *req, art_stream_t *s, int status) {
  set_req_status(s, req, status);
  art__queue_insert_tail(&s->write_done_, &req->queue_);
  art__stream_defer(s);
}

/* ---- Writes as completions (stream_ring.c, note 1) ----
 * The queue's head goes out in one send operation, or one sendmsg that
 * gathers up to ART__SRING_IOV buffers of the queue; requests stay queued
 * until its completion, which writes on or finishes the queue. */

static int send_in_flight(const art_stream_t *s) {
  return s->ring_ != NULL && art__op_in_flight(&s->ring_->send);
}

static void send_done(art__op_t *op, int64_t result);

static void ring_send(art_stream_t *s) {
  art__sring_t *r = s->ring_;
  art__op_t *op = &r->send;
  size_t total = 0;
  int send_fd, n = 0;
  while (!art__queue_empty(&s->write_queue_) && total == 0) {
    n = gather(s, r->iov, ART__SRING_IOV, &total, &send_fd);
    if (total == 0) { /* empty writes complete as they are */
      consume(s, 0);
      art__stream_defer(s);
    }
  }
  if (total == 0) {
    if (s->shutdown_req_ != NULL && !has_flag(s, ART__S_SHUT))
      do_shutdown(s);
    return;
  }
  op->done = send_done;
  op->fd = s->io_.fd;
  op->flags = 0;
  op->how = 0;
  if (n == 1) {
    op->kind = ART__OP_SEND;
    op->buf = r->iov[0].iov_base;
    op->len = r->iov[0].iov_len;
  } else {
    memset(&r->msg, 0, sizeof(r->msg));
    r->msg.msg_iov = r->iov;
    r->msg.msg_iovlen = (size_t)n;
    op->kind = ART__OP_SENDMSG;
    op->buf = &r->msg;
  }
  /* No room in the ring now: the system call's path, whose finished
   * writes call back from the pending phase (art_write may be the caller,
   * and nothing else would run their callbacks). */
  if (art__io_submit(s->loop, op) != 0)
    flush_or_wait(s, -2);
}

static void send_done(art__op_t *op, int64_t result) {
  art__sring_t *r = art__container_of(op, art__sring_t, send);
  art_stream_t *s = r->stream;
  if (result > 0)
    consume(s, (size_t)result);
  if (art__sring_closed(s))
    return; /* the endgame fails the rest */
  if (result == ART_EAGAIN) {
    wait_writable(s); /* the kernel would not wait: readiness does */
    return;
  }
  if (result < 0)
    fail_queue(s, (int)result);
  if (!art__queue_empty(&s->write_queue_))
    ring_send(s);
  else if (s->shutdown_req_ != NULL && !has_flag(s, ART__S_SHUT))
    do_shutdown(s);
  run_write_done(s);
}

/* Starts writing a queue that was waiting (for a connect). */
static void start_writes(art_stream_t *s) {
  if (send_in_flight(s))
    return; /* its completion goes on with the queue */
  if (art__sring_on(s))
    ring_send(s);
  else
    flush_queue(s);
}

int art__stream_write(art_write_t *req, art_stream_t *s, const art_buf_t *bufs,
                      unsigned nbufs, art_stream_t *send_handle,
                      art_write_cb cb) {
  size_t total;
  if (req == NULL || !art__stream_usable(s) || (bufs == NULL && nbufs > 0))
    return ART_EINVAL;
  if (!has_flag(s, ART__S_WRITABLE) && s->connect_req_ == NULL)
    return has_flag(s, ART__S_SHUT) || s->shutdown_req_ ? ART_EPIPE
                                                        : ART_ENOTCONN;
  if (has_flag(s, ART__S_WRITE_FAILED))
    return ART_EPIPE;
  int err = prepare_req(req, s, bufs, nbufs, &total);
  if (err)
    return err;
  art__req_register(s->loop, (art_req_t *)req, ART_WRITE);
  req->cb_ = cb;
  req->send_handle = send_handle;
  s->write_held_ += total;
  if (s->write_held_ >= s->high_water_mark_)
    s->stream_flags_ |= ART__S_NEED_DRAIN;
  int idle = art__queue_empty(&s->write_queue_) && s->connect_req_ == NULL;
  if (send_handle == NULL && art__sring_on(s)) {
    art__queue_insert_tail(&s->write_queue_, &req->queue_);
    s->write_queue_size_ += total;
    if (idle)
      ring_send(s);
    return 0;
  }
  int direct = idle && send_handle == NULL;
  ssize_t r = direct ? write_direct(req, s) : -1;
  if (direct && (size_t)r == total) {
    finish_direct(req, s, 0); /* held until its callback: see the mark */
    return 0;
  }
  if (direct && r == -1 && errno != EAGAIN && errno != EWOULDBLOCK) {
    finish_direct(req, s, -errno);
    return 0;
  }
  art__queue_insert_tail(&s->write_queue_, &req->queue_);
  s->write_queue_size_ += total;
  if (direct && r >= 0)
    consume(s, (size_t)r); /* partial: the kernel is full, wait for it */
  if (direct)
    flush_or_wait(s, r);
  else if (idle)
    flush_or_wait(s, -2); /* a handle to pass: the queue's path sends it */
  return 0;
}

int art_write(art_write_t *req, art_stream_t *s, const art_buf_t bufs[],
              unsigned nbufs, art_write_cb cb) {
  return art__stream_write(req, s, bufs, nbufs, NULL, cb);
}

int art_try_write(art_stream_t *s, const art_buf_t bufs[], unsigned nbufs) {
  struct iovec iov[MAX_IOV];
  if (!art__stream_usable(s) || bufs == NULL || nbufs == 0)
    return ART_EINVAL;
  if (!has_flag(s, ART__S_WRITABLE))
    return has_flag(s, ART__S_SHUT) ? ART_EPIPE : ART_ENOTCONN;
  if (!art__queue_empty(&s->write_queue_) || s->connect_req_ != NULL)
    return ART_EAGAIN;
  unsigned n = nbufs < MAX_IOV ? nbufs : MAX_IOV;
  for (unsigned i = 0; i < n; i++) {
    iov[i].iov_base = bufs[i].base;
    iov[i].iov_len = bufs[i].len;
  }
  ssize_t r = write_vec(s, iov, (int)n, -1);
  if (r < 0)
    return errno == EWOULDBLOCK ? ART_EAGAIN : -errno;
  return r > INT32_MAX ? INT32_MAX : (int)r;
}

size_t art_stream_write_queue_size(const art_stream_t *s) {
  return s == NULL || !art__is_stream_type(s->type) ? 0 : s->write_queue_size_;
}

size_t art_stream_write_held_size(const art_stream_t *s) {
  return s == NULL || !art__is_stream_type(s->type) ? 0 : s->write_held_;
}

int art_stream_needs_drain(const art_stream_t *s) {
  return art__stream_usable(s) && s->write_held_ >= s->high_water_mark_;
}

int art_is_readable(const art_stream_t *s) {
  return art__stream_usable(s) && has_flag(s, ART__S_READABLE);
}

int art_is_writable(const art_stream_t *s) {
  return art__stream_usable(s) && has_flag(s, ART__S_WRITABLE);
}

int art_stream_set_high_water_mark(art_stream_t *s, size_t bytes) {
  if (!art__stream_usable(s) || bytes == 0)
    return ART_EINVAL;
  s->high_water_mark_ = bytes;
  return 0;
}

size_t art_stream_get_high_water_mark(const art_stream_t *s) {
  return art__stream_usable(s) ? s->high_water_mark_ : 0;
}

int art_stream_on_drain(art_stream_t *s, art_drain_cb cb) {
  if (!art__stream_usable(s))
    return ART_EINVAL;
  s->drain_cb_ = cb;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Shutdown.                                                                */

/* Half-closes a socket. Other fds have no half-close: their peer sees the
 * end when the handle is closed, so shutting them down only stops writes.
 * A system call on io_uring too: the kernel runs IORING_OP_SHUTDOWN on a
 * worker thread, so its completion could come after the peer saw the end
 * (and closed both ends, cancelling the callback's status). */
static void do_shutdown(art_stream_t *s) {
  art_shutdown_t *req = s->shutdown_req_;
  s->stream_flags_ |= ART__S_SHUT | S_SHUTDOWN_DONE;
  req->error_ = 0;
  if (has_flag(s, ART__S_SOCKET) && shutdown(s->io_.fd, SHUT_WR) == -1)
    req->error_ = -errno;
  art__stream_defer(s);
}

int art_shutdown(art_shutdown_t *req, art_stream_t *s, art_shutdown_cb cb) {
  if (req == NULL || !art__stream_usable(s))
    return ART_EINVAL;
  if (!has_flag(s, ART__S_WRITABLE) || s->shutdown_req_ != NULL)
    return ART_ENOTCONN;
  art__req_register(s->loop, (art_req_t *)req, ART_SHUTDOWN);
  req->handle = s;
  req->cb_ = cb;
  req->error_ = 0;
  s->shutdown_req_ = req;
  s->stream_flags_ &= ~ART__S_WRITABLE;
  if (art__queue_empty(&s->write_queue_))
    do_shutdown(s);
  return 0;
}

static void finish_shutdown(art_stream_t *s, int status) {
  art_shutdown_t *req = s->shutdown_req_;
  s->shutdown_req_ = NULL;
  s->stream_flags_ &= ~S_SHUTDOWN_DONE;
  art__req_unregister(s->loop, ART_SHUTDOWN);
  if (req->cb_ != NULL)
    ART__REQ_CALLBACK(s->loop, req, req->cb_, (req, status));
  else
    art__res_destroy(s->loop, req->res_.id_);
}

/* ------------------------------------------------------------------------ */
/* Connecting (the system call is made by tcp.c and pipe.c).                */

static void finish_connect(art_stream_t *s, int status) {
  art_connect_t *req = s->connect_req_;
  s->connect_req_ = NULL;
  s->stream_flags_ &= ~S_CONNECT_DONE;
  if (status == 0)
    s->stream_flags_ |= ART__S_READABLE | ART__S_WRITABLE;
  else
    fail_queue(s, status);
  if (art__queue_empty(&s->write_queue_))
    art__io_stop(s->loop, &s->io_, ART_WRITABLE);
  art__req_unregister(s->loop, ART_CONNECT);
  ART__REQ_CALLBACK(s->loop, req, req->cb_, (req, status));
  if (art__handle_usable((art_handle_t *)s)) {
    if (status == 0 && !art__queue_empty(&s->write_queue_))
      start_writes(s);
    run_write_done(s);
  }
}

static void connect_register(art_connect_t *req, art_stream_t *s, int err,
                             art_connect_cb cb) {
  art__req_register(s->loop, (art_req_t *)req, ART_CONNECT);
  req->handle = s;
  req->cb_ = cb;
  req->error_ = err;
  s->connect_req_ = req;
}

/* err is the result of connect(2): in progress, or done (0 or an error,
 * delivered in the pending phase). */
void art__stream_connect_start(art_connect_t *req, art_stream_t *s, int err,
                               art_connect_cb cb) {
  connect_register(req, s, err, cb);
  if (err == -EINPROGRESS) {
    req->error_ = art__io_start(s->loop, &s->io_, ART_WRITABLE);
    if (req->error_ == 0)
      return;
  }
  s->stream_flags_ |= S_CONNECT_DONE;
  art__stream_defer(s);
}

/* The ring's connect finished (the send operation's slot: nothing is sent
 * before the connect completes). */
static void connect_done(art__op_t *op, int64_t result) {
  art__sring_t *r = art__container_of(op, art__sring_t, send);
  art_stream_t *s = r->stream;
  if (!art__sring_closed(s)) /* else the endgame cancels the request */
    finish_connect(s, (int)result);
}

void art__stream_connect(art_connect_t *req, art_stream_t *s,
                         const struct sockaddr *addr, socklen_t len, int err,
                         art_connect_cb cb) {
  if (err == 0 && art__sring_on(s) && len <= sizeof(s->ring_->addr) &&
      art__io_supports(s->loop, ART__OP_CONNECT, 0)) {
    art__op_t *op = &s->ring_->send;
    memcpy(&s->ring_->addr, addr, len);
    op->done = connect_done;
    op->kind = ART__OP_CONNECT;
    op->fd = s->io_.fd;
    op->buf = &s->ring_->addr;
    op->len = len;
    /* Handed to the kernel now, as connect(2) would be: the SYN leaves at
     * the call, not at the next wait (a ring not entered yet says
     * ART_EAGAIN, and connect(2) takes it). */
    op->how = ART__OP_NOW;
    if (art__io_submit(s->loop, op) == 0) {
      connect_register(req, s, 0, cb);
      return;
    }
  }
  if (err == 0 && connect(s->io_.fd, addr, len) == -1)
    err = errno == EINTR ? -EINPROGRESS : -errno;
  art__stream_connect_start(req, s, err, cb);
}

static void connect_io(art_stream_t *s) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(s->io_.fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
    err = errno;
  if (err == EINPROGRESS)
    return;
  finish_connect(s, -err);
}

/* ------------------------------------------------------------------------ */
/* Dispatch.                                                                */

/* The backend refused the stream's watcher: whatever waited on it fails
 * with the reason, since the events it waited for will never come. */
static void stream_refused(art_stream_t *s, int err) {
  if (s->connect_req_ != NULL) {
    finish_connect(s, err);
    return;
  }
  if (has_flag(s, ART__S_READING)) {
    art_buf_t none = {NULL, 0};
    stop_reading(s);
    art__stream_read_cb(s, err, &none);
  }
  if (art__handle_usable((art_handle_t *)s) &&
      !art__queue_empty(&s->write_queue_))
    fail_writes(s, err);
}

static void stream_io(art_loop_t *loop, art__io_t *w, unsigned events) {
  art_stream_t *s = art__container_of(w, art_stream_t, io_);
  (void)loop; /* a listener's watcher runs stream_server.c's callback */
  if (events & ART__IO_REFUSED) {
    stream_refused(s, w->error);
    return;
  }
  if (s->connect_req_ != NULL) {
    if (!has_flag(s, S_CONNECT_DONE))
      connect_io(s);
    return;
  }
  if ((events & ART_READABLE) && has_flag(s, ART__S_READING))
    art__stream_read_some(s);
  if ((events & ART_WRITABLE) && art__handle_usable((art_handle_t *)s) &&
      !art__queue_empty(&s->write_queue_) && !send_in_flight(s)) {
    flush_queue(s);
    run_write_done(s);
  }
}

/* The pending phase: results that must not be delivered re-entrantly. */
static void stream_pending(art__pending_t *p) {
  art_stream_t *s = art__container_of(p, art_stream_t, pending_);
  if (has_flag(s, S_CONNECT_DONE) && s->connect_req_ != NULL)
    finish_connect(s, s->connect_req_->error_);
  if (!art__handle_usable((art_handle_t *)s))
    return;
  run_write_done(s);
  if (has_flag(s, S_SHUTDOWN_DONE) && s->shutdown_req_ != NULL &&
      art__handle_usable((art_handle_t *)s))
    finish_shutdown(s, s->shutdown_req_->error_);
  if (has_flag(s, ART__S_FILE) && art__stream_still_reading(s)) {
    art__stream_read_some(s);
    if (art__stream_still_reading(s))
      art__stream_defer(s);
  }
  if (s->ring_ != NULL && art__stream_still_reading(s) && art__sring_pending(s))
    art__sring_deliver_held(s);
}

/* ------------------------------------------------------------------------ */
/* Closing.                                                                 */

void art__stream_close(art_handle_t *h) {
  art_stream_t *s = (art_stream_t *)h;
  s->stream_flags_ &=
      ~(ART__S_READING | ART__S_LISTENING | ART__S_READABLE | ART__S_WRITABLE);
  art__queue_remove(&s->pending_.node);
  art__sring_close(s);
  if (s->io_.fd >= 0) {
    art__io_close(s->loop, &s->io_);
    art__close_fd(s->io_.fd);
    s->io_.fd = -1;
  }
  if (s->accepted_fd_ >= 0) {
    art__close_fd(s->accepted_fd_);
    s->accepted_fd_ = -1;
  }
}

/* Just before the close callback: every request still in flight completes,
 * the unfinished ones with ART_ECANCELED. */
void art__stream_endgame(art_handle_t *h) {
  art_stream_t *s = (art_stream_t *)h;
  if (s->connect_req_ != NULL) {
    art_connect_t *req = s->connect_req_;
    s->connect_req_ = NULL;
    art__req_unregister(s->loop, ART_CONNECT);
    ART__REQ_CALLBACK(s->loop, req, req->cb_, (req, ART_ECANCELED));
  }
  fail_queue(s, ART_ECANCELED);
  s->write_queue_size_ = 0;
  s->stream_flags_ &= ~ART__S_NEED_DRAIN;
  run_write_done(s); /* leaves write_held_ at 0: every request is done */
  if (s->shutdown_req_ != NULL)
    finish_shutdown(s, ART_ECANCELED);
  art__sring_release(s);
}
