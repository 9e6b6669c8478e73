/* The asynchronous file system, file watching (fs_event) and stat polling (fs_poll).
 * Included by asyncrt.h; include that, not this. */
#ifndef ASYNCRT_FS_H
#define ASYNCRT_FS_H

#include "../asyncrt.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A point in time as the file system keeps it. */
typedef struct {
  long sec;  /* seconds since the epoch */
  long nsec; /* nanoseconds, 0-999,999,999 */
} art_timespec_t;

/* What stat, lstat and fstat report (the fields of libuv's uv_stat_t). */
typedef struct {
  uint64_t dev;            /* device of the file system */
  uint64_t mode;           /* type and permission bits (S_IFMT, 0777...) */
  uint64_t nlink;          /* hard links */
  uint64_t uid;            /* owner */
  uint64_t gid;            /* group */
  uint64_t rdev;           /* device, for device files */
  uint64_t ino;            /* inode number */
  uint64_t size;           /* bytes */
  uint64_t blksize;        /* preferred I/O size */
  uint64_t blocks;         /* 512-byte blocks allocated */
  uint64_t flags;          /* user flags (0 on Linux) */
  uint64_t gen;            /* generation (0 on Linux) */
  art_timespec_t atim;     /* last access */
  art_timespec_t mtim;     /* last modification of the contents */
  art_timespec_t ctim;     /* last change of the inode */
  art_timespec_t birthtim; /* creation, where the file system knows it */
} art_stat_t;

#ifdef __cplusplus
}
#endif

#endif
