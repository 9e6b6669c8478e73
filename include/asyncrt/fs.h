/* The asynchronous file system, file watching (fs_event) and stat polling (fs_poll).
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_FS_H
#define ASYNCRT_FS_H

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef __cplusplus
}
#endif

#endif
