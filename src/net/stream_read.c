/* Reading a stream by system calls: what readiness runs when the fd is
 * readable, and what completion reads (stream_ring.c) run to drain a
 * socket that filled a whole pool buffer. Below stream.c and
 * stream_ring.c, which both call it.
 *
 * Reads go on until a short read, EAGAIN or MAX_READS reads in one
 * wakeup, so one busy stream cannot starve the others; an fd that cannot
 * be polled (a regular file) reads on while its reads come back full.
 */
#include <unistd.h>

#include "stream.h"

#define MAX_READS 32

void art__stream_halt_reading(art_stream_t *s) {
  s->stream_flags_ &= ~ART__S_READING;
  art__io_stop(s->loop, &s->io_, ART_READABLE);
  if (!(s->stream_flags_ & ART__S_LISTENING))
    art__handle_stop((art_handle_t *)s);
}

/* One read from the fd, or the type's own (an IPC pipe's recvmsg). */
static ssize_t read_once(art_stream_t *s, char *base, size_t len) {
  ssize_t n;
  const art__stream_ops_t *ops = art__stream_ops(s);
  if (ops->recv != NULL)
    return ops->recv(s, base, len);
  do
    n = read(s->io_.fd, base, len);
  while (n == -1 && errno == EINTR);
  return n;
}

/* A receive in the ring (stream_ring.c) takes the socket's next bytes: a
 * read callback that paused and resumed the stream armed one, and a
 * read(2) beside it would hand later bytes over before them. */
static int ring_receives(const art_stream_t *s) {
  return s->ring_ != NULL && art__op_in_flight(&s->ring_->recv);
}

void art__stream_read_some(art_stream_t *s) {
  for (int i = 0; i < MAX_READS && art__stream_still_reading(s); i++) {
    if (ring_receives(s))
      return;
    art_buf_t buf;
    if (art__stream_take_buffer(s, &buf) != 1)
      return;
    ssize_t n = read_once(s, buf.base, buf.len);
    if (n < 0) {
      int err = errno == EWOULDBLOCK ? 0 : -errno;
      if (err != 0)
        art__stream_halt_reading(s);
      art__stream_read_cb(s, err, &buf);
      return;
    }
    if (n == 0) {
      s->stream_flags_ &= ~ART__S_READABLE;
      art__stream_halt_reading(s);
      art__stream_read_cb(s, ART_EOF, &buf);
      return;
    }
    art__stream_read_cb(s, n, &buf);
    if ((size_t)n < buf.len && !(s->stream_flags_ & ART__S_FILE))
      return;
  }
}
