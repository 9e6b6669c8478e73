/* The HTTP/1.1 request parser: see parser.h for the contract.
 *
 * The head is collected byte by byte into a fixed buffer, checking as it
 * goes that every CR is followed by LF and that no bare LF or NUL appears;
 * once the blank line arrives, the complete head is parsed in one pass
 * (request line, then each field), which keeps the syntax rules readable. The
 * body is framed by a small state machine: a countdown for Content-Length,
 * and for chunked the size line, the data, its CRLF, and the trailer
 * section, whose fields are checked and counted but not kept (RFC 9112 7.1.2
 * lets a recipient discard them).
 */
#include "parser.h"

#include <string.h>
#include <strings.h>

/* Where in the message the parser is. */
enum {
  ST_START,         /* before the first byte of a message (CRLFs skipped) */
  ST_HEAD,          /* collecting the head */
  ST_BODY,          /* Content-Length body */
  ST_CHUNK_SIZE,    /* hex digits of a chunk size */
  ST_EXT_BWS,       /* whitespace after the size or a value: ';' must follow */
  ST_EXT_NAME0,     /* after ';': optional whitespace, then a name */
  ST_EXT_NAME,      /* an extension name (token) */
  ST_EXT_NAME_BWS,  /* whitespace after a name: '=' or ';' must follow */
  ST_EXT_VALUE0,    /* after '=': optional whitespace, then a value */
  ST_EXT_TOKEN,     /* a token value */
  ST_EXT_QUOTED,    /* inside a quoted-string value */
  ST_EXT_ESCAPE,    /* after a backslash in a quoted-string */
  ST_EXT_QUOTE_END, /* after the closing quote */
  ST_CHUNK_SIZE_LF,
  ST_CHUNK_DATA,
  ST_CHUNK_DATA_CR, /* the CRLF after chunk data */
  ST_CHUNK_DATA_LF,
  ST_TRAILER_START, /* start of a trailer line, or the final CRLF */
  ST_TRAILER_NAME,
  ST_TRAILER_VALUE,
  ST_TRAILER_LF,
  ST_END_LF,  /* the LF of the final CRLF */
  ST_MSG_END, /* complete: the next call reports HTTP_DONE */
  ST_DONE,    /* HTTP_DONE reported: the next byte starts a new message */
  ST_ERROR
};

/* Longest chunk-size line (size and extensions) accepted. */
#define CHUNK_LINE_MAX 4096

static const char *const method_names[HTTP_METHOD_COUNT] = {
    "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT", "TRACE"};

/* tchar of RFC 9110 5.6.2: the characters of a token. */
static int is_tchar(unsigned char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
      (c >= 'A' && c <= 'Z'))
    return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* field-vchar, SP or HTAB: what a field value may contain. */
static int is_value_char(unsigned char c) {
  return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static int lower(unsigned char c) {
  return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

/* Case-insensitive comparison of s[0..n) with the NUL-terminated lit. */
static int eq_nocase(const char *s, size_t n, const char *lit) {
  size_t i;
  for (i = 0; i < n; i++)
    if (lit[i] == '\0' ||
        lower((unsigned char)s[i]) != lower((unsigned char)lit[i]))
      return 0;
  return lit[n] == '\0';
}

static http_event fail(http_parser_t *p, int status) {
  p->state = ST_ERROR;
  p->status = status;
  return HTTP_ERROR;
}

/* Forgets the previous message; the head buffer is reused. */
static void reset_message(http_parser_t *p) {
  p->state = ST_START;
  p->eol = 0;
  p->line_ended = 0;
  p->head_used = 0;
  p->remaining = 0;
  p->body_total = 0;
  p->chunk_digits = 0;
  p->line_len = 0;
  p->trailer_bytes = 0;
  p->trailer_count = 0;
  p->framing = 0;
  p->req.nheaders = 0;
  p->req.content_length = 0;
  p->req.chunked = 0;
  p->req.keep_alive = 0;
  p->req.expect_continue = 0;
  p->req.target = NULL;
  p->req.target_len = 0;
  p->req.raw_target = NULL;
  p->req.raw_target_len = 0;
  p->req.authority = NULL;
  p->req.authority_len = 0;
  p->req.head_len = 0;
}

void http_parser_init(http_parser_t *p, uint64_t max_body) {
  reset_message(p);
  p->max_body = max_body;
  p->status = 0;
  p->req.method = HTTP_GET;
  p->req.version_minor = 1;
}

/* ------------------------------------------------------------------------ */
/* The request line.                                                        */

/* Parses "METHOD SP target SP HTTP/1.x" in line[0..n). Returns 0 or the
 * status to answer. */
static int parse_method(http_request_t *req, const char *s, size_t n) {
  int m;
  size_t i;
  if (n == 0 || n > 16)
    return 400;
  for (i = 0; i < n; i++)
    if (!is_tchar((unsigned char)s[i]))
      return 400;
  for (m = 0; m < HTTP_METHOD_COUNT; m++) {
    if (strlen(method_names[m]) == n && memcmp(method_names[m], s, n) == 0) {
      req->method = (http_method)m;
      return 0;
    }
  }
  return 501; /* a token, but not a method this server implements */
}

/* "HTTP/" DIGIT "." DIGIT; 1.0 and 1.1 are served, other versions 505. */
static int parse_version(http_request_t *req, const char *s, size_t n) {
  if (n != 8 || memcmp(s, "HTTP/", 5) != 0 || s[6] != '.' || s[5] < '0' ||
      s[5] > '9' || s[7] < '0' || s[7] > '9')
    return 400;
  if (s[5] != '1' || (s[7] != '0' && s[7] != '1'))
    return 505;
  req->version_minor = s[7] - '0';
  return 0;
}

/* An absolute-form target, "http://" or "https://" then the authority and
 * the path-abempty [ "?" query ] (RFC 9112 3.2.2): a server must accept it
 * and take the host from it (RFC 9112 3.2.2 says the Host field is then
 * ignored). The routes see the path and query; an empty path is "/", and
 * an empty path followed by a query has no origin-form in the buffer, so it
 * is refused rather than rewritten. */
static int parse_absolute_form(http_request_t *req) {
  const char *t = req->target, *end = t + req->target_len;
  size_t scheme = req->target_len >= 7 && strncasecmp(t, "http://", 7) == 0 ? 7
                  : req->target_len >= 8 && strncasecmp(t, "https://", 8) == 0
                      ? 8
                      : 0;
  if (scheme == 0)
    return 400; /* origin, absolute or asterisk form only: this is no proxy */
  const char *host = t + scheme, *path = host;
  while (path < end && *path != '/' && *path != '?' && *path != '#')
    path++;
  if (path == host || (path < end && *path != '/'))
    return 400;
  for (const char *c = host; c < path; c++)
    if (*c == '@') /* userinfo is not allowed in an http(s) target */
      return 400;
  req->authority = host;
  req->authority_len = (size_t)(path - host);
  req->target = path < end ? path : "/";
  req->target_len = path < end ? (size_t)(end - path) : 1;
  return 0;
}

static int parse_request_line(http_request_t *req, const char *s, size_t n) {
  const char *sp1 = memchr(s, ' ', n);
  const char *sp2;
  size_t i;
  int st;
  if (sp1 == NULL)
    return 400;
  sp2 = memchr(sp1 + 1, ' ', n - (size_t)(sp1 + 1 - s));
  if (sp2 == NULL || sp2 == sp1 + 1)
    return 400;
  req->target = sp1 + 1;
  req->target_len = (size_t)(sp2 - sp1 - 1);
  for (i = 0; i < req->target_len; i++) {
    unsigned char c = (unsigned char)req->target[i];
    if (c <= 0x20 || c >= 0x7f)
      return 400;
  }
  req->raw_target = req->target;
  req->raw_target_len = req->target_len;
  if (req->target[0] != '/' &&
      !(req->target_len == 1 && req->target[0] == '*') &&
      (st = parse_absolute_form(req)) != 0)
    return st;
  if ((st = parse_version(req, sp2 + 1, n - (size_t)(sp2 + 1 - s))) != 0)
    return st;
  return parse_method(req, s, (size_t)(sp1 - s));
}

/* ------------------------------------------------------------------------ */
/* Header fields and their meaning for framing.                             */

/* What the fields said, gathered while parsing them. */
typedef struct {
  int hosts;           /* Host fields seen */
  int cl_seen;         /* a Content-Length was seen */
  const char *cl_text; /* the first Content-Length value, as sent */
  size_t cl_len;       /* (see cl_text) */
  int te_seen;         /* a Transfer-Encoding was seen */
  int conn_close;      /* Connection: close */
  int conn_keep;       /* Connection: keep-alive */
} field_facts_t;

/* A Content-Length: digits only, no overflow. A repeated one must be the
 * same text: "5" then "05" is refused, as llhttp does, since an
 * intermediary that kept one or the other might read it differently. */
static int on_content_length(http_request_t *req, field_facts_t *f,
                             const char *v, size_t n) {
  uint64_t x = 0;
  size_t i;
  if (f->cl_seen)
    return n == f->cl_len && memcmp(v, f->cl_text, n) == 0 ? 0 : 400;
  if (n == 0 || n > 19)
    return 400; /* 19 digits always fit in 63 bits */
  for (i = 0; i < n; i++) {
    if (v[i] < '0' || v[i] > '9')
      return 400;
    x = x * 10 + (uint64_t)(v[i] - '0');
  }
  f->cl_seen = 1;
  f->cl_text = v;
  f->cl_len = n;
  req->content_length = x;
  return 0;
}

/* Calls fn on each element of a comma-separated list, trimmed; stops at
 * the first non-zero result and returns it. Empty elements ("a,,b", "a,")
 * are skipped as RFC 9110 5.6.1.2 asks, or with strict set refused with
 * 400: the framing fields use strict, because two parsers of a chain that
 * read a framing list differently is how requests get smuggled. */
static int each_element(const char *v, size_t n, int strict, void *ctx,
                        int (*fn)(void *ctx, const char *e, size_t len)) {
  size_t i = 0;
  if (n == 0)
    return 0;
  for (;;) {
    size_t start, end;
    int st;
    while (i < n && (v[i] == ' ' || v[i] == '\t'))
      i++;
    start = i;
    while (i < n && v[i] != ',')
      i++;
    end = i;
    while (end > start && (v[end - 1] == ' ' || v[end - 1] == '\t'))
      end--;
    if (end == start && strict)
      return 400;
    if (end > start && (st = fn(ctx, v + start, end - start)) != 0)
      return st;
    if (i == n)
      return 0;
    i++; /* the comma */
  }
}

/* One transfer coding: chunked must come once and last; others are not
 * implemented here. */
static int te_element(void *ctx, const char *e, size_t n) {
  http_request_t *req = ctx;
  if (req->chunked)
    return 400; /* something after chunked: the body has no framing */
  if (eq_nocase(e, n, "chunked")) {
    req->chunked = 1;
    return 0;
  }
  return 501;
}

static int connection_element(void *ctx, const char *e, size_t n) {
  field_facts_t *f = ctx;
  if (eq_nocase(e, n, "close"))
    f->conn_close = 1;
  else if (eq_nocase(e, n, "keep-alive"))
    f->conn_keep = 1;
  return 0;
}

/* Applies the meaning of one field to the request. */
static int on_field(http_request_t *req, field_facts_t *f,
                    const http_header_t *h) {
  const char *nm = h->name;
  size_t nl = h->name_len;
  if (eq_nocase(nm, nl, "content-length"))
    return on_content_length(req, f, h->value, h->value_len);
  if (eq_nocase(nm, nl, "transfer-encoding")) {
    f->te_seen = 1;
    return each_element(h->value, h->value_len, 1, req, te_element);
  }
  if (eq_nocase(nm, nl, "host"))
    return ++f->hosts > 1 ? 400 : 0;
  if (eq_nocase(nm, nl, "connection"))
    return each_element(h->value, h->value_len, 0, f, connection_element);
  if (eq_nocase(nm, nl, "expect")) {
    if (!eq_nocase(h->value, h->value_len, "100-continue"))
      return 417;
    req->expect_continue = 1;
  }
  return 0;
}

/* Parses one field line s[0..n) (no CRLF) into h. */
static int parse_field(http_header_t *h, const char *s, size_t n) {
  size_t i = 0, end;
  if (s[0] == ' ' || s[0] == '\t')
    return 400; /* obs-fold, refused (RFC 9112 5.2) */
  while (i < n && is_tchar((unsigned char)s[i]))
    i++;
  if (i == 0 || i == n || s[i] != ':')
    return 400; /* no name, or whitespace before the colon */
  h->name = s;
  h->name_len = (uint16_t)i;
  for (i++; i < n && (s[i] == ' ' || s[i] == '\t'); i++)
    ;
  for (end = n; end > i && (s[end - 1] == ' ' || s[end - 1] == '\t'); end--)
    ;
  h->value = s + i;
  h->value_len = (uint16_t)(end - i);
  for (; i < end; i++)
    if (!is_value_char((unsigned char)s[i]))
      return 400;
  return 0;
}

/* The rules that need every field: Host, framing, persistence. */
static int check_fields(http_request_t *req, const field_facts_t *f) {
  if (req->version_minor == 1 && f->hosts == 0)
    return 400;
  if (f->te_seen && f->cl_seen)
    return 400; /* request smuggling: two framings */
  if (f->te_seen && req->version_minor == 0)
    return 400;
  if (f->te_seen && !req->chunked)
    return 400;
  if (req->version_minor == 0)
    req->expect_continue = 0; /* no 1xx for HTTP/1.0 (RFC 9110 15.2) */
  if (req->version_minor == 1)
    req->keep_alive = !f->conn_close;
  else
    req->keep_alive = f->conn_keep && !f->conn_close;
  return 0;
}

/* Parses the complete head in p->head. Returns 0 or the status. */
static int parse_head(http_parser_t *p) {
  http_request_t *req = &p->req;
  const char *s = p->head;
  const char *end = p->head + p->head_used - 2; /* before the final CRLF */
  const char *eol = memchr(s, '\r', (size_t)(end - s));
  field_facts_t f = {0, 0, NULL, 0, 0, 0, 0};
  int st;
  if ((st = parse_request_line(req, s, (size_t)(eol - s))) != 0)
    return st;
  for (s = eol + 2; s < end; s = eol + 2) {
    http_header_t *h = &req->headers[req->nheaders];
    eol = memchr(s, '\r', (size_t)(end - s));
    if (req->nheaders == HTTP_MAX_HEADERS)
      return 431;
    if ((st = parse_field(h, s, (size_t)(eol - s))) != 0)
      return st;
    req->nheaders++;
    if ((st = on_field(req, &f, h)) != 0)
      return st;
  }
  return check_fields(req, &f);
}

/* ------------------------------------------------------------------------ */
/* Collecting the head.                                                     */

/* Sets the body state once the head is parsed. */
static http_event head_complete(http_parser_t *p) {
  int st = parse_head(p);
  if (st != 0)
    return fail(p, st);
  p->req.head_len = p->head_used;
  p->framing += p->head_used;
  if (p->req.chunked) {
    p->state = ST_CHUNK_SIZE;
  } else if (p->req.content_length > p->max_body) {
    return fail(p, 413);
  } else if (p->req.content_length > 0) {
    p->remaining = p->req.content_length;
    p->state = ST_BODY;
  } else {
    p->state = ST_MSG_END;
  }
  return HTTP_HEAD;
}

/* CRLFs before a request line are skipped (RFC 9112 2.2), up to
 * HTTP_HEAD_MAX bytes of them. Returns 1 when the byte was one of them, 0
 * when it starts the head, -1 on a bare CR or LF or too many of them. */
static int skip_leading(http_parser_t *p, unsigned char c) {
  if (c == '\r' || c == '\n') {
    if (++p->framing > HTTP_HEAD_MAX)
      return -1; /* an endless run of empty lines is no request */
  }
  if (p->eol == 1) {
    p->eol = 0;
    return c == '\n' ? 1 : -1;
  }
  if (c == '\r') {
    p->eol = 1;
    return 1;
  }
  return c == '\n' ? -1 : 0;
}

/* Copies the run of ordinary bytes (no CR, LF or NUL) starting at
 * data[i] into the head, as far as there is room, and returns the index
 * after it: most of a head is copied this way, a run at a time. */
static size_t copy_run(http_parser_t *p, const char *data, size_t i,
                       size_t len) {
  size_t room = HTTP_HEAD_MAX - p->head_used;
  size_t end = len - i < room ? len : i + room, j = i;
  while (j < end && data[j] != '\r' && data[j] != '\n' && data[j] != '\0')
    j++;
  if (j > i) {
    memcpy(p->head + p->head_used, data + i, j - i);
    p->head_used += j - i;
    p->eol = 0;
  }
  return j;
}

/* Copies head bytes until the blank line; eol counts the CR LF CR LF seen.
 * Ordinary bytes go in runs; each CR, LF or NUL is checked on its own. */
static http_event head_execute(http_parser_t *p, const char *data, size_t len,
                               size_t *consumed) {
  size_t i = 0;
  while (i < len) {
    unsigned char c;
    if (p->state == ST_HEAD && !(p->eol & 1) &&
        (i = copy_run(p, data, i, len)) == len)
      break;
    c = (unsigned char)data[i++];
    if (p->state == ST_START) {
      int skip = skip_leading(p, c);
      if (skip < 0)
        return fail(p, 400);
      if (skip)
        continue;
      p->state = ST_HEAD;
    }
    if (p->head_used == HTTP_HEAD_MAX)
      return fail(p, p->line_ended ? 431 : 414);
    if (c == 0 || ((p->eol & 1) && c != '\n') || (!(p->eol & 1) && c == '\n'))
      return fail(p, 400); /* NUL, bare CR, bare LF */
    p->head[p->head_used++] = (char)c;
    if (c == '\r') {
      p->eol = p->eol == 2 ? 3 : 1;
    } else if (c == '\n') {
      p->line_ended = 1;
      if (p->eol == 3) {
        *consumed = i;
        return head_complete(p);
      }
      p->eol = 2;
    } else {
      p->eol = 0;
    }
  }
  *consumed = len;
  return HTTP_NEED_MORE;
}

/* ------------------------------------------------------------------------ */
/* Bodies.                                                                  */

/* Hands out up to p->remaining bytes of body as one piece. */
static http_event body_piece(http_parser_t *p, const char *data, size_t len,
                             size_t *consumed, const char **body,
                             size_t *body_len, int next_state) {
  size_t n = len < p->remaining ? len : (size_t)p->remaining;
  if (n == 0) {
    *consumed = 0;
    return HTTP_NEED_MORE;
  }
  p->remaining -= n;
  if (p->remaining == 0)
    p->state = next_state;
  *consumed = n;
  *body = data;
  *body_len = n;
  return HTTP_BODY;
}

static int hex_value(unsigned char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  c = (unsigned char)lower(c);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* qdtext of RFC 9110 5.6.4: what a quoted-string holds unescaped. */
static int is_qdtext(unsigned char c) {
  return c == '\t' || c == ' ' || c == 0x21 || (c >= 0x23 && c <= 0x5b) ||
         (c >= 0x5d && c <= 0x7e) || c >= 0x80;
}

/* After the size, a name or a value: whitespace (then ';' must come), the
 * next extension, or the end of the line. */
static int ext_after_item(unsigned char c) {
  if (c == ' ' || c == '\t')
    return ST_EXT_BWS;
  return c == ';' ? ST_EXT_NAME0 : c == '\r' ? ST_CHUNK_SIZE_LF : -1;
}

/* Where a byte of a chunk-size line leads once the size's digits ended,
 * by the grammar of RFC 9112 7.1.1:
 *   chunk-ext = *( BWS ";" BWS name [ BWS "=" BWS ( token / quoted-string ) ] )
 * Whitespace is allowed only where BWS is, so "5 x" and "5 " are refused as
 * a chunk size followed by garbage. Returns the state, or -1. */
static int chunk_ext_next(int st, unsigned char c) {
  int ws = c == ' ' || c == '\t';
  switch (st) {
  case ST_EXT_BWS:
    return ws ? st : c == ';' ? ST_EXT_NAME0 : -1;
  case ST_EXT_NAME0:
    return ws ? st : is_tchar(c) ? ST_EXT_NAME : -1;
  case ST_EXT_NAME:
    if (is_tchar(c))
      return st;
    if (ws)
      return ST_EXT_NAME_BWS;
    return c == '=' ? ST_EXT_VALUE0 : ext_after_item(c);
  case ST_EXT_NAME_BWS:
    return ws ? st : c == '=' ? ST_EXT_VALUE0 : c == ';' ? ST_EXT_NAME0 : -1;
  case ST_EXT_VALUE0:
    return ws ? st : c == '"' ? ST_EXT_QUOTED : is_tchar(c) ? ST_EXT_TOKEN : -1;
  case ST_EXT_TOKEN:
    return is_tchar(c) ? st : ext_after_item(c);
  case ST_EXT_QUOTED:
    if (c == '"')
      return ST_EXT_QUOTE_END;
    return c == '\\' ? ST_EXT_ESCAPE : is_qdtext(c) ? st : -1;
  case ST_EXT_ESCAPE:
    return is_value_char(c) ? ST_EXT_QUOTED : -1;
  default: /* ST_CHUNK_SIZE or ST_EXT_QUOTE_END */
    return ext_after_item(c);
  }
}

/* One byte of a chunk-size line. Returns 0, or the status on an error. */
static int chunk_size_byte(http_parser_t *p, unsigned char c) {
  int h = hex_value(c), next;
  if (++p->line_len > CHUNK_LINE_MAX)
    return 400;
  if (p->state == ST_CHUNK_SIZE && h >= 0) {
    if (p->remaining >> 56)
      return 400; /* sizes stay under 2^60: no overflow, leading 0s aside */
    p->chunk_digits++;
    p->remaining = (p->remaining << 4) | (uint64_t)h;
    return 0;
  }
  if (p->state == ST_CHUNK_SIZE && p->chunk_digits == 0)
    return 400;
  if ((next = chunk_ext_next(p->state, c)) < 0)
    return 400;
  p->state = next;
  return 0;
}

/* The LF ending a chunk-size line: data follows, or the trailers. */
static int chunk_size_done(http_parser_t *p) {
  p->chunk_digits = 0;
  p->line_len = 0;
  if (p->remaining == 0) {
    p->state = ST_TRAILER_START;
    return 0;
  }
  if (p->remaining > p->max_body - p->body_total)
    return 413;
  p->body_total += p->remaining;
  p->state = ST_CHUNK_DATA;
  return 0;
}

/* One byte of the trailer section. */
static int trailer_byte(http_parser_t *p, unsigned char c) {
  if (++p->trailer_bytes > HTTP_HEAD_MAX)
    return 431;
  switch (p->state) {
  case ST_TRAILER_START:
    if (c == '\r') {
      p->state = ST_END_LF;
      return 0;
    }
    if (++p->trailer_count > HTTP_MAX_HEADERS)
      return 431;
    p->state = ST_TRAILER_NAME;
    return is_tchar(c) ? 0 : 400;
  case ST_TRAILER_NAME:
    if (c == ':')
      p->state = ST_TRAILER_VALUE;
    return c == ':' || is_tchar(c) ? 0 : 400;
  case ST_TRAILER_VALUE:
    if (c == '\r')
      p->state = ST_TRAILER_LF;
    return c == '\r' || is_value_char(c) ? 0 : 400;
  default: /* ST_TRAILER_LF */
    p->state = ST_TRAILER_START;
    return c == '\n' ? 0 : 400;
  }
}

/* One framing byte of a chunked body (everything but chunk data). */
static int chunk_byte(http_parser_t *p, unsigned char c) {
  switch (p->state) {
  case ST_CHUNK_SIZE:
  case ST_EXT_BWS:
  case ST_EXT_NAME0:
  case ST_EXT_NAME:
  case ST_EXT_NAME_BWS:
  case ST_EXT_VALUE0:
  case ST_EXT_TOKEN:
  case ST_EXT_QUOTED:
  case ST_EXT_ESCAPE:
  case ST_EXT_QUOTE_END:
    return chunk_size_byte(p, c);
  case ST_CHUNK_SIZE_LF:
    return c == '\n' ? chunk_size_done(p) : 400;
  case ST_CHUNK_DATA_CR:
    p->state = ST_CHUNK_DATA_LF;
    return c == '\r' ? 0 : 400;
  case ST_CHUNK_DATA_LF:
    p->state = ST_CHUNK_SIZE;
    return c == '\n' ? 0 : 400;
  case ST_END_LF:
    p->state = ST_MSG_END;
    return c == '\n' ? 0 : 400;
  default:
    return trailer_byte(p, c);
  }
}

static http_event chunked_execute(http_parser_t *p, const char *data,
                                  size_t len, size_t *consumed,
                                  const char **body, size_t *body_len) {
  size_t i = 0;
  while (i < len) {
    int st;
    if (p->state == ST_CHUNK_DATA) {
      http_event ev = body_piece(p, data + i, len - i, consumed, body, body_len,
                                 ST_CHUNK_DATA_CR);
      *consumed += i;
      return ev;
    }
    /* Every framing byte counts against the request's total: without
     * this, 1-byte chunks with long extensions stream without end. */
    st = ++p->framing > HTTP_FRAMING_MAX
             ? 413
             : chunk_byte(p, (unsigned char)data[i]);
    i++;
    if (st != 0) {
      *consumed = i;
      return fail(p, st);
    }
    if (p->state == ST_MSG_END) {
      *consumed = i;
      p->state = ST_DONE;
      return HTTP_DONE;
    }
  }
  *consumed = len;
  return HTTP_NEED_MORE;
}

/* ------------------------------------------------------------------------ */
/* The entry point.                                                         */

http_event http_parser_execute(http_parser_t *p, const char *data, size_t len,
                               size_t *consumed, const char **body,
                               size_t *body_len) {
  *consumed = 0;
  *body = NULL;
  *body_len = 0;
  switch (p->state) {
  case ST_ERROR:
    return HTTP_ERROR;
  case ST_MSG_END:
    p->state = ST_DONE;
    return HTTP_DONE;
  case ST_DONE:
    if (len == 0)
      return HTTP_NEED_MORE;
    reset_message(p);
    /* fall through */
  case ST_START:
  case ST_HEAD:
    return head_execute(p, data, len, consumed);
  case ST_BODY:
    return body_piece(p, data, len, consumed, body, body_len, ST_MSG_END);
  default:
    return chunked_execute(p, data, len, consumed, body, body_len);
  }
}

/* ------------------------------------------------------------------------ */
/* Helpers for the server.                                                  */

const http_header_t *http_find_header(const http_request_t *req,
                                      const char *name) {
  unsigned i;
  for (i = 0; i < req->nheaders; i++)
    if (eq_nocase(req->headers[i].name, req->headers[i].name_len, name))
      return &req->headers[i];
  return NULL;
}

const char *http_method_name(http_method m) {
  return (unsigned)m < HTTP_METHOD_COUNT ? method_names[m] : "?";
}

const char *http_status_text(int status) {
  switch (status) {
  case 100:
    return "Continue";
  case 200:
    return "OK";
  case 400:
    return "Bad Request";
  case 403:
    return "Forbidden";
  case 404:
    return "Not Found";
  case 405:
    return "Method Not Allowed";
  case 408:
    return "Request Timeout";
  case 413:
    return "Content Too Large";
  case 414:
    return "URI Too Long";
  case 417:
    return "Expectation Failed";
  case 429:
    return "Too Many Requests";
  case 431:
    return "Request Header Fields Too Large";
  case 500:
    return "Internal Server Error";
  case 501:
    return "Not Implemented";
  case 503:
    return "Service Unavailable";
  case 505:
    return "HTTP Version Not Supported";
  default:
    return "Unknown";
  }
}

int http_parser_idle(const http_parser_t *p) {
  return (p->state == ST_START && p->eol == 0) || p->state == ST_DONE;
}

int http_parser_partial(const http_parser_t *p) {
  return !http_parser_idle(p) && p->state != ST_ERROR;
}
