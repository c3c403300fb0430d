#!/usr/bin/env bash
# esim_exporter's /metrics against two idiomatic peers serving the same page shape, measured in
# the same run (issue 15, docs/benchmarks.md "Against other exporters, same run"): a Go
# client_golang exporter (tests/bench/peers/go) and a Python prometheus_client one
# (tests/bench/peers/python), the same per-eSIM families, labels and series per eSIM as ours for
# load_bench's fleet. A benchmark, not a test: ctest does not run it.
#
#   scripts/bench-peers.sh
#   REPEAT=5 SIZES="1000" SCRAPES=20 scripts/bench-peers.sh
#
# Environment: SIZES (default "1000 10000"), REPEAT (runs per program and size, alternated
# ours / Go / Python; default 3; medians of the runs are reported), SCRAPES (per encoding and run,
# default 20). Installs golang-go, golang-github-prometheus-client-golang-dev and
# python3-prometheus-client with apt-get when missing (Debian 12; no other download: Go builds
# in GOPATH mode against Debian's sources).
set -euo pipefail

cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
SIZES=${SIZES:-"1000 10000"}
SCRAPES=${SCRAPES:-20}
BUILD=build/bench
PEERS="$BUILD/peers"
# /usr/bin/python3: a pyenv or venv python3 first in PATH would not see Debian's module.
PY=/usr/bin/python3

missing=()
for package in golang-go golang-github-prometheus-client-golang-dev python3-prometheus-client; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "bench-peers: installing ${missing[*]}" >&2
  "${sudo[@]}" apt-get update >&2
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends \
    "${missing[@]}" >&2
fi

cmake --preset bench >/dev/null
cmake --build "$BUILD" --target esim_exporter load_bench -j2 >/dev/null
# GOPATH mode against /usr/share/gocode: Debian's client_golang and its dependencies, offline.
mkdir -p "$PEERS"
for program in go scrape; do
  GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS='' GOCACHE="$PWD/$PEERS/gocache" \
    go build -o "$PEERS/$program" "tests/bench/peers/$program/main.go"
done

results=$(mktemp)
peer_pid=""
cleanup() {
  if [[ -n "$peer_pid" ]]; then
    kill "$peer_pid" 2>/dev/null || true
    wait "$peer_pid" 2>/dev/null || true
  fi
  rm -f "$results"
}
trap cleanup EXIT

free_port() {
  "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run_ours() {
  local n=$1 run=$2 line
  line=$("$BUILD/tests/bench/load_bench" --exporter="$BUILD/esim_exporter" --esims="$n" \
    --latency-ms=0 --concurrency=64 --no-busy --scrapes="$SCRAPES" | sed -n 's/^RESULT //p')
  [[ -n "$line" ]] || { echo "bench-peers: load_bench gave no RESULT" >&2; exit 1; }
  # Same keys as the peers' lines.
  echo "$line" | "$PY" -c '
import sys
kv = dict(f.split("=", 1) for f in sys.stdin.read().split())
print("program=ours esims=%s run=%s series=%s esim_series=- body_bytes=%s gzip_bytes=%s "
      "plain_ms=%s gzip_ms=%s peak_rss_mib=%s" % (kv["esims"], sys.argv[1], kv["series"],
      kv["body_bytes"], kv["gzip_bytes"], kv["idle_plain_ms"], kv["idle_gzip_ms"],
      kv["peak_rss_mib"]))' "$run"
}

run_peer() {
  local program=$1 n=$2 run=$3 port line hwm
  port=$(free_port)
  if [[ $program == go ]]; then
    "$PEERS/go" "$n" "$port" 2>/dev/null &
  else
    "$PY" tests/bench/peers/python/peer.py "$n" "$port" 2>/dev/null &
  fi
  peer_pid=$!
  line=$("$PEERS/scrape" -url="http://127.0.0.1:$port/metrics" -scrapes="$SCRAPES" |
    sed -n 's/^SCRAPE //p')
  # Peak RSS after the scrapes, as load_bench reads ours.
  hwm=$(awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$peer_pid/status")
  kill "$peer_pid"
  wait "$peer_pid" 2>/dev/null || true
  peer_pid=""
  echo "program=$program esims=$n run=$run $line peak_rss_mib=$hwm"
}

echo "# machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs)," \
  "$(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "# revision: $(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)," \
  "$(go version | cut -d' ' -f3), client_golang $(dpkg-query -W -f='${Version}' \
  golang-github-prometheus-client-golang-dev), Python $("$PY" -c 'import platform; print(platform.python_version())')" \
  "prometheus_client $(dpkg-query -W -f='${Version}' python3-prometheus-client)"
echo "# load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "# $SCRAPES scrapes per encoding and run, $REPEAT runs per program and size, alternated"

for n in $SIZES; do
  for ((run = 1; run <= REPEAT; run++)); do
    for program in ours go python; do
      echo "### $n eSIMs, $program, run $run/$REPEAT" >&2
      # Not piped: run_peer must run in this shell, so that the EXIT trap sees a peer to stop.
      if [[ $program == ours ]]; then
        run_ours "$n" "$run" >>"$results"
      else
        run_peer "$program" "$n" "$run" >>"$results"
      fi
      tail -n 1 "$results" >&2
    done
  done
done
echo "# load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

"$PY" - "$results" <<'PY'
import collections
import statistics
import sys

rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split())
    rows[(int(kv["esims"]), kv["program"])].append(kv)

def med(n, program, key):
    return statistics.median(float(r[key]) for r in rows[(n, program)])

print("\n| eSIMs (runs) | measure | ours | Go | Python | Go / ours | Python / ours |")
print("|---|---|---:|---:|---:|---:|---:|")
measures = [("plain_ms", "`/metrics` plain, median ms", "%.1f"),
            ("gzip_ms", "`/metrics` gzip, median ms", "%.1f"),
            ("peak_rss_mib", "peak RSS, MiB", "%.1f"),
            ("body_bytes", "body, MB", "%.2f"),
            ("gzip_bytes", "gzip body, MB", "%.2f"),
            ("series", "series", "%.0f")]
notes = []
for n in sorted({n for n, _ in rows}):
    runs = len(rows[(n, "ours")])
    for i, (key, label, fmt) in enumerate(measures):
        scale = 1e6 if key.endswith("bytes") else 1
        values = [med(n, p, key) / scale for p in ("ours", "go", "python")]
        first = "%s (%d)" % (format(n, ","), runs) if i == 0 else ""
        print("| %s | %s | %s | %s | %s | %.2fx | %.2fx |" % (
            first, label, *(fmt % v for v in values), values[1] / values[0],
            values[2] / values[0]))
    # Comparable pages: the peers' per-eSIM series (lines with an iccid label) must be ours but
    # for our few exporter-wide series (35 today; allow up to 100). The peers' own exporter-wide
    # series differ (go_*, python_*, process_* ...) and are left out of the check.
    ours = med(n, "ours", "series")
    for p in ("go", "python"):
        esim_series = med(n, p, "esim_series")
        extra = ours - esim_series
        ok = 0 <= extra <= 100
        notes.append("%d eSIMs, %s: %.2f per-eSIM series per eSIM, %.0f series in all against "
                     "our %.0f (ours has %.0f beyond the peer's per-eSIM ones), body %.2fx "
                     "ours: %s" % (n, p, esim_series / n, med(n, p, "series"), ours, extra,
                                   med(n, p, "body_bytes") / med(n, "ours", "body_bytes"),
                                   "comparable" if ok else "NOT comparable: the per-eSIM series "
                                   "differ from ours"))
print()
for note in notes:
    print("- " + note)
PY
