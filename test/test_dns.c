/* DNS: getaddrinfo and getnameinfo on the pool's slow lane, with localhost
 * and numeric hosts only (there is no external network), cancellation while
 * the slow lane is blocked, oversized names, the synchronous form, the EAI
 * error codes, and requests refused on a closed loop. The pool's worker threads
 * make this ART_SUITE_THREADS. */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "helpers/harness.h"

/* What a getaddrinfo callback saw. */
typedef struct {
  int calls;    /* callbacks run */
  int status;   /* the last status */
  int loopback; /* a 127.0.0.1 or ::1 result was among them */
  int port;     /* the port of the first result */
  int count;    /* results */
} gai_seen_t;

static gai_seen_t seen;

/* Scans a result list for loopback addresses. */
static void scan(struct addrinfo *res, gai_seen_t *s) {
  s->count = 0;
  s->loopback = 0;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    s->count++;
    if (ai->ai_family == AF_INET) {
      struct sockaddr_in *a = (struct sockaddr_in *)ai->ai_addr;
      if (s->count == 1)
        s->port = ntohs(a->sin_port);
      s->loopback |= a->sin_addr.s_addr == htonl(INADDR_LOOPBACK);
    } else if (ai->ai_family == AF_INET6) {
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)ai->ai_addr;
      if (s->count == 1)
        s->port = ntohs(a->sin6_port);
      s->loopback |= IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
  }
}

static void gai_cb(art_getaddrinfo_t *req, int status, struct addrinfo *res) {
  seen.calls++;
  seen.status = status;
  if (status == 0)
    assert_non_null(res);
  else
    assert_null(res);
  scan(res, &seen);
  art_freeaddrinfo(res);
}

static void resolve(art_loop_t *loop, const char *node, const char *service,
                    int family, int flags) {
  art_getaddrinfo_t req;
  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = family;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = flags;
  memset(&seen, 0, sizeof(seen));
  assert_int_equal(art_getaddrinfo(loop, &req, gai_cb, node, service, &hints),
                   0);
  assert_int_equal(seen.calls, 0); /* never synchronously */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen.calls, 1);
}

ART_TEST(localhost) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  resolve(loop, "localhost", "80", AF_INET, 0);
  assert_int_equal(seen.status, 0);
  assert_true(seen.loopback);
  assert_int_equal(seen.port, 80);
  resolve(loop, "localhost", NULL, AF_UNSPEC, 0);
  assert_int_equal(seen.status, 0);
  assert_true(seen.loopback);
}

ART_TEST(numeric_hosts_and_services) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  resolve(loop, "127.0.0.1", "8080", AF_UNSPEC,
          AI_NUMERICHOST | AI_NUMERICSERV);
  assert_int_equal(seen.status, 0);
  assert_true(seen.loopback);
  assert_int_equal(seen.port, 8080);
  assert_int_equal(seen.count, 1);
  resolve(loop, "::1", "65535", AF_INET6, AI_NUMERICHOST);
  assert_int_equal(seen.status, 0);
  assert_true(seen.loopback);
  assert_int_equal(seen.port, 65535);
  resolve(loop, NULL, "443", AF_INET, AI_PASSIVE | AI_NUMERICSERV);
  assert_int_equal(seen.status, 0);
  assert_int_equal(seen.port, 443);
}

ART_TEST(resolver_errors) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  resolve(loop, "not-an-address", NULL, AF_UNSPEC, AI_NUMERICHOST);
  assert_int_equal(seen.status, ART_EAI_NONAME);
  resolve(loop, "127.0.0.1", "no-such-service-here", AF_INET, AI_NUMERICHOST);
  assert_int_equal(seen.status, ART_EAI_SERVICE);
  resolve(loop, "127.0.0.1", "http", AF_INET, AI_NUMERICHOST | AI_NUMERICSERV);
  assert_int_equal(seen.status, ART_EAI_NONAME);
  resolve(loop, "127.0.0.1", NULL, 12345, AI_NUMERICHOST);
  assert_int_equal(seen.status, ART_EAI_FAMILY);
  resolve(loop, "127.0.0.1", NULL, AF_INET, 0x40000000);
  assert_int_equal(seen.status, ART_EAI_BADFLAGS);
  art_getnameinfo_t nreq;
  struct sockaddr_in a;
  assert_int_equal(art_ip4_addr("127.0.0.1", 80, &a), 0);
  assert_int_equal(
      art_getnameinfo(loop, &nreq, NULL, (struct sockaddr *)&a, 0x7fff0000),
      ART_EAI_BADFLAGS);
  /* Text for the codes. */
  assert_string_equal(art_err_name(ART_EAI_NONAME), "EAI_NONAME");
  assert_string_equal(art_err_name(ART_EAI_AGAIN), "EAI_AGAIN");
  assert_string_equal(art_strerror(ART_EAI_NONAME), "unknown host or service");
  assert_string_equal(art_err_name(ART_ENOENT), "ENOENT"); /* unchanged */
  assert_string_equal(art_err_name(-2999), "UNKNOWN");
}

/* Names are checked before anything runs: too long is ART_EINVAL, and the
 * callback never runs. At the limits exactly, the name goes to the
 * resolver (numeric-only, so nothing leaves the machine). */
ART_TEST(oversized_names) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_getaddrinfo_t req;
  struct addrinfo hints;
  char name[300];
  memset(&hints, 0, sizeof(hints));
  hints.ai_flags = AI_NUMERICHOST;
  memset(&seen, 0, sizeof(seen));
  /* 256 bytes: four labels of 63 and dots, then "abcd". */
  memset(name, 'a', sizeof(name));
  for (int i = 63; i < 256; i += 64)
    name[i] = '.';
  name[256] = '\0';
  assert_int_equal(art_getaddrinfo(loop, &req, gai_cb, name, NULL, &hints),
                   ART_EINVAL);
  assert_int_equal(art_getaddrinfo(loop, &req, NULL, name, NULL, &hints),
                   ART_EINVAL);
  name[255] = '\0'; /* 255 bytes, labels of 63: allowed */
  assert_int_equal(art_getaddrinfo(loop, &req, NULL, name, NULL, &hints),
                   ART_EAI_NONAME);
  memset(name, 'b', 64);
  strcpy(name + 64, ".example");
  assert_int_equal(art_getaddrinfo(loop, &req, gai_cb, name, NULL, &hints),
                   ART_EINVAL);
  strcpy(name, "x.");
  memset(name + 2, 'c', 64);
  name[66] = '\0';
  assert_int_equal(art_getaddrinfo(loop, &req, gai_cb, name, NULL, &hints),
                   ART_EINVAL);
  name[65] = '\0'; /* a last label of 63 */
  assert_int_equal(art_getaddrinfo(loop, &req, NULL, name, NULL, &hints),
                   ART_EAI_NONAME);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen.calls, 0);
}

ART_TEST(sync_forms) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_getaddrinfo_t req;
  art_getnameinfo_t nreq;
  struct sockaddr_in a;
  assert_int_equal(art_getaddrinfo(loop, &req, NULL, "localhost", "7", NULL),
                   0);
  assert_non_null(req.addrinfo);
  gai_seen_t s;
  memset(&s, 0, sizeof(s));
  scan(req.addrinfo, &s);
  assert_true(s.loopback);
  assert_int_equal(s.port, 7);
  art_freeaddrinfo(req.addrinfo);
  art_freeaddrinfo(NULL);
  assert_int_equal(art_ip4_addr("127.0.0.1", 53, &a), 0);
  assert_int_equal(art_getnameinfo(loop, &nreq, NULL, (struct sockaddr *)&a,
                                   NI_NUMERICHOST | NI_NUMERICSERV),
                   0);
  assert_string_equal(nreq.host, "127.0.0.1");
  assert_string_equal(nreq.service, "53");
  assert_false(art_loop_alive(loop)); /* nothing was queued */
}

static int names_calls;
static char names_host[ART_NI_MAXHOST];
static int names_status;

static void gni_cb(art_getnameinfo_t *req, int status, const char *host,
                   const char *service) {
  names_calls++;
  names_status = status;
  if (status == 0) {
    assert_ptr_equal(host, req->host);
    assert_ptr_equal(service, req->service);
    strcpy(names_host, host);
  } else {
    assert_null(host);
    assert_null(service);
  }
}

ART_TEST(getnameinfo_loopback) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_getnameinfo_t req;
  struct sockaddr_in a;
  struct sockaddr_in6 a6;
  names_calls = 0;
  assert_int_equal(art_ip4_addr("127.0.0.1", 80, &a), 0);
  assert_int_equal(art_getnameinfo(loop, &req, gni_cb, (struct sockaddr *)&a,
                                   NI_NUMERICHOST | NI_NUMERICSERV),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(names_calls, 1);
  assert_int_equal(names_status, 0);
  assert_string_equal(names_host, "127.0.0.1");
  assert_string_equal(req.service, "80");
  /* By name: 127.0.0.1 is in every /etc/hosts. */
  assert_int_equal(
      art_getnameinfo(loop, &req, gni_cb, (struct sockaddr *)&a, NI_NAMEREQD),
      0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(names_calls, 2);
  assert_int_equal(names_status, 0);
  assert_true(names_host[0] != '\0');
  assert_int_equal(art_ip6_addr("::1", 443, &a6), 0);
  assert_int_equal(art_getnameinfo(loop, &req, gni_cb, (struct sockaddr *)&a6,
                                   NI_NUMERICHOST | NI_NUMERICSERV),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(names_calls, 3);
  assert_string_equal(names_host, "::1");
  assert_string_equal(req.service, "443");
}

/* Blocks the single slow slot of a one-thread pool until released. */
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_entered;

static void gate_work(art_work_t *w) {
  pthread_mutex_lock(&gate_lock);
  gate_entered = 1;
  pthread_cond_broadcast(&gate_cond);
  while (!gate_open)
    pthread_cond_wait(&gate_cond, &gate_lock);
  pthread_mutex_unlock(&gate_lock);
}

static void gate_after(art_work_t *w, int status) {}

static void gate_wait_entered(void) {
  pthread_mutex_lock(&gate_lock);
  while (!gate_entered)
    pthread_cond_wait(&gate_cond, &gate_lock);
  pthread_mutex_unlock(&gate_lock);
}

static void gate_release(void) {
  pthread_mutex_lock(&gate_lock);
  gate_open = 1;
  pthread_cond_broadcast(&gate_cond);
  pthread_mutex_unlock(&gate_lock);
}

ART_TEST(cancel_while_slow_lane_blocked) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pool_t *pool;
  art_work_t gate;
  art_getaddrinfo_t req;
  art_getnameinfo_t nreq;
  struct sockaddr_in a;
  gate_open = gate_entered = 0;
  names_calls = 0;
  memset(&seen, 0, sizeof(seen));
  assert_int_equal(art_pool_init(&pool, 1), 0);
  assert_int_equal(art_loop_set_pool(loop, pool), 0);
  assert_int_equal(
      art_queue_work_lane(loop, &gate, ART_LANE_SLOW, gate_work, gate_after),
      0);
  gate_wait_entered(); /* the slow lane is now full */
  assert_int_equal(art_getaddrinfo(loop, &req, gai_cb, "localhost", NULL, NULL),
                   0);
  assert_int_equal(art_ip4_addr("127.0.0.1", 80, &a), 0);
  assert_int_equal(art_getnameinfo(loop, &nreq, gni_cb, (struct sockaddr *)&a,
                                   NI_NUMERICHOST),
                   0);
  assert_int_equal(art_cancel((art_req_t *)&req), 0);
  assert_int_equal(art_cancel((art_req_t *)&nreq), 0);
  assert_int_equal(art_cancel((art_req_t *)&req), ART_EBUSY);
  assert_int_equal(art_cancel((art_req_t *)&gate), ART_EBUSY); /* running */
  gate_release();
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen.calls, 1);
  assert_int_equal(seen.status, ART_ECANCELED);
  assert_int_equal(names_calls, 1);
  assert_int_equal(names_status, ART_ECANCELED);
  assert_int_equal(art_loop_set_pool(loop, NULL), 0);
  assert_int_equal(art_pool_close(pool), 0);
}

/* Many lookups at once all complete, each exactly once. */
static int many_calls;
static void many_cb(art_getaddrinfo_t *req, int status, struct addrinfo *res) {
  assert_int_equal(status, 0);
  many_calls++;
  art_freeaddrinfo(res);
}

ART_TEST(many_in_flight) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  static art_getaddrinfo_t reqs[64];
  char port[8];
  many_calls = 0;
  for (int i = 0; i < 64; i++) {
    snprintf(port, sizeof(port), "%d", 1000 + i);
    assert_int_equal(
        art_getaddrinfo(loop, &reqs[i], many_cb, "127.0.0.1", port, NULL), 0);
  }
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(many_calls, 64);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_getaddrinfo_t req;
  art_getnameinfo_t nreq;
  struct sockaddr_in a;
  struct sockaddr un = {.sa_family = AF_UNIX};
  assert_int_equal(art_getaddrinfo(NULL, &req, gai_cb, "localhost", NULL, NULL),
                   ART_EINVAL);
  assert_int_equal(art_getaddrinfo(loop, NULL, gai_cb, "localhost", NULL, NULL),
                   ART_EINVAL);
  assert_int_equal(art_getaddrinfo(loop, &req, gai_cb, NULL, NULL, NULL),
                   ART_EINVAL);
  assert_int_equal(art_ip4_addr("127.0.0.1", 1, &a), 0);
  assert_int_equal(
      art_getnameinfo(NULL, &nreq, gni_cb, (struct sockaddr *)&a, 0),
      ART_EINVAL);
  assert_int_equal(
      art_getnameinfo(loop, NULL, gni_cb, (struct sockaddr *)&a, 0),
      ART_EINVAL);
  assert_int_equal(art_getnameinfo(loop, &nreq, gni_cb, NULL, 0), ART_EINVAL);
  assert_int_equal(art_getnameinfo(loop, &nreq, gni_cb, &un, 0), ART_EINVAL);
  /* The copy of the strings cannot be allocated: nothing is queued. */
  art_test_fail_alloc_after(0);
  int r = art_getaddrinfo(loop, &req, gai_cb, "localhost", "80", NULL);
  art_test_fail_alloc_after(-1);
  assert_int_equal(r, ART_ENOMEM);
  assert_false(art_loop_alive(loop));
}

/* Requests given a loop that was closed: ART_EINVAL, as for art_queue_work
 * and the fs requests, instead of a request that a pool thread would
 * complete into the closed loop. The callbacks must never run. */
ART_TEST(requests_on_closed_loop_are_einval) {
  (void)state;
  static art_loop_t closed; /* static: outlives a wrongly queued request */
  static art_getaddrinfo_t gai;
  static art_getnameinfo_t gni;
  struct sockaddr_in a = {.sin_family = AF_INET};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(art_loop_init(&closed), 0);
  assert_int_equal(art_loop_close(&closed), 0);
  assert_int_equal(
      art_getaddrinfo(&closed, &gai, gai_cb, "localhost", NULL, NULL),
      ART_EINVAL);
  assert_int_equal(
      art_getnameinfo(&closed, &gni, gni_cb, (struct sockaddr *)&a, 0),
      ART_EINVAL);
}
