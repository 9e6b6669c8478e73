/* The HTTP/1.1 server example: shared types of server.c (process, listener,
 * limits, shutdown), conn.c (one connection: reading, parsing, timeouts,
 * writing) and routes.c (what each URL does). */
#ifndef HTTP_SERVER_H
#define HTTP_SERVER_H

#include <stdint.h>

#include "asyncrt.h"
#include "parser.h"

#define CONN_IN_SIZE      4096  /* read buffer per connection */
#define CONN_HEAD_SIZE    512   /* response head buffer */
#define CONN_BODY_SIZE    2048  /* small response body buffer */
#define FILE_CHUNK        32768 /* bytes per file read, the file route */
#define LIFECYCLE_STEPS   10    /* steps the lifecycle route records */
#define RATE_SLOTS        4096  /* client addresses the rate limiter tracks */
#define SLOW_MAX_MS       60000 /* largest ?ms= of /api/slow; above: 400 */
#define HEAVY_MAX_ROUNDS  500000000 /* largest ?rounds= of /api/heavy */
#define SHUTDOWN_GRACE_MS 200       /* after the deadline, for work to return */

typedef struct server_s server_t;
typedef struct conn_s conn_t;

/* A slab of connection structs, mapped from the kernel (see conn.c). */
typedef struct {
  char *mem;     /* SLAB_CONNS structs, conn_stride() apart; NULL: unmapped */
  conn_t *free;  /* released structs of this slab, for reuse */
  unsigned used; /* structs handed out of mem since it was mapped */
  unsigned live; /* structs in use: open or closing connections */
} slab_t;

/* Allocations the library made through art_replace_allocator since the
 * start, with --count-allocs; -1 without it. /api/stats reports it. */
long long server_lib_allocs(void);

/* Command-line settings. */
typedef struct {
  const char *host;          /* address to bind, 127.0.0.1 by default */
  int port;                  /* 0: ephemeral */
  const char *root;          /* folder served by /api/file */
  const char *report_file;   /* SIGUSR2's report goes here, else stderr */
  int log;                   /* access log line per request on stdout */
  uint64_t request_timeout;  /* ms to receive a whole request (408) */
  uint64_t idle_timeout;     /* ms a keep-alive connection may sit idle */
  uint64_t shutdown_timeout; /* ms in-flight requests get at shutdown */
  uint64_t drain_delay;      /* ms the listener stays open after SIGTERM */
  uint64_t send_timeout;     /* ms a response may make no write progress */
  unsigned rate_limit;       /* requests per window per client, 0: off */
  uint64_t rate_window;      /* window length, ms */
  unsigned max_conns;        /* open connections served; past it, 503 */
  uint64_t max_body;         /* request bodies above this get 413 */
  int count_allocs;          /* count the library's allocations */
  int no_openat2;            /* resolve file names without openat2 (tests) */
  unsigned workers;          /* --workers: loops serving the port (1) */
  int cluster;               /* --cluster: how several workers share it */
} config_t;

/* --cluster: threads (worker loops of this process, each with its own
 * SO_REUSEPORT listener), or worker processes (art_cluster) that the
 * kernel balances (reuseport) or the primary deals to (roundrobin). */
enum { CLUSTER_THREADS = 1, CLUSTER_REUSEPORT, CLUSTER_ROUNDROBIN };

/* One client address in the fixed-window rate limiter. */
typedef struct {
  uint8_t addr[16];      /* IPv4-mapped or IPv6 address */
  uint64_t window_start; /* loop ms when the current window began */
  unsigned count;        /* requests in the current window */
  int used;              /* slot holds an address */
} rate_slot_t;

/* What a finished write lets the connection do next. */
typedef enum {
  W_NONE,     /* no write in flight */
  W_FINAL,    /* the last write of a response */
  W_CONTINUE, /* "100 Continue": go on reading the body */
  W_PIECE,    /* a piece of a streamed response: go on */
  W_FILE      /* a file chunk: read the next one */
} write_next_t;

/* What the connection's one timer is counting down. */
typedef enum {
  T_NONE,
  T_IDLE,    /* keep-alive idle timeout: close quietly */
  T_REQUEST, /* request timeout: 408 and close */
  T_ROUTE,   /* a route's own timer (slow, lifecycle) */
  T_SEND,    /* send timeout: a queued response made no progress, close */
  T_LINGER   /* after a closing response: stop waiting for the peer's FIN */
} timer_role_t;

/* The routes (see routes.c). */
typedef enum {
  R_NONE,
  R_FAST,
  R_SLOW,
  R_HEAVY,
  R_FILE,
  R_ECHO,
  R_STATS,
  R_LIFECYCLE,
  R_REPORT, /* GET /api/report: the loop's diagnostic report */
  R_METRICS,
  R_DASHBOARD,
  R_NOT_FOUND,
  R_REFUSED, /* answered with an error status once the body is read */
  R_HEALTHZ, /* GET /healthz: 200 while the process runs */
  R_READYZ   /* GET /readyz: 200, 503 once draining */
} route_t;

/* Connection flags. */
enum {
  C_CLOSING = 1,     /* art_close called on the handles */
  C_BUSY = 2,        /* a route or a write is in progress: parsing waits */
  C_CLOSE_AFTER = 4, /* close once the current response is written */
  C_EOF = 8,         /* the peer finished sending */
  C_READING = 16,    /* art_read_start is in effect */
  C_LINGER = 32,     /* response written and shut down: discard input */
  C_HEAD_SENT = 64,  /* the response head went out (streamed routes) */
  C_REJECT = 128,    /* over the connection limit: answer 503 and close */
  C_FRESH = 256      /* accepted, and no byte of a request read yet */
};

/* One step of the lifecycle route. */
typedef struct {
  const char *what;  /* "arrival", "parse", ... */
  const char *phase; /* art_phase_name of the phase it ran in */
  uint64_t ns;       /* art_hrtime() when it ran */
} lifecycle_step_t;

/* A connection. Pooled by the server: released structs are reused, so a
 * steady stream of connections and requests allocates nothing. What every
 * request touches sits first (the parser's head buffer is filled from its
 * start), the rest after: a keep-alive connection serving small requests
 * keeps one page resident (see conn_get). */
struct conn_s {
  art_tcp_t tcp;             /* the socket (first: a conn_t* is a stream) */
  art_timer_t timer;         /* timeouts and route timers, see timer_role */
  server_t *srv;             /* the server this connection belongs to */
  conn_t *prev, *next;       /* on srv->conns while open; next: free list */
  unsigned flags;            /* C_* bits */
  int handles;               /* handles not yet closed (close callbacks) */
  int ops;                   /* route requests in flight (work, fs) */
  int work_inflight;         /* c->work is queued or running */
  int fs_inflight;           /* c->fs is queued or running */
  int fd;                    /* file routes: the open file, -1 when none */
  int open_fd;               /* file: what the pool's open returned */
  int open_status;           /* file: 200, or the status of a failed open */
  timer_role_t timer_role;   /* what the timer counts down now */
  write_next_t write_next;   /* how to go on when wreq completes */
  route_t route;             /* the current request's route */
  int status;                /* the current response's status */
  int head_only;             /* the request is HEAD: no response body */
  uint8_t addr[16];          /* peer address, IPv4-mapped */
  uint64_t arrival_ns;       /* first byte of the current request */
  uint64_t request_id;       /* the current request's id (reqid.c) */
  const char *arrival_phase; /* loop phase the first byte was read in */
  uint64_t bytes_out;        /* body bytes of the current response */
  size_t in_start;           /* unparsed input: in[in_start..in_end) */
  size_t in_end;             /* (see in_start) */
  size_t head_len;           /* bytes of head[] in use */
  size_t body_len;           /* bytes of body[] in use */
  art_write_t wreq;          /* the one write in flight */
  size_t send_left;          /* bytes queued when the send timer started */
  art_buf_t bufs[3];         /* what wreq writes */
  char *report;              /* /api/report's body while it is written */
  char extra[64];            /* header lines for the next response, or "" */
  char head[CONN_HEAD_SIZE]; /* response head */
  http_parser_t parser;      /* request parsing; holds the head buffer */
  /* Below: touched only by pipelined input, bodies and some routes. */
  char in[CONN_IN_SIZE];     /* input kept while the connection is busy */
  char body[CONN_BODY_SIZE]; /* small response body */
  art_shutdown_t sreq;       /* half-close after a closing response */
  char chunk_line[24];       /* chunk-size line of a chunked echo */
  art_work_t work;           /* heavy and lifecycle pool work */
  uint64_t rounds;           /* heavy: hash rounds; slow: ms */
  uint64_t digest;           /* heavy: result of the chain */
  uint64_t work_ns;          /* heavy: time the work ran; slow: start */
  art_fs_t fs;               /* file and lifecycle: the fs request */
  uint64_t file_size;        /* file: bytes to send */
  uint64_t file_off;         /* file: bytes sent so far */
  char *file_buf;            /* file: FILE_CHUNK bytes while streaming */
  unsigned slab;             /* index of the slab holding this struct */
  int echo_chunked;          /* echo: answer with chunked framing */
  lifecycle_step_t steps[LIFECYCLE_STEPS]; /* lifecycle: the trace */
  unsigned nsteps;                         /* lifecycle: entries of steps[] */
};

/* The server: one loop, one listener, the connections, the counters. */
struct server_s {
  art_loop_t loop_storage;       /* the loop itself */
  art_loop_t *loop;              /* &loop_storage once initialised */
  char base_url[96];             /* http://host:port, for the banner */
  config_t cfg;                  /* the command line */
  int root_fd;                   /* the served folder, names resolve here */
  art_tcp_t listener;            /* the listening socket */
  art_signal_t sigterm, sigint;  /* graceful shutdown */
  art_signal_t sigusr2;          /* writes the diagnostic report to stderr */
  art_timer_t shutdown_timer;    /* deadline for in-flight requests */
  art_timer_t drain_timer;       /* --drain-delay: closes the listener */
  art_timer_t watchdog;          /* the service manager's watchdog pings */
  art_cluster_worker_t *cluster; /* a worker process: its side, else NULL */
  unsigned worker;               /* this server's index among --workers (0..) */
  unsigned nworkers;             /* --workers */
  int inherit_fd;  /* a listening socket to serve, or -1 (worker > 0) */
  int listen_fd;   /* the listener's fd once listening */
  int bound_port;  /* the port it listens on */
  int start_err;   /* a worker's start: 0 or the error */
  int activated;   /* 1: the listener came from the manager; -1: refused */
  int draining;    /* a signal came: /readyz says 503 */
  conn_t *conns;   /* open connections */
  unsigned nconns; /* open connections */
  slab_t *slabs;   /* slabs of conn structs, some unmapped */
  unsigned nslabs; /* entries of slabs[] */
  unsigned mapped_slabs;         /* entries of slabs[] that are mapped */
  unsigned slab_hint;            /* no slab below it has a free struct */
  unsigned file_bufs;            /* file buffers allocated now */
  int shutting_down;             /* 1: draining connections; 2: done */
  uint64_t requests;             /* responses completed */
  uint64_t accepted;             /* connections accepted */
  uint64_t rejected;             /* connections refused with 503 */
  uint64_t send_timeouts;        /* connections closed by --send-timeout */
  uint64_t start_ns;             /* art_hrtime() at start */
  art_loop_metrics_t last_stats; /* loop counters at the last /api/stats */
  struct metrics_s *metrics;     /* for /metrics (metrics.h), or NULL */
  uint64_t next_request_id;      /* ids given to requests so far */
  rate_slot_t rate[RATE_SLOTS];  /* per-client request counters */
  char rbuf[CONN_IN_SIZE];       /* read buffer shared by idle connections */
};

/* conn.c */
conn_t *conn_get(server_t *srv);
void conn_put(conn_t *c);
unsigned conn_structs(const server_t *srv);
int conn_start(conn_t *c);
void conn_close(conn_t *c);
void conn_resume(conn_t *c);
void conn_write(conn_t *c, unsigned nbufs, write_next_t next);
void conn_respond(conn_t *c, int status, const char *type, const char *body,
                  size_t len);
void conn_start_timer(conn_t *c, timer_role_t role, uint64_t ms);
size_t conn_format_head(conn_t *c, int status, const char *type,
                        uint64_t length, const char *extra);
void conn_op_done(conn_t *c);
void conn_response_done(conn_t *c);
void conn_free_all(server_t *srv);

/* routes.c, file_routes.c */
void route_head(conn_t *c);
void route_body(conn_t *c, const char *data, size_t len);
void route_done(conn_t *c);
void route_timer(conn_t *c);
void route_write_done(conn_t *c);
void route_abort(conn_t *c);
/* The loop's diagnostic report, malloc'd, NUL-terminated; NULL on failure. */
char *route_report_text(art_loop_t *loop, size_t *len);
int query_param(const http_request_t *req, const char *name, char *out,
                size_t outsz);
void file_start(conn_t *c);
void file_write_done(conn_t *c);
void file_buf_free(conn_t *c);
void lifecycle_start(conn_t *c);
void lifecycle_timer(conn_t *c);
void lifecycle_step(conn_t *c, const char *what, const char *phase);

/* reqid.c: request ids as the async context, and log lines carrying them */
void request_id_begin(conn_t *c);
void request_id_enter(conn_t *c);
void request_id_leave(conn_t *c);
uint64_t request_id_current(server_t *srv);
void request_log(server_t *srv, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* server.c */
/* Watches SIGTERM and SIGINT for a graceful shutdown (and initialises the
 * shutdown timer); the in-process tests start them on their own loop. */
/* main()'s settings before its options: port 3000, timeouts, limits. */
void server_config_defaults(config_t *cfg);
int server_signals_start(server_t *srv);
/* Binds --host and port, or adopts the socket a service manager passed
 * (LISTEN_FDS), and listens; fills base_url. */
int server_listen(server_t *srv);
int server_rate_check(server_t *srv, const uint8_t addr[16],
                      uint64_t *retry_after_ms);
void server_conn_released(server_t *srv);
void server_request_done(conn_t *c);

#endif
