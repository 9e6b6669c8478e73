/* Helpers for the tests that give a typed function a handle of another
 * type (an idle handle): the function must refuse it without reading or
 * writing past its end. The idle handle sits in a heap block of exactly
 * its size, so that the sanitizer build catches any such access. Used by
 * the suites of the types whose functions are checked. */
#ifndef ART_TEST_HELPERS_HANDLE_H
#define ART_TEST_HELPERS_HANDLE_H

#include <stdlib.h>

#include "harness.h"

static inline void free_exact_cb(art_handle_t *h) {
  free(h);
}

/* An idle handle in a block of exactly its size. */
static inline art_idle_t *new_idle(art_loop_t *loop) {
  art_idle_t *h = malloc(sizeof(*h));
  assert_non_null(h);
  assert_int_equal(art_idle_init(loop, h), 0);
  return h;
}

/* Closes a handle from new_idle and runs the loop until it is freed. */
static inline void close_and_run(art_loop_t *loop, art_handle_t *h) {
  assert_int_equal(art_close(h, free_exact_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

#endif
