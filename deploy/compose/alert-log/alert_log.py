#!/usr/bin/env python3
"""Prints every Alertmanager webhook notification it receives, one line per alert, on stdout.

The Compose stack's stand-in for real receivers (pager, chat, e-mail): Alertmanager posts to
http://alert-log:5001/<receiver>, and `docker compose logs -f alert-log` shows what would have
been sent. Standard library only.

    alert_log.py [--listen HOST:PORT]      (default 0.0.0.0:5001)
"""
import argparse
import http.server
import json
import sys
import time

# Labels worth a column of their own; the rest of an alert's labels follow as key=value.
SHOWN_FIRST = ("alertname", "severity", "iccid", "name")
HIDDEN = {"instance", "job", "__name__"}


def describe(notification, receiver_path):
    """The lines printed for one notification (Alertmanager webhook payload, version 4)."""
    receiver = notification.get("receiver") or receiver_path.strip("/") or "?"
    alerts = notification.get("alerts") or []
    when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    group = json.dumps(notification.get("groupLabels") or {}, sort_keys=True)
    lines = [f"{when} receiver={receiver} status={notification.get('status', '?')} "
             f"alerts={len(alerts)} group={group}"]
    for alert in alerts:
        labels = dict(alert.get("labels") or {})
        annotations = alert.get("annotations") or {}
        fields = [f"{alert.get('status', '?').upper():8}"]
        fields += [f"{k}={labels.pop(k)}" for k in SHOWN_FIRST if k in labels]
        fields += [f"{k}={v}" for k, v in sorted(labels.items()) if k not in HIDDEN]
        summary = annotations.get("summary") or annotations.get("description") or ""
        if summary:
            fields.append(f"| {summary}")
        runbook = annotations.get("runbook_url")
        if runbook:
            fields.append(f"| {runbook}")
        lines.append("  " + " ".join(fields))
    return lines


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "alert-log"

    def do_POST(self):  # noqa: N802 - the http.server naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 4 << 20))
        try:
            lines = describe(json.loads(body), self.path)
        except (ValueError, AttributeError, TypeError) as e:
            lines = [f"not an Alertmanager notification ({e}): {body[:200]!r}"]
        print("\n".join(lines), flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):  # noqa: N802 - a health check
        body = b"alert-log: POST Alertmanager webhook notifications here\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):  # the notifications are the log; no access log
        pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--listen", default="0.0.0.0:5001", help="HOST:PORT (default %(default)s)")
    args = parser.parse_args()
    host, _, port = args.listen.rpartition(":")
    server = http.server.ThreadingHTTPServer((host or "0.0.0.0", int(port)), Handler)
    print(f"alert-log: listening on {args.listen}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
