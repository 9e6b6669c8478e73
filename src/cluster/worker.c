/* The worker's side of a cluster: the pipe to the primary, the slot's
 * listener in reuseport mode, the connections the primary deals in round
 * robin mode, and the drain.
 *
 * Notes:
 * 1. Everything that arrives from outside is checked before use: the
 *    environment variable (digits only, no sign, no leading zero, at most
 *    2^53), the inherited fd (a Unix stream socket), and every frame (the
 *    reader's bounds, then the worker's own rules: HELLO once and first,
 *    with this worker's id and a backlog from 1 to INT_MAX; CONN only in
 *    round robin mode with a TCP
 *    handle waiting; STOP and READY carry nothing). A bad frame cuts the
 *    channel and drains the worker: it cannot trust what follows.
 * 2. The inherited pipe is made close-on-exec, so that a child the worker
 *    spawns does not hold the primary's channel open.
 * 3. A connection handed over and not accepted in on_connection is closed
 *    here rather than left in the pipe's list: the next CONN frame must
 *    find its own connection first.
 * 4. Draining closes the listener and the pipe, then tells the program.
 *    In reuseport mode it first takes what waits in the socket's queue
 *    (at most one backlog's worth) and hands it to on_connection, so that
 *    a stop serves the connections the kernel had completed; the primary
 *    keeps its own copy of the socket, so anything arriving later waits
 *    for the slot's next worker, or is reset when a stop has closed every
 *    copy. Losing the primary (end of the pipe) drains the same way.
 * 5. Round robin: each connection frame is acknowledged, so that the
 *    primary can skip a worker that falls behind (primary.c, note 3). One
 *    ack counts every connection of one read: under load one write
 *    answers several connections.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cluster.h"

enum { W_STARTING = 1, W_READY, W_CLOSED };

#define MAX_ID ((uint64_t)1 << 53)

/* Parses the worker id of ART_CLUSTER_ENV's value (note 1). */
static int parse_id(const char *s, uint64_t *id) {
  uint64_t v = 0;
  size_t n = 0;
  if (s == NULL || s[0] < '1' || s[0] > '9')
    return ART_EINVAL;
  for (; s[n] != '\0'; n++) {
    if (s[n] < '0' || s[n] > '9' || n >= 16)
      return ART_EINVAL;
    v = v * 10 + (uint64_t)(s[n] - '0');
  }
  if (v > MAX_ID)
    return ART_EINVAL;
  *id = v;
  return 0;
}

int art_cluster_is_worker(void) {
  uint64_t id;
  const char *v = getenv(ART_CLUSTER_ENV);
  if (v == NULL)
    return 0;
  return parse_id(v, &id) == 0 ? 1 : ART_EINVAL;
}

static int unix_stream_fd(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  int type = 0;
  socklen_t tlen = sizeof(type);
  if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) == -1 ||
      ss.ss_family != AF_UNIX ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) == -1 ||
      type != SOCK_STREAM)
    return ART_EBADF;
  return 0;
}

static void handle_closed(art_handle_t *h) {
  art_cluster_worker_t *w = h->data;
  if (--w->handles_ == 0) {
    art__creader_free(w->reader_);
    art__free(w->reader_);
    w->reader_ = NULL;
  }
}

static void close_handle(art_cluster_worker_t *w, art_handle_t *h) {
  if (h->data == w && !art_is_closing(h))
    art_close(h, handle_closed);
}

/* Reuseport: serves the connections waiting in the slot's queue before
 * the listener closes (note 4). */
static void take_queue(art_cluster_worker_t *w) {
  int fd = art__handle_fd((const art_handle_t *)&w->listener_);
  for (int i = 0; fd >= 0 && i < w->backlog_ && w->state_ == W_READY; i++) {
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
      continue;
    if (cfd < 0)
      return;
    w->queued_fd_ = cfd;
    w->taken_ = 0;
    ART__CALLBACK(&w->listener_, w->opts_.on_connection, (w, 0));
    if (w->queued_fd_ >= 0) /* not taken: closed, as note 3 */
      art__close_fd(w->queued_fd_);
    w->queued_fd_ = -1;
  }
}

/* Closes what the worker owns; on_drain runs when drain says so. */
static void leave(art_cluster_worker_t *w, int drain) {
  if (w->state_ == W_CLOSED)
    return;
  if (drain && w->state_ == W_READY && w->mode == ART_CLUSTER_REUSEPORT) {
    take_queue(w);
    if (w->state_ == W_CLOSED) /* the program left meanwhile */
      return;
  }
  w->state_ = W_CLOSED;
  close_handle(w, (art_handle_t *)&w->listener_);
  close_handle(w, (art_handle_t *)&w->ipc_);
  if (drain && w->opts_.on_drain != NULL)
    ART__CALLBACK(&w->ipc_, w->opts_.on_drain, (w));
}

static void drop_pending(art_cluster_worker_t *w, art_stream_t *from);

static void listener_connection(art_stream_t *server, int status) {
  art_cluster_worker_t *w = server->data;
  w->taken_ = 0;
  ART__CALLBACK(server, w->opts_.on_connection, (w, status));
  if (status == 0 && !w->taken_ && art__handle_usable((art_handle_t *)server))
    drop_pending(w, server);
}

/* HELLO: learn the slot and mode; in reuseport mode take the slot's
 * listener, which came with the frame, and listen on it. */
static int on_hello(art_cluster_worker_t *w, const art__cframe_t *f) {
  const unsigned char *p = f->payload;
  if (f->len != ART__CF_HELLO_LEN || w->state_ != W_STARTING)
    return ART_EPROTO;
  uint32_t slot = art__get_be32(p), mode = art__get_be32(p + 4);
  uint64_t id = (uint64_t)art__get_be32(p + 8) << 32 | art__get_be32(p + 12);
  uint32_t backlog = art__get_be32(p + 16);
  if (slot >= ART_CLUSTER_MAX_WORKERS || mode > ART_CLUSTER_REUSEPORT ||
      id != w->id || backlog == 0 || backlog > INT_MAX)
    return ART_EPROTO;
  w->slot = slot;
  w->mode = (art_cluster_mode)mode;
  w->backlog_ = (int)backlog;
  if (w->mode == ART_CLUSTER_REUSEPORT) {
    if (art_pipe_pending_type(&w->ipc_) != ART_TCP)
      return ART_EPROTO;
    art_tcp_init(w->loop, &w->listener_);
    w->listener_.data = w;
    w->handles_++;
    int err =
        art_accept((art_stream_t *)&w->ipc_, (art_stream_t *)&w->listener_);
    if (!err)
      err = art_listen((art_stream_t *)&w->listener_, w->backlog_,
                       listener_connection);
    if (err)
      return err;
  }
  w->state_ = W_READY;
  art__cwrite_t *fr = art__cframe_new(ART__CF_READY, NULL, 0);
  if (fr == NULL)
    return ART_ENOMEM;
  int err = art__cframe_send(fr, &w->ipc_, NULL, NULL);
  if (err)
    return err;
  if (w->opts_.on_ready != NULL)
    ART__CALLBACK(&w->ipc_, w->opts_.on_ready, (w));
  return 0;
}

static void dropped_closed(art_handle_t *h) {
  art__free(h);
}

/* Closes the connection the program did not take (note 3). */
static void drop_pending(art_cluster_worker_t *w, art_stream_t *from) {
  art_tcp_t *t = art__malloc(sizeof(*t));
  if (t == NULL)
    return; /* it waits until the pipe or listener closes */
  art_tcp_init(w->loop, t);
  art_accept(from, (art_stream_t *)t);
  art_close((art_handle_t *)t, dropped_closed);
}

/* CONN: a connection dealt by the primary; its fd waits in the pipe. */
static int on_conn(art_cluster_worker_t *w, const art__cframe_t *f) {
  if (f->len != 0 || w->state_ != W_READY ||
      w->mode != ART_CLUSTER_ROUNDROBIN ||
      art_pipe_pending_type(&w->ipc_) != ART_TCP)
    return ART_EPROTO;
  w->taken_ = 0;
  ART__CALLBACK(&w->ipc_, w->opts_.on_connection, (w, 0));
  if (!art__handle_usable((art_handle_t *)&w->ipc_) || w->state_ != W_READY)
    return 0;
  if (!w->taken_)
    drop_pending(w, (art_stream_t *)&w->ipc_);
  w->acks_++; /* acknowledged once the read's frames are done (note 5) */
  return 0;
}

static int on_frame(art_cluster_worker_t *w, const art__cframe_t *f) {
  switch (f->type) {
  case ART__CF_HELLO:
    return on_hello(w, f);
  case ART__CF_CONN:
    return on_conn(w, f);
  case ART__CF_STOP:
    if (f->len != 0)
      return ART_EPROTO;
    leave(w, 1);
    return 0;
  default: /* ART__CF_MSG: the reader lets no other type through */
    if (w->state_ == W_STARTING)
      return ART_EPROTO;
    if (w->opts_.on_message != NULL)
      ART__CALLBACK(&w->ipc_, w->opts_.on_message, (w, f->payload, f->len));
    return 0;
  }
}

/* The primary deals to this worker again only as acks come back; one ack
 * covers every connection of one read (note 5). */
static int send_acks(art_cluster_worker_t *w) {
  unsigned char count[4];
  if (w->acks_ == 0 || w->state_ != W_READY)
    return 0;
  art__put_be32(count, w->acks_);
  w->acks_ = 0;
  art__cwrite_t *ack = art__cframe_new(ART__CF_ACK, count, sizeof(count));
  if (ack == NULL)
    return ART_ENOMEM;
  return art__cframe_send(ack, &w->ipc_, NULL, NULL);
}

static void ipc_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  art_cluster_worker_t *w = h->data;
  (void)suggested;
  art__creader_space(w->reader_, buf);
}

static void ipc_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  art_cluster_worker_t *w = s->data;
  art__creader_t *r = w->reader_;
  art__cframe_t f;
  int got;
  (void)buf;
  if (n < 0) { /* the primary is gone, or the pipe failed */
    leave(w, 1);
    return;
  }
  art__creader_filled(r, (size_t)n);
  unsigned allowed = 1u << ART__CF_HELLO | 1u << ART__CF_MSG |
                     1u << ART__CF_CONN | 1u << ART__CF_STOP;
  while (w->state_ != W_CLOSED && (got = art__creader_next(r, allowed, &f))) {
    int err = got < 0 ? got : on_frame(w, &f);
    if (err) {
      if (err == ART_EPROTO)
        w->refused_frames++;
      leave(w, 1);
    }
  }
  if (send_acks(w) != 0)
    leave(w, 1);
}

int art_cluster_worker_start(art_loop_t *loop, art_cluster_worker_t *w,
                             const art_cluster_worker_options_t *opts) {
  uint64_t id;
  if (loop == NULL || w == NULL || opts == NULL ||
      opts->on_connection == NULL || opts->ipc_fd < 0 ||
      parse_id(getenv(ART_CLUSTER_ENV), &id) != 0)
    return ART_EINVAL;
  int fd = opts->ipc_fd ? opts->ipc_fd : 3;
  if (unix_stream_fd(fd) != 0)
    return ART_EBADF;
  memset(w, 0, sizeof(*w));
  w->reader_ = art__calloc(1, sizeof(art__creader_t));
  if (w->reader_ == NULL) {
    art__close_fd(fd); /* a worker without its pipe is no worker */
    return ART_ENOMEM;
  }
  art_pipe_init(loop, &w->ipc_, 1);
  w->loop = loop;
  w->id = id;
  w->opts_ = *opts;
  w->ipc_.data = w;
  w->handles_ = 1;
  w->queued_fd_ = -1;
  w->state_ = W_STARTING;
  fcntl(fd, F_SETFD, FD_CLOEXEC); /* note 2 */
  int err = art_pipe_open(&w->ipc_, fd);
  if (err)
    art__close_fd(fd);
  else
    err = art_read_start((art_stream_t *)&w->ipc_, ipc_alloc, ipc_read);
  if (err) { /* the fd is closed with the pipe */
    w->state_ = W_CLOSED;
    art_close((art_handle_t *)&w->ipc_, handle_closed);
  }
  return err;
}

int art_cluster_accept(art_cluster_worker_t *w, art_tcp_t *client) {
  if (w == NULL || client == NULL || w->state_ != W_READY)
    return ART_EINVAL;
  art_stream_t *from = w->mode == ART_CLUSTER_REUSEPORT
                           ? (art_stream_t *)&w->listener_
                           : (art_stream_t *)&w->ipc_;
  if (w->taken_ || (w->mode == ART_CLUSTER_ROUNDROBIN &&
                    art_pipe_pending_count(&w->ipc_) == 0))
    return ART_EAGAIN;
  if (w->queued_fd_ >= 0) { /* a drain's, from the queue */
    int err = art_tcp_open(client, w->queued_fd_);
    if (!err) {
      w->queued_fd_ = -1;
      w->taken_ = 1;
    }
    return err;
  }
  int err = art_accept(from, (art_stream_t *)client);
  if (!err)
    w->taken_ = 1;
  return err;
}

int art_cluster_worker_send(art_cluster_worker_t *w, const void *data,
                            size_t len) {
  if (w == NULL || (data == NULL && len > 0) || len > ART_CLUSTER_MAX_MESSAGE)
    return ART_EINVAL;
  if (w->state_ != W_READY)
    return ART_ENOTCONN;
  art__cwrite_t *fr = art__cframe_new(ART__CF_MSG, data, len);
  if (fr == NULL)
    return ART_ENOMEM;
  return art__cframe_send(fr, &w->ipc_, NULL, NULL);
}

int art_cluster_worker_close(art_cluster_worker_t *w) {
  if (w == NULL)
    return ART_EINVAL;
  leave(w, 0);
  return 0;
}
