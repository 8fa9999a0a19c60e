package flowtest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

// v11Flows are the flows of the 1.1 cases (SPEC §8.7).
var v11Flows = map[string]string{
	"flows/list_users.yaml": `flowrun: 1
name: list_users
type: action
outputs:
  ids: {type: list, items: string}
steps:
  - id: users
    http:
      path: /users
      query: {limit: 2}
      paginate:
        items: ${ response.body.users }
        next_query:
          after: ${ response.body.next }
  - return:
      ids: '${ map(steps.users.items, .id) }'
`,
	"flows/create_order.yaml": `flowrun: 1
name: create_order
type: action
outputs: {id: string, at: string}
steps:
  - id: order
    http:
      method: POST
      path: /orders
      headers: {Idempotency-Key: "${ uuid() }"}
      json:
        request_id: ${ uuid() }
        created: ${ formatDate(nowUTC(), "2006-01-02T15:04:05Z07:00") }
        amount: 3
  - return:
      id: ${ steps.order.body.id }
      at: ${ formatDate(now(), "2006-01-02") }
`,
	"flows/fetch.yaml": `flowrun: 1
name: fetch
type: action
inputs:
  method: {type: string, default: GET}
outputs: {ok: boolean}
steps:
  - id: r
    http:
      method: ${ inputs.method }
      path: /thing
      retry: {attempts: 3, on: [503]}
  - return: {ok: true}
`,
	"flows/new_things.yaml": `flowrun: 1
name: new_things
type: poll
schedule: 5m
dedupe: ${ event.id }
outputs: {id: string}
steps:
  - id: page
    http: {path: /things}
  - return:
      events: '${ map(steps.page.body, ({"id": .id})) }'
      cursor: x
`,
	"flows/plain_poll.yaml": `flowrun: 1
name: plain_poll
type: poll
schedule: 5m
outputs: {id: string}
steps:
  - return:
      events: []
      cursor: x
`,
}

// runV11 runs one suite (the body of tests:) with the 1.1 flows and extra files.
func runV11(t *testing.T, suite string, extra map[string]string) (*Report, string) {
	t.Helper()
	files := map[string]string{"tests/v11.yaml": "flowrun: 1\ntests:\n" + suite}
	for k, v := range v11Flows {
		files[k] = v
	}
	for k, v := range extra {
		files[k] = v
	}
	p := writeProject(t, files)
	return runCase(t, p, Options{})
}

func failures(r *CaseResult) string {
	var b strings.Builder
	for _, f := range r.Failures {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

func TestV11Cases(t *testing.T) {
	tests := []struct {
		name string
		tc   string
		want []string // substrings of the failures; none: the case passes
	}{
		{"two pages with neither times nor ordered", `
    flow: list_users
    http:
      - request: {path: /api/v2/users, query: {limit: 2}}
        response: {json: {users: [{id: u1}, {id: u2}], next: c2}}
      - request: {path: /api/v2/users, query: {limit: 2, after: c2}}
        response: {json: {users: [{id: u3}]}}
    outputs: {ids: [u1, u2, u3]}`, nil},
		{"a mock answers once", `
    flow: list_users
    http:
      - request: {path: /api/v2/users}
        response: {json: {users: [{id: u1}], next: c2}}
    outputs: {ids: [u1]}`, []string{"request 2 matched no mock", "answers only once and was used up"}},
		{"times any answers every page", `
    flow: list_users
    http:
      - request: {path: /api/v2/users, query: {after: {$absent: true}}}
        response: {json: {users: [{id: u1}], next: c2}}
      - request: {path: /api/v2/users}
        response: {json: {users: [{id: u2}]}}
        times: any
    outputs: {ids: [u1, u2]}`, nil},
		{"times any never shadows a later mock", `
    flow: list_users
    http:
      - request: {path: /api/v2/users}
        response: {json: {users: [{id: u2}]}}
        times: any
      - request: {path: /api/v2/users, query: {after: {$absent: true}}}
        response: {json: {users: [{id: u1}], next: c2}}
    outputs: {ids: [u1, u2]}`, nil},
		{"an unused times any mock fails", `
    flow: list_users
    http:
      - request: {path: /api/v2/users}
        response: {json: {users: []}}
      - request: {path: /api/v2/other}
        times: any
    outputs: {ids: []}`, []string{"mock 2 (/api/v2/other) was never used (times: any answers any number of requests, but at least one)"}},
		{"a generated UUID matched with $regex", `
    flow: create_order
    now: 2026-11-02T08:00:00Z
    http:
      - request:
          method: POST
          path: /api/v2/orders
          headers: {Idempotency-Key: {$regex: "^[0-9a-f-]{36}$"}, X-Absent: {$absent: true}, Authorization: {$any: true}}
          json: {request_id: {$regex: "^[0-9a-f]{8}-[0-9a-f]{4}-4"}, created: "2026-11-02T08:00:00Z", amount: {$any: true}, note: {$absent: true}}
        response: {status: 201, json: {id: o1}}
    outputs: {id: {$regex: "^o[0-9]$"}, at: "2026-11-02"}`, nil},
		{"$regex that does not match shows in the diff", `
    flow: create_order
    http:
      - request:
          method: POST
          path: /api/v2/orders
          json: {request_id: {$regex: "^x"}, amount: {$any: true}}
        response: {status: 201, json: {id: o1}}
    outputs: {id: o1, at: "2026-01-01"}`, []string{"request 1 matched no mock", `-      "$regex": "^x"`, `"amount": {`}},
		{"an invalid $regex is a positioned error", `
    flow: create_order
    http:
      - request: {method: POST, json: {request_id: {$regex: "(["}}}
    outputs: {id: o1}`, []string{"v11.yaml:66:62: $regex \"([\" is not a valid regular expression: missing closing ]"}},
		{"$absent is not a list element", `
    flow: create_order
    http:
      - request: {method: POST, json: {tags: [{$absent: true}]}}
    outputs: {id: o1}`, []string{"{$absent: true} stands for a key of a mapping"}},
		{"connection_refused is retried, even for POST", `
    flow: fetch
    inputs: {method: POST}
    http:
      - request: {method: POST, path: /api/v2/thing}
        response: {fault: connection_refused}
      - request: {method: POST, path: /api/v2/thing}
    outputs: {ok: true}`, nil},
		{"reset is not retried for POST", `
    flow: fetch
    inputs: {method: POST}
    http:
      - request: {method: POST, path: /api/v2/thing}
        response: {fault: reset}
    error: "POST https://demo.acme.example/api/v2/thing: read tcp 127.0.0.1:49152->demo.acme.example:443: read: connection reset by peer"`, nil},
		{"timeouts are retried for GET", `
    flow: fetch
    http:
      - request: {path: /api/v2/thing}
        response: {fault: timeout}
        times: 2
      - request: {path: /api/v2/thing}
        response: {status: 503}
    error: "/^step \"r\": GET https://demo.acme.example/api/v2/thing: 503/"`, []string{"the error does not match"}},
		{"three timeouts end the retries", `
    flow: fetch
    http:
      - request: {path: /api/v2/thing}
        response: {fault: timeout}
        times: 3
    error: "i/o timeout"`, nil},
		{"seen drops events", `
    flow: new_things
    seen: [t1]
    http:
      - request: {path: /api/v2/things}
        response: {json: [{id: t1}, {id: t2}, {id: t2}, {id: t3}]}
    events: [{id: t2}, {id: t3}]
    expect_cursor: x`, nil},
		{"seen on a flow without dedupe", `
    flow: plain_poll
    seen: [t1]
    events: []`, []string{"seen: flow \"plain_poll\" has no dedupe: expression"}},
		{"json_file and body_file", `
    flow: list_users
    http:
      - request: {path: /api/v2/users, query: {after: {$absent: true}}}
        response: {json_file: fixtures/page1.json}
      - request: {path: /api/v2/users, query: {after: c2}}
        response: {body_file: fixtures/page2.txt, headers: {Content-Type: application/json}}
    outputs: {ids: [u1, u2]}`, nil},
		{"a missing fixture is a positioned error", `
    flow: list_users
    http:
      - request: {path: /api/v2/users}
        response: {json_file: fixtures/nope.json}
    outputs: {ids: []}`, []string{"v11.yaml:128:31: json_file: no file "}},
		{"a fixture outside the project", `
    flow: list_users
    http:
      - request: {path: /api/v2/users}
        response: {body_file: ../../etc/passwd}
    outputs: {ids: []}`, []string{"is outside the project"}},
		{"a fixture that is not JSON", `
    flow: list_users
    http:
      - request: {path: /api/v2/users}
        response: {json_file: fixtures/page2.txt.bad}
    outputs: {ids: []}`, []string{"is not valid JSON"}},
		{"the nearest-mock diff redacts secrets", `
    flow: get_user
    connection: {params: {api_key: sekret-key-1}}
    inputs: {id: u1}
    http:
      - request: {path: /api/v2/users/u2, headers: {Authorization: SSWS sekret-key-1, X-Api-Key: other-value-2}}
    outputs: {email: a@b.c}`, []string{`"Authorization": "SSWS ***"`, `"X-Api-Key": "*** (13 characters, sha256 `}},
	}
	var b strings.Builder
	for _, tt := range tests {
		b.WriteString("  - name: " + tt.name + tt.tc + "\n")
	}
	rep, out := runV11(t, b.String(), map[string]string{
		"tests/fixtures/page1.json":    `{"users": [{"id": "u1"}], "next": "c2"}`,
		"tests/fixtures/page2.txt":     `{"users": [{"id": "u2"}]}`,
		"tests/fixtures/page2.txt.bad": `{"users": [`,
	})
	if len(rep.Cases) != len(tests) {
		t.Fatalf("%d results for %d cases\n%s", len(rep.Cases), len(tests), out)
	}
	for i, tt := range tests {
		r := rep.Cases[i]
		got := failures(r)
		if len(tt.want) == 0 && r.Status != Passed {
			t.Errorf("%s: want a pass, got\n%s", tt.name, got)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: failures do not say %q:\n%s", tt.name, w, got)
			}
		}
		if strings.Contains(got, "sekret-key-1") || strings.Contains(got, "other-value-2") {
			t.Errorf("%s: a secret in the failures:\n%s", tt.name, got)
		}
	}
}

// TestWebhookJSONFile: a webhook case's request body read from a file.
func TestWebhookJSONFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("connector.yaml", "flowrun: 1\nname: hooks\nbase_url: https://x.example\n")
	write("flows/h.yaml", `flowrun: 1
name: h
type: webhook
dedupe: ${ event.id }
outputs: {id: string, ct: string}
register: {steps: [{return: {}}]}
deregister: {steps: [{return: {}}]}
event:
  steps:
    - return:
        events: '${ map(request.body.items, ({"id": .id, "ct": request.headers["content-type"]})) }'
`)
	write("tests/fixtures/delivery.json", `{"items": [{"id": "a"}, {"id": "b"}, {"id": "a"}]}`)
	write("tests/h.yaml", `flowrun: 1
tests:
  - name: from a file
    flow: h
    request: {json_file: fixtures/delivery.json}
    events: [{id: a, ct: application/json}, {id: b, ct: application/json}]
  - name: seen on a webhook
    flow: h
    seen: [b]
    request: {body_file: fixtures/delivery.json, headers: {Content-Type: application/json}}
    events: [{id: a, ct: application/json}]
  - name: a missing file
    flow: h
    request: {json_file: fixtures/none.json}
    events: []
`)
	p := loadDir(t, dir)
	rep, out := runCase(t, p, Options{})
	if rep.Passed != 2 || rep.Failed != 1 || !strings.Contains(out, "tests/h.yaml:14:26: json_file: no file") {
		t.Fatalf("%s\n%s", Summary(rep), out)
	}
}

func loadDir(t *testing.T, dir string) *lang.Project {
	t.Helper()
	p, err := load.Project(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}
