/* art_exec: Node's execFile on top of art_spawn and pipes.
 *
 * The request owns up to five internal handles: the process, a pipe per
 * output, a pipe for the input when there is one, and a timer when there is
 * a timeout. Outputs are read straight into the growing result buffers (no
 * copy), grown up to one byte beyond max_buffer so that an overflow shows
 * as a read past it. The callback runs once the child has exited, both
 * outputs have ended and every internal handle has been closed, so the
 * request may be freed or reused from inside it.
 */
#include <signal.h>
#include <string.h>

#include "internal.h"
#include "net/stream.h"

#define DEFAULT_MAX_BUFFER (1024 * 1024)

/* A handle of the request was closed; the last one completes it. */
static void handle_closed(art_handle_t *h) {
  art_exec_t *r = h->data;
  if (--r->handles_ > 0)
    return;
  art_loop_t *loop = r->loop;
  art__req_unregister(loop, ART_REQ);
  ART__REQ_CALLBACK(loop, r, r->cb_, (r, r->status_));
}

static void close_handle(art_exec_t *r, void *h) {
  if (!art_is_closing(h))
    art_close(h, handle_closed);
}

/* Frees an output that stayed empty: the result says NULL. */
static void drop_empty(char **b, size_t *cap) {
  art__free(*b);
  *b = NULL;
  *cap = 0;
}

/* Closes everything once the child exited and both outputs ended. */
static void maybe_finish(art_exec_t *r) {
  if (!r->exited_ || r->eofs_ < 2 || r->closing_)
    return;
  r->closing_ = 1;
  if (r->out_len == 0)
    drop_empty(&r->out, &r->out_cap_);
  if (r->err_len == 0)
    drop_empty(&r->err, &r->err_cap_);
  close_handle(r, &r->process_);
  close_handle(r, &r->pipes_[0]);
  if (r->timer_.type == ART_TIMER)
    close_handle(r, &r->timer_);
}

static void output_done(art_exec_t *r, art_pipe_t *p) {
  if (art_is_closing((art_handle_t *)p))
    return;
  close_handle(r, p);
  r->eofs_++;
  maybe_finish(r);
}

/* Stops the child: overflow or timeout. */
static void stop_child(art_exec_t *r, int status) {
  if (r->status_ == 0)
    r->status_ = status;
  art_process_kill(&r->process_, r->kill_signal_);
}

/* Kills the child and stops reading: the request ends with status. */
static void cut_short(art_exec_t *r, int status) {
  stop_child(r, status);
  output_done(r, &r->pipes_[1]);
  output_done(r, &r->pipes_[2]);
}

/* The buffer, length and capacity fields for one output pipe. */
static void output_of(art_exec_t *r, const void *h, char ***b, size_t **len,
                      size_t **cap) {
  int is_err = h == (const void *)&r->pipes_[2];
  *b = is_err ? &r->err : &r->out;
  *len = is_err ? &r->err_len : &r->out_len;
  *cap = is_err ? &r->err_cap_ : &r->out_cap_;
}

/* Hands out the free tail of the output's buffer, growing it (doubling,
 * from 64 KiB) up to max_buffer + 1 bytes plus the terminating NUL. */
static void alloc_cb(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  art_exec_t *r = h->data;
  char **b;
  size_t *len, *cap;
  output_of(r, h, &b, &len, &cap);
  size_t limit = r->max_buffer_ + 2;
  if (*cap - *len < 4097 && *cap < limit) {
    size_t want = *cap < 32768 ? 65536 : *cap * 2;
    if (want > limit)
      want = limit;
    char *grown = art__realloc(*b, want);
    if (grown != NULL) {
      *b = grown;
      *cap = want;
    }
  }
  *buf = art_buf_init(*b != NULL ? *b + *len : NULL,
                      *cap > *len ? *cap - *len - 1 : 0);
}

static void read_cb(art_stream_t *s, ssize_t nread, const art_buf_t *buf) {
  art_exec_t *r = s->data;
  char **b;
  size_t *len, *cap;
  output_of(r, s, &b, &len, &cap);
  if (nread > 0) {
    *len += (size_t)nread;
    (*b)[*len] = '\0';
    if (*len > r->max_buffer_) {
      *len = r->max_buffer_;
      (*b)[*len] = '\0';
      cut_short(r, ART_ENOBUFS);
    }
    return;
  }
  if (nread == ART_ENOBUFS) /* no memory for a bigger buffer */
    nread = ART_ENOMEM;
  if (nread == ART_EOF)
    output_done(r, (art_pipe_t *)s);
  else if (nread < 0) /* the output is lost: the child's work is moot */
    cut_short(r, (int)nread);
}

static void exit_cb(art_process_t *p, int64_t exit_status, int term_signal) {
  art_exec_t *r = p->data;
  r->exit_status = exit_status;
  r->term_signal = term_signal;
  r->exited_ = 1;
  if (r->timer_.type == ART_TIMER)
    art_timer_stop(&r->timer_);
  maybe_finish(r);
}

static void timeout_cb(art_timer_t *t) {
  stop_child(t->data, ART_ETIMEDOUT);
}

/* The input's write and shutdown: a child that exits without reading its
 * input makes them fail with EPIPE, which is not the request's error, nor
 * is the cancel of closing the request. Any other failure (the backend
 * refused to wait for the pipe) means the child got part of its input:
 * the request ends with that error. */
static void input_written(art_write_t *w, int status) {
  art_exec_t *r = art__container_of(w, art_exec_t, write_);
  if (status < 0 && status != ART_EPIPE && status != ART_ECANCELED &&
      !r->closing_)
    cut_short(r, status);
}

static void input_shut(art_shutdown_t *s, int status) {}

/* Removes a handle that was initialised but never used from the loop, so
 * that a failed art_exec leaves nothing behind (it allocated nothing). */
static void forget(art_handle_t *h) {
  art__queue_remove(&h->handle_node_);
  h->flags_ = ART__H_CLOSED;
}

/* forget for a pipe, closing the fd art_spawn may have given it before it
 * failed (it was never watched, so no watcher needs stopping) and what
 * its opening made (an io_uring loop's ring block). */
static void forget_pipe(art_pipe_t *p) {
  art__stream_unopen((art_stream_t *)p);
  forget((art_handle_t *)p);
}

/* Starts reading the outputs and writing the input. */
static int start_io(art_exec_t *r, const art_exec_options_t *o) {
  for (int i = 1; i <= 2; i++) {
    int err = art_read_start((art_stream_t *)&r->pipes_[i], alloc_cb, read_cb);
    if (err)
      return err;
  }
  if (o == NULL || o->input == NULL)
    return 0;
  art_buf_t in = art_buf_init((char *)o->input, o->input_len);
  int err = 0;
  if (o->input_len > 0)
    err = art_write(&r->write_, (art_stream_t *)&r->pipes_[0], &in, 1,
                    input_written);
  if (err >= 0)
    err =
        art_shutdown(&r->shutdown_, (art_stream_t *)&r->pipes_[0], input_shut);
  return err < 0 ? err : 0;
}

static void init_request(art_loop_t *loop, art_exec_t *r,
                         const art_exec_options_t *o, art_exec_cb cb) {
  void *data = r->data;
  memset(r, 0, sizeof(*r));
  r->data = data;
  r->loop = loop;
  r->cb_ = cb;
  r->max_buffer_ = o && o->max_buffer ? o->max_buffer : DEFAULT_MAX_BUFFER;
  r->kill_signal_ = o && o->kill_signal ? o->kill_signal : SIGTERM;
  for (int i = 0; i < 3; i++) {
    art_pipe_init(loop, &r->pipes_[i], 0);
    r->pipes_[i].data = r;
    r->pipes_[i].flags_ |= ART__H_INTERNAL;
  }
}

/* Spawns the child with a pipe per output (and for the input). */
static int spawn(art_loop_t *loop, art_exec_t *r, const char *file, char **args,
                 const art_exec_options_t *o) {
  int with_input = o != NULL && o->input != NULL;
  art_stdio_container_t stdio[3] = {
      {with_input ? ART_CREATE_PIPE | ART_READABLE_PIPE : ART_IGNORE,
       {.stream = (art_stream_t *)&r->pipes_[0]}},
      {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
       {.stream = (art_stream_t *)&r->pipes_[1]}},
      {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
       {.stream = (art_stream_t *)&r->pipes_[2]}}};
  art_process_options_t po = {.exit_cb = exit_cb,
                              .file = file,
                              .args = args,
                              .env = o ? o->env : NULL,
                              .cwd = o ? o->cwd : NULL,
                              .stdio_count = 3,
                              .stdio = stdio};
  return art_spawn(loop, &r->process_, &po);
}

int art_exec(art_loop_t *loop, art_exec_t *r, const char *file, char **args,
             const art_exec_options_t *o, art_exec_cb cb) {
  if (!art__loop_usable(loop) || r == NULL || file == NULL || args == NULL ||
      args[0] == NULL || cb == NULL)
    return ART_EINVAL;
  init_request(loop, r, o, cb);
  int err = spawn(loop, r, file, args, o);
  if (err) {
    forget((art_handle_t *)&r->process_);
    for (int i = 0; i < 3; i++)
      forget_pipe(&r->pipes_[i]);
    return err;
  }
  r->process_.data = r;
  r->process_.flags_ |= ART__H_INTERNAL;
  r->handles_ = 4; /* the process and three pipes */
  art__req_register(loop, (art_req_t *)r, ART_REQ);
  if (o != NULL && o->timeout > 0) {
    err = art_timer_init(loop, &r->timer_);
    if (err == 0) {
      r->handles_++;
      r->timer_.data = r;
      r->timer_.flags_ |= ART__H_INTERNAL;
      art_timer_start(&r->timer_, timeout_cb, o->timeout, 0);
    }
  }
  if (err == 0)
    err = start_io(r, o);
  if (err) /* out of memory: the request ends with that status */
    cut_short(r, err);
  return 0;
}

void art_exec_cleanup(art_exec_t *r) {
  if (r == NULL)
    return;
  art__free(r->out);
  art__free(r->err);
  r->out = r->err = NULL;
  r->out_len = r->err_len = r->out_cap_ = r->err_cap_ = 0;
}
