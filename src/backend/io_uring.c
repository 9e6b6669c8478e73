/* The io_uring backend, in readiness mode: every watched fd is a poll
 * request in the ring, and one io_uring_enter per wait both submits what
 * changed and waits. Raw system calls only (the library depends on libc).
 *
 * Notes on io_uring's traps, and why the odd code below exists:
 * 1. Level, not edge. The core is level-triggered (epoll.c registers no
 *    EPOLLET): an owner that did not read everything, a stream that stopped
 *    after MAX_READS reads, must hear about the fd again at the next wait.
 *    A multishot poll (IORING_POLL_ADD_MULTI) fires on each wakeup of the
 *    file, which is an edge: data left unread and no new data means no
 *    event. So each fd gets a one-shot POLL_ADD, armed again after it was
 *    reported. The re-arm waits on a list and reaches the kernel with the
 *    next io_uring_enter, after the owner's callback ran: a POLL_ADD checks
 *    readiness when it is armed, so an fd still readable then completes at
 *    once, which is level-triggering by construction, and an fd the owner
 *    drained reports nothing. Re-arming costs an SQE, not a system call:
 *    it rides in the enter that waits.
 * 2. Stale completions. A poll's user_data carries its fd and the fd's
 *    generation. Whenever a poll is abandoned (the fd is forgotten, its mask
 *    changes, a new owner registers the number) the generation moves on, so
 *    a completion of the old poll that is already in the ring, or comes
 *    after the fd was closed and its number reused, names a generation that
 *    is no longer the fd's and is dropped. forget_fd bumps it before it
 *    returns: nothing of that fd's past reaches the core after it.
 * 3. A poll holds a reference to the file, so closing the fd does not
 *    close a socket while a poll of it is in the ring. forget_fd therefore
 *    submits the POLL_REMOVE at once (as epoll's forget_fd calls epoll_ctl):
 *    the peer sees the close when close(2) returns, as on epoll.
 * 4. Re-arms wait for the next enter, so a loop that returns from art_run
 *    (ART_RUN_NOWAIT driven by a host through art_backend_fd) would leave
 *    fds unarmed and the ring fd would never become readable for them: the
 *    core calls flush when art_run returns, which submits without waiting.
 * 5. A poll may complete with -ECANCELED under its current generation:
 *    the kernel cancels a thread's requests when it exits, where it counts
 *    them as that thread's (io-wq work; on a ring without one issuer, a
 *    loop run by a thread that then exits). It is armed again, not
 *    reported. With one issuer the next thread's enters are refused
 *    instead (note 6).
 * 6. Set-up flags: SINGLE_ISSUER with DEFER_TASKRUN (completions run
 *    only when the loop enters the ring to wait for them, never by
 *    interrupting it: 1.1 to 1.2x the round trips per CPU-second of
 *    COOP_TASKRUN in tcp_ping_pong), SUBMIT_ALL (an SQE that fails, a
 *    POLL_ADD on a closed fd, posts its error and the rest still go in),
 *    TASKRUN_FLAG (tells a zero-timeout wait whether it must enter at
 *    all), CLAMP and a CQ four times the SQ. One issuer means one
 *    thread: the ring is made R_DISABLED and enabled by the first enter,
 *    so the thread that runs the loop owns it, wherever the loop was
 *    made. A loop that moves to another thread later has its enters
 *    refused (EEXIST) and gets a new ring under the same fd number
 *    (migrate). Kernels before 6.1 get COOP_TASKRUN instead, older ones
 *    the ring without these flags (EINVAL). No SQPOLL: a kernel thread
 *    spinning per loop is not a default.
 * 7. What the ring cannot do is refused at init, before any fd is watched:
 *    no io_uring_setup (ENOSYS, EPERM from seccomp or io_uring_disabled,
 *    ENOMEM from the locked-memory limit of old kernels), no single mmap, no
 *    EXT_ARG (the timeout in the enter) or NODROP, a poll operation missing
 *    from IORING_REGISTER_PROBE. The loop then falls back to epoll
 *    (select.c) and art_backend_name says so.
 * 8. Held completions: with NODROP the kernel keeps what did not fit in
 *    the CQ and sets IORING_SQ_CQ_OVERFLOW; a deferred ring runs at most
 *    max(20, min_complete) completions per enter and sets IORING_SQ_TASKRUN
 *    while more wait. A wait that still has room drains them with
 *    non-blocking enters asking for that room. A full SQ is submitted and
 *    the SQE taken again.
 * 9. Fork: the rings are mapped MADV_DONTFORK, so a child has no mapping of
 *    its parent's rings, and the ring fd is O_CLOEXEC. A child must not use
 *    a loop of its parent; it makes its own (art_loop_init). The inherited
 *    ring fd keeps the parent's ring alive until the child execs or exits,
 *    or closes the inherited loop's backend: art__uring_close_ring then closes
 * the fd but unmaps nothing, since the addresses of the parent's rings may hold
 * the child's own ring by then.
 * 10. The ring fd is readable when completions wait in the CQ: it is the
 *    backend fd for embedding, as epoll's fd is.
 * 11. Operations (submit: reads, writes, accept, and the file calls of
 *    io_uring_ops.c) go in whole, their user_data the art__op_t itself
 *    (pointers have the top bits clear, so they never look like a poll's),
 *    and are kept on a list while in flight: cancel finds them there, and
 *    a ring given up when the loop moved threads (note 6) reports them
 *    canceled instead of losing them. A kind whose opcode the probe did not
 *    find is refused (ART_ENOTSUP), so that its owner takes another path.
 *    A multishot accept stays on the list until a completion without
 *    IORING_CQE_F_MORE: the owner reads art__op_in_flight in done to know
 *    whether that was the last. A cancel that finds the SQ full, and the
 *    kernel refusing to take it (an enter failing), moves its operation to
 *    a second list, whose cancels the next wait makes before it enters:
 *    cancel never fails for room, so a close that cancels never waits on
 *    an operation that might not end (a receive on an idle socket). A
 *    completion before that takes the operation off whichever list holds
 *    it, so a late cancel never names a later use of the same op.
 * 12. Credentials. Without SQPOLL the kernel runs an operation with the
 *    credentials of the task that submitted it, taken in the enter that
 *    hands it over (a kernel worker gets a copy then; an operation retried
 *    later, after a poll, runs in that task again, in a later enter). An
 *    operation queued now and handed over by the next wait would run with
 *    whatever credentials the thread has then: ART__OP_NOW hands it over
 *    before submit returns, so that it runs with the caller's present
 *    ones. A ring no thread has entered yet (R_DISABLED, note 6) refuses
 *    it (ART_EAGAIN): the first enter would make the caller its one
 *    issuer, and the loop may be meant to run on another thread. Should
 *    that enter fail (EBUSY: the kernel short of room), the operation
 *    goes in with the next wait, as any other.
 * 13. The buffer pool of ART__OP_PROVIDED receives: count buffers of size
 *    bytes (art_loop_configure, 128 x 16 KiB unless set) in a provided-
 *    buffer ring (IORING_REGISTER_PBUF_RING, group 0), made at the first
 *    receive that asks for it. The kernel picks a buffer only when bytes
 *    come, so an idle connection pins nothing, and the pool bounds what
 *    reads hold whatever the number of connections. Owners copy the bytes
 *    out and give the buffer back (recycle) inside their done, so no buffer
 *    is ever held between waits: a ring made anew (migrate) gets the whole
 *    pool again. A kernel that refuses the pool (before 5.19) leaves
 *    supports() false, and the owners read by readiness.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io_uring_ops.h"
#include "io_uring_ring.h"

/* user_data: the top bits say what a completion is for. A poll's carries
 * its fd in the low 32 bits and the fd's generation above (note 2). */
#define UD_POLL   (1ull << 62)
#define UD_IGNORE (2ull << 62) /* a POLL_REMOVE's own completion */
#define UD_KIND   (3ull << 62)
#define GEN_MASK  0x3fffffffu

/* What the backend knows of one fd number. */
typedef struct {
  uint32_t gen;  /* generation of the fd's live poll (note 2) */
  uint8_t want;  /* ART_* events the core wants */
  uint8_t armed; /* events of the poll in the ring or queued; 0: none */
  uint8_t dirty; /* on the todo list: armed must be brought to want */
} slot_t;

/* The buffer pool (note 13). */
typedef struct {
  struct io_uring_buf_ring *ring; /* count entries, page-aligned */
  char *mem;                      /* count * size bytes */
  unsigned count, size;
  uint16_t tail; /* entries handed to the kernel, mod 2^16 */
  int state;     /* 0: not made, 1: made, -1: the kernel refused it */
  uint64_t dry;  /* receives that found it empty (ENOBUFS), for the report */
} pool_t;

#define POOL_COUNT 128
#define POOL_SIZE  (16 * 1024)

/* The backend's state: one ring, and what it knows of each watched fd. */
typedef struct {
  art__uring_ring_t r;
  pool_t pool;
  int enabled;   /* R_DISABLED ring enabled by the thread running the loop */
  int lost;      /* an enter met EEXIST: another thread runs the loop now */
  slot_t *slots; /* by fd */
  unsigned nslots;
  int *todo; /* fds whose slot is dirty; never more than nslots */
  unsigned ntodo;
  art__queue_t ops;     /* operations in the ring (art__op_t.node_) */
  art__queue_t cancels; /* operations in the ring whose cancel waits for
                           room in the SQ (note 11) */
  art__queue_t orphans; /* operations of a ring given up (migrate): the
                           next wait reports them canceled */
} uring_t;

static int enter(int fd, unsigned to_submit, unsigned min_complete,
                 unsigned flags, const void *arg, size_t argsz) {
  return (int)syscall(SYS_io_uring_enter, fd, to_submit, min_complete, flags,
                      arg, argsz);
}

/* ---- Set-up (notes 6, 7, 9; the ring itself: io_uring_ring.c) ---- */

static void pool_free(pool_t *p) {
  if (p->ring != NULL)
    munmap(p->ring, p->count * sizeof(struct io_uring_buf));
  art__free(p->mem);
  p->ring = NULL;
  p->mem = NULL;
  p->state = 0;
}

static void uring_close(void *state) {
  uring_t *st = state;
  art__uring_close_ring(&st->r);
  pool_free(&st->pool);
  art__free(st->slots);
  art__free(st->todo);
  art__free(st);
}

static int uring_init(void **state) {
  uring_t *st = art__calloc(1, sizeof(*st));
  if (st == NULL)
    return ART_ENOMEM;
  int err = art__uring_open_ring(&st->r);
  if (err) {
    art__free(st);
    return err;
  }
  art__queue_init(&st->ops);
  art__queue_init(&st->cancels);
  art__queue_init(&st->orphans);
  st->pool.count = POOL_COUNT;
  st->pool.size = POOL_SIZE;
  *state = st;
  return 0;
}

/* ---- The buffer pool (note 13) ---- */

static void pool_give(pool_t *p, unsigned id) {
  struct io_uring_buf *b = &p->ring->bufs[p->tail & (p->count - 1)];
  b->addr = (uint64_t)(uintptr_t)(p->mem + (size_t)id * p->size);
  b->len = p->size;
  b->bid = (uint16_t)id;
  p->tail++;
  __atomic_store_n(&p->ring->tail, p->tail, __ATOMIC_RELEASE);
}

/* Registers the pool's ring with ring fd and hands it every buffer. */
static int pool_register(pool_t *p, int fd) {
  struct io_uring_buf_reg reg;
  memset(&reg, 0, sizeof(reg));
  memset(p->ring, 0, p->count * sizeof(struct io_uring_buf));
  reg.ring_addr = (uint64_t)(uintptr_t)p->ring;
  reg.ring_entries = p->count;
  reg.bgid = 0;
  if (syscall(SYS_io_uring_register, fd, IORING_REGISTER_PBUF_RING, &reg, 1) ==
      -1)
    return -errno;
  p->tail = 0;
  for (unsigned i = 0; i < p->count; i++)
    pool_give(p, i);
  return 0;
}

static int pool_make(uring_t *st) {
  pool_t *p = &st->pool;
  /* The kernel wants the ring page-aligned: a mapping of its own. */
  void *ring = mmap(NULL, p->count * sizeof(struct io_uring_buf),
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (ring == MAP_FAILED)
    return ART_ENOMEM;
  p->ring = ring;
  p->mem = art__malloc((size_t)p->count * p->size);
  if (p->mem == NULL) {
    pool_free(p);
    return ART_ENOMEM;
  }
  int err = pool_register(p, st->r.fd);
  if (err) {
    pool_free(p);
    p->state = err == ART_ENOMEM ? 0 : -1; /* no memory: try again later */
    return err;
  }
  p->state = 1;
  return 0;
}

/* ---- Submission ---- */

/* A ring of one issuer is enabled by the first thread that enters it:
 * the one running the loop, wherever the loop was made (note 6). An enter
 * refused with EEXIST means another thread runs the loop now; the next
 * wait moves the loop to a ring of its own (migrate). */
static int ring_enter(uring_t *st, unsigned to_submit, unsigned min_complete,
                      unsigned flags, const void *arg, size_t argsz) {
  if (!st->enabled && (st->r.flags & IORING_SETUP_R_DISABLED)) {
    if (syscall(SYS_io_uring_register, st->r.fd, IORING_REGISTER_ENABLE_RINGS,
                NULL, 0) == -1 &&
        errno != EBADFD) /* EBADFD: enabled already */
      return -1;
    st->enabled = 1;
  }
  int r = enter(st->r.fd, to_submit, min_complete, flags, arg, argsz);
  if (r == -1 && errno == EEXIST)
    st->lost = 1;
  return r;
}

static unsigned sq_pending(const uring_t *st) {
  return st->r.sq_local_tail - __atomic_load_n(st->r.sq_head, __ATOMIC_ACQUIRE);
}

/* Submits what is queued without waiting; GETEVENTS runs the completions
 * the kernel holds back (DEFER_TASKRUN, COOP_TASKRUN), so a removed poll
 * lets go of its file before this returns (note 3). 0 or a negative
 * errno. */
static int submit_now(uring_t *st) {
  unsigned n = sq_pending(st);
  int r;
  do
    r = ring_enter(st, n, 0, IORING_ENTER_GETEVENTS, NULL, 0);
  while (r == -1 && errno == EINTR);
  return r == -1 ? -errno : 0;
}

/* The next free SQE, zeroed, or NULL when the SQ stays full even after it
 * was submitted (note 8). Published by publish(). */
static struct io_uring_sqe *get_sqe(uring_t *st) {
  if (sq_pending(st) >= st->r.sq_entries && submit_now(st) != 0)
    return NULL;
  if (sq_pending(st) >= st->r.sq_entries)
    return NULL;
  struct io_uring_sqe *sqe = &st->r.sqes[st->r.sq_local_tail & st->r.sq_mask];
  memset(sqe, 0, sizeof(*sqe));
  return sqe;
}

static void publish(uring_t *st) {
  st->r.sq_local_tail++;
  __atomic_store_n(st->r.sq_tail, st->r.sq_local_tail, __ATOMIC_RELEASE);
}

static uint64_t poll_data(int fd, uint32_t gen) {
  return UD_POLL | ((uint64_t)(gen & GEN_MASK) << 32) | (uint32_t)fd;
}

static unsigned to_poll(unsigned ev) {
  return ((ev & ART_READABLE) ? POLLIN : 0) |
         ((ev & ART_WRITABLE) ? POLLOUT : 0) |
         ((ev & ART_DISCONNECT) ? POLLRDHUP : 0) |
         ((ev & ART_PRIORITIZED) ? POLLPRI : 0);
}

static unsigned from_poll(unsigned ev) {
  return ((ev & POLLIN) ? ART_READABLE : 0) |
         ((ev & POLLOUT) ? ART_WRITABLE : 0) |
         ((ev & POLLRDHUP) ? ART_DISCONNECT : 0) |
         ((ev & POLLPRI) ? ART_PRIORITIZED : 0) |
         ((ev & (POLLERR | POLLHUP | POLLNVAL)) ? ART__IO_ERROR : 0);
}

/* Queues the removal of fd's poll and moves the generation on, so that
 * whatever that poll still reports is stale (note 2). */
static int abandon(uring_t *st, int fd) {
  slot_t *s = &st->slots[fd];
  struct io_uring_sqe *sqe = get_sqe(st);
  if (sqe == NULL)
    return ART_EAGAIN;
  sqe->opcode = IORING_OP_POLL_REMOVE;
  sqe->fd = -1;
  sqe->addr = poll_data(fd, s->gen);
  sqe->user_data = UD_IGNORE;
  if (st->r.features & IORING_FEAT_CQE_SKIP)
    sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
  publish(st);
  s->gen++;
  s->armed = 0;
  return 0;
}

/* Queues a one-shot poll of fd for what the core wants (note 1). */
static int arm(uring_t *st, int fd) {
  slot_t *s = &st->slots[fd];
  struct io_uring_sqe *sqe = get_sqe(st);
  if (sqe == NULL)
    return ART_EAGAIN;
  sqe->opcode = IORING_OP_POLL_ADD;
  sqe->fd = fd;
  sqe->poll32_events = to_poll(s->want);
  sqe->user_data = poll_data(fd, s->gen);
  publish(st);
  s->armed = s->want;
  return 0;
}

/* Brings fd's poll in the ring in line with what the core wants. */
static int settle(uring_t *st, int fd) {
  slot_t *s = &st->slots[fd];
  int err = 0;
  if (s->armed != 0 && s->armed != s->want)
    err = abandon(st, fd);
  if (err == 0 && s->want != 0 && s->armed == 0)
    err = arm(st, fd);
  return err;
}

static void mark(uring_t *st, int fd) {
  slot_t *s = &st->slots[fd];
  if (!s->dirty) {
    s->dirty = 1;
    st->todo[st->ntodo++] = fd;
  }
}

/* Writes the todo list into the SQ. What finds no room (a full SQ that
 * could not be submitted) stays on the list for the next wait. */
static void flush_todo(uring_t *st) {
  unsigned i = 0, keep = 0;
  for (; i < st->ntodo; i++) {
    int fd = st->todo[i];
    if (settle(st, fd) != 0)
      break;
    st->slots[fd].dirty = 0;
  }
  for (; i < st->ntodo; i++)
    st->todo[keep++] = st->todo[i];
  st->ntodo = keep;
}

/* ---- Per-fd memory ---- */

/* Makes room for fd in slots, and as much in todo (an fd is on it at most
 * once). */
static int grow(uring_t *st, int fd) {
  if ((unsigned)fd < st->nslots)
    return 0;
  unsigned n = st->nslots ? st->nslots : 64;
  while (n <= (unsigned)fd)
    n *= 2;
  int *todo = art__realloc(st->todo, n * sizeof(*todo));
  if (todo == NULL)
    return ART_ENOMEM;
  st->todo = todo;
  slot_t *slots = art__realloc(st->slots, n * sizeof(*slots));
  if (slots == NULL)
    return ART_ENOMEM;
  memset(slots + st->nslots, 0, (n - st->nslots) * sizeof(*slots));
  st->slots = slots;
  st->nslots = n;
  return 0;
}

static int uring_reserve(void *state, int fd, unsigned nfds) {
  (void)nfds;
  return grow(state, fd);
}

/* ---- The contract ---- */

static int uring_update(void *state, int fd, unsigned had, unsigned want) {
  uring_t *st = state;
  int err = grow(st, fd);
  if (err)
    return err;
  slot_t *s = &st->slots[fd];
  if (had == 0 && want != 0) {
    /* A new owner: a poll still armed is another file's (note 2), and a
     * closed fd is refused now, as epoll_ctl would. */
    if (s->armed != 0 && (err = abandon(st, fd)) != 0)
      return err;
    if (fcntl(fd, F_GETFD) == -1)
      return -errno;
  }
  s->want = (uint8_t)want;
  mark(st, fd);
  return 0;
}

static void uring_forget_fd(void *state, int fd) {
  uring_t *st = state;
  if ((unsigned)fd >= st->nslots)
    return;
  slot_t *s = &st->slots[fd];
  s->want = 0;
  if (s->armed != 0 && abandon(st, fd) == 0)
    submit_now(st);
  else
    s->gen++; /* whatever is in flight is stale all the same */
  s->armed = 0;
}

/* An operation's completion (note 11): its user_data is the op. A
 * multishot one stays on the list while the kernel says more will come. */
static int op_done(const struct io_uring_cqe *cqe, art__event_t *out) {
  art__op_t *op = (art__op_t *)(uintptr_t)cqe->user_data;
  unsigned got = 0;
  if (!(cqe->flags & IORING_CQE_F_MORE))
    art__queue_remove(&op->node_);
  else
    got = ART__GOT_MORE;
  if (cqe->flags & IORING_CQE_F_BUFFER)
    got |= ART__GOT_BUFFER | (cqe->flags >> IORING_CQE_BUFFER_SHIFT)
                                 << ART__GOT_ID_SHIFT;
  out->fd = -1;
  out->events = got;
  out->op = op;
  out->result = cqe->res;
  return 1;
}

/* One completion: a ready fd or a finished operation written to *out (1),
 * or nothing (0). */
static int reap_one(uring_t *st, const struct io_uring_cqe *cqe,
                    art__event_t *out) {
  uint64_t ud = cqe->user_data;
  if ((ud & UD_KIND) == 0) {
    st->pool.dry += cqe->res == -ENOBUFS; /* only a pool receive says so */
    return op_done(cqe, out);
  }
  if ((ud & UD_KIND) != UD_POLL)
    return 0;
  int fd = (int)(uint32_t)ud;
  uint32_t gen = (uint32_t)(ud >> 32) & GEN_MASK;
  if ((unsigned)fd >= st->nslots)
    return 0;
  slot_t *s = &st->slots[fd];
  if ((s->gen & GEN_MASK) != gen)
    return 0; /* stale: an abandoned poll (note 2) */
  if (!(cqe->flags & IORING_CQE_F_MORE)) {
    s->armed = 0;
    if (s->want != 0)
      mark(st, fd); /* armed again by the next enter (note 1) */
  }
  if (cqe->res == -ECANCELED || s->want == 0)
    return 0; /* note 5 */
  out->fd = fd;
  out->events = cqe->res < 0 ? ART__IO_ERROR : from_poll((unsigned)cqe->res);
  out->op = NULL;
  return 1;
}

/* Takes up to max completions from the CQ. */
static int reap(uring_t *st, art__event_t *out, int max) {
  unsigned head = *st->r.cq_head;
  unsigned tail = __atomic_load_n(st->r.cq_tail, __ATOMIC_ACQUIRE);
  int k = 0;
  while (head != tail && k < max) {
    k += reap_one(st, &st->r.cqes[head & st->r.cq_mask], &out[k]);
    head++;
  }
  __atomic_store_n(st->r.cq_head, head, __ATOMIC_RELEASE);
  return k;
}

static int cq_ready(const uring_t *st) {
  return __atomic_load_n(st->r.cq_tail, __ATOMIC_ACQUIRE) != *st->r.cq_head;
}

/* True when the kernel holds something that only an enter brings out:
 * completions run late (TASKRUN_FLAG) or an overflow (note 8). Without
 * TASKRUN_FLAG the ring cannot tell, and the answer is yes. */
static int kernel_has_more(const uring_t *st) {
  unsigned f = __atomic_load_n(st->r.sq_flags, __ATOMIC_ACQUIRE);
  return (f & IORING_SQ_CQ_OVERFLOW) ||
         !(st->r.flags & IORING_SETUP_TASKRUN_FLAG) || (f & IORING_SQ_TASKRUN);
}

/* True when the kernel says it holds completions back: an overflow, or
 * completions still to run (note 8). */
static int kernel_holds(const uring_t *st) {
  unsigned f = __atomic_load_n(st->r.sq_flags, __ATOMIC_ACQUIRE);
  return (f & (IORING_SQ_CQ_OVERFLOW | IORING_SQ_TASKRUN)) != 0;
}

/* Brings out up to `room` held completions without waiting. A deferred
 * ring runs only max(20, min_complete) of them per enter, so min_complete
 * asks for the room left, with a zero timeout; an overflow moves into the
 * CQ on the same enter (note 8). */
static void drain(uring_t *st, unsigned room) {
  struct __kernel_timespec ts = {0, 0};
  struct io_uring_getevents_arg arg = {0, _NSIG / 8, 0, 0};
  unsigned free_cq =
      st->r.cq_mask + 1 -
      (__atomic_load_n(st->r.cq_tail, __ATOMIC_ACQUIRE) - *st->r.cq_head);
  arg.ts = (uint64_t)(uintptr_t)&ts;
  ring_enter(st, 0, room < free_cq ? room : free_cq,
             IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg, sizeof(arg));
}

/* The one enter of a wait: submits the queue and waits for a completion
 * for up to timeout_ns (-1: forever, 0: not at all). */
static void enter_wait(uring_t *st, int64_t timeout_ns) {
  struct __kernel_timespec ts = {timeout_ns / 1000000000,
                                 timeout_ns % 1000000000};
  struct io_uring_getevents_arg arg = {0, _NSIG / 8, 0, 0};
  unsigned n = sq_pending(st);
  unsigned min = timeout_ns != 0 && !cq_ready(st);
  if (n == 0 && !min && !kernel_has_more(st))
    return; /* nothing to submit, nothing to wait for, nothing held */
  if (min && timeout_ns > 0)
    arg.ts = (uint64_t)(uintptr_t)&ts;
  /* ETIME (timeout), EINTR: the wait ends with what is in the CQ. EBUSY,
   * EAGAIN: the kernel is short of room; the next wait submits again. */
  ring_enter(st, n, min, IORING_ENTER_GETEVENTS | IORING_ENTER_EXT_ARG, &arg,
             sizeof(arg));
}

/* Every operation `from` had in the ring goes to st's orphans, which the
 * next wait reports canceled (note 11). */
static void orphan_all(uring_t *st, uring_t *from) {
  art__queue_t *lists[3] = {&from->ops, &from->cancels, &from->orphans};
  for (int i = 0; i < 3; i++) {
    if (lists[i] == &st->orphans)
      continue; /* migrate: the state's own orphans stay where they are */
    while (!art__queue_empty(lists[i])) {
      art__queue_t *q = art__queue_head(lists[i]);
      art__queue_remove(q);
      art__queue_insert_tail(&st->orphans, q);
    }
  }
}

/* Another thread runs the loop (an enter met EEXIST): a new ring takes the
 * old one's fd number (a host polling the backend fd keeps its fd), and
 * every wanted fd is armed again in it. The old ring's close cancels what
 * it held. */
static int migrate(uring_t *st) {
  art__uring_ring_t fresh;
  int err = art__uring_open_ring(&fresh);
  if (err)
    return err;
  if (dup3(fresh.fd, st->r.fd, O_CLOEXEC) == -1) {
    err = -errno;
    art__uring_close_ring(&fresh);
    return err;
  }
  art__close_fd(fresh.fd);
  fresh.fd = st->r.fd;
  st->r.fd = -1; /* its number is the new ring's now */
  art__uring_close_ring(&st->r);
  st->r = fresh;
  st->enabled = 0;
  st->lost = 0;
  st->ntodo = 0;
  if (st->pool.state == 1 && pool_register(&st->pool, st->r.fd) != 0)
    pool_free(&st->pool); /* receives read by readiness from now on */
  orphan_all(st, st);
  for (unsigned fd = 0; fd < st->nslots; fd++) {
    slot_t *s = &st->slots[fd];
    s->dirty = 0;
    if (s->armed != 0) {
      s->armed = 0;
      s->gen++;
    }
    if (s->want != 0)
      mark(st, (int)fd);
  }
  return 0;
}

/* The operations of a ring given up, reported canceled (note 11). */
static int report_orphans(uring_t *st, art__event_t *out, int max) {
  int k = 0;
  while (k < max && !art__queue_empty(&st->orphans)) {
    art__queue_t *q = art__queue_head(&st->orphans);
    art__queue_remove(q);
    out[k].fd = -1;
    out[k].events = 0;
    out[k].op = art__container_of(q, art__op_t, node_);
    out[k].result = ART_ECANCELED;
    k++;
  }
  return k;
}

/* Queues the cancel of op, in flight, and keeps op on the ops list; or,
 * with no room in the SQ, on the list of cancels for the next wait
 * (note 11), and says ART_EAGAIN. */
static int queue_cancel(uring_t *st, art__op_t *op) {
  struct io_uring_sqe *sqe = get_sqe(st);
  art__queue_remove(&op->node_);
  if (sqe == NULL) {
    art__queue_insert_tail(&st->cancels, &op->node_);
    return ART_EAGAIN;
  }
  art__queue_insert_tail(&st->ops, &op->node_);
  sqe->opcode = IORING_OP_ASYNC_CANCEL;
  sqe->fd = -1;
  sqe->addr = (uint64_t)(uintptr_t)op;
  sqe->user_data = UD_IGNORE;
  if (st->r.features & IORING_FEAT_CQE_SKIP)
    sqe->flags = IOSQE_CQE_SKIP_SUCCESS;
  publish(st);
  return 0;
}

/* The cancels that found no room, while there is room now. */
static void retry_cancels(uring_t *st) {
  while (!art__queue_empty(&st->cancels) &&
         queue_cancel(st, art__container_of(art__queue_head(&st->cancels),
                                            art__op_t, node_)) == 0)
    ;
}

static int uring_wait(void *state, int64_t timeout_ns, art__event_t *out,
                      int max) {
  uring_t *st = state;
  if (st->lost && migrate(st) != 0)
    return 0;
  if (!art__queue_empty(&st->orphans))
    return report_orphans(st, out, max);
  flush_todo(st);
  retry_cancels(st);
  enter_wait(st, timeout_ns);
  int k = reap(st, out, max);
  for (int i = 0; i < 8 && k < max && !st->lost && kernel_holds(st); i++) {
    drain(st, (unsigned)(max - k));
    k += reap(st, out + k, max - k);
  }
  return k;
}

/* Note 4: re-arms reach the kernel before art_run returns. */
static int uring_flush(void *state) {
  uring_t *st = state;
  if (st->lost)
    return 0; /* the next wait moves the loop to a new ring */
  flush_todo(st);
  retry_cancels(st);
  return sq_pending(st) > 0 ? submit_now(st) : 0;
}

/* Queues op whole; it goes in with the next enter (note 11), or at once
 * for ART__OP_NOW, which a ring no thread entered yet refuses (note 12). */
static int uring_submit(void *state, art__op_t *op) {
  uring_t *st = state;
  int entered = st->enabled || !(st->r.flags & IORING_SETUP_R_DISABLED);
  _Static_assert(ART__OP_KINDS <= 32, "kinds fit art__uring_ring_t.kinds");
  if ((unsigned)op->kind >= ART__OP_KINDS || !(st->r.kinds & (1u << op->kind)))
    return ART_ENOTSUP;
  if ((op->how & ART__OP_NOW) && (!entered || st->lost))
    return ART_EAGAIN;
  /* A receive from the pool needs the pool in this ring: a forked child's
   * or a moved loop's new ring may not have it yet (note 13). */
  if ((op->how & ART__OP_PROVIDED) && st->pool.state != 1 &&
      (st->pool.state != 0 || pool_make(st) != 0))
    return ART_ENOTSUP;
  struct io_uring_sqe *sqe = get_sqe(st);
  if (sqe == NULL)
    return ART_EAGAIN;
  if (art__uring_prep(sqe, op) != 0)
    return ART_EINVAL; /* the SQE stays unpublished */
  sqe->user_data = (uint64_t)(uintptr_t)op;
  publish(st);
  art__queue_insert_tail(&st->ops, &op->node_);
  if (op->how & ART__OP_NOW)
    submit_now(st); /* failing, it goes in with the next wait */
  return 0;
}

/* Asks the kernel to cancel op; its completion then comes with -ECANCELED,
 * or with its result if it finished first. ART_ENOENT when op is not in
 * flight. */
static int uring_cancel(void *state, art__op_t *op) {
  uring_t *st = state;
  art__queue_t *q;
  art__queue_foreach(q, &st->orphans) {
    if (q == &op->node_)
      return 0; /* reported canceled by the next wait */
  }
  if (art__queue_empty(&op->node_))
    return ART_ENOENT;
  queue_cancel(st, op);
  return 0;
}

static int uring_busy(const void *state) {
  const uring_t *st = state;
  return !art__queue_empty(&st->ops) || !art__queue_empty(&st->cancels) ||
         !art__queue_empty(&st->orphans);
}

/* A forked child's new ring: the parent's operations are not the child's
 * to wait for, and are reported canceled (note 11). (The loop gave the new
 * state its pool's shape already: src/io.c.) */
static void uring_adopt(void *state, void *from) {
  orphan_all(state, from);
}

static int uring_supports(void *state, art__op_kind kind, unsigned how) {
  uring_t *st = state;
  if ((unsigned)kind >= ART__OP_KINDS || !(st->r.kinds & (1u << kind)))
    return 0;
  if ((how & ART__OP_PROVIDED) && st->pool.state == 0)
    pool_make(st);
  return !(how & ART__OP_PROVIDED) || st->pool.state == 1;
}

static char *uring_buffer(void *state, unsigned id, size_t *size) {
  pool_t *p = &((uring_t *)state)->pool;
  *size = p->size;
  return p->mem + (size_t)id * p->size;
}

static void uring_recycle(void *state, unsigned id) {
  pool_give(&((uring_t *)state)->pool, id);
}

static int uring_set_pool(void *state, unsigned count, unsigned size) {
  pool_t *p = &((uring_t *)state)->pool;
  if (p->state == 1)
    return ART_EBUSY;
  p->count = count ? count : p->count;
  p->size = size ? size : p->size;
  p->state = 0;
  return 0;
}

static void uring_pool_stats(const void *state, art__pool_stats_t *out) {
  const pool_t *p = &((const uring_t *)state)->pool;
  out->count = p->count;
  out->size = p->size;
  out->made = p->state == 1;
  out->dry = p->dry;
}

static int uring_fd(const void *state) {
  const uring_t *st = state;
  return st->r.fd;
}

static int uring_check_fd(const void *state, int fd) {
  (void)state;
  (void)fd;
  return 0; /* a poll request takes every kind of fd, as poll(2) */
}

extern const art__backend_ops_t art__backend_epoll ART__HIDDEN;

const art__backend_ops_t art__backend_io_uring = {
    .name = "io_uring",
    .caps = ART__BACKEND_COMPLETIONS,
    .init = uring_init,
    .close = uring_close,
    .update = uring_update,
    .wait = uring_wait,
    .forget_fd = uring_forget_fd,
    .fd = uring_fd,
    .check_fd = uring_check_fd,
    .reserve = uring_reserve,
    .submit = uring_submit,
    .cancel = uring_cancel,
    .busy = uring_busy,
    .adopt = uring_adopt,
    .flush = uring_flush,
    .supports = uring_supports,
    .buffer = uring_buffer,
    .recycle = uring_recycle,
    .set_pool = uring_set_pool,
    .pool_stats = uring_pool_stats,
    .fallback = &art__backend_epoll,
};
