/* Listening streams (TCP and Unix sockets): art_listen, accepting in
 * batches, art_accept, and the defence against running out of fds.
 *
 * Notes:
 * 1. accept4 gives the new fd SOCK_CLOEXEC|SOCK_NONBLOCK in one call. At
 *    most MAX_ACCEPTS connections are taken per wakeup so one listener under
 *    a connection storm cannot starve the loop's other handles; the
 *    level-triggered poller brings the rest in the next iteration.
 * 2. A connection the user has not taken with art_accept pauses accepting
 *    (the watcher stops reading); art_accept resumes it. The kernel's
 *    backlog does the queueing meanwhile.
 * 3. EMFILE/ENFILE: the listen socket stays readable while connections
 *    wait, so a level-triggered loop would spin. Each loop keeps one spare
 *    fd (an open /dev/null); on EMFILE it closes it, accepts and closes
 *    every waiting connection (their peers see the connection end), and
 *    reopens it. Connections already open are untouched. The listener's
 *    callback is told ART_EMFILE / ART_ENFILE once per such round. If the
 *    spare could not be reopened (another thread took the fd), it is
 *    reopened at the next wakeup before accepting.
 */
#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stream.h"

#define MAX_ACCEPTS 64

/* The listeners' per-loop state: the spare fd of note 3. */
typedef struct {
  int reserve_fd; /* an open /dev/null, or -1 */
} listen_state_t;

static void listen_loop_close(art_loop_t *loop, void *state) {
  listen_state_t *st = state;
  (void)loop;
  art__close_fd(st->reserve_fd);
  art__free(st);
}

static const art__ext_t listen_ext = {"listen", listen_loop_close, NULL};

static listen_state_t *listen_state(art_loop_t *loop) {
  listen_state_t *st = art__ext_get(loop, &listen_ext);
  if (st != NULL)
    return st;
  st = art__malloc(sizeof(*st));
  if (st == NULL)
    return NULL;
  st->reserve_fd = -1;
  if (art__ext_set(loop, &listen_ext, st) != 0) {
    art__free(st);
    return NULL;
  }
  return st;
}

static void reserve_open(listen_state_t *st) {
  if (st->reserve_fd < 0)
    st->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
}

/* Out of fds (note 3): spend the spare fd to drain the backlog. */
static void emfile_defence(art_stream_t *s) {
  listen_state_t *st = art__ext_get(s->loop, &listen_ext);
  if (st == NULL || st->reserve_fd < 0)
    return;
  art__close_fd(st->reserve_fd);
  st->reserve_fd = -1;
  for (;;) {
    int fd = accept4(s->io_.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd >= 0) {
      art__close_fd(fd);
      continue;
    }
    if (errno != EINTR && errno != ECONNABORTED)
      break;
  }
  reserve_open(st);
}

static void report(art_stream_t *s, int status) {
  ART__CALLBACK(s, s->connection_cb_, (s, status));
}

static int still_listening(const art_stream_t *s) {
  return art__handle_usable((const art_handle_t *)s) &&
         (s->stream_flags_ & ART__S_LISTENING);
}

/* The watcher callback of a listening stream (art_listen installs it). */
static void server_io(art_loop_t *loop, art__io_t *w, unsigned events) {
  art_stream_t *s = art__container_of(w, art_stream_t, io_);
  listen_state_t *st = art__ext_get(loop, &listen_ext);
  if (events & ART__IO_REFUSED) { /* no connection can reach us now */
    s->stream_flags_ &= ~ART__S_LISTENING;
    art__handle_stop((art_handle_t *)s);
    report(s, w->error);
    return;
  }
  if (st != NULL)
    reserve_open(st);
  for (int i = 0; i < MAX_ACCEPTS && still_listening(s); i++) {
    if (s->accepted_fd_ >= 0) {
      art__io_stop(loop, &s->io_, ART_READABLE); /* note 2 */
      return;
    }
    int fd = accept4(s->io_.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) {
      int err = errno;
      if (err == EAGAIN || err == EWOULDBLOCK)
        return;
      if (err == EINTR || err == ECONNABORTED)
        continue;
      if (err == EMFILE || err == ENFILE)
        emfile_defence(s);
      report(s, -err);
      return;
    }
    s->accepted_fd_ = fd;
    report(s, 0);
  }
  if (still_listening(s) && s->accepted_fd_ >= 0)
    art__io_stop(loop, &s->io_, ART_READABLE);
}

int art_listen(art_stream_t *s, int backlog, art_connection_cb cb) {
  if (!art__stream_usable(s) || cb == NULL || s->type == ART_TTY)
    return ART_EINVAL;
  if (s->bind_error_ != 0) /* not bound where the caller asked */
    return s->bind_error_;
  if (s->io_.fd < 0 || (s->stream_flags_ & ART__S_READING) ||
      !(s->stream_flags_ & ART__S_SOCKET))
    return ART_EINVAL;
  listen_state_t *st = listen_state(s->loop);
  if (st == NULL)
    return ART_ENOMEM;
  reserve_open(st);
  if (st->reserve_fd < 0)
    return -errno;
  if (listen(s->io_.fd, backlog) == -1)
    return -errno;
  s->io_.cb = server_io; /* from now on the fd only accepts */
  /* Registered now, so that a refusal is art_listen's error. */
  int err = art__io_start_now(s->loop, &s->io_, ART_READABLE);
  if (err)
    return err;
  s->connection_cb_ = cb;
  s->stream_flags_ |= ART__S_LISTENING;
  art__handle_capture((art_handle_t *)s);
  art__handle_start((art_handle_t *)s);
  return 0;
}

/* Takes the connection the listener accepted into client. */
static int accept_fd(art_stream_t *server, art_stream_t *client) {
  if (server->accepted_fd_ < 0)
    return ART_EAGAIN;
  int err =
      art__stream_ops(client)->open_accepted(client, server->accepted_fd_);
  if (err)
    return err;
  server->accepted_fd_ = -1;
  if (server->stream_flags_ & ART__S_LISTENING)
    return art__io_start(server->loop, &server->io_, ART_READABLE);
  return 0;
}

int art_accept(art_stream_t *server, art_stream_t *client) {
  if (!art__stream_usable(server) || server == client)
    return ART_EINVAL;
  /* An IPC pipe hands out the handles it received (only its table has
   * accept_pending). A UDP handle (cast) can only come from there. */
  const art__stream_ops_t *ops = art__stream_ops(server);
  int ipc = ops->accept_pending != NULL;
  if (ipc && art__handle_usable((art_handle_t *)client) &&
      client->type == ART_UDP)
    return ops->accept_pending(server, (art_handle_t *)client);
  if (!art__stream_usable(client) || client->io_.fd >= 0)
    return ART_EINVAL;
  if (ipc && !(server->stream_flags_ & ART__S_LISTENING))
    return ops->accept_pending(server, (art_handle_t *)client);
  if (client->type != server->type)
    return ART_EINVAL;
  return accept_fd(server, client);
}
