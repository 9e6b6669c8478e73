/* The handle lifecycle shared by every type: close rules, start and stop
 * after close (a table of every type), ref/unref and liveness, walk,
 * debugging output, type names, and getters given a handle of another
 * type. */
#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/handle.h"
#include "helpers/harness.h"

static int closed;
static uint64_t close_iteration;

static void count_close_cb(art_handle_t *h) {
  art_loop_metrics_t m;
  art_loop_metrics(h->loop, &m);
  close_iteration = m.iterations;
  assert_int_equal(art_loop_phase(h->loop), ART_PHASE_CLOSE);
  assert_int_equal(art_is_closing(h), 1);
  assert_int_equal(art_is_active(h), 0);
  closed++;
}

static void never_timer_cb(art_timer_t *t) {
  fail_msg("closed timer fired");
}

/* close_cb runs in the close phase of the iteration art_close was called
 * in, not later; the handle is not active meanwhile and never fires. */
static art_timer_t victim;
static uint64_t closed_in_iteration;

static void closer_idle_cb(art_idle_t *i) {
  art_loop_metrics_t m;
  art_loop_metrics(i->loop, &m);
  closed_in_iteration = m.iterations;
  assert_int_equal(art_close((art_handle_t *)&victim, count_close_cb), 0);
  assert_int_equal(art_close((art_handle_t *)i, NULL), 0);
}

ART_TEST(close_cb_runs_in_same_iteration) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t i;
  closed = 0;
  assert_int_equal(art_timer_init(loop, &victim), 0);
  assert_int_equal(art_timer_start(&victim, never_timer_cb, 1000, 0), 0);
  assert_int_equal(art_idle_init(loop, &i), 0);
  assert_int_equal(art_idle_start(&i, closer_idle_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  assert_int_equal(close_iteration, closed_in_iteration);
  /* Closed before art_run: the first iteration finishes it. */
  art_timer_t t;
  closed = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, never_timer_cb, 0, 0), 0);
  assert_int_equal(art_close((art_handle_t *)&t, count_close_cb), 0);
  assert_int_equal(art_is_closing((art_handle_t *)&t), 1);
  assert_int_equal(art_loop_alive(loop), 1);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(closed, 1);
}

/* The handle's memory is reused from inside close_cb: freed, or made into
 * a new handle of another type that is closed again. */
static int reuse_stage, reused;

static void free_close_cb(art_handle_t *h) {
  memset(h, 0xA5, sizeof(art_timer_t)); /* poison before freeing */
  free(h);
  reuse_stage++;
}

static void reuse_close_cb(art_handle_t *h) {
  art_loop_t *loop = h->loop;
  reuse_stage++;
  if (!reused) { /* the timer's callback, whichever close ran first */
    reused = 1;
    /* The memory of a timer becomes an idle handle, closed at once. */
    memset(h, 0x5A, sizeof(art_timer_t));
    art_idle_t *i = (art_idle_t *)(void *)h;
    assert_int_equal(art_idle_init(loop, i), 0);
    assert_int_equal(art_close((art_handle_t *)i, reuse_close_cb), 0);
  }
}

ART_TEST(memory_reused_inside_close_cb) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  union {
    art_timer_t t;
    art_idle_t i;
  } *u = malloc(sizeof(*u));
  art_timer_t *heap_timer = malloc(sizeof(art_timer_t));
  reuse_stage = reused = 0;
  assert_int_equal(art_timer_init(loop, &u->t), 0);
  assert_int_equal(art_timer_start(&u->t, never_timer_cb, 0, 5), 0);
  assert_int_equal(art_timer_init(loop, heap_timer), 0);
  assert_int_equal(art_timer_start(heap_timer, never_timer_cb, 0, 5), 0);
  assert_int_equal(art_close((art_handle_t *)&u->t, reuse_close_cb), 0);
  assert_int_equal(art_close((art_handle_t *)heap_timer, free_close_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(reuse_stage, 3);
  free(u);
}

/* The close phase runs the last closed first, as libuv's closing stack
 * does and Node programs observe; a handle closed by a close callback
 * waits for the next iteration's close phase, whatever its place. */
static char close_order[64];
static art_handle_t *closed_by_b;

static void note_close_cb(art_handle_t *h) {
  strcat(close_order, h->data);
  if (strcmp(h->data, "b") == 0)
    assert_int_equal(art_close(closed_by_b, note_close_cb), 0);
}

ART_TEST(close_callbacks_newest_first) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t[4];
  static char *names[] = {"a", "b", "c", "d"};
  close_order[0] = 0;
  closed_by_b = (art_handle_t *)&t[3];
  for (int i = 0; i < 4; i++) {
    assert_int_equal(art_timer_init(loop, &t[i]), 0);
    t[i].data = names[i];
  }
  for (int i = 0; i < 3; i++)
    assert_int_equal(art_close((art_handle_t *)&t[i], note_close_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 1); /* d closing */
  assert_string_equal(close_order, "cba");
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_string_equal(close_order, "cbad");
}

ART_TEST(close_twice_and_start_after_close) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_check_t c;
  closed = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_close((art_handle_t *)&t, count_close_cb), 0);
  assert_int_equal(art_close((art_handle_t *)&t, count_close_cb), ART_EINVAL);
  assert_int_equal(art_timer_start(&t, never_timer_cb, 0, 0), ART_EINVAL);
  assert_int_equal(art_close((art_handle_t *)&c, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  /* Closed for good: still refused, and close_cb never runs twice. */
  assert_int_equal(art_close((art_handle_t *)&t, count_close_cb), ART_EINVAL);
  assert_int_equal(art_timer_start(&t, never_timer_cb, 0, 0), ART_EINVAL);
  assert_int_equal(art_is_closing((art_handle_t *)&t), 1);
  assert_int_equal(art_is_active((art_handle_t *)&t), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(closed, 1);
  assert_int_equal(art_close(NULL, NULL), ART_EINVAL);
}

static int udp_bound(art_loop_t *loop, art_udp_t *u) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(art_udp_init(loop, u), 0);
  return art_udp_bind(u, (const struct sockaddr *)&a, 0);
}

/* ---- Start and stop after art_close, for every type. ----
 * The rule (docs/design.md, section 3): once art_close was called, a start
 * function returns ART_EINVAL and a stop function returns 0 and does
 * nothing, both while the handle is closing and after its close callback
 * ran. Each row makes a started handle of one type; the test closes it and
 * calls the type's start and stop in both states. */

typedef union {
  art_timer_t timer;
  art_idle_t idle;
  art_prepare_t prepare;
  art_check_t check;
  art_async_t async;
  art_poll_t poll;
  art_udp_t udp;
  art_tcp_t tcp;
  art_pipe_t pipe;
  art_fs_event_t fs_event;
  art_fs_poll_t fs_poll;
  art_signal_t signal;
} any_handle_t;

static int row_fds[2] = {-1, -1}; /* a socketpair a row may use */

static void noop_timer(art_timer_t *t) {}
static void noop_idle(art_idle_t *h) {}
static void noop_prepare(art_prepare_t *h) {}
static void noop_check(art_check_t *h) {}
static void noop_async(art_async_t *h) {}
static void noop_poll(art_poll_t *p, int status, int events) {}
static void noop_udp_alloc(art_udp_t *h, size_t n, art_buf_t *buf) {}
static void noop_udp_recv(art_udp_t *h, ssize_t n, const art_buf_t *buf,
                          const struct sockaddr *addr, unsigned flags) {}
static void noop_alloc(art_handle_t *h, size_t n, art_buf_t *buf) {}
static void noop_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {}
static void noop_connection(art_stream_t *s, int status) {}
static void noop_fs_event(art_fs_event_t *h, const char *name, int events,
                          int status) {}
static void noop_fs_poll(art_fs_poll_t *h, int status, const art_stat_t *prev,
                         const art_stat_t *curr) {}

static void socket_pair(void) {
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, row_fds),
                   0);
}

static int start_timer(any_handle_t *h) {
  return art_timer_start(&h->timer, noop_timer, 1000, 0);
}
static int stop_timer(any_handle_t *h) {
  return art_timer_stop(&h->timer);
}
static int again_timer(any_handle_t *h) {
  return art_timer_again(&h->timer);
}
static int make_timer(art_loop_t *loop, any_handle_t *h) {
  int err = art_timer_init(loop, &h->timer);
  return err ? err : start_timer(h);
}

#define PHASE_ROW_FNS(name)                                                    \
  static int start_##name(any_handle_t *h) {                                   \
    return art_##name##_start(&h->name, noop_##name);                          \
  }                                                                            \
  static int stop_##name(any_handle_t *h) {                                    \
    return art_##name##_stop(&h->name);                                        \
  }                                                                            \
  static int make_##name(art_loop_t *loop, any_handle_t *h) {                  \
    int err = art_##name##_init(loop, &h->name);                               \
    return err ? err : start_##name(h);                                        \
  }
PHASE_ROW_FNS(idle)
PHASE_ROW_FNS(prepare)
PHASE_ROW_FNS(check)

static int start_async(any_handle_t *h) {
  return art_async_send(&h->async);
}
static int make_async(art_loop_t *loop, any_handle_t *h) {
  return art_async_init(loop, &h->async, noop_async);
}

static int start_poll(any_handle_t *h) {
  return art_poll_start(&h->poll, ART_READABLE, noop_poll);
}
static int stop_poll(any_handle_t *h) {
  return art_poll_stop(&h->poll);
}
static int make_poll(art_loop_t *loop, any_handle_t *h) {
  socket_pair();
  int err = art_poll_init(loop, &h->poll, row_fds[0]);
  return err ? err : start_poll(h);
}

static int start_udp(any_handle_t *h) {
  return art_udp_recv_start(&h->udp, noop_udp_alloc, noop_udp_recv);
}
static int stop_udp(any_handle_t *h) {
  return art_udp_recv_stop(&h->udp);
}
static int make_udp(art_loop_t *loop, any_handle_t *h) {
  int err = udp_bound(loop, &h->udp);
  return err ? err : start_udp(h);
}

static int start_read(any_handle_t *h) {
  return art_read_start((art_stream_t *)&h->pipe, noop_alloc, noop_read);
}
static int stop_read(any_handle_t *h) {
  return art_read_stop((art_stream_t *)&h->pipe);
}
static int make_pipe(art_loop_t *loop, any_handle_t *h) {
  socket_pair();
  int err = art_pipe_init(loop, &h->pipe, 0);
  if (!err && (err = art_pipe_open(&h->pipe, row_fds[0])) == 0)
    row_fds[0] = -1; /* the handle's now */
  return err ? err : start_read(h);
}

static int listen_tcp(any_handle_t *h) {
  return art_listen((art_stream_t *)&h->tcp, 8, noop_connection);
}
static int stop_tcp_read(any_handle_t *h) {
  return art_read_stop((art_stream_t *)&h->tcp);
}
static int make_tcp(art_loop_t *loop, any_handle_t *h) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int err = art_tcp_init(loop, &h->tcp);
  if (!err)
    err = art_tcp_bind(&h->tcp, (const struct sockaddr *)&a, 0);
  return err ? err : listen_tcp(h);
}

static int start_fs_event(any_handle_t *h) {
  return art_fs_event_start(&h->fs_event, noop_fs_event, "/", 0);
}
static int stop_fs_event(any_handle_t *h) {
  return art_fs_event_stop(&h->fs_event);
}
static int make_fs_event(art_loop_t *loop, any_handle_t *h) {
  int err = art_fs_event_init(loop, &h->fs_event);
  return err ? err : start_fs_event(h);
}

static int start_fs_poll(any_handle_t *h) {
  return art_fs_poll_start(&h->fs_poll, noop_fs_poll, "/", 60000);
}
static int stop_fs_poll(any_handle_t *h) {
  return art_fs_poll_stop(&h->fs_poll);
}
static int make_fs_poll(art_loop_t *loop, any_handle_t *h) {
  int err = art_fs_poll_init(loop, &h->fs_poll);
  return err ? err : start_fs_poll(h);
}

static void noop_signal(art_signal_t *h, int signum) {}
static int start_signal(any_handle_t *h) {
  return art_signal_start(&h->signal, noop_signal, SIGUSR2);
}
static int stop_signal(any_handle_t *h) {
  return art_signal_stop(&h->signal);
}
static int make_signal(art_loop_t *loop, any_handle_t *h) {
  int err = art_signal_init(loop, &h->signal);
  return err ? err : start_signal(h);
}

typedef struct {
  const char *name;
  int (*make)(art_loop_t *loop, any_handle_t *h); /* init and start */
  int (*start)(any_handle_t *h);                  /* ART_EINVAL once closed */
  int (*stop)(any_handle_t *h);                   /* 0 once closed (or NULL) */
} after_close_row_t;

static const after_close_row_t after_close_rows[] = {
    {"timer", make_timer, start_timer, stop_timer},
    {"timer again", make_timer, again_timer, stop_timer},
    {"idle", make_idle, start_idle, stop_idle},
    {"prepare", make_prepare, start_prepare, stop_prepare},
    {"check", make_check, start_check, stop_check},
    {"async", make_async, start_async, NULL},
    {"poll", make_poll, start_poll, stop_poll},
    {"udp", make_udp, start_udp, stop_udp},
    {"pipe", make_pipe, start_read, stop_read},
    {"tcp listener", make_tcp, listen_tcp, stop_tcp_read},
    {"fs_event", make_fs_event, start_fs_event, stop_fs_event},
    {"fs_poll", make_fs_poll, start_fs_poll, stop_fs_poll},
    {"signal", make_signal, start_signal, stop_signal},
};

/* Calls the row's start and stop on a closed or closing handle. */
static void check_after_close(const after_close_row_t *row, any_handle_t *h,
                              const char *when) {
  int err = row->start(h);
  if (err != ART_EINVAL)
    fail_msg("%s %s: start gave %d, not ART_EINVAL", row->name, when, err);
  err = row->stop != NULL ? row->stop(h) : 0;
  if (err != 0)
    fail_msg("%s %s: stop gave %d, not 0", row->name, when, err);
  err = row->stop != NULL ? row->stop(h) : 0;
  if (err != 0)
    fail_msg("%s %s: second stop gave %d", row->name, when, err);
}

ART_TEST(start_and_stop_after_close_every_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static any_handle_t h;
  for (size_t k = 0; k < ART_ARRAY_SIZE(after_close_rows); k++) {
    const after_close_row_t *row = &after_close_rows[k];
    memset(&h, 0, sizeof(h));
    assert_int_equal(row->make(loop, &h), 0);
    assert_true(art_is_active((art_handle_t *)&h));
    closed = 0;
    assert_int_equal(art_close((art_handle_t *)&h, count_close_cb), 0);
    check_after_close(row, &h, "closing");
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    assert_int_equal(closed, 1);
    check_after_close(row, &h, "closed");
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    assert_int_equal(closed, 1); /* nothing restarted it */
    for (int i = 0; i < 2; i++)
      if (row_fds[i] >= 0)
        close(row_fds[i]);
    row_fds[0] = row_fds[1] = -1;
  }
}

/* Bad input to a stop is still refused: NULL, or a handle of another
 * type. */
ART_TEST(stop_refuses_null_and_other_types) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  any_handle_t *other = (any_handle_t *)(void *)idle; /* only its head read */
  assert_int_equal(art_timer_stop(NULL), ART_EINVAL);
  assert_int_equal(art_read_stop(NULL), ART_EINVAL);
  assert_int_equal(stop_timer(other), ART_EINVAL);
  assert_int_equal(stop_prepare(other), ART_EINVAL);
  assert_int_equal(stop_poll(other), ART_EINVAL);
  assert_int_equal(stop_udp(other), ART_EINVAL);
  assert_int_equal(stop_read(other), ART_EINVAL);
  assert_int_equal(stop_fs_event(other), ART_EINVAL);
  assert_int_equal(stop_fs_poll(other), ART_EINVAL);
  close_and_run(loop, (art_handle_t *)idle);
}

static void idle_noop(art_idle_t *i) {}

ART_TEST(ref_unref_and_liveness) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t i;
  assert_int_equal(art_idle_init(loop, &i), 0);
  /* Referenced from init, idempotent both ways. */
  assert_int_equal(art_has_ref((art_handle_t *)&i), 1);
  art_ref((art_handle_t *)&i);
  assert_int_equal(art_has_ref((art_handle_t *)&i), 1);
  /* Referenced but inactive: the loop is not alive. */
  assert_int_equal(art_loop_alive(loop), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* Active and referenced: alive. */
  assert_int_equal(art_idle_start(&i, idle_noop), 0);
  assert_int_equal(art_loop_alive(loop), 1);
  /* Active and unreferenced (twice: still one unref): not alive. */
  art_unref((art_handle_t *)&i);
  art_unref((art_handle_t *)&i);
  assert_int_equal(art_has_ref((art_handle_t *)&i), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* Unref, stop, ref, start: the count follows. */
  assert_int_equal(art_idle_stop(&i), 0);
  art_ref((art_handle_t *)&i);
  assert_int_equal(art_loop_alive(loop), 0);
  assert_int_equal(art_idle_start(&i, idle_noop), 0);
  assert_int_equal(art_loop_alive(loop), 1);
  art_unref((art_handle_t *)&i);
  art_ref((art_handle_t *)&i);
  assert_int_equal(art_loop_alive(loop), 1);
  /* Closing an active referenced handle: alive until the close phase. */
  assert_int_equal(art_close((art_handle_t *)&i, NULL), 0);
  assert_int_equal(art_loop_alive(loop), 1);
  assert_int_equal(art_run(loop, ART_RUN_NOWAIT), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  /* NULL is harmless. */
  art_ref(NULL);
  art_unref(NULL);
  assert_int_equal(art_has_ref(NULL), 0);
  assert_int_equal(art_is_active(NULL), 0);
  assert_int_equal(art_is_closing(NULL), 0);
}

/* An unreferenced handle closed while active must not drive the count of
 * active handles below zero (the loop would then never be alive again). */
ART_TEST(close_unrefd_active_handle_keeps_count) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t a, b;
  assert_int_equal(art_idle_init(loop, &a), 0);
  assert_int_equal(art_idle_init(loop, &b), 0);
  assert_int_equal(art_idle_start(&a, idle_noop), 0);
  art_unref((art_handle_t *)&a);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  art_ref((art_handle_t *)&a); /* on a closing handle: changes nothing */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  assert_int_equal(art_idle_start(&b, idle_noop), 0);
  assert_int_equal(art_loop_alive(loop), 1);
  assert_int_equal(art_idle_stop(&b), 0);
  assert_int_equal(art_loop_alive(loop), 0);
  assert_int_equal(art_close((art_handle_t *)&b, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

typedef struct {
  int count;
  int types[8];
  art_handle_t *handles[8];
} walk_t;

static void walk_cb(art_handle_t *h, void *arg) {
  walk_t *w = arg;
  w->handles[w->count] = h;
  w->types[w->count++] = h->type;
}

/* Closes the open handle it is given; counts every visit when arg is set. */
static void walk_close_cb(art_handle_t *h, void *arg) {
  if (arg != NULL)
    ((walk_t *)arg)->count++;
  if (!art_is_closing(h))
    assert_int_equal(art_close(h, NULL), 0);
}

ART_TEST(walk_visits_open_handles) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_idle_t i;
  art_check_t c;
  walk_t w = {0};
  /* The loop's own wakeup watcher is not a user handle. */
  art_walk(loop, walk_cb, &w);
  assert_int_equal(w.count, 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_idle_init(loop, &i), 0);
  assert_int_equal(art_check_init(loop, &c), 0);
  assert_int_equal(art_close((art_handle_t *)&c, NULL), 0);
  art_walk(loop, walk_cb, &w);
  assert_int_equal(w.count, 3); /* closing ones included */
  assert_int_equal(w.types[0], ART_TIMER);
  assert_int_equal(w.types[1], ART_IDLE);
  assert_int_equal(w.types[2], ART_CHECK);
  /* A walk callback may close the handle it is given. */
  art_walk(loop, walk_close_cb, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  w.count = 0;
  art_walk(loop, walk_cb, &w);
  assert_int_equal(w.count, 0);
  art_walk(NULL, walk_cb, &w);
  art_walk(loop, NULL, &w);
}

/* Open handles come first, in init order, then closing ones in close
 * order; a handle the callback closes is not visited again. */
ART_TEST(walk_lists_open_then_closing) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t a, b, c;
  walk_t w = {0};
  assert_int_equal(art_timer_init(loop, &a), 0);
  assert_int_equal(art_timer_init(loop, &b), 0);
  assert_int_equal(art_timer_init(loop, &c), 0);
  assert_int_equal(art_close((art_handle_t *)&b, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&a, NULL), 0);
  art_walk(loop, walk_cb, &w);
  assert_int_equal(w.count, 3);
  assert_ptr_equal(w.handles[0], (art_handle_t *)&c);
  assert_ptr_equal(w.handles[1], (art_handle_t *)&b);
  assert_ptr_equal(w.handles[2], (art_handle_t *)&a);
  w.count = 0;
  art_walk(loop, walk_close_cb, &w); /* closes c, visits each once */
  assert_int_equal(w.count, 3);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(print_handles) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  art_idle_t i;
  art_poll_t p;
  char line[3][128], addr[64];
  FILE *f = tmpfile();
  assert_non_null(f);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, never_timer_cb, 10000, 0), 0);
  assert_int_equal(art_idle_init(loop, &i), 0);
  assert_int_equal(art_idle_start(&i, idle_noop), 0);
  art_unref((art_handle_t *)&i);
  assert_int_equal(art_poll_init(loop, &p, 0), 0);
  assert_int_equal(art_close((art_handle_t *)&p, NULL), 0);
  art_print_handles(loop, f);
  rewind(f);
  for (int k = 0; k < 3; k++)
    assert_non_null(fgets(line[k], sizeof(line[k]), f));
  assert_null(fgets(addr, sizeof(addr), f));
  fclose(f);
  snprintf(addr, sizeof(addr), "%p", (void *)&t);
  assert_non_null(strstr(line[0], "[AR-]"));
  assert_non_null(strstr(line[0], "timer"));
  assert_non_null(strstr(line[0], addr));
  snprintf(addr, sizeof(addr), "%p", (void *)&i);
  assert_non_null(strstr(line[1], "[A--]"));
  assert_non_null(strstr(line[1], "idle"));
  assert_non_null(strstr(line[1], addr));
  assert_non_null(strstr(line[2], "[-RC]"));
  assert_non_null(strstr(line[2], "poll"));
  art_print_handles(NULL, stderr); /* harmless */
  assert_int_equal(art_close((art_handle_t *)&t, NULL), 0);
  assert_int_equal(art_close((art_handle_t *)&i, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(type_names_and_sizes) {
  assert_string_equal(art_handle_type_name(ART_TIMER), "timer");
  assert_string_equal(art_handle_type_name(ART_IDLE), "idle");
  assert_string_equal(art_handle_type_name(ART_PREPARE), "prepare");
  assert_string_equal(art_handle_type_name(ART_CHECK), "check");
  assert_string_equal(art_handle_type_name(ART_POLL), "poll");
  assert_string_equal(art_handle_type_name(ART_ASYNC), "async");
  assert_string_equal(art_handle_type_name(ART_TCP), "tcp");
  assert_string_equal(art_handle_type_name(ART_UNKNOWN_HANDLE), "unknown");
  assert_string_equal(art_handle_type_name(ART_HANDLE_TYPE_MAX), "unknown");
  assert_string_equal(art_handle_type_name((art_handle_type)-1), "unknown");
  for (int t = 0; t < ART_HANDLE_TYPE_MAX; t++)
    assert_non_null(art_handle_type_name((art_handle_type)t));
  assert_int_equal(art_handle_size(ART_TIMER), sizeof(art_timer_t));
  assert_int_equal(art_handle_size(ART_IDLE), sizeof(art_idle_t));
  assert_int_equal(art_handle_size(ART_POLL), sizeof(art_poll_t));
  assert_int_equal(art_handle_size(ART_ASYNC), sizeof(art_async_t));
  assert_int_equal(art_handle_size(ART_UNKNOWN_HANDLE), 0);
}

/* Every handle type starts with the common fields, at the same offsets, so
 * an art_handle_t pointer reads any of them. */
#define SAME_HEAD(T)                                                           \
  assert_int_equal(offsetof(T, data), offsetof(art_handle_t, data));           \
  assert_int_equal(offsetof(T, loop), offsetof(art_handle_t, loop));           \
  assert_int_equal(offsetof(T, type), offsetof(art_handle_t, type));

ART_TEST(common_fields_first) {
  assert_int_equal(offsetof(art_handle_t, data), 0);
  SAME_HEAD(art_timer_t)
  SAME_HEAD(art_idle_t)
  SAME_HEAD(art_prepare_t)
  SAME_HEAD(art_check_t)
  SAME_HEAD(art_poll_t)
  SAME_HEAD(art_async_t)
  (void)state;
}

/* Getters of three areas (stream, process, udp) given a handle of another
 * type: the neutral value, and no read past that handle
 * (helpers/handle.h). The functions of one type are checked in its own
 * suite. */
ART_TEST(stream_and_process_getters_wrong_type) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = new_idle(loop);
  assert_int_equal(art_stream_write_queue_size((art_stream_t *)idle), 0);
  assert_int_equal(art_process_get_pid((art_process_t *)idle), 0);
  assert_int_equal(art_udp_get_send_queue_size((art_udp_t *)idle), 0);
  assert_int_equal(art_udp_get_send_queue_count((art_udp_t *)idle), 0);
  close_and_run(loop, (art_handle_t *)idle);
}

/* A close callback closes another handle, and a microtask queued from it
 * closes a third: each finishes in the next iteration's close phase, and
 * ART_RUN_DEFAULT keeps going until all are done. */
static art_timer_t chain[3];
static uint64_t chain_iter[3];

static void chain_close_cb(art_handle_t *h) {
  art_loop_metrics_t m;
  art_loop_metrics(h->loop, &m);
  chain_iter[(art_timer_t *)h - chain] = m.iterations;
}

static void close_third(art_loop_t *loop, void *arg) {
  assert_int_equal(art_close((art_handle_t *)&chain[2], chain_close_cb), 0);
}

static void chain_first_cb(art_handle_t *h) {
  chain_close_cb(h);
  assert_int_equal(art_close((art_handle_t *)&chain[1], chain_close_cb), 0);
  assert_int_equal(art_queue_microtask(h->loop, close_third, NULL), 0);
}

ART_TEST(close_from_close_callback_and_microtask) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  for (int i = 0; i < 3; i++)
    assert_int_equal(art_timer_init(loop, &chain[i]), 0);
  assert_int_equal(art_close((art_handle_t *)&chain[0], chain_first_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(chain_iter[1], chain_iter[0] + 1);
  assert_int_equal(chain_iter[2], chain_iter[0] + 1);
  assert_int_equal(art_loop_alive(loop), 0);
}

/* art_fileno gives the fd under a handle that has one, now: a poll handle's
 * own fd, a bound socket's, nothing for a timer, nothing once closing. */
ART_TEST(fileno_of_each_kind) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int fds[2], fd = -7;
  assert_int_equal(pipe(fds), 0);
  art_poll_t p;
  art_timer_t t;
  art_tcp_t tcp;
  assert_int_equal(art_poll_init(loop, &p, fds[0]), 0);
  assert_int_equal(art_fileno((art_handle_t *)&p, &fd), 0);
  assert_int_equal(fd, fds[0]);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_fileno((art_handle_t *)&t, &fd), ART_EINVAL);
  assert_int_equal(art_tcp_init(loop, &tcp), 0);
  assert_int_equal(art_fileno((art_handle_t *)&tcp, &fd), ART_EBADF);
  struct sockaddr_in addr, got;
  socklen_t len = sizeof(got);
  assert_int_equal(art_ip4_addr("127.0.0.1", 0, &addr), 0);
  assert_int_equal(art_tcp_bind(&tcp, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_fileno((art_handle_t *)&tcp, &fd), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&got, &len), 0);
  assert_int_equal(got.sin_family, AF_INET);
  assert_int_equal(art_fileno(NULL, &fd), ART_EINVAL);
  assert_int_equal(art_fileno((art_handle_t *)&tcp, NULL), ART_EINVAL);
  art_close((art_handle_t *)&tcp, NULL);
  assert_int_equal(art_fileno((art_handle_t *)&tcp, &fd), ART_EBADF);
  art_close((art_handle_t *)&p, NULL);
  art_close((art_handle_t *)&t, NULL);
  art_run(loop, ART_RUN_DEFAULT);
  close(fds[0]);
  close(fds[1]);
}
