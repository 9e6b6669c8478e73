/* Helpers shared by the UDP suites (test_udp.c, test_udp_send.c): a
 * receiver that records what it saw, send callbacks that check order and
 * exactly-once completion, and loop helpers. */
#ifndef ART_TEST_HELPERS_UDP_H
#define ART_TEST_HELPERS_UDP_H

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"

/* Not every suite uses every helper. */
#define UDP_HELPER static __attribute__((unused))

/* What a receiving handle saw. */
typedef struct {
  char buf[65536];  /* the buffer alloc_cb hands out */
  size_t len;       /* how much of it alloc_cb offers */
  int allocs;       /* alloc_cb calls */
  int datagrams;    /* recv_cb calls with a datagram */
  int handbacks;    /* recv_cb calls without MMSG_CHUNK */
  int chunks;       /* datagrams flagged MMSG_CHUNK */
  int frees;        /* MMSG_FREE calls */
  int partial;      /* datagrams flagged PARTIAL */
  int errors;       /* recv_cb calls with nread < 0 */
  int last_error;   /* the last of them */
  int stop_after;   /* recv_stop after this many datagrams (0: never) */
  char last[256];   /* the last datagram, NUL-terminated */
  ssize_t last_len; /* its nread */
  unsigned seq_ok;  /* datagrams "d%u" seen in order */
  struct sockaddr_storage from; /* sender of the last datagram */
} rx_t;

UDP_HELPER void rx_alloc(art_udp_t *h, size_t suggested, art_buf_t *buf) {
  rx_t *rx = h->data;
  rx->allocs++;
  *buf = art_buf_init(rx->buf, rx->len ? rx->len : sizeof(rx->buf));
}

UDP_HELPER void rx_recv(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags) {
  rx_t *rx = h->data;
  if (!(flags & ART_UDP_MMSG_CHUNK)) {
    rx->handbacks++;
    assert_ptr_equal(buf->base, rx->buf); /* the pointer alloc_cb gave */
  }
  if (flags & ART_UDP_MMSG_FREE) {
    rx->frees++;
    assert_int_equal(nread, 0);
    assert_null(addr);
  }
  if (nread < 0) {
    rx->errors++;
    rx->last_error = (int)nread;
    return;
  }
  if (addr == NULL)
    return;
  rx->datagrams++;
  if (flags & ART_UDP_MMSG_CHUNK)
    rx->chunks++;
  if (flags & ART_UDP_PARTIAL)
    rx->partial++;
  size_t n = (size_t)nread < sizeof(rx->last) - 1 ? (size_t)nread
                                                  : sizeof(rx->last) - 1;
  memcpy(rx->last, buf->base, n);
  rx->last[n] = 0;
  rx->last_len = nread;
  char want[32];
  snprintf(want, sizeof(want), "d%u", rx->seq_ok);
  if (strcmp(rx->last, want) == 0)
    rx->seq_ok++;
  memcpy(&rx->from, addr,
         addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in));
  if (rx->stop_after && rx->datagrams == rx->stop_after)
    art_udp_recv_stop(h);
}

/* Send callbacks: count and order. */
typedef struct {
  int calls;        /* callbacks run */
  int status[2048]; /* status of each, by request index */
  int order_ok;     /* callbacks came in request order */
  int closed;       /* close_cb had run when a callback came */
} tx_t;

UDP_HELPER tx_t tx;
UDP_HELPER int close_calls;

UDP_HELPER void on_close(art_handle_t *h) {
  close_calls++;
}

UDP_HELPER void send_cb(art_udp_send_t *req, int status) {
  int idx = (int)(intptr_t)req->data;
  if (idx != tx.calls)
    tx.order_ok = 0;
  tx.status[idx] = status;
  tx.calls++;
  if (close_calls > 0)
    tx.closed = 1;
}

UDP_HELPER void reset_tx(void) {
  memset(&tx, 0, sizeof(tx));
  tx.order_ok = 1;
  close_calls = 0;
}

UDP_HELPER int port_of(art_udp_t *h, struct sockaddr_storage *ss) {
  int len = sizeof(*ss);
  assert_int_equal(art_udp_getsockname(h, (struct sockaddr *)ss, &len), 0);
  if (ss->ss_family == AF_INET6)
    return ntohs(((struct sockaddr_in6 *)ss)->sin6_port);
  return ntohs(((struct sockaddr_in *)ss)->sin_port);
}

/* art_test_run_until with a ticking timer, so that an iteration whose
 * callbacks satisfy cond before its poll phase cannot block that poll
 * phase forever. */
UDP_HELPER void tick(art_timer_t *t) {}

UDP_HELPER int run_until(art_loop_t *loop, unsigned ms, int (*cond)(void *),
                         void *arg) {
  art_timer_t t;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, tick, 5, 5), 0);
  art_unref((art_handle_t *)&t);
  int r = art_test_run_until(loop, ms, cond, arg);
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_NOWAIT);
  return r;
}

/* Conditions for run_until. */
UDP_HELPER int got_n(void *arg) {
  rx_t *rx = arg;
  return rx->datagrams >= rx->stop_after;
}
UDP_HELPER int want_datagrams;
UDP_HELPER int got_want(void *arg) {
  return ((rx_t *)arg)->datagrams >= want_datagrams;
}
UDP_HELPER int want_calls;
UDP_HELPER int tx_done(void *arg) {
  return tx.calls >= want_calls;
}
UDP_HELPER int closed_all(void *arg) {
  return close_calls >= *(int *)arg;
}

UDP_HELPER void close_all(art_loop_t *loop, art_udp_t **hs, int n) {
  close_calls = 0;
  for (int i = 0; i < n; i++)
    assert_int_equal(art_close((art_handle_t *)hs[i], on_close), 0);
  assert_true(run_until(loop, 2000, closed_all, &n));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* Closes a server and its client, and waits until both are closed. */
UDP_HELPER void close_two(art_loop_t *loop, art_udp_t *srv, art_udp_t *cli) {
  art_udp_t *hs[] = {srv, cli};
  close_all(loop, hs, 2);
}

/* Runs the loop until rx has seen n datagrams in all (3 s at most). */
UDP_HELPER void wait_datagrams(art_loop_t *loop, rx_t *rx, int n) {
  want_datagrams = n;
  assert_true(run_until(loop, 3000, got_want, rx));
}

/* A loopback server and an unbound client of a family; 0, or -1 when the
 * family is not available here. */
UDP_HELPER int pair_up(art_loop_t *loop, int family, art_udp_t *srv,
                       art_udp_t *cli, struct sockaddr_storage *srv_addr) {
  assert_int_equal(art_udp_init(loop, srv), 0);
  assert_int_equal(art_udp_init(loop, cli), 0);
  struct sockaddr_storage ss;
  if (family == AF_INET6)
    assert_int_equal(art_ip6_addr("::1", 0, (struct sockaddr_in6 *)&ss), 0);
  else
    assert_int_equal(art_ip4_addr("127.0.0.1", 0, (struct sockaddr_in *)&ss),
                     0);
  int r = art_udp_bind(srv, (struct sockaddr *)&ss, 0);
  if (r == ART_EADDRNOTAVAIL || r == ART_EAFNOSUPPORT)
    return -1;
  assert_int_equal(r, 0);
  port_of(srv, srv_addr);
  return 0;
}

/* pair_up on IPv4, with a fresh receive record as the server's data;
 * returns the record (freed by the caller after close_two). */
UDP_HELPER rx_t *pair_up_rx(art_loop_t *loop, art_udp_t *srv, art_udp_t *cli,
                            struct sockaddr_storage *to) {
  rx_t *rx = calloc(1, sizeof(*rx));
  assert_int_equal(pair_up(loop, AF_INET, srv, cli, to), 0);
  srv->data = rx;
  return rx;
}

#endif
