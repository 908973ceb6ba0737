#!/usr/bin/env bash
# contrib/run-demo.sh: install what is missing, build, and run freshet on
# the bundled demo. The daemon does not exist yet, so for now this shows
# what `freshet parse` makes of the demo feeds in data/demo/ (no network).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash contrib/setup.sh
build=${BUILD_DIR:-build}

# The URL each demo feed would have been fetched from: relative links in
# the feeds resolve against it.
declare -A urls=(
  [data/demo/blog.rss]=https://blog.example.org/feed/
  [data/demo/releases.atom]=https://code.example.net/kettle/releases.atom
)

status=0
for f in data/demo/blog.rss data/demo/releases.atom; do
  echo "\$ $build/freshet parse --url ${urls[$f]} $f"
  if ! "$build/freshet" parse --url "${urls[$f]}" "$f"; then
    status=1
  fi
  echo
done
exit "$status"
