/* The routes of the HTTP server: what each URL does, on which part of the
 * runtime.
 *
 *   GET  /api/fast        answered at once, from the poll phase
 *   GET  /api/slow?ms=N   answered from a timer N ms later
 *   GET  /api/heavy       a hash chain on the work pool; the loop stays free
 *   GET  /api/file?name=  a file of the served folder, streamed in chunks
 *   POST /api/echo        the body, streamed back as it arrives
 *   GET  /api/stats       loop, pool and server counters
 *   GET  /api/lifecycle   the phases one request goes through, timed
 *   GET  /api/report      the loop's diagnostic report (art_loop_report)
 *   GET  /metrics         Prometheus text format (metrics.c)
 *   GET  /, /dashboard    a live page drawing /metrics (dashboard.c)
 *
 * The route is chosen when the head is parsed (route_head); the answer is
 * given once the request is complete (route_done), except for echo, which
 * answers as the body arrives.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metrics.h"
#include "server.h"

static const char FAST_BODY[] =
    "{\"message\":\"hello from libasyncrt\",\"route\":\"fast\"}\n";
static const char JSON[] = "application/json";

/* ------------------------------------------------------------------------ */
/* Query strings.                                                           */

static int hex_digit(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* Copies the percent-decoded value of query parameter name into out (NUL
 * terminated). Returns its length, -1 when absent, -2 when malformed (a bad
 * escape, an escaped NUL, or longer than out). */
int query_param(const http_request_t *req, const char *name, char *out,
                size_t outsz) {
  const char *q = memchr(req->target, '?', req->target_len);
  const char *end = req->target + req->target_len;
  size_t nlen = strlen(name), n = 0;
  while (q != NULL && q < end) {
    const char *p = q + 1;
    q = memchr(p, '&', (size_t)(end - p));
    if ((q == NULL ? end : q) - p <= (ptrdiff_t)nlen || p[nlen] != '=' ||
        memcmp(p, name, nlen) != 0)
      continue;
    for (p += nlen + 1; p < (q == NULL ? end : q); p++) {
      int ch = (unsigned char)*p, hi, lo;
      if (ch == '%') {
        if (end - p < 3 || (hi = hex_digit(p[1])) < 0 ||
            (lo = hex_digit(p[2])) < 0 || (ch = hi * 16 + lo) == 0)
          return -2;
        p += 2;
      }
      if (n + 1 >= outsz)
        return -2;
      out[n++] = (char)ch;
    }
    out[n] = '\0';
    return (int)n;
  }
  return -1;
}

/* A numeric parameter: *out is def when it is absent, else its value,
 * which must be decimal digits only and at most max. Returns 0, or -1 for
 * a malformed or too large value (the caller answers 400). */
static int query_u64(const http_request_t *req, const char *name, uint64_t def,
                     uint64_t max, uint64_t *out) {
  char buf[24];
  uint64_t v = 0;
  int n = query_param(req, name, buf, sizeof(buf)), i;
  if (n == -1) {
    *out = def;
    return 0;
  }
  if (n <= 0)
    return -1;
  for (i = 0; i < n; i++) {
    if (buf[i] < '0' || buf[i] > '9' ||
        v > (max - (uint64_t)(buf[i] - '0')) / 10)
      return -1;
    v = v * 10 + (uint64_t)(buf[i] - '0');
  }
  *out = v;
  return 0;
}

/* Does the path (target up to '?') equal p? */
static int path_is(const http_request_t *req, const char *p) {
  const char *q = memchr(req->target, '?', req->target_len);
  size_t len = q != NULL ? (size_t)(q - req->target) : req->target_len;
  return strlen(p) == len && memcmp(req->target, p, len) == 0;
}

/* ------------------------------------------------------------------------ */
/* Choosing a route.                                                        */

static void refuse(conn_t *c, int status) {
  c->route = R_REFUSED;
  c->status = status;
}

static route_t match(conn_t *c, const http_request_t *req) {
  static const struct {
    const char *path;
    route_t route;
  } gets[] = {{"/api/fast", R_FAST},       {"/api/slow", R_SLOW},
              {"/api/heavy", R_HEAVY},     {"/api/file", R_FILE},
              {"/api/stats", R_STATS},     {"/api/lifecycle", R_LIFECYCLE},
              {"/metrics", R_METRICS},     {"/", R_DASHBOARD},
              {"/dashboard", R_DASHBOARD}, {"/api/report", R_REPORT},
              {"/healthz", R_HEALTHZ},     {"/readyz", R_READYZ}};
  size_t i;
  int get = req->method == HTTP_GET || req->method == HTTP_HEAD_METHOD;
  for (i = 0; i < sizeof(gets) / sizeof(gets[0]); i++) {
    if (path_is(req, gets[i].path)) {
      if (get)
        return gets[i].route;
      snprintf(c->extra, sizeof(c->extra), "Allow: GET, HEAD\r\n");
      refuse(c, 405);
      return R_REFUSED;
    }
  }
  if (path_is(req, "/api/echo")) {
    if (req->method == HTTP_POST || req->method == HTTP_PUT)
      return R_ECHO;
    snprintf(c->extra, sizeof(c->extra), "Allow: POST, PUT\r\n");
    refuse(c, 405);
    return R_REFUSED;
  }
  return R_NOT_FOUND;
}

static void echo_head(conn_t *c);
static void report_answer(conn_t *c);

/* The head is parsed: choose the route; answer "100 Continue" when the
 * client waits for it before sending a body. */
void route_head(conn_t *c) {
  const http_request_t *req = &c->parser.req;
  uint64_t retry_ms;
  static art_buf_t cont = {"HTTP/1.1 100 Continue\r\n\r\n", 25};
  if (server_rate_check(c->srv, c->addr, &retry_ms) != 0) {
    snprintf(c->extra, sizeof(c->extra), "Retry-After: %llu\r\n",
             (unsigned long long)(retry_ms + 999) / 1000);
    refuse(c, 429);
  } else {
    c->route = match(c, req);
  }
  if (c->route == R_LIFECYCLE) {
    c->steps[0].what = "arrival (first byte read)";
    c->steps[0].phase = c->arrival_phase;
    c->steps[0].ns = c->arrival_ns;
    c->nsteps = 1;
    lifecycle_step(c, "head parsed", NULL);
  }
  if (c->route == R_ECHO) {
    echo_head(c);
  } else if (req->expect_continue && (req->chunked || req->content_length)) {
    c->bufs[0] = cont;
    conn_write(c, 1, W_CONTINUE);
  }
}

/* ------------------------------------------------------------------------ */
/* /api/echo: the body goes back as it arrives, with the request's framing. */

static void echo_head(conn_t *c) {
  const http_request_t *req = &c->parser.req;
  const http_header_t *ct = http_find_header(req, "content-type");
  static art_buf_t cont = {"HTTP/1.1 100 Continue\r\n\r\n", 25};
  char type[128] = "application/octet-stream";
  unsigned n = 0;
  if (ct != NULL && ct->value_len > 0 && ct->value_len < sizeof(type))
    snprintf(type, sizeof(type), "%.*s", (int)ct->value_len, ct->value);
  c->echo_chunked = req->chunked;
  conn_format_head(c, 200, type,
                   req->chunked ? UINT64_MAX : req->content_length, NULL);
  if (req->expect_continue)
    c->bufs[n++] = cont;
  c->bufs[n++] = art_buf_init(c->head, c->head_len);
  c->flags |= C_HEAD_SENT;
  conn_write(c, n, W_PIECE);
}

/* A piece of the request body: written straight from the read buffer (the
 * connection reads no further into it until the write is done). */
static void echo_piece(conn_t *c, const char *data, size_t len) {
  unsigned n = 0;
  if (c->echo_chunked) {
    int k = snprintf(c->chunk_line, sizeof(c->chunk_line), "%zx\r\n", len);
    c->bufs[n++] = art_buf_init(c->chunk_line, (size_t)k);
  }
  c->bufs[n++] = art_buf_init((char *)data, len);
  if (c->echo_chunked)
    c->bufs[n++] = art_buf_init("\r\n", 2);
  c->bytes_out += len;
  conn_write(c, n, W_PIECE);
}

static void echo_end(conn_t *c) {
  if (c->echo_chunked) {
    c->bufs[0] = art_buf_init("0\r\n\r\n", 5);
    conn_write(c, 1, W_FINAL);
  } else {
    conn_response_done(c);
  }
}

void route_body(conn_t *c, const char *data, size_t len) {
  if (c->route == R_ECHO)
    echo_piece(c, data, len); /* other routes ignore a body */
}

/* ------------------------------------------------------------------------ */
/* /api/slow and /api/heavy.                                                */

static void slow_start(conn_t *c) {
  if (query_u64(&c->parser.req, "ms", 100, SLOW_MAX_MS, &c->rounds) != 0) {
    conn_respond(c, 400, JSON, NULL, 0);
    return;
  }
  c->work_ns = art_hrtime();
  c->flags |= C_BUSY;
  conn_start_timer(c, T_ROUTE, c->rounds);
}

static void slow_answer(conn_t *c) {
  int n = snprintf(c->body, sizeof(c->body),
                   "{\"route\":\"slow\",\"ms\":%llu,\"waited_ms\":%.3f}\n",
                   (unsigned long long)c->rounds,
                   (double)(art_hrtime() - c->work_ns) / 1e6);
  conn_respond(c, 200, JSON, c->body, (size_t)n);
}

/* The CPU work: a chain of 64-bit mixing rounds (the finaliser of
 * MurmurHash3), each depending on the last, so it cannot be vectorised
 * away: about 3 ns a round. */
static uint64_t hash_chain(uint64_t x, uint64_t rounds) {
  uint64_t i;
  for (i = 0; i < rounds; i++) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= (x >> 33) + i;
  }
  return x;
}

/* Runs on a pool thread; the loop does not touch c meanwhile. */
static void heavy_work(art_work_t *w) {
  conn_t *c = w->data;
  uint64_t t0 = art_hrtime();
  c->digest = hash_chain(0x9e3779b97f4a7c15ull, c->rounds);
  c->work_ns = art_hrtime() - t0;
}

static void heavy_after(art_work_t *w, int status) {
  conn_t *c = w->data;
  int n;
  request_log(c->srv, "pool work done (%s)",
              status == 0 ? "ran" : art_strerror(status));
  if (!(c->flags & C_CLOSING) && status == 0) {
    n = snprintf(c->body, sizeof(c->body),
                 "{\"route\":\"heavy\",\"rounds\":%llu,\"digest\":\"%016llx\","
                 "\"work_ms\":%.3f,\"ran_on\":\"pool thread\"}\n",
                 (unsigned long long)c->rounds, (unsigned long long)c->digest,
                 (double)c->work_ns / 1e6);
    conn_respond(c, 200, JSON, c->body, (size_t)n);
  } else if (!(c->flags & C_CLOSING)) {
    conn_respond(c, 503, JSON, NULL, 0);
  }
  c->work_inflight = 0;
  conn_op_done(c);
}

static void heavy_start(conn_t *c) {
  if (query_u64(&c->parser.req, "rounds", 5000000, HEAVY_MAX_ROUNDS,
                &c->rounds) != 0) {
    conn_respond(c, 400, JSON, NULL, 0);
    return;
  }
  c->work.data = c;
  c->flags |= C_BUSY;
  if (art_queue_work(c->srv->loop, &c->work, heavy_work, heavy_after) != 0) {
    conn_respond(c, 500, JSON, NULL, 0);
    return;
  }
  c->ops++;
  c->work_inflight = 1;
}

/* ------------------------------------------------------------------------ */
/* /api/stats.                                                              */

/* The loop part of /api/stats: counters, utilisation since the start and
 * since the previous /api/stats, timer lag, time per phase. */
static int stats_loop(conn_t *c, char *out, size_t size) {
  server_t *srv = c->srv;
  art_loop_metrics_t m;
  double total = 0, recent = 0;
  int n, i;
  art_loop_metrics(srv->loop, &m);
  art_loop_utilization(NULL, &m, &total);
  art_loop_utilization(srv->last_stats.sample_ns ? &srv->last_stats : NULL, &m,
                       &recent);
  srv->last_stats = m;
  n = snprintf(out, size,
               "{\"loop\":{\"backend\":\"%s\",\"iterations\":%llu,"
               "\"events\":%llu,\"idle_ms\":%.3f,\"utilisation\":%.4f,"
               "\"utilisation_since_last_stats\":%.4f,\"timers_fired\":%llu,"
               "\"timer_lag_max_ms\":%llu,\"phase_ms\":{",
               art_backend_name(srv->loop), (unsigned long long)m.iterations,
               (unsigned long long)m.events, (double)m.idle_time_ns / 1e6,
               total, recent, (unsigned long long)m.timers_fired,
               (unsigned long long)m.timer_lag_max_ms);
  for (i = 0; i < ART_PHASE_NONE && n < (int)size; i++)
    n += snprintf(out + n, size - (size_t)n, "%s\"%s\":%.3f", i ? "," : "",
                  art_phase_name((art_phase)i),
                  (double)m.phase_time_ns[i] / 1e6);
  return n;
}

/* Connections with a request in progress (the asking one is not yet). */
static unsigned count_busy(const server_t *srv) {
  const conn_t *c;
  unsigned n = 0;
  for (c = srv->conns; c != NULL; c = c->next)
    n += (c->flags & C_BUSY) && !(c->flags & (C_CLOSING | C_LINGER));
  return n;
}

static void stats_answer(conn_t *c) {
  server_t *srv = c->srv;
  art_pool_stats_t ps;
  size_t rss = 0;
  uint64_t queued = 0;
  int n, i;
  memset(&ps, 0, sizeof(ps));
  art_pool_stats(NULL, &ps);
  art_resident_set_memory(&rss);
  for (i = 0; i < ART_LANE_COUNT; i++)
    queued += ps.queued[i];
  n = stats_loop(c, c->body, sizeof(c->body));
  n += snprintf(
      c->body + n, sizeof(c->body) - (size_t)n,
      "}},\"pool\":{\"threads\":%u,\"idle\":%u,\"queued\":%llu,\"running\":"
      "%llu,\"completed\":%llu,\"canceled\":%llu,\"wait_ms\":%.3f,"
      "\"run_ms\":%.3f},\"connections\":{\"open\":%u,\"busy\":%u,"
      "\"accepted\":%llu,\"rejected\":%llu,\"send_timeouts\":%llu,"
      "\"pooled_structs\":%u,\"slabs\":%u,\"file_buffers\":%u},"
      "\"requests\":"
      "%llu,",
      ps.threads, ps.idle, (unsigned long long)queued,
      (unsigned long long)ps.running, (unsigned long long)ps.completed,
      (unsigned long long)ps.canceled, (double)ps.wait_time_ns / 1e6,
      (double)ps.run_time_ns / 1e6, srv->nconns, count_busy(srv),
      (unsigned long long)srv->accepted, (unsigned long long)srv->rejected,
      (unsigned long long)srv->send_timeouts, conn_structs(srv),
      srv->mapped_slabs, srv->file_bufs, (unsigned long long)srv->requests);
  if (server_lib_allocs() >= 0 && n < (int)sizeof(c->body)) /* --count-allocs */
    n += snprintf(c->body + n, sizeof(c->body) - (size_t)n,
                  "\"library_allocs\":%lld,", server_lib_allocs());
  if (n < (int)sizeof(c->body)) /* with --workers: which one answered */
    n += snprintf(c->body + n, sizeof(c->body) - (size_t)n,
                  "\"worker\":%u,\"workers\":%u,\"pid\":%d,"
                  "\"rss_bytes\":%zu,\"uptime_s\":%.3f}\n",
                  srv->worker, srv->nworkers > 0 ? srv->nworkers : 1,
                  art_getpid(), rss,
                  (double)(art_hrtime() - srv->start_ns) / 1e9);
  if (n >= (int)sizeof(c->body))
    n = (int)sizeof(c->body) - 1;
  conn_respond(c, 200, JSON, c->body, (size_t)n);
}

/* ------------------------------------------------------------------------ */
/* Probes: /healthz says the process runs (a liveness probe restarts it     */
/* when this stops answering); /readyz says it wants traffic (a readiness   */
/* probe takes it out of the load balancer once it answers 503).            */

#define HEALTHZ_BODY "{\"status\":\"ok\"}\n"

static void readyz_answer(conn_t *c) {
  static const char ready[] = "{\"ready\":true}\n";
  static const char draining[] = "{\"ready\":false,\"draining\":true}\n";
  if (c->srv->draining)
    conn_respond(c, 503, JSON, draining, sizeof(draining) - 1);
  else
    conn_respond(c, 200, JSON, ready, sizeof(ready) - 1);
}

/* ------------------------------------------------------------------------ */
/* Dispatch.                                                                */

/* The request is complete (body included): answer it. */
void route_done(conn_t *c) {
  switch (c->route) {
  case R_FAST:
    conn_respond(c, 200, JSON, FAST_BODY, sizeof(FAST_BODY) - 1);
    break;
  case R_SLOW:
    slow_start(c);
    break;
  case R_HEAVY:
    heavy_start(c);
    break;
  case R_FILE:
    file_start(c);
    break;
  case R_ECHO:
    echo_end(c);
    break;
  case R_STATS:
    stats_answer(c);
    break;
  case R_LIFECYCLE:
    lifecycle_start(c);
    break;
  case R_REPORT:
    report_answer(c);
    break;
  case R_METRICS:
    metrics_answer(c);
    break;
  case R_DASHBOARD:
    dashboard_answer(c);
    break;
  case R_HEALTHZ:
    conn_respond(c, 200, JSON, HEALTHZ_BODY, sizeof(HEALTHZ_BODY) - 1);
    break;
  case R_READYZ:
    readyz_answer(c);
    break;
  case R_NOT_FOUND:
    conn_respond(c, 404, JSON, NULL, 0);
    break;
  default:
    conn_respond(c, c->status ? c->status : 500, JSON, NULL, 0);
  }
}

/* ------------------------------------------------------------------------ */
/* /api/report.                                                             */

/* The report grows with the connections open, so it is sized on each call
 * (with room for handles opened in between) rather than kept in body[]. */
char *route_report_text(art_loop_t *loop, size_t *len) {
  for (int tries = 0; tries < 4; tries++) {
    size_t n = 0;
    if (art_loop_report(loop, NULL, &n) != ART_ENOBUFS)
      return NULL;
    n += 1024;
    char *buf = malloc(n);
    if (buf == NULL)
      return NULL;
    if (art_loop_report(loop, buf, &n) == 0) {
      *len = n;
      return buf;
    }
    free(buf);
  }
  return NULL;
}

/* Written as a streamed piece so that route_write_done frees it. */
static void report_answer(conn_t *c) {
  size_t len = 0;
  c->report = route_report_text(c->srv->loop, &len);
  if (c->report == NULL) {
    conn_respond(c, 503, JSON, NULL, 0);
    return;
  }
  conn_format_head(c, 200, JSON, len, NULL);
  c->bufs[0] = art_buf_init(c->head, c->head_len);
  c->bufs[1] = art_buf_init(c->report, len);
  c->bytes_out = c->head_only ? 0 : len;
  conn_write(c, c->head_only ? 1 : 2, W_PIECE);
}

static void report_free(conn_t *c) {
  free(c->report);
  c->report = NULL;
}

/* The connection's timer fired for the route. */
void route_timer(conn_t *c) {
  request_log(c->srv, "timer fired");
  if (c->route == R_SLOW)
    slow_answer(c);
  else if (c->route == R_LIFECYCLE)
    lifecycle_timer(c);
}

/* A write of a streamed response finished. */
void route_write_done(conn_t *c) {
  if (c->route == R_REPORT) {
    report_free(c);
    conn_response_done(c);
  } else if (c->route == R_FILE)
    file_write_done(c);
  else
    conn_resume(c);
}

/* The connection is closing: give up what can be given up now; requests
 * still running finish and see C_CLOSING. */
void route_abort(conn_t *c) {
  report_free(c);
  if (c->work_inflight)
    art_cancel((art_req_t *)&c->work);
  if (c->fs_inflight)
    art_cancel((art_req_t *)&c->fs);
  else if (c->fd >= 0) {
    art_fs_t req;
    art_fs_close(c->srv->loop, &req, c->fd, NULL);
    art_fs_req_cleanup(&req);
    c->fd = -1;
  }
}
