/*
 * download.h: one blocking HTTP(S) GET with size and time limits, for
 * command-line use (freshet parse URL, freshet add). The daemon fetches
 * through fetch.c on the event loop instead.
 */
#ifndef FRESHET_DOWNLOAD_H
#define FRESHET_DOWNLOAD_H

#include <stddef.h>

struct download {
  char *body; /* NUL-terminated; may contain NULs */
  size_t len;
  long status;        /* HTTP status */
  char *url;          /* final URL after redirects */
  char *content_type; /* NULL when the server sent none */
};

/* GETs url (http or https only, up to 5 redirects, max_size body cap,
 * timeout_s total). Returns 0 and fills *out (free with download_free) for
 * any HTTP status, or a negative code with a one-line reason in err. */
int download_get(const char *url, size_t max_size, long timeout_s,
                 struct download *out, char *err, size_t errlen);

/* Frees what download_get stored in d; NULL is fine. */
void download_free(struct download *d);

#endif
