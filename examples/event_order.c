/* The event-order demo from Node's notes, in C.
 *
 * The JavaScript it mirrors:
 *
 *   console.log('Start');
 *   setTimeout(() => console.log('Timer'), 0);
 *   setImmediate(() => console.log('Immediate'));
 *   process.nextTick(() => console.log('nextTick 1'));
 *   Promise.resolve().then(() => console.log('Promise 1'));
 *   process.nextTick(() => console.log('nextTick 2'));
 *   Promise.resolve().then(() => console.log('Promise 2'));
 *   console.log('End');
 *
 * It prints Start, End, nextTick 1, nextTick 2, Promise 1, Promise 2, Timer,
 * Immediate: the synchronous code first, then every tick, then every
 * microtask (both drained before the loop runs a phase), then the timers
 * phase, then the check phase, where setImmediate callbacks run.
 *
 * setImmediate is a check handle plus an idle handle. The idle handle makes
 * the poll phase return at once instead of blocking while an immediate is
 * waiting: that is how Node keeps the loop from sleeping in poll. */
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>

static art_check_t immediate;     /* runs in the check phase */
static art_idle_t immediate_idle; /* keeps poll from blocking meanwhile */
static art_timer_t timeout;

static void log_cb(art_loop_t *loop, void *arg) {
  (void)loop;
  puts((const char *)arg);
}

static void on_timeout(art_timer_t *t) {
  puts("Timer");
  art_close((art_handle_t *)t, NULL);
}

static void on_idle(art_idle_t *idle) {
  (void)idle;
}

static void on_immediate(art_check_t *check) {
  puts("Immediate");
  art_close((art_handle_t *)check, NULL);
  art_close((art_handle_t *)&immediate_idle, NULL);
}

/* Fails the program with the library's description of err. */
static void check(int err, const char *what) {
  if (err < 0) {
    fprintf(stderr, "%s: %s\n", what, art_strerror(err));
    exit(1);
  }
}

int main(void) {
  art_loop_t loop;
  check(art_loop_init(&loop), "art_loop_init");
  puts("Start");
  check(art_timer_init(&loop, &timeout), "art_timer_init");
  check(art_timer_start(&timeout, on_timeout, 0, 0), "art_timer_start");
  check(art_check_init(&loop, &immediate), "art_check_init");
  check(art_check_start(&immediate, on_immediate), "art_check_start");
  check(art_idle_init(&loop, &immediate_idle), "art_idle_init");
  check(art_idle_start(&immediate_idle, on_idle), "art_idle_start");
  check(art_next_tick(&loop, log_cb, "nextTick 1"), "art_next_tick");
  check(art_queue_microtask(&loop, log_cb, "Promise 1"), "art_queue_microtask");
  check(art_next_tick(&loop, log_cb, "nextTick 2"), "art_next_tick");
  check(art_queue_microtask(&loop, log_cb, "Promise 2"), "art_queue_microtask");
  puts("End");
  check(art_run(&loop, ART_RUN_DEFAULT), "art_run");
  check(art_loop_close(&loop), "art_loop_close");
  return 0;
}
