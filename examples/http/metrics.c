/* GET /metrics: the server's state in the Prometheus text exposition
 * format, version 0.0.4 (# HELP, # TYPE, then the samples). Durations are
 * in seconds, as Prometheus names them; the histograms are the library's
 * art_histogram_t, folded into a fixed set of `le` bounds at each scrape.
 *
 * The text is built into the connection's file buffer (FILE_CHUNK bytes,
 * which the file route uses the same way): a write in flight points at
 * it, so it cannot be shared between connections. It is freed when the
 * response ends. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char PROM_TYPE[] = "text/plain; version=0.0.4; charset=utf-8";

/* The `le` bounds of every exported histogram, in seconds; +Inf follows. */
static const double BOUNDS[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                1,      2.5,     5,      10};
#define NBOUNDS (sizeof(BOUNDS) / sizeof(BOUNDS[0]))

static const char *const LANES[ART_LANE_COUNT] = {"cpu", "fs", "slow"};

int metrics_start(server_t *srv) {
  srv->metrics = calloc(1, sizeof(*srv->metrics));
  if (srv->metrics == NULL)
    return ART_ENOMEM;
  art_histogram_init(&srv->metrics->delay);
  for (int i = 0; i < METRICS_ROUTES; i++)
    art_histogram_init(&srv->metrics->latency[i]);
  return art_loop_monitor_delay(srv->loop, METRICS_DELAY_MS,
                                &srv->metrics->delay);
}

void metrics_free(server_t *srv) {
  free(srv->metrics);
  srv->metrics = NULL;
}

static unsigned route_slot(route_t r) {
  return (unsigned)r < METRICS_ROUTES ? (unsigned)r : METRICS_ROUTES - 1;
}

static const char *route_label(route_t r) {
  switch (r) {
  case R_FAST:
    return "fast";
  case R_SLOW:
    return "slow";
  case R_HEAVY:
    return "heavy";
  case R_FILE:
    return "file";
  case R_ECHO:
    return "echo";
  case R_STATS:
    return "stats";
  case R_LIFECYCLE:
    return "lifecycle";
  case R_REPORT:
    return "report";
  case R_METRICS:
    return "metrics";
  case R_DASHBOARD:
    return "dashboard";
  case R_NOT_FOUND:
    return "not_found";
  case R_REFUSED:
    return "refused";
  case R_HEALTHZ:
    return "healthz";
  case R_READYZ:
    return "readyz";
  case R_NONE:
    return "none"; /* answered before a route was chosen (a bad request) */
  default:
    return "other";
  }
}

void metrics_request_done(conn_t *c) {
  metrics_t *m = c->srv->metrics;
  unsigned slot = route_slot(c->route), cls;
  if (c->route == R_METRICS)
    file_buf_free(c); /* the text went out: the write is done with it */
  if (m == NULL)
    return;
  art_histogram_record(&m->latency[slot], art_hrtime() - c->arrival_ns);
  cls = c->status >= 100 && c->status < 600 ? (unsigned)c->status / 100 : 5;
  m->responses[slot][cls - 1]++;
}

/* ------------------------------------------------------------------------ */
/* Writing the text.                                                        */

typedef struct {
  char *buf;
  size_t size, len;
  int overflow; /* the text did not fit: the scrape answers 500 */
} out_t;

static void put(out_t *o, const char *fmt, ...) {
  va_list ap;
  int n;
  if (o->overflow)
    return;
  va_start(ap, fmt);
  n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
  va_end(ap);
  if (n < 0 || (size_t)n >= o->size - o->len)
    o->overflow = 1;
  else
    o->len += (size_t)n;
}

static void family(out_t *o, const char *name, const char *type,
                   const char *help) {
  put(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The samples of one histogram of ns values, in seconds. labels is ""
 * or `key="value",` (with the comma). A bucket of h is counted under the
 * first bound its whole range lies under: `le` never claims a value that
 * may exceed it, and a count moves at most one bucket (1/16) up. */
static void histogram(out_t *o, const char *name, const char *labels,
                      const art_histogram_t *h) {
  uint64_t counts[NBOUNDS + 1] = {0}, cum = 0;
  art_histogram_bucket_t b;
  unsigned iter = 0, i;
  while (art_histogram_next(h, &iter, &b)) {
    for (i = 0; i < NBOUNDS && (double)b.high > BOUNDS[i] * 1e9; i++)
      ;
    counts[i] += b.count;
  }
  for (i = 0; i < NBOUNDS; i++) {
    cum += counts[i];
    put(o, "%s_bucket{%sle=\"%g\"} %llu\n", name, labels, BOUNDS[i],
        (unsigned long long)cum);
  }
  put(o, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
      (unsigned long long)art_histogram_count(h));
  /* The mean is exact (the sum over the count), so this is the sum. */
  put(o, "%s_sum%s%.*s%s %.9f\n", name, *labels ? "{" : "",
      *labels ? (int)strlen(labels) - 1 : 0, labels, *labels ? "}" : "",
      art_histogram_mean(h) * (double)art_histogram_count(h) / 1e9);
  put(o, "%s_count%s%.*s%s %llu\n", name, *labels ? "{" : "",
      *labels ? (int)strlen(labels) - 1 : 0, labels, *labels ? "}" : "",
      (unsigned long long)art_histogram_count(h));
}

/* Request latency and counts, per route that has answered at least once. */
static void put_requests(out_t *o, const metrics_t *m) {
  char labels[48];
  unsigned r, k;
  family(o, "http_request_duration_seconds", "histogram",
         "Time from a request's first byte to the end of its response.");
  for (r = 0; r < METRICS_ROUTES; r++) {
    if (art_histogram_count(&m->latency[r]) == 0)
      continue;
    snprintf(labels, sizeof(labels), "route=\"%s\",", route_label(r));
    histogram(o, "http_request_duration_seconds", labels, &m->latency[r]);
  }
  family(o, "http_requests_total", "counter",
         "Responses completely written, by route and status class.");
  for (r = 0; r < METRICS_ROUTES; r++)
    for (k = 0; k < METRICS_CLASSES; k++)
      if (m->responses[r][k] != 0)
        put(o, "http_requests_total{route=\"%s\",code=\"%uxx\"} %llu\n",
            route_label(r), k + 1, (unsigned long long)m->responses[r][k]);
}

static void put_pool(out_t *o) {
  art_histogram_t wait;
  char labels[32];
  int lane;
  family(o, "asyncrt_pool_queue_wait_seconds", "histogram",
         "Time work items waited in the pool's queue before a thread took "
         "them, per lane.");
  for (lane = 0; lane < ART_LANE_COUNT; lane++) {
    if (art_pool_histograms(NULL, (art_lane)lane, &wait, NULL) != 0)
      continue;
    snprintf(labels, sizeof(labels), "lane=\"%s\",", LANES[lane]);
    histogram(o, "asyncrt_pool_queue_wait_seconds", labels, &wait);
  }
}

/* Loop utilisation since the previous scrape (since the start at the
 * first), and time per phase. */
static void put_loop(out_t *o, server_t *srv) {
  art_loop_metrics_t lm;
  double util = 0;
  int i;
  art_loop_metrics(srv->loop, &lm);
  if (srv->metrics != NULL) {
    art_loop_utilization(
        srv->metrics->last.sample_ns ? &srv->metrics->last : NULL, &lm, &util);
    srv->metrics->last = lm;
  } else {
    art_loop_utilization(NULL, &lm, &util);
  }
  family(o, "asyncrt_loop_utilisation", "gauge",
         "Share of time the loop was not waiting for events, since the "
         "previous scrape.");
  put(o, "asyncrt_loop_utilisation %.6f\n", util);
  family(o, "asyncrt_loop_iterations_total", "counter", "Loop iterations.");
  put(o, "asyncrt_loop_iterations_total %llu\n",
      (unsigned long long)lm.iterations);
  family(o, "asyncrt_loop_phase_seconds_total", "counter",
         "Time the loop spent in each phase.");
  for (i = 0; i < ART_PHASE_NONE; i++)
    put(o, "asyncrt_loop_phase_seconds_total{phase=\"%s\"} %.9f\n",
        art_phase_name((art_phase)i), (double)lm.phase_time_ns[i] / 1e9);
}

/* Connections with a request in progress, the scraping one excepted. */
static unsigned busy_conns(const server_t *srv, const conn_t *self) {
  const conn_t *c;
  unsigned n = 0;
  for (c = srv->conns; c != NULL; c = c->next)
    n += c != self && (c->flags & C_BUSY) &&
         !(c->flags & (C_CLOSING | C_LINGER));
  return n;
}

static void put_server(out_t *o, conn_t *self) {
  server_t *srv = self->srv;
  size_t rss = 0;
  art_resident_set_memory(&rss);
  family(o, "http_connections_accepted_total", "counter",
         "Connections accepted (those refused with 503 included).");
  put(o, "http_connections_accepted_total %llu\n",
      (unsigned long long)srv->accepted);
  family(o, "http_send_timeouts_total", "counter",
         "Connections closed because a response made no write progress.");
  put(o, "http_send_timeouts_total %llu\n",
      (unsigned long long)srv->send_timeouts);
  family(o, "http_connections_open", "gauge", "Open connections.");
  put(o, "http_connections_open %u\n", srv->nconns);
  family(o, "http_connections_busy", "gauge",
         "Connections with a request in progress.");
  put(o, "http_connections_busy %u\n", busy_conns(srv, self));
  family(o, "process_resident_memory_bytes", "gauge", "Resident set size.");
  put(o, "process_resident_memory_bytes %zu\n", rss);
}

void metrics_answer(conn_t *c) {
  server_t *srv = c->srv;
  out_t o = {NULL, FILE_CHUNK, 0, 0};
  if (c->file_buf == NULL) {
    if ((c->file_buf = malloc(FILE_CHUNK)) == NULL) {
      conn_respond(c, 503, "application/json", NULL, 0);
      return;
    }
    srv->file_bufs++;
  }
  o.buf = c->file_buf;
  if (srv->metrics != NULL) {
    family(&o, "asyncrt_eventloop_delay_seconds", "histogram",
           "How late the loop's delay monitor timer ran.");
    histogram(&o, "asyncrt_eventloop_delay_seconds", "", &srv->metrics->delay);
    put_requests(&o, srv->metrics);
  }
  put_pool(&o);
  put_loop(&o, srv);
  put_server(&o, c);
  if (o.overflow)
    conn_respond(c, 500, "application/json", NULL, 0);
  else
    conn_respond(c, 200, PROM_TYPE, o.buf, o.len);
}
