/* One HTTP connection: reading, parsing, timeouts, writing, closing.
 *
 * Requests on a connection are handled one at a time, in order (pipelined
 * requests wait in the read buffer): the parser is driven until it reports
 * an event, and the connection is "busy" while a route or a write of the
 * current response is in progress. Reading continues while busy as long as
 * the fixed read buffer has room; when it is full, reading stops, which is
 * the backpressure a client that pipelines without reading gets.
 *
 * Each connection owns one timer, whose role changes: the keep-alive idle
 * timeout between requests, the request timeout while a request arrives
 * (408), a route's own wait (/api/slow), and the linger after a closing
 * response.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>

#include <netinet/in.h>
#include <sys/socket.h>

#include "server.h"

/* The JSON body of an error response, in c->body. */
static const char *error_body(conn_t *c, int status, size_t *len) {
  int n =
      snprintf(c->body, sizeof(c->body), "{\"error\":\"%s\",\"status\":%d}\n",
               http_status_text(status), status);
  *len = (size_t)n;
  return c->body;
}

/* ------------------------------------------------------------------------ */
/* Pooling and closing.                                                     */

/* Connection structs live in slabs of SLAB_CONNS, mapped from the kernel,
 * one every conn_stride() bytes, page-aligned. Untouched pages cost no
 * memory: a connection serving small requests touches only its first page
 * (see the layout of conn_t), so that is what each one adds to the RSS.
 *
 * New connections take the lowest slab with room, which packs the live
 * ones low; a slab whose last struct is released is unmapped (all but the
 * first, kept for the next connection), so the memory of a burst of
 * connections goes back to the kernel once the burst is over. */
#define SLAB_CONNS 32

static size_t conn_stride(void) {
  return (sizeof(conn_t) + 4095) & ~(size_t)4095;
}

/* Maps a slab into the first unmapped entry of slabs[], or a new one.
 * Returns its index, or -1. */
static int map_slab(server_t *srv) {
  unsigned i;
  void *mem;
  for (i = 0; i < srv->nslabs && srv->slabs[i].mem != NULL; i++)
    ;
  if (i == srv->nslabs) {
    slab_t *slabs = realloc(srv->slabs, (i + 1) * sizeof(*slabs));
    if (slabs == NULL)
      return -1;
    srv->slabs = slabs;
    srv->nslabs++;
  }
  mem = mmap(NULL, SLAB_CONNS * conn_stride(), PROT_READ | PROT_WRITE,
             MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) {
    srv->slabs[i].mem = NULL;
    return -1;
  }
  srv->slabs[i].mem = mem;
  srv->slabs[i].free = NULL;
  srv->slabs[i].used = srv->slabs[i].live = 0;
  srv->mapped_slabs++;
  return (int)i;
}

/* Takes a connection struct from the lowest slab with room, mapping one
 * if none has. conn_start initialises it. */
conn_t *conn_get(server_t *srv) {
  unsigned i;
  slab_t *s;
  conn_t *c;
  for (i = srv->slab_hint; i < srv->nslabs; i++) {
    s = &srv->slabs[i];
    if (s->mem != NULL && (s->free != NULL || s->used < SLAB_CONNS))
      break;
  }
  if (i == srv->nslabs) {
    int m = map_slab(srv);
    if (m < 0)
      return NULL;
    i = (unsigned)m;
  }
  srv->slab_hint = i;
  s = &srv->slabs[i];
  if (s->free != NULL) {
    c = s->free;
    s->free = c->next;
  } else {
    c = (conn_t *)(s->mem + s->used++ * conn_stride());
    c->srv = srv; /* the mapping is zeroed: the rest starts as 0 / NULL */
    c->fd = -1;
    c->slab = i;
  }
  s->live++;
  return c;
}

/* Gives a struct back to its slab; a slab left empty (but the first) is
 * unmapped. */
void conn_put(conn_t *c) {
  server_t *srv = c->srv;
  unsigned i = c->slab;
  slab_t *s = &srv->slabs[i];
  c->next = s->free;
  s->free = c;
  if (i < srv->slab_hint)
    srv->slab_hint = i;
  if (--s->live == 0 && i != 0) {
    munmap(s->mem, SLAB_CONNS * conn_stride());
    s->mem = NULL;
    s->free = NULL;
    srv->mapped_slabs--;
  }
}

/* Structs handed out of the mapped slabs (for /api/stats). */
unsigned conn_structs(const server_t *srv) {
  unsigned i, n = 0;
  for (i = 0; i < srv->nslabs; i++)
    n += srv->slabs[i].mem != NULL ? srv->slabs[i].used : 0;
  return n;
}

/* Unmaps every slab; the server calls it once the loop is done (so every
 * connection is closed and released). */
void conn_free_all(server_t *srv) {
  unsigned i;
  for (i = 0; i < srv->nslabs; i++)
    if (srv->slabs[i].mem != NULL)
      munmap(srv->slabs[i].mem, SLAB_CONNS * conn_stride());
  free(srv->slabs);
  srv->slabs = NULL;
  srv->nslabs = srv->mapped_slabs = 0;
}

/* Returns a closed connection to the pool once nothing refers to it. */
static void maybe_release(conn_t *c) {
  server_t *srv = c->srv;
  if (!(c->flags & C_CLOSING) || c->handles > 0 || c->ops > 0)
    return;
  if (c->prev != NULL)
    c->prev->next = c->next;
  else
    srv->conns = c->next;
  if (c->next != NULL)
    c->next->prev = c->prev;
  c->prev = NULL;
  file_buf_free(c);
  conn_put(c);
  srv->nconns--;
  server_conn_released(srv);
}

static void on_handle_closed(art_handle_t *h) {
  conn_t *c = h->data;
  c->handles--;
  maybe_release(c);
}

/* A route request (work, fs) finished; the connection may be released. */
void conn_op_done(conn_t *c) {
  c->ops--;
  maybe_release(c);
}

/* Closes both handles; route work still in flight holds the struct until
 * it completes. Safe to call more than once. */
void conn_close(conn_t *c) {
  if (c->flags & C_CLOSING)
    return;
  c->flags |= C_CLOSING;
  route_abort(c);
  art_close((art_handle_t *)&c->timer, on_handle_closed);
  art_close((art_handle_t *)&c->tcp, on_handle_closed);
}

/* ------------------------------------------------------------------------ */
/* Timers.                                                                  */

/* The send timer: if the client took some of the queued response since
 * the timer started, it gets another period; if it took nothing, the
 * response is given up and the connection closed (a client that never
 * reads would otherwise hold it, and its --max-conns slot, for ever). */
static void send_timer(conn_t *c) {
  size_t left = art_stream_write_queue_size((art_stream_t *)&c->tcp);
  if (left < c->send_left) { /* 0: all written, its callback is next */
    c->send_left = left;
    conn_start_timer(c, T_SEND, c->srv->cfg.send_timeout);
    return;
  }
  c->srv->send_timeouts++;
  conn_close(c);
}

static void on_timer(art_timer_t *t) {
  conn_t *c = t->data;
  timer_role_t role = c->timer_role;
  c->timer_role = T_NONE;
  switch (role) {
  case T_REQUEST:
    if (c->flags & (C_BUSY | C_HEAD_SENT)) {
      conn_close(c); /* a body too slow to stream: nothing left to say */
      return;
    }
    c->flags |= C_CLOSE_AFTER;
    c->route = R_REFUSED;
    conn_respond(c, 408, "application/json", NULL, 0);
    return;
  case T_ROUTE:
    route_timer(c);
    return;
  case T_SEND:
    send_timer(c);
    return;
  default: /* idle keep-alive connection, or the end of a linger */
    conn_close(c);
  }
}

/* Gives the timer a role and starts it; T_NONE stops it. */
void conn_start_timer(conn_t *c, timer_role_t role, uint64_t ms) {
  c->timer_role = role;
  if (role == T_NONE)
    art_timer_stop(&c->timer);
  else
    art_timer_start(&c->timer, on_timer, ms, 0);
}

/* ------------------------------------------------------------------------ */
/* Reading.                                                                 */

/* A connection waiting for a request reads into the server's shared
 * buffer (and keeps in[] untouched: fewer resident pages per connection);
 * one with a request in progress or input kept reads into its own in[].
 * Reads into the shared buffer are no larger than in[], so that whatever
 * is left unparsed always fits there. */
static void on_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  conn_t *c = h->data;
  if ((c->flags & C_LINGER) || (c->in_end == 0 && !(c->flags & C_BUSY)))
    *buf = art_buf_init(c->srv->rbuf, sizeof(c->srv->rbuf));
  else
    *buf = art_buf_init(c->in + c->in_end, sizeof(c->in) - c->in_end);
}

static void on_read(art_stream_t *s, ssize_t nread, const art_buf_t *buf);

/* Reads while there is room and the peer may still send. */
static void update_reading(conn_t *c) {
  int want = !(c->flags & (C_CLOSING | C_EOF)) &&
             ((c->flags & C_LINGER) || c->in_end < sizeof(c->in));
  if (want && !(c->flags & C_READING)) {
    if (art_read_start((art_stream_t *)&c->tcp, on_alloc, on_read) != 0) {
      conn_close(c);
      return;
    }
    c->flags |= C_READING;
  } else if (!want && (c->flags & C_READING)) {
    art_read_stop((art_stream_t *)&c->tcp);
    c->flags &= ~(unsigned)C_READING;
  }
}

/* The first byte of a request: its timeout starts, and its clock. */
static void request_begins(conn_t *c) {
  request_id_begin(c); /* before its timer starts: the timer carries it */
  c->flags &= ~(unsigned)C_FRESH;
  c->arrival_ns = art_hrtime();
  c->arrival_phase = art_phase_name(art_loop_phase(c->srv->loop));
  conn_start_timer(c, T_REQUEST, c->srv->cfg.request_timeout);
}

static void on_parser_error(conn_t *c) {
  if (c->flags & C_HEAD_SENT) {
    conn_close(c); /* mid-response: the status line is gone already */
    return;
  }
  c->flags |= C_CLOSE_AFTER;
  c->route = R_REFUSED;
  conn_respond(c, c->parser.status, "application/json", NULL, 0);
}

/* Everything buffered was parsed: the buffer starts over. */
static void input_drained(conn_t *c) {
  c->in_start = c->in_end = 0;
  if (c->flags & C_EOF) {
    conn_close(c);
    return;
  }
  if (http_parser_partial(&c->parser) && c->timer_role != T_REQUEST)
    request_begins(c);
  update_reading(c);
}

static void on_head(conn_t *c) {
  const http_request_t *req = &c->parser.req;
  c->head_only = req->method == HTTP_HEAD_METHOD;
  c->bytes_out = 0;
  c->status = 0;
  if (!req->keep_alive || c->srv->shutting_down || c->srv->draining)
    c->flags |= C_CLOSE_AFTER;
  route_head(c);
}

/* Hands one parser event (not HTTP_NEED_MORE) to the connection or its
 * route. */
static void dispatch(conn_t *c, http_event ev, const char *body, size_t blen) {
  request_id_enter(c); /* what the route starts carries the request's id */
  switch (ev) {
  case HTTP_HEAD:
    on_head(c);
    break;
  case HTTP_BODY:
    route_body(c, body, blen);
    break;
  case HTTP_DONE:
    if (c->timer_role == T_REQUEST)
      conn_start_timer(c, T_NONE, 0);
    route_done(c);
    break;
  default:
    on_parser_error(c);
  }
}

/* Drives the parser over in[] until it needs more bytes or the current
 * request makes the connection busy. */
static void conn_process(conn_t *c) {
  while (!(c->flags & (C_BUSY | C_CLOSING))) {
    const char *body;
    size_t n, blen;
    http_event ev =
        http_parser_execute(&c->parser, c->in + c->in_start,
                            c->in_end - c->in_start, &n, &body, &blen);
    c->in_start += n;
    if (ev == HTTP_NEED_MORE) {
      input_drained(c);
      return;
    }
    dispatch(c, ev, body, blen);
    if (ev == HTTP_ERROR)
      return;
  }
  update_reading(c);
}

/* Parses bytes read into the shared buffer. The first event moves what is
 * left (a body piece included: a write may refer to it) into in[], and
 * parsing goes on from there. */
static void process_shared(conn_t *c, const char *data, size_t len) {
  const char *body;
  size_t n, blen, keep;
  http_event ev = http_parser_execute(&c->parser, data, len, &n, &body, &blen);
  if (ev == HTTP_NEED_MORE) {
    input_drained(c);
    return;
  }
  if (ev != HTTP_BODY)
    body = data + n, blen = 0;
  keep = (size_t)(data + len - body);
  memcpy(c->in, body, keep);
  c->in_start = blen;
  c->in_end = keep;
  dispatch(c, ev, c->in, blen);
  if (ev != HTTP_ERROR)
    conn_process(c);
}

/* Continues after a route or a write let the connection go on. */
void conn_resume(conn_t *c) {
  c->flags &= ~(unsigned)C_BUSY;
  conn_process(c);
}

/* The peer closed its side (or the connection failed). As Node's server
 * does by default (allowHalfOpen false), a FIN ends the connection: a
 * response already written whole is finished, then the connection
 * closes; a request still being worked on is abandoned, its queued pool
 * work, file reads and timer canceled by conn_close, so a client that
 * left costs nothing more. A request and FIN sent together still get an
 * answer when the route answers at once (fast, stats, errors). */
/* The response's last bytes are with the stream: a write marked final, or
 * the file chunk that completes the file (its callback ends the response;
 * the client may have read it all and closed before that callback runs). */
static int response_all_written(const conn_t *c) {
  return c->write_next == W_FINAL ||
         (c->write_next == W_FILE && c->file_off >= c->file_size);
}

static void peer_done(conn_t *c, ssize_t err) {
  c->flags |= C_EOF;
  c->flags &= ~(unsigned)C_READING;
  if (err == ART_EOF && response_all_written(c) && !(c->flags & C_LINGER)) {
    c->flags |= C_CLOSE_AFTER; /* no pipelined request after it */
    return;
  }
  conn_close(c);
}

static void on_read(art_stream_t *s, ssize_t nread, const art_buf_t *buf) {
  conn_t *c = (conn_t *)s;
  if (nread == 0)
    return;
  if (nread < 0) {
    peer_done(c, nread);
    return;
  }
  if (c->flags & C_LINGER)
    return;
  if (c->in_end == 0 && c->timer_role == T_IDLE)
    request_begins(c);
  if (buf->base == c->srv->rbuf) {
    process_shared(c, buf->base, (size_t)nread);
    return;
  }
  c->in_end += (size_t)nread;
  if (c->flags & C_BUSY)
    update_reading(c);
  else
    conn_process(c);
}

/* ------------------------------------------------------------------------ */
/* Writing.                                                                 */

static void on_shutdown(art_shutdown_t *req, int status) {
  conn_t *c = req->data;
  if (status < 0 && !(c->flags & C_CLOSING))
    conn_close(c);
}

/* After a response that ends the connection: half-close, then discard what
 * the peer still sends until its FIN or a short linger, so that the peer
 * reads the response instead of a reset. */
static void start_linger(conn_t *c) {
  if (c->flags & C_EOF) {
    conn_close(c);
    return;
  }
  c->flags |= C_LINGER;
  c->sreq.data = c;
  if (art_shutdown(&c->sreq, (art_stream_t *)&c->tcp, on_shutdown) != 0) {
    conn_close(c);
    return;
  }
  conn_start_timer(c, T_LINGER, 1000);
  update_reading(c);
}

/* The current response is complete: count it, then the next request. */
static void response_done(conn_t *c) {
  server_request_done(c);
  request_id_leave(c); /* the idle timer and the next read are no request's */
  c->route = R_NONE;
  c->head_only = 0;
  c->flags &= ~(unsigned)C_HEAD_SENT; /* the next request's errors: a 4xx */
  if (c->flags & C_CLOSE_AFTER) {
    start_linger(c);
    return;
  }
  if (c->in_start < c->in_end)
    request_begins(c); /* a pipelined request is waiting */
  else
    conn_start_timer(c, T_IDLE, c->srv->cfg.idle_timeout);
  conn_resume(c);
}

static void on_write(art_write_t *req, int status) {
  conn_t *c = req->data;
  write_next_t next = c->write_next;
  c->write_next = W_NONE;
  if (c->timer_role == T_SEND)
    conn_start_timer(c, T_NONE, 0);
  request_log(c->srv, "write done (%s)",
              status < 0 ? art_strerror(status) : "ok");
  if (status < 0 || (c->flags & C_CLOSING)) {
    conn_close(c);
    return;
  }
  switch (next) {
  case W_FINAL:
    response_done(c);
    break;
  case W_CONTINUE:
    conn_resume(c);
    break;
  default:
    route_write_done(c);
  }
}

/* Writes c->bufs[0..nbufs) as one vectored write; the connection is busy
 * until it completes, then `next` says how to go on. What the socket did
 * not take at once is under the send timeout, unless the request timeout
 * still runs (the echo writes while its body arrives). */
void conn_write(conn_t *c, unsigned nbufs, write_next_t next) {
  art_stream_t *s = (art_stream_t *)&c->tcp;
  c->write_next = next;
  c->flags |= C_BUSY;
  c->wreq.data = c;
  if (art_write(&c->wreq, s, c->bufs, nbufs, on_write) < 0) {
    conn_close(c);
    return;
  }
  c->send_left = art_stream_write_queue_size(s);
  if (c->send_left > 0 && c->timer_role == T_NONE)
    conn_start_timer(c, T_SEND, c->srv->cfg.send_timeout);
}

/* The Date header value, formatted once per second by each thread (worker
 * loops serve on threads of their own: one cache each, nothing shared). */
static const char *http_date(server_t *srv) {
  static _Thread_local char date[40];
  static _Thread_local time_t last;
  time_t now = time(NULL);
  if (now != last) {
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    last = now;
  }
  return date;
}

/* A cursor writing into a fixed buffer; output past its end is dropped
 * (the head buffer is sized so that it never is). */
typedef struct {
  char *p;   /* next byte to write */
  char *end; /* end of the buffer */
} out_t;

static void put(out_t *o, const char *s, size_t n) {
  if (n > (size_t)(o->end - o->p))
    n = (size_t)(o->end - o->p);
  memcpy(o->p, s, n);
  o->p += n;
}

static void put_str(out_t *o, const char *s) {
  put(o, s, strlen(s));
}

static void put_u64(out_t *o, uint64_t v) {
  char digits[20];
  size_t i = sizeof(digits);
  do {
    digits[--i] = (char)('0' + v % 10);
    v /= 10;
  } while (v != 0);
  put(o, digits + i, sizeof(digits) - i);
}

/* Formats the response head into c->head; length UINT64_MAX means a
 * chunked body. extra (may be NULL) is more header lines, CRLF-ended.
 * Pieces are copied rather than printf'd: this runs for every response. */
size_t conn_format_head(conn_t *c, int status, const char *type,
                        uint64_t length, const char *extra) {
  out_t o = {c->head, c->head + sizeof(c->head)};
  put(&o, "HTTP/1.1 ", 9);
  put_u64(&o, (uint64_t)status);
  put(&o, " ", 1);
  put_str(&o, http_status_text(status));
  put_str(&o, "\r\nServer: libasyncrt\r\nDate: ");
  put_str(&o, http_date(c->srv));
  put_str(&o, "\r\nContent-Type: ");
  put_str(&o, type);
  if (length == UINT64_MAX) {
    put_str(&o, "\r\nTransfer-Encoding: chunked\r\n");
  } else {
    put_str(&o, "\r\nContent-Length: ");
    put_u64(&o, length);
    put(&o, "\r\n", 2);
  }
  if (c->flags & C_CLOSE_AFTER)
    put_str(&o, "Connection: close\r\n");
  else if (c->parser.req.version_minor == 0)
    put_str(&o, "Connection: keep-alive\r\n");
  if (extra != NULL)
    put_str(&o, extra);
  put(&o, "\r\n", 2);
  c->status = status;
  c->head_len = (size_t)(o.p - c->head);
  return c->head_len;
}

/* Sends a whole response: head and body in one write. A NULL body means
 * the standard JSON error body for the status. */
void conn_respond(conn_t *c, int status, const char *type, const char *body,
                  size_t len) {
  unsigned nbufs = c->head_only ? 1 : 2;
  if (body == NULL)
    body = error_body(c, status, &len);
  conn_format_head(c, status, type, len, c->extra);
  c->extra[0] = '\0';
  c->bufs[0] = art_buf_init(c->head, c->head_len);
  c->bufs[1] = art_buf_init((char *)body, len);
  c->bytes_out = nbufs == 2 ? len : 0;
  conn_write(c, nbufs, W_FINAL);
}

/* A streamed response ended without a last write of its own. */
void conn_response_done(conn_t *c) {
  response_done(c);
}

/* ------------------------------------------------------------------------ */
/* A new connection.                                                        */

/* Records the peer address, IPv4 as IPv4-mapped IPv6, for the limiter and
 * the access log. */
static void note_peer(conn_t *c) {
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  memset(c->addr, 0, sizeof(c->addr));
  if (art_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
    return;
  if (ss.ss_family == AF_INET) {
    c->addr[10] = c->addr[11] = 0xff;
    memcpy(c->addr + 12, &((struct sockaddr_in *)&ss)->sin_addr, 4);
  } else if (ss.ss_family == AF_INET6) {
    memcpy(c->addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
  }
}

/* Starts serving an accepted connection (c->tcp is initialised and
 * accepted; the caller set C_REJECT if it is over the limit). */
int conn_start(conn_t *c) {
  server_t *srv = c->srv;
  int err;
  c->tcp.data = c;
  c->handles = 1;
  c->ops = 0;
  c->work_inflight = c->fs_inflight = 0;
  c->in_start = c->in_end = 0;
  c->route = R_NONE;
  c->write_next = W_NONE;
  c->timer_role = T_NONE;
  c->head_only = 0;
  c->status = 0;
  c->bytes_out = 0;
  c->arrival_ns = art_hrtime();
  c->arrival_phase = "none";
  c->extra[0] = '\0';
  http_parser_init(&c->parser, srv->cfg.max_body);
  c->prev = NULL;
  c->next = srv->conns;
  if (srv->conns != NULL)
    srv->conns->prev = c;
  srv->conns = c;
  srv->nconns++;
  if ((err = art_timer_init(srv->loop, &c->timer)) != 0) {
    c->flags |= C_CLOSING; /* only the socket to close */
    art_close((art_handle_t *)&c->tcp, on_handle_closed);
    return err;
  }
  c->timer.data = c;
  c->handles = 2;
  c->flags |= C_FRESH;
  art_tcp_nodelay(&c->tcp, 1);
  note_peer(c);
  if (c->flags & C_REJECT) {
    c->flags |= C_CLOSE_AFTER;
    c->route = R_REFUSED;
    conn_respond(c, 503, "application/json", NULL, 0);
    return 0;
  }
  conn_start_timer(c, T_IDLE, srv->cfg.idle_timeout);
  update_reading(c);
  return 0;
}
