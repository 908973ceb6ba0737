/*
 * daemon.c: the service. One libuv loop on the main thread owns the
 * schedule (a heap of due times behind one timer), the fetcher (curl multi)
 * and the signals; each fetched document is parsed on the libuv thread
 * pool, and every fetch result is stored by the one store writer
 * (store_writer.h), which batches whatever waits into one transaction.
 */
#include "daemon.h"

#include "config.h"
#include "feed.h"
#include "fetch.h"
#include "http.h"
#include "log.h"
#include "parse.h"
#include "publish.h"
#include "schedule.h"
#include "store.h"
#include "store_writer.h"
#include "strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

/* How long in-flight transfers get to finish after SIGTERM. */
#define SHUTDOWN_GRACE_MS 5000
/* feeds.d changes come in bursts (editors write temp files). */
#define RELOAD_DEBOUNCE_MS 500
/* A permanent redirect is believed after this many polls in a row. */
#define REDIRECT_CONFIRMATIONS 3
/* How fast never-fetched feeds are started on the first run. */
#define NEW_FEEDS_PER_SECOND 10
/* recent.json's "N mins ago" are refreshed at least this often. */
#define REPUBLISH_MS 60000

struct dfeed {
  int64_t id;
  char *name;
  char *url;       /* configured */
  char *fetch_url; /* what is fetched */
  char *etag;
  char *last_modified;
  char *redirect_url;
  int redirect_count;
  int error_count;
  int64_t interval;
  int64_t configured_interval;
  int64_t next_due;
  bool disabled;
  bool busy;    /* a fetch or its storing is in flight */
  bool removed; /* gone from the config; freed when not busy */
};

/* 429 from a host slows every feed on it until then. */
struct host_hold {
  char *host;
  int64_t until;
};

struct daemon {
  uv_loop_t *loop;
  enum daemon_mode mode;
  char *config_path;
  struct config *cfg;
  struct schedule_limits limits;
  struct store *store;
  struct store_writer writer; /* every use of the store goes through it */
  struct fetcher *fetcher;
  struct publish *publish;
  struct http *http;       /* NULL when listen is empty */
  struct http_stats stats; /* what /metrics and /healthz show */
  bool publish_failed;     /* the last full publication failed */

  struct dfeed **feeds; /* sorted by id */
  size_t nfeeds;
  struct schedule_heap heap;
  struct host_hold *holds;
  size_t nholds;
  size_t active;

  uv_timer_t due_timer;
  uv_timer_t grace_timer;
  uv_timer_t reload_timer;
  uv_timer_t republish_timer;
  uv_signal_t sig_term, sig_int, sig_hup, sig_usr1;
  uv_fs_event_t watch;
  bool watching;
  bool stopping;
  bool fetcher_closed;
  int exit_code;
  uint64_t rng;

  /* Per cycle, for the summary line. */
  struct {
    int64_t started;
    size_t fetched, not_modified, failed, new_entries, updated_entries;
    int64_t bytes;
    bool changed;
  } cycle;
};

struct job {
  uv_work_t work;
  struct daemon *d;
  struct dfeed *feed;
  struct fetch_result *res; /* a copy: the fetcher's lives in its callback */
  /* Decided once fetched (after parsing, for a document). */
  int64_t now;
  struct store_write write; /* what is stored, and how that went */
  char *problem;            /* what went wrong, for the feed's last_error */
  uint64_t rng;
};

static int64_t now_s(void)
{
  return (int64_t)time(NULL);
}

static char *dup_or_null(const char *s)
{
  return s ? strdup(s) : NULL;
}

static void replace(char **slot, const char *value)
{
  char *copy = dup_or_null(value);

  free(*slot);
  *slot = copy;
}

static void dfeed_free(struct dfeed *f)
{
  if(!f)
    return;
  free(f->name);
  free(f->url);
  free(f->fetch_url);
  free(f->etag);
  free(f->last_modified);
  free(f->redirect_url);
  free(f);
}

static struct dfeed *find_feed(struct daemon *d, int64_t id)
{
  size_t lo = 0;
  size_t hi = d->nfeeds;

  while(lo < hi) {
    size_t mid = (lo + hi) / 2;

    if(d->feeds[mid]->id == id)
      return d->feeds[mid];
    if(d->feeds[mid]->id < id)
      lo = mid + 1;
    else
      hi = mid;
  }
  return NULL;
}

static int by_id(const void *a, const void *b)
{
  const struct dfeed *x = *(struct dfeed *const *)a;
  const struct dfeed *y = *(struct dfeed *const *)b;

  return x->id < y->id ? -1 : x->id > y->id;
}

/* The host part of an http(s) URL, lower-cased, malloc'd. */
static char *url_host(const char *url)
{
  const char *p = strstr(url, "://");
  size_t n;
  char *h;

  p = p ? p + 3 : url;
  n = strcspn(p, "/?#");
  h = strndup(p, n);
  for(char *c = h; c && *c; c++)
    if(*c >= 'A' && *c <= 'Z')
      *c = (char)(*c - 'A' + 'a');
  return h;
}

static int64_t host_hold_until(struct daemon *d, const char *url)
{
  char *host = url_host(url);
  int64_t until = 0;

  for(size_t i = 0; host && i < d->nholds; i++)
    if(strcmp(d->holds[i].host, host) == 0)
      until = d->holds[i].until;
  free(host);
  return until;
}

static void host_hold(struct daemon *d, const char *url, int64_t until)
{
  char *host = url_host(url);
  struct host_hold *n;

  if(!host)
    return;
  for(size_t i = 0; i < d->nholds; i++)
    if(strcmp(d->holds[i].host, host) == 0) {
      if(until > d->holds[i].until)
        d->holds[i].until = until;
      free(host);
      return;
    }
  n = realloc(d->holds, (d->nholds + 1) * sizeof(*n));
  if(!n) {
    free(host);
    return;
  }
  d->holds = n;
  d->holds[d->nholds].host = host;
  d->holds[d->nholds].until = until;
  d->nholds++;
}

static void arm_due_timer(struct daemon *d);

/* Fetches started and not yet stored, at most: their documents wait in
 * memory for the thread pool. */
static size_t in_flight_limit(const struct daemon *d)
{
  return (size_t)d->cfg->concurrency * 2;
}
static void maybe_finish(struct daemon *d);

static void schedule_feed(struct daemon *d, struct dfeed *f)
{
  if(f->disabled || f->removed || d->stopping)
    return;
  if(schedule_push(&d->heap, f->next_due, f->id) != 0)
    log_errorx("out of memory scheduling a feed", "feed=%s", f->name);
}

static void job_free(struct job *j)
{
  fetch_result_free(j->res);
  free(j->problem);
  free((char *)j->write.fetch.fetch_url);
  free((char *)j->write.fetch.redirect_url);
  free(j);
}

static bool is_success(long status)
{
  return status >= 200 && status <= 299;
}

/* Entries dated within the week before now: the feed's posting rate. */
static long entries_last_week(const struct feed *feed, int64_t now)
{
  long n = 0;

  for(size_t i = 0; feed && i < feed->nentries; i++) {
    int64_t t = feed->entries[i].published;

    if(t != FEED_NO_DATE && t <= now && t > now - 7 * 86400)
      n++;
  }
  return n;
}

static bool needs_parse(const struct fetch_result *r)
{
  return r->error == 0 && is_success(r->status);
}

/* Worker thread: parses a fetched document into the write. */
static void parse_document(struct job *j)
{
  const struct fetch_result *r = j->res;
  struct store_fetch *sf = &j->write.fetch;
  struct feed *feed = NULL;
  char err[512];
  int rc = parse_feed(r->body, r->len, r->final_url, r->content_type, &feed,
                      err, sizeof(err));

  if(rc != 0) {
    j->problem = strdup(err);
  } else if(feed->truncated) {
    /* Cut short in transfer (a wrong Content-Length, a dropped
     * connection): a failed fetch. Storing part of it would store an
     * incomplete entry, and retention would take the missing ones for
     * gone. */
    j->problem = strdup("document truncated (ended inside an entry); "
                        "not stored");
    feed_free(feed);
  } else {
    sf->feed = feed;
    sf->etag = r->etag;
    sf->last_modified = r->last_modified;
  }
}

/* Decides what is stored for the fetch: its outcome, validators, redirect
 * state and schedule. On the loop thread, or on a worker after
 * parse_document; either way the feed's state is only read (the loop
 * changes it only once the fetch is done). */
static void prepare_write(struct job *j)
{
  const struct fetch_result *r = j->res;
  struct daemon *d = j->d;
  struct dfeed *f = j->feed;
  struct store_fetch *sf = &j->write.fetch;
  const struct feed *feed = sf->feed;
  int64_t hint;

  j->write.feed_id = f->id;
  j->now = now_s();
  sf->fetched_at = j->now;
  sf->status = r->error ? r->error : (int)r->status;
  sf->error_count = f->error_count;
  sf->interval = f->interval;
  sf->redirect_url = dup_or_null(f->redirect_url);
  sf->redirect_count = f->redirect_count;

  if(r->error) {
    j->problem = strdup(r->error_text ? r->error_text : "transfer failed");
  } else if(r->status == 304) {
    sf->etag = r->etag ? r->etag : f->etag;
    sf->last_modified = r->last_modified ? r->last_modified : f->last_modified;
  } else if(r->status == 410) {
    sf->disabled_reason = "410 Gone";
    if(asprintf(&j->problem, "HTTP 410 Gone: feed disabled") < 0)
      j->problem = NULL;
  } else if(!is_success(r->status)) {
    if(asprintf(&j->problem, "HTTP %ld", r->status) < 0)
      j->problem = NULL;
  }

  /* Permanent redirects are believed after several polls in a row. */
  if(!r->error && r->permanent_url && is_success(r->status)) {
    if(f->redirect_url && strcmp(f->redirect_url, r->permanent_url) == 0) {
      sf->redirect_count = f->redirect_count + 1;
    } else {
      free((char *)sf->redirect_url);
      sf->redirect_url = strdup(r->permanent_url);
      sf->redirect_count = 1;
    }
    if(sf->redirect_count >= REDIRECT_CONFIRMATIONS) {
      sf->fetch_url = strdup(r->permanent_url);
      free((char *)sf->redirect_url);
      sf->redirect_url = NULL;
      sf->redirect_count = 0;
    }
  } else if(!r->error && (r->status == 304 || is_success(r->status))) {
    free((char *)sf->redirect_url);
    sf->redirect_url = NULL;
    sf->redirect_count = 0;
  }

  if(j->problem ||
     (r->error == 0 && !is_success(r->status) && r->status != 304)) {
    sf->error = j->problem ? j->problem : "failed";
    sf->error_count = f->error_count + 1;
    sf->interval = f->interval;
    sf->next_due = j->now + schedule_backoff(&d->limits, sf->error_count,
                                             r->retry_after, &j->rng);
  } else {
    hint = feed ? (feed->ttl > feed->update_period ? feed->ttl
                                                   : feed->update_period)
                : 0;
    if(r->max_age > hint)
      hint = r->max_age;
    sf->error_count = 0;
    if(feed)
      sf->interval = schedule_interval(&d->limits, f->configured_interval,
                                       entries_last_week(feed, j->now), hint);
    sf->next_due = j->now + sf->interval;
  }
}

static void parse_work(uv_work_t *w)
{
  struct job *j = w->data;

  parse_document(j);
  fetch_result_drop_body(j->res); /* not needed while it waits to be stored */
  prepare_write(j);
}

static void parse_done(uv_work_t *w, int status)
{
  struct job *j = w->data;

  (void)status;
  store_writer_submit(&j->d->writer, &j->write);
}

static void log_fetch(const struct job *j)
{
  const struct fetch_result *r = j->res;
  const struct dfeed *f = j->feed;

  if(j->write.rc != 0)
    log_errorx("could not store the fetch", "feed=%s url=%s error=%d", f->name,
               f->fetch_url, j->write.rc);
  else if(j->problem)
    log_warnx("fetch failed",
              "feed=%s url=%s status=%ld error=\"%s\" errors=%d retry_in=%llds",
              f->name, f->fetch_url, r->status, j->problem, j->write.fetch.error_count,
              (long long)(j->write.fetch.next_due - j->now));
  else
    log_info("fetched",
             "feed=%s url=%s status=%ld bytes=%lld new=%zu updated=%zu "
             "duration=%.3f next_in=%llds",
             f->name, f->fetch_url, r->status, (long long)r->bytes,
             j->write.saved.new_entries, j->write.saved.updated_entries, r->seconds,
             (long long)(j->write.fetch.next_due - j->now));
}

static void count_fetch(struct daemon *d, const struct job *j)
{
  const struct fetch_result *r = j->res;
  d->stats.bytes += r->bytes;
  if(r->error)
    d->stats.fetches_error++;
  else if(r->status == 304)
    d->stats.fetches_304++;
  else if(r->status >= 200 && r->status <= 299)
    d->stats.fetches_2xx++;
  else if(r->status >= 500)
    d->stats.fetches_5xx++;
  else
    d->stats.fetches_4xx++;
  d->stats.entries_stored +=
      (int64_t)j->write.saved.new_entries - (int64_t)j->write.saved.deleted_entries;
}

/* Loop thread, once stored: take over the new state. */
static void on_stored(struct store_write *w, void *data)
{
  struct job *j = (struct job *)((char *)w - offsetof(struct job, write));
  const struct fetch_result *r = j->res;
  struct daemon *d = data;
  struct dfeed *f = j->feed;

  d->active--;
  f->busy = false;
  log_fetch(j);
  count_fetch(d, j);
  d->cycle.bytes += r->bytes;
  if(j->write.rc == 0) {
    if(j->problem)
      d->cycle.failed++;
    else if(r->status == 304)
      d->cycle.not_modified++;
    else
      d->cycle.fetched++;
    d->cycle.new_entries += j->write.saved.new_entries;
    d->cycle.updated_entries += j->write.saved.updated_entries;
    if(j->write.saved.new_entries || j->write.saved.updated_entries ||
       j->write.saved.deleted_entries)
      d->cycle.changed = true;
    f->error_count = j->write.fetch.error_count;
    f->interval = j->write.fetch.interval;
    f->next_due = j->write.fetch.next_due;
    f->redirect_count = j->write.fetch.redirect_count;
    replace(&f->redirect_url, j->write.fetch.redirect_url);
    if(j->write.fetch.fetch_url) {
      log_info("feed moved permanently", "feed=%s from=%s to=%s", f->name,
               f->fetch_url, j->write.fetch.fetch_url);
      replace(&f->fetch_url, j->write.fetch.fetch_url);
    }
    if(j->write.fetch.etag != f->etag)
      replace(&f->etag, j->write.fetch.etag);
    if(j->write.fetch.last_modified != f->last_modified)
      replace(&f->last_modified, j->write.fetch.last_modified);
    if(j->write.fetch.disabled_reason) {
      f->disabled = true;
      log_warnx("feed disabled", "feed=%s reason=\"%s\"", f->name,
                j->write.fetch.disabled_reason);
    }
  } else {
    d->cycle.failed++;
    f->next_due = now_s() + d->limits.min_interval;
  }
  if(r->status == 429 && !r->error) {
    int64_t until = now_s() + (r->retry_after > 0 ? r->retry_after
                                                  : d->limits.min_interval);

    host_hold(d, f->fetch_url, until);
  }
  job_free(j);
  if(f->removed) {
    dfeed_free(f);
  } else if(d->mode == DAEMON_RUN) {
    schedule_feed(d, f);
  }
  arm_due_timer(d);
  maybe_finish(d);
}

static void on_fetched(struct fetch_result *r, void *data)
{
  struct job *j = data;
  struct daemon *d = j->d;

  j->res = r->error == -ECANCELED ? NULL : fetch_result_keep(r);
  if(!j->res) {
    /* Shutting down (or out of memory): nothing to store. */
    if(r->error != -ECANCELED)
      log_errorx("out of memory keeping a fetched document", "feed=%s",
                 j->feed->name);
    d->active--;
    j->feed->busy = false;
    if(j->feed->removed)
      dfeed_free(j->feed);
    job_free(j);
    maybe_finish(d);
    return;
  }
  if(!needs_parse(j->res)) {
    prepare_write(j);
    store_writer_submit(&d->writer, &j->write);
    return;
  }
  j->work.data = j;
  if(uv_queue_work(d->loop, &j->work, parse_work, parse_done) != 0) {
    log_errorx("could not queue a fetched document", "feed=%s", j->feed->name);
    d->active--;
    j->feed->busy = false;
    job_free(j);
  }
}

static void start_fetch(struct daemon *d, struct dfeed *f)
{
  struct job *j = calloc(1, sizeof(*j));
  struct fetch_request req;
  int rc;

  if(!j) {
    log_errorx("out of memory starting a fetch", "feed=%s", f->name);
    return;
  }
  j->d = d;
  j->feed = f;
  j->rng = d->rng = d->rng * 6364136223846793005u + 1442695040888963407u;
  req.url = f->fetch_url;
  req.etag = f->etag;
  req.last_modified = f->last_modified;
  rc = fetch_start(d->fetcher, &req, on_fetched, j);
  if(rc != 0) {
    log_errorx("could not start a fetch", "feed=%s url=%s error=%d", f->name,
               f->fetch_url, rc);
    free(j);
    f->next_due = now_s() + d->limits.min_interval;
    schedule_feed(d, f);
    return;
  }
  f->busy = true;
  d->active++;
}

/* Starts a fetch for every feed that is due. The fetcher queues what is
 * over its global and per-host limits, taking hosts in turn. */
static void take_due(struct daemon *d)
{
  int64_t now = now_s();
  const struct schedule_slot *top;

  /* Fetched documents wait for the thread pool in memory: bound how many
   * are started and not yet stored, so 10,000 due feeds cannot pile up. */
  while(!d->stopping && d->active < in_flight_limit(d) &&
        (top = schedule_peek(&d->heap)) && top->due <= now) {
    struct schedule_slot s;
    struct dfeed *f;
    int64_t hold;

    schedule_pop(&d->heap, &s);
    f = find_feed(d, s.id);
    /* Stale slots (rescheduled or removed feeds) are skipped here. */
    if(!f || f->busy || f->disabled || f->next_due != s.due)
      continue;
    hold = host_hold_until(d, f->fetch_url);
    if(hold > now) {
      f->next_due = hold;
      schedule_feed(d, f);
      continue;
    }
    if(d->cycle.started == 0)
      d->cycle.started = now;
    start_fetch(d, f);
  }
}

static void on_due(uv_timer_t *t)
{
  struct daemon *d = t->data;

  take_due(d);
  arm_due_timer(d);
  maybe_finish(d);
}

static void arm_due_timer(struct daemon *d)
{
  const struct schedule_slot *top = schedule_peek(&d->heap);
  int64_t delay;

  /* At the in-flight limit, job_done re-arms the timer when a slot frees. */
  if(d->stopping || !top || d->active >= in_flight_limit(d)) {
    uv_timer_stop(&d->due_timer);
    return;
  }
  delay = top->due - now_s();
  if(delay < 0)
    delay = 0;
  uv_timer_start(&d->due_timer, on_due, (uint64_t)delay * 1000, 0);
}

/* Publishes everything (full) or recent.json; a failed full publication
 * is retried on the next call, full again. Returns 0 or a negative code. */
static int publish_now(struct daemon *d, bool full)
{
  uint64_t start = uv_hrtime();
  int rc;

  if(!d->publish)
    return 0;
  full = full || d->publish_failed;
  store_writer_lock(&d->writer);
  rc = full ? publish_all(d->publish, d->store)
            : publish_recent(d->publish, d->store);
  store_writer_unlock(&d->writer);
  if(rc != 0)
    log_errorx("publishing failed; the previous files stay, retried in a "
               "minute",
               "error=\"%s\"", strerror(-rc));
  if(full) {
    d->publish_failed = rc != 0;
    d->stats.publish_seconds = (double)(uv_hrtime() - start) / 1e9;
  }
  return rc;
}

/* Counts feeds by state for /metrics and hands the numbers over. */
static void update_stats(struct daemon *d)
{
  d->stats.feeds_total = (int64_t)d->nfeeds;
  d->stats.feeds_ok = d->stats.feeds_failing = d->stats.feeds_disabled = 0;
  for(size_t i = 0; i < d->nfeeds; i++) {
    if(d->feeds[i]->disabled)
      d->stats.feeds_disabled++;
    else if(d->feeds[i]->error_count > 0)
      d->stats.feeds_failing++;
    else
      d->stats.feeds_ok++;
  }
  d->stats.interval = d->limits.interval;
  if(d->http)
    http_set_stats(d->http, &d->stats);
}

/* A cycle ends when nothing is in flight and nothing is waiting. */
static void end_cycle(struct daemon *d)
{
  if(d->cycle.started == 0)
    return;
  log_info("poll cycle done",
           "feeds=%zu fetched=%zu not_modified=%zu failed=%zu new=%zu "
           "updated=%zu bytes=%lld duration=%llds",
           d->cycle.fetched + d->cycle.not_modified + d->cycle.failed,
           d->cycle.fetched, d->cycle.not_modified, d->cycle.failed,
           d->cycle.new_entries, d->cycle.updated_entries,
           (long long)d->cycle.bytes, (long long)(now_s() - d->cycle.started));
  /* freshet poll publishes once when the pass is over. */
  if(d->cycle.changed && d->mode == DAEMON_RUN)
    publish_now(d, true);
  if(d->cycle.fetched + d->cycle.not_modified > 0)
    d->stats.last_cycle = now_s();
  update_stats(d);
  memset(&d->cycle, 0, sizeof(d->cycle));
}

static void close_handles(struct daemon *d);

static void on_fetcher_closed(void *data)
{
  struct daemon *d = data;

  d->fetcher_closed = true;
  close_handles(d);
}

static void shutdown_fetcher(struct daemon *d)
{
  if(d->fetcher) {
    struct fetcher *f = d->fetcher;

    d->fetcher = NULL;
    fetcher_close(f, on_fetcher_closed, d);
  }
}

static void maybe_finish(struct daemon *d)
{
  const struct schedule_slot *top = schedule_peek(&d->heap);

  /* Not done while fetches run, or feeds are due and wait for a slot of
   * the in-flight limit (the due timer starts them next). */
  if(d->active || (!d->stopping && top && top->due <= now_s()))
    return;
  end_cycle(d);
  if(d->mode != DAEMON_RUN && !d->stopping)
    d->stopping = true;
  if(d->stopping)
    shutdown_fetcher(d);
}

static void on_grace_over(uv_timer_t *t)
{
  struct daemon *d = t->data;

  if(d->active)
    log_warnx("aborting transfers still running", "active=%zu", d->active);
  shutdown_fetcher(d);
}

static void begin_shutdown(struct daemon *d, const char *why)
{
  if(d->stopping)
    return;
  log_info("shutting down", "signal=%s active=%zu", why, d->active);
  d->stopping = true;
  uv_timer_stop(&d->due_timer);
  uv_timer_stop(&d->republish_timer);
  if(d->active)
    uv_timer_start(&d->grace_timer, on_grace_over, SHUTDOWN_GRACE_MS, 0);
  maybe_finish(d);
}

/* Builds the feed table from the store after a (re)load; keeps the state
 * of feeds that stay, drops removed ones (later, when busy). */
static int load_feeds(struct daemon *d)
{
  struct store_feed *rows = NULL;
  size_t n = 0;
  struct dfeed **next;
  int64_t now = now_s();
  int64_t fresh = 0;
  int64_t spread;
  struct strmap names = {0}; /* configured name -> index in cfg->feeds */
  int rc;

  store_writer_lock(&d->writer);
  rc = store_sync_feeds(d->store, d->cfg);
  if(rc == 0)
    rc = store_list_feeds(d->store, &rows, &n);
  store_writer_unlock(&d->writer);
  if(rc != 0)
    return rc;
  next = calloc(n ? n : 1, sizeof(*next));
  for(size_t i = 0; next && i < d->cfg->nfeeds; i++)
    if(strmap_put(&names, d->cfg->feeds[i].name, i) != 0) {
      free(next);
      next = NULL;
    }
  if(!next) {
    strmap_free(&names);
    store_feeds_free(rows, n);
    return -ENOMEM;
  }
  /* New feeds start at NEW_FEEDS_PER_SECOND at most, and within the first
   * interval: a few start at once, ten thousand over a quarter hour. */
  for(size_t i = 0; i < n; i++)
    fresh += rows[i].next_due == 0;
  spread = fresh / NEW_FEEDS_PER_SECOND;
  if(spread > d->limits.interval)
    spread = d->limits.interval;
  d->stats.entries_stored = 0;
  for(size_t i = 0; i < n; i++) {
    const struct store_feed *r = &rows[i];
    size_t *at = strmap_get(&names, r->name);
    const struct config_feed *cf = at ? &d->cfg->feeds[*at] : NULL;
    struct dfeed *old = find_feed(d, r->id);
    struct dfeed *f = old ? old : calloc(1, sizeof(*f));

    d->stats.entries_stored += r->entries;

    if(!f) {
      rc = -ENOMEM;
      break;
    }
    if(!old) {
      f->id = r->id;
      f->name = strdup(r->name);
      f->etag = dup_or_null(r->etag);
      f->last_modified = dup_or_null(r->last_modified);
      f->redirect_url = dup_or_null(r->redirect_url);
      f->redirect_count = r->redirect_count;
      f->error_count = r->error_count;
      f->interval = r->interval > 0 ? r->interval : d->limits.interval;
      /* A never-fetched feed: due now for a one-off poll; spread over the
       * first interval by the daemon, so a thousand new feeds do not all
       * start at once. */
      if(r->next_due > 0)
        f->next_due = r->next_due;
      else if(d->mode == DAEMON_RUN)
        f->next_due = schedule_first_due(now, spread, r->name);
      else
        f->next_due = now;
      f->disabled = r->disabled_reason != NULL;
    }
    replace(&f->url, r->url);
    replace(&f->fetch_url, r->fetch_url ? r->fetch_url : r->url);
    if(old && !f->busy) {
      /* The URL may have changed; the store reset the validators then. */
      replace(&f->etag, r->etag);
      replace(&f->last_modified, r->last_modified);
    }
    f->configured_interval = cf ? cf->interval : 0;
    if(cf && !cf->enabled)
      f->disabled = true;
    if(d->mode == DAEMON_POLL_ALL)
      f->next_due = now;
    next[i] = f;
  }
  /* Feeds no longer configured. */
  for(size_t i = 0; i < d->nfeeds; i++) {
    struct dfeed *f = d->feeds[i];
    bool kept = false;

    for(size_t k = 0; k < n && !kept; k++)
      kept = next[k] == f;
    if(kept)
      continue;
    log_info("feed removed", "feed=%s", f->name);
    if(f->busy)
      f->removed = true;
    else
      dfeed_free(f);
  }
  strmap_free(&names);
  store_feeds_free(rows, n);
  free(d->feeds);
  d->feeds = next;
  d->nfeeds = n;
  qsort(d->feeds, d->nfeeds, sizeof(*d->feeds), by_id);
  /* Rebuild the heap from scratch: it only holds live feeds then. */
  schedule_heap_free(&d->heap);
  for(size_t i = 0; i < d->nfeeds; i++) {
    struct dfeed *f = d->feeds[i];

    if(f->disabled || f->busy)
      continue;
    if(d->mode == DAEMON_POLL_DUE && f->next_due > now)
      continue;
    schedule_feed(d, f);
  }
  return rc;
}

static void print_diag(const struct config_diag *diag)
{
  for(size_t i = 0; i < diag->nwarnings; i++)
    log_warnx("configuration", "detail=\"%s\"", diag->warnings[i]);
  for(size_t i = 0; i < diag->nerrors; i++)
    log_errorx("configuration error", "detail=\"%s\"", diag->errors[i]);
}

static void reload(struct daemon *d)
{
  struct config_diag diag = {0};
  struct config *cfg = NULL;
  struct config *old = d->cfg;

  if(config_load(d->config_path, &cfg, &diag) != 0) {
    print_diag(&diag);
    log_errorx("configuration not reloaded; the old one stays in force", NULL);
    config_diag_free(&diag);
    return;
  }
  print_diag(&diag);
  config_diag_free(&diag);
  d->cfg = cfg;
  if(load_feeds(d) != 0) {
    log_errorx("could not apply the new configuration", NULL);
  } else {
    log_info("configuration reloaded", "feeds=%zu", d->nfeeds);
    if(d->publish)
      publish_set_config(d->publish, cfg);
  }
  config_free(old);
  take_due(d);
  arm_due_timer(d);
}

static void on_reload_timer(uv_timer_t *t)
{
  reload(t->data);
}

static void on_feeds_dir_changed(uv_fs_event_t *h, const char *filename,
                                 int events, int status)
{
  struct daemon *d = h->data;

  (void)filename;
  (void)events;
  if(status < 0 || d->stopping)
    return;
  uv_timer_start(&d->reload_timer, on_reload_timer, RELOAD_DEBOUNCE_MS, 0);
}

static void on_signal(uv_signal_t *s, int signum)
{
  struct daemon *d = s->data;

  if(signum == SIGHUP) {
    log_info("reloading on SIGHUP", NULL);
    reload(d);
  } else if(signum == SIGUSR1) {
    int64_t now = now_s();

    log_info("polling every feed now (SIGUSR1)", NULL);
    for(size_t i = 0; i < d->nfeeds; i++) {
      struct dfeed *f = d->feeds[i];

      if(!f->busy && !f->disabled) {
        f->next_due = now;
        schedule_feed(d, f);
      }
    }
    take_due(d);
    arm_due_timer(d);
  } else {
    begin_shutdown(d, signum == SIGTERM ? "TERM" : "INT");
  }
}

/* Every minute: fresh "N mins ago", and the health /healthz reports. A
 * daemon with nothing in flight and nothing overdue is keeping up even
 * when no feed was due for a while. */
static void on_republish(uv_timer_t *t)
{
  struct daemon *d = t->data;
  const struct schedule_slot *top = schedule_peek(&d->heap);

  publish_now(d, false);
  if(d->active == 0 && (!top || top->due > now_s()))
    d->stats.last_cycle = now_s();
  update_stats(d);
}

static void close_one(uv_handle_t *h)
{
  if(!uv_is_closing(h))
    uv_close(h, NULL);
}

static void close_handles(struct daemon *d)
{
  close_one((uv_handle_t *)&d->due_timer);
  close_one((uv_handle_t *)&d->grace_timer);
  close_one((uv_handle_t *)&d->reload_timer);
  close_one((uv_handle_t *)&d->republish_timer);
  close_one((uv_handle_t *)&d->sig_term);
  close_one((uv_handle_t *)&d->sig_int);
  close_one((uv_handle_t *)&d->sig_hup);
  close_one((uv_handle_t *)&d->sig_usr1);
  if(d->watching)
    close_one((uv_handle_t *)&d->watch);
}

/* One freshet per database: an advisory lock the kernel drops with the
 * process, so a crash never leaves a stale lock behind. */
static int lock_database(const char *db, int *fd_out)
{
  char *path = NULL;
  int fd;

  if(asprintf(&path, "%s.lock", db) < 0)
    return -ENOMEM;
  fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if(fd < 0) {
    log_errorx("cannot create the lock file", "path=%s error=\"%s\"", path,
               strerror(errno));
    free(path);
    return -errno;
  }
  if(flock(fd, LOCK_EX | LOCK_NB) != 0) {
    log_errorx("another freshet is already running on this database",
               "database=%s lock=%s", db, path);
    close(fd);
    free(path);
    return -EBUSY;
  }
  free(path);
  *fd_out = fd;
  return 0;
}

static void hand_to_http(void *arg, const char *name, const char *type,
                         const char *body, size_t len)
{
  if(http_update(arg, name, type, body, len) != 0)
    log_errorx("out of memory serving a document", "file=%s", name);
}

/* The widget files: FRESHET_WIDGET_DIR, else the installed copy, else the
 * source tree's (running from a build directory). */
static const char *widget_dir(void)
{
  const char *env = getenv("FRESHET_WIDGET_DIR");

  if(env && *env)
    return env;
  if(access(FRESHET_DATADIR "/widget/widget.js", R_OK) == 0)
    return FRESHET_DATADIR "/widget";
  return FRESHET_SOURCE_DATADIR "/widget";
}

static int start_http(struct daemon *d)
{
  char err[512];

  if(http_start(d->cfg->listen, widget_dir(), &d->http, err, sizeof(err)) !=
     0) {
    log_errorx("cannot start the HTTP server", "listen=%s error=\"%s\"",
               d->cfg->listen, err);
    return -1;
  }
  log_info("serving", "listen=%s", d->cfg->listen);
  publish_on_update(d->publish, hand_to_http, d->http);
  return 0;
}

static int start_handles(struct daemon *d)
{
  uv_timer_init(d->loop, &d->due_timer);
  uv_timer_init(d->loop, &d->grace_timer);
  uv_timer_init(d->loop, &d->reload_timer);
  uv_timer_init(d->loop, &d->republish_timer);
  d->due_timer.data = d->grace_timer.data = d->reload_timer.data = d;
  d->republish_timer.data = d;
  uv_signal_init(d->loop, &d->sig_term);
  uv_signal_init(d->loop, &d->sig_int);
  uv_signal_init(d->loop, &d->sig_hup);
  uv_signal_init(d->loop, &d->sig_usr1);
  d->sig_term.data = d->sig_int.data = d->sig_hup.data = d->sig_usr1.data = d;
  uv_signal_start(&d->sig_term, on_signal, SIGTERM);
  uv_signal_start(&d->sig_int, on_signal, SIGINT);
  if(d->mode == DAEMON_RUN) {
    uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
    uv_signal_start(&d->sig_usr1, on_signal, SIGUSR1);
    uv_timer_start(&d->republish_timer, on_republish, REPUBLISH_MS,
                   REPUBLISH_MS);
    if(uv_fs_event_init(d->loop, &d->watch) == 0) {
      d->watch.data = d;
      d->watching = true;
      if(uv_fs_event_start(&d->watch, on_feeds_dir_changed, d->cfg->feeds_dir,
                           0) != 0)
        log_info("not watching feeds.d (missing?); SIGHUP reloads", "dir=%s",
                 d->cfg->feeds_dir);
    }
  }
  return 0;
}

int daemon_main(const char *config_file, enum daemon_mode mode)
{
  struct daemon d;
  struct config_diag diag = {0};
  struct fetch_options fo;
  char err[512];
  char *db = NULL;
  int lock_fd = -1;
  int rc;

  /* glibc raises its mmap threshold after the first large block is
   * freed; from then on the loop's big short-lived buffers (fetched
   * bodies, document snapshots and their gzip copies) come from the heap
   * and leave it fragmented: resident memory crept up in steps during the
   * 10k-feed soak. A fixed threshold keeps them in mappings of their own
   * (soak: an ~8 MiB lower, flat floor; no more CPU). */
  mallopt(M_MMAP_THRESHOLD, 128 * 1024);
  memset(&d, 0, sizeof(d));
  d.mode = mode;
  d.exit_code = 0;
  d.rng = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  d.config_path = config_file ? strdup(config_file) : NULL;
  if(config_load(config_file, &d.cfg, &diag) != 0) {
    print_diag(&diag);
    config_diag_free(&diag);
    free(d.config_path);
    return 2;
  }
  print_diag(&diag);
  config_diag_free(&diag);
  log_set_level(d.cfg->log_level);
  d.limits.interval = d.cfg->interval;
  d.limits.min_interval = d.cfg->min_interval;
  d.limits.max_interval = d.cfg->max_interval;
  db = config_path(d.cfg, d.cfg->database);
  if(!db || lock_database(db, &lock_fd) != 0) {
    rc = 1;
    goto out;
  }
  if(store_open(db, &d.store, err, sizeof(err)) != 0) {
    log_errorx("cannot open the database", "error=\"%s\"", err);
    rc = 1;
    goto out;
  }
  store_set_retention(d.store, d.cfg->retention_days,
                      d.cfg->retention_per_feed);
  d.loop = uv_default_loop();
  fo.concurrency = d.cfg->concurrency;
  fo.per_host = d.cfg->per_host;
  fo.connect_timeout = (long)d.cfg->connect_timeout;
  fo.timeout = (long)d.cfg->timeout;
  fo.max_size = (size_t)d.cfg->max_size;
  fo.user_agent = d.cfg->user_agent;
  if(fetcher_new(d.loop, &fo, &d.fetcher) != 0 ||
     publish_new(d.cfg, &d.publish) != 0) {
    log_errorx("cannot start", NULL);
    rc = 1;
    goto out_store;
  }
  if(mode == DAEMON_RUN && d.cfg->listen[0] && start_http(&d) != 0) {
    rc = 1;
    goto out_store;
  }
  if(store_writer_start(&d.writer, d.loop, d.store, on_stored, &d) != 0) {
    log_errorx("cannot start the store writer", NULL);
    rc = 1;
    goto out_store;
  }
  start_handles(&d);
  if(load_feeds(&d) != 0) {
    log_errorx("cannot load the feeds from the database", NULL);
    d.exit_code = 1;
    begin_shutdown(&d, "error");
  } else {
    update_stats(&d);
    log_info("started", "feeds=%zu mode=%s database=%s", d.nfeeds,
             mode == DAEMON_RUN ? "run" : "poll", db);
    if(mode == DAEMON_RUN)
      publish_now(&d, true);
    take_due(&d);
    arm_due_timer(&d);
    maybe_finish(&d);
  }
  uv_run(d.loop, UV_RUN_DEFAULT);
  rc = d.exit_code;
  /* A poll whose results could not be published failed (cron sees it). */
  if(mode != DAEMON_RUN && rc == 0 && publish_now(&d, true) != 0)
    rc = 1;
  store_writer_stop(&d.writer);
  uv_run(d.loop, UV_RUN_DEFAULT); /* the writer's handle closes */
  uv_loop_close(d.loop);
out_store:
  http_stop(d.http);
  publish_free(d.publish);
  for(size_t i = 0; i < d.nfeeds; i++)
    dfeed_free(d.feeds[i]);
  free(d.feeds);
  for(size_t i = 0; i < d.nholds; i++)
    free(d.holds[i].host);
  free(d.holds);
  schedule_heap_free(&d.heap);
  store_close(d.store);
out:
  if(lock_fd >= 0)
    close(lock_fd);
  free(db);
  config_free(d.cfg);
  free(d.config_path);
  log_info("stopped", NULL);
  return rc;
}
