package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// runMain runs flowrun with args and stdin and returns the exit code and
// the output streams.
func runMain(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// writeProject writes a project under dir/proj (files: relative path ->
// content; "flowrun: 1" is prepended) and changes into dir, so paths in
// messages are relative and stable.
func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	t.Chdir(dir)
	for name, content := range files {
		p := filepath.Join(dir, "proj", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(content, "flowrun:") && strings.HasSuffix(name, ".yaml") {
			content = "flowrun: 1\n" + content
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const cliConnector = `name: demo
base_url: ${ connection.base_url }
connection:
  params:
    base_url: {type: string, default: "http://127.0.0.1:1"}
    api_key: {type: string, secret: true}
  auth:
    type: header
    header: {name: Authorization, value: "SSWS ${ connection.api_key }"}
`

var cliFlows = map[string]string{
	"connector.yaml": cliConnector,
	"flows/greet.yaml": `name: greet
type: action
inputs:
  name: {type: string, required: true}
  times: {type: integer, default: 1}
outputs:
  text: string
  n: integer
steps:
  - log: greeting ${ inputs.name }
  - id: parts
    for_each: ${ 1..inputs.times }
    collect: ${ "hi " + inputs.name }
    steps: []
  - return:
      text: ${ join(steps.parts, ", ") }
      n: ${ len(steps.parts) }
`,
	"flows/check.yaml": `name: check
type: helper
inputs:
  n: integer
steps:
  - if: ${ inputs.n > 2 }
    then:
      - id: too_big
        fail: "n is too big: ${ inputs.n } & more"
`,
	"flows/outer.yaml": `name: outer
type: action
inputs:
  n: integer
steps:
  - id: validate
    call: check
    with:
      n: ${ inputs.n }
`,
	"flows/slow.yaml": `name: slow
type: action
steps:
  - wait: 1h
`,
	"flows/fetch.yaml": `name: fetch
type: action
outputs:
  body: any
steps:
  - id: get
    http:
      path: /echo
      query:
        key: ${ connection.api_key }
  - log: fetched ${ toJSON(steps.get.body) } with ${ connection.api_key }
  - call: check
    with:
      n: 1
  - http:
      path: /fail
`,
}

func TestRunOutputs(t *testing.T) {
	writeProject(t, cliFlows)
	code, out, errs := runMain(t, "", "run", "proj", "greet", "--input", `{"name": "Ada & co", "times": 2}`)
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	want := "{\n  \"n\": 2,\n  \"text\": \"hi Ada & co, hi Ada & co\"\n}\n"
	if out != want {
		t.Errorf("stdout\n%s\nwant\n%s", out, want)
	}
	t.Run("command-line strings convert to declared types", func(t *testing.T) {
		code, out, errs := runMain(t, "", "run", "proj", "greet", "--input", `{"name": "x", "times": "3"}`)
		if code != 0 || !strings.Contains(out, `"n": 3`) {
			t.Errorf("exit %d\n%s%s", code, out, errs)
		}
	})
	t.Run("--input @file", func(t *testing.T) {
		if err := os.WriteFile("in.json", []byte(`{"name": "file"}`), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out, errs := runMain(t, "", "run", "proj", "greet", "--input", "@in.json")
		if code != 0 || !strings.Contains(out, `"text": "hi file"`) {
			t.Errorf("exit %d\n%s%s", code, out, errs)
		}
	})
	t.Run("--input -", func(t *testing.T) {
		code, out, errs := runMain(t, `{"name": "stdin"}`, "run", "proj", "greet", "-i", "-")
		if code != 0 || !strings.Contains(out, `"text": "hi stdin"`) {
			t.Errorf("exit %d\n%s%s", code, out, errs)
		}
	})
}

func TestRunFailure(t *testing.T) {
	writeProject(t, cliFlows)
	code, out, errs := runMain(t, "", "run", "proj", "outer", "--input", `{"n": 5}`)
	want := `proj/flows/check.yaml:9:9: flow "check", step "too_big": n is too big: 5 & more
	called from proj/flows/outer.yaml:7:5: flow "outer", step "validate"
`
	if code != 1 || out != "" || errs != want {
		t.Errorf("exit %d, stdout %q, stderr\n%s\nwant\n%s", code, out, errs, want)
	}
}

func TestRunUsageErrors(t *testing.T) {
	files := map[string]string{}
	for k, v := range cliFlows {
		files[k] = v
	}
	files["../broken/connector.yaml"] = "name: broken\n"
	files["../broken/flows/bad.yaml"] = "name: bad\ntype: action\nsteps:\n  - set: {x: ${ nope }}\n"
	writeProject(t, files)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown flow", []string{"run", "proj", "greeet"}, `flowrun: project proj has no flow "greeet" (did you mean "greet"?)`},
		{"bad JSON", []string{"run", "proj", "greet", "--input", `{"name":`}, "flowrun: inputs from --input are not valid JSON"},
		{"not an object", []string{"run", "proj", "greet", "--input", `[1]`}, "flowrun: inputs from --input must be a JSON object"},
		{"missing file", []string{"run", "proj", "greet", "--input", "@nope.json"}, "flowrun: reading inputs:"},
		{"missing required input", []string{"run", "proj", "greet"}, `flowrun: flow "greet": input "name": is required`},
		{"wrong input type", []string{"run", "proj", "greet", "--input", `{"name": "x", "times": "many"}`}, `input "times": expected integer, got string`},
		{"undeclared input", []string{"run", "proj", "greet", "--input", `{"nmae": "x"}`}, `input "nmae" is not declared (did you mean "name"?)`},
		{"wrong argument count", []string{"run", "proj"}, "accepts 2 arg(s), received 1"},
		{"bad flag", []string{"run", "proj", "greet", "--timeout", "soon"}, `invalid argument "soon" for "--timeout"`},
		{"load errors", []string{"run", "broken", "bad"}, "broken/flows/bad.yaml:"},
		{"no project", []string{"run", "nowhere", "x"}, "nowhere"},
		{"missing connection file", []string{"run", "proj", "greet", "--connection", "nope.yaml"}, "connection:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, out, errs := runMain(t, "", c.args...)
			if code != 2 || out != "" || !strings.Contains(errs, c.want) {
				t.Errorf("exit %d, stdout %q, stderr:\n%s\nwant it to contain %q", code, out, errs, c.want)
			}
		})
	}
}

func TestRunTimeout(t *testing.T) {
	writeProject(t, cliFlows)
	code, out, errs := runMain(t, "", "run", "proj", "slow", "--timeout", "50ms")
	if code != 1 || out != "" || !strings.Contains(errs, `proj/flows/slow.yaml:5:5: flow "slow", step "wait": run canceled: timed out`) {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
	}
}

func TestRunTrace(t *testing.T) {
	writeProject(t, cliFlows)
	code, out, errs := runMain(t, "", "run", "proj", "greet", "--input", `{"name": "Ada"}`, "--trace", "--trace-json", "trace.jsonl")
	if code != 0 || !strings.Contains(out, "hi Ada") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSpace(errs), "\n")
	wantPrefixes := []string{"greet log (log) ", "greet parts (for_each) ", "greet return (return) "}
	if len(lines) != len(wantPrefixes) {
		t.Fatalf("trace lines:\n%s", errs)
	}
	for i, p := range wantPrefixes {
		if !strings.HasPrefix(lines[i], p) {
			t.Errorf("line %d %q, want prefix %q", i, lines[i], p)
		}
	}
	if !strings.HasSuffix(lines[0], ": greeting Ada") {
		t.Errorf("log line %q", lines[0])
	}
	f, err := os.Open("trace.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	if st.Mode().Perm() != 0o600 {
		t.Errorf("trace file mode %v", st.Mode().Perm())
	}
	var events []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var ev map[string]any
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatalf("not JSON: %s", sc.Text())
		}
		events = append(events, ev)
	}
	if len(events) != 3 || events[1]["kind"] != "for_each" || events[2]["pos"] != "proj/flows/greet.yaml:16:5" {
		t.Fatalf("events %v", events)
	}
	if o, _ := json.Marshal(events[2]["output"]); string(o) != `{"n":1,"text":"hi Ada"}` {
		t.Errorf("return output %s", o)
	}
	if events[0]["run_id"] == "" || events[0]["run_id"] != events[2]["run_id"] {
		t.Errorf("run ids %v %v", events[0]["run_id"], events[2]["run_id"])
	}
}

// TestRunNeverPrintsSecrets greps stdout, stderr (--trace and the error)
// and the --trace-json file for the secret parameter, in the forms it may
// take, and for the Authorization header value, while a server echoes the
// credentials back in its answers.
func TestRunNeverPrintsSecrets(t *testing.T) {
	const secret = "Zx9-secret/value+1"
	var authSeen string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		authSeen = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Echo", authSeen)
		if r.URL.Path == "/fail" {
			w.WriteHeader(401)
		}
		b, _ := json.Marshal(map[string]any{"auth": authSeen, "url": r.URL.String()})
		_, _ = w.Write(b)
	}))
	defer srv.Close()
	dir := writeProject(t, cliFlows)
	t.Setenv("DEMO_KEY", secret)
	conn := "params:\n  base_url: " + srv.URL + "\n  api_key: {env: DEMO_KEY}\n"
	if err := os.WriteFile(filepath.Join(dir, "conn.yaml"), []byte(conn), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs := runMain(t, "", "run", "proj", "fetch", "--connection", "conn.yaml", "--trace", "--trace-json", "t.jsonl")
	if code != 1 || !strings.Contains(errs, "401 Unauthorized") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if authSeen != "SSWS "+secret {
		t.Fatalf("the server saw %q", authSeen)
	}
	tj, err := os.ReadFile("t.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	all := out + errs + string(tj)
	if !strings.Contains(all, "***") {
		t.Errorf("nothing was redacted:\n%s", all)
	}
	for _, needle := range []string{secret, authSeen, "Zx9-secret%2Fvalue%2B1", "Zx9-secret\\/value"} {
		if strings.Contains(all, needle) {
			t.Errorf("%q appears in the output:\n%s", needle, all)
		}
	}
	if strings.Count(string(tj), "\n") < 5 {
		t.Errorf("short trace:\n%s", tj)
	}
}

// TestExampleConnector runs the example connector the way its README says,
// checks the README's output, and runs its HTTP flows against a local
// server answering like Okta's /api/v1/users.
func TestExampleConnector(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	example := filepath.Join(root, "connectors", "example")
	readme, err := os.ReadFile(filepath.Join(example, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("README command and output", func(t *testing.T) {
		text := string(readme)
		_, after, ok := strings.Cut(text, "summarize --input '")
		input, _, ok2 := strings.Cut(after, "'")
		_, jsonBlock, ok3 := strings.Cut(text, "```json\n")
		want, _, ok4 := strings.Cut(jsonBlock, "```")
		if !ok || !ok2 || !ok3 || !ok4 {
			t.Fatal("README lost its command or its output block")
		}
		code, out, errs := runMain(t, "", "run", example, "summarize", "--input", input)
		if code != 0 || out != want {
			t.Errorf("exit %d, stderr %s\nstdout\n%s\nREADME says\n%s", code, errs, out, want)
		}
	})
	users, err := os.ReadFile("../../testdata/realdata/okta-users-list-response.json")
	if err != nil {
		t.Fatal(err)
	}
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "SSWS example-key-42" {
			w.WriteHeader(401)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch {
		case r.URL.Path == "/api/v1/users" && r.Method == "GET":
			if r.URL.Query().Get("after") == "" {
				w.Header().Set("Link", `<`+srv.URL+`/api/v1/users?after=p2&limit=1>; rel="next"`)
			}
			_, _ = w.Write(users)
		case r.URL.Path == "/api/v1/users" && r.Method == "POST":
			var body struct{ Profile map[string]string }
			_ = json.NewDecoder(r.Body).Decode(&body)
			if body.Profile["login"] == "taken@example.com" {
				w.WriteHeader(400)
				_, _ = w.Write([]byte(`{"errorCode": "E0000001", "errorSummary": "login: An object with this field already exists"}`))
				return
			}
			_, _ = w.Write([]byte(`{"id": "00unew", "status": "ACTIVE"}`))
		case r.URL.Path == "/api/v1/users/me":
			_, _ = w.Write([]byte(`{"id": "00ume", "profile": {"login": "admin@example.com"}}`))
		case r.URL.Path == "/api/v1/users/00u1":
			_, _ = w.Write([]byte(`{"id": "00u1", "status": "ACTIVE"}`))
		default:
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"errorCode": "E0000007"}`))
		}
	}))
	defer srv.Close()
	dir := t.TempDir()
	conn := filepath.Join(dir, "conn.yaml")
	if err := os.WriteFile(conn, []byte("params:\n  base_url: "+srv.URL+"\n  api_key: {env: EXAMPLE_API_KEY}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EXAMPLE_API_KEY", "example-key-42")
	cases := []struct {
		flow, input string
		code        int
		want        string // a substring of stdout (code 0) or stderr
	}{
		{"list_users", `{"page_size": 1}`, 0, `"pages": 2`},
		{"list_users", `{"status": "ACTIVE"}`, 0, `"login": "alice.smith@example.com"`},
		{"get_user", `{"id": "00u1"}`, 0, `"found": true`},
		{"get_user", `{"id": "nobody"}`, 0, `"found": false`},
		{"create_user", `{"email": "new@example.com"}`, 0, `"id": "00unew"`},
		{"create_user", `{"email": "taken@example.com"}`, 1, `step "fail": cannot create taken@example.com: login: An object with this field already exists`},
		{"authping", ``, 0, `"label": "admin@example.com"`},
	}
	for _, c := range cases {
		t.Run(c.flow, func(t *testing.T) {
			args := []string{"run", example, c.flow, "--connection", conn}
			if c.input != "" {
				args = append(args, "--input", c.input)
			}
			code, out, errs := runMain(t, "", args...)
			if code != c.code || !strings.Contains(out+errs, c.want) {
				t.Errorf("exit %d\nstdout %s\nstderr %s\nwant %q", code, out, errs, c.want)
			}
			if strings.Contains(out+errs, "example-key-42") {
				t.Errorf("the key leaked")
			}
		})
	}
}

// interruptAt is a writer that sends the process SIGINT when a line
// containing its marker is written, as Ctrl-C would.
type interruptAt struct {
	marker string
	buf    bytes.Buffer
	sent   bool
}

func (w *interruptAt) Write(p []byte) (int, error) {
	w.buf.Write(p)
	if !w.sent && strings.Contains(w.buf.String(), w.marker) {
		w.sent = true
		_ = syscall.Kill(os.Getpid(), syscall.SIGINT)
	}
	return len(p), nil
}

func TestRunInterrupted(t *testing.T) {
	writeProject(t, map[string]string{
		"connector.yaml":  cliConnector,
		"flows/long.yaml": "name: long\ntype: action\nsteps:\n  - log: started\n  - wait: 1h\n",
	})
	w := &interruptAt{marker: "started"}
	var out bytes.Buffer
	done := make(chan int)
	go func() { done <- Main([]string{"run", "proj", "long", "--trace"}, strings.NewReader(""), &out, w) }()
	select {
	case code := <-done:
		if code != 130 || !strings.Contains(w.buf.String(), `proj/flows/long.yaml:6:5: flow "long", step "wait": run canceled`) {
			t.Errorf("exit %d, stderr:\n%s", code, w.buf.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl-C did not stop the run")
	}
}
