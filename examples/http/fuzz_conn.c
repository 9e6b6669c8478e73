/* libFuzzer target for the HTTP server's connection code, in process: the
 * fuzz input is what a client sends on one connection, and it goes through
 * conn.c, routes.c, file_routes.c, server.c's accounting, the parser and the
 * library underneath, exactly as the server runs them.
 *
 * test/run.sh builds it next to fuzz_parser when clang is present: the
 * library's sources and the example's are compiled into one libFuzzer
 * binary with ASan+UBSan, server.c with -Dmain=http_server_main so that
 * libFuzzer's main is the one. docs/fuzzing.md says how to run it for hours.
 *
 * Each input gets a fresh loop and server. The connection is one end of a
 * socketpair adopted with art_tcp_open and started with conn_start, as
 * server.c's accept callback does (art_tcp_nodelay and getpeername fail on
 * a Unix socket; the server ignores both, as it must for any peer). The
 * first byte of the input chooses the size of the writes and a few server
 * settings; the rest is written, the client half-closes, and the loop runs
 * until the connection is released or a bound of iterations passes, after
 * which every connection is closed. What must hold, beyond no crash, leak
 * or undefined behaviour: whatever the server wrote starts as an HTTP/1.1
 * response, the connection is released, and art_loop_close returns 0.
 *
 * Routes that wait (/api/slow, up to 60 s) are cut short by the bound;
 * /api/heavy runs its hash chain on the pool to the end (up to about 1.5 s
 * with rounds=500000000), which makes such inputs slow but not wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/stat.h>

#include "server.h"

#define TICK_MS   1  /* the harness timer: no iteration blocks longer */
#define MAX_TICKS 50 /* iterations after the input before closing all */

static server_t *srv;      /* reused: the struct is large */
static art_timer_t tick;   /* bounds every blocking iteration */
static char root[64];      /* served folder, with one small file */
static char out_start[16]; /* first bytes the server wrote */
static size_t out_len;     /* bytes the server wrote */
static int show;           /* FUZZ_CONN_SHOW set: echo them to stderr */

static void on_tick(art_timer_t *t) {
  (void)t;
}

/* A folder for /api/file with one file in it, removed at exit. */
static void remove_root(void) {
  char path[96];
  snprintf(path, sizeof(path), "%s/a.txt", root);
  unlink(path);
  rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  char path[96];
  int fd;
  (void)argc;
  (void)argv;
  show = getenv("FUZZ_CONN_SHOW") != NULL; /* what a crash input got */
  srv = calloc(1, sizeof(*srv));
  snprintf(root, sizeof(root), "/tmp/fuzz_conn.XXXXXX");
  if (srv == NULL || mkdtemp(root) == NULL)
    abort();
  snprintf(path, sizeof(path), "%s/a.txt", root);
  fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || write(fd, "hello, file\n", 12) != 12)
    abort();
  close(fd);
  atexit(remove_root);
  return 0;
}

/* A fresh server: settings from the input's first byte. */
static void server_setup(unsigned char b) {
  memset(srv, 0, sizeof(*srv));
  srv->cfg.host = "127.0.0.1";
  srv->cfg.root = root;
  srv->cfg.request_timeout = 10000; /* timeouts never fire within a run */
  srv->cfg.idle_timeout = 10000;
  srv->cfg.shutdown_timeout = 10000;
  srv->cfg.rate_window = 1000;
  srv->cfg.rate_limit = (b & 0x20) ? 2 : 0;
  srv->cfg.max_conns = 10000;
  srv->cfg.max_body = (b & 0x10) ? 64 : 1 << 20;
  if (art_loop_init(&srv->loop_storage) != 0)
    abort();
  srv->loop = &srv->loop_storage;
  srv->start_ns = art_hrtime();
  if (art_timer_init(srv->loop, &tick) != 0 ||
      art_timer_start(&tick, on_tick, TICK_MS, TICK_MS) != 0)
    abort();
}

/* Starts serving fd as server.c's accept callback would. */
static void conn_open(int fd) {
  conn_t *c = conn_get(srv);
  if (c == NULL)
    abort();
  c->flags = 0;
  if (art_tcp_init(srv->loop, &c->tcp) != 0 || art_tcp_open(&c->tcp, fd) != 0)
    abort();
  c->tcp.data = c;
  srv->accepted++;
  conn_start(c);
}

/* Reads what the server wrote, keeping its first bytes. */
static void drain(int fd) {
  char buf[65536];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) {
    size_t keep = sizeof(out_start) - out_len;
    if (out_len < sizeof(out_start))
      memcpy(out_start + out_len, buf, (size_t)n < keep ? (size_t)n : keep);
    out_len += (size_t)n;
    if (show)
      fwrite(buf, 1, (size_t)n, stderr);
  }
}

static void run_once(int fd) {
  art_run(srv->loop, ART_RUN_ONCE);
  drain(fd);
}

/* Writes data in pieces of step bytes, letting the server run between
 * them. Stops early if the server stops reading or closes. */
static void feed(int fd, const uint8_t *data, size_t size, size_t step) {
  size_t off = 0;
  unsigned stalls = 0;
  while (off < size && stalls < MAX_TICKS) {
    size_t n = size - off < step ? size - off : step;
    ssize_t w = send(fd, data + off, n, MSG_NOSIGNAL);
    if (w < 0 && errno != EAGAIN && errno != EINTR)
      return; /* the server closed: nothing more to say */
    if (w > 0)
      off += (size_t)w;
    stalls = w > 0 ? 0 : stalls + 1;
    run_once(fd);
  }
}

static void close_conns(void) {
  conn_t *c;
  for (c = srv->conns; c != NULL; c = c->next)
    conn_close(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int sv[2];
  unsigned i;
  if (size < 1)
    return 0;
  server_setup(data[0]);
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv))
    abort();
  out_len = 0;
  conn_open(sv[0]);
  feed(sv[1], data + 1, size - 1, (size_t)(data[0] & 0x0f) * 64 + 1);
  shutdown(sv[1], SHUT_WR);
  for (i = 0; i < MAX_TICKS && srv->nconns > 0; i++)
    run_once(sv[1]);
  close_conns();
  art_close((art_handle_t *)&tick, NULL);
  while (art_run(srv->loop, ART_RUN_ONCE) != 0)
    drain(sv[1]);
  drain(sv[1]);
  if (srv->nconns != 0 || art_loop_close(srv->loop) != 0)
    abort(); /* a connection or a handle left behind */
  if (out_len > 0 &&
      memcmp(out_start, "HTTP/1.1 ", out_len < 9 ? out_len : 9) != 0)
    abort(); /* the server wrote something that is not a response */
  conn_free_all(srv);
  close(sv[1]);
  return 0;
}
