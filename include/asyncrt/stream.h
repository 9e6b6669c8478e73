/* Streams with backpressure: TCP, Unix pipes (with handle passing) and TTYs.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_STREAM_H
#define ASYNCRT_STREAM_H

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
