/* stress_soak: many TCP connections through one echo server, every byte
 * checked.
 *
 *   stress_soak [CONNS [BYTES [SECONDS]]]   (defaults 10000, 32768, 60)
 *
 * The echo server runs in a child process, with its own loop; the clients
 * run in the parent. Each process holds one end of every connection, so
 * CONNS connections need about CONNS fds per process rather than twice
 * that in one (a hard RLIMIT_NOFILE of 20000 holds 10000 connections). The
 * child sends its listening address through a pipe, serves until the
 * parent's SIGTERM, closes its loop and sends its counters back through
 * the same pipe (srv_report_t).
 *
 * The client loop opens CONNS connections (at most MAX_CONNECTING at a
 * time, so the listen backlog never overflows into SYN retries) and keeps
 * every one open until all are connected: the server then holds CONNS
 * connections at once. Only then does each connection send BYTES bytes of
 * its own pseudo-random stream (seeded by its index), half-close, and read
 * the echo back to the server's FIN. Each received byte is compared with
 * the stream where it lands, so a byte lost, duplicated or reordered fails
 * the run, and a connection whose echo ends early counts as lost.
 *
 * Figures: bytes moved, the running hash of the verified bytes, the client
 * process's RSS before, with every connection open, at the peak (VmHWM)
 * and after, the server process's peak, the bytes the library itself held
 * at its peak in each process (counted through its allocator hook; the
 * test's own buffers, client_chunk_buffers_kib at most, are most of the
 * client's RSS peak), the fd limits, errors by name. In each process every
 * block the library allocated must be freed once its loop is closed.
 *
 * Under the syscall-failure shim (failshim.so in LD_PRELOAD), each process
 * opens the shim's window while the connections run; injected EINTR and
 * EAGAIN must never reach a callback, and a connection may end with a
 * reported error instead of verified data, but never with wrong data. The
 * shim counts per process, so the server sends its counts with its report.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "asyncrt.h"
#include "stress.h"

enum { MAX_CONNECTING = 512, CHUNK = 16384, READ_BUF = 65536 };
/* The fds a process needs besides one per connection: stdio, the loop's
 * own, the listener, the pipe. */
enum { SPARE_FDS = 16 };

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
/* The failure shim, when it is loaded: its window, its counts.             */

static void shim_window(int open) {
  void (*window)(int) = (void (*)(int))dlsym(RTLD_DEFAULT, "failshim_window");
  if (window != NULL)
    window(open);
}

static int shim_loaded(void) {
  return dlsym(RTLD_DEFAULT, "failshim_window") != NULL;
}

/* ENOMEM and EIO injected in this process. */
static unsigned long shim_hard_injected(void) {
  unsigned long (*count)(int) =
      (unsigned long (*)(int))dlsym(RTLD_DEFAULT, "failshim_injected");
  return count != NULL ? count(ENOMEM) + count(EIO) : 0;
}

/* The shim's settings, printed once, by the parent. */
static void shim_settings(FILE *out) {
  void (*settings)(FILE *, const char *) =
      (void (*)(FILE *, const char *))dlsym(RTLD_DEFAULT, "failshim_settings");
  if (settings != NULL)
    settings(out, stress_name);
}

/* This process's injections per call, with keys named side_shim_<call>. */
static void shim_report(FILE *out, const char *side) {
  void (*report)(FILE *, const char *, const char *) =
      (void (*)(FILE *, const char *, const char *))dlsym(RTLD_DEFAULT,
                                                          "failshim_report");
  if (report != NULL)
    report(out, stress_name, side);
}

/* ------------------------------------------------------------------------ */
/* The pipe between the processes: whole structs, or failure.               */

static int pipe_read(int fd, void *p, size_t len) {
  for (size_t done = 0; done < len;) {
    ssize_t n = read(fd, (char *)p + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return -1; /* the other end closed: the child died */
    done += (size_t)n;
  }
  return 0;
}

static int pipe_write(int fd, const void *p, size_t len) {
  for (size_t done = 0; done < len;) {
    ssize_t n = write(fd, (const char *)p + done, len - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return -1;
    done += (size_t)n;
  }
  return 0;
}

/* ------------------------------------------------------------------------ */
/* The echo server, in the child process, on its own loop.                  */

/* What the server sends back when it stops, as one write: being smaller
 * than PIPE_BUF, it arrives whole or not at all. */
typedef struct {
  unsigned long accepted, closed, forced; /* connections */
  uint64_t echoed;                        /* bytes written back */
  err_table_t errors;                     /* what its callbacks saw */
  int loop_closed;                        /* its art_loop_close result */
  long nofile_limit;                      /* its RLIMIT_NOFILE */
  long lib_blocks_after, lib_peak;        /* its library: blocks, bytes */
  long rss_peak_kib, rss_after_kib;       /* its VmHWM; VmRSS at the end */
  unsigned long shim_hard;                /* ENOMEM and EIO it injected */
  char shim_lines[1536];                  /* its failshim_report lines */
} srv_report_t;

_Static_assert(sizeof(srv_report_t) <= PIPE_BUF, "the report is one write");

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
  art_signal_t stop;  /* the parent's SIGTERM */
  srv_report_t r;     /* the counters, sent as they are */
  char buf[READ_BUF]; /* every read lands here, then is copied per write */
} srv;

static void s_closed(art_handle_t *h) {
  srv.r.closed++;
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
    srv.r.echoed += e->len;
  else if (status != ART_ECANCELED) {
    err_count(&srv.r.errors, status);
    s_close(c);
  }
  free(e);
}

static void s_shut(art_shutdown_t *req, int status) {
  if (status != 0 && status != ART_ECANCELED)
    err_count(&srv.r.errors, status);
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
      err_count(&srv.r.errors, err);
      s_close(c);
    }
  } else if (n < 0) {
    err_count(&srv.r.errors, (int)n);
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
    err_count(&srv.r.errors, err);
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
    err_count(&srv.r.errors, err);
    s_close(c);
  }
}

static void s_connection(art_stream_t *server, int status) {
  if (status != 0) {
    err_count(&srv.r.errors, status);
    return;
  }
  sconn_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    abort();
  art_tcp_init(&srv.loop, &c->tcp);
  c->tcp.data = c;
  int err = art_accept(server, (art_stream_t *)&c->tcp);
  if (err == 0) {
    srv.r.accepted++;
    art_stream_on_drain((art_stream_t *)&c->tcp, s_drain);
    err = art_read_start((art_stream_t *)&c->tcp, s_alloc, s_read);
  }
  if (err != 0) {
    err_count(&srv.r.errors, err);
    s_close(c);
  }
}

static void s_force_close(art_handle_t *h, void *arg) {
  if (art_is_closing(h))
    return;
  if (h->type == ART_TCP && h != (art_handle_t *)&srv.listener) {
    srv.r.forced++;
    art_close(h, s_closed);
    return;
  }
  art_close(h, NULL);
}

/* The parent's SIGTERM: its clients are done. The shim's window closes
 * and everything the server still has open closes, so art_run returns. */
static void s_stop(art_signal_t *sig, int signum) {
  shim_window(0);
  art_walk(&srv.loop, s_force_close, NULL);
}

/* Listens on 127.0.0.1, port 0, and watches SIGTERM before the address
 * goes to the parent: the parent's SIGTERM can only come after it. */
static int s_start(struct sockaddr_in *addr) {
  int len = sizeof(*addr), err;
  if ((err = art_loop_init(&srv.loop)) != 0 ||
      (err = art_signal_init(&srv.loop, &srv.stop)) != 0 ||
      (err = art_signal_start(&srv.stop, s_stop, SIGTERM)) != 0 ||
      (err = art_tcp_init(&srv.loop, &srv.listener)) != 0 ||
      (err = art_ip4_addr("127.0.0.1", 0, addr)) != 0 ||
      (err = art_tcp_bind(&srv.listener, (struct sockaddr *)addr, 0)) != 0 ||
      (err = art_listen((art_stream_t *)&srv.listener, 4096, s_connection)) !=
          0)
    return err;
  return art_tcp_getsockname(&srv.listener, (struct sockaddr *)addr, &len);
}

/* What only the end of the child's life knows, into its report. */
static void s_finish_report(int loop_closed) {
  srv.r.loop_closed = loop_closed;
  srv.r.lib_blocks_after = atomic_load(&lib_blocks);
  srv.r.lib_peak = atomic_load(&lib_peak);
  srv.r.rss_peak_kib = stress_status_kib("VmHWM");
  srv.r.rss_after_kib = stress_status_kib("VmRSS");
  srv.r.shim_hard = shim_hard_injected();
  FILE *lines = fmemopen(srv.r.shim_lines, sizeof(srv.r.shim_lines), "w");
  if (lines != NULL) {
    shim_report(lines, "server_");
    fclose(lines);
  }
  srv.r.shim_lines[sizeof(srv.r.shim_lines) - 1] = '\0';
}

/* The child's whole life: serve until the parent's SIGTERM, then send the
 * report through fd. Its exit status says whether it got that far. */
static int server_main(long conns, pid_t parent, int fd) {
  struct sockaddr_in addr;
  /* The parent's watchdog ends the parent only; this ends the child too. */
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != parent)
    return STRESS_FAIL;
  srv.r.nofile_limit = stress_raise_nofile(conns + SPARE_FDS);
  if (s_start(&addr) != 0 || pipe_write(fd, &addr, sizeof(addr)) != 0)
    return STRESS_FAIL;
  shim_window(1); /* closed again by s_stop */
  art_run(&srv.loop, ART_RUN_DEFAULT);
  s_finish_report(art_loop_close(&srv.loop));
  return pipe_write(fd, &srv.r, sizeof(srv.r)) == 0 ? 0 : STRESS_FAIL;
}

/* Forks the server; returns its pid, and in *fd the pipe's read end. The
 * library is untouched in this process until then: the child starts from
 * nothing, its own allocator counts at zero. */
static pid_t start_server(long conns, int *fd) {
  int fds[2];
  pid_t parent = getpid();
  if (pipe2(fds, O_CLOEXEC) != 0)
    return -1;
  fflush(stdout); /* nothing buffered is written twice */
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    /* exit, not _exit: under ASan the leak check runs in the child too. */
    exit(server_main(conns, parent, fds[1]));
  }
  close(fds[1]);
  *fd = fds[0];
  if (pid < 0)
    close(fds[0]);
  return pid;
}

/* Stops the server and takes its report (zeroed when none came); fails
 * the run if the child died, failed or sent nothing. */
static void stop_server(pid_t pid, int fd, srv_report_t *r) {
  int st;
  kill(pid, SIGTERM);
  int got = pipe_read(fd, r, sizeof(*r));
  close(fd);
  if (got != 0)
    memset(r, 0, sizeof(*r));
  if (waitpid(pid, &st, 0) != pid)
    stress_fail("waitpid on the server failed");
  else if (WIFSIGNALED(st))
    stress_fail("the server died of signal %d", WTERMSIG(st));
  else if (WEXITSTATUS(st) != 0)
    stress_fail("the server exited with status %d", WEXITSTATUS(st));
  if (got != 0)
    stress_fail("the server sent no report");
}

/* ------------------------------------------------------------------------ */
/* The clients, in the parent process.                                      */

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

/* The connections this process can hold: want, or fewer when even the
 * hard RLIMIT_NOFILE is too low (then the run says so). The server, in
 * its own process, raises its own limit. */
static long plan_conns(long want) {
  long need = want + SPARE_FDS;
  long limit = stress_raise_nofile(need);
  stress_figure("nofile_limit", "%ld", limit);
  if (limit >= need)
    return want;
  long n = limit - SPARE_FDS;
  stress_figure("conns_scaled_down_from", "%ld", want);
  return n > 0 ? n : 1;
}

/* The unprefixed memory figures are the client process's. */
static void report(double secs, long rss_before, long rss_after,
                   const srv_report_t *sr) {
  stress_figure("conns", "%ld", cli.n);
  stress_figure("bytes_per_conn", "%llu", (unsigned long long)cli.bytes);
  stress_figure("verified", "%lu", cli.verified);
  stress_figure("lost", "%lu", cli.lost);
  stress_figure("corrupt", "%lu", cli.corrupt);
  stress_figure("bytes_moved", "%llu", (unsigned long long)cli.moved);
  stress_figure("hash", "%016llx", (unsigned long long)cli.hash);
  stress_figure("seconds", "%.2f", secs);
  stress_figure("mb_per_s", "%.1f", cli.moved / 1e6 / secs);
  stress_figure("server_nofile_limit", "%ld", sr->nofile_limit);
  stress_figure("server_accepted", "%lu", sr->accepted);
  stress_figure("server_closed", "%lu", sr->closed);
  stress_figure("server_forced_closes", "%lu", sr->forced);
  stress_figure("server_echoed_bytes", "%llu", (unsigned long long)sr->echoed);
  err_print("client_errors", &cli.errors);
  err_print("server_errors", &sr->errors);
  stress_figure("rss_before_kib", "%ld", rss_before);
  stress_figure("rss_all_open_kib", "%ld", cli.rss_all_open);
  stress_figure("rss_peak_kib", "%ld", stress_status_kib("VmHWM"));
  stress_figure("rss_after_kib", "%ld", rss_after);
  stress_figure("client_chunk_buffers_kib", "%ld", cli.n * (CHUNK / 1024));
  stress_figure("library_peak_kib", "%ld", atomic_load(&lib_peak) / 1024);
  stress_figure("library_blocks_after", "%ld", atomic_load(&lib_blocks));
  stress_figure("server_rss_peak_kib", "%ld", sr->rss_peak_kib);
  stress_figure("server_rss_after_kib", "%ld", sr->rss_after_kib);
  stress_figure("server_library_peak_kib", "%ld", sr->lib_peak / 1024);
  stress_figure("server_library_blocks_after", "%ld", sr->lib_blocks_after);
}

/* Each process's loop closes with 0 and its library keeps no block. */
static void judge_closing(int closed, const srv_report_t *sr) {
  if (closed != 0)
    stress_fail("client art_loop_close returned %s", art_err_name(closed));
  if (sr->loop_closed != 0)
    stress_fail("server art_loop_close returned %s",
                art_err_name(sr->loop_closed));
  if (atomic_load(&lib_blocks) != 0)
    stress_fail("the library kept %ld blocks after the client loop closed",
                atomic_load(&lib_blocks));
  if (sr->lib_blocks_after != 0)
    stress_fail("the library kept %ld blocks after the server loop closed",
                sr->lib_blocks_after);
}

/* The verdict. Without the shim nothing may fail; with it, connections
 * may end in errors, but only real ones (never EINTR or EAGAIN), and none
 * may end silently short or with wrong data. */
static void judge(int closed, const srv_report_t *sr) {
  unsigned long errs = err_total(&cli.errors);
  if (cli.corrupt != 0)
    stress_fail("%lu connections received wrong bytes", cli.corrupt);
  if (cli.verified + errs + cli.lost + cli.corrupt < (unsigned long)cli.n)
    stress_fail("%ld connections ended without a verdict",
                cli.n - (long)(cli.verified + errs + cli.lost + cli.corrupt));
  judge_closing(closed, sr);
  if (!shim_loaded()) {
    if (cli.verified != (unsigned long)cli.n)
      stress_fail("%lu of %ld connections verified", cli.verified, cli.n);
    if (cli.lost != 0)
      stress_fail("%lu connections lost bytes", cli.lost);
    return;
  }
  /* A connection cut short must be one the server failed on. */
  if (cli.lost > err_total(&sr->errors))
    stress_fail("%lu connections ended early, the server failed only %lu",
                cli.lost, err_total(&sr->errors));
  unsigned long surfaced = 0;
  for (int side = 0; side < 2; side++) {
    const err_table_t *t = side ? &sr->errors : &cli.errors;
    if (err_of(t, ART_EINTR) || err_of(t, ART_EAGAIN))
      stress_fail("an injected EINTR or EAGAIN reached a %s callback",
                  side ? "server" : "client");
    surfaced += err_of(t, ART_ENOMEM) + err_of(t, ART_EIO);
  }
  /* The shim counts per process: the server's count came in its report. */
  unsigned long hard = shim_hard_injected() + sr->shim_hard;
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
  int fd;
  pid_t pid = start_server(want, &fd);
  if (pid < 0 || pipe_read(fd, &cli.addr, sizeof(cli.addr)) != 0) {
    fprintf(stderr, "stress_soak: the server did not start\n");
    return STRESS_FAIL; /* a child still alive dies with this process */
  }
  cli.n = plan_conns(want);
  cli.hash = 1469598103934665603ull;
  cli.conns = calloc((size_t)cli.n, sizeof(*cli.conns));
  if (cli.conns == NULL || art_loop_init(&cli.loop) != 0) {
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
  srv_report_t sr;
  stop_server(pid, fd, &sr);
  int closed = art_loop_close(&cli.loop);
  free(cli.conns);
  report(took, rss_before, stress_status_kib("VmRSS"), &sr);
  shim_settings(stdout);
  shim_report(stdout, "client_");
  fputs(sr.shim_lines, stdout);
  judge(closed, &sr);
  stress_figure("result", "%s", stress_failures ? "FAIL" : "pass");
  return stress_failures ? STRESS_FAIL : 0;
}
