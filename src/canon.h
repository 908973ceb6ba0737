/*
 * canon.h: canonical form of an entry link, so the same article reached
 * through different feeds (tracking parameters, case, ports) is one item.
 */
#ifndef FRESHET_CANON_H
#define FRESHET_CANON_H

/* Returns a malloc'd canonical URL: scheme and host lower-cased, default
 * port, fragment and tracking parameters (utm_*, fbclid, gclid, dclid,
 * msclkid, mc_cid, mc_eid, igshid, yclid, _hsenc, _hsmi, ref_src...)
 * removed, the remaining query kept in order, an empty path made "/".
 * Returns NULL for NULL, relative or non-http(s) URLs (they are not
 * deduplicated across feeds), or on out of memory. */
char *canon_link(const char *url);

#endif
