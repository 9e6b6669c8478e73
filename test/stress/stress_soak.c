/* stress_soak: many TCP connections through one echo server, every byte
 * checked.
 *
 *   stress_soak [CONNS [BYTES [SECONDS]]]   (defaults 10000, 32768, 60)
 *
 * The server runs its own loop on a second thread; the client loop, on the
 * main thread, opens CONNS connections (at most MAX_CONNECTING at a time,
 * so the listen backlog never overflows into SYN retries) and keeps every
 * one open until all are connected: the server then holds CONNS
 * connections at once. Only then does each connection send BYTES bytes of
 * its own pseudo-random stream (seeded by its index), half-close, and read
 * the echo back to the server's FIN. Each received byte is compared with
 * the stream where it lands, so a byte lost, duplicated or reordered fails
 * the run, and a connection whose echo ends early counts as lost.
 *
 * Figures: bytes moved, the running hash of the verified bytes, RSS before,
 * with every connection open, at the peak (VmHWM) and after, the bytes the
 * library itself held at its peak (counted through its allocator hook; the
 * test's own buffers, client_chunk_buffers_kib at most, are most of the
 * RSS peak), the fd limit, errors by name. Every block the library
 * allocated must be freed once both loops are closed.
 *
 * Under the syscall-failure shim (failshim.so in LD_PRELOAD), the shim's
 * window is open while the connections run; injected EINTR and EAGAIN must
 * never reach a callback, and a connection may end with a reported error
 * instead of verified data, but never with wrong data. */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>

#include "asyncrt.h"
#include "stress.h"

enum { MAX_CONNECTING = 512, CHUNK = 16384, READ_BUF = 65536 };

/* ------------------------------------------------------------------------ */
/* The library's own memory, through its allocator hook: blocks and bytes  */
/* live, and the peak of bytes (the test's buffers are not in it).         */

static atomic_long lib_blocks, lib_bytes, lib_peak;

static void lib_count(void *p, long sign) {
  if (p == NULL)
    return;
  long size = (long)malloc_usable_size(p) * sign;
  long now = atomic_fetch_add(&lib_bytes, size) + size;
  atomic_fetch_add(&lib_blocks, sign);
  long peak = atomic_load(&lib_peak);
  while (now > peak && !atomic_compare_exchange_weak(&lib_peak, &peak, now))
    ;
}

static void *lib_malloc(size_t n) {
  void *p = malloc(n);
  lib_count(p, 1);
  return p;
}

static void *lib_calloc(size_t n, size_t size) {
  void *p = calloc(n, size);
  lib_count(p, 1);
  return p;
}

static void lib_free(void *p) {
  lib_count(p, -1);
  free(p);
}

static void *lib_realloc(void *old, size_t n) {
  long was = old ? (long)malloc_usable_size(old) : 0;
  void *p = realloc(old, n);
  if (p == NULL)
    return NULL;
  if (old != NULL) { /* the same block, resized */
    atomic_fetch_sub(&lib_blocks, 1);
    atomic_fetch_sub(&lib_bytes, was);
  }
  lib_count(p, 1);
  return p;
}

/* ------------------------------------------------------------------------ */
/* Errors by name, per side.                                                */

typedef struct {
  int code[32];
  unsigned long count[32];
  int n;
} err_table_t;

static void err_count(err_table_t *t, int err) {
  for (int i = 0; i < t->n; i++)
    if (t->code[i] == err) {
      t->count[i]++;
      return;
    }
  if (t->n < 32) {
    t->code[t->n] = err;
    t->count[t->n++] = 1;
  }
}

static unsigned long err_total(const err_table_t *t) {
  unsigned long sum = 0;
  for (int i = 0; i < t->n; i++)
    sum += t->count[i];
  return sum;
}

static unsigned long err_of(const err_table_t *t, int err) {
  for (int i = 0; i < t->n; i++)
    if (t->code[i] == err)
      return t->count[i];
  return 0;
}

static void err_print(const char *key, const err_table_t *t) {
  char line[512];
  int len = 0;
  line[0] = '\0';
  for (int i = 0; i < t->n && len < (int)sizeof(line) - 40; i++)
    len += snprintf(line + len, sizeof(line) - (size_t)len, "%s%s:%lu",
                    i ? "," : "", art_err_name(t->code[i]), t->count[i]);
  stress_figure(key, "%s", t->n ? line : "none");
}

/* ------------------------------------------------------------------------ */
/* The echo server, on its own thread and loop.                             */

typedef struct {
  art_tcp_t tcp;
  art_shutdown_t shutdown;
  int paused; /* reading stopped for backpressure */
} sconn_t;

typedef struct {
  art_write_t req;
  size_t len;
  char data[];
} echo_t;

static struct {
  art_loop_t loop;
  art_tcp_t listener;
  art_async_t stop;
  pthread_t thread;
  unsigned long accepted, closed, forced;
  uint64_t echoed;
  err_table_t errors;
  char buf[READ_BUF]; /* every read lands here, then is copied per write */
} srv;

static void s_closed(art_handle_t *h) {
  srv.closed++;
  free(h->data);
}

static void s_close(sconn_t *c) {
  if (!art_is_closing((art_handle_t *)&c->tcp))
    art_close((art_handle_t *)&c->tcp, s_closed);
}

static void s_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(srv.buf, sizeof(srv.buf));
}

static void s_written(art_write_t *req, int status) {
  echo_t *e = (echo_t *)req;
  sconn_t *c = req->handle->data;
  if (status == 0)
    srv.echoed += e->len;
  else if (status != ART_ECANCELED) {
    err_count(&srv.errors, status);
    s_close(c);
  }
  free(e);
}

static void s_shut(art_shutdown_t *req, int status) {
  if (status != 0 && status != ART_ECANCELED)
    err_count(&srv.errors, status);
  s_close(req->data);
}

static void s_echo(sconn_t *c, const char *data, size_t n);

static void s_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  sconn_t *c = s->data;
  if (n > 0) {
    s_echo(c, buf->base, (size_t)n);
  } else if (n == ART_EOF) {
    c->shutdown.data = c;
    int err = art_shutdown(&c->shutdown, s, s_shut);
    if (err != 0) {
      err_count(&srv.errors, err);
      s_close(c);
    }
  } else if (n < 0) {
    err_count(&srv.errors, (int)n);
    s_close(c);
  }
}

/* Writes a copy of what was read; pauses reading at the high-water mark. */
static void s_echo(sconn_t *c, const char *data, size_t n) {
  art_stream_t *s = (art_stream_t *)&c->tcp;
  echo_t *e = malloc(sizeof(*e) + n);
  if (e == NULL)
    abort();
  e->len = n;
  memcpy(e->data, data, n);
  art_buf_t b = art_buf_init(e->data, n);
  int err = art_write(&e->req, s, &b, 1, s_written);
  if (err != 0) {
    free(e);
    err_count(&srv.errors, err);
    s_close(c);
    return;
  }
  if (art_stream_needs_drain(s)) {
    art_read_stop(s);
    c->paused = 1;
  }
}

static void s_drain(art_stream_t *s) {
  sconn_t *c = s->data;
  if (!c->paused || art_is_closing((art_handle_t *)s))
    return;
  c->paused = 0;
  int err = art_read_start(s, s_alloc, s_read);
  if (err != 0) {
    err_count(&srv.errors, err);
    s_close(c);
  }
}

static void s_connection(art_stream_t *server, int status) {
  if (status != 0) {
    err_count(&srv.errors, status);
    return;
  }
  sconn_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    abort();
  art_tcp_init(&srv.loop, &c->tcp);
  c->tcp.data = c;
  int err = art_accept(server, (art_stream_t *)&c->tcp);
  if (err == 0) {
    srv.accepted++;
    art_stream_on_drain((art_stream_t *)&c->tcp, s_drain);
    err = art_read_start((art_stream_t *)&c->tcp, s_alloc, s_read);
  }
  if (err != 0) {
    err_count(&srv.errors, err);
    s_close(c);
  }
}

static void s_force_close(art_handle_t *h, void *arg) {
  if (art_is_closing(h))
    return;
  if (h->type == ART_TCP && h != (art_handle_t *)&srv.listener) {
    srv.forced++;
    art_close(h, s_closed);
    return;
  }
  art_close(h, NULL);
}

/* The client is done: everything the server still has open closes. */
static void s_stop(art_async_t *a) {
  art_walk(&srv.loop, s_force_close, NULL);
}

static void *s_thread(void *arg) {
  art_run(&srv.loop, ART_RUN_DEFAULT);
  return NULL;
}

/* Listens on 127.0.0.1, port 0; returns the address in *addr. */
static int s_start(struct sockaddr_in *addr) {
  int len = sizeof(*addr), err;
  if ((err = art_loop_init(&srv.loop)) != 0 ||
      (err = art_async_init(&srv.loop, &srv.stop, s_stop)) != 0 ||
      (err = art_tcp_init(&srv.loop, &srv.listener)) != 0 ||
      (err = art_ip4_addr("127.0.0.1", 0, addr)) != 0 ||
      (err = art_tcp_bind(&srv.listener, (struct sockaddr *)addr, 0)) != 0 ||
      (err = art_listen((art_stream_t *)&srv.listener, 4096, s_connection)) !=
          0 ||
      (err = art_tcp_getsockname(&srv.listener, (struct sockaddr *)addr,
                                 &len)) != 0)
    return err;
  return pthread_create(&srv.thread, NULL, s_thread, NULL) == 0 ? 0
                                                                : ART_EAGAIN;
}

/* ------------------------------------------------------------------------ */
/* The clients, on the main thread's loop.                                  */

enum { C_CONNECTING, C_CONNECTED, C_SENDING, C_DONE };

typedef struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
  art_shutdown_t shutdown;
  unsigned char *wbuf; /* the chunk being written */
  uint32_t index;      /* the stream's seed */
  int state;
  uint64_t sent, recvd;
} cconn_t;

static struct {
  art_loop_t loop;
  cconn_t *conns;
  struct sockaddr_in addr;
  long n;
  uint64_t bytes;
  long next, connecting, settled;
  unsigned long connected, verified, lost, corrupt, closed;
  uint64_t hash, moved;
  long rss_all_open;
  err_table_t errors;
  unsigned char buf[READ_BUF];
} cli;

static void c_closed(art_handle_t *h) {
  cconn_t *c = h->data;
  free(c->wbuf);
  c->wbuf = NULL;
  cli.closed++;
}

static void c_fail(cconn_t *c, int err) {
  if (err != 0)
    err_count(&cli.errors, err);
  if (!art_is_closing((art_handle_t *)&c->tcp))
    art_close((art_handle_t *)&c->tcp, c_closed);
}

static void c_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init((char *)cli.buf, sizeof(cli.buf));
}

/* Every echoed byte is compared with the stream where it lands. */
static void c_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  cconn_t *c = s->data;
  if (n > 0) {
    const unsigned char *p = (const unsigned char *)buf->base;
    if (c->recvd + (uint64_t)n > cli.bytes ||
        stress_check(c->index, c->recvd, p, (size_t)n) != (size_t)n) {
      cli.corrupt++;
      c_fail(c, 0);
      return;
    }
    cli.hash = stress_hash(cli.hash, p, (size_t)n);
    c->recvd += (uint64_t)n;
    cli.moved += (uint64_t)n;
  } else if (n == ART_EOF) {
    if (c->recvd == cli.bytes && c->sent == cli.bytes) {
      c->state = C_DONE;
      cli.verified++;
    } else {
      cli.lost++;
    }
    c_fail(c, 0);
  } else if (n < 0) {
    c_fail(c, (int)n);
  }
}

static void c_send_next(cconn_t *c);

static void c_written(art_write_t *req, int status) {
  cconn_t *c = req->data;
  if (status != 0) {
    if (status != ART_ECANCELED)
      c_fail(c, status);
    return;
  }
  c_send_next(c);
}

static void c_shut(art_shutdown_t *req, int status) {
  if (status != 0 && status != ART_ECANCELED)
    c_fail(req->data, status);
}

/* One write in flight per connection: the next chunk goes from the
 * previous one's callback; after the last, the write side is shut. */
static void c_send_next(cconn_t *c) {
  art_stream_t *s = (art_stream_t *)&c->tcp;
  int err;
  if (art_is_closing((art_handle_t *)s))
    return;
  if (c->sent == cli.bytes) {
    c->shutdown.data = c;
    if ((err = art_shutdown(&c->shutdown, s, c_shut)) != 0)
      c_fail(c, err);
    return;
  }
  size_t len = cli.bytes - c->sent < CHUNK ? cli.bytes - c->sent : CHUNK;
  if (c->wbuf == NULL && (c->wbuf = malloc(CHUNK)) == NULL)
    abort();
  stress_fill(c->index, c->sent, c->wbuf, len);
  art_buf_t b = art_buf_init((char *)c->wbuf, len);
  c->write.data = c;
  if ((err = art_write(&c->write, s, &b, 1, c_written)) != 0) {
    c_fail(c, err);
    return;
  }
  c->sent += len;
  cli.moved += len;
}

static void c_start_data(void) {
  cli.rss_all_open = stress_status_kib("VmRSS");
  for (long i = 0; i < cli.n; i++) {
    cconn_t *c = &cli.conns[i];
    if (c->state != C_CONNECTED)
      continue;
    c->state = C_SENDING;
    int err = art_read_start((art_stream_t *)&c->tcp, c_alloc, c_read);
    if (err != 0) {
      c_fail(c, err);
      continue;
    }
    c_send_next(c);
  }
}

static void c_connect_more(void);

static void c_connected(art_connect_t *req, int status) {
  cconn_t *c = req->data;
  cli.connecting--;
  cli.settled++;
  if (status == 0) {
    c->state = C_CONNECTED;
    cli.connected++;
  } else {
    c_fail(c, status);
  }
  if (cli.settled == cli.n)
    c_start_data();
  else
    c_connect_more();
}

static void c_connect_more(void) {
  while (cli.next < cli.n && cli.connecting < MAX_CONNECTING) {
    cconn_t *c = &cli.conns[cli.next];
    c->index = (uint32_t)cli.next++;
    c->tcp.data = c;
    c->connect.data = c;
    int err = art_tcp_init(&cli.loop, &c->tcp);
    if (err != 0) {
      cli.settled++;
      err_count(&cli.errors, err);
      cli.closed++; /* never opened */
      continue;
    }
    err = art_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&cli.addr,
                          c_connected);
    if (err != 0) {
      cli.settled++;
      c_fail(c, err);
      continue;
    }
    cli.connecting++;
  }
  if (cli.settled == cli.n && cli.next == cli.n && cli.connecting == 0)
    c_start_data();
}

/* ------------------------------------------------------------------------ */
/* The failure shim's window, when the shim is loaded.                      */

static void shim_window(int open) {
  void (*window)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "failshim_window");
  if (window != NULL)
    window(open);
}

static int shim_loaded(void) {
  return dlsym(RTLD_DEFAULT, "failshim_window") != NULL;
}

static unsigned long shim_injected(int err) {
  unsigned long (*count)(int) =
      (unsigned long (*)(int))dlsym(RTLD_DEFAULT, "failshim_injected");
  return count != NULL ? count(err) : 0;
}

static void shim_report(void) {
  void (*report)(FILE *, const char *) =
      (void (*)(FILE *, const char *))dlsym(RTLD_DEFAULT, "failshim_report");
  if (report != NULL)
    report(stdout, stress_name);
}

/* ------------------------------------------------------------------------ */

static long plan_conns(long want) {
  long need = 2 * want + 16; /* both ends, and the loops' own fds */
  long limit = stress_raise_nofile(need);
  stress_figure("nofile_limit", "%ld", limit);
  if (limit >= need)
    return want;
  long n = (limit - 16) / 2;
  stress_figure("conns_scaled_down_from", "%ld", want);
  return n > 0 ? n : 1;
}

static void report(double secs, long rss_before, long rss_after) {
  stress_figure("conns", "%ld", cli.n);
  stress_figure("bytes_per_conn", "%llu", (unsigned long long)cli.bytes);
  stress_figure("verified", "%lu", cli.verified);
  stress_figure("lost", "%lu", cli.lost);
  stress_figure("corrupt", "%lu", cli.corrupt);
  stress_figure("bytes_moved", "%llu", (unsigned long long)cli.moved);
  stress_figure("hash", "%016llx", (unsigned long long)cli.hash);
  stress_figure("seconds", "%.2f", secs);
  stress_figure("mb_per_s", "%.1f", cli.moved / 1e6 / secs);
  stress_figure("server_accepted", "%lu", srv.accepted);
  stress_figure("server_forced_closes", "%lu", srv.forced);
  err_print("client_errors", &cli.errors);
  err_print("server_errors", &srv.errors);
  stress_figure("rss_before_kib", "%ld", rss_before);
  stress_figure("rss_all_open_kib", "%ld", cli.rss_all_open);
  stress_figure("rss_peak_kib", "%ld", stress_status_kib("VmHWM"));
  stress_figure("rss_after_kib", "%ld", rss_after);
  stress_figure("client_chunk_buffers_kib", "%ld", cli.n * (CHUNK / 1024));
  stress_figure("library_peak_kib", "%ld", atomic_load(&lib_peak) / 1024);
  stress_figure("library_blocks_after", "%ld", atomic_load(&lib_blocks));
}

/* The verdict. Without the shim nothing may fail; with it, connections
 * may end in errors, but only real ones (never EINTR or EAGAIN), and none
 * may end silently short or with wrong data. */
static void judge(int loops_closed) {
  unsigned long errs = err_total(&cli.errors);
  if (cli.corrupt != 0)
    stress_fail("%lu connections received wrong bytes", cli.corrupt);
  if (cli.verified + errs + cli.lost + cli.corrupt < (unsigned long)cli.n)
    stress_fail("%ld connections ended without a verdict",
                cli.n - (long)(cli.verified + errs + cli.lost + cli.corrupt));
  if (loops_closed != 0)
    stress_fail("art_loop_close returned %s", art_err_name(loops_closed));
  if (atomic_load(&lib_blocks) != 0)
    stress_fail("the library kept %ld blocks after its loops closed",
                atomic_load(&lib_blocks));
  if (!shim_loaded()) {
    if (cli.verified != (unsigned long)cli.n)
      stress_fail("%lu of %ld connections verified", cli.verified, cli.n);
    if (cli.lost != 0)
      stress_fail("%lu connections lost bytes", cli.lost);
    return;
  }
  /* A connection cut short must be one the server failed on. */
  if (cli.lost > err_total(&srv.errors))
    stress_fail("%lu connections ended early, the server failed only %lu",
                cli.lost, err_total(&srv.errors));
  unsigned long surfaced = 0;
  for (int side = 0; side < 2; side++) {
    const err_table_t *t = side ? &srv.errors : &cli.errors;
    if (err_of(t, ART_EINTR) || err_of(t, ART_EAGAIN))
      stress_fail("an injected EINTR or EAGAIN reached a %s callback",
                  side ? "server" : "client");
    surfaced += err_of(t, ART_ENOMEM) + err_of(t, ART_EIO);
  }
  unsigned long hard = shim_injected(ENOMEM) + shim_injected(EIO);
  stress_figure("hard_failures_injected", "%lu", hard);
  stress_figure("hard_failures_surfaced", "%lu", surfaced);
  /* Each injected failure hits one stream, which then fails and is closed
   * by its callback: every one of them must have been seen there. */
  if (surfaced < hard)
    stress_fail("%lu ENOMEM/EIO injected, only %lu reached a callback", hard,
                surfaced);
}

int main(int argc, char **argv) {
  long want = argc > 1 ? stress_arg(argv[1], 1, 1000000) : 10000;
  cli.bytes = argc > 2 ? (uint64_t)stress_arg(argv[2], 1, 1L << 30) : 32768;
  unsigned secs = argc > 3 ? (unsigned)stress_arg(argv[3], 1, 3600) : 60;
  stress_watchdog("stress_soak", secs);
  art_replace_allocator(lib_malloc, lib_realloc, lib_calloc, lib_free);
  cli.n = plan_conns(want);
  cli.hash = 1469598103934665603ull;
  cli.conns = calloc((size_t)cli.n, sizeof(*cli.conns));
  if (cli.conns == NULL || art_loop_init(&cli.loop) != 0 ||
      s_start(&cli.addr) != 0) {
    fprintf(stderr, "stress_soak: cannot start\n");
    return STRESS_FAIL;
  }
  long rss_before = stress_status_kib("VmRSS");
  uint64_t t0 = art_hrtime();
  shim_window(1);
  c_connect_more();
  art_run(&cli.loop, ART_RUN_DEFAULT);
  shim_window(0);
  double took = (double)(art_hrtime() - t0) / 1e9;
  art_async_send(&srv.stop);
  pthread_join(srv.thread, NULL);
  int closed = art_loop_close(&cli.loop);
  int sclosed = art_loop_close(&srv.loop);
  free(cli.conns);
  report(took, rss_before, stress_status_kib("VmRSS"));
  shim_report();
  judge(closed != 0 ? closed : sclosed);
  stress_figure("result", "%s", stress_failures ? "FAIL" : "pass");
  return stress_failures ? STRESS_FAIL : 0;
}
