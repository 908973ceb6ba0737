/*
 * render_xml.c: xmlTextWriter on an xmlBuffer. The writer escapes markup
 * characters in text and attributes; the caller hands it clean UTF-8
 * (render_text.h), which is all it needs to produce a well-formed
 * document.
 */
#include "render_xml.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static void check(struct render_xml *x, int rc)
{
  if(rc < 0 && x->err == 0)
    x->err = -EIO;
}

static bool ready(const struct render_xml *x)
{
  return x->err == 0 && x->w != NULL;
}

int render_xml_begin(struct render_xml *x)
{
  memset(x, 0, sizeof(*x));
  x->buf = xmlBufferCreate();
  if(x->buf)
    x->w = xmlNewTextWriterMemory(x->buf, 0);
  if(x->w == NULL) {
    if(x->buf)
      xmlBufferFree(x->buf);
    memset(x, 0, sizeof(*x));
    x->err = -ENOMEM;
    return x->err;
  }
  check(x, xmlTextWriterSetIndent(x->w, 1));
  check(x, xmlTextWriterSetIndentString(x->w, BAD_CAST "  "));
  check(x, xmlTextWriterStartDocument(x->w, "1.0", "UTF-8", NULL));
  return x->err;
}

void render_xml_open(struct render_xml *x, const char *name)
{
  if(ready(x))
    check(x, xmlTextWriterStartElement(x->w, BAD_CAST name));
}

void render_xml_attr(struct render_xml *x, const char *name, const char *value)
{
  if(ready(x) && value)
    check(x, xmlTextWriterWriteAttribute(x->w, BAD_CAST name, BAD_CAST value));
}

void render_xml_text(struct render_xml *x, const char *text)
{
  if(ready(x) && text && *text)
    check(x, xmlTextWriterWriteString(x->w, BAD_CAST text));
}

void render_xml_close(struct render_xml *x)
{
  if(ready(x))
    check(x, xmlTextWriterEndElement(x->w));
}

void render_xml_element(struct render_xml *x, const char *name,
                        const char *text)
{
  if(text == NULL)
    return;
  render_xml_open(x, name);
  render_xml_text(x, text);
  /* Full end tag: <title></title> rather than <title/>, for readers
   * that look for text between tags. */
  if(ready(x))
    check(x, xmlTextWriterFullEndElement(x->w));
}

int render_xml_end(struct render_xml *x, char **out, size_t *len)
{
  int rc;

  *out = NULL;
  *len = 0;
  if(ready(x))
    check(x, xmlTextWriterEndDocument(x->w));
  if(x->w) {
    xmlFreeTextWriter(x->w); /* flushes into buf */
    x->w = NULL;
  }
  if(x->err == 0) {
    size_t n = (size_t)xmlBufferLength(x->buf);

    *out = malloc(n + 1);
    if(*out == NULL) {
      x->err = -ENOMEM;
    } else {
      memcpy(*out, xmlBufferContent(x->buf), n);
      (*out)[n] = '\0';
      *len = n;
    }
  }
  if(x->buf)
    xmlBufferFree(x->buf);
  rc = x->err;
  memset(x, 0, sizeof(*x));
  return rc;
}
