/* art_histogram_t: percentiles against the exact order statistics of sorted
 * samples (uniform, exponential, constant), within the bucket error the
 * header promises; merge, reset, min/max, clamping, iteration. The loop,
 * pool and file-system histograms are tested in test_loop_histograms.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/harness.h"

#define N 20000

/* A small deterministic generator (xorshift64*), so failures repeat. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717ull;
}

static double unit(void) {
  return (double)(rng() >> 11) / 9007199254740992.0; /* [0, 1) */
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* The exact value of rank ceil(p/100 * n) of the sorted samples. */
static uint64_t exact_percentile(const uint64_t *sorted, size_t n, double p) {
  size_t rank = (size_t)ceil(p / 100.0 * (double)n);
  rank = rank < 1 ? 1 : rank > n ? n : rank;
  return sorted[rank - 1];
}

/* The header's promise: the reported value is within 1/32 of the exact
 * one (exactly equal below 32). */
static void assert_close(uint64_t got, uint64_t want) {
  uint64_t diff = got > want ? got - want : want - got;
  if (diff * 32 > want) {
    print_error("got %llu, want %llu\n", (unsigned long long)got,
                (unsigned long long)want);
    fail();
  }
}

static void check_against_sorted(art_histogram_t *h, uint64_t *v, size_t n) {
  static const double ps[] = {0,  0.1, 1,  10,   25,    50, 75,
                              90, 95,  99, 99.9, 99.99, 100};
  qsort(v, n, sizeof(*v), cmp_u64);
  assert_int_equal(art_histogram_count(h), n);
  assert_int_equal(art_histogram_min(h), v[0]);
  assert_int_equal(art_histogram_max(h), v[n - 1]);
  double sum = 0, sq = 0;
  for (size_t i = 0; i < n; i++)
    sum += (double)v[i];
  double mean = sum / (double)n;
  for (size_t i = 0; i < n; i++)
    sq += ((double)v[i] - mean) * ((double)v[i] - mean);
  assert_true(fabs(art_histogram_mean(h) - mean) <= 1e-6 * mean + 1e-9);
  /* Each value moves by at most 1/32 of itself: so does the spread. */
  double sd = sqrt(sq / (double)n);
  assert_true(fabs(art_histogram_stddev(h) - sd) <= mean / 32 + sd / 32 + 1);
  for (size_t i = 0; i < sizeof(ps) / sizeof(ps[0]); i++)
    assert_close(art_histogram_percentile(h, ps[i]),
                 exact_percentile(v, n, ps[i]));
  assert_int_equal(art_histogram_percentile(h, 0), v[0]);
  assert_int_equal(art_histogram_percentile(h, 100), v[n - 1]);
}

static uint64_t samples[N];

ART_TEST(percentiles_of_uniform_values) {
  art_histogram_t h;
  art_histogram_init(&h);
  for (size_t i = 0; i < N; i++) {
    samples[i] = rng() % 50000000; /* 0 .. 50 ms in ns */
    art_histogram_record(&h, samples[i]);
  }
  check_against_sorted(&h, samples, N);
}

ART_TEST(percentiles_of_exponential_values) {
  art_histogram_t h;
  art_histogram_init(&h);
  for (size_t i = 0; i < N; i++) {
    samples[i] = (uint64_t)(-log(1.0 - unit()) * 200000.0); /* mean 200 us */
    art_histogram_record(&h, samples[i]);
  }
  check_against_sorted(&h, samples, N);
}

ART_TEST(percentiles_of_values_spanning_decades) {
  art_histogram_t h;
  art_histogram_init(&h);
  for (size_t i = 0; i < N; i++) {
    samples[i] = (uint64_t)pow(10.0, unit() * 12.0); /* 1 ns .. 1000 s */
    art_histogram_record(&h, samples[i]);
  }
  check_against_sorted(&h, samples, N);
}

ART_TEST(a_constant_is_reported_exactly) {
  art_histogram_t h;
  art_histogram_init(&h);
  for (size_t i = 0; i < 1000; i++) {
    samples[i] = 1234567;
    art_histogram_record(&h, samples[i]);
  }
  check_against_sorted(&h, samples, 1000);
  assert_int_equal(art_histogram_percentile(&h, 50), 1234567);
  assert_true(art_histogram_stddev(&h) == 0);
  assert_true(art_histogram_mean(&h) == 1234567.0);
}

/* Below 32 every value has a bucket of its own. */
ART_TEST(small_values_are_exact) {
  art_histogram_t h;
  art_histogram_init(&h);
  for (uint64_t v = 0; v < 32; v++)
    art_histogram_record(&h, v);
  for (uint64_t v = 0; v < 32; v++)
    assert_int_equal(art_histogram_percentile(&h, (double)(v + 1) * 100 / 32),
                     v);
}

ART_TEST(empty_histogram_reads_as_zero) {
  art_histogram_t h;
  art_histogram_init(&h);
  unsigned it = 0;
  art_histogram_bucket_t b;
  assert_int_equal(art_histogram_count(&h), 0);
  assert_int_equal(art_histogram_min(&h), 0);
  assert_int_equal(art_histogram_max(&h), 0);
  assert_true(art_histogram_mean(&h) == 0);
  assert_true(art_histogram_stddev(&h) == 0);
  assert_int_equal(art_histogram_percentile(&h, 50), 0);
  assert_int_equal(art_histogram_next(&h, &it, &b), 0);
}

/* 0 and UINT64_MAX: min and max keep them, the buckets clamp the top one to
 * the top bucket, and a percentile inside that bucket stays within
 * [min, max]. */
ART_TEST(extreme_values_clamp_to_the_top_bucket) {
  art_histogram_t h;
  art_histogram_init(&h);
  art_histogram_record(&h, 0);
  art_histogram_record(&h, UINT64_MAX);
  art_histogram_record(&h, ART_HISTOGRAM_MAX);
  assert_int_equal(art_histogram_min(&h), 0);
  assert_int_equal(art_histogram_max(&h), UINT64_MAX);
  assert_int_equal(art_histogram_index(UINT64_MAX), ART_HISTOGRAM_BUCKETS - 1);
  assert_int_equal(art_histogram_index(ART_HISTOGRAM_MAX),
                   ART_HISTOGRAM_BUCKETS - 1);
  assert_int_equal(art_histogram_percentile(&h, 0), 0);
  assert_int_equal(art_histogram_percentile(&h, 100), UINT64_MAX);
  uint64_t mid = art_histogram_percentile(&h, 50);
  assert_true(mid >= ART_HISTOGRAM_MAX - ART_HISTOGRAM_MAX / 16);
  unsigned it = 0, n = 0;
  art_histogram_bucket_t b;
  while (art_histogram_next(&h, &it, &b)) {
    n++;
    if (b.low > 0) {
      assert_int_equal(b.high, ART_HISTOGRAM_MAX);
      assert_int_equal(b.count, 2);
    }
  }
  assert_int_equal(n, 2);
}

/* Every bucket's range starts where the previous one ended, the widths
 * keep the promised 1/16, and each value's bucket holds it. */
ART_TEST(buckets_tile_the_range) {
  art_histogram_t h;
  art_histogram_init(&h);
  for (unsigned i = 0; i < ART_HISTOGRAM_BUCKETS; i++)
    h.buckets_[i] = 1; /* a private field, to walk every bucket */
  h.count_ = ART_HISTOGRAM_BUCKETS;
  unsigned it = 0;
  uint64_t next_low = 0;
  art_histogram_bucket_t b;
  while (art_histogram_next(&h, &it, &b)) {
    assert_int_equal(b.low, next_low);
    assert_true(b.high >= b.low);
    assert_true(b.low < 32 ? b.high == b.low
                           : (b.high - b.low + 1) * 16 <= b.low);
    assert_int_equal(art_histogram_index(b.low), it - 1);
    assert_int_equal(art_histogram_index(b.high), it - 1);
    next_low = b.high + 1;
  }
  assert_int_equal(it, ART_HISTOGRAM_BUCKETS);
  assert_int_equal(next_low, ART_HISTOGRAM_MAX + 1);
}

ART_TEST(iteration_covers_the_count) {
  art_histogram_t h;
  art_histogram_init(&h);
  for (size_t i = 0; i < N; i++)
    art_histogram_record(&h, rng() % 10000000);
  unsigned it = 0;
  uint64_t total = 0, prev_high = 0;
  int first = 1;
  art_histogram_bucket_t b;
  while (art_histogram_next(&h, &it, &b)) {
    assert_true(b.count > 0);
    assert_true(first || b.low > prev_high);
    first = 0;
    prev_high = b.high;
    total += b.count;
  }
  assert_int_equal(total, N);
}

/* Merging two histograms is recording both sets into one. */
ART_TEST(merge_equals_recording_both) {
  static art_histogram_t a, b, both;
  art_histogram_init(&a);
  art_histogram_init(&b);
  art_histogram_init(&both);
  for (size_t i = 0; i < N; i++) {
    uint64_t v = rng() % 1000000000;
    art_histogram_record(i % 3 ? &a : &b, v);
    art_histogram_record(&both, v);
  }
  art_histogram_merge(&a, &b);
  assert_memory_equal(&a, &both, sizeof(a));
  art_histogram_t empty;
  art_histogram_init(&empty);
  art_histogram_merge(&a, &empty); /* an empty one changes nothing */
  assert_memory_equal(&a, &both, sizeof(a));
  art_histogram_merge(&empty, &both); /* into an empty one: a copy */
  assert_memory_equal(&empty, &both, sizeof(a));
}

ART_TEST(reset_empties) {
  art_histogram_t h, fresh;
  art_histogram_init(&h);
  art_histogram_init(&fresh);
  for (size_t i = 0; i < 100; i++)
    art_histogram_record(&h, i * 1000);
  art_histogram_reset(&h);
  assert_memory_equal(&h, &fresh, sizeof(h));
  assert_int_equal(art_histogram_count(&h), 0);
  art_histogram_record(&h, 7);
  assert_int_equal(art_histogram_min(&h), 7);
  assert_int_equal(art_histogram_max(&h), 7);
}

ART_TEST(null_arguments_are_harmless) {
  art_histogram_t h;
  art_histogram_bucket_t b;
  unsigned it = 0;
  art_histogram_init(NULL);
  art_histogram_init(&h);
  art_histogram_merge(NULL, &h);
  art_histogram_merge(&h, NULL);
  assert_int_equal(art_histogram_count(NULL), 0);
  assert_int_equal(art_histogram_percentile(NULL, 50), 0);
  assert_int_equal(art_histogram_next(NULL, &it, &b), 0);
  assert_int_equal(art_histogram_next(&h, NULL, &b), 0);
  art_histogram_record(&h, 5);
  assert_int_equal(art_histogram_percentile(&h, -5), 5);
  assert_int_equal(art_histogram_percentile(&h, 500), 5);
  assert_int_equal(art_histogram_percentile(&h, NAN), 5);
}
