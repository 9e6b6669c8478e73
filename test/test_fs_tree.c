/* File-system requests on names and trees, run synchronously: rename,
 * links, realpath, copyfile, sendfile, scandir, directory streams and the
 * whole-file helpers, with their error paths. Opening, reading, writing,
 * stat and attributes are in test_fs.c; the asynchronous forms in
 * test_fs_async.c. */
#include <dirent.h>
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

ART_TEST(rename_link_symlink) {
  art_fs_t req;
  fs_test_put(in_dir(p1, "a"), "data");
  assert_int_equal(art_fs_rename(NULL, &req, p1, in_dir(p2, "b"), NULL), 0);
  assert_int_equal(access(p1, F_OK), -1);
  assert_int_equal(art_fs_rename(NULL, &req, p1, p2, NULL), ART_ENOENT);
  char d1[PATH_MAX], d2[PATH_MAX];
  assert_int_equal(mkdir(in_dir(d1, "d1"), 0700), 0);
  assert_int_equal(mkdir(in_dir(d2, "d2"), 0700), 0);
  fs_test_put(in_dir(p1, "d2/x"), "x");
  assert_int_equal(art_fs_rename(NULL, &req, d1, d2, NULL), ART_ENOTEMPTY);
  assert_int_equal(art_fs_rename(NULL, &req, p2, d1, NULL), ART_EISDIR);
  assert_int_equal(art_fs_link(NULL, &req, p2, in_dir(p1, "hard"), NULL), 0);
  struct stat st;
  assert_int_equal(stat(p1, &st), 0);
  assert_int_equal(st.st_nlink, 2);
  assert_int_equal(art_fs_link(NULL, &req, p2, p1, NULL), ART_EEXIST);
  assert_int_equal(art_fs_link(NULL, &req, in_dir(d1, "none"), d2, NULL),
                   ART_ENOENT);
  assert_int_equal(art_fs_symlink(NULL, &req, "b", in_dir(p1, "sym"), 0, NULL),
                   0);
  assert_int_equal(
      art_fs_symlink(NULL, &req, "b", p1, ART_FS_SYMLINK_DIR, NULL),
      ART_EEXIST);
  assert_int_equal(art_fs_readlink(NULL, &req, p1, NULL), 0);
  assert_string_equal(req.ptr, "b");
  art_fs_req_cleanup(&req);
  assert_null(req.ptr);
  assert_int_equal(art_fs_readlink(NULL, &req, p2, NULL), ART_EINVAL);
  assert_null(req.ptr);
  assert_int_equal(art_fs_readlink(NULL, &req, dir, NULL), ART_EINVAL);
  assert_int_equal(art_fs_readlink(NULL, &req, in_dir(d1, "none"), NULL),
                   ART_ENOENT);
  art_fs_req_cleanup(&req);
}

ART_TEST(readlink_long_target) {
  char target[600];
  memset(target, 'y', sizeof(target) - 1);
  target[sizeof(target) - 1] = '\0';
  for (size_t i = 100; i < sizeof(target) - 1; i += 100)
    target[i] = '/';
  assert_int_equal(symlink(target, in_dir(p1, "l")), 0);
  art_fs_t req;
  assert_int_equal(art_fs_readlink(NULL, &req, p1, NULL), 0);
  assert_string_equal(req.ptr, target);
  art_fs_req_cleanup(&req);
}

ART_TEST(realpath_resolves) {
  art_fs_t req;
  assert_int_equal(mkdir(in_dir(p1, "real"), 0700), 0);
  assert_int_equal(symlink(p1, in_dir(p2, "alias")), 0);
  char q[PATH_MAX];
  in_dir(q, "alias/../alias/.");
  assert_int_equal(art_fs_realpath(NULL, &req, q, NULL), 0);
  char expect[PATH_MAX];
  assert_non_null(realpath(p1, expect));
  assert_string_equal(req.ptr, expect);
  art_fs_req_cleanup(&req);
  assert_int_equal(art_fs_realpath(NULL, &req, in_dir(q, "none"), NULL),
                   ART_ENOENT);
  assert_null(req.ptr);
  assert_int_equal(art_fs_realpath(NULL, &req, make_loop(q), NULL), ART_ELOOP);
  art_fs_req_cleanup(&req);
}

/* Reads a whole file with stdio for comparisons. */
static size_t slurp(const char *path, char *buf, size_t cap) {
  FILE *f = fopen(path, "rbe");
  assert_non_null(f);
  size_t n = fread(buf, 1, cap, f);
  fclose(f);
  return n;
}

ART_TEST(copyfile_modes) {
  art_fs_t req;
  fs_test_put(in_dir(p1, "src"), "copy me");
  assert_int_equal(chmod(p1, 0640), 0);
  assert_int_equal(art_fs_copyfile(NULL, &req, p1, in_dir(p2, "dst"), 0, NULL),
                   0);
  char buf[64];
  assert_int_equal(slurp(p2, buf, sizeof(buf)), 7);
  assert_memory_equal(buf, "copy me", 7);
  struct stat st;
  assert_int_equal(stat(p2, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0640);
  /* Over an existing longer file: truncated to the source. */
  fs_test_put(p2, "a much longer existing file");
  assert_int_equal(art_fs_copyfile(NULL, &req, p1, p2, 0, NULL), 0);
  assert_int_equal(slurp(p2, buf, sizeof(buf)), 7);
  assert_int_equal(
      art_fs_copyfile(NULL, &req, p1, p2, ART_FS_COPYFILE_EXCL, NULL),
      ART_EEXIST);
  assert_int_equal(slurp(p2, buf, sizeof(buf)), 7); /* left alone */
  /* Reflink if possible: falls back to a copy where it is not. */
  assert_int_equal(art_fs_copyfile(NULL, &req, p1, in_dir(p2, "clone"),
                                   ART_FS_COPYFILE_FICLONE, NULL),
                   0);
  assert_int_equal(slurp(p2, buf, sizeof(buf)), 7);
  /* Forced reflink: either it works, or it fails and leaves nothing. */
  int r = art_fs_copyfile(NULL, &req, p1, in_dir(p2, "forced"),
                          ART_FS_COPYFILE_FICLONE_FORCE, NULL);
  if (r == 0)
    assert_int_equal(slurp(p2, buf, sizeof(buf)), 7);
  else
    assert_int_equal(access(p2, F_OK), -1);
  /* A file onto itself is left intact. */
  assert_int_equal(art_fs_copyfile(NULL, &req, p1, p1, 0, NULL), 0);
  assert_int_equal(slurp(p1, buf, sizeof(buf)), 7);
  art_fs_req_cleanup(&req);
}

ART_TEST(copyfile_errors) {
  art_fs_t req;
  assert_int_equal(art_fs_copyfile(NULL, &req, in_dir(p1, "none"),
                                   in_dir(p2, "dst"), 0, NULL),
                   ART_ENOENT);
  assert_int_equal(access(p2, F_OK), -1);
  assert_int_equal(art_fs_copyfile(NULL, &req, dir, p2, 0, NULL), ART_EISDIR);
  fs_test_put(in_dir(p1, "src"), "x");
  assert_int_equal(
      art_fs_copyfile(NULL, &req, p1, in_dir(p2, "none/dst"), 0, NULL),
      ART_ENOENT);
  assert_int_equal(art_fs_copyfile(NULL, &req, p1, dir, 0, NULL), ART_EISDIR);
  art_fs_req_cleanup(&req);
}

ART_TEST(copyfile_large) {
  enum { SIZE = 3 * 1024 * 1024 + 17 };
  char *data = malloc(SIZE);
  for (size_t i = 0; i < SIZE; i++)
    data[i] = (char)(i * 7 + i / 4096);
  art_fs_t req;
  assert_int_equal(
      art_fs_write_file(NULL, &req, in_dir(p1, "big"), data, SIZE, 0, NULL),
      SIZE);
  assert_int_equal(art_fs_copyfile(NULL, &req, p1, in_dir(p2, "copy"), 0, NULL),
                   0);
  assert_int_equal(art_fs_read_file(NULL, &req, p2, NULL), SIZE);
  assert_memory_equal(req.ptr, data, SIZE);
  art_fs_req_cleanup(&req);
  free(data);
}

ART_TEST(sendfile_ranges) {
  art_fs_t req;
  fs_test_put(in_dir(p1, "src"), "0123456789abcdef");
  int in = open_file(p1, O_RDONLY);
  int out = open_file(in_dir(p2, "dst"), O_CREAT | O_WRONLY | O_TRUNC);
  assert_int_equal(art_fs_sendfile(NULL, &req, out, in, 4, 6, NULL), 6);
  assert_int_equal(lseek(in, 0, SEEK_CUR), 0); /* offset given: unmoved */
  assert_int_equal(art_fs_sendfile(NULL, &req, out, in, -1, 3, NULL), 3);
  assert_int_equal(lseek(in, 0, SEEK_CUR), 3);
  assert_int_equal(art_fs_sendfile(NULL, &req, out, in, 14, 100, NULL), 2);
  assert_int_equal(art_fs_sendfile(NULL, &req, out, in, 16, 100, NULL), 0);
  char buf[32];
  assert_int_equal(slurp(p2, buf, sizeof(buf)), 11);
  assert_memory_equal(buf, "456789012ef", 11);
  /* Into a pipe works too. */
  int pipefd[2];
  assert_int_equal(pipe(pipefd), 0);
  assert_int_equal(art_fs_sendfile(NULL, &req, pipefd[1], in, 0, 5, NULL), 5);
  assert_int_equal(read(pipefd[0], buf, sizeof(buf)), 5);
  close(pipefd[0]);
  close(pipefd[1]);
  assert_int_equal(art_fs_sendfile(NULL, &req, -1, in, 0, 5, NULL), ART_EBADF);
  close_file(in);
  close_file(out);
  art_fs_req_cleanup(&req);
}

ART_TEST(scandir_sorted_with_types) {
  art_fs_t req;
  fs_test_put(in_dir(p1, "b"), "");
  fs_test_put(in_dir(p1, "a"), "");
  assert_int_equal(mkdir(in_dir(p1, "c"), 0700), 0);
  assert_int_equal(symlink("a", in_dir(p1, "d")), 0);
  assert_int_equal(mkfifo(in_dir(p1, "e"), 0600), 0);
  assert_int_equal(art_fs_scandir(NULL, &req, dir, 0, NULL), 5);
  const char *names[] = {"a", "b", "c", "d", "e"};
  art_dirent_type_t types[] = {ART_DIRENT_FILE, ART_DIRENT_FILE, ART_DIRENT_DIR,
                               ART_DIRENT_LINK, ART_DIRENT_FIFO};
  art_dirent_t ent;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(art_fs_scandir_next(&req, &ent), 0);
    assert_string_equal(ent.name, names[i]);
    assert_int_equal(ent.type, types[i]);
  }
  assert_int_equal(art_fs_scandir_next(&req, &ent), ART_EOF);
  assert_int_equal(art_fs_scandir_next(&req, &ent), ART_EOF);
  art_fs_req_cleanup(&req);
  assert_int_equal(art_fs_scandir_next(&req, &ent), ART_EOF);
  assert_int_equal(art_fs_scandir(NULL, &req, in_dir(p1, "c"), 0, NULL), 0);
  assert_int_equal(art_fs_scandir_next(&req, &ent), ART_EOF);
  art_fs_req_cleanup(&req);
  assert_int_equal(art_fs_scandir(NULL, &req, in_dir(p1, "none"), 0, NULL),
                   ART_ENOENT);
  assert_int_equal(art_fs_scandir_next(&req, &ent), ART_EINVAL);
  assert_int_equal(art_fs_scandir(NULL, &req, in_dir(p1, "a"), 0, NULL),
                   ART_ENOTDIR);
  art_fs_req_cleanup(&req);
}

ART_TEST(opendir_readdir_closedir) {
  art_fs_t req;
  char name[16];
  for (int i = 0; i < 7; i++) {
    snprintf(name, sizeof(name), "f%d", i);
    fs_test_put(in_dir(p1, name), "");
  }
  assert_int_equal(art_fs_opendir(NULL, &req, dir, NULL), 0);
  art_dir_t *d = req.ptr;
  art_fs_req_cleanup(&req);
  assert_non_null(d);
  assert_true(fcntl(dirfd((DIR *)d->dir_), F_GETFD) & FD_CLOEXEC);
  art_dirent_t ents[3];
  d->dirents = ents;
  d->nentries = 3;
  int seen = 0, n;
  while ((n = art_fs_readdir(NULL, &req, d, NULL)) > 0) {
    assert_true(n <= 3);
    for (int i = 0; i < n; i++) {
      assert_int_equal(ents[i].name[0], 'f');
      assert_int_equal(ents[i].type, ART_DIRENT_FILE);
      seen |= 1 << (ents[i].name[1] - '0');
    }
    art_fs_req_cleanup(&req);
  }
  assert_int_equal(n, 0);
  art_fs_req_cleanup(&req);
  assert_int_equal(seen, 0x7f);
  assert_int_equal(art_fs_closedir(NULL, &req, d, NULL), 0);
  art_fs_req_cleanup(&req);
  assert_int_equal(art_fs_opendir(NULL, &req, in_dir(p1, "none"), NULL),
                   ART_ENOENT);
  assert_null(req.ptr);
  assert_int_equal(art_fs_opendir(NULL, &req, in_dir(p1, "f1"), NULL),
                   ART_ENOTDIR);
  art_fs_req_cleanup(&req);
}

ART_TEST(read_file_write_file) {
  art_fs_t req;
  static char data[100000];
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (char)('a' + i % 26);
  assert_int_equal(art_fs_write_file(NULL, &req, in_dir(p1, "f"), data,
                                     sizeof(data), ART_FS_WRITE_FSYNC, NULL),
                   sizeof(data));
  assert_int_equal(art_fs_read_file(NULL, &req, p1, NULL), sizeof(data));
  assert_memory_equal(req.ptr, data, sizeof(data));
  assert_int_equal(((char *)req.ptr)[sizeof(data)], '\0');
  art_fs_req_cleanup(&req);
  assert_null(req.ptr);
  /* Truncates; append appends; exclusive refuses an existing file. */
  assert_int_equal(art_fs_write_file(NULL, &req, p1, "abc", 3, 0, NULL), 3);
  assert_int_equal(
      art_fs_write_file(NULL, &req, p1, "de", 2, ART_FS_WRITE_APPEND, NULL), 2);
  assert_int_equal(art_fs_read_file(NULL, &req, p1, NULL), 5);
  assert_string_equal(req.ptr, "abcde");
  art_fs_req_cleanup(&req);
  assert_int_equal(
      art_fs_write_file(NULL, &req, p1, "x", 1, ART_FS_WRITE_EXCL, NULL),
      ART_EEXIST);
  assert_int_equal(
      art_fs_write_file(NULL, &req, in_dir(p2, "empty"), NULL, 0, 0, NULL), 0);
  assert_int_equal(art_fs_read_file(NULL, &req, p2, NULL), 0);
  assert_string_equal(req.ptr, "");
  art_fs_req_cleanup(&req);
  assert_int_equal(art_fs_read_file(NULL, &req, dir, NULL), ART_EISDIR);
  assert_null(req.ptr);
  assert_int_equal(art_fs_read_file(NULL, &req, in_dir(p2, "none"), NULL),
                   ART_ENOENT);
  assert_int_equal(art_fs_write_file(NULL, &req, dir, "x", 1, 0, NULL),
                   ART_EISDIR);
  assert_int_equal(
      art_fs_write_file(NULL, &req, in_dir(p2, "none/f"), "x", 1, 0, NULL),
      ART_ENOENT);
  art_fs_req_cleanup(&req);
}

/* Files that report size 0 (procfs) are read until their real end. */
ART_TEST(read_file_unsized) {
  art_fs_t req;
  ssize_t n = art_fs_read_file(NULL, &req, "/proc/self/status", NULL);
  assert_true(n > 100);
  assert_non_null(strstr(req.ptr, "Name:"));
  assert_int_equal(strlen(req.ptr), (size_t)n);
  art_fs_req_cleanup(&req);
  /* A file bigger than the first 4 KiB guess, from a pipe-like source. */
  n = art_fs_read_file(NULL, &req, "/proc/self/maps", NULL);
  assert_true(n > 0);
  assert_int_equal(strlen(req.ptr), (size_t)n);
  art_fs_req_cleanup(&req);
}
