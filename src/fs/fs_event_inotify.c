/* art_fs_event_t on Linux: inotify.
 *
 * Notes on inotify's traps, and why the code below is shaped as it is:
 *
 * 1. One inotify fd per loop (close-on-exec, non-blocking) serves every
 *    fs_event handle of the loop; it is made on first use and closed by
 *    the area's loop-close hook (its extension, inotify_ext).
 * 2. inotify hands out one watch descriptor per inode, not per request:
 *    two handles watching the same folder share a wd, and removing the
 *    watch for one would silence the other. So the loop keeps a table of
 *    (wd, handle, folder) entries sorted by wd, and calls inotify_rm_watch
 *    only when the last entry for a wd goes.
 * 3. inotify is not recursive. A recursive handle adds a watch for every
 *    folder of its tree and one more whenever an event says a folder was
 *    created or moved in; entries already inside such a new folder (made
 *    before its watch existed) are reported as ART_RENAME so nothing is
 *    missed, at the price of a possible duplicate.
 * 4. A user callback may stop or close any handle, the one being called
 *    included, and so change the table while an event is being delivered.
 *    Delivery therefore looks the wd up again after every callback and
 *    marks each handle with the event's sequence number, so every handle
 *    gets an event at most once and a stopped handle never gets it.
 * 5. IN_IGNORED says the kernel dropped a watch (its folder was deleted or
 *    unmounted): the entries for that wd are dropped without a syscall.
 * 6. The inotify fd reaches the backend inside art_fs_event_start, so a
 *    backend that refuses it (epoll_ctl failing with ENOMEM or ENOSPC) makes
 *    that start fail with the reason. Its mask never changes afterwards, so
 *    no later refusal can silence the handles already started; a start
 *    after a refused one registers it again.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

ART__DECLARE_HANDLE_OPS(fs_event);

/* The inotify events that fs_event reports. */
#define WATCH_MASK                                                             \
  (IN_ATTRIB | IN_CREATE | IN_MODIFY | IN_DELETE | IN_DELETE_SELF |            \
   IN_MOVE_SELF | IN_MOVED_FROM | IN_MOVED_TO)

/* One folder or file watched for one handle. */
typedef struct {
  int wd;                 /* inotify watch descriptor */
  art_fs_event_t *handle; /* the handle it reports to */
  char *rel;              /* path relative to the handle's: "" for itself */
} watch_t;

/* The loop's inotify state (its extension, inotify_ext). */
typedef struct {
  int fd;           /* the inotify fd */
  art__io_t io;     /* its watcher in the loop */
  watch_t *watches; /* sorted by wd */
  size_t count;     /* entries in use */
  size_t cap;       /* entries allocated */
  unsigned seq;     /* numbers each delivered event */
} inotify_state_t;

static void inotify_read(art_loop_t *loop, art__io_t *w, unsigned events);

static void inotify_loop_close(art_loop_t *loop, void *state);
static int inotify_loop_fork(art_loop_t *loop, void *state);

/* The fs_event area's per-loop state: its inotify fd and watches. */
static const art__ext_t inotify_ext = {"fs_event", inotify_loop_close,
                                       inotify_loop_fork};

/* Makes the loop's state and its inotify fd. */
static int make_state(art_loop_t *loop, inotify_state_t **out) {
  inotify_state_t *st = art__calloc(1, sizeof(*st));
  if (st == NULL)
    return ART_ENOMEM;
  st->fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (st->fd == -1) {
    int err = -errno;
    art__free(st);
    return err;
  }
  art__io_init(&st->io, inotify_read, st->fd);
  int err = art__ext_set(loop, &inotify_ext, st);
  if (err) {
    art__close_fd(st->fd);
    art__free(st);
    return err;
  }
  *out = st;
  return 0;
}

/* The loop's state, made on first use, with its inotify fd registered
 * (note 6). */
static int get_state(art_loop_t *loop, inotify_state_t **out) {
  inotify_state_t *st = art__ext_get(loop, &inotify_ext);
  int err = st == NULL ? make_state(loop, &st) : 0;
  if (err == 0 && st->io.events == 0)
    err = art__io_start_now(loop, &st->io, ART_READABLE);
  if (err)
    return err;
  *out = st;
  return 0;
}

static void inotify_loop_close(art_loop_t *loop, void *state) {
  inotify_state_t *st = state;
  art__io_close(loop, &st->io);
  art__close_fd(st->fd);
  for (size_t i = 0; i < st->count; i++)
    art__free(st->watches[i].rel);
  art__free(st->watches);
  art__free(st);
}

/* Index of the first entry with wd (or where it would go). */
static size_t lower_bound(const inotify_state_t *st, int wd) {
  size_t lo = 0, hi = st->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (st->watches[mid].wd < wd)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* The entry for (wd, handle), or NULL. */
static watch_t *find_watch(inotify_state_t *st, int wd, art_fs_event_t *h) {
  for (size_t i = lower_bound(st, wd); i < st->count; i++) {
    if (st->watches[i].wd != wd)
      break;
    if (st->watches[i].handle == h)
      return &st->watches[i];
  }
  return NULL;
}

/* Records that handle h watches rel under wd; a wd it already had (a
 * folder moved within its tree) just gets the new rel. */
static int insert_watch(inotify_state_t *st, int wd, art_fs_event_t *h,
                        const char *rel) {
  char *copy = art__strdup(rel);
  if (copy == NULL)
    return ART_ENOMEM;
  watch_t *w = find_watch(st, wd, h);
  if (w != NULL) {
    art__free(w->rel);
    w->rel = copy;
    return 0;
  }
  if (st->count == st->cap) {
    size_t ncap = st->cap ? st->cap * 2 : 8;
    watch_t *grown = art__realloc(st->watches, ncap * sizeof(*grown));
    if (grown == NULL) {
      art__free(copy);
      return ART_ENOMEM;
    }
    st->watches = grown;
    st->cap = ncap;
  }
  size_t at = lower_bound(st, wd + 1);
  memmove(&st->watches[at + 1], &st->watches[at],
          (st->count - at) * sizeof(watch_t));
  st->watches[at] = (watch_t){wd, h, copy};
  st->count++;
  return 0;
}

/* Removes entry i; asks the kernel to drop the watch too when no other
 * handle shares it and the kernel still has it (rm_watch != 0). */
static void remove_watch(inotify_state_t *st, size_t i, int rm_watch) {
  int wd = st->watches[i].wd;
  art__free(st->watches[i].rel);
  memmove(&st->watches[i], &st->watches[i + 1],
          (st->count - i - 1) * sizeof(watch_t));
  st->count--;
  size_t j = lower_bound(st, wd);
  int shared = j < st->count && st->watches[j].wd == wd;
  if (rm_watch && !shared)
    inotify_rm_watch(st->fd, wd);
}

/* Drops the entries of handle h whose rel is prefix or lies under it
 * (prefix NULL: all of them). */
static void remove_handle_watches(inotify_state_t *st, art_fs_event_t *h,
                                  const char *prefix) {
  size_t plen = prefix != NULL ? strlen(prefix) : 0;
  for (size_t i = st->count; i-- > 0;) {
    const watch_t *w = &st->watches[i];
    if (w->handle != h)
      continue;
    if (prefix != NULL && (strncmp(w->rel, prefix, plen) != 0 ||
                           (w->rel[plen] != '\0' && w->rel[plen] != '/')))
      continue;
    remove_watch(st, i, 1);
  }
}

/* Joins a and b with a slash (b alone when a is empty) into out. 0, or
 * ART_ENAMETOOLONG. */
static int join(char *out, const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la + lb + 2 > PATH_MAX)
    return ART_ENAMETOOLONG;
  if (la == 0) {
    memcpy(out, b, lb + 1);
    return 0;
  }
  memcpy(out, a, la);
  out[la] = '/';
  memcpy(out + la + 1, b, lb + 1);
  return 0;
}

/* Adds a watch on the handle's path joined with rel. */
static int add_watch(inotify_state_t *st, art_fs_event_t *h, const char *rel) {
  char abs[PATH_MAX];
  int err = join(abs, rel[0] ? h->path_ : "", rel[0] ? rel : h->path_);
  if (err)
    return err;
  int wd = inotify_add_watch(st->fd, abs, WATCH_MASK);
  if (wd == -1)
    return -errno;
  err = insert_watch(st, wd, h, rel);
  if (err && find_watch(st, wd, h) == NULL) {
    size_t j = lower_bound(st, wd);
    if (j == st->count || st->watches[j].wd != wd)
      inotify_rm_watch(st->fd, wd);
  }
  return err;
}

/* In a child after fork the inotify instance is the parent's too (its
 * events go to whichever process reads first): the child makes its own and
 * watches again what its handles watched. A folder gone meanwhile is no
 * longer watched, as if its IN_IGNORED had come. */
static int inotify_loop_fork(art_loop_t *loop, void *state) {
  inotify_state_t *st = state;
  int fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd == -1)
    return -errno;
  int registered = st->io.events != 0;
  art__io_close(loop, &st->io); /* nothing of it in the new backend */
  art__close_fd(st->fd);
  st->fd = fd;
  art__io_init(&st->io, inotify_read, fd);
  watch_t *old = st->watches;
  size_t n = st->count;
  st->watches = NULL;
  st->count = st->cap = 0;
  int err = 0;
  for (size_t i = 0; i < n; i++) {
    if (err == 0 && add_watch(st, old[i].handle, old[i].rel) == ART_ENOMEM)
      err = ART_ENOMEM;
    art__free(old[i].rel);
  }
  art__free(old);
  if (err == 0 && registered)
    err = art__io_start_now(loop, &st->io, ART_READABLE);
  return err;
}

/* True while h is started and not closing: a callback may stop it. */
static int watching(const art_fs_event_t *h) {
  return art__handle_usable((const art_handle_t *)h) &&
         (h->flags_ & ART__H_ACTIVE);
}

/* Delivers one event to h through the callback path. */
static void deliver(art_fs_event_t *h, const char *name, int events) {
  ART__CALLBACK(h, h->cb_, (h, name, events, 0));
}

/* True if the entry is a folder (not a link to one). */
static int is_dir_entry(DIR *d, const struct dirent *de) {
  if (de->d_type != DT_UNKNOWN)
    return de->d_type == DT_DIR;
  struct stat sb;
  return fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISDIR(sb.st_mode);
}

/* Watches every folder under rel (rel itself is watched already). With
 * report, also tells the handle of each entry found, as those may have
 * appeared before the watch did. Folders that vanish or deny access midway
 * are skipped: the rest of the tree is still worth watching. */
static void add_tree(inotify_state_t *st, art_fs_event_t *h, const char *rel,
                     int report) {
  char abs[PATH_MAX], child[PATH_MAX];
  if (join(abs, rel[0] ? h->path_ : "", rel[0] ? rel : h->path_))
    return;
  DIR *d = opendir(abs);
  if (d == NULL)
    return;
  struct dirent *de;
  while (watching(h) && (de = readdir(d)) != NULL) {
    const char *n = de->d_name;
    if ((n[0] == '.' && (n[1] == 0 || (n[1] == '.' && n[2] == 0))) ||
        join(child, rel, n))
      continue;
    int dir = is_dir_entry(d, de);
    if (dir && add_watch(st, h, child) == 0)
      add_tree(st, h, child, report);
    if (report && watching(h))
      deliver(h, child, ART_RENAME);
  }
  closedir(d);
}

/* The name reported for an event on entry w: the entry's name within the
 * handle's folder, or the watched file's own name. */
static const char *event_name(char *buf, const watch_t *w,
                              const struct inotify_event *ev) {
  if (ev->len > 0 && join(buf, w->rel, ev->name) == 0)
    return buf;
  const char *self = w->rel[0] ? w->rel : w->handle->path_;
  const char *slash = strrchr(self, '/');
  return slash != NULL && slash[1] != '\0' ? slash + 1 : self;
}

/* Copies a name into a PATH_MAX buffer, cutting what does not fit (only a
 * watched path longer than PATH_MAX could). */
static void copy_name(char *out, const char *name) {
  size_t len = strlen(name);
  if (len >= PATH_MAX)
    len = PATH_MAX - 1;
  memcpy(out, name, len);
  out[len] = '\0';
}

/* Keeps a recursive handle's watches in step with its tree, before the
 * event is delivered. Returns 1 if the event is about a subfolder itself
 * (its parent's event already reported it), so it is not delivered. */
static int follow_tree(inotify_state_t *st, watch_t *w,
                       const struct inotify_event *ev, const char *name) {
  art_fs_event_t *h = w->handle;
  if (!(h->watch_flags_ & ART_FS_EVENT_RECURSIVE))
    return 0;
  if (w->rel[0] != '\0' && (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF)))
    return 1;
  if ((ev->mask & IN_ISDIR) && ev->len > 0) {
    if (ev->mask & IN_MOVED_FROM)
      remove_handle_watches(st, h, name);
    else if ((ev->mask & (IN_CREATE | IN_MOVED_TO)) &&
             add_watch(st, h, name) == 0)
      return -1; /* the caller reports it, then scans it */
  }
  return 0;
}

/* Delivers one inotify event to every active handle watching its wd. */
static void dispatch(inotify_state_t *st, const struct inotify_event *ev) {
  if (ev->mask & IN_IGNORED) {
    for (size_t i = lower_bound(st, ev->wd);
         i < st->count && st->watches[i].wd == ev->wd;)
      remove_watch(st, i, 0);
    return;
  }
  int events = (ev->mask & (IN_ATTRIB | IN_MODIFY)) ? ART_CHANGE : 0;
  if (ev->mask & WATCH_MASK & ~(IN_ATTRIB | IN_MODIFY))
    events |= ART_RENAME;
  unsigned seq = ++st->seq;
  char buf[PATH_MAX], name[PATH_MAX];
  for (;;) {
    size_t i = lower_bound(st, ev->wd);
    while (i < st->count && st->watches[i].wd == ev->wd &&
           st->watches[i].handle->dispatch_seq_ == seq)
      i++;
    if (i == st->count || st->watches[i].wd != ev->wd)
      return;
    watch_t *w = &st->watches[i];
    art_fs_event_t *h = w->handle;
    h->dispatch_seq_ = seq;
    copy_name(name, event_name(buf, w, ev));
    int tree = follow_tree(st, w, ev, name); /* may move the table */
    if (tree == 1)
      continue;
    deliver(h, name, events);
    if (tree == -1 && watching(h))
      add_tree(st, h, name, 1);
  }
}

/* The inotify fd is readable: read and deliver events until it is empty. */
static void inotify_read(art_loop_t *loop, art__io_t *w, unsigned events) {
  inotify_state_t *st = art__container_of(w, inotify_state_t, io);
  char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
  for (;;) {
    ssize_t n = read(st->fd, buf, sizeof(buf));
    if (n == -1 && errno == EINTR)
      continue;
    if (n <= 0)
      return; /* EAGAIN: drained */
    for (char *p = buf; p < buf + n;) {
      const struct inotify_event *ev = (const struct inotify_event *)p;
      p += sizeof(*ev) + ev->len;
      if (ev->wd >= 0)
        dispatch(st, ev);
    }
  }
}

int art_fs_event_init(art_loop_t *loop, art_fs_event_t *handle) {
  if (!art__loop_usable(loop) || handle == NULL)
    return ART_EINVAL;
  art__handle_init(loop, (art_handle_t *)handle, &art__fs_event_ops);
  handle->cb_ = NULL;
  handle->path_ = NULL;
  handle->watch_flags_ = 0;
  handle->dispatch_seq_ = 0;
  return 0;
}

int art_fs_event_start(art_fs_event_t *handle, art_fs_event_cb cb,
                       const char *path, unsigned flags) {
  const unsigned all =
      ART_FS_EVENT_WATCH_ENTRY | ART_FS_EVENT_STAT | ART_FS_EVENT_RECURSIVE;
  if (!art__handle_usable((art_handle_t *)handle) ||
      handle->type != ART_FS_EVENT || cb == NULL || path == NULL ||
      (flags & ~all) != 0 || (handle->flags_ & ART__H_ACTIVE))
    return ART_EINVAL;
  inotify_state_t *st = NULL;
  int err = get_state(handle->loop, &st);
  if (err)
    return err;
  handle->path_ = art__strdup(path);
  if (handle->path_ == NULL)
    return ART_ENOMEM;
  handle->cb_ = cb;
  handle->watch_flags_ = flags;
  err = add_watch(st, handle, "");
  if (err) {
    art__free(handle->path_);
    handle->path_ = NULL;
    return err;
  }
  art__handle_capture((art_handle_t *)handle);
  art__handle_start((art_handle_t *)handle); /* add_tree needs it active */
  if (flags & ART_FS_EVENT_RECURSIVE)
    add_tree(st, handle, "", 0);
  return 0;
}

/* Drops the handle's watches: art_fs_event_stop and art_close. */
static void stop_watching(art_fs_event_t *handle) {
  if (!(handle->flags_ & ART__H_ACTIVE))
    return;
  inotify_state_t *st = art__ext_get(handle->loop, &inotify_ext);
  if (st != NULL)
    remove_handle_watches(st, handle, NULL);
  art__free(handle->path_);
  handle->path_ = NULL;
  art__handle_stop((art_handle_t *)handle);
}

int art_fs_event_stop(art_fs_event_t *handle) {
  if (!art__handle_is((art_handle_t *)handle, ART_FS_EVENT))
    return ART_EINVAL;
  if (art__handle_usable((art_handle_t *)handle)) /* else art_close did */
    stop_watching(handle);
  return 0;
}

int art_fs_event_getpath(art_fs_event_t *handle, char *buffer, size_t *size) {
  if (handle == NULL || buffer == NULL || size == NULL ||
      handle->type != ART_FS_EVENT || handle->path_ == NULL)
    return ART_EINVAL;
  size_t len = strlen(handle->path_);
  if (*size <= len) {
    *size = len + 1;
    return ART_ENOBUFS;
  }
  memcpy(buffer, handle->path_, len + 1);
  *size = len;
  return 0;
}

static void fs_event_close(art_handle_t *h) {
  stop_watching((art_fs_event_t *)h);
}

const art__handle_ops_t art__fs_event_ops = {
    ART_FS_EVENT, "fs_event", sizeof(art_fs_event_t), fs_event_close, NULL,
    NULL,         NULL};
