/* Cross-thread wakeups: the loop's eventfd, the completion queue that the
 * work pool pushes finished items onto, and art_async_t.
 *
 * One eventfd per loop carries every kind of wakeup, and a wakeup word,
 * loop->wakeup_pending_, says when it must be written:
 *   W_AWAKE    the loop is running and looks at its queues before it next
 *              blocks (set and cleared by the loop only);
 *   W_POSTED   something was posted since the loop last took its queues;
 *   W_WRITTEN  the eventfd was written and the loop has not read it yet;
 *   W_HOT      the loop's last look found work posted while it was awake
 *              (loop only; see art__wakeup_before_wait).
 * A poster pushes its item, then sets W_POSTED, and writes the eventfd only
 * if it is the one that sets W_WRITTEN, which it does only when the loop is
 * not awake. So a poster makes no system call while the loop runs, and a
 * storm of posts at a sleeping loop costs one write. Before the poll phase
 * blocks, the loop clears W_AWAKE with a compare-and-swap that fails if
 * W_POSTED is set: then it runs what was posted instead of blocking. A post
 * either lands before that swap (and is run) or sees W_AWAKE clear (and
 * writes). The loop clears W_WRITTEN only after reading the eventfd: there
 * is at most one unread write, so the loop knows when a zero-timeout wait
 * can find nothing (src/loop.c). Leaving art_run, the loop clears W_AWAKE
 * and writes the eventfd itself if a post is still untaken, so a host
 * polling art_backend_fd sees it.
 *
 * Async handles that were sent are pushed on a lock-free stack (a CAS on
 * loop->async_stack_, async-signal-safe), so delivering a wakeup visits only
 * the handles that were sent, never every async handle of the loop.
 *
 * An async handle's pending_ is one of:
 *   IDLE     not sent since its callback last ran;
 *   BUSY     a sender won the race and is pushing it on the stack;
 *   QUEUED   on the stack or on loop->async_ready_;
 *   CLOSED   closed: sends are ignored.
 * Only senders move IDLE -> BUSY -> QUEUED; only the loop thread moves
 * QUEUED -> IDLE and anything -> CLOSED, so close never frees memory that a
 * sender is still writing.
 *
 * A thread that may still write the eventfd after the loop could have
 * finished with its item or handle (a pool worker posting, a sender after
 * QUEUED) counts itself in loop->wakers_ until the write is done;
 * art__wakeup_close waits for that count to reach zero. The writes happen
 * outside every lock and every BUSY window, so the loop, woken at once on
 * another CPU, never finds a lock still held or a handle still BUSY.
 */
#include <pthread.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "internal.h"
#include "pool/pool.h"

enum { IDLE = 0, BUSY = 1, QUEUED = 2, CLOSED = 3 };

/* Bits of the wakeup word, loop->wakeup_pending_ (see above; defined in
 * internal.h, where the poll phase tests them). */
enum {
  W_WRITTEN = ART__W_WRITTEN,
  W_AWAKE = ART__W_AWAKE,
  W_POSTED = ART__W_POSTED,
  W_HOT = ART__W_HOT
};

/* How long the loop may spin for the next post before it blocks, while
 * posts keep arriving as it runs (W_HOT). A sender on another CPU needs a
 * few cache misses to push its next post once its callback has run, about
 * 0.3-0.6 us on the machines of docs/performance.md, while blocking and
 * being woken costs a write, a read, two waits and a cross-CPU wakeup
 * (about 25 us there). */
#define SPIN_NS 2000

static void wakeup_cb(art_loop_t *loop, art__io_t *w, unsigned events);

int art__wakeup_init(art_loop_t *loop) {
  int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd == -1)
    return -errno;
  loop->wakeup_fd_ = fd;
  loop->wakeup_wfd_ = fd;
  loop->completions_ = NULL;
  art__queue_init(&loop->async_ready_);
  loop->async_stack_ = NULL;
  art__io_init(&loop->wakeup_io_, wakeup_cb, fd);
  int err = art__io_start(loop, &loop->wakeup_io_, ART_READABLE);
  if (err) {
    art__wakeup_close(loop);
    return err;
  }
  return 0;
}

void art__wakeup_close(art_loop_t *loop) {
  /* A poster may still be between its unlock and its eventfd write. */
  while (__atomic_load_n(&loop->wakers_, __ATOMIC_ACQUIRE) != 0)
    sched_yield();
  if (loop->wakeup_fd_ >= 0) {
    art__io_close(loop, &loop->wakeup_io_);
    art__close_fd(loop->wakeup_fd_);
  }
  loop->wakeup_fd_ = loop->wakeup_wfd_ = -1;
}

/* Applies word = (word & ~clear) | set; returns the old word. */
static int word_update(art_loop_t *loop, int clear, int set) {
  int old = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_RELAXED);
  while (!__atomic_compare_exchange_n(&loop->wakeup_pending_, &old,
                                      (old & ~clear) | set, 1, __ATOMIC_ACQ_REL,
                                      __ATOMIC_RELAXED))
    ;
  return old;
}

/* Sets W_POSTED, and writes the eventfd if the loop is not awake and no
 * write is unread. The release half of the swap publishes what the caller
 * pushed before. */
void art__loop_wake(art_loop_t *loop) {
  int old = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_RELAXED);
  int new;
  do
    new = old | W_POSTED | ((old & W_AWAKE) ? 0 : W_WRITTEN);
  while (!__atomic_compare_exchange_n(&loop->wakeup_pending_, &old, new, 1,
                                      __ATOMIC_ACQ_REL, __ATOMIC_RELAXED));
  if (old & (W_AWAKE | W_WRITTEN))
    return;
  uint64_t one = 1;
  ssize_t r;
  do
    r = write(loop->wakeup_wfd_, &one, sizeof(one));
  while (r == -1 && errno == EINTR);
  /* EAGAIN means the counter is already huge: the loop will wake anyway. */
}

/* Pushes c on the loop's completion stack with one CAS (no lock for a
 * worker to wait on, or for the loop to find held when it wakes) and
 * wakes the loop only when the stack was empty: the loop takes the whole
 * stack at once, so one wakeup covers every completion pushed until then
 * (and it costs no write while the loop runs). Until the write is done the
 * poster counts in loop->wakers_: once the loop has run c's callback it may be
 * closed, and art__wakeup_close waits for that count to drop before it frees
 * anything a poster touches. */
void art__loop_post(art_loop_t *loop, art__completion_t *c) {
  __atomic_add_fetch(&loop->wakers_, 1, __ATOMIC_RELAXED);
  art__completion_t *head =
      __atomic_load_n(&loop->completions_, __ATOMIC_RELAXED);
  do
    c->next = head;
  while (!__atomic_compare_exchange_n(&loop->completions_, &head, c, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  if (head == NULL)
    art__loop_wake(loop);
  __atomic_sub_fetch(&loop->wakers_, 1, __ATOMIC_RELEASE);
}

/* Moves every handle on the lock-free stack onto async_ready_ (oldest
 * first). Runs on the loop thread only. */
static void take_async_stack(art_loop_t *loop) {
  art_async_t *a =
      __atomic_exchange_n(&loop->async_stack_, NULL, __ATOMIC_ACQUIRE);
  art__queue_t reversed;
  art__queue_init(&reversed);
  for (; a != NULL; a = a->next_pending_)
    art__queue_insert_head(&reversed, &a->ready_);
  while (!art__queue_empty(&reversed)) {
    art__queue_t *q = art__queue_head(&reversed);
    art__queue_remove(q);
    art__queue_insert_tail(&loop->async_ready_, q);
  }
}

/* Takes the whole completion stack and runs it oldest first. A callback
 * may free or re-post its completion, so the next link is read before. */
static void run_completions(art_loop_t *loop) {
  art__completion_t *c =
      __atomic_exchange_n(&loop->completions_, NULL, __ATOMIC_ACQUIRE);
  art__completion_t *fifo = NULL;
  while (c != NULL) { /* reverse the LIFO stack */
    art__completion_t *next = c->next;
    c->next = fifo;
    fifo = c;
    c = next;
  }
  int batch = art__pool_batch_begin(loop);
  while (fifo != NULL) {
    c = fifo;
    fifo = c->next;
    c->cb(c);
    art__drain(loop);
  }
  art__pool_batch_end(batch);
}

/* QUEUED -> IDLE. A handle still BUSY was pushed by a sender that has not
 * yet marked it QUEUED: wait the few instructions until it has. */
static void rearm(art_async_t *a) {
  int expected = QUEUED;
  while (!__atomic_compare_exchange_n(&a->pending_, &expected, IDLE, 0,
                                      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
    expected = QUEUED;
    sched_yield();
  }
}

static void run_asyncs(art_loop_t *loop) {
  take_async_stack(loop);
  while (!art__queue_empty(&loop->async_ready_)) {
    art__queue_t *q = art__queue_head(&loop->async_ready_);
    art__queue_remove(q);
    art_async_t *a = art__container_of(q, art_async_t, ready_);
    /* Re-arm before the callback: a send made during it runs it again. */
    rearm(a);
    if (a->cb_ != NULL) {
      a->cb_(a);
      art__drain(loop);
    }
  }
}

/* Runs everything posted: completions first, then async callbacks. */
static void run_posted(art_loop_t *loop) {
  run_completions(loop);
  run_asyncs(loop);
}

static void wakeup_cb(art_loop_t *loop, art__io_t *w, unsigned events) {
  uint64_t count;
  ssize_t r;
  (void)events;
  do
    r = read(w->fd, &count, sizeof(count));
  while (r == -1 && errno == EINTR);
  /* That read took the only unread write. Awake from here on, the loop
   * takes later posts without a write; clearing W_POSTED before the drain
   * (a read-modify-write, so the drain's loads cannot pass it) means a post
   * this drain misses sets it again. */
  word_update(loop, W_WRITTEN | W_POSTED, W_AWAKE);
  run_posted(loop);
}

/* Spins up to SPIN_NS for a post; 1 if one came. */
static int spin_for_post(art_loop_t *loop) {
  uint64_t deadline = art_hrtime() + SPIN_NS;
  for (;;) {
    for (int i = 0; i < 16; i++) {
      if (__atomic_load_n(&loop->wakeup_pending_, __ATOMIC_RELAXED) & W_POSTED)
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
 * announced by no write: it runs here and the wait does not block. Before
 * a blocking wait, W_AWAKE is cleared so that the next post writes the
 * eventfd; the swap fails if a post came, and that post runs instead.
 *
 * When the last look found posts made while the loop ran (W_HOT: another
 * thread feeds this loop as fast as it iterates), the loop first spins up
 * to SPIN_NS for the next one. Without that, the loop, faster than the
 * sender's cache misses, blocked just before the post on a fifth to two
 * fifths of an async pummel's callbacks split over two CPUs. A spin that
 * finds nothing clears W_HOT, so an idle loop spins once and then blocks,
 * and a loop woken through the eventfd (the poster ran while it slept)
 * does not spin at all. */
int art__wakeup_before_wait(art_loop_t *loop, int timeout) {
  int s = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_ACQUIRE);
  if (timeout != 0 && (s & (W_HOT | W_POSTED)) == W_HOT && spin_for_post(loop))
    s = __atomic_load_n(&loop->wakeup_pending_, __ATOMIC_ACQUIRE);
  for (;;) {
    if (s & W_POSTED) {
      word_update(loop, W_POSTED, W_HOT);
      run_posted(loop);
      return 0;
    }
    if (timeout == 0)
      return 0;
    if (__atomic_compare_exchange_n(&loop->wakeup_pending_, &s,
                                    s & ~(W_AWAKE | W_HOT), 1, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
      return timeout;
  }
}

/* The blocking wait is over: posters need not write any more. */
void art__wakeup_after_wait(art_loop_t *loop) {
  __atomic_fetch_or(&loop->wakeup_pending_, W_AWAKE, __ATOMIC_ACQ_REL);
}

/* art_run begins: until it ends, posts are taken without a write. */
void art__wakeup_enter(art_loop_t *loop) {
  __atomic_fetch_or(&loop->wakeup_pending_, W_AWAKE, __ATOMIC_ACQ_REL);
}

/* art_run ends: posters must write again. A post the loop has not taken
 * got no write (the loop was awake): write now, so that a host polling
 * art_backend_fd, or the next art_run's wait, sees it. */
void art__wakeup_leave(art_loop_t *loop) {
  if (word_update(loop, W_AWAKE | W_HOT, 0) & W_POSTED)
    art__loop_wake(loop);
}

int art_async_init(art_loop_t *loop, art_async_t *a, art_async_cb cb) {
  if (!art__loop_usable(loop) || a == NULL)
    return ART_EINVAL;
  art__handle_init(loop, (art_handle_t *)a, ART_ASYNC);
  a->cb_ = cb;
  a->pending_ = IDLE;
  a->next_pending_ = NULL;
  art__queue_init(&a->ready_);
  art__handle_start((art_handle_t *)a);
  return 0;
}

int art_async_send(art_async_t *a) {
  if (a == NULL || a->type != ART_ASYNC) /* type never changes: no race */
    return ART_EINVAL;
  int expected = IDLE;
  /* Cheap exit for the common coalesced case: already queued. */
  int state = __atomic_load_n(&a->pending_, __ATOMIC_ACQUIRE);
  if (state == CLOSED)
    return ART_EINVAL;
  if (state != IDLE)
    return 0;
  if (!__atomic_compare_exchange_n(&a->pending_, &expected, BUSY, 0,
                                   __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
    return 0;
  /* BUSY keeps the handle open, hence the loop alive: count as a waker
   * first, so that after QUEUED (when the handle may be closed and freed)
   * the loop is still kept until the eventfd write below is done. */
  art_loop_t *loop = a->loop;
  __atomic_add_fetch(&loop->wakers_, 1, __ATOMIC_RELAXED);
  art_async_t *head = __atomic_load_n(&loop->async_stack_, __ATOMIC_RELAXED);
  do
    a->next_pending_ = head;
  while (!__atomic_compare_exchange_n(&loop->async_stack_, &head, a, 1,
                                      __ATOMIC_RELEASE, __ATOMIC_RELAXED));
  __atomic_store_n(&a->pending_, QUEUED, __ATOMIC_RELEASE);
  art__loop_wake(loop); /* a is not touched any more */
  __atomic_sub_fetch(&loop->wakers_, 1, __ATOMIC_RELEASE);
  return 0;
}

/* Makes a->pending_ CLOSED, taking a off the stack or ready list if a send
 * queued it. Waits out a sender caught between BUSY and QUEUED (a few
 * instructions). */
static void async_retire(art_async_t *a) {
  for (;;) {
    int state = __atomic_load_n(&a->pending_, __ATOMIC_ACQUIRE);
    if (state == CLOSED)
      return;
    if (state == BUSY) {
      sched_yield();
      continue;
    }
    if (state == QUEUED) {
      take_async_stack(a->loop);
      art__queue_remove(&a->ready_);
      __atomic_store_n(&a->pending_, CLOSED, __ATOMIC_RELEASE);
      return;
    }
    int expected = IDLE;
    if (__atomic_compare_exchange_n(&a->pending_, &expected, CLOSED, 0,
                                    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
      return;
  }
}

/* Retired at art_close, and again in the close phase: a send made in
 * between finds CLOSED and does nothing, and one caught half-way is waited
 * out, so the close callback may free the handle. */
static void async_close(art_handle_t *h) {
  async_retire((art_async_t *)h);
}

const art__handle_ops_t art__async_ops = {sizeof(art_async_t), async_close,
                                          async_close};
