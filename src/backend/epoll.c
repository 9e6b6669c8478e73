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
 */
#include <errno.h>
#include <sys/epoll.h>
#include <sys/stat.h>

#include "backend.h"

#define BATCH 1024

typedef struct {
  int epfd;
  struct epoll_event events[BATCH]; /* what epoll_wait fills */
} epoll_state_t;

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
  *state = st;
  return 0;
}

static void epoll_close(void *state) {
  epoll_state_t *st = state;
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

static int epoll_wait_events(void *state, int timeout, art__event_t *out,
                             int max) {
  epoll_state_t *st = state;
  int n;
  if (max > BATCH)
    max = BATCH;
  do
    n = epoll_wait(st->epfd, st->events, max, timeout);
  while (n == -1 && errno == EINTR && timeout == 0);
  for (int i = 0; i < n; i++) {
    out[i].fd = st->events[i].data.fd;
    out[i].events = from_epoll(st->events[i].events);
    out[i].op = NULL;
  }
  return n < 0 ? 0 : n;
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
