package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/flowrun/flowrun/trigger"
)

// syncBuffer is a bytes.Buffer safe to read while a process writes it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeOperationsEndToEnd runs a real `flowrun serve` binary: a
// delivery is logged as one JSON line and recorded in the run history
// (runs list/show read it), /readyz and /metrics answer, and SIGTERM with
// a stalled upload open exits 0 within the drain deadline.
func TestServeOperationsEndToEnd(t *testing.T) {
	svc := newFakeService(t)
	dir := t.TempDir()
	conn := writeConn(t, dir, svc.srv.URL)
	state := filepath.Join(dir, "state")
	project := "../../testdata/trigger/acme"
	addr := freeAddr(t)
	out, errs, code := runBin(t, "trigger", "on", project, "issue_events", "--connection", conn, "--state", state, "--public-url", "http://"+addr)
	if code != 0 {
		t.Fatalf("trigger on: exit %d\n%s%s", code, out, errs)
	}
	id := regexp.MustCompile(`trigger (\S+) is on`).FindStringSubmatch(out)[1]
	st, err := trigger.Open(state)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := st.GetTrigger(context.Background(), id)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}

	cmd := exec.Command(flowrunBin(t), "serve", project, "--connection", conn, "--state", state, "--listen", addr,
		"--sink", "file:"+filepath.Join(dir, "events.jsonl"), "--public-url", "http://"+addr, "--clock", "2026-01-01T00:00:00Z",
		"--log-format", "json", "--drain", "500ms", "--read-timeout", "1m", "--keep-runs", "10")
	cmd.Env = append(os.Environ(), "ACME_TOKEN="+acmeToken)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { cmd.Process.Kill() })
	waitReady(t, addr)

	body, err := os.ReadFile("../../testdata/realdata/github-webhook-issues-opened.json")
	if err != nil {
		t.Fatal(err)
	}
	hdr := map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "ops-1", "X-Hub-Signature-256": hubSign(tr.Secret, body)}
	if c := post(t, "http://"+addr+trigger.HookPath(id), hdr, body); c != 200 {
		t.Fatalf("delivery: %d\n%s", c, stderr.String())
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), fmt.Sprintf(`flowrun_webhook_deliveries_total{outcome="ok",trigger=%q} 1`, id)) {
		t.Fatalf("metrics:\n%s", metrics)
	}

	// the history, read by another process while serve runs
	out, errs, code = runBin(t, "runs", "list", "--state", state, "--json")
	var rec trigger.RunRecord
	if code != 0 || json.Unmarshal([]byte(strings.SplitN(out, "\n", 2)[0]), &rec) != nil || rec.Source != "webhook" || rec.TriggerID != id || rec.Events != 1 {
		t.Fatalf("runs list: %d %s%s", code, out, errs)
	}
	out, _, code = runBin(t, "runs", "show", fmt.Sprint(rec.ID), "--state", state)
	if code != 0 || !strings.Contains(out, "steps:") || strings.Contains(out, tr.Secret) || strings.Contains(out, acmeToken) {
		t.Fatalf("runs show: %d\n%s", code, out)
	}

	// a delivery whose event steps fail is kept and can be replayed (it
	// fails again: the flow is at fault)
	bad := []byte(`{"action":"opened"}`)
	hdr = map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "ops-2", "X-Hub-Signature-256": hubSign(tr.Secret, bad)}
	if c := post(t, "http://"+addr+trigger.HookPath(id), hdr, bad); c < 500 {
		t.Fatalf("failing delivery: %d\n%s", c, stderr.String())
	}
	out, errs, code = runBin(t, "runs", "list", "--state", state, "--failed")
	m := regexp.MustCompile(`(?m)^(\d+) .* webhook +` + regexp.QuoteMeta(id) + ` .* error \(replayable\)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("runs list --failed: %d\n%s%s", code, out, errs)
	}
	out, errs, code = runBin(t, "runs", "replay", project, m[1], "--state", state, "--connection", conn, "--sink", "file:"+filepath.Join(dir, "replayed.jsonl"))
	if code != 1 || !strings.Contains(errs, "replay of run "+m[1]+" failed (recorded as run ") {
		t.Fatalf("runs replay: %d\n%s%s", code, out, errs)
	}
	out, _, _ = runBin(t, "runs", "list", "--state", state, "--limit", "1")
	if !strings.Contains(out, " replay ") {
		t.Fatalf("the replay is not the newest run:\n%s", out)
	}

	// a stalled upload, then SIGTERM
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{\"action\":", trigger.HookPath(id))
	time.Sleep(200 * time.Millisecond)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve exited with %v after SIGTERM\n%s", err, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("serve still running 10s after SIGTERM with --drain 500ms\n%s", stderr.String())
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("shutdown took %s", d)
	}
	logs := stderr.String()
	if strings.Contains(logs, acmeToken) || strings.Contains(logs, tr.Secret) {
		t.Fatalf("a secret in the log:\n%s", logs)
	}
	var sawRun bool
	for _, line := range strings.Split(logs, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if m["msg"] == "run" && m["trigger"] == id && m["outcome"] == "ok" && m["source"] == "webhook" && m["run_id"] == float64(rec.ID) {
			sawRun = true
		}
	}
	if !sawRun {
		t.Fatalf("no JSON log line for the delivery:\n%s", logs)
	}
}

// waitReady waits for the flowrun serve at addr to answer /readyz with 200.
func waitReady(t *testing.T, addr string) {
	t.Helper()
	waitFor(t, 20*time.Second, "serve to be ready", func() bool {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
}
