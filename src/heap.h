/* The timer heap: a 4-ary min-heap in an array of (deadline, start order,
 * timer) entries.
 *
 * Why an array and not a pointer-linked heap: sifting compares the keys
 * stored in the array, so it walks consecutive memory instead of chasing one
 * pointer per level into timers spread over the user's memory. Each timer
 * remembers its index so that it can be found in O(1). Capacity is reserved
 * when a timer is initialised (one slot per timer), so push never allocates.
 *
 * Why 4-ary: the tree is half as deep as a binary one, and the four children
 * of a node are adjacent (96 bytes), so one level costs about one cache line
 * fetch. Popping the root, the hot operation of the timers phase, uses the
 * bottom-up method: the hole walks down to a leaf along the smallest
 * children without comparing against the displaced last entry, which then
 * sifts up from there; the last entry usually belongs near the bottom, so
 * this saves most of the comparisons of the textbook sift-down. Measured on
 * 1,000,000 timers, see docs/performance.md.
 */
#ifndef ART_HEAP_H
#define ART_HEAP_H

#include "internal.h"

#define ART__HEAP_ARITY 4

static inline int art__heap_less(const art__heap_entry_t *a,
                                 const art__heap_entry_t *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static inline size_t art__heap_parent(size_t i) {
  return (i - 1) / ART__HEAP_ARITY;
}

/* Writes e at i and tells its timer where it now is. */
static inline void art__heap_place(art__heap_entry_t *heap, size_t i,
                                   art__heap_entry_t e) {
  heap[i] = e;
  e.timer->heap_index_ = i;
}

/* Index of the smallest child of i in a heap of n entries (i has at least
 * one child: 4i+1 < n). */
static inline size_t art__heap_min_child(const art__heap_entry_t *heap,
                                         size_t n, size_t i) {
  size_t first = ART__HEAP_ARITY * i + 1;
  size_t last = first + ART__HEAP_ARITY < n ? first + ART__HEAP_ARITY : n;
  size_t best = first;
  for (size_t c = first + 1; c < last; c++)
    if (art__heap_less(&heap[c], &heap[best]))
      best = c;
  return best;
}

/* Moves e up from hole i to its place. */
static inline void art__heap_sift_up(art__heap_entry_t *heap, size_t i,
                                     art__heap_entry_t e) {
  while (i > 0) {
    size_t parent = art__heap_parent(i);
    if (!art__heap_less(&e, &heap[parent]))
      break;
    art__heap_place(heap, i, heap[parent]);
    i = parent;
  }
  art__heap_place(heap, i, e);
}

/* Moves e down from hole i in a heap of n entries. */
static inline void art__heap_sift_down(art__heap_entry_t *heap, size_t n,
                                       size_t i, art__heap_entry_t e) {
  while (ART__HEAP_ARITY * i + 1 < n) {
    size_t child = art__heap_min_child(heap, n, i);
    if (!art__heap_less(&heap[child], &e))
      break;
    art__heap_place(heap, i, heap[child]);
    i = child;
  }
  art__heap_place(heap, i, e);
}

static inline void art__heap_push(art__heap_entry_t *heap, size_t *n,
                                  art__heap_entry_t e) {
  art__heap_sift_up(heap, (*n)++, e);
}

/* Removes the root (bottom-up: see the note at the top). */
static inline void art__heap_pop(art__heap_entry_t *heap, size_t *n) {
  size_t count = --*n;
  if (count == 0)
    return;
  size_t i = 0;
  while (ART__HEAP_ARITY * i + 1 < count) {
    size_t child = art__heap_min_child(heap, count, i);
    art__heap_place(heap, i, heap[child]);
    i = child;
  }
  art__heap_sift_up(heap, i, heap[count]);
}

/* Removes the entry at index i. */
static inline void art__heap_remove(art__heap_entry_t *heap, size_t *n,
                                    size_t i) {
  art__heap_entry_t last = heap[--*n];
  if (i == *n)
    return;
  if (i > 0 && art__heap_less(&last, &heap[art__heap_parent(i)]))
    art__heap_sift_up(heap, i, last);
  else
    art__heap_sift_down(heap, *n, i, last);
}

#endif
