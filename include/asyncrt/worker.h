/* Several loops in one process: worker loops (threads that each run a loop
 * of their own, as Node's worker_threads) and message channels between
 * loops (Node's MessageChannel and MessagePort). Included by asyncrt.h;
 * include that, not this. docs/multicore.md explains the guarantees. */
/* Thread safety. A worker's own loop and handles belong to the worker's
 * thread. Any thread may call:
 * - art_worker_start, art_worker_stop and art_worker_join (join blocks
 *   until the worker's thread has ended; never from the worker itself);
 * - art_channel_new and art_channel_abandon.
 * A port belongs to the loop it was opened on: art_port_open and every
 * other art_port_ function are called on that loop's thread. The two
 * ports of a channel may be on loops of different threads: that is what
 * they are for. */
#ifndef ASYNCRT_WORKER_H
#define ASYNCRT_WORKER_H

#include "core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Worker loops.                                                            */

typedef struct art_worker_s art_worker_t;

/* Runs on the worker's thread with the worker's loop, initialised and not
 * yet run; what it returns is the worker's exit status unless
 * art_worker_set_status changes it. After it returns, the worker runs its
 * loop until nothing keeps it alive (or art_worker_stop), closes every
 * handle left, runs their close callbacks and closes the loop. */
typedef int (*art_worker_entry)(art_worker_t *worker, art_loop_t *loop,
                                void *arg);

typedef struct {
  size_t stack_size; /* the thread's stack in bytes; 0: the system's */
  /* The thread's name for debuggers (at most 15 bytes), or NULL. */
  const char *name;
  /* Sent (art_async_send) once the worker's loop is closed and its thread
   * is about to end, or NULL. It belongs to another loop, whose callback
   * may then art_worker_join without blocking for long; it must stay open
   * until then. */
  art_async_t *on_exit;
  /* Runs on the worker's thread, in a callback of its loop, when
   * art_worker_stop asks it to stop, before the worker closes the handles
   * still open (with no close callback): the place to close them with
   * callbacks of the program's own, which then run. Or NULL. */
  void (*on_stop)(art_worker_t *worker, art_loop_t *loop);
} art_worker_options_t;

/* The caller owns the memory, from art_worker_start until art_worker_join
 * returns. */
struct art_worker_s {
  void *data; /* the user's */
  /* private */
  void *impl_; /* the thread, its loop and state: src/process/ */
  void *reserved_[2];
};

/* Starts a thread that initialises a loop and calls entry(worker, loop,
 * arg) on it. The thread starts with every signal blocked, as the pool's
 * threads do, so signals go to the program's own threads. Returns once the
 * worker's loop is initialised: 0, or the error that kept the worker from
 * starting (ART_EINVAL for NULL worker or entry, a stack_size below the
 * system's least or a name too long; ART_ENOMEM; what pthread_create
 * returned, ART_EAGAIN when no thread or stack can be made; what
 * art_loop_init returned), with no thread left behind. opts may be NULL. */
ART_EXTERN int art_worker_start(art_worker_t *worker,
                                const art_worker_options_t *opts,
                                art_worker_entry entry, void *arg);

/* Asks the worker to stop: a wakeup reaches its loop, which closes every
 * handle it has (ports give their peers the end of the channel), runs the
 * close callbacks and ends. Any thread, the worker's own included; 0 also
 * for a worker that has ended already. ART_EINVAL for NULL or a worker not
 * started or joined already. */
ART_EXTERN int art_worker_stop(art_worker_t *worker);

/* Sets the exit status the worker reports (the entry's return value until
 * then). Worker's thread only, or before art_worker_join from another
 * thread once the worker has ended. ART_EINVAL for NULL. */
ART_EXTERN int art_worker_set_status(art_worker_t *worker, int status);

/* Waits for the worker's thread to end and stores its exit status in
 * *status (may be NULL); the worker's memory is the caller's again.
 * ART_EINVAL for NULL, a worker not started or joined already, or a call
 * from the worker's own thread. */
ART_EXTERN int art_worker_join(art_worker_t *worker, int *status);

/* ------------------------------------------------------------------------ */
/* Message channels.                                                        */

typedef struct art_channel_s art_channel_t;
typedef struct art_port_s art_port_t;

/* Frees the pointer of a pointer message that was never delivered. It
 * must only free: it runs inside the library (art_close, a send that
 * failed is not such a case: the caller keeps that pointer). */
typedef void (*art_port_free_fn)(void *ptr);

/* One message, as the receiving port's callback sees it. */
typedef struct {
  void *data; /* the bytes, or the pointer that was sent */
  size_t len; /* the length given to the send */
  /* A pointer message (owned 1): data is the callback's from now on, and
   * free_fn is the sender's free function (may be NULL). A copied message
   * (owned 0): data is valid until the callback returns. */
  art_port_free_fn free_fn;
  int owned;
} art_port_msg_t;

typedef void (*art_port_message_cb)(art_port_t *port,
                                    const art_port_msg_t *msg);
typedef void (*art_port_end_cb)(art_port_t *port);
typedef void (*art_port_drain_cb)(art_port_t *port);

/* A port: one end of a channel, a handle of the loop it was opened on
 * (art_close, art_ref and art_unref, art_walk, the report). */
struct art_port_s {
  ART_HANDLE_FIELDS
  /* private: src/pool/port.c */
  art__wake_source_t source_; /* drained in the loop's poll phase */
  art_channel_t *chan_;
  int side_;
  unsigned state_; /* started, ended, draining */
  art_port_message_cb message_cb_;
  art_port_end_cb end_cb_;
  art_port_drain_cb drain_cb_;
  void *reserved_[2];
};

/* Makes a channel with two unopened sides, 0 and 1: *out. Each side is
 * then opened once as a port (art_port_open), on any loop, or given up
 * (art_channel_abandon); the channel frees itself when both sides are
 * closed. ART_EINVAL for NULL, ART_ENOMEM. */
ART_EXTERN int art_channel_new(art_channel_t **out);

/* Gives up a side that will never be opened: messages sent to it are
 * freed (pointer messages through their free function) and its peer sees
 * the end of the channel, as if a port had been opened and closed.
 * ART_EINVAL for NULL or a side other than 0 and 1, ART_EBUSY for a side
 * opened or abandoned already. */
ART_EXTERN int art_channel_abandon(art_channel_t *channel, int side);

/* Opens a side of the channel as port on loop. The port is a handle, not
 * yet receiving (art_port_start). Messages the peer sent earlier wait for
 * it. ART_EINVAL for a NULL or closed loop, NULL port or channel or a
 * side other than 0 and 1; ART_EBUSY for a side opened or abandoned
 * already. */
ART_EXTERN int art_port_open(art_loop_t *loop, art_port_t *port,
                             art_channel_t *channel, int side);

/* Starts delivering messages to cb, in the order the peer sent them, in
 * the loop's poll phase: after one wakeup, every message that has arrived,
 * in one batch (at most 4096; the rest in the next poll phase). A started
 * port is active: while
 * referenced it keeps the loop alive, until the end of the channel.
 * Starting again only replaces cb. ART_EINVAL for NULL port or cb, or a
 * port closing or closed. */
ART_EXTERN int art_port_start(art_port_t *port, art_port_message_cb cb);

/* Stops delivering: messages wait in the channel (they still count toward
 * the sender's high-water mark) until art_port_start. A stop from a
 * message callback holds back the rest of the batch. 0, also for a port
 * not started or closed; ART_EINVAL for NULL or another handle type. */
ART_EXTERN int art_port_stop(art_port_t *port);

/* Sends a copy of len bytes at data (data may be NULL when len is 0).
 * ART_EPIPE once the peer port is closed or abandoned, or this port saw the
 * end of the channel; ART_EINVAL for NULL port, a closed port, or NULL
 * data with len > 0; ART_ENOMEM. Never blocks: backpressure is
 * art_port_needs_drain, asked after sending. */
ART_EXTERN int art_port_send(art_port_t *port, const void *data, size_t len);

/* Sends ptr itself: on 0 it belongs to the message, which either reaches
 * the peer's callback (owned 1) or, if the peer closes first, is freed
 * with free_fn (NULL: nothing to free), exactly once. On an error the
 * caller keeps ptr. len is what the message counts toward the high-water
 * mark. Same errors as art_port_send. */
ART_EXTERN int art_port_send_ptr(art_port_t *port, void *ptr, size_t len,
                                 art_port_free_fn free_fn);

/* Sets the callback run once, after every message the peer sent before it
 * closed, when the peer port is closed or abandoned (NULL: none). The port
 * then stops (it no longer keeps the loop alive) and its sends fail with
 * ART_EPIPE; it still has to be closed. ART_EINVAL for NULL. */
ART_EXTERN int art_port_on_end(art_port_t *port, art_port_end_cb cb);

/* Backpressure, as streams have it: the bytes this port sent that the
 * peer's callback has not yet been given are bounded by a high-water mark
 * (default 64 KiB, at least 1). While they are at or above it,
 * art_port_needs_drain says 1: stop sending, and the drain callback (may
 * be NULL) runs once on this port's loop when they fall below it. Until
 * then the port is active (it keeps its loop alive while referenced, as a
 * stream's unfinished write does), unless the peer closes first. */
ART_EXTERN int art_port_set_high_water_mark(art_port_t *port, size_t bytes);
ART_EXTERN int art_port_on_drain(art_port_t *port, art_port_drain_cb cb);
ART_EXTERN int art_port_needs_drain(const art_port_t *port);
/* The bytes this port sent that the peer has not been given yet; 0 for
 * NULL. */
ART_EXTERN size_t art_port_queued_size(const art_port_t *port);

#ifdef __cplusplus
}
#endif

#endif /* ASYNCRT_WORKER_H */
