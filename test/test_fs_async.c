/* File-system requests with callbacks: they run on the work pool and
 * complete in the poll phase. Every operation's asynchronous form, errors
 * that carry the path, cancellation of queued work while the pool's
 * workers are all blocked, and many requests in flight.
 * ART_SUITE_THREADS: this suite starts pool threads. */
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>

#include "helpers/fs.h"
#include "helpers/harness.h"

/* Each test runs in a fresh folder, dir (helpers/fs.h). */
ART_SUITE_HOOKS(fs_test_before, fs_test_after);

/* Scratch path buffers (the test's folder is helpers/fs.h's dir). */
static char p1[PATH_MAX];
static char p2[PATH_MAX];

/* ---- A chain: open, write, read, fstat, close, each from the previous
 * one's callback. ---- */

static art_fs_t chain_req;
static int chain_fd;
static int chain_step;
static int chain_ticks;
static char chain_buf[32];
static art_buf_t chain_iov;

static void chain_tick(art_loop_t *loop, void *arg) {
  chain_ticks++;
}

static void chain_cb(art_fs_t *req) {
  art_loop_t *loop = req->loop;
  /* Completions run in the poll phase, and microtasks after each one. */
  assert_int_equal(art_loop_phase(loop), ART_PHASE_POLL);
  assert_int_equal(chain_ticks, chain_step);
  art_next_tick(loop, chain_tick, NULL);
  assert_true(req->result >= 0);
  switch (chain_step++) {
  case 0:
    chain_fd = (int)req->result;
    art_fs_req_cleanup(req);
    chain_iov = art_buf_init("async data", 10);
    assert_int_equal(
        art_fs_write(loop, req, chain_fd, &chain_iov, 1, 0, chain_cb), 0);
    break;
  case 1:
    assert_int_equal(req->result, 10);
    chain_iov = art_buf_init(chain_buf, sizeof(chain_buf));
    assert_int_equal(
        art_fs_read(loop, req, chain_fd, &chain_iov, 1, 6, chain_cb), 0);
    break;
  case 2:
    assert_int_equal(req->result, 4);
    assert_memory_equal(chain_buf, "data", 4);
    assert_int_equal(art_fs_fstat(loop, req, chain_fd, chain_cb), 0);
    break;
  case 3:
    assert_int_equal(req->statbuf.size, 10);
    assert_int_equal(art_fs_close(loop, req, chain_fd, chain_cb), 0);
    break;
  default:
    art_fs_req_cleanup(req);
    break;
  }
}

ART_TEST(chain_of_callbacks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  chain_step = chain_ticks = 0;
  assert_int_equal(art_fs_open(loop, &chain_req, in_dir(p1, "f"),
                               O_CREAT | O_RDWR, 0644, chain_cb),
                   0);
  assert_int_equal(art_loop_alive(loop), 1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(chain_step, 5);
  assert_int_equal(chain_ticks, 5);
}

/* ---- Every operation, asynchronously, one after another. ---- */

typedef struct {
  const char *what; /* for failures */
  int (*start)(art_loop_t *loop, art_fs_t *req, art_fs_cb cb);
  ssize_t expect;               /* result wanted */
  void (*check)(art_fs_t *req); /* or NULL */
} step_t;

static int shared_fd;
static art_dir_t *shared_dir;
static art_dirent_t shared_ents[8];
static char tmpl[PATH_MAX];

static int s_mkdir(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_mkdir(l, r, in_dir(p1, "d"), 0755, cb);
}
static int s_mkdir_again(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_mkdir(l, r, in_dir(p1, "d"), 0755, cb);
}
static int s_write_file(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_write_file(l, r, in_dir(p1, "d/f"), "0123456789", 10,
                           ART_FS_WRITE_FSYNC, cb);
}
static int s_read_file(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_read_file(l, r, in_dir(p1, "d/f"), cb);
}
static void c_read_file(art_fs_t *r) {
  assert_string_equal(r->ptr, "0123456789");
}
static int s_read_file_dir(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_read_file(l, r, dir, cb);
}
static int s_stat(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_stat(l, r, in_dir(p1, "d/f"), cb);
}
static void c_stat(art_fs_t *r) {
  assert_int_equal(r->statbuf.size, 10);
  assert_ptr_equal(r->ptr, &r->statbuf);
}
static int s_open(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_open(l, r, in_dir(p1, "d/f"), O_RDWR, 0, cb);
}
static void c_open(art_fs_t *r) {
  shared_fd = (int)r->result;
  assert_true(fcntl(shared_fd, F_GETFD) & FD_CLOEXEC);
}
static int s_ftruncate(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_ftruncate(l, r, shared_fd, 4, cb);
}
static int s_fsync(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_fsync(l, r, shared_fd, cb);
}
static int s_fdatasync(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_fdatasync(l, r, shared_fd, cb);
}
static int s_futime(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_futime(l, r, shared_fd, 100, 200, cb);
}
static int s_fchmod(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_fchmod(l, r, shared_fd, 0640, cb);
}
static int s_fchown(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_fchown(l, r, shared_fd, getuid(), getgid(), cb);
}
static int s_fstat(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_fstat(l, r, shared_fd, cb);
}
static void c_fstat(art_fs_t *r) {
  assert_int_equal(r->statbuf.size, 4);
  assert_int_equal(r->statbuf.mtim.sec, 200);
  assert_int_equal(r->statbuf.mode & 0777, 0640);
}
static int shared_out;
static int s_sendfile(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  shared_out = open(in_dir(p2, "d/sent"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  return art_fs_sendfile(l, r, shared_out, shared_fd, 1, 10, cb);
}
static void c_sendfile(art_fs_t *r) {
  close(shared_out);
  char buf[8];
  assert_int_equal(pread(shared_fd, buf, 3, 1), 3);
  assert_memory_equal(buf, "123", 3);
}
static int s_close(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_close(l, r, shared_fd, cb);
}
static int s_utime(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_utime(l, r, in_dir(p1, "d/f"), 5, 6, cb);
}
static int s_access(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_access(l, r, in_dir(p1, "d/f"), R_OK, cb);
}
static int s_chmod(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_chmod(l, r, in_dir(p1, "d/f"), 0600, cb);
}
static int s_chown(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_chown(l, r, in_dir(p1, "d/f"), (uid_t)-1, (gid_t)-1, cb);
}
static int s_copyfile(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_copyfile(l, r, in_dir(p1, "d/f"), in_dir(p2, "d/g"),
                         ART_FS_COPYFILE_EXCL, cb);
}
static int s_link(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_link(l, r, in_dir(p1, "d/f"), in_dir(p2, "d/h"), cb);
}
static int s_symlink(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_symlink(l, r, "f", in_dir(p2, "d/s"), 0, cb);
}
static int s_lchown(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_lchown(l, r, in_dir(p2, "d/s"), getuid(), getgid(), cb);
}
static int s_lutime(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_lutime(l, r, in_dir(p2, "d/s"), 7, 8, cb);
}
static int s_lstat(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_lstat(l, r, in_dir(p2, "d/s"), cb);
}
static void c_lstat(art_fs_t *r) {
  assert_true(S_ISLNK(r->statbuf.mode));
  assert_int_equal(r->statbuf.mtim.sec, 8);
}
static int s_readlink(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_readlink(l, r, in_dir(p2, "d/s"), cb);
}
static void c_readlink(art_fs_t *r) {
  assert_string_equal(r->ptr, "f");
}
static int s_realpath(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_realpath(l, r, in_dir(p2, "d/s"), cb);
}
static void c_realpath(art_fs_t *r) {
  char expect[PATH_MAX];
  assert_non_null(realpath(in_dir(p2, "d/f"), expect));
  assert_string_equal(r->ptr, expect);
}
static int s_statfs(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_statfs(l, r, dir, cb);
}
static void c_statfs(art_fs_t *r) {
  assert_true(((art_statfs_t *)r->ptr)->bsize > 0);
}
static int s_scandir(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_scandir(l, r, in_dir(p1, "d"), 0, cb);
}
static void c_scandir(art_fs_t *r) {
  const char *names[] = {"f", "g", "h", "s", "sent"};
  art_dirent_t ent;
  for (int i = 0; i < 5; i++) {
    assert_int_equal(art_fs_scandir_next(r, &ent), 0);
    assert_string_equal(ent.name, names[i]);
  }
  assert_int_equal(art_fs_scandir_next(r, &ent), ART_EOF);
}
static int s_opendir(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_opendir(l, r, in_dir(p1, "d"), cb);
}
static void c_opendir(art_fs_t *r) {
  shared_dir = r->ptr;
  shared_dir->dirents = shared_ents;
  shared_dir->nentries = ART_ARRAY_SIZE(shared_ents);
}
static int s_readdir(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_readdir(l, r, shared_dir, cb);
}
static int s_closedir(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_closedir(l, r, shared_dir, cb);
}
static int s_rename(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_rename(l, r, in_dir(p1, "d/g"), in_dir(p2, "d/g2"), cb);
}
static int s_unlink(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_unlink(l, r, in_dir(p1, "d/g2"), cb);
}
static int s_rmdir(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_rmdir(l, r, in_dir(p1, "d"), cb);
}
static int s_mkdtemp(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_mkdtemp(l, r, in_dir(tmpl, "tXXXXXX"), cb);
}
static void c_mkdtemp(art_fs_t *r) {
  struct stat st;
  assert_int_equal(stat(r->path, &st), 0);
  assert_true(S_ISDIR(st.st_mode));
}
static int s_mkstemp(art_loop_t *l, art_fs_t *r, art_fs_cb cb) {
  return art_fs_mkstemp(l, r, in_dir(tmpl, "uXXXXXX"), cb);
}
static void c_mkstemp(art_fs_t *r) {
  assert_true(fcntl((int)r->result, F_GETFD) & FD_CLOEXEC);
  close((int)r->result);
}

static const step_t steps[] = {
    {"mkdir", s_mkdir, 0, NULL},
    {"mkdir again", s_mkdir_again, ART_EEXIST, NULL},
    {"write_file", s_write_file, 10, NULL},
    {"read_file", s_read_file, 10, c_read_file},
    {"read_file dir", s_read_file_dir, ART_EISDIR, NULL},
    {"stat", s_stat, 0, c_stat},
    {"open", s_open, -2, c_open}, /* -2: any fd */
    {"ftruncate", s_ftruncate, 0, NULL},
    {"fsync", s_fsync, 0, NULL},
    {"fdatasync", s_fdatasync, 0, NULL},
    {"futime", s_futime, 0, NULL},
    {"fchmod", s_fchmod, 0, NULL},
    {"fchown", s_fchown, 0, NULL},
    {"fstat", s_fstat, 0, c_fstat},
    {"close", s_close, 0, NULL},
    {"utime", s_utime, 0, NULL},
    {"access", s_access, 0, NULL},
    {"chmod", s_chmod, 0, NULL},
    {"chown", s_chown, 0, NULL},
    {"copyfile", s_copyfile, 0, NULL},
    {"copyfile excl", s_copyfile, ART_EEXIST, NULL},
    {"link", s_link, 0, NULL},
    {"symlink", s_symlink, 0, NULL},
    {"lchown", s_lchown, 0, NULL},
    {"lutime", s_lutime, 0, NULL},
    {"lstat", s_lstat, 0, c_lstat},
    {"readlink", s_readlink, 0, c_readlink},
    {"realpath", s_realpath, 0, c_realpath},
    {"statfs", s_statfs, 0, c_statfs},
    {"open again", s_open, -2, c_open},
    {"sendfile", s_sendfile, 3, c_sendfile},
    {"close again", s_close, 0, NULL},
    {"scandir", s_scandir, 5, c_scandir},
    {"opendir", s_opendir, 0, c_opendir},
    {"readdir", s_readdir, 5, NULL},
    {"readdir end", s_readdir, 0, NULL},
    {"closedir", s_closedir, 0, NULL},
    {"rename", s_rename, 0, NULL},
    {"unlink", s_unlink, 0, NULL},
    {"rmdir", s_rmdir, ART_ENOTEMPTY, NULL},
    {"mkdtemp", s_mkdtemp, 0, c_mkdtemp},
    {"mkstemp", s_mkstemp, -2, c_mkstemp},
};

static art_fs_t step_req;
static size_t step_at;

static void step_cb(art_fs_t *req) {
  const step_t *s = &steps[step_at];
  if (s->expect == -2 ? req->result < 0 : req->result != s->expect)
    fail_msg("%s: result %zd, expected %zd", s->what, req->result, s->expect);
  if (s->check != NULL)
    s->check(req);
  art_fs_req_cleanup(req);
  if (++step_at < ART_ARRAY_SIZE(steps))
    assert_int_equal(steps[step_at].start(req->loop, req, step_cb), 0);
}

ART_TEST(every_operation) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  step_at = 0;
  assert_int_equal(steps[0].start(loop, &step_req, step_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(step_at, ART_ARRAY_SIZE(steps));
}

/* ---- Errors carry the request's own copy of the path. ---- */

static int error_calls;

static void error_cb(art_fs_t *req) {
  error_calls++;
  assert_int_equal(req->result, ART_ENOENT);
  assert_string_equal(req->path, p2);
  assert_ptr_not_equal(req->path, p1);
  art_fs_req_cleanup(req);
  assert_null(req->path);
}

ART_TEST(errors_carry_path) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  error_calls = 0;
  in_dir(p2, "missing/file");
  strcpy(p1, p2);
  assert_int_equal(art_fs_stat(loop, &req, p1, error_cb), 0);
  memset(p1, 'z', 16); /* the caller may reuse its buffer at once */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(error_calls, 1);
}

/* ---- Cancellation while every worker is blocked. ---- */

enum { WORKERS = 4, QUEUED = 16 };

static pthread_mutex_t block_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t block_cond = PTHREAD_COND_INITIALIZER;
static int blocked, released;
static int block_done, cancel_calls[QUEUED];

static void block_work(art_work_t *w) {
  pthread_mutex_lock(&block_lock);
  blocked++;
  pthread_cond_broadcast(&block_cond);
  while (!released)
    pthread_cond_wait(&block_cond, &block_lock);
  pthread_mutex_unlock(&block_lock);
}

static void block_after(art_work_t *w, int status) {
  assert_int_equal(status, 0);
  block_done++;
}

static art_fs_t cancel_reqs[QUEUED];

static void cancel_cb(art_fs_t *req) {
  assert_int_equal(req->result, ART_ECANCELED);
  cancel_calls[req - cancel_reqs]++;
  art_fs_req_cleanup(req);
}

ART_TEST(cancel_queued_with_workers_blocked) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  art_work_t blockers[WORKERS];
  /* What is canceled here waits in the pool's queue: on a loop whose
   * io_uring runs stats (test_fs_ring.c cancels those) it would not. */
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_BACKEND, ART_BACKEND_EPOLL), 0);
  assert_int_equal(art_pool_init(&pool, WORKERS), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  blocked = released = block_done = 0;
  memset(cancel_calls, 0, sizeof(cancel_calls));
  for (int i = 0; i < WORKERS; i++)
    assert_int_equal(
        art_queue_work(loop, &blockers[i], block_work, block_after), 0);
  pthread_mutex_lock(&block_lock);
  while (blocked < WORKERS)
    pthread_cond_wait(&block_cond, &block_lock);
  pthread_mutex_unlock(&block_lock);
  /* Every worker is busy: these wait in the file-system lane. */
  for (int i = 0; i < QUEUED; i++)
    assert_int_equal(art_fs_stat(loop, &cancel_reqs[i], dir, cancel_cb), 0);
  for (int i = 0; i < QUEUED; i++)
    assert_int_equal(art_cancel((art_req_t *)&cancel_reqs[i]), 0);
  for (int i = 0; i < QUEUED; i++)
    assert_int_equal(art_cancel((art_req_t *)&cancel_reqs[i]), ART_EBUSY);
  /* The callbacks come from the loop, never from inside art_cancel. */
  for (int i = 0; i < QUEUED; i++)
    assert_int_equal(cancel_calls[i], 0);
  pthread_mutex_lock(&block_lock);
  released = 1;
  pthread_cond_broadcast(&block_cond);
  pthread_mutex_unlock(&block_lock);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < QUEUED; i++)
    assert_int_equal(cancel_calls[i], 1);
  assert_int_equal(block_done, WORKERS);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* A request that already ran (or ran synchronously) cannot be canceled. */
static void noop_cb(art_fs_t *req) {
  assert_int_equal(art_cancel((art_req_t *)req), ART_EBUSY);
  art_fs_req_cleanup(req);
}

ART_TEST(cancel_finished_is_busy) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  assert_int_equal(art_fs_stat(NULL, &req, dir, NULL), 0);
  assert_int_equal(art_cancel((art_req_t *)&req), ART_EBUSY);
  assert_int_equal(art_fs_stat(loop, &req, dir, noop_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_cancel((art_req_t *)&req), ART_EBUSY);
}

/* ---- Many requests in flight at once. ---- */

enum { INFLIGHT = 200 };
static int inflight_done;

static void inflight_cb(art_fs_t *req) {
  assert_int_equal(req->result, 0);
  assert_true(S_ISDIR(req->statbuf.mode));
  inflight_done++;
  art_fs_req_cleanup(req);
}

ART_TEST(many_in_flight) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static art_fs_t reqs[INFLIGHT];
  inflight_done = 0;
  for (int i = 0; i < INFLIGHT; i++)
    assert_int_equal(art_fs_stat(loop, &reqs[i], dir, inflight_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(inflight_done, INFLIGHT);
}

/* ---- Vectored asynchronous I/O with more buffers than fit inline. ---- */

static int vec_calls;

static void vec_cb(art_fs_t *req) {
  vec_calls++;
  art_fs_req_cleanup(req);
}

ART_TEST(vectored_async) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  enum { N = 9 };
  char data[N][4], back[N][4];
  art_buf_t w[N], r[N];
  for (int i = 0; i < N; i++) {
    memcpy(data[i], "wxyz", 4);
    data[i][0] = (char)('0' + i);
    w[i] = art_buf_init(data[i], 4);
    r[i] = art_buf_init(back[i], 4);
  }
  int fd = open(in_dir(p1, "v"), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  art_fs_t wr, rd;
  vec_calls = 0;
  assert_int_equal(art_fs_write(loop, &wr, fd, w, N, 3, vec_cb), 0);
  memset(w, 0, sizeof(w)); /* the request copied the array */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(wr.result, N * 4);
  assert_int_equal(art_fs_read(loop, &rd, fd, r, N, 3, vec_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(rd.result, N * 4);
  assert_memory_equal(back, data, sizeof(data));
  assert_int_equal(vec_calls, 2);
  close(fd);
}

/* ---- Whole-file reads: a sparse file past the size cap, and a closed
 * loop refused up front. ---- */

static int range_calls;

static void range_cb(art_fs_t *req) {
  range_calls++;
  assert_int_equal(req->result, ART_ERANGE);
  assert_null(req->ptr);
  art_fs_req_cleanup(req);
}

ART_TEST(read_file_too_large) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int fd = open(in_dir(p1, "sparse"), O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  assert_int_equal(ftruncate(fd, (off_t)ART_FS_READ_FILE_MAX + 1), 0);
  close(fd);
  art_fs_t req;
  range_calls = 0;
  assert_int_equal(art_fs_read_file(loop, &req, p1, range_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(range_calls, 1);
}

ART_TEST(closed_loop_refused) {
  art_loop_t closed;
  art_fs_t req;
  assert_int_equal(art_loop_init(&closed), 0);
  assert_int_equal(art_loop_close(&closed), 0);
  assert_int_equal(art_fs_stat(&closed, &req, dir, noop_cb), ART_EINVAL);
  assert_int_equal(req.result, ART_EINVAL);
}
