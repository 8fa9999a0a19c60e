package temporal

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"

	"github.com/flowrun/flowrun/trigger/pgstore"
)

// TestE2EPollSchedule runs when scripts/e2e-temporal.sh has started
// Temporal and Postgres: `trigger on --engine temporal` makes a poll
// trigger a Schedule (every second here), two workers with Postgres state
// run it, one is SIGKILLed between two batches of new orders: every order
// reaches the sink and the cursor in Postgres ends at the last one;
// pause and resume toggle the Schedule and `trigger off` deletes it.
func TestE2EPollSchedule(t *testing.T) {
	addr, bin, dsn := os.Getenv("FLOWRUN_E2E_TEMPORAL"), os.Getenv("FLOWRUN_E2E_BIN"), os.Getenv("FLOWRUN_PG_DSN")
	if addr == "" || bin == "" || dsn == "" {
		t.Skip("FLOWRUN_E2E_TEMPORAL, FLOWRUN_E2E_BIN and FLOWRUN_PG_DSN are not set: run scripts/e2e-temporal.sh")
	}
	feed := &orderFeed{}
	feedSrv := httptest.NewServer(feed)
	defer feedSrv.Close()
	sink := &keySink{keys: map[string]int{}}
	sinkSrv := httptest.NewServer(sink)
	defer sinkSrv.Close()
	dir := t.TempDir()
	connFile := filepath.Join(dir, "acme.yaml")
	if err := os.WriteFile(connFile, []byte("params:\n  base_url: "+feedSrv.URL+"\n  api_key: "+testKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	queue := fmt.Sprintf("e2e-poll-%d", time.Now().UnixNano())
	flowrun := func(args ...string) string {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "FLOWRUN_POLL_EVERY=1s")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("flowrun %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	tflags := []string{"--state", dsn, "--engine", "temporal", "--temporal", addr, "--task-queue", queue}
	out := flowrun(append([]string{"trigger", "on", "testdata/shop", "new_orders", "-c", connFile}, tflags...)...)
	m := regexp.MustCompile(`trigger (\S+) is on`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("trigger on said:\n%s", out)
	}
	id := m[1]
	startWorker := func(name string) *exec.Cmd {
		cmd := exec.Command(bin, "worker", "testdata/shop", "--temporal", addr, "--task-queue", queue, "--connections", dir,
			"--state-dsn", dsn, "--sink", sinkSrv.URL, "--activity-timeout", "3s")
		logf, _ := os.Create(filepath.Join(dir, name+".log"))
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd
	}
	w1 := startWorker("w1")
	startWorker("w2")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	waitFor := func(n int) {
		for sink.distinct() < n {
			if ctx.Err() != nil {
				t.Fatalf("the sink got %d of %d orders", sink.distinct(), n)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	begin := time.Now()
	feed.mu.Lock()
	feed.n = 5
	feed.mu.Unlock()
	waitFor(5)
	if err := w1.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	feed.mu.Lock()
	feed.n = 10
	feed.mu.Unlock()
	waitFor(10)
	took := time.Since(begin)
	st, err := pgstore.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for {
		tr, err := st.GetTrigger(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if string(tr.Cursor) == "10" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("cursor %s, want 10", tr.Cursor)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sink.mu.Lock()
	twice := sink.all - len(sink.keys)
	sink.mu.Unlock()
	t.Logf("10 orders polled by a 1s Schedule on 2 workers (one killed after 5): all at the sink in %v, %d delivered again (at least once), cursor 10 in Postgres",
		took.Round(time.Millisecond), twice)

	c, err := client.Dial(client.Options{HostPort: addr})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	h := c.ScheduleClient().GetHandle(ctx, PollScheduleID(id))
	flowrun(append([]string{"trigger", "pause", id}, tflags[2:]...)...)
	if d, err := h.Describe(ctx); err != nil || !d.Schedule.State.Paused {
		t.Fatalf("after pause: %+v, %v", d, err)
	}
	flowrun(append([]string{"trigger", "resume", id}, tflags...)...)
	if d, err := h.Describe(ctx); err != nil || d.Schedule.State.Paused {
		t.Fatalf("after resume: %+v, %v", d, err)
	}
	flowrun(append([]string{"trigger", "off", "testdata/shop", id, "-c", connFile}, tflags...)...)
	var nf *serviceerror.NotFound
	if _, err := h.Describe(ctx); !errors.As(err, &nf) {
		t.Fatalf("after off, the schedule: %v", err)
	}
}
