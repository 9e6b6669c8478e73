/* TCP ping-pong: one loopback connection, 64-byte messages, both ends in
 * one loop on one thread; round trips per second. The same workload runs on
 * libasyncrt, on libuv and on a hand-written epoll loop (the floor: write,
 * epoll_wait and read per side, 6 system calls per round trip), alternating.
 *
 *   bench_tcp_ping_pong                 all three, BENCH_ROUNDS rounds
 *   bench_tcp_ping_pong art|uv|raw N    one of them, N round trips (for
 *                                       strace -f -c: syscalls per trip)
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "asyncrt.h"
#include "common.h"

/* This thread's CPU time at the start of a run, the run's CPU seconds, and
 * its work per CPU second (CPU time is steadier than wall time on a shared
 * machine). */
static double cpu0, cpu_secs, cpu_rate;

#define MSG 64

static long trips_wanted = 50000;
static char msg[MSG];

/* ---- libasyncrt ---- */

typedef struct {
  art_tcp_t tcp;
  art_write_t w[2]; /* alternated: a write's callback runs an iteration later */
  int wi;
  size_t got;
  char buf[65536];
} art_end_t;

static art_tcp_t art_server;
static art_end_t art_a, art_b;
static art_connect_t art_creq;
static long art_trips;
static double art_t0;

static void art_send(art_end_t *e) {
  art_buf_t b = art_buf_init(msg, MSG);
  e->wi ^= 1;
  art_write(&e->w[e->wi], (art_stream_t *)&e->tcp, &b, 1, NULL);
}

static void art_alloc(art_handle_t *h, size_t n, art_buf_t *buf) {
  art_end_t *e = h->data;
  *buf = art_buf_init(e->buf, sizeof(e->buf));
}

static void art_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  art_end_t *e = s->data;
  if (n <= 0)
    return;
  e->got += (size_t)n;
  if (e->got < MSG)
    return;
  e->got -= MSG;
  if (e == &art_b) {
    art_send(e);
  } else if (++art_trips < trips_wanted) {
    art_send(e);
  } else {
    art_close((art_handle_t *)&art_a.tcp, NULL);
    art_close((art_handle_t *)&art_b.tcp, NULL);
  }
}

static void art_connection(art_stream_t *server, int status) {
  art_tcp_init(server->loop, &art_b.tcp);
  art_b.tcp.data = &art_b;
  art_accept(server, (art_stream_t *)&art_b.tcp);
  art_tcp_nodelay(&art_b.tcp, 1);
  art_read_start((art_stream_t *)&art_b.tcp, art_alloc, art_read);
  art_close((art_handle_t *)server, NULL);
}

static void art_connected(art_connect_t *req, int status) {
  if (status != 0) {
    fprintf(stderr, "connect: %s\n", art_strerror(status));
    exit(1);
  }
  art_read_start((art_stream_t *)&art_a.tcp, art_alloc, art_read);
  art_t0 = bench_now();
  cpu0 = bench_cpu_now();
  art_send(&art_a);
}

static double run_art(void) {
  art_loop_t loop;
  struct sockaddr_in addr;
  memset(&art_a, 0, sizeof(art_a));
  memset(&art_b, 0, sizeof(art_b));
  art_trips = 0;
  art_loop_init(&loop);
  bench_art_listen(&loop, &art_server, 8, art_connection, &addr);
  art_tcp_init(&loop, &art_a.tcp);
  art_a.tcp.data = &art_a;
  art_tcp_nodelay(&art_a.tcp, 1);
  art_tcp_connect(&art_creq, &art_a.tcp, (struct sockaddr *)&addr,
                  art_connected);
  art_run(&loop, ART_RUN_DEFAULT);
  double secs = bench_now() - art_t0;
  cpu_secs = bench_cpu_now() - cpu0;
  art_loop_close(&loop);
  cpu_rate = (double)art_trips / cpu_secs;
  return (double)art_trips / secs;
}

/* ---- raw epoll: the floor ---- */

static void raw_pair(int *a, int *b) {
  struct sockaddr_in addr;
  socklen_t len = sizeof(addr);
  int one = 1;
  int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  memset(&addr, 0, sizeof(addr));
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(l, (struct sockaddr *)&addr, sizeof(addr));
  listen(l, 1);
  getsockname(l, (struct sockaddr *)&addr, &len);
  *a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  connect(*a, (struct sockaddr *)&addr, sizeof(addr));
  *b = accept4(l, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
  close(l);
  setsockopt(*a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  setsockopt(*b, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static double run_raw(void) {
  int a, b, ep = epoll_create1(EPOLL_CLOEXEC);
  static char buf[2][65536];
  size_t got[2] = {0, 0};
  raw_pair(&a, &b);
  struct epoll_event ev = {.events = EPOLLIN, .data.fd = a};
  epoll_ctl(ep, EPOLL_CTL_ADD, a, &ev);
  ev.data.fd = b;
  epoll_ctl(ep, EPOLL_CTL_ADD, b, &ev);
  long trips = 0;
  double t0 = bench_now();
  cpu0 = bench_cpu_now();
  send(a, msg, MSG, MSG_NOSIGNAL);
  while (trips < trips_wanted) {
    struct epoll_event evs[8];
    int n = epoll_wait(ep, evs, 8, -1);
    for (int i = 0; i < n; i++) {
      int fd = evs[i].data.fd, side = fd == b;
      ssize_t r = read(fd, buf[side], sizeof(buf[side]));
      if (r <= 0)
        continue;
      got[side] += (size_t)r;
      if (got[side] < MSG)
        continue;
      got[side] -= MSG;
      if (side == 1 || ++trips < trips_wanted)
        send(fd, msg, MSG, MSG_NOSIGNAL);
    }
  }
  double secs = bench_now() - t0;
  cpu_secs = bench_cpu_now() - cpu0;
  close(a);
  close(b);
  close(ep);
  cpu_rate = (double)trips / cpu_secs;
  return (double)trips / secs;
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
typedef struct {
  uv_tcp_t tcp;
  uv_write_t w[2];
  int wi;
  size_t got;
  char buf[65536];
} uv_end_t;

static uv_tcp_t uv_server;
static uv_end_t uv_a, uv_b;
static uv_connect_t uv_creq;
static long uv_trips;
static double uv_t0;

static void uv_send(uv_end_t *e) {
  uv_buf_t b = uv_buf_init(msg, MSG);
  e->wi ^= 1;
  uv_write(&e->w[e->wi], (uv_stream_t *)&e->tcp, &b, 1, NULL);
}

static void uv_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  uv_end_t *e = h->data;
  *buf = uv_buf_init(e->buf, sizeof(e->buf));
}

static void uv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  uv_end_t *e = s->data;
  if (n <= 0)
    return;
  e->got += (size_t)n;
  if (e->got < MSG)
    return;
  e->got -= MSG;
  if (e == &uv_b) {
    uv_send(e);
  } else if (++uv_trips < trips_wanted) {
    uv_send(e);
  } else {
    uv_close((uv_handle_t *)&uv_a.tcp, NULL);
    uv_close((uv_handle_t *)&uv_b.tcp, NULL);
  }
}

static void uv_connection(uv_stream_t *server, int status) {
  uv_tcp_init(server->loop, &uv_b.tcp);
  uv_b.tcp.data = &uv_b;
  uv_accept(server, (uv_stream_t *)&uv_b.tcp);
  uv_tcp_nodelay(&uv_b.tcp, 1);
  uv_read_start((uv_stream_t *)&uv_b.tcp, uv_alloc, uv_read);
  uv_close((uv_handle_t *)server, NULL);
}

static void uv_connected(uv_connect_t *req, int status) {
  uv_read_start((uv_stream_t *)&uv_a.tcp, uv_alloc, uv_read);
  uv_t0 = bench_now();
  cpu0 = bench_cpu_now();
  uv_send(&uv_a);
}

static double run_uv(void) {
  uv_loop_t loop;
  struct sockaddr_in addr;
  memset(&uv_a, 0, sizeof(uv_a));
  memset(&uv_b, 0, sizeof(uv_b));
  uv_trips = 0;
  uv_loop_init(&loop);
  bench_uv_listen(&loop, &uv_server, 8, uv_connection, &addr);
  uv_tcp_init(&loop, &uv_a.tcp);
  uv_a.tcp.data = &uv_a;
  uv_tcp_nodelay(&uv_a.tcp, 1);
  uv_tcp_connect(&uv_creq, &uv_a.tcp, (struct sockaddr *)&addr, uv_connected);
  uv_run(&loop, UV_RUN_DEFAULT);
  double secs = bench_now() - uv_t0;
  cpu_secs = bench_cpu_now() - cpu0;
  uv_loop_close(&loop);
  cpu_rate = (double)uv_trips / cpu_secs;
  return (double)uv_trips / secs;
}
#endif

int main(int argc, char **argv) {
  /* The order of a round: libasyncrt, the raw epoll floor, libuv. */
  static const char *const names[] = {"art", "raw", "uv"};
  const bench_run_fn runs[] = {run_art, run_raw, BENCH_UV(run_uv)};
  bench_medians_t m[3]; /* art, raw, uv */
  memset(msg, 'p', sizeof(msg));
  if (argc >= 3)
    trips_wanted = atol(argv[2]);
  if (argc >= 2) {
    double r = bench_run_named(argv[1], names, runs, 3);
    printf("%s: %.0f round trips/s, %.0f per CPU-second\n", argv[1], r,
           cpu_rate);
    return 0;
  }
  bench_alternate(runs, 3, &cpu_rate, m);
  bench_report("tcp_ping_pong per CPU-second", "/s", m[0].cpu, m[2].cpu);
  printf("%-40s asyncrt %12.1f /s   raw epoll %8.1f /s   ratio %.2fx\n",
         "tcp_ping_pong per CPU-s vs raw epoll", m[0].cpu, m[1].cpu,
         m[0].cpu / m[1].cpu);
  bench_report("tcp_ping_pong 64B (round trips/s)", "/s", m[0].rate, m[2].rate);
  printf("%-40s asyncrt %12.1f /s   raw epoll %8.1f /s   ratio %.2fx\n",
         "tcp_ping_pong vs raw epoll floor", m[0].rate, m[1].rate,
         m[0].rate / m[1].rate);
  return 0;
}
