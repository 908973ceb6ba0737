/*
 * store.h: the SQLite database: subscriptions' fetch state, entries stored
 * once each (dedup within and across feeds), tombstones, retention.
 * Every stored fetch is one transaction: entries and validators commit
 * together or not at all.
 */
#ifndef FRESHET_STORE_H
#define FRESHET_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct config;
struct feed;
struct store;

/* A subscription's row in the feeds table. Strings NULL when unknown;
 * times in UTC seconds, 0 when never. Filled by the store; free the
 * strings with store_feed_clear. */
struct store_feed {
  int64_t id;
  char *name;
  char *url;       /* as configured */
  char *fetch_url; /* what is fetched now (after permanent redirects) */
  char *title;
  char *link;
  char *etag;
  char *last_modified;
  int64_t last_fetch;
  int last_status; /* HTTP status; 0 none; negative: transport error */
  int error_count; /* consecutive failures */
  char *last_error;
  int64_t next_due;
  int64_t interval;      /* current polling interval, seconds */
  char *disabled_reason; /* NULL when active */
  int64_t ttl;           /* publisher hints, seconds, 0 none */
  int64_t update_period;
  char *redirect_url; /* a permanent redirect seen redirect_count times */
  int redirect_count;
  bool key_by_link; /* guids found to change on every fetch */
  int64_t entries;  /* stored entries */
};

/* What one fetch of a feed brought, stored by store_save_fetch. */
struct store_fetch {
  int64_t fetched_at;
  int status;        /* HTTP status, or negative transport error */
  const char *error; /* NULL on success */
  const char *etag;  /* validators as received; NULL: none */
  const char *last_modified;
  const struct feed *feed; /* the parsed document; NULL on 304 or error */
  /* Scheduling decided by the caller. */
  int64_t next_due;
  int64_t interval;
  int error_count;
  const char *disabled_reason; /* non-NULL disables the feed */
  const char *fetch_url;       /* non-NULL: new permanent URL */
  const char *redirect_url;    /* permanent redirect being counted */
  int redirect_count;
};

struct store_save_result {
  size_t new_entries;
  size_t updated_entries;
  size_t deleted_entries; /* by retention */
};

/* Opens (creating when missing) the database at path: WAL, foreign keys,
 * busy timeout, schema migrated forward to the current version. A file
 * that is not a freshet database, or is newer than this program, is left
 * untouched. Returns 0 and *out; or a negative code with the reason in err
 * (naming path). */
int store_open(const char *path, struct store **out, char *err, size_t errlen);

/* Closes the database; NULL is fine. */
void store_close(struct store *store);

/* The schema version this program writes (PRAGMA user_version). */
int store_schema_version(void);

/* Retention rules applied by store_save_fetch (0 = keep). */
void store_set_retention(struct store *store, long days, long per_feed);

/* Makes the feeds table follow the subscriptions: adds new names (due at
 * once: next_due 0), updates changed URLs (resetting fetch_url,
 * validators and redirect state), deletes feeds no longer configured
 * (with their entries). Returns 0 or a negative code. */
int store_sync_feeds(struct store *store, const struct config *cfg);

/* Loads one feed by name. Returns 0, -ENOENT, or a negative code. */
int store_get_feed(struct store *store, const char *name,
                   struct store_feed *out);

/* Loads every feed, ordered by name. Returns 0 and a malloc'd array (free
 * with store_feeds_free), or a negative code. */
int store_list_feeds(struct store *store, struct store_feed **out, size_t *n);

void store_feed_clear(struct store_feed *f);
void store_feeds_free(struct store_feed *feeds, size_t n);

/* Stores the result of one fetch of feed feed_id in one transaction:
 * fetch state and scheduling always; validators only on 2xx/304; the
 * parsed entries with dedup (key: guid/atom:id, else link, else title and
 * date; per feed; switches the feed to link keys when its guids are found
 * to change on every fetch), unchanged entries not written; retention
 * (except entries in this document), with tombstones so deleted keys never
 * return as new. On any error nothing of it is kept. Returns 0 and fills
 * result (may be NULL), or a negative code. */
int store_save_fetch(struct store *store, int64_t feed_id,
                     const struct store_fetch *fetch,
                     struct store_save_result *result);

/* Opens a write transaction that the next store_save_fetch calls join
 * (each of them still all or nothing, as a savepoint) until
 * store_commit, which makes them durable together or, failing, drops them
 * all. Other store calls must not be made while it is open. Return 0 or a
 * negative code. */
int store_begin(struct store *store);
int store_commit(struct store *store);

/* Whether a store_begin transaction is open. */
bool store_in_transaction(const struct store *store);

/* Checkpoints on another thread. From this call on, commits on store no
 * longer copy the WAL back into the database themselves (SQLite's
 * auto-checkpoint, which makes the committing thread pay for it); instead
 * store_wal_pages tells how long the WAL has grown, and store_checkpoint
 * copies it back from a connection of its own without blocking the
 * writer. The WAL starts over at a commit that finds it all copied back. */
void store_defer_checkpoints(struct store *store);

/* Opens that connection. Returns 0 and *out, or a negative code. */
struct store_checkpointer;
int store_checkpointer_open(struct store *store,
                            struct store_checkpointer **out);
/* A passive checkpoint (any one thread at a time). Returns 0 or a negative
 * code. */
int store_checkpoint(struct store_checkpointer *c);
/* Closes the checkpointer's connection; NULL is fine. The store's last
 * close still checkpoints what is left. */
void store_checkpointer_close(struct store_checkpointer *c);
/* Pages in the WAL after the last commit, once checkpoints are deferred. */
int store_wal_pages(const struct store *store);

/* One entry as the publisher shows it, with its source feed. */
struct store_item {
  int64_t id;
  char *key;
  char *guid; /* the entry's own id (guid / atom:id), as parsed */
  char *title;
  char *link;
  char *author;
  char *summary;
  char *content;
  char *image;
  char **categories;
  size_t ncategories;
  struct feed_enclosure *enclosures;
  size_t nenclosures;
  int64_t published; /* FEED_NO_DATE when the feed gave none */
  int64_t updated;   /* FEED_NO_DATE when the feed gave none */
  int64_t first_seen;
  int64_t date; /* effective: published, never after first_seen */
  char *feed_name;
  char *feed_title; /* the feed's own title, or its configured one */
  char *feed_link;
  char *feed_url;
};

/* The newest limit items across all feeds (or only feed_name when not
 * NULL) by effective date, newest first, with cross-feed duplicates (same
 * canonical link) shown once, from their earliest-seen source. Returns 0
 * and a malloc'd array (free with store_items_free), or a negative code. */
int store_items(struct store *store, size_t limit, const char *feed_name,
                struct store_item **out, size_t *n);

void store_items_free(struct store_item *items, size_t n);

#endif
