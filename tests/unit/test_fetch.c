/*
 * test_fetch.c: the fetcher against a real HTTP server on 127.0.0.1
 * (unit/fetch_server.py, started once for the whole run at an ephemeral
 * port; it logs every request's headers, which the tests read back).
 * Each test runs its own libuv loop and fetcher and ends by closing both:
 * uv_loop_close must return 0. Every loop is bounded by a guard timer, and
 * the whole run by alarm().
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include "fetch.h"
#include "log.h"

#define GUARD_MS 15000
#define ETAG "W/\"x y;z\""
#define LASTMOD "Wednesday, 21-Oct-15 07:28:00 GMT"

static pid_t server_pid;
static int server_port;
static char tmpdir[] = "/tmp/freshet-fetch-XXXXXX";
static char portfile[PATH_MAX];
static char logfile[PATH_MAX];

struct session;

/* What one callback saw, copied out of the result. */
struct outcome {
  struct session *s;
  int calls;
  long status;
  int error;
  char *error_text;
  char *body;
  size_t len;
  char *content_type;
  char *etag;
  char *last_modified;
  char *final_url;
  char *permanent_url;
  int64_t retry_after;
  int64_t max_age;
  int64_t bytes;
  double seconds;
  int order;          /* 1 for the first callback of the session, 2... */
  int restart_rc;     /* fetch_start from inside a cancelled callback */
  bool close_fetcher; /* call fetcher_close from the callback */
};

struct session {
  uv_loop_t loop;
  struct fetcher *f;
  uv_timer_t guard;
  uv_timer_t closer;
  int pending;
  int done;
  int closed;
  bool guard_fired;
  bool close_when_done;
  uint64_t started;
};

static struct fetch_options test_options(void)
{
  struct fetch_options o = {
      .concurrency = 4,
      .per_host = 2,
      .connect_timeout = 5,
      .timeout = 10,
      .max_size = 1 << 20,
      .user_agent = "freshet-test/1",
  };
  return o;
}

static char *dup_or_null(const char *s)
{
  char *d;

  if (!s)
    return NULL;
  d = strdup(s);
  assert_non_null(d);
  return d;
}

static void outcome_free(struct outcome *o)
{
  free(o->error_text);
  free(o->body);
  free(o->content_type);
  free(o->etag);
  free(o->last_modified);
  free(o->final_url);
  free(o->permanent_url);
}

static void on_closed(void *data)
{
  struct session *s = data;

  s->closed++;
  uv_close((uv_handle_t *)&s->guard, NULL);
  uv_close((uv_handle_t *)&s->closer, NULL);
}

static void on_result(struct fetch_result *got, void *data)
{
  struct outcome *o = data;
  struct session *s = o->s;
  size_t len = got->len;
  /* Everything is read from a kept result: what the daemon works with. */
  struct fetch_result *r = fetch_result_keep(got);

  assert_non_null(r);
  assert_int_equal(r->len, len);
  if (len)
    assert_int_equal(got->len, 0); /* the body was taken over, not copied */

  o->calls++;
  o->order = ++s->done;
  o->status = r->status;
  o->error = r->error;
  o->error_text = dup_or_null(r->error_text);
  assert_non_null(r->body);
  assert_int_equal(r->body[r->len], '\0');
  o->body = malloc(r->len + 1);
  assert_non_null(o->body);
  memcpy(o->body, r->body, r->len + 1);
  o->len = r->len;
  o->content_type = dup_or_null(r->content_type);
  o->etag = dup_or_null(r->etag);
  o->last_modified = dup_or_null(r->last_modified);
  o->final_url = dup_or_null(r->final_url);
  o->permanent_url = dup_or_null(r->permanent_url);
  o->retry_after = r->retry_after;
  o->max_age = r->max_age;
  o->bytes = r->bytes;
  o->seconds = r->seconds;
  fetch_result_drop_body(r);
  assert_int_equal(r->len, 0);
  assert_string_equal(r->body, "");
  if (r->error == -ECANCELED) {
    struct fetch_request req = {.url = "http://127.0.0.1:1/"};

    o->restart_rc = fetch_start(s->f, &req, on_result, o);
  }
  fetch_result_free(r);
  s->pending--;
  if (o->close_fetcher || (s->pending == 0 && s->close_when_done))
    fetcher_close(s->f, on_closed, s);
}

static void on_guard(uv_timer_t *t)
{
  struct session *s = t->data;

  s->guard_fired = true;
  fetcher_close(s->f, on_closed, s);
}

static void session_open(struct session *s, const struct fetch_options *o)
{
  memset(s, 0, sizeof(*s));
  assert_int_equal(uv_loop_init(&s->loop), 0);
  assert_int_equal(fetcher_new(&s->loop, o, &s->f), 0);
  assert_non_null(s->f);
  uv_timer_init(&s->loop, &s->guard);
  uv_timer_init(&s->loop, &s->closer);
  s->guard.data = s;
  s->closer.data = s;
  uv_timer_start(&s->guard, on_guard, GUARD_MS, 0);
  s->close_when_done = true;
  s->started = uv_hrtime();
}

/* Runs the loop until the fetcher and the session's timers are closed;
 * returns the seconds it took. */
static double session_run(struct session *s)
{
  uv_run(&s->loop, UV_RUN_DEFAULT);
  assert_false(s->guard_fired);
  assert_int_equal(s->closed, 1);
  assert_int_equal(s->pending, 0);
  assert_int_equal(uv_loop_close(&s->loop), 0);
  return (double)(uv_hrtime() - s->started) / 1e9;
}

static void url_for(char *url, size_t n, const char *path)
{
  snprintf(url, n, "http://127.0.0.1:%d%s", server_port, path);
}

/* Starts a GET of url; or of path on the server when url is NULL. */
static void start_url(struct session *s, struct outcome *o, const char *url,
                      const char *path, const char *etag,
                      const char *last_modified)
{
  char buf[256];
  struct fetch_request req;

  if (!url) {
    url_for(buf, sizeof(buf), path);
    url = buf;
  }
  req.url = url;
  req.etag = etag;
  req.last_modified = last_modified;
  o->s = s;
  s->pending++;
  assert_int_equal(fetch_start(s->f, &req, on_result, o), 0);
  /* never from inside fetch_start */
  assert_int_equal(o->calls, 0);
}

static void start(struct session *s, struct outcome *o, const char *path,
                  const char *etag, const char *last_modified)
{
  start_url(s, o, NULL, path, etag, last_modified);
}

static double fetch1_opts(const char *path, const char *etag, const char *lm,
                          const struct fetch_options *opts, struct outcome *o)
{
  struct session s;
  double secs;

  memset(o, 0, sizeof(*o));
  session_open(&s, opts);
  start(&s, o, path, etag, lm);
  assert_int_equal(fetcher_active(s.f), 1);
  secs = session_run(&s);
  assert_int_equal(o->calls, 1);
  return secs;
}

static void fetch1(const char *path, struct outcome *o)
{
  struct fetch_options opts = test_options();

  fetch1_opts(path, NULL, NULL, &opts, o);
}

/* Returns the server's log of the last request for path (malloc'd):
 * "GET path\n" and one "Name: value\n" per header. */
static char *request_log(const char *path)
{
  char head[300];
  char *all;
  char *p;
  char *hit = NULL;
  char *end;
  char *out;
  long n;
  FILE *fp = fopen(logfile, "r");

  assert_non_null(fp);
  fseek(fp, 0, SEEK_END);
  n = ftell(fp);
  rewind(fp);
  all = calloc(1, (size_t)n + 1);
  assert_non_null(all);
  assert_int_equal(fread(all, 1, (size_t)n, fp), (size_t)n);
  fclose(fp);
  snprintf(head, sizeof(head), "GET %s\n", path);
  for (p = all; (p = strstr(p, head)); p++)
    if (p == all || p[-1] == '\n')
      hit = p;
  assert_non_null(hit);
  end = strstr(hit, "\n\n");
  assert_non_null(end);
  out = strndup(hit, (size_t)(end - hit + 1));
  free(all);
  assert_non_null(out);
  return out;
}

static void assert_url(const char *got, const char *path)
{
  char want[256];

  url_for(want, sizeof(want), path);
  assert_non_null(got);
  assert_string_equal(got, want);
}

static void test_ok(void **state)
{
  struct outcome o;
  char *log;

  (void)state;
  fetch1("/ok", &o);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.error, 0);
  assert_null(o.error_text);
  assert_string_equal(o.body, "<rss version=\"2.0\"><channel><title>ok</title>"
                              "</channel></rss>\n");
  assert_int_equal(o.len, strlen(o.body));
  assert_string_equal(o.content_type, "application/rss+xml; charset=utf-8");
  assert_string_equal(o.etag, "\"abc-1\"");
  assert_string_equal(o.last_modified, "Wed, 21 Oct 2015 07:28:00 GMT");
  assert_int_equal(o.max_age, 900);
  assert_int_equal(o.retry_after, 0);
  assert_url(o.final_url, "/ok");
  assert_null(o.permanent_url);
  assert_true(o.bytes > (int64_t)o.len);
  assert_true(o.seconds > 0 && o.seconds < 5);
  log = request_log("/ok");
  assert_non_null(strstr(log, "\nUser-Agent: freshet-test/1\n"));
  assert_non_null(strstr(log, "\nAccept-Encoding: "));
  assert_null(strstr(log, "If-None-Match"));
  assert_null(strstr(log, "If-Modified-Since"));
  free(log);
  outcome_free(&o);
}

static void test_conditional(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o;
  char *log;

  (void)state;
  fetch1("/cond", &o);
  assert_int_equal(o.status, 200);
  assert_string_equal(o.etag, ETAG);
  assert_string_equal(o.last_modified, LASTMOD);
  outcome_free(&o);

  /* exactly as stored: a weak tag with a space, an RFC 850 date that
   * CURLOPT_TIMEVALUE would have rewritten */
  fetch1_opts("/cond", ETAG, LASTMOD, &opts, &o);
  assert_int_equal(o.status, 304);
  assert_int_equal(o.error, 0);
  assert_int_equal(o.len, 0);
  assert_string_equal(o.body, "");
  log = request_log("/cond");
  assert_non_null(strstr(log, "\nIf-None-Match: " ETAG "\n"));
  assert_non_null(strstr(log, "\nIf-Modified-Since: " LASTMOD "\n"));
  free(log);
  outcome_free(&o);
}

static void test_validator_not_injected(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o;
  char *log;

  (void)state;
  fetch1_opts("/ok?inject", "\"a\"\r\nX-Evil: 1", "", &opts, &o);
  assert_int_equal(o.status, 200);
  log = request_log("/ok?inject");
  assert_null(strstr(log, "X-Evil"));
  assert_null(strstr(log, "If-None-Match"));
  assert_null(strstr(log, "If-Modified-Since"));
  free(log);
  outcome_free(&o);
}

static void test_gzip(void **state)
{
  struct outcome o;
  char want[64];
  size_t off = 0;

  (void)state;
  fetch1("/gzip", &o);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.error, 0);
  for (int i = 0; i < 2000; i++) {
    int n = snprintf(want, sizeof(want), "line %d of a compressible feed\n", i);

    assert_true(off + (size_t)n <= o.len);
    assert_memory_equal(o.body + off, want, (size_t)n);
    off += (size_t)n;
  }
  assert_int_equal(off, o.len);
  /* what came over the wire was the compressed form */
  assert_true(o.bytes < (int64_t)o.len / 4);
  outcome_free(&o);
}

static void test_permanent_chain(void **state)
{
  struct outcome o;
  char *log;

  (void)state;
  fetch1("/p1", &o);
  assert_int_equal(o.status, 200);
  assert_int_equal(o.error, 0);
  assert_string_equal(o.body, "p3 body\n");
  assert_url(o.final_url, "/p3?x=1");
  assert_url(o.permanent_url, "/p3?x=1");
  /* the 301's own ETag, max-age and Retry-After are not the final
   * response's */
  assert_null(o.etag);
  assert_int_equal(o.max_age, 0);
  assert_int_equal(o.retry_after, 0);
  log = request_log("/p3?x=1");
  free(log);
  outcome_free(&o);
}

static void test_permanent_then_temporary(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/m1", &o);
  assert_int_equal(o.status, 200);
  assert_url(o.final_url, "/ok");
  assert_url(o.permanent_url, "/m2");
  outcome_free(&o);
}

static void test_temporary_then_permanent(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/n1", &o);
  assert_int_equal(o.status, 200);
  assert_url(o.final_url, "/p3?x=1");
  assert_null(o.permanent_url);
  outcome_free(&o);
}

static void test_temporary(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/t302", &o);
  assert_int_equal(o.status, 200);
  assert_url(o.final_url, "/ok");
  assert_null(o.permanent_url);
  assert_string_equal(o.etag, "\"abc-1\"");
  outcome_free(&o);
  fetch1("/t307", &o);
  assert_int_equal(o.status, 200);
  assert_url(o.final_url, "/ok");
  assert_null(o.permanent_url);
  outcome_free(&o);
}

static void test_308(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/t308", &o);
  assert_int_equal(o.status, 200);
  assert_url(o.final_url, "/ok");
  assert_url(o.permanent_url, "/ok");
  outcome_free(&o);
}

static void test_redirect_loop(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/loop", &o);
  assert_int_equal(o.error, -ELOOP);
  assert_int_equal(o.status, 302);
  assert_null(o.permanent_url);
  assert_non_null(o.error_text);
  assert_null(strchr(o.error_text, '\n'));
  outcome_free(&o);
}

static void test_redirect_to_ftp(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/toftp", &o);
  assert_int_equal(o.error, -EPROTONOSUPPORT);
  assert_non_null(o.error_text);
  outcome_free(&o);
}

static void test_429(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/r429", &o);
  assert_int_equal(o.status, 429);
  assert_int_equal(o.error, 0);
  assert_null(o.error_text);
  assert_int_equal(o.retry_after, 120);
  assert_string_equal(o.body, "slow down\n");
  outcome_free(&o);

  fetch1("/r429date", &o);
  assert_int_equal(o.status, 429);
  assert_int_equal(o.error, 0);
  assert_in_range(o.retry_after, 110, 121);
  outcome_free(&o);
}

static void test_error_statuses(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/r500", &o);
  assert_int_equal(o.status, 500);
  assert_int_equal(o.error, 0);
  assert_null(o.error_text);
  assert_string_equal(o.body, "oops\n");
  outcome_free(&o);
  fetch1("/r404", &o);
  assert_int_equal(o.status, 404);
  assert_int_equal(o.error, 0);
  assert_string_equal(o.body, "not here\n");
  outcome_free(&o);
}

static void test_timeout_drip(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o;
  double secs;

  (void)state;
  opts.timeout = 1;
  secs = fetch1_opts("/drip", NULL, NULL, &opts, &o);
  assert_int_equal(o.error, -ETIMEDOUT);
  assert_int_equal(o.status, 200);
  assert_non_null(o.error_text);
  assert_int_equal(o.len, 0);
  assert_true(secs >= 0.9 && secs < 3.0);
  outcome_free(&o);
}

static void test_timeout_stall(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o;
  double secs;

  (void)state;
  /* no byte at all: the low-speed limit (half the timeout) ends it */
  opts.timeout = 4;
  secs = fetch1_opts("/stall", NULL, NULL, &opts, &o);
  assert_int_equal(o.error, -ETIMEDOUT);
  assert_true(secs >= 1.5 && secs < 3.9);
  outcome_free(&o);
}

static void test_oversize(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o;

  (void)state;
  opts.max_size = 65536;
  /* told up front by Content-Length */
  fetch1_opts("/big?n=100000", NULL, NULL, &opts, &o);
  assert_int_equal(o.error, -EFBIG);
  assert_int_equal(o.len, 0);
  assert_non_null(o.error_text);
  outcome_free(&o);
  /* found out while receiving */
  fetch1_opts("/chunked?n=100000", NULL, NULL, &opts, &o);
  assert_int_equal(o.error, -EFBIG);
  assert_int_equal(o.status, 200);
  outcome_free(&o);
  /* exactly the cap is fine, both ways */
  fetch1_opts("/big?n=65536", NULL, NULL, &opts, &o);
  assert_int_equal(o.error, 0);
  assert_int_equal(o.len, 65536);
  outcome_free(&o);
  fetch1_opts("/chunked?n=65536", NULL, NULL, &opts, &o);
  assert_int_equal(o.error, 0);
  assert_int_equal(o.len, 65536);
  outcome_free(&o);
}

static void test_gzip_bomb(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o;

  (void)state;
  opts.max_size = 65536;
  fetch1_opts("/bomb", NULL, NULL, &opts, &o);
  assert_int_equal(o.error, -EFBIG);
  assert_int_equal(o.len, 0);
  outcome_free(&o);
}

static void test_reset(void **state)
{
  struct outcome o;

  (void)state;
  fetch1("/reset", &o);
  assert_int_equal(o.error, -ECONNRESET);
  assert_int_equal(o.status, 0);
  assert_non_null(o.error_text);
  outcome_free(&o);
}

static void test_refused(void **state)
{
  struct fetch_options opts = test_options();
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t len = sizeof(sa);
  struct outcome o;
  char url[64];
  int fd;

  (void)state;
  /* a port that was free a moment ago and has no listener */
  fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
  close(fd);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(sa.sin_port));
  {
    struct session s;
    struct fetch_request req = {.url = url};

    memset(&o, 0, sizeof(o));
    session_open(&s, &opts);
    o.s = &s;
    s.pending = 1;
    assert_int_equal(fetch_start(s.f, &req, on_result, &o), 0);
    session_run(&s);
  }
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, -ECONNREFUSED);
  assert_int_equal(o.status, 0);
  assert_non_null(o.error_text);
  outcome_free(&o);
}

static void stats_for(const char *group, int *maxconns, int *maxreqs,
                      int *count)
{
  char path[64];
  struct outcome o;

  snprintf(path, sizeof(path), "/stats/%s", group);
  fetch1(path, &o);
  assert_int_equal(o.status, 200);
  assert_int_equal(sscanf(o.body, "maxconns=%d maxreqs=%d count=%d", maxconns,
                          maxreqs, count),
                   3);
  outcome_free(&o);
}

static void run_many(const char *group, int n, long concurrency, long per_host)
{
  struct fetch_options opts = test_options();
  struct outcome o[32];
  struct session s;
  char path[64];

  assert_true(n <= 32);
  opts.concurrency = concurrency;
  opts.per_host = per_host;
  memset(o, 0, sizeof(o));
  session_open(&s, &opts);
  for (int i = 0; i < n; i++) {
    snprintf(path, sizeof(path), "/c/%s/%d", group, i);
    start(&s, &o[i], path, NULL, NULL);
  }
  assert_int_equal(fetcher_active(s.f), (size_t)n);
  session_run(&s);
  for (int i = 0; i < n; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].status, 200);
    assert_int_equal(o[i].error, 0);
    outcome_free(&o[i]);
  }
}

static void test_per_host_limit(void **state)
{
  int maxconns;
  int maxreqs;
  int count;

  (void)state;
  run_many("ph", 20, 8, 2);
  stats_for("ph", &maxconns, &maxreqs, &count);
  assert_int_equal(count, 20);
  assert_in_range(maxconns, 1, 2);
  assert_int_equal(maxreqs, 2); /* the limit, and in use */
}

static void test_global_limit(void **state)
{
  int maxconns;
  int maxreqs;
  int count;

  (void)state;
  run_many("gl", 12, 3, 10);
  stats_for("gl", &maxconns, &maxreqs, &count);
  assert_int_equal(count, 12);
  assert_in_range(maxconns, 1, 3);
  assert_int_equal(maxreqs, 3);
}

/* curl resolves NAME.localhost to the loopback address itself, which
 * gives many host names for one server on 127.0.0.1. */
static void host_url(char *url, size_t n, const char *host, const char *path)
{
  snprintf(url, n, "http://%s.localhost:%d%s", host, server_port, path);
}

static void test_many_hosts(void **state)
{
  struct fetch_options opts = test_options();
  static struct outcome o[100];
  struct session s;
  char host[16];
  char path[64];
  char url[128];
  int maxconns;
  int maxreqs;
  int count;

  (void)state;
  opts.concurrency = 8;
  opts.per_host = 1;
  memset(o, 0, sizeof(o));
  session_open(&s, &opts);
  for (int i = 0; i < 100; i++) {
    snprintf(host, sizeof(host), "h%d", i);
    snprintf(path, sizeof(path), "/c/mh/%d", i);
    host_url(url, sizeof(url), host, path);
    start_url(&s, &o[i], url, NULL, NULL, NULL);
  }
  assert_int_equal(fetcher_active(s.f), 100);
  session_run(&s);
  for (int i = 0; i < 100; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].status, 200);
    outcome_free(&o[i]);
  }
  stats_for("mh", &maxconns, &maxreqs, &count);
  assert_int_equal(count, 100);
  assert_int_equal(maxreqs, 8);
}

static void test_host_fairness(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o[7];
  struct session s;
  char path[64];
  char url[128];

  (void)state;
  /* six slow requests to one host queue behind its limit of one; a
   * request to another host does not wait behind them */
  opts.concurrency = 4;
  opts.per_host = 1;
  memset(o, 0, sizeof(o));
  session_open(&s, &opts);
  for (int i = 0; i < 6; i++) {
    snprintf(path, sizeof(path), "/c/fair/%d", i);
    host_url(url, sizeof(url), "busy", path);
    start_url(&s, &o[i], url, NULL, NULL, NULL);
  }
  host_url(url, sizeof(url), "other", "/ok");
  start_url(&s, &o[6], url, NULL, NULL, NULL);
  session_run(&s);
  for (int i = 0; i < 7; i++) {
    assert_int_equal(o[i].status, 200);
    outcome_free(&o[i]);
  }
  assert_int_equal(o[6].order, 1);
  for (int i = 0; i < 6; i++)
    assert_int_equal(o[i].order, i + 2); /* one at a time, in order */
}

static void on_closer(uv_timer_t *t)
{
  struct session *s = t->data;

  /* while two transfers are in curl and four wait for a slot */
  assert_int_equal(fetcher_active(s->f), 6);
  fetcher_close(s->f, on_closed, s);
}

static void test_close_in_flight(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o[6];
  struct session s;
  double secs;

  (void)state;
  opts.concurrency = 2;
  memset(o, 0, sizeof(o));
  session_open(&s, &opts);
  s.close_when_done = false;
  for (int i = 0; i < 6; i++)
    start(&s, &o[i], "/drip", NULL, NULL);
  uv_timer_start(&s.closer, on_closer, 300, 0);
  secs = session_run(&s);
  assert_true(secs < 3.0);
  for (int i = 0; i < 6; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].error, -ECANCELED);
    assert_non_null(o[i].error_text);
    /* a fetcher that is closing takes no more work */
    assert_int_equal(o[i].restart_rc, -ECANCELED);
    outcome_free(&o[i]);
  }
}

static void test_close_from_callback(void **state)
{
  struct fetch_options opts = test_options();
  struct outcome o[3];
  struct session s;

  (void)state;
  opts.per_host = 3; /* /ok must not wait for a slot */
  memset(o, 0, sizeof(o));
  session_open(&s, &opts);
  s.close_when_done = false;
  start(&s, &o[0], "/drip", NULL, NULL);
  start(&s, &o[1], "/drip", NULL, NULL);
  o[2].close_fetcher = true;
  start(&s, &o[2], "/ok", NULL, NULL);
  session_run(&s);
  assert_int_equal(o[2].calls, 1);
  assert_int_equal(o[2].error, 0);
  assert_int_equal(o[2].status, 200);
  for (int i = 0; i < 2; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].error, -ECANCELED);
  }
  for (int i = 0; i < 3; i++)
    outcome_free(&o[i]);
}

static void never_cb(struct fetch_result *r, void *data)
{
  (void)r;
  (void)data;
  fail_msg("callback of a request that was refused");
}

static void test_bad_requests(void **state)
{
  struct fetch_options opts = test_options();
  struct fetch_request req = {0};
  struct session s;

  (void)state;
  session_open(&s, &opts);
  req.url = "not a url";
  assert_int_equal(fetch_start(s.f, &req, never_cb, NULL), -EINVAL);
  req.url = "ftp://127.0.0.1/feed";
  assert_int_equal(fetch_start(s.f, &req, never_cb, NULL), -EPROTONOSUPPORT);
  req.url = "file:///etc/passwd";
  assert_int_equal(fetch_start(s.f, &req, never_cb, NULL), -EPROTONOSUPPORT);
  req.url = "http://127.0.0.1/";
  assert_int_equal(fetch_start(s.f, &req, NULL, NULL), -EINVAL);
  req.url = NULL;
  assert_int_equal(fetch_start(s.f, &req, never_cb, NULL), -EINVAL);
  assert_int_equal(fetcher_active(s.f), 0);
  /* nothing in flight: closing still goes through the loop */
  fetcher_close(s.f, on_closed, &s);
  assert_int_equal(s.closed, 0);
  session_run(&s);
}

static int server_start(void **state)
{
  const char *script = "unit/fetch_server.py";
  char buf[32];
  FILE *fp;

  (void)state;
  if (access(script, R_OK) != 0)
    script = "tests/unit/fetch_server.py";
  assert_non_null(mkdtemp(tmpdir));
  snprintf(portfile, sizeof(portfile), "%s/port", tmpdir);
  snprintf(logfile, sizeof(logfile), "%s/requests.log", tmpdir);
  server_pid = fork();
  assert_true(server_pid >= 0);
  if (server_pid == 0) {
    execl("/usr/bin/python3", "python3", script, portfile, logfile,
          (char *)NULL);
    _exit(127);
  }
  for (int i = 0; i < 500; i++) {
    int status;

    fp = fopen(portfile, "r");
    if (fp)
      break;
    if (waitpid(server_pid, &status, WNOHANG) == server_pid) {
      server_pid = 0;
      fail_msg("fetch_server.py exited");
    }
    usleep(20000);
  }
  assert_non_null(fp);
  assert_non_null(fgets(buf, sizeof(buf), fp));
  fclose(fp);
  server_port = atoi(buf);
  assert_true(server_port > 0);
  return 0;
}

static int server_stop(void **state)
{
  (void)state;
  if (server_pid > 0) {
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
  }
  unlink(portfile);
  unlink(logfile);
  rmdir(tmpdir);
  return 0;
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_ok),
      cmocka_unit_test(test_conditional),
      cmocka_unit_test(test_validator_not_injected),
      cmocka_unit_test(test_gzip),
      cmocka_unit_test(test_permanent_chain),
      cmocka_unit_test(test_permanent_then_temporary),
      cmocka_unit_test(test_temporary_then_permanent),
      cmocka_unit_test(test_temporary),
      cmocka_unit_test(test_308),
      cmocka_unit_test(test_redirect_loop),
      cmocka_unit_test(test_redirect_to_ftp),
      cmocka_unit_test(test_429),
      cmocka_unit_test(test_error_statuses),
      cmocka_unit_test(test_timeout_drip),
      cmocka_unit_test(test_timeout_stall),
      cmocka_unit_test(test_oversize),
      cmocka_unit_test(test_gzip_bomb),
      cmocka_unit_test(test_reset),
      cmocka_unit_test(test_refused),
      cmocka_unit_test(test_per_host_limit),
      cmocka_unit_test(test_global_limit),
      cmocka_unit_test(test_many_hosts),
      cmocka_unit_test(test_host_fairness),
      cmocka_unit_test(test_close_in_flight),
      cmocka_unit_test(test_close_from_callback),
      cmocka_unit_test(test_bad_requests),
  };
  int rc;

  alarm(240); /* the last resort against a hung loop */
  if (getenv("FRESHET_TEST_DEBUG"))
    log_set_level(LOG_LEVEL_DEBUG);
  signal(SIGPIPE, SIG_IGN);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  rc = cmocka_run_group_tests(tests, server_start, server_stop);
  curl_global_cleanup();
  return rc;
}
