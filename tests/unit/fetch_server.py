#!/usr/bin/env python3
"""fetch_server.py: the scripted HTTP/1.1 server test_fetch.c talks to.

Usage: fetch_server.py PORTFILE LOGFILE

Listens on 127.0.0.1 at an ephemeral port and writes the port number to
PORTFILE (atomically, once listening). Every request is appended to
LOGFILE as "METHOD PATH", its header lines exactly as received
("Name: value"), and a blank line. Exits when its parent process goes.

Routes (query strings are ignored for routing):
  /ok              200, body, ETag, Last-Modified, Cache-Control max-age
  /cond            304 when If-None-Match and If-Modified-Since are exactly
                   ETAG and LASTMOD, else 200 carrying them
  /gzip            gzip-encoded body (406 unless gzip is accepted)
  /p1 -> 301 /p2 -> 301 p3?x=1 -> /p3 200   (relative Locations)
  /m1 -> 301 /m2 -> 302 /ok
  /n1 -> 302 /p2 -> ...
  /t302 -> 302 /ok, /t307 -> 307 /ok, /t308 -> 308 /ok
  /loop            302 to itself
  /toftp           302 to ftp://
  /r429            429 Retry-After: 120
  /r429date        429 Retry-After: HTTP date 120 s ahead
  /r500, /r404     those statuses, with a body
  /drip            Content-Length 1000, one byte every 100 ms
  /stall           headers, then nothing for 30 s
  /big?n=N         N bytes with Content-Length
  /chunked?n=N     N bytes, chunked (no length up front)
  /bomb            8 MiB of zeros gzip-compressed (about 8 KiB on the wire)
  /reset           reads the request, then resets the connection
  /c/GROUP/N       200 after 100 ms; counts GROUP's concurrent connections
                   and requests
  /stats/GROUP     "maxconns=A maxreqs=B count=C"
"""

import gzip
import os
import socket
import struct
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ETAG = 'W/"x y;z"'
LASTMOD = 'Wednesday, 21-Oct-15 07:28:00 GMT'
OK_BODY = b'<rss version="2.0"><channel><title>ok</title></channel></rss>\n'
GZIP_BODY = b''.join(b'line %d of a compressible feed\n' % i
                     for i in range(2000))
BOMB = gzip.compress(b'\0' * (8 << 20), 9)

lock = threading.Lock()
stats = {}
log_path = None


def record(h):
    lines = ['%s %s\n' % (h.command, h.path)]
    lines += ['%s: %s\n' % (k, v) for k, v in h.headers.items()]
    with lock:
        with open(log_path, 'a', encoding='utf-8',
                  errors='surrogateescape') as f:
            f.write(''.join(lines) + '\n')


class Handler(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def setup(self):
        super().setup()
        self.groups = set()

    def finish(self):
        with lock:
            for g in self.groups:
                stats[g]['conns'] -= 1
        try:
            super().finish()
        except OSError:
            pass

    def handle(self):
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError):
            pass  # the client gave up: expected in several tests

    def log_message(self, *args):
        pass

    def reply(self, code, body=b'', headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def redirect(self, code, location):
        self.reply(code, b'moved\n', [('Location', location)])

    def arg(self, default):
        q = self.path.partition('?')[2]
        return int(q[2:]) if q.startswith('n=') else default

    def do_GET(self):
        record(self)
        path = self.path.partition('?')[0]
        try:
            self.route(path)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def route(self, path):
        port = self.server.server_address[1]
        if path == '/ok':
            self.reply(200, OK_BODY, [
                ('Content-Type', 'application/rss+xml; charset=utf-8'),
                ('ETag', '"abc-1"'),
                ('Last-Modified', 'Wed, 21 Oct 2015 07:28:00 GMT'),
                ('Cache-Control', 'public, max-age=900')])
        elif path == '/cond':
            if (self.headers.get('If-None-Match') == ETAG and
                    self.headers.get('If-Modified-Since') == LASTMOD):
                self.reply(304, b'', [('ETag', ETAG)])
            else:
                self.reply(200, OK_BODY, [('ETag', ETAG),
                                          ('Last-Modified', LASTMOD)])
        elif path == '/gzip':
            if 'gzip' not in self.headers.get('Accept-Encoding', ''):
                self.reply(406, b'gzip not accepted\n')
                return
            self.reply(200, gzip.compress(GZIP_BODY), [
                ('Content-Encoding', 'gzip'),
                ('Content-Type', 'text/plain')])
        elif path == '/p1':
            self.reply(301, b'moved\n', [
                ('Location', '/p2'), ('ETag', '"hop"'),
                ('Cache-Control', 'max-age=5'), ('Retry-After', '7')])
        elif path == '/p2':
            self.redirect(301, 'p3?x=1')
        elif path == '/p3':
            self.reply(200, b'p3 body\n')
        elif path == '/m1':
            self.redirect(301, '/m2')
        elif path == '/m2':
            self.redirect(302, '/ok')
        elif path == '/n1':
            self.redirect(302, '/p2')
        elif path == '/t302':
            self.redirect(302, '/ok')
        elif path == '/t307':
            self.redirect(307, '/ok')
        elif path == '/t308':
            self.redirect(308, 'http://127.0.0.1:%d/ok' % port)
        elif path == '/loop':
            self.redirect(302, '/loop')
        elif path == '/toftp':
            self.redirect(302, 'ftp://127.0.0.1:%d/x' % port)
        elif path == '/r429':
            self.reply(429, b'slow down\n', [('Retry-After', '120')])
        elif path == '/r429date':
            self.reply(429, b'slow down\n', [
                ('Retry-After', formatdate(time.time() + 120, usegmt=True))])
        elif path == '/r500':
            self.reply(500, b'oops\n')
        elif path == '/r404':
            self.reply(404, b'not here\n')
        elif path == '/drip':
            self.send_response(200)
            self.send_header('Content-Length', '1000')
            self.end_headers()
            self.wfile.flush()
            for _ in range(1000):
                self.wfile.write(b'x')
                self.wfile.flush()
                time.sleep(0.1)
        elif path == '/stall':
            self.send_response(200)
            self.send_header('Content-Length', '1000')
            self.end_headers()
            self.wfile.flush()
            self.close_connection = True
            time.sleep(30)
        elif path == '/big':
            self.reply(200, b'b' * self.arg(100000))
        elif path == '/chunked':
            n = self.arg(100000)
            self.send_response(200)
            self.send_header('Transfer-Encoding', 'chunked')
            self.end_headers()
            data = b'c' * n
            for i in range(0, n, 4096):
                c = data[i:i + 4096]
                self.wfile.write(b'%x\r\n%s\r\n' % (len(c), c))
            self.wfile.write(b'0\r\n\r\n')
        elif path == '/bomb':
            self.reply(200, BOMB, [('Content-Encoding', 'gzip')])
        elif path == '/reset':
            # SO_LINGER 0 makes close() send RST instead of FIN.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack('ii', 1, 0))
            os.close(self.connection.detach())
            self.close_connection = True
        elif path.startswith('/c/'):
            g = path.split('/')[2]
            with lock:
                s = stats.setdefault(g, dict(conns=0, maxconns=0, reqs=0,
                                             maxreqs=0, count=0))
                if g not in self.groups:
                    self.groups.add(g)
                    s['conns'] += 1
                    s['maxconns'] = max(s['maxconns'], s['conns'])
                s['reqs'] += 1
                s['maxreqs'] = max(s['maxreqs'], s['reqs'])
                s['count'] += 1
            time.sleep(0.1)
            with lock:
                s['reqs'] -= 1  # before replying: the next may start now
            self.reply(200, b'ok\n')
        elif path.startswith('/stats/'):
            g = path.split('/')[2]
            with lock:
                s = stats.get(g, dict(maxconns=0, maxreqs=0, count=0))
                body = 'maxconns=%d maxreqs=%d count=%d' % (
                    s['maxconns'], s['maxreqs'], s['count'])
            self.reply(200, body.encode())
        else:
            self.reply(404, b'no route\n')


def watch_parent(ppid):
    while os.getppid() == ppid:
        time.sleep(0.2)
    os._exit(0)


def main():
    global log_path
    portfile, log_path = sys.argv[1], sys.argv[2]
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer.request_queue_size = 64
    server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    threading.Thread(target=watch_parent, args=(os.getppid(),),
                     daemon=True).start()
    tmp = portfile + '.tmp'
    with open(tmp, 'w') as f:
        f.write('%d\n' % server.server_address[1])
    os.rename(tmp, portfile)
    server.serve_forever()


if __name__ == '__main__':
    main()
