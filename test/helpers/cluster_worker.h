/* The worker side the cluster tests (and the cluster example's test) run:
 * the test executable re-executes itself (/proc/self/exe) with
 * ART_CLUSTER_ENV set, and a constructor runs this instead of the tests.
 *
 * Behaviours, chosen by argv[1]:
 *   serve    answer each connection with "<slot> <pid>\n" and close it;
 *            reply to a message m with "pong <slot> m"; on drain, finish
 *   slow     as serve, but answer 300 ms after accepting, and tell the
 *            primary "accepted" first
 *   linger   as serve, but ignore the drain (a 30 s timer keeps it
 *            alive, past any grace the tests give)
 *   lastwords  once ready, send "hello", fork a child that keeps the pipe
 *            and sends "bye" 50 ms later, and exit(0) at once: the
 *            primary sees the exit before the last message
 *   exit     exit(3) at once
 *   mute     never start the worker's side: wait for the end of the pipe
 *   hostile  write a frame header announcing 4 GiB to the primary, then
 *            wait for the end of the pipe
 */
#ifndef ART_TEST_HELPERS_CLUSTER_WORKER_H
#define ART_TEST_HELPERS_CLUSTER_WORKER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asyncrt.h"

typedef struct {
  art_tcp_t tcp;
  art_write_t req;
  art_timer_t timer;
  char text[48];
} cw_conn_t;

static int cw_slow, cw_linger;
static art_timer_t cw_keep;

static void cw_closed(art_handle_t *h) {
  cw_conn_t *k = h->data;
  if (h == (art_handle_t *)&k->tcp)
    free(k);
}

static void cw_written(art_write_t *req, int status) {
  cw_conn_t *k = req->data;
  (void)status;
  art_close((art_handle_t *)&k->tcp, cw_closed);
}

static void cw_answer(cw_conn_t *k) {
  art_buf_t b = art_buf_init(k->text, strlen(k->text));
  k->req.data = k;
  if (art_write(&k->req, (art_stream_t *)&k->tcp, &b, 1, cw_written) != 0)
    art_close((art_handle_t *)&k->tcp, cw_closed);
}

static void cw_timer_closed(art_handle_t *h) {
  cw_answer(h->data);
}

static void cw_due(art_timer_t *t) {
  art_close((art_handle_t *)t, cw_timer_closed);
}

static void cw_connection(art_cluster_worker_t *w, int status) {
  if (status != 0)
    return;
  cw_conn_t *k = calloc(1, sizeof(*k));
  if (k == NULL)
    return;
  art_tcp_init(w->loop, &k->tcp);
  k->tcp.data = k;
  if (art_cluster_accept(w, &k->tcp) != 0) {
    art_close((art_handle_t *)&k->tcp, cw_closed);
    return;
  }
  snprintf(k->text, sizeof(k->text), "%u %d\n", w->slot, (int)getpid());
  if (!cw_slow) {
    cw_answer(k);
    return;
  }
  art_cluster_worker_send(w, "accepted", 8);
  art_timer_init(w->loop, &k->timer);
  k->timer.data = k;
  art_timer_start(&k->timer, cw_due, 300, 0);
}

static void cw_message(art_cluster_worker_t *w, const void *data, size_t len) {
  char out[128];
  int n = snprintf(out, sizeof(out), "pong %u %.*s", w->slot,
                   (int)(len < 64 ? len : 64), (const char *)data);
  art_cluster_worker_send(w, out, (size_t)n);
}

static int cw_lastwords;

static void cw_ready(art_cluster_worker_t *w) {
  art_cluster_worker_send(w, "hello", 5);
  if (cw_lastwords) {
    static const unsigned char bye[11] = {0, 0, 0,   3,   3,  0,
                                          0, 0, 'b', 'y', 'e'};
    if (fork() == 0) { /* the child inherits fd 3 */
      usleep(50 * 1000);
      _exit(write(3, bye, sizeof(bye)) == (ssize_t)sizeof(bye) ? 0 : 1);
    }
    _exit(0); /* "hello" went out at once: nothing was queued */
  }
}

static void cw_never(art_timer_t *t) {
  (void)t;
}

static void cw_drain(art_cluster_worker_t *w) {
  if (cw_linger) {
    art_timer_init(w->loop, &cw_keep);
    art_timer_start(&cw_keep, cw_never, 30 * 1000, 0); /* outlives grace */
  }
}

static int cw_main(const char *behaviour) {
  if (strcmp(behaviour, "exit") == 0)
    return 3;
  if (strcmp(behaviour, "mute") == 0) {
    char sink[256];
    while (read(3, sink, sizeof(sink)) > 0) /* until killed or orphaned */
      ;
    return 0;
  }
  if (strcmp(behaviour, "hostile") == 0) {
    static const unsigned char bad[8] = {0xff, 0xff, 0xff, 0xff, 3, 0, 0, 0};
    char sink[256];
    if (write(3, bad, sizeof(bad)) != (ssize_t)sizeof(bad))
      return 4;
    while (read(3, sink, sizeof(sink)) > 0) /* until killed or orphaned */
      ;
    return 0;
  }
  cw_slow = strcmp(behaviour, "slow") == 0;
  cw_linger = strcmp(behaviour, "linger") == 0;
  cw_lastwords = strcmp(behaviour, "lastwords") == 0;
  art_loop_t loop;
  art_cluster_worker_t w;
  art_cluster_worker_options_t o = {0};
  o.on_connection = cw_connection;
  o.on_message = cw_message;
  o.on_ready = cw_ready;
  o.on_drain = cw_drain;
  if (art_loop_init(&loop) != 0 || art_cluster_worker_start(&loop, &w, &o))
    return 5;
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 6;
}

/* glibc passes argc, argv and envp to constructors. CW_BEHAVIOUR in the
 * environment overrides argv[1]: the primary reads its environment at
 * each spawn, so a test can change what the next workers do (a reload's
 * replacements) without changing the cluster's options. */
__attribute__((constructor)) static void cw_constructor(int argc, char **argv,
                                                        char **envp) {
  (void)envp;
  const char *override = getenv("CW_BEHAVIOUR");
  if (art_cluster_is_worker() == 1 && argc > 1)
    exit(cw_main(override != NULL ? override : argv[1]));
}

#endif
