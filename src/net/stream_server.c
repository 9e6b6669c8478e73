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
 * 4. Accept completions (ART_URING_ACCEPT=1, off by default): on a loop
 *    whose backend runs operations, a listener submits one multishot
 *    accept (ART__OP_MULTISHOT) instead of watching the fd, and each
 *    completion is an accepted fd. The kernel no longer keeps what the
 *    user has not taken, so a ring_accept_t does: fds accepted while one
 *    waits for art_accept are queued in order, the multishot is canceled
 *    (the backlog queues again, note 2), and art_accept hands the queue
 *    out one connection per pending-phase callback, then arms it again.
 *    The ring_accept_t is the loop's, not the handle's: the close phase
 *    detaches it (the handle may be freed by its close callback) and it
 *    lives on until its operation's last completion, closing what comes,
 *    with a request keeping the loop alive meanwhile. Off by default
 *    (docs/design.md 5.1 says why in full): the ring accepts eagerly, so a
 *    listener closed in a SO_REUSEPORT reload resets connections readiness
 *    would have left in the backlog; the kernel reads RLIMIT_NOFILE when it
 *    prepares the accept, not at each one; and a loop with an accept in
 *    flight refuses ART_LOOP_BACKEND (ART_EBUSY).
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
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

/* ---- Accept completions (note 4) ---- */

typedef struct {
  art__op_t op;           /* the multishot accept */
  art_req_t req;          /* keeps the loop alive while op is in flight */
  art__attach_t link;     /* on the listener until its close phase */
  art__pending_t deliver; /* hands out the queue after an art_accept */
  art_loop_t *loop;
  art_stream_t *s; /* the listener; NULL once it closed */
  int *q;          /* accepted fds not yet reported, oldest at head */
  unsigned head, len, cap;
} ring_accept_t;

static const art__attach_ops_t ring_accept_link;

static int ring_accept_wanted(const art_loop_t *loop) {
  const char *e = getenv("ART_URING_ACCEPT");
  return (loop->backend_->caps & ART__BACKEND_COMPLETIONS) && e != NULL &&
         strcmp(e, "1") == 0;
}

static ring_accept_t *ring_accept_of(art_stream_t *s) {
  art__attach_t *a = art__attached((art_handle_t *)s, &ring_accept_link);
  return a ? art__container_of(a, ring_accept_t, link) : NULL;
}

static int ring_accept_arm(ring_accept_t *a) {
  int err = art__io_submit(a->loop, &a->op);
  if (err == 0)
    art__req_register(a->loop, &a->req, ART_REQ);
  return err;
}

/* Keeps fd for a later art_accept; the queue grows only past what one
 * batch of completions brought before the cancel took effect. */
static int ring_accept_push(ring_accept_t *a, int fd) {
  if (a->len == a->cap) {
    unsigned cap = a->cap ? 2 * a->cap : 16;
    int *q = art__malloc(cap * sizeof(*q));
    if (q == NULL)
      return ART_ENOMEM;
    for (unsigned i = 0; i < a->len; i++)
      q[i] = a->q[(a->head + i) % a->cap];
    art__free(a->q);
    a->q = q;
    a->head = 0;
    a->cap = cap;
  }
  a->q[(a->head + a->len++) % a->cap] = fd;
  return 0;
}

static int ring_accept_pop(ring_accept_t *a) {
  int fd = a->q[a->head];
  a->head = (a->head + 1) % a->cap;
  a->len--;
  return fd;
}

/* Reports queued connections while the user takes each one. */
static void ring_accept_report(ring_accept_t *a) {
  art_stream_t *s = a->s;
  while (a->len > 0 && still_listening(s) && s->accepted_fd_ < 0) {
    s->accepted_fd_ = ring_accept_pop(a);
    report(s, 0); /* may close s: still_listening stops the walk */
  }
}

static void ring_accept_free(ring_accept_t *a);

/* The ring cannot accept for s (no room to submit; a kernel without
 * multishot accept ends it with EINVAL): s goes back to readiness, with
 * nothing queued, and a is freed. */
static void ring_accept_fallback(ring_accept_t *a) {
  art_stream_t *s = a->s;
  art__detach((art_handle_t *)s, &a->link);
  ring_accept_free(a);
  int err = art__io_start(s->loop, &s->io_, ART_READABLE);
  if (err) {
    s->stream_flags_ &= ~ART__S_LISTENING; /* no connection can reach us */
    art__handle_stop((art_handle_t *)s);
    report(s, err);
  }
}

/* After a report or an art_accept: arm again when nothing waits and the
 * operation is over, or stop accepting while the user holds one (note 2). */
static void ring_accept_settle(ring_accept_t *a) {
  art_stream_t *s = a->s;
  if (s == NULL || !still_listening(s))
    return;
  int held = s->accepted_fd_ >= 0 || a->len > 0;
  if (art__op_in_flight(&a->op)) {
    if (held)
      art__io_cancel(a->loop, &a->op); /* again if already asked: harmless */
    return;
  }
  if (!held && ring_accept_arm(a) != 0)
    ring_accept_fallback(a);
}

static void ring_accept_free(ring_accept_t *a) {
  while (a->len > 0)
    art__close_fd(ring_accept_pop(a));
  art__free(a->q);
  art__free(a);
}

/* One completion of the multishot accept. */
static void ring_accept_done(art__op_t *op, int64_t result) {
  ring_accept_t *a = art__container_of(op, ring_accept_t, op);
  int last = !art__op_in_flight(op);
  if (last)
    art__req_unregister(a->loop, ART_REQ);
  if (a->s == NULL || !still_listening(a->s)) {
    if (result >= 0)
      art__close_fd((int)result);
    if (a->s == NULL && last)
      ring_accept_free(a);
    return;
  }
  art_stream_t *s = a->s;
  listen_state_t *st = art__ext_get(a->loop, &listen_ext);
  if (st != NULL)
    reserve_open(st);
  if (result == ART_EINVAL && last && a->len == 0 && s->accepted_fd_ < 0) {
    ring_accept_fallback(a); /* note 5 of io_uring_ops.c */
    return;
  }
  if (result >= 0 && ring_accept_push(a, (int)result) != 0) {
    art__close_fd((int)result); /* its peer sees the connection end */
    report(s, ART_ENOMEM);
  } else if (result == ART_EMFILE || result == ART_ENFILE) {
    emfile_defence(s);
    report(s, (int)result);
  } else if (result < 0 && result != ART_ECANCELED && result != ART_EINTR &&
             result != ART_ECONNABORTED && result != ART_EAGAIN) {
    report(s, (int)result);
  }
  ring_accept_report(a);
  ring_accept_settle(a);
}

static void ring_accept_deliver(art__pending_t *p) {
  ring_accept_t *a = art__container_of(p, ring_accept_t, deliver);
  ring_accept_report(a);
  ring_accept_settle(a);
}

/* The listener's close phase: the handle may be freed after this, so the
 * accept lets go of it; its last completion frees what is left. */
static void ring_accept_closing(art__attach_t *link, art_handle_t *h) {
  ring_accept_t *a = art__container_of(link, ring_accept_t, link);
  (void)h;
  a->s = NULL;
  art__queue_remove(&a->deliver.node);
  if (!art__op_in_flight(&a->op)) {
    ring_accept_free(a);
    return;
  }
  art__io_cancel(a->loop, &a->op);
}

static const art__attach_ops_t ring_accept_link = {ring_accept_closing};

/* Starts accepting through the ring; an error leaves s on readiness. */
static int ring_accept_start(art_stream_t *s) {
  ring_accept_t *a = art__calloc(1, sizeof(*a));
  if (a == NULL)
    return ART_ENOMEM;
  a->loop = s->loop;
  a->s = s;
  art__queue_init(&a->op.node_);
  art__queue_init(&a->deliver.node);
  a->op.done = ring_accept_done;
  a->op.kind = ART__OP_ACCEPT;
  a->op.fd = s->io_.fd;
  a->op.how = ART__OP_MULTISHOT;
  int err = ring_accept_arm(a);
  if (err) {
    art__free(a);
    return err;
  }
  art__attach((art_handle_t *)s, &a->link, &ring_accept_link);
  return 0;
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
  int err = ART_ENOTSUP;
  if (ring_accept_wanted(s->loop))
    err = ring_accept_start(s);
  if (err)
    err = art__io_start_now(s->loop, &s->io_, ART_READABLE);
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
  if (!(server->stream_flags_ & ART__S_LISTENING))
    return 0;
  ring_accept_t *a = ring_accept_of(server);
  if (a == NULL)
    return art__io_start(server->loop, &server->io_, ART_READABLE);
  /* Nothing to do while the accept is armed and nothing is queued (an
   * accept from the connection callback). Otherwise not from inside
   * art_accept: the next report runs as the readiness path's would, from
   * the loop. */
  if ((a->len > 0 || !art__op_in_flight(&a->op)) &&
      art__queue_empty(&a->deliver.node))
    art__pending_add(server->loop, &a->deliver, ring_accept_deliver);
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
