/* Which backend a new loop gets. Kept beside the backends so that the core
 * names none of them. */
#include <stdlib.h>
#include <string.h>

#include "backend.h"

extern const art__backend_ops_t art__backend_epoll ART__HIDDEN;
extern const art__backend_ops_t art__backend_poll ART__HIDDEN;

/* ART_BACKEND=poll selects the portable poller; anything else, epoll. */
const art__backend_ops_t *art__backend_select(void) {
  const char *name = getenv("ART_BACKEND");
  if (name != NULL && strcmp(name, "poll") == 0)
    return &art__backend_poll;
  return &art__backend_epoll;
}
