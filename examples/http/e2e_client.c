/* The blocking HTTP client of the end-to-end tests, and the server process
 * they drive (see e2e.c). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "e2e.h"

pid_t server_pid = -1;
int server_port;
char root[64];
const char *scenario = "";
char server_said[16384];
static FILE *server_out;

void e2e_cleanup(void) {
  char cmd[128];
  if (server_pid > 0)
    kill(server_pid, SIGKILL);
  if (root[0] != '\0') {
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
      fprintf(stderr, "could not remove %s\n", root);
  }
}

void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "http_e2e %s: FAIL: ", scenario);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  e2e_cleanup();
  exit(1);
}

/* ------------------------------------------------------------------------ */
/* The client.                                                              */

int connect_server(void) {
  return connect_server_rcvbuf(0);
}

int connect_server_rcvbuf(int rcvbuf) {
  struct sockaddr_in sa;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
  struct timeval tv = {10, 0}; /* liveness only */
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)server_port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(fd >= 0, "socket: %s", strerror(errno));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (rcvbuf > 0) /* before connect: it sets the window the server sees */
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

client_t *client_open(void) {
  client_t *c = calloc(1, sizeof(*c));
  CHECK(c != NULL, "out of memory");
  c->fd = connect_server();
  CHECK(c->fd >= 0, "connect: %s", strerror(errno));
  return c;
}

void client_close(client_t *c) {
  close(c->fd);
  free(c);
}

void send_all(client_t *c, const void *data, size_t len) {
  const char *p = data;
  while (len > 0) {
    ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
    CHECK(n > 0, "send: %s", strerror(errno));
    p += n;
    len -= (size_t)n;
  }
}

void send_str(client_t *c, const char *s) {
  send_all(c, s, strlen(s));
}

/* Reads more bytes into the buffer: the count, 0 at EOF, -1 on error. */
ssize_t fill(client_t *c) {
  ssize_t n;
  CHECK(c->len < sizeof(c->buf), "response too large");
  n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
  if (n > 0)
    c->len += (size_t)n;
  return n;
}

static void consume(client_t *c, size_t n) {
  memmove(c->buf, c->buf + n, c->len - n);
  c->len -= n;
}

/* Takes n bytes from the connection into out (NULL: discard). */
static void take(client_t *c, char *out, size_t n) {
  while (c->len < n)
    CHECK(fill(c) > 0, "connection ended inside a body");
  if (out != NULL)
    memcpy(out, c->buf, n);
  consume(c, n);
}

/* Reads up to and including the next CRLF into line. */
void take_line(client_t *c, char *line, size_t size) {
  char *eol;
  while ((eol = memmem(c->buf, c->len, "\r\n", 2)) == NULL)
    CHECK(fill(c) > 0, "connection ended inside a line");
  CHECK((size_t)(eol - c->buf) < size, "line too long");
  memcpy(line, c->buf, (size_t)(eol - c->buf));
  line[eol - c->buf] = '\0';
  consume(c, (size_t)(eol - c->buf) + 2);
}

const char *header(const resp_t *r, const char *name) {
  static char value[256];
  const char *p = r->head;
  size_t n = strlen(name);
  while ((p = strchr(p, '\n')) != NULL) {
    p++;
    if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
      size_t len = strcspn(p + n + 2, "\r");
      snprintf(value, sizeof(value), "%.*s", (int)len, p + n + 2);
      return value;
    }
  }
  return NULL;
}

static void append_body(resp_t *r, client_t *c, size_t n) {
  r->body = realloc(r->body, r->body_len + n + 1);
  CHECK(r->body != NULL, "out of memory");
  take(c, r->body + r->body_len, n);
  r->body_len += n;
  r->body[r->body_len] = '\0';
}

static void read_chunked(resp_t *r, client_t *c) {
  char line[64];
  for (;;) {
    size_t n;
    take_line(c, line, sizeof(line));
    n = strtoul(line, NULL, 16);
    if (n == 0)
      break;
    append_body(r, c, n);
    take_line(c, line, sizeof(line));
  }
  take_line(c, line, sizeof(line)); /* no trailers from this server */
}

/* Reads one response; head_only for a HEAD request. Interim 1xx responses
 * are skipped. */
void read_response(client_t *c, resp_t *r, int head_only) {
  char *end;
  const char *v;
  memset(r, 0, sizeof(*r));
  do {
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
      CHECK(fill(c) > 0, "no response (connection ended or timed out)");
    CHECK((size_t)(end - c->buf) + 3 < sizeof(r->head), "head too long");
    memcpy(r->head, c->buf, (size_t)(end - c->buf) + 2);
    r->head[end - c->buf + 2] = '\0';
    consume(c, (size_t)(end - c->buf) + 4);
    CHECK(sscanf(r->head, "HTTP/1.1 %d", &r->status) == 1, "bad status line");
  } while (r->status == 100);
  r->body = calloc(1, 1);
  v = header(r, "Connection");
  r->closes = v != NULL && strcmp(v, "close") == 0;
  if (head_only)
    return;
  if ((v = header(r, "Transfer-Encoding")) != NULL)
    read_chunked(r, c);
  else if ((v = header(r, "Content-Length")) != NULL)
    append_body(r, c, strtoul(v, NULL, 10));
}

void resp_free(resp_t *r) {
  free(r->body);
  r->body = NULL;
}

/* Expects the server to close: EOF with no more bytes. */
void expect_eof(client_t *c) {
  ssize_t n;
  while ((n = fill(c)) > 0)
    ;
  CHECK(n == 0, "expected the server to close, got %s",
        n < 0 ? strerror(errno) : "data");
}

void wait_busy(void) {
  resp_t r;
  int tries;
  for (tries = 0;; tries++) {
    request("GET", "/api/stats", NULL, &r);
    if (strstr(r.body, "\"busy\":1") != NULL)
      break;
    resp_free(&r);
    CHECK(tries < 500, "the request never started");
    usleep(10000);
  }
  resp_free(&r);
}

/* One request on a new connection; returns the response. */
void request(const char *method, const char *target, const char *body,
             resp_t *r) {
  client_t *c = client_open();
  char head[1024];
  snprintf(head, sizeof(head),
           "%s %s HTTP/1.1\r\nHost: e2e\r\nContent-Length: %zu\r\n\r\n", method,
           target, body != NULL ? strlen(body) : 0);
  send_str(c, head);
  if (body != NULL)
    send_str(c, body);
  read_response(c, r, strcmp(method, "HEAD") == 0);
  client_close(c);
}

/* GET target; requires status and (if given) text in the body. */
void expect_get(const char *target, int status, const char *text) {
  resp_t r;
  request("GET", target, NULL, &r);
  CHECK(r.status == status, "GET %s: status %d, expected %d", target, r.status,
        status);
  CHECK(text == NULL || strstr(r.body, text) != NULL,
        "GET %s: body lacks \"%s\": %s", target, text, r.body);
  resp_free(&r);
}

/* ------------------------------------------------------------------------ */
/* The served folder and the server process.                                */

static void write_file(const char *name, const char *data, size_t len) {
  char path[128];
  FILE *f;
  snprintf(path, sizeof(path), "%s/%s", root, name);
  f = fopen(path, "wb");
  CHECK(f != NULL && fwrite(data, 1, len, f) == len && fclose(f) == 0,
        "cannot write %s", path);
}

void write_root_file(const char *name, const char *data) {
  write_file(name, data, strlen(data));
}

void make_root(void) {
  char path[128], *big = malloc(BIG_SIZE);
  size_t i;
  snprintf(root, sizeof(root), "/tmp/http-e2e-XXXXXX");
  CHECK(mkdtemp(root) != NULL && big != NULL, "mkdtemp: %s", strerror(errno));
  for (i = 0; i < BIG_SIZE; i++)
    big[i] = (char)(i * 7 % 251);
  write_file("hello.txt", "hello, file\n", 12);
  write_file("big.bin", big, BIG_SIZE);
  free(big);
  snprintf(path, sizeof(path), "%s/sub", root);
  CHECK(mkdir(path, 0755) == 0, "mkdir: %s", strerror(errno));
  write_file("sub/inner.txt", "inner\n", 6);
  snprintf(path, sizeof(path), "%s/link", root);
  CHECK(symlink("/etc/hostname", path) == 0, "symlink: %s", strerror(errno));
}

void server_spawn(const char *const *argv) {
  int fds[2];
  CHECK(pipe(fds) == 0, "pipe: %s", strerror(errno));
  server_pid = fork();
  CHECK(server_pid >= 0, "fork: %s", strerror(errno));
  if (server_pid == 0) {
    signal(SIGPIPE, SIG_DFL); /* as a shell starts it, not as we run */
    dup2(fds[1], 1);
    close(fds[0]);
    close(fds[1]);
    execvp(argv[0], (char *const *)argv);
    _exit(127);
  }
  close(fds[1]);
  server_out = fdopen(fds[0], "r");
}

void server_wait_banner(char *banner, size_t size) {
  char line[512];
  while (fgets(line, sizeof(line), server_out) != NULL) {
    char *p = strstr(line, "listening on http://");
    if (p != NULL && (p = strchr(p + 20, ':')) != NULL) {
      server_port = atoi(p + 1);
      if (banner != NULL)
        snprintf(banner, size, "%s", line);
      return;
    }
  }
  die("the server did not start");
}

void server_start(const char *binary, const char *const *extra) {
  const char *argv[32] = {binary, "0", "--root", root};
  int n = 4;
  while (extra != NULL && *extra != NULL && n < 30)
    argv[n++] = *extra++;
  argv[n] = NULL;
  server_spawn(argv);
  server_wait_banner(NULL, 0);
}

int server_output_count(const char *text) {
  char line[512];
  int fd = server_out != NULL ? fileno(server_out) : -1, count = 0;
  if (fd >= 0) {
    int flags = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, flags | O_NONBLOCK);
    while (fgets(line, sizeof(line), server_out) != NULL) {
      size_t used = strlen(server_said);
      snprintf(server_said + used, sizeof(server_said) - used, "%s", line);
    }
    clearerr(server_out); /* EAGAIN: nothing more for now */
    fcntl(fd, F_SETFL, flags);
  }
  for (const char *p = server_said; (p = strstr(p, text)) != NULL; p++)
    count++;
  return count;
}

void server_output_close(void) {
  fclose(server_out);
  server_out = NULL;
}

int server_stop(int sig, int timeout_ms) {
  int status, waited;
  char line[512];
  CHECK(kill(server_pid, sig) == 0, "kill: %s", strerror(errno));
  for (waited = 0; waited < timeout_ms; waited += 10) {
    pid_t r = waitpid(server_pid, &status, WNOHANG);
    if (r == server_pid) {
      server_pid = -1;
      while (server_out != NULL && fgets(line, sizeof(line), server_out)) {
        size_t used = strlen(server_said);
        fputs(line, stdout); /* what the server said, for the test log */
        snprintf(server_said + used, sizeof(server_said) - used, "%s", line);
      }
      if (server_out != NULL)
        fclose(server_out);
      server_out = NULL;
      CHECK(WIFEXITED(status), "server killed by signal %d", WTERMSIG(status));
      return WEXITSTATUS(status);
    }
    usleep(10000);
  }
  die("server still running %d ms after signal %d", timeout_ms, sig);
  return -1;
}
