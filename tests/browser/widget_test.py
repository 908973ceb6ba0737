#!/usr/bin/python3
"""The recent-posts widget (data/widget/) in a real browser.

Debian's chromium runs headless with --dump-dom --virtual-time-budget: it
loads a page, runs its scripts in virtual time and prints the DOM, which this
test parses and checks. Test pages and crafted recent.json files always come
from a Python stdlib HTTP server on 127.0.0.1. widget.js, widget.css,
demo.html (also at /) and the default recent.json come from:
  - FRESHET_URL (e.g. http://127.0.0.1:8080), a freshet already running;
  - else, when FRESHET_BIN is set, a `freshet run` this test starts on a free
    127.0.0.1 port with FRESHET_WIDGET_DIR=data/widget, polling a feed from
    the test's server (and the files it serves are compared with data/widget/);
  - else data/widget/ through the test's own server, with a crafted
    recent.json.
With freshet, demo.html's lists are checked against freshet's /recent.json.

Checks: item count = data-limit, titles, hrefs, "N mins ago" computed in the
browser from published against the test's clock, the once-a-minute update,
the ago() table (the server's ago.c rules), hostile text shown as text and
never run, non-http(s) URLs not linked, the quiet failure (404, invalid JSON,
wrong shape, refused connection), accessibility markup, and no layout shift
(section height and the position of what follows, measured when the section
is inserted, when the skeleton appears and after the list renders).

Exit 0: pass, 1: fail, 77: skipped (no chromium). Environment: CHROMIUM
(the browser binary, default /usr/bin/chromium), FRESHET_URL, FRESHET_BIN,
WIDGET_TEST_VERBOSE=1 (every check and every dumped DOM).
"""

import concurrent.futures
import html.parser
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
WIDGET_DIR = os.path.normpath(os.path.join(HERE, '..', '..', 'data', 'widget'))
VERBOSE = os.environ.get('WIDGET_TEST_VERBOSE') == '1'
RUN_TIMEOUT = 60  # real seconds for one chromium run
CHROMIUM_FLAGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
    '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync',
    '--disable-default-apps', '--disable-extensions', '--mute-audio',
    '--no-default-browser-check', '--disable-breakpad',
    '--disable-features=Translate,MediaRouter,OptimizationHints',
    '--window-size=1280,1000', '--force-device-scale-factor=1',
    '--lang=en-US', '--hide-scrollbars',
]

failures = []
checks = 0
check_lock = threading.Lock()


def check(cond, what, detail=None):
    global checks
    with check_lock:
        checks += 1
    if cond:
        if VERBOSE:
            print('ok   ' + what)
    else:
        failures.append(what)
        print('FAIL ' + what + ('' if detail is None else ': ' + repr(detail)))
    return cond


def rfc3339(dt):
    return dt.strftime('%Y-%m-%dT%H:%M:%SZ')


def ago(age):
    """The server's ago.c, unit by unit."""
    if age < 60:
        return 'just now'
    units = [(3600, 60, None, 'min'), (86400, 3600, None, 'hour'),
             (7 * 86400, 86400, None, 'day'),
             (30 * 86400, 7 * 86400, None, 'week'),
             (365 * 86400, 30 * 86400, 11, 'month'),
             (float('inf'), 365 * 86400, None, 'year')]
    for below, size, cap, name in units:
        if age < below:
            n = age // size
            if cap is not None:
                n = min(n, cap)
            return '%d %s%s ago' % (n, name, '' if n == 1 else 's')
    raise AssertionError


# ---------------------------------------------------------------- DOM ----

VOID = {'area', 'base', 'br', 'col', 'embed', 'hr', 'img', 'input', 'link',
        'meta', 'source', 'track', 'wbr'}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []

    def text(self):
        return ''.join(c if isinstance(c, str) else c.text()
                       for c in self.children)

    def walk(self):
        for c in self.children:
            if isinstance(c, Node):
                yield c
                yield from c.walk()

    def find(self, tag=None, cls=None, **attrs):
        out = []
        for n in self.walk():
            if tag and n.tag != tag:
                continue
            if cls and cls not in n.attrs.get('class', '').split():
                continue
            if any(n.attrs.get(k.replace('_', '-')) != v
                   for k, v in attrs.items()):
                continue
            out.append(n)
        return out

    def by_id(self, id_):
        for n in self.walk():
            if n.attrs.get('id') == id_:
                return n
        return None


class TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node('#document', [], None)

    def handle_starttag(self, tag, attrs):
        n = Node(tag, [(k, v if v is not None else '') for k, v in attrs],
                 self.cur)
        self.cur.children.append(n)
        if tag not in VOID:
            self.cur = n

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.cur = self.cur.parent

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse(dom):
    b = TreeBuilder()
    b.feed(dom)
    b.close()
    return b.root


# ------------------------------------------------------------- server ----

class Server:
    """Test pages, crafted JSON and (unless FRESHET_URL) the widget files."""

    def __init__(self):
        self.files = {}  # path -> (content type, bytes)
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = 'HTTP/1.1'

            def log_message(self, fmt, *args):
                if VERBOSE:
                    sys.stderr.write('server: ' + (fmt % args) + '\n')

            def do_GET(self):
                outer.serve(self, True)

            def do_HEAD(self):
                outer.serve(self, False)

        self.httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.httpd.daemon_threads = True
        self.base = 'http://127.0.0.1:%d' % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever,
                                       daemon=True)

    def start(self):
        self.thread.start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def add(self, path, body, ctype='text/html; charset=utf-8'):
        if isinstance(body, str):
            body = body.encode('utf-8')
        self.files[path] = (ctype, body)

    def count(self, path):
        with self.lock:
            return sum(1 for p in self.requests if p == path)

    def serve(self, h, body):
        url = urllib.parse.urlsplit(h.path)
        with self.lock:
            self.requests.append(h.path)
        query = urllib.parse.parse_qs(url.query)
        if 'delay' in query:  # bounded, for the layout test's slow JSON
            time.sleep(min(int(query['delay'][0]), 3000) / 1000)
        path = url.path
        if path == '/':
            path = '/demo.html'
        entry = self.files.get(path)
        if entry is None and path in ('/widget.js', '/widget.css',
                                      '/demo.html'):
            types = {'.js': 'text/javascript; charset=utf-8',
                     '.css': 'text/css; charset=utf-8',
                     '.html': 'text/html; charset=utf-8'}
            with open(os.path.join(WIDGET_DIR, path[1:]), 'rb') as f:
                entry = (types[os.path.splitext(path)[1]], f.read())
        if entry is None:
            status, ctype, data = 404, 'text/plain', b'not found\n'
        else:
            status, (ctype, data) = 200, entry
        h.send_response(status)
        h.send_header('Content-Type', ctype)
        h.send_header('Content-Length', str(len(data)))
        h.send_header('Access-Control-Allow-Origin', '*')
        h.send_header('Cache-Control', 'no-store')
        h.end_headers()
        if body:
            h.wfile.write(data)


def free_port():
    """A port on 127.0.0.1 that refuses connections."""
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


# ------------------------------------------------------------ chromium ----

def find_chromium():
    if os.environ.get('CHROMIUM'):  # exclusive, so a skip can be tested
        c = os.environ['CHROMIUM']
        return c if os.access(c, os.X_OK) else None
    for c in ('/usr/bin/chromium', shutil.which('chromium'),
              shutil.which('chromium-browser')):
        if c and os.access(c, os.X_OK):
            return c
    return None


def dump(chromium, url, budget_ms=5000):
    """The DOM of url after budget_ms of virtual time, parsed."""
    profile = tempfile.mkdtemp(prefix='freshet-chromium-')
    try:
        cmd = [chromium] + CHROMIUM_FLAGS + [
            '--user-data-dir=' + profile,
            '--virtual-time-budget=%d' % budget_ms, '--dump-dom', url]
        # Its own process group, so a timeout ends every chromium process.
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             start_new_session=True)
        try:
            stdout, stderr = p.communicate(timeout=RUN_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            raise RuntimeError('chromium took over %d s on %s' % (
                RUN_TIMEOUT, url))
        out = stdout.decode('utf-8', 'replace')
        if p.returncode != 0 or '<html' not in out:
            raise RuntimeError('chromium exit %d on %s\n%s' % (
                p.returncode, url, stderr.decode('utf-8', 'replace')[-3000:]))
        if VERBOSE:
            print('--- ' + url + '\n' + out)
        return parse(out)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def results(doc):
    pre = doc.by_id('results')
    if pre is None or not pre.text().strip():
        return {}
    return json.loads(pre.text())


# Installed before anything else on every test page: records errors,
# rejections, widget events and the page title; flushes into <pre id=results>.
RECORDER = r'''<script>
(function () {
  var R = window.R = {errors: [], rejections: [], events: [], layout: {},
                      texts: {}, title0: document.title};
  function flush() {
    R.title = document.title;
    R.pwned = window.__pwned === undefined ? null : String(window.__pwned);
    R.now = Date.now();
    var pre = document.getElementById('results');
    if (pre) pre.textContent = JSON.stringify(R);
  }
  window.flush = flush;
  window.onerror = function (m) { R.errors.push(String(m)); flush(); };
  addEventListener('unhandledrejection', function (e) {
    R.rejections.push(String(e.reason)); flush();
  });
  document.addEventListener('freshet-recent:render', function (e) {
    R.events.push(['render', e.target.parentNode.id || '', e.detail.count]);
    var host = e.target.closest('[data-probe]');
    if (host) R.texts[host.getAttribute('data-probe')] =
      Array.prototype.map.call(e.target.querySelectorAll('.freshet-recent__time'),
                               function (t) { return t.textContent; });
    flush();
  });
  document.addEventListener('freshet-recent:error', function (e) {
    R.events.push(['error', e.target.parentNode.id || '']); flush();
  });
  document.addEventListener('DOMContentLoaded', flush);
  setTimeout(flush, 4000);
})();
</script>'''


def page(title, body, head=''):
    return ('<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<title>%s</title>%s%s</head><body>%s<pre id="results"></pre>'
            '</body></html>') % (title, RECORDER, head, body)


# --------------------------------------------------------------- data ----

HOSTILE_TITLE = ('<script>document.title="PWNED";window.__pwned="script"'
                 '</script><img src=x onerror="document.title=\'PWNED\';'
                 'window.__pwned=\'img\'">')
HOSTILE_EXCERPT = ('<img src=y onerror="window.__pwned=\'excerpt\'"> &amp; '
                   '<b>not bold</b>')
HOSTILE_SOURCE = '<svg onload="window.__pwned=\'source\'">Evil</svg>'


def at(**delta):
    """Now minus delta, RFC 3339. Ages only grow while a page loads, so
    the crafted ones sit just above a unit boundary: a slow run has most of
    a minute before a text changes."""
    return rfc3339(datetime.now(timezone.utc) - timedelta(**delta))


def entry(title, url, published, ago_s='', excerpt='An excerpt.',
          source=None, image=None):
    return {'title': title, 'url': url, 'excerpt': excerpt, 'image': image,
            'source': source if source is not None else {
                'title': 'Example Blog', 'url': 'https://example.org/',
                'name': 'example'},
            'author': None, 'published': published,
            'age_seconds': 0, 'ago': ago_s}


def crafted(base):
    """(recent.json items, [(title text, href or None, time text)] of the
    valid ones in order)."""
    items = [
        entry('Twelve minutes', 'https://example.org/posts/12',
              at(minutes=12, seconds=3), image='/t/pixel.png'),
        entry(HOSTILE_TITLE, 'https://example.org/posts/hostile',
              at(hours=25), excerpt=HOSTILE_EXCERPT,
              source={'title': HOSTILE_SOURCE, 'url': 'https://evil.example/',
                      'name': 'evil'}),
        entry('From the future',
              "javascript:window.__pwned='js';document.title='PWNED'",
              rfc3339(datetime.now(timezone.utc) + timedelta(hours=1)),
              source={'title': None, 'name': 'future',
                      'url': 'data:text/html,<script>alert(1)</script>'}),
        entry('Just over an hour', 'https://example.org/posts/90',
              at(minutes=60, seconds=3), image='javascript:alert(1)'),
        entry('No date', 'mailto:someone@example.org', None, '3 hours ago'),
        entry('Bad date', '/relative/path', 'yesterday', '2 days ago'),
        None,
        entry('Eight days', 'https://example.org/posts/8d', at(days=8)),
        entry('Forty days', 'https://example.org/posts/40d', at(days=40)),
        entry('Almost a year', 'https://example.org/posts/364d', at(days=364)),
        entry('Two years', 'https://example.org/posts/800d', at(days=800)),
        entry(42, 'https://example.org/posts/number', at(days=3, hours=1),
              excerpt=None, source={}),
        entry('FTP', 'ftp://example.org/file', at(seconds=63)),
        entry('Plain http', 'http://example.org/posts/http', at(days=1000)),
    ]
    expect = [
        ('Twelve minutes', 'https://example.org/posts/12', '12 mins ago'),
        (HOSTILE_TITLE, 'https://example.org/posts/hostile', '1 day ago'),
        ('From the future', None, 'just now'),
        ('Just over an hour', 'https://example.org/posts/90', '1 hour ago'),
        ('No date', None, '3 hours ago'),
        ('Bad date', base + '/relative/path', '2 days ago'),
        ('Eight days', 'https://example.org/posts/8d', '1 week ago'),
        ('Forty days', 'https://example.org/posts/40d', '1 month ago'),
        ('Almost a year', 'https://example.org/posts/364d', '11 months ago'),
        ('Two years', 'https://example.org/posts/800d', '2 years ago'),
        ('https://example.org/posts/number',
         'https://example.org/posts/number', '3 days ago'),
        ('FTP', None, '1 min ago'),
        ('Plain http', 'http://example.org/posts/http', '2 years ago'),
    ]
    return items, expect


def recent(items):
    return json.dumps({'title': 'Test', 'link': 'https://example.org/',
                       'generated': at(), 'items': items})


PIXEL = bytes.fromhex(
    '89504e470d0a1a0a0000000d4948445200000001000000010806000000'
    '1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2273d'
    'b50000000049454e44ae426082')


# -------------------------------------------------------------- checks ----

def widgets(doc):
    return doc.find('section', cls='freshet-recent')


def rendered(sec):
    """[(title text, href or None, time text, time node)] of a section."""
    out = []
    for li in sec.find('li', cls='freshet-recent__item'):
        t = li.find(cls='freshet-recent__title')
        a = t[0].find('a') if t else []
        tm = li.find(cls='freshet-recent__time')
        out.append((t[0].text() if t else None,
                    a[0].attrs.get('href') if a else None,
                    tm[0].text() if tm else None, tm[0] if tm else None))
    return out


def check_section(sec, name, title, expect, items):
    """Structure, text, links and times of one rendered widget."""
    heading = sec.find('h2')
    check(len(heading) == 1 and heading[0].text() == title,
          name + ': heading text', heading and heading[0].text())
    check(heading and sec.attrs.get('aria-labelledby') ==
          heading[0].attrs.get('id') and heading[0].attrs.get('id'),
          name + ': section aria-labelledby names the heading')
    check('aria-busy' not in sec.attrs, name + ': aria-busy removed')
    lists = sec.find('ol')
    check(len(lists) == 1, name + ': one <ol>')
    check(not sec.find(cls='freshet-recent__item--skeleton'),
          name + ': skeleton gone')
    got = rendered(sec)
    check(len(got) == len(expect), name + ': item count', len(got))
    for i, ((t, href, tm, node), (et, ehref, etm)) in enumerate(
            zip(got, expect)):
        check(t == et, '%s: item %d title' % (name, i), t)
        check(href == ehref, '%s: item %d href' % (name, i), href)
        check(tm == etm, '%s: item %d time text' % (name, i), tm)
    # <time datetime> is the published string, with a full date title.
    valid = [it for it in items if isinstance(it, dict)]
    for i, (_, _, _, node) in enumerate(got):
        pub = valid[i]['published'] if i < len(valid) else None
        if node is None:
            continue
        if pub and pub[:1].isdigit():
            check(node.tag == 'time' and node.attrs.get('datetime') == pub
                  and node.attrs.get('title'),
                  '%s: item %d <time datetime> and title' % (name, i),
                  node.attrs)
        else:
            check(node.tag == 'span', '%s: item %d server ago is a fallback '
                  'span, not <time>' % (name, i), node.tag)
    for a in sec.find('a'):
        href = a.attrs.get('href', '')
        check(href.startswith(('http://', 'https://')),
              name + ': only http(s) links', href)
        check(a.attrs.get('rel') == 'noopener', name + ': rel=noopener',
              a.attrs)
    check(not sec.find('script') and not sec.find('svg') and
          not sec.find('b'), name + ': no markup from feed text')


def test_main(chromium, srv, W):
    """Script tag form, limit 5; <div> form, all items, title, images;
    <div> form with data-limit=2; one stylesheet, one fetch."""
    items, expect = crafted(srv.base)
    srv.add('/t/data.json', recent(items), 'application/json')
    srv.add('/t/pixel.png', PIXEL, 'image/png')
    body = '''
<main><p id="before">Before the widget.</p>
<div id="sidebar" data-probe="script">
<script src="%(W)s/widget.js" data-src="/t/data.json?main" data-limit="5" async></script>
</div>
<div id="all" data-freshet-recent data-src="/t/data.json?main" data-limit="50"
     data-title="Elsewhere &amp; <more>" data-images="true" data-probe="all"></div>
<div id="two" data-freshet-recent data-src="/t/data.json?main" data-limit="2"></div>
<div id="bad-limit" data-freshet-recent data-src="/t/data.json?main" data-limit="lots"></div>
<p id="after">After the widget.</p></main>''' % {'W': W}
    srv.add('/t/main.html', page('Main page', body))
    doc = dump(chromium, srv.base + '/t/main.html')
    r = results(doc)
    check(r.get('errors') == [] and r.get('rejections') == [],
          'main: nothing thrown to window.onerror', r)
    check(r.get('pwned') is None, 'main: hostile payload never ran',
          r.get('pwned'))
    check(r.get('title') == 'Main page' and doc.find('title')[0].text() ==
          'Main page', 'main: document.title untouched', r.get('title'))
    check(sorted(e[0] for e in r.get('events', [])) == ['render'] * 4,
          'main: four render events', r.get('events'))
    check(srv.count('/t/data.json?main') == 1,
          'main: one fetch shared by four widgets',
          srv.count('/t/data.json?main'))
    links = [n for n in doc.find('link') if 'data-freshet-css' in n.attrs]
    check(len(links) == 1 and links[0].attrs.get('href') ==
          W + '/widget.css', 'main: widget.css linked once, next to widget.js',
          [n.attrs for n in links])

    side = doc.by_id('sidebar')
    secs = widgets(side)
    check(len(secs) == 1, 'main: script form renders once', len(secs))
    script = side.find('script')[0]
    siblings = [c for c in side.children if isinstance(c, Node)]
    check(siblings.index(secs[0]) == siblings.index(script) + 1,
          'main: section right after the script tag')
    check_section(secs[0], 'script form', 'Recent Posts', expect[:5], items)

    host = doc.by_id('all')
    secs = widgets(host)
    check(len(secs) == 1, 'main: div form renders once', len(secs))
    check_section(secs[0], 'div form', 'Elsewhere & <more>', expect, items)
    imgs = secs[0].find('img')
    check(len(imgs) == 1 and imgs[0].attrs.get('src') ==
          srv.base + '/t/pixel.png' and imgs[0].attrs.get('alt') == '',
          'div form: only the http(s) image shown, alt=""',
          [i.attrs for i in imgs])
    check(not widgets(doc.by_id('sidebar'))[0].find('img'),
          'script form: no images unless data-images="true"')
    # The hostile strings are literal text.
    hostile = secs[0].find('li', cls='freshet-recent__item')[1]
    check(hostile.find(cls='freshet-recent__excerpt')[0].text() ==
          HOSTILE_EXCERPT, 'hostile excerpt shown as text')
    check(hostile.find(cls='freshet-recent__source')[0].text() ==
          HOSTILE_SOURCE, 'hostile source shown as text')
    future = secs[0].find('li', cls='freshet-recent__item')[2]
    src = future.find(cls='freshet-recent__source')
    check(src and src[0].tag == 'span' and src[0].text() == 'future',
          'data: source URL not linked, name shown', src and src[0].tag)
    check(doc.by_id('before').text() == 'Before the widget.' and
          doc.by_id('after').text() == 'After the widget.',
          'main: page content intact')

    two = widgets(doc.by_id('two'))
    check(len(two) == 1 and len(rendered(two[0])) == 2,
          'data-limit=2 shows 2', two and len(rendered(two[0])))
    bad = widgets(doc.by_id('bad-limit'))
    check(len(bad) == 1 and len(rendered(bad[0])) == 5,
          'data-limit=lots shows the default 5', bad and len(rendered(bad[0])))


def test_tick(chromium, srv, W):
    """The times are recomputed every minute in the browser."""
    items = [entry('Seconds old', 'https://example.org/a', at(seconds=3)),
             entry('Almost an hour', 'https://example.org/b',
                   at(minutes=59, seconds=3)),
             entry('Almost a day', 'https://example.org/c',
                   at(hours=23, minutes=59, seconds=3)),
             entry('No date', 'https://example.org/d', None, '5 mins ago')]
    srv.add('/t/tick.json', recent(items), 'application/json')
    body = ('<div id="w" data-freshet-recent data-src="/t/tick.json" '
            'data-probe="tick"></div><script src="%s/widget.js" async></script>'
            '<script>setTimeout(flush, 150000);</script>') % W
    srv.add('/t/tick.html', page('Tick', body))
    start = time.time()
    doc = dump(chromium, srv.base + '/t/tick.html', budget_ms=155000)
    r = results(doc)
    check(r.get('texts', {}).get('tick') ==
          ['just now', '59 mins ago', '23 hours ago', '5 mins ago'],
          'tick: times at render', r.get('texts'))
    got = [x[2] for x in rendered(widgets(doc)[0])] if widgets(doc) else None
    check(got == ['2 mins ago', '1 hour ago', '1 day ago', '5 mins ago'],
          'tick: times after 150 s of (virtual) time', got)
    check(r.get('errors') == [], 'tick: no errors', r.get('errors'))
    check(r.get('now', 0) / 1000 - start > 140,
          'tick: the page clock advanced', r.get('now'))


def test_ago_table(chromium, srv, W):
    """FreshetRecent.ago(seconds) against ago.c's rules at every boundary."""
    ages = [-86400, -1, 0, 1, 59, 60, 61, 119, 120, 3599, 3600, 7199, 7200,
            86399, 86400, 172799, 172800, 604799, 604800, 1209599, 1209600,
            2591999, 2592000, 5183999, 5184000, 31103999, 31104000,
            31535999, 31536000, 63071999, 63072000, 3153600000]
    head = '<script src="%s/widget.js" async></script>' % W
    body = '''<script>
(function wait(n) {
  if (!window.FreshetRecent) return n > 0 && setTimeout(wait, 50, n - 1);
  R.table = %s.map(function (a) { return FreshetRecent.ago(a); });
  flush();
})(100);
</script>''' % json.dumps(ages)
    srv.add('/t/ago.html', page('Ago', body, head))
    doc = dump(chromium, srv.base + '/t/ago.html')
    r = results(doc)
    got = r.get('table') or []
    check(len(got) == len(ages), 'ago table: computed', got)
    for a, g in zip(ages, got):
        check(g == ago(a), 'ago(%d) == %r' % (a, ago(a)), g)
    check(not widgets(doc), 'ago table: script in <head> renders nothing')


def test_failures(chromium, srv, W):
    """404, invalid JSON, wrong shape, refused connection: nothing shown,
    nothing thrown, the page's fallback content back in place."""
    srv.add('/t/broken.json', '{"items": [', 'application/json')
    srv.add('/t/shape.json', '{"items": "none"}', 'application/json')
    srv.add('/t/html.json', '<!doctype html><p>Oops</p>', 'text/html')
    dead = 'http://127.0.0.1:%d/recent.json' % free_port()
    body = '''
<p id="top">Top text.</p>
<div id="f404" data-freshet-recent data-src="/t/missing.json"></div>
<div id="fjson" data-freshet-recent data-src="/t/broken.json"></div>
<div id="fshape" data-freshet-recent data-src="/t/shape.json"></div>
<div id="fhtml" data-freshet-recent data-src="/t/html.json"></div>
<div id="fdead" data-freshet-recent data-src="%(dead)s"></div>
<div id="fback" data-freshet-recent data-src="/t/missing.json"><a id="fallback" href="/feed.atom">Subscribe</a></div>
<div id="side"><script src="%(W)s/widget.js" data-src="/t/missing2.json" data-limit="3" async></script></div>
<p id="bottom">Bottom text.</p>''' % {'W': W, 'dead': dead}
    srv.add('/t/fail.html', page('Failures', body))
    doc = dump(chromium, srv.base + '/t/fail.html')
    r = results(doc)
    check(r.get('errors') == [] and r.get('rejections') == [],
          'failure: nothing thrown to window.onerror', r)
    check(sorted(e[0] for e in r.get('events', [])) == ['error'] * 7,
          'failure: seven quiet failures', r.get('events'))
    check(not widgets(doc), 'failure: no widget left on the page')
    for id_ in ('f404', 'fjson', 'fshape', 'fhtml', 'fdead'):
        n = doc.by_id(id_)
        check(n is not None and not n.children,
              'failure: %s left empty' % id_, n and n.children)
        check(n.attrs.get('data-freshet-state') == 'failed',
              'failure: %s marked failed' % id_, n.attrs)
    back = doc.by_id('fback')
    check(back.find('a', id='fallback') and back.text() == 'Subscribe',
          'failure: page fallback content restored', back.text())
    side = doc.by_id('side')
    check([c for c in side.children if isinstance(c, Node)] ==
          side.find('script'), 'failure: script form leaves nothing')
    body_text = ''.join(n.text() for n in doc.find('p'))
    check(body_text == 'Top text.Bottom text.', 'failure: no text added',
          body_text)
    check(r.get('title') == 'Failures', 'failure: title untouched')


def test_layout(chromium, srv, W):
    """No layout shift: section height and what follows, measured at
    insertion (before widget.css), at the skeleton and after rendering."""
    items, _ = crafted(srv.base)
    long_items = [entry('A very long title ' * 12, 'https://example.org/l%d' % i,
                        at(minutes=5 + i), excerpt='Long excerpt text ' * 40,
                        image='/t/pixel.png',
                        source={'title': 'A source with a long name ' * 5,
                                'url': 'https://example.org/'})
                  for i in range(8)]
    srv.add('/t/layout.json', recent(items), 'application/json')
    srv.add('/t/long.json', recent(long_items), 'application/json')
    srv.add('/t/pixel.png', PIXEL, 'image/png')
    cols = [('narrow', 'width:180px', '/t/long.json?delay=400', 5, ''),
            ('mid', 'width:320px', '/t/layout.json?delay=400', 5, ''),
            ('wide', 'width:640px', '/t/long.json?delay=300', 3,
             ' data-images="true"'),
            ('themed', 'width:300px;--freshet-gap:1.5em;--freshet-item-height:'
             '8.5em;--freshet-font-size:15px;--freshet-padding:10px 12px;'
             '--freshet-border:3px solid #ccc;--freshet-heading-size:1.5em;'
             '--freshet-heading-gap:1em;--freshet-excerpt-lines:3',
             '/t/layout.json?delay=200', 4, ''),
            ('one', 'width:320px', '/t/long.json?delay=100', 1, '')]
    body = ''
    for name, style, src, limit, extra in cols:
        body += ('<div class="col" id="%s" style="%s;font:16px/1.5 serif">'
                 '<p>Above.</p><script src="%s/widget.js" data-src="%s" '
                 'data-limit="%d"%s async></script><p class="below">Below.</p>'
                 '</div>') % (name, style, W, src, limit, extra)
    head = r'''<script>
function measure(sec, phase) {
  var col = sec.closest('.col');
  var below = col.querySelector('.below');
  var m = R.layout[col.id] = R.layout[col.id] || [];
  var items = sec.querySelectorAll('.freshet-recent__item');
  var over = 0;
  for (var i = 0; i < items.length; i++)
    if (items[i].scrollHeight > items[i].clientHeight + 1) over++;
  m.push({phase: phase, h: sec.getBoundingClientRect().height,
          below: below.getBoundingClientRect().top - col.getBoundingClientRect().top,
          items: items.length, overflow: over,
          css: !!((document.querySelector('link[data-freshet-css]') || {}).sheet)});
  flush();
}
new MutationObserver(function (recs) {
  recs.forEach(function (rec) {
    Array.prototype.forEach.call(rec.addedNodes, function (n) {
      if (n.nodeType !== 1) return;
      if (n.classList.contains('freshet-recent')) {
        measure(n, 'inserted');
      } else if (n.classList.contains('freshet-recent__heading') ||
                 n.classList.contains('freshet-recent__list')) {
        var sec = n.parentNode;
        setTimeout(function () { measure(sec, n.querySelector('.freshet-recent__item--skeleton') ||
                                            sec.querySelector('.freshet-recent__item--skeleton') ? 'skeleton' : 'frame'); });
      }
    });
  });
}).observe(document.documentElement, {childList: true, subtree: true});
document.addEventListener('freshet-recent:render', function (e) {
  measure(e.target, 'rendered');
  setTimeout(function () { measure(e.target, 'settled'); }, 1000);
});
</script>'''
    srv.add('/t/layout.html', page('Layout', body, head))
    doc = dump(chromium, srv.base + '/t/layout.html', budget_ms=8000)
    r = results(doc)
    check(r.get('errors') == [], 'layout: no errors', r.get('errors'))
    firsts = [v[0] for v in r.get('layout', {}).values() if v]
    check(any(not x['css'] for x in firsts),
          'layout: a section was measured before widget.css applied',
          firsts)
    for name, _, _, limit, _ in cols:
        m = r.get('layout', {}).get(name, [])
        phases = [x['phase'] for x in m]
        check(phases and phases[0] == 'inserted' and 'rendered' in phases
              and 'settled' in phases,
              'layout %s: measured at insertion and after render' % name,
              phases)
        if not m:
            continue
        first = m[0]
        check(first['h'] > 100, 'layout %s: space reserved at insertion'
              % name, first['h'])
        for x in m[1:]:
            check(abs(x['h'] - first['h']) <= 1 and
                  abs(x['below'] - first['below']) <= 1,
                  'layout %s: no shift at %s (height %.1f -> %.1f, below '
                  '%.1f -> %.1f)' % (name, x['phase'], first['h'], x['h'],
                                     first['below'], x['below']))
        last = m[-1]
        check(last['items'] == limit, 'layout %s: %d items' % (name, limit),
              last['items'])
        check(last['overflow'] == 0,
              'layout %s: no item content cut off' % name, last['overflow'])


def test_demo(chromium, srv, W, path):
    """demo.html (at /demo.html and /) from W: both forms render from W's
    recent.json, relative to the page."""
    url = W + path
    if W == srv.base:
        items, expect = crafted(srv.base)
        srv.add('/recent.json', recent(items), 'application/json')
    else:
        with urllib.request.urlopen(W + '/recent.json', timeout=10) as f:
            items = json.load(f)['items']
        expect = None
    before = time.time()
    doc = dump(chromium, url)
    after = time.time()
    valid = [it for it in items if isinstance(it, dict)]
    secs = widgets(doc)
    check(len(secs) == 2, 'demo %s: two widgets (script tag and div)' % path,
          len(secs))
    aside = doc.find('aside')
    check(aside and len(widgets(aside[0])) == 1,
          'demo %s: the script-tag widget is in the sidebar' % path)
    for sec in secs:
        in_aside = aside and sec in widgets(aside[0])
        limit = 5 if in_aside else 3
        name = 'demo %s %s' % (path, 'sidebar' if in_aside else 'div')
        got = rendered(sec)
        want = valid[:limit]
        check(len(got) == len(want), name + ': item count', len(got))
        for i, ((t, href, tm, _), it) in enumerate(zip(got, want)):
            if expect is not None:
                et, ehref, etm = expect[i]
                check((t, href, tm) == (et, ehref, etm),
                      '%s: item %d' % (name, i), (t, href, tm))
                continue
            title = it.get('title') if isinstance(it.get('title'), str) else ''
            check(t == (title.strip() or it.get('url') or 'Untitled'),
                  '%s: item %d title' % (name, i), t)
            u = it.get('url')
            ok = isinstance(u, str) and u.startswith(('http://', 'https://'))
            check((href is not None) == ok, '%s: item %d linked iff http(s)'
                  % (name, i), href)
            pub = it.get('published')
            if isinstance(pub, str):
                t0 = datetime.strptime(pub, '%Y-%m-%dT%H:%M:%SZ').replace(
                    tzinfo=timezone.utc).timestamp()
                ok = {ago(int(before - t0)), ago(int(after - t0)),
                      ago(int(after + 5 - t0))}
                check(tm in ok, '%s: item %d time text' % (name, i),
                      (tm, sorted(ok)))
    div = [s for s in secs if not (aside and s in widgets(aside[0]))]
    if div:
        h = div[0].find('h2')
        check(h and h[0].text() == 'Elsewhere on the web',
              'demo %s: data-title on the div form' % path)
        check(not div[0].parent.find('a', href='feed.atom'),
              'demo %s: fallback content replaced' % path)
    r_title = doc.find('title')
    check(r_title and 'Riverside' in r_title[0].text(),
          'demo %s: page title' % path)


def test_bare(chromium, srv, W):
    """A script tag without attributes: renders in place (default data-src
    = recent.json next to widget.js) when the page has no target, else only
    into the targets."""
    items, expect = crafted(srv.base)
    srv.add('/t/bare.json', recent(items), 'application/json')
    if W == srv.base:
        srv.add('/recent.json', recent(items), 'application/json')
    body = ('<div id="box"><script src="%s/widget.js" async></script></div>'
            % W)
    srv.add('/t/bare1.html', page('Bare', body))
    body = ('<div id="target" data-freshet-recent data-src="/t/bare.json" '
            'data-limit="3"></div><p>Text</p>'
            '<script src="%s/widget.js" async></script>') % W
    srv.add('/t/bare2.html', page('Bare with target', body))
    doc = dump(chromium, srv.base + '/t/bare1.html')
    secs = widgets(doc)
    check(len(secs) == 1 and secs[0] in widgets(doc.by_id('box')),
          'bare script: renders in place', len(secs))
    if secs and W == srv.base:
        got = [x[:3] for x in rendered(secs[0])]
        check(got == expect[:5],
              'bare script: default data-src and limit 5', got)
    doc = dump(chromium, srv.base + '/t/bare2.html')
    secs = widgets(doc)
    check(len(secs) == 1 and secs[0] in widgets(doc.by_id('target')),
          'bare script with a target: renders only into the target',
          len(secs))
    if secs:
        check([x[:3] for x in rendered(secs[0])] == expect[:3],
              'bare script with a target: the target\'s data-src and limit')


def start_freshet(binary, srv):
    """freshet run on a free 127.0.0.1 port, serving data/widget/ and
    polling one feed from srv. Returns (process, base URL, directory)."""
    d = tempfile.mkdtemp(prefix='freshet-browser-')
    port = free_port()
    now = datetime.now(timezone.utc)

    def item(title, minutes):
        when = (now - timedelta(minutes=minutes)).strftime(
            '%a, %d %b %Y %H:%M:%S +0000')
        link = 'https://example.org/posts/%d' % minutes
        return ('<item><title>%s</title><link>%s</link><guid>%s</guid>'
                '<pubDate>%s</pubDate><description>About %s.</description>'
                '</item>') % (title, link, link, when, title)
    srv.add('/feeds/live.rss', '<?xml version="1.0"?><rss version="2.0">'
            '<channel><title>Live Blog</title><link>https://example.org/'
            '</link><description>Test</description>' + ''.join(
                item(t, m) for t, m in [
                    ('Twelve minutes', 12), ('Ninety minutes', 90),
                    ('A day &amp; a bit', 25 * 60), ('Two weeks', 20160),
                    ('Forty days', 57600), ('Three years', 1576800)]) +
            '</channel></rss>', 'application/rss+xml')
    with open(os.path.join(d, 'freshet.conf'), 'w') as f:
        f.write('[freshet]\ndatabase = freshet.db\noutput_dir = public\n'
                'listen = 127.0.0.1:%d\ntitle = Browser test\n'
                'link = https://example.org/\n' % port)
    os.mkdir(os.path.join(d, 'feeds.d'))
    with open(os.path.join(d, 'feeds.d', 'live.conf'), 'w') as f:
        f.write('[live]\nurl = %s/feeds/live.rss\n' % srv.base)
    log = open(os.path.join(d, 'freshet.log'), 'wb')
    p = subprocess.Popen([binary, '-c', os.path.join(d, 'freshet.conf'),
                          'run'], cwd=d, stdin=subprocess.DEVNULL, stdout=log,
                         stderr=subprocess.STDOUT,
                         env=dict(os.environ, FRESHET_WIDGET_DIR=WIDGET_DIR))
    log.close()
    base = 'http://127.0.0.1:%d' % port
    deadline = time.time() + 30
    while True:
        if p.poll() is not None or time.time() > deadline:
            stop_freshet(p, None)
            with open(os.path.join(d, 'freshet.log'), errors='replace') as f:
                tail = f.read()[-3000:]
            shutil.rmtree(d, ignore_errors=True)
            raise RuntimeError('freshet did not serve recent.json with items '
                               'within 30 s (exit %s)\n%s' % (p.poll(), tail))
        try:
            with urllib.request.urlopen(base + '/recent.json', timeout=2) as f:
                if json.load(f).get('items'):
                    return p, base, d
        except (OSError, ValueError):
            pass
        time.sleep(0.2)


def stop_freshet(p, d):
    if p.poll() is None:
        p.terminate()
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if d:
        shutil.rmtree(d, ignore_errors=True)


def test_served(srv, W):
    """freshet serves the files of data/widget/ as they are."""
    for name in ('widget.js', 'widget.css', 'demo.html'):
        with open(os.path.join(WIDGET_DIR, name), 'rb') as f:
            want = f.read()
        try:
            with urllib.request.urlopen(W + '/' + name, timeout=10) as f:
                got = f.read()
        except OSError as e:
            got = str(e)
        check(got == want, 'freshet serves %s unchanged' % name, len(got))


def main():
    chromium = find_chromium()
    if not chromium:
        print('SKIP: chromium not installed (apt-get install chromium)')
        return 77
    if not os.path.exists(os.path.join(WIDGET_DIR, 'widget.js')):
        print('FAIL: no widget.js in ' + WIDGET_DIR)
        return 1
    srv = Server()
    srv.start()
    daemon = None
    W = (os.environ.get('FRESHET_URL') or srv.base).rstrip('/')
    binary = os.environ.get('FRESHET_BIN')
    if not os.environ.get('FRESHET_URL') and binary:
        try:
            daemon = start_freshet(binary, srv)
        except Exception as e:
            srv.stop()
            print('FAIL: %s' % e)
            return 1
        W = daemon[1]
    print('chromium: %s; widget from %s%s; pages from %s' % (
        chromium, W, ' (freshet run)' if daemon else '', srv.base))
    tests = [lambda: test_main(chromium, srv, W),
             lambda: test_tick(chromium, srv, W),
             lambda: test_ago_table(chromium, srv, W),
             lambda: test_failures(chromium, srv, W),
             lambda: test_layout(chromium, srv, W),
             lambda: test_demo(chromium, srv, W, '/demo.html'),
             lambda: test_demo(chromium, srv, W, '/'),
             lambda: test_bare(chromium, srv, W)]
    if daemon:
        tests.append(lambda: test_served(srv, W))
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            for f in [pool.submit(t) for t in tests]:
                try:
                    f.result()
                except Exception as e:  # a crash is a failure, not a skip
                    check(False, 'test raised', '%s: %s' % (type(e).__name__, e))
    finally:
        if daemon:
            stop_freshet(daemon[0], daemon[2])
        srv.stop()
    print('%d checks, %d failed' % (checks, len(failures)))
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
