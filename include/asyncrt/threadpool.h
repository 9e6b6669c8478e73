/* The work pool: art_pool_t, art_queue_work, lanes, statistics.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_THREADPOOL_H
#define ASYNCRT_THREADPOOL_H

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
