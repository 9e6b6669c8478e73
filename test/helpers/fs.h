/* Helpers shared by the file-system suites: a private temporary folder per
 * test (dir, made by the fs_test_before hook and removed with everything in
 * it by fs_test_after), and a way to run a check as an unprivileged user
 * even when the suite runs as root. */
#ifndef ART_TEST_HELPERS_FS_H
#define ART_TEST_HELPERS_FS_H

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

static inline int rm_entry(const char *path, const struct stat *st, int flag,
                           struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

/* Removes a folder and everything under it. */
static inline void fs_test_rmtree(const char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Makes a fresh folder under /tmp into dir (PATH_MAX bytes). */
static inline void fs_test_tmpdir(char *dir, size_t size) {
  snprintf(dir, size, "/tmp/art-fs-test-XXXXXX");
  if (mkdtemp(dir) == NULL) {
    perror("mkdtemp");
    abort();
  }
}

/* Joins dir and name into out. */
static inline const char *fs_test_join(char *out, size_t size, const char *dir,
                                       const char *name) {
  size_t a = strlen(dir), b = strlen(name);
  if (a + b + 2 > size)
    abort();
  memcpy(out, dir, a);
  out[a] = '/';
  memcpy(out + a + 1, name, b + 1);
  return out;
}

/* The running test's private folder, made by fs_test_before. */
static char dir[PATH_MAX];

/* Joins the test's folder and name into buf (PATH_MAX bytes). */
static inline const char *in_dir(char *buf, const char *name) {
  return fs_test_join(buf, PATH_MAX, dir, name);
}

/* The fs suites' hooks (ART_SUITE_HOOKS): a fresh folder before the
 * harness makes the test's loop, removed before the harness checks that
 * nothing leaked. */
static inline void fs_test_before(void) {
  fs_test_tmpdir(dir, sizeof(dir));
}

static inline void fs_test_after(void) {
  fs_test_rmtree(dir);
}

/* A symlink loop in the test's folder: loop1 -> loop2 -> loop1; returns
 * loop1's path, in buf. */
static inline const char *make_loop(char *buf) {
  char a[PATH_MAX], b[PATH_MAX];
  assert_int_equal(symlink(in_dir(b, "loop2"), in_dir(a, "loop1")), 0);
  assert_int_equal(symlink(a, b), 0);
  return in_dir(buf, "loop1");
}

/* Opens path (mode 0644 if created) with a synchronous art_fs_open; returns
 * the fd or the error. */
static inline int open_file(const char *path, int flags) {
  art_fs_t req;
  int fd = art_fs_open(NULL, &req, path, flags, 0644, NULL);
  art_fs_req_cleanup(&req);
  return fd;
}

/* Closes fd with a synchronous art_fs_close, which must succeed. */
static inline void close_file(int fd) {
  art_fs_t req;
  assert_int_equal(art_fs_close(NULL, &req, fd, NULL), 0);
  art_fs_req_cleanup(&req);
}

/* Creates a file with the given contents. */
static inline void fs_test_put(const char *path, const char *text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
    perror(path);
    abort();
  }
  close(fd);
}

/* Runs fn(arg) in a child process as user "nobody" (65534) when the suite
 * runs as root, or directly otherwise, and returns what it returned (an
 * ART_E* code fits an exit status as its negation). */
static inline int fs_test_unprivileged(int (*fn)(void *), void *arg) {
  if (geteuid() != 0)
    return fn(arg);
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0)
      _exit(255);
    _exit(-fn(arg));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) == 255)
    return 1; /* cannot drop privileges: the caller sees a mismatch */
  return -WEXITSTATUS(status);
}

#endif
