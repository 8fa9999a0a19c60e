package temporal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"go.temporal.io/sdk/testsuite"

	"github.com/flowrun/flowrun/trigger"
)

// orderFeed serves /events?after=N: the orders with ids above N, of the
// first n.
type orderFeed struct {
	mu sync.Mutex
	n  int
}

func (f *orderFeed) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	after, _ := strconv.Atoi(r.URL.Query().Get("after"))
	f.mu.Lock()
	n := f.n
	f.mu.Unlock()
	var evs []map[string]any
	for i := after + 1; i <= n; i++ {
		evs = append(evs, map[string]any{"id": i})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"events": evs})
}

// A scheduled poll delivers the new events, then commits the cursor and
// dedupe keys: the next poll starts from there, and delivers no event twice.
func TestPollWorkflow(t *testing.T) {
	feed := &orderFeed{n: 3}
	srv := httptest.NewServer(feed)
	defer srv.Close()
	e := newEngine(t, srv.URL)
	st, err := trigger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e.State = st
	sink := &flakySink{fail: 1}
	e.Sink = sink
	tr := &trigger.Trigger{Project: "shop", Flow: "new_orders", Kind: "poll", Input: json.RawMessage(`{}`)}
	if err := st.CreateTrigger(context.Background(), tr); err != nil {
		t.Fatal(err)
	}
	poll := func() int {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		e.Register(env)
		env.ExecuteWorkflow(PollWorkflowName, PollInput{Project: "shop", Trigger: tr.ID, ConnectionID: "acme"})
		if err := env.GetWorkflowError(); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := env.GetWorkflowResult(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := poll(); n != 3 {
		t.Fatalf("first poll delivered %d, want 3", n)
	}
	feed.mu.Lock()
	feed.n = 5
	feed.mu.Unlock()
	if n := poll(); n != 2 {
		t.Fatalf("second poll delivered %d, want 2", n)
	}
	if n := poll(); n != 0 {
		t.Fatalf("third poll delivered %d, want 0", n)
	}
	got, _ := st.GetTrigger(context.Background(), tr.ID)
	var keys []string
	for _, d := range sink.got {
		keys = append(keys, d.Key)
	}
	if fmt.Sprint(keys) != "[1 2 3 4 5]" || string(got.Cursor) != "5" {
		t.Fatalf("sink got keys %v, cursor %s", keys, got.Cursor)
	}
}

// A scheduled poll that fails with auth_expired pauses its trigger, as
// under flowrun serve: the next runs are skipped until it is resumed.
func TestPollWorkflowPausesOnAuthExpired(t *testing.T) {
	feed := &orderFeed{n: 2}
	var deny sync.Mutex
	denied := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		deny.Lock()
		d := denied
		deny.Unlock()
		if d {
			w.WriteHeader(401)
			return
		}
		feed.ServeHTTP(w, r)
	}))
	defer srv.Close()
	e := newEngine(t, srv.URL)
	st, err := trigger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e.State, e.Sink = st, &flakySink{}
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "shop", Flow: "new_orders", Kind: "poll", Input: json.RawMessage(`{}`)}
	if err := st.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	poll := func() (int, error) {
		var ts testsuite.WorkflowTestSuite
		env := ts.NewTestWorkflowEnvironment()
		e.Register(env)
		env.ExecuteWorkflow(PollWorkflowName, PollInput{Project: "shop", Trigger: tr.ID, ConnectionID: "acme"})
		if err := env.GetWorkflowError(); err != nil {
			return 0, err
		}
		var n int
		return n, env.GetWorkflowResult(&n)
	}
	if _, err := poll(); err == nil || strings.Contains(err.Error(), testKey) {
		t.Fatalf("poll against a 401: %v", err)
	}
	if hd, ok, _ := st.GetHold(ctx, tr.ID); !ok || !hd.Paused() || hd.Code != "auth_expired" {
		t.Fatalf("hold %+v %v, want paused (auth_expired)", hd, ok)
	}
	deny.Lock()
	denied = false
	deny.Unlock()
	if n, err := poll(); err != nil || n != 0 {
		t.Fatalf("poll while paused: %d, %v; want skipped", n, err)
	}
	if _, err := trigger.Resume(ctx, st, tr.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := poll(); err != nil || n != 2 {
		t.Fatalf("poll after resume: %d, %v; want 2", n, err)
	}
}
