/* What an io_uring can give a TCP ping-pong, measured without the library:
 * hand-written loops over one loopback connection, 64-byte messages, both
 * ends on one thread, alternating:
 *
 *   epoll    epoll_wait, read, send per side (the floor of
 *            bench_tcp_ping_pong)
 *   poll     the library's io_uring readiness: a one-shot POLL_ADD re-armed
 *            in the enter that waits, then read and send per side
 *   ops      the reads and sends themselves in the ring: per side one enter
 *            that submits the send and the next recv and waits
 *   multi    the same with one multishot recv per side into a ring of
 *            provided buffers (no recv to queue again after each message)
 *   ops_pf   (by name only) ops with IORING_RECVSEND_POLL_FIRST: the recv
 *            waits for data instead of trying first and failing
 *   ops_pf_fixed  (by name only) ops_pf with both sockets registered
 *            (IORING_REGISTER_FILES, IOSQE_FIXED_FILE): no file lookup
 *            per operation
 *
 * Its figures say how far completions could take the library's backend
 * (docs/performance.md). Rings with SINGLE_ISSUER | DEFER_TASKRUN, as the
 * backend makes them.
 *
 *   bench_uring_floor               all four, BENCH_ROUNDS rounds
 *   bench_uring_floor NAME N        one of them, N round trips (strace -c)
 */
#include <linux/io_uring.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common.h"

#define MSG 64

static double cpu0, cpu_secs, cpu_rate;
static long trips_wanted = 50000;
static char msg[MSG];
static char buf[2][65536];

/* Two connected loopback TCP sockets, Nagle off (reads outside the ring
 * pass MSG_DONTWAIT). */
static void tcp_pair(int *a, int *b) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  int one = 1;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(l, (struct sockaddr *)&addr, sizeof(addr));
  listen(l, 1);
  getsockname(l, (struct sockaddr *)&addr, &len);
  *a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  connect(*a, (struct sockaddr *)&addr, sizeof(addr));
  *b = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  close(l);
  setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static double finish(long trips, double t0) {
  double secs = bench_now() - t0;
  cpu_secs = bench_cpu_now() - cpu0;
  cpu_rate = (double)trips / cpu_secs;
  return (double)trips / secs;
}

/* ---- epoll ---- */

static double run_epoll(void) {
  int a, b, ep = epoll_create1(EPOLL_CLOEXEC);
  size_t got[2] = {0, 0};
  long trips = 0;
  tcp_pair(&a, &b);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = a};
  epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
  ev.data.fd = b;
  epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev);
  double t0 = bench_now();
  cpu0 = bench_cpu_now();
  send(a, msg, MSG, MSG_NOSIGNAL);
  while (trips < trips_wanted) {
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd, side = fd == b;
      ssize_t r = recv(fd, buf[side], sizeof(buf[side]), MSG_DONTWAIT);
      if (r <= 0)
        continue;
      got[side] += (size_t)r;
      if (got[side] < MSG)
        continue;
      got[side] -= MSG;
      if (side == 1 || ++trips < trips_wanted)
        send(fd, msg, MSG, MSG_NOSIGNAL);
    }
  }
  double rate = finish(trips, t0);
  close(a);
  close(b);
  close(ep);
  return rate;
}

/* ---- a minimal ring ---- */

typedef struct {
  int fd;
  unsigned *sq_head, *sq_tail, sq_mask, tail;
  unsigned *cq_head, *cq_tail, cq_mask;
  struct io_uring_sqe *sqes;
  struct io_uring_cqe *cqes;
  void *map;
  size_t map_len, sqes_len;
} ring_t;

static int ring_open(ring_t *r) {
  struct io_uring_params p;
  memset(&p, 0, sizeof(p));
  p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
            IORING_SETUP_SUBMIT_ALL;
  r->fd = (int)syscall(SYS_io_uring_setup, 64, &p);
  if (r->fd < 0)
    return -1;
  size_t sq = p.sq_off.array + p.sq_entries * sizeof(unsigned);
  size_t cq = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
  r->map_len = sq > cq ? sq : cq;
  r->sqes_len = p.sq_entries * sizeof(struct io_uring_sqe);
  r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
                IORING_OFF_SQ_RING);
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED, r->fd,
                 IORING_OFF_SQES);
  char *m = r->map;
  r->sq_head = (unsigned *)(m + p.sq_off.head);
  r->sq_tail = (unsigned *)(m + p.sq_off.tail);
  r->sq_mask = *(unsigned *)(m + p.sq_off.ring_mask);
  r->tail = *r->sq_tail;
  r->cq_head = (unsigned *)(m + p.cq_off.head);
  r->cq_tail = (unsigned *)(m + p.cq_off.tail);
  r->cq_mask = *(unsigned *)(m + p.cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(m + p.cq_off.cqes);
  unsigned *array = (unsigned *)(m + p.sq_off.array);
  for (unsigned i = 0; i < p.sq_entries; i++)
    array[i] = i;
  return 0;
}

static void ring_close(ring_t *r) {
  munmap(r->sqes, r->sqes_len);
  munmap(r->map, r->map_len);
  close(r->fd);
}

/* ops_pf_fixed: the sockets registered, by index, in the ring. */
static int fixed_fds[2] = {-1, -1};

static struct io_uring_sqe *ring_sqe(ring_t *r, int op, int fd, void *addr,
                                     unsigned len, uint64_t data) {
  struct io_uring_sqe *s = &r->sqes[r->tail & r->sq_mask];
  memset(s, 0, sizeof(*s));
  s->opcode = (uint8_t)op;
  s->fd = fd;
  for (int i = 0; i < 2; i++)
    if (fd >= 0 && fd == fixed_fds[i]) {
      s->fd = i;
      s->flags |= IOSQE_FIXED_FILE;
    }
  s->addr = (uint64_t)(uintptr_t)addr;
  s->len = len;
  s->user_data = data;
  r->tail++;
  __atomic_store_n(r->sq_tail, r->tail, __ATOMIC_RELEASE);
  return s;
}

static void ring_enter(ring_t *r) {
  unsigned n = r->tail - __atomic_load_n(r->sq_head, __ATOMIC_ACQUIRE);
  syscall(SYS_io_uring_enter, r->fd, n, 1, IORING_ENTER_GETEVENTS, NULL, 0);
}

/* ---- readiness in the ring ---- */

static double run_poll(void) {
  ring_t r;
  int fds[2];
  size_t got[2] = {0, 0};
  long trips = 0;
  if (ring_open(&r) != 0)
    return 0;
  tcp_pair(&fds[0], &fds[1]);
  for (int side = 0; side < 2; side++)
    ring_sqe(&r, IORING_OP_POLL_ADD, fds[side], NULL, 0, (uint64_t)side)
        ->poll32_events = POLLIN;
  double t0 = bench_now();
  cpu0 = bench_cpu_now();
  send(fds[0], msg, MSG, MSG_NOSIGNAL);
  while (trips < trips_wanted) {
    ring_enter(&r);
    unsigned head = *r.cq_head;
    unsigned tail = __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; head++) {
      int side = (int)r.cqes[head & r.cq_mask].user_data, fd = fds[side];
      ring_sqe(&r, IORING_OP_POLL_ADD, fd, NULL, 0, (uint64_t)side)
          ->poll32_events = POLLIN;
      ssize_t n = recv(fd, buf[side], sizeof(buf[side]), MSG_DONTWAIT);
      if (n <= 0)
        continue;
      got[side] += (size_t)n;
      if (got[side] < MSG)
        continue;
      got[side] -= MSG;
      if (side == 1 || ++trips < trips_wanted)
        send(fd, msg, MSG, MSG_NOSIGNAL);
    }
    __atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
  }
  double rate = finish(trips, t0);
  ring_close(&r);
  close(fds[0]);
  close(fds[1]);
  return rate;
}

/* ---- reads and sends in the ring ---- */

#define SEND_TAG 2 /* user_data of a send: its completion needs nothing */

static int poll_first; /* ops_pf: recv waits for data before trying */
static int fixed;      /* ops_pf_fixed: the sockets registered */

static void queue_recv(ring_t *r, int fd, int side) {
  struct io_uring_sqe *s = ring_sqe(r, IORING_OP_RECV, fd, buf[side],
                                    sizeof(buf[side]), (uint64_t)side);
  if (poll_first)
    s->ioprio = IORING_RECVSEND_POLL_FIRST;
}

static double run_ops(void) {
  ring_t r;
  int fds[2];
  size_t got[2] = {0, 0};
  long trips = 0;
  if (ring_open(&r) != 0)
    return 0;
  tcp_pair(&fds[0], &fds[1]);
  if (fixed) {
    if (syscall(SYS_io_uring_register, r.fd, IORING_REGISTER_FILES, fds, 2) !=
        0)
      return 0;
    fixed_fds[0] = fds[0];
    fixed_fds[1] = fds[1];
  }
  for (int side = 0; side < 2; side++)
    queue_recv(&r, fds[side], side);
  double t0 = bench_now();
  cpu0 = bench_cpu_now();
  ring_sqe(&r, IORING_OP_SEND, fds[0], msg, MSG, SEND_TAG);
  while (trips < trips_wanted) {
    ring_enter(&r);
    unsigned head = *r.cq_head;
    unsigned tail = __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; head++) {
      const struct io_uring_cqe *c = &r.cqes[head & r.cq_mask];
      if (c->user_data == SEND_TAG)
        continue;
      int side = (int)c->user_data, fd = fds[side];
      queue_recv(&r, fd, side);
      if (c->res <= 0)
        continue;
      got[side] += (size_t)c->res;
      if (got[side] < MSG)
        continue;
      got[side] -= MSG;
      if (side == 1 || ++trips < trips_wanted)
        ring_sqe(&r, IORING_OP_SEND, fd, msg, MSG, SEND_TAG);
    }
    __atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
  }
  double rate = finish(trips, t0);
  fixed_fds[0] = fixed_fds[1] = -1;
  ring_close(&r);
  close(fds[0]);
  close(fds[1]);
  return rate;
}

/* ---- multishot recv into a provided-buffer ring ---- */

#define NBUFS 16 /* per side: a buffer ring (group) each */
#define BUFSZ 4096

typedef struct {
  struct io_uring_buf_ring *br;
  char (*bufs)[BUFSZ];
  unsigned short tail;
} bufring_t;

/* Hands buffer bid back to the kernel. */
static void buf_give(bufring_t *b, unsigned short bid) {
  struct io_uring_buf *e = &b->br->bufs[b->tail & (NBUFS - 1)];
  e->addr = (uint64_t)(uintptr_t)b->bufs[bid];
  e->len = BUFSZ;
  e->bid = bid;
  b->tail++;
  __atomic_store_n(&b->br->tail, b->tail, __ATOMIC_RELEASE);
}

static int bufring_open(ring_t *r, bufring_t *b, unsigned short bgid) {
  struct io_uring_buf_reg reg;
  b->br = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
               -1, 0);
  b->bufs = malloc(NBUFS * BUFSZ);
  b->tail = 0;
  memset(&reg, 0, sizeof(reg));
  reg.ring_addr = (uint64_t)(uintptr_t)b->br;
  reg.ring_entries = NBUFS;
  reg.bgid = bgid;
  if (syscall(SYS_io_uring_register, r->fd, IORING_REGISTER_PBUF_RING, &reg,
              1) != 0)
    return -1;
  for (unsigned short i = 0; i < NBUFS; i++)
    buf_give(b, i);
  return 0;
}

static void queue_recv_multi(ring_t *r, int fd, int side) {
  struct io_uring_sqe *s =
      ring_sqe(r, IORING_OP_RECV, fd, NULL, 0, (uint64_t)side);
  s->ioprio = IORING_RECV_MULTISHOT;
  s->flags = IOSQE_BUFFER_SELECT;
  s->buf_group = (uint16_t)side;
}

static double run_multi(void) {
  ring_t r;
  bufring_t b[2];
  int fds[2];
  size_t got[2] = {0, 0};
  long trips = 0;
  if (ring_open(&r) != 0 || bufring_open(&r, &b[0], 0) != 0 ||
      bufring_open(&r, &b[1], 1) != 0)
    return 0;
  tcp_pair(&fds[0], &fds[1]);
  for (int side = 0; side < 2; side++)
    queue_recv_multi(&r, fds[side], side);
  double t0 = bench_now();
  cpu0 = bench_cpu_now();
  ring_sqe(&r, IORING_OP_SEND, fds[0], msg, MSG, SEND_TAG);
  while (trips < trips_wanted) {
    ring_enter(&r);
    unsigned head = *r.cq_head;
    unsigned tail = __atomic_load_n(r.cq_tail, __ATOMIC_ACQUIRE);
    for (; head != tail; head++) {
      const struct io_uring_cqe *c = &r.cqes[head & r.cq_mask];
      if (c->user_data == SEND_TAG)
        continue;
      int side = (int)c->user_data, fd = fds[side];
      if (!(c->flags & IORING_CQE_F_MORE))
        queue_recv_multi(&r, fd, side); /* ended (no buffer): again */
      if (c->flags & IORING_CQE_F_BUFFER)
        buf_give(&b[side],
                 (unsigned short)(c->flags >> IORING_CQE_BUFFER_SHIFT));
      if (c->res <= 0)
        continue;
      got[side] += (size_t)c->res;
      if (got[side] < MSG)
        continue;
      got[side] -= MSG;
      if (side == 1 || ++trips < trips_wanted)
        ring_sqe(&r, IORING_OP_SEND, fd, msg, MSG, SEND_TAG);
    }
    __atomic_store_n(r.cq_head, head, __ATOMIC_RELEASE);
  }
  double rate = finish(trips, t0);
  ring_close(&r);
  for (int side = 0; side < 2; side++) {
    munmap(b[side].br, 4096);
    free(b[side].bufs);
  }
  close(fds[0]);
  close(fds[1]);
  return rate;
}

static double run_ops_pf(void) {
  poll_first = 1;
  double rate = run_ops();
  poll_first = 0;
  return rate;
}

static double run_ops_pf_fixed(void) {
  fixed = 1;
  double rate = run_ops_pf();
  fixed = 0;
  return rate;
}

int main(int argc, char **argv) {
  static const char *const names[] = {"epoll", "poll", "ops", "multi"};
  const bench_run_fn runs[] = {run_epoll, run_poll, run_ops, run_multi};
  bench_medians_t m[4];
  memset(msg, 'p', sizeof(msg));
  signal(SIGPIPE, SIG_IGN);
  if (argc >= 3)
    trips_wanted = atol(argv[2]);
  if (argc >= 2) {
    double r = strcmp(argv[1], "ops_pf") == 0 ? run_ops_pf()
               : strcmp(argv[1], "ops_pf_fixed") == 0
                   ? run_ops_pf_fixed()
                   : bench_run_named(argv[1], names, runs, 4);
    printf("%s: %.0f round trips/s, %.0f per CPU-second\n", argv[1], r,
           cpu_rate);
    return 0;
  }
  bench_alternate(runs, 4, &cpu_rate, m);
  for (int i = 0; i < 4; i++)
    printf("%-6s %10.0f round trips/s  %10.0f per CPU-second  (%.2fx, "
           "%.2fx epoll)\n",
           names[i], m[i].rate, m[i].cpu, m[i].rate / m[0].rate,
           m[i].cpu / m[0].cpu);
  return 0;
}
