package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// flowrunMain runs the CLI in-process and returns its exit code and output.
func flowrunMain(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// checkProject: the project validates without a word and its tests pass.
func checkProject(t *testing.T, dir string) {
	t.Helper()
	if code, out, errs := flowrunMain(t, "validate", dir); code != 0 || out != "" || errs != "" {
		t.Fatalf("flowrun validate %s: exit %d\n%s%s", dir, code, out, errs)
	}
	code, out, errs := flowrunMain(t, "test", dir)
	if code != 0 || !strings.Contains(out, " 0 failed") {
		t.Fatalf("flowrun test %s: exit %d\n%s%s", dir, code, out, errs)
	}
}

// TestInitTemplates: every --auth and --trigger writes a project that
// validates clean and whose tests pass.
func TestInitTemplates(t *testing.T) {
	for _, auth := range []string{"none", "basic", "bearer", "header", "oauth2"} {
		for _, trigger := range []string{"none", "webhook", "poll"} {
			t.Run(auth+"_"+trigger, func(t *testing.T) {
				dir := filepath.Join(t.TempDir(), "acme_"+auth)
				code, out, errs := flowrunMain(t, "init", dir, "--auth", auth, "--trigger", trigger, "--base-url", "https://acme.example/api/v2/")
				if code != 0 {
					t.Fatalf("init: exit %d\n%s%s", code, out, errs)
				}
				for _, f := range []string{"connector.yaml", "flows/authping.yaml", "flows/get_item.yaml", "flows/shape_item.yaml", "tests/acme_" + auth + ".yaml", ".flowrun/flow.schema.json"} {
					if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
						t.Errorf("missing %s", f)
					}
				}
				checkProject(t, dir)
			})
		}
	}
}

func TestInitUsageErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"init", dir}, "not empty"},
		{[]string{"init", dir + "/new", "--auth", "digest"}, "--auth \"digest\": use one of none, basic, bearer, header, oauth2"},
		{[]string{"init", dir + "/new", "--trigger", "cron"}, "--trigger"},
		{[]string{"init", dir + "/new", "--name", "Acme-CRM"}, "is not a connector name"},
		{[]string{"init", dir + "/new", "--base-url", "api.example.com"}, "--base-url"},
		{[]string{"init", dir + "/new", "--operations", "x"}, "--operations selects operations of --from-openapi"},
		{[]string{"init", "--from-openapi", "../../testdata/openapi/petstore.yaml", dir + "/new", "--auth", "basic"}, "--auth is for projects from templates"},
		{[]string{"init", "--from-openapi", "../../testdata/openapi/petstore.yaml", dir + "/new", "--operations", "("}, "--operations"},
		{[]string{"init", "--from-openapi", dir + "/missing.yaml", dir + "/new"}, "cannot read the OpenAPI description"},
		{[]string{"init"}, "accepts 1 arg"},
	} {
		code, _, errs := flowrunMain(t, tc.args...)
		if code != exitUsage || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errs, tc.want)
		}
	}
	if _, err := os.Stat(dir + "/new"); err == nil {
		t.Error("a refused init left a directory behind")
	}
}

// TestInitFromOpenAPISpecs: every real description in testdata/openapi
// generates a project that validates and whose tests pass.
func TestInitFromOpenAPISpecs(t *testing.T) {
	specs, _ := filepath.Glob("../../testdata/openapi/*")
	n := 0
	for _, spec := range specs {
		if strings.HasSuffix(spec, ".md") || strings.Contains(spec, "swagger2") {
			continue
		}
		n++
		t.Run(filepath.Base(spec), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "gen")
			code, out, errs := flowrunMain(t, "init", "--from-openapi", spec, dir)
			if code != 0 {
				t.Fatalf("init: exit %d\n%s%s", code, out, errs)
			}
			checkProject(t, dir)
		})
	}
	if n < 4 {
		t.Fatalf("only %d descriptions in testdata/openapi", n)
	}
}

func TestInitFromSwagger2IsRefused(t *testing.T) {
	code, _, errs := flowrunMain(t, "init", "--from-openapi", "../../testdata/openapi/swagger2-petstore.yaml", filepath.Join(t.TempDir(), "x"))
	if code != exitFailed || !strings.Contains(errs, "swagger2-petstore.yaml: is Swagger 2.0") || !strings.Contains(errs, "convert it to OpenAPI 3") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
}

// TestInitGeneratedFlowsAgainstFakeService runs generated flows against a
// local service shaped like the description: path, query, header and body
// inputs reach the wire, and the auth header is sent.
func TestInitGeneratedFlowsAgainstFakeService(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" token="+r.Header.Get("X-Api-Token")+" rid="+r.Header.Get("X-Request-Id")+" body="+string(body))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.Method == "GET" && r.URL.Path == "/api/v2/tickets":
			w.Header().Set("Link", `<http://x/api/v2/tickets?after=t2>; rel="next"`)
			_, _ = w.Write([]byte(`{"data": [{"id": 1, "subject": "a", "status": "open"}], "next_cursor": "t2"}`))
		case r.Method == "POST" && r.URL.Path == "/api/v2/tickets":
			w.WriteHeader(201)
			_, _ = w.Write(body)
		case r.Method == "GET" && r.URL.Path == "/api/v2/tickets/42":
			_, _ = w.Write([]byte(`{"id": 42, "subject": "Printer on fire", "status": "open"}`))
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error": "not found"}`))
		}
	}))
	defer srv.Close()

	dir := filepath.Join(t.TempDir(), "acme")
	if code, out, errs := flowrunMain(t, "init", "--from-openapi", "../../testdata/openapi/edge-3.1.yaml", dir); code != 0 {
		t.Fatalf("init: exit %d\n%s%s", code, out, errs)
	}
	conn := filepath.Join(t.TempDir(), "conn.yaml")
	if err := os.WriteFile(conn, []byte("params:\n  base_url: "+srv.URL+"/api/v2\n  api_token: k-123\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(flow, input string) map[string]any {
		t.Helper()
		code, out, errs := flowrunMain(t, "run", dir, flow, "--connection", conn, "--input", input)
		if code != 0 {
			t.Fatalf("run %s: exit %d\n%s%s", flow, code, out, errs)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("run %s: %v\n%s", flow, err, out)
		}
		return v
	}
	v := run("list_tickets", `{"limit": 2, "status": "open", "x_request_id": "r1"}`)
	if v["status"] != 200.0 {
		t.Errorf("list_tickets status %v", v["status"])
	}
	if h, _ := v["headers"].(map[string]any); h == nil || !strings.Contains(h["link"].(string), "after=t2") {
		t.Errorf("list_tickets headers %v", v["headers"])
	}
	v = run("create_ticket", `{"body": {"subject": "Printer on fire", "tags": ["hw"]}}`)
	if b, _ := v["body"].(map[string]any); v["status"] != 201.0 || b["subject"] != "Printer on fire" || b["priority"] != "normal" {
		t.Errorf("create_ticket: %v", v)
	}
	v = run("get_tickets_by_ticket_id", `{"ticket_id": 42}`)
	if b, _ := v["body"].(map[string]any); b["id"] != 42.0 {
		t.Errorf("get ticket: %v", v)
	}
	// authping guessed GET /me, which this service does not have: not working
	code, out, errs := flowrunMain(t, "connection", "test", dir, "--connection", conn)
	if code != exitFailed || !strings.Contains(out+errs, "GET /me answered 404") {
		t.Errorf("connection test: exit %d\n%s%s", code, out, errs)
	}
	want := []string{
		"GET /api/v2/tickets?limit=2&status=open token=k-123 rid=r1 body=",
		`POST /api/v2/tickets token=k-123 rid= body={"priority":"normal","subject":"Printer on fire","tags":["hw"]}`,
		"GET /api/v2/tickets/42 token=k-123 rid= body=",
		"GET /api/v2/me token=k-123 rid= body=",
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Errorf("the service saw:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
