package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzInputFlow takes inputs of every type and returns them.
const fuzzInputFlow = `flowrun: 1
name: echo
type: action
inputs:
  s: {type: string, required: true}
  n: {type: integer, default: 1}
  x: number
  b: boolean
  d: datetime
  e: {type: string, enum: [red, green]}
  l: {type: list, items: integer}
  o: {type: object, properties: {k: {type: string, enum: [a, b]}, t: datetime}}
  a: any
  z: {enum: [1, two, [3]]}
outputs:
  s: string
  n: integer
  x: number
  b: boolean
  d: datetime
  e: string
  l: list
  o: object
  a: any
steps:
  - return:
      s: ${ inputs.s }
      n: ${ inputs.n }
      x: ${ inputs.x }
      b: ${ inputs.b }
      d: ${ inputs.d }
      e: ${ inputs.e }
      l: ${ inputs.l }
      o: ${ inputs.o }
      a: ${ inputs.a }
`

// fuzzInternals are signs of Go's inner workings that a user should never
// read on stderr (unless the input itself holds them, echoed back).
var fuzzInternals = []string{"goroutine ", "panic", "runtime error", "%!", "strconv.", "json: ", "interface {}",
	"map[", "[]interface", "0xc0", "reflect", "<nil>", "github.com/", "unsupported value", "Go value"}

// FuzzRunInput runs `flowrun run PROJECT echo --input=FUZZ` (with "@REST",
// REST is written to a file that --input names; "-" reads the input from
// stdin too): the exit code is 0, 1 or 2, stderr shows nothing of Go's
// internals, and a success prints a JSON object.
func FuzzRunInput(f *testing.F) {
	// testdata/fuzz/FuzzRunInput has the inputs that once showed Go's internals
	for _, s := range []string{
		`{"s": "a"}`, `{"s": "a", "n": "3", "x": "1.5", "b": "true"}`, `{"s": 1}`, `{"s": "a", "z": "two"}`,
		`{"s": "a", "n": 9223372036854775808}`, `{"s": "a", "n": 1.5}`, `{"s": "a", "n": 1e3}`,
		`{"s": "a", "d": "2026-13-01T00:00:00Z", "e": "blue"}`, `{"s": "a", "l": [1, "2", null]}`,
		`{"s": "a", "o": {"k": "c", "t": 5, "z": 1}}`, `{"s": "a", "a": {"deep": [[[{"x": -0}]]]}}`,
		`{"s": "\ud800"}`, `{"s": "a", "s": "b"}`, `{"s": "a"} x`, `{"nope": 1}`, `[]`, `"s"`, `null`, ``, "  \n",
		`-`, `@{"s": "from a file"}`, `@`, "{\"s\": \"\xff\"}", `{"s": "a", "b": "yes"}`, `{"s": "a", "e": ["red"]}`,
	} {
		f.Add(s)
	}
	f.Setenv("FLOWRUN_CACHE", "off")
	dir := f.TempDir()
	for name, body := range map[string]string{"connector.yaml": "flowrun: 1\nname: fuzzin\n", "flows/echo.yaml": fuzzInputFlow} {
		p := filepath.Join(dir, "proj", filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			f.Fatal(err)
		}
	}
	proj := filepath.Join(dir, "proj")
	inFile := filepath.Join(dir, "in.json")
	f.Fuzz(func(t *testing.T, in string) {
		arg := in
		if rest, ok := strings.CutPrefix(in, "@"); ok {
			if err := os.WriteFile(inFile, []byte(rest), 0o644); err != nil {
				t.Fatal(err)
			}
			arg = "@" + inFile
		}
		var stdout, stderr bytes.Buffer
		code := Main([]string{"run", proj, "echo", "--input=" + arg}, strings.NewReader(in), &stdout, &stderr)
		if code != exitOK && code != exitFailed && code != exitUsage {
			t.Fatalf("exit code %d\nstderr: %s", code, stderr.String())
		}
		for _, s := range fuzzInternals {
			if strings.Contains(stderr.String(), s) && !strings.Contains(in, s) {
				t.Fatalf("stderr shows %q:\n%s", s, stderr.String())
			}
		}
		if code == exitOK {
			var out map[string]any
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("exit 0 but stdout is not a JSON object (%v):\n%s", err, stdout.String())
			}
		} else if stderr.Len() == 0 {
			t.Fatalf("exit %d with nothing on stderr", code)
		}
	})
}
