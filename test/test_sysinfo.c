/* Process and system information, checked against /proc and libc. */
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "helpers/harness.h"

static long proc_status_kb(const char *key) {
  char line[256];
  long v = -1;
  FILE *f = fopen("/proc/self/status", "r");
  assert_non_null(f);
  while (fgets(line, sizeof(line), f))
    if (strncmp(line, key, strlen(key)) == 0)
      sscanf(line + strlen(key), ": %ld", &v);
  fclose(f);
  return v;
}

ART_TEST(rss_matches_proc) {
  size_t rss;
  assert_int_equal(art_resident_set_memory(NULL), ART_EINVAL);
  assert_int_equal(art_resident_set_memory(&rss), 0);
  long kb = proc_status_kb("VmRSS");
  assert_true(kb > 0);
  /* Both are snapshots: allow 4 MiB of drift between the two reads. */
  assert_true(labs((long)(rss / 1024) - kb) < 4096);
}

ART_TEST(uptime_is_process_uptime) {
  double up, up2;
  assert_int_equal(art_uptime(NULL), ART_EINVAL);
  assert_int_equal(art_uptime(&up), 0);
  assert_true(up >= 0 && up < 60); /* this test process just started */
  usleep(20000);
  assert_int_equal(art_uptime(&up2), 0);
  assert_true(up2 >= up);
}

ART_TEST(rusage_matches_libc) {
  art_rusage_t ru;
  struct rusage libc;
  assert_int_equal(art_getrusage(NULL), ART_EINVAL);
  volatile unsigned long spin = 0;
  for (unsigned long i = 0; i < 20000000ul; i++)
    spin += i;
  (void)spin; /* read once: Clang counts "spin +=" alone as set but unused */
  assert_int_equal(art_getrusage(&ru), 0);
  getrusage(RUSAGE_SELF, &libc);
  double ours = ru.utime.tv_sec + ru.utime.tv_usec / 1e6;
  double theirs = libc.ru_utime.tv_sec + libc.ru_utime.tv_usec / 1e6;
  double sys = ru.stime.tv_sec + ru.stime.tv_usec / 1e6;
  /* The spin is charged to user or system time depending on how the kernel
   * samples under load; together they cannot be zero. */
  assert_true(ours + sys > 0 && ours <= theirs);
  assert_true(ru.maxrss > 0 && ru.maxrss <= (uint64_t)libc.ru_maxrss);
  assert_true(ru.stime.tv_usec < 1000000);
}

ART_TEST(parallelism_matches_affinity) {
  cpu_set_t set;
  assert_int_equal(sched_getaffinity(0, sizeof(set), &set), 0);
  assert_int_equal(art_available_parallelism(), (unsigned)CPU_COUNT(&set));
}

ART_TEST(cpu_info_matches_proc) {
  art_cpu_info_t *cpus;
  int n;
  assert_int_equal(art_cpu_info(NULL, &n), ART_EINVAL);
  assert_int_equal(art_cpu_info(&cpus, NULL), ART_EINVAL);
  assert_int_equal(art_cpu_info(&cpus, &n), 0);
  assert_int_equal(n, (int)sysconf(_SC_NPROCESSORS_ONLN));
  for (int i = 0; i < n; i++) {
    assert_non_null(cpus[i].model);
    assert_true(strlen(cpus[i].model) > 0);
    assert_true(cpus[i].speed >= 0);
    assert_true(cpus[i].times.user + cpus[i].times.sys + cpus[i].times.idle >
                0);
  }
  art_free_cpu_info(cpus, n);
  art_free_cpu_info(NULL, 0);
}

ART_TEST(loadavg_matches_libc) {
  double ours[3], theirs[3];
  assert_int_equal(art_loadavg(NULL), ART_EINVAL);
  assert_int_equal(art_loadavg(ours), 0);
  assert_int_equal(getloadavg(theirs, 3), 3);
  for (int i = 0; i < 3; i++)
    assert_true(ours[i] >= 0 && ours[i] < theirs[i] + 1.0 &&
                ours[i] > theirs[i] - 1.0);
}

ART_TEST(memory_matches_sysconf) {
  uint64_t total = art_total_memory();
  uint64_t pages = (uint64_t)sysconf(_SC_PHYS_PAGES) * sysconf(_SC_PAGESIZE);
  assert_true(total > 0);
  assert_true(total <= pages + 4096 * 1024 && total + 4096 * 1024 >= pages);
  uint64_t fr = art_free_memory();
  assert_true(fr > 0 && fr <= total);
  uint64_t limit = art_constrained_memory(); /* 0 when unconstrained */
  assert_true(limit == 0 || limit >= 4096);
}

ART_TEST(hostname_matches_libc) {
  char ours[256], theirs[256];
  size_t size = sizeof(ours);
  assert_int_equal(gethostname(theirs, sizeof(theirs)), 0);
  assert_int_equal(art_os_gethostname(ours, &size), 0);
  assert_string_equal(ours, theirs);
  assert_int_equal(size, strlen(theirs));
  size = 1;
  assert_int_equal(art_os_gethostname(ours, &size), ART_ENOBUFS);
  assert_int_equal(size, strlen(theirs) + 1);
  assert_int_equal(art_os_gethostname(ours, NULL), ART_EINVAL);
}

ART_TEST(env_with_size_negotiation) {
  char buf[8];
  size_t size = sizeof(buf);
  assert_int_equal(art_os_setenv("ART_TEST_VAR", "0123456789"), 0);
  assert_string_equal(getenv("ART_TEST_VAR"), "0123456789");
  assert_int_equal(art_os_getenv("ART_TEST_VAR", buf, &size), ART_ENOBUFS);
  assert_int_equal(size, 11);
  size = 0;
  assert_int_equal(art_os_getenv("ART_TEST_VAR", NULL, &size), ART_ENOBUFS);
  assert_int_equal(size, 11);
  char big[11];
  size = sizeof(big);
  assert_int_equal(art_os_getenv("ART_TEST_VAR", big, &size), 0);
  assert_string_equal(big, "0123456789");
  assert_int_equal(size, 10);
  assert_int_equal(art_os_unsetenv("ART_TEST_VAR"), 0);
  assert_null(getenv("ART_TEST_VAR"));
  size = sizeof(big);
  assert_int_equal(art_os_getenv("ART_TEST_VAR", big, &size), ART_ENOENT);
  assert_int_equal(art_os_setenv("", "x"), ART_EINVAL);
  assert_int_equal(art_os_setenv("A=B", "x"), ART_EINVAL);
  assert_int_equal(art_os_setenv("A", NULL), ART_EINVAL);
  assert_int_equal(art_os_setenv(NULL, "x"), ART_EINVAL);
  assert_int_equal(art_os_unsetenv(NULL), ART_EINVAL);
  assert_int_equal(art_os_getenv(NULL, big, &size), ART_EINVAL);
  assert_int_equal(art_os_getenv("PATH", NULL, NULL), ART_EINVAL);
}

ART_TEST(homedir_and_tmpdir) {
  char buf[PATH_MAX];
  size_t size = sizeof(buf);
  char *saved = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
  setenv("HOME", "/some/home", 1);
  assert_int_equal(art_os_homedir(buf, &size), 0);
  assert_string_equal(buf, "/some/home");
  unsetenv("HOME"); /* falls back to the password database */
  size = sizeof(buf);
  assert_int_equal(art_os_homedir(buf, &size), 0);
  assert_true(buf[0] == '/');
  if (saved != NULL) {
    setenv("HOME", saved, 1);
    free(saved);
  }
  char *tmp = getenv("TMPDIR") ? strdup(getenv("TMPDIR")) : NULL;
  setenv("TMPDIR", "/var/tmpx/", 1);
  size = sizeof(buf);
  assert_int_equal(art_os_tmpdir(buf, &size), 0);
  assert_string_equal(buf, "/var/tmpx");
  unsetenv("TMPDIR");
  if (getenv("TMP") == NULL && getenv("TEMP") == NULL &&
      getenv("TEMPDIR") == NULL) {
    size = sizeof(buf);
    assert_int_equal(art_os_tmpdir(buf, &size), 0);
    assert_string_equal(buf, "/tmp");
  }
  if (tmp != NULL) {
    setenv("TMPDIR", tmp, 1);
    free(tmp);
  }
}

ART_TEST(cwd_and_chdir) {
  char before[PATH_MAX], buf[PATH_MAX], dir[] = "/tmp/art-sysinfo-XXXXXX";
  size_t size = sizeof(before);
  assert_int_equal(art_cwd(before, &size), 0);
  assert_string_equal(before, getcwd(buf, sizeof(buf)));
  assert_non_null(mkdtemp(dir));
  assert_int_equal(art_chdir(dir), 0);
  size = sizeof(buf);
  assert_int_equal(art_cwd(buf, &size), 0);
  char real[PATH_MAX];
  assert_non_null(realpath(dir, real));
  assert_string_equal(buf, real);
  size = 3;
  assert_int_equal(art_cwd(buf, &size), ART_ENOBUFS);
  assert_int_equal(size, strlen(real) + 1);
  assert_int_equal(art_chdir(before), 0);
  assert_int_equal(rmdir(dir), 0);
  assert_int_equal(art_chdir("/nonexistent/dir"), ART_ENOENT);
  assert_int_equal(art_chdir(NULL), ART_EINVAL);
}

ART_TEST(exepath_and_pids) {
  char buf[PATH_MAX], link[PATH_MAX];
  size_t size = sizeof(buf);
  ssize_t n = readlink("/proc/self/exe", link, sizeof(link) - 1);
  assert_true(n > 0);
  link[n] = '\0';
  assert_int_equal(art_exepath(buf, &size), 0);
  assert_string_equal(buf, link);
  assert_non_null(strstr(buf, "test_sysinfo"));
  assert_int_equal(art_getpid(), getpid());
  assert_int_equal(art_getppid(), getppid());
}
