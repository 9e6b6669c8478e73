/* file: docs/examples/loop_immediates.c */
#include <asyncrt.h>
#include <stdio.h>

static art_timer_t timer;
static art_immediate_t first, second, cleared, again, background;

static void print(art_loop_t *loop, void *text) {
  (void)loop;
  printf("  %s\n", (const char *)text);
}

static void say(art_immediate_t *imm) {
  printf("%s\n", (const char *)imm->data);
}

static void on_first(art_immediate_t *imm) {
  say(imm);
  /* Drained before the second immediate runs. */
  art_next_tick(imm->loop, print, "tick from the first");
  art_queue_microtask(imm->loop, print, "microtask from the first");
  art_immediate_clear(&cleared); /* clearImmediate: it never runs */
  /* Started by the check phase: waits for the next iteration's. */
  again.data = "again: next iteration";
  art_immediate_start(imm->loop, &again, say);
}

static void on_timer(art_timer_t *t) {
  printf("timer\n");
  first.data = "first immediate";
  second.data = "second immediate";
  cleared.data = "cleared: never printed";
  art_immediate_start(t->loop, &first, on_first);
  art_immediate_start(t->loop, &second, say);
  art_immediate_start(t->loop, &cleared, say);
  art_close((art_handle_t *)t, NULL);
}

int main(void) {
  art_loop_t loop;

  if (art_loop_init(&loop) != 0 || art_timer_init(&loop, &timer) != 0)
    return 1;
  art_timer_start(&timer, on_timer, 0, 0);
  /* Unreferenced: it runs in the first check phase the loop reaches for
   * another reason, and would not keep the loop alive by itself. */
  background.data = "background immediate";
  art_immediate_start(&loop, &background, say);
  art_immediate_unref(&background);

  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
