/* stress_alloc_sweep: a program that uses every area, run again and again
 * with its Nth allocation failing, for N = 1, 2, ... until a run meets no
 * failure.
 *
 *   stress_alloc_sweep [MAX_N [SECONDS]]   (defaults 5000, 120)
 *
 * One run: a loop with its own pool, then at once a timer, an idle handle,
 * an async send, pool work, a chain of file requests (write_file, open,
 * write, close, stat, read_file), a TCP echo over loopback, a UDP datagram
 * over loopback, a pipe(2) pair as two pipe handles, a getaddrinfo of
 * "localhost", a spawn of /bin/true, a SIGUSR1 to ourselves, and an
 * fs_event on a scratch folder. Each part may fail (ART_ENOMEM from a call
 * or in a callback); it then closes what it opened and counts as done.
 * When every part is done, nothing is left open and the loop ends.
 *
 * The allocator, installed with art_replace_allocator, fails the Nth call
 * and counts live blocks (allocations minus frees). After every run: the
 * run ended by itself (a part that never finishes is a lost callback: a
 * master timer fails the run after STUCK_MS), art_loop_close returned 0,
 * the pool closed, no block and no fd is left over. */
#include <dirent.h>
#include <execinfo.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdatomic.h>

#include "asyncrt.h"
#include "stress.h"

enum { STUCK_MS = 5000 };

/* ------------------------------------------------------------------------ */
/* The allocator: fails call number fail_at (0: none), counts live blocks.  */

static atomic_long calls, live, fail_at;
static atomic_int failed;
static void *trace[16];

static int should_fail(void) {
  long n = atomic_fetch_add(&calls, 1) + 1;
  if (n == atomic_load(&fail_at)) {
    atomic_store(&failed, 1);
    if (getenv("STRESS_SWEEP_TRACE") != NULL) /* where the failure lands */
      backtrace_symbols_fd(trace, backtrace(trace, 16), 2);
    return 1;
  }
  return 0;
}

static void *sweep_malloc(size_t size) {
  void *p = should_fail() ? NULL : malloc(size);
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

static void *sweep_calloc(size_t count, size_t size) {
  void *p = should_fail() ? NULL : calloc(count, size);
  if (p != NULL)
    atomic_fetch_add(&live, 1);
  return p;
}

static void *sweep_realloc(void *old, size_t size) {
  if (should_fail())
    return NULL;
  void *p = realloc(old, size);
  if (old == NULL && p != NULL)
    atomic_fetch_add(&live, 1);
  else if (old != NULL && size == 0 && p == NULL)
    atomic_fetch_sub(&live, 1);
  return p;
}

static void sweep_free(void *p) {
  if (p != NULL)
    atomic_fetch_sub(&live, 1);
  free(p);
}

/* ------------------------------------------------------------------------ */
/* One run.                                                                 */

enum {
  P_TIMER,
  P_IDLE,
  P_ASYNC,
  P_WORK,
  P_FS,
  P_TCP,
  P_UDP,
  P_PIPE,
  P_DNS,
  P_SPAWN,
  P_SIGNAL,
  P_FS_EVENT,
  P_COUNT
};
static const char *const part_name[P_COUNT] = {
    "timer", "idle", "async", "work",  "fs",     "tcp",
    "udp",   "pipe", "dns",   "spawn", "signal", "fs_event"};

static struct {
  art_loop_t loop;
  art_pool_t *pool;
  int done[P_COUNT];
  int err[P_COUNT]; /* each part's first error */
  int ndone;
  art_timer_t master;
  int stuck;
  unsigned long enomem; /* ART_ENOMEM seen by a call or a callback */
  unsigned long other;  /* other errors */
  char dir[64];         /* scratch folder */
  char path[96];        /* a file in it */
} run;

/* A part finished; the last one stops the master timer. */
static void part_done(int part, int err) {
  if (err == ART_ENOMEM)
    run.enomem++;
  else if (err != 0)
    run.other++;
  if (run.done[part])
    return;
  run.done[part] = 1;
  run.err[part] = err;
  if (++run.ndone == P_COUNT)
    art_close((art_handle_t *)&run.master, NULL);
}

static void close_if_open(art_handle_t *h) {
  if (h->loop != NULL && !art_is_closing(h))
    art_close(h, NULL);
}

/* Timer, idle, async, work: one callback each. --------------------------- */

static art_timer_t timer;
static art_idle_t idle;
static art_async_t async;
static art_work_t work;

static void on_timer(art_timer_t *t) {
  art_close((art_handle_t *)t, NULL);
  part_done(P_TIMER, 0);
}

static void on_idle(art_idle_t *h) {
  art_close((art_handle_t *)h, NULL);
  part_done(P_IDLE, 0);
}

static void on_async(art_async_t *a) {
  art_close((art_handle_t *)a, NULL);
  part_done(P_ASYNC, 0);
}

static void work_noop(art_work_t *w) {}

static void after_work(art_work_t *w, int status) {
  part_done(P_WORK, status);
}

static void start_simple(void) {
  int err;
  memset(&timer, 0, sizeof(timer));
  if ((err = art_timer_init(&run.loop, &timer)) != 0 ||
      (err = art_timer_start(&timer, on_timer, 1, 0)) != 0) {
    close_if_open((art_handle_t *)&timer);
    part_done(P_TIMER, err);
  }
  memset(&idle, 0, sizeof(idle));
  if ((err = art_idle_init(&run.loop, &idle)) != 0 ||
      (err = art_idle_start(&idle, on_idle)) != 0) {
    close_if_open((art_handle_t *)&idle);
    part_done(P_IDLE, err);
  }
  memset(&async, 0, sizeof(async));
  if ((err = art_async_init(&run.loop, &async, on_async)) != 0 ||
      (err = art_async_send(&async)) != 0) {
    close_if_open((art_handle_t *)&async);
    part_done(P_ASYNC, err);
  }
  if (run.pool == NULL)
    part_done(P_WORK, ART_ENOMEM);
  else if ((err = art_queue_work(&run.loop, &work, work_noop, after_work)))
    part_done(P_WORK, err);
}

/* File system: a chain of requests, each started from the last one. ------ */

static art_fs_t fs_req;
static int fs_step, fs_fd = -1;
static char fs_data[] = "alloc sweep";

static void fs_next(art_fs_t *req);

static int fs_start(int step) {
  art_buf_t b = art_buf_init(fs_data, sizeof(fs_data) - 1);
  art_loop_t *l = &run.loop;
  switch (step) {
  case 0:
    return art_fs_write_file(l, &fs_req, run.path, fs_data, sizeof(fs_data), 0,
                             fs_next);
  case 1:
    return art_fs_open(l, &fs_req, run.path, O_WRONLY, 0, fs_next);
  case 2:
    return art_fs_write(l, &fs_req, fs_fd, &b, 1, 0, fs_next);
  case 3:
    return art_fs_close(l, &fs_req, fs_fd, fs_next);
  case 4:
    return art_fs_stat(l, &fs_req, run.path, fs_next);
  case 5:
    return art_fs_read_file(l, &fs_req, run.path, fs_next);
  }
  return 1; /* the chain is complete */
}

/* Runs the chain from fs_step on; ends the part at its end or an error. */
static void fs_go(void) {
  int err = fs_start(fs_step);
  if (err == 1 || err < 0) {
    if (fs_fd >= 0)
      close(fs_fd);
    fs_fd = -1;
    part_done(P_FS, err < 0 ? err : 0);
  }
}

static void fs_next(art_fs_t *req) {
  ssize_t r = req->result;
  if (fs_step == 1 && r >= 0)
    fs_fd = (int)r;
  if (fs_step == 3 && r == 0)
    fs_fd = -1;
  art_fs_req_cleanup(req);
  if (r < 0) {
    if (fs_fd >= 0)
      close(fs_fd);
    fs_fd = -1;
    part_done(P_FS, (int)r);
    return;
  }
  fs_step++;
  fs_go();
}

static void start_fs(void) {
  fs_step = 0;
  fs_fd = -1;
  if (run.pool == NULL)
    part_done(P_FS, ART_ENOMEM);
  else
    fs_go();
}

/* TCP: a listener, a client, the accepted end echoing four bytes. -------- */

static art_tcp_t tcp_srv, tcp_cli, tcp_acc;
static art_connect_t tcp_conn;
static art_write_t tcp_w1, tcp_w2;
static char tcp_buf[64], tcp_ping[] = "ping";
static int tcp_open;

static void tcp_closed(art_handle_t *h) {
  if (--tcp_open == 0)
    part_done(P_TCP, 0);
}

static void tcp_end(int err) {
  if (err != 0)
    part_done(P_TCP, err);
  art_handle_t *hs[3] = {(art_handle_t *)&tcp_srv, (art_handle_t *)&tcp_cli,
                         (art_handle_t *)&tcp_acc};
  for (int i = 0; i < 3; i++)
    if (hs[i]->loop != NULL && !art_is_closing(hs[i]))
      art_close(hs[i], tcp_closed);
}

static void tcp_alloc(art_handle_t *h, size_t s, art_buf_t *b) {
  *b = art_buf_init(tcp_buf, sizeof(tcp_buf));
}

static void tcp_wrote(art_write_t *w, int status) {
  if (status != 0 && status != ART_ECANCELED)
    tcp_end(status);
}

static void tcp_echo(art_stream_t *s, ssize_t n, const art_buf_t *b) {
  if (n < 0) {
    tcp_end(n == ART_EOF ? 0 : (int)n);
    return;
  }
  art_buf_t out = art_buf_init(b->base, (size_t)n);
  int err = n > 0 ? art_write(&tcp_w2, s, &out, 1, tcp_wrote) : 0;
  if (err != 0)
    tcp_end(err);
}

static void tcp_back(art_stream_t *s, ssize_t n, const art_buf_t *b) {
  if (n != 0)
    tcp_end(n > 0 ? 0 : (int)n); /* the echo came back, or an error */
}

static void tcp_accepted(art_stream_t *server, int status) {
  int err = status;
  if (err == 0 && tcp_acc.loop == NULL) {
    if ((err = art_tcp_init(&run.loop, &tcp_acc)) == 0)
      tcp_open++;
    if (err == 0 && (err = art_accept(server, (art_stream_t *)&tcp_acc)) == 0)
      err = art_read_start((art_stream_t *)&tcp_acc, tcp_alloc, tcp_echo);
  }
  if (err != 0)
    tcp_end(err);
}

static void tcp_connected(art_connect_t *req, int status) {
  art_buf_t b = art_buf_init(tcp_ping, 4);
  int err = status;
  if (err == 0 && (err = art_read_start((art_stream_t *)&tcp_cli, tcp_alloc,
                                        tcp_back)) == 0)
    err = art_write(&tcp_w1, (art_stream_t *)&tcp_cli, &b, 1, tcp_wrote);
  if (err != 0)
    tcp_end(err);
}

static void start_tcp(void) {
  struct sockaddr_in a;
  int len = sizeof(a), err = 0;
  memset(&tcp_srv, 0, sizeof(tcp_srv));
  memset(&tcp_cli, 0, sizeof(tcp_cli));
  memset(&tcp_acc, 0, sizeof(tcp_acc));
  tcp_open = 0;
  if (art_tcp_init(&run.loop, &tcp_srv) == 0)
    tcp_open++;
  if (art_tcp_init(&run.loop, &tcp_cli) == 0)
    tcp_open++;
  art_ip4_addr("127.0.0.1", 0, &a);
  if ((err = art_tcp_bind(&tcp_srv, (struct sockaddr *)&a, 0)) != 0 ||
      (err = art_listen((art_stream_t *)&tcp_srv, 8, tcp_accepted)) != 0 ||
      (err = art_tcp_getsockname(&tcp_srv, (struct sockaddr *)&a, &len)) ||
      (err = art_tcp_connect(&tcp_conn, &tcp_cli, (struct sockaddr *)&a,
                             tcp_connected)) != 0)
    tcp_end(err);
}

/* UDP: one datagram from one socket to another. -------------------------- */

static art_udp_t udp_a, udp_b;
static art_udp_send_t udp_req;
static char udp_buf[64], udp_msg[] = "datagram";
static int udp_open;

static void udp_closed(art_handle_t *h) {
  if (--udp_open == 0)
    part_done(P_UDP, 0);
}

static void udp_end(int err) {
  if (err != 0)
    part_done(P_UDP, err);
  if (udp_a.loop != NULL && !art_is_closing((art_handle_t *)&udp_a))
    art_close((art_handle_t *)&udp_a, udp_closed);
  if (udp_b.loop != NULL && !art_is_closing((art_handle_t *)&udp_b))
    art_close((art_handle_t *)&udp_b, udp_closed);
}

static void udp_alloc(art_udp_t *h, size_t s, art_buf_t *b) {
  *b = art_buf_init(udp_buf, sizeof(udp_buf));
}

static void udp_recv(art_udp_t *h, ssize_t n, const art_buf_t *b,
                     const struct sockaddr *from, unsigned flags) {
  if (n > 0 || n < 0)
    udp_end(n > 0 ? 0 : (int)n);
}

static void udp_sent(art_udp_send_t *req, int status) {
  if (status != 0 && status != ART_ECANCELED)
    udp_end(status);
}

static void start_udp(void) {
  struct sockaddr_in a;
  int len = sizeof(a), err = 0;
  art_buf_t b = art_buf_init(udp_msg, sizeof(udp_msg));
  memset(&udp_a, 0, sizeof(udp_a));
  memset(&udp_b, 0, sizeof(udp_b));
  udp_open = 0;
  if (art_udp_init(&run.loop, &udp_a) == 0)
    udp_open++;
  if (art_udp_init(&run.loop, &udp_b) == 0)
    udp_open++;
  art_ip4_addr("127.0.0.1", 0, &a);
  if (udp_open < 2 ||
      (err = art_udp_bind(&udp_a, (struct sockaddr *)&a, 0)) != 0 ||
      (err = art_udp_getsockname(&udp_a, (struct sockaddr *)&a, &len)) ||
      (err = art_udp_recv_start(&udp_a, udp_alloc, udp_recv)) != 0 ||
      (err = art_udp_send(&udp_req, &udp_b, &b, 1, (struct sockaddr *)&a,
                          udp_sent)) != 0)
    udp_end(udp_open < 2 ? ART_ENOMEM : err);
}

/* Pipe: a pipe(2) pair, each end a pipe handle, one byte across. --------- */

static art_pipe_t pipe_r, pipe_w;
static art_write_t pipe_wr;
static char pipe_buf[16], pipe_byte[] = "x";
static int pipe_open;

static void pipe_closed(art_handle_t *h) {
  if (--pipe_open == 0)
    part_done(P_PIPE, 0);
}

static void pipe_end(int err) {
  if (err != 0)
    part_done(P_PIPE, err);
  if (pipe_r.loop != NULL && !art_is_closing((art_handle_t *)&pipe_r))
    art_close((art_handle_t *)&pipe_r, pipe_closed);
  if (pipe_w.loop != NULL && !art_is_closing((art_handle_t *)&pipe_w))
    art_close((art_handle_t *)&pipe_w, pipe_closed);
}

static void pipe_alloc(art_handle_t *h, size_t s, art_buf_t *b) {
  *b = art_buf_init(pipe_buf, sizeof(pipe_buf));
}

static void pipe_read(art_stream_t *s, ssize_t n, const art_buf_t *b) {
  if (n != 0)
    pipe_end(n > 0 ? 0 : (int)n);
}

static void pipe_wrote(art_write_t *w, int status) {
  if (status != 0 && status != ART_ECANCELED)
    pipe_end(status);
}

static void start_pipe(void) {
  int fds[2], err = 0;
  art_buf_t b = art_buf_init(pipe_byte, 1);
  memset(&pipe_r, 0, sizeof(pipe_r));
  memset(&pipe_w, 0, sizeof(pipe_w));
  pipe_open = 0;
  if (pipe2(fds, O_CLOEXEC) != 0) {
    part_done(P_PIPE, -errno);
    return;
  }
  if (art_pipe_init(&run.loop, &pipe_r, 0) == 0)
    pipe_open++;
  if (art_pipe_init(&run.loop, &pipe_w, 0) == 0)
    pipe_open++;
  if (pipe_open < 2 || (err = art_pipe_open(&pipe_r, fds[0])) != 0) {
    close(fds[0]);
    close(fds[1]);
    pipe_end(pipe_open < 2 ? ART_ENOMEM : err);
    return;
  }
  if ((err = art_pipe_open(&pipe_w, fds[1])) != 0)
    close(fds[1]);
  if (err != 0 ||
      (err = art_read_start((art_stream_t *)&pipe_r, pipe_alloc, pipe_read)) !=
          0 ||
      (err = art_write(&pipe_wr, (art_stream_t *)&pipe_w, &b, 1, pipe_wrote)) !=
          0)
    pipe_end(err);
}

/* DNS, spawn, signal. ---------------------------------------------------- */

static art_getaddrinfo_t dns_req;
static art_process_t proc;
static art_signal_t sig;

static void on_dns(art_getaddrinfo_t *req, int status, struct addrinfo *res) {
  art_freeaddrinfo(res);
  part_done(P_DNS, status);
}

static void on_exit_cb(art_process_t *p, int64_t status, int term) {
  art_close((art_handle_t *)p, NULL);
  part_done(P_SPAWN, 0);
}

static void on_signal(art_signal_t *h, int signum) {
  art_close((art_handle_t *)h, NULL);
  part_done(P_SIGNAL, 0);
}

static void start_dns_spawn_signal(void) {
  struct addrinfo hints;
  char *args[] = {"true", NULL};
  art_process_options_t opt;
  int err;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (run.pool == NULL)
    part_done(P_DNS, ART_ENOMEM);
  else if ((err = art_getaddrinfo(&run.loop, &dns_req, on_dns, "localhost",
                                  NULL, &hints)) != 0)
    part_done(P_DNS, err);
  memset(&opt, 0, sizeof(opt));
  opt.file = "/bin/true";
  opt.args = args;
  opt.exit_cb = on_exit_cb;
  memset(&proc, 0, sizeof(proc));
  if ((err = art_spawn(&run.loop, &proc, &opt)) != 0) {
    close_if_open((art_handle_t *)&proc);
    part_done(P_SPAWN, err);
  }
  memset(&sig, 0, sizeof(sig));
  if ((err = art_signal_init(&run.loop, &sig)) != 0 ||
      (err = art_signal_start(&sig, on_signal, SIGUSR1)) != 0) {
    close_if_open((art_handle_t *)&sig);
    part_done(P_SIGNAL, err);
    return;
  }
  kill(getpid(), SIGUSR1); /* watched now: it cannot kill us */
}

/* fs_event: a file created in the watched folder. ------------------------ */

static art_fs_event_t fsev;

static void on_fs_event(art_fs_event_t *h, const char *name, int events,
                        int status) {
  if (!art_is_closing((art_handle_t *)h))
    art_close((art_handle_t *)h, NULL);
  part_done(P_FS_EVENT, status);
}

static void start_fs_event(void) {
  char file[128];
  int err;
  memset(&fsev, 0, sizeof(fsev));
  if ((err = art_fs_event_init(&run.loop, &fsev)) != 0 ||
      (err = art_fs_event_start(&fsev, on_fs_event, run.dir, 0)) != 0) {
    close_if_open((art_handle_t *)&fsev);
    part_done(P_FS_EVENT, err);
    return;
  }
  snprintf(file, sizeof(file), "%s/touched", run.dir);
  int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0)
    close(fd);
}

/* ------------------------------------------------------------------------ */
/* The run and the sweep.                                                   */

static void close_any(art_handle_t *h, void *arg) {
  if (!art_is_closing(h))
    art_close(h, NULL);
}

/* A part that never finished: its callback was lost. Everything is closed
 * so that the run still ends and the leak checks mean something. */
static void on_stuck(art_timer_t *t) {
  run.stuck = 1;
  for (int i = 0; i < P_COUNT; i++)
    if (!run.done[i])
      stress_fail("part %s never finished", part_name[i]);
  art_walk(&run.loop, close_any, NULL);
}

static void start_all(void) {
  start_simple();
  start_fs();
  start_tcp();
  start_udp();
  start_pipe();
  start_dns_spawn_signal();
  start_fs_event();
}

/* Runs the program once; returns the loop's close status (0), or 1 if the
 * loop never started (its init failed: nothing to close). */
static int run_once(void) {
  memset(run.done, 0, sizeof(run.done));
  run.ndone = 0;
  run.stuck = 0;
  run.pool = NULL;
  if (art_loop_init(&run.loop) != 0) {
    run.enomem++;
    return 1;
  }
  /* A pool of the run's own, closed with it: the default pool would live
   * on and look like a leak. Without it, the pool's parts are skipped. */
  if (art_pool_init(&run.pool, 2) != 0) {
    run.pool = NULL;
    run.enomem++;
  } else if (art_loop_set_pool(&run.loop, run.pool) != 0) {
    art_pool_close(run.pool);
    run.pool = NULL;
    run.enomem++;
  }
  if (art_timer_init(&run.loop, &run.master) != 0) {
    run.enomem++;
  } else {
    art_timer_start(&run.master, on_stuck, STUCK_MS, 0);
    start_all();
    art_run(&run.loop, ART_RUN_DEFAULT);
  }
  int closed = art_loop_close(&run.loop);
  if (closed == 0 && run.pool != NULL && art_pool_close(run.pool) != 0)
    stress_fail("art_pool_close failed after the loop closed");
  return closed;
}

static int count_fds(void) {
  int n = 0;
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL)
    return -1;
  while (readdir(d) != NULL)
    n++;
  closedir(d);
  return n;
}

/* One run with allocation n failing (0: none). Returns whether an
 * allocation failed; checks leaks and the loop's close. */
static int sweep_one(long n, long base_live) {
  int fds = count_fds();
  char touched[128];
  snprintf(touched, sizeof(touched), "%s/touched", run.dir);
  unlink(touched); /* created anew, so the watcher sees an event */
  unlink(run.path);
  atomic_store(&calls, 0);
  atomic_store(&failed, 0);
  atomic_store(&fail_at, n);
  int closed = run_once();
  atomic_store(&fail_at, 0);
  int hit = atomic_load(&failed);
  if (closed != 0 && closed != 1)
    stress_fail("N=%ld: art_loop_close returned %s", n, art_err_name(closed));
  if (atomic_load(&live) != base_live)
    stress_fail("N=%ld: %ld blocks leaked", n, atomic_load(&live) - base_live);
  if (count_fds() != fds)
    stress_fail("N=%ld: %d fds leaked", n, count_fds() - fds);
  if (run.stuck)
    stress_fail("N=%ld: the run hung", n);
  return hit;
}

int main(int argc, char **argv) {
  long max_n = argc > 1 ? stress_arg(argv[1], 1, 1000000) : 5000;
  unsigned secs = argc > 2 ? (unsigned)stress_arg(argv[2], 1, 3600) : 120;
  stress_watchdog("stress_alloc_sweep", secs);
  snprintf(run.dir, sizeof(run.dir), "/tmp/art_sweep_XXXXXX");
  if (mkdtemp(run.dir) == NULL)
    return STRESS_FAIL;
  snprintf(run.path, sizeof(run.path), "%s/data", run.dir);
  art_replace_allocator(sweep_malloc, sweep_realloc, sweep_calloc, sweep_free);
  /* A first run with no failure: what the process keeps for good (signal
   * tables...) is allocated once here and is the baseline after it. */
  sweep_one(0, atomic_load(&live));
  long per_run = atomic_load(&calls), base = atomic_load(&live);
  long n;
  int failures_before = stress_failures;
  for (n = 1; n <= max_n && stress_failures == failures_before; n++)
    if (!sweep_one(n, base))
      break;
  stress_figure("allocations_per_run", "%ld", per_run);
  stress_figure("baseline_live_blocks", "%ld", base);
  stress_figure("runs", "%ld", n);
  stress_figure("enomem_seen", "%lu", run.enomem);
  /* The last run met no failure: every part must have worked in it. */
  for (int i = 0; i < P_COUNT; i++)
    if (!run.done[i] || run.err[i] != 0)
      stress_fail("part %s failed in the run without a failure: %s",
                  part_name[i], art_err_name(run.err[i]));
  stress_figure("other_errors_seen", "%lu", run.other);
  if (n > max_n && stress_failures == failures_before)
    stress_fail("still failing after %ld runs", max_n);
  char path[128];
  snprintf(path, sizeof(path), "%s/touched", run.dir);
  unlink(path);
  unlink(run.path);
  rmdir(run.dir);
  stress_figure("result", "%s", stress_failures ? "FAIL" : "pass");
  return stress_failures ? STRESS_FAIL : 0;
}
