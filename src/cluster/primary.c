/* The primary's side of a cluster: the listening sockets, the workers'
 * records and their pipes, the round robin deal, restarts with backoff,
 * reload and stop.
 *
 * Notes:
 * 1. Every fallible step of art_cluster_start (socket, bind, listen,
 *    memory) happens on raw fds (launch.c) before any handle exists, so
 *    an error leaves nothing to close. Workers are then spawned from each
 * slot's restart timer at 0 ms, so a spawn failure is reported through on_exit
 * from the loop, never from inside art_cluster_start.
 * 2. Reuseport mode: the primary opens one listening SO_REUSEPORT socket
 *    per slot and passes it to each worker of that slot with HELLO. Its
 *    own copy stays open, so a worker that dies or drains does not close
 *    the socket: the connections queued on it are taken by the slot's
 *    next worker instead of being reset.
 * 3. Round robin: a connection is accepted only when a ready worker can
 *    take it; otherwise the listener pauses (stream_server.c, note 2) and
 *    the kernel's backlog holds the connection until a worker is ready.
 *    A connection whose hand-over fails (the worker's pipe broke) is
 *    offered to the next ready worker, at most once per slot. Each worker
 *    acknowledges every connection frame once handled; one with
 *    ART__CF_WINDOW unacknowledged is skipped, so a stuck worker (stopped,
 *    or busy in a long callback) holds at most that many connections
 *    while the others take the rest, as Node waits for its workers' acks.
 * 4. Backoff: a worker that lived restart_reset_ms or longer is replaced
 *    at once and clears its slot's count of failures; one that died
 *    sooner is replaced after restart_min_ms doubled per failure in a
 *    row, capped at restart_max_ms. A crash loop therefore costs at most
 *    one spawn per restart_max_ms per slot.
 * 5. A worker's exit is reported (on_exit) once its pipe has been read
 *    to the end, so the messages it sent before exiting come first; a
 *    pipe kept open by something else (a child of the worker) is given
 *    EXIT_DRAIN_MS.
 * 6. A stop closes the round robin listener; the connections already in
 *    its queue are dealt first. What arrives after the close is refused:
 *    the service is going away. In reuseport mode each worker takes its
 *    socket's queue as it drains (worker.c, note 4), and the primary
 *    closes its copies only once every worker has exited.
 * 7. A worker that sends a bad frame is killed: the primary cannot trust
 *    anything further from it, and the restart path replaces it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cluster.h"

enum { C_RUNNING = 1, C_STOPPING, C_CLOSING, C_STOPPED };

#define DEFAULT_BACKLOG     511
#define DEFAULT_RESTART_MIN 100
#define DEFAULT_RESTART_MAX 30000
#define DEFAULT_RESET       10000
#define DEFAULT_READY       10000
#define DEFAULT_GRACE       10000
#define MAX_FAILURES        40 /* past this the doubling has long hit the cap */
#define EXIT_DRAIN_MS       1000

/* A connection being handed to a worker (round robin). */
typedef struct {
  art_cluster_t *c;
  record_t *to;   /* the worker its frame is written to */
  unsigned tries; /* workers it was offered to */
  art_tcp_t tcp;
} conn_t;

static void maybe_done(art_cluster_t *c);
static void exit_report(record_t *r);
static void spawn_into(art_cluster_t *c, slot_t *s, int as_next);
static void deal(art_cluster_t *c);

static slot_t *slot_of(art_cluster_t *c, unsigned i) {
  return &c->slots_[i];
}

static int running(const art_cluster_t *c) {
  return c->state_ == C_RUNNING;
}

/* ---- Records. ---- */

static void record_closed(art_handle_t *h) {
  record_t *r = h->data;
  if (--r->handles > 0)
    return;
  art_cluster_t *c = r->c;
  art__creader_free(&r->reader);
  art__free(r);
  c->records_--;
  maybe_done(c);
}

/* Closes the record's handles: those that were initialised, which are
 * the ones whose data names the record (a spawn that failed before
 * art_spawn leaves the process handle untouched). */
static void record_close(record_t *r) {
  art_handle_t *hs[3] = {(art_handle_t *)&r->proc, (art_handle_t *)&r->ipc,
                         (art_handle_t *)&r->timer};
  for (int i = 0; i < 3; i++)
    if (hs[i]->data == r && !art_is_closing(hs[i]))
      art_close(hs[i], record_closed);
}

static void record_kill(record_t *r) {
  if (r->state != R_EXITED)
    art_process_kill(&r->proc, SIGKILL);
}

static void grace_over(art_timer_t *t) {
  record_kill(t->data);
}

/* Tells a worker to drain and starts its grace period. */
static void record_drain(record_t *r) {
  if (r->state != R_STARTING && r->state != R_READY)
    return;
  r->state = R_DRAINING;
  art__cwrite_t *f = art__cframe_new(ART__CF_STOP, NULL, 0);
  if (f == NULL || art__cframe_send(f, &r->ipc, NULL, NULL) != 0)
    record_kill(r);
  art_timer_start(&r->timer, grace_over, r->c->opts_.grace_ms, 0);
}

/* ---- Restarts and reloads. ---- */

static int64_t backoff(art_cluster_t *c, slot_t *s, uint64_t lived) {
  if (lived >= c->opts_.restart_reset_ms) { /* note 4 */
    s->failures = 0;
    return 0;
  }
  uint64_t d = c->opts_.restart_min_ms;
  for (unsigned i = 0; i < s->failures && d < c->opts_.restart_max_ms; i++)
    d *= 2;
  if (d > c->opts_.restart_max_ms)
    d = c->opts_.restart_max_ms;
  if (s->failures < MAX_FAILURES)
    s->failures++;
  return (int64_t)d;
}

static void restart_due(art_timer_t *t) {
  slot_t *s = art__container_of(t, slot_t, restart);
  art_cluster_t *c = t->data;
  if (!running(c) || s->current != NULL)
    return;
  if (s->started)
    c->restarts++;
  s->started = 1;
  spawn_into(c, s, 0);
}

/* The slot lost its worker: schedule the next one (-1: none follows). */
static int64_t slot_lost(art_cluster_t *c, slot_t *s, uint64_t lived) {
  s->current = NULL;
  if (!running(c))
    return -1;
  int64_t d = backoff(c, s, lived);
  art_timer_start(&s->restart, restart_due, (uint64_t)d, 0);
  return d;
}

static void reload_step(art_timer_t *t);

static void reload_next_slot(art_cluster_t *c, int status) {
  if (status)
    c->reload_status_ = status;
  c->reload_slot_++;
  art_timer_start(&c->reload_timer_, reload_step, 0, 0);
}

static void reload_finish(art_cluster_t *c, int status) {
  art_cluster_done_cb cb = c->reload_cb_;
  c->reloading_ = 0;
  c->reload_cb_ = NULL;
  if (cb != NULL)
    ART__CALLBACK(&c->reload_timer_, cb, (c, status));
}

/* A worker not ready in time is killed: a reload's replacement leaves
 * the old worker in place; a slot's own worker is replaced with the
 * backoff, as one that crashed (a worker stuck before it listens would
 * otherwise hold its slot for ever). */
static void ready_timeout(art_timer_t *t) {
  record_t *r = t->data;
  slot_t *s = slot_of(r->c, r->slot);
  if (r->state != R_STARTING)
    return;
  r->state = R_DRAINING;
  record_kill(r);
  if (s->next == r) {
    s->next = NULL;
    reload_next_slot(r->c, ART_ETIMEDOUT);
  }
}

/* Starts the replacement of the reload's current slot (note: a slot with
 * no worker is skipped, its restart brings the new program anyway). */
static void reload_step(art_timer_t *t) {
  art_cluster_t *c = t->data;
  while (running(c) && c->reload_slot_ < c->workers) {
    slot_t *s = slot_of(c, c->reload_slot_);
    if (s->current != NULL) {
      spawn_into(c, s, 1);
      if (s->next != NULL)
        return;
    }
    c->reload_slot_++;
  }
  if (running(c))
    reload_finish(c, c->reload_status_);
}

/* ---- A worker's pipe. ---- */

static void worker_ready(record_t *r) {
  art_cluster_t *c = r->c;
  slot_t *s = slot_of(c, r->slot);
  r->state = R_READY;
  art_timer_stop(&r->timer);
  if (s->next == r) { /* a reload's replacement: the old one drains */
    record_t *old = s->current;
    art_timer_stop(&s->restart);
    s->current = r;
    s->next = NULL;
    if (old != NULL)
      record_drain(old);
    reload_next_slot(c, 0);
  }
  if (c->opts_.on_online != NULL)
    ART__CALLBACK(&r->ipc, c->opts_.on_online, (c, r->slot, r->pid));
  if (c->waiting_)
    deal(c);
}

static void refuse(record_t *r) {
  r->c->refused_frames++;
  record_kill(r); /* note 7 */
  if (!art_is_closing((art_handle_t *)&r->ipc))
    art_read_stop((art_stream_t *)&r->ipc);
  r->eof = 1;
  exit_report(r);
}

static int on_frame(record_t *r, const art__cframe_t *f) {
  art_cluster_t *c = r->c;
  if (f->type == ART__CF_READY) {
    if (f->len != 0 || r->state == R_READY)
      return ART_EPROTO;
    if (r->state == R_STARTING) /* not once told to drain */
      worker_ready(r);
    return 0;
  }
  if (f->type == ART__CF_ACK) {
    uint32_t n = f->len == 4 ? art__get_be32(f->payload) : 0;
    if (n == 0 || n > r->inflight)
      return ART_EPROTO;
    int was_full = r->inflight >= ART__CF_WINDOW;
    r->inflight -= n;
    if (was_full && c->waiting_)
      deal(c); /* it can take connections again (note 3) */
    return 0;
  }
  if (c->opts_.on_message != NULL)
    ART__CALLBACK(&r->ipc, c->opts_.on_message,
                  (c, r->slot, f->payload, f->len));
  return 0;
}

#define FROM_WORKER                                                            \
  (1u << ART__CF_READY | 1u << ART__CF_MSG | 1u << ART__CF_ACK)

static void ipc_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  record_t *r = h->data;
  (void)suggested;
  art__creader_space(&r->reader, buf);
}

static void ipc_read(art_stream_t *st, ssize_t n, const art_buf_t *buf) {
  record_t *r = st->data;
  art__cframe_t f;
  int got;
  (void)buf;
  if (n < 0) { /* the worker closed its end; its exit follows */
    art_read_stop(st);
    r->eof = 1;
    exit_report(r);
    return;
  }
  art__creader_filled(&r->reader, (size_t)n);
  while (art_is_readable(st) && !art_is_closing((art_handle_t *)st) &&
         (got = art__creader_next(&r->reader, FROM_WORKER, &f)) != 0) {
    if (got < 0 || on_frame(r, &f) != 0) {
      refuse(r);
      return;
    }
  }
}

/* HELLO: the slot, the mode, the id, the backlog (a worker listening on
 * the slot's socket again must not change it); in reuseport mode the
 * slot's listener goes with it. */
static int send_hello(record_t *r) {
  art_cluster_t *c = r->c;
  unsigned char p[ART__CF_HELLO_LEN];
  art__put_be32(p, r->slot);
  art__put_be32(p + 4, (uint32_t)c->mode);
  art__put_be32(p + 8, (uint32_t)(r->id >> 32));
  art__put_be32(p + 12, (uint32_t)r->id);
  art__put_be32(p + 16, (uint32_t)c->opts_.backlog);
  art__cwrite_t *f = art__cframe_new(ART__CF_HELLO, p, sizeof(p));
  if (f == NULL)
    return ART_ENOMEM;
  art_stream_t *h = c->mode == ART_CLUSTER_REUSEPORT
                        ? (art_stream_t *)&slot_of(c, r->slot)->listener
                        : NULL;
  return art__cframe_send(f, &r->ipc, h, NULL);
}

/* ---- Spawning and reaping. ---- */

/* Reports the exit and closes the record, once both the exit and the end
 * of the pipe were seen (note 5). */
static void exit_report(record_t *r) {
  art_cluster_t *c = r->c;
  if (r->state != R_EXITED || !r->eof || r->reported)
    return;
  r->reported = 1;
  record_close(r);
  if (c->opts_.on_exit != NULL)
    ART__CALLBACK(
        &r->proc, c->opts_.on_exit,
        (c, r->slot, r->pid, r->exit_status, r->term_signal, r->restart));
}

static void exit_drain_over(art_timer_t *t) {
  record_t *r = t->data;
  r->eof = 1;
  exit_report(r);
}

static void worker_exited(art_process_t *p, int64_t status, int sig) {
  record_t *r = p->data;
  art_cluster_t *c = r->c;
  slot_t *s = slot_of(c, r->slot);
  uint64_t lived = art_now(c->loop) - r->started;
  r->state = R_EXITED;
  r->exit_status = status;
  r->term_signal = sig;
  r->restart = -1;
  if (s->current == r)
    r->restart = slot_lost(c, s, lived);
  else if (s->next == r) { /* a replacement died before it was ready */
    s->next = NULL;
    reload_next_slot(c, ART_ECHILD);
  }
  if (!r->eof)
    art_timer_start(&r->timer, exit_drain_over, EXIT_DRAIN_MS, 0);
  exit_report(r);
}

/* A record with its timer and pipe initialised, or NULL when out of
 * memory (the timer first: its init is the one that can fail, and then
 * nothing needs closing). */
static record_t *record_new(art_cluster_t *c, slot_t *s) {
  record_t *r = art__calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  if (art_timer_init(c->loop, &r->timer) != 0) {
    art__free(r);
    return NULL;
  }
  art_pipe_init(c->loop, &r->ipc, 1);
  r->ipc.data = r->timer.data = r;
  r->handles = 2;
  r->c = c;
  r->slot = s->index;
  r->id = c->next_id_++;
  r->started = art_now(c->loop);
  r->state = R_STARTING;
  c->records_++;
  return r;
}

/* Starts a worker for slot s, as its worker or (as_next) as its reload
 * replacement. A failure is a worker that died at once. */
static void spawn_into(art_cluster_t *c, slot_t *s, int as_next) {
  record_t *r = record_new(c, s);
  int err = ART_ENOMEM;
  if (r != NULL) {
    err = art__cluster_spawn(r, worker_exited);
    if (r->proc.data == r) /* art_spawn initialised it, success or not */
      r->handles++;
    if (!err) {
      r->pid = r->proc.pid;
      err = art_read_start((art_stream_t *)&r->ipc, ipc_alloc, ipc_read);
    }
    if (!err)
      err = send_hello(r);
    if (err && r->pid != 0) {
      record_kill(r); /* its exit takes the usual path */
      err = 0;
    }
  }
  if (!err) {
    if (as_next)
      s->next = r;
    else
      s->current = r;
    art_timer_start(&r->timer, ready_timeout, c->opts_.ready_timeout_ms, 0);
    return;
  }
  /* Never started: reported as an exit with the error as its status. */
  int64_t restart = -1;
  if (r != NULL) {
    r->state = R_EXITED;
    record_close(r);
  }
  if (as_next)
    c->reload_status_ = err;
  else
    restart = slot_lost(c, s, 0);
  if (c->opts_.on_exit != NULL)
    ART__CALLBACK(&s->restart, c->opts_.on_exit,
                  (c, s->index, 0, err, 0, restart));
}

/* ---- Round robin (note 3). ---- */

static void conn_closed(art_handle_t *h) {
  conn_t *k = h->data;
  art_cluster_t *c = k->c;
  art__free(k);
  c->handles_--;
  maybe_done(c);
}

static int can_take(const record_t *r) {
  return r != NULL && r->state == R_READY && r->inflight < ART__CF_WINDOW;
}

static int has_ready(const art_cluster_t *c) {
  for (unsigned i = 0; i < c->workers; i++)
    if (can_take(c->slots_[i].current))
      return 1;
  return 0;
}

static record_t *next_ready(art_cluster_t *c) {
  for (unsigned i = 0; i < c->workers; i++) {
    unsigned at = (c->cursor_ + i) % c->workers;
    record_t *r = slot_of(c, at)->current;
    if (can_take(r)) {
      c->cursor_ = (at + 1) % c->workers;
      return r;
    }
  }
  return NULL;
}

static void conn_sent(art_write_t *req, int status);

static int hand_over(conn_t *k, record_t *r) {
  k->tries++; /* every attempt counts, or offer() could spin on ENOMEM */
  art__cwrite_t *f = art__cframe_new(ART__CF_CONN, NULL, 0);
  if (f == NULL)
    return ART_ENOMEM;
  f->owner = k;
  int err = art__cframe_send(f, &r->ipc, (art_stream_t *)&k->tcp, conn_sent);
  if (!err) {
    k->to = r;
    r->inflight++;
  }
  return err;
}

/* Offers k to ready workers until one pipe takes it or each was tried. */
static void offer(conn_t *k) {
  art_cluster_t *c = k->c;
  record_t *r;
  while (k->tries < c->workers && (r = next_ready(c)) != NULL)
    if (hand_over(k, r) == 0)
      return;
  art_close((art_handle_t *)&k->tcp, conn_closed);
}

static void conn_sent(art_write_t *req, int status) {
  art__cwrite_t *f = art__container_of(req, art__cwrite_t, req);
  conn_t *k = f->owner;
  art__free(f);
  if (status != 0) /* it never reached the worker: no ack will come */
    k->to->inflight--;
  if (status == 0) {
    k->c->dispatched++;
    art_close((art_handle_t *)&k->tcp, conn_closed); /* the worker has it */
  } else if (status == ART_ECANCELED || !running(k->c)) {
    art_close((art_handle_t *)&k->tcp, conn_closed);
  } else {
    offer(k);
  }
}

static conn_t *conn_new(art_cluster_t *c) {
  conn_t *k = art__malloc(sizeof(*k));
  if (k == NULL)
    return NULL;
  k->c = c;
  k->to = NULL;
  k->tries = 0;
  art_tcp_init(c->loop, &k->tcp);
  k->tcp.data = k;
  c->handles_++;
  return k;
}

static void deal(art_cluster_t *c) {
  while (c->waiting_ && running(c)) {
    if (!has_ready(c))
      return; /* the listener stays paused: the backlog holds it */
    conn_t *k = conn_new(c);
    if (k == NULL)
      return;
    if (art_accept((art_stream_t *)&c->listener_, (art_stream_t *)&k->tcp)) {
      c->waiting_ = 0;
      art_close((art_handle_t *)&k->tcp, conn_closed);
      return;
    }
    c->waiting_ = 0;
    offer(k);
  }
}

/* A stop deals what waits in the listener's queue before the workers are
 * told to drain (each reads its CONN frames before STOP), so connections
 * the kernel had already completed are served rather than reset when the
 * listener closes (note 6). At most one backlog's worth: the queue is no
 * bigger, and connections still arriving must not keep the stop going. */
static void deal_backlog(art_cluster_t *c) {
  int fd = art__handle_fd((const art_handle_t *)&c->listener_);
  deal(c);
  for (int i = 0; fd >= 0 && i < c->opts_.backlog && has_ready(c); i++) {
    int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (cfd < 0 && (errno == EINTR || errno == ECONNABORTED))
      continue;
    if (cfd < 0)
      return;
    conn_t *k = conn_new(c);
    if (k == NULL || art_tcp_open(&k->tcp, cfd) != 0) {
      art__close_fd(cfd);
      if (k != NULL)
        art_close((art_handle_t *)&k->tcp, conn_closed);
      return;
    }
    offer(k);
  }
}

static void on_connection(art_stream_t *server, int status) {
  art_cluster_t *c = server->data;
  if (status != 0)
    return;
  c->waiting_ = 1;
  deal(c);
}

/* ---- Signals. ---- */

static void on_signal(art_signal_t *h, int signum) {
  art_cluster_t *c = h->data;
  if (signum == SIGHUP)
    art_cluster_reload(c, NULL);
  else
    art_cluster_stop(c, NULL);
}

/* ---- Closing. ---- */

static void own_closed(art_handle_t *h) {
  art_cluster_t *c = h->data;
  c->handles_--;
  maybe_done(c);
}

static void own_close(art_handle_t *h) {
  if (h->data != NULL && !art_is_closing(h))
    art_close(h, own_closed);
}

static void close_own_handles(art_cluster_t *c) {
  own_close((art_handle_t *)&c->listener_);
  own_close((art_handle_t *)&c->reload_timer_);
  for (int i = 0; i < 3; i++)
    own_close((art_handle_t *)&c->signals_[i]);
  for (unsigned i = 0; i < c->workers; i++) {
    own_close((art_handle_t *)&c->slots_[i].restart);
    own_close((art_handle_t *)&c->slots_[i].listener);
  }
}

/* The stop completes once every record is gone, then every handle. */
static void maybe_done(art_cluster_t *c) {
  if (c->state_ == C_STOPPING && c->records_ == 0) {
    c->state_ = C_CLOSING;
    close_own_handles(c);
  }
  if (c->state_ != C_CLOSING || c->handles_ > 0)
    return;
  c->state_ = C_STOPPED;
  art__free(c->slots_);
  c->slots_ = NULL;
  if (c->reloading_)
    reload_finish(c, ART_ECANCELED);
  if (c->stop_cb_ != NULL) /* the closed timer still names the callback */
    ART__CALLBACK(&c->reload_timer_, c->stop_cb_, (c, 0));
}

/* ---- The public calls. ---- */

static int options_valid(const art_cluster_options_t *o) {
  return o->workers >= 1 && o->workers <= ART_CLUSTER_MAX_WORKERS &&
         art__cluster_addr_len(o->address) != 0 &&
         (o->mode == ART_CLUSTER_ROUNDROBIN ||
          o->mode == ART_CLUSTER_REUSEPORT) &&
         (o->flags & ~(unsigned)ART_CLUSTER_SIGNALS) == 0 && o->backlog >= 0 &&
         o->args != NULL && o->args[0] != NULL &&
         (o->restart_max_ms == 0 || o->restart_min_ms <= o->restart_max_ms);
}

static void set_defaults(art_cluster_options_t *o) {
  if (o->backlog == 0)
    o->backlog = DEFAULT_BACKLOG;
  if (o->file == NULL)
    o->file = "/proc/self/exe";
  if (o->restart_min_ms == 0)
    o->restart_min_ms = DEFAULT_RESTART_MIN;
  if (o->restart_max_ms == 0)
    o->restart_max_ms = DEFAULT_RESTART_MAX;
  if (o->restart_min_ms > o->restart_max_ms)
    o->restart_min_ms = o->restart_max_ms;
  if (o->restart_reset_ms == 0)
    o->restart_reset_ms = DEFAULT_RESET;
  if (o->ready_timeout_ms == 0)
    o->ready_timeout_ms = DEFAULT_READY;
  if (o->grace_ms == 0)
    o->grace_ms = DEFAULT_GRACE;
}

/* Counts a handle the cluster closes when it stops; only a handle whose
 * init succeeded is counted (own_close skips the others). */
static void own(art_cluster_t *c, art_handle_t *h) {
  h->data = c;
  c->handles_++;
}

/* Gives the open sockets to handles; cannot fail on sockets made here. */
static void adopt_sockets(art_cluster_t *c, const int *fds) {
  if (c->mode == ART_CLUSTER_ROUNDROBIN) {
    art_tcp_init(c->loop, &c->listener_);
    own(c, (art_handle_t *)&c->listener_);
    art_tcp_open(&c->listener_, fds[0]);
    return;
  }
  for (unsigned i = 0; i < c->workers; i++) {
    art_tcp_init(c->loop, &c->slots_[i].listener);
    own(c, (art_handle_t *)&c->slots_[i].listener);
    art_tcp_open(&c->slots_[i].listener, fds[i]);
  }
}

static int watch_signals(art_cluster_t *c) {
  static const int signums[3] = {SIGHUP, SIGTERM, SIGINT};
  for (int i = 0; i < 3; i++) {
    art_signal_init(c->loop, &c->signals_[i]);
    own(c, (art_handle_t *)&c->signals_[i]);
    int err = art_signal_start(&c->signals_[i], on_signal, signums[i]);
    if (err)
      return err;
    art_unref((art_handle_t *)&c->signals_[i]);
  }
  return 0;
}

/* The reload timer and each slot's restart timer (a timer's init reserves
 * its heap slot, so it can fail with ART_ENOMEM). */
static int init_timers(art_cluster_t *c) {
  int err = art_timer_init(c->loop, &c->reload_timer_);
  if (err)
    return err;
  own(c, (art_handle_t *)&c->reload_timer_);
  for (unsigned i = 0; i < c->workers; i++) {
    slot_t *s = slot_of(c, i);
    s->index = i;
    if ((err = art_timer_init(c->loop, &s->restart)) != 0)
      return err;
    own(c, (art_handle_t *)&s->restart);
  }
  return 0;
}

/* What art_cluster_start does once the sockets are open: the handles, the
 * signals, the round robin listener. An error here stops the cluster,
 * which closes what was opened in the loop. */
static int start_handles(art_cluster_t *c, const int *fds) {
  adopt_sockets(c, fds);
  int err = init_timers(c);
  if (!err && (c->opts_.flags & ART_CLUSTER_SIGNALS))
    err = watch_signals(c);
  if (!err && c->mode == ART_CLUSTER_ROUNDROBIN)
    err = art_listen((art_stream_t *)&c->listener_, c->opts_.backlog,
                     on_connection);
  if (err)
    return err;
  for (unsigned i = 0; i < c->workers; i++) /* note 1 */
    art_timer_start(&slot_of(c, i)->restart, restart_due, 0, 0);
  return 0;
}

int art_cluster_start(art_loop_t *loop, art_cluster_t *c,
                      const art_cluster_options_t *opts) {
  int fds[ART_CLUSTER_MAX_WORKERS];
  if (loop == NULL || c == NULL || opts == NULL || !options_valid(opts) ||
      getenv(ART_CLUSTER_ENV) != NULL)
    return ART_EINVAL;
  memset(c, 0, sizeof(*c));
  c->loop = loop;
  c->workers = opts->workers;
  c->mode = opts->mode;
  c->opts_ = *opts;
  set_defaults(&c->opts_);
  memcpy(c->addr_, opts->address, art__cluster_addr_len(opts->address));
  c->opts_.address = (const struct sockaddr *)c->addr_;
  c->next_id_ = 1;
  unsigned n = c->mode == ART_CLUSTER_ROUNDROBIN ? 1 : c->workers;
  c->slots_ = art__calloc(c->workers, sizeof(slot_t));
  if (c->slots_ == NULL)
    return ART_ENOMEM;
  int err = art__cluster_open_sockets(c, fds, n);
  if (err) {
    art__free(c->slots_);
    c->slots_ = NULL;
    return err;
  }
  c->state_ = C_RUNNING;
  if ((err = start_handles(c, fds)) != 0)
    art_cluster_stop(c, NULL);
  return err;
}

int art_cluster_stop(art_cluster_t *c, art_cluster_done_cb cb) {
  if (c == NULL || !running(c))
    return ART_EINVAL;
  if (c->mode == ART_CLUSTER_ROUNDROBIN)
    deal_backlog(c);
  c->state_ = C_STOPPING;
  c->stop_cb_ = cb;
  own_close((art_handle_t *)&c->listener_);
  art_timer_stop(&c->reload_timer_);
  for (unsigned i = 0; i < c->workers; i++) {
    slot_t *s = slot_of(c, i);
    art_timer_stop(&s->restart);
    if (s->next != NULL)
      record_drain(s->next);
    if (s->current != NULL)
      record_drain(s->current);
  }
  maybe_done(c);
  return 0;
}

int art_cluster_reload(art_cluster_t *c, art_cluster_done_cb cb) {
  if (c == NULL || !running(c))
    return ART_EINVAL;
  if (c->reloading_)
    return ART_EBUSY;
  c->reloading_ = 1;
  c->reload_cb_ = cb;
  c->reload_slot_ = 0;
  c->reload_status_ = 0;
  return art_timer_start(&c->reload_timer_, reload_step, 0, 0);
}

int art_cluster_send(art_cluster_t *c, unsigned slot, const void *data,
                     size_t len) {
  if (c == NULL || c->slots_ == NULL || slot >= c->workers ||
      (data == NULL && len > 0) || len > ART_CLUSTER_MAX_MESSAGE)
    return ART_EINVAL;
  record_t *r = slot_of(c, slot)->current;
  if (r == NULL || (r->state != R_STARTING && r->state != R_READY))
    return ART_ENOTCONN;
  art__cwrite_t *f = art__cframe_new(ART__CF_MSG, data, len);
  if (f == NULL)
    return ART_ENOMEM;
  return art__cframe_send(f, &r->ipc, NULL, NULL);
}

int art_cluster_worker_pid(const art_cluster_t *c, unsigned slot) {
  if (c == NULL || c->slots_ == NULL || slot >= c->workers)
    return 0;
  const record_t *r = c->slots_[slot].current;
  return r != NULL && r->state != R_EXITED ? r->pid : 0;
}

int art_cluster_getsockname(const art_cluster_t *c, struct sockaddr *name,
                            int *namelen) {
  if (c == NULL || name == NULL || namelen == NULL || c->state_ == 0)
    return ART_EINVAL;
  const struct sockaddr *a = (const struct sockaddr *)c->addr_;
  int len = (int)art__cluster_addr_len(a);
  if (*namelen < len)
    return ART_ENOBUFS;
  memcpy(name, a, (size_t)len);
  *namelen = len;
  return 0;
}
