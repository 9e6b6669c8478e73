/* The diagnostic report (art_loop_report): one JSON document describing a
 * loop. It reads every area (handles of each type, the pool, the file
 * system's histogram), so it sits in the catalog, the one layer allowed to
 * know them all.
 *
 * The writer never allocates: it copies what fits into the caller's buffer
 * and counts the rest, so the same pass answers a size query. Numbers are
 * formatted into a small local array; strings are escaped as JSON requires
 * (quote, backslash, control characters). */
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "asyncrt/fs.h"
#include "asyncrt/observe.h"
#include "asyncrt/stream.h"
#include "asyncrt/threadpool.h"
#include "internal.h"
#include "pool/pool.h"

#define DEPTH_MAX 8

typedef struct {
  char *buf;
  size_t cap; /* bytes of buf usable */
  size_t len; /* bytes produced, also those that did not fit */
  int depth;
  int after_key;                      /* the next value follows a key */
  unsigned char more[DEPTH_MAX + 1u]; /* a value was written at that depth */
} out_t;

static void put(out_t *o, const char *s, size_t n) {
  for (size_t i = 0; i < n; i++, o->len++)
    if (o->len < o->cap)
      o->buf[o->len] = s[i];
}

static void putc_(out_t *o, char c) {
  put(o, &c, 1);
}

static void putf(out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void putf(out_t *o, const char *fmt, ...) {
  char tmp[64]; /* numbers only: always fits */
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0)
    put(o, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A comma before every value but the first of its object or array. */
static void sep(out_t *o) {
  if (o->after_key) {
    o->after_key = 0;
    return;
  }
  if (o->more[o->depth])
    putc_(o, ',');
  o->more[o->depth] = 1;
}

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0:
 * no overlong forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n) {
  size_t len;
  unsigned cp;
  if (s[0] >= 0xc2 && s[0] <= 0xdf) {
    len = 2;
    cp = s[0] & 0x1fu;
  } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
    len = 3;
    cp = s[0] & 0x0fu;
  } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
    len = 4;
    cp = s[0] & 0x07u;
  } else {
    return 0;
  }
  if (len > n)
    return 0;
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = cp << 6 | (s[i] & 0x3fu);
  }
  static const unsigned least[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < least[len] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  return len;
}

/* n bytes as a JSON string. Quote, backslash and control characters
 * (NUL too: an abstract socket name starts with one) are escaped; bytes
 * that are not UTF-8 (a file name may hold any) become U+FFFD, so the
 * document stays valid whatever names the program used. */
static void put_strn(out_t *o, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  const unsigned char *u = (const unsigned char *)s;
  putc_(o, '"');
  for (size_t i = 0; i < n;) {
    unsigned char c = u[i];
    size_t len;
    if (c == '"' || c == '\\') {
      putc_(o, '\\');
      putc_(o, (char)c);
      i++;
    } else if (c < 0x20 || c == 0x7f) {
      char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
      put(o, e, sizeof(e));
      i++;
    } else if (c < 0x80) {
      putc_(o, (char)c);
      i++;
    } else if ((len = utf8_len(u + i, n - i)) != 0) {
      put(o, s + i, len);
      i += len;
    } else {
      put(o, "\\ufffd", 6);
      i++;
    }
  }
  putc_(o, '"');
}

static void put_str(out_t *o, const char *s) {
  put_strn(o, s, s != NULL ? strlen(s) : 0);
}

static void begin(out_t *o, char c) {
  sep(o);
  putc_(o, c);
  o->depth++; /* the document nests at most DEPTH_MAX deep */
  o->more[o->depth] = 0;
}

static void end(out_t *o, char c) {
  o->depth--;
  putc_(o, c);
}

static void key(out_t *o, const char *k) {
  sep(o);
  put_str(o, k);
  putc_(o, ':');
  o->after_key = 1;
}

static void obj(out_t *o, const char *k) {
  key(o, k);
  begin(o, '{');
}

static void u64(out_t *o, const char *k, uint64_t v) {
  key(o, k);
  sep(o);
  putf(o, "%" PRIu64, v);
}

static void i64(out_t *o, const char *k, int64_t v) {
  key(o, k);
  sep(o);
  putf(o, "%" PRId64, v);
}

static void boolean(out_t *o, const char *k, int v) {
  key(o, k);
  sep(o);
  put(o, v ? "true" : "false", v ? 4 : 5);
}

static void str(out_t *o, const char *k, const char *v) {
  key(o, k);
  sep(o);
  put_str(o, v);
}

static void strn(out_t *o, const char *k, const char *v, size_t n) {
  key(o, k);
  sep(o);
  put_strn(o, v, n);
}

static void null(out_t *o, const char *k) {
  key(o, k);
  sep(o);
  put(o, "null", 4);
}

/* A histogram's summary in ns, or null when there is none. */
static void hist(out_t *o, const char *k, const art_histogram_t *h) {
  if (h == NULL) {
    null(o, k);
    return;
  }
  obj(o, k);
  u64(o, "count", art_histogram_count(h));
  u64(o, "min", art_histogram_min(h));
  u64(o, "p50", art_histogram_percentile(h, 50));
  u64(o, "p90", art_histogram_percentile(h, 90));
  u64(o, "p99", art_histogram_percentile(h, 99));
  u64(o, "max", art_histogram_max(h));
  u64(o, "mean", (uint64_t)art_histogram_mean(h));
  end(o, '}');
}

static void header(out_t *o, art_loop_t *loop) {
  obj(o, "header");
  str(o, "version", art_version_string());
  str(o, "backend", art_backend_name(loop));
  i64(o, "pid", (int64_t)getpid());
  u64(o, "hrtime_ns", art_hrtime());
  u64(o, "loop_time_ms", art_now(loop));
  str(o, "phase", art_phase_name(art_loop_phase(loop)));
  boolean(o, "alive", art_loop_alive(loop));
  end(o, '}');
}

/* The path a pipe is bound to or a file watcher watches, into buf; its
 * length, or -1 when it has none. */
static ssize_t handle_path(art_handle_t *h, char *buf, size_t cap) {
  size_t n = cap;
  int err;
  switch (h->type) {
  case ART_NAMED_PIPE:
    err = art_pipe_getsockname((art_pipe_t *)h, buf, &n);
    break;
  case ART_FS_EVENT:
    err = art_fs_event_getpath((art_fs_event_t *)h, buf, &n);
    break;
  case ART_FS_POLL:
    err = art_fs_poll_getpath((art_fs_poll_t *)h, buf, &n);
    break;
  default:
    return -1;
  }
  return err == 0 && n > 0 && n < cap ? (ssize_t)n : -1;
}

static void handle(out_t *o, art_loop_t *loop, art_handle_t *h) {
  char id[2 + 2 * sizeof(uintptr_t) + 1];
  snprintf(id, sizeof(id), "0x%" PRIxPTR, (uintptr_t)h);
  begin(o, '{');
  str(o, "type", h->ops_->name);
  str(o, "id", id);
  if (h->res_.id_ != 0)
    u64(o, "observer_id", h->res_.id_);
  boolean(o, "active", (h->flags_ & ART__H_ACTIVE) != 0);
  boolean(o, "ref", (h->flags_ & ART__H_REF) != 0);
  boolean(o, "closing", (h->flags_ & ART__H_CLOSING) != 0);
  boolean(o, "internal", (h->flags_ & ART__H_INTERNAL) != 0);
  int fd = (h->flags_ & ART__H_CLOSING) ? -1 : art__handle_fd(h);
  if (fd >= 0)
    i64(o, "fd", fd);
  if (h->type == ART_TIMER && (h->flags_ & ART__H_ACTIVE))
    u64(o, "due_in_ms", art_timer_get_due_in((art_timer_t *)h));
  /* On the loop's clock, as the handle's birth: the manual one if set. */
  u64(o, "age_ms", (loop->time_ns_ - h->born_ns_) / 1000000);
  char path[4096];
  ssize_t n =
      (h->flags_ & ART__H_CLOSING) ? -1 : handle_path(h, path, sizeof(path));
  if (n >= 0)
    strn(o, "path", path, (size_t)n);
  end(o, '}');
}

/* Every handle, the library's own (internal) too: open ones in the order
 * they were initialised, then closing ones in the order they were closed. */
static void handles(out_t *o, art_loop_t *loop) {
  const art__queue_t *lists[] = {&loop->handles_, &loop->closing_};
  key(o, "handles");
  begin(o, '[');
  for (size_t i = 0; i < 2; i++)
    for (art__queue_t *q = lists[i]->next; q != lists[i]; q = q->next)
      handle(o, loop, art__container_of(q, art_handle_t, handle_node_));
  end(o, ']');
}

static void queues(out_t *o, art_loop_t *loop) {
  obj(o, "requests");
  u64(o, "active", loop->active_reqs_);
  obj(o, "by_type"); /* only the types with requests in flight */
  for (int t = 0; t < ART_REQ_TYPE_MAX; t++)
    if (loop->reqs_by_type_[t] > 0)
      u64(o, art_req_type_name((art_req_type)t), loop->reqs_by_type_[t]);
  end(o, '}');
  end(o, '}');
  obj(o, "timers");
  u64(o, "count", loop->timer_count_);
  if (loop->timer_count_ > 0) {
    /* Signed: a negative figure is a timer already overdue. */
    int64_t left =
        (int64_t)(loop->timer_heap_[0].due - art_loop_clock_ns(loop));
    i64(o, "next_due_in_ms", left / 1000000);
  } else {
    null(o, "next_due_in_ms");
  }
  end(o, '}');
  u64(o, "ticks", loop->ticks_.count);
  u64(o, "microtasks", loop->microtasks_.count);
  size_t n = 0;
  for (art__queue_t *q = loop->immediates_.next; q != &loop->immediates_;
       q = q->next)
    n++;
  obj(o, "immediates");
  u64(o, "pending", n);
  u64(o, "referenced", loop->immediate_refs_);
  end(o, '}');
}

static void pool(out_t *o, art_loop_t *loop) {
  static const char *const lanes[ART_LANE_COUNT] = {"cpu", "fs", "slow"};
  art_pool_t *p = art__loop_pool_peek(loop);
  art_pool_stats_t s;
  if (p == NULL || art_pool_stats(p, &s) != 0) {
    null(o, "pool"); /* not started: looking must not start it */
    return;
  }
  obj(o, "pool");
  u64(o, "threads", s.threads);
  u64(o, "idle", s.idle);
  u64(o, "busy", s.running);
  obj(o, "queued");
  for (int l = 0; l < ART_LANE_COUNT; l++)
    u64(o, lanes[l], s.queued[l]);
  end(o, '}');
  u64(o, "completed", s.completed);
  u64(o, "canceled", s.canceled);
  obj(o, "histograms");
  for (int l = 0; l < ART_LANE_COUNT; l++) {
    art_histogram_t wait, run;
    obj(o, lanes[l]);
    if (art_pool_histograms(p, (art_lane)l, &wait, &run) == 0) {
      hist(o, "wait", &wait);
      hist(o, "run", &run);
    }
    end(o, '}');
  }
  end(o, '}');
  end(o, '}');
}

static void metrics(out_t *o, art_loop_t *loop) {
  art_loop_metrics_t m;
  double util = 0;
  art_loop_metrics(loop, &m);
  art_loop_utilization(NULL, &m, &util);
  obj(o, "metrics");
  u64(o, "iterations", m.iterations);
  u64(o, "events", m.events);
  u64(o, "idle_time_ns", m.idle_time_ns);
  key(o, "utilization");
  sep(o);
  putf(o, "%.4f", util);
  obj(o, "phase_time_ns");
  for (int p = 0; p < ART_PHASE_NONE; p++)
    u64(o, art_phase_name((art_phase)p), m.phase_time_ns[p]);
  end(o, '}');
  u64(o, "timers_fired", m.timers_fired);
  u64(o, "timer_lag_sum_ms", m.timer_lag_sum_ms);
  u64(o, "timer_lag_max_ms", m.timer_lag_max_ms);
  end(o, '}');
}

static void histograms(out_t *o, art_loop_t *loop) {
  obj(o, "histograms");
  if (art_loop_phase_histogram(loop, ART_PHASE_TIMERS) == NULL) {
    null(o, "phases"); /* ART_LOOP_MEASURE_PHASES never turned on */
  } else {
    obj(o, "phases");
    for (int p = 0; p < ART_PHASE_NONE; p++)
      hist(o, art_phase_name((art_phase)p),
           art_loop_phase_histogram(loop, (art_phase)p));
    end(o, '}');
  }
  hist(o, "fs_latency", art_fs_latency(loop));
  hist(o, "loop_delay", art__loop_delay_histogram(loop));
  hist(o, "callbacks", art__callback_histogram(loop));
  end(o, '}');
}

/* The buffer pool socket receives land in on io_uring (null on a backend
 * without one): its shape, and how often it ran dry (those receives read
 * their sockets directly: a pool too small for the load, not lost data). */
static void read_pool(out_t *o, art_loop_t *loop) {
  art__pool_stats_t s;
  if (art__io_pool_stats(loop, &s) != 0) {
    null(o, "read_pool");
    return;
  }
  obj(o, "read_pool");
  u64(o, "buffers", s.count);
  u64(o, "buffer_size", s.size);
  boolean(o, "made", s.made);
  u64(o, "dry_receives", s.dry);
  end(o, '}');
}

int art_loop_report(art_loop_t *loop, char *buf, size_t *size) {
  if (!art__loop_usable(loop) || size == NULL || (buf == NULL && *size != 0))
    return ART_EINVAL;
  out_t o = {.buf = buf, .cap = buf != NULL ? *size : 0};
  begin(&o, '{');
  header(&o, loop);
  handles(&o, loop);
  queues(&o, loop);
  pool(&o, loop);
  read_pool(&o, loop);
  metrics(&o, loop);
  histograms(&o, loop);
  end(&o, '}');
  putc_(&o, '\n');
  if (o.len + 1 > o.cap) {
    *size = o.len + 1;
    return ART_ENOBUFS;
  }
  buf[o.len] = '\0';
  *size = o.len;
  return 0;
}
