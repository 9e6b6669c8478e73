/* Operations that move whole files or ranges of them: read_file,
 * write_file, copyfile and sendfile. They use the Linux calls that keep
 * the data in the kernel (FICLONE reflinks, copy_file_range, sendfile) and
 * fall back to plain reads and writes where a file system refuses them. */
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"

/* Bytes moved per step when data has to pass through user space. */
enum { COPY_CHUNK = 16 * 1024 };

ssize_t art__fs_write_all(int fd, const char *buf, size_t len, int64_t off) {
  size_t done = 0;
  while (done < len) {
    ssize_t r;
    if (off < 0)
      ART__NOINTR(r, write(fd, buf + done, len - done));
    else
      ART__NOINTR(
          r, pwrite(fd, buf + done, len - done, (off_t)(off + (int64_t)done)));
    if (r == -1)
      return -errno;
    if (r == 0)
      return -EIO;
    done += (size_t)r;
  }
  return (ssize_t)done;
}

/* Copies up to len bytes from in (at *off, or its position when off is
 * NULL) to out's position through a buffer. Returns the bytes copied, or
 * -errno if nothing was. */
static ssize_t copy_through_buffer(int out, int in, off_t *off, size_t len) {
  char buf[COPY_CHUNK];
  size_t total = 0;
  while (total < len) {
    size_t want = len - total < sizeof(buf) ? len - total : sizeof(buf);
    ssize_t r;
    if (off != NULL)
      ART__NOINTR(r, pread(in, buf, want, *off));
    else
      ART__NOINTR(r, read(in, buf, want));
    if (r <= 0) {
      if (r == -1 && total == 0)
        return -errno;
      break;
    }
    ssize_t w = art__fs_write_all(out, buf, (size_t)r, -1);
    if (w < 0)
      return total > 0 ? (ssize_t)total : w;
    total += (size_t)r;
    if (off != NULL)
      *off += r;
  }
  return (ssize_t)total;
}

/* Errors that mean "this pair of fds cannot use the kernel path". */
static int fallback_errno(int err) {
  return err == EINVAL || err == EIO || err == ENOTSOCK || err == EXDEV ||
         err == ENOSYS || err == EOPNOTSUPP || err == EBADF;
}

ssize_t art__fs_sendfile(art_fs_t *req) {
  off_t off = (off_t)req->off_;
  off_t *offp = req->off_ >= 0 ? &off : NULL;
  ssize_t r;
  ART__NOINTR(r, sendfile(req->file_out_, req->file_, offp, req->len_));
  if (r >= 0 || !fallback_errno(errno) || errno == EBADF)
    return r >= 0 ? r : -errno;
  return copy_through_buffer(req->file_out_, req->file_, offp, req->len_);
}

/* Copies the whole of in to out (both at offset 0): copy_file_range while
 * the file system allows it, then the buffer path. */
static int copy_contents(int out, int in) {
  for (;;) {
    ssize_t r;
    ART__NOINTR(r, copy_file_range(in, NULL, out, NULL, 1 << 30, 0));
    if (r == 0)
      return 0;
    if (r > 0)
      continue;
    if (!fallback_errno(errno))
      return -errno;
    break;
  }
  for (;;) {
    ssize_t r = copy_through_buffer(out, in, NULL, (size_t)1 << 30);
    if (r <= 0)
      return (int)r;
  }
}

/* Opens the destination of a copy with the source's mode. Returns the fd,
 * -errno, or INT_MIN when it is the source itself (nothing to do). */
static int open_destination(art_fs_t *req, const struct stat *src) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  if (req->flags_ & ART_FS_COPYFILE_EXCL)
    flags |= O_EXCL;
  int fd;
  ART__NOINTR(fd, open(req->new_path_, flags, src->st_mode & 07777));
  if (fd == -1)
    return -errno;
  struct stat dst;
  int err = fstat(fd, &dst) == -1 ? -errno : 0;
  if (err == 0 && dst.st_dev == src->st_dev && dst.st_ino == src->st_ino)
    err = INT_MIN;
  if (err == 0 && ftruncate(fd, 0) == -1)
    err = -errno;
  if (err == 0 && fchmod(fd, src->st_mode & 07777) == -1)
    err = -errno;
  if (err) {
    art__close_fd(fd);
    return err;
  }
  return fd;
}

/* Fills an open, empty destination: a reflink when asked, else a copy. */
static int fill_destination(art_fs_t *req, int dst, int src) {
  if (req->flags_ & (ART_FS_COPYFILE_FICLONE | ART_FS_COPYFILE_FICLONE_FORCE)) {
    if (ioctl(dst, FICLONE, src) == 0)
      return 0;
    if (req->flags_ & ART_FS_COPYFILE_FICLONE_FORCE)
      return errno == EINVAL || errno == EXDEV ? -ENOTSUP : -errno;
  }
  return copy_contents(dst, src);
}

ssize_t art__fs_copyfile(art_fs_t *req) {
  int src;
  ART__NOINTR(src, open(req->path, O_RDONLY | O_CLOEXEC));
  if (src == -1)
    return -errno;
  struct stat st;
  int err = fstat(src, &st) == -1 ? -errno : 0;
  if (err == 0 && S_ISDIR(st.st_mode))
    err = -EISDIR;
  int dst = err ? err : open_destination(req, &st);
  if (dst == INT_MIN) {
    art__close_fd(src);
    return 0; /* copying a file onto itself */
  }
  if (dst < 0) {
    art__close_fd(src);
    return dst;
  }
  err = fill_destination(req, dst, src);
  art__close_fd(src);
  if (close(dst) == -1 && err == 0 && errno != EINTR)
    err = -errno;
  if (err)
    unlink(req->new_path_);
  return err;
}

/* The buffer is full: reads one more block, and if the file goes on,
 * grows the buffer and appends it. Probing first means that a file whose
 * size was known is read without a reallocation. Returns the bytes added,
 * 0 at the end of the file, or -errno. */
static ssize_t probe_and_grow(int fd, char **buf, size_t *cap, size_t len) {
  char probe[4096];
  ssize_t r;
  ART__NOINTR(r, read(fd, probe, sizeof(probe)));
  if (r <= 0)
    return r == 0 ? 0 : -errno;
  if (len + (size_t)r > ART_FS_READ_FILE_MAX)
    return -ERANGE;
  size_t ncap = *cap * 2 + (size_t)r;
  char *grown = art__realloc(*buf, ncap);
  if (grown == NULL)
    return -ENOMEM;
  memcpy(grown + len, probe, (size_t)r);
  *buf = grown;
  *cap = ncap;
  return r;
}

/* Reads what is left of fd into a growing buffer that starts at cap bytes
 * (room for a NUL included). */
static ssize_t read_all(art_fs_t *req, int fd, size_t cap) {
  char *buf = art__malloc(cap);
  if (buf == NULL)
    return -ENOMEM;
  size_t len = 0;
  for (;;) {
    ssize_t r;
    if (len + 1 == cap) {
      r = probe_and_grow(fd, &buf, &cap, len);
    } else {
      ART__NOINTR(r, read(fd, buf + len, cap - 1 - len));
      if (r == -1)
        r = -errno;
    }
    if (r < 0) {
      art__free(buf);
      return r;
    }
    if (r == 0)
      break;
    len += (size_t)r;
  }
  buf[len] = '\0';
  req->ptr = buf;
  return (ssize_t)len;
}

ssize_t art__fs_read_file(art_fs_t *req) {
  int fd;
  ART__NOINTR(fd, open(req->path, O_RDONLY | O_CLOEXEC));
  if (fd == -1)
    return -errno;
  struct stat st;
  ssize_t r = fstat(fd, &st) == -1 ? -errno : 0;
  if (r == 0 && S_ISDIR(st.st_mode))
    r = -EISDIR;
  else if (r == 0 && (uint64_t)st.st_size > ART_FS_READ_FILE_MAX)
    r = -ERANGE;
  if (r == 0) {
    /* Files in /proc and pipes report size 0: start small and grow. */
    size_t cap =
        S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
    r = read_all(req, fd, cap);
  }
  art__close_fd(fd);
  return r;
}

ssize_t art__fs_write_file(art_fs_t *req) {
  int flags = O_WRONLY | O_CREAT | O_CLOEXEC;
  flags |= (req->flags_ & ART_FS_WRITE_APPEND) ? O_APPEND : O_TRUNC;
  if (req->flags_ & ART_FS_WRITE_EXCL)
    flags |= O_EXCL;
  int fd;
  ART__NOINTR(fd, open(req->path, flags, 0666));
  if (fd == -1)
    return -errno;
  ssize_t r = art__fs_write_all(fd, req->data_, req->len_, -1);
  if (r >= 0 && (req->flags_ & ART_FS_WRITE_FSYNC) && fsync(fd) == -1)
    r = -errno;
  /* A failed close can be the first report of a write error (NFS). */
  if (close(fd) == -1 && r >= 0 && errno != EINTR)
    r = -errno;
  return r;
}
