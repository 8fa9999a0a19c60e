package console

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

const secret = "s3cr3t-api-key-0123456789"

// newTestServer serves the console over the example connector, with a
// connection whose API key is a known secret and whose base URL is a mock of
// the service that echoes the key back in its answers.
func newTestServer(t *testing.T, token string) (*Server, *httptest.Server) {
	t.Helper()
	svc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("Authorization") != "SSWS "+secret {
			w.WriteHeader(401)
			_, _ = io.WriteString(w, `{"errorSummary":"bad key"}`)
			return
		}
		switch r.URL.Path {
		case "/api/v1/users/me":
			_, _ = io.WriteString(w, `{"id":"me","profile":{"login":"ada@example.com"}}`)
		case "/api/v1/users/00u1":
			_ = json.NewEncoder(w).Encode(map[string]any{"id": "00u1", "echo": r.Header.Get("Authorization")})
		default:
			w.WriteHeader(404)
			_, _ = io.WriteString(w, `{}`)
		}
	}))
	t.Cleanup(svc.Close)
	dir := t.TempDir()
	conn := filepath.Join(dir, "conn.yaml")
	if err := os.WriteFile(conn, []byte("params:\n  base_url: "+svc.URL+"\n  api_key: "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := Open([]string{"../connectors/example"}, []string{conn}, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Projects: ps, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return s, svc
}

type resp struct {
	code int
	body string
	h    http.Header
}

func do(t *testing.T, h http.Handler, method, target string, form url.Values, hdr map[string]string) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, "http://127.0.0.1:8686"+target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.RemoteAddr = "127.0.0.1:50000"
	for k, v := range hdr {
		if k == "RemoteAddr" {
			r.RemoteAddr = v
			continue
		}
		if k == "Host" {
			r.Host = v
			continue
		}
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return resp{w.Code, w.Body.String(), w.Header()}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

func TestPages(t *testing.T) {
	s, _ := newTestServer(t, "")
	for _, path := range []string{"/", "/c/example/", "/c/example/connection", "/c/example/flows/summarize", "/c/example/flows/classify",
		"/c/example/flows/summarize/source", "/runs", "/triggers", "/static/console.css"} {
		r := do(t, s, "GET", path, nil, nil)
		if r.code != 200 {
			t.Errorf("GET %s: %d %s", path, r.code, r.body)
			continue
		}
		if csp := r.h.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
		if strings.Contains(r.body, secret) {
			t.Errorf("GET %s shows the secret", path)
		}
		if strings.Contains(r.body, "<script") {
			t.Errorf("GET %s has a script", path)
		}
	}
	home := do(t, s, "GET", "/", nil, nil).body
	if !strings.Contains(home, `href="/c/example/"`) {
		t.Errorf("home does not link the connector:\n%s", home)
	}
	conn := do(t, s, "GET", "/c/example/", nil, nil).body
	for _, want := range []string{"action flows", "helper flows", "authping flows", `href="/c/example/flows/summarize"`, "Totals a list of orders"} {
		if !strings.Contains(conn, want) {
			t.Errorf("connector page lacks %q", want)
		}
	}
	flow := do(t, s, "GET", "/c/example/flows/summarize", nil, nil).body
	for _, want := range []string{`<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" data-flow="summarize"`, `href="/c/example/flows/classify"`,
		`<form class="runform" method="post" action="/c/example/flows/summarize/run">`, `name="in.orders"`, `<input id="in-min_amount" name="in.min_amount" type="number" step="any" value="0">`} {
		if !strings.Contains(flow, want) {
			t.Errorf("flow page lacks %q", want)
		}
	}
	if strings.Contains(do(t, s, "GET", "/c/example/flows/classify", nil, nil).body, "runform") {
		t.Error("a helper flow has a run form")
	}
	for _, f := range []string{"svg", "mermaid", "dot"} {
		if r := do(t, s, "GET", "/c/example/flows/summarize/graph/"+f, nil, nil); r.code != 200 || r.body == "" {
			t.Errorf("graph/%s: %d", f, r.code)
		}
	}
	for _, path := range []string{"/c/nope/", "/c/example/flows/nope", "/runs/99", "/c/example/flows/summarize/graph/png"} {
		if r := do(t, s, "GET", path, nil, nil); r.code != 404 {
			t.Errorf("GET %s: %d, want 404", path, r.code)
		}
	}
	cp := do(t, s, "GET", "/c/example/connection", nil, nil).body
	if !strings.Contains(cp, "secret, set (hidden)") {
		t.Errorf("connection page does not say the secret is set:\n%s", cp)
	}
}

func TestRunFromForm(t *testing.T) {
	s, _ := newTestServer(t, "")
	page := do(t, s, "GET", "/c/example/flows/summarize", nil, nil).body
	m := csrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no CSRF token in the form")
	}
	form := url.Values{"csrf": {m[1]}, "in.orders": {`[{"id":"a","amount":120,"status":"paid"},{"id":"b","amount":5}]`}, "in.min_amount": {"0"}, "in.pause": {"0s"}}
	// without the token, or from another site: refused
	bad := url.Values{"in.orders": form["in.orders"]}
	if r := do(t, s, "POST", "/c/example/flows/summarize/run", bad, nil); r.code != 403 {
		t.Errorf("POST without CSRF token: %d", r.code)
	}
	bad.Set("csrf", "00"+m[1][2:])
	if r := do(t, s, "POST", "/c/example/flows/summarize/run", bad, nil); r.code != 403 {
		t.Errorf("POST with a wrong CSRF token: %d", r.code)
	}
	if r := do(t, s, "POST", "/c/example/flows/summarize/run", form, map[string]string{"Sec-Fetch-Site": "cross-site"}); r.code != 403 {
		t.Errorf("cross-site POST: %d", r.code)
	}
	r := do(t, s, "POST", "/c/example/flows/summarize/run", form, map[string]string{"Sec-Fetch-Site": "same-origin"})
	if r.code != http.StatusSeeOther || r.h.Get("Location") != "/runs/1" {
		t.Fatalf("POST run: %d %s %s", r.code, r.h.Get("Location"), r.body)
	}
	run := do(t, s, "GET", "/runs/1", nil, nil).body
	for _, want := range []string{`id="run-status">ok<`, `&#34;total_paid&#34;: 120`, `data-status="ok"`, "counted", "classify"} {
		if !strings.Contains(run, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	// a failed run: bad JSON in the form
	form.Set("in.orders", "[{")
	r = do(t, s, "POST", "/c/example/flows/summarize/run", form, nil)
	fail := do(t, s, "GET", r.h.Get("Location"), nil, nil).body
	if !strings.Contains(fail, `id="run-status">failed<`) || !strings.Contains(fail, "not valid JSON") {
		t.Errorf("bad inputs do not fail the run:\n%s", fail)
	}
	runs := do(t, s, "GET", "/runs?failed=1", nil, nil).body
	if !strings.Contains(runs, `href="/runs/2"`) || strings.Contains(runs, `href="/runs/1"`) {
		t.Errorf("failed filter:\n%s", runs)
	}
}

// TestSecretsRedacted: a run whose response echoes the key and the
// connection test never show it.
func TestSecretsRedacted(t *testing.T) {
	s, _ := newTestServer(t, "")
	csrf := csrfRE.FindStringSubmatch(do(t, s, "GET", "/c/example/flows/get_user", nil, nil).body)[1]
	r := do(t, s, "POST", "/c/example/flows/get_user/run", url.Values{"csrf": {csrf}, "in.id": {"00u1"}}, nil)
	page := do(t, s, "GET", r.h.Get("Location"), nil, nil).body
	if !strings.Contains(page, `id="run-status">ok<`) {
		t.Fatalf("get_user did not succeed:\n%s", page)
	}
	r = do(t, s, "POST", "/c/example/connection/test", url.Values{"csrf": {csrf}}, nil)
	ping := do(t, s, "GET", r.h.Get("Location"), nil, nil).body
	if !strings.Contains(ping, "ada@example.com") {
		t.Errorf("authping run lacks its label:\n%s", ping)
	}
	for _, path := range []string{"/runs", "/runs/1", "/runs/2", "/c/example/connection", "/"} {
		if body := do(t, s, "GET", path, nil, nil).body; strings.Contains(body, secret) {
			t.Errorf("%s shows the secret", path)
		}
	}
}

func TestHostAndToken(t *testing.T) {
	s, _ := newTestServer(t, "")
	if r := do(t, s, "GET", "/", nil, map[string]string{"Host": "evil.example:8686"}); r.code != 403 {
		t.Errorf("non-loopback Host without a token: %d", r.code)
	}
	if r := do(t, s, "GET", "/", nil, map[string]string{"RemoteAddr": "203.0.113.9:4000"}); r.code != 403 {
		t.Errorf("a peer beyond loopback without a token: %d", r.code)
	}
	for _, h := range []string{"localhost:1", "[::1]:8686", "127.0.0.1"} {
		if r := do(t, s, "GET", "/", nil, map[string]string{"Host": h}); r.code != 200 {
			t.Errorf("Host %s: %d", h, r.code)
		}
	}
	ts, _ := newTestServer(t, "tok-123")
	h := map[string]string{"Host": "console.example", "RemoteAddr": "203.0.113.9:4000"}
	if r := do(t, ts, "GET", "/", nil, h); r.code != 401 {
		t.Errorf("no token: %d", r.code)
	}
	if r := do(t, ts, "GET", "/?token=wrong", nil, h); r.code != 401 {
		t.Errorf("wrong token: %d", r.code)
	}
	r := do(t, ts, "GET", "/runs?token=tok-123&flow=x", nil, h)
	if r.code != http.StatusSeeOther || r.h.Get("Location") != "/runs?flow=x" || !strings.Contains(r.h.Get("Set-Cookie"), "HttpOnly") {
		t.Errorf("token login: %d %q %q", r.code, r.h.Get("Location"), r.h.Get("Set-Cookie"))
	}
	if r := do(t, ts, "GET", "/", nil, map[string]string{"Host": "console.example", "Cookie": tokenCookie + "=tok-123"}); r.code != 200 {
		t.Errorf("token cookie: %d", r.code)
	}
	if r := do(t, ts, "GET", "/", nil, map[string]string{"Host": "console.example", "Authorization": "Bearer tok-123"}); r.code != 200 {
		t.Errorf("bearer token: %d", r.code)
	}
	for addr, want := range map[string]bool{"127.0.0.1:8686": true, "[::1]:0": true, "localhost:80": true, "0.0.0.0:8686": false, ":8686": false, "192.168.1.2:80": false} {
		if got := Loopback(addr); got != want {
			t.Errorf("Loopback(%q) = %v", addr, got)
		}
	}
}

func TestPrefix(t *testing.T) {
	s, _ := newTestServer(t, "")
	s2, err := New(Config{Projects: s.cfg.Projects, Prefix: "/console/"})
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, s2, "GET", "/console/c/example/flows/summarize", nil, nil)
	if r.code != 200 || !strings.Contains(r.body, `href="/console/static/console.css"`) || !strings.Contains(r.body, `action="/console/c/example/flows/summarize/run"`) {
		t.Errorf("prefixed flow page: %d", r.code)
	}
	if r := do(t, s2, "GET", "/console", nil, nil); r.code != http.StatusFound {
		t.Errorf("/console: %d", r.code)
	}
}

func TestTriggers(t *testing.T) {
	s, _ := newTestServer(t, "")
	st, err := trigger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "example", Flow: "list_users", Kind: "poll", Secret: "whsec-do-not-show"}
	if err := st.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	// the reason was stored redacted by the host; the console redacts again
	if err := st.SetHold(ctx, trigger.Hold{TriggerID: tr.ID, Code: "auth_expired", Reason: "401 from the service for " + secret, Since: time.Now()}); err != nil {
		t.Fatal(err)
	}
	s.cfg.Store = st
	page := do(t, s, "GET", "/triggers", nil, nil).body
	for _, want := range []string{tr.ID, "paused (auth_expired)", "401 from the service", "log in again", "/triggers/" + tr.ID + "/resume", "/triggers/" + tr.ID + "/reset"} {
		if !strings.Contains(page, want) {
			t.Errorf("triggers page lacks %q:\n%s", want, page)
		}
	}
	if strings.Contains(page, "whsec-do-not-show") || strings.Contains(page, secret) {
		t.Error("triggers page shows a secret")
	}
	if strings.Contains(page, "/triggers/"+tr.ID+"/pause") {
		t.Error("a paused trigger has a pause button")
	}
	csrf := csrfRE.FindStringSubmatch(page)[1]
	post := func(action string, form url.Values) resp {
		t.Helper()
		if form == nil {
			form = url.Values{}
		}
		form.Set("csrf", csrf)
		return do(t, s, "POST", "/triggers/"+tr.ID+"/"+action, form, nil)
	}
	if r := do(t, s, "POST", "/triggers/"+tr.ID+"/pause", url.Values{}, nil); r.code != 403 {
		t.Errorf("pause without the CSRF token: %d", r.code)
	}
	if r := post("resume", nil); r.code != http.StatusSeeOther {
		t.Fatalf("resume: %d %s", r.code, r.body)
	}
	if _, held, _ := st.GetHold(ctx, tr.ID); held {
		t.Error("the trigger is still held after resume")
	}

	// pause by hand, with a reason
	if r := post("pause", url.Values{"reason": {"the service <moves> tonight"}}); r.code != http.StatusSeeOther {
		t.Fatalf("pause: %d %s", r.code, r.body)
	}
	hd, held, _ := st.GetHold(ctx, tr.ID)
	if !held || !hd.Paused() || hd.Code != trigger.HoldManual || hd.Reason != "the service <moves> tonight" {
		t.Fatalf("after pause: %+v %v", hd, held)
	}
	page = do(t, s, "GET", "/triggers", nil, nil).body
	if !strings.Contains(page, "paused (manual)") || !strings.Contains(page, "the service &lt;moves&gt; tonight") || !strings.Contains(page, "trigger-paused") {
		t.Errorf("triggers page after pause:\n%s", page)
	}
	if r := post("resume", nil); r.code != http.StatusSeeOther {
		t.Fatalf("resume: %d", r.code)
	}
	if r := do(t, s, "POST", "/triggers/nope/pause", url.Values{"csrf": {csrf}}, nil); r.code != 404 || !strings.Contains(r.body, "no trigger nope is on") {
		t.Errorf("pausing a missing trigger: %d %s", r.code, r.body)
	}

	// reset: bad JSON is refused with a clear error and changes nothing
	if err := st.ResetTrigger(ctx, tr.ID, json.RawMessage(`{"since":"2026-01-01"}`), false); err != nil {
		t.Fatal(err)
	}
	r := post("reset", url.Values{"cursor": {`{"since": 2026-12-01}`}})
	if r.code != 400 || !strings.Contains(r.body, "the cursor is not valid JSON") || !strings.Contains(r.body, "at byte") ||
		!strings.Contains(r.body, `value="{&#34;since&#34;: 2026-12-01}"`) {
		t.Errorf("reset with bad JSON: %d\n%s", r.code, r.body)
	}
	if got, _ := st.GetTrigger(ctx, tr.ID); string(got.Cursor) != `{"since":"2026-01-01"}` {
		t.Errorf("a refused reset changed the cursor to %s", got.Cursor)
	}
	if r := post("reset", url.Values{"cursor": {`{"a":1} {"b":2}`}}); r.code != 400 || !strings.Contains(r.body, "more than one value") {
		t.Errorf("reset with two values: %d", r.code)
	}
	if r := post("reset", url.Values{"cursor": {` {"since": "2026-12-01T00:00:00Z"} `}}); r.code != http.StatusSeeOther {
		t.Fatalf("reset: %d %s", r.code, r.body)
	}
	if got, _ := st.GetTrigger(ctx, tr.ID); string(got.Cursor) != `{"since": "2026-12-01T00:00:00Z"}` {
		t.Errorf("cursor after reset: %s", got.Cursor)
	}
	if r := post("reset", nil); r.code != http.StatusSeeOther {
		t.Fatalf("reset to none: %d", r.code)
	}
	if got, _ := st.GetTrigger(ctx, tr.ID); got.Cursor != nil {
		t.Errorf("cursor after a reset to none: %s", got.Cursor)
	}
	hook := &trigger.Trigger{Project: "example", Flow: "hook", Kind: "webhook", Secret: "x"}
	if err := st.CreateTrigger(ctx, hook); err != nil {
		t.Fatal(err)
	}
	if r := do(t, s, "POST", "/triggers/"+hook.ID+"/reset", url.Values{"csrf": {csrf}}, nil); r.code != 400 || !strings.Contains(r.body, "only a poll trigger has a cursor") {
		t.Errorf("reset of a webhook trigger: %d", r.code)
	}
}

// TestStoredRuns: the run history of a state store is listed beside the
// console's runs, filtered, and a stored run shows its steps over the
// diagram with the failed step marked.
func TestStoredRuns(t *testing.T) {
	s, _ := newTestServer(t, "")
	st, err := trigger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	f := s.byKey["example"].Project.Flow("get_user")
	stepPos := f.Steps[0].Base().Pos.String()
	rec := &trigger.RunRecord{Project: "example", Flow: "get_user", Source: "run", Started: time.Now(), Duration: time.Second, Status: "error",
		Error: "GET /api/v1/users/x: 500", Steps: []trigger.StepRecord{{Flow: "get_user", Step: "get", Kind: "http", Pos: stepPos, Method: "GET",
			URL: "/api/v1/users/x", Status: 500, Error: "500 Internal Server Error", Output: json.RawMessage(`{"status":500}`)}}}
	id, err := st.RecordRun(ctx, rec, &trigger.Payload{Input: json.RawMessage(`{"id":"x"}`)})
	if err != nil {
		t.Fatal(err)
	}
	s.cfg.Store = st
	runs := do(t, s, "GET", "/runs?failed=1", nil, nil).body
	href := fmt.Sprintf(`href="/runs/s%d"`, id)
	if !strings.Contains(runs, href) {
		t.Fatalf("runs page lacks the stored run %s:\n%s", href, runs)
	}
	if other := do(t, s, "GET", "/runs?flow=summarize", nil, nil).body; strings.Contains(other, href) {
		t.Error("the flow filter keeps a run of another flow")
	}
	page := do(t, s, "GET", fmt.Sprintf("/runs/s%d", id), nil, nil)
	for _, want := range []string{`id="run-status">failed<`, "500 Internal Server Error", `data-status="failed"`, `&#34;status&#34;: 500`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("stored run page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "replay-button") {
		t.Error("a replay button without a host to replay")
	}
	if r := do(t, s, "GET", "/runs/s999", nil, nil); r.code != 404 {
		t.Errorf("unknown stored run: %d", r.code)
	}
}

// TestMountedInHost: under flowrun serve the console answers at /console/
// and the webhook paths stay the host's.
func TestMountedInHost(t *testing.T) {
	s, _ := newTestServer(t, "")
	st, err := trigger.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{Projects: s.cfg.Projects, Prefix: "/console", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h := &trigger.Host{Runner: &run.Runner{Project: s.cfg.Projects[0].Project, Connection: s.cfg.Projects[0].Connection}, Store: st, Console: srv}
	if r := do(t, h, "GET", "/console/c/example/flows/summarize", nil, nil); r.code != 200 || !strings.Contains(r.body, "flow-graph") {
		t.Errorf("/console/ flow page: %d", r.code)
	}
	if r := do(t, h, "GET", "/console", nil, nil); r.code != http.StatusFound {
		t.Errorf("/console: %d", r.code)
	}
	if r := do(t, h, "GET", "/hooks/nope", nil, nil); r.code != 404 || strings.Contains(r.body, "flowrun console") {
		t.Errorf("/hooks/ reaches the console: %d", r.code)
	}
	if r := do(t, h, "GET", "/console/", nil, map[string]string{"RemoteAddr": "198.51.100.7:9"}); r.code != 403 {
		t.Errorf("a remote peer reaches the mounted console without a token: %d", r.code)
	}
}
