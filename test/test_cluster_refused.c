/* The cluster on a backend that refuses registrations (epoll_ctl failing
 * with ENOMEM): the primary's round robin listener refused is
 * art_cluster_start's error and everything it opened closes; workers that
 * cannot be spawned or watched are exits with the backoff, and a stop
 * still ends cleanly. Each test runs its own loop on the refusing backend
 * (helpers/refusing_backend.h). This suite links the static library and
 * includes the core's internal header: it tests an internal contract. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "helpers/cluster_worker.h"
#include "helpers/harness.h"
#include "internal.h"

#include "helpers/refusing_backend.h"

static int exits;
static int64_t first_status;
static int stopped;

static void on_exit_cb(art_cluster_t *c, unsigned slot, int pid, int64_t status,
                       int sig, int64_t restart) {
  (void)c, (void)slot, (void)pid, (void)sig, (void)restart;
  if (exits++ == 0)
    first_status = status;
}

static void on_stopped(art_cluster_t *c, int status) {
  (void)c, (void)status;
  stopped = 1;
}

static int two_exits(void *arg) {
  (void)arg;
  return exits >= 2;
}

static int is_stopped(void *arg) {
  (void)arg;
  return stopped;
}

static char *args[] = {"test_cluster_refused", "serve", NULL};
static struct sockaddr_in loopback;

static art_cluster_options_t options(art_cluster_mode mode) {
  art_cluster_options_t o;
  memset(&o, 0, sizeof(o));
  loopback.sin_family = AF_INET;
  loopback.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  o.workers = 2;
  o.mode = mode;
  o.address = (const struct sockaddr *)&loopback;
  o.args = args;
  o.restart_min_ms = 10;
  o.restart_max_ms = 20;
  o.on_exit = on_exit_cb;
  exits = 0;
  stopped = 0;
  return o;
}

ART_TEST(refused_listener_is_the_starts_error) {
  art_loop_t loop;
  art_cluster_t c;
  assert_int_equal(refusing_loop_init(&loop), 0);
  art_cluster_options_t o = options(ART_CLUSTER_ROUNDROBIN);
  refuse_fd(-1, ART_ENOMEM);
  assert_int_equal(art_cluster_start(&loop, &c, &o), ART_ENOMEM);
  refuse_fd(-2, 0);
  art_run(&loop, ART_RUN_DEFAULT); /* what it opened closes */
  assert_int_equal(exits, 0);
  assert_int_equal(art_loop_close(&loop), 0);
}

/* Nothing can be watched: neither the workers' pidfds nor the signal pipe
 * the process layer falls back on, so every spawn fails and is an exit;
 * the stop still closes everything. */
ART_TEST(refused_workers_are_exits_with_backoff) {
  art_loop_t loop;
  art_cluster_t c;
  assert_int_equal(refusing_loop_init(&loop), 0);
  art_cluster_options_t o = options(ART_CLUSTER_REUSEPORT);
  assert_int_equal(art_cluster_start(&loop, &c, &o), 0);
  refuse_fd(-1, ART_ENOMEM);
  assert_true(art_test_run_until(&loop, 20000, two_exits, NULL));
  assert_int_equal(first_status, ART_ENOMEM);
  refuse_fd(-2, 0);
  assert_int_equal(art_cluster_stop(&c, on_stopped), 0);
  assert_true(art_test_run_until(&loop, 20000, is_stopped, NULL));
  art_run(&loop, ART_RUN_DEFAULT);
  assert_int_equal(art_loop_close(&loop), 0);
}
