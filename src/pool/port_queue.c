/* One direction of a message channel: the queue between one sending
 * thread and one receiving thread.
 *
 * Notes:
 * 1. The queue is a chain of segments of slots, written in order by the
 *    sender and read in order by the receiver. A slot is published by a
 *    CAS from NULL to the message; the receiver reads the slots one after
 *    the other, so its loads are independent of each other and the
 *    hardware fetches several messages at once (a linked list would make
 *    every message wait for the one before it, and a message's first read
 *    on the receiving CPU is a cache miss). A full segment is followed by
 *    the next, linked by a CAS from NULL; the receiver hands the segments
 *    it has passed back to the sender.
 * 2. Wakeups, one per batch. The receiver delivers until it finds an empty
 *    slot, then raises `sleeping` and looks once more. A send publishes,
 *    then, if `sleeping` is up, swaps it down and wakes the receiving
 *    loop. Both sides use sequentially consistent operations in that
 *    order, so either the receiver's second look finds the message or the
 *    sender sees the flag: no message waits without a wakeup. While the
 *    receiver is busy, sends cost no wakeup at all, and a wakeup of a
 *    running loop costs no system call (src/wakeup.c).
 * 3. Closing. The receiver raises `closed`, then fills the first empty
 *    slot (or the empty link at a segment's end) with CLOSED by a CAS,
 *    freeing every message it meets before. A send whose CAS finds CLOSED
 *    fails (ART_EPIPE, the message stays the caller's); a message whose
 *    CAS came first is freed by the receiver. So each message is
 *    delivered, or freed, or refused, exactly once. The sender's end is a
 *    flag raised after its last message: the receiver that finds the
 *    queue empty and the flag up has delivered everything.
 * 4. Sections. A wakeup writes to the receiver's loop, which may be
 *    closing with its port at that moment. The sender therefore wakes only
 *    inside a section counted in `senders`, after checking `closed`; a
 *    closing receiver raises `closed`, then waits for the count to be
 *    zero (the same ordering argument as note 2). A section is a load and
 *    at most one write(2), so the wait is short.
 * 5. Message nodes are recycled: a malloc on one thread and a free on
 *    another cost more than the rest of a message. The receiver hands each
 *    batch's nodes back with one CAS, and the sender takes them all when
 *    its own cache runs dry. Nodes are made SLAB_NODES at a time; the
 *    slabs are freed with the channel. Past POOL_SLABS, and for messages
 *    above SMALL bytes, nodes are plain allocations.
 */
#include <sched.h>
#include <string.h>

#include "port_queue.h"

#define CLOSED_MSG ((art__msg_t *)1)
#define CLOSED_SEG ((art__seg_t *)1)

/* Copied bytes follow the header at this offset, aligned for any type. */
#define ALIGN_UP(n)                                                            \
  (((n) + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t))
#define COPY_OFFSET ALIGN_UP(sizeof(art__msg_t))

/* Note 5: a pooled node carries up to SMALL bytes; a direction makes at
 * most POOL_SLABS slabs of SLAB_NODES (4096 nodes, 640 KiB). */
#define SMALL      128
#define SLAB_NODES 64
#define POOL_SLABS 64
#define NODE_SIZE  (COPY_OFFSET + SMALL)

typedef struct art__slab {
  struct art__slab *next;
} slab_t;

#define SLAB_HDR ALIGN_UP(sizeof(slab_t))

int art__dir_init(art__dir_t *d) {
  art__seg_t *seg = art__calloc(1, sizeof(*seg));
  if (seg == NULL)
    return ART_ENOMEM;
  d->rx.seg = d->tx.seg = seg;
  return 0;
}

static void free_segs(art__seg_t *seg) {
  while (seg != NULL) {
    art__seg_t *next = seg->next;
    art__free(seg);
    seg = next;
  }
}

/* Both ends are closed: the receiver's segment is the last one (the
 * sender's too), and the others are spare. */
void art__dir_free(art__dir_t *d) {
  art__free(d->rx.seg);
  free_segs(d->sh.spare);
  free_segs(d->tx.seg_cache);
  while (d->tx.slabs != NULL) {
    slab_t *next = d->tx.slabs->next;
    art__free(d->tx.slabs);
    d->tx.slabs = next;
  }
}

/* ---- The node pool. ---- */

/* A new slab: its first node is returned, the others go to the cache in
 * address order. NULL at POOL_SLABS or without memory. */
static art__msg_t *slab_grow(art__dir_t *d) {
  if (d->tx.nslabs >= POOL_SLABS)
    return NULL;
  slab_t *slab = art__malloc(SLAB_HDR + SLAB_NODES * NODE_SIZE);
  if (slab == NULL)
    return NULL;
  slab->next = d->tx.slabs;
  d->tx.slabs = slab;
  d->tx.nslabs++;
  char *base = (char *)slab + SLAB_HDR;
  for (int i = SLAB_NODES - 1; i >= 0; i--) {
    art__msg_t *m = (art__msg_t *)(base + (size_t)i * NODE_SIZE);
    m->pooled = 1;
    m->next = d->tx.cache;
    d->tx.cache = m;
  }
  art__msg_t *m = d->tx.cache;
  d->tx.cache = m->next;
  return m;
}

static art__msg_t *plain_node(size_t len) {
  if (len > SIZE_MAX - COPY_OFFSET)
    return NULL;
  art__msg_t *m = art__malloc(COPY_OFFSET + len);
  if (m != NULL) {
    m->pooled = 0;
    m->data = (char *)m + COPY_OFFSET;
  }
  return m;
}

art__msg_t *art__dir_node(art__dir_t *d, size_t len) {
  if (len > SMALL)
    return plain_node(len);
  art__msg_t *m = d->tx.cache;
  if (m == NULL && __atomic_load_n(&d->sh.returned, __ATOMIC_RELAXED) != NULL)
    m = __atomic_exchange_n(&d->sh.returned, NULL, __ATOMIC_ACQUIRE);
  if (m != NULL)
    d->tx.cache = m->next;
  else if ((m = slab_grow(d)) == NULL)
    return plain_node(len);
  m->data = (char *)m + COPY_OFFSET;
  return m;
}

void art__dir_unnode(art__dir_t *d, art__msg_t *m) {
  if (m->pooled) {
    m->next = d->tx.cache;
    d->tx.cache = m;
  } else {
    art__free(m);
  }
}

void art__dir_return(art__dir_t *d, art__msg_t *first, art__msg_t *last) {
  art__msg_t *head = __atomic_load_n(&d->sh.returned, __ATOMIC_RELAXED);
  do
    last->next = head;
  while (!__atomic_compare_exchange_n(&d->sh.returned, &head, first, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

void art__dir_drop(art__msg_t *m) {
  if (m->kind == ART__M_PTR && m->free_fn != NULL)
    m->free_fn(m->data);
  if (!m->pooled)
    art__free(m); /* a pooled node goes with its slab */
}

/* ---- The sender. ---- */

void art__dir_wake(art__dir_t *d) {
  __atomic_add_fetch(&d->sh.senders, 1, __ATOMIC_SEQ_CST);
  if (!__atomic_load_n(&d->sh.closed, __ATOMIC_SEQ_CST)) {
    art_loop_t *loop = __atomic_load_n(&d->sh.loop, __ATOMIC_SEQ_CST);
    if (loop != NULL)
      art__loop_wake(loop);
  }
  __atomic_sub_fetch(&d->sh.senders, 1, __ATOMIC_RELEASE);
}

/* A clean segment for the sender. */
static art__seg_t *seg_get(art__dir_t *d) {
  art__seg_t *s = d->tx.seg_cache;
  if (s == NULL && __atomic_load_n(&d->sh.spare, __ATOMIC_RELAXED) != NULL)
    s = __atomic_exchange_n(&d->sh.spare, NULL, __ATOMIC_ACQUIRE);
  if (s == NULL)
    return art__calloc(1, sizeof(*s));
  d->tx.seg_cache = s->next;
  memset(s, 0, sizeof(*s));
  return s;
}

/* The current segment is full: links the next (note 1). */
static int seg_advance(art__dir_t *d) {
  art__seg_t *s = seg_get(d);
  if (s == NULL)
    return ART_ENOMEM;
  art__seg_t *expected = NULL;
  if (!__atomic_compare_exchange_n(&d->tx.seg->next, &expected, s, 0,
                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)) {
    s->next = d->tx.seg_cache; /* CLOSED: the receiver is gone */
    d->tx.seg_cache = s;
    return ART_EPIPE;
  }
  d->tx.seg = s;
  d->tx.idx = 0;
  return 0;
}

int art__dir_send(art__dir_t *d, art__msg_t *m) {
  if (d->tx.idx == ART__SEG_SLOTS) {
    int err = seg_advance(d);
    if (err)
      return err;
  }
  art__msg_t *expected = NULL;
  if (!__atomic_compare_exchange_n(&d->tx.seg->slot[d->tx.idx], &expected, m, 0,
                                   __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
    return ART_EPIPE;
  d->tx.idx++;
  if (__atomic_load_n(&d->sh.sleeping, __ATOMIC_SEQ_CST) &&
      __atomic_exchange_n(&d->sh.sleeping, 0, __ATOMIC_SEQ_CST))
    art__dir_wake(d);
  return 0;
}

void art__dir_end(art__dir_t *d) {
  __atomic_store_n(&d->sh.ended, 1, __ATOMIC_SEQ_CST);
  art__dir_wake(d);
}

/* ---- The receiver. ---- */

static void seg_retire(art__dir_t *d, art__seg_t *old) {
  art__seg_t *head = __atomic_load_n(&d->sh.spare, __ATOMIC_RELAXED);
  do
    old->next = head;
  while (!__atomic_compare_exchange_n(&d->sh.spare, &head, old, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

art__msg_t *art__dir_peek(art__dir_t *d) {
  if (d->rx.idx == ART__SEG_SLOTS) {
    art__seg_t *next = __atomic_load_n(&d->rx.seg->next, __ATOMIC_SEQ_CST);
    if (next == NULL)
      return NULL;
    art__seg_t *old = d->rx.seg;
    d->rx.seg = next;
    d->rx.idx = 0;
    seg_retire(d, old);
  }
  return __atomic_load_n(&d->rx.seg->slot[d->rx.idx], __ATOMIC_SEQ_CST);
}

int art__dir_idle(art__dir_t *d) {
  if (__atomic_load_n(&d->sh.ended, __ATOMIC_SEQ_CST))
    return art__dir_peek(d) == NULL;
  __atomic_store_n(&d->sh.sleeping, 1, __ATOMIC_SEQ_CST);
  return 0;
}

void art__dir_close(art__dir_t *d) {
  __atomic_store_n(&d->sh.closed, 1, __ATOMIC_SEQ_CST);
  for (;;) {
    if (d->rx.idx == ART__SEG_SLOTS) {
      art__seg_t *next = NULL;
      if (__atomic_compare_exchange_n(&d->rx.seg->next, &next, CLOSED_SEG, 0,
                                      __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        break;
      art__seg_t *old = d->rx.seg;
      d->rx.seg = next;
      d->rx.idx = 0;
      seg_retire(d, old);
      continue;
    }
    art__msg_t *m = NULL;
    if (__atomic_compare_exchange_n(&d->rx.seg->slot[d->rx.idx], &m, CLOSED_MSG,
                                    0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
      break;
    art__dir_drop(m);
    d->rx.idx++;
  }
  while (__atomic_load_n(&d->sh.senders, __ATOMIC_SEQ_CST) != 0)
    sched_yield();
}
