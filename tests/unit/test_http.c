/*
 * test_http.c: the built-in HTTP server on 127.0.0.1, driven by libcurl
 * (and raw sockets for requests curl will not send). One server runs for
 * the whole group, at a port the test finds free first (a tiny race that
 * only costs a retry); tests that need another one start their own. Every
 * request has a timeout and every loop a fixed bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "hash.h"
#include "http.h"

#define MAX_HEADERS 64
#define HAMMER_THREADS 8
#define HAMMER_REQUESTS 150

static struct http *srv;
static int port;
static char widget_dir[] = "/tmp/freshet-http-XXXXXX";

static const char widget_js[] = "/* freshet widget */\nwindow.freshet = 1;\n";
static const char widget_css[] = ".freshet { color: red; }\n";
static const char demo_html[] =
    "<!doctype html><title>demo</title><p>demo</p>\n";

/* ---- helpers ---- */

struct resp {
  long status;
  char *body;
  size_t len;
  size_t nh;
  char *names[MAX_HEADERS];
  char *values[MAX_HEADERS];
};

static void resp_free(struct resp *r)
{
  free(r->body);
  for(size_t i = 0; i < r->nh; i++) {
    free(r->names[i]);
    free(r->values[i]);
  }
  memset(r, 0, sizeof(*r));
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
  struct resp *r = ud;
  char *grown = realloc(r->body, r->len + size * n + 1);

  if(grown == NULL)
    return 0;
  r->body = grown;
  memcpy(r->body + r->len, p, size * n);
  r->len += size * n;
  r->body[r->len] = '\0';
  return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
  struct resp *r = ud;
  size_t len = size * n;
  char *colon = memchr(p, ':', len);
  size_t vstart, vend;

  if(strncmp(p, "HTTP/", 5) == 0) {
    /* A new response (after a 100, say): forget the earlier headers. */
    for(size_t i = 0; i < r->nh; i++) {
      free(r->names[i]);
      free(r->values[i]);
    }
    r->nh = 0;
    return len;
  }
  if(colon == NULL || r->nh >= MAX_HEADERS)
    return len;
  vstart = (size_t)(colon - p) + 1;
  while(vstart < len && p[vstart] == ' ')
    vstart++;
  vend = len;
  while(vend > vstart && (p[vend - 1] == '\r' || p[vend - 1] == '\n'))
    vend--;
  r->names[r->nh] = strndup(p, (size_t)(colon - p));
  r->values[r->nh] = strndup(p + vstart, vend - vstart);
  r->nh++;
  return len;
}

/* The value of header name, or NULL. */
static const char *hdr(const struct resp *r, const char *name)
{
  for(size_t i = 0; i < r->nh; i++)
    if(strcasecmp(r->names[i], name) == 0)
      return r->values[i];
  return NULL;
}

/* Performs method on path with extra request headers (NULL-terminated);
 * decode: let curl ask for and decode gzip. Uses easy if given. */
static void request_with(CURL *easy, struct resp *r, const char *method,
                         const char *path, const char *const *headers,
                         bool decode)
{
  CURL *c = easy ? easy : curl_easy_init();
  struct curl_slist *list = NULL;
  char url[1024];
  CURLcode rc;

  memset(r, 0, sizeof(*r));
  assert_non_null(c);
  snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
  for(size_t i = 0; headers && headers[i]; i++)
    list = curl_slist_append(list, headers[i]);
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, list);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, decode ? "gzip" : NULL);
  curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, decode ? 1L : 0L);
  if(strcmp(method, "HEAD") == 0) {
    curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
  } else {
    curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
    curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST,
                     strcmp(method, "GET") == 0 ? NULL : method);
  }
  rc = curl_easy_perform(c);
  if(rc != CURLE_OK)
    fprintf(stderr, "curl %s %s: %s\n", method, path, curl_easy_strerror(rc));
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(list);
  if(easy == NULL)
    curl_easy_cleanup(c);
  if(r->body == NULL)
    r->body = calloc(1, 1);
}

static void request(struct resp *r, const char *method, const char *path,
                    const char *const *headers)
{
  request_with(NULL, r, method, path, headers, false);
}

/* Inflates a gzip body; returns a malloc'd buffer and *out_len. */
static char *gunzip(const char *in, size_t len, size_t *out_len)
{
  z_stream zs;
  size_t cap = len * 8 + 1024;
  char *out = malloc(cap);
  int rc;

  memset(&zs, 0, sizeof(zs));
  assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
  zs.next_in = (Bytef *)(uintptr_t)in;
  zs.avail_in = (uInt)len;
  for(;;) {
    zs.next_out = (Bytef *)out + zs.total_out;
    zs.avail_out = (uInt)(cap - zs.total_out);
    rc = inflate(&zs, Z_NO_FLUSH);
    if(rc != Z_OK || zs.avail_out > 0)
      break;
    cap *= 2;
    out = realloc(out, cap);
  }
  assert_int_equal(rc, Z_STREAM_END);
  *out_len = zs.total_out;
  inflateEnd(&zs);
  return out;
}

/* A port that was free a moment ago. */
static int free_port(void)
{
  struct sockaddr_in sa;
  socklen_t salen = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if(fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
     getsockname(fd, (struct sockaddr *)&sa, &salen) < 0)
    return -1;
  close(fd);
  return ntohs(sa.sin_port);
}

/* Starts a server on 127.0.0.1 at a free port; returns the port. */
static int start(const char *dir, struct http **out)
{
  char listen[64], err[256];

  for(int attempt = 0; attempt < 5; attempt++) {
    int p = free_port();

    snprintf(listen, sizeof(listen), "127.0.0.1:%d", p);
    if(http_start(listen, dir, out, err, sizeof(err)) == 0)
      return p;
    fprintf(stderr, "http_start: %s\n", err);
  }
  fail_msg("cannot start the server");
  return -1;
}

static void write_file(const char *dir, const char *name, const char *text)
{
  char path[512];
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static void publish(const char *name, const char *ct, const char *body)
{
  assert_int_equal(http_update(srv, name, ct, body, strlen(body)), 0);
}

/* A compressible Atom document of about n bytes. */
static char *big_atom(size_t n)
{
  char *s = malloc(n + 256);
  size_t off;

  off = (size_t)sprintf(s, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                           "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
  for(int i = 0; off + 128 < n; i++)
    off += (size_t)sprintf(s + off,
                           "<entry><id>urn:x:%d</id><title>Entry %d</title>"
                           "</entry>\n",
                           i, i);
  strcpy(s + off, "</feed>\n");
  return s;
}

static const char recent_doc[] =
    "{\n  \"title\": \"Planet\",\n  \"link\": \"https://example.org/\",\n"
    "  \"generated\": \"2026-01-01T00:00:00Z\",\n  \"items\": [\n"
    "    {\"title\": \"one\", \"source\": {\"title\": \"A\", \"url\": "
    "\"https://a.example/\", \"name\": \"a\"}},\n"
    "    {\"title\": \"two\", \"source\": {\"title\": \"B\", \"url\": "
    "\"https://b.example/\", \"name\": \"b\"}},\n"
    "    {\"title\": \"three\", \"source\": {\"title\": \"A\", \"url\": "
    "\"https://a.example/\", \"name\": \"a\"}},\n"
    "    {\"title\": \"four \\u00e9 <script>\", \"source\": {\"title\": \"C\","
    " \"url\": null, \"name\": \"c\"}},\n"
    "    {\"title\": \"five\", \"source\": {\"title\": \"A\", \"url\": "
    "\"https://a.example/\", \"name\": \"a\"}}\n  ]\n}\n";

/* ---- setup ---- */

static int group_setup(void **state)
{
  (void)state;
  if(mkdtemp(widget_dir) == NULL)
    return -1;
  write_file(widget_dir, "widget.js", widget_js);
  write_file(widget_dir, "widget.css", widget_css);
  write_file(widget_dir, "demo.html", demo_html);
  port = start(widget_dir, &srv);
  return port > 0 ? 0 : -1;
}

static int group_teardown(void **state)
{
  char path[512];

  (void)state;
  http_stop(srv);
  srv = NULL;
  for(int i = 0; i < 3; i++) {
    static const char *const names[] = {"widget.js", "widget.css", "demo.html"};

    snprintf(path, sizeof(path), "%s/%s", widget_dir, names[i]);
    unlink(path);
  }
  rmdir(widget_dir);
  return 0;
}

/* ---- tests ---- */

static void expect_listen_error(const char *listen, const char *want)
{
  struct http *h = (struct http *)1;
  char err[256];
  int rc = http_start(listen, NULL, &h, err, sizeof(err));

  if(rc == 0)
    http_stop(h);
  assert_true(rc < 0);
  assert_null(h);
  if(strstr(err, want) == NULL)
    fail_msg("listen '%s': error '%s' lacks '%s'", listen, err, want);
}

static void test_listen(void **state)
{
  char busy[64], v6[64], err[256];
  struct http *h;
  int fd;

  (void)state;
  expect_listen_error("", "empty");
  expect_listen_error("127.0.0.1", "missing port");
  expect_listen_error("127.0.0.1:", "bad port");
  expect_listen_error("127.0.0.1:http", "bad port");
  expect_listen_error("127.0.0.1:65536", "bad port");
  expect_listen_error("127.0.0.1:-1", "bad port");
  expect_listen_error("127.0.0.1:8080x", "bad port");
  expect_listen_error("127.0.0.1:0000080", "bad port");
  expect_listen_error("::1:8080", "brackets");
  expect_listen_error("[::1", "[address]:port");
  expect_listen_error("[::1]8080", "[address]:port");
  expect_listen_error("[]:8080", "bad address");
  expect_listen_error("256.1.1.1:8080", "bad address");
  expect_listen_error("[::1]:99999", "bad port");
  snprintf(busy, sizeof(busy), "127.0.0.1:%d", port);
  expect_listen_error(busy, "in use");

  /* [v6]:port, when this machine has IPv6. */
  fd = socket(AF_INET6, SOCK_STREAM, 0);
  if(fd >= 0) {
    struct sockaddr_in6 sa;

    memset(&sa, 0, sizeof(sa));
    sa.sin6_family = AF_INET6;
    sa.sin6_addr = in6addr_loopback;
    if(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
      close(fd);
      snprintf(v6, sizeof(v6), "[::1]:%d", free_port());
      if(http_start(v6, NULL, &h, err, sizeof(err)) == 0)
        http_stop(h);
      else
        fprintf(stderr, "note: %s\n", err);
    } else {
      close(fd);
    }
  }
  http_stop(NULL);
}

/* Before anything is published: documents 503, /healthz 503 "starting",
 * /metrics all zero. Runs first. */
static void test_before_publish(void **state)
{
  struct resp r;

  (void)state;
  request(&r, "GET", "/feed.atom", NULL);
  assert_int_equal(r.status, 503);
  assert_non_null(hdr(&r, "Retry-After"));
  resp_free(&r);
  request(&r, "GET", "/recent.json?limit=3", NULL);
  assert_int_equal(r.status, 503);
  resp_free(&r);
  request(&r, "GET", "/healthz", NULL);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "starting\n");
  resp_free(&r);
  request(&r, "GET", "/metrics", NULL);
  assert_int_equal(r.status, 200);
  assert_non_null(strstr(r.body, "\nfreshet_last_cycle_timestamp_seconds 0\n"));
  resp_free(&r);
  request(&r, "GET", "/nothing.here", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
}

static void test_routes(void **state)
{
  static const struct {
    const char *path;
    const char *type;
    const char *body;
    const char *cache;
    bool cors;
  } routes[] = {
      {"/feed.atom", "application/atom+xml; charset=utf-8",
       "<feed xmlns=\"http://www.w3.org/2005/Atom\"/>\n", "public, max-age=60",
       true},
      {"/feed.rss", "application/rss+xml; charset=utf-8",
       "<rss version=\"2.0\"><channel/></rss>\n", "public, max-age=60", true},
      {"/feed.json", "application/feed+json; charset=utf-8",
       "{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[]}\n",
       "public, max-age=60", true},
      {"/feeds.opml", "text/x-opml; charset=utf-8",
       "<opml version=\"2.0\"><body/></opml>\n", "public, max-age=60", true},
      {"/recent.json", "application/json; charset=utf-8", recent_doc,
       "public, max-age=60", true},
      {"/widget.js", "text/javascript; charset=utf-8", widget_js,
       "public, max-age=3600", true},
      {"/widget.css", "text/css; charset=utf-8", widget_css,
       "public, max-age=3600", true},
      {"/demo.html", "text/html; charset=utf-8", demo_html,
       "public, max-age=60", false},
      {"/", "text/html; charset=utf-8", demo_html, "public, max-age=60", false},
  };
  struct resp r;

  (void)state;
  /* As the publisher passes them, and one without a charset. */
  publish("feed.atom", "application/atom+xml; charset=utf-8", routes[0].body);
  publish("feed.rss", "application/rss+xml", routes[1].body);
  publish("feed.json", NULL, routes[2].body);
  publish("feeds.opml", "text/x-opml; charset=utf-8", routes[3].body);
  publish("recent.json", "application/json; charset=utf-8", recent_doc);

  for(size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
    request(&r, "GET", routes[i].path, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Type"), routes[i].type);
    assert_int_equal(r.len, strlen(routes[i].body));
    assert_memory_equal(r.body, routes[i].body, r.len);
    assert_non_null(hdr(&r, "ETag"));
    assert_true(hdr(&r, "ETag")[0] == '"');
    assert_non_null(hdr(&r, "Last-Modified"));
    assert_non_null(strstr(hdr(&r, "Last-Modified"), " GMT"));
    assert_string_equal(hdr(&r, "Cache-Control"), routes[i].cache);
    assert_string_equal(hdr(&r, "X-Content-Type-Options"), "nosniff");
    assert_null(hdr(&r, "Content-Encoding"));
    if(routes[i].cors)
      assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
    else
      assert_null(hdr(&r, "Access-Control-Allow-Origin"));
    resp_free(&r);
  }

  /* The ETag is the hash of the bytes. */
  {
    char hex[17], want[24];

    hash_hex(hash_bytes(HASH_SEED, recent_doc, strlen(recent_doc)), hex);
    snprintf(want, sizeof(want), "\"%s\"", hex);
    request(&r, "GET", "/recent.json", NULL);
    assert_string_equal(hdr(&r, "ETag"), want);
    resp_free(&r);
  }

  /* Keep-alive: a second request reuses the connection. */
  {
    CURL *c = curl_easy_init();
    long connects = -1;

    request_with(c, &r, "GET", "/feed.atom", NULL, false);
    resp_free(&r);
    request_with(c, &r, "GET", "/recent.json", NULL, false);
    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    assert_int_equal(r.status, 200);
    assert_int_equal(connects, 0);
    assert_null(hdr(&r, "Connection"));
    resp_free(&r);
    curl_easy_cleanup(c);
  }

  /* Path tricks reach no file. */
  request(&r, "GET", "/../../etc/passwd", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  request(&r, "GET", "/feed.atom/", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  request(&r, "GET", "//feed.atom", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  request(&r, "GET", "/%2e%2e/%2e%2e/etc/passwd", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  /* A query on a plain document is ignored. */
  request(&r, "GET", "/feed.atom?x=1", NULL);
  assert_int_equal(r.status, 200);
  resp_free(&r);
}

static void test_conditional(void **state)
{
  struct resp r, r2;
  char etag[64], lastmod[64], inm[256], ims[128], weak[128];
  const char *list[3] = {NULL, NULL, NULL};

  (void)state;
  request(&r, "GET", "/feed.rss", NULL);
  assert_int_equal(r.status, 200);
  snprintf(etag, sizeof(etag), "%s", hdr(&r, "ETag"));
  snprintf(lastmod, sizeof(lastmod), "%s", hdr(&r, "Last-Modified"));
  resp_free(&r);

  /* Exact. */
  snprintf(inm, sizeof(inm), "If-None-Match: %s", etag);
  list[0] = inm;
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 304);
  assert_int_equal(r.len, 0);
  assert_string_equal(hdr(&r, "ETag"), etag);
  assert_string_equal(hdr(&r, "Last-Modified"), lastmod);
  assert_string_equal(hdr(&r, "Cache-Control"), "public, max-age=60");
  resp_free(&r);
  /* HEAD too. */
  request(&r, "HEAD", "/feed.rss", list);
  assert_int_equal(r.status, 304);
  resp_free(&r);

  /* In a list, weak, and "*". */
  snprintf(inm, sizeof(inm), "If-None-Match: \"nope\", W/\"x\",%s , \"y\"",
           etag);
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 304);
  resp_free(&r);
  snprintf(weak, sizeof(weak), "If-None-Match: W/%s", etag);
  list[0] = weak;
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 304);
  resp_free(&r);
  list[0] = "If-None-Match: *";
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 304);
  resp_free(&r);
  /* Other tags, and a broken list. */
  list[0] = "If-None-Match: \"0000000000000000\", W/\"abc\"";
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  list[0] = "If-None-Match: \"unterminated";
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 200);
  resp_free(&r);

  /* If-Modified-Since: same time, later (not in the future), earlier,
   * garbage. */
  snprintf(ims, sizeof(ims), "If-Modified-Since: %s", lastmod);
  list[0] = ims;
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 304);
  resp_free(&r);
  list[0] = "If-Modified-Since: Thu, 01 Jan 1998 00:00:00 GMT";
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  list[0] = "If-Modified-Since: Fri, 01 Jan 2100 00:00:00 GMT";
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  list[0] = "If-Modified-Since: yesterday-ish";
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  /* If-None-Match wins over If-Modified-Since. */
  list[0] = ims;
  list[1] = "If-None-Match: \"other\"";
  request(&r, "GET", "/feed.rss", list);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  list[1] = NULL;

  /* Widget files carry validators too. */
  request(&r, "GET", "/widget.js", NULL);
  snprintf(inm, sizeof(inm), "If-None-Match: %s", hdr(&r, "ETag"));
  list[0] = inm;
  request(&r2, "GET", "/widget.js", list);
  assert_int_equal(r2.status, 304);
  resp_free(&r);
  resp_free(&r2);

  /* Republishing the same bytes keeps the validators. */
  request(&r, "GET", "/feed.rss", NULL);
  assert_int_equal(
      http_update(srv, "feed.rss", "application/rss+xml", r.body, r.len), 0);
  request(&r2, "GET", "/feed.rss", NULL);
  assert_string_equal(hdr(&r, "ETag"), hdr(&r2, "ETag"));
  assert_string_equal(hdr(&r, "Last-Modified"), hdr(&r2, "Last-Modified"));
  resp_free(&r);
  resp_free(&r2);
}

static void test_gzip(void **state)
{
  static const struct {
    const char *ae;
    bool gzip;
  } cases[] = {
      {"Accept-Encoding: gzip", true},
      {"Accept-Encoding: GZIP", true},
      {"Accept-Encoding: x-gzip", true},
      {"Accept-Encoding: br, gzip;q=0.5, deflate", true},
      {"Accept-Encoding: gzip ; q=1.0", true},
      {"Accept-Encoding: gzip;q=0.001", true},
      {"Accept-Encoding: *", true},
      {"Accept-Encoding: *;q=0, gzip", true},
      {"Accept-Encoding: gzip;q=0", false},
      {"Accept-Encoding: gzip;q=0.000", false},
      {"Accept-Encoding: gzip; Q=0", false},
      {"Accept-Encoding: gzip;q=0, *", false},
      {"Accept-Encoding: identity", false},
      {"Accept-Encoding: br, deflate", false},
      {"Accept-Encoding: gzipx", false},
      {"Accept-Encoding: *;q=0", false},
      {"Accept-Encoding:", false},
      {NULL, false},
  };
  char *atom = big_atom(40000);
  size_t atom_len = strlen(atom);
  const char *list[2] = {NULL, NULL};
  char etag_plain[64];
  struct resp r;

  (void)state;
  publish("feed.atom", "application/atom+xml; charset=utf-8", atom);
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    list[0] = cases[i].ae;
    request(&r, "GET", "/feed.atom", list);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Vary"), "Accept-Encoding");
    if(cases[i].gzip) {
      size_t n;
      char *plain;

      if(hdr(&r, "Content-Encoding") == NULL)
        fail_msg("%s: no gzip", cases[i].ae);
      assert_string_equal(hdr(&r, "Content-Encoding"), "gzip");
      assert_true(r.len < atom_len);
      plain = gunzip(r.body, r.len, &n);
      assert_int_equal(n, atom_len);
      assert_memory_equal(plain, atom, n);
      free(plain);
      assert_non_null(strstr(hdr(&r, "ETag"), "-gz\""));
    } else {
      if(hdr(&r, "Content-Encoding"))
        fail_msg("%s: gzip anyway", cases[i].ae ? cases[i].ae : "(none)");
      assert_int_equal(r.len, atom_len);
      assert_memory_equal(r.body, atom, atom_len);
    }
    resp_free(&r);
  }

  /* curl's own decoding, and the two codings' ETags both validate. */
  request_with(NULL, &r, "GET", "/feed.atom", NULL, true);
  assert_string_equal(hdr(&r, "Content-Encoding"), "gzip");
  assert_int_equal(r.len, atom_len);
  assert_memory_equal(r.body, atom, atom_len);
  resp_free(&r);
  request(&r, "GET", "/feed.atom", NULL);
  snprintf(etag_plain, sizeof(etag_plain), "If-None-Match: %s",
           hdr(&r, "ETag"));
  resp_free(&r);
  list[0] = etag_plain;
  request_with(NULL, &r, "GET", "/feed.atom", list, true);
  assert_int_equal(r.status, 304);
  assert_non_null(strstr(hdr(&r, "ETag"), "-gz\""));
  resp_free(&r);

  /* A tiny document is not worth compressing: sent as it is. */
  publish("feeds.opml", NULL, "<opml/>");
  list[0] = "Accept-Encoding: gzip";
  request(&r, "GET", "/feeds.opml", list);
  assert_null(hdr(&r, "Content-Encoding"));
  assert_string_equal(r.body, "<opml/>");
  resp_free(&r);
  free(atom);
}

static void test_head(void **state)
{
  static const char *const paths[] = {"/feed.atom", "/recent.json",
                                      "/widget.css", "/healthz", "/metrics"};
  static const char *const same[] = {"Content-Type",
                                     "ETag",
                                     "Last-Modified",
                                     "Cache-Control",
                                     "Content-Length",
                                     "Vary",
                                     "Access-Control-Allow-Origin",
                                     "Content-Encoding"};
  const char *gz[] = {"Accept-Encoding: gzip", NULL};
  struct resp g, h;

  (void)state;
  for(size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
    for(int z = 0; z < 2; z++) {
      request(&g, "GET", paths[i], z ? gz : NULL);
      request(&h, "HEAD", paths[i], z ? gz : NULL);
      assert_int_equal(g.status, h.status);
      assert_int_equal(h.len, 0);
      for(size_t k = 0; k < sizeof(same) / sizeof(same[0]); k++) {
        const char *a = hdr(&g, same[k]), *b = hdr(&h, same[k]);

        if(strcmp(paths[i], "/metrics") == 0 &&
           strcmp(same[k], "Content-Length") == 0)
          continue; /* the numbers may have changed in between */
        if((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
          fail_msg("%s %s: GET '%s' HEAD '%s'", paths[i], same[k], a ? a : "-",
                   b ? b : "-");
      }
      resp_free(&g);
      resp_free(&h);
    }
  }
}

static void test_methods(void **state)
{
  static const char *const methods[] = {"POST",  "PUT",   "DELETE",
                                        "PATCH", "TRACE", "BREW"};
  static const char *const paths[] = {
      "/feed.atom", "/recent.json", "/widget.js", "/", "/healthz", "/metrics"};
  struct resp r;

  (void)state;
  for(size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    for(size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
      request(&r, methods[i], paths[k], NULL);
      assert_int_equal(r.status, 405);
      assert_string_equal(hdr(&r, "Allow"), "GET, HEAD, OPTIONS");
      resp_free(&r);
    }
  request(&r, "POST", "/nothing", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  request(&r, "get", "/feed.atom", NULL);
  assert_int_equal(r.status, 405);
  resp_free(&r);

  /* Preflight on a CORS route, a plain OPTIONS elsewhere. */
  {
    const char *pre[] = {"Origin: https://blog.example",
                         "Access-Control-Request-Method: GET",
                         "Access-Control-Request-Headers: if-none-match", NULL};

    request(&r, "OPTIONS", "/recent.json", pre);
    assert_int_equal(r.status, 204);
    assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
    assert_non_null(strstr(hdr(&r, "Access-Control-Allow-Methods"), "GET"));
    assert_non_null(
        strstr(hdr(&r, "Access-Control-Allow-Headers"), "If-None-Match"));
    assert_string_equal(hdr(&r, "Allow"), "GET, HEAD, OPTIONS");
    resp_free(&r);
    request(&r, "OPTIONS", "/widget.js", pre);
    assert_int_equal(r.status, 204);
    assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
    resp_free(&r);
    request(&r, "OPTIONS", "/metrics", pre);
    assert_int_equal(r.status, 204);
    assert_null(hdr(&r, "Access-Control-Allow-Origin"));
    resp_free(&r);
    request(&r, "OPTIONS", "/nothing", pre);
    assert_int_equal(r.status, 404);
    resp_free(&r);
  }
  /* CORS on the JSON documents for a cross-origin GET; none on metrics. */
  {
    const char *origin[] = {"Origin: https://blog.example", NULL};

    request(&r, "GET", "/feed.json", origin);
    assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
    resp_free(&r);
    request(&r, "GET", "/metrics", origin);
    assert_null(hdr(&r, "Access-Control-Allow-Origin"));
    resp_free(&r);
  }
}

/* The titles of recent.json's items, joined by commas. */
static void titles(const struct resp *r, char *out, size_t size)
{
  json_error_t jerr;
  json_t *root = json_loadb(r->body, r->len, 0, &jerr);
  json_t *items = json_object_get(root, "items");
  size_t i;
  json_t *it;

  if(root == NULL)
    fail_msg("not JSON: %s: %.200s", jerr.text, r->body);
  assert_true(json_is_array(items));
  assert_string_equal(json_string_value(json_object_get(root, "title")),
                      "Planet");
  assert_string_equal(json_string_value(json_object_get(root, "generated")),
                      "2026-01-01T00:00:00Z");
  *out = '\0';
  json_array_foreach(items, i, it)
  {
    if(i)
      strncat(out, ",", size - strlen(out) - 1);
    strncat(out, json_string_value(json_object_get(it, "title")),
            size - strlen(out) - 1);
  }
  json_decref(root);
}

static void test_recent_query(void **state)
{
  static const struct {
    const char *path;
    const char *titles;
  } ok[] = {
      {"/recent.json?limit=2", "one,two"},
      {"/recent.json?limit=1", "one"},
      {"/recent.json?limit=5", "one,two,three,four \xc3\xa9 <script>,five"},
      {"/recent.json?limit=100", "one,two,three,four \xc3\xa9 <script>,five"},
      {"/recent.json?limit=10000", "one,two,three,four \xc3\xa9 <script>,five"},
      {"/recent.json?source=a", "one,three,five"},
      {"/recent.json?source=a&limit=2", "one,three"},
      {"/recent.json?limit=1&source=b", "two"},
      {"/recent.json?source=c", "four \xc3\xa9 <script>"},
      {"/recent.json?source=nobody", ""},
      {"/recent.json?source=", ""},
      {"/recent.json?source=A", ""},
  };
  static const char *const bad[] = {
      "/recent.json?limit=0",      "/recent.json?limit=-1",
      "/recent.json?limit=abc",    "/recent.json?limit=2x",
      "/recent.json?limit=",       "/recent.json?limit",
      "/recent.json?limit=1.5",    "/recent.json?limit=10001",
      "/recent.json?limit=%20%31", "/recent.json?limit=99999999999999999999999",
  };
  const char *gz[] = {"Accept-Encoding: gzip", NULL};
  char got[512], inm[128];
  const char *list[2] = {NULL, NULL};
  struct resp r, r2;

  (void)state;
  publish("recent.json", "application/json; charset=utf-8", recent_doc);
  for(size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    request(&r, "GET", ok[i].path, NULL);
    assert_int_equal(r.status, 200);
    assert_string_equal(hdr(&r, "Content-Type"),
                        "application/json; charset=utf-8");
    assert_string_equal(hdr(&r, "Access-Control-Allow-Origin"), "*");
    assert_string_equal(hdr(&r, "Cache-Control"), "public, max-age=60");
    assert_non_null(hdr(&r, "ETag"));
    assert_non_null(hdr(&r, "Last-Modified"));
    titles(&r, got, sizeof(got));
    if(strcmp(got, ok[i].titles) != 0)
      fail_msg("%s: got '%s' want '%s'", ok[i].path, got, ok[i].titles);
    resp_free(&r);
  }
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    request(&r, "GET", bad[i], NULL);
    if(r.status != 400)
      fail_msg("%s: status %ld", bad[i], r.status);
    assert_non_null(strstr(r.body, "limit"));
    resp_free(&r);
  }
  /* Without a query: the bytes as published. */
  request(&r, "GET", "/recent.json?unrelated=1", NULL);
  assert_string_equal(r.body, recent_doc);
  resp_free(&r);

  /* A filtered document validates and compresses like the others. */
  request(&r, "GET", "/recent.json?source=a", NULL);
  snprintf(inm, sizeof(inm), "If-None-Match: %s", hdr(&r, "ETag"));
  list[0] = inm;
  request(&r2, "GET", "/recent.json?source=a", list);
  assert_int_equal(r2.status, 304);
  resp_free(&r2);
  request(&r2, "GET", "/recent.json?source=b", list);
  assert_int_equal(r2.status, 200);
  resp_free(&r2);
  request(&r2, "GET", "/recent.json?source=a", gz);
  assert_string_equal(hdr(&r2, "Content-Encoding"), "gzip");
  {
    size_t n;
    char *plain = gunzip(r2.body, r2.len, &n);

    assert_int_equal(n, r.len);
    assert_memory_equal(plain, r.body, n);
    free(plain);
  }
  resp_free(&r);
  resp_free(&r2);

  /* Not JSON: served as it is, queries ignored but still checked. */
  publish("recent.json", "application/json", "not json");
  request(&r, "GET", "/recent.json?limit=2", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "not json");
  resp_free(&r);
  request(&r, "GET", "/recent.json?limit=zero", NULL);
  assert_int_equal(r.status, 400);
  resp_free(&r);
  publish("recent.json", "application/json; charset=utf-8", recent_doc);
}

static void test_healthz(void **state)
{
  struct http_stats s;
  struct resp r;
  char want[64];
  struct tm tm;
  time_t now = time(NULL);

  (void)state;
  memset(&s, 0, sizeof(s));
  s.interval = 60;
  http_set_stats(srv, &s); /* no cycle yet */
  request(&r, "GET", "/healthz", NULL);
  assert_int_equal(r.status, 503);
  assert_string_equal(r.body, "starting\n");
  assert_string_equal(hdr(&r, "Cache-Control"), "no-store");
  resp_free(&r);

  s.last_cycle = now - 30;
  http_set_stats(srv, &s);
  request(&r, "GET", "/healthz", NULL);
  assert_int_equal(r.status, 200);
  gmtime_r(&(time_t){now - 30}, &tm);
  strftime(want, sizeof(want), "ok last_cycle=%Y-%m-%dT%H:%M:%SZ\n", &tm);
  assert_string_equal(r.body, want);
  assert_string_equal(hdr(&r, "Content-Type"), "text/plain; charset=utf-8");
  resp_free(&r);

  s.last_cycle = now - 3 * 60 + 5; /* inside 3 intervals */
  http_set_stats(srv, &s);
  request(&r, "GET", "/healthz", NULL);
  assert_int_equal(r.status, 200);
  resp_free(&r);

  s.last_cycle = now - 3 * 60 - 30; /* older than 3 intervals */
  http_set_stats(srv, &s);
  request(&r, "GET", "/healthz", NULL);
  assert_int_equal(r.status, 503);
  assert_non_null(strstr(r.body, "stale last_cycle="));
  resp_free(&r);

  s.last_cycle = now;
  http_set_stats(srv, &s);
  request(&r, "GET", "/healthz", NULL);
  assert_int_equal(r.status, 200);
  resp_free(&r);
}

static void test_metrics(void **state)
{
  static const char *const lines[] = {
      "# TYPE freshet_feeds gauge\n",
      "\nfreshet_feeds{state=\"ok\"} 7\n",
      "\nfreshet_feeds{state=\"failing\"} 2\n",
      "\nfreshet_feeds{state=\"disabled\"} 1\n",
      "# TYPE freshet_fetches_total counter\n",
      "\nfreshet_fetches_total{status=\"2xx\"} 30\n",
      "\nfreshet_fetches_total{status=\"304\"} 90\n",
      "\nfreshet_fetches_total{status=\"4xx\"} 3\n",
      "\nfreshet_fetches_total{status=\"5xx\"} 4\n",
      "\nfreshet_fetches_total{status=\"error\"} 5\n",
      "# TYPE freshet_fetch_bytes_total counter\n",
      "\nfreshet_fetch_bytes_total 123456789012\n",
      "# TYPE freshet_not_modified_ratio gauge\n",
      "\nfreshet_not_modified_ratio 0.750000\n",
      "# TYPE freshet_entries_stored gauge\n",
      "\nfreshet_entries_stored 4242\n",
      "# TYPE freshet_publish_seconds gauge\n",
      "\nfreshet_publish_seconds 0.250000\n",
      "# TYPE freshet_last_cycle_timestamp_seconds gauge\n",
      "\nfreshet_last_cycle_timestamp_seconds 1767225600\n",
  };
  struct http_stats s = {
      .feeds_total = 10,
      .feeds_ok = 7,
      .feeds_failing = 2,
      .feeds_disabled = 1,
      .fetches_2xx = 30,
      .fetches_304 = 90,
      .fetches_4xx = 3,
      .fetches_5xx = 4,
      .fetches_error = 5,
      .bytes = 123456789012,
      .entries_stored = 4242,
      .publish_seconds = 0.25,
      .last_cycle = 1767225600,
      .interval = 1800,
  };
  struct resp r;

  (void)state;
  http_set_stats(srv, &s);
  request(&r, "GET", "/metrics", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(hdr(&r, "Content-Type"),
                      "text/plain; version=0.0.4; charset=utf-8");
  for(size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
    if(strstr(r.body, lines[i]) == NULL)
      fail_msg("metrics lack '%s':\n%s", lines[i], r.body);
  /* Every line is a comment or "name{labels} value". */
  for(char *line = r.body; *line;) {
    char *nl = strchr(line, '\n');

    assert_non_null(nl);
    assert_true(line[0] == '#' || strncmp(line, "freshet_", 8) == 0);
    line = nl + 1;
  }
  resp_free(&r);
  /* Back to a healthy recent cycle for later tests. */
  s.last_cycle = time(NULL);
  http_set_stats(srv, &s);
}

static void test_widget_missing(void **state)
{
  struct http *h;
  int saved = port;
  struct resp r;
  char dir[] = "/tmp/freshet-http-part-XXXXXX";

  (void)state;
  /* No widget directory at all. */
  port = start("/nonexistent/freshet/widget", &h);
  request(&r, "GET", "/widget.js", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  request(&r, "GET", "/", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  request(&r, "GET", "/feed.atom", NULL);
  assert_int_equal(r.status, 503);
  resp_free(&r);
  http_stop(h);

  /* Only widget.css present; NULL directory. */
  assert_non_null(mkdtemp(dir));
  write_file(dir, "widget.css", widget_css);
  port = start(dir, &h);
  request(&r, "GET", "/widget.css", NULL);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  request(&r, "GET", "/widget.js", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  http_stop(h);
  {
    char path[512];

    snprintf(path, sizeof(path), "%s/widget.css", dir);
    unlink(path);
    rmdir(dir);
  }
  port = start(NULL, &h);
  request(&r, "GET", "/demo.html", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  http_stop(h);
  port = saved;
}

static void test_update(void **state)
{
  static const char *const bad[] = {
      "",        "/feed.atom", "../x",      ".hidden", "a/b", "healthz",
      "metrics", "widget.js",  "demo.html", "sp ace",  "x\n"};
  struct resp r;

  (void)state;
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    assert_int_equal(http_update(srv, bad[i], NULL, "x", 1), -EINVAL);
  assert_int_equal(http_update(NULL, "feed.atom", NULL, "x", 1), -EINVAL);
  assert_int_equal(http_update(srv, "feed.atom", NULL, NULL, 1), -EINVAL);

  /* Another name: served from its first update on; 404 before. */
  request(&r, "GET", "/extra.txt", NULL);
  assert_int_equal(r.status, 404);
  resp_free(&r);
  assert_int_equal(http_update(srv, "extra.txt", "text/plain", "hi", 2), 0);
  request(&r, "GET", "/extra.txt", NULL);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "hi");
  assert_string_equal(hdr(&r, "Content-Type"), "text/plain; charset=utf-8");
  resp_free(&r);
  /* An empty document is a document. */
  assert_int_equal(http_update(srv, "extra.txt", "text/plain", NULL, 0), 0);
  request(&r, "GET", "/extra.txt", NULL);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.len, 0);
  resp_free(&r);
}

/* ---- concurrency: swaps while clients read ---- */

#define VERSIONS 3
static char *versions[VERSIONS];
static size_t version_len[VERSIONS];
static atomic_int hammer_done;
static atomic_int hammer_bad;
static atomic_int hammer_304;
static char inm0[64]; /* If-None-Match: version 0's ETag */

static void *hammer(void *arg)
{
  long id = (long)(intptr_t)arg;
  CURL *c = curl_easy_init();

  for(int i = 0; i < HAMMER_REQUESTS; i++) {
    struct resp r;
    bool decode = (id + i) % 2 == 0;
    int match = -1;
    char hex[17], want[32];

    /* Every third request is conditional on version 0: it must get 304,
     * or 200 with another version, never version 0 itself. */
    const char *cond[] = {inm0, NULL};
    bool conditional = i % 3 == 1;

    request_with(c, &r, i % 5 == 0 ? "HEAD" : "GET", "/feed.rss",
                 conditional ? cond : NULL, decode);
    if(conditional && r.status == 304) {
      atomic_fetch_add(&hammer_304, 1);
      resp_free(&r);
      continue;
    }
    if(r.status != 200) {
      atomic_fetch_add(&hammer_bad, 1);
      resp_free(&r);
      continue;
    }
    if(i % 5 == 0) {
      resp_free(&r);
      continue;
    }
    for(int v = 0; v < VERSIONS; v++)
      if(r.len == version_len[v] && memcmp(r.body, versions[v], r.len) == 0)
        match = v;
    /* The ETag belongs to the same version as the bytes. */
    if(match >= 0) {
      hash_hex(hash_bytes(HASH_SEED, versions[match], version_len[match]), hex);
      snprintf(want, sizeof(want), "\"%s%s\"", hex,
               hdr(&r, "Content-Encoding") ? "-gz" : "");
      if(hdr(&r, "ETag") == NULL || strcmp(hdr(&r, "ETag"), want) != 0)
        match = -1;
    }
    if(match < 0 || (conditional && match == 0)) {
      fprintf(stderr, "hammer %ld: a response of %zu bytes is %s\n", id, r.len,
              match < 0 ? "no version" : "the one the client has");
      atomic_fetch_add(&hammer_bad, 1);
    }
    resp_free(&r);
  }
  curl_easy_cleanup(c);
  atomic_fetch_add(&hammer_done, 1);
  return NULL;
}

static void test_swap_under_load(void **state)
{
  pthread_t threads[HAMMER_THREADS];
  int swaps = 0;

  (void)state;
  for(int v = 0; v < VERSIONS; v++) {
    size_t n = (size_t)1000 << (3 * v); /* 1 KB, 8 KB, 64 KB */

    versions[v] = malloc(n + 1);
    for(size_t i = 0; i < n; i++)
      versions[v][i] = (char)('a' + v + (i % 61 == 0 ? 1 : 0));
    versions[v][n] = '\0';
    version_len[v] = n;
  }
  assert_int_equal(http_update(srv, "feed.rss", "application/rss+xml",
                               versions[0], version_len[0]),
                   0);
  {
    char hex[17];

    hash_hex(hash_bytes(HASH_SEED, versions[0], version_len[0]), hex);
    snprintf(inm0, sizeof(inm0), "If-None-Match: \"%s\"", hex);
  }
  atomic_store(&hammer_done, 0);
  atomic_store(&hammer_bad, 0);
  atomic_store(&hammer_304, 0);
  for(long t = 0; t < HAMMER_THREADS; t++)
    assert_int_equal(
        pthread_create(&threads[t], NULL, hammer, (void *)(intptr_t)t), 0);
  /* Bounded: the clients make a fixed number of requests each. */
  while(atomic_load(&hammer_done) < HAMMER_THREADS && swaps < 1000000) {
    int v = swaps % VERSIONS;

    assert_int_equal(http_update(srv, "feed.rss", "application/rss+xml",
                                 versions[v], version_len[v]),
                     0);
    swaps++;
    usleep(50);
  }
  for(int t = 0; t < HAMMER_THREADS; t++)
    pthread_join(threads[t], NULL);
  fprintf(stderr,
          "note: %d swaps under %d clients x %d requests (%d were 304)\n",
          swaps, HAMMER_THREADS, HAMMER_REQUESTS, atomic_load(&hammer_304));
  assert_int_equal(atomic_load(&hammer_bad), 0);
  assert_true(swaps > 10);
  for(int v = 0; v < VERSIONS; v++)
    free(versions[v]);
}

/* ---- hostile clients over raw sockets ---- */

static int connect_from(const char *source)
{
  struct sockaddr_in sa;
  struct timeval tv = {5, 0};
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  assert_true(fd >= 0);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  if(source) {
    inet_pton(AF_INET, source, &sa.sin_addr);
    if(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
      close(fd);
      return -1;
    }
  }
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  sa.sin_port = htons((uint16_t)port);
  if(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Sends len raw bytes, half-closes and reads until the server closes,
 * which must happen within 5 s (the receive timeout): a client that has
 * said all it will say gets its answers and then the end of the
 * connection, not a wait for the idle timeout. Returns the bytes read into
 * out (NUL-terminated). */
static size_t raw(const char *req, size_t len, char *out, size_t size)
{
  int fd = connect_from(NULL);
  size_t sent = 0, got = 0;

  assert_true(fd >= 0);
  while(sent < len) {
    ssize_t n = send(fd, req + sent, len - sent, MSG_NOSIGNAL);

    if(n <= 0)
      break; /* the server may hang up mid-request: that is fine */
    sent += (size_t)n;
  }
  shutdown(fd, SHUT_WR);
  while(got + 1 < size) {
    ssize_t n = recv(fd, out + got, size - 1 - got, 0);

    if(n < 0 && errno == ECONNRESET)
      break;
    if(n < 0)
      fail_msg("no end of the connection 5 s after the request (%s)",
               strerror(errno));
    if(n == 0)
      break;
    got += (size_t)n;
  }
  out[got] = '\0';
  close(fd);
  return got;
}

static int count(const char *hay, const char *needle)
{
  int n = 0;

  for(const char *p = strstr(hay, needle); p; p = strstr(p + 1, needle))
    n++;
  return n;
}

/* The status of the first response, 0 when none came. */
static int status_of(const char *resp)
{
  int status = 0;

  if(sscanf(resp, "HTTP/1.%*d %d", &status) != 1)
    return 0;
  return status;
}

/* A request literal with NUL bytes in it, and its length. */
#define WITH_NUL(s) s, sizeof(s) - 1

static void test_malformed(void **state)
{
  static const struct {
    const char *name;
    const char *req;
    size_t len; /* 0: strlen */
    int want;   /* expected status; 0: none or any 4xx/5xx */
  } cases[] = {
      {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage\r\n\r\n",
       0, 0},
      {"no version", "GET /feed.atom\r\n\r\n", 0, 0},
      {"bad version", "GET /feed.atom HTTP/9.9\r\nHost: x\r\n\r\n", 0, 0},
      {"no host", "GET /feed.atom HTTP/1.1\r\n\r\n", 0, 400},
      {"traversal", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 0,
       404},
      {"encoded traversal",
       "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 0, 404},
      {"absolute form",
       "GET http://evil.example/feed.atom HTTP/1.1\r\nHost: x\r\n\r\n", 0, 0},
      {"nul in path",
       WITH_NUL("GET /feed.atom\0/x HTTP/1.1\r\nHost: x\r\n\r\n"), 0},
      {"nul in header",
       WITH_NUL("GET /feed.atom HTTP/1.1\r\nHost: x\0y\r\n\r\n"), 0},
      {"no colon", "GET /feed.atom HTTP/1.1\r\nHost: x\r\nbroken\r\n\r\n", 0,
       0},
      {"space before colon",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length : 5\r\n\r\nhello",
       0, 400},
      {"tab in name",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nTransfer-Encoding\t: chunked\r\n"
       "\r\n0\r\n\r\n",
       0, 0},
      {"CL and TE",
       "POST /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
       0, 400},
      {"GET with CL and TE",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /metrics HTTP/1.1\r\n"
       "Host: x\r\n\r\n",
       0, 400},
      {"two CL",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
       "Content-Length: 35\r\n\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
       0, 400},
      {"body smuggling a request",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: 35\r\n\r\n"
       "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
       0, 413},
      {"chunked GET",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
       "\r\n23\r\nGET /metrics HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n",
       0, 413},
      {"TE obfuscated",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n"
       "Content-Length: 3\r\n\r\nabc",
       0, 400},
      {"bad CL",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", 0,
       0},
      {"huge CL",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: "
       "99999999999999999999999999\r\n\r\n",
       0, 0},
      {"bare LF", "GET /feed.atom HTTP/1.1\nHost: x\n\n", 0, 0},
      {"folded header",
       "GET /feed.atom HTTP/1.1\r\nHost: x\r\nX-A: b\r\n  c\r\n\r\n", 0, 0},
  };
  static char out[1 << 16];
  struct resp r;

  (void)state;
  for(size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    size_t len = cases[i].len ? cases[i].len : strlen(cases[i].req);
    int status;

    struct timespec t0, t1;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    raw(cases[i].req, len, out, sizeof(out));
    clock_gettime(CLOCK_MONOTONIC, &t1);
    status = status_of(out);
    fprintf(stderr, "note: %-26s -> %d (%.0f ms)\n", cases[i].name, status,
            (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
                (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    if(cases[i].want && status != cases[i].want)
      fail_msg("%s: status %d, want %d", cases[i].name, status, cases[i].want);
    /* Never a second response smuggled in, never a file from disk.
     * (libmicrohttpd 0.9.75 writes the head of its own parse errors, such
     * as a bad Content-Length, twice before closing: an identical repeat
     * is its quirk, any other second status is a failure.) */
    for(const char *p = strstr(out, "HTTP/1."); p; p = strstr(p + 1, "HTTP/1."))
      if(status_of(p) != status)
        fail_msg("%s: a second response:\n%s", cases[i].name, out);
    if(count(out, "HTTP/1.") > 1)
      fprintf(stderr, "note: %s: libmicrohttpd repeated its error head\n",
              cases[i].name);
    assert_null(strstr(out, "root:"));
    assert_null(strstr(out, "freshet_feeds"));
  }

  /* Sizes: a long URL, many headers, a 10 MB header. */
  {
    size_t n = 10 * 1024 * 1024;
    char *big = malloc(n + 256);
    size_t off = 5;

    if(big == NULL)
      abort(); /* (cmocka's asserts do not tell gcc they end the test) */
    memcpy(big, "GET /", off);
    memset(big + off, 'a', 100000);
    off += 100000;
    off += (size_t)sprintf(big + off, " HTTP/1.1\r\nHost: x\r\n\r\n");
    raw(big, off, out, sizeof(out));
    fprintf(stderr, "note: %-26s -> %d\n", "100 KB URL", status_of(out));
    assert_true(status_of(out) == 0 || status_of(out) >= 400);

    off = (size_t)sprintf(big, "GET /feed.atom HTTP/1.1\r\nHost: x\r\n");
    for(int i = 0; i < 5000; i++)
      off += (size_t)sprintf(big + off, "X-%d: y\r\n", i);
    off += (size_t)sprintf(big + off, "\r\n");
    raw(big, off, out, sizeof(out));
    fprintf(stderr, "note: %-26s -> %d\n", "5000 headers", status_of(out));
    assert_true(status_of(out) == 0 || status_of(out) >= 400);

    off = (size_t)sprintf(big, "GET /feed.atom HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(big + off, 'b', n);
    off += n;
    off += (size_t)sprintf(big + off, "\r\n\r\n");
    raw(big, off, out, sizeof(out));
    fprintf(stderr, "note: %-26s -> %d\n", "10 MB header", status_of(out));
    assert_true(status_of(out) == 0 || status_of(out) >= 400);
    free(big);
  }

  /* Pipelined good requests still work on one connection. */
  {
    const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "HEAD /widget.js HTTP/1.1\r\nHost: x\r\n\r\n";

    raw(two, strlen(two), out, sizeof(out));
    assert_int_equal(count(out, "HTTP/1.1 200"), 2);
  }

  /* And a normal client is served. */
  request(&r, "GET", "/feed.atom", NULL);
  assert_int_equal(r.status, 200);
  resp_free(&r);
}

/* One address holding many idle connections cannot lock others out. */
static void test_idle_connections(void **state)
{
  enum { IDLE = 200 };
  int fds[IDLE], opened = 0;
  struct resp r;

  (void)state;
  for(int i = 0; i < IDLE; i++) {
    fds[i] = connect_from("127.0.0.2");
    if(fds[i] >= 0)
      opened++;
  }
  if(opened == 0) {
    fprintf(stderr, "note: cannot bind 127.0.0.2; skipping\n");
    return;
  }
  /* The server keeps at most its per-address limit (64) of them. */
  for(int round = 0; round < 40; round++) {
    int alive = 0;

    usleep(50 * 1000);
    for(int i = 0; i < IDLE; i++) {
      char byte;

      if(fds[i] >= 0 && recv(fds[i], &byte, 1, MSG_DONTWAIT) < 0 &&
         (errno == EAGAIN || errno == EWOULDBLOCK))
        alive++;
    }
    if(alive <= 64 || round == 39) {
      fprintf(stderr, "note: %d of %d idle connections kept\n", alive, opened);
      assert_true(alive <= 64);
      break;
    }
  }
  request(&r, "GET", "/feed.atom", NULL);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  /* A slow request head from the same crowd does not stall others. */
  for(int i = 0; i < IDLE; i++)
    if(fds[i] >= 0)
      send(fds[i], "GET /feed.atom HTTP/1.1\r\nHo", 27, MSG_NOSIGNAL);
  request(&r, "GET", "/recent.json", NULL);
  assert_int_equal(r.status, 200);
  resp_free(&r);
  for(int i = 0; i < IDLE; i++)
    if(fds[i] >= 0)
      close(fds[i]);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_before_publish),
      cmocka_unit_test(test_listen),
      cmocka_unit_test(test_routes),
      cmocka_unit_test(test_conditional),
      cmocka_unit_test(test_gzip),
      cmocka_unit_test(test_head),
      cmocka_unit_test(test_methods),
      cmocka_unit_test(test_recent_query),
      cmocka_unit_test(test_healthz),
      cmocka_unit_test(test_metrics),
      cmocka_unit_test(test_widget_missing),
      cmocka_unit_test(test_update),
      cmocka_unit_test(test_swap_under_load),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_idle_connections),
  };
  int rc;

  /* HTTP_TEST=test_swap_under_load runs one test (for valgrind). */
  if(getenv("HTTP_TEST"))
    cmocka_set_test_filter(getenv("HTTP_TEST"));
  alarm(300);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
  curl_global_cleanup();
  return rc;
}
