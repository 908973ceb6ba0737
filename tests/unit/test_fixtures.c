/*
 * test_fixtures.c: every feed under fixtures/ (relative to the working
 * directory, tests/) parsed the way `freshet parse` parses it, and the
 * JSON compared byte for byte with NAME.expected.json beside it; for a
 * document that is not a feed, the one-line reason compared with
 * NAME.expected.err. NAME.meta may give "url=..." and "content-type=...";
 * the default URL is http://example.com/feeds/<file name>.
 *
 * FRESHET_FIXTURES_UPDATE=1 writes the expected files from what the parser
 * produces instead (for generating them; every written file must then be
 * reviewed by hand). Never set in CI. FRESHET_FIXTURES_ONLY=GLOB limits the
 * run to the input files whose name matches (e.g. "broken-*").
 *
 * Besides the exact comparison, every result is checked for properties
 * that hold whatever the expected files say (safe HTML, absolute safe
 * URLs, unique ids, nothing read from outside the document), and the
 * hostile inputs for bounded time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "feed.h"
#include "feed_json.h"
#include "parse.h"
#include "url.h"

#define FIXTURE_DIR "fixtures"
#define DEFAULT_URL_PREFIX "http://example.com/feeds/"
#define MIN_FIXTURES 40
#define DIFF_CONTEXT 3

struct fixture {
  char *file;         /* input file name inside FIXTURE_DIR */
  char *name;         /* file without its extension */
  char *url;          /* from NAME.meta, or the default */
  char *content_type; /* from NAME.meta, or NULL */
};

static struct fixture *fixtures;
static size_t nfixtures;
static bool update_mode;
static char passwd_line[256]; /* first line of /etc/passwd, or "" */

/* What a test allocates is listed here and freed by its teardown, so that
 * a failing check (which leaves the test at once) leaks nothing. */
#define MAX_SCRATCH 16
static struct scratch {
  void *p;
  void (*destroy)(void *);
} scratch[MAX_SCRATCH];
static size_t nscratch;

static void destroy_json(void *p)
{
  json_decref(p);
}

static void destroy_feed(void *p)
{
  feed_free(p);
}

/* Lists p for the teardown; returns p. */
static void *keep(void *p, void (*destroy)(void *))
{
  if (p) {
    if (nscratch == MAX_SCRATCH)
      abort();
    scratch[nscratch].p = p;
    scratch[nscratch].destroy = destroy;
    nscratch++;
  }
  return p;
}

static int free_scratch(void **state)
{
  (void)state;
  while (nscratch > 0) {
    nscratch--;
    scratch[nscratch].destroy(scratch[nscratch].p);
  }
  return 0;
}

/* Returns a malloc'd "FIXTURE_DIR/name" + suffix. */
static char *fixture_path(const char *name, const char *suffix)
{
  size_t n = strlen(FIXTURE_DIR) + strlen(name) + strlen(suffix) + 2;
  char *p = malloc(n);

  if (!p)
    abort();
  snprintf(p, n, "%s/%s%s", FIXTURE_DIR, name, suffix);
  return p;
}

/* Reads a whole file. Returns a malloc'd NUL-terminated buffer and sets
 * *len, or NULL (errno set) when it cannot be read. */
static char *read_file(const char *path, size_t *len)
{
  FILE *f = fopen(path, "rb");
  char *data = NULL;
  size_t cap = 0;
  size_t n = 0;

  if (!f)
    return NULL;
  for (;;) {
    size_t got;

    if (cap - n < 4096) {
      char *bigger;

      cap = cap ? cap * 2 : 65536;
      bigger = realloc(data, cap + 1);
      if (!bigger) {
        free(data);
        fclose(f);
        errno = ENOMEM;
        return NULL;
      }
      data = bigger;
    }
    got = fread(data + n, 1, cap - n, f);
    n += got;
    if (got == 0)
      break;
  }
  fclose(f);
  data[n] = '\0';
  if (len)
    *len = n;
  return data;
}

static void write_file(const char *path, const char *text)
{
  FILE *f = fopen(path, "wb");

  assert_non_null(f);
  assert_int_equal(fputs(text, f) >= 0, 1);
  assert_int_equal(fclose(f), 0);
}

static bool ends_with(const char *s, const char *suffix)
{
  size_t ls = strlen(s);
  size_t lx = strlen(suffix);

  return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

/* Input files are everything but the expected outputs, the .meta files
 * and the documentation. */
static bool is_input(const char *file)
{
  return file[0] != '.' && !ends_with(file, ".expected.json") &&
         !ends_with(file, ".expected.err") && !ends_with(file, ".meta") &&
         strcmp(file, "README.md") != 0;
}

/* Subdirectories (fixtures of other modules, such as config/) are not
 * feeds. */
static bool is_regular(const char *file)
{
  char *path = fixture_path(file, "");
  struct stat st;
  bool regular = stat(path, &st) == 0 && S_ISREG(st.st_mode);

  free(path);
  return regular;
}

static int compare_fixtures(const void *a, const void *b)
{
  return strcmp(((const struct fixture *)a)->file,
                ((const struct fixture *)b)->file);
}

/* Reads NAME.meta into fx (url= and content-type= lines). */
static void load_meta(struct fixture *fx)
{
  char *path = fixture_path(fx->name, ".meta");
  char *text = read_file(path, NULL);
  char *line;
  char *save = NULL;

  free(path);
  if (!text)
    return;
  for (line = strtok_r(text, "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    size_t n = strlen(line);

    if (n > 0 && line[n - 1] == '\r')
      line[n - 1] = '\0';
    if (strncmp(line, "url=", 4) == 0) {
      free(fx->url);
      fx->url = strdup(line + 4);
    } else if (strncmp(line, "content-type=", 13) == 0) {
      free(fx->content_type);
      fx->content_type = strdup(line + 13);
    } else if (line[0] != '\0' && line[0] != '#') {
      fprintf(stderr, "test_fixtures: %s.meta: unknown line \"%s\"\n", fx->name,
              line);
      exit(1);
    }
  }
  free(text);
}

/* Lists FIXTURE_DIR into the sorted fixtures array (only the files
 * matching the glob only, when it is not NULL). */
static void load_fixtures(const char *only)
{
  DIR *dir = opendir(FIXTURE_DIR);
  struct dirent *de;
  size_t cap = 0;

  if (!dir) {
    fprintf(stderr, "test_fixtures: cannot open %s/ (run from tests/): %s\n",
            FIXTURE_DIR, strerror(errno));
    exit(1);
  }
  while ((de = readdir(dir)) != NULL) {
    struct fixture *fx;
    const char *dot;

    if (!is_input(de->d_name) || !is_regular(de->d_name))
      continue;
    if (only && fnmatch(only, de->d_name, 0) != 0)
      continue;
    if (nfixtures == cap) {
      cap = cap ? cap * 2 : 64;
      fixtures = realloc(fixtures, cap * sizeof(*fixtures));
      if (!fixtures)
        abort();
    }
    fx = &fixtures[nfixtures++];
    memset(fx, 0, sizeof(*fx));
    fx->file = strdup(de->d_name);
    dot = strrchr(de->d_name, '.');
    fx->name = dot ? strndup(de->d_name, (size_t)(dot - de->d_name))
                   : strdup(de->d_name);
    fx->url = malloc(strlen(DEFAULT_URL_PREFIX) + strlen(de->d_name) + 1);
    if (!fx->file || !fx->name || !fx->url)
      abort();
    strcpy(fx->url, DEFAULT_URL_PREFIX);
    strcat(fx->url, de->d_name);
  }
  closedir(dir);
  if (nfixtures > 0)
    qsort(fixtures, nfixtures, sizeof(*fixtures), compare_fixtures);
}

/* Points at the start of line number `line` (0-based) of s. */
static const char *nth_line(const char *s, size_t line)
{
  while (line > 0 && *s) {
    const char *nl = strchr(s, '\n');

    if (!nl)
      return s + strlen(s);
    s = nl + 1;
    line--;
  }
  return s;
}

static size_t count_lines(const char *s)
{
  size_t n = 0;

  for (; *s; s++)
    if (*s == '\n')
      n++;
  return n;
}

static void print_lines(const char *prefix, const char *s, size_t from,
                        size_t to)
{
  const char *p = nth_line(s, from);

  for (size_t i = from; i < to && *p; i++) {
    size_t n = strcspn(p, "\n");
    char line[512];

    /* Copied so that the format sees a plain string (and long lines are
     * cut rather than flooding the log). */
    snprintf(line, sizeof(line), "%.*s", (int)(n < 511 ? n : 511), p);
    print_error("%s%4zu %s\n", prefix, i + 1, line);
    p += n;
    if (*p == '\n')
      p++;
  }
}

/* Returns the offset of the start of the line holding offset i of s. */
static size_t line_start(const char *s, size_t i)
{
  while (i > 0 && s[i - 1] != '\n')
    i--;
  return i;
}

/* Prints where got first differs from want, with a few lines of context,
 * in the style of a unified diff (- expected, + got). */
static void print_diff(const char *what, const char *want, const char *got)
{
  size_t line = 0;
  size_t i = 0;
  size_t from;
  size_t want_lines = count_lines(want) + 1;
  size_t got_lines = count_lines(got) + 1;

  while (want[i] && want[i] == got[i]) {
    if (want[i] == '\n')
      line++;
    i++;
  }
  from = line > DIFF_CONTEXT ? line - DIFF_CONTEXT : 0;
  print_error("--- %s (expected)\n+++ parser output\n@@ line %zu @@\n", what,
              line + 1);
  print_lines(" ", want, from, line);
  print_lines("-", want, line,
              line + DIFF_CONTEXT + 1 < want_lines ? line + DIFF_CONTEXT + 1
                                                   : want_lines);
  print_lines("+", got, line,
              line + DIFF_CONTEXT + 1 < got_lines ? line + DIFF_CONTEXT + 1
                                                  : got_lines);
  /* Long lines (HTML in one JSON string) are cut above: show where in the
   * line they part. */
  if (i - line_start(want, i) > 100) {
    size_t at = i > 60 ? i - 60 : 0;

    print_error("column %zu:\n- ...%.120s\n+ ...%.120s\n",
                i - line_start(want, i) + 1, want + at, got + at);
  }
}

static bool contains_nocase(const char *hay, const char *needle)
{
  return hay && strcasestr(hay, needle) != NULL;
}

/* Fails when published HTML could still run code. */
static void check_html(const char *fixture, const char *field, const char *html)
{
  static const char *const banned[] = {
      "<script", "<iframe",     "<object",   "<embed",         "<form",
      "<style",  "javascript:", "vbscript:", "data:text/html", "data:image/svg",
  };

  if (!html)
    return;
  for (size_t i = 0; i < sizeof(banned) / sizeof(banned[0]); i++)
    if (contains_nocase(html, banned[i]))
      fail_msg("%s: %s contains \"%s\": %s", fixture, field, banned[i], html);
  /* Event handler attributes: " on...=" inside a tag. */
  for (const char *p = html; (p = strchr(p, '<')) != NULL; p++) {
    const char *end = strchr(p, '>');

    if (!end)
      break;
    for (const char *q = p; q + 3 < end; q++) {
      if ((q[0] == ' ' || q[0] == '\t' || q[0] == '\n' || q[0] == '/') &&
          (q[1] == 'o' || q[1] == 'O') && (q[2] == 'n' || q[2] == 'N')) {
        const char *r = q + 3;

        while (r < end &&
               ((*r >= 'a' && *r <= 'z') || (*r >= 'A' && *r <= 'Z')))
          r++;
        if (r > q + 3 && r < end && (*r == '=' || *r == ' '))
          fail_msg("%s: %s has an event attribute: %.*s", fixture, field,
                   (int)(end - p + 1), p);
      }
    }
  }
}

/* Fails unless url is null, or absolute and safe to publish. */
static void check_url(const char *fixture, const char *field, json_t *v,
                      bool image)
{
  const char *url;

  if (!v || json_is_null(v))
    return;
  url = json_string_value(v);
  if (!url)
    fail_msg("%s: %s is not a string", fixture, field);
  if (!url_is_absolute(url))
    fail_msg("%s: %s is not absolute: %s", fixture, field, url);
  if (!url_is_safe(url, image))
    fail_msg("%s: %s is not a safe URL: %s", fixture, field, url);
}

/* Properties every parse result has, whatever its expected file says. */
static void check_invariants(const char *fixture, const char *json)
{
  json_error_t jerr;
  json_t *root = keep(json_loads(json, 0, &jerr), destroy_json);
  json_t *entries;
  json_t *entry;
  size_t i;

  if (!root)
    fail_msg("%s: output is not JSON: %s (line %d)", fixture, jerr.text,
             jerr.line);
  if (passwd_line[0] && strstr(json, passwd_line))
    fail_msg("%s: output contains /etc/passwd", fixture);
  check_html(fixture, "feed.subtitle",
             json_string_value(
                 json_object_get(json_object_get(root, "feed"), "subtitle")));
  check_url(fixture, "feed.link",
            json_object_get(json_object_get(root, "feed"), "link"), false);
  entries = json_object_get(root, "entries");
  assert_true(json_is_array(entries));
  json_array_foreach(entries, i, entry)
  {
    json_t *enclosures = json_object_get(entry, "enclosures");
    const char *id = json_string_value(json_object_get(entry, "id"));
    json_t *enc;
    size_t k;

    if (!id || !id[0])
      fail_msg("%s: entry %zu has no id", fixture, i);
    for (size_t j = 0; j < i; j++) {
      const char *other =
          json_string_value(json_object_get(json_array_get(entries, j), "id"));

      if (other && strcmp(id, other) == 0)
        fail_msg("%s: entries %zu and %zu share the id %s", fixture, j, i, id);
    }
    check_html(fixture, "summary",
               json_string_value(json_object_get(entry, "summary")));
    check_html(fixture, "content",
               json_string_value(json_object_get(entry, "content")));
    check_url(fixture, "link", json_object_get(entry, "link"), false);
    check_url(fixture, "image", json_object_get(entry, "image"), true);
    json_array_foreach(enclosures, k, enc)
        check_url(fixture, "enclosure url", json_object_get(enc, "url"), false);
  }
}

/* Parses one fixture. Returns the parse_feed code; on success *json is
 * the dump, otherwise *json is a copy of the error line (both kept). */
static int run_fixture(const struct fixture *fx, char **json)
{
  char *path = keep(fixture_path(fx->file, ""), free);
  size_t len;
  char *data = keep(read_file(path, &len), free);
  struct feed *feed = NULL;
  char err[512] = "";
  int rc;

  if (!data)
    fail_msg("cannot read %s: %s", path, strerror(errno));
  rc =
      parse_feed(data, len, fx->url, fx->content_type, &feed, err, sizeof(err));
  keep(feed, destroy_feed);
  if (rc == 0) {
    assert_non_null(feed);
    *json = keep(feed_json_dump(feed), free);
    assert_non_null(*json);
  } else {
    assert_null(feed);
    *json = keep(strdup(err), free);
    assert_non_null(*json);
  }
  return rc;
}

static void test_fixture(void **state)
{
  const struct fixture *fx = *state;
  char *json_path = keep(fixture_path(fx->name, ".expected.json"), free);
  char *err_path = keep(fixture_path(fx->name, ".expected.err"), free);
  char *got = NULL;
  char *again = NULL;
  int rc = run_fixture(fx, &got);

  /* The same bytes always give the same output. */
  assert_int_equal(run_fixture(fx, &again), rc);
  assert_string_equal(again, got);
  if (passwd_line[0] && strstr(got, passwd_line))
    fail_msg("%s: output contains /etc/passwd", fx->file);

  if (update_mode) {
    if (rc == 0) {
      write_file(json_path, got);
      unlink(err_path);
    } else {
      char *line = keep(malloc(strlen(got) + 2), free);

      assert_non_null(line);
      strcpy(line, got);
      strcat(line, "\n");
      write_file(err_path, line);
      unlink(json_path);
    }
  }

  if (rc == 0) {
    char *want = keep(read_file(json_path, NULL), free);

    check_invariants(fx->file, got);
    if (!want) {
      char *err = keep(read_file(err_path, NULL), free);

      if (err)
        fail_msg("%s: expected the error \"%s\" but it parsed as a feed",
                 fx->file, err);
      fail_msg("%s: no %s (FRESHET_FIXTURES_UPDATE=1 writes it)", fx->file,
               json_path);
    }
    if (strcmp(want, got) != 0) {
      print_diff(json_path, want, got);
      fail_msg("%s: output differs from %s", fx->file, json_path);
    }
  } else {
    char *want = keep(read_file(err_path, NULL), free);
    size_t n;

    if (!want)
      fail_msg("%s: parse failed (%d): %s", fx->file, rc, got);
    n = strlen(want);
    if (n > 0 && want[n - 1] == '\n')
      want[--n] = '\0';
    if (rc != -EINVAL)
      fail_msg("%s: parse returned %d, not -EINVAL: %s", fx->file, rc, got);
    if (strchr(got, '\n'))
      fail_msg("%s: the error is not one line: %s", fx->file, got);
    if (strcmp(want, got) != 0) {
      print_diff(err_path, want, got);
      fail_msg("%s: error differs from %s", fx->file, err_path);
    }
  }
}

static double now_seconds(void)
{
  struct timespec ts;

  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Parses a fixture file in-process and returns the feed (or NULL; kept for
 * the teardown) with the time it took. */
static int parse_file_timed(const char *file, struct feed **feed,
                            double *seconds, char *err, size_t errlen)
{
  char *path = fixture_path(file, "");
  size_t len;
  char *data = read_file(path, &len);
  double t0;
  int rc;

  free(path);
  assert_non_null(keep(data, free));
  t0 = now_seconds();
  rc = parse_feed(data, len, "http://example.com/feeds/hostile", NULL, feed,
                  err, errlen);
  *seconds = now_seconds() - t0;
  keep(*feed, destroy_feed);
  return rc;
}

static bool feed_mentions(const struct feed *feed, const char *needle)
{
  char *json = keep(feed_json_dump(feed), free);

  assert_non_null(json);
  return strstr(json, needle) != NULL;
}

/* The entity definitions never reach the parser: billion laughs ends fast,
 * keeps its entries, and says what was wrong. */
static void test_billion_laughs_bounded(void **state)
{
  struct feed *feed = NULL;
  char err[512] = "";
  double secs;
  int rc;

  (void)state;
  rc = parse_file_timed("hostile-billion-laughs.xml", &feed, &secs, err,
                        sizeof(err));
  assert_int_equal(rc, 0);
  assert_true(secs < 1.0);
  assert_true(feed->nentries >= 1);
  assert_true(feed->nwarnings >= 1);
  assert_false(feed_mentions(feed, "lollollol"));
}

/* No file, DTD or network access from inside the XML. */
static void test_external_entities_not_loaded(void **state)
{
  struct feed *feed = NULL;
  char err[512] = "";
  double secs;
  int rc;

  (void)state;
  rc = parse_file_timed("hostile-xxe.rss", &feed, &secs, err, sizeof(err));
  assert_int_equal(rc, 0);
  assert_true(secs < 1.0);
  assert_true(feed->nwarnings >= 1);
  if (passwd_line[0])
    assert_false(feed_mentions(feed, passwd_line));
  assert_false(feed_mentions(feed, "root:"));
}

/* 10,000 nested elements: refused or cut cleanly, quickly. */
static void test_deep_nesting_bounded(void **state)
{
  static const char *const files[] = {"hostile-deep-nesting.rss",
                                      "hostile-deep-json.json"};

  (void)state;
  for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
    struct feed *feed = NULL;
    char err[512] = "";
    double secs;
    int rc = parse_file_timed(files[i], &feed, &secs, err, sizeof(err));

    if (secs >= 1.0)
      fail_msg("%s took %.2f s", files[i], secs);
    if (rc == 0)
      assert_true(feed->nwarnings >= 1);
    else
      assert_true(err[0] != '\0');
  }
}

/* More items than PARSE_MAX_ENTRIES: the rest are dropped with a warning,
 * and the work stays roughly linear. */
static void test_entry_cap(void **state)
{
  size_t n = PARSE_MAX_ENTRIES + 100;
  size_t cap = 256 + n * 96;
  char *doc = keep(malloc(cap), free);
  size_t len = 0;
  struct feed *feed = NULL;
  char err[512] = "";
  double t0;
  double secs;
  int rc;

  (void)state;
  assert_non_null(doc);
  len += (size_t)snprintf(doc + len, cap - len,
                          "<?xml version=\"1.0\"?>\n<rss version=\"2.0\">"
                          "<channel><title>Many</title>"
                          "<link>https://many.example.com/</link>\n");
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(doc + len, cap - len,
                            "<item><title>Item %zu</title>"
                            "<link>https://many.example.com/%zu</link>"
                            "</item>\n",
                            i, i);
  len += (size_t)snprintf(doc + len, cap - len, "</channel></rss>\n");
  assert_true(len < cap);
  t0 = now_seconds();
  rc = parse_feed(doc, len, NULL, NULL, &feed, err, sizeof(err));
  secs = now_seconds() - t0;
  keep(feed, destroy_feed);
  assert_int_equal(rc, 0);
  assert_int_equal(feed->nentries, PARSE_MAX_ENTRIES);
  assert_true(feed->nwarnings >= 1);
  if (secs >= 10.0)
    fail_msg("%zu items took %.2f s", n, secs);
}

/* Larger than PARSE_MAX_INPUT: refused before any work. */
static void test_input_cap(void **state)
{
  size_t len = (size_t)PARSE_MAX_INPUT + 1;
  char *doc = keep(malloc(len), free);
  struct feed *feed = NULL;
  char err[512] = "";
  int rc;

  (void)state;
  assert_non_null(doc);
  memset(doc, ' ', len);
  memcpy(doc, "<rss version=\"2.0\"><channel>", 28);
  rc = parse_feed(doc, len, NULL, NULL, &feed, err, sizeof(err));
  keep(feed, destroy_feed);
  assert_int_equal(rc, -EFBIG);
  assert_null(feed);
  assert_true(err[0] != '\0');
}

/* Guards against running from the wrong directory and testing nothing. */
static void test_fixture_count(void **state)
{
  (void)state;
  if (getenv("FRESHET_FIXTURES_ONLY"))
    skip();
  if (nfixtures < MIN_FIXTURES)
    fail_msg("only %zu fixtures found in %s/", nfixtures, FIXTURE_DIR);
}

static void load_passwd_line(void)
{
  char *text = read_file("/etc/passwd", NULL);
  char *nl;

  if (!text)
    return;
  nl = strchr(text, '\n');
  if (nl)
    *nl = '\0';
  snprintf(passwd_line, sizeof(passwd_line), "%s", text);
  free(text);
}

int main(void)
{
  static const struct CMUnitTest fixed[] = {
      cmocka_unit_test(test_fixture_count),
      cmocka_unit_test_teardown(test_billion_laughs_bounded, free_scratch),
      cmocka_unit_test_teardown(test_external_entities_not_loaded,
                                free_scratch),
      cmocka_unit_test_teardown(test_deep_nesting_bounded, free_scratch),
      cmocka_unit_test_teardown(test_entry_cap, free_scratch),
      cmocka_unit_test_teardown(test_input_cap, free_scratch),
  };
  size_t nfixed = sizeof(fixed) / sizeof(fixed[0]);
  struct CMUnitTest *tests;
  const char *update = getenv("FRESHET_FIXTURES_UPDATE");
  int failed;

  parse_init();
  update_mode = update && strcmp(update, "1") == 0;
  load_passwd_line();
  load_fixtures(getenv("FRESHET_FIXTURES_ONLY"));
  for (size_t i = 0; i < nfixtures; i++)
    load_meta(&fixtures[i]);

  tests = calloc(nfixtures + nfixed, sizeof(*tests));
  if (!tests)
    return 1;
  for (size_t i = 0; i < nfixed; i++)
    tests[i] = fixed[i];
  for (size_t i = 0; i < nfixtures; i++) {
    struct CMUnitTest *t = &tests[nfixed + i];

    t->name = fixtures[i].file;
    t->test_func = test_fixture;
    t->teardown_func = free_scratch;
    t->initial_state = &fixtures[i];
  }
  failed = _cmocka_run_group_tests("fixtures", tests, nfixed + nfixtures, NULL,
                                   NULL);

  free(tests);
  for (size_t i = 0; i < nfixtures; i++) {
    free(fixtures[i].file);
    free(fixtures[i].name);
    free(fixtures[i].url);
    free(fixtures[i].content_type);
  }
  free(fixtures);
  return failed;
}
