/* file: docs/examples/loop_node_timers.c */
#include <asyncrt.h>
#include <stdio.h>

static art_timer_t interval, timeout, precise;
static int runs;

static void busy_ms(uint64_t ms) { /* synchronous work */
  uint64_t end = art_hrtime() + ms * 1000000u;
  while (art_hrtime() < end)
    ;
}

static void on_timeout(art_timer_t *timer) {
  (void)timer;
  printf("timeout of 15 ms, started by run 1\n");
}

static void on_interval(art_timer_t *timer) {
  printf("interval run %d\n", ++runs);
  if (runs == 1) {
    busy_ms(8);
    /* Due 23 ms after run 1 began; the interval's next run is due 20 ms
     * after it began, since it is re-armed from the callback's start. */
    art_timer_start_node(&timeout, on_timeout, 15, 0);
  } else {
    art_timer_stop(timer); /* clearInterval */
  }
}

static void on_precise(art_timer_t *timer) {
  uint64_t late = art_hrtime() - *(uint64_t *)timer->data;
  printf("250 us timer: %s\n", late >= 250000 ? "not early" : "early!");
}

int main(void) {
  art_loop_t loop;
  uint64_t started;

  if (art_loop_init(&loop) != 0 || art_timer_init(&loop, &interval) != 0 ||
      art_timer_init(&loop, &timeout) != 0 ||
      art_timer_init(&loop, &precise) != 0)
    return 1;
  art_timer_start_node(&interval, on_interval, 20, 1); /* setInterval */
  started = art_hrtime();
  precise.data = &started;
  art_timer_start_ns(&precise, on_precise, 250000, 0);

  art_run(&loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&interval, NULL);
  art_close((art_handle_t *)&timeout, NULL);
  art_close((art_handle_t *)&precise, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
