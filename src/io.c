/* io watchers: the link between an fd owner (poll handle, stream, udp...)
 * and the backend.
 *
 * An owner states the events it wants; the change is queued on the loop and
 * reaches the backend once, at the start of the poll phase, and only if the
 * wanted mask differs from what the backend has. That keeps epoll_ctl out of
 * the common read/write path entirely. */
#include <string.h>

#include "internal.h"

void art__io_init(art__io_t *w, art__io_cb cb, int fd) {
  w->cb = cb;
  w->fd = fd;
  w->events = 0;
  w->pevents = 0;
  art__queue_init(&w->change);
}

/* Makes room in loop->watchers_ for fd. Growth happens only here, when an fd
 * is first registered, never in the poll path. */
static int reserve_fd(art_loop_t *loop, int fd) {
  if ((unsigned)fd < loop->nwatchers_)
    return 0;
  unsigned n = loop->nwatchers_ ? loop->nwatchers_ : 64;
  while (n <= (unsigned)fd)
    n *= 2;
  art__io_t **w = art__realloc(loop->watchers_, n * sizeof(*w));
  if (w == NULL)
    return ART_ENOMEM;
  memset(w + loop->nwatchers_, 0, (n - loop->nwatchers_) * sizeof(*w));
  loop->watchers_ = w;
  loop->nwatchers_ = n;
  return 0;
}

static void note_change(art_loop_t *loop, art__io_t *w) {
  if (w->events != w->pevents) {
    if (art__queue_empty(&w->change))
      art__queue_insert_tail(&loop->watcher_changes_, &w->change);
  } else {
    art__queue_remove(&w->change);
  }
}

int art__io_start(art_loop_t *loop, art__io_t *w, unsigned events) {
  if (w->fd < 0)
    return ART_EBADF;
  int err = reserve_fd(loop, w->fd);
  if (err)
    return err;
  art__io_t *cur = loop->watchers_[w->fd];
  if (cur != NULL && cur != w)
    return ART_EEXIST;
  if (cur == NULL) {
    if (loop->backend_->reserve != NULL &&
        (err = loop->backend_->reserve(loop, w->fd)) != 0)
      return err;
    loop->watchers_[w->fd] = w;
    loop->nfds_++;
  }
  w->events |= events;
  note_change(loop, w);
  return 0;
}

void art__io_stop(art_loop_t *loop, art__io_t *w, unsigned events) {
  w->events &= ~events;
  if (w->events == 0 && w->fd >= 0 && (unsigned)w->fd < loop->nwatchers_ &&
      loop->watchers_[w->fd] == w) {
    loop->watchers_[w->fd] = NULL;
    loop->nfds_--;
  }
  note_change(loop, w);
}

void art__io_close(art_loop_t *loop, art__io_t *w) {
  art__io_stop(loop, w, ~0u);
  art__queue_remove(&w->change);
  if (w->fd >= 0 && w->pevents != 0)
    loop->backend_->invalidate_fd(loop, w->fd);
  w->pevents = 0;
}

int art__io_active(const art__io_t *w, unsigned events) {
  return (w->events & events) != 0;
}

/* Called by the backend for each ready fd. Events nobody asked for are
 * dropped, except errors, which go to the owner with the events it wanted so
 * that its own read or write finds out what happened. */
void art__io_dispatch(art_loop_t *loop, int fd, unsigned events) {
  if (fd < 0 || (unsigned)fd >= loop->nwatchers_)
    return;
  art__io_t *w = loop->watchers_[fd];
  if (w == NULL)
    return;
  if (events & ART__IO_ERROR)
    events |= w->events & (ART_READABLE | ART_WRITABLE);
  events &= w->events | ART__IO_ERROR;
  if (events == 0)
    return;
  loop->metrics_.events++;
  w->cb(loop, w, events);
  art__drain(loop);
}
