/* UDP pummel: datagrams per second from one sender to one receiver on
 * 127.0.0.1, both handles in one loop, libasyncrt against libuv in the same
 * run.
 *
 * 1. unbatched: 32 send requests in flight (art_udp_send / uv_udp_send),
 *    each sent again from its callback; the receiver reads one datagram per
 *    system call (a 64 KiB buffer; libuv's default mode).
 * 2. batched: an idle handle pushes 64 datagrams per loop iteration, the
 *    receiver reads many per system call. libasyncrt: one
 *    art_udp_try_send_batch (sendmmsg) and recvmmsg into 64 slots of 256
 *    bytes. libuv 1.44 has no batched send, so its best: 64
 *    uv_udp_try_send calls, and UV_UDP_RECVMMSG into 20 slots of 64 KiB.
 * In both, the sender stops while more than WINDOW datagrams are
 * unaccounted for, so the receiver's socket buffer never overflows: the
 * figure is datagrams received per second with nothing dropped. Datagrams
 * are 64 bytes. Each run lasts BENCH_MS ms (default 500); rounds alternate
 * libasyncrt and libuv (BENCH_ROUNDS, default 3) and medians are compared.
 * Usage: bench_udp_pummel [art|uv|both] [unbatched|batched|all]
 * BENCH_VERBOSE=1 prints each run's datagram count (for per-datagram costs
 * measured with strace -c or valgrind --tool=callgrind).
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define DGRAM     64
#define IN_FLIGHT 32
#define WINDOW    256
#define BATCH     64
#define SLOT      256

static char payload[DGRAM];
static char rxbuf[20 * 65536]; /* the largest receive buffer (libuv's) */
static unsigned long sent, received;
static int stopping;
static double t0, elapsed;   /* wall clock */
static double c0, cpu_spent; /* this thread's CPU time */
static double cpu_rate;      /* datagrams per CPU second, last run */

static int run_ms = 500;

/* ---- libasyncrt ---- */

static art_udp_t a_rx, a_tx;
static art_timer_t a_timer;
static art_idle_t a_idle;
static art_udp_send_t a_reqs[IN_FLIGHT];
static art_udp_send_t *a_parked[IN_FLIGHT];
static int a_nparked;
static struct sockaddr_in a_dest;
static art_udp_msg_t a_msgs[BATCH];
static art_buf_t a_buf;
static int a_batched;

static void a_send(art_udp_send_t *req);

static void a_sent(art_udp_send_t *req, int status) {
  (void)status;
  if (stopping)
    return;
  if (sent - received >= WINDOW)
    a_parked[a_nparked++] = req;
  else
    a_send(req);
}

static void a_send(art_udp_send_t *req) {
  if (art_udp_send(req, &a_tx, &a_buf, 1, (struct sockaddr *)&a_dest, a_sent) ==
      0)
    sent++;
}

static void a_alloc(art_udp_t *h, size_t suggested, art_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = art_buf_init(rxbuf, a_batched ? 2 * BATCH * SLOT : 65536);
}

static void a_recv(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                   const struct sockaddr *addr, unsigned flags) {
  (void)h;
  (void)buf;
  (void)flags;
  if (nread < 0 || addr == NULL)
    return;
  received++;
  if (a_nparked > 0 && !stopping)
    a_send(a_parked[--a_nparked]);
}

static void a_batch(art_idle_t *idle) {
  (void)idle;
  if (stopping || sent - received >= WINDOW)
    return;
  int n = art_udp_try_send_batch(&a_tx, a_msgs, BATCH);
  if (n > 0)
    sent += (unsigned long)n;
}

static void a_stop(art_timer_t *t) {
  (void)t;
  elapsed = bench_now() - t0;
  cpu_spent = bench_cpu_now() - c0;
  stopping = 1;
  art_close((art_handle_t *)&a_rx, NULL);
  art_close((art_handle_t *)&a_tx, NULL);
  art_close((art_handle_t *)&a_timer, NULL);
  art_close((art_handle_t *)&a_idle, NULL);
}

/* One run; returns datagrams received per second. */
static double art_run_pummel(int batched) {
  art_loop_t loop;
  struct sockaddr_in any;
  int len = sizeof(a_dest);
  art_loop_init(&loop);
  art_ip4_addr("127.0.0.1", 0, &any);
  art_udp_init(&loop, &a_rx);
  art_udp_init(&loop, &a_tx);
  art_udp_bind(&a_rx, (struct sockaddr *)&any, 0);
  art_udp_getsockname(&a_rx, (struct sockaddr *)&a_dest, &len);
  if (batched)
    art_udp_set_recv_slot(&a_rx, SLOT);
  art_idle_init(&loop, &a_idle);
  a_batched = batched;
  a_buf = art_buf_init(payload, DGRAM);
  for (int i = 0; i < BATCH; i++)
    a_msgs[i] = (art_udp_msg_t){&a_buf, 1, (struct sockaddr *)&a_dest};
  sent = received = 0;
  stopping = 0;
  a_nparked = 0;
  art_timer_init(&loop, &a_timer);
  art_timer_start(&a_timer, a_stop, (uint64_t)run_ms, 0);
  t0 = bench_now();
  c0 = bench_cpu_now();
  if (batched)
    art_idle_start(&a_idle, a_batch);
  art_udp_recv_start(&a_rx, a_alloc, a_recv);
  for (int i = 0; !batched && i < IN_FLIGHT; i++)
    a_send(&a_reqs[i]);
  art_run(&loop, ART_RUN_DEFAULT);
  art_loop_close(&loop);
  if (getenv("BENCH_VERBOSE") != NULL)
    fprintf(stderr, "asyncrt: %lu datagrams\n", received);
  cpu_rate = (double)received / cpu_spent;
  return (double)received / elapsed;
}

/* ---- libuv ---- */

#ifdef ART_HAVE_LIBUV
static uv_udp_t u_rx, u_tx;
static uv_timer_t u_timer;
static uv_idle_t u_idle;
static uv_udp_send_t u_reqs[IN_FLIGHT];
static uv_udp_send_t *u_parked[IN_FLIGHT];
static int u_nparked, u_batched;
static struct sockaddr_in u_dest;
static uv_buf_t u_buf;

static void u_send(uv_udp_send_t *req);

static void u_sent(uv_udp_send_t *req, int status) {
  (void)status;
  if (stopping)
    return;
  if (sent - received >= WINDOW)
    u_parked[u_nparked++] = req;
  else
    u_send(req);
}

static void u_send(uv_udp_send_t *req) {
  if (uv_udp_send(req, &u_tx, &u_buf, 1, (struct sockaddr *)&u_dest, u_sent) ==
      0)
    sent++;
}

static void u_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = uv_buf_init(rxbuf, u_batched ? sizeof(rxbuf) : 65536);
}

static void u_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf,
                   const struct sockaddr *addr, unsigned flags) {
  (void)h;
  (void)buf;
  (void)flags;
  if (nread < 0 || addr == NULL)
    return;
  received++;
  if (u_nparked > 0 && !stopping)
    u_send(u_parked[--u_nparked]);
}

static void u_batch(uv_idle_t *idle) {
  (void)idle;
  if (stopping || sent - received >= WINDOW)
    return;
  for (int i = 0; i < BATCH; i++) {
    if (uv_udp_try_send(&u_tx, &u_buf, 1, (struct sockaddr *)&u_dest) < 0)
      break;
    sent++;
  }
}

static void u_stop(uv_timer_t *t) {
  (void)t;
  elapsed = bench_now() - t0;
  cpu_spent = bench_cpu_now() - c0;
  stopping = 1;
  uv_close((uv_handle_t *)&u_rx, NULL);
  uv_close((uv_handle_t *)&u_tx, NULL);
  uv_close((uv_handle_t *)&u_timer, NULL);
  uv_close((uv_handle_t *)&u_idle, NULL);
}

static double uv_run_pummel(int batched) {
  uv_loop_t loop;
  struct sockaddr_in any;
  int len = sizeof(u_dest);
  uv_loop_init(&loop);
  uv_ip4_addr("127.0.0.1", 0, &any);
  uv_udp_init_ex(&loop, &u_rx, AF_INET | (batched ? UV_UDP_RECVMMSG : 0));
  uv_udp_init(&loop, &u_tx);
  uv_udp_bind(&u_rx, (struct sockaddr *)&any, 0);
  uv_udp_getsockname(&u_rx, (struct sockaddr *)&u_dest, &len);
  uv_idle_init(&loop, &u_idle);
  u_buf = uv_buf_init(payload, DGRAM);
  u_batched = batched;
  sent = received = 0;
  stopping = 0;
  u_nparked = 0;
  uv_timer_init(&loop, &u_timer);
  uv_timer_start(&u_timer, u_stop, (uint64_t)run_ms, 0);
  t0 = bench_now();
  c0 = bench_cpu_now();
  if (batched)
    uv_idle_start(&u_idle, u_batch);
  uv_udp_recv_start(&u_rx, u_alloc, u_recv);
  for (int i = 0; !batched && i < IN_FLIGHT; i++)
    u_send(&u_reqs[i]);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (getenv("BENCH_VERBOSE") != NULL)
    fprintf(stderr, "libuv: %lu datagrams\n", received);
  cpu_rate = (double)received / cpu_spent;
  return (double)received / elapsed;
}
#endif

/* ---- the floor: the same traffic with plain system calls ---- */

/* No loop, no poller: the sender writes IN_FLIGHT (or BATCH) datagrams and
 * the receiver reads them back, over and over; batched uses one sendmmsg
 * and one recvmmsg per round. What the kernel costs alone. */
static double raw_run_pummel(int batched) {
  static struct mmsghdr sm[BATCH], rm[BATCH];
  static struct iovec riov[BATCH];
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  int rx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int tx = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  struct iovec siov = {payload, DGRAM};
  art_ip4_addr("127.0.0.1", 0, &a);
  bind(rx, (struct sockaddr *)&a, sizeof(a));
  getsockname(rx, (struct sockaddr *)&a, &len);
  for (int i = 0; i < BATCH; i++) {
    sm[i].msg_hdr = (struct msghdr){&a, sizeof(a), &siov, 1, NULL, 0, 0};
    riov[i] = (struct iovec){rxbuf + i * SLOT, SLOT};
    rm[i].msg_hdr = (struct msghdr){NULL, 0, &riov[i], 1, NULL, 0, 0};
  }
  unsigned long n = 0;
  double start = bench_now(), cstart = bench_cpu_now(), dt;
  do {
    for (int k = 0; k < 64; k++) {
      if (batched) {
        sendmmsg(tx, sm, BATCH, 0);
        int r = recvmmsg(rx, rm, BATCH, 0, NULL);
        n += r > 0 ? (unsigned long)r : 0;
        continue;
      }
      for (int i = 0; i < IN_FLIGHT; i++)
        sendto(tx, payload, DGRAM, 0, (struct sockaddr *)&a, sizeof(a));
      for (int i = 0; i < IN_FLIGHT; i++)
        n += recv(rx, rxbuf, sizeof(rxbuf), 0) > 0;
    }
    dt = bench_now() - start;
  } while (dt * 1000 < run_ms);
  close(rx);
  close(tx);
  cpu_rate = (double)n / (bench_cpu_now() - cstart);
  return (double)n / dt;
}

/* Alternates the two libraries and reports medians, of the wall-clock and
 * of the CPU-time rates. */
static void compare(const char *name, int batched, int do_art, int do_uv) {
  double a[BENCH_MAX_ROUNDS], u[BENCH_MAX_ROUNDS], ac[BENCH_MAX_ROUNDS],
      uc[BENCH_MAX_ROUNDS];
  int rounds = bench_rounds();
  for (int r = 0; r < rounds; r++) {
    a[r] = do_art ? art_run_pummel(batched) : 0;
    ac[r] = do_art ? cpu_rate : 0;
#ifdef ART_HAVE_LIBUV
    u[r] = do_uv ? uv_run_pummel(batched) : -1;
    uc[r] = do_uv ? cpu_rate : -1;
#else
    (void)do_uv;
    u[r] = uc[r] = -1;
#endif
  }
  bench_report(name, "dgram/s", bench_median(a, (size_t)rounds),
               bench_median(u, (size_t)rounds));
  bench_report("  per CPU second", "dgram/s", bench_median(ac, (size_t)rounds),
               bench_median(uc, (size_t)rounds));
  if (do_art && do_uv) {
    double wall = raw_run_pummel(batched);
    printf("%-40s raw system calls %9.1f dgram/s, %9.1f per CPU second "
           "(the floor)\n",
           "", wall, cpu_rate);
  }
}

int main(int argc, char **argv) {
  const char *which = argc > 1 ? argv[1] : "both";
  int do_art = strcmp(which, "uv") != 0;
  int do_uv = strcmp(which, "art") != 0;
  const char *ms = getenv("BENCH_MS");
  if (ms != NULL && atoi(ms) > 0)
    run_ms = atoi(ms);
  memset(payload, 'p', sizeof(payload));
  const char *mode = argc > 2 ? argv[2] : "all";
  if (strcmp(mode, "batched") != 0)
    compare("udp_pummel 1v1 unbatched (64 B)", 0, do_art, do_uv);
  if (strcmp(mode, "unbatched") != 0)
    compare("udp_pummel 1v1 batched (64 B)", 1, do_art, do_uv);
  return 0;
}
