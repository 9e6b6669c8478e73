/* Intrusive circular doubly-linked queue.
 *
 * A queue head and its elements share one node type; an element is found
 * from its node with art__container_of. Nothing here allocates, so a handle
 * can sit on a loop list for its whole life at no cost beyond two pointers.
 */
#ifndef ART_QUEUE_H
#define ART_QUEUE_H

#include <stddef.h>

#include "asyncrt.h"

typedef struct art__queue art__queue_t;

#define art__container_of(ptr, type, field)                                    \
  ((type *)((char *)(ptr)-offsetof(type, field)))

static inline void art__queue_init(art__queue_t *q) {
  q->next = q;
  q->prev = q;
}

static inline int art__queue_empty(const art__queue_t *q) {
  return q->next == q;
}

static inline art__queue_t *art__queue_head(const art__queue_t *q) {
  return q->next;
}

static inline void art__queue_insert_tail(art__queue_t *h, art__queue_t *q) {
  q->next = h;
  q->prev = h->prev;
  q->prev->next = q;
  h->prev = q;
}

static inline void art__queue_insert_head(art__queue_t *h, art__queue_t *q) {
  q->next = h->next;
  q->prev = h;
  q->next->prev = q;
  h->next = q;
}

/* Unlinks q and leaves it pointing at itself, so removing twice is harmless
 * and art__queue_empty(q) tells whether an element is on some list. */
static inline void art__queue_remove(art__queue_t *q) {
  q->prev->next = q->next;
  q->next->prev = q->prev;
  art__queue_init(q);
}

/* Moves every element of h to n (which is overwritten); h ends empty. This is
 * how a phase detaches its list before calling user code that may change it. */
static inline void art__queue_move(art__queue_t *h, art__queue_t *n) {
  if (art__queue_empty(h)) {
    art__queue_init(n);
    return;
  }
  n->next = h->next;
  n->prev = h->prev;
  n->next->prev = n;
  n->prev->next = n;
  art__queue_init(h);
}

#define art__queue_foreach(q, h)                                               \
  for ((q) = (h)->next; (q) != (h); (q) = (q)->next)

#endif
