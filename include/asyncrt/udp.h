/* UDP sockets.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_UDP_H
#define ASYNCRT_UDP_H

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
