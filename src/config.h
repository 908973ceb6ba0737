/*
 * config.h: freshet.conf and feeds.d/ (INI files and OPML) -> struct
 * config; and the small edits `freshet add/remove/import` make to feeds.d.
 * Keys, defaults and units are listed in DESIGN.md ("Config files").
 */
#ifndef FRESHET_CONFIG_H
#define FRESHET_CONFIG_H

#include "log.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One subscription. */
struct config_feed {
  char *name; /* section name, or derived from the OPML outline */
  char *url;
  char *title;      /* NULL: use the feed's own */
  int64_t interval; /* seconds; 0: the global interval */
  bool enabled;
  char **tags;
  size_t ntags;
  char *file; /* where it is defined */
  int line;
};

struct config {
  char *path;      /* the config file, NULL when running on defaults */
  char *dir;       /* its directory (or "."): relative paths start here */
  char *feeds_dir; /* dir/feeds.d */

  char *database; /* absolute or relative to dir, as written */
  char *output_dir;
  char *listen; /* "" = no server */
  char *title;
  char *link;
  char *id;
  char *author;
  char *user_agent;
  int64_t interval; /* all durations in seconds */
  int64_t min_interval;
  int64_t max_interval;
  int64_t connect_timeout;
  int64_t timeout;
  int64_t max_size; /* bytes */
  long concurrency;
  long per_host;
  long items;
  long recent;
  long excerpt;
  long retention_days;
  long retention_per_feed;
  enum log_level log_level;

  struct config_feed *feeds;
  size_t nfeeds;
  /* Names of sections ignored for a URL another feed has: still taken. */
  char **ignored_names;
  size_t nignored;
};

/* Problems found while loading, each "file:line: what is wrong". */
struct config_diag {
  char **errors;
  size_t nerrors;
  char **warnings;
  size_t nwarnings;
};

/* Loads path (NULL: ./freshet.conf when it exists, else built-in defaults
 * with ./feeds.d) and every feeds.d/ *.conf and *.opml beside it. Returns
 * 0 and *out (free with config_free); -EINVAL when diag has errors (*out
 * NULL); -ENOMEM. Warnings (e.g. the same URL subscribed twice: kept once)
 * never fail the load. */
int config_load(const char *path, struct config **out,
                struct config_diag *diag);

void config_free(struct config *cfg);

/* Frees the messages in diag (not diag itself); NULL is fine. */
void config_diag_free(struct config_diag *diag);

/* Parses a duration: "90s", "15m", "2h", "1d" or plain seconds. Returns 0
 * or -EINVAL. */
int config_parse_duration(const char *s, int64_t *out);

/* Parses a size: "512", "64K", "16M", "1G". Returns 0 or -EINVAL. */
int config_parse_size(const char *s, int64_t *out);

/* Returns a malloc'd path: p itself when absolute, else cfg->dir/p. */
char *config_path(const struct config *cfg, const char *p);

/* Returns the subscription named name, or NULL. */
const struct config_feed *config_find_feed(const struct config *cfg,
                                           const char *name);

/* Returns true when name is a valid feed name: [A-Za-z0-9._-], 1-64
 * characters, not starting with '.'. */
bool config_valid_name(const char *name);

/* Writes feeds.d/NAME.conf for f (creating feeds.d), atomically (temp file
 * + rename); refuses with -EEXIST when the name or the URL is already
 * subscribed. Returns 0 or a negative code, with a reason in err. */
int config_add_feed(const struct config *cfg, const struct config_feed *f,
                    char *err, size_t errlen);

/* Removes the subscription name: deletes feeds.d/NAME.conf when it holds
 * only that feed, else rewrites the file without its section. Feeds from
 * OPML files are refused (-EPERM, edit the OPML). Returns 0, -ENOENT or a
 * negative code, with a reason in err. */
int config_remove_feed(const struct config *cfg, const char *name, char *err,
                       size_t errlen);

#endif
