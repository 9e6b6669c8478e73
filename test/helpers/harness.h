/* The shared test fixture. Every test gets a fresh loop; at the end the
 * fixture asserts that art_loop_close returns 0 (no handle or request left
 * behind) and that the process has exactly the fds it had before the test.
 *
 * A suite is test_<area>.c. Tests are written as ART_TEST(name) at the start
 * of a line, which is how test/CMakeLists.txt finds them and registers each
 * as its own ctest entry (<area>.<name>). A suite that starts threads says
 * ART_SUITE_THREADS somewhere in a comment, and then also runs under TSan.
 */
#ifndef ART_TEST_HELPERS_HARNESS_H
#define ART_TEST_HELPERS_HARNESS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "asyncrt.h"

#define ART_TEST(name) static void name(void **state)
#define ART_TEST_ENTRY(name)                                                   \
  cmocka_unit_test_setup_teardown(name, art_test_setup, art_test_teardown)
#define ART_TEST_LOOP(state) (((art_test_ctx_t *)*(state))->loop)
#define ART_ARRAY_SIZE(a)    (sizeof(a) / sizeof((a)[0]))

typedef struct {
  art_loop_t *loop;
  int fds_before;
} art_test_ctx_t;

int art_test_setup(void **state);
int art_test_teardown(void **state);

/* Runs the tests, or only the one named by argv[1]. */
int art_test_main(int argc, char **argv, const char *group,
                  const struct CMUnitTest *tests, size_t count);

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
