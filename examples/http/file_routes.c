/* The routes that use the file system through the work pool:
 *
 *   GET /api/file?name=PATH  streams PATH, relative to the served folder, in
 *                            FILE_CHUNK pieces: read one, write it, read the
 *                            next, so memory stays fixed whatever the size.
 *   GET /api/lifecycle       walks one request through every part of the
 *                            runtime and reports, for each step, the loop
 *                            phase it ran in and the time since arrival.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "server.h"

static const char JSON[] = "application/json";

/* Closes the open file, if any (a synchronous fs request: closing a regular
 * file does not block). */
static void file_close(conn_t *c) {
  if (c->fd >= 0) {
    art_fs_t req;
    art_fs_close(c->srv->loop, &req, c->fd, NULL);
    art_fs_req_cleanup(&req);
    c->fd = -1;
  }
}

/* Counts an fs request as submitted when r == 0; returns r. */
static int fs_submitted(conn_t *c, int r) {
  if (r == 0) {
    c->ops++;
    c->fs_inflight = 1;
  }
  return r;
}

/* An fs request came back. Returns 1 when the connection closed meanwhile
 * (everything is released then), 0 to go on. */
static int fs_returned(conn_t *c) {
  c->fs_inflight = 0;
  if (c->flags & C_CLOSING) {
    file_close(c);
    conn_op_done(c);
    return 1;
  }
  c->ops--;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* /api/file.                                                               */

/* A relative path with no ".." segment: nothing outside the folder. */
static int name_allowed(const char *name) {
  const char *s = name;
  if (name[0] == '/')
    return 0;
  while (*s != '\0') {
    size_t len = strcspn(s, "/");
    if (len == 2 && s[0] == '.' && s[1] == '.')
      return 0;
    s += len;
    if (*s == '/')
      s++;
  }
  return 1;
}

static const char *content_type(const char *name) {
  static const char *const types[][2] = {
      {".html", "text/html; charset=utf-8"},
      {".txt", "text/plain; charset=utf-8"},
      {".md", "text/markdown; charset=utf-8"},
      {".c", "text/plain; charset=utf-8"},
      {".h", "text/plain; charset=utf-8"},
      {".json", "application/json"},
      {".css", "text/css"},
      {".js", "text/javascript"},
      {".png", "image/png"},
      {".svg", "image/svg+xml"}};
  const char *dot = strrchr(name, '.');
  size_t i;
  for (i = 0; dot != NULL && i < sizeof(types) / sizeof(types[0]); i++)
    if (strcmp(dot, types[i][0]) == 0)
      return types[i][1];
  return "application/octet-stream";
}

static void file_read_next(conn_t *c);

/* The status a failed open or stat deserves. */
static int open_status(ssize_t err) {
  if (err == ART_ENOENT || err == ART_ENOTDIR || err == ART_ENAMETOOLONG)
    return 404;
  if (err == ART_EACCES || err == ART_EPERM || err == ART_ELOOP)
    return 403; /* ELOOP: a symlink, refused by O_NOFOLLOW */
  return 500;
}

/* Sends the head alone: a HEAD request or an empty file. */
static void file_head_only(conn_t *c) {
  file_close(c);
  conn_format_head(c, 200, content_type(c->body), c->file_size, NULL);
  c->bufs[0] = art_buf_init(c->head, c->head_len);
  conn_write(c, 1, W_FINAL);
}

static void file_stat_done(art_fs_t *req) {
  conn_t *c = req->data;
  ssize_t r = req->result;
  uint64_t mode = req->statbuf.mode, size = req->statbuf.size;
  art_fs_req_cleanup(req);
  if (fs_returned(c))
    return;
  if (r < 0 || !S_ISREG(mode)) {
    file_close(c);
    conn_respond(c, r < 0 ? 500 : 404, JSON, NULL, 0);
    return;
  }
  c->file_size = size;
  c->file_off = 0;
  if (c->head_only || size == 0) {
    file_head_only(c);
    return;
  }
  if (c->file_buf == NULL && (c->file_buf = malloc(FILE_CHUNK)) == NULL) {
    file_close(c);
    conn_respond(c, 503, JSON, NULL, 0);
    return;
  }
  file_read_next(c);
}

static void file_opened(art_fs_t *req) {
  conn_t *c = req->data;
  ssize_t r = req->result;
  art_fs_req_cleanup(req);
  if (r >= 0)
    c->fd = (int)r;
  if (fs_returned(c))
    return;
  if (r < 0) {
    conn_respond(c, open_status(r), JSON, NULL, 0);
    return;
  }
  c->fs.data = c;
  if (fs_submitted(
          c, art_fs_fstat(c->srv->loop, &c->fs, c->fd, file_stat_done)) != 0) {
    file_close(c);
    conn_respond(c, 500, JSON, NULL, 0);
  }
}

/* Validates ?name=, builds root/name in c->body and opens it. */
void file_start(conn_t *c) {
  char name[1024];
  int n = query_param(&c->parser.req, "name", name, sizeof(name));
  size_t len;
  c->flags |= C_BUSY;
  if (n <= 0) {
    conn_respond(c, 400, JSON, NULL, 0);
    return;
  }
  if (!name_allowed(name)) {
    conn_respond(c, 403, JSON, NULL, 0);
    return;
  }
  len = (size_t)snprintf(c->body, sizeof(c->body), "%s/%s", c->srv->cfg.root,
                         name);
  if (len >= sizeof(c->body)) {
    conn_respond(c, 404, JSON, NULL, 0);
    return;
  }
  c->fs.data = c;
  if (fs_submitted(c, art_fs_open(c->srv->loop, &c->fs, c->body,
                                  O_RDONLY | O_NOFOLLOW, 0, file_opened)) != 0)
    conn_respond(c, 500, JSON, NULL, 0);
}

static void file_read_done(art_fs_t *req) {
  conn_t *c = req->data;
  ssize_t r = req->result;
  unsigned n = 0;
  art_fs_req_cleanup(req);
  if (fs_returned(c))
    return;
  if (r <= 0) { /* an error, or the file shrank under us */
    if (c->flags & C_HEAD_SENT) {
      conn_close(c);
      return;
    }
    file_close(c);
    conn_respond(c, 500, JSON, NULL, 0);
    return;
  }
  if (!(c->flags & C_HEAD_SENT)) { /* head and first chunk: one writev */
    conn_format_head(c, 200, content_type(c->body), c->file_size, NULL);
    c->bufs[n++] = art_buf_init(c->head, c->head_len);
    c->flags |= C_HEAD_SENT;
  }
  c->bufs[n++] = art_buf_init(c->file_buf, (size_t)r);
  c->file_off += (uint64_t)r;
  c->bytes_out += (uint64_t)r;
  conn_write(c, n, W_FILE);
}

static void file_read_next(conn_t *c) {
  uint64_t left = c->file_size - c->file_off;
  art_buf_t buf =
      art_buf_init(c->file_buf, left < FILE_CHUNK ? (size_t)left : FILE_CHUNK);
  c->fs.data = c;
  if (fs_submitted(c, art_fs_read(c->srv->loop, &c->fs, c->fd, &buf, 1,
                                  (int64_t)c->file_off, file_read_done)) != 0)
    conn_close(c);
}

/* A chunk went out: the next one, or the end. */
void file_write_done(conn_t *c) {
  if (c->file_off < c->file_size) {
    file_read_next(c);
    return;
  }
  file_close(c);
  conn_response_done(c);
}

/* ------------------------------------------------------------------------ */
/* /api/lifecycle.                                                          */

/* Records a step: what happened, the loop phase it ran in, and when. */
void lifecycle_step(conn_t *c, const char *what, const char *phase) {
  if (c->nsteps < LIFECYCLE_STEPS) {
    lifecycle_step_t *s = &c->steps[c->nsteps++];
    s->what = what;
    s->phase =
        phase != NULL ? phase : art_phase_name(art_loop_phase(c->srv->loop));
    s->ns = art_hrtime();
  }
}

/* Runs in a microtask, drained right after the fs callback that queued it:
 * writes the trace as the response. */
static void lifecycle_respond(art_loop_t *loop, void *arg) {
  conn_t *c = arg;
  size_t n;
  unsigned i;
  c->ops--;
  lifecycle_step(c, "response written", NULL);
  n = (size_t)snprintf(c->body, sizeof(c->body),
                       "{\"route\":\"lifecycle\",\"steps\":[\n");
  for (i = 0; i < c->nsteps && n < sizeof(c->body); i++)
    n +=
        (size_t)snprintf(c->body + n, sizeof(c->body) - n,
                         "  {\"step\":\"%s\",\"phase\":\"%s\",\"ms\":%.3f}%s\n",
                         c->steps[i].what, c->steps[i].phase,
                         (double)(c->steps[i].ns - c->arrival_ns) / 1e6,
                         i + 1 < c->nsteps ? "," : "");
  if (n < sizeof(c->body))
    n += (size_t)snprintf(c->body + n, sizeof(c->body) - n, "]}\n");
  if (n >= sizeof(c->body))
    n = sizeof(c->body) - 1;
  conn_respond(c, 200, JSON, c->body, n);
}

static void lifecycle_read_done(art_fs_t *req) {
  conn_t *c = req->data;
  ssize_t r = req->result;
  art_fs_req_cleanup(req);
  if (fs_returned(c))
    return;
  file_close(c);
  lifecycle_step(c, r >= 0 ? "file read (fs_read)" : "file read failed", NULL);
  c->ops++; /* the microtask holds the connection */
  if (art_queue_microtask(c->srv->loop, lifecycle_respond, c) != 0)
    lifecycle_respond(c->srv->loop, c);
}

static void lifecycle_opened(art_fs_t *req) {
  conn_t *c = req->data;
  ssize_t r = req->result;
  art_buf_t buf = art_buf_init(c->body, sizeof(c->body));
  art_fs_req_cleanup(req);
  if (r >= 0)
    c->fd = (int)r;
  if (fs_returned(c))
    return;
  lifecycle_step(c, r >= 0 ? "file opened (fs_open)" : "file open failed",
                 NULL);
  c->fs.data = c;
  if (r < 0 || fs_submitted(c, art_fs_read(c->srv->loop, &c->fs, c->fd, &buf, 1,
                                           0, lifecycle_read_done)) != 0) {
    file_close(c);
    c->ops++;
    lifecycle_respond(c->srv->loop, c);
  }
}

/* A short hash chain on a pool thread; the loop is not touched from here. */
static void lifecycle_work(art_work_t *w) {
  conn_t *c = w->data;
  uint64_t i, x = c->arrival_ns;
  lifecycle_step(c, "pool work started (hash chain)", "(pool thread)");
  for (i = 0; i < 500000; i++)
    x = (x ^ (x >> 31)) * 0x9e3779b97f4a7c15ull + i;
  c->digest = x;
  lifecycle_step(c, "pool work finished", "(pool thread)");
}

static void lifecycle_after(art_work_t *w, int status) {
  conn_t *c = w->data;
  c->work_inflight = 0;
  if (c->flags & C_CLOSING) {
    conn_op_done(c);
    return;
  }
  c->ops--;
  lifecycle_step(c, "pool work completed (eventfd)", NULL);
  c->fs.data = c;
  if (fs_submitted(c, art_fs_open(c->srv->loop, &c->fs, "/proc/self/exe",
                                  O_RDONLY, 0, lifecycle_opened)) != 0) {
    c->ops++;
    lifecycle_respond(c->srv->loop, c);
  }
}

/* The auth-like check: a timer, as a token lookup would be. */
void lifecycle_timer(conn_t *c) {
  lifecycle_step(c, "auth check (timer)", NULL);
  c->work.data = c;
  if (art_queue_work(c->srv->loop, &c->work, lifecycle_work, lifecycle_after) !=
      0) {
    c->ops++;
    lifecycle_respond(c->srv->loop, c);
    return;
  }
  c->ops++;
  c->work_inflight = 1;
}

void lifecycle_start(conn_t *c) {
  c->flags |= C_BUSY;
  conn_start_timer(c, T_ROUTE, 2);
}
