/* Child processes, signals and process information.
 * Included by asyncrt.h; include that, not this. */
/* Thread safety. Signal handles, child processes and art_exec belong to
 * their loop's thread. Several loops on several threads may watch signals
 * at once: the process-wide handler table is edited under a mutex and a
 * spinlock the handler shares (src/process/signal.c).
 * Any thread may call art_kill, art_getpid, art_getppid, art_getrusage,
 * art_resident_set_memory, art_uptime, art_available_parallelism (the
 * calling thread's affinity), art_cpu_info, art_free_cpu_info,
 * art_loadavg, art_total_memory, art_free_memory, art_os_gethostname,
 * art_cwd, art_exepath and art_constrained_memory: each reads /proc or
 * makes its system calls into memory of its own. art_os_getenv,
 * art_os_homedir, art_os_tmpdir and art_sd_notify read the environment,
 * which is safe as long as no thread changes it. Not thread-safe:
 * art_os_setenv, art_os_unsetenv and art_listen_fds (setenv(3)) and
 * art_chdir (it moves every thread's relative paths, pool workers'
 * included): call these from one thread at a time. */
#ifndef ASYNCRT_PROCESS_H
#define ASYNCRT_PROCESS_H

#include <sys/time.h>
#include <sys/types.h>

#include "core.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Signals: Node's process.on('SIGTERM').                                   */
/*                                                                          */
/* Any number of handles, on any number of loops and threads, may watch the */
/* same signal: each of them gets every delivery. The process-wide handler  */
/* only writes the signal number to a pipe of each loop that watches it;    */
/* the callbacks run in the poll phase of those loops. Signals of one kind  */
/* that arrive faster than the loop reads may coalesce, as POSIX signals    */
/* do.                                                                      */
/*                                                                          */
/* The first handle for a signal installs the handler (SA_RESTART, every    */
/* signal blocked while it runs); when the last one stops, the disposition  */
/* the signal had before is restored (the default, unless the program had   */
/* changed it).                                                             */
/*                                                                          */
/* SIGPIPE: the library never installs SIG_IGN behind the program's back.   */
/* Its own socket writes use MSG_NOSIGNAL and its pipe writes keep SIGPIPE  */
/* from being raised, so a write to a closed peer fails with ART_EPIPE      */
/* while SIGPIPE keeps whatever disposition the program chose.              */

typedef struct art_signal_s art_signal_t;
typedef void (*art_signal_cb)(art_signal_t *handle, int signum);

struct art_signal_s {
  ART_HANDLE_FIELDS
  int signum; /* read-only: the signal watched, 0 when stopped */
  /* private */
  art_signal_cb cb_;       /* art_signal_start's callback */
  int oneshot_;            /* stop before the next callback */
  struct art__queue node_; /* on the loop's list of started handles */
};

/* Initialises a signal handle (the caller's memory); 0, or ART_EINVAL for
 * NULL or a closed loop. */
ART_EXTERN int art_signal_init(art_loop_t *loop, art_signal_t *handle);

/* Starts watching signum (1-64, not SIGKILL or SIGSTOP: ART_EINVAL). A
 * started handle is moved to the new signal and callback. Errors of
 * sigaction (signals reserved by the C library) are returned as is. The
 * loop's first start makes its signal pipe and registers it with the
 * backend at once, so running out of fds (ART_EMFILE) or the backend
 * refusing the pipe (ART_ENOMEM, ART_ENOSPC) is this call's error; the
 * handle then stays stopped and no handler is installed. */
ART_EXTERN int art_signal_start(art_signal_t *handle, art_signal_cb cb,
                                int signum);

/* Like art_signal_start, but the handle stops itself just before its
 * callback runs, so the callback runs once. */
ART_EXTERN int art_signal_start_oneshot(art_signal_t *handle, art_signal_cb cb,
                                        int signum);

/* Stops watching; no callback runs after this returns, even for a signal
 * already received and not yet dispatched. */
ART_EXTERN int art_signal_stop(art_signal_t *handle);

/* ------------------------------------------------------------------------ */
/* Child processes: Node's child_process.spawn and execFile.                */

typedef struct art_process_s art_process_t;

/* exit_status is the child's exit code; term_signal the signal that killed
 * it (0 if it exited). ART_ECHILD as exit_status means something else in
 * the program reaped the child first. */
typedef void (*art_exit_cb)(art_process_t *process, int64_t exit_status,
                            int term_signal);

/* What a stdio slot of the child is. ART_CREATE_PIPE is combined with the
 * direction as the child sees it: ART_READABLE_PIPE for its stdin,
 * ART_WRITABLE_PIPE for stdout and stderr, both for a duplex channel. */
typedef enum {
  ART_IGNORE = 0x00,         /* /dev/null for 0-2, closed above */
  ART_CREATE_PIPE = 0x01,    /* a new socketpair: data.stream, an art_pipe_t
                                initialised and not opened, gets our end */
  ART_INHERIT_FD = 0x02,     /* data.fd, duplicated into the slot */
  ART_INHERIT_STREAM = 0x04, /* data.stream's fd, duplicated into the slot */
  ART_READABLE_PIPE = 0x10,  /* the child reads from the pipe */
  ART_WRITABLE_PIPE = 0x20,  /* the child writes to the pipe */
  ART_IPC = 0x40             /* the pipe can pass handles (an ipc pipe) */
} art_stdio_flags;

typedef struct {
  int flags; /* art_stdio_flags */
  union {
    art_stream_t *stream; /* ART_CREATE_PIPE, ART_INHERIT_STREAM */
    int fd;               /* ART_INHERIT_FD */
  } data;
} art_stdio_container_t;

enum {
  ART_PROCESS_SETUID = 1 << 0,  /* run the child as options.uid */
  ART_PROCESS_SETGID = 1 << 1,  /* run the child as options.gid */
  ART_PROCESS_DETACHED = 1 << 2 /* new session (setsid): survives us */
};

typedef struct {
  art_exit_cb exit_cb; /* may be NULL */
  const char *file;    /* searched in PATH when it has no '/' */
  char **args;         /* argv, NULL-terminated, args[0] required */
  char **env;          /* NULL-terminated "K=V"; NULL inherits ours */
  const char *cwd;     /* NULL: ours */
  unsigned flags;      /* ART_PROCESS_* */
  int stdio_count;     /* slots 0..stdio_count-1; the rest is closed */
  art_stdio_container_t *stdio;
  uid_t uid; /* with ART_PROCESS_SETUID */
  gid_t gid; /* with ART_PROCESS_SETGID */
} art_process_options_t;

struct art_process_s {
  ART_HANDLE_FIELDS
  int pid; /* read-only: the child's pid, 0 once it was reaped */
  /* private */
  art_exit_cb exit_cb_;    /* options.exit_cb */
  art__io_t io_;           /* the child's pidfd, readable when it exits */
  struct art__queue node_; /* on the loop's list of running children */
};

/* Starts a child process running options->file with options->args: no
 * shell is involved. Returns once the child has called execve, so every
 * failure up to and including execve is returned here: ART_ENOENT and
 * ART_EACCES for the program, the error of chdir for options->cwd, of
 * setuid/setgid, or of creating the pipes. ART_EINVAL for NULL arguments, a
 * missing args[0] or an unknown flag. On success the handle is active until
 * the child exits; exit_cb then runs exactly once (unless the handle is
 * closed first), in the poll phase, or in the pending phase when the loop
 * had to fall back to SIGCHLD because its backend refused to watch the
 * child's pidfd (docs/process.md, Reaping). When neither way of watching
 * the child can be set up, the child is killed and reaped here and the
 * backend's refusal (ART_ENOMEM, ART_ENOSPC) is returned.
 *
 * As with libuv, the handle is initialised first, success or not (unless
 * loop or process is NULL, or loop not initialised: then ART_EINVAL and
 * nothing is touched). After a failure it is an open, inactive handle with
 * no child (pid 0): close it with art_close before the loop closes or its
 * memory is used again; exit_cb never runs. Each art_pipe_t of an
 * ART_CREATE_PIPE slot stays the caller's and is closed with art_close as
 * usual, failure or not (after a failure it may hold an end of a pipe
 * whose other end is already closed). */
ART_EXTERN int art_spawn(art_loop_t *loop, art_process_t *process,
                         const art_process_options_t *options);

/* Sends signum to the child. ART_ESRCH once it has exited. */
ART_EXTERN int art_process_kill(art_process_t *process, int signum);

/* kill(2): signal 0 probes. ART_ESRCH, ART_EPERM, ART_EINVAL. */
ART_EXTERN int art_kill(int pid, int signum);

/* The child's pid (0 after it was reaped, or for NULL). */
ART_EXTERN int art_process_get_pid(const art_process_t *process);

/* art_exec: Node's execFile. Runs a program with its stdout and stderr
 * captured into buffers, optionally feeding it input, and calls back once
 * the child has exited and both outputs reached their end. */
typedef struct art_exec_s art_exec_t;

/* status: 0 when the child ran and its output was captured in full (look
 * at exit_status and term_signal for how it ended); ART_ENOBUFS when an
 * output exceeded max_buffer (the child was killed, the buffers hold the
 * first max_buffer bytes); ART_ETIMEDOUT when the timeout killed it; or the
 * error of reading an output or of writing the input (the child was
 * killed; ART_ENOMEM or ART_ENOSPC when the backend refused to watch the
 * pipe). A child's stdin closed before it read all its input is not an
 * error. The callback runs exactly once for every art_exec that returned
 * 0. The request may be reused or freed in the callback, after
 * art_exec_cleanup. */
typedef void (*art_exec_cb)(art_exec_t *req, int status);

typedef struct {
  char **env;        /* NULL inherits ours */
  const char *cwd;   /* NULL: ours */
  size_t max_buffer; /* bytes kept per output; 0 means 1 MiB */
  uint64_t timeout;  /* ms before the child is killed; 0: never */
  int kill_signal;   /* sent on overflow or timeout; 0 means SIGTERM */
  const char *input; /* written to the child's stdin, then closed; NULL:
                        stdin is /dev/null */
  size_t input_len;  /* bytes of input */
} art_exec_options_t;

struct art_exec_s {
  ART_REQ_FIELDS
  int64_t exit_status; /* as for art_exit_cb */
  int term_signal;     /* as for art_exit_cb */
  char *out;           /* stdout, NUL-terminated (NULL if empty) */
  size_t out_len;      /* bytes in out */
  char *err;           /* stderr, NUL-terminated (NULL if empty) */
  size_t err_len;      /* bytes in err */
  /* private */
  art_exec_cb cb_;           /* art_exec's callback */
  art_process_t process_;    /* the child */
  art_pipe_t pipes_[3];      /* stdin (when input is given), stdout, stderr */
  art_timer_t timer_;        /* the timeout */
  art_write_t write_;        /* the input */
  art_shutdown_t shutdown_;  /* end of input */
  size_t out_cap_, err_cap_; /* allocated sizes of out and err */
  size_t max_buffer_;        /* bytes kept per output */
  int kill_signal_;          /* sent on overflow or timeout */
  int status_;               /* for the callback */
  int eofs_;                 /* outputs finished (0-2) */
  int exited_;               /* exit_cb ran */
  int handles_;              /* internal handles not yet closed */
  int closing_;              /* closing the internal handles */
};

/* Starts file with args (as art_spawn: no shell). Errors of the spawn are
 * returned here and cb is then not called, and nothing needs closing (the
 * request's handles are internal); ART_EINVAL for NULL arguments.
 * While it runs the request keeps the loop alive. */
ART_EXTERN int art_exec(art_loop_t *loop, art_exec_t *req, const char *file,
                        char **args, const art_exec_options_t *options,
                        art_exec_cb cb);

/* Frees the captured buffers (out and err become NULL). */
ART_EXTERN void art_exec_cleanup(art_exec_t *req);

/* ------------------------------------------------------------------------ */
/* Process and system information: Node's process.* and os.*.              */

/* Resident set size of this process in bytes. */
ART_EXTERN int art_resident_set_memory(size_t *rss);

/* Seconds since this process started (Node's process.uptime()). */
ART_EXTERN int art_uptime(double *uptime);

/* CPU time and peak memory of this process. */
typedef struct {
  struct timeval utime; /* user CPU time */
  struct timeval stime; /* system CPU time */
  uint64_t maxrss;      /* peak resident set size, in KiB */
  uint64_t minflt;      /* page faults served without I/O */
  uint64_t majflt;      /* page faults that needed I/O */
  uint64_t nvcsw;       /* voluntary context switches */
  uint64_t nivcsw;      /* involuntary context switches */
} art_rusage_t;

/* Fills *usage for the calling process (getrusage(RUSAGE_SELF)); 0, or
 * ART_EINVAL for NULL. */
ART_EXTERN int art_getrusage(art_rusage_t *usage);

/* CPUs this thread may run on (its affinity mask), at least 1. */
ART_EXTERN unsigned art_available_parallelism(void);

/* One CPU's model, speed and times (ms) since boot. */
typedef struct {
  char *model; /* "unknown" when /proc/cpuinfo does not say */
  int speed;   /* MHz, 0 when unknown */
  struct {
    uint64_t user, nice, sys, idle, irq; /* ms in each state */
  } times;
} art_cpu_info_t;

/* Fills *infos with one entry per CPU; free with art_free_cpu_info. */
ART_EXTERN int art_cpu_info(art_cpu_info_t **infos, int *count);
/* Frees what art_cpu_info returned. */
ART_EXTERN void art_free_cpu_info(art_cpu_info_t *infos, int count);

/* 1, 5 and 15 minute load averages. */
ART_EXTERN int art_loadavg(double avg[3]);

/* Bytes of physical memory, and of memory available for new allocations;
 * 0 when unknown. */
ART_EXTERN uint64_t art_total_memory(void);
ART_EXTERN uint64_t art_free_memory(void);

/* The memory limit of this process's cgroup (v2 memory.max, or v1
 * memory.limit_in_bytes) in bytes; 0 when there is none. */
ART_EXTERN uint64_t art_constrained_memory(void);

/* The functions below that fill a caller's buffer take its size in *size.
 * On success *size is the length written, without the terminating NUL. If
 * the buffer is too small they return ART_ENOBUFS and set *size to the
 * size needed, NUL included. A NULL buffer with *size == 0 asks for the
 * size only: ART_ENOBUFS and the size needed (a NULL buffer with another
 * *size, or a NULL size, is ART_EINVAL).
 *
 *     size_t n = 0;
 *     if (art_cwd(NULL, &n) == ART_ENOBUFS && (buf = malloc(n)) != NULL)
 *       art_cwd(buf, &n);
 */
/* The host name. */
ART_EXTERN int art_os_gethostname(char *buffer, size_t *size);
/* The home folder: $HOME, else the password database's entry. */
ART_EXTERN int art_os_homedir(char *buffer, size_t *size);
/* The folder for temporary files: $TMPDIR, $TMP, $TEMP, $TEMPDIR or /tmp. */
ART_EXTERN int art_os_tmpdir(char *buffer, size_t *size);
/* The working directory. */
ART_EXTERN int art_cwd(char *buffer, size_t *size);
/* The path of the running executable. */
ART_EXTERN int art_exepath(char *buffer, size_t *size);

/* The value of the environment variable name. ART_ENOENT when the variable
 * is not set. */
ART_EXTERN int art_os_getenv(const char *name, char *buffer, size_t *size);
/* Set or remove an environment variable of this process (not thread-safe,
 * like setenv(3)): 0, or ART_EINVAL for an empty name or one containing
 * '='. */
ART_EXTERN int art_os_setenv(const char *name, const char *value);
ART_EXTERN int art_os_unsetenv(const char *name);

/* Changes the process's working directory: 0, ART_EINVAL for NULL, or the
 * error of chdir(2) (ART_ENOENT...). */
ART_EXTERN int art_chdir(const char *dir);

/* The process id and the parent's (they never fail). */
ART_EXTERN int art_getpid(void);
ART_EXTERN int art_getppid(void);

/* ------------------------------------------------------------------------ */
/* Service managers: systemd's socket activation, readiness and watchdog    */
/* protocols, spoken with libc only (no libsystemd).                        */
/*                                                                          */
/* The environment is treated as untrusted input: every variable is parsed  */
/* strictly (digits only, no sign or space, no overflow) and anything       */
/* malformed is ART_EINVAL rather than a guess. art_listen_fds unsets the   */
/* variables it reads, so it is not thread-safe (like setenv(3)): call it   */
/* once, early, from one thread. art_sd_notify may be called from any       */
/* thread while none changes the environment; art_sd_watchdog_start on the  */
/* timer's loop thread.                                                     */

/* The first inherited descriptor: passed sockets are 3, 4, ... */
#define ART_LISTEN_FDS_START 3
/* The longest name a socket unit's FileDescriptorName= may give. */
#define ART_LISTEN_FDNAME_MAX 255
/* The longest state art_sd_notify sends, in bytes. */
#define ART_SD_NOTIFY_MAX 4096

/* One socket passed by the service manager. */
typedef struct {
  int fd; /* ART_LISTEN_FDS_START + its index */
  /* Its name in LISTEN_FDNAMES, else "unknown". */
  char name[ART_LISTEN_FDNAME_MAX + 1];
} art_listen_fd_t;

/* Takes the sockets the service manager passed (sd_listen_fds(1)): when
 * LISTEN_PID is this process, LISTEN_FDS says how many descriptors from 3
 * up are inherited and LISTEN_FDNAMES, if set, names them (one name per
 * descriptor, ':'-separated, each 1..255 printable ASCII bytes without
 * ':'). Each descriptor must be an open socket; all of them are then made
 * close-on-exec and non-blocking, and written to fds[0..n). Returns n
 * (0 when nothing was passed, or it was passed to another process), or:
 * ART_EINVAL for fds NULL with max > 0, max < 0, or a malformed variable;
 * ART_ENOBUFS when more than max were passed; ART_EBADF for a descriptor
 * that is not open; ART_ENOTSOCK for one that is not a socket. On an error
 * no descriptor is changed. In every case LISTEN_PID, LISTEN_FDS and
 * LISTEN_FDNAMES are removed from the environment, so a child spawned
 * later does not take them for its own. Open a handle on each with
 * art_tcp_open or art_pipe_open, then art_listen (which keeps the
 * manager's bind and only sets the backlog). */
ART_EXTERN int art_listen_fds(art_listen_fd_t *fds, int max);

/* Sends state (newline-separated assignments: "READY=1", "STOPPING=1",
 * "WATCHDOG=1", "STATUS=...") to the service manager's NOTIFY_SOCKET, a
 * path or an abstract name written "@name". Returns 0 when sent, and 0
 * without doing anything when NOTIFY_SOCKET is unset or empty (not run by
 * a manager). ART_EINVAL for a NULL or empty state, one longer than
 * ART_SD_NOTIFY_MAX, or a NOTIFY_SOCKET that is neither form or does not
 * fit a socket address; ART_EAGAIN when the manager's queue is full (the
 * send never blocks); else the error of sendto(2) (ART_ECONNREFUSED,
 * ART_ENOENT...). Never raises SIGPIPE. */
ART_EXTERN int art_sd_notify(const char *state);

/* When the manager asks for watchdog pings (WATCHDOG_USEC set and
 * WATCHDOG_PID, if set, this process), starts timer, which the caller
 * initialised with art_timer_init, repeating at half of WATCHDOG_USEC
 * (at least 1 ms) to send "WATCHDOG=1", and unreferences it: it never
 * keeps the loop alive. Stores the interval in ms in *interval_ms (may be
 * NULL), or 0 when no watchdog is asked for and the timer is untouched.
 * Returns 0, ART_EINVAL for a malformed or zero variable or a timer that
 * cannot start. Stop or close the timer to stop the pings. */
ART_EXTERN int art_sd_watchdog_start(art_timer_t *timer, uint64_t *interval_ms);

#ifdef __cplusplus
}
#endif

#endif
