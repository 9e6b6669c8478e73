/* file: docs/examples/loop_manual_clock.c */
#include <asyncrt.h>
#include <stdio.h>

#define MS 1000000u /* ns */

static art_timer_t retry, give_up;
static uint64_t start;

static unsigned long long ms_since_start(art_loop_t *loop) {
  return (unsigned long long)((art_loop_clock_ns(loop) - start) / MS);
}

static void on_retry(art_timer_t *timer) {
  printf("retry at %llu ms\n", ms_since_start(timer->loop));
}

static void on_give_up(art_timer_t *timer) {
  printf("give up at %llu ms\n", ms_since_start(timer->loop));
  art_timer_stop(&retry);
}

int main(void) {
  art_loop_t loop;

  if (art_loop_init(&loop) != 0 ||
      art_loop_configure(&loop, ART_LOOP_MANUAL_CLOCK, 1) != 0 ||
      art_timer_init(&loop, &retry) != 0 ||
      art_timer_init(&loop, &give_up) != 0)
    return 1;
  start = art_loop_clock_ns(&loop);
  art_timer_start(&retry, on_retry, 30000, 30000);              /* every 30 s */
  art_timer_start(&give_up, on_give_up, 2 * 60 * 60 * 1000, 0); /* 2 h */

  /* By hand: the clock moves only when told, and NOWAIT runs what is due. */
  art_run(&loop, ART_RUN_NOWAIT);
  printf("nothing due at %llu ms\n", ms_since_start(&loop));
  art_loop_advance(&loop, 60000 * (uint64_t)MS);
  art_run(&loop, ART_RUN_NOWAIT); /* the run due at 30 s, late */
  art_run(&loop, ART_RUN_NOWAIT); /* the one due at 60 s: one per iteration */

  /* Auto-advance: with no I/O to wait for, the clock jumps from deadline
   * to deadline, so two hours pass at once. The next run is still due at
   * 90 s; the 45 min repeat counts from there. */
  art_timer_set_repeat(&retry, 45 * 60 * 1000);
  art_run(&loop, ART_RUN_DEFAULT);
  printf("done at %llu ms\n", ms_since_start(&loop));

  art_close((art_handle_t *)&retry, NULL);
  art_close((art_handle_t *)&give_up, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
