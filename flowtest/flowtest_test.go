package flowtest

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

// baseConnector is the connector.yaml writeProject uses unless files give one.
const baseConnector = `flowrun: 1
name: acme
base_url: https://${ connection.subdomain }.acme.example/api/v2
connection:
  params:
    subdomain: {type: string, default: demo}
    api_key: {type: string, secret: true}
  auth:
    type: header
    header: {name: Authorization, value: "SSWS ${ connection.api_key }"}
`

// baseFlows are flows every writeProject project has.
var baseFlows = map[string]string{
	"flows/get_user.yaml": `flowrun: 1
name: get_user
type: action
inputs:
  id: {type: string, required: true}
outputs:
  email: string
steps:
  - id: user
    http:
      path: /users/${ inputs.id }
      query:
        fields: ${ "profile" }
  - return:
      email: ${ steps.user.body.profile.email }
`,
	"flows/twice.yaml": `flowrun: 1
name: twice
type: action
outputs:
  n: integer
steps:
  - http: {path: /a}
  - http: {path: /a}
  - http: {method: POST, path: /b, json: {x: 1, y: [1, 2]}}
  - return: {n: 2}
`,
}

// writeProject writes a project (connector.yaml and baseFlows unless given)
// into a temporary directory and loads it.
func writeProject(t testing.TB, files map[string]string) *lang.Project {
	t.Helper()
	dir := t.TempDir()
	all := map[string]string{"connector.yaml": baseConnector}
	for k, v := range baseFlows {
		all[k] = v
	}
	for k, v := range files {
		all[k] = v
	}
	for name, content := range all {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	p, err := load.Project(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

func runCase(t testing.TB, p *lang.Project, opts Options) (*Report, string) {
	t.Helper()
	var out bytes.Buffer
	opts.Out = &out
	rep, err := Run(context.Background(), p, opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return rep, out.String()
}

// TestAcmeSuitePasses: the fixture project's suites (every kind of case)
// pass, with the published signature vectors and real payloads.
func TestAcmeSuitePasses(t *testing.T) {
	p, err := load.Project("../testdata/flowtest/acme")
	if err != nil {
		t.Fatal(err)
	}
	rep, out := runCase(t, p, Options{})
	if rep.Failed != 0 || rep.Passed != 20 || rep.Skipped != 1 {
		t.Fatalf("%s\n%s", Summary(rep), out)
	}
	// the same, one case at a time, and verbose
	rep, out = runCase(t, p, Options{Parallel: 1, Verbose: true})
	if rep.Failed != 0 || !strings.Contains(out, "    http: GET https://demo.acme.example/api/v2/users?limit=1 -> mock 1 (GET /api/v2/users): 200\n") {
		t.Fatalf("%s\n%s", Summary(rep), out)
	}
}

// TestCases pins the outcome of single cases: pass, or the failure summaries.
func TestCases(t *testing.T) {
	tests := []struct {
		name string
		tc   string // one case, indented as a list item under tests:
		want []string
	}{
		{"query subset and null for absent", `
    flow: get_user
    inputs: {id: u1}
    http:
      - request: {method: GET, path: /api/v2/users/u1, query: {fields: profile, page: null}}
        response: {json: {profile: {email: a@b.c}}}
    outputs: {email: a@b.c}`, nil},
		{"query value differs", `
    flow: get_user
    inputs: {id: u1}
    http:
      - request: {path: /api/v2/users/u1, query: {fields: all}}
        response: {json: {profile: {email: a@b.c}}}
    outputs: {email: a@b.c}`, []string{"request 1 matched no mock: GET https://demo.acme.example/api/v2/users/u1?fields=profile"}},
		{"headers match in any case", `
    flow: get_user
    connection: {params: {api_key: k123}}
    inputs: {id: u1}
    http:
      - request: {path: /api/v2/users/u1, headers: {AUTHORIZATION: SSWS k123}}
        response: {json: {profile: {email: a@b.c}}}
    outputs: {email: a@b.c}`, nil},
		{"a header that must be absent", `
    flow: get_user
    connection: {params: {api_key: k123}}
    inputs: {id: u1}
    http:
      - request: {path: /api/v2/users/u1, headers: {authorization: null}}
        response: {json: {profile: {email: a@b.c}}}
    outputs: {email: a@b.c}`, []string{"request 1 matched no mock: GET https://demo.acme.example/api/v2/users/u1?fields=profile"}},
		{"times and unordered", `
    flow: twice
    http:
      - request: {method: POST, path: /api/v2/b, json: {x: 1}}
      - request: {path: /api/v2/a}
        times: 2
    outputs: {n: 2}`, nil},
		{"a third request to a mock that answers twice", `
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: 1
      - request: {method: POST, path: /api/v2/b}
    outputs: {n: 2}`, []string{"request 2 matched no mock: GET https://demo.acme.example/api/v2/a"}},
		{"json_exact", `
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: any
      - request: {method: POST, path: /api/v2/b, json: {x: 1}, json_exact: true}
    outputs: {n: 2}`, []string{"request 3 matched no mock: POST https://demo.acme.example/api/v2/b"}},
		{"json lists compare whole", `
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: any
      - request: {method: POST, path: /api/v2/b, json: {y: [1]}}
    outputs: {n: 2}`, []string{"request 3 matched no mock: POST https://demo.acme.example/api/v2/b"}},
		{"raw body", `
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: any
      - request: {method: POST, path: /api/v2/b, body: '{"x":1,"y":[1,2]}'}
    outputs: {n: 2}`, nil},
		{"ordered with times", `
    flow: twice
    ordered: true
    http:
      - request: {path: /api/v2/a}
        times: 2
      - request: {method: POST}
    outputs: {n: 2}`, nil},
		{"numbers compare by value", `
    flow: twice
    http:
      - request: {path: /api/v2/a}
        times: any
      - request: {method: POST, json: {x: 1.0}}
    outputs: {n: 2.0}`, nil},
		{"outputs are exact without partial", `
    flow: get_user
    inputs: {id: u1}
    http:
      - request: {path: /api/v2/users/u1}
        response: {json: {profile: {email: a@b.c}}}
    outputs: {}`, []string{"outputs differ"}},
		{"events on an action flow", `
    flow: get_user
    inputs: {id: u1}
    events: []`, []string{"events: only poll and webhook flows produce events; flow \"get_user\" is an action flow"}},
		{"a case connection read from the environment", `
    flow: get_user
    connection: {params: {api_key: {env: FLOWTEST_UNSET_VARIABLE}}}
    inputs: {id: u1}`, []string{"environment variable FLOWTEST_UNSET_VARIABLE is not set (the case's connection reads it)"}},
		{"a regex that does not compile", `
    flow: get_user
    inputs: {id: u1}
    error: /(/`, []string{"error: /(/ is not a valid regular expression: error parsing regexp: missing closing ): `(`",
			"request 1 matched no mock: GET https://demo.acme.example/api/v2/users/u1?fields=profile"}},
		{"a caught unmatched request still fails", `
    flow: caught`, []string{"request 1 matched no mock: GET https://demo.acme.example/api/v2/nothing"}},
	}
	files := map[string]string{"flows/caught.yaml": `flowrun: 1
name: caught
type: action
steps:
  - try:
      - http: {path: /nothing}
    catch:
      - log: ignored
`}
	var b strings.Builder
	b.WriteString("flowrun: 1\ntests:\n")
	for _, tt := range tests {
		b.WriteString("  - name: " + tt.name + tt.tc + "\n")
	}
	files["tests/cases.yaml"] = b.String()
	p := writeProject(t, files)
	rep, out := runCase(t, p, Options{})
	if len(rep.Cases) != len(tests) {
		t.Fatalf("%d results for %d cases\n%s", len(rep.Cases), len(tests), out)
	}
	for i, tt := range tests {
		r := rep.Cases[i]
		var got []string
		for _, f := range r.Failures {
			got = append(got, f.Summary)
		}
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("%s: failures\n%s\nwant\n%s\noutput:\n%s", tt.name, strings.Join(got, "\n"), strings.Join(tt.want, "\n"), out)
		}
		if (r.Status == Failed) != (len(tt.want) > 0) {
			t.Errorf("%s: status %s", tt.name, r.Status)
		}
	}
}

func TestRunFilter(t *testing.T) {
	p := writeProject(t, map[string]string{
		"tests/a/users.yaml": "flowrun: 1\ntests:\n  - name: one\n    flow: twice\n    skip: x\n  - name: two\n    flow: twice\n    skip: x\n",
		"tests/b.yaml":       "flowrun: 1\ntests:\n  - name: one\n    flow: twice\n    skip: x\n",
	})
	for re, want := range map[string]int{"^a/users/one$": 1, "one": 2, "^b/": 1, "^tw": 1, "nothing": 0} {
		rep, _ := runCase(t, p, Options{Run: regexp.MustCompile(re)})
		if len(rep.Cases) != want {
			t.Errorf("--run %s: %d cases, want %d", re, len(rep.Cases), want)
		}
	}
}

func TestSummary(t *testing.T) {
	a := &Report{Passed: 2, Failed: 1}
	b := &Report{Passed: 1, Skipped: 2}
	if got := Summary(a); got != "2 passed, 1 failed" {
		t.Errorf("got %q", got)
	}
	if got := Summary(a, b); got != "3 passed, 1 failed, 2 skipped" {
		t.Errorf("got %q", got)
	}
}

func TestDiff(t *testing.T) {
	got := diff("expected", "actual", map[string]any{"a": 1, "b": []any{"x"}}, map[string]any{"a": 2, "b": []any{"x"}})
	want := `--- expected
+++ actual
@@ -1,5 +1,5 @@
 {
-  "a": 1,
+  "a": 2,
   "b": [
     "x"
   ]
`
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestSubset(t *testing.T) {
	cases := []struct {
		want, got any
		ok        bool
	}{
		{map[string]any{"a": int64(1)}, map[string]any{"a": 1.0, "b": 2}, true},
		{map[string]any{"a": nil}, map[string]any{"b": 2}, true},
		{map[string]any{"a": nil}, map[string]any{"a": 2}, false},
		{[]any{map[string]any{"a": 1}}, []any{map[string]any{"a": 1, "b": 1}}, true},
		{[]any{map[string]any{"a": 1}}, []any{map[string]any{"a": 1}, 2}, false},
		{"1", 1, false},
	}
	for _, c := range cases {
		if subset(c.want, c.got) != c.ok {
			t.Errorf("subset(%v, %v) = %v", c.want, c.got, !c.ok)
		}
	}
}
