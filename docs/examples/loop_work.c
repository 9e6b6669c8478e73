/* file: docs/examples/loop_work.c */
#define _POSIX_C_SOURCE 200809L
#include <asyncrt.h>
#include <semaphore.h>
#include <stdio.h>

/* One piece of work: the request and what it computes, in one struct. */
typedef struct {
  art_work_t req;
  const char *name;
  unsigned n;
  unsigned long result;
} job_t;

static sem_t gate; /* holds the only worker until the queue is set up */

static unsigned long fib(unsigned n) {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* Runs on a pool thread: only the request and the job are touched here. */
static void work(art_work_t *req) {
  job_t *job = req->data;
  if (job->n == 0)
    sem_wait(&gate);
  else
    job->result = fib(job->n);
}

/* Runs on the loop's thread, in the poll phase. */
static void after(art_work_t *req, int status) {
  job_t *job = req->data;
  if (status == ART_ECANCELED)
    printf("%s: canceled before it ran\n", job->name);
  else if (job->n == 0)
    printf("%s: opened\n", job->name);
  else
    printf("%s: fib(%u) = %lu\n", job->name, job->n, job->result);
}

int main(void) {
  art_loop_t loop;
  art_pool_t *pool;
  art_pool_stats_t stats;
  job_t jobs[] = {{.name = "gate", .n = 0},
                  {.name = "cpu", .n = 20},
                  {.name = "slow", .n = 25},
                  {.name = "late", .n = 30}};

  if (sem_init(&gate, 0, 0) != 0 || art_loop_init(&loop) != 0)
    return 1;
  /* A pool of the loop's own, one thread, instead of the default pool. */
  if (art_pool_init(&pool, 1) != 0 || art_loop_set_pool(&loop, pool) != 0)
    return 1;
  for (int i = 0; i < 4; i++)
    jobs[i].req.data = &jobs[i];

  art_queue_work(&loop, &jobs[0].req, work, after);
  art_queue_work(&loop, &jobs[1].req, work, after);
  /* Work that may block for long goes to the slow lane: it never holds
   * more than half the pool's threads. */
  art_queue_work_lane(&loop, &jobs[2].req, ART_LANE_SLOW, work, after);
  art_queue_work(&loop, &jobs[3].req, work, after);
  /* The only worker is held by "gate", so "late" is still queued. */
  printf("cancel late: %d\n", art_cancel((art_req_t *)&jobs[3].req));
  sem_post(&gate);

  art_run(&loop, ART_RUN_DEFAULT);

  art_pool_stats(pool, &stats);
  printf("completed %llu, canceled %llu, threads %u\n",
         (unsigned long long)stats.completed,
         (unsigned long long)stats.canceled, stats.threads);
  art_pool_set_size(pool, 2); /* any thread may resize or read a pool */
  art_pool_stats(pool, &stats);
  printf("after resizing: threads %u\n", stats.threads);

  /* The pool outlives the loops that use it. */
  if (art_loop_close(&loop) != 0 || art_pool_close(pool) != 0)
    return 1;
  sem_destroy(&gate);
  return 0;
}
