/* TCP handles: sockets created on bind or connect (the family is known only
 * then), socket options, and the TCP side of accept. Reading, writing,
 * listening and closing are the stream base's (stream.c, stream_server.c).
 */
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "stream.h"

/* TCP's own stream flags. */
enum {
  T_NODELAY = 1u << ART__S_TYPE_SHIFT /* apply TCP_NODELAY on creation */
};

static int is_tcp(const art_tcp_t *tcp) {
  return art__handle_usable((const art_handle_t *)tcp) && tcp->type == ART_TCP;
}

static int set_int_opt(int fd, int level, int name, int value) {
  if (setsockopt(fd, level, name, &value, sizeof(value)) == -1)
    return -errno;
  return 0;
}

/* Adopts fd (non-blocking, close-on-exec) with the given stream flags. */
static int adopt(art_tcp_t *tcp, int fd, unsigned flags) {
  art_stream_t *s = (art_stream_t *)tcp;
  int err = art__stream_open(s, fd, flags | ART__S_SOCKET);
  if (err)
    return err;
  if (s->stream_flags_ & T_NODELAY)
    set_int_opt(fd, IPPROTO_TCP, TCP_NODELAY, 1);
  return 0;
}

static int new_socket(art_tcp_t *tcp, int family) {
  if (tcp->io_.fd >= 0)
    return 0;
  int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1)
    return -errno;
  int err = adopt(tcp, fd, 0);
  if (err)
    art__close_fd(fd);
  return err;
}

int art_tcp_init(art_loop_t *loop, art_tcp_t *tcp) {
  if (!art__loop_usable(loop) || tcp == NULL)
    return ART_EINVAL;
  art__stream_init(loop, (art_stream_t *)tcp, &art__tcp_ops);
  return 0;
}

/* An accepted connection (already non-blocking and close-on-exec). */
static int open_accepted(art_stream_t *s, int fd) {
  return adopt((art_tcp_t *)s, fd, ART__S_READABLE | ART__S_WRITABLE);
}

int art_tcp_open(art_tcp_t *tcp, int fd) {
  struct stat sb;
  struct sockaddr_storage peer;
  socklen_t len = sizeof(peer);
  if (!is_tcp(tcp))
    return ART_EINVAL;
  if (fd < 0 || fstat(fd, &sb) == -1)
    return ART_EBADF;
  if (!S_ISSOCK(sb.st_mode))
    return ART_ENOTSOCK;
  if (tcp->io_.fd >= 0)
    return ART_EBUSY;
  int err = art__nonblock(fd, 1);
  if (!err)
    err = art__cloexec(fd, 1);
  if (err)
    return err;
  unsigned flags = 0;
  if (getpeername(fd, (struct sockaddr *)&peer, &len) == 0)
    flags = ART__S_READABLE | ART__S_WRITABLE;
  return adopt(tcp, fd, flags);
}

static int addr_len(const struct sockaddr *addr, socklen_t *len) {
  if (addr == NULL)
    return ART_EINVAL;
  if (addr->sa_family == AF_INET)
    *len = sizeof(struct sockaddr_in);
  else if (addr->sa_family == AF_INET6)
    *len = sizeof(struct sockaddr_in6);
  else
    return ART_EINVAL;
  return 0;
}

/* The options bind flags ask for, then bind(2); 0 or the error. */
static int bind_socket(int fd, const struct sockaddr *addr, socklen_t len,
                       unsigned flags) {
  int err = set_int_opt(fd, SOL_SOCKET, SO_REUSEADDR, 1);
  if (!err && (flags & ART_TCP_REUSEPORT))
    err = set_int_opt(fd, SOL_SOCKET, SO_REUSEPORT, 1);
  if (!err && addr->sa_family == AF_INET6)
    err = set_int_opt(fd, IPPROTO_IPV6, IPV6_V6ONLY,
                      (flags & ART_TCP_IPV6ONLY) != 0);
  if (!err && bind(fd, addr, len) == -1)
    err = -errno;
  return err;
}

int art_tcp_bind(art_tcp_t *tcp, const struct sockaddr *addr, unsigned flags) {
  socklen_t len;
  if (!is_tcp(tcp) || addr_len(addr, &len) != 0 ||
      (flags & ~(unsigned)(ART_TCP_IPV6ONLY | ART_TCP_REUSEPORT)) != 0)
    return ART_EINVAL;
  if ((flags & ART_TCP_IPV6ONLY) && addr->sa_family != AF_INET6)
    return ART_EINVAL;
  int err = new_socket(tcp, addr->sa_family);
  if (!err)
    err = bind_socket(tcp->io_.fd, addr, len, flags);
  tcp->bind_error_ = err;
  return err;
}

int art_tcp_connect(art_connect_t *req, art_tcp_t *tcp,
                    const struct sockaddr *addr, art_connect_cb cb) {
  socklen_t len;
  if (req == NULL || !is_tcp(tcp) || cb == NULL || addr_len(addr, &len) != 0)
    return ART_EINVAL;
  if (tcp->connect_req_ != NULL)
    return ART_EALREADY;
  if (tcp->stream_flags_ & ART__S_LISTENING)
    return ART_EINVAL;
  if (tcp->stream_flags_ & (ART__S_READABLE | ART__S_WRITABLE | ART__S_SHUT))
    return ART_EISCONN;
  int err = tcp->bind_error_; /* the callback gets it, as connect's own */
  if (err == 0 && (err = new_socket(tcp, addr->sa_family)) != 0)
    return err;
  art__stream_connect(req, (art_stream_t *)tcp, addr, len, err, cb);
  return 0;
}

int art_tcp_nodelay(art_tcp_t *tcp, int enable) {
  if (!is_tcp(tcp))
    return ART_EINVAL;
  if (enable)
    tcp->stream_flags_ |= T_NODELAY;
  else
    tcp->stream_flags_ &= ~T_NODELAY;
  if (tcp->io_.fd < 0)
    return 0; /* applied when the socket is created */
  return set_int_opt(tcp->io_.fd, IPPROTO_TCP, TCP_NODELAY, enable != 0);
}

int art_tcp_keepalive(art_tcp_t *tcp, int enable, unsigned delay,
                      unsigned interval, unsigned count) {
  if (!is_tcp(tcp))
    return ART_EINVAL;
  if (enable && (delay == 0 || interval == 0 || count == 0 ||
                 delay > INT32_MAX || interval > INT32_MAX || count > 127))
    return ART_EINVAL;
  if (tcp->io_.fd < 0)
    return ART_EBADF;
  int fd = tcp->io_.fd;
  int err = set_int_opt(fd, SOL_SOCKET, SO_KEEPALIVE, enable != 0);
  if (err || !enable)
    return err;
  err = set_int_opt(fd, IPPROTO_TCP, TCP_KEEPIDLE, (int)delay);
  if (!err)
    err = set_int_opt(fd, IPPROTO_TCP, TCP_KEEPINTVL, (int)interval);
  if (!err)
    err = set_int_opt(fd, IPPROTO_TCP, TCP_KEEPCNT, (int)count);
  return err;
}

typedef int (*name_fn)(int, struct sockaddr *, socklen_t *);

static int get_name(const art_tcp_t *tcp, struct sockaddr *name, int *namelen,
                    name_fn fn) {
  if (!is_tcp(tcp) || name == NULL || namelen == NULL || *namelen < 0)
    return ART_EINVAL;
  if (tcp->io_.fd < 0)
    return ART_EBADF;
  socklen_t len = (socklen_t)*namelen;
  if (fn(tcp->io_.fd, name, &len) == -1)
    return -errno;
  *namelen = (int)len;
  return 0;
}

int art_tcp_getsockname(const art_tcp_t *tcp, struct sockaddr *name,
                        int *namelen) {
  return get_name(tcp, name, namelen, getsockname);
}

int art_tcp_getpeername(const art_tcp_t *tcp, struct sockaddr *name,
                        int *namelen) {
  return get_name(tcp, name, namelen, getpeername);
}

/* SO_LINGER with a zero timeout makes close(2) send RST and drop unsent
 * data, which is what a server does to a misbehaving peer. */
int art_tcp_close_reset(art_tcp_t *tcp, art_close_cb close_cb) {
  if (!is_tcp(tcp) || tcp->shutdown_req_ != NULL)
    return ART_EINVAL;
  if (tcp->io_.fd >= 0) {
    struct linger l = {1, 0};
    if (setsockopt(tcp->io_.fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l)) == -1)
      return -errno;
  }
  return art_close((art_handle_t *)tcp, close_cb);
}

const art__stream_ops_t art__tcp_ops = {{ART_TCP, "tcp", sizeof(art_tcp_t),
                                         art__stream_close, art__stream_endgame,
                                         art__stream_fd, art__sring_busy},
                                        NULL,
                                        open_accepted,
                                        NULL};
