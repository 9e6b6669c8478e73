/* Spawning children, libasyncrt against libuv in the same run.
 *
 * 1. true: spawn /bin/true and wait for its exit, one at a time.
 * 2. true x4: the same with 4 children in flight.
 * 3. pipe: spawn /bin/echo with its stdout on a pipe, read it to the end and
 *    wait for the exit (the BENCHMARKING.md reference workload).
 * 4. true again from a parent with 256 MiB resident: what fork (libuv)
 *    pays in page-table copies and a CLONE_VM child does not.
 * Rounds alternate libasyncrt and libuv (BENCH_ROUNDS, default 3); medians
 * of spawns per second are compared.
 * Usage: bench_spawn [children per round] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define MAX_PAR 4

static int total = 400; /* children per round */
static int started, done, par, with_pipe;
static char read_buf[65536];
static char *true_args[] = {"/bin/true", NULL};
static char *echo_args[] = {"/bin/echo", "hello", NULL};

/* ---- libasyncrt ---- */

typedef struct {
  art_process_t proc;
  art_pipe_t out;
  int pending; /* exit and EOF still to come */
} art_child_t;

static art_loop_t art_loop;
static art_child_t art_kids[MAX_PAR];
static void art_start(art_child_t *k);

static void art_closed(art_handle_t *h) {
  art_child_t *k = h->data;
  if (--k->pending == 0 && started < total)
    art_start(k);
}

static void art_exit(art_process_t *p, int64_t status, int sig) {
  done++;
  art_close((art_handle_t *)p, art_closed);
}

static void art_alloc(art_handle_t *h, size_t n, art_buf_t *buf) {
  *buf = art_buf_init(read_buf, sizeof(read_buf));
}

static void art_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n < 0)
    art_close((art_handle_t *)s, art_closed);
}

static void art_start(art_child_t *k) {
  art_stdio_container_t stdio[3] = {
      {ART_IGNORE, {.fd = 0}},
      {with_pipe ? ART_CREATE_PIPE | ART_WRITABLE_PIPE : ART_IGNORE,
       {.stream = (art_stream_t *)&k->out}},
      {ART_INHERIT_FD, {.fd = 2}}};
  art_process_options_t o = {.exit_cb = art_exit,
                             .file = with_pipe ? echo_args[0] : true_args[0],
                             .args = with_pipe ? echo_args : true_args,
                             .stdio_count = 3,
                             .stdio = stdio};
  k->pending = 1;
  if (with_pipe) {
    art_pipe_init(&art_loop, &k->out, 0);
    k->out.data = k;
    k->pending = 2;
  }
  if (art_spawn(&art_loop, &k->proc, &o) != 0) {
    fprintf(stderr, "art_spawn failed\n");
    exit(1);
  }
  k->proc.data = k;
  started++;
  if (with_pipe)
    art_read_start((art_stream_t *)&k->out, art_alloc, art_read);
}

static double run_art(void) {
  started = done = 0;
  art_loop_init(&art_loop);
  double t0 = bench_now();
  for (int i = 0; i < par; i++)
    art_start(&art_kids[i]);
  art_run(&art_loop, ART_RUN_DEFAULT);
  double t = bench_now() - t0;
  art_loop_close(&art_loop);
  return done / t;
}

/* ---- libuv ---- */
#ifdef ART_HAVE_LIBUV
typedef struct {
  uv_process_t proc;
  uv_pipe_t out;
  int pending;
} uv_child_t;

static uv_loop_t uv_loop;
static uv_child_t uv_kids[MAX_PAR];
static void uv_start(uv_child_t *k);

static void uv_closed(uv_handle_t *h) {
  uv_child_t *k = h->data;
  if (--k->pending == 0 && started < total)
    uv_start(k);
}

static void uv_exit(uv_process_t *p, int64_t status, int sig) {
  done++;
  uv_close((uv_handle_t *)p, uv_closed);
}

static void uv_alloc(uv_handle_t *h, size_t n, uv_buf_t *buf) {
  *buf = uv_buf_init(read_buf, sizeof(read_buf));
}

static void uv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  if (n < 0)
    uv_close((uv_handle_t *)s, uv_closed);
}

static void uv_start(uv_child_t *k) {
  uv_stdio_container_t stdio[3] = {
      {UV_IGNORE, {.fd = 0}},
      {with_pipe ? UV_CREATE_PIPE | UV_WRITABLE_PIPE : UV_IGNORE,
       {.stream = (uv_stream_t *)&k->out}},
      {UV_INHERIT_FD, {.fd = 2}}};
  uv_process_options_t o;
  memset(&o, 0, sizeof(o));
  o.exit_cb = uv_exit;
  o.file = with_pipe ? echo_args[0] : true_args[0];
  o.args = with_pipe ? echo_args : true_args;
  o.stdio_count = 3;
  o.stdio = stdio;
  k->pending = 1;
  if (with_pipe) {
    uv_pipe_init(&uv_loop, &k->out, 0);
    k->out.data = k;
    k->pending = 2;
  }
  k->proc.data = k;
  if (uv_spawn(&uv_loop, &k->proc, &o) != 0) {
    fprintf(stderr, "uv_spawn failed\n");
    exit(1);
  }
  started++;
  if (with_pipe)
    uv_read_start((uv_stream_t *)&k->out, uv_alloc, uv_read);
}

static double run_uv(void) {
  started = done = 0;
  uv_loop_init(&uv_loop);
  double t0 = bench_now();
  for (int i = 0; i < par; i++)
    uv_start(&uv_kids[i]);
  uv_run(&uv_loop, UV_RUN_DEFAULT);
  double t = bench_now() - t0;
  uv_loop_close(&uv_loop);
  return done / t;
}
#endif

static void measure(const char *name, int parallel, int pipe_stdout) {
  const bench_run_fn runs[] = {run_art, BENCH_UV(run_uv)};
  bench_medians_t m[2];
  par = parallel;
  with_pipe = pipe_stdout;
  bench_alternate(runs, 2, NULL, m);
  bench_report(name, "spawns/s", m[0].rate, m[1].rate);
}

int main(int argc, char **argv) {
  if (argc > 1)
    total = atoi(argv[1]);
  measure("spawn /bin/true, 1 at a time", 1, 0);
  measure("spawn /bin/true, 4 in flight", 4, 0);
  measure("spawn /bin/echo + stdout pipe + exit", 1, 1);
  size_t big = (size_t)256 << 20;
  char *ballast = malloc(big);
  if (ballast == NULL)
    return 1;
  memset(ballast, 1, big);
  measure("spawn /bin/true, parent RSS 256 MiB", 1, 0);
  free(ballast);
  return 0;
}
