/*
 * config.c: freshet.conf and feeds.d/ -> struct config, and the edits
 * `freshet add/remove/import` make to feeds.d.
 *
 * INI files go through inih (ini_parse_stream) fed by our own line reader.
 * The reader is what knows where we are: Debian's inih 55 calls the
 * handler without a line number, keeps only 49 bytes of a section name
 * (feed names may have 64), never calls the handler for a section without
 * keys, and reports only the first bad line. So the reader counts lines,
 * reads "[section]" lines itself, reports lines that are not "key = value"
 * and hands inih only the key lines, without their leading blanks (inih
 * would take an indented line for the continuation of the previous value;
 * we have no multi-line values). inih splits them and drops inline
 * " ; comments". A line longer than inih's buffer is an error instead of
 * being cut in two.
 *
 * freshet.conf holds [freshet] and may hold feed sections as well; every
 * section of feeds.d/ *.conf is a feed. Load order: freshet.conf, then
 * feeds.d/ *.conf, then feeds.d/ *.opml, each in strcmp order of the file
 * names, so that the first of two subscriptions to one URL, and every
 * message, is the same from run to run. A name chosen in an INI file wins:
 * a clash is an error there, while a feed from OPML (whose name is usually
 * derived) is renamed with -2, -3, ... and a warning.
 *
 * Unset link, id and author are "", never NULL; so is an empty listen.
 */
#include "config.h"

#include "buf.h"
#include "opml.h"
#include "strmap.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CONFIG_FILE "freshet.conf"
#define FEEDS_DIR "feeds.d"
#define MAX_CONF_SIZE (16 * 1024 * 1024)
#define MAX_OPML_SIZE (64 * 1024 * 1024)
/* The longest line inih can hold (its buffer also needs the NUL). */
#define MAX_LINE (INI_MAX_LINE - 1)
#define NAME_MAX_LEN 64
#define DAY INT64_C(86400)

/* ASCII-only character classes (no locale). */
static bool is_space(unsigned char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

static bool is_digit(unsigned char c)
{
  return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static unsigned char to_lower(unsigned char c)
{
  return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static bool ascii_caseeq(const char *a, const char *b)
{
  while(*a && to_lower((unsigned char)*a) == to_lower((unsigned char)*b)) {
    a++;
    b++;
  }
  return *a == '\0' && *b == '\0';
}

static bool has_suffix(const char *s, const char *suffix)
{
  size_t n = strlen(s), m = strlen(suffix);

  return n > m && strcmp(s + n - m, suffix) == 0;
}

/* Returns a malloc'd "a/b" ("b" when a is "."), or NULL. */
static char *join(const char *a, const char *b)
{
  size_t n = strlen(a);
  char *s;

  if(strcmp(a, ".") == 0)
    return strdup(b);
  s = malloc(n + strlen(b) + 2);
  if(!s)
    return NULL;
  memcpy(s, a, n);
  if(n == 0 || a[n - 1] != '/')
    s[n++] = '/';
  strcpy(s + n, b);
  return s;
}

/* Returns the malloc'd directory part of path ("." when there is none). */
static char *dir_of(const char *path)
{
  const char *slash = strrchr(path, '/');
  char *d;

  if(!slash)
    return strdup(".");
  if(slash == path)
    return strdup("/");
  d = malloc((size_t)(slash - path) + 1);
  if(!d)
    return NULL;
  memcpy(d, path, (size_t)(slash - path));
  d[slash - path] = '\0';
  return d;
}

/* --- values --------------------------------------------------------- */

/* Reads digits at *s into *out; returns false on overflow or no digits. */
static bool parse_digits(const char **s, int64_t *out)
{
  int64_t v = 0;
  const char *p = *s;

  if(!is_digit((unsigned char)*p))
    return false;
  for(; is_digit((unsigned char)*p); p++) {
    int d = *p - '0';

    if(v > (INT64_MAX - d) / 10)
      return false;
    v = v * 10 + d;
  }
  *s = p;
  *out = v;
  return true;
}

int config_parse_duration(const char *s, int64_t *out)
{
  int64_t total = 0;
  const char *p = s;

  if(!s || !*s)
    return -EINVAL;
  while(*p) {
    int64_t v, unit;

    if(!parse_digits(&p, &v))
      return -EINVAL;
    switch(*p) {
    case '\0':
      /* a plain number is seconds, but only on its own: not "1h30" */
      if(p != s && total != 0)
        return -EINVAL;
      unit = 1;
      break;
    case 's':
      unit = 1;
      break;
    case 'm':
      unit = 60;
      break;
    case 'h':
      unit = 3600;
      break;
    case 'd':
      unit = DAY;
      break;
    case 'w':
      unit = 7 * DAY;
      break;
    default:
      return -EINVAL;
    }
    if(*p)
      p++;
    if(v > INT64_MAX / unit || v * unit > INT64_MAX - total)
      return -EINVAL;
    total += v * unit;
  }
  *out = total;
  return 0;
}

int config_parse_size(const char *s, int64_t *out)
{
  const char *p = s;
  int64_t v, unit = 1;

  if(!s || !parse_digits(&p, &v))
    return -EINVAL;
  switch(to_lower((unsigned char)*p)) {
  case 'k':
    unit = INT64_C(1) << 10;
    break;
  case 'm':
    unit = INT64_C(1) << 20;
    break;
  case 'g':
    unit = INT64_C(1) << 30;
    break;
  case 't':
    unit = INT64_C(1) << 40;
    break;
  }
  if(unit > 1) {
    p++;
    if(*p == 'i' && p[1] == 'B') /* "16MiB" */
      p++;
  }
  if(*p == 'B' || *p == 'b')
    p++;
  if(*p || v > INT64_MAX / unit)
    return -EINVAL;
  *out = v * unit;
  return 0;
}

/* "90s", "15m", "2h", "1d": the largest unit that divides s exactly. */
static void format_duration(int64_t s, char *buf, size_t len)
{
  if(s != 0 && s % DAY == 0)
    snprintf(buf, len, "%lldd", (long long)(s / DAY));
  else if(s != 0 && s % 3600 == 0)
    snprintf(buf, len, "%lldh", (long long)(s / 3600));
  else if(s != 0 && s % 60 == 0)
    snprintf(buf, len, "%lldm", (long long)(s / 60));
  else
    snprintf(buf, len, "%llds", (long long)s);
}

static void format_size(int64_t v, char *buf, size_t len)
{
  if(v != 0 && v % (INT64_C(1) << 30) == 0)
    snprintf(buf, len, "%lldG", (long long)(v >> 30));
  else if(v != 0 && v % (INT64_C(1) << 20) == 0)
    snprintf(buf, len, "%lldM", (long long)(v >> 20));
  else if(v != 0 && v % 1024 == 0)
    snprintf(buf, len, "%lldK", (long long)(v >> 10));
  else
    snprintf(buf, len, "%lld", (long long)v);
}

/* A decimal integer, optionally negative, nothing else. */
static bool parse_long(const char *s, long *out)
{
  const char *p = s;
  int64_t v;
  bool neg = *p == '-';

  if(neg)
    p++;
  if(!parse_digits(&p, &v) || *p || v > LONG_MAX)
    return false;
  *out = neg ? -(long)v : (long)v;
  return true;
}

static bool parse_bool(const char *s, bool *out)
{
  static const char *const yes[] = {"true", "yes", "on", "1"};
  static const char *const no[] = {"false", "no", "off", "0"};

  for(size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    if(ascii_caseeq(s, yes[i])) {
      *out = true;
      return true;
    }
    if(ascii_caseeq(s, no[i])) {
      *out = false;
      return true;
    }
  }
  return false;
}

static bool ascii_prefix(const char *s, const char *prefix)
{
  for(; *prefix; s++, prefix++)
    if(to_lower((unsigned char)*s) != (unsigned char)*prefix)
      return false;
  return true;
}

/* An absolute http or https URL with a host, and no blanks or control
 * characters anywhere. */
static bool valid_url(const char *url)
{
  const char *host, *end, *at;

  if(ascii_prefix(url, "http://"))
    host = url + 7;
  else if(ascii_prefix(url, "https://"))
    host = url + 8;
  else
    return false;
  end = host + strcspn(host, "/?#");
  at = memchr(host, '@', (size_t)(end - host));
  while(at) { /* userinfo may hold '@' only escaped, but be lenient */
    host = at + 1;
    at = memchr(host, '@', (size_t)(end - host));
  }
  if(host == end || *host == ':')
    return false;
  for(const unsigned char *q = (const unsigned char *)url; *q; q++)
    if(*q <= 0x20 || *q == 0x7f)
      return false;
  return true;
}

/* The key two subscriptions to one feed share: scheme and host
 * lower-cased, the rest as written. Returns it malloc'd, or NULL. */
static char *url_key(const char *url)
{
  char *k = strdup(url);
  char *p;

  if(!k)
    return NULL;
  p = strstr(k, "://");
  for(char *q = k; q < (p ? p : k); q++)
    *q = (char)to_lower((unsigned char)*q);
  if(p)
    for(p += 3; *p && *p != '/' && *p != '?' && *p != '#'; p++)
      *p = (char)to_lower((unsigned char)*p);
  return k;
}

/* "", "host:port" or "[v6]:port". */
static bool valid_listen(const char *s)
{
  const char *colon;
  const char *port;
  int64_t v;

  if(!*s)
    return true;
  if(*s == '[') {
    const char *end = strchr(s, ']');
    char addr[INET6_ADDRSTRLEN + 1];
    struct in6_addr a6;

    if(!end || end[1] != ':' || (size_t)(end - s - 1) >= sizeof(addr))
      return false;
    memcpy(addr, s + 1, (size_t)(end - s - 1));
    addr[end - s - 1] = '\0';
    if(inet_pton(AF_INET6, addr, &a6) != 1)
      return false;
    colon = end + 1;
  } else {
    bool numeric = true;

    /* ":8080" listens on every interface. */
    colon = strrchr(s, ':');
    if(!colon || strchr(s, ':') != colon)
      return false;
    for(const char *p = s; p < colon; p++) {
      unsigned char c = (unsigned char)*p;

      if(!is_alpha(c) && !is_digit(c) && c != '.' && c != '-')
        return false;
      if(!is_digit(c) && c != '.')
        numeric = false;
    }
    if(numeric && colon > s) {
      char addr[INET_ADDRSTRLEN + 1];
      struct in_addr a4;

      if((size_t)(colon - s) >= sizeof(addr))
        return false;
      memcpy(addr, s, (size_t)(colon - s));
      addr[colon - s] = '\0';
      if(inet_pton(AF_INET, addr, &a4) != 1)
        return false;
    }
  }
  port = colon + 1;
  return parse_digits(&port, &v) && *port == '\0' && v >= 1 && v <= 65535;
}

bool config_valid_name(const char *name)
{
  size_t n = 0;

  if(!name || name[0] == '.' || name[0] == '\0')
    return false;
  for(; name[n]; n++) {
    unsigned char c = (unsigned char)name[n];

    if(n >= NAME_MAX_LEN)
      return false;
    if(!is_alpha(c) && !is_digit(c) && c != '.' && c != '_' && c != '-')
      return false;
  }
  return true;
}

/* --- the loader ----------------------------------------------------- */

enum key_type {
  KEY_STRING,   /* anything */
  KEY_PATH,     /* not empty */
  KEY_URL,      /* empty or an absolute http(s) URL */
  KEY_DURATION, /* int64_t seconds in [min, max] */
  KEY_SIZE,     /* int64_t bytes in [min, max] */
  KEY_LONG,     /* long in [min, max] */
  KEY_LISTEN,
  KEY_LOG_LEVEL,
};

struct key {
  const char *name;
  enum key_type type;
  size_t off;
  int64_t min;
  int64_t max;
};

#define KEY(n, t, lo, hi)                                                      \
  {                                                                            \
#n, t, offsetof(struct config, n), lo, hi                                  \
  }

static const struct key keys[] = {
    KEY(database, KEY_PATH, 0, 0),
    KEY(output_dir, KEY_PATH, 0, 0),
    KEY(listen, KEY_LISTEN, 0, 0),
    KEY(title, KEY_STRING, 0, 0),
    KEY(link, KEY_URL, 0, 0),
    KEY(id, KEY_STRING, 0, 0),
    KEY(author, KEY_STRING, 0, 0),
    KEY(user_agent, KEY_PATH, 0, 0),
    KEY(interval, KEY_DURATION, 1, 365 * DAY),
    KEY(min_interval, KEY_DURATION, 1, 365 * DAY),
    KEY(max_interval, KEY_DURATION, 1, 365 * DAY),
    KEY(connect_timeout, KEY_DURATION, 1, DAY),
    KEY(timeout, KEY_DURATION, 1, DAY),
    KEY(max_size, KEY_SIZE, 1024, INT64_C(1) << 30),
    KEY(concurrency, KEY_LONG, 1, 10000),
    KEY(per_host, KEY_LONG, 1, 100),
    KEY(items, KEY_LONG, 1, 10000),
    KEY(recent, KEY_LONG, 1, 1000),
    KEY(excerpt, KEY_LONG, 20, 10000),
    KEY(retention_days, KEY_LONG, 0, 36500),
    KEY(retention_per_feed, KEY_LONG, 0, 100000000),
    KEY(log_level, KEY_LOG_LEVEL, 0, 0),
};

#define NKEYS (sizeof(keys) / sizeof(keys[0]))

enum feed_key { FK_URL, FK_TITLE, FK_INTERVAL, FK_ENABLED, FK_TAGS, FK_N };

static const char *const feed_keys[FK_N] = {"url", "title", "interval",
                                            "enabled", "tags"};

struct loader {
  struct config *cfg;
  struct config_diag diag;
  size_t feeds_cap;
  struct strmap names; /* feed name -> index in cfg->feeds */
  struct strmap urls;  /* url_key -> index in cfg->feeds */
  int key_line[NKEYS]; /* where each [freshet] key was set; 0: default */
  char *main_file;     /* the name freshet.conf has in messages */
  int rc;              /* -ENOMEM once out of memory */
};

static void diag_push(struct loader *ld, bool error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void diag_push(struct loader *ld, bool error, const char *fmt, ...)
{
  char ***list = error ? &ld->diag.errors : &ld->diag.warnings;
  size_t *n = error ? &ld->diag.nerrors : &ld->diag.nwarnings;
  char **grown;
  char *msg;
  va_list ap;
  int len;

  va_start(ap, fmt);
  len = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  msg = len < 0 ? NULL : malloc((size_t)len + 1);
  grown = realloc(*list, (*n + 1) * sizeof(**list));
  if(grown)
    *list = grown;
  if(!msg || !grown) {
    free(msg); /* the load fails with -ENOMEM */
    ld->rc = -ENOMEM;
    return;
  }
  va_start(ap, fmt);
  vsnprintf(msg, (size_t)len + 1, fmt, ap);
  va_end(ap);
  (*list)[(*n)++] = msg;
}

#define ERR(ld, ...) diag_push(ld, true, __VA_ARGS__)
#define WARN(ld, ...) diag_push(ld, false, __VA_ARGS__)

static void feed_clear(struct config_feed *f)
{
  free(f->name);
  free(f->url);
  free(f->title);
  for(size_t i = 0; i < f->ntags; i++)
    free(f->tags[i]);
  free(f->tags);
  free(f->file);
  memset(f, 0, sizeof(*f));
}

/* Appends f to the config (taking its strings) and indexes it. */
static void feed_append(struct loader *ld, struct config_feed *f, char *key)
{
  struct config *cfg = ld->cfg;

  if(cfg->nfeeds == ld->feeds_cap) {
    size_t nc = ld->feeds_cap ? 2 * ld->feeds_cap : 16;
    struct config_feed *nf = realloc(cfg->feeds, nc * sizeof(*nf));

    if(!nf) {
      ld->rc = -ENOMEM;
      feed_clear(f);
      return;
    }
    cfg->feeds = nf;
    ld->feeds_cap = nc;
  }
  if(strmap_put(&ld->names, f->name, cfg->nfeeds) != 0 ||
     strmap_put(&ld->urls, key, cfg->nfeeds) != 0) {
    ld->rc = -ENOMEM;
    feed_clear(f);
    return;
  }
  cfg->feeds[cfg->nfeeds++] = *f;
  memset(f, 0, sizeof(*f));
}

/* Adds a feed read from a file, or says why not; f is consumed. */
static void feed_commit(struct loader *ld, struct config_feed *f,
                        bool from_opml)
{
  const struct config_feed *other;
  size_t *at = strmap_get(&ld->names, f->name);
  char *key;

  if(at && !from_opml) {
    other = &ld->cfg->feeds[*at];
    ERR(ld, "%s:%d: feed '%s' already defined at %s:%d", f->file, f->line,
        f->name, other->file, other->line);
    feed_clear(f);
    return;
  }
  key = url_key(f->url);
  if(!key) {
    ld->rc = -ENOMEM;
    feed_clear(f);
    return;
  }
  at = strmap_get(&ld->urls, key);
  if(at) {
    other = &ld->cfg->feeds[*at];
    WARN(ld, "%s:%d: feed '%s' has the same url as feed '%s' (%s:%d); ignored",
         f->file, f->line, f->name, other->name, other->file, other->line);
    /* Its name is still taken: a later section of that name is an error
     * now, not only once the other feed is removed. */
    if(!from_opml && !strmap_get(&ld->names, f->name)) {
      struct config *cfg = ld->cfg;
      char **names =
          realloc(cfg->ignored_names, (cfg->nignored + 1) * sizeof(*names));

      if(names)
        cfg->ignored_names = names;
      if(!names || strmap_put(&ld->names, f->name, *at) != 0)
        ld->rc = -ENOMEM;
      else if(!(names[cfg->nignored] = strdup(f->name)))
        ld->rc = -ENOMEM;
      else
        cfg->nignored++;
    }
    feed_clear(f);
    free(key);
    return;
  }
  at = strmap_get(&ld->names, f->name);
  if(at) {
    char cand[NAME_MAX_LEN + 1];
    size_t bl = strlen(f->name);

    other = &ld->cfg->feeds[*at];
    for(unsigned i = 2;; i++) {
      char suffix[16];
      int sl = snprintf(suffix, sizeof(suffix), "-%u", i);
      size_t keep =
          bl + (size_t)sl > NAME_MAX_LEN ? NAME_MAX_LEN - (size_t)sl : bl;

      snprintf(cand, sizeof(cand), "%.*s%s", (int)keep, f->name, suffix);
      if(!strmap_get(&ld->names, cand))
        break;
    }
    WARN(ld, "%s:%d: feed name '%s' is taken (%s:%d); named it '%s'", f->file,
         f->line, f->name, other->file, other->line, cand);
    free(f->name);
    f->name = strdup(cand);
    if(!f->name) {
      ld->rc = -ENOMEM;
      feed_clear(f);
      free(key);
      return;
    }
  }
  feed_append(ld, f, key);
  free(key);
}

/* One INI file being read. */
enum section_kind { SEC_NONE, SEC_FRESHET, SEC_FEED, SEC_SKIP };

struct ini_file {
  struct loader *ld;
  const char *file;
  const char *data;
  size_t len;
  size_t pos;
  int lineno;
  bool main; /* freshet.conf: [freshet] holds the settings */
  enum section_kind kind;
  char *section;
  struct config_feed feed; /* the feed section being read */
  int feed_key_line[FK_N];
  bool feed_bad;
  bool url_bad;
};

static void section_end(struct ini_file *f)
{
  if(f->kind == SEC_FEED) {
    if(!f->feed.url && !f->url_bad)
      ERR(f->ld, "%s:%d: feed '%s' has no url", f->file, f->feed.line,
          f->feed.name);
    if(f->feed_bad || !f->feed.url)
      feed_clear(&f->feed);
    else
      feed_commit(f->ld, &f->feed, false);
  }
  free(f->section);
  f->section = NULL;
  f->kind = SEC_NONE;
}

static void section_begin(struct ini_file *f, const char *name, size_t len)
{
  section_end(f);
  f->section = strndup(name, len);
  if(!f->section) {
    f->ld->rc = -ENOMEM;
    f->kind = SEC_SKIP;
    return;
  }
  if(f->main && strcmp(f->section, "freshet") == 0) {
    f->kind = SEC_FRESHET;
    return;
  }
  if(!config_valid_name(f->section)) {
    ERR(f->ld,
        "%s:%d: bad feed name '%s' (1-64 letters, digits, '.', '_' or '-', "
        "not starting with '.')",
        f->file, f->lineno, f->section);
    f->kind = SEC_SKIP;
    return;
  }
  f->kind = SEC_FEED;
  memset(&f->feed, 0, sizeof(f->feed));
  memset(f->feed_key_line, 0, sizeof(f->feed_key_line));
  f->feed_bad = false;
  f->url_bad = false;
  f->feed.name = strdup(f->section);
  f->feed.file = strdup(f->file);
  f->feed.line = f->lineno;
  f->feed.enabled = true;
  if(!f->feed.name || !f->feed.file) {
    f->ld->rc = -ENOMEM;
    feed_clear(&f->feed);
    f->kind = SEC_SKIP;
  }
}

/* Where inih would split "key = value": the first '=' or ':' before an
 * inline comment (';' after a blank), or NULL. */
static const char *find_separator(const char *s, const char *end)
{
  bool was_space = false;

  for(; s < end; s++) {
    if(*s == '=' || *s == ':')
      return s;
    if(was_space && *s == ';')
      return NULL;
    was_space = is_space((unsigned char)*s);
  }
  return NULL;
}

/* Reads a "[name]" line (s..end, leading blanks skipped). */
static void section_line(struct ini_file *f, const char *s, const char *end)
{
  const char *close = memchr(s, ']', (size_t)(end - s));
  const char *a = s + 1, *b;

  if(!close) {
    ERR(f->ld, "%s:%d: section header without ']'", f->file, f->lineno);
    section_end(f);
    f->kind = SEC_SKIP;
    return;
  }
  for(const char *p = close + 1; p < end; p++) {
    if(*p == ';' || *p == '#')
      break;
    if(!is_space((unsigned char)*p)) {
      ERR(f->ld, "%s:%d: unexpected text after section header", f->file,
          f->lineno);
      break;
    }
  }
  b = close;
  while(a < b && is_space((unsigned char)*a))
    a++;
  while(b > a && is_space((unsigned char)b[-1]))
    b--;
  section_begin(f, a, (size_t)(b - a));
}

/* inih's reader: one physical line at a time; see the top of the file. */
static char *read_line(char *str, int num, void *stream)
{
  struct ini_file *f = stream;
  const char *s, *end, *nl;

  if(f->pos >= f->len)
    return NULL;
  s = f->data + f->pos;
  nl = memchr(s, '\n', f->len - f->pos);
  end = nl ? nl : f->data + f->len;
  f->pos = (size_t)(end - f->data) + (nl ? 1 : 0);
  f->lineno++;
  str[0] = '\0';
  if(end > s && end[-1] == '\r')
    end--;
  if(f->lineno == 1 && end - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
    s += 3;
  while(s < end && is_space((unsigned char)*s))
    s++;
  if(s == end || *s == ';' || *s == '#')
    return str;
  if(memchr(s, '\0', (size_t)(end - s))) {
    ERR(f->ld, "%s:%d: NUL byte in line", f->file, f->lineno);
    return str;
  }
  if(*s == '[') {
    section_line(f, s, end);
    return str;
  }
  if(!find_separator(s, end)) {
    ERR(f->ld, "%s:%d: expected 'key = value'", f->file, f->lineno);
    return str;
  }
  if(end - s > num - 1) {
    ERR(f->ld, "%s:%d: line too long (more than %d bytes)", f->file, f->lineno,
        num - 1);
    return str;
  }
  memcpy(str, s, (size_t)(end - s));
  str[end - s] = '\0';
  return str;
}

static bool set_string(struct loader *ld, char **field, const char *value)
{
  char *s = strdup(value);

  if(!s) {
    ld->rc = -ENOMEM;
    return false;
  }
  free(*field);
  *field = s;
  return true;
}

static void global_key(struct ini_file *f, const char *name, const char *value)
{
  struct loader *ld = f->ld;
  char *base = (char *)ld->cfg;
  const struct key *k = NULL;
  size_t i;
  int64_t v = 0;
  long l = 0;
  char lo[32], hi[32];

  for(i = 0; i < NKEYS && !k; i++)
    if(strcmp(keys[i].name, name) == 0)
      k = &keys[i];
  if(!k) {
    ERR(ld, "%s:%d: unknown key '%s' in [freshet]", f->file, f->lineno, name);
    return;
  }
  i = (size_t)(k - keys);
  if(ld->key_line[i]) {
    ERR(ld, "%s:%d: duplicate key '%s' in [freshet] (first at line %d)",
        f->file, f->lineno, name, ld->key_line[i]);
    return;
  }
  ld->key_line[i] = f->lineno;
  switch(k->type) {
  case KEY_PATH:
    if(!*value) {
      ERR(ld, "%s:%d: %s must not be empty", f->file, f->lineno, name);
      return;
    }
    /* fall through */
  case KEY_STRING:
    set_string(ld, (char **)(base + k->off), value);
    return;
  case KEY_URL:
    if(*value && !valid_url(value)) {
      ERR(ld, "%s:%d: bad %s '%s' (an absolute http or https URL)", f->file,
          f->lineno, name, value);
      return;
    }
    set_string(ld, (char **)(base + k->off), value);
    return;
  case KEY_LISTEN:
    if(!valid_listen(value)) {
      ERR(ld,
          "%s:%d: bad listen '%s' (host:port, [v6addr]:port, :port, or "
          "empty for no server)",
          f->file, f->lineno, value);
      return;
    }
    set_string(ld, (char **)(base + k->off), value);
    return;
  case KEY_LOG_LEVEL:
    if(log_level_parse(value, &ld->cfg->log_level) != 0)
      ERR(ld, "%s:%d: bad log_level '%s' (error, warn, info or debug)", f->file,
          f->lineno, value);
    return;
  case KEY_DURATION:
    if(config_parse_duration(value, &v) != 0) {
      ERR(ld, "%s:%d: bad duration '%s' for %s (e.g. 90s, 15m, 2h, 1d)",
          f->file, f->lineno, value, name);
      return;
    }
    if(v < k->min || v > k->max) {
      format_duration(k->min, lo, sizeof(lo));
      format_duration(k->max, hi, sizeof(hi));
      ERR(ld, "%s:%d: %s must be between %s and %s, not '%s'", f->file,
          f->lineno, name, lo, hi, value);
      return;
    }
    *(int64_t *)(base + k->off) = v;
    return;
  case KEY_SIZE:
    if(config_parse_size(value, &v) != 0) {
      ERR(ld, "%s:%d: bad size '%s' for %s (e.g. 512K, 16M, 1G)", f->file,
          f->lineno, value, name);
      return;
    }
    if(v < k->min || v > k->max) {
      format_size(k->min, lo, sizeof(lo));
      format_size(k->max, hi, sizeof(hi));
      ERR(ld, "%s:%d: %s must be between %s and %s, not '%s'", f->file,
          f->lineno, name, lo, hi, value);
      return;
    }
    *(int64_t *)(base + k->off) = v;
    return;
  case KEY_LONG:
    if(!parse_long(value, &l) || l < k->min || l > k->max) {
      ERR(ld, "%s:%d: %s must be a number from %lld to %lld, not '%s'", f->file,
          f->lineno, name, (long long)k->min, (long long)k->max, value);
      return;
    }
    *(long *)(base + k->off) = l;
    return;
  }
}

/* Splits "a, b,, c" into trimmed, non-empty, distinct tags. */
static int split_tags(const char *value, char ***tags, size_t *ntags)
{
  const char *p = value;

  while(*p) {
    const char *a = p, *b;
    char *tag, **grown;
    bool dup = false;

    while(*p && *p != ',')
      p++;
    b = p;
    if(*p)
      p++;
    while(a < b && is_space((unsigned char)*a))
      a++;
    while(b > a && is_space((unsigned char)b[-1]))
      b--;
    if(a == b)
      continue;
    for(size_t i = 0; i < *ntags && !dup; i++)
      dup = strlen((*tags)[i]) == (size_t)(b - a) &&
            memcmp((*tags)[i], a, (size_t)(b - a)) == 0;
    if(dup)
      continue;
    tag = strndup(a, (size_t)(b - a));
    grown = tag ? realloc(*tags, (*ntags + 1) * sizeof(**tags)) : NULL;
    if(!grown) {
      free(tag);
      return -ENOMEM;
    }
    *tags = grown;
    (*tags)[(*ntags)++] = tag;
  }
  return 0;
}

static void feed_key(struct ini_file *f, const char *name, const char *value)
{
  struct loader *ld = f->ld;
  struct config_feed *feed = &f->feed;
  int k;
  bool b;

  for(k = 0; k < FK_N; k++)
    if(strcmp(feed_keys[k], name) == 0)
      break;
  if(k == FK_N) {
    bool setting = false;

    for(size_t i = 0; i < NKEYS && !setting; i++)
      setting = strcmp(keys[i].name, name) == 0 && strcmp(name, "title") != 0 &&
                strcmp(name, "interval") != 0;
    ERR(ld, "%s:%d: unknown key '%s' in [%s]%s", f->file, f->lineno, name,
        feed->name,
        setting ? " (a setting: it goes in [freshet] in freshet.conf)" : "");
    f->feed_bad = true;
    return;
  }
  if(f->feed_key_line[k]) {
    ERR(ld, "%s:%d: duplicate key '%s' in [%s] (first at line %d)", f->file,
        f->lineno, name, feed->name, f->feed_key_line[k]);
    f->feed_bad = true;
    return;
  }
  f->feed_key_line[k] = f->lineno;
  switch(k) {
  case FK_URL:
    if(!valid_url(value)) {
      ERR(ld, "%s:%d: bad url '%s' in [%s] (an absolute http or https URL)",
          f->file, f->lineno, value, feed->name);
      f->url_bad = true;
      f->feed_bad = true;
      return;
    }
    set_string(ld, &feed->url, value);
    return;
  case FK_TITLE:
    if(*value)
      set_string(ld, &feed->title, value);
    return;
  case FK_INTERVAL:
    if(config_parse_duration(value, &feed->interval) != 0) {
      ERR(ld, "%s:%d: bad duration '%s' for interval (e.g. 90s, 15m, 2h, 1d)",
          f->file, f->lineno, value);
      f->feed_bad = true;
    } else if(feed->interval < 1 || feed->interval > 365 * DAY) {
      ERR(ld, "%s:%d: interval must be between 1s and 365d, not '%s'", f->file,
          f->lineno, value);
      f->feed_bad = true;
    }
    return;
  case FK_ENABLED:
    if(!parse_bool(value, &b)) {
      ERR(ld, "%s:%d: bad value '%s' for enabled (true or false)", f->file,
          f->lineno, value);
      f->feed_bad = true;
      return;
    }
    feed->enabled = b;
    return;
  case FK_TAGS:
    if(split_tags(value, &feed->tags, &feed->ntags) != 0)
      ld->rc = -ENOMEM;
    return;
  }
}

static int on_key(void *user, const char *section, const char *name,
                  const char *value)
{
  struct ini_file *f = user;

  (void)section; /* inih never sees a section line: see read_line */
  switch(f->kind) {
  case SEC_NONE:
    ERR(f->ld, "%s:%d: key '%s' outside a section", f->file, f->lineno, name);
    break;
  case SEC_FRESHET:
    global_key(f, name, value);
    break;
  case SEC_FEED:
    feed_key(f, name, value);
    break;
  case SEC_SKIP:
    break;
  }
  return 1;
}

static void parse_ini(struct loader *ld, const char *file, const char *data,
                      size_t len, bool main)
{
  struct ini_file f = {0};
  int rc;

  f.ld = ld;
  f.file = file;
  f.data = data;
  f.len = len;
  f.main = main;
  rc = ini_parse_stream(read_line, &f, on_key, &f);
  section_end(&f);
  if(rc == -2)
    ld->rc = -ENOMEM;
}

/* Reads the whole file (at most max bytes) into *data, NUL-terminated.
 * Returns 0, -EFBIG or -errno. */
static int read_file(const char *path, size_t max, char **data, size_t *len)
{
  struct buf b;
  char chunk[65536];
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  int rc = 0;

  *data = NULL;
  *len = 0;
  if(fd < 0)
    return -errno;
  buf_init(&b, max);
  for(;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));

    if(n < 0 && errno == EINTR)
      continue;
    if(n < 0) {
      rc = -errno;
      break;
    }
    if(n == 0)
      break;
    rc = buf_add(&b, chunk, (size_t)n);
    if(rc != 0)
      break;
  }
  close(fd);
  if(rc != 0) {
    buf_free(&b);
    return rc;
  }
  *len = b.len;
  *data = buf_steal(&b);
  return *data ? 0 : -ENOMEM;
}

static void read_error(struct loader *ld, const char *path, int rc)
{
  if(rc == -ENOMEM)
    ld->rc = -ENOMEM;
  else if(rc == -EFBIG)
    ERR(ld, "%s: too large", path);
  else
    ERR(ld, "%s: cannot read: %s", path, strerror(-rc));
}

static void load_opml(struct loader *ld, const char *path, const char *data,
                      size_t len)
{
  struct config_feed *feeds = NULL;
  size_t n = 0;
  char err[512];
  int rc = opml_read(data, len, path, &feeds, &n, err, sizeof(err));

  if(rc == -ENOMEM) {
    ld->rc = -ENOMEM;
    return;
  }
  if(rc != 0) {
    ERR(ld, "%s", err);
    return;
  }
  for(size_t i = 0; i < n; i++) {
    if(!valid_url(feeds[i].url)) {
      ERR(ld, "%s:%d: bad url '%s' (an absolute http or https URL)",
          feeds[i].file, feeds[i].line, feeds[i].url);
      feed_clear(&feeds[i]);
      continue;
    }
    feed_commit(ld, &feeds[i], true);
  }
  free(feeds); /* each one was taken or cleared */
}

static int cmp_names(const void *a, const void *b)
{
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void load_file(struct loader *ld, const char *name, bool opml)
{
  char *path = join(ld->cfg->feeds_dir, name);
  char *data = NULL;
  size_t len = 0;
  struct stat st;
  int rc;

  if(!path) {
    ld->rc = -ENOMEM;
    return;
  }
  if(stat(path, &st) != 0) {
    read_error(ld, path, -errno);
  } else if(!S_ISREG(st.st_mode)) {
    WARN(ld, "%s: not a regular file; skipped", path);
  } else {
    rc = read_file(path, opml ? MAX_OPML_SIZE : MAX_CONF_SIZE, &data, &len);
    if(rc != 0)
      read_error(ld, path, rc);
    else if(opml)
      load_opml(ld, path, data, len);
    else
      parse_ini(ld, path, data, len, false);
  }
  free(data);
  free(path);
}

static void load_feeds_dir(struct loader *ld)
{
  DIR *d = opendir(ld->cfg->feeds_dir);
  char **names = NULL;
  size_t n = 0, cap = 0;
  struct dirent *e;

  if(!d) {
    if(errno != ENOENT)
      ERR(ld, "%s: cannot read: %s", ld->cfg->feeds_dir, strerror(errno));
    return;
  }
  while((e = readdir(d)) != NULL) {
    char *copy;

    /* hidden files are editors' and our own temp files */
    if(e->d_name[0] == '.' ||
       !(has_suffix(e->d_name, ".conf") || has_suffix(e->d_name, ".opml")))
      continue;
    if(n == cap) {
      size_t nc = cap ? 2 * cap : 32;
      char **grown = realloc(names, nc * sizeof(*names));

      if(!grown)
        break;
      names = grown;
      cap = nc;
    }
    copy = strdup(e->d_name);
    if(!copy)
      break;
    names[n++] = copy;
  }
  if(e)
    ld->rc = -ENOMEM;
  closedir(d);
  if(n)
    qsort(names, n, sizeof(*names), cmp_names);
  for(int pass = 0; pass < 2 && ld->rc == 0; pass++)
    for(size_t i = 0; i < n && ld->rc == 0; i++)
      if(has_suffix(names[i], pass ? ".opml" : ".conf"))
        load_file(ld, names[i], pass == 1);
  for(size_t i = 0; i < n; i++)
    free(names[i]);
  free(names);
}

static int key_index(const char *name)
{
  for(size_t i = 0; i < NKEYS; i++)
    if(strcmp(keys[i].name, name) == 0)
      return (int)i;
  return 0;
}

/* min_interval <= interval <= max_interval, named where they were set. */
static void check_intervals(struct loader *ld)
{
  const struct config *c = ld->cfg;
  int li = ld->key_line[key_index("interval")];
  int lmin = ld->key_line[key_index("min_interval")];
  int lmax = ld->key_line[key_index("max_interval")];
  char a[32], b[32];

  if(c->interval < c->min_interval) {
    format_duration(c->interval, a, sizeof(a));
    format_duration(c->min_interval, b, sizeof(b));
    ERR(ld, "%s:%d: interval (%s) is less than min_interval (%s)",
        ld->main_file, li > lmin ? li : lmin, a, b);
  }
  if(c->max_interval < c->interval) {
    format_duration(c->max_interval, a, sizeof(a));
    format_duration(c->interval, b, sizeof(b));
    ERR(ld, "%s:%d: max_interval (%s) is less than interval (%s)",
        ld->main_file, li > lmax ? li : lmax, a, b);
  }
}

static int set_defaults(struct config *c)
{
  c->database = strdup("freshet.db");
  c->output_dir = strdup("public");
  c->listen = strdup("127.0.0.1:8080");
  c->title = strdup("freshet");
  c->link = strdup("");
  c->id = strdup("");
  c->author = strdup("");
  c->user_agent = strdup(FRESHET_USER_AGENT);
  c->interval = 30 * 60;
  c->min_interval = 5 * 60;
  c->max_interval = DAY;
  c->connect_timeout = 10;
  c->timeout = 60;
  c->max_size = INT64_C(16) << 20;
  c->concurrency = 32;
  c->per_host = 2;
  c->items = 100;
  c->recent = 20;
  c->excerpt = 200;
  c->retention_days = 0;
  c->retention_per_feed = 0;
  c->log_level = LOG_LEVEL_INFO;
  if(!c->database || !c->output_dir || !c->listen || !c->title || !c->link ||
     !c->id || !c->author || !c->user_agent)
    return -ENOMEM;
  return 0;
}

int config_load(const char *path, struct config **out, struct config_diag *diag)
{
  struct loader ld = {0};
  struct config *cfg = calloc(1, sizeof(*cfg));
  char *data = NULL;
  size_t len = 0;
  int rc;

  *out = NULL;
  if(diag)
    memset(diag, 0, sizeof(*diag));
  ld.cfg = cfg;
  if(!cfg || set_defaults(cfg) != 0) {
    ld.rc = -ENOMEM;
    goto out;
  }
  if(!path && access(CONFIG_FILE, F_OK) == 0)
    path = CONFIG_FILE;
  if(path) {
    cfg->path = strdup(path);
    cfg->dir = dir_of(path);
  } else {
    cfg->dir = strdup(".");
  }
  cfg->feeds_dir = cfg->dir ? join(cfg->dir, FEEDS_DIR) : NULL;
  if((path && !cfg->path) || !cfg->dir || !cfg->feeds_dir) {
    ld.rc = -ENOMEM;
    goto out;
  }
  if(path) {
    ld.main_file = cfg->path;
    rc = read_file(path, MAX_CONF_SIZE, &data, &len);
    if(rc != 0)
      read_error(&ld, path, rc);
    else
      parse_ini(&ld, path, data, len, true);
    free(data);
    check_intervals(&ld);
  }
  if(ld.rc == 0)
    load_feeds_dir(&ld);
out:
  strmap_free(&ld.names);
  strmap_free(&ld.urls);
  if(ld.rc == 0 && ld.diag.nerrors == 0) {
    *out = cfg;
    rc = 0;
  } else {
    config_free(cfg);
    rc = ld.rc ? ld.rc : -EINVAL;
  }
  if(diag) {
    *diag = ld.diag;
  } else {
    for(size_t i = 0; i < ld.diag.nerrors; i++)
      log_errorx(ld.diag.errors[i], NULL);
    for(size_t i = 0; i < ld.diag.nwarnings; i++)
      log_warnx(ld.diag.warnings[i], NULL);
    config_diag_free(&ld.diag);
  }
  return rc;
}

void config_free(struct config *cfg)
{
  if(!cfg)
    return;
  free(cfg->path);
  free(cfg->dir);
  free(cfg->feeds_dir);
  free(cfg->database);
  free(cfg->output_dir);
  free(cfg->listen);
  free(cfg->title);
  free(cfg->link);
  free(cfg->id);
  free(cfg->author);
  free(cfg->user_agent);
  for(size_t i = 0; i < cfg->nfeeds; i++)
    feed_clear(&cfg->feeds[i]);
  free(cfg->feeds);
  for(size_t i = 0; i < cfg->nignored; i++)
    free(cfg->ignored_names[i]);
  free(cfg->ignored_names);
  free(cfg);
}

void config_diag_free(struct config_diag *diag)
{
  if(!diag)
    return;
  for(size_t i = 0; i < diag->nerrors; i++)
    free(diag->errors[i]);
  free(diag->errors);
  for(size_t i = 0; i < diag->nwarnings; i++)
    free(diag->warnings[i]);
  free(diag->warnings);
  memset(diag, 0, sizeof(*diag));
}

char *config_path(const struct config *cfg, const char *p)
{
  if(p[0] == '/')
    return strdup(p);
  return join(cfg->dir ? cfg->dir : ".", p);
}

const struct config_feed *config_find_feed(const struct config *cfg,
                                           const char *name)
{
  for(size_t i = 0; i < cfg->nfeeds; i++)
    if(strcmp(cfg->feeds[i].name, name) == 0)
      return &cfg->feeds[i];
  return NULL;
}

/* --- edits ---------------------------------------------------------- */

static int say(char *err, size_t errlen, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int say(char *err, size_t errlen, int rc, const char *fmt, ...)
{
  va_list ap;

  if(err && errlen) {
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
  }
  return rc;
}

static void fsync_dir(const char *dir)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  if(fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* Writes data to path through a temp file in dir (fsync'd), then renames
 * it over path (replace) or links it to path, which fails with -EEXIST
 * when path exists. Returns 0 or -errno. */
static int write_atomic(const char *dir, const char *path, const char *data,
                        size_t len, mode_t mode, bool replace)
{
  char *tmp = join(dir, ".freshet-XXXXXX");
  size_t off = 0;
  int fd, rc = 0;

  if(!tmp)
    return -ENOMEM;
  fd = mkstemp(tmp);
  if(fd < 0) {
    rc = -errno;
    free(tmp);
    return rc;
  }
  while(off < len && rc == 0) {
    ssize_t n = write(fd, data + off, len - off);

    if(n < 0 && errno != EINTR)
      rc = -errno;
    else if(n > 0)
      off += (size_t)n;
  }
  if(rc == 0 && fchmod(fd, mode) != 0)
    rc = -errno;
  if(rc == 0 && fsync(fd) != 0)
    rc = -errno;
  if(close(fd) != 0 && rc == 0)
    rc = -errno;
  if(rc == 0 && replace) {
    if(rename(tmp, path) != 0)
      rc = -errno;
  } else if(rc == 0) {
    if(link(tmp, path) != 0) {
      rc = -errno;
      /* file systems without hard links: check, then rename */
      if(rc == -EPERM || rc == -ENOTSUP || rc == -EOPNOTSUPP || rc == -EMLINK) {
        if(access(path, F_OK) == 0)
          rc = -EEXIST;
        else
          rc = rename(tmp, path) == 0 ? 0 : -errno;
      }
    }
    unlink(tmp);
  }
  if(rc != 0)
    unlink(tmp);
  else
    fsync_dir(dir);
  free(tmp);
  return rc;
}

/* Appends "key = value\n" such that inih reads value back: control
 * characters become spaces, and blanks before a ';' (which would start a
 * comment) are dropped: "a ; b" -> "a; b". Returns 0, -E2BIG when the line
 * would be too long for inih, or -ENOMEM. */
static int put_value(struct buf *b, const char *key, const char *value)
{
  size_t n = strlen(value), o = 0;
  char *v = malloc(n + 1);
  int rc;

  if(!v)
    return -ENOMEM;
  for(size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)value[i];

    if(c < 0x20 || c == 0x7f)
      c = ' ';
    if(c == ';')
      while(o > 0 && v[o - 1] == ' ')
        o--;
    v[o++] = (char)c;
  }
  v[o] = '\0';
  /* "key =;x": a ';' right after the '=' is not a comment to inih */
  if(strlen(key) + 3 + o > MAX_LINE) {
    free(v);
    return -E2BIG;
  }
  rc = buf_adds(b, key);
  if(rc == 0)
    rc = buf_adds(b, v[0] == ';' ? " =" : " = ");
  if(rc == 0)
    rc = buf_adds(b, v);
  if(rc == 0)
    rc = buf_addc(b, '\n');
  free(v);
  return rc;
}

/* Cuts s to at most max bytes without splitting a UTF-8 sequence. */
static void utf8_cut(char *s, size_t max)
{
  size_t n = strlen(s);

  if(n <= max)
    return;
  n = max;
  while(n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
    n--;
  s[n] = '\0';
}

int config_add_feed(const struct config *cfg, const struct config_feed *f,
                    char *err, size_t errlen)
{
  struct buf b;
  char *key = NULL, *file = NULL, *path = NULL, *title = NULL;
  char stamp[32], iv[32];
  time_t now = time(NULL);
  struct tm tm;
  int rc;

  if(!config_valid_name(f->name))
    return say(err, errlen, -EINVAL,
               "bad feed name '%s' (1-64 letters, digits, '.', '_' or '-', "
               "not starting with '.')",
               f->name ? f->name : "");
  if(!f->url || !valid_url(f->url))
    return say(err, errlen, -EINVAL,
               "bad url '%s' (an absolute http or https URL)",
               f->url ? f->url : "");
  if(f->interval < 0 || f->interval > 365 * DAY)
    return say(err, errlen, -EINVAL, "interval out of range");
  for(size_t i = 0; i < f->ntags; i++)
    if(strchr(f->tags[i], ',') || strchr(f->tags[i], '\n'))
      return say(err, errlen, -EINVAL, "tag '%s' contains ',' or a newline",
                 f->tags[i]);
  for(size_t i = 0; i < cfg->nignored; i++)
    if(strcmp(cfg->ignored_names[i], f->name) == 0)
      return say(err, errlen, -EEXIST,
                 "feed name '%s' is taken by a section ignored for its "
                 "duplicate url",
                 f->name);
  key = url_key(f->url);
  if(!key)
    return -ENOMEM;
  for(size_t i = 0; i < cfg->nfeeds; i++) {
    const struct config_feed *o = &cfg->feeds[i];
    char *ok;

    if(strcmp(o->name, f->name) == 0) {
      free(key);
      return say(err, errlen, -EEXIST, "feed '%s' already exists (%s:%d)",
                 f->name, o->file, o->line);
    }
    ok = url_key(o->url);
    if(!ok) {
      free(key);
      return -ENOMEM;
    }
    if(strcmp(ok, key) == 0) {
      free(ok);
      free(key);
      return say(err, errlen, -EEXIST,
                 "%s is already subscribed as '%s' (%s:%d)", f->url, o->name,
                 o->file, o->line);
    }
    free(ok);
  }
  free(key);

  buf_init(&b, 64 * 1024);
  gmtime_r(&now, &tm);
  strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
  rc = buf_adds(&b, "# added by freshet on ");
  if(rc == 0)
    rc = buf_adds(&b, stamp);
  if(rc == 0)
    rc = buf_adds(&b, "\n[");
  if(rc == 0)
    rc = buf_adds(&b, f->name);
  if(rc == 0)
    rc = buf_adds(&b, "]\n");
  if(rc == 0) {
    rc = put_value(&b, "url", f->url);
    if(rc == -E2BIG) {
      buf_free(&b);
      return say(err, errlen, -EINVAL,
                 "url too long for a feeds.d/*.conf line (at most %d bytes "
                 "with 'url = '); list it in an .opml file in feeds.d",
                 MAX_LINE);
    }
  }
  if(rc == 0 && f->title && *f->title) {
    /* a title is a nicety: a long one is cut, not refused */
    title = strdup(f->title);
    if(!title) {
      rc = -ENOMEM;
    } else {
      utf8_cut(title, MAX_LINE - strlen("title = "));
      rc = put_value(&b, "title", title);
    }
  }
  if(rc == 0 && f->interval > 0) {
    format_duration(f->interval, iv, sizeof(iv));
    rc = put_value(&b, "interval", iv);
  }
  if(rc == 0 && !f->enabled)
    rc = put_value(&b, "enabled", "false");
  if(rc == 0 && f->ntags > 0) {
    struct buf t;

    buf_init(&t, 64 * 1024);
    for(size_t i = 0; i < f->ntags && rc == 0; i++) {
      if(i > 0)
        rc = buf_adds(&t, ", ");
      if(rc == 0)
        rc = buf_adds(&t, f->tags[i]);
    }
    if(rc == 0)
      rc = put_value(&b, "tags", t.data ? t.data : "");
    buf_free(&t);
    if(rc == -E2BIG) {
      buf_free(&b);
      free(title);
      return say(err, errlen, -EINVAL, "tags too long for a feeds.d line");
    }
  }
  free(title);
  if(rc != 0) {
    buf_free(&b);
    return rc == -E2BIG ? say(err, errlen, -EINVAL, "value too long") : rc;
  }

  if(mkdir(cfg->feeds_dir, 0755) != 0 && errno != EEXIST) {
    rc = -errno;
    buf_free(&b);
    return say(err, errlen, rc, "%s: cannot create: %s", cfg->feeds_dir,
               strerror(-rc));
  }
  file = malloc(strlen(f->name) + sizeof(".conf"));
  if(file) {
    strcpy(file, f->name);
    strcat(file, ".conf");
    path = join(cfg->feeds_dir, file);
  }
  if(!path) {
    rc = -ENOMEM;
  } else {
    rc = write_atomic(cfg->feeds_dir, path, b.data, b.len, 0644, false);
    if(rc == -EEXIST)
      say(err, errlen, rc, "%s already exists", path);
    else if(rc != 0)
      say(err, errlen, rc, "%s: cannot write: %s", path, strerror(-rc));
  }
  buf_free(&b);
  free(file);
  free(path);
  return rc;
}

/* What a line of an INI file is, as read_line sees it. */
enum line_kind { LINE_BLANK, LINE_COMMENT, LINE_SECTION, LINE_OTHER };

static enum line_kind classify(const char *s, const char *end, bool first,
                               const char **name, size_t *namelen)
{
  const char *close;

  if(end > s && end[-1] == '\r')
    end--;
  if(first && end - s >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0)
    s += 3;
  while(s < end && is_space((unsigned char)*s))
    s++;
  if(s == end)
    return LINE_BLANK;
  if(*s == ';' || *s == '#')
    return LINE_COMMENT;
  if(*s != '[')
    return LINE_OTHER;
  close = memchr(s, ']', (size_t)(end - s));
  if(!close)
    return LINE_OTHER;
  s++;
  while(s < close && is_space((unsigned char)*s))
    s++;
  while(close > s && is_space((unsigned char)close[-1]))
    close--;
  *name = s;
  *namelen = (size_t)(close - s);
  return LINE_SECTION;
}

struct line {
  const char *start;
  size_t len; /* with its newline */
  enum line_kind kind;
  bool is_target;
};

int config_remove_feed(const struct config *cfg, const char *name, char *err,
                       size_t errlen)
{
  const struct config_feed *f = config_find_feed(cfg, name);
  struct line *lines = NULL;
  size_t nlines = 0, target = SIZE_MAX, others = 0, first, last;
  char *data = NULL, *dir = NULL;
  size_t len = 0;
  struct stat st;
  struct buf out;
  int rc;

  if(!f)
    return say(err, errlen, -ENOENT, "no feed named '%s'", name);
  if(has_suffix(f->file, ".opml"))
    return say(err, errlen, -EPERM,
               "feed '%s' comes from %s:%d; edit that OPML file", name, f->file,
               f->line);
  rc = read_file(f->file, MAX_CONF_SIZE, &data, &len);
  if(rc != 0)
    return rc == -ENOMEM ? rc
                         : say(err, errlen, rc, "%s: cannot read: %s", f->file,
                               strerror(-rc));
  for(size_t i = 0; i < len; i++)
    nlines += data[i] == '\n';
  lines = malloc((nlines + 1) * sizeof(*lines));
  nlines = 0;
  if(!lines) {
    free(data);
    return -ENOMEM;
  }
  for(size_t pos = 0; pos < len;) {
    const char *s = data + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t l = nl ? (size_t)(nl - s) + 1 : len - pos;
    const char *sec = NULL;
    size_t seclen = 0;
    struct line *ln = &lines[nlines];

    ln->start = s;
    ln->len = l;
    ln->kind = classify(s, nl ? nl : s + l, nlines == 0, &sec, &seclen);
    ln->is_target = false;
    if(ln->kind == LINE_SECTION) {
      if(target == SIZE_MAX && seclen == strlen(name) &&
         memcmp(sec, name, seclen) == 0) {
        target = nlines;
        ln->is_target = true;
      } else {
        others++;
      }
    }
    nlines++;
    pos += l;
  }
  if(target == SIZE_MAX) {
    rc = say(err, errlen, -ENOENT, "feed '%s' is no longer in %s", name,
             f->file);
    goto out;
  }
  dir = dir_of(f->file);
  if(!dir) {
    rc = -ENOMEM;
    goto out;
  }
  if(others == 0 && !(cfg->path && strcmp(cfg->path, f->file) == 0)) {
    if(unlink(f->file) != 0) {
      rc = -errno;
      say(err, errlen, rc, "%s: cannot remove: %s", f->file, strerror(-rc));
      goto out;
    }
    fsync_dir(dir);
    rc = 0;
    goto out;
  }
  /* The section: its header, the comments right above it, and its lines
   * up to the last key before the next header. */
  first = target;
  while(first > 0 && lines[first - 1].kind == LINE_COMMENT)
    first--;
  last = target;
  for(size_t i = target + 1; i < nlines && lines[i].kind != LINE_SECTION; i++)
    if(lines[i].kind == LINE_OTHER)
      last = i;
  /* one blank line instead of two where the section was */
  if((first == 0 || lines[first - 1].kind == LINE_BLANK) && last + 1 < nlines &&
     lines[last + 1].kind == LINE_BLANK)
    last++;
  buf_init(&out, MAX_CONF_SIZE);
  rc = 0;
  for(size_t i = 0; i < nlines && rc == 0; i++)
    if(i < first || i > last)
      rc = buf_add(&out, lines[i].start, lines[i].len);
  if(rc == 0) {
    mode_t mode = stat(f->file, &st) == 0 ? st.st_mode & 07777 : 0644;

    rc = write_atomic(dir, f->file, out.data ? out.data : "", out.len, mode,
                      true);
    if(rc != 0)
      say(err, errlen, rc, "%s: cannot write: %s", f->file, strerror(-rc));
  }
  buf_free(&out);
out:
  free(lines);
  free(data);
  free(dir);
  return rc;
}
