#!/usr/bin/env bash
# Checks that every alert of deploy/prometheus/rules/*.yml links to its own section of
# docs/runbook.md, and that the runbook has no section for an alert that does not exist:
#   - each alert has a runbook_url annotation of the form
#     https://github.com/esim-exporter/esim_exporter/blob/main/docs/runbook.md#<alertname in lower case>
#   - docs/runbook.md has a heading whose GitHub anchor is that fragment, and the section says
#     what the alert means, what to check and how to fix it
#   - every "## Esim..." section of the runbook belongs to an alert
#   - each alert has a dashboard_url annotation into the Grafana dashboard (uid esim-fleet):
#     https://grafana.example.com/d/esim-fleet/esim-fleet?var-esim={{ $labels.iccid }} for a
#     per-eSIM alert (its expression uses iccid, as in check_prometheus.sh), the same without the
#     query for every other alert; the unit tests in deploy/prometheus/tests/ must agree on which
#     alerts are per eSIM (their expected firing alerts carry iccid exactly for those)
# Needs python3 with PyYAML (Debian: python3-yaml).
#
# Usage: tests/deploy/check_runbook.sh [REPOSITORY_ROOT]   (default: this script's ../..)
# Exits non-zero on any failure.
set -euo pipefail

root="${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"

if ! command -v python3 >/dev/null || ! python3 -c 'import yaml' 2>/dev/null; then
  echo "FAIL: python3 with PyYAML is required (Debian: apt-get install python3-yaml)" >&2
  exit 1
fi

exec python3 - "$root" <<'PY'
import glob, os, re, sys, unicodedata
import yaml

root = sys.argv[1]
BASE = "https://github.com/esim-exporter/esim_exporter/blob/main/docs/runbook.md"
DASHBOARD = "https://grafana.example.com/d/esim-fleet/esim-fleet"
ESIM_DASHBOARD = DASHBOARD + "?var-esim={{ $labels.iccid }}"
test_files = sorted(glob.glob(os.path.join(root, "deploy", "prometheus", "tests", "*.yml")))
runbook_path = os.path.join(root, "docs", "runbook.md")
rule_files = sorted(glob.glob(os.path.join(root, "deploy", "prometheus", "rules", "*.yml")))
bad = []
if not rule_files:
    bad.append("no rule files in deploy/prometheus/rules")
if not os.path.isfile(runbook_path):
    print("FAIL: docs/runbook.md does not exist", file=sys.stderr)
    sys.exit(1)


def github_anchor(heading):
    """The id GitHub gives a Markdown heading: lower case, punctuation dropped, spaces -> '-'."""
    text = heading.strip().lower()
    return "".join(c for c in text if c in "-_ " or unicodedata.category(c)[0] in "LN").replace(" ", "-")


# Sections: anchor -> (heading, body). GitHub numbers repeated anchors -1, -2, ...
sections, seen, in_code = {}, {}, False
current = None
for line in open(runbook_path, encoding="utf-8"):
    if line.startswith("```"):
        in_code = not in_code
    m = None if in_code else re.match(r"(#{1,6})\s+(.*?)\s*#*\s*$", line)
    if m:
        anchor = github_anchor(m.group(2))
        n = seen.get(anchor, 0)
        seen[anchor] = n + 1
        if n:
            anchor = "%s-%d" % (anchor, n)
        current = anchor
        sections[anchor] = [m.group(2), ""]
    elif current:
        sections[current][1] += line

alerts = []
for f in rule_files:
    for g in (yaml.safe_load(open(f, encoding="utf-8")) or {}).get("groups") or []:
        for r in g.get("rules") or []:
            if "alert" in r:
                alerts.append((os.path.relpath(f, root), r))

linked = set()
for f, r in alerts:
    name = r["alert"]
    url = (r.get("annotations") or {}).get("runbook_url")
    want = "%s#%s" % (BASE, name.lower())
    if not url:
        bad.append("%s: alert %s has no runbook_url annotation" % (f, name))
        continue
    if url != want:
        bad.append("%s: alert %s: runbook_url is %s, want %s" % (f, name, url, want))
    anchor = url.partition("#")[2]
    if anchor not in sections:
        bad.append("%s: alert %s: docs/runbook.md has no section #%s" % (f, name, anchor))
        continue
    linked.add(anchor)
    heading, body = sections[anchor]
    if heading != name:
        bad.append("docs/runbook.md: section #%s is titled %r, want %r" % (anchor, heading, name))
    for part in ("**What it means.**", "**What to check.**", "**How to fix.**"):
        if part not in body:
            bad.append("docs/runbook.md: section %s lacks %s" % (name, part))

# Dashboard links. An alert is per eSIM when its expression uses iccid (the definition of
# check_prometheus.sh); the unit tests' expected alerts tell whether the result really carries it.
with_iccid, without_iccid = set(), set()
for f in test_files:
    for t in (yaml.safe_load(open(f, encoding="utf-8")) or {}).get("tests") or []:
        for a in t.get("alert_rule_test") or []:
            for e in a.get("exp_alerts") or []:
                (with_iccid if "iccid" in (e.get("exp_labels") or {}) else without_iccid).add(
                    a["alertname"])
per_esim = 0
for f, r in alerts:
    name = r["alert"]
    esim = "iccid" in r.get("expr", "")
    per_esim += esim
    if esim and name in without_iccid:
        bad.append("%s: alert %s uses iccid, but a unit test expects it to fire without an iccid "
                   "label: cannot tell whether it is per eSIM" % (f, name))
    if not esim and name in with_iccid:
        bad.append("%s: alert %s does not use iccid, but a unit test expects it to fire with an "
                   "iccid label: cannot tell whether it is per eSIM" % (f, name))
    url = (r.get("annotations") or {}).get("dashboard_url")
    want = ESIM_DASHBOARD if esim else DASHBOARD
    if not url:
        bad.append("%s: alert %s has no dashboard_url annotation (want %s)" % (f, name, want))
    elif url != want:
        bad.append("%s: %s alert %s: dashboard_url is %s, want %s"
                   % (f, "per-eSIM" if esim else "exporter/account", name, url, want))

for anchor, (heading, _body) in sections.items():
    if heading.startswith("Esim") and anchor not in linked:
        bad.append("docs/runbook.md: section %r belongs to no alert of the rules" % heading)

print("%d alerts, each linked to its section of docs/runbook.md and to the dashboard (%d of them "
      "on their eSIM)" % (len(alerts), per_esim) if not bad
      else "%d alerts checked" % len(alerts))
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
