#!/usr/bin/env bash
# Builds the libFuzzer targets (preset "fuzz": clang, ASan + UBSan, build/fuzz) and runs each on
# a scratch copy of its seed corpus (tests/fuzz/corpus/<name>) for a bounded time. Fails on any
# crash, leak, timeout, out-of-memory or sanitizer report; the reproducer is left in
# build/fuzz/findings/ and can be replayed with: build/fuzz/tests/fuzz/fuzz_<target> FILE
#
#   scripts/fuzz.sh                 60 s per target
#   FUZZ_SECONDS=600 scripts/fuzz.sh
#   FUZZ_TARGETS="status_response:status" scripts/fuzz.sh    only some targets (name:corpus)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh --test

seconds=${FUZZ_SECONDS:-60}
build=build/fuzz
read -ra targets <<<"${FUZZ_TARGETS:-status_response:status config:config state_file:state_file webhook_event:webhook_event}"

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

findings=$build/findings
rm -rf "$findings" && mkdir -p "$findings"
export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
failed=0
for entry in "${targets[@]}"; do
  name=${entry%%:*} corpus=${entry#*:}
  binary=$build/tests/fuzz/fuzz_$name
  work=$build/corpus/$corpus
  rm -rf "$work" && mkdir -p "$work"
  cp tests/fuzz/corpus/"$corpus"/* "$work"/
  echo "== fuzz_$name: ${seconds}s on $(ls "$work" | wc -l) seed inputs"
  log=$build/fuzz_$name.log
  : >"$log"
  deadline=$(($(date +%s) + seconds))
  left=$seconds
  while ((left > 0)); do
    # libFuzzer's own exit path (symbolizing, leak check over a large heap) must not hang CI.
    if timeout --kill-after=30 $((left + 120)) "$binary" -max_total_time="$left" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$findings/$name-" "$work" >>"$log" 2>&1; then
      grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$log" || true
      echo "   corpus grew to $(ls "$work" | wc -l) inputs"
      break
    fi
    # libFuzzer's -timeout is wall-clock time: on a loaded machine an input can exceed it
    # without hanging. A timeout counts when the input also times out when replayed alone.
    timeouts=("$findings/$name-timeout-"*)
    if [[ -e ${timeouts[0]} ]] && "$binary" -timeout=10 -rss_limit_mb=2048 "${timeouts[@]}" \
        >>"$log" 2>&1; then
      echo "   a timeout did not reproduce when replayed alone (machine load); going on" |
        tee -a "$log"
      mkdir -p "$findings/unconfirmed" && mv "${timeouts[@]}" "$findings/unconfirmed/"
      left=$((deadline - $(date +%s)))
      continue
    fi
    failed=1
    echo "FAIL: fuzz_$name (log: $log)" >&2
    grep -E -A40 '^(==[0-9]+== ?ERROR|SUMMARY|.*runtime error|.*deadly signal)' "$log" |
      head -80 >&2 || tail -60 "$log" >&2
    for artifact in "$findings/$name-"*; do
      [[ -f $artifact ]] || continue
      echo "   reproducer: $artifact (replay: $binary $artifact)" >&2
    done
    break
  done
done
exit "$failed"
