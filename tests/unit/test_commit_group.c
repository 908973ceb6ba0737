/*
 * test_commit_group.c: group commit on a real SQLite file with real
 * threads. The main thread holds the store's lock while the savers queue
 * up behind it, so which saves share a transaction is known: everyone in
 * line joins one group, the last one commits it, a full group is
 * committed at COMMIT_GROUP_MAX, and a save that fails (a trigger aborts
 * it) takes nothing else with it. Durability is checked from a second
 * connection, which sees committed data only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "commit_group.h"
#include "config.h"
#include "feed.h"
#include "log.h"
#include "store.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 INT64_C(1717200000)
#define MAX_SAVERS 80

static char dir[] = "/tmp/freshet-test-commit-XXXXXX";
static char path[256];

struct fixture {
  struct store *store;
  struct commit_group g;
  int64_t ids[MAX_SAVERS];
  size_t n;
};

struct saver {
  struct commit_group *g;
  int64_t id;
  char etag[32];
  int rc;
  struct feed *doc; /* NULL: a 304 */
};

static void *save_one(void *arg)
{
  struct saver *s = arg;
  struct store_fetch f;

  memset(&f, 0, sizeof(f));
  f.fetched_at = T0;
  f.status = s->doc ? 200 : 304;
  f.feed = s->doc;
  f.etag = s->etag;
  f.next_due = T0 + 1800;
  f.interval = 1800;
  s->rc = commit_group_save(s->g, s->id, &f, NULL);
  return NULL;
}

/* A store with n subscriptions f0..f(n-1). */
static struct fixture *fixture_new(size_t n)
{
  struct fixture *fx = calloc(1, sizeof(*fx));
  struct config cfg;
  struct config_feed *cf = calloc(n, sizeof(*cf));
  char names[MAX_SAVERS][16], urls[MAX_SAVERS][48], err[256];
  struct store_feed *rows = NULL;
  size_t nrows = 0;

  assert_non_null(fx);
  assert_non_null(cf);
  assert_true(n <= MAX_SAVERS);
  snprintf(path, sizeof(path), "%s/db.sqlite", dir);
  unlink(path);
  assert_int_equal(store_open(path, &fx->store, err, sizeof(err)), 0);
  for(size_t i = 0; i < n; i++) {
    snprintf(names[i], sizeof(names[i]), "f%02zu", i);
    snprintf(urls[i], sizeof(urls[i]), "http://127.0.0.1:9/%zu.xml", i);
    cf[i].name = names[i];
    cf[i].url = urls[i];
    cf[i].enabled = true;
  }
  memset(&cfg, 0, sizeof(cfg));
  cfg.feeds = cf;
  cfg.nfeeds = n;
  assert_int_equal(store_sync_feeds(fx->store, &cfg), 0);
  assert_int_equal(store_list_feeds(fx->store, &rows, &nrows), 0);
  assert_int_equal(nrows, n);
  for(size_t i = 0; i < n; i++)
    fx->ids[i] = rows[i].id; /* ordered by name: f00, f01, ... */
  store_feeds_free(rows, nrows);
  free(cf);
  fx->n = n;
  commit_group_init(&fx->g, fx->store);
  return fx;
}

static void fixture_free(struct fixture *fx)
{
  commit_group_destroy(&fx->g);
  store_close(fx->store);
  free(fx);
}

/* Runs one saver per feed, all queued behind the lock before any saves;
 * returns how many transactions they took. */
static uint64_t save_all_queued(struct fixture *fx, struct saver *s)
{
  pthread_t th[MAX_SAVERS];
  uint64_t before;

  commit_group_lock(&fx->g);
  before = fx->g.commits;
  for(size_t i = 0; i < fx->n; i++) {
    s[i].g = &fx->g;
    s[i].id = fx->ids[i];
    s[i].rc = 1;
    s[i].doc = NULL;
    snprintf(s[i].etag, sizeof(s[i].etag), "\"e%zu\"", i);
    assert_int_equal(pthread_create(&th[i], NULL, save_one, &s[i]), 0);
  }
  for(int wait = 0; atomic_load(&fx->g.queued) < (int)fx->n; wait++) {
    if(wait == 5000)
      fail_msg("only %d of %zu savers queued after 5 s",
               atomic_load(&fx->g.queued), fx->n);
    usleep(1000);
  }
  commit_group_unlock(&fx->g);
  for(size_t i = 0; i < fx->n; i++)
    pthread_join(th[i], NULL);
  return fx->g.commits - before;
}

/* From a second connection: how many feeds have a stored ETag. */
static int64_t durable_etags(void)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int64_t n = -1;

  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT count(*) FROM feeds"
                                      " WHERE etag IS NOT NULL",
                                      -1, &st, NULL),
                   SQLITE_OK);
  if(sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

static void exec_other(const char *sql)
{
  sqlite3 *db = NULL;

  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static void test_alone_commits_at_once(void **state)
{
  struct fixture *fx = fixture_new(1);
  struct saver s = {&fx->g, fx->ids[0], "\"solo\"", 1, NULL};

  (void)state;
  save_one(&s);
  assert_int_equal(s.rc, 0);
  assert_int_equal(fx->g.commits, 1);
  assert_int_equal(durable_etags(), 1);
  assert_false(store_in_transaction(fx->store));
  fixture_free(fx);
}

static void test_queue_shares_one_commit(void **state)
{
  struct fixture *fx = fixture_new(8);
  struct saver s[8];

  (void)state;
  assert_int_equal(save_all_queued(fx, s), 1);
  for(int i = 0; i < 8; i++)
    assert_int_equal(s[i].rc, 0);
  assert_int_equal(durable_etags(), 8);
  assert_false(store_in_transaction(fx->store));
  fixture_free(fx);
}

static void test_full_group_commits(void **state)
{
  enum { N = COMMIT_GROUP_MAX + 6 };
  struct fixture *fx = fixture_new(N);
  struct saver s[N];

  (void)state;
  assert_int_equal(save_all_queued(fx, s), 2);
  for(int i = 0; i < N; i++)
    assert_int_equal(s[i].rc, 0);
  assert_int_equal(durable_etags(), N);
  fixture_free(fx);
}

/* A document of n entries for feed i. */
static struct feed *doc_of(size_t i, size_t n)
{
  struct feed *d = feed_new();

  assert_non_null(d);
  for(size_t k = 0; k < n; k++) {
    struct feed_entry *e = feed_add_entry(d);
    char buf[96];

    assert_non_null(e);
    snprintf(buf, sizeof(buf), "https://site.example/%zu/%zu", i, k);
    e->id = strdup(buf);
    e->link = strdup(buf);
    e->title = strdup("post");
    e->published = T0 - (int64_t)k * 60;
  }
  return d;
}

/* Big documents: a group is committed once it has written
 * COMMIT_GROUP_MAX_ENTRIES entries, savers in line or not. */
static void test_group_capped_by_entries(void **state)
{
  struct fixture *fx = fixture_new(8);
  struct saver s[8];
  pthread_t th[8];

  (void)state;
  /* save_all_queued with documents: 100 entries each, so the 3rd and the
   * 6th save close a group, and the 8th closes the last. */
  commit_group_lock(&fx->g);
  for(size_t i = 0; i < 8; i++) {
    s[i].g = &fx->g;
    s[i].id = fx->ids[i];
    s[i].rc = 1;
    s[i].doc = doc_of(i, 100);
    snprintf(s[i].etag, sizeof(s[i].etag), "\"e%zu\"", i);
    assert_int_equal(pthread_create(&th[i], NULL, save_one, &s[i]), 0);
  }
  for(int wait = 0; atomic_load(&fx->g.queued) < 8; wait++) {
    if(wait == 5000)
      fail_msg("savers did not queue");
    usleep(1000);
  }
  commit_group_unlock(&fx->g);
  for(size_t i = 0; i < 8; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(s[i].rc, 0);
    feed_free(s[i].doc);
  }
  assert_true(100 * 3 >= COMMIT_GROUP_MAX_ENTRIES);
  assert_int_equal(fx->g.commits, 3);
  assert_int_equal(durable_etags(), 8);
  fixture_free(fx);
}

static void test_failed_save_takes_nothing_else(void **state)
{
  struct fixture *fx = fixture_new(8);
  struct saver s[8];
  char sql[256];

  (void)state;
  snprintf(sql, sizeof(sql),
           "CREATE TRIGGER boom BEFORE UPDATE ON feeds WHEN new.id = %lld"
           " BEGIN SELECT RAISE(ABORT, 'injected'); END",
           (long long)fx->ids[3]);
  exec_other(sql);
  assert_int_equal(save_all_queued(fx, s), 1);
  for(int i = 0; i < 8; i++)
    if(i == 3)
      assert_true(s[i].rc < 0);
    else
      assert_int_equal(s[i].rc, 0);
  assert_int_equal(durable_etags(), 7);
  fixture_free(fx);
}

/* The lock for other users commits nothing when no group is open, and
 * the store is usable under it. */
static void test_lock_for_others(void **state)
{
  struct fixture *fx = fixture_new(2);
  struct store_feed *rows = NULL;
  size_t n = 0;

  (void)state;
  commit_group_lock(&fx->g);
  assert_int_equal(store_list_feeds(fx->store, &rows, &n), 0);
  commit_group_unlock(&fx->g);
  assert_int_equal(n, 2);
  assert_int_equal(fx->g.commits, 0);
  store_feeds_free(rows, n);
  fixture_free(fx);
}

static int group_setup(void **state)
{
  (void)state;
  log_set_level(LOG_LEVEL_ERROR);
  return mkdtemp(dir) ? 0 : -1;
}

static int group_teardown(void **state)
{
  char wal[300], shm[300];

  (void)state;
  snprintf(wal, sizeof(wal), "%s-wal", path);
  snprintf(shm, sizeof(shm), "%s-shm", path);
  unlink(path);
  unlink(wal);
  unlink(shm);
  return rmdir(dir);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_alone_commits_at_once),
      cmocka_unit_test(test_queue_shares_one_commit),
      cmocka_unit_test(test_full_group_commits),
      cmocka_unit_test(test_group_capped_by_entries),
      cmocka_unit_test(test_failed_save_takes_nothing_else),
      cmocka_unit_test(test_lock_for_others),
  };

  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
