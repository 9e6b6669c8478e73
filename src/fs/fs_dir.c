/* Directory operations: scandir (a whole folder, sorted) and the
 * opendir/readdir/closedir stream. The C library's opendir opens its fd
 * close-on-exec. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs.h"

/* True for "." and "..", which neither scandir nor readdir report. */
static int is_dot(const char *name) {
  return name[0] == '.' &&
         (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

static art_dirent_type_t type_from_mode(mode_t mode) {
  switch (mode & S_IFMT) {
  case S_IFREG:
    return ART_DIRENT_FILE;
  case S_IFDIR:
    return ART_DIRENT_DIR;
  case S_IFLNK:
    return ART_DIRENT_LINK;
  case S_IFIFO:
    return ART_DIRENT_FIFO;
  case S_IFSOCK:
    return ART_DIRENT_SOCKET;
  case S_IFCHR:
    return ART_DIRENT_CHAR;
  case S_IFBLK:
    return ART_DIRENT_BLOCK;
  default:
    return ART_DIRENT_UNKNOWN;
  }
}

/* The entry's type from d_type; file systems that do not fill d_type get
 * an lstat of the entry. */
static art_dirent_type_t entry_type(DIR *d, const struct dirent *de) {
  if (de->d_type != DT_UNKNOWN)
    return type_from_mode(DTTOIF(de->d_type));
  struct stat st;
  if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1)
    return ART_DIRENT_UNKNOWN;
  return type_from_mode(st.st_mode);
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const art_dirent_t *)a)->name,
                ((const art_dirent_t *)b)->name);
}

static void free_entries(art_dirent_t *ents, size_t n) {
  for (size_t i = 0; i < n; i++)
    art__free((char *)ents[i].name);
  art__free(ents);
}

/* Appends one entry to a growing array. 0 or -ENOMEM. */
static int push_entry(art_dirent_t **ents, size_t *n, size_t *cap, DIR *d,
                      const struct dirent *de) {
  if (*n == *cap) {
    size_t ncap = *cap ? *cap * 2 : 16;
    art_dirent_t *grown = art__realloc(*ents, ncap * sizeof(**ents));
    if (grown == NULL)
      return -ENOMEM;
    *ents = grown;
    *cap = ncap;
  }
  char *name = art__strdup(de->d_name);
  if (name == NULL)
    return -ENOMEM;
  (*ents)[*n].name = name;
  (*ents)[*n].type = entry_type(d, de);
  (*n)++;
  return 0;
}

ssize_t art__fs_scandir(art_fs_t *req) {
  DIR *d = opendir(req->path);
  if (d == NULL)
    return -errno;
  art_dirent_t *ents = NULL;
  size_t n = 0, cap = 0;
  int err = 0;
  for (;;) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL) {
      err = -errno;
      break;
    }
    if (!is_dot(de->d_name) && (err = push_entry(&ents, &n, &cap, d, de)))
      break;
  }
  closedir(d);
  if (err) {
    free_entries(ents, n);
    return err;
  }
  if (n > 1)
    qsort(ents, n, sizeof(*ents), by_name);
  req->ptr = ents;
  req->len_ = n;
  req->pos_ = 0;
  return (ssize_t)n;
}

int art_fs_scandir_next(art_fs_t *req, art_dirent_t *ent) {
  if (req == NULL || ent == NULL || req->fs_type != ART_FS_SCANDIR ||
      req->result < 0)
    return ART_EINVAL;
  if (req->ptr == NULL || req->pos_ >= req->len_)
    return ART_EOF;
  *ent = ((art_dirent_t *)req->ptr)[req->pos_++];
  return 0;
}

ssize_t art__fs_opendir(art_fs_t *req) {
  art_dir_t *dir = art__malloc(sizeof(*dir));
  if (dir == NULL)
    return -ENOMEM;
  DIR *d = opendir(req->path);
  if (d == NULL) {
    int err = errno;
    art__free(dir);
    return -err;
  }
  dir->dirents = NULL;
  dir->nentries = 0;
  dir->dir_ = d;
  req->ptr = dir;
  return 0;
}

/* Copies name into the growing block *buf at *used; returns its offset or
 * -ENOMEM. Offsets, not pointers, because the block may move. */
static ssize_t append_name(char **buf, size_t *used, size_t *cap,
                           const char *name) {
  size_t len = strlen(name) + 1;
  if (*used + len > *cap) {
    size_t ncap = (*cap ? *cap * 2 : 256) + len;
    char *grown = art__realloc(*buf, ncap);
    if (grown == NULL)
      return -ENOMEM;
    *buf = grown;
    *cap = ncap;
  }
  memcpy(*buf + *used, name, len);
  *used += len;
  return (ssize_t)(*used - len);
}

/* Fills up to dir->nentries entries. The names go into one block that the
 * request owns, so art_fs_req_cleanup frees them without touching the
 * stream (which may be closed by then). */
ssize_t art__fs_readdir(art_fs_t *req) {
  art_dir_t *dir = req->dir_;
  DIR *d = dir->dir_;
  char *names = NULL;
  size_t used = 0, cap = 0, n = 0;
  while (n < dir->nentries) {
    errno = 0;
    struct dirent *de = readdir(d);
    if (de == NULL) {
      if (errno != 0 && n == 0) {
        art__free(names);
        return -errno;
      }
      break;
    }
    if (is_dot(de->d_name))
      continue;
    ssize_t off = append_name(&names, &used, &cap, de->d_name);
    if (off < 0) {
      art__free(names);
      return off;
    }
    /* The offset waits in the name field until the block stops moving. */
    dir->dirents[n].name = (const char *)(uintptr_t)off;
    dir->dirents[n].type = entry_type(d, de);
    n++;
  }
  for (size_t i = 0; i < n; i++)
    dir->dirents[i].name = names + (uintptr_t)dir->dirents[i].name;
  req->names_ = names;
  req->ptr = dir;
  return (ssize_t)n;
}

ssize_t art__fs_closedir(art_fs_t *req) {
  art_dir_t *dir = req->dir_;
  closedir(dir->dir_);
  dir->dir_ = NULL;
  art__free(dir);
  req->dir_ = NULL;
  return 0;
}

void art__fs_dir_cleanup(art_fs_t *req) {
  if (req->fs_type == ART_FS_SCANDIR && req->ptr != NULL) {
    free_entries(req->ptr, req->len_);
    req->ptr = NULL;
    req->len_ = 0;
  }
  art__free(req->names_);
  req->names_ = NULL;
}
