/* The event-loop delay monitor (art_loop_monitor_delay), as Node's
 * monitorEventLoopDelay: a timer that records how late it runs.
 *
 * Notes:
 * 1. The timer is internal (art_walk and art_loop_close do not see it) and
 *    unreferenced, so a monitored loop ends when its own work ends. Its
 *    state is the monitor's extension on the loop, made on the first
 *    start; the loop-close hook frees it.
 * 2. Each run records (now - deadline), now from the loop's clock, then
 *    starts the timer again, one-shot, resolution after now: a repeat would
 *    count a late run's backlog as well, and Node re-arms the same way.
 * 3. It lives in a file of its own in the core: it calls the timers and
 *    the extension registry, and nothing of the core calls it. */
#include "internal.h"

typedef struct {
  art_timer_t timer;  /* internal, unreferenced */
  art_histogram_t *h; /* the program's */
  uint64_t resolution_ns;
} monitor_t;

static void monitor_loop_close(art_loop_t *loop, void *state);

static const art__ext_t monitor_ext = {"delay_monitor", monitor_loop_close,
                                       NULL};

static void monitor_cb(art_timer_t *t) {
  monitor_t *m = art__container_of(t, monitor_t, timer);
  uint64_t now = art__loop_clock_ns(t->loop);
  art_histogram_record(m->h, now > t->due_ ? now - t->due_ : 0);
  art_timer_start_ns(t, monitor_cb, m->resolution_ns, 0);
}

/* The loop closes: no close phase will run, so the timer leaves the heap
 * and the loop's list of handles here, before its memory goes. */
static void monitor_loop_close(art_loop_t *loop, void *state) {
  monitor_t *m = state;
  (void)loop;
  art_timer_stop(&m->timer);
  art__queue_remove(&m->timer.handle_node_);
  art__free(m);
}

static void monitor_free_cb(art_handle_t *h) {
  art__free(art__container_of((art_timer_t *)h, monitor_t, timer));
}

static monitor_t *monitor_make(art_loop_t *loop) {
  monitor_t *m = art__calloc(1, sizeof(*m));
  if (m == NULL)
    return NULL;
  if (art_timer_init(loop, &m->timer) != 0) {
    art__free(m);
    return NULL;
  }
  m->timer.flags_ |= ART__H_INTERNAL;
  art_unref((art_handle_t *)&m->timer);
  if (art__ext_set(loop, &monitor_ext, m) == 0)
    return m;
  /* The timer holds a slot of the loop's: give it back the ordinary way. */
  art_close((art_handle_t *)&m->timer, monitor_free_cb);
  return NULL;
}

int art_loop_monitor_delay(art_loop_t *loop, uint64_t resolution_ms,
                           art_histogram_t *h) {
  if (!art__loop_usable(loop) || h == NULL || resolution_ms == 0 ||
      resolution_ms > UINT64_MAX / 1000000u)
    return ART_EINVAL;
  monitor_t *m = art__ext_get(loop, &monitor_ext);
  if (m == NULL && (m = monitor_make(loop)) == NULL)
    return ART_ENOMEM;
  m->h = h;
  m->resolution_ns = resolution_ms * 1000000u;
  return art_timer_start_ns(&m->timer, monitor_cb, m->resolution_ns, 0);
}

int art_loop_monitor_delay_stop(art_loop_t *loop) {
  if (loop == NULL)
    return ART_EINVAL;
  monitor_t *m = loop->backend_ ? art__ext_get(loop, &monitor_ext) : NULL;
  return m == NULL ? 0 : art_timer_stop(&m->timer);
}

art_histogram_t *art__loop_delay_histogram(const art_loop_t *loop) {
  monitor_t *m = art__ext_get(loop, &monitor_ext);
  return m != NULL && art_is_active((art_handle_t *)&m->timer) ? m->h : NULL;
}
