/* Small fd and time helpers shared by every layer. */
#include <fcntl.h>
#include <limits.h>
#include <time.h>
#include <unistd.h>

#include "base.h"

uint64_t art_hrtime(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int set_fd_flag(int fd, int getcmd, int setcmd, int flag, int set) {
  int flags = fcntl(fd, getcmd);
  if (flags == -1)
    return -errno;
  int want = set ? (flags | flag) : (flags & ~flag);
  if (want != flags && fcntl(fd, setcmd, want) == -1)
    return -errno;
  return 0;
}

int art__cloexec(int fd, int set) {
  return set_fd_flag(fd, F_GETFD, F_SETFD, FD_CLOEXEC, set);
}

int art__nonblock(int fd, int set) {
  return set_fd_flag(fd, F_GETFL, F_SETFL, O_NONBLOCK, set);
}

/* On Linux the fd is released even when close reports EINTR, so retrying
 * would close someone else's fd: never retry. */
void art__close_fd(int fd) {
  int saved = errno;
  if (fd >= 0)
    close(fd);
  errno = saved;
}

int art__clamp_timeout(uint64_t ms) {
  return ms > (uint64_t)INT_MAX ? INT_MAX : (int)ms;
}

int art__timeout_ms_up(int64_t ns) {
  if (ns <= 0)
    return ns < 0 ? -1 : 0;
  return art__clamp_timeout(((uint64_t)ns + 999999u) / 1000000u);
}
