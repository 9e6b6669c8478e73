/* Which backend a new loop gets. Kept beside the backends so that the core
 * names none of them. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

extern const art__backend_ops_t art__backend_epoll ART__HIDDEN;
extern const art__backend_ops_t art__backend_poll ART__HIDDEN;
extern const art__backend_ops_t art__backend_io_uring ART__HIDDEN;

/* ART_BACKEND=poll selects the portable poller, io_uring the ring (epoll
 * where the kernel refuses it); anything else, epoll. */
const art__backend_ops_t *art__backend_select(void) {
  const char *name = getenv("ART_BACKEND");
  if (name != NULL && strcmp(name, "poll") == 0)
    return &art__backend_poll;
  if (name != NULL && strcmp(name, "io_uring") == 0)
    return &art__backend_io_uring;
  return &art__backend_epoll;
}

const art__backend_ops_t *art__backend_of_kind(long kind) {
  switch (kind) {
  case ART_BACKEND_DEFAULT:
    return art__backend_select();
  case ART_BACKEND_EPOLL:
    return &art__backend_epoll;
  case ART_BACKEND_POLL:
    return &art__backend_poll;
  case ART_BACKEND_IO_URING:
    return &art__backend_io_uring;
  default:
    return NULL;
  }
}

/* The fallback is quiet: a program that asked for io_uring on a kernel that
 * has it disabled runs on epoll, and art_backend_name tells. */
int art__backend_open(const art__backend_ops_t **ops, void **state) {
  int err = (*ops)->init(state);
  if (err != 0 && (*ops)->fallback != NULL) {
    *ops = (*ops)->fallback;
    err = (*ops)->init(state);
  }
  return err;
}
