/* The Linux poller.
 *
 * Notes on epoll's traps, and why the odd code below exists:
 * 1. epoll watches open file descriptions, not fd numbers. A closed fd
 *    leaves the set only when every dup of it is closed, so an fd being
 *    closed is removed explicitly (invalidate_fd) before close(2).
 * 2. Events of one epoll_wait batch are dispatched one by one; a callback
 *    may close another fd of the same batch, so invalidate_fd also blanks
 *    that fd's entries in the batch not yet dispatched.
 * 3. Regular files and directories cannot be watched (EPERM); check_fd
 *    reports that at art_poll_init instead of at the first poll.
 * 4. EPOLL_CTL_ADD after fork or on an fd another owner registered may see
 *    EEXIST; the mask is then set with MOD. DEL of an fd already gone
 *    (ENOENT, EBADF) is not an error.
 * 5. epoll_ctl runs only when a watcher's wanted mask differs from what is
 *    registered (see io.c), so steady reading and writing costs none.
 */
#include <sys/epoll.h>
#include <sys/stat.h>

#include "internal.h"

#define BATCH 1024

typedef struct {
  int epfd;
  struct epoll_event *batch; /* events of the wait being dispatched */
  int nbatch;                /* entries in batch, 0 when not dispatching */
  struct epoll_event events[BATCH];
} epoll_state_t;

static int epoll_init(art_loop_t *loop) {
  epoll_state_t *st = art__malloc(sizeof(*st));
  if (st == NULL)
    return ART_ENOMEM;
  st->epfd = epoll_create1(EPOLL_CLOEXEC);
  if (st->epfd == -1) {
    int err = -errno;
    art__free(st);
    return err;
  }
  st->batch = NULL;
  st->nbatch = 0;
  loop->backend_data_ = st;
  return 0;
}

static void epoll_close(art_loop_t *loop) {
  epoll_state_t *st = loop->backend_data_;
  art__close_fd(st->epfd);
  art__free(st);
  loop->backend_data_ = NULL;
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

static int epoll_update(art_loop_t *loop, art__io_t *w) {
  epoll_state_t *st = loop->backend_data_;
  struct epoll_event e = {.events = to_epoll(w->events), .data.fd = w->fd};
  int op = w->pevents == 0  ? EPOLL_CTL_ADD
           : w->events == 0 ? EPOLL_CTL_DEL
                            : EPOLL_CTL_MOD;
  if (op == EPOLL_CTL_ADD && w->events == 0)
    return 0;
  int r = epoll_ctl(st->epfd, op, w->fd, &e);
  if (r == -1 && op == EPOLL_CTL_ADD && errno == EEXIST)
    r = epoll_ctl(st->epfd, EPOLL_CTL_MOD, w->fd, &e);
  if (r == -1 && op == EPOLL_CTL_DEL && (errno == ENOENT || errno == EBADF))
    r = 0;
  if (r == -1) {
    w->pevents = 0;
    return -errno;
  }
  w->pevents = w->events;
  return 0;
}

static int epoll_wait_dispatch(art_loop_t *loop, int timeout) {
  epoll_state_t *st = loop->backend_data_;
  int n;
  do
    n = epoll_wait(st->epfd, st->events, BATCH, timeout);
  while (n == -1 && errno == EINTR && timeout == 0);
  if (timeout != 0) /* after blocking, callbacks must see the present */
    art_update_time(loop);
  if (n <= 0)
    return 0;
  st->batch = st->events;
  st->nbatch = n;
  for (int i = 0; i < n; i++) {
    int fd = st->events[i].data.fd;
    if (fd < 0)
      continue; /* invalidated by an earlier callback of this batch */
    if ((unsigned)fd >= loop->nwatchers_ || loop->watchers_[fd] == NULL)
      continue; /* stopped by an earlier callback of this batch: its queued
                   mask change removes it (deleting it here would leave
                   pevents stale, and a restart before the next wait would
                   then never be registered again) */
    art__io_dispatch(loop, fd, from_epoll(st->events[i].events));
  }
  st->batch = NULL;
  st->nbatch = 0;
  return n;
}

static void epoll_invalidate_fd(art_loop_t *loop, int fd) {
  epoll_state_t *st = loop->backend_data_;
  for (int i = 0; i < st->nbatch; i++)
    if (st->batch[i].data.fd == fd)
      st->batch[i].data.fd = -1;
  epoll_ctl(st->epfd, EPOLL_CTL_DEL, fd, NULL);
}

static int epoll_fd(const art_loop_t *loop) {
  const epoll_state_t *st = loop->backend_data_;
  return st->epfd;
}

static int epoll_check_fd(const art_loop_t *loop, int fd) {
  struct stat sb;
  (void)loop;
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
    .wait = epoll_wait_dispatch,
    .invalidate_fd = epoll_invalidate_fd,
    .fd = epoll_fd,
    .check_fd = epoll_check_fd,
};
