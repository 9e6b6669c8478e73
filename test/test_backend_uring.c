/* The io_uring backend's own traps (src/backend/io_uring.c, its notes):
 * stale completions of a closed and reused fd, level-triggered readiness
 * from one-shot polls, a close that really closes, the host of an embedded
 * loop woken from another thread, polls canceled by a thread's exit, the
 * fallback to epoll when the ring is refused, and a forked child that does
 * not share the ring. The tests make their io_uring loops themselves, so
 * they run whatever ART_BACKEND says; where the kernel has no ring, those
 * that need one pass after checking the loop fell back to epoll. Threads:
 * ART_SUITE_THREADS */
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"

extern const art__backend_ops_t art__backend_io_uring;

/* Inits loop on io_uring; 1 if it got the ring, 0 if it fell back. */
static int uring_loop(art_loop_t *loop) {
  assert_int_equal(art__loop_init_with(loop, &art__backend_io_uring), 0);
  if (strcmp(art_backend_name(loop), "io_uring") == 0)
    return 1;
  assert_string_equal(art_backend_name(loop), "epoll");
  return 0;
}

static void close_loop(art_loop_t *loop) {
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(loop), 0);
}

static void make_pipe(int fds[2]) {
  assert_int_equal(pipe2(fds, O_CLOEXEC | O_NONBLOCK), 0);
}

/* The classic bug: fd 7 is watched, its poll completes, the owner closes
 * fd 7 and opens another file that gets number 7 before the completion is
 * read. The old completion must not say the new file is readable. */
ART_TEST(stale_completion_of_a_reused_fd_is_dropped) {
  const art__backend_ops_t *ops = &art__backend_io_uring;
  art__event_t ev[8];
  void *st;
  int a[2], b[2];
  if (ops->init(&st) != 0)
    return; /* no ring here: nothing of this backend to test */
  make_pipe(a);
  assert_int_equal(ops->reserve(st, a[0], 0), 0);
  assert_int_equal(ops->update(st, a[0], 0, ART_READABLE), 0);
  assert_int_equal(ops->wait(st, 0, ev, 8), 0); /* armed, nothing ready */
  /* The poll completes in the kernel; its completion waits in the ring. */
  assert_int_equal(write(a[1], "x", 1), 1);
  ops->forget_fd(st, a[0]);
  int old = a[0];
  close(a[0]);
  make_pipe(b); /* takes the lowest free numbers: old is b[0] again */
  assert_int_equal(b[0], old);
  assert_int_equal(ops->update(st, b[0], 0, ART_READABLE), 0);
  /* The new pipe is empty: nothing may be reported for it. */
  assert_int_equal(ops->wait(st, 0, ev, 8), 0);
  assert_int_equal(ops->wait(st, 0, ev, 8), 0);
  /* And it is watched: data written now is reported, once per wait. */
  assert_int_equal(write(b[1], "y", 1), 1);
  assert_int_equal(ops->wait(st, 1000000000, ev, 8), 1);
  assert_int_equal(ev[0].fd, b[0]);
  assert_int_equal(ev[0].events, ART_READABLE);
  ops->forget_fd(st, b[0]);
  ops->close(st);
  close(a[1]);
  close(b[0]);
  close(b[1]);
}

#define MANY 1500 /* more polls completing at once than the CQ holds */

/* More completions at once than the CQ has room for: the kernel keeps the
 * rest (NODROP) and later waits bring them out. Every fd is reported, and
 * once, since each report is drained before the next wait. */
ART_TEST(cq_overflow_loses_no_event) {
  const art__backend_ops_t *ops = &art__backend_io_uring;
  static int fds[MANY][2], seen[MANY];
  art__event_t *ev = malloc(ART__EVENT_BATCH * sizeof(*ev));
  void *st;
  int total = 0;
  char c;
  assert_non_null(ev);
  if (ops->init(&st) != 0) {
    free(ev);
    return;
  }
  for (int i = 0; i < MANY; i++) {
    make_pipe(fds[i]);
    seen[i] = 0;
    assert_int_equal(ops->reserve(st, fds[i][0], 0), 0);
    assert_int_equal(ops->update(st, fds[i][0], 0, ART_READABLE), 0);
  }
  assert_int_equal(ops->wait(st, 0, ev, ART__EVENT_BATCH), 0); /* armed */
  for (int i = 0; i < MANY; i++)
    assert_int_equal(write(fds[i][1], "x", 1), 1);
  for (int round = 0; round < 20 && total < MANY; round++) {
    int n = ops->wait(st, 1000000000, ev, ART__EVENT_BATCH);
    assert_true(n <= ART__EVENT_BATCH);
    for (int k = 0; k < n; k++) {
      int i = 0;
      while (i < MANY && fds[i][0] != ev[k].fd)
        i++;
      assert_true(i < MANY);
      assert_int_equal(seen[i], 0);
      seen[i] = 1;
      assert_int_equal(read(fds[i][0], &c, 1), 1);
      total++;
    }
  }
  assert_int_equal(total, MANY);
  assert_int_equal(ops->wait(st, 0, ev, ART__EVENT_BATCH), 0);
  for (int i = 0; i < MANY; i++) {
    ops->forget_fd(st, fds[i][0]);
    close(fds[i][0]);
    close(fds[i][1]);
  }
  ops->close(st);
  free(ev);
}

typedef struct {
  int calls;
  int status;
  int bytes_per_call;
} reader_t;

static void read_one_cb(art_poll_t *p, int status, int events) {
  reader_t *r = p->data;
  char c[4];
  (void)events;
  r->calls++;
  r->status = status;
  if (status == 0)
    assert_int_equal(read(p->io_.fd, c, (size_t)r->bytes_per_call),
                     r->bytes_per_call);
}

/* The owner reads one byte of three per callback: the fd is reported again
 * at each wait until it is drained (level), and not after. */
ART_TEST(readiness_is_level_triggered) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {.bytes_per_call = 1};
  int fds[2];
  uring_loop(&loop);
  make_pipe(fds);
  assert_int_equal(write(fds[1], "abc", 3), 3);
  assert_int_equal(art_poll_init(&loop, &p, fds[0]), 0);
  p.data = &r;
  assert_int_equal(art_poll_start(&p, ART_READABLE, read_one_cb), 0);
  for (int i = 0; i < 10; i++)
    art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(r.calls, 3);
  assert_int_equal(r.status, 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  close_loop(&loop);
  close(fds[0]);
  close(fds[1]);
}

/* A poll in the ring holds the file: closing a watched socket must still
 * close it at once, so the peer reads end-of-file without the loop
 * running again. */
ART_TEST(closing_a_watched_socket_closes_it_at_once) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {.bytes_per_call = 1};
  int sv[2];
  char c;
  uring_loop(&loop);
  assert_int_equal(
      socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv),
      0);
  assert_int_equal(art_poll_init(&loop, &p, sv[0]), 0);
  p.data = &r;
  assert_int_equal(art_poll_start(&p, ART_READABLE, read_one_cb), 0);
  art_run(&loop, ART_RUN_NOWAIT); /* the poll is in the kernel now */
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  close(sv[0]);
  assert_int_equal(recv(sv[1], &c, 1, MSG_DONTWAIT), 0);
  close_loop(&loop);
  close(sv[1]);
  assert_int_equal(r.calls, 0);
}

typedef struct {
  int wfd;
  int delay_ms;
} writer_t;

static void *write_later(void *arg) {
  writer_t *w = arg;
  poll(NULL, 0, w->delay_ms);
  assert_int_equal(write(w->wfd, "x", 1), 1);
  return NULL;
}

/* A host blocks in poll(2) on the ring fd; another thread makes a watched
 * fd readable. The ring fd must wake the host (the completion is the
 * loop thread's to run, and that thread is asleep outside the ring). */
ART_TEST(embedded_host_wakes_for_another_threads_write) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {.bytes_per_call = 1};
  int fds[2];
  pthread_t t;
  if (!uring_loop(&loop)) {
    close_loop(&loop);
    return;
  }
  make_pipe(fds);
  assert_int_equal(art_poll_init(&loop, &p, fds[0]), 0);
  p.data = &r;
  assert_int_equal(art_poll_start(&p, ART_READABLE, read_one_cb), 0);
  art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(art_backend_timeout(&loop), -1);
  writer_t w = {fds[1], 50};
  assert_int_equal(pthread_create(&t, NULL, write_later, &w), 0);
  struct pollfd pfd = {.fd = art_backend_fd(&loop), .events = POLLIN};
  /* The cap only bounds a broken run; the write comes after 50 ms. */
  assert_int_equal(poll(&pfd, 1, 10000), 1);
  assert_int_equal(pthread_join(t, NULL), 0);
  art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(r.calls, 1);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  close_loop(&loop);
  close(fds[0]);
  close(fds[1]);
}

static void *run_nowait(void *arg) {
  art_run(arg, ART_RUN_NOWAIT);
  return NULL;
}

/* The kernel cancels a thread's requests when it exits. A loop run by a
 * thread that then exits, and afterwards by another, must keep watching
 * its fds: the canceled polls are armed again, not reported as errors. */
ART_TEST(polls_survive_the_exit_of_the_thread_that_armed_them) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {.bytes_per_call = 1};
  int fds[2];
  pthread_t t;
  uring_loop(&loop);
  make_pipe(fds);
  assert_int_equal(art_poll_init(&loop, &p, fds[0]), 0);
  p.data = &r;
  assert_int_equal(art_poll_start(&p, ART_READABLE, read_one_cb), 0);
  assert_int_equal(pthread_create(&t, NULL, run_nowait, &loop), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  for (int i = 0; i < 3; i++)
    art_run(&loop, ART_RUN_NOWAIT); /* the cancel comes, and is absorbed */
  assert_int_equal(r.calls, 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  for (int i = 0; i < 3 && r.calls == 0; i++)
    art_run(&loop, ART_RUN_ONCE);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.status, 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  close_loop(&loop);
  close(fds[0]);
  close(fds[1]);
}

/* ---- Fallback: a seccomp filter refuses io_uring_setup in a child ---- */

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef NATIVE_ARCH
/* Makes io_uring_setup fail with err for this process from now on. */
static int refuse_io_uring(int err) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_io_uring_setup, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {(unsigned short)ART_ARRAY_SIZE(f), f};
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    return -1;
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static int timer_fired;

static void fired_cb(art_timer_t *t) {
  (void)t;
  timer_fired++;
}

/* The child's side: a loop asked for io_uring runs on epoll. Exit codes
 * say which step failed. */
static int fallback_child(int err) {
  art_loop_t loop;
  art_timer_t t;
  if (refuse_io_uring(err) != 0)
    return 10;
  if (syscall(SYS_io_uring_setup, 4, NULL) != -1 || errno != err)
    return 11;
  setenv("ART_BACKEND", "io_uring", 1);
  if (art_loop_init(&loop) != 0)
    return 12;
  if (strcmp(art_backend_name(&loop), "epoll") != 0)
    return 13;
  if (art_timer_init(&loop, &t) != 0 ||
      art_timer_start(&t, fired_cb, 1, 0) != 0)
    return 14;
  art_run(&loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&t, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  if (timer_fired != 1)
    return 15;
  return art_loop_close(&loop) == 0 ? 0 : 16;
}

static void check_fallback(int err) {
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(fallback_child(err));
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

ART_TEST(refused_ring_falls_back_to_epoll_eperm) {
  check_fallback(EPERM); /* seccomp, or kernel.io_uring_disabled */
}

ART_TEST(refused_ring_falls_back_to_epoll_enosys) {
  check_fallback(ENOSYS); /* a kernel without io_uring */
}
#endif

/* ---- Fork ---- */

/* How many mappings of an io_uring this process has. */
static int ring_mappings(void) {
  FILE *f = fopen("/proc/self/maps", "re");
  char line[512];
  int n = 0;
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strstr(line, "io_uring") != NULL)
      n++;
  fclose(f);
  return n;
}

/* The child's side: no mapping of the parent's rings; a loop of its own
 * works. */
static int fork_child(void) {
  art_loop_t loop;
  art_timer_t t;
  if (ring_mappings() != 0)
    return 20;
  if (art__loop_init_with(&loop, &art__backend_io_uring) != 0 ||
      strcmp(art_backend_name(&loop), "io_uring") != 0)
    return 21;
  if (art_timer_init(&loop, &t) != 0 ||
      art_timer_start(&t, fired_cb, 1, 0) != 0)
    return 22;
  art_run(&loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&t, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  if (timer_fired != 1)
    return 23;
  return art_loop_close(&loop) == 0 ? 0 : 24;
}

/* A forked child does not share its parent's ring: it has no mapping of
 * it, its own loop gets its own ring, and the parent's loop goes on
 * watching its fds after the child is gone. */
ART_TEST(forked_child_does_not_share_the_ring) {
  art_loop_t loop;
  art_poll_t p;
  reader_t r = {.bytes_per_call = 1};
  int fds[2], status;
  if (!uring_loop(&loop)) {
    close_loop(&loop);
    return;
  }
  assert_true(ring_mappings() > 0);
  make_pipe(fds);
  assert_int_equal(art_poll_init(&loop, &p, fds[0]), 0);
  p.data = &r;
  assert_int_equal(art_poll_start(&p, ART_READABLE, read_one_cb), 0);
  art_run(&loop, ART_RUN_NOWAIT);
  timer_fired = 0;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(fork_child());
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_int_equal(write(fds[1], "x", 1), 1);
  for (int i = 0; i < 3 && r.calls == 0; i++)
    art_run(&loop, ART_RUN_ONCE);
  assert_int_equal(r.calls, 1);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  close_loop(&loop);
  close(fds[0]);
  close(fds[1]);
}

/* ---- Operations (submit) ---- */

typedef struct {
  art_req_t req;
  art__op_t op;
  int64_t result;
  int calls;
  char buf[32];
} op_owner_t;

static void op_owner_done(art__op_t *op, int64_t result) {
  op_owner_t *o = (op_owner_t *)((char *)op - offsetof(op_owner_t, op));
  o->result = result;
  o->calls++;
  art__req_unregister(o->req.loop, ART_REQ);
}

static void op_submit(art_loop_t *loop, op_owner_t *o, art__op_kind kind,
                      int fd, size_t len, int64_t offset) {
  memset(&o->op, 0, sizeof(o->op)); /* no path, no flags, no ART__OP_NOW */
  o->op.done = op_owner_done;
  o->op.kind = kind;
  o->op.fd = fd;
  o->op.buf = o->buf;
  o->op.len = len;
  o->op.offset = offset;
  o->calls = 0;
  assert_int_equal(art__io_submit(loop, &o->op), 0);
  art__req_register(loop, &o->req, ART_REQ);
}

/* Accept, positioned write and read, fsync: each runs whole in the ring
 * and its owner gets the result. */
ART_TEST(operations_run_whole_in_the_ring) {
  art_loop_t loop;
  op_owner_t acc, w, r, sync;
  struct sockaddr_in addr = {.sin_family = AF_INET};
  socklen_t alen = sizeof(addr);
  if (!uring_loop(&loop)) {
    close_loop(&loop);
    return;
  }
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(lfd >= 0);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(listen(lfd, 4), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr, &alen), 0);
  op_submit(&loop, &acc, ART__OP_ACCEPT, lfd, 0, 0);
  art_run(&loop, ART_RUN_NOWAIT); /* the accept waits in the kernel */
  assert_int_equal(acc.calls, 0);
  int cfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(connect(cfd, (struct sockaddr *)&addr, sizeof(addr)), 0);
  FILE *f = tmpfile();
  assert_non_null(f);
  memcpy(w.buf, "0123456789", 10);
  op_submit(&loop, &w, ART__OP_WRITE, fileno(f), 10, 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  op_submit(&loop, &r, ART__OP_READ, fileno(f), 4, 3);
  op_submit(&loop, &sync, ART__OP_FSYNC, fileno(f), 0, 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(acc.calls, 1);
  assert_true(acc.result >= 0);
  assert_true(fcntl((int)acc.result, F_GETFD) & FD_CLOEXEC);
  assert_true(fcntl((int)acc.result, F_GETFL) & O_NONBLOCK);
  assert_int_equal(w.result, 10);
  assert_int_equal(r.result, 4);
  assert_memory_equal(r.buf, "3456", 4);
  assert_int_equal(sync.calls, 1);
  assert_int_equal(sync.result, 0);
  close((int)acc.result);
  close(cfd);
  close(lfd);
  fclose(f);
  assert_int_equal(art_loop_close(&loop), 0);
}

/* A cancel that finds the SQ full while the kernel refuses to take it
 * still happens: it goes in with the next wait, and the operation ends
 * canceled, where the cancel used to fail and leave it waiting (a closed
 * stream's receive on an idle socket would have kept its handle forever).
 * The ring's fd names /dev/null meanwhile, so every enter fails. */
ART_TEST(cancel_without_room_goes_in_with_the_next_wait) {
  art_loop_t loop;
  op_owner_t target, *fill;
  int fds[2], n;
  if (!uring_loop(&loop)) {
    close_loop(&loop);
    return;
  }
  make_pipe(fds);
  op_submit(&loop, &target, ART__OP_READ, fds[0], 8, -1);
  art_run(&loop, ART_RUN_NOWAIT); /* the read waits in the kernel */
  assert_int_equal(target.calls, 0);
  int ring = art_backend_fd(&loop);
  int saved = fcntl(ring, F_DUPFD_CLOEXEC, 0);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_true(ring >= 0 && saved >= 0 && null >= 0);
  assert_int_equal(dup3(null, ring, O_CLOEXEC), ring);
  fill = calloc(65536, sizeof(*fill));
  assert_non_null(fill);
  for (n = 0; n < 65536; n++) { /* reads of the pipe, until the SQ is full */
    fill[n].op.done = op_owner_done;
    fill[n].op.kind = ART__OP_READ;
    fill[n].op.fd = fds[0];
    fill[n].op.buf = fill[n].buf;
    fill[n].op.len = 8;
    fill[n].op.offset = -1;
    if (art__io_submit(&loop, &fill[n].op) != 0)
      break;
    art__req_register(&loop, &fill[n].req, ART_REQ);
  }
  assert_true(n > 0 && n < 65536);
  assert_int_equal(art__io_cancel(&loop, &target.op), 0);
  assert_int_equal(art__io_cancel(&loop, &target.op), 0); /* asked twice */
  assert_int_equal(dup3(saved, ring, O_CLOEXEC), ring);
  close(saved);
  close(null);
  for (int i = 0; i < 100 && target.calls == 0; i++)
    art_run(&loop, ART_RUN_NOWAIT);
  assert_int_equal(target.calls, 1);
  assert_int_equal(target.result, ART_ECANCELED);
  for (int i = 0; i < n; i++)
    assert_int_equal(fill[i].calls, 0); /* only the one asked for */
  close(fds[1]);                        /* the rest end with the pipe */
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  for (int i = 0; i < n; i++) {
    assert_int_equal(fill[i].calls, 1);
    assert_int_equal(fill[i].result, 0);
  }
  assert_int_equal(target.calls, 1);
  free(fill);
  close(fds[0]);
  assert_int_equal(art_loop_close(&loop), 0);
}

static void *submit_and_leave(void *arg) {
  art_run(arg, ART_RUN_NOWAIT); /* submits the read, then the thread ends */
  return NULL;
}

/* A read in flight when the loop moves to another thread (and so to a new
 * ring) completes once, canceled, instead of never. */
ART_TEST(operations_in_flight_survive_a_move_to_another_thread) {
  art_loop_t loop;
  op_owner_t r;
  int fds[2];
  pthread_t t;
  if (!uring_loop(&loop)) {
    close_loop(&loop);
    return;
  }
  make_pipe(fds);
  op_submit(&loop, &r, ART__OP_READ, fds[0], 8, -1);
  assert_int_equal(pthread_create(&t, NULL, submit_and_leave, &loop), 0);
  assert_int_equal(pthread_join(t, NULL), 0);
  assert_int_equal(r.calls, 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(r.calls, 1);
  assert_int_equal(r.result, ART_ECANCELED);
  close(fds[0]);
  close(fds[1]);
  assert_int_equal(art_loop_close(&loop), 0);
}

/* The child's side: a ring of its own first (it may be mapped where the
 * parent's rings were, since the child never had them), then the
 * inherited state closed, as a fork hook replacing a loop's backend does;
 * the new ring must still work. */
static int replace_child(void *inherited) {
  const art__backend_ops_t *ops = &art__backend_io_uring;
  art__event_t ev[4];
  void *fresh;
  int fds[2];
  if (ops->init(&fresh) != 0)
    return 30;
  ops->close(inherited);
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0 ||
      ops->update(fresh, fds[0], 0, ART_READABLE) != 0 ||
      write(fds[1], "x", 1) != 1)
    return 31;
  if (ops->wait(fresh, 1000000000, ev, 4) != 1 || ev[0].fd != fds[0])
    return 32;
  ops->forget_fd(fresh, fds[0]);
  ops->close(fresh);
  return 0;
}

/* A child that replaces the ring it inherited with its own. */
ART_TEST(forked_child_replaces_the_inherited_ring) {
  const art__backend_ops_t *ops = &art__backend_io_uring;
  void *st;
  int status;
  if (ops->init(&st) != 0)
    return;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0)
    _exit(replace_child(st));
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  ops->close(st);
}

/* ---- Multishot accept (ART__OP_MULTISHOT) ---- */

#define BURST 200

typedef struct {
  art_loop_t *loop;
  art_req_t req;
  art__op_t op;
  int fds[BURST]; /* accepted fds, in order */
  int naccepted;  /* fds taken (more than BURST: counted, closed) */
  int errors;     /* completions with an error */
  int ended;      /* completions after which the operation was over */
  int after;      /* completions after the one that ended it */
  int64_t last_result;
} multi_owner_t;

static void multi_done(art__op_t *op, int64_t result) {
  multi_owner_t *m =
      (multi_owner_t *)((char *)op - offsetof(multi_owner_t, op));
  if (m->ended > 0)
    m->after++;
  if (result >= 0 && m->naccepted < BURST)
    m->fds[m->naccepted] = (int)result;
  else if (result >= 0)
    close((int)result);
  if (result >= 0)
    m->naccepted++;
  else
    m->errors++;
  if (!art__op_in_flight(op)) {
    m->ended++;
    m->last_result = result;
    art__req_unregister(m->loop, ART_REQ);
  }
}

static int listen_loopback(struct sockaddr_in *addr) {
  socklen_t alen = sizeof(*addr);
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_true(lfd >= 0);
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(lfd, (struct sockaddr *)addr, sizeof(*addr)), 0);
  assert_int_equal(listen(lfd, BURST), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)addr, &alen), 0);
  return lfd;
}

/* One submission accepts a burst of connections, each exactly once (every
 * fd distinct, none lost), and stays in flight; a cancel then ends it with
 * one last completion, and nothing comes after. */
ART_TEST(multishot_accept_takes_a_burst_once_and_ends_at_cancel) {
  art_loop_t loop;
  multi_owner_t m;
  struct sockaddr_in addr;
  int clients[BURST];
  if (!uring_loop(&loop)) {
    close_loop(&loop);
    return;
  }
  int lfd = listen_loopback(&addr);
  memset(&m, 0, sizeof(m));
  m.loop = &loop;
  art__queue_init(&m.op.node_);
  m.op.done = multi_done;
  m.op.kind = ART__OP_ACCEPT;
  m.op.fd = lfd;
  m.op.how = ART__OP_MULTISHOT;
  assert_int_equal(art__io_submit(&loop, &m.op), 0);
  art__req_register(&loop, &m.req, ART_REQ);
  for (int i = 0; i < BURST; i++) {
    clients[i] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_int_equal(
        connect(clients[i], (struct sockaddr *)&addr, sizeof(addr)), 0);
  }
  while (m.naccepted < BURST && m.ended == 0)
    art_run(&loop, ART_RUN_ONCE);
  assert_int_equal(m.naccepted, BURST);
  assert_int_equal(m.errors, 0);
  assert_int_equal(m.ended, 0);
  assert_true(art__op_in_flight(&m.op));
  for (int i = 0; i < BURST; i++) {
    assert_true(fcntl(m.fds[i], F_GETFD) & FD_CLOEXEC);
    assert_true(fcntl(m.fds[i], F_GETFL) & O_NONBLOCK);
    for (int j = 0; j < i; j++)
      assert_int_not_equal(m.fds[i], m.fds[j]);
  }
  assert_int_equal(art__io_cancel(&loop, &m.op), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(m.ended, 1);
  assert_int_equal(m.last_result, ART_ECANCELED);
  assert_false(art__op_in_flight(&m.op));
  /* A connection now finds no accept in the ring. */
  int late = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(connect(late, (struct sockaddr *)&addr, sizeof(addr)), 0);
  assert_int_equal(art_run(&loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(m.after, 0);
  assert_int_equal(m.naccepted, BURST);
  for (int i = 0; i < BURST; i++) {
    close(m.fds[i]);
    close(clients[i]);
  }
  close(late);
  close(lfd);
  assert_int_equal(art_loop_close(&loop), 0);
}
