// An idiomatic client_golang exporter serving the same page shape as esim_exporter for a fleet
// generated like tests/fake_api's GenerateFleet (what load_bench polls): the same per-eSIM
// families, label names and series per eSIM. Values are set once at startup, as an exporter
// that caches its latest poll would hold them; nothing polls. Only scripts/bench-peers.sh uses it
// (issue 15, docs/benchmarks.md); it is not a test and not part of the build.
//
//	peer-go ESIMS PORT
package main

import (
	"fmt"
	"log"
	"math"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

type network struct{ op, mcc, mnc, country, iso2, kind string }

// The fake API's ten networks (tests/fake_api/fleet.cc), so label values have the same lengths.
var networks = []network{
	{"Optus", "505", "2", "Australia", "AU", "4G - LTE"},
	{"Vodafone UK", "234", "15", "United Kingdom", "GB", "4G - LTE"},
	{"Movistar", "214", "07", "Spain", "ES", "4G - LTE"},
	{"Verizon", "311", "480", "United States", "US", "4G - LTE"},
	{"Telia", "240", "01", "Sweden", "SE", "4G - LTE"},
	{"Telekom.de", "262", "01", "Germany", "DE", "4G - LTE"},
	{"Orange F", "208", "01", "France", "FR", "3G"},
	{"AIS", "520", "03", "Thailand", "TH", "4G - LTE"},
	{"SK Telecom", "450", "05", "South Korea", "KR", "5G"},
	{"NTT DOCOMO", "440", "10", "Japan", "JP", "5G"},
}

var plansGB = []float64{1, 3, 5, 10, 20, 50}

var statuses = []string{"NEW", "ACTIVE", "EXPIRED", "DEPLETED", "CANCELLED", "DELETED"}

func luhn(digits string) string {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 0 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return digits + strconv.Itoa((10-sum%10)%10)
}

// The esim_exporter labels of one eSIM: iccid, name and the two config labels load_bench sets.
var idLabels = []string{"iccid", "name", "fleet", "site"}

func gaugeVec(name, help string, extra ...string) *prometheus.GaugeVec {
	v := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help},
		append(append([]string{}, idLabels...), extra...))
	prometheus.MustRegister(v)
	return v
}

func main() {
	if len(os.Args) != 3 {
		log.Fatal("usage: peer-go ESIMS PORT")
	}
	n, err := strconv.Atoi(os.Args[1])
	if err != nil || n < 0 {
		log.Fatal("ESIMS must be a count")
	}
	port := os.Args[2]

	used := gaugeVec("esim_data_used_bytes", "Data used by the eSIM in bytes.")
	total := gaugeVec("esim_data_total_bytes", "Data allowance in bytes; absent for unlimited plans.")
	unlimited := gaugeVec("esim_unlimited", "1 when the plan is unlimited.")
	status := gaugeVec("esim_status", "Lifecycle status as a state set.", "status")
	active := gaugeVec("esim_active", "1 when the status is ACTIVE.")
	activation := gaugeVec("esim_activation_timestamp_seconds", "Unix time of the first activation.")
	expiry := gaugeVec("esim_expiry_timestamp_seconds", "Unix time the plan expires.")
	lastUsage := gaugeVec("esim_last_usage_timestamp_seconds", "Unix time of the latest data usage.")
	usageAge := gaugeVec("esim_last_usage_age_seconds", "Seconds since the latest data usage.")
	info := gaugeVec("esim_info", "Always 1; installation, SM-DP+ and profile state.",
		"esim_status", "smdp_status", "profile", "esim_id")
	netInfo := gaugeVec("esim_network_info", "Always 1; the network last connected to.",
		"operator", "mcc", "mnc", "country", "country_iso2", "connection_type")
	device := gaugeVec("esim_device_info", "Always 1; the device holding the eSIM.", "model")
	pollOK := gaugeVec("esim_poll_success", "1 when the latest poll from this source succeeded.", "source")
	pollTS := gaugeVec("esim_last_poll_success_timestamp_seconds",
		"Unix time of the latest successful poll from this source.", "source")

	// The exporter-wide series esim_exporter has besides its per-eSIM ones.
	up := prometheus.NewGauge(prometheus.GaugeOpts{Name: "esim_up", Help: "1 when the API answered."})
	monitored := prometheus.NewGauge(prometheus.GaugeOpts{Name: "esim_monitored_esims", Help: "eSIMs monitored."})
	thresholds := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "esim_alert_threshold_default", Help: "Alert thresholds of the config."}, []string{"threshold"})
	requests := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "esim_api_requests_total", Help: "API requests by outcome."}, []string{"code"})
	duration := prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "esim_api_request_duration_seconds", Help: "Latency of API requests.",
		Buckets: []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}})
	prometheus.MustRegister(up, monitored, thresholds, requests, duration)
	up.Set(1)
	monitored.Set(float64(n))
	for name, v := range map[string]float64{"data_usage_warning_ratio": 0.8,
		"data_usage_critical_ratio": 0.95, "expiry_warning_seconds": 604800,
		"expiry_critical_seconds": 86400, "balance_low": 50} {
		thresholds.WithLabelValues(name).Set(v)
	}
	requests.WithLabelValues("OK").Add(float64(n))
	duration.Observe(0.04)

	now := float64(time.Now().UnixMilli()) / 1000
	const day, gib = 86400.0, 1024.0 * 1024 * 1024
	// The same deterministic spread as GenerateFleet: 85 % ACTIVE (2 in 17 unlimited), 5 % each
	// NEW, DEPLETED, EXPIRED; NEW eSIMs have no dates, network or device.
	for i := 0; i < n; i++ {
		h := uint64(i+1) * 0x9E3779B97F4A7C15
		net := networks[(h>>7)%uint64(len(networks))]
		plan := plansGB[(h>>17)%uint64(len(plansGB))]
		bucket := i % 20
		fraction := float64((h>>29)%1000) / 1000
		activated := now - day*float64(1+(h>>37)%25)
		lastUsed := now - float64(30+(h>>41)%7200)
		usedGB := math.Floor(fraction*0.95*plan*100) / 100
		id := []string{luhn(fmt.Sprintf("8988303%011d", i)), "esim-" + strconv.Itoa(i),
			map[bool]string{true: "trackers", false: "routers"}[i%2 == 1], "site-" + strconv.Itoa(i%50)}
		with := func(extra ...string) []string { return append(append([]string{}, id...), extra...) }

		state, esimStatus, smdp, profile, model := "ACTIVE", "Active", "ENABLED", "Enabled", "iPhone14,5"
		isUnlimited := false
		expires := activated + 30*day
		switch {
		case bucket == 0:
			state, esimStatus, smdp, profile, usedGB = "NEW", "New", "RELEASED", "", 0
		case bucket == 1:
			state, model, usedGB = "DEPLETED", "SM-S911B", plan
		case bucket == 2:
			state, esimStatus, smdp, profile, model = "EXPIRED", "Not Active", "DISABLED", "Disabled", "Pixel 8"
			activated, lastUsed, expires = now-40*day, now-12*day, now-10*day
		case bucket%10 == 3:
			isUnlimited, model, usedGB = true, "iPhone15,2", math.Floor(fraction*4000)/100
		}

		used.WithLabelValues(id...).Set(usedGB * gib)
		if isUnlimited {
			unlimited.WithLabelValues(id...).Set(1)
		} else {
			total.WithLabelValues(id...).Set(plan * gib)
			unlimited.WithLabelValues(id...).Set(0)
		}
		for _, s := range statuses {
			v := 0.0
			if s == state {
				v = 1
			}
			status.WithLabelValues(with(s)...).Set(v)
		}
		if state == "ACTIVE" {
			active.WithLabelValues(id...).Set(1)
		} else {
			active.WithLabelValues(id...).Set(0)
		}
		info.WithLabelValues(with(esimStatus, smdp, profile, "")...).Set(1)
		if state != "NEW" {
			activation.WithLabelValues(id...).Set(activated)
			expiry.WithLabelValues(id...).Set(expires)
			lastUsage.WithLabelValues(id...).Set(lastUsed)
			// Static here; esim_exporter computes it at scrape time.
			usageAge.WithLabelValues(id...).Set(now - lastUsed)
			netInfo.WithLabelValues(with(net.op, net.mcc, net.mnc, net.country, net.iso2, net.kind)...).Set(1)
			device.WithLabelValues(with(model)...).Set(1)
		}
		pollOK.WithLabelValues(with("live")...).Set(1)
		pollTS.WithLabelValues(with("live")...).Set(now)
	}

	// promhttp.Handler: the default registry (with the Go and process collectors) and gzip when
	// the scraper accepts it, as most Go exporters serve it.
	http.Handle("/metrics", promhttp.Handler())
	log.Printf("peer-go: %d eSIMs, listening on 127.0.0.1:%s", n, port)
	log.Fatal(http.ListenAndServe("127.0.0.1:"+port, nil))
}
