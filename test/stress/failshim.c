/* failshim.so: makes socket system calls fail at random, for LD_PRELOAD.
 *
 *   LD_PRELOAD=failshim.so ART_FAILSHIM_RATE=0.01 ART_FAILSHIM_SEED=7 prog
 *
 * Wraps the calls the library makes on sockets (read, write, readv,
 * writev, send, recv, sendmsg, recvmsg, accept4, epoll_ctl) and, with
 * probability ART_FAILSHIM_RATE (default 0.01), fails one without calling
 * the kernel, with an errno the kernel could give:
 *   - the data calls: EINTR, EAGAIN, ENOMEM or EIO;
 *   - accept4: EINTR, EAGAIN or ENOMEM;
 *   - epoll_ctl ADD and MOD: ENOMEM (DEL never fails in the kernel
 *     for lack of memory, and a failed DEL would leave the set stale).
 * Only sockets are touched (fstat says S_ISSOCK), so the loop's eventfd,
 * signal pipe and files keep working as the kernel makes them work.
 *
 * Failures happen only while the program's window is open: the program
 * finds failshim_window with dlsym(RTLD_DEFAULT, ...) and opens it once
 * its setup is done, and closes it before its own checks and teardown.
 * failshim_settings and failshim_report print the rate, the seed and what
 * was injected as key=value lines.
 *
 * Everything is per process: a forked child has its own window and its
 * own counts, which it must hand to its parent if the parent judges them.
 *
 * The real calls are found with dlsym(RTLD_NEXT, ...): the library calls
 * libc, and this object, loaded first, stands in front of it. The random
 * numbers are per thread (xorshift64*, seeded from the seed and the
 * thread's arrival order, a forked child's threads arriving after
 * FORK_ORDER), so a run is reproducible as far as the threads' and the
 * processes' interleaving is. */
#include <dlfcn.h>
#include <pthread.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

/* The calls wrapped, for the counters. */
enum {
  K_READ,
  K_WRITE,
  K_READV,
  K_WRITEV,
  K_SEND,
  K_RECV,
  K_SENDMSG,
  K_RECVMSG,
  K_ACCEPT4,
  K_EPOLL_CTL,
  K_COUNT
};
static const char *const call_name[K_COUNT] = {
    "read", "write",   "readv",   "writev",  "send",
    "recv", "sendmsg", "recvmsg", "accept4", "epoll_ctl"};

/* The errnos injected, for the counters. */
enum { E_EINTR, E_EAGAIN, E_ENOMEM, E_EIO, E_COUNT };
static const int err_value[E_COUNT] = {EINTR, EAGAIN, ENOMEM, EIO};
static const char *const err_name[E_COUNT] = {"EINTR", "EAGAIN", "ENOMEM",
                                              "EIO"};

static atomic_int window_open;
static double rate = 0.01;
static uint64_t seed = 1;
static atomic_uint thread_order;
static atomic_ulong injected[K_COUNT][E_COUNT];
static atomic_ulong passed[K_COUNT];

static _Thread_local uint64_t rng_state;

static void read_env(void) {
  const char *r = getenv("ART_FAILSHIM_RATE");
  const char *s = getenv("ART_FAILSHIM_SEED");
  if (r != NULL)
    rate = strtod(r, NULL);
  if (s != NULL)
    seed = strtoull(s, NULL, 10);
}

/* A forked child starts from the thread that forked, random state and
 * all: without a new state it would draw its parent's numbers. */
enum { FORK_ORDER = 1u << 16 };

static void failshim_atfork_child(void) {
  rng_state = 0;
  atomic_fetch_add(&thread_order, FORK_ORDER);
}

__attribute__((constructor)) static void failshim_init(void) {
  read_env();
  pthread_atfork(NULL, NULL, failshim_atfork_child);
}

static uint64_t next_random(void) {
  if (rng_state == 0)
    rng_state = (seed + 1) * 0x9e3779b97f4a7c15ull +
                atomic_fetch_add(&thread_order, 1) + 1;
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 0x2545f4914f6cdd1dull;
}

static int is_socket(int fd) {
  struct stat sb;
  return fstat(fd, &sb) == 0 && S_ISSOCK(sb.st_mode);
}

/* Decides whether this call fails: -1 with errno set (and counted), or 0
 * to let the real call run. nerr limits the choice to the first nerr
 * entries of err_value, first_err skips the first ones. */
static int inject(int call, int fd, int first_err, int nerr) {
  if (!atomic_load_explicit(&window_open, memory_order_relaxed) ||
      !is_socket(fd)) {
    return 0;
  }
  uint64_t r = next_random();
  if ((double)(r >> 11) / 9007199254740992.0 >= rate) {
    atomic_fetch_add(&passed[call], 1);
    return 0;
  }
  int e = first_err + (int)((r & 0xff) % (uint64_t)nerr);
  atomic_fetch_add(&injected[call][e], 1);
  errno = err_value[e];
  return -1;
}

/* The libc function this one stands in front of, looked up once. */
#define REAL(name)                                                             \
  static __typeof__(&name) real_##name;                                        \
  if (real_##name == NULL)                                                     \
  real_##name = (__typeof__(&name))dlsym(RTLD_NEXT, #name)

ssize_t read(int fd, void *buf, size_t len) {
  REAL(read);
  if (inject(K_READ, fd, E_EINTR, E_COUNT))
    return -1;
  return real_read(fd, buf, len);
}

ssize_t write(int fd, const void *buf, size_t len) {
  REAL(write);
  if (inject(K_WRITE, fd, E_EINTR, E_COUNT))
    return -1;
  return real_write(fd, buf, len);
}

ssize_t readv(int fd, const struct iovec *iov, int n) {
  REAL(readv);
  if (inject(K_READV, fd, E_EINTR, E_COUNT))
    return -1;
  return real_readv(fd, iov, n);
}

ssize_t writev(int fd, const struct iovec *iov, int n) {
  REAL(writev);
  if (inject(K_WRITEV, fd, E_EINTR, E_COUNT))
    return -1;
  return real_writev(fd, iov, n);
}

ssize_t send(int fd, const void *buf, size_t len, int flags) {
  REAL(send);
  if (inject(K_SEND, fd, E_EINTR, E_COUNT))
    return -1;
  return real_send(fd, buf, len, flags);
}

ssize_t recv(int fd, void *buf, size_t len, int flags) {
  REAL(recv);
  if (inject(K_RECV, fd, E_EINTR, E_COUNT))
    return -1;
  return real_recv(fd, buf, len, flags);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
  REAL(sendmsg);
  if (inject(K_SENDMSG, fd, E_EINTR, E_COUNT))
    return -1;
  return real_sendmsg(fd, msg, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
  REAL(recvmsg);
  if (inject(K_RECVMSG, fd, E_EINTR, E_COUNT))
    return -1;
  return real_recvmsg(fd, msg, flags);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
  REAL(accept4);
  if (inject(K_ACCEPT4, fd, E_EINTR, E_EIO))
    return -1;
  return real_accept4(fd, addr, len, flags);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev) {
  REAL(epoll_ctl);
  if (op != EPOLL_CTL_DEL && inject(K_EPOLL_CTL, fd, E_ENOMEM, 1))
    return -1;
  return real_epoll_ctl(epfd, op, fd, ev);
}

/* ------------------------------------------------------------------------ */
/* The program's side.                                                      */

void failshim_window(int open);
void failshim_settings(FILE *out, const char *prefix);
void failshim_report(FILE *out, const char *prefix, const char *side);
unsigned long failshim_injected(int err);

/* Opens (non-zero) or closes the window in which calls may fail. */
void failshim_window(int open) {
  atomic_store(&window_open, open != 0);
}

/* Failures injected with errno err (EINTR, EAGAIN, ENOMEM, EIO), over
 * every call; 0 for another errno. */
unsigned long failshim_injected(int err) {
  unsigned long sum = 0;
  for (int e = 0; e < E_COUNT; e++)
    if (err_value[e] == err)
      for (int k = 0; k < K_COUNT; k++)
        sum += atomic_load(&injected[k][e]);
  return sum;
}

/* The rate and the seed: "prefix shim_rate=..." and "prefix shim_seed=...". */
void failshim_settings(FILE *out, const char *prefix) {
  fprintf(out, "%s shim_rate=%g\n%s shim_seed=%llu\n", prefix, rate, prefix,
          (unsigned long long)seed);
  fflush(out);
}

/* One line per call that was wrapped and reached in the window: how many
 * times it ran and which failures it was given, keyed side + "shim_" + the
 * call's name (side tells the processes of one program apart, or is ""). */
void failshim_report(FILE *out, const char *prefix, const char *side) {
  for (int k = 0; k < K_COUNT; k++) {
    unsigned long total = atomic_load(&passed[k]);
    char line[256];
    int len = 0;
    for (int e = 0; e < E_COUNT; e++) {
      unsigned long n = atomic_load(&injected[k][e]);
      total += n;
      if (n != 0)
        len += snprintf(line + len, sizeof(line) - (size_t)len, ",%s:%lu",
                        err_name[e], n);
    }
    if (total != 0)
      fprintf(out, "%s %sshim_%s=calls:%lu%s\n", prefix, side, call_name[k],
              total, len ? line : "");
  }
  fflush(out);
}
