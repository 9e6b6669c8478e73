/* The end-to-end scenarios of the server's observability: /metrics (its
 * format checked by promtool, its values moving under load). Registered in
 * e2e.c's table. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/wait.h>

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

/* The id that the access log line of target carries, after "req=". */
static unsigned long long id_of(const char *target) {
  char pat[128];
  const char *at, *eol;
  snprintf(pat, sizeof(pat), "\"GET %s\" 200 ", target);
  at = strstr(server_said, pat);
  CHECK(at != NULL, "no access line for %s in:\n%s", target, server_said);
  eol = strchr(at, '\n');
  at = strstr(at, " req=");
  CHECK(at != NULL && (eol == NULL || at < eol), "no id on the line of %s",
        target);
  return strtoull(at + 5, NULL, 10);
}

/* Lines that start "req=<id> <what>", and lines with <what> and any id. */
static void count_lines(unsigned long long id, const char *what, int *mine,
                        int *all) {
  char pat[64];
  const char *p = server_said;
  int n = snprintf(pat, sizeof(pat), "req=%llu %s", id, what);
  *mine = *all = 0;
  for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p) {
    const char *eol = strchr(p, '\n');
    size_t len = eol != NULL ? (size_t)(eol - p) : strlen(p);
    const char *w = strstr(p, what);
    if (strncmp(p, "req=", 4) == 0 && w != NULL && w < p + len) {
      (*all)++;
      *mine += len >= (size_t)n && strncmp(p, pat, (size_t)n) == 0;
    }
  }
}

/* With --log, a slow request (its timer), a file streamed in several
 * chunks (pool open, reads, writes) and pool work run at the same time.
 * Every line about each carries the id of its access line, read by the
 * server from the async context, and the three ids differ. */
void scenario_request_ids(void) {
  static const char *const targets[] = {
      "/api/slow?ms=100", "/api/file?name=big.bin", "/api/heavy?rounds=1000"};
  client_t *c[3];
  unsigned long long id[3];
  char req[128];
  int i, mine, all;
  resp_t r;
  for (i = 0; i < 3; i++) {
    c[i] = client_open();
    snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: e\r\n\r\n",
             targets[i]);
    send_str(c[i], req);
  }
  for (i = 2; i >= 0; i--) {
    read_response(c[i], &r, 0);
    CHECK(r.status == 200, "%s: %d", targets[i], r.status);
    resp_free(&r);
    client_close(c[i]);
  }
  CHECK(server_stop(SIGTERM, 10000) == 0, "exit status not 0");
  for (i = 0; i < 3; i++)
    id[i] = id_of(targets[i]);
  CHECK(id[0] && id[1] && id[2] && id[0] != id[1] && id[1] != id[2] &&
            id[0] != id[2],
        "ids %llu %llu %llu", id[0], id[1], id[2]);
  count_lines(id[0], "timer fired", &mine, &all);
  CHECK(mine == 1 && all == 1, "timer lines: %d of %d\n%s", mine, all,
        server_said);
  count_lines(id[1], "file opened", &mine, &all);
  CHECK(mine == 1 && all == 1, "open lines: %d of %d", mine, all);
  count_lines(id[1], "file read", &mine, &all);
  CHECK(mine >= BIG_SIZE / 32768 && mine == all, "read lines: %d of %d\n%s",
        mine, all, server_said);
  count_lines(id[2], "pool work done", &mine, &all);
  CHECK(mine == 1 && all == 1, "pool lines: %d of %d", mine, all);
  count_lines(id[1], "write done", &mine, &all);
  CHECK(mine >= BIG_SIZE / 32768, "file writes: %d", mine);
  for (i = 0; i < 3; i += 2) {
    int m;
    count_lines(id[i], "write done", &m, &all);
    CHECK(m == 1, "%s: %d writes", targets[i], m);
    mine += m;
  }
  CHECK(mine == all, "write lines: %d of %d carry the three ids\n%s", mine, all,
        server_said);
}

/* GET / and /dashboard: one HTML page that loads nothing from elsewhere
 * (no script, style, font or image by URL) and asks /metrics. */
void scenario_dashboard(void) {
  static const char *const outside[] = {"src=",     "href=",   "http://",
                                        "https://", "@import", "url("};
  const char *type;
  size_t i;
  resp_t r;
  expect_get("/dashboard", 200, "<svg");
  request("GET", "/", NULL, &r);
  type = header(&r, "Content-Type");
  CHECK(r.status == 200 && type != NULL && strstr(type, "text/html") != NULL,
        "/: %d %s", r.status, type != NULL ? type : "(no type)");
  for (i = 0; i < sizeof(outside) / sizeof(outside[0]); i++)
    CHECK(strstr(r.body, outside[i]) == NULL, "the page has %s", outside[i]);
  CHECK(strstr(r.body, "fetch('/metrics'") != NULL, "the page polls nothing");
  resp_free(&r);
}

/* Puts load on the server from a child process until it is killed. */
static pid_t load_start(void) {
  pid_t pid = fork();
  CHECK(pid >= 0, "fork failed");
  if (pid == 0) {
    for (;;) {
      resp_t r;
      request("GET", "/api/fast", NULL, &r);
      resp_free(&r);
      request("GET", "/api/heavy?rounds=100000", NULL, &r);
      resp_free(&r);
    }
  }
  return pid;
}

/* The charts' ids in the page, each an <svg>. */
static const char *const CHARTS[] = {"delay", "util",  "phases",
                                     "pool",  "conns", "rps"};

/* Every chart of the DOM has a polyline of at least two points. */
static void check_charts(const char *dom) {
  size_t i;
  for (i = 0; i < sizeof(CHARTS) / sizeof(CHARTS[0]); i++) {
    char pat[64];
    const char *svg, *end, *pts;
    snprintf(pat, sizeof(pat), "<svg id=\"%s\"", CHARTS[i]);
    svg = strstr(dom, pat);
    CHECK(svg != NULL, "no chart %s in the DOM:\n%.2000s", CHARTS[i], dom);
    end = strstr(svg, "</svg>");
    pts = strstr(svg, "points=\"");
    CHECK(end != NULL && pts != NULL && pts < end, "chart %s: no polyline",
          CHARTS[i]);
    pts += 8;
    CHECK(strchr(pts, ' ') != NULL && strchr(pts, ' ') < strchr(pts, '"'),
          "chart %s: fewer than two points", CHARTS[i]);
  }
}

/* Headless Chromium runs the page for 5 s of virtual time while a child
 * loads the server; the DOM it prints must have data in every chart. */
void scenario_dashboard_chromium(void) {
  char cmd[512], *dom = malloc(1 << 20);
  size_t len = 0, n;
  pid_t load = load_start();
  FILE *p;
  int status;
  snprintf(cmd, sizeof(cmd),
           "chromium --headless --no-sandbox --disable-gpu --dump-dom "
           "--virtual-time-budget=5000 http://127.0.0.1:%d/ 2>/dev/null",
           server_port);
  p = popen(cmd, "r");
  CHECK(p != NULL && dom != NULL, "cannot run chromium");
  while (len < (1 << 20) - 1 &&
         (n = fread(dom + len, 1, (1 << 20) - 1 - len, p)) > 0)
    len += n;
  dom[len] = '\0';
  status = pclose(p);
  kill(load, SIGKILL);
  waitpid(load, NULL, 0);
  CHECK(status == 0, "chromium exited with %d", status);
  check_charts(dom);
  free(dom);
}
