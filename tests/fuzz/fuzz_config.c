/*
 * fuzz_config.c: libFuzzer target for config_load (the INI reader on top
 * of inih, feeds.d, OPML in feeds.d) and the edits add/remove make.
 *
 * The input is cut at NUL bytes into freshet.conf, feeds.d/a.conf and
 * feeds.d/b.opml (missing parts: an empty freshet.conf, no feeds.d file),
 * written into a scratch directory (on /dev/shm when there is one: the
 * edits fsync; the process keeps its working directory, where libFuzzer
 * reads and writes its corpus). Then:
 * - config_load returns 0, or -EINVAL with at least one error, each one
 *   a "file:line: ..." or "file: ..." message;
 * - a loaded config holds what the docs promise (valid distinct names,
 *   http(s) URLs, min_interval <= interval <= max_interval);
 * - adding a new feed succeeds and the reloaded config has it;
 * - removing it, and removing the first feed of the files, leaves a
 *   config that still loads.
 * abort() marks anything else.
 */
#include <errno.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"

#define FUZZ_MAX_INPUT (64 * 1024)

static const char *const files[] = {"freshet.conf", "feeds.d/a.conf",
                                    "feeds.d/b.opml"};
static char dir[64];
static char conf[128];

static void put(const char *name, const uint8_t *data, size_t len)
{
  char path[128];
  FILE *f;

  snprintf(path, sizeof(path), "%s/%s", dir, name);
  f = fopen(path, "wb");
  if(!f)
    abort();
  if(len && fwrite(data, 1, len, f) != len)
    abort();
  if(fclose(f) != 0)
    abort();
}

static void clean(void)
{
  static const char *const names[] = {"feeds.d/a.conf", "feeds.d/b.opml",
                                      "feeds.d/fuzz-added.conf"};
  char path[128];

  for(size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
    unlink(path);
  }
  put("freshet.conf", NULL, 0);
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
  (void)st;
  (void)flag;
  (void)ftw;
  return remove(path);
}

static void remove_dir(void)
{
  nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

static void init(void)
{
  char feeds[128];

  if(dir[0])
    return;
  snprintf(dir, sizeof(dir), "%s/freshet-fuzz-config-XXXXXX",
           access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
  if(!mkdtemp(dir))
    abort();
  snprintf(feeds, sizeof(feeds), "%s/feeds.d", dir);
  snprintf(conf, sizeof(conf), "%s/freshet.conf", dir);
  if(mkdir(feeds, 0755) != 0)
    abort();
  atexit(remove_dir);
}

static bool http_url(const char *u)
{
  return strncasecmp(u, "http://", 7) == 0 ||
         strncasecmp(u, "https://", 8) == 0;
}

static void check(const struct config *cfg)
{
  if(cfg->min_interval > cfg->interval || cfg->interval > cfg->max_interval)
    abort();
  for(size_t i = 0; i < cfg->nfeeds; i++) {
    const struct config_feed *f = &cfg->feeds[i];

    if(!config_valid_name(f->name) || !http_url(f->url) || f->line < 1 ||
       config_find_feed(cfg, f->name) != f || f->interval < 0)
      abort();
  }
}

static int load(struct config **cfg)
{
  struct config_diag diag;
  int rc = config_load(conf, cfg, &diag);

  if(rc == -EINVAL) {
    if(*cfg || diag.nerrors == 0)
      abort();
    for(size_t i = 0; i < diag.nerrors; i++)
      if(!diag.errors[i] || !strchr(diag.errors[i], ':'))
        abort();
  } else if(rc != 0 || !*cfg) {
    abort();
  } else {
    check(*cfg);
  }
  config_diag_free(&diag);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct config *cfg = NULL;
  struct config_feed add = {.name = "fuzz-added",
                            .url = "https://fuzz.invalid/added",
                            .title = "Added ; by the fuzzer",
                            .interval = 3600,
                            .enabled = false};
  char err[256];
  size_t part = 0, start = 0;
  char *victim = NULL;

  if(size > FUZZ_MAX_INPUT)
    return 0;
  init();
  clean();
  for(size_t i = 0; i <= size && part < 3; i++)
    if(i == size || data[i] == '\0') {
      put(files[part++], data + start, i - start);
      start = i + 1;
    }

  if(load(&cfg) != 0)
    goto out;
  if(!config_find_feed(cfg, "fuzz-added")) {
    int rc = config_add_feed(cfg, &add, err, sizeof(err));

    /* refused only when the fuzzer subscribed to that URL itself, or
     * wrote a section of that name that was ignored for its URL */
    if(rc != 0 && !(rc == -EEXIST && (strstr(err, "already subscribed") ||
                                      strstr(err, "ignored for its"))))
      abort();
    config_free(cfg);
    cfg = NULL;
    if(load(&cfg) != 0)
      abort();
    if(rc == 0) {
      const struct config_feed *f = config_find_feed(cfg, "fuzz-added");

      if(!f || strcmp(f->url, add.url) != 0 || f->enabled ||
         f->interval != 3600 || !f->title ||
         strcmp(f->title, "Added; by the fuzzer") != 0)
        abort();
      if(config_remove_feed(cfg, "fuzz-added", err, sizeof(err)) != 0)
        abort();
      config_free(cfg);
      cfg = NULL;
      if(load(&cfg) != 0)
        abort();
    }
  }
  for(size_t i = 0; i < cfg->nfeeds && !victim; i++)
    if(strstr(cfg->feeds[i].file, ".conf"))
      victim = strdup(cfg->feeds[i].name);
  if(victim) {
    if(config_remove_feed(cfg, victim, err, sizeof(err)) != 0)
      abort();
    config_free(cfg);
    cfg = NULL;
    if(load(&cfg) != 0)
      abort();
  }
out:
  free(victim);
  config_free(cfg);
  return 0;
}
