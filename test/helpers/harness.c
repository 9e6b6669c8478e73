#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

int art_test_fd_count(void) {
  DIR *d = opendir("/proc/self/fd");
  int n = 0;
  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n - 3; /* ".", "..", and the DIR's own fd */
}

int art_test_setup(void **state) {
  art_test_ctx_t *ctx = calloc(1, sizeof(*ctx));
  if (ctx == NULL)
    return -1;
  ctx->fds_before = art_test_fd_count();
  ctx->loop = malloc(sizeof(*ctx->loop));
  if (ctx->loop == NULL || art_loop_init(ctx->loop) != 0) {
    free(ctx->loop);
    free(ctx);
    return -1;
  }
  *state = ctx;
  return 0;
}

int art_test_teardown(void **state) {
  art_test_ctx_t *ctx = *state;
  int r = art_loop_close(ctx->loop);
  if (r != 0) {
    fprintf(stderr, "art_loop_close: %s; open handles:\n", art_err_name(r));
    art_print_handles(ctx->loop, stderr);
  }
  assert_int_equal(r, 0);
  free(ctx->loop);
  int fds_after = art_test_fd_count();
  assert_int_equal(ctx->fds_before, fds_after);
  free(ctx);
  return 0;
}

/* A name given on the command line must be a test of the suite: a test
 * written as ART_TEST but missing from main's array would otherwise run
 * nothing and pass. */
int art_test_main(int argc, char **argv, const char *group,
                  const struct CMUnitTest *tests, size_t count) {
  if (argc > 1) {
    size_t i = 0;
    while (i < count && strcmp(tests[i].name, argv[1]) != 0)
      i++;
    if (i == count) {
      fprintf(stderr, "%s: no test named '%s' in main's array\n", group,
              argv[1]);
      return 1;
    }
    cmocka_set_test_filter(argv[1]);
  }
  return _cmocka_run_group_tests(group, tests, count, NULL, NULL);
}

static long fail_after = -1;
static int failed;
static long alloc_calls; /* library allocations since the allocator was set */

static void *failing_malloc(size_t n) {
  alloc_calls++;
  if (fail_after == 0) {
    failed = 1;
    return NULL;
  }
  if (fail_after > 0)
    fail_after--;
  return malloc(n);
}

static void *failing_realloc(void *p, size_t n) {
  alloc_calls++;
  if (fail_after == 0) {
    failed = 1;
    return NULL;
  }
  if (fail_after > 0)
    fail_after--;
  return realloc(p, n);
}

static void *failing_calloc(size_t c, size_t n) {
  alloc_calls++;
  if (fail_after == 0) {
    failed = 1;
    return NULL;
  }
  if (fail_after > 0)
    fail_after--;
  return calloc(c, n);
}

void art_test_fail_alloc_after(long n) {
  fail_after = n;
  failed = 0;
  alloc_calls = 0;
  art_replace_allocator(failing_malloc, failing_realloc, failing_calloc, free);
}

int art_test_alloc_failed(void) {
  return failed;
}

void art_test_count_allocs(void) {
  art_test_fail_alloc_after(-1);
}

long art_test_alloc_count(void) {
  return alloc_calls;
}

static void tick_noop(art_timer_t *t) {
  (void)t;
}

/* A repeating, unreferenced timer bounds each blocking poll to 10 ms, so a
 * condition that became true without any further event is still seen; it
 * keeps nothing alive and is closed before returning. */
int art_test_run_until(art_loop_t *loop, unsigned ms, int (*cond)(void *),
                       void *arg) {
  uint64_t deadline = art_hrtime() + (uint64_t)ms * 1000000u;
  art_timer_t tick;
  int have_tick = art_timer_init(loop, &tick) == 0;
  if (have_tick) {
    art_timer_start(&tick, tick_noop, 10, 10);
    art_unref((art_handle_t *)&tick);
  }
  while (!cond(arg) && art_hrtime() < deadline)
    art_run(loop, ART_RUN_ONCE);
  if (have_tick) {
    art_close((art_handle_t *)&tick, NULL);
    art_run(loop, ART_RUN_NOWAIT); /* its close phase */
  }
  return cond(arg);
}
