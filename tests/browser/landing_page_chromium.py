#!/usr/bin/env python3
"""The landing page in a real browser: Debian's headless Chromium renders it, and the test reads
the DOM Chromium built and the screenshot it took.

Starts, on 127.0.0.1 and free ports, with their files in a temporary directory:
  - the fake eSIMfly API with a generated fleet of 1,200 eSIMs (5 % DEPLETED, 5 % EXPIRED, 5 % NEW,
    the rest ACTIVE; tests/fake_api/fleet.h, GenerateFleet),
  - esim_exporter with a demo-like config (config/demo.yml) that discovers the whole fleet and
    names a few eSIMs: one DEPLETED, one with a hostile name and label, one unknown to the API
    (its live poll fails with ESIM_NOT_FOUND), and a webhook receiver at /webhook.
Once the exporter is ready, the test sends it one signed webhook delivery and one wrongly signed,
then `chromium --headless --dump-dom` loads pages of `/` and the test checks: the summary is
there (API up, budget, balance, counts, webhook deliveries by outcome); a page holds the rows it
should, with the last webhook event's age on the eSIM it was applied to;
a DEPLETED eSIM is never shown green or "ok"; sorting by expiry puts the soonest first (following
the column's own link); filters narrow; garbage parameters still give the first page; hostile
text stays text in the DOM. `chromium --screenshot` shots must be real renderings: a PNG of the
window's size with the status colours of the stylesheet in it.

Then two accounts (issue 14): the same fake API also serves the accounts "acme" (20 generated
eSIMs) and "globex" (5, every request refused: --account-fault=globex:revoked), and a second
exporter runs an `accounts:` config with both. Its page must show one summary per account
(#summary-acme, #summary-globex), acme's API up, globex's credentials refused, an Account column
(th[data-sort="account"]), a heading row per account (tr.group[data-group]) in the default
order, and with ?account=globex only globex's rows.

Usage: landing_page_chromium.py --exporter PATH --fake-api PATH [--out-dir DIR]
                                [--chromium PATH] [--timeout SECONDS] [--keep-tmp] [--verbose]
The screenshots stay in --out-dir (default: the current directory): landing_page.png (the first
page) and landing_page_depleted.png (?status=DEPLETED).
Standard library only. Needs Chromium (Debian: apt-get install chromium, or
scripts/install-deps.sh --test). Prints "N passed, M failed" last; exit status 1 on a failure.
"""

import argparse
import calendar
import hashlib
import hmac
import html.parser
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib

FLEET_SIZE = 1200
ACCESS_CODE = "esf_browser_test"
SECRET = "sk_browser_test_secret"
WEBHOOK_SECRET = "whsec_browser_test"
UNKNOWN_ICCID = "8948010010036785078"  # unknown to the fake API: ESIM_NOT_FOUND
HOSTILE_NAME = "<img src=x onerror=alert(1)>"
HOSTILE_LABEL = "<script>alert(2)</script>"
WINDOW = (1400, 1000)
# Status colours of the stylesheet (src/landing_page.cc): pill backgrounds.
ACTIVE_BACKGROUND = (0xda, 0xfb, 0xe1)
DEPLETED_BACKGROUND = (0xff, 0xeb, 0xe9)

VERBOSE = False
T0 = time.monotonic()


def log(message):
    print(f"[{time.monotonic() - T0:6.1f}s] {message}", flush=True)


class Fatal(Exception):
    """A failure after which the remaining checks cannot run."""


class Results:
    def __init__(self):
        self.passed, self.failed = [], []

    def check(self, name, ok, detail=""):
        (self.passed if ok else self.failed).append(name)
        line = f"{'PASS' if ok else 'FAIL'}: {name}"
        if detail and (not ok or VERBOSE):
            line += "\n      " + str(detail).replace("\n", "\n      ")
        print(line, flush=True)
        return ok


# ------------------------------------------------------------------------------------------------
# The fleet's ICCIDs (tests/fake_api/fleet.cc, GenerateFleet)
# ------------------------------------------------------------------------------------------------
def luhn_check_digit(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 0:  # doubled: the check digit will sit to their right
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def fleet_iccid(index):
    digits = "8988303%011d" % index
    return digits + luhn_check_digit(digits)


NEW_ICCID = fleet_iccid(0)       # index % 20 == 0: NEW
DEPLETED_ICCID = fleet_iccid(1)  # index % 20 == 1: DEPLETED
EXPIRED_ICCID = fleet_iccid(2)   # index % 20 == 2: EXPIRED
NAMED_ICCID = fleet_iccid(3)     # ACTIVE
HOSTILE_ICCID = fleet_iccid(4)   # ACTIVE


# The two-account exporter: the fake API's first and second added accounts, whose generated
# fleets start at index 100,000,000 and 200,000,000 (--account, fleet-size).
ACME_CODE = "esf_browser_acme"
GLOBEX_CODE = "esf_browser_globex"
ACME_FLEET_SIZE = 20
GLOBEX_FLEET_SIZE = 5
ACME_NAMED_ICCID = fleet_iccid(100000000 + 3)  # ACTIVE
GLOBEX_ICCIDS = [fleet_iccid(200000000 + i) for i in (3, 4)]  # never polled: the key is refused


def accounts_config(fake_url, acme_secret, globex_secret):
    def api(code, secret):
        return f"""    api:
      url: {fake_url}
      access_code: {code}
      secret_key_file: {secret}
      timeout: 10s
      max_concurrency: 2
      rate_limit:
        per_minute: 600
        per_hour: 20000
        per_day: 200000
"""
    return f"""# Two accounts: acme works, globex's key is refused by the fake API.
poll:
  interval: 60s
  stale_after: 1h
accounts:
  - name: acme
{api(ACME_CODE, acme_secret)}    inventory:
      enabled: true
      interval: 10m
      discover: true
    esims:
      - iccid: "{ACME_NAMED_ICCID}"
        name: acme-router-01
        labels: {{fleet: routers}}
  - name: globex
{api(GLOBEX_CODE, globex_secret)}    esims:
      - iccid: "{GLOBEX_ICCIDS[0]}"
        name: globex-kiosk-01
        labels: {{fleet: kiosks}}
      - iccid: "{GLOBEX_ICCIDS[1]}"
        name: globex-kiosk-02
        labels: {{fleet: kiosks}}
"""


def exporter_config(fake_url, secret_path, webhook_secret_path):
    return f"""# Like config/demo.yml, with discovery of the whole (generated) fleet.
api:
  url: {fake_url}
  access_code: {ACCESS_CODE}
  secret_key_file: {secret_path}
  timeout: 10s
  max_concurrency: 2
  rate_limit:
    per_minute: 600
    per_hour: 20000
    per_day: 200000
poll:
  interval: 60s
  stale_after: 1h
inventory:
  enabled: true
  interval: 10m
  discover: true
balance:
  interval: 1h
webhook:
  path: /webhook
  secret_file: {webhook_secret_path}
esims:
  - iccid: "{NAMED_ICCID}"
    name: router-sydney-01
    labels: {{site: syd, fleet: routers}}
  - iccid: "{DEPLETED_ICCID}"
    name: tracker-depleted
    labels: {{fleet: trackers}}
  - iccid: "{HOSTILE_ICCID}"
    name: "{HOSTILE_NAME}"
    labels: {{site: "{HOSTILE_LABEL}"}}
  - iccid: "{UNKNOWN_ICCID}"
    name: typo
"""


# ------------------------------------------------------------------------------------------------
# Processes
# ------------------------------------------------------------------------------------------------
try:
    import ctypes
    _PRCTL = ctypes.CDLL(None, use_errno=True).prctl
except (ImportError, OSError, AttributeError):
    _PRCTL = None


def _die_with_parent():
    """In the child: SIGKILL when this test dies (say on a ctest timeout); no server outlives it."""
    if _PRCTL is not None:
        _PRCTL(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


class Processes:
    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []  # (name, Popen, log path)

    def start(self, name, argv):
        path = os.path.join(self.tmp, f"{name}.log")
        with open(path, "wb") as logf:
            log(f"starting {name}: {' '.join(argv)}")
            try:
                p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                     stderr=subprocess.STDOUT, cwd=self.tmp,
                                     preexec_fn=_die_with_parent)
            except OSError as e:
                raise Fatal(f"cannot start {name} ({argv[0]}): {e}")
        self.procs.append((name, p, path))

    def log_text(self, name):
        for n, _p, path in self.procs:
            if n == name:
                with open(path, "rb") as f:
                    return f.read().decode("utf-8", "replace")
        return ""

    def wait_log(self, name, pattern, timeout):
        regex = re.compile(pattern)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.assert_running()
            m = regex.search(self.log_text(name))
            if m:
                return m
            time.sleep(0.1)
        raise Fatal(f"{name} did not log /{pattern}/ within {timeout:.0f} s")

    def assert_running(self):
        for name, p, _path in self.procs:
            if p.poll() is not None:
                raise Fatal(f"{name} exited early with status {p.returncode}")

    def stop_all(self):
        for _name, p, _path in reversed(self.procs):
            if p.poll() is None:
                p.terminate()
        for _name, p, _path in reversed(self.procs):
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=5)

    def dump_logs(self, tail=60):
        for name, _p, path in self.procs:
            with open(path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            print(f"\n----- log of {name}, last {min(tail, len(lines))} of {len(lines)} lines")
            for line in lines[-tail:]:
                print("  " + line)


def http_status(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code
    except (urllib.error.URLError, OSError):
        return 0


# ------------------------------------------------------------------------------------------------
# Chromium
# ------------------------------------------------------------------------------------------------
class Chromium:
    def __init__(self, binary, tmp):
        self.binary = binary
        self.tmp = tmp
        self.runs = 0

    def _run(self, extra, url, timeout=90):
        self.runs += 1
        profile = tempfile.mkdtemp(prefix="chromium-profile-", dir=self.tmp)
        argv = [self.binary, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}"] + extra + [url]
        try:
            done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True,
                                  timeout=timeout, cwd=self.tmp, preexec_fn=_die_with_parent)
        except subprocess.TimeoutExpired:
            raise Fatal(f"chromium did not finish {url} within {timeout} s")
        finally:
            shutil.rmtree(profile, ignore_errors=True)
        if done.returncode != 0:
            raise Fatal(f"chromium exited with {done.returncode} on {url}:\n"
                        + done.stderr.decode("utf-8", "replace")[-3000:])
        return done

    def dom(self, url):
        """The DOM Chromium built for url, serialized, parsed into a tree of Elements."""
        done = self._run(["--dump-dom"], url)
        text = done.stdout.decode("utf-8", "replace")
        if "</html>" not in text:
            raise Fatal(f"chromium --dump-dom {url} gave no document:\n{text[:500]}")
        return parse_dom(text)

    def screenshot(self, url, path):
        if os.path.exists(path):
            os.remove(path)
        self._run([f"--screenshot={path}", f"--window-size={WINDOW[0]},{WINDOW[1]}"], url)
        if not os.path.exists(path):
            raise Fatal(f"chromium --screenshot wrote no {path}")
        return path


# ------------------------------------------------------------------------------------------------
# DOM: a tree of the serialized document (every element Chromium serializes is closed)
# ------------------------------------------------------------------------------------------------
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class Element:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent = tag, dict(attrs), parent
        self.children = []  # Elements and strings

    def classes(self):
        return set((self.attrs.get("class") or "").split())

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self):
        yield self
        for c in self.children:
            if isinstance(c, Element):
                yield from c.iter()

    def find_all(self, tag=None, **attrs):
        """Descendants (and self) with this tag and these attribute values; class_ matches one
        class of the element."""
        out = []
        for e in self.iter():
            if tag and e.tag != tag:
                continue
            ok = True
            for name, value in attrs.items():
                if name == "class_":
                    ok = ok and value in e.classes()
                else:
                    ok = ok and e.attrs.get(name) == value
            if ok:
                out.append(e)
        return out

    def find(self, tag=None, **attrs):
        found = self.find_all(tag, **attrs)
        return found[0] if found else None

    def by_id(self, element_id):
        return self.find(id=element_id)


class _TreeBuilder(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, attrs, self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, attrs, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)


def parse_dom(text):
    builder = _TreeBuilder()
    builder.feed(text)
    builder.close()
    return builder.root


def rows(dom):
    table = dom.by_id("esims")
    if table is None:
        raise Fatal("no table#esims in the page")
    return [tr for tr in table.find_all("tr") if "data-iccid" in tr.attrs]


def expiry_of(row):
    """Unix seconds of the row's expiry (its cell's title), None when unknown."""
    cell = [td for td in row.find_all("td") if "expiry" in td.classes()]
    if not cell:
        raise Fatal("a row without an expiry cell")
    for e in cell[0].iter():
        title = e.attrs.get("title", "")
        m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) UTC", title)
        if m:
            return calendar.timegm(tuple(int(g) for g in m.groups()))
    return None


# ------------------------------------------------------------------------------------------------
# PNG: enough of a decoder for Chromium's 8-bit RGB(A) screenshots
# ------------------------------------------------------------------------------------------------
def decode_png(path):
    """(width, height, rows of bytes, bytes per pixel)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Fatal(f"{path} is not a PNG")
    pos, idat, header = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + length
    width, height, depth, color_type, _c, _f, interlace = header
    if depth != 8 or color_type not in (2, 6) or interlace != 0:
        raise Fatal(f"{path}: unexpected PNG format depth={depth} color_type={color_type}")
    bpp = 3 if color_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    out, previous = [], bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        row = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                row[i] = (row[i] + row[i - bpp]) & 0xFF
        elif kind == 2:
            row = bytearray((a + b) & 0xFF for a, b in zip(row, previous))
        elif kind == 3:
            for i in range(stride):
                left = row[i - bpp] if i >= bpp else 0
                row[i] = (row[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = row[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                predictor = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                row[i] = (row[i] + predictor) & 0xFF
        out.append(bytes(row))
        previous = row
    return width, height, out, bpp


def colour_census(path):
    """(width, height, {rgb: pixel count})."""
    width, height, pixel_rows, bpp = decode_png(path)
    counts = {}
    for row in pixel_rows:
        for x in range(0, len(row), bpp):
            rgb = (row[x], row[x + 1], row[x + 2])
            counts[rgb] = counts.get(rgb, 0) + 1
    return width, height, counts


def send_webhook(url, event, data, secret=WEBHOOK_SECRET):
    """POSTs one delivery signed as eSIMfly signs it (docs/esimfly-api.md, "Webhooks"); returns
    the HTTP status."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    body = json.dumps({"event": event, "timestamp": now, "data": data}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Webhook-Event": event,
        "X-Webhook-Signature": signature, "X-Webhook-Timestamp": now,
        "X-Webhook-Id": "whd_browser_" + hashlib.sha256(body + secret.encode()).hexdigest()[:16]})
    try:
        with urllib.request.urlopen(request, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


def has_colour(counts, rgb, tolerance=3, at_least=50):
    total = 0
    for colour, n in counts.items():
        if all(abs(a - b) <= tolerance for a, b in zip(colour, rgb)):
            total += n
    return total >= at_least


# ------------------------------------------------------------------------------------------------
# The test
# ------------------------------------------------------------------------------------------------
def run(args, tmp, results):
    chromium_binary = shutil.which(args.chromium)
    missing = [what for what, ok in [
        (f"esim_exporter at {args.exporter}", os.access(args.exporter, os.X_OK)),
        (f"fake_esimfly_api at {args.fake_api}", os.access(args.fake_api, os.X_OK)),
        (f"{args.chromium} (Debian: apt-get install chromium, or scripts/install-deps.sh --test)",
         chromium_binary),
    ] if not ok]
    if missing:
        raise Fatal("missing: " + "; ".join(missing))
    procs = Processes(tmp)
    try:
        _run_with(procs, Chromium(chromium_binary, tmp), args, tmp, results)
    except Fatal:
        procs.dump_logs()
        raise
    finally:
        procs.stop_all()
    if results.failed:
        procs.dump_logs()


def _run_with(procs, chromium, args, tmp, results):
    secret = os.path.join(tmp, "secret_key")
    with open(secret, "w") as f:
        f.write(SECRET + "\n")
    os.chmod(secret, 0o600)
    # The accounts of the two-account exporter, each with its own key (their fleets and windows
    # are theirs: the default account's answers stay as they were).
    account_secrets = {}
    for name in ("acme", "globex"):
        account_secrets[name] = os.path.join(tmp, f"secret_key_{name}")
        with open(account_secrets[name], "w") as f:
            f.write(f"sk_browser_{name}_secret\n")
        os.chmod(account_secrets[name], 0o600)
    procs.start("fake_api", [args.fake_api, "--listen=127.0.0.1:0", f"--access-code={ACCESS_CODE}",
                             f"--secret-key-file={secret}", f"--fleet-size={FLEET_SIZE}",
                             "--balance=1234.5", "--currency=EUR",
                             f"--account=acme:{ACME_CODE}:{account_secrets['acme']},"
                             f"fleet-size={ACME_FLEET_SIZE}",
                             f"--account=globex:{GLOBEX_CODE}:{account_secrets['globex']},"
                             f"fleet-size={GLOBEX_FLEET_SIZE}",
                             "--account-fault=globex:revoked"])
    m = procs.wait_log("fake_api", r"listening on (http://127\.0\.0\.1:\d+)", 15)
    fake_url = m.group(1)
    webhook_secret = os.path.join(tmp, "webhook_secret")
    with open(webhook_secret, "w") as f:
        f.write(WEBHOOK_SECRET + "\n")
    os.chmod(webhook_secret, 0o600)
    config = os.path.join(tmp, "esim_exporter.yml")
    with open(config, "w") as f:
        f.write(exporter_config(fake_url, secret, webhook_secret))
    procs.start("esim_exporter", [args.exporter, f"--config.file={config}",
                                  "--web.listen-address=127.0.0.1:0"])
    m = procs.wait_log("esim_exporter", r"esim_exporter started.* port=(\d+)", 15)
    base = f"http://127.0.0.1:{m.group(1)}/"
    log(f"exporter at {base}")

    # The two-account exporter, started now so that it polls while the first one is checked.
    accounts = os.path.join(tmp, "esim_exporter_accounts.yml")
    with open(accounts, "w") as f:
        f.write(accounts_config(fake_url, account_secrets["acme"], account_secrets["globex"]))
    procs.start("esim_exporter_accounts", [args.exporter, f"--config.file={accounts}",
                                           "--web.listen-address=127.0.0.1:0"])
    m = procs.wait_log("esim_exporter_accounts", r"esim_exporter started.* port=(\d+)", 15)
    accounts_base = f"http://127.0.0.1:{m.group(1)}/"
    log(f"two-account exporter at {accounts_base}")

    end = time.monotonic() + args.timeout / 2
    while http_status(base + "-/ready") != 200:
        procs.assert_running()
        if time.monotonic() > end:
            raise Fatal("the exporter did not become ready (every eSIM observed once)")
        time.sleep(0.25)
    log("exporter ready")
    monitored = FLEET_SIZE + 1  # the generated fleet and the ICCID unknown to the API

    # One applied webhook event (it keeps the eSIM ACTIVE) and one refused for its signature.
    status_changed = {"iccid": NAMED_ICCID, "old_status": "ACTIVE", "new_status": "ACTIVE"}
    applied = send_webhook(base + "webhook", "esim.status.changed", status_changed)
    refused = send_webhook(base + "webhook", "esim.status.changed", status_changed,
                           secret="whsec_wrong")
    results.check("webhook: a signed delivery is applied, a wrongly signed one refused",
                  (applied, refused) == (200, 401), (applied, refused))

    # -- The first page: summary, rows, pager ---------------------------------------------------
    dom = chromium.dom(base)
    for card in ("summary", "summary-api", "summary-budget", "summary-polling",
                 "summary-balance", "summary-esims"):
        results.check(f"summary: #{card} present", dom.by_id(card) is not None)
    api_up = dom.by_id("api-up")
    results.check("summary: API up", api_up is not None and api_up.attrs.get("data-up") == "1",
                  api_up.text() if api_up else "no #api-up")
    windows = {w: dom.by_id(f"budget-{w}") for w in ("minute", "hour", "day")}
    results.check("summary: request budget used and left against the configured limits",
                  all(e is not None for e in windows.values())
                  and [windows[w].attrs.get("data-limit") for w in ("minute", "hour", "day")]
                  == ["600", "20000", "200000"]
                  and all(re.search(r"[\d,]+ left", e.text()) and int(e.attrs["data-used"]) > 0
                          for e in windows.values()),
                  {w: (e.attrs, e.text()) if e else None for w, e in windows.items()})
    balance = dom.by_id("summary-balance").text() if dom.by_id("summary-balance") else ""
    results.check("summary: balance", "1,234.50 EUR" in balance, balance)
    shown = dom.by_id("monitored")
    results.check("summary: monitored eSIMs", shown is not None
                  and shown.text() == f"{monitored:,}", shown.text() if shown else "none")
    counts = {}
    for link in (dom.by_id("status-counts") or Element("ul", {}, None)).find_all("a"):
        number = re.search(r"([\d,]+)\s*$", link.parent.text())
        counts[link.attrs.get("data-status")] = int(number.group(1).replace(",", ""))
    expected_counts = {"NEW": 60, "ACTIVE": 1020, "DEPLETED": 60, "EXPIRED": 60}
    results.check("summary: eSIMs by status", counts == expected_counts,
                  f"{counts} != {expected_counts}")
    failing = dom.by_id("failing-polls")
    outcomes = {li.attrs.get("data-outcome"): li.text()
                 for li in (dom.by_id("webhook-outcomes") or Element("ul", {}, None)).find_all("li")}
    results.check("summary: webhook deliveries by outcome",
                  dom.by_id("summary-webhooks") is not None
                  and re.fullmatch(r"applied\s+1", outcomes.get("applied", "")) is not None
                  and re.fullmatch(r"invalid_signature\s+1", outcomes.get("invalid_signature", ""))
                  is not None, outcomes)
    results.check("summary: failing live polls counted and linked",
                  failing is not None and re.match(r"[1-9][\d,]* failing", failing.text())
                  and failing.attrs.get("href") == "?poll=failing",
                  failing.text() if failing else "no #failing-polls")

    page_rows = rows(dom)
    results.check("table: 100 rows on the first page", len(page_rows) == 100, len(page_rows))
    showing = dom.by_id("showing")
    results.check("table: the matching count", showing is not None
                  and showing.attrs.get("data-matching") == str(monitored),
                  showing.text() if showing else "no #showing")
    pager = dom.by_id("pager")
    results.check("pager: links up to the last page (13)", pager is not None
                  and pager.find("a", **{"data-page": "13"}) is not None
                  and pager.find("a", rel="next") is not None)
    named = [r for r in page_rows if r.attrs.get("data-iccid") == NAMED_ICCID]
    last_event = [td.text() for r in named for td in r.find_all("td", class_="last-event")]
    results.check("table: the last webhook event's age for the eSIM it was applied to",
                  len(last_event) == 1 and re.fullmatch(r".+ ago|now", last_event[0]) is not None,
                  last_event)
    others = [td.text() for r in page_rows if r.attrs.get("data-iccid") == DEPLETED_ICCID
              for td in r.find_all("td", class_="last-event")]
    results.check("table: no webhook event for the others", others == ["none"], others)
    depleted = [r for r in page_rows if r.attrs.get("data-iccid") == DEPLETED_ICCID]
    results.check("table: the configured DEPLETED eSIM is on the first page", len(depleted) == 1)

    last = rows(chromium.dom(base + "?page=13"))
    results.check("paging: the last page holds the rest (1)", len(last) == 1, len(last))
    clamped = rows(chromium.dom(base + "?page=999"))
    results.check("paging: a page beyond the last shows the last", len(clamped) == 1,
                  len(clamped))

    # -- Lifecycle colours: DEPLETED is never green or "ok" ------------------------------------
    dom = chromium.dom(base + "?status=DEPLETED&per_page=1000")
    depleted_rows = rows(dom)
    results.check("filter: status=DEPLETED narrows to the 60 DEPLETED eSIMs",
                  len(depleted_rows) == 60
                  and all(r.attrs.get("data-status") == "DEPLETED" for r in depleted_rows),
                  len(depleted_rows))
    green = []
    for row in depleted_rows:
        classes = set()
        for e in row.iter():
            classes |= e.classes()
        status = row.find("span", class_="st")
        if (status is None or "st-depleted" not in status.classes()
                or classes & {"st-active", "ok", "good"}):
            green.append((row.attrs.get("data-iccid"), sorted(classes)))
    results.check("colours: no DEPLETED row has the ACTIVE, ok or good class", not green
                  and depleted_rows, green[:3])

    # -- Sorting by expiry: follow the column's own link ----------------------------------------
    first_page = chromium.dom(base)
    header = first_page.find("th", **{"data-sort": "expiry"})
    link = header.find("a") if header is not None else None
    results.check("sort: the Expires header links to sort=expiry",
                  link is not None and "sort=expiry" in link.attrs.get("href", ""),
                  link.attrs if link else "no link")
    if link is not None:
        url = urllib.parse.urljoin(base, link.attrs["href"])
        sorted_rows = rows(chromium.dom(url + "&per_page=1000"))
        sorted_rows += rows(chromium.dom(url + "&per_page=1000&page=2"))
        expiries = [expiry_of(r) for r in sorted_rows]
        known = [e for e in expiries if e is not None]
        first_unknown = next((i for i, e in enumerate(expiries) if e is None), len(expiries))
        results.check("sort: every eSIM once over both pages", len(sorted_rows) == monitored
                      and len({r.attrs["data-iccid"] for r in sorted_rows}) == monitored,
                      len(sorted_rows))
        results.check("sort: expiry ascending, the soonest first, unknown last",
                      known and known == sorted(known) and expiries[0] == min(known)
                      and all(e is None for e in expiries[first_unknown:]),
                      f"first {expiries[:5]}")

    # -- Filters narrow ------------------------------------------------------------------------
    found = rows(chromium.dom(base + "?q=ROUTER-sydney"))
    results.check("filter: q finds a name in any case", [r.attrs["data-iccid"] for r in found]
                  == [NAMED_ICCID], [r.attrs.get("data-iccid") for r in found])
    found = rows(chromium.dom(base + "?q=site%3Dsyd"))
    results.check("filter: q=site=syd finds the label", [r.attrs["data-iccid"] for r in found]
                  == [NAMED_ICCID], [r.attrs.get("data-iccid") for r in found])
    dom = chromium.dom(base + "?poll=failing")
    found = rows(dom)
    typo = [r for r in found if r.attrs.get("data-iccid") == UNKNOWN_ICCID]
    results.check("filter: poll=failing lists the eSIM unknown to the API with its error",
                  typo and typo[0].find("td", class_="poll-fail") is not None
                  and "ESIM_NOT_FOUND" in typo[0].text()
                  and all(r.find("td", class_="poll-fail") is not None for r in found),
                  [r.text()[:120] for r in found[:3]])

    # -- Garbage parameters: the first page, never an error ---------------------------------------
    dom = chromium.dom(base + "?page=abc&per_page=-5&sort=%3Cscript%3E&order=up&status=%22%3E"
                       "&poll=x&q=&unknown=1")
    garbage = rows(dom)
    showing = dom.by_id("showing")
    results.check("garbage parameters: the default first page", len(garbage) == 100
                  and showing is not None and showing.attrs.get("data-matching") == str(monitored),
                  len(garbage))

    # -- Hostile text stays text -----------------------------------------------------------------
    dom = chromium.dom(base + "?q=onerror")
    found = rows(dom)
    results.check("escaping: the hostile name is text in its row", len(found) == 1
                  and HOSTILE_NAME in found[0].text() and HOSTILE_LABEL in found[0].text(),
                  [r.text()[:200] for r in found])
    results.check("escaping: no img or script element in the document",
                  not dom.find_all("img") and not dom.find_all("script"))
    dom = chromium.dom(base + "?q=" + urllib.parse.quote('"><script>alert(3)</script>'))
    search = dom.find("input", name="q")
    results.check("escaping: hostile search text comes back as the field's value",
                  search is not None and search.attrs.get("value") == '"><script>alert(3)</script>'
                  and not dom.find_all("script"), search.attrs if search else "no input")

    # -- Screenshots -------------------------------------------------------------------------------
    os.makedirs(args.out_dir, exist_ok=True)
    shots = [(os.path.join(args.out_dir, "landing_page.png"), base, ACTIVE_BACKGROUND, "ACTIVE"),
             (os.path.join(args.out_dir, "landing_page_depleted.png"),
              base + "?status=DEPLETED", DEPLETED_BACKGROUND, "DEPLETED")]
    for path, url, colour, status in shots:
        chromium.screenshot(url, path)
        size = os.path.getsize(path)
        width, height, census = colour_census(path)
        log(f"screenshot {path}: {width}x{height}, {size} bytes, {len(census)} colours")
        top = max(census.values())
        results.check(f"screenshot {os.path.basename(path)}: a {WINDOW[0]}x{WINDOW[1]} PNG",
                      (width, height) == WINDOW, (width, height))
        results.check(f"screenshot {os.path.basename(path)}: a real rendering (size, colours)",
                      size > 30000 and len(census) > 100 and top < 0.97 * width * height,
                      f"{size} bytes, {len(census)} colours, commonest {top} pixels")
        results.check(f"screenshot {os.path.basename(path)}: {status} rows in their colour",
                      has_colour(census, colour))
    check_two_accounts(procs, chromium, accounts_base, args, results)
    log(f"{chromium.runs} chromium runs")


def check_two_accounts(procs, chromium, base, args, results):
    """The page of an exporter with two accounts, acme working and globex refused."""
    end = time.monotonic() + args.timeout / 4
    while http_status(base + "-/ready") != 200:
        procs.assert_running()
        if time.monotonic() > end:
            raise Fatal("the two-account exporter did not become ready")
        time.sleep(0.25)
    log("two-account exporter ready")

    dom = chromium.dom(base)
    summaries = {name: dom.by_id(f"summary-{name}") for name in ("acme", "globex")}
    results.check("accounts: one summary per account, #summary-acme and #summary-globex",
                  all(e is not None and e.attrs.get("data-account") == name
                      for name, e in summaries.items()),
                  {n: e.attrs if e else None for n, e in summaries.items()})
    api_up = dom.by_id("account-acme-api-up")
    results.check("accounts: acme's API up (#account-acme-api-up data-up=1)",
                  api_up is not None and api_up.attrs.get("data-up") == "1",
                  api_up.attrs if api_up else "no #account-acme-api-up")
    refused = dom.by_id("account-globex-credentials-refused")
    globex_up = dom.by_id("account-globex-api-up")
    results.check("accounts: globex's credentials refused, in its own summary, API not up",
                  refused is not None and summaries["globex"] is not None
                  and refused in list(summaries["globex"].iter())
                  and "Credentials refused" in refused.text()
                  and globex_up is not None and globex_up.attrs.get("data-up") != "1",
                  (refused.text() if refused else "no #account-globex-credentials-refused",
                   globex_up.attrs if globex_up else "no #account-globex-api-up"))
    results.check("accounts: acme's credentials are not refused",
                  dom.by_id("account-acme-credentials-refused") is None)
    results.check("accounts: no unprefixed summary ids on a two-account page",
                  dom.by_id("api-up") is None and dom.by_id("credentials-refused") is None)
    results.check('accounts: an Account column (th[data-sort="account"])',
                  dom.find("th", **{"data-sort": "account"}) is not None)
    table = dom.by_id("esims")
    groups = [tr.attrs.get("data-group") for tr in table.find_all("tr", class_="group")
              if "data-group" in tr.attrs] if table is not None else []
    results.check("accounts: a heading row per account (tr.group[data-group]), acme then globex",
                  groups == ["acme", "globex"], groups)
    page_rows = rows(dom)
    by_account = {}
    for r in page_rows:
        by_account.setdefault(r.attrs.get("data-account"), set()).add(r.attrs.get("data-iccid"))
    results.check("accounts: every row names its account (data-account), acme's discovered "
                  f"fleet ({ACME_FLEET_SIZE}) and globex's {len(GLOBEX_ICCIDS)} configured eSIMs",
                  set(by_account) == {"acme", "globex"}
                  and len(by_account["acme"]) == ACME_FLEET_SIZE
                  and ACME_NAMED_ICCID in by_account["acme"]
                  and by_account["globex"] == set(GLOBEX_ICCIDS),
                  {a: len(i) for a, i in by_account.items()})

    dom = chromium.dom(base + "?account=globex")
    globex_rows = rows(dom)
    results.check("accounts: ?account=globex shows globex's rows only (tr[data-account=globex])",
                  {r.attrs.get("data-iccid") for r in globex_rows} == set(GLOBEX_ICCIDS)
                  and all(r.attrs.get("data-account") == "globex" for r in globex_rows),
                  [(r.attrs.get("data-account"), r.attrs.get("data-iccid")) for r in globex_rows])
    showing = dom.by_id("showing")
    results.check("accounts: ?account=globex counts globex's eSIMs as matching",
                  showing is not None
                  and showing.attrs.get("data-matching") == str(len(GLOBEX_ICCIDS)),
                  showing.attrs if showing else "no #showing")


def main():
    global VERBOSE
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--exporter", required=True)
    parser.add_argument("--fake-api", required=True)
    parser.add_argument("--out-dir", default=os.getcwd(), help="where the screenshots stay")
    parser.add_argument("--chromium", default="chromium")
    parser.add_argument("--timeout", type=float, default=240)
    parser.add_argument("--keep-tmp", action="store_true")
    parser.add_argument("--verbose", action="store_true")
    args = parser.parse_args()
    VERBOSE = args.verbose
    args.exporter, args.fake_api = os.path.abspath(args.exporter), os.path.abspath(args.fake_api)
    args.out_dir = os.path.abspath(args.out_dir)
    tmp = tempfile.mkdtemp(prefix="esim-browser-")
    results = Results()
    try:
        run(args, tmp, results)
    except Fatal as e:
        results.check("run", False, str(e))
    finally:
        if args.keep_tmp:
            log(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    print(f"{len(results.passed)} passed, {len(results.failed)} failed")
    return 1 if results.failed else 0


if __name__ == "__main__":
    sys.exit(main())
