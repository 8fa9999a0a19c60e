package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pmezard/go-difflib/difflib"
	"github.com/rogpeppe/go-internal/testscript"
)

// TestFlowtestScripts runs the golden scripts of `flowrun test` in
// testdata/flowtest/script with the flowrun command that TestMain (in
// script_test.go) registers. Durations vary from run to run, so the scripts
// compare output with `cmptimes`, which blanks them first.
func TestFlowtestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "../../testdata/flowtest/script",
		RequireExplicitExec: true,
		RequireUniqueNames:  true,
		Setup: func(e *testscript.Env) error {
			e.Setenv(exitFileEnv, e.WorkDir+".exit")
			e.Setenv("FLOWRUN_CACHE", e.WorkDir+".cache")
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"exitcode":    cmdExitcode,
			"cmptimes":    cmdCmptimes,
			"driftserver": cmdDriftserver,
		},
	})
}

// durationRe matches what varies between runs: the duration at the end of a
// case line, and the time and timestamp attributes of a JUnit report.
var durationRe = []struct {
	re   *regexp.Regexp
	repl string
}{
	{regexp.MustCompile(`(?m)^((?:ok  |FAIL) .*) \([0-9][0-9.]*(?:ns|µs|ms|s|m)+(?:[0-9.]+(?:ms|s))?\)$`), "$1 (TIME)"},
	{regexp.MustCompile(` time="[0-9.]+"`), ` time="T"`},
	{regexp.MustCompile(` timestamp="[0-9T:-]+"`), ` timestamp="TS"`},
	{regexp.MustCompile(`http://127\.0\.0\.1:[0-9]+`), `$$LIVE_URL`},
	// a --trace line: "flow step (kind) 12.5µs ..."
	{regexp.MustCompile(`(?m)(\([a-z_]+\)) [0-9][0-9.]*(?:ns|µs|ms|s)`), "$1 DUR"},
}

// driftserver [drifted|steady]: start the service of verify_live_test.go
// (drifted by default) on a local port for the rest of the script, with its
// URL in $LIVE_URL.
func cmdDriftserver(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) > 1 {
		ts.Fatalf("usage: driftserver [drifted|steady]")
	}
	srv := httptest.NewServer(driftHandler(len(args) == 0 || args[0] != "steady", nil))
	ts.Defer(srv.Close)
	ts.Setenv("LIVE_URL", srv.URL)
}

func blankTimes(s string) string {
	for _, d := range durationRe {
		s = d.re.ReplaceAllString(s, d.repl)
	}
	return s
}

// cmptimes (stdout|stderr|FILE) WANT: like cmp, after blanking durations
// and JUnit times in the actual text.
func cmdCmptimes(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: cmptimes stdout|stderr|FILE WANT")
	}
	var got string
	switch args[0] {
	case "stdout":
		got = ts.ReadFile("stdout")
	case "stderr":
		got = ts.ReadFile("stderr")
	default:
		got = ts.ReadFile(args[0])
	}
	got = blankTimes(got)
	want := ts.ReadFile(args[1])
	if got == want {
		return
	}
	d, _ := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{A: difflib.SplitLines(want), B: difflib.SplitLines(got),
		FromFile: args[1], ToFile: args[0], Context: 3})
	ts.Logf("%s", d)
	ts.Fatalf("%s and %s differ", args[0], args[1])
}

func TestBlankTimes(t *testing.T) {
	in := "ok   tests/a.yaml: x (57µs)\nFAIL tests/a.yaml: y (1.2ms)\nok   tests/a.yaml: z (1m2.5s)\nskip tests/a.yaml: w (1 reason)\n"
	want := "ok   tests/a.yaml: x (TIME)\nFAIL tests/a.yaml: y (TIME)\nok   tests/a.yaml: z (TIME)\nskip tests/a.yaml: w (1 reason)\n"
	if got := blankTimes(in); got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// runCLI runs flowrun in-process (in the working directory the test chose with t.Chdir).
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(args, strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

func TestTestCommandExitCodes(t *testing.T) {
	acme, err := filepath.Abs("../../testdata/flowtest/acme")
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(acme)
	code, out, errOut := runCLI(t, "test")
	if code != 0 || !strings.HasSuffix(out, "20 passed, 0 failed, 1 skipped\n") || errOut != "" {
		t.Fatalf("flowrun test: exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "ok   tests/users.yaml: creates a user (") {
		t.Errorf("paths are not relative to the project:\n%s", out)
	}

	// --run selects by name or by file/name
	code, out, _ = runCLI(t, "test", "--run", "^tickets/")
	if code != 0 || !strings.HasSuffix(out, "2 passed, 0 failed\n") {
		t.Fatalf("--run ^tickets/: exit %d\n%s", code, out)
	}

	// usage errors exit 2
	for _, args := range [][]string{
		{"test", "--run", "("},
		{"test", "--record"},
		{"test", "--connection", "x.yaml"},
		{"test", "no/such/project"},
	} {
		if code, _, errOut := runCLI(t, args...); code != 2 || errOut == "" {
			t.Errorf("flowrun %s: exit %d, stderr %q; want 2 and a message", strings.Join(args, " "), code, errOut)
		}
	}
}

// TestTestCommandRecord records a case against an httptest server acting as
// the live service and checks that the case then passes offline.
func TestTestCommandRecord(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer live-token-123" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Set-Cookie", "session=abcdef; HttpOnly")
		w.Write([]byte(`{"id":"42","name":"Ada"}`))
	}))
	defer srv.Close()
	dir := t.TempDir()
	files := map[string]string{
		"connector.yaml": `flowrun: 1
name: live
base_url: ${ connection.base_url }
connection:
  params:
    base_url: {type: string, required: true}
    token: {type: string, required: true, secret: true}
  auth:
    type: bearer
    bearer: {token: "${ connection.token }"}
`,
		"flows/get.yaml": `flowrun: 1
name: get
type: action
outputs: {name: string}
steps:
  - id: r
    http: {path: /things/42}
  - return:
      name: ${ steps.r.body.name }
`,
		"tests/get.yaml": `flowrun: 1
tests:
  - name: gets a thing
    flow: get
    connection: {params: {base_url: "https://svc.example", token: test-token}}
    outputs: {name: Ada}
`,
		"live.yaml": "params:\n  base_url: " + srv.URL + "\n  token: live-token-123\n",
	}
	for name, content := range files {
		p := filepath.Join(dir, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Chdir(dir)
	code, out, errOut := runCLI(t, "test", "--record", "--connection", "live.yaml")
	if code != 0 {
		t.Fatalf("record: exit %d\n%s\n%s", code, out, errOut)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "tests/get.yaml"))
	t.Logf("flowrun test --record:\n%s\ntests/get.yaml:\n%s", out, data)
	if strings.Contains(string(data), "live-token-123") || strings.Contains(string(data), "abcdef") {
		t.Fatalf("the recording holds a secret:\n%s", data)
	}
	code, out, errOut = runCLI(t, "test")
	if code != 0 || !strings.HasSuffix(out, "1 passed, 0 failed\n") {
		t.Fatalf("offline after recording: exit %d\n%s\n%s\n%s", code, out, errOut, data)
	}
}
