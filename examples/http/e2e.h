/* The end-to-end tests' client and server process (e2e_client.c), used by
 * the scenarios in e2e.c. */
#ifndef HTTP_E2E_H
#define HTTP_E2E_H

#include <stddef.h>
#include <sys/types.h>

#define BIG_SIZE (200 * 1024 + 17) /* several file chunks and a tail */

/* A connection with a read buffer (responses may arrive together). */
typedef struct {
  int fd;
  char buf[1 << 20];
  size_t len;
} client_t;

/* A parsed response. */
typedef struct {
  int status;
  char head[4096];
  char *body; /* malloc'd, NUL-terminated */
  size_t body_len;
  int closes; /* Connection: close */
} resp_t;

extern pid_t server_pid; /* the server process */
extern int server_port;  /* where it listens */
extern char root[64];    /* its served folder */
extern const char *scenario;
extern char server_said[16384]; /* what the server printed, once stopped */

/* Kills the server if it runs, removes the served folder. */
void e2e_cleanup(void);

/* Reports a failure, kills the server, removes the folder, exits 1. */
void die(const char *fmt, ...);
#define CHECK(cond, ...)                                                       \
  do {                                                                         \
    if (!(cond))                                                               \
      die(__VA_ARGS__);                                                        \
  } while (0)

/* The served folder: hello.txt, big.bin (BIG_SIZE bytes, byte i is
 * i * 7 % 251), sub/inner.txt, and link, a symlink to /etc/hostname. */
void make_root(void);

/* Writes root/name. */
void write_root_file(const char *name, const char *data);

/* Starts the server on port 0 with --root and the extra arguments
 * (NULL-terminated), and reads the port it prints. */
void server_start(const char *binary, const char *const *extra);

/* Starts argv (argv[0] looked up on PATH) with its stdout read by the
 * test, without waiting for it to listen. */
void server_spawn(const char *const *argv);

/* Reads the server's output until its "listening on" line, sets
 * server_port from it and copies the line to banner (may be NULL). */
void server_wait_banner(char *banner, size_t size);

/* Closes the reading end of the server's stdout, as a reader that went
 * away would. */
void server_output_close(void);

/* Reads what the server printed so far (without waiting) into server_said
 * and counts the lines that contain text. */
int server_output_count(const char *text);

/* Sends sig to the server and waits (at most timeout_ms) for it to exit;
 * returns its exit status, or dies if it was killed or did not exit. */
int server_stop(int sig, int timeout_ms);

int connect_server(void);              /* a connected socket, or -1 */
int connect_server_rcvbuf(int rcvbuf); /* the same, SO_RCVBUF set first */
client_t *client_open(void);
void client_close(client_t *c);
void send_all(client_t *c, const void *data, size_t len);
void send_str(client_t *c, const char *s);
ssize_t fill(client_t *c); /* reads more: count, 0 at EOF, -1 on error */
void take_line(client_t *c, char *line, size_t size);
const char *header(const resp_t *r, const char *name);
void read_response(client_t *c, resp_t *r, int head_only);
void resp_free(resp_t *r);
void expect_eof(client_t *c);
void request(const char *method, const char *target, const char *body,
             resp_t *r);
void expect_get(const char *target, int status, const char *text);

/* Waits until /api/stats counts a request in flight (a route is busy). */
void wait_busy(void);

/* The number after "key": in a fresh /api/stats; -1 when absent. */
long long stat_of(const char *key);

/* Waits (10 s at most) until exactly n connections are open, the asking
 * one included. */
void wait_open(long long n);

/* e2e_chaos.c: hundreds of clients misbehaving at once. */
void scenario_chaos(void);
void scenario_chaos_shutdown(void); /* SIGTERM in the middle */

/* e2e_deploy.c: probes, drain, the service manager's protocols. */
void scenario_drain(void);
void scenario_notify(const char *binary);
void scenario_activated(const char *binary);

/* e2e_observe.c: /metrics. */
void scenario_metrics(void);
void scenario_metrics_promtool(void);
void scenario_request_ids(void); /* request ids in the --log lines */
void scenario_dashboard(void);
void scenario_dashboard_chromium(void);

#endif
