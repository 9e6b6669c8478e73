/* The Linux poller.
 *
 * Notes on epoll's traps, and why the odd code below exists:
 * 1. epoll watches open file descriptions, not fd numbers. A closed fd
 *    leaves the set only when every dup of it is closed, so an fd being
 *    closed is removed explicitly (forget_fd) before close(2).
 * 2. Events of one epoll_wait batch are dispatched one by one; a callback
 *    may close another fd of the same batch. The batch is the core's array
 *    (art__event_t), so the core blanks that fd's entries itself; forget_fd
 *    only takes the fd out of the kernel's set.
 * 3. Regular files and directories cannot be watched (EPERM); check_fd
 *    reports that at art_poll_init instead of at the first poll.
 * 4. EPOLL_CTL_ADD after fork or on an fd another owner registered may see
 *    EEXIST; the mask is then set with MOD. DEL of an fd already gone
 *    (ENOENT, EBADF) is not an error.
 * 5. epoll_ctl runs only when a watcher's wanted mask differs from what is
 *    registered (see io.c), so steady reading and writing costs none.
 * 6. epoll_wait counts its timeout in ms, so a timer due in 200 us would
 *    wait 1 ms. A blocking wait uses epoll_pwait2 (Linux 5.11), which takes
 *    a timespec, through syscall(2) because older C libraries lack the
 *    wrapper. Where the kernel lacks it (ENOSYS) or a seccomp filter of an
 *    older container runtime refuses it (EPERM), the backend falls back for
 *    good to epoll_wait with the timeout rounded up to the next ms: a timer
 *    then runs late, never early. Zero-timeout and endless waits keep
 *    epoll_wait, which has nothing to round.
 * 7. The kernel lets a wait's timeout end late by the thread's timer slack
 *    (50 us unless the program lowered it with PR_SET_TIMERSLACK), which
 *    is half the delay of a 100 us timer. A timerfd has no slack, so a wait
 *    shorter than PRECISE_NS arms the backend's own timerfd (made at the
 *    first such wait, so a loop that never needs it has no extra fd; in
 *    the epoll set, edge-triggered, so it is never read); a plain
 *    ms timeout remains as a safety net. Its event never reaches the core.
 *    One more system call per such wait is the price; longer waits, where
 *    the slack is a small share, do without. A timerfd still armed after a
 *    wait that ended on I/O is disarmed before a wait that does not use
 *    it, so that it cannot end that wait early with nothing to report.
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"

#define BATCH 1024

/* Every architecture but alpha numbers the system calls added since Linux
 * 5.1 alike. */
#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

/* Waits shorter than this use the timerfd (note 7). */
#define PRECISE_NS 50000000

typedef struct {
  int epfd;
  int tfd;       /* timerfd for short waits; -1: none, -2: not made yet */
  int tfd_armed; /* it may still expire */
  int no_pwait2; /* epoll_pwait2 refused: ms waits */
  struct epoll_event events[BATCH]; /* what epoll_wait fills */
} epoll_state_t;

/* The timerfd of note 7; without one (no fd left), waits keep the slack. */
static void open_timerfd(epoll_state_t *st) {
  struct epoll_event e = {.events = EPOLLIN | EPOLLET};
  st->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
  if (st->tfd == -1)
    return;
  e.data.fd = st->tfd;
  if (epoll_ctl(st->epfd, EPOLL_CTL_ADD, st->tfd, &e) == -1) {
    art__close_fd(st->tfd);
    st->tfd = -1;
  }
}

static int epoll_init(void **state) {
  epoll_state_t *st = art__malloc(sizeof(*st));
  if (st == NULL)
    return ART_ENOMEM;
  st->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (st->epfd == -1) {
    int err = -errno;
    art__free(st);
    return err;
  }
  st->tfd = -2;
  st->tfd_armed = 0;
  st->no_pwait2 = 0;
  *state = st;
  return 0;
}

static void epoll_close(void *state) {
  epoll_state_t *st = state;
  if (st->tfd >= 0)
    art__close_fd(st->tfd);
  art__close_fd(st->epfd);
  art__free(st);
}

static uint32_t to_epoll(unsigned ev) {
  return ((ev & ART_READABLE) ? EPOLLIN : 0) |
         ((ev & ART_WRITABLE) ? EPOLLOUT : 0) |
         ((ev & ART_DISCONNECT) ? EPOLLRDHUP : 0) |
         ((ev & ART_PRIORITIZED) ? EPOLLPRI : 0);
}

static unsigned from_epoll(uint32_t ev) {
  return ((ev & EPOLLIN) ? ART_READABLE : 0) |
         ((ev & EPOLLOUT) ? ART_WRITABLE : 0) |
         ((ev & EPOLLRDHUP) ? ART_DISCONNECT : 0) |
         ((ev & EPOLLPRI) ? ART_PRIORITIZED : 0) |
         ((ev & (EPOLLERR | EPOLLHUP)) ? ART__IO_ERROR : 0);
}

static int epoll_update(void *state, int fd, unsigned had, unsigned want) {
  epoll_state_t *st = state;
  struct epoll_event e = {.events = to_epoll(want), .data.fd = fd};
  int op = had == 0 ? EPOLL_CTL_ADD : want == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
  if (op == EPOLL_CTL_ADD && want == 0)
    return 0;
  int r = epoll_ctl(st->epfd, op, fd, &e);
  if (r == -1 && op == EPOLL_CTL_ADD && errno == EEXIST)
    r = epoll_ctl(st->epfd, EPOLL_CTL_MOD, fd, &e);
  if (r == -1 && op == EPOLL_CTL_DEL && (errno == ENOENT || errno == EBADF))
    r = 0;
  return r == -1 ? -errno : 0;
}

/* Arms (timeout_ns > 0) or disarms the timerfd; 0 or -1 with errno. */
static int set_timerfd(epoll_state_t *st, int64_t timeout_ns) {
  struct itimerspec its = {
      {0, 0},
      {(time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000)}};
  st->tfd_armed = timeout_ns > 0;
  return timerfd_settime(st->tfd, 0, &its, NULL);
}

/* One wait of timeout_ns (notes 6 and 7). */
static int wait_once(epoll_state_t *st, int max, int64_t timeout_ns) {
  int precise = timeout_ns > 0 && timeout_ns < PRECISE_NS;
  if (precise && st->tfd == -2)
    open_timerfd(st);
  if (precise && st->tfd >= 0 && set_timerfd(st, timeout_ns) == 0)
    return epoll_wait(st->epfd, st->events, max,
                      art__timeout_ms_up(timeout_ns) + 1);
  if (timeout_ns != 0 && st->tfd_armed)
    set_timerfd(st, 0);
  if (timeout_ns > 0 && !st->no_pwait2) {
    struct timespec ts = {(time_t)(timeout_ns / 1000000000),
                          (long)(timeout_ns % 1000000000)};
    int n =
        (int)syscall(SYS_epoll_pwait2, st->epfd, st->events, max, &ts, NULL, 0);
    if (n != -1 || (errno != ENOSYS && errno != EPERM))
      return n;
    st->no_pwait2 = 1;
  }
  return epoll_wait(st->epfd, st->events, max, art__timeout_ms_up(timeout_ns));
}

static int epoll_wait_events(void *state, int64_t timeout_ns, art__event_t *out,
                             int max) {
  epoll_state_t *st = state;
  int n, k = 0;
  if (max > BATCH)
    max = BATCH;
  do
    n = wait_once(st, max, timeout_ns);
  while (n == -1 && errno == EINTR && timeout_ns == 0);
  for (int i = 0; i < n; i++) {
    if (st->events[i].data.fd == st->tfd) {
      st->tfd_armed = 0; /* it expired: the backend's own, not reported */
      continue;
    }
    out[k].fd = st->events[i].data.fd;
    out[k].events = from_epoll(st->events[i].events);
    out[k].op = NULL;
    k++;
  }
  return k;
}

static void epoll_forget_fd(void *state, int fd) {
  epoll_state_t *st = state;
  epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int epoll_fd(const void *state) {
  const epoll_state_t *st = state;
  return st->epfd;
}

static int epoll_check_fd(const void *state, int fd) {
  struct stat sb;
  (void)state;
  if (fstat(fd, &sb) == -1)
    return -errno;
  if (S_ISREG(sb.st_mode) || S_ISDIR(sb.st_mode))
    return ART_EPERM;
  return 0;
}

const art__backend_ops_t art__backend_epoll = {
    .name = "epoll",
    .init = epoll_init,
    .close = epoll_close,
    .update = epoll_update,
    .wait = epoll_wait_events,
    .forget_fd = epoll_forget_fd,
    .fd = epoll_fd,
    .check_fd = epoll_check_fd,
};
