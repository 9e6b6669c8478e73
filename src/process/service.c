/* Service managers: systemd's socket activation (LISTEN_FDS), readiness
 * notifications (NOTIFY_SOCKET) and watchdog (WATCHDOG_USEC), with libc
 * only. The protocols are small and stable (sd_listen_fds(3),
 * sd_notify(3)); linking libsystemd for them would tie the library to one
 * init system's client library.
 *
 * Notes:
 * 1. The environment is input from outside the program. A variable that is
 *    not exactly digits, overflows, names more sockets than the caller has
 *    room for, or carries names with bytes systemd itself would refuse is
 *    an error, never a best guess: a guess could adopt an fd the program
 *    uses for something else.
 * 2. Every passed fd is checked (open, a socket) before any is changed, so
 *    an error leaves the descriptors as they were inherited.
 * 3. The variables are removed whatever the outcome, as sd_listen_fds(1)
 *    does: a child spawned later inherits neither the fds (now
 *    close-on-exec) nor a LISTEN_FDS that would make it adopt fds 3, 4...
 *    of its own. They are read into local copies first, since unsetenv may
 *    release the strings.
 * 4. The notify socket is written with a non-blocking datagram socket: a
 *    manager that does not read its queue makes the send fail with
 *    ART_EAGAIN instead of stalling the loop. MSG_NOSIGNAL keeps a closed
 *    peer from raising SIGPIPE.
 */
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"

/* LISTEN_FDNAMES holds at most this many bytes: every name at its longest,
 * with its separator. Beyond it the variable cannot be valid. */
#define NAMES_MAX(n) ((size_t)(n) * (ART_LISTEN_FDNAME_MAX + 1))

/* Parses s as a decimal number of at most max: digits only, no sign, no
 * space, no overflow (note 1). 0 or ART_EINVAL. */
static int parse_decimal(const char *s, uint64_t max, uint64_t *out) {
  uint64_t v = 0;
  if (s == NULL || *s == '\0')
    return ART_EINVAL;
  for (; *s != '\0'; s++) {
    if (*s < '0' || *s > '9')
      return ART_EINVAL;
    unsigned d = (unsigned)(*s - '0');
    if (v > (max - d) / 10)
      return ART_EINVAL;
    v = v * 10 + d;
  }
  *out = v;
  return 0;
}

/* Whether the variable name, if set, names this process. 1, 0, or
 * ART_EINVAL when it is set but not a pid. */
static int pid_matches(const char *name) {
  uint64_t pid;
  const char *s = getenv(name);
  if (s == NULL)
    return 1;
  if (parse_decimal(s, 0x7fffffff, &pid) != 0 || pid == 0)
    return ART_EINVAL;
  return pid == (uint64_t)getpid();
}

/* A name systemd accepts in FileDescriptorName=: 1..255 printable ASCII
 * bytes, no ':' (that separates the names). */
static int name_ok(const char *name, size_t len) {
  if (len == 0 || len > ART_LISTEN_FDNAME_MAX)
    return 0;
  for (size_t i = 0; i < len; i++)
    if (name[i] < 0x20 || name[i] > 0x7e || name[i] == ':')
      return 0;
  return 1;
}

/* Splits LISTEN_FDNAMES into fds[0..n).name; exactly n names or
 * ART_EINVAL. Unset: every name is "unknown", as systemd reports it. */
static int read_names(const char *names, art_listen_fd_t *fds, int n) {
  if (names == NULL) {
    for (int i = 0; i < n; i++)
      memcpy(fds[i].name, "unknown", sizeof("unknown"));
    return 0;
  }
  if (strnlen(names, NAMES_MAX(n) + 1) > NAMES_MAX(n))
    return ART_EINVAL;
  const char *p = names;
  for (int i = 0; i < n; i++) {
    const char *end = strchr(p, ':');
    size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
    if ((end == NULL) != (i == n - 1) || !name_ok(p, len))
      return ART_EINVAL;
    memcpy(fds[i].name, p, len);
    fds[i].name[len] = '\0';
    p += len + 1;
  }
  return 0;
}

/* Checks that every passed fd is an open socket (note 2). */
static int check_fds(int n) {
  struct stat sb;
  for (int i = 0; i < n; i++) {
    int fd = ART_LISTEN_FDS_START + i;
    if (fstat(fd, &sb) == -1)
      return ART_EBADF;
    if (!S_ISSOCK(sb.st_mode))
      return ART_ENOTSOCK;
  }
  return 0;
}

/* Reads the three variables; the count of sockets or an error. */
static int take_fds(art_listen_fd_t *fds, int max) {
  uint64_t n;
  int err, mine = pid_matches("LISTEN_PID");
  const char *count = getenv("LISTEN_FDS");
  if (mine < 0)
    return mine;
  if (getenv("LISTEN_PID") == NULL || count == NULL || !mine)
    return 0;
  if (parse_decimal(count, 0x7fffffff - ART_LISTEN_FDS_START, &n) != 0)
    return ART_EINVAL;
  if (n > (uint64_t)max)
    return ART_ENOBUFS;
  if ((err = read_names(getenv("LISTEN_FDNAMES"), fds, (int)n)) != 0 ||
      (err = check_fds((int)n)) != 0)
    return err;
  for (int i = 0; i < (int)n; i++) {
    fds[i].fd = ART_LISTEN_FDS_START + i;
    if ((err = art__cloexec(fds[i].fd, 1)) != 0 ||
        (err = art__nonblock(fds[i].fd, 1)) != 0)
      return err;
  }
  return (int)n;
}

int art_listen_fds(art_listen_fd_t *fds, int max) {
  int n = max < 0 || (fds == NULL && max > 0) ? ART_EINVAL : take_fds(fds, max);
  unsetenv("LISTEN_PID"); /* note 3 */
  unsetenv("LISTEN_FDS");
  unsetenv("LISTEN_FDNAMES");
  return n;
}

/* NOTIFY_SOCKET as an address: a path, or "@name" for an abstract one. */
static int notify_addr(const char *path, struct sockaddr_un *sun,
                       socklen_t *len) {
  size_t plen = strlen(path);
  memset(sun, 0, sizeof(*sun));
  sun->sun_family = AF_UNIX;
  if (path[0] == '/' && plen < sizeof(sun->sun_path)) {
    memcpy(sun->sun_path, path, plen + 1);
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen + 1);
    return 0;
  }
  if (path[0] == '@' && plen >= 2 && plen <= sizeof(sun->sun_path)) {
    memcpy(sun->sun_path + 1, path + 1, plen - 1); /* sun_path[0] = '\0' */
    *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + plen);
    return 0;
  }
  return ART_EINVAL;
}

int art_sd_notify(const char *state) {
  struct sockaddr_un sun;
  socklen_t alen;
  const char *path = getenv("NOTIFY_SOCKET");
  size_t len = state != NULL ? strnlen(state, ART_SD_NOTIFY_MAX + 1) : 0;
  if (len == 0 || len > ART_SD_NOTIFY_MAX)
    return ART_EINVAL;
  if (path == NULL || path[0] == '\0')
    return 0;
  if (notify_addr(path, &sun, &alen) != 0)
    return ART_EINVAL;
  int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd == -1)
    return -errno;
  ssize_t n;
  do /* note 4 */
    n = sendto(fd, state, len, MSG_NOSIGNAL, (struct sockaddr *)&sun, alen);
  while (n == -1 && errno == EINTR);
  int err = n == -1 ? -errno : 0;
  art__close_fd(fd);
  return err == -EWOULDBLOCK ? ART_EAGAIN : err;
}

static void watchdog_ping(art_timer_t *timer) {
  (void)timer;
  art_sd_notify("WATCHDOG=1"); /* a failed ping is the manager's to see */
}

int art_sd_watchdog_start(art_timer_t *timer, uint64_t *interval_ms) {
  uint64_t usec, ms;
  int mine = pid_matches("WATCHDOG_PID");
  const char *s = getenv("WATCHDOG_USEC");
  if (interval_ms != NULL)
    *interval_ms = 0;
  if (mine < 0)
    return mine;
  if (s == NULL || !mine)
    return 0;
  if (parse_decimal(s, UINT64_MAX, &usec) != 0 || usec == 0)
    return ART_EINVAL;
  ms = usec / 2000 > 0 ? usec / 2000 : 1; /* half the period, in ms */
  int err = art_timer_start(timer, watchdog_ping, ms, ms);
  if (err)
    return err;
  art_unref((art_handle_t *)timer);
  if (interval_ms != NULL)
    *interval_ms = ms;
  return 0;
}
