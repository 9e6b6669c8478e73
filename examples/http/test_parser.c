/* The HTTP example's request parser (parser.c, beside this file): every
 * rule of its contract with the status it must give, and incrementality:
 * each input fed whole, split at every byte boundary, and one byte at a
 * time must give the same transcript of events. It uses the library's test
 * harness (test/helpers/harness.h) only for ART_TEST and the per-test
 * ctest entries; the parser itself needs no loop. */
#include <stdlib.h>
#include <string.h>

#include "helpers/harness.h"
#include "parser.h"

#define MAX_BODY 1024

/* Events of one parse, written as text so that runs compare with strcmp. */
typedef struct {
  char text[65536];
  size_t len;
  char body[4096]; /* body of the current message, joined */
  size_t body_len;
  int error; /* the status once HTTP_ERROR was seen */
} transcript_t;

static void put(transcript_t *t, const char *s, size_t n) {
  size_t room = sizeof(t->text) - 1 - t->len; /* len never passes size - 1 */
  if (n > room)
    n = room;
  memcpy(t->text + t->len, s, n);
  t->len += n;
  t->text[t->len] = '\0';
}

static void put_head(transcript_t *t, const http_request_t *r) {
  char line[256];
  unsigned i;
  snprintf(line, sizeof(line), "%s %.*s 1.%d ka=%d ch=%d cl=%llu ec=%d [",
           http_method_name(r->method), (int)r->target_len, r->target,
           r->version_minor, r->keep_alive, r->chunked,
           (unsigned long long)r->content_length, r->expect_continue);
  put(t, line, strlen(line));
  for (i = 0; i < r->nheaders; i++) {
    put(t, r->headers[i].name, r->headers[i].name_len);
    put(t, "=", 1);
    put(t, r->headers[i].value, r->headers[i].value_len);
    put(t, ";", 1);
  }
  put(t, "]", 1);
}

/* Feeds one piece, handling every event until the parser wants more. */
static void feed(http_parser_t *p, transcript_t *t, const char *data,
                 size_t len) {
  size_t off = 0;
  while (!t->error) {
    const char *b;
    size_t n, bl;
    http_event ev = http_parser_execute(p, data + off, len - off, &n, &b, &bl);
    assert_true(n <= len - off);
    off += n;
    if (ev == HTTP_NEED_MORE) {
      assert_int_equal(off, len);
      return;
    }
    if (ev == HTTP_HEAD) {
      put(t, "H:", 2);
      put_head(t, &p->req);
    } else if (ev == HTTP_BODY) {
      assert_true(b >= data && b + bl <= data + len && bl > 0);
      assert_true(t->body_len + bl <= sizeof(t->body));
      memcpy(t->body + t->body_len, b, bl);
      t->body_len += bl;
    } else if (ev == HTTP_DONE) {
      put(t, " B:", 3);
      put(t, t->body, t->body_len);
      put(t, " D|", 3);
      t->body_len = 0;
    } else {
      char e[32];
      t->error = p->status;
      snprintf(e, sizeof(e), "E:%d", p->status);
      put(t, e, strlen(e));
    }
  }
}

/* Parses in[0..len) cut at the given points (ascending, 0 < cut < len). */
static void parse_cut(transcript_t *t, const char *in, size_t len,
                      const size_t *cuts, size_t ncuts) {
  static http_parser_t p;
  size_t prev = 0, i;
  http_parser_init(&p, MAX_BODY);
  memset(t, 0, sizeof(*t));
  for (i = 0; i <= ncuts; i++) {
    size_t end = i < ncuts ? cuts[i] : len;
    feed(&p, t, in + prev, end - prev);
    prev = end;
  }
  if (t->error) { /* the error state is sticky */
    size_t n, bl;
    const char *b;
    assert_int_equal(http_parser_execute(&p, "GET", 3, &n, &b, &bl),
                     HTTP_ERROR);
  }
}

/* Whole, every two-way split, and byte by byte must agree. */
static void check_incremental(const char *in, size_t len, const char *whole) {
  static transcript_t t;
  size_t k, step = len > 16384 ? 1009 : len > 1024 ? 37 : 1;
  size_t *cuts = malloc((len + 1) * sizeof(size_t));
  assert_non_null(cuts);
  for (k = 1; k < len; k += step) {
    parse_cut(&t, in, len, &k, 1);
    if (strcmp(t.text, whole) != 0)
      fail_msg("split at %zu:\n  %s\nvs\n  %s", k, t.text, whole);
  }
  for (k = 1; k < len; k++)
    cuts[k - 1] = k;
  parse_cut(&t, in, len, cuts, len > 0 ? len - 1 : 0);
  assert_string_equal(t.text, whole);
  free(cuts);
}

typedef struct {
  const char *in;
  size_t len;
  int status;         /* 0: valid */
  const char *expect; /* for valid inputs: the transcript (NULL: skip) */
} parse_case_t;

#define IN(s) s, sizeof(s) - 1

static void run_case(const parse_case_t *c) {
  static transcript_t t;
  parse_cut(&t, c->in, c->len, NULL, 0);
  if (t.error != c->status)
    fail_msg("input %.60s...: status %d, expected %d (%s)", c->in, t.error,
             c->status, t.text);
  if (c->expect != NULL)
    assert_string_equal(t.text, c->expect);
  check_incremental(c->in, c->len, t.text);
}

#define H11 "Host: a\r\n"

static const parse_case_t valid[] = {
    {IN("GET / HTTP/1.1\r\n" H11 "\r\n"), 0,
     "H:GET / 1.1 ka=1 ch=0 cl=0 ec=0 [Host=a;] B: D|"},
    {IN("GET /api/slow?ms=5 HTTP/1.1\r\nHost:  x.y:80 \t\r\nX-A:\r\n\r\n"), 0,
     "H:GET /api/slow?ms=5 1.1 ka=1 ch=0 cl=0 ec=0 [Host=x.y:80;X-A=;] B: D|"},
    {IN("GET / HTTP/1.0\r\n\r\n"), 0,
     "H:GET / 1.0 ka=0 ch=0 cl=0 ec=0 [] B: D|"},
    {IN("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n"), 0,
     "H:GET / 1.0 ka=1 ch=0 cl=0 ec=0 [Connection=Keep-Alive;] B: D|"},
    {IN("GET / HTTP/1.1\r\n" H11 "Connection: foo, close\r\n\r\n"), 0,
     "H:GET / 1.1 ka=0 ch=0 cl=0 ec=0 [Host=a;Connection=foo, close;] B: D|"},
    {IN("POST /api/echo HTTP/1.1\r\n" H11 "Content-Length: 5\r\n\r\nhello"), 0,
     "H:POST /api/echo 1.1 ka=1 ch=0 cl=5 ec=0 [Host=a;Content-Length=5;] "
     "B:hello D|"},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 3\r\nContent-Length: "
        "3\r\n\r\nabc"),
     0, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n1A;ext=1;q=\"x\"\r\nabcdefghijklmnopqrstuvwxyz\r\n"
        "0\r\nX-Sum: 1\r\nX-T:\t2\r\n\r\n"),
     0,
     "H:POST / 1.1 ka=1 ch=1 cl=0 ec=0 [Host=a;Transfer-Encoding=chunked;] "
     "B:helloabcdefghijklmnopqrstuvwxyz D|"},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: CHUNKED\r\n\r\n"
        "a ;x\r\n0123456789\r\n0\r\n\r\n"),
     0, NULL},
    /* chunk-ext: BWS around ';' and '=', token and quoted values */
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "2\t; a = b ;c; d=\"q \\\"x\\\\\" ;e\r\nhi\r\n0;z\r\n\r\n"),
     0,
     "H:POST / 1.1 ka=1 ch=1 cl=0 ec=0 [Host=a;Transfer-Encoding=chunked;] "
     "B:hi D|"},
    /* leading zeros do not count against the size's 60 bits */
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "00000000000000000002\r\nhi\r\n0\r\n\r\n"),
     0, NULL},
    /* empty elements of a list other than Transfer-Encoding are ignored */
    {IN("GET / HTTP/1.1\r\n" H11 "Connection: , close,\r\n\r\n"), 0,
     "H:GET / 1.1 ka=0 ch=0 cl=0 ec=0 [Host=a;Connection=, close,;] B: D|"},
    {IN("PUT /up HTTP/1.1\r\n" H11 "Expect: 100-Continue\r\nContent-Length: "
        "2\r\n\r\nok"),
     0,
     "H:PUT /up 1.1 ka=1 ch=0 cl=2 ec=1 [Host=a;Expect=100-Continue;"
     "Content-Length=2;] B:ok D|"},
    /* pipelining: three messages in one buffer, bodies of both framings */
    {IN("GET /1 HTTP/1.1\r\n" H11 "\r\nPOST /2 HTTP/1.1\r\n" H11
        "Content-Length: 2\r\n\r\nhiPOST /3 HTTP/1.1\r\n" H11
        "Transfer-Encoding: chunked\r\n\r\n2\r\nyo\r\n0\r\n\r\n"
        "\r\nDELETE /4 HTTP/1.1\r\n" H11 "Connection: close\r\n\r\n"),
     0,
     "H:GET /1 1.1 ka=1 ch=0 cl=0 ec=0 [Host=a;] B: D|"
     "H:POST /2 1.1 ka=1 ch=0 cl=2 ec=0 [Host=a;Content-Length=2;] B:hi D|"
     "H:POST /3 1.1 ka=1 ch=1 cl=0 ec=0 [Host=a;Transfer-Encoding=chunked;] "
     "B:yo D|"
     "H:DELETE /4 1.1 ka=0 ch=0 cl=0 ec=0 [Host=a;Connection=close;] B: D|"},
    {IN("\r\n\r\nOPTIONS * HTTP/1.1\r\n" H11 "\r\n"), 0,
     "H:OPTIONS * 1.1 ka=1 ch=0 cl=0 ec=0 [Host=a;] B: D|"},
    {IN("GET / HTTP/1.1\r\n" H11 "X-Bin: caf\xc3\xa9\r\n\r\n"), 0, NULL},
    {IN("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n"
        "\r\nx"),
     0,
     "H:POST / 1.0 ka=0 ch=0 cl=1 ec=0 [Expect=100-continue;Content-Length=1;"
     "] B:x D|"},
    {IN("HEAD /x HTTP/1.1\r\n" H11 "Content-Length: 0\r\n\r\n"), 0, NULL},
};

static const parse_case_t invalid[] = {
    /* framing: two framings, bad or conflicting Content-Length */
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 5\r\nTransfer-Encoding: "
        "chunked\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\nContent-"
        "Length: 5\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: -1\r\n\r\n"), 400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: +1\r\n\r\n"), 400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 1 2\r\n\r\n"), 400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 5,5\r\n\r\n"), 400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length:\r\n\r\n"), 400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 0x10\r\n\r\n"), 400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 18446744073709551616\r\n"
        "\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 99999999999999999999999"
        "\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 3\r\nContent-Length: "
        "4\r\n\r\n"),
     400, NULL},
    /* the same length in another text: refused like llhttp */
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 5\r\nContent-Length: "
        "05\r\n\r\nhello"),
     400, NULL},
    /* bare CR, bare LF, NUL anywhere in the head */
    {IN("GET / HTTP/1.1\r" H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 "\r\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\n" H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\nHost: a\n\n"), 400, NULL},
    {IN("\nGET / HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("\rGET / HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET /\0 HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n"), 400, NULL},
    {IN("\0"), 400, NULL},
    /* methods */
    {IN("G(T / HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN(" / HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("GETTTTTTTTTTTTTTTTT / HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET\t/ HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("BREW / HTTP/1.1\r\n" H11 "\r\n"), 501, NULL},
    {IN("get / HTTP/1.1\r\n" H11 "\r\n"), 501, NULL},
    /* request line and versions */
    {IN("GET /\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET  / HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1 \r\n" H11 "\r\n"), 400, NULL},
    {IN("GET / http/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/1.x\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/11\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/2.0\r\n" H11 "\r\n"), 505, NULL},
    {IN("GET / HTTP/1.2\r\n" H11 "\r\n"), 505, NULL},
    {IN("GET x HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    {IN("GET /\x7f HTTP/1.1\r\n" H11 "\r\n"), 400, NULL},
    /* fields */
    {IN("GET / HTTP/1.1\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 H11 "\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\nHost : a\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 "X: a\r\n b\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 ": a\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 "X a\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 "X: a\x01\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 "X: a\x7f\r\n\r\n"), 400, NULL},
    {IN("GET / HTTP/1.1\r\n" H11 "Expect: 200-ok\r\n\r\n"), 417, NULL},
    /* transfer codings */
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: gzip\r\n\r\n"), 501,
     NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n"),
     501, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: \r\n\r\n"), 400, NULL},
    /* empty list elements in the framing field */
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked,\r\n\r\n"
        "0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: ,chunked\r\n\r\n"
        "0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: \t, chunked\r\n\r\n"
        "0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), 400, NULL},
    /* chunked framing */
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "zz\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5\r\nhelloX\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5\nhello\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "1000000000000000\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "-1\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "1;a\x01\r\n"),
     400, NULL},
    /* a chunk size, then anything but chunk-ext */
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5 x\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5 \r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5x\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;a b\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;a=\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;a=b c\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;a=\"b\"c\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;a=\"b\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;a=\"b\\\x01\"\r\nhello\r\n0\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "5;a\r\nhello\r\n0 \r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "0\r\nBad Trailer: x\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "0\r\nT: \x02\r\n\r\n"),
     400, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "0\r\n\rX"),
     400, NULL},
    /* body limits (MAX_BODY is 1024 here) */
    {IN("POST / HTTP/1.1\r\n" H11 "Content-Length: 1025\r\n\r\n"), 413, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "401\r\n"),
     413, NULL},
    {IN("POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n"
        "3\r\nabc\r\n3FE\r\n"),
     413, NULL},
};

ART_TEST(valid_requests) {
  size_t i;
  for (i = 0; i < ART_ARRAY_SIZE(valid); i++)
    run_case(&valid[i]);
}

ART_TEST(malformed_requests_get_their_status) {
  size_t i;
  for (i = 0; i < ART_ARRAY_SIZE(invalid); i++)
    run_case(&invalid[i]);
}

/* Builds "GET / HTTP/1.1\r\nHost: a\r\n" + nfields "X-n: v" lines, padded
 * so the whole head is exactly head_len bytes (when head_len allows). */
static size_t build_head(char *buf, unsigned nfields, size_t head_len) {
  size_t n = (size_t)sprintf(buf, "GET / HTTP/1.1\r\n" H11);
  unsigned i;
  for (i = 0; i < nfields; i++)
    n += (size_t)sprintf(buf + n, "X-%u: v\r\n", i);
  if (head_len > n + 2) {
    size_t pad = head_len - n - 2 - 6; /* "P: " + "\r\n" + one byte min */
    memcpy(buf + n, "P: ", 3);
    memset(buf + n + 3, 'p', pad + 1);
    memcpy(buf + n + 4 + pad, "\r\n", 2);
    n += pad + 6;
  }
  memcpy(buf + n, "\r\n", 2);
  return n + 2;
}

ART_TEST(head_limits_give_431_and_414) {
  static char buf[HTTP_HEAD_MAX * 2];
  parse_case_t c = {buf, 0, 0, NULL};
  c.len = build_head(buf, 0, HTTP_HEAD_MAX); /* exactly at the limit */
  assert_int_equal(c.len, HTTP_HEAD_MAX);
  run_case(&c);
  c.len = build_head(buf, 0, HTTP_HEAD_MAX + 1);
  c.status = 431;
  run_case(&c);
  c.len = build_head(buf, 99, 0); /* 100 fields with Host */
  c.status = 0;
  run_case(&c);
  c.len = build_head(buf, 100, 0);
  c.status = 431;
  run_case(&c);
  memcpy(buf, "GET /", 5); /* a request line that fills the buffer */
  memset(buf + 5, 'a', HTTP_HEAD_MAX + 10);
  c.len = HTTP_HEAD_MAX + 15;
  c.status = 414;
  run_case(&c);
}

ART_TEST(trailer_limits_give_431) {
  static char buf[HTTP_HEAD_MAX * 2];
  parse_case_t c = {buf, 0, 431, NULL};
  size_t n = (size_t)sprintf(buf, "POST / HTTP/1.1\r\n" H11
                                  "Transfer-Encoding: chunked\r\n\r\n0\r\n");
  size_t i;
  for (i = 0; i <= HTTP_MAX_HEADERS; i++)
    n += (size_t)sprintf(buf + n, "T%zu: v\r\n", i);
  c.len = (size_t)sprintf(buf + n, "\r\n") + n;
  run_case(&c);
  n = (size_t)sprintf(buf, "POST / HTTP/1.1\r\n" H11
                           "Transfer-Encoding: chunked\r\n\r\n0\r\nT: ");
  memset(buf + n, 'v', HTTP_HEAD_MAX);
  c.len = n + HTTP_HEAD_MAX;
  run_case(&c);
}

ART_TEST(body_exactly_at_limit_is_accepted) {
  static char buf[MAX_BODY + 256];
  parse_case_t c = {buf, 0, 0, NULL};
  size_t n = (size_t)sprintf(
      buf, "POST / HTTP/1.1\r\n" H11 "Content-Length: %d\r\n\r\n", MAX_BODY);
  memset(buf + n, 'b', MAX_BODY);
  c.len = n + MAX_BODY;
  run_case(&c);
  n = (size_t)sprintf(
      buf, "POST / HTTP/1.1\r\n" H11 "Transfer-Encoding: chunked\r\n\r\n%x\r\n",
      MAX_BODY);
  memset(buf + n, 'b', MAX_BODY);
  n += MAX_BODY;
  c.len = n + (size_t)sprintf(buf + n, "\r\n0\r\n\r\n");
  run_case(&c);
}

/* A chunked request whose head and framing add up to exactly `framing`
 * bytes: 1-byte chunks with 3,000-byte extensions (each line under the
 * per-line limit), then a last chunk whose extension pads to the total. */
static size_t build_framing(char *buf, size_t framing) {
  size_t n = (size_t)sprintf(buf, "POST / HTTP/1.1\r\n" H11
                                  "Transfer-Encoding: chunked\r\n\r\n");
  size_t rem = framing - n, k;
  while (rem > 4000) { /* each costs 4 + 3000 + CRLF + CRLF after data */
    memcpy(buf + n, "1;e=", 4);
    memset(buf + n + 4, 'v', 3000);
    memcpy(buf + n + 3004, "\r\nx\r\n", 5);
    n += 3009;
    rem -= 3008;
  }
  k = rem - 8; /* "0;p=" k bytes "\r\n" "\r\n" */
  memcpy(buf + n, "0;p=", 4);
  memset(buf + n + 4, 'p', k);
  memcpy(buf + n + 4 + k, "\r\n\r\n", 4);
  return n + 8 + k;
}

/* Chunk lines, extensions and trailers count against HTTP_FRAMING_MAX with
 * the head: exactly at it passes, one byte more is 413, wherever the byte
 * falls (an extension here, a trailer below). */
ART_TEST(framing_total_is_bounded_with_413) {
  static char buf[HTTP_FRAMING_MAX + 1024];
  parse_case_t c = {buf, 0, 0, NULL};
  size_t n;
  c.len = build_framing(buf, HTTP_FRAMING_MAX);
  run_case(&c);
  c.len = build_framing(buf, HTTP_FRAMING_MAX + 1);
  c.status = 413;
  run_case(&c);
  /* the same total crossed in the trailer section */
  c.len = build_framing(buf, HTTP_FRAMING_MAX - 20);
  n = c.len - 2; /* before the final CRLF */
  memcpy(buf + n, "T: 0123456789012345\r\n\r\n", 23);
  c.len = n + 23; /* 21 bytes of trailer: one over */
  run_case(&c);
  c.len -= 1; /* 20 bytes: exactly at the total */
  memcpy(buf + c.len - 4, "\r\n\r\n", 4);
  c.status = 0;
  run_case(&c);
}

/* Empty lines before a request are skipped, but not without end. */
ART_TEST(leading_empty_lines_are_bounded) {
  static char buf[HTTP_HEAD_MAX + 64];
  parse_case_t c = {buf, 0, 0, NULL};
  size_t i;
  for (i = 0; i < HTTP_HEAD_MAX / 2; i++)
    memcpy(buf + 2 * i, "\r\n", 2);
  c.len = HTTP_HEAD_MAX +
          (size_t)sprintf(buf + HTTP_HEAD_MAX, "GET / HTTP/1.1\r\n" H11 "\r\n");
  run_case(&c);
  memmove(buf + 2, buf, c.len);
  c.len += 2;
  c.status = 400;
  run_case(&c);
}

/* Head fields stay valid after HTTP_DONE until more bytes arrive, which is
 * what lets a server answer a request after its body was consumed. */
ART_TEST(head_survives_until_next_message) {
  static http_parser_t p;
  const char *in =
      "GET /a HTTP/1.1\r\n" H11 "\r\nGET /b HTTP/1.1\r\n" H11 "\r\n";
  const char *b;
  size_t n, bl, off = 0;
  http_parser_init(&p, 0);
  assert_true(http_parser_idle(&p));
  assert_int_equal(http_parser_execute(&p, in, 10, &n, &b, &bl),
                   HTTP_NEED_MORE);
  assert_true(http_parser_partial(&p));
  off = n;
  assert_int_equal(
      http_parser_execute(&p, in + off, strlen(in) - off, &n, &b, &bl),
      HTTP_HEAD);
  off += n;
  assert_int_equal(http_parser_execute(&p, in + off, 0, &n, &b, &bl),
                   HTTP_DONE);
  assert_int_equal(http_parser_execute(&p, in + off, 0, &n, &b, &bl),
                   HTTP_NEED_MORE);
  assert_true(http_parser_idle(&p));
  assert_memory_equal(p.req.target, "/a", 2);
  assert_non_null(http_find_header(&p.req, "HOST"));
  assert_null(http_find_header(&p.req, "Hos"));
  assert_int_equal(
      http_parser_execute(&p, in + off, strlen(in) - off, &n, &b, &bl),
      HTTP_HEAD);
  assert_memory_equal(p.req.target, "/b", 2);
  assert_string_equal(http_status_text(431), "Request Header Fields Too Large");
  assert_string_equal(http_status_text(999), "Unknown");
  assert_string_equal(http_method_name(HTTP_METHOD_COUNT), "?");
}

/* Parses one request head; returns the parser's result. */
static http_event head_of(http_parser_t *p, const char *in) {
  size_t n;
  const char *b;
  size_t bl;
  http_parser_init(p, 0);
  return http_parser_execute(p, in, strlen(in), &n, &b, &bl);
}

ART_TEST(absolute_form_target_gives_the_routes_its_path) {
  http_parser_t p;
  assert_int_equal(head_of(&p, "GET http://ex.am:80/api/fast?x=1 HTTP/1.1\r\n"
                               "Host: ex.am\r\n\r\n"),
                   HTTP_HEAD);
  assert_int_equal(p.req.target_len, strlen("/api/fast?x=1"));
  assert_memory_equal(p.req.target, "/api/fast?x=1", p.req.target_len);
  assert_int_equal(p.req.authority_len, strlen("ex.am:80"));
  assert_memory_equal(p.req.authority, "ex.am:80", p.req.authority_len);
  assert_int_equal(p.req.raw_target_len,
                   strlen("http://ex.am:80/api/fast?x=1"));
  /* Scheme in any case; an empty path is "/". */
  assert_int_equal(head_of(&p, "GET HTTPS://a HTTP/1.1\r\nHost: a\r\n\r\n"),
                   HTTP_HEAD);
  assert_int_equal(p.req.target_len, 1);
  assert_memory_equal(p.req.target, "/", 1);
  /* Origin-form has no authority. */
  assert_int_equal(head_of(&p, "GET /a HTTP/1.1\r\nHost: a\r\n\r\n"),
                   HTTP_HEAD);
  assert_null(p.req.authority);
  /* Refused: other schemes, no host, userinfo, a query with no path. */
  static const char *const bad[] = {
      "GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET http://a?q HTTP/1.1\r\nHost: a\r\n\r\n",
      "GET x HTTP/1.1\r\nHost: a\r\n\r\n",
  };
  for (size_t i = 0; i < ART_ARRAY_SIZE(bad); i++) {
    assert_int_equal(head_of(&p, bad[i]), HTTP_ERROR);
    assert_int_equal(p.status, 400);
  }
}
