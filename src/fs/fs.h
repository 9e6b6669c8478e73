/* Internal interface of the file-system requests: src/fs.c sets requests up
 * and completes them, src/fs_ops.c and src/fs_dir.c run the system calls. */
#ifndef ART_FS_INTERNAL_H
#define ART_FS_INTERNAL_H

#include <errno.h>

#include "internal.h"

#define ART_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Retries a system call interrupted by a signal; leaves its result in r. */
#define ART__NOINTR(r, call)                                                   \
  do                                                                           \
    (r) = (call);                                                              \
  while ((r) == -1 && errno == EINTR)

/* Runs the request's operation on the calling thread and returns its
 * result (also stored in req->result). */
ssize_t art__fs_execute(art_fs_t *req) ART__HIDDEN;

/* The directory operations of src/fs_dir.c, called by art__fs_execute. */
ssize_t art__fs_scandir(art_fs_t *req) ART__HIDDEN;
ssize_t art__fs_opendir(art_fs_t *req) ART__HIDDEN;
ssize_t art__fs_readdir(art_fs_t *req) ART__HIDDEN;
ssize_t art__fs_closedir(art_fs_t *req) ART__HIDDEN;

/* Frees the names that scandir or readdir allocated. */
void art__fs_dir_cleanup(art_fs_t *req) ART__HIDDEN;

/* Whole-file helpers of src/fs_file.c. */
ssize_t art__fs_read_file(art_fs_t *req) ART__HIDDEN;
ssize_t art__fs_write_file(art_fs_t *req) ART__HIDDEN;
ssize_t art__fs_copyfile(art_fs_t *req) ART__HIDDEN;
ssize_t art__fs_sendfile(art_fs_t *req) ART__HIDDEN;

/* Converts what statx returns to the portable art_stat_t (src/fs_ops.c,
 * for the pool's stat and the ring's). */
struct statx;
void art__fs_from_statx(art_stat_t *st, const struct statx *sx) ART__HIDDEN;

/* Runs an asynchronous request as an operation of the loop's io_uring
 * (src/fs_ring.c) when the loop's backend runs whole operations and the
 * request's type is one the ring runs better than the pool; after(req)
 * then runs in the poll phase with req->result set, and its callback must
 * run through it. 0, or ART_ENOTSUP (nothing done: use the pool). */
int art__fs_ring_submit(art_fs_t *req,
                        void (*after)(art_fs_t *req)) ART__HIDDEN;

/* Writes all len bytes of buf to fd at off (-1: its position), looping over
 * short writes. Returns the bytes written or a negative errno if nothing
 * was. */
ssize_t art__fs_write_all(int fd, const char *buf, size_t len,
                          int64_t off) ART__HIDDEN;

#endif
