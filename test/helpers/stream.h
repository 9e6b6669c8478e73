/* Helpers shared by the stream, TCP and pipe suites: an echo server on an
 * ephemeral loopback port, heap-allocated peers, a pipe handle on a
 * socketpair, and liveness waits. */
#ifndef ART_TEST_HELPERS_STREAM_H
#define ART_TEST_HELPERS_STREAM_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"

/* A connection the echo server accepted: it writes back what it reads. */
typedef struct {
  art_tcp_t tcp;
  int closed;
} echo_conn_t;

/* A write whose data is owned by the request itself. */
typedef struct {
  art_write_t req;
  char data[];
} owned_write_t;

static int helper_open_conns;

static void helper_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  buf->base = malloc(suggested);
  buf->len = suggested;
}

static void helper_free_close(art_handle_t *h) {
  helper_open_conns--;
  free(h);
}

static void owned_write_done(art_write_t *req, int status) {
  free(req);
}

/* Writes a copy of len bytes at data; the copy is freed when done. */
static __attribute__((unused)) int write_copy(art_stream_t *s, const char *data,
                                              size_t len) {
  owned_write_t *w = malloc(sizeof(*w) + len);
  memcpy(w->data, data, len);
  art_buf_t b = art_buf_init(w->data, len);
  int r = art_write(&w->req, s, &b, 1, owned_write_done);
  if (r < 0)
    free(w);
  return r;
}

static void echo_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0)
    write_copy(s, buf->base, (size_t)n);
  else if (n < 0 && !art_is_closing((art_handle_t *)s))
    art_close((art_handle_t *)s, helper_free_close);
  free(buf->base);
}

static __attribute__((unused)) void echo_connection(art_stream_t *server,
                                                    int status) {
  if (status < 0)
    return;
  art_tcp_t *c = malloc(sizeof(*c));
  assert_int_equal(art_tcp_init(server->loop, c), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)c), 0);
  helper_open_conns++;
  assert_int_equal(art_read_start((art_stream_t *)c, helper_alloc, echo_read),
                   0);
}

/* Binds server to 127.0.0.1:0, listens with cb, returns the address. */
static __attribute__((unused)) struct sockaddr_in
listen_loopback(art_loop_t *loop, art_tcp_t *server, art_connection_cb cb) {
  struct sockaddr_in addr;
  int len = sizeof(addr);
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_tcp_init(loop, server), 0);
  assert_int_equal(art_tcp_bind(server, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_listen((art_stream_t *)server, 1024, cb), 0);
  assert_int_equal(art_tcp_getsockname(server, (struct sockaddr *)&addr, &len),
                   0);
  return addr;
}

static __attribute__((unused)) int flag_set(void *arg) {
  return *(int *)arg != 0;
}

/* A heap-allocated pipe handle on one end of a new socketpair; *peer gets
 * the other end. */
static __attribute__((unused)) art_pipe_t *open_pipe(art_loop_t *loop,
                                                     int *peer) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  art_pipe_t *p = malloc(sizeof(*p));
  assert_non_null(p);
  assert_int_equal(art_pipe_init(loop, p, 0), 0);
  assert_int_equal(art_pipe_open(p, sv[0]), 0);
  *peer = sv[1];
  return p;
}

#endif
