package trigger

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/run"
)

// TestReloadPeers: while Serve runs and deliveries arrive, a peer is added
// (its trigger is served at once), the first host is replaced by a new one
// for the same connection (no delivery fails or is lost across the swap,
// each once at the sink), and a retired connection's deliveries are
// answered 503 naming why. Run it with -race.
func TestReloadPeers(t *testing.T) {
	ctx := context.Background()
	f := newFlaky(t)
	base := flakyHost(t, f)
	sink := &memSink{}
	mk := func(named string) *Host {
		conn := &connection.Connection{File: "/conns/" + named + ".yaml", Params: map[string]any{"base_url": f.srv.URL}}
		return &Host{Runner: &run.Runner{Project: base.Runner.Project, Connection: conn}, Store: base.Store, Sink: sink,
			PublicURL: "https://hooks.example.com", Named: named, ConnectionName: named, GroupCommit: true}
	}
	hub := mk("a")
	trA := &Trigger{Project: "acme", Connection: "a", Flow: "issue_events", Kind: "webhook", Secret: "sa", Registration: []byte(`{"id": 1}`)}
	trB := &Trigger{Project: "acme", Connection: "b", Flow: "issue_events", Kind: "webhook", Secret: "sb", Registration: []byte(`{"id": 2}`)}
	for _, tr := range []*Trigger{trA, trB} {
		if err := base.Store.CreateTrigger(ctx, tr); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- hub.Serve(sctx, ln, 5*time.Second) }()
	url := func(tr *Trigger) string { return "http://" + ln.Addr().String() + HookPath(tr.ID) }
	send := func(tr *Trigger, n int) (int, string) {
		body := fmt.Appendf(nil, `{"action": "opened", "issue": {"number": %d}}`, n)
		return deliver(t, url(tr), map[string]string{"Content-Type": "application/json", "X-GitHub-Delivery": fmt.Sprint(tr.Connection, n),
			"X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST")
	}
	waitReady(t, "http://"+ln.Addr().String())
	if code, _ := send(trB, 1); code != 404 {
		t.Fatalf("b before it is added: %d", code)
	}
	hub.AddPeer(mk("b"), nil, "")
	if code, resp := send(trB, 1); code != 200 {
		t.Fatalf("b once added: %d %s", code, resp)
	}
	// deliveries to a keep arriving while a is replaced
	var wg sync.WaitGroup
	errs := make(chan string, 100)
	for w := range 4 {
		wg.Go(func() {
			for i := range 10 {
				if code, resp := send(trA, w*10+i); code != 200 {
					errs <- fmt.Sprintf("a %d: %d %s", w*10+i, code, resp)
				}
			}
		})
	}
	a2 := mk("a")
	hub.AddPeer(a2, hub, "connection a was replaced")
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if hub.Retired() != "connection a was replaced" || a2.root() != hub {
		t.Errorf("hub retired %q, a2's root %p", hub.Retired(), a2.root())
	}
	if code, resp := send(trA, 100); code != 200 {
		t.Fatalf("a after the swap: %d %s", code, resp)
	}
	a2.Retire("connection a was removed from conns")
	code, resp := send(trA, 101)
	if code != 503 || resp != `{"error":"trigger not served: connection a was removed from conns"}` {
		t.Errorf("a once removed: %d %s", code, resp)
	}
	if code, _ := send(trB, 2); code != 200 {
		t.Errorf("b after a's removal: %d", code)
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, d := range sink.all() {
		seen[d.Trigger+" "+d.Key]++
	}
	if len(seen) != 40+1+2 {
		t.Errorf("%d distinct deliveries at the sink, want 43", len(seen))
	}
	for k, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times", k, n)
		}
	}
	if !strings.HasPrefix(hub.Hosts()[0].Named, "a") || len(hub.Hosts()) != 3 {
		t.Errorf("hosts: %d", len(hub.Hosts()))
	}
}

func (s *memSink) all() []Delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Delivery(nil), s.got...)
}

// waitReady waits until a serving host answers /healthz.
func waitReady(t *testing.T, base string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not ready: %v", base, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
