package run

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/load/loadtest"
	"github.com/flowrun/flowrun/value"
)

// defaultConnector is the connector.yaml loadProject writes when the files
// give none: a base URL taken from a connection parameter, no auth.
const defaultConnector = `flowrun: 1
name: test
base_url: ${ connection.base_url }
connection:
  params:
    base_url: {type: string, default: "http://127.0.0.1:1"}
`

// loadProject writes files (path -> content, relative to the project) into a
// temporary directory and loads it. A file that does not start with
// "flowrun:" gets "flowrun: 1" prepended; connector.yaml defaults to
// defaultConnector.
func loadProject(t testing.TB, files map[string]string) *lang.Project {
	t.Helper()
	dir := t.TempDir()
	if _, ok := files["connector.yaml"]; !ok {
		files["connector.yaml"] = defaultConnector
	}
	for name, content := range files {
		if !strings.HasPrefix(content, "flowrun:") {
			files[name] = "flowrun: 1\n" + content
		}
	}
	loadtest.Write(t, dir, files)
	p, err := load.Project(dir)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return p
}

// sleeps records the waits of a Runner whose Sleep does not sleep.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	if ctx.Err() != nil {
		return ErrCanceled
	}
	return nil
}

func (s *sleeps) list() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newTestRunner returns a runner for p whose connection has the given params
// and whose Sleep records waits instead of sleeping.
func newTestRunner(p *lang.Project, params map[string]any) (*Runner, *sleeps) {
	if params == nil {
		params = map[string]any{}
	}
	sl := &sleeps{}
	r := &Runner{Project: p, Connection: &connection.Connection{Params: params}, Sleep: sl.sleep}
	return r, sl
}

// toJSON renders a value canonically (sorted keys) for comparisons.
func toJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := value.MarshalJSON(v)
	if err != nil {
		t.Fatalf("marshal %#v: %v", v, err)
	}
	return string(b)
}

// runCase is one flow run: the project's flows, the flow to run with its
// inputs, and either the outputs (as JSON) or substrings of the error.
type runCase struct {
	name   string
	files  map[string]string
	flow   string // default: the only flow, or "main"
	inputs map[string]any
	cli    bool // inputs as from the command line
	want   string
	err    []string
	limits Limits
}

func (c runCase) run(t *testing.T) (map[string]any, error, *sleeps) {
	t.Helper()
	files := map[string]string{}
	for k, v := range c.files {
		files[k] = v
	}
	p := loadProject(t, files)
	r, sl := newTestRunner(p, nil)
	r.Limits = c.limits
	flow := c.flow
	if flow == "" {
		flow = "main"
	}
	var out map[string]any
	var err error
	if c.cli {
		out, err = r.Run(context.Background(), flow, lang.TextInputs(r.Project.Flow(flow).Inputs, c.inputs))
	} else {
		out, err = r.Run(context.Background(), flow, c.inputs)
	}
	return out, err, sl
}

func runCases(t *testing.T, cases []runCase) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err, _ := c.run(t)
			checkRun(t, out, err, c.want, c.err)
		})
	}
}

func checkRun(t *testing.T, out map[string]any, err error, want string, wantErr []string) {
	t.Helper()
	if len(wantErr) > 0 {
		if err == nil {
			t.Fatalf("no error; outputs %s", toJSON(t, out))
		}
		for _, w := range wantErr {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("error %q\ndoes not contain %q", err.Error(), w)
			}
		}
		return
	}
	if err != nil {
		t.Fatalf("error: %v", err)
	}
	if got := toJSON(t, out); got != want {
		t.Errorf("outputs\n got %s\nwant %s", got, want)
	}
}

// main returns a project whose flows/main.yaml is an action flow with the
// given inputs/outputs/steps YAML (each a block at top level).
func mainFlow(body string) map[string]string {
	return map[string]string{"flows/main.yaml": "name: main\ntype: action\n" + strings.TrimLeft(body, "\n")}
}

func TestSet(t *testing.T) {
	runCases(t, []runCase{
		{name: "values in order, later see earlier", files: mainFlow(`
outputs: {a: integer, b: integer, c: string, l: list, o: object}
steps:
  - set:
      a: 1
      b: ${ vars.a + 1 }
      c: "x"
      l: [1, "${ vars.a }", {k: v}]
      o:
        n: ${ vars.a }
        deep: {z: true}
  - return:
      a: ${ vars.a }
      b: ${ vars.b }
      c: ${ vars.c }
      l: ${ vars.l }
      o: ${ vars.o }
`), want: `{"a":1,"b":2,"c":"x","l":[1,1,{"k":"v"}],"o":{"deep":{"z":true},"n":1}}`},
		{name: "overwrite and step result", files: mainFlow(`
outputs: {r: any}
steps:
  - set: {x: 1}
  - id: s
    set:
      x: ${ vars.x * 10 }
      y: done
  - return:
      r: ${ steps.s }
`), want: `{"r":{"x":10,"y":"done"}}`},
	})
}

func TestIfElse(t *testing.T) {
	flow := mainFlow(`
inputs: {n: {type: integer}}
outputs: {r: string}
steps:
  - if: ${ inputs.n > 10 }
    then:
      - return: {r: big}
    else:
      - if: ${ inputs.n > 0 }
        then:
          - set: {r: small}
        else:
          - set: {r: none}
  - return:
      r: ${ vars.r }
`)
	runCases(t, []runCase{
		{name: "then", files: flow, inputs: map[string]any{"n": 11}, want: `{"r":"big"}`},
		{name: "nested then", files: flow, inputs: map[string]any{"n": 3}, want: `{"r":"small"}`},
		{name: "else", files: flow, inputs: map[string]any{"n": 0}, want: `{"r":"none"}`},
		{name: "null is false", files: mainFlow(`
inputs: {x: any}
outputs: {r: string}
steps:
  - if: ${ inputs.x }
    then: [{return: {r: yes}}]
  - return: {r: no}
`), want: `{"r":"no"}`},
		{name: "non-boolean condition", files: mainFlow(`
inputs: {x: any}
steps:
  - if: ${ inputs.x }
    then: [{log: hi}]
`), inputs: map[string]any{"x": "yes"}, err: []string{`flows/main.yaml:6:5: flow "main", step "if": condition must be true or false, got string`}},
	})
}

func TestSwitch(t *testing.T) {
	flow := mainFlow(`
inputs: {kind: string}
outputs: {r: string}
steps:
  - set: {r: unset}
  - switch:
      - when: ${ inputs.kind == "a" }
        steps:
          - set: {r: first}
      - when: ${ inputs.kind == "a" || inputs.kind == "b" }
        steps:
          - set: {r: second}
      - default:
          - set: {r: default}
  - return:
      r: ${ vars.r }
`)
	noDefault := mainFlow(`
inputs: {kind: string}
outputs: {r: string}
steps:
  - set: {r: unset}
  - switch:
      - when: ${ inputs.kind == "a" }
        steps:
          - return: {r: returned}
  - return:
      r: ${ vars.r }
`)
	runCases(t, []runCase{
		{name: "first match only", files: flow, inputs: map[string]any{"kind": "a"}, want: `{"r":"first"}`},
		{name: "second", files: flow, inputs: map[string]any{"kind": "b"}, want: `{"r":"second"}`},
		{name: "default", files: flow, inputs: map[string]any{"kind": "z"}, want: `{"r":"default"}`},
		{name: "return inside a case", files: noDefault, inputs: map[string]any{"kind": "a"}, want: `{"r":"returned"}`},
		{name: "no match, no default", files: noDefault, inputs: map[string]any{"kind": "q"}, want: `{"r":"unset"}`},
	})
}

func TestForEach(t *testing.T) {
	runCases(t, []runCase{
		{name: "collect in order with index", files: mainFlow(`
inputs: {xs: {type: list, items: string}}
outputs: {r: list}
steps:
  - id: loop
    for_each: ${ inputs.xs }
    collect: ${ string(index) + ":" + item }
    steps: []
  - return:
      r: ${ steps.loop }
`), inputs: map[string]any{"xs": []any{"a", "b", "c"}}, want: `{"r":["0:a","1:b","2:c"]}`},
		{name: "as and index names, nested loops see the outer item", files: mainFlow(`
outputs: {r: list}
steps:
  - id: outer
    for_each: [[1, 2], [3]]
    as: row
    index: i
    collect: ${ steps.inner }
    steps:
      - id: inner
        for_each: ${ row }
        as: cell
        collect: ${ i * 10 + cell }
        steps: []
  - return:
      r: ${ steps.outer }
`), want: `{"r":[[1,2],[13]]}`},
		{name: "over null is empty", files: mainFlow(`
inputs: {xs: list}
outputs: {r: list, n: integer}
steps:
  - set: {n: 0}
  - id: loop
    for_each: ${ inputs.xs }
    collect: ${ item }
    steps:
      - set:
          n: ${ vars.n + 1 }
  - return:
      r: ${ steps.loop }
      n: ${ vars.n }
`), want: `{"n":0,"r":[]}`},
		{name: "over an object is an error", files: mainFlow(`
inputs: {xs: any}
steps:
  - for_each: ${ inputs.xs }
    steps: []
`), inputs: map[string]any{"xs": map[string]any{"a": 1}}, err: []string{`step "for_each": for_each: expected a list, got object`}},
		{name: "set accumulates in order", files: mainFlow(`
outputs: {s: string}
steps:
  - set: {s: ""}
  - for_each: [a, b, c]
    steps:
      - set:
          s: ${ vars.s + item }
  - return:
      s: ${ vars.s }
`), want: `{"s":"abc"}`},
		{name: "continue_if skips the iteration and its collect", files: mainFlow(`
outputs: {r: list, seen: list}
steps:
  - set: {seen: []}
  - id: loop
    for_each: [1, 2, 3, 4, 5]
    collect: ${ item * 10 }
    steps:
      - if: ${ item > 1 }
        then:
          - continue_if: ${ item % 2 == 1 }
            message: even
      - set:
          seen: ${ concat(vars.seen, [item]) }
  - return:
      r: ${ steps.loop }
      seen: ${ vars.seen }
`), want: `{"r":[10,30,50],"seen":[1,3,5]}`},
		{name: "continue_on_error skips failed iterations", files: mainFlow(`
outputs: {r: list}
steps:
  - id: loop
    for_each: [1, 0, 2]
    continue_on_error: true
    collect: ${ item }
    steps:
      - if: ${ item == 0 }
        then:
          - fail: zero
  - return:
      r: ${ steps.loop }
`), want: `{"r":[1,2]}`},
		{name: "error stops the loop", files: mainFlow(`
steps:
  - for_each: [1, 0, 2]
    steps:
      - if: ${ item == 0 }
        then:
          - fail: zero at ${ index }
`), err: []string{`step "fail": zero at 1`}},
		{name: "return inside nested loops and ifs", files: mainFlow(`
outputs: {found: list}
steps:
  - for_each: [[1, 2], [3, 4]]
    as: row
    steps:
      - for_each: ${ row }
        as: x
        steps:
          - if: ${ x == 3 }
            then:
              - try:
                  - return:
                      found: ${ [row, x] }
                catch: []
  - fail: not found
`), want: `{"found":[[3,4],3]}`},
	})
}

func TestCall(t *testing.T) {
	helper := `name: double
type: helper
inputs:
  n: {type: integer, required: true}
  label: {type: string, default: "x"}
outputs:
  r: integer
  label: string
  extra: {type: string, default: "d"}
steps:
  - return:
      r: ${ inputs.n * 2 }
      label: ${ inputs.label }
`
	runCases(t, []runCase{
		{name: "outputs with defaults", files: map[string]string{"flows/double.yaml": helper, "flows/main.yaml": `name: main
type: action
outputs: {r: any}
steps:
  - id: c
    call: double
    with:
      n: 21
  - return:
      r: ${ steps.c }
`}, want: `{"r":{"extra":"d","label":"x","r":42}}`},
		{name: "wrong input type names the field", files: map[string]string{"flows/double.yaml": helper, "flows/main.yaml": `name: main
type: action
inputs: {v: any}
steps:
  - call: double
    with:
      n: ${ inputs.v }
`}, inputs: map[string]any{"v": "seven"}, err: []string{`step "call": call double: input "n": expected integer, got string`}},
		{name: "failure inside a helper carries the chain", files: map[string]string{
			"flows/inner.yaml": "name: inner\ntype: helper\nsteps:\n  - fail: deep trouble\n",
			"flows/mid.yaml":   "name: mid\ntype: helper\nsteps:\n  - id: go_in\n    call: inner\n",
			"flows/main.yaml":  "name: main\ntype: action\nsteps:\n  - call: mid\n"},
			err: []string{`flows/inner.yaml:5:5: flow "inner", step "fail": deep trouble`,
				`/flows/mid.yaml:5:5: flow "mid", step "go_in"` + "\n\tcalled from ",
				`/flows/main.yaml:5:5: flow "main", step "call"`}},
		{name: "recursion hits the depth limit cleanly", files: map[string]string{
			"flows/rec.yaml": `name: rec
type: helper
inputs: {n: integer}
outputs: {n: integer}
steps:
  - id: again
    call: rec
    with:
      n: ${ inputs.n + 1 }
  - return:
      n: ${ steps.again.n }
`}, flow: "rec", inputs: map[string]any{"n": 0}, limits: Limits{MaxDepth: 20},
			err: []string{`flow "rec", step "again": call rec: calls nest deeper than 20 (limit; unbounded recursion?)`, "... 10 more calls"}},
		{name: "recursion with a base case", files: map[string]string{
			"flows/fact.yaml": `name: fact
type: helper
inputs: {n: integer}
outputs: {r: integer}
steps:
  - if: ${ inputs.n <= 1 }
    then:
      - return: {r: 1}
  - id: sub
    call: fact
    with:
      n: ${ inputs.n - 1 }
  - return:
      r: ${ inputs.n * steps.sub.r }
`}, flow: "fact", inputs: map[string]any{"n": 10}, want: `{"r":3628800}`},
	})
}

func TestReturn(t *testing.T) {
	runCases(t, []runCase{
		{name: "undeclared output", files: mainFlow(`
inputs: {o: any}
outputs: {a: string}
steps:
  - return: ${ inputs.o }
`), inputs: map[string]any{"o": map[string]any{"b": 1}}, err: []string{`return: "b" is not a declared output of flow "main"`}},
		{name: "wrong output type", files: mainFlow(`
inputs: {v: any}
outputs: {a: integer}
steps:
  - return:
      a: ${ inputs.v }
`), inputs: map[string]any{"v": "x"}, err: []string{`step "return": output "a": expected integer, got string`}},
		{name: "mapping: defaults, conversions, nulls", files: mainFlow(`
inputs: {v: any}
outputs: {a: number, b: {type: integer, default: 7}, c: string, d: any, e: object}
steps:
  - return:
      a: ${ 2 }
      d: ${ inputs.v }
      c: ${ nil }
      e: {x: "${ inputs.v }"}
`), inputs: map[string]any{"v": int64(3)}, want: `{"a":2,"b":7,"c":null,"d":3,"e":{"x":3}}`},
		{name: "mapping: wrong type after a good one", files: mainFlow(`
inputs: {v: any}
outputs: {a: integer, b: integer}
steps:
  - return:
      a: 1
      b: ${ inputs.v }
`), inputs: map[string]any{"v": 1.5}, err: []string{`step "return": output "b": expected integer, got number`}},
		{name: "missing required output", files: mainFlow(`
inputs: {o: any}
outputs: {a: {type: string, required: true}}
steps:
  - return: ${ inputs.o }
`), inputs: map[string]any{"o": map[string]any{}}, err: []string{`output "a": is required`}},
		{name: "number output converts an integer", files: mainFlow(`
inputs: {a: any, b: any}
outputs: {a: number, b: integer}
steps:
  - return:
      a: ${ inputs.a }
      b: ${ inputs.b }
`), inputs: map[string]any{"a": 2, "b": 4.0}, want: `{"a":2,"b":4}`},
		{name: "falling off the end fills defaults", files: mainFlow(`
outputs: {a: {type: string, default: none}, b: integer}
steps:
  - log: nothing to return
`), want: `{"a":"none"}`},
		{name: "falling off the end without a required output", files: mainFlow(`
inputs: {x: boolean}
outputs: {a: {type: string, required: true}}
steps:
  - if: ${ inputs.x }
    then:
      - return: {a: yes}
`), inputs: map[string]any{"x": false}, err: []string{`flow ended without return, but output "a" is required`}},
		{name: "nested output objects and lists are checked", files: mainFlow(`
inputs: {u: any}
outputs:
  user:
    type: object
    properties:
      email: {type: string, required: true}
      roles: {type: list, items: {type: string, enum: [admin, user]}}
      plan: {type: string, default: free}
steps:
  - return:
      user: ${ inputs.u }
`), inputs: map[string]any{"u": map[string]any{"email": "a@b", "roles": []any{"admin", "root"}}}, err: []string{`output "user": property "roles": item 1: root is not one of admin, user`}},
		{name: "nested output defaults", files: mainFlow(`
inputs: {u: any}
outputs:
  user:
    type: object
    properties:
      email: {type: string, required: true}
      plan: {type: string, default: free}
steps:
  - return:
      user: ${ inputs.u }
`), inputs: map[string]any{"u": map[string]any{"email": "a@b"}}, want: `{"user":{"email":"a@b","plan":"free"}}`},
		{name: "constant outputs are not shared between runs", files: mainFlow(`
outputs: {a: number}
steps:
  - return: {a: 1}
`), want: `{"a":1}`},
	})
}

func TestFail(t *testing.T) {
	cases := []struct {
		name, flow string
		want       RunError
	}{
		{"string", `
inputs: {who: string}
steps:
  - id: boom
    fail: "${ inputs.who } is not allowed"
`, RunError{Pos: lang.Pos{Line: 6, Col: 5}, Flow: "main", Step: "boom", Message: "ada is not allowed", Code: "failed"}},
		{"object", `
inputs: {who: string}
steps:
  - fail:
      message: no ${ inputs.who }
      code: not_found
      details:
        who: ${ inputs.who }
        n: 3
`, RunError{Pos: lang.Pos{Line: 6, Col: 5}, Flow: "main", Step: "fail", Message: "no ada", Code: "not_found", Details: map[string]any{"who": "ada", "n": 3}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err, _ := runCase{files: mainFlow(c.flow), inputs: map[string]any{"who": "ada"}}.run(t)
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatalf("error %v is not a *RunError", err)
			}
			if !strings.HasSuffix(re.Pos.File, "flows/main.yaml") || re.Pos.Line != c.want.Pos.Line || re.Pos.Col != c.want.Pos.Col {
				t.Errorf("pos = %s, want line %d col %d", re.Pos, c.want.Pos.Line, c.want.Pos.Col)
			}
			if re.Flow != c.want.Flow || re.Step != c.want.Step || re.Message != c.want.Message ||
				toJSON(t, re.Code) != toJSON(t, c.want.Code) || toJSON(t, re.Details) != toJSON(t, c.want.Details) {
				t.Errorf("got %+v\nwant %+v", *re, c.want)
			}
		})
	}
}

func TestTryCatch(t *testing.T) {
	runCases(t, []runCase{
		{name: "error object of a fail", files: mainFlow(`
outputs: {e: object, after: boolean}
steps:
  - try:
      - id: boom
        fail:
          message: broken
          code: E42
          details: [1]
    catch:
      - set:
          e: ${ error }
  - return:
      e: ${ vars.e }
      after: true
`), want: `{"after":true,"e":{"body":null,"code":"E42","details":[1],"flow":"main","headers":null,"message":"broken","retry_after":null,"status":null,"step":"boom"}}`},
		{name: "error raised in a called flow names where it happened", files: map[string]string{
			"flows/helper.yaml": "name: helper\ntype: helper\nsteps:\n  - id: inner_step\n    fail: {message: inner, code: E7}\n",
			"flows/main.yaml": `name: main
type: action
outputs: {flow: string, step: string, code: string, message: string}
steps:
  - try:
      - call: helper
    catch:
      - return:
          flow: ${ error.flow }
          step: ${ error.step }
          code: ${ error.code }
          message: ${ error.message }
`}, want: `{"code":"E7","flow":"helper","message":"inner","step":"inner_step"}`},
		{name: "expression error is caught", files: mainFlow(`
inputs: {x: any}
outputs: {m: string}
steps:
  - try:
      - set:
          y: ${ inputs.x.a.b }
    catch:
      - return:
          m: ${ error.message }
`), inputs: map[string]any{"x": 1}, want: `{"m":"expression ` + "`inputs.x.a.b`" + `: cannot fetch a from int"}`},
		{name: "no error skips catch; error is not in scope afterwards", files: mainFlow(`
outputs: {r: string}
steps:
  - set: {r: try}
  - try:
      - log: fine
    catch:
      - set: {r: catch}
  - return:
      r: ${ vars.r }
`), want: `{"r":"try"}`},
		{name: "nested try rethrows", files: mainFlow(`
outputs: {m: string}
steps:
  - try:
      - try:
          - fail: first
        catch:
          - fail: "second after ${ error.message }"
    catch:
      - return:
          m: ${ error.message }
`), want: `{"m":"second after first"}`},
		{name: "limit errors are not caught", files: map[string]string{"flows/main.yaml": `name: main
type: action
steps:
  - try:
      - call: main
    catch:
      - log: caught
`}, limits: Limits{MaxDepth: 3}, err: []string{"calls nest deeper than 3"}},
	})
}

func TestContinueIfTopLevel(t *testing.T) {
	var events []TraceEvent
	p := loadProject(t, mainFlow(`
inputs: {go: boolean}
outputs: {r: {type: string, default: quiet}, n: integer}
steps:
  - continue_if: ${ inputs.go }
    message: not going
  - return:
      r: went
      n: 1
`))
	r, _ := newTestRunner(p, nil)
	r.Trace = func(ev TraceEvent) { events = append(events, ev) }
	out, err := r.Run(context.Background(), "main", map[string]any{"go": false})
	checkRun(t, out, err, `{"r":"quiet"}`, nil)
	if len(events) != 1 || events[0].Kind != "continue_if" || events[0].Message != "not going" {
		t.Errorf("events = %+v", events)
	}
	out, err = r.Run(context.Background(), "main", map[string]any{"go": true})
	checkRun(t, out, err, `{"n":1,"r":"went"}`, nil)
}

func TestLogAndTrace(t *testing.T) {
	p := loadProject(t, map[string]string{
		"flows/helper.yaml": "name: helper\ntype: helper\ninputs: {x: integer}\noutputs: {y: integer}\nsteps:\n  - return:\n      y: ${ inputs.x + 1 }\n",
		"flows/main.yaml": `name: main
type: action
inputs: {who: string}
steps:
  - log: hello ${ inputs.who }, ${ [1, 2] }
  - id: c
    name: call the helper
    call: helper
    with:
      x: 1
  - name: named
    set: {a: 1}
`})
	r, _ := newTestRunner(p, nil)
	var got []string
	r.Trace = func(ev TraceEvent) {
		got = append(got, fmt.Sprintf("%d %s %s %s %s in=%s out=%s", ev.Depth, ev.Flow, ev.Step, ev.Kind, ev.Message, toJSON(t, ev.Input), toJSON(t, ev.Output)))
		if ev.RunID == "" || ev.Pos == "" || ev.Start.IsZero() {
			t.Errorf("incomplete event %+v", ev)
		}
	}
	if _, err := r.Run(context.Background(), "main", map[string]any{"who": "ada"}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`0 main log log hello ada, [1,2] in=null out=null`,
		`1 helper return return  in=null out={"y":2}`,
		`0 main c call  in={"x":1} out={"y":2}`,
		`0 main named set  in=null out={"a":1}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("trace\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestWait(t *testing.T) {
	p := loadProject(t, mainFlow(`
inputs: {d: string}
steps:
  - wait: 1500ms
  - wait: ${ inputs.d }
  - wait: ${ duration("2m") }
`))
	r, sl := newTestRunner(p, nil)
	if _, err := r.Run(context.Background(), "main", map[string]any{"d": "3s"}); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(sl.list()); got != "[1.5s 3s 2m0s]" {
		t.Errorf("waits = %s", got)
	}
	_, err := r.Run(context.Background(), "main", map[string]any{"d": "soon"})
	if err == nil || !strings.Contains(err.Error(), `step "wait": wait: "soon" is not a duration`) {
		t.Errorf("err = %v", err)
	}
}

func TestInputs(t *testing.T) {
	flow := mainFlow(`
inputs:
  name: {type: string, required: true}
  count: {type: integer, default: 3}
  ratio: number
  on: {type: boolean, default: false}
  color: {type: string, enum: [red, green]}
  when: datetime
  tags: {type: list, items: string, default: []}
  user:
    type: object
    properties:
      email: {type: string, required: true}
      age: integer
      prefs:
        type: object
        properties:
          lang: {type: string, default: en}
  points: {type: list, items: {type: object, properties: {x: {type: integer, required: true}}}}
outputs: {in: object}
steps:
  - return:
      in: ${ inputs }
`)
	runCases(t, []runCase{
		{name: "defaults", files: flow, inputs: map[string]any{"name": "n"},
			want: `{"in":{"color":null,"count":3,"name":"n","on":false,"points":null,"ratio":null,"tags":[],"user":null,"when":null}}`},
		{name: "nested objects and lists", files: flow, inputs: map[string]any{"name": "n", "ratio": 2, "color": "red",
			"user":   map[string]any{"email": "a@b", "extra": 1, "prefs": map[string]any{}},
			"points": []any{map[string]any{"x": 1.0}}, "when": "2024-05-01T10:00:00Z"},
			want: `{"in":{"color":"red","count":3,"name":"n","on":false,"points":[{"x":1}],"ratio":2,"tags":[],"user":{"email":"a@b","extra":1,"prefs":{"lang":"en"}},"when":"2024-05-01T10:00:00Z"}}`},
		{name: "required", files: flow, err: []string{`flow "main": input "name": is required`}},
		{name: "wrong type", files: flow, inputs: map[string]any{"name": 5}, err: []string{`input "name": expected string, got integer`}},
		{name: "integer refuses a fraction", files: flow, inputs: map[string]any{"name": "n", "count": 1.5}, err: []string{`input "count": expected integer, got number`}},
		{name: "enum", files: flow, inputs: map[string]any{"name": "n", "color": "blue"}, err: []string{`input "color": blue is not one of red, green`}},
		{name: "datetime", files: flow, inputs: map[string]any{"name": "n", "when": "yesterday"}, err: []string{`input "when": "yesterday" is not an RFC 3339 date-time`}},
		{name: "nested required property", files: flow, inputs: map[string]any{"name": "n", "user": map[string]any{"age": 3}}, err: []string{`input "user": property "email": is required`}},
		{name: "list item", files: flow, inputs: map[string]any{"name": "n", "tags": []any{"a", 2}}, err: []string{`input "tags": item 1: expected string, got integer`}},
		{name: "list of objects", files: flow, inputs: map[string]any{"name": "n", "points": []any{map[string]any{}}}, err: []string{`input "points": item 0: property "x": is required`}},
		{name: "undeclared input", files: flow, inputs: map[string]any{"name": "n", "nmae": 1}, err: []string{`input "nmae" is not declared`}},
		{name: "command-line strings convert", files: flow, cli: true, inputs: map[string]any{"name": "n", "count": "7", "on": "true", "ratio": "0.5"},
			want: `{"in":{"color":null,"count":7,"name":"n","on":true,"points":null,"ratio":0.5,"tags":[],"user":null,"when":null}}`},
		{name: "no conversion outside the command line", files: flow, inputs: map[string]any{"name": "n", "count": "7"}, err: []string{`input "count": expected integer, got string`}},
	})
}

func TestExpressions(t *testing.T) {
	runCases(t, []runCase{
		{name: "whole-scalar expressions keep their type", files: mainFlow(`
outputs: {i: any, f: any, b: any, l: any, o: any, n: any, s: any}
steps:
  - return:
      i: ${ 1 + 2 }
      f: ${ 1.5 * 2 }
      b: "${ 1 < 2 }"
      l: ${ [1, "a"] }
      o: '${ {"k": [true]} }'
      n: ${ nil }
      s: "  ${ 'padded' }  "
`), want: `{"b":true,"f":3,"i":3,"l":[1,"a"],"n":null,"o":{"k":[true]},"s":"padded"}`},
		{name: "connector and flow objects: every field validate accepts is filled", files: withConnector("base_url: https://api.example/${ 'v' + '1' }", mainFlow(`
outputs: {c: object, f: object}
steps:
  - return:
      c: '${ {"name": connector.name, "base_url": connector.base_url, "version": connector.version, "title": connector.title} }'
      f: '${ {"name": flow.name, "type": flow.type} }'
`)), want: `{"c":{"base_url":"https://api.example/v1","name":"test","title":"","version":""},"f":{"name":"main","type":"action"}}`},
		{name: "one number-to-text rule", files: mainFlow(`
outputs: {s: string, t: string}
steps:
  - return:
      s: "x=${ 1e20 } y=${ 3.0 }"
      t: '${ toString(1e20) + "/" + queryString({"x": 1e20}) }' 
`), want: `{"s":"x=100000000000000000000 y=3","t":"100000000000000000000/x=100000000000000000000"}`},
		{name: "mixed text interpolates", files: mainFlow(`
outputs: {s: string}
steps:
  - return:
      s: "n=${ 1 + 2 } b=${ true } l=${ [1, 2] } o=${ {'a': 1} } nil=${ nil } f=${ 0.5 }"
`), want: `{"s":"n=3 b=true l=[1,2] o={\"a\":1} nil= f=0.5"}`},
		{name: "$${ is a literal", files: mainFlow(`
outputs: {s: string, t: string}
steps:
  - return:
      s: "cost $${ 5 } and ${ 2 * 2 }"
      t: $${ inputs }
`), want: `{"s":"cost ${ 5 } and 4","t":"${ inputs }"}`},
		{name: "run-time data is never interpolated", files: mainFlow(`
inputs: {x: string}
outputs: {a: string, b: string, c: any}
steps:
  - set:
      v: ${ inputs.x }
  - return:
      a: ${ vars.v }
      b: "got ${ inputs.x }"
      c: ${ [inputs.x] }
`), inputs: map[string]any{"x": "${ 1+1 }"}, want: `{"a":"${ 1+1 }","b":"got ${ 1+1 }","c":["${ 1+1 }"]}`},
		{name: "builtins and scope", files: mainFlow(`
outputs: {q: string, f: string, c: string}
steps:
  - return:
      q: '${ queryString({"b": "x y", "a": 1}) }'
      f: ${ flow.name }
      c: ${ connector.name }
`), want: `{"c":"test","f":"main","q":"a=1&b=x%20y"}`},
		{name: "run-time expression error names the expression's position", files: mainFlow(`
inputs: {x: any}
steps:
  - set:
      y: "v=${ inputs.x.field }"
`), inputs: map[string]any{"x": []any{}}, err: []string{`flows/main.yaml:7:25: flow "main", step "set": expression ` + "`inputs.x.field`"}},
	})
}

func TestLimits(t *testing.T) {
	loop := mainFlow(`
inputs: {n: integer}
steps:
  - for_each: ${ 1..inputs.n }
    steps:
      - set: {x: 1}
`)
	runCases(t, []runCase{
		{name: "total steps", files: loop, inputs: map[string]any{"n": 1000}, limits: Limits{MaxSteps: 100}, err: []string{"run exceeded 100 steps (limit)"}},
		{name: "loop items", files: loop, inputs: map[string]any{"n": 1000}, limits: Limits{MaxLoopItems: 999}, err: []string{"for_each: 1000 items exceed the limit of 999"}},
		{name: "expression memory", files: mainFlow(`
steps:
  - set:
      big: "${ map(1..100000, # * 2) }"
`), limits: Limits{ExprMemory: 50_000}, err: []string{"memory budget exceeded"}},
		{name: "limit errors pass continue_on_error", files: loop, inputs: map[string]any{"n": 10}, limits: Limits{MaxSteps: 5}, err: []string{"run exceeded 5 steps"}},
	})
	t.Run("limit errors wrap ErrLimit", func(t *testing.T) {
		_, err, _ := runCase{files: loop, inputs: map[string]any{"n": 1000}, limits: Limits{MaxSteps: 10}}.run(t)
		if !errors.Is(err, ErrLimit) {
			t.Errorf("%v is not ErrLimit", err)
		}
	})
}

func TestTimeoutAndCancel(t *testing.T) {
	p := loadProject(t, mainFlow(`
steps:
  - log: start
  - wait: 1h
  - log: never
`))
	t.Run("run timeout", func(t *testing.T) {
		r := &Runner{Project: p, Limits: Limits{Timeout: 50 * time.Millisecond}}
		start := time.Now()
		_, err := r.Run(context.Background(), "main", nil)
		if !errors.Is(err, ErrCanceled) || !strings.Contains(err.Error(), `flow "main", step "wait": run canceled: timed out`) {
			t.Errorf("err = %v", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("took %s", d)
		}
	})
	t.Run("flow timeout", func(t *testing.T) {
		p := loadProject(t, mainFlow("timeout: 30ms\nsteps:\n  - wait: 1h\n"))
		_, err := (&Runner{Project: p}).Run(context.Background(), "main", nil)
		if !errors.Is(err, ErrCanceled) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		r := &Runner{Project: p, Trace: func(ev TraceEvent) {
			if ev.Message == "start" {
				cancel()
			}
		}}
		_, err := r.Run(ctx, "main", nil)
		if !errors.Is(err, ErrCanceled) {
			t.Errorf("err = %v", err)
		}
		var le *RunError
		if !errors.As(err, &le) || le.Step != "wait" {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("canceled errors are not caught", func(t *testing.T) {
		p := loadProject(t, mainFlow(`
outputs: {r: string}
steps:
  - try:
      - wait: 1h
    catch:
      - return: {r: caught}
`))
		r := &Runner{Project: p, Limits: Limits{Timeout: 20 * time.Millisecond}}
		_, err := r.Run(context.Background(), "main", nil)
		if !errors.Is(err, ErrCanceled) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRunErrorChainIsShortened(t *testing.T) {
	e := &RunError{Pos: lang.Pos{File: "f.yaml", Line: 1, Col: 2}, Flow: "a", Step: "s", Message: "m"}
	for i := range 25 {
		e.Calls = append(e.Calls, fmt.Sprintf("c%d", i))
	}
	want := "f.yaml:1:2: flow \"a\", step \"s\": m\n\tcalled from c24\n\tcalled from c23\n\tcalled from c22\n\tcalled from c21\n\tcalled from c20\n\t... 15 more calls\n\tcalled from c4\n\tcalled from c3\n\tcalled from c2\n\tcalled from c1\n\tcalled from c0"
	if got := e.Error(); got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

func TestUnknownFlowAndWebhook(t *testing.T) {
	p := loadProject(t, mainFlow("steps:\n  - log: x\n"))
	_, err := (&Runner{Project: p}).Run(context.Background(), "mian", nil)
	var ue *RequestError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), `no flow named "mian" (hint: did you mean "main"?)`) {
		t.Errorf("err = %v", err)
	}
}

// TestCallFramesReused: frames and scope maps are pooled between calls; what
// a call returned (its inputs, a nested object) stays intact while later and
// nested calls, sequential or in a parallel loop, reuse them.
func TestCallFramesReused(t *testing.T) {
	echo := `name: echo
type: helper
inputs:
  v: {type: any, required: true}
  depth: {type: integer, default: 0}
outputs:
  in: object
  inner: any
steps:
  - if: ${ inputs.depth > 0 }
    then:
      - id: deeper
        call: echo
        with:
          v: ${ inputs.v + 100 }
          depth: ${ inputs.depth - 1 }
      - return:
          in: ${ inputs }
          inner: ${ steps.deeper }
  - return:
      in: ${ inputs }
      inner: null
`
	runCases(t, []runCase{
		{name: "sequential", files: map[string]string{"flows/echo.yaml": echo, "flows/main.yaml": `name: main
type: action
outputs: {a: any, b: any}
steps:
  - id: a
    call: echo
    with: {v: 1, depth: 2}
  - id: b
    call: echo
    with: {v: 2}
  - return:
      a: ${ steps.a }
      b: ${ steps.b }
`}, want: `{"a":{"in":{"depth":2,"v":1},"inner":{"in":{"depth":1,"v":101},"inner":{"in":{"depth":0,"v":201},"inner":null}}},"b":{"in":{"depth":0,"v":2},"inner":null}}`},
		{name: "parallel loop", files: map[string]string{"flows/echo.yaml": echo, "flows/main.yaml": `name: main
type: action
outputs: {all: list}
steps:
  - id: loop
    for_each: ${ 1..6 }
    concurrency: 3
    steps:
      - id: e
        call: echo
        with: {v: "${ item }", depth: 1}
    collect: ${ steps.e.inner.in.v - steps.e.in.v }
  - return:
      all: ${ steps.loop }
`}, want: `{"all":[100,100,100,100,100,100]}`},
	})
}

// withConnector gives files a connector.yaml with the given extra lines.
func withConnector(lines string, files map[string]string) map[string]string {
	files["connector.yaml"] = "flowrun: 1\nname: test\n" + lines + "\n"
	return files
}
