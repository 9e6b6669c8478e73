/* Three timer patterns, with deterministic output:
 *
 * 1. an interval (a repeating timer) that stops itself after RUNS runs;
 * 2. a timeout that is cleared before it fires: the interval's second run
 *    stops it, so its callback never runs;
 * 3. an unreferenced timer (art_unref): it stays started but does not keep
 *    the loop alive, so art_run returns once the interval is done, long
 *    before the unreferenced timer would have fired. */
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>

#define RUNS        5
#define INTERVAL_MS 10

static art_timer_t interval;   /* repeats every INTERVAL_MS */
static art_timer_t cleared;    /* due in 1 s, stopped after 20 ms */
static art_timer_t background; /* unreferenced, due in 1 min */
static int runs;

static void on_cleared(art_timer_t *t) {
  (void)t;
  puts("timeout fired (this must not happen)");
}

static void on_background(art_timer_t *t) {
  (void)t;
  puts("unreferenced timer fired (this must not happen)");
}

static void on_interval(art_timer_t *t) {
  runs++;
  printf("interval run %d\n", runs);
  if (runs == 2) {
    art_timer_stop(&cleared);
    printf("timeout cleared before it fired (active: %d)\n",
           art_is_active((art_handle_t *)&cleared));
  }
  if (runs == RUNS) {
    art_timer_stop(t);
    printf("interval stopped itself after %d runs\n", runs);
  }
}

static void check(int err, const char *what) {
  if (err < 0) {
    fprintf(stderr, "%s: %s\n", what, art_strerror(err));
    exit(1);
  }
}

static void close_all(void) {
  art_close((art_handle_t *)&interval, NULL);
  art_close((art_handle_t *)&cleared, NULL);
  art_close((art_handle_t *)&background, NULL);
}

int main(void) {
  art_loop_t loop;
  check(art_loop_init(&loop), "art_loop_init");
  check(art_timer_init(&loop, &interval), "art_timer_init");
  check(art_timer_init(&loop, &cleared), "art_timer_init");
  check(art_timer_init(&loop, &background), "art_timer_init");
  check(art_timer_start(&interval, on_interval, INTERVAL_MS, INTERVAL_MS),
        "art_timer_start");
  check(art_timer_start(&cleared, on_cleared, 1000, 0), "art_timer_start");
  check(art_timer_start(&background, on_background, 60000, 0),
        "art_timer_start");
  art_unref((art_handle_t *)&background);

  check(art_run(&loop, ART_RUN_DEFAULT), "art_run");
  printf("loop done; unreferenced timer still active: %d, fired: no\n",
         art_is_active((art_handle_t *)&background));

  close_all();
  check(art_run(&loop, ART_RUN_DEFAULT), "art_run"); /* runs the closes */
  check(art_loop_close(&loop), "art_loop_close");
  puts("loop closed");
  return 0;
}
