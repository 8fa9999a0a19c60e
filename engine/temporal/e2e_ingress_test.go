package temporal

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
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

// keySink is the e2e's sink: it counts the deliveries of each dedupe key.
type keySink struct {
	mu   sync.Mutex
	keys map[string]int
	all  int
}

func (s *keySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ds []trigger.Delivery
	if err := json.NewDecoder(r.Body).Decode(&ds); err != nil {
		w.WriteHeader(400)
		return
	}
	s.mu.Lock()
	for _, d := range ds {
		s.keys[d.Key]++
		s.all++
	}
	s.mu.Unlock()
}

func (s *keySink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}

// TestE2EIngress runs when scripts/e2e-temporal.sh has started Temporal and
// Postgres: a webhook trigger turned on in Postgres, flowrun serve
// --engine temporal as the ingress and a flowrun worker with an HTTP sink;
// every signed delivery is posted twice (concurrently with others) and must
// reach the sink exactly once; a handshake is answered by the ingress
// itself, a bad signature gets 401.
func TestE2EIngress(t *testing.T) {
	addr, bin, dsn := os.Getenv("FLOWRUN_E2E_TEMPORAL"), os.Getenv("FLOWRUN_E2E_BIN"), os.Getenv("FLOWRUN_PG_DSN")
	if addr == "" || bin == "" || dsn == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL, FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN are not set: run scripts/e2e-temporal.sh")
	}
	deliveries := 40
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": 7}`)
	}))
	defer svc.Close()
	sink := &keySink{keys: map[string]int{}}
	sinkSrv := httptest.NewServer(sink)
	defer sinkSrv.Close()
	dir := t.TempDir()
	connFile := filepath.Join(dir, "acme.yaml")
	if err := os.WriteFile(connFile, []byte("params:\n  base_url: "+svc.URL+"\n  api_key: "+testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	queue := fmt.Sprintf("e2e-ingress-%d", time.Now().UnixNano())

	out, err := exec.Command(bin, "trigger", "on", "testdata/shop", "order_events", "-c", connFile, "--state", dsn,
		"--public-url", "http://"+listen).CombinedOutput()
	if err != nil {
		t.Fatalf("trigger on: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`trigger (\S+) is on`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("trigger on said:\n%s", out)
	}
	id := string(m[1])
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := st.GetTrigger(ctx, id)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	start := func(name string, args ...string) {
		cmd := exec.Command(bin, args...)
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				b, _ := os.ReadFile(logf.Name())
				t.Logf("%s:\n%s", name, b)
			}
		})
	}
	start("worker", "worker", "testdata/shop", "--temporal", addr, "--task-queue", queue, "--connections", dir, "--sink", sinkSrv.URL)
	start("ingress", "serve", "testdata/shop", "-c", connFile, "--state", dsn, "--engine", "temporal", "--temporal", addr,
		"--task-queue", queue, "--listen", listen)
	url := "http://" + listen + trigger.HookPath(id)
	for {
		if resp, err := http.Get("http://" + listen + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the ingress did not start")
		}
		time.Sleep(100 * time.Millisecond)
	}
	post := func(body []byte, delivery, sig string) (int, string) {
		req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Delivery-Id", delivery)
		req.Header.Set("X-Signature", sig)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	sign := func(body []byte) string {
		mac := hmac.New(sha256.New, []byte(tr.Secret))
		mac.Write(body)
		return "sha256=" + hex.EncodeToString(mac.Sum(nil))
	}
	// a handshake is answered synchronously by the event steps
	ch := []byte(`{"challenge":"c-123"}`)
	if code, resp := post(ch, "hs-1", sign(ch)); code != 200 || resp != `{"challenge":"c-123"}` {
		t.Fatalf("handshake: %d %s", code, resp)
	}
	// a bad signature starts nothing
	bad := []byte(`{"order":"o-x","status":"paid"}`)
	if code, _ := post(bad, "bad-1", sign([]byte("other"))); code != 401 {
		t.Fatalf("bad signature: %d, want 401", code)
	}
	begin := time.Now()
	var wg sync.WaitGroup
	errs := make(chan string, 2*deliveries)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				body := []byte(fmt.Sprintf(`{"order":"o-%d","status":"paid"}`, i/2))
				if code, resp := post(body, fmt.Sprintf("d-%d", i/2), sign(body)); code != 200 {
					errs <- fmt.Sprintf("delivery d-%d: %d %s", i/2, code, resp)
				}
			}
		}()
	}
	for i := range 2 * deliveries { // each delivery twice, the second right after the first
		work <- i
	}
	close(work)
	wg.Wait()
	answered := time.Since(begin)
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	for sink.distinct() < deliveries {
		if ctx.Err() != nil {
			t.Fatalf("the sink got %d of %d deliveries", sink.distinct(), deliveries)
		}
		time.Sleep(50 * time.Millisecond)
	}
	delivered := time.Since(begin)
	time.Sleep(time.Second) // a second delivery of any would arrive now
	sink.mu.Lock()
	defer sink.mu.Unlock()
	twice := 0
	for i := range deliveries {
		if n := sink.keys[fmt.Sprintf("d-%d", i)]; n != 1 {
			twice++
			t.Errorf("d-%d reached the sink %d times", i, n)
		}
	}
	t.Logf("%d deliveries posted twice each: all answered in %v, all at the sink in %v; %d events at the sink, %d not exactly once",
		deliveries, answered.Round(time.Millisecond), delivered.Round(time.Millisecond), sink.all, twice)
	if sink.all != deliveries {
		t.Fatalf("the sink got %d events, want %d", sink.all, deliveries)
	}
}
