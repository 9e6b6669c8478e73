/* immediate_drain.js through libasyncrt: art_immediate_start is
 * setImmediate, art_immediate_clear clearImmediate. */
#include <stdio.h>

#include <asyncrt.h>

static art_immediate_t imm[5], from_first;

static void say(art_loop_t *loop, void *text) {
  (void)loop;
  puts(text);
}

static void say_immediate(art_immediate_t *i) {
  puts(i->data);
}

static void promise_from_first(art_loop_t *loop, void *arg) {
  (void)arg;
  puts("promise from immediate 1");
  art_next_tick(loop, say, "tick from that promise");
}

static void first(art_immediate_t *i) {
  puts("immediate 1");
  art_next_tick(i->loop, say, "tick from immediate 1");
  art_queue_microtask(i->loop, promise_from_first, NULL);
  from_first.data = "immediate from immediate 1";
  art_immediate_start(i->loop, &from_first, say_immediate);
  art_immediate_clear(&imm[2]);
}

static void clear_fifth(art_loop_t *loop, void *arg) {
  (void)loop;
  (void)arg;
  art_immediate_clear(&imm[4]);
}

static void second(art_immediate_t *i) {
  puts("immediate 2");
  art_queue_microtask(i->loop, say, "promise from immediate 2");
  art_next_tick(i->loop, clear_fifth, NULL);
}

int main(void) {
  art_loop_t loop;
  if (art_loop_init(&loop) != 0)
    return 1;
  puts("main");
  imm[2].data = "immediate 3: cleared";
  imm[3].data = "immediate 4";
  imm[4].data = "immediate 5: cleared";
  art_immediate_start(&loop, &imm[0], first);
  art_immediate_start(&loop, &imm[1], second);
  for (int i = 2; i < 5; i++)
    art_immediate_start(&loop, &imm[i], say_immediate);
  art_next_tick(&loop, say, "tick from main");
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
