/* Request ids, carried by the library's async context.
 *
 * Each request gets an id when its first byte arrives (a counter of the
 * server). The id, not a pointer to the connection, is the context: a
 * connection serves many requests, and a callback of an old one (a late
 * write) must not be logged under the next. The context is set when the
 * request's handling starts and each time the connection hands it an event;
 * everything started from there (its timer, pool work, file reads, writes)
 * captures it, and their callbacks run with it current. The log lines of a
 * request read it back with art_context_get: no id is passed by hand. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "server.h"

void request_id_begin(conn_t *c) {
  c->request_id = ++c->srv->next_request_id;
  request_id_enter(c);
}

void request_id_enter(conn_t *c) {
  art_context_set(c->srv->loop, (void *)(uintptr_t)c->request_id);
}

void request_id_leave(conn_t *c) {
  art_context_set(c->srv->loop, NULL);
}

uint64_t request_id_current(server_t *srv) {
  return (uint64_t)(uintptr_t)art_context_get(srv->loop);
}

/* One line of --log about the current request: "req=N what". A write
 * error stops the log, not the server (as for the access log). */
void request_log(server_t *srv, const char *fmt, ...) {
  va_list ap;
  if (!srv->cfg.log)
    return;
  printf("req=%llu ", (unsigned long long)request_id_current(srv));
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
  if (fflush(stdout) != 0 || ferror(stdout)) {
    srv->cfg.log = 0;
    clearerr(stdout);
  }
}
