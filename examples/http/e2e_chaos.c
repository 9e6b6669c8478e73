/* The chaos scenario of the end-to-end tests (see e2e.c): hundreds of
 * connections at once, most of them misbehaving, for a few seconds.
 *
 * Each of SLOTS client slots (fewer under a low fd limit) runs one
 * behaviour at a time, chosen by a fixed-seed generator, and starts
 * another when it ends:
 *
 *   keep-alive  several /api/fast on one connection, each checked
 *   pipelined   four requests in one write, answered in order, then EOF
 *   half-close  a request then shutdown(SHUT_WR): the answer, then EOF
 *   cut head    half a request head, then close
 *   cut body    half a POST body, then close
 *   reset       a request, then SO_LINGER {1,0} and close (an RST) at once
 *   reset mid   a large file, an RST once its first bytes arrived
 *   no read     a large file with a tiny receive window, never read, held
 *               0.2 to 1.2 s (--send-timeout may cut it first), then
 *               closed (an RST or a FIN)
 *   abandon     a long /api/slow, then close
 *
 * So RSTs meet the server with its receives and its sends in flight, and
 * receives and sends wait for each other on hundreds of sockets. The
 * well-behaved clients' answers are checked byte for byte; the others may
 * see anything. Afterwards the server must answer /healthz and /api/fast,
 * count no connection but the asking one, and (main) exit 0 on SIGTERM.
 * chaos_shutdown sends that SIGTERM while all of them are still going.
 * Time only bounds the run and a hang; nothing passes on speed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include "e2e.h"

enum {
  SLOTS = 1000,
  CHAOS_MS = 3000, /* new behaviours start for this long */
  DRAIN_MS = 15000 /* then the well-behaved ones must finish: a hang bound */
};

typedef enum {
  K_KEEPALIVE,
  K_PIPELINED,
  K_HALF_CLOSE,
  K_CUT_HEAD,
  K_CUT_BODY,
  K_RESET,
  K_RESET_MID,
  K_NO_READ,
  K_ABANDON,
  K_COUNT
} kind_t;

static const char *const kind_names[K_COUNT] = {
    "keep-alive", "pipelined", "half-close", "cut head", "cut body",
    "reset",      "reset mid", "no read",    "abandon"};

typedef enum { P_CONNECTING, P_SENDING, P_READING, P_HOLDING } phase_t;

typedef struct {
  int fd; /* -1: the slot is free */
  kind_t kind;
  phase_t phase;
  const char *out; /* what is left to send */
  size_t out_len;
  int rounds;        /* keep-alive: requests still to make */
  int answered;      /* responses read and checked */
  uint64_t until_ms; /* no read: when to let go */
  size_t len;
  char buf[8192];
} slot_t;

static slot_t slots[SLOTS];
static int nslots = SLOTS; /* fewer where the fd limit cannot be raised */
/* The server was told to stop: a connection may end at any point (idle
 * ones close at once, the listener goes), but what arrives must be right. */
static int stopping;
static unsigned long long started[K_COUNT], finished[K_COUNT];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static unsigned next_rand(unsigned below) {
  rng ^= rng << 13; /* xorshift64: the same mix on every run */
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (unsigned)(rng % below);
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define LARGE_SIZE (16 << 20) /* far more than every socket buffer */

static const char req_fast[] = "GET /api/fast HTTP/1.1\r\nHost: c\r\n\r\n";
static const char req_large[] =
    "GET /api/file?name=large.bin HTTP/1.1\r\nHost: c\r\n\r\n";
static const char req_cut_head[] = "GET /api/fast HTTP/1.1\r\nHo";
static const char req_cut_body[] = "POST /api/echo HTTP/1.1\r\nHost: c\r\n"
                                   "Content-Length: 1000\r\n\r\nonly part";
static const char req_slow[] =
    "GET /api/slow?ms=20000 HTTP/1.1\r\nHost: c\r\n\r\n";
static const char req_pipelined[] =
    "GET /api/fast HTTP/1.1\r\nHost: c\r\n\r\n"
    "GET /nowhere HTTP/1.1\r\nHost: c\r\n\r\n"
    "GET /api/file?name=hello.txt HTTP/1.1\r\nHost: c\r\n\r\n"
    "GET /healthz HTTP/1.1\r\nHost: c\r\nConnection: close\r\n\r\n";

/* What the pipelined requests must get, in order. */
static const struct {
  int status;
  const char *text;
} piped[] = {{200, "\"route\":\"fast\""},
             {404, "Not Found"},
             {200, "hello, file\n"},
             {200, "\"status\":\"ok\""}};

/* A sparse file of LARGE_SIZE bytes in the served folder. */
static void make_large(void) {
  char path[128];
  int fd;
  snprintf(path, sizeof(path), "%s/large.bin", root);
  fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
  CHECK(fd >= 0 && ftruncate(fd, LARGE_SIZE) == 0 && close(fd) == 0,
        "large.bin: %s", strerror(errno));
}

/* Both ends of every slot's connection live in this test's process tree:
 * make room for them (the server, started later, inherits the limit). */
static void raise_fd_limit(void) {
  struct rlimit rl;
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit: %s", strerror(errno));
  if (rl.rlim_cur < 4 * SLOTS && rl.rlim_max > rl.rlim_cur) {
    rl.rlim_cur = rl.rlim_max < 4 * SLOTS ? rl.rlim_max : 4 * SLOTS;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
  CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit: %s", strerror(errno));
  if (rl.rlim_cur < 2 * SLOTS + 64)
    nslots = rl.rlim_cur > 264 ? (int)(rl.rlim_cur - 64) / 2 : 100;
  CHECK(rl.rlim_cur >= 2 * (rlim_t)nslots + 64,
        "chaos: fd limit %llu, need at least %d",
        (unsigned long long)rl.rlim_cur, 2 * nslots + 64);
}

static void slot_close(slot_t *s, int reset) {
  if (reset) {
    struct linger lg = {1, 0};
    setsockopt(s->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
  }
  close(s->fd);
  s->fd = -1;
}

static void slot_finish(slot_t *s, int reset) {
  finished[s->kind]++;
  slot_close(s, reset);
}

/* Starts a behaviour in a free slot: a nonblocking connect. */
static void slot_start(slot_t *s) {
  struct sockaddr_in sa;
  int one = 1;
  memset(s, 0, offsetof(slot_t, buf));
  s->kind = (kind_t)next_rand(K_COUNT);
  s->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  CHECK(s->fd >= 0, "socket: %s", strerror(errno));
  setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (s->kind == K_NO_READ) { /* before connect: the window it offers */
    int small = 4096;
    setsockopt(s->fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
  }
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)server_port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(connect(s->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
            errno == EINPROGRESS,
        "connect: %s", strerror(errno));
  s->phase = P_CONNECTING;
  started[s->kind]++;
}

static void slot_set_out(slot_t *s, const char *data, size_t len) {
  s->out = data;
  s->out_len = len;
  s->phase = P_SENDING;
}

/* Connected: what the behaviour sends. */
static void slot_connected(slot_t *s) {
  int err = 0;
  socklen_t len = sizeof(err);
  CHECK(getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
            (err == 0 || stopping),
        "%s: connect failed: %s", kind_names[s->kind], strerror(err));
  if (err != 0) {
    slot_finish(s, 0);
    return;
  }
  switch (s->kind) {
  case K_KEEPALIVE:
    s->rounds = 1 + (int)next_rand(5);
    slot_set_out(s, req_fast, sizeof(req_fast) - 1);
    break;
  case K_PIPELINED:
    slot_set_out(s, req_pipelined, sizeof(req_pipelined) - 1);
    break;
  case K_CUT_HEAD:
    slot_set_out(s, req_cut_head, sizeof(req_cut_head) - 1);
    break;
  case K_CUT_BODY:
    slot_set_out(s, req_cut_body, sizeof(req_cut_body) - 1);
    break;
  case K_RESET: /* half on a small answer, half on a large one */
    if (next_rand(2))
      slot_set_out(s, req_fast, sizeof(req_fast) - 1);
    else
      slot_set_out(s, req_large, sizeof(req_large) - 1);
    break;
  case K_RESET_MID:
  case K_NO_READ:
    slot_set_out(s, req_large, sizeof(req_large) - 1);
    break;
  case K_HALF_CLOSE:
    slot_set_out(s, req_fast, sizeof(req_fast) - 1);
    break;
  case K_ABANDON:
    slot_set_out(s, req_slow, sizeof(req_slow) - 1);
    break;
  default:
    die("unknown kind");
  }
}

/* The request is out: what the behaviour does next. */
static void slot_sent(slot_t *s) {
  switch (s->kind) {
  case K_CUT_HEAD:
  case K_CUT_BODY:
  case K_ABANDON:
    slot_finish(s, 0);
    break;
  case K_RESET:
    slot_finish(s, 1);
    break;
  case K_NO_READ:
    s->phase = P_HOLDING;
    s->until_ms = now_ms() + 200 + next_rand(1000);
    break;
  case K_HALF_CLOSE:
    CHECK(shutdown(s->fd, SHUT_WR) == 0, "shutdown: %s", strerror(errno));
    s->phase = P_READING;
    break;
  default:
    s->phase = P_READING;
  }
}

static void slot_send(slot_t *s) {
  ssize_t n = send(s->fd, s->out, s->out_len, MSG_NOSIGNAL);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0 && stopping) {
    slot_finish(s, 0);
    return;
  }
  CHECK(n > 0, "%s: send: %s", kind_names[s->kind], strerror(errno));
  s->out += n;
  s->out_len -= (size_t)n;
  if (s->out_len == 0)
    slot_sent(s);
}

/* One whole response at the front of the buffer: its length, or 0 when
 * more bytes are needed. Sets status and body (within the buffer). */
static size_t parse_response(slot_t *s, int *status, const char **body,
                             size_t *body_len) {
  const char *end = memmem(s->buf, s->len, "\r\n\r\n", 4), *cl;
  size_t head;
  if (end == NULL)
    return 0;
  head = (size_t)(end - s->buf) + 4;
  CHECK(sscanf(s->buf, "HTTP/1.1 %d", status) == 1, "%s: bad status line",
        kind_names[s->kind]);
  cl = memmem(s->buf, head, "Content-Length: ", 16);
  CHECK(cl != NULL, "%s: no Content-Length: %.*s", kind_names[s->kind],
        (int)head, s->buf);
  *body_len = strtoul(cl + 16, NULL, 10);
  if (s->len < head + *body_len)
    return 0;
  *body = s->buf + head;
  return head + *body_len;
}

/* Checks a response against what the behaviour asked for. */
static void check_response(slot_t *s, int status, const char *body,
                           size_t body_len) {
  int want = 200;
  const char *text = "\"route\":\"fast\"";
  char copy[512];
  if (s->kind == K_PIPELINED) {
    want = piped[s->answered].status;
    text = piped[s->answered].text;
  }
  snprintf(copy, sizeof(copy), "%.*s", (int)body_len, body);
  CHECK(status == want && strstr(copy, text) != NULL,
        "%s: response %d: status %d (expected %d), body %s",
        kind_names[s->kind], s->answered, status, want, copy);
  s->answered++;
}

/* Takes every whole response in the buffer; ends the slot when it has
 * what it wanted. Returns 1 while the slot goes on. */
static int take_responses(slot_t *s) {
  int status;
  const char *body;
  size_t body_len, n;
  while ((n = parse_response(s, &status, &body, &body_len)) > 0) {
    check_response(s, status, body, body_len);
    memmove(s->buf, s->buf + n, s->len - n);
    s->len -= n;
    if (s->kind == K_KEEPALIVE && --s->rounds > 0) {
      slot_set_out(s, req_fast, sizeof(req_fast) - 1);
      return 1;
    }
    if (s->kind == K_KEEPALIVE) {
      slot_finish(s, 0);
      return 0;
    }
  }
  return 1;
}

static void slot_read(slot_t *s) {
  ssize_t n;
  if (s->kind == K_RESET_MID) { /* the first bytes are enough */
    n = recv(s->fd, s->buf, sizeof(s->buf), 0);
    if (n < 0 && errno == EAGAIN)
      return;
    CHECK(n > 0 || stopping, "reset mid: %s before the answer",
          n == 0 ? "EOF" : strerror(errno));
    slot_finish(s, 1);
    return;
  }
  CHECK(s->len < sizeof(s->buf), "%s: response too large", kind_names[s->kind]);
  n = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);
  if (n < 0 && errno == EAGAIN)
    return;
  if (n <= 0 && stopping) {
    slot_finish(s, 0);
    return;
  }
  CHECK(n >= 0, "%s: recv: %s", kind_names[s->kind], strerror(errno));
  if (n == 0) { /* EOF: only once everything was answered */
    int want = s->kind == K_PIPELINED ? 4 : 1;
    CHECK(s->kind != K_KEEPALIVE && s->answered == want && s->len == 0,
          "%s: EOF after %d answers, %zu bytes left", kind_names[s->kind],
          s->answered, s->len);
    slot_finish(s, 0);
    return;
  }
  s->len += (size_t)n;
  take_responses(s);
}

static short slot_events(const slot_t *s) {
  switch (s->phase) {
  case P_CONNECTING:
  case P_SENDING:
    return POLLOUT;
  case P_READING:
    return POLLIN;
  default:
    return 0;
  }
}

static void slot_event(slot_t *s, short revents) {
  if (s->phase == P_CONNECTING) {
    slot_connected(s);
    if (s->fd >= 0)
      slot_send(s);
  } else if (s->fd < 0) {
    return; /* the connect failed */
  } else if (s->phase == P_SENDING && (revents & (POLLOUT | POLLERR))) {
    slot_send(s);
  } else if (s->phase == P_READING &&
             (revents & (POLLIN | POLLHUP | POLLERR))) {
    slot_read(s);
  }
}

/* One round of the client loop: every slot with an fd waits in poll. */
static void chaos_round(int starting) {
  static struct pollfd pfd[SLOTS];
  static int index_of[SLOTS];
  uint64_t now = now_ms();
  int n = 0, i, ready;
  for (i = 0; i < nslots; i++) {
    slot_t *s = &slots[i];
    if (s->fd >= 0 && s->phase == P_HOLDING &&
        (now >= s->until_ms || !starting))
      slot_finish(s, (int)next_rand(2));
    if (s->fd < 0 && starting)
      slot_start(s);
    if (s->fd < 0 || slot_events(s) == 0)
      continue;
    pfd[n].fd = s->fd;
    pfd[n].events = slot_events(s);
    pfd[n].revents = 0;
    index_of[n++] = i;
  }
  ready = poll(pfd, (nfds_t)n, 50);
  CHECK(ready >= 0, "poll: %s", strerror(errno));
  for (i = 0; i < n && ready > 0; i++)
    if (pfd[i].revents != 0)
      slot_event(&slots[index_of[i]], pfd[i].revents);
}

static int slots_busy(void) {
  int i, n = 0;
  for (i = 0; i < nslots; i++)
    n += slots[i].fd >= 0;
  return n;
}

/* Runs the clients for chaos_ms, then until every one has ended. */
static void chaos_run(uint64_t chaos_ms) {
  uint64_t start = now_ms();
  int i, k;
  raise_fd_limit();
  make_large();
  for (i = 0; i < nslots; i++)
    slots[i].fd = -1;
  while (now_ms() - start < chaos_ms)
    chaos_round(1);
  if (stopping)
    CHECK(kill(server_pid, SIGTERM) == 0, "kill: %s", strerror(errno));
  while (slots_busy() > 0) {
    CHECK(now_ms() - start < chaos_ms + DRAIN_MS,
          "%d clients still waiting for the server", slots_busy());
    chaos_round(0);
  }
  for (k = 0; k < K_COUNT; k++) {
    printf("chaos: %-10s %llu started, %llu finished\n", kind_names[k],
           started[k], finished[k]);
    CHECK(finished[k] > 0, "no %s client ran", kind_names[k]);
  }
}

void scenario_chaos(void) {
  chaos_run(CHAOS_MS);
  expect_get("/healthz", 200, "\"status\":\"ok\"");
  expect_get("/api/fast", 200, "\"route\":\"fast\"");
  wait_open(1);
  printf("chaos: %lld connections accepted, %lld requests, %lld send "
         "timeouts\n",
         stat_of("accepted"), stat_of("requests"), stat_of("send_timeouts"));
}

/* SIGTERM while every client is mid-way: the server finishes what it can
 * within --shutdown-timeout, cuts the rest and exits 0. */
void scenario_chaos_shutdown(void) {
  int status;
  stopping = 1;
  chaos_run(CHAOS_MS / 2);
  status = server_stop(0, 20000);
  CHECK(status == 0, "exit status %d", status);
  CHECK(connect_server() < 0, "still accepting after shutdown");
}
