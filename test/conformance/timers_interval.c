/* timers_interval.js through libasyncrt: art_timer_start_node with
 * interval 1 is setInterval, art_timer_stop clearInterval. */
#include <stdio.h>

#include <asyncrt.h>

static art_timer_t first, timeout1, late, timeout2;
static int runs, n;

static void busy(uint64_t ms) {
  uint64_t end = art_hrtime() + ms * 1000000u;
  while (art_hrtime() < end)
    ;
}

static void timeout2_cb(art_timer_t *t) {
  (void)t;
  puts("timeout of 5 ms from run 1");
}

static void late_cb(art_timer_t *t) {
  printf("late interval, run %d\n", ++n);
  if (n == 1)
    art_timer_start_node(&timeout2, timeout2_cb, 5, 0);
  else
    art_timer_stop(t);
}

static void timeout1_cb(art_timer_t *t) {
  (void)t;
  puts("timeout of 15 ms from run 1");
  art_timer_start_node(&late, late_cb, 50, 1);
  busy(110);
}

static void first_cb(art_timer_t *t) {
  printf("first interval, run %d\n", ++runs);
  if (runs == 1) {
    busy(8);
    art_timer_start_node(&timeout1, timeout1_cb, 15, 0);
  } else {
    art_timer_stop(t);
  }
}

static void close_cb(art_handle_t *h, void *arg) {
  (void)arg;
  art_close(h, NULL);
}

int main(void) {
  art_loop_t loop;
  art_timer_t *all[] = {&first, &timeout1, &late, &timeout2};
  if (art_loop_init(&loop) != 0)
    return 1;
  for (int i = 0; i < 4; i++)
    if (art_timer_init(&loop, all[i]) != 0)
      return 1;
  art_timer_start_node(&first, first_cb, 20, 1);
  art_run(&loop, ART_RUN_DEFAULT);
  art_walk(&loop, close_cb, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
