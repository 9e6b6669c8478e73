/* The child side of art_spawn: what runs between clone and execve.
 *
 * Notes, and why the code below is shaped as it is:
 * 1. In release builds the child is created with clone(CLONE_VM |
 *    CLONE_VFORK): it runs on a stack of its own but in the parent's memory,
 *    while the parent thread waits until it execs or exits. It must
 *    therefore allocate nothing, take no lock, and change no state of the
 *    parent: only system calls, on data the parent prepared.
 * 2. setuid, setgid and setgroups go through syscall(2): glibc's wrappers
 *    would signal every thread of the parent to change their ids too.
 * 3. Every signal is blocked when the child starts (the parent blocked them
 *    around clone), so no handler of the parent can run here. Dispositions
 *    are set to SIG_DFL before the mask is emptied: a handler installed by
 *    the parent must not run in its memory, and an ignored signal would
 *    stay ignored across execve.
 * 4. Slots are filled in two passes: a source fd that sits on another
 *    slot's number is first moved above the slots, so that installing one
 *    slot never clobbers the source of another.
 * 5. Everything above the slots is marked close-on-exec with close_range
 *    (one system call); without it, with a scan of /proc/self/fd, and
 *    without that, with a loop up to the fd limit. Marking rather than
 *    closing keeps the error pipe open until execve succeeds.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

extern char **environ;

static void fail(art__child_ctx_t *c, int err) __attribute__((noreturn));

/* Reports err to the parent through the error pipe and exits. */
static void fail(art__child_ctx_t *c, int err) {
  ssize_t r;
  do
    r = write(c->errfd, &err, sizeof(err));
  while (r == -1 && errno == EINTR);
  _exit(127);
}

static void reset_signals(void) {
  struct sigaction dfl;
  memset(&dfl, 0, sizeof(dfl));
  dfl.sa_handler = SIG_DFL;
  for (int n = 1; n < 65; n++)
    if (n != SIGKILL && n != SIGSTOP)
      sigaction(n, &dfl, NULL); /* EINVAL for libc-reserved ones: fine */
}

/* Moves fd to a number >= floor, close-on-exec. */
static int move_up(art__child_ctx_t *c, int fd, int floor) {
  int moved = fcntl(fd, F_DUPFD_CLOEXEC, floor);
  if (moved == -1)
    fail(c, errno);
  return moved;
}

/* Installs the fd of slot i (or /dev/null, or nothing) as fd i. */
static void install_slot(art__child_ctx_t *c, int i) {
  int src = c->fds[i];
  if (src == i) {
    if (fcntl(i, F_SETFD, 0) == -1) /* keep it across execve */
      fail(c, errno);
    return;
  }
  if (src < 0 && c->ignore[i] && i <= 2) {
    src = open("/dev/null", i == 0 ? O_RDONLY : O_RDWR);
    if (src == -1)
      fail(c, errno);
    if (src == i)
      return;
    if (dup3(src, i, 0) == -1)
      fail(c, errno);
    close(src);
    return;
  }
  if (src < 0) {
    close(i);
    return;
  }
  if (dup3(src, i, 0) == -1)
    fail(c, errno);
}

static void setup_stdio(art__child_ctx_t *c) {
  if (c->errfd < c->nfds)
    c->errfd = move_up(c, c->errfd, c->nfds);
  for (int i = 0; i < c->nfds; i++)
    if (c->fds[i] >= 0 && c->fds[i] < c->nfds && c->fds[i] != i)
      c->fds[i] = move_up(c, c->fds[i], c->nfds);
  for (int i = 0; i < c->nfds; i++)
    install_slot(c, i);
}

/* Marks fds from floor up close-on-exec by scanning /proc/self/fd with raw
 * getdents64 (opendir would allocate). Returns -1 without /proc. */
static int cloexec_from_proc(int floor) {
  char buf[4096];
  int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir == -1)
    return -1;
  for (;;) {
    long n = syscall(SYS_getdents64, dir, buf, sizeof(buf));
    if (n <= 0)
      break;
    for (long off = 0; off < n;) {
      struct dirent64 *d = (struct dirent64 *)(buf + off);
      int fd = 0;
      const char *p = d->d_name;
      for (; *p >= '0' && *p <= '9'; p++)
        fd = fd * 10 + (*p - '0');
      if (*p == '\0' && p != d->d_name && fd >= floor && fd != dir)
        fcntl(fd, F_SETFD, FD_CLOEXEC);
      off += d->d_reclen;
    }
  }
  close(dir);
  return 0;
}

static void cloexec_above(int floor) {
  if (syscall(SYS_close_range, (unsigned)floor, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
    return;
  if (cloexec_from_proc(floor) == 0)
    return;
  struct rlimit rl;
  int max = 4096;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
    max = (int)rl.rlim_cur;
  for (int fd = floor; fd < max; fd++)
    fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static void set_ids(art__child_ctx_t *c) {
  if (c->flags & ART_PROCESS_SETGID) {
    if (syscall(SYS_setgroups, 0, NULL) == -1 && errno != EPERM)
      fail(c, errno);
    if (syscall(SYS_setgid, c->gid) == -1)
      fail(c, errno);
  }
  if ((c->flags & ART_PROCESS_SETUID) && syscall(SYS_setuid, c->uid) == -1)
    fail(c, errno);
}

/* execvp without the shell fallback, over c->path, into a stack buffer.
 * Like execvp, an EACCES met on the way wins over a final ENOENT. */
static int exec_search(art__child_ctx_t *c) {
  char **env = c->env != NULL ? c->env : environ;
  if (strchr(c->file, '/') != NULL) {
    execve(c->file, c->args, env);
    return errno;
  }
  char buf[PATH_MAX];
  size_t flen = strlen(c->file);
  int err = ENOENT, seen_eacces = 0;
  for (const char *p = c->path; p != NULL;) {
    const char *end = strchr(p, ':');
    size_t dlen = end ? (size_t)(end - p) : strlen(p);
    if (dlen == 0)
      buf[dlen++] = '.'; /* an empty element is the current directory */
    else if (dlen + flen + 2 <= sizeof(buf))
      memcpy(buf, p, dlen);
    if (dlen + flen + 2 <= sizeof(buf)) {
      buf[dlen] = '/';
      memcpy(buf + dlen + 1, c->file, flen + 1);
      execve(buf, c->args, env);
      err = errno;
      if (err == EACCES)
        seen_eacces = 1;
      else if (err != ENOENT && err != ENOTDIR && err != ESTALE &&
               err != ENODEV && err != ETIMEDOUT)
        return err;
    }
    p = end ? end + 1 : NULL;
  }
  return seen_eacces ? EACCES : err;
}

void art__child_exec(art__child_ctx_t *c) {
  sigset_t empty;
  reset_signals();
  if ((c->flags & ART_PROCESS_DETACHED) && setsid() == -1)
    fail(c, errno);
  setup_stdio(c);
  cloexec_above(c->nfds);
  if (c->cwd != NULL && chdir(c->cwd) == -1)
    fail(c, errno);
  set_ids(c);
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, NULL);
  fail(c, exec_search(c));
}
