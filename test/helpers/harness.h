/* The shared test fixture. Every test gets a fresh loop; at the end the
 * fixture asserts that art_loop_close returns 0 (no handle or request left
 * behind) and that the process has exactly the fds it had before the test.
 *
 * A suite is test_<area>.c, or test_<area>_<aspect>.c when an area has
 * several. A test is written once, as ART_TEST(name) at the start of a line:
 * the macro registers it with the harness before main runs (the harness
 * supplies main, so a suite has no list of its tests), and the same line is
 * how test/helpers/harness.cmake finds it and registers it as its own ctest
 * entry (<area>.<name>). A suite that starts threads says ART_SUITE_THREADS
 * somewhere in a comment, and its entries get the label "threads".
 */
#ifndef ART_TEST_HELPERS_HARNESS_H
#define ART_TEST_HELPERS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "asyncrt.h"

/* One test as ART_TEST registers it. */
typedef struct art_test_entry {
  const char *name;            /* the function's name and its ctest filter */
  void (*fn)(void **state);    /* the test */
  int line;                    /* where it is written; tests run by line */
  struct art_test_entry *next; /* the next test by line */
} art_test_entry_t;

void art_test__register(art_test_entry_t *test);
void art_test__set_hooks(void (*before)(void), void (*after)(void));

/* Defines the test function name(void **state) and registers it from a
 * constructor, so the name is written in this one place. Constructors run
 * in no promised order; the harness sorts by line instead. */
#define ART_TEST(name)                                                         \
  static void name(void **state);                                              \
  static art_test_entry_t art_test__entry_##name = {#name, name, __LINE__,     \
                                                    NULL};                     \
  __attribute__((constructor)) static void art_test__register_##name(void) {   \
    art_test__register(&art_test__entry_##name);                               \
  }                                                                            \
  static void name(void **state)

/* For a suite whose tests need more than a fresh loop: before() runs ahead
 * of each test's set-up and after() ahead of its checks, so the harness's
 * checks still run last and cannot be skipped. At most once per suite; the
 * trailing _Static_assert only gives the caller's semicolon a declaration
 * to end. */
#define ART_SUITE_HOOKS(before, after)                                         \
  __attribute__((constructor)) static void art_test__suite_hooks(void) {       \
    art_test__set_hooks(before, after);                                        \
  }                                                                            \
  _Static_assert(1, "ART_SUITE_HOOKS")

#define ART_TEST_LOOP(state) (((art_test_ctx_t *)*(state))->loop)
#define ART_ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))

typedef struct {
  art_loop_t *loop;
  int fds_before;
} art_test_ctx_t;

/* Number of open fds of this process. */
int art_test_fd_count(void);

/* Installs an allocator that fails the nth allocation from now (0: the next
 * one); -1 never fails. art_test_alloc_failed() tells whether it did. */
void art_test_fail_alloc_after(long n);
int art_test_alloc_failed(void);

/* Installs the same allocator, never failing, and counts from zero every
 * malloc/realloc/calloc the library makes; art_test_alloc_count() reads the
 * count (art_test_fail_alloc_after also restarts it). */
void art_test_count_allocs(void);
long art_test_alloc_count(void);

/* Runs the loop one iteration at a time until cond(arg) is true or ms
 * pass. Returns cond(arg). */
int art_test_run_until(art_loop_t *loop, unsigned ms, int (*cond)(void *),
                       void *arg);

#endif
