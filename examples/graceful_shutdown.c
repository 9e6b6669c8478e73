/* Graceful shutdown of a TCP echo server, Node's pattern:
 *
 *   process.on('SIGTERM', () => {
 *     server.close(() => process.exit(0)); // stop accepting, wait for
 *   });                                     // open connections to finish
 *
 *   graceful_shutdown [port]     echo server on 127.0.0.1 (port 0: any; the
 *                                port is printed). SIGTERM or SIGINT stops
 *                                accepting; connections already open are
 *                                served until their clients close them; then
 *                                every handle is closed and it exits 0.
 *   graceful_shutdown --self-test   the server plus a client in the same
 *                                loop: the client connects, sends SIGTERM to
 *                                its own process, checks that new connections
 *                                are refused while its open one is still
 *                                echoed, then closes it; exits 0 if all held.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <asyncrt.h>

static art_loop_t *loop;
static art_tcp_t server;
static art_signal_t sigterm, sigint;
static int open_connections;
static int shutting_down;

/* One accepted connection. */
typedef struct {
  art_tcp_t tcp;
  char buf[65536];
} conn_t;

/* An echo in flight: its request and a copy of the data. */
typedef struct {
  art_write_t req;
  char data[];
} echo_t;

static void conn_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  conn_t *c = h->data;
  *buf = art_buf_init(c->buf, sizeof(c->buf));
}

static void conn_closed(art_handle_t *h) {
  free(h->data);
  if (--open_connections == 0 && shutting_down)
    printf("all connections closed\n");
}

static void echo_done(art_write_t *req, int status) {
  free(req);
}

static void conn_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0) {
    echo_t *e = malloc(sizeof(*e) + (size_t)n);
    if (e == NULL)
      return;
    memcpy(e->data, buf->base, (size_t)n);
    art_buf_t out = art_buf_init(e->data, (size_t)n);
    if (art_write(&e->req, s, &out, 1, echo_done) < 0)
      free(e);
  } else if (n < 0) { /* the client is done (EOF) or gone */
    art_close((art_handle_t *)s, conn_closed);
  }
}

static void on_connection(art_stream_t *srv, int status) {
  if (status < 0)
    return;
  conn_t *c = malloc(sizeof(*c));
  if (c == NULL)
    return;
  art_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  open_connections++;
  if (art_accept(srv, (art_stream_t *)&c->tcp) == 0)
    art_read_start((art_stream_t *)&c->tcp, conn_alloc, conn_read);
  else
    art_close((art_handle_t *)&c->tcp, conn_closed);
}

/* SIGTERM or SIGINT: stop accepting and stop watching signals; the loop
 * ends by itself when the last connection has closed. */
static void on_signal(art_signal_t *h, int signum) {
  printf("received %s, closing the server (%d open connections)\n",
         signum == SIGTERM ? "SIGTERM" : "SIGINT", open_connections);
  fflush(stdout);
  shutting_down = 1;
  art_close((art_handle_t *)&server, NULL);
  art_close((art_handle_t *)&sigterm, NULL);
  art_close((art_handle_t *)&sigint, NULL);
}

static int start_server(int port) {
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int len = sizeof(name);
  art_ip4_addr("127.0.0.1", port, &addr);
  art_tcp_init(loop, &server);
  int err = art_tcp_bind(&server, (struct sockaddr *)&addr, 0);
  if (err == 0)
    err = art_listen((art_stream_t *)&server, 128, on_connection);
  if (err == 0)
    err = art_tcp_getsockname(&server, (struct sockaddr *)&name, &len);
  if (err) {
    fprintf(stderr, "server: %s\n", art_strerror(err));
    return -1;
  }
  art_signal_init(loop, &sigterm);
  art_signal_init(loop, &sigint);
  art_signal_start(&sigterm, on_signal, SIGTERM);
  art_signal_start(&sigint, on_signal, SIGINT);
  int bound = ntohs(((struct sockaddr_in *)&name)->sin_port);
  printf("listening on port %d\n", bound);
  fflush(stdout);
  return bound;
}

/* ---- the self-test client ---- */

static art_tcp_t client, late;
static art_connect_t connect_req, late_req;
static art_write_t client_write;
static art_timer_t pause_timer;
static char client_buf[256];
static size_t client_got;
static int port, refused, echoes;

static void client_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(client_buf + client_got, sizeof(client_buf) - client_got);
}

static void client_send(const char *text) {
  art_buf_t b = art_buf_init((char *)text, strlen(text));
  art_write(&client_write, (art_stream_t *)&client, &b, 1, NULL);
}

static void late_connected(art_connect_t *req, int status) {
  refused = status == ART_ECONNREFUSED;
  printf("new connection after SIGTERM: %s\n",
         status == 0 ? "accepted" : art_err_name(status));
  art_close((art_handle_t *)&late, NULL);
  client_send("world\n"); /* the open connection is still served */
}

/* Some time after the signal: try a new connection. */
static void after_pause(art_timer_t *t) {
  struct sockaddr_in addr;
  art_ip4_addr("127.0.0.1", port, &addr);
  art_tcp_init(loop, &late);
  art_tcp_connect(&late_req, &late, (struct sockaddr *)&addr, late_connected);
  art_close((art_handle_t *)t, NULL);
}

static void client_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n < 0) {
    art_close((art_handle_t *)s, NULL);
    return;
  }
  client_got += (size_t)n;
  if (client_got == 6 && memcmp(client_buf, "hello\n", 6) == 0) {
    echoes++;
    printf("echo 1 received; sending SIGTERM to myself\n");
    fflush(stdout);
    kill(getpid(), SIGTERM);
    art_timer_init(loop, &pause_timer);
    art_timer_start(&pause_timer, after_pause, 50, 0);
  } else if (client_got == 12 && memcmp(client_buf + 6, "world\n", 6) == 0) {
    echoes++;
    printf("echo 2 received on the open connection; closing it\n");
    art_close((art_handle_t *)s, NULL); /* the server sees EOF */
  }
}

static void client_connected(art_connect_t *req, int status) {
  if (status < 0) {
    fprintf(stderr, "connect: %s\n", art_strerror(status));
    art_close((art_handle_t *)&client, NULL);
    return;
  }
  art_read_start((art_stream_t *)&client, client_alloc, client_read);
  client_send("hello\n");
}

static void start_client(void) {
  struct sockaddr_in addr;
  art_ip4_addr("127.0.0.1", port, &addr);
  art_tcp_init(loop, &client);
  art_tcp_connect(&connect_req, &client, (struct sockaddr *)&addr,
                  client_connected);
}

int main(int argc, char **argv) {
  int self_test = argc > 1 && strcmp(argv[1], "--self-test") == 0;
  loop = art_default_loop();
  port = start_server(argc > 1 && !self_test ? atoi(argv[1]) : 0);
  if (port < 0)
    return 1;
  if (self_test)
    start_client();
  art_run(loop, ART_RUN_DEFAULT);
  int err = art_loop_close(loop);
  printf("loop closed: %s\n", err ? art_err_name(err) : "ok");
  if (self_test && (echoes != 2 || !refused))
    return 1;
  return err == 0 ? 0 : 1;
}
