#!/usr/bin/python3
"""Fault injection: what the user sees and what stays stored when things
around freshet break.

  - the output directory read-only, or full (a tiny tmpfs; root only):
    publishing fails and is logged, the previous files stay byte for byte,
    no temporary file is left, polling goes on, and publishing succeeds
    again once the fault is gone (freshet poll and freshet run);
  - the database locked by another process for longer than the busy
    timeout (5 s): a clear error, nothing lost, success afterwards;
  - a database file that is not SQLite, and a SQLite file with garbage
    pages: a clear error naming the file, exit 1, its bytes unchanged;
  - DNS failure (.invalid never resolves, RFC 6761), a server that closes
    mid-body, a wrong (short) Content-Length, TLS failures (https:// to a
    plain HTTP port; a self-signed certificate): the feed shows the error
    in `freshet list --json`, nothing of that response is stored, its
    previous entries and validators stay, and it recovers afterwards.

Read-only for root: root ignores permission bits, so the directory is made
immutable (chattr +i) when running as root, or replaced by a regular file
where chattr is not possible; chmod 0555 otherwise.

Usage: faults_test.py (FRESHET_BIN names the binary; default build/freshet)
"""
import email.utils
import errno
import http.server
import json
import os
import random
import shutil
import signal
import socket
import socketserver
import sqlite3
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import unittest

BIN = os.environ.get("FRESHET_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "freshet")
PUBLISHED = ("feed.atom", "feed.rss", "feed.json", "feeds.opml",
             "recent.json")
# How long a running daemon gets to publish again after a fault is gone.
# Its recent.json refresh runs every 60 s, so a retry there fits in this.
RETRY_WAIT = float(os.environ.get("FAULTS_RETRY_WAIT", "75"))
LM_BASE = 1_700_000_000


class Versioned:
    """A feed whose version v holds entries TAG-1 .. TAG-3v (newest first),
    with ETag "TAG-vV" and a Last-Modified of its own. Answers 304 to its
    current validators. fault, when set, is called instead on the next
    request."""

    def __init__(self, tag):
        self.tag = tag
        self.version = 1
        self.fault = None
        self.served = []  # status per request

    def keys(self, v=None):
        v = self.version if v is None else v
        return {f"{self.tag}-{k}" for k in range(1, 3 * v + 1)}

    def etag(self, v=None):
        return f'"{self.tag}-v{self.version if v is None else v}"'

    def last_modified(self, v=None):
        v = self.version if v is None else v
        return email.utils.formatdate(LM_BASE + 60 * v, usegmt=True)

    def body(self, v=None):
        v = self.version if v is None else v
        items = "".join(
            f"<item><title>{self.tag} post {k}</title>"
            f"<link>http://example.com/{self.tag}/{k}</link>"
            f"<guid>{self.tag}-{k}</guid>"
            f"<pubDate>{email.utils.formatdate(time.time() - 86400 + k)}"
            f"</pubDate><description>Entry {k} of {self.tag}, long enough to "
            f"take some room in the document.</description></item>"
            for k in range(3 * v, 0, -1))
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
                f"<channel><title>{self.tag}</title>"
                f"<link>http://example.com/{self.tag}/</link>{items}"
                f"</channel></rss>").encode()

    def headers(self, v=None):
        return {"ETag": self.etag(v), "Last-Modified": self.last_modified(v)}

    def __call__(self, h, nth):
        if self.fault:
            fault, self.fault = self.fault, None
            self.served.append("fault")
            fault(h, self)
            return
        if h.headers.get("If-None-Match") == self.etag():
            self.served.append(304)
            send(h, 304, None, {"ETag": self.etag()})
            return
        self.served.append(200)
        send(h, 200, self.body(), self.headers())


def send(h, status, body=b"", headers=None, ctype="application/rss+xml"):
    h.send_response(status)
    for k, v in (headers or {}).items():
        h.send_header(k, v)
    if body is not None:
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    if body:
        h.wfile.write(body)


class Server:
    """Routes: path -> function(handler, nth_request). tls: (cert, key)."""

    def __init__(self, tls=None):
        self.routes = {}
        self.lock = threading.Lock()
        self.counts = {}
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                with server.lock:
                    nth = server.counts[self.path] = \
                        server.counts.get(self.path, 0) + 1
                route = server.routes.get(self.path)
                try:
                    if route is None:
                        self.send_error(404)
                    else:
                        route(self, nth)
                except OSError:
                    pass

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True

            def handle_error(self, request, client_address):
                pass

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        if tls:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(*tls)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket,
                                                server_side=True)
        self.scheme = "https" if tls else "http"
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def url(self, path):
        return f"{self.scheme}://127.0.0.1:{self.port}{path}"

    def count(self, path):
        with self.lock:
            return self.counts.get(path, 0)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Instance:
    def __init__(self, feeds, **settings):
        self.dir = tempfile.mkdtemp(prefix="freshet-fault-")
        conf = {"database": "freshet.db", "output_dir": "public",
                "listen": "", "interval": "30m", "min_interval": "1m",
                "timeout": "5s", "connect_timeout": "3s",
                "per_host": "4", "log_level": "debug"}
        conf.update(settings)
        with open(self.path("freshet.conf"), "w") as f:
            f.write("[freshet]\n")
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        os.mkdir(self.path("feeds.d"))
        with open(self.path("feeds.d", "test.conf"), "w") as f:
            for name, url in feeds.items():
                f.write(f"[{name}]\nurl = {url}\n\n")
        self.db_path = self.path("freshet.db")
        self.out = self.path("public")

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def freshet(self, *args, timeout=60):
        start = time.time()
        r = subprocess.run([BIN, "-c", self.path("freshet.conf"), *args],
                           capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        r.seconds = time.time() - start
        return r

    def ok(self, *args):
        r = self.freshet(*args)
        if r.returncode != 0:
            raise AssertionError(f"freshet {args} exited {r.returncode}:\n"
                                 f"{r.stderr}")
        return r

    def start_run(self):
        self.run_log = self.path("run.log")
        log = open(self.run_log, "w")
        try:
            return subprocess.Popen(
                [BIN, "-c", self.path("freshet.conf"), "run"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()

    def log(self):
        with open(self.run_log, errors="replace") as f:
            return f.read()

    def feeds(self):
        r = self.ok("list", "--json")
        return {f["name"]: f for f in json.loads(r.stdout)}

    def query(self, sql, *args):
        con = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True,
                              timeout=10)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def keys(self, name):
        return {r[0] for r in self.query(
            "SELECT e.key FROM entries e JOIN feeds f ON f.id = e.feed_id"
            " WHERE f.name = ?", name)}

    def validators(self, name):
        rows = self.query("SELECT etag, last_modified FROM feeds"
                          " WHERE name = ?", name)
        return rows[0] if rows else (None, None)

    def outputs(self, where=None):
        where = where or self.out
        files = {}
        for name in sorted(os.listdir(where)):
            with open(os.path.join(where, name), "rb") as f:
                files[name] = f.read()
        return files

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def wait_for(what, timeout, step=0.1):
    """Polls what() until true; a database or file not there yet (or being
    replaced) counts as false."""
    def attempt():
        try:
            return bool(what())
        except (sqlite3.Error, OSError, ValueError):
            return False
    deadline = time.time() + timeout
    while time.time() < deadline:
        if attempt():
            return True
        time.sleep(step)
    return attempt()


def published_links(out):
    """The entry links feed.json lists."""
    with open(os.path.join(out, "feed.json")) as f:
        return {item["url"] for item in json.load(f)["items"]}


def links_of(feed, v):
    return {f"http://example.com/{feed.tag}/{k}" for k in range(1, 3 * v + 1)}


class Unwritable:
    """Makes a directory unwritable in a way that also binds root."""

    def __init__(self, path):
        self.path = path
        self.where = path  # where the old files are while faulted
        # FAULTS_READONLY=file forces the last resort (to test it).
        force = os.environ.get("FAULTS_READONLY")
        if force == "file":
            self._replace()
            return
        if os.geteuid() != 0:
            os.chmod(path, 0o555)
            self.how = "chmod 0555"
            self._undo = lambda: os.chmod(path, 0o755)
            return
        if shutil.which("chattr") and subprocess.run(
                ["chattr", "+i", path], capture_output=True).returncode == 0:
            if self._binds():
                self.how = "chattr +i"
                self._undo = lambda: subprocess.run(["chattr", "-i", path],
                                                    check=True)
                return
            subprocess.run(["chattr", "-i", path])
        self._replace()

    def _replace(self):
        """Last resort: a regular file where the directory was (ENOTDIR)."""
        path = self.path
        self.where = path + ".real"
        os.rename(path, self.where)
        with open(path, "w"):
            pass
        self.how = "replaced by a regular file"

        def undo():
            os.unlink(path)
            os.rename(self.where, path)
        self._undo = undo

    def _binds(self):
        probe = os.path.join(self.path, ".probe")
        try:
            os.close(os.open(probe, os.O_CREAT | os.O_WRONLY, 0o644))
        except OSError:
            return True
        os.unlink(probe)
        return False

    def undo(self):
        if self._undo:
            self._undo()
            self._undo = None


class Full:
    """A tiny tmpfs mounted on a directory, filled up on demand."""

    def __init__(self, test, path):
        if os.geteuid() != 0:
            test.skipTest("a full file system needs a tmpfs mount (root)")
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o",
                            "size=512k,mode=0755", "freshet-faults", path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            test.skipTest(f"cannot mount a tmpfs: {r.stderr.strip()}")
        test.addCleanup(subprocess.run, ["umount", "-l", path])
        self.path = path
        self.where = path
        self.how = "tmpfs of 512 KiB filled up"
        self.filler = os.path.join(path, "filler")

    def fill(self):
        chunk = b"\0" * 4096
        with open(self.filler, "wb", buffering=0) as f:
            while True:
                try:
                    f.write(chunk)
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    break

    def undo(self):
        os.unlink(self.filler)


class PublishFaults(unittest.TestCase):
    """Output directory read-only or full."""

    def setUp(self):
        self.server = Server()
        self.feed = Versioned("pub")
        self.server.routes["/pub"] = self.feed
        self.inst = None

    def tearDown(self):
        self.server.stop()

    def instance(self, **settings):
        self.inst = Instance({"pub": self.server.url("/pub")}, **settings)
        # Cleanups run last in, first out: the fault goes before the files.
        self.addCleanup(self.inst.cleanup)
        return self.inst

    def check_unchanged(self, before, fault):
        after = self.inst.outputs(fault.where)
        after.pop("filler", None)
        self.assertEqual(sorted(after), sorted(before),
                         f"files in the output directory changed "
                         f"({fault.how}); temporary files left?")
        for name in before:
            self.assertEqual(after[name], before[name],
                             f"{name} changed while publishing failed")

    def poll_scenario(self, make_fault, error_word):
        inst = self.instance()
        if make_fault is Full:
            fault = Full(self, inst.out)
        inst.ok("poll", "--all")
        before = inst.outputs()
        self.assertEqual(sorted(before), sorted(PUBLISHED))
        self.assertEqual(published_links(inst.out), links_of(self.feed, 1))
        if make_fault is Full:
            fault.fill()
        else:
            fault = make_fault(inst.out)
            self.addCleanup(fault.undo)
        self.feed.version = 2
        r = inst.freshet("poll", "--all")
        if fault.how == "replaced by a regular file":
            # Not a directory at all: freshet poll refuses to start.
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("cannot create the output directory", r.stderr)
            self.assertIn(inst.out, r.stderr)
            self.check_unchanged(before, fault)
            self.assertEqual(inst.keys("pub"), self.feed.keys(1))
            fault.undo()
            inst.ok("poll", "--all")
            self.assertEqual(published_links(inst.out),
                             links_of(self.feed, 2))
            return
        # What the user sees: the failure, which file and why.
        self.assertIn("cannot publish a file; the old one stays", r.stderr)
        self.assertRegex(r.stderr, r"file=\S*feed\.atom")
        self.assertRegex(r.stderr, error_word)
        faulted = r
        self.check_unchanged(before, fault)
        # Polling itself went on: version 2 is stored.
        self.assertEqual(inst.keys("pub"), self.feed.keys(2))
        self.assertEqual(inst.validators("pub")[0], self.feed.etag(2))
        fault.undo()
        r = inst.ok("poll", "--all")
        self.assertEqual(published_links(inst.out), links_of(self.feed, 2))
        self.assertFalse([n for n in os.listdir(inst.out) if ".tmp" in n])
        # A cron job must see that its poll did not publish.
        self.assertEqual(faulted.returncode, 1,
                         f"freshet poll exited {faulted.returncode} although "
                         f"nothing could be published ({fault.how}):\n"
                         f"{faulted.stderr[-1500:]}")

    def run_scenario(self, make_fault, error_word):
        inst = self.instance(interval="1s", min_interval="1s",
                             max_interval="1s")
        if make_fault is Full:
            fault = Full(self, inst.out)
        p = inst.start_run()
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        self.assertTrue(wait_for(
            lambda: os.path.exists(os.path.join(inst.out, "feed.json")) and
            published_links(inst.out) == links_of(self.feed, 1), 15),
            "version 1 never published")
        time.sleep(0.3)
        before = inst.outputs()
        if make_fault is Full:
            fault.fill()
        else:
            fault = make_fault(inst.out)
            self.addCleanup(fault.undo)
        self.feed.version = 2
        self.assertTrue(wait_for(
            lambda: "cannot publish a file" in inst.log(), 15),
            f"no publishing error logged ({fault.how}):\n"
            f"{inst.log()[-2000:]}")
        self.assertRegex(inst.log(), error_word)
        # Polling goes on, and stores what it gets.
        seen = self.server.count("/pub")
        self.assertTrue(wait_for(
            lambda: self.server.count("/pub") >= seen + 2, 10),
            "polling stopped while publishing failed")
        self.assertEqual(inst.keys("pub"), self.feed.keys(2))
        self.check_unchanged(before, fault)
        self.assertIsNone(p.poll(), "freshet run died")
        # The fault goes away with nothing new to fetch: the failed
        # publication is retried.
        fault.undo()
        start = time.time()
        retried = wait_for(lambda: published_links(inst.out) ==
                           links_of(self.feed, 2), RETRY_WAIT, step=0.25)
        retry_seconds = time.time() - start
        rewritten = sorted(n for n, data in inst.outputs().items()
                           if before.get(n) != data)
        # And a later change is published in any case.
        self.feed.version = 3
        self.assertTrue(wait_for(lambda: published_links(inst.out) ==
                                 links_of(self.feed, 3), 15),
                        "nothing published after the fault was gone")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        self.assertEqual(p.returncode, 0)
        self.assertTrue(retried,
                        f"the failed publication was not retried within "
                        f"{RETRY_WAIT:.0f} s of the fault going away "
                        f"({fault.how}); files rewritten meanwhile: "
                        f"{rewritten}; the rest only came with new entries")
        print(f"\n  {fault.how}: republished {retry_seconds:.1f} s after "
              f"the fault was gone", file=sys.stderr)

    def test_read_only_output_dir_poll(self):
        self.poll_scenario(Unwritable, r'error="(Permission denied|'
                           r'Operation not permitted|Not a directory)"')

    def test_read_only_output_dir_run(self):
        self.run_scenario(Unwritable, r'error="(Permission denied|'
                          r'Operation not permitted|Not a directory)"')

    def test_full_output_dir_poll(self):
        self.poll_scenario(Full, r'error="No space left on device"')

    def test_full_output_dir_run(self):
        self.run_scenario(Full, r'error="No space left on device"')


LOCKER = r"""
import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
con.execute("BEGIN EXCLUSIVE")
con.execute("UPDATE feeds SET title = title")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.execute("ROLLBACK")
con.close()
"""


class DatabaseFaults(unittest.TestCase):
    def setUp(self):
        self.server = Server()
        self.feed = Versioned("db")
        self.server.routes["/db"] = self.feed
        self.inst = Instance({"db": self.server.url("/db")})
        self.addCleanup(lambda: self.inst.cleanup())

    def tearDown(self):
        self.server.stop()

    def lock(self, seconds, inst=None):
        p = subprocess.Popen([sys.executable, "-c", LOCKER,
                              (inst or self.inst).db_path, str(seconds)],
                             stdout=subprocess.PIPE, text=True)
        self.addCleanup(p.stdout.close)
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        self.assertEqual(p.stdout.readline().strip(), "locked")
        return p

    def test_locked_database_poll(self):
        inst = self.inst
        inst.ok("poll", "--all")
        self.assertEqual(inst.keys("db"), self.feed.keys(1))
        self.feed.version = 2
        locker = self.lock(9)
        r = inst.freshet("poll", "--all", timeout=30)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertIn(inst.db_path, r.stderr)
        self.assertIn("database is locked", r.stderr)
        self.assertLess(r.seconds, 8.5, "gave up only after the lock went")
        locker.wait(timeout=20)
        # Nothing lost, nothing of version 2 half-stored.
        self.assertEqual(inst.keys("db"), self.feed.keys(1))
        self.assertEqual(inst.validators("db")[0], self.feed.etag(1))
        inst.ok("poll", "--all")
        self.assertEqual(inst.keys("db"), self.feed.keys(2))
        self.assertEqual(inst.validators("db")[0], self.feed.etag(2))
        self.assertEqual(inst.feeds()["db"]["status"], "ok 200")

    def test_locked_database_run(self):
        self.inst.cleanup()
        self.inst = inst = Instance({"db": self.server.url("/db")},
                                    interval="1s", min_interval="1s",
                                    max_interval="1s")
        p = inst.start_run()
        self.addCleanup(lambda: p.poll() is None and (p.kill(), p.wait()))
        self.assertTrue(wait_for(lambda: os.path.exists(inst.db_path) and
                                 inst.keys("db") == self.feed.keys(1), 15))
        time.sleep(0.5)
        locker = self.lock(8, inst)
        self.feed.version = 2
        self.assertTrue(wait_for(lambda: "could not store the fetch"
                                 in inst.log(), 15), inst.log()[-2000:])
        self.assertIn("database is locked", inst.log())
        self.assertEqual(inst.keys("db"), self.feed.keys(1))
        locker.wait(timeout=20)
        self.assertTrue(wait_for(lambda: inst.keys("db") == self.feed.keys(2)
                                 and inst.validators("db")[0] ==
                                 self.feed.etag(2), 15),
                        "version 2 never stored after the lock went:\n" +
                        inst.log()[-2000:])
        self.assertIsNone(p.poll(), "freshet run died")
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=20)
        self.assertEqual(p.returncode, 0)
        rows = inst.query("PRAGMA integrity_check")
        self.assertEqual(rows, [("ok",)])

    def refuses(self, why):
        """Every command that opens the database refuses, naming it."""
        inst = self.inst
        with open(inst.db_path, "rb") as f:
            before = f.read()
        for cmd in (("poll", "--all"), ("run",), ("list", "--json"),
                    ("render",), ("recent",)):
            r = inst.freshet(*cmd, timeout=30)
            self.assertEqual(r.returncode, 1, f"{cmd}: {r.stderr}")
            self.assertIn(inst.db_path, r.stderr, cmd)
            self.assertRegex(r.stderr, why, cmd)
            with open(inst.db_path, "rb") as f:
                self.assertTrue(f.read() == before,
                                f"freshet {cmd[0]} changed the file")
        self.assertEqual(self.server.count("/db"), self.fetched,
                         "fetched although the database is unusable")
        for junk in ("-wal", "-journal"):
            p = inst.db_path + junk
            self.assertFalse(os.path.exists(p) and os.path.getsize(p) > 0,
                             f"{p} written")

    def test_not_a_database(self):
        rng = random.Random(6)
        with open(self.inst.db_path, "wb") as f:
            f.write(bytes(rng.getrandbits(8) for _ in range(64 * 1024)))
        self.fetched = 0
        self.refuses(r"not a SQLite database")

    def corrupt(self, keep):
        inst = self.inst
        inst.ok("poll", "--all")
        self.fetched = self.server.count("/db")
        size = os.path.getsize(inst.db_path)
        self.assertGreater(size, keep)
        self.assertFalse(os.path.exists(inst.db_path + "-wal"))
        rng = random.Random(keep)
        with open(inst.db_path, "r+b") as f:
            f.seek(keep)
            f.write(bytes(rng.getrandbits(8) for _ in range(size - keep)))

    def test_corrupt_database_header_only(self):
        # The 100-byte header is intact, everything after is garbage.
        self.corrupt(100)
        self.refuses(r"malformed|corrupt|not a database")

    def test_corrupt_database_pages(self):
        # Page 1 (header and schema) intact, the table pages garbage.
        self.corrupt(16384)
        self.refuses(r"malformed|corrupt|not a database")


def self_signed(dir):
    """A self-signed certificate for 127.0.0.1, or None without openssl."""
    openssl = shutil.which("openssl")
    if not openssl:
        return None
    cert, key = os.path.join(dir, "cert.pem"), os.path.join(dir, "key.pem")
    r = subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       capture_output=True)
    return (cert, key) if r.returncode == 0 else None


class NetworkFaults(unittest.TestCase):
    """Each feed is stored at version 1 first; then one response fails."""

    def setUp(self):
        self.server = Server()
        self.inst = None

    def tearDown(self):
        self.server.stop()
        if self.inst:
            self.inst.cleanup()

    def scenario(self, fault, words, after_fault=None):
        feed = Versioned("net")
        self.server.routes["/net"] = feed
        self.inst = inst = Instance({"net": self.server.url("/net")})
        inst.ok("poll", "--all")
        self.assertEqual(inst.keys("net"), feed.keys(1))
        v1 = inst.validators("net")
        self.assertEqual(v1, (feed.etag(1), feed.last_modified(1)))
        feed.version = 2
        feed.fault = fault
        r = inst.freshet("poll", "--all")
        # One feed failing is not freshet failing.
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(r.seconds, 30)
        self.assertEqual(feed.served[-1], "fault")
        # Nothing of the failed response, the old state intact.
        extra = inst.keys("net") - feed.keys(1)
        self.assertFalse(extra, f"entries of the failed response stored: "
                         f"{sorted(extra)}; validators now "
                         f"{inst.validators('net')}")
        self.assertEqual(inst.keys("net"), feed.keys(1))
        self.assertEqual(inst.validators("net"), v1,
                         "validators of the failed response stored")
        self.assertIn("fetch failed", r.stderr)
        f = inst.feeds()["net"]
        self.assertTrue(f["status"].startswith("error"), f)
        self.assertTrue(f["last_error"], f)
        print(f"\n  status={f['status']!r} last_error={f['last_error']!r} "
              f"({r.seconds:.1f} s)", file=sys.stderr)
        for word in words:
            self.assertRegex(f["last_error"], word, f)
        self.assertEqual(f["entries"], len(feed.keys(1)))
        if after_fault:
            after_fault()
        # Recovery: the next poll gets version 2.
        inst.ok("poll", "--all")
        self.assertEqual(inst.keys("net"), feed.keys(2))
        self.assertEqual(inst.validators("net"),
                         (feed.etag(2), feed.last_modified(2)))
        self.assertTrue(inst.feeds()["net"]["status"].startswith("ok"))
        return f

    def first_poll_fails(self, url, words):
        self.inst = inst = Instance({"bad": url})
        r = inst.freshet("poll", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertLess(r.seconds, 30)
        f = inst.feeds()["bad"]
        print(f"\n  status={f['status']!r} last_error={f['last_error']!r} "
              f"({r.seconds:.1f} s)", file=sys.stderr)
        self.assertTrue(f["status"].startswith("error"), f)
        for word in words:
            self.assertRegex(f["last_error"] or "", word, f)
        self.assertEqual(inst.keys("bad"), set())
        self.assertEqual(inst.validators("bad"), (None, None))
        # The text listing shows the error too.
        text = inst.ok("list").stdout
        self.assertIn(f["last_error"], text)

    def test_dns_failure(self):
        # RFC 6761: .invalid never resolves. The feed redirects there.
        def redirect(h, feed):
            send(h, 302, b"", {"Location": "http://nonexistent.invalid/feed"})
        self.scenario(redirect, [r"(?i)resolve", r"nonexistent\.invalid"])

    def test_dns_failure_first_poll(self):
        self.first_poll_fails("http://nonexistent.invalid/feed.xml",
                              [r"(?i)resolve", r"nonexistent\.invalid"])

    def test_server_closes_mid_body(self):
        # What arrives is a complete feed of version 2, but the response
        # announced 1000 bytes more: it must not be believed.
        def close_early(h, feed):
            body = feed.body()
            h.send_response(200)
            for k, v in feed.headers().items():
                h.send_header(k, v)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(len(body) + 1000))
            h.end_headers()
            h.wfile.write(body)
            h.wfile.flush()
            h.close_connection = True
            h.connection.shutdown(socket.SHUT_RDWR)
        self.scenario(close_early, [r"(?i)closed|partial|remaining"])

    def test_short_content_length(self):
        # Content-Length says less than the body: what freshet reads ends
        # in the middle of the second item of version 2.
        def short(h, feed):
            body = feed.body()
            cut = body.index(b"</item>", body.index(b"</item>") + 1) - 40
            h.send_response(200)
            for k, v in feed.headers().items():
                h.send_header(k, v)
            h.send_header("Content-Type", "application/rss+xml")
            h.send_header("Content-Length", str(cut))
            h.end_headers()
            h.wfile.write(body)
            h.wfile.flush()
            h.close_connection = True
        self.scenario(short, [r"(?i)truncat|incomplete|premature|not a feed|"
                              r"parse|XML|end of"])

    def test_tls_to_plain_http_port(self):
        self.server.routes["/plain"] = lambda h, n: send(
            h, 200, Versioned("plain").body())
        self.first_poll_fails(
            f"https://127.0.0.1:{self.server.port}/plain",
            [r"(?i)ssl|tls"])

    def test_tls_self_signed_certificate(self):
        tmp = tempfile.mkdtemp(prefix="freshet-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        pair = self_signed(tmp)
        if pair is None:
            self.skipTest("openssl cannot make a certificate here")
        tls = Server(tls=pair)
        self.addCleanup(tls.stop)
        served = Versioned("net")
        served.version = 2
        tls.routes["/feed"] = served  # would be accepted if not verified

        def redirect(h, feed):
            send(h, 302, b"", {"Location": tls.url("/feed")})
        self.scenario(redirect, [r"(?i)certificate"])
        self.assertEqual(tls.count("/feed"), 0,
                         "a request went over the unverified connection")


if __name__ == "__main__":
    unittest.main(verbosity=2)
