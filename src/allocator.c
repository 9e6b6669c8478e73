/* The one memory hook of the library. Tests replace it to fail the Nth
 * allocation and prove that every out-of-memory path leaves things sound. */
#include <stdlib.h>
#include <string.h>

#include "base.h"

static struct {
  art_malloc_fn malloc_fn;
  art_realloc_fn realloc_fn;
  art_calloc_fn calloc_fn;
  art_free_fn free_fn;
} allocator = {malloc, realloc, calloc, free};

int art_replace_allocator(art_malloc_fn malloc_fn, art_realloc_fn realloc_fn,
                          art_calloc_fn calloc_fn, art_free_fn free_fn) {
  if (malloc_fn == NULL || realloc_fn == NULL || calloc_fn == NULL ||
      free_fn == NULL)
    return ART_EINVAL;
  allocator.malloc_fn = malloc_fn;
  allocator.realloc_fn = realloc_fn;
  allocator.calloc_fn = calloc_fn;
  allocator.free_fn = free_fn;
  return 0;
}

void *art__malloc(size_t size) {
  return allocator.malloc_fn(size ? size : 1);
}

void *art__realloc(void *ptr, size_t size) {
  return allocator.realloc_fn(ptr, size ? size : 1);
}

void *art__calloc(size_t count, size_t size) {
  return allocator.calloc_fn(count ? count : 1, size ? size : 1);
}

/* Freeing keeps errno: callers free on error paths after saving the code. */
void art__free(void *ptr) {
  int saved = errno;
  if (ptr != NULL)
    allocator.free_fn(ptr);
  errno = saved;
}

char *art__strdup(const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = art__malloc(n);
  if (copy != NULL)
    memcpy(copy, s, n);
  return copy;
}
