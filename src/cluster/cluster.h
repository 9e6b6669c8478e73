/* The cluster area's internal interface: the frames that primary and
 * workers exchange over their IPC pipe, and the primary's records.
 *
 * A frame is an 8-byte header, then its payload:
 *   bytes 0-3  payload length, big-endian, at most ART_CLUSTER_MAX_MESSAGE
 *   byte  4    type (ART__CF_*)
 *   bytes 5-7  zero
 * Both ends treat the other as outside input: a length above the bound, a
 * non-zero reserved byte, a type the direction does not carry, or a
 * payload of the wrong size for its type cuts the channel. */
#ifndef ART_CLUSTER_CLUSTER_H
#define ART_CLUSTER_CLUSTER_H

#include "../internal.h"

#define ART__CF_HEADER 8

enum {
  ART__CF_HELLO = 1, /* primary -> worker: slot, mode, id (+ listener) */
  ART__CF_READY = 2, /* worker -> primary: serving */
  ART__CF_MSG = 3,   /* either way: the user's bytes */
  ART__CF_CONN = 4,  /* primary -> worker: a connection (its fd attached) */
  ART__CF_STOP = 5,  /* primary -> worker: drain and exit */
  ART__CF_ACK = 6    /* worker -> primary: a CONN was handled */
};

/* CONN frames a worker may have unacknowledged: the primary deals to the
 * others while a worker is this far behind. */
#define ART__CF_WINDOW 8

/* HELLO's payload: slot (4 bytes), mode (4), id (8), all big-endian. */
#define ART__CF_HELLO_LEN 16

/* A frame taken from a reader: valid until the reader is touched again. */
typedef struct {
  int type;
  const unsigned char *payload;
  size_t len;
} art__cframe_t;

/* Reassembles frames from a byte stream in one growing buffer, bounded by
 * the largest frame. */
typedef struct {
  unsigned char *buf; /* bytes read and not consumed */
  size_t len;         /* bytes in buf */
  size_t cap;         /* size of buf */
  size_t off;         /* start of the first unconsumed frame */
} art__creader_t;

/* Space to read into (grown to hold the frame whose header is in); buf->len
 * is 0 when the memory could not be had. */
void art__creader_space(art__creader_t *r, art_buf_t *buf) ART__HIDDEN;
/* Counts n bytes read into the space. */
void art__creader_filled(art__creader_t *r, size_t n) ART__HIDDEN;
/* The next complete frame: 1 and *f, 0 when more bytes are needed,
 * ART_EPROTO for a frame outside the format (allowed: a bit mask of
 * 1 << type this end accepts). Compacts the buffer when it returns 0. */
int art__creader_next(art__creader_t *r, unsigned allowed,
                      art__cframe_t *f) ART__HIDDEN;
void art__creader_free(art__creader_t *r) ART__HIDDEN;

/* One frame being written: the request, the header and the payload in
 * one allocation, freed by the write's callback. */
typedef struct {
  art_write_t req;
  void *owner; /* the sender's record, for the callback */
  size_t len;  /* header plus payload */
  unsigned char bytes[];
} art__cwrite_t;

/* Allocates a frame of type with len bytes of payload (copied from data
 * when it is not NULL); NULL when out of memory. */
art__cwrite_t *art__cframe_new(int type, const void *data,
                               size_t len) ART__HIDDEN;
/* Writes the frame (with send_handle's fd when not NULL) on pipe; on
 * failure the frame is freed and the error returned. cb must free it; a
 * NULL cb frees it and ignores the result (the pipe's reader sees a peer
 * that went away). */
int art__cframe_send(art__cwrite_t *w, art_pipe_t *pipe,
                     art_stream_t *send_handle, art_write_cb cb) ART__HIDDEN;

/* Big-endian fields. */
static inline void art__put_be32(unsigned char *p, uint32_t v) {
  p[0] = (unsigned char)(v >> 24);
  p[1] = (unsigned char)(v >> 16);
  p[2] = (unsigned char)(v >> 8);
  p[3] = (unsigned char)v;
}

static inline uint32_t art__get_be32(const unsigned char *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         p[3];
}

#endif
