/* One io_uring and what is mapped of it: the state src/backend/io_uring.c
 * runs the backend on, made and given up by src/backend/io_uring_ring.c
 * (set-up, probing, mapping). Private to the backend. */
#ifndef ART_BACKEND_IO_URING_RING_H
#define ART_BACKEND_IO_URING_RING_H

#include <linux/io_uring.h>
#include <sys/types.h>

#include "backend.h"

/* Every architecture but alpha numbers the system calls added since Linux
 * 5.1 alike. */
#ifndef SYS_io_uring_setup
#define SYS_io_uring_setup 425
#endif
#ifndef SYS_io_uring_enter
#define SYS_io_uring_enter 426
#endif
#ifndef SYS_io_uring_register
#define SYS_io_uring_register 427
#endif

#define ART__URING_SQ_ENTRIES 256
#define ART__URING_CQ_ENTRIES (4 * ART__URING_SQ_ENTRIES)

/* One ring: its fd and what is mapped of it. */
typedef struct {
  int fd;            /* the ring's fd, O_CLOEXEC */
  unsigned features; /* IORING_FEAT_* */
  unsigned flags;    /* IORING_SETUP_* the ring got */
  uint32_t kinds;    /* bit k: the ring runs art__op_kind k */
  /* Submission ring: head is the kernel's, tail ours. */
  unsigned *sq_head, *sq_tail, *sq_flags;
  unsigned sq_mask, sq_entries;
  unsigned sq_local_tail; /* SQEs written, published or not */
  struct io_uring_sqe *sqes;
  /* Completion ring: tail is the kernel's, head ours. */
  unsigned *cq_head, *cq_tail;
  unsigned cq_mask;
  struct io_uring_cqe *cqes;
  void *ring_map;  /* SQ and CQ rings, one mapping (IORING_FEAT_SINGLE_MMAP) */
  size_t ring_len; /* bytes of ring_map */
  size_t sqes_len; /* bytes of sqes */
  pid_t pid;       /* the process that mapped the rings */
} art__uring_ring_t;

/* A new ring with the best set-up flags the kernel takes, checked for what
 * the backend relies on (ENOSYS when it lacks something) and mapped; 0 or
 * a negative ART_E* code. */
int art__uring_open_ring(art__uring_ring_t *r) ART__HIDDEN;

/* Closes r's fd, and unmaps its rings in the process that mapped them
 * only (a forked child never had them mapped). */
void art__uring_close_ring(art__uring_ring_t *r) ART__HIDDEN;

#endif
