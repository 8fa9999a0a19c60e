package trigger

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
)

// hungryFlow builds a string from the delivery: a hostile sender can ask for
// far more than the run's memory budget.
const hungryFlow = `flowrun: 1
name: issue_events
type: webhook
outputs:
  action: string
  number: integer
dedupe: ${ request.headers["x-github-delivery"] }
verify:
  scheme: hmac_sha256
  header: X-Hub-Signature-256
  format: "sha256={hex}"
  secret: ${ webhook.secret }
register:
  steps:
    - id: hook
      http:
        method: POST
        path: /hooks
        json:
          url: ${ webhook.url }
          secret: ${ webhook.secret }
    - return:
        id: ${ steps.hook.body.id }
event:
  steps:
    - set:
        padded: ${ join(map(1..request.body.n, request.body.s), "") }
    - return:
        events:
          - action: ${ request.body.s }
            number: ${ len(vars.padded) }
`

// TestServeMemoryBudget: a delivery whose run would exceed the memory
// budget fails that run (recorded with the budget in the history), and the
// host goes on serving the next delivery.
func TestServeMemoryBudget(t *testing.T) {
	sink := &memSink{}
	h, _ := newHostWith(t, newService(t), sink, map[string]string{"connector.yaml": hostConnector, "flows/hook.yaml": hungryFlow})
	h.Runner.Limits.MaxMemory = 4 << 20
	ctx := context.Background()
	tr, err := h.On(ctx, "issue_events", nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + HookPath(tr.ID)
	send := func(id string, n int) int {
		body, _ := json.Marshal(map[string]any{"s": strings.Repeat("x", 1000), "n": n})
		code, _ := deliver(t, url, map[string]string{"Content-Type": "application/json", "X-GitHub-Delivery": id,
			"X-Hub-Signature-256": sign(tr.Secret, body)}, body, "POST")
		return code
	}
	if code := send("hostile", 200_000); code < 400 { // 200 MB asked for
		t.Fatalf("hostile delivery answered %d", code)
	}
	runs, err := h.Store.History(ctx, tr.ID, 1)
	if err != nil || len(runs) != 1 || runs[0].Status != "error" || !strings.Contains(runs[0].Error, "memory budget of 4 MiB is exceeded") {
		t.Fatalf("history %+v %v", runs, err)
	}
	for i, n := range []int{10, 1000, 2_000_000, 5} {
		code := send("d"+strings.Repeat("i", i), n)
		if ok := n <= 1000; ok != (code == 200) {
			t.Fatalf("delivery %d (n=%d): %d", i, n, code)
		}
	}
	if sink.count() != 3 {
		t.Fatalf("want 3 events, got %+v", sink.got)
	}
}
