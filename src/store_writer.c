/*
 * store_writer.c: see store_writer.h.
 */
#include "store_writer.h"

#include "feed.h"

#include <errno.h>
#include <string.h>

/* Takes the next queued write, or NULL. */
static struct store_write *take_pending(struct store_writer *w)
{
  struct store_write *item;

  uv_mutex_lock(&w->queue);
  item = w->pending;
  if(item) {
    w->pending = item->next;
    if(!w->pending)
      w->pending_tail = &w->pending;
    item->next = NULL;
  }
  uv_mutex_unlock(&w->queue);
  return item;
}

/* The writer's thread, before a transaction: the WAL starts over only at a
 * commit that finds it all copied back, so when the checkpointer falls
 * far behind, wait for it rather than let the WAL grow without bound. */
static void keep_wal_bounded(struct store_writer *w)
{
  if(store_wal_pages(w->store) < 4 * w->checkpoint_pages)
    return;
  uv_mutex_lock(&w->queue);
  while(w->checkpoint_wanted || w->checkpointing)
    uv_cond_wait(&w->checkpoint_done, &w->queue);
  uv_mutex_unlock(&w->queue);
}

/* The writer's thread, after a commit. */
static void ask_for_checkpoint(struct store_writer *w)
{
  if(store_wal_pages(w->store) < w->checkpoint_pages)
    return;
  uv_mutex_lock(&w->queue);
  if(!w->checkpoint_wanted) {
    w->checkpoint_wanted = true;
    uv_cond_signal(&w->checkpoint_wake);
  }
  uv_mutex_unlock(&w->queue);
}

static void checkpoint_thread(void *arg)
{
  struct store_writer *w = arg;

  uv_mutex_lock(&w->queue);
  for(;;) {
    while(!w->checkpoint_wanted && !w->checkpoint_stopping)
      uv_cond_wait(&w->checkpoint_wake, &w->queue);
    if(!w->checkpoint_wanted)
      break; /* stopping; the store's close checkpoints what is left */
    w->checkpoint_wanted = false;
    w->checkpointing = true;
    uv_mutex_unlock(&w->queue);
    /* Opened when first needed: a cycle of 304s never needs it. */
    if(w->checkpointer ||
       store_checkpointer_open(w->store, &w->checkpointer) == 0)
      store_checkpoint(w->checkpointer);
    uv_mutex_lock(&w->queue);
    w->checkpointing = false;
    w->checkpoints++;
    uv_cond_broadcast(&w->checkpoint_done);
  }
  uv_mutex_unlock(&w->queue);
}

/* Writes one transaction of what is queued (up to the caps) and hands the
 * writes over to the loop thread. The writer's thread. */
static void write_batch(struct store_writer *w)
{
  struct store_write *batch = NULL, **tail = &batch, *item;
  size_t fetches = 0, entries = 0;
  int rc;

  keep_wal_bounded(w);
  uv_mutex_lock(&w->lock);
  rc = store_begin(w->store);
  /* After some errors SQLite rolls the whole transaction back by itself:
   * the batch ends there, and its commit reports the failure. */
  while(fetches < STORE_WRITER_MAX_FETCHES &&
        entries < STORE_WRITER_MAX_ENTRIES &&
        (rc != 0 || store_in_transaction(w->store)) &&
        (item = take_pending(w))) {
    item->rc = rc;
    if(rc == 0)
      item->rc = store_save_fetch(w->store, item->feed_id, &item->fetch,
                                  &item->saved);
    if(item->rc == 0)
      entries += item->saved.new_entries + item->saved.updated_entries;
    feed_free((struct feed *)item->fetch.feed); /* handed over: ours */
    item->fetch.feed = NULL;
    *tail = item;
    tail = &item->next;
    fetches++;
    if(rc != 0)
      break; /* no transaction: fail one write, try afresh for the next */
  }
  if(rc == 0) {
    rc = store_commit(w->store);
    for(item = batch; item; item = item->next)
      if(item->rc == 0)
        item->rc = rc;
  }
  uv_mutex_unlock(&w->lock);
  ask_for_checkpoint(w);

  uv_mutex_lock(&w->queue);
  w->commits++;
  if(batch) {
    *w->finished_tail = batch;
    w->finished_tail = tail;
  }
  uv_mutex_unlock(&w->queue);
  uv_async_send(&w->written);
}

static void writer_thread(void *arg)
{
  struct store_writer *w = arg;

  uv_mutex_lock(&w->queue);
  for(;;) {
    while(!w->pending && !w->stopping)
      uv_cond_wait(&w->wake, &w->queue);
    if(!w->pending)
      break; /* stopping, and nothing left */
    uv_mutex_unlock(&w->queue);
    write_batch(w);
    uv_mutex_lock(&w->queue);
  }
  uv_mutex_unlock(&w->queue);
}

/* Loop thread: reports the finished writes. */
static void on_written(uv_async_t *h)
{
  struct store_writer *w = h->data;
  struct store_write *item, *next;

  uv_mutex_lock(&w->queue);
  item = w->finished;
  w->finished = NULL;
  w->finished_tail = &w->finished;
  uv_mutex_unlock(&w->queue);
  for(; item; item = next) {
    next = item->next;
    if(--w->outstanding == 0)
      uv_unref((uv_handle_t *)&w->written);
    w->done(item, w->data);
  }
}

static void stop_checkpoints(struct store_writer *w)
{
  uv_mutex_lock(&w->queue);
  w->checkpoint_stopping = true;
  uv_cond_signal(&w->checkpoint_wake);
  uv_mutex_unlock(&w->queue);
  uv_thread_join(&w->checkpoint_thread);
}

/* Once the threads are gone. */
static void release(struct store_writer *w)
{
  uv_cond_destroy(&w->checkpoint_done);
  uv_cond_destroy(&w->checkpoint_wake);
  uv_cond_destroy(&w->wake);
  uv_mutex_destroy(&w->queue);
  uv_mutex_destroy(&w->lock);
  store_checkpointer_close(w->checkpointer);
  w->checkpointer = NULL;
  uv_close((uv_handle_t *)&w->written, NULL);
}

int store_writer_start(struct store_writer *w, uv_loop_t *loop,
                       struct store *store, store_write_done done,
                       void *data)
{
  int rc;

  memset(w, 0, sizeof(*w));
  w->store = store;
  w->done = done;
  w->data = data;
  w->pending_tail = &w->pending;
  w->finished_tail = &w->finished;
  w->checkpoint_pages = STORE_WRITER_CHECKPOINT_PAGES;
  rc = uv_async_init(loop, &w->written, on_written);
  if(rc != 0)
    return rc;
  w->written.data = w;
  uv_unref((uv_handle_t *)&w->written);
  uv_mutex_init(&w->lock);
  uv_mutex_init(&w->queue);
  uv_cond_init(&w->wake);
  uv_cond_init(&w->checkpoint_wake);
  uv_cond_init(&w->checkpoint_done);
  store_defer_checkpoints(store);
  rc = uv_thread_create(&w->checkpoint_thread, checkpoint_thread, w);
  if(rc == 0) {
    rc = uv_thread_create(&w->thread, writer_thread, w);
    if(rc != 0)
      stop_checkpoints(w);
  }
  if(rc != 0)
    release(w);
  return rc;
}

void store_writer_submit(struct store_writer *w, struct store_write *item)
{
  item->next = NULL;
  item->rc = -EINPROGRESS;
  if(w->outstanding++ == 0)
    uv_ref((uv_handle_t *)&w->written);
  uv_mutex_lock(&w->queue);
  *w->pending_tail = item;
  w->pending_tail = &item->next;
  uv_cond_signal(&w->wake);
  uv_mutex_unlock(&w->queue);
}

void store_writer_stop(struct store_writer *w)
{
  /* The writer first: it may still ask for a checkpoint. */
  uv_mutex_lock(&w->queue);
  w->stopping = true;
  uv_cond_signal(&w->wake);
  uv_mutex_unlock(&w->queue);
  uv_thread_join(&w->thread);
  stop_checkpoints(w);
  release(w);
}

void store_writer_lock(struct store_writer *w)
{
  uv_mutex_lock(&w->lock);
}

void store_writer_unlock(struct store_writer *w)
{
  uv_mutex_unlock(&w->lock);
}
