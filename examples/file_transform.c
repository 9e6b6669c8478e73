/* file_transform: read a file, upper-case it, write it out, in chunks, all
 * asynchronously and in constant memory, however large the file.
 *
 *   file_transform INPUT OUTPUT
 *
 * Opening, reading, writing and closing all run on the work pool; the
 * loop thread only upper-cases. SLOTS chunks of CHUNK bytes are in flight
 * at once. Each slot reads its
 * chunk at an explicit offset on the work pool, upper-cases it on the loop
 * thread, writes it at the same offset, then takes the next chunk: the
 * order in which reads and writes complete does not matter, and memory is
 * SLOTS * CHUNK bytes whatever the file size. This is the streaming
 * read -> transform -> write of Node's fs streams, without the streams. */
#include <asyncrt.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

enum { CHUNK = 64 * 1024, SLOTS = 4 };

/* One chunk in flight: its request, buffer and where it is in the file. */
typedef struct {
  art_fs_t req;    /* the read or write now running */
  char buf[CHUNK]; /* the chunk's bytes */
  int64_t off;     /* file offset of buf[0] */
  size_t want;     /* bytes of this chunk still to read */
  size_t have;     /* bytes read into buf so far */
} slot_t;

static art_loop_t *loop;
static int in_fd = -1, out_fd = -1;
static int64_t next_off; /* the first chunk no slot has taken */
static int running;      /* slots still working */
static int failed;       /* first error seen */
static uint64_t total;   /* bytes written */
static slot_t slots[SLOTS];

static art_fs_t open_req;  /* opens, then closes, the two files */
static art_fs_t close_req; /* closes the output while open_req closes input */
static uint64_t t0;        /* when the transfer started */
static int reported;       /* the error was printed already */

static void read_done(art_fs_t *req);
static void finish(void);

/* Notes an error (the first one wins) and ends a slot. */
static void slot_end(int err) {
  if (err < 0 && !failed)
    failed = err;
  if (--running == 0)
    finish();
}

/* Starts reading what is left of the slot's chunk. */
static void start_read(slot_t *s) {
  art_buf_t b = art_buf_init(s->buf + s->have, s->want - s->have);
  int err = art_fs_read(loop, &s->req, in_fd, &b, 1, s->off + (int64_t)s->have,
                        read_done);
  if (err)
    slot_end(err);
}

/* Gives the slot the next chunk of the file. */
static void take_chunk(slot_t *s) {
  s->off = next_off;
  next_off += CHUNK;
  s->want = CHUNK;
  s->have = 0;
  start_read(s);
}

static void write_done(art_fs_t *req) {
  slot_t *s = (slot_t *)req; /* req is the slot's first field */
  ssize_t r = req->result;
  art_fs_req_cleanup(req);
  if (r < 0 || failed) {
    slot_end((int)r);
    return;
  }
  total += (uint64_t)r;
  /* A short read mid-file leaves part of the chunk to fetch; a chunk that
   * ended at the end of the file ends the slot. */
  if (s->have < s->want) {
    s->off += (int64_t)s->have;
    s->want -= s->have;
    s->have = 0;
    start_read(s);
  } else {
    take_chunk(s);
  }
}

static void upper(char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] >= 'a' && p[i] <= 'z')
      p[i] = (char)(p[i] - 'a' + 'A');
}

static void read_done(art_fs_t *req) {
  slot_t *s = (slot_t *)req;
  ssize_t r = req->result;
  art_fs_req_cleanup(req);
  if (r <= 0 || failed) {
    slot_end((int)r); /* 0: the end of the file */
    return;
  }
  upper(s->buf, (size_t)r);
  s->have = (size_t)r;
  art_buf_t b = art_buf_init(s->buf, (size_t)r);
  int err = art_fs_write(loop, req, out_fd, &b, 1, s->off, write_done);
  if (err)
    slot_end(err);
}

/* A file closed; a failed close of the output is a failed write. */
static void closed(art_fs_t *req) {
  if (req->result < 0 && !failed)
    failed = (int)req->result;
  art_fs_req_cleanup(req);
}

/* Every slot is done: close both files. */
static void finish(void) {
  art_fs_close(loop, &open_req, in_fd, closed);
  art_fs_close(loop, &close_req, out_fd, closed);
}

/* Reports an open that failed. */
static int open_failed(art_fs_t *req) {
  if (req->result >= 0)
    return 0;
  fprintf(stderr, "file_transform: %s: %s\n", req->path,
          art_strerror((int)req->result));
  failed = (int)req->result;
  reported = 1;
  return 1;
}

/* The output is open: start SLOTS chunks. */
static void output_open(art_fs_t *req) {
  if (open_failed(req)) {
    art_fs_req_cleanup(req);
    art_fs_close(loop, req, in_fd, closed);
    return;
  }
  out_fd = (int)req->result;
  art_fs_req_cleanup(req);
  t0 = art_hrtime();
  running = SLOTS;
  for (int i = 0; i < SLOTS; i++)
    take_chunk(&slots[i]);
}

/* The input is open: open the output. */
static void input_open(art_fs_t *req) {
  if (open_failed(req)) {
    art_fs_req_cleanup(req);
    return;
  }
  in_fd = (int)req->result;
  const char *out = req->data;
  art_fs_req_cleanup(req);
  art_fs_open(loop, req, out, O_WRONLY | O_CREAT | O_TRUNC, 0644, output_open);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: file_transform INPUT OUTPUT\n");
    return 2;
  }
  loop = art_default_loop();
  open_req.data = argv[2];
  int err = art_fs_open(loop, &open_req, argv[1], O_RDONLY, 0, input_open);
  if (err == 0)
    art_run(loop, ART_RUN_DEFAULT);
  double secs = (double)(art_hrtime() - t0) / 1e9;
  art_loop_close(loop);
  if (err || failed) {
    if (!reported)
      fprintf(stderr, "file_transform: %s\n", art_strerror(err ? err : failed));
    return 1;
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  printf("%llu bytes in %.3f s (%.0f MiB/s), %d x %d KiB in flight, max RSS "
         "%ld KiB\n",
         (unsigned long long)total, secs, (double)total / secs / 1048576.0,
         SLOTS, CHUNK / 1024, ru.ru_maxrss);
  return 0;
}
