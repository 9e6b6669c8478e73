/* Frames on the cluster's IPC pipes (the format is in cluster.h).
 *
 * Notes:
 * 1. The reader's buffer starts small and grows to the size of the frame
 *    whose header has arrived, never past ART__CF_HEADER plus
 *    ART_CLUSTER_MAX_MESSAGE: the length is checked before any growth, so
 *    a peer cannot make the other end allocate more than one bounded frame.
 * 2. Handles passed with a frame arrive with its first byte (the kernel
 *    attaches them to the data of the sendmsg that carried them), so by
 *    the time a CONN or HELLO frame is complete its fd waits in the pipe's
 *    list of received handles, in the order the frames were sent.
 */
#include <string.h>

#include "cluster.h"

#define FIRST_CAP 4096
#define MIN_SPACE 512

static size_t frame_size(const unsigned char *h) {
  return ART__CF_HEADER + (size_t)art__get_be32(h);
}

static int grow(art__creader_t *r, size_t need) {
  if (r->cap >= need)
    return 0;
  size_t cap = r->cap ? r->cap : FIRST_CAP;
  while (cap < need)
    cap *= 2;
  if (cap > ART__CF_HEADER + ART_CLUSTER_MAX_MESSAGE)
    cap = ART__CF_HEADER + ART_CLUSTER_MAX_MESSAGE;
  unsigned char *b = art__realloc(r->buf, cap);
  if (b == NULL)
    return ART_ENOMEM;
  r->buf = b;
  r->cap = cap;
  return 0;
}

void art__creader_space(art__creader_t *r, art_buf_t *buf) {
  size_t need = r->len + MIN_SPACE;
  if (r->len - r->off >= ART__CF_HEADER &&
      art__get_be32(r->buf + r->off) <= ART_CLUSTER_MAX_MESSAGE)
    need = r->off + frame_size(r->buf + r->off); /* note 1 */
  if (need > ART__CF_HEADER + ART_CLUSTER_MAX_MESSAGE)
    need = ART__CF_HEADER + ART_CLUSTER_MAX_MESSAGE;
  if (r->cap - r->len < MIN_SPACE && grow(r, need) != 0) {
    *buf = art_buf_init(NULL, 0);
    return;
  }
  if (r->cap == r->len) {
    *buf = art_buf_init(NULL, 0);
    return;
  }
  *buf = art_buf_init((char *)r->buf + r->len, r->cap - r->len);
}

void art__creader_filled(art__creader_t *r, size_t n) {
  r->len += n;
}

static void compact(art__creader_t *r) {
  if (r->off == 0)
    return;
  memmove(r->buf, r->buf + r->off, r->len - r->off);
  r->len -= r->off;
  r->off = 0;
}

int art__creader_next(art__creader_t *r, unsigned allowed, art__cframe_t *f) {
  size_t avail = r->len - r->off;
  if (avail < ART__CF_HEADER) {
    compact(r);
    return 0;
  }
  const unsigned char *h = r->buf + r->off;
  uint32_t len = art__get_be32(h);
  int type = h[4];
  if (len > ART_CLUSTER_MAX_MESSAGE || h[5] || h[6] || h[7] || type > 31 ||
      !(allowed & (1u << type)))
    return ART_EPROTO;
  if (avail < ART__CF_HEADER + (size_t)len) {
    compact(r);
    return 0;
  }
  f->type = type;
  f->payload = h + ART__CF_HEADER;
  f->len = len;
  r->off += ART__CF_HEADER + (size_t)len;
  return 1;
}

void art__creader_free(art__creader_t *r) {
  art__free(r->buf);
  memset(r, 0, sizeof(*r));
}

art__cwrite_t *art__cframe_new(int type, const void *data, size_t len) {
  if (len > ART_CLUSTER_MAX_MESSAGE)
    return NULL;
  art__cwrite_t *w = art__malloc(sizeof(*w) + ART__CF_HEADER + len);
  if (w == NULL)
    return NULL;
  w->owner = NULL;
  w->len = ART__CF_HEADER + len;
  art__put_be32(w->bytes, (uint32_t)len);
  w->bytes[4] = (unsigned char)type;
  w->bytes[5] = w->bytes[6] = w->bytes[7] = 0;
  if (data != NULL && len > 0)
    memcpy(w->bytes + ART__CF_HEADER, data, len);
  return w;
}

static void frame_sent(art_write_t *req, int status) {
  (void)status;
  art__free(art__container_of(req, art__cwrite_t, req));
}

int art__cframe_send(art__cwrite_t *w, art_pipe_t *pipe,
                     art_stream_t *send_handle, art_write_cb cb) {
  if (cb == NULL)
    cb = frame_sent;
  art_buf_t b = art_buf_init((char *)w->bytes, w->len);
  int err = art_write2(&w->req, (art_stream_t *)pipe, &b, 1, send_handle, cb);
  if (err)
    art__free(w);
  return err;
}
