#!/usr/bin/python3
"""Run one command of a benchmark and print what it cost, for poll.sh.

  poll_run.py [--tree] [--log FILE] KEY=VALUE... -- COMMAND [ARG ...]

Prints one line of key=value pairs: the KEY=VALUE arguments as given, then
  rc       the command's exit status
  wall_s   wall-clock seconds from fork to exit (CLOCK_MONOTONIC)
  user_s, sys_s, cpu_s
           CPU seconds of the command and of every descendant it waited
           for (wait4's rusage: sfeed_update's curl and sfeed processes,
           feed2exec's pool workers and freshet's threads all count)
  maxrss_mib
           the kernel's high-water mark of resident memory of the largest
           single process of the tree (ru_maxrss); for freshet, one process,
           this is its exact peak
With --tree, also
  tree_peak_mib, tree_peak_procs
           the peak of resident memory summed over the whole process tree,
           sampled every 50 ms by ../shared/bench/peak_rss.py's own code
           (a lower bound; sampling costs CPU, so poll.sh times runs
           without --tree and measures memory in separate runs)
The command's stdout and stderr go to --log (default /dev/null).
"""
import importlib.util
import os
import sys
import time


def load_peak_rss():
    here = os.path.dirname(os.path.abspath(__file__))
    shared = os.environ.get('SHARED_BENCH',
                            os.path.join(here, '..', '..', '..', 'shared',
                                         'bench'))
    spec = importlib.util.spec_from_file_location(
        'peak_rss', os.path.join(shared, 'peak_rss.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    args = sys.argv[1:]
    tree = False
    log = os.devnull
    tags = []
    while args and args[0] != '--':
        a = args.pop(0)
        if a == '--tree':
            tree = True
        elif a == '--log':
            log = args.pop(0)
        elif '=' in a:
            tags.append(a)
        else:
            sys.exit('poll_run.py: bad argument %r' % a)
    if not args or len(args) < 2:
        sys.exit(__doc__)
    cmd = args[1:]
    pr = load_peak_rss() if tree else None

    out = open(log, 'ab')
    t0 = time.monotonic()
    pid = os.fork()
    if pid == 0:
        try:
            os.dup2(out.fileno(), 1)
            os.dup2(out.fileno(), 2)
            os.execvp(cmd[0], cmd)
        finally:
            os._exit(127)
    peak = peak_n = 0
    while True:
        if tree:
            wpid, status, ru = os.wait4(pid, os.WNOHANG)
            if wpid == 0:
                kids, rss = pr.snapshot()
                pids = pr.tree(pid, kids)
                peak = max(peak, sum(rss.get(x, 0) for x in pids))
                peak_n = max(peak_n, len(pids))
                time.sleep(0.05)
                continue
        else:
            wpid, status, ru = os.wait4(pid, 0)
        break
    wall = time.monotonic() - t0
    out.close()
    rc = os.waitstatus_to_exitcode(status)
    fields = tags + [
        'rc=%d' % rc,
        'wall_s=%.4f' % wall,
        'user_s=%.3f' % ru.ru_utime,
        'sys_s=%.3f' % ru.ru_stime,
        'cpu_s=%.3f' % (ru.ru_utime + ru.ru_stime),
        'maxrss_mib=%.1f' % (ru.ru_maxrss / 1024.0),
    ]
    if tree:
        fields += ['tree_peak_mib=%.1f' % (peak / 2**20),
                   'tree_peak_procs=%d' % peak_n]
    print(' '.join(fields), flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main())
