/* Child processes, signals and process information.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_PROCESS_H
#define ASYNCRT_PROCESS_H

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
