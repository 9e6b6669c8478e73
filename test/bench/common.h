/* Helpers shared by the benchmarks: timing, medians, and the report line.
 * Method (see docs/performance.md): alternate libasyncrt and libuv runs,
 * A B A B, and report both medians and their ratio. */
#ifndef ART_BENCH_COMMON_H
#define ART_BENCH_COMMON_H

#include <stddef.h>
#include <stdint.h>

/* Seconds since an arbitrary origin, monotonic. */
double bench_now(void);

/* The median of n values (the array is sorted in place). */
double bench_median(double *v, size_t n);

/* Number of A/B rounds: BENCH_ROUNDS from the environment, default 3. */
int bench_rounds(void);

/* Prints "name: asyncrt X unit, libuv Y unit, ratio R" (higher is better for
 * rates); libuv < 0 means it was not measured. */
void bench_report(const char *name, const char *unit, double art, double uv);

#endif
