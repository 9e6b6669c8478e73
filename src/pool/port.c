/* Message channels: two ports, each a handle of its own loop, joined by a
 * channel that carries messages both ways between threads.
 *
 * Notes:
 * 1. A channel is two directions (src/pool/port_queue.c): dir[d] carries
 *    what side d sends to side 1 - d. Each is a queue with one sending and
 *    one receiving thread, which wakes the receiver once per batch and
 *    never loses or doubles a message when its receiver closes.
 * 2. A port is one of its loop's wake sources (src/wakeup.c): the poll
 *    phase drains it after a wakeup, and it delivers what its incoming
 *    direction holds, in order, until it finds it empty (at most
 *    BATCH_MAX at a time, so a sender as fast as the receiver cannot hold
 *    the loop in its poll phase).
 * 3. Closing a port closes its incoming direction (what was queued is
 *    freed, later sends fail) and ends its outgoing one (the peer finds
 *    the end after the last message). The channel is freed when both sides
 *    are closed.
 * 4. Backpressure. art__dir_queued(dir[d]) is the bytes side d sent that
 *    the receiver has not delivered. A send that leaves it at or above the
 *    sender's mark raises drain_wanted; the one party (receiver or sender)
 *    that swaps it back to 0 after the bytes fell below the mark sets
 *    drain_due and wakes the sender's loop, whose port runs the drain
 *    callback: once per crossing, whoever saw the crossing first.
 * 5. The two sides may open at different times and on different threads.
 *    A receiver not yet open has no loop to wake and has not asked for a
 *    wakeup; art_port_start looks at its queue itself.
 */
#include <string.h>

#include "port_queue.h"

ART__DECLARE_HANDLE_OPS(port);

/* Port state bits (port->state_). A port is active while started or
 * waiting for its drain: a producer that stopped at the mark must not see
 * its loop end before the drain callback that lets it go on. */
enum { P_STARTED = 1, P_ENDED = 2, P_AWAIT_DRAIN = 4 };

#define DEFAULT_HWM ((size_t)64 * 1024)
#define BATCH_MAX   4096

struct art_channel_s {
  art__dir_t dir[2];
  int claimed; /* atomic: bit 1 << side once opened or abandoned */
  int refs;    /* atomic: sides not yet closed */
};

static art__dir_t *dir_in(const art_port_t *port) {
  return &port->chan_->dir[1 - port->side_];
}

static art__dir_t *dir_out(const art_port_t *port) {
  return &port->chan_->dir[port->side_];
}

/* ---- The channel. ---- */

static void release(art_channel_t *ch) {
  if (__atomic_sub_fetch(&ch->refs, 1, __ATOMIC_ACQ_REL) != 0)
    return;
  art__dir_free(&ch->dir[0]);
  art__dir_free(&ch->dir[1]);
  art__free(ch);
}

/* Note 3. */
static void side_close(art_channel_t *ch, int side) {
  art__dir_close(&ch->dir[1 - side]);
  art__dir_end(&ch->dir[side]);
}

int art_channel_new(art_channel_t **out) {
  if (out == NULL)
    return ART_EINVAL;
  art_channel_t *ch = art__calloc(1, sizeof(*ch));
  if (ch == NULL)
    return ART_ENOMEM;
  if (art__dir_init(&ch->dir[0]) != 0) {
    art__free(ch);
    return ART_ENOMEM;
  }
  if (art__dir_init(&ch->dir[1]) != 0) {
    art__free(ch->dir[0].rx.seg);
    art__free(ch);
    return ART_ENOMEM;
  }
  for (int d = 0; d < 2; d++)
    ch->dir[d].sh.hwm = DEFAULT_HWM;
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
  side_close(ch, side);
  release(ch);
  return 0;
}

/* ---- Backpressure (note 4). ---- */

/* Whoever swaps drain_wanted back to 0 once queued is below the mark owns
 * the drain notice. The receiver's look at queued may come before a send
 * that crossed the mark again: the sender checks once more before it runs
 * the callback (run_drain). */
static int claim_drain(art__dir_t *d) {
  return __atomic_load_n(&d->sh.drain_wanted, __ATOMIC_SEQ_CST) &&
         art__dir_queued(d) < __atomic_load_n(&d->sh.hwm, __ATOMIC_RELAXED) &&
         __atomic_exchange_n(&d->sh.drain_wanted, 0, __ATOMIC_SEQ_CST);
}

static int over_mark(const art__dir_t *d) {
  return art__dir_queued(d) >= __atomic_load_n(&d->sh.hwm, __ATOMIC_RELAXED);
}

/* The handle is active while started or waiting for a drain. */
static void sync_active(art_port_t *port) {
  if (port->state_ & (P_STARTED | P_AWAIT_DRAIN))
    art__handle_start((art_handle_t *)port);
  else
    art__handle_stop((art_handle_t *)port);
}

/* The bytes delivered leave the sender's count; below its mark, the
 * sender may be owed a drain, which the wakeup of its loop (the receiver
 * of this port's outgoing direction) runs. */
static void credit(art_port_t *port, size_t bytes) {
  art__dir_t *in = dir_in(port);
  __atomic_store_n(&in->rx.delivered, in->rx.delivered + bytes,
                   __ATOMIC_SEQ_CST);
  if (claim_drain(in)) {
    __atomic_store_n(&in->sh.drain_due, 1, __ATOMIC_SEQ_CST);
    art__dir_wake(dir_out(port));
  }
}

/* The sender's bytes are at or above the mark: it waits for a drain,
 * unless the receiver delivered them all before the flag was up. */
static void arm_drain(art_port_t *port) {
  art__dir_t *out = dir_out(port);
  port->state_ |= P_AWAIT_DRAIN;
  sync_active(port);
  __atomic_store_n(&out->sh.drain_wanted, 1, __ATOMIC_SEQ_CST);
  if (claim_drain(out)) {
    __atomic_store_n(&out->sh.drain_due, 1, __ATOMIC_SEQ_CST);
    art__loop_wake(port->loop);
  }
}

/* Runs the drain callback if the peer (or a send) said it is due and the
 * bytes are still below the mark; a notice that a later send overtook
 * arms the wait again. A peer that closed owes no drain: the port stops
 * waiting for one. */
static void run_drain(art_port_t *port) {
  art__dir_t *out = dir_out(port);
  if ((port->state_ & P_AWAIT_DRAIN) &&
      __atomic_load_n(&out->sh.closed, __ATOMIC_SEQ_CST)) {
    port->state_ &= ~(unsigned)P_AWAIT_DRAIN;
    sync_active(port);
  }
  if (!__atomic_load_n(&out->sh.drain_due, __ATOMIC_RELAXED) ||
      !__atomic_exchange_n(&out->sh.drain_due, 0, __ATOMIC_SEQ_CST))
    return;
  if (over_mark(out)) {
    arm_drain(port);
    return;
  }
  port->state_ &= ~(unsigned)P_AWAIT_DRAIN;
  sync_active(port);
  if (port->drain_cb_ != NULL)
    ART__CALLBACK(port, port->drain_cb_, (port));
}

/* ---- Delivery, on the receiving loop. ---- */

/* The peer's end: every message it sent came before. */
static void end_reached(art_port_t *port) {
  port->state_ =
      (port->state_ & ~(unsigned)(P_STARTED | P_AWAIT_DRAIN)) | P_ENDED;
  sync_active(port);
  if (port->end_cb_ != NULL)
    ART__CALLBACK(port, port->end_cb_, (port));
}

/* The next message to deliver, or NULL: the queue is empty (a wakeup is
 * then asked for) or has ended (*end set). */
static art__msg_t *next_msg(art__dir_t *in, int *end) {
  art__msg_t *m = art__dir_peek(in);
  if (m != NULL)
    return m;
  if (art__dir_idle(in)) {
    *end = 1;
    return NULL;
  }
  return art__dir_peek(in);
}

/* Delivers while the port is started and open; a callback may stop or
 * close it (a close frees what is left). Delivered pooled nodes go back
 * to the sender in one chain, in delivery order. */
static void deliver(art_port_t *port) {
  art__dir_t *in = dir_in(port);
  art__msg_t *done = NULL, *done_last = NULL;
  size_t bytes = 0;
  int n = 0, end = 0;
  while ((port->state_ & P_STARTED) &&
         art__handle_usable((art_handle_t *)port)) {
    if (n++ == BATCH_MAX) {
      art__loop_wake(port->loop); /* the rest in the next poll phase */
      break;
    }
    art__msg_t *m = next_msg(in, &end);
    if (m == NULL)
      break;
    art__dir_next(in);
    bytes += m->len;
    art_port_msg_t pm = {m->data, m->len, m->free_fn, m->kind == ART__M_PTR};
    ART__CALLBACK(port, port->message_cb_, (port, &pm));
    if (!m->pooled) {
      art__free(m);
      continue;
    }
    if (done == NULL)
      done = m;
    else
      done_last->next = m;
    done_last = m;
  }
  if (done != NULL)
    art__dir_return(in, done, done_last);
  if (bytes != 0)
    credit(port, bytes);
  if (end)
    end_reached(port);
}

/* The port's wake source, in the poll phase. */
static void port_drain(art_loop_t *loop, art__wake_source_t *src) {
  art_port_t *port = art__container_of(src, art_port_t, source_);
  (void)loop;
  if (!art__handle_usable((art_handle_t *)port))
    return;
  run_drain(port);
  if (art__handle_usable((art_handle_t *)port) && (port->state_ & P_STARTED))
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
  port->source_.drain = port_drain;
  art__wake_source_add(loop, &port->source_);
  __atomic_store_n(&ch->dir[1 - side].sh.loop, loop, __ATOMIC_SEQ_CST);
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
  /* What came while stopped (note 5) is delivered by the poll phase. */
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
static int send_msg(art_port_t *port, art__msg_t *m) {
  art__dir_t *out = dir_out(port);
  size_t len = m->len;
  size_t sent = out->tx.sent;
  /* Counted before it is published: its receiver subtracts it after. */
  __atomic_store_n(&out->tx.sent, sent + len, __ATOMIC_RELEASE);
  int err = art__dir_send(out, m);
  if (err) {
    __atomic_store_n(&out->tx.sent, sent, __ATOMIC_RELEASE);
    art__dir_unnode(out, m);
    return err;
  }
  if (over_mark(out))
    arm_drain(port);
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
  art__msg_t *m = art__dir_node(dir_out(port), len);
  if (m == NULL)
    return ART_ENOMEM;
  m->len = len;
  m->free_fn = NULL;
  m->kind = ART__M_COPY;
  if (len > 0)
    memcpy(m->data, data, len);
  return send_msg(port, m);
}

int art_port_send_ptr(art_port_t *port, void *ptr, size_t len,
                      art_port_free_fn free_fn) {
  int err = sendable(port);
  if (err)
    return err;
  art__msg_t *m = art__dir_node(dir_out(port), 0);
  if (m == NULL)
    return ART_ENOMEM;
  m->data = ptr; /* on an error, the node goes back; ptr is the caller's */
  m->len = len;
  m->free_fn = free_fn;
  m->kind = ART__M_PTR;
  return send_msg(port, m);
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
  art__dir_t *out = dir_out(port);
  __atomic_store_n(&out->sh.hwm, bytes, __ATOMIC_RELAXED);
  if (claim_drain(out)) { /* a higher mark is a crossing too */
    __atomic_store_n(&out->sh.drain_due, 1, __ATOMIC_SEQ_CST);
    art__loop_wake(port->loop);
  }
  return 0;
}

int art_port_needs_drain(const art_port_t *port) {
  if (!port_ok(port))
    return 0;
  const art__dir_t *out = dir_out(port);
  return over_mark(out);
}

size_t art_port_queued_size(const art_port_t *port) {
  if (!port_ok(port))
    return 0;
  return art__dir_queued(dir_out(port));
}

/* art_close: the side closes (note 3). The wake source stays until the
 * close phase, since the poll phase may be walking the sources now. */
static void port_close(art_handle_t *h) {
  art_port_t *port = (art_port_t *)h;
  port->state_ &= ~(unsigned)(P_STARTED | P_AWAIT_DRAIN);
  side_close(port->chan_, port->side_);
}

static void port_endgame(art_handle_t *h) {
  art_port_t *port = (art_port_t *)h;
  art__wake_source_remove(&port->source_);
  release(port->chan_);
  port->chan_ = NULL;
}

const art__handle_ops_t art__port_ops = {
    ART_PORT, "port", sizeof(art_port_t), port_close, port_endgame, NULL, NULL};
