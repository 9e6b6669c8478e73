/* A socket stream's I/O as completions, on a backend that runs operations
 * whole (io_uring): the read half here, the write half in stream.c (it
 * shares the queue's gathering), both over one block per stream.
 *
 * Notes:
 * 1. Which streams. Sockets that are not IPC pipes (those pass fds with
 *    recvmsg) and were not left blocking: TCP and Unix-socket streams.
 *    Pipes, terminals and files keep readiness. A loop whose backend has
 *    no operations (epoll, poll) never makes a block, and pays one
 *    predictable branch per read start and per write.
 * 2. Reading is a receive in the ring, armed again after each
 *    completion, into the loop's buffer pool (ART_LOOP_READ_BUFFERS): no
 *    buffer is pinned while the socket is idle, and the kernel picks one
 *    only when bytes come. The bytes are copied into buffers from
 *    alloc_cb, as many as they need, and the pool buffer goes back at
 *    once. A receive that filled its buffer means more is waiting: the
 *    stream then drains the socket with read(2) as readiness would
 *    (stream_read.c), so bulk transfer costs what it costs on epoll, and
 *    a request-response exchange costs no system call but the wait.
 *    One receive at a time, not multishot: a multishot receive goes on
 *    taking bytes into the pool between two waits whatever the reader
 *    said, and a cancel cannot stop it while it runs, which would drain
 *    the socket past the reader's backpressure into the loop's memory.
 * 3. Stopping. art_read_stop cancels the receive, but bytes the kernel
 *    took before the cancel reached it are the stream's already: they
 *    are kept, with an end of stream or error that came after them, in
 *    chunks of the loop's (so the pool is never held by a paused stream;
 *    delivered chunks stay for the next pause, up to 64), and
 *    art_read_start hands them over first, from the pending phase, in
 *    order, before it receives again.
 * 4. A receive that found the pool dry (ART_ENOBUFS: more receives
 *    completed in one wait than the pool has buffers, with thousands of
 *    connections busy at once) reads the socket at once with read(2)
 *    into alloc_cb's buffers, as readiness would, and is armed again
 *    waiting for bytes. Armed again at once instead, it would find the
 *    pool dry again behind the next wait's first receives: each wait
 *    served a pool's worth of connections and churned through the rest
 *    (10,000 HTTP connections got 15,000 requests/s, with timeouts).
 * 5. Closing. art_close cancels the receive and the send, and submits
 *    at once: a send still queued in the ring is made first, so the bytes
 *    the socket takes go out (write, then close, sends), and only the
 *    rest is canceled, as a readiness write queue's would be. The close
 *    phase parks the handle while either is in the kernel (handle.c), so
 *    the write callbacks (ART_ECANCELED for what did not go out) and the
 *    close callback run after the kernel let go of the writes' buffers.
 * 6. The block is made when the stream is opened on a loop whose backend
 *    runs operations (stream.c, art__stream_open), so that the hot paths
 *    test one pointer, and kept until its close; closed streams' blocks go
 *    to a free list of the loop, so a server accepting connections
 *    allocates none once warm. A stream opened before its loop moved to
 *    io_uring has none and stays on readiness; one left without memory
 *    for it does too.
 * 7. Bytes kept while stopped (note 3) stay the stream's when the loop
 *    moves to a backend without operations (ART_LOOP_BACKEND, allowed
 *    with nothing in the ring): the next read start hands them over
 *    first, as on the ring, and the stream then reads by readiness.
 */
#include <string.h>

#include "stream.h"

enum {
  SR_RECV_CANCEL = 1, /* the receive was asked to stop (note 3) */
  SR_NO_RECV = 2      /* the ring refused the receive: readiness */
};

struct art__sring_held {
  art__sring_held_t *next;
  size_t len, off, cap;
  char data[];
};

#define HOLD_MIN   (16 * 1024) /* a kept chunk's least size */
#define MAX_SPARES 64          /* kept chunks a loop keeps for reuse */

/* The loop's free blocks (note 6) and spare chunks (note 3). */
typedef struct {
  art__sring_t *free;
  art__sring_held_t *spares;
  unsigned nspares;
} sring_state_t;

static void sring_loop_close(art_loop_t *loop, void *state) {
  sring_state_t *st = state;
  (void)loop;
  while (st->free != NULL) {
    art__sring_t *r = st->free;
    st->free = r->next_free;
    art__free(r);
  }
  while (st->spares != NULL) {
    art__sring_held_t *h = st->spares;
    st->spares = h->next;
    art__free(h);
  }
  art__free(st);
}

static const art__ext_t sring_ext = {"stream_ring", sring_loop_close, NULL};

static void recv_done(art__op_t *op, int64_t result);

/* Queues the stream for its pending phase (stream.c's callback, set at
 * init): this file is below stream.c and calls nothing of it. */
static void defer(art_stream_t *s) {
  if (art__queue_empty(&s->pending_.node))
    art__pending_add(s->loop, &s->pending_, s->pending_.cb);
}

static int stream_fits(const art_stream_t *s) {
  unsigned f = s->stream_flags_;
  return (f & ART__S_SOCKET) &&
         !(f & (ART__S_IPC | ART__S_BLOCKING | ART__S_FILE));
}

static art__sring_t *sring_make(art_stream_t *s) {
  art_loop_t *loop = s->loop;
  sring_state_t *st = art__ext_get(loop, &sring_ext);
  if (st == NULL) {
    st = art__calloc(1, sizeof(*st));
    if (st == NULL)
      return NULL;
    if (art__ext_set(loop, &sring_ext, st) != 0) {
      art__free(st);
      return NULL;
    }
  }
  art__sring_t *r = st->free;
  if (r != NULL)
    st->free = r->next_free;
  else if ((r = art__malloc(sizeof(*r))) == NULL)
    return NULL;
  memset(r, 0, sizeof(*r));
  art__queue_init(&r->recv.node_);
  art__queue_init(&r->send.node_);
  r->recv.done = recv_done;
  r->recv.kind = ART__OP_RECV;
  r->recv.how = ART__OP_PROVIDED;
  r->stream = s;
  s->ring_ = r;
  return r;
}

int art__sring_usable(art_stream_t *s) {
  if (!(s->loop->backend_->caps & ART__BACKEND_COMPLETIONS) || !stream_fits(s))
    return 0;
  /* A block is made only where the ring sends, and what a kernel's ring
   * runs does not change: every write need not ask again. */
  if (s->ring_ != NULL)
    return 1;
  return art__io_supports(s->loop, ART__OP_SEND, 0) && sring_make(s) != NULL;
}

/* ---- Reading ---- */

/* Keeps bytes received while the stream does not read (note 3), in a
 * chunk from the loop's spares when one fits: streams paused and resumed
 * over and over (backpressure) stop allocating once warm. Without memory
 * for them the stream fails as a read would: ART_ENOMEM. */
static void hold(art_stream_t *s, art__sring_t *r, const char *p, size_t n) {
  sring_state_t *st = art__ext_get(s->loop, &sring_ext);
  art__sring_held_t *h = st->spares;
  if (h != NULL && h->cap >= n) {
    st->spares = h->next;
    st->nspares--;
  } else {
    size_t cap = n > HOLD_MIN ? n : HOLD_MIN;
    if ((h = art__malloc(sizeof(*h) + cap)) == NULL) {
      if (r->held_status == 0)
        r->held_status = ART_ENOMEM;
      return;
    }
    h->cap = cap;
  }
  memcpy(h->data, p, n);
  h->len = n;
  h->off = 0;
  h->next = NULL;
  if (r->held_tail != NULL)
    r->held_tail->next = h;
  else
    r->held = h;
  r->held_tail = h;
}

/* A kept chunk is delivered: back to the loop's spares, up to a bound. */
static void unhold(art_loop_t *loop, art__sring_held_t *h) {
  sring_state_t *st = art__ext_get(loop, &sring_ext);
  if (st->nspares >= MAX_SPARES) {
    art__free(h);
    return;
  }
  h->next = st->spares;
  st->spares = h;
  st->nspares++;
}

/* Copies n bytes at p into the user's buffers while the stream reads;
 * returns how many it did not take. */
static size_t deliver(art_stream_t *s, const char *p, size_t n) {
  while (n > 0 && art__stream_still_reading(s)) {
    art_buf_t buf;
    int got = art__stream_take_buffer(s, &buf);
    if (got == ART_ENOBUFS && art__stream_still_reading(s))
      defer(s); /* tried again from the pending phase */
    if (got != 1)
      break;
    size_t k = n < buf.len ? n : buf.len;
    memcpy(buf.base, p, k);
    p += k;
    n -= k;
    art__stream_read_cb(s, (ssize_t)k, &buf);
  }
  return n;
}

/* The end of the stream or an error: delivered now if the stream reads,
 * else kept for its next read start. */
static void finish(art_stream_t *s, art__sring_t *r, int status) {
  if (!art__stream_still_reading(s) || r->held != NULL) {
    if (r->held_status == 0)
      r->held_status = status; /* READABLE stays: the user reads it */
    return;
  }
  art_buf_t none = {NULL, 0};
  if (status == ART_EOF)
    s->stream_flags_ &= ~ART__S_READABLE;
  art__stream_halt_reading(s);
  art__stream_read_cb(s, status, &none);
}

static int submit_recv(art_stream_t *s, art__sring_t *r) {
  r->recv.fd = s->io_.fd;
  if (r->flags & SR_RECV_CANCEL) /* a stop came between: bytes may wait */
    r->recv.how &= ~(unsigned)ART__OP_POLL_FIRST;
  r->flags &= ~SR_RECV_CANCEL;
  return art__io_submit(s->loop, &r->recv);
}

/* Reads by readiness from now on (a kernel that refuses the receive, or
 * a ring that refused the receive). */
static void fall_back(art_stream_t *s, art__sring_t *r) {
  r->flags |= SR_NO_RECV;
  if (art__stream_still_reading(s)) {
    int err = art__io_start(s->loop, &s->io_, ART_READABLE);
    if (err)
      finish(s, r, err);
  }
}

/* After the receive's last completion, or the kept bytes: receive again
 * while the stream reads and nothing is kept (note 4), by readiness once
 * the ring refused it (or the loop left the ring, note 7). */
static void rearm(art_stream_t *s, art__sring_t *r) {
  if (!art__stream_still_reading(s) || r->held != NULL || r->held_status != 0 ||
      art__op_in_flight(&r->recv))
    return;
  if ((r->flags & SR_NO_RECV) || submit_recv(s, r) != 0)
    fall_back(s, r); /* no room in the ring: readiness, which says why */
}

static void recv_done(art__op_t *op, int64_t result) {
  art__sring_t *r = art__container_of(op, art__sring_t, recv);
  art_stream_t *s = r->stream;
  art_loop_t *loop = s->loop;
  if (op->got_ & ART__GOT_BUFFER) {
    size_t size;
    const char *p = art__io_buffer(loop, op, &size);
    size_t n = result > 0 ? (size_t)result : 0;
    size_t left = r->held == NULL ? deliver(s, p, n) : n;
    if (left > 0 && art__handle_usable((art_handle_t *)s))
      hold(s, r, p + (n - left), left);
    art__io_recycle(loop, op);
    if (n < size) {
      r->recv.how |= ART__OP_POLL_FIRST; /* the socket is empty now */
    } else {
      r->recv.how &= ~(unsigned)ART__OP_POLL_FIRST;
      if (r->held == NULL)
        art__stream_read_some(s); /* more is waiting: drain it (note 2) */
    }
  } else if (result == 0) {
    finish(s, r, ART_EOF);
  } else if (result == ART_EINVAL && !(r->flags & SR_RECV_CANCEL)) {
    fall_back(s, r);
  } else if (result == ART_ENOBUFS && r->held == NULL) {
    art__stream_read_some(s); /* note 4 */
    r->recv.how |= ART__OP_POLL_FIRST;
  } else if (result < 0 && result != ART_ENOBUFS && result != ART_ECANCELED) {
    finish(s, r, (int)result);
  }
  if (!art__sring_closed(s))
    rearm(s, r);
}

int art__sring_read_start(art_stream_t *s) {
  art__sring_t *r = s->ring_;
  if (r->held != NULL || r->held_status != 0) {
    defer(s); /* note 3, on whatever backend the loop has now (note 7) */
    return 0;
  }
  if (r->flags & SR_NO_RECV)
    return ART_ENOTSUP;
  if (!art__io_supports(s->loop, ART__OP_RECV, ART__OP_PROVIDED))
    return ART_ENOTSUP;
  if (art__op_in_flight(&r->recv)) {
    r->flags &= ~SR_RECV_CANCEL; /* a later stop cancels again */
    return 0; /* a stop's cancel may be on its way: its end rearms */
  }
  return submit_recv(s, r) == 0 ? 0 : ART_ENOTSUP; /* ENOTSUP: readiness */
}

void art__sring_read_stop(art_stream_t *s) {
  art__sring_t *r = s->ring_;
  if (art__op_in_flight(&r->recv) && !(r->flags & SR_RECV_CANCEL)) {
    r->flags |= SR_RECV_CANCEL;
    art__io_cancel(s->loop, &r->recv);
  }
}

/* Note 3: the kept bytes, then the kept end, then receiving again. */
void art__sring_deliver_held(art_stream_t *s) {
  art__sring_t *r = s->ring_;
  while (r->held != NULL && art__stream_still_reading(s)) {
    art__sring_held_t *h = r->held;
    size_t left = deliver(s, h->data + h->off, h->len - h->off);
    if (left > 0) {
      h->off = h->len - left;
      return;
    }
    r->held = h->next;
    if (r->held == NULL)
      r->held_tail = NULL;
    unhold(s->loop, h);
  }
  if (r->held == NULL && r->held_status != 0 && art__stream_still_reading(s)) {
    int status = r->held_status;
    r->held_status = 0;
    finish(s, r, status);
    return;
  }
  rearm(s, r);
}

int art__sring_pending(const art_stream_t *s) {
  const art__sring_t *r = s->ring_;
  return r != NULL && (r->held != NULL || r->held_status != 0);
}

/* ---- Closing (note 5) ---- */

void art__sring_close(art_stream_t *s) {
  art__sring_t *r = s->ring_;
  if (r == NULL)
    return;
  art__sring_read_stop(s);
  if (art__op_in_flight(&r->send))
    art__io_cancel(s->loop, &r->send);
  /* The queued send goes in before its cancel, and before the caller
   * closes the fd it names: what the socket takes now still goes out,
   * as a direct write's would have (note 5). */
  if (art__sring_busy((art_handle_t *)s))
    art__io_flush(s->loop);
}

int art__sring_busy(const art_handle_t *h) {
  const art__sring_t *r = ((const art_stream_t *)h)->ring_;
  return r != NULL &&
         (art__op_in_flight(&r->recv) || art__op_in_flight(&r->send));
}

int art__sring_closed(art_stream_t *s) {
  if (art__handle_usable((art_handle_t *)s))
    return 0;
  if (!art__sring_busy((art_handle_t *)s))
    art__handle_unpark((art_handle_t *)s);
  return 1;
}

void art__sring_release(art_stream_t *s) {
  art__sring_t *r = s->ring_;
  if (r == NULL)
    return;
  s->ring_ = NULL;
  while (r->held != NULL) {
    art__sring_held_t *h = r->held;
    r->held = h->next;
    unhold(s->loop, h);
  }
  sring_state_t *st = art__ext_get(s->loop, &sring_ext);
  r->next_free = st->free;
  st->free = r;
}
