/* Process and system information: Node's process.memoryUsage(),
 * cpuUsage(), uptime() and the os module. Linux reads most of it from
 * /proc and /sys; every file is read with one open/read/close into a stack
 * buffer, so none of these functions allocate except art_cpu_info. */
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* Reads up to cap-1 bytes of path into buf, NUL-terminated. Returns the
 * length or a negative error. */
static ssize_t read_file(const char *path, char *buf, size_t cap) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return -errno;
  size_t len = 0;
  while (len < cap - 1) {
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    len += (size_t)n;
  }
  art__close_fd(fd);
  buf[len] = '\0';
  return (ssize_t)len;
}

/* Copies src to the caller's buffer with the size negotiation described in
 * asyncrt/process.h. A NULL buffer with *size 0 just asks for the size. */
static int copy_out(const char *src, char *buf, size_t *size) {
  if (size == NULL || (buf == NULL && *size != 0))
    return ART_EINVAL;
  size_t len = strlen(src);
  if (len + 1 > *size) {
    *size = len + 1;
    return ART_ENOBUFS;
  }
  memcpy(buf, src, len + 1);
  *size = len;
  return 0;
}

int art_resident_set_memory(size_t *rss) {
  char buf[256];
  unsigned long pages_total, pages_rss;
  if (rss == NULL)
    return ART_EINVAL;
  ssize_t n = read_file("/proc/self/statm", buf, sizeof(buf));
  if (n < 0)
    return (int)n;
  if (sscanf(buf, "%lu %lu", &pages_total, &pages_rss) != 2)
    return ART_EIO;
  *rss = (size_t)pages_rss * (size_t)sysconf(_SC_PAGESIZE);
  return 0;
}

/* Field 22 of /proc/self/stat: when the process started, in clock ticks
 * since boot. The command name (field 2) may hold spaces and parentheses,
 * so counting starts after its last ')'. */
static int start_ticks(unsigned long long *ticks) {
  char buf[1024];
  ssize_t n = read_file("/proc/self/stat", buf, sizeof(buf));
  if (n < 0)
    return (int)n;
  char *p = strrchr(buf, ')');
  if (p == NULL)
    return ART_EIO;
  for (int field = 3; field <= 22; field++) { /* p: the space before it */
    p = strchr(p + 1, ' ');
    if (p == NULL)
      return ART_EIO;
  }
  if (sscanf(p + 1, "%llu", ticks) != 1)
    return ART_EIO;
  return 0;
}

int art_uptime(double *uptime) {
  unsigned long long ticks;
  struct timespec now;
  if (uptime == NULL)
    return ART_EINVAL;
  int err = start_ticks(&ticks);
  if (err)
    return err;
  if (clock_gettime(CLOCK_BOOTTIME, &now) == -1)
    return -errno;
  double since_boot = (double)now.tv_sec + (double)now.tv_nsec / 1e9;
  *uptime = since_boot - (double)ticks / (double)sysconf(_SC_CLK_TCK);
  if (*uptime < 0)
    *uptime = 0;
  return 0;
}

int art_getrusage(art_rusage_t *usage) {
  struct rusage ru;
  if (usage == NULL)
    return ART_EINVAL;
  if (getrusage(RUSAGE_SELF, &ru) == -1)
    return -errno;
  usage->utime = ru.ru_utime;
  usage->stime = ru.ru_stime;
  usage->maxrss = (uint64_t)ru.ru_maxrss;
  usage->minflt = (uint64_t)ru.ru_minflt;
  usage->majflt = (uint64_t)ru.ru_majflt;
  usage->nvcsw = (uint64_t)ru.ru_nvcsw;
  usage->nivcsw = (uint64_t)ru.ru_nivcsw;
  return 0;
}

unsigned art_available_parallelism(void) {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0)
      return (unsigned)n;
  }
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? (unsigned)n : 1;
}

int art_loadavg(double avg[3]) {
  char buf[128];
  if (avg == NULL)
    return ART_EINVAL;
  ssize_t n = read_file("/proc/loadavg", buf, sizeof(buf));
  if (n < 0)
    return (int)n;
  if (sscanf(buf, "%lf %lf %lf", &avg[0], &avg[1], &avg[2]) != 3)
    return ART_EIO;
  return 0;
}

/* A "Key:   N kB" line of /proc/meminfo, in bytes; 0 if absent. */
static uint64_t meminfo(const char *key) {
  char buf[4096];
  if (read_file("/proc/meminfo", buf, sizeof(buf)) < 0)
    return 0;
  size_t klen = strlen(key);
  for (char *line = buf; line != NULL && *line; line = strchr(line, '\n')) {
    if (*line == '\n')
      line++;
    unsigned long long kb;
    if (strncmp(line, key, klen) == 0 && line[klen] == ':' &&
        sscanf(line + klen + 1, "%llu", &kb) == 1)
      return (uint64_t)kb * 1024;
  }
  return 0;
}

uint64_t art_total_memory(void) {
  return meminfo("MemTotal");
}

uint64_t art_free_memory(void) {
  uint64_t avail = meminfo("MemAvailable");
  return avail != 0 ? avail : meminfo("MemFree");
}

/* Reads a limit file: a number of bytes, or "max". Limits of 2^62 and up
 * are cgroup v1's way of saying "none". */
static uint64_t read_limit(const char *path) {
  char buf[64];
  unsigned long long v;
  if (read_file(path, buf, sizeof(buf)) <= 0)
    return 0;
  if (sscanf(buf, "%llu", &v) != 1 || v >= (1ull << 62))
    return 0;
  return (uint64_t)v;
}

/* Finds this process's cgroup in /proc/self/cgroup: the v2 line "0::/path",
 * or the v1 line of the memory controller, and reads its limit. */
uint64_t art_constrained_memory(void) {
  char buf[4096], path[PATH_MAX + 64];
  if (read_file("/proc/self/cgroup", buf, sizeof(buf)) < 0)
    return 0;
  char *save = NULL; /* strtok_r: callable from any thread */
  for (char *line = strtok_r(buf, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    char *rel;
    if (strncmp(line, "0::", 3) == 0) {
      rel = line + 3;
      snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.max", rel);
      uint64_t v = read_limit(path);
      return v != 0 ? v : read_limit("/sys/fs/cgroup/memory.max");
    }
    char *ctl = strchr(line, ':');
    if (ctl != NULL && strncmp(ctl + 1, "memory:", 7) == 0) {
      rel = ctl + 8;
      snprintf(path, sizeof(path),
               "/sys/fs/cgroup/memory%s/memory.limit_in_bytes", rel);
      uint64_t v = read_limit(path);
      return v != 0 ? v
                    : read_limit("/sys/fs/cgroup/memory/memory.limit_in_bytes");
    }
  }
  return 0;
}

int art_os_gethostname(char *buffer, size_t *size) {
  char name[HOST_NAME_MAX + 1];
  if (gethostname(name, sizeof(name)) == -1)
    return -errno;
  name[HOST_NAME_MAX] = '\0';
  return copy_out(name, buffer, size);
}

/* A name setenv accepts: not empty, no '='. */
static int valid_env_name(const char *name) {
  return name != NULL && *name != '\0' && strchr(name, '=') == NULL;
}

int art_os_getenv(const char *name, char *buffer, size_t *size) {
  if (!valid_env_name(name))
    return ART_EINVAL;
  const char *v = getenv(name);
  if (v == NULL)
    return ART_ENOENT;
  return copy_out(v, buffer, size);
}

int art_os_setenv(const char *name, const char *value) {
  if (!valid_env_name(name) || value == NULL)
    return ART_EINVAL;
  return setenv(name, value, 1) == 0 ? 0 : -errno;
}

int art_os_unsetenv(const char *name) {
  if (!valid_env_name(name))
    return ART_EINVAL;
  return unsetenv(name) == 0 ? 0 : -errno;
}

/* $HOME when set, else the password database's entry for our uid. */
int art_os_homedir(char *buffer, size_t *size) {
  const char *home = getenv("HOME");
  if (home != NULL && *home != '\0')
    return copy_out(home, buffer, size);
  char pwbuf[4096];
  struct passwd pw, *found = NULL;
  int err = getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &found);
  if (err != 0)
    return -err;
  if (found == NULL || pw.pw_dir == NULL)
    return ART_ENOENT;
  return copy_out(pw.pw_dir, buffer, size);
}

/* Node's os.tmpdir(): TMPDIR, TMP, TEMP, TEMPDIR, else /tmp; no trailing
 * slash except for "/" itself. */
int art_os_tmpdir(char *buffer, size_t *size) {
  static const char *const vars[] = {"TMPDIR", "TMP", "TEMP", "TEMPDIR"};
  const char *dir = "/tmp";
  for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
    const char *v = getenv(vars[i]);
    if (v != NULL && *v != '\0') {
      dir = v;
      break;
    }
  }
  char tmp[PATH_MAX];
  size_t len = strlen(dir);
  if (len >= sizeof(tmp))
    return ART_ENAMETOOLONG;
  memcpy(tmp, dir, len + 1);
  if (len > 1 && tmp[len - 1] == '/')
    tmp[len - 1] = '\0';
  return copy_out(tmp, buffer, size);
}

int art_cwd(char *buffer, size_t *size) {
  char dir[PATH_MAX];
  if (getcwd(dir, sizeof(dir)) == NULL)
    return -errno;
  return copy_out(dir, buffer, size);
}

int art_chdir(const char *dir) {
  if (dir == NULL)
    return ART_EINVAL;
  return chdir(dir) == 0 ? 0 : -errno;
}

int art_exepath(char *buffer, size_t *size) {
  char path[PATH_MAX];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  if (n == -1)
    return -errno;
  path[n] = '\0';
  return copy_out(path, buffer, size);
}

int art_getpid(void) {
  return (int)getpid();
}

int art_getppid(void) {
  return (int)getppid();
}

/* Reads a whole /proc file into a buffer from art__malloc (its size is not
 * known in advance: /proc reports 0). */
static char *slurp(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd == -1)
    return NULL;
  size_t cap = 16384, len = 0;
  char *buf = art__malloc(cap);
  while (buf != NULL) {
    if (len + 1 == cap) {
      char *bigger = art__realloc(buf, cap * 2);
      if (bigger == NULL) {
        art__free(buf);
        buf = NULL;
        break;
      }
      buf = bigger;
      cap *= 2;
    }
    ssize_t n = read(fd, buf + len, cap - 1 - len);
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0) {
      buf[len] = '\0';
      break;
    }
    len += (size_t)n;
  }
  art__close_fd(fd);
  return buf;
}

/* Fills the times of each "cpuN" line of /proc/stat; returns the count. */
static int parse_stat(const char *text, art_cpu_info_t *out, int max) {
  int n = 0;
  uint64_t mult = 1000 / (uint64_t)sysconf(_SC_CLK_TCK);
  for (const char *line = text; line != NULL && *line;) {
    unsigned idx;
    unsigned long long user, nice, sys, idle, iowait, irq;
    if (strncmp(line, "cpu", 3) == 0 && line[3] >= '0' && line[3] <= '9' &&
        sscanf(line + 3, "%u %llu %llu %llu %llu %llu %llu", &idx, &user, &nice,
               &sys, &idle, &iowait, &irq) == 7) {
      if (out != NULL && n < max) {
        out[n].times.user = user * mult;
        out[n].times.nice = nice * mult;
        out[n].times.sys = sys * mult;
        out[n].times.idle = idle * mult;
        out[n].times.irq = irq * mult;
      }
      n++;
    }
    line = strchr(line, '\n');
    if (line != NULL)
      line++;
  }
  return n;
}

/* The value after "key<tabs>: " on a /proc/cpuinfo line, or NULL. */
static const char *cpuinfo_value(const char *line, const char *key) {
  size_t klen = strlen(key);
  if (strncmp(line, key, klen) != 0)
    return NULL;
  line += klen;
  while (*line == ' ' || *line == '\t')
    line++;
  return *line == ':' ? line + 1 + (line[1] == ' ') : NULL;
}

/* Model names and MHz from /proc/cpuinfo, in processor order. */
static int parse_cpuinfo(const char *text, art_cpu_info_t *out, int count) {
  int models = 0, speeds = 0;
  for (const char *line = text; line != NULL && *line;) {
    const char *end = strchr(line, '\n');
    size_t len = end ? (size_t)(end - line) : strlen(line);
    const char *v;
    if ((v = cpuinfo_value(line, "model name")) != NULL && models < count) {
      size_t vlen = len - (size_t)(v - line);
      char *m = art__malloc(vlen + 1);
      if (m == NULL)
        return ART_ENOMEM;
      memcpy(m, v, vlen);
      m[vlen] = '\0';
      out[models++].model = m;
    } else if ((v = cpuinfo_value(line, "cpu MHz")) != NULL && speeds < count) {
      out[speeds++].speed = atoi(v);
    }
    line = end ? end + 1 : NULL;
  }
  return 0;
}

void art_free_cpu_info(art_cpu_info_t *infos, int count) {
  if (infos == NULL)
    return;
  for (int i = 0; i < count; i++)
    art__free(infos[i].model);
  art__free(infos);
}

int art_cpu_info(art_cpu_info_t **infos, int *count) {
  if (infos == NULL || count == NULL)
    return ART_EINVAL;
  char *stat = slurp("/proc/stat");
  if (stat == NULL)
    return ART_ENOMEM;
  int n = parse_stat(stat, NULL, 0);
  if (n == 0) {
    art__free(stat);
    return ART_EIO;
  }
  art_cpu_info_t *out = art__calloc((size_t)n, sizeof(*out));
  char *cpuinfo = out != NULL ? slurp("/proc/cpuinfo") : NULL;
  int err = cpuinfo == NULL ? ART_ENOMEM : 0;
  if (err == 0) {
    parse_stat(stat, out, n);
    err = parse_cpuinfo(cpuinfo, out, n);
  }
  for (int i = 0; err == 0 && i < n; i++)
    if (out[i].model == NULL && (out[i].model = art__strdup("unknown")) == NULL)
      err = ART_ENOMEM;
  art__free(stat);
  art__free(cpuinfo);
  if (err) {
    art_free_cpu_info(out, n);
    return err;
  }
  *infos = out;
  *count = n;
  return 0;
}
