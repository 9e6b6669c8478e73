/* Stat polling (art_fs_poll_t): changes, appearing and disappearing paths,
 * stop and close with stats in flight, getpath, bad arguments and a handle
 * of another type.
 * ART_SUITE_THREADS (stats run on the pool) */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/handle.h"
#include "helpers/harness.h"

/* A temporary folder and a file path in it. */
typedef struct {
  char dir[64];
  char file[96];
} tmp_t;

static void tmp_make(tmp_t *t) {
  strcpy(t->dir, "/tmp/art_fs_poll_XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  snprintf(t->file, sizeof(t->file), "%s/watched", t->dir);
}

static void tmp_remove(tmp_t *t) {
  unlink(t->file);
  assert_int_equal(rmdir(t->dir), 0);
}

static void append_byte(const char *path) {
  int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "x", 1), 1);
  close(fd);
}

/* What the callbacks saw. */
typedef struct {
  tmp_t tmp;
  art_fs_poll_t poll;
  art_timer_t toucher; /* appends to the file until a change is seen */
  int calls;
  int statuses[8];
  art_stat_t prev[8];
  art_stat_t curr[8];
  int unlink_after_first; /* remove the file after the first change */
  int close_in_cb;        /* close the handle in the first callback */
  int ticks;              /* toucher ticks */
  int closed;
} watch_t;

static watch_t *wt;

static void record(art_fs_poll_t *h, int status, const art_stat_t *prev,
                   const art_stat_t *curr) {
  assert_ptr_equal(h, &wt->poll);
  assert_false(wt->closed);
  if (wt->calls < 8) {
    wt->statuses[wt->calls] = status;
    wt->prev[wt->calls] = *prev;
    wt->curr[wt->calls] = *curr;
  }
  wt->calls++;
  if (wt->calls == 1 && wt->unlink_after_first)
    assert_int_equal(unlink(wt->tmp.file), 0);
  if (wt->close_in_cb) {
    assert_int_equal(art_close((art_handle_t *)h, NULL), 0);
    wt->closed = 1;
  }
}

static void touch_cb(art_timer_t *t) {
  wt->ticks++;
  if (wt->calls == 0 || wt->close_in_cb)
    append_byte(wt->tmp.file);
}

static int calls_at_least(void *arg) {
  return wt->calls >= *(int *)arg;
}

static void watch_setup(art_loop_t *loop) {
  wt = calloc(1, sizeof(*wt));
  assert_non_null(wt);
  tmp_make(&wt->tmp);
  assert_int_equal(art_fs_poll_init(loop, &wt->poll), 0);
  assert_int_equal(art_timer_init(loop, &wt->toucher), 0);
}

static void watch_teardown(art_loop_t *loop) {
  if (!wt->closed)
    art_close((art_handle_t *)&wt->poll, NULL);
  art_close((art_handle_t *)&wt->toucher, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  tmp_remove(&wt->tmp);
  free(wt);
}

static const art_stat_t zero_stat;

ART_TEST(reports_a_change) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  watch_setup(loop);
  append_byte(wt->tmp.file);
  assert_int_equal(art_fs_poll_start(&wt->poll, record, wt->tmp.file, 5), 0);
  assert_true(art_is_active((art_handle_t *)&wt->poll));
  assert_int_equal(art_timer_start(&wt->toucher, touch_cb, 10, 10), 0);
  int want = 1;
  assert_true(art_test_run_until(loop, 10000, calls_at_least, &want));
  assert_int_equal(wt->statuses[0], 0);
  assert_true(wt->curr[0].size > wt->prev[0].size);
  assert_true(wt->prev[0].size >= 1);
  assert_true(S_ISREG(wt->curr[0].mode));
  assert_int_equal(wt->curr[0].ino, wt->prev[0].ino);
  watch_teardown(loop);
}

static void create_on_enoent(art_fs_poll_t *h, int status,
                             const art_stat_t *prev, const art_stat_t *curr) {
  record(h, status, prev, curr);
  if (status == ART_ENOENT)
    append_byte(wt->tmp.file);
}

ART_TEST(reports_appearing_path) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  watch_setup(loop);
  assert_int_equal(
      art_fs_poll_start(&wt->poll, create_on_enoent, wt->tmp.file, 5), 0);
  int want = 2;
  assert_true(art_test_run_until(loop, 10000, calls_at_least, &want));
  /* Missing from the start: one ART_ENOENT, all zeroes. */
  assert_int_equal(wt->statuses[0], ART_ENOENT);
  assert_memory_equal(&wt->prev[0], &zero_stat, sizeof(zero_stat));
  assert_memory_equal(&wt->curr[0], &zero_stat, sizeof(zero_stat));
  /* Then it appears: status 0, prev zeroed. */
  assert_int_equal(wt->statuses[1], 0);
  assert_memory_equal(&wt->prev[1], &zero_stat, sizeof(zero_stat));
  assert_true(S_ISREG(wt->curr[1].mode));
  assert_int_equal(wt->curr[1].size, 1);
  watch_teardown(loop);
}

ART_TEST(reports_disappearing_path) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  watch_setup(loop);
  wt->unlink_after_first = 1;
  append_byte(wt->tmp.file);
  assert_int_equal(art_fs_poll_start(&wt->poll, record, wt->tmp.file, 5), 0);
  assert_int_equal(art_timer_start(&wt->toucher, touch_cb, 10, 10), 0);
  int want = 2;
  assert_true(art_test_run_until(loop, 10000, calls_at_least, &want));
  assert_int_equal(wt->statuses[0], 0);
  assert_int_equal(wt->statuses[1], ART_ENOENT);
  assert_memory_equal(&wt->curr[1], &zero_stat, sizeof(zero_stat));
  /* prev is the last stat seen before it went. */
  assert_int_equal(wt->prev[1].ino, wt->curr[0].ino);
  assert_int_equal(wt->prev[1].size, wt->curr[0].size);
  watch_teardown(loop);
}

static int ticks_at_least(void *arg) {
  return wt->ticks >= *(int *)arg;
}

ART_TEST(no_callback_after_close) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  watch_setup(loop);
  wt->close_in_cb = 1;
  append_byte(wt->tmp.file);
  assert_int_equal(art_fs_poll_start(&wt->poll, record, wt->tmp.file, 1), 0);
  assert_int_equal(art_timer_start(&wt->toucher, touch_cb, 2, 2), 0);
  int want = 1;
  assert_true(art_test_run_until(loop, 10000, calls_at_least, &want));
  /* The file keeps changing for many more intervals. */
  want = wt->ticks + 20;
  assert_true(art_test_run_until(loop, 10000, ticks_at_least, &want));
  assert_int_equal(wt->calls, 1);
  watch_teardown(loop);
}

static void never_called(art_fs_poll_t *h, int status, const art_stat_t *prev,
                         const art_stat_t *curr) {
  fail_msg("callback after close");
}

ART_TEST(close_with_stat_in_flight) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_poll_t *h = malloc(sizeof(*h));
  assert_non_null(h);
  /* A path that does not exist would call back at once: close first. */
  assert_int_equal(art_fs_poll_init(loop, h), 0);
  assert_int_equal(art_fs_poll_start(h, never_called, "/nonexistent/x", 1), 0);
  assert_int_equal(art_close((art_handle_t *)h, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  free(h);
}

ART_TEST(stop_and_restart) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  watch_setup(loop);
  assert_int_equal(art_fs_poll_start(&wt->poll, record, wt->tmp.file, 5), 0);
  assert_int_equal(art_fs_poll_stop(&wt->poll), 0);
  assert_false(art_is_active((art_handle_t *)&wt->poll));
  assert_int_equal(art_fs_poll_stop(&wt->poll), 0);
  /* Stopped: nothing keeps the loop alive and no callback comes. */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(wt->calls, 0);
  assert_int_equal(
      art_fs_poll_start(&wt->poll, create_on_enoent, wt->tmp.file, 5), 0);
  int want = 2;
  assert_true(art_test_run_until(loop, 10000, calls_at_least, &want));
  assert_int_equal(wt->statuses[1], 0);
  watch_teardown(loop);
}

ART_TEST(getpath) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_poll_t h;
  char buf[64];
  size_t size = sizeof(buf);
  assert_int_equal(art_fs_poll_init(loop, &h), 0);
  assert_int_equal(art_fs_poll_getpath(&h, buf, &size), ART_EINVAL);
  assert_int_equal(art_fs_poll_start(&h, never_called, "/", 1000), 0);
  assert_int_equal(art_fs_poll_getpath(&h, buf, &size), 0);
  assert_string_equal(buf, "/");
  assert_int_equal(size, 1);
  size = 1;
  assert_int_equal(art_fs_poll_getpath(&h, buf, &size), ART_ENOBUFS);
  assert_int_equal(size, 2);
  assert_int_equal(art_fs_poll_getpath(NULL, buf, &size), ART_EINVAL);
  assert_int_equal(art_fs_poll_getpath(&h, NULL, &size), ART_EINVAL);
  assert_int_equal(art_fs_poll_getpath(&h, buf, NULL), ART_EINVAL);
  art_close((art_handle_t *)&h, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(unreferenced_poll_does_not_keep_loop_alive) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_poll_t h;
  assert_int_equal(art_fs_poll_init(loop, &h), 0);
  assert_int_equal(art_fs_poll_start(&h, never_called, "/", 1000), 0);
  art_unref((art_handle_t *)&h);
  /* Returns once the first stat is back, without waiting an interval. */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  art_close((art_handle_t *)&h, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_poll_t h;
  assert_int_equal(art_fs_poll_init(NULL, &h), ART_EINVAL);
  assert_int_equal(art_fs_poll_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_fs_poll_start(NULL, never_called, "/", 1), ART_EINVAL);
  assert_int_equal(art_fs_poll_stop(NULL), ART_EINVAL);
  assert_int_equal(art_fs_poll_init(loop, &h), 0);
  assert_int_equal(art_fs_poll_start(&h, NULL, "/", 1), ART_EINVAL);
  assert_int_equal(art_fs_poll_start(&h, never_called, NULL, 1), ART_EINVAL);
  assert_int_equal(art_fs_poll_start(&h, never_called, "/", 0), ART_EINVAL);
  assert_int_equal(art_fs_poll_start(&h, never_called, "/", 1000), 0);
  assert_int_equal(art_fs_poll_start(&h, never_called, "/", 1000), ART_EBUSY);
  assert_int_equal(art_close((art_handle_t *)&h, NULL), 0);
  assert_int_equal(art_fs_poll_start(&h, never_called, "/", 1000), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_fs_poll_start(&h, never_called, "/", 1000), ART_EINVAL);
  assert_int_equal(art_fs_poll_stop(&h), 0); /* closed: already stopped */
  assert_int_equal(art_handle_size(ART_FS_POLL), sizeof(art_fs_poll_t));
}

/* Every fs_poll function given a handle of another type refuses it
 * without touching memory past that handle (helpers/handle.h). */
ART_TEST(wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  art_fs_poll_t *fp = (art_fs_poll_t *)idle;
  char buf[64];
  size_t size = sizeof(buf);
  assert_int_equal(art_fs_poll_start(fp, never_called, "/", 1000), ART_EINVAL);
  assert_int_equal(art_fs_poll_stop(fp), ART_EINVAL);
  assert_int_equal(art_fs_poll_getpath(fp, buf, &size), ART_EINVAL);
  close_and_run(loop, (art_handle_t *)idle);
}
