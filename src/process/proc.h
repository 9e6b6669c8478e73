/* Internal interface between signal.c and process.c. */
#ifndef ART_PROC_H
#define ART_PROC_H

#include <sys/types.h>

#include "internal.h"

/* Signals are 1..ART__NSIG-1. */
#define ART__NSIG 65

/* Registers fn as the loop's internal watcher of signum: fn runs in the
 * poll phase whenever the signal arrives, without a handle that would keep
 * the loop alive. One internal watcher per loop (process.c's SIGCHLD
 * fallback). 0 or a negative error. */
int art__signal_hook(art_loop_t *loop, int signum,
                     void (*fn)(art_loop_t *loop)) ART__HIDDEN;

/* Everything the child needs between clone and execve, prepared by the
 * parent so that the child allocates nothing and calls only system calls
 * (it may share the parent's memory: see process_child.c). */
typedef struct {
  const char *file; /* program, searched in path when it has no '/' */
  const char *path; /* PATH to search */
  char **args;      /* argv */
  char **env;       /* envp */
  const char *cwd;  /* NULL: stay */
  unsigned flags;   /* ART_PROCESS_* */
  uid_t uid;        /* with ART_PROCESS_SETUID */
  gid_t gid;        /* with ART_PROCESS_SETGID */
  int nfds;         /* stdio slots */
  int *fds;         /* per slot: the fd to install, or -1 */
  int *ignore;      /* per slot: 1 for ART_IGNORE (/dev/null for 0-2) */
  int errfd;        /* write end of the error pipe */
} art__child_ctx_t;

/* Runs in the child: sets up stdio, session, cwd, ids and signals, then
 * execs. On failure writes errno to ctx->errfd and exits 127. */
void art__child_exec(art__child_ctx_t *ctx) ART__HIDDEN
    __attribute__((noreturn));

#endif
