/* What every stress program shares: a watchdog, figures printed as
 * key=value lines, memory readings from /proc, the fd limit, and the
 * pseudo-random byte streams the echo workloads send and verify.
 *
 * Header-only so that each program is one .c file plus this; every
 * function is static and small. */
#ifndef ART_STRESS_H
#define ART_STRESS_H

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* Exit codes: 0 passed, 1 a check failed, 2 bad usage, 3 the watchdog. */
enum { STRESS_FAIL = 1, STRESS_USAGE = 2, STRESS_HANG = 3 };

static const char *stress_name = "stress";

static inline void stress_on_alarm(int sig) {
  static const char msg[] = " watchdog: time is up, the program hangs\n";
  ssize_t r = write(2, stress_name, strlen(stress_name));
  r = write(2, msg, sizeof(msg) - 1);
  (void)r;
  (void)sig;
  _exit(STRESS_HANG);
}

/* Arms the watchdog: after seconds, the process reports a hang and exits
 * with STRESS_HANG whatever it is doing (a blocked poll included). Also
 * makes stdout line-buffered so figures survive a watchdog exit. */
static inline void stress_watchdog(const char *name, unsigned seconds) {
  struct sigaction sa;
  stress_name = name;
  setvbuf(stdout, NULL, _IOLBF, 0);
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = stress_on_alarm;
  sigaction(SIGALRM, &sa, NULL);
  alarm(seconds);
}

/* One figure: "name key=value". */
static inline void stress_figure(const char *key, const char *fmt, ...) {
  va_list ap;
  printf("%s %s=", stress_name, key);
  va_start(ap, fmt);
  vprintf(fmt, ap);
  va_end(ap);
  putchar('\n');
}

/* A failed check: printed, and remembered for the exit code. */
static int stress_failures;

static inline void stress_fail(const char *fmt, ...) {
  va_list ap;
  fprintf(stdout, "%s FAIL: ", stress_name);
  va_start(ap, fmt);
  vfprintf(stdout, fmt, ap);
  va_end(ap);
  putchar('\n');
  stress_failures++;
}

/* A field of /proc/self/status in KiB (VmRSS, VmHWM); -1 if absent. */
static inline long stress_status_kib(const char *field) {
  char line[256];
  long v = -1;
  size_t n = strlen(field);
  FILE *f = fopen("/proc/self/status", "re");
  if (f == NULL)
    return -1;
  while (fgets(line, sizeof(line), f) != NULL)
    if (strncmp(line, field, n) == 0 && line[n] == ':') {
      v = strtol(line + n + 1, NULL, 10);
      break;
    }
  fclose(f);
  return v;
}

/* Raises RLIMIT_NOFILE to want if it can (the hard limit too, which needs
 * privilege). Returns the soft limit in force afterwards. */
static inline long stress_raise_nofile(long want) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
    return -1;
  if ((long)rl.rlim_cur >= want)
    return (long)rl.rlim_cur;
  struct rlimit up = rl;
  up.rlim_cur = (rlim_t)want;
  if ((long)up.rlim_max < want)
    up.rlim_max = (rlim_t)want;
  if (setrlimit(RLIMIT_NOFILE, &up) != 0) {
    up.rlim_cur = rl.rlim_max; /* no privilege: as far as the hard limit */
    up.rlim_max = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &up);
  }
  getrlimit(RLIMIT_NOFILE, &rl);
  return (long)rl.rlim_cur;
}

/* A counter-based generator: the 8 bytes at offset 8*i of stream k are
 * splitmix64(k, i), so a byte anywhere in a stream is known without
 * replaying it, and the receiver checks each byte where it lands. */
static inline uint64_t stress_mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Fills buf with bytes [off, off+len) of stream, one mix per 8 bytes. */
static inline void stress_fill(uint64_t stream, uint64_t off,
                               unsigned char *buf, size_t len) {
  uint64_t w = stress_mix((stream << 40) ^ (off >> 3));
  for (size_t i = 0; i < len; i++) {
    uint64_t at = off + i;
    if (i > 0 && (at & 7) == 0)
      w = stress_mix((stream << 40) ^ (at >> 3));
    buf[i] = (unsigned char)(w >> ((at & 7) * 8));
  }
}

/* Index of the first byte of buf that differs from the stream, or len. */
static inline size_t stress_check(uint64_t stream, uint64_t off,
                                  const unsigned char *buf, size_t len) {
  unsigned char want[4096];
  for (size_t done = 0; done < len;) {
    size_t n = len - done < sizeof(want) ? len - done : sizeof(want);
    stress_fill(stream, off + done, want, n);
    if (memcmp(want, buf + done, n) != 0)
      for (size_t i = 0; i < n; i++)
        if (want[i] != buf[done + i])
          return done + i;
    done += n;
  }
  return len;
}

/* FNV-1a, folded over every verified byte: one figure that says the same
 * bytes arrived, in the same order, across runs and machines. */
static inline uint64_t stress_hash(uint64_t h, const unsigned char *p,
                                   size_t n) {
  for (size_t i = 0; i < n; i++)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* A positive decimal argument, or exits with STRESS_USAGE. */
static inline long stress_arg(const char *s, long lo, long hi) {
  char *end;
  long v = strtol(s, &end, 10);
  if (*s == '\0' || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "%s: '%s' is not a number in [%ld, %ld]\n", stress_name, s,
            lo, hi);
    exit(STRESS_USAGE);
  }
  return v;
}

#endif
