/* immediate_io.js through libasyncrt: fs.stat is art_fs_stat, setTimeout
 * with 0 an art_timer of 0 ms. */
#include <stdio.h>

#include <asyncrt.h>

static art_fs_t stat_req;
static art_timer_t timers[2];
static art_immediate_t imms[2];

static void say(art_loop_t *loop, void *text) {
  (void)loop;
  puts(text);
}

static void say_timer(art_timer_t *t) {
  puts(t->data);
  art_close((art_handle_t *)t, NULL);
}

static void say_immediate(art_immediate_t *i) {
  puts(i->data);
}

static void from_stat_immediate(art_immediate_t *i) {
  puts("immediate from the stat callback");
  art_next_tick(i->loop, say, "tick from the immediate");
}

static void from_stat_timer(art_timer_t *t) {
  puts("timeout 0 from the stat callback");
  timers[1].data = "timeout 0 from the timeout";
  art_timer_start(&timers[1], say_timer, 0, 0);
  imms[1].data = "immediate from the timeout";
  art_immediate_start(t->loop, &imms[1], say_immediate);
  art_close((art_handle_t *)t, NULL);
}

static void on_stat(art_fs_t *req) {
  art_fs_req_cleanup(req);
  puts("stat callback");
  art_timer_start(&timers[0], from_stat_timer, 0, 0);
  art_immediate_start(req->loop, &imms[0], from_stat_immediate);
  art_next_tick(req->loop, say, "tick from the stat callback");
}

int main(int argc, char **argv) {
  art_loop_t loop;
  (void)argc;
  if (art_loop_init(&loop) != 0 || art_timer_init(&loop, &timers[0]) != 0 ||
      art_timer_init(&loop, &timers[1]) != 0)
    return 1;
  if (art_fs_stat(&loop, &stat_req, argv[0], on_stat) != 0)
    return 1;
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
