/*
 * test_store_writer.c: the store writer on a real SQLite file, its real
 * thread and a real libuv loop. The test holds the store's lock while it
 * submits, so which writes share a transaction is known: everything
 * queued goes into one, a transaction is closed at the caps, and a save
 * that fails (a trigger aborts it) takes nothing else with it. Durability
 * is checked from a second connection, which sees committed data only,
 * from inside the done callback: done means durable.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"
#include "feed.h"
#include "log.h"
#include "store.h"
#include "store_writer.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#define T0 INT64_C(1717200000)
#define MAX_FEEDS (STORE_WRITER_MAX_FETCHES + 8)

static char dir[] = "/tmp/freshet-test-writer-XXXXXX";
static char path[256];

static int64_t durable_etags(void);

struct fixture {
  uv_loop_t loop;
  struct store *store;
  struct store_writer w;
  int64_t ids[MAX_FEEDS];
  size_t n;
  struct store_write writes[MAX_FEEDS];
  char etags[MAX_FEEDS][32];
  size_t reported;
  int64_t durable_at_done[MAX_FEEDS]; /* durable ETags seen by each done */
};

static void on_done(struct store_write *w, void *data)
{
  struct fixture *fx = data;
  size_t i = (size_t)(w - fx->writes);

  assert_true(i < fx->n);
  assert_null(w->fetch.feed); /* the writer freed the document */
  fx->durable_at_done[i] = durable_etags();
  fx->reported++;
}

/* A store with n subscriptions f000..f(n-1) and a running writer. */
static struct fixture *fixture_new(size_t n)
{
  struct fixture *fx = calloc(1, sizeof(*fx));
  struct config cfg;
  struct config_feed *cf = calloc(n, sizeof(*cf));
  char(*names)[16] = calloc(n, 16), (*urls)[48] = calloc(n, 48), err[256];
  struct store_feed *rows = NULL;
  size_t nrows = 0;

  assert_non_null(fx);
  assert_non_null(cf);
  assert_non_null(names);
  assert_non_null(urls);
  assert_true(n <= MAX_FEEDS);
  snprintf(path, sizeof(path), "%s/db.sqlite", dir);
  unlink(path);
  assert_int_equal(store_open(path, &fx->store, err, sizeof(err)), 0);
  for(size_t i = 0; i < n; i++) {
    snprintf(names[i], 16, "f%03zu", i);
    snprintf(urls[i], 48, "http://127.0.0.1:9/%zu.xml", i);
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
    fx->ids[i] = rows[i].id; /* ordered by name: f000, f001, ... */
  store_feeds_free(rows, nrows);
  free(cf);
  free(names);
  free(urls);
  fx->n = n;
  assert_int_equal(uv_loop_init(&fx->loop), 0);
  assert_int_equal(
      store_writer_start(&fx->w, &fx->loop, fx->store, on_done, fx), 0);
  return fx;
}

static void fixture_free(struct fixture *fx)
{
  store_writer_stop(&fx->w);
  assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&fx->loop), 0);
  store_close(fx->store);
  free(fx);
}

/* Write i: a 304 with an ETag, or a 200 with doc. */
static struct store_write *write_of(struct fixture *fx, size_t i,
                                    struct feed *doc)
{
  struct store_write *w = &fx->writes[i];

  memset(w, 0, sizeof(*w));
  snprintf(fx->etags[i], sizeof(fx->etags[i]), "\"e%zu\"", i);
  w->feed_id = fx->ids[i];
  w->fetch.fetched_at = T0;
  w->fetch.status = doc ? 200 : 304;
  w->fetch.feed = doc;
  w->fetch.etag = fx->etags[i];
  w->fetch.next_due = T0 + 1800;
  w->fetch.interval = 1800;
  return w;
}

/* Submits a write per feed (documents from docs when given) while
 * holding the store's lock, so the writer finds them all queued; runs
 * the loop until every one is reported; returns the transactions taken. */
static uint64_t write_all_queued(struct fixture *fx, struct feed **docs)
{
  store_writer_lock(&fx->w);
  for(size_t i = 0; i < fx->n; i++)
    store_writer_submit(&fx->w, write_of(fx, i, docs ? docs[i] : NULL));
  store_writer_unlock(&fx->w);
  assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(fx->reported, fx->n);
  return fx->w.commits;
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

  (void)state;
  store_writer_submit(&fx->w, write_of(fx, 0, NULL));
  assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(fx->reported, 1);
  assert_int_equal(fx->writes[0].rc, 0);
  assert_int_equal(fx->w.commits, 1);
  assert_int_equal(fx->durable_at_done[0], 1);
  assert_false(store_in_transaction(fx->store));
  fixture_free(fx);
}

static void test_queue_shares_one_commit(void **state)
{
  struct fixture *fx = fixture_new(8);

  (void)state;
  assert_int_equal(write_all_queued(fx, NULL), 1);
  for(int i = 0; i < 8; i++) {
    assert_int_equal(fx->writes[i].rc, 0);
    assert_int_equal(fx->durable_at_done[i], 8);
  }
  assert_false(store_in_transaction(fx->store));
  fixture_free(fx);
}

static void test_full_batch_commits(void **state)
{
  enum { N = STORE_WRITER_MAX_FETCHES + 6 };
  struct fixture *fx = fixture_new(N);

  (void)state;
  assert_int_equal(write_all_queued(fx, NULL), 2);
  for(int i = 0; i < N; i++)
    assert_int_equal(fx->writes[i].rc, 0);
  /* The first transaction's writes are reported once it is durable. */
  assert_true(fx->durable_at_done[0] >= STORE_WRITER_MAX_FETCHES);
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

/* Big documents: a transaction is committed once it has written
 * STORE_WRITER_MAX_ENTRIES entries, more queued or not. */
static void test_batch_capped_by_entries(void **state)
{
  struct fixture *fx = fixture_new(8);
  struct feed *docs[8];

  (void)state;
  for(size_t i = 0; i < 8; i++)
    docs[i] = doc_of(i, 100);
  /* 100 entries each: the 3rd and the 6th write close a transaction, and
   * the 8th closes the last. */
  assert_true(100 * 3 >= STORE_WRITER_MAX_ENTRIES &&
              100 * 2 < STORE_WRITER_MAX_ENTRIES);
  assert_int_equal(write_all_queued(fx, docs), 3);
  for(size_t i = 0; i < 8; i++) {
    assert_int_equal(fx->writes[i].rc, 0);
    assert_int_equal(fx->writes[i].saved.new_entries, 100);
  }
  /* Done means durable (the writer may be further on by then). */
  assert_true(fx->durable_at_done[0] >= 3);
  assert_int_equal(fx->durable_at_done[7], 8);
  fixture_free(fx);
}

static void test_failed_save_takes_nothing_else(void **state)
{
  struct fixture *fx = fixture_new(8);
  char sql[256];

  (void)state;
  snprintf(sql, sizeof(sql),
           "CREATE TRIGGER boom BEFORE UPDATE ON feeds WHEN new.id = %lld"
           " BEGIN SELECT RAISE(ABORT, 'injected'); END",
           (long long)fx->ids[3]);
  exec_other(sql);
  assert_int_equal(write_all_queued(fx, NULL), 1);
  for(int i = 0; i < 8; i++)
    if(i == 3)
      assert_true(fx->writes[i].rc < 0);
    else
      assert_int_equal(fx->writes[i].rc, 0);
  assert_int_equal(durable_etags(), 7);
  fixture_free(fx);
}

/* Checkpoints happen on the checkpointer's thread, asked for once the WAL
 * has checkpoint_pages pages; the data stays readable throughout. */
static void test_checkpoints_on_their_own_thread(void **state)
{
  struct fixture *fx = fixture_new(4);
  struct feed *docs[4];
  uint64_t done = 0;
  struct stat before, after;

  (void)state;
  assert_int_equal(stat(path, &before), 0);
  fx->w.checkpoint_pages = 1;
  for(size_t i = 0; i < 4; i++)
    docs[i] = doc_of(i, 20);
  assert_int_equal(write_all_queued(fx, docs), 1);
  for(int wait = 0; done == 0; wait++) {
    if(wait == 5000)
      fail_msg("no checkpoint after 5 s");
    uv_mutex_lock(&fx->w.queue);
    done = fx->w.checkpoints;
    uv_mutex_unlock(&fx->w.queue);
    if(done == 0)
      usleep(1000);
  }
  assert_true(store_wal_pages(fx->store) >= 1);
  /* The entries were copied into the database file itself. */
  assert_int_equal(stat(path, &after), 0);
  assert_true(after.st_size > before.st_size);
  assert_int_equal(durable_etags(), 4);
  fixture_free(fx);
}

/* The lock for other users: the store is usable under it, and an idle
 * writer neither writes nor keeps the loop alive. */
static void test_lock_for_others(void **state)
{
  struct fixture *fx = fixture_new(2);
  struct store_feed *rows = NULL;
  size_t n = 0;

  (void)state;
  store_writer_lock(&fx->w);
  assert_int_equal(store_list_feeds(fx->store, &rows, &n), 0);
  store_writer_unlock(&fx->w);
  assert_int_equal(n, 2);
  assert_int_equal(uv_run(&fx->loop, UV_RUN_NOWAIT), 0);
  assert_int_equal(fx->w.commits, 0);
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
      cmocka_unit_test(test_full_batch_commits),
      cmocka_unit_test(test_batch_capped_by_entries),
      cmocka_unit_test(test_failed_save_takes_nothing_else),
      cmocka_unit_test(test_checkpoints_on_their_own_thread),
      cmocka_unit_test(test_lock_for_others),
  };

  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
