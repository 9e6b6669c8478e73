/* Log-linear histograms (include/asyncrt/histogram.h has the layout).
 *
 * Notes:
 * 1. Recording is inline in the header: an increment of the count, the sum
 *    and one bucket, and two selects for min and max. The bucket index
 *    comes from the position of the value's top bit (one clz) and its next
 *    ART_HISTOGRAM_SUB_BITS bits, with no branch and no table.
 * 2. Everything costly is on the reading side, which walks the buckets:
 *    percentiles, the standard deviation, merge and iteration are
 *    O(ART_HISTOGRAM_BUCKETS), a few hundred ns.
 * 3. The standard deviation comes from the buckets' midpoints rather than
 *    from a running sum of squares: recording stays integer-only, a merge
 *    stays exact, and the error is that of the buckets.
 * 4. Base layer: no loop, no allocation, no lock, and no libm (the library
 *    links nothing but the threads library): the one square root is
 *    Newton's. */
#include <string.h>

#include "base.h"

_Static_assert(ART_HISTOGRAM_BUCKETS == (42 - ART_HISTOGRAM_SUB_BITS + 1)
                                            << ART_HISTOGRAM_SUB_BITS,
               "one bucket per value below 32, 16 per power of two up to 2^42");

void art_histogram_init(art_histogram_t *h) {
  if (h == NULL)
    return;
  memset(h, 0, sizeof(*h));
  h->min_ = UINT64_MAX;
}

void art_histogram_reset(art_histogram_t *h) {
  art_histogram_init(h);
}

/* The lowest value of bucket i, and its width (1 << shift). */
static uint64_t bucket_low(unsigned i, unsigned *shift) {
  const unsigned sub = ART_HISTOGRAM_SUB_BITS;
  unsigned g = i >> sub; /* 0 and 1: the exact buckets */
  unsigned s = g > 0 ? g - 1 : 0;
  *shift = s;
  return (uint64_t)(i - (s << sub)) << s;
}

static uint64_t bucket_mid(unsigned i) {
  unsigned shift;
  uint64_t low = bucket_low(i, &shift);
  return low + ((UINT64_C(1) << shift) >> 1);
}

void art_histogram_merge(art_histogram_t *into, const art_histogram_t *from) {
  if (into == NULL || from == NULL || from->count_ == 0)
    return;
  into->count_ += from->count_;
  into->sum_ += from->sum_;
  into->min_ = from->min_ < into->min_ ? from->min_ : into->min_;
  into->max_ = from->max_ > into->max_ ? from->max_ : into->max_;
  for (unsigned i = 0; i < ART_HISTOGRAM_BUCKETS; i++)
    into->buckets_[i] += from->buckets_[i];
}

uint64_t art_histogram_count(const art_histogram_t *h) {
  return h == NULL ? 0 : h->count_;
}

uint64_t art_histogram_min(const art_histogram_t *h) {
  return h == NULL || h->count_ == 0 ? 0 : h->min_;
}

uint64_t art_histogram_max(const art_histogram_t *h) {
  return h == NULL || h->count_ == 0 ? 0 : h->max_;
}

double art_histogram_mean(const art_histogram_t *h) {
  if (h == NULL || h->count_ == 0)
    return 0;
  return (double)h->sum_ / (double)h->count_;
}

/* A bucket's midpoint kept within [min, max]: the top bucket holds values
 * above its range, and the end buckets' midpoints may lie past the values
 * really seen. */
static uint64_t clamped_mid(const art_histogram_t *h, unsigned i) {
  uint64_t v = bucket_mid(i);
  v = v < h->min_ ? h->min_ : v;
  return v > h->max_ ? h->max_ : v;
}

/* The square root of x >= 0 by Newton's method: from a start above the
 * root the steps fall monotonically, so the first step that does not fall
 * ends it. */
static double root(double x) {
  if (!(x > 0))
    return 0;
  double r = x > 1 ? x : 1;
  for (int i = 0; i < 2100; i++) {
    double next = 0.5 * (r + x / r);
    if (next >= r)
      break;
    r = next;
  }
  return r;
}

double art_histogram_stddev(const art_histogram_t *h) {
  if (h == NULL || h->count_ == 0)
    return 0;
  double mean = art_histogram_mean(h), acc = 0;
  for (unsigned i = 0; i < ART_HISTOGRAM_BUCKETS; i++)
    if (h->buckets_[i] != 0) {
      double d = (double)clamped_mid(h, i) - mean;
      acc += d * d * (double)h->buckets_[i];
    }
  return root(acc / (double)h->count_);
}

uint64_t art_histogram_percentile(const art_histogram_t *h, double p) {
  if (h == NULL || h->count_ == 0)
    return 0;
  p = p > 0 ? p : 0; /* also turns NaN into 0 */
  p = p < 100 ? p : 100;
  double exact = p / 100.0 * (double)h->count_;
  uint64_t rank = (uint64_t)exact;
  rank += (double)rank < exact; /* ceil */
  rank = rank < 1 ? 1 : rank > h->count_ ? h->count_ : rank;
  if (rank == 1)
    return h->min_;
  if (rank == h->count_)
    return h->max_;
  uint64_t seen = 0;
  for (unsigned i = 0; i < ART_HISTOGRAM_BUCKETS; i++) {
    seen += h->buckets_[i];
    if (seen >= rank)
      return clamped_mid(h, i);
  }
  return h->max_; /* not reached: the buckets add up to the count */
}

int art_histogram_next(const art_histogram_t *h, unsigned *iter,
                       art_histogram_bucket_t *b) {
  if (h == NULL || iter == NULL || b == NULL)
    return 0;
  for (unsigned i = *iter; i < ART_HISTOGRAM_BUCKETS; i++) {
    if (h->buckets_[i] == 0)
      continue;
    unsigned shift;
    b->low = bucket_low(i, &shift);
    b->high = i + 1 == ART_HISTOGRAM_BUCKETS
                  ? ART_HISTOGRAM_MAX
                  : b->low + (UINT64_C(1) << shift) - 1;
    b->count = h->buckets_[i];
    *iter = i + 1;
    return 1;
  }
  *iter = ART_HISTOGRAM_BUCKETS;
  return 0;
}
