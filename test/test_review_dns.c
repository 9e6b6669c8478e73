/* DNS requests given a loop that was closed: ART_EINVAL, as for
 * art_queue_work and the fs requests, instead of a request that a pool
 * thread would complete into the closed loop. ART_SUITE_THREADS */
#include <arpa/inet.h>
#include <netinet/in.h>

#include "helpers/harness.h"

static void gai_cb(art_getaddrinfo_t *req, int status, struct addrinfo *res) {
  (void)req;
  (void)status;
  art_freeaddrinfo(res);
}

static void gni_cb(art_getnameinfo_t *req, int status, const char *host,
                   const char *service) {
  (void)req;
  (void)status;
  (void)host;
  (void)service;
}

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
