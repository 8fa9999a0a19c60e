package temporal

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/temporal"

	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/trigger/pgstore"
)

// TestE2ERevoke runs when scripts/e2e-temporal.sh has started Temporal and
// Postgres: a connection with a poll trigger (a Schedule) and two running
// flow workflows (the hold flow: a request, then a 1h timer), beside
// another connection's running workflow. `connection revoke --engine
// temporal` runs the revoke flow, marks the file revoked, deletes the
// Schedule, cancels the connection's two workflows (they end cancelled),
// pauses the trigger in Postgres and leaves the other connection's
// workflow running; run again, it has nothing left to do.
func TestE2ERevoke(t *testing.T) {
	addr, bin, dsn := os.Getenv("FLOWRUN_E2E_TEMPORAL"), os.Getenv("FLOWRUN_E2E_BIN"), os.Getenv("FLOWRUN_PG_DSN")
	if addr == "" || bin == "" || dsn == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL, FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN are not set: run scripts/e2e-temporal.sh")
	}
	// A schema of its own: the trigger it turns on stays on (paused), and
	// the later tests turn the same flow on in the shared schema.
	_, _, dsn = openBlobs(t)
	var revoked, held atomic.Int32
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/revoke":
			revoked.Add(1)
		case "/stock/held":
			held.Add(1)
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"events": []}`)
	}))
	defer svc.Close()
	dir := t.TempDir()
	stamp := time.Now().UnixNano()
	mine, other := fmt.Sprintf("rv%d", stamp), fmt.Sprintf("keep%d", stamp)
	for _, name := range []string{mine, other} {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte("params:\n  base_url: "+svc.URL+"\n  api_key: "+testKey+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	connFile := filepath.Join(dir, mine+".yaml")
	queue := fmt.Sprintf("e2e-revoke-%d", stamp)
	flowrun := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "FLOWRUN_POLL_EVERY=1h")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("flowrun %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	// every process seals its payloads (Schedules' arguments, memos, start
	// inputs), which revoke must open to find the connection's runs
	key := filepath.Join(dir, "payload.key")
	if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))), 0o600); err != nil {
		t.Fatal(err)
	}
	tflags := []string{"--engine", "temporal", "--temporal", addr, "--task-queue", queue, "--payload-key", key}
	out := flowrun(append([]string{"trigger", "on", "testdata/shop", "new_orders", "-c", connFile, "--state", dsn}, tflags...)...)
	m := regexp.MustCompile(`trigger (\S+) is on`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trigger on said:\n%s", out)
	}
	trig := m[1]
	// the state is shared with the other e2e tests, which turn the same
	// trigger on: forget it at the end
	t.Cleanup(func() {
		if st, err := pgstore.Open(context.Background(), dsn); err == nil {
			st.DeleteTrigger(context.Background(), trig)
			st.Close()
		}
	})
	worker := exec.Command(bin, "worker", "testdata/shop", "--temporal", addr, "--task-queue", queue, "--connections", dir,
		"--state", dsn, "--activity-timeout", "3s", "--payload-key", key)
	logf, _ := os.Create(filepath.Join(dir, "worker.log"))
	worker.Stdout, worker.Stderr = logf, logf
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { worker.Process.Kill(); worker.Wait() })

	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// Two runs by flowrun start (with the connection's memo), and one of
	// this connection by a plain Temporal client (no memo: found by its
	// input).
	var ids []string
	for i, conn := range []string{mine, other, mine} {
		id := fmt.Sprintf("%s/hold-%d", queue, i)
		if i < 2 {
			flowrun("start", "testdata/shop", "hold", "--connection-id", conn, "--id", id, "--temporal", addr, "--task-queue", queue, "--payload-key", key)
		} else if _, err := c.ExecuteWorkflow(ctx, client.StartWorkflowOptions{ID: id, TaskQueue: queue}, WorkflowName,
			FlowInput{Project: "shop", Flow: "hold", ConnectionID: mine}); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	defer c.TerminateWorkflow(context.Background(), ids[1], "", "test over")
	// The three runs are waiting (each sent its request) and listed.
	for {
		resp, err := c.ListWorkflow(ctx, &workflowservice.ListWorkflowExecutionsRequest{
			Query: fmt.Sprintf("ExecutionStatus = 'Running' AND WorkflowId STARTS_WITH '%s/hold-'", queue)})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Executions) == 3 && held.Load() == 3 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("%d runs listed, %d requests", len(resp.Executions), held.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}

	rflags := append([]string{"connection", "revoke", "testdata/shop", "-c", connFile, "--state", dsn}, tflags...)
	out = flowrun(rflags...)
	want := fmt.Sprintf("temporal: deleted 1 schedule, cancelled 2 workflows (connection shop/%s)", mine)
	if !strings.Contains(out, want) || !strings.Contains(out, "is marked revoked") || !strings.Contains(out, "trigger "+trig+" is paused: connection revoked") {
		t.Fatalf("revoke said:\n%s\nwant %q", out, want)
	}
	if revoked.Load() != 1 {
		t.Fatalf("the revoke flow ran %d times", revoked.Load())
	}
	if b, _ := os.ReadFile(connFile); !strings.Contains(string(b), "revoked_at") {
		t.Fatalf("the connection file is not marked revoked:\n%s", b)
	}
	var nf *serviceerror.NotFound
	if _, err := c.ScheduleClient().GetHandle(ctx, PollScheduleID(trig)).Describe(ctx); !errors.As(err, &nf) {
		t.Fatalf("the schedule after revoke: %v", err)
	}
	for i, id := range []string{ids[0], ids[2]} {
		err := c.GetWorkflow(ctx, id, "").Get(ctx, nil)
		var ce *temporal.CanceledError
		if !errors.As(err, &ce) {
			t.Fatalf("run %d: %v, want cancelled", i, err)
		}
	}
	d, err := c.DescribeWorkflowExecution(ctx, ids[1], "")
	if err != nil || d.WorkflowExecutionInfo.Status != enums.WORKFLOW_EXECUTION_STATUS_RUNNING {
		t.Fatalf("the other connection's run: %v, %v", d, err)
	}
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	holds, err := st.Holds(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h, ok := holds[trig]; !ok || h.Code != trigger.HoldManual || h.Reason != "connection revoked" {
		t.Fatalf("trigger %s's hold: %+v", trig, holds[trig])
	}

	out = flowrun(rflags...)
	want = fmt.Sprintf("temporal: deleted 0 schedules, cancelled 0 workflows (connection shop/%s)", mine)
	if !strings.Contains(out, want) || !strings.Contains(out, "marked revoked already") || revoked.Load() != 1 {
		t.Fatalf("revoke again said:\n%s\nwant %q (and no second revoke flow: %d)", out, want, revoked.Load())
	}
	t.Logf("revoke: %s", strings.ReplaceAll(strings.TrimSpace(out), "\n", "; "))
}
