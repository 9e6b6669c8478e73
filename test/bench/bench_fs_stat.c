/* Asynchronous stat of one file, libasyncrt against libuv in the same run.
 *
 * N stats (default 100,000) of one file, with C requests kept in flight
 * (1 and 32 by default): each completion starts the next stat until N
 * have been issued. Both libraries use their default pool of 4 threads.
 * With one in flight this measures the round trip loop -> worker -> loop
 * (two cross-thread wakeups per stat); with 32 it measures how well
 * completions batch behind one wakeup. Rounds alternate libasyncrt and
 * libuv (BENCH_ROUNDS, default 3); medians are compared. Run pinned
 * (taskset -c 0) and split: see docs/performance.md.
 * Usage: bench_fs_stat [N] [concurrency...]; BENCH_LIB=art|uv runs one
 * library only (to count its syscalls with strace -f -c). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define MAX_INFLIGHT 1024

static long n_stats = 100000;
static char path[64];
static long issued, completed;

/* ---- libasyncrt ---- */

static art_fs_t art_reqs[MAX_INFLIGHT];
static art_loop_t *art_loop;

static void art_stat_cb(art_fs_t *req) {
  if (req->result != 0) {
    fprintf(stderr, "stat: %s\n", art_strerror((int)req->result));
    exit(1);
  }
  completed++;
  art_fs_req_cleanup(req);
  if (issued < n_stats) {
    issued++;
    art_fs_stat(art_loop, req, path, art_stat_cb);
  }
}

static double art_run_stats(int inflight) {
  art_loop_t loop;
  art_loop_init(&loop);
  art_loop = &loop;
  issued = completed = 0;
  double t0 = bench_now();
  for (int i = 0; i < inflight && issued < n_stats; i++) {
    issued++;
    art_fs_stat(&loop, &art_reqs[i], path, art_stat_cb);
  }
  art_run(&loop, ART_RUN_DEFAULT);
  double dt = bench_now() - t0;
  art_loop_close(&loop);
  return completed / dt;
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
static uv_fs_t uv_reqs[MAX_INFLIGHT];
static uv_loop_t *uv_loop;

static void uv_stat_cb(uv_fs_t *req) {
  if (req->result != 0) {
    fprintf(stderr, "uv stat: %s\n", uv_strerror((int)req->result));
    exit(1);
  }
  completed++;
  uv_fs_req_cleanup(req);
  if (issued < n_stats) {
    issued++;
    uv_fs_stat(uv_loop, req, path, uv_stat_cb);
  }
}

static double uv_run_stats(int inflight) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  uv_loop = &loop;
  issued = completed = 0;
  double t0 = bench_now();
  for (int i = 0; i < inflight && issued < n_stats; i++) {
    issued++;
    uv_fs_stat(&loop, &uv_reqs[i], path, uv_stat_cb);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  double dt = bench_now() - t0;
  uv_loop_close(&loop);
  return completed / dt;
}
#endif

/* Alternates the two libraries for one concurrency and reports medians. */
static void compare(int inflight) {
  double art[BENCH_MAX_ROUNDS], uv[BENCH_MAX_ROUNDS];
  int rounds = bench_rounds();
  /* BENCH_LIB=art or uv runs one side only (for strace -c). */
  const char *only = getenv("BENCH_LIB");
  for (int r = 0; r < rounds; r++) {
    art[r] = only && strcmp(only, "art") != 0 ? 1 : art_run_stats(inflight);
    uv[r] = -1;
#ifdef ART_HAVE_LIBUV
    if (!only || strcmp(only, "uv") == 0)
      uv[r] = uv_run_stats(inflight);
#endif
  }
  char name[64];
  snprintf(name, sizeof(name), "fs_stat %ld, %d in flight", n_stats, inflight);
  bench_report(name, "stats/s", bench_median(art, rounds),
               bench_median(uv, rounds));
}

int main(int argc, char **argv) {
  if (argc > 1)
    n_stats = atol(argv[1]);
  snprintf(path, sizeof(path), "/tmp/art-bench-stat-XXXXXX");
  int fd = mkstemp(path);
  if (fd < 0 || n_stats <= 0) {
    perror("bench_fs_stat");
    return 1;
  }
  close(fd);
  /* Warm both pools up so that thread creation is not measured. */
  long saved = n_stats;
  n_stats = 1000;
  const char *only = getenv("BENCH_LIB");
  if (!only || strcmp(only, "art") == 0)
    art_run_stats(4);
#ifdef ART_HAVE_LIBUV
  if (!only || strcmp(only, "uv") == 0)
    uv_run_stats(4);
#endif
  n_stats = saved;
  if (argc > 2) {
    for (int i = 2; i < argc; i++) {
      int c = atoi(argv[i]);
      compare(c < 1 ? 1 : c > MAX_INFLIGHT ? MAX_INFLIGHT : c);
    }
  } else {
    compare(1);
    compare(32);
  }
  unlink(path);
  return 0;
}
