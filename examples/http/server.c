/* server: the libasyncrt HTTP/1.1 example server.
 *
 *   server [PORT] [--host ADDR] [--root DIR] [--log] [options]
 *
 * One loop serves every connection. It listens on 127.0.0.1 unless told
 * otherwise; port 0 picks a free port. The first line printed says where it
 * listens ("listening on http://127.0.0.1:3000"), followed by curl commands
 * to try each route. SIGTERM or SIGINT stop it gracefully: no new
 * connections, requests in flight finish (within --shutdown-timeout), every
 * handle is closed, and the process exits 0 (1 if pool work still runs
 * just after the deadline: it is abandoned rather than waited for).
 * With --drain-delay the listener first stays open that long, answering
 * /readyz with 503, so a load balancer polling it stops sending traffic
 * before connections are refused.
 *
 * Under a service manager (docs/deploy.md): it adopts the socket systemd
 * passes (LISTEN_FDS) instead of binding, tells NOTIFY_SOCKET READY=1 once
 * it serves and STOPPING=1 when a signal starts the drain, and sends
 * WATCHDOG=1 at half of WATCHDOG_USEC. /healthz and /readyz answer the
 * liveness and readiness probes.
 *
 * This file: options, the listener, the connection limit, the per-client
 * rate limiter, the access log and shutdown. conn.c runs connections,
 * routes.c and file_routes.c answer requests.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <semaphore.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "metrics.h"
#include "server.h"

static const char USAGE[] =
    "usage: server [PORT] [options]\n"
    "  PORT                    port to listen on (default 3000; 0: any free)\n"
    "  --host ADDR             address to bind (default 127.0.0.1)\n"
    "  --root DIR              folder served by /api/file (default .)\n"
    "  --report-file PATH      SIGUSR2 writes the diagnostic report there\n"
    "                          (default: stderr)\n"
    "  --log                   one access log line per request on stdout\n"
    "  --request-timeout MS    time to receive a request, else 408 (10000)\n"
    "  --idle-timeout MS       keep-alive idle time before closing (5000)\n"
    "  --shutdown-timeout MS   time in-flight requests get at exit (5000)\n"
    "  --drain-delay MS        after SIGTERM, keep accepting this long with\n"
    "                          /readyz answering 503, then stop (0)\n"
    "  --send-timeout MS       a response that makes no write progress for\n"
    "                          this long is cut, the connection closed "
    "(30000)\n"
    "  --rate-limit N          requests per client per window, 0: off (0)\n"
    "  --rate-window MS        rate-limit window (1000)\n"
    "  --max-conns N           open connections; past it, 503 (10000)\n"
    "  --max-body BYTES        larger request bodies get 413 (1048576)\n"
    "  --count-allocs          count the library's allocations (/api/stats)\n"
    "  --no-openat2            resolve /api/file names component by component\n"
    "                          even where openat2 exists (to test that path)\n"
    "  --workers N             serve with N event loops (1; at most 256)\n"
    "  --cluster MODE          how the workers share the port: threads (one\n"
    "                          process, a loop per thread, each with its own\n"
    "                          SO_REUSEPORT listener; the default),\n"
    "                          reuseport (worker processes, the kernel\n"
    "                          balances) or roundrobin (worker processes, the\n"
    "                          primary deals each connection to the next);\n"
    "                          SIGHUP replaces worker processes one by one\n"
    "Started by systemd with a socket unit (LISTEN_FDS), it serves the one\n"
    "TCP socket passed and ignores PORT and --host. GET /healthz is 200 while\n"
    "the process runs; GET /readyz is 200, and 503 once SIGTERM came.\n";

/* ------------------------------------------------------------------------ */
/* Options.                                                                 */

static int parse_number(const char *s, uint64_t max, uint64_t *out) {
  char *end;
  unsigned long long v;
  if (s == NULL || *s < '0' || *s > '9')
    return -1;
  v = strtoull(s, &end, 10);
  if (*end != '\0' || v > max)
    return -1;
  *out = v;
  return 0;
}

/* Options that take a number: name, where it goes, its largest value. */
static int number_option(config_t *cfg, const char *name, const char *value) {
  uint64_t v, *dst = NULL, max = UINT64_MAX / 2;
  unsigned *udst = NULL;
  if (strcmp(name, "--request-timeout") == 0)
    dst = &cfg->request_timeout;
  else if (strcmp(name, "--idle-timeout") == 0)
    dst = &cfg->idle_timeout;
  else if (strcmp(name, "--shutdown-timeout") == 0)
    dst = &cfg->shutdown_timeout;
  else if (strcmp(name, "--drain-delay") == 0)
    dst = &cfg->drain_delay;
  else if (strcmp(name, "--send-timeout") == 0)
    dst = &cfg->send_timeout;
  else if (strcmp(name, "--rate-window") == 0)
    dst = &cfg->rate_window;
  else if (strcmp(name, "--max-body") == 0)
    dst = &cfg->max_body;
  else if (strcmp(name, "--rate-limit") == 0)
    udst = &cfg->rate_limit;
  else if (strcmp(name, "--max-conns") == 0)
    udst = &cfg->max_conns;
  else
    return -1;
  if (udst != NULL)
    max = 1u << 30;
  if (parse_number(value, max, &v) != 0 ||
      (dst != NULL && v == 0 && dst != &cfg->max_body &&
       dst != &cfg->drain_delay))
    return -1;
  if (udst != NULL)
    *udst = (unsigned)v;
  else
    *dst = v;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* --count-allocs: every allocation the library makes, counted, so a test */
/* can check that small requests allocate nothing in steady state.        */

static long long lib_allocs = -1; /* -1: not counting */

static void *counting_malloc(size_t n) {
  __atomic_fetch_add(&lib_allocs, 1, __ATOMIC_RELAXED);
  return malloc(n);
}

static void *counting_realloc(void *p, size_t n) {
  __atomic_fetch_add(&lib_allocs, 1, __ATOMIC_RELAXED);
  return realloc(p, n);
}

static void *counting_calloc(size_t count, size_t n) {
  __atomic_fetch_add(&lib_allocs, 1, __ATOMIC_RELAXED);
  return calloc(count, n);
}

long long server_lib_allocs(void) {
  return __atomic_load_n(&lib_allocs, __ATOMIC_RELAXED);
}

/* Installs the counting allocator before the library allocates anything
 * (pool threads may allocate too, hence the atomic counter). */
static int count_allocs_start(void) {
  lib_allocs = 0;
  return art_replace_allocator(counting_malloc, counting_realloc,
                               counting_calloc, free);
}

/* Returns 0 to run, 1 after printing the help, -1 on a bad argument. */
static int parse_args(config_t *cfg, int argc, char **argv) {
  int i;
  uint64_t port;
  for (i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      fputs(USAGE, stdout);
      return 1;
    } else if (strcmp(a, "--log") == 0) {
      cfg->log = 1;
    } else if (strcmp(a, "--count-allocs") == 0) {
      cfg->count_allocs = 1;
    } else if (strcmp(a, "--no-openat2") == 0) {
      cfg->no_openat2 = 1;
    } else if (strcmp(a, "--host") == 0 && i + 1 < argc) {
      cfg->host = argv[++i];
    } else if (strcmp(a, "--root") == 0 && i + 1 < argc) {
      cfg->root = argv[++i];
    } else if (strcmp(a, "--report-file") == 0 && i + 1 < argc) {
      cfg->report_file = argv[++i];
    } else if (strcmp(a, "--workers") == 0 && i + 1 < argc) {
      uint64_t n;
      if (parse_number(argv[++i], 256, &n) != 0 || n == 0)
        return -1;
      cfg->workers = (unsigned)n;
    } else if (strcmp(a, "--cluster") == 0 && i + 1 < argc) {
      const char *m = argv[++i];
      if (strcmp(m, "threads") == 0)
        cfg->cluster = CLUSTER_THREADS;
      else if (strcmp(m, "reuseport") == 0)
        cfg->cluster = CLUSTER_REUSEPORT;
      else if (strcmp(m, "roundrobin") == 0)
        cfg->cluster = CLUSTER_ROUNDROBIN;
      else
        return -1;
    } else if (strncmp(a, "--", 2) == 0) {
      if (i + 1 >= argc || number_option(cfg, a, argv[i + 1]) != 0)
        return -1;
      i++;
    } else if (parse_number(a, 65535, &port) == 0) {
      cfg->port = (int)port;
    } else {
      return -1;
    }
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Rate limiting: a fixed window per client address, in a fixed table.      */

static size_t addr_hash(const uint8_t addr[16]) {
  uint64_t h = 1469598103934665603ull;
  int i;
  for (i = 0; i < 16; i++)
    h = (h ^ addr[i]) * 1099511628211ull;
  return (size_t)(h ^ (h >> 32));
}

/* Finds the slot of addr among the few it may hash to, or takes the one
 * whose window is oldest (a stale address forgets its count early, never
 * a busy one within its window unless the table is crowded). */
static rate_slot_t *rate_slot(server_t *srv, const uint8_t addr[16]) {
  size_t h = addr_hash(addr), i;
  rate_slot_t *victim = NULL;
  for (i = 0; i < 8; i++) {
    rate_slot_t *s = &srv->rate[(h + i) & (RATE_SLOTS - 1)];
    if (s->used && memcmp(s->addr, addr, 16) == 0)
      return s;
    if (victim == NULL || !s->used ||
        (victim->used && s->window_start < victim->window_start))
      victim = s;
  }
  memcpy(victim->addr, addr, 16);
  victim->used = 1;
  victim->count = 0;
  victim->window_start = art_now(srv->loop);
  return victim;
}

/* Counts a request of addr. Returns 0 if allowed, -1 if over the limit,
 * with *retry_after_ms until the window ends. */
int server_rate_check(server_t *srv, const uint8_t addr[16],
                      uint64_t *retry_after_ms) {
  uint64_t now = art_now(srv->loop);
  rate_slot_t *s;
  if (srv->cfg.rate_limit == 0)
    return 0;
  s = rate_slot(srv, addr);
  if (now - s->window_start >= srv->cfg.rate_window) {
    s->window_start = now;
    s->count = 0;
  }
  if (++s->count <= srv->cfg.rate_limit)
    return 0;
  *retry_after_ms = s->window_start + srv->cfg.rate_window - now;
  return -1;
}

/* ------------------------------------------------------------------------ */
/* Accounting.                                                              */

/* Flushes stdout after a log line. A write error (the reader of a pipe
 * went away, a full disk) stops the access log instead of the server:
 * SIGPIPE is ignored (see main), so the error comes back here as EPIPE. */
static void log_flush(server_t *srv) {
  if (fflush(stdout) == 0 && !ferror(stdout))
    return;
  srv->cfg.log = 0;
  clearerr(stdout);
}

/* A response was completely written: count it and log it. */
void server_request_done(conn_t *c) {
  static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 255, 255};
  server_t *srv = c->srv;
  const http_request_t *req = &c->parser.req;
  char addr[INET6_ADDRSTRLEN];
  srv->requests++;
  metrics_request_done(c);
  if (!srv->cfg.log)
    return;
  if (memcmp(c->addr, v4mapped, 12) == 0)
    inet_ntop(AF_INET, c->addr + 12, addr, sizeof(addr));
  else
    inet_ntop(AF_INET6, c->addr, addr, sizeof(addr));
  printf("%s \"%s %.*s\" %d %llu %.3fms req=%llu\n", addr,
         req->target != NULL ? http_method_name(req->method) : "-",
         req->target != NULL ? (int)req->target_len : 1,
         req->target != NULL ? req->target : "-", c->status,
         (unsigned long long)c->bytes_out,
         (double)(art_hrtime() - c->arrival_ns) / 1e6,
         (unsigned long long)request_id_current(srv));
  log_flush(srv);
}

/* ------------------------------------------------------------------------ */
/* Shutdown.                                                                */

/* Tells the service manager (NOTIFY_SOCKET) the server's state; without
 * one this does nothing. A failure is reported and serving goes on: the
 * manager's own timeout judges a server that never says READY=1. */
static void notify(const char *state) {
  int err = art_sd_notify(state);
  if (err != 0)
    fprintf(stderr, "server: NOTIFY_SOCKET: %s\n", art_strerror(err));
}

/* The last connection is gone: close what is left, and art_run returns. */
static void shutdown_finish(server_t *srv) {
  art_close((art_handle_t *)&srv->shutdown_timer, NULL);
  art_close((art_handle_t *)&srv->drain_timer, NULL);
  art_close((art_handle_t *)&srv->watchdog, NULL);
  art_close((art_handle_t *)&srv->sigterm, NULL);
  art_close((art_handle_t *)&srv->sigint, NULL);
  art_close((art_handle_t *)&srv->sigusr2, NULL);
  printf("server: stopped after %llu requests\n",
         (unsigned long long)srv->requests);
  fflush(stdout);
}

void server_conn_released(server_t *srv) {
  if (srv->shutting_down == 1 && srv->nconns == 0) {
    srv->shutting_down = 2;
    shutdown_finish(srv);
  }
}

/* The grace after closing everything ran out and connections are still
 * held: by pool work that is running (a request canceled while queued
 * comes back at once). A pool thread cannot be interrupted, and the loop
 * would wait for it without bound; the deadline is kept by exiting
 * without it, status 1 (no longer a clean exit). */
static void on_shutdown_abandon(art_timer_t *t) {
  server_t *srv = t->data;
  printf("server: %u connections still held by pool work %llu ms after the "
         "deadline; exiting without waiting for it\n",
         srv->nconns, (unsigned long long)SHUTDOWN_GRACE_MS);
  fflush(stdout);
  _exit(1);
}

/* Closes every connection (canceling their queued work, timers and file
 * reads) and gives what is still running SHUTDOWN_GRACE_MS to return. */
static void close_all_bounded(server_t *srv) {
  conn_t *c;
  for (c = srv->conns; c != NULL; c = c->next)
    conn_close(c);
  if (srv->shutting_down == 1)
    art_timer_start(&srv->shutdown_timer, on_shutdown_abandon,
                    SHUTDOWN_GRACE_MS, 0);
}

static void on_shutdown_deadline(art_timer_t *t) {
  server_t *srv = t->data;
  printf("server: deadline passed, closing %u connections\n", srv->nconns);
  fflush(stdout);
  close_all_bounded(srv);
}

/* Idle keep-alive connections close now; busy ones after their response,
 * which says Connection: close (as does every response from now on, see
 * on_head). A connection accepted but not yet read from is not idle: its
 * first request may be in the socket already, unread because the signal
 * was dispatched first in the same poll, and closing it would reset the
 * client. It is answered (and closed) like a busy one, or closed by its
 * idle timeout or the shutdown deadline. */
static void close_idle(server_t *srv) {
  conn_t *c, *next;
  for (c = srv->conns; c != NULL; c = next) {
    next = c->next;
    if (!(c->flags & (C_BUSY | C_FRESH)) && !http_parser_partial(&c->parser))
      conn_close(c);
    else
      c->flags |= C_CLOSE_AFTER;
  }
}

/* Stops accepting and gives the connections left --shutdown-timeout to
 * finish; the signal handles no longer keep the loop running. */
static void shutdown_begin(server_t *srv, const char *why) {
  srv->shutting_down = 1;
  printf("server: %s, finishing %u connections\n", why, srv->nconns);
  fflush(stdout);
  art_timer_stop(&srv->drain_timer);
  if (srv->cluster == NULL)
    art_close((art_handle_t *)&srv->listener, NULL);
  art_timer_start(&srv->shutdown_timer, on_shutdown_deadline,
                  srv->cfg.shutdown_timeout, 0);
  art_unref((art_handle_t *)&srv->sigterm);
  art_unref((art_handle_t *)&srv->sigint);
  close_idle(srv);
  if (srv->nconns == 0 && srv->shutting_down == 1) {
    srv->shutting_down = 2;
    shutdown_finish(srv);
  }
}

static void on_drain_delay(art_timer_t *t) {
  shutdown_begin(t->data, "drain delay over");
}

/* The first SIGTERM or SIGINT starts the drain: /readyz answers 503 and
 * the manager hears STOPPING=1. With --drain-delay the listener stays open
 * that long (new connections are served, each response closing its
 * connection); then, or at once without it, shutdown_begin. A second
 * signal skips the delay, a third the wait for requests in flight. */
static void on_signal(art_signal_t *h, int signum) {
  server_t *srv = h->data;
  const char *name = signum == SIGINT ? "SIGINT" : "SIGTERM";
  if (srv->shutting_down) {
    close_all_bounded(srv);
    return;
  }
  if (srv->draining) {
    shutdown_begin(srv, name);
    return;
  }
  srv->draining = 1;
  if (srv->worker == 0) /* every worker gets the signal: one says it */
    notify("STOPPING=1\nSTATUS=draining");
  if (srv->cfg.drain_delay == 0) {
    shutdown_begin(srv, name);
    return;
  }
  printf("server: %s, draining: /readyz answers 503, the listener closes in "
         "%llu ms\n",
         name, (unsigned long long)srv->cfg.drain_delay);
  fflush(stdout);
  close_idle(srv);
  art_timer_start(&srv->drain_timer, on_drain_delay, srv->cfg.drain_delay, 0);
}

/* ------------------------------------------------------------------------ */
/* Listening.                                                               */

static void on_unaccepted_close(art_handle_t *h) {
  conn_put(h->data);
}

/* A connection is waiting: take(from, stream) accepts it into a new
 * connection; over the limit, it gets a 503. Only when memory runs out is
 * it left waiting (in the backlog, or with the cluster's primary). */
static void take_connection(server_t *srv, int (*take)(void *, art_tcp_t *),
                            void *from) {
  conn_t *c;
  if ((c = conn_get(srv)) == NULL)
    return;
  c->flags = srv->nconns >= srv->cfg.max_conns ? C_REJECT : 0;
  if (art_tcp_init(srv->loop, &c->tcp) != 0) {
    conn_put(c);
    return;
  }
  c->tcp.data = c;
  if (take(from, &c->tcp) != 0) {
    art_close((art_handle_t *)&c->tcp, on_unaccepted_close);
    return;
  }
  srv->accepted++;
  if (c->flags & C_REJECT)
    srv->rejected++;
  conn_start(c);
}

static int take_from_listener(void *from, art_tcp_t *tcp) {
  return art_accept(from, (art_stream_t *)tcp);
}

static void on_connection(art_stream_t *server, int status) {
  server_t *srv = server->data;
  if (status == 0 && !srv->shutting_down)
    take_connection(srv, take_from_listener, server);
}

/* A worker process of --cluster reuseport or roundrobin. */
static int take_from_cluster(void *from, art_tcp_t *tcp) {
  return art_cluster_accept(from, tcp);
}

/* Also while draining: the cluster then hands over the connections still
 * queued for this worker, which a refusal would reset. */
static void on_cluster_connection(art_cluster_worker_t *w, int status) {
  if (status == 0)
    take_connection(w->data, take_from_cluster, w);
}

static void on_cluster_ready(art_cluster_worker_t *w) {
  server_t *srv = w->data;
  srv->worker = w->slot;
}

/* The primary asked for a drain (SIGTERM, SIGINT or SIGHUP reached it):
 * the same drain as a signal's; the listener is the cluster's, which
 * closes it once its queue is handed over. */
static void on_cluster_drain(art_cluster_worker_t *w) {
  server_t *srv = w->data;
  srv->draining = 1;
  if (!srv->shutting_down)
    shutdown_begin(srv, "drain asked by the primary");
}

/* Serves the connections the cluster hands this worker process. */
static int cluster_listen(server_t *srv) {
  art_cluster_worker_options_t o = {0};
  o.on_connection = on_cluster_connection;
  o.on_ready = on_cluster_ready;
  o.on_drain = on_cluster_drain;
  int err = art_cluster_worker_start(srv->loop, srv->cluster, &o);
  srv->cluster->data = srv; /* the start clears the struct */
  return err;
}

/* Sets base_url and bound_port from an address the server listens on. */
static int name_address(server_t *srv, const struct sockaddr_storage *ss) {
  char name[ART_IP_NAME_MAX];
  if (ss->ss_family != AF_INET && ss->ss_family != AF_INET6)
    return ART_EAFNOSUPPORT;
  art_ip_name((const struct sockaddr *)ss, name, sizeof(name));
  srv->bound_port = ntohs(ss->ss_family == AF_INET
                              ? ((const struct sockaddr_in *)ss)->sin_port
                              : ((const struct sockaddr_in6 *)ss)->sin6_port);
  snprintf(srv->base_url, sizeof(srv->base_url),
           ss->ss_family == AF_INET6 ? "http://[%s]:%d" : "http://%s:%d", name,
           srv->bound_port);
  return 0;
}

/* Names where the listener is, from its own address. */
static int describe_listener(server_t *srv) {
  struct sockaddr_storage ss;
  int err, len = sizeof(ss);
  if ((err = art_tcp_getsockname(&srv->listener, (struct sockaddr *)&ss,
                                 &len)) != 0)
    return err;
  return name_address(srv, &ss);
}

/* Binds host:port (IPv4 or IPv6); with several workers each binds its
 * own socket to the port with SO_REUSEPORT, and the kernel spreads the
 * connections over them. */
static int bind_listener(server_t *srv) {
  struct sockaddr_storage ss;
  const char *host = srv->cfg.host;
  if (art_ip4_addr(host, srv->cfg.port, (struct sockaddr_in *)&ss) != 0 &&
      art_ip6_addr(host, srv->cfg.port, (struct sockaddr_in6 *)&ss) != 0)
    return ART_EINVAL;
  return art_tcp_bind(&srv->listener, (struct sockaddr *)&ss,
                      srv->nworkers > 1 ? ART_TCP_REUSEPORT : 0);
}

/* Adopts the socket a service manager passed, if any: 1 when adopted, 0
 * when none was passed, or an error (more than one socket, or a
 * malformed LISTEN_FDS: a misconfigured unit, better refused at start). */
static int adopt_listener(server_t *srv) {
  art_listen_fd_t fds[2];
  int err, n = art_listen_fds(fds, 2);
  if (n == 0)
    return 0;
  if (n != 1) {
    fprintf(stderr, "server: LISTEN_FDS: %s\n",
            n > 1 ? "expected one socket" : art_strerror(n));
    for (int i = 0; i < n; i++)
      close(fds[i].fd);
    return n > 1 ? ART_EINVAL : n;
  }
  if ((err = art_tcp_open(&srv->listener, fds[0].fd)) != 0) {
    close(fds[0].fd);
    return err;
  }
  return 1;
}

int server_listen(server_t *srv) {
  int err;
  if (srv->cluster != NULL)
    return cluster_listen(srv);
  if ((err = art_tcp_init(srv->loop, &srv->listener)) != 0)
    return err;
  srv->listener.data = srv;
  /* A worker after the first, when the service manager passed the socket:
   * it serves the same socket (a copy of the first worker's fd). */
  if (srv->worker > 0 && srv->inherit_fd >= 0) {
    if ((err = art_tcp_open(&srv->listener, srv->inherit_fd)) != 0) {
      close(srv->inherit_fd);
      return err;
    }
    srv->activated = 1;
    if ((err = describe_listener(srv)) != 0)
      return err;
    return art_listen((art_stream_t *)&srv->listener, 4096, on_connection);
  }
  if ((err = adopt_listener(srv)) < 0) {
    srv->activated = -1; /* reported */
    return err;
  }
  srv->activated = err == 1;
  if ((!srv->activated && (err = bind_listener(srv)) != 0) ||
      (err = describe_listener(srv)) != 0)
    return err;
  if ((err = art_fileno((art_handle_t *)&srv->listener, &srv->listen_fd)) != 0)
    return err;
  return art_listen((art_stream_t *)&srv->listener, 4096, on_connection);
}

static void print_banner(server_t *srv) {
  const char *u = srv->base_url;
  printf("listening on %s (pid %d, %s backend, serving %s%s)\n", u,
         art_getpid(), art_backend_name(srv->loop), srv->cfg.root,
         srv->activated ? ", socket passed by the service manager" : "");
  printf("try:\n"
         "  curl %s/api/fast\n"
         "  curl '%s/api/slow?ms=200'\n"
         "  curl %s/api/heavy\n"
         "  curl '%s/api/file?name=README.md'\n"
         "  curl --data-binary @README.md %s/api/echo\n"
         "  curl %s/api/stats\n"
         "  curl %s/api/lifecycle\n"
         "  curl %s/metrics\n"
         "  curl %s/healthz %s/readyz\n"
         "  open %s/ in a browser: the live dashboard\n"
         "Ctrl-C (SIGINT) or SIGTERM stops it gracefully.\n",
         u, u, u, u, u, u, u, u, u, u, u);
  fflush(stdout);
}

/* SIGUSR2: the loop's diagnostic report on stderr, as Node's
 * --report-on-signal. Unreferenced: it never keeps the server running. */
static void on_report_signal(art_signal_t *h, int signum) {
  server_t *srv = h->data;
  size_t len = 0;
  char *text = route_report_text(srv->loop, &len);
  (void)signum;
  if (text == NULL) {
    fprintf(stderr, "server: no memory for the report\n");
    return;
  }
  if (srv->cfg.report_file == NULL) {
    fwrite(text, 1, len, stderr);
    fflush(stderr);
  } else {
    /* Written whole under a temporary name, then renamed: a reader never
     * sees half a report. */
    char tmp[4096];
    int fd = -1;
    if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", srv->cfg.report_file) <
        sizeof(tmp))
      fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int ok = fd >= 0 && write(fd, text, len) == (ssize_t)len;
    if (fd >= 0 && close(fd) != 0)
      ok = 0;
    if (!ok || rename(tmp, srv->cfg.report_file) != 0)
      fprintf(stderr, "server: could not write %s\n", srv->cfg.report_file);
  }
  free(text);
}

static int report_signal_start(server_t *srv) {
  int err = art_signal_init(srv->loop, &srv->sigusr2);
  if (err != 0)
    return err;
  srv->sigusr2.data = srv;
  art_unref((art_handle_t *)&srv->sigusr2);
  return art_signal_start(&srv->sigusr2, on_report_signal, SIGUSR2);
}

void server_config_defaults(config_t *cfg) {
  cfg->host = "127.0.0.1";
  cfg->port = 3000;
  cfg->root = ".";
  cfg->request_timeout = 10000;
  cfg->idle_timeout = 5000;
  cfg->shutdown_timeout = 5000;
  cfg->send_timeout = 30000;
  cfg->rate_window = 1000;
  cfg->max_conns = 10000;
  cfg->max_body = 1 << 20;
  cfg->workers = 1;
  cfg->cluster = CLUSTER_THREADS;
}

static void ignore_signal(art_signal_t *h, int signum) {
  (void)h;
  (void)signum;
}

int server_signals_start(server_t *srv) {
  int err;
  if ((err = art_timer_init(srv->loop, &srv->shutdown_timer)) != 0 ||
      (err = art_timer_init(srv->loop, &srv->drain_timer)) != 0 ||
      (err = art_timer_init(srv->loop, &srv->watchdog)) != 0 ||
      (err = art_signal_init(srv->loop, &srv->sigterm)) != 0 ||
      (err = art_signal_init(srv->loop, &srv->sigint)) != 0)
    return err;
  srv->shutdown_timer.data = srv->drain_timer.data = srv;
  srv->sigterm.data = srv->sigint.data = srv;
  if (srv->cluster != NULL) {
    /* A worker process drains when its primary says so: a Ctrl-C or a
     * service manager's SIGTERM to the whole group reaches the primary
     * too, which stops the workers in order. Only SIGKILL ends one
     * alone (and the primary starts another). */
    if ((err = art_signal_start(&srv->sigterm, ignore_signal, SIGTERM)) != 0 ||
        (err = art_signal_start(&srv->sigint, ignore_signal, SIGINT)) != 0)
      return err;
    art_unref((art_handle_t *)&srv->sigterm);
    art_unref((art_handle_t *)&srv->sigint);
    return 0;
  }
  if ((err = art_signal_start(&srv->sigterm, on_signal, SIGTERM)) != 0 ||
      (err = art_signal_start(&srv->sigint, on_signal, SIGINT)) != 0)
    return err;
  /* With several worker threads the first writes its loop's report. */
  return srv->worker == 0 ? report_signal_start(srv) : 0;
}

static void close_handle(art_handle_t *h, void *arg) {
  if (!art_is_closing(h))
    art_close(h, NULL);
}

/* Serving: the service manager hears READY=1 (with where, as its status
 * line) and gets its watchdog pings from now on. */
static void ready(server_t *srv) {
  char state[160];
  int err = art_sd_watchdog_start(&srv->watchdog, NULL);
  if (err != 0)
    fprintf(stderr, "server: WATCHDOG_USEC: %s\n", art_strerror(err));
  snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %s", srv->base_url);
  notify(state);
}

/* Opens the served folder, then the metrics, signals and listener on
 * srv->loop. On an error, says what failed, closes what it made (running
 * the loop until their close callbacks ran) and returns it. */
static int serve_open(server_t *srv) {
  int err;
  srv->root_fd = open(srv->cfg.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (srv->root_fd < 0) {
    fprintf(stderr, "server: cannot open --root %s: %s\n", srv->cfg.root,
            strerror(errno));
    return -1;
  }
  srv->start_ns = art_hrtime();
  art_loop_configure(srv->loop, ART_LOOP_MEASURE_PHASES, 1); /* /api/stats */
  if ((err = metrics_start(srv)) != 0 ||
      (err = server_signals_start(srv)) != 0 ||
      (err = server_listen(srv)) != 0) {
    if (srv->activated > 0)
      fprintf(stderr,
              "server: cannot listen on the socket passed by the "
              "service manager: %s\n",
              art_strerror(err));
    else if (srv->activated == 0)
      fprintf(stderr, "server: cannot listen on %s port %d: %s\n",
              srv->cfg.host, srv->cfg.port, art_strerror(err));
    art_walk(srv->loop, close_handle, NULL);
    art_run(srv->loop, ART_RUN_DEFAULT);
    metrics_free(srv);
    close(srv->root_fd);
    return err;
  }
  return 0;
}

/* After the loop closed: what serve_open made outside it. */
static void serve_close(server_t *srv) {
  close(srv->root_fd);
  metrics_free(srv); /* the delay monitor recorded into it until now */
}

static int serve(server_t *srv) {
  int err;
  if ((err = art_loop_init(&srv->loop_storage)) != 0)
    return err;
  srv->loop = &srv->loop_storage;
  if ((err = serve_open(srv)) != 0) {
    art_loop_close(srv->loop);
    return err;
  }
  if (srv->cluster == NULL) { /* a worker process: its primary says both */
    print_banner(srv);
    ready(srv);
  }
  art_run(srv->loop, ART_RUN_DEFAULT);
  err = art_loop_close(srv->loop);
  serve_close(srv);
  return err;
}

/* ------------------------------------------------------------------------ */
/* --workers N --cluster threads: N worker loops in this process, each a    */
/* whole server with its own listener on the same port (SO_REUSEPORT).      */
/* Each worker watches SIGTERM and SIGINT itself and drains on its own;     */
/* the process ends when every worker has.                                  */

typedef struct {
  server_t *srv;
  sem_t started; /* posted once the worker listens, or failed to */
} worker_start_t;

static int worker_entry(art_worker_t *w, art_loop_t *loop, void *arg) {
  worker_start_t *ws = arg;
  server_t *srv = ws->srv;
  (void)w;
  srv->loop = loop;
  srv->start_err = serve_open(srv);
  if (srv->start_err == 0 && srv->worker == 0) {
    int err = art_sd_watchdog_start(&srv->watchdog, NULL);
    if (err != 0)
      fprintf(stderr, "server: WATCHDOG_USEC: %s\n", art_strerror(err));
  }
  sem_post(&ws->started);
  return srv->start_err == 0 ? 0 : 1;
}

/* Starts srv's worker and waits until it listens: 0, or the error. *started
 * says whether a thread was started (it must then be joined). */
static int start_worker(art_worker_t *w, worker_start_t *ws, server_t *srv,
                        int *started) {
  char name[16];
  art_worker_options_t opts = {0};
  snprintf(name, sizeof(name), "http-%u", srv->worker);
  opts.name = name;
  ws->srv = srv;
  int err = art_worker_start(w, &opts, worker_entry, ws);
  *started = err == 0;
  if (err != 0) {
    fprintf(stderr, "server: cannot start worker %u: %s\n", srv->worker,
            art_strerror(err));
    return err;
  }
  while (sem_wait(&ws->started) == -1 && errno == EINTR)
    ;
  return srv->start_err;
}

/* Worker i's server: the first's settings, on the port the first listens
 * on (port 0 picked one), or on a copy of the socket the service manager
 * passed to the first. */
static server_t *worker_server(server_t *first, unsigned i, int *err) {
  server_t *srv = calloc(1, sizeof(*srv));
  if (srv == NULL) {
    *err = ART_ENOMEM;
    return NULL;
  }
  srv->cfg = first->cfg;
  srv->cfg.port = first->bound_port;
  srv->worker = i;
  srv->nworkers = first->nworkers;
  srv->inherit_fd = -1;
  if (first->activated > 0 &&
      (srv->inherit_fd = fcntl(first->listen_fd, F_DUPFD_CLOEXEC, 3)) < 0) {
    *err = -errno;
    free(srv);
    return NULL;
  }
  return srv;
}

static int serve_threads(server_t *first) {
  unsigned n = first->cfg.workers, started = 0;
  server_t **srvs = calloc(n, sizeof(*srvs));
  art_worker_t *workers = calloc(n, sizeof(*workers));
  worker_start_t *ws = calloc(n, sizeof(*ws));
  int err = 0, failed = 0;
  if (srvs == NULL || workers == NULL || ws == NULL) {
    free(srvs);
    free(workers);
    free(ws);
    return ART_ENOMEM;
  }
  for (unsigned i = 0; i < n; i++)
    sem_init(&ws[i].started, 0, 0);
  srvs[0] = first;
  for (unsigned i = 0; i < n && err == 0; i++) {
    int thread = 0;
    if (i > 0 && (srvs[i] = worker_server(first, i, &err)) == NULL)
      break;
    err = start_worker(&workers[i], &ws[i], srvs[i], &thread);
    started += (unsigned)thread;
  }
  if (err == 0) {
    char state[160];
    printf("%u workers (threads), each with its own listener on the port\n", n);
    print_banner(first);
    snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %s, %u workers",
             first->base_url, n);
    notify(state);
  } else {
    for (unsigned i = 0; i < started; i++)
      art_worker_stop(&workers[i]);
  }
  for (unsigned i = 0; i < started; i++) {
    int status = 0;
    if (art_worker_join(&workers[i], &status) != 0 || status != 0)
      failed = 1;
    if (srvs[i]->start_err == 0)
      serve_close(srvs[i]);
  }
  for (unsigned i = 0; i < n; i++) {
    sem_destroy(&ws[i].started);
    if (i > 0 && srvs[i] != NULL) {
      conn_free_all(srvs[i]);
      free(srvs[i]);
    }
  }
  free(srvs);
  free(workers);
  free(ws);
  return err != 0 ? err : failed ? -1 : 0;
}

/* ------------------------------------------------------------------------ */
/* --cluster reuseport|roundrobin: worker processes (art_cluster). The      */
/* primary starts --workers copies of this program, which see themselves    */
/* as workers (art_cluster_is_worker) and serve what the cluster hands      */
/* them; SIGHUP replaces them one by one, SIGTERM and SIGINT drain them.    */

/* A worker process: one server on its own loop, fed by the cluster. */
static int serve_cluster_worker(server_t *srv) {
  art_cluster_worker_t cw;
  memset(&cw, 0, sizeof(cw));
  srv->cluster = &cw;
  return serve(srv);
}

typedef struct {
  server_t *srv;
  art_cluster_t cluster;
  art_timer_t watchdog;
  unsigned online; /* workers that came online, replacements included */
} primary_t;

static void on_worker_online(art_cluster_t *c, unsigned slot, int pid) {
  primary_t *p = c->data;
  printf("primary: worker %u online (pid %d)\n", slot, pid);
  if (++p->online == c->workers) { /* the first full set: serving */
    char state[160];
    snprintf(state, sizeof(state), "READY=1\nSTATUS=serving %s, %u workers",
             p->srv->base_url, c->workers);
    notify(state);
  }
  fflush(stdout);
}

static void on_worker_exit(art_cluster_t *c, unsigned slot, int pid,
                           int64_t status, int term_signal,
                           int64_t restart_ms) {
  (void)c;
  if (restart_ms >= 0)
    printf("primary: worker %u (pid %d) ended (status %lld, signal %d); "
           "another starts in %lld ms\n",
           slot, pid, (long long)status, term_signal, (long long)restart_ms);
  else
    printf("primary: worker %u (pid %d) ended (status %lld, signal %d)\n", slot,
           pid, (long long)status, term_signal);
  fflush(stdout);
}

static int serve_cluster_primary(server_t *srv, char **argv) {
  struct sockaddr_storage ss;
  primary_t p;
  art_loop_t loop;
  art_cluster_options_t o = {0};
  int err, len = sizeof(ss);
  memset(&p, 0, sizeof(p));
  p.srv = srv;
  if (art_ip4_addr(srv->cfg.host, srv->cfg.port, (struct sockaddr_in *)&ss) !=
          0 &&
      art_ip6_addr(srv->cfg.host, srv->cfg.port, (struct sockaddr_in6 *)&ss) !=
          0)
    return ART_EINVAL;
  o.workers = srv->cfg.workers;
  o.mode = srv->cfg.cluster == CLUSTER_REUSEPORT ? ART_CLUSTER_REUSEPORT
                                                 : ART_CLUSTER_ROUNDROBIN;
  o.address = (const struct sockaddr *)&ss;
  o.backlog = 4096;
  o.args = argv; /* the workers parse the same arguments */
  o.flags = ART_CLUSTER_SIGNALS;
  o.grace_ms = srv->cfg.shutdown_timeout + srv->cfg.drain_delay + 1000;
  o.on_online = on_worker_online;
  o.on_exit = on_worker_exit;
  if ((err = art_loop_init(&loop)) != 0)
    return err;
  if ((err = art_cluster_start(&loop, &p.cluster, &o)) != 0) {
    fprintf(stderr, "server: cannot start the workers on %s port %d: %s\n",
            srv->cfg.host, srv->cfg.port, art_strerror(err));
    art_loop_close(&loop);
    return err;
  }
  p.cluster.data = &p; /* the start clears the struct */
  srv->loop = &loop;
  if (art_cluster_getsockname(&p.cluster, (struct sockaddr *)&ss, &len) == 0)
    name_address(srv, &ss);
  printf("%u workers (processes, %s), primary pid %d\n", o.workers,
         o.mode == ART_CLUSTER_REUSEPORT ? "reuseport" : "roundrobin",
         art_getpid());
  print_banner(srv);
  if (art_timer_init(&loop, &p.watchdog) == 0 &&
      (err = art_sd_watchdog_start(&p.watchdog, NULL)) != 0)
    fprintf(stderr, "server: WATCHDOG_USEC: %s\n", art_strerror(err));
  art_unref((art_handle_t *)&p.watchdog);
  /* Runs until SIGTERM or SIGINT drained every worker. The watchdog's
   * timer is unreferenced: it must not keep the primary alive. */
  art_run(&loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&p.watchdog, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  printf("primary: stopped, %llu workers restarted\n",
         (unsigned long long)p.cluster.restarts);
  fflush(stdout);
  srv->loop = NULL;
  return art_loop_close(&loop);
}

int main(int argc, char **argv) {
  server_t *srv = calloc(1, sizeof(*srv));
  int err;
  if (srv == NULL)
    return 1;
  /* Sockets are written with MSG_NOSIGNAL already; stdout may be a pipe
   * whose reader has gone (server --log | head -1): its writes must fail
   * with EPIPE, not kill the process. */
  signal(SIGPIPE, SIG_IGN);
  server_config_defaults(&srv->cfg);
  if ((err = parse_args(&srv->cfg, argc, argv)) != 0) {
    if (err < 0)
      fputs(USAGE, stderr);
    free(srv);
    return err < 0 ? 2 : 0;
  }
  if (srv->cfg.count_allocs && count_allocs_start() != 0) {
    free(srv);
    return 1;
  }
  srv->inherit_fd = -1;
  srv->nworkers = srv->cfg.workers;
  int role = art_cluster_is_worker();
  if (role < 0) {
    fprintf(stderr, "server: %s is set but not valid: refusing to run\n",
            ART_CLUSTER_ENV);
    err = role;
  } else if (role == 1) {
    err = serve_cluster_worker(srv);
  } else if (srv->cfg.cluster != CLUSTER_THREADS) {
    if (getenv("LISTEN_FDS") != NULL) {
      fprintf(stderr,
              "server: --cluster %s serves its own listeners: use "
              "--cluster threads under socket activation\n",
              srv->cfg.cluster == CLUSTER_REUSEPORT ? "reuseport"
                                                    : "roundrobin");
      err = ART_EINVAL;
    } else {
      err = serve_cluster_primary(srv, argv);
    }
  } else {
    err = srv->cfg.workers > 1 ? serve_threads(srv) : serve(srv);
  }
  conn_free_all(srv);
  free(srv);
  return err == 0 ? 0 : 1;
}
