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

#include <sys/socket.h>

#include "../internal.h"

#define ART__CF_HEADER 8

enum {
  ART__CF_HELLO = 1, /* primary -> worker: slot, mode, id (+ listener) */
  ART__CF_READY = 2, /* worker -> primary: serving */
  ART__CF_MSG = 3,   /* either way: the user's bytes */
  ART__CF_CONN = 4,  /* primary -> worker: a connection (its fd attached) */
  ART__CF_STOP = 5,  /* primary -> worker: drain and exit */
  ART__CF_ACK = 6    /* worker -> primary: CONNs handled (count, 4 bytes) */
};

/* CONN frames a worker may have unacknowledged: the primary deals to the
 * others while a worker is this far behind. */
#define ART__CF_WINDOW 8

/* HELLO's payload: slot (4 bytes), mode (4), id (8), the listen backlog
 * (4), all big-endian. */
#define ART__CF_HELLO_LEN 20

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

/* ---- The primary's records (primary.c; launch.c starts them). ---- */

enum { R_STARTING = 1, R_READY, R_DRAINING, R_EXITED };

typedef struct record_s record_t;

struct art__cluster_slot {
  unsigned index;      /* in slots_ */
  record_t *current;   /* the slot's worker, starting or ready */
  record_t *next;      /* reload: its replacement until ready */
  unsigned failures;   /* short-lived ones in a row (primary.c, 4) */
  int started;         /* a worker was started here before */
  art_timer_t restart; /* the backoff */
  art_tcp_t listener;  /* reuseport: its socket (primary.c, 2) */
};

/* One worker process, from spawn until all its handles closed. */
struct record_s {
  art_cluster_t *c;
  unsigned slot;
  uint64_t id; /* the worker's ART_CLUSTER_ENV value */
  int pid;
  int state;        /* R_* */
  unsigned handles; /* of proc, ipc, timer not yet closed */
  uint64_t started; /* loop time at spawn, ms */
  art_process_t proc;
  art_pipe_t ipc;
  art_timer_t timer; /* ready timeout during a reload, then the grace */
  art__creader_t reader;
  unsigned inflight;   /* CONN frames not yet acknowledged */
  int eof;             /* the pipe was read to its end, or given up on */
  int reported;        /* on_exit ran */
  int64_t exit_status; /* kept from the exit for on_exit */
  int term_signal;     /* likewise */
  int64_t restart;     /* likewise: the delay before the slot's next one */
};

typedef struct art__cluster_slot slot_t;

/* The length of an IPv4 or IPv6 address, 0 for anything else. */
socklen_t art__cluster_addr_len(const struct sockaddr *a) ART__HIDDEN;
/* Opens n listening sockets on the cluster's address (SO_REUSEPORT in that
 * mode) into fds; the first fixes the port (written back to addr_) that
 * the others share. 0, or the error with nothing left open. */
int art__cluster_open_sockets(art_cluster_t *c, int *fds,
                              unsigned n) ART__HIDDEN;
/* Spawns r's worker: options.file and args, the environment with r's
 * marker, stdio inherited, r->ipc as fd 3. art_spawn's result; once
 * art_spawn was called, r->proc is initialised (either way) and its data
 * is r; ART_ENOMEM before that leaves it untouched. */
int art__cluster_spawn(record_t *r, art_exit_cb exit_cb) ART__HIDDEN;

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
