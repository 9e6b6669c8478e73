/* Making an io_uring for the backend (src/backend/io_uring.c): set-up
 * flags, the probe of what the kernel has, and the mappings.
 *
 * Notes (the backend's notes 6, 7 and 9 say why in full):
 * 1. Set-up flags are tried newest first: SINGLE_ISSUER with DEFER_TASKRUN
 *    and R_DISABLED (Linux 6.1), then COOP_TASKRUN (5.19), then the ring
 *    without either. EINVAL is the only answer that means "try older".
 * 2. A kernel without SINGLE_MMAP, NODROP or EXT_ARG, or whose probe lacks
 *    a poll operation, gets ENOSYS here; the loop then falls back to epoll.
 * 3. The mappings are MADV_DONTFORK, and the pid that made them is kept:
 *    in a forked child their addresses may hold the child's own ring, so
 *    only the process that mapped them unmaps them.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "io_uring_ops.h"
#include "io_uring_ring.h"

#define SQ_ENTRIES ART__URING_SQ_ENTRIES
#define CQ_ENTRIES ART__URING_CQ_ENTRIES

/* io_uring_setup with the flags of note 6, or without the newer ones. */
static int setup_ring(struct io_uring_params *p) {
  const unsigned base =
      IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP | IORING_SETUP_SUBMIT_ALL;
  const unsigned tries[] = {
      base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN |
          IORING_SETUP_TASKRUN_FLAG | IORING_SETUP_R_DISABLED,
      base | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
      IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP};
  int fd = -1;
  for (unsigned i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
    memset(p, 0, sizeof(*p));
    p->flags = tries[i];
    p->cq_entries = CQ_ENTRIES;
    fd = (int)syscall(SYS_io_uring_setup, SQ_ENTRIES, p);
    if (fd >= 0 || errno != EINVAL)
      break;
  }
  if (fd < 0)
    return -errno;
  int fl = fcntl(fd, F_GETFD);
  if (fl == -1 || (!(fl & FD_CLOEXEC) && fcntl(fd, F_SETFD, fl | FD_CLOEXEC))) {
    int err = -errno;
    art__close_fd(fd);
    return err;
  }
  return fd;
}

/* True when the probe found opcode code. */
static int probed(const struct io_uring_probe *p, unsigned code) {
  return code <= p->last_op && code < p->ops_len &&
         (p->ops[code].flags & IO_URING_OP_SUPPORTED);
}

/* ENOSYS unless the kernel has what this file relies on (note 7); notes
 * the kinds of operation it runs (note 11). */
static int check_ring(art__uring_ring_t *r) {
  const unsigned need =
      IORING_FEAT_SINGLE_MMAP | IORING_FEAT_NODROP | IORING_FEAT_EXT_ARG;
  static const uint8_t ops[] = {IORING_OP_POLL_ADD,    IORING_OP_POLL_REMOVE,
                                IORING_OP_READ,        IORING_OP_WRITE,
                                IORING_OP_ACCEPT,      IORING_OP_FSYNC,
                                IORING_OP_ASYNC_CANCEL};
  union {
    struct io_uring_probe p;
    char room[sizeof(struct io_uring_probe) +
              256 * sizeof(struct io_uring_probe_op)];
  } probe;
  if ((r->features & need) != need)
    return ART_ENOSYS;
  memset(&probe, 0, sizeof(probe));
  if (syscall(SYS_io_uring_register, r->fd, IORING_REGISTER_PROBE, &probe.p,
              256) == -1)
    return -errno;
  for (unsigned i = 0; i < sizeof(ops); i++)
    if (!probed(&probe.p, ops[i]))
      return ART_ENOSYS;
  r->kinds = 0;
  for (int k = 1; k < ART__OP_KINDS; k++) {
    int code = art__uring_opcode((art__op_kind)k);
    if (code >= 0 && probed(&probe.p, (unsigned)code))
      r->kinds |= 1u << k;
  }
  return 0;
}

/* Maps the rings (one mapping for SQ and CQ, one for the SQEs), not
 * inherited by a child (note 9). */
static int map_rings(art__uring_ring_t *r, const struct io_uring_params *p) {
  size_t sq_len = p->sq_off.array + p->sq_entries * sizeof(unsigned);
  size_t cq_len = p->cq_off.cqes + p->cq_entries * sizeof(struct io_uring_cqe);
  r->ring_len = sq_len > cq_len ? sq_len : cq_len;
  r->sqes_len = p->sq_entries * sizeof(struct io_uring_sqe);
  r->ring_map = mmap(NULL, r->ring_len, PROT_READ | PROT_WRITE,
                     MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
  if (r->ring_map == MAP_FAILED) {
    r->ring_map = NULL;
    return -errno;
  }
  r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE,
                 MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
  if (r->sqes == MAP_FAILED) {
    r->sqes = NULL;
    return -errno;
  }
  madvise(r->ring_map, r->ring_len, MADV_DONTFORK);
  madvise(r->sqes, r->sqes_len, MADV_DONTFORK);
  r->pid = getpid();
  char *m = r->ring_map;
  r->sq_head = (unsigned *)(m + p->sq_off.head);
  r->sq_tail = (unsigned *)(m + p->sq_off.tail);
  r->sq_flags = (unsigned *)(m + p->sq_off.flags);
  r->sq_mask = *(unsigned *)(m + p->sq_off.ring_mask);
  r->sq_entries = *(unsigned *)(m + p->sq_off.ring_entries);
  r->sq_local_tail = *r->sq_tail;
  r->cq_head = (unsigned *)(m + p->cq_off.head);
  r->cq_tail = (unsigned *)(m + p->cq_off.tail);
  r->cq_mask = *(unsigned *)(m + p->cq_off.ring_mask);
  r->cqes = (struct io_uring_cqe *)(m + p->cq_off.cqes);
  /* SQEs are used in ring order: the index array is the identity. */
  unsigned *array = (unsigned *)(m + p->sq_off.array);
  for (unsigned i = 0; i < r->sq_entries; i++)
    array[i] = i;
  return 0;
}

/* In a forked child the parent's rings were never mapped (MADV_DONTFORK),
 * and their addresses may hold the child's own ring by now: only the
 * process that mapped them unmaps them. */
void art__uring_close_ring(art__uring_ring_t *r) {
  int mine = r->pid == getpid();
  if (r->sqes != NULL && mine)
    munmap(r->sqes, r->sqes_len);
  if (r->ring_map != NULL && mine)
    munmap(r->ring_map, r->ring_len);
  if (r->fd >= 0)
    art__close_fd(r->fd);
}

/* A new ring, checked and mapped; 0 or a negative ART_E* code. */
int art__uring_open_ring(art__uring_ring_t *r) {
  struct io_uring_params p;
  int err;
  memset(r, 0, sizeof(*r));
  r->fd = setup_ring(&p);
  if (r->fd < 0)
    return r->fd;
  r->features = p.features;
  r->flags = p.flags;
  if ((err = check_ring(r)) != 0 || (err = map_rings(r, &p)) != 0) {
    art__uring_close_ring(r);
    return err;
  }
  return 0;
}
