/* The version of libasyncrt.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_VERSION_H
#define ASYNCRT_VERSION_H

/* The release, MAJOR.MINOR.PATCH. */
#define ART_VERSION_MAJOR 0
#define ART_VERSION_MINOR 1
#define ART_VERSION_PATCH 0

/* The release as one number, 0xMMmmpp, for comparisons in #if. */
#define ART_VERSION_HEX                                                        \
  ((ART_VERSION_MAJOR << 16) | (ART_VERSION_MINOR << 8) | ART_VERSION_PATCH)

#endif /* ASYNCRT_VERSION_H */
