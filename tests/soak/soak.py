#!/usr/bin/python3
"""The soak's driver, for soak.sh (Python standard library only).

  soak.py run --work DIR --freshet BIN --corpus DIR --www DIR ...
              [--valgrind SUPPRESSIONS]
  soak.py change ...        the changer (run starts it as a child process)
  soak.py restore --corpus DIR --www DIR
  soak.py report --work DIR  the report again, from a finished run's files

run:
  1. writes WORK/freshet.conf (every feed at interval = min_interval =
     max_interval, publishing to WORK/public, the HTTP server on a free
     127.0.0.1 port, log_level warn) and WORK/feeds.d/soak.conf, and checks
     them with `freshet check`;
  2. starts `freshet run` (under valgrind memcheck with --valgrind) and the
     changer;
  3. every --sample seconds records in WORK/samples.csv: VmRSS, VmHWM,
     RssAnon, RssFile and threads (/proc/PID/status), open descriptors by
     kind (/proc/PID/fd), CPU seconds (/proc/PID/stat), /metrics (fetches
     by status, bytes, entries stored, feeds by state), /healthz's status,
     and from the database (read-only) the feeds fetched at least once, the
     stored entries and the database's size;
  4. after --duration seconds sends SIGTERM, waits for the exit (60 s;
     300 s under valgrind), and writes WORK/report.txt (and rss.png when
     python3-matplotlib is installed).
With --heapstat SO (heapstat.c built), freshet runs with it preloaded and
WORK/heap.log has glibc's own count of heap bytes in use every 10 s: the
report shows it beside resident memory, which tells a leak (bytes in use
grow) from fragmentation (the arena grows, bytes in use do not).

The changer (from the second interval on, once every interval) picks
--change of the feeds at random, regenerates each with gen_corpus.py's own
model (same seed, so the same feed) plus 1 to 3 new entries dated now at
the top (the oldest drop off, as on a real site) and one existing entry
edited (title and content), and replaces the served file and its .gz with
a new mtime: nginx answers those with 200 and a new ETag, the rest with
304. It logs each change in WORK/changes.csv and checks one changed URL per
round (its ETag must be the new file's).

Warm-up ends one interval after every feed was fetched once, and not before
a third of the run. The checks, on the samples after warm-up split in two
halves:
  rss      max of the second half - median of the first half (the growth)
           <= max(--rss-tol-mib MiB, --rss-tol-pct % of that median)
           (not under valgrind: its own heap is in the figure)
  heap     (with --heapstat) median of the second half - median of the
           first half of the heap bytes in use, same tolerance
  fds      min of the second half - min of the first half <= --fd-slack
           (transfers in flight come and go; a leak lifts the floor)
  alive    freshet ran until SIGTERM and exited 0
  polling  fetches in every interval after the first (none: stalled), and
           200s in the last interval when the changer ran
  healthz  200 on every sample after warm-up
  valgrind (--valgrind) no error, nothing definitely or indirectly lost
Exit status: 0 all passed, 1 a check failed, 2 usage.
"""
import argparse
import csv
import gzip
import importlib.util
import json
import os
import random
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
CLK_TCK = os.sysconf('SC_CLK_TCK')
FIELDS = ['t', 'rss_kib', 'hwm_kib', 'anon_kib', 'file_kib', 'threads',
          'fds', 'fd_sockets', 'fd_files', 'fd_other', 'cpu_s',
          'f_2xx', 'f_304', 'f_4xx', 'f_5xx', 'f_error', 'fetch_bytes',
          'entries_metric', 'feeds_ok', 'feeds_failing', 'feeds_disabled',
          'healthz', 'db_feeds_fetched', 'db_entries', 'db_mib']


def load_gen_corpus():
    shared = os.environ.get('SHARED_BENCH',
                            os.path.join(HERE, '..', '..', '..', 'shared',
                                         'bench'))
    spec = importlib.util.spec_from_file_location(
        'gen_corpus', os.path.join(shared, 'gen_corpus.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def manifest_paths(corpus):
    """The corpus's feed files in index order (feeds/NNNN.ext)."""
    paths = []
    with open(os.path.join(corpus, 'manifest.tsv')) as f:
        for row in csv.DictReader(f, delimiter='\t'):
            if row['path'].startswith('feeds/'):
                paths.append(row['path'])
    paths.sort()
    return paths


def replace_file(path, data, mtime):
    tmp = path + '.soak-tmp'
    with open(tmp, 'wb') as f:
        f.write(data)
    os.utime(tmp, (mtime, mtime))
    os.replace(tmp, path)


# ------------------------------------------------------------ restore
def cmd_restore(a):
    """Puts back the symlinks (and the .gz) a changer replaced."""
    feeds = os.path.join(a.www, 'feeds')
    n = 0
    for de in os.scandir(feeds):
        if de.name.endswith('.gz') or de.name.endswith('.soak-tmp'):
            if de.name.endswith('.soak-tmp'):
                os.unlink(de.path)
            continue
        src = os.path.join(os.path.realpath(a.corpus), 'feeds', de.name)
        st = os.stat(src)
        if de.is_symlink():
            # a changer stopped between the .gz and the file
            try:
                same = os.stat(de.path + '.gz').st_mtime == st.st_mtime
            except OSError:
                same = False
            if same:
                continue
        with open(src, 'rb') as f:
            data = f.read()
        replace_file(de.path + '.gz', gzip.compress(data, 6, mtime=0),
                     st.st_mtime)
        if not de.is_symlink():
            tmp = de.path + '.soak-tmp'
            os.symlink(src, tmp)
            os.replace(tmp, de.path)
        n += 1
    if n:
        print('soak.py: restored %d feeds changed by a previous run' % n,
              file=sys.stderr)
    return 0


# ------------------------------------------------------------ changer
class Changer:
    def __init__(self, a):
        self.g = load_gen_corpus()
        with open(os.path.join(a.corpus, 'manifest.json')) as f:
            self.params = json.load(f)['params']
        self.paths = manifest_paths(a.corpus)[:a.feeds]
        seed = self.params['seed']
        self.seed = seed
        self.pool = self.g.build_pool(seed, max(20, int(self.params['feeds'] *
                                                        0.3)))
        self.www = a.www
        self.added = {}  # feed index -> entries added so far, newest first
        self.rng = random.Random('soak:%s' % a.seed)
        self.frac = a.frac

    def new_entry(self, f, idx, rnd, j, now):
        g = self.g
        e = g.make_story(f.txt, f.rng, f.site, g.PATH_STYLE[f.style], now - j,
                         200, 4096)
        if f.style == 'youtube':
            e.link = '%s/watch?v=soak%d-%d-%d' % (f.site, idx, rnd, j)
        else:
            e.link = '%s/soak/%d-%d' % (f.site, rnd, j)
        e.guid = e.link
        e.num = 1000000 + rnd * 10 + j  # wordpress/blogger guids use it
        e.updated = now - j
        return e

    def change(self, idx, rnd, now):
        """Rewrites feed idx; returns (path, new entries, edited)."""
        g = self.g
        p = self.params
        f = g.plan_feed(self.seed, idx, self.pool, p['dup_frac'],
                        p['illformed_frac'])
        fresh = [self.new_entry(f, idx, rnd, j, now)
                 for j in range(self.rng.randint(1, 3))]
        added = (fresh + self.added.get(idx, []))[:f.n]
        self.added[idx] = added
        entries = (added + f.entries)[:f.n]
        base = [e for e in entries if not e.dup and e not in added]
        edited = 0
        if base:
            # A copy: pool entries are shared, and the base is rebuilt next
            # time, so an edit is new on every change.
            old = self.rng.choice(base)
            e = g.Entry()
            for k in g.Entry.__slots__:
                setattr(e, k, getattr(old, k))
            e.title = old.title + ' (updated %d)' % rnd
            e.content = old.content + '\n<p>Update %d: corrected.</p>' % rnd
            e.updated = now
            entries = [e if x is old else x for x in entries]
            edited = 1
        f.entries = entries
        f.updated = now
        data = g.render(f)
        path = os.path.join(self.www, self.paths[idx])
        # the .gz first: nginx prefers it, and both carry the same mtime
        replace_file(path + '.gz', gzip.compress(data, 6, mtime=0), now)
        replace_file(path, data, now)  # over the symlink, not through it
        return self.paths[idx], len(fresh), edited, len(data)


def etag_of(path):
    st = os.stat(path)
    return '"%x-%x"' % (int(st.st_mtime), st.st_size)


def cmd_change(a):
    ch = Changer(a)
    n = len(ch.paths)
    k = max(1, round(n * a.frac))
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    out = open(a.out, 'a', newline='')
    w = csv.writer(out)
    w.writerow(['round', 'wall', 'path', 'new', 'edited', 'bytes'])
    out.flush()
    t0 = time.monotonic()
    rnd = 0
    checked = bad = 0
    while not stop:
        rnd += 1
        target = t0 + a.start + (rnd - 1) * a.interval
        while not stop and time.monotonic() < target:
            time.sleep(min(1.0, target - time.monotonic()))
        if stop:
            break
        now = int(time.time())
        picks = ch.rng.sample(range(n), k)
        for idx in picks:
            if stop:
                break
            path, new, edited, size = ch.change(idx, rnd, now)
            w.writerow([rnd, now, path, new, edited, size])
        out.flush()
        # nginx must give the new file's ETag (no stale open-file cache)
        url = 'http://127.0.0.1:%d/%s' % (a.nginx_port, ch.paths[picks[0]])
        try:
            req = urllib.request.Request(url, method='HEAD')
            with urllib.request.urlopen(req, timeout=5) as r:
                got = r.headers.get('ETag')
            checked += 1
            want = etag_of(os.path.join(ch.www, ch.paths[picks[0]]))
            if got != want:
                bad += 1
                print('soak.py: changer: %s has ETag %s, the new file %s'
                      % (url, got, want), file=sys.stderr)
        except (OSError, urllib.error.URLError) as e:
            print('soak.py: changer: %s: %s' % (url, e), file=sys.stderr)
    with open(a.out + '.check', 'w') as f:
        f.write('%d %d\n' % (checked, bad))
    return 0


# ------------------------------------------------------------ sampling
def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    p = s.getsockname()[1]
    s.close()
    return p


def write_config(a, work, listen_port):
    os.makedirs(os.path.join(work, 'feeds.d'), exist_ok=True)
    iv = '%ds' % a.interval
    with open(os.path.join(work, 'freshet.conf'), 'w') as f:
        f.write('[freshet]\n'
                'database = freshet.db\n'
                'output_dir = public\n'
                'listen = 127.0.0.1:%d\n'
                'title = freshet soak\n'
                'interval = %s\nmin_interval = %s\nmax_interval = %s\n'
                'concurrency = %d\nper_host = %d\n'
                'connect_timeout = 10s\ntimeout = 30s\n'
                'log_level = warn\n'
                % (listen_port, iv, iv, iv, a.concurrency, a.per_host))
    paths = manifest_paths(a.corpus)[:a.feeds]
    if len(paths) < a.feeds:
        sys.exit('soak.py: the corpus has %d feeds, not %d' % (len(paths),
                                                               a.feeds))
    with open(os.path.join(work, 'feeds.d', 'soak.conf'), 'w') as f:
        for i, p in enumerate(paths):
            host = ('f%d.localhost' % (i % 50) if a.hosts == 'spread'
                    else '127.0.0.1')
            f.write('[s%05d]\nurl = http://%s:%d/%s\n\n'
                    % (i, host, a.nginx_port, p))


def proc_status(pid):
    v = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, rest = line.partition(':')
            v[k] = rest.split()[0] if rest.split() else ''
    return v


def proc_cpu(pid):
    with open('/proc/%d/stat' % pid) as f:
        s = f.read()
    fields = s[s.rindex(')') + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def proc_fds(pid):
    socks = files = other = 0
    d = '/proc/%d/fd' % pid
    for name in os.listdir(d):
        try:
            t = os.readlink(os.path.join(d, name))
        except OSError:
            continue
        if t.startswith('socket:'):
            socks += 1
        elif t.startswith('/'):
            files += 1
        else:
            other += 1
    return socks + files + other, socks, files, other


def http_get(port, path, timeout=5):
    try:
        with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path),
                                    timeout=timeout) as r:
            return r.status, r.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as e:
        return e.code, ''
    except (OSError, urllib.error.URLError):
        return 0, ''


def parse_metrics(text):
    m = {}
    for line in text.splitlines():
        if line.startswith('#') or ' ' not in line:
            continue
        k, v = line.rsplit(' ', 1)
        try:
            m[k] = float(v)
        except ValueError:
            pass
    return m


def db_counts(db):
    try:
        c = sqlite3.connect('file:%s?mode=ro' % db, uri=True, timeout=2)
        try:
            fetched, entries = c.execute(
                'SELECT sum(last_fetch > 0), sum(entry_count) FROM feeds'
            ).fetchone()
        finally:
            c.close()
    except sqlite3.Error:
        return '', ''
    return fetched or 0, entries or 0


def db_mib(db):
    n = 0
    for suffix in ('', '-wal', '-shm'):
        try:
            n += os.path.getsize(db + suffix)
        except OSError:
            pass
    return '%.1f' % (n / 2**20)


def sample(pid, t, port, db):
    st = proc_status(pid)
    nfd, socks, files, other = proc_fds(pid)
    cpu = proc_cpu(pid)
    code, body = http_get(port, '/metrics')
    m = parse_metrics(body) if code == 200 else {}
    hz, _ = http_get(port, '/healthz')
    fetched, entries = db_counts(db)

    def metric(k):
        return '%d' % m[k] if k in m else ''
    return {
        't': '%.1f' % t, 'rss_kib': st.get('VmRSS', ''),
        'hwm_kib': st.get('VmHWM', ''), 'anon_kib': st.get('RssAnon', ''),
        'file_kib': st.get('RssFile', ''), 'threads': st.get('Threads', ''),
        'fds': nfd, 'fd_sockets': socks, 'fd_files': files,
        'fd_other': other, 'cpu_s': '%.2f' % cpu,
        'f_2xx': metric('freshet_fetches_total{status="2xx"}'),
        'f_304': metric('freshet_fetches_total{status="304"}'),
        'f_4xx': metric('freshet_fetches_total{status="4xx"}'),
        'f_5xx': metric('freshet_fetches_total{status="5xx"}'),
        'f_error': metric('freshet_fetches_total{status="error"}'),
        'fetch_bytes': metric('freshet_fetch_bytes_total'),
        'entries_metric': metric('freshet_entries_stored'),
        'feeds_ok': metric('freshet_feeds{state="ok"}'),
        'feeds_failing': metric('freshet_feeds{state="failing"}'),
        'feeds_disabled': metric('freshet_feeds{state="disabled"}'),
        'healthz': hz, 'db_feeds_fetched': fetched, 'db_entries': entries,
        'db_mib': db_mib(db),
    }


def cmd_run(a):
    work = os.path.abspath(a.work)
    os.makedirs(work, exist_ok=True)
    listen = free_port()
    write_config(a, work, listen)
    conf = os.path.join(work, 'freshet.conf')
    r = subprocess.run([a.freshet, '-c', conf, 'check'], capture_output=True,
                       text=True)
    if r.returncode != 0 or 'configuration OK' not in r.stdout + r.stderr:
        print('soak.py: freshet check failed:\n' + r.stdout + r.stderr,
              file=sys.stderr)
        return 1
    cmd = [a.freshet, '-c', conf, 'run']
    vglog = os.path.join(work, 'valgrind.log')
    if a.valgrind:
        cmd = ['valgrind', '--tool=memcheck', '--leak-check=full',
               '--show-leak-kinds=definite,indirect',
               '--errors-for-leak-kinds=definite,indirect',
               '--error-exitcode=99', '--track-fds=yes', '--num-callers=40',
               '--show-error-list=yes',
               '--suppressions=' + a.valgrind, '--gen-suppressions=all',
               '--log-file=' + vglog] + cmd
    meta = {'feeds': a.feeds, 'interval': a.interval, 'duration': a.duration,
            'change': a.change, 'hosts': a.hosts,
            'concurrency': a.concurrency, 'per_host': a.per_host,
            'sample': a.sample, 'rss_tol_mib': a.rss_tol_mib,
            'rss_tol_pct': a.rss_tol_pct, 'fd_slack': a.fd_slack,
            'valgrind': bool(a.valgrind), 'command': cmd,
            'listen_port': listen, 'started': time.time(),
            'freshet': a.freshet}
    log = open(os.path.join(work, 'freshet.log'), 'wb')
    env = dict(os.environ)
    if a.heapstat and not a.valgrind:
        env['LD_PRELOAD'] = os.path.abspath(a.heapstat)
        env['HEAPSTAT_FILE'] = os.path.join(work, 'heap.log')
    proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=log, env=env)
    changes = os.path.join(work, 'changes.csv')
    changer = subprocess.Popen(
        [sys.executable, os.path.abspath(__file__), 'change',
         '--corpus', a.corpus, '--www', a.www, '--feeds', str(a.feeds),
         '--interval', str(a.interval), '--start', str(a.interval),
         '--frac', str(a.change), '--nginx-port', str(a.nginx_port),
         '--out', changes], stdin=subprocess.DEVNULL)
    db = os.path.join(work, 'freshet.db')
    out = open(os.path.join(work, 'samples.csv'), 'w', newline='')
    w = csv.DictWriter(out, FIELDS)
    w.writeheader()
    t0 = time.monotonic()
    died = None
    nxt = t0
    print('soak.py: freshet pid %d, http://127.0.0.1:%d/, sampling every %ds '
          'for %ds' % (proc.pid, listen, a.sample, a.duration),
          file=sys.stderr)
    last_note = 0
    # bounded: one sample per period until the duration is over
    for _ in range(int(a.duration / a.sample) + 2):
        t = time.monotonic() - t0
        if proc.poll() is not None:
            died = proc.returncode
            break
        if t >= a.duration:
            break
        try:
            row = sample(proc.pid, t, listen, db)
        except (OSError, ValueError, IndexError):
            continue  # exited between the poll and the reads
        w.writerow(row)
        out.flush()
        if t - last_note >= 60 or last_note == 0:
            last_note = t or 1
            print('soak.py: %4.0fs rss %s KiB fds %s cpu %ss fetches 2xx %s '
                  '304 %s err %s entries %s healthz %s'
                  % (t, row['rss_kib'], row['fds'], row['cpu_s'],
                     row['f_2xx'], row['f_304'], row['f_error'],
                     row['entries_metric'], row['healthz']),
                  file=sys.stderr)
        nxt += a.sample
        time.sleep(max(0.0, nxt - time.monotonic()))
    out.close()
    changer.send_signal(signal.SIGTERM)
    try:
        changer.wait(timeout=60)
    except subprocess.TimeoutExpired:
        changer.kill()
        changer.wait()
    rusage = None
    if died is None:
        proc.send_signal(signal.SIGTERM)
        grace = 300 if a.valgrind else 60
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            wpid, status, ru = os.wait4(proc.pid, os.WNOHANG)
            if wpid:
                proc.returncode = os.waitstatus_to_exitcode(status)
                rusage = ru
                break
            time.sleep(0.2)
        else:
            print('soak.py: freshet did not exit %ds after SIGTERM; killed'
                  % grace, file=sys.stderr)
            proc.kill()
            proc.wait()
            meta['killed'] = True
    meta['exit_code'] = proc.returncode
    meta['died_early'] = died is not None
    meta['wall_s'] = time.monotonic() - t0
    if rusage:
        meta['cpu_user_s'] = rusage.ru_utime
        meta['cpu_sys_s'] = rusage.ru_stime
        meta['maxrss_kib'] = rusage.ru_maxrss
    log.close()
    with open(os.path.join(work, 'meta.json'), 'w') as f:
        json.dump(meta, f, indent=1)
    return report(work)


# ------------------------------------------------------------ report
def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return None


def load_samples(work):
    with open(os.path.join(work, 'samples.csv')) as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        for k in FIELDS:
            r[k] = num(r.get(k))
    return rows


def load_heap(work):
    """heapstat.c's samples: [(t, in_use, arena, free, mmapped)] bytes."""
    rows = []
    try:
        with open(os.path.join(work, 'heap.log')) as f:
            for line in f:
                v = line.split()
                if len(v) == 5 and v[0] != 't':
                    rows.append(tuple(float(x) for x in v))
    except OSError:
        pass
    return rows


def fetches(r):
    return sum(r[k] or 0 for k in ('f_2xx', 'f_304', 'f_4xx', 'f_5xx',
                                   'f_error'))


def log_summary(path):
    """(level -> count, [(count, level, msg, detail)] most frequent)."""
    levels = {}
    kinds = {}
    with open(path, 'rb') as f:
        for raw in f:
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            m = re.search(r'level=(\w+) msg="((?:[^"\\]|\\.)*)"', line)
            if not m:
                if line.startswith('==') or not line.strip():
                    continue
                key = ('other', line[:100], '')
                levels['other'] = levels.get('other', 0) + 1
            else:
                lv, msg = m.group(1), m.group(2)
                levels[lv] = levels.get(lv, 0) + 1
                e = re.search(r'error="((?:[^"\\]|\\.)*)"', line)
                # one kind per message: numbers (ms, ports, hosts) vary
                detail = re.sub(r'\d+', 'N', e.group(1))[:70] if e else ''
                key = (lv, msg, detail)
            kinds[key] = kinds.get(key, 0) + 1
    top = sorted(((n, *k) for k, n in kinds.items()), reverse=True)
    return levels, top


def valgrind_summary(path):
    v = {'errors': None, 'definitely': 0, 'indirectly': 0, 'possibly': 0,
         'suppressed': [], 'fds_open': []}
    if not os.path.exists(path):
        return v
    with open(path, errors='replace') as f:
        text = f.read()
    m = re.findall(r'ERROR SUMMARY: ([\d,]+) errors from ([\d,]+) contexts'
                   r' \(suppressed: ([\d,]+) from ([\d,]+)\)', text)
    if m:
        v['errors'] = int(m[-1][0].replace(',', ''))
        v['suppressed_count'] = int(m[-1][2].replace(',', ''))
    for kind in ('definitely', 'indirectly', 'possibly'):
        m = re.findall(r'%s lost: ([\d,]+) bytes in ([\d,]+) blocks' % kind,
                       text)
        if m:
            v[kind] = int(m[-1][0].replace(',', ''))
    # descriptors open at exit besides 0-2 and valgrind's own log
    m = re.findall(r'Open (?:file descriptor|\w+ socket) (\d+): ?(.*)', text)
    log = os.path.abspath(path)
    v['fds_open'] = [fd + ' ' + what for fd, what in m
                     if int(fd) > 2 and what.strip() != log]
    m = re.findall(r'^(?:--|==)\d+(?:--|==) used_suppression: +(\d+) (\S+)',
                   text, re.M)
    v['suppressed'] = m
    return v


def cmd_report(a):
    return report(os.path.abspath(a.work))


def report(work):
    with open(os.path.join(work, 'meta.json')) as f:
        meta = json.load(f)
    rows = load_samples(work)
    iv = meta['interval']
    out = []
    say = out.append
    fails = []

    def check(name, ok, detail):
        say('  %-8s %s  %s' % (name, 'ok  ' if ok else 'FAIL', detail))
        if not ok:
            fails.append(name)

    rows = [r for r in rows if r['rss_kib'] is not None]
    if not rows:
        say('no samples')
        print('\n'.join(out))
        return 1
    end = rows[-1]['t']
    n = meta['feeds']
    first_full = next((r['t'] for r in rows
                       if (r['db_feeds_fetched'] or 0) >= n), None)
    warm = max((first_full if first_full is not None else end) + iv,
               meta['duration'] / 3.0)
    post = [r for r in rows if r['t'] >= warm]

    # per-minute table
    say('freshet soak: %d feeds, interval %ds, %ds (%.0f s sampled), '
        'change %.0f%%/interval, hosts=%s concurrency=%d per_host=%d%s'
        % (n, iv, meta['duration'], end, meta['change'] * 100,
           meta['hosts'], meta['concurrency'], meta['per_host'],
           ', under valgrind' if meta['valgrind'] else ''))
    say('')
    heap = load_heap(work)
    say(' min  RSS MiB (min-max)  HWM MiB  anon MiB  fds (min-max)  thr  '
        'CPU s   2xx/min 304/min err/min  entries  db MiB  healthz' +
        ('  heap MiB in use/arena' if heap else ''))
    prev = None
    for minute in range(int(end // 60) + 1):
        mr = [r for r in rows if minute * 60 <= r['t'] < (minute + 1) * 60]
        if not mr:
            continue
        last = mr[-1]
        base = prev or {'f_2xx': 0, 'f_304': 0, 'f_error': 0, 'f_4xx': 0,
                        'f_5xx': 0}
        rss = [r['rss_kib'] / 1024 for r in mr]
        fds = [r['fds'] for r in mr]
        hz = sorted(set('%d' % (r['healthz'] or 0) for r in mr))
        hm = [h for h in heap if minute * 60 <= h[0] < (minute + 1) * 60]
        hcol = ('  %6.1f / %5.1f' % (hm[-1][1] / 2**20, hm[-1][2] / 2**20)
                if hm else '')
        say('%4d  %6.1f (%5.1f-%5.1f)  %7.1f  %8.1f  %4d (%3d-%3d)  %3d '
            '%6.1f   %7d %7d %7d  %7d  %6.1f  %-7s%s'
            % (minute, last['rss_kib'] / 1024, min(rss), max(rss),
               last['hwm_kib'] / 1024, (last['anon_kib'] or 0) / 1024,
               last['fds'], min(fds), max(fds), last['threads'] or 0,
               last['cpu_s'], (last['f_2xx'] or 0) - (base['f_2xx'] or 0),
               (last['f_304'] or 0) - (base['f_304'] or 0),
               ((last['f_error'] or 0) + (last['f_4xx'] or 0) +
                (last['f_5xx'] or 0)) - ((base['f_error'] or 0) +
                                         (base['f_4xx'] or 0) +
                                         (base['f_5xx'] or 0)),
               last['entries_metric'] or 0, last['db_mib'] or 0,
               '/'.join(hz), hcol))
        prev = last
    say('')

    last = rows[-1]
    changes = []
    cpath = os.path.join(work, 'changes.csv')
    if os.path.exists(cpath):
        with open(cpath) as f:
            changes = [r for r in csv.DictReader(f) if r['round'] != 'round']
    rounds = len(set(r['round'] for r in changes))
    new_added = sum(int(r['new']) for r in changes)
    edited = sum(int(r['edited']) for r in changes)
    say('warm-up: every feed fetched once at %s; warm-up ends at %.0f s '
        '(one interval later, and not before a third of the run)'
        % ('%.0f s' % first_full if first_full is not None else 'never',
           warm))
    say('polls: %d fetches: %d 2xx, %d 304, %d 4xx, %d 5xx, %d errors '
        '(%.1f MiB of bodies); %d feeds (expected ~%d fetches: %d feeds x '
        '%.1f intervals)'
        % (fetches(last), last['f_2xx'] or 0, last['f_304'] or 0,
           last['f_4xx'] or 0, last['f_5xx'] or 0, last['f_error'] or 0,
           (last['fetch_bytes'] or 0) / 2**20, n, n * end / iv, n, end / iv))
    say('changer: %d rounds, %d feed rewrites, %d new entries, %d entries '
        'edited' % (rounds, len(changes), new_added, edited))
    chk = cpath + '.check'
    if os.path.exists(chk):
        with open(chk) as f:
            c_ok, c_bad = (int(x) for x in f.read().split())
        say('changer check: %d of %d changed URLs served with the new ETag'
            % (c_ok - c_bad, c_ok))
    say('entries stored: %d (metric), %d (database); database %.0f MiB'
        % (last['entries_metric'] or 0, last['db_entries'] or 0,
           last['db_mib'] or 0))
    say('feeds: %d ok, %d failing, %d disabled'
        % (last['feeds_ok'] or 0, last['feeds_failing'] or 0,
           last['feeds_disabled'] or 0))
    cpu = meta.get('cpu_user_s')
    if cpu is not None:
        say('CPU: %.1f s user + %.1f s sys = %.1f s over %.0f s wall '
            '(%.1f%% of one core); peak RSS (ru_maxrss) %.1f MiB'
            % (cpu, meta['cpu_sys_s'], cpu + meta['cpu_sys_s'],
               meta['wall_s'], 100 * (cpu + meta['cpu_sys_s']) /
               meta['wall_s'], meta['maxrss_kib'] / 1024))
    else:
        say('CPU: %.1f s (last sample)' % (last['cpu_s'] or 0))
    levels, top = log_summary(os.path.join(work, 'freshet.log'))
    say('log: %s' % (', '.join('%d %s' % (v, k) for k, v in
                               sorted(levels.items())) or 'empty'))
    for cnt, lv, msg, detail in top[:8]:
        say('  %6d  %-5s %s%s' % (cnt, lv, msg,
                                   ' (%s)' % detail if detail else ''))
    say('')

    say('checks:')
    check('alive', not meta['died_early'] and not meta.get('killed') and
          # under valgrind 99 is its verdict on errors, checked below
          meta['exit_code'] in ((0, 99) if meta['valgrind'] else (0,)),
          'exit status %s%s' % (meta['exit_code'],
                                ', died before the end' if meta['died_early']
                                else ''))
    half = len(post) // 2
    a_half, b_half = post[:half], post[half:]
    if len(a_half) >= 3 and len(b_half) >= 3:
        base = statistics.median(r['rss_kib'] for r in a_half) / 1024
        top_rss = max(r['rss_kib'] for r in b_half) / 1024
        growth = top_rss - base
        tol = max(meta['rss_tol_mib'], base * meta['rss_tol_pct'] / 100)
        xs = [r['t'] / 60 for r in post]
        ys = [r['rss_kib'] / 1024 for r in post]
        slope = (statistics.linear_regression(xs, ys).slope
                 if len(set(xs)) > 1 else 0.0)
        detail = ('after warm-up: median %.1f MiB (%.0f-%.0f s), max %.1f '
                  'MiB (%.0f-%.0f s): growth %+.2f MiB, tolerance %.2f MiB; '
                  'slope %+.3f MiB/min'
                  % (base, a_half[0]['t'], a_half[-1]['t'], top_rss,
                     b_half[0]['t'], b_half[-1]['t'], growth, tol, slope))
        if meta['valgrind']:
            say('  rss      --    %s (not checked under valgrind)' % detail)
        else:
            check('rss', growth <= tol, detail)
        ha = [h for h in heap if a_half[0]['t'] <= h[0] <= a_half[-1]['t']]
        hb = [h for h in heap if b_half[0]['t'] <= h[0] <= b_half[-1]['t']]
        if len(ha) >= 3 and len(hb) >= 3:
            hma = statistics.median(h[1] for h in ha) / 2**20
            hmb = statistics.median(h[1] for h in hb) / 2**20
            htol = max(meta['rss_tol_mib'], hma * meta['rss_tol_pct'] / 100)
            check('heap', hmb - hma <= htol,
                  'bytes in use (glibc): median %.2f MiB in the first half, '
                  '%.2f MiB in the second: %+.2f MiB, tolerance %.2f MiB; '
                  'arena %.1f -> %.1f MiB (free in it %.1f -> %.1f MiB)'
                  % (hma, hmb, hmb - hma, htol, ha[0][2] / 2**20,
                     hb[-1][2] / 2**20, ha[0][3] / 2**20, hb[-1][3] / 2**20))
        fa = min(r['fds'] for r in a_half)
        fb = min(r['fds'] for r in b_half)
        check('fds', fb - fa <= meta['fd_slack'],
              'after warm-up: min %d / max %d in the first half, min %d / '
              'max %d in the second (slack %d); whole run %d-%d'
              % (fa, max(r['fds'] for r in a_half), fb,
                 max(r['fds'] for r in b_half), meta['fd_slack'],
                 min(r['fds'] for r in rows), max(r['fds'] for r in rows)))
        bad = [r for r in post if r['healthz'] != 200]
        check('healthz', not bad, '%d of %d samples after warm-up not 200%s'
              % (len(bad), len(post),
                 ' (first at %.0f s: %d)' % (bad[0]['t'], bad[0]['healthz'])
                 if bad else ''))
    else:
        say('  rss/fds  --    too few samples after warm-up (%d) to judge '
            'growth; run longer' % len(post))
    # polling: fetches in every interval after the first
    stalls = []
    t = iv
    while t + iv <= end + 0.5:
        a0 = [r for r in rows if r['t'] <= t]
        b0 = [r for r in rows if r['t'] <= t + iv]
        if a0 and b0 and fetches(b0[-1]) <= fetches(a0[-1]):
            stalls.append(t)
        t += iv
    tail = [r for r in rows if r['t'] >= end - iv]
    tail_fetches = fetches(tail[-1]) - fetches(tail[0]) if tail else 0
    tail_200 = ((tail[-1]['f_2xx'] or 0) - (tail[0]['f_2xx'] or 0)
                if tail else 0)
    ok = not stalls and tail_fetches > 0 and (rounds < 2 or tail_200 > 0)
    check('polling', ok, '%d fetches (%d 2xx) in the last interval; '
          'intervals without a fetch: %s'
          % (tail_fetches, tail_200,
             ', '.join('%.0f s' % s for s in stalls) or 'none'))
    if meta['valgrind']:
        v = valgrind_summary(os.path.join(work, 'valgrind.log'))
        check('valgrind', v['errors'] == 0 and v['definitely'] == 0 and
              v['indirectly'] == 0 and not v['fds_open'] and
              meta['exit_code'] == 0,
              'ERROR SUMMARY %s errors; definitely lost %d B, indirectly '
              'lost %d B, possibly lost %d B; %s suppressed (%s); '
              'descriptors left open at exit: %s'
              % (v['errors'], v['definitely'], v['indirectly'],
                 v['possibly'], v.get('suppressed_count', '?'),
                 ', '.join('%s x%s' % (name, c) for c, name in
                           v['suppressed']) or 'none used',
                 ', '.join(v['fds_open']) or 'none'))
    say('')
    say('result: %s' % ('FAIL (%s)' % ', '.join(fails) if fails else 'pass'))
    text = '\n'.join(out) + '\n'
    with open(os.path.join(work, 'report.txt'), 'w') as f:
        f.write(text)
    sys.stdout.write(text)
    plot(work, rows, warm)
    return 1 if fails else 0


def plot(work, rows, warm):
    try:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
    except ImportError:
        return
    fig, ax = plt.subplots(figsize=(9, 4))
    xs = [r['t'] / 60 for r in rows]
    ax.plot(xs, [r['rss_kib'] / 1024 for r in rows], label='VmRSS MiB')
    ax.plot(xs, [r['anon_kib'] / 1024 for r in rows], label='RssAnon MiB')
    ax.axvline(warm / 60, color='grey', linestyle=':', label='warm-up end')
    ax.set_xlabel('minutes')
    ax.set_ylabel('MiB')
    ax2 = ax.twinx()
    ax2.plot(xs, [r['fds'] for r in rows], color='tab:red', alpha=0.4,
             label='fds')
    ax2.set_ylabel('open fds')
    ax.legend(loc='lower right')
    fig.tight_layout()
    fig.savefig(os.path.join(work, 'rss.png'), dpi=100)
    print('plot: %s' % os.path.join(work, 'rss.png'))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    sub = ap.add_subparsers(dest='cmd', required=True)
    r = sub.add_parser('run')
    r.add_argument('--work', required=True)
    r.add_argument('--freshet', required=True)
    r.add_argument('--corpus', required=True)
    r.add_argument('--www', required=True)
    r.add_argument('--nginx-port', type=int, required=True)
    r.add_argument('--feeds', type=int, default=10000)
    r.add_argument('--interval', type=int, default=60)
    r.add_argument('--duration', type=int, default=1800)
    r.add_argument('--change', type=float, default=0.05)
    r.add_argument('--hosts', choices=['spread', 'one'], default='spread')
    r.add_argument('--concurrency', type=int, default=32)
    r.add_argument('--per-host', type=int, default=2)
    r.add_argument('--sample', type=int, default=10)
    r.add_argument('--rss-tol-mib', type=float, default=4)
    r.add_argument('--rss-tol-pct', type=float, default=5)
    r.add_argument('--fd-slack', type=int, default=8)
    r.add_argument('--valgrind', metavar='SUPPRESSIONS')
    r.add_argument('--heapstat', metavar='SO')
    c = sub.add_parser('change')
    c.add_argument('--corpus', required=True)
    c.add_argument('--www', required=True)
    c.add_argument('--feeds', type=int, required=True)
    c.add_argument('--interval', type=int, required=True)
    c.add_argument('--start', type=float, required=True)
    c.add_argument('--frac', type=float, required=True)
    c.add_argument('--nginx-port', type=int, required=True)
    c.add_argument('--seed', default='1')
    c.add_argument('--out', required=True)
    s = sub.add_parser('restore')
    s.add_argument('--corpus', required=True)
    s.add_argument('--www', required=True)
    p = sub.add_parser('report')
    p.add_argument('--work', required=True)
    a = ap.parse_args()
    return {'run': cmd_run, 'change': cmd_change, 'restore': cmd_restore,
            'report': cmd_report}[a.cmd](a)


if __name__ == '__main__':
    sys.exit(main())
