#!/usr/bin/python3
"""An idiomatic prometheus_client exporter serving the same page shape as esim_exporter.

Same per-eSIM families, label names and series per eSIM as esim_exporter's /metrics for a fleet
generated like tests/fake_api's GenerateFleet (what load_bench polls). Values are set once at
startup, as an exporter caching its latest poll would hold them; nothing polls. Only
scripts/bench-peers.sh uses it (issue 15, docs/benchmarks.md); it is not a test.

    /usr/bin/python3 peer.py ESIMS PORT      (Debian's python3-prometheus-client)
"""
import math
import sys
import time

from prometheus_client import Counter, Gauge, Histogram, start_http_server

# The fake API's ten networks (tests/fake_api/fleet.cc), so label values have the same lengths.
NETWORKS = [
    ("Optus", "505", "2", "Australia", "AU", "4G - LTE"),
    ("Vodafone UK", "234", "15", "United Kingdom", "GB", "4G - LTE"),
    ("Movistar", "214", "07", "Spain", "ES", "4G - LTE"),
    ("Verizon", "311", "480", "United States", "US", "4G - LTE"),
    ("Telia", "240", "01", "Sweden", "SE", "4G - LTE"),
    ("Telekom.de", "262", "01", "Germany", "DE", "4G - LTE"),
    ("Orange F", "208", "01", "France", "FR", "3G"),
    ("AIS", "520", "03", "Thailand", "TH", "4G - LTE"),
    ("SK Telecom", "450", "05", "South Korea", "KR", "5G"),
    ("NTT DOCOMO", "440", "10", "Japan", "JP", "5G"),
]
PLANS_GB = [1, 3, 5, 10, 20, 50]
STATUSES = ["NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED", "DELETED"]
ID_LABELS = ["iccid", "name", "fleet", "site"]  # iccid, name and load_bench's two config labels
MASK = (1 << 64) - 1
DAY, GIB = 86400.0, 1024.0**3


def luhn(digits):
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = int(char)
        if position % 2 == 0:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return digits + str((10 - total % 10) % 10)


def gauge(name, doc, *extra):
    return Gauge(name, doc, ID_LABELS + list(extra))


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: peer.py ESIMS PORT")
    n, port = int(sys.argv[1]), int(sys.argv[2])

    used = gauge("esim_data_used_bytes", "Data used by the eSIM in bytes.")
    total = gauge("esim_data_total_bytes", "Data allowance in bytes; absent for unlimited plans.")
    unlimited = gauge("esim_unlimited", "1 when the plan is unlimited.")
    status = gauge("esim_status", "Lifecycle status as a state set.", "status")
    active = gauge("esim_active", "1 when the status is ACTIVE.")
    activation = gauge("esim_activation_timestamp_seconds", "Unix time of the first activation.")
    expiry = gauge("esim_expiry_timestamp_seconds", "Unix time the plan expires.")
    last_usage = gauge("esim_last_usage_timestamp_seconds", "Unix time of the latest data usage.")
    usage_age = gauge("esim_last_usage_age_seconds", "Seconds since the latest data usage.")
    info = gauge("esim_info", "Always 1; installation, SM-DP+ and profile state.",
                 "esim_status", "smdp_status", "profile", "esim_id")
    net_info = gauge("esim_network_info", "Always 1; the network last connected to.",
                     "operator", "mcc", "mnc", "country", "country_iso2", "connection_type")
    device = gauge("esim_device_info", "Always 1; the device holding the eSIM.", "model")
    poll_ok = gauge("esim_poll_success", "1 when the latest poll from this source succeeded.",
                    "source")
    poll_ts = gauge("esim_last_poll_success_timestamp_seconds",
                    "Unix time of the latest successful poll from this source.", "source")

    # The exporter-wide series esim_exporter has besides its per-eSIM ones.
    Gauge("esim_up", "1 when the API answered.").set(1)
    Gauge("esim_monitored_esims", "eSIMs monitored.").set(n)
    thresholds = Gauge("esim_alert_threshold_default", "Alert thresholds of the config.",
                       ["threshold"])
    for name, value in [("data_usage_warning_ratio", 0.8), ("data_usage_critical_ratio", 0.95),
                        ("expiry_warning_seconds", 604800), ("expiry_critical_seconds", 86400),
                        ("balance_low", 50)]:
        thresholds.labels(name).set(value)
    Counter("esim_api_requests", "API requests by outcome.", ["code"]).labels("OK").inc(n)
    Histogram("esim_api_request_duration_seconds", "Latency of API requests.",
              buckets=[0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]).observe(0.04)

    now = round(time.time(), 3)
    # The same deterministic spread as GenerateFleet: 85 % ACTIVE (2 in 17 unlimited), 5 % each
    # NEW, DEPLETED, EXPIRED; NEW eSIMs have no dates, network or device.
    for i in range(n):
        h = ((i + 1) * 0x9E3779B97F4A7C15) & MASK
        net = NETWORKS[(h >> 7) % len(NETWORKS)]
        plan = PLANS_GB[(h >> 17) % len(PLANS_GB)]
        bucket = i % 20
        fraction = ((h >> 29) % 1000) / 1000
        activated = now - DAY * (1 + (h >> 37) % 25)
        last_used = now - (30 + (h >> 41) % 7200)
        used_gb = math.floor(fraction * 0.95 * plan * 100) / 100
        ident = [luhn("8988303%011d" % i), "esim-%d" % i,
                 "trackers" if i % 2 else "routers", "site-%d" % (i % 50)]

        state, esim_status, smdp, profile, model = "ACTIVE", "Active", "ENABLED", "Enabled", \
            "iPhone14,5"
        is_unlimited = False
        expires = activated + 30 * DAY
        if bucket == 0:
            state, esim_status, smdp, profile, used_gb = "NEW", "New", "RELEASED", "", 0
        elif bucket == 1:
            state, model, used_gb = "DEPLETED", "SM-S911B", plan
        elif bucket == 2:
            state, esim_status, smdp, profile, model = "EXPIRED", "Not Active", "DISABLED", \
                "Disabled", "Pixel 8"
            activated, last_used, expires = now - 40 * DAY, now - 12 * DAY, now - 10 * DAY
        elif bucket % 10 == 3:
            is_unlimited, model, used_gb = True, "iPhone15,2", math.floor(fraction * 4000) / 100

        used.labels(*ident).set(used_gb * GIB)
        if not is_unlimited:
            total.labels(*ident).set(plan * GIB)
        unlimited.labels(*ident).set(1 if is_unlimited else 0)
        for s in STATUSES:
            status.labels(*ident, s).set(1 if s == state else 0)
        active.labels(*ident).set(1 if state == "ACTIVE" else 0)
        info.labels(*ident, esim_status, smdp, profile, "").set(1)
        if state != "NEW":
            activation.labels(*ident).set(activated)
            expiry.labels(*ident).set(expires)
            last_usage.labels(*ident).set(last_used)
            usage_age.labels(*ident).set(now - last_used)  # static; esim_exporter's is per scrape
            net_info.labels(*ident, *net).set(1)
            device.labels(*ident, model).set(1)
        poll_ok.labels(*ident, "live").set(1)
        poll_ts.labels(*ident, "live").set(now)

    # The default registry (with the process, platform and GC collectors), gzip when the scraper
    # accepts it: what start_http_server serves.
    start_http_server(port, addr="127.0.0.1")
    print("peer.py: %d eSIMs, listening on 127.0.0.1:%d" % (n, port), file=sys.stderr, flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
