#!/usr/bin/env python3
"""End-to-end test: fake eSIMfly API -> esim_exporter -> Prometheus (shipped rules) -> Alertmanager.

Starts, all on 127.0.0.1 and on free ports, with their files in a temporary directory:
  - the fake eSIMfly API (its default fleet, rate-limit headers on),
  - esim_exporter with config/demo.yml pointed at that fake API (plus the retired eSIMs below),
  - a tiny webhook receiver (in this process) standing in for the receivers of
    deploy/prometheus/alertmanager.yml,
  - the real prometheus-alertmanager with deploy/prometheus/alertmanager.yml (webhook URLs
    rewritten to that receiver, nothing else changed),
  - the real prometheus scraping the exporter every second with
    deploy/prometheus/rules/esim_exporter.rules.yml loaded as it is,
  - a second exporter (job esim_exporter_accounts) with the two accounts of
    config/demo-accounts.yml: acme is the fake API's default account (the same fleet), globex a
    second fake-API account whose key the fake refuses (--account-fault=globex:revoked).
Then it checks that
  1. the exporter becomes ready and Prometheus scrapes it (up == 1);
  2. the shipped alerts are pending (or firing) for exactly the eSIMs of the fake fleet they are
     about (depleted, expired, 85 %/3 days...), for no healthy eSIM, never a usage alert for
     the unlimited plan and nothing at all, not even pending, for the retired eSIMs (CANCELLED,
     DELETED, expired 60 days ago), which the test adds to the demo config; every alert about an
     eSIM carries the eSIM's config labels;
  3. alerts reach Alertmanager (its /api/v2/alerts) and are delivered, through the shipped
     routing (by a config label: the depleted eSIM gets `customer: acme`; else by severity), to
     the receiver's webhook;
  4. every query of the shipped Grafana dashboard evaluates without error against this
     Prometheus and returns data (except a short, explicit allowlist);
  5. two accounts: esim_up{account="acme"} == 1 and {account="globex"} == 0; every per-eSIM
     series of that exporter carries its eSIM's account; EsimApiCredentialsRefused is active
     for globex only (and never EsimApiDown for it), a `for: 5s` copy of it fires and the shipped
     routing delivers it to account-globex and pager; no alert of globex is about its eSIMs; the
     dashboard's queries with $account=acme return acme's series only.
The checks 1-4 look at job="esim_exporter" only, so that their expectations stay exact.
Every wait polls with a timeout; every process started is stopped at the end, and its log is
printed when something failed. The last line is "N passed, M failed".

Usage: run_e2e.py --build-dir BUILD_DIR --source-dir SOURCE_DIR [--timeout SECONDS]
                  [--exporter PATH] [--fake-api PATH] [--keep-tmp] [--verbose]
Standard library only. Needs /usr/bin/prometheus and prometheus-alertmanager (Debian:
apt-get install prometheus prometheus-alertmanager, or scripts/install-deps.sh --test).
"""

import argparse
import calendar
import http.server
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

# ------------------------------------------------------------------------------------------------
# What the fake API's default fleet (tests/fake_api/fleet.cc) must produce.
# ------------------------------------------------------------------------------------------------
SPEC_EXAMPLE = "8948010010036785060"  # ACTIVE, 0 of 1 GB, last used 10 days ago, expires in 20 d
UNLIMITED = "8944500102198304826"     # ACTIVE, unlimited, expires in 15 d
DEPLETED = "8934000012345678905"      # DEPLETED, 3 of 3 GB
EXPIRED = "8910300001234567896"       # EXPIRED 5 days ago, 1.2 of 5 GB
NEW = "8985230000000001236"           # NEW, never connected, 0 of 5 GB
BY_ID = "8946000000000123451"         # ACTIVE, 0.5 of 2 GB, expires in 5 days (!)
FORBIDDEN = "8949012340000007779"     # another account's eSIM: every poll fails
PROVIDER_ERROR = "8933000000000005029"  # carrier unreachable: every poll fails
ALERTING = "8910000000000000853"      # ACTIVE, 85 % used, expires in 3 days
HEALTHY_5G = "8982000000000000100"    # ACTIVE, 10 % used, expires in 60 days
WEBHOOK_ESIM = HEALTHY_5G  # gets the e2e's webhook delivery (stays ACTIVE)
WEBHOOK_PATH = "/webhook"
# Where the fake API's webhook subscription points: at this exporter (no subscription alert).
WEBHOOK_PUBLIC_URL = "https://esim-exporter.example.com" + WEBHOOK_PATH
UNKNOWN = "8948010010036785078"       # in demo.yml only: ESIM_NOT_FOUND
CANCELLED = "8939123456789012348"     # CANCELLED, never installed           (added by this test)
DELETED = "8944071234567890124"       # DELETED, expired 70 days ago          (added by this test)
RETIRED = "8981012345678123454"       # EXPIRED 60 days ago, unused since     (added by this test)
FAILING = {FORBIDDEN, PROVIDER_ERROR, UNKNOWN}
HEALTHY = {HEALTHY_5G, SPEC_EXAMPLE, BY_ID}
RETIRED_ESIMS = {CANCELLED: "cancelled-01", DELETED: "deleted-01", RETIRED: "expired-60d"}

# The exporter config is config/demo.yml plus the retired eSIMs above (labels fleet: retired)
# and, on the depleted eSIM, the label customer: acme, which the shipped Alertmanager config
# routes to its own receiver.
ROUTED_ESIM = DEPLETED
ROUTED_LABEL = ("customer", "acme")
ROUTED_RECEIVER = "customer-acme"
# Labels of esim_info that are not config labels (the rest of its labels are).
INFO_LABELS = {"__name__", "job", "instance", "iccid", "name", "esim_status", "smdp_status",
               "profile", "esim_id"}

USAGE_ALERTS = ("EsimDataUsageHigh", "EsimDataAlmostDepleted", "EsimDataDepletionPredicted",
                "EsimDepleted")

# Every per-eSIM alert of the shipped rules that must be pending or firing, and for which eSIMs;
# an alert name missing here must not be active for any eSIM (apart from OPTIONAL below).
EXPECTED_ALERTS = {
    # Depleted 5 hours ago (its last usage, from a live poll; without one it would count as
    # retired).
    "EsimDepleted": {DEPLETED},
    "EsimExpired": {EXPIRED},
    # Usage >= 80 %: the 85 % eSIM, and the depleted one (100 %; Alertmanager's inhibit rules
    # mute it there in favour of EsimDepleted).
    "EsimDataUsageHigh": {ALERTING, DEPLETED},
    "EsimDataAlmostDepleted": {DEPLETED},
    # Expires within 7 days: the 3-day eSIM and the one looked up by id (5 days, by fleet.cc).
    "EsimExpiringSoon": {ALERTING, BY_ID},
    # Active, last usage 10 days ago (the spec's example record).
    "EsimActiveButUnused": {SPEC_EXAMPLE},
}
# Alerts that may or may not be active yet, depending on how long the run takes, but only for
# these eSIMs: live polls of the failing eSIMs fail from their first one, and they count as stale
# after three poll intervals.
OPTIONAL_ALERTS = {
    "EsimPollsFailing": FAILING,
    "EsimDataStale": FAILING,
}

# Dashboard panels (by title) that cannot return data against the fake API in a short run.
# Every other query must return data; a listed one must still evaluate without error, and the
# test fails when a listed one does return data (then it no longer belongs here).
NO_DATA_ALLOWED = {
    # deriv(...[6h]) > 0 needs usage that grows; the fake API's usage is constant.
    "Hours until depletion (6 h trend)": "needs growing usage; the fake API's usage is constant",
    # esim_api_clock_skew_seconds comes from the API's Date header, which the fake API omits.
    "API clock skew": "the fake API sends no Date header, so no esim_api_clock_skew_seconds",
}

# The shipped alerts copied with `for: 5s` to prove delivery (see add_delivery_rules), and the
# receiver the shipped routing must give each: EsimDepleted by the depleted eSIM's config label
# customer=acme, EsimExpired by its severity.
DELIVERY_ALERTS = {"EsimDepleted": DEPLETED, "EsimExpired": EXPIRED}
DELIVERY_RECEIVERS = {"EsimDepleted": ROUTED_RECEIVER, "EsimExpired": "pager"}
DELIVERY_LABEL = "e2e"  # label (value "delivery") that sets the copies apart

# The two-account exporter: config/demo-accounts.yml against the same fake API. acme is the fake
# API's default account (its default fleet, also the unnamed exporter's); globex a second account
# of 20 generated eSIMs whose every request the fake refuses (401 INVALID_API_KEY).
ACCOUNTS_JOB = "esim_exporter_accounts"
ACCOUNTS_FILES = ("demo-secret-key", "demo-globex-secret-key", "demo-webhook-secret")
ACME = "acme"
GLOBEX = "globex"
GLOBEX_FLEET_SIZE = 20
# acme's eSIMs in demo-accounts.yml: the default fleet's answered ones and the provider error (the
# eSIM looked up by id is BY_ID).
ACME_ESIMS = {SPEC_EXAMPLE, UNLIMITED, DEPLETED, EXPIRED, NEW, BY_ID, PROVIDER_ERROR, ALERTING,
              HEALTHY_5G}
# globex's configured eSIMs (its key is refused: discovery finds nothing more).
GLOBEX_ESIMS = {"8988303001000000000", "8988303001000000018", "8988303001000000034"}
REFUSED_ALERT = "EsimApiCredentialsRefused"
# The shipped routing of its `for: 5s` copy: account="globex" -> account-globex (continue), then
# severity critical -> pager.
REFUSED_RECEIVERS = {"account-globex", "pager"}

POLL = 0.25  # seconds between two polls of a condition


# ------------------------------------------------------------------------------------------------
# Small helpers
# ------------------------------------------------------------------------------------------------
class Fatal(Exception):
    """A failure after which the remaining checks cannot run."""


class Deadline:
    def __init__(self, seconds):
        self.end = time.monotonic() + seconds

    def remaining(self):
        return self.end - time.monotonic()

    def cap(self, seconds):
        return max(0.0, min(seconds, self.remaining()))


class Results:
    def __init__(self):
        self.passed = []
        self.failed = []

    def check(self, name, ok, detail=""):
        (self.passed if ok else self.failed).append(name)
        line = f"{'PASS' if ok else 'FAIL'}: {name}"
        if detail and (not ok or VERBOSE):
            line += "\n      " + detail.replace("\n", "\n      ")
        with PRINT_LOCK:
            print(line, flush=True)
        return ok


VERBOSE = False
T0 = time.monotonic()


PRINT_LOCK = threading.Lock()


def log(msg):
    with PRINT_LOCK:
        print(f"[{time.monotonic() - T0:6.1f}s] {msg}", flush=True)


def free_port():
    """A loopback port free right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=3.0):
    """(status, body bytes); status 0 when the connection failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, OSError):
        return 0, b""


def get_json(url, timeout=3.0):
    status, body = http_get(url, timeout)
    if status == 0:
        raise Fatal(f"GET {url}: connection failed")
    try:
        return json.loads(body)
    except ValueError:
        raise Fatal(f"GET {url}: HTTP {status}, not JSON: {body[:300]!r}")


def wait_for(what, predicate, deadline, timeout, procs=None):
    """Polls predicate() (a truthy result ends the wait) until timeout; returns its last result."""
    end = time.monotonic() + deadline.cap(timeout)
    result = None
    while True:
        if procs:
            procs.assert_running()
        result = predicate()
        if result or time.monotonic() >= end:
            return result
        time.sleep(POLL)


def parse_rfc3339(text):
    """Unix seconds (float) of Prometheus' RFC 3339 timestamps (UTC, up to nanoseconds)."""
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?Z", text)
    if not m:
        raise ValueError(f"unexpected timestamp {text!r}")
    base = calendar.timegm(tuple(int(m.group(i)) for i in range(1, 7)))
    return base + (float(m.group(7)) if m.group(7) else 0.0)


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------
try:  # looked up once here: the child of a fork should only make the call
    import ctypes
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (ImportError, OSError, AttributeError):  # not Linux: the finally block stops everything
    _PRCTL = None


def _die_with_parent():
    """In the child: get SIGKILL when this test process dies, even if it is killed itself
    (say by ctest on a timeout), so that no server outlives the test."""
    if _PRCTL is not None:
        PR_SET_PDEATHSIG = 1
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)


class Processes:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []  # (name, Popen, log path)

    def start(self, name, argv, env=None):
        path = os.path.join(self.tmp, f"{name}.log")
        logf = open(path, "wb")
        log(f"starting {name}: {' '.join(argv)}")
        try:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                 stderr=subprocess.STDOUT, env=env, cwd=self.tmp,
                                 preexec_fn=_die_with_parent)
        except OSError as e:
            raise Fatal(f"cannot start {name} ({argv[0]}): {e}")
        finally:
            logf.close()
        self.procs.append((name, p, path))
        return p

    def log_text(self, name):
        for n, _p, path in self.procs:
            if n == name:
                with open(path, "rb") as f:
                    return f.read().decode("utf-8", "replace")
        return ""

    def assert_running(self):
        for name, p, _path in self.procs:
            if p.poll() is not None:
                raise Fatal(f"{name} exited early with status {p.returncode}")

    def wait_log(self, name, pattern, deadline, timeout):
        """Waits until the process' log matches pattern; returns the match."""
        regex = re.compile(pattern)
        m = wait_for(f"{name} log", lambda: regex.search(self.log_text(name)), deadline, timeout,
                     self)
        if not m:
            raise Fatal(f"{name} did not log /{pattern}/ within {timeout:.0f} s")
        return m

    def stop_all(self):
        for name, p, _path in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for name, p, _path in reversed(self.procs):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                log(f"{name} ignored SIGTERM for 5 s: killing it")
                p.kill()
                p.wait(timeout=5)

    def dump_logs(self, tail=150):
        for name, _p, path in self.procs:
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            print(f"\n----- log of {name} ({path}), last {min(tail, len(lines))} of "
                  f"{len(lines)} lines -----")
            for line in lines[-tail:]:
                print("  " + line)


class WebhookReceiver:
    """Records the Alertmanager webhook notifications it receives."""

    def __init__(self):
        self.lock = threading.Lock()
        self.notifications = []  # (path, payload)
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    payload = json.loads(body)
                except ValueError:
                    payload = {"unparsable": body.decode("utf-8", "replace")}
                with receiver.lock:
                    receiver.notifications.append((self.path, payload))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, fmt, *args):
                log("webhook: " + fmt % args)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def received(self):
        with self.lock:
            return list(self.notifications)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


# ------------------------------------------------------------------------------------------------
# Config files
# ------------------------------------------------------------------------------------------------
def exporter_config(source_dir, fake_url, secret_path, webhook_secret_path):
    """config/demo.yml with api.url -> the fake API and the secret file's absolute path, the
    retired eSIMs of RETIRED_ESIMS added (those it does not list yet) and the routing label
    ROUTED_LABEL on ROUTED_ESIM's labels, and a webhook block."""
    path = os.path.join(source_dir, "config", "demo.yml")
    with open(path) as f:
        text = f.read()
    text, n_url = re.subn(r"(?m)^(\s+url:\s*)\S+", lambda m: m.group(1) + fake_url, text, count=1)
    text, n_key = re.subn(r"(?m)^(\s+secret_key_file:\s*)\S+",
                          lambda m: m.group(1) + secret_path, text, count=1)
    if n_url != 1 or n_key != 1:
        raise Fatal(f"{path}: no api.url or api.secret_key_file line to rewrite")
    m = re.search(r"(?m)^\s+access_code:\s*(\S+)", text)
    if not m:
        raise Fatal(f"{path}: no api.access_code")
    access_code = m.group(1)

    # The routing label, in the flow mapping of the eSIM's `labels: {...}` line.
    key, value = ROUTED_LABEL
    text, n_label = re.subn(
        r'(?m)^(\s*- iccid: "%s".*\n(?:\s+(?!- ).*\n)*?\s+labels: \{)' % ROUTED_ESIM,
        lambda m: f"{m.group(1)}{key}: {value}, ", text, count=1)
    if n_label != 1:
        raise Fatal(f"{path}: no `labels: {{...}}` line for eSIM {ROUTED_ESIM} to add "
                    f"{key}: {value} to")
    # The webhook receiver, so that its series and the vendor's view of the subscription (read
    # from the fake API at startup) feed the dashboard's Webhooks row.
    text += (f"webhook:\n  path: {WEBHOOK_PATH}\n  secret_file: {webhook_secret_path}\n"
             f"  public_url: {WEBHOOK_PUBLIC_URL}\n")
    # The retired eSIMs, at the top of the esims: list.
    added = "".join(f'  - iccid: "{iccid}"\n    name: {name}\n    labels: {{fleet: retired}}\n'
                    for iccid, name in sorted(RETIRED_ESIMS.items()) if iccid not in text)
    text, n_esims = re.subn(r"(?m)^esims:[ \t]*\n", lambda m: m.group(0) + added, text, count=1)
    if n_esims != 1:
        raise Fatal(f"{path}: no top-level `esims:` line to add the retired eSIMs under")
    return text, access_code


def accounts_config(source_dir, fake_url):
    """config/demo-accounts.yml with every api.url pointed at the fake API (its secret files are
    copied next to it, so its relative paths hold), and globex's access code."""
    path = os.path.join(source_dir, "config", "demo-accounts.yml")
    with open(path) as f:
        text = f.read()
    text, n_url = re.subn(r"(?m)^(\s+url:\s*)http://127\.0\.0\.1:18080\b",
                          lambda m: m.group(1) + fake_url, text)
    if n_url != 2:
        raise Fatal(f"{path}: expected two api.url lines to rewrite, found {n_url}")
    codes = re.findall(r"(?m)^\s+access_code:\s*(\S+)", text)
    globex_code = [c for c in codes if GLOBEX in c]
    if len(codes) != 2 or len(globex_code) != 1:
        raise Fatal(f"{path}: no access code of account {GLOBEX}")
    return text, globex_code[0]


def alertmanager_config(source_dir, hook_port):
    """deploy/prometheus/alertmanager.yml with its webhook receivers sent to our receiver."""
    path = os.path.join(source_dir, "deploy", "prometheus", "alertmanager.yml")
    with open(path) as f:
        text = f.read()
    text, n = re.subn(r"http://localhost:5001/", f"http://127.0.0.1:{hook_port}/", text)
    if n == 0:
        raise Fatal(f"{path}: no webhook URL http://localhost:5001/... to point at the test's "
                    f"receiver")
    m = re.search(r"(?m)^\s+group_wait:\s*(\d+)s\s*$", text)
    group_wait = int(m.group(1)) if m else 30
    return text, group_wait


def prometheus_config(rules_file, delivery_rules_file, exporter_port, accounts_port, am_port):
    return f"""# Generated by tests/e2e/run_e2e.py
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files:
  - {json.dumps(rules_file)}
  - {json.dumps(delivery_rules_file)}
alerting:
  alertmanagers:
    - api_version: v2
      static_configs:
        - targets: ["127.0.0.1:{am_port}"]
scrape_configs:
  - job_name: esim_exporter
    static_configs:
      - targets: ["127.0.0.1:{exporter_port}"]
  - job_name: {ACCOUNTS_JOB}
    static_configs:
      - targets: ["127.0.0.1:{accounts_port}"]
"""


# ------------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------------
class E2E:
    def __init__(self, args, tmp, results):
        self.args = args
        self.tmp = tmp
        self.r = results
        self.deadline = Deadline(args.timeout)
        self.procs = Processes(tmp)
        self.hook = None
        self.prom = None  # base URL
        self.am = None
        self.group_wait = 30
        self.prom_started = None

    # -- start -----------------------------------------------------------------------------------
    def start(self):
        a = self.args
        exporter = a.exporter or os.path.join(a.build_dir, "esim_exporter")
        fake_api = a.fake_api or os.path.join(a.build_dir, "tests", "fake_esimfly_api")
        prometheus = shutil.which("prometheus")
        alertmanager = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
        missing = [f"{what} ({hint})" for what, path, hint in [
            ("esim_exporter", exporter if os.access(exporter, os.X_OK) else None,
             f"not at {exporter}: build it"),
            ("fake_esimfly_api", fake_api if os.access(fake_api, os.X_OK) else None,
             f"not at {fake_api}: build it"),
            ("prometheus", prometheus, "Debian: apt-get install prometheus"),
            ("prometheus-alertmanager", alertmanager,
             "Debian: apt-get install prometheus-alertmanager"),
        ] if not path]
        if missing:
            raise Fatal("missing: " + "; ".join(missing))

        src = a.source_dir
        rules = os.path.join(src, "deploy", "prometheus", "rules", "esim_exporter.rules.yml")

        # The secret: a private copy of the demo secret, shared by the fake API and the exporter.
        secret = os.path.join(self.tmp, "secret_key")
        shutil.copyfile(os.path.join(src, "config", "demo-secret-key"), secret)
        os.chmod(secret, 0o600)

        self.webhook_secret = os.path.join(self.tmp, "webhook_secret")
        shutil.copyfile(os.path.join(src, "config", "demo-webhook-secret"), self.webhook_secret)
        os.chmod(self.webhook_secret, 0o600)

        self.hook = WebhookReceiver()
        log(f"webhook receiver on 127.0.0.1:{self.hook.port}")

        # Fake API first: the exporter's config needs its port (port 0: it picks and prints one).
        # Its access code is the one the demo config sends.
        _, access_code = exporter_config(src, "http://127.0.0.1:0", secret, self.webhook_secret)
        # The two-account exporter's files, next to its config (demo-accounts.yml names them
        # relative to itself). acme's key is the demo key, the fake API's default account.
        accounts_dir = os.path.join(self.tmp, "accounts")
        os.mkdir(accounts_dir)
        for name in ACCOUNTS_FILES:
            shutil.copyfile(os.path.join(src, "config", name), os.path.join(accounts_dir, name))
            os.chmod(os.path.join(accounts_dir, name), 0o600)
        _, globex_code = accounts_config(src, "http://127.0.0.1:0")
        globex_secret = os.path.join(accounts_dir, "demo-globex-secret-key")
        self.procs.start("fake_api", [fake_api, "--listen=127.0.0.1:0",
                                      f"--access-code={access_code}",
                                      f"--secret-key-file={secret}",
                                      "--rate-limit-per-minute=1000",
                                      f"--webhook-url={WEBHOOK_PUBLIC_URL}",
                                      f"--account-name={ACME}",
                                      f"--account={GLOBEX}:{globex_code}:{globex_secret},"
                                      f"fleet-size={GLOBEX_FLEET_SIZE}",
                                      f"--account-fault={GLOBEX}:revoked"])
        m = self.procs.wait_log("fake_api", r"listening on (http://127\.0\.0\.1:(\d+)) \((\d+) eSIMs\)",
                                self.deadline, 15)
        fake_url = m.group(1)
        log(f"fake API at {fake_url} with {m.group(3)} eSIMs")

        exporter_text, _ = exporter_config(src, fake_url, secret, self.webhook_secret)
        exporter_cfg = os.path.join(self.tmp, "esim_exporter.yml")
        with open(exporter_cfg, "w") as f:
            f.write(exporter_text)
        self.procs.start("esim_exporter", [exporter, f"--config.file={exporter_cfg}",
                                           "--web.listen-address=127.0.0.1:0"])
        m = self.procs.wait_log("esim_exporter", r"esim_exporter started.* port=(\d+)",
                                self.deadline, 15)
        self.exporter_port = int(m.group(1))
        self.exporter = f"http://127.0.0.1:{self.exporter_port}"
        log(f"exporter at {self.exporter}")

        accounts_text, _ = accounts_config(src, fake_url)
        accounts_cfg = os.path.join(accounts_dir, "esim_exporter.yml")
        with open(accounts_cfg, "w") as f:
            f.write(accounts_text)
        self.procs.start(ACCOUNTS_JOB, [exporter, f"--config.file={accounts_cfg}",
                                        "--web.listen-address=127.0.0.1:0"])
        m = self.procs.wait_log(ACCOUNTS_JOB, r"esim_exporter started.* port=(\d+)",
                                self.deadline, 15)
        self.accounts_port = int(m.group(1))
        self.accounts_exporter = f"http://127.0.0.1:{self.accounts_port}"
        log(f"two-account exporter at {self.accounts_exporter}")

        am_text, self.group_wait = alertmanager_config(src, self.hook.port)
        am_cfg = os.path.join(self.tmp, "alertmanager.yml")
        with open(am_cfg, "w") as f:
            f.write(am_text)
        am_port = free_port()
        self.am = f"http://127.0.0.1:{am_port}"
        self.procs.start("alertmanager", [alertmanager, f"--config.file={am_cfg}",
                                          f"--storage.path={os.path.join(self.tmp, 'am-data')}",
                                          f"--web.listen-address=127.0.0.1:{am_port}",
                                          "--cluster.listen-address="])

        self.delivery_rules = os.path.join(self.tmp, "e2e_delivery.rules.yml")
        with open(self.delivery_rules, "w") as f:
            f.write("groups: []\n")
        prom_cfg = os.path.join(self.tmp, "prometheus.yml")
        with open(prom_cfg, "w") as f:
            f.write(prometheus_config(rules, self.delivery_rules, self.exporter_port,
                                      self.accounts_port, am_port))
        prom_port = free_port()
        self.prom = f"http://127.0.0.1:{prom_port}"
        self.prom_proc = self.procs.start(
            "prometheus", [prometheus, f"--config.file={prom_cfg}",
                           f"--storage.tsdb.path={os.path.join(self.tmp, 'prom-data')}",
                           f"--web.listen-address=127.0.0.1:{prom_port}"])
        self.prom_started = time.time()

        for name, url in (("alertmanager", self.am), ("prometheus", self.prom)):
            ok = wait_for(f"{name} ready", lambda: http_get(url + "/-/ready")[0] == 200,
                          self.deadline, 30, self.procs)
            if not ok:
                raise Fatal(f"{name} not ready at {url} within 30 s")
            log(f"{name} ready at {url}")

        rules_loaded = self.rules()
        shipped = [r for g in rules_loaded for r in g["rules"] if g["file"] == rules]
        self.r.check(f"Prometheus loaded the shipped rules file as is ({len(shipped)} rules)",
                     len(shipped) > 0, f"groups: {[g['file'] for g in rules_loaded]}")
        self.rules_file = rules
        self.durations = {r["name"]: r["duration"] for r in shipped if r["type"] == "alerting"}

    def rules(self):
        data = get_json(self.prom + "/api/v1/rules")
        if data.get("status") != "success":
            raise Fatal(f"/api/v1/rules: {data}")
        return data["data"]["groups"]

    def query(self, expr, **extra):
        """(data or None, error or None) of an instant query (or a range query with start=...)."""
        endpoint = "query_range" if "start" in extra else "query"
        params = urllib.parse.urlencode(dict(query=expr, **extra))
        status, body = http_get(f"{self.prom}/api/v1/{endpoint}?{params}", timeout=10)
        if status == 0:
            return None, "connection failed"
        try:
            data = json.loads(body)
        except ValueError:
            return None, f"HTTP {status}, not JSON: {body[:200]!r}"
        if data.get("status") != "success":
            return None, f"{data.get('errorType')}: {data.get('error')}"
        if data.get("warnings"):
            return data["data"], "warnings: " + "; ".join(data["warnings"])
        return data["data"], None

    # -- delivery rules --------------------------------------------------------------------------
    def add_delivery_rules(self):
        """Loads copies of EsimDepleted and EsimExpired with `for: 5s`.

        Every shipped alert about eSIMs has a `for:` of 5 minutes or more
        (deploy/prometheus/README.md), so in a run of a few minutes none fires, and Prometheus only
        sends firing alerts to Alertmanager. Rather than a made-up alert, the test takes the two
        shipped alerts as Prometheus loaded them (expression, labels, annotations, from
        /api/v1/rules), adds the label e2e="delivery" and shortens the `for:` to 5 s, in a separate
        rules file loaded with a config reload (SIGHUP). The shipped rules file itself stays loaded
        as it is, and the pending checks use only its alerts. The copies then exercise the real
        path: their templated annotations, Prometheus -> Alertmanager, the shipped routing (by the
        config label customer=acme -> "customer-acme", else by severity: critical -> "pager") and
        the webhook notification, whose group_wait (30 s) is also kept as shipped.

        Why 5 s and not 0: the copies' group sees the shipped group's esim:retired up to one
        evaluation (1 s) late, so when an eSIM first shows up, a copy without `for:` can fire for
        one evaluation before the eSIM is known as retired (the shipped alerts, in the same group
        as esim:retired, never do). Such a blip opens an Alertmanager group that then holds the
        real alert's notification for group_interval (5 m).
        """
        rules = {r["name"]: r for g in self.rules() if g["file"] == self.rules_file
                 for r in g["rules"] if r["type"] == "alerting"}
        copies = []
        for name in list(DELIVERY_ALERTS) + [REFUSED_ALERT]:
            if name not in rules:
                raise Fatal(f"the shipped rules have no alert {name}")
            r = rules[name]
            copies.append({"alert": name, "expr": r["query"], "for": "5s",
                           "labels": dict(r.get("labels") or {}, **{DELIVERY_LABEL: "delivery"}),
                           "annotations": r.get("annotations") or {}})
        with open(self.delivery_rules, "w") as f:
            json.dump({"groups": [{"name": "e2e.delivery", "rules": copies}]}, f, indent=2)
        self.prom_proc.send_signal(signal.SIGHUP)
        ok = wait_for("delivery rules loaded",
                      lambda: any(g["file"] == self.delivery_rules and g["rules"]
                                  for g in self.rules()), self.deadline, 15, self.procs)
        self.r.check("Prometheus reloaded with the e2e delivery copies of "
                     + ", ".join(list(DELIVERY_ALERTS) + [REFUSED_ALERT]) + " (for: 5s)", bool(ok),
                     self.procs.log_text("prometheus")[-2000:])

    def send_webhook(self):
        """One signed esim.status.changed as the vendor sends it, for an eSIM that stays ACTIVE
        (nothing an alert looks at changes): the receiver must apply it."""
        sender = os.path.join(self.args.build_dir, "tests", "fake_esimfly_webhook")
        result = subprocess.run(
            [sender, f"--url={self.exporter}{WEBHOOK_PATH}", f"--secret-file={self.webhook_secret}",
             f"--iccid={WEBHOOK_ESIM}", "--event=status", "--old-status=ACTIVE",
             "--new-status=ACTIVE"], capture_output=True, text=True, timeout=30)
        self.r.check("a signed webhook delivery is answered 2xx", result.returncode == 0,
                     result.stdout + result.stderr)

    # -- 1. scrapes ------------------------------------------------------------------------------
    def wait_scraped(self):
        ok = wait_for("exporter ready", lambda: http_get(self.exporter + "/-/ready")[0] == 200,
                      self.deadline, 45, self.procs)
        self.r.check("exporter ready (every eSIM polled once)", bool(ok),
                     f"{self.exporter}/-/ready not 200 within 45 s")
        if not ok:
            raise Fatal("the exporter never became ready")
        self.send_webhook()

        def up():
            data, err = self.query('up{job="esim_exporter"}')
            return bool(data and data["result"] and data["result"][0]["value"][1] == "1")
        ok = wait_for("up == 1", up, self.deadline, 20, self.procs)
        self.r.check('Prometheus scrapes the exporter: up{job="esim_exporter"} == 1', bool(ok),
                     "no up == 1 within 20 s; targets: "
                     + str(get_json(self.prom + "/api/v1/targets")["data"]["activeTargets"]))
        if not ok:
            raise Fatal("Prometheus never scraped the exporter")
        # Data the alerts need: a live poll of every eSIM (the last usage, which tells a
        # recently depleted eSIM from a retired one, comes from live polls only).
        want_ok = ({SPEC_EXAMPLE, UNLIMITED, DEPLETED, EXPIRED, NEW, BY_ID, ALERTING, HEALTHY_5G}
                   | set(RETIRED_ESIMS))
        polls = {}

        def polled():
            data, _err = self.query('esim_poll_success{job="esim_exporter", source="live"}')
            polls.clear()
            for s in (data or {}).get("result", []):
                polls[s["metric"].get("iccid")] = s["value"][1]
            return ({i for i, v in polls.items() if v == "1"} == want_ok
                    and {i for i, v in polls.items() if v == "0"} == FAILING)
        # The provider-error eSIM looks fine in the inventory listing, but its own live polls
        # fail; live polls go one every ~5 s (the spacing this budget leaves the sweeps) over
        # 14 eSIMs: a full round takes ~70 s, so the slot order decides when each shows.
        ok = wait_for("eSIM series", polled, self.deadline, 90, self.procs)
        self.r.check(f"Prometheus sees the live polls of the {len(want_ok)} eSIMs the fake API "
                     f"answers for succeed, those of the {len(FAILING)} others fail",
                     bool(ok), f'esim_poll_success{{source="live"}} by iccid: {polls}')

    # -- 2. alerts -------------------------------------------------------------------------------
    def shipped_alerts(self, job="esim_exporter"):
        """The active alerts of the shipped rules about one scrape job's series."""
        data = get_json(self.prom + "/api/v1/alerts")
        return [a for a in data["data"]["alerts"]
                if DELIVERY_LABEL not in a["labels"] and a["labels"].get("job") == job]

    @staticmethod
    def by_name(alerts):
        out = {}
        for a in alerts:
            out.setdefault(a["labels"]["alertname"], set()).add(a["labels"].get("iccid", "-"))
        return out

    def expected_alerts(self):
        """EXPECTED_ALERTS, plus EsimPollIntervalStretched (no iccid) while the exporter reports
        an interval in force longer than the configured one: whether the demo's budget stretches
        it depends on the fleet's size, not on what this test is about."""
        expected = dict(EXPECTED_ALERTS)
        stretched, _err = self.query('esim_poll_interval_seconds{job="esim_exporter"} '
                                     "> on(instance, job) "
                                     'esim_poll_interval_configured_seconds{job="esim_exporter"}')
        if (stretched or {}).get("result"):
            expected["EsimPollIntervalStretched"] = {"-"}
        return expected

    def alert_problems(self, alerts):
        got = self.by_name(alerts)
        expected = self.expected_alerts()
        problems = []
        for name in sorted(set(got) | set(expected)):
            have = got.get(name, set())
            if name in OPTIONAL_ALERTS:
                extra = have - OPTIONAL_ALERTS[name]
                if extra:
                    problems.append(f"{name}: active for {sorted(extra)}, allowed only for "
                                    f"{sorted(OPTIONAL_ALERTS[name])}")
                continue
            want = expected.get(name, set())
            if have != want:
                problems.append(f"{name}: active for {sorted(have)}, expected {sorted(want)}")
        return problems

    def check_alerts(self):
        # Alerts built on recording rules lag them by an evaluation: wait for the state to settle.
        alerts = []

        def settled():
            nonlocal alerts
            alerts = self.shipped_alerts()
            return not self.alert_problems(alerts)
        wait_for("alerts", settled, self.deadline, 40, self.procs)
        now = time.time()
        got = self.by_name(alerts)
        summary = "\n".join(f"{a['labels']['alertname']} {a['labels'].get('iccid', '-')} "
                            f"{a['labels'].get('name', '')}: {a['state']}"
                            for a in sorted(alerts, key=lambda a: (a['labels']['alertname'],
                                                                   a['labels'].get('iccid', ''))))
        log("alerts of the shipped rules in Prometheus:\n    " + summary.replace("\n", "\n    "))

        self.r.check(f"EsimDepleted active for exactly the depleted eSIM {DEPLETED}",
                     got.get("EsimDepleted", set()) == {DEPLETED},
                     f"active for {sorted(got.get('EsimDepleted', []))}")
        self.r.check(f"EsimExpired active for exactly the expired eSIM {EXPIRED}",
                     got.get("EsimExpired", set()) == {EXPIRED},
                     f"active for {sorted(got.get('EsimExpired', []))}")
        for name in ("EsimExpiringSoon", "EsimDataUsageHigh"):
            self.r.check(f"{name} active for the 85 %/3-day eSIM {ALERTING}",
                         ALERTING in got.get(name, set()),
                         f"active for {sorted(got.get(name, []))}")
        usage_unlimited = [n for n in USAGE_ALERTS if UNLIMITED in got.get(n, set())]
        self.r.check(f"no usage alert for the unlimited eSIM {UNLIMITED}", not usage_unlimited,
                     f"active: {usage_unlimited}")
        healthy_hit = [f"{n} {i}" for n in ("EsimDepleted", "EsimExpired") + USAGE_ALERTS
                       for i in sorted(got.get(n, set()) & HEALTHY)]
        self.r.check(f"no depletion, expiry or usage alert for the healthy eSIMs "
                     f"{', '.join(sorted(HEALTHY))}", not healthy_hit, f"active: {healthy_hit}")
        any_5g = sorted(n for n, s in got.items() if HEALTHY_5G in s)
        self.r.check(f"no alert at all for the healthy 5G eSIM {HEALTHY_5G}", not any_5g,
                     f"active: {any_5g}")

        # Retired eSIMs: nothing now, and nothing at any evaluation so far, pending included.
        retired_re = "|".join(sorted(RETIRED_ESIMS))
        ever, err = self.query(f'count_over_time(ALERTS{{iccid=~"{retired_re}", '
                               f'{DELIVERY_LABEL}=""}}[1h])')
        ever_alerts = sorted(f"{s['metric'].get('alertname')} {s['metric'].get('iccid')} "
                             f"{s['metric'].get('alertstate')}"
                             for s in (ever or {}).get("result", []))
        self.r.check(f"no alert at all, not even pending, ever, for the retired eSIMs "
                     f"{', '.join(f'{i} ({n})' for i, n in sorted(RETIRED_ESIMS.items()))}",
                     not err and not ever_alerts, err or f"ALERTS: {ever_alerts}")
        retired_seen, err = self.query(f'esim:retired{{iccid=~"{retired_re}"}}')
        retired_seen = {s["metric"].get("iccid") for s in (retired_seen or {}).get("result", [])}
        self.r.check("esim:retired names exactly those three", retired_seen == set(RETIRED_ESIMS),
                     err or f"esim:retired for {sorted(retired_seen)}")

        # Every alert about an eSIM carries the eSIM's config labels (those of esim_info beyond
        # its own), so that Alertmanager can route by them.
        info, err = self.query('esim_info{job="esim_exporter"}')
        config_labels = {}
        for s in (info or {}).get("result", []):
            config_labels[s["metric"].get("iccid")] = {
                k: v for k, v in s["metric"].items() if k not in INFO_LABELS}
        missing = [f"{a['labels']['alertname']} {a['labels']['iccid']}: lacks "
                   f"{sorted(set(config_labels.get(a['labels']['iccid'], {}).items()) - set(a['labels'].items()))}"
                   for a in alerts if "iccid" in a["labels"]
                   and not set(config_labels.get(a["labels"]["iccid"], {}).items())
                   <= set(a["labels"].items())]
        labelled = sorted({a["labels"]["alertname"] for a in alerts
                           if config_labels.get(a["labels"].get("iccid"))})
        self.r.check("every alert about an eSIM carries the eSIM's config labels "
                     f"(alerts with some: {', '.join(labelled)})",
                     not err and not missing and bool(labelled),
                     err or "\n".join(missing) or "no alert has a config label at all")
        routed = [a for a in alerts if a["labels"].get("iccid") == ROUTED_ESIM]
        self.r.check(f"the alerts of {ROUTED_ESIM} carry its routing label "
                     f"{ROUTED_LABEL[0]}={ROUTED_LABEL[1]}",
                     bool(routed) and all(a["labels"].get(ROUTED_LABEL[0]) == ROUTED_LABEL[1]
                                          for a in routed),
                     f"its alerts: {[a['labels'] for a in routed]}")
        problems = self.alert_problems(alerts)
        self.r.check("the set of active alerts of the shipped rules is exactly the expected one",
                     not problems, "\n".join(problems) + "\nall active:\n" + summary)

        # Pending or firing as the rule's `for:` says, given when each alert became active.
        wrong_state = []
        for a in alerts:
            name = a["labels"]["alertname"]
            hold = self.durations.get(name, 0)
            active_for = now - parse_rfc3339(a["activeAt"])
            if active_for < hold - 2 and a["state"] != "pending":
                wrong_state.append(f"{name} {a['labels'].get('iccid')}: {a['state']} after "
                                   f"{active_for:.0f} s, for: {hold:.0f} s")
            if active_for > hold + 5 and a["state"] != "firing":
                wrong_state.append(f"{name} {a['labels'].get('iccid')}: {a['state']} after "
                                   f"{active_for:.0f} s, for: {hold:.0f} s")
        holds = sorted({f"{n} {int(self.durations.get(n, 0))}s" for n in got})
        self.r.check("each alert pending or firing as its for: says (" + ", ".join(holds) + ")",
                     not wrong_state, "\n".join(wrong_state))

        # The annotations name the eSIM.
        unnamed = [f"{a['labels']['alertname']} {a['labels'].get('iccid')}: "
                   f"{a['annotations'].get('summary')!r}"
                   for a in alerts if a["labels"].get("name")
                   and (a["labels"]["name"] not in a["annotations"].get("summary", "")
                        or a["labels"]["iccid"] not in a["annotations"].get("description", ""))]
        self.r.check("each alert's summary names the eSIM and its description the ICCID",
                     not unnamed, "\n".join(unnamed))

    # -- 3. Alertmanager -------------------------------------------------------------------------
    def check_alertmanager(self):
        want = {(n, i) for n, i in DELIVERY_ALERTS.items()}
        seen = {}

        def arrived():
            seen.clear()
            for a in get_json(self.am + "/api/v2/alerts"):
                if a["labels"].get("job") != "esim_exporter":
                    continue
                key = (a["labels"].get("alertname"), a["labels"].get("iccid"))
                seen[key] = a
            return want <= set(seen)
        ok = wait_for("alerts in Alertmanager", arrived, self.deadline, 30, self.procs)
        self.r.check("the firing alerts reached Alertmanager (/api/v2/alerts): "
                     + ", ".join(f"{n} {i}" for n, i in sorted(want)), bool(ok),
                     f"Alertmanager has: {sorted(seen)}")
        if ok:
            bad = [f"{k}: receivers {[r['name'] for r in seen[k]['receivers']]}, "
                   f"state {seen[k]['status']['state']}" for k in sorted(want)
                   if [r["name"] for r in seen[k]["receivers"]] != [DELIVERY_RECEIVERS[k[0]]]
                   or seen[k]["status"]["state"] != "active"]
            self.r.check("Alertmanager routes them, active: "
                         + ", ".join(f"{n} to {r}" for n, r in sorted(DELIVERY_RECEIVERS.items()))
                         + f" (by the config label {ROUTED_LABEL[0]}={ROUTED_LABEL[1]}, else by "
                         "severity critical)", not bad, "\n".join(bad))
        arrival = time.monotonic()

        # The webhook notification, after the route's group_wait.
        def delivered():
            got = set()
            for path, payload in self.hook.received():
                for a in payload.get("alerts", []):
                    key = (a["labels"].get("alertname"), a["labels"].get("iccid"))
                    if (a["labels"].get("job") == "esim_exporter" and key in want
                            and path == "/" + DELIVERY_RECEIVERS[key[0]]
                            and a.get("status") == "firing"
                            and a["labels"]["name"] in a["annotations"].get("summary", "")):
                        got.add(key)
            return want <= got
        ok = wait_for("webhook notification", delivered, self.deadline, self.group_wait + 20,
                      self.procs)
        log(f"webhook notifications received: "
            f"{[(p, [a['labels'].get('alertname') for a in n.get('alerts', [])]) for p, n in self.hook.received()]}")
        self.r.check(f"Alertmanager notified each one's webhook, with their summaries "
                     f"(group_wait {self.group_wait} s as shipped; waited "
                     f"{time.monotonic() - arrival:.0f} s)", bool(ok),
                     f"received: {json.dumps(self.hook.received())[:3000]}")

    # -- 4. dashboard ----------------------------------------------------------------------------
    def dashboard_queries(self):
        script = os.path.join(self.args.source_dir, "tests", "deploy", "dashboard_queries.py")
        res = subprocess.run([sys.executable, script, "--job", "esim_exporter"],
                             capture_output=True, text=True, timeout=60)
        if res.returncode != 0:
            raise Fatal(f"{script} failed: {res.stderr}")
        return [json.loads(line) for line in res.stdout.splitlines() if line.strip()]

    def check_dashboard(self):
        queries = self.dashboard_queries()
        titles = {q["panel"] for q in queries}
        print(f"\nDashboard: {len(queries)} queries; allowed to return no data in this run:")
        for title, why in sorted(NO_DATA_ALLOWED.items()):
            print(f"  - {title!r}: {why}")
        stale = sorted(set(NO_DATA_ALLOWED) - titles)
        self.r.check("every allowlisted panel exists in the dashboard", not stale,
                     f"no such panel: {stale}")

        def evaluate(q):
            """(error, has data) over an instant query and a range query of the last minute."""
            end = time.time()
            inst, err = self.query(q["expr"], time=f"{end:.3f}")
            if err:
                return f"instant query: {err}", False
            rng, err = self.query(q["expr"], start=f"{end - 60:.3f}", end=f"{end:.3f}", step="5")
            if err:
                return f"range query: {err}", False
            has = bool(inst["result"]) if inst["resultType"] in ("vector", "matrix") else True
            return None, has

        pending = list(queries)
        outcome = {}
        # Rates and predict_linear need a few scrapes; give data a few seconds to show up.
        end = time.monotonic() + self.deadline.cap(15)
        while pending:
            still = []
            for q in pending:
                err, has = evaluate(q)
                outcome[id(q)] = (err, has)
                if not err and not has and q["panel"] not in NO_DATA_ALLOWED:
                    still.append(q)
            pending = still
            if not pending or time.monotonic() >= end:
                break
            time.sleep(1)

        for q in queries:
            err, has = outcome[id(q)]
            label = f"dashboard {q['panel']!r} {q['refId']}"
            if err:
                self.r.check(f"{label} evaluates", False, f"{q['expr']}\n{err}")
            elif q["panel"] in NO_DATA_ALLOWED:
                self.r.check(f"{label} evaluates (no data allowed: allowlisted)", not has,
                             f"it returns data now: remove {q['panel']!r} from NO_DATA_ALLOWED "
                             f"in {__file__}")
            else:
                self.r.check(f"{label} evaluates and returns data", has,
                             f"{q['expr']}\nno data (instant query)")

    # -- 5. two accounts --------------------------------------------------------------------------
    def by_account(self, expr):
        """{account label ("" when absent): [sample value, ...]} of an instant query."""
        data, err = self.query(expr)
        out = {}
        for s in (data or {}).get("result", []):
            out.setdefault(s["metric"].get("account", ""), []).append(s["value"][1])
        return out, err

    def check_accounts_scraped(self):
        job = f'job="{ACCOUNTS_JOB}"'
        ok = wait_for("two-account exporter ready",
                      lambda: http_get(self.accounts_exporter + "/-/ready")[0] == 200,
                      self.deadline, 30, self.procs)
        self.r.check("the two-account exporter is ready although globex's key is refused",
                     bool(ok), f"{self.accounts_exporter}/-/ready not 200")
        want = {"esim_up": {ACME: ["1"], GLOBEX: ["0"]},
                "esim_api_credentials_refused": {ACME: ["0"], GLOBEX: ["1"]}}
        got = {}

        def settled():
            for metric in want:
                got[metric], _err = self.by_account(f"{metric}{{{job}}}")
            return got == want
        ok = wait_for("esim_up by account", settled, self.deadline, 20, self.procs)
        self.r.check(f'Prometheus: esim_up{{account="{ACME}"}} == 1 and '
                     f'esim_up{{account="{GLOBEX}"}} == 0, credentials refused for {GLOBEX} only, '
                     f"no series without its account ({ACCOUNTS_JOB})", bool(ok),
                     f"got {got}, expected {want}")

        # Every series about an eSIM (scraped, recorded by the rules, ALERTS) names the eSIM's
        # account, and each account's eSIMs are the ones its config lists.
        wrong, esims = [], {}
        data, err = self.query(f'{{{job}, iccid!=""}}')
        for s in (data or {}).get("result", []):
            account, iccid = s["metric"].get("account", ""), s["metric"].get("iccid")
            esims.setdefault(account, set()).add(iccid)
            if (account, iccid in ACME_ESIMS, iccid in GLOBEX_ESIMS) not in (
                    (ACME, True, False), (GLOBEX, False, True)):
                wrong.append(f"{s['metric'].get('__name__')} iccid={iccid} account={account!r}")
        self.r.check("every per-eSIM series of the two-account exporter carries its eSIM's "
                     f"account ({len((data or {}).get('result', []))} series; {ACME}: "
                     f"{len(esims.get(ACME, ()))} eSIMs, {GLOBEX}: {len(esims.get(GLOBEX, ()))})",
                     not err and not wrong and esims.get(ACME) == ACME_ESIMS
                     and esims.get(GLOBEX) == GLOBEX_ESIMS,
                     err or "\n".join(wrong[:20])
                     + f"\neSIMs by account: { {a: sorted(i) for a, i in esims.items()} }")

    def check_accounts_alerts(self):
        alerts = self.shipped_alerts(ACCOUNTS_JOB)
        by_account = {}
        for a in alerts:
            by_account.setdefault(a["labels"].get("account", ""), set()).add(
                a["labels"]["alertname"])
        log(f"alerts of the shipped rules for {ACCOUNTS_JOB} by account: "
            f"{ {k: sorted(v) for k, v in by_account.items()} }")
        refused = sorted(a["labels"].get("account", "") for a in alerts
                         if a["labels"]["alertname"] == REFUSED_ALERT)
        refused_other = [a["labels"] for a in self.shipped_alerts()
                         if a["labels"]["alertname"] == REFUSED_ALERT]
        self.r.check(f"{REFUSED_ALERT} active for account={GLOBEX} only (and not for the unnamed "
                     "exporter)", refused == [GLOBEX] and not refused_other,
                     f"active for accounts {refused}; unnamed: {refused_other}")
        down = sorted(a["labels"].get("account", "") for a in alerts
                      if a["labels"]["alertname"] == "EsimApiDown")
        self.r.check(f"EsimApiDown for no account (a refused key is {REFUSED_ALERT})", not down,
                     f"active for {down}")
        # What globex may alert about: its refused key, and its eSIMs' polls failing.
        allowed = {REFUSED_ALERT, "EsimPollsFailing", "EsimDataStale"}
        unlabelled = sorted(a["labels"]["alertname"] for a in alerts
                            if a["labels"].get("account") not in (ACME, GLOBEX))
        self.r.check(f"every alert of {ACCOUNTS_JOB} names its account; {GLOBEX}'s are only "
                     f"{', '.join(sorted(allowed))}",
                     not unlabelled and by_account.get(GLOBEX, set()) <= allowed,
                     f"without account: {unlabelled}; {GLOBEX}: "
                     f"{sorted(by_account.get(GLOBEX, set()))}")

        # The `for: 5s` copy fires, for globex only.
        firing = {}

        def fired():
            data, _err = self.query(f'ALERTS{{alertname="{REFUSED_ALERT}", '
                                    f'{DELIVERY_LABEL}="delivery", alertstate="firing"}}')
            firing.clear()
            for s in (data or {}).get("result", []):
                key = (s["metric"].get("job"), s["metric"].get("account", ""))
                firing[key] = s["metric"]
            return bool(firing)
        wait_for("refused copy firing", fired, self.deadline, 20, self.procs)
        self.r.check(f"its `for: 5s` copy fires for {ACCOUNTS_JOB} account={GLOBEX} only",
                     set(firing) == {(ACCOUNTS_JOB, GLOBEX)}, f"firing for {sorted(firing)}")

    def check_accounts_delivery(self):
        """The refused key's copy, routed by account="globex" (continue) and severity."""
        am = {}

        def arrived():
            am.clear()
            for a in get_json(self.am + "/api/v2/alerts"):
                if a["labels"].get("alertname") == REFUSED_ALERT:
                    am[(a["labels"].get("job"), a["labels"].get("account", ""))] = sorted(
                        r["name"] for r in a["receivers"])
            return bool(am)
        wait_for("refused copy in Alertmanager", arrived, self.deadline, 10, self.procs)
        self.r.check(f"Alertmanager routes {REFUSED_ALERT} of {GLOBEX} to "
                     f"{' and '.join(sorted(REFUSED_RECEIVERS))} (by account, continue; then "
                     "severity), and has it for no other account",
                     am == {(ACCOUNTS_JOB, GLOBEX): sorted(REFUSED_RECEIVERS)}, f"has {am}")
        paths = {}

        def delivered():
            paths.clear()
            for path, payload in self.hook.received():
                for a in payload.get("alerts", []):
                    if a["labels"].get("alertname") == REFUSED_ALERT:
                        paths.setdefault(path, set()).add(a["labels"].get("account", ""))
            return set(paths) >= {"/" + r for r in REFUSED_RECEIVERS}
        ok = wait_for("refused copy delivered", delivered, self.deadline, self.group_wait + 20,
                      self.procs)
        self.r.check(f"{REFUSED_ALERT} of {GLOBEX} delivered to the webhooks "
                     f"{', '.join(sorted('/' + r for r in REFUSED_RECEIVERS))}, for {GLOBEX} only",
                     bool(ok) and all(v == {GLOBEX} for v in paths.values()),
                     f"delivered: { {p: sorted(v) for p, v in paths.items()} }")

    def check_accounts_dashboard(self):
        """The dashboard on the two-account job: with $account=acme, no query shows another
        account's series, and each one that shows acme's without the filter still does. The
        drill-down shows one eSIM of acme ($esim is single-valued, its choices narrowed by
        $account); the account variable itself lists every account."""
        script = os.path.join(self.args.source_dir, "tests", "deploy", "dashboard_queries.py")
        runs = {}
        for account in (".*", ACME):
            res = subprocess.run([sys.executable, script, "--job", ACCOUNTS_JOB,
                                  "--var", f"account={account}", "--var", f"esim={SPEC_EXAMPLE}"],
                                 capture_output=True, text=True, timeout=60)
            if res.returncode != 0:
                raise Fatal(f"{script} failed: {res.stderr}")
            runs[account] = [json.loads(line) for line in res.stdout.splitlines() if line.strip()]
        if len(runs[".*"]) != len(runs[ACME]):
            raise Fatal(f"{script}: {len(runs['.*'])} queries for every account, "
                        f"{len(runs[ACME])} for {ACME}")
        filtered = sum(ACME in q["expr"] for q in runs[ACME])
        end = time.time()
        errors, leaks, lost = [], [], []
        with_globex = with_acme = 0
        variable = [(e, o) for e, o in zip(runs[".*"], runs[ACME])
                    if o["panel"] == "variable account"]
        if len(variable) != 1:
            raise Fatal(f"{script}: no single query of the variable account")
        data, err = self.query(variable[0][1]["expr"], time=f"{end:.3f}")
        offered = sorted({s["metric"].get("account", "") for s in (data or {}).get("result", [])})
        self.r.check(f"dashboard on {ACCOUNTS_JOB}: the variable account offers {ACME} and "
                     f"{GLOBEX}", not err and offered == [ACME, GLOBEX], err or f"offers {offered}")
        for every, only in zip(runs[".*"], runs[ACME]):
            if only["panel"] == "variable account":
                continue
            accounts = {}
            for key, q in (("every", every), ("only", only)):
                data, err = self.query(q["expr"], time=f"{end:.3f}")
                if err:
                    errors.append(f"{q['panel']!r} {q['refId']}: {err}")
                    break
                result = data["result"] if data["resultType"] in ("vector", "matrix") else []
                accounts[key] = {s["metric"].get("account") for s in result} - {None}
            if len(accounts) < 2:
                continue
            with_globex += GLOBEX in accounts["every"]
            with_acme += ACME in accounts["only"]
            label = f"{only['panel']!r} {only['refId']}"
            if accounts["only"] - {ACME}:
                leaks.append(f"{label}: {sorted(accounts['only'])}")
            # (A topk may show acme only once globex is filtered out: acme may gain, not lose.)
            if ACME in accounts["every"] and ACME not in accounts["only"]:
                lost.append(f"{label}: {sorted(accounts['only'])} with $account={ACME}, "
                            f"{sorted(accounts['every'])} without")
        self.r.check(f"dashboard on {ACCOUNTS_JOB} with $account={ACME}: {len(runs[ACME])} "
                     f"queries ({filtered} with the filter) evaluate, {with_acme} show {ACME}'s "
                     f"series and none another account's ({with_globex} show {GLOBEX} "
                     "without the filter)",
                     not errors and not leaks and not lost and with_acme > 0 and with_globex > 0,
                     "\n".join(errors + leaks + lost))

    # -- all -------------------------------------------------------------------------------------
    def run(self):
        self.start()
        self.add_delivery_rules()
        self.wait_scraped()
        self.check_accounts_scraped()
        self.check_alerts()
        self.check_accounts_alerts()
        self.check_dashboard()
        self.check_accounts_dashboard()
        self.check_alertmanager()
        self.check_accounts_delivery()
        self.procs.assert_running()
        self.r.check("every process still running at the end", True)

    def stop(self):
        self.procs.stop_all()
        if self.hook:
            self.hook.stop()


def main():
    global VERBOSE
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-dir", required=True, help="the CMake build directory")
    ap.add_argument("--source-dir", required=True, help="the repository root")
    ap.add_argument("--exporter", help="esim_exporter binary (default BUILD_DIR/esim_exporter)")
    ap.add_argument("--fake-api",
                    help="fake API binary (default BUILD_DIR/tests/fake_esimfly_api)")
    ap.add_argument("--timeout", type=float, default=240,
                    help="overall time budget in seconds (default 240)")
    ap.add_argument("--keep-tmp", action="store_true", help="keep the temporary directory")
    ap.add_argument("--verbose", action="store_true", help="print details of passed checks too")
    args = ap.parse_args()
    VERBOSE = args.verbose
    args.build_dir = os.path.abspath(args.build_dir)
    args.source_dir = os.path.abspath(args.source_dir)

    # ctest (on timeout) and Ctrl-C: still stop everything.
    def on_signal(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_signal)

    results = Results()
    tmp = tempfile.mkdtemp(prefix="esim_e2e_")
    test = E2E(args, tmp, results)
    start = time.monotonic()
    try:
        test.run()
    except Fatal as e:
        results.check("end-to-end run", False, str(e))
    except KeyboardInterrupt as e:
        results.check("end-to-end run", False, f"interrupted ({e})")
    except Exception as e:  # a bug in the test or an unexpected answer: report, clean up
        import traceback
        results.check("end-to-end run", False, "unexpected error:\n" + traceback.format_exc())
    finally:
        test.stop()
        if results.failed:
            test.procs.dump_logs()
        if args.keep_tmp or results.failed and os.environ.get("E2E_KEEP_TMP"):
            print(f"\ntemporary files kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)

    print(f"\ne2e: {time.monotonic() - start:.1f} s")
    if results.failed:
        print("failed checks:")
        for name in results.failed:
            print(f"  - {name}")
    print(f"{len(results.passed)} passed, {len(results.failed)} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
