/* TCP pound: 100 clients at a time connect to a loopback server, which
 * accepts and closes each connection; a client that is connected resets
 * (RST: no TIME_WAIT to exhaust the ephemeral ports) and starts over.
 * Accepted connections per second; libasyncrt and libuv alternating.
 *
 *   bench_tcp_pound             both, BENCH_ROUNDS rounds of 10,000 accepts
 *   bench_tcp_pound art|uv N    one of them, N accepts
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

#define CLIENTS 100
#define CONNS   1024

static long wanted = 10000;

/* ---- libasyncrt ---- */

typedef struct {
  art_tcp_t tcp;
  art_connect_t req;
} a_client_t;

static art_tcp_t a_server;
static a_client_t a_clients[CLIENTS];
static art_tcp_t a_conns[CONNS];
static int a_conn_free[CONNS], a_nconn_free;
static long a_accepts;
static double a_t0, a_t1;
static struct sockaddr_in a_addr;

static void a_start(art_loop_t *loop, a_client_t *c);

static void a_client_closed(art_handle_t *h) {
  if (a_accepts < wanted)
    a_start(h->loop, h->data);
}

static void a_connected(art_connect_t *req, int status) {
  if (status == 0)
    art_tcp_close_reset((art_tcp_t *)req->handle, a_client_closed);
  else if (!art_is_closing((art_handle_t *)req->handle))
    art_close((art_handle_t *)req->handle, a_client_closed);
}

static void a_start(art_loop_t *loop, a_client_t *c) {
  art_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  art_tcp_connect(&c->req, &c->tcp, (struct sockaddr *)&a_addr, a_connected);
}

static void a_conn_closed(art_handle_t *h) {
  a_conn_free[a_nconn_free++] = (int)((art_tcp_t *)h - a_conns);
}

static void a_connection(art_stream_t *server, int status) {
  if (status != 0 || a_nconn_free == 0)
    return;
  art_tcp_t *c = &a_conns[a_conn_free[--a_nconn_free]];
  art_tcp_init(server->loop, c);
  art_accept(server, (art_stream_t *)c);
  art_close((art_handle_t *)c, a_conn_closed);
  if (++a_accepts == wanted) {
    a_t1 = bench_now();
    cpu_secs = bench_cpu_now() - cpu0;
    art_close((art_handle_t *)server, NULL);
  }
}

static double run_art(void) {
  art_loop_t loop;
  a_accepts = 0;
  a_nconn_free = CONNS;
  for (int i = 0; i < CONNS; i++)
    a_conn_free[i] = i;
  art_loop_init(&loop);
  bench_art_listen(&loop, &a_server, 1024, a_connection, &a_addr);
  a_t0 = bench_now();
  cpu0 = bench_cpu_now();
  for (int i = 0; i < CLIENTS; i++)
    a_start(&loop, &a_clients[i]);
  art_run(&loop, ART_RUN_DEFAULT);
  art_loop_close(&loop);
  cpu_rate = (double)a_accepts / cpu_secs;
  return (double)a_accepts / (a_t1 - a_t0);
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
typedef struct {
  uv_tcp_t tcp;
  uv_connect_t req;
} u_client_t;

static uv_tcp_t u_server;
static u_client_t u_clients[CLIENTS];
static uv_tcp_t u_conns[CONNS];
static int u_conn_free[CONNS], u_nconn_free;
static long u_accepts;
static double u_t0, u_t1;
static struct sockaddr_in u_addr;

static void u_start(uv_loop_t *loop, u_client_t *c);

static void u_client_closed(uv_handle_t *h) {
  if (u_accepts < wanted)
    u_start(h->loop, h->data);
}

static void u_connected(uv_connect_t *req, int status) {
  if (status == 0)
    uv_tcp_close_reset((uv_tcp_t *)req->handle, u_client_closed);
  else if (!uv_is_closing((uv_handle_t *)req->handle))
    uv_close((uv_handle_t *)req->handle, u_client_closed);
}

static void u_start(uv_loop_t *loop, u_client_t *c) {
  uv_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  uv_tcp_connect(&c->req, &c->tcp, (struct sockaddr *)&u_addr, u_connected);
}

static void u_conn_closed(uv_handle_t *h) {
  u_conn_free[u_nconn_free++] = (int)((uv_tcp_t *)h - u_conns);
}

static void u_connection(uv_stream_t *server, int status) {
  if (status != 0 || u_nconn_free == 0)
    return;
  uv_tcp_t *c = &u_conns[u_conn_free[--u_nconn_free]];
  uv_tcp_init(server->loop, c);
  uv_accept(server, (uv_stream_t *)c);
  uv_close((uv_handle_t *)c, u_conn_closed);
  if (++u_accepts == wanted) {
    u_t1 = bench_now();
    cpu_secs = bench_cpu_now() - cpu0;
    uv_close((uv_handle_t *)server, NULL);
  }
}

static double run_uv(void) {
  uv_loop_t loop;
  u_accepts = 0;
  u_nconn_free = CONNS;
  for (int i = 0; i < CONNS; i++)
    u_conn_free[i] = i;
  uv_loop_init(&loop);
  bench_uv_listen(&loop, &u_server, 1024, u_connection, &u_addr);
  u_t0 = bench_now();
  cpu0 = bench_cpu_now();
  for (int i = 0; i < CLIENTS; i++)
    u_start(&loop, &u_clients[i]);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  cpu_rate = (double)u_accepts / cpu_secs;
  return (double)u_accepts / (u_t1 - u_t0);
}
#endif

int main(int argc, char **argv) {
  static const char *const names[] = {"art", "uv"};
  const bench_run_fn runs[] = {run_art, BENCH_UV(run_uv)};
  bench_medians_t m[2];
  if (argc >= 3)
    wanted = atol(argv[2]);
  if (argc >= 2) {
    double r = bench_run_named(argv[1], names, runs, 2);
    printf("%s: %.0f accepts/s, %.0f per CPU-second\n", argv[1], r, cpu_rate);
    return 0;
  }
  bench_alternate(runs, 2, &cpu_rate, m);
  bench_report("tcp_pound per CPU-second (accepts)", "/s", m[0].cpu, m[1].cpu);
  bench_report("tcp_pound 100 clients (accepts/s)", "/s", m[0].rate, m[1].rate);
  return 0;
}
