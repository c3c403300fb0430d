#!/usr/bin/env bash
# The demo: installs what is missing, builds, starts the bundled fake eSIMfly API and
# esim_exporter against it, and shows live metrics. Ctrl-C stops both.
#   scripts/demo.sh           run until Ctrl-C
#   scripts/demo.sh --check   show the metrics once, then stop (used by CI)
set -euo pipefail
cd "$(dirname "$0")/.."

check_only=false
[[ "${1:-}" == "--check" ]] && check_only=true
fake_address=127.0.0.1:18080
exporter_address=127.0.0.1:10417

scripts/install-deps.sh
echo "==> Building (build/dev)"
cmake --preset dev >/dev/null
cmake --build build/dev --target esim_exporter fake_esimfly_api fake_esimfly_webhook

for address in $fake_address $exporter_address; do
  if curl -s -o /dev/null "http://$address/"; then
    echo "Something already listens on $address; stop it first." >&2
    exit 1
  fi
done

logs=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$logs"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# the exporter warns about secrets others may read
chmod 600 config/demo-secret-key config/demo-globex-secret-key config/demo-webhook-secret
# Two accounts (API keys) on one fake server: acme works; globex's key is revoked on purpose, to
# show one account failing while the other keeps working (config/demo-accounts.yml).
build/dev/tests/fake_esimfly_api --listen=$fake_address --account-name=acme \
  --secret-key-file=config/demo-secret-key \
  --account=globex:esf_demo_globex_access_code:config/demo-globex-secret-key,fleet-size=20 \
  --account-fault=globex:revoked 2>"$logs/fake_api.log" &
pids+=($!)
# The exporter's first inventory sweep goes out at once: the fake API must be listening by then.
for _ in $(seq 1 100); do
  curl -s -o /dev/null "http://$fake_address/" && break
  sleep 0.1
done
# Durable state under build/: stop and start the demo again and the series (and the webhook
# delivery ids already received) are back at once.
build/dev/esim_exporter --config.file=config/demo-accounts.yml --web.listen-address=$exporter_address \
  --storage.path=build/demo-state 2>"$logs/exporter.log" &
pids+=($!)

echo "==> Waiting until every eSIM has been polled once (globex's refused key holds up nothing)"
for _ in $(seq 1 150); do
  curl -sf -o /dev/null "http://$exporter_address/-/ready" && break
  sleep 0.2
done
if ! curl -sf -o /dev/null "http://$exporter_address/-/ready"; then
  echo "The exporter did not become ready. Its log:" >&2
  cat "$logs/exporter.log" >&2
  exit 1
fi

echo
echo "==> Live metrics from http://$exporter_address/metrics (a selection)"
curl -s "http://$exporter_address/metrics" |
  grep -E '^(esim_data_(used|total)_bytes|esim_status\{.*\} 1|esim_expiry_timestamp_seconds|esim_poll_success|esim_up|esim_api_credentials_refused|esim_api_requests_total|esim_poll_interval_seconds)' |
  head -n 60
echo
echo "==> One account failing, the other working: globex's key is refused, acme's data flows"
curl -s "http://$exporter_address/metrics" | grep -E '^esim_(up|api_credentials_refused|monitored_esims)\{'
echo
echo "==> A webhook: the fake sends a signed esim.usage.threshold (9.8 of 10 GB used, 200 MB left) for traveller-bangkok"
series='esim_data_used_bytes{account="acme",iccid="8910000000000000853"'
curl -s "http://$exporter_address/metrics" | grep -F "$series" || true
sent=$(date +%s.%N)
build/dev/tests/fake_esimfly_webhook --url="http://$exporter_address/webhook/acme" \
  --secret-file=config/demo-webhook-secret --iccid=8910000000000000853 \
  --used-gb=9.8 --total-gb=10 --threshold-mb=200 >/dev/null
for _ in $(seq 1 20); do
  curl -s "http://$exporter_address/metrics" | grep -F "$series" | grep -q ' 10522669875' && break
  sleep 0.05
done
echo "on /metrics after $(awk "BEGIN { printf \"%.3f\", $(date +%s.%N) - $sent }") s:"
page=$(curl -s "http://$exporter_address/metrics")
grep -F "$series" <<<"$page"
grep -E '^(esim_webhook_|esim_last_event_timestamp_seconds\{account="acme",iccid="8910000000000000853")' <<<"$page"
echo "Wrong ones are refused: bad signature -> $(build/dev/tests/fake_esimfly_webhook \
  --url="http://$exporter_address/webhook/acme" --secret-file=config/demo-webhook-secret \
  --iccid=8910000000000000853 --fault=bad_signature || true)"

echo
echo "==> Exporter log"
cat "$logs/exporter.log"
echo
echo "Landing page with every eSIM and its last poll: http://$exporter_address/"
echo "All metrics:                                    http://$exporter_address/metrics"

$check_only && exit 0
echo "Polling every 60 s. Press Ctrl-C to stop."
wait
