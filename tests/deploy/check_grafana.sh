#!/usr/bin/env bash
# Checks the shipped Grafana files: the dashboard (structure, metric names, filters, variables,
# drill-down links, and PromQL syntax through promtool when it is installed), the links into it
# from the other shipped files (alert annotations, docs), and the provisioning YAML files.
#
# Usage: tests/deploy/check_grafana.sh [REPO_ROOT]   (default: this script's ../..)
# Exit status 0 when everything passes, 1 otherwise.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "${1:-$here/../..}" && pwd)
grafana=$root/deploy/grafana
dashboard=$grafana/dashboards/esim-fleet.json
datasources=$grafana/provisioning/datasources/prometheus.yml
providers=$grafana/provisioning/dashboards/esim.yml
failed=0

fail() {
  echo "FAIL: $*" >&2
  failed=1
}

for f in "$dashboard" "$datasources" "$providers"; do
  [[ -f $f ]] || fail "missing $f"
done
((failed == 0)) || exit 1

# Every dashboard shipped must at least be valid JSON; esim-fleet.json gets the full check.
for f in "$grafana"/dashboards/*.json; do
  python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$f" || fail "$f is not valid JSON"
done
if python3 "$here/dashboard_queries.py" --dashboard "$dashboard" --check; then
  echo "ok: $dashboard"
else
  fail "$dashboard"
fi

# Links into the dashboards from the other shipped files (alert annotations, runbook, READMEs):
# each must name a shipped dashboard's uid and only variables that dashboard has, e.g.
# /d/esim-fleet/esim-fleet?var-esim={{ $labels.iccid }}.
if python3 - "$root" <<'EOF'; then
import glob
import json
import os
import re
import sys

root = sys.argv[1]
variables = {}  # uid -> variable names
for path in glob.glob(os.path.join(root, "deploy", "grafana", "dashboards", "*.json")):
    with open(path) as f:
        dash = json.load(f)
    variables[dash.get("uid")] = {v.get("name") for v in (dash.get("templating") or {}).get("list", [])}

files = [os.path.join(root, "README.md")]
for pattern in ("deploy/**/*.yml", "deploy/**/*.yaml", "deploy/**/*.md", "docs/**/*.md"):
    files += glob.glob(os.path.join(root, pattern), recursive=True)
# The query string may hold Go templates ({{ $labels.iccid }}), spaces included.
link = re.compile(r"/d/([A-Za-z0-9_-]+)(?:/[A-Za-z0-9_-]*)?(\?(?:\{\{.*?\}\}|[^\s\"'<>)`])*)?")
problems, links = [], 0
for path in sorted(set(files)):
    if not os.path.isfile(path):
        continue
    with open(path, errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            for m in link.finditer(line):
                links += 1
                uid, query = m.group(1), m.group(2) or ""
                where = f"{os.path.relpath(path, root)}:{lineno}"
                if uid not in variables:
                    problems.append(f"{where}: /d/{uid} is not a shipped dashboard "
                                    f"(uids: {', '.join(sorted(map(str, variables)))})")
                    continue
                for var in re.findall(r"var-([A-Za-z0-9_]+)=", query):
                    if var not in variables[uid]:
                        problems.append(f"{where}: dashboard {uid} has no variable {var!r}")
for p in problems:
    print(p, file=sys.stderr)
print(f"ok: {links} link(s) into the dashboards from the other shipped files" if not problems
      else "links into the dashboards: FAIL")
sys.exit(1 if problems else 0)
EOF
  :
else
  fail "links into the dashboards"
fi

# The provisioning files: parsed with PyYAML when it is there, else a line-based sanity check.
if python3 -c 'import yaml' 2>/dev/null; then
  if python3 - "$datasources" "$providers" "$dashboard" <<'EOF'; then
import json
import sys

import yaml

ds_file, prov_file, dash_file = sys.argv[1:4]
problems = []


def load(path):
    with open(path) as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict):
        problems.append(f"{path}: not a YAML mapping")
        return {}
    if doc.get("apiVersion") != 1:
        problems.append(f"{path}: apiVersion must be 1")
    return doc


ds = load(ds_file)
sources = ds.get("datasources") or []
proms = [d for d in sources if isinstance(d, dict) and d.get("type") == "prometheus"]
if len(proms) != 1:
    problems.append(f"{ds_file}: expected exactly one prometheus datasource, found {len(proms)}")
else:
    p = proms[0]
    for key, want in (("uid", "prometheus"), ("url", "http://prometheus:9090"), ("isDefault", True),
                      ("access", "proxy")):
        if p.get(key) != want:
            problems.append(f"{ds_file}: {key} is {p.get(key)!r}, expected {want!r}")
    if not p.get("name"):
        problems.append(f"{ds_file}: datasource without a name")
    # The dashboard's datasource variable defaults to this datasource.
    with open(dash_file) as f:
        dash = json.load(f)
    var = next((v for v in dash["templating"]["list"] if v.get("name") == "datasource"), {})
    default = (var.get("current") or {}).get("value")
    if default not in (p.get("uid"), p.get("name")):
        problems.append(f"{dash_file}: datasource variable defaults to {default!r}, which is not "
                        f"the provisioned datasource {p.get('uid')!r}")
if sum(1 for d in sources if isinstance(d, dict) and d.get("isDefault")) > 1:
    problems.append(f"{ds_file}: more than one default datasource")

prov = load(prov_file)
providers = prov.get("providers") or []
if len(providers) != 1 or not isinstance(providers[0], dict):
    problems.append(f"{prov_file}: expected exactly one dashboard provider")
else:
    p = providers[0]
    if p.get("type") != "file":
        problems.append(f"{prov_file}: provider type must be file")
    if not p.get("name"):
        problems.append(f"{prov_file}: provider without a name")
    path = (p.get("options") or {}).get("path")
    if path != "/var/lib/grafana/dashboards":
        problems.append(f"{prov_file}: options.path is {path!r}, expected /var/lib/grafana/dashboards")

for problem in problems:
    print(problem, file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
    echo "ok: provisioning files (parsed with PyYAML)"
  else
    fail "provisioning files"
  fi
else
  # No PyYAML: no tabs, and the keys that matter are there with the expected values.
  ok=1
  for f in "$datasources" "$providers"; do
    if grep -q $'\t' "$f"; then
      echo "$f: contains a tab (not valid YAML indentation)" >&2
      ok=0
    fi
    grep -Eq '^apiVersion:[[:space:]]*1[[:space:]]*$' "$f" || { echo "$f: no 'apiVersion: 1'" >&2; ok=0; }
  done
  for pattern in '^datasources:' '^[[:space:]]+type:[[:space:]]*prometheus[[:space:]]*$' \
    '^[[:space:]]+uid:[[:space:]]*prometheus[[:space:]]*$' \
    '^[[:space:]]+url:[[:space:]]*http://prometheus:9090[[:space:]]*$' \
    '^[[:space:]]+isDefault:[[:space:]]*true[[:space:]]*$'; do
    grep -Eq "$pattern" "$datasources" || { echo "$datasources: no line matching $pattern" >&2; ok=0; }
  done
  for pattern in '^providers:' '^[[:space:]]+type:[[:space:]]*file[[:space:]]*$' \
    '^[[:space:]]+path:[[:space:]]*/var/lib/grafana/dashboards[[:space:]]*$'; do
    grep -Eq "$pattern" "$providers" || { echo "$providers: no line matching $pattern" >&2; ok=0; }
  done
  if ((ok)); then
    echo "ok: provisioning files (line-based check; PyYAML is not installed)"
  else
    fail "provisioning files"
  fi
fi

if ((failed)); then
  exit 1
fi
echo "check_grafana: all checks passed"
