/*
 * render_json.c: jansson with one error check per document. Every string
 * given is clean UTF-8 (render_text.h), so json_string only fails when
 * memory runs out.
 */
#include "render_json.h"

#include "date.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void render_json_set(json_t *o, const char *key, json_t *value, int *err)
{
  if(*err == 0 && (value == NULL || json_object_set_new(o, key, value) < 0))
    *err = -ENOMEM;
  else if(*err)
    json_decref(value);
}

void render_json_str(json_t *o, const char *key, const char *s, int *err)
{
  if(*err == 0)
    render_json_set(o, key, s ? json_string(s) : json_null(), err);
}

void render_json_date(json_t *o, const char *key, int64_t t, int *err)
{
  char buf[DATE_RFC3339_SIZE];

  render_json_str(o, key, date_format_rfc3339(t, buf) == 0 ? buf : NULL, err);
}

void render_json_append(json_t *a, json_t *value, int *err)
{
  if(*err == 0 && (value == NULL || json_array_append_new(a, value) < 0))
    *err = -ENOMEM;
  else if(*err)
    json_decref(value);
}

int render_json_end(json_t *root, int err, char **out, size_t *len)
{
  char *text = NULL, *s;
  size_t n;

  *out = NULL;
  *len = 0;
  if(root == NULL && err == 0)
    err = -ENOMEM;
  if(err == 0)
    text = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  if(err)
    return err;
  if(text == NULL)
    return -ENOMEM;
  n = strlen(text);
  s = realloc(text, n + 2);
  if(s == NULL) {
    free(text);
    return -ENOMEM;
  }
  s[n] = '\n';
  s[n + 1] = '\0';
  *out = s;
  *len = n + 1;
  return 0;
}
