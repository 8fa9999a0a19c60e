package run

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/flowrun/flowrun/value"
)

// partsRunner runs loops of more than 2 items in parts, each through JSON
// and RunLoopPart of a second runner, as engine/temporal's child workflows
// do; it counts the parts.
func partsRunner(t *testing.T, r *Runner, parts *int) *Runner {
	other := &Runner{Project: r.Project, Connection: r.Connection, Sleep: r.Sleep}
	pr := &Runner{Project: r.Project, Connection: r.Connection, Sleep: r.Sleep, LoopPart: 2}
	roundTrip := func(v any) any {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out, err := value.DecodeJSON(b)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	var runPart func(ctx context.Context, p LoopPart) (LoopPartResult, error)
	runPart = func(ctx context.Context, p LoopPart) (LoopPartResult, error) {
		*parts++
		p.Scope = roundTrip(p.Scope).(map[string]any)
		p.Items = roundTrip(p.Items).([]any)
		res, err := other.RunLoopPart(ctx, p)
		if err != nil {
			return res, err
		}
		back := roundTrip(map[string]any{"results": res.Results, "vars": res.Vars, "steps": res.Steps, "return": res.Return}).(map[string]any)
		res.Results, _ = back["results"].([]any)
		res.Vars, _ = back["vars"].(map[string]any)
		res.Steps, _ = back["steps"].(map[string]any)
		res.Return = back["return"]
		return res, nil
	}
	other.LoopPart, other.RunPart = 2, runPart // parts of parts, for nested loops
	pr.RunPart = runPart
	return pr
}

// TestLoopParts: a loop run in parts (Runner.RunPart, RunLoopPart) gives
// what it gives run whole: collected values in order, vars carried from
// part to part, return and errors from inside a part, nested loops,
// concurrency and continue_on_error.
func TestLoopParts(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		inputs     map[string]any
		parts      int
	}{
		{"vars carry", `
inputs: {xs: {type: list}}
outputs: {r: list, n: integer}
steps:
  - set: {n: 0}
  - id: loop
    for_each: ${ inputs.xs }
    steps:
      - set: {n: "${ vars.n + item }"}
    collect: '${ [index, vars.n] }'
  - return: {r: "${ steps.loop }", n: "${ vars.n }"}
`, map[string]any{"xs": []any{1, 2, 3, 4, 5}}, 3},
		{"return inside", `
inputs: {xs: {type: list}}
outputs: {r: any}
steps:
  - for_each: ${ inputs.xs }
    steps:
      - if: ${ item == 4 }
        then:
          - return: {r: "${ index }"}
  - return: {r: none}
`, map[string]any{"xs": []any{1, 2, 3, 4, 5}}, 2},
		{"error caught around the loop", `
inputs: {xs: {type: list}}
outputs: {r: any}
steps:
  - try:
      - for_each: ${ inputs.xs }
        steps:
          - if: ${ item == 3 }
            then:
              - fail: {message: "no ${ item }", code: bad_item}
    catch:
      - return: {r: '${ error.code + ": " + error.message }'}
  - return: {r: none}
`, map[string]any{"xs": []any{1, 2, 3, 4, 5}}, 2},
		{"nested, concurrency, continue_on_error", `
inputs: {xs: {type: list}}
outputs: {r: list}
steps:
  - id: outer
    for_each: ${ inputs.xs }
    as: row
    concurrency: 2
    continue_on_error: true
    steps:
      - if: ${ len(row) == 0 }
        then:
          - fail: {message: empty}
      - id: inner
        for_each: ${ row }
        collect: ${ item * 10 }
        steps: []
    collect: ${ steps.inner }
  - return: {r: "${ steps.outer }"}
`, map[string]any{"xs": []any{[]any{1, 2, 3}, []any{}, []any{4}, []any{5, 6}}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProject(t, mainFlow(tc.body))
			whole, _ := newTestRunner(p, nil)
			want, wantErr := whole.Run(context.Background(), "main", tc.inputs)
			n := 0
			got, err := partsRunner(t, whole, &n).Run(context.Background(), "main", tc.inputs)
			if (err == nil) != (wantErr == nil) || (err != nil && err.Error() != wantErr.Error()) {
				t.Fatalf("error %v, want %v", err, wantErr)
			}
			if g, w := toJSON(t, got), toJSON(t, want); g != w {
				t.Fatalf("in parts %s, whole %s", g, w)
			}
			if n != tc.parts {
				t.Errorf("%d parts, want %d", n, tc.parts)
			}
		})
	}
}
