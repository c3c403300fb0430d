#!/usr/bin/env bash
# Load on /metrics while the exporter polls: the bundled fake API with N eSIMs (100 ms upstream
# latency, so polls are in flight all the time), the exporter discovering all of them through
# the inventory, then wrk (Debian package) hammering /metrics, plain and gzip.
#   scripts/load-metrics.sh [ESIMS] [SECONDS]      defaults: 1000 eSIMs, 15 s per run
# Needs a build (scripts/test.sh or cmake --preset dev && cmake --build build/dev).
set -euo pipefail
cd "$(dirname "$0")/.."
esims=${1:-1000}
seconds=${2:-15}
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
fake_port=$(free_port)
exporter_port=$(free_port)
printf 'sk_load_secret\n' > "$work/secret"
chmod 600 "$work/secret"
cat > "$work/config.yml" <<YAML
api:
  url: http://127.0.0.1:$fake_port
  access_code: esf_demo_access_code
  secret_key_file: $work/secret
  max_concurrency: 16
  rate_limit: {per_minute: 100000, per_hour: 1000000, per_day: 10000000}
poll:
  interval: 60s
inventory:
  enabled: true
  discover: true
esims: []
YAML
FAKE_ESIMFLY_SECRET_KEY=sk_load_secret build/dev/tests/fake_esimfly_api \
  --listen=127.0.0.1:$fake_port --fleet-size="$esims" --latency=100 2>"$work/fake.log" &
pids+=($!)
sleep 0.5
build/dev/esim_exporter --config.file="$work/config.yml" \
  --web.listen-address=127.0.0.1:$exporter_port --log.level=warn 2>"$work/exporter.log" &
exporter_pid=$!
pids+=($exporter_pid)
for _ in $(seq 1 300); do
  curl -sf -o /dev/null "http://127.0.0.1:$exporter_port/-/ready" && break
  sleep 0.2
done
curl -sf -o /dev/null "http://127.0.0.1:$exporter_port/-/ready" || {
  cat "$work/exporter.log" >&2
  exit 1
}
size=$(curl -s "http://127.0.0.1:$exporter_port/metrics" | wc -c)
echo "== $esims eSIMs, /metrics $size bytes, live polls in flight (100 ms upstream latency)"
echo "== plain, 4 connections"
wrk -t2 -c4 -d"${seconds}s" --latency "http://127.0.0.1:$exporter_port/metrics" | sed -n '1,20p'
echo "== gzip, 4 connections"
wrk -t2 -c4 -d"${seconds}s" --latency -H 'Accept-Encoding: gzip' \
  "http://127.0.0.1:$exporter_port/metrics" | sed -n '1,20p'
echo "== exporter peak RSS: $(grep VmHWM /proc/$exporter_pid/status | awk '{print $2, $3}')"
