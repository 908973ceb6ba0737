#!/usr/bin/env bash
# contrib/setup.sh: make this machine able to build and test freshet, then
# build it. Idempotent: installs only the Debian packages that are missing
# (needs root for that, and only for that), configures the build directory
# once, and recompiles what changed.
#
#   bash contrib/setup.sh                  install what is missing, build
#   bash contrib/setup.sh --print-packages the Debian packages, one a line
#
# Environment:
#   BUILD_DIR           build directory, relative to the repo (build)
#   MESON_SETUP_ARGS    extra arguments for `meson setup` (first time only)
#   EXTRA_PACKAGES      more Debian packages to require (space-separated)
#   SKIP_BUILD=1        only check/install packages
set -euo pipefail

# What building and testing freshet needs on Debian 12 (bookworm). Keep in
# step with the dependency() calls in meson.build.
PACKAGES=(
  gcc
  libc6-dev
  clang
  libclang-rt-14-dev # libFuzzer and the sanitizer runtimes for clang
  llvm               # llvm-symbolizer: sanitizer reports with file:line
  meson
  ninja-build
  pkg-config
  libxml2-dev
  libjansson-dev
  libcurl4-openssl-dev
  libsqlite3-dev
  libinih-dev
  libuv1-dev
  libmicrohttpd-dev # the built-in HTTP server
  zlib1g-dev        # gzip copies of the served documents
  libcmocka-dev
  python3
  python3-feedparser # tests read the outputs back like a feed reader
  libxml2-utils      # xmllint: feed.atom against the Atom RELAX NG schema
  jing               # the same schema, a second validator
  chromium           # the widget test, headless
  curl               # run-demo.sh waits for the demo feeds with it
)

if [[ "${1:-}" == "--print-packages" ]]; then
  printf '%s\n' "${PACKAGES[@]}"
  exit 0
fi

cd "$(dirname "${BASH_SOURCE[0]}")/.."

read -r -a extra <<<"${EXTRA_PACKAGES:-}"
missing=()
for p in "${PACKAGES[@]}" "${extra[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true)
  if [[ "$status" != ii* ]]; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} > 0)); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or install them first:" >&2
    echo "  sudo apt-get update && sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
fi

if [[ "${SKIP_BUILD:-0}" == 1 ]]; then
  exit 0
fi

build=${BUILD_DIR:-build}
read -r -a setup_args <<<"${MESON_SETUP_ARGS:-}"
if [[ ! -f "$build/build.ninja" ]] ||
  ! meson introspect "$build" --projectinfo >/dev/null 2>&1; then
  # Absent, half-made, or made by another meson version: start afresh.
  if [[ -f "$build/meson-private/coredata.dat" ]]; then
    meson setup --wipe "$build" "${setup_args[@]}"
  else
    meson setup "$build" "${setup_args[@]}"
  fi
fi
meson compile -C "$build"
