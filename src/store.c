/*
 * store.c: the SQLite database behind freshet: subscriptions and their
 * fetch state, entries stored once each, tombstones and retention.
 *
 * Schema (user_version 2; application_id STORE_APPLICATION_ID):
 *   feeds       one row per subscription; entry_count kept in step with
 *               the entries table by every write of this file, so listing
 *               feeds never counts entries.
 *   entries     one row per (feed, key). categories and enclosures are
 *               JSON text (jansson); published/updated NULL when the feed
 *               gave none; date is the effective date (published, else
 *               updated, never later than first_seen; first_seen without
 *               either). dup_of points at the primary (earliest-seen) entry
 *               of another feed with the same canonical link, always
 *               resolved (never a chain); NULL for primaries.
 *   tombstones  keys deleted by retention, never inserted again; link kept
 *               so tombstones follow a feed that switches to link keys.
 * Every statement is prepared once per connection (store_open) and reset
 * after each use; no SQL is built at run time. One connection per thread.
 */
#include "store.h"

#include "canon.h"
#include "config.h"
#include "feed.h"
#include "hash.h"
#include "log.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* "FRsh": PRAGMA application_id of every freshet database (migration 1
 * writes it in decimal). */
#define STORE_APPLICATION_ID 0x46527368
#define STORE_BUSY_TIMEOUT_MS 5000

/* Migration i takes user_version i to i + 1, in its own transaction. They
 * are history: never edit one that has shipped, append a new step. */
static const char *const migrations[] = {
    /* 1: the first schema. */
    "CREATE TABLE feeds ("
    " id INTEGER PRIMARY KEY,"
    " name TEXT NOT NULL UNIQUE,"
    " url TEXT NOT NULL,"
    " config_title TEXT,"
    " fetch_url TEXT,"
    " title TEXT,"
    " link TEXT,"
    " etag TEXT,"
    " last_modified TEXT,"
    " last_fetch INTEGER NOT NULL DEFAULT 0,"
    " last_status INTEGER NOT NULL DEFAULT 0,"
    " error_count INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT,"
    " next_due INTEGER NOT NULL DEFAULT 0,"
    " interval INTEGER NOT NULL DEFAULT 0,"
    " disabled_reason TEXT,"
    " ttl INTEGER NOT NULL DEFAULT 0,"
    " update_period INTEGER NOT NULL DEFAULT 0,"
    " redirect_url TEXT,"
    " redirect_count INTEGER NOT NULL DEFAULT 0,"
    " key_by_link INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE entries ("
    " id INTEGER PRIMARY KEY,"
    " feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL,"
    " guid TEXT,"
    " link TEXT,"
    " canonical_link TEXT,"
    " title TEXT,"
    " author TEXT,"
    " summary TEXT,"
    " content TEXT,"
    " image TEXT,"
    " categories TEXT,"
    " enclosures TEXT,"
    " published INTEGER,"
    " updated INTEGER,"
    " first_seen INTEGER NOT NULL,"
    " date INTEGER NOT NULL,"
    " content_hash INTEGER NOT NULL,"
    " dup_of INTEGER,"
    " UNIQUE (feed_id, key));"
    "CREATE INDEX entries_date ON entries(date) WHERE dup_of IS NULL;"
    "CREATE INDEX entries_feed_date ON entries(feed_id, date);"
    "CREATE INDEX entries_canonical ON entries(canonical_link, first_seen)"
    " WHERE canonical_link IS NOT NULL;"
    "CREATE INDEX entries_dup_of ON entries(dup_of, first_seen)"
    " WHERE dup_of IS NOT NULL;"
    "PRAGMA application_id = 1179808616;"
    "PRAGMA user_version = 1;",

    /* 2: tombstones for retention; stored entry count per feed. */
    "CREATE TABLE tombstones ("
    " feed_id INTEGER NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,"
    " key TEXT NOT NULL,"
    " link TEXT,"
    " deleted_at INTEGER NOT NULL,"
    " PRIMARY KEY (feed_id, key)) WITHOUT ROWID;"
    "ALTER TABLE feeds ADD COLUMN entry_count INTEGER NOT NULL DEFAULT 0;"
    "UPDATE feeds SET entry_count ="
    " (SELECT count(*) FROM entries WHERE entries.feed_id = feeds.id);"
    "PRAGMA user_version = 2;",
};

#define STORE_VERSION ((int)(sizeof(migrations) / sizeof(migrations[0])))

#define FEED_COLUMNS                                                           \
  "id, name, url, fetch_url, title, link, etag, last_modified, last_fetch,"    \
  " last_status, error_count, last_error, next_due, interval,"                 \
  " disabled_reason, ttl, update_period, redirect_url, redirect_count,"        \
  " key_by_link, entry_count"

#define ITEM_COLUMNS                                                           \
  "e.id, e.key, e.guid, e.title, e.link, e.author, e.summary, e.content,"      \
  " e.image, e.categories, e.enclosures, e.published, e.updated,"              \
  " e.first_seen, e.date, f.name, coalesce(f.config_title, f.title), f.link,"  \
  " coalesce(f.fetch_url, f.url)"

enum stmt {
  S_BEGIN,
  S_COMMIT,
  S_ROLLBACK,
  S_SAVEPOINT,
  S_RELEASE,
  S_ROLLBACK_TO,
  S_FEED_SYNC_GET,
  S_FEED_INSERT,
  S_FEED_SET_URL,
  S_FEED_SET_TITLE,
  S_FEED_NAMES,
  S_FEED_DELETE,
  S_FEED_PRIMARIES,
  S_FEED_GET,
  S_FEED_LIST,
  S_FEED_MODE,
  S_FEED_SET_LINK_MODE,
  S_FEED_SAVE,
  S_ENTRY_GET,
  S_ENTRY_CANON,
  S_ENTRY_SAME_LINK,
  S_ENTRY_INSERT,
  S_ENTRY_UPDATE,
  S_ENTRY_DELETE,
  S_CANON_FIRST,
  S_DUP_FIRST,
  S_SET_DUP,
  S_REPOINT,
  S_REKEY_ENTRIES,
  S_REKEY_TOMBSTONES,
  S_TOMB_GET,
  S_TOMB_PUT,
  S_RETAIN_DAYS,
  S_RETAIN_COUNT,
  S_ITEMS_ALL,
  S_ITEMS_FEED,
  S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT fetch",
    [S_RELEASE] = "RELEASE fetch",
    [S_ROLLBACK_TO] = "ROLLBACK TO fetch",
    [S_FEED_SYNC_GET] = "SELECT id, url, config_title FROM feeds"
                        " WHERE name = ?1",
    [S_FEED_INSERT] = "INSERT INTO feeds(name, url, config_title)"
                      " VALUES (?1, ?2, ?3)",
    /* A new URL is a new start: due at once, errors and disabling
     * forgotten, validators and redirects belonged to the old one. */
    [S_FEED_SET_URL] = "UPDATE feeds SET url = ?2, fetch_url = NULL,"
                       " etag = NULL, last_modified = NULL,"
                       " redirect_url = NULL, redirect_count = 0,"
                       " next_due = 0, error_count = 0, last_error = NULL,"
                       " disabled_reason = NULL WHERE id = ?1",
    [S_FEED_SET_TITLE] = "UPDATE feeds SET config_title = ?2 WHERE id = ?1",
    [S_FEED_NAMES] = "SELECT id, name FROM feeds",
    [S_FEED_DELETE] = "DELETE FROM feeds WHERE id = ?1",
    [S_FEED_PRIMARIES] = "SELECT id FROM entries WHERE feed_id = ?1"
                         " AND dup_of IS NULL AND canonical_link IS NOT NULL",
    [S_FEED_GET] = "SELECT " FEED_COLUMNS " FROM feeds WHERE name = ?1",
    [S_FEED_LIST] = "SELECT " FEED_COLUMNS " FROM feeds ORDER BY name",
    [S_FEED_MODE] = "SELECT key_by_link, entry_count FROM feeds"
                    " WHERE id = ?1",
    [S_FEED_SET_LINK_MODE] = "UPDATE feeds SET key_by_link = 1"
                             " WHERE id = ?1",
    /* ?12: 1 = store the validators received (2xx with its entries),
     * 2 = keep the old ones unless new ones came (304), 0 = keep.
     * ?15: a document was parsed. */
    [S_FEED_SAVE] =
        "UPDATE feeds SET last_fetch = ?2, last_status = ?3,"
        " error_count = ?4, last_error = ?5, next_due = ?6, interval = ?7,"
        " disabled_reason = ?8, fetch_url = coalesce(?9, fetch_url),"
        " redirect_url = ?10, redirect_count = ?11,"
        " etag = CASE ?12 WHEN 1 THEN ?13 WHEN 2 THEN coalesce(?13, etag)"
        " ELSE etag END,"
        " last_modified = CASE ?12 WHEN 1 THEN ?14"
        " WHEN 2 THEN coalesce(?14, last_modified) ELSE last_modified END,"
        " title = CASE WHEN ?15 THEN coalesce(?16, title) ELSE title END,"
        " link = CASE WHEN ?15 THEN coalesce(?17, link) ELSE link END,"
        " ttl = CASE WHEN ?15 THEN ?18 ELSE ttl END,"
        " update_period = CASE WHEN ?15 THEN ?19 ELSE update_period END,"
        " entry_count = entry_count + ?20"
        " WHERE id = ?1",
    [S_ENTRY_GET] = "SELECT id, content_hash, dup_of, first_seen"
                    " FROM entries WHERE feed_id = ?1 AND key = ?2",
    [S_ENTRY_CANON] = "SELECT canonical_link FROM entries WHERE id = ?1",
    [S_ENTRY_SAME_LINK] = "SELECT 1 FROM entries WHERE canonical_link = ?1"
                          " AND feed_id = ?2 AND link = ?3 AND key <> ?4"
                          " LIMIT 1",
    [S_ENTRY_INSERT] =
        "INSERT INTO entries(feed_id, key, guid, link, canonical_link, title,"
        " author, summary, content, image, categories, enclosures, published,"
        " updated, first_seen, date, content_hash, dup_of)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
        " ?14, ?15, ?16, ?17, ?18)",
    [S_ENTRY_UPDATE] =
        "UPDATE entries SET link = ?2, canonical_link = ?3, title = ?4,"
        " author = ?5, summary = ?6, content = ?7, image = ?8,"
        " categories = ?9, enclosures = ?10, published = ?11, updated = ?12,"
        " date = ?13, content_hash = ?14, dup_of = ?15 WHERE id = ?1",
    [S_ENTRY_DELETE] = "DELETE FROM entries WHERE id = ?1",
    [S_CANON_FIRST] = "SELECT id, dup_of FROM entries"
                      " WHERE canonical_link = ?1 AND feed_id <> ?2"
                      " ORDER BY first_seen, id LIMIT 1",
    [S_DUP_FIRST] = "SELECT id FROM entries WHERE dup_of = ?1"
                    " AND feed_id <> ?2 ORDER BY first_seen, id LIMIT 1",
    [S_SET_DUP] = "UPDATE entries SET dup_of = ?2 WHERE id = ?1",
    [S_REPOINT] = "UPDATE entries SET dup_of = ?2 WHERE dup_of = ?1"
                  " AND id <> ?2",
    /* Two stored entries with one link: the first keeps it as its key. */
    [S_REKEY_ENTRIES] = "UPDATE OR IGNORE entries SET key = link"
                        " WHERE feed_id = ?1 AND link IS NOT NULL"
                        " AND key <> link",
    [S_REKEY_TOMBSTONES] = "UPDATE OR IGNORE tombstones SET key = link"
                           " WHERE feed_id = ?1 AND link IS NOT NULL"
                           " AND key <> link",
    [S_TOMB_GET] = "SELECT 1 FROM tombstones WHERE feed_id = ?1"
                   " AND key = ?2",
    [S_TOMB_PUT] = "INSERT OR REPLACE INTO tombstones(feed_id, key, link,"
                   " deleted_at) VALUES (?1, ?2, ?3, ?4)",
    [S_RETAIN_DAYS] = "SELECT id, key, link FROM entries"
                      " WHERE feed_id = ?1 AND date < ?2",
    [S_RETAIN_COUNT] = "SELECT id, key, link FROM entries WHERE feed_id = ?1"
                       " ORDER BY date DESC, id DESC LIMIT -1 OFFSET ?2",
    [S_ITEMS_ALL] = "SELECT " ITEM_COLUMNS
                    " FROM entries e JOIN feeds f ON f.id = e.feed_id"
                    " WHERE e.dup_of IS NULL"
                    " ORDER BY e.date DESC, e.id DESC LIMIT ?1",
    [S_ITEMS_FEED] = "SELECT " ITEM_COLUMNS
                     " FROM feeds f JOIN entries e ON e.feed_id = f.id"
                     " WHERE f.name = ?2"
                     " ORDER BY e.date DESC, e.id DESC LIMIT ?1",
};

struct store {
  sqlite3 *db;
  char *path;
  atomic_int wal_pages; /* after the last commit, with a checkpointer */
  sqlite3_stmt *st[S_COUNT];
  long retention_days;
  long retention_per_feed;
};

/* ---- SQLite helpers ---------------------------------------------------- */

static int errno_of(int rc)
{
  switch(rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_ROW:
  case SQLITE_DONE:
    return 0;
  case SQLITE_NOMEM:
    return -ENOMEM;
  case SQLITE_BUSY:
  case SQLITE_LOCKED:
    return -EBUSY;
  case SQLITE_FULL:
    return -ENOSPC;
  case SQLITE_READONLY:
    return -EROFS;
  case SQLITE_PERM:
  case SQLITE_AUTH:
    return -EACCES;
  case SQLITE_NOTADB:
    return -EINVAL;
  default:
    return -EIO;
  }
}

/* Logs SQLite's own message once, at the boundary. */
static int sql_fail(struct store *s, int rc, const char *what)
{
  log_warnx("database error", "path=%s op=\"%.48s\" error=\"%s\"", s->path,
            what, sqlite3_errmsg(s->db));
  return errno_of(rc);
}

/* Steps st; returns SQLITE_ROW, SQLITE_DONE, or a negative errno (logged).
 * A statement that is done or failed is reset. */
static int step(struct store *s, sqlite3_stmt *st)
{
  int rc = sqlite3_step(st);

  if(rc == SQLITE_ROW)
    return rc;
  if(rc != SQLITE_DONE)
    rc = sql_fail(s, rc, sqlite3_sql(st)); /* before reset: the message */
  sqlite3_reset(st);
  return rc;
}

/* Runs a statement that returns no rows; resets and clears it. */
static int run(struct store *s, sqlite3_stmt *st)
{
  int rc = step(s, st);

  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if(rc == SQLITE_DONE || rc == SQLITE_ROW)
    return 0;
  return rc;
}

static void done(sqlite3_stmt *st)
{
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
  if(v)
    sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(st, i);
}

static void bind_date(sqlite3_stmt *st, int i, int64_t t)
{
  if(t == FEED_NO_DATE)
    sqlite3_bind_null(st, i);
  else
    sqlite3_bind_int64(st, i, t);
}

static void bind_id(sqlite3_stmt *st, int i, int64_t id)
{
  if(id)
    sqlite3_bind_int64(st, i, id);
  else
    sqlite3_bind_null(st, i);
}

static int64_t col_date(sqlite3_stmt *st, int i)
{
  if(sqlite3_column_type(st, i) == SQLITE_NULL)
    return FEED_NO_DATE;
  return sqlite3_column_int64(st, i);
}

/* Copies a text column (NULL stays NULL). Returns 0 or -ENOMEM. */
static int col_str(sqlite3_stmt *st, int i, char **out)
{
  const unsigned char *t;

  *out = NULL;
  if(sqlite3_column_type(st, i) == SQLITE_NULL)
    return 0;
  t = sqlite3_column_text(st, i);
  if(!t)
    return -ENOMEM;
  *out = strdup((const char *)t);
  return *out ? 0 : -ENOMEM;
}

static bool str_eq(const char *a, const char *b)
{
  if(!a || !b)
    return a == b;
  return strcmp(a, b) == 0;
}

static int begin(struct store *s)
{
  return run(s, s->st[S_BEGIN]);
}

static int commit(struct store *s)
{
  return run(s, s->st[S_COMMIT]);
}

static void rollback(struct store *s)
{
  if(!sqlite3_get_autocommit(s->db))
    run(s, s->st[S_ROLLBACK]);
}

int store_begin(struct store *s)
{
  return begin(s);
}

int store_commit(struct store *s)
{
  int rc = commit(s);

  if(rc < 0)
    rollback(s);
  return rc;
}

bool store_in_transaction(const struct store *s)
{
  return !sqlite3_get_autocommit(s->db);
}

struct store_checkpointer {
  sqlite3 *db;
};

/* Replaces SQLite's auto-checkpoint (itself a WAL hook) after commits. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages)
{
  struct store *s = arg;

  (void)db;
  (void)name;
  atomic_store(&s->wal_pages, pages);
  return SQLITE_OK;
}

int store_checkpointer_open(struct store *s, struct store_checkpointer **out)
{
  struct store_checkpointer *c = calloc(1, sizeof(*c));
  int rc;

  *out = NULL;
  if(!c)
    return -ENOMEM;
  rc = sqlite3_open_v2(s->path, &c->db,
                       SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
  if(rc != SQLITE_OK) {
    log_errorx("cannot open the database for checkpoints", "path=%s error=\"%s\"",
               s->path, c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
    store_checkpointer_close(c);
    return errno_of(rc);
  }
  sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS);
  /* A connection learns that the file is in WAL mode when it first reads
   * it; until then a checkpoint does nothing. */
  rc = sqlite3_exec(c->db, "SELECT 1 FROM sqlite_schema LIMIT 1", NULL, NULL,
                    NULL);
  if(rc != SQLITE_OK) {
    log_errorx("cannot read the database for checkpoints",
               "path=%s error=\"%s\"", s->path, sqlite3_errmsg(c->db));
    store_checkpointer_close(c);
    return errno_of(rc);
  }
  *out = c;
  return 0;
}

void store_defer_checkpoints(struct store *s)
{
  sqlite3_wal_hook(s->db, on_wal_commit, s);
}

int store_checkpoint(struct store_checkpointer *c)
{
  int rc = sqlite3_wal_checkpoint_v2(c->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                     NULL, NULL);

  if(rc != SQLITE_OK && rc != SQLITE_BUSY) {
    log_errorx("checkpoint failed", "error=\"%s\"", sqlite3_errmsg(c->db));
    return errno_of(rc);
  }
  return 0;
}

void store_checkpointer_close(struct store_checkpointer *c)
{
  if(!c)
    return;
  sqlite3_close(c->db);
  free(c);
}

int store_wal_pages(const struct store *s)
{
  return atomic_load(&s->wal_pages);
}

/* ---- a set of strings (open addressing, pointers borrowed) ------------- */

struct strset {
  const char **slots;
  size_t mask;
};

static int strset_init(struct strset *set, size_t n)
{
  size_t cap = 16;

  while(cap < n * 2)
    cap *= 2;
  set->slots = calloc(cap, sizeof(*set->slots));
  set->mask = cap - 1;
  return set->slots ? 0 : -ENOMEM;
}

static const char **strset_slot(const struct strset *set, const char *str)
{
  size_t i = hash_bytes(HASH_SEED, str, strlen(str)) & set->mask;

  while(set->slots[i] && strcmp(set->slots[i], str) != 0)
    i = (i + 1) & set->mask;
  return &set->slots[i];
}

/* Returns true when str was added, false when already present. */
static bool strset_add(struct strset *set, const char *str)
{
  const char **slot = strset_slot(set, str);

  if(*slot)
    return false;
  *slot = str;
  return true;
}

static bool strset_has(const struct strset *set, const char *str)
{
  return *strset_slot(set, str) != NULL;
}

static void strset_free(struct strset *set)
{
  free(set->slots);
  set->slots = NULL;
}

/* ---- open, migrate, close ---------------------------------------------- */

/* Reads one integer from a constant query; returns an SQLite code. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out)
{
  sqlite3_stmt *st = NULL;
  int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

  *out = 0;
  if(rc == SQLITE_OK) {
    rc = sqlite3_step(st);
    if(rc == SQLITE_ROW) {
      *out = sqlite3_column_int64(st, 0);
      rc = SQLITE_OK;
    }
  }
  sqlite3_finalize(st);
  return rc;
}

/* Refuses, without writing anything, a file that is not SQLite, a SQLite
 * database of another application, and a newer freshet schema. */
static int check_identity(sqlite3 *db, const char *path, char *err,
                          size_t errlen)
{
  int64_t app_id = 0, version = 0, objects = 0;
  int rc;

  /* One read transaction: another process may be creating the schema, and
   * three separate reads could see its id before and its tables after. */
  rc = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
  if(rc == SQLITE_OK)
    rc = query_int(db, "PRAGMA application_id", &app_id);
  if(rc == SQLITE_OK)
    rc = query_int(db, "PRAGMA user_version", &version);
  if(rc == SQLITE_OK)
    rc = query_int(db, "SELECT count(*) FROM sqlite_master", &objects);
  if(!sqlite3_get_autocommit(db))
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
  if(rc == SQLITE_NOTADB) {
    snprintf(err, errlen, "%s: not a SQLite database; refusing to touch it",
             path);
    return -EINVAL;
  }
  if(rc != SQLITE_OK) {
    snprintf(err, errlen, "%s: cannot read database: %s", path,
             sqlite3_errmsg(db));
    return errno_of(rc);
  }
  if(app_id == 0 && version == 0 && objects == 0)
    return 0; /* new or empty: ours to create */
  if(app_id != STORE_APPLICATION_ID) {
    snprintf(err, errlen,
             "%s: a SQLite database of another application (application_id "
             "%lld), not freshet's; refusing to touch it",
             path, (long long)app_id);
    return -EINVAL;
  }
  if(version > STORE_VERSION) {
    snprintf(err, errlen,
             "%s: database schema version %lld is newer than this freshet "
             "(%d); upgrade freshet",
             path, (long long)version, STORE_VERSION);
    return -ENOTSUP;
  }
  return 0;
}

/* Checks an existing file through a read-only connection first: closing
 * the last read-write connection of a WAL database checkpoints it, which
 * would write to a file that turns out not to be ours. */
static int check_file(const char *path, char *err, size_t errlen)
{
  sqlite3 *db = NULL;
  struct stat sb;
  int rc;

  if(stat(path, &sb) != 0)
    return 0; /* missing: created; other problems show when opening */
  rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                       NULL);
  if(rc == SQLITE_OK) {
    sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
    rc = check_identity(db, path, err, errlen);
  } else {
    snprintf(err, errlen, "%s: cannot open database: %s", path,
             db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    rc = errno_of(rc);
  }
  sqlite3_close(db);
  return rc;
}

static int migrate(sqlite3 *db, const char *path, char *err, size_t errlen)
{
  int64_t current;

  /* Up to date (the usual case): no write lock, so commands that only read
   * do not wait behind a busy daemon. */
  if(query_int(db, "PRAGMA user_version", &current) == SQLITE_OK &&
     current == STORE_VERSION)
    return 0;
  for(;;) {
    int64_t version;
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    if(rc == SQLITE_OK)
      rc = query_int(db, "PRAGMA user_version", &version);
    if(rc == SQLITE_OK && version >= STORE_VERSION) {
      /* Another process may have migrated meanwhile: check again. */
      rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
      if(rc == SQLITE_OK && version > STORE_VERSION) {
        snprintf(err, errlen,
                 "%s: database schema version %lld is newer than this "
                 "freshet (%d); upgrade freshet",
                 path, (long long)version, STORE_VERSION);
        return -ENOTSUP;
      }
      if(rc == SQLITE_OK)
        return 0;
    }
    if(rc == SQLITE_OK)
      rc = sqlite3_exec(db, migrations[version], NULL, NULL, NULL);
    if(rc == SQLITE_OK)
      rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if(rc != SQLITE_OK) {
      snprintf(err, errlen, "%s: migrating the schema: %s", path,
               sqlite3_errmsg(db));
      if(!sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
      return errno_of(rc);
    }
  }
}

static int set_pragmas(sqlite3 *db, const char *path, char *err, size_t errlen)
{
  sqlite3_stmt *st = NULL;
  const unsigned char *mode = NULL;
  bool wal = false;
  int rc;

  /* Entries are 0.5-9 KB: on 16 KiB pages they pack with less slack and
   * fewer overflow chains than on 4 KiB ones (bench_store, 10^6 entries:
   * 3263 against 3412 bytes each, inserts 1.6x as fast, the unchanged
   * pass 1.5x). Only takes effect while the file is still empty, so
   * before WAL mode writes the header. */
  rc = sqlite3_exec(db, "PRAGMA page_size=16384", NULL, NULL, NULL);
  if(rc == SQLITE_OK)
    rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
  /* Switching to WAL needs an exclusive lock and does not wait for one:
   * while another process creates the file, retry for up to the busy
   * timeout (5 s) instead of failing. */
  for(int tries = 0; rc == SQLITE_OK && !wal && tries < 100; tries++) {
    int step = sqlite3_step(st);

    if(step == SQLITE_ROW) {
      mode = sqlite3_column_text(st, 0);
      wal = mode && strcmp((const char *)mode, "wal") == 0;
    }
    sqlite3_reset(st);
    if(!wal && step != SQLITE_BUSY && step != SQLITE_LOCKED &&
       step != SQLITE_ROW)
      break;
    if(!wal)
      sqlite3_sleep(50);
  }
  rc = sqlite3_finalize(st);
  if(!wal) {
    snprintf(err, errlen, "%s: cannot switch to WAL mode: %s", path,
             rc != SQLITE_OK ? sqlite3_errmsg(db) : "refused");
    return rc != SQLITE_OK ? errno_of(rc) : -EIO;
  }
  /* A checkpoint every 4000 pages (64 MiB) instead of 1000: index pages
   * that many fetches touch are copied into the database less often
   * (bench_store: inserts 1.6x as fast). Temporary storage in memory: a
   * fetch saved inside a group commit is a savepoint, whose journal of
   * 16 KiB pages would otherwise go through a temporary file. */
  rc = sqlite3_exec(db,
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA temp_store=MEMORY;"
                    "PRAGMA wal_autocheckpoint=4000;",
                    NULL, NULL, NULL);
  if(rc != SQLITE_OK) {
    snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
    return errno_of(rc);
  }
  return 0;
}

int store_schema_version(void)
{
  return STORE_VERSION;
}

int store_open(const char *path, struct store **out, char *err, size_t errlen)
{
  struct store *s;
  int rc;

  *out = NULL;
  if(errlen)
    err[0] = '\0';
  s = calloc(1, sizeof(*s));
  if(!s || !(s->path = strdup(path))) {
    free(s);
    snprintf(err, errlen, "%s: out of memory", path);
    return -ENOMEM;
  }
  rc = check_file(path, err, errlen);
  if(rc != 0)
    goto out;
  rc = sqlite3_open_v2(
      path, &s->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  if(rc != SQLITE_OK) {
    snprintf(err, errlen, "%s: cannot open database: %s", path,
             s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
    rc = errno_of(rc);
    goto out;
  }
  sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MS);
  rc = check_identity(s->db, path, err, errlen); /* replaced meanwhile? */
  if(rc == 0)
    rc = set_pragmas(s->db, path, err, errlen);
  if(rc == 0)
    rc = migrate(s->db, path, err, errlen);
  for(int i = 0; rc == 0 && i < S_COUNT; i++) {
    int prc = sqlite3_prepare_v3(s->db, stmt_sql[i], -1,
                                 SQLITE_PREPARE_PERSISTENT, &s->st[i], NULL);

    if(prc != SQLITE_OK) {
      snprintf(err, errlen, "%s: preparing a statement: %s", path,
               sqlite3_errmsg(s->db));
      rc = errno_of(prc);
    }
  }
out:
  if(rc != 0) {
    store_close(s);
    return rc;
  }
  *out = s;
  return 0;
}

void store_close(struct store *s)
{
  if(!s)
    return;
  for(int i = 0; i < S_COUNT; i++)
    sqlite3_finalize(s->st[i]);
  sqlite3_close(s->db);
  free(s->path);
  free(s);
}

void store_set_retention(struct store *s, long days, long per_feed)
{
  s->retention_days = days > 0 ? days : 0;
  s->retention_per_feed = per_feed > 0 ? per_feed : 0;
}

/* ---- cross-feed duplicates --------------------------------------------- */

/* Before primary leaves (deleted, or its link changed): the earliest of its
 * duplicates outside exclude_feed (0: none) becomes the primary and the
 * others point at it. */
static int repoint(struct store *s, int64_t primary, int64_t exclude_feed)
{
  sqlite3_stmt *st = s->st[S_DUP_FIRST];
  int64_t next;
  int rc;

  sqlite3_bind_int64(st, 1, primary);
  sqlite3_bind_int64(st, 2, exclude_feed);
  rc = step(s, st);
  if(rc != SQLITE_ROW) {
    done(st);
    return rc < 0 ? rc : 0;
  }
  next = sqlite3_column_int64(st, 0);
  done(st);
  st = s->st[S_SET_DUP];
  sqlite3_bind_int64(st, 1, next);
  sqlite3_bind_null(st, 2);
  rc = run(s, st);
  if(rc < 0)
    return rc;
  st = s->st[S_REPOINT];
  sqlite3_bind_int64(st, 1, primary);
  sqlite3_bind_int64(st, 2, next);
  return run(s, st);
}

/* The primary an entry of feed_id with canonical link canon duplicates: the
 * earliest-seen entry of another feed with that link (resolved to its own
 * primary), or 0. */
static int find_primary(struct store *s, int64_t feed_id, const char *canon,
                        int64_t *out)
{
  sqlite3_stmt *st = s->st[S_CANON_FIRST];
  int rc;

  *out = 0;
  if(!canon)
    return 0;
  bind_text(st, 1, canon);
  sqlite3_bind_int64(st, 2, feed_id);
  rc = step(s, st);
  if(rc == SQLITE_ROW) {
    if(sqlite3_column_type(st, 1) != SQLITE_NULL)
      *out = sqlite3_column_int64(st, 1);
    else
      *out = sqlite3_column_int64(st, 0);
  }
  done(st);
  return rc < 0 ? rc : 0;
}

/* ---- feeds ------------------------------------------------------------- */

static int remove_feed(struct store *s, int64_t feed_id)
{
  sqlite3_stmt *st = s->st[S_FEED_PRIMARIES];
  int64_t *ids = NULL;
  size_t n = 0, cap = 0;
  int rc;

  sqlite3_bind_int64(st, 1, feed_id);
  while((rc = step(s, st)) == SQLITE_ROW) {
    if(n == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      int64_t *nids = realloc(ids, ncap * sizeof(*nids));

      if(!nids) {
        rc = -ENOMEM;
        break;
      }
      ids = nids;
      cap = ncap;
    }
    ids[n++] = sqlite3_column_int64(st, 0);
  }
  done(st);
  if(rc < 0)
    goto out;
  rc = 0;
  for(size_t i = 0; rc == 0 && i < n; i++)
    rc = repoint(s, ids[i], feed_id);
  if(rc == 0) {
    st = s->st[S_FEED_DELETE];
    sqlite3_bind_int64(st, 1, feed_id);
    rc = run(s, st);
  }
out:
  free(ids);
  return rc;
}

static int sync_one(struct store *s, const struct config_feed *cf)
{
  sqlite3_stmt *st = s->st[S_FEED_SYNC_GET];
  int64_t id;
  bool url_changed, title_changed;
  int rc;

  bind_text(st, 1, cf->name);
  rc = step(s, st);
  if(rc != SQLITE_ROW)
    done(st);
  if(rc < 0)
    return rc;
  if(rc == SQLITE_DONE) {
    st = s->st[S_FEED_INSERT];
    bind_text(st, 1, cf->name);
    bind_text(st, 2, cf->url);
    bind_text(st, 3, cf->title);
    return run(s, st);
  }
  id = sqlite3_column_int64(st, 0);
  url_changed = !str_eq((const char *)sqlite3_column_text(st, 1), cf->url);
  title_changed = !str_eq((const char *)sqlite3_column_text(st, 2), cf->title);
  done(st);
  rc = 0;
  if(url_changed) {
    st = s->st[S_FEED_SET_URL];
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, cf->url);
    rc = run(s, st);
  }
  if(rc == 0 && title_changed) {
    st = s->st[S_FEED_SET_TITLE];
    sqlite3_bind_int64(st, 1, id);
    bind_text(st, 2, cf->title);
    rc = run(s, st);
  }
  return rc;
}

int store_sync_feeds(struct store *s, const struct config *cfg)
{
  struct strset names = {0};
  sqlite3_stmt *st;
  int64_t *gone = NULL;
  size_t ngone = 0, cap = 0;
  int rc;

  for(size_t i = 0; i < cfg->nfeeds; i++)
    if(!cfg->feeds[i].name || !cfg->feeds[i].url)
      return -EINVAL;
  rc = strset_init(&names, cfg->nfeeds);
  if(rc < 0)
    return rc;
  rc = begin(s);
  if(rc < 0)
    goto out;
  for(size_t i = 0; rc == 0 && i < cfg->nfeeds; i++) {
    strset_add(&names, cfg->feeds[i].name);
    rc = sync_one(s, &cfg->feeds[i]);
  }
  if(rc < 0)
    goto out;

  st = s->st[S_FEED_NAMES];
  while((rc = step(s, st)) == SQLITE_ROW) {
    const char *name = (const char *)sqlite3_column_text(st, 1);

    if(name && strset_has(&names, name))
      continue;
    if(ngone == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      int64_t *n = realloc(gone, ncap * sizeof(*n));

      if(!n) {
        rc = -ENOMEM;
        break;
      }
      gone = n;
      cap = ncap;
    }
    gone[ngone++] = sqlite3_column_int64(st, 0);
  }
  done(st);
  if(rc < 0)
    goto out;
  rc = 0;
  for(size_t i = 0; rc == 0 && i < ngone; i++)
    rc = remove_feed(s, gone[i]);
  if(rc == 0)
    rc = commit(s);
out:
  if(rc < 0)
    rollback(s);
  strset_free(&names);
  free(gone);
  return rc;
}

void store_feed_clear(struct store_feed *f)
{
  if(!f)
    return;
  free(f->name);
  free(f->url);
  free(f->fetch_url);
  free(f->title);
  free(f->link);
  free(f->etag);
  free(f->last_modified);
  free(f->last_error);
  free(f->disabled_reason);
  free(f->redirect_url);
  memset(f, 0, sizeof(*f));
}

void store_feeds_free(struct store_feed *feeds, size_t n)
{
  for(size_t i = 0; feeds && i < n; i++)
    store_feed_clear(&feeds[i]);
  free(feeds);
}

/* Fills f from a FEED_COLUMNS row. Returns 0 or -ENOMEM (f cleared). */
static int read_feed(sqlite3_stmt *st, struct store_feed *f)
{
  int rc = 0;

  memset(f, 0, sizeof(*f));
  f->id = sqlite3_column_int64(st, 0);
  rc |= col_str(st, 1, &f->name);
  rc |= col_str(st, 2, &f->url);
  rc |= col_str(st, 3, &f->fetch_url);
  rc |= col_str(st, 4, &f->title);
  rc |= col_str(st, 5, &f->link);
  rc |= col_str(st, 6, &f->etag);
  rc |= col_str(st, 7, &f->last_modified);
  f->last_fetch = sqlite3_column_int64(st, 8);
  f->last_status = sqlite3_column_int(st, 9);
  f->error_count = sqlite3_column_int(st, 10);
  rc |= col_str(st, 11, &f->last_error);
  f->next_due = sqlite3_column_int64(st, 12);
  f->interval = sqlite3_column_int64(st, 13);
  rc |= col_str(st, 14, &f->disabled_reason);
  f->ttl = sqlite3_column_int64(st, 15);
  f->update_period = sqlite3_column_int64(st, 16);
  rc |= col_str(st, 17, &f->redirect_url);
  f->redirect_count = sqlite3_column_int(st, 18);
  f->key_by_link = sqlite3_column_int(st, 19) != 0;
  f->entries = sqlite3_column_int64(st, 20);
  if(rc) {
    store_feed_clear(f);
    return -ENOMEM;
  }
  return 0;
}

int store_get_feed(struct store *s, const char *name, struct store_feed *out)
{
  sqlite3_stmt *st = s->st[S_FEED_GET];
  int rc;

  memset(out, 0, sizeof(*out));
  bind_text(st, 1, name);
  rc = step(s, st);
  if(rc == SQLITE_ROW)
    rc = read_feed(st, out);
  else if(rc == SQLITE_DONE)
    rc = -ENOENT;
  done(st);
  return rc;
}

int store_list_feeds(struct store *s, struct store_feed **out, size_t *n)
{
  sqlite3_stmt *st = s->st[S_FEED_LIST];
  struct store_feed *feeds = NULL;
  size_t count = 0, cap = 0;
  int rc;

  *out = NULL;
  *n = 0;
  while((rc = step(s, st)) == SQLITE_ROW) {
    if(count == cap) {
      size_t ncap = cap ? cap * 2 : 16;
      struct store_feed *nf = realloc(feeds, ncap * sizeof(*nf));

      if(!nf) {
        rc = -ENOMEM;
        break;
      }
      feeds = nf;
      cap = ncap;
    }
    rc = read_feed(st, &feeds[count]);
    if(rc < 0)
      break;
    count++;
  }
  done(st);
  if(rc < 0) {
    store_feeds_free(feeds, count);
    return rc;
  }
  *out = feeds;
  *n = count;
  return 0;
}

/* ---- entries ----------------------------------------------------------- */

/* The content fingerprint runs over every entry of every fetch, bodies
 * included, so it takes 8 bytes a step (an xxHash64-style round: multiply,
 * rotate, multiply) instead of hash.h's byte-wise FNV-1a, ~4x faster on
 * long bodies. Words are read little-endian so the stored value does not
 * depend on the machine. Not cryptographic: a crafted collision only hides
 * an edit from its own feed. */
#define MIX_P1 UINT64_C(0x9e3779b185ebca87)
#define MIX_P2 UINT64_C(0xc2b2ae3d27d4eb4f)

static uint64_t mix_word(uint64_t h, uint64_t w)
{
  h += w * MIX_P2;
  h = (h << 31) | (h >> 33);
  return h * MIX_P1;
}

static uint64_t mix_bytes(uint64_t h, const unsigned char *p, size_t len)
{
  uint64_t w;

  for(; len >= 8; p += 8, len -= 8) {
    w = (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
        (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 |
        (uint64_t)p[6] << 48 | (uint64_t)p[7] << 56;
    h = mix_word(h, w);
  }
  w = 0;
  for(size_t i = 0; i < len; i++)
    w |= (uint64_t)p[i] << (8 * i);
  return mix_word(h, w);
}

/* Each string is preceded by its length (so field boundaries count);
 * a missing one by a value no length takes. */
static uint64_t hash_str(uint64_t h, const char *str)
{
  size_t len;

  if(!str)
    return mix_word(h, UINT64_MAX);
  len = strlen(str);
  return mix_bytes(mix_word(h, len), (const unsigned char *)str, len);
}

static uint64_t hash_i64(uint64_t h, int64_t v)
{
  return mix_word(h, (uint64_t)v);
}

/* Fingerprint of everything stored from an entry but its id, so a changed
 * entry is seen and an unchanged one is not written. */
static int64_t content_hash(const struct feed_entry *e)
{
  uint64_t h = HASH_SEED;

  h = hash_str(h, e->title);
  h = hash_str(h, e->link);
  h = hash_str(h, e->author);
  h = hash_str(h, e->summary);
  h = hash_str(h, e->content);
  h = hash_str(h, e->image);
  h = hash_i64(h, (int64_t)e->ncategories);
  for(size_t i = 0; i < e->ncategories; i++)
    h = hash_str(h, e->categories[i]);
  h = hash_i64(h, (int64_t)e->nenclosures);
  for(size_t i = 0; i < e->nenclosures; i++) {
    h = hash_str(h, e->enclosures[i].url);
    h = hash_str(h, e->enclosures[i].type);
    h = hash_i64(h, e->enclosures[i].length);
  }
  h = hash_i64(h, e->published);
  h = hash_i64(h, e->updated);
  /* Final avalanche (xxHash64's), so every input bit reaches every bit. */
  h ^= h >> 33;
  h *= MIX_P2;
  h ^= h >> 29;
  h *= UINT64_C(0x165667b19e3779f9);
  h ^= h >> 32;
  return (int64_t)h;
}

/* The date entries are ordered by: the publisher's (published, else
 * updated), never later than when we first saw the entry. */
static int64_t effective_date(const struct feed_entry *e, int64_t first_seen)
{
  int64_t d = e->published != FEED_NO_DATE ? e->published : e->updated;

  if(d == FEED_NO_DATE || d > first_seen)
    return first_seen;
  return d;
}

/* JSON text of the categories, or NULL when there are none. Strings that
 * are not UTF-8 (the parser never makes them) are left out. */
static int encode_categories(const struct feed_entry *e, char **out)
{
  json_t *a;

  *out = NULL;
  if(!e->ncategories)
    return 0;
  a = json_array();
  if(!a)
    return -ENOMEM;
  for(size_t i = 0; i < e->ncategories; i++) {
    json_t *v = json_string(e->categories[i]);

    if(v && json_array_append_new(a, v) < 0) {
      json_decref(a);
      return -ENOMEM;
    }
  }
  *out = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  return *out ? 0 : -ENOMEM;
}

static int encode_enclosures(const struct feed_entry *e, char **out)
{
  json_t *a;

  *out = NULL;
  if(!e->nenclosures)
    return 0;
  a = json_array();
  if(!a)
    return -ENOMEM;
  for(size_t i = 0; i < e->nenclosures; i++) {
    const struct feed_enclosure *x = &e->enclosures[i];
    json_t *o;

    if(!x->url)
      continue;
    o = json_pack("{s:s?,s:s?,s:I}", "url", x->url, "type", x->type, "length",
                  (json_int_t)x->length);
    if(o && json_array_append_new(a, o) < 0) {
      json_decref(a);
      return -ENOMEM;
    }
  }
  *out = json_dumps(a, JSON_COMPACT);
  json_decref(a);
  return *out ? 0 : -ENOMEM;
}

/* One entry of the document being stored. */
struct doc_entry {
  const struct feed_entry *e;
  const char *key; /* borrowed from e; NULL: not stored */
  char *canon;     /* canon_link(e->link), computed when needed */
  bool canon_done;
  bool found; /* stored already: the fields below are set */
  int64_t id;
  int64_t hash;
  int64_t dup_of;
  int64_t first_seen;
};

struct save_ctx {
  struct store *s;
  int64_t feed_id;
  const struct store_fetch *fetch;
  const struct feed *feed;
  bool by_link;
  int64_t stored; /* entries of the feed before this fetch */
  struct doc_entry *d;
  size_t n;
  struct strset keys; /* this document's keys */
  struct store_save_result res;
};

static const char *doc_canon(struct doc_entry *d)
{
  if(!d->canon_done) {
    d->canon = canon_link(d->e->link);
    d->canon_done = true;
  }
  return d->canon;
}

/* Chooses each entry's key for the feed's mode; a key repeated within the
 * document keeps its first entry only. */
static int choose_keys(struct save_ctx *c)
{
  strset_free(&c->keys);
  if(strset_init(&c->keys, c->n) < 0)
    return -ENOMEM;
  for(size_t i = 0; i < c->n; i++) {
    struct doc_entry *d = &c->d[i];
    const struct feed_entry *e = d->e;

    d->key = (c->by_link && e->link) ? e->link : (e->id ? e->id : e->link);
    if(d->key && !strset_add(&c->keys, d->key))
      d->key = NULL;
  }
  return 0;
}

static int lookup_entries(struct save_ctx *c)
{
  sqlite3_stmt *st = c->s->st[S_ENTRY_GET];

  for(size_t i = 0; i < c->n; i++) {
    struct doc_entry *d = &c->d[i];
    int rc;

    d->found = false;
    if(!d->key)
      continue;
    sqlite3_bind_int64(st, 1, c->feed_id);
    bind_text(st, 2, d->key);
    rc = step(c->s, st);
    if(rc < 0) {
      done(st);
      return rc;
    }
    if(rc == SQLITE_ROW) {
      d->found = true;
      d->id = sqlite3_column_int64(st, 0);
      d->hash = sqlite3_column_int64(st, 1);
      d->dup_of = sqlite3_column_int64(st, 2); /* NULL reads as 0 */
      d->first_seen = sqlite3_column_int64(st, 3);
    }
    sqlite3_reset(st);
  }
  done(st);
  return 0;
}

/* Regenerated guids: several unknown keys (>= 2 and >= half of the entries
 * with links, whose links are distinct) whose link is already stored under
 * another key. The feed
 * then switches to link keys for good, its stored entries and tombstones
 * are re-keyed, and those entries are known again. */
static int detect_regenerated(struct save_ctx *c)
{
  sqlite3_stmt *st = c->s->st[S_ENTRY_SAME_LINK];
  size_t linked = 0, unknown = 0, moved = 0;
  int rc;

  /* Most fetches bring a few new entries, or fill an empty feed: no
   * lookups then. */
  for(size_t i = 0; i < c->n; i++)
    if(c->d[i].key && c->d[i].e->link) {
      linked++;
      unknown += !c->d[i].found;
    }
  if(c->stored == 0 || unknown < 2 || unknown * 2 < linked)
    return 0;
  /* Links must tell the entries apart (a digest feed linking every entry
   * to its home page must never be keyed by link); a few shared links
   * are tolerated. */
  {
    struct strset links;
    size_t distinct = 0;

    if(strset_init(&links, linked) < 0)
      return -ENOMEM;
    for(size_t i = 0; i < c->n; i++)
      if(c->d[i].key && c->d[i].e->link)
        distinct += strset_add(&links, c->d[i].e->link);
    strset_free(&links);
    if(distinct * 10 < linked * 9)
      return 0;
  }
  linked = 0;
  for(size_t i = 0; i < c->n; i++) {
    struct doc_entry *d = &c->d[i];
    const char *canon;

    if(!d->key || !d->e->link)
      continue;
    linked++;
    if(d->found || !(canon = doc_canon(d)))
      continue;
    bind_text(st, 1, canon);
    sqlite3_bind_int64(st, 2, c->feed_id);
    bind_text(st, 3, d->e->link);
    bind_text(st, 4, d->key);
    rc = step(c->s, st);
    if(rc < 0) {
      done(st);
      return rc;
    }
    if(rc == SQLITE_ROW)
      moved++;
    sqlite3_reset(st);
  }
  done(st);
  if(moved < 2 || moved * 2 < linked)
    return 0;

  log_info("feed guids change on every fetch; keying entries by link",
           "feed_id=%lld entries=%zu", (long long)c->feed_id, moved);
  st = c->s->st[S_FEED_SET_LINK_MODE];
  sqlite3_bind_int64(st, 1, c->feed_id);
  rc = run(c->s, st);
  if(rc == 0) {
    st = c->s->st[S_REKEY_ENTRIES];
    sqlite3_bind_int64(st, 1, c->feed_id);
    rc = run(c->s, st);
  }
  if(rc == 0) {
    st = c->s->st[S_REKEY_TOMBSTONES];
    sqlite3_bind_int64(st, 1, c->feed_id);
    rc = run(c->s, st);
  }
  if(rc < 0)
    return rc;
  c->by_link = true;
  rc = choose_keys(c);
  if(rc == 0)
    rc = lookup_entries(c);
  return rc;
}

static int tombstoned(struct save_ctx *c, const char *key, bool *out)
{
  sqlite3_stmt *st = c->s->st[S_TOMB_GET];
  int rc;

  sqlite3_bind_int64(st, 1, c->feed_id);
  bind_text(st, 2, key);
  rc = step(c->s, st);
  *out = rc == SQLITE_ROW;
  done(st);
  return rc < 0 ? rc : 0;
}

/* Binds ?first.. with link, canonical link, title, author, summary,
 * content, image, categories, enclosures (the order both INSERT and UPDATE
 * use). */
static void bind_fields(sqlite3_stmt *st, int first, struct doc_entry *d,
                        const char *cats, const char *encs)
{
  const struct feed_entry *e = d->e;

  bind_text(st, first, e->link);
  bind_text(st, first + 1, d->canon);
  bind_text(st, first + 2, e->title);
  bind_text(st, first + 3, e->author);
  bind_text(st, first + 4, e->summary);
  bind_text(st, first + 5, e->content);
  bind_text(st, first + 6, e->image);
  bind_text(st, first + 7, cats);
  bind_text(st, first + 8, encs);
}

static int insert_entry(struct save_ctx *c, struct doc_entry *d, int64_t hash)
{
  sqlite3_stmt *st = c->s->st[S_ENTRY_INSERT];
  const struct feed_entry *e = d->e;
  int64_t now = c->fetch->fetched_at, primary;
  char *cats = NULL, *encs = NULL;
  int rc;

  doc_canon(d); /* NULL when not http(s): not compared across feeds */
  rc = find_primary(c->s, c->feed_id, d->canon, &primary);
  if(rc == 0)
    rc = encode_categories(e, &cats);
  if(rc == 0)
    rc = encode_enclosures(e, &encs);
  if(rc < 0)
    goto out;
  sqlite3_bind_int64(st, 1, c->feed_id);
  bind_text(st, 2, d->key);
  bind_text(st, 3, e->id);
  /* ?4..?12: link .. enclosures */
  bind_fields(st, 4, d, cats, encs);
  bind_date(st, 13, e->published);
  bind_date(st, 14, e->updated);
  sqlite3_bind_int64(st, 15, now);
  sqlite3_bind_int64(st, 16, effective_date(e, now));
  sqlite3_bind_int64(st, 17, hash);
  bind_id(st, 18, primary);
  rc = run(c->s, st);
  if(rc == 0)
    c->res.new_entries++;
out:
  free(cats);
  free(encs);
  return rc;
}

/* The updated time of a changed entry: the publisher's own, else the
 * document's when it is plausible, else the time of this fetch. */
static int64_t changed_at(const struct save_ctx *c, const struct feed_entry *e,
                          int64_t date)
{
  int64_t now = c->fetch->fetched_at;

  if(e->updated != FEED_NO_DATE)
    return e->updated;
  if(c->feed->updated != FEED_NO_DATE && c->feed->updated > date &&
     c->feed->updated <= now)
    return c->feed->updated;
  return now;
}

static int update_entry(struct save_ctx *c, struct doc_entry *d, int64_t hash)
{
  sqlite3_stmt *st = c->s->st[S_ENTRY_CANON];
  const struct feed_entry *e = d->e;
  int64_t dup_of = d->dup_of, date;
  char *old = NULL, *cats = NULL, *encs = NULL;
  int rc;

  sqlite3_bind_int64(st, 1, d->id);
  rc = step(c->s, st);
  if(rc == SQLITE_ROW)
    rc = col_str(st, 0, &old);
  done(st);
  if(rc < 0)
    return rc;
  doc_canon(d);
  rc = 0;
  if(!str_eq(old, d->canon)) {
    /* A new link: leave the old group, join the new one. */
    if(!dup_of)
      rc = repoint(c->s, d->id, 0);
    if(rc == 0)
      rc = find_primary(c->s, c->feed_id, d->canon, &dup_of);
  }
  if(rc == 0)
    rc = encode_categories(e, &cats);
  if(rc == 0)
    rc = encode_enclosures(e, &encs);
  if(rc < 0)
    goto out;
  date = effective_date(e, d->first_seen);
  st = c->s->st[S_ENTRY_UPDATE];
  sqlite3_bind_int64(st, 1, d->id);
  bind_fields(st, 2, d, cats, encs); /* ?2..?10 */
  bind_date(st, 11, e->published);
  sqlite3_bind_int64(st, 12, changed_at(c, e, date));
  sqlite3_bind_int64(st, 13, date);
  sqlite3_bind_int64(st, 14, hash);
  bind_id(st, 15, dup_of);
  rc = run(c->s, st);
  if(rc == 0)
    c->res.updated_entries++;
out:
  free(old);
  free(cats);
  free(encs);
  return rc;
}

static int store_entries(struct save_ctx *c)
{
  int rc;

  c->n = c->feed->nentries;
  c->d = calloc(c->n ? c->n : 1, sizeof(*c->d));
  if(!c->d)
    return -ENOMEM;
  for(size_t i = 0; i < c->n; i++)
    c->d[i].e = &c->feed->entries[i];
  rc = choose_keys(c);
  if(rc == 0)
    rc = lookup_entries(c);
  if(rc == 0 && !c->by_link)
    rc = detect_regenerated(c);
  for(size_t i = 0; rc == 0 && i < c->n; i++) {
    struct doc_entry *d = &c->d[i];
    int64_t hash;
    bool dead;

    if(!d->key)
      continue;
    hash = content_hash(d->e);
    if(d->found) {
      if(hash != d->hash)
        rc = update_entry(c, d, hash);
      continue;
    }
    rc = tombstoned(c, d->key, &dead);
    if(rc == 0 && !dead)
      rc = insert_entry(c, d, hash);
  }
  return rc;
}

/* ---- retention --------------------------------------------------------- */

struct victim {
  int64_t id;
  char *key;
  char *link;
};

static int cmp_victim(const void *a, const void *b)
{
  int64_t x = ((const struct victim *)a)->id;
  int64_t y = ((const struct victim *)b)->id;

  return (x > y) - (x < y);
}

/* Appends the rows of st (id, key, link) whose key is not in the current
 * document. */
static int collect_victims(struct save_ctx *c, sqlite3_stmt *st,
                           struct victim **v, size_t *n, size_t *cap)
{
  int rc;

  while((rc = step(c->s, st)) == SQLITE_ROW) {
    const char *key = (const char *)sqlite3_column_text(st, 1);
    struct victim *x;

    if(!key || strset_has(&c->keys, key))
      continue;
    if(*n == *cap) {
      size_t ncap = *cap ? *cap * 2 : 64;
      struct victim *nv = realloc(*v, ncap * sizeof(*nv));

      if(!nv) {
        rc = -ENOMEM;
        break;
      }
      *v = nv;
      *cap = ncap;
    }
    x = &(*v)[*n];
    x->id = sqlite3_column_int64(st, 0);
    if(col_str(st, 1, &x->key) < 0 || col_str(st, 2, &x->link) < 0) {
      free(x->key);
      rc = -ENOMEM;
      break;
    }
    (*n)++;
  }
  done(st);
  return rc < 0 ? rc : 0;
}

/* Deletes entries older than the retention days and beyond the newest
 * retention_per_feed, except those in this document; tombstones their
 * keys. */
static int apply_retention(struct save_ctx *c)
{
  struct store *s = c->s;
  struct victim *v = NULL;
  size_t n = 0, cap = 0;
  int64_t now = c->fetch->fetched_at;
  int rc = 0;

  if(s->retention_days > 0) {
    sqlite3_stmt *st = s->st[S_RETAIN_DAYS];

    sqlite3_bind_int64(st, 1, c->feed_id);
    sqlite3_bind_int64(st, 2, now - (int64_t)s->retention_days * 86400);
    rc = collect_victims(c, st, &v, &n, &cap);
  }
  if(rc == 0 && s->retention_per_feed > 0) {
    sqlite3_stmt *st = s->st[S_RETAIN_COUNT];

    sqlite3_bind_int64(st, 1, c->feed_id);
    sqlite3_bind_int64(st, 2, s->retention_per_feed);
    rc = collect_victims(c, st, &v, &n, &cap);
  }
  if(rc == 0 && n > 1)
    qsort(v, n, sizeof(*v), cmp_victim);
  for(size_t i = 0; rc == 0 && i < n; i++) {
    sqlite3_stmt *st;

    if(i > 0 && v[i].id == v[i - 1].id)
      continue; /* old and beyond the count */
    rc = repoint(s, v[i].id, 0);
    if(rc < 0)
      break;
    st = s->st[S_ENTRY_DELETE];
    sqlite3_bind_int64(st, 1, v[i].id);
    rc = run(s, st);
    if(rc < 0)
      break;
    st = s->st[S_TOMB_PUT];
    sqlite3_bind_int64(st, 1, c->feed_id);
    bind_text(st, 2, v[i].key);
    bind_text(st, 3, v[i].link);
    sqlite3_bind_int64(st, 4, now);
    rc = run(s, st);
    if(rc == 0)
      c->res.deleted_entries++;
  }
  for(size_t i = 0; i < n; i++) {
    free(v[i].key);
    free(v[i].link);
  }
  free(v);
  return rc;
}

/* ---- one fetch --------------------------------------------------------- */

static int save_state(struct save_ctx *c)
{
  const struct store_fetch *f = c->fetch;
  sqlite3_stmt *st = c->s->st[S_FEED_SAVE];
  bool ok = f->status >= 200 && f->status < 300;
  int validators = 0;

  /* Validators only with the entries they came with. */
  if(ok && c->feed)
    validators = 1;
  else if(f->status == 304)
    validators = 2;
  sqlite3_bind_int64(st, 1, c->feed_id);
  sqlite3_bind_int64(st, 2, f->fetched_at);
  sqlite3_bind_int(st, 3, f->status);
  sqlite3_bind_int(st, 4, f->error_count);
  bind_text(st, 5, f->error);
  sqlite3_bind_int64(st, 6, f->next_due);
  sqlite3_bind_int64(st, 7, f->interval);
  bind_text(st, 8, f->disabled_reason);
  bind_text(st, 9, f->fetch_url);
  bind_text(st, 10, f->redirect_url);
  sqlite3_bind_int(st, 11, f->redirect_count);
  sqlite3_bind_int(st, 12, validators);
  bind_text(st, 13, f->etag);
  bind_text(st, 14, f->last_modified);
  sqlite3_bind_int(st, 15, c->feed != NULL);
  bind_text(st, 16, c->feed ? c->feed->title : NULL);
  bind_text(st, 17, c->feed ? c->feed->link : NULL);
  sqlite3_bind_int64(st, 18, c->feed ? c->feed->ttl : 0);
  sqlite3_bind_int64(st, 19, c->feed ? c->feed->update_period : 0);
  sqlite3_bind_int64(
      st, 20, (int64_t)c->res.new_entries - (int64_t)c->res.deleted_entries);
  return run(c->s, st);
}

int store_save_fetch(struct store *s, int64_t feed_id,
                     const struct store_fetch *fetch,
                     struct store_save_result *result)
{
  struct save_ctx c = {
      .s = s, .feed_id = feed_id, .fetch = fetch, .feed = fetch->feed};
  sqlite3_stmt *st;
  int rc;

  /* Inside a caller's transaction (store_begin), this fetch is a
   * savepoint: it still stays all or nothing. */
  bool own = sqlite3_get_autocommit(s->db) != 0;

  if(result)
    memset(result, 0, sizeof(*result));
  rc = own ? begin(s) : run(s, s->st[S_SAVEPOINT]);
  if(rc < 0)
    return rc;
  st = s->st[S_FEED_MODE];
  sqlite3_bind_int64(st, 1, feed_id);
  rc = step(s, st);
  if(rc == SQLITE_ROW) {
    c.by_link = sqlite3_column_int(st, 0) != 0;
    c.stored = sqlite3_column_int64(st, 1);
  }
  done(st);
  if(rc == SQLITE_DONE)
    rc = -ENOENT;
  if(rc < 0)
    goto out;
  rc = 0;
  if(c.feed) {
    /* Retention needs a document: after a 304 or an error, entries still
     * in the feed are unknown, so nothing is deleted. */
    rc = store_entries(&c);
    if(rc == 0)
      rc = apply_retention(&c);
  }
  if(rc == 0)
    rc = save_state(&c);
  if(rc == 0)
    rc = own ? commit(s) : run(s, s->st[S_RELEASE]);
out:
  if(rc < 0 && own) {
    rollback(s);
  } else if(rc < 0 && !sqlite3_get_autocommit(s->db)) {
    /* ROLLBACK TO keeps the savepoint open; RELEASE then drops it. */
    run(s, s->st[S_ROLLBACK_TO]);
    run(s, s->st[S_RELEASE]);
  } else if(result)
    *result = c.res;
  for(size_t i = 0; c.d && i < c.n; i++)
    free(c.d[i].canon);
  free(c.d);
  strset_free(&c.keys);
  return rc;
}

/* ---- items ------------------------------------------------------------- */

static void item_clear(struct store_item *it)
{
  free(it->key);
  free(it->guid);
  free(it->title);
  free(it->link);
  free(it->author);
  free(it->summary);
  free(it->content);
  free(it->image);
  for(size_t i = 0; i < it->ncategories; i++)
    free(it->categories[i]);
  free(it->categories);
  for(size_t i = 0; i < it->nenclosures; i++) {
    free(it->enclosures[i].url);
    free(it->enclosures[i].type);
  }
  free(it->enclosures);
  free(it->feed_name);
  free(it->feed_title);
  free(it->feed_link);
  free(it->feed_url);
  memset(it, 0, sizeof(*it));
}

void store_items_free(struct store_item *items, size_t n)
{
  for(size_t i = 0; items && i < n; i++)
    item_clear(&items[i]);
  free(items);
}

/* Decodes the categories column; bad JSON is taken as no categories. */
static int decode_categories(const char *text, struct store_item *it)
{
  json_t *a = text ? json_loads(text, 0, NULL) : NULL;
  size_t n = json_is_array(a) ? json_array_size(a) : 0;
  int rc = 0;

  if(n) {
    it->categories = calloc(n, sizeof(*it->categories));
    if(!it->categories)
      rc = -ENOMEM;
  }
  for(size_t i = 0; rc == 0 && i < n; i++) {
    const char *str = json_string_value(json_array_get(a, i));

    if(!str)
      continue;
    it->categories[it->ncategories] = strdup(str);
    if(!it->categories[it->ncategories])
      rc = -ENOMEM;
    else
      it->ncategories++;
  }
  json_decref(a);
  return rc;
}

static int decode_enclosures(const char *text, struct store_item *it)
{
  json_t *a = text ? json_loads(text, 0, NULL) : NULL;
  size_t n = json_is_array(a) ? json_array_size(a) : 0;
  int rc = 0;

  if(n) {
    it->enclosures = calloc(n, sizeof(*it->enclosures));
    if(!it->enclosures)
      rc = -ENOMEM;
  }
  for(size_t i = 0; rc == 0 && i < n; i++) {
    json_t *o = json_array_get(a, i);
    const char *url = json_string_value(json_object_get(o, "url"));
    const char *type = json_string_value(json_object_get(o, "type"));
    json_t *len = json_object_get(o, "length");
    struct feed_enclosure *x = &it->enclosures[it->nenclosures];

    if(!url)
      continue;
    x->url = strdup(url);
    x->type = type ? strdup(type) : NULL;
    x->length = json_is_integer(len) ? (int64_t)json_integer_value(len) : -1;
    it->nenclosures++;
    if(!x->url || (type && !x->type))
      rc = -ENOMEM;
  }
  json_decref(a);
  return rc;
}

static int read_item(sqlite3_stmt *st, struct store_item *it)
{
  int rc = 0;

  memset(it, 0, sizeof(*it));
  it->id = sqlite3_column_int64(st, 0);
  rc |= col_str(st, 1, &it->key);
  rc |= col_str(st, 2, &it->guid);
  rc |= col_str(st, 3, &it->title);
  rc |= col_str(st, 4, &it->link);
  rc |= col_str(st, 5, &it->author);
  rc |= col_str(st, 6, &it->summary);
  rc |= col_str(st, 7, &it->content);
  rc |= col_str(st, 8, &it->image);
  if(rc == 0)
    rc = decode_categories((const char *)sqlite3_column_text(st, 9), it);
  if(rc == 0)
    rc = decode_enclosures((const char *)sqlite3_column_text(st, 10), it);
  it->published = col_date(st, 11);
  it->updated = col_date(st, 12);
  it->first_seen = sqlite3_column_int64(st, 13);
  it->date = sqlite3_column_int64(st, 14);
  rc |= col_str(st, 15, &it->feed_name);
  rc |= col_str(st, 16, &it->feed_title);
  rc |= col_str(st, 17, &it->feed_link);
  rc |= col_str(st, 18, &it->feed_url);
  if(rc) {
    item_clear(it);
    return -ENOMEM;
  }
  return 0;
}

int store_items(struct store *s, size_t limit, const char *feed_name,
                struct store_item **out, size_t *n)
{
  sqlite3_stmt *st = s->st[feed_name ? S_ITEMS_FEED : S_ITEMS_ALL];
  struct store_item *items = NULL;
  size_t count = 0, cap = 0;
  int rc = 0;

  *out = NULL;
  *n = 0;
  if(limit == 0)
    return 0;
  sqlite3_bind_int64(st, 1, limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
  if(feed_name)
    bind_text(st, 2, feed_name);
  while((rc = step(s, st)) == SQLITE_ROW) {
    if(count == cap) {
      size_t ncap = cap ? cap * 2 : (limit < 64 ? limit : 64);
      struct store_item *ni = realloc(items, ncap * sizeof(*ni));

      if(!ni) {
        rc = -ENOMEM;
        break;
      }
      items = ni;
      cap = ncap;
    }
    rc = read_item(st, &items[count]);
    if(rc < 0)
      break;
    count++;
  }
  done(st);
  if(rc < 0) {
    store_items_free(items, count);
    return rc;
  }
  *out = items;
  *n = count;
  return 0;
}
