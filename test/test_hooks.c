/* The observer: tracing hooks in their documented order for every kind of
 * resource, ids unique and never reused, trigger ids, nothing after
 * destroy; the async context across every kind of hop; slow-callback
 * reports. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "helpers/stream.h"

/* ---- A recorder: every hook event as text, ids numbered in init order
 * (1 for the first resource the test sees), so logs read the same whatever
 * the loop handed out before. ---- */

#define MAX_RES 512
static char log_[8192];
static uint64_t ids[MAX_RES];  /* index -> id */
static int destroyed[MAX_RES]; /* index -> destroy seen */
static int nres, problems;
static uint64_t last_init_id;

static int index_of(uint64_t id) {
  for (int i = 0; i < nres; i++)
    if (ids[i] == id)
      return i + 1;
  return 0;
}

static void add(const char *fmt, int a, int b) {
  char s[64];
  snprintf(s, sizeof(s), fmt, a, b);
  strcat(log_, s);
}

static const char *kind_name(art_resource_kind kind, int type) {
  switch (kind) {
  case ART_RESOURCE_HANDLE:
    return art_handle_type_name((art_handle_type)type);
  case ART_RESOURCE_REQ:
    return type == ART_WORK        ? "work"
           : type == ART_FS        ? "fs"
           : type == ART_WRITE     ? "write"
           : type == ART_IMMEDIATE ? "immediate"
                                   : "req";
  case ART_RESOURCE_TICK:
    return "tick";
  case ART_RESOURCE_MICROTASK:
    return "microtask";
  }
  return "?";
}

static void on_init(void *arg, uint64_t id, art_resource_kind kind, int type,
                    uint64_t trigger, const void *resource) {
  (void)arg;
  (void)resource;
  if (index_of(id) != 0 || id <= last_init_id || nres == MAX_RES)
    problems++; /* reused, or not increasing */
  last_init_id = id;
  ids[nres++] = id;
  char s[64];
  snprintf(s, sizeof(s), "init %s %d<%d,", kind_name(kind, type), nres,
           trigger ? index_of(trigger) : 0);
  strcat(log_, s);
}

static int known(uint64_t id) {
  int i = index_of(id);
  if (i == 0 || destroyed[i - 1])
    problems++; /* never created, or already gone */
  return i;
}

static void on_before(void *arg, uint64_t id) {
  (void)arg;
  add("b%d,", known(id), 0);
}

static void on_after(void *arg, uint64_t id) {
  (void)arg;
  add("a%d,", known(id), 0);
}

static void on_destroy(void *arg, uint64_t id) {
  (void)arg;
  int i = known(id);
  if (i)
    destroyed[i - 1] = 1;
  add("d%d,", i, 0);
}

static const art_hooks_t hooks = {on_init, on_before, on_after, on_destroy};

static void record(art_loop_t *loop) {
  log_[0] = 0;
  nres = problems = 0;
  last_init_id = 0;
  memset(destroyed, 0, sizeof(destroyed));
  assert_int_equal(art_loop_set_hooks(loop, &hooks, NULL), 0);
}

static void expect(art_loop_t *loop, const char *want) {
  assert_string_equal(log_, want);
  assert_int_equal(problems, 0);
  assert_int_equal(art_loop_set_hooks(loop, NULL, NULL), 0);
}

/* ---- Order for each kind of resource. ---- */

static void close_self(art_timer_t *t) {
  art_close((art_handle_t *)t, NULL);
}

ART_TEST(timer_and_close_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  record(loop);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, close_self, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* The timer's callback, then (no close callback) its destroy. */
  expect(loop, "init timer 1<0,b1,a1,d1,");
}

static void idle_cb(art_idle_t *h) {
  art_close((art_handle_t *)h, (art_close_cb)(void (*)(void))free);
}

static void check_cb(art_check_t *h) {
  art_close((art_handle_t *)h, NULL);
}

ART_TEST(idle_check_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_idle_t *idle = malloc(sizeof(*idle));
  art_check_t check;
  record(loop);
  assert_int_equal(art_idle_init(loop, idle), 0);
  assert_int_equal(art_check_init(loop, &check), 0);
  assert_int_equal(art_idle_start(idle, idle_cb), 0);
  assert_int_equal(art_check_start(&check, check_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* idle, then check, then the close phase, the last closed first: check
   * with no close callback, idle's (free) as a callback of the handle. */
  expect(loop, "init idle 1<0,init check 2<0,b1,a1,b2,a2,d2,b1,a1,d1,");
}

static void imm_cb(art_immediate_t *imm) {
  (void)imm;
}

ART_TEST(immediate_order_and_clear) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_immediate_t run, cleared;
  record(loop);
  assert_int_equal(art_immediate_start(loop, &run, imm_cb), 0);
  assert_int_equal(art_immediate_start(loop, &cleared, imm_cb), 0);
  assert_int_equal(art_immediate_clear(&cleared), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* A cleared immediate is destroyed at once; a run one after its
   * callback, and restarting the same memory makes a new resource. */
  assert_int_equal(art_immediate_start(loop, &run, imm_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  expect(loop, "init immediate 1<0,init immediate 2<0,d2,b1,a1,d1,"
               "init immediate 3<0,b3,a3,d3,");
}

static void task_cb(art_loop_t *loop, void *arg) {
  (void)loop;
  (void)arg;
}

static void queue_tasks(art_timer_t *t) {
  art_queue_microtask(t->loop, task_cb, NULL);
  art_next_tick(t->loop, task_cb, NULL);
  art_close((art_handle_t *)t, NULL);
}

ART_TEST(tick_microtask_order_and_triggers) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  record(loop);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, queue_tasks, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* Created inside the timer's callback: triggered by it (1). They run
   * after its after hook, the tick first, each destroyed once run. */
  expect(loop, "init timer 1<0,b1,init microtask 2<1,init tick 3<1,a1,"
               "b3,a3,d3,b2,a2,d2,d1,");
}

static void work_cb(art_work_t *req) {
  (void)req;
}

static void after_work(art_work_t *req, int status) {
  (void)req;
  assert_int_equal(status, 0);
}

static void fs_cb(art_fs_t *req) {
  assert_int_equal(req->result, 0);
  art_fs_req_cleanup(req);
}

ART_TEST(work_and_fs_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_work_t work;
  art_fs_t fs;
  record(loop);
  assert_int_equal(art_queue_work(loop, &work, work_cb, after_work), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_fs_stat(loop, &fs, ".", fs_cb), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* The work callback runs on a pool thread: no hook sees it. */
  expect(loop, "init work 1<0,b1,a1,d1,init fs 2<0,b2,a2,d2,");
}

/* ---- A pipe stream: reads, a write, a close. ---- */

static art_write_t wreq;

static void write_done(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  art_close((art_handle_t *)req->handle, (art_close_cb)(void (*)(void))free);
}

static void pipe_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  free(buf->base);
  if (n <= 0)
    return;
  art_read_stop(s);
  static art_buf_t b = {"pong", 4};
  assert_int_equal(art_write(&wreq, s, &b, 1, write_done), 0);
}

ART_TEST(stream_read_write_close_order) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer;
  record(loop);
  art_pipe_t *p = open_pipe(loop, &peer);
  assert_int_equal(art_read_start((art_stream_t *)p, helper_alloc, pipe_read),
                   0);
  assert_int_equal(write(peer, "ping", 4), 4);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  close(peer);
  /* The pipe (1): alloc and read callbacks; the write (2), made by the
   * read callback, completes; its callback closes the pipe, whose close
   * callback (free) runs before its destroy. */
  expect(loop, "init pipe 1<0,b1,a1,b1,init write 2<1,a1,b2,a2,d2,b1,a1,d1,");
}

/* ---- Ids. ---- */

ART_TEST(ids_unique_never_reused) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  record(loop);
  /* The same memory, initialised and closed again and again: a new id
   * each time (on_init counts a reused or decreasing id as a problem). */
  for (int i = 0; i < 100; i++) {
    assert_int_equal(art_timer_init(loop, &t), 0);
    art_close((art_handle_t *)&t, NULL);
    assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  }
  assert_int_equal(nres, 100);
  assert_int_equal(problems, 0);
  for (int i = 0; i < 100; i++)
    assert_true(destroyed[i]);
  assert_int_equal(art_loop_set_hooks(loop, NULL, NULL), 0);
}

static art_timer_t inner;

static void start_inner(art_timer_t *t) {
  assert_int_equal(art_loop_current_id(t->loop), ids[0]);
  assert_int_equal(art_timer_init(t->loop, &inner), 0);
  art_close((art_handle_t *)&inner, NULL);
  art_close((art_handle_t *)t, NULL);
}

ART_TEST(trigger_is_the_running_callback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  record(loop);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, start_inner, 0, 0), 0);
  assert_int_equal(art_loop_current_id(loop), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_loop_current_id(loop), 0);
  /* The close phase runs the last closed (the outer timer) first. */
  expect(loop, "init timer 1<0,b1,init timer 2<1,a1,d1,d2,");
}

ART_TEST(no_hooks_no_events) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  record(loop);
  assert_int_equal(art_loop_set_hooks(loop, NULL, NULL), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, close_self, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_string_equal(log_, "");
  assert_int_equal(art_loop_set_hooks(NULL, &hooks, NULL), ART_EINVAL);
}

/* ---- The async context across every kind of hop: timer -> work ->
 * after-work -> tick -> microtask -> immediate -> fs -> stream write. ---- */

static char ctx_a, ctx_other;
static int hops;
static art_work_t hop_work;
static art_immediate_t hop_imm;
static art_fs_t hop_fs;
static art_write_t hop_write;
static art_pipe_t *hop_pipe;

static void hop(art_loop_t *loop) {
  assert_ptr_equal(art_context_get(loop), &ctx_a);
  hops++;
}

static void hop_write_cb(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  hop(req->loop);
  art_close((art_handle_t *)hop_pipe, (art_close_cb)(void (*)(void))free);
}

static void hop_fs_cb(art_fs_t *req) {
  hop(req->loop);
  art_fs_req_cleanup(req);
  static art_buf_t b = {"x", 1};
  assert_int_equal(
      art_write(&hop_write, (art_stream_t *)hop_pipe, &b, 1, hop_write_cb), 0);
}

static void hop_imm_cb(art_immediate_t *imm) {
  hop(imm->loop);
  assert_int_equal(art_fs_stat(imm->loop, &hop_fs, ".", hop_fs_cb), 0);
}

static void hop_micro(art_loop_t *loop, void *arg) {
  (void)arg;
  hop(loop);
  assert_int_equal(art_immediate_start(loop, &hop_imm, hop_imm_cb), 0);
}

static void hop_tick(art_loop_t *loop, void *arg) {
  (void)arg;
  hop(loop);
  assert_int_equal(art_queue_microtask(loop, hop_micro, NULL), 0);
}

static void hop_after_work(art_work_t *req, int status) {
  assert_int_equal(status, 0);
  hop(req->loop);
  assert_int_equal(art_next_tick(req->loop, hop_tick, NULL), 0);
}

static void hop_timer(art_timer_t *t) {
  hop(t->loop);
  assert_int_equal(art_queue_work(t->loop, &hop_work, work_cb, hop_after_work),
                   0);
  /* A context set inside a callback lasts until it returns. */
  assert_int_equal(art_context_set(t->loop, &ctx_other), 0);
  art_close((art_handle_t *)t, NULL);
}

ART_TEST(context_survives_every_hop) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  int peer;
  hops = 0;
  assert_null(art_context_get(loop));
  hop_pipe = open_pipe(loop, &peer);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_context_set(loop, &ctx_a), 0);
  assert_int_equal(art_timer_start(&t, hop_timer, 0, 0), 0);
  /* Changed after the start: the timer keeps the context of its start. */
  assert_int_equal(art_context_set(loop, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(hops, 7);
  assert_null(art_context_get(loop)); /* the top level's, back */
  close(peer);
}

/* A stream's read callbacks run with the context of art_read_start, its
 * write's callback with the context of art_write. */
static char ctx_read, ctx_write;
static int read_seen, write_seen;

static void ctx_write_cb(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  assert_ptr_equal(art_context_get(req->loop), &ctx_write);
  write_seen = 1;
}

static void ctx_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  assert_ptr_equal(art_context_get(h->loop), &ctx_read);
  helper_alloc(h, suggested, buf);
}

static void ctx_read_cb(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  free(buf->base);
  assert_ptr_equal(art_context_get(s->loop), &ctx_read);
  if (n > 0) {
    read_seen = 1;
    art_close((art_handle_t *)s, (art_close_cb)(void (*)(void))free);
  }
}

ART_TEST(stream_read_and_write_contexts) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int peer;
  char got[4];
  art_pipe_t *p = open_pipe(loop, &peer);
  static art_buf_t b = {"w", 1};
  read_seen = write_seen = 0;
  art_context_set(loop, &ctx_read);
  assert_int_equal(art_read_start((art_stream_t *)p, ctx_alloc, ctx_read_cb),
                   0);
  art_context_set(loop, &ctx_write);
  assert_int_equal(art_write(&wreq, (art_stream_t *)p, &b, 1, ctx_write_cb), 0);
  art_context_set(loop, NULL);
  assert_int_equal(write(peer, "r", 1), 1);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_true(read_seen && write_seen);
  assert_int_equal(read(peer, got, sizeof(got)), 1);
  close(peer);
}

/* ---- Slow callbacks. ---- */

#define SLOW_NS 2000000u

static art_slow_callback_t slow_report;
static int slow_reports;

static void on_slow(art_loop_t *loop, const art_slow_callback_t *r, void *arg) {
  (void)loop;
  assert_ptr_equal(arg, &slow_reports);
  slow_report = *r;
  slow_reports++;
}

static void slow_timer(art_timer_t *t) {
  uint64_t end = art_hrtime() + SLOW_NS;
  while (art_hrtime() < end)
    ; /* a callback that blocks the loop */
  art_close((art_handle_t *)t, NULL);
}

ART_TEST(slow_callback_reported) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  slow_reports = 0;
  assert_int_equal(
      art_loop_set_slow_callback(loop, SLOW_NS / 2, on_slow, &slow_reports), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, slow_timer, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(slow_reports, 1);
  assert_int_equal(slow_report.kind, ART_RESOURCE_HANDLE);
  assert_int_equal(slow_report.type, ART_TIMER);
  assert_int_equal(slow_report.phase, ART_PHASE_TIMERS);
  assert_true(slow_report.duration_ns >= SLOW_NS);
  assert_non_null(slow_report.callback);
  assert_true(slow_report.callback == (void (*)(void))slow_timer);
  assert_int_equal(art_loop_set_slow_callback(loop, 0, NULL, NULL), 0);
}

/* The report runs with the slow callback's context current (the request it
 * worked for), and the context before it comes back afterwards. */
static void *slow_context;

static void on_slow_context(art_loop_t *loop, const art_slow_callback_t *r,
                            void *arg) {
  (void)r;
  (void)arg;
  slow_context = art_context_get(loop);
}

ART_TEST(slow_callback_report_sees_callback_context) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  int request = 7;
  slow_context = NULL;
  assert_int_equal(
      art_loop_set_slow_callback(loop, SLOW_NS / 2, on_slow_context, NULL), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_context_set(loop, &request), 0);
  assert_int_equal(art_timer_start(&t, slow_timer, 0, 0), 0);
  assert_int_equal(art_context_set(loop, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_ptr_equal(slow_context, &request);
  assert_null(art_context_get(loop));
  assert_int_equal(art_loop_set_slow_callback(loop, 0, NULL, NULL), 0);
}

/* ---- The callback histogram: one value per callback the loop runs. ---- */

static int cb_ran;

static void counted_task(art_loop_t *loop, void *arg) {
  (void)loop;
  (void)arg;
  cb_ran++;
}

static void counted_timer(art_timer_t *t) {
  cb_ran++;
  assert_int_equal(art_queue_microtask(t->loop, counted_task, NULL), 0);
  if (++*(int *)t->data == 5)
    art_close((art_handle_t *)t, NULL);
}

static void counted_idle(art_idle_t *idle) {
  cb_ran++;
  if (++*(int *)idle->data == 3)
    art_close((art_handle_t *)idle, NULL);
}

ART_TEST(callback_histogram_counts_every_callback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_histogram_t h;
  art_timer_t t;
  art_idle_t idle;
  int fired = 0, idled = 0;
  art_histogram_init(&h);
  cb_ran = 0;
  assert_int_equal(art_loop_set_callback_histogram(loop, &h), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  t.data = &fired;
  assert_int_equal(art_timer_start(&t, counted_timer, 0, 1), 0);
  assert_int_equal(art_idle_init(loop, &idle), 0);
  idle.data = &idled;
  assert_int_equal(art_idle_start(&idle, counted_idle), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  /* 5 timer callbacks, 5 microtasks, 3 idle callbacks. */
  assert_int_equal(cb_ran, 13);
  assert_int_equal(art_histogram_count(&h), 13);

  /* Off: nothing more is recorded. */
  assert_int_equal(art_loop_set_callback_histogram(loop, NULL), 0);
  assert_int_equal(art_queue_microtask(loop, counted_task, NULL), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(cb_ran, 14);
  assert_int_equal(art_histogram_count(&h), 13);
  assert_int_equal(art_loop_set_callback_histogram(NULL, &h), ART_EINVAL);
}

ART_TEST(callback_histogram_sees_a_blocking_callback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_histogram_t h;
  art_timer_t t;
  art_histogram_init(&h);
  assert_int_equal(art_loop_set_callback_histogram(loop, &h), 0);
  assert_int_equal(art_timer_init(loop, &t), 0);
  assert_int_equal(art_timer_start(&t, slow_timer, 0, 0), 0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(art_histogram_count(&h), 1);
  assert_true(art_histogram_max(&h) >= SLOW_NS);
  assert_int_equal(art_loop_set_callback_histogram(loop, NULL), 0);
}
