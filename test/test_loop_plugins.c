/* The core's plug-in points (docs/design.md, section 0), tested directly:
 * the per-loop extension registry, attachments, and wake sources. Areas
 * rely on each of them; here each is held to its contract alone. This
 * suite links the static library and includes the core's internal header.
 * ART_SUITE_THREADS: a wake source is fed from another thread.
 */
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"

/* ---- Extensions. ---- */

static char close_log[8];
static int close_n;

static void log_close(art_loop_t *loop, void *state) {
  (void)loop;
  close_log[close_n++] = *(char *)state;
}

static const art__ext_t ext_a = {"a", log_close, NULL};
static const art__ext_t ext_b = {"b", log_close, NULL};

ART_TEST(extensions_close_last_registered_first) {
  art_loop_t loop;
  static char a = 'a', b = 'b', b2 = 'B';
  (void)state;
  close_n = 0;
  assert_int_equal(art_loop_init(&loop), 0);
  assert_null(art__ext_get(&loop, &ext_a));
  assert_int_equal(art__ext_set(&loop, &ext_a, &a), 0);
  assert_int_equal(art__ext_set(&loop, &ext_b, &b), 0);
  assert_ptr_equal(art__ext_get(&loop, &ext_a), &a);
  assert_ptr_equal(art__ext_get(&loop, &ext_b), &b);
  /* Setting again replaces the state and keeps the registration order. */
  assert_int_equal(art__ext_set(&loop, &ext_b, &b2), 0);
  assert_ptr_equal(art__ext_get(&loop, &ext_b), &b2);
  assert_int_equal(close_n, 0);
  assert_int_equal(art_loop_close(&loop), 0);
  assert_int_equal(close_n, 2);
  assert_memory_equal(close_log, "Ba", 2);
}

ART_TEST(extension_without_memory_is_not_registered) {
  art_loop_t loop;
  static char a = 'a';
  (void)state;
  close_n = 0;
  assert_int_equal(art_loop_init(&loop), 0);
  art_test_fail_alloc_after(0);
  assert_int_equal(art__ext_set(&loop, &ext_a, &a), ART_ENOMEM);
  assert_true(art_test_alloc_failed());
  art_test_fail_alloc_after(-1);
  assert_null(art__ext_get(&loop, &ext_a));
  assert_int_equal(art_loop_close(&loop), 0);
  assert_int_equal(close_n, 0); /* nothing registered: no hook runs */
}

/* ---- Attachments. ---- */

typedef struct {
  art__attach_t link;
  art_handle_t *told; /* the handle its closing hook was given */
  int calls;
  int order; /* when, counted against the close callback */
} watcher_t;

static int events;

static void watcher_closing(art__attach_t *a, art_handle_t *h) {
  watcher_t *w = (watcher_t *)((char *)a - offsetof(watcher_t, link));
  w->told = h;
  w->calls++;
  w->order = ++events;
  assert_null(art__attached(h, a->ops)); /* detached before the hook */
}

static const art__attach_ops_t watcher_ops = {watcher_closing};
static const art__attach_ops_t other_ops = {watcher_closing};

static int close_cb_order;

static void note_close(art_handle_t *h) {
  (void)h;
  close_cb_order = ++events;
}

ART_TEST(attachments_hear_the_close_before_the_close_callback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_timer_t t;
  watcher_t kept = {{NULL, NULL}, NULL, 0, 0};
  watcher_t gone = {{NULL, NULL}, NULL, 0, 0};
  events = 0;
  assert_int_equal(art_timer_init(loop, &t), 0);
  art__attach((art_handle_t *)&t, &gone.link, &other_ops);
  art__attach((art_handle_t *)&t, &kept.link, &watcher_ops);
  assert_ptr_equal(art__attached((art_handle_t *)&t, &watcher_ops), &kept.link);
  assert_ptr_equal(art__attached((art_handle_t *)&t, &other_ops), &gone.link);
  art__detach((art_handle_t *)&t, &gone.link);
  assert_null(art__attached((art_handle_t *)&t, &other_ops));
  assert_int_equal(art_close((art_handle_t *)&t, note_close), 0);
  assert_int_equal(kept.calls, 0); /* told in the close phase, not here */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(kept.calls, 1);
  assert_ptr_equal(kept.told, (art_handle_t *)&t);
  assert_int_equal(gone.calls, 0);
  assert_true(kept.order < close_cb_order);
}

/* ---- Wake sources. ---- */

typedef struct {
  art__wake_source_t source;
  art_loop_t *loop;
  int items;   /* atomic: posted by the thread */
  int drained; /* items the drain saw */
  int drains;  /* times the drain ran */
  int wrong_thread;
  pthread_t loop_thread;
} feed_t;

static void feed_drain(art_loop_t *loop, art__wake_source_t *src) {
  feed_t *f = (feed_t *)src;
  f->drains++;
  if (!pthread_equal(pthread_self(), f->loop_thread))
    f->wrong_thread = 1;
  f->drained = __atomic_load_n(&f->items, __ATOMIC_ACQUIRE);
  if (f->drained == 3)
    art_stop(loop);
}

static void *feeder(void *arg) {
  feed_t *f = arg;
  for (int i = 0; i < 3; i++) {
    usleep(2000);
    art__loop_hold(f->loop);
    __atomic_add_fetch(&f->items, 1, __ATOMIC_RELEASE);
    art__loop_wake(f->loop);
    art__loop_release(f->loop);
  }
  return NULL;
}

static void never(art_timer_t *t) {
  (void)t;
  fail_msg("the wake source should have stopped the loop first");
}

ART_TEST(wake_sources_drain_on_the_loop_thread) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  feed_t f;
  art_timer_t guard;
  pthread_t th;
  memset(&f, 0, sizeof(f));
  f.loop = loop;
  f.loop_thread = pthread_self();
  f.source.drain = feed_drain;
  art__wake_source_add(loop, &f.source);
  assert_int_equal(art_timer_init(loop, &guard), 0);
  assert_int_equal(art_timer_start(&guard, never, 10000, 0), 0);
  assert_int_equal(pthread_create(&th, NULL, feeder, &f), 0);
  while (f.drained < 3)
    art_run(loop, ART_RUN_ONCE);
  pthread_join(th, NULL);
  assert_int_equal(f.drained, 3);
  assert_true(f.drains >= 1 && f.drains <= 3);
  assert_int_equal(f.wrong_thread, 0);
  art__wake_source_remove(&f.source);
  art_close((art_handle_t *)&guard, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}
