/* The SQE of each kind of operation the io_uring backend runs whole
 * (src/backend/io_uring_ops.c), for src/backend/io_uring.c. */
#ifndef ART_BACKEND_IO_URING_OPS_H
#define ART_BACKEND_IO_URING_OPS_H

#include <linux/io_uring.h>

#include "backend.h"

/* The io_uring opcode of kind, or -1 for none. */
int art__uring_opcode(art__op_kind kind) ART__HIDDEN;

/* Fills a zeroed SQE for op (its user_data aside). 0, or ART_EINVAL for a
 * kind the backend does not know. */
int art__uring_prep(struct io_uring_sqe *sqe, const art__op_t *op) ART__HIDDEN;

#endif
