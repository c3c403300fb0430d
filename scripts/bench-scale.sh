#!/usr/bin/env bash
# One table of every cost by fleet size (issue 15): config load, peak RSS, /metrics plain and
# gzip, restart to all series, webhook ingest, and the Go and Python peers of
# scripts/bench-peers.sh as ratios at the sizes they are run. Markdown on stdout, progress on
# stderr. A benchmark, not a test: ctest does not run it. See docs/benchmarks.md.
#
#   scripts/bench-scale.sh                                    # 1k, 10k, 50k, 100k; peers at 1k, 10k
#   SIZES="1000 2000" REPEAT=2 PEERS="1000" scripts/bench-scale.sh
#
# Environment: SIZES (default "1000 10000 50000 100000"), REPEAT (runs per size, default 3; the
# table shows medians, each run's values follow it), PEERS (sizes at which bench-peers.sh runs,
# with the same REPEAT and SCRAPES; default "1000 10000"; empty: no peers), SCRAPES (per encoding
# and run, default 10), WEBHOOKS_MAX (default 20000).
#
# Per size and run:
#   1. config load: scripts/gen-config.py N (a name and two labels per eSIM, as load_bench's
#      config) into a temporary file, then `/usr/bin/time -f '%e %M' esim_exporter --config.check`:
#      elapsed seconds and peak RSS. The generated config has an inline secret_key, so it checks
#      anywhere (the check warns about it and about the budget; only the exit code counts).
#   2. load_bench --latency-ms=0 --concurrency=64 --no-busy --scrapes=SCRAPES --storage-dir=TMP
#      --restart --webhook-deliveries=W, TMP fresh each run (the state is written every second
#      while the scrapes run): peak RSS, idle /metrics medians, restart to all series and the
#      restarted process's peak RSS, webhook deliveries/s and p99.
#   W = min(N, WEBHOOKS_MAX): one delivery per eSIM (load_bench spreads them over the fleet, so no
#   eSIM gets two, as a real threshold alert would), capped at 20,000 so that the 50k and 100k runs
#   do not spend most of their time sending (about 4 s at the ~5,000/s measured at 1k) and the
#   rate is still over thousands of deliveries, long past the first connections' warm-up.
# The peers' ratios come from bench-peers.sh's own run (its ours, Go and Python alternated, no
# state written), not from the runs above: that is the same-run comparison of the issue.
set -euo pipefail

cd "$(dirname "$0")/.."
SIZES=${SIZES:-"1000 10000 50000 100000"}
REPEAT=${REPEAT:-3}
PEERS=${PEERS-"1000 10000"}
SCRAPES=${SCRAPES:-10}
WEBHOOKS_MAX=${WEBHOOKS_MAX:-20000}
BUILD=build/bench
PY=/usr/bin/python3

if [[ ! -x /usr/bin/time ]]; then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "bench-scale: installing time" >&2
  "${sudo[@]}" apt-get update >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends time >&2
fi

cmake --preset bench >/dev/null
cmake --build "$BUILD" --target esim_exporter load_bench -j2 >/dev/null

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results="$work/results"
touch "$results"
failures=0

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M')

# Prints "check_s=... check_mib=..." for a config of $1 eSIMs.
config_check() {
  local n=$1 config="$work/config.yml"
  "$PY" scripts/gen-config.py "$n" >"$config"
  if ! /usr/bin/time -f '%e %M' -o "$work/time" "$BUILD/esim_exporter" --config.check \
      --config.file="$config" >"$work/check.log" 2>&1; then
    echo "bench-scale: --config.check failed for $n eSIMs:" >&2
    tail -n 20 "$work/check.log" >&2
    return 1
  fi
  # The last line: `time` writes "Command exited with non-zero status" before it on failure.
  tail -n 1 "$work/time" | awk '{printf "check_s=%s check_mib=%.1f\n", $1, $2 / 1024}'
}

# Appends one line "run=I webhooks=W check_s=... <load_bench's RESULT keys, esims=N first>" to
# $results.
scale_run() {
  local n=$1 run=$2 webhooks check line storage
  webhooks=$((n < WEBHOOKS_MAX ? n : WEBHOOKS_MAX))
  check=$(config_check "$n") || return 1
  echo "config check: $check" >&2
  storage=$(mktemp -d "$work/storage.XXXXXX")
  if ! "$BUILD/tests/bench/load_bench" --exporter="$BUILD/esim_exporter" --esims="$n" \
      --latency-ms=0 --concurrency=64 --no-busy --scrapes="$SCRAPES" --storage-dir="$storage" \
      --restart --webhook-deliveries="$webhooks" >"$work/load.log" 2>&1; then
    echo "bench-scale: load_bench failed for $n eSIMs:" >&2
    tail -n 20 "$work/load.log" >&2
    rm -rf "$storage"
    return 1
  fi
  rm -rf "$storage"
  line=$(sed -n 's/^RESULT //p' "$work/load.log")
  [[ -n "$line" ]] || { echo "bench-scale: load_bench gave no RESULT" >&2; return 1; }
  echo "run=$run webhooks=$webhooks $check $line" | tee -a "$results" >&2
}

for n in $SIZES; do
  for ((run = 1; run <= REPEAT; run++)); do
    echo "### $n eSIMs, run $run/$REPEAT" >&2
    # A failed run is reported and left out of the medians; the other sizes still run.
    if ! scale_run "$n" "$run"; then
      echo "esims=$n run=$run failed=1" >>"$results"
      failures=$((failures + 1))
    fi
  done
done

peer_lines="$work/peers"
peer_table="$work/peers.md"
touch "$peer_lines" "$peer_table"
if [[ -n "${PEERS// /}" ]]; then
  echo "### bench-peers.sh, SIZES=\"$PEERS\" REPEAT=$REPEAT SCRAPES=$SCRAPES" >&2
  # Its table and notes on stdout (kept for below), its per-run "program=..." lines and progress
  # on stderr (shown, and the lines kept for the ratios).
  if ! { SIZES="$PEERS" REPEAT="$REPEAT" SCRAPES="$SCRAPES" scripts/bench-peers.sh 2>&1 \
      >"$peer_table"; } | tee "$work/peers.err" >&2; then
    echo "bench-scale: bench-peers.sh failed; the table has no ratios" >&2
    failures=$((failures + 1))
  fi
  grep '^program=' "$work/peers.err" >"$peer_lines" || true
fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)

"$PY" - "$results" "$peer_lines" <<'PY'
import collections
import statistics
import sys

runs = collections.defaultdict(list)      # esims -> [dict] of good runs
failed = collections.Counter()
order = []
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split())
    n = int(kv["esims"])
    if n not in order:
        order.append(n)
    if "failed" in kv:
        failed[n] += 1
    else:
        runs[n].append(kv)
peers = collections.defaultdict(list)     # (esims, program) -> [dict]
for line in open(sys.argv[2]):
    kv = dict(f.split("=", 1) for f in line.split())
    peers[(int(kv["esims"]), kv["program"])].append(kv)


def med(rows, key):
    return statistics.median(float(r[key]) for r in rows)


def ratio(n, program):
    if (n, "ours") not in peers or (n, program) not in peers:
        return "—"
    ours, theirs = peers[(n, "ours")], peers[(n, program)]
    return "%.1fx / %.1fx" % (med(theirs, "plain_ms") / med(ours, "plain_ms"),
                              med(theirs, "peak_rss_mib") / med(ours, "peak_rss_mib"))


print("| eSIMs (runs) | config check s / MiB | peak RSS MiB (polled, state written each second) "
      "| `/metrics` plain ms | gzip ms | restart to all series s / peak MiB "
      "| webhook ingest /s, p99 ms | Go / ours (plain, RSS) | Python / ours (plain, RSS) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
notes = []
for n in order:
    rows = runs[n]
    label = "%s (%d%s)" % (format(n, ","), len(rows),
                           ", %d failed" % failed[n] if failed[n] else "")
    if not rows:
        print("| %s | failed | | | | | | %s | %s |" % (label, ratio(n, "go"), ratio(n, "python")))
        continue
    print("| %s | %.2f / %.1f | %.1f | %.1f | %.1f | %.2f / %.1f | %.0f, %.2f | %s | %s |" % (
        label, med(rows, "check_s"), med(rows, "check_mib"), med(rows, "peak_rss_mib"),
        med(rows, "idle_plain_ms"), med(rows, "idle_gzip_ms"), med(rows, "restart_s"),
        med(rows, "restart_peak_rss_mib"), med(rows, "webhook_per_s"),
        med(rows, "webhook_p99_ms"), ratio(n, "go"), ratio(n, "python")))
    for r in rows:
        if r["webhook_ok"] != r["webhooks"]:
            notes.append("%s eSIMs, run %s: %s of %s webhook deliveries got a 2xx" % (
                format(n, ","), r["run"], r["webhook_ok"], r["webhooks"]))

print()
print("Webhook deliveries per run: min(eSIMs, WEBHOOKS_MAX). Peer ratios: medians of "
      "bench-peers.sh's runs (its own run of ours, no state written), \"—\" where not run.")
for note in notes:
    print("- " + note)

print("\nEach run:\n")
print("| eSIMs | run | check s | check MiB | peak RSS MiB | plain ms | gzip ms | restart s "
      "| of which to port s | restart MiB | webhooks | 2xx | /s | p50 ms | p99 ms |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for line in open(sys.argv[1]):
    r = dict(f.split("=", 1) for f in line.split())
    if "failed" in r:
        print("| %s | %s | failed |" % (format(int(r["esims"]), ","), r["run"]) + " |" * 13)
        continue
    print("| %s | %s | %s | %s | %s | %.1f | %.1f | %s | %s | %s | %s | %s | %s | %.2f | %.2f |" % (
        format(int(r["esims"]), ","), r["run"], r["check_s"], r["check_mib"], r["peak_rss_mib"],
        float(r["idle_plain_ms"]), float(r["idle_gzip_ms"]), r["restart_s"],
        r["restart_listen_s"], r["restart_peak_rss_mib"], r["webhooks"], r["webhook_ok"],
        r["webhook_per_s"], float(r["webhook_p50_ms"]), float(r["webhook_p99_ms"])))

if peers:
    print("\nPeers, each run (bench-peers.sh):\n")
    print("| eSIMs | run | program | plain ms | gzip ms | peak RSS MiB |")
    print("|---:|---:|---|---:|---:|---:|")
    for line in open(sys.argv[2]):
        r = dict(f.split("=", 1) for f in line.split())
        print("| %s | %s | %s | %.1f | %.1f | %s |" % (
            format(int(r["esims"]), ","), r["run"], r["program"], float(r["plain_ms"]),
            float(r["gzip_ms"]), r["peak_rss_mib"]))
PY

if [[ -s "$peer_table" ]]; then
  echo
  echo "bench-peers.sh's output:"
  echo
  cat "$peer_table"
fi

echo
echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)," \
  "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "# revision: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)$(git diff --quiet -- src 2>/dev/null || echo ' (src/ modified)')"
echo "# started $started UTC, ended $(date -u '+%H:%M') UTC; load average at the start:" \
  "$load_start, at the end: $load_end"
echo "# SIZES=\"$SIZES\" REPEAT=$REPEAT PEERS=\"$PEERS\" SCRAPES=$SCRAPES WEBHOOKS_MAX=$WEBHOOKS_MAX"
if ((failures)); then
  echo "bench-scale: $failures run(s) failed, see above" >&2
  exit 1
fi
