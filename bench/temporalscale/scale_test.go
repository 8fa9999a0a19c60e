// Package temporalscale measures what running on Temporal costs and buys:
// webhook deliveries per second through `flowrun serve --engine temporal`
// with one and with two `flowrun worker` processes, next to a single
// `flowrun serve` (SQLite state) on the same deliveries, and action runs per
// second through the workers next to the interpreter in this process. It
// needs a Temporal frontend (FLOWRUN_E2E_TEMPORAL), a built flowrun
// (FLOWRUN_E2E_BIN) and a Postgres (FLOWRUN_PG_DSN), and skips without them.
// Each sub-benchmark does its work once (b.N is ignored):
//
//	cd bench && FLOWRUN_E2E_TEMPORAL=127.0.0.1:7233 FLOWRUN_E2E_BIN=/tmp/flowrun \
//	  FLOWRUN_PG_DSN=postgres://... go test -run '^$' -bench . -benchtime 1x ./temporalscale
package temporalscale

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"

	"github.com/flowrun/flowrun/connection"
	tengine "github.com/flowrun/flowrun/engine/temporal"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

// project is the Temporal engine's test project (order_events, fetch).
const project = "../../engine/temporal/testdata/shop"

const apiKey = "sk_bench_0123456789"

type env struct {
	addr, bin, dsn string
}

func needEnv(b *testing.B) env {
	e := env{os.Getenv("FLOWRUN_E2E_TEMPORAL"), os.Getenv("FLOWRUN_E2E_BIN"), os.Getenv("FLOWRUN_PG_DSN")}
	if e.addr == "" || e.bin == "" || e.dsn == "" {
		b.Skip("FLOWRUN_E2E_TEMPORAL, FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN are not set (scripts/e2e-temporal.sh shows how to start Temporal and Postgres)")
	}
	return e
}

func envInt(name string, def int) int {
	if v := os.Getenv(name); v != "" {
		fmt.Sscan(v, &def)
	}
	return def
}

// schemaDSN makes a fresh schema and returns a DSN that uses it, so that
// each sub-benchmark turns its own trigger on.
func schemaDSN(b *testing.B, dsn string) string {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	schema := fmt.Sprintf("bench_%d_%d", time.Now().UnixNano(), rand.IntN(1e6))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		conn.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		conn.Close(context.Background())
	})
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	return dsn + sep + "search_path=" + schema
}

// service is the shop's API (register answers {"id": 7}, anything else 200).
func service(b *testing.B) *httptest.Server {
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": 7}`)
	}))
	b.Cleanup(s.Close)
	return s
}

// sink counts the distinct delivery keys POSTed to it.
type sink struct {
	mu   sync.Mutex
	keys map[string]bool
	all  int
}

func (s *sink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ds []trigger.Delivery
	if err := json.NewDecoder(r.Body).Decode(&ds); err != nil {
		w.WriteHeader(400)
		return
	}
	s.mu.Lock()
	for _, d := range ds {
		s.keys[d.Key] = true
		s.all++
	}
	s.mu.Unlock()
}

func (s *sink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

func freeAddr(b *testing.B) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// spawn starts flowrun with args; it is killed when the benchmark ends.
func spawn(b *testing.B, e env, name string, args ...string) {
	cmd := exec.Command(e.bin, args...)
	logf, err := os.Create(filepath.Join(b.TempDir(), name+".log"))
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if b.Failed() {
			out, _ := os.ReadFile(logf.Name())
			b.Logf("%s:\n%s", name, out)
		}
	})
}

// waitPollers waits until workers processes poll queue's workflow and
// activity tasks, so that no worker's start is measured.
func waitPollers(b *testing.B, e env, queue string, workers int) {
	c, err := client.Dial(client.Options{HostPort: e.addr})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		ok := true
		for _, kind := range []enums.TaskQueueType{enums.TASK_QUEUE_TYPE_WORKFLOW, enums.TASK_QUEUE_TYPE_ACTIVITY} {
			d, err := c.DescribeTaskQueue(context.Background(), queue, kind)
			if err != nil || len(d.Pollers) < workers {
				ok = false
			}
		}
		if ok {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	b.Fatalf("%d worker(s) did not poll %s", workers, queue)
}

func writeConn(b *testing.B, dir, url string) string {
	path := filepath.Join(dir, "acme.yaml")
	if err := os.WriteFile(path, []byte("params:\n  base_url: "+url+"\n  api_key: "+apiKey+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// triggerOn turns order_events on in state and returns its id and secret.
func triggerOn(b *testing.B, e env, connFile, state, publicURL string) (string, string) {
	out, err := exec.Command(e.bin, "trigger", "on", project, "order_events", "-c", connFile, "--state", state,
		"--public-url", publicURL).CombinedOutput()
	if err != nil {
		b.Fatalf("trigger on: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`trigger (\S+) is on`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("trigger on said:\n%s", out)
	}
	id := string(m[1])
	var tr *trigger.Trigger
	if strings.HasPrefix(state, "postgres://") {
		st, err := pgstore.Open(context.Background(), state)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		tr, err = st.GetTrigger(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
	} else {
		st, err := trigger.Open(state)
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		tr, err = st.GetTrigger(context.Background(), id)
		if err != nil {
			b.Fatal(err)
		}
	}
	return id, tr.Secret
}

func waitHealthy(b *testing.B, listen string) {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + listen + "/healthz"); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatal("flowrun serve did not start")
}

// deliver posts n signed deliveries from conc goroutines and waits until
// the sink has all of them; it reports the rate of both.
func deliver(b *testing.B, url, secret string, s *sink, n, conc int) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc}}
	var next atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				body := fmt.Appendf(nil, `{"order":"o-%d","status":"paid"}`, i)
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write(body)
				req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Delivery-Id", fmt.Sprint("d-", i))
				req.Header.Set("X-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != 200 {
					b.Errorf("delivery %d: status %d", i, resp.StatusCode)
					return
				}
			}
		})
	}
	wg.Wait()
	answered := time.Since(begin)
	deadline := time.Now().Add(5 * time.Minute)
	for s.distinct() < n {
		if time.Now().After(deadline) || b.Failed() {
			b.Fatalf("the sink got %d of %d deliveries", s.distinct(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	done := time.Since(begin)
	b.ReportMetric(float64(n)/answered.Seconds(), "answered/s")
	b.ReportMetric(float64(n)/done.Seconds(), "delivered/s")
}

// BenchmarkDeliveries: the same signed webhook deliveries (order_events,
// BENCH_DELIVERIES of them, default 300, 16 at a time) through a single
// flowrun serve (SQLite state) and through serve --engine temporal with
// one and two workers (Postgres state), each to an HTTP sink; delivered/s
// counts until the last event is at the sink.
func BenchmarkDeliveries(b *testing.B) {
	e := needEnv(b)
	n, conc := envInt("BENCH_DELIVERIES", 300), envInt("BENCH_CONCURRENCY", 16)
	b.Run("serve", func(b *testing.B) {
		dir := b.TempDir()
		svc := service(b)
		s := &sink{keys: map[string]bool{}}
		sinkSrv := httptest.NewServer(s)
		defer sinkSrv.Close()
		conn := writeConn(b, dir, svc.URL)
		listen := freeAddr(b)
		state := filepath.Join(dir, "state")
		id, secret := triggerOn(b, e, conn, state, "http://"+listen)
		spawn(b, e, "serve", "serve", project, "-c", conn, "--state", state, "--sink", sinkSrv.URL, "--listen", listen)
		waitHealthy(b, listen)
		deliver(b, "http://"+listen+trigger.HookPath(id), secret, s, n, conc)
	})
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("temporal-%dw", workers), func(b *testing.B) {
			dir := b.TempDir()
			svc := service(b)
			s := &sink{keys: map[string]bool{}}
			sinkSrv := httptest.NewServer(s)
			defer sinkSrv.Close()
			conn := writeConn(b, dir, svc.URL)
			listen := freeAddr(b)
			state := schemaDSN(b, e.dsn)
			queue := fmt.Sprintf("bench-%d", time.Now().UnixNano())
			id, secret := triggerOn(b, e, conn, state, "http://"+listen)
			for i := range workers {
				spawn(b, e, fmt.Sprint("worker", i), "worker", project, "--temporal", e.addr, "--task-queue", queue,
					"--connections", dir, "--sink", sinkSrv.URL)
			}
			spawn(b, e, "ingress", "serve", project, "-c", conn, "--state", state, "--engine", "temporal",
				"--temporal", e.addr, "--task-queue", queue, "--listen", listen)
			waitHealthy(b, listen)
			waitPollers(b, e, queue, workers)
			deliver(b, "http://"+listen+trigger.HookPath(id), secret, s, n, conc)
		})
	}
}

// BenchmarkActions: BENCH_RUNS (default 200) runs of the fetch flow (one
// GET), 16 at a time, in this process's interpreter and as workflows on one
// and two flowrun workers.
func BenchmarkActions(b *testing.B) {
	e := needEnv(b)
	n, conc := envInt("BENCH_RUNS", 200), envInt("BENCH_CONCURRENCY", 16)
	b.Run("interpreter", func(b *testing.B) {
		svc := service(b)
		p, err := load.Project(project)
		if err != nil {
			b.Fatal(err)
		}
		r := &run.Runner{Project: p, Connection: &connection.Connection{Params: map[string]any{"base_url": svc.URL, "api_key": apiKey}}}
		rate(b, n, conc, func(ctx context.Context, i int) error {
			out, err := r.Run(ctx, "fetch", map[string]any{"path": fmt.Sprint("/x/", i)})
			if err == nil && out["status"] != int64(200) && fmt.Sprint(out["status"]) != "200" {
				err = fmt.Errorf("outputs %v", out)
			}
			return err
		})
	})
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("temporal-%dw", workers), func(b *testing.B) {
			dir := b.TempDir()
			svc := service(b)
			writeConn(b, dir, svc.URL)
			queue := fmt.Sprintf("bench-%d", time.Now().UnixNano())
			for i := range workers {
				spawn(b, e, fmt.Sprint("worker", i), "worker", project, "--temporal", e.addr, "--task-queue", queue, "--connections", dir)
			}
			waitPollers(b, e, queue, workers)
			c, err := client.Dial(client.Options{HostPort: e.addr})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			rate(b, n, conc, func(ctx context.Context, i int) error {
				wr, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: fmt.Sprintf("%s/%d", queue, i), TaskQueue: queue},
					tengine.WorkflowName, tengine.FlowInput{Project: "shop", Flow: "fetch", ConnectionID: "acme", Inputs: map[string]any{"path": fmt.Sprint("/x/", i)}})
				if err != nil {
					return err
				}
				var out map[string]any
				if err := wr.Get(ctx, &out); err != nil {
					return err
				}
				if fmt.Sprint(out["status"]) != "200" {
					return fmt.Errorf("outputs %v", out)
				}
				return nil
			})
		})
	}
}

// rate runs one(i) for i < n from conc goroutines and reports runs/s.
func rate(b *testing.B, n, conc int, one func(ctx context.Context, i int) error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var next atomic.Int64
	var wg sync.WaitGroup
	begin := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				if err := one(ctx, int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(n)/time.Since(begin).Seconds(), "runs/s")
}
