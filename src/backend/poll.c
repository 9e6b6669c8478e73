/* The portable poller, on poll(2). It proves the backend contract: the whole
 * test suite runs against it with ART_BACKEND=poll.
 *
 * Notes:
 * 1. The pollfd array is the registered set; index_of[fd] finds an fd's
 *    slot so update is O(1). Removal swaps the last slot in.
 * 2. A wait copies the ready slots into the core's batch before it
 *    returns, so removing a slot (swapping the last one in) is always safe:
 *    no loop over the array is running when a callback closes an fd.
 * 3. POLLNVAL means the fd was closed behind the loop's back; it is reported
 *    to the owner as an error event, like a failed epoll_ctl.
 * 4. There is no fd that stands for the whole set, so art_backend_fd gives
 *    ART_ENOTSUP.
 * 5. Memory for an fd is reserved when the fd is first watched (reserve),
 *    not when the change is applied: an allocation failure then surfaces as
 *    ART_ENOMEM from the call that registered the fd, instead of as an error
 *    event with no error code in the poll phase.
 * 6. The wait is ppoll, whose timespec carries the ns timeout of precise
 *    timers that poll(2)'s ms would round up.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <time.h>

#include "backend.h"

typedef struct {
  struct pollfd *fds;
  int *index_of; /* fd -> slot in fds, -1 if none */
  unsigned nfds, cap, index_cap;
} poll_state_t;

static int poll_init(void **state) {
  poll_state_t *st = art__calloc(1, sizeof(*st));
  if (st == NULL)
    return ART_ENOMEM;
  *state = st;
  return 0;
}

static void poll_close(void *state) {
  poll_state_t *st = state;
  art__free(st->fds);
  art__free(st->index_of);
  art__free(st);
}

static short to_poll(unsigned ev) {
  return (short)(((ev & ART_READABLE) ? POLLIN : 0) |
                 ((ev & ART_WRITABLE) ? POLLOUT : 0) |
                 ((ev & ART_DISCONNECT) ? POLLRDHUP : 0) |
                 ((ev & ART_PRIORITIZED) ? POLLPRI : 0));
}

static unsigned from_poll(short ev) {
  return ((ev & POLLIN) ? ART_READABLE : 0) |
         ((ev & POLLOUT) ? ART_WRITABLE : 0) |
         ((ev & POLLRDHUP) ? ART_DISCONNECT : 0) |
         ((ev & POLLPRI) ? ART_PRIORITIZED : 0) |
         ((ev & (POLLERR | POLLHUP | POLLNVAL)) ? ART__IO_ERROR : 0);
}

/* Makes room for `slots` pollfd entries and for fd in index_of. */
static int reserve(poll_state_t *st, int fd, unsigned slots) {
  if (slots > st->cap) {
    unsigned cap = st->cap ? st->cap : 64;
    while (cap < slots)
      cap *= 2;
    struct pollfd *fds = art__realloc(st->fds, cap * sizeof(*fds));
    if (fds == NULL)
      return ART_ENOMEM;
    st->fds = fds;
    st->cap = cap;
  }
  if ((unsigned)fd >= st->index_cap) {
    unsigned cap = st->index_cap ? st->index_cap : 64;
    while (cap <= (unsigned)fd)
      cap *= 2;
    int *idx = art__realloc(st->index_of, cap * sizeof(*idx));
    if (idx == NULL)
      return ART_ENOMEM;
    for (unsigned i = st->index_cap; i < cap; i++)
      idx[i] = -1;
    st->index_of = idx;
    st->index_cap = cap;
  }
  return 0;
}

static int slot_of(const poll_state_t *st, int fd) {
  return (unsigned)fd < st->index_cap ? st->index_of[fd] : -1;
}

static void remove_slot(poll_state_t *st, int fd) {
  int i = slot_of(st, fd);
  if (i < 0)
    return;
  st->index_of[fd] = -1;
  st->fds[i] = st->fds[--st->nfds];
  if ((unsigned)i < st->nfds)
    st->index_of[st->fds[i].fd] = i;
}

static int poll_update(void *state, int fd, unsigned had, unsigned want) {
  poll_state_t *st = state;
  (void)had;
  if (want == 0) {
    remove_slot(st, fd);
    return 0;
  }
  if (fcntl(fd, F_GETFD) == -1) {
    remove_slot(st, fd);
    return -errno;
  }
  int i = slot_of(st, fd);
  if (i < 0) {
    int err = reserve(st, fd, st->nfds + 1);
    if (err)
      return err;
    i = (int)st->nfds++;
    st->fds[i].fd = fd;
    st->index_of[fd] = i;
  }
  st->fds[i].events = to_poll(want);
  st->fds[i].revents = 0;
  return 0;
}

static int poll_wait_events(void *state, int64_t timeout_ns, art__event_t *out,
                            int max) {
  poll_state_t *st = state;
  struct timespec ts = {(time_t)(timeout_ns / 1000000000),
                        (long)(timeout_ns % 1000000000)};
  int n = ppoll(st->fds, st->nfds, timeout_ns < 0 ? NULL : &ts, NULL);
  int k = 0;
  for (unsigned i = 0; i < st->nfds && k < n && k < max; i++) {
    struct pollfd *p = &st->fds[i];
    if (p->revents == 0)
      continue;
    out[k].fd = p->fd;
    out[k].events = from_poll(p->revents);
    out[k].op = NULL;
    p->revents = 0;
    k++;
  }
  return k;
}

/* Called when an fd is first watched. Until the queued changes reach
 * update, the set can hold every slot it has now plus one per registered
 * watcher, so that much is reserved: update then never allocates. */
static int poll_reserve(void *state, int fd, unsigned nfds) {
  poll_state_t *st = state;
  return reserve(st, fd, st->nfds + nfds + 1);
}

static void poll_forget_fd(void *state, int fd) {
  remove_slot(state, fd);
}

static int poll_fd(const void *state) {
  (void)state;
  return ART_ENOTSUP;
}

static int poll_check_fd(const void *state, int fd) {
  (void)state;
  (void)fd;
  return 0; /* poll(2) accepts every kind of fd */
}

const art__backend_ops_t art__backend_poll = {
    .name = "poll",
    .init = poll_init,
    .close = poll_close,
    .update = poll_update,
    .wait = poll_wait_events,
    .forget_fd = poll_forget_fd,
    .fd = poll_fd,
    .check_fd = poll_check_fd,
    .reserve = poll_reserve,
};
