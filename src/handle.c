/* The lifecycle every handle shares: init, ref/unref, close and the close
 * phase, walk and debugging output. */
#include "internal.h"

void art__handle_init(art_loop_t *loop, art_handle_t *h,
                      const art__handle_ops_t *ops) {
  h->loop = loop;
  h->type = ops->type;
  h->ops_ = ops;
  h->flags_ = ART__H_REF;
  h->close_cb_ = NULL;
  h->attached_ = NULL;
  h->born_ns_ = loop->time_ns_;
  art__queue_insert_tail(&loop->handles_, &h->handle_node_);
  art__res_init(loop, &h->res_, ART_RESOURCE_HANDLE, (int)ops->type, h);
}

int art__handle_fd(const art_handle_t *h) {
  if (!art__handle_usable(h) || h->ops_->fd == NULL)
    return -1;
  return h->ops_->fd(h);
}

/* ---- Attachments. ---- */

void art__attach(art_handle_t *h, art__attach_t *a,
                 const art__attach_ops_t *ops) {
  a->ops = ops;
  a->next = h->attached_;
  h->attached_ = a;
}

void art__detach(art_handle_t *h, art__attach_t *a) {
  art__attach_t **p = &h->attached_;
  while (*p != NULL && *p != a)
    p = &(*p)->next;
  if (*p != NULL)
    *p = a->next;
  a->next = NULL;
}

art__attach_t *art__attached(const art_handle_t *h,
                             const art__attach_ops_t *ops) {
  art__attach_t *a = h->attached_;
  while (a != NULL && a->ops != ops)
    a = a->next;
  return a;
}

/* Tells every attachment that h is closing. Each is detached first, so
 * its hook may free it. */
static void notify_attached(art_handle_t *h) {
  while (h->attached_ != NULL) {
    art__attach_t *a = h->attached_;
    h->attached_ = a->next;
    a->next = NULL;
    a->ops->closing(a, h);
  }
}

int art_close(art_handle_t *h, art_close_cb close_cb) {
  if (!art__handle_usable(h))
    return ART_EINVAL;
  h->flags_ |= ART__H_CLOSING;
  h->close_cb_ = close_cb;
  h->ops_->close(h);
  art__handle_stop(h);
  /* From the loop's handles to its closing queue, in art_close order. */
  art__queue_remove(&h->handle_node_);
  art__queue_insert_tail(&h->loop->closing_, &h->handle_node_);
  return 0;
}

/* A closing handle whose operations are still in the kernel waits among
 * the open handles (art_walk and the report show it closing, and
 * art_loop_close refuses to close the loop), counted as a request: the
 * loop stays alive, and its poll phase blocks until the completions that
 * end the wait come. */
static void park(art_handle_t *h) {
  art__queue_remove(&h->handle_node_);
  art__queue_insert_tail(&h->loop->handles_, &h->handle_node_);
  h->flags_ |= ART__H_PARKED;
  h->loop->active_reqs_++;
}

void art__handle_unpark(art_handle_t *h) {
  if (!(h->flags_ & ART__H_PARKED))
    return;
  h->flags_ &= ~ART__H_PARKED;
  h->loop->active_reqs_--;
  art__queue_remove(&h->handle_node_);
  art__queue_insert_tail(&h->loop->closing_, &h->handle_node_);
}

/* The close phase: finish every handle closed before it started, the last
 * closed first. That is libuv's order (its closing list is a stack), and so
 * what Node programs observe: sockets destroyed one after another emit
 * 'close' newest first. The queue stays in art_close order for art_walk;
 * the phase takes it from the tail. Handles closed by these callbacks
 * finish in the next iteration's close phase (the poll phase will not block
 * meanwhile). */
void art__run_closing(art_loop_t *loop) {
  art__queue_t local;
  if (art__queue_empty(&loop->closing_))
    return; /* most iterations: nothing closed */
  art__queue_move(&loop->closing_, &local);
  while (!art__queue_empty(&local)) {
    art__queue_t *q = local.prev; /* the newest */
    art_handle_t *h = art__container_of(q, art_handle_t, handle_node_);
    if (h->ops_->busy != NULL && h->ops_->busy(h)) {
      park(h);
      continue;
    }
    notify_attached(h);
    if (h->ops_->endgame != NULL)
      h->ops_->endgame(h);
    art__queue_remove(q);
    h->flags_ = (h->flags_ & ~ART__H_CLOSING) | ART__H_CLOSED;
    uint64_t id = h->res_.id_; /* the close callback may free h */
    if (h->close_cb_ != NULL)
      ART__CALLBACK(h, h->close_cb_, (h));
    art__res_destroy(loop, id);
  }
}

int art_is_active(const art_handle_t *h) {
  return h != NULL && (h->flags_ & (ART__H_ACTIVE | ART__H_CLOSING)) != 0;
}

int art_is_closing(const art_handle_t *h) {
  return h != NULL && (h->flags_ & (ART__H_CLOSING | ART__H_CLOSED)) != 0;
}

int art_fileno(const art_handle_t *h, int *fd) {
  if (h == NULL || fd == NULL || h->loop == NULL || h->ops_->fd == NULL)
    return ART_EINVAL;
  int n = art__handle_fd(h);
  if (n < 0)
    return ART_EBADF;
  *fd = n;
  return 0;
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

/* Calls cb for the handles of list from first up to last (both
 * included; NULL: to the end). cb may close the handle it is given, which
 * moves it to the closing queue: the next link is read first. */
static void walk_list(art__queue_t *list, art__queue_t *last, art_walk_cb cb,
                      void *arg) {
  art__queue_t *q, *next;
  for (q = list->next; q != list; q = next) {
    art_handle_t *h = art__container_of(q, art_handle_t, handle_node_);
    next = q == last ? list : q->next;
    if (!(h->flags_ & ART__H_INTERNAL))
      cb(h, arg);
  }
}

/* Open handles in the order they were initialised, then closing ones in
 * the order they were closed. A handle the callback closes joins the
 * closing queue after the part of it that will be walked, so no handle is
 * seen twice. */
void art_walk(art_loop_t *loop, art_walk_cb cb, void *arg) {
  if (loop == NULL || cb == NULL)
    return;
  art__queue_t *last_closing =
      art__queue_empty(&loop->closing_) ? NULL : loop->closing_.prev;
  walk_list(&loop->handles_, NULL, cb, arg);
  if (last_closing != NULL)
    walk_list(&loop->closing_, last_closing, cb, arg);
}

static void print_one(art_handle_t *h, void *arg) {
  fprintf((FILE *)arg, "[%c%c%c] %-8s %p\n",
          (h->flags_ & ART__H_ACTIVE) ? 'A' : '-',
          (h->flags_ & ART__H_REF) ? 'R' : '-',
          (h->flags_ & ART__H_CLOSING) ? 'C' : '-', h->ops_->name, (void *)h);
}

void art_print_handles(art_loop_t *loop, FILE *stream) {
  if (loop == NULL)
    return;
  art_walk(loop, print_one, stream ? stream : stderr);
}
