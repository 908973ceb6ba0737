/*
 * publish.c: store -> the published documents. One store query per
 * publication feeds every document; render_model.c makes the values, the
 * render_*.c files spell them, and this file writes them: each to
 * OUTPUT_DIR/.NAME.tmpXXXXXX, fsync, rename over NAME, fsync of the
 * directory; on any failure the temporary file goes and the old file
 * stays. A document whose bytes did not change since the last successful
 * write is not written again (its mtime, like its ETag, then only moves
 * when its content does).
 *
 * The last rendered bytes of each document stay in memory as a
 * reference-counted render_doc: publish_get hands out references under a
 * mutex, from any thread; publish_on_update pushes each new document to a
 * callback (http_update). Everything else is for one thread at a time.
 */
#include "publish.h"

#include "config.h"
#include "log.h"
#include "opml.h"
#include "render_atom.h"
#include "render_doc.h"
#include "render_jsonfeed.h"
#include "render_model.h"
#include "render_recent.h"
#include "render_rss.h"
#include "store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

enum doc { DOC_ATOM, DOC_RSS, DOC_JSON, DOC_OPML, DOC_RECENT, DOC_COUNT };

static const struct {
  const char *name;
  const char *type;
} docs[DOC_COUNT] = {
    [DOC_ATOM] = {"feed.atom", "application/atom+xml; charset=utf-8"},
    [DOC_RSS] = {"feed.rss", "application/rss+xml; charset=utf-8"},
    [DOC_JSON] = {"feed.json", "application/feed+json; charset=utf-8"},
    [DOC_OPML] = {"feeds.opml", "text/x-opml; charset=utf-8"},
    [DOC_RECENT] = {"recent.json", "application/json; charset=utf-8"},
};

struct publish {
  const struct config *cfg;
  char *dir;
  uv_mutex_t lock; /* guards docs[] against publish_get */
  struct render_doc *docs[DOC_COUNT];
  bool on_disk[DOC_COUNT]; /* the file holds docs[i] */
  void (*on_update)(void *arg, const char *name, const char *content_type,
                    const char *body, size_t len);
  void *on_update_arg;
};

/* ---- files ------------------------------------------------------------- */

static char *join(const char *dir, const char *prefix, const char *name,
                  const char *suffix)
{
  size_t size =
      strlen(dir) + strlen(prefix) + strlen(name) + strlen(suffix) + 2;
  char *out = malloc(size);

  if(out)
    snprintf(out, size, "%s/%s%s%s", dir, prefix, name, suffix);
  return out;
}

/* mkdir -p. Returns 0 or a negative errno. */
static int make_dir(const char *path)
{
  char *copy = strdup(path);
  struct stat st;
  int rc = 0;

  if(copy == NULL)
    return -ENOMEM;
  for(char *p = copy + 1; rc == 0; p++) {
    bool last = *p == '\0';

    if(*p != '/' && !last)
      continue;
    *p = '\0';
    if(mkdir(copy, 0755) != 0 && errno != EEXIST)
      rc = -errno;
    if(last)
      break;
    *p = '/';
  }
  free(copy);
  if(rc == 0 && stat(path, &st) != 0)
    rc = -errno;
  else if(rc == 0 && !S_ISDIR(st.st_mode))
    rc = -ENOTDIR;
  return rc;
}

static int write_all(int fd, const char *data, size_t len)
{
  while(len > 0) {
    ssize_t n = write(fd, data, len);

    if(n < 0 && errno == EINTR)
      continue;
    if(n <= 0)
      return n < 0 ? -errno : -EIO;
    data += n;
    len -= (size_t)n;
  }
  return 0;
}

static void sync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if(fd < 0)
    return;
  if(fsync(fd) != 0 && errno != EINVAL)
    log_warnx("cannot sync the output directory", "dir=%s error=\"%s\"", dir,
              strerror(errno));
  close(fd);
}

/* Writes data to dir/name atomically. Returns 0, or a negative errno
 * after logging; dir/name is then untouched. */
static int write_file(const char *dir, const char *name, const char *data,
                      size_t len)
{
  char *path = join(dir, "", name, "");
  char *tmp = join(dir, ".", name, ".tmpXXXXXX");
  const char *what = "create";
  int fd = -1, rc = -ENOMEM;

  if(path == NULL || tmp == NULL)
    goto out;
  fd = mkostemp(tmp, O_CLOEXEC);
  if(fd < 0) {
    rc = -errno;
    goto out;
  }
  what = "write";
  rc = fchmod(fd, 0644) != 0 ? -errno : 0;
  if(rc == 0)
    rc = write_all(fd, data, len);
  if(rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if(close(fd) != 0 && rc == 0)
    rc = -errno;
  fd = -1;
  if(rc == 0) {
    what = "rename";
    if(rename(tmp, path) != 0)
      rc = -errno;
  }
  if(rc < 0)
    unlink(tmp);
  else
    sync_dir(dir);
out:
  if(rc < 0)
    log_errorx("cannot publish a file; the old one stays",
               "file=%s step=%s error=\"%s\"", path ? path : name, what,
               strerror(-rc));
  free(path);
  free(tmp);
  return rc;
}

/* True when dir/name is a regular file of len bytes. */
static bool file_has_size(const char *dir, const char *name, size_t len)
{
  char *path = join(dir, "", name, "");
  struct stat st;
  bool ok;

  ok = path && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
       (size_t)st.st_size == len;
  free(path);
  return ok;
}

/* True when dir/name is a regular file holding exactly these len bytes. */
static bool file_holds(const char *dir, const char *name, const char *data,
                       size_t len)
{
  char *path = join(dir, "", name, "");
  char *have = NULL;
  struct stat st;
  bool same = false;
  size_t got = 0;
  int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;

  free(path);
  if(fd < 0)
    return false;
  if(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size == len &&
     (have = malloc(len ? len : 1)) != NULL) {
    while(got < len) {
      ssize_t n = read(fd, have + got, len - got);

      if(n <= 0)
        break;
      got += (size_t)n;
    }
    same = got == len && memcmp(have, data, len) == 0;
  }
  free(have);
  close(fd);
  return same;
}

/* Removes .NAME.tmpXXXXXX files a crash left behind. */
static void remove_stale(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;

  if(d == NULL)
    return;
  while((e = readdir(d)) != NULL) {
    for(int i = 0; i < DOC_COUNT; i++) {
      size_t n = strlen(docs[i].name);

      if(e->d_name[0] == '.' && strncmp(e->d_name + 1, docs[i].name, n) == 0 &&
         strncmp(e->d_name + 1 + n, ".tmp", 4) == 0 &&
         strlen(e->d_name + 1 + n + 4) == 6 &&
         unlinkat(dirfd(d), e->d_name, 0) == 0)
        log_info("removed a stale temporary file", "dir=%s file=%s", dir,
                 e->d_name);
    }
  }
  closedir(d);
}

/* ---- documents --------------------------------------------------------- */

/* Makes data (malloc'd, taken over) the current doc d, and writes it
 * unless the file already holds it. Returns 0 or a negative code. */
static int install(struct publish *p, enum doc d, char *data, size_t len,
                   int64_t now)
{
  struct render_doc *old = p->docs[d], *doc = old;
  bool same = old && old->len == len && memcmp(old->data, data, len) == 0;
  int rc;

  if(same) {
    free(data);
    /* This process wrote it: a size check is enough, no read per cycle. */
    if(p->on_disk[d] && file_has_size(p->dir, docs[d].name, len))
      return 0;
  } else {
    /* A new process (a `poll` from cron, a restart) finds the file that
     * an earlier one wrote: when it is this very document, it is not
     * written and synced again. */
    bool on_disk = old == NULL && file_holds(p->dir, docs[d].name, data, len);

    doc = render_doc_new(docs[d].name, docs[d].type, data, len, now);
    if(doc == NULL)
      return -ENOMEM;
    uv_mutex_lock(&p->lock);
    p->docs[d] = doc;
    uv_mutex_unlock(&p->lock);
    render_doc_unref(old);
    if(p->on_update)
      p->on_update(p->on_update_arg, doc->name, doc->content_type, doc->data,
                   doc->len);
    if(on_disk) {
      p->on_disk[d] = true;
      return 0;
    }
  }
  rc = write_file(p->dir, docs[d].name, doc->data, doc->len);
  p->on_disk[d] = rc == 0;
  return rc;
}

struct render_doc *publish_get(struct publish *p, const char *name)
{
  struct render_doc *doc = NULL;

  for(int i = 0; i < DOC_COUNT; i++)
    if(strcmp(docs[i].name, name) == 0) {
      uv_mutex_lock(&p->lock);
      doc = render_doc_ref(p->docs[i]);
      uv_mutex_unlock(&p->lock);
    }
  return doc;
}

void publish_on_update(struct publish *p,
                       void (*fn)(void *arg, const char *name,
                                  const char *content_type, const char *body,
                                  size_t len),
                       void *arg)
{
  p->on_update = fn;
  p->on_update_arg = arg;
  for(int i = 0; fn && i < DOC_COUNT; i++)
    if(p->docs[i])
      fn(arg, p->docs[i]->name, p->docs[i]->content_type, p->docs[i]->data,
         p->docs[i]->len);
}

/* Logs a failed rendering. Returns rc. */
static int render_failed(enum doc d, int rc)
{
  log_errorx("cannot render a published file; the old one stays",
             "file=%s error=\"%s\"", docs[d].name, strerror(-rc));
  return rc;
}

static size_t limit_of(long n)
{
  return n > 0 ? (size_t)n : 0;
}

static size_t min_size(size_t a, size_t b)
{
  return a < b ? a : b;
}

/* Loads the newest limit items as render items. Returns 0 or a negative
 * code after logging. */
static int load(struct store *store, size_t limit, int64_t now,
                struct render_item **items, size_t *n)
{
  struct store_item *src = NULL;
  int rc;

  *items = NULL;
  *n = 0;
  rc = store_items(store, limit, NULL, &src, n);
  if(rc < 0) {
    log_errorx("cannot read the entries to publish", "error=\"%s\"",
               strerror(-rc));
    return rc;
  }
  rc = render_items_new(src, *n, now, items);
  store_items_free(src, *n);
  if(rc < 0) {
    log_errorx("cannot prepare the entries to publish", "error=\"%s\"",
               strerror(-rc));
    *n = 0;
  }
  return rc;
}

/* The feeds.opml blogroll: every subscription, URLs without
 * user:password@. */
static int render_opml(const struct config *cfg, char **out, size_t *len)
{
  struct config_feed *copy = NULL;
  char **urls = NULL;
  int rc = -ENOMEM;

  *out = NULL;
  *len = 0;
  if(cfg->nfeeds) {
    copy = calloc(cfg->nfeeds, sizeof(*copy));
    urls = calloc(cfg->nfeeds, sizeof(*urls));
    if(copy == NULL || urls == NULL)
      goto out;
  }
  for(size_t i = 0; i < cfg->nfeeds; i++) {
    const char *u = cfg->feeds[i].url, *host = u ? strstr(u, "://") : NULL;
    const char *end, *at = NULL;

    copy[i] = cfg->feeds[i];
    if(host == NULL)
      continue;
    host += 3;
    end = host + strcspn(host, "/?#");
    for(const char *q = host; q < end; q++)
      if(*q == '@')
        at = q;
    if(at == NULL)
      continue;
    urls[i] = malloc(strlen(u) + 1);
    if(urls[i] == NULL)
      goto out;
    snprintf(urls[i], strlen(u) + 1, "%.*s%s", (int)(host - u), u, at + 1);
    copy[i].url = urls[i];
  }
  *out = opml_write(copy, cfg->nfeeds, cfg->title);
  if(*out) {
    *len = strlen(*out);
    rc = 0;
  }
out:
  for(size_t i = 0; urls && i < cfg->nfeeds; i++)
    free(urls[i]);
  free(urls);
  free(copy);
  return rc;
}

static int publish_recent_items(struct publish *p,
                                const struct render_channel *ch,
                                const struct render_item *items, size_t n)
{
  char *data;
  size_t len;
  int rc;

  rc = render_recent(ch, items, n, limit_of(p->cfg->excerpt), &data, &len);
  if(rc < 0)
    return render_failed(DOC_RECENT, rc);
  return install(p, DOC_RECENT, data, len, ch->generated);
}

int publish_all(struct publish *p, struct store *store)
{
  const struct config *cfg = p->cfg;
  size_t nitems = limit_of(cfg->items), nrecent = limit_of(cfg->recent);
  struct render_channel ch;
  struct render_item *items = NULL;
  size_t n = 0;
  int64_t now = (int64_t)time(NULL);
  int rc, first = 0;

  rc = render_channel_init(&ch, cfg, now);
  if(rc < 0) {
    log_errorx("cannot publish", "error=\"%s\"", strerror(-rc));
    return rc;
  }
  rc = load(store, nitems > nrecent ? nitems : nrecent, now, &items, &n);
  if(rc < 0)
    goto out;
  for(int d = 0; d < DOC_COUNT; d++) {
    size_t count = min_size(n, nitems);
    char *data = NULL;
    size_t len = 0;

    switch((enum doc)d) {
    case DOC_ATOM:
      rc = render_atom(&ch, items, count, &data, &len);
      break;
    case DOC_RSS:
      rc = render_rss(&ch, items, count, &data, &len);
      break;
    case DOC_JSON:
      rc = render_jsonfeed(&ch, items, count, &data, &len);
      break;
    case DOC_OPML:
      rc = render_opml(cfg, &data, &len);
      break;
    case DOC_RECENT:
      rc = publish_recent_items(p, &ch, items, min_size(n, nrecent));
      if(rc < 0 && first == 0)
        first = rc;
      continue;
    case DOC_COUNT:
      break;
    }
    if(rc < 0)
      rc = render_failed((enum doc)d, rc);
    else
      rc = install(p, (enum doc)d, data, len, now);
    if(rc < 0 && first == 0)
      first = rc;
  }
  rc = first;
  if(rc == 0)
    log_debug("published", "dir=%s entries=%zu", p->dir, min_size(n, nitems));
out:
  render_items_free(items, n);
  render_channel_clear(&ch);
  return rc;
}

int publish_recent(struct publish *p, struct store *store)
{
  struct render_channel ch;
  struct render_item *items = NULL;
  size_t n = 0;
  int64_t now = (int64_t)time(NULL);
  int rc;

  rc = render_channel_init(&ch, p->cfg, now);
  if(rc < 0) {
    log_errorx("cannot publish", "error=\"%s\"", strerror(-rc));
    return rc;
  }
  rc = load(store, limit_of(p->cfg->recent), now, &items, &n);
  if(rc == 0)
    rc = publish_recent_items(p, &ch, items, n);
  render_items_free(items, n);
  render_channel_clear(&ch);
  return rc;
}

/* ---- setup ------------------------------------------------------------- */

/* Points p at cfg's output directory, creating it. Returns 0 or a
 * negative code after logging. */
static int set_dir(struct publish *p, const struct config *cfg)
{
  char *dir = config_path(cfg, cfg->output_dir ? cfg->output_dir : "public");
  int rc;

  if(dir == NULL)
    return -ENOMEM;
  rc = make_dir(dir);
  if(rc < 0) {
    log_errorx("cannot create the output directory", "dir=%s error=\"%s\"", dir,
               strerror(-rc));
    free(dir);
    return rc;
  }
  if(p->dir == NULL || strcmp(p->dir, dir) != 0) {
    for(int i = 0; i < DOC_COUNT; i++)
      p->on_disk[i] = false;
    remove_stale(dir);
  }
  free(p->dir);
  p->dir = dir;
  return 0;
}

int publish_new(const struct config *cfg, struct publish **out)
{
  struct publish *p = calloc(1, sizeof(*p));
  int rc;

  *out = NULL;
  if(p == NULL)
    return -ENOMEM;
  p->cfg = cfg;
  rc = set_dir(p, cfg);
  if(rc == 0 && uv_mutex_init(&p->lock) != 0)
    rc = -ENOMEM;
  if(rc < 0) {
    free(p->dir);
    free(p);
    return rc;
  }
  *out = p;
  return 0;
}

void publish_set_config(struct publish *p, const struct config *cfg)
{
  p->cfg = cfg;
  /* On failure the old directory stays in use (logged). */
  set_dir(p, cfg);
}

void publish_free(struct publish *p)
{
  if(p == NULL)
    return;
  for(int i = 0; i < DOC_COUNT; i++)
    render_doc_unref(p->docs[i]);
  uv_mutex_destroy(&p->lock);
  free(p->dir);
  free(p);
}
