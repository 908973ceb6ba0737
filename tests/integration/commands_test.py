#!/usr/bin/python3
"""The subscription commands, end to end: add (a feed, a web page that
links to its feed, a duplicate, not a feed), list, remove, import, export
(round trip), check, render and recent, against a server on 127.0.0.1.

Usage: commands_test.py (FRESHET_BIN names the binary; default build/freshet)
"""
import http.server
import json
import os
import socketserver
import subprocess
import tempfile
import threading
import unittest

BIN = os.environ.get("FRESHET_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "freshet")

FEED = b"""<?xml version="1.0"?>
<rss version="2.0"><channel><title>Ham Radio Notes</title>
<link>http://ham.example/</link>
<item><title>Antenna day</title><link>http://ham.example/antenna</link>
<guid>ham-1</guid><pubDate>Sat, 25 May 2024 18:00:00 GMT</pubDate></item>
<item><title>June meeting</title><link>http://ham.example/june</link>
<guid>ham-2</guid><pubDate>Sat, 01 Jun 2024 18:00:00 GMT</pubDate></item>
</channel></rss>"""

PAGE = b"""<!DOCTYPE html><html><head><title>Ham site</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="Feed" href="/feed.xml">
</head><body><p>Hello</p></body></html>"""

ATOM = b"""<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>Other Blog</title>
<id>urn:x</id><updated>2024-06-01T00:00:00Z</updated>
<entry><id>urn:x:1</id><title>Hi</title><updated>2024-06-01T00:00:00Z</updated>
<link href="http://other.example/hi"/></entry></feed>"""

ROUTES = {
    "/feed.xml": ("application/rss+xml", FEED),
    "/site/": ("text/html", PAGE),
    "/other.atom": ("application/atom+xml", ATOM),
    "/plain": ("text/plain", b"just words"),
}


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        route = ROUTES.get(self.path)
        if not route:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", route[0])
        self.send_header("Content-Length", str(len(route[1])))
        self.end_headers()
        self.wfile.write(route[1])

    def log_message(self, *args):
        pass


class CommandsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        socketserver.TCPServer.allow_reuse_address = True
        cls.httpd = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        cls.base = f"http://127.0.0.1:{cls.httpd.server_address[1]}"
        threading.Thread(target=cls.httpd.serve_forever, daemon=True).start()

    @classmethod
    def tearDownClass(cls):
        cls.httpd.shutdown()
        cls.httpd.server_close()

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="freshet-cmd-")
        self.conf = os.path.join(self.dir, "freshet.conf")
        with open(self.conf, "w") as f:
            f.write("[freshet]\nlisten =\ntitle = Test Planet\n")

    def freshet(self, *args, code=0):
        r = subprocess.run([BIN, "-c", self.conf, *args], capture_output=True,
                           text=True, timeout=60)
        self.assertEqual(r.returncode, code,
                         f"freshet {args}: {r.stdout}\n{r.stderr}")
        return r

    def feeds_d(self):
        d = os.path.join(self.dir, "feeds.d")
        return sorted(os.listdir(d)) if os.path.isdir(d) else []

    def test_add_a_feed_names_it_from_its_title(self):
        r = self.freshet("add", self.base + "/feed.xml")
        self.assertIn("added ham-radio-notes", r.stdout)
        self.assertEqual(self.feeds_d(), ["ham-radio-notes.conf"])
        with open(os.path.join(self.dir, "feeds.d",
                               "ham-radio-notes.conf")) as f:
            text = f.read()
        self.assertIn("[ham-radio-notes]", text)
        self.assertIn("url = " + self.base + "/feed.xml", text)
        self.assertIn("configuration OK (1 feeds)",
                      self.freshet("check").stdout)

    def test_add_a_web_page_finds_its_feed(self):
        r = self.freshet("add", self.base + "/site/", "--name", "ham")
        self.assertIn("its feed is " + self.base + "/feed.xml", r.stderr)
        listed = json.loads(self.freshet("list", "--json").stdout)
        self.assertEqual([(f["name"], f["url"]) for f in listed],
                         [("ham", self.base + "/feed.xml")])

    def test_add_refuses_duplicates_and_non_feeds(self):
        self.freshet("add", self.base + "/feed.xml", "--name", "ham")
        r = self.freshet("add", self.base + "/feed.xml", "--name", "again",
                         code=2)
        self.assertIn("already", r.stderr)
        r = self.freshet("add", self.base + "/plain", code=1)
        self.assertIn("not a feed", r.stderr)
        r = self.freshet("add", self.base + "/missing", code=1)
        self.assertIn("404", r.stderr)
        r = self.freshet("add", "ftp://example.com/feed", code=2)
        self.assertEqual(self.feeds_d(), ["ham.conf"])

    def test_list_then_remove(self):
        self.freshet("add", self.base + "/feed.xml", "--name", "ham")
        self.freshet("add", self.base + "/other.atom", "--name", "other")
        table = self.freshet("list").stdout.splitlines()
        self.assertTrue(table[0].startswith("NAME"))
        self.assertEqual([line.split()[0] for line in table[1:]],
                         ["ham", "other"])
        self.freshet("remove", "ham")
        self.assertEqual(self.feeds_d(), ["other.conf"])
        r = self.freshet("remove", "ham", code=2)
        self.assertIn("ham", r.stderr)

    def test_export_then_import_gives_the_same_set(self):
        self.freshet("add", self.base + "/feed.xml", "--name", "ham")
        self.freshet("add", self.base + "/other.atom", "--name", "other",
                     "--title", "Someone Else")
        opml = self.freshet("export").stdout
        self.assertIn("<opml", opml)
        path = os.path.join(self.dir, "subs.opml")
        with open(path, "w") as f:
            f.write(opml)
        # Importing into the same config changes nothing.
        r = self.freshet("import", path)
        self.assertIn("imported 0, skipped 2", r.stdout)
        # Into a fresh one it gives the same names and URLs.
        before = json.loads(self.freshet("list", "--json").stdout)
        self.setUp()
        r = self.freshet("import", path)
        self.assertIn("imported 2, skipped 0", r.stdout)
        after = json.loads(self.freshet("list", "--json").stdout)
        self.assertEqual([(f["name"], f["url"]) for f in before],
                         [(f["name"], f["url"]) for f in after])

    def test_check_reports_errors_with_file_and_line(self):
        with open(self.conf, "a") as f:
            f.write("interval = soon\nbogus = 1\n")
        r = self.freshet("check", code=2)
        self.assertIn("freshet.conf:4: bad duration", r.stderr.replace(
            self.conf, "freshet.conf"))
        self.assertIn("freshet.conf:5: unknown key 'bogus'",
                      r.stderr.replace(self.conf, "freshet.conf"))

    def test_poll_render_recent(self):
        self.freshet("add", self.base + "/feed.xml", "--name", "ham")
        self.freshet("poll")
        r = self.freshet("recent", "-n", "1")
        lines = r.stdout.splitlines()
        self.assertEqual(lines[0], "June meeting")
        self.assertIn("Ham Radio Notes", lines[1])
        self.assertIn("ago", lines[1])
        out = os.path.join(self.dir, "public")
        os.unlink(os.path.join(out, "feed.atom"))
        self.freshet("render")
        with open(os.path.join(out, "feed.atom")) as f:
            self.assertIn("Antenna day", f.read())
        with open(os.path.join(out, "recent.json")) as f:
            recent = json.load(f)
        self.assertEqual(recent["title"], "Test Planet")
        self.assertEqual(len(recent["items"]), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
