/*
 * test_config.c: freshet.conf + feeds.d loading, and config_add_feed /
 * config_remove_feed.
 *
 * Two committed trees, fixtures/config/good (every key set, feeds in
 * freshet.conf, *.conf and *.opml) and fixtures/config/bad (with
 * expected-errors.txt beside it: every error, in order), are loaded by
 * path, which also checks paths relative to the config file. Everything
 * else builds its tree in a fresh temp dir and runs inside it, so that
 * messages read "feeds.d/a.conf:3: ...".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FRESHET_VERSION
#define FRESHET_VERSION "0"
#endif
#ifndef FRESHET_URL
#define FRESHET_URL "https://github.com/freshet/freshet"
#endif

/* --- temp trees ------------------------------------------------------ */

struct tree {
  char dir[64];
  char old[PATH_MAX];
};

static int setup_tree(void **state)
{
  struct tree *t = calloc(1, sizeof(*t));

  assert_non_null(t);
  assert_non_null(getcwd(t->old, sizeof(t->old)));
  strcpy(t->dir, "/tmp/freshet-test-config-XXXXXX");
  assert_non_null(mkdtemp(t->dir));
  assert_int_equal(chdir(t->dir), 0);
  *state = t;
  return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static int teardown_tree(void **state)
{
  struct tree *t = *state;

  assert_int_equal(chdir(t->old), 0);
  nftw(t->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
  free(t);
  return 0;
}

/* Writes path (creating its directories) with content. */
static void put(const char *path, const char *content)
{
  char dir[512];
  FILE *f;

  for(const char *p = strchr(path, '/'); p; p = strchr(p + 1, '/')) {
    snprintf(dir, sizeof(dir), "%.*s", (int)(p - path), path);
    mkdir(dir, 0755);
  }
  f = fopen(path, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(content, 1, strlen(content), f), strlen(content));
  assert_int_equal(fclose(f), 0);
}

static char *slurp(const char *path)
{
  FILE *f = fopen(path, "rb");
  char *data;
  long n;

  if(!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  n = ftell(f);
  fseek(f, 0, SEEK_SET);
  data = malloc((size_t)n + 1);
  assert_non_null(data);
  assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
  data[n] = '\0';
  fclose(f);
  return data;
}

static bool exists(const char *path)
{
  return access(path, F_OK) == 0;
}

/* Loads, expecting success and no warnings. */
static struct config *load_ok(const char *path)
{
  struct config *cfg = NULL;
  struct config_diag diag;
  int rc = config_load(path, &cfg, &diag);

  for(size_t i = 0; i < diag.nerrors; i++)
    print_error("unexpected error: %s\n", diag.errors[i]);
  for(size_t i = 0; i < diag.nwarnings; i++)
    print_error("unexpected warning: %s\n", diag.warnings[i]);
  assert_int_equal(rc, 0);
  assert_int_equal(diag.nerrors, 0);
  assert_int_equal(diag.nwarnings, 0);
  assert_non_null(cfg);
  config_diag_free(&diag);
  return cfg;
}

/* Loads, expecting exactly the errors listed (NULL-terminated). */
static void load_fails(const char *path, const char *const *want)
{
  struct config *cfg = (struct config *)1;
  struct config_diag diag;
  size_t n = 0;

  assert_int_equal(config_load(path, &cfg, &diag), -EINVAL);
  assert_null(cfg);
  while(want[n])
    n++;
  for(size_t i = 0; i < diag.nerrors || i < n; i++) {
    const char *got = i < diag.nerrors ? diag.errors[i] : "(none)";

    if(i >= n || strcmp(got, want[i]) != 0)
      fail_msg("error %zu:\n got  %s\n want %s", i, got,
               i < n ? want[i] : "(none)");
  }
  config_diag_free(&diag);
}

/* --- values ---------------------------------------------------------- */

static void test_parse_duration(void **state)
{
  static const struct {
    const char *s;
    int64_t v;
  } good[] = {
      {"90s", 90},    {"15m", 900},      {"2h", 7200}, {"1d", 86400},
      {"1w", 604800}, {"45", 45},        {"0", 0},     {"1h30m", 5400},
      {"007s", 7},    {"2d12h", 216000},
  };
  static const char *const bad[] = {
      "",
      "-1",
      "+1",
      "1x",
      "m",
      "1.5h",
      " 1m",
      "1m ",
      "1M",
      "1h30",
      "1 h",
      "1hm",
      "s1",
      "99999999999999999999",
      "9223372036854775807m",
      "9223372036854775807s1s",
  };
  int64_t v;

  (void)state;
  for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    v = -1;
    assert_int_equal(config_parse_duration(good[i].s, &v), 0);
    assert_int_equal(v, good[i].v);
  }
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if(config_parse_duration(bad[i], &v) != -EINVAL)
      fail_msg("'%s' was accepted", bad[i]);
}

static void test_parse_size(void **state)
{
  static const struct {
    const char *s;
    int64_t v;
  } good[] = {
      {"512", 512},        {"512B", 512},      {"64K", 65536},
      {"2k", 2048},        {"16M", 16777216},  {"16MB", 16777216},
      {"16MiB", 16777216}, {"1G", 1073741824}, {"1T", INT64_C(1) << 40},
  };
  static const char *const bad[] = {
      "", "M", "-1K", "1X", "1.5M", "16 M", "16MBs", "99999999999T", " 1K"};
  int64_t v;

  (void)state;
  for(size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    v = -1;
    assert_int_equal(config_parse_size(good[i].s, &v), 0);
    assert_int_equal(v, good[i].v);
  }
  for(size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    if(config_parse_size(bad[i], &v) != -EINVAL)
      fail_msg("'%s' was accepted", bad[i]);
}

static void test_valid_name(void **state)
{
  (void)state;
  assert_true(config_valid_name("a"));
  assert_true(config_valid_name("tokyo-news"));
  assert_true(config_valid_name("a.b_c-D9"));
  assert_true(config_valid_name("-dash"));
  assert_true(config_valid_name(
      "x123456789012345678901234567890123456789012345678901234567890123"));
  assert_false(config_valid_name(
      "x1234567890123456789012345678901234567890123456789012345678901234"));
  assert_false(config_valid_name(""));
  assert_false(config_valid_name(NULL));
  assert_false(config_valid_name(".hidden"));
  assert_false(config_valid_name("a b"));
  assert_false(config_valid_name("a/b"));
  assert_false(config_valid_name("caf\xc3\xa9"));
}

/* --- loading --------------------------------------------------------- */

static void check_defaults(const struct config *cfg)
{
  assert_string_equal(cfg->database, "freshet.db");
  assert_string_equal(cfg->output_dir, "public");
  assert_string_equal(cfg->listen, "127.0.0.1:8080");
  assert_string_equal(cfg->title, "freshet");
  assert_string_equal(cfg->link, "");
  assert_string_equal(cfg->id, "");
  assert_string_equal(cfg->author, "");
  assert_string_equal(cfg->user_agent,
                      "freshet/" FRESHET_VERSION " (+" FRESHET_URL ")");
  assert_int_equal(cfg->interval, 30 * 60);
  assert_int_equal(cfg->min_interval, 5 * 60);
  assert_int_equal(cfg->max_interval, 86400);
  assert_int_equal(cfg->concurrency, 32);
  assert_int_equal(cfg->per_host, 2);
  assert_int_equal(cfg->connect_timeout, 10);
  assert_int_equal(cfg->timeout, 60);
  assert_int_equal(cfg->max_size, 16 * 1024 * 1024);
  assert_int_equal(cfg->items, 100);
  assert_int_equal(cfg->recent, 20);
  assert_int_equal(cfg->excerpt, 200);
  assert_int_equal(cfg->retention_days, 0);
  assert_int_equal(cfg->retention_per_feed, 0);
  assert_int_equal(cfg->log_level, LOG_LEVEL_INFO);
}

static void test_defaults_no_file(void **state)
{
  struct config *cfg;

  (void)state;
  cfg = load_ok(NULL);
  assert_null(cfg->path);
  assert_string_equal(cfg->dir, ".");
  assert_string_equal(cfg->feeds_dir, "feeds.d");
  assert_int_equal(cfg->nfeeds, 0);
  check_defaults(cfg);
  config_free(cfg);

  /* no freshet.conf, but ./feeds.d */
  put("feeds.d/a.conf", "[a]\nurl = https://a.example/feed\n");
  cfg = load_ok(NULL);
  assert_null(cfg->path);
  assert_int_equal(cfg->nfeeds, 1);
  assert_string_equal(cfg->feeds[0].file, "feeds.d/a.conf");
  check_defaults(cfg);
  config_free(cfg);

  /* an empty freshet.conf: picked up, and every default holds */
  put("freshet.conf", "# nothing yet\n");
  cfg = load_ok(NULL);
  assert_string_equal(cfg->path, "freshet.conf");
  assert_string_equal(cfg->dir, ".");
  assert_int_equal(cfg->nfeeds, 1);
  check_defaults(cfg);
  config_free(cfg);
}

static void test_good_fixture(void **state)
{
  struct config *cfg;
  struct config_diag diag;
  const struct config_feed *f;
  char *p;

  (void)state;
  assert_int_equal(
      config_load("fixtures/config/good/freshet.conf", &cfg, &diag), 0);
  assert_int_equal(diag.nerrors, 0);
  assert_int_equal(diag.nwarnings, 2);
  assert_string_equal(diag.warnings[0],
                      "fixtures/config/good/feeds.d/blogroll.opml:7: feed "
                      "'hacker-news-again' has the same url as feed "
                      "'hacker-news' (fixtures/config/good/feeds.d/"
                      "tech.conf:1); ignored");
  assert_string_equal(diag.warnings[1],
                      "fixtures/config/good/feeds.d/blogroll.opml:8: feed "
                      "name 'lwn' is taken (fixtures/config/good/feeds.d/"
                      "tech.conf:8); named it 'lwn-2'");
  config_diag_free(&diag);

  assert_string_equal(cfg->path, "fixtures/config/good/freshet.conf");
  assert_string_equal(cfg->dir, "fixtures/config/good");
  assert_string_equal(cfg->feeds_dir, "fixtures/config/good/feeds.d");
  assert_string_equal(cfg->database, "data/freshet.db");
  assert_string_equal(cfg->output_dir, "/srv/www/planet");
  assert_string_equal(cfg->listen, "[::1]:9090");
  assert_string_equal(cfg->title, "Planet Example");
  assert_string_equal(cfg->link, "https://planet.example.org/");
  assert_string_equal(cfg->id, "urn:uuid:60a76c80-d399-11d9-b93c-0003939e0af6");
  assert_string_equal(cfg->author, "Planet Editors");
  assert_string_equal(cfg->user_agent,
                      "planet-example/1.0 (+https://planet.example.org/about)");
  assert_int_equal(cfg->interval, 900);
  assert_int_equal(cfg->min_interval, 90);
  assert_int_equal(cfg->max_interval, 7200);
  assert_int_equal(cfg->concurrency, 8);
  assert_int_equal(cfg->per_host, 4);
  assert_int_equal(cfg->connect_timeout, 5);
  assert_int_equal(cfg->timeout, 120);
  assert_int_equal(cfg->max_size, 4 * 1024 * 1024);
  assert_int_equal(cfg->items, 50);
  assert_int_equal(cfg->recent, 10);
  assert_int_equal(cfg->excerpt, 120);
  assert_int_equal(cfg->retention_days, 90);
  assert_int_equal(cfg->retention_per_feed, 500);
  assert_int_equal(cfg->log_level, LOG_LEVEL_DEBUG);

  /* relative paths start at the config file's directory */
  p = config_path(cfg, cfg->database);
  assert_string_equal(p, "fixtures/config/good/data/freshet.db");
  free(p);
  p = config_path(cfg, cfg->output_dir);
  assert_string_equal(p, "/srv/www/planet");
  free(p);

  /* freshet.conf, then feeds.d *.conf by name, then *.opml by name */
  assert_int_equal(cfg->nfeeds, 7);
  assert_string_equal(cfg->feeds[0].name, "local-news");
  assert_string_equal(cfg->feeds[0].file, "fixtures/config/good/freshet.conf");
  assert_int_equal(cfg->feeds[0].line, 28);
  assert_string_equal(
      cfg->feeds[1].name,
      "a-feed-name-that-is-exactly-sixty-four-characters-long-012345678");
  assert_string_equal(cfg->feeds[1].title, "Semi; colons");
  assert_string_equal(cfg->feeds[2].name, "tokyo-news");
  assert_string_equal(cfg->feeds[3].name, "hacker-news");
  assert_string_equal(cfg->feeds[4].name, "lwn");
  assert_string_equal(cfg->feeds[5].name, "alice");
  assert_string_equal(cfg->feeds[6].name, "lwn-2");

  f = config_find_feed(cfg, "hacker-news");
  assert_ptr_equal(f, &cfg->feeds[3]);
  assert_string_equal(f->url, "https://news.ycombinator.com/rss");
  assert_string_equal(f->title, "Hacker News");
  assert_int_equal(f->interval, 1800);
  assert_true(f->enabled);
  assert_int_equal(f->ntags, 2);
  assert_string_equal(f->tags[0], "tech");
  assert_string_equal(f->tags[1], "news");
  assert_string_equal(f->file, "fixtures/config/good/feeds.d/tech.conf");
  assert_int_equal(f->line, 1);

  f = config_find_feed(cfg, "lwn");
  assert_string_equal(f->url, "https://lwn.net/headlines/rss");
  assert_null(f->title);
  assert_int_equal(f->interval, 0);
  assert_false(f->enabled);
  assert_int_equal(f->ntags, 2);
  assert_string_equal(f->tags[0], "linux");
  assert_string_equal(f->tags[1], "kernel");
  assert_int_equal(f->line, 8);

  f = config_find_feed(cfg, "tokyo-news");
  assert_string_equal(f->url, "HTTPS://Tokyo.Example.JP/rss");
  assert_string_equal(f->title, "\xe6\x9d\xb1\xe4\xba\xac\xe3\x83\x8b\xe3\x83"
                                "\xa5\xe3\x83\xbc\xe3\x82\xb9");
  assert_int_equal(f->interval, 86400);
  assert_true(f->enabled);

  f = config_find_feed(cfg, "alice");
  assert_string_equal(f->file, "fixtures/config/good/feeds.d/blogroll.opml");
  assert_int_equal(f->line, 6);
  assert_int_equal(f->ntags, 1);
  assert_string_equal(f->tags[0], "Friends");
  assert_string_equal(f->title, "Alice");

  assert_null(config_find_feed(cfg, "ignored"));
  assert_null(config_find_feed(cfg, "hacker-news-again"));
  config_free(cfg);
}

static void test_bad_fixture(void **state)
{
  char *want = slurp("fixtures/config/bad/expected-errors.txt");
  const char *lines[64];
  size_t n = 0;

  (void)state;
  assert_non_null(want);
  for(char *save = NULL, *l = strtok_r(want, "\n", &save); l;
      l = strtok_r(NULL, "\n", &save))
    lines[n++] = l;
  lines[n] = NULL;
  load_fails("fixtures/config/bad/freshet.conf", lines);
  free(want);
}

/* One bad tree: files as path/content pairs, then the errors. */
struct bad_case {
  const char *what;
  const char *files[8];
  const char *errors[6];
};

#define NAME_RULE                                                              \
  "(1-64 letters, digits, '.', '_' or '-', not starting with '.')"

static const struct bad_case bad_cases[] = {
    {"unknown key",
     {"freshet.conf", "[freshet]\ntitle = x\ndatabse = y\n"},
     {"freshet.conf:3: unknown key 'databse' in [freshet]"}},
    {"unknown key in a feed",
     {"feeds.d/a.conf", "[a]\nurl = https://a.example/\nuri = x\n"},
     {"feeds.d/a.conf:3: unknown key 'uri' in [a]"}},
    {"a setting in a feed section",
     {"feeds.d/a.conf", "[freshet]\nurl = https://a.example/\nitems = 5\n"},
     {"feeds.d/a.conf:3: unknown key 'items' in [freshet] (a setting: it "
      "goes in [freshet] in freshet.conf)"}},
    {"unknown section (not a feed name)",
     {"freshet.conf", "[freshet]\n\n[my feed]\nurl = https://x.example/\n",
      "feeds.d/a.conf", "[.hidden]\nurl = https://y.example/\n"},
     {"freshet.conf:3: bad feed name 'my feed' " NAME_RULE,
      "feeds.d/a.conf:1: bad feed name '.hidden' " NAME_RULE}},
    {"key outside a section",
     {"freshet.conf", "title = x\n[freshet]\n"},
     {"freshet.conf:1: key 'title' outside a section"}},
    {"bad urls",
     {"feeds.d/a.conf",
      "[a]\nurl = /relative/feed\n[b]\nurl = http://\n"
      "[c]\nurl = https://exa mple.com/\n[d]\nurl = javascript:alert(1)\n"},
     {"feeds.d/a.conf:2: bad url '/relative/feed' in [a] (an absolute http "
      "or https URL)",
      "feeds.d/a.conf:4: bad url 'http://' in [b] (an absolute http or https "
      "URL)",
      "feeds.d/a.conf:6: bad url 'https://exa mple.com/' in [c] (an absolute "
      "http or https URL)",
      "feeds.d/a.conf:8: bad url 'javascript:alert(1)' in [d] (an absolute "
      "http or https URL)"}},
    {"bad link",
     {"freshet.conf", "[freshet]\nlink = /about\n"},
     {"freshet.conf:2: bad link '/about' (an absolute http or https URL)"}},
    {"bad durations",
     {"freshet.conf",
      "[freshet]\ninterval = 15 minutes\ntimeout = 99999999999999999999s\n",
      "feeds.d/a.conf", "[a]\nurl = https://a.example/\ninterval = 1y\n"},
     {"freshet.conf:2: bad duration '15 minutes' for interval (e.g. 90s, "
      "15m, 2h, 1d)",
      "freshet.conf:3: bad duration '99999999999999999999s' for timeout "
      "(e.g. 90s, 15m, 2h, 1d)",
      "feeds.d/a.conf:3: bad duration '1y' for interval (e.g. 90s, 15m, 2h, "
      "1d)"}},
    {"bad size",
     {"freshet.conf", "[freshet]\nmax_size = 16X\n"},
     {"freshet.conf:2: bad size '16X' for max_size (e.g. 512K, 16M, 1G)"}},
    {"numbers out of range",
     {"freshet.conf", "[freshet]\nper_host = 101\nexcerpt = 19\nitems = "
                      "many\nrecent = 1001\n"},
     {"freshet.conf:2: per_host must be a number from 1 to 100, not '101'",
      "freshet.conf:3: excerpt must be a number from 20 to 10000, not '19'",
      "freshet.conf:4: items must be a number from 1 to 10000, not 'many'",
      "freshet.conf:5: recent must be a number from 1 to 1000, not '1001'"}},
    {"durations and sizes out of range",
     {"freshet.conf",
      "[freshet]\nmax_size = 100\ntimeout = 2d\ninterval = "
      "0\n",
      "feeds.d/a.conf", "[a]\nurl = https://a.example/\ninterval = 0s\n"},
     {"freshet.conf:2: max_size must be between 1K and 1G, not '100'",
      "freshet.conf:3: timeout must be between 1s and 1d, not '2d'",
      "freshet.conf:4: interval must be between 1s and 365d, not '0'",
      "feeds.d/a.conf:3: interval must be between 1s and 365d, not '0s'"}},
    {"min_interval above interval",
     {"freshet.conf", "[freshet]\nmin_interval = 1h\nmax_interval = 30m\n"},
     {"freshet.conf:2: interval (30m) is less than min_interval (1h)"}},
    {"interval above max_interval",
     {"freshet.conf", "[freshet]\ninterval = 2d\n"},
     {"freshet.conf:2: max_interval (1d) is less than interval (2d)"}},
    {"duplicate feed name across files",
     {"feeds.d/a.conf", "[x]\nurl = https://a.example/\n", "feeds.d/b.conf",
      "# another\n\n[x]\nurl = https://b.example/\n"},
     {"feeds.d/b.conf:3: feed 'x' already defined at feeds.d/a.conf:1"}},
    {"duplicate feed name in freshet.conf and feeds.d",
     {"freshet.conf", "[freshet]\n[x]\nurl = https://a.example/\n",
      "feeds.d/b.conf", "[x]\nurl = https://a.example/\n"},
     {"feeds.d/b.conf:1: feed 'x' already defined at freshet.conf:2"}},
    {"missing url",
     {"feeds.d/a.conf", "[x]\ntitle = T\n[y]\n"},
     {"feeds.d/a.conf:1: feed 'x' has no url",
      "feeds.d/a.conf:3: feed 'y' has no url"}},
    {"duplicate key",
     {"feeds.d/a.conf",
      "[x]\nurl = https://a.example/\nurl = https://b.example/\n",
      "freshet.conf", "[freshet]\ntitle = a\n[freshet]\ntitle = b\n"},
     {"freshet.conf:4: duplicate key 'title' in [freshet] (first at line 2)",
      "feeds.d/a.conf:3: duplicate key 'url' in [x] (first at line 2)"}},
    {"bad enabled",
     {"feeds.d/a.conf", "[x]\nurl = https://a.example/\nenabled = maybe\n"},
     {"feeds.d/a.conf:3: bad value 'maybe' for enabled (true or false)"}},
    {"bad listen and log_level",
     {"freshet.conf", "[freshet]\nlisten = ::1:8080\nlog_level = verbose\n"},
     {"freshet.conf:2: bad listen '::1:8080' (host:port, [v6addr]:port, "
      ":port, or empty for no server)",
      "freshet.conf:3: bad log_level 'verbose' (error, warn, info or debug)"}},
    {"empty path",
     {"freshet.conf", "[freshet]\ndatabase =\n"},
     {"freshet.conf:2: database must not be empty"}},
    {"syntax",
     {"feeds.d/a.conf", "[x\nurl = https://a.example/\njust words\n[y] z\n"
                        "url = https://b.example/\n"},
     {"feeds.d/a.conf:1: section header without ']'",
      "feeds.d/a.conf:3: expected 'key = value'",
      "feeds.d/a.conf:4: unexpected text after section header"}},
    {"line too long",
     {"feeds.d/a.conf",
      "[x]\nurl = https://a.example/"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
      "\n"},
     {"feeds.d/a.conf:2: line too long (more than 199 bytes)",
      "feeds.d/a.conf:1: feed 'x' has no url"}},
    {"broken OPML",
     {"feeds.d/list.opml", "<opml>\n<body>\n<outline text='x'>\n</body>\n"},
     {"feeds.d/list.opml:4: Opening and ending tag mismatch: outline line 3 "
      "and body"}},
    {"OPML with a bad url",
     {"feeds.d/list.opml",
      "<opml><body>\n<outline text='x' xmlUrl='not a url'/>\n</body></opml>"},
     {"feeds.d/list.opml:2: bad url 'not a url' (an absolute http or https "
      "URL)"}},
};

static void test_errors(void **state)
{
  (void)state;
  for(size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
    const struct bad_case *c = &bad_cases[i];
    struct tree *t;
    void *st;

    print_message("case: %s\n", c->what);
    setup_tree(&st);
    t = st;
    for(size_t f = 0; c->files[f]; f += 2)
      put(c->files[f], c->files[f + 1]);
    load_fails(NULL, c->errors);
    teardown_tree((void **)&t);
  }
}

static void test_missing_file(void **state)
{
  static const char *const want[] = {
      "nope.conf: cannot read: No such file or directory", NULL};
  static const char *const want_dir[] = {
      "feeds.d/x.conf: not a regular file; skipped", NULL};
  struct config *cfg;
  struct config_diag diag;

  (void)state;
  load_fails("nope.conf", want);
  /* a directory named like a feed file is skipped with a warning */
  mkdir("feeds.d", 0755);
  mkdir("feeds.d/x.conf", 0755);
  assert_int_equal(config_load(NULL, &cfg, &diag), 0);
  assert_int_equal(diag.nwarnings, 1);
  assert_string_equal(diag.warnings[0], want_dir[0]);
  config_diag_free(&diag);
  config_free(cfg);
}

static void test_collects_all_errors(void **state)
{
  struct config *cfg;
  struct config_diag diag;

  (void)state;
  put("freshet.conf", "[freshet]\nitems = 0\nrecent = 0\nbogus = 1\n");
  put("feeds.d/a.conf", "[a]\nurl = ftp://x/\n[b]\n");
  put("feeds.d/b.conf", "[c]\nurl = https://c.example/\nenabled = 2\n");
  assert_int_equal(config_load(NULL, &cfg, &diag), -EINVAL);
  assert_int_equal(diag.nerrors, 6);
  config_diag_free(&diag);
  /* without a diag the messages go to the log; the result is the same */
  assert_int_equal(config_load(NULL, &cfg, NULL), -EINVAL);
  assert_null(cfg);
}

static void test_same_url_twice(void **state)
{
  struct config *cfg;
  struct config_diag diag;

  (void)state;
  put("feeds.d/a.conf", "[x]\nurl = https://Example.COM/feed\n");
  put("feeds.d/b.conf", "\n[y]\nurl = HTTPS://example.com/feed\n"
                        "[z]\nurl = https://example.com/Feed\n");
  put("feeds.d/c.opml", "<opml><body>\n"
                        "<outline text='X' xmlUrl='https://example.com/feed'/>"
                        "\n</body></opml>\n");
  assert_int_equal(config_load(NULL, &cfg, &diag), 0);
  assert_int_equal(diag.nerrors, 0);
  assert_int_equal(diag.nwarnings, 2);
  assert_string_equal(diag.warnings[0],
                      "feeds.d/b.conf:2: feed 'y' has the same url as feed "
                      "'x' (feeds.d/a.conf:1); ignored");
  assert_string_equal(diag.warnings[1],
                      "feeds.d/c.opml:2: feed 'x' has the same url as feed "
                      "'x' (feeds.d/a.conf:1); ignored");
  /* the path is case-sensitive: z is another feed */
  assert_int_equal(cfg->nfeeds, 2);
  assert_string_equal(cfg->feeds[0].name, "x");
  assert_string_equal(cfg->feeds[0].url, "https://Example.COM/feed");
  assert_string_equal(cfg->feeds[1].name, "z");
  config_diag_free(&diag);
  config_free(cfg);
}

static void test_enabled_and_tags(void **state)
{
  static const char *const values[] = {"true",  "yes", "on",  "1", "TRUE",
                                       "false", "no",  "off", "0", "Off"};
  char conf[4096];
  size_t o = 0;
  struct config *cfg;

  (void)state;
  for(size_t i = 0; i < 10; i++)
    o += (size_t)snprintf(conf + o, sizeof(conf) - o,
                          "[f%zu]\nurl = https://e.example/%zu\nenabled = %s\n",
                          i, i, values[i]);
  snprintf(conf + o, sizeof(conf) - o,
           "[tagged]\nurl = https://t.example/\n"
           "tags =  a, b ,, a ,c d,  \n"
           "[untagged]\nurl = https://u.example/\ntags = , ,\n");
  put("feeds.d/e.conf", conf);
  cfg = load_ok(NULL);
  assert_int_equal(cfg->nfeeds, 12);
  for(size_t i = 0; i < 10; i++)
    assert_int_equal(cfg->feeds[i].enabled, i < 5);
  assert_int_equal(cfg->feeds[10].ntags, 3);
  assert_string_equal(cfg->feeds[10].tags[0], "a");
  assert_string_equal(cfg->feeds[10].tags[1], "b");
  assert_string_equal(cfg->feeds[10].tags[2], "c d");
  assert_int_equal(cfg->feeds[11].ntags, 0);
  assert_true(cfg->feeds[11].enabled);
  config_free(cfg);
}

static void test_opml_in_feeds_d(void **state)
{
  struct config *cfg;
  struct config_diag diag;

  (void)state;
  put("feeds.d/z.conf", "[alice]\nurl = https://alice.example/feed\n");
  put("feeds.d/a.opml",
      "<?xml version='1.0'?>\n<opml version='2.0'><body>\n"
      "<outline text='Friends'><outline text='Sub'>\n"
      "<outline text='Alice' xmlUrl='https://alice.example/other'/>\n"
      "<outline text='Bob' xmlUrl='https://bob.example/feed'/>\n"
      "</outline></outline></body></opml>\n");
  assert_int_equal(config_load(NULL, &cfg, &diag), 0);
  assert_int_equal(diag.nerrors, 0);
  /* a.opml sorts first, but INI names are read first and win */
  assert_int_equal(diag.nwarnings, 1);
  assert_string_equal(diag.warnings[0],
                      "feeds.d/a.opml:4: feed name 'alice' is taken "
                      "(feeds.d/z.conf:1); named it 'alice-2'");
  assert_int_equal(cfg->nfeeds, 3);
  assert_string_equal(cfg->feeds[0].name, "alice");
  assert_string_equal(cfg->feeds[1].name, "alice-2");
  assert_string_equal(cfg->feeds[1].url, "https://alice.example/other");
  assert_string_equal(cfg->feeds[1].file, "feeds.d/a.opml");
  assert_int_equal(cfg->feeds[1].line, 4);
  assert_int_equal(cfg->feeds[1].ntags, 2);
  assert_string_equal(cfg->feeds[1].tags[0], "Friends");
  assert_string_equal(cfg->feeds[1].tags[1], "Sub");
  assert_string_equal(cfg->feeds[2].name, "bob");
  assert_string_equal(cfg->feeds[2].title, "Bob");
  config_diag_free(&diag);
  config_free(cfg);
}

static void test_relative_paths(void **state)
{
  struct config *cfg;
  char *p;

  (void)state;
  put("etc/freshet/freshet.conf",
      "[freshet]\ndatabase = db/f.db\noutput_dir = /var/www/f\n");
  put("etc/freshet/feeds.d/a.conf", "[a]\nurl = https://a.example/\n");
  cfg = load_ok("etc/freshet/freshet.conf");
  assert_string_equal(cfg->dir, "etc/freshet");
  assert_string_equal(cfg->feeds_dir, "etc/freshet/feeds.d");
  assert_string_equal(cfg->database, "db/f.db");
  p = config_path(cfg, cfg->database);
  assert_string_equal(p, "etc/freshet/db/f.db");
  free(p);
  p = config_path(cfg, cfg->output_dir);
  assert_string_equal(p, "/var/www/f");
  free(p);
  assert_int_equal(cfg->nfeeds, 1);
  assert_string_equal(cfg->feeds[0].file, "etc/freshet/feeds.d/a.conf");
  config_free(cfg);

  /* defaults: relative to "." */
  cfg = load_ok(NULL);
  p = config_path(cfg, cfg->database);
  assert_string_equal(p, "freshet.db");
  free(p);
  config_free(cfg);
}

static void test_crlf_bom_and_comments(void **state)
{
  struct config *cfg;

  (void)state;
  put("freshet.conf", "\xef\xbb\xbf; comment\r\n[freshet]\r\n"
                      "title = Windows ; inline comment\r\n"
                      "   # indented comment\r\n"
                      "author = a;b\r\n"
                      "\r\n[ spaced ]\r\nurl = https://s.example/ ; c\r\n");
  cfg = load_ok(NULL);
  assert_string_equal(cfg->title, "Windows");
  assert_string_equal(cfg->author, "a;b");
  assert_int_equal(cfg->nfeeds, 1);
  assert_string_equal(cfg->feeds[0].name, "spaced");
  assert_string_equal(cfg->feeds[0].url, "https://s.example/");
  assert_int_equal(cfg->feeds[0].line, 7);
  config_free(cfg);
}

/* --- add / remove ---------------------------------------------------- */

static bool temp_files_left(const char *dir)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  bool found = false;

  if(!d)
    return false;
  while((e = readdir(d)) != NULL)
    if(strncmp(e->d_name, ".freshet-", 9) == 0)
      found = true;
  closedir(d);
  return found;
}

static void test_add_then_load(void **state)
{
  char *tags[] = {"news", "a ; b"};
  struct config_feed nf = {.name = "new",
                           .url = "https://example.com/feed",
                           .title = "A ; B\tC",
                           .interval = 7200,
                           .enabled = false,
                           .tags = tags,
                           .ntags = 2};
  struct config *cfg;
  const struct config_feed *f;
  char err[256] = "";
  char *text;

  (void)state;
  put("freshet.conf", "[freshet]\n");
  cfg = load_ok(NULL);
  assert_false(exists("feeds.d"));
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), 0);
  config_free(cfg);
  text = slurp("feeds.d/new.conf");
  assert_non_null(text);
  assert_memory_equal(text, "# added by freshet on ", 22);
  assert_non_null(strstr(text, "\n[new]\nurl = https://example.com/feed\n"
                               "title = A; B C\ninterval = 2h\n"
                               "enabled = false\ntags = news, a; b\n"));
  free(text);
  assert_false(temp_files_left("feeds.d"));

  cfg = load_ok(NULL);
  f = config_find_feed(cfg, "new");
  assert_non_null(f);
  assert_string_equal(f->url, "https://example.com/feed");
  assert_string_equal(f->title, "A; B C");
  assert_int_equal(f->interval, 7200);
  assert_false(f->enabled);
  assert_int_equal(f->ntags, 2);
  assert_string_equal(f->tags[0], "news");
  assert_string_equal(f->tags[1], "a; b");
  assert_string_equal(f->file, "feeds.d/new.conf");
  assert_int_equal(f->line, 2);

  /* the simplest feed: name and url */
  nf = (struct config_feed){
      .name = "plain", .url = "http://plain.example/", .enabled = true};
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), 0);
  config_free(cfg);
  text = slurp("feeds.d/plain.conf");
  assert_non_null(strstr(text, "\n[plain]\nurl = http://plain.example/\n"));
  assert_null(strstr(text, "enabled"));
  free(text);
  cfg = load_ok(NULL);
  assert_int_equal(cfg->nfeeds, 2);
  f = config_find_feed(cfg, "plain");
  assert_true(f->enabled);
  assert_null(f->title);
  assert_int_equal(f->ntags, 0);
  config_free(cfg);
}

static void test_add_refuses(void **state)
{
  struct config_feed nf = {
      .name = "x", .url = "https://example.com/feed", .enabled = true};
  char long_url[300];
  char long_title[400];
  struct config *cfg;
  struct config_diag diag;
  char err[256];
  char *text;

  (void)state;
  put("feeds.d/x.conf", "[x]\nurl = https://example.com/feed\n");
  cfg = load_ok(NULL);

  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EEXIST);
  assert_string_equal(err, "feed 'x' already exists (feeds.d/x.conf:1)");

  nf.name = "y";
  nf.url = "HTTPS://EXAMPLE.com/feed";
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EEXIST);
  assert_string_equal(err, "HTTPS://EXAMPLE.com/feed is already subscribed "
                           "as 'x' (feeds.d/x.conf:1)");

  /* a name taken by a section ignored for its duplicate url: adding it
   * would make the config fail to load (fuzz_config find) */
  config_free(cfg);
  put("feeds.d/x.conf", "[x]\nurl = https://example.com/feed\n"
                        "[dup]\nurl = https://example.com/feed\n");
  assert_int_equal(config_load(NULL, &cfg, &diag), 0);
  assert_int_equal(diag.nwarnings, 1); /* dup: same url as x; ignored */
  config_diag_free(&diag);
  assert_null(config_find_feed(cfg, "dup"));
  nf.name = "dup";
  nf.url = "https://dup.example/feed";
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EEXIST);
  assert_string_equal(err, "feed name 'dup' is taken by a section ignored for "
                           "its duplicate url");
  config_free(cfg);
  put("feeds.d/x.conf", "[x]\nurl = https://example.com/feed\n");
  cfg = load_ok(NULL);

  /* a file by that name appeared since the config was loaded */
  put("feeds.d/late.conf", "# hand-written\n");
  nf.name = "late";
  nf.url = "https://late.example/";
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EEXIST);
  assert_string_equal(err, "feeds.d/late.conf already exists");
  text = slurp("feeds.d/late.conf");
  assert_string_equal(text, "# hand-written\n");
  free(text);

  nf.name = "bad name";
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "bad feed name 'bad name'"));
  nf.name = ".x";
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EINVAL);

  nf.name = "ok";
  nf.url = "feed://x.example/";
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EINVAL);
  assert_string_equal(err, "bad url 'feed://x.example/' (an absolute http or "
                           "https URL)");

  memset(long_url, 'x', sizeof(long_url) - 1);
  long_url[sizeof(long_url) - 1] = '\0';
  memcpy(long_url, "https://long.example/", 21);
  nf.url = long_url;
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), -EINVAL);
  assert_non_null(strstr(err, "url too long"));
  assert_false(exists("feeds.d/ok.conf"));

  /* a long title is cut (at a character boundary), not refused */
  nf.url = "https://ok.example/";
  for(size_t i = 0; i + 2 < sizeof(long_title); i += 2)
    memcpy(long_title + i, "\xc3\xa9", 2);
  long_title[sizeof(long_title) - 2] = '\0';
  nf.title = long_title;
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), 0);
  config_free(cfg);
  cfg = load_ok(NULL);
  assert_int_equal(strlen(config_find_feed(cfg, "ok")->title), 190);
  assert_false(temp_files_left("feeds.d"));
  config_free(cfg);
}

static void test_remove(void **state)
{
  struct config *cfg;
  char err[256];
  char *text;

  (void)state;
  put("freshet.conf", "[freshet]\ntitle = t\n\n[here]\nurl = "
                      "https://here.example/\n\n# the end\n");
  put("feeds.d/one.conf", "# added by freshet on 2026-11-25T13:20:00Z\n"
                          "[one]\nurl = https://one.example/\n");
  put("feeds.d/multi.conf", "# my feeds\n"
                            "[first]\n"
                            "url = https://first.example/\n"
                            "\n"
                            "# the second one\n"
                            "[second]\n"
                            "url = https://second.example/\n"
                            "tags = x\n"
                            "\n"
                            "# about the third\n"
                            "[third]\n"
                            "url = https://third.example/\n");
  put("feeds.d/list.opml",
      "<opml><body>\n<outline text='From OPML' "
      "xmlUrl='https://opml.example/'/>\n</body></opml>\n");
  cfg = load_ok(NULL);
  assert_int_equal(cfg->nfeeds, 6);

  assert_int_equal(config_remove_feed(cfg, "one", err, sizeof(err)), 0);
  assert_false(exists("feeds.d/one.conf"));

  assert_int_equal(config_remove_feed(cfg, "second", err, sizeof(err)), 0);
  text = slurp("feeds.d/multi.conf");
  assert_string_equal(text, "# my feeds\n"
                            "[first]\n"
                            "url = https://first.example/\n"
                            "\n"
                            "# about the third\n"
                            "[third]\n"
                            "url = https://third.example/\n");
  free(text);

  assert_int_equal(config_remove_feed(cfg, "third", err, sizeof(err)), 0);
  text = slurp("feeds.d/multi.conf");
  assert_string_equal(text, "# my feeds\n"
                            "[first]\n"
                            "url = https://first.example/\n"
                            "\n");
  free(text);

  /* a feed in freshet.conf: the file stays, without the section */
  assert_int_equal(config_remove_feed(cfg, "here", err, sizeof(err)), 0);
  text = slurp("freshet.conf");
  assert_string_equal(text, "[freshet]\ntitle = t\n\n# the end\n");
  free(text);

  assert_int_equal(config_remove_feed(cfg, "from-opml", err, sizeof(err)),
                   -EPERM);
  assert_string_equal(err, "feed 'from-opml' comes from feeds.d/list.opml:2; "
                           "edit that OPML file");
  assert_int_equal(config_remove_feed(cfg, "zzz", err, sizeof(err)), -ENOENT);
  assert_string_equal(err, "no feed named 'zzz'");
  /* gone from the file since the config was loaded */
  assert_int_equal(config_remove_feed(cfg, "second", err, sizeof(err)),
                   -ENOENT);
  assert_string_equal(err, "feed 'second' is no longer in feeds.d/multi.conf");
  assert_false(temp_files_left("feeds.d"));
  assert_false(temp_files_left("."));
  config_free(cfg);

  cfg = load_ok(NULL);
  assert_int_equal(cfg->nfeeds, 2);
  assert_non_null(config_find_feed(cfg, "first"));
  assert_non_null(config_find_feed(cfg, "from-opml"));
  config_free(cfg);
}

static void test_add_remove_long_name(void **state)
{
  const char *name =
      "x123456789012345678901234567890123456789012345678901234567890123";
  struct config_feed nf = {
      .name = (char *)name, .url = "https://l.example/", .enabled = true};
  struct config *cfg;
  char err[256];
  char path[128];

  (void)state;
  cfg = load_ok(NULL);
  assert_int_equal(config_add_feed(cfg, &nf, err, sizeof(err)), 0);
  config_free(cfg);
  cfg = load_ok(NULL);
  assert_int_equal(cfg->nfeeds, 1);
  assert_string_equal(cfg->feeds[0].name, name);
  assert_int_equal(config_remove_feed(cfg, name, err, sizeof(err)), 0);
  snprintf(path, sizeof(path), "feeds.d/%s.conf", name);
  assert_false(exists(path));
  config_free(cfg);
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_parse_duration),
      cmocka_unit_test(test_parse_size),
      cmocka_unit_test(test_valid_name),
      cmocka_unit_test_setup_teardown(test_defaults_no_file, setup_tree,
                                      teardown_tree),
      cmocka_unit_test(test_good_fixture),
      cmocka_unit_test(test_bad_fixture),
      cmocka_unit_test(test_errors),
      cmocka_unit_test_setup_teardown(test_missing_file, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_collects_all_errors, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_same_url_twice, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_enabled_and_tags, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_opml_in_feeds_d, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_relative_paths, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_crlf_bom_and_comments, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_add_then_load, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_add_refuses, setup_tree,
                                      teardown_tree),
      cmocka_unit_test_setup_teardown(test_remove, setup_tree, teardown_tree),
      cmocka_unit_test_setup_teardown(test_add_remove_long_name, setup_tree,
                                      teardown_tree),
  };

  return cmocka_run_group_tests(tests, NULL, NULL);
}
