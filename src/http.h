/*
 * http.h: the built-in HTTP server (libmicrohttpd, on its own thread). It
 * serves in-memory snapshots of the published documents, swapped whole
 * after each publish, plus the widget files, /healthz and /metrics.
 */
#ifndef FRESHET_HTTP_H
#define FRESHET_HTTP_H

#include <stddef.h>
#include <stdint.h>

struct http;

/* Counters the daemon keeps and /metrics shows. */
struct http_stats {
  int64_t feeds_total;
  int64_t feeds_ok;
  int64_t feeds_failing;
  int64_t feeds_disabled;
  int64_t fetches_2xx;
  int64_t fetches_304;
  int64_t fetches_4xx;
  int64_t fetches_5xx;
  int64_t fetches_error;
  int64_t bytes;
  int64_t entries_stored;
  double publish_seconds;
  int64_t last_cycle;    /* UTC seconds of the last completed cycle, 0 never */
  int64_t interval;      /* configured poll interval, seconds */
};

/* Starts serving on listen ("127.0.0.1:8080", "[::1]:8080", ":8080").
 * widget_dir holds widget.js, widget.css and demo.html (read once now).
 * Returns 0 and *out, or a negative code with the reason in err. */
int http_start(const char *listen, const char *widget_dir, struct http **out,
               char *err, size_t errlen);

/* Replaces the document served at "/" + name (copied; ETag, Last-Modified
 * and a gzip copy are made here, off the request path). Thread-safe.
 * Returns 0 or -ENOMEM (the old document stays). */
int http_update(struct http *h, const char *name, const char *content_type,
                const char *body, size_t len);

/* Replaces the numbers behind /healthz and /metrics. Thread-safe. */
void http_set_stats(struct http *h, const struct http_stats *stats);

/* Stops the server and frees it; NULL is fine. */
void http_stop(struct http *h);

#endif
