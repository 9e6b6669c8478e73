/* timers_refresh.js through libasyncrt: art_timer_refresh is a timeout's
 * refresh(). */
#include <stdio.h>

#include <asyncrt.h>

static art_timer_t t, r1, m60, r2, m150;
static int n;

static void say(art_timer_t *timer) {
  puts(timer->data);
}

static void t_cb(art_timer_t *timer) {
  (void)timer;
  printf("t (150 ms) runs, time %d\n", ++n);
}

static void r1_cb(art_timer_t *timer) {
  (void)timer;
  art_timer_refresh(&t);
  puts("90 ms: refresh t, now due at 240 ms");
}

static void r2_cb(art_timer_t *timer) {
  (void)timer;
  puts("360 ms: refresh t after it ran, due at 510 ms");
  art_timer_refresh(&t);
}

static void close_cb(art_handle_t *h, void *arg) {
  (void)arg;
  art_close(h, NULL);
}

int main(void) {
  art_loop_t loop;
  art_timer_t *all[] = {&t, &r1, &m60, &r2, &m150};
  if (art_loop_init(&loop) != 0)
    return 1;
  for (int i = 0; i < 5; i++)
    if (art_timer_init(&loop, all[i]) != 0)
      return 1;
  art_timer_start_node(&t, t_cb, 150, 0);
  art_timer_start_node(&r1, r1_cb, 90, 0);
  m60.data = "180 ms";
  art_timer_start_node(&m60, say, 180, 0);
  art_timer_start_node(&r2, r2_cb, 360, 0);
  m150.data = "450 ms";
  art_timer_start_node(&m150, say, 450, 0);
  art_run(&loop, ART_RUN_DEFAULT);
  art_walk(&loop, close_cb, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
