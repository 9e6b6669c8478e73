/* Asynchronous 4 KiB reads of a file in the page cache, with C requests in
 * flight (1 and 32 by default): each completion reads again at the next
 * offset until N reads were issued. libasyncrt only: run it once per
 * backend (ART_BACKEND=io_uring: the reads are ring operations, run inline
 * in the enter; epoll: pool work) and compare. Rounds: BENCH_ROUNDS
 * (default 3), median reported. Usage: bench_fs_read [N] [concurrency...]
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asyncrt.h>

#include "common.h"

#define MAX_INFLIGHT 256
#define FILE_SIZE    (1 << 20)
#define READ_SIZE    4096

static long n_reads = 100000;
static long issued, completed;
static int file;
static art_loop_t *loop;
static art_fs_t reqs[MAX_INFLIGHT];
static char bufs[MAX_INFLIGHT][READ_SIZE];

static void read_cb(art_fs_t *req) {
  if (req->result != READ_SIZE) {
    fprintf(stderr, "read: %zd\n", req->result);
    exit(1);
  }
  completed++;
  art_fs_req_cleanup(req);
  if (issued < n_reads) {
    size_t i = (size_t)(req - reqs);
    art_buf_t b = art_buf_init(bufs[i], READ_SIZE);
    int64_t off = (int64_t)((issued * READ_SIZE) % FILE_SIZE);
    issued++;
    art_fs_read(loop, req, file, &b, 1, off, read_cb);
  }
}

static double run_reads(int inflight) {
  art_loop_t l;
  art_loop_init(&l);
  loop = &l;
  issued = completed = 0;
  double t0 = bench_now();
  for (int i = 0; i < inflight && issued < n_reads; i++) {
    art_buf_t b = art_buf_init(bufs[i], READ_SIZE);
    int64_t off = (int64_t)((issued * READ_SIZE) % FILE_SIZE);
    issued++;
    art_fs_read(&l, &reqs[i], file, &b, 1, off, read_cb);
  }
  art_run(&l, ART_RUN_DEFAULT);
  double dt = bench_now() - t0;
  art_loop_close(&l);
  return completed / dt;
}

int main(int argc, char **argv) {
  char path[64], block[4096];
  if (argc > 1)
    n_reads = atol(argv[1]);
  snprintf(path, sizeof(path), "/tmp/art-bench-read-XXXXXX");
  file = mkstemp(path);
  if (file < 0 || n_reads <= 0) {
    perror("bench_fs_read");
    return 1;
  }
  unlink(path);
  memset(block, 'r', sizeof(block));
  for (int i = 0; i < FILE_SIZE / (int)sizeof(block); i++)
    if (write(file, block, sizeof(block)) != (ssize_t)sizeof(block))
      return 1;
  int list[MAX_INFLIGHT], nlist = 0;
  for (int i = 2; i < argc && nlist < MAX_INFLIGHT; i++) {
    int c = atoi(argv[i]);
    list[nlist++] = c < 1 ? 1 : c > MAX_INFLIGHT ? MAX_INFLIGHT : c;
  }
  if (nlist == 0) {
    list[nlist++] = 1;
    list[nlist++] = 32;
  }
  long saved = n_reads;
  n_reads = 1000;
  run_reads(4); /* warm up the pool and the page cache */
  n_reads = saved;
  for (int k = 0; k < nlist; k++) {
    double r[BENCH_MAX_ROUNDS];
    int rounds = bench_rounds();
    for (int i = 0; i < rounds; i++)
      r[i] = run_reads(list[k]);
    char name[64];
    snprintf(name, sizeof(name), "fs_read 4k %ld, %d in flight", n_reads,
             list[k]);
    bench_report(name, "reads/s", bench_median(r, rounds), -1);
  }
  close(file);
  return 0;
}
