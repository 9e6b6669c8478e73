/* art_poll_t: watch any fd the user owns. */
#include <fcntl.h>

#include "internal.h"

ART__DECLARE_HANDLE_OPS(poll);

static void poll_io_cb(art_loop_t *loop, art__io_t *w, unsigned events) {
  art_poll_t *p = art__container_of(w, art_poll_t, io_);
  int status = 0;
  if (events & ART__IO_REFUSED) {
    /* The backend refused the watcher (the fd was closed under it, or
     * the kernel is out of memory): reported once, with the reason, and
     * stopped, since no event can come. */
    art_poll_stop(p);
    ART__CALLBACK(p, p->cb_, (p, w->error, 0));
    return;
  }
  if (events & ART__IO_ERROR) {
    /* An fd closed under a registered watcher is reported once as EBADF
     * and stopped; HUP/ERR on a live fd is just an event for the user's
     * own read or write to discover. */
    if (fcntl(w->fd, F_GETFD) == -1) {
      status = ART_EBADF;
      art_poll_stop(p);
    }
    events &= ~ART__IO_ERROR;
  }
  ART__CALLBACK(p, p->cb_, (p, status, (int)events));
}

int art_poll_init(art_loop_t *loop, art_poll_t *p, int fd) {
  if (!art__loop_usable(loop) || p == NULL)
    return ART_EINVAL;
  if (fd < 0 || fcntl(fd, F_GETFD) == -1)
    return ART_EBADF;
  int err = art__io_check_fd(loop, fd);
  if (err)
    return err;
  art__handle_init(loop, (art_handle_t *)p, &art__poll_ops);
  p->cb_ = NULL;
  art__io_init(&p->io_, poll_io_cb, fd);
  return 0;
}

int art_poll_start(art_poll_t *p, int events, art_poll_cb cb) {
  const int all =
      ART_READABLE | ART_WRITABLE | ART_DISCONNECT | ART_PRIORITIZED;
  if (!art__handle_usable((art_handle_t *)p) || p->type != ART_POLL ||
      cb == NULL || (events & ~all) != 0)
    return ART_EINVAL;
  if (events == 0)
    return art_poll_stop(p);
  art__io_stop(p->loop, &p->io_, (unsigned)all & ~(unsigned)events);
  int err = art__io_start(p->loop, &p->io_, (unsigned)events);
  if (err)
    return err;
  p->cb_ = cb;
  art__handle_capture((art_handle_t *)p);
  art__handle_start((art_handle_t *)p);
  return 0;
}

int art_poll_stop(art_poll_t *p) {
  if (!art__handle_is((art_handle_t *)p, ART_POLL))
    return ART_EINVAL;
  if (!art__handle_usable((art_handle_t *)p))
    return 0; /* art_close stopped it */
  art__io_stop(p->loop, &p->io_, ~0u);
  art__handle_stop((art_handle_t *)p);
  return 0;
}

static void poll_close(art_handle_t *h) {
  art_poll_t *p = (art_poll_t *)h;
  art__io_close(p->loop, &p->io_);
}

static int poll_fd(const art_handle_t *h) {
  return ((const art_poll_t *)h)->io_.fd;
}

const art__handle_ops_t art__poll_ops = {
    ART_POLL, "poll", sizeof(art_poll_t), poll_close, NULL, poll_fd, NULL};
