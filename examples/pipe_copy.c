/* pipe_copy: copies standard input to a file or a Unix socket with
 * art_stream_pipe, in constant memory whatever the input size.
 *
 *   pipe_copy FILE             stdin -> FILE (created or truncated)
 *   pipe_copy unix:PATH        stdin -> the Unix socket listening at PATH
 *   pipe_copy --listen PATH FILE
 *                              accepts one connection on PATH and copies it
 *                              into FILE (the other end of the line above)
 *
 * Standard input may be a pipe, a terminal, a socket or a regular file:
 * art_pipe_open takes any of them. The pipeline holds at most four 64 KiB
 * buffers; reading pauses while the destination is behind.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "asyncrt.h"

static art_pipe_t in, out, server;
static art_stream_pipe_t pipeline;
static art_connect_t connect_req;
static int status = 1;

static void done(art_stream_pipe_t *p, int err) {
  if (err != 0)
    fprintf(stderr, "pipe_copy: %s\n", art_strerror(err));
  status = err != 0;
  art_close((art_handle_t *)p->src, NULL);
  art_close((art_handle_t *)p->dst, NULL);
}

static int start(art_stream_t *src, art_stream_t *dst) {
  int err = art_stream_pipe(&pipeline, src, dst, NULL, done);
  if (err != 0) {
    fprintf(stderr, "pipe_copy: %s\n", art_strerror(err));
    art_close((art_handle_t *)src, NULL);
    art_close((art_handle_t *)dst, NULL);
  }
  return err;
}

static void connected(art_connect_t *req, int err) {
  if (err != 0) {
    fprintf(stderr, "pipe_copy: connect: %s\n", art_strerror(err));
    art_close((art_handle_t *)&in, NULL);
    art_close((art_handle_t *)&out, NULL);
    return;
  }
  start((art_stream_t *)&in, (art_stream_t *)&out);
}

static void on_connection(art_stream_t *srv, int err) {
  if (err != 0 || art_accept(srv, (art_stream_t *)&in) != 0)
    return;
  art_close((art_handle_t *)srv, NULL); /* one connection only */
  start((art_stream_t *)&in, (art_stream_t *)&out);
}

static int open_file(art_loop_t *loop, art_pipe_t *p, const char *path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    perror(path);
    return -1;
  }
  art_pipe_init(loop, p, 0);
  if (art_pipe_open(p, fd) != 0) {
    close(fd);
    art_close((art_handle_t *)p, NULL);
    return -1;
  }
  return 0;
}

/* --listen PATH FILE */
static int listen_mode(art_loop_t *loop, const char *path, const char *file) {
  int err;
  art_pipe_init(loop, &in, 0);
  art_pipe_init(loop, &server, 0);
  if ((err = art_pipe_bind(&server, path)) != 0 ||
      (err = art_listen((art_stream_t *)&server, 1, on_connection)) != 0) {
    fprintf(stderr, "pipe_copy: %s: %s\n", path, art_strerror(err));
    art_close((art_handle_t *)&server, NULL);
    art_close((art_handle_t *)&in, NULL);
    return -1;
  }
  if (open_file(loop, &out, file) != 0) {
    art_close((art_handle_t *)&server, NULL);
    art_close((art_handle_t *)&in, NULL);
    return -1;
  }
  return 0;
}

/* FILE or unix:PATH, fed from stdin. */
static int copy_mode(art_loop_t *loop, const char *dest) {
  art_pipe_init(loop, &in, 0);
  if (art_pipe_open(&in, 0) != 0) {
    fprintf(stderr, "pipe_copy: cannot use standard input\n");
    art_close((art_handle_t *)&in, NULL);
    return -1;
  }
  if (strncmp(dest, "unix:", 5) == 0) {
    art_pipe_init(loop, &out, 0);
    return art_pipe_connect(&connect_req, &out, dest + 5, connected);
  }
  if (open_file(loop, &out, dest) != 0) {
    art_close((art_handle_t *)&in, NULL);
    return -1;
  }
  return start((art_stream_t *)&in, (art_stream_t *)&out);
}

int main(int argc, char **argv) {
  art_loop_t loop;
  int r = -1;
  if (art_loop_init(&loop) != 0)
    return 1;
  if (argc == 4 && strcmp(argv[1], "--listen") == 0)
    r = listen_mode(&loop, argv[2], argv[3]);
  else if (argc == 2 && argv[1][0] != '-')
    r = copy_mode(&loop, argv[1]);
  else
    fprintf(stderr, "usage: pipe_copy FILE | unix:PATH\n"
                    "       pipe_copy --listen PATH FILE\n");
  art_run(&loop, ART_RUN_DEFAULT);
  art_loop_close(&loop);
  return r == 0 ? status : 1;
}
