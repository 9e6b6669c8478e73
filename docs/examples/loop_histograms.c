/* file: docs/examples/loop_histograms.c */
#include <asyncrt.h>
#include <stdio.h>

#define MS 1000000u

static art_histogram_t delay; /* the program's: the monitor records here */
static art_timer_t busy, done;
static art_fs_t stats[10];

/* Blocks the loop for 20 ms: every timer due meanwhile runs late. */
static void on_busy(art_timer_t *t) {
  uint64_t end = art_hrtime() + 20 * MS;
  (void)t;
  while (art_hrtime() < end)
    ;
}

/* Keeps the loop running past the block, so the late monitor runs. */
static void on_done(art_timer_t *t) {
  art_close((art_handle_t *)t, NULL);
  art_close((art_handle_t *)&busy, NULL);
}

static void on_stat(art_fs_t *req) {
  art_fs_req_cleanup(req);
}

/* A Prometheus-style export: cumulative counts per bucket upper bound. */
static uint64_t export_buckets(const art_histogram_t *h, FILE *out) {
  art_histogram_bucket_t b;
  unsigned it = 0;
  uint64_t cumulative = 0;
  while (art_histogram_next(h, &it, &b)) {
    cumulative += b.count;
    if (out != NULL)
      fprintf(out, "delay_bucket{le=\"%llu\"} %llu\n",
              (unsigned long long)b.high, (unsigned long long)cumulative);
  }
  return cumulative;
}

int main(void) {
  art_loop_t *loop = art_default_loop();
  art_histogram_init(&delay);
  art_loop_monitor_delay(loop, 1, &delay); /* every 1 ms, unreferenced */
  art_timer_init(loop, &busy);
  art_timer_start(&busy, on_busy, 5, 0);
  art_timer_init(loop, &done);
  art_timer_start(&done, on_done, 40, 0);
  for (int i = 0; i < 10; i++)
    art_fs_stat(loop, &stats[i], ".", on_stat);
  art_run(loop, ART_RUN_DEFAULT); /* the monitor does not keep it alive */

  printf("delay samples: %s\n",
         art_histogram_count(&delay) > 0 ? "some" : "none");
  printf("worst delay >= 19 ms: %s\n",
         art_histogram_max(&delay) >= 19 * MS ? "yes" : "no");
  printf("p50 <= max: %s\n",
         art_histogram_percentile(&delay, 50) <= art_histogram_max(&delay)
             ? "yes"
             : "no");
  printf("buckets add up to the count: %s\n",
         export_buckets(&delay, NULL) == art_histogram_count(&delay) ? "yes"
                                                                     : "no");
  const art_histogram_t *fs = art_fs_latency(loop);
  printf("fs requests measured: %llu\n",
         (unsigned long long)art_histogram_count(fs));

  art_pool_histograms(NULL, ART_LANE_FS, NULL, &delay); /* reuse: run time */
  printf("fs lane items run: %s\n",
         art_histogram_count(&delay) >= 10 ? ">= 10" : "< 10");
  art_loop_monitor_delay_stop(loop);
  return art_loop_close(loop);
}
