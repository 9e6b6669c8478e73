/* Histograms of durations: art_histogram_t, and the loop's, the pool's and
 * the file system's histograms built on it (docs/histograms.md).
 * Included by asyncrt.h; include that, not this. */
/* Thread safety. A histogram has no lock and no atomics: one thread
 * records into it, and the same thread reads it (or the program orders
 * reads after writes itself, as it would for any plain struct). The
 * library's own histograms say who records them: a loop's on the loop's
 * thread (read them there), a pool's under the pool's lock
 * (art_pool_histograms copies them under it, from any thread). To record
 * from several threads, give each thread a histogram and art_histogram_merge
 * them when reading: merging costs one pass over the buckets, recording
 * stays a few ns with no contended cache line. */
#ifndef ASYNCRT_HISTOGRAM_H
#define ASYNCRT_HISTOGRAM_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Layout of the buckets (log-linear, as HdrHistogram's). Values below
 * 2^(ART_HISTOGRAM_SUB_BITS + 1) = 32 each have a bucket of their own.
 * Above that, every power of two [2^k, 2^(k+1)) is cut into
 * 2^ART_HISTOGRAM_SUB_BITS = 16 buckets of equal width 2^(k-4): a bucket
 * is at most 1/16 (6.25 %) of the values it holds wide, and its midpoint,
 * which art_histogram_percentile reports, is within 1/32 (3.125 %) of any
 * of them. Values above ART_HISTOGRAM_MAX (2^42 - 1 ns, about 73 minutes)
 * are counted in the top bucket; min, max and mean keep their real value. */
#define ART_HISTOGRAM_SUB_BITS 4
#define ART_HISTOGRAM_MAX      ((UINT64_C(1) << 42) - 1)
/* (42 - ART_HISTOGRAM_SUB_BITS + 1) << ART_HISTOGRAM_SUB_BITS, written out
 * (src/histogram.c checks it). */
#define ART_HISTOGRAM_BUCKETS 624

/* A histogram of unsigned 64-bit values (the library records ns). Caller
 * allocated, 5 KB, all inside the struct: nothing is ever allocated.
 * Every field is private; use the functions below. */
typedef struct art_histogram_s {
  uint64_t count_; /* values recorded */
  uint64_t sum_;   /* their sum (wraps after 584 years of ns) */
  uint64_t min_;   /* smallest value, UINT64_MAX while empty */
  uint64_t max_;   /* largest value, 0 while empty */
  uint64_t buckets_[ART_HISTOGRAM_BUCKETS]; /* count per bucket */
} art_histogram_t;

/* One non-empty bucket, from art_histogram_next: count values v with
 * low <= v <= high (high is ART_HISTOGRAM_MAX for the top bucket, which also
 * holds the values above it). */
typedef struct {
  uint64_t low;
  uint64_t high;
  uint64_t count;
} art_histogram_bucket_t;

/* Empties h (init and reset are the same). Nothing can fail. */
ART_EXTERN void art_histogram_init(art_histogram_t *h);
ART_EXTERN void art_histogram_reset(art_histogram_t *h);

/* The bucket of v: 0 .. ART_HISTOGRAM_BUCKETS - 1, with no branch (v above
 * ART_HISTOGRAM_MAX gives the top bucket). Inline so that recording is a
 * few instructions. */
static inline unsigned art_histogram_index(uint64_t v) {
  const unsigned sub = ART_HISTOGRAM_SUB_BITS;
  v = v > ART_HISTOGRAM_MAX ? ART_HISTOGRAM_MAX : v;
  /* e: position of v's top bit, at least sub; v >> (e - sub) keeps its
   * sub + 1 top bits, 2^sub .. 2^(sub+1) - 1 (v itself when e == sub). */
  unsigned e = 63u - (unsigned)__builtin_clzll(v | (UINT64_C(1) << sub));
  return ((e - sub) << sub) + (unsigned)(v >> (e - sub));
}

/* Counts v. O(1), no branch but the min/max selects: a few ns. */
static inline void art_histogram_record(art_histogram_t *h, uint64_t v) {
  h->count_++;
  h->sum_ += v;
  h->min_ = v < h->min_ ? v : h->min_;
  h->max_ = v > h->max_ ? v : h->max_;
  h->buckets_[art_histogram_index(v)]++;
}

/* Adds every value counted in from to into. */
ART_EXTERN void art_histogram_merge(art_histogram_t *into,
                                    const art_histogram_t *from);

/* Values recorded; min and max exact (0 while empty); mean exact (the sum
 * over the count; 0 while empty); stddev from the buckets' midpoints, so
 * within the bucket error (0 while empty). */
ART_EXTERN uint64_t art_histogram_count(const art_histogram_t *h);
ART_EXTERN uint64_t art_histogram_min(const art_histogram_t *h);
ART_EXTERN uint64_t art_histogram_max(const art_histogram_t *h);
ART_EXTERN double art_histogram_mean(const art_histogram_t *h);
ART_EXTERN double art_histogram_stddev(const art_histogram_t *h);

/* The value at percentile p (0-100; clamped to that range): of the values
 * recorded sorted ascending, the one of rank ceil(p/100 * count) (at least
 * 1), reported as its bucket's midpoint kept within [min, max], hence
 * within 1/32 of the exact value. p 0 gives min and p 100 max exactly. 0
 * while empty. */
ART_EXTERN uint64_t art_histogram_percentile(const art_histogram_t *h,
                                             double p);

/* Iterates over the non-empty buckets in ascending order: set *iter to 0,
 * then each call fills *b and returns 1, until it returns 0. For an export
 * in Prometheus' cumulative `_bucket` form, sum the counts as you go. */
ART_EXTERN int art_histogram_next(const art_histogram_t *h, unsigned *iter,
                                  art_histogram_bucket_t *b);

#ifdef __cplusplus
}
#endif

#endif
