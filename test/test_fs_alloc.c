/* Out-of-memory paths of the file-system requests and of fs_event: every
 * allocation an operation makes is failed in turn, and the operation must
 * then report ART_ENOMEM and leave nothing behind (AddressSanitizer's leak
 * check and the fixture's fd count prove the latter). */
#include <limits.h>

#include "helpers/fs.h"
#include "helpers/harness.h"

/* Scratch path buffers (the test's folder is helpers/fs.h's dir). */
static char p1[PATH_MAX];

/* The fs hooks, except that after() first lifts any allocation failure
 * still armed (a test that failed mid-sweep leaves one), so that the
 * harness's checks allocate normally. */
static void alloc_after(void) {
  art_test_fail_alloc_after(-1);
  fs_test_after();
}

ART_SUITE_HOOKS(fs_test_before, alloc_after);

/* Runs op with the nth allocation failing, for n = 0, 1, ... until it
 * succeeds without a failure. Each failed run must give ART_ENOMEM. */
static void sweep(int (*op)(art_fs_t *req)) {
  for (long n = 0; n < 1000; n++) {
    art_fs_t req;
    art_test_fail_alloc_after(n);
    int r = op(&req);
    int hit = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    art_fs_req_cleanup(&req);
    if (!hit) {
      assert_true(r >= 0);
      return;
    }
    assert_int_equal(r, ART_ENOMEM);
  }
  fail_msg("never succeeded");
}

static int op_scandir(art_fs_t *req) {
  return art_fs_scandir(NULL, req, dir, 0, NULL);
}

static int op_read_file(art_fs_t *req) {
  return art_fs_read_file(NULL, req, "/proc/self/maps", NULL);
}

static int op_readlink(art_fs_t *req) {
  return art_fs_readlink(NULL, req, in_dir(p1, "link"), NULL);
}

static int op_realpath(art_fs_t *req) {
  return art_fs_realpath(NULL, req, dir, NULL);
}

static int op_statfs(art_fs_t *req) {
  return art_fs_statfs(NULL, req, dir, NULL);
}

static int op_mkdtemp(art_fs_t *req) {
  return art_fs_mkdtemp(NULL, req, in_dir(p1, "tXXXXXX"), NULL);
}

static int op_write_many(art_fs_t *req) {
  char data[8] = "abcdefgh";
  art_buf_t bufs[8];
  for (int i = 0; i < 8; i++)
    bufs[i] = art_buf_init(data + i, 1);
  int fd = open(in_dir(p1, "w"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  int r = art_fs_write(NULL, req, fd, bufs, 8, 0, NULL);
  close(fd);
  return r;
}

/* A readdir stream over a folder with many entries. */
static int op_readdir(art_fs_t *req) {
  art_fs_t open_req;
  int r = art_fs_opendir(NULL, &open_req, dir, NULL);
  if (r < 0)
    return r;
  art_dir_t *d = open_req.ptr;
  art_dirent_t ents[64];
  d->dirents = ents;
  d->nentries = 64;
  r = art_fs_readdir(NULL, req, d, NULL);
  art_fs_t close_req;
  art_fs_closedir(NULL, &close_req, d, NULL);
  return r;
}

ART_TEST(operations_survive_allocation_failures) {
  char name[32];
  for (int i = 0; i < 40; i++) {
    snprintf(name, sizeof(name), "entry-with-a-long-name-%02d", i);
    fs_test_put(in_dir(p1, name), "");
  }
  char target[300];
  memset(target, 't', sizeof(target) - 1);
  target[sizeof(target) - 1] = '\0';
  assert_int_equal(symlink(target, in_dir(p1, "link")), 0);
  sweep(op_scandir);
  sweep(op_readdir);
  sweep(op_read_file);
  sweep(op_readlink);
  sweep(op_realpath);
  sweep(op_statfs);
  sweep(op_mkdtemp);
  sweep(op_write_many);
}

static void on_event(art_fs_event_t *h, const char *name, int events,
                     int status) {}

/* Starting a recursive watch over a tree allocates the loop's state, the
 * path copy and an entry per folder: each may fail. A failure of the root
 * watch fails the start; folders deeper down are skipped, never leaked. */
ART_TEST(fs_event_start_survives_allocation_failures) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  assert_int_equal(mkdir(in_dir(p1, "a"), 0700), 0);
  assert_int_equal(mkdir(in_dir(p1, "a/b"), 0700), 0);
  assert_int_equal(mkdir(in_dir(p1, "c"), 0700), 0);
  for (long n = 0; n < 1000; n++) {
    art_fs_event_t h;
    assert_int_equal(art_fs_event_init(loop, &h), 0);
    art_test_fail_alloc_after(n);
    int r = art_fs_event_start(&h, on_event, dir, ART_FS_EVENT_RECURSIVE);
    int hit = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    if (r != 0)
      assert_int_equal(r, ART_ENOMEM);
    assert_int_equal(art_is_active((art_handle_t *)&h), r == 0);
    art_close((art_handle_t *)&h, NULL);
    art_run(loop, ART_RUN_NOWAIT);
    if (!hit)
      return;
  }
  fail_msg("never succeeded");
}
