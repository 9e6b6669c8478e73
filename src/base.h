/* The bottom layer of the library: the allocator, fd helpers, the clock and
 * the error texts. Everything above includes this (through internal.h or
 * backend/backend.h); it includes nothing of the library but the public
 * header, and knows no loop. */
#ifndef ART_BASE_H
#define ART_BASE_H

#include <stdint.h>

#include "asyncrt.h"
#include "queue.h"

#define ART__HIDDEN __attribute__((visibility("hidden")))

/* ---- Allocator (src/allocator.c): every allocation goes through here. ---- */
void *art__malloc(size_t size) ART__HIDDEN;
void *art__realloc(void *ptr, size_t size) ART__HIDDEN;
void *art__calloc(size_t count, size_t size) ART__HIDDEN;
void art__free(void *ptr) ART__HIDDEN;
char *art__strdup(const char *s) ART__HIDDEN;

/* ---- fd and time helpers (src/util.c). ---- */
/* Sets O_CLOEXEC / O_NONBLOCK on fd; 0 or -errno. */
int art__cloexec(int fd, int set) ART__HIDDEN;
int art__nonblock(int fd, int set) ART__HIDDEN;
/* close() that keeps errno and ignores EINTR. */
void art__close_fd(int fd) ART__HIDDEN;
/* Wraps a time in ms to an int poll timeout. */
int art__clamp_timeout(uint64_t ms) ART__HIDDEN;
/* A poll timeout in ns (-1: forever) as ms for a call that takes ms,
 * rounded up so that the wait never ends before the time asked for. */
int art__timeout_ms_up(int64_t ns) ART__HIDDEN;

#endif
