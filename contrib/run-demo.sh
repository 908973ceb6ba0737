#!/usr/bin/env bash
# contrib/run-demo.sh: the main job. Installs what is missing, builds, and
# runs the freshet daemon in the foreground on a demo configuration whose
# feeds (data/demo/) are served from 127.0.0.1: no internet needed.
#
# Then open http://127.0.0.1:8080/ (the widget demo), /feed.atom,
# /recent.json, /metrics. Ctrl-C stops it.
#
# Environment: PORT (8080) for freshet's server, DEMO_PORT (8081) for the
# demo feeds, DEMO_DIR (build/demo) for the config, database and output.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash contrib/setup.sh
build=${BUILD_DIR:-build}
port=${PORT:-8080}
demo_port=${DEMO_PORT:-8081}
dir=${DEMO_DIR:-$build/demo}

mkdir -p "$dir/feeds.d"
cat >"$dir/freshet.conf" <<CONF
# Written by contrib/run-demo.sh.
[freshet]
database = freshet.db
output_dir = public
listen = 127.0.0.1:$port
title = freshet demo
link = http://127.0.0.1:$port/
interval = 5m
min_interval = 1m
CONF
cat >"$dir/feeds.d/demo.conf" <<CONF
# The bundled demo feeds, served by contrib/demo_server.py.
[kettle-blog]
url = http://127.0.0.1:$demo_port/blog.rss
tags = demo

[kettle-releases]
url = http://127.0.0.1:$demo_port/releases.atom
tags = demo
CONF

/usr/bin/python3 contrib/demo_server.py "$demo_port" &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$demo_port/blog.rss" && break
  sleep 0.1
done

echo "freshet demo: http://127.0.0.1:$port/ (widget), /feed.atom," \
  "/recent.json, /metrics; Ctrl-C to stop" >&2
"$build/freshet" -c "$dir/freshet.conf" run
