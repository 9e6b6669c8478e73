/* file: docs/examples/loop_async.c */
#define _POSIX_C_SOURCE 200809L
#include <asyncrt.h>
#include <pthread.h>
#include <stdio.h>

/* What the producer hands over: a small queue under a mutex. The async
 * handle only says "look at the queue"; sends made before the callback
 * runs coalesce into one call, so the callback takes everything queued. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int queue[8];
static int queued, finished;
static pthread_t producer_thread;

static void *producer(void *arg) {
  art_async_t *async = arg;
  for (int i = 1; i <= 5; i++) {
    pthread_mutex_lock(&lock);
    queue[queued++] = i * i;
    finished = i == 5;
    pthread_mutex_unlock(&lock);
    art_async_send(async); /* the one loop function other threads call */
  }
  return NULL;
}

static void on_async(art_async_t *async) {
  int batch[8], n, last;
  pthread_mutex_lock(&lock);
  n = queued;
  for (int i = 0; i < n; i++)
    batch[i] = queue[i];
  queued = 0;
  last = finished;
  pthread_mutex_unlock(&lock);
  for (int i = 0; i < n; i++)
    printf("got %d\n", batch[i]);
  if (last) {
    /* No send may come after the close callback: wait for the producer's
     * last art_async_send to return before closing. */
    pthread_join(producer_thread, NULL);
    art_close((art_handle_t *)async, NULL);
  }
}

int main(void) {
  art_loop_t loop;
  art_async_t async;

  if (art_loop_init(&loop) != 0 || art_async_init(&loop, &async, on_async))
    return 1;
  /* An async handle is active from init: it keeps art_run going until it
   * is closed. */
  if (pthread_create(&producer_thread, NULL, producer, &async) != 0)
    return 1;
  art_run(&loop, ART_RUN_DEFAULT);
  return art_loop_close(&loop) == 0 ? 0 : 1;
}
