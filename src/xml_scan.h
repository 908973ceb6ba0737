/*
 * xml_scan.h: a streaming, non-validating XML tokenizer: bytes -> start
 * element, end element and text events, with namespace prefixes resolved.
 * Recovers from broken markup the way a feed reader must (see xml_scan.c)
 * and reports every problem through the error callback.
 */
#ifndef FRESHET_XML_SCAN_H
#define FRESHET_XML_SCAN_H

#include <stdbool.h>
#include <stddef.h>

/* Hard limits that keep hostile input linear. */
#define XML_SCAN_MAX_DEPTH 256  /* open elements */
#define XML_SCAN_MAX_ATTRS 256  /* attributes kept per start tag */
#define XML_SCAN_MAX_NS 256     /* namespace declarations in scope */
#define XML_SCAN_MAX_ERRORS 100 /* errors reported per document */

/* A namespace binding in scope. Lives until its element ends. */
struct xml_ns {
  const char *prefix; /* NUL-terminated; NULL for the default namespace */
  const char *uri;    /* NUL-terminated, never empty */
  int user;           /* free for the handler's use; starts as -1 */
};

struct xml_attr {
  const char *prefix; /* NULL when unprefixed */
  const char *local;
  struct xml_ns *ns; /* NULL: no namespace, or the prefix is undeclared */
  const char *value; /* NUL-terminated, references decoded, normalized */
  size_t value_len;
};

/* An element as its start or end event sees it. Every pointer is valid
 * only during the callback. Namespace declarations (xmlns, xmlns:p) are
 * not among attrs. End events carry no attributes. */
struct xml_element {
  const char *prefix; /* NULL when unprefixed */
  const char *local;
  struct xml_ns *ns; /* NULL: no namespace, or the prefix is undeclared */
  const struct xml_attr *attrs;
  size_t nattrs;
};

/* Callbacks return 0 to go on, anything else to stop the scan at once.
 * text gets character data (text and CDATA; possibly in several pieces)
 * that may point into the document itself. Any callback may be NULL. */
struct xml_scan_handler {
  int (*start)(void *ctx, const struct xml_element *el);
  int (*end)(void *ctx, const struct xml_element *el);
  int (*text)(void *ctx, const char *s, size_t len);
  void (*error)(void *ctx, int line, const char *msg);
  /* When set, text is decoded and delivered only while *text_wanted is
   * true; problems inside skipped text are not reported. */
  const bool *text_wanted;
};

/* Scans the UTF-8 document doc of len bytes (need not be NUL-terminated).
 * Elements still open at the end get no end event. Returns 0 (also when a
 * callback stopped the scan), or -ENOMEM. */
int xml_scan(const char *doc, size_t len, const struct xml_scan_handler *h,
             void *ctx);

#endif
