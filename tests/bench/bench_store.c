/*
 * bench_store.c: the SQLite store under load. Synthesizes documents in
 * memory, modelled on the shared corpus (gen_corpus.py: titles of 3-11
 * words, WordPress/news style links, HTML bodies 200 B - 8 KiB
 * log-uniform, a summary on most entries, 0-5 categories, podcast
 * enclosures, 5% of stories syndicated across feeds with their own
 * tracking parameters), so it does not depend on the parser. To store
 * 1,000,000 entries with 1000 feeds each document holds 1000 entries.
 *
 * Only store_save_fetch is timed (CLOCK_MONOTONIC); documents are built
 * before the clock starts. Reports:
 *   pass 1   every feed's document stored into an empty database
 *   size     bytes on disk per entry after a TRUNCATE checkpoint, and the
 *            share of each table and index (dbstat)
 *   pass 2   the same documents again: must write no entry. Proof: AFTER
 *            triggers (installed by a second connection) count each row
 *            inserted, updated or deleted in entries and tombstones, which
 *            is what sqlite3_total_changes would count there; the WAL
 *            frames written and the database size are printed too
 *   steady   one more fetch per feed whose document has 5 new entries
 *   reads    store_items(100), store_list_feeds, and for comparison the
 *            GROUP BY count the entry_count column replaces
 *
 *   bench_store [-f FEEDS] [-e ENTRIES] [-d DIR] [-k] [-t]
 *
 * -d: where the database goes (default a new directory under /tmp, removed
 * at the end unless -k). -t adds one key=value line for scripts.
 */
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "feed.h"
#include "store.h"

#define NOW INT64_C(1717200000) /* the corpus's "now" */

static const char *const words[] = {
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "that",
    "on",
    "with",
    "as",
    "it",
    "be",
    "are",
    "this",
    "by",
    "at",
    "from",
    "or",
    "an",
    "was",
    "have",
    "not",
    "but",
    "we",
    "can",
    "all",
    "will",
    "one",
    "has",
    "more",
    "about",
    "which",
    "their",
    "there",
    "new",
    "system",
    "data",
    "feed",
    "server",
    "client",
    "memory",
    "cache",
    "parser",
    "update",
    "release",
    "version",
    "build",
    "kernel",
    "network",
    "socket",
    "thread",
    "signal",
    "buffer",
    "stream",
    "packet",
    "latency",
    "queue",
    "design",
    "review",
    "policy",
    "market",
    "report",
    "city",
    "council",
    "budget",
    "weather",
    "season",
    "match",
    "team",
    "player",
    "music",
    "album",
    "recipe",
    "garden",
    "travel",
    "photo",
    "camera",
    "science",
    "study",
    "energy",
    "climate",
    "health",
    "school",
    "caf\xc3\xa9",
    "na\xc3\xafve",
    "Z\xc3\xbcrich",
    "\xe2\x80\x9cquoted\xe2\x80\x9d",
};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static const char *const names[] = {"Ada Lovelace",   "Grace Hopper",
                                    "Ken Thompson",   "Barbara Liskov",
                                    "Dennis Ritchie", "Frances Allen"};

/* splitmix64: deterministic, seeded per feed and per story. */
struct rng {
  uint64_t s;
};

static uint64_t next(struct rng *r)
{
  uint64_t z = (r->s += UINT64_C(0x9e3779b97f4a7c15));

  z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
  z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
  return z ^ (z >> 31);
}

static long range(struct rng *r, long lo, long hi)
{
  return lo + (long)(next(r) % (uint64_t)(hi - lo + 1));
}

static double unit(struct rng *r)
{
  return (double)(next(r) >> 11) / 9007199254740992.0;
}

/* e^x for the log-uniform body sizes, without libm: (1 + x/1024)^1024. */
static double expo(double x)
{
  double y = 1.0 + x / 1024.0;

  for(int i = 0; i < 10; i++)
    y *= y;
  return y;
}

static void die(const char *what)
{
  fprintf(stderr, "bench_store: %s\n", what);
  exit(1);
}

static char *xstrdup(const char *s)
{
  char *d = strdup(s);

  if(!d)
    die("out of memory");
  return d;
}

struct sbuf {
  char *p;
  size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s)
{
  size_t n = strlen(s);

  if(b->len + n + 1 > b->cap) {
    b->cap = (b->len + n + 1) * 2;
    b->p = realloc(b->p, b->cap);
    if(!b->p)
      die("out of memory");
  }
  memcpy(b->p + b->len, s, n + 1);
  b->len += n;
}

static void sentence(struct rng *r, struct sbuf *b, long lo, long hi)
{
  long n = range(r, lo, hi);

  for(long i = 0; i < n; i++) {
    if(i)
      sb_add(b, " ");
    sb_add(b, words[next(r) % NWORDS]);
  }
  sb_add(b, ".");
}

/* HTML of about target bytes: paragraphs, lists, images, code. */
static char *html(struct rng *r, size_t target, const char *site)
{
  struct sbuf b = {0};
  char tmp[512];

  while(b.len < target) {
    double x = unit(r);

    if(x < 0.6) {
      sb_add(&b, "<p>");
      for(long i = range(r, 1, 5); i > 0; i--) {
        sentence(r, &b, 6, 22);
        sb_add(&b, " ");
      }
      sb_add(&b, "</p>\n");
    } else if(x < 0.7) {
      snprintf(tmp, sizeof(tmp),
               "<figure><img src=\"%s/wp-content/uploads/img-%ld.jpg\" "
               "alt=\"\" width=\"1024\" height=\"683\"/><figcaption>",
               site, range(r, 1000, 99999));
      sb_add(&b, tmp);
      sentence(r, &b, 3, 8);
      sb_add(&b, "</figcaption></figure>\n");
    } else if(x < 0.8) {
      sb_add(&b, "<ul>");
      for(long i = range(r, 2, 6); i > 0; i--) {
        sb_add(&b, "<li>");
        sentence(r, &b, 3, 10);
        sb_add(&b, "</li>");
      }
      sb_add(&b, "</ul>\n");
    } else if(x < 0.9) {
      sb_add(&b, "<pre><code>if (n &lt; len) {\n  p-&gt;next = q;\n}"
                 "</code></pre>\n");
    } else {
      sb_add(&b, "<blockquote><p>");
      sentence(r, &b, 6, 22);
      sb_add(&b, "</p></blockquote>\n");
    }
  }
  return b.p;
}

static char *title(struct rng *r)
{
  struct sbuf b = {0};

  sentence(r, &b, 3, 11);
  b.p[b.len - 1] = '\0'; /* no final dot */
  return b.p;
}

/* Fills e with a story: text from r, link under site. */
static void story(struct rng *r, struct feed_entry *e, const char *site,
                  long num, int64_t ts)
{
  char buf[512];
  double body = 200.0 * expo(unit(r) * 3.7126); /* ln(8192 / 200) */
  long ncats = (long[]){0, 0, 1, 1, 2, 3, 5}[next(r) % 7];

  e->title = title(r);
  snprintf(buf, sizeof(buf), "%s/2024/%02ld/%02ld/%s-%ld/", site,
           range(r, 1, 12), range(r, 1, 28), words[next(r) % 36], num);
  e->link = xstrdup(buf);
  e->published = ts;
  if(unit(r) < 0.2)
    e->updated = ts + range(r, 60, 3 * 86400);
  e->author = xstrdup(names[next(r) % 6]);
  for(long i = 0; i < ncats; i++)
    feed_entry_add_category(e, words[36 + next(r) % 48]);
  e->content = html(r, (size_t)body, site);
  if(unit(r) < 0.7) {
    struct sbuf b = {0};

    for(long i = range(r, 1, 3); i > 0; i--) {
      sentence(r, &b, 6, 22);
      sb_add(&b, " ");
    }
    e->summary = b.p;
  }
}

/* The document of feed fi at fetch round `round` (0: the first): n entries,
 * newest first; round k adds 5k newer entries on top. */
static struct feed *make_doc(long fi, long n, long nfeeds, int round)
{
  struct feed *d = feed_new();
  struct rng fr = {UINT64_C(0x5eed) ^ ((uint64_t)fi << 20)};
  char site[64], buf[512];
  long pool = nfeeds * n / 20 / 3; /* each syndicated story in ~3 feeds */
  bool podcast;
  int idstyle;

  if(!d)
    die("out of memory");
  snprintf(site, sizeof(site), "https://site-%ld.example", fi);
  d->title = xstrdup(site + 8);
  d->link = xstrdup(site);
  podcast = unit(&fr) < 0.1;
  idstyle = (int)(next(&fr) % 10); /* 0-5 guid = link, 6-8 tag:, 9 none */
  for(long j = -5L * round; j < n - 5L * round; j++) {
    struct rng r = {((uint64_t)fi << 32) ^ (uint64_t)(j + 1000000)};
    int64_t ts = NOW - (int64_t)j * 6 * 3600 - (int64_t)(next(&r) % 3600);
    struct feed_entry *e = feed_add_entry(d);

    if(!e)
      die("out of memory");
    if(unit(&r) < 0.05) {
      /* Syndicated: the same story, its own tracking parameters. */
      long k = (long)(next(&r) % (uint64_t)(pool > 0 ? pool : 1));
      struct rng sr = {UINT64_C(0xabcdef) ^ (uint64_t)k};

      story(&sr, e, "https://wire.example", k, ts);
      snprintf(buf, sizeof(buf), "%s?utm_source=site-%ld&utm_medium=rss",
               e->link, fi);
      free(e->link);
      e->link = xstrdup(buf);
    } else {
      story(&r, e, site, j, ts);
    }
    if(podcast) {
      snprintf(buf, sizeof(buf), "%s/audio/%ld.mp3", site, j);
      feed_entry_add_enclosure(e, xstrdup(buf), xstrdup("audio/mpeg"),
                               range(&r, 1000000, 90000000));
    }
    if(idstyle <= 5) {
      e->id = xstrdup(e->link);
    } else if(idstyle <= 8) {
      snprintf(buf, sizeof(buf), "tag:site-%ld.example,2024:post-%ld", fi, j);
      e->id = xstrdup(buf);
    } else {
      e->id = xstrdup(e->link); /* what the parser derives */
    }
  }
  return d;
}

static double now_s(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long long file_size(const char *path)
{
  struct stat sb;

  return stat(path, &sb) == 0 ? (long long)sb.st_size : 0;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
  char *msg = NULL;

  if(sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "bench_store: %s: %s\n", sql, msg);
    exit(1);
  }
}

static long long query_ll(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;
  long long v = -1;

  if(sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    die(sqlite3_errmsg(db));
  if(sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

struct pass {
  double seconds;
  size_t entries, new_entries, updated, deleted;
};

static void run_pass(struct store *s, const int64_t *ids, long nfeeds, long n,
                     int round, int64_t fetched_at, struct pass *p)
{
  memset(p, 0, sizeof(*p));
  for(long fi = 0; fi < nfeeds; fi++) {
    struct feed *d = make_doc(fi, n, nfeeds, round);
    struct store_fetch f;
    struct store_save_result r;
    double t;
    int rc;

    memset(&f, 0, sizeof(f));
    f.fetched_at = fetched_at;
    f.status = 200;
    f.etag = "\"bench\"";
    f.feed = d;
    f.next_due = fetched_at + 1800;
    f.interval = 1800;
    t = now_s();
    rc = store_save_fetch(s, ids[fi], &f, &r);
    p->seconds += now_s() - t;
    if(rc < 0) {
      fprintf(stderr, "bench_store: store_save_fetch: %s\n", strerror(-rc));
      exit(1);
    }
    p->entries += d->nentries;
    p->new_entries += r.new_entries;
    p->updated += r.updated_entries;
    p->deleted += r.deleted_entries;
    feed_free(d);
  }
}

static void checkpoint(sqlite3 *db)
{
  if(sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL,
                               NULL) != SQLITE_OK)
    die(sqlite3_errmsg(db));
}

static int wal_frames(sqlite3 *db)
{
  int log = -1, ckpt = -1;

  sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &ckpt);
  return log;
}

static void usage(void)
{
  fprintf(stderr, "usage: bench_store [-f FEEDS] [-e ENTRIES] [-d DIR] [-k] "
                  "[-t]\n");
  exit(2);
}

int main(int argc, char **argv)
{
  long nfeeds = 1000, n = 1000;
  const char *dir = NULL;
  bool keep = false, tsv = false;
  char tmpdir[] = "/tmp/freshet-bench-store-XXXXXX";
  char path[4096], wal[4200], err[512];
  struct config cfg;
  struct config_feed *cf;
  struct store *s;
  struct store_feed *list;
  struct store_item *items;
  size_t nlist, nitems;
  int64_t *ids;
  struct pass p1, p2, p3;
  long long size1, size2, changes, feed_changes, total, page_size;
  int frames;
  double t, t_items, t_list, t_group;
  sqlite3 *raw;
  int opt;

  while((opt = getopt(argc, argv, "f:e:d:kt")) != -1) {
    switch(opt) {
    case 'f':
      nfeeds = atol(optarg);
      break;
    case 'e':
      n = atol(optarg);
      break;
    case 'd':
      dir = optarg;
      break;
    case 'k':
      keep = true;
      break;
    case 't':
      tsv = true;
      break;
    default:
      usage();
    }
  }
  if(nfeeds < 1 || n < 1 || optind != argc)
    usage();
  if(!dir) {
    if(!mkdtemp(tmpdir))
      die("mkdtemp failed");
    dir = tmpdir;
  } else {
    mkdir(dir, 0700); /* may exist */
  }
  snprintf(path, sizeof(path), "%s/bench.db", dir);
  snprintf(wal, sizeof(wal), "%s-wal", path);
  unlink(path);
  unlink(wal);

  if(store_open(path, &s, err, sizeof(err)) < 0)
    die(err);
  memset(&cfg, 0, sizeof(cfg));
  cf = calloc((size_t)nfeeds, sizeof(*cf));
  ids = calloc((size_t)nfeeds, sizeof(*ids));
  if(!cf || !ids)
    die("out of memory");
  for(long i = 0; i < nfeeds; i++) {
    char buf[128];

    snprintf(buf, sizeof(buf), "feed-%05ld", i);
    cf[i].name = xstrdup(buf);
    snprintf(buf, sizeof(buf), "https://site-%ld.example/feed", i);
    cf[i].url = xstrdup(buf);
    cf[i].enabled = true;
  }
  cfg.feeds = cf;
  cfg.nfeeds = (size_t)nfeeds;
  if(store_sync_feeds(s, &cfg) < 0)
    die("store_sync_feeds failed");
  if(store_list_feeds(s, &list, &nlist) < 0 || nlist != (size_t)nfeeds)
    die("store_list_feeds failed");
  for(size_t i = 0; i < nlist; i++)
    ids[i] = list[i].id; /* names sort like indexes */
  store_feeds_free(list, nlist);

  printf("bench_store: %ld feeds x %ld entries, SQLite %s\n", nfeeds, n,
         sqlite3_libversion());
  run_pass(s, ids, nfeeds, n, 0, NOW, &p1);
  printf("  pass 1: %zu entries, %zu new, %.2f s, %.0f entries/s\n", p1.entries,
         p1.new_entries, p1.seconds, (double)p1.entries / p1.seconds);

  if(sqlite3_open(path, &raw) != SQLITE_OK)
    die("cannot open a second connection");
  sqlite3_busy_timeout(raw, 5000);
  checkpoint(raw);
  size1 = file_size(path);
  printf("  size: %.1f MB, %.0f bytes per entry (after checkpoint)\n",
         (double)size1 / 1e6, (double)size1 / (double)p1.new_entries);
  {
    sqlite3_stmt *st;

    if(sqlite3_prepare_v2(raw,
                          "SELECT name, sum(pgsize) FROM dbstat"
                          " GROUP BY name ORDER BY 2 DESC",
                          -1, &st, NULL) == SQLITE_OK) {
      while(sqlite3_step(st) == SQLITE_ROW)
        printf("    %-28s %7.1f MB %5.0f B/entry\n",
               (const char *)sqlite3_column_text(st, 0),
               (double)sqlite3_column_int64(st, 1) / 1e6,
               (double)sqlite3_column_int64(st, 1) / (double)p1.new_entries);
      sqlite3_finalize(st);
    }
  }

  /* Count every row written to entries and tombstones from now on. */
  exec_or_die(raw, "CREATE TABLE bench_audit (what TEXT);"
                   "CREATE TRIGGER bench_ei AFTER INSERT ON entries BEGIN"
                   " INSERT INTO bench_audit VALUES ('entries'); END;"
                   "CREATE TRIGGER bench_eu AFTER UPDATE ON entries BEGIN"
                   " INSERT INTO bench_audit VALUES ('entries'); END;"
                   "CREATE TRIGGER bench_ed AFTER DELETE ON entries BEGIN"
                   " INSERT INTO bench_audit VALUES ('entries'); END;"
                   "CREATE TRIGGER bench_ti AFTER INSERT ON tombstones BEGIN"
                   " INSERT INTO bench_audit VALUES ('entries'); END;"
                   "CREATE TRIGGER bench_td AFTER DELETE ON tombstones BEGIN"
                   " INSERT INTO bench_audit VALUES ('entries'); END;");
  checkpoint(raw);
  size1 = file_size(path);
  run_pass(s, ids, nfeeds, n, 0, NOW + 1800, &p2); /* = 1717201800 */
  changes = query_ll(raw, "SELECT count(*) FROM bench_audit"
                          " WHERE what = 'entries'");
  feed_changes = query_ll(raw, "SELECT count(*) FROM feeds"
                               " WHERE last_fetch = 1717201800");
  frames = wal_frames(raw);
  page_size = query_ll(raw, "PRAGMA page_size");
  size2 = file_size(path);
  printf("  pass 2 (nothing changed): %.2f s, %.0f entries/s, %zu new, "
         "%zu updated\n",
         p2.seconds, (double)p2.entries / p2.seconds, p2.new_entries,
         p2.updated);
  printf("    rows written: entries+tombstones %lld, feeds %lld (fetch "
         "state); WAL %d frames of %lld B; database %lld -> %lld bytes\n",
         changes, feed_changes, frames, page_size, size1, size2);
  exec_or_die(raw, "DROP TRIGGER bench_ei; DROP TRIGGER bench_eu;"
                   "DROP TRIGGER bench_ed; DROP TRIGGER bench_ti;"
                   "DROP TRIGGER bench_td;"
                   "DROP TABLE bench_audit;");

  run_pass(s, ids, nfeeds, n, 1, NOW + 3600, &p3);
  printf("  steady (5 new of %ld per document): %.2f s, %.2f ms per fetch, "
         "%zu new\n",
         n, p3.seconds, p3.seconds * 1e3 / (double)nfeeds, p3.new_entries);

  t = now_s();
  if(store_items(s, 100, NULL, &items, &nitems) < 0 || nitems != 100)
    die("store_items failed");
  t_items = now_s() - t;
  store_items_free(items, nitems);
  t = now_s();
  if(store_list_feeds(s, &list, &nlist) < 0)
    die("store_list_feeds failed");
  t_list = now_s() - t;
  total = 0;
  for(size_t i = 0; i < nlist; i++)
    total += list[i].entries;
  store_feeds_free(list, nlist);
  t = now_s();
  if(query_ll(raw, "SELECT count(*) FROM (SELECT feed_id, count(*)"
                   " FROM entries GROUP BY feed_id)") != nfeeds)
    die("GROUP BY count failed");
  t_group = now_s() - t;
  printf("  reads: store_items(100) %.2f ms; store_list_feeds %.2f ms "
         "(%lld entries); GROUP BY count instead %.2f ms\n",
         t_items * 1e3, t_list * 1e3, total, t_group * 1e3);
  if(tsv)
    printf("feeds=%ld entries=%zu pass1_s=%.3f pass1_eps=%.0f "
           "bytes_per_entry=%.0f pass2_s=%.3f pass2_rows=%lld "
           "pass2_wal_frames=%d steady_ms_per_fetch=%.3f items_ms=%.3f "
           "list_ms=%.3f groupby_ms=%.3f\n",
           nfeeds, p1.new_entries, p1.seconds, (double)p1.entries / p1.seconds,
           (double)file_size(path) / (double)p1.new_entries, p2.seconds,
           changes, frames, p3.seconds * 1e3 / (double)nfeeds, t_items * 1e3,
           t_list * 1e3, t_group * 1e3);

  sqlite3_close(raw);
  store_close(s);
  for(long i = 0; i < nfeeds; i++) {
    free(cf[i].name);
    free(cf[i].url);
  }
  free(cf);
  free(ids);
  if(!keep) {
    char shm[4200];

    snprintf(shm, sizeof(shm), "%s-shm", path);
    unlink(path);
    unlink(wal);
    unlink(shm);
    if(dir == tmpdir)
      rmdir(tmpdir);
  }
  if(changes != 0 || p2.new_entries || p2.updated) {
    fprintf(stderr, "bench_store: the unchanged pass wrote entries\n");
    return 1;
  }
  return 0;
}
