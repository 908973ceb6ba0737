/*
 * fetch.h: HTTP(S) GETs on the libuv loop through the curl multi socket
 * interface: many at once, limited globally and per host, conditional,
 * capped in size and time. One request in, one result out.
 */
#ifndef FRESHET_FETCH_H
#define FRESHET_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

struct buf;

struct fetcher;

struct fetch_options {
  long concurrency;     /* transfers at once */
  long per_host;        /* connections per host */
  long connect_timeout; /* seconds */
  long timeout;         /* seconds, whole transfer */
  size_t max_size;      /* body cap, decompressed */
  const char *user_agent;
};

struct fetch_request {
  const char *url;
  const char *etag;          /* sent as If-None-Match when not NULL */
  const char *last_modified; /* sent as If-Modified-Since when not NULL */
};

/* Everything the daemon needs from one response. Owned by the fetcher;
 * valid only during the callback. */
struct fetch_result {
  long status; /* final HTTP status; 0 when no response */
  int error;   /* 0, or a negative code: -ETIMEDOUT, -EFBIG, -EIO... */
  const char *error_text; /* one line, NULL on success */
  const char *body;       /* NUL-terminated; may hold NULs */
  size_t len;
  const char *content_type;
  const char *etag; /* validators of the final response */
  const char *last_modified;
  const char *final_url; /* after all redirects */
  /* Set when every redirect hop up to it was permanent (301/308): the URL
   * the feed has moved to. NULL otherwise (302/307 never set it). */
  const char *permanent_url;
  int64_t retry_after; /* seconds from now; 0 none (429/503) */
  int64_t max_age;     /* Cache-Control max-age, seconds; 0 none */
  int64_t bytes;       /* received on the wire */
  double seconds;      /* duration of the transfer */
  /* Where body lives, for fetch_result_keep: the fetcher's buffer during
   * the callback; in a kept result, its own allocation (or NULL). */
  struct buf *body_buf;
  char *kept_body;
};

typedef void (*fetch_cb)(struct fetch_result *result, void *data);

/* Keeps r beyond the callback: its strings copied into one allocation,
 * its body taken over from the fetcher rather than copied (r's body is
 * then empty). Release with fetch_result_free. NULL on out of memory. */
struct fetch_result *fetch_result_keep(struct fetch_result *r);

/* Frees a kept result's body (once it is parsed); body becomes "". */
void fetch_result_drop_body(struct fetch_result *r);

void fetch_result_free(struct fetch_result *r);

/* Creates a fetcher on loop. Returns 0 and *out, or a negative code. */
int fetcher_new(uv_loop_t *loop, const struct fetch_options *opts,
                struct fetcher **out);

/* Starts a GET. cb runs exactly once, on the loop thread, later (never
 * from inside fetch_start). Returns 0, or a negative code without ever
 * calling cb. */
int fetch_start(struct fetcher *f, const struct fetch_request *req, fetch_cb cb,
                void *data);

/* Transfers started and not finished yet. */
size_t fetcher_active(const struct fetcher *f);

/* Aborts every transfer (their callbacks run with error -ECANCELED),
 * releases curl, closes the libuv handles; closed_cb runs when all are
 * closed, after which f is freed. */
void fetcher_close(struct fetcher *f, void (*closed_cb)(void *data),
                   void *data);

#endif
