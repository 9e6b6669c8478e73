/* A small program the process tests spawn: argv[1] says what to do.
 *   fds           print the open fds, space-separated ("0 1 2")
 *   env NAME      print the variable's value, or "(unset)"
 *   cwd           print the working directory
 *   exit N        exit with status N
 *   kill SIG      raise SIG against itself
 *   sid           print "same" if our session id is our pid, else "other"
 *   signals       print the signals that are blocked or ignored ("none")
 *   cat           copy stdin to stdout
 *   write N [M]   write N bytes to stdout and M to stderr
 *   ids           print "uid gid"
 *   sleep         wait for a signal */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int print_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  struct dirent *e;
  int first = 1;
  if (d == NULL)
    return 2;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
      continue;
    printf(first ? "%s" : " %s", e->d_name);
    first = 0;
  }
  closedir(d);
  printf("\n");
  return 0;
}

static int print_signals(void) {
  sigset_t mask;
  int any = 0;
  sigprocmask(SIG_SETMASK, NULL, &mask);
  for (int n = 1; n < 32; n++) {
    struct sigaction sa;
    sigaction(n, NULL, &sa);
    if (sigismember(&mask, n) || sa.sa_handler == SIG_IGN) {
      printf("%d ", n);
      any = 1;
    }
  }
  printf(any ? "\n" : "none\n");
  return 0;
}

static int cat(void) {
  char buf[65536];
  ssize_t n;
  while ((n = read(0, buf, sizeof(buf))) > 0)
    for (ssize_t off = 0; off < n;) {
      ssize_t w = write(1, buf + off, (size_t)(n - off));
      if (w <= 0)
        return 3;
      off += w;
    }
  return 0;
}

static void write_n(int fd, long n) {
  char buf[4096];
  memset(buf, 'x', sizeof(buf));
  while (n > 0) {
    ssize_t w = write(fd, buf, n < (long)sizeof(buf) ? (size_t)n : sizeof(buf));
    if (w <= 0)
      exit(4);
    n -= w;
  }
}

int main(int argc, char **argv) {
  const char *cmd = argc > 1 ? argv[1] : "";
  if (strcmp(cmd, "fds") == 0)
    return print_fds();
  if (strcmp(cmd, "env") == 0 && argc > 2) {
    const char *v = getenv(argv[2]);
    printf("%s\n", v ? v : "(unset)");
    return 0;
  }
  if (strcmp(cmd, "cwd") == 0) {
    char buf[4096];
    printf("%s\n", getcwd(buf, sizeof(buf)) ? buf : "?");
    return 0;
  }
  if (strcmp(cmd, "exit") == 0 && argc > 2)
    return atoi(argv[2]);
  if (strcmp(cmd, "kill") == 0 && argc > 2)
    raise(atoi(argv[2]));
  if (strcmp(cmd, "sid") == 0) {
    printf(getsid(0) == getpid() ? "same\n" : "other\n");
    return 0;
  }
  if (strcmp(cmd, "signals") == 0)
    return print_signals();
  if (strcmp(cmd, "cat") == 0)
    return cat();
  if (strcmp(cmd, "write") == 0 && argc > 2) {
    write_n(1, atol(argv[2]));
    if (argc > 3)
      write_n(2, atol(argv[3]));
    return 0;
  }
  if (strcmp(cmd, "ids") == 0) {
    printf("%d %d\n", (int)getuid(), (int)getgid());
    return 0;
  }
  if (strcmp(cmd, "sleep") == 0) {
    pause();
    return 0;
  }
  return 100;
}
