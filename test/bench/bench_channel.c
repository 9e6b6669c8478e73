/* Message channels between two loops on two threads, against the two
 * usual substitutes, in one run:
 *   port   a channel's two ports (art_port_send of a 64-byte copy);
 *   pipe   a pipe written and read by the same two loops (a 64-byte
 *          write(2) per message from an art_poll watcher, reads of up to
 *          64 KiB, each message counted by its bytes);
 *   uv     libuv's uv_async_t plus a mutex-protected queue of malloc'd
 *          64-byte copies (built when libuv is installed).
 * 1. one way: the main thread's loop sends N messages to the other
 *    thread's loop; messages per second from the first send to the last
 *    delivery. The port sender stops at its high-water mark and resumes on
 *    drain; the pipe sender at EAGAIN; the uv sender has no bound.
 * 2. ping-pong: one message in flight, echoed back; round trips per
 *    second.
 * Each workload runs BENCH_ROUNDS times (default 3) in turn A B C A B C;
 * medians are reported with the port's ratio to each, per wall-clock
 * second and per second of the process's CPU time (the figure to compare
 * on a machine shared with other work).
 * Usage: bench_channel [messages one way] [round trips] [workload]
 * A workload name (port-oneway, pipe-oneway, uv-oneway, port-pingpong,
 * pipe-pingpong, uv-pingpong) runs that one once, for profilers. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <asyncrt.h>
#ifdef ART_HAVE_LIBUV
#include <uv.h>
#endif

#include "common.h"

#define MSG 64

static long n_oneway = 2000000;
static long n_pingpong = 100000;

/* What one run of a workload shares between its two threads. */
typedef struct {
  long target;   /* messages (one way) or round trips */
  long sent;     /* producer side */
  long got;      /* consumer side */
  int pong;      /* ping-pong: the consumer echoes */
  double t0, t1; /* first send, last delivery (bench_now) */
} run_t;

static run_t R;

/* Messages (or round trips) per second of CPU time of the whole process,
 * both threads and the kernel's work for them: unlike the wall clock, it
 * does not count the time other processes on a shared machine took. Set
 * by every run. */
static double cpu_rate;

static double process_cpu(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The run's rates from its wall-clock window and its CPU time. */
static double rates(long target, double cpu0) {
  cpu_rate = target / (process_cpu() - cpu0);
  return target / (R.t1 - R.t0);
}

/* ---- Ports. ---- */

typedef struct {
  art_loop_t loop;
  art_port_t port;
  art_channel_t *ch;
  pthread_t th;
} far_t;

static art_port_t near_port;
static art_idle_t near_kick;

static void port_fill(art_port_t *port) {
  char buf[MSG] = {0};
  while (R.sent < R.target && !art_port_needs_drain(port)) {
    if (art_port_send(port, buf, MSG) != 0)
      abort();
    R.sent++;
  }
}

static void port_drained(art_port_t *port) {
  port_fill(port);
}

static void far_msg(art_port_t *port, const art_port_msg_t *msg) {
  if (R.pong) {
    art_port_send(port, msg->data, msg->len);
    return;
  }
  if (++R.got == R.target) {
    R.t1 = bench_now();
    art_close((art_handle_t *)port, NULL);
  }
}

static void far_end(art_port_t *port) {
  art_close((art_handle_t *)port, NULL);
}

static void *far_main(void *arg) {
  far_t *f = arg;
  art_loop_init(&f->loop);
  art_port_open(&f->loop, &f->port, f->ch, 1);
  art_port_on_end(&f->port, far_end);
  art_port_start(&f->port, far_msg);
  art_run(&f->loop, ART_RUN_DEFAULT);
  art_loop_close(&f->loop);
  return NULL;
}

static void near_end(art_port_t *port) {
  art_close((art_handle_t *)port, NULL);
}

static void near_pong(art_port_t *port, const art_port_msg_t *msg) {
  if (++R.got == R.target) {
    R.t1 = bench_now();
    art_close((art_handle_t *)port, NULL);
    return;
  }
  art_port_send(port, msg->data, msg->len);
}

static void near_ignore(art_port_t *port, const art_port_msg_t *msg) {
  (void)port;
  (void)msg;
}

/* Starts sending from inside the loop, once the far side is up. */
static void near_start(art_idle_t *idle) {
  char buf[MSG] = {0};
  art_idle_stop(idle);
  R.t0 = bench_now();
  if (R.pong)
    art_port_send(&near_port, buf, MSG);
  else
    port_fill(&near_port);
}

static double run_port(int pong, long target) {
  double cpu0 = process_cpu();
  art_loop_t loop;
  far_t f;
  memset(&R, 0, sizeof(R));
  R.target = target;
  R.pong = pong;
  art_loop_init(&loop);
  art_channel_new(&f.ch);
  art_port_open(&loop, &near_port, f.ch, 0);
  art_port_on_end(&near_port, near_end);
  art_port_on_drain(&near_port, port_drained);
  art_port_start(&near_port, pong ? near_pong : near_ignore);
  pthread_create(&f.th, NULL, far_main, &f);
  art_idle_init(&loop, &near_kick);
  art_idle_start(&near_kick, near_start);
  art_run(&loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&near_kick, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  pthread_join(f.th, NULL);
  art_loop_close(&loop);
  return rates(target, cpu0);
}

static double port_oneway(void) {
  return run_port(0, n_oneway);
}

static double port_pingpong(void) {
  return run_port(1, n_pingpong);
}

/* ---- A pipe per direction, watched with art_poll. ---- */

typedef struct {
  art_loop_t loop;
  art_poll_t rd, wr; /* reads to[0]; writes back[1] (ping-pong) */
  int to[2], back[2];
  pthread_t th;
  long pending; /* ping-pong: echoes not yet written */
} pipe_far_t;

static art_poll_t pn_wr, pn_rd;
static int pn_wfd, pn_rfd;
static long pn_pending; /* near side: bytes of a message still to write */

/* Reads what is there and counts the whole messages: -1 at EOF. */
static long pipe_take(int fd, long *partial) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof(buf));
  if (n == 0)
    return -1;
  if (n < 0)
    return 0;
  *partial += n;
  long msgs = *partial / MSG;
  *partial %= MSG;
  return msgs;
}

static int write_msg(int fd) {
  char buf[MSG] = {0};
  return write(fd, buf, MSG) == MSG;
}

static void pipe_far_write(art_poll_t *p, int status, int events) {
  pipe_far_t *f = p->data;
  (void)status;
  (void)events;
  while (f->pending > 0 && write_msg(f->back[1]))
    f->pending--;
  if (f->pending == 0)
    art_poll_stop(p);
}

static void pipe_far_read(art_poll_t *p, int status, int events) {
  static long partial;
  pipe_far_t *f = p->data;
  (void)status;
  (void)events;
  long msgs = pipe_take(f->to[0], &partial);
  if (msgs < 0) { /* the near side is done */
    art_close((art_handle_t *)&f->rd, NULL);
    art_close((art_handle_t *)&f->wr, NULL);
    return;
  }
  if (R.pong) {
    f->pending += msgs;
    pipe_far_write(&f->wr, 0, 0);
    if (f->pending > 0)
      art_poll_start(&f->wr, ART_WRITABLE, pipe_far_write);
    return;
  }
  R.got += msgs;
  if (R.got >= R.target) {
    R.t1 = bench_now();
    art_close((art_handle_t *)&f->rd, NULL);
    art_close((art_handle_t *)&f->wr, NULL);
  }
}

static void *pipe_far_main(void *arg) {
  pipe_far_t *f = arg;
  art_loop_init(&f->loop);
  art_poll_init(&f->loop, &f->rd, f->to[0]);
  art_poll_init(&f->loop, &f->wr, f->back[1]);
  f->rd.data = f->wr.data = f;
  art_poll_start(&f->rd, ART_READABLE, pipe_far_read);
  art_run(&f->loop, ART_RUN_DEFAULT);
  art_loop_close(&f->loop);
  return NULL;
}

static void pipe_near_write(art_poll_t *p, int status, int events) {
  (void)status;
  (void)events;
  if (R.pong) {
    if (pn_pending && write_msg(pn_wfd))
      pn_pending = 0;
    if (!pn_pending)
      art_poll_stop(p);
    return;
  }
  while (R.sent < R.target && write_msg(pn_wfd))
    R.sent++;
  if (R.sent == R.target)
    art_poll_stop(p);
}

static void pipe_near_read(art_poll_t *p, int status, int events) {
  static long partial;
  (void)status;
  (void)events;
  long msgs = pipe_take(pn_rfd, &partial);
  if (msgs <= 0)
    return;
  R.got += msgs;
  if (R.got >= R.target) {
    R.t1 = bench_now();
    art_close((art_handle_t *)p, NULL);
    art_close((art_handle_t *)&pn_wr, NULL);
    return;
  }
  pn_pending = 1;
  pipe_near_write(&pn_wr, 0, 0);
  if (pn_pending)
    art_poll_start(&pn_wr, ART_WRITABLE, pipe_near_write);
}

static double run_pipe(int pong, long target) {
  double cpu0 = process_cpu();
  art_loop_t loop;
  pipe_far_t f;
  memset(&R, 0, sizeof(R));
  memset(&f, 0, sizeof(f));
  R.target = target;
  R.pong = pong;
  if (pipe2(f.to, O_CLOEXEC | O_NONBLOCK) ||
      pipe2(f.back, O_CLOEXEC | O_NONBLOCK))
    abort();
  pn_wfd = f.to[1];
  pn_rfd = f.back[0];
  pn_pending = 0;
  art_loop_init(&loop);
  art_poll_init(&loop, &pn_wr, pn_wfd);
  art_poll_init(&loop, &pn_rd, pn_rfd);
  pthread_create(&f.th, NULL, pipe_far_main, &f);
  R.t0 = bench_now();
  if (pong) {
    art_poll_start(&pn_rd, ART_READABLE, pipe_near_read);
    pn_pending = 1;
  } else {
    art_close((art_handle_t *)&pn_rd, NULL);
  }
  art_poll_start(&pn_wr, ART_WRITABLE, pipe_near_write);
  art_run(&loop, ART_RUN_DEFAULT);
  if (!art_is_closing((art_handle_t *)&pn_wr))
    art_close((art_handle_t *)&pn_wr, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  close(f.to[1]); /* EOF: the far side, if still reading, closes */
  pthread_join(f.th, NULL);
  art_loop_close(&loop);
  close(f.to[0]);
  close(f.back[0]);
  close(f.back[1]);
  return rates(target, cpu0);
}

static double pipe_oneway(void) {
  return run_pipe(0, n_oneway / 4);
}

static double pipe_pingpong(void) {
  return run_pipe(1, n_pingpong);
}

#ifdef ART_HAVE_LIBUV
/* ---- libuv: uv_async_t and a mutex-protected queue per direction. ---- */

typedef struct qmsg {
  struct qmsg *next;
  char data[MSG];
} qmsg_t;

typedef struct {
  uv_mutex_t lock;
  qmsg_t *head, *tail;
  uv_async_t async; /* on the receiving loop */
} uvq_t;

static uvq_t to_far, to_near;
static uv_loop_t uv_far_loop;
static uv_idle_t uv_kick;

static void q_push(uvq_t *q, const char *data) {
  qmsg_t *m = malloc(sizeof(*m));
  memcpy(m->data, data, MSG);
  m->next = NULL;
  uv_mutex_lock(&q->lock);
  if (q->tail)
    q->tail->next = m;
  else
    q->head = m;
  q->tail = m;
  uv_mutex_unlock(&q->lock);
  uv_async_send(&q->async);
}

static qmsg_t *q_take(uvq_t *q) {
  uv_mutex_lock(&q->lock);
  qmsg_t *m = q->head;
  q->head = q->tail = NULL;
  uv_mutex_unlock(&q->lock);
  return m;
}

static void uv_far_cb(uv_async_t *a) {
  qmsg_t *m = q_take(&to_far);
  while (m) {
    qmsg_t *next = m->next;
    if (R.pong) {
      q_push(&to_near, m->data);
    } else if (++R.got == R.target) {
      R.t1 = bench_now();
      uv_close((uv_handle_t *)a, NULL);
    }
    free(m);
    m = next;
  }
}

static void uv_near_cb(uv_async_t *a) {
  qmsg_t *m = q_take(&to_near);
  while (m) {
    qmsg_t *next = m->next;
    if (++R.got == R.target) {
      R.t1 = bench_now();
      uv_close((uv_handle_t *)a, NULL);
    } else if (R.got < R.target) {
      q_push(&to_far, m->data);
    }
    free(m);
    m = next;
  }
}

static int uv_far_stop; /* atomic: ping-pong is over */

static void uv_far_pong_cb(uv_async_t *a) {
  if (__atomic_load_n(&uv_far_stop, __ATOMIC_ACQUIRE)) {
    qmsg_t *m = q_take(&to_far);
    while (m) {
      qmsg_t *next = m->next;
      free(m);
      m = next;
    }
    uv_close((uv_handle_t *)a, NULL);
    return;
  }
  uv_far_cb(a);
}

static void *uv_far_main(void *arg) {
  (void)arg;
  uv_run(&uv_far_loop, UV_RUN_DEFAULT);
  return NULL;
}

static void uv_send_burst(uv_idle_t *idle) {
  char buf[MSG] = {0};
  if (R.sent == 0)
    R.t0 = bench_now();
  if (R.pong) {
    q_push(&to_far, buf);
    uv_idle_stop(idle);
    return;
  }
  for (int i = 0; i < 1024 && R.sent < R.target; i++, R.sent++)
    q_push(&to_far, buf);
  if (R.sent == R.target)
    uv_idle_stop(idle);
}

static double run_uv(int pong, long target) {
  double cpu0 = process_cpu();
  uv_loop_t loop;
  pthread_t th;
  memset(&R, 0, sizeof(R));
  R.target = target;
  R.pong = pong;
  __atomic_store_n(&uv_far_stop, 0, __ATOMIC_RELEASE);
  uv_loop_init(&loop);
  uv_loop_init(&uv_far_loop);
  memset(&to_far, 0, sizeof(to_far));
  memset(&to_near, 0, sizeof(to_near));
  uv_mutex_init(&to_far.lock);
  uv_mutex_init(&to_near.lock);
  uv_async_init(&uv_far_loop, &to_far.async, pong ? uv_far_pong_cb : uv_far_cb);
  uv_async_init(&loop, &to_near.async, uv_near_cb);
  if (!pong)
    uv_close((uv_handle_t *)&to_near.async, NULL);
  pthread_create(&th, NULL, uv_far_main, NULL);
  uv_idle_init(&loop, &uv_kick);
  uv_idle_start(&uv_kick, uv_send_burst);
  uv_run(&loop, UV_RUN_DEFAULT);
  if (pong) {
    __atomic_store_n(&uv_far_stop, 1, __ATOMIC_RELEASE);
    uv_async_send(&to_far.async);
  }
  uv_close((uv_handle_t *)&uv_kick, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  pthread_join(th, NULL);
  uv_loop_close(&uv_far_loop);
  uv_loop_close(&loop);
  uv_mutex_destroy(&to_far.lock);
  uv_mutex_destroy(&to_near.lock);
  return rates(target, cpu0);
}

static double uv_oneway(void) {
  return run_uv(0, n_oneway);
}

static double uv_pingpong(void) {
  return run_uv(1, n_pingpong);
}
#endif

static void report(const char *what, const char *unit, bench_medians_t *m) {
  printf("%s (%s, wall clock): port %.0f, pipe %.0f", what, unit, m[0].rate,
         m[1].rate);
  if (m[2].rate > 0)
    printf(", libuv async+queue %.0f", m[2].rate);
  printf("; port/pipe %.2fx", m[0].rate / m[1].rate);
  if (m[2].rate > 0)
    printf(", port/libuv %.2fx", m[0].rate / m[2].rate);
  printf("\n%s (%s per CPU second): port %.0f, pipe %.0f", what, unit, m[0].cpu,
         m[1].cpu);
  if (m[2].cpu > 0)
    printf(", libuv async+queue %.0f", m[2].cpu);
  printf("; port/pipe %.2fx", m[0].cpu / m[1].cpu);
  if (m[2].cpu > 0)
    printf(", port/libuv %.2fx", m[0].cpu / m[2].cpu);
  printf("\n");
}

int main(int argc, char **argv) {
  if (argc > 1)
    n_oneway = atol(argv[1]);
  if (argc > 2)
    n_pingpong = atol(argv[2]);
  const bench_run_fn oneway[3] = {port_oneway, pipe_oneway,
                                  BENCH_UV(uv_oneway)};
  const bench_run_fn pingpong[3] = {port_pingpong, pipe_pingpong,
                                    BENCH_UV(uv_pingpong)};
  if (argc > 3) {
    const char *const names[6] = {"port-oneway",   "pipe-oneway",
                                  "uv-oneway",     "port-pingpong",
                                  "pipe-pingpong", "uv-pingpong"};
    const bench_run_fn all[6] = {oneway[0],   oneway[1],   oneway[2],
                                 pingpong[0], pingpong[1], pingpong[2]};
    printf("%s: %.0f per s\n", argv[3],
           bench_run_named(argv[3], names, all, 6));
    return 0;
  }
  bench_medians_t m[3];
  printf("bench_channel: %d-byte messages, %d rounds, medians\n", MSG,
         bench_rounds());
  bench_alternate(oneway, 3, &cpu_rate, m);
  report("one way", "messages/s", m);
  bench_alternate(pingpong, 3, &cpu_rate, m);
  report("ping-pong", "round trips/s", m);
  return 0;
}
