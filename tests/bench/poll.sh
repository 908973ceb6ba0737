#!/usr/bin/env bash
# tests/bench/poll.sh: issue 4's benchmark. freshet's poll cycle side by
# side with curl (the raw fetch limit) and with the peers' full cycles
# (sfeed_update, feed2exec), interleaved in one run, ROUNDS times, against
# the generated corpus served by nginx on 127.0.0.1. Not part of CI.
#
#   bash tests/bench/poll.sh
#
# Each round, on the 1000-feed corpus:
#   freshet cold   `freshet poll --all` on an empty database: fetch, parse,
#                  store, publish; wall and CPU seconds, peak RSS
#   curl cold      curl --parallel --parallel-max 50 --compressed over the
#                  same URLs to /dev/null (the same gzip bytes freshet gets,
#                  decompressed as freshet must); curl-plain: without
#                  --compressed (identity bodies, no decompression)
#   freshet 304    a second `poll --all` on that database: every feed 304
#   curl 304       the same URLs with the validators nginx gave a first
#                  curl pass (If-None-Match and If-Modified-Since, as freshet
#                  sends them)
#   sfeed_update   Debian's sfeed_update, an sfeedrc listing the same feeds
#                  (curl per feed, its default 8 jobs), empty sfeedpath
#   feed2exec      Debian's feed2exec `fetch --parallel` (its fastest mode)
#                  with the null output plugin, empty database
# and on the 10,000-feed corpus: freshet cold and 304 against curl, and
# freshet's peak memory under ../shared/bench/peak_rss.py.
#
# All feeds live on one nginx at 127.0.0.1, so freshet runs with
# per_host = concurrency = 50, the same 50 connections as curl's
# --parallel-max 50. HOSTS=spread spreads the feeds over 50 host names
# f0.localhost..f49.localhost (libcurl resolves *.localhost to 127.0.0.1
# itself) and keeps freshet's default per_host = 2 with concurrency 50;
# feed2exec (Python, no *.localhost) keeps 127.0.0.1 there.
#
# Environment:
#   SHARED_BENCH  gen_corpus.py, serve.sh, peak_rss.py (<repo>/../shared/bench)
#   BUILD_DIR     freshet's release build (build-bench)
#   ROUNDS        rounds (3)
#   FEEDS         the small corpus (1000); BIG_FEEDS the big one (10000;
#                 0 leaves it out)
#   PEERS=0       leave sfeed_update and feed2exec out (~2.5 min a round)
#   SFEED_JOBS    sfeed_update's maxjobs (its default, 8, when unset)
#   HOSTS         one (default) or spread, see above
#   CONCURRENCY, PER_HOST   freshet's settings (50, and 50 or 2 as above)
#   PORT          nginx's port for the small corpus (18481; +1 for the big)
#   CORPUS_ROOT   where corpora are cached (/tmp): freshet-bench-corpus-N
#   BASELINE      another freshet binary (say, a build of main) timed the
#                 same way in every round, interleaved, as tool=baseline:
#                 the report adds freshet / baseline ratios (A/B of a change)
#   PROFILE=1     also profile a cold and a 304 cycle of each size with
#                 perf (a -g -fno-omit-frame-pointer build in BUILD_DIR-prof)
#                 and print where the CPU time goes
#   RESULTS       also keep the raw result lines in this file
#   KEEP=1        keep the work directory (printed)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)

shared=${SHARED_BENCH:-$repo/../shared/bench}
export SHARED_BENCH=$shared
build=${BUILD_DIR:-build-bench}
rounds=${ROUNDS:-3}
small=${FEEDS:-1000}
big=${BIG_FEEDS:-10000}
peers=${PEERS:-1}
hosts=${HOSTS:-one}
port=${PORT:-18481}
corpus_root=${CORPUS_ROOT:-/tmp}
concurrency=${CONCURRENCY:-50}
py=/usr/bin/python3
case $hosts in
one) per_host=${PER_HOST:-50} ;;
spread) per_host=${PER_HOST:-2} ;;
*)
  echo "poll.sh: HOSTS must be one or spread" >&2
  exit 2
  ;;
esac

pkgs="nginx-light curl"
[[ "$peers" == 1 ]] && pkgs+=" sfeed feed2exec"
[[ "${PROFILE:-0}" == 1 ]] && pkgs+=" linux-perf"
EXTRA_PACKAGES="$pkgs" SKIP_BUILD=1 bash contrib/setup.sh >&2
if ! meson introspect "$build" --projectinfo >/dev/null 2>&1; then
  rm -rf "$build"
  # -Dwerror=false: a benchmark should not stop at a new -O3-only warning
  meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
meson compile -C "$build" freshet:executable >/dev/null
freshet=$(cd "$build" && pwd)/freshet

for f in gen_corpus.py serve.sh peak_rss.py; do
  if [[ ! -f "$shared/$f" ]]; then
    echo "poll.sh: no $shared/$f; set SHARED_BENCH" >&2
    exit 1
  fi
done

work=$(mktemp -d /tmp/freshet-bench-poll.XXXXXX)
results=$work/results
nginx_prefixes=()
cleanup() {
  local p
  for p in "${nginx_prefixes[@]}"; do
    PREFIX=$p sh "$shared/serve.sh" stop >/dev/null 2>&1 || true
  done
  if [[ "${KEEP:-0}" == 1 ]]; then
    echo "poll.sh: kept $work" >&2
  else
    rm -rf "$work"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

sizes=("$small")
[[ "$big" -gt 0 ]] && sizes+=("$big")

# corpus N: generates (once) and serves the N-feed corpus; writes the URL
# list $work/N/urls (127.0.0.1 or spread host names) and $work/N/urls-ip.
corpus() {
  local n=$1 p=$2 dir=$corpus_root/freshet-bench-corpus-$1 have
  have=$(find "$dir/feeds" -maxdepth 1 -type f 2>/dev/null | wc -l)
  if [[ "$have" -ne "$n" || ! -f "$dir/manifest.tsv" ]]; then
    echo "poll.sh: generating $n feeds in $dir" >&2
    rm -rf "$dir"
    "$py" "$shared/gen_corpus.py" "$dir" --feeds "$n" >/dev/null
  fi
  local prefix=/tmp/freshet-bench-poll-nginx-$n-$p
  PREFIX=$prefix sh "$shared/serve.sh" stop >/dev/null 2>&1 || true
  nginx_prefixes+=("$prefix")
  # serve.sh's default GZIP=static (precompressed .gz). Do not set GZIP in
  # the environment: gzip(1) reads $GZIP as its own options and would
  # write empty .gz files; a tree left so by such a run is rebuilt here.
  if find "$prefix/www" -name '*.gz' -size 0 2>/dev/null | grep -q .; then
    rm -rf "$prefix/www"
  fi
  env -u GZIP PREFIX="$prefix" WORKERS=1 sh "$shared/serve.sh" start "$dir" "$p" >&2
  # serve.sh's open_file_cache keeps up to 20,000 files open; at 10,000
  # feeds (plus their .gz) that reaches this machine's open-file limit
  # (ulimit -n: 20000) and nginx stops accepting ("accept4() failed (24:
  # Too many open files)"): transfers stall for minutes. Restart this
  # nginx with a cache that leaves room for the connections.
  local nofile
  nofile=$(ulimit -n)
  if [[ "$nofile" != unlimited ]] && ((nofile < 28000)); then
    PREFIX=$prefix sh "$shared/serve.sh" stop >/dev/null
    sed -i "s/open_file_cache max=[0-9]*/open_file_cache max=$((nofile - 8000))/" \
      "$prefix/nginx.conf"
    /usr/sbin/nginx -e "$prefix/error.log" -p "$prefix" -c "$prefix/nginx.conf"
    local i=0
    until curl -s -o /dev/null "http://127.0.0.1:$p/"; do
      i=$((i + 1))
      ((i > 50)) && { echo "poll.sh: nginx did not come back" >&2; exit 1; }
      sleep 0.1
    done
    echo "poll.sh: nginx open_file_cache max=$((nofile - 8000)) (ulimit -n $nofile)" >&2
  fi
  : >"$prefix/error.log"
  mkdir -p "$work/$n"
  awk -F'\t' -v p="$p" 'NR > 1 && $1 ~ /^feeds\// {
      print "http://127.0.0.1:" p "/" $1 }' "$dir/manifest.tsv" >"$work/$n/urls-ip"
  if [[ $hosts == spread ]]; then
    awk -F'\t' -v p="$p" 'NR > 1 && $1 ~ /^feeds\// {
        print "http://f" (NR - 2) % 50 ".localhost:" p "/" $1 }' \
      "$dir/manifest.tsv" >"$work/$n/urls"
  else
    cp "$work/$n/urls-ip" "$work/$n/urls"
  fi
  [[ $(wc -l <"$work/$n/urls") -eq "$n" ]] || {
    echo "poll.sh: $dir/manifest.tsv does not list $n feeds" >&2
    exit 1
  }
}

# curl configs: one operation per URL (so each gets its own validators),
# each writing its status code. cold.cfg with --compressed, plain.cfg
# without, c304.cfg with the validators of a first pass.
curl_configs() {
  local n=$1 d=$work/$1
  awk '{ if (NR > 1) print "next"
         print "url = \"" $0 "\"\noutput = \"/dev/null\"\ncompressed"
         print "write-out = \"%{http_code}\\n\"" }' "$d/urls" >"$d/cold.cfg"
  awk '{ if (NR > 1) print "next"
         print "url = \"" $0 "\"\noutput = \"/dev/null\""
         print "write-out = \"%{http_code}\\n\"" }' "$d/urls" >"$d/plain.cfg"
  sed 's/^write-out = .*/write-out = "%{url_effective}\\t%header{etag}\\t%header{last-modified}\\n"/' \
    "$d/cold.cfg" >"$d/val.cfg"
  curl --parallel --parallel-max 50 -s -K "$d/val.cfg" >"$d/validators" 2>/dev/null
  awk -F'\t' '$2 != "" && $3 != "" { n++ } END { exit n == '"$n"' ? 0 : 1 }' \
    "$d/validators" || {
    echo "poll.sh: nginx did not give $n ETags and Last-Modifieds" >&2
    exit 1
  }
  awk -F'\t' '{ gsub(/"/, "\\\"", $2)
         if (NR > 1) print "next"
         print "url = \"" $1 "\"\noutput = \"/dev/null\"\ncompressed"
         print "write-out = \"%{http_code}\\n\""
         print "header = \"If-None-Match: " $2 "\""
         print "header = \"If-Modified-Since: " $3 "\"" }' \
    "$d/validators" >"$d/c304.cfg"
}

# freshet_conf DIR N: a config dir for the N-feed corpus, empty database.
freshet_conf() {
  local dir=$1 n=$2
  rm -rf "$dir"
  mkdir -p "$dir/feeds.d"
  cat >"$dir/freshet.conf" <<EOF
[freshet]
database = freshet.db
output_dir = public
listen =
concurrency = $concurrency
per_host = $per_host
timeout = 60s
log_level = warn
EOF
  awk '{ printf "[f%05d]\nurl = %s\n\n", NR - 1, $0 }' "$work/$n/urls" \
    >"$dir/feeds.d/bench.conf"
}

sql() { "$py" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$@"; }

# measure KEY=VALUE... -- CMD: one result line, plus checks appended later.
measure() {
  "$py" tests/bench/poll_run.py --log "$work/log" "$@" | tee -a "$results" >&2
}

count_codes() { # FILE CODE: how many transfers ended with CODE
  grep -c "^$2\$" "$1" || true
}

run_freshet_cold() { # N ROUND [TOOL BINARY]
  local n=$1 r=$2 tool=${3:-freshet} bin=${4:-$freshet}
  local d=$work/$1/$tool$2
  freshet_conf "$d" "$n"
  measure set="$n" tool="$tool" case=cold round="$r" -- \
    "$bin" -c "$d/freshet.conf" poll --all
  echo "check set=$n tool=$tool case=cold round=$r" \
    "ok=$(sql "$d/freshet.db" 'SELECT count(*) FROM feeds WHERE last_status = 200')" \
    "entries=$(sql "$d/freshet.db" 'SELECT count(*) FROM entries')" \
    "published=$(test -s "$d/public/feed.atom" && echo 1 || echo 0)" >>"$results"
}

run_freshet_304() { # N ROUND [TOOL BINARY] (after run_freshet_cold)
  local n=$1 r=$2 tool=${3:-freshet} bin=${4:-$freshet}
  local d=$work/$1/$tool$2
  measure set="$n" tool="$tool" case=304 round="$r" -- \
    "$bin" -c "$d/freshet.conf" poll --all
  echo "check set=$n tool=$tool case=304 round=$r" \
    "ok=$(sql "$d/freshet.db" 'SELECT count(*) FROM feeds WHERE last_status = 304')" \
    >>"$results"
  [[ "${KEEP:-0}" == 1 ]] || rm -rf "$d"
}

run_curl() { # N ROUND CASE CFG
  local n=$1 r=$2 c=$3 cfg=$work/$1/$4 out=$work/$1/codes code=200
  [[ $c == 304 ]] && code=304
  # shellcheck disable=SC2016 # $1 and $2 are sh -c's own arguments
  measure set="$n" tool=curl case="$c" round="$r" -- \
    sh -c 'exec curl --parallel --parallel-max 50 -s -K "$1" >"$2"' sh "$cfg" "$out"
  echo "check set=$n tool=curl case=$c round=$r ok=$(count_codes "$out" $code)" \
    >>"$results"
}

run_sfeed() { # N ROUND
  local n=$1 r=$2 d=$work/$1/sfeed$2
  rm -rf "$d"
  mkdir -p "$d/feeds"
  {
    echo "sfeedpath=\"$d/feeds\""
    [[ -n "${SFEED_JOBS:-}" ]] && echo "maxjobs=$SFEED_JOBS"
    echo "feeds() {"
    awk '{ printf "\tfeed \"f%05d\" \"%s\"\n", NR - 1, $0 }' "$work/$n/urls"
    echo "}"
  } >"$d/sfeedrc"
  measure set="$n" tool=sfeed_update case=cold round="$r" -- \
    sfeed_update "$d/sfeedrc"
  echo "check set=$n tool=sfeed_update case=cold round=$r" \
    "ok=$(find "$d/feeds" -type f -size +0 | wc -l)" \
    "entries=$(cat "$d"/feeds/* | wc -l)" >>"$results"
  rm -rf "$d"
}

run_feed2exec() { # N ROUND
  local n=$1 r=$2 d=$work/$1/f2e$2
  rm -rf "$d"
  mkdir -p "$d"
  awk '{ printf "[f%05d]\nurl = %s\noutput = feed2exec.plugins.null\n\n",
         NR - 1, $0 }' "$work/$n/urls-ip" >"$d/feed2exec.ini"
  measure set="$n" tool=feed2exec case=cold round="$r" -- \
    env HOME="$d" feed2exec --config "$d/feed2exec.ini" --database "$d/db" \
    fetch --parallel
  echo "check set=$n tool=feed2exec case=cold round=$r" \
    "ok=$(sql "$d/db" 'SELECT count(DISTINCT name) FROM feedcache')" \
    "entries=$(sql "$d/db" 'SELECT count(*) FROM feedcache')" >>"$results"
  rm -rf "$d"
}

run_freshet_rss() { # N ROUND: peak memory under peak_rss.py, untimed
  local n=$1 r=$2 d=$work/$1/rss$2 line
  freshet_conf "$d" "$n"
  line=$("$py" "$shared/peak_rss.py" -- "$freshet" -c "$d/freshet.conf" \
    poll --all 2>&1 >/dev/null | grep '^peak_rss:')
  echo "set=$n tool=freshet case=rss round=$r ${line#peak_rss: }" |
    tee -a "$results" >&2
  rm -rf "$d"
}

port_n=$port
for n in "${sizes[@]}"; do
  corpus "$n" "$port_n"
  curl_configs "$n"
  port_n=$((port_n + 1))
  # warm the page cache and nginx's open_file_cache
  curl --parallel --parallel-max 50 -s -K "$work/$n/cold.cfg" >/dev/null 2>&1
  curl --parallel --parallel-max 50 -s -K "$work/$n/plain.cfg" >/dev/null 2>&1
done

echo "poll.sh: $rounds rounds; hosts=$hosts concurrency=$concurrency" \
  "per_host=$per_host; peers=$peers; work dir $work" >&2
for ((r = 1; r <= rounds; r++)); do
  echo "poll.sh: round $r/$rounds" >&2
  for n in "${sizes[@]}"; do
    run_freshet_cold "$n" "$r"
    run_curl "$n" "$r" cold cold.cfg
    run_curl "$n" "$r" plain plain.cfg
    run_freshet_304 "$n" "$r"
    run_curl "$n" "$r" 304 c304.cfg
    if [[ -n "${BASELINE:-}" ]]; then
      run_freshet_cold "$n" "$r" baseline "$BASELINE"
      run_freshet_304 "$n" "$r" baseline "$BASELINE"
    fi
    if [[ "$n" == "$small" && "$peers" == 1 ]]; then
      run_sfeed "$n" "$r"
      run_feed2exec "$n" "$r"
    fi
    [[ "$n" == "$big" ]] && run_freshet_rss "$n" "$r"
  done
done

if [[ "${PROFILE:-0}" == 1 ]]; then
  prof=$build-prof
  if ! meson introspect "$prof" --projectinfo >/dev/null 2>&1; then
    rm -rf "$prof"
    meson setup "$prof" --buildtype=release -Dwerror=false \
      -Dc_args='-g -fno-omit-frame-pointer' >/dev/null
  fi
  meson compile -C "$prof" freshet:executable >/dev/null
  for n in "${sizes[@]}"; do
    d=$work/$n/prof
    freshet_conf "$d" "$n"
    for c in cold 304; do
      perf record -q -F 999 -m 16M --call-graph dwarf,32768 \
        -o "$work/perf-$n-$c.data" \
        "$(cd "$prof" && pwd)/freshet" -c "$d/freshet.conf" poll --all \
        >/dev/null 2>&1
      echo
      echo "== profile: freshet $c cycle, $n feeds (perf, dwarf call graphs)"
      "$py" tests/bench/poll_profile.py "$work/perf-$n-$c.data"
    done
    rm -rf "$d"
  done
fi

[[ -n "${RESULTS:-}" ]] && cp "$results" "$RESULTS"
for p in "${nginx_prefixes[@]}"; do
  if grep -q '\[\(crit\|alert\|emerg\)\]' "$p/error.log" 2>/dev/null; then
    echo "poll.sh: WARNING: nginx reported errors; the figures are suspect:" >&2
    grep '\[\(crit\|alert\|emerg\)\]' "$p/error.log" | tail -3 >&2
  fi
done
echo
echo "freshet $(git -C "$repo" describe --always --dirty 2>/dev/null ||
  echo '?') ($build), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "curl $(curl --version | head -1 | cut -d' ' -f2);" \
  "nginx 1 worker, gzip_static; hosts=$hosts concurrency=$concurrency" \
  "per_host=$per_host"
"$py" tests/bench/poll_report.py "$results"
