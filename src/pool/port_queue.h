/* One direction of a message channel (src/pool/port_queue.c): a queue
 * with one sending thread and one receiving thread, its wakeups and its
 * close protocol, and the pool of message nodes. The ports
 * (src/pool/port.c) are built on two of them. */
#ifndef ART_PORT_QUEUE_H
#define ART_PORT_QUEUE_H

#include "internal.h"

/* What a message carries: bytes copied after the header, or a pointer
 * that moves with it. */
enum { ART__M_COPY, ART__M_PTR };

/* A message node. */
typedef struct art__msg {
  struct art__msg *next; /* on the node pool's lists */
  void *data;
  size_t len;
  art_port_free_fn free_fn;
  int kind;   /* ART__M_* */
  int pooled; /* lives in a slab of its direction's pool */
} art__msg_t;

/* Segments of the queue: slots filled in order, then the next segment. */
#define ART__SEG_SLOTS 127

typedef struct art__seg {
  struct art__seg *next;            /* atomic: NULL, the next, or CLOSED */
  art__msg_t *slot[ART__SEG_SLOTS]; /* atomic: NULL, a message or CLOSED */
} art__seg_t;

struct art__slab;

/* One direction. Fields are grouped by the thread that writes them, each
 * group on cache lines of its own. */
typedef struct {
  struct {
    art__seg_t *seg; /* where the next message will be read */
    unsigned idx;
    size_t delivered;                /* atomic: bytes delivered, ever */
  } __attribute__((aligned(64))) rx; /* the receiver's */
  struct {
    int closed;       /* atomic: the receiver closed */
    int ended;        /* atomic: the sender closed, after its last message */
    int sleeping;     /* atomic: the receiver waits for a wakeup */
    int senders;      /* atomic: the sender's wakeups in progress */
    art_loop_t *loop; /* atomic: the receiver's loop; NULL until it opens */
    size_t hwm;       /* atomic: the sender's high-water mark */
    int drain_wanted; /* atomic: a send reached the mark */
    int drain_due;    /* atomic: the sender's drain callback is to run */
    art__msg_t *returned; /* atomic: pooled nodes the receiver is done with */
    art__seg_t *spare;    /* atomic: segments the receiver is done with */
  } __attribute__((aligned(64))) sh; /* both */
  struct {
    art__seg_t *seg; /* where the next message will be written */
    unsigned idx;
    size_t sent;             /* atomic: bytes sent, ever */
    art__msg_t *cache;       /* pooled nodes ready for the next sends */
    art__seg_t *seg_cache;   /* segments ready for use */
    struct art__slab *slabs; /* where the pooled nodes live */
    unsigned nslabs;
  } __attribute__((aligned(64))) tx; /* the sender's */
} art__dir_t;

/* Bytes sent and not yet delivered. Two counters, each written by one
 * thread, cost a send no locked instruction; delivered is read first, so
 * the difference never goes below 0. Either thread. */
static inline size_t art__dir_queued(const art__dir_t *d) {
  size_t delivered = __atomic_load_n(&d->rx.delivered, __ATOMIC_SEQ_CST);
  return __atomic_load_n(&d->tx.sent, __ATOMIC_SEQ_CST) - delivered;
}

/* Sets up d, empty, with its first segment: 0 or ART_ENOMEM. */
int art__dir_init(art__dir_t *d) ART__HIDDEN;
/* Frees what d holds once both its ends are closed. */
void art__dir_free(art__dir_t *d) ART__HIDDEN;

/* ---- The sender. ---- */
/* A node for a message of len bytes (0: a pointer message), or NULL. */
art__msg_t *art__dir_node(art__dir_t *d, size_t len) ART__HIDDEN;
/* Gives back a node that was not sent. */
void art__dir_unnode(art__dir_t *d, art__msg_t *m) ART__HIDDEN;
/* Appends m: 0, ART_EPIPE once the receiver closed (m is the caller's),
 * or ART_ENOMEM. Wakes the receiver if it waits. */
int art__dir_send(art__dir_t *d, art__msg_t *m) ART__HIDDEN;
/* The sender closes: after every message it sent, the receiver finds the
 * end. Wakes the receiver. */
void art__dir_end(art__dir_t *d) ART__HIDDEN;
/* Wakes the receiver's loop unless it closed (the sender's thread). */
void art__dir_wake(art__dir_t *d) ART__HIDDEN;

/* ---- The receiver. ---- */
/* The next message, or NULL if none was published; does not take it. */
art__msg_t *art__dir_peek(art__dir_t *d) ART__HIDDEN;
/* Takes the message art__dir_peek returned. */
static inline void art__dir_next(art__dir_t *d) {
  d->rx.idx++;
}
/* The queue looked empty: 1 if the sender has ended and nothing is left;
 * else asks for a wakeup at the next send, and 0. The caller peeks once
 * more after a 0 (the send may have come before the request). */
int art__dir_idle(art__dir_t *d) ART__HIDDEN;
/* Hands back a chain of delivered pooled nodes (first .. last). */
void art__dir_return(art__dir_t *d, art__msg_t *first,
                     art__msg_t *last) ART__HIDDEN;
/* The receiver closes: later sends fail; every message sent before is
 * freed (pointer messages through their free function). */
void art__dir_close(art__dir_t *d) ART__HIDDEN;
/* Frees one message that will not be delivered. */
void art__dir_drop(art__msg_t *m) ART__HIDDEN;

#endif
