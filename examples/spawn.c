/* Node's child_process, in C:
 *
 *   const ls = spawn('ls', ['-la', dir]);
 *   ls.stdout.on('data', d => process.stdout.write(`stdout: ${d}`));
 *   ls.stderr.on('data', d => process.stderr.write(`stderr: ${d}`));
 *   ls.on('close', code => console.log(`child exited with code ${code}`));
 *
 * then execFile('ls', ['-d', dir]) with both outputs captured, and a spawn
 * of a program that does not exist (the error comes from art_spawn itself).
 *
 * Usage: spawn [dir]   (default: /) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncrt.h"

/* The child and its two output pipes. */
typedef struct {
  art_process_t process;
  art_pipe_t out, err;
  int open_streams; /* pipes not yet at their end */
  int exited;       /* exit_cb ran */
  int64_t code;     /* exit status */
} child_t;

static char buffer[65536];
static child_t child;

static void alloc_cb(art_handle_t *h, size_t suggested, art_buf_t *buf) {
  *buf = art_buf_init(buffer, sizeof(buffer));
}

/* Node's 'close' event: the child exited and both pipes ended. */
static void maybe_close(void) {
  if (!child.exited || child.open_streams > 0)
    return;
  fflush(stderr);
  printf("child exited with code %lld\n", (long long)child.code);
  art_close((art_handle_t *)&child.process, NULL);
}

/* Writes a chunk with "stdout: " or "stderr: " before each line. */
static void print_lines(FILE *to, const char *tag, int *at_line_start,
                        const char *data, size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (*at_line_start)
      fputs(tag, to);
    fputc(data[i], to);
    *at_line_start = data[i] == '\n';
  }
}

static void read_cb(art_stream_t *s, ssize_t n, const art_buf_t *buf) {
  static int out_start = 1, err_start = 1;
  int is_err = s == (art_stream_t *)&child.err;
  if (n > 0) {
    if (is_err)
      print_lines(stderr, "stderr: ", &err_start, buf->base, (size_t)n);
    else
      print_lines(stdout, "stdout: ", &out_start, buf->base, (size_t)n);
    return;
  }
  if (n < 0) {
    art_close((art_handle_t *)s, NULL);
    child.open_streams--;
    maybe_close();
  }
}

static void exit_cb(art_process_t *p, int64_t status, int signal) {
  child.exited = 1;
  child.code = signal ? 128 + signal : status;
  maybe_close();
}

/* spawn('ls', ['-la', dir]) with stdout and stderr streamed. */
static int spawn_ls(art_loop_t *loop, const char *dir) {
  char *args[] = {"ls", "-la", (char *)dir, NULL};
  art_pipe_init(loop, &child.out, 0);
  art_pipe_init(loop, &child.err, 0);
  art_stdio_container_t stdio[3] = {{ART_IGNORE, {.fd = 0}},
                                    {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
                                     {.stream = (art_stream_t *)&child.out}},
                                    {ART_CREATE_PIPE | ART_WRITABLE_PIPE,
                                     {.stream = (art_stream_t *)&child.err}}};
  art_process_options_t options = {.exit_cb = exit_cb,
                                   .file = "ls",
                                   .args = args,
                                   .stdio_count = 3,
                                   .stdio = stdio};
  int err = art_spawn(loop, &child.process, &options);
  if (err) {
    fprintf(stderr, "spawn ls: %s\n", art_strerror(err));
    art_close((art_handle_t *)&child.process, NULL);
    art_close((art_handle_t *)&child.out, NULL);
    art_close((art_handle_t *)&child.err, NULL);
    return err;
  }
  printf("spawned ls, pid %d\n", art_process_get_pid(&child.process));
  child.open_streams = 2;
  art_read_start((art_stream_t *)&child.out, alloc_cb, read_cb);
  art_read_start((art_stream_t *)&child.err, alloc_cb, read_cb);
  return 0;
}

static void exec_cb(art_exec_t *req, int status) {
  printf("execFile: status %s, exit code %lld\n",
         status ? art_err_name(status) : "ok", (long long)req->exit_status);
  printf("execFile stdout: %s", req->out ? req->out : "(empty)\n");
  if (req->err != NULL)
    printf("execFile stderr: %s", req->err);
  art_exec_cleanup(req);
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : "/";
  art_loop_t *loop = art_default_loop();
  if (spawn_ls(loop, dir) != 0)
    return 1;
  if (art_run(loop, ART_RUN_DEFAULT) != 0)
    return 1;

  /* execFile: output captured into buffers, at most 64 KiB each. */
  static art_exec_t req;
  char *args[] = {"ls", "-d", (char *)dir, NULL};
  art_exec_options_t opts = {.max_buffer = 65536, .timeout = 10000};
  int err = art_exec(loop, &req, "ls", args, &opts, exec_cb);
  if (err) {
    fprintf(stderr, "exec: %s\n", art_strerror(err));
    return 1;
  }
  art_run(loop, ART_RUN_DEFAULT);

  /* No shell is involved, and failing to start is an error of the call. */
  art_process_t missing;
  char *none[] = {"no-such-program", NULL};
  art_process_options_t bad = {.file = none[0], .args = none};
  err = art_spawn(loop, &missing, &bad);
  printf("spawn no-such-program: %s\n", art_err_name(err));
  art_close((art_handle_t *)&missing, NULL); /* even after a failure */
  art_run(loop, ART_RUN_DEFAULT);
  return art_loop_close(loop) == 0 && err == ART_ENOENT ? 0 : 1;
}
