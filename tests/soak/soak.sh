#!/usr/bin/env bash
# tests/soak/soak.sh: issue 6's soak. `freshet run` polls the generated
# 10,000-feed corpus on a local nginx for half an hour at a short interval
# while a changer rewrites a share of the feeds every interval; memory, open
# files, CPU, fetches and the database are sampled every 10 s, and the run
# fails if resident memory grows after warm-up, descriptors grow, polling
# stalls or the daemon dies. Not part of CI (too long).
#
#   bash tests/soak/soak.sh               # 10,000 feeds, 1800 s, 60 s interval
#   DURATION=180 bash tests/soak/soak.sh  # a smoke run
#   bash tests/soak/soak.sh --valgrind    # 300 feeds, 300 s, under memcheck
#
# The corpus is ../shared/bench/gen_corpus.py's, generated once and cached
# where tests/bench/poll.sh caches it ($CORPUS_ROOT/freshet-bench-corpus-N);
# it is never modified. nginx (../shared/bench/serve.sh, one worker, ETag,
# Last-Modified, 304, gzip_static) serves it from a tree of symlinks of our
# own ($CORPUS_ROOT/freshet-soak-nginx-PORT); the changer replaces the
# symlink of a changed feed with a regular file (and its .gz), and the next
# run puts the symlinks back. Everything listens on 127.0.0.1.
#
# What happens, what is measured and what is checked: see soak.py's
# docstring. The run's directory (printed) keeps samples.csv, report.txt,
# changes.csv, freshet.log (and heap.log, valgrind.log, rss.png when
# made).
#
# Environment:
#   DURATION      seconds of `freshet run` (1800; --valgrind: 300)
#   FEEDS         feeds polled: the first N of the corpus (10000; --valgrind:
#                 300, the first 300 of the same corpus)
#   CORPUS_FEEDS  size of the generated corpus (10000, or FEEDS if larger)
#   INTERVAL      interval = min_interval = max_interval, seconds (60;
#                 --valgrind: 30). The configuration allows 1 s; 60 s keeps
#                 10,000 feeds at ~170 fetches/s on a shared 2-core machine
#   CHANGE        share of the feeds the changer rewrites every interval
#                 (0.05)
#   HOSTS         spread (default): the feeds are spread over 50 host names
#                 f0.localhost..f49.localhost (libcurl resolves *.localhost
#                 to 127.0.0.1 itself) with freshet's default concurrency 32
#                 and per_host 2, as with many publishers; one: all on
#                 127.0.0.1, concurrency = per_host = 32
#   CONCURRENCY, PER_HOST   override freshet's settings
#   SAMPLE        sampling period, seconds (10)
#   RSS_TOL_MIB, RSS_TOL_PCT
#                 allowed resident-memory growth after warm-up: the larger
#                 of RSS_TOL_MIB MiB (4) and RSS_TOL_PCT % (5) of the
#                 baseline
#   FD_SLACK      allowed growth of the lowest descriptor count (8)
#   HEAPSTAT=1    preload tests/soak/heapstat.c (built into the run's
#                 directory) so that the report also has glibc's count of
#                 heap bytes in use beside resident memory: a leak grows
#                 it, fragmentation only grows the arena. 0: not preloaded.
#                 Never under valgrind
#   BUILD_DIR     build directory (build-soak, debugoptimized; --valgrind:
#                 build-soak-vg, debug)
#   FRESHET       a freshet binary to soak instead of building one (e.g. one
#                 built from `git archive HEAD` while the tree is being
#                 edited)
#   PORT          nginx's port (18490)
#   CORPUS_ROOT   where the corpus and the served tree are cached (/tmp)
#   SHARED_BENCH  gen_corpus.py and serve.sh (<repo>/../shared/bench)
#   WORK          the run's directory (a new /tmp/freshet-soak.XXXXXX)
#   KEEP=0        remove the run's directory when the run passed (the
#                 database alone is ~1 GB at 10,000 feeds)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)

valgrind=0
for a in "$@"; do
  case $a in
  --valgrind) valgrind=1 ;;
  -h | --help)
    sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'
    exit 0
    ;;
  *)
    echo "soak.sh: unknown argument $a (try --help)" >&2
    exit 2
    ;;
  esac
done

py=/usr/bin/python3
shared=${SHARED_BENCH:-$repo/../shared/bench}
export SHARED_BENCH=$shared
if ((valgrind)); then
  duration=${DURATION:-300}
  feeds=${FEEDS:-300}
  interval=${INTERVAL:-30}
  build=${BUILD_DIR:-build-soak-vg}
  buildtype=debug
else
  duration=${DURATION:-1800}
  feeds=${FEEDS:-10000}
  interval=${INTERVAL:-60}
  build=${BUILD_DIR:-build-soak}
  buildtype=debugoptimized
fi
corpus_feeds=${CORPUS_FEEDS:-10000}
if ((feeds > corpus_feeds)); then corpus_feeds=$feeds; fi
port=${PORT:-18490}
corpus_root=${CORPUS_ROOT:-/tmp}
hosts=${HOSTS:-spread}
case $hosts in
spread)
  concurrency=${CONCURRENCY:-32}
  per_host=${PER_HOST:-2}
  ;;
one)
  concurrency=${CONCURRENCY:-32}
  per_host=${PER_HOST:-$concurrency}
  ;;
*)
  echo "soak.sh: HOSTS must be spread or one" >&2
  exit 2
  ;;
esac

pkgs="nginx-light curl"
if ((valgrind)); then pkgs+=" valgrind"; fi
EXTRA_PACKAGES="$pkgs" SKIP_BUILD=1 bash contrib/setup.sh >&2
for f in gen_corpus.py serve.sh; do
  if [[ ! -f "$shared/$f" ]]; then
    echo "soak.sh: no $shared/$f; set SHARED_BENCH" >&2
    exit 1
  fi
done

if [[ -n "${FRESHET:-}" ]]; then
  freshet=$(readlink -f "$FRESHET")
else
  if ! meson introspect "$build" --projectinfo >/dev/null 2>&1; then
    rm -rf "$build"
    meson setup "$build" --buildtype="$buildtype" -Dwerror=false >/dev/null
  fi
  meson compile -C "$build" freshet:executable >/dev/null
  freshet=$repo/$build/freshet
fi

# The corpus, generated once (poll.sh caches it in the same place).
corpus=$corpus_root/freshet-bench-corpus-$corpus_feeds
have=$(find "$corpus/feeds" -maxdepth 1 -type f 2>/dev/null | wc -l)
if [[ "$have" -ne "$corpus_feeds" || ! -f "$corpus/manifest.json" ]]; then
  echo "soak.sh: generating $corpus_feeds feeds in $corpus" >&2
  rm -rf "$corpus"
  "$py" "$shared/gen_corpus.py" "$corpus" --feeds "$corpus_feeds" >/dev/null
fi

work=${WORK:-$(mktemp -d /tmp/freshet-soak.XXXXXX)}
mkdir -p "$work"
prefix=$corpus_root/freshet-soak-nginx-$port
# One soak per served tree: a second one would restore the first one's
# changes under it and stop its nginx.
exec 9>"$prefix.lock"
if ! flock -n 9; then
  echo "soak.sh: another soak is using port $port ($prefix); set PORT" >&2
  exit 1
fi
# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  PREFIX=$prefix sh "$shared/serve.sh" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Our served tree: put back what a previous run's changer replaced, then
# start nginx. GZIP stays unset: gzip(1) reads $GZIP as its own options
# (see poll.sh).
PREFIX=$prefix sh "$shared/serve.sh" stop >/dev/null 2>&1 || true
if [[ -d "$prefix/www/feeds" ]]; then
  "$py" tests/soak/soak.py restore --corpus "$corpus" --www "$prefix/www"
fi
env -u GZIP PREFIX="$prefix" WORKERS=1 sh "$shared/serve.sh" start \
  "$corpus" "$port" >&2
# serve.sh caches open files and their stat for 300 s: nginx would go on
# serving a changed feed's old file (and old ETag) for up to five minutes,
# and 20,000 cached descriptors reach this machine's open-file limit (see
# poll.sh). The soak wants every change seen at once: no cache.
sed -i -e 's/open_file_cache [^;]*;/open_file_cache off;/' \
  -e 's/open_file_cache_valid [^;]*;//' "$prefix/nginx.conf"
PREFIX=$prefix sh "$shared/serve.sh" reload
sleep 1
: >"$prefix/error.log"

if [[ -n "${FRESHET:-}" ]]; then
  what="freshet $freshet"
else
  what="freshet $(git describe --always --dirty 2>/dev/null || echo '?')"
  what+=" ($build)"
fi
echo "soak.sh: $what, $feeds feeds, interval ${interval}s, ${duration}s," \
  "hosts=$hosts concurrency=$concurrency per_host=$per_host; $(nproc) cores," \
  "load $(cut -d' ' -f1-3 /proc/loadavg); work dir $work" >&2

args=(run --work "$work" --freshet "$freshet" --corpus "$corpus"
  --www "$prefix/www" --nginx-port "$port" --feeds "$feeds"
  --interval "$interval" --duration "$duration" --change "${CHANGE:-0.05}"
  --hosts "$hosts" --concurrency "$concurrency" --per-host "$per_host"
  --sample "${SAMPLE:-10}" --rss-tol-mib "${RSS_TOL_MIB:-4}"
  --rss-tol-pct "${RSS_TOL_PCT:-5}" --fd-slack "${FD_SLACK:-8}")
if ((valgrind)); then
  args+=(--valgrind "$repo/tests/soak/valgrind.supp")
elif [[ "${HEAPSTAT:-1}" == 1 ]]; then
  cc -O2 -shared -fPIC -pthread tests/soak/heapstat.c -o "$work/heapstat.so"
  args+=(--heapstat "$work/heapstat.so")
fi
rc=0
"$py" tests/soak/soak.py "${args[@]}" || rc=$?

if grep -q '\[\(crit\|alert\|emerg\)\]' "$prefix/error.log" 2>/dev/null; then
  echo "soak.sh: WARNING: nginx reported errors:" >&2
  grep '\[\(crit\|alert\|emerg\)\]' "$prefix/error.log" | tail -3 >&2
fi
if [[ $rc -eq 0 && "${KEEP:-1}" == 0 ]]; then
  rm -rf "$work"
else
  echo "soak.sh: the run's files are in $work" >&2
fi
exit "$rc"
