/*
 * test_store.c: the SQLite store on real database files in a temporary
 * directory: opening, refusing foreign files, migrations, feed sync, every
 * dedup rule, dates, retention with tombstones, the one-transaction rule
 * and the query plans.
 *
 * White-box: store.c is compiled into this file so the tests can reach the
 * connection (sqlite3_total_changes, EXPLAIN QUERY PLAN of every prepared
 * statement) without widening store.h. The library's store.o is then never
 * pulled from the archive. Feeds are built by hand with feed_new and
 * feed_add_entry, so the tests do not depend on the parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "store.c"

#include <ftw.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 INT64_C(1717200000) /* 2024-06-01T00:00:00Z */
#define DAY INT64_C(86400)

static char tmpdir[64];
static int dbcount;

struct fixture {
  char path[PATH_MAX];
  struct store *s;
};

/* ---- helpers ----------------------------------------------------------- */

static char *xstrdup(const char *s)
{
  char *d;

  if(!s)
    return NULL;
  d = strdup(s);
  assert_non_null(d);
  return d;
}

static void new_path(char *buf)
{
  snprintf(buf, PATH_MAX, "%s/db%d.sqlite", tmpdir, ++dbcount);
}

static int rm_one(const char *p, const struct stat *sb, int flag,
                  struct FTW *ftw)
{
  (void)sb;
  (void)flag;
  (void)ftw;
  return remove(p);
}

static int group_setup(void **state)
{
  (void)state;
  snprintf(tmpdir, sizeof(tmpdir), "/tmp/freshet-test-store-XXXXXX");
  if(!mkdtemp(tmpdir))
    return -1;
  log_set_level(LOG_LEVEL_ERROR);
  return 0;
}

static int group_teardown(void **state)
{
  (void)state;
  return nftw(tmpdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static struct store *open_ok(const char *path)
{
  struct store *s = NULL;
  char err[512];
  int rc = store_open(path, &s, err, sizeof(err));

  if(rc != 0)
    fail_msg("store_open(%s) = %d: %s", path, rc, err);
  return s;
}

static int setup(void **state)
{
  struct fixture *f = calloc(1, sizeof(*f));

  if(!f)
    return -1;
  new_path(f->path);
  f->s = open_ok(f->path);
  *state = f;
  return 0;
}

static int teardown(void **state)
{
  struct fixture *f = *state;

  store_close(f->s);
  free(f);
  return 0;
}

/* Runs one constant statement on db and returns its first integer. */
static int64_t qint(sqlite3 *db, const char *sql)
{
  sqlite3_stmt *st;
  int64_t v = -1;

  if(sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
    fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
  if(sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static void qexec(sqlite3 *db, const char *sql)
{
  char *msg = NULL;

  if(sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("exec %s: %s", sql, msg);
}

static sqlite3 *raw_open(const char *path)
{
  sqlite3 *db = NULL;

  if(sqlite3_open(path, &db) != SQLITE_OK)
    fail_msg("sqlite3_open %s", path);
  return db;
}

/* Subscriptions for store_sync_feeds. */
struct sub {
  const char *name;
  const char *url;
  const char *title;
};

static void sync_subs(struct store *s, const struct sub *subs, size_t n)
{
  struct config cfg;
  struct config_feed cf[8];

  assert_true(n <= 8);
  memset(&cfg, 0, sizeof(cfg));
  memset(cf, 0, sizeof(cf));
  for(size_t i = 0; i < n; i++) {
    cf[i].name = (char *)subs[i].name;
    cf[i].url = (char *)subs[i].url;
    cf[i].title = (char *)subs[i].title;
    cf[i].enabled = true;
  }
  cfg.feeds = cf;
  cfg.nfeeds = n;
  assert_int_equal(store_sync_feeds(s, &cfg), 0);
}

static int64_t feed_id(struct store *s, const char *name)
{
  struct store_feed f;
  int64_t id;

  assert_int_equal(store_get_feed(s, name, &f), 0);
  id = f.id;
  store_feed_clear(&f);
  return id;
}

/* Sets up subscriptions "a" and "b" and returns a's id. */
static int64_t two_feeds(struct store *s)
{
  static const struct sub subs[] = {
      {"a", "https://a.example/feed", NULL},
      {"b", "https://b.example/feed", NULL},
  };

  sync_subs(s, subs, 2);
  return feed_id(s, "a");
}

static struct feed *doc_new(void)
{
  struct feed *d = feed_new();

  assert_non_null(d);
  d->title = xstrdup("Doc title");
  d->link = xstrdup("https://site.example/");
  return d;
}

static struct feed_entry *add(struct feed *d, const char *id, const char *link,
                              const char *title, int64_t published)
{
  struct feed_entry *e = feed_add_entry(d);

  assert_non_null(e);
  e->id = xstrdup(id);
  e->link = xstrdup(link);
  e->title = xstrdup(title);
  e->published = published;
  e->summary = xstrdup("<p>summary</p>");
  return e;
}

static void set_str(char **field, const char *v)
{
  free(*field);
  *field = xstrdup(v);
}

/* A document of n entries "<prefix>-i" with links and dates. */
static struct feed *doc_series(const char *prefix, size_t n, int64_t newest)
{
  struct feed *d = doc_new();

  for(size_t i = 0; i < n; i++) {
    char id[64], link[128], title[64];

    snprintf(id, sizeof(id), "%s-%zu", prefix, i);
    snprintf(link, sizeof(link), "https://site.example/%s/%zu", prefix, i);
    snprintf(title, sizeof(title), "Post %s %zu", prefix, i);
    add(d, id, link, title, newest - (int64_t)i * 3600);
  }
  return d;
}

static int save_full(struct store *s, int64_t id, struct feed *doc, int64_t now,
                     int status, const char *etag, const char *last_modified,
                     struct store_save_result *r)
{
  struct store_fetch f;

  memset(&f, 0, sizeof(f));
  f.fetched_at = now;
  f.status = status;
  f.etag = etag;
  f.last_modified = last_modified;
  f.feed = doc;
  f.next_due = now + 1800;
  f.interval = 1800;
  return store_save_fetch(s, id, &f, r);
}

static struct store_save_result save(struct store *s, int64_t id,
                                     struct feed *doc, int64_t now)
{
  struct store_save_result r;

  assert_int_equal(save_full(s, id, doc, now, 200, NULL, NULL, &r), 0);
  return r;
}

static int64_t count_entries(struct store *s, int64_t id)
{
  sqlite3_stmt *st;
  int64_t n = -1;

  assert_int_equal(sqlite3_prepare_v2(s->db,
                                      "SELECT count(*) FROM entries"
                                      " WHERE feed_id = ?1",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, id);
  if(sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return n;
}

/* The stored entry count agrees with the entries table. */
static void check_count(struct store *s, const char *name)
{
  struct store_feed f;

  assert_int_equal(store_get_feed(s, name, &f), 0);
  assert_int_equal(f.entries, count_entries(s, f.id));
  store_feed_clear(&f);
}

/* Reads one column of the entry (feed, key) as an integer (NULL reads as
 * 0; -1: no such entry). */
static int64_t entry_int(struct store *s, int64_t fid, const char *key,
                         const char *column)
{
  static const char *const cols[] = {"id",      "date",       "published",
                                     "updated", "first_seen", "content_hash",
                                     "dup_of"};
  sqlite3_stmt *st;
  int64_t v = -1;
  int i;

  for(i = 0; i < (int)(sizeof(cols) / sizeof(cols[0])); i++)
    if(strcmp(cols[i], column) == 0)
      break;
  assert_true(i < (int)(sizeof(cols) / sizeof(cols[0])));
  assert_int_equal(sqlite3_prepare_v2(s->db,
                                      "SELECT id, date, published, updated,"
                                      " first_seen, content_hash, dup_of"
                                      " FROM entries"
                                      " WHERE feed_id = ?1 AND key = ?2",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, fid);
  sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
  if(sqlite3_step(st) == SQLITE_ROW)
    v = sqlite3_column_int64(st, i);
  sqlite3_finalize(st);
  return v;
}

static bool has_entry(struct store *s, int64_t fid, const char *key)
{
  return entry_int(s, fid, key, "id") != -1;
}

static bool file_equals(const char *path, const char *data, size_t len)
{
  char buf[8192];
  FILE *fp = fopen(path, "rb");
  size_t n;

  assert_non_null(fp);
  n = fread(buf, 1, sizeof(buf), fp);
  fclose(fp);
  return n == len && memcmp(buf, data, len) == 0;
}

static bool exists(const char *path)
{
  struct stat sb;

  return stat(path, &sb) == 0;
}

static off_t file_size(const char *path)
{
  struct stat sb;

  if(stat(path, &sb) != 0)
    return -1;
  return sb.st_size;
}

static void write_file(const char *path, const char *data, size_t len)
{
  FILE *fp = fopen(path, "wb");

  assert_non_null(fp);
  assert_int_equal(fwrite(data, 1, len, fp), len);
  assert_int_equal(fclose(fp), 0);
}

/* Returns the malloc'd contents of a file and its length. */
static char *slurp(const char *path, size_t *len)
{
  FILE *fp = fopen(path, "rb");
  long n;
  char *data;

  assert_non_null(fp);
  assert_int_equal(fseek(fp, 0, SEEK_END), 0);
  n = ftell(fp);
  assert_true(n >= 0);
  rewind(fp);
  data = malloc((size_t)n + 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  *len = (size_t)n;
  return data;
}

/* Asserts path holds exactly data (and frees data). */
static void assert_file_is(const char *path, char *data, size_t len)
{
  size_t n;
  char *now = slurp(path, &n);

  assert_int_equal(n, len);
  assert_memory_equal(now, data, len);
  free(now);
  free(data);
}

/* ---- opening ----------------------------------------------------------- */

static void test_open_create(void **state)
{
  struct fixture *f = *state;
  sqlite3 *db = f->s->db;

  assert_true(exists(f->path));
  assert_int_equal(qint(db, "PRAGMA application_id"), STORE_APPLICATION_ID);
  assert_int_equal(qint(db, "PRAGMA user_version"), store_schema_version());
  assert_int_equal(store_schema_version(), 2);
  assert_int_equal(qint(db, "PRAGMA foreign_keys"), 1);
  assert_int_equal(qint(db, "PRAGMA synchronous"), 1); /* NORMAL */
  assert_int_equal(qint(db, "PRAGMA busy_timeout"), 5000);
  assert_int_equal(qint(db, "PRAGMA page_size"), 16384);
  assert_int_equal(qint(db, "PRAGMA wal_autocheckpoint"), 4000);
  assert_int_equal(qint(db, "SELECT count(*) FROM pragma_journal_mode"
                            " WHERE journal_mode = 'wal'"),
                   1);
  assert_int_equal(qint(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
                            " ('feeds', 'entries', 'tombstones')"),
                   3);
}

static void test_reopen(void **state)
{
  struct fixture *f = *state;
  int64_t id = two_feeds(f->s);
  struct feed *d = doc_series("p", 3, T0);
  struct store_feed *list;
  size_t n;

  save(f->s, id, d, T0);
  store_close(f->s);
  f->s = open_ok(f->path);
  assert_int_equal(store_list_feeds(f->s, &list, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(list[0].name, "a");
  assert_int_equal(list[0].entries, 3);
  assert_string_equal(list[1].name, "b");
  assert_int_equal(list[1].entries, 0);
  store_feeds_free(list, n);
  /* Stored entries are known after reopening. */
  assert_int_equal(save(f->s, id, d, T0 + 60).new_entries, 0);
  feed_free(d);
}

static void refuse(const char *path, int want_rc, const char *want_text)
{
  struct store *s = (struct store *)0x1;
  char err[512] = "";
  int rc = store_open(path, &s, err, sizeof(err));

  assert_int_equal(rc, want_rc);
  assert_null(s);
  assert_non_null(strstr(err, path));
  assert_non_null(strstr(err, want_text));
}

static void test_refuse_not_sqlite(void **state)
{
  char path[PATH_MAX], wal[PATH_MAX + 8], data[4096];

  (void)state;
  for(size_t i = 0; i < sizeof(data); i++)
    data[i] = (char)("freshet.conf: not a database\n"[i % 29]);
  new_path(path);
  write_file(path, data, sizeof(data));
  refuse(path, -EINVAL, "not a SQLite database");
  assert_true(file_equals(path, data, sizeof(data)));
  snprintf(wal, sizeof(wal), "%s-wal", path);
  assert_false(exists(wal));

  /* A short text file too. */
  new_path(path);
  write_file(path, "hello\n", 6);
  refuse(path, -EINVAL, "not a SQLite database");
  assert_true(file_equals(path, "hello\n", 6));
}

static void test_refuse_foreign(void **state)
{
  char path[PATH_MAX], *before;
  size_t len;
  sqlite3 *db;

  (void)state;
  new_path(path);
  db = raw_open(path);
  qexec(db, "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT);"
            "INSERT INTO notes(text) VALUES ('mine');");
  sqlite3_close(db);
  before = slurp(path, &len);
  refuse(path, -EINVAL, "another application");
  assert_file_is(path, before, len);

  /* Same with an application_id of its own and no tables. */
  new_path(path);
  db = raw_open(path);
  qexec(db, "PRAGMA application_id = 42;");
  sqlite3_close(db);
  refuse(path, -EINVAL, "another application");
}

static void test_refuse_newer(void **state)
{
  struct fixture *f = *state;
  char *before;
  size_t len;
  sqlite3 *db;

  store_close(f->s);
  f->s = NULL;
  db = raw_open(f->path);
  qexec(db, "PRAGMA user_version = 99;");
  sqlite3_close(db);
  before = slurp(f->path, &len);
  refuse(f->path, -ENOTSUP, "newer");
  assert_file_is(f->path, before, len);
}

static void copy_file(const char *from, const char *to)
{
  size_t len;
  char *data = slurp(from, &len);

  write_file(to, data, len);
  free(data);
}

/* A newer database left with its WAL (a crash): refusing it must not
 * checkpoint the WAL into it. */
static void test_refuse_newer_with_wal(void **state)
{
  struct fixture *f = *state;
  char copy[PATH_MAX], wal[PATH_MAX + 8], copy_wal[PATH_MAX + 8];
  char *before, *before_wal;
  size_t len, wal_len;
  sqlite3 *db;

  store_close(f->s);
  f->s = NULL;
  db = raw_open(f->path);
  qexec(db, "PRAGMA wal_autocheckpoint = 0;"
            "PRAGMA user_version = 99;");
  new_path(copy);
  snprintf(wal, sizeof(wal), "%s-wal", f->path);
  snprintf(copy_wal, sizeof(copy_wal), "%s-wal", copy);
  copy_file(f->path, copy);
  copy_file(wal, copy_wal);
  sqlite3_close(db);

  before = slurp(copy, &len);
  before_wal = slurp(copy_wal, &wal_len);
  assert_true(wal_len > 0);
  refuse(copy, -ENOTSUP, "newer");
  assert_file_is(copy, before, len);
  assert_file_is(copy_wal, before_wal, wal_len);
}

static void test_open_empty_file(void **state)
{
  char path[PATH_MAX];
  struct store *s;

  (void)state;
  new_path(path);
  write_file(path, "", 0);
  s = open_ok(path);
  assert_int_equal(qint(s->db, "PRAGMA user_version"), 2);
  store_close(s);
}

/* The first schema as version 1 of freshet wrote it (a copy: migrations
 * are history and the test must not follow later edits). */
static const char v1_schema[] =
    "CREATE TABLE feeds ("
    " id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, url TEXT NOT NULL,"
    " config_title TEXT, fetch_url TEXT, title TEXT, link TEXT, etag TEXT,"
    " last_modified TEXT, last_fetch INTEGER NOT NULL DEFAULT 0,"
    " last_status INTEGER NOT NULL DEFAULT 0,"
    " error_count INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    " next_due INTEGER NOT NULL DEFAULT 0,"
    " interval INTEGER NOT NULL DEFAULT 0, disabled_reason TEXT,"
    " ttl INTEGER NOT NULL DEFAULT 0,"
    " update_period INTEGER NOT NULL DEFAULT 0, redirect_url TEXT,"
    " redirect_count INTEGER NOT NULL DEFAULT 0,"
    " key_by_link INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE entries ("
    " id INTEGER PRIMARY KEY,"
    " feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL, guid TEXT, link TEXT, canonical_link TEXT,"
    " title TEXT, author TEXT, summary TEXT, content TEXT, image TEXT,"
    " categories TEXT, enclosures TEXT, published INTEGER, updated INTEGER,"
    " first_seen INTEGER NOT NULL, date INTEGER NOT NULL,"
    " content_hash INTEGER NOT NULL, dup_of INTEGER,"
    " UNIQUE (feed_id, key));"
    "CREATE INDEX entries_date ON entries(date) WHERE dup_of IS NULL;"
    "CREATE INDEX entries_feed_date ON entries(feed_id, date);"
    "CREATE INDEX entries_canonical ON entries(canonical_link, first_seen)"
    " WHERE canonical_link IS NOT NULL;"
    "CREATE INDEX entries_dup_of ON entries(dup_of, first_seen)"
    " WHERE dup_of IS NOT NULL;"
    "PRAGMA application_id = 1179808616;"
    "PRAGMA user_version = 1;"
    "INSERT INTO feeds(id, name, url, etag) VALUES"
    " (1, 'old', 'https://old.example/feed', '\"v1-etag\"');"
    "INSERT INTO entries(feed_id, key, guid, link, title, first_seen, date,"
    " content_hash) VALUES"
    " (1, 'k1', 'k1', 'https://old.example/1', 'One', 1700000000,"
    " 1700000000, 1),"
    " (1, 'k2', 'k2', 'https://old.example/2', 'Two', 1700000000,"
    " 1700000000, 2);";

static void test_migrate_v1(void **state)
{
  static const struct sub subs[] = {{"old", "https://old.example/feed", NULL}};
  char path[PATH_MAX];
  struct store_feed sf;
  struct store *s;
  struct feed *d;
  sqlite3 *db;

  (void)state;
  new_path(path);
  db = raw_open(path);
  qexec(db, v1_schema);
  sqlite3_close(db);

  s = open_ok(path);
  assert_int_equal(qint(s->db, "PRAGMA user_version"), 2);
  assert_int_equal(qint(s->db, "SELECT count(*) FROM sqlite_master"
                               " WHERE name = 'tombstones'"),
                   1);
  assert_int_equal(store_get_feed(s, "old", &sf), 0);
  assert_int_equal(sf.entries, 2); /* counted by the migration */
  assert_string_equal(sf.etag, "\"v1-etag\"");
  store_feed_clear(&sf);

  /* The migrated database works: sync keeps the feed, a fetch adds one. */
  sync_subs(s, subs, 1);
  d = doc_new();
  add(d, "k2", "https://old.example/2", "Two", FEED_NO_DATE);
  add(d, "k3", "https://old.example/3", "Three", T0);
  assert_int_equal(save(s, 1, d, T0).new_entries, 1);
  check_count(s, "old");
  feed_free(d);
  store_close(s);

  /* Reopening a current database migrates nothing. */
  s = open_ok(path);
  assert_int_equal(qint(s->db, "PRAGMA user_version"), 2);
  store_close(s);
}

/* ---- feeds ------------------------------------------------------------- */

static void test_sync_feeds(void **state)
{
  struct fixture *f = *state;
  struct sub subs[] = {
      {"b", "https://b.example/feed", "Bee"},
      {"a", "https://a.example/feed", NULL},
  };
  struct store_fetch fetch;
  struct store_feed sf, *list;
  struct store_item *items;
  struct feed *d;
  size_t n;
  int64_t a, b;

  sync_subs(f->s, subs, 2);
  assert_int_equal(store_list_feeds(f->s, &list, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(list[0].name, "a");
  assert_string_equal(list[1].name, "b");
  assert_int_equal(list[0].next_due, 0); /* due at once */
  assert_null(list[0].fetch_url);
  assert_false(list[0].key_by_link);
  store_feeds_free(list, n);
  a = feed_id(f->s, "a");
  b = feed_id(f->s, "b");

  /* Give "a" fetch state, then change its URL. */
  d = doc_series("a", 3, T0);
  memset(&fetch, 0, sizeof(fetch));
  fetch.fetched_at = T0;
  fetch.status = 200;
  fetch.etag = "\"e1\"";
  fetch.last_modified = "Sat, 01 Jun 2024 00:00:00 GMT";
  fetch.feed = d;
  fetch.next_due = T0 + 3600;
  fetch.interval = 3600;
  fetch.fetch_url = "https://a.example/new-feed";
  fetch.redirect_url = "https://a.example/newer";
  fetch.redirect_count = 2;
  assert_int_equal(store_save_fetch(f->s, a, &fetch, NULL), 0);
  feed_free(d);
  d = doc_series("b", 2, T0);
  save(f->s, b, d, T0);
  feed_free(d);

  /* Syncing the same config writes nothing. */
  {
    int before = sqlite3_total_changes(f->s->db);

    sync_subs(f->s, subs, 2);
    assert_int_equal(sqlite3_total_changes(f->s->db), before);
  }

  subs[1].url = "https://a.example/moved";
  subs[0].title = "Bee renamed";
  sync_subs(f->s, subs, 2);
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_int_equal(sf.id, a);
  assert_string_equal(sf.url, "https://a.example/moved");
  assert_null(sf.fetch_url);
  assert_null(sf.etag);
  assert_null(sf.last_modified);
  assert_null(sf.redirect_url);
  assert_int_equal(sf.redirect_count, 0);
  assert_int_equal(sf.next_due, 0);
  assert_int_equal(sf.entries, 3); /* entries kept */
  store_feed_clear(&sf);
  assert_int_equal(store_items(f->s, 10, "b", &items, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(items[0].feed_title, "Bee renamed");
  store_items_free(items, n);

  /* Removing "a" deletes its entries (and tombstones) with it. */
  {
    sqlite3_stmt *st;

    assert_int_equal(sqlite3_prepare_v2(f->s->db,
                                        "INSERT INTO tombstones"
                                        " VALUES (?1, 'gone', NULL, 0)",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, a);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  sync_subs(f->s, subs, 1);
  assert_int_equal(store_get_feed(f->s, "a", &sf), -ENOENT);
  assert_int_equal(count_entries(f->s, a), 0);
  assert_int_equal(qint(f->s->db, "SELECT count(*) FROM tombstones"), 0);
  assert_int_equal(count_entries(f->s, b), 2);

  /* An empty config removes everything. */
  sync_subs(f->s, subs, 0);
  assert_int_equal(store_list_feeds(f->s, &list, &n), 0);
  assert_int_equal(n, 0);
  store_feeds_free(list, n);
  assert_int_equal(qint(f->s->db, "SELECT count(*) FROM entries"), 0);
}

static void test_save_unknown_feed(void **state)
{
  struct fixture *f = *state;
  struct feed *d = doc_series("x", 1, T0);
  struct store_save_result r;

  assert_int_equal(save_full(f->s, 42, d, T0, 200, NULL, NULL, &r), -ENOENT);
  assert_int_equal(qint(f->s->db, "SELECT count(*) FROM entries"), 0);
  feed_free(d);
}

static void test_fetch_state(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct store_fetch fetch;
  struct store_feed sf;
  struct feed *d = doc_series("p", 1, T0);

  d->ttl = 3600;
  d->update_period = 7200;
  save(f->s, a, d, T0);
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_string_equal(sf.title, "Doc title");
  assert_string_equal(sf.link, "https://site.example/");
  assert_int_equal(sf.ttl, 3600);
  assert_int_equal(sf.update_period, 7200);
  assert_int_equal(sf.last_fetch, T0);
  assert_int_equal(sf.last_status, 200);
  assert_int_equal(sf.next_due, T0 + 1800);
  assert_int_equal(sf.interval, 1800);
  store_feed_clear(&sf);

  /* A failing fetch keeps title and hints, records the error. */
  memset(&fetch, 0, sizeof(fetch));
  fetch.fetched_at = T0 + 100;
  fetch.status = 410;
  fetch.error = "410 Gone";
  fetch.error_count = 1;
  fetch.next_due = T0 + 86400;
  fetch.interval = 86400;
  fetch.disabled_reason = "gone (HTTP 410)";
  assert_int_equal(store_save_fetch(f->s, a, &fetch, NULL), 0);
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_string_equal(sf.title, "Doc title");
  assert_int_equal(sf.ttl, 3600);
  assert_int_equal(sf.last_status, 410);
  assert_string_equal(sf.last_error, "410 Gone");
  assert_int_equal(sf.error_count, 1);
  assert_string_equal(sf.disabled_reason, "gone (HTTP 410)");
  assert_int_equal(sf.entries, 1);
  store_feed_clear(&sf);

  /* A transport error (negative status) too. */
  fetch.status = -110;
  fetch.error = "timeout";
  fetch.error_count = 2;
  fetch.disabled_reason = NULL;
  assert_int_equal(store_save_fetch(f->s, a, &fetch, NULL), 0);
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_int_equal(sf.last_status, -110);
  assert_int_equal(sf.error_count, 2);
  assert_null(sf.disabled_reason);
  store_feed_clear(&sf);
  feed_free(d);
}

static void expect_validators(struct store *s, const char *etag, const char *lm)
{
  struct store_feed sf;

  assert_int_equal(store_get_feed(s, "a", &sf), 0);
  if(etag)
    assert_string_equal(sf.etag, etag);
  else
    assert_null(sf.etag);
  if(lm)
    assert_string_equal(sf.last_modified, lm);
  else
    assert_null(sf.last_modified);
  store_feed_clear(&sf);
}

static void test_validators(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_series("p", 2, T0);

  assert_int_equal(save_full(f->s, a, d, T0, 200, "\"1\"", "LM1", NULL), 0);
  expect_validators(f->s, "\"1\"", "LM1");
  /* 304 without validators keeps the old ones. */
  assert_int_equal(save_full(f->s, a, NULL, T0 + 1, 304, NULL, NULL, NULL), 0);
  expect_validators(f->s, "\"1\"", "LM1");
  /* 304 with a new ETag takes it. */
  assert_int_equal(save_full(f->s, a, NULL, T0 + 2, 304, "\"2\"", NULL, NULL),
                   0);
  expect_validators(f->s, "\"2\"", "LM1");
  /* Errors keep them. */
  assert_int_equal(save_full(f->s, a, NULL, T0 + 3, 503, "\"x\"", "x", NULL),
                   0);
  expect_validators(f->s, "\"2\"", "LM1");
  /* A 200 whose body did not parse has no entries: no validators. */
  assert_int_equal(save_full(f->s, a, NULL, T0 + 4, 200, "\"y\"", "y", NULL),
                   0);
  expect_validators(f->s, "\"2\"", "LM1");
  /* A 200 with entries but no validators clears the old ones. */
  assert_int_equal(save_full(f->s, a, d, T0 + 5, 200, NULL, NULL, NULL), 0);
  expect_validators(f->s, NULL, NULL);
  feed_free(d);
}

/* ---- dedup within a feed ----------------------------------------------- */

static void test_dedup_guid(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_save_result r;

  add(d, "tag:site.example,2024:1", "https://site.example/1", "One", T0);
  add(d, "tag:site.example,2024:2", "https://site.example/2", "Two", T0 - 60);
  r = save(f->s, a, d, T0);
  assert_int_equal(r.new_entries, 2);
  assert_true(has_entry(f->s, a, "tag:site.example,2024:1"));

  /* Same guids: known, even when the link moved (an update, not new). */
  set_str(&d->entries[0].link, "https://site.example/one");
  r = save(f->s, a, d, T0 + 60);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(r.updated_entries, 1);
  assert_int_equal(count_entries(f->s, a), 2);

  /* A new guid is a new entry. */
  add(d, "tag:site.example,2024:3", "https://site.example/3", "Three", T0);
  r = save(f->s, a, d, T0 + 120);
  assert_int_equal(r.new_entries, 1);
  assert_int_equal(r.updated_entries, 0);
  check_count(f->s, "a");
  feed_free(d);
}

static void test_dedup_link(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct feed_entry *e;
  struct store_save_result r;

  /* No guid: the parser names the entry by its link. */
  add(d, "https://site.example/x", "https://site.example/x", "X", T0);
  /* And an entry without id at all is keyed by its link here. */
  e = add(d, NULL, "https://site.example/y", "Y", T0);
  (void)e;
  r = save(f->s, a, d, T0);
  assert_int_equal(r.new_entries, 2);
  assert_true(has_entry(f->s, a, "https://site.example/x"));
  assert_true(has_entry(f->s, a, "https://site.example/y"));
  r = save(f->s, a, d, T0 + 60);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(r.updated_entries, 0);
  feed_free(d);
}

static void test_dedup_title_date(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_save_result r;

  /* Neither guid nor link: the parser derives "freshet:<hash of title and
   * date>", the same on every read. */
  add(d, "freshet:0123456789abcdef", NULL, "Title only", T0);
  add(d, "freshet:fedcba9876543210", NULL, "Other", T0);
  /* Nothing to key by at all: not stored. */
  add(d, NULL, NULL, "Nameless", T0);
  r = save(f->s, a, d, T0);
  assert_int_equal(r.new_entries, 2);
  r = save(f->s, a, d, T0 + 60);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(count_entries(f->s, a), 2);
  feed_free(d);
}

static void test_updated_entry(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_save_result r;
  struct store_item *items;
  size_t n;
  int64_t id;

  add(d, "g1", "https://site.example/1", "Old title", T0 - DAY);
  add(d, "g2", "https://site.example/2", "Stays", T0 - 3 * DAY);
  save(f->s, a, d, T0);
  id = entry_int(f->s, a, "g1", "id");
  assert_int_equal(entry_int(f->s, a, "g1", "updated"), 0); /* NULL */

  set_str(&d->entries[0].title, "New title");
  r = save(f->s, a, d, T0 + 3600);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(r.updated_entries, 1);
  assert_int_equal(entry_int(f->s, a, "g1", "id"), id); /* in place */
  assert_int_equal(entry_int(f->s, a, "g1", "updated"), T0 + 3600);
  assert_int_equal(entry_int(f->s, a, "g1", "first_seen"), T0);
  assert_int_equal(entry_int(f->s, a, "g1", "date"), T0 - DAY);
  assert_int_equal(entry_int(f->s, a, "g2", "updated"), 0);
  assert_int_equal(store_items(f->s, 10, "a", &items, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(items[0].title, "New title");
  assert_int_equal(items[0].updated, T0 + 3600);
  assert_int_equal(items[1].updated, FEED_NO_DATE);
  store_items_free(items, n);

  /* The publisher's own updated time wins; a changed published date moves
   * the effective date. */
  d->entries[0].updated = T0 + 100;
  d->entries[0].published = T0 - 2 * DAY;
  r = save(f->s, a, d, T0 + 7200);
  assert_int_equal(r.updated_entries, 1);
  assert_int_equal(entry_int(f->s, a, "g1", "updated"), T0 + 100);
  assert_int_equal(entry_int(f->s, a, "g1", "date"), T0 - 2 * DAY);

  /* Every hashed field counts. */
  set_str(&d->entries[1].content, "<p>body</p>");
  assert_int_equal(save(f->s, a, d, T0 + 7300).updated_entries, 1);
  assert_int_equal(feed_entry_add_category(&d->entries[1], "news"), 0);
  assert_int_equal(save(f->s, a, d, T0 + 7400).updated_entries, 1);
  assert_int_equal(feed_entry_add_enclosure(&d->entries[1],
                                            xstrdup("https://s.example/a.mp3"),
                                            xstrdup("audio/mpeg"), 123),
                   0);
  assert_int_equal(save(f->s, a, d, T0 + 7500).updated_entries, 1);
  set_str(&d->entries[1].author, "Ann");
  assert_int_equal(save(f->s, a, d, T0 + 7600).updated_entries, 1);
  set_str(&d->entries[1].image, "https://s.example/i.png");
  assert_int_equal(save(f->s, a, d, T0 + 7700).updated_entries, 1);
  /* The guid is not content. */
  set_str(&d->entries[1].id, "g2");
  assert_int_equal(save(f->s, a, d, T0 + 7800).updated_entries, 0);
  feed_free(d);
}

static void test_unchanged_not_written(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_series("p", 30, T0);
  struct store_save_result r;
  int total, log_frames = -1, ckpt = -1;
  int64_t version;
  off_t size;
  sqlite3 *other;

  for(size_t i = 0; i < d->nentries; i += 3) {
    feed_entry_add_category(&d->entries[i], "c1");
    feed_entry_add_enclosure(&d->entries[i], xstrdup("https://x.example/e"),
                             NULL, -1);
  }
  save(f->s, a, d, T0);
  other = raw_open(f->path);
  assert_int_equal(sqlite3_wal_checkpoint_v2(
                       f->s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL),
                   SQLITE_OK);
  size = file_size(f->path);
  version = qint(other, "PRAGMA data_version");
  total = sqlite3_total_changes(f->s->db);

  r = save(f->s, a, d, T0 + 1800);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(r.updated_entries, 0);
  assert_int_equal(r.deleted_entries, 0);
  /* Only the feed row's fetch state was written: one row, one page. */
  assert_int_equal(sqlite3_total_changes(f->s->db) - total, 1);
  assert_int_equal(sqlite3_wal_checkpoint_v2(f->s->db, NULL,
                                             SQLITE_CHECKPOINT_PASSIVE,
                                             &log_frames, &ckpt),
                   SQLITE_OK);
  assert_int_equal(log_frames, 1);
  assert_int_equal(file_size(f->path), size);
  /* Other connections see one commit (the fetch state) and nothing else. */
  assert_true(qint(other, "PRAGMA data_version") != version);
  sqlite3_close(other);
  feed_free(d);
}

static void test_duplicate_guid_in_document(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_save_result r;
  struct store_item *items;
  size_t n;

  /* The parser renamed the second "post" (id plus a fingerprint): both are
   * stored and shown. */
  add(d, "post", "https://site.example/a", "First", T0);
  add(d, "post#9f86d081884c7d65", "https://site.example/b", "Second", T0);
  r = save(f->s, a, d, T0);
  assert_int_equal(r.new_entries, 2);
  assert_int_equal(store_items(f->s, 10, NULL, &items, &n), 0);
  assert_int_equal(n, 2);
  store_items_free(items, n);
  assert_int_equal(save(f->s, a, d, T0 + 60).updated_entries, 0);

  /* An exact repeat of a key within one document (not from the parser):
   * the first wins, and the next fetch does not flip between them. */
  add(d, "post", "https://site.example/c", "Impostor", T0);
  r = save(f->s, a, d, T0 + 120);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(r.updated_entries, 0);
  assert_int_equal(count_entries(f->s, a), 2);
  feed_free(d);
}

static void test_regenerated_guids(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_series("g1", 10, T0);
  struct store_save_result r;
  struct store_feed sf;
  char id[32];

  r = save(f->s, a, d, T0);
  assert_int_equal(r.new_entries, 10);

  /* One changed guid is just a new entry; no switch. */
  set_str(&d->entries[0].id, "lonely-new-guid");
  r = save(f->s, a, d, T0 + 60);
  assert_int_equal(r.new_entries, 1);
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_false(sf.key_by_link);
  store_feed_clear(&sf);

  /* Every guid new, links the same: switch to link keys, nothing new. */
  for(size_t i = 0; i < d->nentries; i++) {
    snprintf(id, sizeof(id), "g2-%zu", i);
    set_str(&d->entries[i].id, id);
  }
  r = save(f->s, a, d, T0 + 120);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_true(sf.key_by_link);
  assert_int_equal(sf.entries, 11);
  store_feed_clear(&sf);
  assert_true(has_entry(f->s, a, "https://site.example/g1/3"));
  check_count(f->s, "a");

  /* The next regeneration is nothing at all; a real new post is new. */
  for(size_t i = 0; i < d->nentries; i++) {
    snprintf(id, sizeof(id), "g3-%zu", i);
    set_str(&d->entries[i].id, id);
  }
  add(d, "g3-new", "https://site.example/brand-new", "New", T0 + 150);
  r = save(f->s, a, d, T0 + 180);
  assert_int_equal(r.new_entries, 1);
  assert_int_equal(r.updated_entries, 0);
  assert_true(has_entry(f->s, a, "https://site.example/brand-new"));
  check_count(f->s, "a");
  feed_free(d);
}

/* A feed whose guids changed after entries were stored twice under one
 * link: re-keying keeps the first and leaves the other keyed by guid. */
static void test_regenerated_guids_rekey_conflict(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d;
  struct store_save_result r;

  char id[32];

  d = doc_series("x", 10, T0);
  add(d, "x-same", "https://site.example/x/0", "Same link again", T0);
  assert_int_equal(save(f->s, a, d, T0).new_entries, 11);
  for(size_t i = 0; i < d->nentries; i++) {
    snprintf(id, sizeof(id), "y-%zu", i);
    set_str(&d->entries[i].id, id);
  }
  r = save(f->s, a, d, T0 + 60);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(count_entries(f->s, a), 11);
  assert_true(has_entry(f->s, a, "https://site.example/x/0"));
  assert_true(has_entry(f->s, a, "x-same"));
  feed_free(d);
}

/* Entries that all link to one page (a digest) are never keyed by link,
 * however many new guids a fetch brings. */
static void test_shared_links_never_key_by_link(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_save_result r;
  struct store_feed sf;
  char id[32];

  for(int i = 0; i < 6; i++) {
    snprintf(id, sizeof(id), "day-%d", i);
    add(d, id, "https://site.example/", id, T0 - i * DAY);
  }
  save(f->s, a, d, T0);
  for(int i = 0; i < 6; i++) {
    snprintf(id, sizeof(id), "day-%d", i + 10);
    set_str(&d->entries[i].id, id);
  }
  r = save(f->s, a, d, T0 + DAY);
  assert_int_equal(r.new_entries, 6);
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_false(sf.key_by_link);
  store_feed_clear(&sf);
  feed_free(d);
}

/* ---- dedup across feeds ------------------------------------------------ */

static const struct store_item *find_item(const struct store_item *items,
                                          size_t n, const char *title)
{
  for(size_t i = 0; i < n; i++)
    if(items[i].title && strcmp(items[i].title, title) == 0)
      return &items[i];
  return NULL;
}

static void test_cross_feed_duplicate(void **state)
{
  struct fixture *f = *state;
  static const struct sub subs[] = {
      {"a", "https://a.example/feed", "Feed A"},
      {"b", "https://b.example/feed", NULL},
      {"c", "https://c.example/feed", NULL},
  };
  struct feed *da = doc_new(), *db = doc_new(), *dc = doc_new();
  const struct store_item *it;
  struct store_item *items;
  size_t n;
  int64_t a, b, c;

  sync_subs(f->s, subs, 3);
  a = feed_id(f->s, "a");
  b = feed_id(f->s, "b");
  c = feed_id(f->s, "c");
  set_str(&db->title, "Feed B own title");
  add(da, "a-1", "https://News.Example.com/story?utm_source=a&utm_medium=rss",
      "Story via A", T0 - 600);
  add(da, "a-2", "https://a.example/only-a", "Only A", T0 - 500);
  add(db, "b-1", "https://news.example.com:443/story?fbclid=xyz#top",
      "Story via B", T0 - 600);
  add(db, "b-2", "https://b.example/only-b", "Only B", T0 - 400);
  add(dc, "c-1", "https://news.example.com/story", "Story via C", T0 - 600);

  save(f->s, a, da, T0);
  save(f->s, b, db, T0 + 60);
  save(f->s, c, dc, T0 + 120);
  assert_int_equal(store_items(f->s, 10, NULL, &items, &n), 0);
  assert_int_equal(n, 3);
  it = find_item(items, n, "Story via A");
  assert_non_null(it);
  assert_string_equal(it->feed_name, "a");       /* the earliest seen */
  assert_string_equal(it->feed_title, "Feed A"); /* configured title */
  assert_null(find_item(items, n, "Story via B"));
  assert_non_null(find_item(items, n, "Only B"));
  assert_string_equal(find_item(items, n, "Only B")->feed_title,
                      "Feed B own title");
  store_items_free(items, n);
  assert_int_equal(entry_int(f->s, c, "c-1", "dup_of"),
                   entry_int(f->s, a, "a-1", "id"));

  /* Each feed still lists its own entry. */
  assert_int_equal(store_items(f->s, 10, "b", &items, &n), 0);
  assert_int_equal(n, 2);
  store_items_free(items, n);

  /* The primary goes (its feed unsubscribed): the earliest remaining, B,
   * becomes the source, and C points at it. */
  sync_subs(f->s, subs + 1, 2);
  assert_int_equal(store_items(f->s, 10, NULL, &items, &n), 0);
  assert_int_equal(n, 2);
  it = find_item(items, n, "Story via B");
  assert_non_null(it);
  assert_string_equal(it->feed_name, "b");
  store_items_free(items, n);
  assert_int_equal(entry_int(f->s, b, "b-1", "dup_of"), 0);
  assert_int_equal(entry_int(f->s, c, "c-1", "dup_of"),
                   entry_int(f->s, b, "b-1", "id"));

  /* B's entry moves to another link: C becomes the primary of the story. */
  set_str(&db->entries[0].link, "https://b.example/moved");
  assert_int_equal(save(f->s, b, db, T0 + 200).updated_entries, 1);
  assert_int_equal(entry_int(f->s, c, "c-1", "dup_of"), 0);
  assert_int_equal(store_items(f->s, 10, NULL, &items, &n), 0);
  assert_int_equal(n, 3);
  store_items_free(items, n);
  feed_free(da);
  feed_free(db);
  feed_free(dc);
}

/* ---- dates ------------------------------------------------------------- */

static void test_effective_date(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_item *items;
  struct feed_entry *e;
  size_t n;

  add(d, "future", "https://site.example/f", "Future", T0 + 30 * DAY);
  add(d, "undated", "https://site.example/u", "Undated", FEED_NO_DATE);
  add(d, "past", "https://site.example/p", "Past", T0 - DAY);
  e = add(d, "upd", "https://site.example/o", "Only updated", FEED_NO_DATE);
  e->updated = T0 - 2 * DAY;
  save(f->s, a, d, T0);
  assert_int_equal(entry_int(f->s, a, "future", "date"), T0);
  assert_int_equal(entry_int(f->s, a, "future", "published"), T0 + 30 * DAY);
  assert_int_equal(entry_int(f->s, a, "undated", "date"), T0);
  assert_int_equal(entry_int(f->s, a, "past", "date"), T0 - DAY);
  assert_int_equal(entry_int(f->s, a, "upd", "date"), T0 - 2 * DAY);

  assert_int_equal(store_items(f->s, 10, NULL, &items, &n), 0);
  assert_int_equal(n, 4);
  /* Ties (future and undated, both first seen at T0) newest id first. */
  assert_string_equal(items[0].title, "Undated");
  assert_string_equal(items[1].title, "Future");
  assert_string_equal(items[2].title, "Past");
  assert_string_equal(items[3].title, "Only updated");
  assert_int_equal(items[1].published, T0 + 30 * DAY);
  assert_int_equal(items[1].date, T0);
  assert_int_equal(items[0].published, FEED_NO_DATE);
  assert_int_equal(items[0].first_seen, T0);
  store_items_free(items, n);

  /* Limits. */
  assert_int_equal(store_items(f->s, 2, NULL, &items, &n), 0);
  assert_int_equal(n, 2);
  store_items_free(items, n);
  assert_int_equal(store_items(f->s, 0, NULL, &items, &n), 0);
  assert_int_equal(n, 0);
  store_items_free(items, n);
  assert_int_equal(store_items(f->s, 10, "nobody", &items, &n), 0);
  assert_int_equal(n, 0);
  store_items_free(items, n);
  feed_free(d);
}

static void test_item_fields(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_item *items;
  struct feed_entry *e;
  size_t n;

  e = add(d, "g", "https://site.example/g", "Full", T0);
  set_str(&e->author, "Ann Author");
  set_str(&e->content, "<p>content</p>");
  set_str(&e->image, "https://site.example/i.jpg");
  feed_entry_add_category(e, "news");
  feed_entry_add_category(e, "caf\xc3\xa9 \"quoted\"");
  feed_entry_add_enclosure(e, xstrdup("https://cdn.example/a.mp3"),
                           xstrdup("audio/mpeg"), 12345);
  feed_entry_add_enclosure(e, xstrdup("https://cdn.example/b.ogg"), NULL, -1);
  e->updated = T0 - 10;
  save(f->s, a, d, T0);
  assert_int_equal(store_items(f->s, 1, NULL, &items, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(items[0].key, "g");
  assert_string_equal(items[0].guid, "g");
  assert_string_equal(items[0].link, "https://site.example/g");
  assert_string_equal(items[0].author, "Ann Author");
  assert_string_equal(items[0].summary, "<p>summary</p>");
  assert_string_equal(items[0].content, "<p>content</p>");
  assert_string_equal(items[0].image, "https://site.example/i.jpg");
  assert_int_equal(items[0].ncategories, 2);
  assert_string_equal(items[0].categories[0], "news");
  assert_string_equal(items[0].categories[1], "caf\xc3\xa9 \"quoted\"");
  assert_int_equal(items[0].nenclosures, 2);
  assert_string_equal(items[0].enclosures[0].url, "https://cdn.example/a.mp3");
  assert_string_equal(items[0].enclosures[0].type, "audio/mpeg");
  assert_int_equal(items[0].enclosures[0].length, 12345);
  assert_null(items[0].enclosures[1].type);
  assert_int_equal(items[0].enclosures[1].length, -1);
  assert_int_equal(items[0].published, T0);
  assert_int_equal(items[0].updated, T0 - 10);
  assert_string_equal(items[0].feed_name, "a");
  assert_string_equal(items[0].feed_title, "Doc title");
  assert_string_equal(items[0].feed_link, "https://site.example/");
  assert_string_equal(items[0].feed_url, "https://a.example/feed");
  store_items_free(items, n);
  feed_free(d);
}

/* ---- retention --------------------------------------------------------- */

static void test_retention_days(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_new();
  struct store_save_result r;

  add(d, "new", "https://site.example/new", "New", T0 - DAY);
  add(d, "old", "https://site.example/old", "Old", T0 - 60 * DAY);
  add(d, "older", "https://site.example/older", "Older", T0 - 90 * DAY);
  store_set_retention(f->s, 30, 0);
  /* Old entries still in the document are kept. */
  r = save(f->s, a, d, T0);
  assert_int_equal(r.new_entries, 3);
  assert_int_equal(r.deleted_entries, 0);

  /* Gone from the document: deleted, tombstoned. */
  feed_remove_entry(d, 2);
  r = save(f->s, a, d, T0 + 60);
  assert_int_equal(r.deleted_entries, 1);
  assert_false(has_entry(f->s, a, "older"));
  assert_int_equal(qint(f->s->db, "SELECT count(*) FROM tombstones"
                                  " WHERE key = 'older'"),
                   1);
  check_count(f->s, "a");

  /* Back in a later document: not added again. */
  add(d, "older", "https://site.example/older", "Older", T0 - 90 * DAY);
  r = save(f->s, a, d, T0 + 120);
  assert_int_equal(r.new_entries, 0);
  assert_false(has_entry(f->s, a, "older"));
  check_count(f->s, "a");
  feed_free(d);
}

static void test_retention_per_feed(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d1 = doc_series("one", 5, T0 - DAY);
  struct feed *d2 = doc_series("two", 2, T0);
  struct store_save_result r;
  struct store_feed sf;

  store_set_retention(f->s, 0, 3);
  r = save(f->s, a, d1, T0 - DAY);
  assert_int_equal(r.new_entries, 5); /* all in the document */
  assert_int_equal(r.deleted_entries, 0);
  r = save(f->s, a, d2, T0);
  assert_int_equal(r.new_entries, 2);
  assert_int_equal(r.deleted_entries, 4);
  assert_int_equal(count_entries(f->s, a), 3);
  assert_true(has_entry(f->s, a, "one-0")); /* the newest of the old */
  assert_true(has_entry(f->s, a, "two-0"));
  assert_true(has_entry(f->s, a, "two-1"));
  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_int_equal(sf.entries, 3);
  store_feed_clear(&sf);

  /* An old document again: deleted keys stay deleted. */
  r = save(f->s, a, d1, T0 + 60);
  assert_int_equal(r.new_entries, 0);
  assert_int_equal(count_entries(f->s, a), 1 + 2);
  check_count(f->s, "a");
  feed_free(d1);
  feed_free(d2);
}

/* Retention deletes a primary: its duplicate elsewhere takes over. */
static void test_retention_repoints(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s), b = feed_id(f->s, "b");
  struct feed *da = doc_new(), *db = doc_new();
  struct store_item *items;
  size_t n;

  add(da, "a1", "https://x.example/story", "A story", T0 - 40 * DAY);
  add(db, "b1", "https://x.example/story?utm_source=b", "B story",
      T0 - 40 * DAY);
  save(f->s, a, da, T0 - 40 * DAY);
  save(f->s, b, db, T0 - 39 * DAY);
  store_set_retention(f->s, 30, 0);
  feed_remove_entry(da, 0);
  assert_int_equal(save(f->s, a, da, T0).deleted_entries, 1);
  assert_int_equal(store_items(f->s, 10, NULL, &items, &n), 0);
  assert_int_equal(n, 1);
  assert_string_equal(items[0].title, "B story");
  store_items_free(items, n);
  feed_free(da);
  feed_free(db);
}

/* Tombstones keyed by guid follow the feed to link keys. */
static void test_tombstones_follow_rekey(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_series("g1", 4, T0 - 2 * DAY);
  char id[32];

  save(f->s, a, d, T0 - 2 * DAY);
  store_set_retention(f->s, 0, 3);
  feed_remove_entry(d, 3);
  assert_int_equal(save(f->s, a, d, T0 - DAY).deleted_entries, 1);
  /* Regenerated guids, and the deleted post is back in the document. */
  add(d, "whatever", "https://site.example/g1/3", "Post g1 3",
      T0 - 2 * DAY - 3 * 3600);
  for(size_t i = 0; i < d->nentries; i++) {
    snprintf(id, sizeof(id), "g2-%zu", i);
    set_str(&d->entries[i].id, id);
  }
  assert_int_equal(save(f->s, a, d, T0).new_entries, 0);
  assert_int_equal(count_entries(f->s, a), 3);
  feed_free(d);
}

/* ---- the transaction rule ---------------------------------------------- */

static void test_failure_keeps_previous_state(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_series("p", 5, T0);
  struct store_fetch fetch;
  struct store_feed sf;
  sqlite3 *other;
  int rc;

  store_set_retention(f->s, 0, 3);
  assert_int_equal(save_full(f->s, a, d, T0, 200, "\"old\"", "LM-old", NULL),
                   0);

  /* Another connection adds a trigger that makes one insert fail. */
  other = raw_open(f->path);
  qexec(other, "CREATE TRIGGER inject BEFORE INSERT ON entries"
               " WHEN NEW.title = 'boom'"
               " BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");
  sqlite3_close(other);

  /* This fetch changes an entry, adds one, drops two (retention would
   * delete them), then hits the failing insert. */
  set_str(&d->entries[0].title, "Changed");
  feed_remove_entry(d, 4);
  feed_remove_entry(d, 3);
  add(d, "p-new", "https://site.example/new", "Fine new", T0 + 10);
  add(d, "p-boom", "https://site.example/boom", "boom", T0 + 20);
  d->ttl = 999;
  memset(&fetch, 0, sizeof(fetch));
  fetch.fetched_at = T0 + 3600;
  fetch.status = 200;
  fetch.etag = "\"new\"";
  fetch.last_modified = "LM-new";
  fetch.feed = d;
  fetch.next_due = T0 + 7200;
  fetch.interval = 3600;
  fetch.error_count = 0;
  rc = store_save_fetch(f->s, a, &fetch, NULL);
  assert_true(rc < 0);

  assert_int_equal(store_get_feed(f->s, "a", &sf), 0);
  assert_string_equal(sf.etag, "\"old\"");
  assert_string_equal(sf.last_modified, "LM-old");
  assert_int_equal(sf.last_fetch, T0);
  assert_int_equal(sf.next_due, T0 + 1800);
  assert_int_equal(sf.ttl, 0);
  assert_int_equal(sf.entries, 5);
  store_feed_clear(&sf);
  assert_int_equal(count_entries(f->s, a), 5);
  assert_false(has_entry(f->s, a, "p-new"));
  assert_true(has_entry(f->s, a, "p-4"));
  assert_int_equal(qint(f->s->db, "SELECT count(*) FROM entries"
                                  " WHERE title = 'Changed'"),
                   0);
  assert_int_equal(qint(f->s->db, "SELECT count(*) FROM tombstones"), 0);
  assert_true(sqlite3_get_autocommit(f->s->db)); /* no open transaction */

  /* The store goes on working once the cause is gone. */
  other = raw_open(f->path);
  qexec(other, "DROP TRIGGER inject;");
  sqlite3_close(other);
  assert_int_equal(store_save_fetch(f->s, a, &fetch, NULL), 0);
  assert_true(has_entry(f->s, a, "p-new"));
  expect_validators(f->s, "\"new\"", "LM-new");
  check_count(f->s, "a");
  feed_free(d);
}

/* ---- query plans ------------------------------------------------------- */

static void test_query_plans(void **state)
{
  struct fixture *f = *state;
  int64_t a = two_feeds(f->s);
  struct feed *d = doc_series("p", 50, T0);

  /* Some rows, so no plan is chosen for an empty table only. */
  save(f->s, a, d, T0);
  feed_free(d);
  for(int i = 0; i < S_COUNT; i++) {
    char sql[2048];
    sqlite3_stmt *st;
    bool items = i == S_ITEMS_ALL || i == S_ITEMS_FEED;

    snprintf(sql, sizeof(sql), "EXPLAIN QUERY PLAN %s", stmt_sql[i]);
    assert_int_equal(sqlite3_prepare_v2(f->s->db, sql, -1, &st, NULL),
                     SQLITE_OK);
    while(sqlite3_step(st) == SQLITE_ROW) {
      const char *detail = (const char *)sqlite3_column_text(st, 3);

      if(getenv("FRESHET_SHOW_PLANS"))
        printf("%-22.22s %s\n", stmt_sql[i], detail);

      if(strstr(detail, "TEMP B-TREE"))
        fail_msg("%s\n  sorts: %s", stmt_sql[i], detail);
      if((strncmp(detail, "SCAN entries", 12) == 0 ||
          strncmp(detail, "SCAN e", 6) == 0 ||
          strncmp(detail, "SCAN tombstones", 15) == 0) &&
         !(i == S_ITEMS_ALL && strstr(detail, "USING INDEX entries_date")))
        fail_msg("%s\n  scans: %s", stmt_sql[i], detail);
      if(items && strstr(detail, "entries") && !strstr(detail, "INDEX"))
        fail_msg("%s\n  no index: %s", stmt_sql[i], detail);
    }
    sqlite3_finalize(st);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_open_create, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
      cmocka_unit_test(test_refuse_not_sqlite),
      cmocka_unit_test(test_refuse_foreign),
      cmocka_unit_test_setup_teardown(test_refuse_newer, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refuse_newer_with_wal, setup,
                                      teardown),
      cmocka_unit_test(test_open_empty_file),
      cmocka_unit_test(test_migrate_v1),
      cmocka_unit_test_setup_teardown(test_sync_feeds, setup, teardown),
      cmocka_unit_test_setup_teardown(test_save_unknown_feed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_fetch_state, setup, teardown),
      cmocka_unit_test_setup_teardown(test_validators, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedup_guid, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedup_link, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dedup_title_date, setup, teardown),
      cmocka_unit_test_setup_teardown(test_updated_entry, setup, teardown),
      cmocka_unit_test_setup_teardown(test_unchanged_not_written, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_guid_in_document, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_regenerated_guids, setup, teardown),
      cmocka_unit_test_setup_teardown(test_regenerated_guids_rekey_conflict,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_shared_links_never_key_by_link,
                                      setup, teardown),
      cmocka_unit_test_setup_teardown(test_cross_feed_duplicate, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_effective_date, setup, teardown),
      cmocka_unit_test_setup_teardown(test_item_fields, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retention_days, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retention_per_feed, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retention_repoints, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tombstones_follow_rekey, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_failure_keeps_previous_state, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_query_plans, setup, teardown),
  };

  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
