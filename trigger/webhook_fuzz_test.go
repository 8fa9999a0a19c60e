package trigger_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/load/loadtest"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/webhook"
)

// fuzzHookSchemes are the verify blocks of the fuzzed webhook flows, one
// flow each; every flow dedupes on X-Delivery and returns one event made of
// the request (or none, with its own response, for X-Ping).
var fuzzHookSchemes = []struct {
	name, verify string
	replay       bool // a signature without a timestamp: the host remembers bodies
}{
	{"github", `{scheme: hmac_sha256, header: X-Hub-Signature-256, format: "sha256={hex}", secret: "${ webhook.secret }"}`, true},
	{"shopify", `{scheme: hmac_sha256, header: X-Shopify-Hmac-Sha256, format: "{base64}", secret: "${ webhook.secret }"}`, true},
	{"slack", `{scheme: hmac_sha256, header: X-Slack-Signature, format: "v0={hex}", signed_payload: "v0:{timestamp}:{body}", timestamp_header: X-Slack-Request-Timestamp, tolerance: 5m, secret: "${ webhook.secret }"}`, false},
	{"stripe", `{scheme: hmac_sha256, header: Stripe-Signature, format: "t={timestamp},v1={hex}", signed_payload: "{timestamp}.{body}", secret: "${ webhook.secret }"}`, false},
	{"svix", `{scheme: standard_webhooks, header: svix-signature, secret: "${ webhook.secret }"}`, false},
	{"okta", `{scheme: shared_secret, header: Authorization, secret: "${ webhook.secret }"}`, false},
}

func fuzzHookFlow(name, verify string) string {
	return `flowrun: 1
name: ` + name + `
type: webhook
dedupe: ${ request.headers["x-delivery"] }
verify: ` + verify + `
register: {steps: []}
deregister: {steps: []}
event:
  steps:
    - if: ${ request.headers["x-ping"] != nil }
      then:
        - return:
            events: []
            response: {status: 200, body: pong}
    - return:
        events:
          - method: ${ request.method }
            query: ${ request.query }
            body: ${ request.body }
            raw: ${ request.raw }
`
}

// fuzzLines is the sink's writer: it counts the JSON lines (events) a real
// writer sink writes, and fails while fail is set.
type fuzzLines struct {
	mu   sync.Mutex
	n    int
	fail bool
}

func (w *fuzzLines) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fail {
		return 0, errors.New("disk full")
	}
	w.n += bytes.Count(b, []byte("\n"))
	return len(b), nil
}

func (w *fuzzLines) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// FuzzWebhookHandler sends a request made of the fuzz input (method, what
// follows /hooks/ID, header lines "Name: value", body) to trigger.Host as an
// http.Handler, twice, with a real store and a real writer sink. flags: bit
// 0 signs the request for the flow's scheme (after the fuzzed headers, so
// they may hold a timestamp), bit 1 makes the sink fail, bit 2 sets
// Content-Type: application/json. Whatever the input: no panic; no 5xx
// but 503 when the sink fails; no event from a request the harness did not
// sign; and a delivery that was accepted is not delivered again: not when
// sent again with the same X-Delivery, nor (schemes without a timestamp,
// non-empty body) with another one.
func FuzzWebhookHandler(f *testing.F) {
	for _, s := range []struct {
		which          uint8
		method, target string
		headers        string
		body           string
		flags          uint8
	}{
		{0, "POST", "", "X-Delivery: d1", `{"action": "opened"}`, 5},
		{0, "POST", "", "X-Delivery: d1", `{"action": "opened"}`, 1},
		{1, "POST", "?a=1&a=2", "X-Delivery: d2\nX-Ping: 1", "{}", 5},
		{2, "POST", "", "X-Delivery: d3\nX-Slack-Request-Timestamp: 1", "token=x&team_id=T1", 1},
		{2, "POST", "", "Content-Type: application/x-www-form-urlencoded\nX-Delivery: d4", "payload=%7B%7D&a=%zz", 1},
		{3, "POST", "", "Stripe-Signature: t=1,v1=00", `{"id": "evt_1"}`, 4},
		{4, "PUT", "", "svix-id: msg_1\nX-Delivery: d5", `{"type": "x"}`, 7},
		{5, "GET", "?q=%00", "Authorization: nope\nX-Okta-Verification-Challenge: c", "", 0},
		{5, "POST", "", "X-Delivery: d6", `[1, 2, 3]`, 5},
		{0, "POST", "/../x", "", "", 1},
		{0, "", "", "X-Delivery:  \nX-Delivery: two", "\xff\xfe", 1},
		{0, "POST", "", "X-Delivery: d7", `{"n": 1e400}`, 5},
		{0, "PATCH", "", "Content-Type: application/json; charset=utf-8", "", 1},
		{0, "POST", "", "X-Delivery: d8", strings.Repeat("x", 5000), 1},
		{1, "DELETE", "#frag", "X-Shopify-Hmac-Sha256: ====\nX-Delivery: d9", "a", 0},
	} {
		f.Add(s.which, s.method, s.target, s.headers, []byte(s.body), s.flags)
	}
	files := map[string]string{"connector.yaml": "flowrun: 1\nname: fzhook\n"}
	for _, s := range fuzzHookSchemes {
		files["flows/"+s.name+".yaml"] = fuzzHookFlow(s.name, s.verify)
	}
	dir := f.TempDir()
	loadtest.Write(f, dir, files)
	p, err := load.Project(dir)
	if err != nil {
		f.Fatal(err)
	}
	st, err := trigger.Open(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	lines := &fuzzLines{}
	sink, err := trigger.OpenSink("stdout", lines)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h := &trigger.Host{Runner: &run.Runner{Project: p, Connection: &connection.Connection{Params: map[string]any{}}},
		Store: st, Sink: sink, PublicURL: "https://hooks.example.com", MaxBody: 4096, Now: func() time.Time { return now }}
	type hook struct {
		tr *trigger.Trigger
		v  *webhook.Verifier
	}
	var hooks []hook
	for _, s := range fuzzHookSchemes {
		tr, err := h.On(context.Background(), s.name, nil)
		if err != nil {
			f.Fatal(err)
		}
		v, err := webhook.Compile(p.Flow(s.name).Verify.Spec)
		if err != nil {
			f.Fatal(err)
		}
		hooks = append(hooks, hook{tr, v})
	}
	f.Fuzz(func(t *testing.T, which uint8, method, target, headers string, body []byte, flags uint8) {
		i := int(which) % len(hooks)
		hk, scheme := hooks[i], fuzzHookSchemes[i]
		u, err := url.Parse(trigger.HookPath(hk.tr.ID) + target)
		if err != nil {
			t.Skip()
		}
		hdr := http.Header{}
		for _, l := range strings.Split(headers, "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok {
				hdr.Add(http.CanonicalHeaderKey(strings.TrimSpace(k)), strings.TrimSpace(v))
			}
		}
		if flags&4 != 0 {
			hdr.Set("Content-Type", "application/json")
		}
		signed := flags&1 != 0
		if signed {
			if err := hk.v.Sign(hdr, body, hk.tr.Secret, now); err != nil {
				t.Fatal(err)
			}
		}
		lines.mu.Lock()
		lines.fail = flags&2 != 0
		lines.mu.Unlock()
		send := func(hdr http.Header) (int, int) {
			before := lines.count()
			r := &http.Request{Method: method, URL: u, RequestURI: u.RequestURI(), Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
				Header: hdr.Clone(), Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Host: "hooks.example.com"}
			r = r.WithContext(context.Background())
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			code := w.Result().StatusCode
			if code >= 500 && (code != http.StatusServiceUnavailable || flags&2 == 0) {
				t.Fatalf("%s %s answered %d: %s", method, u, code, w.Body.String())
			}
			n := lines.count() - before
			if n > 0 && !signed {
				t.Fatalf("%d event(s) from a request the harness did not sign (%d)", n, code)
			}
			return code, n
		}
		code, _ := send(hdr)
		if code != http.StatusOK || flags&2 != 0 {
			return
		}
		again := hdr.Clone()
		dedupe := strings.Join(hdr.Values("X-Delivery"), ", ") != ""
		digest := scheme.replay && len(body) > 0
		if digest {
			again.Set("X-Delivery", "another-"+hdr.Get("X-Delivery")) // the digest must do
			dedupe = false
		}
		if _, n := send(again); n > 0 && (dedupe || digest) {
			t.Fatalf("an accepted delivery was delivered again: %d event(s) (dedupe %v, body digest %v)", n, dedupe, digest)
		}
	})
}
