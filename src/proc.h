/* Internal interface between signal.c and process.c. */
#ifndef ART_PROC_H
#define ART_PROC_H

#include "internal.h"

/* Signals are 1..ART__NSIG-1. */
#define ART__NSIG 65

/* Registers fn as the loop's internal watcher of signum: fn runs in the
 * poll phase whenever the signal arrives, without a handle that would keep
 * the loop alive. One internal watcher per loop (process.c's SIGCHLD
 * fallback). 0 or a negative error. */
int art__signal_hook(art_loop_t *loop, int signum,
                     void (*fn)(art_loop_t *loop)) ART__HIDDEN;

/* Area hooks called by art_loop_close. */
void art__signal_loop_close(art_loop_t *loop) ART__HIDDEN;
void art__process_loop_close(art_loop_t *loop) ART__HIDDEN;

#endif
