#!/usr/bin/python3
"""The real freshet binary against a scripted HTTP server on 127.0.0.1.

Every scenario of issue 4: conditional GET with the exact validators,
gzip, 301/308 believed after three polls, 302 never, 410, 429 with both
Retry-After forms, 500 then recovery, a slow drip past the timeout, an
oversized body, a reset connection, an HTML page, invalid XML; per-host
politeness; SIGTERM mid-cycle; SIGHUP picking up an added and a removed
feed; a second `freshet run` refused. Asserts what the database holds
and what the server saw.

Usage: daemon_test.py (FRESHET_BIN names the binary; default build/freshet)
"""
import gzip
import http.server
import json
import os
import signal
import socket
import socketserver
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("FRESHET_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "freshet")


def rss(tag, n=3):
    items = "".join(
        f"<item><title>{tag} post {i}</title>"
        f"<link>http://example.com/{tag}/{i}</link>"
        f"<guid>{tag}-{i}</guid>"
        f"<pubDate>Mon, 0{i % 9 + 1} Jun 2024 10:00:00 GMT</pubDate>"
        f"<description>Body of {tag} {i}</description></item>"
        for i in range(n))
    return (f'<?xml version="1.0"?><rss version="2.0"><channel>'
            f"<title>{tag}</title><link>http://example.com/{tag}/</link>"
            f"{items}</channel></rss>").encode()


class Server:
    """Routes: path -> function(handler, nth_request) that answers."""

    def __init__(self):
        self.routes = {}
        self.requests = []  # (path, {header: value})
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with server.lock:
                    server.requests.append((self.path, dict(self.headers)))
                    nth = sum(1 for p, _ in server.requests if p == self.path)
                    server.active += 1
                    server.max_active = max(server.max_active, server.active)
                try:
                    route = server.routes.get(self.path)
                    if route is None:
                        self.send_error(404)
                    else:
                        route(self, nth)
                finally:
                    with server.lock:
                        server.active -= 1

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass  # clients that hang up are part of the tests

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def count(self, path):
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def headers_of(self, path, nth):
        with self.lock:
            seen = [h for p, h in self.requests if p == path]
        return seen[nth - 1]

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def send(handler, status, body=b"", headers=None, ctype="application/rss+xml"):
    handler.send_response(status)
    for k, v in (headers or {}).items():
        handler.send_header(k, v)
    if body is not None:
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if body:
        handler.wfile.write(body)


class Instance:
    """A config dir with freshet.conf and feeds.d, and ways to run freshet."""

    def __init__(self, feeds, **settings):
        self.dir = tempfile.mkdtemp(prefix="freshet-it-")
        conf = {"database": "freshet.db", "output_dir": "public",
                "listen": "", "interval": "30m", "min_interval": "1m",
                "timeout": "3s", "connect_timeout": "2s",
                "max_size": "256K", "per_host": "2", "log_level": "debug"}
        conf.update(settings)
        with open(os.path.join(self.dir, "freshet.conf"), "w") as f:
            f.write("[freshet]\n")
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        os.mkdir(os.path.join(self.dir, "feeds.d"))
        self.write_feeds("test", feeds)

    def write_feeds(self, file, feeds):
        with open(os.path.join(self.dir, "feeds.d", file + ".conf"), "w") as f:
            for name, url in feeds.items():
                f.write(f"[{name}]\nurl = {url}\n\n")

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def freshet(self, *args, timeout=60, check=True):
        r = subprocess.run([BIN, "-c", self.path("freshet.conf"), *args],
                           capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"freshet {args} exited {r.returncode}:\n"
                                 f"{r.stderr}")
        return r

    def poll_all(self):
        return self.freshet("poll", "--all")

    def feeds(self):
        r = self.freshet("list", "--json")
        return {f["name"]: f for f in json.loads(r.stdout)}

    def db(self):
        return sqlite3.connect(self.path("freshet.db"))

    def column(self, name, col):
        # Column names are the store's (src/store.c schema).
        with self.db() as c:
            row = c.execute(f"SELECT {col} FROM feeds WHERE name = ?",
                            (name,)).fetchone()
        return row[0] if row else None

    def entry_count(self, name):
        with self.db() as c:
            return c.execute(
                "SELECT count(*) FROM entries JOIN feeds "
                "ON entries.feed_id = feeds.id WHERE feeds.name = ?",
                (name,)).fetchone()[0]


class DaemonTest(unittest.TestCase):
    def setUp(self):
        self.server = Server()

    def tearDown(self):
        self.server.stop()

    def test_conditional_get_sends_exact_validators(self):
        etag = 'W/"v1-abc"'
        lm = "Mon, 03 Jun 2024 10:00:00 GMT"

        def route(h, nth):
            if h.headers.get("If-None-Match") == etag:
                send(h, 304, None, {"ETag": etag})
            else:
                send(h, 200, rss("cond"), {"ETag": etag, "Last-Modified": lm})
        self.server.routes["/cond"] = route
        inst = Instance({"cond": self.server.url("/cond")})
        inst.poll_all()
        self.assertEqual(inst.entry_count("cond"), 3)
        self.assertEqual(inst.column("cond", "etag"), etag)
        self.assertEqual(inst.column("cond", "last_modified"), lm)
        first = self.server.headers_of("/cond", 1)
        self.assertNotIn("If-None-Match", first)
        self.assertIn("freshet/", first.get("User-Agent", ""))
        inst.poll_all()
        second = self.server.headers_of("/cond", 2)
        self.assertEqual(second.get("If-None-Match"), etag)
        self.assertEqual(second.get("If-Modified-Since"), lm)
        self.assertEqual(inst.entry_count("cond"), 3)
        f = inst.feeds()["cond"]
        self.assertEqual(f["http_status"], 304)
        self.assertEqual(self.server.count("/cond"), 2)

    def test_gzip_body(self):
        def route(h, nth):
            body = rss("gz", 4)
            if "gzip" in h.headers.get("Accept-Encoding", ""):
                send(h, 200, gzip.compress(body), {"Content-Encoding": "gzip"})
            else:
                send(h, 200, body)
        self.server.routes["/gz"] = route
        inst = Instance({"gz": self.server.url("/gz")})
        inst.poll_all()
        self.assertIn("gzip", self.server.headers_of("/gz", 1)
                      .get("Accept-Encoding", ""))
        self.assertEqual(inst.entry_count("gz"), 4)

    def permanent(self, code):
        old, new = f"/old{code}", f"/new{code}"
        self.server.routes[old] = lambda h, n: send(
            h, code, b"", {"Location": new})
        self.server.routes[new] = lambda h, n: send(h, 200, rss(f"m{code}"))
        inst = Instance({"moved": self.server.url(old)})
        for poll in range(1, 4):
            inst.poll_all()
            fetch_url = inst.feeds()["moved"]["fetch_url"]
            if poll < 3:
                self.assertIn(fetch_url, (None, self.server.url(old)),
                              f"moved after only {poll} polls")
        self.assertEqual(inst.feeds()["moved"]["fetch_url"],
                         self.server.url(new))
        inst.poll_all()
        # Now fetched directly at the new address.
        self.assertEqual(self.server.count(old), 3)
        self.assertEqual(self.server.count(new), 4)
        self.assertEqual(inst.entry_count("moved"), 3)

    def test_301_believed_after_three_polls(self):
        self.permanent(301)

    def test_308_believed_after_three_polls(self):
        self.permanent(308)

    def test_302_never_moves_the_feed(self):
        self.server.routes["/tmp"] = lambda h, n: send(
            h, 302, b"", {"Location": "/elsewhere"})
        self.server.routes["/elsewhere"] = lambda h, n: send(h, 200, rss("t"))
        inst = Instance({"temp": self.server.url("/tmp")})
        for _ in range(4):
            inst.poll_all()
        self.assertIn(inst.feeds()["temp"]["fetch_url"],
                      (None, self.server.url("/tmp")))
        self.assertEqual(self.server.count("/tmp"), 4)
        self.assertEqual(inst.entry_count("temp"), 3)

    def test_410_disables_the_feed(self):
        self.server.routes["/gone"] = lambda h, n: send(h, 410, b"gone",
                                                         ctype="text/plain")
        inst = Instance({"gone": self.server.url("/gone")})
        inst.poll_all()
        inst.poll_all()
        self.assertEqual(self.server.count("/gone"), 1)
        self.assertEqual(inst.feeds()["gone"]["status"], "gone")
        self.assertIn("410", inst.column("gone", "disabled_reason"))

    def test_429_retry_after_seconds_and_date(self):
        when = time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                             time.gmtime(time.time() + 7200))
        self.server.routes["/slow1"] = lambda h, n: send(
            h, 429, b"", {"Retry-After": "5400"})
        self.server.routes["/slow2"] = lambda h, n: send(
            h, 429, b"", {"Retry-After": when})
        inst = Instance({"s1": self.server.url("/slow1")},
                        max_interval="1d")
        inst.write_feeds("more", {"s2": self.server.url("/slow2")})
        before = time.time()
        inst.poll_all()
        feeds = inst.feeds()
        self.assertGreaterEqual(feeds["s1"]["next_due"], before + 5400 - 2)
        self.assertGreaterEqual(feeds["s2"]["next_due"], before + 7200 - 5)
        self.assertEqual(feeds["s1"]["http_status"], 429)

    def test_500_then_recovery(self):
        self.server.routes["/flaky"] = lambda h, n: (
            send(h, 500, b"oops", ctype="text/plain") if n == 1
            else send(h, 200, rss("flaky")))
        inst = Instance({"flaky": self.server.url("/flaky")})
        inst.poll_all()
        f = inst.feeds()["flaky"]
        self.assertEqual(inst.column("flaky", "error_count"), 1)
        self.assertIn("500", f["last_error"])
        self.assertEqual(inst.entry_count("flaky"), 0)
        inst.poll_all()
        self.assertEqual(inst.column("flaky", "error_count"), 0)
        self.assertEqual(inst.entry_count("flaky"), 3)

    def test_failures_are_errors_with_reasons(self):
        def drip(h, n):
            h.send_response(200)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", "100000")
            h.end_headers()
            for _ in range(40):
                try:
                    h.wfile.write(b" ")
                    h.wfile.flush()
                except OSError:
                    return
                time.sleep(0.25)

        def reset(h, n):
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                    b"\x01\x00\x00\x00\x00\x00\x00\x00")
            h.connection.close()

        self.server.routes["/drip"] = drip
        self.server.routes["/huge"] = lambda h, n: send(
            h, 200, b"<rss>" + b"x" * (600 * 1024) + b"</rss>")
        self.server.routes["/reset"] = reset
        self.server.routes["/page"] = lambda h, n: send(
            h, 200, b"<!DOCTYPE html><html><body>hi</body></html>",
            ctype="text/html")
        self.server.routes["/junk"] = lambda h, n: send(
            h, 200, bytes(range(256)) * 10, ctype="application/rss+xml")
        feeds = {n: self.server.url("/" + n)
                 for n in ("drip", "huge", "reset", "page", "junk")}
        inst = Instance(feeds)
        start = time.time()
        inst.poll_all()
        self.assertLess(time.time() - start, 30)
        state = inst.feeds()
        expect = {"drip": "time", "huge": "larger", "reset": "",
                  "page": "HTML", "junk": "not a feed"}
        for name, word in expect.items():
            self.assertEqual(inst.column(name, "error_count"), 1, name)
            self.assertTrue(state[name]["last_error"], name)
            self.assertIn(word.lower(), state[name]["last_error"].lower(),
                          name)
            self.assertEqual(inst.entry_count(name), 0, name)
            self.assertIsNone(inst.column(name, "etag"), name)

    def test_per_host_limit_is_never_exceeded(self):
        def slow(h, n):
            time.sleep(0.05)
            send(h, 200, rss(h.path.strip("/"), 1))
        feeds = {}
        for i in range(50):
            self.server.routes[f"/p{i}"] = slow
            feeds[f"p{i}"] = self.server.url(f"/p{i}")
        inst = Instance(feeds, per_host="2", concurrency="32")
        inst.poll_all()
        self.assertEqual(sum(self.server.count(f"/p{i}") for i in range(50)),
                         50)
        self.assertLessEqual(self.server.max_active, 2)
        self.assertEqual(self.server.max_active, 2)
        with inst.db() as c:
            self.assertEqual(c.execute("SELECT count(*) FROM entries")
                             .fetchone()[0], 50)

    def start_run(self, inst):
        return subprocess.Popen([BIN, "-c", inst.path("freshet.conf"), "run"],
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def wait_for(self, what, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if what():
                return True
            time.sleep(0.05)
        return False

    def test_sigterm_mid_cycle_leaves_a_consistent_database(self):
        def slow(h, n):
            time.sleep(1.5)
            send(h, 200, rss(h.path.strip("/"), 2))
        self.server.routes["/fast"] = lambda h, n: send(h, 200, rss("fast"))
        feeds = {"fast": self.server.url("/fast")}
        for i in range(6):
            self.server.routes[f"/slow{i}"] = slow
            feeds[f"slow{i}"] = self.server.url(f"/slow{i}")
        # A tiny interval makes every feed due at start.
        inst = Instance(feeds, interval="1s", min_interval="1s",
                        per_host="8")
        p = self.start_run(inst)
        self.assertTrue(self.wait_for(lambda: self.server.count("/slow0")))
        time.sleep(0.2)
        p.send_signal(signal.SIGTERM)
        try:
            _, err = p.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            self.fail("freshet did not stop within 15 s of SIGTERM")
        self.assertEqual(p.returncode, 0, err)
        with inst.db() as c:
            self.assertEqual(c.execute("PRAGMA integrity_check")
                             .fetchone()[0], "ok")
            # Validators never without their entries: fetched feeds have
            # entries; others have nothing stored at all.
            for name, n in c.execute(
                    "SELECT feeds.name, count(entries.id) FROM feeds "
                    "LEFT JOIN entries ON entries.feed_id = feeds.id "
                    "GROUP BY feeds.id"):
                if n == 0:
                    self.assertIsNone(inst.column(name, "etag"))
        self.assertEqual(inst.entry_count("fast"), 3)

    def test_sighup_adds_and_removes_feeds(self):
        self.server.routes["/a"] = lambda h, n: send(h, 200, rss("a"))
        self.server.routes["/b"] = lambda h, n: send(h, 200, rss("b"))
        inst = Instance({"a": self.server.url("/a")}, interval="1h",
                        min_interval="1m")
        inst.write_feeds("extra", {"gone": self.server.url("/a?x")})
        p = self.start_run(inst)
        try:
            self.assertTrue(self.wait_for(lambda: inst.feeds()["a"]
                                          ["last_fetch"] > 0))
            os.unlink(inst.path("feeds.d", "extra.conf"))
            inst.write_feeds("new", {"b": self.server.url("/b")})
            p.send_signal(signal.SIGHUP)
            self.assertTrue(self.wait_for(lambda: self.server.count("/b")),
                            "the added feed was never fetched")
            self.assertTrue(self.wait_for(lambda: inst.entry_count("b") == 3))
            self.assertTrue(self.wait_for(
                lambda: inst.column("gone", "id") is None),
                "the removed feed is still in the database")
            # The kept feed was not fetched again by the reload.
            self.assertEqual(self.server.count("/a"), 1)
        finally:
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=15)
        self.assertEqual(p.returncode, 0)

    def test_second_run_on_the_same_database_is_refused(self):
        self.server.routes["/a"] = lambda h, n: send(h, 200, rss("a"))
        inst = Instance({"a": self.server.url("/a")})
        p = self.start_run(inst)
        try:
            self.assertTrue(self.wait_for(lambda: self.server.count("/a")))
            r = inst.freshet("run", check=False, timeout=20)
            self.assertEqual(r.returncode, 1)
            self.assertIn("already running", r.stderr)
        finally:
            p.send_signal(signal.SIGTERM)
            p.communicate(timeout=15)


if __name__ == "__main__":
    unittest.main(verbosity=2)
