package trigger

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/run"
)

// TestHistoryMigrationFromV2: a state.db written by the previous schema
// (version 2) upgrades in place; its triggers and runs are kept.
func TestHistoryMigrationFromV2(t *testing.T) {
	dir := t.TempDir()
	db, err := sql.Open("sqlite", filepath.Join(dir, StateFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:2] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(`PRAGMA user_version = 2;
		INSERT INTO triggers (id, project, flow, kind, input, created_at) VALUES ('p-1', 'acme', 'poll', 'poll', '{}', 1);
		INSERT INTO runs (trigger_id, project, flow, started_at, duration_ns, events, status, error) VALUES ('p-1', 'acme', 'poll', 5, 7, 3, 'error', 'old');`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	runs, err := st.ListRuns(context.Background(), RunFilter{})
	if err != nil || len(runs) != 1 || runs[0].TriggerID != "p-1" || runs[0].Events != 3 || runs[0].Error != "old" || runs[0].Source != "" || runs[0].Replayable {
		t.Fatalf("%+v %v", runs, err)
	}
	if _, err := st.GetTrigger(context.Background(), "p-1"); err != nil {
		t.Fatal(err)
	}
	if err := st.Commit(context.Background(), "p-1", RunCommit{Source: "poll", Steps: []StepRecord{{Flow: "poll", Step: "s", Kind: "log"}}}); err != nil {
		t.Fatal(err)
	}
	r, err := st.GetRun(context.Background(), 2)
	if err != nil || r.Source != "poll" || len(r.Steps) != 1 {
		t.Fatalf("%+v %v", r, err)
	}
}

// TestRecordListPrune: RecordRun keeps at most MaxStepsPerRun steps;
// ListRuns filters; PruneRuns deletes by count per trigger and by age,
// steps and payloads with their runs.
func TestRecordListPrune(t *testing.T) {
	ctx := context.Background()
	st, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	old := time.Now().Add(-48 * time.Hour)
	steps := make([]StepRecord, 250)
	for i := range steps {
		steps[i] = StepRecord{Flow: "f", Step: fmt.Sprint(i), Kind: "set"}
	}
	id, err := st.RecordRun(ctx, &RunRecord{Project: "acme", Flow: "f", Source: "run", Started: old, Steps: steps}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := st.GetRun(ctx, id)
	if err != nil || len(r.Steps) != MaxStepsPerRun || r.StepsDropped != 50 || r.Status != "ok" {
		t.Fatalf("%d steps, %d dropped, %v", len(r.Steps), r.StepsDropped, err)
	}
	for i := range 3 {
		if _, err := st.RecordRun(ctx, &RunRecord{Project: "acme", Flow: "g", Source: "run", Error: fmt.Sprint("e", i)}, &Payload{Input: json.RawMessage(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	failed, err := st.ListRuns(ctx, RunFilter{Failed: true, Flow: "g", Limit: 2})
	if err != nil || len(failed) != 2 || failed[0].Error != "e2" || !failed[0].Replayable {
		t.Fatalf("%+v %v", failed, err)
	}
	if _, err := st.RunPayload(ctx, id); err == nil {
		t.Fatal("a run without payload has one")
	}
	n, err := st.PruneRuns(ctx, 0, time.Now().Add(-time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("pruned %d by age: %v", n, err)
	}
	n, err = st.PruneRuns(ctx, 2, time.Time{})
	if err != nil || n != 1 {
		t.Fatalf("pruned %d by count: %v", n, err)
	}
	var left int
	st.r.QueryRow(`SELECT count(*) FROM run_steps`).Scan(&left)
	if left != 0 {
		t.Fatalf("%d steps of pruned runs left", left)
	}
	st.r.QueryRow(`SELECT count(*) FROM run_payloads`).Scan(&left)
	if left != 2 {
		t.Fatalf("%d payloads left, want 2", left)
	}
}

// TestStepRecorderRedactsAndCaps: secrets never reach a step record, and
// values over MaxStepValueBytes are cut.
func TestStepRecorderRedactsAndCaps(t *testing.T) {
	conn := &connection.Connection{Params: map[string]any{}}
	conn.AddSecret("sk_live_0123456789")
	sr := NewStepRecorder(conn)
	var logged []string
	sr.OnLog = func(flow, step, msg string) { logged = append(logged, msg) }
	big := strings.Repeat("x", 10_000) + "sk_live_0123456789"
	sr.Add(run.TraceEvent{Flow: "f", Step: "a", Kind: "http", URL: "https://x/?k=sk_live_0123456789",
		Input: map[string]any{"headers": map[string]any{"Authorization": "Bearer sk_live_0123456789"}}, Output: map[string]any{"body": big}})
	sr.Add(run.TraceEvent{Flow: "f", Step: "b", Kind: "log", Message: "key sk_live_0123456789"})
	var rec RunRecord
	sr.Fill(&rec)
	b, _ := json.Marshal(rec)
	if strings.Contains(string(b), "sk_live") {
		t.Fatalf("secret stored: %s", b)
	}
	if len(rec.Steps) != 2 || len(rec.Steps[0].Output) > MaxStepValueBytes+64 || !strings.Contains(string(rec.Steps[0].Output), "truncated") {
		t.Fatalf("output %d bytes: %.100s", len(rec.Steps[0].Output), rec.Steps[0].Output)
	}
	if !json.Valid(rec.Steps[0].Output) || !json.Valid(rec.Steps[0].Input) {
		t.Fatal("a capped value is not JSON")
	}
	if len(logged) != 1 || strings.Contains(logged[0], "sk_live") {
		t.Fatalf("log: %q", logged)
	}
}

// TestFailedDeliveryReplay: a delivery whose sink failed is recorded with
// its steps and the request; once the sink is back, Replay delivers its
// events and records a replay run.
func TestFailedDeliveryReplay(t *testing.T) {
	ctx := context.Background()
	sink := &memSink{fail: true}
	h, tr, url, _ := hookHost(t, sink)
	body := realPayload(t, "github-webhook-issues-opened.json")
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": sign(tr.Secret, body)}
	if code, _ := deliver(t, url, hdr, body, "POST"); code != 503 {
		t.Fatalf("sink down: %d", code)
	}
	runs, err := h.Store.ListRuns(ctx, RunFilter{TriggerID: tr.ID, Failed: true})
	if err != nil || len(runs) != 1 || !runs[0].Replayable || runs[0].Source != "webhook" {
		t.Fatalf("%+v %v", runs, err)
	}
	failed, err := h.Store.GetRun(ctx, runs[0].ID)
	if err != nil || len(failed.Steps) == 0 {
		t.Fatalf("%+v %v", failed, err)
	}
	p, err := h.Store.RunPayload(ctx, failed.ID)
	if err != nil || strings.Contains(string(p.Request), tr.Secret) || !strings.Contains(string(p.Request), "opened") {
		t.Fatalf("payload %.200s %v", p.Request, err)
	}
	sink.mu.Lock()
	sink.fail = false
	sink.mu.Unlock()
	id, n, err := h.Replay(ctx, failed.ID)
	if err != nil || n != 1 || sink.count() != 1 {
		t.Fatalf("replay: run %d, %d events, %v", id, n, err)
	}
	r, err := h.Store.GetRun(ctx, id)
	if err != nil || r.Source != "replay" || r.ReplayOf != failed.ID || r.Status != "ok" {
		t.Fatalf("%+v %v", r, err)
	}
	// dedupe keeps a second replay from delivering again
	if _, n, err := h.Replay(ctx, failed.ID); err != nil || n != 0 || sink.count() != 1 {
		t.Fatalf("second replay: %d events, %v", n, err)
	}
	if _, _, err := h.Replay(ctx, id); err == nil {
		t.Fatal("a run that succeeded was replayed")
	}
}

// serveHost runs h.Serve on a fresh listener until the test ends or stop
// is called; it returns the base URL and stop, which reports Serve's error
// and how long it took to return.
func serveHost(t *testing.T, h *Host, drain time.Duration) (string, func() (error, time.Duration)) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- h.Serve(ctx, ln, drain) }()
	stopped := false
	stop := func() (error, time.Duration) {
		stopped = true
		start := time.Now()
		cancel()
		select {
		case err := <-errc:
			return err, time.Since(start)
		case <-time.After(30 * time.Second):
			t.Fatal("Serve did not return 30s after its context was canceled")
			return nil, 0
		}
	}
	t.Cleanup(func() {
		if !stopped {
			stop()
		}
	})
	return "http://" + ln.Addr().String(), stop
}

// TestStalledUploadDoesNotHoldShutdown: a client that sends headers and
// part of a body, then stalls, holds the drain only until its deadline:
// Serve returns nil soon after, even with a long read timeout.
func TestStalledUploadDoesNotHoldShutdown(t *testing.T) {
	h, tr, _, _ := hookHost(t, &memSink{})
	h.ReadTimeout = time.Hour // only the drain deadline can end the upload
	base, stop := serveHost(t, h, 300*time.Millisecond)
	var conns []net.Conn
	for range 20 {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"action\":", HookPath(tr.ID))
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	// an idle keep-alive connection too
	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v", err)
	}
	resp.Body.Close()
	time.Sleep(200 * time.Millisecond) // the handlers are reading the bodies
	err, took := stop()
	if err != nil {
		t.Fatalf("Serve returned %v", err)
	}
	if took > 300*time.Millisecond+closeGrace+time.Second {
		t.Fatalf("Serve took %s to return after the drain of 300ms", took)
	}
	// the stalled connections were closed
	conns[0].SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := bufio.NewReader(conns[0]).ReadString('\n'); err == nil {
		// an error answer is fine too; what matters is that it is not held open
		t.Log("the stalled connection got an answer")
	}
}

// blockSink is a sink whose Deliver waits until release is closed, telling
// entered when a delivery is in it.
type blockSink struct {
	memSink
	entered chan struct{}
	release chan struct{}
}

func (s *blockSink) Deliver(ctx context.Context, ds []Delivery) error {
	s.entered <- struct{}{}
	<-s.release
	return s.memSink.Deliver(ctx, ds)
}

// TestHalfSentBodyDoesNotHoldDrain: on shutdown, a delivery whose body was
// read finishes (its events are delivered and it is answered 200), while
// clients that sent half a body and stalled are not work in flight: with a
// drain of 20s and a read timeout of an hour, Serve returns as soon as the
// delivery is done, and the stalled connections are closed.
func TestHalfSentBodyDoesNotHoldDrain(t *testing.T) {
	sink := &blockSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
	h, tr, _, logs := hookHost(t, sink)
	h.ReadTimeout = time.Hour
	const drain = 20 * time.Second
	base, stop := serveHost(t, h, drain)

	body := realPayload(t, "github-webhook-issues-opened.json")
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": "in-flight", "X-Hub-Signature-256": sign(tr.Secret, body)}
	answered := make(chan string, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+HookPath(tr.ID), bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			answered <- err.Error()
			return
		}
		resp.Body.Close()
		answered <- resp.Status
	}()
	<-sink.entered // the delivery is in flight: its steps ran, the sink holds it

	var conns []net.Conn
	for range 5 {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{\"action\":", HookPath(tr.ID))
	}
	time.Sleep(300 * time.Millisecond) // let the handlers start reading the half bodies

	type result struct {
		err  error
		took time.Duration
	}
	stopped := make(chan result, 1)
	go func() {
		err, took := stop()
		stopped <- result{err, took}
	}()
	select {
	case r := <-stopped:
		t.Fatalf("Serve returned (%v) while a delivery was in flight", r.err)
	case <-time.After(500 * time.Millisecond): // draining: the delivery is still in the sink
	}
	close(sink.release)
	if got := <-answered; got != "200 OK" {
		t.Fatalf("the delivery in flight was answered %s; log:\n%s", got, strings.Join(logs.take(), "\n"))
	}
	r := <-stopped
	if r.err != nil {
		t.Fatalf("Serve returned %v", r.err)
	}
	if r.took > drain/2 {
		t.Fatalf("Serve took %s to return: the half-sent bodies held the drain of %s", r.took, drain)
	}
	if sink.count() != 1 {
		t.Fatalf("sink got %d deliveries, want 1", sink.count())
	}
	for i, c := range conns {
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		buf := make([]byte, 512)
		for {
			_, err := c.Read(buf)
			if err == nil {
				continue // an answer (400) before the close is fine
			}
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatalf("stalled connection %d is still open after Serve returned", i)
			}
			break
		}
	}
}

// TestReadTimeoutEndsStalledUpload: the read timeout answers a stalled
// upload without waiting for a shutdown.
func TestReadTimeoutEndsStalledUpload(t *testing.T) {
	h, tr, _, _ := hookHost(t, &memSink{})
	h.ReadTimeout = 300 * time.Millisecond
	base, _ := serveHost(t, h, time.Second)
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n{", HookPath(tr.ID))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 512)
	start := time.Now()
	for {
		if _, err := c.Read(buf); err != nil {
			break
		}
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("the stalled upload was held %s", d)
	}
}

// TestMetricsAndReadyz: /metrics is scraped over real HTTP and parsed with
// the Prometheus text parser; /readyz answers 200 while serving.
func TestMetricsAndReadyz(t *testing.T) {
	h, tr, _, _ := hookHost(t, &memSink{})
	h.Metrics = NewMetrics()
	base, _ := serveHost(t, h, time.Second)
	body := realPayload(t, "github-webhook-issues-opened.json")
	hdr := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": "m-1", "X-Hub-Signature-256": sign(tr.Secret, body)}
	if code, resp := deliver(t, base+HookPath(tr.ID), hdr, body, "POST"); code != 200 {
		t.Fatalf("%d %s", code, resp)
	}
	hdr["X-Hub-Signature-256"] = sign("wrong", body)
	if code, _ := deliver(t, base+HookPath(tr.ID), hdr, body, "POST"); code != 401 {
		t.Fatalf("bad signature: %d", code)
	}
	if code, resp := deliver(t, base+"/readyz", nil, nil, "GET"); code != 200 || resp != "ready\n" {
		t.Fatalf("readyz: %d %q", code, resp)
	}
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	count := func(name string, labels map[string]string) float64 {
		f := fams[name]
		if f == nil {
			t.Fatalf("no metric %s", name)
		}
		var sum float64
	next:
		for _, m := range f.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.Counter.GetValue()
			case m.Histogram != nil:
				sum += float64(m.Histogram.GetSampleCount())
			case m.Gauge != nil:
				sum += m.Gauge.GetValue()
			}
		}
		return sum
	}
	if n := count("flowrun_webhook_deliveries_total", map[string]string{"trigger": tr.ID, "outcome": "ok"}); n != 1 {
		t.Errorf("ok deliveries: %v", n)
	}
	if n := count("flowrun_webhook_deliveries_total", map[string]string{"outcome": "rejected"}); n != 1 {
		t.Errorf("rejected deliveries: %v", n)
	}
	if n := count("flowrun_runs_total", map[string]string{"source": "webhook", "outcome": "ok"}); n != 1 {
		t.Errorf("runs: %v", n)
	}
	if n := count("flowrun_events_delivered_total", nil); n != 1 {
		t.Errorf("events: %v", n)
	}
	if n := count("flowrun_sink_duration_seconds", nil); n != 1 {
		t.Errorf("sink observations: %v", n)
	}
	count("flowrun_inflight_runs", nil)
	count("flowrun_paused_triggers", nil)
}
