/* The server's own metrics: GET /metrics in Prometheus' text format
 * (metrics.c) and the dashboard page that draws them (dashboard.c). */
#ifndef HTTP_METRICS_H
#define HTTP_METRICS_H

#include "server.h"

#define METRICS_ROUTES   16 /* route_t values tracked; larger ones: the last */
#define METRICS_CLASSES  5  /* status classes 1xx .. 5xx */
#define METRICS_DELAY_MS 10 /* resolution of the event-loop delay monitor */

/* What the server records for /metrics; allocated by metrics_start. */
typedef struct metrics_s {
  art_histogram_t delay; /* event-loop delay, ns (the loop's monitor) */
  art_histogram_t latency[METRICS_ROUTES]; /* arrival to response end, ns */
  uint64_t responses[METRICS_ROUTES][METRICS_CLASSES]; /* by status class */
  art_loop_metrics_t last; /* loop counters at the previous scrape */
} metrics_t;

/* Allocates srv->metrics and starts the delay monitor; 0 or an error. */
int metrics_start(server_t *srv);
/* Frees srv->metrics; after art_loop_close (the monitor records into it). */
void metrics_free(server_t *srv);
/* A response was completely written: its latency and status class. */
void metrics_request_done(conn_t *c);
/* GET /metrics; GET / and /dashboard (dashboard.c). */
void metrics_answer(conn_t *c);
void dashboard_answer(conn_t *c);

#endif
