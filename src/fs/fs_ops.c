/* The file-system operations themselves: one small function per operation,
 * run by art__fs_execute on a pool thread (or on the caller's thread for a
 * synchronous request). Each returns its result or a negative errno and
 * retries system calls that a signal interrupted. Directory and whole-file
 * operations live in src/fs_dir.c and src/fs_file.c. */
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs.h"

/* art_buf_t is passed to readv/writev as it is, so it must be laid out as
 * struct iovec. */
_Static_assert(sizeof(art_buf_t) == sizeof(struct iovec), "art_buf_t size");
_Static_assert(offsetof(art_buf_t, base) == offsetof(struct iovec, iov_base),
               "art_buf_t base");
_Static_assert(offsetof(art_buf_t, len) == offsetof(struct iovec, iov_len),
               "art_buf_t len");

/* A system call's -1 becomes -errno; anything else passes through. */
static ssize_t sys(ssize_t r) {
  return r == -1 ? -errno : r;
}

static ssize_t fs_open(art_fs_t *req) {
  int fd;
  ART__NOINTR(fd, open(req->path, req->flags_ | O_CLOEXEC, req->mode_));
  return sys(fd);
}

/* Linux releases the fd even when close reports EINTR, so that counts as
 * success and is never retried (a retry could close another thread's new
 * fd). */
static ssize_t fs_close(art_fs_t *req) {
  if (close(req->file_) == -1 && errno != EINTR && errno != EINPROGRESS)
    return -errno;
  return 0;
}

/* One read(2)-family call: a short count is returned as it is. */
static ssize_t fs_read(art_fs_t *req) {
  struct iovec *iov = (struct iovec *)req->bufs_;
  int n = req->nbufs_ > IOV_MAX ? IOV_MAX : (int)req->nbufs_;
  int fd = req->file_;
  ssize_t r;
  if (req->off_ < 0)
    ART__NOINTR(r, n == 1 ? read(fd, iov->iov_base, iov->iov_len)
                          : readv(fd, iov, n));
  else
    ART__NOINTR(r, n == 1 ? pread(fd, iov->iov_base, iov->iov_len, req->off_)
                          : preadv(fd, iov, n, req->off_));
  return sys(r);
}

/* Moves the buffer array past n written bytes; returns the buffers left. */
static unsigned advance_bufs(struct iovec **iovp, unsigned n, size_t done) {
  struct iovec *iov = *iovp;
  while (n > 0 && done >= iov->iov_len) {
    done -= iov->iov_len;
    iov++;
    n--;
  }
  if (n > 0) {
    iov->iov_base = (char *)iov->iov_base + done;
    iov->iov_len -= done;
  }
  *iovp = iov;
  return n;
}

/* Writes every buffer, looping over short writes. An error after some
 * bytes were written returns the count; the next write will see it. */
static ssize_t fs_write(art_fs_t *req) {
  struct iovec *iov = (struct iovec *)req->bufs_;
  unsigned n = req->nbufs_;
  int64_t off = req->off_;
  ssize_t total = 0;
  do {
    int cnt = n > IOV_MAX ? IOV_MAX : (int)n;
    ssize_t r;
    if (off < 0)
      ART__NOINTR(r, writev(req->file_, iov, cnt));
    else
      ART__NOINTR(r, pwritev(req->file_, iov, cnt, off));
    if (r == -1)
      return total > 0 ? total : -errno;
    if (r == 0)
      break; /* no progress: do not spin */
    total += r;
    if (off >= 0)
      off += r;
    n = advance_bufs(&iov, n, (size_t)r);
  } while (n > 0);
  return total;
}

void art__fs_from_statx(art_stat_t *st, const struct statx *sx) {
  st->dev = makedev(sx->stx_dev_major, sx->stx_dev_minor);
  st->mode = sx->stx_mode;
  st->nlink = sx->stx_nlink;
  st->uid = sx->stx_uid;
  st->gid = sx->stx_gid;
  st->rdev = makedev(sx->stx_rdev_major, sx->stx_rdev_minor);
  st->ino = sx->stx_ino;
  st->size = sx->stx_size;
  st->blksize = sx->stx_blksize;
  st->blocks = sx->stx_blocks;
  st->flags = 0;
  st->gen = 0;
  st->atim.sec = sx->stx_atime.tv_sec;
  st->atim.nsec = sx->stx_atime.tv_nsec;
  st->mtim.sec = sx->stx_mtime.tv_sec;
  st->mtim.nsec = sx->stx_mtime.tv_nsec;
  st->ctim.sec = sx->stx_ctime.tv_sec;
  st->ctim.nsec = sx->stx_ctime.tv_nsec;
  /* Without a birth time (older file systems), report the change time as
   * libuv does. */
  const struct statx_timestamp *b =
      (sx->stx_mask & STATX_BTIME) ? &sx->stx_btime : &sx->stx_ctime;
  st->birthtim.sec = b->tv_sec;
  st->birthtim.nsec = b->tv_nsec;
}

/* statx gives the birth time too; the C library falls back to fstatat on
 * kernels without it. */
static ssize_t stat_common(art_fs_t *req, int dirfd, const char *path,
                           int flags) {
  struct statx sx;
  int r;
  ART__NOINTR(r, statx(dirfd, path, flags | AT_STATX_SYNC_AS_STAT,
                       STATX_BASIC_STATS | STATX_BTIME, &sx));
  if (r == -1)
    return -errno;
  art__fs_from_statx(&req->statbuf, &sx);
  req->ptr = &req->statbuf;
  return 0;
}

static ssize_t fs_stat(art_fs_t *req) {
  return stat_common(req, AT_FDCWD, req->path, 0);
}

static ssize_t fs_lstat(art_fs_t *req) {
  return stat_common(req, AT_FDCWD, req->path, AT_SYMLINK_NOFOLLOW);
}

static ssize_t fs_fstat(art_fs_t *req) {
  if (req->file_ < 0)
    return -EBADF;
  return stat_common(req, req->file_, "", AT_EMPTY_PATH);
}

static ssize_t fs_statfs(art_fs_t *req) {
  struct statfs sf;
  int r;
  ART__NOINTR(r, statfs(req->path, &sf));
  if (r == -1)
    return -errno;
  art_statfs_t *out = art__calloc(1, sizeof(*out));
  if (out == NULL)
    return -ENOMEM;
  out->type = (uint64_t)sf.f_type;
  out->bsize = (uint64_t)sf.f_bsize;
  out->blocks = sf.f_blocks;
  out->bfree = sf.f_bfree;
  out->bavail = sf.f_bavail;
  out->files = sf.f_files;
  out->ffree = sf.f_ffree;
  req->ptr = out;
  return 0;
}

static ssize_t fs_ftruncate(art_fs_t *req) {
  int r;
  ART__NOINTR(r, ftruncate(req->file_, req->off_));
  return sys(r);
}

static ssize_t fs_fsync(art_fs_t *req) {
  int r;
  ART__NOINTR(r, fsync(req->file_));
  return sys(r);
}

static ssize_t fs_fdatasync(art_fs_t *req) {
  int r;
  ART__NOINTR(r, fdatasync(req->file_));
  return sys(r);
}

/* Seconds as a double to a timespec, with ART_FS_UTIME_NOW (infinity) and
 * ART_FS_UTIME_OMIT (NaN) mapped to the kernel's markers. */
static struct timespec to_timespec(double t) {
  struct timespec ts = {0, 0};
  if (__builtin_isnan(t)) {
    ts.tv_nsec = UTIME_OMIT;
  } else if (__builtin_isinf(t)) {
    ts.tv_nsec = UTIME_NOW;
  } else {
    ts.tv_sec = (time_t)t;
    if ((double)ts.tv_sec > t)
      ts.tv_sec--; /* round towards minus infinity */
    ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
    if (ts.tv_nsec > 999999999)
      ts.tv_nsec = 999999999;
  }
  return ts;
}

/* utime, futime and lutime share utimensat/futimens. */
static ssize_t fs_utime_any(art_fs_t *req) {
  struct timespec ts[2] = {to_timespec(req->atime_), to_timespec(req->mtime_)};
  int r;
  if (req->fs_type == ART_FS_FUTIME)
    ART__NOINTR(r, futimens(req->file_, ts));
  else
    ART__NOINTR(
        r, utimensat(AT_FDCWD, req->path, ts,
                     req->fs_type == ART_FS_LUTIME ? AT_SYMLINK_NOFOLLOW : 0));
  return sys(r);
}

static ssize_t fs_access(art_fs_t *req) {
  return sys(access(req->path, req->mode_));
}

static ssize_t fs_chmod(art_fs_t *req) {
  int r;
  ART__NOINTR(r, chmod(req->path, (mode_t)req->mode_));
  return sys(r);
}

static ssize_t fs_fchmod(art_fs_t *req) {
  int r;
  ART__NOINTR(r, fchmod(req->file_, (mode_t)req->mode_));
  return sys(r);
}

/* chown, fchown and lchown. */
static ssize_t fs_chown_any(art_fs_t *req) {
  int r;
  if (req->fs_type == ART_FS_FCHOWN)
    ART__NOINTR(r, fchown(req->file_, req->uid_, req->gid_));
  else if (req->fs_type == ART_FS_LCHOWN)
    ART__NOINTR(r, lchown(req->path, req->uid_, req->gid_));
  else
    ART__NOINTR(r, chown(req->path, req->uid_, req->gid_));
  return sys(r);
}

static ssize_t fs_unlink(art_fs_t *req) {
  return sys(unlink(req->path));
}

static ssize_t fs_rmdir(art_fs_t *req) {
  return sys(rmdir(req->path));
}

static ssize_t fs_mkdir(art_fs_t *req) {
  return sys(mkdir(req->path, (mode_t)req->mode_));
}

static ssize_t fs_mkdtemp(art_fs_t *req) {
  return mkdtemp(req->owned_) == NULL ? -errno : 0;
}

static ssize_t fs_mkstemp(art_fs_t *req) {
  int fd;
  ART__NOINTR(fd, mkostemp(req->owned_, O_CLOEXEC));
  return sys(fd);
}

static ssize_t fs_rename(art_fs_t *req) {
  return sys(rename(req->path, req->new_path_));
}

static ssize_t fs_link(art_fs_t *req) {
  return sys(link(req->path, req->new_path_));
}

static ssize_t fs_symlink(art_fs_t *req) {
  return sys(symlink(req->path, req->new_path_));
}

/* readlink does not say how long the target is, so grow the buffer until
 * the target fits with room for the terminating NUL. */
static ssize_t fs_readlink(art_fs_t *req) {
  size_t cap = 128;
  char *buf = NULL;
  for (;;) {
    char *nbuf = art__realloc(buf, cap);
    if (nbuf == NULL) {
      art__free(buf);
      return -ENOMEM;
    }
    buf = nbuf;
    ssize_t r = readlink(req->path, buf, cap);
    if (r == -1 || (size_t)r < cap || cap >= ((size_t)1 << 20)) {
      int err = r == -1 ? errno : ((size_t)r < cap ? 0 : ENAMETOOLONG);
      if (err) {
        art__free(buf);
        return -err;
      }
      buf[r] = '\0';
      req->ptr = buf;
      return 0;
    }
    cap *= 2;
  }
}

static ssize_t fs_realpath(art_fs_t *req) {
  char *buf = art__malloc(PATH_MAX + 1);
  if (buf == NULL)
    return -ENOMEM;
  if (realpath(req->path, buf) == NULL) {
    int err = errno;
    art__free(buf);
    return -err;
  }
  req->ptr = buf;
  return 0;
}

typedef ssize_t (*fs_op_fn)(art_fs_t *req);

/* The operation of each request type. */
static const fs_op_fn ops[] = {
    [ART_FS_OPEN] = fs_open,
    [ART_FS_CLOSE] = fs_close,
    [ART_FS_READ] = fs_read,
    [ART_FS_WRITE] = fs_write,
    [ART_FS_SENDFILE] = art__fs_sendfile,
    [ART_FS_STAT] = fs_stat,
    [ART_FS_LSTAT] = fs_lstat,
    [ART_FS_FSTAT] = fs_fstat,
    [ART_FS_FTRUNCATE] = fs_ftruncate,
    [ART_FS_UTIME] = fs_utime_any,
    [ART_FS_FUTIME] = fs_utime_any,
    [ART_FS_ACCESS] = fs_access,
    [ART_FS_CHMOD] = fs_chmod,
    [ART_FS_FCHMOD] = fs_fchmod,
    [ART_FS_FSYNC] = fs_fsync,
    [ART_FS_FDATASYNC] = fs_fdatasync,
    [ART_FS_UNLINK] = fs_unlink,
    [ART_FS_RMDIR] = fs_rmdir,
    [ART_FS_MKDIR] = fs_mkdir,
    [ART_FS_MKDTEMP] = fs_mkdtemp,
    [ART_FS_RENAME] = fs_rename,
    [ART_FS_SCANDIR] = art__fs_scandir,
    [ART_FS_LINK] = fs_link,
    [ART_FS_SYMLINK] = fs_symlink,
    [ART_FS_READLINK] = fs_readlink,
    [ART_FS_CHOWN] = fs_chown_any,
    [ART_FS_FCHOWN] = fs_chown_any,
    [ART_FS_REALPATH] = fs_realpath,
    [ART_FS_COPYFILE] = art__fs_copyfile,
    [ART_FS_LCHOWN] = fs_chown_any,
    [ART_FS_OPENDIR] = art__fs_opendir,
    [ART_FS_READDIR] = art__fs_readdir,
    [ART_FS_CLOSEDIR] = art__fs_closedir,
    [ART_FS_STATFS] = fs_statfs,
    [ART_FS_MKSTEMP] = fs_mkstemp,
    [ART_FS_LUTIME] = fs_utime_any,
    [ART_FS_READ_FILE] = art__fs_read_file,
    [ART_FS_WRITE_FILE] = art__fs_write_file,
};

ssize_t art__fs_execute(art_fs_t *req) {
  ssize_t r = -EINVAL;
  if (req->fs_type > 0 && (size_t)req->fs_type < ART_ARRAY_LEN(ops) &&
      ops[req->fs_type] != NULL)
    r = ops[req->fs_type](req);
  req->result = r;
  return r;
}
