/* stress_http_attack: the example HTTP server under a slowloris and
 * non-reading clients, while a normal client keeps asking.
 *
 *   stress_http_attack [SLOW [NONREADERS [SECONDS [SERVER]]]]
 *                      (defaults 1500, 64, 12, the built examples/http server)
 *
 * The server is started with port 0, --request-timeout 2000 (so a
 * slowloris connection is answered 408 and closed after 2 s instead of
 * 10), --send-timeout 3000 (a client that takes no bytes for 3 s is
 * closed) and a scratch --root holding a 32 MiB file. For SECONDS:
 *   - SLOW connections each send one byte of a request head per second
 *     and open again when the server closes them;
 *   - NONREADERS connections ask for the 32 MiB file and never read;
 *   - one normal client sends GET /api/fast on a keep-alive connection,
 *     one after the other with PACE_MS between them, timing each.
 * Then /api/stats is read while the non-readers are still connected
 * (what the server holds for them), the attackers go, /api/stats is read
 * again, and SIGTERM must stop the server with exit status 0.
 *
 * Fails if a normal request gets an error or no answer, the server dies,
 * a non-reader is still held when the attack ends (SECONDS must exceed
 * the send timeout), or the server has not given its connection slabs
 * and file buffers back once the attackers are gone. */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>

#include "asyncrt.h"
#include "stress.h"

#ifndef ART_HTTP_SERVER
#define ART_HTTP_SERVER "examples/http/server"
#endif

enum { MAX_SAMPLES = 1 << 20, BIG_FILE = 32 << 20, PACE_MS = 2 };

static struct {
  art_loop_t loop;
  struct sockaddr_in addr;
  long nslow, nnon;
  unsigned secs;
  char root[64];
  int stopping; /* the attack is over: no reconnects */
} g;

/* ------------------------------------------------------------------------ */
/* The server process: spawned, its first line read for the address.       */

static struct {
  art_process_t proc;
  art_pipe_t out;
  char line[512];
  size_t len;
  int exited, term_signal;
  int64_t status;
  int ready;
} server;

static void start_attack(void);

static void on_server_exit(art_process_t *p, int64_t status, int term) {
  server.exited = 1;
  server.status = status;
  server.term_signal = term;
  art_close((art_handle_t *)p, NULL);
  if (!g.stopping) {
    stress_fail("the server exited during the attack (status %lld, signal %d)",
                (long long)status, term);
    art_stop(&g.loop);
  }
}

static void out_alloc(art_handle_t *h, size_t s, art_buf_t *b) {
  static char junk[4096];
  if (server.ready)
    *b = art_buf_init(junk, sizeof(junk)); /* the banner's rest */
  else
    *b = art_buf_init(server.line + server.len,
                      sizeof(server.line) - 1 - server.len);
}

/* "listening on http://127.0.0.1:PORT (...)": the attack can start. */
static void on_server_out(art_stream_t *s, ssize_t n, const art_buf_t *b) {
  if (n < 0) {
    art_close((art_handle_t *)s, NULL);
    return;
  }
  if (server.ready)
    return;
  server.len += (size_t)n;
  server.line[server.len] = '\0';
  char *nl = strchr(server.line, '\n');
  const char *at = strstr(server.line, "127.0.0.1:");
  if (nl == NULL || at == NULL)
    return;
  server.ready = 1;
  art_ip4_addr("127.0.0.1", atoi(at + 10), &g.addr);
  start_attack();
}

static int start_server(const char *path) {
  char *args[] = {(char *)path,
                  "0",
                  "--root",
                  g.root,
                  "--request-timeout",
                  "2000",
                  "--shutdown-timeout",
                  "1000",
                  "--send-timeout",
                  "3000",
                  NULL};
  art_stdio_container_t io[3];
  art_process_options_t opt;
  memset(&opt, 0, sizeof(opt));
  art_pipe_init(&g.loop, &server.out, 0);
  io[0].flags = ART_IGNORE;
  io[1].flags = ART_CREATE_PIPE | ART_WRITABLE_PIPE;
  io[1].data.stream = (art_stream_t *)&server.out;
  io[2].flags = ART_INHERIT_FD;
  io[2].data.fd = 2;
  opt.file = path;
  opt.args = args;
  opt.exit_cb = on_server_exit;
  opt.stdio = io;
  opt.stdio_count = 3;
  int err = art_spawn(&g.loop, &server.proc, &opt);
  if (err == 0)
    err = art_read_start((art_stream_t *)&server.out, out_alloc, on_server_out);
  return err;
}

/* ------------------------------------------------------------------------ */
/* Slowloris: one byte of a head per second, reconnecting when dropped.     */

static const char slow_head[] =
    "GET /api/fast HTTP/1.1\r\nHost: a\r\n"
    "X-a: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n";

typedef struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
  size_t pos;    /* next byte of slow_head */
  int connected; /* writable now */
} slow_t;

static slow_t *slow;
static art_timer_t slow_tick;
static unsigned long slow_dropped, slow_connects, slow_bytes;
static char scratch[65536];

static void slow_open(slow_t *c);

static void slow_closed(art_handle_t *h) {
  slow_t *c = h->data;
  if (!g.stopping)
    slow_open(c);
}

static void slow_drop(slow_t *c) {
  c->connected = 0;
  if (!art_is_closing((art_handle_t *)&c->tcp))
    art_close((art_handle_t *)&c->tcp, slow_closed);
}

static void slow_alloc(art_handle_t *h, size_t s, art_buf_t *b) {
  *b = art_buf_init(scratch, sizeof(scratch));
}

/* The server answered (408) or closed: the connection goes, and comes
 * back. */
static void slow_read(art_stream_t *s, ssize_t n, const art_buf_t *b) {
  if (n < 0) {
    slow_dropped++;
    slow_drop(s->data);
  }
}

static void slow_connected(art_connect_t *req, int status) {
  slow_t *c = req->data;
  if (status != 0 ||
      art_read_start((art_stream_t *)&c->tcp, slow_alloc, slow_read) != 0) {
    slow_drop(c);
    return;
  }
  c->connected = 1;
  c->pos = 0;
}

static void slow_open(slow_t *c) {
  art_tcp_init(&g.loop, &c->tcp);
  c->tcp.data = c->connect.data = c;
  slow_connects++;
  if (art_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&g.addr,
                      slow_connected) != 0)
    slow_drop(c);
}

static void slow_wrote(art_write_t *req, int status) {
  if (status != 0 && status != ART_ECANCELED)
    slow_drop(req->data);
}

/* Once a second: the next byte on every connection. */
static void on_slow_tick(art_timer_t *t) {
  for (long i = 0; i < g.nslow; i++) {
    slow_t *c = &slow[i];
    if (!c->connected || art_stream_write_held_size((art_stream_t *)&c->tcp))
      continue;
    art_buf_t b =
        art_buf_init((char *)slow_head + c->pos % (sizeof(slow_head) - 1), 1);
    c->write.data = c;
    if (art_write(&c->write, (art_stream_t *)&c->tcp, &b, 1, slow_wrote) == 0)
      c->pos++, slow_bytes++;
  }
}

static void start_slowloris(void) {
  slow = calloc((size_t)g.nslow, sizeof(*slow));
  if (slow == NULL)
    abort();
  for (long i = 0; i < g.nslow; i++)
    slow_open(&slow[i]);
  art_timer_init(&g.loop, &slow_tick);
  art_timer_start(&slow_tick, on_slow_tick, 1000, 1000);
}

/* ------------------------------------------------------------------------ */
/* Non-readers: ask for the big file, never read a byte.                    */

static const char big_req[] = "GET /api/file?name=big.bin HTTP/1.1\r\n"
                              "Host: a\r\n\r\n";

typedef struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
} nonreader_t;

static nonreader_t *non;
static unsigned long non_sent;

static void non_wrote(art_write_t *req, int status) {
  if (status == 0)
    non_sent++;
}

static void non_connected(art_connect_t *req, int status) {
  nonreader_t *c = req->data;
  art_buf_t b = art_buf_init((char *)big_req, sizeof(big_req) - 1);
  if (status == 0)
    art_write(&c->write, (art_stream_t *)&c->tcp, &b, 1, non_wrote);
}

static void start_nonreaders(void) {
  non = calloc((size_t)g.nnon, sizeof(*non));
  if (non == NULL)
    abort();
  for (long i = 0; i < g.nnon; i++) {
    art_tcp_init(&g.loop, &non[i].tcp);
    non[i].connect.data = &non[i];
    art_tcp_connect(&non[i].connect, &non[i].tcp, (struct sockaddr *)&g.addr,
                    non_connected);
  }
}

/* ------------------------------------------------------------------------ */
/* The normal client: GET /api/fast, one after the other, on keep-alive.   */

static const char fast_req[] = "GET /api/fast HTTP/1.1\r\nHost: a\r\n\r\n";

static struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
  art_timer_t pace;
  char buf[16384];
  size_t len;
  uint64_t sent_ns; /* when the request in flight went, 0: none */
  double *ms;       /* latencies */
  long n;
  unsigned long errors, reconnects;
} norm;

static void norm_open(void);
static void norm_send(void);

/* The next request waits PACE_MS: a client, not a load generator. */
static void norm_paced(art_timer_t *t) {
  if (!g.stopping && norm.sent_ns == 0 &&
      !art_is_closing((art_handle_t *)&norm.tcp))
    norm_send();
}

static void norm_closed(art_handle_t *h) {
  if (!g.stopping) {
    norm.reconnects++;
    norm_open();
  }
}

static void norm_error(void) {
  norm.errors++;
  norm.sent_ns = 0;
  if (!art_is_closing((art_handle_t *)&norm.tcp))
    art_close((art_handle_t *)&norm.tcp, norm_closed);
}

/* Bytes of the first complete response in buf (0: incomplete); *status
 * gets its status code. */
static size_t norm_response(int *status) {
  char *end = memmem(norm.buf, norm.len, "\r\n\r\n", 4);
  if (end == NULL)
    return 0;
  *end = '\0';
  const char *cl = strcasestr(norm.buf, "content-length:");
  size_t body = cl ? (size_t)strtoul(cl + 15, NULL, 10) : 0;
  size_t total = (size_t)(end - norm.buf) + 4 + body;
  *status = atoi(norm.buf + 9);
  *end = '\r';
  return total <= norm.len ? total : 0;
}

static void norm_alloc(art_handle_t *h, size_t s, art_buf_t *b) {
  *b = art_buf_init(norm.buf + norm.len, sizeof(norm.buf) - norm.len);
}

static void norm_read(art_stream_t *s, ssize_t n, const art_buf_t *b) {
  int status;
  if (n < 0) {
    norm_error();
    return;
  }
  norm.len += (size_t)n;
  size_t used = norm_response(&status);
  if (used == 0) {
    if (norm.len == sizeof(norm.buf))
      norm_error();
    return;
  }
  if (status != 200)
    norm.errors++;
  else if (norm.n < MAX_SAMPLES)
    norm.ms[norm.n++] = (double)(art_hrtime() - norm.sent_ns) / 1e6;
  memmove(norm.buf, norm.buf + used, norm.len - used);
  norm.len -= used;
  norm.sent_ns = 0;
  if (!g.stopping)
    art_timer_start(&norm.pace, norm_paced, PACE_MS, 0);
}

static void norm_wrote(art_write_t *req, int status) {
  if (status != 0 && status != ART_ECANCELED)
    norm_error();
}

static void norm_send(void) {
  art_buf_t b = art_buf_init((char *)fast_req, sizeof(fast_req) - 1);
  norm.sent_ns = art_hrtime();
  if (art_write(&norm.write, (art_stream_t *)&norm.tcp, &b, 1, norm_wrote))
    norm_error();
}

static void norm_connected(art_connect_t *req, int status) {
  if (status != 0 ||
      art_read_start((art_stream_t *)&norm.tcp, norm_alloc, norm_read) != 0) {
    norm_error();
    return;
  }
  norm_send();
}

static void norm_open(void) {
  norm.len = 0;
  art_tcp_init(&g.loop, &norm.tcp);
  if (art_tcp_connect(&norm.connect, &norm.tcp, (struct sockaddr *)&g.addr,
                      norm_connected) != 0)
    norm_error();
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void norm_report(void) {
  qsort(norm.ms, (size_t)norm.n, sizeof(double), cmp_double);
  stress_figure("normal_requests", "%ld", norm.n);
  stress_figure("normal_errors", "%lu", norm.errors);
  stress_figure("normal_reconnects", "%lu", norm.reconnects);
  if (norm.n == 0)
    return;
  stress_figure("normal_p50_ms", "%.3f", norm.ms[norm.n / 2]);
  stress_figure("normal_p99_ms", "%.3f", norm.ms[norm.n * 99 / 100]);
  stress_figure("normal_max_ms", "%.3f", norm.ms[norm.n - 1]);
}

/* ------------------------------------------------------------------------ */
/* /api/stats over a connection of its own, read to its end.                */

typedef void (*stats_cb)(const char *body);

static struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
  char buf[16384];
  size_t len;
  stats_cb cb;
} st;

static void stats_closed(art_handle_t *h) {
  st.buf[st.len] = '\0';
  char *body = strstr(st.buf, "\r\n\r\n");
  char *nl;
  body = body ? body + 4 : st.buf;
  if ((nl = strchr(body, '\n')) != NULL)
    *nl = '\0';
  st.cb(body);
}

static void stats_alloc(art_handle_t *h, size_t s, art_buf_t *b) {
  *b = art_buf_init(st.buf + st.len, sizeof(st.buf) - 1 - st.len);
}

static void stats_read(art_stream_t *s, ssize_t n, const art_buf_t *b) {
  if (n > 0)
    st.len += (size_t)n;
  if (n < 0 || st.len == sizeof(st.buf) - 1)
    art_close((art_handle_t *)s, stats_closed);
}

static void stats_connected(art_connect_t *req, int status) {
  static const char q[] = "GET /api/stats HTTP/1.1\r\nHost: a\r\n"
                          "Connection: close\r\n\r\n";
  art_buf_t b = art_buf_init((char *)q, sizeof(q) - 1);
  if (status != 0 ||
      art_read_start((art_stream_t *)&st.tcp, stats_alloc, stats_read) != 0 ||
      art_write(&st.write, (art_stream_t *)&st.tcp, &b, 1, NULL) != 0)
    art_close((art_handle_t *)&st.tcp, stats_closed);
}

static void fetch_stats(stats_cb cb) {
  st.len = 0;
  st.cb = cb;
  art_tcp_init(&g.loop, &st.tcp);
  if (art_tcp_connect(&st.connect, &st.tcp, (struct sockaddr *)&g.addr,
                      stats_connected) != 0)
    art_close((art_handle_t *)&st.tcp, stats_closed);
}

/* A number after "key": in the stats, or -1. */
static long long stats_field(const char *body, const char *key) {
  char pat[64];
  snprintf(pat, sizeof(pat), "\"%s\":", key);
  const char *p = strstr(body, pat);
  return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

static void stats_figures(const char *tag, const char *body) {
  char key[64];
  snprintf(key, sizeof(key), "server_stats_%s", tag);
  stress_figure(key, "%s", body);
  snprintf(key, sizeof(key), "server_open_conns_%s", tag);
  stress_figure(key, "%lld", stats_field(body, "open"));
  snprintf(key, sizeof(key), "server_rss_kib_%s", tag);
  stress_figure(key, "%lld", stats_field(body, "rss_bytes") / 1024);
}

/* ------------------------------------------------------------------------ */
/* The plan: attack, measure, stop.                                         */

static art_timer_t mid_timer, end_timer, after_timer;

static void close_timer(art_timer_t *t) {
  art_close((art_handle_t *)t, NULL);
}

static void on_stats_after(const char *body) {
  stats_figures("after", body);
  long long slabs = stats_field(body, "slabs");
  long long buffers = stats_field(body, "file_buffers");
  stress_figure("server_slabs_after", "%lld", slabs);
  stress_figure("server_file_buffers_after", "%lld", buffers);
  if (slabs != 1 || buffers != 0)
    stress_fail("memory not given back: %lld slabs, %lld file buffers", slabs,
                buffers);
  art_process_kill(&server.proc, SIGTERM);
}

static void on_after(art_timer_t *t) {
  close_timer(t);
  fetch_stats(on_stats_after);
}

/* With the non-readers still there: what the server holds for them. */
static void on_stats_held(const char *body) {
  stats_figures("nonreaders_held", body);
  long long open = stats_field(body, "open");
  long long held = open > 0 ? open - 1 : open; /* less the stats conn */
  long long cut = stats_field(body, "send_timeouts");
  stress_figure("nonreaders_still_open", "%lld", held);
  stress_figure("server_send_timeouts", "%lld", cut);
  if (g.secs > 3 && (held != 0 || cut < g.nnon))
    stress_fail("non-readers held: %lld open, %lld cut by the send timeout",
                held, cut);
  for (long i = 0; i < g.nnon; i++)
    art_close((art_handle_t *)&non[i].tcp, NULL);
  art_timer_start(&after_timer, on_after, 500, 0);
}

static void on_end(art_timer_t *t) {
  g.stopping = 1;
  close_timer(t);
  close_timer(&slow_tick);
  if (norm.sent_ns != 0 && art_hrtime() - norm.sent_ns > 2000000000ull)
    norm.errors++; /* a request left without an answer for 2 s */
  if (!art_is_closing((art_handle_t *)&norm.tcp))
    art_close((art_handle_t *)&norm.tcp, NULL);
  close_timer(&norm.pace);
  for (long i = 0; i < g.nslow; i++)
    if (!art_is_closing((art_handle_t *)&slow[i].tcp))
      art_close((art_handle_t *)&slow[i].tcp, NULL);
  fetch_stats(on_stats_held);
}

static void on_stats_during(const char *body) {
  stats_figures("during", body);
}

static void on_mid(art_timer_t *t) {
  close_timer(t);
  fetch_stats(on_stats_during);
}

static void start_attack(void) {
  norm_open();
  start_slowloris();
  start_nonreaders();
  art_timer_start(&mid_timer, on_mid, g.secs * 500ull, 0);
  art_timer_start(&end_timer, on_end, g.secs * 1000ull, 0);
}

static int make_root(void) {
  char path[128];
  snprintf(g.root, sizeof(g.root), "/tmp/art_attack_XXXXXX");
  if (mkdtemp(g.root) == NULL)
    return -1;
  snprintf(path, sizeof(path), "%s/big.bin", g.root);
  int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ftruncate(fd, BIG_FILE) != 0)
    return -1;
  return close(fd);
}

static void remove_root(void) {
  char path[128];
  snprintf(path, sizeof(path), "%s/big.bin", g.root);
  unlink(path);
  rmdir(g.root);
}

int main(int argc, char **argv) {
  g.nslow = argc > 1 ? stress_arg(argv[1], 0, 20000) : 1500;
  g.nnon = argc > 2 ? stress_arg(argv[2], 0, 5000) : 64;
  g.secs = argc > 3 ? (unsigned)stress_arg(argv[3], 2, 600) : 12;
  const char *path = argc > 4 ? argv[4] : ART_HTTP_SERVER;
  stress_watchdog("stress_http_attack", g.secs + 30);
  /* The server inherits the limit: room for every attacker on both ends. */
  stress_raise_nofile(2 * (g.nslow + g.nnon) + 256);
  signal(SIGPIPE, SIG_IGN);
  norm.ms = malloc(MAX_SAMPLES * sizeof(double));
  if (norm.ms == NULL || make_root() != 0 || art_loop_init(&g.loop) != 0)
    return STRESS_FAIL;
  art_timer_init(&g.loop, &mid_timer);
  art_timer_init(&g.loop, &end_timer);
  art_timer_init(&g.loop, &after_timer);
  art_timer_init(&g.loop, &norm.pace);
  int err = start_server(path);
  if (err != 0) {
    fprintf(stderr, "stress_http_attack: cannot start %s: %s\n", path,
            art_strerror(err));
    return STRESS_FAIL;
  }
  art_run(&g.loop, ART_RUN_DEFAULT);
  int closed = art_loop_close(&g.loop);
  remove_root();
  stress_figure("slowloris_conns", "%ld", g.nslow);
  stress_figure("slowloris_connects", "%lu", slow_connects);
  stress_figure("slowloris_dropped_by_server", "%lu", slow_dropped);
  stress_figure("slowloris_bytes", "%lu", slow_bytes);
  stress_figure("nonreaders", "%ld", g.nnon);
  stress_figure("nonreader_requests_sent", "%lu", non_sent);
  norm_report();
  stress_figure("server_exit_status", "%lld", (long long)server.status);
  if (norm.errors != 0)
    stress_fail("the normal client met %lu errors", norm.errors);
  if (norm.n < 10)
    stress_fail("the normal client got only %ld answers", norm.n);
  if (!server.exited || server.status != 0 || server.term_signal != 0)
    stress_fail("the server did not stop cleanly on SIGTERM");
  if (closed != 0)
    stress_fail("art_loop_close returned %s", art_err_name(closed));
  stress_figure("result", "%s", stress_failures ? "FAIL" : "pass");
  return stress_failures ? STRESS_FAIL : 0;
}
