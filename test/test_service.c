/* Service managers: socket activation (art_listen_fds) with good, foreign
 * and hostile environments, adopting the passed listeners, and the notify
 * protocol (art_sd_notify, the watchdog timer) against a test notify
 * socket that checks each datagram.
 *
 * Tests that need sockets at fds 3, 4... run in a forked child, which may
 * rearrange its descriptors freely (the parent's loop owns some of them);
 * the child reports the line of a failed check through its exit status. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers/harness.h"

static void clear_env(void) {
  unsetenv("LISTEN_PID");
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  unsetenv("NOTIFY_SOCKET");
  unsetenv("WATCHDOG_USEC");
  unsetenv("WATCHDOG_PID");
}

static void set_pid_env(const char *name, long pid) {
  char s[32];
  snprintf(s, sizeof(s), "%ld", pid);
  assert_int_equal(setenv(name, s, 1), 0);
}

/* The three activation variables are gone after every call. */
static void assert_env_cleared(void) {
  assert_null(getenv("LISTEN_PID"));
  assert_null(getenv("LISTEN_FDS"));
  assert_null(getenv("LISTEN_FDNAMES"));
}

/* ---- art_listen_fds in this process: nothing adopted ---- */

/* Unset, half set, or set for another process: nothing was passed to us,
 * and the variables are removed all the same. */
ART_TEST(listen_fds_not_ours) {
  art_listen_fd_t fds[4];
  clear_env();
  assert_int_equal(art_listen_fds(fds, 4), 0);
  assert_int_equal(setenv("LISTEN_FDS", "2", 1), 0);
  assert_int_equal(art_listen_fds(fds, 4), 0); /* no LISTEN_PID */
  assert_env_cleared();
  set_pid_env("LISTEN_PID", (long)getpid());
  assert_int_equal(art_listen_fds(fds, 4), 0); /* no LISTEN_FDS */
  assert_env_cleared();
  set_pid_env("LISTEN_PID", (long)getpid() + 1);
  assert_int_equal(setenv("LISTEN_FDS", "2", 1), 0);
  assert_int_equal(setenv("LISTEN_FDNAMES", "a:b", 1), 0);
  assert_int_equal(art_listen_fds(fds, 4), 0);
  assert_env_cleared();
  set_pid_env("LISTEN_PID", (long)getpid());
  assert_int_equal(setenv("LISTEN_FDS", "0", 1), 0);
  assert_int_equal(art_listen_fds(fds, 4), 0);
  assert_env_cleared();
}

/* Malformed variables are ART_EINVAL (and cleared), never a guess. None of
 * these cases reaches the fds, so it runs here. */
ART_TEST(listen_fds_garbage) {
  static const struct {
    const char *pid; /* NULL: this process */
    const char *count;
    int want;
  } cases[] = {
      {"abc", "1", ART_EINVAL},
      {"", "1", ART_EINVAL},
      {"0", "1", ART_EINVAL},
      {"-1", "1", ART_EINVAL},
      {"12x", "1", ART_EINVAL},
      {"99999999999999999999999", "1", ART_EINVAL},
      {NULL, "", ART_EINVAL},
      {NULL, "x", ART_EINVAL},
      {NULL, "+1", ART_EINVAL},
      {NULL, "-1", ART_EINVAL},
      {NULL, " 1", ART_EINVAL},
      {NULL, "1 ", ART_EINVAL},
      {NULL, "0x1", ART_EINVAL},
      {NULL, "2147483645", ART_EINVAL},           /* past the last fd */
      {NULL, "18446744073709551617", ART_EINVAL}, /* 2^64 + 1 */
      {NULL, "5", ART_ENOBUFS},                   /* more than max */
      {NULL, "2147483644", ART_ENOBUFS},
  };
  art_listen_fd_t fds[4];
  clear_env();
  for (size_t i = 0; i < ART_ARRAY_SIZE(cases); i++) {
    if (cases[i].pid != NULL)
      assert_int_equal(setenv("LISTEN_PID", cases[i].pid, 1), 0);
    else
      set_pid_env("LISTEN_PID", (long)getpid());
    assert_int_equal(setenv("LISTEN_FDS", cases[i].count, 1), 0);
    if (art_listen_fds(fds, 4) != cases[i].want)
      fail_msg("case %zu: LISTEN_PID=%s LISTEN_FDS=\"%s\"", i,
               cases[i].pid ? cases[i].pid : "self", cases[i].count);
    assert_env_cleared();
  }
  assert_int_equal(art_listen_fds(NULL, 1), ART_EINVAL);
  assert_int_equal(art_listen_fds(fds, -1), ART_EINVAL);
  assert_int_equal(art_listen_fds(NULL, 0), 0);
}

/* ---- art_listen_fds in a child with sockets at 3, 4 ---- */

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) {                                                             \
      fprintf(stderr, "child check failed: %s (line %d)\n", #cond, __LINE__);  \
      _exit(1);                                                                \
    }                                                                          \
  } while (0)

/* Runs fn in a child and requires it to exit 0. */
static void in_child(void (*fn)(void)) {
  int status;
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    fn();
    _exit(0);
  }
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* Puts fd at target (closing what was there), blocking and inheritable,
 * as a service manager hands it over. */
static void place(int fd, int target) {
  CHECK(dup2(fd, target) == target);
  CHECK(close(fd) == 0);
  CHECK(fcntl(target, F_SETFL, fcntl(target, F_GETFL) & ~O_NONBLOCK) == 0);
}

static int tcp_listener(struct sockaddr_in *addr) {
  socklen_t len = sizeof(*addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(addr, 0, sizeof(*addr));
  addr->sin_family = AF_INET;
  addr->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(fd >= 0);
  CHECK(bind(fd, (struct sockaddr *)addr, sizeof(*addr)) == 0);
  CHECK(listen(fd, 8) == 0);
  CHECK(getsockname(fd, (struct sockaddr *)addr, &len) == 0);
  return fd;
}

static char unix_path[108];

static int unix_listener(void) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  snprintf(unix_path, sizeof(unix_path), "/tmp/art-service-%d.sock",
           (int)getpid());
  memcpy(sun.sun_path, unix_path, strlen(unix_path) + 1);
  unlink(unix_path);
  CHECK(fd >= 0);
  CHECK(bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0);
  CHECK(listen(fd, 8) == 0);
  return fd;
}

static void activate(const char *count, const char *names) {
  char pid[32];
  snprintf(pid, sizeof(pid), "%d", (int)getpid());
  CHECK(setenv("LISTEN_PID", pid, 1) == 0);
  CHECK(setenv("LISTEN_FDS", count, 1) == 0);
  if (names != NULL)
    CHECK(setenv("LISTEN_FDNAMES", names, 1) == 0);
  else
    unsetenv("LISTEN_FDNAMES");
}

static int accepted;

static void on_conn(art_stream_t *server, int status) {
  art_handle_t *h = server->data; /* the client handle to accept into */
  CHECK(status == 0);
  CHECK(art_accept(server, (art_stream_t *)h) == 0);
  accepted++;
  art_close(h, NULL);
  art_close((art_handle_t *)server, NULL);
}

/* The passed listeners serve: a TCP one through art_tcp_open and a Unix
 * one through art_pipe_open, each then art_listen and an accepted client. */
static void serve_adopted(int tcp_fd, const struct sockaddr_in *addr) {
  art_loop_t loop;
  art_tcp_t tl, tc;
  art_pipe_t pl, pc;
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  int c1 = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int c2 = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memcpy(sun.sun_path, unix_path, strlen(unix_path) + 1);
  CHECK(art_loop_init(&loop) == 0);
  CHECK(art_tcp_init(&loop, &tl) == 0 && art_tcp_init(&loop, &tc) == 0);
  CHECK(art_pipe_init(&loop, &pl, 0) == 0 && art_pipe_init(&loop, &pc, 0) == 0);
  CHECK(art_tcp_open(&tl, tcp_fd) == 0);
  CHECK(art_pipe_open(&pl, tcp_fd + 1) == 0);
  tl.data = &tc;
  pl.data = &pc;
  CHECK(art_listen((art_stream_t *)&tl, 16, on_conn) == 0);
  CHECK(art_listen((art_stream_t *)&pl, 16, on_conn) == 0);
  CHECK(connect(c1, (const struct sockaddr *)addr, sizeof(*addr)) == 0);
  CHECK(connect(c2, (struct sockaddr *)&sun, sizeof(sun)) == 0);
  CHECK(art_run(&loop, ART_RUN_DEFAULT) == 0);
  CHECK(accepted == 2);
  CHECK(art_loop_close(&loop) == 0);
  close(c1);
  close(c2);
}

static void child_adopts_two(void) {
  struct sockaddr_in addr;
  art_listen_fd_t fds[4];
  int t = tcp_listener(&addr), u = unix_listener();
  place(t, 3);
  place(u, 4);
  activate("2", "web:admin.sock");
  CHECK(art_listen_fds(fds, 4) == 2);
  CHECK(getenv("LISTEN_PID") == NULL && getenv("LISTEN_FDS") == NULL &&
        getenv("LISTEN_FDNAMES") == NULL);
  CHECK(fds[0].fd == 3 && strcmp(fds[0].name, "web") == 0);
  CHECK(fds[1].fd == 4 && strcmp(fds[1].name, "admin.sock") == 0);
  for (int fd = 3; fd <= 4; fd++) {
    CHECK(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    CHECK(fcntl(fd, F_GETFL) & O_NONBLOCK);
  }
  serve_adopted(3, &addr);
  unlink(unix_path);
}

/* Two passed listeners, named: both reported, made close-on-exec and
 * non-blocking, and both serve once adopted. */
ART_TEST(listen_fds_adopts_and_serves) {
  (void)state;
  in_child(child_adopts_two);
}

static void child_unnamed(void) {
  struct sockaddr_in addr;
  art_listen_fd_t fds[1];
  place(tcp_listener(&addr), 3);
  activate("1", NULL);
  CHECK(art_listen_fds(fds, 1) == 1);
  CHECK(fds[0].fd == 3 && strcmp(fds[0].name, "unknown") == 0);
}

/* Without LISTEN_FDNAMES each socket is "unknown", as systemd names it. */
ART_TEST(listen_fds_unnamed) {
  (void)state;
  in_child(child_unnamed);
}

/* fd 3 is not a socket, or not open: an error, and fd 3 keeps its flags. */
static void child_not_sockets(void) {
  int p[2];
  art_listen_fd_t fds[2];
  CHECK(pipe(p) == 0);
  place(p[0], 3);
  activate("1", NULL);
  CHECK(art_listen_fds(fds, 2) == ART_ENOTSOCK);
  CHECK(getenv("LISTEN_FDS") == NULL);
  CHECK(!(fcntl(3, F_GETFD) & FD_CLOEXEC));
  CHECK(!(fcntl(3, F_GETFL) & O_NONBLOCK));
  /* A socket at 3 and nothing at 4: fd 3 stays as it was too. */
  struct sockaddr_in addr;
  place(tcp_listener(&addr), 3);
  close(4);
  activate("2", NULL);
  CHECK(art_listen_fds(fds, 2) == ART_EBADF);
  CHECK(!(fcntl(3, F_GETFD) & FD_CLOEXEC));
  CHECK(!(fcntl(3, F_GETFL) & O_NONBLOCK));
  close(p[1]);
}

ART_TEST(listen_fds_not_sockets) {
  (void)state;
  in_child(child_not_sockets);
}

static void child_bad_names(void) {
  static const char *bad[] = {
      "a", /* one name for two fds */
      "a:b:c", "a:", ":b", "a::b", "a:b\x01", "a:b\x7f", "a:b\xc3\xa9",
  };
  char long_name[300];
  struct sockaddr_in addr;
  art_listen_fd_t fds[2];
  place(tcp_listener(&addr), 3);
  place(tcp_listener(&addr), 4);
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    activate("2", bad[i]);
    CHECK(art_listen_fds(fds, 2) == ART_EINVAL);
    CHECK(getenv("LISTEN_FDNAMES") == NULL);
  }
  memset(long_name, 'n', sizeof(long_name));
  memcpy(long_name, "a:", 2);
  long_name[2 + ART_LISTEN_FDNAME_MAX + 1] = '\0'; /* 256 bytes: too long */
  activate("2", long_name);
  CHECK(art_listen_fds(fds, 2) == ART_EINVAL);
  long_name[2 + ART_LISTEN_FDNAME_MAX] = '\0'; /* 255: the longest */
  activate("2", long_name);
  CHECK(art_listen_fds(fds, 2) == 2);
  CHECK(strlen(fds[1].name) == ART_LISTEN_FDNAME_MAX);
}

/* Names that systemd would refuse, or a count of names that does not match
 * the count of fds, are ART_EINVAL; a name of 255 bytes is the longest. */
ART_TEST(listen_fds_bad_names) {
  (void)state;
  in_child(child_bad_names);
}

/* ---- art_sd_notify against a test notify socket ---- */

typedef struct {
  int fd;
  char path[108];
} notify_sock_t;

/* Binds a datagram socket at a path (abstract: "@name") and points
 * NOTIFY_SOCKET at it. */
static void notify_open(notify_sock_t *ns, int abstract) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  socklen_t len;
  ns->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  assert_true(ns->fd >= 0);
  snprintf(ns->path, sizeof(ns->path), "%s/tmp/art-notify-%d",
           abstract ? "@" : "", (int)getpid());
  if (abstract) {
    memcpy(sun.sun_path + 1, ns->path + 1, strlen(ns->path) - 1);
    len =
        (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(ns->path));
  } else {
    unlink(ns->path);
    memcpy(sun.sun_path, ns->path, strlen(ns->path) + 1);
    len = sizeof(sun);
  }
  assert_int_equal(bind(ns->fd, (struct sockaddr *)&sun, len), 0);
  assert_int_equal(setenv("NOTIFY_SOCKET", ns->path, 1), 0);
}

static void notify_close(notify_sock_t *ns) {
  close(ns->fd);
  if (ns->path[0] == '/')
    unlink(ns->path);
  unsetenv("NOTIFY_SOCKET");
}

/* The next datagram, NUL-terminated, or "" when none is waiting. */
static const char *notify_next(notify_sock_t *ns) {
  static char buf[ART_SD_NOTIFY_MAX + 1];
  ssize_t n = recv(ns->fd, buf, sizeof(buf) - 1, 0);
  buf[n > 0 ? n : 0] = '\0';
  return buf;
}

/* Without NOTIFY_SOCKET nothing is sent and nothing fails. */
ART_TEST(notify_unset_is_quiet) {
  (void)state;
  clear_env();
  assert_int_equal(art_sd_notify("READY=1"), 0);
  assert_int_equal(setenv("NOTIFY_SOCKET", "", 1), 0);
  assert_int_equal(art_sd_notify("READY=1"), 0);
  unsetenv("NOTIFY_SOCKET");
}

/* Each state arrives as one datagram, exactly as written, at a path and
 * at an abstract name. */
ART_TEST(notify_sends_exact_messages) {
  (void)state;
  for (int abstract = 0; abstract <= 1; abstract++) {
    notify_sock_t ns;
    clear_env();
    notify_open(&ns, abstract);
    assert_int_equal(art_sd_notify("READY=1"), 0);
    assert_int_equal(art_sd_notify("STATUS=serving 2 listeners\nREADY=1"), 0);
    assert_int_equal(art_sd_notify("STOPPING=1"), 0);
    assert_string_equal(notify_next(&ns), "READY=1");
    assert_string_equal(notify_next(&ns),
                        "STATUS=serving 2 listeners\nREADY=1");
    assert_string_equal(notify_next(&ns), "STOPPING=1");
    assert_string_equal(notify_next(&ns), "");
    notify_close(&ns);
  }
}

/* Bad states and bad NOTIFY_SOCKET values are ART_EINVAL; a socket nobody
 * listens on is the error of sendto. */
ART_TEST(notify_refuses_bad_input) {
  static char big[ART_SD_NOTIFY_MAX + 2];
  char longpath[200];
  (void)state;
  clear_env();
  assert_int_equal(setenv("NOTIFY_SOCKET", "/tmp/x", 1), 0);
  assert_int_equal(art_sd_notify(NULL), ART_EINVAL);
  assert_int_equal(art_sd_notify(""), ART_EINVAL);
  memset(big, 'x', ART_SD_NOTIFY_MAX + 1);
  assert_int_equal(art_sd_notify(big), ART_EINVAL);
  memset(longpath, 'a', sizeof(longpath) - 1);
  longpath[0] = '/';
  longpath[sizeof(longpath) - 1] = '\0';
  const char *bad[] = {"relative/path", "@", "vsock:2:1234", longpath};
  for (size_t i = 0; i < ART_ARRAY_SIZE(bad); i++) {
    assert_int_equal(setenv("NOTIFY_SOCKET", bad[i], 1), 0);
    assert_int_equal(art_sd_notify("READY=1"), ART_EINVAL);
  }
  assert_int_equal(setenv("NOTIFY_SOCKET", "/nonexistent/art-notify", 1), 0);
  assert_int_equal(art_sd_notify("READY=1"), ART_ENOENT);
  /* A socket file left by a manager that is gone. */
  notify_sock_t stale;
  notify_open(&stale, 0);
  close(stale.fd);
  assert_int_equal(art_sd_notify("READY=1"), ART_ECONNREFUSED);
  unlink(stale.path);
  unsetenv("NOTIFY_SOCKET");
}

/* A manager that does not read: the send fails with ART_EAGAIN instead of
 * blocking the caller (a blocking send would hang this test). */
ART_TEST(notify_full_queue_does_not_block) {
  notify_sock_t ns;
  int err = 0, sent = 0;
  (void)state;
  clear_env();
  notify_open(&ns, 0);
  while (sent < 100000 && (err = art_sd_notify("WATCHDOG=1")) == 0)
    sent++;
  assert_int_equal(err, ART_EAGAIN);
  assert_true(sent > 0);
  notify_close(&ns);
}

/* ---- the watchdog timer, on the manual clock ---- */

static void never(art_timer_t *t) {
  (void)t;
  fail_msg("the keep-alive timer ran");
}

/* WATCHDOG_USEC=3s: a ping every 1.5 s, the first 1.5 s after the start;
 * the timer never keeps the loop alive. */
ART_TEST(watchdog_pings_at_half_the_period) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  notify_sock_t ns;
  art_timer_t t, keep;
  uint64_t ms = 99;
  clear_env();
  assert_int_equal(art_loop_configure(loop, ART_LOOP_MANUAL_CLOCK, 1), 0);
  notify_open(&ns, 0);
  assert_int_equal(setenv("WATCHDOG_USEC", "3000000", 1), 0);
  set_pid_env("WATCHDOG_PID", (long)getpid());
  art_update_time(loop); /* the timer counts from the manual clock's start */
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_sd_watchdog_start(&t, &ms), 0);
  assert_int_equal(ms, 1500);
  assert_true(art_is_active((art_handle_t *)&t));
  assert_false(art_has_ref((art_handle_t *)&t));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0); /* not kept alive */
  assert_string_equal(notify_next(&ns), "");
  /* Something else keeps the loop running, as a server's listener does. */
  assert_int_equal(art_timer_init(loop, &keep), 0);
  assert_int_equal(art_timer_start(&keep, never, 3600 * 1000, 0), 0);
  assert_int_equal(art_loop_advance(loop, 1499 * 1000000ull), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_string_equal(notify_next(&ns), "");
  assert_int_equal(art_loop_advance(loop, 1 * 1000000ull), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_string_equal(notify_next(&ns), "WATCHDOG=1");
  assert_string_equal(notify_next(&ns), "");
  assert_int_equal(art_loop_advance(loop, 1500 * 1000000ull), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_string_equal(notify_next(&ns), "WATCHDOG=1");
  assert_string_equal(notify_next(&ns), "");
  art_close((art_handle_t *)&t, NULL);
  art_close((art_handle_t *)&keep, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  notify_close(&ns);
  clear_env();
}

/* No watchdog asked for, or asked of another process: the timer is left
 * alone. Malformed values are ART_EINVAL. A tiny period still pings every
 * 1 ms rather than spinning. */
ART_TEST(watchdog_env_checked) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  uint64_t ms = 99;
  clear_env();
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_sd_watchdog_start(&t, &ms), 0);
  assert_int_equal(ms, 0);
  assert_int_equal(setenv("WATCHDOG_USEC", "1000000", 1), 0);
  set_pid_env("WATCHDOG_PID", (long)getpid() + 1);
  ms = 99;
  assert_int_equal(art_sd_watchdog_start(&t, &ms), 0);
  assert_int_equal(ms, 0);
  assert_false(art_is_active((art_handle_t *)&t));
  static const char *bad_pid[] = {"", "x", "-5", "0"};
  for (size_t i = 0; i < ART_ARRAY_SIZE(bad_pid); i++) {
    assert_int_equal(setenv("WATCHDOG_PID", bad_pid[i], 1), 0);
    assert_int_equal(art_sd_watchdog_start(&t, NULL), ART_EINVAL);
  }
  unsetenv("WATCHDOG_PID");
  static const char *bad_usec[] = {"", "0", "1s", "-1", "18446744073709551616"};
  for (size_t i = 0; i < ART_ARRAY_SIZE(bad_usec); i++) {
    assert_int_equal(setenv("WATCHDOG_USEC", bad_usec[i], 1), 0);
    assert_int_equal(art_sd_watchdog_start(&t, NULL), ART_EINVAL);
  }
  assert_false(art_is_active((art_handle_t *)&t));
  assert_int_equal(setenv("WATCHDOG_USEC", "1500", 1), 0);
  assert_int_equal(art_sd_watchdog_start(&t, &ms), 0);
  assert_int_equal(ms, 1);
  art_close((art_handle_t *)&t, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  clear_env();
}
