#!/usr/bin/env python3
"""Check the shipped Grafana dashboard and list its PromQL queries.

Usage:
  dashboard_queries.py [--dashboard FILE] [--job JOB] [--var NAME=VALUE]...          print
  dashboard_queries.py [--dashboard FILE] [--job JOB] [--var NAME=VALUE]... --check  validate

Without --check, every PromQL expression of the dashboard (panel targets, and the series
selectors or expressions behind the query variables) is printed as one JSON object per line,
{"panel": TITLE, "refId": REF, "expr": EXPR}, with the template variables replaced so that it
can be evaluated against a real Prometheus: $job by JOB (default "esim_exporter"); $instance,
$account, $fleet, $site (the filters, whose "All" is ".*") and $esim (the eSIM of the drill-down)
by ".*", so that every query covers every eSIM; $top by the default of that variable;
$__rate_interval by 5m, $__range by 1h, $__interval by 1m. --var NAME=VALUE overrides one, e.g.
--var esim=8948010010036785060 to evaluate the drill-down for one eSIM. The structure is
validated first in both modes; a problem is printed on stderr and the exit status is 1.

What the validation enforces (see deploy/grafana/README.md for why):
  - provisionable as it is: uid "esim-fleet", no __inputs, id null, every panel and variable on
    the ${datasource} variable;
  - raw metrics of the contract only (no recording rules: the dashboard works without them);
  - every exporter series narrowed to $job; per-eSIM series either to the fleet filters
    ($instance, $account, $fleet, $site) or, in the drill-down, to the one eSIM ($esim);
    per-account series (API, budget, balance, sweeps) to $instance and $account, and a query of
    per-account series alone that aggregates keeps `account` (by (account, ...)), so that each
    API key shows apart;
  - the filter variables are multi-value with All = ".*", which also matches series without the
    label (the unnamed account, eSIMs without a fleet or site); $account takes its values from
    esim_monitored_esims (every account, also one without eSIMs), fleet and site from esim_info;
  - $esim takes ICCIDs as values (checked on sample series in the form Grafana gives to the
    variable's regex) and shows names, and every eSIM list (table) outside the drill-down links
    each row to /d/<uid>/...?var-esim=<its ICCID>.

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
UID = "esim-fleet"
DATASOURCE_REF = "${datasource}"

# Series that carry the identity labels iccid and name (and the eSIM's config labels).
PER_ESIM_METRICS = {
    "esim_data_used_bytes", "esim_data_total_bytes", "esim_unlimited", "esim_status",
    "esim_active", "esim_activation_timestamp_seconds", "esim_expiry_timestamp_seconds",
    "esim_last_usage_timestamp_seconds", "esim_last_usage_age_seconds", "esim_info",
    "esim_network_info", "esim_device_info", "esim_poll_success",
    "esim_last_poll_success_timestamp_seconds", "esim_package_info", "esim_alert_threshold",
    "esim_last_event_timestamp_seconds",
}
# Series of one API account (they carry `account` when the exporter watches several).
PER_ACCOUNT_METRICS = {
    "esim_up", "esim_api_requests_total", "esim_api_request_duration_seconds_bucket",
    "esim_api_request_duration_seconds_sum", "esim_api_request_duration_seconds_count",
    "esim_poll_interval_seconds", "esim_poll_interval_configured_seconds",
    "esim_api_rate_limit_limit", "esim_api_rate_limit_remaining",
    "esim_api_rate_limit_reset_timestamp_seconds", "esim_api_paused_until_timestamp_seconds",
    "esim_api_credentials_refused", "esim_api_clock_skew_seconds", "esim_account_esims",
    "esim_account_balance", "esim_inventory_last_success_timestamp_seconds",
    "esim_inventory_skipped_entries_total", "esim_discovery_limit",
    "esim_discovery_over_limit_esims", "esim_webhook_deliveries_total",
    "esim_webhook_last_applied_timestamp_seconds", "esim_webhook_subscription_read_success",
    "esim_webhook_subscription_read_timestamp_seconds", "esim_webhook_subscription_points_here",
    "esim_webhook_subscribed", "esim_webhook_recent_deliveries",
    "esim_webhook_recent_failed_delivery_timestamp_seconds", "esim_monitored_esims",
}
# The exporter's other series, and what Prometheus adds. A dashboard query naming anything else
# is a typo or a recording rule.
OTHER_METRICS = {
    "esim_config_last_reload_successful",
    "esim_config_last_reload_success_timestamp_seconds", "esim_exporter_build_info",
    "esim_alert_threshold_default", "up",
}
CONTRACT_METRICS = PER_ESIM_METRICS | PER_ACCOUNT_METRICS | OTHER_METRICS
PROCESS_METRIC = re.compile(r"process_[a-z_]+")

JOB_FILTER = 'job=~"$job"'
INSTANCE_FILTER = 'instance=~"$instance"'
ACCOUNT_FILTER = 'account=~"$account"'
FLEET_FILTERS = (INSTANCE_FILTER, ACCOUNT_FILTER, 'fleet=~"$fleet"', 'site=~"$site"')
ESIM_FILTER = 'iccid=~"$esim"'

# Variables that narrow the fleet: multi-value, All = ".*" (matches an absent label too).
FILTER_VARIABLES = ("instance", "account", "fleet", "site")
# Config labels offered as filters: their values come from esim_info.
LABEL_FILTER_VARIABLES = ("fleet", "site")
# The account filter lists every account, also one with no eSIM yet (discovery before its first
# sweep, a refused key): from esim_monitored_esims, which every account exports.
ACCOUNT_VALUES_METRIC = "esim_monitored_esims"
AGGREGATION = re.compile(r"\b(sum|min|max|avg|count|quantile|stddev|stdvar|group)\s*"
                         r"(?:(by|without)\s*\(([^()]*)\)\s*)?\(")

SUBSTITUTIONS = {
    "__rate_interval": "5m",
    "__range": "1h",
    "__interval": "1m",
    "instance": ".*",
    "account": ".*",
    "fleet": ".*",
    "site": ".*",
    "esim": ".*",
}

PANEL_TYPES_WITHOUT_QUERIES = {"row", "text", "news", "dashlist"}
LABEL_VALUES = re.compile(r"^\s*label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$", re.S)
QUERY_RESULT = re.compile(r"^\s*query_result\((.+)\)\s*$", re.S)
VAR_REF = re.compile(r"\$\{([A-Za-z0-9_]+)(?::[A-Za-z]+)?\}|\[\[([A-Za-z0-9_]+)\]\]|\$([A-Za-z0-9_]+)")
# References in titles and links, where Grafana also knows ${__data.fields.x}, ${__url_time_range}...
ANY_VAR_REF = re.compile(r"\$\{([A-Za-z0-9_.]+)(?::[A-Za-z]+)?\}|\[\[([A-Za-z0-9_.]+)\]\]|\$([A-Za-z0-9_]+)")
IDENT = re.compile(r"(?<![A-Za-z0-9_:\"'.])([A-Za-z_:][A-Za-z0-9_:]*)")
PROMQL_WORDS = {
    # aggregations, keywords and functions used or likely to be used; anything followed by "("
    # is skipped anyway, these matter where a keyword stands alone.
    "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or",
    "unless", "offset", "sum", "min", "max", "avg", "count", "topk", "bottomk", "quantile",
    "stddev", "stdvar", "count_values", "group", "inf", "nan", "atan2",
}

# How Grafana hands query_result() rows to a variable's regex (getOriginalMetricName: labels in
# Prometheus' order, comma-separated, then the value and the time in ms), and what $esim must
# make of them: (series text, expected value, expected text).
ESIM_VARIABLE_SAMPLES = [
    ('esim_info{esim_id="1001",fleet="routers",iccid="8948010010036785060",instance="h:9436",'
     'job="esim_exporter",name="router-sydney-01",profile="Enabled",site="syd"} 1 1700000000000',
     "8948010010036785060", "router-sydney-01"),
    # no name configured: the ICCID is the text too
    ('esim_info{esim_id="",iccid="8948010010036785078",instance="h:9436",job="esim_exporter",'
     'profile=""} 1 1700000000000', "8948010010036785078", "8948010010036785078"),
    # labels that end in "name", and an account
    ('esim_info{account="acme",hostname="x",iccid="8910300001234567896",job="e",'
     'name="tracker 7",package_name="y",team="ops"} 1 1700000000000',
     "8910300001234567896", "tracker 7"),
]


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
    """(panel, in the drill-down) for every panel: the drill-down is the row whose title names
    $esim, down to the next row (or that row's own panels when it is collapsed)."""
    in_drill_down = False
    for p in panels:
        if p.get("type") == "row":
            in_drill_down = bool(re.search(r"\$\{?esim\b", p.get("title") or ""))
        yield p, in_drill_down
        for child in p.get("panels") or []:
            yield child, in_drill_down


def is_datasource_var(ds):
    """True for a panel/target/variable datasource that is the ${datasource} variable."""
    if isinstance(ds, dict):
        return ds.get("uid") == DATASOURCE_REF and ds.get("type", "prometheus") == "prometheus"
    return ds == DATASOURCE_REF


def strip_strings_and_braces(expr):
    """Expression with label matchers ({...}), strings, durations ([...]) and $variables removed."""
    out = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    out = re.sub(r"\{[^}]*\}", " ", out)
    out = re.sub(r"\[[^\]]*\]", " ", out)
    out = VAR_REF.sub(" 1 ", out)
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


def check_names(where, expr, problems):
    """The metric names of expr, after checking they are raw metrics of the contract."""
    if not expr.strip():
        problems.append(f"{where}: empty expression")
        return set()
    names = set(metric_names(expr))
    for name in sorted(names):
        if ":" in name:
            problems.append(f"{where}: uses {name}, a recording rule; the dashboard must work "
                            f"on the raw metrics alone")
        elif name not in CONTRACT_METRICS and not PROCESS_METRIC.fullmatch(name):
            problems.append(f"{where}: {name} is not a metric of the contract")
    return names


def check_expr(where, expr, problems, drill_down):
    """A panel query: raw metrics, each selector narrowed as the module docstring says. The
    drill-down is about the one eSIM in $esim, whatever the fleet filters say."""
    names = check_names(where, expr, problems)
    if not drill_down and re.search(r"\$\{?esim\b", expr):
        problems.append(f"{where}: $esim belongs to the drill-down row only")
    for metric in sorted(names):
        if metric not in CONTRACT_METRICS and not PROCESS_METRIC.fullmatch(metric):
            continue
        for sel in selectors(expr, metric):
            need = [JOB_FILTER]
            if metric in PER_ESIM_METRICS:
                need += [ESIM_FILTER] if drill_down else list(FLEET_FILTERS)
            elif not drill_down:
                need += [INSTANCE_FILTER]
                if metric in PER_ACCOUNT_METRICS:
                    need += [ACCOUNT_FILTER]
            missing = [f for f in need if f not in sel]
            if missing:
                problems.append(f"{where}: {metric}{sel} lacks {', '.join(missing)}")
    # Per-account series alone (no per-eSIM ones): every aggregation keeps the account apart.
    if not drill_down and names and names <= PER_ACCOUNT_METRICS:
        for m in AGGREGATION.finditer(strip_strings_and_braces(expr)):
            how, labels = m.group(2), [x.strip() for x in (m.group(3) or "").split(",")]
            if (how == "by" and "account" not in labels) or (how == "without" and "account" in labels) \
                    or not how:
                problems.append(f"{where}: {m.group(0).strip()} merges the accounts; aggregate "
                                f"by (account, ...)")


def variable_query(v):
    q = v.get("query")
    if isinstance(q, dict):
        q = q.get("query", "")
    return q or ""


def js_regex(text):
    """A Python regex for a Grafana variable regex written as /pattern/flags (or bare)."""
    m = re.fullmatch(r"/(.*)/([gimsuy]*)", text, re.S)
    pattern, flags = (m.group(1), m.group(2)) if m else (text, "")
    pattern = re.sub(r"\(\?<(?![=!])", "(?P<", pattern)
    return re.compile(pattern, re.I if "i" in flags else 0)


def grafana_regex_option(regex, series):
    """(value, text) Grafana makes of one query_result row, None when the row is dropped
    (metricNamesToVariableValues: named groups value/text, each falling back to the other)."""
    m = regex.search(series)
    if not m:
        return None
    groups = m.groupdict()
    if groups.get("value") or groups.get("text"):
        value = groups.get("value") or groups.get("text")
        text = groups.get("text") or groups.get("value")
        return value, text
    first = m.group(1) if m.groups() else m.group(0)
    return first, first


def check_variables(dash, problems):
    variables = (dash.get("templating") or {}).get("list")
    if not isinstance(variables, list):
        problems.append("templating.list is missing")
        return {}
    by_name = {}
    for v in variables:
        if v.get("name") in by_name:
            problems.append(f"variable {v.get('name')} defined twice")
        by_name[v.get("name")] = v
    ds = by_name.get("datasource")
    if not ds:
        problems.append("no template variable named datasource")
    elif ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append("variable datasource must be of type datasource with query prometheus")
    for v in variables:
        if v is ds or v.get("type") in ("custom", "constant", "textbox", "interval"):
            continue
        if not is_datasource_var(v.get("datasource")):
            problems.append(f"variable {v.get('name')}: datasource is not ${{datasource}}")
        if v.get("skipUrlSync"):
            problems.append(f"variable {v.get('name')}: skipUrlSync would break links to it")
    for v in variables:
        if v.get("type") != "query":
            continue
        q = variable_query(v)
        if not LABEL_VALUES.match(q) and not QUERY_RESULT.match(q):
            problems.append(f"variable {v.get('name')}: query is neither label_values(SELECTOR, "
                            f"LABEL) nor query_result(EXPR)")

    job = by_name.get("job")
    m = LABEL_VALUES.match(variable_query(job)) if job else None
    if not job or job.get("type") != "query" or not m or m.group(2) != "job":
        problems.append("variable job must be label_values(<exporter series>, job)")

    for name in FILTER_VARIABLES:
        v = by_name.get(name)
        if not v:
            problems.append(f"no template variable named {name}")
            continue
        if v.get("type") != "query" or not v.get("multi") or not v.get("includeAll"):
            problems.append(f"variable {name} must be a multi-value query variable with All")
        if v.get("allValue") != ".*":
            problems.append(f'variable {name}: allValue must be ".*" so that All also matches '
                            f"series without the label")
        m = LABEL_VALUES.match(variable_query(v))
        if not m or m.group(2) != name:
            problems.append(f"variable {name} must be label_values(..., {name})")
        elif name in LABEL_FILTER_VARIABLES and not re.match(r"esim_info\b", m.group(1)):
            problems.append(f"variable {name}: values must come from esim_info, which carries "
                            f"every eSIM's config labels")
        elif name == "account" and not re.match(re.escape(ACCOUNT_VALUES_METRIC) + r"\b", m.group(1)):
            problems.append(f"variable account: values must come from {ACCOUNT_VALUES_METRIC}, "
                            f"which every account exports (also one without eSIMs)")

    top = by_name.get("top")
    if not top:
        problems.append("no template variable named top (rows per list)")
    else:
        values = [o.get("value") for o in top.get("options") or []]
        current = (top.get("current") or {}).get("value")
        if (top.get("type") != "custom" or top.get("multi") or top.get("includeAll") or not values
                or not all(isinstance(x, str) and x.isdigit() and int(x) > 0 for x in values)
                or current not in values):
            problems.append("variable top must be a single-value custom variable of positive "
                            "whole numbers, its default among them")

    esim = by_name.get("esim")
    if not esim:
        problems.append("no template variable named esim (the drill-down's eSIM)")
    else:
        if esim.get("type") != "query" or esim.get("multi") or esim.get("includeAll"):
            problems.append("variable esim must be a single-value query variable without All")
        m = QUERY_RESULT.match(variable_query(esim))
        if not m or not re.match(r"\s*esim_info\{", m.group(1)):
            problems.append("variable esim must be query_result(esim_info{...}) (one row per eSIM)")
        else:
            sel = m.group(1)
            missing = [f for f in (JOB_FILTER,) + FLEET_FILTERS if f not in sel]
            if missing:
                problems.append(f"variable esim: esim_info lacks {', '.join(missing)}")
        try:
            regex = js_regex(esim.get("regex") or "")
        except re.error as e:
            problems.append(f"variable esim: regex does not compile: {e}")
        else:
            for series, want_value, want_text in ESIM_VARIABLE_SAMPLES:
                got = grafana_regex_option(regex, series)
                if got != (want_value, want_text):
                    problems.append(f"variable esim: regex makes {got!r} of {series!r}, expected "
                                    f"value {want_value!r} and text {want_text!r}")
    return by_name


def defaults_from(variables):
    """Substitutions taken from variables' defaults (custom variables, e.g. $top)."""
    out = {}
    for name, v in variables.items():
        if v.get("type") == "custom":
            current = (v.get("current") or {}).get("value")
            if isinstance(current, str):
                out[name] = current
    return out


def check_references(where, text, variables, problems):
    """Every $variable in a title or link names a dashboard variable or a Grafana built-in."""
    for m in ANY_VAR_REF.finditer(text or ""):
        var = m.group(1) or m.group(2) or m.group(3)
        if var.startswith("__"):
            continue
        if var not in variables:
            problems.append(f"{where}: unknown template variable ${var} in {text!r}")


def panel_links(p):
    links = list(p.get("links") or [])
    fc = p.get("fieldConfig") or {}
    links += (fc.get("defaults") or {}).get("links") or []
    for o in fc.get("overrides") or []:
        for prop in o.get("properties") or []:
            if prop.get("id") == "links":
                links += prop.get("value") or []
    return links


def check_links(where, p, variables, uid, problems):
    """(links that open the drill-down of the row's eSIM)"""
    drill = []
    for link in panel_links(p):
        url = link.get("url", "")
        check_references(f"{where} link", url, variables, problems)
        check_references(f"{where} link", link.get("title", ""), variables, problems)
        m = re.match(r"^/d/([^/?]+)", url)
        if "/d/" in url and (not m or m.group(1) != uid):
            problems.append(f"{where}: link {url!r} does not open this dashboard (/d/{uid}/...)")
        if m and "var-esim=${__data.fields.iccid}" in url:
            drill.append(link)
    return drill


def collect(dash, substitutions):
    """(problems, [(panel title, refId, raw expr, substituted expr)])"""
    problems = []
    queries = []
    if "__inputs" in dash:
        problems.append("the dashboard has __inputs: it must be provisionable as it is")
    if dash.get("uid") != UID:
        problems.append(f'uid is {dash.get("uid")!r}, expected "{UID}"')
    if dash.get("title") != "eSIM fleet":
        problems.append(f'title is {dash.get("title")!r}, expected "eSIM fleet"')
    if not isinstance(dash.get("schemaVersion"), int) or not 37 <= dash["schemaVersion"] <= 39:
        problems.append(f"schemaVersion {dash.get('schemaVersion')!r} is not in 37..39")
    if dash.get("id") is not None:
        problems.append("id must be null in a provisioned dashboard")

    variables = check_variables(dash, problems)
    substitutions = dict(defaults_from(variables), **substitutions)
    for name, v in variables.items():
        if v.get("type") != "query":
            continue
        q = variable_query(v)
        m = LABEL_VALUES.match(q) or QUERY_RESULT.match(q)
        if m:
            where = f"variable {name}"
            raw = m.group(1)
            check_names(where, raw, problems)
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
    drill_down_rows = 0
    for p, in_drill_down in walk_panels(panels):
        if p.get("type") == "row" and in_drill_down:
            drill_down_rows += 1
        title = p.get("title") or f"<untitled {p.get('type')}>"
        where = f"panel {title!r}"
        check_references(where, title, variables, problems)
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
        drill_links = check_links(where, p, variables, dash.get("uid"), problems)
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
            check_expr(f"{where} {ref}", raw, problems, in_drill_down)
            try:
                queries.append((title, ref, raw, substitute(raw, substitutions)))
            except CheckError as e:
                problems.append(f"{where} {ref}: {e}")
        # A table outside the drill-down lists eSIMs: each row opens that eSIM's drill-down.
        if p.get("type") == "table" and not in_drill_down and not drill_links:
            problems.append(f"{where}: an eSIM list without a data link to "
                            f"/d/{dash.get('uid')}/...?var-esim=${{__data.fields.iccid}}")
    if drill_down_rows != 1:
        problems.append(f"expected one drill-down row (a row whose title names $esim), found "
                        f"{drill_down_rows}")
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


def parse_var(text):
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise argparse.ArgumentTypeError(f"expected NAME=VALUE, got {text!r}")
    return name, value


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dashboard", default=DEFAULT_DASHBOARD)
    ap.add_argument("--job", default="esim_exporter",
                    help="value for $job (the exporter's scrape job)")
    ap.add_argument("--var", action="append", default=[], type=parse_var, metavar="NAME=VALUE",
                    help="value for one more template variable, e.g. esim=<ICCID>")
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

    substitutions = dict(SUBSTITUTIONS, job=args.job, **dict(args.var))
    problems, queries = collect(dash, substitutions)
    defined = {v.get("name") for v in (dash.get("templating") or {}).get("list") or []}
    problems += [f"--var {name}: the dashboard has no such variable"
                 for name, _ in args.var if name not in defined and not name.startswith("__")]
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
