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
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"

	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

// TestE2ELargeEncryptedPayload runs when scripts/e2e-temporal.sh sets
// FLOWRUN_E2E_TEMPORAL, FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN: a document of
// 3 MB (over Temporal's 2 MB per payload) goes through `flowrun start` and a
// `flowrun worker` with --payload-key and the Postgres state. The run
// completes; its history holds no large payload and no plaintext; and the
// same start without the claim check is refused by Temporal.
func TestE2ELargeEncryptedPayload(t *testing.T) {
	addr, bin, dsn := os.Getenv("FLOWRUN_E2E_TEMPORAL"), os.Getenv("FLOWRUN_E2E_BIN"), os.Getenv("FLOWRUN_PG_DSN")
	if addr == "" || bin == "" || dsn == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL, FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN are not set: run scripts/e2e-temporal.sh")
	}
	srv := uploads()
	defer srv.Close()
	dir := t.TempDir()
	conn := "params:\n  base_url: " + srv.URL + "\n  api_key: " + testKey + "\n"
	key := filepath.Join(dir, "payload.key")
	if err := os.WriteFile(filepath.Join(dir, "acme.yaml"), []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "CONFIDENTIAL-" + strings.Repeat("0123456789abcdef", 3<<20/16)
	input := filepath.Join(dir, "in.json")
	b, _ := json.Marshal(map[string]any{"doc": doc})
	if err := os.WriteFile(input, b, 0o600); err != nil {
		t.Fatal(err)
	}
	queue := fmt.Sprintf("e2e-large-%d", time.Now().UnixNano())
	w := exec.Command(bin, "worker", "testdata/shop", "--temporal", addr, "--task-queue", queue,
		"--connections", dir, "--state", dsn, "--payload-key", key)
	var wlog bytes.Buffer
	w.Stdout, w.Stderr = &wlog, &wlog
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Process.Kill(); w.Wait() })

	id := queue + "/upload"
	start := func(extra ...string) (string, string, error) {
		args := append([]string{"start", "testdata/shop", "upload", "--connection-id", "acme", "--input", "@" + input,
			"--temporal", addr, "--task-queue", queue, "--payload-key", key, "--state", dsn}, extra...)
		cmd := exec.Command(bin, args...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		err := cmd.Run()
		return out.String(), errb.String(), err
	}
	// Without the claim check, Temporal refuses a 3 MB input.
	if _, stderr, err := start("--id", id+"-inline", "--large-payload", "0"); err == nil {
		t.Fatal("a 3 MB input was started without the claim check")
	} else if !strings.Contains(stderr, "limit") {
		t.Fatalf("without the claim check: %s", stderr)
	} else {
		t.Logf("without the claim check: %s", strings.TrimSpace(stderr))
	}
	stdout, stderr, err := start("--id", id, "--wait")
	if err != nil {
		t.Fatalf("start: %v\n%s\nworker:\n%s", err, stderr, wlog.String())
	}
	var out struct {
		Size float64
		Doc  string
	}
	if err := json.Unmarshal([]byte(stdout), &out); err != nil || int(out.Size) != len(doc) || out.Doc != doc {
		t.Fatalf("outputs: size %v (want %d), doc of %d bytes, %v", out.Size, len(doc), len(out.Doc), err)
	}

	// History, as anyone reading Temporal sees it: small and sealed.
	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	it := c.GetWorkflowHistory(ctx, id, "", false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	total, events := 0, 0
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := proto.Marshal(ev)
		total += len(b)
		events++
		if ev.EventType == enums.EVENT_TYPE_WORKFLOW_TASK_FAILED {
			t.Errorf("a workflow task failed: %v", ev.GetWorkflowTaskFailedEventAttributes().GetFailure().GetMessage())
		}
		if bytes.Contains(b, []byte("CONFIDENTIAL")) || bytes.Contains(b, []byte("0123456789abcdef")) {
			t.Fatalf("event %d (%s) holds plaintext", ev.EventId, ev.EventType)
		}
	}
	if events == 0 || total > 64<<10 {
		t.Fatalf("history: %d events, %d bytes", events, total)
	}
	t.Logf("3 MB document: history of %d events, %d bytes", events, total)
}

// TestE2ELargeDelivery: a webhook event of 900 KB (under the ingress's 1 MiB
// body limit, over --large-payload) goes from serve --engine temporal to the
// worker's sink as a claim, sealed, with both on the Postgres state.
func TestE2ELargeDelivery(t *testing.T) {
	addr, bin, dsn := os.Getenv("FLOWRUN_E2E_TEMPORAL"), os.Getenv("FLOWRUN_E2E_BIN"), os.Getenv("FLOWRUN_PG_DSN")
	if addr == "" || bin == "" || dsn == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL, FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN are not set: run scripts/e2e-temporal.sh")
	}
	st, _, sdsn := openBlobs(t) // a schema of its own: the trigger is turned on afresh
	st.Close()
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id": 7}`)
	}))
	defer svc.Close()
	var got []trigger.Delivery
	var mu sync.Mutex
	sinkSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ds []trigger.Delivery
		if err := json.NewDecoder(r.Body).Decode(&ds); err != nil {
			w.WriteHeader(400)
			return
		}
		mu.Lock()
		got = append(got, ds...)
		mu.Unlock()
	}))
	defer sinkSrv.Close()
	dir := t.TempDir()
	connFile := filepath.Join(dir, "acme.yaml")
	key := filepath.Join(dir, "payload.key")
	os.WriteFile(connFile, []byte("params:\n  base_url: "+svc.URL+"\n  api_key: "+testKey+"\n"), 0o600)
	os.WriteFile(key, []byte("AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"), 0o600)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	listen := ln.Addr().String()
	ln.Close()
	queue := fmt.Sprintf("e2e-large-hook-%d", time.Now().UnixNano())
	out, err := exec.Command(bin, "trigger", "on", "testdata/shop", "order_events", "-c", connFile, "--state", sdsn,
		"--public-url", "http://"+listen).CombinedOutput()
	m := regexp.MustCompile(`trigger (\S+) is on`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("trigger on: %v\n%s", err, out)
	}
	id := string(m[1])
	pg, err := pgstore.Open(context.Background(), sdsn)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := pg.GetTrigger(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for name, args := range map[string][]string{
		"worker": {"worker", "testdata/shop", "--temporal", addr, "--task-queue", queue, "--connections", dir,
			"--sink", sinkSrv.URL, "--state", sdsn, "--payload-key", key},
		"ingress": {"serve", "testdata/shop", "-c", connFile, "--state", sdsn, "--engine", "temporal", "--temporal", addr,
			"--task-queue", queue, "--listen", listen, "--payload-key", key},
	} {
		cmd := exec.Command(bin, args...)
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("%s:\n%s", name, log.String())
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
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
	status := "paid-" + strings.Repeat("s", 900<<10)
	body, _ := json.Marshal(map[string]any{"order": "o-big", "status": status})
	mac := hmac.New(sha256.New, []byte(tr.Secret))
	mac.Write(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+listen+trigger.HookPath(id), bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Delivery-Id", "big-1")
	req.Header.Set("X-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("delivery: %d", resp.StatusCode)
	}
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n > 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the event did not reach the sink")
		}
		time.Sleep(100 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if ev, ok := got[0].Event.(map[string]any); len(got) != 1 || !ok || ev["status"] != status {
		t.Fatalf("the sink got %d deliveries", len(got))
	}
	var blobs int
	conn, _ := pgx.Connect(ctx, sdsn)
	defer conn.Close(context.Background())
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM payload_blobs").Scan(&blobs); err != nil || blobs == 0 {
		t.Fatalf("no payload in the state database: %d %v", blobs, err)
	}
}
