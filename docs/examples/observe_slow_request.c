/* file: docs/examples/observe_slow_request.c */
#include <asyncrt.h>
#include <stdio.h>

#define MS      1000000u
#define NREQ    3
#define SLOW_ID 2 /* the request whose after-work callback blocks */

/* One simulated request: timer -> pool work -> microtask. Its id travels
 * as the async context; no callback is handed it by hand. */
typedef struct {
  int id;
  art_timer_t timer;
  art_work_t work;
  int steps; /* callbacks run for it on the loop */
} request_t;

static art_loop_t loop;
static request_t reqs[NREQ];
static int reports;

static int current_id(void) {
  request_t *r = art_context_get(&loop);
  return r != NULL ? r->id : 0;
}

static void busy_wait_ms(uint64_t ms) {
  uint64_t end = art_hrtime() + ms * MS;
  while (art_hrtime() < end) {
  }
}

static void on_microtask(art_loop_t *l, void *arg) {
  request_t *r = arg;
  (void)l;
  r->steps++;
}

static void in_pool(art_work_t *w) {
  (void)w; /* a pool thread: no context here, and none needed */
}

static void after_work(art_work_t *w, int status) {
  request_t *r = art_context_get(w->loop);
  (void)status;
  r->steps++;
  if (r->id == SLOW_ID)
    busy_wait_ms(40); /* the bug: heavy work done on the loop's thread */
  art_queue_microtask(w->loop, on_microtask, r);
}

static void on_timer(art_timer_t *t) {
  request_t *r = art_context_get(t->loop);
  r->steps++;
  art_queue_work(t->loop, &r->work, in_pool, after_work);
  art_close((art_handle_t *)t, NULL);
}

/* The program knows its own callbacks; report->symbol names them only
 * when dladdr finds them (exported, linked with -rdynamic). */
static const char *callback_name(void (*fn)(void)) {
  if (fn == (void (*)(void))after_work)
    return "after_work";
  if (fn == (void (*)(void))on_timer)
    return "on_timer";
  if (fn == (void (*)(void))on_microtask)
    return "on_microtask";
  return "?";
}

static const char *type_name(const art_slow_callback_t *s) {
  if (s->kind == ART_RESOURCE_HANDLE)
    return art_handle_type_name((art_handle_type)s->type);
  if (s->kind == ART_RESOURCE_REQ)
    return s->type == ART_WORK ? "work request" : "request";
  return s->kind == ART_RESOURCE_TICK ? "tick" : "microtask";
}

/* Runs right after the slow callback returned, with its context still
 * current: the request it worked for. */
static void on_slow(art_loop_t *l, const art_slow_callback_t *s, void *arg) {
  (void)arg;
  reports++;
  printf("slow callback: request %d\n", current_id());
  printf("  callback: %s\n", callback_name(s->callback));
  printf("  phase:    %s\n", art_phase_name(s->phase));
  printf("  type:     %s\n", type_name(s));
  printf("  took at least 40 ms: %s\n",
         s->duration_ns >= 40 * MS ? "yes" : "no");
  (void)l;
}

int main(void) {
  int i;

  /* The observer first: resources made before it carry no context. */
  if (art_loop_init(&loop) != 0 ||
      art_loop_set_slow_callback(&loop, 20 * MS, on_slow, NULL) != 0)
    return 1;
  for (i = 0; i < NREQ; i++) {
    request_t *r = &reqs[i];
    r->id = i + 1;
    if (art_timer_init(&loop, &r->timer) != 0)
      return 1;
    art_context_set(&loop, r); /* what the timer captures */
    art_timer_start(&r->timer, on_timer, (uint64_t)r->id, 0);
  }
  art_context_set(&loop, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  for (i = 0; i < NREQ; i++)
    printf("request %d: %d callbacks on the loop\n", reqs[i].id, reqs[i].steps);
  printf("slow reports: %d\n", reports);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
