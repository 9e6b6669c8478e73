/* The allocator hook (art_replace_allocator) and the core's allocation
 * failures: the harness's allocator, installed through the hook, fails the
 * Nth allocation, and N sweeps over every allocating call of the core (the
 * other areas' suites test their own), with 0 to 64 extra fds open (so
 * fd-indexed tables sit at different sizes). Each failure must return
 * ART_ENOMEM, leak nothing (ASan checks at exit), close no fd twice and
 * leave the loop usable. Each test restores the normal allocator. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"

static void restore_allocator(void) {
  assert_int_equal(art_replace_allocator(malloc, realloc, calloc, free), 0);
}

/* Opens n extra fds (dups of stdin's /dev/null or a pipe end). */
static void open_extra(int *fds, int n) {
  for (int i = 0; i < n; i++) {
    fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fds[i] >= 0);
  }
}

static void close_extra(int *fds, int n) {
  for (int i = 0; i < n; i++)
    close(fds[i]);
}

static const int extra_counts[] = {0, 1, 7, 30, 61, 64};

ART_TEST(replace_allocator_bad_arguments) {
  assert_int_equal(art_replace_allocator(NULL, realloc, calloc, free),
                   ART_EINVAL);
  assert_int_equal(art_replace_allocator(malloc, NULL, calloc, free),
                   ART_EINVAL);
  assert_int_equal(art_replace_allocator(malloc, realloc, NULL, free),
                   ART_EINVAL);
  assert_int_equal(art_replace_allocator(malloc, realloc, calloc, NULL),
                   ART_EINVAL);
  restore_allocator();
  (void)state;
}

static int fired;

static void count_cb(art_timer_t *t) {
  fired++;
}

/* A loop that came out of a sweep must work: a timer runs on it. */
static void prove_loop_works(art_loop_t *loop) {
  art_timer_t t;
  fired = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, count_cb, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(fired, 1);
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(loop_init_sweep) {
  int extra[64];
  for (size_t k = 0; k < ART_ARRAY_SIZE(extra_counts); k++) {
    open_extra(extra, extra_counts[k]);
    int fds_before = art_test_fd_count();
    for (long n = 0;; n++) {
      art_loop_t loop;
      art_test_fail_alloc_after(n);
      int r = art_loop_init(&loop);
      int failed = art_test_alloc_failed();
      restore_allocator();
      if (!failed) {
        assert_int_equal(r, 0);
        prove_loop_works(&loop);
        assert_int_equal(art_loop_close(&loop), 0);
        assert_true(n > 0);
        break;
      }
      assert_int_equal(r, ART_ENOMEM);
      assert_int_equal(art_test_fd_count(), fds_before);
      /* The failed loop is not a loop. */
      assert_int_equal(art_run(&loop, ART_RUN_NOWAIT), 0);
      assert_int_equal(art_loop_close(&loop), ART_EINVAL);
    }
    assert_int_equal(art_test_fd_count(), fds_before);
    close_extra(extra, extra_counts[k]);
  }
  (void)state;
}

/* art_loop_init with each of its allocations failing in turn: a failed
 * init leaves no fd open, and the one that succeeds closes cleanly. */
ART_TEST(loop_init_allocation_failures) {
  (void)state;
  for (long n = 0; n < 32; n++) {
    art_loop_t l;
    int before = art_test_fd_count();
    art_test_fail_alloc_after(n);
    int err = art_loop_init(&l);
    int failed = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    if (err != 0) {
      assert_int_equal(err, ART_ENOMEM);
      assert_int_equal(art_test_fd_count(), before);
      continue;
    }
    assert_int_equal(art_loop_close(&l), 0);
    assert_int_equal(art_test_fd_count(), before);
    if (!failed)
      return;
  }
  fail_msg("art_loop_init never succeeded");
}

ART_TEST(default_loop_sweep) {
  for (long n = 0;; n++) {
    art_test_fail_alloc_after(n);
    art_loop_t *loop = art_default_loop();
    int failed = art_test_alloc_failed();
    restore_allocator();
    if (!failed) {
      assert_non_null(loop);
      prove_loop_works(loop);
      assert_int_equal(art_loop_close(loop), 0);
      break;
    }
    assert_null(loop);
  }
  (void)state;
}

/* Timer init grows the heap reservation; a failed growth leaves the
 * timers already initialised working. */
ART_TEST(timer_init_sweep) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  enum { N = 40 };
  static art_timer_t t[N];
  int inited = 0, failures = 0;
  fired = 0;
  for (long n = 0; inited < N; n = (n + 1) % 3) {
    art_test_fail_alloc_after(n);
    int r = art_timer_init(loop, &t[inited]);
    int failed = art_test_alloc_failed();
    restore_allocator();
    if (failed) {
      assert_int_equal(r, ART_ENOMEM);
      failures++;
      assert_int_equal(art_timer_init(loop, &t[inited]), 0);
    } else {
      assert_int_equal(r, 0);
    }
    inited++;
  }
  assert_true(failures > 0);
  for (int i = 0; i < N; i++)
    assert_int_equal(art_timer_start(&t[i], count_cb, (uint64_t)i % 2, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(fired, N);
  for (int i = 0; i < N; i++)
    assert_int_equal(art_close((art_handle_t *)&t[i], NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static int seq_next, seq_bad;

static void seq_cb(art_loop_t *loop, void *arg) {
  if ((int)(intptr_t)arg != seq_next)
    seq_bad++;
  seq_next++;
}

/* The tick and microtask rings grow when full; a failed growth keeps the
 * queued tasks, in order. */
ART_TEST(next_tick_growth_sweep) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int queued = 0, failures = 0;
  seq_next = seq_bad = 0;
  for (int i = 0; i < 300; i++) {
    art_test_fail_alloc_after(0);
    int r = art_next_tick(loop, seq_cb, (void *)(intptr_t)queued);
    int failed = art_test_alloc_failed();
    restore_allocator();
    if (failed) {
      assert_int_equal(r, ART_ENOMEM);
      failures++;
      continue;
    }
    assert_int_equal(r, 0);
    queued++;
  }
  /* Every growth failed: the first ring (64) was never allocated. */
  assert_int_equal(queued, 0);
  assert_true(failures == 300);
  for (int i = 0; i < 300; i++) {
    art_test_fail_alloc_after(i % 2 == 0 ? 0 : -1);
    int r = art_queue_microtask(loop, seq_cb, (void *)(intptr_t)queued);
    int failed = art_test_alloc_failed();
    restore_allocator();
    if (failed)
      assert_int_equal(r, ART_ENOMEM);
    else
      queued++;
  }
  assert_true(queued >= 150);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(seq_next, queued);
  assert_int_equal(seq_bad, 0);
}

static int poll_calls;

static void writable_cb(art_poll_t *p, int status, int events) {
  assert_int_equal(status, 0);
  assert_int_equal(events, ART_WRITABLE);
  poll_calls++;
  art_poll_stop(p);
}

/* Watches one fd, failing the 0th, 1st, ... allocation of the attempt
 * until one succeeds. Returns the number of failed attempts. */
static int watch_with_failures(art_loop_t *loop, art_poll_t *p, int fd) {
  int inited = 0;
  for (long n = 0;; n++) {
    art_test_fail_alloc_after(n);
    int r = inited ? 0 : art_poll_init(loop, p, fd);
    if (r == 0) {
      inited = 1;
      r = art_poll_start(p, ART_WRITABLE, writable_cb);
    }
    int failed = art_test_alloc_failed();
    restore_allocator();
    if (!failed) {
      assert_int_equal(r, 0);
      return (int)n;
    }
    assert_int_equal(r, ART_ENOMEM);
    if (inited)
      assert_int_equal(art_is_active((art_handle_t *)p), 0);
  }
}

/* Poll handles on many fds, each registration swept over its allocations:
 * every failure is ART_ENOMEM and leaves the handle inactive; the retry
 * succeeds; every fd then reports writable, with no allocation at all. */
ART_TEST(poll_many_fds_sweep) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  enum { N = 150 };
  static art_poll_t p[N];
  static int sv[N][2];
  int extra[64], failures = 0;
  for (size_t k = 0; k < ART_ARRAY_SIZE(extra_counts); k++) {
    open_extra(extra, extra_counts[k]);
    poll_calls = 0;
    for (int i = 0; i < N; i++) {
      assert_int_equal(
          socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[i]), 0);
      failures += watch_with_failures(loop, &p[i], sv[i][0]);
    }
    art_test_fail_alloc_after(0);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    assert_int_equal(art_test_alloc_failed(), 0);
    restore_allocator();
    assert_int_equal(poll_calls, N);
    for (int i = 0; i < N; i++)
      assert_int_equal(art_close((art_handle_t *)&p[i], NULL), 0);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    for (int i = 0; i < N; i++) {
      close(sv[i][0]);
      close(sv[i][1]);
    }
    close_extra(extra, extra_counts[k]);
  }
  assert_true(failures > 0);
}
