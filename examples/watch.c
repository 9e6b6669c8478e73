/* watch: print what changes in a folder until interrupted (Ctrl-C), like
 * Node's fs.watch.
 *
 *   watch [--recursive] [--count N] FOLDER
 *
 * Each change prints "rename NAME" or "change NAME". --recursive watches
 * the whole tree, folders made later included; --count N stops after N
 * events. SIGINT is caught by an art_signal_t, so the loop ends cleanly:
 * handles closed, the loop closed, exit status 0. */
#include <asyncrt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static art_fs_event_t watcher;
static art_signal_t sigint;
static long remaining = -1; /* events left before stopping; -1: no limit */

static void stop_all(void) {
  if (!art_is_closing((art_handle_t *)&watcher))
    art_close((art_handle_t *)&watcher, NULL);
  if (!art_is_closing((art_handle_t *)&sigint))
    art_close((art_handle_t *)&sigint, NULL);
}

static void on_change(art_fs_event_t *h, const char *name, int events,
                      int status) {
  if (status < 0) {
    fprintf(stderr, "watch: %s\n", art_strerror(status));
    stop_all();
    return;
  }
  if (events & ART_RENAME)
    printf("rename %s\n", name);
  if (events & ART_CHANGE)
    printf("change %s\n", name);
  fflush(stdout);
  if (remaining > 0 && --remaining == 0)
    stop_all();
}

static void on_sigint(art_signal_t *h, int signum) {
  printf("interrupted\n");
  stop_all();
}

int main(int argc, char **argv) {
  unsigned flags = 0;
  const char *folder = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--recursive") == 0)
      flags |= ART_FS_EVENT_RECURSIVE;
    else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc)
      remaining = strtol(argv[++i], NULL, 10);
    else
      folder = argv[i];
  }
  if (folder == NULL || remaining == 0) {
    fprintf(stderr, "usage: watch [--recursive] [--count N] FOLDER\n");
    return 2;
  }
  art_loop_t *loop = art_default_loop();
  art_fs_event_init(loop, &watcher);
  art_signal_init(loop, &sigint);
  int err = art_fs_event_start(&watcher, on_change, folder, flags);
  if (err == 0)
    err = art_signal_start(&sigint, on_sigint, SIGINT);
  if (err) {
    fprintf(stderr, "watch: %s: %s\n", folder, art_strerror(err));
    stop_all();
    art_run(loop, ART_RUN_DEFAULT);
    art_loop_close(loop);
    return 1;
  }
  printf("watching %s\n", folder);
  fflush(stdout);
  art_run(loop, ART_RUN_DEFAULT);
  return art_loop_close(loop) == 0 ? 0 : 1;
}
