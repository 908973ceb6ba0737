/*
 * main.c: the freshet command line: subcommands, options and exit codes
 * (0 ok, 1 runtime failure, 2 usage or configuration error).
 */
#include "download.h"
#include "feed.h"
#include "feed_json.h"
#include "parse.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 2

static void usage(FILE *out)
{
  fputs("usage: freshet COMMAND [OPTIONS]\n"
        "\n"
        "commands:\n"
        "  parse [--url URL] [--content-type TYPE] FILE|-|URL\n"
        "        print what freshet reads from one feed, as JSON\n"
        "\n"
        "options:\n"
        "  -h, --help     this text\n"
        "  -V, --version  print the version\n",
        out);
}

/* Reads all of f, up to limit bytes (one more tells it is over). Returns
 * 0 and a malloc'd buffer, -EFBIG, or -errno. */
static int read_all(FILE *f, size_t limit, char **out, size_t *out_len)
{
  size_t cap = 1 << 16;
  size_t len = 0;
  char *data = malloc(cap);

  if (!data)
    return -ENOMEM;
  for (;;) {
    size_t n;

    if (len == cap) {
      char *bigger;

      if (cap > limit) {
        free(data);
        return -EFBIG;
      }
      cap *= 2;
      bigger = realloc(data, cap);
      if (!bigger) {
        free(data);
        return -ENOMEM;
      }
      data = bigger;
    }
    n = fread(data + len, 1, cap - len, f);
    len += n;
    if (n == 0)
      break;
  }
  if (ferror(f)) {
    int e = errno ? -errno : -EIO;

    free(data);
    return e;
  }
  if (len > limit) {
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
  optind = 1;
  while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (c) {
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
      usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (argc - optind != 1) {
    fprintf(stderr, "freshet parse: expected one FILE, - or URL\n");
    usage(stderr);
    return EXIT_USAGE;
  }
  source = argv[optind];
  if (is_http_url(source)) {
    rc = download_get(source, PARSE_MAX_INPUT, 60, &dl, err, sizeof(err));
    if (rc != 0) {
      fprintf(stderr, "freshet parse: %s\n", err);
      return EXIT_FAILURE;
    }
    if (dl.status < 200 || dl.status > 299) {
      fprintf(stderr, "freshet parse: %s: HTTP status %ld\n", source,
              dl.status);
      download_free(&dl);
      return EXIT_FAILURE;
    }
    data = dl.body;
    len = dl.len;
    if (!url)
      url = dl.url;
    if (!type)
      type = dl.content_type;
  } else {
    FILE *f = strcmp(source, "-") == 0 ? stdin : fopen(source, "rb");

    if (!f) {
      fprintf(stderr, "freshet parse: %s: %s\n", source, strerror(errno));
      return EXIT_FAILURE;
    }
    rc = read_all(f, PARSE_MAX_INPUT, &data, &len);
    if (f != stdin)
      fclose(f);
    if (rc != 0) {
      fprintf(stderr, "freshet parse: %s: %s\n", source,
              rc == -EFBIG ? "larger than the parser's 64 MiB limit"
                           : strerror(-rc));
      return EXIT_FAILURE;
    }
  }
  rc = parse_feed(data, len, url, type, &feed, err, sizeof(err));
  if (rc != 0) {
    fprintf(stderr, "freshet parse: %s: %s\n", source, err);
    if (dl.body)
      download_free(&dl);
    else
      free(data);
    return EXIT_FAILURE;
  }
  if (dl.body)
    download_free(&dl);
  else
    free(data);
  json = feed_json_dump(feed);
  feed_free(feed);
  if (!json) {
    fprintf(stderr, "freshet parse: out of memory\n");
    return EXIT_FAILURE;
  }
  fputs(json, stdout);
  free(json);
  return fflush(stdout) == 0 ? 0 : EXIT_FAILURE;
}

int main(int argc, char **argv)
{
  const char *cmd;
  int rc;

  if (argc < 2) {
    usage(stderr);
    return EXIT_USAGE;
  }
  cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 ||
      strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
    printf("freshet %s\n", FRESHET_VERSION);
    return 0;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  parse_init();
  if (strcmp(cmd, "parse") == 0) {
    rc = cmd_parse(argc - 1, argv + 1);
  } else {
    fprintf(stderr, "freshet: unknown command '%s'\n", cmd);
    usage(stderr);
    rc = EXIT_USAGE;
  }
  curl_global_cleanup();
  return rc;
}
