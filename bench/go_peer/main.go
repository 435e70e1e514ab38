// go_peer: the Go net/http twin of bench/aiohttp_peer.py, what a performance-minded ByteNite
// user would write instead of running the daemon.
//
// The same per-job sequence and bodies as bytenite-submitd: one token exchange, then for each
// job POST /jobs (with its own jobId) -> PATCH datasource -> PATCH params -> POST run. One
// http.Client whose transport keeps --connections TLS keep-alive connections (certificate
// verified against --ca); --concurrency goroutines, each running one job at a time. New jobs
// start until --duration seconds or --jobs jobs; the jobs in flight then finish. Prints one
// JSON object with the same keys as the aiohttp peer: jobs, seconds, jobs_per_s, p50_ms,
// p99_ms, errors (non-200 answers), plus go (the runtime version).
//
// Standard library only (Debian's golang-go). Built by bench/submit_bench.py with GOPROXY=off.
package main

import (
	"bytes"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

const datasource = `{"dataSource":{"dataSourceDescriptor":"url","params":{"@type":"type.googleapis.com/bytenite.data_source.HttpDataSource","url":"https://storage.example.com/in.txt"}},"dataDestination":{"dataSourceDescriptor":"bucket"}}`
const params = `{"partitioner":{"numImages":2},"app":{"prompt":"A sunset"},"assembler":{}}`
const runBody = `{"taskTimeout":3600,"jobTimeout":86400,"isTestJob":true}`

type peer struct {
	client  *http.Client
	jobsURL string
	token   string
	errors  atomic.Int64
}

// call sends one request and reads its whole answer (so the connection is reused).
func (p *peer) call(method, url, body string) bool {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		p.errors.Add(1)
		return false
	}
	req.Header.Set("Authorization", p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		p.errors.Add(1)
		return false
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		p.errors.Add(1)
		return false
	}
	return true
}

// runJob is the four calls of one job; false when any of them failed.
func (p *peer) runJob(n int64) bool {
	id := newUUID()
	create := fmt.Sprintf(`{"templateId":"img-gen-diffusers","name":"peer job %d","jobId":"%s"}`, n, id)
	job := p.jobsURL + "/" + id
	return p.call("POST", p.jobsURL, create) &&
		p.call("PATCH", job+"/datasource", datasource) &&
		p.call("PATCH", job+"/params", params) &&
		p.call("POST", job+"/run", runBody)
}

func newUUID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func newClient(caPath string, connections int) (*http.Client, error) {
	pem, err := os.ReadFile(caPath)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caPath)
	}
	transport := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: pool},
		MaxConnsPerHost:     connections,
		MaxIdleConnsPerHost: connections,
		MaxIdleConns:        connections,
		IdleConnTimeout:     300 * time.Second,
	}
	return &http.Client{Transport: transport, Timeout: 60 * time.Second}, nil
}

func (p *peer) fetchToken(base, apiKey string) error {
	body, _ := json.Marshal(map[string]string{"apiKey": apiKey})
	resp, err := p.client.Post(base+"/auth/access_token", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var answer struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&answer); err != nil {
		return fmt.Errorf("token answer (%d): %v", resp.StatusCode, err)
	}
	p.token = answer.Token
	return nil
}

func percentileMs(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)))
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return float64(sorted[i]) / float64(time.Millisecond)
}

func main() {
	base := flag.String("base-url", "", "e.g. https://localhost:8443/v1")
	ca := flag.String("ca", "", "CA certificate (PEM) the server's certificate is checked against")
	apiKey := flag.String("api-key", "bench-key", "")
	customerPath := flag.String("customer-path", "customer", "")
	connections := flag.Int("connections", 64, "TLS keep-alive connections")
	concurrency := flag.Int("concurrency", 256, "jobs in flight at once")
	duration := flag.Float64("duration", 20, "seconds during which new jobs start")
	maxJobs := flag.Int64("jobs", 10_000_000, "jobs to start at most")
	flag.Parse()
	if *base == "" || *ca == "" {
		fmt.Fprintln(os.Stderr, "go_peer: --base-url and --ca are required")
		os.Exit(2)
	}
	client, err := newClient(*ca, *connections)
	if err != nil {
		fmt.Fprintln(os.Stderr, "go_peer:", err)
		os.Exit(1)
	}
	root := strings.TrimRight(*base, "/")
	p := &peer{client: client, jobsURL: root + "/" + *customerPath + "/jobs"}
	if err := p.fetchToken(root, *apiKey); err != nil {
		fmt.Fprintln(os.Stderr, "go_peer: access token:", err)
		os.Exit(1)
	}

	var started atomic.Int64
	var mu sync.Mutex
	var latencies []time.Duration
	var wg sync.WaitGroup
	t0 := time.Now()
	deadline := t0.Add(time.Duration(*duration * float64(time.Second)))
	for w := 0; w < *concurrency; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for time.Now().Before(deadline) {
				n := started.Add(1)
				if n > *maxJobs {
					break
				}
				begin := time.Now()
				if p.runJob(n) {
					mine = append(mine, time.Since(begin))
				}
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	elapsed := time.Since(t0).Seconds()
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	out, _ := json.Marshal(map[string]any{
		"jobs": len(latencies), "seconds": elapsed, "jobs_per_s": float64(len(latencies)) / elapsed,
		"p50_ms": percentileMs(latencies, 0.50), "p99_ms": percentileMs(latencies, 0.99),
		"errors": p.errors.Load(), "go": runtime.Version(),
	})
	fmt.Println(string(out))
}
