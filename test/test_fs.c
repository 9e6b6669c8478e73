/* File-system requests run synchronously (no callback): argument checks,
 * open, close, partial and vectored reads and writes, stat, statfs,
 * truncate and sync, times, permissions, owners, mkdir and friends, with
 * their error paths. Names and trees (links, copies, folders, whole files)
 * are in test_fs_tree.c; the asynchronous forms in test_fs_async.c. */
#include <limits.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "helpers/fs.h"
#include "helpers/harness.h"

/* Each test runs in a fresh folder, dir (helpers/fs.h). */
ART_SUITE_HOOKS(fs_test_before, fs_test_after);

/* Scratch path buffers (the test's folder is helpers/fs.h's dir). */
static char p1[PATH_MAX];
static char p2[PATH_MAX];

/* A name longer than NAME_MAX. */
static const char *too_long(char *buf) {
  size_t n = snprintf(buf, PATH_MAX, "%s/", dir);
  memset(buf + n, 'x', NAME_MAX + 10);
  buf[n + NAME_MAX + 10] = '\0';
  return buf;
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  art_buf_t b = art_buf_init(p1, 1);
  art_dir_t d = {0};
  art_dirent_t ent;
  assert_int_equal(art_fs_stat(NULL, NULL, "/", NULL), ART_EINVAL);
  assert_int_equal(art_fs_stat(loop, &req, NULL, NULL), ART_EINVAL);
  assert_int_equal(req.result, ART_EINVAL);
  assert_int_equal(art_fs_rename(loop, &req, "/a", NULL, NULL), ART_EINVAL);
  assert_int_equal(art_fs_read(loop, &req, 0, NULL, 1, 0, NULL), ART_EINVAL);
  assert_int_equal(art_fs_read(loop, &req, 0, &b, 0, 0, NULL), ART_EINVAL);
  assert_int_equal(art_fs_write(loop, &req, 1, &b, 1, -2, NULL), ART_EINVAL);
  assert_int_equal(art_fs_ftruncate(loop, &req, 1, -1, NULL), ART_EINVAL);
  assert_int_equal(art_fs_sendfile(loop, &req, 1, 0, -5, 1, NULL), ART_EINVAL);
  assert_int_equal(art_fs_copyfile(loop, &req, "/a", "/b", 64, NULL),
                   ART_EINVAL);
  assert_int_equal(art_fs_symlink(loop, &req, "/a", "/b", 64, NULL),
                   ART_EINVAL);
  assert_int_equal(art_fs_write_file(loop, &req, "/a", NULL, 3, 0, NULL),
                   ART_EINVAL);
  assert_int_equal(art_fs_write_file(loop, &req, "/a", "x", 1, 64, NULL),
                   ART_EINVAL);
  assert_int_equal(art_fs_readdir(loop, &req, NULL, NULL), ART_EINVAL);
  assert_int_equal(art_fs_readdir(loop, &req, &d, NULL), ART_EINVAL);
  assert_int_equal(art_fs_closedir(loop, &req, &d, NULL), ART_EINVAL);
  assert_int_equal(art_fs_scandir_next(&req, &ent), ART_EINVAL);
  assert_int_equal(art_fs_scandir_next(NULL, &ent), ART_EINVAL);
  /* An asynchronous request needs a loop. */
  assert_int_equal(art_fs_stat(NULL, &req, "/", (art_fs_cb)abort), ART_EINVAL);
  assert_int_equal(art_fs_get_result(NULL), ART_EINVAL);
  assert_null(art_fs_get_path(NULL));
  assert_null(art_fs_get_ptr(NULL));
  assert_null(art_fs_get_statbuf(NULL));
  assert_int_equal(art_fs_get_type(NULL), ART_FS_UNKNOWN);
  art_fs_req_cleanup(NULL);
}

ART_TEST(open_close) {
  art_fs_t req;
  int fd =
      art_fs_open(NULL, &req, in_dir(p1, "f"), O_CREAT | O_RDWR, 0600, NULL);
  assert_true(fd >= 0);
  assert_int_equal(req.result, fd);
  assert_int_equal(art_fs_get_type(&req), ART_FS_OPEN);
  assert_string_equal(art_fs_get_path(&req), p1);
  art_fs_req_cleanup(&req);
  /* Close-on-exec although the caller did not ask. */
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  struct stat st;
  assert_int_equal(stat(p1, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0600);
  close_file(fd);
  assert_int_equal(art_fs_close(NULL, &req, fd, NULL), ART_EBADF);
  assert_int_equal(art_fs_close(NULL, &req, -1, NULL), ART_EBADF);
}

ART_TEST(open_errors) {
  art_fs_t req;
  assert_int_equal(
      art_fs_open(NULL, &req, in_dir(p1, "none"), O_RDONLY, 0, NULL),
      ART_ENOENT);
  assert_int_equal(req.result, ART_ENOENT);
  assert_string_equal(req.path, p1); /* errors carry the path */
  fs_test_put(in_dir(p1, "f"), "x");
  assert_int_equal(
      art_fs_open(NULL, &req, p1, O_CREAT | O_EXCL | O_WRONLY, 0644, NULL),
      ART_EEXIST);
  assert_int_equal(art_fs_open(NULL, &req, dir, O_WRONLY, 0, NULL), ART_EISDIR);
  assert_int_equal(
      art_fs_open(NULL, &req, in_dir(p2, "f/g"), O_RDONLY, 0, NULL),
      ART_ENOTDIR);
  assert_int_equal(art_fs_open(NULL, &req, too_long(p2), O_RDONLY, 0, NULL),
                   ART_ENAMETOOLONG);
  assert_int_equal(art_fs_open(NULL, &req, make_loop(p2), O_RDONLY, 0, NULL),
                   ART_ELOOP);
  art_fs_req_cleanup(&req);
}

/* Opening a mode-000 file for reading, as an unprivileged user. */
static int open_denied(void *path) {
  art_fs_t req;
  int r = art_fs_open(NULL, &req, path, O_RDONLY, 0, NULL);
  if (r >= 0)
    close(r);
  return r >= 0 ? 0 : r;
}

ART_TEST(open_eacces) {
  assert_int_equal(chmod(dir, 0755), 0);
  fs_test_put(in_dir(p1, "secret"), "x");
  assert_int_equal(chmod(p1, 0), 0);
  assert_int_equal(fs_test_unprivileged(open_denied, p1), ART_EACCES);
}

ART_TEST(read_write_offsets) {
  art_fs_t req;
  int fd = open_file(in_dir(p1, "f"), O_CREAT | O_RDWR);
  char a[] = "hello ", b[] = "world";
  art_buf_t w[2] = {art_buf_init(a, 6), art_buf_init(b, 5)};
  assert_int_equal(art_fs_write(NULL, &req, fd, w, 2, -1, NULL), 11);
  assert_int_equal(req.result, 11);
  /* A positioned write leaves the file position alone. */
  char c[] = "HELLO";
  art_buf_t w2 = art_buf_init(c, 5);
  assert_int_equal(art_fs_write(NULL, &req, fd, &w2, 1, 0, NULL), 5);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 11);
  /* Vectored positioned read across two buffers. */
  char r1[3], r2[20];
  art_buf_t r[2] = {art_buf_init(r1, 3), art_buf_init(r2, sizeof(r2))};
  assert_int_equal(art_fs_read(NULL, &req, fd, r, 2, 2, NULL), 9);
  assert_memory_equal(r1, "LLO", 3);
  assert_memory_equal(r2, " world", 6);
  /* Reading at the current position (the end) gives 0. */
  assert_int_equal(art_fs_read(NULL, &req, fd, r, 2, -1, NULL), 0);
  /* Past the end: 0 too, and a short read near the end. */
  assert_int_equal(art_fs_read(NULL, &req, fd, r, 1, 100, NULL), 0);
  assert_int_equal(art_fs_read(NULL, &req, fd, &r[1], 1, 8, NULL), 3);
  /* A write past the end leaves a hole of zeros. */
  assert_int_equal(art_fs_write(NULL, &req, fd, &w2, 1, 20, NULL), 5);
  assert_int_equal(art_fs_read(NULL, &req, fd, &r[1], 1, 11, NULL), 14);
  assert_memory_equal(r2, "\0\0\0\0\0\0\0\0\0HELLO", 14);
  /* Sequential reads advance the position. */
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  assert_int_equal(art_fs_read(NULL, &req, fd, r, 1, -1, NULL), 3);
  assert_int_equal(art_fs_read(NULL, &req, fd, r, 1, -1, NULL), 3);
  assert_memory_equal(r1, "LO ", 3);
  art_fs_req_cleanup(&req);
  close_file(fd);
}

ART_TEST(read_write_errors) {
  art_fs_t req;
  char buf[4];
  art_buf_t b = art_buf_init(buf, sizeof(buf));
  assert_int_equal(art_fs_read(NULL, &req, -1, &b, 1, -1, NULL), ART_EBADF);
  assert_int_equal(art_fs_write(NULL, &req, -1, &b, 1, -1, NULL), ART_EBADF);
  int fd = open_file(dir, O_RDONLY);
  assert_int_equal(art_fs_read(NULL, &req, fd, &b, 1, -1, NULL), ART_EISDIR);
  close_file(fd);
  fs_test_put(in_dir(p1, "ro"), "abc");
  fd = open_file(p1, O_RDONLY);
  assert_int_equal(art_fs_write(NULL, &req, fd, &b, 1, -1, NULL), ART_EBADF);
  close_file(fd);
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  assert_int_equal(art_fs_read(NULL, &req, pipefd[0], &b, 1, 0, NULL),
                   ART_ESPIPE);
  close(pipefd[0]);
  close(pipefd[1]);
  art_fs_req_cleanup(&req);
}

/* More buffers than one writev takes: the write loops until all is out. */
ART_TEST(write_many_buffers) {
  enum { N = 2500 };
  static art_buf_t bufs[N];
  static char data[N * 3];
  for (int i = 0; i < N; i++) {
    memcpy(data + 3 * i, "abc", 3);
    bufs[i] = art_buf_init(data + 3 * i, 3);
  }
  bufs[7].len = 0; /* empty buffers are fine */
  art_fs_t req;
  int fd = open_file(in_dir(p1, "f"), O_CREAT | O_RDWR);
  assert_int_equal(art_fs_write(NULL, &req, fd, bufs, N, 0, NULL), N * 3 - 3);
  art_fs_req_cleanup(&req);
  struct stat st;
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_size, N * 3 - 3);
  /* The caller's array is untouched by the request's advancing. */
  assert_int_equal(bufs[0].len, 3);
  assert_ptr_equal(bufs[N - 1].base, data + 3 * (N - 1));
  close_file(fd);
}

/* A write cut short by the file-size limit returns what it wrote; the next
 * write reports the error. */
ART_TEST(partial_write_then_error) {
  struct rlimit old, lim;
  assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
  void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
  lim = old;
  lim.rlim_cur = 1000;
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
  static char data[3000];
  art_buf_t b[2] = {art_buf_init(data, 600), art_buf_init(data + 600, 2400)};
  art_fs_t req;
  int fd = open_file(in_dir(p1, "f"), O_CREAT | O_RDWR);
  int r1 = art_fs_write(NULL, &req, fd, b, 2, -1, NULL);
  int r2 = art_fs_write(NULL, &req, fd, b, 2, -1, NULL);
  assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
  signal(SIGXFSZ, prev);
  assert_int_equal(r1, 1000);
  assert_int_equal(r2, ART_EFBIG);
  art_fs_req_cleanup(&req);
  close_file(fd);
}

ART_TEST(stat_lstat_fstat) {
  art_fs_t req;
  fs_test_put(in_dir(p1, "f"), "12345");
  assert_int_equal(symlink(p1, in_dir(p2, "link")), 0);
  assert_int_equal(art_fs_stat(NULL, &req, p2, NULL), 0);
  assert_ptr_equal(req.ptr, &req.statbuf);
  assert_ptr_equal(art_fs_get_statbuf(&req), &req.statbuf);
  assert_int_equal(req.statbuf.size, 5);
  assert_true(S_ISREG(req.statbuf.mode));
  struct stat st;
  assert_int_equal(stat(p1, &st), 0);
  assert_int_equal(req.statbuf.ino, st.st_ino);
  assert_int_equal(req.statbuf.dev, st.st_dev);
  assert_int_equal(req.statbuf.nlink, 1);
  assert_int_equal(req.statbuf.mtim.sec, st.st_mtim.tv_sec);
  assert_int_equal(req.statbuf.mtim.nsec, st.st_mtim.tv_nsec);
  assert_int_equal(art_fs_lstat(NULL, &req, p2, NULL), 0);
  assert_true(S_ISLNK(req.statbuf.mode));
  int fd = open_file(p1, O_RDONLY);
  assert_int_equal(art_fs_fstat(NULL, &req, fd, NULL), 0);
  assert_int_equal(req.statbuf.ino, st.st_ino);
  close_file(fd);
  assert_int_equal(art_fs_fstat(NULL, &req, fd, NULL), ART_EBADF);
  assert_int_equal(art_fs_fstat(NULL, &req, -1, NULL), ART_EBADF);
  assert_int_equal(art_fs_stat(NULL, &req, in_dir(p2, "none"), NULL),
                   ART_ENOENT);
  assert_int_equal(art_fs_stat(NULL, &req, in_dir(p2, "f/x"), NULL),
                   ART_ENOTDIR);
  assert_int_equal(art_fs_stat(NULL, &req, too_long(p2), NULL),
                   ART_ENAMETOOLONG);
  assert_int_equal(art_fs_stat(NULL, &req, make_loop(p2), NULL), ART_ELOOP);
  assert_int_equal(art_fs_lstat(NULL, &req, p2, NULL), 0); /* the link */
  art_fs_req_cleanup(&req);
}

ART_TEST(statfs_info) {
  art_fs_t req;
  assert_int_equal(art_fs_statfs(NULL, &req, dir, NULL), 0);
  art_statfs_t *sf = art_fs_get_ptr(&req);
  assert_non_null(sf);
  assert_true(sf->bsize > 0);
  assert_true(sf->blocks >= sf->bfree);
  art_fs_req_cleanup(&req);
  assert_null(req.ptr);
  art_fs_req_cleanup(&req); /* twice is fine */
  assert_int_equal(art_fs_statfs(NULL, &req, in_dir(p1, "none"), NULL),
                   ART_ENOENT);
  assert_null(req.ptr);
  art_fs_req_cleanup(&req);
}

ART_TEST(truncate_and_sync) {
  art_fs_t req;
  int fd = open_file(in_dir(p1, "f"), O_CREAT | O_RDWR);
  assert_int_equal(art_fs_ftruncate(NULL, &req, fd, 4096, NULL), 0);
  assert_int_equal(art_fs_fstat(NULL, &req, fd, NULL), 0);
  assert_int_equal(req.statbuf.size, 4096);
  assert_int_equal(art_fs_ftruncate(NULL, &req, fd, 7, NULL), 0);
  assert_int_equal(art_fs_fstat(NULL, &req, fd, NULL), 0);
  assert_int_equal(req.statbuf.size, 7);
  assert_int_equal(art_fs_fsync(NULL, &req, fd, NULL), 0);
  assert_int_equal(art_fs_fdatasync(NULL, &req, fd, NULL), 0);
  close_file(fd);
  assert_int_equal(art_fs_ftruncate(NULL, &req, fd, 0, NULL), ART_EBADF);
  assert_int_equal(art_fs_fsync(NULL, &req, fd, NULL), ART_EBADF);
  assert_int_equal(art_fs_fdatasync(NULL, &req, fd, NULL), ART_EBADF);
  fd = open_file(p1, O_RDONLY);
  assert_int_equal(art_fs_ftruncate(NULL, &req, fd, 0, NULL), ART_EINVAL);
  close_file(fd);
  art_fs_req_cleanup(&req);
}

ART_TEST(utime_futime_lutime) {
  art_fs_t req;
  struct stat st;
  fs_test_put(in_dir(p1, "f"), "x");
  assert_int_equal(art_fs_utime(NULL, &req, p1, 1000.5, 2000.25, NULL), 0);
  assert_int_equal(stat(p1, &st), 0);
  assert_int_equal(st.st_atim.tv_sec, 1000);
  assert_int_equal(st.st_atim.tv_nsec, 500000000);
  assert_int_equal(st.st_mtim.tv_sec, 2000);
  assert_int_equal(st.st_mtim.tv_nsec, 250000000);
  /* OMIT keeps a time; NOW sets the current one. */
  assert_int_equal(
      art_fs_utime(NULL, &req, p1, ART_FS_UTIME_OMIT, ART_FS_UTIME_NOW, NULL),
      0);
  assert_int_equal(stat(p1, &st), 0);
  assert_int_equal(st.st_atim.tv_sec, 1000);
  assert_true(st.st_mtim.tv_sec > 1000000000);
  int fd = open_file(p1, O_RDWR);
  assert_int_equal(art_fs_futime(NULL, &req, fd, 5, -10.5, NULL), 0);
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_atim.tv_sec, 5);
  assert_int_equal(st.st_mtim.tv_sec, -11);
  assert_int_equal(st.st_mtim.tv_nsec, 500000000);
  close_file(fd);
  assert_int_equal(art_fs_futime(NULL, &req, fd, 5, 5, NULL), ART_EBADF);
  /* lutime changes the link, not its target. */
  assert_int_equal(symlink(p1, in_dir(p2, "link")), 0);
  assert_int_equal(art_fs_lutime(NULL, &req, p2, 77, 77, NULL), 0);
  assert_int_equal(lstat(p2, &st), 0);
  assert_int_equal(st.st_mtim.tv_sec, 77);
  assert_int_equal(stat(p1, &st), 0);
  assert_int_equal(st.st_mtim.tv_sec, -11);
  assert_int_equal(art_fs_utime(NULL, &req, in_dir(p2, "none"), 1, 1, NULL),
                   ART_ENOENT);
  assert_int_equal(art_fs_lutime(NULL, &req, p2, 1, 1, NULL), ART_ENOENT);
  art_fs_req_cleanup(&req);
}

/* access(R_OK) on a mode-000 file, as an unprivileged user. */
static int access_denied(void *path) {
  art_fs_t req;
  return art_fs_access(NULL, &req, path, R_OK, NULL);
}

/* chmod of a root-owned file, as an unprivileged user. */
static int chmod_denied(void *path) {
  art_fs_t req;
  return art_fs_chmod(NULL, &req, path, 0777, NULL);
}

ART_TEST(access_chmod) {
  art_fs_t req;
  fs_test_put(in_dir(p1, "f"), "x");
  assert_int_equal(art_fs_access(NULL, &req, p1, F_OK, NULL), 0);
  assert_int_equal(art_fs_access(NULL, &req, p1, R_OK | W_OK, NULL), 0);
  assert_int_equal(art_fs_access(NULL, &req, in_dir(p2, "none"), F_OK, NULL),
                   ART_ENOENT);
  assert_int_equal(art_fs_chmod(NULL, &req, p1, 0751, NULL), 0);
  struct stat st;
  assert_int_equal(stat(p1, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0751);
  int fd = open_file(p1, O_RDONLY);
  assert_int_equal(art_fs_fchmod(NULL, &req, fd, 0604, NULL), 0);
  assert_int_equal(fstat(fd, &st), 0);
  assert_int_equal(st.st_mode & 07777, 0604);
  close_file(fd);
  assert_int_equal(art_fs_fchmod(NULL, &req, fd, 0604, NULL), ART_EBADF);
  assert_int_equal(art_fs_chmod(NULL, &req, p2, 0604, NULL), ART_ENOENT);
  assert_int_equal(chmod(dir, 0755), 0);
  assert_int_equal(chmod(p1, 0), 0);
  if (geteuid() != 0 || getuid() == 0) {
    assert_int_equal(fs_test_unprivileged(access_denied, p1), ART_EACCES);
    if (geteuid() == 0)
      assert_int_equal(fs_test_unprivileged(chmod_denied, p1), ART_EPERM);
  }
  art_fs_req_cleanup(&req);
}

/* chown to root, as an unprivileged user. */
static int chown_denied(void *path) {
  art_fs_t req;
  return art_fs_chown(NULL, &req, path, 0, 0, NULL);
}

ART_TEST(chown_fchown_lchown) {
  art_fs_t req;
  fs_test_put(in_dir(p1, "f"), "x");
  assert_int_equal(art_fs_chown(NULL, &req, p1, getuid(), getgid(), NULL), 0);
  assert_int_equal(art_fs_chown(NULL, &req, p1, (uid_t)-1, (gid_t)-1, NULL), 0);
  int fd = open_file(p1, O_RDONLY);
  assert_int_equal(art_fs_fchown(NULL, &req, fd, getuid(), getgid(), NULL), 0);
  close_file(fd);
  assert_int_equal(art_fs_fchown(NULL, &req, fd, 0, 0, NULL), ART_EBADF);
  char target[PATH_MAX];
  assert_int_equal(symlink(in_dir(target, "dangling"), in_dir(p2, "link")), 0);
  assert_int_equal(art_fs_lchown(NULL, &req, p2, getuid(), getgid(), NULL), 0);
  assert_int_equal(art_fs_chown(NULL, &req, p2, getuid(), getgid(), NULL),
                   ART_ENOENT); /* follows the dangling link */
  if (geteuid() == 0) {
    /* As nobody, giving a root-owned file away is refused. */
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(fs_test_unprivileged(chown_denied, p1), ART_EPERM);
  }
  art_fs_req_cleanup(&req);
}

ART_TEST(mkdir_rmdir_unlink) {
  art_fs_t req;
  assert_int_equal(art_fs_mkdir(NULL, &req, in_dir(p1, "d"), 0700, NULL), 0);
  assert_int_equal(art_fs_mkdir(NULL, &req, p1, 0700, NULL), ART_EEXIST);
  assert_int_equal(art_fs_mkdir(NULL, &req, in_dir(p2, "x/y"), 0700, NULL),
                   ART_ENOENT);
  fs_test_put(in_dir(p2, "d/f"), "x");
  assert_int_equal(art_fs_rmdir(NULL, &req, p1, NULL), ART_ENOTEMPTY);
  assert_int_equal(art_fs_rmdir(NULL, &req, p2, NULL), ART_ENOTDIR);
  assert_int_equal(art_fs_unlink(NULL, &req, p1, NULL), ART_EISDIR);
  assert_int_equal(art_fs_unlink(NULL, &req, p2, NULL), 0);
  assert_int_equal(art_fs_unlink(NULL, &req, p2, NULL), ART_ENOENT);
  assert_int_equal(art_fs_rmdir(NULL, &req, p1, NULL), 0);
  assert_int_equal(art_fs_rmdir(NULL, &req, p1, NULL), ART_ENOENT);
  assert_int_equal(art_fs_mkdir(NULL, &req, too_long(p2), 0700, NULL),
                   ART_ENAMETOOLONG);
  art_fs_req_cleanup(&req);
}

/* Creating a folder inside a read-only folder, as an unprivileged user. */
static int mkdir_denied(void *path) {
  art_fs_t req;
  return art_fs_mkdir(NULL, &req, path, 0700, NULL);
}

ART_TEST(mkdir_eacces) {
  assert_int_equal(chmod(dir, 0555), 0);
  assert_int_equal(
      fs_test_unprivileged(mkdir_denied, (void *)in_dir(p1, "sub")),
      ART_EACCES);
  assert_int_equal(chmod(dir, 0700), 0);
}

ART_TEST(mkdtemp_mkstemp) {
  art_fs_t req;
  assert_int_equal(art_fs_mkdtemp(NULL, &req, in_dir(p1, "tmpXXXXXX"), NULL),
                   0);
  assert_string_not_equal(req.path, p1);
  assert_int_equal(strlen(req.path), strlen(p1));
  struct stat st;
  assert_int_equal(stat(req.path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
  art_fs_req_cleanup(&req);
  assert_null(req.path);
  int fd = art_fs_mkstemp(NULL, &req, in_dir(p1, "fileXXXXXX"), NULL);
  assert_true(fd >= 0);
  assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
  assert_int_equal(stat(req.path, &st), 0);
  assert_true(S_ISREG(st.st_mode));
  art_fs_req_cleanup(&req);
  close_file(fd);
  assert_int_equal(art_fs_mkdtemp(NULL, &req, in_dir(p1, "bad"), NULL),
                   ART_EINVAL);
  art_fs_req_cleanup(&req);
  assert_int_equal(art_fs_mkstemp(NULL, &req, in_dir(p1, "badXXXX"), NULL),
                   ART_EINVAL);
  art_fs_req_cleanup(&req);
  assert_int_equal(art_fs_mkstemp(NULL, &req, in_dir(p1, "none/fXXXXXX"), NULL),
                   ART_ENOENT);
  art_fs_req_cleanup(&req);
}
