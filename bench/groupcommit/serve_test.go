package groupcommit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

const connectorYAML = `flowrun: 1
name: bench
base_url: https://api.bench.example
`

const hookYAML = `flowrun: 1
name: events
type: webhook
outputs:
  action: string
dedupe: ${ request.headers["x-delivery"] }
verify:
  scheme: hmac_sha256
  header: X-Signature
  format: "sha256={hex}"
  secret: ${ webhook.secret }
register:
  steps:
    - return: {id: 1}
event:
  steps:
    - return:
        events:
          - action: ${ request.body.action }
`

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// load sends n signed deliveries (unique delivery ids) to url from conc
// goroutines and returns the rate and the p99 latency.
func loadTest(b *testing.B, url, secret string, n, conc int) (float64, time.Duration) {
	pad := bytes.Repeat([]byte(" "), 11_000)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	var next atomic.Int64
	lat := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				// a distinct body each: the scheme drops a replayed body
				body := fmt.Appendf(nil, `{"action":"opened","n":%d,"pad":"%s"}`, i, pad)
				sig := sign(secret, body)
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Signature", sig)
				req.Header.Set("X-Delivery", fmt.Sprint("d-", i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
				lat[i] = time.Since(t0)
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return float64(n) / el.Seconds(), lat[n*99/100]
}

// BenchmarkServe compares, at concurrency 32 and 128, a real trigger.Host
// (flow with dedupe, file sink with fsync) with and without group commit,
// and a plain net/http handler doing HMAC + append + fsync per request.
// Each sub-benchmark sends -deliveries requests once (b.N is ignored).
//
//	cd bench && go test -run '^$' -bench Serve -benchtime 1x ./groupcommit
func BenchmarkServe(b *testing.B) {
	n := envInt("BENCH_DELIVERIES", 2000)
	for _, conc := range []int{32, 128} {
		b.Run(fmt.Sprintf("plain/c%d", conc), func(b *testing.B) {
			rate, p99 := servePlain(b, n, conc)
			b.ReportMetric(rate, "req/s")
			b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
		})
		for _, group := range []bool{false, true} {
			name := "serve-single"
			if group {
				name = "serve-group"
			}
			b.Run(fmt.Sprintf("%s/c%d", name, conc), func(b *testing.B) {
				rate, p99 := serveHost(b, n, conc, group)
				b.ReportMetric(rate, "req/s")
				b.ReportMetric(float64(p99.Milliseconds()), "p99-ms")
			})
		}
	}
}

// BenchmarkServePaired runs the plain handler and serve with group commit
// one after the other (each first in every other round), BENCH_ROUNDS times (default 9) with
// BENCH_DELIVERIES each (default 1000), and reports the median over rounds
// of group commit's rate divided by the plain handler's in the same round,
// with the lowest and highest, and the median p99 of each: a machine whose
// disk or CPU drifts between rounds moves both sides of a round alike.
//
//	cd bench && go test -run '^$' -bench ServePaired -benchtime 1x ./groupcommit
func BenchmarkServePaired(b *testing.B) {
	n := envInt("BENCH_DELIVERIES", 1000)
	rounds := envInt("BENCH_ROUNDS", 9)
	for _, conc := range []int{32, 128} {
		b.Run(fmt.Sprintf("c%d", conc), func(b *testing.B) {
			var ratios, p99p, p99g []float64
			for i := range rounds {
				// the first of a pair may leave writeback for the second:
				// each goes first in every other round
				var pr, gr float64
				var pp, gp time.Duration
				if i%2 == 0 {
					pr, pp = servePlain(b, n, conc)
					gr, gp = serveHost(b, n, conc, true)
				} else {
					gr, gp = serveHost(b, n, conc, true)
					pr, pp = servePlain(b, n, conc)
				}
				ratios = append(ratios, gr/pr)
				p99p = append(p99p, float64(pp.Milliseconds()))
				p99g = append(p99g, float64(gp.Milliseconds()))
			}
			sort.Float64s(ratios)
			b.ReportMetric(median(ratios), "ratio-median")
			b.ReportMetric(ratios[0], "ratio-min")
			b.ReportMetric(ratios[len(ratios)-1], "ratio-max")
			b.ReportMetric(median(p99p), "plain-p99-ms")
			b.ReportMetric(median(p99g), "group-p99-ms")
		})
	}
}

func median(xs []float64) float64 {
	ys := append([]float64(nil), xs...)
	sort.Float64s(ys)
	if len(ys)%2 == 1 {
		return ys[len(ys)/2]
	}
	return (ys[len(ys)/2-1] + ys[len(ys)/2]) / 2
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		fmt.Sscan(v, &def)
	}
	return def
}

// servePlain is the baseline: HMAC check, append and fsync per request,
// behind net/http, n requests at concurrency conc.
func servePlain(b *testing.B, n, conc int) (float64, time.Duration) {
	f, err := os.Create(filepath.Join(b.TempDir(), "out.jsonl"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var mu sync.Mutex
	secret := "s3cret"
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !hmac.Equal([]byte(sign(secret, body)), []byte(r.Header.Get("X-Signature"))) {
			w.WriteHeader(401)
			return
		}
		mu.Lock()
		f.Write(append(body, '\n'))
		err := f.Sync()
		mu.Unlock()
		if err != nil {
			w.WriteHeader(500)
		}
	})
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	srv := &http.Server{Handler: h}
	go srv.Serve(ln)
	defer srv.Close()
	return loadTest(b, "http://"+ln.Addr().String()+"/", secret, n, conc)
}

// serveHost runs a real trigger.Host (a flow with dedupe, the file sink
// with fsync, SQLite state) with or without group commit under n requests
// at concurrency conc, and checks 0 lost and 0 duplicated.
func serveHost(b *testing.B, n, conc int, group bool) (float64, time.Duration) {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "p", "flows"), 0o755)
	os.WriteFile(filepath.Join(dir, "p", "connector.yaml"), []byte(connectorYAML), 0o644)
	os.WriteFile(filepath.Join(dir, "p", "flows", "events.yaml"), []byte(hookYAML), 0o644)
	proj, err := load.Project(filepath.Join(dir, "p"))
	if err != nil {
		b.Fatal(err)
	}
	st, err := trigger.Open(filepath.Join(dir, "state"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	sinkPath := filepath.Join(dir, "events.jsonl")
	sink, err := trigger.OpenSink("file:"+sinkPath, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	defer sink.Close()
	h := &trigger.Host{Runner: &run.Runner{Project: proj, Connection: &connection.Connection{Params: map[string]any{}}},
		Store: st, Sink: sink, PublicURL: "http://x", GroupCommit: group}
	tr, err := h.On(context.Background(), "events", nil)
	if err != nil {
		b.Fatal(err)
	}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.Serve(ctx, ln, 5*time.Second); close(done) }()
	defer func() { cancel(); <-done }()
	rate, p99 := loadTest(b, "http://"+ln.Addr().String()+trigger.HookPath(tr.ID), tr.Secret, n, conc)
	got, _ := st.GetTrigger(context.Background(), tr.ID)
	if got.Delivered != int64(n) {
		b.Fatalf("%d of %d delivered", got.Delivered, n)
	}
	// 0 lost and 0 duplicated at the sink: one line per delivery id
	data, err := os.ReadFile(sinkPath)
	if err != nil {
		b.Fatal(err)
	}
	keys := map[string]bool{}
	lines := bytes.Split(bytes.TrimSpace(data), []byte("\n"))
	for _, l := range lines {
		var d trigger.Delivery
		if err := json.Unmarshal(l, &d); err != nil {
			b.Fatalf("sink line %q: %v", l, err)
		}
		keys[d.Key] = true
	}
	if len(lines) != n || len(keys) != n {
		b.Fatalf("sink: %d lines, %d distinct delivery ids, want %d", len(lines), len(keys), n)
	}
	return rate, p99
}
