/* The timer heap: a 4-ary min-heap in an array of (deadline, start order,
 * slot) entries.
 *
 * Why an array and not a pointer-linked heap: sifting compares the keys
 * stored in the array, so it walks consecutive memory instead of chasing one
 * pointer per level into timers spread over the user's memory.
 *
 * Why slots: each timer gets a slot number at init. The loop keeps two
 * dense arrays indexed by slot: the timer's address and the index of its
 * heap entry. Moving an entry updates timer_pos_[slot] (4 bytes in an array
 * that stays in cache) instead of writing into the timer itself, which, with
 * many timers, is a cache miss per level. The timer finds its entry in O(1)
 * through the same array. Capacity for all three arrays is reserved when a
 * timer is initialised, so push never allocates.
 *
 * Why 4-ary: the tree is half as deep as a binary one and the four children
 * of a node are adjacent (96 bytes), so a level costs about one cache line.
 * Popping the root, the hot operation of the timers phase, is bottom-up: the
 * hole walks down to a leaf along the smallest children without comparing
 * against the displaced last entry, which then sifts up from there. The last
 * entry usually belongs near the bottom, so this saves most comparisons.
 * Measured on 1,000,000 timers: see docs/performance.md.
 *
 * Why the comparisons branch: a branch-free (cmov) version cut mispredicted
 * branches per pop from about 13 to 5 (callgrind --branch-sim), yet popped
 * 10-30% slower in wall time. With a heap larger than the cache, a
 * predicted branch lets the CPU start loading the next level before the
 * comparison resolves; a conditional move makes it wait.
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

/* Writes e at i and records where its timer's entry now is. */
static inline void art__heap_place(art_loop_t *loop, size_t i,
                                   art__heap_entry_t e) {
  loop->timer_heap_[i] = e;
  loop->timer_pos_[e.slot] = (uint32_t)i;
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
static inline void art__heap_sift_up(art_loop_t *loop, size_t i,
                                     art__heap_entry_t e) {
  art__heap_entry_t *heap = loop->timer_heap_;
  while (i > 0) {
    size_t parent = art__heap_parent(i);
    if (!art__heap_less(&e, &heap[parent]))
      break;
    art__heap_place(loop, i, heap[parent]);
    i = parent;
  }
  art__heap_place(loop, i, e);
}

/* Moves e down from hole i. */
static inline void art__heap_sift_down(art_loop_t *loop, size_t i,
                                       art__heap_entry_t e) {
  art__heap_entry_t *heap = loop->timer_heap_;
  size_t n = loop->timer_count_;
  while (ART__HEAP_ARITY * i + 1 < n) {
    size_t child = art__heap_min_child(heap, n, i);
    if (!art__heap_less(&heap[child], &e))
      break;
    art__heap_place(loop, i, heap[child]);
    i = child;
  }
  art__heap_place(loop, i, e);
}

static inline void art__heap_push(art_loop_t *loop, art__heap_entry_t e) {
  art__heap_sift_up(loop, loop->timer_count_++, e);
}

/* Removes the root (bottom-up: see the note at the top). */
static inline void art__heap_pop(art_loop_t *loop) {
  art__heap_entry_t *heap = loop->timer_heap_;
  size_t count = --loop->timer_count_;
  if (count == 0)
    return;
  size_t i = 0;
  while (ART__HEAP_ARITY * i + 1 < count) {
    size_t child = art__heap_min_child(heap, count, i);
    art__heap_place(loop, i, heap[child]);
    i = child;
  }
  art__heap_sift_up(loop, i, heap[count]);
}

/* Removes the entry at index i. */
static inline void art__heap_remove(art_loop_t *loop, size_t i) {
  art__heap_entry_t *heap = loop->timer_heap_;
  art__heap_entry_t last = heap[--loop->timer_count_];
  if (i == loop->timer_count_)
    return;
  if (i > 0 && art__heap_less(&last, &heap[art__heap_parent(i)]))
    art__heap_sift_up(loop, i, last);
  else
    art__heap_sift_down(loop, i, last);
}

#endif
