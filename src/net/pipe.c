/* Pipe handles: Unix domain sockets (filesystem and Linux abstract names),
 * any other fd adopted with art_pipe_open, and IPC handle passing.
 *
 * Notes:
 * 1. Names are never truncated: a name that does not fit sun_path is
 *    ART_ENAMETOOLONG. Filesystem names keep room for their NUL; abstract
 *    names (leading '\0') may use all of sun_path, and their length is part
 *    of the name, which is why the *2 functions take one.
 * 2. Handles arrive as SCM_RIGHTS control messages with the data; recvmsg
 *    uses MSG_CMSG_CLOEXEC so a received fd never leaks into a child spawned
 *    before it is accepted. Each received fd waits in a small array until
 *    art_accept takes it; its type is read from the socket itself.
 * 3. The path a pipe was bound to is unlinked when the handle closes, so a
 *    restarted server can bind it again.
 */
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "stream.h"

#define MAX_FDS_PER_MSG 16

static int is_pipe(const art_pipe_t *p) {
  return art__handle_usable((const art_handle_t *)p) &&
         p->type == ART_NAMED_PIPE;
}

static const art__stream_ops_t ipc_pipe_ops;

int art_pipe_init(art_loop_t *loop, art_pipe_t *p, int ipc) {
  if (!art__loop_usable(loop) || p == NULL)
    return ART_EINVAL;
  art__stream_init(loop, (art_stream_t *)p,
                   ipc ? &ipc_pipe_ops : &art__pipe_ops);
  p->ipc = ipc != 0;
  if (p->ipc)
    p->stream_flags_ |= ART__S_IPC;
  p->name_ = NULL;
  p->fds_ = NULL;
  p->nfds_ = 0;
  p->fds_cap_ = 0;
  return 0;
}

/* An accepted connection (already non-blocking and close-on-exec). */
static int open_accepted(art_stream_t *s, int fd) {
  return art__stream_open(s, fd,
                          ART__S_READABLE | ART__S_WRITABLE | ART__S_SOCKET);
}

/* What an adopted fd can do: a socket is readable and writable once
 * connected; anything else as its access mode says. */
static unsigned fd_abilities(int fd, const struct stat *sb) {
  if (S_ISSOCK(sb->st_mode)) {
    struct sockaddr_storage peer;
    socklen_t len = sizeof(peer);
    if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
      return ART__S_READABLE | ART__S_WRITABLE;
    return 0;
  }
  int mode = fcntl(fd, F_GETFL) & O_ACCMODE;
  if (mode == O_RDONLY)
    return ART__S_READABLE;
  if (mode == O_WRONLY)
    return ART__S_WRITABLE;
  return ART__S_READABLE | ART__S_WRITABLE;
}

int art_pipe_open(art_pipe_t *p, int fd) {
  struct stat sb;
  if (!is_pipe(p))
    return ART_EINVAL;
  if (fd < 0 || fstat(fd, &sb) == -1)
    return ART_EBADF;
  if (p->io_.fd >= 0)
    return ART_EBUSY;
  if (S_ISDIR(sb.st_mode))
    return ART_EISDIR;
  if (!S_ISREG(sb.st_mode)) {
    int err = art__nonblock(fd, 1);
    if (err)
      return err;
  }
  return art__stream_open((art_stream_t *)p, fd, fd_abilities(fd, &sb));
}

/* Fills *sun with a name of len bytes (note 1). */
static int make_addr(struct sockaddr_un *sun, socklen_t *slen, const char *name,
                     size_t len) {
  if (name == NULL || len == 0)
    return ART_EINVAL;
  int abstract = name[0] == '\0';
  if (!abstract && memchr(name, '\0', len) != NULL)
    return ART_EINVAL;
  if (len > sizeof(sun->sun_path) - (abstract ? 0 : 1))
    return ART_ENAMETOOLONG;
  memset(sun, 0, sizeof(*sun));
  sun->sun_family = AF_UNIX;
  memcpy(sun->sun_path, name, len);
  *slen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len +
                      (abstract ? 0 : 1));
  return 0;
}

static int new_socket(art_pipe_t *p) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1)
    return -errno;
  int err = art__stream_open((art_stream_t *)p, fd, ART__S_SOCKET);
  if (err)
    art__close_fd(fd);
  return err;
}

int art_pipe_bind2(art_pipe_t *p, const char *name, size_t len) {
  struct sockaddr_un sun;
  socklen_t slen;
  if (!is_pipe(p))
    return ART_EINVAL;
  int err = make_addr(&sun, &slen, name, len);
  if (err)
    return err;
  if (p->io_.fd >= 0)
    return ART_EINVAL;
  char *copy = NULL;
  if (name[0] != '\0' && (copy = art__malloc(len + 1)) == NULL)
    return ART_ENOMEM;
  err = new_socket(p);
  if (!err && bind(p->io_.fd, (struct sockaddr *)&sun, slen) == -1) {
    err = -errno; /* the socket goes: a later bind may try again */
    art__close_fd(p->io_.fd);
    p->io_.fd = -1;
    p->stream_flags_ &= ~ART__S_SOCKET;
  }
  p->bind_error_ = err;
  if (err) {
    art__free(copy);
    return err;
  }
  if (copy != NULL) {
    memcpy(copy, name, len);
    copy[len] = '\0';
  }
  p->name_ = copy;
  return 0;
}

int art_pipe_bind(art_pipe_t *p, const char *name) {
  if (name == NULL)
    return ART_EINVAL;
  return art_pipe_bind2(p, name, strlen(name));
}

int art_pipe_connect2(art_connect_t *req, art_pipe_t *p, const char *name,
                      size_t len, art_connect_cb cb) {
  struct sockaddr_un sun;
  socklen_t slen;
  if (req == NULL || !is_pipe(p) || cb == NULL)
    return ART_EINVAL;
  int err = make_addr(&sun, &slen, name, len);
  if (err)
    return err;
  if (p->connect_req_ != NULL)
    return ART_EALREADY;
  if (p->io_.fd >= 0)
    return ART_EISCONN;
  err = p->bind_error_; /* the callback gets it, as connect's own */
  if (err == 0 && (err = new_socket(p)) != 0)
    return err;
  if (err == 0 && connect(p->io_.fd, (struct sockaddr *)&sun, slen) == -1)
    err = errno == EINTR ? -EINPROGRESS : -errno;
  art__stream_connect_start(req, (art_stream_t *)p, err, cb);
  return 0;
}

int art_pipe_connect(art_connect_t *req, art_pipe_t *p, const char *name,
                     art_connect_cb cb) {
  if (name == NULL)
    return ART_EINVAL;
  return art_pipe_connect2(req, p, name, strlen(name), cb);
}

typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);

static int get_name(const art_pipe_t *p, char *buf, size_t *len, name_fn fn) {
  struct sockaddr_un sun;
  socklen_t slen = sizeof(sun);
  if (!is_pipe(p) || buf == NULL || len == NULL)
    return ART_EINVAL;
  if (p->io_.fd < 0)
    return ART_EBADF;
  memset(&sun, 0, sizeof(sun));
  if (fn(p->io_.fd, (struct sockaddr *)&sun, &slen) == -1)
    return -errno;
  size_t n = slen > offsetof(struct sockaddr_un, sun_path)
                 ? slen - offsetof(struct sockaddr_un, sun_path)
                 : 0;
  if (n > 0 && sun.sun_path[0] != '\0')
    n = strnlen(sun.sun_path, n);
  if (n + 1 > *len) {
    *len = n + 1;
    return ART_ENOBUFS;
  }
  memcpy(buf, sun.sun_path, n);
  buf[n] = '\0';
  *len = n;
  return 0;
}

int art_pipe_getsockname(const art_pipe_t *p, char *buf, size_t *len) {
  return get_name(p, buf, len, getsockname);
}

int art_pipe_getpeername(const art_pipe_t *p, char *buf, size_t *len) {
  return get_name(p, buf, len, getpeername);
}

int art_pipe_chmod(art_pipe_t *p, int flags) {
  struct stat sb;
  if (!is_pipe(p) || flags == 0 ||
      (flags & ~(ART_READABLE | ART_WRITABLE)) != 0)
    return ART_EINVAL;
  if (p->name_ == NULL)
    return ART_EBADF;
  if (stat(p->name_, &sb) == -1)
    return -errno;
  mode_t mode = sb.st_mode & 07777;
  if (flags & ART_READABLE)
    mode |= S_IRUSR | S_IRGRP | S_IROTH;
  if (flags & ART_WRITABLE)
    mode |= S_IWUSR | S_IWGRP | S_IWOTH;
  if (chmod(p->name_, mode) == -1)
    return -errno;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* IPC.                                                                     */

/* What kind of handle a received fd makes. */
static art_handle_type fd_type(int fd) {
  int domain = 0, type = 0;
  socklen_t len = sizeof(domain);
  if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) == -1)
    return ART_NAMED_PIPE; /* not a socket: a pipe(2) end or the like */
  len = sizeof(type);
  getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len);
  if (domain == AF_UNIX)
    return ART_NAMED_PIPE;
  if (type == SOCK_DGRAM)
    return ART_UDP;
  if (type == SOCK_STREAM)
    return ART_TCP;
  return ART_UNKNOWN_HANDLE;
}

static void push_fd(art_pipe_t *p, int fd) {
  if (p->nfds_ == p->fds_cap_) {
    unsigned cap = p->fds_cap_ ? p->fds_cap_ * 2 : 4;
    void *fds = art__realloc(p->fds_, cap * sizeof(*p->fds_));
    if (fds == NULL) {
      art__close_fd(fd); /* cannot keep it: the peer sees it closed */
      return;
    }
    p->fds_ = fds;
    p->fds_cap_ = cap;
  }
  p->fds_[p->nfds_].fd = fd;
  p->fds_[p->nfds_].type = fd_type(fd);
  p->nfds_++;
}

static void take_fds(art_pipe_t *p, struct msghdr *msg) {
  struct cmsghdr *c;
  for (c = CMSG_FIRSTHDR(msg); c != NULL; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
      continue;
    size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < n; i++) {
      int fd;
      memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      push_fd(p, fd);
    }
  }
}

/* An IPC pipe's read: recvmsg, keeping the fds that came with the bytes. */
static ssize_t ipc_recv(art_stream_t *s, char *buf, size_t len) {
  union {
    char buf[CMSG_SPACE(MAX_FDS_PER_MSG * sizeof(int))];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {buf, len};
  struct msghdr msg = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = ctl.buf,
                       .msg_controllen = sizeof(ctl.buf)};
  ssize_t n;
  do
    n = recvmsg(s->io_.fd, &msg, MSG_CMSG_CLOEXEC);
  while (n == -1 && errno == EINTR);
  if (n > 0)
    take_fds((art_pipe_t *)s, &msg);
  return n;
}

int art_pipe_pending_count(const art_pipe_t *p) {
  return is_pipe(p) ? (int)p->nfds_ : 0;
}

art_handle_type art_pipe_pending_type(const art_pipe_t *p) {
  if (!is_pipe(p) || p->nfds_ == 0)
    return ART_UNKNOWN_HANDLE;
  return p->fds_[0].type;
}

int art_write2(art_write_t *req, art_stream_t *s, const art_buf_t bufs[],
               unsigned nbufs, art_stream_t *send_handle, art_write_cb cb) {
  if (send_handle == NULL)
    return art_write(req, s, bufs, nbufs, cb);
  if (!art__stream_usable(s) || !(s->stream_flags_ & ART__S_IPC) ||
      art__handle_fd((art_handle_t *)send_handle) < 0 || bufs == NULL ||
      nbufs == 0)
    return ART_EINVAL;
  size_t total = 0;
  for (unsigned i = 0; i < nbufs; i++)
    total += bufs[i].len;
  if (total == 0)
    return ART_EINVAL;
  return art__stream_write(req, s, bufs, nbufs, send_handle, cb);
}

/* art_accept on an IPC pipe: the oldest received handle goes into client,
 * which must be of the type it was sent as. */
static int accept_pending(art_stream_t *s, art_handle_t *client) {
  art_pipe_t *p = (art_pipe_t *)s;
  if (p->nfds_ == 0)
    return ART_EAGAIN;
  art__pending_fd_t next = p->fds_[0];
  int err;
  if (client->type != next.type)
    return ART_EINVAL;
  if (next.type == ART_TCP)
    err = art_tcp_open((art_tcp_t *)client, next.fd);
  else if (next.type == ART_NAMED_PIPE)
    err = art_pipe_open((art_pipe_t *)client, next.fd);
  else if (next.type == ART_UDP)
    err = art_udp_open((art_udp_t *)client, next.fd);
  else
    err = ART_ENOTSUP;
  if (err)
    return err;
  p->nfds_--;
  memmove(p->fds_, p->fds_ + 1, p->nfds_ * sizeof(*p->fds_));
  return 0;
}

/* Closing: the stream part, then what only pipes own (note 3). */
static void pipe_close(art_handle_t *h) {
  art_pipe_t *p = (art_pipe_t *)h;
  art__stream_close(h);
  if (p->name_ != NULL) {
    unlink(p->name_);
    art__free(p->name_);
    p->name_ = NULL;
  }
  for (unsigned i = 0; i < p->nfds_; i++)
    art__close_fd(p->fds_[i].fd);
  art__free(p->fds_);
  p->fds_ = NULL;
  p->nfds_ = p->fds_cap_ = 0;
}

const art__stream_ops_t art__pipe_ops = {
    {ART_NAMED_PIPE, "pipe", sizeof(art_pipe_t), pipe_close,
     art__stream_endgame, art__stream_fd, art__sring_busy},
    NULL,
    open_accepted,
    NULL};

/* An IPC pipe reads with recvmsg and hands out the handles it received. */
static const art__stream_ops_t ipc_pipe_ops = {
    {ART_NAMED_PIPE, "pipe", sizeof(art_pipe_t), pipe_close,
     art__stream_endgame, art__stream_fd, NULL},
    ipc_recv,
    open_accepted,
    accept_pending};
