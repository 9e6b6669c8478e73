/* Resolves the host names given on the command line, all at once, on the
 * work pool's slow lane, and prints the addresses of each in the order the
 * names were given (lookups may finish in any order).
 *
 *   dns_lookup [-4|-6] [-r] name...
 *
 *   -4, -6   only IPv4 or only IPv6 addresses
 *   -r       also look up the name of each address (getnameinfo)
 *
 * Exits 0 if every name resolved, 1 otherwise.
 */
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <asyncrt.h>

/* One name being resolved, and what came back. */
typedef struct {
  art_getaddrinfo_t req;      /* the lookup */
  const char *name;           /* as given */
  int status;                 /* its result */
  char addrs[1024];           /* the addresses, space-separated */
  art_getnameinfo_t rreq;     /* reverse lookup of the first address */
  char rname[ART_NI_MAXHOST]; /* its result, or "" */
} lookup_t;

static int reverse;

static void on_name(art_getnameinfo_t *req, int status, const char *host,
                    const char *service) {
  lookup_t *l = req->data;
  (void)service;
  snprintf(l->rname, sizeof(l->rname), "%s",
           status == 0 ? host : art_err_name(status));
}

/* True if the space-separated list holds word. */
static int has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; (p = strstr(p, word)) != NULL; p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ' ' || p[n] == '\0'))
      return 1;
  return 0;
}

/* Appends each distinct address of the list to l->addrs. */
static void collect(lookup_t *l, struct addrinfo *res) {
  size_t used = 0;
  for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
    char ip[ART_IP_NAME_MAX];
    if (art_ip_name(ai->ai_addr, ip, sizeof(ip)) != 0)
      continue;
    if (has_word(l->addrs, ip)) /* one per socket type: skip repeats */
      continue;
    int n = snprintf(l->addrs + used, sizeof(l->addrs) - used, "%s%s",
                     used ? " " : "", ip);
    if (n < 0 || (size_t)n >= sizeof(l->addrs) - used)
      break;
    used += (size_t)n;
  }
}

static void on_resolved(art_getaddrinfo_t *req, int status,
                        struct addrinfo *res) {
  lookup_t *l = req->data;
  l->status = status;
  if (status == 0) {
    collect(l, res);
    if (reverse) {
      l->rreq.data = l;
      int err = art_getnameinfo(req->loop, &l->rreq, on_name, res->ai_addr,
                                NI_NAMEREQD);
      if (err)
        snprintf(l->rname, sizeof(l->rname), "%s", art_err_name(err));
    }
  }
  art_freeaddrinfo(res);
}

static void print(const lookup_t *l) {
  if (l->status != 0) {
    printf("%s: error %s (%s)\n", l->name, art_err_name(l->status),
           art_strerror(l->status));
    return;
  }
  printf("%s: %s", l->name, l->addrs);
  if (reverse)
    printf(" (%s)", l->rname);
  printf("\n");
}

int main(int argc, char **argv) {
  struct addrinfo hints;
  art_loop_t loop;
  int first = 1, failed = 0;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  for (; first < argc && argv[first][0] == '-'; first++) {
    if (strcmp(argv[first], "-4") == 0)
      hints.ai_family = AF_INET;
    else if (strcmp(argv[first], "-6") == 0)
      hints.ai_family = AF_INET6;
    else if (strcmp(argv[first], "-r") == 0)
      reverse = 1;
    else
      break;
  }
  int n = argc - first;
  if (n <= 0) {
    fprintf(stderr, "usage: dns_lookup [-4|-6] [-r] name...\n");
    return 2;
  }
  lookup_t *l = calloc((size_t)n, sizeof(*l));
  if (l == NULL || art_loop_init(&loop) != 0)
    return 1;
  for (int i = 0; i < n; i++) {
    l[i].name = argv[first + i];
    l[i].req.data = &l[i];
    l[i].status =
        art_getaddrinfo(&loop, &l[i].req, on_resolved, l[i].name, NULL, &hints);
  }
  art_run(&loop, ART_RUN_DEFAULT);
  for (int i = 0; i < n; i++) {
    print(&l[i]);
    failed |= l[i].status != 0;
  }
  art_loop_close(&loop);
  free(l);
  return failed;
}
