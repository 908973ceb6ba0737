#!/usr/bin/python3
"""The table for tests/bench/poll.sh, from its result lines.

  poll_report.py RESULTS

Result lines are key=value pairs (poll_run.py's, with set, tool, case and
round); lines starting with "check " add what each run produced (ok: feeds
fetched with the expected status; entries). Prints medians over the rounds,
the min-max range, and the ratios the issue sets targets for, each as the
median of the per-round ratios (runs of one round are side by side) and
the range of those.
"""
import statistics
import sys


def parse(path):
    runs, checks = {}, {}
    with open(path) as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            is_check = line.startswith('check ')
            kv = dict(f.split('=', 1) for f in line.split()[1 if is_check else 0:]
                      if '=' in f)
            key = (int(kv['set']), kv['tool'], kv['case'], int(kv['round']))
            (checks if is_check else runs)[key] = kv
    return runs, checks


def med(xs):
    return statistics.median(xs) if xs else float('nan')


def rng(xs):
    xs = list(xs)
    return '%.3g-%.3g' % (min(xs), max(xs)) if xs else '-'


def series(runs, s, tool, case, field):
    out = {}
    for (s2, t, c, r), kv in runs.items():
        if (s2, t, c) == (s, tool, case) and field in kv:
            out[r] = float(kv[field])
    return out


def main():
    runs, checks = parse(sys.argv[1])
    sets = sorted({k[0] for k in runs})
    order = [('freshet', 'cold'), ('curl', 'cold'), ('curl', 'plain'),
             ('freshet', '304'), ('curl', '304'), ('sfeed_update', 'cold'),
             ('feed2exec', 'cold'), ('baseline', 'cold'),
             ('baseline', '304')]
    label = {('curl', 'cold'): 'curl --compressed (fetch only)',
             ('curl', 'plain'): 'curl, identity (fetch only)',
             ('curl', '304'): 'curl 304 (same validators)',
             ('freshet', 'cold'): 'freshet cold cycle',
             ('freshet', '304'): 'freshet 304 cycle',
             ('sfeed_update', 'cold'): 'sfeed_update cold',
             ('feed2exec', 'cold'): 'feed2exec --parallel cold',
             ('baseline', 'cold'): 'baseline freshet cold cycle',
             ('baseline', '304'): 'baseline freshet 304 cycle'}
    print()
    print('%-6s %-31s %6s %-23s %8s %10s %8s %11s' % (
        'feeds', 'run', 'rounds', 'wall s (range)', 'CPU s',
        'CPU s/1000', 'maxRSS', 'ok/entries'))
    for s in sets:
        for tool, case in order:
            wall = series(runs, s, tool, case, 'wall_s')
            if not wall:
                continue
            cpu = series(runs, s, tool, case, 'cpu_s')
            rss = series(runs, s, tool, case, 'maxrss_mib')
            rcs = series(runs, s, tool, case, 'rc')
            ok = [float(kv['ok']) for k, kv in checks.items()
                  if k[:3] == (s, tool, case) and 'ok' in kv]
            ent = [float(kv['entries']) for k, kv in checks.items()
                   if k[:3] == (s, tool, case) and 'entries' in kv]
            okstr = '%d' % min(ok) if ok else '-'
            if ent:
                okstr += '/%d' % min(ent)
            if any(rcs.values()):
                okstr += ' rc!=0'
            print('%-6d %-31s %6d %7.3f %-15s %8.2f %10.3f %6.1fM %11s' % (
                s, label[(tool, case)], len(wall), med(wall.values()),
                '(' + rng(wall.values()) + ')', med(cpu.values()),
                med(cpu.values()) / s * 1000, med(rss.values()), okstr))

    def ratio(s, num, den, field='wall_s'):
        a = series(runs, s, *num, field)
        b = series(runs, s, *den, field)
        rs = [a[r] / b[r] for r in sorted(a) if r in b and b[r] > 0]
        return rs

    print()
    print('Ratios (median of per-round ratios, range), wall time:')
    checks_out = []

    def show(s, what, num, den, target=None, better='lower'):
        rs = ratio(s, num, den)
        if not rs:
            return
        m = med(rs)
        verdict = ''
        if target is not None:
            met = m <= target if better == 'lower' else m >= target
            verdict = '  target %s %gx: %s' % (
                '<=' if better == 'lower' else '>=', target,
                'MET' if met else 'MISSED')
            checks_out.append((s, what, met))
        print('  %-6d %-46s %7.2fx (%s)%s' % (s, what, m, rng(rs), verdict))

    for s in sets:
        show(s, 'freshet cold / curl --compressed', ('freshet', 'cold'),
             ('curl', 'cold'), 3)
        show(s, 'freshet cold / curl identity', ('freshet', 'cold'),
             ('curl', 'plain'))
        show(s, 'freshet 304 / curl 304', ('freshet', '304'), ('curl', '304'),
             1.5)
        show(s, 'sfeed_update / freshet cold (speed-up)',
             ('sfeed_update', 'cold'), ('freshet', 'cold'), 50, 'higher')
        show(s, 'feed2exec / freshet cold (speed-up)', ('feed2exec', 'cold'),
             ('freshet', 'cold'), 50, 'higher')
        show(s, 'freshet cold / baseline cold', ('freshet', 'cold'),
             ('baseline', 'cold'))
        show(s, 'freshet 304 / baseline 304', ('freshet', '304'),
             ('baseline', '304'))
        show(s, 'baseline 304 / curl 304', ('baseline', '304'),
             ('curl', '304'))

    print()
    print('Memory and CPU:')
    for s in sets:
        rss = series(runs, s, 'freshet', 'cold', 'maxrss_mib')
        tree = series(runs, s, 'freshet', 'rss', 'tree_peak_MiB')
        if rss:
            line = '  %-6d freshet cold peak RSS %.1f MiB (ru_maxrss, %s)' % (
                s, med(rss.values()), rng(rss.values()))
            if tree:
                line += '; peak_rss.py tree peak %.1f MiB (%s)' % (
                    med(tree.values()), rng(tree.values()))
            if s >= 10000:
                met = max(list(rss.values()) + list(tree.values())) < 64
                line += '  target < 64 MiB: %s' % ('MET' if met else 'MISSED')
            print(line)
        for case in ('cold', '304'):
            cpu = series(runs, s, 'freshet', case, 'cpu_s')
            if cpu:
                print('  %-6d freshet %-4s CPU seconds per 1,000 polls: %.3f '
                      '(user+sys; %s s for %d)' % (
                          s, case, med(cpu.values()) / s * 1000,
                          rng(cpu.values()), s))
    bad = [c for c in checks_out if not c[2]]
    print()
    print('Targets: %d met, %d missed%s' % (
        len(checks_out) - len(bad), len(bad),
        ''.join('\n  MISSED: %d feeds, %s' % (s, w) for s, w, _ in bad)))


if __name__ == '__main__':
    main()
