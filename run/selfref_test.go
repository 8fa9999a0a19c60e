package run

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/connection"
)

// TestSelfReferenceTrace: a variable that holds the variables themselves
// (`${ [vars] }`) makes a value that contains itself. Traces, redaction,
// outputs and the memory budget must not recurse forever on it (a stack
// overflow kills the process; no recover catches it).
func TestSelfReferenceTrace(t *testing.T) {
	for name, body := range map[string]string{
		"list":   "  - set: {me: \"${ [vars] }\"}\n  - set: {again: \"${ vars }\"}\n  - return: {n: 1}\n",
		"object": "  - set: {me: \"${ {v: vars} }\"}\n  - log: \"${ vars }\"\n  - return: {n: 1}\n",
		"return": "  - set: {me: \"${ [vars] }\"}\n  - return: {n: \"${ len(vars) }\", all: \"${ vars }\"}\n",
	} {
		t.Run(name, func(t *testing.T) {
			p := loadProject(t, mainFlow("outputs: {n: integer, all: any}\nsteps:\n"+body))
			r, _ := newTestRunner(p, nil)
			conn := &connection.Connection{Params: map[string]any{}}
			conn.AddSecret("hunter2")
			var lines []string
			r.Trace = func(ev TraceEvent) {
				ev = RedactEvent(conn, ev)
				b, err := json.Marshal(ev)
				if err != nil {
					lines = append(lines, "marshal: "+err.Error())
					return
				}
				lines = append(lines, string(b))
			}
			out, err := r.Run(context.Background(), "main", nil)
			t.Logf("out %v err %v", out != nil, err)
			if err == nil {
				if _, err := json.Marshal(conn.RedactValue(out)); err != nil && !strings.Contains(err.Error(), "cycle") {
					t.Errorf("outputs: %v", err)
				}
			}
			if len(lines) == 0 {
				t.Error("no trace")
			}
		})
	}
}

// TestRedactDeep: redaction of a deeply nested value ends, and keeps the
// secrets out at every level it shows.
func TestRedactDeep(t *testing.T) {
	conn := &connection.Connection{Params: map[string]any{}}
	conn.AddSecret("hunter2")
	var v any = "hunter2"
	for range 200_000 {
		v = []any{v}
	}
	out := conn.RedactValue(v)
	b, _ := json.Marshal(out)
	if strings.Contains(string(b), "hunter2") {
		t.Error("a secret survived")
	}
	m := map[string]any{"secret": "hunter2"}
	m["self"] = m
	b, err := json.Marshal(conn.RedactValue(m))
	if err != nil || strings.Contains(string(b), "hunter2") {
		t.Errorf("cyclic: %v %.200s", err, b)
	}
}

// TestSelfReferenceIsASnapshot: `${ vars }` stored in a variable is the
// variables as they were, and a value nested past the depth limit is
// refused rather than grown until something overflows.
func TestSelfReferenceIsASnapshot(t *testing.T) {
	runCases(t, []runCase{
		{name: "snapshot", files: mainFlow(`
outputs: {all: any}
steps:
  - set: {a: 1}
  - set: {me: "${ [vars] }"}
  - set: {b: 2}
  - return: {all: "${ vars }"}
`), want: `{"all":{"a":1,"b":2,"me":[{"a":1}]}}`},
		{name: "steps too", files: mainFlow(`
outputs: {all: any}
steps:
  - id: first
    set: {a: 1}
  - id: second
    set: {s: "${ steps }"}
  - return: {all: "${ steps }"}
`), want: `{"all":{"first":{"a":1},"second":{"s":{"first":{"a":1}}}}}`},
		{name: "too deep", files: mainFlow(`
steps:
  - set: {x: []}
  - for_each: ${ 1..20000 }
    steps:
      - set: {x: "${ [vars.x] }"}
`), err: []string{`step "set"`, "a value nested deeper than 10000 levels (limit)"}},
	})
}
