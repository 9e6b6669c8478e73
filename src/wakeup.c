/* The loop's wakeup: one eventfd per loop carries every cross-thread
 * wakeup, and the wake sources behind it.
 *
 * A wakeup word, loop->wakeup_pending_, says when the eventfd must be
 * written (its bits, ART__W_*, are in src/internal.h):
 *   AWAKE    the loop is running and looks at its sources before it next
 *            blocks (set and cleared by the loop only);
 *   POSTED   something was posted since the loop last took its sources;
 *   WRITTEN  the eventfd was written and the loop has not read it yet;
 *   HOT      the loop's last look found work posted while it was awake
 *            (loop only; see art__wakeup_before_wait).
 * A poster pushes its item, then sets POSTED, and writes the eventfd only
 * if it is the one that sets WRITTEN, which it does only when the loop is
 * not awake. So a poster makes no system call while the loop runs, and a
 * storm of posts at a sleeping loop costs one write. Before the poll phase
 * blocks, the loop clears AWAKE with a compare-and-swap that fails if
 * POSTED is set: then it drains instead of blocking. A post either lands
 * before that swap (and is drained) or sees AWAKE clear (and writes). The
 * loop clears WRITTEN only after reading the eventfd: there is at most one
 * unread write, so the loop knows when a zero-timeout wait can find
 * nothing (src/loop.c). Leaving art_run, the loop clears AWAKE and writes
 * the eventfd itself if a post is still untaken, so a host polling
 * art_backend_fd sees it. docs/performance.md has the measurements that
 * led here: with the plain "write when the flag flips" protocol, a sender
 * on the other CPU lost the race to a loop about to block on up to half of
 * its sends, and each lost race cost a cross-CPU wakeup.
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

/* How long the loop may spin for the next post before it blocks, while
 * posts keep arriving as it runs (HOT). A sender on another CPU needs a
 * few cache misses to push its next post once its callback has run, about
 * 0.3-0.6 us on the machines of docs/performance.md, while blocking and
 * being woken costs a write, a read, two waits and a cross-CPU wakeup
 * (about 25 us there). */
#define SPIN_NS 2000

/* Applies word = (word & ~clear) | set; returns the old word. */
static int word_update(art_loop_t *loop, int clear, int set) {
  int old = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(&loop->wakeup_pending_, &old,
                                      (old & ~clear) | set, 1, __ATOMIC_ACQ_REL,
                                      __ATOMIC_RELAXED))
    ;
  return old;
}

/* Drains every source, in the order they were added. */
static void drain_sources(art_loop_t *loop) {
  art__queue_t *q, *next;
  for (q = loop->wake_sources_.next; q != &loop->wake_sources_; q = next) {
    next = q->next;
    art__wake_source_t *src = art__container_of(q, art__wake_source_t, node);
    src->drain(loop, src);
  }
}

static void wakeup_cb(art_loop_t *loop, art__io_t *w, unsigned events) {
  uint64_t count;
  ssize_t r;
  (void)events;
  do
    r = read(w->fd, &count, sizeof(count));
  while (r == -1 && errno == EINTR);
  /* That read took the only unread write. Awake from here on, the loop
   * takes later posts without a write; clearing POSTED before the drain
   * (a read-modify-write, so the drain's loads cannot pass it) means a post
   * this drain misses sets it again. POSTED already clear means the wait's
   * own check drained what this write announced (art_run's end writes for
   * a post it did not take, and the next art_run drains it before waiting):
   * nothing new to drain. */
  if (word_update(loop, ART__W_WRITTEN | ART__W_POSTED, ART__W_AWAKE) &
      ART__W_POSTED)
    drain_sources(loop);
}

/* The eventfd reaches the backend now rather than in the first poll phase:
 * a host polling art_backend_fd then sees wakeups (and art_backend_timeout
 * need not say 0) before the loop has ever run, and a backend that refuses
 * it fails art_loop_init. Its mask never changes afterwards, so no later
 * refusal can silence it. */
int art__wakeup_init(art_loop_t *loop) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd == -1)
    return -errno;
  loop->wakeup_fd_ = fd;
  art__io_init(&loop->wakeup_io_, wakeup_cb, fd);
  int err = art__io_start_now(loop, &loop->wakeup_io_, ART_READABLE);
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

int art__wakeup_fork(art_loop_t *loop) {
  int fd = eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd == -1)
    return -errno;
  /* The old eventfd is the parent's too: closed here, never read. Its
   * watcher has nothing registered in the new backend. */
  art__io_close(loop, &loop->wakeup_io_);
  art__close_fd(loop->wakeup_fd_);
  loop->wakeup_fd_ = fd;
  /* No other thread exists in the child: nobody holds the loop, and the
   * one write the new eventfd starts with is WRITTEN. */
  __atomic_store_n(&loop->wakers_, 0, __ATOMIC_RELAXED);
  __atomic_store_n(&loop->wakeup_pending_, ART__W_POSTED | ART__W_WRITTEN,
                   __ATOMIC_RELAXED);
  art__io_init(&loop->wakeup_io_, wakeup_cb, fd);
  return art__io_start_now(loop, &loop->wakeup_io_, ART_READABLE);
}

void art__wake_source_add(art_loop_t *loop, art__wake_source_t *src) {
  art__queue_insert_tail(&loop->wake_sources_, &src->node);
}

void art__wake_source_remove(art__wake_source_t *src) {
  art__queue_remove(&src->node);
}

/* Sets POSTED, and writes the eventfd if the loop is not awake and no
 * write is unread. The release half of the swap publishes what the caller
 * pushed before. */
void art__loop_wake(art_loop_t *loop) {
  int old = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_RELAXED);
  int new;
  do
    new = old | ART__W_POSTED | ((old & ART__W_AWAKE) ? 0 : ART__W_WRITTEN);
  while (!__atomic_compare_exchange_n(&loop->wakeup_pending_, &old, new, 1,
                                      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
  if (old & (ART__W_AWAKE | ART__W_WRITTEN))
    return;
  uint64_t one = 1;
  ssize_t r;
  int saved = errno; /* art_async_send may run in a signal handler */
  do
    r = write(loop->wakeup_fd_, &one, sizeof(one));
  while (r == -1 && errno == EINTR);
  /* EAGAIN means the counter is already huge: the loop will wake anyway. */
  errno = saved;
}

/* Spins up to SPIN_NS for a post; 1 if one came. */
static int spin_for_post(art_loop_t *loop) {
  uint64_t deadline = art_hrtime() + SPIN_NS;
  for (;;) {
    for (int i = 0; i < 16; i++) {
      if (__atomic_load_n(&loop->wakeup_pending_, __ATOMIC_RELAXED) &
          ART__W_POSTED)
        return 1;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#elif defined(__aarch64__)
      __asm__ __volatile__("yield");
#endif
    }
    if (art_hrtime() >= deadline)
      return 0;
  }
}

/* The poll phase calls this with the timeout it means to wait and waits
 * for what this returns. Work posted while the loop was awake was
 * announced by no write: it is drained here and the wait does not block.
 * Before a blocking wait, AWAKE is cleared so that the next post writes
 * the eventfd; the swap fails if a post came, and that post is drained
 * instead.
 *
 * When the last look found posts made while the loop ran (HOT: another
 * thread feeds this loop as fast as it iterates), the loop first spins up
 * to SPIN_NS for the next one. Without that, the loop, faster than the
 * sender's cache misses, blocked just before the post on a fifth to two
 * fifths of an async pummel's callbacks split over two CPUs. A spin that
 * finds nothing clears HOT, so an idle loop spins once and then blocks,
 * and a loop woken through the eventfd (the poster ran while it slept)
 * does not spin at all. */
int64_t art__wakeup_before_wait(art_loop_t *loop, int64_t timeout) {
  int s = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_ACQUIRE);
  if (timeout != 0 && (s & (ART__W_HOT | ART__W_POSTED)) == ART__W_HOT &&
      spin_for_post(loop))
    s = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_ACQUIRE);
  for (;;) {
    if (s & ART__W_POSTED) {
      word_update(loop, ART__W_POSTED, ART__W_HOT);
      drain_sources(loop);
      return 0;
    }
    if (timeout == 0)
      return 0;
    if (__atomic_compare_exchange_n(&loop->wakeup_pending_, &s,
                                    s & ~(ART__W_AWAKE | ART__W_HOT), 1,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return timeout;
  }
}

/* art_run begins: until it ends, posts are taken without a write. */
void art__wakeup_enter(art_loop_t *loop) {
  if (art__wakeup_in_use(loop))
    __atomic_fetch_or(&loop->wakeup_pending_, ART__W_AWAKE, __ATOMIC_ACQ_REL);
}

/* art_run ends: posters must write again. A post the loop has not taken
 * got no write (the loop was awake): write now, so that a host polling
 * art_backend_fd, or the next art_run's wait, sees it. */
void art__wakeup_leave(art_loop_t *loop) {
  /* Not awake: posters have been writing, nothing to hand over. */
  if (!(__atomic_load_n(&loop->wakeup_pending_, __ATOMIC_RELAXED) &
        ART__W_AWAKE))
    return;
  if (word_update(loop, ART__W_AWAKE | ART__W_HOT, 0) & ART__W_POSTED)
    art__loop_wake(loop);
}
