#!/usr/bin/env python3
"""Writes a config listing N eSIMs, for measuring the config load (docs/benchmarks.md).

Usage: scripts/gen-config.py N [--accounts=K] [--no-labels] > config.yml

Each eSIM has an ICCID (valid Luhn digit), a name and two labels, as tests/bench/load_bench.cc
writes them (--no-labels: an ICCID and a name). With --accounts=K the eSIMs are spread over K
`accounts:` entries instead of the top-level `esims:` list. The config gives an inline `secret_key`, so that it checks
anywhere (with a warning about the inline key).
"""
import sys


def luhn_digit(payload: str) -> str:
    total = 0
    for i, c in enumerate(reversed(payload)):
        d = int(c)
        if i % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return str((10 - total % 10) % 10)


def esim_lines(i: int, indent: str, labels: bool) -> str:
    payload = "894400000%09d" % i
    iccid = payload + luhn_digit(payload)
    lines = f'{indent}- iccid: "{iccid}"\n{indent}  name: esim-{i}\n'
    if labels:
        fleet = "trackers" if i % 2 else "routers"
        lines += f'{indent}  labels: {{site: site-{i % 50}, fleet: {fleet}}}\n'
    return lines


def main() -> None:
    n = int(sys.argv[1])
    accounts = 0
    labels = True
    for arg in sys.argv[2:]:
        if arg.startswith("--accounts="):
            accounts = int(arg.split("=", 1)[1])
        elif arg == "--no-labels":
            labels = False
        else:
            sys.exit(f"unknown argument {arg}; usage: gen-config.py N [--accounts=K] [--no-labels]")
    out = sys.stdout
    api = ("  url: https://esimfly.example\n  access_code: esf_bench\n"
           "  secret_key: bench-secret\n")
    out.write("poll:\n  interval: 60s\n")
    if accounts == 0:
        out.write("api:\n" + api + "esims:\n")
        for i in range(n):
            out.write(esim_lines(i, "  ", labels))
        return
    out.write("accounts:\n")
    per = (n + accounts - 1) // accounts
    for a in range(accounts):
        out.write(f"  - name: account{a}\n    api:\n")
        out.write("".join("    " + line + "\n" for line in api.splitlines()))
        out.write("    esims:\n")
        for i in range(a * per, min(n, (a + 1) * per)):
            out.write(esim_lines(i, "      ", labels))


if __name__ == "__main__":
    main()
