/* art_tty_t: a terminal as a stream, its modes and window size; and
 * art_guess_handle, which says what kind of object an fd is.
 *
 * Notes:
 * 1. A terminal's open file description is normally shared with the shell
 *    and every process started from it, and O_NONBLOCK lives on that
 *    description, not on the fd. The handle needs non-blocking I/O, so it
 *    sets the flag while open and puts the original flags back at close:
 *    a shell must never be left with a non-blocking terminal. (Reopening
 *    the terminal by name would give a private description, but it fails
 *    for pty masters and in many sandboxes; the flag dance works for all.)
 * 2. art_tty_reset_mode must work from a signal handler, when the program
 *    is dying with the terminal in raw mode. So the settings to restore are
 *    kept in static storage (the one piece of global state here: there is
 *    one controlling terminal per process) behind a flag taken with an
 *    atomic exchange. The handler never waits for it, it reports
 *    ART_EBUSY instead, and uses only tcsetattr, which is
 *    async-signal-safe.
 * 3. Mode changes use TCSADRAIN so that output already written is
 *    processed with the settings it was written under. Restoring at close
 *    uses TCSANOW: a peer that no longer reads must not block close.
 */
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "stream.h"

/* Note 2: what art_tty_reset_mode restores. */
static struct termios saved_termios; /* settings before the first change */
static int saved_fd = -1;            /* its terminal, -1 when none */
static int saved_lock;               /* atomic: 1 while in use */

static int lock_saved(void) {
  return __atomic_exchange_n(&saved_lock, 1, __ATOMIC_ACQUIRE) == 0;
}

static void unlock_saved(void) {
  __atomic_store_n(&saved_lock, 0, __ATOMIC_RELEASE);
}

/* Takes the lock from normal code: a signal handler holds it only for one
 * tcsetattr, so spinning is brief. */
static void lock_saved_wait(void) {
  while (!lock_saved())
    sched_yield();
}

static int is_tty(const art_tty_t *t) {
  return art__handle_usable((const art_handle_t *)t) && t->type == ART_TTY;
}

int art_tty_init(art_loop_t *loop, art_tty_t *tty, int fd, int readable) {
  if (!art__loop_usable(loop) || tty == NULL)
    return ART_EINVAL;
  int status = fd < 0 ? -1 : fcntl(fd, F_GETFL);
  if (status == -1)
    return ART_EBADF;
  if (!isatty(fd))
    return ART_EINVAL;
  unsigned flags = ART__S_WRITABLE;
  if (readable)
    flags = ART__S_READABLE |
            ((status & O_ACCMODE) == O_RDWR ? ART__S_WRITABLE : 0);
  art__stream_init(loop, (art_stream_t *)tty, &art__tty_ops);
  tty->mode_ = ART_TTY_MODE_NORMAL;
  tty->orig_status_ = status;
  memset(&tty->orig_termios_, 0, sizeof(tty->orig_termios_));
  int err = art__nonblock(fd, 1);
  if (!err)
    err = art__stream_open((art_stream_t *)tty, fd, flags);
  if (err) { /* undo: the caller never got a handle (note 1 for flags) */
    fcntl(fd, F_SETFL, status);
    art__queue_remove(&tty->handle_node_);
    tty->loop = NULL;
  }
  return err;
}

/* Raw input for an interactive program: no line editing, echo or signal
 * keys, 8-bit bytes, but output still turns \n into \r\n. */
static void make_raw(struct termios *t) {
  t->c_iflag &= ~(tcflag_t)(BRKINT | ICRNL | INPCK | ISTRIP | IXON);
  t->c_oflag |= ONLCR;
  t->c_cflag |= CS8;
  t->c_lflag &= ~(tcflag_t)(ECHO | ICANON | IEXTEN | ISIG);
  t->c_cc[VMIN] = 1;
  t->c_cc[VTIME] = 0;
}

static int set_attr(int fd, int when, const struct termios *t) {
  int r;
  do
    r = tcsetattr(fd, when, t);
  while (r == -1 && errno == EINTR);
  return r == -1 ? -errno : 0;
}

/* Records the first terminal settings changed in the process (note 2). */
static void record_for_reset(int fd, const struct termios *t) {
  lock_saved_wait();
  if (saved_fd == -1) {
    saved_termios = *t;
    saved_fd = fd;
  }
  unlock_saved();
}

int art_tty_set_mode(art_tty_t *tty, art_tty_mode_t mode) {
  if (!is_tty(tty) || (unsigned)mode > ART_TTY_MODE_IO)
    return ART_EINVAL;
  if ((int)mode == tty->mode_)
    return 0;
  int fd = tty->io_.fd;
  if (tty->mode_ == ART_TTY_MODE_NORMAL) {
    if (tcgetattr(fd, &tty->orig_termios_) == -1)
      return -errno;
    record_for_reset(fd, &tty->orig_termios_);
  }
  struct termios t = tty->orig_termios_;
  if (mode == ART_TTY_MODE_RAW)
    make_raw(&t);
  else if (mode == ART_TTY_MODE_IO)
    cfmakeraw(&t);
  int err = set_attr(fd, TCSADRAIN, &t); /* note 3 */
  if (!err)
    tty->mode_ = (int)mode;
  return err;
}

int art_tty_get_winsize(art_tty_t *tty, int *width, int *height) {
  struct winsize ws;
  if (!is_tty(tty) || width == NULL || height == NULL)
    return ART_EINVAL;
  int r;
  do
    r = ioctl(tty->io_.fd, TIOCGWINSZ, &ws);
  while (r == -1 && errno == EINTR);
  if (r == -1)
    return -errno;
  *width = ws.ws_col;
  *height = ws.ws_row;
  return 0;
}

int art_tty_reset_mode(void) {
  int saved_errno = errno;
  int err = 0;
  if (!lock_saved())
    return ART_EBUSY;
  if (saved_fd != -1 && tcsetattr(saved_fd, TCSANOW, &saved_termios) == -1)
    err = -errno;
  unlock_saved();
  errno = saved_errno;
  return err;
}

/* Puts the terminal and the fd back as they were (notes 1 and 3), and
 * forgets the fd for art_tty_reset_mode, since it may be reused. */
static void tty_close(art_handle_t *h) {
  art_tty_t *tty = (art_tty_t *)h;
  int fd = tty->io_.fd;
  if (fd >= 0) {
    if (tty->mode_ != ART_TTY_MODE_NORMAL)
      set_attr(fd, TCSANOW, &tty->orig_termios_);
    fcntl(fd, F_SETFL, tty->orig_status_);
    lock_saved_wait();
    if (saved_fd == fd)
      saved_fd = -1;
    unlock_saved();
    if (fd <= STDERR_FILENO) { /* leave stdio open: stop watching only */
      art__io_close(h->loop, &tty->io_);
      tty->io_.fd = -1;
    }
  }
  tty->mode_ = ART_TTY_MODE_NORMAL;
  art__stream_close(h);
}

/* A terminal is never listened on, so nothing is ever accepted into it. */
static int open_accepted(art_stream_t *s, int fd) {
  (void)s;
  (void)fd;
  return ART_EINVAL;
}

const art__stream_ops_t art__tty_ops = {{ART_TTY, "tty", sizeof(art_tty_t),
                                         tty_close, art__stream_endgame,
                                         art__stream_fd, art__sring_busy},
                                        NULL,
                                        open_accepted,
                                        NULL};

/* ---- art_guess_handle. ---- */

/* A socket's kind from its type and family. */
static art_handle_type guess_socket(int fd) {
  int type, domain;
  socklen_t len = sizeof(type);
  if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1)
    return ART_UNKNOWN_HANDLE;
  len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
    return ART_UNKNOWN_HANDLE;
  int inet = domain == AF_INET || domain == AF_INET6;
  if (type == SOCK_STREAM && inet)
    return ART_TCP;
  if (type == SOCK_STREAM && domain == AF_UNIX)
    return ART_NAMED_PIPE;
  if (type == SOCK_DGRAM && inet)
    return ART_UDP;
  return ART_UNKNOWN_HANDLE;
}

art_handle_type art_guess_handle(int fd) {
  struct stat sb;
  if (fd < 0 || fstat(fd, &sb) == -1)
    return ART_UNKNOWN_HANDLE;
  if (isatty(fd))
    return ART_TTY;
  if (S_ISREG(sb.st_mode) || S_ISCHR(sb.st_mode) || S_ISBLK(sb.st_mode))
    return ART_FILE;
  if (S_ISFIFO(sb.st_mode))
    return ART_NAMED_PIPE;
  if (S_ISSOCK(sb.st_mode))
    return guess_socket(fd);
  return ART_UNKNOWN_HANDLE;
}
