#!/usr/bin/env python3
"""Local-file and reload-flood measurements of the exporter (docs/http-hardening.md, "Local files").

    scripts/measure-local-files.py BINARY [--reloads 1000]

Cases, one line each:

  devzero   --web.config.file=/dev/zero: exit code and time to exit (killed after 20 s)
  fifo      a FIFO nobody writes to as --config.file: exit code and time to exit
  unchanged POST /-/reload N times with the config unchanged: log bytes written, reloads/s
  changing  the same with the config changed before each reload (two configs in turn): what
            every reload logged before unchanged reloads were recognized

The config's API is unreachable (http://127.0.0.1:9, which also draws the http:// warning every
applied reload repeats); the HTTP server does not need it. Default log level. Exits 0 even when a
case fails: the figures are the output.
"""
import argparse
import http.client
import os
import re
import subprocess
import sys
import tempfile
import time

ICCID = "8988247000100000000"


def config_text(timeout):
    return ("api:\n  url: http://127.0.0.1:9\n  access_code: a\n  secret_key_file: secret\n"
            f"  timeout: {timeout}\npoll:\n  interval: 60s\nesims:\n  - iccid: \"{ICCID}\"\n")


def write(path, text):
    with open(path, "w") as out:
        out.write(text)
    os.chmod(path, 0o600)


def run_until_exit(argv, limit=20.0):
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, err = proc.communicate(timeout=limit)
        return proc.returncode, time.monotonic() - start, err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return None, time.monotonic() - start, "killed after %.0f s" % limit


def flood(binary, directory, reloads, changing):
    config = os.path.join(directory, "config.yml")
    write(config, config_text("5s"))
    log_path = os.path.join(directory, "stderr-%s" % ("changing" if changing else "unchanged"))
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([binary, "--config.file=" + config,
                                 "--web.listen-address=127.0.0.1:0"],
                                stdout=subprocess.DEVNULL, stderr=log)
    try:
        port = None
        deadline = time.monotonic() + 20
        while port is None and time.monotonic() < deadline:
            match = re.search(r" port=([0-9]+)", open(log_path).read())
            port = int(match.group(1)) if match else None
            time.sleep(0.05)
        if port is None:
            return "exporter did not start"
        time.sleep(0.5)
        before = os.path.getsize(log_path)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        failed = 0
        start = time.monotonic()
        for i in range(reloads):
            if changing:
                write(config, config_text("6s" if i % 2 == 0 else "5s"))
            connection.request("POST", "/-/reload")
            answer = connection.getresponse()
            answer.read()
            failed += answer.status != 200
        took = time.monotonic() - start
        time.sleep(0.2)
        written = os.path.getsize(log_path) - before
        return "%d reloads (%d failed) in %.2f s (%.0f/s): %d log bytes (%.0f per reload)" % (
            reloads, failed, took, reloads / took, written, written / reloads)
    finally:
        proc.terminate()
        proc.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--reloads", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        write(os.path.join(directory, "secret"), "s\n")
        config = os.path.join(directory, "config.yml")
        write(config, config_text("5s"))
        code, took, err = run_until_exit([args.binary, "--config.file=" + config,
                                          "--web.config.file=/dev/zero",
                                          "--web.listen-address=127.0.0.1:0"])
        print("devzero   exit %s after %.0f ms: %s" % (code, took * 1000, err.strip()[-160:]))
        fifo = os.path.join(directory, "fifo.yml")
        os.mkfifo(fifo)
        code, took, err = run_until_exit([args.binary, "--config.file=" + fifo,
                                          "--web.listen-address=127.0.0.1:0"])
        print("fifo      exit %s after %.0f ms: %s" % (code, took * 1000, err.strip()[-160:]))
        print("unchanged " + flood(args.binary, directory, args.reloads, changing=False))
        print("changing  " + flood(args.binary, directory, args.reloads, changing=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
