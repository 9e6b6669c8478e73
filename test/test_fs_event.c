/* art_fs_event_t: file and folder watching with inotify. Create, modify,
 * rename and delete in a folder; a watched file; recursive watching with
 * subfolders made later; handles sharing a folder; closing from inside a
 * callback; argument checks. Each test watches its own mkdtemp folder. */
#include <limits.h>
#include <sys/stat.h>

#include "helpers/fs.h"
#include "helpers/harness.h"

/* Each test runs in a fresh folder, dir (helpers/fs.h). */
ART_SUITE_HOOKS(fs_test_before, fs_test_after);

/* Scratch path buffers (the test's folder is helpers/fs.h's dir). */
static char p1[PATH_MAX];

/* Every event seen, as "name:R" / "name:C" / "name:RC" lines. */
static char seen[16384];
static int calls;

static void record(art_fs_event_t *h, const char *name, int events,
                   int status) {
  assert_int_equal(status, 0);
  assert_non_null(name);
  calls++;
  size_t n = strlen(seen);
  snprintf(seen + n, sizeof(seen) - n, "%s:%s%s\n", name,
           (events & ART_RENAME) ? "R" : "", (events & ART_CHANGE) ? "C" : "");
}

/* True once the line ("name:R") was recorded. */
static int saw(const char *line) {
  char want[PATH_MAX + 8];
  snprintf(want, sizeof(want), "\n%s\n", line);
  return strncmp(seen, want + 1, strlen(want + 1)) == 0 ||
         strstr(seen, want) != NULL;
}

static int saw_cb(void *line) {
  return saw(line);
}

static void noop_timer(art_timer_t *t) {}

/* Runs the loop until line was recorded (a timer wakes it so the deadline
 * is seen); the deadline is only for liveness. */
static int wait_for(art_loop_t *loop, const char *line) {
  art_timer_t t;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, noop_timer, 10, 10), 0);
  int ok = art_test_run_until(loop, 5000, saw_cb, (void *)line);
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_NOWAIT);
  if (!ok)
    fprintf(stderr, "waiting for %s, saw:\n%s", line, seen);
  return ok;
}

/* Lets whatever is queued be delivered: iterations for 50 ms. */
static int settled;

static void settle_timer(art_timer_t *t) {
  settled = 1;
}

static int is_settled(void *arg) {
  return settled;
}

static void settle(art_loop_t *loop) {
  art_timer_t t;
  settled = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, settle_timer, 50, 10), 0);
  assert_true(art_test_run_until(loop, 5000, is_settled, NULL));
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_NOWAIT);
}

static void close_handle(art_loop_t *loop, art_fs_event_t *h) {
  assert_int_equal(art_close((art_handle_t *)h, NULL), 0);
  art_run(loop, ART_RUN_NOWAIT);
}

static void reset(void) {
  seen[0] = '\0';
  calls = 0;
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t h;
  char buf[8];
  size_t size = sizeof(buf);
  assert_int_equal(art_fs_event_init(NULL, &h), ART_EINVAL);
  assert_int_equal(art_fs_event_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_fs_event_start(NULL, record, dir, 0), ART_EINVAL);
  assert_int_equal(art_fs_event_stop(NULL), ART_EINVAL);
  assert_int_equal(art_fs_event_init(loop, &h), 0);
  assert_int_equal(art_fs_event_start(&h, NULL, dir, 0), ART_EINVAL);
  assert_int_equal(art_fs_event_start(&h, record, NULL, 0), ART_EINVAL);
  assert_int_equal(art_fs_event_start(&h, record, dir, 64), ART_EINVAL);
  assert_int_equal(art_fs_event_getpath(&h, buf, &size), ART_EINVAL);
  assert_int_equal(art_fs_event_stop(&h), 0); /* not started: no-op */
  assert_int_equal(art_fs_event_start(&h, record, in_dir(p1, "none"), 0),
                   ART_ENOENT);
  assert_int_equal(art_is_active((art_handle_t *)&h), 0);
  assert_int_equal(art_fs_event_start(&h, record, dir, 0), 0);
  assert_int_equal(art_is_active((art_handle_t *)&h), 1);
  assert_int_equal(art_fs_event_start(&h, record, dir, 0), ART_EINVAL);
  assert_int_equal(art_fs_event_getpath(&h, NULL, &size), ART_EINVAL);
  assert_int_equal(art_fs_event_getpath(&h, buf, NULL), ART_EINVAL);
  close_handle(loop, &h);
  assert_int_equal(art_fs_event_start(&h, record, dir, 0), ART_EINVAL);
  assert_int_equal(art_fs_event_stop(&h), 0); /* closed: already stopped */
  assert_int_equal(art_fs_event_getpath(&h, buf, &size), ART_EINVAL);
}

/* The loop's inotify fd is close-on-exec and non-blocking, made once per
 * loop whatever the number of handles, and closed with the loop (the
 * fixture's fd count checks that). */
ART_TEST(inotify_fd_flags) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t a, b;
  int before = art_test_fd_count();
  assert_int_equal(art_fs_event_init(loop, &a), 0);
  assert_int_equal(art_fs_event_init(loop, &b), 0);
  assert_int_equal(art_fs_event_start(&a, record, dir, 0), 0);
  assert_int_equal(art_fs_event_start(&b, record, dir, 0), 0);
  assert_int_equal(art_test_fd_count(), before + 1);
  int found = 0;
  for (int fd = 0; fd < 1024; fd++) {
    char link[64], target[64];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    if (n <= 0)
      continue;
    target[n] = '\0';
    if (strcmp(target, "anon_inode:inotify") != 0)
      continue;
    found++;
    assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
  }
  assert_int_equal(found, 1);
  close_handle(loop, &a);
  close_handle(loop, &b);
}

ART_TEST(getpath) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t h;
  assert_int_equal(art_fs_event_init(loop, &h), 0);
  assert_int_equal(art_fs_event_start(&h, record, dir, 0), 0);
  char small[4], big[PATH_MAX];
  size_t size = sizeof(small);
  assert_int_equal(art_fs_event_getpath(&h, small, &size), ART_ENOBUFS);
  assert_int_equal(size, strlen(dir) + 1);
  size = sizeof(big);
  assert_int_equal(art_fs_event_getpath(&h, big, &size), 0);
  assert_string_equal(big, dir);
  assert_int_equal(size, strlen(dir));
  close_handle(loop, &h);
}

ART_TEST(create_modify_rename_delete) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t h;
  char p2[PATH_MAX];
  reset();
  assert_int_equal(art_fs_event_init(loop, &h), 0);
  assert_int_equal(art_fs_event_start(&h, record, dir, 0), 0);
  fs_test_put(in_dir(p1, "a.txt"), "one");
  assert_true(wait_for(loop, "a.txt:R"));
  assert_true(wait_for(loop, "a.txt:C"));
  reset();
  int fd = open(p1, O_WRONLY | O_APPEND | O_CLOEXEC);
  assert_int_equal(write(fd, "two", 3), 3);
  close(fd);
  assert_true(wait_for(loop, "a.txt:C"));
  reset();
  assert_int_equal(rename(p1, in_dir(p2, "b.txt")), 0);
  assert_true(wait_for(loop, "a.txt:R"));
  assert_true(wait_for(loop, "b.txt:R"));
  reset();
  assert_int_equal(unlink(p2), 0);
  assert_true(wait_for(loop, "b.txt:R"));
  reset();
  assert_int_equal(mkdir(in_dir(p1, "sub"), 0700), 0);
  assert_true(wait_for(loop, "sub:R"));
  assert_int_equal(chmod(p1, 0750), 0);
  assert_true(wait_for(loop, "sub:C"));
  close_handle(loop, &h);
}

ART_TEST(watch_a_file) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t h;
  reset();
  fs_test_put(in_dir(p1, "watched.log"), "x");
  assert_int_equal(art_fs_event_init(loop, &h), 0);
  assert_int_equal(art_fs_event_start(&h, record, p1, 0), 0);
  fs_test_put(p1, "changed");
  assert_true(wait_for(loop, "watched.log:C"));
  reset();
  char p2[PATH_MAX];
  assert_int_equal(rename(p1, in_dir(p2, "moved.log")), 0);
  assert_true(wait_for(loop, "watched.log:R"));
  close_handle(loop, &h);
}

ART_TEST(recursive_tree) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t rec, flat;
  reset();
  assert_int_equal(mkdir(in_dir(p1, "x"), 0700), 0);
  assert_int_equal(mkdir(in_dir(p1, "x/deep"), 0700), 0);
  assert_int_equal(art_fs_event_init(loop, &rec), 0);
  assert_int_equal(art_fs_event_init(loop, &flat), 0);
  assert_int_equal(
      art_fs_event_start(&rec, record, dir, ART_FS_EVENT_RECURSIVE), 0);
  /* A plain handle on the same folder sees only its direct entries. */
  assert_int_equal(art_fs_event_start(&flat, record, dir, 0), 0);
  fs_test_put(in_dir(p1, "x/deep/f1"), "1");
  assert_true(wait_for(loop, "x/deep/f1:R"));
  /* A folder made later, with a folder and a file made inside it at once,
   * before the watch could exist. */
  assert_int_equal(mkdir(in_dir(p1, "y"), 0700), 0);
  assert_int_equal(mkdir(in_dir(p1, "y/z"), 0700), 0);
  fs_test_put(in_dir(p1, "y/z/f2"), "2");
  assert_true(wait_for(loop, "y:R"));
  assert_true(wait_for(loop, "y/z:R"));
  assert_true(wait_for(loop, "y/z/f2:R"));
  /* Now watched like the rest. */
  reset();
  fs_test_put(in_dir(p1, "y/z/f3"), "3");
  assert_true(wait_for(loop, "y/z/f3:R"));
  fs_test_put(in_dir(p1, "y/z/f2"), "changed");
  assert_true(wait_for(loop, "y/z/f2:C"));
  /* A folder moved within the tree is followed under its new name. */
  reset();
  char p2[PATH_MAX];
  assert_int_equal(rename(in_dir(p1, "y"), in_dir(p2, "w")), 0);
  assert_true(wait_for(loop, "w:R"));
  fs_test_put(in_dir(p1, "w/z/f4"), "4");
  assert_true(wait_for(loop, "w/z/f4:R"));
  assert_false(saw("z/f4:R")); /* only the recursive handle's name */
  close_handle(loop, &rec);
  close_handle(loop, &flat);
}

/* A subtree removed and made again under a recursive watch: the removal
 * is reported by the parents, the kernel's dropped watches are forgotten,
 * and the new folder of the same name is watched afresh. */
ART_TEST(recursive_subtree_removed_and_remade) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t h;
  reset();
  assert_int_equal(mkdir(in_dir(p1, "x"), 0700), 0);
  assert_int_equal(mkdir(in_dir(p1, "x/y"), 0700), 0);
  fs_test_put(in_dir(p1, "x/y/f"), "1");
  assert_int_equal(art_fs_event_init(loop, &h), 0);
  assert_int_equal(art_fs_event_start(&h, record, dir, ART_FS_EVENT_RECURSIVE),
                   0);
  fs_test_rmtree(in_dir(p1, "x"));
  assert_true(wait_for(loop, "x/y/f:R"));
  assert_true(wait_for(loop, "x/y:R"));
  assert_true(wait_for(loop, "x:R"));
  settle(loop);
  assert_false(saw("y:R")); /* subfolders do not report themselves */
  reset();
  assert_int_equal(mkdir(in_dir(p1, "x"), 0700), 0);
  assert_true(wait_for(loop, "x:R"));
  fs_test_put(in_dir(p1, "x/g"), "2");
  assert_true(wait_for(loop, "x/g:R"));
  close_handle(loop, &h);
}

/* Closing the handle in its first callback: nothing more arrives, though
 * more events were already waiting. */
static void close_on_first(art_fs_event_t *h, const char *name, int events,
                           int status) {
  calls++;
  assert_int_equal(art_close((art_handle_t *)h, NULL), 0);
}

ART_TEST(no_callback_after_close) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t h;
  reset();
  assert_int_equal(art_fs_event_init(loop, &h), 0);
  assert_int_equal(art_fs_event_start(&h, close_on_first, dir, 0), 0);
  for (int i = 0; i < 5; i++) {
    char name[16];
    snprintf(name, sizeof(name), "f%d", i);
    fs_test_put(in_dir(p1, name), "x");
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(calls, 1);
}

/* Two handles on one folder share inotify's watch: stopping one keeps the
 * other working, and one closing the other mid-delivery silences it. */
static art_fs_event_t pair[2];

static void close_other(art_fs_event_t *h, const char *name, int events,
                        int status) {
  calls++;
  art_fs_event_t *other = h == &pair[0] ? &pair[1] : &pair[0];
  if (!art_is_closing((art_handle_t *)other))
    art_close((art_handle_t *)other, NULL);
}

ART_TEST(handles_share_a_folder) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  reset();
  for (int i = 0; i < 2; i++) {
    assert_int_equal(art_fs_event_init(loop, &pair[i]), 0);
    assert_int_equal(art_fs_event_start(&pair[i], record, dir, 0), 0);
  }
  fs_test_put(in_dir(p1, "one"), "");
  assert_true(wait_for(loop, "one:R"));
  settle(loop);
  assert_int_equal(calls, 2); /* the create, once per handle */
  assert_int_equal(art_fs_event_stop(&pair[0]), 0);
  reset();
  fs_test_put(in_dir(p1, "two"), "");
  assert_true(wait_for(loop, "two:R"));
  settle(loop);
  assert_int_equal(calls, 1); /* the create, from pair[1] alone */
  assert_int_equal(art_fs_event_stop(&pair[1]), 0);
  /* Now each closes the other: one event reaches exactly one of them. */
  reset();
  for (int i = 0; i < 2; i++)
    assert_int_equal(art_fs_event_start(&pair[i], close_other, dir, 0), 0);
  assert_int_equal(mkdir(in_dir(p1, "three"), 0700), 0);
  settle(loop);
  assert_int_equal(calls, 1);
  for (int i = 0; i < 2; i++)
    if (!art_is_closing((art_handle_t *)&pair[i]))
      art_close((art_handle_t *)&pair[i], NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

ART_TEST(watched_folder_deleted) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_event_t h;
  reset();
  assert_int_equal(mkdir(in_dir(p1, "gone"), 0700), 0);
  assert_int_equal(art_fs_event_init(loop, &h), 0);
  assert_int_equal(art_fs_event_start(&h, record, p1, 0), 0);
  assert_int_equal(rmdir(p1), 0);
  assert_true(wait_for(loop, "gone:R"));
  settle(loop);
  /* The kernel dropped its watch; stopping is still clean. */
  assert_int_equal(art_fs_event_stop(&h), 0);
  close_handle(loop, &h);
}
