/* UDP: send and receive on loopback (IPv4, IPv6), batches with sendmmsg and
 * recvmmsg, truncation, connect/disconnect, errors from ICMP, multicast on
 * loopback, options, bad arguments. The send queue has test_udp_send.c. */
#include <fcntl.h>
#include <unistd.h>

#include "helpers/udp.h"

static void send_recv_family(art_loop_t *loop, int family) {
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  rx_t *rx = calloc(1, sizeof(*rx));
  reset_tx();
  if (pair_up(loop, family, &srv, &cli, &to) != 0) {
    close_two(loop, &srv, &cli);
    free(rx);
    skip();
  }
  srv.data = rx;
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), ART_EALREADY);
  art_udp_send_t reqs[3];
  char text[3][8];
  for (int i = 0; i < 3; i++) {
    snprintf(text[i], sizeof(text[i]), "d%d", i);
    art_buf_t b = art_buf_init(text[i], strlen(text[i]));
    reqs[i].data = (void *)(intptr_t)i;
    assert_int_equal(
        art_udp_send(&reqs[i], &cli, &b, 1, (struct sockaddr *)&to, send_cb),
        0);
  }
  assert_int_equal(tx.calls, 0); /* never inside art_udp_send */
  want_calls = 3;
  wait_datagrams(loop, rx, 3);
  assert_true(run_until(loop, 3000, tx_done, NULL));
  assert_int_equal(rx->seq_ok, 3);
  assert_int_equal(rx->from.ss_family, family);
  struct sockaddr_storage cli_addr;
  assert_int_equal(port_of(&cli, &cli_addr),
                   family == AF_INET6
                       ? ntohs(((struct sockaddr_in6 *)&rx->from)->sin6_port)
                       : ntohs(((struct sockaddr_in *)&rx->from)->sin_port));
  assert_int_equal(tx.calls, 3);
  assert_true(tx.order_ok);
  for (int i = 0; i < 3; i++)
    assert_int_equal(tx.status[i], 0);
  assert_int_equal(art_udp_get_send_queue_count(&cli), 0);
  assert_int_equal(art_udp_get_send_queue_size(&cli), 0);
  close_two(loop, &srv, &cli);
  assert_int_equal(tx.calls, 3); /* exactly once */
  free(rx);
}

ART_TEST(send_recv_ipv4) {
  send_recv_family(ART_TEST_LOOP(state), AF_INET);
}

ART_TEST(send_recv_ipv6) {
  send_recv_family(ART_TEST_LOOP(state), AF_INET6);
}

/* 200 datagrams with try_send_batch; the receiver's buffer holds 64 slots of
 * 128 bytes, so they come in with recvmmsg, flagged MMSG_CHUNK. */
ART_TEST(batch_send_recv) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  rx_t *rx = pair_up_rx(loop, &srv, &cli, &to);
  rx->len = 64 * 128;
  assert_int_equal(art_udp_set_recv_slot(&srv, 128), 0);
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
  enum { N = 200 };
  static char text[N][8];
  static art_buf_t bufs[N];
  static art_udp_msg_t msgs[N];
  for (int i = 0; i < N; i++) {
    snprintf(text[i], sizeof(text[i]), "d%d", i);
    bufs[i] = art_buf_init(text[i], strlen(text[i]));
    msgs[i].bufs = &bufs[i];
    msgs[i].nbufs = 1;
    msgs[i].addr = (struct sockaddr *)&to;
  }
  int sent = 0;
  while (sent < N) { /* the receiver's buffer may fill: let it drain */
    int r = art_udp_try_send_batch(&cli, msgs + sent, (unsigned)(N - sent));
    if (r == ART_EAGAIN || r == 0) {
      art_run(loop, ART_RUN_NOWAIT);
      continue;
    }
    assert_true(r > 0);
    sent += r;
    art_run(loop, ART_RUN_NOWAIT);
  }
  wait_datagrams(loop, rx, N);
  assert_int_equal(rx->datagrams, N);
  assert_int_equal(rx->seq_ok, N);
  assert_true(rx->chunks > 0);
  assert_true(rx->frees > 0);
  assert_true(rx->allocs < N); /* batched: fewer buffers than datagrams */
  assert_int_equal(rx->handbacks, rx->allocs); /* one per buffer */
  assert_int_equal(art_udp_try_send_batch(&cli, msgs, 0), 0);
  close_two(loop, &srv, &cli);
  free(rx);
}

/* Datagrams larger than their slot are cut and flagged, in both modes. */
ART_TEST(truncated_datagrams) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  rx_t *rx = pair_up_rx(loop, &srv, &cli, &to);
  rx->len = 8; /* single reads into 8 bytes */
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
  art_buf_t b = art_buf_init("0123456789abcdefghij", 20);
  assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to), 20);
  wait_datagrams(loop, rx, 1);
  assert_int_equal(rx->partial, 1);
  assert_int_equal(rx->last_len, 8);
  assert_string_equal(rx->last, "01234567");
  /* Batches: slots of 4 bytes in a 64-byte buffer. */
  assert_int_equal(art_udp_set_recv_slot(&srv, 4), 0);
  rx->len = 64;
  assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to), 20);
  wait_datagrams(loop, rx, 2);
  assert_int_equal(rx->partial, 2);
  assert_int_equal(rx->chunks, 1);
  assert_string_equal(rx->last, "0123");
  close_two(loop, &srv, &cli);
  free(rx);
}

/* Stopping in the middle of a batch: no datagram after the stop, and the
 * buffer still comes back. */
ART_TEST(recv_stop_mid_batch) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  rx_t *rx = pair_up_rx(loop, &srv, &cli, &to);
  rx->len = 16 * 64;
  rx->stop_after = 3;
  assert_int_equal(art_udp_set_recv_slot(&srv, 64), 0);
  art_buf_t b = art_buf_init("x", 1);
  for (int i = 0; i < 10; i++)
    assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to), 1);
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
  assert_true(run_until(loop, 3000, got_n, rx));
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(rx->datagrams, 3);
  assert_int_equal(rx->frees, 1);
  assert_int_equal(rx->handbacks, rx->allocs);
  assert_false(art_is_active((art_handle_t *)&srv));
  close_two(loop, &srv, &cli);
  free(rx);
}

static void null_alloc(art_udp_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(NULL, 0);
}

static int enobufs_seen;
static void enobufs_recv(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                         const struct sockaddr *addr, unsigned flags) {
  if (nread == ART_ENOBUFS) {
    enobufs_seen++;
    art_udp_recv_stop(h);
  }
}

static int enobufs_cond(void *arg) {
  return enobufs_seen > 0;
}

ART_TEST(alloc_gives_nothing) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  enobufs_seen = 0;
  assert_int_equal(pair_up(loop, AF_INET, &srv, &cli, &to), 0);
  art_buf_t b = art_buf_init("x", 1);
  assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to), 1);
  assert_int_equal(art_udp_recv_start(&srv, null_alloc, enobufs_recv), 0);
  assert_true(run_until(loop, 3000, enobufs_cond, NULL));
  assert_int_equal(enobufs_seen, 1);
  close_two(loop, &srv, &cli);
}

ART_TEST(connect_and_disconnect) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to, peer;
  rx_t *rx = pair_up_rx(loop, &srv, &cli, &to);
  int len = sizeof(peer);
  assert_int_equal(art_udp_getpeername(&cli, (struct sockaddr *)&peer, &len),
                   ART_EBADF); /* no socket yet */
  assert_int_equal(art_udp_connect(&cli, NULL), ART_ENOTCONN);
  assert_int_equal(art_udp_connect(&cli, (struct sockaddr *)&to), 0);
  assert_int_equal(art_udp_connect(&cli, (struct sockaddr *)&to), ART_EISCONN);
  len = sizeof(peer);
  assert_int_equal(art_udp_getpeername(&cli, (struct sockaddr *)&peer, &len),
                   0);
  assert_int_equal(len, sizeof(struct sockaddr_in));
  assert_memory_equal(&peer, &to, sizeof(struct sockaddr_in));
  art_buf_t b = art_buf_init("d0", 2);
  assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to),
                   ART_EISCONN);
  assert_int_equal(art_udp_try_send(&cli, &b, 1, NULL), 2);
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
  wait_datagrams(loop, rx, 1);
  assert_int_equal(art_udp_connect(&cli, NULL), 0);
  len = sizeof(peer);
  assert_int_equal(art_udp_getpeername(&cli, (struct sockaddr *)&peer, &len),
                   ART_ENOTCONN);
  assert_int_equal(art_udp_try_send(&cli, &b, 1, NULL), ART_ENOTCONN);
  art_udp_send_t req;
  assert_int_equal(art_udp_send(&req, &cli, &b, 1, NULL, NULL), ART_ENOTCONN);
  b = art_buf_init("d1", 2);
  assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to), 2);
  wait_datagrams(loop, rx, 2);
  assert_int_equal(rx->seq_ok, 2);
  close_two(loop, &srv, &cli);
  free(rx);
}

/* A connected socket whose peer port is closed learns it from ICMP: the
 * error reaches either the send callback or recv_cb, never a crash. */
ART_TEST(connection_refused_is_reported) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t gone, cli;
  struct sockaddr_storage to;
  rx_t *rx = calloc(1, sizeof(*rx));
  reset_tx();
  assert_int_equal(pair_up(loop, AF_INET, &gone, &cli, &to), 0);
  art_close((art_handle_t *)&gone, NULL); /* the port is free again */
  art_run(loop, ART_RUN_DEFAULT);
  cli.data = rx;
  assert_int_equal(art_udp_connect(&cli, (struct sockaddr *)&to), 0);
  assert_int_equal(art_udp_recv_start(&cli, rx_alloc, rx_recv), 0);
  art_buf_t b = art_buf_init("x", 1);
  art_udp_send_t reqs[4];
  for (int i = 0; i < 4; i++) {
    reqs[i].data = (void *)(intptr_t)i;
    assert_int_equal(art_udp_send(&reqs[i], &cli, &b, 1, NULL, send_cb), 0);
  }
  want_calls = 4;
  assert_true(run_until(loop, 3000, tx_done, NULL));
  art_run(loop, ART_RUN_NOWAIT);
  int refused = rx->last_error == ART_ECONNREFUSED;
  for (int i = 0; i < 4; i++)
    refused |= tx.status[i] == ART_ECONNREFUSED;
  assert_true(refused);
  art_udp_t *hs[] = {&cli};
  close_all(loop, hs, 1);
  free(rx);
}

/* The multicast tests' handles: srv receives into rx, cli sends over IPv4. */
static void group_pair(art_loop_t *loop, art_udp_t *srv, art_udp_t *cli,
                       rx_t *rx) {
  assert_int_equal(art_udp_init(loop, srv), 0);
  assert_int_equal(art_udp_init_ex(loop, cli, AF_INET), 0);
  srv->data = rx;
}

/* Binds srv to 0.0.0.0 on an ephemeral port (shared: REUSEADDR); returns
 * the port. */
static int bind_any(art_udp_t *srv) {
  struct sockaddr_in any;
  struct sockaddr_storage bound;
  assert_int_equal(art_ip4_addr("0.0.0.0", 0, &any), 0);
  assert_int_equal(
      art_udp_bind(srv, (struct sockaddr *)&any, ART_UDP_REUSEADDR), 0);
  return port_of(srv, &bound);
}

/* Starts srv receiving and sends "d0" from cli to grp:port; returns what
 * art_udp_try_send returned (2 when sent). */
static int send_to_group(art_udp_t *srv, art_udp_t *cli, const char *grp,
                         int port) {
  struct sockaddr_in group;
  assert_int_equal(art_udp_recv_start(srv, rx_alloc, rx_recv), 0);
  assert_int_equal(art_ip4_addr(grp, port, &group), 0);
  art_buf_t b = art_buf_init("d0", 2);
  return art_udp_try_send(cli, &b, 1, (struct sockaddr *)&group);
}

/* Runs the loop until rx holds one datagram, which must be "d0". */
static void expect_d0(art_loop_t *loop, rx_t *rx) {
  wait_datagrams(loop, rx, 1);
  assert_string_equal(rx->last, "d0");
}

/* Multicast on loopback: join 239.255.42.x on 127.0.0.1 and send to it with
 * loop on. Skipped when the sandbox has no multicast route. */
ART_TEST(multicast_loopback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  rx_t *rx = calloc(1, sizeof(*rx));
  const char *grp = "239.255.42.99";
  group_pair(loop, &srv, &cli, rx);
  assert_int_equal(art_udp_set_membership(&srv, grp, NULL, ART_JOIN_GROUP),
                   ART_EBADF);
  int port = bind_any(&srv);
  int r = art_udp_set_membership(&srv, grp, "127.0.0.1", ART_JOIN_GROUP);
  int ok = r == 0;
  if (ok) {
    assert_int_equal(art_udp_set_multicast_interface(&cli, "127.0.0.1"), 0);
    assert_int_equal(art_udp_set_multicast_loop(&cli, 1), 0);
    assert_int_equal(art_udp_set_multicast_ttl(&cli, 1), 0);
    r = send_to_group(&srv, &cli, grp, port);
    ok = r == 2;
  }
  if (ok) {
    expect_d0(loop, rx);
    assert_int_equal(
        art_udp_set_membership(&srv, grp, "127.0.0.1", ART_LEAVE_GROUP), 0);
    /* Leaving twice: the kernel says the group is not joined. */
    assert_true(
        art_udp_set_membership(&srv, grp, "127.0.0.1", ART_LEAVE_GROUP) < 0);
  }
  assert_int_equal(art_udp_set_membership(&srv, "::1", NULL, ART_JOIN_GROUP),
                   ART_EINVAL);
  assert_int_equal(
      art_udp_set_membership(&srv, "239.1.1.1", NULL, (art_membership)7),
      ART_EINVAL);
  assert_int_equal(art_udp_set_membership(&srv, grp, "junk", ART_JOIN_GROUP),
                   ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_interface(&cli, "::1"), ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_interface(&cli, NULL), 0);
  close_two(loop, &srv, &cli);
  free(rx);
  if (!ok) {
    fprintf(stderr, "no multicast on loopback here (%s): skipped\n",
            art_err_name(r));
    skip();
  }
}

static int get_int_opt(art_udp_t *h, int level, int name) {
  int v = -1;
  socklen_t len = sizeof(v);
  assert_int_equal(getsockopt(h->io_.fd, level, name, &v, &len), 0);
  return v;
}

ART_TEST(socket_options) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t h4, h6, none;
  assert_int_equal(art_udp_init_ex(loop, &h4, AF_INET), 0);
  assert_int_equal(art_udp_init(loop, &none), 0);
  assert_int_equal(art_udp_set_broadcast(&none, 1), ART_EBADF);
  assert_int_equal(art_udp_set_ttl(&none, 5), ART_EBADF);
  assert_int_equal(art_udp_set_multicast_loop(&none, 1), ART_EBADF);
  assert_int_equal(art_udp_set_broadcast(&h4, 1), 0);
  assert_int_equal(get_int_opt(&h4, SOL_SOCKET, SO_BROADCAST), 1);
  assert_int_equal(art_udp_set_broadcast(&h4, 0), 0);
  assert_int_equal(get_int_opt(&h4, SOL_SOCKET, SO_BROADCAST), 0);
  assert_int_equal(art_udp_set_ttl(&h4, 17), 0);
  assert_int_equal(get_int_opt(&h4, IPPROTO_IP, IP_TTL), 17);
  assert_int_equal(art_udp_set_ttl(&h4, 0), ART_EINVAL);
  assert_int_equal(art_udp_set_ttl(&h4, 256), ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_ttl(&h4, 0), 0);
  assert_int_equal(art_udp_set_multicast_ttl(&h4, 255), 0);
  assert_int_equal(get_int_opt(&h4, IPPROTO_IP, IP_MULTICAST_TTL), 255);
  assert_int_equal(art_udp_set_multicast_ttl(&h4, -1), ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_ttl(&h4, 256), ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_loop(&h4, 0), 0);
  assert_int_equal(get_int_opt(&h4, IPPROTO_IP, IP_MULTICAST_LOOP), 0);
  art_udp_t *hs[3] = {&h4, &none, NULL};
  int n = 2;
  if (art_udp_init_ex(loop, &h6, AF_INET6) == 0) {
    hs[n++] = &h6;
    assert_int_equal(art_udp_set_ttl(&h6, 33), 0);
    assert_int_equal(get_int_opt(&h6, IPPROTO_IPV6, IPV6_UNICAST_HOPS), 33);
    assert_int_equal(art_udp_set_multicast_ttl(&h6, 3), 0);
    assert_int_equal(get_int_opt(&h6, IPPROTO_IPV6, IPV6_MULTICAST_HOPS), 3);
    assert_int_equal(art_udp_set_multicast_loop(&h6, 1), 0);
    assert_int_equal(get_int_opt(&h6, IPPROTO_IPV6, IPV6_MULTICAST_LOOP), 1);
    assert_int_equal(art_udp_set_multicast_interface(&h6, "::%lo"), 0);
    assert_int_equal(art_udp_set_multicast_interface(&h6, "127.0.0.1"),
                     ART_EINVAL);
    struct sockaddr_in6 any6;
    assert_int_equal(art_ip6_addr("::", 0, &any6), 0);
    assert_int_equal(
        art_udp_bind(&h6, (struct sockaddr *)&any6, ART_UDP_IPV6ONLY), 0);
    assert_int_equal(get_int_opt(&h6, IPPROTO_IPV6, IPV6_V6ONLY), 1);
  }
  close_all(loop, hs, n);
}

ART_TEST(bind_flags) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t a, b, c;
  struct sockaddr_in addr;
  struct sockaddr_storage ss;
  assert_int_equal(art_udp_init(loop, &a), 0);
  assert_int_equal(art_udp_init(loop, &b), 0);
  assert_int_equal(art_udp_init(loop, &c), 0);
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_udp_bind(&a, (struct sockaddr *)&addr, 0x100),
                   ART_EINVAL);
  assert_int_equal(art_udp_bind(&a, (struct sockaddr *)&addr, ART_UDP_IPV6ONLY),
                   ART_EINVAL);
  assert_int_equal(
      art_udp_bind(&a, (struct sockaddr *)&addr, ART_UDP_REUSEPORT), 0);
  addr.sin_port = htons((uint16_t)port_of(&a, &ss));
  assert_int_equal(
      art_udp_bind(&b, (struct sockaddr *)&addr, ART_UDP_REUSEPORT), 0);
  assert_int_equal(art_udp_bind(&c, (struct sockaddr *)&addr, 0),
                   ART_EADDRINUSE);
  assert_int_equal(art_udp_bind(&a, (struct sockaddr *)&addr, 0),
                   ART_EINVAL); /* already bound */
  struct sockaddr_in6 a6;
  assert_int_equal(art_ip6_addr("::1", 0, &a6), 0);
  assert_int_equal(art_udp_bind(&a, (struct sockaddr *)&a6, 0),
                   ART_EAFNOSUPPORT);
  art_udp_t *hs[] = {&a, &b, &c};
  close_all(loop, hs, 3);
}

ART_TEST(open_existing_socket) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t h, bad;
  int fds[2];
  assert_int_equal(art_udp_init(loop, &h), 0);
  assert_int_equal(art_udp_init(loop, &bad), 0);
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(art_udp_open(&bad, fds[0]), ART_ENOTSOCK);
  assert_int_equal(art_udp_open(&bad, -1), ART_EBADF);
  int tcp = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  assert_int_equal(art_udp_open(&bad, tcp), ART_EINVAL);
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  assert_int_equal(art_udp_open(&h, fd), 0);
  assert_true(fcntl(fd, F_GETFL) & O_NONBLOCK);
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  assert_int_equal(art_udp_getsockname(&h, (struct sockaddr *)&ss, &len), 0);
  len = -1;
  assert_int_equal(art_udp_getsockname(&h, (struct sockaddr *)&ss, &len),
                   ART_EINVAL);
  close_two(loop, &h, &bad);
  assert_int_equal(fcntl(fd, F_GETFD), -1); /* closed with the handle */
  close(fds[0]);
  close(fds[1]);
  close(tcp);
}

static void never_alloc(art_udp_t *h, size_t s, art_buf_t *b) {}
static void never_recv(art_udp_t *h, ssize_t n, const art_buf_t *b,
                       const struct sockaddr *a, unsigned f) {}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t h;
  art_udp_send_t req;
  struct sockaddr_in a;
  struct sockaddr_un_like {
    sa_family_t family;
    char path[20];
  } un = {AF_UNIX, "x"};
  art_buf_t b = art_buf_init("x", 1);
  assert_int_equal(art_udp_init(NULL, &h), ART_EINVAL);
  assert_int_equal(art_udp_init(loop, NULL), ART_EINVAL);
  assert_int_equal(art_udp_init_ex(loop, &h, 12345), ART_EINVAL);
  assert_int_equal(art_udp_init(loop, &h), 0);
  assert_int_equal(art_ip4_addr("127.0.0.1", 9, &a), 0);
  assert_int_equal(art_udp_bind(NULL, (struct sockaddr *)&a, 0), ART_EINVAL);
  assert_int_equal(art_udp_bind(&h, NULL, 0), ART_EINVAL);
  assert_int_equal(art_udp_bind(&h, (struct sockaddr *)&un, 0), ART_EINVAL);
  assert_int_equal(art_udp_connect(NULL, (struct sockaddr *)&a), ART_EINVAL);
  assert_int_equal(art_udp_connect(&h, (struct sockaddr *)&un), ART_EINVAL);
  assert_int_equal(art_udp_send(NULL, &h, &b, 1, (struct sockaddr *)&a, NULL),
                   ART_EINVAL);
  assert_int_equal(art_udp_send(&req, NULL, &b, 1, (struct sockaddr *)&a, NULL),
                   ART_EINVAL);
  assert_int_equal(art_udp_send(&req, &h, NULL, 1, (struct sockaddr *)&a, NULL),
                   ART_EINVAL);
  assert_int_equal(
      art_udp_send(&req, &h, &b, 100000, (struct sockaddr *)&a, NULL),
      ART_EINVAL);
  assert_int_equal(art_udp_send(&req, &h, &b, 1, (struct sockaddr *)&un, NULL),
                   ART_EINVAL);
  assert_int_equal(art_udp_send(&req, &h, &b, 1, NULL, NULL), ART_ENOTCONN);
  assert_int_equal(art_udp_try_send(NULL, &b, 1, (struct sockaddr *)&a),
                   ART_EINVAL);
  assert_int_equal(art_udp_try_send_batch(&h, NULL, 3), ART_EINVAL);
  art_udp_msg_t m = {&b, 1, NULL};
  assert_int_equal(art_udp_try_send_batch(&h, &m, 1), ART_ENOTCONN);
  assert_int_equal(art_udp_recv_start(&h, NULL, never_recv), ART_EINVAL);
  assert_int_equal(art_udp_recv_start(&h, never_alloc, NULL), ART_EINVAL);
  assert_int_equal(art_udp_recv_stop(NULL), ART_EINVAL);
  assert_int_equal(art_udp_recv_stop(&h), 0); /* not receiving: fine */
  assert_int_equal(art_udp_set_recv_slot(&h, 0), ART_EINVAL);
  assert_int_equal(art_udp_set_recv_slot(&h, 65537), ART_EINVAL);
  assert_int_equal(art_udp_set_broadcast(NULL, 1), ART_EINVAL);
  assert_int_equal(art_udp_set_ttl(NULL, 1), ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_ttl(NULL, 1), ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_loop(NULL, 1), ART_EINVAL);
  assert_int_equal(art_udp_set_multicast_interface(NULL, NULL), ART_EINVAL);
  assert_int_equal(
      art_udp_set_membership(NULL, "239.1.1.1", NULL, ART_JOIN_GROUP),
      ART_EINVAL);
  assert_int_equal(art_udp_set_source_membership(NULL, "232.1.1.1", NULL,
                                                 "127.0.0.1", ART_JOIN_GROUP),
                   ART_EINVAL);
  assert_int_equal(art_udp_getpeername(NULL, NULL, NULL), ART_EINVAL);
  assert_int_equal(art_udp_open(NULL, 0), ART_EINVAL);
  assert_int_equal(art_udp_set_recv_slot(NULL, 64), ART_EINVAL);
  assert_int_equal(art_udp_get_send_queue_count(NULL), 0);
  assert_int_equal(art_udp_set_membership(&h, NULL, NULL, ART_JOIN_GROUP),
                   ART_EINVAL);
  assert_int_equal(art_udp_getsockname(&h, NULL, NULL), ART_EINVAL);
  assert_int_equal(art_udp_get_send_queue_size(NULL), 0);
  /* A closed handle refuses everything. */
  art_close((art_handle_t *)&h, NULL);
  assert_int_equal(art_udp_bind(&h, (struct sockaddr *)&a, 0), ART_EINVAL);
  assert_int_equal(art_udp_send(&req, &h, &b, 1, (struct sockaddr *)&a, NULL),
                   ART_EINVAL);
  assert_int_equal(art_udp_recv_start(&h, never_alloc, never_recv), ART_EINVAL);
  assert_int_equal(art_udp_set_ttl(&h, 4), ART_EINVAL);
  assert_int_equal(art_close((art_handle_t *)&h, NULL), ART_EINVAL);
  art_run(loop, ART_RUN_DEFAULT);
  assert_int_equal(art_udp_connect(&h, (struct sockaddr *)&a), ART_EINVAL);
  assert_int_equal(art_handle_size(ART_UDP), sizeof(art_udp_t));
}

/* recv start on a handle without a socket binds it to an ephemeral port. */
ART_TEST(recv_start_binds) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t h;
  struct sockaddr_storage ss;
  assert_int_equal(art_udp_init(loop, &h), 0);
  assert_int_equal(art_udp_recv_start(&h, never_alloc, never_recv), 0);
  assert_true(port_of(&h, &ss) > 0);
  assert_int_equal(ss.ss_family, AF_INET);
  assert_true(art_is_active((art_handle_t *)&h));
  assert_int_equal(art_udp_recv_stop(&h), 0);
  assert_false(art_is_active((art_handle_t *)&h));
  art_udp_t *hs[] = {&h};
  close_all(loop, hs, 1);
}

/* An IPv6 socket bound to "::" without ART_UDP_IPV6ONLY also receives IPv4
 * datagrams, from a v4-mapped address; with the flag it does not bind
 * IPv4 at all. */
ART_TEST(dual_stack) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_in6 any6;
  struct sockaddr_in to;
  struct sockaddr_storage bound;
  rx_t *rx = calloc(1, sizeof(*rx));
  assert_int_equal(art_udp_init(loop, &srv), 0);
  assert_int_equal(art_udp_init(loop, &cli), 0);
  srv.data = rx;
  assert_int_equal(art_ip6_addr("::", 0, &any6), 0);
  int r = art_udp_bind(&srv, (struct sockaddr *)&any6, 0);
  if (r == 0) {
    assert_int_equal(art_ip4_addr("127.0.0.1", port_of(&srv, &bound), &to), 0);
    assert_int_equal(art_udp_recv_start(&srv, rx_alloc, rx_recv), 0);
    art_buf_t b = art_buf_init("d0", 2);
    assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to), 2);
    wait_datagrams(loop, rx, 1);
    assert_int_equal(rx->from.ss_family, AF_INET6);
    assert_true(
        IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&rx->from)->sin6_addr));
  }
  close_two(loop, &srv, &cli);
  free(rx);
  if (r != 0)
    skip(); /* no IPv6 here */
}

/* A datagram over 64 KiB cannot be sent: the error comes back, from
 * try_send at once and through the callback of a queued send. */
ART_TEST(oversized_datagram) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  static char big[70000];
  art_udp_send_t req;
  reset_tx();
  assert_int_equal(pair_up(loop, AF_INET, &srv, &cli, &to), 0);
  art_buf_t b = art_buf_init(big, sizeof(big));
  assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to),
                   ART_EMSGSIZE);
  req.data = 0;
  assert_int_equal(
      art_udp_send(&req, &cli, &b, 1, (struct sockaddr *)&to, send_cb), 0);
  want_calls = 1;
  assert_true(run_until(loop, 3000, tx_done, NULL));
  assert_int_equal(tx.status[0], ART_EMSGSIZE);
  close_two(loop, &srv, &cli);
}

/* Node's rule: microtasks queued by a receive callback run before the next
 * datagram's callback, also within one recvmmsg batch. */
static char trace[64];
static void note_micro(art_loop_t *loop, void *arg) {
  strcat(trace, "m");
}

static void trace_recv(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                       const struct sockaddr *addr, unsigned flags) {
  rx_recv(h, nread, buf, addr, flags);
  if (addr != NULL && strlen(trace) < sizeof(trace) - 3) {
    strcat(trace, "r");
    art_queue_microtask(h->loop, note_micro, NULL);
  }
}

ART_TEST(microtasks_between_datagrams) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  struct sockaddr_storage to;
  trace[0] = 0;
  rx_t *rx = pair_up_rx(loop, &srv, &cli, &to);
  rx->len = 8 * 64;
  assert_int_equal(art_udp_set_recv_slot(&srv, 64), 0);
  art_buf_t b = art_buf_init("x", 1);
  for (int i = 0; i < 3; i++)
    assert_int_equal(art_udp_try_send(&cli, &b, 1, (struct sockaddr *)&to), 1);
  assert_int_equal(art_udp_recv_start(&srv, rx_alloc, trace_recv), 0);
  wait_datagrams(loop, rx, 3);
  assert_string_equal(trace, "rmrmrm");
  assert_int_equal(rx->chunks, 3); /* one batch */
  close_two(loop, &srv, &cli);
  free(rx);
}

/* Source-specific multicast on loopback: datagrams of the joined source
 * arrive. Skipped where the sandbox has no multicast on lo. */
ART_TEST(source_specific_multicast) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_udp_t srv, cli;
  rx_t *rx = calloc(1, sizeof(*rx));
  const char *grp = "232.1.42.7";
  group_pair(loop, &srv, &cli, rx);
  assert_int_equal(art_udp_set_source_membership(&srv, grp, NULL, "127.0.0.1",
                                                 ART_JOIN_GROUP),
                   ART_EBADF);
  int port = bind_any(&srv);
  assert_int_equal(art_udp_set_source_membership(&srv, grp, "127.0.0.1", NULL,
                                                 ART_JOIN_GROUP),
                   ART_EINVAL);
  assert_int_equal(art_udp_set_source_membership(&srv, grp, "127.0.0.1", "::1",
                                                 ART_JOIN_GROUP),
                   ART_EINVAL);
  int r = art_udp_set_source_membership(&srv, grp, "127.0.0.1", "127.0.0.1",
                                        ART_JOIN_GROUP);
  int ok = r == 0;
  if (ok) {
    assert_int_equal(art_udp_set_multicast_interface(&cli, "127.0.0.1"), 0);
    r = send_to_group(&srv, &cli, grp, port);
    ok = r == 2;
  }
  if (ok) {
    expect_d0(loop, rx);
    assert_int_equal(art_udp_set_source_membership(
                         &srv, grp, "127.0.0.1", "127.0.0.1", ART_LEAVE_GROUP),
                     0);
  }
  close_two(loop, &srv, &cli);
  free(rx);
  if (!ok) {
    fprintf(stderr, "no source-specific multicast here (%s): skipped\n",
            art_err_name(r));
    skip();
  }
}

/* Two sockets on one port with ART_UDP_REUSEPORT share the traffic: the
 * kernel hashes each sender to one of them. 32 senders all landing on the
 * same socket has a chance of 2^-31. */
ART_TEST(reuseport_spreads_senders) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  enum { SENDERS = 32 };
  art_udp_t srv[2], cli[SENDERS];
  struct sockaddr_in addr;
  struct sockaddr_storage ss;
  rx_t *rx[2] = {calloc(1, sizeof(rx_t)), calloc(1, sizeof(rx_t))};
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(art_udp_init(loop, &srv[i]), 0);
    srv[i].data = rx[i];
    assert_int_equal(
        art_udp_bind(&srv[i], (struct sockaddr *)&addr, ART_UDP_REUSEPORT), 0);
    addr.sin_port = htons((uint16_t)port_of(&srv[i], &ss));
    assert_int_equal(art_udp_recv_start(&srv[i], rx_alloc, rx_recv), 0);
  }
  art_buf_t b = art_buf_init("x", 1);
  for (int i = 0; i < SENDERS; i++) {
    assert_int_equal(art_udp_init(loop, &cli[i]), 0);
    assert_int_equal(art_udp_try_send(&cli[i], &b, 1, (struct sockaddr *)&addr),
                     1);
  }
  for (int tries = 0; tries < 200; tries++) {
    art_run(loop, ART_RUN_NOWAIT);
    if (rx[0]->datagrams + rx[1]->datagrams >= SENDERS)
      break;
    usleep(1000);
  }
  assert_int_equal(rx[0]->datagrams + rx[1]->datagrams, SENDERS);
  assert_true(rx[0]->datagrams > 0);
  assert_true(rx[1]->datagrams > 0);
  art_udp_t *hs[2 + SENDERS] = {&srv[0], &srv[1]};
  for (int i = 0; i < SENDERS; i++)
    hs[2 + i] = &cli[i];
  close_all(loop, hs, 2 + SENDERS);
  free(rx[0]);
  free(rx[1]);
}
