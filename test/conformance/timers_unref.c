/* timers_unref.js through libasyncrt: art_unref / art_ref / art_has_ref
 * are a timer's unref(), ref() and hasRef(). */
#include <stdio.h>

#include <asyncrt.h>

static art_timer_t bg, bg2, back, fg;

static void say(art_timer_t *t) {
  puts(t->data);
}

static void close_cb(art_handle_t *h, void *arg) {
  (void)arg;
  art_close(h, NULL);
}

int main(void) {
  art_loop_t loop;
  art_timer_t *all[] = {&bg, &bg2, &back, &fg};
  if (art_loop_init(&loop) != 0)
    return 1;
  for (int i = 0; i < 4; i++)
    if (art_timer_init(&loop, all[i]) != 0)
      return 1;
  bg.data = "unref interval: never printed";
  art_timer_start_node(&bg, say, 1000, 1);
  art_unref((art_handle_t *)&bg);
  bg2.data = "unref timeout: never printed";
  art_timer_start_node(&bg2, say, 500, 0);
  art_unref((art_handle_t *)&bg2);
  back.data = "unref then ref: 200 ms";
  art_timer_start_node(&back, say, 200, 0);
  art_unref((art_handle_t *)&back);
  art_ref((art_handle_t *)&back);
  printf("hasRef %s %s\n", art_has_ref((art_handle_t *)&bg) ? "true" : "false",
         art_has_ref((art_handle_t *)&back) ? "true" : "false");
  fg.data = "referenced: 10 ms";
  art_timer_start_node(&fg, say, 10, 0);
  art_run(&loop, ART_RUN_DEFAULT);
  puts("exit");
  art_walk(&loop, close_cb, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
