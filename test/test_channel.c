/* Message channels: order, batches, backpressure, end of channel, owned
 * pointers, bad arguments, and a cross-thread stress with closes at random
 * points. ART_SUITE_THREADS */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "helpers/harness.h"

/* ---- Shared fixtures. ---- */

/* What a receiving port saw. */
typedef struct {
  int values[512];    /* the int carried by each message, in arrival order */
  uint64_t iter[512]; /* the loop iteration each arrived in */
  int count;
  int ends;     /* end callbacks */
  int drains;   /* drain callbacks */
  int close_at; /* close the port from the callback of this message; -1 */
  int stop_at;  /* stop the port from the callback of this message; -1 */
} seen_t;

static uint64_t iterations(art_loop_t *loop) {
  art_loop_metrics_t m;
  art_loop_metrics(loop, &m);
  return m.iterations;
}

static void on_msg(art_port_t *port, const art_port_msg_t *msg) {
  seen_t *s = port->data;
  int v;
  assert_int_equal(msg->len, sizeof(v));
  memcpy(&v, msg->data, sizeof(v));
  if (msg->owned)
    free(msg->data);
  s->iter[s->count] = iterations(port->loop);
  s->values[s->count++] = v;
  if (v == s->close_at)
    art_close((art_handle_t *)port, NULL);
  if (v == s->stop_at)
    art_port_stop(port);
}

static void on_end(art_port_t *port) {
  ((seen_t *)port->data)->ends++;
}

static void on_drain(art_port_t *port) {
  ((seen_t *)port->data)->drains++;
}

static void seen_init(seen_t *s) {
  memset(s, 0, sizeof(*s));
  s->close_at = -1;
  s->stop_at = -1;
}

/* Opens both sides of a new channel on loop: a sends, b receives. */
static void open_pair(art_loop_t *loop, art_port_t *a, art_port_t *b,
                      seen_t *sa, seen_t *sb) {
  art_channel_t *ch;
  assert_int_equal(art_channel_new(&ch), 0);
  assert_int_equal(art_port_open(loop, a, ch, 0), 0);
  assert_int_equal(art_port_open(loop, b, ch, 1), 0);
  seen_init(sa);
  seen_init(sb);
  a->data = sa;
  b->data = sb;
  art_port_on_end(a, on_end);
  art_port_on_end(b, on_end);
}

static void send_int(art_port_t *port, int v) {
  assert_int_equal(art_port_send(port, &v, sizeof(v)), 0);
}

static void close_pair(art_loop_t *loop, art_port_t *a, art_port_t *b) {
  if (!art_is_closing((art_handle_t *)a))
    art_close((art_handle_t *)a, NULL);
  if (!art_is_closing((art_handle_t *)b))
    art_close((art_handle_t *)b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- Order and batches. ---- */

/* Messages arrive in the order sent, each once, copied at the send. */
ART_TEST(fifo_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  open_pair(loop, &a, &b, &sa, &sb);
  assert_int_equal(art_port_start(&b, on_msg), 0);
  for (int i = 0; i < 300; i++) {
    int v = i;
    assert_int_equal(art_port_send(&a, &v, sizeof(v)), 0);
    v = -1; /* the message is a copy */
    if (i % 50 == 0)
      art_run(loop, ART_RUN_NOWAIT);
  }
  sb.close_at = 299;
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(sb.count, 300);
  for (int i = 0; i < 300; i++)
    assert_int_equal(sb.values[i], i);
  /* b is closed: a's sends are refused, a's messages are not lost. */
  assert_int_equal(art_port_send(&a, &sb, 1), ART_EPIPE);
  close_pair(loop, &a, &b);
}

/* Everything sent before the loop runs is delivered in one poll phase. */
ART_TEST(one_batch_per_wakeup) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  open_pair(loop, &a, &b, &sa, &sb);
  for (int i = 0; i < 100; i++)
    send_int(&a, i);
  assert_int_equal(art_port_start(&b, on_msg), 0);
  art_run(loop, ART_RUN_ONCE);
  assert_int_equal(sb.count, 100);
  for (int i = 1; i < 100; i++)
    assert_true(sb.iter[i] == sb.iter[0]);
  close_pair(loop, &a, &b);
}

/* A stop from a callback holds back the rest of its batch, which a later
 * start delivers first, in order. */
ART_TEST(stop_holds_the_rest) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  open_pair(loop, &a, &b, &sa, &sb);
  for (int i = 0; i < 10; i++)
    send_int(&a, i);
  sb.stop_at = 3;
  assert_int_equal(art_port_start(&b, on_msg), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(sb.count, 4);
  assert_false(art_is_active((art_handle_t *)&b));
  send_int(&a, 10);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(sb.count, 4);
  assert_int_equal(art_port_start(&b, on_msg), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(sb.count, 11);
  for (int i = 0; i < 11; i++)
    assert_int_equal(sb.values[i], i);
  close_pair(loop, &a, &b);
}

/* ---- End of channel. ---- */

/* Closing one side gives the other its end callback after every message
 * sent before the close, in both directions; the ended port stops keeping
 * the loop alive and its sends fail. */
static void end_after_messages(art_loop_t *loop, int closer) {
  art_port_t p[2];
  seen_t s[2];
  open_pair(loop, &p[0], &p[1], &s[0], &s[1]);
  art_port_t *from = &p[closer], *to = &p[1 - closer];
  seen_t *st = &s[1 - closer];
  for (int i = 0; i < 5; i++)
    send_int(from, i);
  art_close((art_handle_t *)from, NULL);
  assert_int_equal(art_port_start(to, on_msg), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0); /* to ended: stopped */
  assert_int_equal(st->count, 5);
  assert_int_equal(st->ends, 1);
  assert_int_equal(s[closer].ends, 0);
  assert_int_equal(art_port_send(to, &st, 1), ART_EPIPE);
  assert_int_equal(art_port_start(to, on_msg), 0); /* no effect now */
  assert_false(art_is_active((art_handle_t *)to));
  close_pair(loop, &p[0], &p[1]);
  assert_int_equal(st->ends, 1);
}

ART_TEST(end_from_side_0) {
  end_after_messages(ART_TEST_LOOP(state), 0);
}

ART_TEST(end_from_side_1) {
  end_after_messages(ART_TEST_LOOP(state), 1);
}

/* A side given up before it was opened: what was sent to it is freed, its
 * peer sees the end at once, and sends to it fail. */
static int freed_count;
static void count_free(void *p) {
  freed_count++;
  free(p);
}

ART_TEST(abandoned_side) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_channel_t *ch;
  art_port_t a;
  seen_t sa;
  seen_init(&sa);
  freed_count = 0;
  assert_int_equal(art_channel_new(&ch), 0);
  assert_int_equal(art_port_open(loop, &a, ch, 0), 0);
  a.data = &sa;
  art_port_on_end(&a, on_end);
  int *p = malloc(sizeof(int));
  assert_int_equal(art_port_send_ptr(&a, p, sizeof(*p), count_free), 0);
  assert_int_equal(art_channel_abandon(ch, 1), 0);
  assert_int_equal(freed_count, 1);
  int *q = malloc(sizeof(int));
  assert_int_equal(art_port_send_ptr(&a, q, sizeof(*q), count_free), ART_EPIPE);
  free(q); /* refused: still ours */
  assert_int_equal(art_port_start(&a, on_msg), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(sa.ends, 1);
  assert_int_equal(art_channel_abandon(ch, 1), ART_EBUSY);
  art_close((art_handle_t *)&a, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- Owned pointers. ---- */

/* A pointer message moves its pointer: delivered ones belong to the
 * callback (on_msg frees them), the ones still queued when the receiver
 * closes are freed through the free function, each exactly once (ASan
 * reports a leak or a double free). */
ART_TEST(pointer_ownership) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  open_pair(loop, &a, &b, &sa, &sb);
  freed_count = 0;
  for (int i = 0; i < 20; i++) {
    int *p = malloc(sizeof(int));
    *p = i;
    assert_int_equal(art_port_send_ptr(&a, p, sizeof(int), count_free), 0);
  }
  sb.close_at = 7; /* the rest of the batch and the stack are freed */
  assert_int_equal(art_port_start(&b, on_msg), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(sb.count, 8);
  assert_int_equal(freed_count, 12);
  for (int i = 0; i < 8; i++)
    assert_int_equal(sb.values[i], i);
  int *p = malloc(sizeof(int));
  assert_int_equal(art_port_send_ptr(&a, p, sizeof(int), count_free),
                   ART_EPIPE);
  free(p);
  close_pair(loop, &a, &b);
  assert_int_equal(freed_count, 12);
}

/* Closing a sender does not free what it sent: its peer still gets it. */
ART_TEST(pointer_outlives_sender) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  open_pair(loop, &a, &b, &sa, &sb);
  freed_count = 0;
  int *p = malloc(sizeof(int));
  *p = 42;
  assert_int_equal(art_port_send_ptr(&a, p, sizeof(int), count_free), 0);
  art_close((art_handle_t *)&a, NULL);
  assert_int_equal(art_port_start(&b, on_msg), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(sb.count, 1);
  assert_int_equal(sb.values[0], 42);
  assert_int_equal(sb.ends, 1);
  assert_int_equal(freed_count, 0);
  close_pair(loop, &a, &b);
}

/* ---- Backpressure. ---- */

ART_TEST(high_water_mark_and_drain) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  open_pair(loop, &a, &b, &sa, &sb);
  assert_int_equal(art_port_set_high_water_mark(&a, 3 * sizeof(int)), 0);
  assert_int_equal(art_port_on_drain(&a, on_drain), 0);
  send_int(&a, 0);
  send_int(&a, 1);
  assert_false(art_port_needs_drain(&a));
  send_int(&a, 2);
  assert_true(art_port_needs_drain(&a));
  send_int(&a, 3); /* sending past the mark is allowed */
  assert_int_equal(art_port_queued_size(&a), 4 * sizeof(int));
  art_run(loop, ART_RUN_NOWAIT); /* b not started: nothing moves */
  assert_int_equal(sa.drains, 0);
  assert_int_equal(art_port_start(&b, on_msg), 0);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(sb.count, 4);
  assert_false(art_port_needs_drain(&a));
  assert_int_equal(art_port_queued_size(&a), 0);
  art_run(loop, ART_RUN_NOWAIT); /* the drain notice is a wakeup of a */
  assert_int_equal(sa.drains, 1);
  /* Below the mark again: sending under it calls no drain. */
  send_int(&a, 4);
  art_run(loop, ART_RUN_NOWAIT);
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(sb.count, 5);
  assert_int_equal(sa.drains, 1);
  close_pair(loop, &a, &b);
}

/* Raising the mark above what is queued counts as the drain. */
ART_TEST(raising_the_mark_drains) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  open_pair(loop, &a, &b, &sa, &sb);
  assert_int_equal(art_port_set_high_water_mark(&a, 1), 0);
  art_port_on_drain(&a, on_drain);
  send_int(&a, 0);
  assert_true(art_port_needs_drain(&a));
  assert_int_equal(art_port_set_high_water_mark(&a, 100), 0);
  assert_false(art_port_needs_drain(&a));
  art_run(loop, ART_RUN_NOWAIT);
  assert_int_equal(sa.drains, 1);
  close_pair(loop, &a, &b);
}

/* ---- The handle. ---- */

static void count_port(art_handle_t *h, void *arg) {
  if (h->type == ART_PORT)
    ++*(int *)arg;
}

ART_TEST(port_is_a_handle) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_port_t a, b;
  seen_t sa, sb;
  assert_string_equal(art_handle_type_name(ART_PORT), "port");
  assert_int_equal(art_handle_size(ART_PORT), sizeof(art_port_t));
  open_pair(loop, &a, &b, &sa, &sb);
  int n = 0;
  art_walk(loop, count_port, &n);
  assert_int_equal(n, 2);
  /* Opened, not started: inactive, the loop does not wait for it. */
  assert_false(art_is_active((art_handle_t *)&b));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  art_port_start(&b, on_msg);
  assert_true(art_is_active((art_handle_t *)&b));
  assert_true(art_loop_alive(loop));
  art_unref((art_handle_t *)&b);
  assert_false(art_loop_alive(loop));
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close_pair(loop, &a, &b);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_channel_t *ch;
  art_port_t a, b;
  art_timer_t t;
  assert_int_equal(art_channel_new(NULL), ART_EINVAL);
  assert_int_equal(art_channel_new(&ch), 0);
  assert_int_equal(art_port_open(NULL, &a, ch, 0), ART_EINVAL);
  assert_int_equal(art_port_open(loop, NULL, ch, 0), ART_EINVAL);
  assert_int_equal(art_port_open(loop, &a, NULL, 0), ART_EINVAL);
  assert_int_equal(art_port_open(loop, &a, ch, 2), ART_EINVAL);
  assert_int_equal(art_port_open(loop, &a, ch, -1), ART_EINVAL);
  assert_int_equal(art_channel_abandon(NULL, 0), ART_EINVAL);
  assert_int_equal(art_channel_abandon(ch, 2), ART_EINVAL);
  assert_int_equal(art_port_open(loop, &a, ch, 0), 0);
  assert_int_equal(art_port_open(loop, &b, ch, 0), ART_EBUSY);
  assert_int_equal(art_channel_abandon(ch, 0), ART_EBUSY);
  assert_int_equal(art_port_open(loop, &b, ch, 1), 0);
  assert_int_equal(art_port_start(&a, NULL), ART_EINVAL);
  assert_int_equal(art_port_start(NULL, on_msg), ART_EINVAL);
  assert_int_equal(art_port_send(NULL, "x", 1), ART_EINVAL);
  assert_int_equal(art_port_send(&a, NULL, 1), ART_EINVAL);
  assert_int_equal(art_port_send(&a, NULL, 0), 0); /* empty is fine */
  assert_int_equal(art_port_send_ptr(NULL, &t, 1, NULL), ART_EINVAL);
  assert_int_equal(art_port_set_high_water_mark(&a, 0), ART_EINVAL);
  assert_int_equal(art_port_set_high_water_mark(NULL, 1), ART_EINVAL);
  assert_int_equal(art_port_on_end(NULL, on_end), ART_EINVAL);
  assert_int_equal(art_port_on_drain(NULL, on_drain), ART_EINVAL);
  assert_int_equal(art_port_stop(NULL), ART_EINVAL);
  assert_int_equal(art_port_needs_drain(NULL), 0);
  assert_int_equal(art_port_queued_size(NULL), 0);
  /* Another handle type is refused. */
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_port_send((art_port_t *)&t, "x", 1), ART_EINVAL);
  assert_int_equal(art_port_stop((art_port_t *)&t), ART_EINVAL);
  art_close((art_handle_t *)&t, NULL);
  close_pair(loop, &a, &b);
  /* Closed ports refuse everything but stop. */
  assert_int_equal(art_port_send(&a, "x", 1), ART_EINVAL);
  assert_int_equal(art_port_start(&a, on_msg), ART_EINVAL);
  assert_int_equal(art_port_stop(&a), 0);
  assert_int_equal(art_port_needs_drain(&a), 0);
}

/* ---- Across threads. ---- */

/* A thread with its own loop echoes every message back: n round trips. */
typedef struct {
  art_channel_t *ch;
  int echoed; /* replies sent */
  int errors; /* sends refused for another reason than the end */
} echo_t;

static void echo_msg(art_port_t *port, const art_port_msg_t *msg) {
  echo_t *e = port->data;
  int r = art_port_send(port, msg->data, msg->len);
  /* The pinger closes with replies still in flight: those are refused. */
  if (r == 0)
    e->echoed++;
  else if (r != ART_EPIPE)
    e->errors++;
}

static void echo_end(art_port_t *port) {
  art_close((art_handle_t *)port, NULL);
}

static void *echo_thread(void *arg) {
  echo_t *e = arg;
  art_loop_t loop;
  art_port_t port;
  assert_int_equal(art_loop_init(&loop), 0);
  assert_int_equal(art_port_open(&loop, &port, e->ch, 1), 0);
  port.data = e;
  art_port_on_end(&port, echo_end);
  art_port_start(&port, echo_msg);
  art_run(&loop, ART_RUN_DEFAULT);
  assert_int_equal(art_loop_close(&loop), 0);
  return NULL;
}

typedef struct {
  int next;  /* the next value to send */
  int got;   /* replies */
  int total; /* round trips to make */
  int bad;   /* replies out of order */
} pinger_t;

static void ping_msg(art_port_t *port, const art_port_msg_t *msg) {
  pinger_t *p = port->data;
  int v;
  memcpy(&v, msg->data, sizeof(v));
  if (v != p->got)
    p->bad++;
  if (++p->got == p->total) {
    art_close((art_handle_t *)port, NULL);
    return;
  }
  v = p->next++;
  assert_int_equal(art_port_send(port, &v, sizeof(v)), 0);
}

ART_TEST(ping_pong_across_threads) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  echo_t e = {0};
  pinger_t p = {0, 0, 20000, 0};
  art_port_t port;
  pthread_t th;
  assert_int_equal(art_channel_new(&e.ch), 0);
  /* The thread opens its side while this one sends: either order works. */
  assert_int_equal(pthread_create(&th, NULL, echo_thread, &e), 0);
  assert_int_equal(art_port_open(loop, &port, e.ch, 0), 0);
  port.data = &p;
  for (int i = 0; i < 4; i++) { /* four in flight */
    int v = p.next++;
    assert_int_equal(art_port_send(&port, &v, sizeof(v)), 0);
  }
  art_port_start(&port, ping_msg);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  pthread_join(th, NULL);
  assert_int_equal(p.got, p.total);
  assert_int_equal(p.bad, 0);
  assert_true(e.echoed >= p.total);
  assert_int_equal(e.errors, 0);
}

/* A producer that sends only while under its mark and goes on only from
 * its drain callback, to a consumer on another thread: every drain that
 * is owed comes, so all the messages arrive (a lost drain hangs the test),
 * even with a mark of a few messages, where the consumer's credit and the
 * producer's next crossing race all the time. */
#define BP_TOTAL 100000

typedef struct {
  art_port_t port;
  long sent;
  int drains;
} producer_t;

static void producer_fill(art_port_t *port) {
  producer_t *p = port->data;
  char buf[64] = {0};
  while (p->sent < BP_TOTAL && !art_port_needs_drain(port)) {
    assert_int_equal(art_port_send(port, buf, sizeof(buf)), 0);
    p->sent++;
  }
  if (p->sent == BP_TOTAL)
    art_close((art_handle_t *)port, NULL);
}

static void producer_drain(art_port_t *port) {
  ((producer_t *)port->data)->drains++;
  producer_fill(port);
}

typedef struct {
  art_channel_t *ch;
  long got;
} consumer_t;

static void consumer_msg(art_port_t *port, const art_port_msg_t *msg) {
  (void)msg;
  ((consumer_t *)port->data)->got++;
}

static void *consumer_thread(void *arg) {
  consumer_t *c = arg;
  art_loop_t loop;
  art_port_t port;
  if (art_loop_init(&loop) != 0 || art_port_open(&loop, &port, c->ch, 1) != 0)
    abort();
  port.data = c;
  art_port_on_end(&port, echo_end);
  art_port_start(&port, consumer_msg);
  art_run(&loop, ART_RUN_DEFAULT);
  if (art_loop_close(&loop) != 0)
    abort();
  return NULL;
}

ART_TEST(backpressure_across_threads) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  for (size_t mark = 1; mark <= 8; mark++) { /* in messages */
    producer_t p = {.sent = 0, .drains = 0};
    consumer_t c = {NULL, 0};
    pthread_t th;
    assert_int_equal(art_channel_new(&c.ch), 0);
    assert_int_equal(art_port_open(loop, &p.port, c.ch, 0), 0);
    p.port.data = &p;
    assert_int_equal(art_port_set_high_water_mark(&p.port, mark * 64), 0);
    art_port_on_drain(&p.port, producer_drain);
    assert_int_equal(pthread_create(&th, NULL, consumer_thread, &c), 0);
    producer_fill(&p.port);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    pthread_join(th, NULL);
    assert_int_equal(p.sent, BP_TOTAL);
    assert_int_equal(c.got, BP_TOTAL);
    assert_true(p.drains > 0);
  }
}

/* The stress: per round, a thread with its own loop and this loop each
 * send owned pointers to the other through one channel, and each side
 * closes at a random point (after a random number of sends, or from a
 * random message callback). Whatever the interleaving, every message sent
 * (the send returned 0) is delivered or freed, exactly once. */
#define ROUNDS 150

typedef struct {
  long sent, delivered, freed; /* atomic */
} tally_t;

static tally_t tally;

static void tally_free(void *p) {
  __atomic_add_fetch(&tally.freed, 1, __ATOMIC_SEQ_CST);
  free(p);
}

typedef struct {
  art_port_t port;
  art_idle_t pump;
  unsigned seed;
  int quota;       /* sends before this side closes */
  int close_after; /* deliveries before this side closes; -1: never */
  int linger;      /* idle iterations between the last send and the close */
  int *opened;     /* atomic: sides open so far */
  int got;
} side_t;

static void side_close(side_t *s) {
  if (!art_is_closing((art_handle_t *)&s->port))
    art_close((art_handle_t *)&s->port, NULL);
  if (!art_is_closing((art_handle_t *)&s->pump))
    art_close((art_handle_t *)&s->pump, NULL);
}

static void side_msg(art_port_t *port, const art_port_msg_t *msg) {
  side_t *s = port->data;
  assert_true(msg->owned);
  __atomic_add_fetch(&tally.delivered, 1, __ATOMIC_SEQ_CST);
  free(msg->data);
  if (++s->got == s->close_after)
    side_close(s);
}

static void side_end(art_port_t *port) {
  side_close(port->data);
}

/* Sends a random burst per iteration until the quota, then lingers (the
 * peer delivers meanwhile) and closes. */
static void side_pump(art_idle_t *idle) {
  side_t *s = idle->data;
  if (__atomic_load_n(s->opened, __ATOMIC_ACQUIRE) < 2)
    return; /* the two sides overlap, or nothing would be delivered */
  if (s->quota == 0) {
    if (s->linger-- <= 0)
      side_close(s);
    return;
  }
  int burst = 1 + rand_r(&s->seed) % 16;
  for (int i = 0; i < burst && s->quota > 0; i++, s->quota--) {
    long *p = malloc(sizeof(long));
    int r = art_port_send_ptr(&s->port, p, sizeof(*p), tally_free);
    if (r != 0) {
      assert_int_equal(r, ART_EPIPE);
      free(p);
      side_close(s);
      return;
    }
    __atomic_add_fetch(&tally.sent, 1, __ATOMIC_SEQ_CST);
  }
}

static void side_open(art_loop_t *loop, side_t *s, art_channel_t *ch, int side,
                      unsigned seed, int *opened) {
  s->seed = seed;
  s->opened = opened;
  s->quota = rand_r(&s->seed) % 400;
  s->close_after = rand_r(&s->seed) % 3 ? -1 : rand_r(&s->seed) % 400;
  s->linger = rand_r(&s->seed) % 4 ? rand_r(&s->seed) % 3000 : 0;
  s->got = 0;
  assert_int_equal(art_port_open(loop, &s->port, ch, side), 0);
  s->port.data = s;
  art_port_set_high_water_mark(&s->port, 1 + rand_r(&s->seed) % 4096);
  art_port_on_end(&s->port, side_end);
  art_port_start(&s->port, side_msg);
  assert_int_equal(art_idle_init(loop, &s->pump), 0);
  s->pump.data = s;
  art_idle_start(&s->pump, side_pump);
  __atomic_add_fetch(opened, 1, __ATOMIC_RELEASE);
}

typedef struct {
  art_channel_t *ch;
  unsigned seed;
  int opened; /* atomic: sides open so far */
} stress_arg_t;

static void *stress_thread(void *arg) {
  stress_arg_t *a = arg;
  art_loop_t loop;
  side_t s;
  assert_int_equal(art_loop_init(&loop), 0);
  side_open(&loop, &s, a->ch, 1, a->seed, &a->opened);
  art_run(&loop, ART_RUN_DEFAULT);
  assert_int_equal(art_loop_close(&loop), 0);
  return NULL;
}

ART_TEST(stress_random_closes) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  memset(&tally, 0, sizeof(tally));
  for (unsigned round = 0; round < ROUNDS; round++) {
    stress_arg_t a = {NULL, round * 2 + 1, 0};
    side_t s;
    pthread_t th;
    assert_int_equal(art_channel_new(&a.ch), 0);
    assert_int_equal(pthread_create(&th, NULL, stress_thread, &a), 0);
    side_open(loop, &s, a.ch, 0, round * 2, &a.opened);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
    pthread_join(th, NULL);
    long sent = __atomic_load_n(&tally.sent, __ATOMIC_SEQ_CST);
    long done = __atomic_load_n(&tally.delivered, __ATOMIC_SEQ_CST) +
                __atomic_load_n(&tally.freed, __ATOMIC_SEQ_CST);
    if (sent != done)
      fail_msg("round %u: %ld sent, %ld delivered or freed", round, sent, done);
  }
  if (getenv("ART_TEST_VERBOSE"))
    print_message("%ld sent, %ld delivered, %ld freed\n", tally.sent,
                  tally.delivered, tally.freed);
  assert_true(tally.delivered > 0);
  assert_true(tally.freed > 0);
}
