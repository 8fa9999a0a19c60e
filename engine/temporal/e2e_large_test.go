package temporal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/sdk/client"
	"google.golang.org/protobuf/proto"
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
		if bytes.Contains(b, []byte("CONFIDENTIAL")) || bytes.Contains(b, []byte("0123456789abcdef")) {
			t.Fatalf("event %d (%s) holds plaintext", ev.EventId, ev.EventType)
		}
	}
	if events == 0 || total > 64<<10 {
		t.Fatalf("history: %d events, %d bytes", events, total)
	}
	t.Logf("3 MB document: history of %d events, %d bytes", events, total)
}
