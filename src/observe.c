/* The observer: tracing hooks, async context and slow-callback reports
 * (include/asyncrt/observe.h).
 *
 * Notes:
 * 1. Everything attaches to the one callback path (ART__CALLBACK_OF in
 *    src/internal.h) and to the places where resources are created and
 *    end, behind loop->observe_: while it is 0 (no observer was ever set
 *    up on the loop) the path makes no call here, and a resource created
 *    then gets no id and no context (two stores).
 * 2. The context needs no work while nobody ever set one: every captured
 *    context is then NULL, so swapping it in and out would change nothing.
 *    art_context_set therefore turns on ART__OBS_CONTEXT, and it stays on
 *    for the loop's life (a context set once may have been captured).
 * 3. The current id, which init hooks report as the trigger, is tracked
 *    only while hooks are installed: hooks installed inside a callback see
 *    0 as the trigger of what that callback creates afterwards.
 * 4. The state of hooks and reports lives in one allocation, made by the
 *    first art_loop_set_hooks, art_loop_set_slow_callback,
 *    art_loop_set_callback_histogram or art_context_set and released with the
 * loop through the extension registry.
 * 5. What a callback needs after it returns is kept on a stack here, not
 *    in the caller's frame, so that the callback path stays small enough
 *    for the compiler to inline. Callbacks nest (a pipeline's callback runs
 *    inside the write callback it handles); past MAX_DEPTH nested
 *    callbacks the deeper ones are counted but not observed. Once the
 *    observer exists, loop->observe_ stays non-zero (ART__OBS_ON): the
 *    callback path reads it before and after the call, so every enter has
 *    its leave, and a leave with no frame (the callback that made the
 *    observer) is ignored.
 * 6. A resource created before the loop's first observer has id 0: no
 *    hook reports it (its init was never seen), and its callbacks run with
 *    the NULL context. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <string.h>
#ifdef ART_HAVE_DLADDR
#include <dlfcn.h>
#endif

#include "internal.h"

#define MAX_DEPTH 32

/* What one observed callback keeps until it returns: the callback may free
 * its handle or request, so nothing is read from it afterwards. */
typedef struct {
  uint64_t id;         /* the resource's id */
  uint64_t saved_id;   /* the id current before the callback */
  void *saved_context; /* the context current before the callback */
  uint64_t start_ns;   /* art_hrtime before the call, when timing */
  int kind;            /* art_resource_kind */
  int type;            /* its art_handle_type or art_req_type, or 0 */
  void (*fn)(void);    /* the callback */
} frame_t;

struct art__observer {
  frame_t frames[MAX_DEPTH]; /* the callbacks running, innermost last */
  unsigned depth;            /* callbacks running, observed or not */
  art_hooks_t hooks;
  void *hooks_arg;
  uint64_t current_id; /* the callback running, 0 at top level */
  uint64_t slow_ns;    /* report callbacks longer than this */
  art_slow_callback_cb slow_cb;
  void *slow_arg;
  art_histogram_t *cb_hist; /* every callback's duration, when set */
};

static void observer_close(art_loop_t *loop, void *state) {
  art__free(state);
  loop->observer_ = NULL;
  loop->observe_ &= ART__OBS_TASKS; /* not the observer's */
}

static const art__ext_t observer_ext = {"observer", observer_close, NULL};

/* The loop's observer state, made on first use; NULL if out of memory. */
static struct art__observer *observer(art_loop_t *loop) {
  if (loop->observer_ != NULL)
    return loop->observer_;
  struct art__observer *o = art__calloc(1, sizeof(*o));
  if (o == NULL)
    return NULL;
  if (art__ext_set(loop, &observer_ext, o) != 0) {
    art__free(o);
    return NULL;
  }
  loop->observer_ = o;
  loop->observe_ |= ART__OBS_ON; /* note 5 */
  return o;
}

static int any_hook(const art_hooks_t *h) {
  return h->init != NULL || h->before != NULL || h->after != NULL ||
         h->destroy != NULL;
}

int art_loop_set_hooks(art_loop_t *loop, const art_hooks_t *hooks, void *arg) {
  if (!art__loop_usable(loop))
    return ART_EINVAL;
  if (hooks == NULL || !any_hook(hooks)) {
    if (loop->observer_ != NULL) {
      memset(&loop->observer_->hooks, 0, sizeof(loop->observer_->hooks));
      loop->observer_->current_id = 0;
    }
    loop->observe_ &= ~(unsigned)ART__OBS_HOOKS;
    return 0;
  }
  struct art__observer *o = observer(loop);
  if (o == NULL)
    return ART_ENOMEM;
  o->hooks = *hooks;
  o->hooks_arg = arg;
  loop->observe_ |= ART__OBS_HOOKS;
  return 0;
}

uint64_t art_loop_current_id(const art_loop_t *loop) {
  if (loop == NULL || !(loop->observe_ & ART__OBS_HOOKS))
    return 0;
  return loop->observer_->current_id;
}

void *art_context_get(const art_loop_t *loop) {
  return loop != NULL ? loop->context_ : NULL;
}

int art_context_set(art_loop_t *loop, void *ctx) {
  if (!art__loop_usable(loop))
    return ART_EINVAL;
  if (observer(loop) == NULL)
    return ART_ENOMEM;
  loop->context_ = ctx;
  loop->observe_ |= ART__OBS_CONTEXT; /* note 2 */
  return 0;
}

int art_loop_set_slow_callback(art_loop_t *loop, uint64_t threshold_ns,
                               art_slow_callback_cb cb, void *arg) {
  if (!art__loop_usable(loop))
    return ART_EINVAL;
  if (cb == NULL) {
    loop->observe_ &= ~(unsigned)ART__OBS_SLOW;
    return 0;
  }
  struct art__observer *o = observer(loop);
  if (o == NULL)
    return ART_ENOMEM;
  o->slow_ns = threshold_ns;
  o->slow_cb = cb;
  o->slow_arg = arg;
  loop->observe_ |= ART__OBS_SLOW;
  return 0;
}

int art_loop_set_callback_histogram(art_loop_t *loop, art_histogram_t *h) {
  if (!art__loop_usable(loop))
    return ART_EINVAL;
  if (h == NULL) {
    loop->observe_ &= ~(unsigned)ART__OBS_HIST;
    if (loop->observer_ != NULL)
      loop->observer_->cb_hist = NULL;
    return 0;
  }
  struct art__observer *o = observer(loop);
  if (o == NULL)
    return ART_ENOMEM;
  o->cb_hist = h;
  loop->observe_ |= ART__OBS_HIST;
  return 0;
}

art_histogram_t *art__callback_histogram(const art_loop_t *loop) {
  if (loop == NULL || !(loop->observe_ & ART__OBS_HIST))
    return NULL;
  return loop->observer_->cb_hist;
}

void art__res_init_slow(art_loop_t *loop, art__res_t *r, int kind, int type,
                        const void *resource) {
  struct art__observer *o = loop->observer_;
  r->id_ = ++loop->last_id_;
  r->context_ = loop->context_;
  if ((loop->observe_ & ART__OBS_HOOKS) && o->hooks.init != NULL)
    o->hooks.init(o->hooks_arg, r->id_, (art_resource_kind)kind, type,
                  o->current_id, resource);
}

void art__res_destroy_slow(art_loop_t *loop, uint64_t id) {
  struct art__observer *o = loop->observer_;
  if (id != 0 && o->hooks.destroy != NULL) /* note 6 */
    o->hooks.destroy(o->hooks_arg, id);
}

void art__callback_enter(art_loop_t *loop, const art__res_t *r, int kind,
                         int type, void (*fn)(void)) {
  unsigned obs = loop->observe_;
  struct art__observer *o = loop->observer_;
  if (o->depth++ >= MAX_DEPTH)
    return; /* note 5 */
  frame_t *f = &o->frames[o->depth - 1];
  f->id = r->id_;
  f->kind = kind;
  f->type = type;
  f->fn = fn;
  f->saved_id = o->current_id;
  f->saved_context = loop->context_;
  loop->context_ = r->context_;
  if ((obs & ART__OBS_HOOKS) && f->id != 0) { /* note 6 */
    o->current_id = f->id;
    if (o->hooks.before != NULL)
      o->hooks.before(o->hooks_arg, f->id);
  }
  /* Last, so that the before hook is not counted as the callback's time. */
  f->start_ns = (obs & ART__OBS_TIMED) ? art_hrtime() : 0;
}

/* The symbol of a callback, when the dynamic linker knows it. */
static const char *symbol_of(void (*fn)(void)) {
#ifdef ART_HAVE_DLADDR
  Dl_info info;
  void *addr;
  memcpy(&addr, &fn, sizeof(addr)); /* ISO C has no function-to-data cast */
  /* Only the function's own symbol: for a static function dladdr names
   * the nearest exported symbol before it, which would mislead. */
  if (dladdr(addr, &info) != 0 && info.dli_sname != NULL &&
      info.dli_saddr == addr)
    return info.dli_sname;
#else
  (void)fn;
#endif
  return NULL;
}

/* The report runs with the context the slow callback left current, so that
 * it can name the request the callback worked for. */
static void report_slow(art_loop_t *loop, const frame_t *f, uint64_t took,
                        void *ctx) {
  struct art__observer *o = loop->observer_;
  void *saved = loop->context_;
  art_slow_callback_t rep;
  rep.kind = (art_resource_kind)f->kind;
  rep.type = f->type;
  rep.phase = (art_phase)loop->phase_;
  rep.duration_ns = took;
  rep.callback = f->fn;
  rep.symbol = symbol_of(f->fn);
  loop->context_ = ctx;
  o->slow_cb(loop, &rep, o->slow_arg);
  loop->context_ = saved;
}

/* After the callback: the context and current id come back, then the after
 * hook, the destroy hook for everything whose callback is its last (all
 * but handles), the duration into the callback histogram and the
 * slow-callback report. The flags are read again: the callback may have
 * turned hooks, the histogram or reports off (or on: a callback not timed
 * from its start is not recorded). The observer state,
 * once made, lives as long as the loop. */
void art__callback_leave(art_loop_t *loop) {
  struct art__observer *o = loop->observer_;
  if (o == NULL || o->depth == 0)
    return; /* closed by the callback, or made by it: note 5 */
  if (o->depth-- > MAX_DEPTH)
    return;
  const frame_t *f = &o->frames[o->depth];
  uint64_t took = f->start_ns != 0 ? art_hrtime() - f->start_ns : 0;
  unsigned obs = loop->observe_;
  void *ctx = loop->context_;
  loop->context_ = f->saved_context;
  o->current_id = f->saved_id;
  if ((obs & ART__OBS_HOOKS) && f->id != 0) { /* note 6 */
    if (o->hooks.after != NULL)
      o->hooks.after(o->hooks_arg, f->id);
    if (f->kind != ART_RESOURCE_HANDLE && o->hooks.destroy != NULL)
      o->hooks.destroy(o->hooks_arg, f->id);
  }
  if ((obs & ART__OBS_HIST) && f->start_ns != 0)
    art_histogram_record(o->cb_hist, took);
  if ((obs & ART__OBS_SLOW) && f->start_ns != 0 && took > o->slow_ns)
    report_slow(loop, f, took, ctx);
}
