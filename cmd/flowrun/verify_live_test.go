package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// driftProject is a connector whose suite's fixtures the drifting service
// (driftService) no longer matches.
var driftProject = map[string]string{
	"connector.yaml": `flowrun: 1
name: drift
base_url: ${ connection.base_url }/api
connection:
  params:
    base_url: {type: string, required: true}
    token: {type: string, required: true, secret: true}
  auth:
    type: bearer
    bearer: {token: "${ connection.token }"}
`,
	"flows/get_user.yaml": `flowrun: 1
name: get_user
type: action
inputs:
  id: {type: string, required: true}
outputs: {email: string}
steps:
  - id: user
    http: {path: "/users/${ inputs.id }"}
  - return:
      email: ${ steps.user.body.profile.email }
`,
	"flows/list_users.yaml": `flowrun: 1
name: list_users
type: action
outputs: {n: integer}
steps:
  - id: users
    http: {path: /users}
  - return:
      n: ${ len(steps.users.body.users) }
`,
	"flows/create_user.yaml": `flowrun: 1
name: create_user
type: action
outputs: {id: string}
steps:
  - id: user
    http:
      method: POST
      path: /users
      json: {email: a@example.com}
  - return:
      id: ${ steps.user.body.id }
`,
	"flows/hook.yaml": `flowrun: 1
name: hook
type: webhook
outputs: {id: string}
register:
  steps:
    - http: {method: POST, path: /hooks}
    - return: {}
deregister: {steps: [{return: {}}]}
event:
  steps:
    - return: {events: []}
`,
	"tests/users.yaml": `flowrun: 1
tests:
  - name: gets a user
    flow: get_user
    connection: {params: {base_url: "https://svc.example", token: test-token}}
    inputs: {id: u1}
    http:
      - request: {method: GET, path: /api/users/u1, headers: {Authorization: Bearer test-token}}
        response:
          json:
            id: u1
            status: ACTIVE
            profile:
              email: ada@example.com
              age: 36
              manager: null
    outputs: {email: ada@example.com}

  - name: lists users
    flow: list_users
    connection: {params: {base_url: "https://svc.example", token: test-token}}
    http:
      - request: {method: GET, path: /api/users}
        response: {json_file: fixtures/users.json}
    outputs: {n: 2}

  - name: creates a user
    flow: create_user
    connection: {params: {base_url: "https://svc.example", token: test-token}}
    http:
      - request: {method: POST, path: /api/users}
        response: {status: 201, json: {id: u9}}
    outputs: {id: u9}

  - name: registers the hook
    flow: hook
    connection: {params: {base_url: "https://svc.example", token: test-token}}
    http:
      - request: {method: POST, path: /api/hooks}
    outputs: {}
`,
	"tests/fixtures/users.json": `{
  "users": [
    {"id": "u1", "email": "ada@example.com"},
    {"id": "u2", "email": "bob@example.com"}
  ],
  "next": null
}
`,
}

// driftService answers like the service the fixtures were written from,
// except that it drifted: when drifted, a user has no status, its age is
// a string and it has a new nickname; listed users lost their email and
// have a team.
func driftService(t *testing.T, drifted bool) (*httptest.Server, *[]string) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(driftHandler(drifted, func(r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

// driftHandler is the service; seen (if not nil) is told of every request.
func driftHandler(drifted bool, seen func(*http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			seen(r)
		}
		if r.Header.Get("Authorization") != "Bearer live-token-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		var v any
		switch {
		case r.Method != "GET":
			w.WriteHeader(http.StatusTeapot)
			return
		case r.URL.Path == "/api/users/u1" && drifted:
			v = map[string]any{"id": "u1", "profile": map[string]any{"email": "x@y.z", "age": "36", "manager": "u7", "nickname": "ada"}}
		case r.URL.Path == "/api/users/u1":
			v = map[string]any{"id": "u1", "status": "SUSPENDED", "profile": map[string]any{"email": "x@y.z", "age": 40, "manager": nil}}
		case r.URL.Path == "/api/users" && drifted:
			v = map[string]any{"users": []any{map[string]any{"id": "u5", "team": "core"}}, "next": "c2"}
		case r.URL.Path == "/api/users":
			v = map[string]any{"users": []any{map[string]any{"id": "u5", "email": "e@f.g"}}, "next": nil}
		default:
			w.WriteHeader(http.StatusNotFound)
			return
		}
		json.NewEncoder(w).Encode(v)
	})
}

func writeDriftProject(t *testing.T, liveURL string) string {
	dir := t.TempDir()
	files := map[string]string{"live.yaml": "params:\n  base_url: " + liveURL + "\n  token: live-token-123\n"}
	for k, v := range driftProject {
		files[k] = v
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestVerifyLive runs `flowrun test --verify-live` against a local service
// that drifted on purpose: breaking differences at the fixtures'
// file:line:col and exit 1, new keys as info, never a write or a webhook.
func TestVerifyLive(t *testing.T) {
	srv, seen := driftService(t, true)
	dir := writeDriftProject(t, srv.URL)
	t.Chdir(dir)

	// offline, the suite passes
	if code, out, errOut := runCLI(t, "test"); code != 0 {
		t.Fatalf("offline: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut := runCLI(t, "test", "--verify-live", "--connection", "live.yaml")
	t.Logf("flowrun test --verify-live:\n%s%s", out, errOut)
	if code != 1 {
		t.Fatalf("exit %d, want 1 (breaking drift)", code)
	}
	get := "(GET " + srv.URL + "/api/users/u1)"
	list := "(GET " + srv.URL + "/api/users)"
	for _, want := range []string{
		"FAIL tests/users.yaml: gets a user",
		"tests/users.yaml:12:13: breaking: status: gone from the live response " + get,
		"tests/users.yaml:15:20: breaking: profile.age: the type changed from number (fixture) to string (live) " + get,
		"tests/users.yaml:14:15: info: profile.nickname: new key in the live response (string) " + get,
		"FAIL tests/users.yaml: lists users",
		"tests/fixtures/users.json:3:18: breaking: users[].email: gone from the live response " + list,
		"tests/fixtures/users.json:3:6: info: users[].team: new key in the live response (string) " + list,
		"ok   tests/users.yaml: creates a user",
		"skip tests/users.yaml: registers the hook (verify-live never delivers, registers or removes webhooks)",
		"verify-live: 2 live responses compared, 3 breaking, 2 info\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	if strings.Contains(out, "live-token-123") {
		t.Error("the report holds the live token")
	}
	for _, s := range *seen {
		if !strings.HasPrefix(s, "GET ") {
			t.Errorf("verify-live sent %s to the live service", s)
		}
	}

	// the service as the fixtures describe it: values differ, shapes do
	// not; a null on either side is no type change
	srv2, _ := driftService(t, false)
	os.WriteFile(filepath.Join(dir, "live.yaml"), []byte("params:\n  base_url: "+srv2.URL+"\n  token: live-token-123\n"), 0o600)
	code, out, _ = runCLI(t, "test", "--verify-live", "--connection", "live.yaml")
	if code != 0 || !strings.Contains(out, "verify-live: 2 live responses compared, 0 breaking, 0 info\n") {
		t.Fatalf("no drift: exit %d\n%s", code, out)
	}

	// usage
	for _, args := range [][]string{
		{"test", "--verify-live"},
		{"test", "--verify-live", "--record", "--connection", "live.yaml"},
	} {
		if code, _, errOut := runCLI(t, args...); code != 2 || errOut == "" {
			t.Errorf("flowrun %s: exit %d, stderr %q; want 2", strings.Join(args, " "), code, errOut)
		}
	}
}
