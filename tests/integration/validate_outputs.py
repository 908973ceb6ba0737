#!/usr/bin/python3
"""validate_outputs.py: the published documents checked by outside tools.

    validate_outputs.py OUTPUT_DIR
    validate_outputs.py --sample PUBLISH_SAMPLE

The first form checks a directory `freshet render` (or the daemon) wrote.
The second runs PUBLISH_SAMPLE (tests/unit/publish_sample.c: a sample
store with a hostile entry, published) into a temporary directory first,
checks that, and also what the sample is known to hold.

- feed.atom: valid against RFC 4287's RELAX NG schema (tests/schema/atom.rng)
  with `xmllint --relaxng` (libxml2-utils) and `jing` (jing), whichever are
  installed, plus the schema's two Schematron rules; parsed back by
  feedparser: no bozo flag, version atom10.
- feed.rss: well-formed; parsed back by feedparser: no bozo, rss20; the
  elements RSS 2.0 requires.
- feed.json: JSON Feed 1.1 checked field by field (feedparser 6.0 reads no
  JSON Feed).
- The three have the same entries (ids, titles, order).
- feeds.opml: well-formed OPML 2.0, every feed outline has an xmlUrl.
- recent.json: DESIGN.md's shape exactly; age_seconds and ago agree with
  generated and published.
- Every document: UTF-8 without the characters XML forbids.

Python 3 standard library and python3-feedparser. Exits 0 when every check
passed, 1 otherwise, 77 (skipped) when feedparser is missing.
"""

import calendar
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET

try:
    import feedparser
except ImportError:
    print("SKIP: python3-feedparser is not installed")
    sys.exit(77)

HERE = os.path.dirname(os.path.abspath(__file__))
SCHEMA = os.path.join(os.path.dirname(HERE), "schema", "atom.rng")
ATOM = "{http://www.w3.org/2005/Atom}"
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# XML 1.0 Char minus what freshet also drops (DEL, C1 controls).
BAD_CHARS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
RECENT_KEYS = {"title", "url", "excerpt", "image", "source", "author",
               "published", "age_seconds", "ago"}

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    return cond


def read_text(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        check(False, f"{path}: not UTF-8: {e}")
        return data.decode("utf-8", "replace")
    m = BAD_CHARS.search(text)
    if m:
        check(False, f"{path}: forbidden character {m.group()!r}")
    return text


def parse_date(s):
    return calendar.timegm(time.strptime(s, "%Y-%m-%dT%H:%M:%SZ"))


def ago(then, now):
    """DESIGN.md's "N mins ago", as ago.c spells it."""
    age = now - then
    if age < 60:
        return "just now"
    for below, size, cap, one in ((3600, 60, None, "min"),
                                  (86400, 3600, None, "hour"),
                                  (604800, 86400, None, "day"),
                                  (2592000, 604800, None, "week"),
                                  (31536000, 2592000, 11, "month"),
                                  (None, 31536000, None, "year")):
        if below is None or age < below:
            n = age // size
            if cap is not None:
                n = min(n, cap)
            unit = one if n == 1 else one + "s"
            return f"{n} {unit} ago"
    raise AssertionError


# ---- feed.atom --------------------------------------------------------


def relaxng(path):
    ran = []
    xmllint = shutil.which("xmllint")
    if xmllint:
        r = subprocess.run([xmllint, "--noout", "--nonet", "--relaxng",
                            SCHEMA, path], capture_output=True, text=True)
        check(r.returncode == 0, f"xmllint --relaxng: {r.stderr.strip()}")
        ran.append("xmllint")
    jing = shutil.which("jing")
    if jing:
        r = subprocess.run([jing, SCHEMA, path], capture_output=True,
                           text=True)
        out = "\n".join(l for l in (r.stdout + r.stderr).splitlines()
                        if not l.startswith("[warning]"))
        check(r.returncode == 0, f"jing: {out.strip()}")
        ran.append("jing")
    if not ran:
        print("note: neither xmllint (libxml2-utils) nor jing is installed:"
              " feed.atom not checked against the RELAX NG schema here"
              " (test_publish does it through libxml2)")
    return ran


def check_atom(path):
    read_text(path)
    root = ET.parse(path).getroot()
    check(root.tag == ATOM + "feed", "feed.atom: root is not atom:feed")
    entries = root.findall(ATOM + "entry")
    # RFC 4287 appendix B's Schematron rules.
    if root.find(ATOM + "author") is None:
        for e in entries:
            check(e.find(ATOM + "author") is not None,
                  "feed.atom: an entry without author in a feed without")
    for e in entries:
        links = [l for l in e.findall(ATOM + "link")
                 if l.get("rel", "alternate") == "alternate"]
        check(links or e.find(ATOM + "content") is not None,
              "feed.atom: an entry with neither alternate link nor content")
        for tag in ("published", "updated"):
            el = e.find(ATOM + tag)
            if el is not None:
                check(DATE_RE.match(el.text or ""),
                      f"feed.atom: {tag} {el.text!r} is not RFC 3339 UTC")
    d = feedparser.parse(path)
    check(not d.bozo, f"feed.atom: feedparser bozo: {d.get('bozo_exception')}")
    check(d.version == "atom10", f"feed.atom: version {d.version}")
    check(len(d.entries) == len(entries), "feed.atom: feedparser lost entries")
    for e in d.entries:
        check(bool(e.get("id")), "feed.atom: entry without id")
        check(bool(e.get("source", {}).get("title")),
              f"feed.atom: entry {e.get('id')} without source title")
    ids = [e.get("id") for e in d.entries]
    check(len(set(ids)) == len(ids), "feed.atom: duplicate entry ids")
    return d


# ---- feed.rss ---------------------------------------------------------


def check_rss(path):
    read_text(path)
    root = ET.parse(path).getroot()
    check(root.tag == "rss" and root.get("version") == "2.0",
          "feed.rss: root is not <rss version=\"2.0\">")
    channel = root.find("channel")
    for tag in ("title", "link", "description"):
        check(channel.find(tag) is not None, f"feed.rss: channel has no {tag}")
    for item in channel.findall("item"):
        check(item.find("title") is not None or
              item.find("description") is not None,
              "feed.rss: an item with neither title nor description")
        for enc in item.findall("enclosure"):
            check(all(enc.get(a) for a in ("url", "length", "type")),
                  "feed.rss: enclosure without url, length or type")
            check((enc.get("length") or "").isdigit(),
                  "feed.rss: enclosure length not a number")
        src = item.find("source")
        if src is not None:
            check(bool(src.get("url")), "feed.rss: <source> without url")
    d = feedparser.parse(path)
    check(not d.bozo, f"feed.rss: feedparser bozo: {d.get('bozo_exception')}")
    check(d.version == "rss20", f"feed.rss: version {d.version}")
    check(len(d.entries) == len(channel.findall("item")),
          "feed.rss: feedparser lost items")
    for e in d.entries:
        check(e.get("published_parsed") is not None,
              f"feed.rss: item {e.get('id')} pubDate not readable")
    return d


# ---- feed.json --------------------------------------------------------


def is_str(v):
    return isinstance(v, str)


def check_json_feed(path):
    doc = json.loads(read_text(path))
    check(doc.get("version") == "https://jsonfeed.org/version/1.1",
          "feed.json: version")
    check(is_str(doc.get("title")), "feed.json: title")
    for k in ("home_page_url", "feed_url"):
        if k in doc:
            check(is_str(doc[k]) and doc[k].startswith("http"),
                  f"feed.json: {k}")
    check(isinstance(doc.get("items"), list), "feed.json: items")
    for a in doc.get("authors", []):
        check(is_str(a.get("name")), "feed.json: author without name")
    for it in doc.get("items", []):
        check(is_str(it.get("id")) and it["id"], "feed.json: item id")
        check(is_str(it.get("content_html")) or is_str(it.get("content_text")),
              f"feed.json: item {it.get('id')} without content")
        for k in ("url", "title", "summary", "image", "content_html"):
            if k in it:
                check(is_str(it[k]), f"feed.json: item {k} not a string")
        for k in ("date_published", "date_modified"):
            if k in it:
                check(DATE_RE.match(it[k]), f"feed.json: item {k} {it[k]!r}")
        for a in it.get("authors", []):
            check(is_str(a.get("name")), "feed.json: item author without name")
        for t in it.get("tags", []):
            check(is_str(t), "feed.json: tag not a string")
        for a in it.get("attachments", []):
            check(is_str(a.get("url")) and is_str(a.get("mime_type")),
                  "feed.json: attachment without url or mime_type")
            if "size_in_bytes" in a:
                check(isinstance(a["size_in_bytes"], int),
                      "feed.json: size_in_bytes")
        for k in it:
            check(k in ("id", "url", "external_url", "title", "content_html",
                        "content_text", "summary", "image", "banner_image",
                        "date_published", "date_modified", "authors", "tags",
                        "language", "attachments") or k.startswith("_"),
                  f"feed.json: unknown item key {k}")
        src = it.get("_freshet", {}).get("source", {})
        check(set(src) == {"title", "url", "feed_url", "name"},
              "feed.json: _freshet.source keys")
    return doc


# ---- feeds.opml, recent.json ------------------------------------------


def check_opml(path):
    read_text(path)
    root = ET.parse(path).getroot()
    check(root.tag == "opml" and root.get("version") == "2.0",
          "feeds.opml: root is not <opml version=\"2.0\">")
    check(root.find("head/title") is not None, "feeds.opml: no head/title")
    feeds = [o for o in root.iter("outline") if o.get("xmlUrl")]
    for o in root.iter("outline"):
        if o.get("xmlUrl") is None:
            check(len(o) > 0, "feeds.opml: an outline with neither xmlUrl"
                  " nor children")
    return feeds


def check_recent(path, excerpt_max):
    doc = json.loads(read_text(path))
    check(set(doc) == {"title", "link", "generated", "items"},
          f"recent.json: top-level keys {sorted(doc)}")
    check(DATE_RE.match(doc.get("generated", "")), "recent.json: generated")
    generated = parse_date(doc["generated"])
    for it in doc.get("items", []):
        check(set(it) == RECENT_KEYS, f"recent.json: item keys {sorted(it)}")
        check(is_str(it["title"]) and it["title"], "recent.json: title")
        for k in ("url", "excerpt", "image", "author"):
            check(it[k] is None or is_str(it[k]), f"recent.json: {k}")
        check(set(it["source"]) == {"title", "url", "name"},
              "recent.json: source keys")
        check(is_str(it["source"]["title"]), "recent.json: source title")
        check(DATE_RE.match(it["published"]), "recent.json: published")
        published = parse_date(it["published"])
        check(it["age_seconds"] == max(0, generated - published),
              f"recent.json: age_seconds {it['age_seconds']}")
        check(it["ago"] == ago(published, generated),
              f"recent.json: ago {it['ago']!r}")
        if it["excerpt"] is not None:
            check(len(it["excerpt"]) <= excerpt_max and
                  "<" not in it["excerpt"],
                  f"recent.json: excerpt {it['excerpt']!r}")
    pubs = [parse_date(it["published"]) for it in doc["items"]]
    check(pubs == sorted(pubs, reverse=True), "recent.json: not newest first")
    return doc


# ---- all together -----------------------------------------------------


def validate(out, excerpt_max=10000):
    p = lambda name: os.path.join(out, name)  # noqa: E731
    validators = relaxng(p("feed.atom"))
    atom = check_atom(p("feed.atom"))
    rss = check_rss(p("feed.rss"))
    jf = check_json_feed(p("feed.json"))
    feeds = check_opml(p("feeds.opml"))
    recent = check_recent(p("recent.json"), excerpt_max)

    ids = [e.id for e in atom.entries]
    check([e.id for e in rss.entries] == ids, "feed.rss: ids differ from atom")
    check([it["id"] for it in jf["items"]] == ids,
          "feed.json: ids differ from atom")
    check([e.get("title", "") for e in rss.entries if e.get("title")] ==
          [e.title for e in atom.entries if e.title],
          "feed.rss: titles differ from atom")
    check([it.get("published") for it in recent["items"]] ==
          [it.get("date_published") for it in
           jf["items"][:len(recent["items"])]],
          "recent.json: not the newest entries of the feeds")
    print(f"{out}: {len(ids)} entries in atom/rss/json, {len(feeds)} feeds"
          f" in OPML, {len(recent['items'])} recent; schema checked by"
          f" {', '.join(validators) or 'nothing here'}")
    return atom, rss, jf, recent


def check_sample(atom, rss, jf, recent, out):
    """What publish_sample.c's store is known to hold."""
    check(len(atom.entries) == 20, f"sample: {len(atom.entries)} entries")
    check(len(recent["items"]) == 10, "sample: recent items")
    shared = [e for e in atom.entries if "shared.example.org" in e.link]
    check(len(shared) == 1, "sample: the cross-feed duplicate is not once")
    hostile = [e for e in atom.entries if e.get("link", "").endswith("/42")]
    check(len(hostile) == 1 and hostile[0].id.startswith("tag:freshet,2024:"),
          "sample: the non-IRI guid did not become a tag URI")
    check("<script" not in hostile[0].get("content", [{}])[0].get("value", ""),
          "sample: script in the hostile content")
    check("\ufffd" in hostile[0].title and "<script>" in hostile[0].title,
          "sample: hostile title not kept as (repaired) text")
    for name in ("feed.atom", "feed.rss", "feed.json", "feeds.opml",
                 "recent.json"):
        text = read_text(os.path.join(out, name))
        check("secret" not in text, f"sample: credentials in {name}")
        check("javascript:" not in text, f"sample: javascript: in {name}")
        if name.endswith((".atom", ".rss", ".opml")):
            check("<script" not in text, f"sample: raw <script in {name}")


def guarded(fn):
    """Runs fn; a document that cannot even be read is one failure."""
    try:
        fn()
    except (OSError, ValueError, KeyError, TypeError, AttributeError,
            ET.ParseError) as e:
        check(False, f"{type(e).__name__}: {e}")


def main(argv):
    if len(argv) == 3 and argv[1] == "--sample":
        tmp = tempfile.mkdtemp(prefix="freshet-validate-")
        try:
            out = os.path.join(tmp, "public")
            r = subprocess.run([argv[2], out], capture_output=True, text=True,
                               timeout=60)
            if not check(r.returncode == 0,
                         f"publish_sample failed: {r.stderr.strip()}"):
                return 1
            guarded(lambda: check_sample(*validate(out, 120), out))
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    elif len(argv) == 2:
        guarded(lambda: validate(argv[1]))
    else:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    if failures:
        print(f"{len(failures)} check(s) failed")
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
