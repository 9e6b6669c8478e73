/* A tiny HTTP-ish server run as a cluster of worker processes.
 *
 *   cluster_server [--workers N] [--mode roundrobin|reuseport]
 *                  [--port P] [--port-file FILE]
 *
 * The primary listens on 127.0.0.1:P (0: any free port), starts N copies
 * of this program as workers and restarts them if they die; once all are
 * ready it prints the address and writes the port to FILE. Each worker answers
 * every request with which worker it is:
 *
 *   $ curl -s localhost:8000/
 *   worker 1 pid 4242
 *
 * SIGHUP replaces the workers one by one with no connection refused;
 * SIGTERM or Ctrl-C drains them and exits (the workers ignore the SIGINT
 * a terminal sends the whole process group). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asyncrt.h"

/* ---- The worker. ---- */

typedef struct {
  art_tcp_t tcp;
  art_write_t req;
  char out[160];
  char in[1024];
  int answered;
} conn_t;

static unsigned my_slot;

static void conn_closed(art_handle_t *h) {
  free(h->data);
}

static void written(art_write_t *req, int status) {
  conn_t *k = req->data;
  (void)status;
  art_close((art_handle_t *)&k->tcp, conn_closed);
}

static void on_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  conn_t *k = h->data;
  (void)suggested;
  *buf = art_buf_init(k->in, sizeof(k->in));
}

/* The first bytes of a request get the answer; the connection then ends
 * (HTTP/1.0 style: Connection: close). */
static void on_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  conn_t *k = s->data;
  (void)buf;
  if (n == 0)
    return;
  if (n < 0 || k->answered) {
    if (!art_is_closing((art_handle_t *)s) && !k->answered)
      art_close((art_handle_t *)s, conn_closed);
    return;
  }
  char body[64];
  int blen = snprintf(body, sizeof(body), "worker %u pid %d\n", my_slot,
                      (int)getpid());
  int len = snprintf(k->out, sizeof(k->out),
                     "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                     blen, body);
  art_buf_t b = art_buf_init(k->out, (size_t)len);
  k->answered = 1;
  art_read_stop(s);
  k->req.data = k;
  if (art_write(&k->req, s, &b, 1, written) != 0)
    art_close((art_handle_t *)s, conn_closed);
}

static void on_connection(art_cluster_worker_t *w, int status) {
  if (status != 0)
    return;
  conn_t *k = calloc(1, sizeof(*k));
  if (k == NULL)
    return;
  art_tcp_init(w->loop, &k->tcp);
  k->tcp.data = k;
  if (art_cluster_accept(w, &k->tcp) != 0 ||
      art_read_start((art_stream_t *)&k->tcp, on_alloc, on_read) != 0)
    art_close((art_handle_t *)&k->tcp, conn_closed);
}

static void on_ready(art_cluster_worker_t *w) {
  my_slot = w->slot;
}

/* Ctrl-C in a terminal signals the whole process group: the workers
 * leave SIGINT to the primary, which drains them. */
static art_signal_t sigint;

static void ignore_signal(art_signal_t *h, int signum) {
  (void)h, (void)signum;
}

/* The drain: the connections finish and the loop ends with them, once
 * the program's own handles are closed too. */
static void on_drain(art_cluster_worker_t *w) {
  (void)w;
  art_close((art_handle_t *)&sigint, NULL);
}

static int worker_main(void) {
  art_loop_t loop;
  art_cluster_worker_t w;
  art_cluster_worker_options_t o = {0};
  o.on_connection = on_connection;
  o.on_ready = on_ready;
  o.on_drain = on_drain;
  if (art_loop_init(&loop) != 0)
    return 1;
  int err = art_cluster_worker_start(&loop, &w, &o);
  if (!err && (err = art_signal_init(&loop, &sigint)) == 0) {
    art_signal_start(&sigint, ignore_signal, SIGINT);
    art_unref((art_handle_t *)&sigint);
  }
  if (err) {
    fprintf(stderr, "worker: %s\n", art_strerror(err));
    art_cluster_worker_close(&w);
    art_run(&loop, ART_RUN_DEFAULT);
    art_loop_close(&loop);
    return 1;
  }
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}

/* ---- The primary. ---- */

static int write_port(const art_cluster_t *c, const char *path) {
  struct sockaddr_in a;
  int len = sizeof(a);
  if (art_cluster_getsockname(c, (struct sockaddr *)&a, &len) != 0)
    return -1;
  printf("listening on 127.0.0.1:%u\n", ntohs(a.sin_port));
  fflush(stdout);
  if (path == NULL)
    return 0;
  char tmp[4096];
  snprintf(tmp, sizeof(tmp), "%s.tmp", path);
  FILE *f = fopen(tmp, "we");
  if (f == NULL)
    return -1;
  fprintf(f, "%u\n", ntohs(a.sin_port));
  if (fclose(f) != 0)
    return -1;
  return rename(tmp, path); /* readers never see half a number */
}

static const char *port_file;
static unsigned online;

/* The address is announced (stdout, --port-file) once every worker is
 * ready, so a client started then finds them all serving. */
static void on_online(art_cluster_t *c, unsigned slot, int pid) {
  fprintf(stderr, "primary: worker %u (pid %d) ready\n", slot, pid);
  if (++online == c->workers && write_port(c, port_file) != 0)
    art_cluster_stop(c, NULL);
}

static void on_exit_cb(art_cluster_t *c, unsigned slot, int pid, int64_t status,
                       int sig, int64_t restart_ms) {
  (void)c;
  fprintf(stderr, "primary: worker %u (pid %d) ended: status %lld signal %d%s",
          slot, pid, (long long)status, sig,
          restart_ms >= 0 ? "" : ", not restarted\n");
  if (restart_ms >= 0)
    fprintf(stderr, ", restart in %lld ms\n", (long long)restart_ms);
}

static int usage(void) {
  fprintf(stderr, "usage: cluster_server [--workers N] "
                  "[--mode roundrobin|reuseport] [--port P] "
                  "[--port-file FILE]\n");
  return 2;
}

int main(int argc, char **argv) {
  int role = art_cluster_is_worker();
  if (role < 0) {
    fprintf(stderr, "%s is set but not valid: refusing to run\n",
            ART_CLUSTER_ENV);
    return 2;
  }
  if (role == 1)
    return worker_main();

  unsigned workers = 2;
  int port = 8000;
  art_cluster_mode mode = ART_CLUSTER_ROUNDROBIN;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc)
      workers = (unsigned)strtoul(argv[++i], NULL, 10);
    else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc)
      port = atoi(argv[++i]);
    else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
      port_file = argv[++i];
    else if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
      i++;
      if (strcmp(argv[i], "reuseport") == 0)
        mode = ART_CLUSTER_REUSEPORT;
      else if (strcmp(argv[i], "roundrobin") != 0)
        return usage();
    } else
      return usage();
  }
  if (port < 0 || port > 65535)
    return usage();

  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons((uint16_t)port);
  art_cluster_options_t o = {0};
  o.workers = workers;
  o.mode = mode;
  o.address = (const struct sockaddr *)&addr;
  o.args = argv; /* the workers get our arguments, and ignore them */
  o.flags = ART_CLUSTER_SIGNALS;
  o.on_online = on_online;
  o.on_exit = on_exit_cb;

  art_loop_t loop;
  art_cluster_t cluster;
  if (art_loop_init(&loop) != 0)
    return 1;
  int err = art_cluster_start(&loop, &cluster, &o);
  if (err) {
    fprintf(stderr, "cluster: %s\n", art_strerror(err));
    art_loop_close(&loop);
    return 1;
  }
  /* Runs until SIGTERM or SIGINT has drained every worker. */
  art_run(&loop, ART_RUN_DEFAULT);
  fprintf(stderr, "primary: stopped, %llu restarts\n",
          (unsigned long long)cluster.restarts);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
