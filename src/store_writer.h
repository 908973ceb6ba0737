/*
 * store_writer.h: the daemon's one writer of the database.
 *
 * Fetch results are handed over on the loop thread and queue up; one work
 * item on the libuv thread pool at a time saves what is queued in one
 * transaction (each fetch a savepoint, so a failed save takes nothing else
 * with it) and commits. The loop thread hears of each fetch after the
 * commit, so "done" means durable, exactly as with a transaction of its
 * own.
 *
 * Why one writer: a SQLite commit writes every page it touched to the WAL,
 * which is most of the cost of storing a 304, and worker threads that each
 * commit their own fetch wait on each other for the database instead of
 * parsing. With one writer, whatever arrives while a transaction is being
 * written goes into the next one, so batches grow with the load by
 * themselves, and parsing never waits for the database.
 *
 * Copying the WAL back into the database (a checkpoint) is left to a
 * second thread with a connection of its own, so the one writer, the
 * bottleneck of a cold cycle, does not pay for it either.
 */
#ifndef FRESHET_STORE_WRITER_H
#define FRESHET_STORE_WRITER_H

#include "store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define STORE_WRITER_MAX_FETCHES 256 /* fetches in one transaction at most */
/* Entries written in one transaction before it is committed even with
 * more queued: a bigger one outgrows SQLite's page cache, which then
 * spills to the WAL before the commit and costs more than it saves. */
#define STORE_WRITER_MAX_ENTRIES 256
/* A checkpoint is asked for once the WAL has this many pages (64 MiB of
 * 16 KiB pages); the writer waits for the checkpointer to catch up at
 * four times as many, so that the WAL can start over. */
#define STORE_WRITER_CHECKPOINT_PAGES 4000

/* One fetch to save. The caller fills feed_id and fetch and keeps the item
 * (and what fetch points to) alive until done is called; the writer frees
 * fetch.feed (the parsed document) once it is saved and sets it to NULL. */
struct store_write {
  struct store_write *next; /* the writer's */
  int64_t feed_id;
  struct store_fetch fetch;
  /* Set before done is called: */
  int rc; /* 0 when durable, else a negative code: nothing of it stored */
  struct store_save_result saved;
};

/* Called on the loop thread for each write once its transaction ended. */
typedef void (*store_write_done)(struct store_write *w, void *data);

struct store_writer {
  struct store *store;
  store_write_done done;
  void *data;
  uv_thread_t thread;
  uv_thread_t checkpoint_thread;
  struct store_checkpointer *checkpointer;
  int checkpoint_pages; /* STORE_WRITER_CHECKPOINT_PAGES; tests lower it */
  uv_async_t written; /* wakes the loop for finished writes */
  uv_mutex_t lock;    /* held by every use of the store's connection */
  uv_mutex_t queue;   /* guards what follows, up to outstanding */
  uv_cond_t wake;
  uv_cond_t checkpoint_wake, checkpoint_done;
  struct store_write *pending, **pending_tail;
  struct store_write *finished, **finished_tail;
  bool stopping;
  bool checkpoint_wanted, checkpointing, checkpoint_stopping;
  uint64_t commits;     /* transactions ended, for tests */
  uint64_t checkpoints; /* checkpoints run, for tests */
  size_t outstanding; /* submitted, not yet reported; loop thread only */
};

/* Starts the writer's threads. Returns 0 or a negative code. */
int store_writer_start(struct store_writer *w, uv_loop_t *loop,
                       struct store *store, store_write_done done,
                       void *data);

/* Queues a write (loop thread). Outstanding writes keep the loop alive. */
void store_writer_submit(struct store_writer *w, struct store_write *item);

/* Stops the threads and closes the handle (loop thread, nothing
 * outstanding); the loop must run once more before it is closed. */
void store_writer_stop(struct store_writer *w);

/* For every other use of the store (any thread): waits for the
 * transaction being written, if any, and keeps the writer out until
 * unlocked. */
void store_writer_lock(struct store_writer *w);
void store_writer_unlock(struct store_writer *w);

#endif
