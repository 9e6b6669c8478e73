/* The routes that use the file system through the work pool:
 *
 *   GET /api/file?name=PATH  streams PATH, relative to the served folder, in
 *                            FILE_CHUNK pieces: read one, write it, read the
 *                            next, so memory stays fixed whatever the size.
 *   GET /api/lifecycle       walks one request through every part of the
 *                            runtime and reports, for each step, the loop
 *                            phase it ran in and the time since arrival.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/stat.h>
#include <sys/syscall.h>
#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/openat2.h>)
#include <linux/openat2.h> /* struct open_how, RESOLVE_* */
#endif
#endif

#include "server.h"

static const char JSON[] = "application/json";

/* Closes the open file, if any (a synchronous fs request: closing a regular
 * file does not block). */
static void file_close(conn_t *c) {
  if (!(c->flags & C_CLOSING))
    file_buf_free(c); /* closing: a write may still point at it */
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

/* A route request came back. Returns 1 when the connection closed
 * meanwhile (everything is released then), 0 to go on. */
static int op_returned(conn_t *c) {
  if (c->flags & C_CLOSING) {
    file_close(c);
    conn_op_done(c);
    return 1;
  }
  c->ops--;
  return 0;
}

static int fs_returned(conn_t *c) {
  c->fs_inflight = 0;
  return op_returned(c);
}

/* ------------------------------------------------------------------------ */
/* /api/file: opening a name beneath the served folder.                     */
/*                                                                          */
/* The name is resolved beneath the folder's descriptor (srv->root_fd),     */
/* never as a path string: no component may be "..", absolute, or a         */
/* symbolic link, wherever it sits (a link to a folder in the middle of the */
/* name escapes as surely as one at its end). On Linux openat2 enforces     */
/* that in the kernel (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS); where it is  */
/* missing (ENOSYS) each component is opened in turn relative to the last   */
/* one with O_NOFOLLOW, which refuses a link at every step. The file is     */
/* opened O_NONBLOCK, so a FIFO or device does not block the pool thread in */
/* open, and anything but a regular file is refused after fstat.            */

/* Flags of the final open: no blocking on a FIFO, no following a link. */
#define FILE_OPEN_FLAGS (O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC)
/* Flags of a folder on the way, in the portable walk. */
#define DIR_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)

/* A relative name with no ".." segment. The resolution below refuses these
 * too; checking first answers them without a pool round trip. */
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

static int is_link(int dirfd, const char *name) {
  struct stat st;
  return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISLNK(st.st_mode);
}

/* Opens name beneath dirfd one component at a time, each folder with
 * O_DIRECTORY | O_NOFOLLOW relative to the previous one. Returns the fd,
 * or -1 with errno (ELOOP for a link, EXDEV for ".."). */
static int open_by_components(int dirfd, const char *name) {
  char part[256];
  int cur = dirfd, fd, err;
  for (;;) {
    size_t len = strcspn(name, "/");
    int last;
    if (len >= sizeof(part)) {
      fd = -1, err = ENAMETOOLONG;
      break;
    }
    memcpy(part, len == 0 ? "." : name, len == 0 ? 1 : len);
    part[len == 0 ? 1 : len] = '\0';
    name += len;
    while (*name == '/')
      name++;
    last = *name == '\0';
    if (strcmp(part, "..") == 0)
      fd = -1, errno = EXDEV;
    else
      fd = openat(cur, part, last ? FILE_OPEN_FLAGS : DIR_OPEN_FLAGS);
    err = errno;
    if (fd < 0 && err == ENOTDIR && !last && is_link(cur, part))
      err = ELOOP; /* O_DIRECTORY says ENOTDIR for a link: same answer */
    if (cur != dirfd)
      close(cur);
    if (fd < 0 || last)
      break;
    cur = fd;
  }
  if (fd < 0)
    errno = err;
  return fd;
}

/* Opens name beneath dirfd: openat2 when the kernel has it and use_openat2
 * (--no-openat2 tests the other way), else component by component. */
static int open_beneath(int dirfd, const char *name, int use_openat2) {
#if defined(SYS_openat2) && defined(RESOLVE_BENEATH)
  if (use_openat2) {
    struct open_how how;
    int fd;
    memset(&how, 0, sizeof(how));
    how.flags = FILE_OPEN_FLAGS;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    fd = (int)syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
    if (fd >= 0 || errno != ENOSYS)
      return fd;
  }
#else
  (void)use_openat2;
#endif
  return open_by_components(dirfd, name);
}

/* The status a failed open deserves: 403 for what the resolution refuses
 * (a link, an escape, no permission), 404 for what is not there or not a
 * file that can be served. */
static int open_status(int err) {
  if (err == ENOENT || err == ENOTDIR || err == ENAMETOOLONG || err == ENXIO ||
      err == ENODEV)
    return 404;
  if (err == EACCES || err == EPERM || err == ELOOP || err == EXDEV)
    return 403;
  return 500;
}

/* Runs on a pool thread (file-system lane): opens the name held in
 * c->body and keeps it only if it is a regular file. Writes only
 * open_fd, open_status and file_size, which the loop reads once the work
 * is back. */
static void file_open_work(art_work_t *w) {
  conn_t *c = w->data;
  struct stat st;
  int fd = open_beneath(c->srv->root_fd, c->body, !c->srv->cfg.no_openat2);
  c->open_fd = -1;
  if (fd < 0) {
    c->open_status = open_status(errno);
    return;
  }
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    c->open_status = 404; /* a folder, FIFO, socket or device */
    close(fd);
    return;
  }
  c->open_status = 200;
  c->open_fd = fd;
  c->file_size = (uint64_t)st.st_size;
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

/* The chunk buffer exists only while a file streams: an idle connection
 * does not keep 32 KiB. */
void file_buf_free(conn_t *c) {
  if (c->file_buf != NULL) {
    free(c->file_buf);
    c->file_buf = NULL;
    c->srv->file_bufs--;
  }
}

/* Sends the head alone: a HEAD request or an empty file. */
static void file_head_only(conn_t *c) {
  file_close(c);
  conn_format_head(c, 200, content_type(c->body), c->file_size, NULL);
  c->bufs[0] = art_buf_init(c->head, c->head_len);
  conn_write(c, 1, W_FINAL);
}

static void file_opened(art_work_t *w, int status) {
  conn_t *c = w->data;
  c->work_inflight = 0;
  request_log(c->srv, "file opened on the pool (%s)",
              status != 0       ? art_strerror(status)
              : c->open_fd >= 0 ? "ok"
                                : "refused");
  if (status == 0 && c->open_fd >= 0)
    c->fd = c->open_fd; /* from here on the loop owns it */
  if (op_returned(c))
    return;
  if (status != 0 || c->fd < 0) {
    conn_respond(c, status != 0 ? 503 : c->open_status, JSON, NULL, 0);
    return;
  }
  c->file_off = 0;
  if (c->head_only || c->file_size == 0) {
    file_head_only(c);
    return;
  }
  if ((c->file_buf = malloc(FILE_CHUNK)) == NULL) {
    file_close(c);
    conn_respond(c, 503, JSON, NULL, 0);
    return;
  }
  c->srv->file_bufs++;
  file_read_next(c);
}

/* Validates ?name=, keeps it in c->body and opens it on the pool. */
void file_start(conn_t *c) {
  int n = query_param(&c->parser.req, "name", c->body, 1024);
  c->flags |= C_BUSY;
  if (n <= 0) {
    conn_respond(c, 400, JSON, NULL, 0);
    return;
  }
  if (!name_allowed(c->body)) {
    conn_respond(c, 403, JSON, NULL, 0);
    return;
  }
  c->work.data = c;
  if (art_queue_work_lane(c->srv->loop, &c->work, ART_LANE_FS, file_open_work,
                          file_opened) != 0) {
    conn_respond(c, 500, JSON, NULL, 0);
    return;
  }
  c->ops++;
  c->work_inflight = 1;
}

static void file_read_done(art_fs_t *req) {
  conn_t *c = req->data;
  ssize_t r = req->result;
  unsigned n = 0;
  request_log(c->srv, "file read %zd", r);
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
