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

/* The tests of this executable, in line order, as their ART_TEST
 * constructors registered them; and the suite's optional hooks. */
static art_test_entry_t *tests;
static size_t test_count;
static void (*hook_before)(void);
static void (*hook_after)(void);

/* Called from each ART_TEST's constructor, before main. Inserting by line
 * keeps the run order the written order whatever order the constructors
 * run in. */
void art_test__register(art_test_entry_t *test) {
  art_test_entry_t **at = &tests;
  while (*at != NULL && (*at)->line < test->line)
    at = &(*at)->next;
  test->next = *at;
  *at = test;
  test_count++;
}

void art_test__set_hooks(void (*before)(void), void (*after)(void)) {
  hook_before = before;
  hook_after = after;
}

static int test_setup(void **state) {
  if (hook_before != NULL)
    hook_before();
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

static int test_teardown(void **state) {
  art_test_ctx_t *ctx = *state;
  if (hook_after != NULL)
    hook_after();
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

/* The suite's name: the executable's name without its test_ prefix, which
 * is also the first part of its ctest entries' names. */
static const char *suite_name(const char *argv0) {
  const char *base = strrchr(argv0, '/');
  base = base != NULL ? base + 1 : argv0;
  return strncmp(base, "test_", 5) == 0 ? base + 5 : base;
}

/* CMake registers one ctest entry per ART_TEST line it finds in the source
 * and passes their number in ART_TEST_COUNT. A test the macro registered
 * but CMake missed (an ART_TEST not at the start of a line, or one made by
 * another macro) would never run under ctest, so every entry fails until
 * the two agree. Run by hand, without the variable, nothing is checked. */
static int check_ctest_count(const char *suite) {
  const char *expected = getenv("ART_TEST_COUNT");
  if (expected == NULL || strtoul(expected, NULL, 10) == test_count)
    return 0;
  fprintf(stderr,
          "%s: ctest has %s entries but the suite has %zu tests; write each "
          "as ART_TEST(name) at the start of a line\n",
          suite, expected, test_count);
  return 1;
}

/* Runs every test, or only the one named by argv[1] (how ctest runs each
 * entry); --list prints the names. A name that is not a test of the suite
 * fails rather than running nothing and passing. */
int main(int argc, char **argv) {
  const char *suite = suite_name(argv[0]);
  const art_test_entry_t *t;
  if (argc > 1 && strcmp(argv[1], "--list") == 0) {
    for (t = tests; t != NULL; t = t->next)
      printf("%s\n", t->name);
    return 0;
  }
  if (check_ctest_count(suite) != 0)
    return 1;
  if (argc > 1) {
    for (t = tests; t != NULL && strcmp(t->name, argv[1]) != 0; t = t->next)
      ;
    if (t == NULL) {
      fprintf(stderr, "%s: no test named '%s'\n", suite, argv[1]);
      return 1;
    }
    cmocka_set_test_filter(argv[1]);
  }
  struct CMUnitTest *list = calloc(test_count + 1, sizeof(*list));
  if (list == NULL)
    return 1;
  size_t i = 0;
  for (t = tests; t != NULL; t = t->next, i++) {
    list[i].name = t->name;
    list[i].test_func = t->fn;
    list[i].setup_func = test_setup;
    list[i].teardown_func = test_teardown;
  }
  int failed = _cmocka_run_group_tests(suite, list, test_count, NULL, NULL);
  free(list);
  return failed;
}

static long fail_after = -1;
static int failed;
static long alloc_calls; /* library allocations since the allocator was set */

/* Counts an allocation and says whether it is the one to fail. */
static int should_fail(void) {
  alloc_calls++;
  if (fail_after == 0) {
    failed = 1;
    return 1;
  }
  if (fail_after > 0)
    fail_after--;
  return 0;
}

static void *failing_malloc(size_t n) {
  return should_fail() ? NULL : malloc(n);
}

static void *failing_realloc(void *p, size_t n) {
  return should_fail() ? NULL : realloc(p, n);
}

static void *failing_calloc(size_t c, size_t n) {
  return should_fail() ? NULL : calloc(c, n);
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
