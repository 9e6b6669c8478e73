/* The UDP send path: art_udp_send requests queued in order and completed
 * exactly once, and the immediate forms art_udp_try_send and
 * art_udp_try_send_batch.
 *
 * A request is on exactly one of two lists of its handle: queue_ while it
 * waits for the socket, done_ once it has a result and waits for its
 * callback. Callbacks never run inside art_udp_send: finished requests are
 * completed by the handle's pending-phase entry, or by its endgame when the
 * handle closes (so that they all come before close_cb).
 *
 * When nothing is queued, art_udp_send tries sendmsg at once: the common
 * case costs one system call and never touches the poller. Only EAGAIN (or
 * ENOBUFS) queues the request and arms EPOLLOUT; the queue is then flushed
 * with sendmmsg, up to ART_UDP_MMSG_MAX datagrams per call.
 *
 * Sends made from the handle's own callbacks (a reply from recv_cb, the
 * next datagram from a send callback) are the exception: they queue, and
 * the end of that run of callbacks flushes them all with one sendmmsg (see
 * art__udp_defer_begin in src/udp.h).
 */
#include <limits.h>
#include <string.h>
#include <sys/socket.h>

#include "udp.h"

static size_t total_len(const art_buf_t *bufs, unsigned nbufs) {
  size_t n = 0;
  for (unsigned i = 0; i < nbufs; i++)
    n += bufs[i].len;
  return n;
}

static int bufs_ok(const art_buf_t *bufs, unsigned nbufs) {
  return nbufs <= IOV_MAX && (nbufs == 0 || bufs != NULL);
}

/* The caller's buffers and destination as a msghdr. */
static void fill_msg(struct msghdr *m, const art_buf_t *bufs, unsigned nbufs,
                     const struct sockaddr *addr, socklen_t addrlen) {
  memset(m, 0, sizeof(*m));
  m->msg_name = (void *)addr;
  m->msg_namelen = addr != NULL ? addrlen : 0;
  m->msg_iov = (struct iovec *)bufs;
  m->msg_iovlen = nbufs;
}

static socklen_t sockaddr_len(const struct sockaddr *addr) {
  if (addr == NULL)
    return 0;
  return addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

/* Errors after which a datagram may go through later. */
static int retryable(int err) {
  return err == EAGAIN || err == EWOULDBLOCK || err == ENOBUFS;
}

/* Moves a request with its result to done_ and makes sure the pending phase
 * will complete it. */
static void finish(art_udp_t *h, art_udp_send_t *req, int status) {
  req->status_ = status;
  art__queue_insert_tail(&h->done_, &req->node_);
  if (art__queue_empty(&h->pending_.node))
    art__pending_add(h->loop, &h->pending_, art__udp_pending_cb);
}

/* Takes the head of queue_ off the queue with its result. */
static void finish_head(art_udp_t *h, int status) {
  art__queue_t *q = art__queue_head(&h->queue_);
  art_udp_send_t *req = art__container_of(q, art_udp_send_t, node_);
  art__queue_remove(q);
  h->send_queue_size -= req->len_;
  h->send_queue_count--;
  finish(h, req, status);
}

/* Copies what the request must keep: the array of buffers (not the data)
 * and the destination. */
static int req_setup(art_udp_send_t *req, art_udp_t *h, const art_buf_t *bufs,
                     unsigned nbufs, const struct sockaddr *addr) {
  req->bufs_ = req->bufsml_;
  if (nbufs > sizeof(req->bufsml_) / sizeof(req->bufsml_[0])) {
    req->bufs_ = art__malloc(nbufs * sizeof(*bufs));
    if (req->bufs_ == NULL)
      return ART_ENOMEM;
  }
  if (nbufs == 1) /* the common case, without a call to memcpy */
    req->bufs_[0] = bufs[0];
  else if (nbufs > 0)
    memcpy(req->bufs_, bufs, nbufs * sizeof(*bufs));
  req->nbufs_ = nbufs;
  req->len_ = total_len(bufs, nbufs);
  req->addrlen_ = sockaddr_len(addr);
  if (addr != NULL && addr->sa_family == AF_INET)
    *(struct sockaddr_in *)&req->addr_ = *(const struct sockaddr_in *)addr;
  else if (addr != NULL)
    *(struct sockaddr_in6 *)&req->addr_ = *(const struct sockaddr_in6 *)addr;
  req->handle = h;
  req->status_ = 0;
  art__queue_init(&req->node_);
  return 0;
}

/* Puts a request at the end of the queue and arms EPOLLOUT. */
static int enqueue(art_udp_t *h, art_udp_send_t *req) {
  int first = art__queue_empty(&h->queue_);
  if (first) { /* later ones find EPOLLOUT armed and the handle active */
    int err = art__io_start(h->loop, &h->io_, ART_WRITABLE);
    if (err)
      return err;
  }
  art__queue_insert_tail(&h->queue_, &req->node_);
  h->send_queue_size += req->len_;
  h->send_queue_count++;
  if (first)
    art__udp_update_active(h);
  return 0;
}

/* sendmsg, retried on EINTR; the byte count or -errno. */
static ssize_t send_msg(int fd, const struct msghdr *m) {
  ssize_t n;
  do
    n = sendmsg(fd, m, 0);
  while (n == -1 && errno == EINTR);
  return n == -1 ? -errno : n;
}

/* The first try of a request when nothing is queued before it: finished
 * now, or queued if the socket is full. */
static int send_first(art_udp_t *h, art_udp_send_t *req) {
  struct msghdr m;
  fill_msg(&m, req->bufs_, req->nbufs_,
           req->addrlen_ ? (struct sockaddr *)&req->addr_ : NULL,
           req->addrlen_);
  ssize_t n = send_msg(h->io_.fd, &m);
  if (n < 0 && retryable((int)-n))
    return enqueue(h, req);
  finish(h, req, n < 0 ? (int)n : 0);
  return 0;
}

int art_udp_send(art_udp_send_t *req, art_udp_t *h, const art_buf_t bufs[],
                 unsigned nbufs, const struct sockaddr *addr,
                 art_udp_send_cb cb) {
  if (req == NULL || !art__handle_usable((art_handle_t *)h) ||
      h->type != ART_UDP || !bufs_ok(bufs, nbufs))
    return ART_EINVAL;
  int err = art__udp_dest_fast(h, addr) ? 0 : art__udp_check_dest(h, addr);
  if (!err)
    err = req_setup(req, h, bufs, nbufs, addr);
  if (err)
    return err;
  req->cb_ = cb;
  art__req_register(h->loop, (art_req_t *)req, ART_UDP_SEND);
  if (art__queue_empty(&h->queue_) && !(h->flags_ & ART__UDP_DEFER))
    err = send_first(h, req);
  else
    err = enqueue(h, req);
  if (err) { /* only the poller could refuse: undo the registration */
    art__req_unregister(h->loop, ART_UDP_SEND);
    if (req->bufs_ != req->bufsml_)
      art__free(req->bufs_);
  }
  return err;
}

/* Shared checks of the immediate forms: usable handle, nothing queued. */
static int try_check(art_udp_t *h) {
  if (!art__handle_usable((art_handle_t *)h) || h->type != ART_UDP)
    return ART_EINVAL;
  return art__queue_empty(&h->queue_) ? 0 : ART_EAGAIN;
}

int art_udp_try_send(art_udp_t *h, const art_buf_t bufs[], unsigned nbufs,
                     const struct sockaddr *addr) {
  int err = try_check(h);
  if (err)
    return err;
  if (!bufs_ok(bufs, nbufs))
    return ART_EINVAL;
  err = art__udp_check_dest(h, addr);
  if (err)
    return err;
  struct msghdr m;
  fill_msg(&m, bufs, nbufs, addr, sockaddr_len(addr));
  ssize_t n = send_msg(h->io_.fd, &m);
  return (int)n; /* -EAGAIN is ART_EAGAIN */
}

/* sendmmsg over count prepared headers, retried on EINTR; the number sent
 * or -errno. */
static int send_mmsg(int fd, struct mmsghdr *msgs, unsigned count) {
  int n;
  do
    n = sendmmsg(fd, msgs, count, 0);
  while (n == -1 && errno == EINTR);
  return n == -1 ? -errno : n;
}

/* Checks every message before anything is sent, so that a bad one in the
 * middle cannot leave half a batch sent with an error. */
static int check_batch(art_udp_t *h, const art_udp_msg_t *msgs,
                       unsigned count) {
  for (unsigned i = 0; i < count; i++) {
    if (!bufs_ok(msgs[i].bufs, msgs[i].nbufs))
      return ART_EINVAL;
    if (art__udp_dest_fast(h, msgs[i].addr))
      continue;
    int err = art__udp_check_dest(h, msgs[i].addr);
    if (err)
      return err;
  }
  return 0;
}

int art_udp_try_send_batch(art_udp_t *h, const art_udp_msg_t msgs[],
                           unsigned count) {
  struct mmsghdr mm[ART_UDP_MMSG_MAX];
  int err = try_check(h);
  if (!err && msgs == NULL && count > 0)
    err = ART_EINVAL;
  if (!err)
    err = check_batch(h, msgs, count);
  if (err)
    return err;
  if (count > INT_MAX)
    count = INT_MAX;
  unsigned sent = 0;
  while (sent < count) {
    unsigned k =
        count - sent > ART_UDP_MMSG_MAX ? ART_UDP_MMSG_MAX : count - sent;
    for (unsigned i = 0; i < k; i++) {
      const art_udp_msg_t *msg = &msgs[sent + i];
      fill_msg(&mm[i].msg_hdr, msg->bufs, msg->nbufs, msg->addr,
               sockaddr_len(msg->addr));
    }
    int n = send_mmsg(h->io_.fd, mm, k);
    if (n < 0) {
      if (sent > 0)
        break;
      return n;
    }
    sent += (unsigned)n;
    if ((unsigned)n < k)
      break;
  }
  return (int)sent;
}

/* Fills headers for up to ART_UDP_MMSG_MAX queued requests. */
static unsigned prepare_queued(art_udp_t *h, struct mmsghdr *mm) {
  unsigned k = 0;
  art__queue_t *q;
  art__queue_foreach(q, &h->queue_) {
    art_udp_send_t *req = art__container_of(q, art_udp_send_t, node_);
    fill_msg(&mm[k].msg_hdr, req->bufs_, req->nbufs_,
             req->addrlen_ ? (struct sockaddr *)&req->addr_ : NULL,
             req->addrlen_);
    if (++k == ART_UDP_MMSG_MAX)
      break;
  }
  return k;
}

void art__udp_flush(art_udp_t *h) {
  struct mmsghdr mm[ART_UDP_MMSG_MAX];
  while (!art__queue_empty(&h->queue_)) {
    unsigned k = prepare_queued(h, mm);
    int n = send_mmsg(h->io_.fd, mm, k);
    if (n < 0 && retryable(-n))
      return; /* still writable-armed: wait for the next readiness */
    if (n < 0) {
      finish_head(h, n); /* this datagram failed; the rest go on */
      continue;
    }
    for (int i = 0; i < n; i++)
      finish_head(h, 0);
  }
  art__io_stop(h->loop, &h->io_, ART_WRITABLE);
  art__udp_update_active(h);
}

void art__udp_fail_queue(art_udp_t *h, int err) {
  while (!art__queue_empty(&h->queue_))
    finish_head(h, err);
  art__udp_update_active(h);
}

/* Completes one finished request: it stops counting as in flight, its
 * buffer array copy is freed, then its callback runs. */
static void complete(art_udp_t *h, art_udp_send_t *req) {
  art__req_unregister(h->loop, ART_UDP_SEND);
  if (req->bufs_ != req->bufsml_)
    art__free(req->bufs_);
  req->bufs_ = NULL;
  if (req->cb_ != NULL)
    ART__REQ_CALLBACK(h->loop, req, req->cb_, (req, req->status_));
  else
    art__res_destroy(h->loop, req->res_.id_);
}

/* Runs the callbacks of the requests finished so far. Requests finished by
 * these callbacks wait for the next pending phase, so a callback that sends
 * again cannot keep this loop going forever. */
void art__udp_run_done(art_udp_t *h) {
  art__queue_t local;
  art__queue_move(&h->done_, &local);
  unsigned saved = art__udp_defer_begin(h);
  while (!art__queue_empty(&local)) {
    art__queue_t *q = art__queue_head(&local);
    art__queue_remove(q);
    complete(h, art__container_of(q, art_udp_send_t, node_));
  }
  art__udp_defer_end(h, saved);
}

unsigned art__udp_defer_begin(art_udp_t *h) {
  unsigned saved = h->flags_ & ART__UDP_DEFER;
  h->flags_ |= ART__UDP_DEFER;
  return saved;
}

/* Sends what the callbacks queued at once rather than after the next poll:
 * the socket is very likely writable, and EAGAIN just leaves EPOLLOUT
 * armed. */
void art__udp_defer_end(art_udp_t *h, unsigned saved) {
  h->flags_ = (h->flags_ & ~ART__UDP_DEFER) | saved;
  if (!saved && !art__queue_empty(&h->queue_) &&
      art__handle_usable((art_handle_t *)h))
    art__udp_flush(h);
}

void art__udp_pending_cb(art__pending_t *p) {
  art__udp_run_done(art__container_of(p, art_udp_t, pending_));
}
