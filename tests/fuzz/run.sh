#!/usr/bin/env bash
# tests/fuzz/run.sh [SECONDS]: build every tests/fuzz/fuzz_*.c as a libFuzzer
# target (clang, ASan + UBSan, the library built by meson with coverage)
# and run each for SECONDS (default $FUZZ_SECONDS, else 60; 0 only builds
# them, into FUZZ_WORKDIR if set). Exits non-zero
# if any target fails to build, crashes, leaks, times out (-timeout=10 per
# input) or runs out of memory (-rss_limit_mb=2048); the reproducer is
# printed and kept.
#
# Seeds (read-only): tests/fuzz/corpus/<target>/ and tests/fixtures/<name>/
# or tests/fixtures/*/<name>/ (fuzz_<name>) when present; fuzz_parse also gets the files at the top of
# tests/fixtures/ and data/demo/. A dictionary tests/fuzz/corpus/<target>.dict
# is used when present.
#
# Environment:
#   FUZZ_SECONDS   time per target when no argument is given (60)
#   FUZZ_TARGETS   space-separated subset, e.g. "fuzz_parse fuzz_date"
#   FUZZ_WORKDIR   keep the build, grown corpus and artifacts here (reused
#                  by the next run); default a temp dir, removed on success
#   FUZZ_ARGS      extra libFuzzer flags, e.g. "-fork=2 -max_len=65536"
#   CC             the compiler (clang)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

secs=${1:-${FUZZ_SECONDS:-60}}
cc=${CC:-clang}
if ! [[ "$secs" =~ ^[0-9]+$ ]]; then
  echo "usage: tests/fuzz/run.sh [SECONDS]" >&2
  exit 2
fi
if ! command -v "$cc" >/dev/null; then
  echo "fuzz: $cc not found (apt-get install clang libclang-rt-14-dev)" >&2
  exit 1
fi

if [[ -n "${FUZZ_WORKDIR:-}" ]]; then
  work=$FUZZ_WORKDIR
  keep=1
  mkdir -p "$work"
else
  work=$(mktemp -d /tmp/freshet-fuzz.XXXXXX)
  keep=0
fi
work=$(cd "$work" && pwd)
mkdir -p "$work/corpus" "$work/artifacts" "$work/log"

if [[ -n "${FUZZ_TARGETS:-}" ]]; then
  read -r -a targets <<<"$FUZZ_TARGETS"
else
  targets=()
  for f in tests/fuzz/fuzz_*.c; do
    [[ -e "$f" ]] && targets+=("$(basename "$f" .c)")
  done
fi
if ((${#targets[@]} == 0)); then
  echo "fuzz: no tests/fuzz/fuzz_*.c" >&2
  exit 1
fi

# A clang build of the whole tree with ASan + UBSan and coverage in the
# library; tests/fuzz/meson.build makes the fuzz_* targets in it. meson
# knows the sources, defines, generated headers and dependencies.
build=$work/build
c_args="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link"
c_args+=" -fno-sanitize-recover=undefined"
# shellcheck disable=SC2054 # the commas belong to -fsanitize=
setup_args=(-Dbuildtype=plain -Dwerror=false -Db_lundef=false
  -Db_sanitize=address,undefined "-Dc_args=$c_args")
echo "fuzz: configuring a $cc build in $build"
setup=(meson setup)
# Reconfiguring an old build picks up new fuzz_*.c files.
[[ -f "$build/meson-private/coredata.dat" ]] && setup+=(--reconfigure)
if ! CC=$cc "${setup[@]}" "$build" "${setup_args[@]}" \
  >"$work/log/setup.log" 2>&1; then
  cat "$work/log/setup.log"
  echo "fuzz: meson setup failed" >&2
  exit 1
fi

passed=0
failed=0
failures=()
built=()
for t in "${targets[@]}"; do
  echo "fuzz: building $t"
  if meson compile -C "$build" "$t" >"$work/log/build-$t.log" 2>&1; then
    built+=("$t")
  else
    grep -E 'error|FAILED' "$work/log/build-$t.log" | head -n 20 || true
    echo "fuzz: $t FAILED to build (log: $work/log/build-$t.log)"
    failed=$((failed + 1))
    failures+=("$t")
    keep=1
  fi
done
bin=$build/tests/fuzz

if ((secs == 0)); then
  echo "fuzz: built ${built[*]:-nothing} in $bin (0 seconds: not run)"
  ((keep == 1)) || rm -rf "$work"
  ((failed == 0))
  exit
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
read -r -a extra_args <<<"${FUZZ_ARGS:-}"

for t in "${built[@]}"; do
  seeds=()
  [[ -d "tests/fuzz/corpus/$t" ]] && seeds+=("tests/fuzz/corpus/$t")
  for d in "tests/fixtures/${t#fuzz_}" tests/fixtures/*/"${t#fuzz_}"; do
    [[ -d "$d" ]] && seeds+=("$d")
  done
  if [[ "$t" == fuzz_parse ]]; then
    # The feed fixtures are the files at the top of tests/fixtures/ (its
    # subdirectories belong to other modules), plus the demo feeds.
    rm -rf "$work/seeds/$t"
    mkdir -p "$work/seeds/$t"
    find tests/fixtures data/demo -maxdepth 1 -type f \
      -exec cp -t "$work/seeds/$t" {} + 2>/dev/null || true
    seeds+=("$work/seeds/$t")
  fi
  dict=()
  [[ -f "tests/fuzz/corpus/$t.dict" ]] &&
    dict=("-dict=tests/fuzz/corpus/$t.dict")
  mkdir -p "$work/corpus/$t" "$work/artifacts/$t"
  log="$work/log/$t.log"

  echo "fuzz: running $t for ${secs}s (seeds: ${seeds[*]:-none})"
  set +e
  # The outer timeout only guards against a hung fuzzer process.
  timeout --kill-after=30 $((secs + 300)) "$bin/$t" \
    -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$work/artifacts/$t/" \
    "${dict[@]}" "${extra_args[@]}" \
    "$work/corpus/$t" "${seeds[@]}" >"$log" 2>&1
  rc=$?
  set -e

  artifacts=()
  for a in "$work/artifacts/$t"/*; do
    case "$(basename "$a")" in
    crash-* | leak-* | timeout-* | oom-* | slow-unit-*) artifacts+=("$a") ;;
    esac
  done
  # slow-unit-* alone is only a hint, not a failure.
  bad=0
  for a in "${artifacts[@]}"; do
    [[ "$(basename "$a")" == slow-unit-* ]] || bad=1
  done

  stats=$(grep -E '^(#[0-9]+[[:space:]]+DONE|Done [0-9]+ runs)' "$log" |
    tr '\n' ' ' || true)
  if [[ $rc -eq 0 && $bad -eq 0 ]]; then
    echo "fuzz: $t ok: $stats"
    passed=$((passed + 1))
    continue
  fi

  failed=$((failed + 1))
  failures+=("$t")
  echo "fuzz: $t FAILED (exit $rc):"
  grep -m 6 -E '^fuzz_|ERROR|runtime error|^SUMMARY' "$log" |
    sed 's/^/    /' || true
  echo "fuzz: last lines of $log:"
  tail -n 60 "$log" | sed 's/^/    /'
  for a in "${artifacts[@]}"; do
    echo "fuzz: artifact $a ($(wc -c <"$a") bytes):"
    head -c 256 "$a" | od -A d -c | head -n 17 | sed 's/^/    /'
    echo "fuzz: reproduce: $bin/$t $a"
  done
  keep=1
done

if ((failed > 0)); then
  echo "fuzz: FAILED: ${failures[*]}; binaries, logs, artifacts in $work"
elif ((keep == 0)); then
  rm -rf "$work"
else
  echo "fuzz: binaries, corpus and logs kept in $work"
fi
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
