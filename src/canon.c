/*
 * canon.c: canonical entry links for cross-feed dedup. Hand-parsed rather
 * than through xmlParseURI/xmlSaveUri, because libxml2 unescapes the path
 * and re-escapes it on output (%2F becomes /), and canonicalization must
 * keep percent-encoding exactly as the publisher wrote it.
 *
 * Tracking parameters removed (names compared ASCII case-insensitively):
 * every name starting with "utm_", and the click/campaign identifiers
 * below. Only names that never select content are listed: "ref" (GitHub
 * branches), "ref_url", "source", "si" or "s" are kept, because merging two
 * different articles is worse than showing one twice.
 */
#include "canon.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static const char *const tracking_params[] = {
    "fbclid",  "gclid",    "dclid",     "gbraid",        "wbraid",
    "msclkid", "twclid",   "ttclid",    "li_fat_id",     "yclid",
    "igshid",  "mc_cid",   "mc_eid",    "_hsenc",        "_hsmi",
    "__hstc",  "__hssc",   "__hsfp",    "hsctatracking", "mkt_tok",
    "_ga",     "_gl",      "_openstat", "oly_anon_id",   "oly_enc_id",
    "vero_id", "wickedid", "ref_src",   "srsltid",
};

static char ascii_lower(char c)
{
  return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_alpha(char c)
{
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
  return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
         c == '\v';
}

/* Compares n bytes of s with the NUL-terminated lower-case word. */
static bool name_is(const char *s, size_t n, const char *word)
{
  size_t i;

  for(i = 0; i < n; i++)
    if(word[i] == '\0' || ascii_lower(s[i]) != word[i])
      return false;
  return word[i] == '\0';
}

static bool is_tracking(const char *name, size_t n)
{
  if(n >= 4 && name_is(name, 4, "utm_"))
    return true;
  for(size_t i = 0; i < sizeof(tracking_params) / sizeof(tracking_params[0]);
      i++)
    if(name_is(name, n, tracking_params[i]))
      return true;
  return false;
}

/* Appends n bytes at *o. */
static void put(char **o, const char *s, size_t n)
{
  memcpy(*o, s, n);
  *o += n;
}

char *canon_link(const char *url)
{
  const char *p, *end, *auth, *auth_end, *host, *host_end, *port, *path;
  const char *q, *q_end;
  size_t scheme_len;
  bool https;
  unsigned long portnum = 0;
  char *out, *o;

  if(!url)
    return NULL;
  while(is_space(*url))
    url++;
  end = url + strlen(url);
  while(end > url && is_space(end[-1]))
    end--;

  /* Scheme: only http and https links are compared across feeds. */
  p = url;
  if(p == end || !is_alpha(*p))
    return NULL;
  while(p < end && *p != ':' && *p != '/' && *p != '?' && *p != '#')
    p++;
  if(p == end || *p != ':')
    return NULL;
  scheme_len = (size_t)(p - url);
  if(name_is(url, scheme_len, "http"))
    https = false;
  else if(name_is(url, scheme_len, "https"))
    https = true;
  else
    return NULL;
  p++;
  if(end - p < 2 || p[0] != '/' || p[1] != '/')
    return NULL;
  p += 2;

  /* Authority: [userinfo@]host[:port]. */
  auth = p;
  while(p < end && *p != '/' && *p != '?' && *p != '#')
    p++;
  auth_end = p;
  host = auth;
  for(const char *a = auth; a < auth_end; a++)
    if(*a == '@')
      host = a + 1;
  host_end = auth_end;
  port = NULL;
  for(const char *a = auth_end; a > host; a--) {
    if(a[-1] == ']')
      break; /* IPv6 literal without a port */
    if(a[-1] == ':') {
      host_end = a - 1;
      port = a;
      break;
    }
  }
  if(host_end == host)
    return NULL;
  if(port) {
    bool digits = port < auth_end;

    for(const char *a = port; a < auth_end; a++)
      if(!is_digit(*a))
        digits = false;
    if(digits) {
      for(const char *a = port; a < auth_end && portnum <= 65535; a++)
        portnum = portnum * 10 + (unsigned long)(*a - '0');
      if(portnum > 65535)
        return NULL;
      if(portnum == (https ? 443u : 80u))
        portnum = 0;
    } else if(port < auth_end) {
      return NULL; /* "host:abc" is not a URL */
    }
  }

  path = auth_end;
  q = path;
  while(q < end && *q != '?' && *q != '#')
    q++;
  q_end = q;
  if(q < end && *q == '?') {
    q_end = q + 1;
    while(q_end < end && *q_end != '#')
      q_end++;
  }

  /* The result is never longer than the input plus "/" and the scheme. */
  out = malloc((size_t)(end - url) + 8);
  if(!out)
    return NULL;
  o = out;
  put(&o, https ? "https://" : "http://", https ? 8 : 7);
  put(&o, auth, (size_t)(host - auth)); /* userinfo as is */
  for(const char *a = host; a < host_end; a++)
    *o++ = ascii_lower(*a);
  if(portnum) {
    *o++ = ':';
    /* Digits without leading zeros. */
    char digits[8];
    int nd = 0;

    while(portnum) {
      digits[nd++] = (char)('0' + portnum % 10);
      portnum /= 10;
    }
    while(nd)
      *o++ = digits[--nd];
  }
  if(q == path)
    *o++ = '/';
  else
    put(&o, path, (size_t)(q - path));

  if(q < q_end) {
    /* Keep the remaining parameters in order; drop empty ones. */
    char *query_start = o;
    const char *s = q + 1;

    *o++ = '?';
    while(s < q_end) {
      const char *e = s, *eq;

      while(e < q_end && *e != '&')
        e++;
      eq = s;
      while(eq < e && *eq != '=')
        eq++;
      if(e > s && !is_tracking(s, (size_t)(eq - s))) {
        if(o > query_start + 1)
          *o++ = '&';
        put(&o, s, (size_t)(e - s));
      }
      s = e + 1;
    }
    if(o == query_start + 1)
      o = query_start;
  }
  *o = '\0';
  return out;
}
