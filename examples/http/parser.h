/* A small, strict, incremental HTTP/1.1 request parser (RFC 9110/9112).
 *
 * It is fed whatever bytes arrived, in pieces of any size, and reports one
 * event per call: the head is complete, a piece of body, the message is
 * complete, or an error with the status code to answer. Memory is fixed: the
 * head is copied into a buffer inside the parser (HTTP_HEAD_MAX bytes), body
 * bytes are never copied (a body event points into the caller's input), and
 * nothing is ever allocated.
 *
 * What it refuses, and with which status:
 *   400  bare CR, bare LF or NUL in the head; a malformed request line,
 *        method or version; a malformed header field or obs-fold; no Host in
 *        HTTP/1.1 or several; Content-Length together with
 *        Transfer-Encoding; a Content-Length that is not digits, overflows,
 *        or is repeated with a different text ("5" then "05" too, as
 *        llhttp); an empty element in Transfer-Encoding ("chunked,",
 *        ",chunked"); chunked framing errors, among them a chunk-size line
 *        that is not 1*HEXDIG then optional chunk-ext (RFC 9112 7.1.1:
 *        whitespace only before a ';', so "5 x" and "5 " are refused); over
 *        HTTP_HEAD_MAX bytes of empty lines before a request line.
 *   413  a body larger than the configured maximum (at the head for
 *        Content-Length, as soon as the running total passes it for
 *        chunked); a request whose head and chunked framing (size lines,
 *        extensions, CRLFs after data, trailers) pass HTTP_FRAMING_MAX
 *        bytes. RFC 9112 7.1.1 asks for "an appropriate 4xx" when chunk
 *        extensions are too long; 413 is what Node answers for its own
 *        chunk-extension limit, and the excess is in the content's framing,
 *        not in a header field (431) or the target (414).
 *   414  a request line that alone fills the head buffer.
 *   417  an Expect other than 100-continue.
 *   431  a head or trailer section over HTTP_HEAD_MAX bytes, or over
 *        HTTP_MAX_HEADERS fields.
 *   501  a well-formed method it does not know; a transfer coding other than
 *        chunked.
 *   505  a well-formed version other than 1.0 and 1.1.
 * Where a request breaks two rules, the first one met in its bytes decides.
 * After an error the parser stays in the error state; the connection must
 * answer and close, since the framing of what follows is unknown.
 */
#ifndef HTTP_PARSER_H
#define HTTP_PARSER_H

#include <stddef.h>
#include <stdint.h>

#define HTTP_HEAD_MAX    8192 /* bytes of request line + headers + CRLFs */
#define HTTP_MAX_HEADERS 100  /* header fields (and trailer fields) */
/* Bytes of head and framing one request may use in all: the head, and for
 * a chunked body every chunk-size line with its extensions, the CRLF after
 * each chunk's data, and the trailer section. With it the bytes one request
 * makes the parser read are bounded by max_body + HTTP_FRAMING_MAX. 64 KiB
 * still lets a client stream in small writes: some 13,000 1-byte chunks. */
#define HTTP_FRAMING_MAX 65536

/* What one call of http_parser_execute reports. */
typedef enum {
  HTTP_NEED_MORE = 0, /* every byte given was consumed; feed more */
  HTTP_HEAD,          /* the head is complete: p->req is valid */
  HTTP_BODY,          /* a piece of body: see the body argument */
  HTTP_DONE,          /* the message is complete */
  HTTP_ERROR          /* malformed or over a limit: p->status says how */
} http_event;

typedef enum {
  HTTP_DELETE,
  HTTP_GET,
  HTTP_HEAD_METHOD,
  HTTP_OPTIONS,
  HTTP_PATCH,
  HTTP_POST,
  HTTP_PUT,
  HTTP_TRACE,
  HTTP_METHOD_COUNT
} http_method;

/* A header field: both strings point into the parser's head buffer and are
 * not NUL-terminated. The value has no leading or trailing whitespace. */
typedef struct {
  const char *name;
  const char *value;
  uint16_t name_len;
  uint16_t value_len;
} http_header_t;

/* The request head, valid from HTTP_HEAD until the call that starts the next
 * message (the first call after HTTP_DONE). */
typedef struct {
  http_method method;
  /* The path and query the routes see (origin-form), not NUL-terminated:
   * for an absolute-form request-target ("http://host/p?q", RFC 9112
   * 3.2.2) its path and query, with the host in authority. */
  const char *target;
  size_t target_len;
  const char *raw_target; /* the request-target as sent */
  size_t raw_target_len;
  const char *authority; /* absolute-form only, else NULL */
  size_t authority_len;
  int version_minor;       /* 0 or 1 (HTTP/1.x) */
  unsigned nheaders;       /* entries of headers[] in use */
  uint64_t content_length; /* body length when not chunked */
  int chunked;             /* Transfer-Encoding: chunked */
  int keep_alive;          /* the connection may carry another request */
  int expect_continue;     /* Expect: 100-continue was sent */
  size_t head_len;         /* bytes of the head, terminator included */
  http_header_t headers[HTTP_MAX_HEADERS]; /* in arrival order */
} http_request_t;

/* The parser. Caller-allocated; all fields are private except req and
 * status. The small fields come first and the buffers last, with the used
 * part of each at its start, so that a small request touches few pages. */
typedef struct {
  int status;               /* after HTTP_ERROR: the status to answer */
  uint64_t max_body;        /* 413 past this many body bytes */
  int state;                /* where in the message we are (parser.c) */
  int eol;                  /* head: 0, or 1 after CR, 2 after CRLF */
  int line_ended;           /* the request line is complete */
  size_t head_used;         /* bytes in head[] */
  uint64_t remaining;       /* body bytes left: in the body or the chunk */
  uint64_t body_total;      /* body bytes seen so far (chunked limit) */
  int chunk_digits;         /* hex digits read of the chunk size */
  size_t line_len;          /* bytes of the current chunk-size line */
  size_t trailer_bytes;     /* bytes of the trailer section so far */
  size_t framing;           /* head and framing bytes of this request */
  unsigned trailer_count;   /* trailer fields so far */
  http_request_t req;       /* the current request */
  char head[HTTP_HEAD_MAX]; /* the head being collected */
} http_parser_t;

/* Prepares p for a new connection; bodies over max_body give 413. */
void http_parser_init(http_parser_t *p, uint64_t max_body);

/* Consumes up to len bytes of data and reports the first event met. *consumed
 * says how many bytes were used (the rest must be given again later). On
 * HTTP_BODY, *body and *body_len give the piece, inside data. HTTP_ERROR
 * repeats on every later call. */
http_event http_parser_execute(http_parser_t *p, const char *data, size_t len,
                               size_t *consumed, const char **body,
                               size_t *body_len);

/* Finds a header by case-insensitive name; NULL if absent. */
const http_header_t *http_find_header(const http_request_t *req,
                                      const char *name);

/* "GET", "POST", ... */
const char *http_method_name(http_method m);

/* "OK", "Not Found", ... for a status code; "Unknown" otherwise. */
const char *http_status_text(int status);

/* Non-zero once the parser finished a message and expects the next one (or
 * has seen nothing yet): a good moment to close an idle connection. */
int http_parser_idle(const http_parser_t *p);

/* Non-zero if the parser has seen bytes of a message not yet complete. */
int http_parser_partial(const http_parser_t *p);

#endif
