/* Error codes, their names and texts, and the version. */
#include <string.h>

#include "helpers/harness.h"

ART_TEST(codes_are_negative_errno) {
  assert_int_equal(ART_ENOENT, -ENOENT);
  assert_int_equal(ART_EINVAL, -EINVAL);
  assert_int_equal(ART_EAGAIN, -EAGAIN);
  assert_int_equal(ART_EBADF, -EBADF);
  assert_int_equal(ART_ENOMEM, -ENOMEM);
  assert_true(ART_EOF < 0);
  (void)state;
}

ART_TEST(names_and_texts) {
  assert_string_equal(art_err_name(ART_ENOENT), "ENOENT");
  assert_string_equal(art_strerror(ART_ENOENT), "no such file or directory");
  assert_string_equal(art_err_name(ART_EBUSY), "EBUSY");
  assert_string_equal(art_err_name(ART_EOF), "EOF");
  assert_string_equal(art_strerror(ART_EOF), "end of file");
  /* Unknown codes, 0 and positive values get fixed strings. */
  assert_string_equal(art_err_name(-99999), "UNKNOWN");
  assert_string_equal(art_strerror(-99999), "unknown error");
  assert_string_equal(art_err_name(0), "UNKNOWN");
  assert_string_equal(art_err_name(ENOENT), "UNKNOWN");
  (void)state;
}

/* Every code of the map has its own name, matching the macro name, and a
 * real text. */
#define CHECK_ONE(name, text)                                                  \
  assert_string_equal(art_err_name(ART_##name), #name);                        \
  assert_string_equal(art_strerror(ART_##name), text);                         \
  assert_string_not_equal(art_strerror(ART_##name), "unknown error");

ART_TEST(every_mapped_code_is_named) {
  ART_ERRNO_MAP(CHECK_ONE)
  (void)state;
}

ART_TEST(version) {
  char want[32];
  snprintf(want, sizeof(want), "%d.%d.%d", ART_VERSION_MAJOR, ART_VERSION_MINOR,
           ART_VERSION_PATCH);
  assert_string_equal(art_version_string(), want);
  assert_int_equal(art_version(), ART_VERSION_HEX);
  (void)state;
}
