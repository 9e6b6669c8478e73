#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bench_median(double *v, size_t n) {
  qsort(v, n, sizeof(*v), cmp);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int bench_rounds(void) {
  const char *s = getenv("BENCH_ROUNDS");
  int n = s ? atoi(s) : 3;
  return n > 0 ? n : 3;
}

void bench_report(const char *name, const char *unit, double art, double uv) {
  if (uv > 0)
    printf("%-40s asyncrt %12.1f %s   libuv %12.1f %s   ratio %.2fx\n", name,
           art, unit, uv, unit, art / uv);
  else
    printf("%-40s asyncrt %12.1f %s   (libuv not installed)\n", name, art,
           unit);
  fflush(stdout);
}
