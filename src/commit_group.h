/*
 * commit_group.h: group commit of the daemon's fetch results.
 *
 * Worker threads store one fetch each (store_save_fetch) under one lock.
 * One SQLite commit per fetch costs a WAL write of every page touched,
 * which dominates a cycle of 304s; so saves that queue up behind each
 * other share one transaction, committed by the last saver in line (or
 * when the group is full). Every saver waits for the commit of its group
 * and returns the true outcome: its result is durable when it returns 0,
 * exactly as with a transaction of its own.
 */
#ifndef FRESHET_COMMIT_GROUP_H
#define FRESHET_COMMIT_GROUP_H

#include "store.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define COMMIT_GROUP_MAX 64 /* fetches in one transaction at most */
/* Entries written in one transaction before it is committed even with
 * savers in line: a bigger one outgrows SQLite's page cache (2 MiB), which
 * then spills to the WAL before the commit and costs more than it saves. */
#define COMMIT_GROUP_MAX_ENTRIES 256

struct commit_member;

struct commit_group {
  struct store *store;
  uv_mutex_t lock; /* held by every user of the store */
  uv_cond_t committed;
  atomic_int queued; /* savers that want the lock to save */
  struct commit_member *members[COMMIT_GROUP_MAX]; /* in the open group */
  size_t nmembers;
  size_t nentries;  /* entries written by the open group */
  uint64_t commits; /* transactions committed or failed, for tests */
};

void commit_group_init(struct commit_group *g, struct store *store);
void commit_group_destroy(struct commit_group *g);

/* Stores one fetch as part of a group and waits for the group's commit.
 * Returns 0 and fills result (may be NULL) once it is durable, or a
 * negative code when it is not stored. Any thread. */
int commit_group_save(struct commit_group *g, int64_t feed_id,
                      const struct store_fetch *fetch,
                      struct store_save_result *result);

/* For every other use of the store: takes the lock with no group open
 * (an open one is committed first), and gives it back. */
void commit_group_lock(struct commit_group *g);
void commit_group_unlock(struct commit_group *g);

#endif
