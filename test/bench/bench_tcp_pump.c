/* TCP pump: one loopback connection, the sender writes 64 KiB buffers (at
 * most four in flight), the receiver reads into a 64 KiB buffer; MB/s.
 * Both ends in one loop, libasyncrt and libuv alternating.
 *
 *   bench_tcp_pump              both, BENCH_ROUNDS rounds of 512 MiB
 *   bench_tcp_pump art|uv MIB   one of them (for strace -c)
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncrt.h"
#include "common.h"

/* This thread's CPU time at the start of a run, the run's CPU seconds, and
 * its work per CPU second (CPU time is steadier than wall time on a shared
 * machine). */
static double cpu0, cpu_secs, cpu_rate;

#define CHUNK    (64 * 1024)
#define INFLIGHT 4

static size_t total = 512u << 20;
static char out[CHUNK];
static char in[CHUNK];

/* ---- libasyncrt ---- */

static art_tcp_t a_server, a_tx, a_rx;
static art_connect_t a_creq;
static art_write_t a_w[INFLIGHT];
static int a_free[INFLIGHT], a_nfree;
static size_t a_sent, a_got;
static double a_t0;

static void a_pump(void);

static void a_write_cb(art_write_t *req, int status) {
  a_free[a_nfree++] = (int)(req - a_w);
  a_pump();
}

static void a_pump(void) {
  while (a_nfree > 0 && a_sent < total) {
    art_buf_t b = art_buf_init(out, CHUNK);
    a_sent += CHUNK;
    art_write(&a_w[a_free[--a_nfree]], (art_stream_t *)&a_tx, &b, 1,
              a_write_cb);
  }
}

static void a_alloc(art_handle_t *h, size_t n, art_buf_t *buf) {
  *buf = art_buf_init(in, sizeof(in));
}

static void a_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0)
    a_got += (size_t)n;
  if (a_got == total && !art_is_closing((art_handle_t *)&a_rx)) {
    art_close((art_handle_t *)&a_rx, NULL);
    art_close((art_handle_t *)&a_tx, NULL);
  }
}

static void a_connection(art_stream_t *server, int status) {
  art_tcp_init(server->loop, &a_rx);
  art_accept(server, (art_stream_t *)&a_rx);
  art_read_start((art_stream_t *)&a_rx, a_alloc, a_read);
  art_close((art_handle_t *)server, NULL);
}

static void a_connected(art_connect_t *req, int status) {
  a_t0 = bench_now();
  cpu0 = bench_cpu_now();
  a_pump();
}

static double run_art(void) {
  art_loop_t loop;
  struct sockaddr_in addr;
  a_sent = a_got = 0;
  a_nfree = INFLIGHT;
  for (int i = 0; i < INFLIGHT; i++)
    a_free[i] = i;
  art_loop_init(&loop);
  bench_art_listen(&loop, &a_server, 8, a_connection, &addr);
  art_tcp_init(&loop, &a_tx);
  art_tcp_connect(&a_creq, &a_tx, (struct sockaddr *)&addr, a_connected);
  art_run(&loop, ART_RUN_DEFAULT);
  double secs = bench_now() - a_t0;
  cpu_secs = bench_cpu_now() - cpu0;
  art_loop_close(&loop);
  cpu_rate = (double)a_got / cpu_secs / 1e6;
  return (double)a_got / secs / 1e6;
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
static uv_tcp_t u_server, u_tx, u_rx;
static uv_connect_t u_creq;
static uv_write_t u_w[INFLIGHT];
static int u_free[INFLIGHT], u_nfree;
static size_t u_sent, u_got;
static double u_t0;

static void u_pump(void);

static void u_write_cb(uv_write_t *req, int status) {
  u_free[u_nfree++] = (int)(req - u_w);
  u_pump();
}

static void u_pump(void) {
  while (u_nfree > 0 && u_sent < total) {
    uv_buf_t b = uv_buf_init(out, CHUNK);
    u_sent += CHUNK;
    uv_write(&u_w[u_free[--u_nfree]], (uv_stream_t *)&u_tx, &b, 1, u_write_cb);
  }
}

static void u_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  *buf = uv_buf_init(in, sizeof(in));
}

static void u_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n > 0)
    u_got += (size_t)n;
  if (u_got == total && !uv_is_closing((uv_handle_t *)&u_rx)) {
    uv_close((uv_handle_t *)&u_rx, NULL);
    uv_close((uv_handle_t *)&u_tx, NULL);
  }
}

static void u_connection(uv_stream_t *server, int status) {
  uv_tcp_init(server->loop, &u_rx);
  uv_accept(server, (uv_stream_t *)&u_rx);
  uv_read_start((uv_stream_t *)&u_rx, u_alloc, u_read);
  uv_close((uv_handle_t *)server, NULL);
}

static void u_connected(uv_connect_t *req, int status) {
  u_t0 = bench_now();
  cpu0 = bench_cpu_now();
  u_pump();
}

static double run_uv(void) {
  uv_loop_t loop;
  struct sockaddr_in addr;
  u_sent = u_got = 0;
  u_nfree = INFLIGHT;
  for (int i = 0; i < INFLIGHT; i++)
    u_free[i] = i;
  uv_loop_init(&loop);
  bench_uv_listen(&loop, &u_server, 8, u_connection, &addr);
  uv_tcp_init(&loop, &u_tx);
  uv_tcp_connect(&u_creq, &u_tx, (struct sockaddr *)&addr, u_connected);
  uv_run(&loop, UV_RUN_DEFAULT);
  double secs = bench_now() - u_t0;
  cpu_secs = bench_cpu_now() - cpu0;
  uv_loop_close(&loop);
  cpu_rate = (double)u_got / cpu_secs / 1e6;
  return (double)u_got / secs / 1e6;
}
#endif

int main(int argc, char **argv) {
  static const char *const names[] = {"art", "uv"};
  const bench_run_fn runs[] = {run_art, BENCH_UV(run_uv)};
  bench_medians_t m[2];
  if (argc >= 3)
    total = (size_t)atol(argv[2]) << 20;
  if (argc >= 2) {
    double r = bench_run_named(argv[1], names, runs, 2);
    printf("%s: %.0f MB/s, %.0f MB per CPU-second\n", argv[1], r, cpu_rate);
    return 0;
  }
  bench_alternate(runs, 2, &cpu_rate, m);
  bench_report("tcp_pump per CPU-second (MB)", "MB/s", m[0].cpu, m[1].cpu);
  bench_report("tcp_pump 64 KiB writes (MB/s)", "MB/s", m[0].rate, m[1].rate);
  return 0;
}
