/* file: docs/examples/loop_phases.c */
#include <asyncrt.h>
#include <stdio.h>

static art_timer_t timer;
static art_idle_t idle;
static art_prepare_t prepare;
static art_check_t check;

static void print(art_loop_t *loop, void *text) {
  (void)loop;
  printf("  %s\n", (const char *)text);
}

/* A microtask that queues a tick: the tick waits until the microtask
 * queue is empty, as a nextTick scheduled from a promise job does. */
static void microtask_one(art_loop_t *loop, void *arg) {
  (void)arg;
  printf("  microtask 1\n");
  art_next_tick(loop, print, "tick queued by microtask 1");
}

static void on_timer(art_timer_t *t) {
  printf("timers phase\n");
  art_queue_microtask(t->loop, microtask_one, NULL);
  art_queue_microtask(t->loop, print, "microtask 2");
  art_next_tick(t->loop, print, "tick (queued last, runs first)");
}

static void on_idle(art_idle_t *h) {
  (void)h;
  printf("idle phase\n");
}

static void on_prepare(art_prepare_t *h) {
  (void)h;
  printf("prepare phase (just before poll)\n");
}

static void on_check(art_check_t *h) {
  printf("check phase (just after poll)\n");
  art_queue_microtask(h->loop, print, "microtask after check");
  /* One iteration is enough: close everything. The idle handle was what
   * kept the poll phase from blocking until now. */
  art_close((art_handle_t *)&idle, NULL);
  art_close((art_handle_t *)&prepare, NULL);
  art_close((art_handle_t *)&check, NULL);
}

int main(void) {
  art_loop_t loop;

  if (art_loop_init(&loop) != 0)
    return 1;
  art_timer_init(&loop, &timer);
  art_idle_init(&loop, &idle);
  art_prepare_init(&loop, &prepare);
  art_check_init(&loop, &check);

  art_timer_start(&timer, on_timer, 0, 0);
  art_idle_start(&idle, on_idle);
  art_prepare_start(&prepare, on_prepare);
  art_check_start(&check, on_check);
  /* Queued outside art_run: runs when art_run starts, before any phase. */
  art_next_tick(&loop, print, "tick queued before art_run");

  art_run(&loop, ART_RUN_DEFAULT);
  art_close((art_handle_t *)&timer, NULL);
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
