#!/usr/bin/python3
"""http_hostile.py: `freshet run`'s HTTP server under hostile clients.

Runs the real binary ($FRESHET_BIN, default build/freshet) with a 10 s
poll interval against one feed served from 127.0.0.1, and while a normal
client (127.0.0.1) fetches /feed.atom every 200 ms, attacks from other
loopback addresses (127.0.0.2 and up, so the per-address limit applies to
the attackers and not to the normal client):

  idle       3000 connections that never send a byte (300 per address)
  slowloris  400 connections dribbling one header byte every 2 s for 20 s,
             and 20 silent ones that the server must close (idle timeout)
  oversized  1 MB headers, 5000 header lines, a 100 KB URL
  traversal  ../ and encoded variants: always 404, never a file
  smuggling  CL+TE, two Content-Lengths, chunked GET, a body holding a
             second request: one answer (400/413), never a second

Passes when every probe succeeded in under PROBE_MAX seconds, polling
went on at its interval throughout (the feed server saw no gap longer
than the interval plus GAP_SLACK), and the daemon is still serving.
Prints the probe latencies and poll gaps.

Python 3 standard library only. Exit 0 passed, 1 failed, 77 skipped
(no binary, or 127.0.0.2 not usable).
"""

import http.server
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

BIN = os.environ.get("FRESHET_BIN") or os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "build", "freshet")
INTERVAL = 10      # seconds between polls
GAP_SLACK = 5      # seconds a poll may be late
PROBE_MAX = 2.0    # seconds a normal request may take
PROBE_EVERY = 0.2  # seconds between normal requests

FEED = (b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        b"<link>http://example.com/</link><item><title>one</title>"
        b"<link>http://example.com/1</link><guid>1</guid></item>"
        b"</channel></rss>")

failures = []


def fail(msg):
    print("FAIL:", msg, flush=True)
    failures.append(msg)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FeedServer:
    """Serves FEED and records when each poll came."""

    def __init__(self):
        self.polls = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.polls.append(time.monotonic())
                self.send_response(200)
                self.send_header("Content-Type", "application/rss+xml")
                self.send_header("Content-Length", str(len(FEED)))
                self.end_headers()
                self.wfile.write(FEED)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


class Prober(threading.Thread):
    """The normal client: a fresh connection each time."""

    def __init__(self, base):
        super().__init__(daemon=True)
        self.base = base
        self.stop = threading.Event()
        self.latencies = []
        self.errors = []

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            try:
                with urllib.request.urlopen(self.base + "/feed.atom",
                                            timeout=10) as r:
                    r.read()
                    if r.status != 200:
                        self.errors.append(f"status {r.status}")
            except Exception as e:  # noqa: BLE001 - any failure counts
                self.errors.append(repr(e))
            self.latencies.append(time.monotonic() - t0)
            self.stop.wait(PROBE_EVERY)


def connect(port, source=None, timeout=5):
    s = socket.socket()
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def exchange(port, data, source="127.0.0.50"):
    """Sends data, half-closes, returns everything read until EOF."""
    s = connect(port, source)
    out = b""
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may hang up on an oversized request
        try:
            s.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except OSError:
        pass
    finally:
        s.close()
    return out


def statuses(resp):
    return [int(line.split()[1]) for line in resp.split(b"\r\n")
            if line.startswith(b"HTTP/1.") and len(line.split()) > 1]


def idle_flood(port):
    socks = []
    for i in range(3000):
        try:
            socks.append(connect(port, f"127.0.0.{2 + i % 10}"))
        except OSError:
            pass
    time.sleep(5)
    kept = 0
    for s in socks:
        s.setblocking(False)
        try:
            kept += s.recv(1) != b""
        except BlockingIOError:
            kept += 1
        except OSError:
            pass
        s.close()
    print(f"idle: {len(socks)} opened, {kept} kept by the server "
          f"(limit 64 per address)", flush=True)
    if kept > 64 * 10:
        fail(f"idle: the server kept {kept} connections from 10 addresses")


def slowloris(port):
    dribblers, silent = [], []
    for i in range(400):
        try:
            s = connect(port, f"127.0.0.{12 + i % 8}")
            s.sendall(b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            dribblers.append(s)
        except OSError:
            pass
    for i in range(20):
        silent.append(connect(port, "127.0.0.20"))
    end = time.monotonic() + 20
    while time.monotonic() < end:
        for s in dribblers:
            try:
                s.send(b"a")
            except OSError:
                pass
        time.sleep(2)
    closed = 0
    for s in silent:
        s.setblocking(False)
        try:
            closed += s.recv(1) == b""
        except BlockingIOError:
            pass
        except OSError:
            closed += 1
        s.close()
    for s in dribblers:
        s.close()
    print(f"slowloris: {len(dribblers)} dribbling for 20 s; "
          f"{closed} of {len(silent)} silent ones closed by the server",
          flush=True)
    if closed != len(silent):
        fail(f"slowloris: only {closed} of {len(silent)} idle connections "
             "timed out")


def oversized(port):
    big = b"a" * (1 << 20)
    cases = {
        "1 MB header": b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nX-Big: " + big
                       + b"\r\n\r\n",
        "5000 headers": b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n"
                        + b"".join(b"X-%d: y\r\n" % i for i in range(5000))
                        + b"\r\n",
        "100 KB URL": b"GET /" + b"a" * 100000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    }
    for name, req in cases.items():
        for _ in range(10):
            got = statuses(exchange(port, req))
            if got and got[0] < 400:
                fail(f"oversized {name}: status {got[0]}")
        print(f"oversized: {name} -> {got[0] if got else 'closed'}", flush=True)


def traversal(port):
    paths = ["/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd",
             "/..%2f..%2fetc%2fpasswd", "/widget.js/../../../etc/passwd",
             "//etc/passwd", "/%2fetc%2fpasswd", "/.%00./etc/passwd",
             "/feed.atom%00/../../etc/passwd", "/./feed.atom"]
    for path in paths:
        resp = exchange(port, b"GET " + path.encode() +
                        b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        got = statuses(resp)
        if b"root:" in resp or (got and got[0] == 200 and
                                b"<rss" not in resp and b"<feed" not in resp):
            fail(f"traversal {path}: {resp[:200]!r}")
    print(f"traversal: {len(paths)} paths, none served a file", flush=True)


def smuggling(port):
    second = b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
    cases = {
        "CL and TE": (b"POST /feed.atom HTTP/1.1\r\nHost: x\r\n"
                      b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"0\r\n\r\n" + second),
        "two CL": (b"GET /feed.atom HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
                   b"Content-Length: %d\r\n\r\n" % len(second) + second),
        "body holds a request": (b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n"
                                 b"Content-Length: %d\r\n\r\n" % len(second)
                                 + second),
        "chunked GET": (b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n"
                        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n"
                        % len(second) + second + b"\r\n0\r\n\r\n"),
        "space before colon": (b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n"
                               b"Content-Length : %d\r\n\r\n" % len(second)
                               + second),
        "TE with CL": (b"GET /feed.atom HTTP/1.1\r\nHost: x\r\n"
                       b"Transfer-Encoding: identity, chunked\r\n"
                       b"Content-Length: 5\r\n\r\n0\r\n\r\n" + second),
    }
    for name, req in cases.items():
        resp = exchange(port, req)
        got = statuses(resp)
        # libmicrohttpd 0.9.75 may repeat the head of its own error reply;
        # a second, different answer would be a smuggled request.
        if not got or got[0] not in (400, 413) or len(set(got)) > 1 or \
                b"freshet_" in resp:
            fail(f"smuggling {name}: {resp[:300]!r}")
        print(f"smuggling: {name} -> {got}", flush=True)


def main():
    if not os.access(BIN, os.X_OK):
        print("skip: no freshet binary at", BIN)
        return 77
    try:
        with socket.socket() as s:
            s.bind(("127.0.0.2", 0))
    except OSError:
        print("skip: cannot bind 127.0.0.2")
        return 77
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 8192 <= hard or (hard == resource.RLIM_INFINITY and soft < 8192):
        resource.setrlimit(resource.RLIMIT_NOFILE, (8192, hard))
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < 4096:
        print("skip: need 4096 file descriptors")
        return 77

    feeds = FeedServer()
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="freshet-hostile-")
    os.mkdir(os.path.join(tmp, "feeds.d"))
    with open(os.path.join(tmp, "freshet.conf"), "w") as f:
        f.write("[freshet]\ndatabase = freshet.db\noutput_dir = public\n"
                f"listen = 127.0.0.1:{port}\ninterval = {INTERVAL}s\n"
                f"min_interval = {INTERVAL}s\nmax_interval = {INTERVAL}s\n"
                "log_level = warn\n")
    with open(os.path.join(tmp, "feeds.d", "local.conf"), "w") as f:
        f.write(f"[local]\nurl = http://127.0.0.1:{feeds.port}/feed.rss\n")
    log = open(os.path.join(tmp, "freshet.log"), "w")
    proc = subprocess.Popen([BIN, "-c", os.path.join(tmp, "freshet.conf"),
                             "run"], stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(base + "/feed.atom", timeout=2):
                    break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline or proc.poll() is not None:
                    fail("freshet never served /feed.atom")
                    return 1
                time.sleep(0.2)

        prober = Prober(base)
        prober.start()
        start = time.monotonic()
        for attack in (idle_flood, slowloris, oversized, traversal,
                       smuggling):
            attack(port)
        time.sleep(1)
        prober.stop.set()
        prober.join()

        lat = sorted(prober.latencies)
        print(f"probes: {len(lat)}, median {lat[len(lat) // 2] * 1000:.1f} ms,"
              f" max {lat[-1] * 1000:.1f} ms, errors {len(prober.errors)}",
              flush=True)
        for e in prober.errors[:5]:
            fail(f"normal client: {e}")
        if lat[-1] > PROBE_MAX:
            fail(f"normal client waited {lat[-1]:.2f} s")
        polls = [t for t in feeds.polls if t >= start - INTERVAL]
        gaps = [b - a for a, b in zip(polls, polls[1:])]
        print(f"polls during the attacks: {len(polls)}, largest gap "
              f"{max(gaps) if gaps else 0:.1f} s", flush=True)
        if not gaps or max(gaps) > INTERVAL + GAP_SLACK or \
                time.monotonic() - polls[-1] > INTERVAL + GAP_SLACK:
            fail(f"polling was delayed: gaps {[round(g, 1) for g in gaps]}")
        if proc.poll() is not None:
            fail(f"freshet exited {proc.returncode}")
        with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
            if r.status != 200:
                fail(f"/metrics answered {r.status}")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        feeds.httpd.shutdown()
        if failures:
            print("freshet log kept in", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print("FAILED" if failures else "passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
