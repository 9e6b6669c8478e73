/* Error codes are negative errno values; this file names them. */
#include "base.h"

#define ART__ERR_TEXT(name, text)                                              \
  case ART_##name:                                                             \
    return text;
#define ART__ERR_NAME(name, text)                                              \
  case ART_##name:                                                             \
    return #name;

const char *art_strerror(int err) {
  switch (err) {
    ART_ERRNO_MAP(ART__ERR_TEXT)
    ART_EAI_MAP(ART__ERR_TEXT) /* resolver codes, include/asyncrt/dns.h */
  case ART_EOF:
    return "end of file";
  }
  return "unknown error";
}

const char *art_err_name(int err) {
  switch (err) {
    ART_ERRNO_MAP(ART__ERR_NAME)
    ART_EAI_MAP(ART__ERR_NAME)
  case ART_EOF:
    return "EOF";
  }
  return "UNKNOWN";
}

unsigned art_version(void) {
  return ART_VERSION_HEX;
}

#define ART__STR2(x) #x
#define ART__STR(x)  ART__STR2(x)
const char *art_version_string(void) {
  return ART__STR(ART_VERSION_MAJOR) "." ART__STR(
      ART_VERSION_MINOR) "." ART__STR(ART_VERSION_PATCH);
}
