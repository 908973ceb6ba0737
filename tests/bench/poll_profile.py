#!/usr/bin/python3
"""Where a freshet poll cycle spends its CPU, from a perf.data file.

  poll_profile.py PERF_DATA [TOP]

poll.sh (PROFILE=1) records `freshet poll --all` with
`perf record --call-graph dwarf` on a -fno-omit-frame-pointer -g build.
This prints, as shares of all CPU samples of the process (every thread):
  - the share of each thread (the libuv loop thread vs the pool workers)
  - inclusive shares of freshet's phases (parse, HTML sanitizer, store,
    SQLite commit and checkpoint, curl and inflate on the loop, publish,
    start-up), from `perf report --children`
  - the TOP (25) functions by self time, with their library
"""
import re
import subprocess
import sys

PHASES = [
    ('parse_work', 'worker job: parse + schedule (thread pool)'),
    ('parse_feed', '  parse_feed (bytes -> model)'),
    ('html_sanitize', '    html_sanitize (entry HTML)'),
    ('charset_to_utf8', '    charset_to_utf8'),
    ('xmlfix_repair', '    xmlfix_repair'),
    ('write_batch', 'store writer: one transaction of queued fetches'),
    ('store_save_fetch', '  store_save_fetch'),
    ('feed_free', '  feed_free (parsed documents, once stored)'),
    ('sqlite3VdbeExec', '    SQLite statements'),
    ('sqlite3WalFrames', '    SQLite WAL writes at commit'),
    ('sqlite3WalCheckpoint', '    SQLite WAL checkpoints'),
    ('fdatasync', '    fdatasync'),
    ('uv_run', 'libuv loop thread (uv_run)'),
    ('curl_multi_socket_action', '  curl_multi_socket_action'),
    ('inflate', '  zlib inflate (gzip bodies)'),
    ('publish_all', 'publish_all'),
    ('publish_recent', 'publish_recent'),
    ('config_load', 'config_load'),
    ('load_feeds', 'load_feeds (daemon start: store rows -> config)'),
    ('config_find_feed', '  config_find_feed (linear search by name)'),
    ('store_open', 'store_open'),
    ('store_sync_feeds', 'store_sync_feeds'),
    ('store_due_feeds', 'store_due_feeds'),
    ('store_list_feeds', 'store_list_feeds'),
]


def perf(args):
    return subprocess.run(['perf'] + args, capture_output=True, text=True,
                          check=False).stdout


def main():
    data = sys.argv[1]
    top = int(sys.argv[2]) if len(sys.argv) > 2 else 25
    out = perf(['report', '-i', data, '--no-children', '--sort', 'pid',
                '--stdio', '-g', 'none'])
    print('threads (share of samples):')
    for line in out.splitlines():
        m = re.match(r'\s+([\d.]+)%\s+(\d+):(\S+)', line)
        if m:
            print('  %6s%%  tid %s' % (m.group(1), m.group(2)))
    out = perf(['report', '-i', data, '--children', '--sort', 'symbol',
                '--stdio', '-g', 'none'])
    incl = {}
    for line in out.splitlines():
        m = re.match(r'\s+([\d.]+)%\s+([\d.]+)%\s+\[.\]\s+(\S+)', line)
        if m:
            name = m.group(3)
            incl[name] = max(incl.get(name, 0.0), float(m.group(1)))
    print('inclusive (children) shares:')
    for sym, what in PHASES:
        if sym in incl:
            print('  %6.2f%%  %-50s %s' % (incl[sym], what, sym))
    out = perf(['report', '-i', data, '--no-children', '--sort', 'dso,symbol',
                '--stdio', '-g', 'none'])
    print('self time, top %d:' % top)
    n = 0
    for line in out.splitlines():
        m = re.match(r'\s+([\d.]+)%\s+(\S+)\s+\[(.)\]\s+(\S+)', line)
        if m and n < top:
            print('  %6s%%  %-28s %s' % (m.group(1), m.group(4), m.group(2)))
            n += 1


if __name__ == '__main__':
    main()
