/* libasyncrt: an embeddable asynchronous I/O runtime for C.
 *
 * One event loop per thread runs six phases (timers, pending, idle/prepare,
 * poll, check, close) and drains a Node-style microtask queue after every
 * callback it invokes. This header is the whole public API and the one a
 * program includes. It only gathers the headers of include/asyncrt/: the
 * loop core (core.h, which every other one includes first) and one header
 * per area. Each of them also compiles on its own, in C99 and in C++.
 *
 * Conventions for every function below:
 * - Functions return 0 or a negative ART_E* error code, never a positive
 *   value, except the few that return a count, a size, a pid or 0/1: the
 *   complete list is "Return values" in asyncrt/core.h. Nothing aborts on
 *   bad input; NULL pointers and handles used after close give ART_EINVAL.
 * - Handles and requests are allocated by the caller and must stay valid
 *   until their close callback (handles) or completion callback (requests).
 *   Fields ending in an underscore are private: their layout may change in
 *   any release. The other fields keep their offset and size for as long as
 *   ART_ABI_VERSION does not change (docs/design.md, "ABI and versioning").
 * - A loop and its handles belong to one thread. The "Thread safety" block
 *   at the top of each header in asyncrt/ names the functions other
 *   threads may call; every other function is called on the loop's thread.
 */
#ifndef ASYNCRT_H
#define ASYNCRT_H

#include "asyncrt/version.h"
#include "asyncrt/core.h"
#include "asyncrt/histogram.h"
#include "asyncrt/threadpool.h"
#include "asyncrt/observe.h"
#include "asyncrt/fs.h"
#include "asyncrt/stream.h"
#include "asyncrt/udp.h"
#include "asyncrt/dns.h"
#include "asyncrt/process.h"
#include "asyncrt/worker.h"
#include "asyncrt/cluster.h"

#endif /* ASYNCRT_H */
