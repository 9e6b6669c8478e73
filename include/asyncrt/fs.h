/* The asynchronous file system, file watching (fs_event) and stat polling
 * (fs_poll). Included by asyncrt.h; include that, not this. */
/* Thread safety. Everything here is called on the loop's thread, except
 * synchronous requests (cb NULL): they run on the calling thread and touch
 * only the request, the caller's strings and buffers and the allocator,
 * never the loop (loop may be NULL), so any thread, a pool worker included,
 * may make one on an art_fs_t of its own, then read it with art_fs_get_*,
 * art_fs_scandir_next and art_fs_req_cleanup. fs_event and fs_poll handles
 * belong to the loop's thread, and so does art_fs_latency's histogram. */
#ifndef ASYNCRT_FS_H
#define ASYNCRT_FS_H

#include <sys/types.h>

#include "core.h"
#include "histogram.h"
#include "threadpool.h"

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

/* What statfs reports (the fields of libuv's uv_statfs_t). */
typedef struct {
  uint64_t type;     /* file system type (f_type magic) */
  uint64_t bsize;    /* optimal transfer block size */
  uint64_t blocks;   /* data blocks in total */
  uint64_t bfree;    /* free blocks */
  uint64_t bavail;   /* free blocks for unprivileged users */
  uint64_t files;    /* inodes in total */
  uint64_t ffree;    /* free inodes */
  uint64_t spare[4]; /* reserved, 0 */
} art_statfs_t;

/* ------------------------------------------------------------------------ */
/* File system requests.                                                    */
/*                                                                          */
/* Every operation takes a caller-allocated art_fs_t and a callback. With a */
/* callback it runs on the work pool's file-system lane, or, on a loop      */
/* whose backend is io_uring, as an operation of the loop's ring where the  */
/* ring runs it faster (open, close, read, write, stat, lstat, fstat,       */
/* fsync, fdatasync, ftruncate, rename, unlink, rmdir, mkdir, link,         */
/* symlink; docs/design.md 5.1 has the rule); cb(req) runs on the loop      */
/* thread in the poll phase; the call itself returns 0, or an error (bad    */
/* arguments, no memory) and then cb is never called. With cb NULL it runs  */
/* at once on the calling thread and returns req->result (clamped to        */
/* INT_MAX; req->result keeps the exact count); loop may then be NULL.      */
/* Either way call art_fs_req_cleanup(req) when done with the result: it    */
/* frees what the request allocated (path copies, buffers).                 */
/*                                                                          */
/* req->result is the byte count, fd, entry count or 0 on success, or a     */
/* negative ART_E* code (the errno of the system call that failed), and     */
/* req->path names the path it concerned. A request in flight can be        */
/* canceled with art_cancel while it waits in the pool's queue, or at any   */
/* time while it is in the ring (the kernel interrupts an open, read or     */
/* write it is blocked in): cb then runs once with req->result ==           */
/* ART_ECANCELED, or with the real result if the operation finished first   */
/* (an open's fd is then the caller's to close). Credentials: an operation  */
/* in the ring runs with those the calling thread had when it made the      */
/* art_fs_* call; one on the pool with the process's when a worker runs it. */
/* Files the library opens are always close-on-exec, and system calls       */
/* interrupted by signals are retried.                                      */

typedef struct art_fs_s art_fs_t;
typedef struct art_dir_s art_dir_t;
typedef void (*art_fs_cb)(art_fs_t *req);

/* The operation a request performs (req->fs_type). */
typedef enum {
  ART_FS_UNKNOWN = -1,
  ART_FS_CUSTOM = 0,
  ART_FS_OPEN,
  ART_FS_CLOSE,
  ART_FS_READ,
  ART_FS_WRITE,
  ART_FS_SENDFILE,
  ART_FS_STAT,
  ART_FS_LSTAT,
  ART_FS_FSTAT,
  ART_FS_FTRUNCATE,
  ART_FS_UTIME,
  ART_FS_FUTIME,
  ART_FS_ACCESS,
  ART_FS_CHMOD,
  ART_FS_FCHMOD,
  ART_FS_FSYNC,
  ART_FS_FDATASYNC,
  ART_FS_UNLINK,
  ART_FS_RMDIR,
  ART_FS_MKDIR,
  ART_FS_MKDTEMP,
  ART_FS_RENAME,
  ART_FS_SCANDIR,
  ART_FS_LINK,
  ART_FS_SYMLINK,
  ART_FS_READLINK,
  ART_FS_CHOWN,
  ART_FS_FCHOWN,
  ART_FS_REALPATH,
  ART_FS_COPYFILE,
  ART_FS_LCHOWN,
  ART_FS_OPENDIR,
  ART_FS_READDIR,
  ART_FS_CLOSEDIR,
  ART_FS_STATFS,
  ART_FS_MKSTEMP,
  ART_FS_LUTIME,
  ART_FS_READ_FILE,
  ART_FS_WRITE_FILE
} art_fs_type;

/* The kind of a directory entry. */
typedef enum {
  ART_DIRENT_UNKNOWN = 0,
  ART_DIRENT_FILE,
  ART_DIRENT_DIR,
  ART_DIRENT_LINK,
  ART_DIRENT_FIFO,
  ART_DIRENT_SOCKET,
  ART_DIRENT_CHAR,
  ART_DIRENT_BLOCK
} art_dirent_type_t;

/* One directory entry, from scandir or readdir. */
typedef struct {
  const char *name;       /* the entry's name, without the folder */
  art_dirent_type_t type; /* what it is (UNKNOWN if the fs does not say) */
} art_dirent_t;

/* An open directory stream (opendir). The caller points dirents at an array
 * of nentries before each readdir, which fills up to nentries of them. */
struct art_dir_s {
  art_dirent_t *dirents; /* the caller's array, filled by readdir */
  size_t nentries;       /* its length */
  /* private */
  void *dir_; /* the DIR * of the C library */
};

/* copyfile flags. */
enum {
  ART_FS_COPYFILE_EXCL = 1,    /* fail with ART_EEXIST if new_path exists */
  ART_FS_COPYFILE_FICLONE = 2, /* try a copy-on-write reflink first */
  ART_FS_COPYFILE_FICLONE_FORCE = 4 /* reflink or fail (ART_ENOTSUP...) */
};

/* symlink flags (meaningful on Windows only; accepted everywhere). */
enum { ART_FS_SYMLINK_DIR = 1, ART_FS_SYMLINK_JUNCTION = 2 };

/* art_fs_write_file flags. */
enum {
  ART_FS_WRITE_FSYNC = 1,  /* fsync before reporting success */
  ART_FS_WRITE_APPEND = 2, /* append instead of truncating */
  ART_FS_WRITE_EXCL = 4    /* fail with ART_EEXIST if the file exists */
};

/* Times for utime, futime, lutime: seconds since the epoch, or one of these
 * to set the current time or leave a time unchanged. */
#define ART_FS_UTIME_NOW  (__builtin_inf())
#define ART_FS_UTIME_OMIT (__builtin_nan(""))

/* The largest file art_fs_read_file reads (bigger ones give ART_ERANGE). */
#define ART_FS_READ_FILE_MAX ((size_t)0x7fffffff)

struct art_fs_s {
  ART_POOL_REQ_FIELDS
  art_fs_type fs_type; /* the operation */
  ssize_t result;      /* bytes, fd, entries or 0; or a negative ART_E* */
  void *ptr;           /* what some operations produce: see each one */
  const char *path;    /* the path operated on (NULL for fd operations) */
  art_stat_t statbuf;  /* stat, lstat, fstat results */
  /* private */
  /* With statbuf, room for the kernel's struct statx when the loop's
   * io_uring runs a stat (src/fs/fs_ring.c). */
  unsigned char statx_[96];
  art_fs_cb cb_;         /* NULL for a synchronous request */
  const char *new_path_; /* second path: rename, link, symlink, copyfile */
  char *owned_;          /* the request's copy of path and new_path */
  art_buf_t *bufs_;      /* read/write buffers: bufsml_ or the heap */
  art_buf_t bufsml_[4];  /* room for few buffers without allocating */
  unsigned nbufs_;       /* buffers in bufs_ */
  int file_;             /* the fd operated on */
  int file_out_;         /* sendfile destination */
  int flags_;            /* open, copyfile, scandir, write_file flags */
  int mode_;             /* open, mkdir, chmod mode; access mode */
  int64_t off_;          /* offset; -1 for the current position */
  size_t len_;           /* sendfile/write_file length; scandir count */
  double atime_;         /* utime access time, seconds */
  double mtime_;         /* utime modification time, seconds */
  uid_t uid_;            /* chown owner */
  gid_t gid_;            /* chown group */
  art_dir_t *dir_;       /* readdir, closedir */
  const void *data_;     /* write_file data (the caller's) */
  size_t pos_;           /* next entry for art_fs_scandir_next */
  char *names_;          /* readdir: one block holding the names */
  void *ring_[14];       /* the operation when the loop's io_uring runs the
                            request (src/fs/fs_ring.c) */
};

/* Frees what the request allocated (paths, buffers, link targets, scandir
 * entries, read_file data). Safe to call twice, and on a request that
 * failed. Never closes files or directory streams. */
ART_EXTERN void art_fs_req_cleanup(art_fs_t *req);

/* The loop's histogram of asynchronous request latency: for every request
 * with a callback, the ns from its submission to its callback (queue wait,
 * the system call, and the wait for the loop's poll phase; canceled
 * requests included). NULL before the loop's first asynchronous request
 * (or if the 5 KB could not be allocated then), and for NULL or closed
 * loops. Recorded and read on the loop's thread; valid until the loop
 * closes; the program may art_histogram_reset it. */
ART_EXTERN art_histogram_t *art_fs_latency(const art_loop_t *loop);

/* Accessors, for bindings: the request's fs_type, result, ptr, path and
 * statbuf fields (owned by the request, valid until art_fs_req_cleanup). */
ART_EXTERN art_fs_type art_fs_get_type(const art_fs_t *req);
ART_EXTERN ssize_t art_fs_get_result(const art_fs_t *req);
ART_EXTERN void *art_fs_get_ptr(const art_fs_t *req);
ART_EXTERN const char *art_fs_get_path(const art_fs_t *req);
ART_EXTERN art_stat_t *art_fs_get_statbuf(art_fs_t *req);

/* Opens path with open(2) flags (O_RDONLY, O_CREAT...; O_CLOEXEC is always
 * added) and mode for new files. result: the fd, which the caller owns and
 * closes (art_fs_close: result 0). */
ART_EXTERN int art_fs_open(art_loop_t *loop, art_fs_t *req, const char *path,
                           int flags, int mode, art_fs_cb cb);
ART_EXTERN int art_fs_close(art_loop_t *loop, art_fs_t *req, int file,
                            art_fs_cb cb);

/* Reads into bufs (the caller's, valid until cb) at offset, or at the
 * file's position when offset is -1. result: bytes read (fewer than asked
 * near the end of the file, 0 at the end), as one read(2) gives them. */
ART_EXTERN int art_fs_read(art_loop_t *loop, art_fs_t *req, int file,
                           const art_buf_t bufs[], unsigned nbufs,
                           int64_t offset, art_fs_cb cb);

/* Writes every byte of bufs at offset (-1: the file's position), looping
 * over short writes. result: bytes written; if an error stops it after
 * some bytes were written, that count (the error is left for the next
 * write to report). */
ART_EXTERN int art_fs_write(art_loop_t *loop, art_fs_t *req, int file,
                            const art_buf_t bufs[], unsigned nbufs,
                            int64_t offset, art_fs_cb cb);

/* Copies up to length bytes from in_fd at in_offset (-1: its position) to
 * out_fd, in the kernel where it can. result: bytes copied. */
ART_EXTERN int art_fs_sendfile(art_loop_t *loop, art_fs_t *req, int out_fd,
                               int in_fd, int64_t in_offset, size_t length,
                               art_fs_cb cb);

/* Copies path to new_path with path's mode. ART_FS_COPYFILE_* flags. A
 * failed copy removes the partly written new_path. */
ART_EXTERN int art_fs_copyfile(art_loop_t *loop, art_fs_t *req,
                               const char *path, const char *new_path,
                               int flags, art_fs_cb cb);

/* Stat results land in req->statbuf (req->ptr points to it). lstat does not
 * follow a final symlink. */
ART_EXTERN int art_fs_stat(art_loop_t *loop, art_fs_t *req, const char *path,
                           art_fs_cb cb);
ART_EXTERN int art_fs_lstat(art_loop_t *loop, art_fs_t *req, const char *path,
                            art_fs_cb cb);
ART_EXTERN int art_fs_fstat(art_loop_t *loop, art_fs_t *req, int file,
                            art_fs_cb cb);

/* req->ptr: an art_statfs_t the request owns. */
ART_EXTERN int art_fs_statfs(art_loop_t *loop, art_fs_t *req, const char *path,
                             art_fs_cb cb);

/* ftruncate(2) to offset bytes, fsync(2), fdatasync(2). result: 0. */
ART_EXTERN int art_fs_ftruncate(art_loop_t *loop, art_fs_t *req, int file,
                                int64_t offset, art_fs_cb cb);
ART_EXTERN int art_fs_fsync(art_loop_t *loop, art_fs_t *req, int file,
                            art_fs_cb cb);
ART_EXTERN int art_fs_fdatasync(art_loop_t *loop, art_fs_t *req, int file,
                                art_fs_cb cb);

/* Sets access and modification times (seconds; ART_FS_UTIME_NOW/OMIT).
 * lutime changes a symlink itself. */
ART_EXTERN int art_fs_utime(art_loop_t *loop, art_fs_t *req, const char *path,
                            double atime, double mtime, art_fs_cb cb);
ART_EXTERN int art_fs_futime(art_loop_t *loop, art_fs_t *req, int file,
                             double atime, double mtime, art_fs_cb cb);
ART_EXTERN int art_fs_lutime(art_loop_t *loop, art_fs_t *req, const char *path,
                             double atime, double mtime, art_fs_cb cb);

/* access(2): mode is F_OK or R_OK|W_OK|X_OK. chmod and fchmod set the
 * permission bits to mode. result: 0. */
ART_EXTERN int art_fs_access(art_loop_t *loop, art_fs_t *req, const char *path,
                             int mode, art_fs_cb cb);
ART_EXTERN int art_fs_chmod(art_loop_t *loop, art_fs_t *req, const char *path,
                            int mode, art_fs_cb cb);
ART_EXTERN int art_fs_fchmod(art_loop_t *loop, art_fs_t *req, int file,
                             int mode, art_fs_cb cb);

/* Owner changes; (uid_t)-1 or (gid_t)-1 leaves that one unchanged. lchown
 * changes a symlink itself. result: 0. */
ART_EXTERN int art_fs_chown(art_loop_t *loop, art_fs_t *req, const char *path,
                            uid_t uid, gid_t gid, art_fs_cb cb);
ART_EXTERN int art_fs_fchown(art_loop_t *loop, art_fs_t *req, int file,
                             uid_t uid, gid_t gid, art_fs_cb cb);
ART_EXTERN int art_fs_lchown(art_loop_t *loop, art_fs_t *req, const char *path,
                             uid_t uid, gid_t gid, art_fs_cb cb);

/* unlink(2), rmdir(2) (ART_ENOTEMPTY for a non-empty folder), and mkdir(2)
 * with mode. result: 0. */
ART_EXTERN int art_fs_unlink(art_loop_t *loop, art_fs_t *req, const char *path,
                             art_fs_cb cb);
ART_EXTERN int art_fs_rmdir(art_loop_t *loop, art_fs_t *req, const char *path,
                            art_fs_cb cb);
ART_EXTERN int art_fs_mkdir(art_loop_t *loop, art_fs_t *req, const char *path,
                            int mode, art_fs_cb cb);

/* Create a unique folder or file from tpl, which must end in "XXXXXX".
 * req->path is the name made (the request's copy). mkstemp's result is
 * the open fd (close-on-exec). */
ART_EXTERN int art_fs_mkdtemp(art_loop_t *loop, art_fs_t *req, const char *tpl,
                              art_fs_cb cb);
ART_EXTERN int art_fs_mkstemp(art_loop_t *loop, art_fs_t *req, const char *tpl,
                              art_fs_cb cb);

/* rename(2) path to new_path (replacing it), link(2) new_path to path.
 * result: 0. */
ART_EXTERN int art_fs_rename(art_loop_t *loop, art_fs_t *req, const char *path,
                             const char *new_path, art_fs_cb cb);
ART_EXTERN int art_fs_link(art_loop_t *loop, art_fs_t *req, const char *path,
                           const char *new_path, art_fs_cb cb);

/* Makes new_path a symlink whose target is path. flags: ART_FS_SYMLINK_*. */
ART_EXTERN int art_fs_symlink(art_loop_t *loop, art_fs_t *req, const char *path,
                              const char *new_path, int flags, art_fs_cb cb);

/* req->ptr: the link's target, or the canonical absolute path, as a string
 * the request owns. */
ART_EXTERN int art_fs_readlink(art_loop_t *loop, art_fs_t *req,
                               const char *path, art_fs_cb cb);
ART_EXTERN int art_fs_realpath(art_loop_t *loop, art_fs_t *req,
                               const char *path, art_fs_cb cb);

/* Lists a folder, sorted by name, without "." and "..". result: the number
 * of entries; read them with art_fs_scandir_next. flags: unused, 0. */
ART_EXTERN int art_fs_scandir(art_loop_t *loop, art_fs_t *req, const char *path,
                              int flags, art_fs_cb cb);

/* The next entry of a finished scandir: 0, or ART_EOF after the last one,
 * or ART_EINVAL if req is not a successful scandir. */
ART_EXTERN int art_fs_scandir_next(art_fs_t *req, art_dirent_t *ent);

/* Opens a directory stream; req->ptr is the art_dir_t (freed by closedir,
 * not by art_fs_req_cleanup). */
ART_EXTERN int art_fs_opendir(art_loop_t *loop, art_fs_t *req, const char *path,
                              art_fs_cb cb);

/* Fills up to dir->nentries of dir->dirents; result: how many (0 at the
 * end). The names belong to req until art_fs_req_cleanup. "." and ".." are
 * skipped. */
ART_EXTERN int art_fs_readdir(art_loop_t *loop, art_fs_t *req, art_dir_t *dir,
                              art_fs_cb cb);

/* Closes the directory stream and frees dir. result: 0. */
ART_EXTERN int art_fs_closedir(art_loop_t *loop, art_fs_t *req, art_dir_t *dir,
                               art_fs_cb cb);

/* Reads the whole file at path into a buffer the request owns: req->ptr
 * (NUL-terminated for convenience), result the length. ART_EISDIR for a
 * folder, ART_ERANGE past ART_FS_READ_FILE_MAX. */
ART_EXTERN int art_fs_read_file(art_loop_t *loop, art_fs_t *req,
                                const char *path, art_fs_cb cb);

/* Creates (mode 0666 less the umask) or truncates path and writes len bytes
 * of data (the caller's, valid until cb). ART_FS_WRITE_* flags. result:
 * len. */
ART_EXTERN int art_fs_write_file(art_loop_t *loop, art_fs_t *req,
                                 const char *path, const void *data, size_t len,
                                 int flags, art_fs_cb cb);

/* ------------------------------------------------------------------------ */
/* Stat polling: art_fs_poll_t (Node's fs.watchFile).                       */

typedef struct art_fs_poll_s art_fs_poll_t;

/* status 0: prev and curr are the stats before and after a change (prev
 * zeroed when the path has just appeared). A negative status (ART_ENOENT
 * when the path disappeared or never existed): curr is zeroed and prev is
 * the last stat seen (zeroed if none). Runs once per change. */
typedef void (*art_fs_poll_cb)(art_fs_poll_t *handle, int status,
                               const art_stat_t *prev, const art_stat_t *curr);

struct art_fs_poll_s {
  ART_HANDLE_FIELDS
  /* private */
  art_fs_poll_cb cb_; /* the user's callback */
  void *ctx_;         /* the running poll (src/fs/fs_poll.c); NULL: stopped */
};

/* Initialises a stat-polling handle. */
ART_EXTERN int art_fs_poll_init(art_loop_t *loop, art_fs_poll_t *handle);

/* Stats path at once (on the pool's file-system lane) and then every
 * interval_ms (at least 1), calling cb when anything but the access time
 * changed, when the path appears and when it disappears. The first
 * successful stat only sets the baseline; a path missing from the start
 * gives one ART_ENOENT callback. Works where inotify does not (network
 * and FUSE file systems). ART_EINVAL for NULL arguments, a zero interval
 * or a closed handle; ART_EBUSY if already started (stop it first). */
ART_EXTERN int art_fs_poll_start(art_fs_poll_t *handle, art_fs_poll_cb cb,
                                 const char *path, unsigned interval_ms);

/* Stops polling; no callback follows, even for a stat already running.
 * Stopping a stopped, closing or closed handle does nothing and returns 0;
 * ART_EINVAL for NULL or a handle of another type. */
ART_EXTERN int art_fs_poll_stop(art_fs_poll_t *handle);

/* Copies the watched path and its NUL into buf of *size bytes and sets
 * *size to its length. ART_ENOBUFS, with *size set to the bytes needed, if
 * buf is too small; ART_EINVAL if the handle is not started. */
ART_EXTERN int art_fs_poll_getpath(art_fs_poll_t *handle, char *buf,
                                   size_t *size);

/* ------------------------------------------------------------------------ */
/* Watching files and folders (Node's fs.watch): inotify on Linux.          */

typedef struct art_fs_event_s art_fs_event_t;

/* What happened, as a bit set: a name appeared, disappeared or was renamed
 * (ART_RENAME), or contents or attributes changed (ART_CHANGE). */
enum { ART_RENAME = 1, ART_CHANGE = 2 };

/* art_fs_event_start flags. WATCH_ENTRY and STAT exist for libuv
 * compatibility and change nothing on Linux. RECURSIVE watches the whole
 * tree under a folder, subfolders created later included; file names are
 * then given relative to the watched folder ("sub/file.txt"). */
enum {
  ART_FS_EVENT_WATCH_ENTRY = 1,
  ART_FS_EVENT_STAT = 2,
  ART_FS_EVENT_RECURSIVE = 4
};

/* filename is the entry that changed (relative to the watched folder), or
 * the watched file's own name; it is valid only during the call. status is
 * 0 or a negative ART_E* code. */
typedef void (*art_fs_event_cb)(art_fs_event_t *handle, const char *filename,
                                int events, int status);

struct art_fs_event_s {
  ART_HANDLE_FIELDS
  /* private */
  art_fs_event_cb cb_;    /* the user's callback */
  char *path_;            /* the watched path (the handle's copy) */
  unsigned watch_flags_;  /* ART_FS_EVENT_* given to start */
  unsigned dispatch_seq_; /* the last inotify event delivered to it */
};

/* Initialises a file-watching handle (the caller's memory); 0, or
 * ART_EINVAL for NULL or a closed loop. */
ART_EXTERN int art_fs_event_init(art_loop_t *loop, art_fs_event_t *handle);

/* Starts watching path (a file or a folder). ART_EINVAL if the handle is
 * already started or closed, ART_ENOENT/ART_EACCES... from the system, or
 * ART_ENOSPC when the inotify watch limit is reached; ART_ENOMEM or
 * ART_ENOSPC too when the poller refuses the loop's inotify fd (a later
 * start tries again). */
ART_EXTERN int art_fs_event_start(art_fs_event_t *handle, art_fs_event_cb cb,
                                  const char *path, unsigned flags);

/* Stops watching; no callback runs after it (nor after art_close). 0, also
 * for a stopped, closing or closed handle; ART_EINVAL for NULL or a handle
 * of another type. */
ART_EXTERN int art_fs_event_stop(art_fs_event_t *handle);

/* Copies the watched path and its NUL into buffer and sets *size to its
 * length. ART_ENOBUFS with *size set to the room needed if buffer is too
 * small; ART_EINVAL if the handle is not started. */
ART_EXTERN int art_fs_event_getpath(art_fs_event_t *handle, char *buffer,
                                    size_t *size);

#ifdef __cplusplus
}
#endif

#endif
