/* tcp_echo: an echo server and its client, with backpressure.
 *
 *   tcp_echo server [PORT] [--port-file FILE] [--connections N]
 *       serves on 127.0.0.1:PORT (0: any free port, printed, and written to
 *       FILE when given); exits after N connections ended (default: never)
 *   tcp_echo client HOST PORT [MESSAGES]
 *       sends MESSAGES lines (default 100), checks each echo, exits 0 if all
 *       came back intact
 *   tcp_echo --self-test
 *       both in one process and one loop, 10 clients on an ephemeral port
 *
 * The server stops reading from a client whose replies pile up
 * (art_stream_needs_drain says so after a write) and resumes on the drain
 * callback, so a client that sends without reading cannot make the server
 * buffer without limit.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncrt.h"

/* ---- server ---- */

typedef struct {
  art_tcp_t tcp;
  char buf[65536]; /* read buffer, reused: replies are copies */
} conn_t;

typedef struct {
  art_write_t req;
  char data[]; /* the reply */
} reply_t;

static long connections_left = -1; /* exit after this many; -1: never */
static art_tcp_t server;

static void conn_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  conn_t *c = (conn_t *)h;
  *buf = art_buf_init(c->buf, sizeof(c->buf));
}

static void conn_closed(art_handle_t *h) {
  free(h);
  if (connections_left > 0 && --connections_left == 0)
    art_close((art_handle_t *)&server, NULL);
}

static void reply_done(art_write_t *req, int status) {
  free(req);
}

static void conn_drained(art_stream_t *s);

static void conn_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n < 0) {
    if (!art_is_closing((art_handle_t *)s))
      art_close((art_handle_t *)s, conn_closed);
    return;
  }
  if (n == 0)
    return;
  reply_t *r = malloc(sizeof(*r) + (size_t)n);
  if (r == NULL) {
    art_close((art_handle_t *)s, conn_closed);
    return;
  }
  memcpy(r->data, buf->base, (size_t)n);
  art_buf_t out = art_buf_init(r->data, (size_t)n);
  int err = art_write(&r->req, s, &out, 1, reply_done);
  if (err < 0) {
    free(r);
    art_close((art_handle_t *)s, conn_closed);
  } else if (art_stream_needs_drain(s)) {
    art_read_stop(s); /* backpressure: wait for the replies to drain */
  }
}

static void conn_drained(art_stream_t *s) {
  art_read_start(s, conn_alloc, conn_read);
}

static void on_connection(art_stream_t *srv, int status) {
  if (status < 0) {
    fprintf(stderr, "accept: %s\n", art_strerror(status));
    return;
  }
  conn_t *c = malloc(sizeof(*c));
  if (c == NULL || art_tcp_init(srv->loop, &c->tcp) != 0) {
    free(c);
    return;
  }
  if (art_accept(srv, (art_stream_t *)&c->tcp) != 0) {
    art_close((art_handle_t *)&c->tcp, conn_closed);
    return;
  }
  art_tcp_nodelay(&c->tcp, 1);
  art_stream_on_drain((art_stream_t *)&c->tcp, conn_drained);
  art_read_start((art_stream_t *)&c->tcp, conn_alloc, conn_read);
}

/* Listens on 127.0.0.1:port; returns the port actually bound, or -1. */
static int start_server(art_loop_t *loop, int port) {
  struct sockaddr_in addr;
  int len = sizeof(addr), err;
  art_ip4_addr("127.0.0.1", port, &addr);
  art_tcp_init(loop, &server);
  if ((err = art_tcp_bind(&server, (struct sockaddr *)&addr, 0)) != 0 ||
      (err = art_listen((art_stream_t *)&server, 128, on_connection)) != 0) {
    fprintf(stderr, "listen: %s\n", art_strerror(err));
    art_close((art_handle_t *)&server, NULL);
    return -1;
  }
  art_tcp_getsockname(&server, (struct sockaddr *)&addr, &len);
  return ntohs(addr.sin_port);
}

/* ---- client ---- */

typedef struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
  char out[64];     /* the line being sent */
  char in[65536];   /* read buffer */
  size_t got;       /* bytes of the current echo received */
  long sent, total; /* lines sent, lines to send */
  int id;           /* client number, part of each line */
  int ok;           /* every echo matched */
} client_t;

static int clients_running;

static void client_closed(art_handle_t *h) {
  clients_running--;
}

static void client_send(client_t *c) {
  int n =
      snprintf(c->out, sizeof(c->out), "client %d line %ld\n", c->id, c->sent);
  art_buf_t b = art_buf_init(c->out, (size_t)n);
  c->got = 0;
  c->sent++;
  if (art_write(&c->write, (art_stream_t *)&c->tcp, &b, 1, NULL) < 0)
    art_close((art_handle_t *)&c->tcp, client_closed);
}

static void client_alloc(art_handle_t *h, size_t n, art_buf_t *buf) {
  client_t *c = h->data;
  *buf = art_buf_init(c->in + c->got, sizeof(c->in) - c->got);
}

static void client_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  client_t *c = s->data;
  if (n < 0) {
    c->ok = 0; /* the server went away before every echo came back */
    art_close((art_handle_t *)s, client_closed);
    return;
  }
  c->got += (size_t)n;
  size_t want = strlen(c->out);
  if (c->got < want)
    return;
  if (c->got != want || memcmp(c->in, c->out, want) != 0)
    c->ok = 0;
  if (c->ok && c->sent < c->total)
    client_send(c);
  else
    art_close((art_handle_t *)s, client_closed);
}

static void client_connected(art_connect_t *req, int status) {
  client_t *c = req->handle->data;
  if (status < 0) {
    fprintf(stderr, "connect: %s\n", art_strerror(status));
    c->ok = 0;
    art_close((art_handle_t *)req->handle, client_closed);
    return;
  }
  art_read_start(req->handle, client_alloc, client_read);
  client_send(c);
}

static int start_client(art_loop_t *loop, client_t *c, const char *host,
                        int port, long messages, int id) {
  struct sockaddr_in addr;
  memset(c, 0, sizeof(*c));
  c->total = messages;
  c->id = id;
  c->ok = 1;
  if (art_ip4_addr(host, port, &addr) != 0) {
    fprintf(stderr, "bad address %s:%d\n", host, port);
    return -1;
  }
  art_tcp_init(loop, &c->tcp);
  c->tcp.data = c;
  clients_running++;
  art_tcp_nodelay(&c->tcp, 1);
  return art_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&addr,
                         client_connected);
}

/* ---- modes ---- */

static int run_server(art_loop_t *loop, int argc, char **argv) {
  int port = argc > 2 && argv[2][0] != '-' ? atoi(argv[2]) : 0;
  const char *port_file = NULL;
  for (int i = 2; i < argc - 1; i++) {
    if (strcmp(argv[i], "--port-file") == 0)
      port_file = argv[i + 1];
    if (strcmp(argv[i], "--connections") == 0)
      connections_left = atol(argv[i + 1]);
  }
  port = start_server(loop, port);
  if (port < 0)
    return 1;
  printf("listening on 127.0.0.1:%d\n", port);
  fflush(stdout);
  if (port_file != NULL) {
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", port_file);
    FILE *f = fopen(tmp, "w");
    if (f == NULL || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 ||
        rename(tmp, port_file) != 0)
      return 1;
  }
  art_run(loop, ART_RUN_DEFAULT);
  return 0;
}

static int run_client(art_loop_t *loop, int argc, char **argv) {
  static client_t c;
  if (argc < 4)
    return 2;
  long messages = argc > 4 ? atol(argv[4]) : 100;
  if (start_client(loop, &c, argv[2], atoi(argv[3]), messages, 0) != 0)
    return 1;
  art_run(loop, ART_RUN_DEFAULT);
  printf("%ld lines echoed%s\n", c.sent, c.ok ? "" : " (MISMATCH)");
  return c.ok && c.sent == messages ? 0 : 1;
}

static int run_self_test(art_loop_t *loop) {
  enum { CLIENTS = 10, MESSAGES = 100 };
  static client_t c[CLIENTS];
  int port = start_server(loop, 0);
  if (port < 0)
    return 1;
  connections_left = CLIENTS;
  for (int i = 0; i < CLIENTS; i++)
    start_client(loop, &c[i], "127.0.0.1", port, MESSAGES, i);
  art_run(loop, ART_RUN_DEFAULT);
  int ok = 1;
  for (int i = 0; i < CLIENTS; i++)
    ok &= c[i].ok && c[i].sent == MESSAGES;
  printf("self-test: %d clients x %d lines echoed: %s\n", CLIENTS, MESSAGES,
         ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

int main(int argc, char **argv) {
  art_loop_t loop;
  int r = 2;
  if (art_loop_init(&loop) != 0)
    return 1;
  if (argc >= 2 && strcmp(argv[1], "server") == 0)
    r = run_server(&loop, argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "client") == 0)
    r = run_client(&loop, argc, argv);
  else if (argc >= 2 && strcmp(argv[1], "--self-test") == 0)
    r = run_self_test(&loop);
  if (r == 2)
    fprintf(stderr, "usage: tcp_echo server [PORT] [--port-file FILE] "
                    "[--connections N]\n"
                    "       tcp_echo client HOST PORT [MESSAGES]\n"
                    "       tcp_echo --self-test\n");
  art_run(&loop, ART_RUN_DEFAULT);
  art_loop_close(&loop);
  return r;
}
