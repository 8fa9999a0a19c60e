package run

import (
	"context"
	"fmt"
	"testing"
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
