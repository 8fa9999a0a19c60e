package flowtest

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/load"
)

// suite500 writes a project with 500 cases in 10 files, a mix of what suites
// hold: actions with ordered mocks and JSON bodies, error expectations,
// paginated lists, polls, and webhook deliveries the runner signs.
func suite500(tb testing.TB) string {
	dir := tb.TempDir()
	acme, err := filepath.Abs("../testdata/flowtest/acme")
	if err != nil {
		tb.Fatal(err)
	}
	files := map[string]string{}
	for _, name := range []string{"connector.yaml", "flows/create_user.yaml", "flows/get_user.yaml", "flows/list_users.yaml",
		"flows/new_tickets.yaml", "flows/issue_events.yaml"} {
		b, err := os.ReadFile(filepath.Join(acme, name))
		if err != nil {
			tb.Fatal(err)
		}
		files[name] = string(b)
	}
	const conn = "    connection: {params: {subdomain: demo, api_key: test-key}}\n"
	for f := range 10 {
		var b strings.Builder
		b.WriteString("flowrun: 1\ntests:\n")
		for i := range 50 {
			n := f*50 + i
			switch n % 5 {
			case 0:
				fmt.Fprintf(&b, `  - name: creates user %[1]d
    flow: create_user
%[2]s    inputs: {email: u%[1]d@example.com, groups: [g1, g2]}
    ordered: true
    http:
      - request: {method: POST, path: /api/v2/users, json: {profile: {email: u%[1]d@example.com}}}
        response: {status: 201, json: {id: u%[1]d}}
      - request: {method: PUT, path: /api/v2/groups/g1/users/u%[1]d}
        response: {status: 204}
      - request: {method: PUT, path: /api/v2/groups/g2/users/u%[1]d}
        response: {status: 204}
    outputs: {id: u%[1]d, groups: 2}
`, n, conn)
			case 1:
				fmt.Fprintf(&b, `  - name: missing user %[1]d
    flow: get_user
%[2]s    inputs: {id: x%[1]d}
    http:
      - request: {method: GET, path: /api/v2/users/x%[1]d}
        response: {status: 404}
    error: user x%[1]d does not exist
`, n, conn)
			case 2:
				fmt.Fprintf(&b, `  - name: lists users %[1]d
    flow: list_users
%[2]s    http:
      - request: {method: GET, path: /api/v2/users, query: {after: null}}
        response:
          headers: {Link: '<https://demo.acme.example/api/v2/users?after=a&limit=1>; rel="next"'}
          json: [{profile: {login: a%[1]d@example.com}}]
      - request: {method: GET, path: /api/v2/users, query: {after: a}}
        response: {json: [{profile: {login: b%[1]d@example.com}}]}
    outputs: {logins: [a%[1]d@example.com, b%[1]d@example.com]}
`, n, conn)
			case 3:
				fmt.Fprintf(&b, `  - name: polls %[1]d
    flow: new_tickets
%[2]s    cursor: "2026-01-01T00:00:00Z"
    http:
      - request: {method: GET, path: /api/v2/tickets, query: {since: "2026-01-01T00:00:00Z"}}
        response: {json: {tickets: [{id: t%[1]d, title: T, updated: "2026-01-02T00:00:00Z"}]}}
    events: [{id: t%[1]d, title: T}]
    expect_cursor: "2026-01-02T00:00:00Z"
`, n, conn)
			case 4:
				fmt.Fprintf(&b, `  - name: delivery %[1]d
    flow: issue_events
    inputs: {repo: o/r}
    registration: {id: 1, secret: s3cret}
    secret: s3cret
    request:
      headers: {x-github-event: issues}
      body: {action: opened, issue: {number: %[1]d, title: T}, repository: {full_name: o/r}}
    events: [{action: opened, number: %[1]d, title: T, repo: o/r}]
`, n)
			}
		}
		files[fmt.Sprintf("tests/suite%02d.yaml", f)] = b.String()
	}
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	return dir
}

// BenchmarkSuite500 loads a project with 500 cases and runs them all, as
// `flowrun test` does. The target is under 2 seconds per run.
func BenchmarkSuite500(b *testing.B) {
	dir := suite500(b)
	b.ResetTimer()
	for b.Loop() {
		p, err := load.Project(dir)
		if err != nil {
			b.Fatal(err)
		}
		rep, err := Run(context.Background(), p, Options{Out: io.Discard})
		if err != nil {
			b.Fatal(err)
		}
		if rep.Passed != 500 {
			var out strings.Builder
			for _, c := range rep.Cases {
				if c.Status == Failed {
					writeCase(&out, c, false)
				}
			}
			b.Fatalf("%s\n%s", Summary(rep), out.String())
		}
	}
}

// TestSuite500 runs the benchmark's suite once, so that its cases are known
// to pass.
func TestSuite500(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	p, err := load.Project(suite500(t))
	if err != nil {
		t.Fatal(err)
	}
	rep, out := runCase(t, p, Options{})
	if rep.Passed != 500 {
		t.Fatalf("%s\n%s", Summary(rep), out)
	}
	t.Logf("500 cases: %s (load excluded)", rep.Duration)
}
