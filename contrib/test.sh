#!/usr/bin/env bash
# contrib/test.sh: install what is missing, build, and run every test suite
# (unit, fixtures, fuzz-corpus replay where the compiler supports it).
# Extra arguments go to `meson test` (e.g. --suite unit, or a test name).
# Exits with meson's status.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash contrib/setup.sh
build=${BUILD_DIR:-build}
exec meson test -C "$build" --print-errorlogs "$@"
