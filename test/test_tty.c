/* TTY handles on a pseudo-terminal: modes, window size, writing and reading
 * through the pty, art_tty_reset_mode, and art_guess_handle. */
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "helpers/harness.h"

/* Opens a pty pair: the master and its (blocking) slave. */
static void open_pty(int *master, int *slave) {
  char name[64];
  *master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(*master >= 0);
  assert_int_equal(grantpt(*master), 0);
  assert_int_equal(unlockpt(*master), 0);
  assert_int_equal(ptsname_r(*master, name, sizeof(name)), 0);
  *slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);
  assert_true(*slave >= 0);
}

/* Reads from fd until want bytes came or 2 s passed. */
static size_t read_some(int fd, char *buf, size_t want) {
  size_t got = 0;
  while (got < want) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 2000) <= 0)
      break;
    ssize_t n = read(fd, buf + got, want - got);
    if (n <= 0)
      break;
    got += (size_t)n;
  }
  return got;
}

static int closed;
static void on_close(art_handle_t *h) {
  closed++;
}

static void close_tty(art_loop_t *loop, art_tty_t *tty) {
  closed = 0;
  assert_int_equal(art_close((art_handle_t *)tty, on_close), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
}

ART_TEST(modes) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int m, s;
  art_tty_t tty;
  struct termios orig, t;
  open_pty(&m, &s);
  assert_int_equal(tcgetattr(s, &orig), 0);
  assert_int_equal(art_tty_init(loop, &tty, s, 1), 0);
  assert_int_equal(art_tty_set_mode(&tty, ART_TTY_MODE_RAW), 0);
  assert_int_equal(tcgetattr(s, &t), 0);
  assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), 0);
  assert_true(t.c_oflag & OPOST); /* output still processed */
  assert_int_equal(t.c_cc[VMIN], 1);
  assert_int_equal(art_tty_set_mode(&tty, ART_TTY_MODE_IO), 0);
  assert_int_equal(tcgetattr(s, &t), 0);
  assert_int_equal(t.c_lflag & (ICANON | ECHO | ISIG), 0);
  assert_int_equal(t.c_oflag & OPOST, 0);
  assert_int_equal(art_tty_set_mode(&tty, ART_TTY_MODE_NORMAL), 0);
  assert_int_equal(tcgetattr(s, &t), 0);
  assert_int_equal(t.c_lflag, orig.c_lflag);
  assert_int_equal(t.c_iflag, orig.c_iflag);
  assert_int_equal(t.c_oflag, orig.c_oflag);
  assert_int_equal(art_tty_set_mode(&tty, (art_tty_mode_t)3), ART_EINVAL);
  assert_int_equal(art_tty_set_mode(&tty, (art_tty_mode_t)-1), ART_EINVAL);
  /* Closing in raw mode restores the terminal. */
  assert_int_equal(art_tty_set_mode(&tty, ART_TTY_MODE_RAW), 0);
  int keep = dup(s); /* the same terminal, to look at it after close */
  close_tty(loop, &tty);
  assert_int_equal(tcgetattr(keep, &t), 0);
  assert_int_equal(t.c_lflag, orig.c_lflag);
  close(keep);
  close(m);
}

ART_TEST(winsize) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int m, s, w = 0, h = 0;
  art_tty_t tty;
  struct winsize ws = {33, 111, 0, 0};
  open_pty(&m, &s);
  assert_int_equal(ioctl(m, TIOCSWINSZ, &ws), 0);
  assert_int_equal(art_tty_init(loop, &tty, s, 0), 0);
  assert_int_equal(art_tty_get_winsize(&tty, &w, &h), 0);
  assert_int_equal(w, 111);
  assert_int_equal(h, 33);
  ws.ws_row = 7;
  ws.ws_col = 2000;
  assert_int_equal(ioctl(m, TIOCSWINSZ, &ws), 0);
  assert_int_equal(art_tty_get_winsize(&tty, &w, &h), 0);
  assert_int_equal(w, 2000);
  assert_int_equal(h, 7);
  assert_int_equal(art_tty_get_winsize(&tty, NULL, &h), ART_EINVAL);
  assert_int_equal(art_tty_get_winsize(NULL, &w, &h), ART_EINVAL);
  close_tty(loop, &tty);
  close(m);
}

/* What the read callback got. */
static char input[64];
static size_t input_len;
static char read_buf[64];

static void alloc_cb(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(read_buf, sizeof(read_buf));
}

static void read_cb(art_stream_t *s, ssize_t nread, const art_buf_t *buf) {
  if (nread > 0 && input_len + (size_t)nread < sizeof(input)) {
    memcpy(input + input_len, buf->base, (size_t)nread);
    input_len += (size_t)nread;
  }
}

static int got_input(void *arg) {
  return input_len >= *(size_t *)arg;
}

static int writes_done;
static void write_cb(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  writes_done++;
}

ART_TEST(write_and_read_through_pty) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int m, s;
  art_tty_t tty;
  art_write_t req;
  char out[16];
  open_pty(&m, &s);
  assert_int_equal(art_tty_init(loop, &tty, s, 1), 0);
  assert_true(art_is_readable((art_stream_t *)&tty));
  assert_true(art_is_writable((art_stream_t *)&tty));
  /* Normal mode: the terminal turns \n into \r\n. */
  art_buf_t b = art_buf_init("hi\n", 3);
  writes_done = 0;
  assert_true(art_write(&req, (art_stream_t *)&tty, &b, 1, write_cb) >= 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(writes_done, 1);
  assert_int_equal(read_some(m, out, 4), 4);
  assert_memory_equal(out, "hi\r\n", 4);
  /* IO mode: bytes pass unchanged both ways. */
  assert_int_equal(art_tty_set_mode(&tty, ART_TTY_MODE_IO), 0);
  assert_int_equal(art_try_write((art_stream_t *)&tty, &b, 1), 3);
  assert_int_equal(read_some(m, out, 3), 3);
  assert_memory_equal(out, "hi\n", 3);
  input_len = 0;
  assert_int_equal(art_read_start((art_stream_t *)&tty, alloc_cb, read_cb), 0);
  assert_int_equal(write(m, "a\rb\003", 4), 4); /* no ICRNL, no SIGINT */
  size_t want = 4;
  assert_true(art_test_run_until(loop, 3000, got_input, &want));
  assert_memory_equal(input, "a\rb\003", 4);
  close_tty(loop, &tty);
  close(m);
}

ART_TEST(reset_mode_restores) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int m, s;
  art_tty_t tty;
  struct termios orig, t;
  open_pty(&m, &s);
  assert_int_equal(art_tty_reset_mode(), 0); /* nothing recorded: no-op */
  assert_int_equal(tcgetattr(s, &orig), 0);
  assert_int_equal(art_tty_init(loop, &tty, s, 1), 0);
  assert_int_equal(art_tty_set_mode(&tty, ART_TTY_MODE_RAW), 0);
  errno = 1234;
  assert_int_equal(art_tty_reset_mode(), 0);
  assert_int_equal(errno, 1234); /* kept, as a signal handler needs */
  assert_int_equal(tcgetattr(s, &t), 0);
  assert_int_equal(t.c_lflag, orig.c_lflag);
  assert_int_equal(t.c_iflag, orig.c_iflag);
  close_tty(loop, &tty);
  assert_int_equal(art_tty_reset_mode(), 0); /* forgotten at close */
  close(m);
}

/* The fd's O_NONBLOCK is on the shared file description: it is set while
 * the handle is open and put back at close. */
ART_TEST(nonblocking_flag_put_back) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int m, s;
  art_tty_t tty;
  open_pty(&m, &s);
  int other = dup(s); /* as a shell would hold it */
  assert_int_equal(fcntl(other, F_GETFL) & O_NONBLOCK, 0);
  assert_int_equal(art_tty_init(loop, &tty, s, 1), 0);
  assert_true(fcntl(other, F_GETFL) & O_NONBLOCK);
  close_tty(loop, &tty);
  assert_int_equal(fcntl(s, F_GETFD), -1); /* closed with the handle */
  assert_int_equal(fcntl(other, F_GETFL) & O_NONBLOCK, 0);
  close(other);
  close(m);
}

ART_TEST(guess_handle) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int m, s, p[2], sp[2];
  char dir[] = "/tmp/art_tty_XXXXXX";
  char path[64];
  open_pty(&m, &s);
  assert_int_equal(art_guess_handle(s), ART_TTY);
  assert_int_equal(art_guess_handle(m), ART_TTY);
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(art_guess_handle(p[0]), ART_NAMED_PIPE);
  assert_int_equal(art_guess_handle(p[1]), ART_NAMED_PIPE);
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp), 0);
  assert_int_equal(art_guess_handle(sp[0]), ART_NAMED_PIPE);
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int udp = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  int udp4 = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_int_equal(art_guess_handle(tcp), ART_TCP);
  if (udp >= 0)
    assert_int_equal(art_guess_handle(udp), ART_UDP);
  assert_int_equal(art_guess_handle(udp4), ART_UDP);
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/f", dir);
  int f = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  assert_true(f >= 0);
  assert_int_equal(art_guess_handle(f), ART_FILE);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  assert_int_equal(art_guess_handle(null), ART_FILE);
  int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  assert_int_equal(art_guess_handle(d), ART_UNKNOWN_HANDLE);
  assert_int_equal(art_guess_handle(-1), ART_UNKNOWN_HANDLE);
  assert_int_equal(art_guess_handle(100000), ART_UNKNOWN_HANDLE);
  assert_string_equal(art_handle_type_name(ART_FILE), "file");
  assert_int_equal(art_tty_init(loop, (art_tty_t *)&(art_tty_t){0}, f, 0),
                   ART_EINVAL);
  int fds[] = {m, s, p[0], p[1], sp[0], sp[1], tcp, udp4, f, null, d};
  for (size_t i = 0; i < ART_ARRAY_SIZE(fds); i++)
    close(fds[i]);
  if (udp >= 0)
    close(udp);
  unlink(path);
  rmdir(dir);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_tty_t tty;
  int p[2], m, s;
  assert_int_equal(art_tty_init(NULL, &tty, 0, 0), ART_EINVAL);
  assert_int_equal(art_tty_init(loop, NULL, 0, 0), ART_EINVAL);
  assert_int_equal(art_tty_init(loop, &tty, -1, 0), ART_EBADF);
  assert_int_equal(art_tty_init(loop, &tty, 100000, 0), ART_EBADF);
  assert_int_equal(pipe2(p, O_CLOEXEC), 0);
  assert_int_equal(art_tty_init(loop, &tty, p[0], 1), ART_EINVAL);
  assert_int_equal(fcntl(p[0], F_GETFL) & O_NONBLOCK, 0); /* untouched */
  assert_int_equal(art_tty_set_mode(NULL, ART_TTY_MODE_RAW), ART_EINVAL);
  open_pty(&m, &s);
  assert_int_equal(art_tty_init(loop, &tty, s, 0), 0);
  art_close((art_handle_t *)&tty, NULL);
  assert_int_equal(art_tty_set_mode(&tty, ART_TTY_MODE_RAW), ART_EINVAL);
  int w, h;
  assert_int_equal(art_tty_get_winsize(&tty, &w, &h), ART_EINVAL);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(art_handle_size(ART_TTY), sizeof(art_tty_t));
  close(p[0]);
  close(p[1]);
  close(m);
}

/* A TTY on fd 0-2 is not closed by art_close (stderr is borrowed here). */
ART_TEST(stdio_fd_stays_open) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int m, s;
  art_tty_t tty;
  open_pty(&m, &s);
  int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
  assert_true(saved >= 0);
  assert_int_equal(dup2(s, STDERR_FILENO), STDERR_FILENO);
  int r = art_tty_init(loop, &tty, STDERR_FILENO, 0);
  if (r == 0) {
    art_close((art_handle_t *)&tty, NULL);
    art_run(loop, ART_RUN_DEFAULT);
  }
  int open_after = fcntl(STDERR_FILENO, F_GETFD) != -1;
  int nonblock = (fcntl(STDERR_FILENO, F_GETFL) & O_NONBLOCK) != 0;
  dup2(saved, STDERR_FILENO); /* stderr back before any assertion */
  close(saved);
  assert_int_equal(r, 0);
  assert_true(open_after);
  assert_false(nonblock);
  close(s);
  close(m);
}
