/* Loop metrics: the counters every loop keeps, event-loop utilisation, and
 * the opt-in per-phase clock.
 *
 * Per-phase time costs a clock read at every phase boundary, so it is off
 * unless ART_LOOP_MEASURE_PHASES turns it on; the default loop pays one
 * predictable branch per phase. One read per boundary serves as the end of
 * one phase and the start of the next. Microtask drains run inside phases;
 * their time is carved out of the enclosing phase and reported on its own,
 * so the phase figures add up to the iteration's time without counting
 * anything twice. */
#include "internal.h"

int art_loop_metrics(const art_loop_t *loop, art_loop_metrics_t *m) {
  if (loop == NULL || m == NULL)
    return ART_EINVAL;
  *m = loop->metrics_;
  m->sample_ns = art_hrtime();
  return 0;
}

int art_loop_utilization(const art_loop_metrics_t *prev,
                         const art_loop_metrics_t *cur, double *out) {
  if (cur == NULL || out == NULL)
    return ART_EINVAL;
  uint64_t start = prev ? prev->sample_ns : cur->loop_start_ns;
  uint64_t idle0 = prev ? prev->idle_time_ns : 0;
  if (cur->sample_ns <= start || cur->idle_time_ns < idle0)
    return ART_EINVAL;
  double wall = (double)(cur->sample_ns - start);
  double idle = (double)(cur->idle_time_ns - idle0);
  double u = 1.0 - idle / wall;
  *out = u < 0 ? 0 : u > 1 ? 1 : u;
  return 0;
}

void art__phase_begin(art_loop_t *loop) {
  loop->phase_mark_ns_ = art_hrtime();
  loop->drain_ns_ = 0;
}

void art__phase_charge(art_loop_t *loop, int phase) {
  uint64_t now = art_hrtime();
  uint64_t spent = now - loop->phase_mark_ns_;
  spent = spent > loop->drain_ns_ ? spent - loop->drain_ns_ : 0;
  loop->metrics_.phase_time_ns[phase] += spent;
  loop->phase_mark_ns_ = now;
  loop->drain_ns_ = 0;
}

void art__phase_drain_time(art_loop_t *loop, uint64_t ns) {
  loop->metrics_.phase_time_ns[ART_PHASE_MICROTASKS] += ns;
  loop->drain_ns_ += ns;
}
