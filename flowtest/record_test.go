package flowtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
)

// liveService is an httptest server standing in for the live service: it
// wants the live key, pages users with a Link header, echoes a secret in a
// cookie, and fails the first call to /flaky with 503.
func liveService(t *testing.T) *httptest.Server {
	var flaky atomic.Int32
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "SSWS live-key-0123456789" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Set-Cookie", "sid=live-session-cookie")
		w.Header().Set("X-Rate-Limit-Remaining", "99")
		switch r.URL.Path {
		case "/api/v2/users":
			w.Header().Set("Content-Type", "application/json")
			if r.URL.Query().Get("after") == "" {
				w.Header().Set("Link", fmt.Sprintf(`<%s/api/v2/users?after=u1&limit=1>; rel="next"`, srv.URL))
				io.WriteString(w, `[{"id":"u1","profile":{"login":"ada@example.com"}}]`)
				return
			}
			io.WriteString(w, `[{"id":"u2","profile":{"login":"bob@example.com"}}]`)
		case "/api/v2/keys":
			b, _ := io.ReadAll(r.Body)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"echo":%s,"note":"key %s"}`, b, r.URL.Query().Get("api_key"))
		case "/api/v2/flaky":
			if flaky.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, "fine\nthanks")
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

const recordConnector = `flowrun: 1
name: acme
base_url: ${ connection.base_url }/api/v2
connection:
  params:
    base_url: {type: string, required: true}
    api_key: {type: string, required: true, secret: true}
  auth:
    type: header
    header: {name: Authorization, value: "SSWS ${ connection.api_key }"}
http:
  retry: {attempts: 2, on: [503], backoff: 1s}
`

var recordFlows = map[string]string{
	"connector.yaml": recordConnector,
	"flows/list_users.yaml": `flowrun: 1
name: list_users
type: action
outputs:
  logins: {type: list, items: string}
steps:
  - id: users
    http:
      path: /users
      query: {limit: 1}
      paginate:
        items: ${ response.body }
        next: ${ linkNext(response.headers.link) }
  - return:
      logins: '${ map(steps.users.items, .profile.login) }'
`,
	"flows/keys.yaml": `flowrun: 1
name: keys
type: action
outputs:
  note: string
steps:
  - id: k
    http:
      method: POST
      path: /keys
      query: {api_key: "${ connection.api_key }", other: x}
      json:
        key: ${ connection.api_key }
        n: 1
  - return:
      note: ${ steps.k.body.note }
`,
	"flows/flaky.yaml": `flowrun: 1
name: flaky
type: action
outputs:
  text: string
steps:
  - id: f
    http: {path: /flaky}
  - return:
      text: ${ steps.f.body }
`,
}

const recordTests = `# yaml-language-server: $schema=https://flowrun.dev/schema/test.json
flowrun: 1
tests:
  # lists everyone
  - name: lists users
    flow: list_users
    connection: {params: {base_url: "https://demo.acme.example", api_key: test-key}}
    http:
      - request: {method: GET, path: /old}   # replaced by the recording
    outputs: {logins: [ada@example.com, bob@example.com]}

  - name: keys
    flow: keys
    connection:
      params:
        base_url: "https://demo.acme.example"
        api_key: test-key
    outputs: {note: key test-key}

  - http: []
    name: flaky
    flow: flaky
    connection: {params: {base_url: "https://demo.acme.example", api_key: test-key}}
    outputs:
      text: |-
        fine
        thanks

  - name: not recorded
    flow: flaky
    skip: kept as is
# the end
`

func TestRecord(t *testing.T) {
	srv := liveService(t)
	files := map[string]string{"tests/live.yaml": recordTests}
	for k, v := range recordFlows {
		files[k] = v
	}
	p := writeProject(t, files)
	conn := &connection.Connection{Params: map[string]any{"base_url": srv.URL, "api_key": "live-key-0123456789"}}
	conn.AddSecret("live-key-0123456789")
	var out strings.Builder
	rep, err := Run(context.Background(), p, Options{Record: true, RecordConn: conn, Out: &out})
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(p.Dir, "tests", "live.yaml")
	data, _ := os.ReadFile(file)
	t.Logf("record:\n%s\n%s", out.String(), data)
	// live, the keys case sees the live key (redacted in the diff)
	if rep.Failed != 1 || rep.Passed != 2 || !strings.Contains(out.String(), `+  "note": "key ***"`) {
		t.Fatalf("recording run: %s", Summary(rep))
	}
	got := string(data)
	for _, leak := range []string{"live-key-0123456789", "live-session-cookie", "Authorization", srv.URL} {
		if strings.Contains(got, leak) {
			t.Errorf("the recording holds %q", leak)
		}
	}
	for _, keep := range []string{"# yaml-language-server", "  # lists everyone\n", "# the end\n", "    skip: kept as is\n",
		"Set-Cookie: \"***\"", "Link: <https://demo.acme.example/api/v2/users?after=u1&limit=1>; rel=\"next\"", "X-Rate-Limit-Remaining: \"99\"", "key: test-key", "note: key test-key", "status: 503"} {
		if !strings.Contains(got, keep) {
			t.Errorf("the rewritten file lacks %q", keep)
		}
	}
	if strings.Contains(got, "times: 1\n") {
		t.Error("1.1 recordings leave out times: 1 (a mock answers once)")
	}
	if strings.Contains(got, "/old") {
		t.Error("the case's old mocks were kept")
	}
	if n := len(regexp.MustCompile(`(?m)^\s+- request:`).FindAllString(got, -1)); n != 5 {
		t.Errorf("%d mocks written, want 5 (2 pages, 1 key, 503 and 200)", n)
	}

	// the recorded mocks answer the cases offline
	p2, err := load.Project(p.Dir)
	if err != nil {
		t.Fatalf("the rewritten file does not load: %v", err)
	}
	rep, offline := runCase(t, p2, Options{})
	if rep.Failed != 0 || rep.Passed != 3 {
		t.Fatalf("offline after recording: %s\n%s", Summary(rep), offline)
	}
}

func TestRecordNeedsConnection(t *testing.T) {
	p := writeProject(t, nil)
	if _, err := Run(context.Background(), p, Options{Record: true}); err == nil {
		t.Fatal("Record without RecordConn ran")
	}
}

func TestEntryEnd(t *testing.T) {
	lines := strings.SplitAfter(`  - name: x
    http:
    - request: {}
      response: {}

    # a comment
    outputs: {}
  - name: y
`, "\n")
	if got := entryEnd(lines, 2, 4); got != 4 {
		t.Errorf("entryEnd = %d, want 4", got)
	}
	if got := entryEnd(lines, 7, 4); got != 7 {
		t.Errorf("entryEnd = %d, want 7", got)
	}
}

// TestRecordGeneratedIDs: a UUID the flow generates is recorded as a
// $regex matcher (the next run sends another); one the service gave is
// recorded as is; repeats of the same exchange become times: N.
func TestRecordGeneratedIDs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "GET" {
			io.WriteString(w, `{"id":"0b7e4b8e-3f0c-4c55-9e1e-2f5a8d7c1b20"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	p := writeProject(t, map[string]string{
		"connector.yaml": "flowrun: 1\nname: gen\nbase_url: ${ connection.base_url }\nconnection:\n  params:\n    base_url: {type: string, default: https://svc.example}\n",
		"flows/gen.yaml": `flowrun: 1
name: gen
type: action
outputs: {ok: boolean}
steps:
  - id: thing
    http: {path: /thing}
  - http: {path: /thing}
  - http:
      method: POST
      path: /orders
      json:
        request_id: ${ uuid() }
        thing: ${ steps.thing.body.id }
  - return: {ok: true}
`,
		"tests/gen.yaml": "flowrun: 1\ntests:\n  - name: gen\n    flow: gen\n    outputs: {ok: true}\n",
	})
	conn := &connection.Connection{Params: map[string]any{"base_url": srv.URL}}
	if _, err := Run(context.Background(), p, Options{Record: true, RecordConn: conn}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(p.Dir, "tests", "gen.yaml"))
	got := string(data)
	for _, want := range []string{"times: 2", "request_id:\n", "$regex: ^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", "thing: 0b7e4b8e-3f0c-4c55-9e1e-2f5a8d7c1b20"} {
		if !strings.Contains(got, want) {
			t.Errorf("the recording lacks %q:\n%s", want, got)
		}
	}
	p2, err := load.Project(p.Dir)
	if err != nil {
		t.Fatalf("the rewritten file does not load: %v\n%s", err, got)
	}
	rep, out := runCase(t, p2, Options{})
	if rep.Passed != 1 {
		t.Fatalf("offline after recording: %s\n%s\n%s", Summary(rep), out, got)
	}
}
