#!/usr/bin/env bash
# Checks everything under deploy/prometheus/ with the tools that understand it:
#   - promtool check rules / test rules (unit tests of every alert and recording rule)
#   - a coverage check: every alert has a test where it fires and one where it stays quiet,
#     every per-eSIM alert one where it fires with an eSIM's config label (customer), every
#     alert about an eSIM or an API account one where it fires with an `account` label, every
#     recording rule is checked by a promql_expr_test (needs python3 with PyYAML)
#   - promtool check config on the example Prometheus config
#   - amtool check-config and routing tests (by config label, by account, by severity) on the example
#     Alertmanager config
#   - the inhibit rules, against a real prometheus-alertmanager on a loopback port (one
#     account's outage must not mute another's alerts)
# The Alertmanager parts run when amtool / prometheus-alertmanager are installed
# (Debian: apt-get install prometheus-alertmanager) and are skipped otherwise.
#
# Usage: tests/deploy/check_prometheus.sh [REPOSITORY_ROOT]   (default: this script's ../..)
# Exits non-zero on any failure.
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
dir="$root/deploy/prometheus"
failures=0

step() { printf '\n== %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*" >&2; failures=$((failures + 1)); }
run() { "$@" || fail "$*"; }

if ! command -v promtool >/dev/null; then
  echo "FAIL: promtool not found (Debian: apt-get install prometheus)" >&2
  exit 1
fi
[[ -d "$dir" ]] || { echo "FAIL: $dir not found" >&2; exit 1; }

shopt -s nullglob
rule_files=("$dir"/rules/*.yml)
test_files=("$dir"/tests/*.yml)
((${#rule_files[@]})) || { echo "FAIL: no rule files in $dir/rules" >&2; exit 1; }
((${#test_files[@]})) || { echo "FAIL: no test files in $dir/tests" >&2; exit 1; }

step "promtool check rules"
run promtool check rules "${rule_files[@]}"

step "promtool test rules"
run promtool test rules "${test_files[@]}"

step "test coverage of every alert and recording rule"
if command -v python3 >/dev/null && python3 -c 'import yaml' 2>/dev/null; then
  run python3 - "${#rule_files[@]}" "${rule_files[@]}" "${test_files[@]}" <<'PY'
import re, sys, yaml
n = int(sys.argv[1])
rule_files, test_files = sys.argv[2:2 + n], sys.argv[2 + n:]
alerts, records, per_esim, per_account = set(), set(), set(), set()
for f in rule_files:
    for g in yaml.safe_load(open(f))["groups"]:
        for r in g["rules"]:
            (alerts.add(r["alert"]) if "alert" in r else records.add(r["record"]))
            # Alerts about eSIMs (they use iccid) must keep the eSIMs' config labels.
            if "alert" in r and "iccid" in r["expr"]:
                per_esim.add(r["alert"])
            # Alerts about an eSIM or an API account (all but those about the whole exporter:
            # its scrape and its config) must keep the account of a named account.
            if "alert" in r and not re.search(r"\bup\{|esim_config_", r["expr"]):
                per_account.add(r["alert"])
fires, quiet, exprs, cases, routable, accounted = set(), set(), [], 0, set(), set()
for f in test_files:
    for t in yaml.safe_load(open(f))["tests"]:
        for a in t.get("alert_rule_test") or []:
            cases += 1
            (fires if a.get("exp_alerts") else quiet).add(a["alertname"])
            if any("customer" in (e.get("exp_labels") or {}) for e in a.get("exp_alerts") or []):
                routable.add(a["alertname"])
            if any("account" in (e.get("exp_labels") or {}) for e in a.get("exp_alerts") or []):
                accounted.add(a["alertname"])
        for p in t.get("promql_expr_test") or []:
            cases += 1
            exprs.append(p["expr"])
bad = []
for a in sorted(alerts):
    if a not in fires:
        bad.append("alert %s: no test case where it fires" % a)
    if a not in quiet:
        bad.append("alert %s: no test case where it stays quiet" % a)
for a in sorted(per_esim - routable):
    bad.append("per-eSIM alert %s: no test case where it fires with an eSIM's config label "
               "(customer) among its labels" % a)
for a in sorted(per_account - accounted):
    bad.append("alert %s: no test case where it fires with an account label (accounts: in "
               "the exporter config)" % a)
for r in sorted(records):
    if not any(r in e for e in exprs):
        bad.append("recording rule %s: no promql_expr_test" % r)
print("%d alerts (%d per eSIM, each tested with config labels; %d per eSIM or account, each "
      "tested with an account), %d recording rules, %d test cases"
      % (len(alerts), len(per_esim), len(per_account), len(records), cases))
for b in bad:
    print("  " + b)
sys.exit(1 if bad else 0)
PY
else
  echo "SKIP: python3 with PyYAML not available"
fi

step "promtool check config"
run promtool check config "$dir/prometheus.yml"

if command -v amtool >/dev/null; then
  step "amtool check-config"
  run amtool check-config "$dir/alertmanager.yml"

  step "amtool config routes test (routing by config label, then by severity)"
  route_test() {  # expected-receiver labels...
    local want="$1"; shift
    amtool config routes test --config.file="$dir/alertmanager.yml" --verify.receivers="$want" "$@" \
      2>/dev/null >/dev/null || fail "routing of {$*} is not $want"
  }
  route_test pager alertname=EsimDataAlmostDepleted severity=critical iccid=8948010010036785060
  route_test team alertname=EsimDataUsageHigh severity=warning iccid=8948010010036785060
  route_test low-priority alertname=EsimActiveButUnused severity=info iccid=8948010010036785060
  route_test team alertname=SomethingElse
  # An eSIM's config labels (on every per-eSIM alert) route before the severity does.
  route_test customer-acme alertname=EsimDataAlmostDepleted severity=critical iccid=8948010010036785060 site=syd customer=acme
  route_test customer-acme alertname=EsimActiveButUnused severity=info iccid=8948010010036785060 customer=acme
  route_test pager alertname=EsimDepleted severity=critical iccid=8934000012345678905 fleet=trackers customer=globex
  route_test team alertname=EsimExpiringSoon severity=warning iccid=8910000000000000853 fleet=travellers
  route_test pager alertname=EsimApiCredentialsRefused severity=critical instance=a
  route_test low-priority alertname=EsimPollIntervalStretched severity=info instance=a
  # By account (accounts: in the exporter config): a copy to the account's receiver, then severity.
  route_test account-globex,pager alertname=EsimApiCredentialsRefused severity=critical instance=a account=globex
  route_test account-globex,team alertname=EsimDataUsageHigh severity=warning iccid=8934000012345678905 account=globex
  route_test pager alertname=EsimApiDown severity=critical instance=a account=acme
  echo "routes OK"
else
  echo "SKIP: amtool not found (Debian: apt-get install prometheus-alertmanager)"
fi

# The inhibit rules, with a real Alertmanager: post source and target alerts, then compare the
# set of inhibited alerts with the expected one.
if command -v amtool >/dev/null && command -v prometheus-alertmanager >/dev/null &&
  command -v curl >/dev/null; then
  step "inhibit rules against prometheus-alertmanager"
  tmp="$(mktemp -d)"
  am_pid=""
  cleanup() {
    if [[ -n "$am_pid" ]]; then kill "$am_pid" 2>/dev/null || true; wait "$am_pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  url=""
  for _ in 1 2 3 4 5; do
    port=$((20000 + RANDOM % 30000))
    prometheus-alertmanager --config.file="$dir/alertmanager.yml" --storage.path="$tmp" \
      --web.listen-address="127.0.0.1:$port" --cluster.listen-address= >"$tmp/log" 2>&1 &
    am_pid=$!
    for _ in $(seq 100); do
      if curl -sf "http://127.0.0.1:$port/-/ready" >/dev/null 2>&1; then url="http://127.0.0.1:$port"; break; fi
      kill -0 "$am_pid" 2>/dev/null || break
      sleep 0.1
    done
    [[ -n "$url" ]] && break
    kill "$am_pid" 2>/dev/null || true; wait "$am_pid" 2>/dev/null || true; am_pid=""
  done
  if [[ -z "$url" ]]; then
    cat "$tmp/log" >&2 || true
    fail "prometheus-alertmanager did not start"
  else
    add() { amtool --alertmanager.url="$url" alert add "$@" job=esim_exporter >/dev/null || fail "amtool alert add $*"; }
    # Each alert carries a case label; the t* ones must end up inhibited, the k* ones not.
    add case=k1 alertname=EsimDataAlmostDepleted severity=critical iccid=1 instance=a
    add case=t1 alertname=EsimDataUsageHigh severity=warning iccid=1 instance=a
    add case=t2 alertname=EsimDataDepletionPredicted severity=warning iccid=1 instance=a
    add case=k2 alertname=EsimDataUsageHigh severity=warning iccid=2 instance=a
    add case=k3 alertname=EsimDepleted severity=critical iccid=3 instance=a
    add case=t3 alertname=EsimDataAlmostDepleted severity=critical iccid=3 instance=a
    add case=k4 alertname=EsimExpiringVerySoon severity=critical iccid=4 instance=a
    add case=t4 alertname=EsimExpiringSoon severity=warning iccid=4 instance=a
    add case=k5 alertname=EsimExpiringSoon severity=warning iccid=5 instance=a
    add case=k6 alertname=EsimExpired severity=critical iccid=6 instance=a
    add case=t6 alertname=EsimExpiringVerySoon severity=critical iccid=6 instance=a
    add case=t7 alertname=EsimDataUsageHigh severity=warning iccid=6 instance=a
    add case=k8 alertname=EsimAccountBalanceEmpty severity=critical currency=USD instance=a
    add case=t8 alertname=EsimAccountBalanceLow severity=warning currency=USD instance=a
    add case=k9 alertname=EsimAccountBalanceLow severity=warning currency=EUR instance=b
    add case=k10 alertname=EsimApiDown severity=critical instance=a
    add case=t10 alertname=EsimPollsFailing severity=warning iccid=7 instance=a
    add case=t11 alertname=EsimDataStale severity=warning iccid=7 instance=a
    add case=k11 alertname=EsimPollsFailing severity=warning iccid=8 instance=b
    add case=k12 alertname=EsimApiCredentialsRefused severity=critical instance=c
    add case=t12 alertname=EsimPollsFailing severity=warning iccid=9 instance=c
    add case=t13 alertname=EsimInventorySweepFailing severity=warning instance=c
    add case=k13 alertname=EsimApiPaused severity=warning instance=d
    add case=t14 alertname=EsimDataStale severity=warning iccid=10 instance=d
    add case=t15 alertname=EsimApiRateLimitNearlyExhausted severity=warning instance=d
    add case=k14 alertname=EsimPollsFailing severity=warning iccid=10 instance=d
    add case=k15 alertname=EsimWebhookSubscriptionElsewhere severity=warning instance=e
    add case=t16 alertname=EsimWebhookDeliveriesFailing severity=warning status=failed instance=e
    add case=t17 alertname=EsimWebhookReceiverSilent severity=warning instance=e
    add case=k16 alertname=EsimWebhookDeliveriesFailing severity=warning status=failed instance=f
    add case=t18 alertname=EsimWebhookSubscriptionReadFailing severity=warning instance=c
    add case=k17 alertname=EsimWebhookSubscriptionReadFailing severity=warning instance=f
    # Several accounts on one exporter: acme's outage, refusal or empty balance mutes acme's
    # alerts only, never globex's.
    add case=k18 alertname=EsimApiDown severity=critical instance=g account=acme
    add case=t19 alertname=EsimPollsFailing severity=warning iccid=11 instance=g account=acme
    add case=k19 alertname=EsimPollsFailing severity=warning iccid=12 instance=g account=globex
    add case=k20 alertname=EsimInventorySweepFailing severity=warning instance=g account=globex
    add case=k21 alertname=EsimApiCredentialsRefused severity=critical instance=h account=acme
    add case=t20 alertname=EsimWebhookSubscriptionReadFailing severity=warning instance=h account=acme
    add case=k22 alertname=EsimWebhookSubscriptionReadFailing severity=warning instance=h account=globex
    add case=k23 alertname=EsimAccountBalanceEmpty severity=critical currency=USD instance=h account=acme
    add case=t21 alertname=EsimAccountBalanceLow severity=warning currency=USD instance=h account=acme
    add case=k24 alertname=EsimAccountBalanceLow severity=warning currency=USD instance=h account=globex
    # the unnamed account (no label) is not muted by a named one's outage either
    add case=k25 alertname=EsimDataStale severity=warning iccid=13 instance=g
    want="t1 t10 t11 t12 t13 t14 t15 t16 t17 t18 t19 t2 t20 t21 t3 t4 t6 t7 t8"
    got=""
    # The inhibitor learns about new source alerts asynchronously: poll for up to 10 s.
    for _ in $(seq 100); do
      got="$(amtool --alertmanager.url="$url" alert query --inhibited -o extended 2>/dev/null |
        grep -o 'case="[^"]*"' | sed 's/case="\(.*\)"/\1/' | sort | tr '\n' ' ' | sed 's/ $//')" || true
      [[ "$got" == "$want" ]] && break
      sleep 0.1
    done
    if [[ "$got" == "$want" ]]; then
      echo "inhibited as expected: $got"
    else
      fail "inhibited alerts: want [$want], got [$got]"
    fi
  fi
else
  echo "SKIP: inhibit rule test needs amtool, prometheus-alertmanager and curl"
fi

echo
if ((failures)); then
  echo "$failures check(s) FAILED"
  exit 1
fi
echo "all Prometheus/Alertmanager checks passed"
