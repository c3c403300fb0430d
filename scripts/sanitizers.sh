#!/usr/bin/env bash
# The test suite under the sanitizers (CMake presets asan and tsan, GCC):
#   1. preset asan (AddressSanitizer + LeakSanitizer + UndefinedBehaviorSanitizer, including
#      float-cast-overflow): every ctest test but the deployment-file checks (label deploy: they
#      check files, run no binary of ours, and refuse a sanitizer-linked binary as a runtime-libs
#      mismatch). The e2e test runs: it drives the instrumented exporter under real Prometheus.
#   2. preset tsan (ThreadSanitizer): the tests labelled "threads" in tests/CMakeLists.txt: the
#      unit tests of the threaded parts and every integration test (which run the instrumented
#      exporter and fake API).
# Any sanitizer report fails the run, also one from a child process (the exporter or fake API a
# test started and whose exit status it may not look at): reports are written to
# build/<preset>/sanitizer-logs/ and the run fails when any is there.
#
#   scripts/sanitizers.sh            both
#   scripts/sanitizers.sh asan|tsan  one of them
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

which=${1:-all}
parallel=${SANITIZER_PARALLEL:-2}

seconds() { date +%s; }

# check_logs DIR: fails (printing them) when DIR holds any sanitizer report.
check_logs() {
  local dir=$1 reports
  reports=$(find "$dir" -type f -size +0 | sort)
  [[ -z $reports ]] && return 0
  echo "FAIL: sanitizer reports in $dir:" >&2
  for report in $reports; do
    echo "---- $report" >&2
    head -60 "$report" >&2
  done
  return 1
}

run_asan() {
  local start logs
  start=$(seconds)
  cmake --preset asan >/dev/null
  cmake --build build/asan
  echo "asan: build took $(($(seconds) - start))s"
  logs=$PWD/build/asan/sanitizer-logs
  rm -rf "$logs" && mkdir -p "$logs"
  start=$(seconds)
  local status=0 asan=halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=1
  asan+=:check_initialization_order=1:log_path=$logs/asan
  ASAN_OPTIONS=$asan LSAN_OPTIONS=log_path=$logs/lsan \
    UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:log_path=$logs/ubsan \
    ctest --preset asan --parallel "$parallel" -LE deploy || status=$?
  echo "asan: tests took $(($(seconds) - start))s"
  check_logs "$logs" || status=1
  return "$status"
}

run_tsan() {
  local start logs
  start=$(seconds)
  cmake --preset tsan >/dev/null
  cmake --build build/tsan
  echo "tsan: build took $(($(seconds) - start))s"
  logs=$PWD/build/tsan/sanitizer-logs
  rm -rf "$logs" && mkdir -p "$logs"
  start=$(seconds)
  local status=0 options=halt_on_error=1:second_deadlock_stack=1:history_size=4
  options+=:log_path=$logs/tsan
  [[ -s tests/tsan.supp ]] && options+=":suppressions=$PWD/tests/tsan.supp"
  # Label "threads" (tests/CMakeLists.txt): the unit suites of threaded code, every integration test.
  TSAN_OPTIONS=$options ctest --preset tsan --parallel "$parallel" -L threads || status=$?
  echo "tsan: tests took $(($(seconds) - start))s"
  check_logs "$logs" || status=1
  return "$status"
}

status=0
case $which in
  asan) run_asan || status=1 ;;
  tsan) run_tsan || status=1 ;;
  all)
    run_asan || status=1
    run_tsan || status=1
    ;;
  *)
    echo "usage: $0 [asan|tsan]" >&2
    exit 2
    ;;
esac
[[ $status -eq 0 ]] && echo "sanitizers: clean" || echo "sanitizers: FAILED" >&2
exit "$status"
