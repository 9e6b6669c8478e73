/* libFuzzer target for the HTTP request parser.
 *
 * Build and run (test/run.sh does this when clang is present):
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined \
 *     examples/http/fuzz_parser.c examples/http/parser.c -o fuzz_parser
 *   ./fuzz_parser -max_total_time=60 examples/http/corpus
 *
 * Beyond "never crash", each input is parsed twice, once whole and once cut
 * into pieces whose size the first byte chooses, and the two runs must
 * report the same events, heads, bodies and status: the parser's promise
 * that it is incremental.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser.h"

/* A running digest of what a parse reported. */
typedef struct {
  uint64_t hash;
  unsigned events;
  int status;
} digest_t;

static void mix(digest_t *d, const void *p, size_t n) {
  const unsigned char *b = p;
  size_t i;
  for (i = 0; i < n; i++)
    d->hash = (d->hash ^ b[i]) * 1099511628211ull; /* FNV-1a */
}

static void mix_head(digest_t *d, const http_request_t *r) {
  unsigned i;
  int v[5] = {(int)r->method, r->version_minor, r->keep_alive, r->chunked,
              r->expect_continue};
  mix(d, v, sizeof(v));
  mix(d, &r->content_length, sizeof(r->content_length));
  mix(d, r->target, r->target_len);
  for (i = 0; i < r->nheaders; i++) {
    mix(d, r->headers[i].name, r->headers[i].name_len);
    mix(d, r->headers[i].value, r->headers[i].value_len);
  }
}

/* Parses data in pieces of at most step bytes. */
static void parse(const uint8_t *data, size_t size, size_t step,
                  uint64_t max_body, digest_t *d) {
  static http_parser_t p;
  size_t off = 0;
  http_parser_init(&p, max_body);
  memset(d, 0, sizeof(*d));
  while (off <= size) {
    size_t end = size - off < step ? size : off + step, n, bl;
    const char *b;
    http_event ev = http_parser_execute(&p, (const char *)data + off, end - off,
                                        &n, &b, &bl);
    if (n > end - off)
      abort();
    off += n;
    d->events++;
    if (ev == HTTP_ERROR) {
      d->status = p.status;
      return;
    }
    if (ev == HTTP_HEAD)
      mix_head(d, &p.req);
    else if (ev == HTTP_BODY)
      mix(d, b, bl); /* pieces differ, their bytes in order do not */
    else if (ev == HTTP_DONE)
      mix(d, "D", 1);
    else if (off == size)
      return;
    if (ev == HTTP_BODY || ev == HTTP_NEED_MORE)
      d->events--; /* how bodies are cut depends on the pieces */
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  digest_t whole, cut;
  size_t step;
  uint64_t max_body;
  if (size < 1)
    return 0;
  step = (size_t)(data[0] & 0x0f) + 1;
  max_body = (data[0] & 0x10) ? 64 : 1 << 20;
  parse(data + 1, size - 1, size, max_body, &whole);
  parse(data + 1, size - 1, step, max_body, &cut);
  if (whole.hash != cut.hash || whole.events != cut.events ||
      whole.status != cut.status)
    abort();
  return 0;
}
