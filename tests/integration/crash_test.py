#!/usr/bin/python3
"""Crash safety: `freshet run` killed with SIGKILL at random moments.

A scripted HTTP server on 127.0.0.1 serves ~30 feeds whose content moves
on with (almost) every request: new entries, rewritten entries, changing
validators, 304s, slow and dripping bodies, links shared between feeds.
`freshet run` polls them continuously (interval 1s) and publishes. It is
killed with SIGKILL after a seeded random delay and restarted, CRASH_KILLS
times (default 200). Seven kills in ten come 0-400 ms after the start; the
others 0-15 ms after the daemon logs "started" or "poll cycle done", that
is while it publishes. So kills land while starting, fetching, storing and
publishing (the test prints the last log message before each kill). After
every kill, with the process dead, the test opens the database read-only
and checks:

  - PRAGMA integrity_check is ok, foreign keys hold;
  - everything committed before is still there (the set of (feed, key) only
    grows; retention is off), and validators never go back in time;
  - no entry is stored twice: (feed_id, key), guid and link unique per feed,
    entry_count equals the rows; only keys the server really sent;
  - validators are never stored without their entries: the server's ETag
    and Last-Modified encode the version of the response that carried them,
    and every entry of that version is in the database (and both
    validators, when present, name the same version);
  - cross-feed duplicates resolved: dup_of points at a primary of another
    feed with the same canonical link;
  - every published file parses (feed.atom, feed.rss, feeds.opml as XML,
    feed.json and recent.json as JSON), every published item is an entry
    the database still holds, and at most one temporary file is left over.

Then a clean run ends with SIGTERM and exit 0, and a second test checks
that a restarted daemon honours the persisted due times instead of
fetching everything again.

Environment: FRESHET_BIN (default build/freshet), CRASH_SEED (default
20241125), CRASH_KILLS (default 200). A failure prints the seed; rerun
with CRASH_SEED=... to replay the same kill delays and server choices
(timing still varies from run to run).
"""
import email.utils
import http.server
import json
import os
import random
import re
import shutil
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
import xml.etree.ElementTree as ET

BIN = os.environ.get("FRESHET_BIN") or os.path.join(
    os.path.dirname(__file__), "..", "..", "build", "freshet")
SEED = int(os.environ.get("CRASH_SEED", "20241125"))
KILLS = int(os.environ.get("CRASH_KILLS", "200"))
# Each incarnation lives this long at most before SIGKILL (seconds).
MAX_DELAY = float(os.environ.get("CRASH_MAX_DELAY", "0.4"))

NFEEDS = 30
KINDS = ("fresh", "cond", "lm", "slow", "update", "big")
LM_BASE = 1_700_000_000  # Last-Modified of version v is LM_BASE + 60 v
PUBLISHED = ("feed.atom", "feed.rss", "feeds.opml", "feed.json",
             "recent.json")
TMP_RE = re.compile(r"^\.(feed\.atom|feed\.rss|feed\.json|feeds\.opml|"
                    r"recent\.json)\.tmp......$")
ETAG_RE = re.compile(r'^(?:W/)?"(?P<feed>[a-z0-9]+)-v(?P<v>\d+)"$')


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Feed:
    """One scripted feed. version 0 = nothing served yet."""

    def __init__(self, index):
        self.index = index
        self.name = f"f{index}"
        self.kind = KINDS[index % len(KINDS)]
        self.version = 0
        self.new_per_version = 3 if self.kind == "big" else 2
        self.window = 30 if self.kind == "big" else 8
        # Feeds 0-11 share links in pairs: cross-feed duplicates.
        self.link_base = (f"http://example.com/pair{index // 2}"
                          if index < 12 else f"http://example.com/{self.name}")

    def keys(self, v):
        top = self.new_per_version * v
        return [f"{self.name}-{k}"
                for k in range(max(1, top - self.window + 1), top + 1)]

    def etag(self, v):
        if self.kind == "lm":
            return None
        return (f'W/"{self.name}-v{v}"' if self.kind == "fresh"
                else f'"{self.name}-v{v}"')

    def last_modified(self, v):
        if self.kind in ("cond", "slow"):
            return None
        return email.utils.formatdate(LM_BASE + 60 * v, usegmt=True)

    def body(self, v, start):
        items = []
        for key in self.keys(v):
            k = int(key.rsplit("-", 1)[1])
            title = f"{self.name} post {k}"
            if self.kind == "update":
                title += f" rev {v}"  # every fetch rewrites stored entries
            date = email.utils.formatdate(start - 3 * 86400 + 60 * k,
                                          usegmt=True)
            text = f"Body of {key} at version {v}. "
            if self.kind == "big":
                text *= 60
            items.append(
                f"<item><title>{title}</title>"
                f"<link>{self.link_base}/{k}</link><guid>{key}</guid>"
                f"<pubDate>{date}</pubDate>"
                f"<description>{text}</description></item>")
        return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
                f"<channel><title>Feed {self.name}</title>"
                f"<link>http://example.com/{self.name}/</link>"
                f"{''.join(items)}</channel></rss>").encode()


def version_of_etag(etag):
    m = ETAG_RE.match(etag)
    return (m.group("feed"), int(m.group("v"))) if m else (None, None)


def version_of_lm(lm):
    t = email.utils.parsedate_to_datetime(lm).timestamp()
    v, rest = divmod(int(t) - LM_BASE, 60)
    return v if rest == 0 else None


class Server:
    """Serves /NAME for every Feed; remembers every key it ever sent."""

    def __init__(self, feeds, seed, start):
        self.feeds = {f"/{f.name}": f for f in feeds}
        self.rng = random.Random(seed ^ 0x5EED)
        self.lock = threading.Lock()
        self.sent_keys = set()  # (feed name, key)
        self.requests = 0
        self.counts = {"200": 0, "304": 0}
        self.start = start
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                feed = server.feeds.get(self.path)
                if feed is None:
                    self.send_error(404)
                    return
                status, body, headers, pause, drip = server.answer(
                    feed, self.headers)
                if pause:
                    time.sleep(pause)
                try:
                    self.send_response(status)
                    for k, v in headers.items():
                        self.send_header(k, v)
                    if status == 200:
                        self.send_header("Content-Type",
                                         "application/rss+xml")
                        self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if status == 200:
                        if drip:
                            step = max(1, len(body) // 4)
                            for i in range(0, len(body), step):
                                self.wfile.write(body[i:i + step])
                                self.wfile.flush()
                                time.sleep(drip)
                        else:
                            self.wfile.write(body)
                except OSError:
                    pass  # the client was killed: part of the test

        class Threaded(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

            def handle_error(self, request, client_address):
                pass

        self.httpd = Threaded(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)
        self.thread.start()

    def answer(self, feed, headers):
        """Decides one response under the lock; records what it sends."""
        with self.lock:
            self.requests += 1
            rng = self.rng
            inm = headers.get("If-None-Match")
            ims = headers.get("If-Modified-Since")
            current = feed.version
            up_to_date = current > 0 and (
                (inm is not None and inm == feed.etag(current)) or
                (inm is None and ims is not None and
                 ims == feed.last_modified(current)))
            if feed.kind in ("cond", "lm") and up_to_date and \
                    rng.random() < 0.5:
                self.counts["304"] += 1
                hdr = {}
                if feed.etag(current):
                    hdr["ETag"] = feed.etag(current)
                return 304, b"", hdr, 0, 0
            if feed.kind in ("cond", "lm") and current > 0 and not up_to_date:
                v = current  # the client is behind: serve what is current
            else:
                v = feed.version = current + 1
            for key in feed.keys(v):
                self.sent_keys.add((feed.name, key))
            self.counts["200"] += 1
            hdr = {}
            if feed.etag(v):
                hdr["ETag"] = feed.etag(v)
            if feed.last_modified(v):
                hdr["Last-Modified"] = feed.last_modified(v)
            pause = drip = 0
            if feed.kind == "slow":
                pause = rng.uniform(0.02, 0.25)
                drip = rng.choice((0, 0.01, 0.03))
            elif rng.random() < 0.1:
                pause = rng.uniform(0, 0.05)
            return 200, feed.body(v, self.start), hdr, pause, drip

    def url(self, feed):
        return f"http://127.0.0.1:{self.port}/{feed.name}"

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


class Instance:
    def __init__(self, server, feeds, **settings):
        self.dir = tempfile.mkdtemp(prefix="freshet-crash-")
        conf = {"database": "freshet.db", "output_dir": "public",
                "listen": f"127.0.0.1:{free_port()}",
                "interval": "1s", "min_interval": "1s", "max_interval": "1s",
                "timeout": "5s", "connect_timeout": "2s",
                "concurrency": "32", "per_host": "8", "items": "60",
                "recent": "20", "log_level": "debug"}
        conf.update(settings)
        with open(self.path("freshet.conf"), "w") as f:
            f.write("[freshet]\n")
            for k, v in conf.items():
                f.write(f"{k} = {v}\n")
        os.mkdir(self.path("feeds.d"))
        with open(self.path("feeds.d", "crash.conf"), "w") as f:
            for feed in feeds:
                f.write(f"[{feed.name}]\nurl = {server.url(feed)}\n\n")
        self.logs = self.path("logs")
        os.mkdir(self.logs)

    def path(self, *p):
        return os.path.join(self.dir, *p)

    def start(self, n):
        log = open(os.path.join(self.logs, f"run-{n:04d}.log"), "w")
        try:
            return subprocess.Popen(
                [BIN, "-c", self.path("freshet.conf"), "run"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        finally:
            log.close()

    def log_of(self, n):
        with open(os.path.join(self.logs, f"run-{n:04d}.log"),
                  errors="replace") as f:
            return f.read()

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class Snapshot:
    def __init__(self):
        self.keys = set()  # (feed name, key)
        self.versions = {}  # feed name -> version named by its validators
        self.entries = 0


def phase_of(log):
    """What the daemon was doing when it died: its last log message."""
    lines = [x for x in log.splitlines() if 'msg="' in x]
    if not lines:
        return "before the first log line"
    msg = re.search(r'msg="([^"]*)"', lines[-1]).group(1)
    if msg == "fetched":
        msg += " (stored)" if " feed=" in lines[-1] else " (transfer done)"
    return msg


class CrashTest(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self.start_time = int(time.time())
        self.feeds = [Feed(i) for i in range(NFEEDS)]
        self.server = Server(self.feeds, SEED, self.start_time)
        self.inst = Instance(self.server, self.feeds)
        self.by_name = {f.name: f for f in self.feeds}

    def tearDown(self):
        self.server.stop()
        if not getattr(self, "keep", False):
            self.inst.cleanup()

    def fail_with_seed(self, what, n=None):
        self.keep = True
        where = f" (after kill {n})" if n is not None else ""
        self.fail(f"{what}{where}\nCRASH_SEED={SEED} CRASH_KILLS={KILLS}; "
                  f"kept for inspection: {self.inst.dir}")

    # ---- the checks run after every kill ---------------------------------

    def check_database(self, prev, n):
        db = self.inst.path("freshet.db")
        snap = Snapshot()
        if not os.path.exists(db):
            if prev.keys:
                self.fail_with_seed("the database vanished", n)
            return snap
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            return self._check_database(con, prev, snap, n)
        finally:
            con.close()

    def _check_database(self, con, prev, snap, n):
        problems = []
        ic = [r[0] for r in con.execute("PRAGMA integrity_check")]
        if ic != ["ok"]:
            problems.append(f"integrity_check: {ic[:5]}")
        tables = {r[0] for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "entries" not in tables:
            # Killed before the first migration committed: nothing yet.
            if prev.keys or problems:
                self.fail_with_seed(f"schema missing; {problems}", n)
            return snap
        fk = con.execute("PRAGMA foreign_key_check").fetchall()
        if fk:
            problems.append(f"foreign_key_check: {fk[:5]}")

        rows = con.execute(
            "SELECT f.name, e.key, e.guid, e.link, e.feed_id, e.id, e.dup_of,"
            " e.canonical_link FROM entries e LEFT JOIN feeds f"
            " ON f.id = e.feed_id").fetchall()
        by_id = {}
        per_feed = {}
        for name, key, guid, link, feed_id, eid, dup_of, canon in rows:
            if name is None:
                problems.append(f"entry {eid} of a missing feed {feed_id}")
                continue
            by_id[eid] = (feed_id, dup_of, canon)
            snap.keys.add((name, key))
            pf = per_feed.setdefault(name, {"n": 0, "keys": set(),
                                            "guids": set(), "links": set()})
            pf["n"] += 1
            pf["keys"].add(key)
            pf["guids"].add(guid)
            pf["links"].add(link)
        snap.entries = len(rows)
        for name, pf in per_feed.items():
            for what in ("keys", "guids", "links"):
                if len(pf[what]) != pf["n"]:
                    problems.append(f"feed {name}: {pf['n']} rows but "
                                    f"{len(pf[what])} distinct {what}")
        dups = con.execute("SELECT feed_id, key, count(*) FROM entries"
                           " GROUP BY feed_id, key HAVING count(*) > 1"
                           ).fetchall()
        if dups:
            problems.append(f"duplicate (feed_id, key): {dups[:5]}")
        with self.server.lock:
            unknown = snap.keys - self.server.sent_keys
        if unknown:
            problems.append(f"keys the server never sent: "
                            f"{sorted(unknown)[:5]}")
        lost = prev.keys - snap.keys
        if lost:
            problems.append(f"{len(lost)} committed entries lost: "
                            f"{sorted(lost)[:5]}")

        for name, count, actual in con.execute(
                "SELECT name, entry_count, (SELECT count(*) FROM entries"
                " WHERE feed_id = feeds.id) FROM feeds"):
            if count != actual:
                problems.append(f"feed {name}: entry_count {count}, "
                                f"{actual} rows")

        # Validators only with their entries, and never going back.
        for name, etag, lm in con.execute(
                "SELECT name, etag, last_modified FROM feeds"):
            feed = self.by_name.get(name)
            if feed is None:
                problems.append(f"unknown feed row {name}")
                continue
            versions = []
            if etag is not None:
                owner, v = version_of_etag(etag)
                if owner != name:
                    problems.append(f"feed {name}: foreign etag {etag!r}")
                    continue
                versions.append(v)
            if lm is not None:
                v = version_of_lm(lm)
                if v is None:
                    problems.append(f"feed {name}: odd last_modified {lm!r}")
                    continue
                versions.append(v)
            if not versions:
                continue
            if len(set(versions)) != 1:
                problems.append(f"feed {name}: etag {etag!r} and "
                                f"last_modified {lm!r} of different responses")
            v = versions[0]
            missing = [k for k in feed.keys(v) if (name, k) not in snap.keys]
            if missing:
                problems.append(f"feed {name}: validators of version {v} "
                                f"stored without entries {missing}")
            if v < prev.versions.get(name, 0):
                problems.append(f"feed {name}: validators went back from "
                                f"version {prev.versions[name]} to {v}")
            snap.versions[name] = v

        # Cross-feed duplicates point at a primary of another feed.
        primaries = {}
        for eid, (feed_id, dup_of, canon) in by_id.items():
            if dup_of is None:
                if canon is not None:
                    primaries.setdefault(canon, set()).add(feed_id)
                continue
            target = by_id.get(dup_of)
            if target is None:
                problems.append(f"entry {eid}: dup_of {dup_of} missing")
            elif target[1] is not None:
                problems.append(f"entry {eid}: dup_of {dup_of} is a chain")
            elif target[0] == feed_id or target[2] != canon:
                problems.append(f"entry {eid}: dup_of {dup_of} is not another"
                                f" feed's entry with the same link")
        split = {c: f for c, f in primaries.items() if len(f) > 1}
        if split:
            problems.append(f"links with primaries in several feeds: "
                            f"{sorted(split.items())[:3]}")
        if problems:
            self.fail_with_seed("database check failed:\n  " +
                                "\n  ".join(problems[:20]), n)
        return snap

    def check_published(self, snap, n, stats):
        known = {"freshet.conf", "feeds.d", "logs", "public", "freshet.db",
                 "freshet.db-wal", "freshet.db-shm", "freshet.db.lock"}
        stray = set(os.listdir(self.inst.dir)) - known
        if stray:
            self.fail_with_seed(f"unexpected files beside the database: "
                                f"{sorted(stray)}", n)
        wal = self.inst.path("freshet.db-wal")
        if os.path.exists(wal):
            stats["max_wal"] = max(stats["max_wal"], os.path.getsize(wal))
        out = self.inst.path("public")
        if not os.path.isdir(out):
            return
        names = os.listdir(out)
        tmp = [x for x in names if TMP_RE.match(x)]
        other = [x for x in names if x not in PUBLISHED and x not in tmp]
        stats["max_tmp"] = max(stats["max_tmp"], len(tmp))
        stats["kills_mid_write"] += bool(tmp)
        problems = []
        if other:
            problems.append(f"unexpected files in output_dir: {other}")
        if len(tmp) > 1:
            problems.append(f"{len(tmp)} temporary files left: {tmp}")
        links = {(name, link) for name, link in self.links(snap)}
        for doc in PUBLISHED:
            path = os.path.join(out, doc)
            if not os.path.exists(path):
                continue
            stats["files_checked"] += 1
            with open(path, "rb") as f:
                data = f.read()
            try:
                if doc.endswith(".json"):
                    value = json.loads(data)
                else:
                    value = ET.fromstring(data)
            except (ValueError, ET.ParseError) as e:
                problems.append(f"{doc} ({len(data)} bytes) does not parse: "
                                f"{e}")
                continue
            if doc == "feed.json":
                for item in value.get("items", []):
                    src = item.get("_freshet", {}).get("source", {})
                    if (src.get("name"), item.get("url")) not in links:
                        problems.append(f"feed.json shows an entry the "
                                        f"database does not hold: "
                                        f"{src.get('name')} {item.get('url')}")
                        break
        if problems:
            self.fail_with_seed("published files check failed:\n  " +
                                "\n  ".join(problems), n)

    def wait_for_log(self, n, event, timeout):
        deadline = time.time() + timeout
        needle = f'msg="{event}"'
        while time.time() < deadline:
            with open(os.path.join(self.inst.logs, f"run-{n:04d}.log"),
                      errors="replace") as f:
                if needle in f.read():
                    return True
            time.sleep(0.001)
        return False

    def links(self, snap):
        for name, key in snap.keys:
            feed = self.by_name[name]
            yield name, f"{feed.link_base}/{key.rsplit('-', 1)[1]}"

    # ---- the tests --------------------------------------------------------

    def test_sigkill_at_random_moments(self):
        rng = random.Random(SEED)
        prev = Snapshot()
        phases = {}
        stats = {"max_tmp": 0, "files_checked": 0, "kills_mid_write": 0,
                 "max_wal": 0}
        started = time.time()
        growth = []
        for n in range(KILLS):
            # Seven kills in ten anywhere in the first MAX_DELAY; the others
            # 0-15 ms after the daemon says it started or that a cycle is
            # done: when it publishes.
            r = rng.random()
            event = None
            if r < 0.15:
                event = "started"
            elif r < 0.3:
                event = "poll cycle done"
            delay = rng.uniform(0, 0.015 if event else MAX_DELAY)
            p = self.inst.start(n)
            if event:
                self.wait_for_log(n, event, 3)
            time.sleep(delay)
            rc = p.poll()
            if rc is not None:
                self.fail_with_seed(f"freshet run exited by itself with {rc} "
                                    f"after {delay:.3f}s:\n"
                                    f"{self.inst.log_of(n)[-3000:]}", n)
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)
            phase = phase_of(self.inst.log_of(n))
            phases[phase] = phases.get(phase, 0) + 1
            snap = self.check_database(prev, n)
            self.check_published(snap, n, stats)
            growth.append(len(snap.keys) - len(prev.keys))
            prev = snap
        crash_seconds = time.time() - started

        # A clean run after all that: starts, polls, stops on SIGTERM.
        p = self.inst.start(KILLS)
        time.sleep(2.5)
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            self.fail_with_seed("no exit within 20 s of SIGTERM")
        log = self.inst.log_of(KILLS)
        if p.returncode != 0:
            self.fail_with_seed(f"clean run exited {p.returncode}:\n"
                                f"{log[-3000:]}")
        snap = self.check_database(prev, KILLS)
        self.check_published(snap, KILLS, stats)
        for doc in PUBLISHED:
            self.assertTrue(os.path.exists(self.inst.path("public", doc)),
                            f"{doc} was never published")
        self.assertFalse([x for x in os.listdir(self.inst.path("public"))
                          if TMP_RE.match(x)],
                         "temporary files left after a clean run")

        # The test is only worth something if the daemon made progress
        # between kills.
        grew = sum(1 for g in growth if g > 0)
        print(f"\ncrash: seed={SEED} kills={KILLS} "
              f"time={crash_seconds:.1f}s entries={snap.entries} "
              f"feeds_with_validators={len(snap.versions)} "
              f"kills_after_which_entries_grew={grew} "
              f"server_requests={self.server.requests} "
              f"responses={self.server.counts} "
              f"published_files_checked={stats['files_checked']} "
              f"max_tmp_files={stats['max_tmp']} "
              f"snapshots_with_a_temp_file={stats['kills_mid_write']} "
              f"max_wal_bytes={stats['max_wal']}",
              file=sys.stderr)
        print("crash: last log message before each kill:", file=sys.stderr)
        for phase, count in sorted(phases.items(), key=lambda x: -x[1]):
            print(f"  {count:5d}  {phase}", file=sys.stderr)
        self.assertGreater(snap.entries, NFEEDS * 8,
                           "the daemon hardly stored anything")
        self.assertGreater(grew, KILLS // 10,
                           "entries grew after too few kills")
        self.assertEqual(len(snap.versions), NFEEDS,
                         "some feeds never stored validators")

    def test_restart_keeps_due_times(self):
        inst = Instance(self.server, self.feeds, interval="10m",
                        min_interval="1m", max_interval="1h")
        try:
            p = inst.start(0)
            deadline = time.time() + 30
            db = inst.path("freshet.db")
            done = False
            while time.time() < deadline and not done:
                time.sleep(0.2)
                try:
                    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                    try:
                        done = con.execute(
                            "SELECT count(*) FROM feeds WHERE last_fetch > 0"
                        ).fetchone()[0] == NFEEDS
                    finally:
                        con.close()
                except sqlite3.Error:
                    pass
            self.assertTrue(done, "not every feed was fetched in 30 s")
            time.sleep(0.5)  # publishing
            p.send_signal(signal.SIGKILL)
            p.wait(timeout=10)
            before = self.server.requests
            p = inst.start(1)
            time.sleep(3)
            again = self.server.requests - before
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=20)
            self.assertEqual(p.returncode, 0, inst.log_of(1)[-2000:])
            self.assertEqual(again, 0,
                             f"the restarted daemon fetched {again} feeds "
                             f"that were not due")
        finally:
            inst.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
