/* timers_order.js through libasyncrt: art_timer_start_node is setTimeout
 * and art_timer_stop clearTimeout. */
#include <stdio.h>

#include <asyncrt.h>

static art_timer_t later, sibling, a, b, x, y, z, c;

static void say(art_timer_t *t) {
  puts(t->data);
}

static void a_cb(art_timer_t *t) {
  (void)t;
  puts("a (50 ms) clears its sibling and a later timer");
  art_timer_stop(&sibling);
  art_timer_stop(&later);
}

static void close_cb(art_handle_t *h, void *arg) {
  (void)arg;
  art_close(h, NULL);
}

int main(void) {
  art_loop_t loop;
  struct {
    art_timer_t *t;
    art_timer_cb cb;
    uint64_t delay;
    const char *text;
  } calls[] = {
      {&later, say, 100, "cleared: never printed"},
      {&a, a_cb, 50, NULL},
      {&sibling, say, 50, "sibling: never printed"},
      {&b, say, 50, "b (50 ms)"},
      {&x, say, 1, "x (1 ms)"},
      {&y, say, 0, "y (0 ms: 1 ms, after x)"},
      {&z, say, 1, "z (1 ms)"},
      {&c, say, 25, "c (25 ms)"},
  };
  if (art_loop_init(&loop) != 0)
    return 1;
  for (size_t i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
    if (art_timer_init(&loop, calls[i].t) != 0)
      return 1;
    calls[i].t->data = (void *)calls[i].text;
    art_timer_start_node(calls[i].t, calls[i].cb, calls[i].delay, 0);
  }
  puts("sync end");
  art_run(&loop, ART_RUN_DEFAULT);
  art_walk(&loop, close_cb, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
