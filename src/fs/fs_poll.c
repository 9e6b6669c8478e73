/* art_fs_poll_t: watch a path by stat()ing it at an interval (Node's
 * fs.watchFile), for file systems where inotify sees nothing (NFS, FUSE)
 * or files that do not exist yet.
 *
 * Notes:
 *
 * 1. A started handle owns a context (one allocation per start, holding the
 *    path): an internal timer and a pool work item that runs the stat on
 *    the file-system lane. Stopping detaches the context from the handle at
 *    once, so no callback can follow art_fs_poll_stop or art_close, and the
 *    handle's memory may be reused after its close callback even while a
 *    stat is still running on the pool. The context is freed when both its
 *    timer has closed and no stat is in flight.
 * 2. Each stat is compared with the last one; the callback runs when a
 *    field that a change to the file moves (size, mode, owner, inode,
 *    device, ctime, mtime, birth time) differs, when the path appears
 *    (status 0, prev zeroed) or disappears (a negative status such as
 *    ART_ENOENT, curr zeroed), and once per change of error. The first
 *    successful stat only sets the baseline.
 * 3. Stats start every interval ms measured from the start of the previous
 *    one, so a slow file system does not stretch the period.
 */
#include <string.h>

#include "internal.h"
#include "pool/pool.h"

ART__DECLARE_HANDLE_OPS(fs_poll);

/* The state of one started poll. */
typedef struct {
  art_fs_poll_t *handle; /* NULL once stopped */
  art_loop_t *loop;
  art_timer_t timer;     /* internal, unreferenced */
  art_req_t req;         /* registered with the loop while a stat runs */
  struct art__work work; /* the stat on the pool */
  unsigned interval;     /* ms between stats */
  int in_flight;         /* a stat is queued or running */
  int timer_closed;      /* the timer's close callback ran */
  int last_status;       /* 0 before the first stat, then 1 or an error */
  int result;            /* of the stat just made: 0 or an error */
  uint64_t started_ms;   /* loop time when the last stat was queued */
  art_stat_t prev;       /* the last successful stat, or zeroes */
  art_stat_t curr;       /* the stat just made */
  art_fs_t fs;           /* the synchronous stat request, on the pool */
  char path[];           /* what is watched */
} poll_ctx_t;

static void ctx_maybe_free(poll_ctx_t *ctx) {
  if (ctx->timer_closed && !ctx->in_flight)
    art__free(ctx);
}

static void timer_closed_cb(art_handle_t *h) {
  poll_ctx_t *ctx = art__container_of(h, poll_ctx_t, timer);
  ctx->timer_closed = 1;
  ctx_maybe_free(ctx);
}

/* Runs on a pool thread: a synchronous stat, which allocates nothing. */
static void stat_work(struct art__work *w) {
  poll_ctx_t *ctx = art__container_of(w, poll_ctx_t, work);
  ctx->result = art_fs_stat(NULL, &ctx->fs, ctx->path, NULL);
  if (ctx->result == 0)
    ctx->curr = ctx->fs.statbuf;
  else
    memset(&ctx->curr, 0, sizeof(ctx->curr));
}

static int timespec_eq(const art_timespec_t *a, const art_timespec_t *b) {
  return a->sec == b->sec && a->nsec == b->nsec;
}

/* True if nothing that a change to the file moves differs (access time
 * is left out: reading the file is not a change). */
static int stat_same(const art_stat_t *a, const art_stat_t *b) {
  return timespec_eq(&a->ctim, &b->ctim) && timespec_eq(&a->mtim, &b->mtim) &&
         timespec_eq(&a->birthtim, &b->birthtim) && a->size == b->size &&
         a->mode == b->mode && a->uid == b->uid && a->gid == b->gid &&
         a->ino == b->ino && a->dev == b->dev && a->flags == b->flags &&
         a->gen == b->gen;
}

/* Calls the user back if the new result is a change (note 2). */
static void report(poll_ctx_t *ctx) {
  art_fs_poll_t *h = ctx->handle;
  static const art_stat_t zero;
  if (ctx->result != 0) {
    if (ctx->last_status != ctx->result) {
      ART__CALLBACK(h, h->cb_, (h, ctx->result, &ctx->prev, &zero));
    }
    ctx->last_status = ctx->result;
    memset(&ctx->prev, 0, sizeof(ctx->prev));
    return;
  }
  if (ctx->last_status < 0 ||
      (ctx->last_status == 1 && !stat_same(&ctx->prev, &ctx->curr))) {
    ART__CALLBACK(h, h->cb_, (h, 0, &ctx->prev, &ctx->curr));
  }
  ctx->last_status = 1;
  ctx->prev = ctx->curr;
}

static void poll_timer_cb(art_timer_t *t);

/* Runs on the loop thread when a stat is done. */
static void stat_after(struct art__work *w, int status) {
  poll_ctx_t *ctx = art__container_of(w, poll_ctx_t, work);
  ctx->in_flight = 0;
  if (ctx->handle == NULL || status != 0) {
    ctx_maybe_free(ctx); /* stopped meanwhile */
    return;
  }
  report(ctx);
  if (ctx->handle == NULL) /* stopped from the callback */
    return;
  uint64_t now = art_now(ctx->loop), elapsed = now - ctx->started_ms;
  uint64_t wait = elapsed >= ctx->interval
                      ? ctx->interval - elapsed % ctx->interval
                      : ctx->interval - elapsed;
  art_timer_start(&ctx->timer, poll_timer_cb, wait, 0);
}

/* Queues a stat. 0, or the error of the pool (which could not start). */
static int start_stat(poll_ctx_t *ctx) {
  ctx->started_ms = art_now(ctx->loop);
  int err = art__work_submit(ctx->loop, &ctx->req, ART_FS, &ctx->work,
                             ART_LANE_FS, stat_work, stat_after);
  ctx->in_flight = err == 0;
  return err;
}

/* Time for the next stat. Should the pool refuse it, the handle stops and
 * the callback says why. */
static void poll_timer_cb(art_timer_t *t) {
  poll_ctx_t *ctx = art__container_of(t, poll_ctx_t, timer);
  int err = start_stat(ctx);
  if (err == 0)
    return;
  static const art_stat_t zero;
  art_fs_poll_t *h = ctx->handle;
  art_fs_poll_stop(h);
  ART__CALLBACK(h, h->cb_, (h, err, &ctx->prev, &zero));
}

int art_fs_poll_init(art_loop_t *loop, art_fs_poll_t *h) {
  if (!art__loop_usable(loop) || h == NULL)
    return ART_EINVAL;
  art__handle_init(loop, (art_handle_t *)h, &art__fs_poll_ops);
  h->cb_ = NULL;
  h->ctx_ = NULL;
  return 0;
}

int art_fs_poll_start(art_fs_poll_t *h, art_fs_poll_cb cb, const char *path,
                      unsigned interval_ms) {
  if (!art__handle_usable((art_handle_t *)h) || h->type != ART_FS_POLL ||
      cb == NULL || path == NULL || interval_ms == 0)
    return ART_EINVAL;
  if (h->ctx_ != NULL)
    return ART_EBUSY;
  size_t len = strlen(path);
  poll_ctx_t *ctx = art__calloc(1, sizeof(*ctx) + len + 1);
  if (ctx == NULL)
    return ART_ENOMEM;
  memcpy(ctx->path, path, len + 1);
  int err = art_timer_init(h->loop, &ctx->timer);
  if (err) {
    art__free(ctx);
    return err;
  }
  ctx->timer.flags_ |= ART__H_INTERNAL;
  art_unref((art_handle_t *)&ctx->timer);
  ctx->handle = h;
  ctx->loop = h->loop;
  ctx->interval = interval_ms;
  err = start_stat(ctx);
  if (err) {
    ctx->handle = NULL;
    art_close((art_handle_t *)&ctx->timer, timer_closed_cb);
    return err;
  }
  h->cb_ = cb;
  h->ctx_ = ctx;
  art__handle_capture((art_handle_t *)h);
  art__handle_start((art_handle_t *)h);
  return 0;
}

/* Ends the polling: art_fs_poll_stop and art_close. */
static void stop_polling(art_fs_poll_t *h) {
  poll_ctx_t *ctx = h->ctx_;
  if (ctx == NULL)
    return;
  h->ctx_ = NULL;
  ctx->handle = NULL;
  art_close((art_handle_t *)&ctx->timer, timer_closed_cb);
  art__handle_stop((art_handle_t *)h);
}

int art_fs_poll_stop(art_fs_poll_t *h) {
  if (!art__handle_is((art_handle_t *)h, ART_FS_POLL))
    return ART_EINVAL;
  if (art__handle_usable((art_handle_t *)h)) /* else art_close did */
    stop_polling(h);
  return 0;
}

int art_fs_poll_getpath(art_fs_poll_t *h, char *buf, size_t *size) {
  if (h == NULL || h->type != ART_FS_POLL || buf == NULL || size == NULL)
    return ART_EINVAL;
  poll_ctx_t *ctx = h->ctx_;
  if (ctx == NULL)
    return ART_EINVAL;
  size_t len = strlen(ctx->path);
  if (*size <= len) {
    *size = len + 1;
    return ART_ENOBUFS;
  }
  memcpy(buf, ctx->path, len + 1);
  *size = len;
  return 0;
}

static void fs_poll_close(art_handle_t *h) {
  stop_polling((art_fs_poll_t *)h);
}

const art__handle_ops_t art__fs_poll_ops = {
    ART_FS_POLL, "fs_poll", sizeof(art_fs_poll_t), fs_poll_close, NULL,
    NULL,        NULL};
