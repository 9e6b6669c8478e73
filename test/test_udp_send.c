/* The UDP send queue: exactly-once callbacks in order, close with queued
 * sends, flushing once the socket drains, sends from callbacks coalesced
 * into one sendmmsg, and the allocated copy of many buffers. */
#include <fcntl.h>
#include <unistd.h>

#include "helpers/udp.h"

/* A socketpair end adopted with art_udp_open: the peer is never read, so
 * the socket fills and sends queue. Returns how many were queued. */
static int fill_until_queued(art_udp_t *h, art_udp_send_t *reqs, int max,
                             char *payload, size_t len) {
  art_buf_t b = art_buf_init(payload, len);
  for (int i = 0; i < max; i++) {
    reqs[i].data = (void *)(intptr_t)i;
    assert_int_equal(art_udp_send(&reqs[i], h, &b, 1, NULL, send_cb), 0);
    if (art_udp_get_send_queue_count(h) >= 8)
      return i + 1;
  }
  fail_msg("the socket never filled");
  return 0;
}

ART_TEST(close_cancels_queued_sends) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int sv[2];
  static art_udp_send_t reqs[2048];
  static char payload[1024];
  art_udp_t h;
  reset_tx();
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(art_udp_init(loop, &h), 0);
  assert_int_equal(art_udp_open(&h, sv[0]), 0);
  int n = fill_until_queued(&h, reqs, 2048, payload, sizeof(payload));
  size_t queued = art_udp_get_send_queue_count(&h);
  assert_int_equal(art_udp_get_send_queue_size(&h), queued * sizeof(payload));
  assert_int_equal(art_udp_try_send(&h, NULL, 0, NULL), ART_EAGAIN);
  assert_int_equal(art_udp_try_send_batch(&h, NULL, 0), ART_EAGAIN);
  assert_int_equal(art_udp_connect(&h, NULL), ART_EBUSY); /* sends queued */
  assert_true(art_is_active((art_handle_t *)&h));
  assert_int_equal(art_close((art_handle_t *)&h, on_close), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(close_calls, 1);
  assert_int_equal(tx.calls, n); /* every request, exactly once */
  assert_true(tx.order_ok);
  assert_false(tx.closed); /* all before close_cb */
  for (int i = 0; i < n; i++)
    assert_int_equal(tx.status[i], i < n - (int)queued ? 0 : ART_ECANCELED);
  close(sv[1]);
}

static int peer_fd = -1;
static void drain_peer(art_timer_t *t) {
  char buf[2048];
  while (recv(peer_fd, buf, sizeof(buf), MSG_DONTWAIT) > 0) {
  }
}

/* Queued sends go out in order once the peer reads; each callback once. */
ART_TEST(queued_sends_flush_in_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int sv[2];
  static art_udp_send_t reqs[2048];
  static char payload[1024];
  art_udp_t h;
  art_timer_t t;
  reset_tx();
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  peer_fd = sv[1];
  assert_int_equal(art_udp_init(loop, &h), 0);
  assert_int_equal(art_udp_open(&h, sv[0]), 0);
  assert_int_equal(art_udp_open(&h, sv[1]), ART_EBUSY);
  int n = fill_until_queued(&h, reqs, 2048, payload, sizeof(payload));
  /* A few more behind the queue: they must wait their turn. */
  art_buf_t b = art_buf_init(payload, 10);
  for (int i = n; i < n + 5; i++) {
    reqs[i].data = (void *)(intptr_t)i;
    assert_int_equal(art_udp_send(&reqs[i], &h, &b, 1, NULL, send_cb), 0);
  }
  n += 5;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, drain_peer, 1, 1), 0);
  want_calls = n;
  assert_true(run_until(loop, 5000, tx_done, NULL));
  assert_int_equal(tx.calls, n);
  assert_true(tx.order_ok);
  for (int i = 0; i < n; i++)
    assert_int_equal(tx.status[i], 0);
  assert_int_equal(art_udp_get_send_queue_count(&h), 0);
  assert_int_equal(art_udp_get_send_queue_size(&h), 0);
  assert_false(art_is_active((art_handle_t *)&h));
  art_close((art_handle_t *)&t, NULL);
  art_close((art_handle_t *)&h, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(tx.calls, n);
  close(sv[1]);
}

/* More than four buffers (the copy is allocated) make one datagram. */
ART_TEST(many_buffers_one_datagram) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  reset_tx();
  rx_t *rx = pair_up_rx(loop, &srv, &cli, &to);
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
  art_buf_t b[6] = {art_buf_init("a", 1), art_buf_init("bc", 2),
                    art_buf_init("", 0),  art_buf_init("def", 3),
                    art_buf_init("g", 1), art_buf_init("hi", 2)};
  art_udp_send_t req;
  req.data = 0;
  /* The allocation of the copy fails: nothing is sent or registered. */
  art_test_fail_alloc_after(0);
  assert_int_equal(
      art_udp_send(&req, &cli, b, 6, (struct sockaddr *)&to, send_cb),
      ART_ENOMEM);
  art_test_fail_alloc_after(-1);
  assert_int_equal(
      art_udp_send(&req, &cli, b, 6, (struct sockaddr *)&to, send_cb), 0);
  want_calls = 1;
  wait_datagrams(loop, rx, 1);
  assert_true(run_until(loop, 3000, tx_done, NULL));
  assert_string_equal(rx->last, "abcdefghi");
  assert_int_equal(tx.status[0], 0);
  close_two(loop, &srv, &cli);
  free(rx);
}

/* Each send callback sends the next datagram: the sends made inside the
 * callbacks are queued and flushed together, and still arrive in order with
 * every callback run once. */
enum { CHAIN = 300, CHAIN_DEPTH = 8 };
static art_udp_send_t chain_reqs[CHAIN];
static char chain_text[CHAIN][8];
static art_udp_t *chain_handle;
static struct sockaddr_storage chain_to;
static int chain_next;

static void chain_send(void);

static void chain_cb(art_udp_send_t *req, int status) {
  send_cb(req, status);
  if (chain_next < CHAIN)
    chain_send();
}

static void chain_send(void) {
  int i = chain_next++;
  snprintf(chain_text[i], sizeof(chain_text[i]), "d%d", i % 100000);
  art_buf_t b = art_buf_init(chain_text[i], strlen(chain_text[i]));
  chain_reqs[i].data = (void *)(intptr_t)i;
  assert_int_equal(art_udp_send(&chain_reqs[i], chain_handle, &b, 1,
                                (struct sockaddr *)&chain_to, chain_cb),
                   0);
}

ART_TEST(sends_from_send_callbacks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  reset_tx();
  rx_t *rx = pair_up_rx(loop, &srv, &cli, &chain_to);
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
  chain_handle = &cli;
  chain_next = 0;
  for (int i = 0; i < CHAIN_DEPTH; i++)
    chain_send();
  want_calls = CHAIN;
  want_datagrams = CHAIN;
  assert_true(run_until(loop, 5000, tx_done, NULL));
  assert_true(run_until(loop, 5000, got_want, rx));
  assert_int_equal(tx.calls, CHAIN);
  assert_true(tx.order_ok);
  for (int i = 0; i < CHAIN; i++)
    assert_int_equal(tx.status[i], 0);
  assert_int_equal(rx->seq_ok, CHAIN);
  assert_int_equal(art_udp_get_send_queue_count(&cli), 0);
  close_two(loop, &srv, &cli);
  free(rx);
}

/* An echo server that answers from its receive callback: the replies are
 * queued during the callbacks and go out together. */
enum { ECHOES = 100 };
static art_udp_send_t echo_reqs[ECHOES];
static char echo_data[ECHOES][8];
static int echo_n;

static void echo_recv(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                      const struct sockaddr *addr, unsigned flags) {
  if (nread < 0 || addr == NULL || echo_n >= ECHOES)
    return;
  int i = echo_n++;
  memcpy(echo_data[i], buf->base, (size_t)nread);
  art_buf_t b = art_buf_init(echo_data[i], (size_t)nread);
  echo_reqs[i].data = (void *)(intptr_t)i;
  assert_int_equal(art_udp_send(&echo_reqs[i], h, &b, 1, addr, send_cb), 0);
  /* Queued behind the reply, so the immediate form must wait its turn. */
  assert_int_equal(art_udp_try_send(h, &b, 1, addr), ART_EAGAIN);
}

ART_TEST(replies_from_recv_callbacks) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  rx_t *rx = calloc(1, sizeof(*rx));
  static char text[ECHOES][8];
  static art_buf_t bufs[ECHOES];
  static art_udp_msg_t msgs[ECHOES];
  reset_tx();
  echo_n = 0;
  rx_t *srx = calloc(1, sizeof(*srx)); /* the server's buffer */
  assert_int_equal(pair_up(loop, AF_INET, &srv, &cli, &to), 0);
  srv.data = srx;
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, echo_recv), 0);
  cli.data = rx;
  assert_int_equal(art_udp_recv_start(&cli, rx_alloc, rx_recv), 0);
  for (int i = 0; i < ECHOES; i++) {
    snprintf(text[i], sizeof(text[i]), "d%d", i);
    bufs[i] = art_buf_init(text[i], strlen(text[i]));
    msgs[i] = (art_udp_msg_t){&bufs[i], 1, (struct sockaddr *)&to};
  }
  assert_int_equal(art_udp_try_send_batch(&cli, msgs, ECHOES), ECHOES);
  want_datagrams = ECHOES;
  want_calls = ECHOES;
  assert_true(run_until(loop, 5000, got_want, rx));
  assert_true(run_until(loop, 5000, tx_done, NULL));
  assert_int_equal(rx->seq_ok, ECHOES);
  assert_true(tx.order_ok);
  assert_int_equal(tx.calls, ECHOES);
  close_two(loop, &srv, &cli);
  free(rx);
  free(srx);
}
