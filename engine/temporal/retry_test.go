package temporal

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"
)

// reply is one scripted answer of replies.
type reply struct {
	status int
	header map[string]string
}

// replies answers each path with its script, one reply per request, the
// last one again when the script is used up.
type replies struct {
	mu     sync.Mutex
	script map[string][]reply
	seen   map[string]int
}

func (s *replies) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	n := s.seen[r.URL.Path]
	s.seen[r.URL.Path]++
	sc := s.script[r.URL.Path]
	s.mu.Unlock()
	if len(sc) == 0 {
		w.WriteHeader(404)
		return
	}
	rp := sc[min(n, len(sc)-1)]
	for k, v := range rp.header {
		w.Header().Set(k, v)
	}
	w.WriteHeader(rp.status)
}

// fetch runs the shop's fetch flow (retry {attempts: 4, on: [429, 503],
// backoff: 2s, max_backoff: 5s}, expect [200, 404]) on path against
// script; it returns the workflow's error, the requests the path got and
// the waits between the HTTP activity's attempts on the test clock.
func fetch(t *testing.T, path string, script ...reply) (status float64, err error, requests int, waits []time.Duration) {
	t.Helper()
	svc := &replies{script: map[string][]reply{path: script}, seen: map[string]int{}}
	srv := httptest.NewServer(svc)
	defer srv.Close()
	e := newEngine(t, srv.URL)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	var last time.Time
	env.SetOnActivityStartedListener(func(info *activity.Info, _ context.Context, _ converter.EncodedValues) {
		if info.ActivityType.Name != HTTPActivityName {
			return
		}
		now := env.Now()
		if info.Attempt > 1 {
			waits = append(waits, now.Sub(last))
		}
		last = now
	})
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "fetch", ConnectionID: "acme", Inputs: map[string]any{"path": path}})
	if !env.IsWorkflowCompleted() {
		t.Fatal("workflow did not complete")
	}
	if err = env.GetWorkflowError(); err == nil {
		var out map[string]any
		if err := env.GetWorkflowResult(&out); err != nil {
			t.Fatal(err)
		}
		status, _ = out["status"].(float64)
	}
	svc.mu.Lock()
	defer svc.mu.Unlock()
	return status, err, svc.seen[path], waits
}

func TestRetryPolicyWaitsWhatTheServiceAsks(t *testing.T) {
	// 429 with Retry-After: 4 (the backoff would be 2s), 503 with
	// RateLimit-Reset: 3 (the backoff would be 4s), a 503 that says nothing
	// (the backoff: 2s doubled per attempt, at most 5s), then 200.
	status, err, n, waits := fetch(t, "/thing",
		reply{429, map[string]string{"Retry-After": "4"}},
		reply{503, map[string]string{"RateLimit-Reset": "3"}},
		reply{503, nil},
		reply{200, nil})
	if err != nil || status != 200 || n != 4 {
		t.Fatalf("status %v, error %v, %d requests; want 200 after 4", status, err, n)
	}
	// what the service asks for exactly; the backoff with the interpreter's
	// jitter, in [d/2, d]
	within(t, waits, [][2]time.Duration{{4 * time.Second, 4 * time.Second}, {3 * time.Second, 3 * time.Second}, {2500 * time.Millisecond, 5 * time.Second}})
}

// within checks each wait is in its [low, high] range.
func within(t *testing.T, waits []time.Duration, want [][2]time.Duration) {
	t.Helper()
	if len(waits) != len(want) {
		t.Fatalf("waits %v, want %v", waits, want)
	}
	for i, w := range want {
		if waits[i] < w[0] || waits[i] > w[1] {
			t.Fatalf("wait %d is %v, want it in [%v, %v] (all: %v)", i+1, waits[i], w[0], w[1], waits)
		}
	}
}

// The backoff's jitter spreads the retries of many runs of one step: 20
// runs against a service that fails once without naming a wait do not all
// wait the same.
func TestRetryPolicyBackoffHasJitter(t *testing.T) {
	seen := map[time.Duration]bool{}
	for range 20 {
		_, err, n, waits := fetch(t, "/flaky", reply{503, nil}, reply{200, nil})
		if err != nil || n != 2 || len(waits) != 1 {
			t.Fatalf("error %v, %d requests, waits %v", err, n, waits)
		}
		within(t, waits, [][2]time.Duration{{time.Second, 2 * time.Second}})
		seen[waits[0]] = true
	}
	if len(seen) < 2 {
		t.Fatalf("20 runs all waited %v", seen)
	}
}

func TestRetryPolicyStopsAfterItsAttempts(t *testing.T) {
	_, err, n, waits := fetch(t, "/down", reply{503, nil})
	if err == nil || !strings.Contains(err.Error(), "503") || n != 4 {
		t.Fatalf("error %v after %d requests; want the 503 after 4", err, n)
	}
	within(t, waits, [][2]time.Duration{{time.Second, 2 * time.Second}, {2 * time.Second, 4 * time.Second}, {2500 * time.Millisecond, 5 * time.Second}})
	// the flow's error is the interpreter's, typed by the last response
	var ae *temporal.ApplicationError
	if !errors.As(err, &ae) || ae.Type() != "transient" {
		t.Fatalf("flow error %v, want type transient (a 503)", err)
	}
}

func TestRetryPolicyStatusOutsideOnIsNotRetried(t *testing.T) {
	// 404 is outside retry.on: one request, and the step expects it
	status, err, n, _ := fetch(t, "/missing", reply{404, nil})
	if err != nil || status != 404 || n != 1 {
		t.Fatalf("status %v, error %v, %d requests; want 404 after 1", status, err, n)
	}
	// 400: one request, the step fails with it
	_, err, n, _ = fetch(t, "/bad", reply{400, nil})
	if err == nil || !strings.Contains(err.Error(), "400") || n != 1 {
		t.Fatalf("error %v after %d requests; want the 400 after 1", err, n)
	}
}

func TestRetryPolicyWaitOverMaxBackoffIsNotMade(t *testing.T) {
	// Retry-After 60s is over max_backoff 5s: not retried, as in flowrun run
	_, err, n, _ := fetch(t, "/slow", reply{429, map[string]string{"Retry-After": "60"}}, reply{200, nil})
	if err == nil || !strings.Contains(err.Error(), "429") || n != 1 {
		t.Fatalf("error %v after %d requests; want the 429 after 1", err, n)
	}
}

// A failed activity's message and details (the response) go into history:
// secrets in them are sealed again.
func TestActivityFailureHoldsNoSecret(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		w.WriteHeader(400)
		w.Write([]byte("bad request from " + r.Header.Get("Authorization")))
	}))
	defer srv.Close()
	e := newEngine(t, srv.URL)
	var ts testsuite.WorkflowTestSuite
	env := ts.NewTestWorkflowEnvironment()
	e.Register(env)
	var failures []string
	env.SetOnActivityCompletedListener(func(info *activity.Info, _ converter.EncodedValue, err error) {
		if err == nil {
			return
		}
		var ae *temporal.ApplicationError
		if errors.As(err, &ae) && ae.HasDetails() {
			var out HTTPResponse
			if err := ae.Details(&out); err != nil {
				t.Error(err)
			}
			failures = append(failures, fmt.Sprintf("%s %v %s", ae.Message(), out.Header, out.Body))
		}
	})
	env.ExecuteWorkflow(WorkflowName, FlowInput{Project: "shop", Flow: "fetch", ConnectionID: "acme", Inputs: map[string]any{"path": "/x"}})
	err := env.GetWorkflowError()
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Fatalf("error %v", err)
	}
	if len(failures) != 1 || strings.Contains(failures[0], testKey) || !strings.Contains(failures[0], placeholder("api_key")) {
		t.Fatalf("activity failures %q: want one, sealed", failures)
	}
}
