/* art_exec and art_spawn when an allocation fails half-way: whatever was
 * made before the failure (the child, its pipes) is undone, so no fd and no
 * handle is left behind. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "helpers/harness.h"

static int exec_calls;

static void exec_cb(art_exec_t *req, int status) {
  (void)req;
  (void)status;
  exec_calls++;
}

/* Opens fds until the next one is at least floor, so that the loop must
 * grow its fd table (an allocation) to watch it. Returns how many. */
static int fill_fds(int *fds, int max, int floor) {
  int n = 0;
  while (n < max) {
    fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fds[n] >= 0);
    if (fds[n++] >= floor)
      break;
  }
  return n;
}

/* Every allocation of art_exec fails in turn, with the child's pidfd and
 * pipes above the loop's fd table; a failed call leaves the fd count as it
 * was, and the call that finally succeeds runs to its callback. */
ART_TEST(exec_allocation_failures_leak_no_fd) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char *args[] = {"/bin/true", NULL};
  static art_exec_t req;
  int fds[256];
  for (long n = 0; n < 64; n++) {
    int filled = fill_fds(fds, 256, 200);
    int before = art_test_fd_count();
    art_test_fail_alloc_after(n);
    int err = art_exec(loop, &req, "/bin/true", args, NULL, exec_cb);
    int failed = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    if (err != 0)
      assert_int_equal(art_test_fd_count(), before);
    for (int i = 0; i < filled; i++)
      close(fds[i]);
    if (err == 0) {
      exec_calls = 0;
      assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
      assert_int_equal(exec_calls, 1);
      art_exec_cleanup(&req);
      if (!failed)
        return;
    }
  }
  fail_msg("art_exec never succeeded");
}
