/* Worker loops: a thread that runs a loop of its own, as Node's
 * worker_threads do, started, stopped and joined from another thread.
 *
 * Notes:
 * 1. Starting is a handshake: art_worker_start waits until the thread has
 *    initialised its loop, so a loop that cannot be made (no fds, no
 *    memory) is an error returned to the caller, who then finds no thread
 *    left behind.
 * 2. Stopping from outside goes through an async handle on the worker's
 *    loop (the only cross-thread wakeup a loop has). The handle is
 *    internal and unreferenced, so it neither keeps the loop alive nor
 *    shows in art_walk, and the stop closes every handle but it. Senders
 *    must not use an async handle after its close callback, so stop sends
 *    under the worker's lock, and the worker marks itself ended under the
 *    same lock before it closes the handle.
 * 3. The end: after the entry returns and the loop has run dry, every
 *    handle still open is closed and the loop run again for their close
 *    callbacks, then closed. A close callback that opens new handles gets
 *    another round, up to FINISH_ROUNDS.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "internal.h"

#define FINISH_ROUNDS 8
#define NAME_MAX_LEN  15 /* what pthread_setname_np takes on Linux */

enum { W_STARTING, W_RUNNING, W_FAILED, W_ENDED };

typedef struct {
  art_worker_t *worker;
  art_worker_entry entry;
  void *arg;
  art_async_t *on_exit;
  void (*on_stop)(art_worker_t *worker, art_loop_t *loop);
  char name[NAME_MAX_LEN + 1];
  pthread_t tid;
  pthread_mutex_t lock; /* phase, stop_sent and the stop handle's life */
  pthread_cond_t cond;  /* the start handshake */
  int phase;            /* W_*, under lock */
  int stop_sent;        /* under lock */
  int init_err;         /* why the loop could not start */
  int status;           /* the exit status */
  int status_set;       /* art_worker_set_status was called */
  art_async_t stop;     /* on the worker's loop, note 2 */
  art_loop_t loop;
} impl_t;

static void close_open(art_handle_t *h, void *arg) {
  (void)arg;
  if (!art_is_closing(h))
    art_close(h, NULL);
}

/* The stop request reaches the worker's loop. */
static void stop_cb(art_async_t *a) {
  impl_t *wi = a->data;
  if (wi->on_stop != NULL)
    ART__CALLBACK(a, wi->on_stop, (wi->worker, &wi->loop));
  art_walk(&wi->loop, close_open, NULL);
}

/* Initialises the loop and the stop handle: 0 or an error, with nothing
 * left open. */
static int loop_begin(impl_t *wi) {
  int err = art_loop_init(&wi->loop);
  if (err)
    return err;
  err = art_async_init(&wi->loop, &wi->stop, stop_cb);
  if (err) {
    art_loop_close(&wi->loop);
    return err;
  }
  wi->stop.data = wi;
  wi->stop.flags_ |= ART__H_INTERNAL;
  art_unref((art_handle_t *)&wi->stop);
  return 0;
}

/* Note 3. */
static void loop_finish(impl_t *wi) {
  pthread_mutex_lock(&wi->lock);
  wi->phase = W_ENDED;
  pthread_mutex_unlock(&wi->lock);
  art_close((art_handle_t *)&wi->stop, NULL);
  for (int round = 0; round < FINISH_ROUNDS; round++) {
    art_walk(&wi->loop, close_open, NULL);
    art_run(&wi->loop, ART_RUN_DEFAULT);
    if (art_loop_close(&wi->loop) == 0)
      return;
  }
  if (!wi->status_set)
    wi->status = ART_EBUSY; /* the loop could not be closed */
}

static void *worker_main(void *p) {
  impl_t *wi = p;
  int err = loop_begin(wi);
  pthread_mutex_lock(&wi->lock);
  wi->init_err = err;
  wi->phase = err ? W_FAILED : W_RUNNING;
  pthread_cond_signal(&wi->cond);
  pthread_mutex_unlock(&wi->lock);
  if (err)
    return NULL; /* the starter joins and frees wi */
  if (wi->name[0] != '\0')
    pthread_setname_np(pthread_self(), wi->name);
  int status = wi->entry(wi->worker, &wi->loop, wi->arg);
  if (!wi->status_set)
    wi->status = status;
  art_run(&wi->loop, ART_RUN_DEFAULT);
  art_async_t *on_exit = wi->on_exit;
  loop_finish(wi);
  if (on_exit != NULL)
    art_async_send(on_exit);
  return NULL;
}

static void impl_free(impl_t *wi) {
  pthread_cond_destroy(&wi->cond);
  pthread_mutex_destroy(&wi->lock);
  art__free(wi);
}

static impl_t *impl_new(art_worker_t *w, const art_worker_options_t *opts,
                        art_worker_entry entry, void *arg) {
  impl_t *wi = art__calloc(1, sizeof(*wi));
  if (wi == NULL)
    return NULL;
  wi->worker = w;
  wi->entry = entry;
  wi->arg = arg;
  if (opts != NULL) {
    wi->on_exit = opts->on_exit;
    wi->on_stop = opts->on_stop;
    if (opts->name != NULL)
      strcpy(wi->name, opts->name); /* length checked by the caller */
  }
  pthread_mutex_init(&wi->lock, NULL);
  pthread_cond_init(&wi->cond, NULL);
  wi->phase = W_STARTING;
  return wi;
}

/* pthread_create with every signal blocked in the new thread; a negative
 * error. */
static int spawn(impl_t *wi, size_t stack_size) {
  pthread_attr_t attr;
  int err = pthread_attr_init(&attr);
  if (err)
    return -err;
  if (stack_size != 0 && pthread_attr_setstacksize(&attr, stack_size) != 0) {
    pthread_attr_destroy(&attr);
    return ART_EINVAL;
  }
  sigset_t all, old;
  sigfillset(&all);
  pthread_sigmask(SIG_SETMASK, &all, &old);
  err = pthread_create(&wi->tid, &attr, worker_main, wi);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  pthread_attr_destroy(&attr);
  return -err;
}

int art_worker_start(art_worker_t *w, const art_worker_options_t *opts,
                     art_worker_entry entry, void *arg) {
  if (w == NULL || entry == NULL)
    return ART_EINVAL;
  if (opts != NULL && opts->name != NULL && strlen(opts->name) > NAME_MAX_LEN)
    return ART_EINVAL;
  w->impl_ = NULL;
  impl_t *wi = impl_new(w, opts, entry, arg);
  if (wi == NULL)
    return ART_ENOMEM;
  w->impl_ = wi; /* the entry may use w at once */
  int err = spawn(wi, opts != NULL ? opts->stack_size : 0);
  if (err == 0) {
    pthread_mutex_lock(&wi->lock);
    while (wi->phase == W_STARTING)
      pthread_cond_wait(&wi->cond, &wi->lock);
    err = wi->init_err;
    pthread_mutex_unlock(&wi->lock);
    if (err)
      pthread_join(wi->tid, NULL);
  }
  if (err) {
    w->impl_ = NULL;
    impl_free(wi);
  }
  return err;
}

int art_worker_stop(art_worker_t *w) {
  if (w == NULL || w->impl_ == NULL)
    return ART_EINVAL;
  impl_t *wi = w->impl_;
  pthread_mutex_lock(&wi->lock);
  if (wi->phase == W_RUNNING && !wi->stop_sent) {
    wi->stop_sent = 1;
    art_async_send(&wi->stop);
  }
  pthread_mutex_unlock(&wi->lock);
  return 0;
}

int art_worker_set_status(art_worker_t *w, int status) {
  if (w == NULL || w->impl_ == NULL)
    return ART_EINVAL;
  impl_t *wi = w->impl_;
  wi->status = status;
  wi->status_set = 1;
  return 0;
}

int art_worker_join(art_worker_t *w, int *status) {
  if (w == NULL || w->impl_ == NULL)
    return ART_EINVAL;
  impl_t *wi = w->impl_;
  if (pthread_equal(pthread_self(), wi->tid))
    return ART_EINVAL;
  int err = pthread_join(wi->tid, NULL);
  if (err)
    return -err;
  if (status != NULL)
    *status = wi->status;
  w->impl_ = NULL;
  impl_free(wi);
  return 0;
}
