/* A program outside the source tree that uses the installed library: it
 * runs one timer and checks the version it linked against. */
#include <asyncrt.h>
#include <stdio.h>
#include <string.h>

static int fired;

static void on_timer(art_timer_t *t) {
  fired = 1;
  art_close((art_handle_t *)t, NULL);
}

int main(void) {
  art_loop_t loop;
  art_timer_t timer;
  if (art_loop_init(&loop) != 0 || art_timer_init(&loop, &timer) != 0 ||
      art_timer_start(&timer, on_timer, 1, 0) != 0 ||
      art_run(&loop, ART_RUN_DEFAULT) != 0 || art_loop_close(&loop) != 0)
    return 1;
  if (!fired || art_version() != ART_VERSION_HEX ||
      art_version_string()[0] == 0)
    return 1;
  printf("consumer ok: libasyncrt %s\n", art_version_string());
  return 0;
}
