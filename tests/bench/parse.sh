#!/usr/bin/env bash
# tests/bench/parse.sh: parser throughput and peak memory, freshet side by
# side with sfeed and python3-feedparser, interleaved in one run (these
# machines are noisy). Not part of CI.
#
#   bash tests/bench/parse.sh
#
# Generates the corpus with gen_corpus.py the first time (1000 feeds,
# 61.8 MB, and the 20 MB big.rss), builds bench_parse in a release build,
# then, ROUNDS times each: freshet over the 1000 feeds and over big.rss;
# sfeed once per file, once over the feeds concatenated, and over big.rss;
# feedparser over the feeds and big.rss. Once more each over the first 100
# feeds, to compare peak memory with 1000. Prints a table and ratios.
#
# Environment:
#   SHARED_BENCH  gen_corpus.py's directory (<repo>/../shared/bench)
#   CORPUS        the corpus (/tmp/freshet-corpus; made if missing)
#   ROUNDS        rounds of each measurement (3)
#   BUILD_DIR     freshet's release build (build-bench)
#   FEEDPARSER=0  leave feedparser out (it takes ~40 s a round)
#   RESULTS       also keep the raw result lines in this file
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)

shared=${SHARED_BENCH:-$repo/../shared/bench}
corpus=${CORPUS:-/tmp/freshet-corpus}
rounds=${ROUNDS:-3}
build=${BUILD_DIR:-build-bench}
py=/usr/bin/python3 # Debian's, where python3-feedparser lives

EXTRA_PACKAGES="sfeed python3-feedparser time" SKIP_BUILD=1 bash contrib/setup.sh
if ! meson introspect "$build" --projectinfo >/dev/null 2>&1; then
  rm -rf "$build"
  meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
meson compile -C "$build" bench_parse >/dev/null
bench=$build/tests/bench/bench_parse

nfeeds=$(find "$corpus/feeds" -maxdepth 1 -type f 2>/dev/null | wc -l)
if [[ "$nfeeds" -ne 1000 || ! -f "$corpus/big/big.rss" ]]; then
  if [[ ! -f "$shared/gen_corpus.py" ]]; then
    echo "bench: no $shared/gen_corpus.py; set SHARED_BENCH" >&2
    exit 1
  fi
  echo "bench: generating the corpus in $corpus" >&2
  rm -rf "$corpus"
  "$py" "$shared/gen_corpus.py" "$corpus" --feeds 1000 --big >&2
fi

tmp=$(mktemp -d /tmp/freshet-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
results=$tmp/results

mapfile -t feeds < <(find "$corpus/feeds" -maxdepth 1 -type f | sort)
feeds100=("${feeds[@]:0:100}")
big=$corpus/big/big.rss
cat "${feeds[@]}" >"$tmp/all-feeds.xml"

# measure CASE TOOL COMMAND...: runs it, keeps its key=value line.
measure() {
  local case=$1 tool=$2 line
  shift 2
  line=$("$@" | grep '^files=')
  echo "tool=$tool case=$case $line" | tee -a "$results" >&2
}

peers=(sfeed)
[[ "${FEEDPARSER:-1}" == 1 ]] && peers+=(feedparser)

echo "bench: $rounds rounds over $corpus (${#feeds[@]} feeds and big.rss)" >&2
for ((r = 1; r <= rounds; r++)); do
  echo "bench: round $r/$rounds" >&2
  measure feeds freshet "$bench" -t "${feeds[@]}"
  measure feeds sfeed-files "$py" tests/bench/peers.py sfeed-files \
    "${feeds[@]}"
  measure feeds sfeed-stream "$py" tests/bench/peers.py sfeed-stream \
    "$tmp/all-feeds.xml"
  measure big freshet "$bench" -t "$big"
  measure big sfeed-stream "$py" tests/bench/peers.py sfeed-stream "$big"
  if [[ " ${peers[*]} " == *" feedparser "* ]]; then
    measure feeds feedparser "$py" tests/bench/peers.py feedparser \
      "${feeds[@]}"
    measure big feedparser "$py" tests/bench/peers.py feedparser "$big"
  fi
done

echo "bench: peak memory over the first 100 feeds" >&2
measure feeds100 freshet "$bench" -t "${feeds100[@]}"
measure feeds100 sfeed-files "$py" tests/bench/peers.py sfeed-files \
  "${feeds100[@]}"
if [[ " ${peers[*]} " == *" feedparser "* ]]; then
  measure feeds100 feedparser "$py" tests/bench/peers.py feedparser \
    "${feeds100[@]}"
fi

[[ -n "${RESULTS:-}" ]] && cp "$results" "$RESULTS"
echo
echo "freshet $(git -C "$repo" describe --always --dirty 2>/dev/null ||
  echo '?') on $(nproc) cores;" \
  "sfeed $(dpkg-query -W -f='${Version}' sfeed 2>/dev/null || echo '?')," \
  "feedparser $("$py" -c 'import feedparser; print(feedparser.__version__)')"
"$py" tests/bench/peers.py report "$results"
