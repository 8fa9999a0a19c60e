package run

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// TestCallArgsRecycled: a call's argument map is reused by the next call
// only when the callee never uses `inputs` as a whole value; a helper that
// returns `inputs` itself, called in a loop, must hand back a different map
// each time.
func TestCallArgsRecycled(t *testing.T) {
	p := loadProject(t, map[string]string{
		"flows/collect.yaml": `name: collect
type: action
outputs:
  all: list
  sum: integer
steps:
  - set: {sum: 0}
  - id: loop
    for_each: ${ 1..3 }
    steps:
      - id: whole
        call: whole
        with: {x: "${ item }"}
      - id: part
        call: part
        with: {x: "${ item }"}
      - set:
          sum: ${ vars.sum + steps.part.y }
    collect: ${ steps.whole.all }
  - return:
      all: ${ steps.loop }
      sum: ${ vars.sum }
`,
		"flows/whole.yaml": `name: whole
type: helper
inputs:
  x: {type: integer, required: true}
outputs:
  all: object
steps:
  - return:
      all: ${ inputs }
`,
		"flows/part.yaml": `name: part
type: helper
inputs:
  x: {type: integer, required: true}
outputs:
  y: integer
steps:
  - return:
      y: ${ inputs.x * 10 }
`,
	})
	if p.Flow("whole").InputsEscape != true || p.Flow("part").InputsEscape != false {
		t.Fatalf("InputsEscape: whole %v, part %v", p.Flow("whole").InputsEscape, p.Flow("part").InputsEscape)
	}
	out, err := (&Runner{Project: p}).Run(context.Background(), "collect", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(out["all"]); got != "[map[x:1] map[x:2] map[x:3]]" {
		t.Errorf("all = %s", got)
	}
	if out["sum"] != 60 {
		t.Errorf("sum = %v", out["sum"])
	}
}

// TestCallResultsRecycled: the result map of a call step is reused by the
// next call only when nothing can still hold it. Each flow below calls a
// helper three times in a loop and keeps something of every result; the
// kept values must be those of their own iteration.
func TestCallResultsRecycled(t *testing.T) {
	helper := `name: pair
type: helper
inputs:
  x: {type: integer, required: true}
outputs:
  y: integer
  o: object
steps:
  - return:
      y: ${ inputs.x * 10 }
      o: {n: "${ inputs.x }"}
`
	loop := func(body, collect string) string {
		return `name: main
type: action
outputs:
  all: list
steps:
  - id: loop
    for_each: ${ 1..3 }
` + body + `
    collect: ` + collect + `
  - return:
      all: ${ steps.loop }
`
	}
	call := `    steps:
      - id: sq
        call: pair
        with: {x: "${ item }"}`
	cases := []struct {
		name, flow string
		trace      bool
		want       string
	}{
		// steps.sq as a whole: the flow may keep it, no recycling
		{"whole", loop(call, "${ steps.sq }"), false, "[map[o:map[n:1] y:10] map[o:map[n:2] y:20] map[o:map[n:3] y:30]]"},
		// members only: nested objects stay the callee's own
		{"members", loop(call, "${ steps.sq.o }"), false, "[map[n:1] map[n:2] map[n:3]]"},
		// kept through a variable bound with let
		{"let", loop(call, "${ let s = steps.sq; s }"), false, "[map[o:map[n:1] y:10] map[o:map[n:2] y:20] map[o:map[n:3] y:30]]"},
		// a trace keeps every step's output
		{"trace", loop(call, "${ steps.sq.y }"), true, "[10 20 30]"},
		// a parallel loop's workers start from copies of the loop's steps
		{"parallel", strings.Replace(loop(call, "${ steps.sq.y }"), "for_each: ${ 1..3 }", "for_each: ${ 1..3 }\n    concurrency: 3", 1), false, "[10 20 30]"},
		// the first inner loop (one item) runs in the loop's frame, so the
		// workers of the second one start with its result in their copies
		{"parallel after sequential", `name: main
type: action
outputs:
  all: list
steps:
  - id: outer
    for_each: ${ [[1], 2..400] }
    steps:
      - id: inner
        for_each: ${ item }
        concurrency: 3
        steps:
          - id: sq
            call: pair
            with: {x: "${ item }"}
        collect: ${ steps.sq.o.n }
    collect: ${ sum(steps.inner) }
  - return:
      all: ${ steps.outer }
`, false, "[1 80199]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := loadProject(t, map[string]string{"flows/main.yaml": c.flow, "flows/pair.yaml": helper})
			r := &Runner{Project: p}
			var outputs []any
			if c.trace {
				r.Trace = func(ev TraceEvent) {
					if ev.Step == "sq" {
						outputs = append(outputs, ev.Output)
					}
				}
			}
			for range 2 { // the second run starts with maps the first recycled
				out, err := r.Run(context.Background(), "main", nil)
				if err != nil {
					t.Fatal(err)
				}
				if got := fmt.Sprint(out["all"]); got != c.want {
					t.Errorf("all = %s, want %s", got, c.want)
				}
			}
			if c.trace {
				want := "[map[o:map[n:1] y:10] map[o:map[n:2] y:20] map[o:map[n:3] y:30]]"
				if got := fmt.Sprint(outputs[:3]); got != want {
					t.Errorf("traced outputs = %s, want %s", got, want)
				}
			}
		})
	}
}

// TestReturnMapSize: the size returnMap reports (so that a return of
// scalars is not walked again to be measured) is value.Size of the map it
// built, or -1 when an output is not a scalar or a string.
func TestReturnMapSize(t *testing.T) {
	p := loadProject(t, map[string]string{"flows/h.yaml": `name: h
type: helper
inputs:
  v: any
outputs:
  a: integer
  b: number
  s: string
  t: {type: string, default: "dflt"}
  n: any
  v: any
steps:
  - return:
      a: ${ 2 }
      b: 1
      s: "héllo ${ inputs.v }"
      n: ${ nil }
      v: ${ inputs.v }
`})
	f := p.Flow("h")
	ret := f.Steps[0].(*lang.ReturnStep)
	for _, v := range []any{nil, true, 7, 2.5, "", "a string", []any{1}, map[string]any{"x": "y"}} {
		fr := &frame{flow: f}
		fr.ev.env = map[string]any{"inputs": map[string]any{"v": v}}
		m, size, err := fr.returnMap(ret.Value)
		if err != nil {
			t.Fatal(err)
		}
		switch v.(type) {
		case []any, map[string]any:
			if size != -1 {
				t.Errorf("v = %v: size %d, want -1", v, size)
			}
		default:
			if want := value.Size(m); size != want {
				t.Errorf("v = %v: size %d, value.Size %d", v, size, want)
			}
		}
	}
}
