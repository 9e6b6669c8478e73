/* The end-to-end scenarios of the server's observability: /metrics (its
 * format checked by promtool, its values moving under load). Registered in
 * e2e.c's table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "e2e.h"

/* GET /metrics: the body (malloc'd), after checking status and type. */
static char *scrape(void) {
  resp_t r;
  const char *type;
  char *body;
  request("GET", "/metrics", NULL, &r);
  type = header(&r, "Content-Type");
  CHECK(r.status == 200, "/metrics: status %d", r.status);
  CHECK(type != NULL && strncmp(type, "text/plain; version=0.0.4", 25) == 0,
        "/metrics: Content-Type %s", type != NULL ? type : "(none)");
  body = r.body;
  r.body = NULL;
  resp_free(&r);
  return body;
}

/* The value of the sample whose line starts with series (name and labels,
 * exactly as printed) followed by a space; 0 when absent (a counter that
 * never moved, a route never asked). */
static double sample(const char *text, const char *series) {
  size_t n = strlen(series);
  const char *p = text;
  while ((p = strstr(p, series)) != NULL) {
    if ((p == text || p[-1] == '\n') && p[n] == ' ')
      return strtod(p + n + 1, NULL);
    p += n;
  }
  return 0;
}

/* The text is valid exposition format by Prometheus' own checker. */
void scenario_metrics_promtool(void) {
  char path[128], cmd[256], *text;
  FILE *f;
  int rc;
  expect_get("/api/fast", 200, NULL);
  expect_get("/api/heavy?rounds=1000", 200, NULL);
  expect_get("/api/file?name=hello.txt", 200, NULL);
  expect_get("/api/missing", 404, NULL);
  text = scrape();
  snprintf(path, sizeof(path), "%s/metrics.txt", root);
  f = fopen(path, "w");
  CHECK(f != NULL && fputs(text, f) >= 0 && fclose(f) == 0, "write %s", path);
  snprintf(cmd, sizeof(cmd), "promtool check metrics < %s", path);
  rc = system(cmd);
  CHECK(rc == 0, "promtool check metrics failed (%d) on:\n%s", rc, text);
  CHECK(strstr(text, "http_request_duration_seconds_bucket{route=\"fast\","
                     "le=\"+Inf\"} 1\n") != NULL,
        "no +Inf bucket for fast in:\n%s", text);
  free(text);
}

/* N requests move the request counter and the latency histogram's count by
 * exactly N, and its +Inf bucket with it; pool work moves the cpu lane's
 * queue-wait count; a 100 ms timer gives the delay monitor samples. */
void scenario_metrics(void) {
  enum { N = 40 };
  static const char *const keys[] = {
      "http_requests_total{route=\"fast\",code=\"2xx\"}",
      "http_request_duration_seconds_count{route=\"fast\"}",
      "http_request_duration_seconds_bucket{route=\"fast\",le=\"+Inf\"}"};
  const char *wait = "asyncrt_pool_queue_wait_seconds_count{lane=\"cpu\"}";
  const char *delay = "asyncrt_eventloop_delay_seconds_count";
  const char *acc = "http_connections_accepted_total";
  char *before = scrape(), *after;
  client_t *c = client_open();
  resp_t r;
  size_t i;
  for (i = 0; i < N; i++) {
    send_str(c, "GET /api/fast HTTP/1.1\r\nHost: e\r\n\r\n");
    read_response(c, &r, 0);
    CHECK(r.status == 200, "fast: %d", r.status);
    resp_free(&r);
  }
  client_close(c);
  expect_get("/api/heavy?rounds=1000", 200, NULL);
  expect_get("/api/slow?ms=100", 200, NULL);
  after = scrape();
  for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
    CHECK(sample(after, keys[i]) - sample(before, keys[i]) == N,
          "%s: %g then %g, not +%d", keys[i], sample(before, keys[i]),
          sample(after, keys[i]), N);
  CHECK(sample(after, wait) == sample(before, wait) + 1, "%s: %g then %g", wait,
        sample(before, wait), sample(after, wait));
  CHECK(sample(after, delay) > sample(before, delay), "%s did not grow", delay);
  /* The N requests' connection, heavy's, slow's and the second scrape's. */
  CHECK(sample(after, acc) == sample(before, acc) + 4, "%s: %g then %g", acc,
        sample(before, acc), sample(after, acc));
  CHECK(sample(after, "http_request_duration_seconds_sum{route=\"fast\"}") > 0,
        "fast: no latency sum");
  free(before);
  free(after);
}
