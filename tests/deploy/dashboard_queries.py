#!/usr/bin/env python3
"""Check the shipped Grafana dashboard and list its PromQL queries.

Usage:
  dashboard_queries.py [--dashboard FILE] [--job JOB]          print the queries
  dashboard_queries.py [--dashboard FILE] [--job JOB] --check  only validate

Without --check, every PromQL expression of the dashboard (panel targets, and the series
selectors behind the query variables) is printed as one JSON object per line,
{"panel": TITLE, "refId": REF, "expr": EXPR}, with the template variables replaced so that it
can be evaluated against a real Prometheus: $name and $iccid by ".*", $job by JOB (default
"esim_exporter"), $__rate_interval by 5m, $__range by 1h, $__interval by 1m. The structure is
validated first in both modes; a problem is printed on stderr and the exit status is 1.

--check also validates every substituted expression with `promtool check rules` (each one as a
recording rule in a scratch rules file) when promtool is on PATH. --no-promtool skips that.

Standard library only.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

DEFAULT_DASHBOARD = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                                 "grafana", "dashboards", "esim-fleet.json")

DATASOURCE_REF = "${datasource}"

# Metrics of the contract (shared/design/contract.md, section "Metrics"), plus what Prometheus
# itself adds. A dashboard query naming anything else is a typo or a recording rule.
CONTRACT_METRICS = {
    "esim_data_used_bytes", "esim_data_total_bytes", "esim_unlimited", "esim_status",
    "esim_active", "esim_activation_timestamp_seconds", "esim_expiry_timestamp_seconds",
    "esim_last_usage_timestamp_seconds", "esim_last_usage_age_seconds", "esim_info",
    "esim_network_info", "esim_device_info", "esim_poll_success",
    "esim_last_poll_success_timestamp_seconds", "esim_up", "esim_api_requests_total",
    "esim_api_request_duration_seconds_bucket", "esim_api_request_duration_seconds_sum",
    "esim_api_request_duration_seconds_count", "esim_poll_interval_seconds",
    "esim_api_rate_limit_limit", "esim_api_rate_limit_remaining",
    "esim_api_rate_limit_reset_timestamp_seconds", "esim_monitored_esims",
    "esim_config_last_reload_successful", "esim_config_last_reload_success_timestamp_seconds",
    "esim_exporter_build_info", "esim_package_info", "esim_account_esims", "esim_account_balance",
    "esim_inventory_last_success_timestamp_seconds",
    "up",
}
PROCESS_METRIC = re.compile(r"process_[a-z_]+")

# Series that carry the labels iccid and name: every selector of these must honour the
# dashboard's name and ICCID variables.
PER_ESIM_METRICS = {
    "esim_data_used_bytes", "esim_data_total_bytes", "esim_unlimited", "esim_status",
    "esim_active", "esim_activation_timestamp_seconds", "esim_expiry_timestamp_seconds",
    "esim_last_usage_timestamp_seconds", "esim_last_usage_age_seconds", "esim_info",
    "esim_network_info", "esim_device_info", "esim_poll_success",
    "esim_last_poll_success_timestamp_seconds", "esim_package_info",
}

# Metric names whose series come from any scrape target, so they must be narrowed to the
# exporter's job.
JOB_SCOPED_METRICS = {"up"}

SUBSTITUTIONS = {
    "__rate_interval": "5m",
    "__range": "1h",
    "__interval": "1m",
    "name": ".*",
    "iccid": ".*",
}

PANEL_TYPES_WITHOUT_QUERIES = {"row", "text", "news", "dashlist"}
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)
VAR_REF = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z0-9_]+)")
IDENT = re.compile(r"(?<![A-Za-z0-9_:\"'.])([A-Za-z_:][A-Za-z0-9_:]*)")
PROMQL_WORDS = {
    # aggregations, keywords and functions used or likely to be used; anything followed by "("
    # is skipped anyway, these matter where a keyword stands alone.
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile",
    "stddev", "stdvar", "count_values", "group", "inf", "nan", "atan2",
}


class CheckError(Exception):
    pass


def substitute(expr, substitutions):
    def repl(m):
        var = m.group(1) or m.group(2) or m.group(3)
        if var not in substitutions:
            raise CheckError(f"unknown template variable ${var} in {expr!r}")
        return substitutions[var]
    return VAR_REF.sub(repl, expr)


def walk_panels(panels):
    for p in panels:
        yield p
        yield from walk_panels(p.get("panels") or [])


def is_datasource_var(ds):
    """True for a panel/target/variable datasource that is the ${datasource} variable."""
    if isinstance(ds, dict):
        return ds.get("uid") == DATASOURCE_REF and ds.get("type", "prometheus") == "prometheus"
    return ds == DATASOURCE_REF


def strip_strings_and_braces(expr):
    """Expression with label matchers ({...}), strings and durations ([...]) removed."""
    out = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    out = re.sub(r"\{[^}]*\}", " ", out)
    out = re.sub(r"\[[^\]]*\]", " ", out)
    return out


def metric_names(expr):
    """Bare metric names in a PromQL expression (best effort, enough for our dashboard)."""
    stripped = strip_strings_and_braces(expr)
    names = []
    for m in IDENT.finditer(stripped):
        word = m.group(1)
        rest = stripped[m.end():].lstrip()
        if rest.startswith("("):  # function or aggregation call
            continue
        if word.lower() in PROMQL_WORDS:
            continue
        before = stripped[:m.start()].rstrip()
        # label lists: by (a, b), on (a), group_left (a)...
        if re.search(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^()]*$", before):
            continue
        names.append(word)
    return names


def selectors(expr, metric):
    """The label-matcher text of each occurrence of metric in expr ('' when it has none)."""
    found = []
    for m in re.finditer(r"(?<![A-Za-z0-9_:])" + re.escape(metric) + r"(?![A-Za-z0-9_:])\s*(\{[^}]*\})?",
                         expr):
        found.append(m.group(1) or "")
    return found


def check_expr(where, expr, problems):
    if not expr.strip():
        problems.append(f"{where}: empty expression")
        return
    for name in metric_names(expr):
        if ":" in name:
            problems.append(f"{where}: uses {name}, a recording rule; the dashboard must work "
                            f"on the raw metrics alone")
        elif name not in CONTRACT_METRICS and not PROCESS_METRIC.fullmatch(name):
            problems.append(f"{where}: {name} is not a metric of the contract")
    for metric in PER_ESIM_METRICS:
        for sel in selectors(expr, metric):
            if 'name=~"$name"' not in sel or 'iccid=~"$iccid"' not in sel:
                problems.append(f'{where}: {metric}{sel} lacks the filter '
                                f'{{name=~"$name", iccid=~"$iccid"}}')
    for metric in JOB_SCOPED_METRICS | {n for n in metric_names(expr) if PROCESS_METRIC.fullmatch(n)}:
        for sel in selectors(expr, metric):
            if "job" not in sel:
                problems.append(f"{where}: {metric}{sel} is not narrowed to the exporter's job")


def check_variables(dash, problems):
    variables = (dash.get("templating") or {}).get("list")
    if not isinstance(variables, list):
        problems.append("templating.list is missing")
        return {}
    by_name = {}
    for v in variables:
        by_name[v.get("name")] = v
    ds = by_name.get("datasource")
    if not ds:
        problems.append("no template variable named datasource")
    else:
        if ds.get("type") != "datasource" or ds.get("query") != "prometheus":
            problems.append("variable datasource must be of type datasource with query prometheus")
    for v in variables:
        if v is ds:
            continue
        if not is_datasource_var(v.get("datasource")):
            problems.append(f"variable {v.get('name')}: datasource is not ${{datasource}}")
    for name in ("name", "iccid"):
        v = by_name.get(name)
        if not v:
            problems.append(f"no template variable named {name}")
            continue
        if v.get("type") != "query" or not v.get("multi") or not v.get("includeAll"):
            problems.append(f"variable {name} must be a multi-value query variable with All")
        if v.get("allValue") != ".*":
            problems.append(f'variable {name}: allValue must be ".*" so that eSIMs without a '
                            f"name label match All")
    for v in variables:
        if v.get("type") == "query" and not LABEL_VALUES.match(variable_query(v)):
            problems.append(f"variable {v.get('name')}: query is not label_values(SELECTOR, LABEL)")
    return by_name


def variable_query(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or ""


def collect(dash, substitutions):
    """(problems, [(panel title, refId, raw expr, substituted expr)])"""
    problems = []
    queries = []
    if "__inputs" in dash:
        problems.append("the dashboard has __inputs: it must be provisionable as it is")
    if dash.get("uid") != "esim-fleet":
        problems.append(f'uid is {dash.get("uid")!r}, expected "esim-fleet"')
    if dash.get("title") != "eSIM fleet":
        problems.append(f'title is {dash.get("title")!r}, expected "eSIM fleet"')
    if not isinstance(dash.get("schemaVersion"), int) or not 37 <= dash["schemaVersion"] <= 39:
        problems.append(f"schemaVersion {dash.get('schemaVersion')!r} is not in 37..39")
    if dash.get("id") is not None:
        problems.append("id must be null in a provisioned dashboard")

    variables = check_variables(dash, problems)
    for name, v in variables.items():
        if v.get("type") != "query":
            continue
        m = LABEL_VALUES.match(variable_query(v))
        if m:
            where = f"variable {name}"
            raw = m.group(1)
            try:
                queries.append((where, "var", raw, substitute(raw, substitutions)))
            except CheckError as e:
                problems.append(f"{where}: {e}")

    panels = dash.get("panels")
    if not isinstance(panels, list) or not panels:
        problems.append("the dashboard has no panels")
        return problems, queries
    ids = {}
    titles = {}
    for p in walk_panels(panels):
        title = p.get("title") or f"<untitled {p.get('type')}>"
        where = f"panel {title!r}"
        pid = p.get("id")
        if not isinstance(pid, int):
            problems.append(f"{where}: id missing")
        elif pid in ids:
            problems.append(f"{where}: id {pid} also used by panel {ids[pid]!r}")
        else:
            ids[pid] = title
        gp = p.get("gridPos")
        if not isinstance(gp, dict) or not all(isinstance(gp.get(k), int) for k in "xywh"):
            problems.append(f"{where}: gridPos with integer x, y, w, h missing")
        elif gp["x"] < 0 or gp["w"] <= 0 or gp["x"] + gp["w"] > 24 or gp["h"] <= 0:
            problems.append(f"{where}: gridPos {gp} does not fit the 24-column grid")
        if p.get("type") in PANEL_TYPES_WITHOUT_QUERIES:
            if p.get("targets"):
                problems.append(f"{where}: a {p.get('type')} panel with queries")
            continue
        if title in titles:
            problems.append(f"{where}: title used twice")
        titles[title] = True
        if not is_datasource_var(p.get("datasource")):
            problems.append(f"{where}: datasource is {p.get('datasource')!r}, not ${{datasource}}")
        targets = p.get("targets") or []
        if not targets:
            problems.append(f"{where}: no queries")
        refs = set()
        for t in targets:
            ref = t.get("refId")
            if not ref or ref in refs:
                problems.append(f"{where}: missing or duplicate refId {ref!r}")
            refs.add(ref)
            if "datasource" in t and not is_datasource_var(t["datasource"]):
                problems.append(f"{where} {ref}: query datasource is not ${{datasource}}")
            raw = t.get("expr", "")
            check_expr(f"{where} {ref}", raw, problems)
            try:
                queries.append((title, ref, raw, substitute(raw, substitutions)))
            except CheckError as e:
                problems.append(f"{where} {ref}: {e}")
    return problems, queries


def promtool_check(queries):
    """Problems found by `promtool check rules` in the substituted expressions."""
    promtool = shutil.which("promtool")
    if not promtool:
        return []
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        # One file per expression: promtool names the file but not the rule that fails.
        for i, (title, ref, _raw, expr) in enumerate(queries):
            path = os.path.join(tmp, f"q{i}.rules.json")
            rules = {"groups": [{"name": "dashboard",
                                 "rules": [{"record": f"dashboard:query_{i}", "expr": expr}]}]}
            with open(path, "w") as f:
                json.dump(rules, f)  # JSON is YAML
            res = subprocess.run([promtool, "check", "rules", path], capture_output=True, text=True)
            if res.returncode != 0:
                msg = " ".join((res.stderr + res.stdout).split())
                m = re.search(r"could not parse expression: (.*?)(?: Checking |$)", msg)
                msg = m.group(1) if m else msg.replace(path, "<rules file>")
                problems.append(f"{title} {ref}: promtool rejects {expr!r}: {msg}")
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dashboard", default=DEFAULT_DASHBOARD)
    ap.add_argument("--job", default="esim_exporter",
                    help="value for $job (the exporter's scrape job)")
    ap.add_argument("--check", action="store_true", help="only validate")
    ap.add_argument("--no-promtool", action="store_true", help="skip the promtool validation")
    args = ap.parse_args()

    try:
        with open(args.dashboard) as f:
            dash = json.load(f)
    except (OSError, ValueError) as e:
        print(f"{args.dashboard}: {e}", file=sys.stderr)
        return 1
    if not isinstance(dash, dict):
        print(f"{args.dashboard}: not a JSON object", file=sys.stderr)
        return 1

    substitutions = dict(SUBSTITUTIONS, job=args.job)
    problems, queries = collect(dash, substitutions)
    if args.check and not args.no_promtool and not problems:
        problems += promtool_check(queries)
    if problems:
        for p in problems:
            print(f"{args.dashboard}: {p}", file=sys.stderr)
        return 1
    if args.check:
        if args.no_promtool:
            how = "promtool skipped (--no-promtool)"
        elif shutil.which("promtool"):
            how = "promtool-validated"
        else:
            how = "not promtool-validated (no promtool on PATH)"
        print(f"{os.path.basename(args.dashboard)}: OK, {len(queries)} queries, {how}")
        return 0
    for title, ref, _raw, expr in queries:
        print(json.dumps({"panel": title, "refId": ref, "expr": expr}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
