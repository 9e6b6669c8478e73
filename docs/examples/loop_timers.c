/* file: docs/examples/loop_timers.c */
#include <asyncrt.h>
#include <stdio.h>

static art_timer_t first, second, tick, cleared, background;
static int ticks;

static void say(art_timer_t *timer) {
  printf("%s\n", (const char *)timer->data);
}

static void on_tick(art_timer_t *timer) {
  printf("tick %d\n", ++ticks);
  if (ticks == 1)
    art_timer_stop(&cleared); /* clearTimeout: its callback never runs */
  if (ticks == 3)
    art_timer_stop(timer); /* clearInterval */
}

/* art_walk's callback: close every handle the loop still has. */
static void close_handle(art_handle_t *handle, void *arg) {
  (void)arg;
  art_close(handle, NULL);
}

int main(void) {
  art_loop_t loop;
  art_timer_t *all[] = {&first, &second, &tick, &cleared, &background};

  if (art_loop_init(&loop) != 0)
    return 1;
  for (int i = 0; i < 5; i++)
    if (art_timer_init(&loop, all[i]) != 0)
      return 1;
  first.data = "first: due with second, started before it";
  second.data = "second";
  cleared.data = "cleared: never printed";
  background.data = "background: never printed";

  /* Equal deadlines run in start order. */
  art_timer_start(&first, say, 5, 0);
  art_timer_start(&second, say, 5, 0);
  /* In 10 ms, then every 10 ms, counted from each due time. */
  art_timer_start(&tick, on_tick, 10, 10);
  art_timer_start(&cleared, say, 60000, 0);
  /* An unreferenced timer runs only while something else keeps the loop
   * alive: it does not hold the program for its minute. */
  art_timer_start(&background, say, 60000, 0);
  art_unref((art_handle_t *)&background);

  art_run(&loop, ART_RUN_DEFAULT); /* returns when only background is left */
  printf("background active: %d, referenced: %d\n",
         art_is_active((art_handle_t *)&background),
         art_has_ref((art_handle_t *)&background));

  art_walk(&loop, close_handle, NULL);
  art_run(&loop, ART_RUN_DEFAULT); /* the close phase */
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
