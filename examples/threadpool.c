/* CPU-heavy jobs on the work pool while the loop stays responsive.
 *
 * Eight jobs each compute a slow (naively recursive) Fibonacci number on
 * the pool. Meanwhile a repeating 5 ms timer ticks on the loop thread and
 * measures how late each tick is: since the heavy work never runs on the
 * loop thread, the ticks keep coming. When the last job is done the program
 * prints the results, the timer's worst lateness and the pool's own
 * statistics, then exits 0.
 *
 * Usage: threadpool [jobs] [n]   (default: 8 jobs of fib(34))
 */
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>

#define MAX_JOBS 64
#define TICK_MS  5

/* One job: its request, its input and its result. */
typedef struct {
  art_work_t req;
  unsigned n;
  unsigned long result;
} job_t;

static job_t jobs[MAX_JOBS];
static int jobs_left;
static art_timer_t ticker;
static unsigned ticks;
static uint64_t last_tick_ns;
static uint64_t worst_gap_ns;

/* Deliberately slow: exponential recursion keeps a CPU busy. */
static unsigned long fib(unsigned n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* Runs on a pool thread. */
static void job_work(art_work_t *req) {
  job_t *job = (job_t *)req;
  job->result = fib(job->n);
}

/* Runs on the loop thread, in the poll phase. */
static void job_done(art_work_t *req, int status) {
  job_t *job = (job_t *)req;
  if (status != 0) {
    fprintf(stderr, "job failed: %s\n", art_strerror(status));
    exit(1);
  }
  printf("job %d: fib(%u) = %lu\n", (int)(job - jobs), job->n, job->result);
  if (--jobs_left == 0)
    art_close((art_handle_t *)&ticker, NULL);
}

/* The loop's heartbeat: counts ticks and the longest gap between two. */
static void tick(art_timer_t *t) {
  uint64_t now = art_hrtime();
  if (last_tick_ns != 0 && now - last_tick_ns > worst_gap_ns)
    worst_gap_ns = now - last_tick_ns;
  last_tick_ns = now;
  ticks++;
}

int main(int argc, char **argv) {
  int njobs = argc > 1 ? atoi(argv[1]) : 8;
  unsigned n = argc > 2 ? (unsigned)atoi(argv[2]) : 34;
  art_loop_t loop;
  art_pool_stats_t s;
  int err;
  if (njobs < 1 || njobs > MAX_JOBS || n > 45) {
    fprintf(stderr, "usage: threadpool [jobs 1-%d] [n 0-45]\n", MAX_JOBS);
    return 2;
  }
  if ((err = art_loop_init(&loop)) != 0 ||
      (err = art_timer_init(&loop, &ticker)) != 0 ||
      (err = art_timer_start(&ticker, tick, TICK_MS, TICK_MS)) != 0) {
    fprintf(stderr, "setup: %s\n", art_strerror(err));
    return 1;
  }
  for (int i = 0; i < njobs; i++) {
    jobs[i].n = n;
    if ((err = art_queue_work(&loop, &jobs[i].req, job_work, job_done)) != 0) {
      fprintf(stderr, "art_queue_work: %s\n", art_strerror(err));
      return 1;
    }
  }
  jobs_left = njobs;
  uint64_t start = art_hrtime();
  art_run(&loop, ART_RUN_DEFAULT);
  double wall_ms = (double)(art_hrtime() - start) / 1e6;
  printf("timer: %u ticks of %d ms in %.0f ms, longest gap %.1f ms\n", ticks,
         TICK_MS, wall_ms, (double)worst_gap_ns / 1e6);
  art_pool_stats(NULL, &s);
  printf("pool: threads=%u completed=%llu canceled=%llu queue_wait=%.1fms "
         "run=%.1fms\n",
         s.threads, (unsigned long long)s.completed,
         (unsigned long long)s.canceled, (double)s.wait_time_ns / 1e6,
         (double)s.run_time_ns / 1e6);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
