/* stress_emfile: a server out of file descriptors keeps serving.
 *
 *   stress_emfile [CLIENTS [NOFILE [HOLD_MS]]]   (defaults 400, 64, 100)
 *
 * The server runs in a child process whose RLIMIT_NOFILE is NOFILE. Each
 * connection it accepts reads "ping", holds the connection HOLD_MS (so
 * the fds stay taken), answers "pong" and closes. The parent opens
 * CLIENTS connections at once: far more than the server has fds, so its
 * accept(2) fails with EMFILE while connections wait in the backlog, and
 * the library's defence (accept with a spare fd and close) must drain the
 * backlog instead of letting a level-triggered listener spin. A refused
 * client (reset or closed without an answer) tries again after a pause,
 * up to MAX_TRIES times.
 *
 * Checks: every client is served or refused with an error its callbacks
 * saw (none hangs: the watchdog), the server saw EMFILE and still served,
 * its loop never ran more than MAX_RATE iterations per second (no spin),
 * and it exits 0 after closing its loop with art_loop_close == 0.
 * Figures: served, refused attempts, EMFILE count, the server's peak and
 * idle iteration rates. */
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>

#include "asyncrt.h"
#include "stress.h"

enum { MAX_TRIES = 50, RETRY_MS = 20, SAMPLE_MS = 100 };
/* Far above what serving a few hundred clients costs (a few thousand
 * iterations a second), far below a loop that spins on a ready listener. */
#define MAX_RATE 200000.0

/* ------------------------------------------------------------------------ */
/* The server, in the child.                                                */

typedef struct {
  art_tcp_t tcp;
  art_timer_t hold;
  art_write_t write;
  int open; /* handles not yet closed: 2, then 1, then 0 */
  size_t got;
} sconn_t;

static struct {
  art_loop_t loop;
  art_tcp_t listener;
  art_timer_t sampler;
  art_signal_t term;
  uint64_t hold_ms;
  unsigned long served, accepted, emfile, other_errors;
  uint64_t last_iter, last_ns;
  double peak_rate, last_rate;
  char buf[64];
} srv;

static void s_release(art_handle_t *h) {
  sconn_t *c = h->data;
  if (--c->open == 0)
    free(c);
}

static void s_close(sconn_t *c) {
  if (!art_is_closing((art_handle_t *)&c->tcp))
    art_close((art_handle_t *)&c->tcp, s_release);
  if (!art_is_closing((art_handle_t *)&c->hold))
    art_close((art_handle_t *)&c->hold, s_release);
}

static void s_written(art_write_t *req, int status) {
  sconn_t *c = req->data;
  if (status == 0)
    srv.served++;
  s_close(c);
}

static void s_answer(art_timer_t *t) {
  static char pong[] = "pong";
  sconn_t *c = t->data;
  art_buf_t b = art_buf_init(pong, 4);
  c->write.data = c;
  if (art_write(&c->write, (art_stream_t *)&c->tcp, &b, 1, s_written) != 0)
    s_close(c);
}

static void s_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(srv.buf, sizeof(srv.buf));
}

static void s_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  sconn_t *c = s->data;
  if (n < 0) {
    s_close(c);
    return;
  }
  c->got += (size_t)n;
  if (c->got >= 4) {
    art_read_stop(s);
    art_timer_start(&c->hold, s_answer, srv.hold_ms, 0);
  }
}

static void s_connection(art_stream_t *server, int status) {
  if (status == ART_EMFILE || status == ART_ENFILE) {
    srv.emfile++;
    return;
  }
  if (status != 0) {
    srv.other_errors++;
    return;
  }
  sconn_t *c = calloc(1, sizeof(*c));
  if (c == NULL)
    abort();
  art_tcp_init(&srv.loop, &c->tcp);
  art_timer_init(&srv.loop, &c->hold);
  c->tcp.data = c->hold.data = c;
  c->open = 2;
  if (art_accept(server, (art_stream_t *)&c->tcp) != 0 ||
      art_read_start((art_stream_t *)&c->tcp, s_alloc, s_read) != 0) {
    srv.other_errors++;
    s_close(c);
    return;
  }
  srv.accepted++;
}

/* Every SAMPLE_MS: the iterations per second since the last sample. */
static void s_sample(art_timer_t *t) {
  art_loop_metrics_t m;
  art_loop_metrics(&srv.loop, &m);
  double secs = (double)(m.sample_ns - srv.last_ns) / 1e9;
  srv.last_rate = (double)(m.iterations - srv.last_iter) / secs;
  if (srv.last_rate > srv.peak_rate)
    srv.peak_rate = srv.last_rate;
  srv.last_iter = m.iterations;
  srv.last_ns = m.sample_ns;
}

static void s_close_any(art_handle_t *h, void *arg) {
  if (art_is_closing(h))
    return;
  art_close(h, h->data != NULL ? s_release : NULL);
}

static void s_term(art_signal_t *sig, int signum) {
  art_walk(&srv.loop, s_close_any, NULL);
}

static int s_listen(int port_fd) {
  struct sockaddr_in addr;
  int len = sizeof(addr);
  if (art_loop_init(&srv.loop) != 0 || art_tcp_init(&srv.loop, &srv.listener) ||
      art_ip4_addr("127.0.0.1", 0, &addr) ||
      art_tcp_bind(&srv.listener, (struct sockaddr *)&addr, 0) ||
      art_listen((art_stream_t *)&srv.listener, 4096, s_connection) ||
      art_tcp_getsockname(&srv.listener, (struct sockaddr *)&addr, &len) ||
      art_timer_init(&srv.loop, &srv.sampler) ||
      art_timer_start(&srv.sampler, s_sample, SAMPLE_MS, SAMPLE_MS) ||
      art_signal_init(&srv.loop, &srv.term) ||
      art_signal_start(&srv.term, s_term, SIGTERM))
    return -1;
  return write(port_fd, &addr, sizeof(addr)) == sizeof(addr) ? 0 : -1;
}

/* The child's whole life; its exit status is its verdict. */
static int server_main(long nofile, int port_fd) {
  struct rlimit rl = {(rlim_t)nofile, (rlim_t)nofile};
  alarm(55); /* the parent's watchdog is not inherited */
  if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || s_listen(port_fd) != 0)
    return STRESS_FAIL;
  close(port_fd);
  srv.last_ns = art_hrtime();
  art_run(&srv.loop, ART_RUN_DEFAULT);
  int closed = art_loop_close(&srv.loop);
  stress_figure("server_accepted", "%lu", srv.accepted);
  stress_figure("server_served", "%lu", srv.served);
  stress_figure("server_emfile", "%lu", srv.emfile);
  stress_figure("server_other_accept_errors", "%lu", srv.other_errors);
  stress_figure("server_peak_iterations_per_s", "%.0f", srv.peak_rate);
  stress_figure("server_idle_iterations_per_s", "%.0f", srv.last_rate);
  if (closed != 0)
    stress_fail("server art_loop_close returned %s", art_err_name(closed));
  if (srv.emfile == 0)
    stress_fail("the server never ran out of fds: nothing was tested");
  if (srv.peak_rate > MAX_RATE)
    stress_fail("the server loop spun: %.0f iterations/s", srv.peak_rate);
  return stress_failures ? STRESS_FAIL : 0;
}

/* ------------------------------------------------------------------------ */
/* The clients, in the parent.                                              */

typedef struct {
  art_tcp_t tcp;
  art_connect_t connect;
  art_write_t write;
  art_timer_t retry;
  int tries;
  size_t got;
  int done;
} client_t;

static struct {
  art_loop_t loop;
  struct sockaddr_in addr;
  client_t *c;
  long n;
  unsigned long served, refusals, gave_up, finished;
  char buf[64];
} cli;

static void c_attempt(client_t *c);

static void c_retry(art_timer_t *t) {
  c_attempt(t->data);
}

/* The connection closed: the client is finished, or tries again. */
static void c_closed(art_handle_t *h) {
  client_t *c = h->data;
  if (c->done) {
    cli.finished++;
    art_close((art_handle_t *)&c->retry, NULL);
    return;
  }
  cli.refusals++;
  if (c->tries >= MAX_TRIES) {
    cli.gave_up++;
    cli.finished++;
    art_close((art_handle_t *)&c->retry, NULL);
    return;
  }
  art_timer_start(&c->retry, c_retry, RETRY_MS, 0);
}

static void c_end(client_t *c) {
  if (!art_is_closing((art_handle_t *)&c->tcp))
    art_close((art_handle_t *)&c->tcp, c_closed);
}

static void c_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(cli.buf, sizeof(cli.buf));
}

static void c_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  client_t *c = s->data;
  if (n > 0 && (c->got += (size_t)n) >= 4 && !c->done) {
    c->done = 1;
    cli.served++;
  }
  if (n < 0)
    c_end(c);
}

static void c_written(art_write_t *req, int status) {
  if (status != 0)
    c_end(req->data);
}

static void c_connected(art_connect_t *req, int status) {
  static char ping[] = "ping";
  client_t *c = req->data;
  art_buf_t b = art_buf_init(ping, 4);
  c->write.data = c;
  if (status != 0 ||
      art_read_start((art_stream_t *)&c->tcp, c_alloc, c_read) != 0 ||
      art_write(&c->write, (art_stream_t *)&c->tcp, &b, 1, c_written) != 0)
    c_end(c);
}

static void c_attempt(client_t *c) {
  c->tries++;
  c->got = 0;
  art_tcp_init(&cli.loop, &c->tcp);
  c->tcp.data = c->connect.data = c;
  if (art_tcp_connect(&c->connect, &c->tcp, (struct sockaddr *)&cli.addr,
                      c_connected) != 0)
    c_end(c);
}

static void run_clients(void) {
  for (long i = 0; i < cli.n; i++) {
    art_timer_init(&cli.loop, &cli.c[i].retry);
    cli.c[i].retry.data = &cli.c[i];
    c_attempt(&cli.c[i]);
  }
  art_run(&cli.loop, ART_RUN_DEFAULT);
}

static int wait_server(pid_t pid) {
  int st;
  if (waitpid(pid, &st, 0) != pid)
    return -1;
  if (WIFSIGNALED(st)) {
    stress_fail("the server died of signal %d", WTERMSIG(st));
    return -1;
  }
  return WEXITSTATUS(st);
}

int main(int argc, char **argv) {
  cli.n = argc > 1 ? stress_arg(argv[1], 1, 5000) : 400;
  long nofile = argc > 2 ? stress_arg(argv[2], 16, 1024) : 64;
  srv.hold_ms = argc > 3 ? (uint64_t)stress_arg(argv[3], 0, 10000) : 100;
  stress_watchdog("stress_emfile", 60);
  stress_raise_nofile(cli.n + 64);
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0)
    return STRESS_FAIL;
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    _exit(server_main(nofile, fds[1]));
  }
  close(fds[1]);
  if (pid < 0 || read(fds[0], &cli.addr, sizeof(cli.addr)) != sizeof(cli.addr))
    return STRESS_FAIL;
  close(fds[0]);
  cli.c = calloc((size_t)cli.n, sizeof(*cli.c));
  if (cli.c == NULL || art_loop_init(&cli.loop) != 0)
    return STRESS_FAIL;
  uint64_t t0 = art_hrtime();
  run_clients();
  double took = (double)(art_hrtime() - t0) / 1e9;
  usleep(3 * SAMPLE_MS * 1000); /* the server idles: its last sample */
  kill(pid, SIGTERM);
  int server_status = wait_server(pid);
  int closed = art_loop_close(&cli.loop);
  free(cli.c);
  stress_figure("clients", "%ld", cli.n);
  stress_figure("server_nofile", "%ld", nofile);
  stress_figure("served", "%lu", cli.served);
  stress_figure("refused_attempts", "%lu", cli.refusals);
  stress_figure("gave_up", "%lu", cli.gave_up);
  stress_figure("seconds", "%.2f", took);
  if (server_status != 0)
    stress_fail("the server failed (exit %d)", server_status);
  if (closed != 0)
    stress_fail("client art_loop_close returned %s", art_err_name(closed));
  if (cli.finished != (unsigned long)cli.n)
    stress_fail("%ld clients never finished", cli.n - (long)cli.finished);
  if (cli.served == 0)
    stress_fail("no client was served");
  stress_figure("result", "%s", stress_failures ? "FAIL" : "pass");
  return stress_failures ? STRESS_FAIL : 0;
}
