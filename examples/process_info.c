/* Node's process.memoryUsage(), process.cpuUsage(), process.uptime() and a
 * few of the os module's answers, from libasyncrt. The cpuUsage delta is
 * taken around some busy work, the way Node programs measure it. */
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>

#include "asyncrt.h"

static int64_t usec(struct timeval tv) {
  return (int64_t)tv.tv_sec * 1000000 + tv.tv_usec;
}

static void print_string(const char *label,
                         int (*fn)(char *buf, size_t *size)) {
  char buf[PATH_MAX];
  size_t size = sizeof(buf);
  int err = fn(buf, &size);
  printf("%-18s %s\n", label, err ? art_err_name(err) : buf);
}

int main(void) {
  size_t rss;
  double uptime, load[3];
  art_rusage_t before, after;
  if (art_resident_set_memory(&rss) || art_getrusage(&before))
    return 1;
  printf("memoryUsage()      { rss: %zu }\n", rss);

  volatile double x = 0; /* a little CPU work to measure */
  for (int i = 0; i < 20000000; i++)
    x += i * 0.5;
  (void)x; /* read once: Clang counts "x +=" alone as set but never used */
  if (art_getrusage(&after) || art_uptime(&uptime) || art_loadavg(load))
    return 1;
  printf("cpuUsage(previous) { user: %" PRId64 ", system: %" PRId64 " }\n",
         usec(after.utime) - usec(before.utime),
         usec(after.stime) - usec(before.stime));
  printf("maxRSS             %" PRIu64 " KiB\n", after.maxrss);
  printf("uptime()           %.3f s\n", uptime);
  printf("pid / ppid         %d / %d\n", art_getpid(), art_getppid());
  print_string("execPath", art_exepath);
  print_string("cwd()", art_cwd);
  print_string("os.hostname()", art_os_gethostname);
  print_string("os.homedir()", art_os_homedir);
  print_string("os.tmpdir()", art_os_tmpdir);
  printf("availableParallelism %u\n", art_available_parallelism());
  printf("os.loadavg()       %.2f %.2f %.2f\n", load[0], load[1], load[2]);
  printf("os.totalmem()      %" PRIu64 "\n", art_total_memory());
  printf("os.freemem()       %" PRIu64 "\n", art_free_memory());
  printf("constrainedMemory  %" PRIu64 "\n", art_constrained_memory());

  art_cpu_info_t *cpus;
  int count;
  if (art_cpu_info(&cpus, &count))
    return 1;
  for (int i = 0; i < count; i++)
    printf("cpu %d: %s, %d MHz, user %" PRIu64 " ms, idle %" PRIu64 " ms\n", i,
           cpus[i].model, cpus[i].speed, cpus[i].times.user,
           cpus[i].times.idle);
  art_free_cpu_info(cpus, count);
  return 0;
}
