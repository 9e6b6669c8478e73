/* immediate_close.js through libasyncrt: net.createServer and net.connect
 * are tcp handles, socket.destroy() and server.close() art_close, and a
 * socket's 'close' event its close callback. */
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>

#define CLIENTS 3

static art_loop_t loop;
static art_tcp_t server, clients[CLIENTS], conns[CLIENTS];
static art_connect_t connects[CLIENTS];
static art_immediate_t first, from_first, from_close;
static const char *names[CLIENTS] = {"A", "B", "C"};
static int connected, accepted;
static char buf[256];

static void say(art_loop_t *l, void *text) {
  (void)l;
  puts(text);
}

static void say_immediate(art_immediate_t *i) {
  puts(i->data);
}

static void on_client_close(art_handle_t *h) {
  static char ticks[CLIENTS][32];
  int k = (int)((art_tcp_t *)h - clients);
  printf("close %s\n", names[k]);
  snprintf(ticks[k], sizeof(ticks[k]), "tick from close %s", names[k]);
  art_next_tick(&loop, say, ticks[k]);
  if (k == CLIENTS - 1) {
    from_close.data = "immediate from close C";
    art_immediate_start(&loop, &from_close, say_immediate);
  }
}

static void on_immediate(art_immediate_t *i) {
  puts("immediate");
  for (int k = 0; k < CLIENTS; k++)
    art_close((art_handle_t *)&clients[k], on_client_close);
  art_close((art_handle_t *)&server, NULL);
  from_first.data = "immediate from immediate";
  art_immediate_start(i->loop, &from_first, say_immediate);
}

static void on_connect(art_connect_t *req, int status) {
  (void)req;
  if (status != 0)
    exit(1);
  if (++connected == CLIENTS) {
    puts("all connected");
    art_immediate_start(&loop, &first, on_immediate);
  }
}

/* The server's side of each connection reads until the client is gone. */
static void alloc(art_handle_t *h, size_t suggested, art_buf_t *b) {
  (void)h;
  (void)suggested;
  *b = art_buf_init(buf, sizeof(buf));
}

static void on_read(art_stream_t *s, ssize_t nread, const art_buf_t *b) {
  (void)b;
  if (nread < 0)
    art_close((art_handle_t *)s, NULL);
}

static void on_connection(art_stream_t *s, int status) {
  if (status != 0 || accepted == CLIENTS)
    exit(1);
  art_tcp_t *conn = &conns[accepted++];
  if (art_tcp_init(&loop, conn) != 0 ||
      art_accept(s, (art_stream_t *)conn) != 0 ||
      art_read_start((art_stream_t *)conn, alloc, on_read) != 0)
    exit(1);
}

int main(void) {
  struct sockaddr_in addr;
  struct sockaddr_storage name;
  int len = sizeof(name);
  if (art_loop_init(&loop) != 0 || art_tcp_init(&loop, &server) != 0 ||
      art_ip4_addr("127.0.0.1", 0, &addr) != 0 ||
      art_tcp_bind(&server, (struct sockaddr *)&addr, 0) != 0 ||
      art_listen((art_stream_t *)&server, 16, on_connection) != 0 ||
      art_tcp_getsockname(&server, (struct sockaddr *)&name, &len) != 0)
    return 1;
  for (int k = 0; k < CLIENTS; k++)
    if (art_tcp_init(&loop, &clients[k]) != 0 ||
        art_tcp_connect(&connects[k], &clients[k], (struct sockaddr *)&name,
                        on_connect) != 0)
      return 1;
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
