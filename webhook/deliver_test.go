package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fakeFlow records what Deliver asks of a flow.
type fakeFlow struct {
	secrets    []string
	secretsErr error
	events     []any
	response   map[string]any
	err        error
	ran        int
	request    map[string]any
}

func (f *fakeFlow) Secrets() ([]string, error) { return f.secrets, f.secretsErr }

func (f *fakeFlow) Event(ctx context.Context, request map[string]any) ([]any, map[string]any, error) {
	f.ran++
	f.request = request
	return f.events, f.response, f.err
}

// codedErr is an error with a code, as the interpreter's run errors are.
type codedErr struct {
	code string
	wait time.Duration
}

func (e codedErr) Error() string            { return "failed: " + e.code }
func (e codedErr) ErrorCode() string        { return e.code }
func (e codedErr) RetryWait() time.Duration { return e.wait }

// githubVector is the published GitHub example: secret, body, header.
const (
	ghSecret = "It's a Secret to Everybody"
	ghBody   = "Hello, World!"
	ghSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

func githubVerifier(t *testing.T) *Verifier {
	v, err := Compile(Spec{Scheme: "hmac_sha256", Header: "X-Hub-Signature-256", Format: "sha256={hex}"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func post(body, sig string) *http.Request {
	r := httptest.NewRequest("POST", "/hooks/t1?a=1&b=x&b=y", strings.NewReader(body))
	if sig != "" {
		r.Header.Set("X-Hub-Signature-256", sig)
	}
	return r
}

func TestDeliverAnswers(t *testing.T) {
	v := githubVerifier(t)
	for _, c := range []struct {
		name   string
		flow   *fakeFlow
		req    *http.Request
		max    int64
		status int
		body   string
		reason string
		ran    int
	}{
		{"signed", &fakeFlow{secrets: []string{ghSecret}, events: []any{"e"}}, post(ghBody, ghSig), 0, 200, `{"ok":true}`, "", 1},
		{"rotation: the old secret signed", &fakeFlow{secrets: []string{"new-secret", "", ghSecret}}, post(ghBody, ghSig), 0, 200, `{"ok":true}`, "", 1},
		{"several signatures, one good", &fakeFlow{secrets: []string{ghSecret}}, post(ghBody, "sha256="+strings.Repeat("0", 64)+","+ghSig), 0, 200, `{"ok":true}`, "", 1},
		{"several signatures, space-separated", &fakeFlow{secrets: []string{ghSecret}}, post(ghBody, "sha1=abc "+ghSig), 0, 200, `{"ok":true}`, "", 1},
		{"forged", &fakeFlow{secrets: []string{"other"}}, post(ghBody, ghSig), 0, 401, `{"error":"signature verification failed"}`, "bad_signature", 0},
		{"unsigned", &fakeFlow{secrets: []string{ghSecret}}, post(ghBody, ""), 0, 401, `{"error":"signature verification failed"}`, "missing_header", 0},
		{"malformed header", &fakeFlow{secrets: []string{ghSecret}}, post(ghBody, "sha256=xyz"), 0, 401, `{"error":"signature verification failed"}`, "malformed_signature", 0},
		{"no secret", &fakeFlow{secrets: []string{"", ""}}, post(ghBody, ghSig), 0, 500, `{"error":"verify is misconfigured"}`, "verify_config", 0},
		{"secret fails", &fakeFlow{secretsErr: errors.New("no registration")}, post(ghBody, ghSig), 0, 500, `{"error":"cannot evaluate verify.secret"}`, "verify_config", 0},
		{"too large", &fakeFlow{secrets: []string{ghSecret}}, post(ghBody, ghSig), 5, 413, `{"error":"body too large"}`, "body_too_large", 0},
		{"the limit exactly", &fakeFlow{secrets: []string{ghSecret}}, post(ghBody, ghSig), int64(len(ghBody)), 200, `{"ok":true}`, "", 1},
		{"steps fail", &fakeFlow{secrets: []string{ghSecret}, err: errors.New("boom")}, post(ghBody, ghSig), 0, 500, `{"error":"event flow failed"}`, "event_failed", 1},
		{"steps fail with a code of their own", &fakeFlow{secrets: []string{ghSecret}, err: codedErr{"not_found", 0}}, post(ghBody, ghSig), 0, 500, `{"error":"event flow failed"}`, "event_failed", 1},
		{"steps fail transiently", &fakeFlow{secrets: []string{ghSecret}, err: codedErr{"transient", 0}}, post(ghBody, ghSig), 0, 503, `{"error":"retry later"}`, "event_transient", 1},
		{"steps throttled", &fakeFlow{secrets: []string{ghSecret}, err: fmt.Errorf("wrapped: %w", codedErr{"throttled", 1500 * time.Millisecond})}, post(ghBody, ghSig), 0, 503, `{"error":"retry later"}`, "event_throttled", 1},
		{"steps find the token expired", &fakeFlow{secrets: []string{ghSecret}, err: codedErr{"auth_expired", 0}}, post(ghBody, ghSig), 0, 503, `{"error":"retry later"}`, "event_auth_expired", 1},
		{"flow response", &fakeFlow{secrets: []string{ghSecret}, response: map[string]any{"status": 202, "headers": map[string]any{"x-a": "b"}, "body": map[string]any{"verification": "abc"}}}, post(ghBody, ghSig), 0, 202, `{"verification":"abc"}`, "", 1},
		{"text response", &fakeFlow{secrets: []string{ghSecret}, response: map[string]any{"body": "pong"}}, post(ghBody, ghSig), 0, 200, `pong`, "", 1},
		{"bad response status", &fakeFlow{secrets: []string{ghSecret}, response: map[string]any{"status": 42}}, post(ghBody, ghSig), 0, 500, `{"error":"bad response"}`, "bad_response", 1},
	} {
		res := Deliver(context.Background(), Delivery{Flow: c.flow, Verifier: v, Request: c.req, MaxBody: c.max, Now: time.Now()})
		reason := ""
		if res.Err != nil {
			reason = res.Err.Reason
			if res.Err.Status != res.Status {
				t.Errorf("%s: Err.Status %d, answered %d", c.name, res.Err.Status, res.Status)
			}
		}
		if res.Status != c.status || string(res.Body) != c.body || reason != c.reason || c.flow.ran != c.ran {
			t.Errorf("%s: %d %s (%s), ran %d; want %d %s (%s), ran %d (err %v)", c.name, res.Status, res.Body, reason, c.flow.ran, c.status, c.body, c.reason, c.ran, res.Err)
		}
		if len(res.Body) > 0 && res.Header.Get("Content-Type") == "" {
			t.Errorf("%s: no Content-Type", c.name)
		}
		if res.Err != nil && strings.Contains(res.Err.Error(), ghSecret) {
			t.Errorf("%s: %v leaks the secret", c.name, res.Err)
		}
		if want := map[bool]string{true: "2"}[c.reason == "event_throttled"]; res.Header.Get("Retry-After") != want {
			t.Errorf("%s: Retry-After %q, want %q", c.name, res.Header.Get("Retry-After"), want)
		}
	}
}

func TestRequestObject(t *testing.T) {
	f := &fakeFlow{}
	r := httptest.NewRequest("POST", "/hooks/t1?a=1&b=x&b=y", strings.NewReader("token=x&team_id=T1&text="))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.Header.Add("X-Multi", "1")
	r.Header.Add("X-Multi", "2")
	res := Deliver(context.Background(), Delivery{Flow: f, Request: r})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	want := map[string]any{
		"method":  "POST",
		"path":    "/hooks/t1",
		"headers": map[string]any{"content-type": "application/x-www-form-urlencoded", "x-multi": "1, 2"},
		"query":   map[string]any{"a": "1", "b": []any{"x", "y"}},
		"body":    map[string]any{"token": "x", "team_id": "T1", "text": ""},
		"raw":     "token=x&team_id=T1&text=",
	}
	if !reflect.DeepEqual(f.request, want) {
		t.Fatalf("request\n got %#v\nwant %#v", f.request, want)
	}
	if !reflect.DeepEqual(res.Request, want) {
		t.Fatal("Result.Request is not what the steps saw")
	}
	for ct, c := range map[string]struct {
		body string
		want any
		err  string
	}{
		"application/json":             {`{"a":[1,2.5,"x"]}`, map[string]any{"a": []any{1.0, 2.5, "x"}}, ""},
		"application/vnd.github+json":  {`[]`, []any{}, ""},
		"text/plain":                   {`{"a":`, `{"a":`, ""},
		"":                             {`hello`, "hello", ""},
		"application/json; charset=x":  {`{"a":`, nil, "the body is not valid JSON: unexpected EOF"},
		"application/cloudevents+json": {``, nil, "the body is empty, but Content-Type application/cloudevents+json says JSON"},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(c.body))
		r.Header.Set("Content-Type", ct)
		obj, err := RequestObject(r, []byte(c.body), nil)
		if c.err != "" {
			if err == nil || err.Error() != c.err {
				t.Errorf("%s: err %v, want %s", ct, err, c.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(obj["body"], c.want) {
			t.Errorf("%s: body %#v (%v), want %#v", ct, obj["body"], err, c.want)
		}
	}
	// a GET without a body (Okta's verification challenge) has a null body
	g := httptest.NewRequest("GET", "/", nil)
	g.Header.Set("Content-Type", "application/json")
	if obj, err := RequestObject(g, nil, nil); err != nil || obj["body"] != nil {
		t.Errorf("GET: %v %v", obj, err)
	}
}

// TestDeliverSeenAndAccept: the host's hooks, a replay key for timestamp-less
// signatures, and what Accept's errors answer.
func TestDeliverSeenAndAccept(t *testing.T) {
	v := githubVerifier(t)
	seen := map[string]bool{}
	var accepted []Accepted
	d := func(f *fakeFlow, accept func(context.Context, Accepted) error) Result {
		return Deliver(context.Background(), Delivery{Flow: f, Verifier: v, Request: post(ghBody, ghSig), Now: time.Now(),
			Seen:   func(_ context.Context, k string) (bool, error) { return seen[k], nil },
			Accept: accept})
	}
	keep := func(_ context.Context, a Accepted) error {
		accepted = append(accepted, a)
		seen[a.ReplayKey] = true
		return nil
	}
	f := &fakeFlow{secrets: []string{ghSecret}, events: []any{1}}
	if res := d(f, keep); res.Status != 200 || len(accepted) != 1 || accepted[0].ReplayKey != "body-sha256:dffd6021bb2bd5b0af676290809ec3a53191dd81c7f70a4b28688a362182986f" {
		t.Fatalf("first: %d %+v", res.Status, accepted)
	}
	if res := d(f, keep); res.Status != 200 || !res.Replayed || f.ran != 1 || len(accepted) != 1 {
		t.Fatalf("replay: %d replayed=%v ran=%d", res.Status, res.Replayed, f.ran)
	}
	seen = map[string]bool{}
	if res := d(f, func(context.Context, Accepted) error { return errors.New("sink down") }); res.Status != 503 || res.Err.Reason != "unavailable" {
		t.Fatalf("sink down: %d %v", res.Status, res.Err)
	}
	if res := d(f, func(context.Context, Accepted) error {
		return &Error{Status: 500, Reason: "dedupe_failed", Public: "dedupe failed", Err: errors.New("x")}
	}); res.Status != 500 || string(res.Body) != `{"error":"dedupe failed"}` {
		t.Fatalf("dedupe failed: %d %s", res.Status, res.Body)
	}
	// a signed timestamp bounds replays: no key
	slack, _ := Compile(Spec{Scheme: "hmac_sha256", Header: "X-Slack-Signature", Format: "v0={hex}", SignedPayload: "v0:{timestamp}:{body}", TimestampHeader: "X-Slack-Request-Timestamp"})
	okta, _ := Compile(Spec{Scheme: "shared_secret", Header: "Authorization"})
	for _, v := range []*Verifier{slack, okta} {
		if k := v.ReplayKey([]byte(ghBody)); k != "" {
			t.Errorf("%s: replay key %s", v.Spec().Scheme, k)
		}
	}
}
