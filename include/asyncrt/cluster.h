/* Cluster: one listening address served by several worker processes, as
 * Node's cluster module. Included by asyncrt.h; include that, not this.
 *
 * A primary process calls art_cluster_start; it starts N copies of a
 * program (by default its own executable, /proc/self/exe) as workers, each
 * with an IPC pipe to the primary as its fd 3 and ART_CLUSTER_ENV in its
 * environment. The worker's main sees art_cluster_is_worker() return 1
 * and calls art_cluster_worker_start instead of art_cluster_start.
 *
 * Two modes decide who spreads the connections:
 *   ART_CLUSTER_ROUNDROBIN  the primary listens and accepts, and hands each
 *                           connection to the next ready worker over its IPC
 *                           pipe (Node's default): an exact rotation.
 *   ART_CLUSTER_REUSEPORT   the primary opens one SO_REUSEPORT listener per
 *                           worker slot and gives it to the slot's worker,
 *                           which accepts from it: the kernel balances by
 *                           a hash of the connection. The primary keeps its
 *                           copy of each listener, so connections queued on
 *                           a slot survive its worker dying or being
 *                           replaced and are served by the next one.
 *
 * Workers that exit are restarted with an exponential backoff; a reload
 * (art_cluster_reload or SIGHUP) replaces them one at a time, each new one
 * ready before the old one is told to drain; a stop (art_cluster_stop or
 * SIGTERM) drains them all and kills what is left after a grace period.
 * Primary and workers exchange messages (bytes, at most
 * ART_CLUSTER_MAX_MESSAGE) over the same pipe. docs/multicore.md has the
 * details and the measured spread of each mode.
 *
 * Thread safety: everything here belongs to the loop's thread. */
#ifndef ASYNCRT_CLUSTER_H
#define ASYNCRT_CLUSTER_H

#include "core.h"
#include "process.h"
#include "stream.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The environment variable that marks a worker; its value is the worker's
 * id, a decimal number from 1 to 2^53. */
#define ART_CLUSTER_ENV "ART_CLUSTER_WORKER"
/* At most this many workers in one cluster. */
#define ART_CLUSTER_MAX_WORKERS 256
/* The largest message art_cluster_send and art_cluster_worker_send take, in
 * bytes; a longer frame on the pipe is refused as hostile. */
#define ART_CLUSTER_MAX_MESSAGE 65536

typedef enum {
  ART_CLUSTER_ROUNDROBIN = 0, /* the primary accepts and deals */
  ART_CLUSTER_REUSEPORT = 1   /* the kernel balances SO_REUSEPORT sockets */
} art_cluster_mode;

/* art_cluster_options_t.flags */
enum {
  /* The cluster watches SIGHUP (reload) and SIGTERM and SIGINT (stop)
   * until it has stopped. */
  ART_CLUSTER_SIGNALS = 1 << 0
};

typedef struct art_cluster_s art_cluster_t;
typedef struct art_cluster_worker_s art_cluster_worker_t;

/* The primary's callbacks. slot is the worker's place, 0..workers-1; it
 * stays the same when the worker in it is replaced. */
/* A worker reported ready (its listener is open, or it reads connections). */
typedef void (*art_cluster_online_cb)(art_cluster_t *cluster, unsigned slot,
                                      int pid);
/* A worker ended. exit_status and term_signal as art_exit_cb's; pid 0 and
 * a negative exit_status when it could not even be spawned (the error of
 * art_spawn). restart_ms: the delay before its slot gets a new worker, or
 * -1 when none follows (the cluster is stopping, or the worker was being
 * replaced by a reload, or was a reload's replacement that failed). Runs
 * once the worker's pipe has been read to its end, after every message
 * the worker sent. */
typedef void (*art_cluster_exit_cb)(art_cluster_t *cluster, unsigned slot,
                                    int pid, int64_t exit_status,
                                    int term_signal, int64_t restart_ms);
/* A worker sent a message (data is valid during the callback only). */
typedef void (*art_cluster_message_cb)(art_cluster_t *cluster, unsigned slot,
                                       const void *data, size_t len);
/* A stop or reload finished: 0, or for a reload the last error met
 * (ART_ETIMEDOUT: a new worker was not ready in time; ART_ECHILD: one
 * exited before it was ready), the old worker of that slot then kept. */
typedef void (*art_cluster_done_cb)(art_cluster_t *cluster, int status);

typedef struct {
  unsigned workers;                  /* 1..ART_CLUSTER_MAX_WORKERS */
  art_cluster_mode mode;             /* ART_CLUSTER_ROUNDROBIN or _REUSEPORT */
  const struct sockaddr *address;    /* sockaddr_in or _in6; port 0 picks one */
  int backlog;                       /* listen backlog; 0 means 511 */
  const char *file;                  /* the workers' program; NULL: our own */
  char **args;                       /* their argv, args[0] required */
  char **env;                        /* their environment; NULL: ours */
  unsigned flags;                    /* ART_CLUSTER_SIGNALS */
  uint64_t restart_min_ms;           /* first backoff delay; 0 means 100 */
  uint64_t restart_max_ms;           /* backoff cap; 0 means 30000 */
  uint64_t restart_reset_ms;         /* a worker that lived this long restarts
                                        at once and resets the backoff;
                                        0 means 10000 */
  uint64_t ready_timeout_ms;         /* a worker not ready by then is killed
                                        (and replaced); 0 means 10000 */
  uint64_t grace_ms;                 /* drain before SIGKILL; 0 means 10000 */
  art_cluster_online_cb on_online;   /* may be NULL */
  art_cluster_exit_cb on_exit;       /* may be NULL */
  art_cluster_message_cb on_message; /* may be NULL */
} art_cluster_options_t;

struct art_cluster_s {
  void *data;              /* the user's */
  art_loop_t *loop;        /* read-only */
  unsigned workers;        /* read-only: options.workers */
  art_cluster_mode mode;   /* read-only */
  uint64_t restarts;       /* read-only: workers started after one exited */
  uint64_t dispatched;     /* read-only: connections dealt (round robin) */
  uint64_t refused_frames; /* read-only: workers cut off for a bad frame */
  /* private */
  art_cluster_options_t opts_;      /* copied; address points into addr_ */
  unsigned char addr_[28];          /* the address, with the port chosen */
  struct art__cluster_slot *slots_; /* one per worker slot */
  art_tcp_t listener_;              /* round robin: the primary's */
  art_signal_t signals_[3];         /* SIGHUP, SIGTERM, SIGINT */
  art_cluster_done_cb stop_cb_;     /* art_cluster_stop's */
  art_cluster_done_cb reload_cb_;   /* art_cluster_reload's */
  uint64_t next_id_;                /* the next worker's id */
  unsigned cursor_;                 /* round robin: the next slot to try */
  unsigned reload_slot_;            /* the slot being replaced */
  unsigned handles_;                /* internal handles not yet closed */
  unsigned records_;                /* worker records not yet freed */
  int state_;                       /* running, reloading, stopping... */
  int waiting_;                     /* round robin: a connection waits */
  int reload_status_;               /* for reload_cb_ */
  int reloading_;                   /* a reload runs */
  art_timer_t reload_timer_;        /* moves a reload to its next slot */
  void *reserved_[4];
};

/* Validates options, opens the listening socket(s) and starts the workers.
 * ART_EINVAL for NULL arguments, 0 or more than ART_CLUSTER_MAX_WORKERS
 * workers, an address that is not IPv4 or IPv6, an unknown mode or flag,
 * no args[0], restart_min_ms above restart_max_ms, or a call from a
 * process that is itself a worker (ART_CLUSTER_ENV is set); the errors of
 * socket, bind and listen (ART_EADDRINUSE...). Nothing is left open after
 * these. Errors once the sockets are open (ART_ENOMEM for a timer, the
 * backend refusing the round robin listener or a signal watcher:
 * ART_ENOMEM, ART_ENOSPC) stop the cluster: run the loop until its handles
 * have closed. Once it returns 0 the cluster keeps the loop alive until
 * art_cluster_stop's callback; failures to spawn a worker go to on_exit
 * and are retried with the backoff, like a worker that exited. */
ART_EXTERN int art_cluster_start(art_loop_t *loop, art_cluster_t *cluster,
                                 const art_cluster_options_t *options);

/* Replaces the workers one slot at a time: starts a new worker, waits for
 * it to be ready (options.ready_timeout_ms), then tells the old one to
 * drain. cb (may be NULL) runs once every slot was handled. ART_EBUSY while
 * a reload runs; ART_EINVAL once stopping. */
ART_EXTERN int art_cluster_reload(art_cluster_t *cluster,
                                  art_cluster_done_cb cb);

/* Stops the cluster: no more restarts, the round robin listener closes,
 * every worker is told to drain (stop accepting, finish, exit) and killed
 * with SIGKILL if it has not exited after options.grace_ms. cb (may be
 * NULL) runs once every worker was reaped and every internal handle is
 * closed; the cluster's memory is then the caller's again. ART_EINVAL if
 * already stopping. */
ART_EXTERN int art_cluster_stop(art_cluster_t *cluster, art_cluster_done_cb cb);

/* Sends a message to the worker now in slot: 0, ART_EINVAL (bad slot, len
 * above ART_CLUSTER_MAX_MESSAGE), ART_ENOTCONN (no live worker there), or
 * ART_ENOMEM. Messages to one worker arrive in order. */
ART_EXTERN int art_cluster_send(art_cluster_t *cluster, unsigned slot,
                                const void *data, size_t len);

/* The pid of the worker now in slot, 0 when there is none. */
ART_EXTERN int art_cluster_worker_pid(const art_cluster_t *cluster,
                                      unsigned slot);

/* The address the cluster listens on (the port chosen when options asked
 * for 0), as art_tcp_getsockname. */
ART_EXTERN int art_cluster_getsockname(const art_cluster_t *cluster,
                                       struct sockaddr *name, int *namelen);

/* ------------------------------------------------------------------------ */
/* The worker's side.                                                       */

/* 1 when this process was started as a worker (ART_CLUSTER_ENV holds a
 * valid id), 0 when the variable is not set, ART_EINVAL when it is set to
 * anything else: the environment is outside input, and a program should
 * refuse to run rather than guess which role it has. */
ART_EXTERN int art_cluster_is_worker(void);

/* A connection waits: call art_cluster_accept (status 0); accepting
 * failed (status < 0). */
typedef void (*art_cluster_connection_cb)(art_cluster_worker_t *worker,
                                          int status);
/* A message from the primary (data valid during the callback only). */
typedef void (*art_cluster_worker_message_cb)(art_cluster_worker_t *worker,
                                              const void *data, size_t len);
/* The worker's state changed: ready (the listener or the deal is running)
 * or drain (the primary asked it to stop, or went away: finish the
 * connections, close the program's handles and let the loop end). */
typedef void (*art_cluster_worker_cb)(art_cluster_worker_t *worker);

typedef struct {
  art_cluster_connection_cb on_connection;  /* required */
  art_cluster_worker_message_cb on_message; /* may be NULL */
  art_cluster_worker_cb on_ready;           /* may be NULL */
  art_cluster_worker_cb on_drain;           /* may be NULL */
  int ipc_fd; /* the pipe to the primary; 0 means fd 3 */
} art_cluster_worker_options_t;

struct art_cluster_worker_s {
  void *data;              /* the user's */
  art_loop_t *loop;        /* read-only */
  uint64_t id;             /* read-only: from ART_CLUSTER_ENV */
  unsigned slot;           /* read-only: known once ready */
  art_cluster_mode mode;   /* read-only: known once ready */
  uint64_t refused_frames; /* read-only: 1 if the primary sent a bad frame */
  /* private */
  art_cluster_worker_options_t opts_;
  art_pipe_t ipc_;     /* to the primary */
  art_tcp_t listener_; /* reuseport: the slot's listener */
  void *reader_;       /* frames being read */
  unsigned handles_;   /* internal handles not yet closed */
  int state_;          /* starting, ready, draining, closed */
  int taken_;          /* the connection of this callback was accepted */
  int queued_fd_;      /* a drain's connection from the queue, or -1 */
  unsigned acks_;      /* connections handled since the last ack */
  int backlog_;        /* the primary's listen backlog */
  void *reserved_[4];
};

/* Starts the worker's side on loop: checks ART_CLUSTER_ENV (ART_EINVAL if
 * it is missing or not a valid id) and the IPC pipe (ART_EBADF if the fd
 * is not a Unix stream socket), and reads the primary's instructions. The
 * worker is ready (on_ready) once the primary said which slot and mode it
 * has; from then on on_connection runs for each connection. While started,
 * the worker keeps the loop alive; after on_drain (or art_cluster_worker_
 * close) it does not, and the loop ends when the program's own handles
 * close. The struct must stay valid until the loop ran its close phase.
 * After ART_EINVAL or ART_EBADF nothing changed; after any other error
 * (ART_ENOMEM, the backend refusing the pipe) the pipe's fd is closed, and
 * the loop must run for the pipe handle to finish closing. */
ART_EXTERN int
art_cluster_worker_start(art_loop_t *loop, art_cluster_worker_t *worker,
                         const art_cluster_worker_options_t *options);

/* Takes the waiting connection into client (an initialised, unused
 * art_tcp_t), in on_connection. A connection not taken by the end of the
 * callback is closed. ART_EAGAIN when none waits. */
ART_EXTERN int art_cluster_accept(art_cluster_worker_t *worker,
                                  art_tcp_t *client);

/* Sends a message to the primary; as art_cluster_send. ART_ENOTCONN before
 * the worker is ready and once it drains. */
ART_EXTERN int art_cluster_worker_send(art_cluster_worker_t *worker,
                                       const void *data, size_t len);

/* Leaves the cluster: closes the listener and the pipe to the primary
 * (which sees the worker go once it exits). on_drain does not run. 0 also
 * when already closed. */
ART_EXTERN int art_cluster_worker_close(art_cluster_worker_t *worker);

#ifdef __cplusplus
}
#endif

#endif
