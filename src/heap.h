/* The timer heap: a binary min-heap in an array of (deadline, start order,
 * timer) entries.
 *
 * Why an array and not a pointer-linked heap: sifting compares the keys
 * stored in the array, so it touches consecutive memory instead of chasing
 * one pointer per level into timers spread over the user's memory. Each timer
 * remembers its index so that stopping it is O(log n). Capacity is reserved
 * when a timer is initialised; push never allocates.
 */
#ifndef ART_HEAP_H
#define ART_HEAP_H

#include "internal.h"

static inline int art__heap_less(const art__heap_entry_t *a,
                                 const art__heap_entry_t *b) {
  return a->due < b->due || (a->due == b->due && a->seq < b->seq);
}

static inline void art__heap_place(art__heap_entry_t *heap, size_t i,
                                   art__heap_entry_t e) {
  heap[i] = e;
  e.timer->heap_index_ = i;
}

/* Moves e up from hole i to its place. */
static inline void art__heap_sift_up(art__heap_entry_t *heap, size_t i,
                                     art__heap_entry_t e) {
  while (i > 0) {
    size_t parent = (i - 1) / 2;
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
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n)
      break;
    if (child + 1 < n && art__heap_less(&heap[child + 1], &heap[child]))
      child++;
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

/* Removes the entry at index i. */
static inline void art__heap_remove(art__heap_entry_t *heap, size_t *n,
                                    size_t i) {
  art__heap_entry_t last = heap[--*n];
  if (i == *n)
    return;
  if (i > 0 && art__heap_less(&last, &heap[(i - 1) / 2]))
    art__heap_sift_up(heap, i, last);
  else
    art__heap_sift_down(heap, *n, i, last);
}

#endif
