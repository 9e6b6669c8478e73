/* A UDP echo server and client.
 *
 *   udp_echo                     server and client in one loop on 127.0.0.1:
 *                                sends a few datagrams, prints the echoes,
 *                                exits 0 (the smoke test)
 *   udp_echo server [port]       echo server on 0.0.0.0 (port 0: any), runs
 *                                until killed
 *   udp_echo client HOST PORT MSG...  sends each MSG, prints each echo
 *
 * The server answers every datagram with art_udp_send from inside its
 * receive callback; the reply's data lives in a small per-request block
 * freed by the send callback, so the receive buffer can be reused at once.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asyncrt.h>

#define TIMEOUT_MS 3000

static art_loop_t *loop;
static art_udp_t server;
static art_udp_t client;
static art_timer_t deadline;
static char server_buf[65536]; /* one datagram at a time */
static char client_buf[65536];
static int expected; /* echoes the client waits for */
static int received;

/* A reply in flight: the request and a copy of the datagram. */
typedef struct {
  art_udp_send_t req;
  size_t len;
  char data[]; /* len bytes */
} reply_t;

static void alloc_server(art_udp_t *h, size_t suggested, art_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = art_buf_init(server_buf, sizeof(server_buf));
}

static void alloc_client(art_udp_t *h, size_t suggested, art_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = art_buf_init(client_buf, sizeof(client_buf));
}

static void reply_sent(art_udp_send_t *req, int status) {
  if (status < 0)
    fprintf(stderr, "echo send: %s\n", art_strerror(status));
  free(req->data);
}

/* Echo server: send every datagram back to where it came from. */
static void on_server_recv(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                           const struct sockaddr *addr, unsigned flags) {
  (void)flags;
  if (nread < 0) {
    fprintf(stderr, "server recv: %s\n", art_strerror((int)nread));
    return;
  }
  if (addr == NULL)
    return; /* nothing more to read now */
  reply_t *r = malloc(sizeof(*r) + (size_t)nread);
  if (r == NULL)
    return;
  memcpy(r->data, buf->base, (size_t)nread);
  r->len = (size_t)nread;
  r->req.data = r;
  art_buf_t out = art_buf_init(r->data, r->len);
  int err = art_udp_send(&r->req, h, &out, 1, addr, reply_sent);
  if (err < 0) {
    fprintf(stderr, "server send: %s\n", art_strerror(err));
    free(r);
  }
}

static void close_all(void) {
  art_close((art_handle_t *)&client, NULL);
  if (!art_is_closing((art_handle_t *)&server) && server.loop != NULL)
    art_close((art_handle_t *)&server, NULL);
  art_close((art_handle_t *)&deadline, NULL);
}

static void on_client_recv(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                           const struct sockaddr *addr, unsigned flags) {
  (void)h;
  (void)flags;
  if (nread < 0) {
    fprintf(stderr, "client recv: %s\n", art_strerror((int)nread));
    return;
  }
  if (addr == NULL)
    return;
  printf("echo: %.*s\n", (int)nread, buf->base);
  if (++received == expected)
    close_all();
}

static void on_deadline(art_timer_t *t) {
  (void)t;
  fprintf(stderr, "timed out with %d of %d echoes\n", received, expected);
  close_all();
}

/* Sends each message to dest as its own datagram. */
static int send_all(const struct sockaddr *dest, char **msgs, int n) {
  for (int i = 0; i < n; i++) {
    art_buf_t b = art_buf_init(msgs[i], strlen(msgs[i]));
    int r = art_udp_try_send(&client, &b, 1, dest);
    if (r < 0) {
      fprintf(stderr, "client send: %s\n", art_strerror(r));
      return r;
    }
  }
  return 0;
}

static int start_server(const char *ip, int port) {
  struct sockaddr_in addr;
  int err = art_ip4_addr(ip, port, &addr);
  if (!err)
    err = art_udp_init(loop, &server);
  if (!err)
    err = art_udp_bind(&server, (struct sockaddr *)&addr, 0);
  if (!err)
    err = art_udp_recv_start(&server, alloc_server, on_server_recv);
  if (err)
    fprintf(stderr, "server on %s:%d: %s\n", ip, port, art_strerror(err));
  return err;
}

/* Client: connect nothing, send the messages, wait for as many echoes. */
static int run_client(const struct sockaddr *dest, char **msgs, int n) {
  int err = art_udp_init(loop, &client);
  if (!err)
    err = art_udp_recv_start(&client, alloc_client, on_client_recv);
  if (!err)
    err = art_timer_init(loop, &deadline);
  if (!err)
    err = art_timer_start(&deadline, on_deadline, TIMEOUT_MS, 0);
  expected = n;
  if (!err)
    err = send_all(dest, msgs, n);
  if (err) {
    close_all();
    art_run(loop, ART_RUN_DEFAULT);
    return 1;
  }
  art_run(loop, ART_RUN_DEFAULT);
  return received == expected ? 0 : 1;
}

static int self_test(void) {
  static char *msgs[] = {"hello", "from", "libasyncrt", "over", "udp"};
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  if (start_server("127.0.0.1", 0) != 0)
    return 1;
  art_udp_getsockname(&server, (struct sockaddr *)&ss, &len);
  return run_client((struct sockaddr *)&ss, msgs, 5);
}

int main(int argc, char **argv) {
  art_loop_t storage;
  if (art_loop_init(&storage) != 0)
    return 1;
  loop = &storage;
  int rc;
  if (argc == 1) {
    rc = self_test();
  } else if (strcmp(argv[1], "server") == 0) {
    rc = start_server("0.0.0.0", argc > 2 ? atoi(argv[2]) : 0) != 0;
    if (rc == 0) {
      struct sockaddr_storage ss;
      int len = sizeof(ss);
      art_udp_getsockname(&server, (struct sockaddr *)&ss, &len);
      printf("listening on port %d\n",
             ntohs(((struct sockaddr_in *)&ss)->sin_port));
      fflush(stdout);
      art_run(loop, ART_RUN_DEFAULT);
    }
  } else if (strcmp(argv[1], "client") == 0 && argc >= 5) {
    struct sockaddr_in dest;
    if (art_ip4_addr(argv[2], atoi(argv[3]), &dest) != 0) {
      fprintf(stderr, "bad address %s port %s\n", argv[2], argv[3]);
      return 2;
    }
    rc = run_client((struct sockaddr *)&dest, argv + 4, argc - 4);
  } else {
    fprintf(stderr, "usage: udp_echo [server [port] | client host port "
                    "msg...]\n");
    return 2;
  }
  art_loop_close(loop);
  return rc;
}
