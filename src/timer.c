/* Timers. A started timer has one entry in the loop's array heap (heap.h).
 *
 * Stopping and re-arming are lazy. art_timer_stop only marks the timer
 * inactive, and art_timer_start with a deadline not earlier than the one
 * its entry holds only rewrites the timer's own (due_, seq_). The entry
 * keeps its old, smaller key; when it reaches the top of the heap it is
 * settled: dropped if the timer is stopped, re-keyed and sifted down if the
 * timer was re-armed. This makes the idle-timeout pattern of busy sockets
 * (stop and start again a little later, millions of times) O(1) instead of
 * two O(log n) heap operations. Invariant: every active timer not on the
 * deferred list has exactly one entry, whose key is <= the timer's own key,
 * so a settled top is the true minimum. A timer has at most one entry, so
 * the capacity reserved at init (one slot per timer) always suffices.
 *
 * The timers phase pops and runs due timers one at a time. A timer started
 * or re-armed from a callback gets a start counter >= the one recorded at
 * the start of the phase and waits for the next iteration, so a
 * zero-timeout timer cannot starve I/O. A repeating timer that fell so far
 * behind that its next deadline has already passed is parked on the
 * deferred list until the phase ends: it runs again in the next iteration,
 * catching up one run per iteration. The list is a stack of slot numbers
 * (loop->timer_deferred_, then each timer's deferred_next_) and removal is
 * lazy: stopping, restarting or closing a deferred timer clears its
 * ART__T_DEFERRED flag, and the end of the phase skips it. It cannot be
 * deferred twice in one phase (its new start counter keeps it from running
 * again), and its slot and memory stay valid until the close phase.
 *
 * Deadlines are in ns of the loop's clock (art__loop_clock_ns). A timer
 * started in ms is due at a whole ms, so comparing its deadline with the
 * cached ns time gives the same answer as comparing ms with ms did. Three
 * ways of starting differ only in where the deadline counts from and in
 * how a repeat is re-armed (the ART__T_NS and ART__T_NODE flags):
 * - ms (art_timer_start): from the cached ms time; a repeat is re-armed
 *   from its deadline before its callback runs (libuv);
 * - ns (art_timer_start_ns): from the clock read at the call, to the ns;
 *   repeats as ms timers do;
 * - Node (art_timer_start_node): from the clock read at the call, in whole
 *   ms, without moving the cached time, so a timer that becomes due while
 *   the phase runs still waits for the next iteration. An interval stays
 *   out of the heap (active, so the loop stays alive) while its callback
 *   runs and is re-armed after it returns, from the clock read just before
 *   it began (Node's setInterval): a timer started by that callback with
 *   the same deadline got an earlier start counter and runs first. */
#include <string.h>

#include "heap.h"

ART__DECLARE_HANDLE_OPS(timer);

#define NOT_IN_HEAP UINT32_MAX
#define MAX_TIMERS  (UINT32_MAX - 1)
#define NS_PER_MS   1000000u
/* Node's TIMEOUT_MAX: a longer delay, like a shorter than 1 ms, means 1. */
#define NODE_TIMEOUT_MAX 2147483647u
/* The longest poll timeout, ns (about 146 years): keeps it an int64_t. */
#define MAX_WAIT_NS ((int64_t)1 << 62)

/* Timer flags (handle->flags_): how it was last started (neither kind
 * flag: art_timer_start), and whether it waits on the deferred list. */
enum {
  ART__T_NS = 1u << (ART__H_TYPE_SHIFT + 0),
  ART__T_NODE = 1u << (ART__H_TYPE_SHIFT + 1),
  ART__T_DEFERRED = 1u << (ART__H_TYPE_SHIFT + 2)
};
#define ART__T_KIND     (ART__T_NS | ART__T_NODE)
#define ART__TIMER_MS   0u
#define ART__TIMER_NS   ART__T_NS
#define ART__TIMER_NODE ART__T_NODE

static uint64_t add_sat(uint64_t a, uint64_t b) {
  return b > UINT64_MAX - a ? UINT64_MAX : a + b;
}

/* ms in ns, saturated: a timeout too long to express never ends. */
static uint64_t ms_to_ns(uint64_t ms) {
  return ms > UINT64_MAX / NS_PER_MS ? UINT64_MAX : ms * NS_PER_MS;
}

static uint64_t floor_ms(uint64_t ns) {
  return ns / NS_PER_MS * NS_PER_MS;
}

/* Grows the three slot-indexed arrays to cap entries. An array already
 * grown stays grown if a later one fails; only timer_cap_ says what all three
 * hold. The new part of the heap array is written once here, so that its
 * pages are faulted in by init and not later by art_timer_start (the slot
 * and position arrays are written by init anyway). */
static int grow_slots(art_loop_t *loop, size_t cap) {
  void *p = art__realloc(loop->timer_heap_, cap * sizeof(art__heap_entry_t));
  if (p == NULL)
    return ART_ENOMEM;
  loop->timer_heap_ = p;
  memset(loop->timer_heap_ + loop->timer_cap_, 0,
         (cap - loop->timer_cap_) * sizeof(art__heap_entry_t));
  p = art__realloc(loop->timer_slots_, cap * sizeof(art_timer_t *));
  if (p == NULL)
    return ART_ENOMEM;
  loop->timer_slots_ = p;
  p = art__realloc(loop->timer_pos_, cap * sizeof(uint32_t));
  if (p == NULL)
    return ART_ENOMEM;
  loop->timer_pos_ = p;
  loop->timer_cap_ = cap;
  return 0;
}

/* A slot for a new timer: a freed one, else the next unused one. */
static int take_slot(art_loop_t *loop, uint32_t *slot) {
  if (loop->timer_free_ != 0) {
    *slot = loop->timer_free_ - 1;
    loop->timer_free_ = loop->timer_pos_[*slot];
    return 0;
  }
  if (loop->timer_reserved_ == MAX_TIMERS)
    return ART_ENOMEM;
  if (loop->timer_reserved_ == loop->timer_cap_) {
    size_t cap = loop->timer_cap_ ? loop->timer_cap_ * 2 : 16;
    int err = grow_slots(loop, cap < MAX_TIMERS ? cap : MAX_TIMERS);
    if (err)
      return err;
  }
  *slot = (uint32_t)loop->timer_reserved_++;
  return 0;
}

int art_timer_init(art_loop_t *loop, art_timer_t *t) {
  uint32_t slot;
  if (!art__loop_usable(loop) || t == NULL)
    return ART_EINVAL;
  int err = take_slot(loop, &slot);
  if (err)
    return err;
  loop->timer_slots_[slot] = t;
  loop->timer_pos_[slot] = NOT_IN_HEAP;
  art__handle_init(loop, (art_handle_t *)t, &art__timer_ops);
  t->cb_ = NULL;
  t->due_ = 0;
  t->seq_ = 0;
  t->repeat_ = 0;
  t->timeout_ = 0;
  t->slot_ = slot;
  t->deferred_next_ = 0;
  return 0;
}

/* Takes t off the deferred list if it is there; a read only otherwise, to
 * keep the common start path from dirtying one more cache line. */
static void undefer(art_timer_t *t) {
  if (t->flags_ & ART__T_DEFERRED)
    t->flags_ &= ~ART__T_DEFERRED;
}

static art__heap_entry_t entry_of(const art_timer_t *t) {
  art__heap_entry_t e = {t->due_, t->seq_, t->slot_};
  return e;
}

/* Gives t the deadline due and a fresh start counter, and makes its heap
 * entry (or deferred-list place) agree with the invariant above. */
static void schedule(art_loop_t *loop, art_timer_t *t, uint64_t due) {
  t->due_ = due;
  t->seq_ = loop->timer_seq_++;
  undefer(t);
  uint32_t i = loop->timer_pos_[t->slot_];
  if (i == NOT_IN_HEAP)
    art__heap_push(loop, entry_of(t));
  else if (due < loop->timer_heap_[i].due) /* earlier: fix the entry now */
    art__heap_sift_up(loop, i, entry_of(t));
  art__handle_start((art_handle_t *)t);
}

static int startable(const art_timer_t *t, art_timer_cb cb) {
  return art__handle_usable((const art_handle_t *)t) && t->type == ART_TIMER &&
         cb != NULL;
}

/* A timer that was started once and can be started again. */
static int restartable(const art_timer_t *t) {
  return art__handle_usable((const art_handle_t *)t) && t->type == ART_TIMER &&
         t->cb_ != NULL;
}

/* Starts t from base (ns) with the given kind; timeout and repeat in ns. */
static void arm(art_timer_t *t, art_timer_cb cb, uint64_t base,
                uint64_t timeout, uint64_t repeat, unsigned kind) {
  t->cb_ = cb;
  t->repeat_ = repeat;
  t->timeout_ = timeout;
  t->flags_ = (t->flags_ & ~ART__T_KIND) | kind;
  art__handle_capture((art_handle_t *)t);
  schedule(t->loop, t, add_sat(base, timeout));
}

int art_timer_start(art_timer_t *t, art_timer_cb cb, uint64_t timeout,
                    uint64_t repeat) {
  if (!startable(t, cb))
    return ART_EINVAL;
  arm(t, cb, t->loop->time_ * NS_PER_MS, ms_to_ns(timeout), ms_to_ns(repeat),
      ART__TIMER_MS);
  return 0;
}

int art_timer_start_ns(art_timer_t *t, art_timer_cb cb, uint64_t timeout_ns,
                       uint64_t repeat_ns) {
  if (!startable(t, cb))
    return ART_EINVAL;
  arm(t, cb, art__loop_clock_ns(t->loop), timeout_ns, repeat_ns, ART__TIMER_NS);
  return 0;
}

/* Node's coercion of a delay: below 1 ms or above TIMEOUT_MAX, 1 ms. */
static uint64_t node_delay(uint64_t ms) {
  return ms < 1 || ms > NODE_TIMEOUT_MAX ? 1 : ms;
}

int art_timer_start_node(art_timer_t *t, art_timer_cb cb, uint64_t delay,
                         int interval) {
  if (!startable(t, cb))
    return ART_EINVAL;
  uint64_t ns = node_delay(delay) * NS_PER_MS;
  arm(t, cb, floor_ms(art__loop_clock_ns(t->loop)), ns, interval ? ns : 0,
      ART__TIMER_NODE);
  return 0;
}

/* Starts t again with the timeout and repeat of its last start, counted
 * from where that kind of start counts. */
int art_timer_refresh(art_timer_t *t) {
  if (!restartable(t))
    return ART_EINVAL;
  uint64_t base;
  if ((t->flags_ & ART__T_KIND) == ART__TIMER_MS)
    base = t->loop->time_ * NS_PER_MS;
  else if (t->flags_ & ART__T_NS)
    base = art__loop_clock_ns(t->loop);
  else
    base = floor_ms(art__loop_clock_ns(t->loop));
  art__handle_capture((art_handle_t *)t);
  schedule(t->loop, t, add_sat(base, t->timeout_));
  return 0;
}

/* Lazy: the heap entry, if any, is dropped when it reaches the top. */
int art_timer_stop(art_timer_t *t) {
  if (!art__handle_is((art_handle_t *)t, ART_TIMER))
    return ART_EINVAL;
  if (!art__handle_usable((art_handle_t *)t))
    return 0; /* art_close stopped it; its heap slot may be gone */
  undefer(t);
  art__handle_stop((art_handle_t *)t);
  return 0;
}

int art_timer_again(art_timer_t *t) {
  if (!restartable(t))
    return ART_EINVAL;
  if (t->repeat_ == 0)
    return art_timer_stop(t);
  t->timeout_ = t->repeat_;
  return art_timer_refresh(t);
}

void art_timer_set_repeat(art_timer_t *t, uint64_t repeat) {
  if (t != NULL && t->type == ART_TIMER)
    t->repeat_ = ms_to_ns(repeat);
}

uint64_t art_timer_get_repeat(const art_timer_t *t) {
  return t == NULL || t->type != ART_TIMER ? 0 : t->repeat_ / NS_PER_MS;
}

/* Rounded up, so that a timer due in 0.2 ms is not said to be due. */
uint64_t art_timer_get_due_in(const art_timer_t *t) {
  if (t == NULL || t->type != ART_TIMER || !(t->flags_ & ART__H_ACTIVE) ||
      t->due_ <= t->loop->time_ns_)
    return 0;
  uint64_t left = t->due_ - t->loop->time_ns_;
  return left / NS_PER_MS + (left % NS_PER_MS != 0);
}

/* Closing is eager: the memory may be reused from the close callback, so no
 * entry may point at it afterwards. */
static void timer_close(art_handle_t *h) {
  art_timer_t *t = (art_timer_t *)h;
  art_loop_t *loop = h->loop;
  uint32_t i = loop->timer_pos_[t->slot_];
  if (i != NOT_IN_HEAP) {
    art__heap_remove(loop, i);
    loop->timer_pos_[t->slot_] = NOT_IN_HEAP;
  }
  undefer(t);
}

/* The slot taken at init is given back only now, so the heap never holds
 * more entries than its capacity. */
static void timer_endgame(art_handle_t *h) {
  art_timer_t *t = (art_timer_t *)h;
  art_loop_t *loop = h->loop;
  loop->timer_slots_[t->slot_] = NULL;
  loop->timer_pos_[t->slot_] = loop->timer_free_;
  loop->timer_free_ = t->slot_ + 1;
}

const art__handle_ops_t art__timer_ops = {
    ART_TIMER, "timer", sizeof(art_timer_t), timer_close, timer_endgame,
    NULL,      NULL};

/* Removes the root's entry from the heap. */
static void pop_root(art_loop_t *loop, art_timer_t *t) {
  art__heap_pop(loop);
  loop->timer_pos_[t->slot_] = NOT_IN_HEAP;
}

/* Settles the top of the heap (see the note at the top of the file) and
 * returns its timer, or NULL when the heap is empty. */
static art_timer_t *settled_top(art_loop_t *loop) {
  while (loop->timer_count_ > 0) {
    const art__heap_entry_t *top = &loop->timer_heap_[0];
    art_timer_t *t = loop->timer_slots_[top->slot];
    if (!(t->flags_ & ART__H_ACTIVE))
      pop_root(loop, t); /* stopped */
    else if (top->seq != t->seq_)
      art__heap_sift_down(loop, 0, entry_of(t));
    else
      return t;
  }
  return NULL;
}

/* Before running a repeating timer: its next deadline counts from the one
 * it was due at. One already past waits on the deferred list. */
static void reschedule_repeat(art_loop_t *loop, art_timer_t *t) {
  uint64_t due = add_sat(t->due_, t->repeat_);
  if (due >= loop->time_ns_) {
    schedule(loop, t, due);
    return;
  }
  t->due_ = due;
  t->seq_ = loop->timer_seq_++;
  t->flags_ |= ART__T_DEFERRED;
  t->deferred_next_ = loop->timer_deferred_;
  loop->timer_deferred_ = t->slot_ + 1;
}

/* Puts the timers parked by reschedule_repeat back into the heap. */
static void requeue_deferred(art_loop_t *loop) {
  uint32_t next = loop->timer_deferred_;
  loop->timer_deferred_ = 0;
  while (next != 0) {
    art_timer_t *t = loop->timer_slots_[next - 1];
    next = t->deferred_next_;
    if (t->flags_ & ART__T_DEFERRED) {
      t->flags_ &= ~ART__T_DEFERRED;
      art__heap_push(loop, entry_of(t));
    }
  }
}

/* Counts how late t runs against its deadline: the loop's lag metric. */
static inline void note_lag(art_loop_t *loop, const art_timer_t *t) {
  uint64_t lag = (loop->time_ns_ - t->due_) / NS_PER_MS;
  loop->metrics_.timers_fired++;
  loop->metrics_.timer_lag_sum_ms += lag;
  if (lag > loop->metrics_.timer_lag_max_ms)
    loop->metrics_.timer_lag_max_ms = lag;
}

/* Runs a Node interval's callback, then re-arms it from the clock read
 * just before the callback began, unless the callback (or a tick or
 * microtask after it) stopped, restarted or closed it. */
static void run_node_interval(art_loop_t *loop, art_timer_t *t) {
  uint64_t start = floor_ms(art__loop_clock_ns(loop));
  uint64_t seq = t->seq_;
  ART__CALLBACK(t, t->cb_, (t));
  if (art__handle_usable((art_handle_t *)t) && (t->flags_ & ART__H_ACTIVE) &&
      t->seq_ == seq)
    schedule(loop, t, add_sat(start, t->repeat_));
}

/* The timers phase: runs every timer due now in (deadline, start order)
 * order, except those started during this phase. */
void art__run_timers(art_loop_t *loop) {
  if (loop->timer_count_ == 0)
    return; /* the deferred list fills only inside this function */
  uint64_t limit = loop->timer_seq_;
  art_timer_t *t;
  while ((t = settled_top(loop)) != NULL && t->due_ <= loop->time_ns_ &&
         t->seq_ < limit) {
    pop_root(loop, t);
    note_lag(loop, t);
    if (t->repeat_ == 0) {
      art__handle_stop((art_handle_t *)t);
    } else if (t->flags_ & ART__T_NODE) {
      run_node_interval(loop, t);
      continue;
    } else {
      reschedule_repeat(loop, t);
    }
    ART__CALLBACK(t, t->cb_, (t));
  }
  requeue_deferred(loop);
}

/* ns until the earliest timer is due: 0 if one is due, -1 if none. Settles
 * the top first, so a stopped or pushed-back timer never wakes the loop.
 * For an ns or Node timer the clock is read again: the phases since the
 * cached time was taken count, so its wait ends at its deadline and not
 * that much later. An art_timer_start timer keeps libuv's rule (the wait
 * counts from the cached time) and costs no clock read. */
int64_t art__next_timeout(art_loop_t *loop) {
  art_timer_t *t = settled_top(loop);
  if (t == NULL)
    return -1;
  if (t->due_ <= loop->time_ns_)
    return 0;
  uint64_t now = loop->time_ns_;
  if ((t->flags_ & ART__T_KIND) != ART__TIMER_MS &&
      t->due_ <= (now = art__loop_clock_ns(loop)))
    return 0;
  uint64_t left = t->due_ - now;
  return left > (uint64_t)MAX_WAIT_NS ? MAX_WAIT_NS : (int64_t)left;
}

int art__next_due(art_loop_t *loop, uint64_t *due) {
  art_timer_t *t = settled_top(loop);
  if (t == NULL)
    return -1;
  *due = t->due_;
  return 0;
}

void art__timers_free(art_loop_t *loop) {
  art__free(loop->timer_heap_);
  art__free(loop->timer_slots_);
  art__free(loop->timer_pos_);
  loop->timer_heap_ = NULL;
  loop->timer_slots_ = NULL;
  loop->timer_pos_ = NULL;
  loop->timer_cap_ = 0;
  loop->timer_reserved_ = 0;
  loop->timer_free_ = 0;
}
