package trigger

import (
	"bytes"
	"context"
	"errors"
	"net/http/httptest"
	"sync"
	"testing"
)

// startOnce is an Ingress that starts each key once, as the Temporal
// ingress does with workflow ids; fail makes it refuse.
type startOnce struct {
	mu      sync.Mutex
	started map[string]Delivery
	calls   int
	fail    bool
}

func (s *startOnce) StartDeliveries(ctx context.Context, ds []Delivery) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if s.fail {
		return 0, errors.New("temporal unavailable")
	}
	n := 0
	for _, d := range ds {
		if _, ok := s.started[d.Key]; !ok {
			s.started[d.Key] = d
			n++
		}
	}
	return n, nil
}

// A host with an ingress verifies and runs the event steps as always, and
// hands the events with their dedupe keys to the ingress, not the sink.
func TestIngressTakesTheEvents(t *testing.T) {
	svc := newService(t)
	sink := &memSink{}
	h := newHost(t, svc, sink)
	ing := &startOnce{started: map[string]Delivery{}}
	h.Ingress = ing
	ctx := context.Background()
	tr, err := h.On(ctx, "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + HookPath(tr.ID)
	body := realPayload(t, "github-webhook-issues-opened.json")
	good := map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "issues", "X-GitHub-Delivery": "d-1", "X-Hub-Signature-256": sign(tr.Secret, body)}
	for i := range 2 { // the second is the sender's retry: a no-op at the ingress
		if code, resp := deliver(t, url, good, body, "POST"); code != 200 {
			t.Fatalf("delivery %d: %d %s", i+1, code, resp)
		}
	}
	// the retry is dropped by the key the first start recorded in the state
	d, ok := ing.started["d-1"]
	if len(ing.started) != 1 || !ok || d.Trigger != tr.ID || d.Flow != "issue_events" || d.Event.(map[string]any)["action"] != "opened" || ing.calls != 1 {
		t.Fatalf("ingress started %+v in %d calls", ing.started, ing.calls)
	}
	// an engine that has forgotten the delivery (past Temporal's retention)
	// is not asked again: the state still has its key
	h.Ingress = &startOnce{started: map[string]Delivery{}}
	if code, resp := deliver(t, url, good, body, "POST"); code != 200 || h.Ingress.(*startOnce).calls != 0 {
		t.Fatalf("retry past the engine's retention: %d %s, %d start calls", code, resp, h.Ingress.(*startOnce).calls)
	}
	h.Ingress = ing
	if sink.count() != 0 {
		t.Fatalf("the sink got %d events", sink.count())
	}
	// a handshake is answered by the event steps, synchronously
	ping := realPayload(t, "github-webhook-ping.json")
	if code, resp := deliver(t, url, map[string]string{"Content-Type": "application/json", "X-GitHub-Event": "ping", "X-GitHub-Delivery": "d-3", "X-Hub-Signature-256": sign(tr.Secret, ping)}, ping, "POST"); code != 200 || resp != "pong" {
		t.Fatalf("ping: %d %q", code, resp)
	}
	// a tampered body reaches nothing
	calls := ing.calls
	bad := map[string]string{"Content-Type": "application/json", "X-GitHub-Delivery": "d-2", "X-Hub-Signature-256": sign(tr.Secret, body)}
	if code, _ := deliver(t, url, bad, bytes.Replace(body, []byte(`"opened"`), []byte(`"closed"`), 1), "POST"); code != 401 || ing.calls != calls {
		t.Fatalf("tampered delivery: %d, ingress calls %d", code, ing.calls-calls)
	}
	// an ingress that cannot start them: the sender is told to retry
	ing.fail = true
	good["X-GitHub-Delivery"] = "d-4"
	if code, _ := deliver(t, url, good, body, "POST"); code != 503 {
		t.Fatalf("delivery with the ingress down: %d, want 503", code)
	}
}
