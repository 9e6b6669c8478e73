/* File-system requests: the public entry points. Each one checks its
 * arguments, fills the request, and then either runs the operation at once
 * (no callback) or queues it on the pool's file-system lane, whose
 * completion runs the callback in the poll phase. The system calls
 * themselves live in fs_ops.c, fs_dir.c and fs_file.c.
 *
 * Paths are copied only for asynchronous requests: a synchronous call uses
 * the caller's strings while it runs, as libuv does, so a synchronous stat
 * allocates nothing. The copy goes into the request itself when both paths
 * fit in its buffer array, which path operations never use (64 bytes), and
 * into one allocation otherwise: an asynchronous stat of a short path
 * allocates nothing either. */
#include <limits.h>
#include <string.h>

#include "fs.h"
#include "pool/pool.h"

/* Fills the fields every operation shares. cb NULL means synchronous, and
 * then loop may be NULL. */
static int fs_prepare(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                      art_fs_cb cb) {
  if (req == NULL)
    return ART_EINVAL;
  req->type = ART_FS;
  req->loop = loop;
  req->fs_type = type;
  req->result = 0;
  req->ptr = NULL;
  req->path = NULL;
  req->cb_ = cb;
  req->new_path_ = NULL;
  req->owned_ = NULL;
  req->bufs_ = NULL;
  req->nbufs_ = 0;
  req->file_ = -1;
  req->file_out_ = -1;
  req->flags_ = 0;
  req->mode_ = 0;
  req->off_ = -1;
  req->len_ = 0;
  req->dir_ = NULL;
  req->data_ = NULL;
  req->pos_ = 0;
  req->names_ = NULL;
  art__work_clear(&req->work_); /* never queued: art_cancel says EBUSY */
  if (cb != NULL && (loop == NULL || loop->backend_ == NULL))
    return req->result = ART_EINVAL; /* no loop, or a closed one */
  return 0;
}

/* Where a request keeps a copy of its paths that fits: its buffer array.
 * Only read and write use buffers, and they take no path. */
static char *inline_paths(art_fs_t *req) {
  return (char *)req->bufsml_;
}

/* Frees the request's copy of its paths, if it had to allocate one. */
static void fs_free_paths(art_fs_t *req) {
  if (req->owned_ != inline_paths(req))
    art__free(req->owned_);
  req->owned_ = NULL;
  req->path = req->new_path_ = NULL;
}

/* Sets the request's paths; an asynchronous request (or one that must
 * modify its path, copy != 0) gets its own copy of both in one block: in
 * the request when they fit, else on the heap. */
static int fs_paths(art_fs_t *req, const char *path, const char *new_path,
                    int copy) {
  if (path == NULL)
    return req->result = ART_EINVAL;
  if (req->cb_ == NULL && !copy) {
    req->path = path;
    req->new_path_ = new_path;
    return 0;
  }
  size_t n1 = strlen(path) + 1;
  size_t n2 = new_path != NULL ? strlen(new_path) + 1 : 0;
  char *block = inline_paths(req);
  if (n1 + n2 > sizeof(req->bufsml_) && (block = art__malloc(n1 + n2)) == NULL)
    return req->result = ART_ENOMEM;
  memcpy(block, path, n1);
  if (new_path != NULL)
    memcpy(block + n1, new_path, n2);
  req->owned_ = block;
  req->path = block;
  req->new_path_ = new_path != NULL ? block + n1 : NULL;
  return 0;
}

/* Frees the request's copy of its buffer array, if it had to make one. */
static void fs_free_bufs(art_fs_t *req) {
  if (req->bufs_ != NULL && req->bufs_ != req->bufsml_)
    art__free(req->bufs_);
  req->bufs_ = NULL;
  req->nbufs_ = 0;
}

/* The loop's histogram of asynchronous request latency, from submission to
 * callback (the file system's extension on the loop), made by the loop's
 * first asynchronous request. */
static void latency_close(art_loop_t *loop, void *state) {
  (void)loop;
  art__free(state);
}

static const art__ext_t latency_ext = {"fs_latency", latency_close, NULL};

/* Made on first use; a loop that cannot get the memory goes unmeasured
 * rather than failing the request. */
static void latency_make(art_loop_t *loop) {
  if (art__ext_get(loop, &latency_ext) != NULL)
    return;
  art_histogram_t *h = art__malloc(sizeof(*h));
  if (h == NULL)
    return;
  art_histogram_init(h);
  if (art__ext_set(loop, &latency_ext, h) != 0)
    art__free(h);
}

art_histogram_t *art_fs_latency(const art_loop_t *loop) {
  if (loop == NULL || loop->backend_ == NULL)
    return NULL;
  return art__ext_get(loop, &latency_ext);
}

/* Runs on a pool thread. */
static void fs_work(struct art__work *w) {
  art__fs_execute(art__container_of(w, art_fs_t, work_));
}

/* Runs on the loop thread in the poll phase, whichever path the request
 * took: the user's callback, once, through the callback path. */
static void fs_finish(art_fs_t *req) {
  art_loop_t *loop = req->loop;
  art_histogram_t *h = art__ext_get(loop, &latency_ext);
  if (h != NULL)
    art_histogram_record(h, art_hrtime() - req->work_.queued_ns_);
  fs_free_bufs(req);
  ART__REQ_CALLBACK(loop, req, req->cb_, (req));
}

static void fs_after(struct art__work *w, int status) {
  art_fs_t *req = art__container_of(w, art_fs_t, work_);
  if (status == ART_ECANCELED)
    req->result = ART_ECANCELED;
  fs_finish(req);
}

/* Queues an asynchronous request (in the loop's io_uring where
 * fs_ring.c takes it, else on the pool), or runs a synchronous one and
 * returns its result clamped to an int. */
static int fs_submit(art_fs_t *req, int err) {
  if (err)
    goto fail;
  if (req->cb_ == NULL) {
    ssize_t r = art__fs_execute(req);
    fs_free_bufs(req);
    return r > INT_MAX ? INT_MAX : (int)r;
  }
  err = art__fs_ring_submit(req, fs_finish);
  if (err != 0)
    err = art__work_submit(req->loop, (art_req_t *)req, ART_FS, &req->work_,
                           ART_LANE_FS, fs_work, fs_after);
  if (err == 0) {
    latency_make(req->loop); /* after: a refused request allocates nothing */
    return 0;
  }
fail:
  if (req == NULL)
    return err;
  req->result = err;
  fs_free_bufs(req);
  fs_free_paths(req);
  return err;
}

/* The common shapes of the entry points: one path, two paths, one fd. */
static int fs_path(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                   const char *path, art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0)
    err = fs_paths(req, path, NULL, 0);
  return fs_submit(req, err);
}

static int fs_path2(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                    const char *path, const char *new_path, art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0 && new_path == NULL)
    err = req->result = ART_EINVAL;
  if (err == 0)
    err = fs_paths(req, path, new_path, 0);
  return fs_submit(req, err);
}

static int fs_fd(art_loop_t *loop, art_fs_t *req, art_fs_type type, int file,
                 art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0)
    req->file_ = file;
  return fs_submit(req, err);
}

int art_fs_open(art_loop_t *loop, art_fs_t *req, const char *path, int flags,
                int mode, art_fs_cb cb) {
  int err = fs_prepare(loop, req, ART_FS_OPEN, cb);
  if (err == 0) {
    req->flags_ = flags;
    req->mode_ = mode;
    err = fs_paths(req, path, NULL, 0);
  }
  return fs_submit(req, err);
}

int art_fs_close(art_loop_t *loop, art_fs_t *req, int file, art_fs_cb cb) {
  return fs_fd(loop, req, ART_FS_CLOSE, file, cb);
}

/* Copies the caller's buffer array (the request advances it over short
 * writes, and an asynchronous caller may reuse its array at once). */
static int fs_bufs(art_fs_t *req, const art_buf_t bufs[], unsigned nbufs,
                   int64_t offset) {
  if (bufs == NULL || nbufs == 0 || offset < -1)
    return req->result = ART_EINVAL;
  req->bufs_ = req->bufsml_;
  if (nbufs > ART_ARRAY_LEN(req->bufsml_)) {
    req->bufs_ = art__malloc(nbufs * sizeof(*bufs));
    if (req->bufs_ == NULL)
      return req->result = ART_ENOMEM;
  }
  memcpy(req->bufs_, bufs, nbufs * sizeof(*bufs));
  req->nbufs_ = nbufs;
  req->off_ = offset;
  return 0;
}

static int fs_rw(art_loop_t *loop, art_fs_t *req, art_fs_type type, int file,
                 const art_buf_t bufs[], unsigned nbufs, int64_t offset,
                 art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0) {
    req->file_ = file;
    err = fs_bufs(req, bufs, nbufs, offset);
  }
  return fs_submit(req, err);
}

int art_fs_read(art_loop_t *loop, art_fs_t *req, int file,
                const art_buf_t bufs[], unsigned nbufs, int64_t offset,
                art_fs_cb cb) {
  return fs_rw(loop, req, ART_FS_READ, file, bufs, nbufs, offset, cb);
}

int art_fs_write(art_loop_t *loop, art_fs_t *req, int file,
                 const art_buf_t bufs[], unsigned nbufs, int64_t offset,
                 art_fs_cb cb) {
  return fs_rw(loop, req, ART_FS_WRITE, file, bufs, nbufs, offset, cb);
}

int art_fs_sendfile(art_loop_t *loop, art_fs_t *req, int out_fd, int in_fd,
                    int64_t in_offset, size_t length, art_fs_cb cb) {
  int err = fs_prepare(loop, req, ART_FS_SENDFILE, cb);
  if (err == 0 && in_offset < -1)
    err = req->result = ART_EINVAL;
  if (err == 0) {
    req->file_ = in_fd;
    req->file_out_ = out_fd;
    req->off_ = in_offset;
    req->len_ = length;
  }
  return fs_submit(req, err);
}

int art_fs_copyfile(art_loop_t *loop, art_fs_t *req, const char *path,
                    const char *new_path, int flags, art_fs_cb cb) {
  const int all = ART_FS_COPYFILE_EXCL | ART_FS_COPYFILE_FICLONE |
                  ART_FS_COPYFILE_FICLONE_FORCE;
  int err = fs_prepare(loop, req, ART_FS_COPYFILE, cb);
  if (err == 0 && ((flags & ~all) != 0 || new_path == NULL))
    err = req->result = ART_EINVAL;
  if (err == 0) {
    req->flags_ = flags;
    err = fs_paths(req, path, new_path, 0);
  }
  return fs_submit(req, err);
}

int art_fs_stat(art_loop_t *loop, art_fs_t *req, const char *path,
                art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_STAT, path, cb);
}

int art_fs_lstat(art_loop_t *loop, art_fs_t *req, const char *path,
                 art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_LSTAT, path, cb);
}

int art_fs_fstat(art_loop_t *loop, art_fs_t *req, int file, art_fs_cb cb) {
  return fs_fd(loop, req, ART_FS_FSTAT, file, cb);
}

int art_fs_statfs(art_loop_t *loop, art_fs_t *req, const char *path,
                  art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_STATFS, path, cb);
}

int art_fs_ftruncate(art_loop_t *loop, art_fs_t *req, int file, int64_t offset,
                     art_fs_cb cb) {
  int err = fs_prepare(loop, req, ART_FS_FTRUNCATE, cb);
  if (err == 0 && offset < 0)
    err = req->result = ART_EINVAL;
  if (err == 0) {
    req->file_ = file;
    req->off_ = offset;
  }
  return fs_submit(req, err);
}

int art_fs_fsync(art_loop_t *loop, art_fs_t *req, int file, art_fs_cb cb) {
  return fs_fd(loop, req, ART_FS_FSYNC, file, cb);
}

int art_fs_fdatasync(art_loop_t *loop, art_fs_t *req, int file, art_fs_cb cb) {
  return fs_fd(loop, req, ART_FS_FDATASYNC, file, cb);
}

/* The three utime forms: by path, by fd, by path without following. */
static int fs_times(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                    const char *path, int file, double atime, double mtime,
                    art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0) {
    req->atime_ = atime;
    req->mtime_ = mtime;
    req->file_ = file;
    if (type != ART_FS_FUTIME)
      err = fs_paths(req, path, NULL, 0);
  }
  return fs_submit(req, err);
}

int art_fs_utime(art_loop_t *loop, art_fs_t *req, const char *path,
                 double atime, double mtime, art_fs_cb cb) {
  return fs_times(loop, req, ART_FS_UTIME, path, -1, atime, mtime, cb);
}

int art_fs_futime(art_loop_t *loop, art_fs_t *req, int file, double atime,
                  double mtime, art_fs_cb cb) {
  return fs_times(loop, req, ART_FS_FUTIME, NULL, file, atime, mtime, cb);
}

int art_fs_lutime(art_loop_t *loop, art_fs_t *req, const char *path,
                  double atime, double mtime, art_fs_cb cb) {
  return fs_times(loop, req, ART_FS_LUTIME, path, -1, atime, mtime, cb);
}

/* Operations that take a path and a mode. */
static int fs_path_mode(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                        const char *path, int mode, art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0) {
    req->mode_ = mode;
    err = fs_paths(req, path, NULL, 0);
  }
  return fs_submit(req, err);
}

int art_fs_access(art_loop_t *loop, art_fs_t *req, const char *path, int mode,
                  art_fs_cb cb) {
  return fs_path_mode(loop, req, ART_FS_ACCESS, path, mode, cb);
}

int art_fs_chmod(art_loop_t *loop, art_fs_t *req, const char *path, int mode,
                 art_fs_cb cb) {
  return fs_path_mode(loop, req, ART_FS_CHMOD, path, mode, cb);
}

int art_fs_mkdir(art_loop_t *loop, art_fs_t *req, const char *path, int mode,
                 art_fs_cb cb) {
  return fs_path_mode(loop, req, ART_FS_MKDIR, path, mode, cb);
}

int art_fs_fchmod(art_loop_t *loop, art_fs_t *req, int file, int mode,
                  art_fs_cb cb) {
  int err = fs_prepare(loop, req, ART_FS_FCHMOD, cb);
  if (err == 0) {
    req->file_ = file;
    req->mode_ = mode;
  }
  return fs_submit(req, err);
}

/* The three chown forms. */
static int fs_owner(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                    const char *path, int file, uid_t uid, gid_t gid,
                    art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0) {
    req->uid_ = uid;
    req->gid_ = gid;
    req->file_ = file;
    if (type != ART_FS_FCHOWN)
      err = fs_paths(req, path, NULL, 0);
  }
  return fs_submit(req, err);
}

int art_fs_chown(art_loop_t *loop, art_fs_t *req, const char *path, uid_t uid,
                 gid_t gid, art_fs_cb cb) {
  return fs_owner(loop, req, ART_FS_CHOWN, path, -1, uid, gid, cb);
}

int art_fs_fchown(art_loop_t *loop, art_fs_t *req, int file, uid_t uid,
                  gid_t gid, art_fs_cb cb) {
  return fs_owner(loop, req, ART_FS_FCHOWN, NULL, file, uid, gid, cb);
}

int art_fs_lchown(art_loop_t *loop, art_fs_t *req, const char *path, uid_t uid,
                  gid_t gid, art_fs_cb cb) {
  return fs_owner(loop, req, ART_FS_LCHOWN, path, -1, uid, gid, cb);
}

int art_fs_unlink(art_loop_t *loop, art_fs_t *req, const char *path,
                  art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_UNLINK, path, cb);
}

int art_fs_rmdir(art_loop_t *loop, art_fs_t *req, const char *path,
                 art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_RMDIR, path, cb);
}

/* mkdtemp and mkstemp fill in the template, so they always copy it. */
static int fs_template(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                       const char *tpl, art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0)
    err = fs_paths(req, tpl, NULL, 1);
  return fs_submit(req, err);
}

int art_fs_mkdtemp(art_loop_t *loop, art_fs_t *req, const char *tpl,
                   art_fs_cb cb) {
  return fs_template(loop, req, ART_FS_MKDTEMP, tpl, cb);
}

int art_fs_mkstemp(art_loop_t *loop, art_fs_t *req, const char *tpl,
                   art_fs_cb cb) {
  return fs_template(loop, req, ART_FS_MKSTEMP, tpl, cb);
}

int art_fs_rename(art_loop_t *loop, art_fs_t *req, const char *path,
                  const char *new_path, art_fs_cb cb) {
  return fs_path2(loop, req, ART_FS_RENAME, path, new_path, cb);
}

int art_fs_link(art_loop_t *loop, art_fs_t *req, const char *path,
                const char *new_path, art_fs_cb cb) {
  return fs_path2(loop, req, ART_FS_LINK, path, new_path, cb);
}

int art_fs_symlink(art_loop_t *loop, art_fs_t *req, const char *path,
                   const char *new_path, int flags, art_fs_cb cb) {
  if (flags & ~(ART_FS_SYMLINK_DIR | ART_FS_SYMLINK_JUNCTION)) {
    if (req != NULL)
      req->result = ART_EINVAL;
    return ART_EINVAL;
  }
  return fs_path2(loop, req, ART_FS_SYMLINK, path, new_path, cb);
}

int art_fs_readlink(art_loop_t *loop, art_fs_t *req, const char *path,
                    art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_READLINK, path, cb);
}

int art_fs_realpath(art_loop_t *loop, art_fs_t *req, const char *path,
                    art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_REALPATH, path, cb);
}

int art_fs_scandir(art_loop_t *loop, art_fs_t *req, const char *path, int flags,
                   art_fs_cb cb) {
  int err = fs_prepare(loop, req, ART_FS_SCANDIR, cb);
  if (err == 0) {
    req->flags_ = flags;
    err = fs_paths(req, path, NULL, 0);
  }
  return fs_submit(req, err);
}

int art_fs_opendir(art_loop_t *loop, art_fs_t *req, const char *path,
                   art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_OPENDIR, path, cb);
}

/* readdir and closedir act on a stream that opendir returned. */
static int fs_dir(art_loop_t *loop, art_fs_t *req, art_fs_type type,
                  art_dir_t *dir, art_fs_cb cb) {
  int err = fs_prepare(loop, req, type, cb);
  if (err == 0 && (dir == NULL || dir->dir_ == NULL ||
                   (type == ART_FS_READDIR &&
                    (dir->dirents == NULL || dir->nentries == 0))))
    err = req->result = ART_EINVAL;
  if (err == 0)
    req->dir_ = dir;
  return fs_submit(req, err);
}

int art_fs_readdir(art_loop_t *loop, art_fs_t *req, art_dir_t *dir,
                   art_fs_cb cb) {
  return fs_dir(loop, req, ART_FS_READDIR, dir, cb);
}

int art_fs_closedir(art_loop_t *loop, art_fs_t *req, art_dir_t *dir,
                    art_fs_cb cb) {
  return fs_dir(loop, req, ART_FS_CLOSEDIR, dir, cb);
}

int art_fs_read_file(art_loop_t *loop, art_fs_t *req, const char *path,
                     art_fs_cb cb) {
  return fs_path(loop, req, ART_FS_READ_FILE, path, cb);
}

int art_fs_write_file(art_loop_t *loop, art_fs_t *req, const char *path,
                      const void *data, size_t len, int flags, art_fs_cb cb) {
  const int all = ART_FS_WRITE_FSYNC | ART_FS_WRITE_APPEND | ART_FS_WRITE_EXCL;
  int err = fs_prepare(loop, req, ART_FS_WRITE_FILE, cb);
  if (err == 0 && ((data == NULL && len > 0) || (flags & ~all) != 0))
    err = req->result = ART_EINVAL;
  if (err == 0) {
    req->data_ = data;
    req->len_ = len;
    req->flags_ = flags;
    err = fs_paths(req, path, NULL, 0);
  }
  return fs_submit(req, err);
}

void art_fs_req_cleanup(art_fs_t *req) {
  if (req == NULL)
    return;
  if (req->owned_ != NULL)
    fs_free_paths(req);
  fs_free_bufs(req);
  switch (req->fs_type) {
  case ART_FS_READLINK:
  case ART_FS_REALPATH:
  case ART_FS_STATFS:
  case ART_FS_READ_FILE:
    art__free(req->ptr);
    req->ptr = NULL;
    break;
  case ART_FS_SCANDIR:
  case ART_FS_READDIR:
    art__fs_dir_cleanup(req);
    break;
  default:
    break;
  }
}

art_fs_type art_fs_get_type(const art_fs_t *req) {
  return req != NULL ? req->fs_type : ART_FS_UNKNOWN;
}

ssize_t art_fs_get_result(const art_fs_t *req) {
  return req != NULL ? req->result : ART_EINVAL;
}

void *art_fs_get_ptr(const art_fs_t *req) {
  return req != NULL ? req->ptr : NULL;
}

const char *art_fs_get_path(const art_fs_t *req) {
  return req != NULL ? req->path : NULL;
}

art_stat_t *art_fs_get_statbuf(art_fs_t *req) {
  return req != NULL ? &req->statbuf : NULL;
}
