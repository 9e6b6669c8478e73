/* getaddrinfo and getnameinfo as requests on the work pool's slow lane.
 *
 * Notes:
 * 1. The C library resolver blocks (files, then DNS with its timeouts), so
 *    it runs on a pool thread in ART_LANE_SLOW, which may hold at most half
 *    the workers: a dead name server cannot stall file-system work.
 * 2. An asynchronous request copies node, service and hints (the caller may
 *    free them at once); the two strings share one allocation. A synchronous
 *    call uses the caller's strings while it runs and allocates nothing of
 *    its own.
 * 3. EAI_SYSTEM means "look at errno", which is only meaningful on the
 *    thread that called the resolver, so the code is translated there.
 * 4. Host names are checked against RFC 1035's limits before anything else
 *    (255 bytes, 63 per label): a longer name is refused, never truncated
 *    and never handed to a resolver that might accept a prefix of it.
 */
#include <netdb.h>
#include <string.h>

#include "pool/pool.h"

_Static_assert(ART_NI_MAXHOST >= NI_MAXHOST && ART_NI_MAXSERV >= NI_MAXSERV,
               "getnameinfo result buffers too small");

/* Translates a getaddrinfo/getnameinfo result code (note 3). */
static int eai_to_err(int rc) {
  switch (rc) {
  case 0:
    return 0;
#ifdef EAI_ADDRFAMILY
  case EAI_ADDRFAMILY:
    return ART_EAI_ADDRFAMILY;
#endif
#ifdef EAI_NODATA
  case EAI_NODATA:
    return ART_EAI_NODATA;
#endif
  case EAI_AGAIN:
    return ART_EAI_AGAIN;
  case EAI_BADFLAGS:
    return ART_EAI_BADFLAGS;
  case EAI_FAIL:
    return ART_EAI_FAIL;
  case EAI_FAMILY:
    return ART_EAI_FAMILY;
  case EAI_MEMORY:
    return ART_EAI_MEMORY;
  case EAI_NONAME:
    return ART_EAI_NONAME;
  case EAI_OVERFLOW:
    return ART_EAI_OVERFLOW;
  case EAI_SERVICE:
    return ART_EAI_SERVICE;
  case EAI_SOCKTYPE:
    return ART_EAI_SOCKTYPE;
  case EAI_SYSTEM:
    return errno != 0 ? -errno : ART_EAI_FAIL;
  default:
    return ART_EAI_FAIL;
  }
}

/* Note 4: total length and label lengths of a host name. */
static int check_host(const char *node) {
  size_t label = 0;
  if (node == NULL)
    return 0;
  if (strnlen(node, ART_DNS_NAME_MAX + 1) > ART_DNS_NAME_MAX)
    return ART_EINVAL;
  for (const char *p = node; *p != '\0'; p++) {
    label = *p == '.' ? 0 : label + 1;
    if (label > ART_DNS_LABEL_MAX)
      return ART_EINVAL;
  }
  return 0;
}

/* ---- getaddrinfo. ---- */

/* Runs the resolver with the request's hints; on any thread. */
static void run_getaddrinfo(art_getaddrinfo_t *req, const char *node,
                            const char *service) {
  struct addrinfo hints, *res = NULL;
  memset(&hints, 0, sizeof(hints));
  hints.ai_flags = req->ai_flags_;
  hints.ai_family = req->ai_family_;
  hints.ai_socktype = req->ai_socktype_;
  hints.ai_protocol = req->ai_protocol_;
  int rc = getaddrinfo(node, service, req->hints_set_ ? &hints : NULL, &res);
  req->retcode_ = eai_to_err(rc);
  req->addrinfo = rc == 0 ? res : NULL;
}

static void getaddrinfo_work(struct art__work *w) {
  art_getaddrinfo_t *req = art__container_of(w, art_getaddrinfo_t, work_);
  run_getaddrinfo(req, req->node_, req->service_);
}

static void getaddrinfo_after(struct art__work *w, int status) {
  art_getaddrinfo_t *req = art__container_of(w, art_getaddrinfo_t, work_);
  art__free(req->strings_);
  req->strings_ = req->node_ = req->service_ = NULL;
  if (status == 0)
    status = req->retcode_;
  else
    req->addrinfo = NULL; /* canceled before it ran */
  ART__REQ_CALLBACK(req->loop, req, req->cb_, (req, status, req->addrinfo));
}

/* Copies node and service into one allocation (note 2). */
static int copy_strings(art_getaddrinfo_t *req, const char *node,
                        const char *service) {
  size_t nlen = node != NULL ? strlen(node) + 1 : 0;
  size_t slen = service != NULL ? strlen(service) + 1 : 0;
  req->strings_ = art__malloc(nlen + slen);
  if (req->strings_ == NULL)
    return ART_ENOMEM;
  req->node_ = node != NULL ? memcpy(req->strings_, node, nlen) : NULL;
  req->service_ =
      service != NULL ? memcpy(req->strings_ + nlen, service, slen) : NULL;
  return 0;
}

static void copy_hints(art_getaddrinfo_t *req, const struct addrinfo *hints) {
  req->hints_set_ = hints != NULL;
  req->ai_flags_ = hints != NULL ? hints->ai_flags : 0;
  req->ai_family_ = hints != NULL ? hints->ai_family : 0;
  req->ai_socktype_ = hints != NULL ? hints->ai_socktype : 0;
  req->ai_protocol_ = hints != NULL ? hints->ai_protocol : 0;
}

int art_getaddrinfo(art_loop_t *loop, art_getaddrinfo_t *req,
                    art_getaddrinfo_cb cb, const char *node,
                    const char *service, const struct addrinfo *hints) {
  if (loop == NULL || req == NULL || (node == NULL && service == NULL) ||
      (cb != NULL && loop->backend_ == NULL)) /* a closed loop */
    return ART_EINVAL;
  int err = check_host(node);
  if (err)
    return err;
  req->type = ART_GETADDRINFO;
  req->loop = loop;
  req->addrinfo = NULL;
  req->cb_ = cb;
  req->strings_ = req->node_ = req->service_ = NULL;
  copy_hints(req, hints);
  if (cb == NULL) {
    run_getaddrinfo(req, node, service);
    return req->retcode_;
  }
  err = copy_strings(req, node, service);
  if (!err)
    err = art__work_submit(loop, (art_req_t *)req, ART_GETADDRINFO, &req->work_,
                           ART_LANE_SLOW, getaddrinfo_work, getaddrinfo_after);
  if (err) {
    art__free(req->strings_);
    req->strings_ = req->node_ = req->service_ = NULL;
  }
  return err;
}

void art_freeaddrinfo(struct addrinfo *ai) {
  if (ai != NULL)
    freeaddrinfo(ai);
}

/* ---- getnameinfo. ---- */

static void run_getnameinfo(art_getnameinfo_t *req) {
  socklen_t len = req->addr_.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                   : sizeof(struct sockaddr_in);
  int rc = getnameinfo((struct sockaddr *)&req->addr_, len, req->host,
                       sizeof(req->host), req->service, sizeof(req->service),
                       req->flags_);
  req->retcode_ = eai_to_err(rc);
}

static void getnameinfo_work(struct art__work *w) {
  run_getnameinfo(art__container_of(w, art_getnameinfo_t, work_));
}

static void getnameinfo_after(struct art__work *w, int status) {
  art_getnameinfo_t *req = art__container_of(w, art_getnameinfo_t, work_);
  if (status == 0)
    status = req->retcode_;
  if (status == 0)
    ART__REQ_CALLBACK(req->loop, req, req->cb_,
                      (req, 0, req->host, req->service));
  else
    ART__REQ_CALLBACK(req->loop, req, req->cb_, (req, status, NULL, NULL));
}

int art_getnameinfo(art_loop_t *loop, art_getnameinfo_t *req,
                    art_getnameinfo_cb cb, const struct sockaddr *addr,
                    int flags) {
  if (loop == NULL || req == NULL || addr == NULL ||
      (cb != NULL && loop->backend_ == NULL)) /* a closed loop */
    return ART_EINVAL;
  if (addr->sa_family == AF_INET)
    memcpy(&req->addr_, addr, sizeof(struct sockaddr_in));
  else if (addr->sa_family == AF_INET6)
    memcpy(&req->addr_, addr, sizeof(struct sockaddr_in6));
  else
    return ART_EINVAL;
  req->type = ART_GETNAMEINFO;
  req->loop = loop;
  req->cb_ = cb;
  req->flags_ = flags;
  req->host[0] = '\0';
  req->service[0] = '\0';
  if (cb == NULL) {
    run_getnameinfo(req);
    return req->retcode_;
  }
  return art__work_submit(loop, (art_req_t *)req, ART_GETNAMEINFO, &req->work_,
                          ART_LANE_SLOW, getnameinfo_work, getnameinfo_after);
}
