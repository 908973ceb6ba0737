#!/usr/bin/env bash
# tests/bench/http.sh: issue 5's HTTP benchmark. Requests per second of
# freshet's built-in server (`freshet run`, libmicrohttpd, documents served
# from memory snapshots) for /recent.json and /feed.atom, side by side with
# nginx serving the same bytes from disk, measured with wrk in the same
# run, interleaved, ROUNDS times, with and without Accept-Encoding: gzip.
# Target: freshet at least 0.8x nginx. Not part of CI.
#
#   bash tests/bench/http.sh
#
# Setup: the 1000-feed corpus (gen_corpus.py) is served by serve.sh's nginx
# and polled once by `freshet poll --all` into a fresh database; then
# `freshet run` serves it on 127.0.0.1 (interval 1d: nothing is due, so
# nothing is polled while wrk runs). The two documents are fetched from
# freshet's server and written, with gzip -6 copies, to a directory a
# second nginx serves (gzip_static: precompressed, as freshet's snapshots
# are; etag on; access_log off; keepalive_requests 100000), with as many
# workers as freshet has HTTP threads (nproc, at most 4).
#
# Each round, for each document and encoding: `wrk -t2 -c50 -d10s` against
# freshet, then nginx (the order alternating by round). Both servers and
# wrk share this machine's cores.
#
# Environment:
#   SHARED_BENCH  gen_corpus.py, serve.sh (<repo>/../shared/bench)
#   BUILD_DIR     freshet's release build (build-bench)
#   ROUNDS        rounds (3)
#   DURATION      wrk -d (10s); THREADS wrk -t (2); CONNECTIONS wrk -c (50)
#   PORT          first of four ports used (18490: corpus nginx, +1 nginx
#                 under test, +2 freshet)
#   CORPUS        the corpus (/tmp/freshet-bench-corpus-1000; made if missing)
#   RESULTS       also keep the raw result lines in this file
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
repo=$(pwd)

shared=${SHARED_BENCH:-$repo/../shared/bench}
build=${BUILD_DIR:-build-bench}
rounds=${ROUNDS:-3}
duration=${DURATION:-10s}
threads=${THREADS:-2}
conns=${CONNECTIONS:-50}
port=${PORT:-18490}
corpus=${CORPUS:-/tmp/freshet-bench-corpus-1000}
py=/usr/bin/python3
cport=$port nport=$((port + 1)) fport=$((port + 2))

EXTRA_PACKAGES="nginx-light curl wrk" SKIP_BUILD=1 bash contrib/setup.sh >&2
if ! meson introspect "$build" --projectinfo >/dev/null 2>&1; then
  rm -rf "$build"
  # -Dwerror=false: a benchmark should not stop at a new -O3-only warning
  meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
meson compile -C "$build" freshet:executable >/dev/null
freshet=$(cd "$build" && pwd)/freshet

work=$(mktemp -d /tmp/freshet-bench-http.XXXXXX)
results=$work/results
cprefix=/tmp/freshet-bench-http-corpus-nginx
nprefix=$work/nginx
fpid=
cleanup() {
  if [[ -n "$fpid" ]] && kill -0 "$fpid" 2>/dev/null; then
    kill -TERM "$fpid" 2>/dev/null || true
    for _ in $(seq 1 50); do
      kill -0 "$fpid" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "$fpid" 2>/dev/null || true
  fi
  if [[ -f "$nprefix/nginx.pid" ]]; then
    /usr/sbin/nginx -p "$nprefix" -c "$nprefix/nginx.conf" -e "$nprefix/error.log" \
      -s quit 2>/dev/null || true
  fi
  PREFIX=$cprefix sh "$shared/serve.sh" stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The corpus, served for the one poll that fills the database.
if [[ ! -f "$corpus/manifest.tsv" ]]; then
  echo "http.sh: generating the corpus in $corpus" >&2
  "$py" "$shared/gen_corpus.py" "$corpus" --feeds 1000 >/dev/null
fi
PREFIX=$cprefix sh "$shared/serve.sh" stop >/dev/null 2>&1 || true
if find "$cprefix/www" -name '*.gz' -size 0 2>/dev/null | grep -q .; then
  rm -rf "$cprefix/www" # left by a run with GZIP set for gzip(1)
fi
env -u GZIP PREFIX=$cprefix sh "$shared/serve.sh" start "$corpus" "$cport" >&2

conf=$work/freshet
mkdir -p "$conf/feeds.d"
cat >"$conf/freshet.conf" <<EOF
[freshet]
database = freshet.db
output_dir = public
listen = 127.0.0.1:$fport
interval = 1d
min_interval = 1d
concurrency = 50
per_host = 50
log_level = warn
EOF
awk -F'\t' -v p="$cport" 'NR > 1 && $1 ~ /^feeds\// {
    printf "[f%05d]\nurl = http://127.0.0.1:%s/%s\n\n", NR - 2, p, $1 }' \
  "$corpus/manifest.tsv" >"$conf/feeds.d/bench.conf"
"$freshet" -c "$conf/freshet.conf" poll --all
echo "http.sh: database: $("$py" -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM entries").fetchone()[0])' \
  "$conf/freshet.db") entries" >&2

"$freshet" -c "$conf/freshet.conf" run 2>"$work/freshet.log" &
fpid=$!
for i in $(seq 1 100); do
  if curl -sf -o /dev/null "http://127.0.0.1:$fport/feed.atom" &&
    curl -sf -o /dev/null "http://127.0.0.1:$fport/recent.json"; then
    break
  fi
  kill -0 "$fpid" 2>/dev/null || {
    echo "http.sh: freshet run exited:" >&2
    cat "$work/freshet.log" >&2
    exit 1
  }
  ((i == 100)) && {
    echo "http.sh: freshet did not serve the documents" >&2
    exit 1
  }
  sleep 0.1
done

# The same bytes for nginx, from freshet's own server.
www=$work/www
mkdir -p "$www" "$nprefix/tmp"
for doc in recent.json feed.atom; do
  curl -sf -o "$www/$doc" "http://127.0.0.1:$fport/$doc"
  gzip -6 -n -c "$www/$doc" >"$www/$doc.gz"
  touch -r "$www/$doc" "$www/$doc.gz"
done
workers=$(nproc)
((workers > 4)) && workers=4
cat >"$nprefix/nginx.conf" <<EOF
user root;
worker_processes $workers;
pid $nprefix/nginx.pid;
error_log $nprefix/error.log warn;
events { worker_connections 4096; }
http {
    types {
        application/atom+xml atom;
        application/json     json;
    }
    charset utf-8;
    charset_types application/json application/atom+xml;
    default_type application/octet-stream;
    access_log off;
    sendfile on; tcp_nopush on; tcp_nodelay on;
    keepalive_timeout 65; keepalive_requests 100000;
    open_file_cache max=100 inactive=300s; open_file_cache_valid 300s;
    etag on;
    gzip off; gzip_static on; gzip_vary on;
    client_body_temp_path $nprefix/tmp/body;
    proxy_temp_path $nprefix/tmp/proxy;
    fastcgi_temp_path $nprefix/tmp/fastcgi;
    uwsgi_temp_path $nprefix/tmp/uwsgi;
    scgi_temp_path $nprefix/tmp/scgi;
    server {
        listen 127.0.0.1:$nport backlog=4096;
        root $www;
        location / {
            add_header Access-Control-Allow-Origin *;
            add_header Cache-Control "public, max-age=60";
        }
    }
}
EOF
/usr/sbin/nginx -p "$nprefix" -c "$nprefix/nginx.conf" -e "$nprefix/error.log" -t -q
/usr/sbin/nginx -p "$nprefix" -c "$nprefix/nginx.conf" -e "$nprefix/error.log"
for i in $(seq 1 50); do
  curl -sf -o /dev/null "http://127.0.0.1:$nport/feed.atom" && break
  ((i == 50)) && {
    echo "http.sh: nginx did not come up" >&2
    exit 1
  }
  sleep 0.1
done

# What each server answers: size and encoding, plain and gzip.
echo "http.sh: responses (bytes, Content-Encoding):" >&2
for doc in recent.json feed.atom; do
  for srv in freshet:$fport nginx:$nport; do
    for enc in identity gzip; do
      hdr=()
      [[ $enc == gzip ]] && hdr=(-H 'Accept-Encoding: gzip')
      line=$(curl -s -o /dev/null "${hdr[@]}" \
        -w '%{http_code} %{size_download} %header{content-encoding}' \
        "http://127.0.0.1:${srv#*:}/$doc")
      echo "  $doc ${srv%%:*} $enc: $line" >&2
      echo "probe doc=$doc server=${srv%%:*} enc=$enc $line" >>"$results"
    done
  done
done

# bench ROUND DOC ENC SERVER PORT
bench() {
  local r=$1 doc=$2 enc=$3 srv=$4 p=$5 out hdr=()
  [[ $enc == gzip ]] && hdr=(-H 'Accept-Encoding: gzip')
  out=$(wrk -t"$threads" -c"$conns" -d"$duration" --latency "${hdr[@]}" \
    "http://127.0.0.1:$p/$doc")
  echo "$out" >"$work/wrk-$r-$doc-$enc-$srv.txt"
  "$py" - "$r" "$doc" "$enc" "$srv" "$work/wrk-$r-$doc-$enc-$srv.txt" <<'EOF' |
import re, sys
r, doc, enc, srv, path = sys.argv[1:]
out = open(path).read()
rps = re.search(r'Requests/sec:\s+([\d.]+)', out)
tr = re.search(r'Transfer/sec:\s+([\d.]+)(\w+)', out)
p50 = re.search(r'50%\s+([\d.]+)(\w+)', out)
p99 = re.search(r'99%\s+([\d.]+)(\w+)', out)
bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)
err = re.search(r'Socket errors: (.*)', out)
def ms(m):
    if not m: return -1
    v, u = float(m.group(1)), m.group(2)
    return v * {'us': 1e-3, 'ms': 1, 's': 1e3, 'm': 6e4}[u]
def mb(m):
    if not m: return -1
    v, u = float(m.group(1)), m.group(2)
    return v * {'B': 1/2**20, 'KB': 1/1024, 'MB': 1, 'GB': 1024}[u]
print('round=%s doc=%s enc=%s server=%s rps=%s mib_s=%.1f p50_ms=%.3f p99_ms=%.3f '
      'non2xx=%s socket_errors=%s' % (
      r, doc, enc, srv, rps.group(1) if rps else '0', mb(tr), ms(p50), ms(p99),
      bad.group(1) if bad else '0',
      err.group(1).replace(' ', '') if err else '0'))
EOF
    tee -a "$results" >&2
}

echo "http.sh: $rounds rounds of wrk -t$threads -c$conns -d$duration;" \
  "nginx $workers workers, freshet $workers HTTP threads" >&2
for ((r = 1; r <= rounds; r++)); do
  for doc in recent.json feed.atom; do
    for enc in identity gzip; do
      if ((r % 2)); then
        bench "$r" "$doc" "$enc" freshet "$fport"
        bench "$r" "$doc" "$enc" nginx "$nport"
      else
        bench "$r" "$doc" "$enc" nginx "$nport"
        bench "$r" "$doc" "$enc" freshet "$fport"
      fi
    done
  done
done
kill -0 "$fpid" 2>/dev/null || {
  echo "http.sh: freshet run died during the benchmark" >&2
  exit 1
}
[[ -n "${RESULTS:-}" ]] && cp "$results" "$RESULTS"

echo
echo "freshet $(git -C "$repo" describe --always --dirty 2>/dev/null ||
  echo '?') ($build), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg);" \
  "wrk -t$threads -c$conns -d$duration; nginx $(/usr/sbin/nginx -v 2>&1 |
    sed 's/.*\///') $workers workers, gzip_static"
"$py" - "$results" <<'EOF'
import statistics, sys
runs, probes = {}, {}
for line in open(sys.argv[1]):
    f = line.split()
    if f[0] == 'probe':
        kv = dict(x.split('=', 1) for x in f[1:4])
        probes[(kv['doc'], kv['server'], kv['enc'])] = ' '.join(f[4:])
        continue
    kv = dict(x.split('=', 1) for x in f)
    runs[(kv['doc'], kv['enc'], kv['server'], int(kv['round']))] = kv
med = statistics.median
print()
print('%-12s %-8s %9s %9s %17s %8s %17s %8s %9s' % (
    'document', 'encoding', 'bytes f', 'bytes n', 'freshet req/s', 'p99 ms',
    'nginx req/s', 'p99 ms', 'f/n'))
worst = None
for doc in ('recent.json', 'feed.atom'):
    for enc in ('identity', 'gzip'):
        rounds = sorted({k[3] for k in runs if k[:2] == (doc, enc)})
        f = [float(runs[(doc, enc, 'freshet', r)]['rps']) for r in rounds]
        n = [float(runs[(doc, enc, 'nginx', r)]['rps']) for r in rounds]
        fp = [float(runs[(doc, enc, 'freshet', r)]['p99_ms']) for r in rounds]
        np_ = [float(runs[(doc, enc, 'nginx', r)]['p99_ms']) for r in rounds]
        ratios = [a / b for a, b in zip(f, n) if b > 0]
        bad = sum(int(runs[(doc, enc, s, r)]['non2xx']) for s in
                  ('freshet', 'nginx') for r in rounds)
        m = med(ratios)
        worst = m if worst is None else min(worst, m)
        fb = probes.get((doc, 'freshet', enc), '? ?').split()[1]
        nb = probes.get((doc, 'nginx', enc), '? ?').split()[1]
        print('%-12s %-8s %9s %9s %8.0f (%.0f-%.0f) %8.2f %8.0f (%.0f-%.0f) %8.2f '
              '%5.2fx (%.2f-%.2f)%s' % (
                  doc, enc, fb, nb, med(f), min(f), max(f), med(fp), med(n),
                  min(n), max(n), med(np_), m, min(ratios), max(ratios),
                  '  non-2xx: %d' % bad if bad else ''))
print()
print('freshet/nginx: median of per-round ratios (range). Target >= 0.8x: %s '
      '(worst %.2fx)' % ('MET' if worst >= 0.8 else 'MISSED', worst))
EOF
