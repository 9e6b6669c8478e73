/* immediate_unref.js through libasyncrt: immediate.unref() is
 * art_immediate_unref, hasRef art_immediate_has_ref; the process exits
 * when art_run returns. */
#include <stdio.h>

#include <asyncrt.h>

static art_fs_t stat_req;
static art_immediate_t early, never, back;

static const char *yes(int v) {
  return v ? "true" : "false";
}

static void print_never(art_immediate_t *i) {
  (void)i;
  puts("never printed");
}

static void on_early(art_immediate_t *i) {
  puts("unreferenced immediate");
  art_immediate_start(i->loop, &never, print_never);
  art_immediate_unref(&never);
  printf("never hasRef: %s\n", yes(art_immediate_has_ref(&never)));
}

static void nothing(art_immediate_t *i) {
  (void)i;
}

static void on_stat(art_fs_t *req) {
  art_fs_req_cleanup(req);
  puts("stat callback");
}

int main(int argc, char **argv) {
  art_loop_t loop;
  (void)argc;
  if (art_loop_init(&loop) != 0)
    return 1;
  art_immediate_start(&loop, &early, on_early);
  art_immediate_unref(&early);
  printf("early hasRef: %s\n", yes(art_immediate_has_ref(&early)));
  art_immediate_start(&loop, &back, nothing);
  art_immediate_unref(&back);
  art_immediate_ref(&back);
  printf("back hasRef: %s\n", yes(art_immediate_has_ref(&back)));
  art_immediate_clear(&back);
  printf("cleared hasRef: %s\n", yes(art_immediate_has_ref(&back)));
  if (art_fs_stat(&loop, &stat_req, argv[0], on_stat) != 0)
    return 1;
  art_run(&loop, ART_RUN_DEFAULT);
  puts("exit");
  /* The pending unreferenced immediate is the program's to clear. */
  art_immediate_clear(&never);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
