/*
 * download.c: a blocking libcurl easy transfer with a body cap enforced in
 * the write callback (CURLOPT_MAXFILESIZE does not bound decompressed
 * bytes).
 */
#include "download.h"

#include "buf.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t on_body(char *p, size_t size, size_t n, void *userdata)
{
  struct buf *b = userdata;

  if(buf_add(b, p, size * n) != 0)
    return 0; /* curl aborts with CURLE_WRITE_ERROR */
  return size * n;
}

int download_get(const char *url, size_t max_size, long timeout_s,
                 struct download *out, char *err, size_t errlen)
{
  CURL *curl = curl_easy_init();
  char curl_err[CURL_ERROR_SIZE] = "";
  struct buf body;
  CURLcode res;
  char *final_url = NULL;
  char *type = NULL;

  memset(out, 0, sizeof(*out));
  if(!curl) {
    snprintf(err, errlen, "%s: cannot start a transfer", url);
    return -ENOMEM;
  }
  buf_init(&body, max_size);
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout_s);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  curl_easy_setopt(curl, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)max_size);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, FRESHET_USER_AGENT);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  res = curl_easy_perform(curl);
  if(res != CURLE_OK) {
    if(res == CURLE_WRITE_ERROR || res == CURLE_FILESIZE_EXCEEDED)
      snprintf(err, errlen, "%s: response larger than %zu bytes", url,
               max_size);
    else
      snprintf(err, errlen, "%s: %s", url,
               curl_err[0] ? curl_err : curl_easy_strerror(res));
    buf_free(&body);
    curl_easy_cleanup(curl);
    return -EIO;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
  curl_easy_getinfo(curl, CURLINFO_EFFECTIVE_URL, &final_url);
  curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &type);
  out->url = strdup(final_url ? final_url : url);
  out->content_type = type ? strdup(type) : NULL;
  out->len = body.len;
  out->body = buf_steal(&body);
  curl_easy_cleanup(curl);
  if(!out->url || !out->body || (type && !out->content_type)) {
    download_free(out);
    snprintf(err, errlen, "%s: out of memory", url);
    return -ENOMEM;
  }
  return 0;
}

void download_free(struct download *d)
{
  if(!d)
    return;
  free(d->body);
  free(d->url);
  free(d->content_type);
  memset(d, 0, sizeof(*d));
}
