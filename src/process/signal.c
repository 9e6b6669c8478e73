/* art_signal_t: signals delivered to loops.
 *
 * How a signal travels, and why:
 * 1. One process-wide handler per signal, installed when the first handle
 *    of any loop starts watching it. The handler may interrupt any thread at
 *    any instruction, so it does only async-signal-safe work: it writes the
 *    signal number (one byte) to the pipe of every loop watching it, and
 *    keeps errno as it found it.
 * 2. The handler walks a global list of per-loop states. Editors change the
 *    list and the per-loop masks with every signal blocked in their thread
 *    and under a spinlock; the handler takes the same spinlock. A handler
 *    on another thread spins for the few instructions of an edit, and one on
 *    the editing thread cannot run, so the handler never sees a torn list
 *    and never deadlocks.
 * 3. Each loop reads its pipe in the poll phase and calls the callbacks of
 *    its handles for that signal. The pipe is non-blocking: if it ever fills
 *    (64 KiB of undelivered signals), further ones coalesce, as POSIX
 *    signals do.
 * 4. A mutex serialises editors (handles on several threads) and the
 *    sigaction calls, with the count of loops watching each signal.
 * 5. After fork the pipes are shared with the parent. The handler writes
 *    only to the pipes of states made in its own process (pid), so a
 *    signal to the child never reaches the parent's loops; art_loop_fork
 *    gives the child's loop a pipe of its own (signal_loop_fork). Only the
 *    forking thread exists in the child, so the locks are reset there.
 */
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "proc.h"

ART__DECLARE_HANDLE_OPS(signal);

/* Per-loop state: the area's extension, signal_ext. */
typedef struct sig_loop_s {
  art_loop_t *loop;
  int rfd;                       /* read end, watched by the loop */
  int wfd;                       /* write end, written by the handler */
  art__io_t io;                  /* watcher of rfd */
  uint64_t mask;                 /* bit n-1: signal n watched (spinlock) */
  unsigned counts[ART__NSIG];    /* started handles (and hook) per signal */
  struct art__queue handles;     /* started art_signal_t of this loop */
  pid_t pid;                     /* the process the pipe belongs to */
  int hook_signum;               /* art__signal_hook's signal, or 0 */
  void (*hook_fn)(art_loop_t *); /* and its function */
  struct sig_loop_s *next;       /* on sig_loops (spinlock) */
} sig_loop_t;

static pthread_mutex_t sig_mutex = PTHREAD_MUTEX_INITIALIZER;
static int sig_spin;                  /* 0 free, 1 held */
static sig_loop_t *sig_loops;         /* states with a pipe, for the handler */
static unsigned sig_users[ART__NSIG]; /* loops per signal */
static struct sigaction sig_saved[ART__NSIG]; /* dispositions before */

static void spin_lock(void) {
  while (__atomic_exchange_n(&sig_spin, 1, __ATOMIC_ACQUIRE))
    ;
}

static void spin_unlock(void) {
  __atomic_store_n(&sig_spin, 0, __ATOMIC_RELEASE);
}

/* The process-wide handler. Only write(2) on non-blocking pipes. */
static void sig_handler(int signum) {
  int saved = errno;
  unsigned char byte = (unsigned char)signum;
  uint64_t bit = 1ull << (signum - 1);
  pid_t self = getpid();
  spin_lock();
  for (sig_loop_t *s = sig_loops; s != NULL; s = s->next)
    if ((s->mask & bit) && s->pid == self) { /* note 5 */
      ssize_t r;
      do
        r = write(s->wfd, &byte, 1);
      while (r == -1 && errno == EINTR);
    }
  spin_unlock();
  errno = saved;
}

/* Runs fn(s, arg) under the spinlock with every signal blocked. */
static void edit_locked(void (*fn)(sig_loop_t *, uint64_t), sig_loop_t *s,
                        uint64_t arg) {
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  spin_lock();
  fn(s, arg);
  spin_unlock();
  pthread_sigmask(SIG_SETMASK, &old, NULL);
}

static void set_bits(sig_loop_t *s, uint64_t bits) {
  s->mask |= bits;
}

static void clear_bits(sig_loop_t *s, uint64_t bits) {
  s->mask &= ~bits;
}

static void link_state(sig_loop_t *s, uint64_t unused) {
  s->next = sig_loops;
  sig_loops = s;
}

static void unlink_state(sig_loop_t *s, uint64_t unused) {
  for (sig_loop_t **p = &sig_loops; *p != NULL; p = &(*p)->next)
    if (*p == s) {
      *p = s->next;
      return;
    }
}

static void deliver(sig_loop_t *s, int signum);

/* Reads signal numbers from the pipe and delivers each. */
static void pipe_cb(art_loop_t *loop, art__io_t *w, unsigned events) {
  sig_loop_t *s = art__container_of(w, sig_loop_t, io);
  unsigned char buf[128];
  for (;;) {
    ssize_t n = read(w->fd, buf, sizeof(buf));
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    for (ssize_t i = 0; i < n; i++)
      if (buf[i] > 0 && buf[i] < ART__NSIG)
        deliver(s, buf[i]);
    if ((size_t)n < sizeof(buf))
      return;
  }
}

static void signal_loop_close(art_loop_t *loop, void *state);
static int signal_loop_fork(art_loop_t *loop, void *state);

/* The signal area's per-loop state. */
static const art__ext_t signal_ext = {"signal", signal_loop_close,
                                      signal_loop_fork};

/* In the child, only the forking thread exists: no editor or handler of
 * another thread can hold the locks any more (note 5). */
static void atfork_child(void) {
  pthread_mutex_init(&sig_mutex, NULL);
  __atomic_store_n(&sig_spin, 0, __ATOMIC_RELAXED);
}

static void install_atfork(void) {
  pthread_atfork(NULL, NULL, atfork_child);
}

/* A pipe for s's loop: non-blocking, close-on-exec, watched now, so that
 * a backend that refuses it (ENOMEM, ENOSPC) is an error to the caller
 * instead of signals that silently never come. */
static int open_pipe(art_loop_t *loop, sig_loop_t *s) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == -1)
    return -errno;
  art__io_init(&s->io, pipe_cb, fds[0]);
  int err = art__io_start_now(loop, &s->io, ART_READABLE);
  if (err) {
    art__close_fd(fds[0]);
    art__close_fd(fds[1]);
    return err;
  }
  s->rfd = fds[0];
  s->wfd = fds[1];
  return 0;
}

static void set_pid(sig_loop_t *s, uint64_t pid) {
  s->pid = (pid_t)pid;
}

/* The parent's pipe is closed in the child, never read: the watcher has
 * nothing registered in the child's new backend. */
static int signal_loop_fork(art_loop_t *loop, void *state) {
  sig_loop_t *s = state;
  art__io_close(loop, &s->io);
  art__close_fd(s->rfd);
  art__close_fd(s->wfd);
  s->rfd = s->wfd = -1;
  int err = open_pipe(loop, s);
  if (err == 0)
    edit_locked(set_pid, s, (uint64_t)getpid());
  return err;
}

/* The loop's state, created with its pipe on first use. */
static int get_state(art_loop_t *loop, sig_loop_t **out) {
  sig_loop_t *s = art__ext_get(loop, &signal_ext);
  if (s != NULL) {
    *out = s;
    return 0;
  }
  static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
  pthread_once(&atfork_once, install_atfork);
  s = art__calloc(1, sizeof(*s));
  if (s == NULL)
    return ART_ENOMEM;
  s->loop = loop;
  s->pid = getpid();
  art__queue_init(&s->handles);
  /* The pipe's mask never changes after open_pipe, so no later refusal can
   * silence it. */
  int err = open_pipe(loop, s);
  if (err) {
    art__free(s);
    return err;
  }
  if ((err = art__ext_set(loop, &signal_ext, s)) != 0) {
    art__io_close(loop, &s->io);
    art__close_fd(s->rfd);
    art__close_fd(s->wfd);
    art__free(s);
    return err;
  }
  pthread_mutex_lock(&sig_mutex);
  edit_locked(link_state, s, 0);
  pthread_mutex_unlock(&sig_mutex);
  *out = s;
  return 0;
}

/* Installs the handler for signum, remembering what was there. */
static int install(int signum) {
  struct sigaction sa;
  memset(&sa, 0, sizeof(sa));
  sa.sa_handler = sig_handler;
  sa.sa_flags = SA_RESTART;
  sigfillset(&sa.sa_mask);
  if (sigaction(signum, &sa, &sig_saved[signum]) == -1)
    return -errno;
  return 0;
}

/* One more watcher of signum on s's loop. The first one on the loop sets
 * its mask bit; the first loop installs the handler. */
static int watch(sig_loop_t *s, int signum) {
  if (s->counts[signum]++ > 0)
    return 0;
  int err = 0;
  pthread_mutex_lock(&sig_mutex);
  if (sig_users[signum] == 0)
    err = install(signum);
  if (err == 0) {
    sig_users[signum]++;
    edit_locked(set_bits, s, 1ull << (signum - 1));
  }
  pthread_mutex_unlock(&sig_mutex);
  if (err)
    s->counts[signum]--;
  return err;
}

/* One watcher less; the last loop restores the old disposition. */
static void unwatch(sig_loop_t *s, int signum) {
  if (--s->counts[signum] > 0)
    return;
  pthread_mutex_lock(&sig_mutex);
  edit_locked(clear_bits, s, 1ull << (signum - 1));
  if (--sig_users[signum] == 0)
    sigaction(signum, &sig_saved[signum], NULL);
  pthread_mutex_unlock(&sig_mutex);
}

/* Calls the callback of every handle of the loop watching signum. The list
 * is moved aside and each handle put back before its callback, so that
 * callbacks may stop, close or start any handle. */
static void deliver(sig_loop_t *s, int signum) {
  if (s->counts[signum] == 0)
    return;
  if (s->hook_signum == signum)
    s->hook_fn(s->loop); /* internal: its user callbacks take the path */
  art__queue_t local;
  art__queue_move(&s->handles, &local);
  while (!art__queue_empty(&local)) {
    art__queue_t *q = art__queue_head(&local);
    art__queue_remove(q);
    art__queue_insert_tail(&s->handles, q);
    art_signal_t *h = art__container_of(q, art_signal_t, node_);
    if (h->signum != signum)
      continue;
    if (h->oneshot_)
      art_signal_stop(h);
    ART__CALLBACK(h, h->cb_, (h, signum));
  }
}

static int valid_signum(int signum) {
  return signum > 0 && signum < ART__NSIG && signum != SIGKILL &&
         signum != SIGSTOP;
}

int art_signal_init(art_loop_t *loop, art_signal_t *h) {
  if (!art__loop_usable(loop) || h == NULL)
    return ART_EINVAL;
  art__handle_init(loop, (art_handle_t *)h, &art__signal_ops);
  h->signum = 0;
  h->cb_ = NULL;
  h->oneshot_ = 0;
  art__queue_init(&h->node_);
  return 0;
}

static int start(art_signal_t *h, art_signal_cb cb, int signum, int oneshot) {
  if (!art__handle_usable((art_handle_t *)h) || h->type != ART_SIGNAL ||
      cb == NULL || !valid_signum(signum))
    return ART_EINVAL;
  sig_loop_t *s = NULL; /* set by get_state; gcc -O3 cannot tell */
  int err = get_state(h->loop, &s);
  if (err)
    return err;
  if (h->signum != signum) {
    err = watch(s, signum); /* before unwatching: no gap in the handler */
    if (err)
      return err;
    art_signal_stop(h);
    h->signum = signum;
    art__queue_insert_tail(&s->handles, &h->node_);
  }
  h->cb_ = cb;
  h->oneshot_ = oneshot;
  art__handle_capture((art_handle_t *)h);
  art__handle_start((art_handle_t *)h);
  return 0;
}

int art_signal_start(art_signal_t *h, art_signal_cb cb, int signum) {
  return start(h, cb, signum, 0);
}

int art_signal_start_oneshot(art_signal_t *h, art_signal_cb cb, int signum) {
  return start(h, cb, signum, 1);
}

/* Stops h watching its signal, if it does. */
static void stop_watching(art_signal_t *h) {
  if (h->signum == 0)
    return;
  unwatch(art__ext_get(h->loop, &signal_ext), h->signum);
  art__queue_remove(&h->node_);
  h->signum = 0;
  art__handle_stop((art_handle_t *)h);
}

/* As every stop: 0 and nothing done on a closing or closed handle (its
 * close stopped it). */
int art_signal_stop(art_signal_t *h) {
  if (!art__handle_is((art_handle_t *)h, ART_SIGNAL))
    return ART_EINVAL;
  if (art__handle_usable((art_handle_t *)h))
    stop_watching(h);
  return 0;
}

int art__signal_hook(art_loop_t *loop, int signum,
                     void (*fn)(art_loop_t *loop)) {
  sig_loop_t *s = NULL; /* set by get_state; gcc -O3 cannot tell */
  int err = get_state(loop, &s);
  if (err)
    return err;
  if (s->hook_signum != 0)
    return ART_EBUSY;
  err = watch(s, signum);
  if (err)
    return err;
  s->hook_signum = signum;
  s->hook_fn = fn;
  return 0;
}

static void signal_close(art_handle_t *h) {
  stop_watching((art_signal_t *)h);
}

/* Releases the loop's pipe; only the internal hook can still be watching
 * (every handle was closed before art_loop_close got here). */
static void signal_loop_close(art_loop_t *loop, void *state) {
  sig_loop_t *s = state;
  if (s->hook_signum != 0)
    unwatch(s, s->hook_signum);
  pthread_mutex_lock(&sig_mutex);
  edit_locked(unlink_state, s, 0);
  pthread_mutex_unlock(&sig_mutex);
  art__io_close(loop, &s->io);
  art__close_fd(s->rfd);
  art__close_fd(s->wfd);
  art__free(s);
}

const art__handle_ops_t art__signal_ops = {
    ART_SIGNAL, "signal", sizeof(art_signal_t), signal_close, NULL, NULL, NULL};
