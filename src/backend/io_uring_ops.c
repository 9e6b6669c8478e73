/* How each kind of whole operation (art__op_t) becomes an io_uring SQE.
 *
 * Notes:
 * 1. Paths are copied by the kernel when it takes the SQE (getname at
 *    prep), so the caller's string must live until the enter that submits
 *    it; the owners keep theirs until the operation completes anyway.
 * 2. Path operations name AT_FDCWD: the current directory at the time the
 *    kernel takes the SQE, as for the system call made on a pool thread.
 * 3. OPENAT is tried without blocking first, with O_NONBLOCK forced, which
 *    opens a FIFO for reading at once and refuses one for writing (ENXIO)
 *    where open(2) waits for the other end. ART__OP_BLOCKING (IOSQE_ASYNC)
 *    sends it to a kernel worker at once, where it blocks as open(2) does.
 * 4. FTRUNCATE came with Linux 6.9; the header of an older system may not
 *    name it, its number is fixed all the same. The backend probes every
 *    opcode before it offers the kind.
 * 5. A multishot accept (Linux 5.19) posts one CQE per connection with
 *    IORING_CQE_F_MORE while it stays armed; the probe cannot tell the
 *    flag apart, so an older kernel answers its first CQE with -EINVAL and
 *    no F_MORE, which ends it like any other error.
 * 6. Sends carry MSG_NOSIGNAL: a peer gone away is an EPIPE result, never
 *    a SIGPIPE. Never MSG_WAITALL: with it the kernel would retry a short
 *    stream send inside the operation, and the owner would see no
 *    progress until all of it went (a test in test_stream.c says so). A
 *    receive with ART__OP_PROVIDED names buffer group 0, the backend's
 *    pool (io_uring.c, note 13), and a length of 0: the buffer's.
 */
#include <fcntl.h>
#include <sys/socket.h>

#include "io_uring_ops.h"

#define OP_FTRUNCATE 55 /* IORING_OP_FTRUNCATE (note 4) */

int art__uring_opcode(art__op_kind kind) {
  static const int codes[ART__OP_KINDS] = {
      [ART__OP_READ] = IORING_OP_READ,
      [ART__OP_WRITE] = IORING_OP_WRITE,
      [ART__OP_ACCEPT] = IORING_OP_ACCEPT,
      [ART__OP_FSYNC] = IORING_OP_FSYNC,
      [ART__OP_FDATASYNC] = IORING_OP_FSYNC,
      [ART__OP_READV] = IORING_OP_READV,
      [ART__OP_WRITEV] = IORING_OP_WRITEV,
      [ART__OP_OPEN] = IORING_OP_OPENAT,
      [ART__OP_CLOSE] = IORING_OP_CLOSE,
      [ART__OP_STATX] = IORING_OP_STATX,
      [ART__OP_RENAME] = IORING_OP_RENAMEAT,
      [ART__OP_UNLINK] = IORING_OP_UNLINKAT,
      [ART__OP_RMDIR] = IORING_OP_UNLINKAT,
      [ART__OP_MKDIR] = IORING_OP_MKDIRAT,
      [ART__OP_LINK] = IORING_OP_LINKAT,
      [ART__OP_SYMLINK] = IORING_OP_SYMLINKAT,
      [ART__OP_FTRUNCATE] = OP_FTRUNCATE,
      [ART__OP_SEND] = IORING_OP_SEND,
      [ART__OP_SENDMSG] = IORING_OP_SENDMSG,
      [ART__OP_RECV] = IORING_OP_RECV,
      [ART__OP_RECVMSG] = IORING_OP_RECVMSG,
      [ART__OP_CONNECT] = IORING_OP_CONNECT,
  };
  if ((unsigned)kind >= ART__OP_KINDS || codes[kind] == 0)
    return -1;
  return codes[kind];
}

static uint64_t ptr(const void *p) {
  return (uint64_t)(uintptr_t)p;
}

/* Operations on an fd: reads, writes, syncs, close, accept, ftruncate. */
static void prep_fd(struct io_uring_sqe *sqe, const art__op_t *op) {
  sqe->fd = op->fd;
  switch (op->kind) {
  case ART__OP_READ:
  case ART__OP_WRITE:
    sqe->addr = ptr(op->buf);
    sqe->len = op->len > UINT32_MAX ? UINT32_MAX : (uint32_t)op->len;
    sqe->off = (uint64_t)op->offset; /* -1: the file position */
    break;
  case ART__OP_READV:
  case ART__OP_WRITEV:
    sqe->addr = ptr(op->buf);
    sqe->len = (uint32_t)op->len; /* the owner keeps it within IOV_MAX */
    sqe->off = (uint64_t)op->offset;
    break;
  case ART__OP_ACCEPT:
    sqe->accept_flags = SOCK_NONBLOCK | SOCK_CLOEXEC;
    if (op->how & ART__OP_MULTISHOT)
      sqe->ioprio |= IORING_ACCEPT_MULTISHOT; /* note 5 */
    break;
  case ART__OP_FDATASYNC:
    sqe->fsync_flags = IORING_FSYNC_DATASYNC;
    break;
  case ART__OP_FTRUNCATE:
    sqe->off = (uint64_t)op->offset;
    break;
  case ART__OP_SEND:
  case ART__OP_RECV:
    sqe->addr = ptr(op->buf);
    sqe->len = op->len > UINT32_MAX ? UINT32_MAX : (uint32_t)op->len;
    sqe->msg_flags = (uint32_t)op->flags;
    if (op->kind == ART__OP_SEND)
      sqe->msg_flags |= MSG_NOSIGNAL; /* note 6 */
    break;
  case ART__OP_SENDMSG:
  case ART__OP_RECVMSG:
    sqe->addr = ptr(op->buf);
    sqe->len = 1;
    sqe->msg_flags = (uint32_t)op->flags;
    if (op->kind == ART__OP_SENDMSG)
      sqe->msg_flags |= MSG_NOSIGNAL;
    break;
  case ART__OP_CONNECT:
    sqe->addr = ptr(op->buf);
    sqe->off = op->len; /* the address's length */
    break;
  default: /* FSYNC, CLOSE: the fd is all */
    break;
  }
}

/* Operations on paths (note 2): the second path or the buffer goes in
 * addr2, which shares its place with off. */
static void prep_path(struct io_uring_sqe *sqe, const art__op_t *op) {
  sqe->fd = AT_FDCWD;
  sqe->addr = ptr(op->path);
  switch (op->kind) {
  case ART__OP_OPEN:
    sqe->open_flags = (uint32_t)op->flags;
    sqe->len = op->mode;
    break;
  case ART__OP_STATX:
    sqe->fd = op->fd;
    sqe->statx_flags = (uint32_t)op->flags;
    sqe->len = op->mode;
    sqe->off = ptr(op->buf);
    break;
  case ART__OP_RENAME:
  case ART__OP_LINK:
    sqe->len = (uint32_t)AT_FDCWD; /* the folder of the second path */
    sqe->off = ptr(op->path2);
    break;
  case ART__OP_SYMLINK:
    sqe->off = ptr(op->path2);
    break;
  case ART__OP_RMDIR:
    sqe->unlink_flags = AT_REMOVEDIR;
    break;
  case ART__OP_MKDIR:
    sqe->len = op->mode;
    break;
  default: /* UNLINK: the path is all */
    break;
  }
}

int art__uring_prep(struct io_uring_sqe *sqe, const art__op_t *op) {
  int code = art__uring_opcode(op->kind);
  if (code < 0)
    return ART_EINVAL;
  sqe->opcode = (uint8_t)code;
  switch (op->kind) {
  case ART__OP_OPEN:
  case ART__OP_STATX:
  case ART__OP_RENAME:
  case ART__OP_UNLINK:
  case ART__OP_RMDIR:
  case ART__OP_MKDIR:
  case ART__OP_LINK:
  case ART__OP_SYMLINK:
    prep_path(sqe, op);
    break;
  default:
    prep_fd(sqe, op);
    break;
  }
  if (op->how & ART__OP_BLOCKING)
    sqe->flags |= IOSQE_ASYNC;      /* note 3 */
  if (op->how & ART__OP_PROVIDED) { /* note 6 */
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = 0;
    sqe->addr = 0;
    sqe->len = 0;
  }
  if ((op->how & ART__OP_MULTISHOT) &&
      (op->kind == ART__OP_RECV || op->kind == ART__OP_RECVMSG))
    sqe->ioprio |= IORING_RECV_MULTISHOT;
  if ((op->how & ART__OP_POLL_FIRST) &&
      (op->kind == ART__OP_RECV || op->kind == ART__OP_RECVMSG))
    sqe->ioprio |= IORING_RECVSEND_POLL_FIRST;
  return 0;
}
