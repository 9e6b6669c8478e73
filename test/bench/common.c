#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

double bench_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double bench_cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
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
  if (n > BENCH_MAX_ROUNDS)
    return BENCH_MAX_ROUNDS;
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

void bench_which(int argc, char **argv, int *art, int *uv) {
  const char *which = argc > 1 ? argv[1] : "both";
  *art = strcmp(which, "uv") != 0;
  *uv = strcmp(which, "art") != 0;
#ifndef ART_HAVE_LIBUV
  *uv = 0;
#endif
}

/* Rounds are the outer loop so that the workloads alternate: a slow phase of
 * the shared machine then weighs on all of them alike. */
void bench_alternate(const bench_run_fn *run, int n, const double *cpu_rate,
                     bench_medians_t *med) {
  static double rate[BENCH_MAX_RUNS][BENCH_MAX_ROUNDS];
  static double cpu[BENCH_MAX_RUNS][BENCH_MAX_ROUNDS];
  int rounds = bench_rounds();
  if (n > BENCH_MAX_RUNS)
    n = BENCH_MAX_RUNS;
  for (int r = 0; r < rounds; r++)
    for (int i = 0; i < n; i++) {
      rate[i][r] = run[i] ? run[i]() : -1;
      cpu[i][r] = run[i] && cpu_rate ? *cpu_rate : -1;
    }
  for (int i = 0; i < n; i++) {
    med[i].rate = bench_median(rate[i], (size_t)rounds);
    med[i].cpu = bench_median(cpu[i], (size_t)rounds);
  }
}

double bench_run_named(const char *which, const char *const *names,
                       const bench_run_fn *run, int n) {
  for (int i = 0; i < n; i++)
    if (strcmp(which, names[i]) == 0)
      return run[i] ? run[i]() : 0;
  return 0;
}

void bench_art_listen(art_loop_t *loop, art_tcp_t *server, int backlog,
                      art_connection_cb cb, struct sockaddr_in *addr) {
  int len = sizeof(*addr);
  art_ip4_addr("127.0.0.1", 0, addr);
  art_tcp_init(loop, server);
  art_tcp_bind(server, (struct sockaddr *)addr, 0);
  art_listen((art_stream_t *)server, backlog, cb);
  art_tcp_getsockname(server, (struct sockaddr *)addr, &len);
}

#ifdef ART_HAVE_LIBUV
void bench_uv_listen(uv_loop_t *loop, uv_tcp_t *server, int backlog,
                     uv_connection_cb cb, struct sockaddr_in *addr) {
  int len = sizeof(*addr);
  uv_ip4_addr("127.0.0.1", 0, addr);
  uv_tcp_init(loop, server);
  uv_tcp_bind(server, (struct sockaddr *)addr, 0);
  uv_listen((uv_stream_t *)server, backlog, cb);
  uv_tcp_getsockname(server, (struct sockaddr *)addr, &len);
}
#endif
