/* file: docs/examples/service_greeter.c */
#include <asyncrt.h>
#include <stdio.h>

static art_loop_t *loop;
static art_tcp_t server, client;
static art_timer_t watchdog;
static art_write_t write_req;
static char greeting[ART_LISTEN_FDNAME_MAX + 32];

static void on_written(art_write_t *req, int status) {
  (void)req;
  if (status != 0)
    fprintf(stderr, "write: %s\n", art_strerror(status));
  /* One greeting, then stop: the watchdog timer is unreferenced and would
   * not keep the loop alive, but it is ours to close. */
  art_close((art_handle_t *)&client, NULL);
  art_close((art_handle_t *)&server, NULL);
  art_close((art_handle_t *)&watchdog, NULL);
}

static void on_connection(art_stream_t *listener, int status) {
  art_buf_t buf;
  if (status != 0 || art_tcp_init(loop, &client) != 0)
    return;
  if (art_accept(listener, (art_stream_t *)&client) != 0) {
    art_close((art_handle_t *)&client, NULL);
    return;
  }
  buf = art_buf_init(greeting, (unsigned)snprintf(greeting, sizeof(greeting),
                                                  "hello from %s\n",
                                                  (const char *)server.data));
  art_write(&write_req, (art_stream_t *)&client, &buf, 1, on_written);
}

int main(void) {
  art_listen_fd_t fds[4];
  uint64_t ping_ms;
  int n = art_listen_fds(fds, 4), err;
  if (n < 1) {
    fprintf(stderr,
            "no socket passed (%s): run me under "
            "systemd-socket-activate\n",
            n < 0 ? art_strerror(n) : "LISTEN_FDS unset");
    return 1;
  }
  loop = art_default_loop();
  if (loop == NULL || art_tcp_init(loop, &server) != 0 ||
      art_timer_init(loop, &watchdog) != 0)
    return 1;
  server.data = fds[0].name;
  if ((err = art_tcp_open(&server, fds[0].fd)) != 0 ||
      (err = art_listen((art_stream_t *)&server, 16, on_connection)) != 0 ||
      (err = art_sd_watchdog_start(&watchdog, &ping_ms)) != 0) {
    fprintf(stderr, "fd %d: %s\n", fds[0].fd, art_strerror(err));
    return 1;
  }
  art_sd_notify("READY=1");
  art_run(loop, ART_RUN_DEFAULT);
  art_sd_notify("STOPPING=1");
  printf("served fd %d (%s), watchdog every %lu ms\n", fds[0].fd, fds[0].name,
         (unsigned long)ping_ms);
  return art_loop_close(loop) == 0 ? 0 : 1;
}
