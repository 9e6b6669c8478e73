/* The version of libasyncrt, written in this one place. CMakeLists.txt reads
 * the four numbers below before its project() call, so the library's file
 * name and soname, the CMake package, the pkg-config file and these macros
 * cannot disagree. Keep each as "#define NAME number" on a line of its own:
 * that is the form CMakeLists.txt parses.
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_VERSION_H
#define ASYNCRT_VERSION_H

/* The release, MAJOR.MINOR.PATCH. While MAJOR is 0, MINOR is the number
 * that moves on an incompatible release (docs/design.md, "ABI and
 * versioning"). */
#define ART_VERSION_MAJOR 0
#define ART_VERSION_MINOR 1
#define ART_VERSION_PATCH 0

/* The release as one number, 0xMMmmpp, for comparisons in #if. */
#define ART_VERSION_HEX                                                        \
  ((ART_VERSION_MAJOR << 16) | (ART_VERSION_MINOR << 8) | ART_VERSION_PATCH)

/* The version of the binary interface: the shared library's soname is
 * libasyncrt.so.<ART_ABI_VERSION>. It moves when a program compiled against
 * the previous headers could misbehave with this library: a public struct
 * changed size, a public field moved, an enumerator changed value, or a
 * function changed or went away. test/abi/layout.txt records the layout it
 * stands for, and the abi.layout test fails when that layout changes while
 * this number does not. */
#define ART_ABI_VERSION 1

#endif /* ASYNCRT_VERSION_H */
