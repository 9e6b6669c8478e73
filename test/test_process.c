/* Child processes: spawn and its failures, exit status and signals,
 * reaping many children, what the child inherits, kill, detach. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

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

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  art_process_options_t o = helper("exit", "0", NULL);
  char *no_args[] = {NULL};
  assert_int_equal(art_spawn(NULL, &p, &o), ART_EINVAL);
  assert_int_equal(art_spawn(loop, NULL, &o), ART_EINVAL);
  assert_int_equal(art_spawn(loop, &p, NULL), ART_EINVAL);
  o.args = NULL;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL);
  o.args = no_args;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL);
  o = helper("exit", "0", NULL);
  o.file = NULL;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL);
  o = helper("exit", "0", NULL);
  o.flags = 1u << 20;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL);
  o.flags = 0;
  o.stdio_count = -1;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL);
  o.stdio_count = 2;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL); /* stdio NULL */
  art_stdio_container_t bad[2] = {{ART_INHERIT_FD, {.fd = -1}},
                                  {0x4000, {.fd = 1}}};
  o.stdio = bad;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL);
  bad[0].data.fd = 0;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EINVAL);
  assert_int_equal(art_process_kill(NULL, SIGTERM), ART_EINVAL);
  assert_int_equal(art_kill(getpid(), -1), ART_EINVAL);
  assert_int_equal(art_kill(getpid(), 65), ART_EINVAL);
  assert_int_equal(art_kill(getpid(), 0), 0);
  assert_int_equal(art_process_get_pid(NULL), 0);
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
  art_process_t p;
  art_process_options_t o = helper("exit", "0", NULL);
  o.file = "/nonexistent/program";
  assert_int_equal(art_spawn(loop, &p, &o), ART_ENOENT);
  o.file = "art-no-such-program-anywhere";
  assert_int_equal(art_spawn(loop, &p, &o), ART_ENOENT);
  char path[] = "/tmp/art-noexec-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
  close(fd);
  chmod(path, 0644);
  o.file = path;
  assert_int_equal(art_spawn(loop, &p, &o), ART_EACCES);
  unlink(path);
  o.file = "/tmp"; /* a directory */
  assert_int_equal(art_spawn(loop, &p, &o), ART_EACCES);
  o = helper("exit", "0", NULL);
  o.cwd = "/nonexistent/dir";
  assert_int_equal(art_spawn(loop, &p, &o), ART_ENOENT);
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
  art_process_t p;
  assert_int_equal(art_spawn(loop, &p, &t), ART_ENOENT);
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
  art_process_options_t o = helper("sleep", NULL, NULL);
  reset();
  assert_int_equal(art_spawn(loop, &p, &o), 0);
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
    art_process_t p;
    assert_int_equal(art_spawn(loop, &p, &o), ART_EPERM);
    return;
  }
  assert_string_equal(run_capture(loop, &o), "65534 65533");
}

/* A handle closed while its child runs: the loop reaps the child later. */
ART_TEST(closed_handle_leaves_no_zombie) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_process_t p;
  art_timer_t t;
  art_process_options_t o = helper("sleep", NULL, NULL);
  reset();
  assert_int_equal(art_spawn(loop, &p, &o), 0);
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

int main(int argc, char **argv) {
  const struct CMUnitTest tests[] = {
      ART_TEST_ENTRY(bad_arguments),
      ART_TEST_ENTRY(spawn_and_exit_zero),
      ART_TEST_ENTRY(exit_status_and_signal),
      ART_TEST_ENTRY(exec_failures),
      ART_TEST_ENTRY(thousand_children_reaped),
      ART_TEST_ENTRY(children_reaped_by_sigchld),
      ART_TEST_ENTRY(child_sees_only_its_slots),
      ART_TEST_ENTRY(swapped_slots),
      ART_TEST_ENTRY(env_and_cwd),
      ART_TEST_ENTRY(kill_a_child),
      ART_TEST_ENTRY(detached_gets_new_session),
      ART_TEST_ENTRY(signals_reset_in_child),
      ART_TEST_ENTRY(set_uid_and_gid),
      ART_TEST_ENTRY(closed_handle_leaves_no_zombie),
  };
  return art_test_main(argc, argv, "process", tests, ART_ARRAY_SIZE(tests));
}
