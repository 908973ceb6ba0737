#!/usr/bin/env bash
# tests/bench/store.sh: the SQLite store under load (bench_store.c): stores
# FEEDS x ENTRIES synthesized entries (1000 x 1000 = 1,000,000 by
# default), then the same documents again (must write nothing), then one
# steady-state round; prints entries/s, bytes on disk per entry and the
# second pass's time and proof. Not part of CI (a few minutes, ~3 GB of
# disk under DB_DIR).
#
#   bash tests/bench/store.sh
#
# Environment:
#   FEEDS, ENTRIES  the size (1000, 1000)
#   BUILD_DIR       freshet's release build (build-bench)
#   DB_DIR          where the database goes (a new directory under /tmp)
#   KEEP=1          keep the database afterwards (with DB_DIR)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

build=${BUILD_DIR:-build-bench}
feeds=${FEEDS:-1000}
entries=${ENTRIES:-1000}

if ! meson introspect "$build" --projectinfo >/dev/null 2>&1; then
  rm -rf "$build"
  meson setup "$build" --buildtype=release -Dwerror=false >/dev/null
fi
if meson introspect "$build" --targets 2>/dev/null |
  grep -q '"name": "bench_store"'; then
  meson compile -C "$build" bench_store >/dev/null
  bench=$build/tests/bench/bench_store
else
  # Not registered in tests/bench/meson.build yet: build it by hand from
  # the few sources it needs, as the release build would.
  bench=$build/bench_store
  # shellcheck disable=SC2046
  cc -O2 -g -std=gnu11 -D_GNU_SOURCE -Isrc -o "$bench" \
    tests/bench/bench_store.c src/store.c src/canon.c src/feed.c \
    src/hash.c src/log.c $(pkg-config --cflags --libs sqlite3 jansson)
fi

args=(-f "$feeds" -e "$entries" -t)
if [[ -n "${DB_DIR:-}" ]]; then
  mkdir -p "$DB_DIR"
  args+=(-d "$DB_DIR")
fi
if [[ "${KEEP:-0}" == 1 ]]; then
  args+=(-k)
fi
exec "$bench" "${args[@]}"
