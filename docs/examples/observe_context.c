/* file: docs/examples/observe_context.c */
#include <asyncrt.h>
#include <stdio.h>

/* A request's trace, carried from callback to callback by the loop. */
typedef struct {
  const char *name;
} trace_t;

static art_loop_t loop;
static art_timer_t timer;
static art_work_t work;
static int events;

static const char *current(void) {
  trace_t *t = art_context_get(&loop);
  return t != NULL ? t->name : "(none)";
}

static void count(void *arg, uint64_t id) {
  (void)arg;
  (void)id;
  events++;
}

static void on_tick(art_loop_t *l, void *arg) {
  (void)l;
  (void)arg;
  printf("tick:  %s\n", current());
}

static void in_pool(art_work_t *req) {
  (void)req;
}

static void after_work(art_work_t *req, int status) {
  (void)status;
  printf("after: %s\n", current());
  art_next_tick(req->loop, on_tick, NULL);
}

static void on_timer(art_timer_t *t) {
  printf("timer: %s\n", current());
  art_queue_work(t->loop, &work, in_pool, after_work);
  art_close((art_handle_t *)t, NULL);
}

int main(void) {
  trace_t a = {"request A"};
  art_hooks_t hooks = {NULL, count, NULL, NULL}; /* only "before" */

  /* Hooks first: resources made before a loop's first observer have no
   * id, and no hook reports them. */
  if (art_loop_init(&loop) != 0 ||
      art_loop_set_hooks(&loop, &hooks, NULL) != 0 ||
      art_timer_init(&loop, &timer) != 0)
    return 1;
  art_context_set(&loop, &a);
  art_timer_start(&timer, on_timer, 1, 0); /* captures request A */
  art_context_set(&loop, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  printf("top:   %s\n", current());
  printf("callbacks seen by the before hook: %d\n", events);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
