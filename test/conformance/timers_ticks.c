/* timers_ticks.js through libasyncrt: art_next_tick is process.nextTick,
 * art_queue_microtask a promise job, art_timer_start_node setTimeout. */
#include <stdio.h>

#include <asyncrt.h>

static art_timer_t a, b, from_a;

static void say(art_loop_t *loop, void *text) {
  (void)loop;
  puts(text);
}

static void say_timer(art_timer_t *t) {
  puts(t->data);
}

static void a_cb(art_timer_t *t) {
  puts("a");
  art_next_tick(t->loop, say, "tick from a");
  art_queue_microtask(t->loop, say, "promise from a");
  from_a.data = "timeout of 0 from a";
  art_timer_start_node(&from_a, say_timer, 0, 0);
}

static void promise_from_b(art_loop_t *loop, void *arg) {
  (void)arg;
  puts("promise from b");
  art_next_tick(loop, say, "tick from promise from b");
}

static void b_cb(art_timer_t *t) {
  puts("b, due with a");
  art_queue_microtask(t->loop, promise_from_b, NULL);
}

static void close_cb(art_handle_t *h, void *arg) {
  (void)arg;
  art_close(h, NULL);
}

int main(void) {
  art_loop_t loop;
  if (art_loop_init(&loop) != 0 || art_timer_init(&loop, &a) != 0 ||
      art_timer_init(&loop, &b) != 0 || art_timer_init(&loop, &from_a) != 0)
    return 1;
  art_timer_start_node(&a, a_cb, 5, 0);
  art_timer_start_node(&b, b_cb, 5, 0);
  art_run(&loop, ART_RUN_DEFAULT);
  art_walk(&loop, close_cb, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
