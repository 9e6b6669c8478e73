/* Message channels: two ports, each a handle of its own loop, joined by a
 * channel that carries messages both ways between threads.
 *
 * Notes:
 * 1. A channel has two directions; dir[d] carries what side d sends to
 *    side 1 - d. Each direction is a lock-free stack, as a pool's
 *    completion channel is (src/pool/pool.h): the sender pushes with one
 *    CAS and wakes the receiver's loop only when the stack was empty; the
 *    receiver's port, one of its loop's wake sources (src/wakeup.c), takes
 *    the whole stack in the poll phase and delivers it oldest first. So a
 *    batch costs one wakeup, and none at all while the receiving loop is
 *    awake.
 * 2. Closing. The receiver closes a direction by swapping its stack for
 *    CLOSED: a later push fails (ART_EPIPE, the sender keeps its message)
 *    and the receiver frees what it took. Each message is therefore either
 *    in the stack at the swap (freed by the receiver), or pushed and
 *    delivered before it, or refused: never lost, never twice. The closing
 *    side then pushes its END marker on its own direction, after every
 *    message it sent: the peer reaches END only once it has delivered them.
 * 3. Sections. A sender writes the receiver's eventfd after its push,
 *    when the receiver may already have closed its port and its loop. So
 *    every use of the receiver's loop by side d (a push and its wakeup, a
 *    drain notice) happens inside a section counted in dir[d].senders, and
 *    a closing receiver, after its swap, waits for the count to be zero.
 *    Both sides use sequentially consistent operations (count then stack
 *    for the sender, stack then count for the receiver), so either the
 *    sender sees CLOSED or the receiver sees the sender in its section. A
 *    section is a CAS and at most one write(2): the wait is short.
 * 4. Backpressure. dir[d].queued counts the bytes side d sent that the
 *    receiver has not delivered. A send that leaves it at or above the
 *    sender's mark raises drain_wanted; the one party (receiver or sender)
 *    that swaps it back to 0 after the bytes fell below the mark sets
 *    drain_due and wakes the sender's loop, whose port runs the drain
 *    callback: once per crossing, whoever saw the crossing first.
 * 5. The two sides may open at different times and on different threads.
 *    A receiver not yet open has no loop to wake: the sender skips the
 *    wakeup, and the receiver looks at its stack after publishing its
 *    loop (the same order argument as note 3).
 * 6. Message nodes are recycled, because a malloc on one thread and a
 *    free on another cost more than the rest of a message together. The
 *    receiver hands the nodes of each batch back with one CAS onto its
 *    direction's returned stack; the sender takes that stack whole when its
 *    own cache runs dry. Nodes are made in slabs, so that a batch's nodes
 *    sit close together in memory and the receiver's walk over them, which
 *    meets each node for the first time on its CPU, is helped by the
 *    hardware's prefetching; the slabs are freed with the channel. Past
 *    POOL_SLABS, and for messages above SMALL bytes, nodes are plain
 *    allocations.
 */
#include <sched.h>
#include <string.h>

#include "internal.h"

ART__DECLARE_HANDLE_OPS(port);

/* What a message is: bytes copied after the header, a pointer that moves
 * with it, or a side's end marker. */
enum { M_COPY, M_PTR, M_END };

/* Port state bits (port->state_). A port is active while started or
 * waiting for its drain: a producer that stopped at the mark must not see
 * its loop end before the drain callback that lets it go on. */
enum { P_STARTED = 1, P_ENDED = 2, P_AWAIT_DRAIN = 4 };

#define DEFAULT_HWM ((size_t)64 * 1024)

typedef struct msg {
  struct msg *next;
  void *data;
  size_t len;
  art_port_free_fn free_fn;
  int kind;
  int pooled; /* a node of its direction's pool (note 6) */
} msg_t;

/* Copied bytes follow the header at this offset, aligned for any type. */
#define COPY_OFFSET                                                            \
  ((sizeof(msg_t) + sizeof(max_align_t) - 1) / sizeof(max_align_t) *           \
   sizeof(max_align_t))

#define CLOSED ((msg_t *)1)

/* Note 6: a pooled node carries up to SMALL bytes; nodes are made
 * SLAB_NODES at a time, and a direction makes at most POOL_SLABS slabs
 * (4096 nodes, 640 KiB). */
#define SMALL      128
#define SLAB_NODES 64
#define POOL_SLABS 64
#define NODE_SIZE  (COPY_OFFSET + SMALL)

typedef struct slab {
  struct slab *next;
} slab_t;

#define SLAB_HDR                                                               \
  ((sizeof(slab_t) + sizeof(max_align_t) - 1) / sizeof(max_align_t) *          \
   sizeof(max_align_t))

/* One direction: what side d sends and side 1 - d receives. Aligned so
 * that the two directions' counters do not share a cache line. */
typedef struct {
  msg_t *head;      /* atomic: sent messages, newest first; CLOSED */
  int senders;      /* atomic: side d's sections in progress (note 3) */
  art_loop_t *loop; /* atomic: the receiver's loop; NULL until it opens */
  size_t queued;    /* atomic: bytes sent and not yet delivered */
  size_t hwm;       /* atomic: the sender's high-water mark */
  int drain_wanted; /* atomic: a send reached the mark (note 4) */
  int drain_due;    /* atomic: the sender's drain callback is to run */
  msg_t end;        /* side d's end marker */
  /* The pool of message nodes (note 6). */
  msg_t *returned;    /* atomic: nodes the receiver is done with */
  msg_t *cache;       /* sender only: nodes ready for its next sends */
  struct slab *slabs; /* sender only: where the pooled nodes live */
  unsigned nslabs;    /* sender only */
} __attribute__((aligned(64))) dir_t;

struct art_channel_s {
  dir_t dir[2];
  int claimed; /* atomic: bit 1 << side once opened or abandoned */
  int refs;    /* atomic: sides not yet closed */
};

/* ---- The sender's side. ---- */

static void enter(dir_t *d) {
  __atomic_add_fetch(&d->senders, 1, __ATOMIC_SEQ_CST);
}

static void leave(dir_t *d) {
  __atomic_sub_fetch(&d->senders, 1, __ATOMIC_RELEASE);
}

/* Inside a section of d: wakes the receiver's loop if it has opened. */
static void wake_receiver(dir_t *d) {
  art_loop_t *loop = __atomic_load_n(&d->loop, __ATOMIC_SEQ_CST);
  if (loop != NULL)
    art__loop_wake(loop);
}

/* Pushes m on d and wakes the receiver if the stack was empty: 0, or
 * ART_EPIPE (m untouched but its link) once the receiver has closed. Only
 * a push onto an empty stack wakes the receiver, so only that push needs a
 * section (note 3); a push onto a non-empty one is a single CAS, which
 * fails, and goes round again, if the receiver took or closed the stack
 * meanwhile. */
static int push(dir_t *d, msg_t *m) {
  msg_t *head = __atomic_load_n(&d->head, __ATOMIC_SEQ_CST);
  while (head != NULL && head != CLOSED) {
    m->next = head;
    if (__atomic_compare_exchange_n(&d->head, &head, m, 1, __ATOMIC_SEQ_CST,
                                    __ATOMIC_SEQ_CST))
      return 0;
  }
  enter(d);
  head = __atomic_load_n(&d->head, __ATOMIC_SEQ_CST);
  do {
    if (head == CLOSED) {
      leave(d);
      return ART_EPIPE;
    }
    m->next = head;
  } while (!__atomic_compare_exchange_n(&d->head, &head, m, 1, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST));
  if (head == NULL)
    wake_receiver(d);
  leave(d);
  return 0;
}

/* Tells the sender of d, whose loop is the receiver of back, that its
 * bytes fell below the mark (note 4). The caller is side 1 - d, the
 * sender of back. */
static void notify_drain(dir_t *d, dir_t *back) {
  __atomic_store_n(&d->drain_due, 1, __ATOMIC_SEQ_CST);
  enter(back);
  if (__atomic_load_n(&back->head, __ATOMIC_SEQ_CST) != CLOSED)
    wake_receiver(back);
  leave(back);
}

/* Whoever swaps drain_wanted back to 0 once queued is below the mark owns
 * the drain notice. */
static int claim_drain(dir_t *d) {
  return __atomic_load_n(&d->queued, __ATOMIC_SEQ_CST) <
             __atomic_load_n(&d->hwm, __ATOMIC_RELAXED) &&
         __atomic_load_n(&d->drain_wanted, __ATOMIC_SEQ_CST) &&
         __atomic_exchange_n(&d->drain_wanted, 0, __ATOMIC_SEQ_CST);
}

static void free_msg(msg_t *m) {
  if (m->kind == M_END)
    return; /* lives in the channel */
  if (m->kind == M_PTR && m->free_fn != NULL)
    m->free_fn(m->data);
  if (!m->pooled)
    art__free(m); /* a pooled node goes with its slab */
}

static void free_list(msg_t *m) {
  while (m != NULL) {
    msg_t *next = m->next;
    free_msg(m);
    m = next;
  }
}

/* Frees a direction's slabs, and with them every pooled node. */
static void free_slabs(slab_t *slab) {
  while (slab != NULL) {
    slab_t *next = slab->next;
    art__free(slab);
    slab = next;
  }
}

static void release(art_channel_t *ch) {
  if (__atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  for (int d = 0; d < 2; d++)
    free_slabs(ch->dir[d].slabs);
  art__free(ch);
}

/* Sender: a new slab; its first node is returned, the others go to the
 * cache in address order. NULL at POOL_SLABS or without memory. */
static msg_t *slab_grow(dir_t *d) {
  if (d->nslabs >= POOL_SLABS)
    return NULL;
  slab_t *slab = art__malloc(SLAB_HDR + SLAB_NODES * NODE_SIZE);
  if (slab == NULL)
    return NULL;
  slab->next = d->slabs;
  d->slabs = slab;
  d->nslabs++;
  char *base = (char *)slab + SLAB_HDR;
  for (int i = SLAB_NODES - 1; i >= 0; i--) {
    msg_t *m = (msg_t *)(base + (size_t)i * NODE_SIZE);
    m->pooled = 1;
    m->next = d->cache;
    d->cache = m;
  }
  msg_t *m = d->cache;
  d->cache = m->next;
  return m;
}

/* Sender: a node for a message of len bytes (0 for a pointer message). */
static msg_t *node_get(dir_t *d, size_t len) {
  msg_t *m;
  if (len <= SMALL) {
    m = d->cache;
    if (m == NULL && __atomic_load_n(&d->returned, __ATOMIC_RELAXED) != NULL)
      m = __atomic_exchange_n(&d->returned, NULL, __ATOMIC_ACQUIRE);
    if (m != NULL) {
      d->cache = m->next;
      return m;
    }
    if ((m = slab_grow(d)) != NULL)
      return m;
  }
  if (len > SIZE_MAX - COPY_OFFSET)
    return NULL;
  m = art__malloc(COPY_OFFSET + len);
  if (m != NULL)
    m->pooled = 0;
  return m;
}

/* Sender: a node its send did not use. */
static void node_put(dir_t *d, msg_t *m) {
  if (m->pooled) {
    m->next = d->cache;
    d->cache = m;
  } else {
    art__free(m);
  }
}

/* Receiver: gives a chain of pooled nodes (first .. last) back. */
static void nodes_return(dir_t *d, msg_t *first, msg_t *last) {
  msg_t *head = __atomic_load_n(&d->returned, __ATOMIC_RELAXED);
  do
    last->next = head;
  while (!__atomic_compare_exchange_n(&d->returned, &head, first, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* A side closes (note 2): its incoming direction refuses further pushes,
 * what was queued there is freed (with held, what its port took and had
 * not delivered), and its end marker follows everything it sent. */
static void side_close(art_channel_t *ch, int side, msg_t *held) {
  dir_t *in = &ch->dir[1 - side];
  msg_t *taken = __atomic_exchange_n(&in->head, CLOSED, __ATOMIC_SEQ_CST);
  while (__atomic_load_n(&in->senders, __ATOMIC_SEQ_CST) != 0)
    sched_yield();
  free_list(held);
  free_list(taken);
  dir_t *out = &ch->dir[side];
  out->end.kind = M_END;
  if (push(out, &out->end) == 0) {
    /* The push woke the peer only if its stack was empty; a peer stopped
     * with messages waiting must still learn that it is owed no drain. */
    enter(out);
    if (__atomic_load_n(&out->head, __ATOMIC_SEQ_CST) != CLOSED)
      wake_receiver(out);
    leave(out);
  }
}

/* ---- The channel. ---- */

int art_channel_new(art_channel_t **out) {
  if (out == NULL)
    return ART_EINVAL;
  art_channel_t *ch = art__calloc(1, sizeof(*ch));
  if (ch == NULL)
    return ART_ENOMEM;
  for (int d = 0; d < 2; d++)
    ch->dir[d].hwm = DEFAULT_HWM;
  ch->refs = 2;
  *out = ch;
  return 0;
}

/* Marks side as taken: 0, or ART_EBUSY if it was already. */
static int claim_side(art_channel_t *ch, int side) {
  int bit = 1 << side;
  if (__atomic_fetch_or(&ch->claimed, bit, __ATOMIC_ACQ_REL) & bit)
    return ART_EBUSY;
  return 0;
}

int art_channel_abandon(art_channel_t *ch, int side) {
  if (ch == NULL || (side != 0 && side != 1))
    return ART_EINVAL;
  int err = claim_side(ch, side);
  if (err)
    return err;
  side_close(ch, side, NULL);
  release(ch);
  return 0;
}

/* ---- Delivery, on the receiving loop. ---- */

/* Moves the incoming stack, oldest first, to the end of the port's held
 * messages. */
static void take(art_port_t *port, dir_t *in) {
  msg_t *m = __atomic_exchange_n(&in->head, NULL, __ATOMIC_SEQ_CST);
  msg_t *fifo = NULL, *last = m;
  while (m != NULL) {
    msg_t *next = m->next;
    m->next = fifo;
    fifo = m;
    m = next;
  }
  if (fifo == NULL)
    return;
  if (port->held_ == NULL)
    port->held_ = fifo;
  else
    ((msg_t *)port->held_tail_)->next = fifo;
  port->held_tail_ = last;
}

static msg_t *unhold(art_port_t *port) {
  msg_t *m = port->held_;
  port->held_ = m->next;
  if (port->held_ == NULL)
    port->held_tail_ = NULL;
  return m;
}

/* The handle is active while started or waiting for a drain. */
static void sync_active(art_port_t *port) {
  if (port->state_ & (P_STARTED | P_AWAIT_DRAIN))
    art__handle_start((art_handle_t *)port);
  else
    art__handle_stop((art_handle_t *)port);
}

/* The peer's end marker: every message it sent came before. */
static void end_reached(art_port_t *port) {
  port->state_ =
      (port->state_ & ~(unsigned)(P_STARTED | P_AWAIT_DRAIN)) | P_ENDED;
  sync_active(port);
  if (port->end_cb_ != NULL)
    ART__CALLBACK(port, port->end_cb_, (port));
}

/* The bytes delivered leave the sender's count; below its mark, the
 * sender may be owed a drain. */
static void credit(art_port_t *port, size_t bytes) {
  art_channel_t *ch = port->chan_;
  dir_t *in = &ch->dir[1 - port->side_];
  __atomic_sub_fetch(&in->queued, bytes, __ATOMIC_SEQ_CST);
  if (claim_drain(in))
    notify_drain(in, &ch->dir[port->side_]);
}

/* Delivers held messages while the port is started and open. A callback
 * may stop or close the port: a stop keeps the rest held, a close freed
 * them already. */
static void deliver(art_port_t *port) {
  dir_t *in = &port->chan_->dir[1 - port->side_];
  msg_t *done = NULL, *done_last = NULL; /* pooled nodes to give back */
  size_t bytes = 0;
  while (port->held_ != NULL && (port->state_ & P_STARTED) &&
         art__handle_usable((art_handle_t *)port)) {
    msg_t *m = unhold(port);
    if (m->kind == M_END) {
      end_reached(port);
      break;
    }
    bytes += m->len;
    art_port_msg_t pm = {m->data, m->len, m->free_fn, m->kind == M_PTR};
    ART__CALLBACK(port, port->message_cb_, (port, &pm));
    if (!m->pooled) {
      art__free(m);
      continue;
    }
    if (done == NULL) /* in delivery order: the next sends reuse them so */
      done = m;
    else
      done_last->next = m;
    done_last = m;
  }
  if (done != NULL)
    nodes_return(in, done, done_last);
  if (bytes != 0)
    credit(port, bytes);
}

/* Runs the drain callback if the peer (or a send) said it is due. A peer
 * that closed owes no drain: the port stops waiting for one. */
static void run_drain(art_port_t *port) {
  dir_t *out = &port->chan_->dir[port->side_];
  if ((port->state_ & P_AWAIT_DRAIN) &&
      __atomic_load_n(&out->head, __ATOMIC_SEQ_CST) == CLOSED) {
    port->state_ &= ~(unsigned)P_AWAIT_DRAIN;
    sync_active(port);
  }
  if (!__atomic_load_n(&out->drain_due, __ATOMIC_RELAXED) ||
      !__atomic_exchange_n(&out->drain_due, 0, __ATOMIC_ACQ_REL))
    return;
  port->state_ &= ~(unsigned)P_AWAIT_DRAIN;
  sync_active(port);
  if (port->drain_cb_ != NULL)
    ART__CALLBACK(port, port->drain_cb_, (port));
}

/* The port's wake source, in the poll phase. */
static void port_drain(art_loop_t *loop, art__wake_source_t *src) {
  art_port_t *port = art__container_of(src, art_port_t, source_);
  (void)loop;
  if (!art__handle_usable((art_handle_t *)port))
    return;
  run_drain(port);
  if (!art__handle_usable((art_handle_t *)port) || !(port->state_ & P_STARTED))
    return;
  take(port, &port->chan_->dir[1 - port->side_]);
  deliver(port);
}

/* ---- The port handle. ---- */

static int port_ok(const art_port_t *port) {
  return art__handle_usable((const art_handle_t *)port) &&
         port->type == ART_PORT;
}

int art_port_open(art_loop_t *loop, art_port_t *port, art_channel_t *ch,
                  int side) {
  if (!art__loop_usable(loop) || port == NULL || ch == NULL ||
      (side != 0 && side != 1))
    return ART_EINVAL;
  int err = claim_side(ch, side);
  if (err)
    return err;
  art__handle_init(loop, (art_handle_t *)port, &art__port_ops);
  port->chan_ = ch;
  port->side_ = side;
  port->state_ = 0;
  port->message_cb_ = NULL;
  port->end_cb_ = NULL;
  port->drain_cb_ = NULL;
  port->held_ = NULL;
  port->held_tail_ = NULL;
  port->source_.drain = port_drain;
  art__wake_source_add(loop, &port->source_);
  /* Note 5: publish the loop, then look for what came before. */
  dir_t *in = &ch->dir[1 - side];
  __atomic_store_n(&in->loop, loop, __ATOMIC_SEQ_CST);
  if (__atomic_load_n(&in->head, __ATOMIC_SEQ_CST) != NULL)
    art__loop_wake(loop);
  return 0;
}

int art_port_start(art_port_t *port, art_port_message_cb cb) {
  if (!port_ok(port) || cb == NULL)
    return ART_EINVAL;
  port->message_cb_ = cb;
  if (port->state_ & (P_STARTED | P_ENDED))
    return 0;
  port->state_ |= P_STARTED;
  sync_active(port);
  art__handle_capture((art_handle_t *)port);
  /* Messages that waited while stopped are delivered by the poll phase. */
  dir_t *in = &port->chan_->dir[1 - port->side_];
  if (port->held_ != NULL || __atomic_load_n(&in->head, __ATOMIC_ACQUIRE))
    art__loop_wake(port->loop);
  return 0;
}

int art_port_stop(art_port_t *port) {
  if (!art__handle_is((art_handle_t *)port, ART_PORT))
    return ART_EINVAL;
  if (!art__handle_usable((art_handle_t *)port))
    return 0;
  port->state_ &= ~(unsigned)P_STARTED;
  sync_active(port);
  return 0;
}

/* Queues m (counted toward the mark) or gives it back with an error. */
static int send_msg(art_port_t *port, msg_t *m) {
  dir_t *out = &port->chan_->dir[port->side_];
  size_t len = m->len;
  size_t now = __atomic_add_fetch(&out->queued, len, __ATOMIC_SEQ_CST);
  int err = push(out, m);
  if (err) {
    __atomic_sub_fetch(&out->queued, len, __ATOMIC_SEQ_CST);
    return err;
  }
  if (now >= __atomic_load_n(&out->hwm, __ATOMIC_RELAXED)) {
    port->state_ |= P_AWAIT_DRAIN;
    sync_active(port);
    __atomic_store_n(&out->drain_wanted, 1, __ATOMIC_SEQ_CST);
    /* The receiver may have delivered everything before the flag was up. */
    if (claim_drain(out)) {
      __atomic_store_n(&out->drain_due, 1, __ATOMIC_SEQ_CST);
      art__loop_wake(port->loop);
    }
  }
  return 0;
}

static int sendable(const art_port_t *port) {
  if (!port_ok(port))
    return ART_EINVAL;
  return (port->state_ & P_ENDED) ? ART_EPIPE : 0;
}

int art_port_send(art_port_t *port, const void *data, size_t len) {
  int err = sendable(port);
  if (err)
    return err;
  if (data == NULL && len > 0)
    return ART_EINVAL;
  dir_t *out = &port->chan_->dir[port->side_];
  msg_t *m = node_get(out, len);
  if (m == NULL)
    return ART_ENOMEM;
  m->data = (char *)m + COPY_OFFSET;
  m->len = len;
  m->free_fn = NULL;
  m->kind = M_COPY;
  if (len > 0)
    memcpy(m->data, data, len);
  err = send_msg(port, m);
  if (err)
    node_put(out, m);
  return err;
}

int art_port_send_ptr(art_port_t *port, void *ptr, size_t len,
                      art_port_free_fn free_fn) {
  int err = sendable(port);
  if (err)
    return err;
  dir_t *out = &port->chan_->dir[port->side_];
  msg_t *m = node_get(out, 0);
  if (m == NULL)
    return ART_ENOMEM;
  m->data = ptr;
  m->len = len;
  m->free_fn = free_fn;
  m->kind = M_PTR;
  err = send_msg(port, m);
  if (err)
    node_put(out, m); /* the header only: ptr is the caller's again */
  return err;
}

int art_port_on_end(art_port_t *port, art_port_end_cb cb) {
  if (!port_ok(port))
    return ART_EINVAL;
  port->end_cb_ = cb;
  return 0;
}

int art_port_on_drain(art_port_t *port, art_port_drain_cb cb) {
  if (!port_ok(port))
    return ART_EINVAL;
  port->drain_cb_ = cb;
  return 0;
}

int art_port_set_high_water_mark(art_port_t *port, size_t bytes) {
  if (!port_ok(port) || bytes == 0)
    return ART_EINVAL;
  dir_t *out = &port->chan_->dir[port->side_];
  __atomic_store_n(&out->hwm, bytes, __ATOMIC_RELAXED);
  if (claim_drain(out)) { /* a higher mark is a crossing too */
    __atomic_store_n(&out->drain_due, 1, __ATOMIC_SEQ_CST);
    art__loop_wake(port->loop);
  }
  return 0;
}

int art_port_needs_drain(const art_port_t *port) {
  if (!port_ok(port))
    return 0;
  const dir_t *out = &port->chan_->dir[port->side_];
  return __atomic_load_n(&out->queued, __ATOMIC_RELAXED) >=
         __atomic_load_n(&out->hwm, __ATOMIC_RELAXED);
}

size_t art_port_queued_size(const art_port_t *port) {
  if (!port_ok(port))
    return 0;
  return __atomic_load_n(&port->chan_->dir[port->side_].queued,
                         __ATOMIC_RELAXED);
}

/* art_close: the side closes (note 2). The wake source stays until the
 * close phase, since the poll phase may be walking the sources now. */
static void port_close(art_handle_t *h) {
  art_port_t *port = (art_port_t *)h;
  msg_t *held = port->held_;
  port->held_ = NULL;
  port->held_tail_ = NULL;
  port->state_ &= ~(unsigned)(P_STARTED | P_AWAIT_DRAIN);
  side_close(port->chan_, port->side_, held);
}

static void port_endgame(art_handle_t *h) {
  art_port_t *port = (art_port_t *)h;
  art__wake_source_remove(&port->source_);
  release(port->chan_);
  port->chan_ = NULL;
}

const art__handle_ops_t art__port_ops = {
    ART_PORT, "port", sizeof(art_port_t), port_close, port_endgame, NULL};
