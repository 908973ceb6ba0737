/*
 * main.c: the freshet command line: subcommands, options and exit codes
 * (0 ok, 1 runtime failure, 2 usage or configuration error).
 */
#include "ago.h"
#include "charset.h"
#include "config.h"
#include "daemon.h"
#include "discover.h"
#include "download.h"
#include "feed.h"
#include "feed_json.h"
#include "opml.h"
#include "parse.h"
#include "publish.h"
#include "store.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define EXIT_USAGE 2

static const char *config_file; /* -c FILE; NULL: ./freshet.conf */

static void usage(FILE *out)
{
  fputs("usage: freshet [-c FILE] COMMAND [OPTIONS]\n"
        "\n"
        "commands:\n"
        "  run                      the daemon, in the foreground\n"
        "  poll [--all]             one poll of the due (or all) feeds, "
        "publish, exit\n"
        "  parse [--url URL] [--content-type TYPE] FILE|-|URL\n"
        "                           print what freshet reads from one feed, as "
        "JSON\n"
        "  add URL [--name N] [--title T]\n"
        "                           subscribe (finds the feed of a web page)\n"
        "  remove NAME              unsubscribe\n"
        "  list [--json]            subscriptions and their state\n"
        "  import FILE.opml         subscribe to every feed of an OPML file\n"
        "  export                   print the subscriptions as OPML\n"
        "  render                   publish again from the database\n"
        "  recent [-n N]            the recent-posts list\n"
        "  check                    validate the configuration\n"
        "\n"
        "options:\n"
        "  -c FILE        configuration file (default ./freshet.conf)\n"
        "  -h, --help     this text\n"
        "  -V, --version  print the version\n",
        out);
}

/* Reads all of f, up to limit bytes. Returns 0 and a malloc'd buffer,
 * -EFBIG, or -errno. */
static int read_all(FILE *f, size_t limit, char **out, size_t *out_len)
{
  size_t cap = 1 << 16;
  size_t len = 0;
  char *data = malloc(cap);

  if(!data)
    return -ENOMEM;
  for(;;) {
    size_t n;

    if(len == cap) {
      char *bigger;

      if(cap > limit) {
        free(data);
        return -EFBIG;
      }
      cap *= 2;
      bigger = realloc(data, cap);
      if(!bigger) {
        free(data);
        return -ENOMEM;
      }
      data = bigger;
    }
    n = fread(data + len, 1, cap - len, f);
    len += n;
    if(n == 0)
      break;
  }
  if(ferror(f)) {
    int e = errno ? -errno : -EIO;

    free(data);
    return e;
  }
  if(len > limit) {
    free(data);
    return -EFBIG;
  }
  *out = data;
  *out_len = len;
  return 0;
}

static bool is_http_url(const char *s)
{
  return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* Loads the configuration, printing its warnings and errors. Returns
 * NULL after printing when it is broken. */
static struct config *load_config(const char *cmd)
{
  struct config_diag diag = {0};
  struct config *cfg = NULL;
  int rc = config_load(config_file, &cfg, &diag);

  for(size_t i = 0; i < diag.nwarnings; i++)
    fprintf(stderr, "freshet %s: warning: %s\n", cmd, diag.warnings[i]);
  for(size_t i = 0; i < diag.nerrors; i++)
    fprintf(stderr, "freshet %s: %s\n", cmd, diag.errors[i]);
  if(rc != 0 && diag.nerrors == 0)
    fprintf(stderr, "freshet %s: cannot load the configuration: %s\n", cmd,
            strerror(-rc));
  config_diag_free(&diag);
  return rc == 0 ? cfg : NULL;
}

static struct store *open_store(const struct config *cfg, const char *cmd)
{
  char *path = config_path(cfg, cfg->database);
  struct store *store = NULL;
  char err[512];

  if(!path || store_open(path, &store, err, sizeof(err)) != 0) {
    fprintf(stderr, "freshet %s: %s\n", cmd, path ? err : "out of memory");
    store = NULL;
  }
  free(path);
  return store;
}

/* Downloads url and returns its body in *dl, or prints why not. */
static int fetch_document(const char *cmd, const char *url, struct download *dl)
{
  char err[512];

  if(download_get(url, PARSE_MAX_INPUT, 60, dl, err, sizeof(err)) != 0) {
    fprintf(stderr, "freshet %s: %s\n", cmd, err);
    return -EIO;
  }
  if(dl->status < 200 || dl->status > 299) {
    fprintf(stderr, "freshet %s: %s: HTTP status %ld\n", cmd, url, dl->status);
    download_free(dl);
    return -EIO;
  }
  return 0;
}

/* freshet parse: one feed, from a file, stdin or a URL, to JSON. */
static int cmd_parse(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"url", required_argument, NULL, 'u'},
      {"content-type", required_argument, NULL, 't'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  const char *url = NULL;
  const char *type = NULL;
  const char *source;
  struct download dl;
  struct feed *feed = NULL;
  char err[512];
  char *data = NULL;
  size_t len = 0;
  char *json;
  int rc;
  int c;

  memset(&dl, 0, sizeof(dl));
  while((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch(c) {
    case 'u':
      url = optarg;
      break;
    case 't':
      type = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    default:
      return EXIT_USAGE;
    }
  }
  if(argc - optind != 1) {
    fprintf(stderr, "freshet parse: expected one FILE, - or URL\n");
    return EXIT_USAGE;
  }
  source = argv[optind];
  if(is_http_url(source)) {
    if(fetch_document("parse", source, &dl) != 0)
      return EXIT_FAILURE;
    data = dl.body;
    len = dl.len;
    if(!url)
      url = dl.url;
    if(!type)
      type = dl.content_type;
  } else {
    FILE *f = strcmp(source, "-") == 0 ? stdin : fopen(source, "rb");

    if(!f) {
      fprintf(stderr, "freshet parse: %s: %s\n", source, strerror(errno));
      return EXIT_FAILURE;
    }
    rc = read_all(f, PARSE_MAX_INPUT, &data, &len);
    if(f != stdin)
      fclose(f);
    if(rc != 0) {
      fprintf(stderr, "freshet parse: %s: %s\n", source,
              rc == -EFBIG ? "larger than the parser's 64 MiB limit"
                           : strerror(-rc));
      return EXIT_FAILURE;
    }
  }
  rc = parse_feed(data, len, url, type, &feed, err, sizeof(err));
  if(dl.body)
    download_free(&dl);
  else
    free(data);
  if(rc != 0) {
    fprintf(stderr, "freshet parse: %s: %s\n", source, err);
    return EXIT_FAILURE;
  }
  json = feed_json_dump(feed);
  feed_free(feed);
  if(!json) {
    fprintf(stderr, "freshet parse: out of memory\n");
    return EXIT_FAILURE;
  }
  fputs(json, stdout);
  free(json);
  return fflush(stdout) == 0 ? 0 : EXIT_FAILURE;
}

/* A feed name from a title or a URL's host: lower-case ASCII letters and
 * digits, '-' between words. */
static void make_name(const char *from, char *out, size_t size)
{
  size_t n = 0;
  bool dash = false;

  if(is_http_url(from)) {
    from = strstr(from, "://") + 3;
    if(strncmp(from, "www.", 4) == 0)
      from += 4;
  }
  for(const char *p = from; *p && n + 1 < size && n < 40; p++) {
    char c = *p;

    if(c >= 'A' && c <= 'Z')
      c = (char)(c - 'A' + 'a');
    if((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) {
      if(dash && n > 0)
        out[n++] = '-';
      dash = false;
      if(n + 1 < size)
        out[n++] = c;
    } else if(c == '/' && is_http_url(from)) {
      break;
    } else {
      dash = true;
    }
  }
  out[n] = '\0';
  if(n == 0)
    snprintf(out, size, "feed");
}

/* Fetches url; when it is an HTML page, follows its feed link once.
 * Returns 0 with the parsed feed and the feed's own URL. */
static int fetch_feed(const char *url, struct feed **feed, char **feed_url)
{
  struct download dl;
  char err[512];
  int rc;

  for(int hop = 0; hop < 2; hop++) {
    char *found;
    char *utf8 = NULL;
    size_t ulen = 0;

    if(fetch_document("add", url, &dl) != 0)
      return EXIT_FAILURE;
    rc = parse_feed(dl.body, dl.len, dl.url, dl.content_type, feed, err,
                    sizeof(err));
    if(rc == 0) {
      *feed_url = strdup(url);
      download_free(&dl);
      return 0;
    }
    found = NULL;
    if(hop == 0 && charset_to_utf8(dl.body, dl.len, dl.content_type, NULL,
                                   &utf8, &ulen) == 0)
      found = discover_feed_link(utf8, ulen, dl.url);
    free(utf8);
    download_free(&dl);
    if(!found) {
      fprintf(stderr, "freshet add: %s: %s, and it links to no feed\n", url,
              err);
      return EXIT_FAILURE;
    }
    fprintf(stderr, "freshet add: %s is a web page; its feed is %s\n", url,
            found);
    *feed_url = found;
    url = found;
    rc = fetch_document("add", url, &dl);
    if(rc != 0) {
      free(found);
      *feed_url = NULL;
      return EXIT_FAILURE;
    }
    rc = parse_feed(dl.body, dl.len, dl.url, dl.content_type, feed, err,
                    sizeof(err));
    download_free(&dl);
    if(rc != 0) {
      fprintf(stderr, "freshet add: %s: %s\n", url, err);
      free(found);
      *feed_url = NULL;
      return EXIT_FAILURE;
    }
    return 0;
  }
  return EXIT_FAILURE;
}

/* freshet add URL [--name N] [--title T] */
static int cmd_add(int argc, char **argv)
{
  static const struct option longopts[] = {
      {"name", required_argument, NULL, 'n'},
      {"title", required_argument, NULL, 't'},
      {NULL, 0, NULL, 0},
  };
  const char *name = NULL;
  const char *title = NULL;
  struct config_feed cf;
  struct config *cfg;
  struct feed *feed = NULL;
  char *feed_url = NULL;
  char base[48];
  char unique[64];
  char err[512];
  int rc;
  int c;

  while((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
    if(c == 'n')
      name = optarg;
    else if(c == 't')
      title = optarg;
    else
      return EXIT_USAGE;
  }
  if(argc - optind != 1 || !is_http_url(argv[optind])) {
    fprintf(stderr, "freshet add: expected one http(s) URL\n");
    return EXIT_USAGE;
  }
  if(name && !config_valid_name(name)) {
    fprintf(stderr,
            "freshet add: '%s' is not a valid name (letters, digits, "
            "'.', '_', '-'; at most 64)\n",
            name);
    return EXIT_USAGE;
  }
  cfg = load_config("add");
  if(!cfg)
    return EXIT_USAGE;
  rc = fetch_feed(argv[optind], &feed, &feed_url);
  if(rc != 0) {
    config_free(cfg);
    return rc;
  }
  if(name) {
    snprintf(unique, sizeof(unique), "%s", name);
  } else {
    make_name(title         ? title
              : feed->title ? feed->title
                            : feed_url,
              base, sizeof(base));
    snprintf(unique, sizeof(unique), "%s", base);
    for(int i = 2; config_find_feed(cfg, unique) && i < 1000; i++)
      snprintf(unique, sizeof(unique), "%s-%d", base, i);
  }
  memset(&cf, 0, sizeof(cf));
  cf.name = unique;
  cf.url = feed_url;
  cf.title = (char *)title;
  cf.enabled = true;
  rc = config_add_feed(cfg, &cf, err, sizeof(err));
  if(rc != 0) {
    fprintf(stderr, "freshet add: %s\n", err);
  } else {
    printf("added %s: %s (%s, %zu entries)\n", unique, feed_url,
           feed->title ? feed->title : "untitled", feed->nentries);
  }
  feed_free(feed);
  free(feed_url);
  config_free(cfg);
  return rc == 0 ? 0 : (rc == -EEXIST ? EXIT_USAGE : EXIT_FAILURE);
}

static int cmd_remove(int argc, char **argv)
{
  struct config *cfg;
  char err[512];
  int rc;

  if(argc != 2) {
    fprintf(stderr, "freshet remove: expected one NAME\n");
    return EXIT_USAGE;
  }
  cfg = load_config("remove");
  if(!cfg)
    return EXIT_USAGE;
  rc = config_remove_feed(cfg, argv[1], err, sizeof(err));
  if(rc != 0)
    fprintf(stderr, "freshet remove: %s\n", err);
  else
    printf("removed %s\n", argv[1]);
  config_free(cfg);
  return rc == 0 ? 0 : rc == -ENOENT ? EXIT_USAGE : EXIT_FAILURE;
}

static void format_time(int64_t t, char *buf, size_t size)
{
  time_t tt = (time_t)t;
  struct tm tm;

  if(t <= 0) {
    snprintf(buf, size, "-");
    return;
  }
  gmtime_r(&tt, &tm);
  strftime(buf, size, "%Y-%m-%d %H:%M", &tm);
}

static const char *feed_status(const struct store_feed *sf, bool enabled,
                               char *buf, size_t size)
{
  if(!enabled)
    return "disabled";
  if(!sf)
    return "new";
  if(sf->disabled_reason)
    return "gone";
  if(sf->last_fetch == 0)
    return "new";
  if(sf->error_count > 0 && sf->last_status <= 0)
    return "error"; /* no HTTP response: last_error says why */
  if(sf->error_count > 0)
    snprintf(buf, size, "error %d", sf->last_status);
  else
    snprintf(buf, size, "ok %d", sf->last_status);
  return buf;
}

/* freshet list [--json]: the configured feeds with their stored state. */
static int cmd_list(int argc, char **argv)
{
  bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
  struct store_feed *rows = NULL;
  size_t nrows = 0;
  struct config *cfg;
  struct store *store;

  if(argc > 2 || (argc == 2 && !json)) {
    fprintf(stderr, "freshet list: the only option is --json\n");
    return EXIT_USAGE;
  }
  cfg = load_config("list");
  if(!cfg)
    return EXIT_USAGE;
  store = open_store(cfg, "list");
  if(!store || store_list_feeds(store, &rows, &nrows) != 0) {
    store_close(store);
    config_free(cfg);
    return EXIT_FAILURE;
  }
  if(json)
    printf("[");
  else
    printf("%-20s %-9s %-16s %7s %-16s %s\n", "NAME", "STATUS", "LAST FETCH",
           "ENTRIES", "NEXT DUE", "URL / LAST ERROR");
  for(size_t i = 0; i < cfg->nfeeds; i++) {
    const struct config_feed *cf = &cfg->feeds[i];
    const struct store_feed *sf = NULL;
    char status[32];
    char last[32];
    char next[32];

    for(size_t k = 0; k < nrows && !sf; k++)
      if(strcmp(rows[k].name, cf->name) == 0)
        sf = &rows[k];
    if(json) {
      json_t *o = json_pack(
          "{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:s?, s:s?}", "name", cf->name,
          "url", cf->url, "status",
          feed_status(sf, cf->enabled, status, sizeof(status)), "http_status",
          (json_int_t)(sf ? sf->last_status : 0), "last_fetch",
          (json_int_t)(sf ? sf->last_fetch : 0), "entries",
          (json_int_t)(sf ? sf->entries : 0), "next_due",
          (json_int_t)(sf ? sf->next_due : 0), "last_error",
          sf ? sf->last_error : NULL, "fetch_url", sf ? sf->fetch_url : NULL);
      char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;

      printf("%s%s", i ? "," : "", text ? text : "null");
      free(text);
      json_decref(o);
      continue;
    }
    format_time(sf ? sf->last_fetch : 0, last, sizeof(last));
    format_time(sf ? sf->next_due : 0, next, sizeof(next));
    printf("%-20s %-9s %-16s %7lld %-16s %s\n", cf->name,
           feed_status(sf, cf->enabled, status, sizeof(status)), last,
           (long long)(sf ? sf->entries : 0), next,
           sf && sf->error_count && sf->last_error ? sf->last_error : cf->url);
  }
  if(json)
    printf("]\n");
  store_feeds_free(rows, nrows);
  store_close(store);
  config_free(cfg);
  return 0;
}

static int cmd_import(int argc, char **argv)
{
  struct config_feed *feeds = NULL;
  struct config *cfg;
  size_t n = 0;
  size_t added = 0;
  size_t skipped = 0;
  char err[512];
  char *data = NULL;
  size_t len = 0;
  FILE *f;
  int rc;

  if(argc != 2) {
    fprintf(stderr, "freshet import: expected one OPML file\n");
    return EXIT_USAGE;
  }
  f = fopen(argv[1], "rb");
  if(!f) {
    fprintf(stderr, "freshet import: %s: %s\n", argv[1], strerror(errno));
    return EXIT_FAILURE;
  }
  rc = read_all(f, PARSE_MAX_INPUT, &data, &len);
  fclose(f);
  if(rc != 0) {
    fprintf(stderr, "freshet import: %s: %s\n", argv[1], strerror(-rc));
    return EXIT_FAILURE;
  }
  rc = opml_read(data, len, argv[1], &feeds, &n, err, sizeof(err));
  free(data);
  if(rc != 0) {
    fprintf(stderr, "freshet import: %s\n", err);
    return EXIT_USAGE;
  }
  cfg = load_config("import");
  if(!cfg) {
    opml_feeds_free(feeds, n);
    return EXIT_USAGE;
  }
  for(size_t i = 0; i < n; i++) {
    rc = config_add_feed(cfg, &feeds[i], err, sizeof(err));
    if(rc == -EEXIST) {
      skipped++;
      printf("skipped %s: %s\n", feeds[i].name, err);
    } else if(rc != 0) {
      fprintf(stderr, "freshet import: %s\n", err);
      break;
    } else {
      added++;
      printf("added %s: %s\n", feeds[i].name, feeds[i].url);
    }
  }
  printf("imported %zu, skipped %zu already subscribed\n", added, skipped);
  opml_feeds_free(feeds, n);
  config_free(cfg);
  return rc == 0 || rc == -EEXIST ? 0 : EXIT_FAILURE;
}

static int cmd_export(int argc, char **argv)
{
  struct config *cfg;
  char *doc;

  (void)argv;
  if(argc != 1) {
    fprintf(stderr, "freshet export: takes no arguments\n");
    return EXIT_USAGE;
  }
  cfg = load_config("export");
  if(!cfg)
    return EXIT_USAGE;
  doc = opml_write(cfg->feeds, cfg->nfeeds, cfg->title);
  if(doc)
    fputs(doc, stdout);
  free(doc);
  config_free(cfg);
  return doc ? 0 : EXIT_FAILURE;
}

static int cmd_render(int argc, char **argv)
{
  struct config *cfg;
  struct store *store;
  struct publish *pub = NULL;
  int rc;

  (void)argv;
  if(argc != 1) {
    fprintf(stderr, "freshet render: takes no arguments\n");
    return EXIT_USAGE;
  }
  cfg = load_config("render");
  if(!cfg)
    return EXIT_USAGE;
  store = open_store(cfg, "render");
  rc = store ? store_sync_feeds(store, cfg) : -EIO;
  if(rc == 0)
    rc = publish_new(cfg, &pub);
  if(rc == 0)
    rc = publish_all(pub, store);
  if(rc != 0)
    fprintf(stderr, "freshet render: publishing failed\n");
  publish_free(pub);
  store_close(store);
  config_free(cfg);
  return rc == 0 ? 0 : EXIT_FAILURE;
}

static int cmd_recent(int argc, char **argv)
{
  struct store_item *items = NULL;
  struct config *cfg;
  struct store *store;
  size_t n = 0;
  long limit = -1;
  int64_t now = (int64_t)time(NULL);
  int c;

  while((c = getopt(argc, argv, "n:")) != -1) {
    char *end;

    if(c != 'n')
      return EXIT_USAGE;
    limit = strtol(optarg, &end, 10);
    if(*end || limit < 1 || limit > 1000) {
      fprintf(stderr, "freshet recent: -n wants a number from 1 to 1000\n");
      return EXIT_USAGE;
    }
  }
  if(optind != argc)
    return EXIT_USAGE;
  cfg = load_config("recent");
  if(!cfg)
    return EXIT_USAGE;
  store = open_store(cfg, "recent");
  if(!store || store_items(store, (size_t)(limit > 0 ? limit : cfg->recent),
                           NULL, &items, &n) != 0) {
    store_close(store);
    config_free(cfg);
    return EXIT_FAILURE;
  }
  for(size_t i = 0; i < n; i++) {
    char ago[32];

    ago_format(items[i].date, now, ago, sizeof(ago));
    printf("%s\n    %s · %s\n", items[i].title ? items[i].title : "(untitled)",
           items[i].feed_title ? items[i].feed_title : items[i].feed_name, ago);
  }
  if(n == 0)
    printf("no posts yet\n");
  store_items_free(items, n);
  store_close(store);
  config_free(cfg);
  return 0;
}

static int cmd_check(int argc, char **argv)
{
  struct config *cfg;

  (void)argv;
  if(argc != 1) {
    fprintf(stderr, "freshet check: takes no arguments\n");
    return EXIT_USAGE;
  }
  cfg = load_config("check");
  if(!cfg)
    return EXIT_USAGE;
  printf("configuration OK (%zu feeds)\n", cfg->nfeeds);
  config_free(cfg);
  return 0;
}

static int cmd_poll(int argc, char **argv)
{
  bool all = argc == 2 && strcmp(argv[1], "--all") == 0;

  if(argc > 2 || (argc == 2 && !all)) {
    fprintf(stderr, "freshet poll: the only option is --all\n");
    return EXIT_USAGE;
  }
  return daemon_main(config_file, all ? DAEMON_POLL_ALL : DAEMON_POLL_DUE);
}

static int cmd_run(int argc, char **argv)
{
  (void)argv;
  if(argc != 1) {
    fprintf(stderr, "freshet run: takes no arguments\n");
    return EXIT_USAGE;
  }
  return daemon_main(config_file, DAEMON_RUN);
}

static const struct command {
  const char *name;
  int (*fn)(int argc, char **argv);
} commands[] = {
    {"run", cmd_run},       {"poll", cmd_poll},     {"parse", cmd_parse},
    {"add", cmd_add},       {"remove", cmd_remove}, {"list", cmd_list},
    {"import", cmd_import}, {"export", cmd_export}, {"render", cmd_render},
    {"recent", cmd_recent}, {"check", cmd_check},
};

int main(int argc, char **argv)
{
  const struct command *cmd = NULL;
  int rc;
  int c;

  /* '+': stop at the command; its own options come after it. */
  while((c = getopt(argc, argv, "+c:hV")) != -1) {
    switch(c) {
    case 'c':
      config_file = optarg;
      break;
    case 'h':
      usage(stdout);
      return 0;
    case 'V':
      printf("freshet %s\n", FRESHET_VERSION);
      return 0;
    default:
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if(optind >= argc) {
    usage(stderr);
    return EXIT_USAGE;
  }
  if(strcmp(argv[optind], "help") == 0 || strcmp(argv[optind], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  if(strcmp(argv[optind], "--version") == 0) {
    printf("freshet %s\n", FRESHET_VERSION);
    return 0;
  }
  for(size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
    if(strcmp(argv[optind], commands[i].name) == 0)
      cmd = &commands[i];
  if(!cmd) {
    fprintf(stderr, "freshet: unknown command '%s'\n", argv[optind]);
    usage(stderr);
    return EXIT_USAGE;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  parse_init();
  argc -= optind;
  argv += optind;
  /* 0, not 1: GNU getopt then starts afresh, permuting again (the global
   * scan used '+'), so command options may follow their operands. */
  optind = 0;
  rc = cmd->fn(argc, argv);
  curl_global_cleanup();
  return rc;
}
