/* File-system requests run as io_uring operations (src/fs/fs_ring.c): the
 * ring runs them instead of the pool, a stat converts as the pool's does,
 * vectored reads and writes keep pread/pwrite and read/write semantics,
 * art_cancel interrupts an operation the kernel is blocked in (an open of
 * a FIFO with no writer, a read of an empty pipe, a write to a full one),
 * a loop with ring requests in flight refuses to close, and operations run
 * with the credentials their caller had when it submitted them. Every test
 * moves its loop to io_uring; where the kernel refuses a ring it skips.
 * ART_SUITE_THREADS: the tests that compare with the pool start one. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "helpers/fs.h"
#include "helpers/harness.h"

ART_SUITE_HOOKS(fs_test_before, fs_test_after);

static char p1[PATH_MAX];
static char p2[PATH_MAX];

static int never(void *arg) {
  (void)arg;
  return 0;
}

/* A request goes to the ring only once the thread running the loop has
 * entered it (before, the ring cannot tell that thread from another, and
 * the request goes to the pool): one wait does. */
static void enter_ring(art_loop_t *loop) {
  art_test_run_until(loop, 1, never, NULL);
}

/* Moves loop to io_uring and enters its ring, or skips the test where the
 * kernel has none. */
static void ring_or_skip(art_loop_t *loop) {
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING), 0);
  if (strcmp(art_backend_name(loop), "io_uring") != 0)
    skip();
  enter_ring(loop);
}

/* One request's outcome: its callback ran `calls` times, last with
 * `result`. */
typedef struct {
  int calls;
  ssize_t result;
} outcome_t;

static void record_cb(art_fs_t *req) {
  outcome_t *o = req->data;
  o->calls++;
  o->result = req->result;
}

static int called(void *arg) {
  return ((outcome_t *)arg)->calls > 0;
}

/* Starts req with record_cb and o as its data (the caller's call). */
#define START(o, req, call)                                                    \
  do {                                                                         \
    memset(&(o), 0, sizeof(o));                                                \
    (req).data = &(o);                                                         \
    assert_int_equal((call), 0);                                               \
  } while (0)

static uint64_t pool_completed(art_pool_t *pool) {
  art_pool_stats_t st;
  assert_int_equal(art_pool_stats(pool, &st), 0);
  return st.completed;
}

/* A blocking pipe (no O_NONBLOCK) as art_fs_read and art_fs_write see
 * one. */
static void blocking_pipe(int fds[2]) {
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
}

/* ---- The ring runs them, with the pool's results. ---- */

ART_TEST(stat_lstat_fstat_run_in_the_ring_with_the_pools_results) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  art_fs_t req;
  outcome_t o;
  struct stat want;
  ring_or_skip(loop);
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  fs_test_put(in_dir(p1, "file"), "twelve bytes");
  assert_int_equal(symlink(p1, in_dir(p2, "link")), 0);
  assert_int_equal(stat(p1, &want), 0);

  START(o, req, art_fs_stat(loop, &req, p2, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.result, 0);
  assert_ptr_equal(req.ptr, &req.statbuf);
  assert_int_equal(req.statbuf.ino, want.st_ino);
  assert_int_equal(req.statbuf.dev, want.st_dev);
  assert_int_equal(req.statbuf.size, 12);
  assert_int_equal(req.statbuf.mode, want.st_mode);
  assert_int_equal(req.statbuf.nlink, 1);
  assert_int_equal(req.statbuf.mtim.sec, want.st_mtim.tv_sec);
  assert_int_equal(req.statbuf.mtim.nsec, want.st_mtim.tv_nsec);
  art_fs_req_cleanup(&req);

  START(o, req, art_fs_lstat(loop, &req, p2, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, 0);
  assert_true(S_ISLNK(req.statbuf.mode));
  art_fs_req_cleanup(&req);

  int fd = open(p1, O_RDONLY | O_CLOEXEC);
  START(o, req, art_fs_fstat(loop, &req, fd, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, 0);
  assert_int_equal(req.statbuf.ino, want.st_ino);
  art_fs_req_cleanup(&req);
  close(fd);

  START(o, req, art_fs_stat(loop, &req, in_dir(p1, "none"), record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, ART_ENOENT);
  assert_string_equal(req.path, p1);
  art_fs_req_cleanup(&req);

  /* None of them went to the pool. */
  assert_int_equal(pool_completed(pool), 0);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* Offset -1 reads and writes at the file's position and moves it, as
 * read(2) and write(2); an offset leaves it, as pread(2) and pwrite(2). */
ART_TEST(vectored_reads_and_writes_keep_the_file_position_rules) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  outcome_t o;
  char a[3], b[3];
  ring_or_skip(loop);
  int fd = open(in_dir(p1, "f"), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  assert_true(fd >= 0);
  art_buf_t two[2] = {art_buf_init("abc", 3), art_buf_init("def", 3)};
  START(o, req, art_fs_write(loop, &req, fd, two, 2, -1, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, 6);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 6);
  art_fs_req_cleanup(&req);

  art_buf_t xy = art_buf_init("XY", 2);
  START(o, req, art_fs_write(loop, &req, fd, &xy, 1, 2, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, 2);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 6);
  art_fs_req_cleanup(&req);

  assert_int_equal(lseek(fd, 1, SEEK_SET), 1);
  art_buf_t in[2] = {art_buf_init(a, 3), art_buf_init(b, 3)};
  START(o, req, art_fs_read(loop, &req, fd, in, 2, -1, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, 5);
  assert_memory_equal(a, "bXY", 3);
  assert_memory_equal(b, "ef", 2);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 6);
  art_fs_req_cleanup(&req);

  START(o, req, art_fs_read(loop, &req, fd, in, 2, 0, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, 6);
  assert_memory_equal(a, "abX", 3);
  assert_int_equal(lseek(fd, 0, SEEK_CUR), 6);
  art_fs_req_cleanup(&req);
  close(fd);
}

/* A stat beside the requests already in flight (which stay there): 1 if
 * the pool ran it, 0 if the ring did. */
static int stat_went_to_pool(art_loop_t *loop, art_pool_t *pool) {
  art_fs_t req;
  outcome_t o;
  uint64_t before = pool_completed(pool);
  START(o, req, art_fs_stat(loop, &req, dir, record_cb));
  assert_true(art_test_run_until(loop, 5000, called, &o));
  assert_int_equal(o.result, 0);
  art_fs_req_cleanup(&req);
  return pool_completed(pool) != before;
}

/* The routing rule: an operation the kernel gives to a worker (a stat, a
 * blocking open) goes to the ring only when no other is in the ring and
 * at most one other fs request of the loop is in flight; else to the
 * pool. Reads always go to the ring. */
ART_TEST(worker_operations_beside_other_requests_go_to_the_pool) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  art_fs_t req[2];
  outcome_t o[2];
  char a[4];
  int fds[2];
  ring_or_skip(loop);
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  assert_int_equal(mkfifo(in_dir(p1, "fifo"), 0600), 0);
  blocking_pipe(fds);
  art_buf_t buf = art_buf_init(a, sizeof(a));
  assert_int_equal(stat_went_to_pool(loop, pool), 0); /* alone */
  /* Beside one read: still the ring. Beside two: the pool. */
  START(o[0], req[0],
        art_fs_read(loop, &req[0], fds[0], &buf, 1, -1, record_cb));
  assert_int_equal(stat_went_to_pool(loop, pool), 0);
  START(o[1], req[1],
        art_fs_read(loop, &req[1], fds[0], &buf, 1, -1, record_cb));
  assert_int_equal(stat_went_to_pool(loop, pool), 1);
  for (int i = 0; i < 2; i++)
    assert_int_equal(art_cancel((art_req_t *)&req[i]), 0); /* in the ring */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].result, ART_ECANCELED);
    art_fs_req_cleanup(&req[i]);
  }
  /* Beside a blocking open in the ring (a worker's): the pool. */
  START(o[0], req[0], art_fs_open(loop, &req[0], p1, O_RDONLY, 0, record_cb));
  assert_int_equal(stat_went_to_pool(loop, pool), 1);
  assert_int_equal(art_cancel((art_req_t *)&req[0]), 0); /* in the ring */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o[0].result, ART_ECANCELED);
  art_fs_req_cleanup(&req[0]);
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* A pipe's reader on another thread: counts what it reads and checks
 * every byte is the one written there. */
typedef struct {
  int fd;
  size_t got;
  int bad;
} drain_t;

static void *drain_pipe(void *arg) {
  drain_t *d = arg;
  char chunk[3000];
  ssize_t n;
  while ((n = read(d->fd, chunk, sizeof(chunk))) > 0)
    for (ssize_t i = 0; i < n; i++, d->got++)
      d->bad |= chunk[i] != (char)('a' + d->got % 26);
  return NULL;
}

/* A write larger than the pipe writes all of it, as on the pool, however
 * the kernel splits it (short writes go back to the ring for the rest). */
ART_TEST(write_larger_than_a_pipe_writes_everything) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  enum { PART = 300000 };
  static char data[3 * PART];
  art_fs_t req;
  outcome_t o;
  int fds[2];
  pthread_t reader;
  ring_or_skip(loop);
  blocking_pipe(fds);
  for (size_t i = 0; i < sizeof(data); i++)
    data[i] = (char)('a' + i % 26);
  art_buf_t bufs[3] = {art_buf_init(data, PART),
                       art_buf_init(data + PART, PART),
                       art_buf_init(data + 2 * PART, PART)};
  drain_t d = {fds[0], 0, 0};
  assert_int_equal(pthread_create(&reader, NULL, drain_pipe, &d), 0);
  START(o, req, art_fs_write(loop, &req, fds[1], bufs, 3, -1, record_cb));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.result, sizeof(data));
  art_fs_req_cleanup(&req);
  close(fds[1]);
  assert_int_equal(pthread_join(reader, NULL), 0);
  assert_int_equal(d.got, sizeof(data));
  assert_int_equal(d.bad, 0);
  close(fds[0]);
}

/* ---- Cancel: the kernel stops what it was blocked in. ---- */

/* Runs the loop for about ms, so that what was submitted reaches the
 * state it blocks in; the tests' outcome does not depend on it. */
static void settle(art_loop_t *loop, unsigned ms) {
  art_test_run_until(loop, ms, never, NULL);
}

/* An open of a FIFO with no writer blocks in a kernel worker; the cancel
 * interrupts it: afterwards no reader waits on the FIFO, so a writer's
 * non-blocking open finds none (ENXIO). */
ART_TEST(cancel_interrupts_an_open_blocked_on_a_fifo) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  outcome_t o;
  ring_or_skip(loop);
  assert_int_equal(mkfifo(in_dir(p1, "fifo"), 0600), 0);
  START(o, req, art_fs_open(loop, &req, p1, O_RDONLY, 0, record_cb));
  settle(loop, 50);
  assert_int_equal(o.calls, 0); /* blocked: no writer */
  assert_int_equal(art_cancel((art_req_t *)&req), 0);
  assert_int_equal(art_cancel((art_req_t *)&req), ART_EBUSY);
  assert_int_equal(o.calls, 0); /* never from inside art_cancel */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.result, ART_ECANCELED);
  assert_int_equal(open(p1, O_WRONLY | O_NONBLOCK | O_CLOEXEC), -1);
  assert_int_equal(errno, ENXIO);
  assert_int_equal(art_cancel((art_req_t *)&req), ART_EBUSY);
  art_fs_req_cleanup(&req);
}

/* An open of a FIFO for writing waits for a reader, as open(2) does,
 * rather than failing at once with ENXIO (the kernel's first try of an
 * open is non-blocking; the ring must not show it). */
ART_TEST(open_of_a_fifo_for_writing_waits_for_a_reader) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  outcome_t o;
  ring_or_skip(loop);
  assert_int_equal(mkfifo(in_dir(p1, "fifo"), 0600), 0);
  START(o, req, art_fs_open(loop, &req, p1, O_WRONLY, 0, record_cb));
  settle(loop, 20);
  assert_int_equal(o.calls, 0);
  int rd = open(p1, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  assert_true(rd >= 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.calls, 1);
  assert_true(o.result >= 0);
  assert_int_equal(write((int)o.result, "p", 1), 1);
  close((int)o.result);
  close(rd);
  art_fs_req_cleanup(&req);
}

/* A read of an empty pipe waits for data; canceled, it takes none: the
 * byte written afterwards is still there for read(2). Both the plain and
 * the vectored read. */
ART_TEST(cancel_interrupts_a_read_of_an_empty_pipe) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req[2];
  outcome_t o[2];
  char a[4], b[4], c;
  int fds[2];
  ring_or_skip(loop);
  blocking_pipe(fds);
  art_buf_t one = art_buf_init(a, sizeof(a));
  art_buf_t two[2] = {art_buf_init(a, sizeof(a)), art_buf_init(b, sizeof(b))};
  START(o[0], req[0],
        art_fs_read(loop, &req[0], fds[0], &one, 1, -1, record_cb));
  START(o[1], req[1],
        art_fs_read(loop, &req[1], fds[0], two, 2, -1, record_cb));
  settle(loop, 20);
  assert_int_equal(o[0].calls + o[1].calls, 0);
  assert_int_equal(art_cancel((art_req_t *)&req[0]), 0);
  assert_int_equal(art_cancel((art_req_t *)&req[1]), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].result, ART_ECANCELED);
    art_fs_req_cleanup(&req[i]);
  }
  assert_int_equal(write(fds[1], "x", 1), 1);
  assert_int_equal(read(fds[0], &c, 1), 1);
  assert_int_equal(c, 'x');
  close(fds[0]);
  close(fds[1]);
}

/* A write to a full pipe waits for room; canceled, it wrote nothing.
 * Both the plain and the vectored write. */
ART_TEST(cancel_interrupts_a_write_to_a_full_pipe) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req[2];
  outcome_t o[2];
  char chunk[4096];
  int fds[2];
  ring_or_skip(loop);
  blocking_pipe(fds);
  memset(chunk, 'f', sizeof(chunk));
  fcntl(fds[1], F_SETFL, O_NONBLOCK);
  size_t full = 0;
  ssize_t n;
  while ((n = write(fds[1], chunk, sizeof(chunk))) > 0)
    full += (size_t)n;
  assert_int_equal(errno, EAGAIN);
  fcntl(fds[1], F_SETFL, 0);
  art_buf_t one = art_buf_init("w", 1);
  art_buf_t two[2] = {art_buf_init("v", 1), art_buf_init("w", 1)};
  START(o[0], req[0],
        art_fs_write(loop, &req[0], fds[1], &one, 1, -1, record_cb));
  START(o[1], req[1],
        art_fs_write(loop, &req[1], fds[1], two, 2, -1, record_cb));
  settle(loop, 20);
  assert_int_equal(o[0].calls + o[1].calls, 0);
  for (int i = 0; i < 2; i++)
    assert_int_equal(art_cancel((art_req_t *)&req[i]), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].result, ART_ECANCELED);
    art_fs_req_cleanup(&req[i]);
  }
  /* Exactly what was written before is in the pipe: no 'v', no 'w'. */
  fcntl(fds[0], F_SETFL, O_NONBLOCK);
  size_t got = 0;
  while ((n = read(fds[0], chunk, sizeof(chunk))) > 0)
    got += (size_t)n;
  assert_int_equal(got, full);
  close(fds[0]);
  close(fds[1]);
}

/* A read of a pipe with data completes in the enter that submits it, so
 * a cancel comes too late: the callback gets the real result, once. */
ART_TEST(cancel_after_completion_gives_the_real_result) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  outcome_t o;
  char a[8];
  int fds[2];
  ring_or_skip(loop);
  blocking_pipe(fds);
  assert_int_equal(write(fds[1], "data", 4), 4);
  art_buf_t buf = art_buf_init(a, sizeof(a));
  START(o, req, art_fs_read(loop, &req, fds[0], &buf, 1, -1, record_cb));
  assert_int_equal(art_cancel((art_req_t *)&req), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.result, 4);
  assert_memory_equal(a, "data", 4);
  art_fs_req_cleanup(&req);
  close(fds[0]);
  close(fds[1]);
}

/* A loop with a request in the ring refuses to close, as with one on the
 * pool; once it is canceled and its callback ran, it closes. */
ART_TEST(loop_close_is_busy_while_a_ring_request_is_in_flight) {
  art_loop_t loop;
  art_fs_t req;
  outcome_t o;
  char a[4];
  int fds[2];
  assert_int_equal(art_loop_init(&loop), 0);
  if (art_loop_configure(&loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING) != 0 ||
      strcmp(art_backend_name(&loop), "io_uring") != 0) {
    assert_int_equal(art_loop_close(&loop), 0);
    skip();
  }
  enter_ring(&loop);
  blocking_pipe(fds);
  art_buf_t buf = art_buf_init(a, sizeof(a));
  START(o, req, art_fs_read(&loop, &req, fds[0], &buf, 1, -1, record_cb));
  assert_int_equal(art_run(&loop, ART_RUN_NOWAIT), 1);
  assert_int_equal(art_loop_close(&loop), ART_EBUSY);
  assert_int_equal(art_cancel((art_req_t *)&req), 0);
  assert_int_equal(art_loop_close(&loop), ART_EBUSY); /* not run yet */
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, ART_ECANCELED);
  art_fs_req_cleanup(&req);
  assert_int_equal(art_loop_close(&loop), 0);
  close(fds[0]);
  close(fds[1]);
}

/* ---- Credentials: the caller's, when it submitted. ---- */

enum { NOBODY = 65534 };

/* Drops to nobody: supplementary groups, group, then user. */
static int drop_to_nobody(void) {
  return setgroups(0, NULL) == 0 && setgid(NOBODY) == 0 && setuid(NOBODY) == 0
             ? 0
             : -1;
}

/* An open of path through the loop's ring; its result. */
static ssize_t ring_open(art_loop_t *loop, const char *path, int flags) {
  art_fs_t req;
  outcome_t o;
  START(o, req, art_fs_open(loop, &req, path, flags, 0, record_cb));
  if (!art_test_run_until(loop, 5000, called, &o))
    return -1000;
  if (o.result >= 0)
    close((int)o.result);
  art_fs_req_cleanup(&req);
  return o.result;
}

/* Exit codes of the children. */
enum { CHILD_OK = 0, CHILD_NO_RING = 77 };

/* Fails the child with the line that found a mismatch. */
#define CHILD_CHECK(cond)                                                      \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "child: %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
      _exit(100 + (__LINE__ % 100));                                           \
    }                                                                          \
  } while (0)

/* In a child, so the suite keeps root: the same loop's ring opens a file
 * only root may read while the child is root, and refuses it once the
 * child is nobody, whether the open is tried without blocking first
 * (O_NONBLOCK) or sent to a kernel worker (the kernel copies the
 * credentials into the work at the enter). None of it went to the pool. */
static int drop_child(const char *secret) {
  art_loop_t loop;
  art_pool_t *pool;
  CHILD_CHECK(art_loop_init(&loop) == 0);
  CHILD_CHECK(
      art_loop_configure(&loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING) == 0);
  if (strcmp(art_backend_name(&loop), "io_uring") != 0)
    _exit(CHILD_NO_RING);
  enter_ring(&loop);
  CHILD_CHECK(art_pool_init(&pool, 1) == 0);
  CHILD_CHECK(art_loop_set_pool(&loop, pool) == 0);
  CHILD_CHECK(ring_open(&loop, secret, O_RDONLY) >= 0);
  CHILD_CHECK(ring_open(&loop, secret, O_RDONLY | O_NONBLOCK) >= 0);
  CHILD_CHECK(drop_to_nobody() == 0);
  CHILD_CHECK(ring_open(&loop, secret, O_RDONLY) == ART_EACCES);
  CHILD_CHECK(ring_open(&loop, secret, O_RDONLY | O_NONBLOCK) == ART_EACCES);
  CHILD_CHECK(pool_completed(pool) == 0);
  CHILD_CHECK(art_loop_set_pool(&loop, NULL) == 0);
  CHILD_CHECK(art_pool_close(pool) == 0);
  CHILD_CHECK(art_loop_close(&loop) == 0);
  return CHILD_OK;
}

static int wait_child(pid_t pid) {
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  return WEXITSTATUS(status);
}

/* A file only root may read, in a folder nobody may cross. */
static const char *make_secret(char *buf) {
  assert_int_equal(chmod(dir, 0711), 0);
  fs_test_put(in_dir(buf, "secret"), "root only");
  assert_int_equal(chmod(buf, 0600), 0);
  return buf;
}

ART_TEST(credentials_dropped_apply_to_what_is_submitted_after) {
  if (geteuid() != 0)
    skip(); /* needs root to drop from */
  ring_or_skip(ART_TEST_LOOP(state));
  const char *secret = make_secret(p1);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(drop_child(secret));
  int code = wait_child(pid);
  if (code == CHILD_NO_RING)
    skip();
  assert_int_equal(code, CHILD_OK);
}

/* Submits an open of path through the ring with cb, as it is now. */
static void open_async(art_loop_t *loop, art_fs_t *req, outcome_t *o,
                       const char *path, int flags) {
  memset(o, 0, sizeof(*o));
  req->data = o;
  CHILD_CHECK(art_fs_open(loop, req, path, flags, 0, record_cb) == 0);
}

/* Runs the loop until req's callback; its result, any fd closed. */
static ssize_t finish(art_loop_t *loop, art_fs_t *req, outcome_t *o) {
  CHILD_CHECK(art_test_run_until(loop, 5000, called, o));
  if (o->result >= 0)
    close((int)o->result);
  art_fs_req_cleanup(req);
  return o->result;
}

/* The credentials are those of the art_fs_* call, not those the thread
 * has when the loop next waits: an open made as nobody (seteuid, the
 * saved ID still root) and run after the return to root is refused, and
 * one made as root and run as nobody succeeds. Both the open sent to a
 * kernel worker and the one tried without blocking first. */
static int seteuid_child(const char *secret) {
  static const int flags[2] = {O_RDONLY, O_RDONLY | O_NONBLOCK};
  art_loop_t loop;
  art_fs_t req;
  outcome_t o;
  CHILD_CHECK(art_loop_init(&loop) == 0);
  CHILD_CHECK(
      art_loop_configure(&loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING) == 0);
  if (strcmp(art_backend_name(&loop), "io_uring") != 0)
    _exit(CHILD_NO_RING);
  enter_ring(&loop);
  for (int i = 0; i < 2; i++) {
    CHILD_CHECK(seteuid(NOBODY) == 0);
    open_async(&loop, &req, &o, secret, flags[i]);
    CHILD_CHECK(seteuid(0) == 0);
    CHILD_CHECK(finish(&loop, &req, &o) == ART_EACCES);
    open_async(&loop, &req, &o, secret, flags[i]);
    CHILD_CHECK(seteuid(NOBODY) == 0);
    ssize_t r = finish(&loop, &req, &o);
    CHILD_CHECK(seteuid(0) == 0);
    CHILD_CHECK(r >= 0);
  }
  CHILD_CHECK(art_loop_close(&loop) == 0);
  return CHILD_OK;
}

ART_TEST(credentials_are_those_of_the_call_not_of_the_next_wait) {
  if (geteuid() != 0)
    skip();
  ring_or_skip(ART_TEST_LOOP(state));
  const char *secret = make_secret(p1);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(seteuid_child(secret));
  int code = wait_child(pid);
  if (code == CHILD_NO_RING)
    skip();
  assert_int_equal(code, CHILD_OK);
}

/* An open submitted while root and still pending (blocked on a FIFO in a
 * kernel worker) when the child drops to nobody keeps the credentials it
 * was submitted with: the kernel checked them when it looked the path up,
 * and the worker holds the submitter's copy. Released by a writer, it
 * completes with an fd. What the child submits after the drop is nobody's
 * (EACCES), in the same ring at the same time. */
static int pending_child(const char *secret, const char *fifo, int ready) {
  art_loop_t loop;
  art_fs_t req;
  outcome_t o;
  CHILD_CHECK(art_loop_init(&loop) == 0);
  CHILD_CHECK(
      art_loop_configure(&loop, ART_LOOP_BACKEND, ART_BACKEND_IO_URING) == 0);
  if (strcmp(art_backend_name(&loop), "io_uring") != 0)
    _exit(CHILD_NO_RING);
  enter_ring(&loop);
  memset(&o, 0, sizeof(o));
  req.data = &o;
  CHILD_CHECK(art_fs_open(&loop, &req, fifo, O_RDONLY, 0, record_cb) == 0);
  CHILD_CHECK(art_run(&loop, ART_RUN_NOWAIT) == 1 && o.calls == 0);
  CHILD_CHECK(drop_to_nobody() == 0);
  CHILD_CHECK(ring_open(&loop, secret, O_RDONLY | O_NONBLOCK) == ART_EACCES);
  CHILD_CHECK(o.calls == 0);
  CHILD_CHECK(write(ready, "d", 1) == 1); /* the parent opens a writer */
  CHILD_CHECK(art_run(&loop, ART_RUN_DEFAULT) == 0);
  CHILD_CHECK(o.calls == 1 && o.result >= 0);
  close((int)o.result);
  art_fs_req_cleanup(&req);
  CHILD_CHECK(art_loop_close(&loop) == 0);
  return CHILD_OK;
}

/* Opens a writer of fifo once its reader waits (ENXIO until then). */
static void release_fifo(const char *fifo) {
  for (int i = 0; i < 5000; i++) {
    int fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) {
      close(fd);
      return;
    }
    assert_int_equal(errno, ENXIO);
    usleep(1000);
  }
  fail_msg("the child's open of the FIFO never waited for a writer");
}

ART_TEST(credentials_of_a_pending_operation_are_those_it_was_submitted_with) {
  if (geteuid() != 0)
    skip();
  ring_or_skip(ART_TEST_LOOP(state));
  const char *secret = make_secret(p1);
  const char *fifo = in_dir(p2, "fifo");
  assert_int_equal(mkfifo(fifo, 0600), 0);
  int ready[2];
  char c;
  assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    close(ready[0]);
    _exit(pending_child(secret, fifo, ready[1]));
  }
  close(ready[1]);
  if (read(ready[0], &c, 1) == 1)
    release_fifo(fifo);
  close(ready[0]);
  int code = wait_child(pid);
  if (code == CHILD_NO_RING)
    skip();
  assert_int_equal(code, CHILD_OK);
}

/* ---- The loop changes under ring requests. ---- */

/* Another backend could never report what the ring has: the move is
 * refused while a request is in it, and allowed again after. */
ART_TEST(backend_move_is_busy_while_a_ring_request_is_in_flight) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  outcome_t o;
  char a[4];
  int fds[2];
  ring_or_skip(loop);
  blocking_pipe(fds);
  art_buf_t buf = art_buf_init(a, sizeof(a));
  START(o, req, art_fs_read(loop, &req, fds[0], &buf, 1, -1, record_cb));
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_BACKEND, ART_BACKEND_EPOLL), ART_EBUSY);
  assert_string_equal(art_backend_name(loop), "io_uring");
  assert_int_equal(art_cancel((art_req_t *)&req), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.result, ART_ECANCELED);
  art_fs_req_cleanup(&req);
  assert_int_equal(
      art_loop_configure(loop, ART_LOOP_BACKEND, ART_BACKEND_EPOLL), 0);
  close(fds[0]);
  close(fds[1]);
}

/* In a forked child the parent's ring requests are not the child's to
 * wait for: after art_loop_fork they complete there with ART_ECANCELED,
 * and the child's loop closes. In the parent the request stays in the
 * ring and completes with the data written after the fork. */
static int fork_child(art_loop_t *loop, outcome_t *o) {
  CHILD_CHECK(art_loop_fork(loop) == 0);
  CHILD_CHECK(art_test_run_until(loop, 5000, called, o));
  CHILD_CHECK(o->calls == 1 && o->result == ART_ECANCELED);
  CHILD_CHECK(art_loop_close(loop) == 0);
  return CHILD_OK;
}

ART_TEST(forked_child_gets_its_ring_requests_canceled) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_fs_t req;
  outcome_t o;
  char a[4];
  int fds[2];
  ring_or_skip(loop);
  blocking_pipe(fds);
  art_buf_t buf = art_buf_init(a, sizeof(a));
  START(o, req, art_fs_read(loop, &req, fds[0], &buf, 1, -1, record_cb));
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(fork_child(loop, &o));
  assert_int_equal(wait_child(pid), CHILD_OK);
  assert_int_equal(o.calls, 0);
  assert_int_equal(write(fds[1], "p", 1), 1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.result, 1);
  assert_int_equal(a[0], 'p');
  art_fs_req_cleanup(&req);
  close(fds[0]);
  close(fds[1]);
}
