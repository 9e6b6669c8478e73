/* The lifecycle every handle shares: init, ref/unref, close and the close
 * phase, walk and debugging output. */
#include "internal.h"

static const char *const type_names[ART_HANDLE_TYPE_MAX] = {
    [ART_UNKNOWN_HANDLE] = "unknown",
    [ART_ASYNC] = "async",
    [ART_CHECK] = "check",
    [ART_FS_EVENT] = "fs_event",
    [ART_FS_POLL] = "fs_poll",
    [ART_HANDLE] = "handle",
    [ART_IDLE] = "idle",
    [ART_NAMED_PIPE] = "pipe",
    [ART_POLL] = "poll",
    [ART_PREPARE] = "prepare",
    [ART_PROCESS] = "process",
    [ART_STREAM] = "stream",
    [ART_TCP] = "tcp",
    [ART_TIMER] = "timer",
    [ART_TTY] = "tty",
    [ART_UDP] = "udp",
    [ART_SIGNAL] = "signal",
    [ART_FILE] = "file",
};

const char *art_handle_type_name(art_handle_type type) {
  if ((unsigned)type >= ART_HANDLE_TYPE_MAX)
    return "unknown";
  return type_names[type];
}

void art__handle_init(art_loop_t *loop, art_handle_t *h, art_handle_type type) {
  h->loop = loop;
  h->type = type;
  h->flags_ = ART__H_REF;
  h->close_cb_ = NULL;
  h->next_closing_ = NULL;
  art__queue_insert_tail(&loop->handles_, &h->handle_node_);
}

/* Each handle type's file defines art__<type>_ops; a type without one is a
 * link error, never a handle that closes without stopping. */
#define ART__DECLARE_OPS(name)                                                 \
  extern const art__handle_ops_t art__##name##_ops ART__HIDDEN;
ART__DECLARE_OPS(timer)
ART__DECLARE_OPS(idle)
ART__DECLARE_OPS(prepare)
ART__DECLARE_OPS(check)
ART__DECLARE_OPS(poll)
ART__DECLARE_OPS(async)
ART__DECLARE_OPS(tcp)
ART__DECLARE_OPS(pipe)
ART__DECLARE_OPS(tty)
ART__DECLARE_OPS(udp)
ART__DECLARE_OPS(signal)
ART__DECLARE_OPS(process)
ART__DECLARE_OPS(fs_event)
ART__DECLARE_OPS(fs_poll)

static const art__handle_ops_t *ops_of(art_handle_type type) {
  switch (type) {
  case ART_TIMER:
    return &art__timer_ops;
  case ART_IDLE:
    return &art__idle_ops;
  case ART_PREPARE:
    return &art__prepare_ops;
  case ART_CHECK:
    return &art__check_ops;
  case ART_POLL:
    return &art__poll_ops;
  case ART_ASYNC:
    return &art__async_ops;
  case ART_TCP:
    return &art__tcp_ops;
  case ART_NAMED_PIPE:
    return &art__pipe_ops;
  case ART_TTY:
    return &art__tty_ops;
  case ART_UDP:
    return &art__udp_ops;
  case ART_SIGNAL:
    return &art__signal_ops;
  case ART_PROCESS:
    return &art__process_ops;
  case ART_FS_EVENT:
    return &art__fs_event_ops;
  case ART_FS_POLL:
    return &art__fs_poll_ops;
  default:
    return NULL;
  }
}

/* Stops the handle's type-specific machinery; what must live until the
 * close phase is released by the type's endgame. */
static void close_type(art_handle_t *h) {
  const art__handle_ops_t *ops = ops_of(h->type);
  if (ops != NULL && ops->close != NULL)
    ops->close(h);
}

static void endgame(art_handle_t *h) {
  const art__handle_ops_t *ops = ops_of(h->type);
  if (ops != NULL && ops->endgame != NULL)
    ops->endgame(h);
}

size_t art_handle_size(art_handle_type type) {
  const art__handle_ops_t *ops = ops_of(type);
  return ops != NULL ? ops->size : 0;
}

int art_close(art_handle_t *h, art_close_cb close_cb) {
  if (!art__handle_usable(h))
    return ART_EINVAL;
  h->flags_ |= ART__H_CLOSING;
  h->close_cb_ = close_cb;
  close_type(h);
  art__handle_stop(h);
  h->next_closing_ = h->loop->closing_;
  h->loop->closing_ = h;
  return 0;
}

/* The close phase: finish every handle closed before it started, in the
 * order art_close was called. Handles closed by these callbacks finish in the
 * next iteration's close phase (the poll phase will not block meanwhile). */
void art__run_closing(art_loop_t *loop) {
  art_handle_t *h = loop->closing_;
  art_handle_t *ordered = NULL;
  loop->closing_ = NULL;
  while (h != NULL) { /* the list is a stack: reverse it */
    art_handle_t *next = h->next_closing_;
    h->next_closing_ = ordered;
    ordered = h;
    h = next;
  }
  while (ordered != NULL) {
    h = ordered;
    ordered = h->next_closing_;
    endgame(h);
    art__queue_remove(&h->handle_node_);
    h->flags_ = (h->flags_ & ~ART__H_CLOSING) | ART__H_CLOSED;
    if (h->close_cb_ != NULL) {
      h->close_cb_(h);
      art__drain(loop);
    }
  }
}

int art_is_active(const art_handle_t *h) {
  return h != NULL && (h->flags_ & (ART__H_ACTIVE | ART__H_CLOSING)) != 0;
}

int art_is_closing(const art_handle_t *h) {
  return h != NULL && (h->flags_ & (ART__H_CLOSING | ART__H_CLOSED)) != 0;
}

void art_ref(art_handle_t *h) {
  if (h == NULL || (h->flags_ & ART__H_REF))
    return;
  h->flags_ |= ART__H_REF;
  if (h->flags_ & ART__H_ACTIVE)
    h->loop->active_handles_++;
}

void art_unref(art_handle_t *h) {
  if (h == NULL || !(h->flags_ & ART__H_REF))
    return;
  h->flags_ &= ~ART__H_REF;
  if (h->flags_ & ART__H_ACTIVE)
    h->loop->active_handles_--;
}

int art_has_ref(const art_handle_t *h) {
  return h != NULL && (h->flags_ & ART__H_REF) != 0;
}

void art_walk(art_loop_t *loop, art_walk_cb cb, void *arg) {
  art__queue_t *q, *next;
  if (loop == NULL || cb == NULL)
    return;
  for (q = loop->handles_.next; q != &loop->handles_; q = next) {
    art_handle_t *h = art__container_of(q, art_handle_t, handle_node_);
    next = q->next; /* cb may close h, which does not unlink it yet */
    if (!(h->flags_ & ART__H_INTERNAL))
      cb(h, arg);
  }
}

static void print_one(art_handle_t *h, void *arg) {
  fprintf((FILE *)arg, "[%c%c%c] %-8s %p\n",
          (h->flags_ & ART__H_ACTIVE) ? 'A' : '-',
          (h->flags_ & ART__H_REF) ? 'R' : '-',
          (h->flags_ & ART__H_CLOSING) ? 'C' : '-',
          art_handle_type_name(h->type), (void *)h);
}

void art_print_handles(art_loop_t *loop, FILE *stream) {
  if (loop == NULL)
    return;
  art_walk(loop, print_one, stream ? stream : stderr);
}
