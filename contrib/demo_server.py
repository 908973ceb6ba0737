#!/usr/bin/python3
"""Serves the demo feeds in data/demo/ on 127.0.0.1, for `run-demo.sh`.

Dates in the feeds are written relative to now ({{-12m}}, {{-5h}}, {{-3d}},
{{-2w}}) and filled in when served, RFC 822 in RSS and RFC 3339 in Atom, so
the demo always has fresh posts ("12 mins ago"). Standard library only.

Usage: demo_server.py PORT
"""
import email.utils
import http.server
import os
import re
import sys
import time

DEMO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                    "demo")
UNITS = {"m": 60, "h": 3600, "d": 86400, "w": 604800}
TYPES = {".rss": "application/rss+xml; charset=utf-8",
         ".atom": "application/atom+xml; charset=utf-8"}


def fill(text, ext, now):
    def date(m):
        t = now - int(m.group(1)) * UNITS[m.group(2)]
        if ext == ".rss":
            return email.utils.formatdate(t, usegmt=True)
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    return re.sub(r"\{\{-(\d+)([mhdw])\}\}", date, text)


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        name = os.path.basename(self.path.split("?")[0])
        ext = os.path.splitext(name)[1]
        path = os.path.join(DEMO, name)
        if ext not in TYPES or not os.path.isfile(path):
            self.send_error(404)
            return
        with open(path, encoding="utf-8") as f:
            body = fill(f.read(), ext, int(time.time())).encode()
        self.send_response(200)
        self.send_header("Content-Type", TYPES[ext])
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    port = int(sys.argv[1])
    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
