/*
 * commit_group.c: see commit_group.h.
 *
 * Why the last saver in line always commits: a saver counts itself in
 * `queued` before it asks for the lock and out again once it holds it.
 * After saving, it commits unless `queued` says another saver is on its
 * way; that one then finds the group open, joins it, and makes the same
 * decision. So a group is never left open with nobody to commit it, and
 * anyone else who takes the lock (publishing, a reload) commits an open
 * group first.
 */
#include "commit_group.h"

#include <string.h>

struct commit_member {
  int rc;
  bool done;
};

void commit_group_init(struct commit_group *g, struct store *store)
{
  g->store = store;
  uv_mutex_init(&g->lock);
  uv_cond_init(&g->committed);
  atomic_init(&g->queued, 0);
  g->nmembers = 0;
  g->nentries = 0;
  g->commits = 0;
}

void commit_group_destroy(struct commit_group *g)
{
  uv_cond_destroy(&g->committed);
  uv_mutex_destroy(&g->lock);
}

/* Commits the open group (the lock held) and wakes its members. */
static void commit_open_group(struct commit_group *g)
{
  int rc;

  if(g->nmembers == 0)
    return;
  rc = store_commit(g->store);
  for(size_t i = 0; i < g->nmembers; i++) {
    struct commit_member *m = g->members[i];

    if(m->rc == 0)
      m->rc = rc;
    m->done = true;
  }
  g->nmembers = 0;
  g->nentries = 0;
  g->commits++;
  uv_cond_broadcast(&g->committed);
}

int commit_group_save(struct commit_group *g, int64_t feed_id,
                      const struct store_fetch *fetch,
                      struct store_save_result *result)
{
  struct commit_member me = {0, false};

  atomic_fetch_add(&g->queued, 1);
  uv_mutex_lock(&g->lock);
  atomic_fetch_sub(&g->queued, 1);
  /* After some errors SQLite rolls back the whole transaction itself:
   * that group failed (its commit says so), a new one starts. */
  if(g->nmembers > 0 && !store_in_transaction(g->store))
    commit_open_group(g);
  if(g->nmembers == 0)
    me.rc = store_begin(g->store);
  if(me.rc == 0) {
    struct store_save_result saved;

    me.rc = store_save_fetch(g->store, feed_id, fetch, &saved);
    g->members[g->nmembers++] = &me;
    if(me.rc == 0) {
      g->nentries += saved.new_entries + saved.updated_entries;
      if(result)
        *result = saved;
    }
    if(atomic_load(&g->queued) == 0 || g->nmembers == COMMIT_GROUP_MAX ||
       g->nentries >= COMMIT_GROUP_MAX_ENTRIES)
      commit_open_group(g);
  } else {
    me.done = true; /* no transaction: nothing of it was stored */
  }
  while(!me.done)
    uv_cond_wait(&g->committed, &g->lock);
  uv_mutex_unlock(&g->lock);
  if(me.rc != 0 && result)
    memset(result, 0, sizeof(*result));
  return me.rc;
}

void commit_group_lock(struct commit_group *g)
{
  uv_mutex_lock(&g->lock);
  commit_open_group(g);
}

void commit_group_unlock(struct commit_group *g)
{
  uv_mutex_unlock(&g->lock);
}
