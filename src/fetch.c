/*
 * fetch.c: HTTP(S) GETs on the libuv loop through the curl multi socket
 * interface. curl tells us which sockets to watch (CURLMOPT_SOCKETFUNCTION,
 * one uv_poll_t each) and when to wake it (CURLMOPT_TIMERFUNCTION, one
 * uv_timer_t); we hand readiness back with curl_multi_socket_action and
 * collect finished transfers with curl_multi_info_read.
 *
 * Requests wait in per-host FIFO queues until both the global limit
 * (concurrency) and the host's limit (per_host) leave room; only then is
 * an easy handle made. A pending request is a few hundred bytes where an
 * easy handle is tens of kilobytes, and one busy host cannot fill the
 * global window and starve the others the way curl's own pending list
 * would. curl's CURLMOPT_MAX_TOTAL_CONNECTIONS / MAX_HOST_CONNECTIONS stay
 * set as a backstop for connections (idle ones included).
 *
 * One multi handle lives as long as the fetcher, so connections (and
 * HTTP/2 multiplexing), DNS answers and TLS sessions are reused.
 */
#include "fetch.h"

#include "buf.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#define DEFAULT_CONCURRENCY 32
#define DEFAULT_PER_HOST 2
#define DEFAULT_CONNECT_TIMEOUT 10
#define DEFAULT_TIMEOUT 60
#define DEFAULT_MAX_SIZE (16u << 20)
#define LOW_SPEED_TIME_MAX 30L
#define MAX_REDIRS 5L

#define ACCEPT_HEADER                                                          \
  "Accept: application/atom+xml, application/rss+xml, "                        \
  "application/feed+json, application/xml;q=0.9, text/xml;q=0.9, "             \
  "*/*;q=0.8"

#define container_of(ptr, type, member)                                        \
  ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

/* An intrusive circular doubly linked list; a node that is in no list
 * points at itself. */
struct link {
  struct link *next;
  struct link *prev;
};

struct host {
  struct host *hnext; /* hash chain */
  struct link ready;  /* in fetcher.ready while it may start one more */
  struct link queue;  /* transfers waiting for a slot, oldest first */
  size_t active;      /* transfers of this host in curl */
  char name[];        /* lower case */
};

struct transfer {
  struct link link; /* in host.queue, fetcher.active or fetcher.failed */
  struct fetcher *f;
  struct host *host; /* NULL once it no longer counts against the host */
  fetch_cb cb;
  void *data;
  const char *url; /* the request, in strings[] */
  const char *etag;
  const char *last_modified;
  CURL *easy;
  struct curl_slist *headers;
  struct buf body;
  int error; /* ours, set from curl callbacks: -EFBIG, -ENOMEM */
  int doom;  /* its socket cannot be watched: finish it with this */
  /* The response being received; reset on each status line so that what
   * is left at the end belongs to the final response. */
  long code;
  bool in_body;
  bool max_age_seen;
  char *r_etag;
  char *r_last_modified;
  char *r_type;
  char *r_location;
  int64_t retry_after;
  int64_t max_age;
  /* Redirects: the URL of the current hop (NULL: url), and the target of
   * the last permanent hop while every hop so far was permanent. */
  char *hop_url;
  char *perm_url;
  bool perm_chain;
  char errbuf[CURL_ERROR_SIZE];
  char strings[];
};

struct sock {
  uv_poll_t poll;
  struct fetcher *f;
  struct link link; /* in fetcher.socks until closing */
  curl_socket_t fd;
  int events; /* UV_READABLE | UV_WRITABLE being watched */
};

struct fetcher {
  uv_loop_t *loop;
  CURLM *multi;
  CURLSH *share;
  uv_timer_t timer; /* curl's timeout */
  uv_timer_t kick;  /* deferred work: failed starts, doomed transfers */
  long concurrency;
  long per_host;
  long connect_timeout;
  long timeout;
  size_t max_size;
  char *user_agent;
  struct host **buckets;
  size_t nbuckets;
  size_t nhosts;
  struct link ready;  /* hosts that may start a transfer now */
  struct link active; /* transfers in curl */
  struct link failed; /* transfers that could not start; cb pending */
  struct link socks;  /* watched sockets */
  size_t running;     /* transfers in curl */
  size_t total;       /* started and not finished */
  int handles;        /* uv handles not closed yet */
  int depth;          /* nesting of our own code that may call user code */
  bool in_timer;      /* inside the curl timeout callback */
  bool closing;
  bool finishing;
  void (*closed_cb)(void *data);
  void *closed_data;
};

static void list_init(struct link *l)
{
  l->next = l;
  l->prev = l;
}

static bool list_empty(const struct link *l)
{
  return l->next == l;
}

static void list_push(struct link *head, struct link *n)
{
  n->prev = head->prev;
  n->next = head;
  head->prev->next = n;
  head->prev = n;
}

static void list_del(struct link *n)
{
  n->prev->next = n->next;
  n->next->prev = n->prev;
  list_init(n);
}

static char ascii_lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool ascii_caseeq(const char *a, const char *b, size_t n)
{
  for(size_t i = 0; i < n; i++)
    if(ascii_lower(a[i]) != ascii_lower(b[i]))
      return false;
  return true;
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Hosts: a chained hash table keyed by lower-case host name. */

static uint32_t hash_name(const char *s)
{
  uint32_t h = 2166136261u;

  for(; *s; s++) {
    h ^= (unsigned char)*s;
    h *= 16777619u;
  }
  return h;
}

static struct host **host_slot(struct fetcher *f, const char *name)
{
  struct host **p = &f->buckets[hash_name(name) & (f->nbuckets - 1)];

  while(*p && strcmp((*p)->name, name) != 0)
    p = &(*p)->hnext;
  return p;
}

static void hosts_grow(struct fetcher *f)
{
  size_t n = f->nbuckets * 2;
  struct host **b = calloc(n, sizeof(*b));

  if(!b)
    return; /* longer chains, still correct */
  for(size_t i = 0; i < f->nbuckets; i++) {
    struct host *h = f->buckets[i];

    while(h) {
      struct host *next = h->hnext;
      size_t j = hash_name(h->name) & (n - 1);

      h->hnext = b[j];
      b[j] = h;
      h = next;
    }
  }
  free(f->buckets);
  f->buckets = b;
  f->nbuckets = n;
}

/* Returns the host named name, made if needed; NULL on out of memory. */
static struct host *host_get(struct fetcher *f, const char *name)
{
  struct host **p = host_slot(f, name);
  struct host *h = *p;
  size_t len = strlen(name);

  if(h)
    return h;
  h = malloc(sizeof(*h) + len + 1);
  if(!h)
    return NULL;
  memcpy(h->name, name, len + 1);
  h->hnext = NULL;
  h->active = 0;
  list_init(&h->ready);
  list_init(&h->queue);
  *p = h;
  if(++f->nhosts > f->nbuckets)
    hosts_grow(f);
  return h;
}

static void host_remove(struct fetcher *f, struct host *h)
{
  struct host **p = host_slot(f, h->name);

  *p = h->hnext;
  list_del(&h->ready);
  f->nhosts--;
  free(h);
}

/* Puts h in the ready list when it has waiting transfers and room. */
static void host_wake(struct fetcher *f, struct host *h)
{
  if(!list_empty(&h->queue) && h->active < (size_t)f->per_host &&
     list_empty(&h->ready))
    list_push(&f->ready, &h->ready);
}

/* One transfer of h left curl (or never got in). */
static void host_release(struct fetcher *f, struct host *h)
{
  h->active--;
  if(!list_empty(&h->queue))
    host_wake(f, h);
  else if(h->active == 0)
    host_remove(f, h);
}

/* Returns the lower-case host of url in *host (malloc'd), or -EINVAL /
 * -EPROTONOSUPPORT / -ENOMEM. */
static int url_host(const char *url, char **host)
{
  CURLU *u = curl_url();
  char *scheme = NULL;
  char *name = NULL;
  int rc = -EINVAL;

  *host = NULL;
  if(!u)
    return -ENOMEM;
  if(curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK)
    goto out;
  if(curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK)
    goto out;
  if(strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
    rc = -EPROTONOSUPPORT;
    goto out;
  }
  if(curl_url_get(u, CURLUPART_HOST, &name, 0) != CURLUE_OK)
    goto out;
  *host = strdup(name);
  if(!*host) {
    rc = -ENOMEM;
    goto out;
  }
  for(char *p = *host; *p; p++)
    *p = ascii_lower(*p);
  rc = 0;
out:
  curl_free(scheme);
  curl_free(name);
  curl_url_cleanup(u);
  return rc;
}

/* Returns loc resolved against base the way curl follows a Location
 * (malloc'd), or NULL. */
static char *resolve(const char *base, const char *loc)
{
  CURLU *u = curl_url();
  char *s = NULL;
  char *out = NULL;

  if(!u)
    return NULL;
  if(curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
     curl_url_set(u, CURLUPART_URL, loc, CURLU_URLENCODE | CURLU_ALLOW_SPACE) ==
         CURLUE_OK &&
     curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
    out = strdup(s);
  curl_free(s);
  curl_url_cleanup(u);
  return out;
}

/* Response headers. */

static void response_reset(struct transfer *t)
{
  free(t->r_etag);
  free(t->r_last_modified);
  free(t->r_type);
  free(t->r_location);
  t->r_etag = NULL;
  t->r_last_modified = NULL;
  t->r_type = NULL;
  t->r_location = NULL;
  t->retry_after = 0;
  t->max_age = 0;
  t->max_age_seen = false;
  t->in_body = false;
  buf_reset(&t->body);
}

/* Keeps the first value of a header in a response. Returns 0 or -ENOMEM. */
static int keep_value(char **dst, const char *v, size_t n)
{
  if(*dst)
    return 0;
  *dst = strndup(v, n);
  return *dst ? 0 : -ENOMEM;
}

/* Returns the digits at p as a number, saturating; *end after them. */
static int64_t parse_digits(const char *p, const char *lim, const char **end)
{
  int64_t v = 0;

  while(p < lim && is_digit(*p)) {
    int d = *p - '0';

    v = v > (INT64_MAX - d) / 10 ? INT64_MAX : v * 10 + d;
    p++;
  }
  *end = p;
  return v;
}

/* Retry-After: delay-seconds or an HTTP date. Returns seconds from now,
 * 0 when absent, unreadable or already past. */
static int64_t parse_retry_after(const char *v, size_t n)
{
  const char *end;
  char date[128];
  time_t when;
  int64_t secs;

  if(n > 0 && is_digit(v[0])) {
    secs = parse_digits(v, v + n, &end);
    return end == v + n ? secs : 0;
  }
  if(n >= sizeof(date))
    return 0;
  memcpy(date, v, n);
  date[n] = '\0';
  when = curl_getdate(date, NULL);
  if(when == (time_t)-1)
    return 0;
  secs = (int64_t)when - (int64_t)time(NULL);
  return secs > 0 ? secs : 0;
}

/* Cache-Control: finds max-age=N (quoted or not) among the directives. */
static void parse_cache_control(struct transfer *t, const char *v, size_t n)
{
  const char *lim = v + n;
  const char *p = v;

  while(p < lim && !t->max_age_seen) {
    const char *end = memchr(p, ',', (size_t)(lim - p));
    const char *q;

    if(!end)
      end = lim;
    while(p < end && is_space(*p))
      p++;
    if((size_t)(end - p) > 7 && ascii_caseeq(p, "max-age", 7)) {
      q = p + 7;
      while(q < end && is_space(*q))
        q++;
      if(q < end && *q == '=') {
        q++;
        while(q < end && is_space(*q))
          q++;
        if(q < end && *q == '"')
          q++;
        if(q < end && is_digit(*q)) {
          t->max_age = parse_digits(q, end, &q);
          t->max_age_seen = true;
        }
      }
    }
    p = end + 1;
  }
}

/* Matches "Name: value"; sets *v, *vn to the trimmed value. */
static bool header_is(const char *line, size_t len, const char *name,
                      const char **v, size_t *vn)
{
  size_t n = strlen(name);
  const char *p;
  const char *e;

  if(len <= n || line[n] != ':' || !ascii_caseeq(line, name, n))
    return false;
  p = line + n + 1;
  e = line + len;
  while(p < e && is_space(*p))
    p++;
  while(e > p && is_space(e[-1]))
    e--;
  *v = p;
  *vn = (size_t)(e - p);
  return true;
}

/* The end of a response's headers: if it redirects (curl follows any 3xx
 * with a non-empty Location), note where to, and whether every hop so far
 * was permanent. */
static int response_done(struct transfer *t)
{
  const char *base = t->hop_url ? t->hop_url : t->url;
  char *next;

  if(t->code < 300 || t->code > 399 || !t->r_location || !*t->r_location)
    return 0;
  next = resolve(base, t->r_location);
  if(!next) {
    t->perm_chain = false; /* curl will fail to follow it too */
    return 0;
  }
  if(t->perm_chain && (t->code == 301 || t->code == 308)) {
    char *p = strdup(next);

    if(!p) {
      free(next);
      return -ENOMEM;
    }
    free(t->perm_url);
    t->perm_url = p;
  } else {
    t->perm_chain = false;
  }
  free(t->hop_url);
  t->hop_url = next;
  return 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *userdata)
{
  struct transfer *t = userdata;
  size_t total = size * n;
  size_t len = total;
  const char *v;
  size_t vn;
  int rc = 0;

  while(len > 0 && (p[len - 1] == '\n' || p[len - 1] == '\r'))
    len--;
  if(len >= 5 && memcmp(p, "HTTP/", 5) == 0) {
    const char *q = memchr(p, ' ', len);
    const char *end;

    response_reset(t);
    t->code = 0;
    if(q)
      t->code = (long)parse_digits(q + 1, p + len, &end);
    return total;
  }
  if(len == 0) {
    rc = response_done(t);
  } else if(t->in_body || is_space(p[0])) {
    /* trailers and folded lines: not ours to interpret */
  } else if(header_is(p, len, "etag", &v, &vn)) {
    rc = keep_value(&t->r_etag, v, vn);
  } else if(header_is(p, len, "last-modified", &v, &vn)) {
    rc = keep_value(&t->r_last_modified, v, vn);
  } else if(header_is(p, len, "content-type", &v, &vn)) {
    rc = keep_value(&t->r_type, v, vn);
  } else if(header_is(p, len, "location", &v, &vn)) {
    rc = keep_value(&t->r_location, v, vn);
  } else if(header_is(p, len, "retry-after", &v, &vn)) {
    if(t->retry_after == 0)
      t->retry_after = parse_retry_after(v, vn);
  } else if(header_is(p, len, "cache-control", &v, &vn)) {
    parse_cache_control(t, v, vn);
  }
  if(rc < 0) {
    t->error = rc;
    return 0; /* curl aborts the transfer */
  }
  return total;
}

static size_t on_write(char *p, size_t size, size_t n, void *userdata)
{
  struct transfer *t = userdata;
  size_t len = size * n;
  int rc;

  t->in_body = true;
  /* The cap holds for decoded bytes: CURLOPT_MAXFILESIZE only sees the
   * Content-Length on the wire. */
  rc = buf_add(&t->body, p, len);
  if(rc < 0) {
    t->error = rc;
    return 0;
  }
  return len;
}

/* Transfers. */

static struct transfer *transfer_new(const struct fetch_request *req,
                                     fetch_cb cb, void *data)
{
  const char *etag = req->etag;
  const char *lm = req->last_modified;
  size_t ul = strlen(req->url) + 1;
  size_t el;
  size_t ll;
  struct transfer *t;
  char *s;

  /* A validator that cannot be sent as it is is not sent at all. */
  if(etag && (!*etag || strpbrk(etag, "\r\n")))
    etag = NULL;
  if(lm && (!*lm || strpbrk(lm, "\r\n")))
    lm = NULL;
  el = etag ? strlen(etag) + 1 : 0;
  ll = lm ? strlen(lm) + 1 : 0;
  t = calloc(1, sizeof(*t) + ul + el + ll);
  if(!t)
    return NULL;
  list_init(&t->link);
  t->cb = cb;
  t->data = data;
  s = t->strings;
  memcpy(s, req->url, ul);
  t->url = s;
  s += ul;
  if(etag) {
    memcpy(s, etag, el);
    t->etag = s;
    s += el;
  }
  if(lm) {
    memcpy(s, lm, ll);
    t->last_modified = s;
  }
  t->perm_chain = true;
  return t;
}

static void transfer_free(struct transfer *t)
{
  if(t->easy)
    curl_easy_cleanup(t->easy);
  curl_slist_free_all(t->headers);
  buf_free(&t->body);
  free(t->r_etag);
  free(t->r_last_modified);
  free(t->r_type);
  free(t->r_location);
  free(t->hop_url);
  free(t->perm_url);
  free(t);
}

/* Adds "name: value" to the request headers. Returns 0 or -ENOMEM. */
static int add_header(struct transfer *t, const char *name, const char *value)
{
  size_t n = strlen(name) + strlen(value) + 3;
  char *line = malloc(n);
  struct curl_slist *l;

  if(!line)
    return -ENOMEM;
  snprintf(line, n, "%s: %s", name, value);
  l = curl_slist_append(t->headers, line);
  free(line);
  if(!l)
    return -ENOMEM;
  t->headers = l;
  return 0;
}

/* Makes the easy handle and hands it to curl. Returns 0 or a negative
 * code, after which t holds no easy handle. */
static int transfer_begin(struct fetcher *f, struct transfer *t)
{
  long low_speed_time = f->timeout / 2;
  CURLcode res = CURLE_OK;
  struct curl_slist *l;
  CURL *e;

  buf_init(&t->body, f->max_size);
  l = curl_slist_append(NULL, ACCEPT_HEADER);
  if(!l)
    return -ENOMEM;
  t->headers = l;
  if(t->etag && add_header(t, "If-None-Match", t->etag) < 0)
    return -ENOMEM;
  if(t->last_modified &&
     add_header(t, "If-Modified-Since", t->last_modified) < 0)
    return -ENOMEM;
  e = curl_easy_init();
  if(!e)
    return -ENOMEM;
  t->easy = e;
  /* Stalled (under 1 byte/s) for half the timeout, at most 30 s: give up
   * before the whole timeout on a dead peer. */
  if(low_speed_time < 1)
    low_speed_time = 1;
  if(low_speed_time > LOW_SPEED_TIME_MAX)
    low_speed_time = LOW_SPEED_TIME_MAX;

#define SET(opt, val)                                                          \
  do {                                                                         \
    if(res == CURLE_OK)                                                        \
      res = curl_easy_setopt(e, opt, val);                                     \
  } while(0)
  SET(CURLOPT_URL, t->url);
  SET(CURLOPT_PRIVATE, (void *)t);
  SET(CURLOPT_SHARE, f->share);
  SET(CURLOPT_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  SET(CURLOPT_FOLLOWLOCATION, 1L);
  SET(CURLOPT_MAXREDIRS, MAX_REDIRS);
  SET(CURLOPT_ACCEPT_ENCODING, ""); /* every encoding curl can decode */
  SET(CURLOPT_NOSIGNAL, 1L);
  SET(CURLOPT_USERAGENT, f->user_agent);
  SET(CURLOPT_HTTPHEADER, t->headers);
  SET(CURLOPT_CONNECTTIMEOUT, f->connect_timeout);
  SET(CURLOPT_TIMEOUT, f->timeout);
  SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
  SET(CURLOPT_LOW_SPEED_TIME, low_speed_time);
  SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->max_size);
  /* No CURLOPT_PIPEWAIT: curl 7.88 parks a second transfer to a host whose
   * multiplexing is not known yet until some transfer ends, which stalls
   * HTTP/1.1 hosts behind a slow first response. */
  SET(CURLOPT_SUPPRESS_CONNECT_HEADERS, 1L);
  SET(CURLOPT_ERRORBUFFER, t->errbuf);
  SET(CURLOPT_HEADERFUNCTION, on_header);
  SET(CURLOPT_HEADERDATA, (void *)t);
  SET(CURLOPT_WRITEFUNCTION, on_write);
  SET(CURLOPT_WRITEDATA, (void *)t);
#undef SET
  if(res != CURLE_OK) {
    log_warnx("curl refused an option", "url=\"%s\" curl=\"%s\"", t->url,
              curl_easy_strerror(res));
    goto fail;
  }
  /* HTTP/2 over TLS where the server offers it; not fatal without. */
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
  if(curl_multi_add_handle(f->multi, e) != CURLM_OK)
    goto fail;
  return 0;
fail:
  curl_easy_cleanup(e);
  t->easy = NULL;
  return res == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO;
}

/* CURLcode -> negative errno, refined by the socket error when curl kept
 * one. */
static int map_error(CURLcode code, long os_errno)
{
  switch(code) {
  case CURLE_OK:
    return 0;
  case CURLE_OPERATION_TIMEDOUT:
    return -ETIMEDOUT;
  case CURLE_FILESIZE_EXCEEDED:
    return -EFBIG;
  case CURLE_COULDNT_RESOLVE_HOST:
  case CURLE_COULDNT_RESOLVE_PROXY:
    return -EHOSTUNREACH;
  case CURLE_COULDNT_CONNECT:
    if(os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
      return -EHOSTUNREACH;
    if(os_errno == ETIMEDOUT)
      return -ETIMEDOUT;
    return -ECONNREFUSED;
  case CURLE_RECV_ERROR:
  case CURLE_SEND_ERROR:
  case CURLE_GOT_NOTHING:
    return -ECONNRESET;
  case CURLE_TOO_MANY_REDIRECTS:
    return -ELOOP;
  case CURLE_UNSUPPORTED_PROTOCOL:
    return -EPROTONOSUPPORT;
  case CURLE_URL_MALFORMAT:
    return -EINVAL;
  case CURLE_OUT_OF_MEMORY:
    return -ENOMEM;
  case CURLE_ABORTED_BY_CALLBACK:
    return -ECANCELED;
  default:
    return -EIO;
  }
}

/* Makes errbuf one line of text for error. */
static void set_error_text(struct fetcher *f, struct transfer *t, int error,
                           CURLcode code)
{
  char *p;
  size_t n;

  if(error == -EFBIG)
    snprintf(t->errbuf, sizeof(t->errbuf),
             "response body larger than %zu bytes", f->max_size);
  else if(error == -ENOMEM)
    snprintf(t->errbuf, sizeof(t->errbuf), "out of memory");
  else if(error == -ECANCELED)
    snprintf(t->errbuf, sizeof(t->errbuf), "transfer aborted");
  else if(error == t->doom)
    snprintf(t->errbuf, sizeof(t->errbuf), "cannot watch socket: %s",
             uv_strerror(error));
  else if(!t->errbuf[0])
    snprintf(t->errbuf, sizeof(t->errbuf), "%s", curl_easy_strerror(code));
  for(p = t->errbuf; *p; p++)
    if(*p == '\r' || *p == '\n' || *p == '\t')
      *p = ' ';
  n = strlen(t->errbuf);
  while(n > 0 && t->errbuf[n - 1] == ' ')
    t->errbuf[--n] = '\0';
}

/* Fills r from what t received; error overrides curl's verdict when not
 * 0. Everything r points to lives as long as t. */
static void fill_result(struct fetcher *f, struct transfer *t, CURLcode code,
                        int error, struct fetch_result *r)
{
  curl_off_t size = 0;
  curl_off_t usecs = 0;
  long header_size = 0;
  long os_errno = 0;
  char *url = NULL;

  memset(r, 0, sizeof(*r));
  if(t->easy) {
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &r->status);
    curl_easy_getinfo(t->easy, CURLINFO_EFFECTIVE_URL, &url);
    curl_easy_getinfo(t->easy, CURLINFO_SIZE_DOWNLOAD_T, &size);
    curl_easy_getinfo(t->easy, CURLINFO_HEADER_SIZE, &header_size);
    curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &usecs);
    curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
  }
  if(!error)
    error = t->doom ? t->doom : t->error;
  if(!error)
    error = map_error(code, os_errno);
  r->error = error;
  r->final_url = url ? url : t->url;
  r->content_type = t->r_type;
  r->retry_after = t->retry_after;
  r->max_age = t->max_age;
  r->bytes = (int64_t)size + header_size;
  r->seconds = (double)usecs / 1e6;
  if(error) {
    /* Nothing of a failed response may be taken for the feed's: no body,
     * no validators, no move. */
    set_error_text(f, t, error, code);
    r->error_text = t->errbuf;
    r->body = "";
    return;
  }
  r->body = t->body.data ? t->body.data : "";
  r->len = t->body.len;
  r->body_buf = &t->body;
  r->etag = t->r_etag;
  r->last_modified = t->r_last_modified;
  r->permanent_url = t->perm_url;
}

/* Runs t's callback and frees it; t is in no list and not in curl. */
static void finish(struct fetcher *f, struct transfer *t, CURLcode code,
                   int error)
{
  struct fetch_result r;

  fill_result(f, t, code, error, &r);
  if(r.error)
    log_debug("fetch failed", "url=\"%s\" status=%ld error=%d reason=\"%s\"",
              t->url, r.status, r.error, r.error_text);
  else
    log_debug("fetched", "url=\"%s\" status=%ld bytes=%" PRId64 " seconds=%.3f",
              t->url, r.status, r.bytes, r.seconds);
  f->total--;
  t->cb(&r, t->data);
  transfer_free(t);
}

/* Returns the transfer behind e, or NULL (curl's internal handles). */
static struct transfer *easy_transfer(CURL *e)
{
  char *p = NULL;

  curl_easy_getinfo(e, CURLINFO_PRIVATE, &p);
  return (struct transfer *)(void *)p;
}

/* Takes t out of curl and its host's count. */
static void transfer_detach(struct fetcher *f, struct transfer *t)
{
  curl_multi_remove_handle(f->multi, t->easy);
  list_del(&t->link);
  f->running--;
  host_release(f, t->host);
  t->host = NULL;
}

static void on_kick(uv_timer_t *h);

static void kick_later(struct fetcher *f)
{
  if(!uv_is_active((uv_handle_t *)&f->kick))
    uv_timer_start(&f->kick, on_kick, 0, 0);
}

/* Starts waiting transfers while the limits leave room. Never calls a
 * callback: a transfer that cannot start waits in f->failed for the kick
 * timer. */
static void dispatch(struct fetcher *f)
{
  while(!f->closing && f->running < (size_t)f->concurrency &&
        !list_empty(&f->ready)) {
    struct host *h = container_of(f->ready.next, struct host, ready);
    struct transfer *t = container_of(h->queue.next, struct transfer, link);
    int rc;

    list_del(&h->ready);
    list_del(&t->link);
    h->active++;
    host_wake(f, h);
    rc = transfer_begin(f, t);
    if(rc < 0) {
      t->error = rc;
      host_release(f, h);
      t->host = NULL;
      list_push(&f->failed, &t->link);
      kick_later(f);
      continue;
    }
    list_push(&f->active, &t->link);
    f->running++;
  }
}

/* Entering and leaving code that may run user callbacks: a fetcher_close
 * from inside one aborts at once but releases curl and the handles only
 * when the outermost level unwinds. */
static void finish_close(struct fetcher *f);

static void enter(struct fetcher *f)
{
  f->depth++;
}

static void leave(struct fetcher *f)
{
  if(--f->depth == 0 && f->closing && !f->finishing)
    finish_close(f);
}

static void drain(struct fetcher *f)
{
  CURLMsg *m;
  int left;

  while(!f->closing && (m = curl_multi_info_read(f->multi, &left))) {
    struct transfer *t;
    CURLcode code;
    CURL *e;

    if(m->msg != CURLMSG_DONE)
      continue;
    /* m is gone once the handle is removed */
    e = m->easy_handle;
    code = m->data.result;
    t = easy_transfer(e);
    if(!t) {
      curl_multi_remove_handle(f->multi, e);
      continue;
    }
    transfer_detach(f, t);
    finish(f, t, code, 0);
  }
}

static void drive(struct fetcher *f, curl_socket_t fd, int flags)
{
  CURLMcode mc;
  int running;

  if(f->finishing)
    return;
  enter(f);
  mc = curl_multi_socket_action(f->multi, fd, flags, &running);
  if(mc != CURLM_OK)
    log_warnx("curl_multi_socket_action failed", "curl=\"%s\"",
              curl_multi_strerror(mc));
  drain(f);
  dispatch(f);
  leave(f);
}

static void on_timeout(uv_timer_t *h)
{
  struct fetcher *f = h->data;

  f->in_timer = true;
  drive(f, CURL_SOCKET_TIMEOUT, 0);
  f->in_timer = false;
}

/* CURLMOPT_TIMERFUNCTION: only (re)arms the uv timer; socket_action must
 * not be called from here. */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
  struct fetcher *f = userp;

  (void)multi;
  if(timeout_ms < 0) {
    uv_timer_stop(&f->timer);
    return 0;
  }
  /* libuv 1.44 runs a 0 ms timer started from a timer callback in the
   * same pass; 1 ms lets the loop poll for I/O in between. */
  if(timeout_ms == 0 && f->in_timer)
    timeout_ms = 1;
  uv_timer_start(&f->timer, on_timeout, (uint64_t)timeout_ms, 0);
  return 0;
}

static void on_poll(uv_poll_t *h, int status, int events)
{
  struct sock *s = h->data;
  int flags = 0;

  if(status < 0) {
    /* Report the error, and let curl read or write so that it fails with
     * the socket's own error ("Connection reset by peer") rather than
     * "select/poll returned error". libuv stopped watching; curl either
     * closes the socket or gets it watched again below. */
    flags = CURL_CSELECT_ERR;
    if(s->events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if(s->events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  } else {
    if(events & UV_READABLE)
      flags |= CURL_CSELECT_IN;
    if(events & UV_WRITABLE)
      flags |= CURL_CSELECT_OUT;
  }
  /* s stays allocated until its close callback, which runs later */
  drive(s->f, s->fd, flags);
  if(status < 0 && !list_empty(&s->link) && s->events && !s->f->finishing)
    uv_poll_start(&s->poll, s->events, on_poll);
}

static void handle_gone(struct fetcher *f);

static void on_sock_closed(uv_handle_t *h)
{
  struct sock *s = h->data;
  struct fetcher *f = s->f;

  free(s);
  handle_gone(f);
}

static void sock_close(struct sock *s)
{
  list_del(&s->link);
  uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

/* A socket of e's cannot be watched: e would hang until its timeout, so
 * it is finished from the kick timer. Returning -1 to curl instead would
 * kill the whole multi handle. */
static void doom(struct fetcher *f, CURL *e, int rc)
{
  struct transfer *t = easy_transfer(e);

  log_warnx("cannot watch a socket", "error=\"%s\"", uv_strerror(rc));
  if(t && !t->doom) {
    t->doom = rc;
    kick_later(f);
  }
}

/* CURLMOPT_SOCKETFUNCTION. Always returns 0 (see doom). */
static int on_socket(CURL *e, curl_socket_t fd, int what, void *userp,
                     void *socketp)
{
  struct fetcher *f = userp;
  struct sock *s = socketp;
  int events = 0;
  int rc;

  if(what == CURL_POLL_REMOVE) {
    /* At once: curl closes fd next, and the number may come back for a
     * new socket that libuv must be able to watch. */
    if(s)
      sock_close(s);
    return 0;
  }
  if(!s) {
    s = calloc(1, sizeof(*s));
    if(!s) {
      doom(f, e, -ENOMEM);
      return 0;
    }
    rc = uv_poll_init_socket(f->loop, &s->poll, fd);
    if(rc < 0) {
      free(s);
      doom(f, e, rc);
      return 0;
    }
    s->poll.data = s;
    s->f = f;
    s->fd = fd;
    list_push(&f->socks, &s->link);
    f->handles++;
    curl_multi_assign(f->multi, fd, s);
  }
  if(what & CURL_POLL_IN)
    events |= UV_READABLE;
  if(what & CURL_POLL_OUT)
    events |= UV_WRITABLE;
  s->events = events;
  rc = events ? uv_poll_start(&s->poll, events, on_poll)
              : uv_poll_stop(&s->poll);
  if(rc < 0)
    doom(f, e, rc);
  return 0;
}

/* Deferred work that must not run inside fetch_start or a curl
 * callback: reporting transfers that could not start, finishing doomed
 * ones. */
static void on_kick(uv_timer_t *h)
{
  struct fetcher *f = h->data;

  enter(f);
  while(!f->closing && !list_empty(&f->failed)) {
    struct transfer *t = container_of(f->failed.next, struct transfer, link);

    list_del(&t->link);
    finish(f, t, CURLE_OK, t->error);
  }
  for(struct link *l = f->active.next; !f->closing && l != &f->active;) {
    struct transfer *t = container_of(l, struct transfer, link);

    if(!t->doom) {
      l = l->next;
      continue;
    }
    transfer_detach(f, t);
    finish(f, t, CURLE_OK, t->doom);
    l = f->active.next; /* the callback may have changed the list */
  }
  dispatch(f);
  leave(f);
}

int fetcher_new(uv_loop_t *loop, const struct fetch_options *opts,
                struct fetcher **out)
{
  struct fetcher *f;
  const char *ua;

  *out = NULL;
  if(!loop || !opts)
    return -EINVAL;
  f = calloc(1, sizeof(*f));
  if(!f)
    return -ENOMEM;
  f->loop = loop;
  f->concurrency =
      opts->concurrency > 0 ? opts->concurrency : DEFAULT_CONCURRENCY;
  f->per_host = opts->per_host > 0 ? opts->per_host : DEFAULT_PER_HOST;
  f->connect_timeout = opts->connect_timeout > 0 ? opts->connect_timeout
                                                 : DEFAULT_CONNECT_TIMEOUT;
  f->timeout = opts->timeout > 0 ? opts->timeout : DEFAULT_TIMEOUT;
  f->max_size = opts->max_size > 0 ? opts->max_size : DEFAULT_MAX_SIZE;
  ua = opts->user_agent && *opts->user_agent ? opts->user_agent
                                             : FRESHET_USER_AGENT;
  list_init(&f->ready);
  list_init(&f->active);
  list_init(&f->failed);
  list_init(&f->socks);
  f->nbuckets = 64;
  f->buckets = calloc(f->nbuckets, sizeof(*f->buckets));
  f->user_agent = strdup(ua);
  if(!f->buckets || !f->user_agent)
    goto fail;
  /* reference counted; main has normally done it already */
  if(curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    goto fail;
  f->multi = curl_multi_init();
  f->share = curl_share_init();
  if(!f->multi || !f->share)
    goto fail_curl;
  curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
  curl_share_setopt(f->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
  curl_multi_setopt(f->multi, CURLMOPT_SOCKETDATA, (void *)f);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
  curl_multi_setopt(f->multi, CURLMOPT_TIMERDATA, (void *)f);
  curl_multi_setopt(f->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, f->concurrency);
  curl_multi_setopt(f->multi, CURLMOPT_MAX_HOST_CONNECTIONS, f->per_host);
  curl_multi_setopt(f->multi, CURLMOPT_MAXCONNECTS, f->concurrency);
  curl_multi_setopt(f->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
  /* Cannot fail on Unix; last, since they can only be undone by a close
   * that finishes later. */
  uv_timer_init(loop, &f->timer);
  uv_timer_init(loop, &f->kick);
  f->timer.data = f;
  f->kick.data = f;
  f->handles = 2;
  *out = f;
  return 0;
fail_curl:
  curl_share_cleanup(f->share);
  curl_multi_cleanup(f->multi);
  curl_global_cleanup();
fail:
  free(f->buckets);
  free(f->user_agent);
  free(f);
  return -ENOMEM;
}

int fetch_start(struct fetcher *f, const struct fetch_request *req, fetch_cb cb,
                void *data)
{
  struct transfer *t;
  struct host *h;
  char *name;
  int rc;

  if(!f || !req || !req->url || !cb)
    return -EINVAL;
  if(f->closing)
    return -ECANCELED;
  rc = url_host(req->url, &name);
  if(rc < 0)
    return rc;
  t = transfer_new(req, cb, data);
  h = t ? host_get(f, name) : NULL;
  free(name);
  if(!h) {
    free(t);
    return -ENOMEM;
  }
  t->f = f;
  t->host = h;
  list_push(&h->queue, &t->link);
  host_wake(f, h);
  f->total++;
  dispatch(f);
  return 0;
}

size_t fetcher_active(const struct fetcher *f)
{
  return f ? f->total : 0;
}

/* Every transfer ends with -ECANCELED: those in curl, those waiting for a
 * slot, those whose failure was not reported yet. */
static void abort_all(struct fetcher *f)
{
  while(!list_empty(&f->active)) {
    struct transfer *t = container_of(f->active.next, struct transfer, link);

    transfer_detach(f, t);
    finish(f, t, CURLE_OK, -ECANCELED);
  }
  /* with nothing in curl, every host with waiting transfers is ready */
  while(!list_empty(&f->ready)) {
    struct host *h = container_of(f->ready.next, struct host, ready);

    while(!list_empty(&h->queue)) {
      struct transfer *t = container_of(h->queue.next, struct transfer, link);

      list_del(&t->link);
      t->host = NULL;
      finish(f, t, CURLE_OK, -ECANCELED);
    }
    host_remove(f, h);
  }
  while(!list_empty(&f->failed)) {
    struct transfer *t = container_of(f->failed.next, struct transfer, link);

    list_del(&t->link);
    finish(f, t, CURLE_OK, -ECANCELED);
  }
}

/* One of f's uv handles is closed; after the last one, f goes. */
static void handle_gone(struct fetcher *f)
{
  void (*cb)(void *);
  void *data;

  if(--f->handles > 0 || !f->finishing)
    return;
  cb = f->closed_cb;
  data = f->closed_data;
  if(cb)
    cb(data);
  free(f->buckets);
  free(f->user_agent);
  free(f);
  curl_global_cleanup();
}

static void on_handle_closed(uv_handle_t *h)
{
  handle_gone(h->data);
}

/* Releases curl first (its cleanup still calls the socket and timer
 * functions), then closes every uv handle; on_handle_closed frees f after
 * the last one. */
static void finish_close(struct fetcher *f)
{
  f->finishing = true;
  curl_multi_cleanup(f->multi);
  f->multi = NULL;
  curl_share_cleanup(f->share);
  f->share = NULL;
  while(!list_empty(&f->socks))
    sock_close(container_of(f->socks.next, struct sock, link));
  uv_close((uv_handle_t *)&f->timer, on_handle_closed);
  uv_close((uv_handle_t *)&f->kick, on_handle_closed);
}

void fetcher_close(struct fetcher *f, void (*closed_cb)(void *data), void *data)
{
  if(!f || f->closing)
    return;
  f->closing = true;
  f->closed_cb = closed_cb;
  f->closed_data = data;
  enter(f);
  abort_all(f);
  leave(f);
}

/* Appends s (NULL stays NULL) at *p inside the copy's block. */
static const char *copy_into(char **p, const char *s, size_t len)
{
  char *d = *p;

  if(!s)
    return NULL;
  memcpy(d, s, len);
  d[len] = '\0';
  *p += len + 1;
  return d;
}

struct fetch_result *fetch_result_keep(struct fetch_result *r)
{
  const char *strs[] = {r->error_text,    r->content_type, r->etag,
                        r->last_modified, r->final_url,    r->permanent_url};
  size_t size = sizeof(*r);
  struct fetch_result *c;
  char *p;

  for(size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++)
    size += strs[i] ? strlen(strs[i]) + 1 : 0;
  c = malloc(size);
  if(!c)
    return NULL;
  *c = *r;
  p = (char *)(c + 1);
  c->body_buf = NULL;
  c->kept_body = NULL;
  c->body = "";
  c->len = 0;
  /* A body is the fetcher's buffer, whole: take it (it is NUL-terminated
   * and freed with the transfer otherwise). */
  if(r->body_buf && r->len) {
    c->len = r->len;
    c->body = c->kept_body = buf_steal(r->body_buf);
    r->body = "";
    r->len = 0;
  }
  c->error_text =
      copy_into(&p, r->error_text, r->error_text ? strlen(r->error_text) : 0);
  c->content_type = copy_into(&p, r->content_type,
                              r->content_type ? strlen(r->content_type) : 0);
  c->etag = copy_into(&p, r->etag, r->etag ? strlen(r->etag) : 0);
  c->last_modified = copy_into(&p, r->last_modified,
                               r->last_modified ? strlen(r->last_modified) : 0);
  c->final_url =
      copy_into(&p, r->final_url, r->final_url ? strlen(r->final_url) : 0);
  c->permanent_url = copy_into(&p, r->permanent_url,
                               r->permanent_url ? strlen(r->permanent_url) : 0);
  return c;
}

void fetch_result_drop_body(struct fetch_result *r)
{
  free(r->kept_body);
  r->kept_body = NULL;
  r->body = "";
  r->len = 0;
}

void fetch_result_free(struct fetch_result *r)
{
  if(r)
    free(r->kept_body);
  free(r);
}
