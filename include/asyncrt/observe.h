/* Seeing inside a running loop: tracing hooks, async context and reports of
 * slow callbacks (Node's async_hooks, AsyncLocalStorage and the event-loop
 * blocking detectors). docs/observability.md explains the order of events
 * and what each costs.
 *
 * Thread safety: every function here is called on the loop's thread.
 * Callbacks that run on a pool thread (a work item's work_cb, the system
 * call of an fs request) are not callbacks of the loop: no hook sees them
 * and the loop's context is not theirs. */
#ifndef ASYNCRT_OBSERVE_H
#define ASYNCRT_OBSERVE_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What an id names: a handle, a request (work items, fs requests and
 * immediates are requests), or one queued tick or microtask. */
typedef enum {
  ART_RESOURCE_HANDLE = 1,
  ART_RESOURCE_REQ,
  ART_RESOURCE_TICK,
  ART_RESOURCE_MICROTASK
} art_resource_kind;

/* The tracing hooks of one loop. Any of them may be NULL. Ids are unique on
 * their loop and never reused (a 64-bit counter); 0 is the top level, the
 * code outside every callback.
 * - init: a resource was created: a handle initialised, a request issued
 *   (a write, fs call, work item, immediate started), a tick or microtask
 *   queued. type is its art_handle_type or art_req_type (0 for a tick or a
 *   microtask); trigger_id is the id of the callback running when it was
 *   created (0 at top level); resource is the handle or request, NULL for
 *   a tick or microtask.
 * - before, after: one of its callbacks is about to run, has returned.
 * - destroy: it is gone: a handle after its close callback, a request
 *   after its completion callback (or cleared, for an immediate), a tick
 *   or microtask after it ran. Nothing is reported for it afterwards.
 * Hooks run on the loop's thread, outside the async context of any
 * resource; they must not run the loop. */
typedef struct {
  void (*init)(void *arg, uint64_t id, art_resource_kind kind, int type,
               uint64_t trigger_id, const void *resource);
  void (*before)(void *arg, uint64_t id);
  void (*after)(void *arg, uint64_t id);
  void (*destroy)(void *arg, uint64_t id);
} art_hooks_t;

/* Installs hooks (copied) with arg passed to each, or removes them with
 * hooks NULL. Without hooks the loop pays one predictable branch per
 * callback. ART_ENOMEM if the loop's observer state cannot be allocated. */
ART_EXTERN int art_loop_set_hooks(art_loop_t *loop, const art_hooks_t *hooks,
                                  void *arg);

/* The id of the callback running now on loop, 0 at top level or while no
 * hooks are installed (ids are tracked only for hooks). */
ART_EXTERN uint64_t art_loop_current_id(const art_loop_t *loop);

/* The async context: a pointer the program chooses (a request's trace, a
 * tenant), NULL at first. Every handle start (a timer started, art_read_start,
 * a listen...), request issued, work queued, immediate, tick or microtask
 * queued captures the context current at that moment, without allocating,
 * and its callbacks run with it current; the one current before comes back
 * when the callback returns. A stream's read callbacks run with the context
 * of art_read_start, a write's callback with the context of art_write. */
ART_EXTERN void *art_context_get(const art_loop_t *loop);

/* Makes ctx the current context until the callback running now returns (at
 * top level: until changed). ART_EINVAL for a NULL or closed loop. */
ART_EXTERN int art_context_set(art_loop_t *loop, void *ctx);

/* What a slow-callback report carries. */
typedef struct {
  art_resource_kind kind; /* what the callback belonged to */
  int type;               /* its art_handle_type or art_req_type, or 0 */
  art_phase phase;        /* the phase it ran in */
  uint64_t duration_ns;   /* how long the callback took */
  void (*callback)(void); /* its address */
  const char *symbol;     /* its name when dladdr knows it, else NULL */
} art_slow_callback_t;

typedef void (*art_slow_callback_cb)(art_loop_t *loop,
                                     const art_slow_callback_t *report,
                                     void *arg);

/* Reports every callback of loop that takes longer than threshold_ns to
 * cb (with arg), after it returns; cb NULL turns reports off. cb runs with
 * the context the slow callback left current (art_context_get names the
 * request it worked for). The report is valid during cb only. Timing costs two
 * clock reads per callback while on, one predictable branch while off.
 * ART_EINVAL for a NULL or closed loop, ART_ENOMEM if the loop's observer state
 * cannot be allocated. */
ART_EXTERN int art_loop_set_slow_callback(art_loop_t *loop,
                                          uint64_t threshold_ns,
                                          art_slow_callback_cb cb, void *arg);

/* Records the duration of every callback of loop (in ns, art_hrtime, timed
 * as slow-callback reports are: hooks excluded) into h, or stops with h
 * NULL. h stays the caller's and must outlive its use here; it is recorded
 * on the loop's thread, after each callback returns. Shares the timing of
 * slow-callback reports: two clock reads per callback while either is on.
 * ART_EINVAL for a NULL or closed loop, ART_ENOMEM if the loop's observer
 * state cannot be allocated. */
ART_EXTERN int art_loop_set_callback_histogram(art_loop_t *loop,
                                               struct art_histogram_s *h);

/* The diagnostic report (Node's process.report): one JSON document, written
 * into buf, describing the loop now: its backend, every open and closing
 * handle (type, address, observer id, state, fd), requests in flight,
 * timers, queued ticks, microtasks and immediates, the pool the loop uses
 * (if started: the report starts no thread), io_uring's read buffer pool
 * (and how often it ran dry), the loop's metrics, and the percentiles of
 * the loop's, the file system's, the pool's, the delay monitor's and the
 * callback histogram. docs/observability.md, "Diagnostic
 * report", lists the fields. Sizes follow art_cwd's rule (process.h): on
 * success *size is the length written, without the NUL; if buf is too small,
 * ART_ENOBUFS with *size set to the size needed, NUL included; buf NULL with
 * *size 0 asks for that size. ART_EINVAL for a NULL or closed loop, a NULL
 * size, or buf NULL with *size not 0. Allocates nothing; loop thread only. */
ART_EXTERN int art_loop_report(art_loop_t *loop, char *buf, size_t *size);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCRT_OBSERVE_H */
