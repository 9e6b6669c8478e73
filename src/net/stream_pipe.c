/* art_stream_pipe: Node's stream.pipeline for two streams.
 *
 * The pipeline owns nchunks buffers of chunk bytes, allocated once at the
 * start, each with its own write request embedded: reading takes a free
 * chunk, the chunk is written to dst as it is, and the write callback
 * returns it to the free stack. Steady state therefore allocates nothing.
 *
 * Backpressure: reading stops when art_write reports dst above its
 * high-water mark or when no chunk is free, and starts again from a write
 * callback once dst is below the mark (Node's 'drain') with a chunk free.
 * Memory stays at nchunks * chunk whatever the sizes and speeds involved.
 */
#include <stdint.h>
#include <string.h>

#include "stream.h"

#define DEFAULT_CHUNK   (64 * 1024)
#define DEFAULT_NCHUNKS 4

/* One buffer and the request that writes it. */
typedef struct chunk_s {
  art_write_t req;      /* req.data points at the pipeline */
  struct chunk_s *next; /* free stack link */
  char data[];          /* opts.chunk bytes */
} chunk_t;

enum { EOF_NONE = 0, EOF_SEEN, EOF_SHUTTING };

static size_t stride(const art_stream_pipe_t *p) {
  size_t n = sizeof(chunk_t) + p->opts_.chunk;
  return (n + 15) & ~(size_t)15;
}

static void release(art_stream_pipe_t *p, chunk_t *c) {
  c->next = p->free_;
  p->free_ = c;
}

/* Takes p off dst's list of pipelines writing to it. */
static void unlink_dst(art_stream_pipe_t *p) {
  art_stream_pipe_t *prev = NULL, *q = p->dst->pipe_dsts_;
  while (q != NULL && q != p) {
    prev = q;
    q = q->next_dst_;
  }
  if (q != NULL && prev != NULL)
    prev->next_dst_ = p->next_dst_;
  else if (q != NULL)
    p->dst->pipe_dsts_ = p->next_dst_;
  p->next_dst_ = NULL;
}

static void finish(art_stream_pipe_t *p, int status) {
  p->done_ = 1;
  if (!p->src_gone_ && p->src->pipe_src_ == p)
    p->src->pipe_src_ = NULL;
  if (!p->dst_gone_)
    unlink_dst(p);
  art__free(p->mem_);
  p->mem_ = NULL;
  p->free_ = NULL;
  art_loop_t *loop = p->loop_; /* cb may free p */
  p->cb_(p, status);
  art__drain(loop);
}

static void shutdown_cb(art_shutdown_t *req, int status) {
  art_stream_pipe_t *p = art__container_of(req, art_stream_pipe_t, shutdown_);
  finish(p, p->status_ != 0 ? p->status_ : status);
}

/* Ends the pipeline once nothing is in flight: after an error, or at EOF
 * (shutting dst down first unless told not to). */
static void maybe_finish(art_stream_pipe_t *p) {
  if (p->done_ || p->in_flight_ > 0 || p->eof_ == EOF_SHUTTING)
    return;
  if (p->status_ != 0) {
    finish(p, p->status_);
    return;
  }
  if (p->eof_ != EOF_SEEN)
    return;
  if (p->opts_.no_end) {
    finish(p, 0);
    return;
  }
  p->eof_ = EOF_SHUTTING;
  int err = art_shutdown(&p->shutdown_, p->dst, shutdown_cb);
  if (err) {
    p->eof_ = EOF_SEEN;
    finish(p, err);
  }
}

/* The first error of either side is the one reported. */
static void fail(art_stream_pipe_t *p, int err) {
  if (p->status_ == 0)
    p->status_ = err;
  if (!p->src_gone_ && art__stream_usable(p->src))
    art_read_stop(p->src);
  maybe_finish(p);
}

void art__stream_pipe_src_closed(art_stream_t *src) {
  art_stream_pipe_t *p = src->pipe_src_;
  src->pipe_src_ = NULL;
  p->src_gone_ = 1;
  if (!p->done_)
    fail(p, ART_ECANCELED);
}

/* dst is closing: no pipeline may touch it again. Those with writes in
 * flight end when the close has canceled them. */
void art__stream_pipe_dst_closed(art_stream_t *dst) {
  art_stream_pipe_t *p = dst->pipe_dsts_;
  dst->pipe_dsts_ = NULL;
  while (p != NULL) {
    art_stream_pipe_t *next = p->next_dst_;
    p->next_dst_ = NULL;
    p->dst_gone_ = 1;
    if (!p->done_)
      fail(p, ART_ECANCELED);
    p = next;
  }
}

static void pipe_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  art_stream_pipe_t *p = ((art_stream_t *)h)->pipe_src_;
  chunk_t *c = p->free_;
  (void)suggested;
  if (c == NULL) {
    *buf = art_buf_init(NULL, 0);
    return;
  }
  p->free_ = c->next;
  *buf = art_buf_init(c->data, p->opts_.chunk);
}

static void resume_if_drained(art_stream_pipe_t *p) {
  if (!p->paused_ || p->src_gone_ || p->status_ != 0 || p->eof_ != EOF_NONE ||
      p->free_ == NULL ||
      art_stream_write_queue_size(p->dst) >= p->dst->high_water_mark_)
    return;
  p->paused_ = 0;
  int err = art_read_start(p->src, pipe_alloc, p->src->read_cb_);
  if (err)
    fail(p, err);
}

static void write_cb(art_write_t *req, int status) {
  art_stream_pipe_t *p = req->data;
  p->in_flight_--;
  release(p, art__container_of(req, chunk_t, req));
  if (status < 0)
    fail(p, status);
  else
    resume_if_drained(p);
  maybe_finish(p);
}

static void pipe_read(art_stream_t *src, ssize_t nread, const art_buf_t *buf) {
  art_stream_pipe_t *p = src->pipe_src_;
  chunk_t *c = buf->base ? art__container_of(buf->base, chunk_t, data) : NULL;
  if (nread <= 0) {
    if (c != NULL)
      release(p, c);
    if (nread == ART_EOF) {
      p->eof_ = EOF_SEEN;
      maybe_finish(p);
    } else if (nread < 0) {
      fail(p, (int)nread);
    }
    return;
  }
  art_buf_t out = art_buf_init(c->data, (size_t)nread);
  c->req.data = p;
  /* dst closed, its close phase not yet reached: the end is that close. */
  int r = art__stream_usable(p->dst)
              ? art_write(&c->req, p->dst, &out, 1, write_cb)
              : ART_ECANCELED;
  if (r < 0) {
    release(p, c);
    fail(p, r);
    return;
  }
  p->in_flight_++;
  if (r == ART_STREAM_FULL || p->free_ == NULL) {
    p->paused_ = 1;
    art_read_stop(src);
  }
}

static int check_args(const art_stream_pipe_t *p, const art_stream_t *src,
                      const art_stream_t *dst,
                      const art_stream_pipe_opts_t *opts,
                      art_stream_pipe_cb cb) {
  if (p == NULL || cb == NULL || !art__stream_usable(src) ||
      !art__stream_usable(dst) || src == dst)
    return ART_EINVAL;
  if (opts != NULL &&
      ((opts->chunk > 0 && opts->chunk > (1u << 30)) || opts->nchunks > 1024))
    return ART_EINVAL;
  if ((src->stream_flags_ & ART__S_READING) || src->pipe_src_ != NULL)
    return ART_EBUSY;
  if (!(src->stream_flags_ & ART__S_READABLE) ||
      !(dst->stream_flags_ & ART__S_WRITABLE))
    return ART_ENOTCONN;
  return 0;
}

int art_stream_pipe(art_stream_pipe_t *p, art_stream_t *src, art_stream_t *dst,
                    const art_stream_pipe_opts_t *opts, art_stream_pipe_cb cb) {
  int err = check_args(p, src, dst, opts, cb);
  if (err)
    return err;
  void *data = p->data;
  memset(p, 0, sizeof(*p));
  p->data = data;
  p->src = src;
  p->dst = dst;
  p->loop_ = src->loop;
  p->cb_ = cb;
  if (opts != NULL)
    p->opts_ = *opts;
  if (p->opts_.chunk == 0)
    p->opts_.chunk = DEFAULT_CHUNK;
  if (p->opts_.nchunks == 0)
    p->opts_.nchunks = DEFAULT_NCHUNKS;
  p->mem_ = art__malloc(stride(p) * p->opts_.nchunks);
  if (p->mem_ == NULL)
    return ART_ENOMEM;
  for (unsigned i = p->opts_.nchunks; i-- > 0;)
    release(p, (chunk_t *)(void *)(p->mem_ + i * stride(p)));
  src->pipe_src_ = p;
  err = art_read_start(src, pipe_alloc, pipe_read);
  if (err) {
    src->pipe_src_ = NULL;
    art__free(p->mem_);
    p->mem_ = NULL;
    return err;
  }
  p->next_dst_ = dst->pipe_dsts_;
  dst->pipe_dsts_ = p;
  return 0;
}
