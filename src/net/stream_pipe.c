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
 *
 * The pipeline is a user of the public stream API: the streams know
 * nothing of it. It attaches a node to each stream (src_link_, dst_link_)
 * so that their close reaches it, and finds itself from src's callbacks
 * through its node there.
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

static void src_closing(art__attach_t *a, art_handle_t *h);
static void dst_closing(art__attach_t *a, art_handle_t *h);
static const art__attach_ops_t src_link = {src_closing};
static const art__attach_ops_t dst_link = {dst_closing};

/* The pipeline reading src. */
static art_stream_pipe_t *pipeline_of(art_stream_t *src) {
  art__attach_t *a = art__attached((art_handle_t *)src, &src_link);
  return art__container_of(a, art_stream_pipe_t, src_link_);
}

static void finish(art_stream_pipe_t *p, int status) {
  p->done_ = 1;
  if (!p->src_gone_)
    art__detach((art_handle_t *)p->src, &p->src_link_);
  if (!p->dst_gone_)
    art__detach((art_handle_t *)p->dst, &p->dst_link_);
  art__free(p->mem_);
  p->mem_ = NULL;
  p->free_ = NULL;
  /* cb may free p */
  ART__CALLBACK_OF(p->loop_, ART_RESOURCE_REQ, ART_REQ, &p->res_, p->cb_,
                   (p, status));
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

/* src is closing: the pipeline ends with ART_ECANCELED once its writes in
 * flight are done. */
static void src_closing(art__attach_t *a, art_handle_t *h) {
  art_stream_pipe_t *p = art__container_of(a, art_stream_pipe_t, src_link_);
  (void)h;
  p->src_gone_ = 1;
  if (!p->done_)
    fail(p, ART_ECANCELED);
}

/* dst is closing: no pipeline may touch it again. One with writes in
 * flight ends when the close has canceled them. */
static void dst_closing(art__attach_t *a, art_handle_t *h) {
  art_stream_pipe_t *p = art__container_of(a, art_stream_pipe_t, dst_link_);
  (void)h;
  p->dst_gone_ = 1;
  if (!p->done_)
    fail(p, ART_ECANCELED);
}

static void pipe_alloc(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  art_stream_pipe_t *p = pipeline_of((art_stream_t *)h);
  chunk_t *c = p->free_;
  (void)suggested;
  if (c == NULL) {
    *buf = art_buf_init(NULL, 0);
    return;
  }
  p->free_ = c->next;
  *buf = art_buf_init(c->data, p->opts_.chunk);
}

static void pipe_read(art_stream_t *src, ssize_t nread, const art_buf_t *buf);

static void resume_if_drained(art_stream_pipe_t *p) {
  /* src closing but its close phase not reached yet: that close ends us. */
  if (!p->paused_ || p->src_gone_ || !art__stream_usable(p->src) ||
      p->status_ != 0 || p->eof_ != EOF_NONE || p->free_ == NULL ||
      art_stream_needs_drain(p->dst))
    return;
  p->paused_ = 0;
  int err = art_read_start(p->src, pipe_alloc, pipe_read);
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
  art_stream_pipe_t *p = pipeline_of(src);
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
  if (art_stream_needs_drain(p->dst) || p->free_ == NULL) {
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
  if (art__stream_reading(src) ||
      art__attached((const art_handle_t *)src, &src_link) != NULL)
    return ART_EBUSY;
  if (!art_is_readable(src) || !art_is_writable(dst))
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
  art__attach((art_handle_t *)src, &p->src_link_, &src_link);
  err = art_read_start(src, pipe_alloc, pipe_read);
  if (err) {
    art__detach((art_handle_t *)src, &p->src_link_);
    art__free(p->mem_);
    p->mem_ = NULL;
    return err;
  }
  art__attach((art_handle_t *)dst, &p->dst_link_, &dst_link);
  art__res_init(p->loop_, &p->res_, ART_RESOURCE_REQ, ART_REQ, p);
  return 0;
}
