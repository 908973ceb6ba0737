/*
 * render_xml.h: the xmlTextWriter glue the Atom and RSS renderers share:
 * a document written to memory, with a sticky error so that a renderer
 * reads as a straight list of elements and checks once at the end.
 */
#ifndef FRESHET_RENDER_XML_H
#define FRESHET_RENDER_XML_H

#include <libxml/xmlwriter.h>
#include <stddef.h>

struct render_xml {
  xmlBufferPtr buf;
  xmlTextWriterPtr w;
  int err; /* 0, or the first failure: -ENOMEM / -EIO */
};

/* Starts an indented UTF-8 document in memory. Returns 0 or -ENOMEM (x is
 * then cleared and every later call does nothing). */
int render_xml_begin(struct render_xml *x);

/* Opens an element; name may carry a prefix ("atom:link"). */
void render_xml_open(struct render_xml *x, const char *name);

/* Adds an attribute to the open element; nothing when value is NULL. */
void render_xml_attr(struct render_xml *x, const char *name, const char *value);

/* Writes escaped text into the open element. */
void render_xml_text(struct render_xml *x, const char *text);

/* Closes the innermost open element. */
void render_xml_close(struct render_xml *x);

/* <name>text</name>; nothing when text is NULL. */
void render_xml_element(struct render_xml *x, const char *name,
                        const char *text);

/* Ends the document. Returns 0 with *out (malloc'd, NUL-terminated) and
 * *len; or the first error, *out NULL. x is freed either way. */
int render_xml_end(struct render_xml *x, char **out, size_t *len);

#endif
