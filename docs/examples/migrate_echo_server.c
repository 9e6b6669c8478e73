/* file: docs/examples/migrate_echo_server.c */
#include <asyncrt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct {
  art_tcp_t tcp; /* first: a handle pointer to it is a client_t pointer */
  unsigned long id;
} client_t;

typedef struct {
  art_write_t req;
  art_buf_t buf;
} write_req_t;

static art_loop_t *loop;
static art_tcp_t server;
static art_timer_t stats_timer;
static art_signal_t sigint, sigterm;
static unsigned long connections, bytes_echoed;

static void on_alloc(art_handle_t *handle, size_t suggested, art_buf_t *buf) {
  (void)handle;
  *buf = art_buf_init(malloc(suggested), suggested);
}

static void on_client_closed(art_handle_t *handle) {
  client_t *client = handle->data;
  printf("connection %lu closed\n", client->id);
  fflush(stdout);
  free(client);
}

static void on_written(art_write_t *req, int status) {
  write_req_t *wr = (write_req_t *)req;
  (void)status; /* ART_ECANCELED when the connection closed first */
  free(wr->buf.base);
  free(wr);
}

static void on_read(art_stream_t *stream, ssize_t nread, const art_buf_t *buf);

/* The writes queued for a slow reader fell below the high-water mark. */
static void on_drain(art_stream_t *stream) {
  art_read_start(stream, on_alloc, on_read);
}

static void on_read(art_stream_t *stream, ssize_t nread, const art_buf_t *buf) {
  if (nread > 0) {
    write_req_t *wr = malloc(sizeof(*wr));
    wr->buf = art_buf_init(buf->base, (size_t)nread);
    bytes_echoed += (unsigned long)nread;
    if (art_write(&wr->req, stream, &wr->buf, 1, on_written) != 0) {
      free(wr->buf.base); /* on_written will not run */
      free(wr);
      art_close((art_handle_t *)stream, on_client_closed);
    } else if (art_stream_needs_drain(stream)) {
      art_read_stop(stream); /* until on_drain */
    }
    return;
  }
  if (nread < 0) /* ART_EOF or an error */
    art_close((art_handle_t *)stream, on_client_closed);
  free(buf->base);
}

static void on_connection(art_stream_t *srv, int status) {
  if (status < 0)
    return;
  client_t *client = malloc(sizeof(*client));
  art_tcp_init(loop, &client->tcp);
  client->tcp.data = client;
  if (art_accept(srv, (art_stream_t *)&client->tcp) == 0) {
    client->id = ++connections;
    printf("connection %lu\n", client->id);
    fflush(stdout);
    art_stream_on_drain((art_stream_t *)&client->tcp, on_drain);
    art_read_start((art_stream_t *)&client->tcp, on_alloc, on_read);
  } else {
    art_close((art_handle_t *)&client->tcp, on_client_closed);
  }
}

static void on_stats(art_timer_t *timer) {
  (void)timer;
  fprintf(stderr, "%lu connections, %lu bytes echoed\n", connections,
          bytes_echoed);
}

static void close_walk(art_handle_t *handle, void *arg) {
  (void)arg;
  if (!art_is_closing(handle))
    art_close(handle, handle->data != NULL ? on_client_closed : NULL);
}

static void on_signal(art_signal_t *signal, int signum) {
  (void)signal;
  printf("%s: shutting down\n", signum == SIGINT ? "SIGINT" : "SIGTERM");
  fflush(stdout);
  art_walk(loop, close_walk, NULL);
}

int main(int argc, char **argv) {
  int port = argc > 1 ? atoi(argv[1]) : 7000;
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int namelen = sizeof(name);

  loop = art_default_loop();
  art_tcp_init(loop, &server);
  art_ip4_addr("127.0.0.1", port, &addr);
  int r = art_tcp_bind(&server, (const struct sockaddr *)&addr, 0);
  if (r == 0)
    r = art_listen((art_stream_t *)&server, 128, on_connection);
  if (r != 0) {
    fprintf(stderr, "listen: %s\n", art_strerror(r));
    return 1;
  }
  art_tcp_getsockname(&server, (struct sockaddr *)&name, &namelen);
  printf("listening on 127.0.0.1:%d\n",
         ntohs(((struct sockaddr_in *)&name)->sin_port));
  fflush(stdout);

  art_timer_init(loop, &stats_timer);
  art_timer_start(&stats_timer, on_stats, 5000, 5000);
  art_unref((art_handle_t *)&stats_timer);
  art_signal_init(loop, &sigint);
  art_signal_start(&sigint, on_signal, SIGINT);
  art_signal_init(loop, &sigterm);
  art_signal_start(&sigterm, on_signal, SIGTERM);

  art_run(loop, ART_RUN_DEFAULT);
  printf("bye: %lu connection(s), %lu bytes echoed\n", connections,
         bytes_echoed);
  return art_loop_close(loop) == 0 ? 0 : 1;
}
