#!/usr/bin/env bash
# Builds the benchmarks (preset `bench`: Release with tests) and runs them; results on stdout.
# See docs/benchmarks.md.
#
#   scripts/bench.sh                  # micro benchmarks, then load runs for 1k, 10k, 50k eSIMs
#   REPEAT=5 SIZES="1000 10000" scripts/bench.sh
#
# Environment: REPEAT (runs per load configuration, default 3; medians are reported),
# SIZES (default "1000 10000 50000"), SCRAPES (per measurement, default 20),
# SKIP_MICRO=1 / SKIP_LOAD=1 to run only one half.
set -euo pipefail

cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
SIZES=${SIZES:-"1000 10000 50000"}
SCRAPES=${SCRAPES:-20}
BUILD=build/bench

cmake --preset bench >/dev/null
cmake --build "$BUILD" --target micro_bench load_bench esim_exporter >/dev/null

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)," \
     "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)," \
     "load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# revision: $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(git diff --quiet -- src 2>/dev/null || echo ' (src/ modified)')"

if [[ -z "${SKIP_MICRO:-}" ]]; then
  echo
  echo "## micro benchmarks (median of $REPEAT repetitions)"
  "$BUILD/tests/bench/micro_bench" --benchmark_repetitions="$REPEAT" \
      --benchmark_report_aggregates_only=true 2>&1 | grep -v '_mean\|_stddev\|_cv' || true
fi

[[ -n "${SKIP_LOAD:-}" ]] && exit 0

results=$(mktemp)
trap 'rm -f "$results"' EXIT
run() {
  local label=$1; shift
  for ((i = 1; i <= REPEAT; i++)); do
    echo "### $label, run $i/$REPEAT" >&2
    "$BUILD/tests/bench/load_bench" --exporter="$BUILD/esim_exporter" "$@" | tee /dev/stderr |
        sed -n "s/^RESULT /label=$label /p" >>"$results"
  done
}

# Size runs: upstream answers at once, max_concurrency 64 (the maximum) so that the first cycle of
# 50k eSIMs ends in about a minute despite the ~90 ms per-request floor (docs/benchmarks.md), HTTPS;
# busy scrapes while the second cycle polls with 100 ms upstream latency.
for n in $SIZES; do
  run "size-$n" --esims="$n" --latency-ms=0 --concurrency=64 --scrapes="$SCRAPES" --tls
done
# Throughput run of issue 6: 100 ms upstream latency, max_concurrency 16, 2000 eSIMs, HTTPS.
run "throughput" --esims=2000 --latency-ms=100 --concurrency=16 --scrapes=5 --tls --no-busy \
    --window-seconds=10

echo
echo "## load benchmark, medians of $REPEAT runs"
python3 - "$results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split())
    rows.setdefault(kv.pop("label"), []).append({k: float(v) for k, v in kv.items()})
def med(label, key):
    return statistics.median(r[key] for r in rows[label])
cols = [
    ("series", "series", "{:.0f}"), ("body_bytes", "body MB", "{:.2f}", 1e-6),
    ("gzip_bytes", "gzip MB", "{:.2f}", 1e-6),
    ("idle_plain_ms", "/metrics ms", "{:.1f}"), ("idle_plain_p90_ms", "p90", "{:.1f}"),
    ("idle_gzip_ms", "gzip ms", "{:.1f}"), ("idle_gzip_p90_ms", "p90", "{:.1f}"),
    ("busy_plain_ms", "busy ms", "{:.1f}"), ("busy_gzip_ms", "busy gzip ms", "{:.1f}"),
    ("peak_rss_mib", "peak RSS MiB", "{:.1f}"), ("cpu_per_request_us", "CPU/poll us", "{:.0f}"),
    ("polls_per_s", "polls/s", "{:.1f}"), ("cycle_connections", "TLS handshakes/cycle", "{:.0f}"),
]
print("| run | " + " | ".join(c[1] for c in cols) + " |")
print("|---" * (len(cols) + 1) + "|")
for label in rows:
    cells = []
    for c in cols:
        scale = c[3] if len(c) > 3 else 1
        cells.append(c[2].format(med(label, c[0]) * scale))
    print(f"| {label} (n={len(rows[label])}) | " + " | ".join(cells) + " |")
PY
