/* Helpers shared by the benchmarks: timing, medians, the report line, the
 * A/B rounds driver, and a loopback TCP listener on either library.
 * Method (see docs/performance.md): alternate libasyncrt and libuv runs,
 * A B A B, and report both medians and their ratio. */
#ifndef ART_BENCH_COMMON_H
#define ART_BENCH_COMMON_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "asyncrt.h"
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

/* Seconds since an arbitrary origin, monotonic. */
double bench_now(void);

/* CPU time of the calling thread, in seconds: unlike the wall clock, it does
 * not count the time other processes on a shared machine took the CPU away. */
double bench_cpu_now(void);

/* The median of n values (the array is sorted in place). */
double bench_median(double *v, size_t n);

/* The most rounds a benchmark keeps figures for. */
#define BENCH_MAX_ROUNDS 64

/* Number of A/B rounds: BENCH_ROUNDS from the environment, default 3, at
 * most BENCH_MAX_ROUNDS. */
int bench_rounds(void);

/* Prints "name: asyncrt X unit, libuv Y unit, ratio R" (higher is better for
 * rates); libuv < 0 means it was not measured. */
void bench_report(const char *name, const char *unit, double art, double uv);

/* Which libraries a run measures, from argv[1]: "art", "uv" or, by default,
 * both; libuv only when it is built in. */
void bench_which(int argc, char **argv, int *art, int *uv);

/* The most workloads bench_alternate compares. */
#define BENCH_MAX_RUNS 4

/* One workload run: returns its rate per wall-clock second and leaves its
 * rate per CPU second in the variable given to bench_alternate. */
typedef double (*bench_run_fn)(void);

/* A run function that exists only when libuv is built in, else NULL. */
#ifdef ART_HAVE_LIBUV
#define BENCH_UV(fn) (fn)
#else
#define BENCH_UV(fn) NULL
#endif

/* One workload's medians over the rounds. */
typedef struct {
  double rate; /* per wall-clock second; -1 when not measured */
  double cpu;  /* per CPU second; -1 when not measured */
} bench_medians_t;

/* Runs the n workloads one after the other in each of bench_rounds() rounds
 * so that they alternate A B A B, reading
 * *cpu_rate after each run (cpu_rate NULL: the cpu medians are -1), and
 * stores workload i's medians in med[i]. A NULL run is not measured (its
 * medians are -1: "not installed"). */
void bench_alternate(const bench_run_fn *run, int n, const double *cpu_rate,
                     bench_medians_t *med);

/* The single-run mode: runs the workload called which (names[i] names
 * run[i]) once and returns its rate; 0 for an unknown name or a NULL run. */
double bench_run_named(const char *which, const char *const *names,
                       const bench_run_fn *run, int n);

/* Makes server a TCP listener in loop on 127.0.0.1, port chosen by the
 * kernel; *addr receives the address to connect to. */
void bench_art_listen(art_loop_t *loop, art_tcp_t *server, int backlog,
                      art_connection_cb cb, struct sockaddr_in *addr);

#ifdef ART_HAVE_LIBUV
/* The same listener on libuv. */
void bench_uv_listen(uv_loop_t *loop, uv_tcp_t *server, int backlog,
                     uv_connection_cb cb, struct sockaddr_in *addr);
#endif

#endif
