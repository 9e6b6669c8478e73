/* Name resolution on the work pool's slow lane, and address helpers.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_DNS_H
#define ASYNCRT_DNS_H

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
