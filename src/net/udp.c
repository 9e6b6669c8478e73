/* art_udp_t: the datagram socket, binding and connecting, receiving in
 * batches, and socket options. The send queue is in udp_send.c, what
 * both need in udp_sock.c.
 *
 * Notes on the odd parts:
 * 1. The socket is created lazily (art_udp_init makes none), because its
 *    family is only known from the first address the handle meets. Binding
 *    is lazy too: recv start on an unbound socket binds it to "any", port 0,
 *    since a socket that was never bound or used would receive nothing.
 * 2. recvmmsg needs an array of headers, iovecs and address buffers. They
 *    live once per loop (the area's extension, 26 KiB, allocated at the first
 *    batched receive): receiving is not re-entrant within one loop, and the
 *    address given to recv_cb is only valid during the callback anyway.
 * 3. Reading stops after a short batch: a level-triggered poller reports the
 *    socket again if more arrived, and this saves the recvmmsg that would
 *    only return EAGAIN. Single reads go on until EAGAIN (they cannot tell
 *    whether more is waiting), capped per wake-up so one busy socket does
 *    not starve the rest of the loop.
 */
#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "udp.h"

enum {
  DEFAULT_SLOT = 65536, /* any datagram fits */
  READS_PER_WAKEUP = 32 /* receive system calls per readiness event */
};

/* The per-loop arrays recvmmsg fills (note 2). */
typedef struct {
  struct mmsghdr msgs[ART_UDP_MMSG_MAX];           /* headers */
  struct iovec iov[ART_UDP_MMSG_MAX];              /* one slot each */
  struct sockaddr_storage addrs[ART_UDP_MMSG_MAX]; /* senders */
} udp_loop_state_t;

ART__DECLARE_HANDLE_OPS(udp);

static void udp_io_cb(art_loop_t *loop, art__io_t *w, unsigned events);

static void udp_loop_close(art_loop_t *loop, void *state) {
  (void)loop;
  art__free(state);
}

/* The UDP area's per-loop state: the batch arrays of note 2. */
static const art__ext_t udp_ext = {"udp", udp_loop_close, NULL};

static int udp_usable(const art_udp_t *h) {
  return art__handle_usable((const art_handle_t *)h) && h->type == ART_UDP;
}

int art_udp_init_ex(art_loop_t *loop, art_udp_t *h, unsigned flags) {
  if (!art__loop_usable(loop) || h == NULL ||
      (flags != AF_UNSPEC && flags != AF_INET && flags != AF_INET6))
    return ART_EINVAL;
  art__handle_init(loop, (art_handle_t *)h, &art__udp_ops);
  h->send_queue_size = 0;
  h->send_queue_count = 0;
  art__io_init(&h->io_, udp_io_cb, -1);
  h->alloc_cb_ = NULL;
  h->recv_cb_ = NULL;
  h->slot_ = DEFAULT_SLOT;
  art__queue_init(&h->queue_);
  art__queue_init(&h->done_);
  art__queue_init(&h->pending_.node);
  h->pending_.cb = art__udp_pending_cb;
  if (flags == AF_UNSPEC)
    return 0;
  int err = art__udp_ensure_socket(h, (int)flags);
  if (err) { /* undo the registration: the caller never got a handle */
    art__queue_remove(&h->handle_node_);
    h->loop = NULL;
  }
  return err;
}

int art_udp_init(art_loop_t *loop, art_udp_t *h) {
  return art_udp_init_ex(loop, h, AF_UNSPEC);
}

int art_udp_open(art_udp_t *h, int fd) {
  int type, domain;
  socklen_t len = sizeof(type);
  if (!udp_usable(h))
    return ART_EINVAL;
  if (h->io_.fd >= 0)
    return ART_EBUSY;
  if (fd < 0)
    return ART_EBADF;
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
    return -errno;
  len = sizeof(domain);
  if (type != SOCK_DGRAM ||
      getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1 ||
      (domain != AF_INET && domain != AF_INET6 && domain != AF_UNIX))
    return ART_EINVAL;
  if (art__io_check_fd(h->loop, fd) == ART_EEXIST)
    return ART_EEXIST;
  int err = art__nonblock(fd, 1);
  if (err)
    return err;
  struct sockaddr_storage peer;
  len = sizeof(peer);
  if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
    h->flags_ |= ART__UDP_CONNECTED;
  if (domain == AF_INET6)
    h->flags_ |= ART__UDP_IPV6;
  if (domain == AF_UNIX)
    h->flags_ |= ART__UDP_LOCAL;
  h->io_.fd = fd;
  return 0;
}

/* Sets an int socket option; 0 or -errno. */
static int set_int_opt(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) == -1)
    return -errno;
  return 0;
}

/* The socket options bind flags ask for, set before bind(2). */
static int apply_bind_flags(art_udp_t *h, unsigned flags) {
  int fd = h->io_.fd, err = 0;
  if (flags & ART_UDP_REUSEADDR)
    err = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (!err && (flags & ART_UDP_REUSEPORT))
    err = set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  /* Explicit either way, so the result does not depend on the
   * net.ipv6.bindv6only sysctl. */
  if (!err && (h->flags_ & ART__UDP_IPV6))
    err = set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
                      (flags & ART_UDP_IPV6ONLY) != 0);
  return err;
}

int art_udp_bind(art_udp_t *h, const struct sockaddr *addr, unsigned flags) {
  const unsigned all = ART_UDP_IPV6ONLY | ART_UDP_REUSEADDR | ART_UDP_REUSEPORT;
  if (!udp_usable(h) || addr == NULL || (flags & ~all) != 0)
    return ART_EINVAL;
  socklen_t len = art__udp_addr_len(addr);
  if (len == 0 || ((flags & ART_UDP_IPV6ONLY) && addr->sa_family != AF_INET6))
    return ART_EINVAL;
  int err = art__udp_ensure_socket(h, addr->sa_family);
  if (!err)
    err = apply_bind_flags(h, flags);
  if (!err && bind(h->io_.fd, addr, len) == -1)
    err = -errno;
  return err;
}

int art_udp_connect(art_udp_t *h, const struct sockaddr *addr) {
  if (!udp_usable(h))
    return ART_EINVAL;
  if (!art__queue_empty(&h->queue_))
    return ART_EBUSY;
  if (addr == NULL) {
    if (!(h->flags_ & ART__UDP_CONNECTED))
      return ART_ENOTCONN;
    struct sockaddr unspec;
    memset(&unspec, 0, sizeof(unspec));
    unspec.sa_family = AF_UNSPEC;
    /* Some kernels report EAFNOSUPPORT while still dissolving the
     * association; Linux returns 0. Either way it is gone. */
    if (connect(h->io_.fd, &unspec, sizeof(unspec)) == -1 &&
        errno != EAFNOSUPPORT)
      return -errno;
    h->flags_ &= ~ART__UDP_CONNECTED;
    return 0;
  }
  int err = art__udp_check_dest(h, addr);
  if (err)
    return err;
  if (connect(h->io_.fd, addr, art__udp_addr_len(addr)) == -1)
    return -errno;
  h->flags_ |= ART__UDP_CONNECTED;
  return 0;
}

/* ---- Receiving. ---- */

static void deliver(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                    const struct sockaddr *addr, unsigned flags) {
  ART__CALLBACK(h, h->recv_cb_, (h, nread, buf, addr, flags));
}

static int still_reading(const art_udp_t *h) {
  return (h->flags_ & ART__UDP_READING) && udp_usable(h);
}

/* A failed receive: EAGAIN hands the buffer back as "nothing to read",
 * anything else reports the error with it. */
static void deliver_errno(art_udp_t *h, int err, const art_buf_t *buf) {
  if (err == EAGAIN || err == EWOULDBLOCK)
    deliver(h, 0, buf, NULL, 0);
  else
    deliver(h, -err, buf, NULL, 0);
}

/* One datagram into the whole buffer. Returns 1 to go on reading. */
static int recv_one(art_udp_t *h, const art_buf_t *buf) {
  struct sockaddr_storage from;
  struct iovec iov = {buf->base, buf->len};
  struct msghdr m;
  ssize_t n;
  memset(&m, 0, sizeof(m));
  from.ss_family = AF_UNSPEC; /* stays so for an unnamed Unix peer */
  m.msg_name = &from;
  m.msg_namelen = sizeof(from);
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  do
    n = recvmsg(h->io_.fd, &m, 0);
  while (n == -1 && errno == EINTR);
  if (n == -1) {
    deliver_errno(h, errno, buf);
    return 0;
  }
  unsigned flags = (m.msg_flags & MSG_TRUNC) ? ART_UDP_PARTIAL : 0;
  deliver(h, n, buf, (struct sockaddr *)&from, flags);
  return 1;
}

/* Points the per-loop headers at count slots of buf. The parts that never
 * change (where each header's address and iovec live) were set when the
 * state was made; only what the kernel overwrites is reset here. */
static void prepare_batch(udp_loop_state_t *st, const art_buf_t *buf,
                          size_t slot, unsigned count) {
  for (unsigned i = 0; i < count; i++) {
    st->iov[i].iov_base = buf->base + (size_t)i * slot;
    st->iov[i].iov_len = slot;
    st->addrs[i].ss_family = AF_UNSPEC;
    st->msgs[i].msg_hdr.msg_namelen = sizeof(st->addrs[i]);
    st->msgs[i].msg_hdr.msg_flags = 0;
  }
}

/* Delivers the n datagrams of a batch, one callback each, then hands the
 * buffer back. Datagrams after a recv stop or close are dropped, but the
 * buffer is always handed back so that it cannot leak. */
static void deliver_batch(art_udp_t *h, udp_loop_state_t *st,
                          const art_buf_t *buf, unsigned n) {
  for (unsigned i = 0; i < n && still_reading(h); i++) {
    struct msghdr *m = &st->msgs[i].msg_hdr;
    art_buf_t chunk = {st->iov[i].iov_base, st->iov[i].iov_len};
    unsigned flags = ART_UDP_MMSG_CHUNK;
    if (m->msg_flags & MSG_TRUNC)
      flags |= ART_UDP_PARTIAL;
    deliver(h, (ssize_t)st->msgs[i].msg_len, &chunk,
            (struct sockaddr *)m->msg_name, flags);
  }
  deliver(h, 0, buf, NULL, ART_UDP_MMSG_FREE);
}

/* Up to ART_UDP_MMSG_MAX datagrams with one recvmmsg. Returns 1 to go on
 * reading (the batch came back full). */
static int recv_batch(art_udp_t *h, udp_loop_state_t *st,
                      const art_buf_t *buf) {
  size_t k = buf->len / h->slot_;
  unsigned count = k > ART_UDP_MMSG_MAX ? ART_UDP_MMSG_MAX : (unsigned)k;
  int n;
  prepare_batch(st, buf, h->slot_, count);
  do
    n = recvmmsg(h->io_.fd, st->msgs, count, 0, NULL);
  while (n == -1 && errno == EINTR);
  if (n == -1) {
    deliver_errno(h, errno, buf);
    return 0;
  }
  deliver_batch(h, st, buf, (unsigned)n);
  return (unsigned)n == count;
}

/* The batch arrays, allocated on first use; NULL if that fails (the caller
 * then reads one datagram at a time). */
static udp_loop_state_t *loop_state(art_loop_t *loop) {
  udp_loop_state_t *st = art__ext_get(loop, &udp_ext);
  if (st != NULL)
    return st;
  st = art__calloc(1, sizeof(*st));
  if (st == NULL)
    return NULL;
  for (unsigned i = 0; i < ART_UDP_MMSG_MAX; i++) {
    st->msgs[i].msg_hdr.msg_name = &st->addrs[i];
    st->msgs[i].msg_hdr.msg_iov = &st->iov[i];
    st->msgs[i].msg_hdr.msg_iovlen = 1;
  }
  if (art__ext_set(loop, &udp_ext, st) != 0) {
    art__free(st);
    return NULL;
  }
  return st;
}

/* The socket is readable: allocate, receive, deliver, a bounded number of
 * times (note 3). */
static void udp_read(art_udp_t *h) {
  for (int budget = READS_PER_WAKEUP; budget > 0; budget--) {
    if (!still_reading(h))
      return;
    art_buf_t buf = {NULL, 0};
    ART__CALLBACK(h, h->alloc_cb_, (h, h->slot_, &buf));
    if (buf.base == NULL || buf.len == 0) {
      deliver(h, ART_ENOBUFS, &buf, NULL, 0);
      return;
    }
    if (!still_reading(h)) { /* stopped from alloc_cb: give it back */
      deliver(h, 0, &buf, NULL, 0);
      return;
    }
    udp_loop_state_t *st = buf.len / 2 >= h->slot_ ? loop_state(h->loop) : NULL;
    int more = st != NULL ? recv_batch(h, st, &buf) : recv_one(h, &buf);
    if (!more)
      return;
  }
}

/* The backend refused the socket's watcher (the core stopped it): no
 * datagram can be waited for, in either direction. Receiving stops and
 * recv_cb gets the reason once, with no buffer (none was allocated), and
 * every queued send fails with it. A recv start or a send that must wait
 * registers the watcher again. */
static void udp_refused(art_udp_t *h, int err) {
  if (h->flags_ & ART__UDP_READING) {
    art_buf_t none = {NULL, 0};
    h->flags_ &= ~ART__UDP_READING;
    art__udp_update_active(h);
    deliver(h, err, &none, NULL, 0);
  }
  if (udp_usable(h))
    art__udp_fail_queue(h, err);
}

static void udp_io_cb(art_loop_t *loop, art__io_t *w, unsigned events) {
  art_udp_t *h = art__container_of(w, art_udp_t, io_);
  (void)loop;
  if (events & ART__IO_REFUSED) {
    udp_refused(h, w->error);
    return;
  }
  if (events & ART_READABLE) {
    unsigned saved = art__udp_defer_begin(h);
    udp_read(h);
    art__udp_defer_end(h, saved);
  }
  if ((events & ART_WRITABLE) && udp_usable(h))
    art__udp_flush(h);
}

/* Binds an unbound socket to the any-address, port 0 (note 1). */
static int bind_if_unbound(art_udp_t *h) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (art__udp_family(h) == AF_UNIX)
    return 0; /* adopted as it is (a socketpair end, say) */
  if (getsockname(h->io_.fd, (struct sockaddr *)&ss, &len) == -1)
    return -errno;
  in_port_t port = ss.ss_family == AF_INET6
                       ? ((struct sockaddr_in6 *)&ss)->sin6_port
                       : ((struct sockaddr_in *)&ss)->sin_port;
  if (port != 0)
    return 0;
  memset(&ss, 0, sizeof(ss));
  ss.ss_family = (sa_family_t)art__udp_family(h);
  len = art__udp_family(h) == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in);
  if (bind(h->io_.fd, (struct sockaddr *)&ss, len) == -1)
    return -errno;
  return 0;
}

int art_udp_recv_start(art_udp_t *h, art_udp_alloc_cb alloc_cb,
                       art_udp_recv_cb recv_cb) {
  if (!udp_usable(h) || alloc_cb == NULL || recv_cb == NULL)
    return ART_EINVAL;
  if (h->flags_ & ART__UDP_READING)
    return ART_EALREADY;
  int err =
      art__udp_ensure_socket(h, h->io_.fd >= 0 ? art__udp_family(h) : AF_INET);
  if (!err)
    err = bind_if_unbound(h);
  if (!err)
    err = art__io_start(h->loop, &h->io_, ART_READABLE);
  if (err)
    return err;
  h->alloc_cb_ = alloc_cb;
  h->recv_cb_ = recv_cb;
  art__handle_capture((art_handle_t *)h);
  h->flags_ |= ART__UDP_READING;
  art__udp_update_active(h);
  return 0;
}

int art_udp_recv_stop(art_udp_t *h) {
  if (!art__handle_is((art_handle_t *)h, ART_UDP))
    return ART_EINVAL;
  if (!udp_usable(h) || !(h->flags_ & ART__UDP_READING))
    return 0;
  h->flags_ &= ~ART__UDP_READING;
  if (h->io_.fd >= 0)
    art__io_stop(h->loop, &h->io_, ART_READABLE);
  art__udp_update_active(h);
  return 0;
}

int art_udp_set_recv_slot(art_udp_t *h, size_t slot_size) {
  if (!udp_usable(h) || slot_size == 0 || slot_size > DEFAULT_SLOT)
    return ART_EINVAL;
  h->slot_ = slot_size;
  return 0;
}

/* ---- Close. ---- */

static void udp_close(art_handle_t *hh) {
  art_udp_t *h = (art_udp_t *)hh;
  h->flags_ &= ~ART__UDP_READING;
  if (h->io_.fd >= 0) {
    art__io_close(h->loop, &h->io_);
    art__close_fd(h->io_.fd);
    h->io_.fd = -1;
  }
  art__udp_fail_queue(h, ART_ECANCELED);
}

/* In the close phase, before close_cb: callbacks of every send that is
 * finished or was canceled by the close. */
static void udp_endgame(art_handle_t *hh) {
  art_udp_t *h = (art_udp_t *)hh;
  art__queue_remove(&h->pending_.node);
  art__udp_run_done(h);
}

static int udp_fd(const art_handle_t *h) {
  return ((const art_udp_t *)h)->io_.fd;
}

const art__handle_ops_t art__udp_ops = {
    ART_UDP, "udp", sizeof(art_udp_t), udp_close, udp_endgame, udp_fd, NULL};

/* ---- Addresses and queue counters. ---- */

typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);

static int get_name(const art_udp_t *h, name_fn fn, struct sockaddr *name,
                    int *namelen) {
  if (!udp_usable(h) || name == NULL || namelen == NULL || *namelen < 0)
    return ART_EINVAL;
  if (h->io_.fd < 0)
    return ART_EBADF;
  socklen_t len = (socklen_t)*namelen;
  if (fn(h->io_.fd, name, &len) == -1)
    return -errno;
  *namelen = (int)len;
  return 0;
}

int art_udp_getsockname(const art_udp_t *h, struct sockaddr *name,
                        int *namelen) {
  return get_name(h, getsockname, name, namelen);
}

int art_udp_getpeername(const art_udp_t *h, struct sockaddr *name,
                        int *namelen) {
  return get_name(h, getpeername, name, namelen);
}

size_t art_udp_get_send_queue_size(const art_udp_t *h) {
  return h != NULL && h->type == ART_UDP ? h->send_queue_size : 0;
}

size_t art_udp_get_send_queue_count(const art_udp_t *h) {
  return h != NULL && h->type == ART_UDP ? h->send_queue_count : 0;
}
