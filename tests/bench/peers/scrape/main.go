// Times /metrics of a peer exporter the way load_bench times esim_exporter's: S scrapes
// uncompressed, then S with Accept-Encoding: gzip, each timed from the request to the last
// byte of the body, which is read whole and not inflated (as Prometheus reads it before parsing),
// into a buffer reused across scrapes; kept-alive connections where the server keeps them.
// Prints one line "SCRAPE key=value ..." for scripts/bench-peers.sh.
//
//	scrape -url=http://127.0.0.1:PORT/metrics -scrapes=S
package main

import (
	"bytes"
	"flag"
	"fmt"
	"log"
	"net/http"
	"sort"
	"time"
)

func median(ms []float64) float64 {
	sorted := append([]float64{}, ms...)
	sort.Float64s(sorted)
	return sorted[(len(sorted)-1)/2] // nearest rank, as load_bench
}

func main() {
	url := flag.String("url", "", "the /metrics URL")
	scrapes := flag.Int("scrapes", 20, "scrapes per encoding")
	wait := flag.Duration("wait", 5*time.Minute, "how long to wait for the first answer")
	flag.Parse()
	// DisableCompression: the Accept-Encoding header is ours to set and the body stays as sent.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	var body bytes.Buffer

	get := func(gzip bool) (float64, string, error) {
		request, _ := http.NewRequest("GET", *url, nil)
		if gzip {
			request.Header.Set("Accept-Encoding", "gzip")
		}
		start := time.Now()
		response, err := client.Do(request)
		if err != nil {
			return 0, "", err
		}
		body.Reset()
		_, err = body.ReadFrom(response.Body)
		response.Body.Close()
		elapsed := float64(time.Since(start).Microseconds()) / 1000
		if err == nil && response.StatusCode != 200 {
			err = fmt.Errorf("status %d", response.StatusCode)
		}
		return elapsed, response.Header.Get("Content-Encoding"), err
	}

	// The peers listen only once their fleet is built; a first answer also warms them up.
	deadline := time.Now().Add(*wait)
	for {
		if _, _, err := get(false); err == nil {
			break
		} else if time.Now().After(deadline) {
			log.Fatalf("no answer from %s: %v", *url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}

	var plain, gz []float64
	var series, esimSeries, plainBytes, gzipBytes int
	encoding := ""
	for i := 0; i < *scrapes; i++ {
		ms, _, err := get(false)
		if err != nil {
			log.Fatal(err)
		}
		plain = append(plain, ms)
	}
	// Series counted on the last uncompressed body: lines neither empty nor comments, and of
	// those the ones of one eSIM (carrying an iccid label).
	plainBytes = body.Len()
	for _, line := range bytes.Split(body.Bytes(), []byte("\n")) {
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		series++
		if bytes.Contains(line, []byte(`iccid="`)) {
			esimSeries++
		}
	}
	for i := 0; i < *scrapes; i++ {
		ms, enc, err := get(true)
		if err != nil {
			log.Fatal(err)
		}
		gz, encoding = append(gz, ms), enc
	}
	gzipBytes = body.Len()
	if encoding == "" {
		encoding = "none"
	}
	fmt.Printf("SCRAPE series=%d esim_series=%d body_bytes=%d gzip_bytes=%d encoding=%s "+
		"plain_ms=%.3f gzip_ms=%.3f\n", series, esimSeries, plainBytes, gzipBytes, encoding,
		median(plain), median(gz))
}
