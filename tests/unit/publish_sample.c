/*
 * publish_sample.c: a sample store published into a directory, for
 * tests/integration/validate_outputs.py:
 *
 *   publish_sample OUTPUT_DIR
 *
 * The store (a real SQLite file in a temporary directory, removed at
 * exit) is filled through the store API with hand-built feeds: three
 * subscriptions, a cross-feed duplicate, a hostile entry (script in the
 * content as the parser leaves it, control characters and invalid UTF-8
 * in the title, a non-IRI guid, no dates), a future date, an entry
 * without a link, a title-less status, two feeds sharing an id, a
 * javascript: link, enclosures with and without type and length,
 * credentials in a feed URL. test_publish.c includes this file with
 * SAMPLE_NO_MAIN for the same data.
 */
#include "config.h"
#include "feed.h"
#include "html.h"
#include "publish.h"
#include "store.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define DAY INT64_C(86400)
#define SAMPLE_GAMMA 12                      /* entries in the third feed */
#define SAMPLE_UNIQUE (5 + 3 + SAMPLE_GAMMA) /* one of beta's is a dup */

struct sample {
  char dir[64]; /* holds the database */
  char db[96];
  int64_t now;
  int64_t seen[3]; /* when each feed was fetched */
  struct config cfg;
  struct config_feed feeds[3];
  struct store *store;
};

static char *dup_or_null(const char *s)
{
  char *d = s ? strdup(s) : NULL;

  if(s && d == NULL)
    abort();
  return d;
}

static struct feed_entry *add_entry(struct feed *f, const char *id,
                                    const char *title, const char *link,
                                    int64_t published)
{
  struct feed_entry *e = feed_add_entry(f);

  if(e == NULL)
    abort();
  e->id = dup_or_null(id);
  e->title = dup_or_null(title);
  e->link = dup_or_null(link);
  e->published = published;
  return e;
}

static int save(struct sample *s, const char *name, struct feed *f, int64_t at)
{
  struct store_feed row = {0};
  struct store_fetch fetch = {.fetched_at = at,
                              .status = 200,
                              .feed = f,
                              .next_due = at + 1800,
                              .interval = 1800};
  int rc = store_get_feed(s->store, name, &row);

  if(rc == 0)
    rc = store_save_fetch(s->store, row.id, &fetch, NULL);
  store_feed_clear(&row);
  feed_free(f);
  return rc;
}

static struct feed *new_feed(const char *title, const char *link)
{
  struct feed *f = feed_new();

  if(f == NULL)
    abort();
  f->format = FEED_FORMAT_RSS20;
  f->title = dup_or_null(title);
  f->link = dup_or_null(link);
  return f;
}

static int fill_alpha(struct sample *s)
{
  static const char hostile_html[] =
      "<p>before<script>alert(1)</script><img src=x onerror=alert(1)>"
      "after <a href=\"javascript:alert(2)\">link</a></p>";
  struct feed *f = new_feed("Alpha Blog", "https://alpha.example.com/");
  struct feed_entry *e;
  int64_t now = s->now;

  e = add_entry(f, "https://alpha.example.com/posts/1", "Alpha one",
                "https://alpha.example.com/posts/1", now - 7200);
  e->updated = now - 7000;
  e->author = dup_or_null("Ann Author");
  e->summary = dup_or_null("<p>Hello world.</p>");
  e->content = dup_or_null(
      "<p>Hello <b>world</b>. This first post is long enough to be cut: "
      "it goes on about feeds, aggregators, widgets and the many small "
      "things that make a merged feed pleasant to read in any reader, "
      "and then it goes on some more, because excerpts stop at a word "
      "boundary and end with an ellipsis.</p>");
  e->image = dup_or_null("https://alpha.example.com/a.png");
  feed_entry_add_category(e, "news");
  feed_entry_add_category(e, "c&d <e>");
  feed_entry_add_enclosure(e, dup_or_null("https://alpha.example.com/a.mp3"),
                           dup_or_null("audio/mpeg"), 1234);

  /* Hostile: what the parser would store for a nasty item, plus what it
   * never stores (control characters, invalid UTF-8) in case a database
   * holds it anyway. */
  e = add_entry(f, "42",
                "Bad\x01 title\x7f \xff\xfe<script>alert(1)</script> "
                "\xed\xa0\x80 end",
                "https://alpha.example.com/posts/42", FEED_NO_DATE);
  e->content = html_sanitize(hostile_html, strlen(hostile_html),
                             "https://alpha.example.com/", NULL);
  e->author = dup_or_null("Eve \x1b[31mred\x1b[0m");

  add_entry(f, "https://alpha.example.com/posts/future", "From the future",
            "https://alpha.example.com/posts/future", now + 365 * DAY);
  add_entry(f, "https://alpha.example.com/posts/shared", "Shared story (alpha)",
            "https://shared.example.org/story?utm_source=alpha", now - 5000);

  e = add_entry(f, "https://alpha.example.com/posts/pod", "Episode 1",
                "javascript:alert(3)", now - 9000);
  e->summary = dup_or_null("<p>An episode.</p>");
  feed_entry_add_enclosure(e, dup_or_null("https://alpha.example.com/ep.ogg"),
                           NULL, -1);
  feed_entry_add_enclosure(e, dup_or_null("https://alpha.example.com/x.bin"),
                           dup_or_null("not a type"), 7);
  return save(s, "alpha", f, s->seen[0]);
}

static int fill_beta(struct sample *s)
{
  struct feed *f = new_feed("Beta & Co <News>", "https://beta.example.net/");
  struct feed_entry *e;
  int64_t now = s->now;

  /* Same story as alpha's (another tracking parameter): shown once. */
  add_entry(f, "beta-1", "Shared story (beta)",
            "https://shared.example.org/story", now - 5000);
  e = add_entry(f, "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66", NULL,
                "https://beta.example.net/status/2", now - 600);
  e->summary = dup_or_null(
      "<p>A short status update without a title, long enough to be a "
      "title of its own once it is cut down to size by the widget.</p>");
  /* alpha's id again, on another story. */
  add_entry(f, "https://alpha.example.com/posts/1", "Mirror of alpha one",
            "https://beta.example.net/mirror/1", now - 7100);
  /* No link; the id the parser derives from title and date. */
  add_entry(f, "freshet:82cbbd8351be43aa", "Only a title", NULL, now - 100000);
  return save(s, "beta", f, s->seen[1]);
}

static int fill_gamma(struct sample *s)
{
  struct feed *f = new_feed(NULL, "https://gamma.example.com/");
  char id[64], title[64];

  for(int i = 0; i < SAMPLE_GAMMA; i++) {
    struct feed_entry *e;

    snprintf(id, sizeof(id), "https://gamma.example.com/g/%d", i);
    snprintf(title, sizeof(title), "Gamma %d", i);
    e = add_entry(f, id, title, id, s->now - (i + 1) * 20 * DAY);
    if(i % 2)
      e->summary = dup_or_null("<p>Gamma summary.</p>");
    else
      e->content = dup_or_null("<p>Gamma <em>content</em>.</p>");
  }
  return save(s, "gamma", f, s->seen[2]);
}

static void sample_config(struct sample *s, const char *output_dir)
{
  static const char *const names[3] = {"alpha", "beta", "gamma"};
  static const char *const urls[3] = {
      "https://alpha.example.com/feed.xml",
      "https://reader:secret@beta.example.net/rss",
      "https://gamma.example.com/atom.xml"};

  memset(&s->cfg, 0, sizeof(s->cfg));
  for(int i = 0; i < 3; i++) {
    memset(&s->feeds[i], 0, sizeof(s->feeds[i]));
    s->feeds[i].name = (char *)names[i];
    s->feeds[i].url = (char *)urls[i];
    s->feeds[i].enabled = true;
  }
  s->cfg.dir = s->dir;
  s->cfg.output_dir = (char *)output_dir;
  s->cfg.title = (char *)"Planet Test";
  s->cfg.link = (char *)"https://planet.example.org/";
  s->cfg.id = (char *)"";
  s->cfg.author = (char *)"Planet Editors";
  s->cfg.listen = (char *)"";
  s->cfg.items = 100;
  s->cfg.recent = 10;
  s->cfg.excerpt = 120;
  s->cfg.feeds = s->feeds;
  s->cfg.nfeeds = 3;
}

/* Creates the database and fills it; output_dir is relative to the
 * database's directory unless absolute. Returns 0 or a negative code. */
static int sample_open(struct sample *s, const char *output_dir, bool fill)
{
  char err[256];
  int rc;

  memset(s, 0, sizeof(*s));
  snprintf(s->dir, sizeof(s->dir), "/tmp/freshet-publish-XXXXXX");
  if(mkdtemp(s->dir) == NULL)
    return -errno;
  snprintf(s->db, sizeof(s->db), "%s/freshet.db", s->dir);
  s->now = (int64_t)time(NULL);
  s->seen[0] = s->now - 3600;
  s->seen[1] = s->now - 300;
  s->seen[2] = s->now - 60;
  sample_config(s, output_dir);
  rc = store_open(s->db, &s->store, err, sizeof(err));
  if(rc < 0) {
    fprintf(stderr, "%s\n", err);
    return rc;
  }
  rc = store_sync_feeds(s->store, &s->cfg);
  if(rc == 0 && fill)
    rc = fill_alpha(s);
  if(rc == 0 && fill)
    rc = fill_beta(s);
  if(rc == 0 && fill)
    rc = fill_gamma(s);
  return rc;
}

/* Closes the store and removes the database directory (not the output,
 * unless it is inside and named by rm_output). */
static void sample_close(struct sample *s, const char *rm_output)
{
  char path[512];
  static const char *const files[] = {"freshet.db", "freshet.db-wal",
                                      "freshet.db-shm"};

  store_close(s->store);
  s->store = NULL;
  if(rm_output) {
    static const char *const outs[] = {"feed.atom", "feed.rss", "feed.json",
                                       "feeds.opml", "recent.json"};

    for(size_t i = 0; i < sizeof(outs) / sizeof(outs[0]); i++) {
      snprintf(path, sizeof(path), "%s/%s/%s", s->dir, rm_output, outs[i]);
      unlink(path);
    }
    snprintf(path, sizeof(path), "%s/%s", s->dir, rm_output);
    rmdir(path);
  }
  for(size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", s->dir, files[i]);
    unlink(path);
  }
  rmdir(s->dir);
}

#ifndef SAMPLE_NO_MAIN
int main(int argc, char **argv)
{
  struct sample s;
  struct publish *p = NULL;
  int rc;

  if(argc != 2 || argv[1][0] != '/') {
    fprintf(stderr, "usage: publish_sample /ABSOLUTE/OUTPUT_DIR\n");
    return 2;
  }
  rc = sample_open(&s, argv[1], true);
  if(rc == 0)
    rc = publish_new(&s.cfg, &p);
  if(rc == 0)
    rc = publish_all(p, s.store);
  publish_free(p);
  sample_close(&s, NULL);
  if(rc < 0) {
    fprintf(stderr, "publish_sample: %s\n", strerror(-rc));
    return 1;
  }
  return 0;
}
#endif
