#!/usr/bin/env bash
# Checks the deployment files with the tools that understand them, as far as this machine allows
# (no container engine, no cluster, no running systemd):
#
#   files          every deployment file exists (files other work streams own: "pending")
#   yaml           every YAML file of the repository parses (but tests/testdata, deliberately
#                  broken files among it); every JSON file under deploy/ parses
#   dockerfile     FROM lines (debian:bookworm-slim or an earlier stage), stages, non-root USER,
#                  EXPOSE, HEALTHCHECK, ENTRYPOINT, the Release build without tests, COPY sources
#                  that exist and pass .dockerignore
#   apt-packages   every package the Dockerfile installs is known to apt-cache (skipped when the
#                  machine has no apt lists)
#   healthcheck    the image's HEALTHCHECK command, run here with bash against a local HTTP
#                  server: passes on 200, fails on 503 and on a closed port
#   runtime-libs   every shared library a built esim_exporter / fake_esimfly_api needs comes from a
#                  package the runtime stage installs (or from the base image)
#   config-check   `esim_exporter --config.check` accepts every shipped config (Docker, Compose,
#                  Kubernetes), when a built binary with --config.check is found
#   compose        structure of compose.yml (services, profiles, mounts and secrets that exist,
#                  build targets that exist), `promtool check config` on its Prometheus config
#                  (with the rules mounted as in the container), `amtool check-config` on the
#                  Alertmanager config it mounts, as it is and with the stack's rewrite of its
#                  webhooks to alert-log (every receiver must be such a webhook); alert-log, run
#                  here, prints a notification; the demo fleet equal to config/demo.yml's,
#                  `docker compose config` if available
#   systemd        `systemd-analyze verify` (ExecStart pointed at a stand-in executable) prints
#                  nothing; the required hardening directives are there; `systemd-analyze security
#                  --offline` exposure at most 2.0
#   storage        the durable state is wired everywhere to the image's --storage.path
#                  (/var/lib/esim_exporter): the systemd unit's StateDirectory= and ExecStart, the
#                  Dockerfile's VOLUME and ENTRYPOINT, a declared named volume per Compose
#                  exporter, the StatefulSet's volumeClaimTemplates (one ReadWriteOnce claim per
#                  replica) and the Deployment's bounded emptyDir (with strategy Recreate), each
#                  mounted at that path
#   kubernetes     `kubectl kustomize` (or, without kubectl, an emulation) renders the single-replica
#                  and the sharded variant, each with and without the prometheus-operator component:
#                  no Secret is ever rendered (the user creates it as README.md says, with the names
#                  the pods mount); the config is one ConfigMap named with the hash of config.yml,
#                  and editing config.yml changes that name in the pod template (pods roll); the
#                  exporter reads 0400 copies of the Secret's files made by an init container in a
#                  memory-backed volume; ServiceMonitor and PrometheusRule only with the component;
#                  the workloads' security context, probes, resources, selectors, ports, the shard
#                  flags; the ServiceMonitor finds the Services
#   k8s-accounts   several accounts: deploy/kubernetes-per-account renders (kubectl kustomize) one
#                  Deployment, Service and ConfigMap per account, each config listing that account
#                  alone with its credentials under /run/secrets/esimfly_<account>_*, no Secret; every
#                  workload (single, sharded, per account, with components/named-accounts-only)
#                  copies the Secret's esimfly_* keys with an optional init container; the component
#                  makes the unnamed account's keys optional
#   prometheusrule deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml is what
#                  tests/deploy/gen_prometheusrule.sh makes of
#                  deploy/prometheus/rules/esim_exporter.rules.yml, and promtool accepts it
#
#   tests/deploy/check_deploy.sh [REPO_ROOT]     (default: this script's ../..)
#
# Environment: ESIM_EXPORTER_BINARY / FAKE_API_BINARY point at built binaries (default: the first
# of build/, build/release/, build/dev/ that has them). Needs python3 with PyYAML
# (Debian: python3-yaml). Exits 1 when any check failed or is pending.
set -uo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${1:-$here/../..}" && pwd)" || { echo "no such directory: ${1:-}" >&2; exit 2; }
cd "$root" || exit 2

passed=0 failed=0 skipped=0
declare -a failures=()
ok() { echo "ok      $1"; passed=$((passed + 1)); }
fail() { echo "FAIL    $1: $2"; failed=$((failed + 1)); failures+=("$1"); }
skip() { echo "skip    $1: $2"; skipped=$((skipped + 1)); }
pending() { echo "PENDING $1: $2"; failed=$((failed + 1)); failures+=("$1 (pending)"); }

tmp=$(mktemp -d)
cleanup() {
  [[ -n ${http_pid:-} ]] && kill "$http_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT

PY=${PYTHON:-python3}
if ! "$PY" -c 'import yaml' 2>/dev/null; then
  if /usr/bin/python3 -c 'import yaml' 2>/dev/null; then
    PY=/usr/bin/python3
  else
    echo "check_deploy: python3 with PyYAML is required (apt-get install -y python3-yaml)" >&2
    echo "check_deploy: 0 passed, 1 failed"
    exit 1
  fi
fi

# Runs an embedded Python check; its stdout is the failure detail (empty: passed), exit 3 = pending,
# exit 4 = skipped.
run_py() {
  local name=$1 out rc
  shift
  out=$("$PY" - "$root" "$tmp" "$@" 2>&1)
  rc=$?
  case $rc in
    0) if [[ -n $out ]]; then fail "$name" $'\n'"$out"; else ok "$name"; fi ;;
    3) pending "$name" "$out" ;;
    4) skip "$name" "$out" ;;
    *) fail "$name" $'\n'"$out" ;;
  esac
}

find_binary() {  # find_binary ENV_VALUE RELATIVE_PATH
  if [[ -n $1 ]]; then
    [[ -x $1 ]] && echo "$1"
    return
  fi
  local d
  for d in build build/release build/dev build/asan; do
    [[ -x $root/$d/$2 ]] && { echo "$root/$d/$2"; return; }
  done
}
exporter_bin=$(find_binary "${ESIM_EXPORTER_BINARY:-}" esim_exporter)
fake_api_bin=$(find_binary "${FAKE_API_BINARY:-}" tests/fake_esimfly_api)

# ---------------------------------------------------------------------------------------------
# files
kcomp=deploy/kubernetes/components/prometheus-operator
mine=(Dockerfile .dockerignore deploy/compose/compose.yml deploy/compose/prometheus.yml
      deploy/compose/esim_exporter.yml deploy/compose/demo/esim_exporter.yml
      deploy/compose/secrets/.gitignore deploy/compose/alert-log/Dockerfile
      deploy/compose/alert-log/alert_log.py
      systemd/esim_exporter.service
      deploy/kubernetes/config.yml
      deploy/kubernetes/deployment.yaml deploy/kubernetes/service.yaml
      deploy/kubernetes/statefulset-sharded.yaml deploy/kubernetes/kustomization.yaml
      "$kcomp/kustomization.yaml" "$kcomp/servicemonitor.yaml" "$kcomp/prometheusrule.yaml"
      deploy/kubernetes/components/named-accounts-only/kustomization.yaml
      deploy/kubernetes/components/named-accounts-only/optional-unnamed-credentials.yaml
      deploy/kubernetes-per-account/kustomization.yaml
      deploy/kubernetes-per-account/acme/kustomization.yaml
      deploy/kubernetes-per-account/acme/config.yml
      deploy/kubernetes-per-account/globex/kustomization.yaml
      deploy/kubernetes-per-account/globex/config.yml
      deploy/kubernetes/README.md tests/deploy/gen_prometheusrule.sh docs/contract.md
      docs/esimfly-api.md)
theirs=(deploy/prometheus/rules/esim_exporter.rules.yml deploy/prometheus/alertmanager.yml
        deploy/grafana/provisioning deploy/grafana/dashboards config/example.yml config/demo.yml
        config/demo-secret-key)
missing=() waiting=()
for f in "${mine[@]}"; do [[ -e $f ]] || missing+=("$f"); done
for f in "${theirs[@]}"; do [[ -e $f ]] || waiting+=("$f"); done
if ((${#missing[@]})); then
  fail files "missing: ${missing[*]}"
elif ((${#waiting[@]})); then
  pending files "not written yet: ${waiting[*]}"
else
  ok files
fi

# ---------------------------------------------------------------------------------------------
# yaml
run_py yaml <<'PY'
import json, os, sys, yaml
root = sys.argv[1]
skip_dirs = {".git", "node_modules", ".cache"}
bad = []
count = 0
for dirpath, dirnames, filenames in os.walk(root):
    rel = os.path.relpath(dirpath, root)
    # build trees are not ours; tests/testdata and the fuzz corpus hold deliberately broken
    # files.
    dirnames[:] = [d for d in dirnames
                   if d not in skip_dirs and not (rel == "." and d.startswith("build"))
                   and not (rel == "tests" and d in ("testdata", "fuzz"))]
    for f in filenames:
        p = os.path.join(dirpath, f)
        r = os.path.relpath(p, root)
        try:
            if f.endswith((".yml", ".yaml")):
                with open(p, encoding="utf-8") as fh:
                    list(yaml.safe_load_all(fh))
                count += 1
            elif f.endswith(".json") and r.startswith("deploy" + os.sep):
                with open(p, encoding="utf-8") as fh:
                    json.load(fh)
                count += 1
        except Exception as e:  # noqa: BLE001 - report every parse error
            bad.append(f"{r}: {e}")
if count == 0:
    print("no YAML file found")
print("\n".join(bad))
PY

# ---------------------------------------------------------------------------------------------
# dockerfile (static) + its apt packages
run_py dockerfile <<'PY'
import json, os, re, shlex, subprocess, sys
root = sys.argv[1]
problems, pend = [], []
text = open(os.path.join(root, "Dockerfile"), encoding="utf-8").read()
# Join continuation lines, drop comments.
lines, cur = [], ""
for raw in text.splitlines():
    s = raw.strip()
    if not cur and (not s or s.startswith("#")):
        continue
    if s.startswith("#"):
        continue
    if s.endswith("\\"):
        cur += s[:-1] + " "
        continue
    lines.append(cur + s)
    cur = ""
instrs = []
for l in lines:
    kw, _, rest = l.partition(" ")
    instrs.append((kw.upper(), rest.strip()))

args = {}
stages = []  # [name, [(kw, rest)]]
for kw, rest in instrs:
    if kw == "ARG" and not stages:
        k, _, v = rest.partition("=")
        args[k] = v
    if kw == "FROM":
        m = re.match(r"(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$", rest, re.I)
        if not m:
            problems.append(f"cannot read FROM {rest}")
            continue
        image = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda g: args.get(g.group(1) or g.group(2), "?"),
                       m.group(1))
        names = [s[0] for s in stages]
        if image not in names and image != "debian:bookworm-slim":
            problems.append(f"FROM {m.group(1)} (= {image}): neither debian:bookworm-slim nor an earlier stage")
        stages.append([m.group(2) or f"#{len(stages)}", [], image])
    elif stages:
        stages[-1][1].append((kw, rest))
names = [s[0] for s in stages]
for need in ("build-deps", "builder", "runtime-base", "demo", "runtime"):
    if need not in names:
        problems.append(f"no stage named {need}")
if names and names[-1] != "runtime":
    problems.append(f"the last stage (the default target) is {names[-1]}, not runtime")

def stage(name):
    for s in stages:
        if s[0] == name:
            return s
    return None

def chain(name):
    """The instructions in effect for stage `name`, base stages first."""
    s = stage(name)
    if not s:
        return []
    base = chain(s[2]) if s[2] in names else []
    return base + s[1]

def cmake_runs(name):
    return " ".join(r for k, r in chain(name) if k == "RUN" and "cmake" in r)

b = cmake_runs("builder")
for flag in ("-DCMAKE_BUILD_TYPE=Release", "-DESIM_BUILD_TESTS=OFF", "-G Ninja"):
    if flag not in b:
        problems.append(f"builder: cmake without {flag}")
if "fake_esimfly_api" not in " ".join(r for s in stages for k, r in s[1] if k == "COPY" and s[0] == "demo"):
    problems.append("demo: fake_esimfly_api is not copied in")

rt = chain("runtime")
users = [r for k, r in rt if k == "USER"]
if not users or not re.match(r"^10001(:10001)?$", users[-1]):
    problems.append(f"runtime: USER is {users[-1] if users else 'unset'}, want 10001 (non-root, numeric)")
if "10417" not in " ".join(r for k, r in rt if k == "EXPOSE"):
    problems.append("runtime: no EXPOSE 10417")
hc = [r for k, r in rt if k == "HEALTHCHECK"]
if not hc or "CMD" not in hc[-1]:
    problems.append("runtime: no HEALTHCHECK CMD")
ep = [r for k, r in rt if k == "ENTRYPOINT"]
try:
    epv = json.loads(ep[-1]) if ep else None
except ValueError:
    epv = None
if not epv or epv[0] != "/usr/bin/esim_exporter" or "--config.file=/etc/esim_exporter/config.yml" not in epv:
    problems.append(f"runtime: ENTRYPOINT should be the exec form of /usr/bin/esim_exporter --config.file=/etc/esim_exporter/config.yml, is {ep[-1] if ep else None}")
if not any(k == "COPY" and "/usr/bin/esim_exporter" in r for k, r in rt):
    problems.append("runtime: the binary is not copied to /usr/bin/esim_exporter")
if not any(k == "COPY" and r.split()[-1] == "/etc/esim_exporter/config.yml" for k, r in rt):
    problems.append("runtime: no config at /etc/esim_exporter/config.yml")
rtpk = " ".join(r for k, r in rt if k == "RUN")
if re.search(r"\b(build-essential|-dev)\b", rtpk):
    problems.append("runtime: installs build packages")

# .dockerignore, with Docker's rules: patterns in order, the last match wins, a pattern that
# matches a parent directory matches everything below it.
def pat_re(p):
    out, i = "", 0
    while i < len(p):
        if p.startswith("**/", i):
            out += "(?:.*/)?"; i += 3
        elif p.startswith("**", i):
            out += ".*"; i += 2
        elif p[i] == "*":
            out += "[^/]*"; i += 1
        elif p[i] == "?":
            out += "[^/]"; i += 1
        else:
            out += re.escape(p[i]); i += 1
    return re.compile(out + "$")
rules = []
di = os.path.join(root, ".dockerignore")
for l in open(di, encoding="utf-8").read().splitlines() if os.path.exists(di) else []:
    l = l.strip()
    if not l or l.startswith("#"):
        continue
    neg = l.startswith("!")
    p = os.path.normpath(l[1:] if neg else l).lstrip("/")
    rules.append((neg, pat_re(p)))
def included(path):
    parts = path.split("/")
    result = True
    for neg, rx in rules:
        if any(rx.match("/".join(parts[:i])) for i in range(1, len(parts) + 1)):
            result = neg
    return result
for s in stages:
    for k, r in s[1]:
        if k not in ("COPY", "ADD") or "--from=" in r:
            continue
        srcs = shlex.split(r)[:-1]
        for src in srcs:
            if src.startswith("--"):
                continue
            if src == ".":
                continue
            if not os.path.exists(os.path.join(root, src)):
                pend.append(f"{s[0]}: COPY source {src} does not exist yet")
            elif not included(src):
                problems.append(f"{s[0]}: COPY source {src} is excluded by .dockerignore")
for need in ("CMakeLists.txt", "src/main.cc", "tests/CMakeLists.txt", "tests/fake_api/fleet.cc",
             ".git/HEAD"):
    if not included(need):
        problems.append(f".dockerignore excludes {need}, which the build needs")
for leak in ("build/esim_exporter", "deploy/compose/secrets/esimfly_secret_key"):
    if included(leak):
        problems.append(f".dockerignore lets {leak} into the build context")

if problems:
    print("\n".join(problems))
elif pend:
    print("; ".join(pend))
    sys.exit(3)
PY

# ---------------------------------------------------------------------------------------------
# apt-packages: every package the Dockerfile installs is known to apt (Debian 12's lists here).
run_py apt-packages <<'PY'
import glob, os, re, subprocess, sys
root = sys.argv[1]
text = open(os.path.join(root, "Dockerfile"), encoding="utf-8").read().replace("\\\n", " ")
pkgs = set()
for m in re.finditer(r"apt-get install ([^&;|\n]*)", text):
    pkgs.update(w for w in m.group(1).split() if not w.startswith("-"))
if len(pkgs) < 10:
    print(f"found only {len(pkgs)} packages in the Dockerfile's apt-get install lines: {sorted(pkgs)}")
    sys.exit(0)
if not glob.glob("/var/lib/apt/lists/*_Packages*"):
    print("no apt package lists on this machine (run apt-get update)")
    sys.exit(4)
problems = []
for p in sorted(pkgs):
    r = subprocess.run(["apt-cache", "show", "--no-all-versions", p], capture_output=True, text=True)
    if r.returncode != 0 or "Package:" not in r.stdout:
        problems.append(f"{p} is unknown to apt-cache")
print("\n".join(problems))
PY

# ---------------------------------------------------------------------------------------------
# healthcheck: the runtime image's HEALTHCHECK, run here against a local server.
healthcheck_cmd=$("$PY" - "$root/Dockerfile" <<'PY'
import json, re, sys
text = open(sys.argv[1], encoding="utf-8").read().replace("\\\n", " ")
# The first HEALTHCHECK is the runtime one (runtime-base); the demo stage has its own.
m = re.search(r"^HEALTHCHECK\b.*?\bCMD\s+(\[.*\])\s*$", text, re.M)
if m:
    print(json.loads(m.group(1))[-1])
PY
)
if [[ -z $healthcheck_cmd ]]; then
  fail healthcheck "no exec-form HEALTHCHECK CMD [\"/bin/bash\", \"-c\", ...] in the Dockerfile"
else
  port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cat >"$tmp/server.py" <<'PY'
import http.server, sys
state = {"code": 200}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/-/healthy":
            code = int(open(sys.argv[2]).read().strip())
        else:
            code = 404
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"ok\n")
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
  echo 200 >"$tmp/code"
  "$PY" "$tmp/server.py" "$port" "$tmp/code" 2>/dev/null &
  http_pid=$!
  for _ in $(seq 50); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
  done
  hc() { ESIM_HEALTHCHECK_PORT=$1 timeout 10 /bin/bash -c "$healthcheck_cmd" >/dev/null 2>&1; }
  problems=""
  hc "$port" || problems+=" fails on 200;"
  echo 503 >"$tmp/code"
  hc "$port" && problems+=" passes on 503;"
  kill "$http_pid" 2>/dev/null; wait "$http_pid" 2>/dev/null; http_pid=
  hc "$port" && problems+=" passes with nothing listening;"
  if [[ -n $problems ]]; then fail healthcheck "$problems"; else ok healthcheck; fi
fi

# ---------------------------------------------------------------------------------------------
# runtime-libs: shared libraries of the built binaries vs. the runtime stage's packages.
if [[ -z $exporter_bin ]]; then
  skip runtime-libs "no built esim_exporter (build it, or set ESIM_EXPORTER_BINARY)"
else
  run_py runtime-libs "$exporter_bin" "$fake_api_bin" <<'PY'
import os, re, subprocess, sys
root = sys.argv[1]
bins = [b for b in sys.argv[3:] if b]
text = open(os.path.join(root, "Dockerfile"), encoding="utf-8").read().replace("\\\n", " ")
m = re.search(r"FROM \S+ AS runtime-base\n(.*?)\nFROM ", text, re.S)
runtime_pkgs = set()
for im in re.finditer(r"apt-get install ([^&;|\n]*)", m.group(1) if m else ""):
    runtime_pkgs.update(w for w in im.group(1).split() if not w.startswith("-"))
# In debian:bookworm-slim already (Essential or required by apt).
base = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libsystemd0", "libzstd1", "liblzma5",
        "libgcrypt20", "libgpg-error0", "liblz4-1", "libcap2"}
problems = []
for b in bins:
    needed = re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]",
                        subprocess.run(["readelf", "-d", b], capture_output=True, text=True).stdout)
    ldd = subprocess.run(["ldd", b], capture_output=True, text=True).stdout
    paths = dict(re.findall(r"^\s*(\S+) => (\S+)", ldd, re.M))
    for lib in needed:
        path = paths.get(lib)
        if not path or path == "not":
            problems.append(f"{os.path.basename(b)}: {lib} not found by ldd")
            continue
        real = os.path.realpath(path)
        owner = None
        for cand in (path, real, path.replace("/usr/lib/", "/lib/"), real.replace("/usr/lib/", "/lib/")):
            r = subprocess.run(["dpkg", "-S", cand], capture_output=True, text=True)
            if r.returncode == 0:
                owner = r.stdout.split(":")[0].strip()
                break
        if owner is None:
            problems.append(f"{os.path.basename(b)}: {lib} ({path}) belongs to no Debian package")
        elif owner not in runtime_pkgs and owner not in base:
            problems.append(f"{os.path.basename(b)}: {lib} comes from {owner}, which the runtime stage does not install")
print("\n".join(problems))
PY
fi

# ---------------------------------------------------------------------------------------------
# config-check: every shipped config passes the exporter's own validation.
if [[ -z $exporter_bin ]]; then
  skip config-check "no built esim_exporter (build it, or set ESIM_EXPORTER_BINARY)"
elif ! "$exporter_bin" --help 2>&1 | grep -q -- '--config.check'; then
  skip config-check "$exporter_bin has no --config.check yet"
else
  run_py config-check "$exporter_bin" <<'PY'
import os, re, subprocess, sys, yaml
root, tmp, binary = sys.argv[1], sys.argv[2], sys.argv[3]
configs = {}
for rel in ("config/example.yml", "config/demo.yml", "deploy/compose/esim_exporter.yml",
            "deploy/compose/demo/esim_exporter.yml"):
    p = os.path.join(root, rel)
    if os.path.exists(p):
        configs[rel] = yaml.safe_load(open(p, encoding="utf-8"))
configs["deploy/kubernetes/config.yml"] = yaml.safe_load(
    open(os.path.join(root, "deploy/kubernetes/config.yml"), encoding="utf-8"))
# One Deployment per account: configs with accounts: (checked once the binary knows accounts:).
per_account = os.path.join(root, "deploy/kubernetes-per-account")
for a in sorted(os.listdir(per_account)) if os.path.isdir(per_account) else []:
    p = os.path.join(per_account, a, "config.yml")
    if os.path.exists(p):
        configs[f"deploy/kubernetes-per-account/{a}/config.yml"] = yaml.safe_load(
            open(p, encoding="utf-8"))
problems = []
secret = os.path.join(tmp, "secret_key")
with open(secret, "w") as f:
    f.write("sk_check_deploy_secret")
os.chmod(secret, 0o600)
access = os.path.join(tmp, "access_code")
with open(access, "w") as f:
    f.write("esf_check_deploy")
os.chmod(access, 0o600)
creds = os.path.join(tmp, "credentials")
os.makedirs(creds, exist_ok=True)
with open(os.path.join(creds, "esimfly_secret_key"), "w") as f:
    f.write("sk_check_deploy_secret")
os.chmod(os.path.join(creds, "esimfly_secret_key"), 0o600)
for rel, cfg in configs.items():
    # The files the config names exist only inside the container: point them at stand-ins.
    for api in [a.get("api", {}) for a in cfg.get("accounts") or []] or [cfg.setdefault("api", {})]:
        if "secret_key_file" in api:
            api["secret_key_file"] = secret
        if "access_code_file" in api:
            api["access_code_file"] = access
    path = os.path.join(tmp, rel.replace("/", "_"))
    with open(path, "w") as f:
        yaml.safe_dump(cfg, f, sort_keys=False)
    # As in the image: a secret in $CREDENTIALS_DIRECTORY (/run/secrets there), the access code
    # from ESIMFLY_ACCESS_CODE when the config gives none (config/example.yml gives neither).
    env = {k: v for k, v in os.environ.items()
           if k not in ("ESIMFLY_SECRET_KEY", "ESIMFLY_ACCESS_CODE", "CREDENTIALS_DIRECTORY")}
    env.update(ESIMFLY_ACCESS_CODE="esf_check_deploy", CREDENTIALS_DIRECTORY=creds)
    r = subprocess.run([binary, "--config.check", f"--config.file={path}"], capture_output=True,
                       text=True, env=env, timeout=30)
    out = (r.stdout + r.stderr).strip()
    if r.returncode != 0 and "accounts" in cfg and re.search(r"unknown key[^\n]*accounts", out, re.I):
        continue  # a binary from before accounts: (issue 14); nothing to check it against
    if r.returncode != 0:
        problems.append(f"{rel}: --config.check exit {r.returncode}: {out}")
print("\n".join(problems))
PY
fi

# ---------------------------------------------------------------------------------------------
# compose
run_py compose <<'PY'
import os, re, shutil, subprocess, sys, yaml
root, tmp = sys.argv[1], sys.argv[2]
cdir = os.path.join(root, "deploy/compose")
doc = yaml.safe_load(open(os.path.join(cdir, "compose.yml"), encoding="utf-8"))
problems, pend = [], []
services = doc.get("services", {})
want = {"exporter": ["live"], "exporter-demo": ["demo"], "fake-api": ["demo"],
        "prometheus": None, "alertmanager": None, "alert-log": None, "grafana": None}
for name, profiles in want.items():
    s = services.get(name)
    if s is None:
        problems.append(f"no service {name}")
        continue
    if s.get("profiles") != profiles:
        problems.append(f"{name}: profiles {s.get('profiles')}, want {profiles}")
dockerfile = open(os.path.join(root, "Dockerfile"), encoding="utf-8").read()
targets = set(re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", dockerfile, re.M | re.I))
for name, s in services.items():
    b = s.get("build")
    if b:
        ctx = os.path.normpath(os.path.join(cdir, b.get("context", ".")))
        if not os.path.exists(os.path.join(ctx, b.get("dockerfile", "Dockerfile"))):
            problems.append(f"{name}: build context {b.get('context')} has no Dockerfile")
        if b.get("target") and b["target"] not in targets:
            problems.append(f"{name}: build target {b['target']} is no Dockerfile stage")
    for v in s.get("volumes", []):
        src = v.split(":")[0] if isinstance(v, str) else v.get("source", "")
        if src.startswith((".", "/")):
            p = os.path.normpath(os.path.join(cdir, src))
            if not os.path.exists(p):
                pend.append(f"{name}: mounted {src} does not exist (yet)")
        elif src and src not in (doc.get("volumes") or {}):
            problems.append(f"{name}: volume {src} is not declared")
    for sec in s.get("secrets", []):
        src = sec if isinstance(sec, str) else sec.get("source")
        if src not in (doc.get("secrets") or {}):
            problems.append(f"{name}: secret {src} is not declared")
for k in ("read_only", "cap_drop"):
    for name in ("exporter", "exporter-demo", "fake-api", "alert-log"):
        if k not in services.get(name, {}):
            problems.append(f"{name}: no {k}")
aliases = (((services.get("exporter-demo") or {}).get("networks") or {}).get("default") or {}).get("aliases", [])
if "exporter" not in aliases:
    problems.append("exporter-demo: needs the network alias `exporter` (Prometheus scrapes exporter:10417)")
secrets = doc.get("secrets") or {}
demo_secret = os.path.normpath(os.path.join(cdir, secrets.get("esimfly_demo_secret_key", {}).get("file", "?")))
if not os.path.isfile(demo_secret):
    pend.append(f"the demo secret file {demo_secret} does not exist (yet)")
live_secret = secrets.get("esimfly_secret_key", {}).get("file", "")
if not live_secret.startswith("./secrets/"):
    problems.append(f"the live secret {live_secret} is not under ./secrets/ (which git ignores)")
r = subprocess.run(["git", "-C", root, "check-ignore", "-q", "deploy/compose/secrets/esimfly_secret_key"])
if r.returncode != 0:
    problems.append("git does not ignore deploy/compose/secrets/esimfly_secret_key")

# The demo exporter's config polls the fake-api service, with the same fleet as config/demo.yml.
demo = yaml.safe_load(open(os.path.join(cdir, "demo/esim_exporter.yml"), encoding="utf-8"))
if not demo["api"]["url"].startswith("http://fake-api:"):
    problems.append(f"demo config: api.url {demo['api']['url']} is not the fake-api service")
port = demo["api"]["url"].rsplit(":", 1)[-1]
if not any(f"0.0.0.0:{port}" in a for a in services.get("fake-api", {}).get("command", [])):
    problems.append(f"fake-api does not listen on 0.0.0.0:{port}")
ref = os.path.join(root, "config/demo.yml")
if os.path.exists(ref):
    # Equal to config/demo.yml but for the API address and the secret's path.
    native = yaml.safe_load(open(ref, encoding="utf-8"))
    for cfg in (native, demo):
        cfg.get("api", {}).pop("url", None)
        cfg.get("api", {}).pop("secret_key_file", None)
    for key in sorted(set(native) | set(demo)):
        if native.get(key) != demo.get(key):
            problems.append(f"deploy/compose/demo/esim_exporter.yml: `{key}` differs from config/demo.yml's")
else:
    pend.append("config/demo.yml does not exist yet (the demo config is compared with it)")

# Prometheus: promtool check config with the rules where the container has them.
prom = yaml.safe_load(open(os.path.join(cdir, "prometheus.yml"), encoding="utf-8"))
targets_ = [t for sc in prom.get("scrape_configs", []) for st in sc.get("static_configs", [])
            for t in st.get("targets", [])]
if "exporter:10417" not in targets_:
    problems.append("prometheus.yml does not scrape exporter:10417")
ams = [t for a in prom.get("alerting", {}).get("alertmanagers", []) for st in a.get("static_configs", [])
       for t in st.get("targets", [])]
if ams != ["alertmanager:9093"]:
    problems.append(f"prometheus.yml alerts to {ams}, want alertmanager:9093")
rules_dir = os.path.join(root, "deploy/prometheus/rules")
promtool = shutil.which("promtool")
if not os.path.isdir(rules_dir) or not any(f.endswith(".rules.yml") for f in os.listdir(rules_dir)):
    pend.append("no deploy/prometheus/rules/*.rules.yml yet")
elif promtool:
    pdir = os.path.join(tmp, "prometheus")
    os.makedirs(pdir, exist_ok=True)
    shutil.copy(os.path.join(cdir, "prometheus.yml"), pdir)
    os.symlink(rules_dir, os.path.join(pdir, "rules"))
    r = subprocess.run([promtool, "check", "config", os.path.join(pdir, "prometheus.yml")],
                       capture_output=True, text=True)
    if r.returncode != 0 or "0 rules found" in r.stdout:
        problems.append("promtool check config:\n" + r.stdout + r.stderr)

# The Alertmanager config the stack mounts, with the stack's rewrite of the placeholder webhooks
# to the alert-log service applied as the container applies it at start.
amtool = shutil.which("amtool")
am = os.path.join(root, "deploy/prometheus/alertmanager.yml")
am_cmd = " ".join(services.get("alertmanager", {}).get("command") or [])
rewrite = re.search(r"sed '(s#([^#]+)#([^#]+)#g)' /etc/alertmanager/alertmanager\.yml > (\S+) &&"
                    r" exec /bin/alertmanager --config\.file=(\S+)", am_cmd)
if not rewrite or rewrite.group(4) != rewrite.group(5):
    problems.append(f"alertmanager: command is not the webhook rewrite of the shipped config: {am_cmd!r}")
elif os.path.exists(am):
    placeholder, target = rewrite.group(2), rewrite.group(3)
    if not target.startswith("http://alert-log:5001/"):
        problems.append(f"alertmanager: webhooks are rewritten to {target}, not the alert-log service")
    am_text = open(am, encoding="utf-8").read()
    am_doc = yaml.safe_load(am_text)
    urls = [w.get("url", "") for r in am_doc.get("receivers", []) for w in r.get("webhook_configs", [])]
    others = [r["name"] for r in am_doc.get("receivers", [])
              if any(k.endswith("_configs") and k != "webhook_configs" for k in r)]
    if not urls:
        problems.append("deploy/prometheus/alertmanager.yml has no webhook receiver for alert-log to show")
    for u in urls:
        if not u.startswith(placeholder):
            problems.append(f"alertmanager.yml webhook {u} does not start with {placeholder}: the "
                            "Compose stack would not show its notifications in alert-log")
    if others:
        problems.append(f"alertmanager.yml receivers {others} send elsewhere than webhooks: the "
                        "Compose stack would not show their notifications in alert-log")
    rewritten = os.path.join(tmp, "alertmanager.compose.yml")
    with open(rewritten, "w", encoding="utf-8") as f:
        f.write(am_text.replace(placeholder, target))
    for path, what in ((am, "deploy/prometheus/alertmanager.yml"), (rewritten, "its Compose rewrite")):
        if amtool:
            r = subprocess.run([amtool, "check-config", path], capture_output=True, text=True)
            if r.returncode != 0:
                problems.append(f"amtool check-config {what}:\n" + r.stdout + r.stderr)

# alert-log: built from Debian's python3, prints a notification (run here on a free port).
al = services.get("alert-log", {})
al_dir = os.path.normpath(os.path.join(cdir, (al.get("build") or {}).get("context", "?")))
al_docker = os.path.join(al_dir, "Dockerfile")
al_script = os.path.join(al_dir, "alert_log.py")
if not os.path.isfile(al_docker) or not os.path.isfile(al_script):
    problems.append(f"alert-log: no Dockerfile and alert_log.py in {al_dir}")
else:
    df = open(al_docker, encoding="utf-8").read()
    if not re.search(r"^FROM debian:bookworm-slim\s*$", df, re.M) or "python3" not in df:
        problems.append("alert-log/Dockerfile: not debian:bookworm-slim with Debian's python3")
    if not re.search(r"^USER (?!0\b|root\b)\S+", df, re.M):
        problems.append("alert-log/Dockerfile: runs as root")
    import json, socket, time, urllib.request
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-u", al_script, f"--listen=127.0.0.1:{port}"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        note = {"version": "4", "status": "firing", "receiver": "pager",
                "groupLabels": {"alertname": "EsimDepleted"},
                "alerts": [{"status": "firing",
                            "labels": {"alertname": "EsimDepleted", "severity": "critical",
                                       "iccid": "8934000012345678905", "name": "tracker-depleted",
                                       "site": "syd", "job": "esim_exporter"},
                            "annotations": {"summary": "tracker-depleted has no data left"}}]}
        for _ in range(50):
            try:
                req = urllib.request.Request(f"http://127.0.0.1:{port}/pager",
                                             data=json.dumps(note).encode(), method="POST",
                                             headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(req, timeout=5) as resp:
                    code = resp.status
                break
            except OSError:
                time.sleep(0.1)
        else:
            code = None
    finally:
        proc.terminate()
        out = proc.communicate(timeout=10)[0]
    if code != 200:
        problems.append(f"alert-log: answered {code} to a notification; output: {out[-300:]}")
    elif not re.search(r"receiver=pager status=firing alerts=1.*\n\s+FIRING\s+alertname=EsimDepleted "
                       r"severity=critical iccid=8934000012345678905 name=tracker-depleted site=syd"
                       r" \| tracker-depleted has no data left", out):
        problems.append(f"alert-log: did not print the notification as expected:\n{out}")

# docker compose config, when a Compose client exists (it needs no engine).
cli = None
for c in (["docker", "compose"], ["docker-compose"]):
    if shutil.which(c[0]) and subprocess.run(c + ["version"], capture_output=True).returncode == 0:
        cli = c
        break
if cli:
    for profile in ("demo", "live"):
        r = subprocess.run(cli + ["--profile", profile, "config", "-q"], cwd=cdir,
                           capture_output=True, text=True)
        if r.returncode != 0:
            problems.append(f"{' '.join(cli)} --profile {profile} config: {r.stderr.strip()}")
if problems:
    print("\n".join(problems))
elif pend:
    print("; ".join(pend))
    sys.exit(3)
PY

# ---------------------------------------------------------------------------------------------
# storage: the state directory (--storage.path) in every shipped deployment. Static: no tools
# but PyYAML, so it runs where systemd-analyze, docker and kubectl do not.
run_py storage <<'PY'
import json, os, re, sys, yaml
root = sys.argv[1]
path = "/var/lib/esim_exporter"
problems = []

def read(rel):
    return open(os.path.join(root, rel), encoding="utf-8").read()

unit = read("systemd/esim_exporter.service").splitlines()
if "StateDirectory=esim_exporter" not in unit:
    problems.append("systemd: no StateDirectory=esim_exporter (systemd creates /var/lib/esim_exporter)")
if not any(l.startswith("StateDirectoryMode=07") for l in unit):
    problems.append("systemd: no StateDirectoryMode=07xx (the state is the exporter's alone)")
execs = [l for l in unit if l.startswith("ExecStart=")]
if not execs or f"--storage.path={path}" not in execs[-1].split():
    problems.append(f"systemd: ExecStart does not pass --storage.path={path}")

dockerfile = read("Dockerfile")
if not re.search(rf"^VOLUME\s+\[?\"?{re.escape(path)}\"?\]?\s*$", dockerfile, re.M):
    problems.append(f"Dockerfile: no VOLUME {path}")
entry = [json.loads(m) for m in re.findall(r"^ENTRYPOINT\s+(\[.*\])\s*$", dockerfile, re.M)
         if "esim_exporter\"" in m]
if not entry or f"--storage.path={path}" not in entry[-1]:
    problems.append(f"Dockerfile: the exporter's ENTRYPOINT does not pass --storage.path={path}")

compose = yaml.safe_load(read("deploy/compose/compose.yml"))
declared = compose.get("volumes") or {}
used = {}
for name in ("exporter", "exporter-demo"):
    service = (compose.get("services") or {}).get(name) or {}
    mounts = []
    for v in service.get("volumes") or []:
        if isinstance(v, str):
            src, dst = (v.split(":") + [""])[:2]
        else:
            src, dst = v.get("source", ""), v.get("target", "")
        if dst == path:
            mounts.append(src)
    if len(mounts) != 1 or mounts[0] not in declared:
        problems.append(f"compose: service {name} does not mount one declared named volume at "
                        f"{path} (mounts {mounts})")
    else:
        used.setdefault(mounts[0], []).append(name)
for volume, services in used.items():
    if len(services) > 1:
        problems.append(f"compose: {services} share volume {volume}: the second exporter would "
                        "find the directory locked")

def workload(rel, kind):
    docs = [d for d in yaml.safe_load_all(read(rel)) if d and d.get("kind") == kind]
    if len(docs) != 1:
        problems.append(f"{rel}: {len(docs)} {kind}s, want 1")
        return None
    return docs[0]

def exporter_mount(rel, pod):
    containers = [c for c in pod.get("containers", []) if c.get("name") == "esim-exporter"] or \
        pod.get("containers", [])[:1]
    mounts = [m for m in (containers[0].get("volumeMounts") or []) if m.get("mountPath") == path] \
        if containers else []
    if len(mounts) != 1 or mounts[0].get("readOnly"):
        problems.append(f"{rel}: the exporter container does not mount a writable volume at {path}")
        return None
    return mounts[0]["name"]

sts = workload("deploy/kubernetes/statefulset-sharded.yaml", "StatefulSet")
if sts:
    rel = "statefulset-sharded.yaml"
    name = exporter_mount(rel, sts["spec"]["template"]["spec"])
    claims = {c["metadata"]["name"]: c for c in sts["spec"].get("volumeClaimTemplates") or []}
    pod_volumes = {v["name"] for v in sts["spec"]["template"]["spec"].get("volumes") or []}
    if name and name not in claims:
        problems.append(f"{rel}: {path} is volume {name}, not one of the volumeClaimTemplates "
                        f"{sorted(claims)} (a volume per replica)")
    elif name:
        spec = claims[name].get("spec") or {}
        if spec.get("accessModes") != ["ReadWriteOnce"]:
            problems.append(f"{rel}: claim {name} accessModes {spec.get('accessModes')}, want "
                            "[ReadWriteOnce]")
        if not ((spec.get("resources") or {}).get("requests") or {}).get("storage"):
            problems.append(f"{rel}: claim {name} requests no storage size")
        if name in pod_volumes:
            problems.append(f"{rel}: a pod volume {name} hides the claim of the same name")

deploy = workload("deploy/kubernetes/deployment.yaml", "Deployment")
if deploy:
    rel = "deployment.yaml"
    pod = deploy["spec"]["template"]["spec"]
    name = exporter_mount(rel, pod)
    volumes = {v["name"]: v for v in pod.get("volumes") or []}
    empty = (volumes.get(name) or {}).get("emptyDir")
    if name and empty is None:
        problems.append(f"{rel}: {path} is not an emptyDir volume (the documented choice)")
    elif name:
        if empty.get("medium") == "Memory":
            problems.append(f"{rel}: the state emptyDir is memory-backed (counts against the "
                            "container's memory)")
        if not empty.get("sizeLimit"):
            problems.append(f"{rel}: the state emptyDir has no sizeLimit")
    if (deploy["spec"].get("strategy") or {}).get("type") != "Recreate":
        problems.append(f"{rel}: strategy is not Recreate (two pods would share a budget)")
print("\n".join(problems))
PY

# ---------------------------------------------------------------------------------------------
# systemd
unit=systemd/esim_exporter.service
if ! command -v systemd-analyze >/dev/null; then
  skip systemd "systemd-analyze not installed"
else
  mkdir -p "$tmp/systemd"
  printf '#!/bin/sh\nexit 0\n' >"$tmp/systemd/esim_exporter"
  chmod +x "$tmp/systemd/esim_exporter"
  grep -q '^ExecStart=/usr/bin/esim_exporter ' "$unit" || fail systemd "ExecStart is not /usr/bin/esim_exporter"
  sed "s#/usr/bin/esim_exporter#$tmp/systemd/esim_exporter#g" "$unit" >"$tmp/systemd/esim_exporter.service"
  problems=""
  out=$(systemd-analyze verify "$tmp/systemd/esim_exporter.service" 2>&1) || problems+=$'\n'"verify failed"
  [[ -n $out ]] && problems+=$'\n'"systemd-analyze verify says: $out"
  while read -r want; do
    grep -qxF -- "$want" "$unit" || problems+=$'\n'"missing: $want"
  done <<'EOF'
Type=notify
NotifyAccess=main
WatchdogSec=30
DynamicUser=yes
LoadCredential=esimfly_secret_key:/etc/esim_exporter/secret_key
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
NoNewPrivileges=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=
SystemCallFilter=@system-service
MemoryMax=256M
LockPersonality=yes
RestrictNamespaces=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
ExecReload=/bin/kill -HUP $MAINPID
Restart=on-failure
EOF
  grep -q '^MemoryHigh=' "$unit" || problems+=$'\n'"missing: MemoryHigh="
  # A named account's credentials (accounts: in the config): commented out, ready to enable.
  for c in secret_key access_code webhook_secret; do
    grep -qE "^#LoadCredential=esimfly_[a-z][a-z0-9_-]*_${c}:/etc/esim_exporter/" "$unit" ||
      problems+=$'\n'"missing: a commented #LoadCredential=esimfly_<account>_${c}:/etc/esim_exporter/..."
  done
  mkdir -p "$tmp/systemd/accounts"
  sed 's/^#LoadCredential=esimfly_/LoadCredential=esimfly_/' "$tmp/systemd/esim_exporter.service" \
    >"$tmp/systemd/accounts/esim_exporter.service"
  out=$(systemd-analyze verify "$tmp/systemd/accounts/esim_exporter.service" 2>&1) ||
    problems+=$'\n'"verify failed with the account credentials enabled"
  [[ -n $out ]] && problems+=$'\n'"systemd-analyze verify, account credentials enabled: $out"
  grep -q '^UMask=' "$unit" || problems+=$'\n'"missing: UMask="
  sec=$(systemd-analyze security --offline=yes --threshold=20 --no-pager \
          "$tmp/systemd/esim_exporter.service" 2>&1)
  rc=$?
  level=$(grep -o 'Overall exposure level for [^:]*: [0-9.]*' <<<"$sec" | awk '{print $NF}')
  if ((rc != 0)); then
    problems+=$'\n'"systemd-analyze security: exposure ${level:-?} is above 2.0"
  fi
  if [[ -n $problems ]]; then fail systemd "$problems"; else ok "systemd (exposure $level)"; fi
fi

# ---------------------------------------------------------------------------------------------
# kubernetes: render every variant, then check what the manifests promise.
#   single         kustomization.yaml as shipped
#   sharded        the StatefulSet instead of the Deployment and its Service
#   single+operator, sharded+operator   with components/prometheus-operator enabled
#   single+edited  config.yml changed: the ConfigMap's name (hash) and the pod template change
kdir=deploy/kubernetes
variant() {  # variant NAME SHARDED(0|1) OPERATOR(0|1) EDIT_CONFIG(0|1): a copy of $kdir, edited
  local dir="$tmp/k8s-$1"
  rm -rf "$dir"
  cp -r "$kdir" "$dir"
  if (($2)); then
    sed -i -e '/^  - deployment.yaml .*# single$/d' -e '/^  - service.yaml .*# single$/d' \
           -e 's/^  # - statefulset-sharded.yaml\(.*\)# sharded$/  - statefulset-sharded.yaml\1# sharded/' \
           "$dir/kustomization.yaml"
  fi
  if (($3)); then
    sed -i -e 's/^# components:$/components:/' \
           -e 's/^#   - components\/prometheus-operator$/  - components\/prometheus-operator/' \
           "$dir/kustomization.yaml"
  fi
  if (($4)); then
    sed -i 's/^  interval: 15m$/  interval: 20m/' "$dir/config.yml"
  fi
  echo "$dir"
}
k8s_variants=("single 0 0 0" "sharded 1 0 0" "single+operator 0 1 0" "sharded+operator 1 1 0"
              "single+edited 0 0 1")
if command -v kubectl >/dev/null; then
  render_err=""
  rendered=()
  for v in "${k8s_variants[@]}"; do
    read -r name sharded operator edited <<<"$v"
    dir=$(variant "$name" "$sharded" "$operator" "$edited")
    if kubectl kustomize "$dir" >"$tmp/$name.yaml" 2>"$tmp/$name.err"; then
      rendered+=("$name=$tmp/$name.yaml")
    else
      render_err+=$'\n'"$name: $(cat "$tmp/$name.err")"
    fi
  done
  if [[ -n $render_err ]]; then
    fail kustomize "$render_err"
    rendered=()
  else
    ok kustomize
  fi
else
  skip kustomize "kubectl not installed; emulating kustomize for the checks below"
  rendered=()
  for v in "${k8s_variants[@]}"; do
    read -r name sharded operator edited <<<"$v"
    rendered+=("$name=dir:$(variant "$name" "$sharded" "$operator" "$edited")")
  done
fi
if ((${#rendered[@]})); then
run_py kubernetes "${rendered[@]}" <<'PY'
import hashlib, os, re, shlex, sys, yaml
root, tmp = sys.argv[1], sys.argv[2]
kdir = os.path.join(root, "deploy/kubernetes")
problems = []

def load(path):
    return [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]

def emulate(d):
    """What `kubectl kustomize d` renders, as far as these manifests need (no kubectl here)."""
    k = yaml.safe_load(open(os.path.join(d, "kustomization.yaml"), encoding="utf-8"))
    docs = [x for r in k.get("resources") or [] for x in load(os.path.join(d, r))]
    for c in k.get("components") or []:
        ck = yaml.safe_load(open(os.path.join(d, c, "kustomization.yaml"), encoding="utf-8"))
        docs += [x for r in ck.get("resources") or [] for x in load(os.path.join(d, c, r))]
    renamed = {}
    for g in k.get("configMapGenerator") or []:
        data = {os.path.basename(f): open(os.path.join(d, f), encoding="utf-8").read()
                for f in g.get("files", [])}
        digest = hashlib.sha256(repr(sorted(data.items())).encode()).hexdigest()[:10]
        renamed[g["name"]] = f"{g['name']}-{digest}"
        docs.append({"apiVersion": "v1", "kind": "ConfigMap", "data": data,
                     "metadata": {"name": renamed[g["name"]],
                                  "labels": (g.get("options") or {}).get("labels", {})}})
    for x in docs:
        for v in (((x.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes", []):
            if "configMap" in v and v["configMap"]["name"] in renamed:
                v["configMap"]["name"] = renamed[v["configMap"]["name"]]
    return docs

variants = {}
for arg in sys.argv[3:]:
    name, _, where = arg.partition("=")
    variants[name] = emulate(where[4:]) if where.startswith("dir:") else load(where)

def matches(selector, labels):
    return all(labels.get(k) == v for k, v in selector.items())

# The Secret is created by the user (deploy/kubernetes/README.md): its name and keys there must be
# what the workloads mount.
readme = open(os.path.join(kdir, "README.md"), encoding="utf-8").read().replace("\\\n", " ")
create = re.search(r"kubectl\b[^\n`]*?\bcreate secret generic (\S+)([^\n`]*)", readme)
if not create:
    problems.append("README.md: no `kubectl ... create secret generic NAME ...` step")
    readme_secret, readme_keys = None, set()
else:
    readme_secret = create.group(1)
    readme_keys = set(re.findall(r"--from-(?:literal|file)=([A-Za-z0-9_.-]+)=", create.group(2)))

config_text = open(os.path.join(kdir, "config.yml"), encoding="utf-8").read()
config_api = (yaml.safe_load(config_text) or {}).get("api", {})
config_names = {}
for vname, docs in variants.items():
    def err(msg):
        problems.append(f"{vname}: {msg}")
    for d in docs:
        if not d.get("apiVersion") or not d.get("kind") or not d.get("metadata", {}).get("name"):
            err(f"a document without apiVersion/kind/metadata.name: {str(d)[:80]}")
        if d.get("metadata", {}).get("namespace"):
            err(f"{d['kind']} {d['metadata']['name']} sets a namespace (the manifests are namespace-free)")
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], []).append(d)
    # Never a Secret: `kubectl apply -k` must not create or overwrite the user's credentials.
    for sec in by_kind.get("Secret", []):
        err(f"renders Secret {sec['metadata']['name']}: kubectl apply -k would overwrite the user's")
    # The operator's objects only with the component.
    want_operator = vname.endswith("+operator")
    for kind in ("ServiceMonitor", "PrometheusRule"):
        n = len(by_kind.get(kind, []))
        if want_operator and n != 1:
            err(f"{n} {kind} objects with components/prometheus-operator, want 1")
        if not want_operator and n:
            err(f"renders a {kind} without components/prometheus-operator (it needs the operator's CRDs)")
    # The config: one generated ConfigMap, named with the hash of config.yml.
    cms = by_kind.get("ConfigMap", [])
    if len(cms) != 1 or not re.fullmatch(r"esim-exporter-config-[a-z0-9]{6,}", cms[0]["metadata"]["name"]):
        err(f"ConfigMaps {[c['metadata']['name'] for c in cms]}, want one esim-exporter-config-<hash> "
            "(configMapGenerator)")
    elif "+edited" not in vname and cms[0]["data"].get("config.yml") != config_text:
        err("the ConfigMap's config.yml is not deploy/kubernetes/config.yml")
    workloads = by_kind.get("Deployment", []) + by_kind.get("StatefulSet", [])
    want_kind = "StatefulSet" if vname.startswith("sharded") else "Deployment"
    if [w["kind"] for w in workloads] != [want_kind]:
        err(f"workloads {[w['kind'] for w in workloads]}, want exactly one {want_kind}")
    services = by_kind.get("Service", [])
    for w in workloads:
        wn = f"{w['kind']} {w['metadata']['name']}"
        spec = w["spec"]
        tpl = spec["template"]
        tlabels = tpl["metadata"].get("labels", {})
        if not matches(spec["selector"]["matchLabels"], tlabels):
            err(f"{wn}: selector does not match the pod labels")
        pod = tpl["spec"]
        psc = pod.get("securityContext", {})
        if psc.get("runAsNonRoot") is not True:
            err(f"{wn}: runAsNonRoot is not true")
        if psc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
            err(f"{wn}: seccompProfile is not RuntimeDefault")
        if pod.get("automountServiceAccountToken") is not False:
            err(f"{wn}: mounts a service account token it does not need")
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for c in pod.get("initContainers", []) + pod["containers"]:
            cn = f"{wn}/{c['name']}"
            sc = c.get("securityContext", {})
            if sc.get("readOnlyRootFilesystem") is not True:
                err(f"{cn}: readOnlyRootFilesystem is not true")
            if sc.get("allowPrivilegeEscalation") is not False:
                err(f"{cn}: allowPrivilegeEscalation is not false")
            if sc.get("capabilities", {}).get("drop") != ["ALL"]:
                err(f"{cn}: capabilities do not drop ALL")
            res = c.get("resources", {})
            if not res.get("requests") or not res.get("limits", {}).get("memory"):
                err(f"{cn}: no resource requests or memory limit")
        if len(pod["containers"]) != 1:
            err(f"{wn}: {len(pod['containers'])} containers, want the exporter alone")
            continue
        c = pod["containers"][0]
        if c.get("livenessProbe", {}).get("httpGet", {}).get("path") != "/-/healthy":
            err(f"{wn}: livenessProbe is not GET /-/healthy")
        if c.get("readinessProbe", {}).get("httpGet", {}).get("path") != "/-/ready":
            err(f"{wn}: readinessProbe is not GET /-/ready")
        ports = {p["name"]: p["containerPort"] for p in c.get("ports", [])}
        if ports.get("http-metrics") != 10417:
            err(f"{wn}: no port http-metrics 10417")
        for pr in ("livenessProbe", "readinessProbe", "startupProbe"):
            p = c.get(pr, {}).get("httpGet", {}).get("port")
            if p is not None and p not in ports and p not in ports.values():
                err(f"{wn}: {pr} port {p} is not a container port")
        args = c.get("args", [])
        if w["kind"] == "StatefulSet":
            total = [a.split("=", 1)[1] for a in args if a.startswith("--shard.total=")]
            if total != [str(spec["replicas"])]:
                err(f"{wn}: --shard.total {total} is not replicas {spec['replicas']}")
            if "--shard.index=$(POD_NAME)" not in args:
                err(f"{wn}: no --shard.index=$(POD_NAME)")
            env = {e["name"]: e for e in c.get("env", [])}
            if env.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") != "metadata.name":
                err(f"{wn}: POD_NAME is not the pod name")
            hs = [s for s in services if s["metadata"]["name"] == spec.get("serviceName")]
            if not hs or hs[0]["spec"].get("clusterIP") != "None":
                err(f"{wn}: serviceName {spec.get('serviceName')} is not a headless Service")
        elif any(a.startswith("--shard.") for a in args):
            err(f"{wn}: a single replica must not shard")
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        # The config: the generated ConfigMap, mounted as /etc/esim_exporter/config.yml.
        cm_vols = [v for v in volumes.values() if "configMap" in v]
        if len(cm_vols) != 1 or mounts.get(cm_vols[0]["name"]) != "/etc/esim_exporter":
            err(f"{wn}: config.yml is not mounted from one ConfigMap at /etc/esim_exporter")
        elif cms and cm_vols[0]["configMap"]["name"] != cms[0]["metadata"]["name"]:
            err(f"{wn}: mounts ConfigMap {cm_vols[0]['configMap']['name']}, not the generated "
                f"{cms[0]['metadata']['name']}")
        else:
            config_names[vname] = cm_vols[0]["configMap"]["name"]
        # The credentials: the user's Secret, read only by the init container, which copies each
        # file with mode 0400 into a memory-backed volume; the exporter reads the copies (the
        # kubelet makes a Secret's files 0440 under fsGroup, and the exporter warns about those).
        sec_vols = [v for v in volumes.values() if "secret" in v]
        if len(sec_vols) != 1:
            err(f"{wn}: {len(sec_vols)} Secret volumes, want 1")
            continue
        sv = sec_vols[0]
        if readme_secret and sv["secret"]["secretName"] != readme_secret:
            err(f"{wn}: mounts Secret {sv['secret']['secretName']}, README.md creates {readme_secret}")
        items = {it["key"]: it["path"] for it in sv["secret"].get("items", [])}
        if readme_keys and set(items) != readme_keys:
            err(f"{wn}: Secret keys {sorted(items)}, README.md's create step gives {sorted(readme_keys)}")
        if sv["name"] in mounts:
            err(f"{wn}: the exporter mounts the Secret itself (its files are group-readable)")
        copied = {}
        for ic in pod.get("initContainers", []):
            imounts = {m["name"]: m["mountPath"] for m in ic.get("volumeMounts", [])}
            if sv["name"] not in imounts:
                continue
            cmd = ic.get("command", []) + ic.get("args", [])
            if not cmd or os.path.basename(cmd[0]) != "install" or "--mode=0400" not in cmd:
                err(f"{wn}/{ic['name']}: does not copy the credentials with install --mode=0400")
                continue
            target = [a.split("=", 1)[1] for a in cmd if a.startswith("--target-directory=")]
            dest = [n for n, p in imounts.items() if target and p == target[0]]
            if not dest or "emptyDir" not in volumes.get(dest[0], {}):
                err(f"{wn}/{ic['name']}: the target directory {target} is not an emptyDir volume")
                continue
            if volumes[dest[0]]["emptyDir"].get("medium") != "Memory":
                err(f"{wn}: the credentials' copy is not memory-backed (emptyDir medium: Memory)")
            for src in [a for a in cmd[1:] if not a.startswith("-")]:
                if os.path.dirname(src) != imounts[sv["name"]] or os.path.basename(src) not in items.values():
                    err(f"{wn}/{ic['name']}: copies {src}, not a file of the Secret volume")
                if dest[0] in mounts:
                    copied[os.path.join(mounts[dest[0]], os.path.basename(src))] = src
        if not copied:
            err(f"{wn}: no init container copies the Secret into a volume the exporter mounts")
        if set(os.path.basename(p) for p in copied) != set(items.values()):
            err(f"{wn}: copies {sorted(copied)}, the Secret volume has {sorted(items.values())}")
        for k in ("secret_key_file", "access_code_file"):
            if k in config_api and config_api[k] not in copied:
                err(f"{wn}: config.yml api.{k} {config_api[k]} is not a copied credential "
                    f"({sorted(copied)})")
        # A Service selecting this workload's pods, and no Service selecting two workloads.
        sel = [s for s in services if matches(s["spec"].get("selector", {}), tlabels)]
        if len(sel) != 1:
            err(f"{wn}: selected by {len(sel)} Services, want 1 (each shard scraped once)")
        for s in sel:
            for p in s["spec"]["ports"]:
                if p.get("targetPort") not in ("http-metrics", 10417):
                    err(f"Service {s['metadata']['name']}: targetPort {p.get('targetPort')}")
    for sm in by_kind.get("ServiceMonitor", []):
        sel = sm["spec"]["selector"]["matchLabels"]
        hit = [s for s in services if matches(sel, s["metadata"].get("labels", {}))]
        if not hit:
            err("the ServiceMonitor selects no Service")
        for ep in sm["spec"]["endpoints"]:
            for s in hit:
                if ep["port"] not in [p.get("name") for p in s["spec"]["ports"]]:
                    err(f"ServiceMonitor port {ep['port']} is not a port of Service {s['metadata']['name']}")
# A config change must roll the pods: a new ConfigMap name in the pod template.
if "single" in config_names and "single+edited" in config_names and \
        config_names["single"] == config_names["single+edited"]:
    problems.append("editing config.yml does not change the ConfigMap's name: the pods would not roll")
print("\n".join(problems))
PY
fi

# ---------------------------------------------------------------------------------------------
# k8s-accounts: several accounts (one Deployment per account, or one exporter / the shards with
# accounts: and components/named-accounts-only).
if ! command -v kubectl >/dev/null; then
  skip k8s-accounts "kubectl not installed"
else
  acc_err="" acc_args=()
  # deploy/kubernetes-per-account refers to deploy/kubernetes: render a copy of both.
  mkdir -p "$tmp/acc/deploy"
  cp -r "$kdir" deploy/kubernetes-per-account "$tmp/acc/deploy/" 2>/dev/null ||
    acc_err+=$'\n'"deploy/kubernetes-per-account is missing"
  for v in "single 0" "sharded 1"; do
    read -r name sharded <<<"$v"
    dir=$(variant "accounts-$name" "$sharded" 0 0)
    sed -i -e 's/^# components:$/components:/' \
           -e 's/^#   - components\/named-accounts-only$/  - components\/named-accounts-only/' \
           "$dir/kustomization.yaml"
    if kubectl kustomize "$dir" >"$tmp/accounts-$name.yaml" 2>"$tmp/accounts-$name.err"; then
      acc_args+=("$name+named-accounts-only=$tmp/accounts-$name.yaml")
    else
      acc_err+=$'\n'"$name+named-accounts-only: $(cat "$tmp/accounts-$name.err")"
    fi
  done
  if [[ -d $tmp/acc/deploy/kubernetes-per-account ]]; then
    if kubectl kustomize "$tmp/acc/deploy/kubernetes-per-account" >"$tmp/per-account.yaml" \
         2>"$tmp/per-account.err"; then
      acc_args+=("per-account=$tmp/per-account.yaml")
    else
      acc_err+=$'\n'"per-account: $(cat "$tmp/per-account.err")"
    fi
  fi
  for f in "$tmp"/single.yaml "$tmp"/sharded.yaml; do
    [[ -f $f ]] && acc_args+=("$(basename "$f" .yaml)=$f")
  done
  if [[ -n $acc_err ]]; then
    fail k8s-accounts "$acc_err"
  else
    run_py k8s-accounts "${acc_args[@]}" <<'PY'
import os, re, sys, yaml
root, tmp = sys.argv[1], sys.argv[2]
problems = []
per_account_dir = os.path.join(root, "deploy/kubernetes-per-account")
listed = (yaml.safe_load(open(os.path.join(per_account_dir, "kustomization.yaml"), encoding="utf-8"))
          or {}).get("resources") or []
for arg in sys.argv[3:]:
    vname, _, path = arg.partition("=")
    docs = [d for d in yaml.safe_load_all(open(path, encoding="utf-8")) if d]
    def err(msg):
        problems.append(f"{vname}: {msg}")
    kinds = {}
    for d in docs:
        kinds.setdefault(d["kind"], []).append(d)
    for sec in kinds.get("Secret", []):
        err(f"renders Secret {sec['metadata']['name']}: kubectl apply -k would overwrite the user's")
    cms = {c["metadata"]["name"]: c for c in kinds.get("ConfigMap", [])}
    workloads = kinds.get("Deployment", []) + kinds.get("StatefulSet", [])
    if vname == "per-account" and sorted(w["metadata"]["name"] for w in workloads) != \
            sorted(f"esim-exporter-{a}" for a in listed):
        err(f"workloads {[w['kind'] + ' ' + w['metadata']['name'] for w in workloads]}, want one "
            f"Deployment esim-exporter-<account> for each of {listed}")
    for w in workloads:
        wn = f"{w['kind']} {w['metadata']['name']}"
        pod = w["spec"]["template"]["spec"]
        tlabels = w["spec"]["template"]["metadata"].get("labels", {})
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        # The init container copying the Secret's esimfly_<account>_* keys: an optional projection
        # of the whole Secret (no items), copied with mode 0400 into the exporter's memory volume.
        acc = [ic for ic in pod.get("initContainers", []) if ic["name"] == "account-credentials"]
        if len(acc) != 1:
            err(f"{wn}: no init container account-credentials")
            continue
        ic = acc[0]
        imounts = {m["name"]: m["mountPath"] for m in ic.get("volumeMounts", [])}
        script = " ".join(ic.get("command", []) + ic.get("args", []))
        src_vol = [n for n in imounts if "projected" in volumes.get(n, {})]
        if len(src_vol) != 1:
            err(f"{wn}/account-credentials: reads no projected volume")
            continue
        srcs = volumes[src_vol[0]]["projected"]["sources"]
        if not (len(srcs) == 1 and "secret" in srcs[0] and srcs[0]["secret"].get("optional") is True
                and not srcs[0]["secret"].get("items")):
            err(f"{wn}: volume {src_vol[0]} is not the whole Secret, optional: {srcs}")
        secret_vols = [v["secret"]["secretName"] for v in volumes.values() if "secret" in v]
        if secret_vols and srcs and srcs[0].get("secret", {}).get("name") != secret_vols[0]:
            err(f"{wn}: account keys come from {srcs[0].get('secret', {}).get('name')}, the API key "
                f"from {secret_vols[0]}")
        if f"{imounts[src_vol[0]]}/esimfly_*" not in script or "install --mode=0400" not in script:
            err(f"{wn}/account-credentials: does not copy {imounts[src_vol[0]]}/esimfly_* with "
                "install --mode=0400")
        dest = re.search(r"--target-directory=(\S+)", script)
        dvol = [n for n, p in imounts.items() if dest and p == dest.group(1)]
        c = pod["containers"][0]
        mounts = {m["name"]: m["mountPath"] for m in c.get("volumeMounts", [])}
        if not dvol or volumes.get(dvol[0], {}).get("emptyDir", {}).get("medium") != "Memory" \
                or mounts.get(dvol[0]) != "/run/secrets":
            err(f"{wn}/account-credentials: does not copy into the memory volume the exporter "
                "mounts at /run/secrets")
        if src_vol[0] in mounts:
            err(f"{wn}: the exporter mounts the Secret itself (its files are group-readable)")
        named_only = vname == "per-account" or vname.endswith("+named-accounts-only")
        cs = volumes.get("credentials-secret", {}).get("secret", {})
        if named_only != bool(cs.get("optional")):
            err(f"{wn}: the unnamed account's Secret keys are {'optional' if cs.get('optional') else 'required'}"
                f"{' with' if named_only else ' without'} components/named-accounts-only")
        if named_only:
            cred = [i for i in pod["initContainers"] if i["name"] == "credentials"]
            cmd = " ".join(cred[0].get("command", [])) if cred else ""
            if "[ -e" not in cmd or "install --mode=0400" not in cmd:
                err(f"{wn}/credentials: does not copy the optional unnamed keys only when present")
        if vname != "per-account":
            continue
        # One account per Deployment, named by its instance label, with its own credentials.
        account = tlabels.get("app.kubernetes.io/instance")
        if w["metadata"]["name"] != f"esim-exporter-{account}":
            err(f"{wn}: instance label {account} does not name it")
        if w["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/instance") != account:
            err(f"{wn}: the selector does not include app.kubernetes.io/instance={account}")
        cmv = [v["configMap"]["name"] for v in volumes.values() if "configMap" in v]
        if len(cmv) != 1 or cmv[0] not in cms:
            err(f"{wn}: mounts ConfigMaps {cmv}, not one rendered")
            continue
        cfg = yaml.safe_load(cms[cmv[0]]["data"]["config.yml"])
        accs = cfg.get("accounts") or []
        if [a.get("name") for a in accs] != [account] or "api" in cfg or "esims" in cfg:
            err(f"{wn}: config lists accounts {[a.get('name') for a in accs]} (and top-level "
                f"{[k for k in ('api', 'esims') if k in cfg]}), want {account} alone")
            continue
        api = accs[0].get("api", {})
        for k, want in (("access_code_file", f"/run/secrets/esimfly_{account}_access_code"),
                        ("secret_key_file", f"/run/secrets/esimfly_{account}_secret_key")):
            if api.get(k) != want:
                err(f"{wn}: accounts[0].api.{k} is {api.get(k)}, want {want}")
        svcs = [s for s in kinds.get("Service", [])
                if all(tlabels.get(k) == v for k, v in s["spec"].get("selector", {}).items())]
        if len(svcs) != 1:
            err(f"{wn}: selected by {len(svcs)} Services, want 1")
    if vname == "per-account":
        for s in kinds.get("Service", []):
            hit = [w for w in workloads if all(
                w["spec"]["template"]["metadata"]["labels"].get(k) == v
                for k, v in s["spec"].get("selector", {}).items())]
            if len(hit) != 1:
                err(f"Service {s['metadata']['name']} selects {len(hit)} Deployments, want 1")
print("\n".join(problems))
PY
  fi
fi

# ---------------------------------------------------------------------------------------------
# prometheusrule: generated from the rules file, in sync, accepted by promtool.
rules_file=deploy/prometheus/rules/esim_exporter.rules.yml
if [[ ! -f $rules_file ]]; then
  pending prometheusrule "$rules_file does not exist yet"
elif ! out=$("$here/gen_prometheusrule.sh" --check "$root" 2>&1); then
  if (($(wc -l <<<"$out") > 30)); then
    out="$(head -n 25 <<<"$out")"$'\n...\n'"$(tail -n 1 <<<"$out")"
  fi
  fail prometheusrule $'\n'"$out"
else
  run_py prometheusrule <<'PY'
import os, shutil, subprocess, sys, yaml
root, tmp = sys.argv[1], sys.argv[2]
pr = yaml.safe_load(open(os.path.join(root, "deploy/kubernetes/components/prometheus-operator/prometheusrule.yaml"),
                       encoding="utf-8"))
rules = yaml.safe_load(open(os.path.join(root, "deploy/prometheus/rules/esim_exporter.rules.yml"), encoding="utf-8"))
if pr.get("kind") != "PrometheusRule" or pr.get("apiVersion") != "monitoring.coreos.com/v1":
    print("not a monitoring.coreos.com/v1 PrometheusRule"); sys.exit(0)
if pr.get("spec") != rules:
    print("spec differs from the rules file once parsed"); sys.exit(0)
promtool = shutil.which("promtool")
if promtool:
    p = os.path.join(tmp, "prometheusrule.spec.yml")
    with open(p, "w") as f:
        yaml.safe_dump(pr["spec"], f)
    r = subprocess.run([promtool, "check", "rules", p], capture_output=True, text=True)
    if r.returncode != 0:
        print("promtool check rules on the spec:\n" + r.stdout + r.stderr)
PY
fi

# ---------------------------------------------------------------------------------------------
echo
if ((failed)); then
  echo "check_deploy: failed or pending: ${failures[*]}"
fi
echo "check_deploy: $passed passed, $failed failed, $skipped skipped"
((failed == 0))
