/* Pipes: Unix sockets with filesystem and abstract names, pipe(2) ends,
 * SIGPIPE, names that do not fit or cannot be bound, and IPC passing of
 * TCP and pipe handles (and of one closed while its write is queued). */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/stream.h"

static char tmpdir[64];

static void make_tmpdir(void) {
  strcpy(tmpdir, "/tmp/art-pipe-XXXXXX");
  assert_non_null(mkdtemp(tmpdir));
}

/* ---- a pipe echo server and a client ---- */

static void pipe_echo_connection(art_stream_t *server, int status) {
  assert_int_equal(status, 0);
  art_pipe_t *c = malloc(sizeof(*c));
  assert_int_equal(art_pipe_init(server->loop, c, 0), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)c), 0);
  helper_open_conns++;
  assert_int_equal(art_read_start((art_stream_t *)c, helper_alloc, echo_read),
                   0);
}

typedef struct {
  art_pipe_t pipe;
  art_connect_t req;
  art_write_t write;
  int status;
  char got[32];
  size_t ngot;
  int closed;
  char peer[128]; /* the server's name as getpeername saw it */
  size_t peer_len;
} pclient_t;

static void pclient_close(art_handle_t *h) {
  ((pclient_t *)h->data)->closed = 1;
}

static void pclient_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  pclient_t *c = s->data;
  if (n > 0) {
    memcpy(c->got + c->ngot, buf->base, (size_t)n);
    c->ngot += (size_t)n;
    if (c->ngot == 4)
      art_close((art_handle_t *)s, pclient_close);
  }
  free(buf->base);
}

static void pclient_connected(art_connect_t *req, int status) {
  pclient_t *c = req->handle->data;
  c->status = status;
  if (status == 0) {
    char peer[128], tiny[2];
    size_t len = sizeof(peer), small = sizeof(tiny);
    assert_int_equal(art_pipe_getpeername(&c->pipe, peer, &len), 0);
    c->peer_len = len;
    memcpy(c->peer, peer, len);
    assert_int_equal(art_pipe_getpeername(&c->pipe, tiny, &small), ART_ENOBUFS);
    assert_int_equal(small, len + 1);
  }
  if (status < 0) {
    art_close((art_handle_t *)req->handle, pclient_close);
    return;
  }
  art_buf_t b = art_buf_init("ping", 4);
  assert_int_equal(art_write(&c->write, req->handle, &b, 1, NULL), 0);
  assert_int_equal(art_read_start(req->handle, helper_alloc, pclient_read), 0);
}

static void pclient_start(art_loop_t *loop, pclient_t *c, const char *name,
                          size_t len) {
  memset(c, 0, sizeof(*c));
  assert_int_equal(art_pipe_init(loop, &c->pipe, 0), 0);
  c->pipe.data = c;
  assert_int_equal(
      art_pipe_connect2(&c->req, &c->pipe, name, len, pclient_connected), 0);
}

ART_TEST(unix_socket_echo) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pipe_t server;
  pclient_t c;
  char path[128], name[128];
  size_t len = sizeof(name);
  struct stat sb;
  make_tmpdir();
  snprintf(path, sizeof(path), "%s/sock", tmpdir);
  assert_int_equal(art_pipe_init(loop, &server, 0), 0);
  assert_int_equal(art_pipe_bind(&server, path), 0);
  assert_int_equal(art_pipe_getsockname(&server, name, &len), 0);
  assert_string_equal(name, path);
  assert_int_equal(len, strlen(path));
  assert_int_equal(art_pipe_chmod(&server, ART_READABLE | ART_WRITABLE), 0);
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0666, 0666);
  assert_int_equal(
      art_listen((art_stream_t *)&server, 16, pipe_echo_connection), 0);
  pclient_start(loop, &c, path, strlen(path));
  assert_true(art_test_run_until(loop, 5000, flag_set, &c.closed));
  assert_int_equal(c.status, 0);
  assert_memory_equal(c.got, "ping", 4);
  assert_int_equal(c.peer_len, strlen(path));
  assert_memory_equal(c.peer, path, c.peer_len);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(helper_open_conns, 0);
  /* The path was unlinked on close. */
  assert_int_equal(stat(path, &sb), -1);
  rmdir(tmpdir);
}

ART_TEST(abstract_name_echo) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pipe_t server;
  pclient_t c;
  char name[64], got[64];
  size_t got_len = sizeof(got);
  int n = snprintf(name, sizeof(name), "%c/art-test/%d", '\0', (int)getpid());
  assert_int_equal(art_pipe_init(loop, &server, 0), 0);
  assert_int_equal(art_pipe_bind2(&server, name, (size_t)n), 0);
  assert_int_equal(art_pipe_getsockname(&server, got, &got_len), 0);
  assert_int_equal(got_len, n);
  assert_memory_equal(got, name, (size_t)n);
  assert_int_equal(art_pipe_chmod(&server, ART_READABLE), ART_EBADF);
  assert_int_equal(
      art_listen((art_stream_t *)&server, 16, pipe_echo_connection), 0);
  pclient_start(loop, &c, name, (size_t)n);
  assert_true(art_test_run_until(loop, 5000, flag_set, &c.closed));
  assert_memory_equal(c.got, "ping", 4);
  assert_int_equal(c.peer_len, n); /* the abstract name, leading NUL and all */
  assert_memory_equal(c.peer, name, (size_t)n);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(names_too_long_are_refused) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pipe_t p;
  art_connect_t req;
  char name[200];
  memset(name, 'a', sizeof(name));
  name[sizeof(name) - 1] = '\0';
  assert_int_equal(art_pipe_init(loop, &p, 0), 0);
  assert_int_equal(art_pipe_bind(&p, name), ART_ENAMETOOLONG);
  /* 108 bytes fit an abstract name (no NUL needed), not a path. */
  name[0] = '/';
  name[108] = '\0';
  assert_int_equal(art_pipe_bind(&p, name), ART_ENAMETOOLONG);
  assert_int_equal(art_pipe_connect(&req, &p, name, pclient_connected),
                   ART_ENAMETOOLONG);
  name[0] = '\0';
  assert_int_equal(art_pipe_bind2(&p, name, 109), ART_ENAMETOOLONG);
  assert_int_equal(art_pipe_bind2(&p, "a\0b", 3), ART_EINVAL);
  assert_int_equal(art_pipe_bind2(&p, name, 0), ART_EINVAL);
  assert_int_equal(art_pipe_bind(&p, NULL), ART_EINVAL);
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

ART_TEST(connect_to_missing_path) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  pclient_t c;
  make_tmpdir();
  char path[128];
  snprintf(path, sizeof(path), "%s/nobody", tmpdir);
  pclient_start(loop, &c, path, strlen(path));
  assert_int_equal(c.status, 0); /* reported later, not from the call */
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(c.status, ART_ENOENT);
  rmdir(tmpdir);
}

/* A bind that fails (no such folder) leaves the pipe unbound: a second
 * bind to a good name succeeds, as it does for TCP. */
ART_TEST(bind_after_failed_bind) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char bad[128], good[128]; /* tmpdir is up to 63 characters */
  make_tmpdir();
  snprintf(bad, sizeof(bad), "%s/missing/sock", tmpdir);
  snprintf(good, sizeof(good), "%s/sock", tmpdir);
  art_pipe_t p;
  assert_int_equal(art_pipe_init(loop, &p, 0), 0);
  assert_int_equal(art_pipe_bind(&p, bad), ART_ENOENT);
  assert_int_equal(art_pipe_bind(&p, good), 0);
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  rmdir(tmpdir);
}

static int bind_connect_calls, bind_connect_status;

static void bind_connect_cb(art_connect_t *req, int status) {
  (void)req;
  bind_connect_calls++;
  bind_connect_status = status;
}

static void no_connection(art_stream_t *server, int status) {
  (void)server;
  (void)status;
  fail_msg("nothing connects to this listener");
}

/* A failed bind leaves the pipe without a socket, and art_listen and
 * art_pipe_connect fail with the bind's error (rather than ART_EINVAL, or
 * a connect from an unnamed socket) until a bind succeeds. */
ART_TEST(failed_bind_fails_listen_and_connect) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  char path[128], other[128];
  art_pipe_t server, p;
  art_connect_t req;
  make_tmpdir();
  snprintf(path, sizeof(path), "%s/sock", tmpdir);
  snprintf(other, sizeof(other), "%s/other", tmpdir);
  assert_int_equal(art_pipe_init(loop, &server, 0), 0);
  assert_int_equal(art_pipe_bind(&server, path), 0);
  assert_int_equal(art_listen((art_stream_t *)&server, 8, no_connection), 0);
  assert_int_equal(art_pipe_init(loop, &p, 0), 0);
  assert_int_equal(art_pipe_bind(&p, path), ART_EADDRINUSE);
  assert_int_equal(art_listen((art_stream_t *)&p, 8, no_connection),
                   ART_EADDRINUSE);
  bind_connect_calls = 0;
  assert_int_equal(art_pipe_connect(&req, &p, path, bind_connect_cb), 0);
  assert_int_equal(bind_connect_calls, 0); /* never from inside the call */
  assert_true(art_test_run_until(loop, 5000, flag_set, &bind_connect_calls));
  assert_int_equal(bind_connect_status, ART_EADDRINUSE);
  assert_int_equal(art_pipe_bind(&p, other), 0); /* clears the error */
  assert_int_equal(art_listen((art_stream_t *)&p, 8, no_connection), 0);
  art_close((art_handle_t *)&p, NULL);
  art_close((art_handle_t *)&server, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  rmdir(tmpdir);
}

ART_TEST(bad_arguments) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  art_pipe_t p;
  char buf[8];
  size_t len = sizeof(buf);
  char byte = 'x';
  art_buf_t b = art_buf_init(&byte, 1);
  art_write_t w;
  assert_int_equal(art_pipe_init(NULL, &p, 0), ART_EINVAL);
  assert_int_equal(art_pipe_init(loop, NULL, 0), ART_EINVAL);
  assert_int_equal(art_pipe_init(loop, &p, 0), 0);
  assert_int_equal(art_pipe_open(&p, -1), ART_EBADF);
  assert_int_equal(art_pipe_open(&p, 9999), ART_EBADF);
  assert_int_equal(art_pipe_getsockname(&p, buf, &len), ART_EBADF);
  assert_int_equal(art_pipe_getsockname(&p, NULL, &len), ART_EINVAL);
  assert_int_equal(art_pipe_chmod(&p, 0), ART_EINVAL);
  assert_int_equal(art_pipe_chmod(&p, 64), ART_EINVAL);
  assert_int_equal(art_pipe_pending_count(&p), 0);
  assert_int_equal(art_pipe_pending_type(&p), ART_UNKNOWN_HANDLE);
  assert_int_equal(art_pipe_pending_count(NULL), 0);
  /* Handle passing needs an IPC pipe. */
  assert_int_equal(
      art_write2(&w, (art_stream_t *)&p, &b, 1, (art_stream_t *)&p, NULL),
      ART_EINVAL);
  int fd = open("/", O_RDONLY | O_CLOEXEC);
  assert_int_equal(art_pipe_open(&p, fd), ART_EISDIR);
  close(fd);
  art_close((art_handle_t *)&p, NULL);
  assert_int_equal(art_pipe_open(&p, 0), ART_EINVAL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

/* ---- pipe(2) ends ---- */

typedef struct {
  art_pipe_t r, w;
  art_write_t req;
  char got[16];
  size_t ngot;
  int eof;
  int write_status;
  int write_calls;
} p2_t;

static void p2_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  p2_t *t = s->data;
  if (n > 0) {
    memcpy(t->got + t->ngot, buf->base, (size_t)n);
    t->ngot += (size_t)n;
    art_close((art_handle_t *)&t->w, NULL); /* the reader then sees EOF */
  } else if (n == ART_EOF) {
    t->eof = 1;
    art_close((art_handle_t *)s, NULL);
  }
  free(buf->base);
}

ART_TEST(pipe2_ends) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  p2_t t = {0};
  int fds[2];
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(art_pipe_init(loop, &t.r, 0), 0);
  assert_int_equal(art_pipe_init(loop, &t.w, 0), 0);
  assert_int_equal(art_pipe_open(&t.r, fds[0]), 0);
  assert_int_equal(art_pipe_open(&t.w, fds[1]), 0);
  t.r.data = &t;
  assert_true(art_is_readable((art_stream_t *)&t.r));
  assert_false(art_is_writable((art_stream_t *)&t.r));
  assert_true(art_is_writable((art_stream_t *)&t.w));
  assert_false(art_is_readable((art_stream_t *)&t.w));
  assert_true(fcntl(fds[0], F_GETFL) & O_NONBLOCK);
  art_buf_t b = art_buf_init("abc", 3);
  assert_int_equal(art_write(&t.req, (art_stream_t *)&t.w, &b, 1, NULL), 0);
  assert_int_equal(art_read_start((art_stream_t *)&t.r, helper_alloc, p2_read),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(t.ngot, 3);
  assert_int_equal(t.eof, 1);
}

static void p2_write_cb(art_write_t *req, int status) {
  p2_t *t = req->data;
  t->write_status = status;
  t->write_calls++;
  art_close((art_handle_t *)&t->w, NULL);
}

/* SIGPIPE at its default disposition would kill the process: the write
 * must fail with ART_EPIPE instead, and no SIGPIPE stays pending. */
ART_TEST(write_to_closed_pipe_gives_epipe) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  p2_t t = {0};
  int fds[2];
  sigset_t pending;
  struct sigaction old, dfl = {.sa_handler = SIG_DFL};
  sigaction(SIGPIPE, &dfl, &old);
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  close(fds[0]);
  assert_int_equal(art_pipe_init(loop, &t.w, 0), 0);
  assert_int_equal(art_pipe_open(&t.w, fds[1]), 0);
  t.req.data = &t;
  art_buf_t b = art_buf_init("abc", 3);
  assert_int_equal(art_write(&t.req, (art_stream_t *)&t.w, &b, 1, p2_write_cb),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(t.write_calls, 1);
  assert_int_equal(t.write_status, ART_EPIPE);
  sigpending(&pending);
  assert_false(sigismember(&pending, SIGPIPE));
  sigaction(SIGPIPE, &old, NULL);
}

/* ---- IPC: passing handles ---- */

typedef struct {
  art_pipe_t a, b;        /* the two IPC ends */
  art_tcp_t server, conn; /* conn is passed from a to b */
  art_tcp_t client;       /* connects to server, hears from the receiver */
  art_tcp_t received;     /* the passed connection, on b's side */
  art_pipe_t preceived;   /* a passed pipe */
  art_pipe_t pr, pw;      /* a pipe(2) whose read end is passed */
  art_connect_t creq;
  art_write_t wreq, wreq2, wreq3;
  art_handle_type type_seen;
  int pending_seen;
  char got[32];
  size_t ngot;
  int done;
} ipc_t;

static ipc_t *ipc;

static void ipc_client_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0) {
    memcpy(ipc->got + ipc->ngot, buf->base, (size_t)n);
    ipc->ngot += (size_t)n;
    if (ipc->ngot == 7) {
      ipc->done = 1;
      art_close((art_handle_t *)&ipc->client, NULL);
      art_close((art_handle_t *)&ipc->received, NULL);
      art_close((art_handle_t *)&ipc->a, NULL);
      art_close((art_handle_t *)&ipc->b, NULL);
      art_close((art_handle_t *)&ipc->server, NULL);
    }
  }
  free(buf->base);
}

/* b received a message: accept the TCP handle that came with it. */
static void ipc_b_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  free(buf->base);
  if (n <= 0)
    return;
  ipc->pending_seen = art_pipe_pending_count(&ipc->b);
  ipc->type_seen = art_pipe_pending_type(&ipc->b);
  assert_int_equal(art_tcp_init(s->loop, &ipc->received), 0);
  assert_int_equal(art_accept(s, (art_stream_t *)&ipc->received), 0);
  art_buf_t b = art_buf_init("via ipc", 7);
  assert_int_equal(
      art_write(&ipc->wreq2, (art_stream_t *)&ipc->received, &b, 1, NULL), 0);
}

static void ipc_sent(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  art_close((art_handle_t *)&ipc->conn, NULL); /* the receiver has a dup */
}

static void ipc_connection(art_stream_t *server, int status) {
  assert_int_equal(art_tcp_init(server->loop, &ipc->conn), 0);
  assert_int_equal(art_accept(server, (art_stream_t *)&ipc->conn), 0);
  art_buf_t b = art_buf_init("h", 1);
  assert_int_equal(art_write2(&ipc->wreq, (art_stream_t *)&ipc->a, &b, 1,
                              (art_stream_t *)&ipc->conn, ipc_sent),
                   0);
}

static void ipc_connected(art_connect_t *req, int status) {
  assert_int_equal(status, 0);
  assert_int_equal(art_read_start(req->handle, helper_alloc, ipc_client_read),
                   0);
}

static void open_ipc_pair(art_loop_t *loop, art_pipe_t *a, art_pipe_t *b) {
  int sv[2];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(art_pipe_init(loop, a, 1), 0);
  assert_int_equal(art_pipe_init(loop, b, 1), 0);
  assert_int_equal(art_pipe_open(a, sv[0]), 0);
  assert_int_equal(art_pipe_open(b, sv[1]), 0);
}

ART_TEST(ipc_passes_tcp_connection) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  ipc = calloc(1, sizeof(*ipc));
  open_ipc_pair(loop, &ipc->a, &ipc->b);
  assert_int_equal(
      art_read_start((art_stream_t *)&ipc->b, helper_alloc, ipc_b_read), 0);
  struct sockaddr_in addr = listen_loopback(loop, &ipc->server, ipc_connection);
  assert_int_equal(art_tcp_init(loop, &ipc->client), 0);
  assert_int_equal(art_tcp_connect(&ipc->creq, &ipc->client,
                                   (struct sockaddr *)&addr, ipc_connected),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(ipc->done, 1);
  assert_int_equal(ipc->pending_seen, 1);
  assert_int_equal(ipc->type_seen, ART_TCP);
  assert_memory_equal(ipc->got, "via ipc", 7);
  free(ipc);
}

static void ipc_pipe_data(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  if (n > 0) {
    memcpy(ipc->got + ipc->ngot, buf->base, (size_t)n);
    ipc->ngot += (size_t)n;
  }
  if (n == ART_EOF) {
    ipc->done = 1;
    art_close((art_handle_t *)s, NULL);
    art_close((art_handle_t *)&ipc->a, NULL);
    art_close((art_handle_t *)&ipc->b, NULL);
  }
  free(buf->base);
}

static void ipc_b_read_pipe(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  free(buf->base);
  if (n <= 0 || art_pipe_pending_count(&ipc->b) == 0)
    return;
  ipc->type_seen = art_pipe_pending_type(&ipc->b);
  assert_int_equal(art_pipe_init(s->loop, &ipc->preceived, 0), 0);
  assert_int_equal(art_accept(s, (art_stream_t *)&ipc->preceived), 0);
  assert_int_equal(art_read_start((art_stream_t *)&ipc->preceived, helper_alloc,
                                  ipc_pipe_data),
                   0);
  /* Now write into the pipe and close our write end: EOF follows. */
  art_buf_t b = art_buf_init("through", 7);
  assert_int_equal(
      art_write(&ipc->wreq3, (art_stream_t *)&ipc->pw, &b, 1, NULL), 0);
  art_close((art_handle_t *)&ipc->pw, NULL);
}

static void ipc_pipe_sent(art_write_t *req, int status) {
  assert_int_equal(status, 0);
  art_close((art_handle_t *)&ipc->pr, NULL);
}

ART_TEST(ipc_passes_pipe) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int fds[2];
  ipc = calloc(1, sizeof(*ipc));
  open_ipc_pair(loop, &ipc->a, &ipc->b);
  assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
  assert_int_equal(art_pipe_init(loop, &ipc->pr, 0), 0);
  assert_int_equal(art_pipe_init(loop, &ipc->pw, 0), 0);
  assert_int_equal(art_pipe_open(&ipc->pr, fds[0]), 0);
  assert_int_equal(art_pipe_open(&ipc->pw, fds[1]), 0);
  assert_int_equal(
      art_read_start((art_stream_t *)&ipc->b, helper_alloc, ipc_b_read_pipe),
      0);
  art_buf_t b = art_buf_init("p", 1);
  assert_int_equal(art_write2(&ipc->wreq, (art_stream_t *)&ipc->a, &b, 1,
                              (art_stream_t *)&ipc->pr, ipc_pipe_sent),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(ipc->done, 1);
  assert_int_equal(ipc->type_seen, ART_NAMED_PIPE);
  assert_memory_equal(ipc->got, "through", 7);
  free(ipc);
}

typedef struct {
  art_pipe_t a, b;
  art_udp_t sent, got;
  art_write_t w;
  int accepted;
  art_handle_type type;
} udp_ipc_t;

static void udp_ipc_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  udp_ipc_t *u = s->data;
  free(buf->base);
  if (n <= 0 || u->accepted)
    return;
  u->type = art_pipe_pending_type(&u->b);
  assert_int_equal(art_udp_init(s->loop, &u->got), 0);
  assert_int_equal(art_accept(s, (art_stream_t *)&u->got), 0);
  assert_int_equal(art_pipe_pending_count(&u->b), 0);
  u->accepted = 1;
  art_close((art_handle_t *)&u->a, NULL);
  art_close((art_handle_t *)&u->b, NULL);
}

ART_TEST(ipc_passes_udp_socket) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  udp_ipc_t u;
  struct sockaddr_in addr, addr2;
  int len = sizeof(addr), len2 = sizeof(addr2);
  memset(&u, 0, sizeof(u));
  open_ipc_pair(loop, &u.a, &u.b);
  u.b.data = &u;
  assert_int_equal(art_udp_init(loop, &u.sent), 0);
  art_ip4_addr("127.0.0.1", 0, &addr);
  assert_int_equal(art_udp_bind(&u.sent, (struct sockaddr *)&addr, 0), 0);
  assert_int_equal(
      art_read_start((art_stream_t *)&u.b, helper_alloc, udp_ipc_read), 0);
  art_buf_t b = art_buf_init("u", 1);
  assert_int_equal(art_write2(&u.w, (art_stream_t *)&u.a, &b, 1,
                              (art_stream_t *)&u.sent, NULL),
                   0);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  assert_int_equal(u.accepted, 1);
  assert_int_equal(u.type, ART_UDP);
  /* The received socket is the same one: same local address. */
  assert_int_equal(art_udp_getsockname(&u.sent, (struct sockaddr *)&addr, &len),
                   0);
  assert_int_equal(
      art_udp_getsockname(&u.got, (struct sockaddr *)&addr2, &len2), 0);
  assert_int_equal(addr.sin_port, addr2.sin_port);
  art_close((art_handle_t *)&u.sent, NULL);
  art_close((art_handle_t *)&u.got, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
}

static char sink[65536];

static void sink_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  (void)h;
  (void)suggested;
  *buf = art_buf_init(sink, sizeof(sink));
}

static void sink_read(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  (void)s;
  (void)n;
  (void)buf;
}

static int ipc_calls, ipc_status;

static void ipc_written(art_write_t *req, int status) {
  (void)req;
  ipc_calls++;
  ipc_status = status;
}

static int ipc_flag(void *arg) {
  (void)arg;
  return ipc_calls > 0;
}

/* A handle passed with art_write2 and closed (its memory kept until the
 * write's callback) while the write waits in the queue: the write fails
 * with ART_EBADF instead of sending its bytes with no handle, which the
 * peer would take for a plain message. */
ART_TEST(write2_with_handle_closed_while_queued) {
  art_loop_t *loop = ART_TEST_LOOP(state);
  int sv[2], other[2], sndbuf = 4096;
  static char big[1 << 20];
  assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  assert_int_equal(
      setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
  art_pipe_t a, b;
  art_pipe_t *passed = open_pipe(loop, &other[1]);
  assert_int_equal(art_pipe_init(loop, &a, 1), 0);
  assert_int_equal(art_pipe_open(&a, sv[0]), 0);
  assert_int_equal(art_pipe_init(loop, &b, 1), 0);
  assert_int_equal(art_pipe_open(&b, sv[1]), 0);
  art_write_t w1, w2;
  art_buf_t b1 = art_buf_init(big, sizeof(big)), b2 = art_buf_init("x", 1);
  assert_true(art_write(&w1, (art_stream_t *)&a, &b1, 1, NULL) >= 0);
  ipc_calls = 0;
  assert_true(art_write2(&w2, (art_stream_t *)&a, &b2, 1,
                         (art_stream_t *)passed, ipc_written) >= 0);
  art_close((art_handle_t *)passed, NULL);
  assert_int_equal(art_read_start((art_stream_t *)&b, sink_alloc, sink_read),
                   0);
  assert_true(art_test_run_until(loop, 5000, ipc_flag, NULL));
  assert_int_equal(ipc_status, ART_EBADF);
  art_close((art_handle_t *)&a, NULL);
  art_close((art_handle_t *)&b, NULL);
  assert_int_equal(art_run(loop, ART_RUN_DEFAULT), 0);
  free(passed);
  close(other[1]);
}
