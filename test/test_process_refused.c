/* Processes and signals on a backend that refuses registrations (epoll_ctl
 * failing with ENOMEM or ENOSPC): a child's exit still reaches exit_cb
 * exactly once, an art_exec still completes (with the error when its
 * output or input was refused), and a signal watcher that cannot be
 * registered is art_signal_start's error. Each test runs its own loop on
 * the refusing backend (helpers/refusing_backend.h), extended here to
 * refuse pidfds, whose numbers a test cannot know before the spawn. This
 * suite links the static library and includes the core's internal header:
 * it tests an internal contract. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"

#include "helpers/refusing_backend.h"

static int refuse_pidfds; /* also refuse every pidfd (with ART_ENOMEM) */

static int is_pidfd(int fd) {
  char path[64], link[64];
  snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ssize_t n = readlink(path, link, sizeof(link) - 1);
  if (n < 0)
    return 0;
  link[n] = '\0';
  return strcmp(link, "anon_inode:[pidfd]") == 0;
}

static int pidfd_update(void *state, int fd, unsigned had, unsigned want) {
  if (refuse_pidfds && want != 0 && is_pidfd(fd)) {
    refusing.updates++;
    refusing.refusals++;
    return ART_ENOMEM;
  }
  return refusing_update(state, fd, had, want);
}

/* Inits loop on the refusing backend, refusing nothing yet. */
static void init_loop(art_loop_t *loop) {
  assert_int_equal(refusing_loop_init(loop), 0);
  refusing.ops.update = pidfd_update;
  refuse_pidfds = 0;
}

/* The pidfd tests need a kernel with pidfds, and the library using them. */
static void need_pidfds(void) {
  int fd = (int)syscall(SYS_pidfd_open, getpid(), 0);
  if (fd < 0 || getenv("ART_PROCESS_NO_PIDFD") != NULL)
    skip();
  close(fd);
}

static void assert_no_children(void) {
  assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
  assert_int_equal(errno, ECHILD);
}

static int sigchld_is_default(void) {
  struct sigaction sa;
  sigaction(SIGCHLD, NULL, &sa);
  return sa.sa_handler == SIG_DFL;
}

/* Runs loop to its end, closes it, and checks that the SIGCHLD handler a
 * fallback installed went with it. */
static void finish_loop(art_loop_t *loop) {
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_close(loop), 0);
  assert_true(sigchld_is_default());
  assert_no_children();
}

static int exits;
static int64_t exit_status;
static int exit_signal;

static void exit_cb(art_process_t *p, int64_t status, int sig) {
  exits++;
  exit_status = status;
  exit_signal = sig;
  art_close((art_handle_t *)p, NULL);
}

static art_process_options_t shell(char **args, const char *script) {
  args[0] = "sh";
  args[1] = "-c";
  args[2] = (char *)script;
  args[3] = NULL;
  art_process_options_t o = {.exit_cb = exit_cb, .file = "sh", .args = args};
  return o;
}

/* The child's pidfd is refused: the loop reaps by SIGCHLD instead, and a
 * child that exited before that handler existed is found by the poll the
 * fallback makes at once. exit_cb runs once, with the exit code. */
ART_TEST(refused_pidfd_child_is_still_reaped) {
  art_loop_t loop;
  art_process_t p;
  char *args[4];
  (void)state;
  need_pidfds();
  init_loop(&loop);
  refuse_pidfds = 1;
  art_process_options_t o = shell(args, "exit 3");
  exits = 0;
  assert_int_equal(art_spawn(&loop, &p, &o), 0);
  assert_int_equal(refusing.refusals, 1);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exits, 1);
  assert_int_equal(exit_status, 3);
  assert_int_equal(exit_signal, 0);
  finish_loop(&loop);
}

/* A child still running when the fallback's first poll ran is reaped on
 * its SIGCHLD; art_process_kill still reaches it through its pidfd. */
ART_TEST(refused_pidfd_child_reaped_on_sigchld) {
  art_loop_t loop;
  art_process_t p;
  char *args[4];
  (void)state;
  need_pidfds();
  init_loop(&loop);
  refuse_pidfds = 1;
  art_process_options_t o = shell(args, "exec sleep 30");
  exits = 0;
  assert_int_equal(art_spawn(&loop, &p, &o), 0);
  assert_int_equal(art_run(&loop, ART_RUN_NOWAIT), 1); /* the first poll */
  assert_int_equal(exits, 0);
  assert_false(sigchld_is_default());
  assert_int_equal(art_process_kill(&p, SIGKILL), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exits, 1);
  assert_int_equal(exit_signal, SIGKILL);
  finish_loop(&loop);
}

/* The pidfd and the SIGCHLD watcher's pipe are both refused: the child
 * could never be reaped, so art_spawn kills and reaps it and returns the
 * refusal; exit_cb never runs and the handle closes as after any failure. */
ART_TEST(refused_pidfd_and_signal_pipe_fail_the_spawn) {
  art_loop_t loop;
  art_process_t p;
  char *args[4];
  (void)state;
  need_pidfds();
  init_loop(&loop);
  refuse_fd(-1, ART_ENOSPC);
  refuse_pidfds = 1;
  art_process_options_t o = shell(args, "exec sleep 30");
  exits = 0;
  assert_int_equal(art_spawn(&loop, &p, &o), ART_ENOMEM);
  assert_no_children();
  assert_true(sigchld_is_default());
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  finish_loop(&loop);
  assert_int_equal(exits, 0);
}

static int no_children(void *arg) {
  (void)arg;
  return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* A handle closed while its child runs hands the child to the loop, which
 * registers the pidfd again for itself: refused, SIGCHLD reaps it. */
ART_TEST(refused_orphan_is_still_reaped) {
  art_loop_t loop;
  art_process_t p;
  char *args[4];
  (void)state;
  need_pidfds();
  init_loop(&loop);
  art_process_options_t o = shell(args, "exec sleep 30");
  assert_int_equal(art_spawn(&loop, &p, &o), 0);
  int pid = art_process_get_pid(&p);
  refuse_pidfds = 1;
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(refusing.refusals, 1);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(kill(pid, SIGKILL), 0);
  assert_true(art_test_run_until(&loop, 10000, no_children, NULL));
  finish_loop(&loop);
}

static int signals;

static void signal_cb(art_signal_t *h, int signum) {
  signals++;
  art_close((art_handle_t *)h, NULL);
}

/* The loop's signal pipe is refused: art_signal_start says so, installs
 * no handler and leaves the handle inactive; once the backend takes fds
 * again, a start works and the signal arrives. */
ART_TEST(refused_signal_pipe_is_starts_error) {
  art_loop_t loop;
  art_signal_t h;
  (void)state;
  init_loop(&loop);
  assert_int_equal(art_signal_init(&loop, &h), 0);
  refuse_fd(-1, ART_ENOSPC);
  assert_int_equal(art_signal_start(&h, signal_cb, SIGUSR1), ART_ENOSPC);
  assert_false(art_is_active((art_handle_t *)&h));
  struct sigaction sa;
  sigaction(SIGUSR1, NULL, &sa);
  assert_true(sa.sa_handler == SIG_DFL);
  refuse_fd(-2, 0);
  assert_int_equal(art_signal_start(&h, signal_cb, SIGUSR1), 0);
  signals = 0;
  raise(SIGUSR1);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(signals, 1);
  finish_loop(&loop);
}

/* ---- art_exec ---- */

static int exec_calls, exec_status;

static void exec_cb(art_exec_t *req, int status) {
  exec_calls++;
  exec_status = status;
}

static int printed(void *arg) {
  return ((art_exec_t *)arg)->out_len == 3;
}

/* The child's pidfd is refused: the request completes as usual. The
 * child outlives the refusal (it prints, then sleeps until killed), so its
 * exit cannot be found by chance when the refusal is handled. */
ART_TEST(exec_with_refused_pidfd_completes) {
  art_loop_t loop;
  static art_exec_t req;
  char *args[4];
  (void)state;
  need_pidfds();
  init_loop(&loop);
  refuse_pidfds = 1;
  shell(args, "echo hi; exec sleep 30");
  exec_calls = 0;
  assert_int_equal(art_exec(&loop, &req, "sh", args, NULL, exec_cb), 0);
  assert_true(art_test_run_until(&loop, 10000, printed, &req));
  assert_int_equal(art_process_kill(&req.process_, SIGTERM), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exec_calls, 1);
  assert_int_equal(exec_status, 0);
  assert_int_equal(req.term_signal, SIGTERM);
  assert_string_equal(req.out, "hi\n");
  art_exec_cleanup(&req);
  finish_loop(&loop);
}

/* The child's stdout pipe is refused: its output is lost, so the child is
 * killed and the request completes with the refusal. */
ART_TEST(exec_with_refused_output_fails) {
  art_loop_t loop;
  static art_exec_t req;
  char *args[] = {"sleep", "30", NULL};
  (void)state;
  init_loop(&loop);
  exec_calls = 0;
  assert_int_equal(art_exec(&loop, &req, "sleep", args, NULL, exec_cb), 0);
  refuse_fd(req.pipes_[1].io_.fd, ART_ENOSPC);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exec_calls, 1);
  assert_int_equal(exec_status, ART_ENOSPC);
  assert_int_equal(req.term_signal, SIGTERM);
  art_exec_cleanup(&req);
  finish_loop(&loop);
}

/* The wait to write the rest of a large input is refused: the child got
 * only part of it, so the request completes with the refusal. */
ART_TEST(exec_with_refused_input_fails) {
  art_loop_t loop;
  static art_exec_t req;
  static char input[4 << 20]; /* more than the socket buffers take */
  char *args[4];
  (void)state;
  init_loop(&loop);
  shell(args, "exec cat >/dev/null");
  art_exec_options_t o = {.input = input, .input_len = sizeof(input)};
  exec_calls = 0;
  assert_int_equal(art_exec(&loop, &req, "sh", args, &o, exec_cb), 0);
  refuse_fd(req.pipes_[0].io_.fd, ART_ENOMEM);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(exec_calls, 1);
  assert_int_equal(exec_status, ART_ENOMEM);
  art_exec_cleanup(&req);
  finish_loop(&loop);
}
