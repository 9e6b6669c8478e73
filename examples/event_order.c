/* The event-order demo from Node's notes, in C.
 *
 * The JavaScript it mirrors:
 *
 *   console.log('Start');
 *   setTimeout(() => {
 *     console.log('Timer');
 *     setTimeout(() => console.log('Timer from timer'), 0);
 *     setImmediate(() => console.log('Immediate from timer'));
 *     process.nextTick(() => console.log('nextTick from timer'));
 *   }, 0);
 *   process.nextTick(() => console.log('nextTick 1'));
 *   Promise.resolve().then(() => console.log('Promise 1'));
 *   process.nextTick(() => console.log('nextTick 2'));
 *   Promise.resolve().then(() => console.log('Promise 2'));
 *   console.log('End');
 *
 * It prints Start, End, nextTick 1, nextTick 2, Promise 1, Promise 2, Timer,
 * nextTick from timer, Immediate from timer, Timer from timer: the
 * synchronous code first, then every tick, then every microtask (both
 * drained before the loop runs a phase), then the timers phase, with the
 * timer's own tick drained right after it; then the check phase of the same
 * iteration, where immediates run; and only in the next iteration's timers
 * phase the timeout the timer started.
 *
 * Node itself prints that order every time. Scheduled from the main module
 * instead, a timeout of 0 and an immediate race in Node (whether the first
 * timers phase finds the timeout due depends on how long start-up took);
 * from inside a timer or an I/O callback the immediate always comes first,
 * because the check phase is before the next timers phase. */
#include <stdio.h>
#include <stdlib.h>

#include <asyncrt.h>

static art_timer_t timeout, timeout_from_timer;
static art_immediate_t immediate;

static void log_cb(art_loop_t *loop, void *arg) {
  (void)loop;
  puts((const char *)arg);
}

/* Fails the program with the library's description of err. */
static void check(int err, const char *what) {
  if (err < 0) {
    fprintf(stderr, "%s: %s\n", what, art_strerror(err));
    exit(1);
  }
}

static void on_timeout_from_timer(art_timer_t *t) {
  puts("Timer from timer");
  art_close((art_handle_t *)t, NULL);
}

static void on_immediate(art_immediate_t *imm) {
  (void)imm;
  puts("Immediate from timer");
}

static void on_timeout(art_timer_t *t) {
  puts("Timer");
  check(art_timer_start(&timeout_from_timer, on_timeout_from_timer, 0, 0),
        "art_timer_start");
  check(art_immediate_start(t->loop, &immediate, on_immediate),
        "art_immediate_start");
  check(art_next_tick(t->loop, log_cb, "nextTick from timer"), "art_next_tick");
  art_close((art_handle_t *)t, NULL);
}

int main(void) {
  art_loop_t loop;
  check(art_loop_init(&loop), "art_loop_init");
  puts("Start");
  check(art_timer_init(&loop, &timeout), "art_timer_init");
  check(art_timer_init(&loop, &timeout_from_timer), "art_timer_init");
  check(art_timer_start(&timeout, on_timeout, 0, 0), "art_timer_start");
  check(art_next_tick(&loop, log_cb, "nextTick 1"), "art_next_tick");
  check(art_queue_microtask(&loop, log_cb, "Promise 1"), "art_queue_microtask");
  check(art_next_tick(&loop, log_cb, "nextTick 2"), "art_next_tick");
  check(art_queue_microtask(&loop, log_cb, "Promise 2"), "art_queue_microtask");
  puts("End");
  check(art_run(&loop, ART_RUN_DEFAULT), "art_run");
  check(art_loop_close(&loop), "art_loop_close");
  return 0;
}
