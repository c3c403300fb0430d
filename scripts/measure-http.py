#!/usr/bin/env python3
"""Hostile-client measurements of the exporter's HTTP server (docs/http-hardening.md).

    scripts/measure-http.py BINARY [--runs 3] [--only burst,range,...]

Runs each case against a fresh exporter (a Release build is meant: cmake --preset release),
on loopback, with a config whose API is unreachable (the HTTP server does not need it), and
prints one line per case: the median of --runs runs of each figure. Cases:

  burst      200 clients connect at once and ask for /-/healthy: answered within 15 s
  range      GET / with 2,700 ranges, and a Range on /metrics: status and size of the answer
  headers    100,000 header lines of 1 KB (100 MB): status, bytes the server took, RSS
  chunked    100 MB chunked POST /-/reload: status, bytes the server took
  pipeline   4 pipelined GETs in one segment: answers; duplicate differing Content-Length
  trickle    N clients sending one header line a second, a scrape, then SIGTERM
  tasks      600 idle connections at 40/s, run as nobody under `prlimit --nproc=256`
  tasks_burst  the same 600 at once, each with a partial request line
  bcrypt     32 clients with a wrong password, then the first correct login (needs root for
             nothing; uses a cost-10 hash)

Needs: python3; root for `tasks` (setpriv to nobody). Exits 0 even when a case fails: the
figures are the output.
"""
import argparse
import os
import select
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import warnings

ICCID = "8988247000100000000"


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Exporter:
    def __init__(self, binary, workdir, extra_args=(), prefix=(), web_config=None):
        self.port = free_port()
        config = os.path.join(workdir, "config.yml")
        with open(config, "w") as f:
            f.write("api:\n  url: http://127.0.0.1:9\n  access_code: esf_measure\n"
                    "  secret_key: sk_measure\nesims:\n")
            for i in range(50):
                f.write(f'  - iccid: "{luhn(f"898824700010000{i:03d}")}"\n')
        os.chmod(config, 0o644)
        args = list(prefix) + [binary, f"--config.file={config}",
                               f"--web.listen-address=127.0.0.1:{self.port}"] + list(extra_args)
        if web_config:
            path = os.path.join(workdir, "web.yml")
            with open(path, "w") as f:
                f.write(web_config)
            os.chmod(path, 0o644)
            args.append(f"--web.config.file={path}")
        self.log = open(os.path.join(workdir, "exporter.log"), "w+")
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.time() + 20
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.3)

    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def terminate(self, timeout=30):
        start = time.time()
        if self.alive():
            self.process.terminate()
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        return code, time.time() - start


def luhn(digits):
    total = 0
    for i, d in enumerate(reversed(digits)):
        n = int(d)
        if i % 2 == 0:
            n *= 2
            n = n - 9 if n > 9 else n
        total += n
    return digits + str((10 - total % 10) % 10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, headers=None, timeout=30, auth=None):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers or {})
    if auth:
        import base64
        request.add_header("Authorization",
                           "Basic " + base64.b64encode(auth.encode()).decode())
    start = time.time()
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
            return response.status, len(body), dict(response.headers), time.time() - start
    except urllib.error.HTTPError as e:
        return e.code, len(e.read()), dict(e.headers), time.time() - start
    except Exception:
        return 0, 0, {}, time.time() - start


def read_all(sock, timeout):
    sock.setblocking(False)
    data = b""
    deadline = time.time() + timeout
    while time.time() < deadline:
        ready, _, _ = select.select([sock], [], [], max(0, deadline - time.time()))
        if not ready:
            break
        try:
            chunk = sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def send_until_refused(sock, block, total, timeout=10):
    """Sends `block` until `total` bytes or the server stops taking them; returns bytes sent."""
    sent = 0
    sock.setblocking(False)
    deadline = time.time() + timeout
    while sent < total and time.time() < deadline:
        _, writable, _ = select.select([], [sock], [], 1)
        if not writable:
            continue  # the server stopped reading; keep waiting until the deadline
        try:
            sent += sock.send(block)
        except (BlockingIOError, InterruptedError):
            continue
        except OSError:
            break
    return sent


def status_of(data):
    try:
        return int(data.split(b" ", 2)[1])
    except (IndexError, ValueError):
        return 0


# --- cases -------------------------------------------------------------------------------------

def case_burst(binary, workdir):
    exporter = Exporter(binary, workdir)
    socks = []
    for _ in range(200):
        s = socket.socket()
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", exporter.port))
        socks.append(s)
    start = time.time()
    pending = {s: b"" for s in socks}
    sent = set()
    answered = 0
    latencies = []
    while pending and time.time() - start < 15:
        _, writable, _ = select.select([], [s for s in pending if s not in sent], [], 0)
        for s in writable:
            try:
                s.send(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                sent.add(s)
            except OSError:
                pass
        readable, _, _ = select.select(list(pending), [], [], 0.05)
        for s in readable:
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            if chunk.startswith(b"HTTP/1.1 200"):
                answered += 1
                latencies.append(time.time() - start)
            if chunk.startswith(b"HTTP/1.1") or not chunk:
                del pending[s]
                s.close()
    for s in pending:
        s.close()
    exporter.terminate()
    return {"answered_of_200": answered,
            "slowest_s": round(max(latencies), 2) if latencies else None}


def case_range(binary, workdir):
    exporter = Exporter(binary, workdir)
    rss_before = rss_kib(exporter.pid())
    ranges = "bytes=0-" + ",0-" * 2690  # 8 KB, as much as one header line may hold
    status, size, _, _ = http_get(exporter.port, "/", {"Range": ranges})
    _, plain, _, _ = http_get(exporter.port, "/")
    for _ in range(3):
        http_get(exporter.port, "/", {"Range": ranges})
    metrics_status, metrics_size, headers, _ = http_get(exporter.port, "/metrics",
                                                        {"Range": "bytes=0-99"})
    result = {"landing_page_bytes": plain, "many_ranges_status": status,
              "many_ranges_bytes": size, "rss_growth_kib_4_requests":
              rss_kib(exporter.pid()) - rss_before,
              "metrics_range_status": metrics_status,
              "metrics_content_range": headers.get("Content-Range", "-")}
    exporter.terminate()
    return result


def case_headers(binary, workdir):
    exporter = Exporter(binary, workdir)
    rss_before = rss_kib(exporter.pid())
    s = socket.create_connection(("127.0.0.1", exporter.port))
    s.sendall(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n")
    line = b"X-Flood: " + b"a" * 1000 + b"\r\n"
    block = line * 1000
    result = {}
    answer = []
    reader = threading.Thread(target=lambda: answer.append(read_all(s, 40)))
    reader.start()
    sent = send_until_refused(s, block, 100 * 1000 * len(line), timeout=30)
    try:
        s.send(b"\r\n")
    except OSError:
        pass
    reader.join()
    time.sleep(0.5)
    result["status"] = status_of(answer[0]) if answer and answer[0] else "closed"
    result["mb_taken"] = round(sent / 1e6, 1)
    result["rss_growth_mib"] = round((rss_kib(exporter.pid()) - rss_before) / 1024, 1)
    s.close()
    exporter.terminate()
    return result


def case_chunked(binary, workdir):
    exporter = Exporter(binary, workdir)
    s = socket.create_connection(("127.0.0.1", exporter.port))
    s.sendall(b"POST /-/reload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
    chunk = b"10000\r\n" + b"x" * 65536 + b"\r\n"
    answer = []
    reader = threading.Thread(target=lambda: answer.append(read_all(s, 40)))
    reader.start()
    sent = send_until_refused(s, chunk, 100 * 1024 * 1024, timeout=30)
    try:
        s.send(b"0\r\n\r\n")
    except OSError:
        pass
    reader.join()
    s.close()
    exporter.terminate()
    return {"status": status_of(answer[0]) if answer and answer[0] else "closed",
            "mb_taken": round(sent / 1e6, 1)}


def case_pipeline(binary, workdir):
    exporter = Exporter(binary, workdir)
    s = socket.create_connection(("127.0.0.1", exporter.port))
    request = b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n"
    s.sendall(request * 3 + b"GET /-/healthy HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    answers = read_all(s, 10).count(b"HTTP/1.1 200")
    s.close()
    s = socket.create_connection(("127.0.0.1", exporter.port))
    s.sendall(b"POST /-/reload HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
              b"Content-Length: 2\r\n\r\nab")
    duplicate = status_of(read_all(s, 10))
    s.close()
    exporter.terminate()
    return {"answers_of_4": answers, "duplicate_content_length_status": duplicate}


def case_trickle(binary, workdir, clients):
    exporter = Exporter(binary, workdir)
    socks = []
    for _ in range(clients):
        try:
            s = socket.create_connection(("127.0.0.1", exporter.port), timeout=5)
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            s.setblocking(False)
            socks.append(s)
        except OSError:
            pass
    stop = threading.Event()

    def trickle():
        while not stop.is_set():
            for s in socks:
                try:
                    s.send(b"X-Slow: 1\r\n")
                except OSError:
                    pass
            stop.wait(1)

    thread = threading.Thread(target=trickle)
    thread.start()
    time.sleep(2)
    status, size, _, took = http_get(exporter.port, "/metrics", timeout=10)
    code, stop_took = exporter.terminate()
    stop.set()
    thread.join()
    for s in socks:
        s.close()
    return {"scrape_status": status, "scrape_s": round(took, 2), "exit_code": code,
            "sigterm_s": round(stop_took, 2)}


def case_tasks(binary, workdir, per_second, partial):
    if os.geteuid() != 0:
        return {"skipped": "needs root"}
    os.chmod(workdir, 0o755)
    exporter = Exporter(binary, workdir, prefix=["prlimit", "--nproc=256:256", "setpriv",
                                                 "--reuid=65534", "--regid=65534",
                                                 "--clear-groups"])
    socks = []
    for _ in range(600):
        try:
            s = socket.create_connection(("127.0.0.1", exporter.port), timeout=5)
            if partial:
                s.sendall(b"GET / HTTP/1.1\r\n")
            socks.append(s)
        except OSError:
            pass
        if per_second:
            time.sleep(1 / per_second)
    time.sleep(10)
    alive = exporter.alive()
    for s in socks:
        s.close()
    status = http_get(exporter.port, "/-/healthy", timeout=10)[0] if alive else 0
    code, _ = exporter.terminate()
    return {"alive_after_600": alive, "healthy_after": status, "exit_code": code}


def case_bcrypt(binary, workdir):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import crypt
        hashed = crypt.crypt("s3cret", crypt.mksalt(crypt.METHOD_BLOWFISH, rounds=1024))
    exporter = Exporter(binary, workdir,
                        web_config=f'basic_auth_users:\n  prometheus: "{hashed}"\n')
    stop = threading.Event()

    def flood():
        while not stop.is_set():
            http_get(exporter.port, "/metrics", auth="prometheus:guess", timeout=30)

    threads = [threading.Thread(target=flood) for _ in range(32)]
    for t in threads:
        t.start()
    time.sleep(1)
    status, _, _, took = http_get(exporter.port, "/metrics", auth="prometheus:s3cret", timeout=60)
    stop.set()
    for t in threads:
        t.join()
    exporter.terminate()
    return {"login_status": status, "login_s": round(took, 2)}


CASES = {
    "burst": case_burst,
    "range": case_range,
    "headers": case_headers,
    "chunked": case_chunked,
    "pipeline": case_pipeline,
    "trickle300": lambda b, w: case_trickle(b, w, 300),
    "trickle1150": lambda b, w: case_trickle(b, w, 1150),
    # The run: idle connections (nothing sent) opened at 40/s.
    "tasks": lambda b, w: case_tasks(b, w, 40, partial=False),
    # All at once, each with a partial request (past TCP_DEFER_ACCEPT, holding a worker).
    "tasks_burst": lambda b, w: case_tasks(b, w, 0, partial=True),
    "bcrypt": case_bcrypt,
}


def median(values):
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if len(numbers) == len(values):
        m = statistics.median(numbers)
        return round(m, 2) if isinstance(m, float) else m
    return "/".join(str(v) for v in values)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", default=",".join(CASES))
    args = parser.parse_args()
    for name in args.only.split(","):
        runs = []
        for _ in range(args.runs):
            with tempfile.TemporaryDirectory() as workdir:
                runs.append(CASES[name](os.path.abspath(args.binary), workdir))
        keys = runs[0].keys()
        # Exit codes and statuses of every run (a median would hide the one crash of three).
        def summary(key):
            values = [r.get(key) for r in runs]
            if key.endswith(("exit_code", "status")) or key.startswith("alive"):
                return "/".join(str(v) for v in values)
            return median(values)

        print(name + ": " + ", ".join(f"{k}={summary(k)}" for k in keys), flush=True)


if __name__ == "__main__":
    sys.exit(main())
