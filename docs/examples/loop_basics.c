/* file: docs/examples/loop_basics.c */
#include <asyncrt.h>
#include <stdio.h>

/* The program's own struct, with the handle inside it: the library never
 * allocates a handle, and the data pointer leads back to the struct. */
typedef struct {
  art_timer_t timer;
  const char *name;
  int runs;
} job_t;

static void on_close(art_handle_t *handle) {
  job_t *job = handle->data;
  /* From here on the job's memory is the program's again. */
  printf("%s closed after %d run\n", job->name, job->runs);
}

static void on_timer(art_timer_t *timer) {
  job_t *job = timer->data;
  job->runs++;
  printf("%s ran\n", job->name);
  art_close((art_handle_t *)timer, on_close); /* on_close runs later */
  printf("closing: %d, active: %d\n", art_is_closing((art_handle_t *)timer),
         art_is_active((art_handle_t *)timer));
}

int main(void) {
  art_loop_t loop;
  job_t job = {.name = "job"};

  if (art_loop_init(&loop) != 0 || art_timer_init(&loop, &job.timer) != 0)
    return 1;
  job.timer.data = &job;
  /* An initialised handle does not keep the loop alive; a started one does. */
  printf("alive after init: %d\n", art_loop_alive(&loop));
  art_timer_start(&job.timer, on_timer, 20, 0);
  printf("alive after start: %d\n", art_loop_alive(&loop));
  /* A loop with an open handle refuses to close, and changes nothing. */
  printf("close now: %s\n", art_err_name(art_loop_close(&loop)));

  /* NOWAIT polls without blocking: the timer is not due yet. */
  printf("nowait: %d\n", art_run(&loop, ART_RUN_NOWAIT));
  /* ONCE blocks until something happens; 1 while work remains. */
  while (art_run(&loop, ART_RUN_ONCE))
    ;
  printf("alive at the end: %d\n", art_loop_alive(&loop));
  printf("close at the end: %d\n", art_loop_close(&loop));
  return 0;
}
