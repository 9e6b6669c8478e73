/* The loop's wakeup: one eventfd per loop carries every cross-thread
 * wakeup, and the wake sources behind it.
 *
 * A writer first sets loop->wakeup_pending_; only the writer that flips it
 * from 0 to 1 writes the eventfd, so a storm of wakeups costs one syscall
 * per loop iteration. The loop reads the eventfd, clears the flag, and only
 * then drains its sources, so nothing posted after the drain began can be
 * missed: its poster sees the flag clear and writes again.
 *
 * What other threads hand to the loop waits in a wake source of its owner
 * (the async handles' stack in src/async.c, a pool's completion channel in
 * src/pool/). The core knows sources only as nodes with a drain function,
 * so a new kind of cross-thread traffic (worker channels) plugs in without
 * touching this file.
 *
 * A thread that may still write the eventfd after the loop could have
 * finished with its item counts itself in loop->wakers_ (art__loop_hold)
 * until the write is done; art__wakeup_close waits for that count to reach
 * zero, so a loop can be closed from the very callback a worker just
 * delivered. */
#include <errno.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"

static void wakeup_cb(art_loop_t *loop, art__io_t *w, unsigned events) {
  uint64_t count;
  ssize_t r;
  (void)events;
  do
    r = read(w->fd, &count, sizeof(count));
  while (r == -1 && errno == EINTR);
  /* An exchange, not a store: as a read-modify-write it cannot be ordered
   * after the loads of the sources' queues below, so a poster either sees
   * 0 here and writes the eventfd, or its item is seen by this drain. */
  (void)__atomic_exchange_n(&loop->wakeup_pending_, 0, __ATOMIC_SEQ_CST);
  art__queue_t *q, *next;
  for (q = loop->wake_sources_.next; q != &loop->wake_sources_; q = next) {
    next = q->next;
    art__wake_source_t *src = art__container_of(q, art__wake_source_t, node);
    src->drain(loop, src);
  }
}

int art__wakeup_init(art_loop_t *loop) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd == -1)
    return -errno;
  loop->wakeup_fd_ = fd;
  art__io_init(&loop->wakeup_io_, wakeup_cb, fd);
  int err = art__io_start(loop, &loop->wakeup_io_, ART_READABLE);
  if (err) {
    art__wakeup_close(loop);
    return err;
  }
  return 0;
}

void art__wakeup_close(art_loop_t *loop) {
  /* A poster may still be between its push and its eventfd write. */
  while (__atomic_load_n(&loop->wakers_, __ATOMIC_ACQUIRE) != 0)
    sched_yield();
  if (loop->wakeup_fd_ >= 0) {
    art__io_close(loop, &loop->wakeup_io_);
    art__close_fd(loop->wakeup_fd_);
  }
  loop->wakeup_fd_ = -1;
}

void art__wake_source_add(art_loop_t *loop, art__wake_source_t *src) {
  art__queue_insert_tail(&loop->wake_sources_, &src->node);
}

void art__wake_source_remove(art__wake_source_t *src) {
  art__queue_remove(&src->node);
}

void art__loop_wake(art_loop_t *loop) {
  if (__atomic_exchange_n(&loop->wakeup_pending_, 1, __ATOMIC_ACQ_REL))
    return;
  uint64_t one = 1;
  ssize_t r;
  do
    r = write(loop->wakeup_fd_, &one, sizeof(one));
  while (r == -1 && errno == EINTR);
  /* EAGAIN means the counter is already huge: the loop will wake anyway. */
}
