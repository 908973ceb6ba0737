#!/usr/bin/env bash
# tests/bench/publish.sh: issue 5's publish benchmark. The time of
# `freshet render` (open the store, publish feed.atom, feed.rss, feed.json,
# feeds.opml and recent.json from the database) as the store grows to
# 1,000,000 entries: it must stay flat. Not part of CI.
#
#   bash tests/bench/publish.sh
#
# Stores are filled by bench_store (tests/bench/bench_store.c: 1000 feeds
# named feed-00000.., synthesized entries modelled on the shared corpus):
# 1000 x 5, 1000 x 95 and 1000 x 995 entries per feed, plus the 5 new ones
# of its steady round, so 10,000, 100,000 and 1,000,000 entries. They are
# cached under STORE_ROOT (the 1M one takes a few minutes and ~2 GB) and
# reused while their entry count is right. A store with the same 1000
# feeds and no entries gives the fixed cost (start-up, config, store open,
# OPML of 1000 feeds).
#
# freshet's config lists exactly the feeds bench_store created (name and
# URL): `freshet render` syncs the store to the config and would delete any
# feed it does not list, with its entries. The script checks the names
# match before every render and stops if they do not.
#
# Each round renders every size once, the order rotating from round to
# round; prints the median wall and CPU seconds per size and the ratio of
# each to the 10,000-entry store.
#
# Environment:
#   BUILD_DIR   freshet's release build (build-bench)
#   ROUNDS      rounds (5)
#   SIZES       entries per feed, space-separated ("5 95 995")
#   STORE_ROOT  where the stores are cached (/tmp/freshet-bench-publish)
#   RESULTS     also keep the raw result lines in this file
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)

shared=${SHARED_BENCH:-$repo/../shared/bench}
export SHARED_BENCH=$shared
build=${BUILD_DIR:-build-bench}
rounds=${ROUNDS:-5}
read -r -a sizes <<<"${SIZES:-5 95 995}"
root=${STORE_ROOT:-/tmp/freshet-bench-publish}
nfeeds=1000
py=/usr/bin/python3

SKIP_BUILD=1 bash contrib/setup.sh >&2
if ! meson introspect "$build" --projectinfo >/dev/null 2>&1; then
  rm -rf "$build"
  # -Dwerror=false: a benchmark should not stop at a new -O3-only warning
  meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
meson compile -C "$build" freshet:executable bench_store >/dev/null
freshet=$(cd "$build" && pwd)/freshet
bench_store=$(cd "$build" && pwd)/tests/bench/bench_store

work=$(mktemp -d /tmp/freshet-bench-publish.XXXXXX)
results=$work/results
trap 'rm -rf "$work"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$root"

sql() { "$py" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$@"; }

# The config bench_store's feeds need: same names, same URLs, no titles.
feeds_conf() {
  awk -v n="$nfeeds" 'BEGIN { for (i = 0; i < n; i++)
      printf "[feed-%05d]\nurl = https://site-%d.example/feed\n\n", i, i }'
}

# conf DIR DB: a config dir rendering DB into DIR/public.
conf() {
  mkdir -p "$1/feeds.d"
  cat >"$1/freshet.conf" <<EOF
[freshet]
database = $2
output_dir = public
listen =
log_level = warn
EOF
  feeds_conf >"$1/feeds.d/bench.conf"
}

# Names in the store must be exactly the configured ones, or render would
# delete feeds.
check_names() {
  "$py" - "$1" "$nfeeds" <<'EOF'
import sqlite3, sys
db, n = sys.argv[1], int(sys.argv[2])
have = {r[0] for r in sqlite3.connect(db).execute('SELECT name FROM feeds')}
want = {'feed-%05d' % i for i in range(n)}
if have != want:
    sys.exit('publish.sh: %s: feeds differ from the config (%d extra, %d '
             'missing); not rendering' % (db, len(have - want), len(want - have)))
EOF
}

# store E: the cached store of 1000 x E (+5) entries; made if missing.
store_path() { echo "$root/store-$1/bench.db"; }
make_store() {
  local e=$1 db stamp want have
  db=$(store_path "$e")
  stamp=$root/store-$e/filled
  want=$((nfeeds * (e + 5)))
  have=$(sql "$db" 'SELECT count(*) FROM entries' 2>/dev/null || echo 0)
  if [[ -f "$stamp" && "$have" == "$(cat "$stamp")" ]]; then
    return 0
  fi
  echo "publish.sh: filling $db with $nfeeds x $e (+5) entries" >&2
  rm -rf "$root/store-$e"
  "$bench_store" -f "$nfeeds" -e "$e" -d "$root/store-$e" -k -t |
    sed 's/^/  /' >&2
  have=$(sql "$db" 'SELECT count(*) FROM entries')
  # bench_store's syndicated stories are sometimes stored once for two
  # documents' entries, so a few less than FEEDS x (E + 5)
  if ((have < want * 99 / 100)); then
    echo "publish.sh: $db has $have entries, not about $want" >&2
    exit 1
  fi
  echo "$have" >"$stamp"
}

# The empty store: the same feeds, no entries (made by a first render).
empty=$root/store-0/bench.db
mkdir -p "$root/store-0"
conf "$work/c0" "$empty"
"$freshet" -c "$work/c0/freshet.conf" render

labels=(0)
for e in "${sizes[@]}"; do
  make_store "$e"
  labels+=("$e")
done
for e in "${labels[@]}"; do
  db=$empty
  [[ "$e" != 0 ]] && db=$(store_path "$e")
  conf "$work/c$e" "$db"
  check_names "$db"
  # one untimed render: the page cache holds the store from here on
  "$freshet" -c "$work/c$e/freshet.conf" render
done

echo "publish.sh: $rounds rounds over stores of ${labels[*]} entries per feed" >&2
for ((r = 1; r <= rounds; r++)); do
  n=${#labels[@]}
  for ((i = 0; i < n; i++)); do
    e=${labels[$(((i + r - 1) % n))]}
    db=$empty
    [[ "$e" != 0 ]] && db=$(store_path "$e")
    check_names "$db"
    entries=$(sql "$db" 'SELECT count(*) FROM entries')
    "$py" tests/bench/poll_run.py --log "$work/log" entries="$entries" \
      round="$r" -- "$freshet" -c "$work/c$e/freshet.conf" render |
      tee -a "$results" >&2
  done
done
[[ -n "${RESULTS:-}" ]] && cp "$results" "$RESULTS"

# Sanity: what the biggest render published.
last=${labels[$((${#labels[@]} - 1))]}
echo
echo "published from the largest store:" \
  "$(grep -c '<entry>' "$work/c$last/public/feed.atom") Atom entries," \
  "$("$py" -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["items"]))' \
    "$work/c$last/public/recent.json") recent.json items;" \
  "store $(du -sh "$(dirname "$(store_path "$last")")" | cut -f1)"

echo "freshet $(git -C "$repo" describe --always --dirty 2>/dev/null ||
  echo '?') ($build), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$py" - "$results" <<'EOF'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(f.split('=', 1) for f in line.split() if '=' in f)
    rows.setdefault(int(kv['entries']), []).append(kv)
def med(rs, k):
    return statistics.median(float(r[k]) for r in rs)
sizes = sorted(rows)
base = [s for s in sizes if s > 0][:1]
print()
print('%10s %6s %8s %15s %7s %8s %12s %12s' % (
    'entries', 'rounds', 'wall s', '(range)', 'CPU s', 'maxRSS', 'minus empty',
    'vs smallest'))
w0 = med(rows[0], 'wall_s') if 0 in rows else 0.0
for s in sizes:
    rs = rows[s]
    w = med(rs, 'wall_s')
    walls = [float(r['wall_s']) for r in rs]
    bad = any(r['rc'] != '0' for r in rs)
    ratio = '%.2fx' % (w / med(rows[base[0]], 'wall_s')) if base and s else '-'
    print('%10d %6d %8.3f %15s %7.3f %7.1fM %11.3fs %12s%s' % (
        s, len(rs), w, '(%.3f-%.3f)' % (min(walls), max(walls)),
        med(rs, 'cpu_s'), med(rs, 'maxrss_mib'), w - w0, ratio,
        '  rc!=0' if bad else ''))
EOF
