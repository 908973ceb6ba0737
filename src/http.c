/*
 * http.c: the built-in HTTP server. libmicrohttpd runs its own threads
 * (poll(), a small thread pool), so nothing a client does
 * can block polling. Every published document is an immutable, reference
 * counted snapshot (bytes, a gzip copy when smaller, a strong ETag from a
 * hash of the bytes, Last-Modified = time of the update) that
 * http_update swaps under a mutex; a request takes a reference under the
 * mutex and MHD drops it in the response's free callback, so a swap never
 * frees bytes that are being sent. Nothing is read from disk per request:
 * the widget files are read once by http_start, and only fixed routes
 * exist.
 *
 * Decisions the contract leaves open:
 * - A known document not published yet answers 503 with Retry-After (a
 *   reader that sees 404 may drop the subscription); other names 404.
 * - /healthz: 503 "starting" before the first completed cycle, 200
 *   "ok last_cycle=..." while the last cycle is at most 3 intervals old,
 *   503 "stale last_cycle=..." after that.
 * - /recent.json?limit=N takes 1..HTTP_LIMIT_MAX; more than the items
 *   present gives them all (a widget asks for 5 before there are 5).
 *   ?source=NAME keeps the items whose source.name is NAME.
 * - OPTIONS on a route is 204 with Allow and the CORS preflight headers.
 * - A request with a body is refused (413; 400 for the smuggling shapes
 *   "Content-Length and Transfer-Encoding" and "two Content-Lengths") and
 *   the connection is closed.
 */
#include "http.h"

#include "http_doc.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define HTTP_CONN_LIMIT 1024       /* connections at once, all clients */
#define HTTP_PER_IP_LIMIT 64       /* connections at once from one address */
#define HTTP_TIMEOUT 15            /* seconds a connection may stay idle */
#define HTTP_MEMORY (32 * 1024)    /* per connection: request head + reply */
#define HTTP_BACKLOG 511           /* listen queue */
#define HTTP_THREADS_MAX 4         /* MHD worker threads */
#define HTTP_WIDGET_MAX (1 << 20)  /* largest widget file read */
#define HTTP_LIMIT_MAX 10000       /* largest ?limit= */
#define HTTP_NAME_MAX 64           /* longest document name */
#define HTTP_RETRY_AFTER "10"      /* seconds, for a document not yet there */
#define HTTP_DEFAULT_INTERVAL 1800 /* when the stats carry no interval */

#define DOC_CACHE "public, max-age=60"
#define WIDGET_CACHE "public, max-age=3600"
#define ALLOW "GET, HEAD, OPTIONS"

/* A name served at "/" + name and its current document. */
struct slot {
  char name[HTTP_NAME_MAX + 1];
  struct http_doc *doc; /* NULL until published */
};

enum widget { WIDGET_JS, WIDGET_CSS, WIDGET_DEMO, WIDGET_N };

static const char *const widget_files[WIDGET_N] = {"widget.js", "widget.css",
                                                   "demo.html"};
static const char *const widget_types[WIDGET_N] = {
    "text/javascript; charset=utf-8", "text/css; charset=utf-8",
    "text/html; charset=utf-8"};

/* The documents the publisher writes: their routes exist (503 until the
 * first publish) and these are their types when the caller gives none. */
static const struct {
  const char *name;
  const char *ctype;
} known_docs[] = {
    {"feed.atom", "application/atom+xml; charset=utf-8"},
    {"feed.rss", "application/rss+xml; charset=utf-8"},
    {"feed.json", "application/feed+json; charset=utf-8"},
    {"feeds.opml", "text/x-opml; charset=utf-8"},
    {"recent.json", "application/json; charset=utf-8"},
};
#define KNOWN_N (sizeof(known_docs) / sizeof(known_docs[0]))

struct http {
  struct MHD_Daemon *mhd;
  pthread_mutex_t lock; /* guards slots, nslots, stats, have_stats, start */
  struct slot *slots;
  size_t nslots;
  struct http_stats stats;
  bool have_stats;
  struct http_doc *widget[WIDGET_N]; /* immutable after http_start */
  bool starting;                     /* collect MHD's messages into start_err */
  char start_err[256];
};

/* ---- small helpers ---- */

static char lower(char c)
{
  return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

/* Whether s[0..n) equals the lowercase word w, ignoring ASCII case. */
static bool word_eq(const char *s, size_t n, const char *w)
{
  size_t i;

  for(i = 0; i < n; i++)
    if(w[i] == '\0' || lower(s[i]) != w[i])
      return false;
  return w[i] == '\0';
}

static void rfc3339(time_t t, char *buf, size_t size)
{
  struct tm tm;

  gmtime_r(&t, &tm);
  strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* ---- snapshots ---- */

/* MHD's free callback for a response that sends a snapshot's bytes. */
static void doc_release(void *cls)
{
  http_doc_unref(cls);
}

/* Reads dir's widget file w, or NULL (logged) when it is not there. */
static struct http_doc *widget_load(const char *dir, enum widget w)
{
  char path[4096];

  snprintf(path, sizeof(path), "%s/%s", dir, widget_files[w]);
  return http_doc_load(path, widget_types[w],
                       w == WIDGET_DEMO ? DOC_CACHE : WIDGET_CACHE,
                       w != WIDGET_DEMO, HTTP_WIDGET_MAX);
}

/* ---- the listening socket ---- */

/* Opens a listening socket for ai. Returns the fd or -errno. */
static int listen_on(const struct sockaddr *sa, socklen_t salen, bool dual)
{
  int one = 1, v6only = dual ? 0 : 1;
  int fd, e;

  fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if(fd < 0)
    return -errno;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if(sa->sa_family == AF_INET6)
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
  if(bind(fd, sa, salen) < 0 || listen(fd, HTTP_BACKLOG) < 0) {
    e = errno;
    close(fd);
    return -e;
  }
  return fd;
}

/* Parses listen ("host:port", "[v6]:port", ":port") and opens it. Returns
 * the fd, or a negative code with the reason in err. */
static int open_listener(const char *listen, char *err, size_t errlen)
{
  char host[256];
  const char *colon, *port;
  struct addrinfo hints, *res = NULL;
  unsigned long pnum = 0;
  size_t hlen;
  int fd = -EINVAL, rc;

  if(listen == NULL || *listen == '\0') {
    snprintf(err, errlen, "listen is empty");
    return -EINVAL;
  }
  if(*listen == '[') {
    const char *end = strchr(listen, ']');

    if(end == NULL || end[1] != ':') {
      snprintf(err, errlen, "listen '%s': expected [address]:port", listen);
      return -EINVAL;
    }
    hlen = (size_t)(end - listen - 1);
    if(hlen == 0 || hlen >= sizeof(host)) {
      snprintf(err, errlen, "listen '%s': bad address", listen);
      return -EINVAL;
    }
    memcpy(host, listen + 1, hlen);
    colon = end + 1;
  } else {
    colon = strrchr(listen, ':');
    if(colon == NULL) {
      snprintf(err, errlen,
               "listen '%s': missing port (host:port, [v6]:port or :port)",
               listen);
      return -EINVAL;
    }
    hlen = (size_t)(colon - listen);
    if(memchr(listen, ':', hlen)) {
      snprintf(err, errlen,
               "listen '%s': an IPv6 address needs brackets: [addr]:port",
               listen);
      return -EINVAL;
    }
    if(hlen >= sizeof(host)) {
      snprintf(err, errlen, "listen '%s': bad address", listen);
      return -EINVAL;
    }
    memcpy(host, listen, hlen);
  }
  host[hlen] = '\0';
  port = colon + 1;
  for(const char *p = port; *p; p++)
    pnum = is_digit(*p) && pnum <= 65535 ? pnum * 10 + (unsigned)(*p - '0')
                                         : 65536;
  if(*port == '\0' || strlen(port) > 5 || pnum > 65535) {
    snprintf(err, errlen, "listen '%s': bad port", listen);
    return -EINVAL;
  }

  if(hlen == 0) {
    /* All interfaces: one dual-stack socket, or IPv4 when there is no v6. */
    struct sockaddr_in6 s6;
    struct sockaddr_in s4;

    memset(&s6, 0, sizeof(s6));
    s6.sin6_family = AF_INET6;
    s6.sin6_addr = in6addr_any;
    s6.sin6_port = htons((uint16_t)pnum);
    fd = listen_on((struct sockaddr *)&s6, sizeof(s6), true);
    if(fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
      memset(&s4, 0, sizeof(s4));
      s4.sin_family = AF_INET;
      s4.sin_addr.s_addr = htonl(INADDR_ANY);
      s4.sin_port = htons((uint16_t)pnum);
      fd = listen_on((struct sockaddr *)&s4, sizeof(s4), false);
    }
  } else {
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host, port, &hints, &res);
    if(rc != 0) {
      snprintf(err, errlen, "listen '%s': bad address: %s", listen,
               gai_strerror(rc));
      return -EINVAL;
    }
    for(struct addrinfo *ai = res; ai; ai = ai->ai_next) {
      fd = listen_on(ai->ai_addr, ai->ai_addrlen, false);
      if(fd >= 0)
        break;
    }
    freeaddrinfo(res);
  }
  if(fd < 0)
    snprintf(err, errlen, "listen '%s': %s", listen, strerror(-fd));
  return fd;
}

/* ---- request parsing ---- */

/* Whether the Accept-Encoding value allows gzip (q-values honoured). */
static bool accepts_gzip(const char *ae)
{
  int gz = -1, star = -1; /* -1 unseen, 0 refused, 1 accepted */

  while(ae && *ae) {
    const char *tok, *end = ae + strcspn(ae, ",");
    size_t n;
    int ok = 1;

    while(ae < end && is_space(*ae))
      ae++;
    tok = ae;
    n = strcspn(tok, ";, \t");
    if(tok + n > end)
      n = (size_t)(end - tok);
    for(const char *p = tok + n; p < end; p++) {
      if(*p != ';')
        continue;
      p++;
      while(p < end && is_space(*p))
        p++;
      if(p + 1 < end && lower(p[0]) == 'q' && p[1] == '=') {
        /* q=0, q=0., q=0.000 refuse; anything else accepts. */
        ok = 0;
        for(p += 2; p < end && !is_space(*p) && *p != ';'; p++)
          if(*p >= '1' && *p <= '9')
            ok = 1;
        p--;
      }
    }
    if(word_eq(tok, n, "gzip") || word_eq(tok, n, "x-gzip"))
      gz = gz == 1 ? 1 : ok;
    else if(word_eq(tok, n, "*"))
      star = ok;
    ae = *end ? end + 1 : end;
  }
  return gz >= 0 ? gz == 1 : star == 1;
}

/* Whether the If-None-Match list names etag or etag_gz ("*" matches all;
 * comparison is weak, so W/ is ignored). */
static bool etag_matches(const char *inm, const char *etag, const char *etag_gz)
{
  const char *p = inm;

  while(*p) {
    const char *tag;
    size_t n;

    while(*p == ',' || is_space(*p))
      p++;
    if(*p == '\0')
      break;
    if(*p == '*')
      return true;
    if(p[0] == 'W' && p[1] == '/')
      p += 2;
    tag = p;
    if(*p == '"') {
      const char *q = strchr(p + 1, '"');

      n = q ? (size_t)(q - p) + 1 : strlen(p);
    } else {
      n = strcspn(p, ", \t");
    }
    if((strlen(etag) == n && memcmp(tag, etag, n) == 0) ||
       (etag_gz && strlen(etag_gz) == n && memcmp(tag, etag_gz, n) == 0))
      return true;
    p = tag + n;
    while(*p && *p != ',')
      p++;
  }
  return false;
}

static const char *header(struct MHD_Connection *c, const char *name)
{
  return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* RFC 9110 13.2.2: If-None-Match decides when present; otherwise
 * If-Modified-Since, when it is a valid date not in the future. */
static bool not_modified(struct MHD_Connection *c, const char *etag,
                         const char *etag_gz, time_t mtime)
{
  const char *inm = header(c, MHD_HTTP_HEADER_IF_NONE_MATCH);
  const char *ims;
  time_t t;

  if(inm)
    return etag_matches(inm, etag, etag_gz);
  ims = header(c, MHD_HTTP_HEADER_IF_MODIFIED_SINCE);
  if(ims == NULL)
    return false;
  t = curl_getdate(ims, NULL);
  return t != -1 && t <= time(NULL) && t >= mtime;
}

struct body_check {
  int content_length;
  int transfer_encoding;
  bool nonzero;  /* a Content-Length other than 0 */
  bool bad_name; /* a header name that is not a token ("Content-Length ") */
};

/* RFC 9110 5.6.2 tchar. */
static bool is_token(const char *s)
{
  if(*s == '\0')
    return false;
  for(; *s; s++)
    if(!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || is_digit(*s) ||
         strchr("!#$%&'*+-.^_`|~", *s)))
      return false;
  return true;
}

static enum MHD_Result count_body_headers(void *cls, enum MHD_ValueKind kind,
                                          const char *key, const char *value)
{
  struct body_check *b = cls;

  (void)kind;
  if(!is_token(key))
    b->bad_name = true;
  if(strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
    b->content_length++;
    if(value == NULL || strspn(value, "0") != strlen(value) || *value == 0)
      b->nonzero = true;
  } else if(strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
    b->transfer_encoding++;
  }
  return MHD_YES;
}

/* ---- responses ---- */

/* Adds one header; false on out of memory. */
static bool add(struct MHD_Response *r, const char *k, const char *v)
{
  return MHD_add_response_header(r, k, v) == MHD_YES;
}

static bool add_cors(struct MHD_Response *r)
{
  return add(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, "*");
}

/* Adds what every response carries, queues r unless a header failed (ok)
 * and drops our reference to r. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status,
                             struct MHD_Response *r, bool ok)
{
  enum MHD_Result ret = MHD_NO;

  if(r == NULL)
    return MHD_NO;
  if(ok && add(r, "X-Content-Type-Options", "nosniff"))
    ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

/* A short text/plain reply. close: end the connection after it. */
static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
                                  const char *text, bool close)
{
  struct MHD_Response *r = MHD_create_response_from_buffer(
      strlen(text), (void *)(uintptr_t)text, MHD_RESPMEM_MUST_COPY);
  bool ok;

  if(r == NULL)
    return MHD_NO;
  ok = add(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8") &&
       add(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
  if(close)
    ok = ok && add(r, MHD_HTTP_HEADER_CONNECTION, "close");
  if(status == MHD_HTTP_METHOD_NOT_ALLOWED)
    ok = ok && add(r, MHD_HTTP_HEADER_ALLOW, ALLOW);
  if(status == MHD_HTTP_SERVICE_UNAVAILABLE)
    ok = ok && add(r, MHD_HTTP_HEADER_RETRY_AFTER, HTTP_RETRY_AFTER);
  return queue(c, status, r, ok);
}

/* 204 for OPTIONS: Allow, plus the preflight answer where CORS applies. */
static enum MHD_Result reply_options(struct MHD_Connection *c, bool cors)
{
  struct MHD_Response *r =
      MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
  bool ok;

  if(r == NULL)
    return MHD_NO;
  ok = add(r, MHD_HTTP_HEADER_ALLOW, ALLOW);
  if(cors)
    ok = ok && add_cors(r) &&
         add(r, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_METHODS, ALLOW) &&
         add(r, "Access-Control-Allow-Headers",
             "If-None-Match, If-Modified-Since, Cache-Control") &&
         add(r, MHD_HTTP_HEADER_ACCESS_CONTROL_MAX_AGE, "86400");
  return queue(c, MHD_HTTP_NO_CONTENT, r, ok);
}

static bool add_doc_headers(struct MHD_Response *r, const struct http_doc *d,
                            const char *etag)
{
  bool ok;

  ok = add(r, MHD_HTTP_HEADER_ETAG, etag) &&
       add(r, MHD_HTTP_HEADER_LAST_MODIFIED, d->lastmod) &&
       add(r, MHD_HTTP_HEADER_CACHE_CONTROL, d->cache) &&
       add(r, MHD_HTTP_HEADER_VARY, MHD_HTTP_HEADER_ACCEPT_ENCODING);
  if(d->cors)
    ok = ok && add_cors(r);
  return ok;
}

/* Serves snapshot d, whose reference the caller hands over: 304 when the
 * request's validators match, else the bytes (gzip when the client takes
 * it and the copy exists). The response keeps the reference until MHD
 * has sent the bytes. */
static enum MHD_Result serve_doc(struct MHD_Connection *c, struct http_doc *d)
{
  bool gz = d->gz && accepts_gzip(header(c, MHD_HTTP_HEADER_ACCEPT_ENCODING));
  const char *etag = gz ? d->etag_gz : d->etag;
  struct MHD_Response *r;
  enum MHD_Result ret = MHD_NO;
  bool ok;

  /* Either coding's tag names this version. */
  if(not_modified(c, d->etag, d->gz ? d->etag_gz : NULL, d->mtime)) {
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if(r)
      ret = queue(c, MHD_HTTP_NOT_MODIFIED, r, add_doc_headers(r, d, etag));
    http_doc_unref(d); /* only now: the headers were read from d */
    return ret;
  }
  r = MHD_create_response_from_buffer_with_free_callback_cls(
      gz ? d->gzlen : d->len, gz ? d->gz : d->body, doc_release, d);
  if(r == NULL) {
    http_doc_unref(d);
    return MHD_NO;
  }
  ok = add(r, MHD_HTTP_HEADER_CONTENT_TYPE, d->ctype) &&
       add_doc_headers(r, d, etag);
  if(gz)
    ok = ok && add(r, MHD_HTTP_HEADER_CONTENT_ENCODING, "gzip");
  return queue(c, MHD_HTTP_OK, r, ok);
}

/* recent.json with ?limit / ?source; takes over the reference to d. */
static enum MHD_Result serve_recent(struct MHD_Connection *c,
                                    struct http_doc *d, const char *limit,
                                    const char *source)
{
  unsigned long n = HTTP_LIMIT_MAX;
  struct http_doc *v;

  if(limit) {
    size_t digits = strspn(limit, "0123456789");

    n = 0;
    for(size_t i = 0; i < digits && n <= HTTP_LIMIT_MAX; i++)
      n = n * 10 + (unsigned long)(limit[i] - '0');
    if(digits == 0 || limit[digits] != '\0' || n < 1 || n > HTTP_LIMIT_MAX) {
      http_doc_unref(d);
      return reply_text(c, MHD_HTTP_BAD_REQUEST,
                        "bad limit: expected a whole number from 1 to 10000\n",
                        false);
    }
  }
  if(d->recent == NULL)
    return serve_doc(c, d); /* it did not parse: serve it as it is */
  v = http_recent_select(d, source, n);
  http_doc_unref(d);
  if(v == NULL)
    return MHD_NO;
  return serve_doc(c, v);
}

static enum MHD_Result serve_healthz(struct http *h, struct MHD_Connection *c)
{
  struct http_stats s;
  bool have;
  char body[96], when[32];
  int64_t interval, now = (int64_t)time(NULL);

  pthread_mutex_lock(&h->lock);
  s = h->stats;
  have = h->have_stats;
  pthread_mutex_unlock(&h->lock);
  if(!have || s.last_cycle <= 0)
    return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "starting\n", false);
  interval = s.interval > 0 ? s.interval : HTTP_DEFAULT_INTERVAL;
  rfc3339((time_t)s.last_cycle, when, sizeof(when));
  if(now - s.last_cycle <= 3 * interval) {
    snprintf(body, sizeof(body), "ok last_cycle=%s\n", when);
    return reply_text(c, MHD_HTTP_OK, body, false);
  }
  snprintf(body, sizeof(body), "stale last_cycle=%s\n", when);
  return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, body, false);
}

static enum MHD_Result serve_metrics(struct http *h, struct MHD_Connection *c)
{
  struct http_stats s;
  struct MHD_Response *r;
  char body[2560];
  int64_t ok_fetches;
  double ratio;

  pthread_mutex_lock(&h->lock);
  s = h->stats;
  pthread_mutex_unlock(&h->lock);
  ok_fetches = s.fetches_2xx + s.fetches_304;
  ratio = ok_fetches > 0 ? (double)s.fetches_304 / (double)ok_fetches : 0.0;
  snprintf(
      body, sizeof(body),
      "# HELP freshet_feeds Subscribed feeds by state.\n"
      "# TYPE freshet_feeds gauge\n"
      "freshet_feeds{state=\"ok\"} %" PRId64 "\n"
      "freshet_feeds{state=\"failing\"} %" PRId64 "\n"
      "freshet_feeds{state=\"disabled\"} %" PRId64 "\n"
      "# HELP freshet_fetches_total Feed fetches by outcome.\n"
      "# TYPE freshet_fetches_total counter\n"
      "freshet_fetches_total{status=\"2xx\"} %" PRId64 "\n"
      "freshet_fetches_total{status=\"304\"} %" PRId64 "\n"
      "freshet_fetches_total{status=\"4xx\"} %" PRId64 "\n"
      "freshet_fetches_total{status=\"5xx\"} %" PRId64 "\n"
      "freshet_fetches_total{status=\"error\"} %" PRId64 "\n"
      "# HELP freshet_fetch_bytes_total Bytes of feed bodies received.\n"
      "# TYPE freshet_fetch_bytes_total counter\n"
      "freshet_fetch_bytes_total %" PRId64 "\n"
      "# HELP freshet_not_modified_ratio Share of successful fetches "
      "answered 304 Not Modified.\n"
      "# TYPE freshet_not_modified_ratio gauge\n"
      "freshet_not_modified_ratio %.6f\n"
      "# HELP freshet_entries_stored Entries in the database.\n"
      "# TYPE freshet_entries_stored gauge\n"
      "freshet_entries_stored %" PRId64 "\n"
      "# HELP freshet_publish_seconds Duration of the last publish.\n"
      "# TYPE freshet_publish_seconds gauge\n"
      "freshet_publish_seconds %.6f\n"
      "# HELP freshet_last_cycle_timestamp_seconds End of the last completed "
      "poll cycle (0: none yet).\n"
      "# TYPE freshet_last_cycle_timestamp_seconds gauge\n"
      "freshet_last_cycle_timestamp_seconds %" PRId64 "\n",
      s.feeds_ok, s.feeds_failing, s.feeds_disabled, s.fetches_2xx,
      s.fetches_304, s.fetches_4xx, s.fetches_5xx, s.fetches_error, s.bytes,
      ratio, s.entries_stored, s.publish_seconds, s.last_cycle);
  r = MHD_create_response_from_buffer(strlen(body), body,
                                      MHD_RESPMEM_MUST_COPY);
  if(r == NULL)
    return MHD_NO;
  return queue(c, MHD_HTTP_OK, r,
               add(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                   "text/plain; version=0.0.4; charset=utf-8") &&
                   add(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store"));
}

/* ---- routing ---- */

enum route {
  ROUTE_NONE,
  ROUTE_HEALTHZ,
  ROUTE_METRICS,
  ROUTE_WIDGET,
  ROUTE_DOC
};

/* Finds url's route; for a document, *d gets a reference (NULL when it is
 * not published yet); for a widget file, *w. */
static enum route find_route(struct http *h, const char *url,
                             struct http_doc **d, enum widget *w)
{
  *d = NULL;
  if(url[0] != '/')
    return ROUTE_NONE;
  url++;
  if(strcmp(url, "healthz") == 0)
    return ROUTE_HEALTHZ;
  if(strcmp(url, "metrics") == 0)
    return ROUTE_METRICS;
  if(*url == '\0') {
    *w = WIDGET_DEMO;
    return ROUTE_WIDGET;
  }
  for(int i = 0; i < WIDGET_N; i++)
    if(strcmp(url, widget_files[i]) == 0) {
      *w = (enum widget)i;
      return ROUTE_WIDGET;
    }
  pthread_mutex_lock(&h->lock);
  for(size_t i = 0; i < h->nslots; i++)
    if(strcmp(url, h->slots[i].name) == 0) {
      *d = http_doc_ref(h->slots[i].doc);
      pthread_mutex_unlock(&h->lock);
      return ROUTE_DOC;
    }
  pthread_mutex_unlock(&h->lock);
  return ROUTE_NONE;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
                              const char *url, const char *method,
                              const char *version, const char *upload_data,
                              size_t *upload_data_size, void **con_cls)
{
  struct http *h = cls;
  struct body_check b = {0, 0, false, false};
  bool get, head, options;
  struct http_doc *d;
  enum widget w = WIDGET_JS;
  enum route route;

  (void)upload_data;
  if(*con_cls == NULL) {
    /* First call, headers only. No request has a body here: answering
     * now, before it is read, makes MHD close the connection after the
     * reply, so the body is never parsed as the next request. */
    *con_cls = h;
    MHD_get_connection_values(c, MHD_HEADER_KIND, count_body_headers, &b);
    if(b.content_length > 1 || (b.content_length && b.transfer_encoding) ||
       b.transfer_encoding > 1)
      return reply_text(c, MHD_HTTP_BAD_REQUEST, "ambiguous message length\n",
                        true);
    if(b.bad_name)
      return reply_text(c, MHD_HTTP_BAD_REQUEST, "bad header name\n", true);
    if(b.nonzero || b.transfer_encoding)
      return reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
                        "request bodies are not accepted\n", true);
    /* Everything else is answered in the second call: a reply queued in
     * the first makes MHD 0.9.75 drop keep-alive. */
    return MHD_YES;
  }
  if(*upload_data_size != 0) {
    *upload_data_size = 0; /* not reached: bodies were refused above */
    return MHD_YES;
  }

  /* RFC 9112 3.2. (MHD's strict mode checks this too, but 0.9.75 then
   * sends its error's head twice.) */
  if(strcmp(version, MHD_HTTP_VERSION_1_1) == 0 &&
     header(c, MHD_HTTP_HEADER_HOST) == NULL)
    return reply_text(c, MHD_HTTP_BAD_REQUEST, "Host header required\n", true);

  route = find_route(h, url, &d, &w);
  if(route == ROUTE_NONE)
    return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", false);

  get = strcmp(method, MHD_HTTP_METHOD_GET) == 0;
  head = strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
  options = strcmp(method, MHD_HTTP_METHOD_OPTIONS) == 0;
  if(!get && !head) {
    bool cors = route == ROUTE_WIDGET ? w != WIDGET_DEMO : route == ROUTE_DOC;

    http_doc_unref(d);
    if(options)
      return reply_options(c, cors);
    return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                      false);
  }

  switch(route) {
  case ROUTE_HEALTHZ:
    return serve_healthz(h, c);
  case ROUTE_METRICS:
    return serve_metrics(h, c);
  case ROUTE_WIDGET:
    if(h->widget[w] == NULL)
      return reply_text(c, MHD_HTTP_NOT_FOUND, "not found\n", false);
    return serve_doc(c, http_doc_ref(h->widget[w]));
  case ROUTE_DOC:
    if(d == NULL)
      return reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "not published yet\n",
                        false);
    if(strcmp(url, "/recent.json") == 0) {
      const char *limit = NULL, *source = NULL;
      bool has_limit =
          MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "limit", 5,
                                        &limit, NULL) == MHD_YES;
      bool has_source =
          MHD_lookup_connection_value_n(c, MHD_GET_ARGUMENT_KIND, "source", 6,
                                        &source, NULL) == MHD_YES;

      if(has_limit || has_source)
        return serve_recent(c, d, has_limit ? (limit ? limit : "") : NULL,
                            has_source ? (source ? source : "") : NULL);
    }
    return serve_doc(c, d);
  case ROUTE_NONE:
    break;
  }
  return MHD_NO;
}

/* MHD's messages: client misbehaviour is routine, so debug level; during
 * start the last one is kept for the error message. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
  struct http *h = cls;
  char msg[256];
  size_t n;

  vsnprintf(msg, sizeof(msg), fmt, ap);
  n = strlen(msg);
  while(n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
    msg[--n] = '\0';
  log_debug("http: libmicrohttpd", "detail=\"%s\"", msg);
  pthread_mutex_lock(&h->lock);
  if(h->starting)
    snprintf(h->start_err, sizeof(h->start_err), "%s", msg);
  pthread_mutex_unlock(&h->lock);
}

/* ---- the interface ---- */

static unsigned thread_count(void)
{
  long n = sysconf(_SC_NPROCESSORS_ONLN);

  if(n < 1)
    return 1;
  return n > HTTP_THREADS_MAX ? HTTP_THREADS_MAX : (unsigned)n;
}

/* Leaves half the descriptors to the fetcher and the database. */
static unsigned connection_limit(void)
{
  struct rlimit rl;

  if(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
     rl.rlim_cur / 2 < HTTP_CONN_LIMIT)
    return rl.rlim_cur / 2 > 16 ? (unsigned)(rl.rlim_cur / 2) : 16;
  return HTTP_CONN_LIMIT;
}

int http_start(const char *listen, const char *widget_dir, struct http **out,
               char *err, size_t errlen)
{
  struct http *h;
  unsigned threads = thread_count();
  int fd;

  *out = NULL;
  if(errlen)
    *err = '\0';
  h = calloc(1, sizeof(*h));
  if(h == NULL) {
    snprintf(err, errlen, "out of memory");
    return -ENOMEM;
  }
  pthread_mutex_init(&h->lock, NULL);
  h->slots = calloc(KNOWN_N, sizeof(*h->slots));
  if(h->slots == NULL) {
    snprintf(err, errlen, "out of memory");
    http_stop(h);
    return -ENOMEM;
  }
  for(size_t i = 0; i < KNOWN_N; i++)
    snprintf(h->slots[i].name, sizeof(h->slots[i].name), "%s",
             known_docs[i].name);
  h->nslots = KNOWN_N;
  for(int i = 0; widget_dir && *widget_dir && i < WIDGET_N; i++)
    h->widget[i] = widget_load(widget_dir, (enum widget)i);

  fd = open_listener(listen, err, errlen);
  if(fd < 0) {
    http_stop(h);
    return fd;
  }
  h->starting = true;
  /* With several workers MHD shares the listening socket among them.
   * poll(), not epoll: with epoll (edge-triggered) MHD 0.9.75 often misses
   * that a client closed its side after its last request, and keeps that
   * connection until the idle timeout (found by fuzz_http); a worker
   * holds a few hundred connections at most, which poll() handles. */
  h->mhd = MHD_start_daemon(
      MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG, 0, NULL, NULL, handle,
      h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_LISTEN_SOCKET, fd,
      MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_LIMIT,
      connection_limit(), MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      (unsigned)HTTP_PER_IP_LIMIT, MHD_OPTION_CONNECTION_TIMEOUT,
      (unsigned)HTTP_TIMEOUT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
      (size_t)HTTP_MEMORY, MHD_OPTION_END);
  pthread_mutex_lock(&h->lock);
  h->starting = false;
  pthread_mutex_unlock(&h->lock);
  if(h->mhd == NULL) {
    /* MHD closes the socket itself on this path in some versions; a
     * second close could hit a descriptor another thread just opened, so
     * a failed start may leak this one. */
    snprintf(err, errlen, "listen '%s': cannot start the server: %s", listen,
             *h->start_err ? h->start_err : "libmicrohttpd failed");
    http_stop(h);
    return -EIO;
  }
  log_debug("http: listening", "listen=%s threads=%u", listen, threads);
  *out = h;
  return 0;
}

/* Whether name can be served at "/" + name. */
static bool valid_name(const char *name)
{
  size_t n = strlen(name);

  if(n == 0 || n > HTTP_NAME_MAX || name[0] == '.' ||
     strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789._-") != n ||
     strcmp(name, "healthz") == 0 || strcmp(name, "metrics") == 0)
    return false;
  for(int i = 0; i < WIDGET_N; i++)
    if(strcmp(name, widget_files[i]) == 0)
      return false;
  return true;
}

int http_update(struct http *h, const char *name, const char *content_type,
                const char *body, size_t len)
{
  const char *ct = content_type;
  struct http_doc *d, *old = NULL;
  struct slot *slot = NULL, *grown;
  time_t now = time(NULL);

  if(h == NULL || name == NULL || (body == NULL && len > 0) ||
     !valid_name(name))
    return -EINVAL;
  if(ct == NULL || *ct == '\0') {
    ct = "application/octet-stream";
    for(size_t i = 0; i < KNOWN_N; i++)
      if(strcmp(name, known_docs[i].name) == 0)
        ct = known_docs[i].ctype;
  }

  /* Same bytes as now: keep the snapshot, so Last-Modified stays put. */
  pthread_mutex_lock(&h->lock);
  for(size_t i = 0; i < h->nslots; i++)
    if(strcmp(h->slots[i].name, name) == 0)
      old = http_doc_ref(h->slots[i].doc);
  pthread_mutex_unlock(&h->lock);
  if(old && old->len == len && memcmp(old->body, body, len) == 0 &&
     strncmp(old->ctype, ct, strlen(ct)) == 0) {
    http_doc_unref(old);
    return 0;
  }
  http_doc_unref(old);

  d = http_doc_new(ct, body ? body : "", len, now, DOC_CACHE, true);
  if(d == NULL)
    return -ENOMEM;
  if(strcmp(name, "recent.json") == 0)
    d->recent = http_recent_parse(body ? body : "", len);

  pthread_mutex_lock(&h->lock);
  for(size_t i = 0; i < h->nslots; i++)
    if(strcmp(h->slots[i].name, name) == 0)
      slot = &h->slots[i];
  if(slot == NULL) {
    grown = realloc(h->slots, (h->nslots + 1) * sizeof(*h->slots));
    if(grown == NULL) {
      pthread_mutex_unlock(&h->lock);
      http_doc_unref(d);
      return -ENOMEM;
    }
    h->slots = grown;
    slot = &h->slots[h->nslots++];
    snprintf(slot->name, sizeof(slot->name), "%s", name);
    slot->doc = NULL;
  }
  old = slot->doc;
  slot->doc = d;
  pthread_mutex_unlock(&h->lock);
  http_doc_unref(old);
  return 0;
}

void http_set_stats(struct http *h, const struct http_stats *stats)
{
  if(h == NULL || stats == NULL)
    return;
  pthread_mutex_lock(&h->lock);
  h->stats = *stats;
  h->have_stats = true;
  pthread_mutex_unlock(&h->lock);
}

void http_stop(struct http *h)
{
  if(h == NULL)
    return;
  /* Joins the workers and closes every connection, which releases every
   * response and with it every request's reference. */
  if(h->mhd)
    MHD_stop_daemon(h->mhd);
  for(size_t i = 0; i < h->nslots; i++)
    http_doc_unref(h->slots[i].doc);
  free(h->slots);
  for(int i = 0; i < WIDGET_N; i++)
    http_doc_unref(h->widget[i]);
  pthread_mutex_destroy(&h->lock);
  free(h);
}
