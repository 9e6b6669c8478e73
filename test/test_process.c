/* Child processes: spawn and its failures, exit status and signals,
 * reaping many children, what the child inherits, kill, detach. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/harness.h"

#ifndef ART_CHILD_PATH
#error "test/CMakeLists.txt defines ART_CHILD_PATH"
#endif

static int exits;
static int64_t last_status;
static int last_signal;

static void exit_cb(art_process_t *p, int64_t status, int sig) {
  exits++;
  last_status = status;
  last_signal = sig;
}

static void reset(void) {
  exits = 0;
  last_status = -1;
  last_signal = -1;
}

/* Options for the helper program with argv {child, a, b, c}. */
static char *helper_args[6];
static art_process_options_t helper(const char *a, const char *b,
                                    const char *c) {
  art_process_options_t o;
  memset(&o, 0, sizeof(o));
  helper_args[0] = ART_CHILD_PATH;
  helper_args[1] = (char *)a;
  helper_args[2] = (char *)b;
  helper_args[3] = (char *)c;
  helper_args[4] = NULL;
  o.file = ART_CHILD_PATH;
  o.args = helper_args;
  o.exit_cb = exit_cb;
  return o;
}

/* Spawns into p the helper that sleeps until it is killed, with the exit
 * record reset. */
static void spawn_sleeper(art_loop_t *loop, art_process_t *p) {
  art_process_options_t o = helper("sleep", NULL, NULL);
  reset();
  assert_int_equal(art_spawn(loop, p, &o), 0);
}

/* Runs to completion a child whose stdout goes to a temporary file, and
 * returns what it printed (static buffer, trailing newline removed). */
static char output[4096];
static const char *run_capture(art_loop_t *loop, art_process_options_t *o) {
  char path[] = "/tmp/art-proc-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  unlink(path);
  art_stdio_container_t stdio[3] = {{ART_IGNORE, {.fd = 0}},
                                    {ART_INHERIT_FD, {.fd = fd}},
                                    {ART_INHERIT_FD, {.fd = 2}}};
  if (o->stdio_count == 0) {
    o->stdio = stdio;
    o->stdio_count = 3;
  } else {
    o->stdio[1].flags = ART_INHERIT_FD;
    o->stdio[1].data.fd = fd;
  }
  art_process_t p;
  reset();
  assert_int_equal(art_spawn(loop, &p, o), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exits, 1);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  ssize_t n = pread(fd, output, sizeof(output) - 1, 0);
  close(fd);
  assert_true(n >= 0);
  output[n] = '\0';
  if (n > 0 && output[n - 1] == '\n')
    output[n - 1] = '\0';
  return output;
}

/* Children of this process still in the process table (zombies
 * included), from each /proc/<pid>/stat's ppid field. */
static int count_children(void) {
  DIR *d = opendir("/proc");
  struct dirent *e;
  int n = 0;
  assert_non_null(d);
  while ((e = readdir(d)) != NULL) {
    char path[300], buf[512];
    if (e->d_name[0] < '0' || e->d_name[0] > '9')
      continue;
    snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
      continue;
    size_t len = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[len] = '\0';
    char *p = strrchr(buf, ')');
    int ppid;
    char st;
    if (p != NULL && sscanf(p + 1, " %c %d", &st, &ppid) == 2 &&
        ppid == getpid())
      n++;
  }
  closedir(d);
  return n;
}

static void assert_no_children(void) {
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
  assert_int_equal(count_children(), 0);
}

static int closed_calls;

static void closed_cb(art_handle_t *h) {
  closed_calls++;
}

/* A spawn that must fail with err, into a handle filled with junk first
 * (fail_after >= 0: with that allocation failing). Whatever the failure,
 * the handle comes back initialised and inactive, without a child, and
 * art_close on it works and calls back. */
static void spawn_fails(art_loop_t *loop, const art_process_options_t *o,
                        int err, long fail_after) {
  art_process_t p;
  memset(&p, 0xAA, sizeof(p));
  if (fail_after >= 0)
    art_test_fail_alloc_after(fail_after);
  int got = art_spawn(loop, &p, o);
  if (fail_after >= 0)
    art_test_fail_alloc_after(-1);
  assert_int_equal(got, err);
  assert_false(art_is_active((art_handle_t *)&p));
  assert_false(art_is_closing((art_handle_t *)&p));
  assert_int_equal(art_process_get_pid(&p), 0);
  assert_int_equal(art_process_kill(&p, SIGTERM), ART_ESRCH);
  closed_calls = 0;
  assert_int_equal(art_close((art_handle_t *)&p, closed_cb), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(closed_calls, 1);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  art_process_options_t o = helper("exit", "0", NULL);
  char *no_args[] = {NULL};
  assert_int_equal(art_spawn(NULL, &p, &o), ART_EINVAL);
  assert_int_equal(art_spawn(loop, NULL, &o), ART_EINVAL);
  spawn_fails(loop, NULL, ART_EINVAL, -1);
  o.args = NULL;
  spawn_fails(loop, &o, ART_EINVAL, -1);
  o.args = no_args;
  spawn_fails(loop, &o, ART_EINVAL, -1);
  o = helper("exit", "0", NULL);
  o.file = NULL;
  spawn_fails(loop, &o, ART_EINVAL, -1);
  o = helper("exit", "0", NULL);
  o.flags = 1u << 20;
  spawn_fails(loop, &o, ART_EINVAL, -1);
  o.flags = 0;
  o.stdio_count = -1;
  spawn_fails(loop, &o, ART_EINVAL, -1);
  o.stdio_count = 2;
  spawn_fails(loop, &o, ART_EINVAL, -1); /* stdio NULL */
  art_stdio_container_t bad[2] = {{ART_INHERIT_FD, {.fd = -1}},
                                  {0x4000, {.fd = 1}}};
  o.stdio = bad;
  spawn_fails(loop, &o, ART_EINVAL, -1);
  bad[0].data.fd = 0;
  spawn_fails(loop, &o, ART_EINVAL, -1);
  assert_int_equal(art_process_kill(NULL, SIGTERM), ART_EINVAL);
  assert_int_equal(art_kill(getpid(), -1), ART_EINVAL);
  assert_int_equal(art_kill(getpid(), 65), ART_EINVAL);
  assert_int_equal(art_kill(getpid(), 0), 0);
  assert_int_equal(art_process_get_pid(NULL), 0);
  assert_no_children();
}

/* Out of memory for the loop's process state, or for the slot table of a
 * spawn with many slots: ART_ENOMEM, no child, the handle to close. */
ART_TEST(spawn_without_memory) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  art_stdio_container_t slots[12];
  art_process_options_t o = helper("exit", "0", NULL);
  memset(slots, 0, sizeof(slots));
  spawn_fails(loop, &o, ART_ENOMEM, 0);
  assert_int_equal(art_spawn(loop, &p, &o), 0); /* creates the state */
  art_run(loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  o.stdio = slots;
  o.stdio_count = 12;
  spawn_fails(loop, &o, ART_ENOMEM, 0);
  assert_no_children();
}

ART_TEST(spawn_and_exit_zero) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  char *args[] = {"true", NULL};
  art_process_options_t o = {.exit_cb = exit_cb, .file = "true", .args = args};
  reset();
  assert_int_equal(art_spawn(loop, &p, &o), 0);
  assert_true(art_process_get_pid(&p) > 0);
  assert_true(art_is_active((art_handle_t *)&p));
  assert_int_equal(exits, 0); /* only from the poll phase */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exits, 1);
  assert_int_equal(last_status, 0);
  assert_int_equal(last_signal, 0);
  assert_false(art_is_active((art_handle_t *)&p));
  assert_int_equal(art_process_get_pid(&p), 0);
  assert_int_equal(art_process_kill(&p, SIGTERM), ART_ESRCH);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(art_process_kill(&p, SIGTERM), ART_EINVAL); /* closed */
  assert_no_children();
}

ART_TEST(exit_status_and_signal) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_options_t o = helper("exit", "7", NULL);
  run_capture(loop, &o);
  assert_int_equal(last_status, 7);
  assert_int_equal(last_signal, 0);
  o = helper("kill", "9", NULL);
  run_capture(loop, &o);
  assert_int_equal(last_status, 0);
  assert_int_equal(last_signal, SIGKILL);
  o = helper("kill", "15", NULL);
  run_capture(loop, &o);
  assert_int_equal(last_signal, SIGTERM);
}

ART_TEST(exec_failures) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_options_t o = helper("exit", "0", NULL);
  o.file = "/nonexistent/program";
  spawn_fails(loop, &o, ART_ENOENT, -1);
  o.file = "art-no-such-program-anywhere";
  spawn_fails(loop, &o, ART_ENOENT, -1);
  char path[] = "/tmp/art-noexec-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  chmod(path, 0644);
  o.file = path;
  spawn_fails(loop, &o, ART_EACCES, -1);
  unlink(path);
  o.file = "/tmp"; /* a directory */
  spawn_fails(loop, &o, ART_EACCES, -1);
  o = helper("exit", "0", NULL);
  o.cwd = "/nonexistent/dir";
  spawn_fails(loop, &o, ART_ENOENT, -1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_no_children(); /* failed children were reaped by art_spawn */
}

/* 1,000 short-lived children, 4 at a time: each exit starts the next. */
static art_process_t pool[4];
static int started, finished;
static int total_children;

static void chain_exit_cb(art_process_t *p, int64_t status, int sig) {
  char *args[] = {"/bin/true", NULL};
  art_process_options_t o = {
      .exit_cb = chain_exit_cb, .file = "/bin/true", .args = args};
  assert_int_equal(status, 0);
  finished++;
  art_close((art_handle_t *)p, NULL);
  if (started < total_children) {
    /* The closed handle's memory is reused after its close phase only. */
    static art_process_t spare[2048];
    assert_int_equal(art_spawn(p->loop, &spare[started], &o), 0);
    started++;
  }
}

static void many_children(art_loop_t *loop, int n) {
  char *args[] = {"/bin/true", NULL};
  art_process_options_t o = {
      .exit_cb = chain_exit_cb, .file = "/bin/true", .args = args};
  started = finished = 0;
  total_children = n;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(art_spawn(loop, &pool[i], &o), 0);
    started++;
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(finished, n);
  assert_no_children();
}

ART_TEST(thousand_children_reaped) {
  many_children(ART_TEST_LOOP(state), 1000);
}

ART_TEST(children_reaped_by_sigchld) {
  art_loop_t loop;
  setenv("ART_PROCESS_NO_PIDFD", "1", 1);
  assert_int_equal(art_loop_init(&loop), 0);
  many_children(&loop, 300);
  unsetenv("ART_PROCESS_NO_PIDFD");
  assert_int_equal(art_loop_close(&loop), 0);
  struct sigaction sa;
  sigaction(SIGCHLD, NULL, &sa);
  assert_true(sa.sa_handler == SIG_DFL); /* released at loop close */
}

ART_TEST(child_sees_only_its_slots) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int leak = dup(0); /* not close-on-exec: must still not reach the child */
  int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
  art_process_options_t o = helper("fds", NULL, NULL);
  assert_string_equal(run_capture(loop, &o), "0 1 2");
  art_stdio_container_t slots[5] = {{ART_IGNORE, {.fd = 0}},
                                    {ART_INHERIT_FD, {.fd = 1}},
                                    {ART_IGNORE, {.fd = 0}},
                                    {ART_INHERIT_FD, {.fd = devnull}},
                                    {ART_IGNORE, {.fd = 0}}};
  o = helper("fds", NULL, NULL);
  o.stdio = slots;
  o.stdio_count = 5;
  assert_string_equal(run_capture(loop, &o), "0 1 2 3");
  o = helper("fds", NULL, NULL);
  o.stdio = slots;
  o.stdio_count = 2; /* no stderr slot: fd 2 is closed */
  assert_string_equal(run_capture(loop, &o), "0 1");
  close(leak);
  close(devnull);
}

/* Slots whose sources sit on each other's numbers: 1 <-> 2 swapped. */
ART_TEST(swapped_slots) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char path[] = "/tmp/art-swap-XXXXXX";
  int fd = mkstemp(path);
  unlink(path);
  int saved1 = dup(1), saved2 = dup(2);
  dup2(fd, 2); /* our stderr is now the file; the child's stdout will be */
  art_stdio_container_t slots[3] = {{ART_IGNORE, {.fd = 0}},
                                    {ART_INHERIT_FD, {.fd = 2}},
                                    {ART_INHERIT_FD, {.fd = 1}}};
  art_process_options_t o = helper("write", "5", NULL);
  o.stdio = slots;
  o.stdio_count = 3;
  art_process_t p;
  reset();
  assert_int_equal(art_spawn(loop, &p, &o), 0);
  dup2(saved2, 2);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(last_status, 0);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  struct stat st;
  fstat(fd, &st);
  assert_int_equal(st.st_size, 5);
  close(fd);
  close(saved1);
  close(saved2);
}

ART_TEST(env_and_cwd) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char *env[] = {"ART_GREETING=hello", "PATH=/nonexistent", NULL};
  art_process_options_t o = helper("env", "ART_GREETING", NULL);
  o.env = env;
  assert_string_equal(run_capture(loop, &o), "hello");
  o = helper("env", "HOME", NULL);
  o.env = env;
  assert_string_equal(run_capture(loop, &o), "(unset)");
  setenv("ART_INHERITED", "yes", 1);
  o = helper("env", "ART_INHERITED", NULL);
  assert_string_equal(run_capture(loop, &o), "yes");
  unsetenv("ART_INHERITED");
  /* The PATH searched is the child's: "true" is not in /nonexistent. */
  char *args[] = {"true", NULL};
  art_process_options_t t = {.file = "true", .args = args, .env = env};
  spawn_fails(loop, &t, ART_ENOENT, -1);
  char dir[] = "/tmp/art-cwd-XXXXXX", real[PATH_MAX];
  assert_non_null(mkdtemp(dir));
  assert_non_null(realpath(dir, real));
  o = helper("cwd", NULL, NULL);
  o.cwd = dir;
  assert_string_equal(run_capture(loop, &o), real);
  rmdir(dir);
}

static void kill_timer_cb(art_timer_t *t) {
  assert_int_equal(art_process_kill(t->data, SIGTERM), 0);
}

ART_TEST(kill_a_child) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  art_timer_t t;
  spawn_sleeper(loop, &p);
  assert_int_equal(art_process_kill(&p, 0), 0); /* probe */
  assert_int_equal(art_process_kill(&p, 99), ART_EINVAL);
  art_timer_init(loop, &t);
  t.data = &p;
  art_timer_start(&t, kill_timer_cb, 10, 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exits, 1);
  assert_int_equal(last_signal, SIGTERM);
  art_close((art_handle_t *)&p, NULL);
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  assert_no_children();
}

ART_TEST(detached_gets_new_session) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_options_t o = helper("sid", NULL, NULL);
  assert_string_equal(run_capture(loop, &o), "other");
  o = helper("sid", NULL, NULL);
  o.flags = ART_PROCESS_DETACHED;
  assert_string_equal(run_capture(loop, &o), "same");
}

static void short_timer_cb(art_timer_t *t) {}

static void noop_signal_cb(art_signal_t *h, int signum) {}

ART_TEST(signals_reset_in_child) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  sigset_t block, old;
  art_signal_t h;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &block, &old);
  signal(SIGUSR1, SIG_IGN);
  art_signal_init(loop, &h);
  art_signal_start(&h, noop_signal_cb, SIGHUP);
  art_unref((art_handle_t *)&h);
  art_process_options_t o = helper("signals", NULL, NULL);
  assert_string_equal(run_capture(loop, &o), "none");
  signal(SIGUSR1, SIG_DFL);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  art_close((art_handle_t *)&h, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

ART_TEST(set_uid_and_gid) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_options_t o = helper("ids", NULL, NULL);
  o.flags = ART_PROCESS_SETUID | ART_PROCESS_SETGID;
  o.uid = 65534;
  o.gid = 65533;
  if (getuid() != 0) {
    spawn_fails(loop, &o, ART_EPERM, -1);
    return;
  }
  assert_string_equal(run_capture(loop, &o), "65534 65533");
}

/* A handle closed while its child runs: the loop reaps the child later. */
ART_TEST(closed_handle_leaves_no_zombie) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  art_timer_t t;
  spawn_sleeper(loop, &p);
  int pid = art_process_get_pid(&p);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(exits, 0);
  assert_int_equal(art_kill(pid, SIGKILL), 0);
  art_timer_init(loop, &t);
  for (int i = 0; i < 100 && count_children() > 0; i++) {
    art_timer_start(&t, short_timer_cb, 10, 0);
    art_run(loop, ART_RUN_DEFAULT);
  }
  assert_int_equal(exits, 0);
  assert_no_children();
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

/* ---- stdio pipes ---- */

#define BIG (8u << 20)
typedef struct {
  art_pipe_t in, out, err;
  art_write_t w;
  art_shutdown_t sd;
  size_t out_bytes, err_bytes;
  unsigned long out_sum;
  int eofs, write_status;
} io_t;

static char read_buf[65536];

static void io_alloc(art_handle_t *h, size_t n, art_buf_t *buf) {
  *buf = art_buf_init(read_buf, sizeof(read_buf));
}

static void io_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  io_t *io = s->data;
  if (n > 0 && s == (art_stream_t *)&io->out) {
    io->out_bytes += (size_t)n;
    for (ssize_t i = 0; i < n; i++)
      io->out_sum = io->out_sum * 31 + (unsigned char)buf->base[i];
  } else if (n > 0) {
    io->err_bytes += (size_t)n;
  } else if (n < 0) {
    io->eofs++;
    art_close((art_handle_t *)s, NULL);
  }
}

static void io_written(art_write_t *w, int status) {
  ((io_t *)w->data)->write_status = status;
}

static void io_shut(art_shutdown_t *s, int status) {}

static void io_written_status(art_write_t *w, int status) {
  *(int *)w->data = status;
}

static void io_init(art_loop_t *loop, io_t *io) {
  memset(io, 0, sizeof(*io));
  art_pipe_init(loop, &io->in, 0);
  art_pipe_init(loop, &io->out, 0);
  art_pipe_init(loop, &io->err, 0);
  io->in.data = io->out.data = io->err.data = io->w.data = io;
  io->write_status = 1;
}

ART_TEST(pipes_8mib_through_cat) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  io_t io;
  art_process_t p;
  io_init(loop, &io);
  art_stdio_container_t slots[3] = {
      {ART_CREATE_PIPE | ART_READABLE_PIPE, {.stream = (art_stream_t *)&io.in}},
      {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
       {.stream = (art_stream_t *)&io.out}},
      {ART_INHERIT_FD, {.fd = 2}}};
  art_process_options_t o = helper("cat", NULL, NULL);
  o.stdio = slots;
  o.stdio_count = 3;
  char *data = malloc(BIG);
  unsigned long sum = 0;
  for (size_t i = 0; i < BIG; i++) {
    data[i] = (char)(i * 7 + (i >> 13));
    sum = sum * 31 + (unsigned char)data[i];
  }
  reset();
  assert_int_equal(art_spawn(loop, &p, &o), 0);
  art_buf_t b = art_buf_init(data, BIG);
  assert_true(art_write(&io.w, (art_stream_t *)&io.in, &b, 1, io_written) >= 0);
  assert_int_equal(art_shutdown(&io.sd, (art_stream_t *)&io.in, io_shut), 0);
  assert_int_equal(art_read_start((art_stream_t *)&io.out, io_alloc, io_read),
                   0);
  art_close((art_handle_t *)&io.err, NULL); /* unused */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(io.write_status, 0);
  assert_int_equal(io.out_bytes, BIG);
  assert_true(io.out_sum == sum);
  assert_int_equal(exits, 1);
  assert_int_equal(last_status, 0);
  art_close((art_handle_t *)&io.in, NULL);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  free(data);
}

ART_TEST(stdout_and_stderr_together) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  io_t io;
  art_process_t p;
  io_init(loop, &io);
  art_stdio_container_t slots[3] = {{ART_IGNORE, {.fd = 0}},
                                    {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
                                     {.stream = (art_stream_t *)&io.out}},
                                    {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
                                     {.stream = (art_stream_t *)&io.err}}};
  art_process_options_t o = helper("write", "4194304", "3000000");
  o.stdio = slots;
  o.stdio_count = 3;
  reset();
  assert_int_equal(art_spawn(loop, &p, &o), 0);
  art_read_start((art_stream_t *)&io.out, io_alloc, io_read);
  art_read_start((art_stream_t *)&io.err, io_alloc, io_read);
  art_close((art_handle_t *)&io.in, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(io.out_bytes, 4194304);
  assert_int_equal(io.err_bytes, 3000000);
  assert_int_equal(io.eofs, 2);
  assert_int_equal(last_status, 0);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

ART_TEST(pipe_slot_errors) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pipe_t opened, ipc, fresh;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  art_pipe_init(loop, &opened, 0);
  assert_int_equal(art_pipe_open(&opened, fds[0]), 0);
  art_pipe_init(loop, &ipc, 1);
  art_pipe_init(loop, &fresh, 0);
  art_stdio_container_t slot = {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
                                {.stream = NULL}};
  art_process_options_t o = helper("exit", "0", NULL);
  o.stdio = &slot;
  o.stdio_count = 1;
  spawn_fails(loop, &o, ART_EINVAL, -1);      /* NULL stream */
  slot.data.stream = (art_stream_t *)&opened; /* already has an fd */
  spawn_fails(loop, &o, ART_EINVAL, -1);
  slot.data.stream = (art_stream_t *)&ipc; /* ipc pipe without ART_IPC */
  spawn_fails(loop, &o, ART_EINVAL, -1);
  slot.flags = ART_CREATE_PIPE | ART_IPC;
  slot.data.stream = (art_stream_t *)&fresh; /* ART_IPC on a plain pipe */
  spawn_fails(loop, &o, ART_EINVAL, -1);
  slot.flags = ART_INHERIT_STREAM;
  slot.data.stream = (art_stream_t *)&fresh; /* no fd */
  spawn_fails(loop, &o, ART_EINVAL, -1);
  slot.flags = ART_READABLE_PIPE; /* a direction without ART_CREATE_PIPE */
  spawn_fails(loop, &o, ART_EINVAL, -1);
  art_close((art_handle_t *)&opened, NULL);
  art_close((art_handle_t *)&ipc, NULL);
  art_close((art_handle_t *)&fresh, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  close(fds[1]);
}

/* ---- running out of fds while creating the pipes ---- */

#define FD_SCAN 1024

/* Records in open[] which of fds 0..FD_SCAN-1 are open. */
static void snapshot_fds(unsigned char *is_open) {
  for (int fd = 0; fd < FD_SCAN; fd++)
    is_open[fd] = fcntl(fd, F_GETFD) != -1;
}

/* Fills the gaps below the highest open fd with /dev/null (their numbers
 * go to fillers, -1 ended) and lowers RLIMIT_NOFILE so that exactly spare
 * more fds can be opened. */
static void leave_spare_fds(int spare, int *fillers, struct rlimit *saved) {
  unsigned char is_open[FD_SCAN];
  int hi = 0, n = 0;
  snapshot_fds(is_open);
  for (int fd = 0; fd < FD_SCAN; fd++)
    if (is_open[fd])
      hi = fd;
  for (int fd = 0; fd < hi; fd++)
    if (!is_open[fd]) {
      fillers[n] = open("/dev/null", O_RDONLY | O_CLOEXEC);
      assert_int_equal(fillers[n++], fd);
    }
  fillers[n] = -1;
  assert_int_equal(getrlimit(RLIMIT_NOFILE, saved), 0);
  struct rlimit low = *saved;
  low.rlim_cur = (rlim_t)(hi + 1 + spare);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
}

static void restore_fds(int *fillers, const struct rlimit *saved) {
  assert_int_equal(setrlimit(RLIMIT_NOFILE, saved), 0);
  for (int i = 0; fillers[i] >= 0; i++)
    close(fillers[i]);
}

static int usr2_calls;

static void usr2_cb(art_signal_t *h, int signum) {
  usr2_calls++;
}

/* Three pipe slots, with fds for none, one or two of their socketpairs:
 * art_spawn fails with ART_EMFILE and closes exactly the fds it made.
 * Every fd open before (the loop's, the signal pipe's, 0-2) is still
 * open, none leaked, and the signal pipe still carries a signal. */
ART_TEST(pipes_out_of_fds_close_only_their_own) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_signal_t sig;
  art_process_t p;
  art_pipe_t pipes[3];
  art_stdio_container_t slots[3];
  unsigned char before[FD_SCAN], after[FD_SCAN];
  int fillers[FD_SCAN];
  struct rlimit saved;
  art_process_options_t o = helper("exit", "0", NULL);
  run_capture(loop, &o); /* the loop's process state exists */
  assert_int_equal(art_signal_init(loop, &sig), 0);
  assert_int_equal(art_signal_start(&sig, usr2_cb, SIGUSR2), 0);
  for (int i = 0; i < 3; i++) {
    art_pipe_init(loop, &pipes[i], 0);
    slots[i].flags = ART_CREATE_PIPE | ART_READABLE_PIPE | ART_WRITABLE_PIPE;
    slots[i].data.stream = (art_stream_t *)&pipes[i];
  }
  o = helper("exit", "0", NULL);
  o.stdio = slots;
  o.stdio_count = 3;
  for (int spare = 0; spare <= 4; spare += 2) {
    memset(&p, 0xAA, sizeof(p));
    leave_spare_fds(spare, fillers, &saved);
    snapshot_fds(before);
    int err = art_spawn(loop, &p, &o);
    snapshot_fds(after);
    restore_fds(fillers, &saved);
    assert_int_equal(err, ART_EMFILE);
    assert_memory_equal(before, after, FD_SCAN);
    /* The process handle and the pipes are the caller's to close. */
    assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
    art_run(loop, ART_RUN_NOWAIT);
  }
  usr2_calls = 0;
  raise(SIGUSR2);
  while (usr2_calls == 0)
    art_run(loop, ART_RUN_ONCE);
  for (int i = 0; i < 3; i++)
    art_close((art_handle_t *)&pipes[i], NULL);
  art_close((art_handle_t *)&sig, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  assert_no_children();
}

/* A process out of fds when it first spawns does not take that for a
 * kernel without pidfds: once fds are free again, children are reaped
 * through pidfds, and no SIGCHLD handler is installed. (Each ctest entry
 * is a process of its own, so this spawn is the process's first.) */
ART_TEST(first_spawn_out_of_fds_keeps_pidfds) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  int fillers[FD_SCAN];
  struct rlimit saved;
  struct sigaction sa;
  art_process_options_t o = helper("exit", "0", NULL);
  if (getenv("ART_PROCESS_NO_PIDFD") != NULL)
    skip();
  leave_spare_fds(0, fillers, &saved);
  int err = art_spawn(loop, &p, &o);
  restore_fds(fillers, &saved);
  assert_int_equal(err, ART_EMFILE);
  art_close((art_handle_t *)&p, NULL);
  run_capture(loop, &o);
  assert_int_equal(exits, 1);
  sigaction(SIGCHLD, NULL, &sa);
  assert_true(sa.sa_handler == SIG_DFL);
  assert_no_children();
}

/* An ipc pipe slot and an inherited stream: the child gets both. */
ART_TEST(ipc_slot_and_inherited_stream) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pipe_t ipc, inherit;
  art_process_t p;
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  art_pipe_init(loop, &ipc, 1);
  art_pipe_init(loop, &inherit, 0);
  assert_int_equal(art_pipe_open(&inherit, fds[1]), 0);
  art_stdio_container_t slots[4] = {
      {ART_IGNORE, {.fd = 0}},
      {ART_INHERIT_STREAM, {.stream = (art_stream_t *)&inherit}},
      {ART_INHERIT_FD, {.fd = 2}},
      {ART_CREATE_PIPE | ART_IPC | ART_READABLE_PIPE | ART_WRITABLE_PIPE,
       {.stream = (art_stream_t *)&ipc}}};
  art_process_options_t o = helper("fds", NULL, NULL);
  o.stdio = slots;
  o.stdio_count = 4;
  reset();
  assert_int_equal(art_spawn(loop, &p, &o), 0);
  art_close((art_handle_t *)&inherit, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  char buf[64] = {0};
  assert_true(read(fds[0], buf, sizeof(buf) - 1) > 0);
  assert_string_equal(buf, "0 1 2 3\n");
  close(fds[0]);
  art_close((art_handle_t *)&ipc, NULL);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

static void write_after_exit(art_loop_t *loop, art_stream_t *s) {
  static char junk[1 << 20];
  art_write_t w;
  int status = 1;
  w.data = &status;
  art_buf_t b = art_buf_init(junk, sizeof(junk));
  assert_true(art_write(&w, s, &b, 1, io_written_status) >= 0);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(status, ART_EPIPE);
}

/* SIGPIPE keeps its default disposition; writing to a child's stdin after
 * it exited fails with EPIPE instead of killing us, for a socketpair slot
 * and for a pipe(2). */
ART_TEST(sigpipe_default_write_to_closed) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  struct sigaction sa;
  sigaction(SIGPIPE, NULL, &sa);
  assert_true(sa.sa_handler == SIG_DFL);
  art_pipe_t in, raw;
  art_process_t p;
  art_pipe_init(loop, &in, 0);
  art_stdio_container_t slots[1] = {
      {ART_CREATE_PIPE | ART_READABLE_PIPE, {.stream = (art_stream_t *)&in}}};
  art_process_options_t o = helper("exit", "0", NULL);
  o.stdio = slots;
  o.stdio_count = 1;
  assert_int_equal(art_spawn(loop, &p, &o), 0);
  art_run(loop, ART_RUN_DEFAULT); /* until it exited */
  write_after_exit(loop, (art_stream_t *)&in);
  art_close((art_handle_t *)&p, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  slots[0].flags = ART_INHERIT_FD;
  slots[0].data.fd = fds[0];
  assert_int_equal(art_spawn(loop, &p, &o), 0);
  close(fds[0]);
  art_pipe_init(loop, &raw, 0);
  assert_int_equal(art_pipe_open(&raw, fds[1]), 0);
  art_run(loop, ART_RUN_DEFAULT);
  write_after_exit(loop, (art_stream_t *)&raw);
  sigaction(SIGPIPE, NULL, &sa);
  assert_true(sa.sa_handler == SIG_DFL);
  art_close((art_handle_t *)&p, NULL);
  art_close((art_handle_t *)&in, NULL);
  art_close((art_handle_t *)&raw, NULL);
  art_run(loop, ART_RUN_DEFAULT);
}

/* ---- art_exec ---- */

static int exec_calls, exec_status;

static void exec_cb(art_exec_t *req, int status) {
  exec_calls++;
  exec_status = status;
}

static art_exec_t *run_exec(art_loop_t *loop, const art_exec_options_t *o,
                            const char *a, const char *b, const char *c) {
  static art_exec_t req;
  helper(a, b, c);
  exec_calls = 0;
  exec_status = 1;
  assert_int_equal(
      art_exec(loop, &req, ART_CHILD_PATH, helper_args, o, exec_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exec_calls, 1);
  return &req;
}

ART_TEST(exec_captures_output) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_exec_t *r = run_exec(loop, NULL, "write", "100000", "5000");
  assert_int_equal(exec_status, 0);
  assert_int_equal(r->out_len, 100000);
  assert_int_equal(r->err_len, 5000);
  assert_int_equal(strlen(r->out), 100000);
  assert_int_equal(r->exit_status, 0);
  assert_int_equal(r->term_signal, 0);
  art_exec_cleanup(r);
  assert_null(r->out);
  r = run_exec(loop, NULL, "exit", "3", NULL);
  assert_int_equal(exec_status, 0);
  assert_int_equal(r->exit_status, 3);
  assert_int_equal(r->out_len, 0);
  art_exec_cleanup(r);
}

ART_TEST(exec_with_input) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_exec_options_t o = {.input = "hello, child", .input_len = 12};
  art_exec_t *r = run_exec(loop, &o, "cat", NULL, NULL);
  assert_int_equal(exec_status, 0);
  assert_string_equal(r->out, "hello, child");
  art_exec_cleanup(r);
  o.input_len = 0; /* empty input: stdin at its end at once */
  r = run_exec(loop, &o, "cat", NULL, NULL);
  assert_int_equal(r->out_len, 0);
  assert_int_equal(r->exit_status, 0);
  art_exec_cleanup(r);
}

ART_TEST(exec_over_max_buffer) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_exec_options_t o = {.max_buffer = 1000};
  art_exec_t *r = run_exec(loop, &o, "write", "50000000", NULL);
  assert_int_equal(exec_status, ART_ENOBUFS);
  assert_int_equal(r->out_len, 1000);
  assert_int_equal(strlen(r->out), 1000);
  /* Killed by the SIGTERM sent on overflow; a write racing with the close
   * of its pipe may meet SIGPIPE first. */
  assert_true(r->term_signal == SIGTERM || r->term_signal == SIGPIPE);
  art_exec_cleanup(r);
  o.kill_signal = SIGKILL;
  r = run_exec(loop, &o, "write", "0", "2000");
  assert_int_equal(exec_status, ART_ENOBUFS);
  assert_int_equal(r->err_len, 1000);
  art_exec_cleanup(r);
}

ART_TEST(exec_timeout) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_exec_options_t o = {.timeout = 30};
  art_exec_t *r = run_exec(loop, &o, "sleep", NULL, NULL);
  assert_int_equal(exec_status, ART_ETIMEDOUT);
  assert_int_equal(r->term_signal, SIGTERM);
  art_exec_cleanup(r);
  o.timeout = 10000; /* not reached */
  r = run_exec(loop, &o, "exit", "0", NULL);
  assert_int_equal(exec_status, 0);
  art_exec_cleanup(r);
}

/* No memory for the output buffer: the request ends with ART_ENOMEM. */
ART_TEST(exec_without_memory) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static art_exec_t req;
  art_exec_t *r = run_exec(loop, NULL, "exit", "0", NULL); /* warm up */
  art_exec_cleanup(r);
  helper("write", "100000", NULL);
  exec_calls = 0;
  assert_int_equal(
      art_exec(loop, &req, ART_CHILD_PATH, helper_args, NULL, exec_cb), 0);
  art_test_fail_alloc_after(0);
  art_run(loop, ART_RUN_DEFAULT);
  art_test_fail_alloc_after(-1);
  assert_int_equal(exec_calls, 1);
  assert_int_equal(exec_status, ART_ENOMEM);
  assert_null(req.out);
  art_exec_cleanup(&req);
}

/* Opens fds until the next one is at least floor, so that the loop must
 * grow its fd table (an allocation) to watch it. Returns how many. */
static int fill_fds(int *fds, int max, int floor) {
  int n = 0;
  while (n < max) {
    fds[n] = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fds[n] >= 0);
    if (fds[n++] >= floor)
      break;
  }
  return n;
}

/* Every allocation of art_exec fails in turn, with the child's pidfd and
 * pipes above the loop's fd table; a failed call leaves the fd count as it
 * was (whatever was made before the failure, the child and its pipes, is
 * undone), and the call that finally succeeds runs to its callback. */
ART_TEST(exec_allocation_failures_leak_no_fd) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char *args[] = {"/bin/true", NULL};
  static art_exec_t req;
  int fds[256];
  for (long n = 0; n < 64; n++) {
    int filled = fill_fds(fds, 256, 200);
    int before = art_test_fd_count();
    art_test_fail_alloc_after(n);
    int err = art_exec(loop, &req, "/bin/true", args, NULL, exec_cb);
    int failed = art_test_alloc_failed();
    art_test_fail_alloc_after(-1);
    if (err != 0)
      assert_int_equal(art_test_fd_count(), before);
    for (int i = 0; i < filled; i++)
      close(fds[i]);
    if (err == 0) {
      exec_calls = 0;
      assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
      assert_int_equal(exec_calls, 1);
      art_exec_cleanup(&req);
      if (!failed)
        return;
    }
  }
  fail_msg("art_exec never succeeded");
}

ART_TEST(exec_errors) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_exec_t r;
  char *args[] = {"nope", NULL}, *none[] = {NULL};
  assert_int_equal(art_exec(NULL, &r, "x", args, NULL, exec_cb), ART_EINVAL);
  assert_int_equal(art_exec(loop, NULL, "x", args, NULL, exec_cb), ART_EINVAL);
  assert_int_equal(art_exec(loop, &r, NULL, args, NULL, exec_cb), ART_EINVAL);
  assert_int_equal(art_exec(loop, &r, "x", NULL, NULL, exec_cb), ART_EINVAL);
  assert_int_equal(art_exec(loop, &r, "x", none, NULL, exec_cb), ART_EINVAL);
  assert_int_equal(art_exec(loop, &r, "x", args, NULL, NULL), ART_EINVAL);
  exec_calls = 0;
  assert_int_equal(art_exec(loop, &r, "/nonexistent/x", args, NULL, exec_cb),
                   ART_ENOENT);
  art_exec_options_t o = {.cwd = "/nonexistent"};
  assert_int_equal(art_exec(loop, &r, "/bin/true", args, &o, exec_cb),
                   ART_ENOENT);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(exec_calls, 0);
  art_exec_cleanup(NULL);
}
