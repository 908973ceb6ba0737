/*
 * store_writer.c: see store_writer.h.
 */
#include "store_writer.h"

#include "feed.h"

#include <errno.h>

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

/* Writes one transaction of what is queued (up to the caps) and hands the
 * writes over to the loop thread. The writer's thread. */
static void write_batch(struct store_writer *w)
{
  struct store_write *batch = NULL, **tail = &batch, *item;
  size_t fetches = 0, entries = 0;
  int rc;

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

int store_writer_start(struct store_writer *w, uv_loop_t *loop,
                       struct store *store, store_write_done done,
                       void *data)
{
  int rc;

  w->store = store;
  w->done = done;
  w->data = data;
  w->pending = NULL;
  w->pending_tail = &w->pending;
  w->finished = NULL;
  w->finished_tail = &w->finished;
  w->stopping = false;
  w->commits = 0;
  w->outstanding = 0;
  rc = uv_async_init(loop, &w->written, on_written);
  if(rc != 0)
    return rc;
  w->written.data = w;
  uv_unref((uv_handle_t *)&w->written);
  uv_mutex_init(&w->lock);
  uv_mutex_init(&w->queue);
  uv_cond_init(&w->wake);
  rc = uv_thread_create(&w->thread, writer_thread, w);
  if(rc != 0) {
    uv_cond_destroy(&w->wake);
    uv_mutex_destroy(&w->queue);
    uv_mutex_destroy(&w->lock);
    uv_close((uv_handle_t *)&w->written, NULL);
  }
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
  uv_mutex_lock(&w->queue);
  w->stopping = true;
  uv_cond_signal(&w->wake);
  uv_mutex_unlock(&w->queue);
  uv_thread_join(&w->thread);
  uv_cond_destroy(&w->wake);
  uv_mutex_destroy(&w->queue);
  uv_mutex_destroy(&w->lock);
  uv_close((uv_handle_t *)&w->written, NULL);
}

void store_writer_lock(struct store_writer *w)
{
  uv_mutex_lock(&w->lock);
}

void store_writer_unlock(struct store_writer *w)
{
  uv_mutex_unlock(&w->lock);
}
