/* What the primary opens and starts: the listening sockets, on raw fds
 * so that a failure leaves nothing to close (primary.c, note 1), and the
 * worker processes with their marker and their IPC pipe as fd 3. */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cluster.h"

extern char **environ;

socklen_t art__cluster_addr_len(const struct sockaddr *a) {
  if (a == NULL)
    return 0;
  if (a->sa_family == AF_INET)
    return sizeof(struct sockaddr_in);
  if (a->sa_family == AF_INET6)
    return sizeof(struct sockaddr_in6);
  return 0;
}

static int open_socket(const art_cluster_t *c, int reuseport, int *out) {
  const struct sockaddr *a = (const struct sockaddr *)c->addr_;
  int on = 1;
  int fd = socket(a->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1)
    return -errno;
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == -1 ||
      (reuseport &&
       setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == -1) ||
      bind(fd, a, art__cluster_addr_len(a)) == -1 ||
      listen(fd, c->opts_.backlog) == -1) {
    int err = -errno;
    art__close_fd(fd);
    return err;
  }
  *out = fd;
  return 0;
}

/* Opens n listeners; the first fixes the port the others share. */
int art__cluster_open_sockets(art_cluster_t *c, int *fds, unsigned n) {
  int reuseport = c->mode == ART_CLUSTER_REUSEPORT;
  for (unsigned i = 0; i < n; i++) {
    int err = open_socket(c, reuseport, &fds[i]);
    socklen_t len = sizeof(c->addr_);
    if (!err && i == 0 &&
        getsockname(fds[0], (struct sockaddr *)c->addr_, &len) == -1) {
      err = -errno;
      art__close_fd(fds[0]);
    }
    if (err) {
      while (i-- > 0)
        art__close_fd(fds[i]);
      return err;
    }
  }
  return 0;
}

/* The workers' environment: ours (or options.env) without any marker of
 * our own, plus the new worker's. */
static char **worker_env(const art_cluster_t *c, uint64_t id) {
  char **base = c->opts_.env != NULL ? c->opts_.env : environ;
  size_t n = 0, k = 0, name = strlen(ART_CLUSTER_ENV);
  while (base != NULL && base[n] != NULL)
    n++;
  char **env = art__malloc((n + 2) * sizeof(char *) + name + 24);
  if (env == NULL)
    return NULL;
  char *mark = (char *)(env + n + 2);
  snprintf(mark, name + 24, "%s=%llu", ART_CLUSTER_ENV, (unsigned long long)id);
  for (size_t i = 0; i < n; i++)
    if (strncmp(base[i], ART_CLUSTER_ENV "=", name + 1) != 0)
      env[k++] = base[i];
  env[k++] = mark;
  env[k] = NULL;
  return env;
}

int art__cluster_spawn(record_t *r, art_exit_cb exit_cb) {
  art_cluster_t *c = r->c;
  art_stdio_container_t stdio[4];
  for (int i = 0; i < 3; i++) {
    stdio[i].flags = ART_INHERIT_FD;
    stdio[i].data.fd = i;
  }
  stdio[3].flags =
      ART_CREATE_PIPE | ART_READABLE_PIPE | ART_WRITABLE_PIPE | ART_IPC;
  stdio[3].data.stream = (art_stream_t *)&r->ipc;
  char **env = worker_env(c, r->id);
  if (env == NULL)
    return ART_ENOMEM;
  art_process_options_t po = {.exit_cb = exit_cb,
                              .file = c->opts_.file,
                              .args = c->opts_.args,
                              .env = env,
                              .stdio_count = 4,
                              .stdio = stdio};
  int err = art_spawn(c->loop, &r->proc, &po);
  art__free(env);
  r->proc.data = r; /* initialised now, whatever the result */
  return err;
}
