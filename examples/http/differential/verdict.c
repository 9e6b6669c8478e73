/* The parser's side of the differential test (run.py, beside this file):
 * reads cases from stdin, one a line as "name TAB hex-bytes", parses each
 * with a fresh parser, and prints "name TAB verdict" for its first message:
 *   accept METHOD TARGET HEADERS BODY   (the last three in hex; HEADERS is
 *                                        "name:value\n" per field)
 *   reject STATUS                       (an error before the message ended)
 *   incomplete                          (the input ended first)
 * node_verdict.js prints the same form for Node's parser; run.py compares
 * the verdicts, not the statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../parser.h"

#define MAX_INPUT (1 << 20)
#define MAX_BODY  (1 << 20)

static void put_hex(const char *s, size_t n) {
  size_t i;
  if (n == 0)
    fputs("-", stdout);
  for (i = 0; i < n; i++)
    printf("%02x", (unsigned char)s[i]);
}

static void print_accept(const http_request_t *r, const char *body,
                         size_t body_len) {
  static char fields[HTTP_HEAD_MAX * 2];
  size_t n = 0;
  unsigned i;
  for (i = 0; i < r->nheaders; i++) {
    const http_header_t *h = &r->headers[i];
    memcpy(fields + n, h->name, h->name_len);
    n += h->name_len;
    fields[n++] = ':';
    memcpy(fields + n, h->value, h->value_len);
    n += h->value_len;
    fields[n++] = '\n';
  }
  printf("accept %s ", http_method_name(r->method));
  put_hex(r->raw_target, r->raw_target_len); /* as Node's req.url */
  putchar(' ');
  put_hex(fields, n);
  putchar(' ');
  put_hex(body, body_len);
}

/* Parses in[0..len) and prints the verdict on its first message. */
static void verdict(const char *in, size_t len) {
  static http_parser_t p;
  static char body[MAX_BODY];
  size_t off = 0, body_len = 0;
  http_parser_init(&p, MAX_BODY);
  for (;;) {
    const char *b;
    size_t n, bl;
    http_event ev = http_parser_execute(&p, in + off, len - off, &n, &b, &bl);
    off += n;
    if (ev == HTTP_BODY) {
      memcpy(body + body_len, b, bl);
      body_len += bl;
    } else if (ev == HTTP_DONE) {
      print_accept(&p.req, body, body_len);
      return;
    } else if (ev == HTTP_ERROR) {
      printf("reject %d", p.status);
      return;
    } else if (ev == HTTP_NEED_MORE) {
      fputs("incomplete", stdout);
      return;
    }
  }
}

static int unhex(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

int main(void) {
  static char line[2 * MAX_INPUT + 256], in[MAX_INPUT];
  while (fgets(line, sizeof(line), stdin) != NULL) {
    char *tab = strchr(line, '\t');
    size_t len = 0;
    const char *h;
    if (tab == NULL)
      return 2;
    *tab = '\0';
    for (h = tab + 1; unhex(h[0]) >= 0 && unhex(h[1]) >= 0 && len < MAX_INPUT;
         h += 2)
      in[len++] = (char)(unhex(h[0]) * 16 + unhex(h[1]));
    printf("%s\t", line);
    verdict(in, len);
    putchar('\n');
  }
  return 0;
}
