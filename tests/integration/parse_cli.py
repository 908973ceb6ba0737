#!/usr/bin/python3
"""parse_cli.py: `freshet parse` driven as a user drives it.

Serves a few fixture feeds from a local http.server (127.0.0.1, an
ephemeral port) with chosen Content-Types, redirects and errors, and runs
the real binary ($FRESHET_BIN) on URLs, files and stdin. Checks exit codes
(0 feed, 1 not a feed / HTTP or file error, 2 usage), the JSON fields that
matter and that every error line names the file or URL.

Python 3 standard library only. Exits 0 when every check passed, 1
otherwise, 77 (skipped) when FRESHET_BIN is not set.
"""

import http.server
import json
import os
import subprocess
import sys
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
FIXTURES = os.path.join(os.path.dirname(HERE), "fixtures")
TIMEOUT = 30  # seconds per freshet run

FEED_KEYS = ["format", "title", "link", "subtitle", "id", "updated",
             "language", "author", "ttl", "update_period"]
ENTRY_KEYS = ["id", "title", "link", "published", "updated", "author",
              "summary", "content", "image", "categories", "enclosures"]


def fixture(name):
    with open(os.path.join(FIXTURES, name), "rb") as f:
        return f.read()


# path -> (status, headers, body)
ROUTES = {
    "/wp/feed/": (200, {"Content-Type": "application/rss+xml; charset=UTF-8"},
                  fixture("wordpress.rss")),
    "/rss.php": (200, {"Content-Type": "text/xml; charset=windows-1252"},
                 fixture("enc-http-charset-1252.rss")),
    "/feeds/relative-links.rss": (200, {"Content-Type": "application/rss+xml"},
                                  fixture("relative-links.rss")),
    "/old-feed": (301, {"Location": "/feeds/relative-links.rss"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
    "/missing.rss": (404, {"Content-Type": "text/html"},
                     b"<html><body><h1>Not Found</h1></body></html>\n"),
    "/broken": (500, {"Content-Type": "text/plain"}, b"Internal error\n"),
    "/index.html": (200, {"Content-Type": "text/html; charset=UTF-8"},
                    fixture("notafeed-html.html")),
    "/atom-as-html": (200, {"Content-Type": "text/html"},
                      fixture("detect-atom-as-rss.rss")),
    "/utf16.atom": (200, {"Content-Type": "application/atom+xml"},
                    fixture("enc-utf16le-bom.atom")),
    "/feed.json": (200, {"Content-Type": "application/feed+json"},
                   fixture("jsonfeed11.json")),
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        status, headers, body = ROUTES.get(
            self.path, (404, {"Content-Type": "text/plain"}, b"no route\n"))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, fmt, *args):
        pass


class Checks:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, what, ok, detail=""):
        if ok:
            self.passed += 1
            print("ok - %s" % what)
        else:
            self.failed += 1
            print("not ok - %s" % what)
            if detail:
                for line in str(detail).splitlines()[:20]:
                    print("#   %s" % line)


def child_env():
    env = dict(os.environ)
    for k in list(env):
        if k.lower() in ("http_proxy", "https_proxy", "all_proxy"):
            del env[k]
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env


def run(args, stdin=None):
    """Runs freshet with args; returns (exit code, stdout, stderr)."""
    try:
        p = subprocess.run([os.environ["FRESHET_BIN"]] + args, input=stdin,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=TIMEOUT, env=child_env())
    except subprocess.TimeoutExpired:
        return -1, b"", b"timed out"
    return p.returncode, p.stdout, p.stderr


def parse_ok(c, what, args, stdin=None):
    """Runs a parse that must succeed; returns the JSON (or None)."""
    rc, out, err = run(args, stdin)
    c.check("%s: exit 0" % what, rc == 0,
            "exit %d, stderr: %s" % (rc, err.decode("utf-8", "replace")))
    if rc != 0:
        return None
    try:
        doc = json.loads(out.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        c.check("%s: output is UTF-8 JSON" % what, False, e)
        return None
    c.check("%s: output ends with a newline" % what, out.endswith(b"\n"))
    c.check("%s: feed keys in order" % what,
            list(doc.get("feed", {}).keys()) == FEED_KEYS,
            list(doc.get("feed", {}).keys()))
    c.check("%s: entry keys in order" % what,
            all(list(e.keys()) == ENTRY_KEYS for e in doc.get("entries", [])))
    c.check("%s: top-level keys" % what,
            list(doc.keys()) == ["feed", "entries", "warnings"], list(doc))
    return doc


def parse_fails(c, what, args, code, names, stdin=None):
    """Runs a parse that must fail with exit code; the one-line error must
    name `names` (a file or URL)."""
    rc, out, err = run(args, stdin)
    text = err.decode("utf-8", "replace")
    c.check("%s: exit %d" % (what, code), rc == code,
            "exit %d, stderr: %s" % (rc, text))
    c.check("%s: nothing on stdout" % what, out == b"", out[:200])
    if names is not None:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        c.check("%s: error names %s" % (what, names),
                len(lines) >= 1 and names in lines[0], text)
    return text


def field(doc, *path):
    for p in path:
        if doc is None:
            return None
        doc = doc[p] if isinstance(p, int) else doc.get(p)
    return doc


def main():
    if not os.environ.get("FRESHET_BIN"):
        print("FRESHET_BIN is not set; skipping")
        return 77
    c = Checks()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = "http://127.0.0.1:%d" % server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run_checks(c, base)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    print("%d passed, %d failed" % (c.passed, c.failed))
    return 0 if c.failed == 0 else 1


def run_checks(c, base):
    fx = lambda name: os.path.join(FIXTURES, name)

    # A URL: fetched, parsed, the final URL and Content-Type used.
    doc = parse_ok(c, "URL", ["parse", base + "/wp/feed/"])
    c.check("URL: format rss20", field(doc, "feed", "format") == "rss20")
    c.check("URL: title", field(doc, "feed", "title") ==
            "Field Notes from the Allotment", field(doc, "feed", "title"))
    c.check("URL: two entries", len(field(doc, "entries") or []) == 2)
    c.check("URL: update_period 1800 (hourly, twice)",
            field(doc, "feed", "update_period") == 1800,
            field(doc, "feed", "update_period"))

    # windows-1252 bytes, charset only in the HTTP header.
    want = "Pe\u00f1a\u2019s Workshop"
    doc = parse_ok(c, "HTTP charset", ["parse", base + "/rss.php"])
    c.check("HTTP charset: title decoded as windows-1252",
            field(doc, "feed", "title") == want, field(doc, "feed", "title"))
    c.check("HTTP charset: entry title",
            field(doc, "entries", 0, "title") ==
            "A \u201cproper\u201d mitre jig", field(doc, "entries", 0, "title"))
    doc = parse_ok(c, "--content-type", [
        "parse", "--url", "http://workshop.example.com/rss.php",
        "--content-type", "text/xml; charset=windows-1252",
        fx("enc-http-charset-1252.rss")])
    c.check("--content-type: title decoded as windows-1252",
            field(doc, "feed", "title") == want, field(doc, "feed", "title"))
    doc = parse_ok(c, "no charset anywhere",
                   ["parse", fx("enc-http-charset-1252.rss")])
    title = field(doc, "feed", "title") or ""
    c.check("no charset anywhere: UTF-8, bad bytes replaced",
            "\ufffd" in title and want not in title, title)
    c.check("no charset anywhere: a warning",
            len(field(doc, "warnings") or []) >= 1, field(doc, "warnings"))

    # A redirect: relative links resolve against the final URL.
    doc = parse_ok(c, "redirect", ["parse", base + "/old-feed"])
    c.check("redirect: channel link against the final URL",
            field(doc, "feed", "link") == base + "/blog/",
            field(doc, "feed", "link"))
    c.check("redirect: entry link against the channel link",
            field(doc, "entries", 0, "link") ==
            base + "/blog/2024/06/first-post",
            field(doc, "entries", 0, "link"))

    # --url gives the base for a file.
    doc = parse_ok(c, "--url", [
        "parse", "--url", "https://feeds.example.org/atom/relative.xml",
        fx("relative-links-atom.atom")])
    c.check("--url: entry link resolved against it",
            field(doc, "entries", 0, "link") ==
            "https://feeds.example.org/posts/1",
            field(doc, "entries", 0, "link"))

    # Content, not the URL or the Content-Type, decides the format.
    doc = parse_ok(c, "Atom served as text/html",
                   ["parse", base + "/atom-as-html"])
    c.check("Atom served as text/html: format atom10",
            field(doc, "feed", "format") == "atom10",
            field(doc, "feed", "format"))
    doc = parse_ok(c, "UTF-16 over HTTP", ["parse", base + "/utf16.atom"])
    c.check("UTF-16 over HTTP: title",
            field(doc, "feed", "title") ==
            "\u6f6e\u6c50\u65e5\u8a18 Tide Diary", field(doc, "feed", "title"))
    doc = parse_ok(c, "JSON Feed over HTTP", ["parse", base + "/feed.json"])
    c.check("JSON Feed over HTTP: format json11",
            field(doc, "feed", "format") == "json11",
            field(doc, "feed", "format"))

    # stdin.
    doc = parse_ok(c, "stdin", ["parse", "-"], stdin=fixture("podcast.rss"))
    c.check("stdin: ttl 3600", field(doc, "feed", "ttl") == 3600,
            field(doc, "feed", "ttl"))
    c.check("stdin: enclosure length",
            field(doc, "entries", 0, "enclosures", 0, "length") == 38412233,
            field(doc, "entries", 0, "enclosures"))
    doc = parse_ok(c, "stdin with --url",
                   ["parse", "--url", "https://feeds.example.org/atom/x.xml",
                    "-"], stdin=fixture("relative-links-atom.atom"))
    c.check("stdin with --url: link resolved",
            field(doc, "entries", 0, "link") ==
            "https://feeds.example.org/posts/1",
            field(doc, "entries", 0, "link"))

    # HTTP errors and pages that are not feeds: exit 1, URL named.
    text = parse_fails(c, "404", ["parse", base + "/missing.rss"], 1,
                       base + "/missing.rss")
    c.check("404: status in the error", "404" in text, text)
    text = parse_fails(c, "500", ["parse", base + "/broken"], 1,
                       base + "/broken")
    c.check("500: status in the error", "500" in text, text)
    parse_fails(c, "HTML page", ["parse", base + "/index.html"], 1,
                base + "/index.html")
    parse_fails(c, "redirect loop", ["parse", base + "/loop"], 1,
                base + "/loop")
    parse_fails(c, "connection refused", ["parse", "http://127.0.0.1:9/feed"],
                1, "http://127.0.0.1:9/feed")

    # Files that are not feeds, or not there: exit 1, file named.
    for name in ("notafeed-html.html", "notafeed-object.json",
                 "notafeed-text.txt", "notafeed-empty.xml",
                 "notafeed-sitemap.xml"):
        parse_fails(c, name, ["parse", fx(name)], 1, fx(name))
    with tempfile.TemporaryDirectory() as tmp:
        gone = os.path.join(tmp, "no-such-feed.xml")
        parse_fails(c, "missing file", ["parse", gone], 1, gone)
    parse_fails(c, "empty stdin", ["parse", "-"], 1, "-", stdin=b"")

    # Usage errors: exit 2.
    parse_fails(c, "no argument", ["parse"], 2, None)
    parse_fails(c, "two arguments",
                ["parse", fx("wordpress.rss"), fx("podcast.rss")], 2, None)
    parse_fails(c, "unknown option", ["parse", "--frobnicate",
                                      fx("wordpress.rss")], 2, None)
    parse_fails(c, "--url without a value", ["parse", "--url"], 2, None)
    parse_fails(c, "no command", [], 2, None)


if __name__ == "__main__":
    sys.exit(main())
