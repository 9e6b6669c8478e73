/* Cost of art_histogram_t: recording, and the reads that walk the buckets.
 *
 * 1. record: art_histogram_record of values spread over 1 ns .. 1000 s (a
 *    table of 4096, so that the generator costs nothing), in ns per value
 *    of the thread's CPU time.
 * 2. record-atomic: the same update made of relaxed atomic adds (and CAS
 *    loops for min and max), as a histogram shared by threads would need:
 *    the alternative the pool did not take (it records under the lock it
 *    already holds).
 * 3. shared-2: two threads recording into one such atomic histogram; and
 *    private-2: two threads each recording into its own plain one, merged
 *    at the end (the per-thread design the header recommends).
 * 4. percentile, merge: one read of p99, one merge of two histograms.
 *
 * libuv has no histogram, so this compares designs, not libraries. Rounds:
 * BENCH_ROUNDS (default 3); medians are printed. Usage:
 *   bench_histogram [records per round] */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>

#include "common.h"

#define TABLE 4096

static uint64_t values[TABLE];
static size_t n_records = 50000000;

static void fill_values(void) {
  uint32_t s = 2463534242u;
  for (size_t i = 0; i < TABLE; i++) {
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    unsigned bits = s % 40; /* 1 .. 2^40 ns */
    values[i] = ((uint64_t)s << 20 | s) & ((UINT64_C(1) << bits) - 1);
  }
}

/* The update art_histogram_record makes, with relaxed atomics. */
static void record_atomic(art_histogram_t *h, uint64_t v) {
  __atomic_fetch_add(&h->count_, 1, __ATOMIC_RELAXED);
  __atomic_fetch_add(&h->sum_, v, __ATOMIC_RELAXED);
  uint64_t m = __atomic_load_n(&h->min_, __ATOMIC_RELAXED);
  while (v < m && !__atomic_compare_exchange_n(
                      &h->min_, &m, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
  m = __atomic_load_n(&h->max_, __ATOMIC_RELAXED);
  while (v > m && !__atomic_compare_exchange_n(
                      &h->max_, &m, v, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
    ;
  __atomic_fetch_add(&h->buckets_[art_histogram_index(v)], 1, __ATOMIC_RELAXED);
}

typedef struct {
  art_histogram_t *h;
  int atomic;
  size_t n;
  double ns_per; /* CPU ns per record */
} job_t;

static void *run_job(void *arg) {
  job_t *j = arg;
  double t0 = bench_cpu_now();
  if (j->atomic)
    for (size_t i = 0; i < j->n; i++)
      record_atomic(j->h, values[i & (TABLE - 1)]);
  else
    for (size_t i = 0; i < j->n; i++)
      art_histogram_record(j->h, values[i & (TABLE - 1)]);
  j->ns_per = (bench_cpu_now() - t0) * 1e9 / (double)j->n;
  return NULL;
}

static art_histogram_t hists[3];

/* One thread, or two recording at once: into one shared histogram (atomic)
 * or each into its own (plain), merged afterwards. ns per record, the
 * median of the threads' CPU time. */
static double run_threads(int threads, int atomic) {
  job_t jobs[2];
  pthread_t tid[2];
  for (int i = 0; i < 3; i++)
    art_histogram_init(&hists[i]);
  for (int i = 0; i < threads; i++) {
    jobs[i].h = atomic ? &hists[0] : &hists[i];
    jobs[i].atomic = atomic;
    jobs[i].n = n_records;
    if (pthread_create(&tid[i], NULL, run_job, &jobs[i]) != 0)
      abort();
  }
  double sum = 0;
  for (int i = 0; i < threads; i++) {
    pthread_join(tid[i], NULL);
    sum += jobs[i].ns_per;
  }
  if (!atomic && threads > 1)
    art_histogram_merge(&hists[0], &hists[1]);
  if (art_histogram_count(&hists[0]) != (uint64_t)threads * n_records)
    abort(); /* also keeps the records from being optimised away */
  return sum / threads;
}

/* ns per call of a read that walks the buckets. */
static double run_reads(int merge) {
  enum { CALLS = 20000 };
  volatile uint64_t sink = 0;
  double t0 = bench_cpu_now();
  for (int i = 0; i < CALLS; i++) {
    if (merge)
      art_histogram_merge(&hists[2], &hists[0]);
    else
      sink += art_histogram_percentile(&hists[0], 99);
  }
  (void)sink;
  return (bench_cpu_now() - t0) * 1e9 / CALLS;
}

int main(int argc, char **argv) {
  if (argc > 1)
    n_records = strtoull(argv[1], NULL, 10);
  fill_values();
  int rounds = bench_rounds();
  static const char *const names[] = {"record",          "record-atomic",
                                      "shared-2 atomic", "private-2 + merge",
                                      "percentile p99",  "merge"};
  double fig[6][BENCH_MAX_ROUNDS];
  for (int r = 0; r < rounds; r++) {
    fig[0][r] = run_threads(1, 0);
    fig[1][r] = run_threads(1, 1);
    fig[2][r] = run_threads(2, 1);
    fig[3][r] = run_threads(2, 0);
    fig[4][r] = run_reads(0);
    fig[5][r] = run_reads(1);
  }
  printf("art_histogram_t, %zu records per thread, median of %d rounds "
         "(CPU ns per call):\n",
         n_records, rounds);
  for (int i = 0; i < 6; i++)
    printf("  %-20s %10.2f ns\n", names[i], bench_median(fig[i], rounds));
  return 0;
}
