/* A registration the backend refuses (epoll_ctl failing with ENOMEM or
 * ENOSPC) reaches the user of the watcher as an error, and the loop does
 * not retry it or wait for events that cannot come. Each test runs its own
 * loop on the refusing backend (helpers/refusing_backend.h), arms the
 * refusal for one fd, and checks the user's callback, that the backend was
 * asked once, and that the loop then ends and closes. This suite links the
 * static library and includes the core's internal header: it tests an
 * internal contract. */
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helpers/harness.h"
#include "internal.h"

#include "helpers/refusing_backend.h"

static int seen_status;
static int seen_calls;

static void alloc_cb(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  static char space[4096];
  (void)h;
  (void)suggested;
  *buf = art_buf_init(space, sizeof(space));
}

/* What every user callback below does: note the status, close the handle. */
static void note_and_close(int status, void *handle) {
  seen_calls++;
  seen_status = status;
  art_close(handle, NULL);
}

static void read_cb(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  (void)buf;
  note_and_close((int)n, s);
}

/* Runs loop to the end, which must come: a refused watcher holds nothing. */
static void run_to_end_and_close(art_loop_t *loop) {
  for (int i = 0; i < 100 && art_run(loop, ART_RUN_NOWAIT); i++)
    ;
  assert_int_equal(art_loop_alive(loop), 0);
  assert_int_equal(art_loop_close(loop), 0);
}

static void stream_pair(art_loop_t *loop, art_pipe_t *p, int *other) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(art_pipe_init(loop, p, 0), 0);
  assert_int_equal(art_pipe_open(p, sv[0]), 0);
  *other = sv[1];
}

ART_TEST(refused_read_reaches_read_cb) {
  art_loop_t loop;
  art_pipe_t p;
  int other;
  (void)state;
  assert_int_equal(refusing_loop_init(&loop), 0);
  stream_pair(&loop, &p, &other);
  refuse_fd(p.io_.fd, ART_ENOSPC);
  seen_calls = 0;
  assert_int_equal(art_read_start((art_stream_t *)&p, alloc_cb, read_cb), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen_calls, 1);
  assert_int_equal(seen_status, ART_ENOSPC);
  assert_int_equal(refusing.refusals, 1); /* not retried */
  close(other);
  run_to_end_and_close(&loop);
}

static void write_cb(art_write_t *req, int status) {
  note_and_close(status, req->handle);
}

ART_TEST(refused_write_wait_fails_the_write) {
  art_loop_t loop;
  art_pipe_t p;
  int other;
  art_write_t w;
  static char big[4 << 20]; /* more than the socket buffers take */
  (void)state;
  assert_int_equal(refusing_loop_init(&loop), 0);
  stream_pair(&loop, &p, &other);
  refuse_fd(p.io_.fd, ART_ENOMEM);
  seen_calls = 0;
  art_buf_t b = art_buf_init(big, sizeof(big));
  assert_int_equal(art_write(&w, (art_stream_t *)&p, &b, 1, write_cb), 0);
  assert_true(art_stream_write_queue_size((art_stream_t *)&p) > 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen_calls, 1);
  assert_int_equal(seen_status, ART_ENOMEM);
  assert_int_equal(refusing.refusals, 1);
  close(other);
  run_to_end_and_close(&loop);
}

static void connect_cb(art_connect_t *req, int status) {
  note_and_close(status, req->handle);
}

ART_TEST(refused_connect_wait_fails_the_connect) {
  art_loop_t loop;
  art_tcp_t t;
  art_connect_t req;
  (void)state;
  /* A listener that never accepts: the connect stays in progress. */
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  assert_int_equal(bind(lfd, (struct sockaddr *)&addr, len), 0);
  assert_int_equal(listen(lfd, 1), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&addr, &len), 0);
  assert_int_equal(refusing_loop_init(&loop), 0);
  refuse_fd(-1, ART_ENOMEM); /* the socket is made inside connect */
  assert_int_equal(art_tcp_init(&loop, &t), 0);
  seen_calls = 0;
  assert_int_equal(
      art_tcp_connect(&req, &t, (struct sockaddr *)&addr, connect_cb), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen_calls, 1);
  /* A non-blocking TCP connect is in progress when connect(2) returns,
   * even on loopback: its wait was refused before any wait happened. */
  assert_int_equal(seen_status, ART_ENOMEM);
  close(lfd);
  run_to_end_and_close(&loop);
}

static void never_connection(art_stream_t *server, int status) {
  (void)server;
  (void)status;
  fail_msg("no connection can arrive");
}

ART_TEST(refused_listen_is_listens_error) {
  art_loop_t loop;
  art_tcp_t t;
  (void)state;
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_tcp_init(&loop, &t), 0);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(art_tcp_bind(&t, (struct sockaddr *)&addr, 0), 0);
  refuse_fd(t.io_.fd, ART_ENOSPC);
  assert_int_equal(art_listen((art_stream_t *)&t, 8, never_connection),
                   ART_ENOSPC);
  assert_int_equal(art_is_active((art_handle_t *)&t), 0);
  art_close((art_handle_t *)&t, NULL);
  run_to_end_and_close(&loop);
}

static void poll_cb(art_poll_t *p, int status, int events) {
  seen_calls++;
  seen_status = status;
  assert_int_equal(events, 0);
  assert_int_equal(art_is_active((art_handle_t *)p), 0); /* stopped */
  art_close((art_handle_t *)p, NULL);
}

ART_TEST(refused_poll_handle_gets_the_error_once) {
  art_loop_t loop;
  art_poll_t p;
  int sv[2];
  (void)state;
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_poll_init(&loop, &p, sv[0]), 0);
  refuse_fd(sv[0], ART_ENOMEM);
  seen_calls = 0;
  assert_int_equal(art_poll_start(&p, ART_READABLE, poll_cb), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen_calls, 1);
  assert_int_equal(seen_status, ART_ENOMEM);
  assert_int_equal(refusing.refusals, 1);
  close(sv[0]);
  close(sv[1]);
  run_to_end_and_close(&loop);
}

/* ---- UDP. ---- */

static void udp_alloc_cb(art_udp_t *h, size_t suggested, art_buf_t *buf) {
  static char space[2048];
  (void)h;
  (void)suggested;
  *buf = art_buf_init(space, sizeof(space));
}

static void udp_recv_cb(art_udp_t *h, ssize_t nread, const art_buf_t *buf,
                        const struct sockaddr *addr, unsigned flags) {
  seen_calls++;
  seen_status = (int)nread;
  assert_null(buf->base); /* nothing was allocated for it */
  assert_null(addr);
  assert_int_equal(flags, 0);
  assert_int_equal(art_udp_recv_stop(h), 0); /* already stopped */
}

ART_TEST(refused_udp_recv_reaches_recv_cb) {
  art_loop_t loop;
  art_udp_t h;
  (void)state;
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_udp_init(&loop, &h), 0);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(art_udp_bind(&h, (struct sockaddr *)&addr, 0), 0);
  refuse_fd(h.io_.fd, ART_ENOSPC);
  seen_calls = 0;
  assert_int_equal(art_udp_recv_start(&h, udp_alloc_cb, udp_recv_cb), 0);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen_calls, 1);
  assert_int_equal(seen_status, ART_ENOSPC);
  assert_int_equal(refusing.refusals, 1); /* not retried */
  art_close((art_handle_t *)&h, NULL);
  run_to_end_and_close(&loop);
}

static int udp_sent_ok, udp_sent_failed, udp_sent_other;

static void udp_send_cb(art_udp_send_t *req, int status) {
  (void)req;
  if (status == 0)
    udp_sent_ok++;
  else if (status == ART_ENOMEM)
    udp_sent_failed++;
  else
    udp_sent_other++;
}

/* Sends on h (an adopted AF_UNIX datagram socketpair end whose peer never
 * reads) until some wait in its queue. Returns how many were sent. */
static int udp_fill(art_udp_t *h, art_udp_send_t *reqs, int max) {
  static char payload[1024];
  art_buf_t b = art_buf_init(payload, sizeof(payload));
  udp_sent_ok = udp_sent_failed = udp_sent_other = 0;
  for (int i = 0; i < max; i++) {
    assert_int_equal(art_udp_send(&reqs[i], h, &b, 1, NULL, udp_send_cb), 0);
    if (art_udp_get_send_queue_count(h) >= 4)
      return i + 1;
  }
  fail_msg("the socket never filled");
  return 0;
}

ART_TEST(refused_udp_send_wait_fails_queued_sends) {
  art_loop_t loop;
  art_udp_t h;
  static art_udp_send_t reqs[4096];
  int sv[2];
  (void)state;
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_udp_init(&loop, &h), 0);
  assert_int_equal(art_udp_open(&h, sv[0]), 0);
  refuse_fd(sv[0], ART_ENOMEM);
  int n = udp_fill(&h, reqs, 4096);
  int queued = (int)art_udp_get_send_queue_count(&h);
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(udp_sent_ok, n - queued);
  assert_int_equal(udp_sent_failed, queued); /* each once, with the reason */
  assert_int_equal(udp_sent_other, 0);
  assert_int_equal(art_udp_get_send_queue_count(&h), 0);
  assert_int_equal(art_is_active((art_handle_t *)&h), 0);
  assert_int_equal(refusing.refusals, 1);
  art_close((art_handle_t *)&h, NULL);
  close(sv[1]);
  run_to_end_and_close(&loop);
}

/* A refused change of a registered socket (reading, then a send that must
 * wait) fails both directions, and the backend keeps no stale mask: the
 * readable socket does not show up in its waits. */
ART_TEST(refused_udp_mask_change_fails_both_and_leaves_nothing) {
  art_loop_t loop;
  art_udp_t h;
  static art_udp_send_t reqs[4096];
  art__event_t ev[8];
  int sv[2];
  (void)state;
  assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_udp_init(&loop, &h), 0);
  assert_int_equal(art_udp_open(&h, sv[0]), 0);
  assert_int_equal(art_udp_recv_start(&h, udp_alloc_cb, udp_recv_cb), 0);
  assert_int_equal(art_run(&loop, ART_RUN_NOWAIT), 1); /* registered */
  refuse_fd(sv[0], ART_ENOMEM);
  int n = udp_fill(&h, reqs, 4096);
  int queued = (int)art_udp_get_send_queue_count(&h);
  assert_int_equal(send(sv[1], "x", 1, 0), 1); /* sv[0] is readable */
  seen_calls = 0;
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(seen_calls, 1);
  assert_int_equal(seen_status, ART_ENOMEM);
  assert_int_equal(udp_sent_ok, n - queued);
  assert_int_equal(udp_sent_failed, queued);
  assert_int_equal(refusing.refusals, 1);
  int found = refusing.inner->wait(loop.backend_state_, 0, ev, 8);
  for (int i = 0; i < found; i++)
    assert_int_not_equal(ev[i].fd, sv[0]);
  art_close((art_handle_t *)&h, NULL);
  close(sv[1]);
  run_to_end_and_close(&loop);
}

/* ---- fs_event. ---- */

static void fs_event_cb(art_fs_event_t *h, const char *name, int events,
                        int status) {
  (void)name;
  (void)events;
  seen_calls++;
  seen_status = status;
  art_close((art_handle_t *)h, NULL);
}

/* The loop's inotify fd is registered inside art_fs_event_start, so a
 * refusal is that start's error; the next start registers it again and
 * events flow. */
ART_TEST(refused_fs_event_is_starts_error) {
  art_loop_t loop;
  art_fs_event_t h;
  char dir[] = "/tmp/art_refused_XXXXXX", file[64];
  (void)state;
  assert_non_null(mkdtemp(dir));
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_fs_event_init(&loop, &h), 0);
  refuse_fd(-1, ART_ENOSPC);
  assert_int_equal(art_fs_event_start(&h, fs_event_cb, dir, 0), ART_ENOSPC);
  assert_int_equal(art_is_active((art_handle_t *)&h), 0);
  assert_int_equal(art_run(&loop, ART_RUN_NOWAIT), 0); /* nothing to wait */
  refuse_fd(-2, 0);
  seen_calls = 0;
  assert_int_equal(art_fs_event_start(&h, fs_event_cb, dir, 0), 0);
  snprintf(file, sizeof(file), "%s/f", dir);
  int fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
  assert_true(fd >= 0);
  close(fd);
  int alive = 1;
  while (seen_calls == 0 && alive)
    alive = art_run(&loop, ART_RUN_ONCE);
  assert_int_equal(seen_calls, 1);
  assert_int_equal(seen_status, 0);
  assert_int_equal(refusing.refusals, 1);
  unlink(file);
  rmdir(dir);
  run_to_end_and_close(&loop);
}

/* ---- The loop's own wakeup. ---- */

/* The wakeup eventfd is registered inside art_loop_init: a refusal fails
 * the init (nothing leaks), rather than leaving a loop that other threads
 * cannot wake. */
ART_TEST(refused_wakeup_fails_loop_init) {
  art_loop_t loop;
  (void)state;
  assert_int_equal(refusing_loop_init_armed(&loop, -1, ART_ENOMEM), ART_ENOMEM);
  assert_int_equal(refusing.refusals, 1);
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_loop_close(&loop), 0);
}

/* ---- a listener refused when it re-arms after art_accept ---- */

static art_tcp_t rearm_client;
static art_timer_t rearm_timer;
static int rearm_statuses[4], rearm_calls;

/* Accepting two iterations later, not from the connection callback, lets
 * the listener's stop reach the backend, so art_accept registers it
 * again. */
static void rearm_accept_later(art_timer_t *t) {
  art_stream_t *server = t->data;
  if (t->loop->data == NULL) { /* first round: one more iteration */
    t->loop->data = t;
    assert_int_equal(art_timer_start(t, rearm_accept_later, 0, 0), 0);
    return;
  }
  refuse_fd(((art_tcp_t *)server)->io_.fd, ART_ENOSPC);
  assert_int_equal(art_tcp_init(server->loop, &rearm_client), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&rearm_client), 0);
  art_close((art_handle_t *)&rearm_client, NULL);
  art_close((art_handle_t *)t, NULL);
}

static void rearm_connection(art_stream_t *server, int status) {
  rearm_statuses[rearm_calls++] = status;
  if (status != 0) {
    /* Refused: the listener stopped, so the loop can end. */
    assert_int_equal(art_is_active((art_handle_t *)server), 0);
    art_close((art_handle_t *)server, NULL);
    return;
  }
  assert_int_equal(art_timer_init(server->loop, &rearm_timer), 0);
  rearm_timer.data = server;
  assert_int_equal(art_timer_start(&rearm_timer, rearm_accept_later, 0, 0), 0);
}

static void rearm_connected(art_connect_t *req, int status) {
  assert_int_equal(status, 0);
  art_close((art_handle_t *)req->handle, NULL);
}

ART_TEST(refused_listener_rearm_stops_and_reports) {
  art_loop_t loop;
  art_tcp_t server, client;
  art_connect_t req;
  (void)state;
  assert_int_equal(refusing_loop_init(&loop), 0);
  assert_int_equal(art_tcp_init(&loop, &server), 0);
  struct sockaddr_in addr = {.sin_family = AF_INET};
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(art_tcp_bind(&server, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(art_listen((art_stream_t *)&server, 8, rearm_connection), 0);
  int len = sizeof(addr);
  assert_int_equal(art_tcp_getsockname(&server, (struct sockaddr *)&addr, &len),
                   0);
  assert_int_equal(art_tcp_init(&loop, &client), 0);
  assert_int_equal(
      art_tcp_connect(&req, &client, (struct sockaddr *)&addr, rearm_connected),
      0);
  rearm_calls = 0;
  loop.data = NULL;
  assert_int_equal(art_run(&loop, ART_RUN_DEFAULT), 0); /* ends */
  assert_int_equal(rearm_calls, 2);
  assert_int_equal(rearm_statuses[0], 0);
  assert_int_equal(rearm_statuses[1], ART_ENOSPC);
  run_to_end_and_close(&loop);
}
