/* The io_uring backend on older kernels, simulated: this suite's own
 * syscall() stands in front of libc's and refuses io_uring_setup with
 * EINVAL for flags a kernel before 6.1 (DEFER_TASKRUN) or before 5.19
 * (COOP_TASKRUN, SUBMIT_ALL, TASKRUN_FLAG) does not know, so the backend's
 * second and third set-ups (src/backend/io_uring.c, note 6) run here: the
 * ring they give must keep the same promises (level-triggered readiness,
 * stale completions dropped, an embedded host woken from another thread, a
 * loop run by a thread that then exits). The library is linked statically,
 * so its syscall() calls reach the one defined here. Threads:
 * ART_SUITE_THREADS */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"

extern const art__backend_ops_t art__backend_io_uring;

/* Flags io_uring_setup refuses (EINVAL) while set, as an older kernel
 * would; and the flags of the last ring made. */
static unsigned refused_flags;
static unsigned made_flags;

long syscall(long n, ...) {
  static long (*real)(long, ...);
  long a[6];
  va_list ap;
  va_start(ap, n);
  for (int i = 0; i < 6; i++)
    a[i] = va_arg(ap, long);
  va_end(ap);
  if (real == NULL)
    real = (long (*)(long, ...))dlsym(RTLD_NEXT, "syscall");
  if (n == SYS_io_uring_setup) {
    struct io_uring_params *p = (struct io_uring_params *)a[1];
    if (p != NULL && (p->flags & refused_flags)) {
      errno = EINVAL;
      return -1;
    }
    long r = real(n, a[0], a[1]);
    if (r >= 0 && p != NULL)
      made_flags = p->flags;
    return r;
  }
  return real(n, a[0], a[1], a[2], a[3], a[4], a[5]);
}

/* Kernels 5.19 to 6.0: no DEFER_TASKRUN (nor SINGLE_ISSUER, 6.0 has it
 * but the pair is refused as one). */
#define BEFORE_6_1 (IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_SINGLE_ISSUER)
/* Kernels before 5.19: none of the newer flags. */
#define BEFORE_5_19                                                            \
  (BEFORE_6_1 | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG |        \
   IORING_SETUP_SUBMIT_ALL)

/* Inits loop on io_uring as a kernel refusing `refuse` would make it; 0
 * when there is no ring here at all. */
static int old_kernel_loop(art_loop_t *loop, unsigned refuse) {
  refused_flags = refuse;
  made_flags = 0;
  assert_int_equal(art__loop_init_with(loop, &art__backend_io_uring), 0);
  refused_flags = 0;
  if (strcmp(art_backend_name(loop), "io_uring") != 0) {
    assert_int_equal(art_loop_close(loop), 0);
    return 0;
  }
  assert_true(made_flags & IORING_SETUP_CQSIZE); /* seen here */
  assert_int_equal(made_flags & refuse, 0);
  return 1;
}

typedef struct {
  int calls;
  int status;
} reader_t;

static void read_one_cb(art_poll_t *p, int status, int events) {
  reader_t *r = p->data;
  char c;
  (void)events;
  r->calls++;
  r->status = status;
  if (status == 0)
    assert_int_equal(read(p->io_.fd, &c, 1), 1);
}

static void watch(art_loop_t *loop, art_poll_t *p, int fd, reader_t *r) {
  assert_int_equal(art_poll_init(loop, p, fd), 0);
  p->data = r;
  assert_int_equal(art_poll_start(p, ART_READABLE, read_one_cb), 0);
}

static void finish(art_loop_t *loop, art_poll_t *p, int fds[2]) {
  assert_int_equal(art_close((art_handle_t *)p, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(loop), 0);
  close(fds[0]);
  close(fds[1]);
}

/* Three bytes read one per callback: reported at three waits, then not. */
static void level_triggered(unsigned refuse) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {0, 0};
  int fds[2];
  if (!old_kernel_loop(&loop, refuse))
    return;
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(write(fds[1], "abc", 3), 3);
  watch(&loop, &p, fds[0], &r);
  for (int i = 0; i < 10; i++)
    art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(r.calls, 3);
  finish(&loop, &p, fds);
}

ART_TEST(level_triggered_before_6_1) {
  (void)state;
  level_triggered(BEFORE_6_1);
}

ART_TEST(level_triggered_before_5_19) {
  (void)state;
  level_triggered(BEFORE_5_19);
}

static void *write_later(void *arg) {
  int *wfd = arg;
  poll(NULL, 0, 50);
  assert_int_equal(write(*wfd, "x", 1), 1);
  return NULL;
}

/* A host asleep in poll(2) on the ring fd is woken by another thread's
 * write to a watched pipe: with COOP_TASKRUN the completion waits for the
 * loop thread, and the ring fd must still become readable. */
static void embedded_host(unsigned refuse) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {0, 0};
  int fds[2];
  pthread_t t;
  if (!old_kernel_loop(&loop, refuse))
    return;
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  watch(&loop, &p, fds[0], &r);
  art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(art_backend_timeout(&loop), -1);
  assert_int_equal(pthread_create(&t, NULL, write_later, &fds[1]), 0);
  struct pollfd pfd = {.fd = art_backend_fd(&loop), .events = POLLIN};
  assert_int_equal(poll(&pfd, 1, 10000), 1); /* the cap bounds a hang */
  assert_int_equal(pthread_join(t, NULL), 0);
  art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(r.calls, 1);
  finish(&loop, &p, fds);
}

ART_TEST(embedded_host_wakes_before_6_1) {
  (void)state;
  embedded_host(BEFORE_6_1);
}

ART_TEST(embedded_host_wakes_before_5_19) {
  (void)state;
  embedded_host(BEFORE_5_19);
}

static void *run_nowait(void *arg) {
  art_run(arg, ART_RUN_NOWAIT);
  return NULL;
}

/* Armed by a thread that exits, then run by this one: still watching. */
static void thread_exit(unsigned refuse) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {0, 0};
  int fds[2];
  pthread_t t;
  if (!old_kernel_loop(&loop, refuse))
    return;
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
  watch(&loop, &p, fds[0], &r);
  assert_int_equal(pthread_create(&t, NULL, run_nowait, &loop), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  for (int i = 0; i < 3; i++)
    art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(r.calls, 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  for (int i = 0; i < 3 && r.calls == 0; i++)
    art_run(&loop, ART_RUN_ONCE);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  finish(&loop, &p, fds);
}

ART_TEST(thread_exit_before_6_1) {
  (void)state;
  thread_exit(BEFORE_6_1);
}

ART_TEST(thread_exit_before_5_19) {
  (void)state;
  thread_exit(BEFORE_5_19);
}

/* A stale completion of a closed and reused fd number is dropped. */
static void stale_completion(unsigned refuse) {
  const art__backend_ops_t *ops = &art__backend_io_uring;
  art__event_t ev[8];
  void *st;
  int a[2], b[2];
  refused_flags = refuse;
  int err = ops->init(&st);
  refused_flags = 0;
  if (err != 0)
    return;
  assert_int_equal(pipe2(a, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(ops->update(st, a[0], 0, ART_READABLE), 0);
  assert_int_equal(ops->wait(st, 0, ev, 8), 0);
  assert_int_equal(write(a[1], "x", 1), 1);
  ops->forget_fd(st, a[0]);
  int old = a[0];
  close(a[0]);
  assert_int_equal(pipe2(b, O_CLOEXEC | O_NONBLOCK), 0);
  assert_int_equal(b[0], old);
  assert_int_equal(ops->update(st, b[0], 0, ART_READABLE), 0);
  assert_int_equal(ops->wait(st, 0, ev, 8), 0);
  assert_int_equal(write(b[1], "y", 1), 1);
  assert_int_equal(ops->wait(st, 1000000000, ev, 8), 1);
  assert_int_equal(ev[0].fd, b[0]);
  ops->forget_fd(st, b[0]);
  ops->close(st);
  close(a[1]);
  close(b[0]);
  close(b[1]);
}

ART_TEST(stale_completion_before_6_1) {
  (void)state;
  stale_completion(BEFORE_6_1);
}

ART_TEST(stale_completion_before_5_19) {
  (void)state;
  stale_completion(BEFORE_5_19);
}
