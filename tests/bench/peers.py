#!/usr/bin/python3
"""Peers for tests/bench/parse.sh, and its report.

  peers.py sfeed-files FILE...   one `sfeed < FILE > /dev/null` per file
  peers.py sfeed-stream FILE     one sfeed process over FILE
  peers.py feedparser FILE...    feedparser.parse(bytes) per file, in process
  peers.py report RESULTS        the table, from parse.sh's result lines

The measuring modes print one line of key=value pairs, like bench_parse -t:
files bytes seconds entries failed maxrss_kib. For sfeed, seconds is the
wall time of the whole loop, process start-up included; entries (sfeed
writes one line per entry) and maxrss_kib, sfeed's largest peak RSS as GNU
time reports it, come from a second, untimed pass. For feedparser only the parse calls are timed and
maxrss_kib is this process's peak.

Runs with Debian's python (/usr/bin/python3), where python3-feedparser is.
"""
import os
import resource
import statistics
import subprocess
import sys
import time


def emit(files, nbytes, seconds, entries, failed, maxrss):
    print('files=%d bytes=%d seconds=%.6f entries=%d failed=%d maxrss_kib=%d'
          % (files, nbytes, seconds, entries, failed, maxrss))


def sfeed_files(paths):
    nbytes = sum(os.path.getsize(p) for p in paths)
    failed = 0
    t0 = time.monotonic()
    for p in paths:
        with open(p, 'rb') as fh:
            rc = subprocess.call(['sfeed'], stdin=fh,
                                 stdout=subprocess.DEVNULL)
        failed += rc != 0
    seconds = time.monotonic() - t0
    # Untimed: entries (one output line each) and sfeed's own peak RSS. A
    # child forked from this process would report this process's pages as
    # its peak too, so GNU time (small) forks sfeed and reads its rusage.
    entries = 0
    maxrss = 0
    for p in paths:
        with open(p, 'rb') as fh:
            r = subprocess.run(['/usr/bin/time', '-f', '%M', 'sfeed'],
                               stdin=fh, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, check=False)
        entries += r.stdout.count(b'\n')
        maxrss = max(maxrss, int(r.stderr.split()[-1]))
    emit(len(paths), nbytes, seconds, entries, failed, maxrss)


def feedparser_files(paths):
    import feedparser  # Debian's python3-feedparser

    nbytes = 0
    seconds = 0.0
    entries = 0
    failed = 0
    for p in paths:
        with open(p, 'rb') as fh:
            data = fh.read()
        nbytes += len(data)
        url = 'https://bench.example.com/' + os.path.basename(p)
        t0 = time.monotonic()
        d = feedparser.parse(data, response_headers={'content-location': url})
        n = len(d.entries)
        seconds += time.monotonic() - t0
        entries += n
        if not d.get('version') and n == 0:
            failed += 1
        del d, data
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    emit(len(paths), nbytes, seconds, entries, failed, maxrss)


def parse_line(line):
    rec = {}
    for field in line.split():
        k, _, v = field.partition('=')
        rec[k] = v
    return rec


def report(path):
    """Lines: 'tool=T case=C files=... bytes=... seconds=... ...'."""
    runs = {}
    order = []
    with open(path) as fh:
        for line in fh:
            if '=' not in line:
                continue
            r = parse_line(line)
            key = (r['case'], r['tool'])
            if key not in runs:
                runs[key] = []
                order.append(key)
            runs[key].append(r)

    def summary(key):
        rs = runs.get(key)
        if not rs:
            return None
        mbs = [int(r['bytes']) / 1e6 / max(float(r['seconds']), 1e-9)
               for r in rs]
        eps = [int(r['entries']) / max(float(r['seconds']), 1e-9)
               for r in rs]
        return {
            'n': len(rs),
            'mb': int(rs[0]['bytes']) / 1e6,
            'files': int(rs[0]['files']),
            'entries': int(rs[0]['entries']),
            'failed': int(rs[0]['failed']),
            'seconds': statistics.median(float(r['seconds']) for r in rs),
            'mbs': statistics.median(mbs),
            'mbs_min': min(mbs),
            'mbs_max': max(mbs),
            'eps': statistics.median(eps),
            'rss': max(int(r['maxrss_kib']) for r in rs) / 1024,
        }

    titles = {
        'feeds': '1000 feeds',
        'feeds100': 'first 100 feeds',
        'big': 'big.rss',
    }
    tools = {
        'freshet': 'freshet bench_parse',
        'sfeed-files': 'sfeed, 1 process/file',
        'sfeed-stream': 'sfeed, 1 process',
        'feedparser': 'python3-feedparser',
    }
    print('%-16s %-22s %5s %8s %7s %22s %11s %9s %8s %11s' % (
        'input', 'parser', 'runs', 'MB', 'files', 'MB/s (min-max)',
        'entries/s', 'entries', 'failed', 'peak RSS'))
    for key in order:
        s = summary(key)
        case, tool = key
        label = titles.get(case, case)
        if tool == 'sfeed-stream' and case == 'feeds':
            label = '1000 feeds, cat'
        rate = '%.1f (%.1f-%.1f)' % (s['mbs'], s['mbs_min'], s['mbs_max'])
        print('%-16s %-22s %5d %8.1f %7d %22s %11.0f %9d %8d %7.1f MiB' % (
            label, tools.get(tool, tool), s['n'], s['mb'], s['files'], rate,
            s['eps'], s['entries'], s['failed'], s['rss']))
    print()
    print('MB/s is the median over the runs; entries are what each parser '
          'found.')
    print('sfeed, 1 process/file includes one process start per file; '
          'sfeed, 1 process reads the 1000 feeds concatenated, or big.rss.')
    print()

    def ratio(case, a, b, what):
        sa, sb = summary((case, a)), summary((case, b))
        if sa and sb:
            print('  %-11s %-46s %6.2fx MB/s, %6.2fx entries/s' % (
                titles.get(case, case) + ':', what, sa['mbs'] / sb['mbs'],
                sa['eps'] / sb['eps'] if sb['eps'] else float('nan')))

    print('Ratios (higher is better for freshet):')
    ratio('feeds', 'freshet', 'sfeed-files', 'freshet / sfeed (1 process per file)')
    ratio('feeds', 'freshet', 'sfeed-stream', 'freshet / sfeed (one stream)')
    ratio('feeds', 'freshet', 'feedparser', 'freshet / feedparser')
    ratio('big', 'freshet', 'sfeed-stream', 'freshet / sfeed')
    ratio('big', 'freshet', 'feedparser', 'freshet / feedparser')
    print()
    print('Peak RSS, 100 files vs 1000 files (should not grow with the count):')
    for tool in ('freshet', 'sfeed-files', 'feedparser'):
        a, b = summary(('feeds100', tool)), summary(('feeds', tool))
        if a and b:
            print('  %-22s %7.1f MiB vs %7.1f MiB (%+.1f MiB)' % (
                tools[tool], a['rss'], b['rss'], b['rss'] - a['rss']))


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    mode, args = argv[1], argv[2:]
    if mode == 'sfeed-files':
        sfeed_files(args)
    elif mode == 'sfeed-stream':
        sfeed_files(args[:1])
    elif mode == 'feedparser':
        feedparser_files(args)
    elif mode == 'report':
        report(args[0])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main(sys.argv)
