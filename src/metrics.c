/* Loop metrics: the counters every loop keeps, event-loop utilisation, and
 * the opt-in per-phase clock.
 *
 * Per-phase time costs a clock read at every phase boundary, so it is off
 * unless ART_LOOP_MEASURE_PHASES turns it on; the default loop pays one
 * predictable branch per phase. One read per boundary serves as the end of
 * one phase and the start of the next. Microtask drains run inside phases;
 * their time is carved out of the enclosing phase and reported on its own,
 * so the phase figures add up to the iteration's time without counting
 * anything twice. Each phase's time per iteration also goes into a
 * histogram of its own (art_loop_phase_histogram), made the first time
 * measuring is turned on: the clock is read anyway, and a record costs a
 * few ns more. */
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

/* The phase histograms, made on first use and kept until the loop closes
 * (turning measuring off keeps what they recorded). */
int art__metrics_make_phase_hists(art_loop_t *loop) {
  if (loop->phase_hists_ != NULL)
    return 0;
  art_histogram_t *h = art__malloc(ART_PHASE_NONE * sizeof(*h));
  if (h == NULL)
    return ART_ENOMEM;
  for (int i = 0; i < ART_PHASE_NONE; i++)
    art_histogram_init(&h[i]);
  loop->phase_hists_ = h;
  return 0;
}

void art__metrics_free(art_loop_t *loop) {
  art__free(loop->phase_hists_);
  loop->phase_hists_ = NULL;
}

art_histogram_t *art_loop_phase_histogram(const art_loop_t *loop,
                                          art_phase phase) {
  if (loop == NULL || loop->phase_hists_ == NULL ||
      (unsigned)phase >= ART_PHASE_NONE)
    return NULL;
  return &loop->phase_hists_[phase];
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
  art_histogram_record(&loop->phase_hists_[phase], spent);
  loop->phase_mark_ns_ = now;
  loop->drain_ns_ = 0;
}

void art__phase_drain_time(art_loop_t *loop, uint64_t ns) {
  loop->metrics_.phase_time_ns[ART_PHASE_MICROTASKS] += ns;
  art_histogram_record(&loop->phase_hists_[ART_PHASE_MICROTASKS], ns);
  loop->drain_ns_ += ns;
}
