/* art_process_t: spawning children and reaping them.
 *
 * Notes:
 * 1. Creating the child. Release builds use clone(CLONE_VM | CLONE_VFORK)
 *    on a per-loop stack: no page tables are copied, so a spawn costs the
 *    same whatever the parent's size. Sanitizer builds use fork(), because
 *    the sanitizers' runtimes cannot follow a child sharing their memory.
 *    posix_spawn is not used: it cannot set up a new session together with
 *    ids and arbitrary fd slots and report which step failed on every libc.
 *    The child's side is in process_child.c.
 * 2. Errors. The child writes errno to a close-on-exec pipe if any step up
 *    to execve fails; a successful execve closes the pipe. The parent reads
 *    it after clone returns, so art_spawn returns ENOENT, EACCES, a chdir
 *    error... directly and reaps the failed child at once.
 * 3. Reaping. Each child gets a pidfd (pidfd_open), watched by the loop:
 *    readable means exited, and waitpid on that one pid reaps it. Signals go
 *    through pidfd_send_signal, so a recycled pid is never hit. Kernels
 *    without pidfd (or ART_PROCESS_NO_PIDFD in the environment, for tests)
 *    fall back to a SIGCHLD watcher that polls each child of the loop with
 *    waitpid(pid, WNOHANG); waitpid(-1) is never called, so children
 *    spawned by other code are left alone. A loop whose backend refuses
 *    to watch a pidfd (epoll_ctl's ENOMEM or ENOSPC) switches to that same
 *    SIGCHLD polling for all its children from then on, so an exit never
 *    depends on a registration that failed (reap_by_sigchld).
 * 4. A process handle closed while its child runs hands the child to the
 *    loop's orphan list, which reaps it when it exits (while the loop runs),
 *    so closing never leaves a zombie behind.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proc.h"

ART__DECLARE_HANDLE_OPS(process);

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ART__SPAWN_FORK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define ART__SPAWN_FORK 1
#endif
#endif

#define CHILD_STACK_SIZE (64 * 1024)
#define MAX_STDIO        1024
#define DEFAULT_PATH     "/usr/local/bin:/usr/bin:/bin"

/* A child whose handle was closed before it exited. */
typedef struct {
  art__io_t io;           /* its pidfd, or fd -1 in SIGCHLD mode */
  int pid;                /* to reap */
  struct art__queue node; /* on proc_loop_t.orphans */
} orphan_t;

/* Per-loop state: the area's extension, process_ext. */
typedef struct {
  art_loop_t *loop;           /* the loop it belongs to */
  struct art__queue children; /* running art_process_t */
  struct art__queue orphans;  /* orphan_t */
  int use_pidfd;              /* 0: SIGCHLD fallback from the start */
  int by_sigchld;             /* SIGCHLD polls the children (hook made) */
  int check_queued;           /* check is on the pending queue */
  art__pending_t check;       /* one poll of every child, see note 3 */
  char *stack;                /* the clone child's stack */
} proc_loop_t;

static void child_exited(art_loop_t *loop, art__io_t *w, unsigned events);
static void reap_all(art_loop_t *loop);

static int pidfd_open(int pid) {
  return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* Whether this kernel has pidfd_open (asked once per process). Only
 * ENOSYS, or EPERM from a seccomp filter, says no: a process out of fds
 * (EMFILE) when it first asks must not lose pidfds for good, so any other
 * failure answers yes without remembering, and the spawn's own pidfd_open
 * then reports it. */
static int pidfd_supported(void) {
  static int supported = -1; /* atomic: -1 unknown, 0, 1 */
  int s = __atomic_load_n(&supported, __ATOMIC_RELAXED);
  if (s >= 0)
    return s;
  int fd = pidfd_open(getpid());
  if (fd >= 0)
    art__close_fd(fd);
  else if (errno != ENOSYS && errno != EPERM)
    return 1;
  s = fd >= 0;
  __atomic_store_n(&supported, s, __ATOMIC_RELAXED);
  return s;
}

static void process_loop_close(art_loop_t *loop, void *state);

/* The process area's per-loop state. In SIGCHLD mode from the start it
 * registers after the signal area's (the hook is made first), so it closes
 * before it; a loop that falls back to SIGCHLD later has the signal area
 * registered after it, closing first. Either order is safe: closing the
 * process area calls nothing of the signal area. */
static int process_loop_fork(art_loop_t *loop, void *state);
static const art__ext_t process_ext = {"process", process_loop_close,
                                       process_loop_fork};

static int get_state(art_loop_t *loop, proc_loop_t **out) {
  proc_loop_t *st = art__ext_get(loop, &process_ext);
  if (st != NULL) {
    *out = st;
    return 0;
  }
  st = art__calloc(1, sizeof(*st));
  if (st == NULL)
    return ART_ENOMEM;
#ifndef ART__SPAWN_FORK
  st->stack = art__malloc(CHILD_STACK_SIZE);
  if (st->stack == NULL) {
    art__free(st);
    return ART_ENOMEM;
  }
#endif
  st->loop = loop;
  art__queue_init(&st->children);
  art__queue_init(&st->orphans);
  st->use_pidfd = pidfd_supported() && getenv("ART_PROCESS_NO_PIDFD") == NULL;
  if (!st->use_pidfd) {
    int err = art__signal_hook(loop, SIGCHLD, reap_all);
    if (err) {
      art__free(st->stack);
      art__free(st);
      return err;
    }
    st->by_sigchld = 1;
  }
  int err = art__ext_set(loop, &process_ext, st);
  if (err) { /* the SIGCHLD hook stays: it finds no state and does nothing */
    art__free(st->stack);
    art__free(st);
    return err;
  }
  *out = st;
  return 0;
}

/* ---- Reaping. ---- */

/* waitpid for one pid without blocking: 1 and *status if it was reaped, 0
 * if it still runs, ART_ECHILD if someone else reaped it. */
static int try_reap(int pid, int *status) {
  int r;
  do
    r = waitpid(pid, status, WNOHANG);
  while (r == -1 && errno == EINTR);
  if (r == pid)
    return 1;
  return r == 0 ? 0 : ART_ECHILD;
}

/* The child is gone: stop watching it and run exit_cb once. */
static void finish(art_process_t *p, int reaped, int status) {
  int64_t exit_status = 0;
  int term_signal = 0;
  art__queue_remove(&p->node_);
  if (p->io_.fd >= 0) {
    art__io_close(p->loop, &p->io_);
    art__close_fd(p->io_.fd);
    p->io_.fd = -1;
  }
  p->pid = 0;
  art__handle_stop((art_handle_t *)p);
  if (reaped < 0)
    exit_status = reaped;
  else if (WIFEXITED(status))
    exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    term_signal = WTERMSIG(status);
  if (p->exit_cb_ != NULL) {
    ART__CALLBACK(p, p->exit_cb_, (p, exit_status, term_signal));
  }
}

/* pidfd readable: the child exited. */
static void child_exited(art_loop_t *loop, art__io_t *w, unsigned events) {
  art_process_t *p = art__container_of(w, art_process_t, io_);
  int status = 0;
  int r = try_reap(p->pid, &status);
  if (r != 0)
    finish(p, r, status);
}

static void free_orphan(art_loop_t *loop, orphan_t *o) {
  art__queue_remove(&o->node);
  if (o->io.fd >= 0) {
    art__io_close(loop, &o->io);
    art__close_fd(o->io.fd);
  }
  art__free(o);
}

static void orphan_exited(art_loop_t *loop, art__io_t *w, unsigned events) {
  orphan_t *o = art__container_of(w, orphan_t, io);
  int status;
  if (try_reap(o->pid, &status) != 0)
    free_orphan(loop, o);
}

/* SIGCHLD fallback: poll every child and orphan of the loop. The list is
 * moved aside first: exit callbacks may spawn or close processes. */
static void reap_all(art_loop_t *loop) {
  proc_loop_t *st = art__ext_get(loop, &process_ext);
  if (st == NULL)
    return;
  art__queue_t local, *q, *next;
  for (q = st->orphans.next; q != &st->orphans; q = next) {
    next = q->next;
    orphan_t *o = art__container_of(q, orphan_t, node);
    int status;
    if (try_reap(o->pid, &status) != 0)
      free_orphan(loop, o);
  }
  art__queue_move(&st->children, &local);
  while (!art__queue_empty(&local)) {
    q = art__queue_head(&local);
    art__queue_remove(q);
    art__queue_insert_tail(&st->children, q);
    art_process_t *p = art__container_of(q, art_process_t, node_);
    int status = 0;
    int r = try_reap(p->pid, &status);
    if (r != 0)
      finish(p, r, status);
  }
}

static void check_children(art__pending_t *pending) {
  proc_loop_t *st = art__container_of(pending, proc_loop_t, check);
  st->check_queued = 0;
  reap_all(st->loop);
}

/* The backend refused to watch a pidfd: the loop's children are reaped on
 * SIGCHLD from now on (note 3), those with a watched pidfd too, which is
 * harmless. A child may have exited before the handler was there, its
 * SIGCHLD lost, so every child is also polled once in the next pending
 * phase. An error if the SIGCHLD watcher cannot be made either. */
static int reap_by_sigchld(art_loop_t *loop, proc_loop_t *st) {
  if (!st->by_sigchld) {
    int err = art__signal_hook(loop, SIGCHLD, reap_all);
    if (err)
      return err;
    st->by_sigchld = 1;
  }
  if (!st->check_queued) {
    st->check_queued = 1;
    art__pending_add(loop, &st->check, check_children);
  }
  return 0;
}

/* ---- Spawning. ---- */

/* The PATH the child searches: the one of the environment it gets. */
static const char *search_path(char **env) {
  if (env == NULL) {
    const char *p = getenv("PATH");
    return p != NULL ? p : DEFAULT_PATH;
  }
  for (; *env != NULL; env++)
    if (strncmp(*env, "PATH=", 5) == 0)
      return *env + 5;
  return DEFAULT_PATH;
}

/* A stdio slot is valid: ignore, an open fd, an open stream, or a pipe to
 * create on an initialised, unopened art_pipe_t (an ipc one for ART_IPC). */
static int check_slot(const art_stdio_container_t *s) {
  const int pipe_bits =
      ART_CREATE_PIPE | ART_READABLE_PIPE | ART_WRITABLE_PIPE | ART_IPC;
  const art_pipe_t *pp = (const art_pipe_t *)s->data.stream;
  switch (s->flags & (ART_CREATE_PIPE | ART_INHERIT_FD | ART_INHERIT_STREAM)) {
  case 0:
    return s->flags == ART_IGNORE ? 0 : ART_EINVAL;
  case ART_INHERIT_FD:
    return s->flags == ART_INHERIT_FD && s->data.fd >= 0 ? 0 : ART_EINVAL;
  case ART_INHERIT_STREAM:
    return s->flags == ART_INHERIT_STREAM && s->data.stream != NULL &&
                   art__handle_usable((const art_handle_t *)s->data.stream) &&
                   s->data.stream->io_.fd >= 0
               ? 0
               : ART_EINVAL;
  case ART_CREATE_PIPE:
    if ((s->flags & ~pipe_bits) != 0 || pp == NULL ||
        !art__handle_usable((const art_handle_t *)pp) ||
        pp->type != ART_NAMED_PIPE || pp->io_.fd >= 0 ||
        ((s->flags & ART_IPC) != 0) != (pp->ipc != 0))
      return ART_EINVAL;
    return 0;
  default:
    return ART_EINVAL;
  }
}

static int check_options(const art_loop_t *loop,
                         const art_process_options_t *o) {
  const unsigned known =
      ART_PROCESS_SETUID | ART_PROCESS_SETGID | ART_PROCESS_DETACHED;
  if (o == NULL || o->file == NULL || o->args == NULL || o->args[0] == NULL ||
      (o->flags & ~known) != 0 || o->stdio_count < 0 ||
      o->stdio_count > MAX_STDIO || (o->stdio_count > 0 && o->stdio == NULL))
    return ART_EINVAL;
  for (int i = 0; i < o->stdio_count; i++) {
    int err = check_slot(&o->stdio[i]);
    if (err)
      return err;
    if (o->stdio[i].flags & ART_CREATE_PIPE &&
        o->stdio[i].data.stream->loop != loop)
      return ART_EINVAL;
  }
  return 0;
}

/* Closes the fds prepare_stdio created: the child's ends always, ours
 * (pairs[2i]) too when the spawn failed. */
static void release_pipes(const art_process_options_t *o, int *pairs,
                          int ours_too) {
  for (int i = 0; i < o->stdio_count; i++) {
    art__close_fd(pairs[2 * i + 1]);
    pairs[2 * i + 1] = -1;
    if (ours_too) {
      art__close_fd(pairs[2 * i]);
      pairs[2 * i] = -1;
    }
  }
}

/* Fills the child's slot table from the options, creating the pipes: a
 * socketpair per ART_CREATE_PIPE slot (duplex, so one kind serves every
 * direction and handle passing), pairs[2i] ours, pairs[2i+1] the child's.
 * Every pair starts as "none" before the first socketpair can fail, since
 * a failure closes the whole table: a slot not reached yet must not name
 * whatever fd the memory happened to hold. */
static int prepare_stdio(art__child_ctx_t *c, const art_process_options_t *o,
                         int *pairs) {
  for (int i = 0; i < 2 * o->stdio_count; i++)
    pairs[i] = -1;
  for (int i = 0; i < o->stdio_count; i++) {
    const art_stdio_container_t *s = &o->stdio[i];
    c->ignore[i] = s->flags == ART_IGNORE;
    c->fds[i] = -1;
    if (s->flags & ART_INHERIT_FD)
      c->fds[i] = s->data.fd;
    else if (s->flags & ART_INHERIT_STREAM)
      c->fds[i] = s->data.stream->io_.fd;
    else if (s->flags & ART_CREATE_PIPE) {
      if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pairs + 2 * i)) {
        int err = -errno;
        release_pipes(o, pairs, 1);
        return err;
      }
      c->fds[i] = pairs[2 * i + 1];
    }
  }
  return 0;
}

/* Hands our end of each created pipe to its art_pipe_t. */
static int open_pipes(const art_process_options_t *o, int *pairs) {
  for (int i = 0; i < o->stdio_count; i++) {
    if (pairs[2 * i] < 0)
      continue;
    int err =
        art_pipe_open((art_pipe_t *)o->stdio[i].data.stream, pairs[2 * i]);
    if (err)
      return err;
    pairs[2 * i] = -1; /* the stream owns it now */
  }
  return 0;
}

#ifndef ART__SPAWN_FORK
static int clone_entry(void *arg) {
  art__child_exec(arg);
}
#endif

/* Creates the child with every signal blocked (see process_child.c);
 * returns its pid or a negative error. */
static int start_child(proc_loop_t *st, art__child_ctx_t *c) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
#ifdef ART__SPAWN_FORK
  int pid = fork();
  if (pid == 0)
    art__child_exec(c);
#else
  int pid = clone(clone_entry, st->stack + CHILD_STACK_SIZE,
                  CLONE_VM | CLONE_VFORK | SIGCHLD, c);
#endif
  int err = pid == -1 ? -errno : pid;
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  return err;
}

/* After execve or a failure the pipe holds errno or nothing (EOF). A child
 * that failed is reaped here, at once. */
static int child_error(int fd, int pid) {
  int err = 0;
  ssize_t r;
  do
    r = read(fd, &err, sizeof(err));
  while (r == -1 && errno == EINTR);
  if (r != (ssize_t)sizeof(err))
    return 0;
  while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
    ;
  return err > 0 ? -err : ART_EIO;
}

/* Runs the child through execve; its pid, or the error it met. */
static int run_child(proc_loop_t *st, art__child_ctx_t *c) {
  int ep[2];
  if (pipe2(ep, O_CLOEXEC) == -1)
    return -errno;
  c->errfd = ep[1];
  int pid = start_child(st, c);
  art__close_fd(ep[1]);
  if (pid > 0) {
    int err = child_error(ep[0], pid);
    if (err)
      pid = err;
  }
  art__close_fd(ep[0]);
  return pid;
}

/* Kills and reaps a child that cannot be watched. */
static int abandon(int pid, int fd, int err) {
  kill(pid, SIGKILL);
  while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
    ;
  art__close_fd(fd);
  return err;
}

/* Makes p a running, watched child. Its pidfd is registered at once, so
 * that a refusal is known here: the loop then reaps by SIGCHLD, and the
 * pidfd stays for art_process_kill. A child that cannot be watched either
 * way is killed, since it could never be reaped, and the refusal is the
 * spawn's error. */
static int watch_child(art_loop_t *loop, proc_loop_t *st, art_process_t *p,
                       const art_process_options_t *o, int pid) {
  int fd = -1;
  if (st->use_pidfd && (fd = pidfd_open(pid)) == -1)
    return abandon(pid, -1, -errno);
  art__io_init(&p->io_, child_exited, fd);
  if (fd >= 0) {
    int err = art__io_start_now(loop, &p->io_, ART_READABLE);
    if (err && reap_by_sigchld(loop, st) != 0)
      return abandon(pid, fd, err);
  }
  p->pid = pid;
  p->exit_cb_ = o->exit_cb;
  art__queue_insert_tail(&st->children, &p->node_);
  art__handle_start((art_handle_t *)p);
  return 0;
}

/* What art_spawn needs per slot: the child's fd and ignore flag, and the
 * socketpair fds. Up to 8 slots live on the stack. */
typedef struct {
  int small[4 * 8];
  int *mem; /* small, or art__malloc'd for more slots */
} slot_mem_t;

static int slot_mem_init(slot_mem_t *m, int n) {
  m->mem = m->small;
  if (n > 8 && (m->mem = art__malloc(4 * sizeof(int) * (size_t)n)) == NULL)
    return ART_ENOMEM;
  return 0;
}

/* After the child started: give our pipe ends to their streams and watch
 * the child; undo everything if either fails. */
static int adopt_child(art_loop_t *loop, proc_loop_t *st, art_process_t *p,
                       const art_process_options_t *o, int pid, int *pairs) {
  int err = open_pipes(o, pairs);
  if (err) {
    release_pipes(o, pairs, 1);
    return abandon(pid, -1, err);
  }
  return watch_child(loop, st, p, o, pid);
}

/* The handle as a failed spawn leaves it, and a successful one starts
 * from: open, inactive, no child. */
static void init_handle(art_loop_t *loop, art_process_t *p) {
  art__handle_init(loop, (art_handle_t *)p, &art__process_ops);
  p->pid = 0;
  p->exit_cb_ = NULL;
  art__io_init(&p->io_, child_exited, -1);
  art__queue_init(&p->node_);
}

/* The handle is initialised before anything can fail, as libuv's
 * uv_spawn does: whatever the outcome, the caller then has one thing to
 * do, art_close, and it is always safe. */
int art_spawn(art_loop_t *loop, art_process_t *p,
              const art_process_options_t *o) {
  proc_loop_t *st = NULL;
  slot_mem_t m;
  if (!art__loop_usable(loop) || p == NULL)
    return ART_EINVAL;
  init_handle(loop, p);
  int err = check_options(loop, o);
  if (err == 0)
    err = get_state(loop, &st);
  if (err == 0)
    err = slot_mem_init(&m, o->stdio_count);
  if (err)
    return err;
  int n = o->stdio_count, *pairs = m.mem + 2 * n;
  art__child_ctx_t c = {.file = o->file,
                        .path = search_path(o->env),
                        .args = o->args,
                        .env = o->env,
                        .cwd = o->cwd,
                        .flags = o->flags,
                        .uid = o->uid,
                        .gid = o->gid,
                        .nfds = n,
                        .fds = m.mem,
                        .ignore = m.mem + n};
  int pid = prepare_stdio(&c, o, pairs);
  if (pid == 0)
    pid = run_child(st, &c);
  if (pid > 0) {
    release_pipes(o, pairs, 0); /* the child's ends: it has its copies */
    err = adopt_child(loop, st, p, o, pid, pairs);
  } else {
    release_pipes(o, pairs, 1);
    err = pid;
  }
  if (m.mem != m.small)
    art__free(m.mem);
  return err;
}

int art_process_kill(art_process_t *p, int signum) {
  if (!art__handle_usable((art_handle_t *)p) || p->type != ART_PROCESS ||
      signum < 0 || signum >= ART__NSIG)
    return ART_EINVAL;
  if (p->pid == 0)
    return ART_ESRCH;
  long r;
  if (p->io_.fd >= 0)
    r = syscall(SYS_pidfd_send_signal, p->io_.fd, signum, NULL, 0);
  else
    r = kill(p->pid, signum);
  return r == 0 ? 0 : -errno;
}

int art_kill(int pid, int signum) {
  if (signum < 0 || signum >= ART__NSIG)
    return ART_EINVAL;
  return kill(pid, signum) == 0 ? 0 : -errno;
}

int art_process_get_pid(const art_process_t *p) {
  return p == NULL || p->type != ART_PROCESS ? 0 : p->pid;
}

/* ---- Close. ---- */

/* A child still running when its handle closes becomes an orphan of the
 * loop, reaped when it exits. */
static void adopt(art_loop_t *loop, proc_loop_t *st, art_process_t *p) {
  int fd = p->io_.fd;
  if (fd >= 0)
    art__io_close(loop, &p->io_);
  orphan_t *o = art__malloc(sizeof(*o));
  if (o == NULL) { /* cannot keep track: it will stay a zombie */
    art__close_fd(fd);
    return;
  }
  o->pid = p->pid;
  art__io_init(&o->io, orphan_exited, fd);
  art__queue_insert_tail(&st->orphans, &o->node);
  /* Refused, SIGCHLD reaps it; failing that too, it stays listed, and the
   * loop's close reaps it if it has exited by then. */
  if (fd >= 0 && art__io_start_now(loop, &o->io, ART_READABLE) != 0)
    reap_by_sigchld(loop, st);
}

static void process_close(art_handle_t *h) {
  art_process_t *p = (art_process_t *)h;
  if (p->pid == 0)
    return;
  art__queue_remove(&p->node_);
  adopt(p->loop, art__ext_get(p->loop, &process_ext), p);
  p->io_.fd = -1;
  p->pid = 0;
}

/* Reaps the orphans that have exited and forgets the others. */
static void process_loop_close(art_loop_t *loop, void *state) {
  proc_loop_t *st = state;
  while (!art__queue_empty(&st->orphans)) {
    orphan_t *o =
        art__container_of(art__queue_head(&st->orphans), orphan_t, node);
    int status;
    try_reap(o->pid, &status);
    free_orphan(loop, o);
  }
  art__free(st->stack);
  art__free(st);
}

/* In a child after fork, the loop's children and orphans are the parent's:
 * waitpid cannot reap them here and a signal through their pidfd would
 * reach the parent's child. Each handle stops, with pid 0 and no exit
 * callback, and is left for the program to close; orphans are forgotten. */
static int process_loop_fork(art_loop_t *loop, void *state) {
  proc_loop_t *st = state;
  while (!art__queue_empty(&st->orphans))
    free_orphan(
        loop, art__container_of(art__queue_head(&st->orphans), orphan_t, node));
  while (!art__queue_empty(&st->children)) {
    art_process_t *p =
        art__container_of(art__queue_head(&st->children), art_process_t, node_);
    art__queue_remove(&p->node_);
    art__queue_init(&p->node_);
    if (p->io_.fd >= 0) {
      art__io_close(loop, &p->io_);
      art__close_fd(p->io_.fd);
      p->io_.fd = -1;
    }
    p->pid = 0;
    art__handle_stop((art_handle_t *)p);
  }
  return 0;
}

const art__handle_ops_t art__process_ops = {
    ART_PROCESS, "process", sizeof(art_process_t), process_close, NULL,
    NULL,        NULL};
