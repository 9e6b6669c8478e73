/* ticks_and_promises.js through libasyncrt: art_next_tick is
 * process.nextTick and art_queue_microtask a promise job. */
#include <stdio.h>

#include <asyncrt.h>

static void say(art_loop_t *loop, void *text) {
  (void)loop;
  puts(text);
}

static void promise_from_tick_1(art_loop_t *loop, void *arg) {
  (void)arg;
  puts("promise from tick 1");
  art_next_tick(loop, say, "tick from promise");
}

static void tick_1(art_loop_t *loop, void *arg) {
  (void)arg;
  puts("tick 1");
  art_queue_microtask(loop, promise_from_tick_1, NULL);
  art_next_tick(loop, say, "tick from tick 1");
}

static void promise_1(art_loop_t *loop, void *arg) {
  (void)arg;
  puts("promise 1");
  art_queue_microtask(loop, say, "promise from promise 1");
}

int main(void) {
  art_loop_t loop;
  if (art_loop_init(&loop) != 0)
    return 1;
  puts("sync start");
  art_next_tick(&loop, tick_1, NULL);
  art_queue_microtask(&loop, promise_1, NULL);
  art_next_tick(&loop, say, "tick 2");
  puts("sync end");
  art_run(&loop, ART_RUN_DEFAULT); /* the main module returns: drain */
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
