/*
 * fuzz_http.c: libFuzzer target for the HTTP server's request handling.
 *
 * The real server (http_start: libmicrohttpd's threads and freshet's
 * handler) runs once on a free 127.0.0.1 port with every document
 * published and the widget files present. Each input is sent as the raw
 * bytes of one connection (so it may hold several pipelined requests, a
 * body, or garbage), the write side is closed, and everything the server
 * answers is read until it closes. abort() marks a broken promise:
 * - the server does not close within FUZZ_ANSWER_MS after the request
 *   ended (a client that has finished must not hold a connection);
 * - what it sends is not a sequence of HTTP/1.x responses, each a status
 *   line with a 3-digit code, header lines, a blank line, and then
 *   exactly Content-Length bytes of body where it gives one (a HEAD
 *   answer and a 304 carry none);
 * - every FUZZ_PROBE_EVERY inputs, a plain GET /healthz on a fresh
 *   connection must get its 200 (the server stays responsive).
 *
 * Each connection comes from another address in 127.0.0.0/8: a
 * connection per input leaves TIME_WAIT sockets behind, and with one
 * source address the ephemeral ports would run out within seconds.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"

#define FUZZ_MAX_INPUT (64 * 1024)
#define FUZZ_ANSWER_MS 5000
#define FUZZ_PROBE_EVERY 256
#define FUZZ_REPLY_MAX (8 * 1024 * 1024)

static struct http *server;
static uint16_t port;
static uint32_t next_source;
static char *reply;

static const char recent_json[] =
    "{\"version\":1,\"generated\":\"2026-01-01T00:00:00Z\",\"items\":["
    "{\"title\":\"One\",\"url\":\"https://a.example/1\","
    "\"source\":{\"name\":\"alpha\",\"title\":\"A\"}},"
    "{\"title\":\"Two\",\"url\":\"https://b.example/2\","
    "\"source\":{\"name\":\"beta\",\"title\":\"B\"}},"
    "{\"title\":\"Three\",\"url\":\"https://a.example/3\","
    "\"source\":{\"name\":\"alpha\",\"title\":\"A\"}}]}";

static const char atom[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
    "<feed xmlns=\"http://www.w3.org/2005/Atom\"><title>fuzz</title>"
    "<id>urn:fuzz</id><updated>2026-01-01T00:00:00Z</updated></feed>\n";

static void die(const char *what)
{
  fprintf(stderr, "fuzz_http: %s\n", what);
  abort();
}

static uint16_t free_port(void)
{
  struct sockaddr_in a;
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);

  memset(&a, 0, sizeof(a));
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if(fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
     getsockname(fd, (struct sockaddr *)&a, &len) != 0)
    die("no free port on 127.0.0.1");
  close(fd);
  return ntohs(a.sin_port);
}

static void write_file(const char *dir, const char *name, const char *text)
{
  char path[512];
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "w");
  if(f == NULL || fputs(text, f) == EOF || fclose(f) != 0)
    die("cannot write the widget files");
}

/* Numbers for /healthz and /metrics, with a cycle that just ended so that
 * /healthz is 200 however long the fuzzer runs. */
static void set_stats(void)
{
  struct http_stats stats;

  memset(&stats, 0, sizeof(stats));
  stats.feeds_total = 3;
  stats.feeds_ok = 2;
  stats.feeds_failing = 1;
  stats.interval = 600;
  stats.last_cycle = (int64_t)time(NULL);
  http_set_stats(server, &stats);
}

static void start_server(void)
{
  char dir[] = "/tmp/fuzz_http.XXXXXX";
  char listen[32], err[256];

  log_set_level(LOG_LEVEL_ERROR);
  if(mkdtemp(dir) == NULL)
    die("mkdtemp failed");
  write_file(dir, "widget.js", "/* widget */\n");
  write_file(dir, "widget.css", ".freshet{}\n");
  write_file(dir, "demo.html", "<!doctype html><title>demo</title>\n");
  port = free_port();
  snprintf(listen, sizeof(listen), "127.0.0.1:%u", (unsigned)port);
  if(http_start(listen, dir, &server, err, sizeof(err)) != 0)
    die(err);
  /* The files were read by http_start. */
  for(const char *const *n =
          (const char *const[]){"widget.js", "widget.css", "demo.html", NULL};
      *n; n++) {
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, *n);
    unlink(path);
  }
  rmdir(dir);

  if(http_update(server, "recent.json", "application/json", recent_json,
                 sizeof(recent_json) - 1) != 0 ||
     http_update(server, "feed.atom", "application/atom+xml", atom,
                 sizeof(atom) - 1) != 0)
    die("http_update failed");
  /* feed.rss, feed.json and feeds.opml stay unpublished: the 503 path. */
  set_stats();
  reply = malloc(FUZZ_REPLY_MAX);
  if(reply == NULL)
    die("out of memory");
}

static int64_t now_ms(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connection to the server from the next address in 127.0.0.0/8. */
static int connect_server(void)
{
  struct sockaddr_in src, dst;
  int fd, one = 1;
  uint32_t n = next_source++ % 0xfffe + 1; /* 127.0.0.1 .. 127.0.255.255 */

  fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if(fd < 0)
    die("socket failed");
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  memset(&src, 0, sizeof(src));
  src.sin_family = AF_INET;
  src.sin_addr.s_addr = htonl(0x7f000000u | n);
  memset(&dst, 0, sizeof(dst));
  dst.sin_family = AF_INET;
  dst.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  dst.sin_port = htons(port);
  if(bind(fd, (struct sockaddr *)&src, sizeof(src)) != 0)
    die("bind failed");
  if(connect(fd, (struct sockaddr *)&dst, sizeof(dst)) != 0) {
    /* libFuzzer's timer signal can interrupt connect, which then goes on
     * by itself: wait for it. */
    struct pollfd p = {fd, POLLOUT, 0};
    int err = errno;
    socklen_t len = sizeof(err);

    if(err != EINTR || poll(&p, 1, FUZZ_ANSWER_MS) != 1 ||
       getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      fprintf(stderr, "fuzz_http: connect: %s\n", strerror(err));
      abort();
    }
  }
  return fd;
}

/* Sends the request bytes, closes the write side and reads the whole
 * answer into reply. Returns its length. The server may close early
 * (a refused request): writing then fails, which is fine. */
static size_t exchange(const uint8_t *data, size_t size)
{
  int fd = connect_server();
  size_t sent = 0, got = 0;
  int64_t deadline = 0;
  bool writing = true;

  while(true) {
    struct pollfd p = {fd, POLLIN, 0};
    int64_t left;
    ssize_t n;

    if(writing && sent < size)
      p.events |= POLLOUT;
    else if(writing) {
      shutdown(fd, SHUT_WR);
      writing = false;
      deadline = now_ms() + FUZZ_ANSWER_MS;
    }
    left = writing ? FUZZ_ANSWER_MS : deadline - now_ms();
    if(left <= 0 || poll(&p, 1, (int)left) == 0) {
      fprintf(stderr,
              "fuzz_http: no end of the answer %d ms after the "
              "request (%zu bytes read)\n",
              FUZZ_ANSWER_MS, got);
      abort();
    }
    if(p.revents & POLLOUT) {
      n = send(fd, data + sent, size - sent, MSG_NOSIGNAL);
      if(n < 0 && errno == EINTR)
        continue;
      if(n < 0) {
        sent = size; /* the server closed: read what it said */
        continue;
      }
      sent += (size_t)n;
    }
    if(p.revents & (POLLIN | POLLHUP | POLLERR)) {
      n = recv(fd, reply + got, FUZZ_REPLY_MAX - got, 0);
      if(n < 0 && errno == EINTR)
        continue;
      if(n < 0 && errno == ECONNRESET)
        break;
      if(n < 0)
        die("recv failed");
      if(n == 0)
        break;
      got += (size_t)n;
      if(got == FUZZ_REPLY_MAX)
        die("answer larger than 8 MiB");
      if(writing && sent < size)
        continue;
    }
  }
  close(fd);
  return got;
}

static const char *find(const char *s, size_t n, const char *what)
{
  size_t w = strlen(what);

  for(size_t i = 0; n >= w && i <= n - w; i++)
    if(memcmp(s + i, what, w) == 0)
      return s + i;
  return NULL;
}

/* The value of header name (lower case) within head, or -1. */
static long long header_number(const char *head, size_t n, const char *name)
{
  size_t w = strlen(name);

  for(const char *line = head; line < head + n;) {
    const char *eol = find(line, (size_t)(head + n - line), "\r\n");
    size_t len = eol ? (size_t)(eol - line) : (size_t)(head + n - line);

    if(len > w && line[w] == ':' && strncasecmp(line, name, w) == 0) {
      char num[32];
      size_t k = 0;

      for(const char *p = line + w + 1; p < line + len && k < 31; p++)
        if(*p != ' ')
          num[k++] = *p;
      num[k] = '\0';
      return strtoll(num, NULL, 10);
    }
    line += len + 2;
  }
  return -1;
}

/* Whether some request line in the input may be a HEAD: a line (after a
 * LF, or at the start) that begins "HEAD ". Which answer belongs to which
 * request is only a guess for garbage input, so a bodiless answer is let
 * through when any request could have been a HEAD. */
static bool may_have_head(const uint8_t *data, size_t size)
{
  for(size_t i = 0; i + 5 <= size; i++)
    if((i == 0 || data[i - 1] == '\n') && memcmp(data + i, "HEAD ", 5) == 0)
      return true;
  return false;
}

static void check_answer(const uint8_t *data, size_t size, const char *r,
                         size_t n)
{
  unsigned k = 0;

  while(n > 0) {
    const char *end = find(r, n, "\r\n\r\n");
    size_t headlen;
    long long clen;
    int status;

    if(n < 12 || (memcmp(r, "HTTP/1.1 ", 9) && memcmp(r, "HTTP/1.0 ", 9)) ||
       r[9] < '1' || r[9] > '5' || r[10] < '0' || r[10] > '9' || r[11] < '0' ||
       r[11] > '9') {
      fprintf(stderr,
              "fuzz_http: answer %u is not an HTTP/1.x status "
              "line: %.40s\n",
              k, r);
      abort();
    }
    if(end == NULL)
      die("answer without the blank line that ends its head");
    status = (r[9] - '0') * 100 + (r[10] - '0') * 10 + (r[11] - '0');
    headlen = (size_t)(end - r) + 4;
    clen = header_number(r, headlen, "content-length");
    if(status >= 400 && n >= 2 * headlen &&
       memcmp(r, r + headlen, headlen) == 0 &&
       find(r, headlen, "\r\nConnection: close\r\n")) {
      /* A known defect of libmicrohttpd 0.9.75 (Debian 12), outside
       * freshet's reach: a malformed or huge Content-Length gets MHD's
       * own 400 or 413 with its head sent twice, then the body, then the
       * close. Only that exact shape is let through. */
      r += headlen;
      n -= headlen;
    }
    r += headlen;
    n -= headlen;
    /* What follows a HEAD answer is the next answer, or the end. */
    if(status == 304 || status == 204 || status < 200 ||
       ((n == 0 || (n >= 9 && memcmp(r, "HTTP/1.1 ", 9) == 0)) &&
        may_have_head(data, size)))
      clen = 0;
    if(clen < 0) {
      /* No length: the body runs to the close, so nothing may follow. */
      return;
    }
    if((unsigned long long)clen > n) {
      fprintf(stderr, "fuzz_http: answer %u promises %lld bytes, %zu came\n", k,
              clen, n);
      abort();
    }
    r += clen;
    n -= (size_t)clen;
    k++;
  }
}

static void probe(void)
{
  static const char req[] =
      "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  size_t n;

  set_stats();
  n = exchange((const uint8_t *)req, sizeof(req) - 1);
  if(n < 12 || memcmp(reply, "HTTP/1.1 200", 12) != 0) {
    fprintf(stderr, "fuzz_http: /healthz answered: %.*s\n",
            (int)(n < 80 ? n : 80), reply);
    abort();
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static unsigned runs;
  size_t n;

  if(size > FUZZ_MAX_INPUT)
    return 0;
  if(server == NULL)
    start_server();
  n = exchange(data, size);
  check_answer(data, size, reply, n);
  if(++runs % FUZZ_PROBE_EVERY == 0)
    probe();
  return 0;
}
