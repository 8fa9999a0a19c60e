package run

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/value"
)

// lazyFlows run over an input list kept undecoded (value.LazyList) and over
// the same list decoded, with the same outputs and errors; lazy says
// whether the flow reads the list only as a for_each's list (so the run
// keeps it lazy) or also otherwise (so the run decodes it first).
var lazyFlows = []struct {
	name, flow string
	lazy       bool
}{
	{"sum", `
inputs: {items: {type: list, required: true}}
steps:
  - set: {total: 0, n: 0}
  - for_each: ${ inputs.items }
    steps:
      - if: ${ item.active }
        then:
          - set: {total: "${ vars.total + item.amount }", n: "${ vars.n + 1 }"}
  - return: {total: "${ vars.total }", n: "${ vars.n }"}
`, true},
	{"collect_parallel", `
inputs: {items: {type: list}}
steps:
  - id: each
    for_each: ${ inputs.items }
    concurrency: 4
    steps: []
    collect: '${ {"i": index, "item": item} }'
  - return: {all: "${ steps.each }"}
`, true},
	{"index_bracket_two_loops", `
inputs: {items: {type: any, required: true}, other: {type: list, default: []}}
steps:
  - id: a
    for_each: ${ inputs["items"] }
    as: x
    steps: []
    collect: ${ x }
  - id: b
    for_each: ${ inputs.items }
    steps: []
    collect: ${ index }
  - return: {a: "${ steps.a }", b: "${ steps.b }", other: "${ inputs.other }"}
`, true},
	{"break_continue", `
inputs: {items: {type: list, required: true}}
steps:
  - set: {seen: []}
  - for_each: ${ inputs.items }
    steps:
      - continue_if: ${ index % 2 == 1 }
      - set: {seen: "${ concat(vars.seen, [item]) }"}
      - if: ${ index >= 7 }
        then:
          - return: {seen: "${ vars.seen }"}
  - return: {seen: "${ vars.seen }"}
`, true},
	{"len_elsewhere", `
inputs: {items: {type: list, required: true}}
steps:
  - id: each
    for_each: ${ inputs.items }
    steps: []
    collect: ${ item }
  - return: {n: "${ len(inputs.items) }", same: "${ steps.each == inputs.items }"}
`, false},
	{"returned", `
inputs: {items: {type: list, required: true}}
steps:
  - for_each: ${ inputs.items }
    steps: []
  - return: {items: "${ inputs.items }"}
`, false},
	{"inputs_whole", `
inputs: {items: {type: list, required: true}}
steps:
  - for_each: ${ inputs.items }
    steps: []
  - return: {all: "${ inputs }"}
`, false},
	{"template", `
inputs: {items: {type: list, required: true}}
steps:
  - for_each: ${ inputs.items }
    steps: []
  - return: {text: "there are ${ len(inputs.items) } items"}
`, false},
	{"optional", `
inputs: {items: {type: list, required: true}}
steps:
  - id: each
    for_each: ${ inputs?.items }
    steps: []
    collect: ${ item }
  - return: {all: "${ steps.each }"}
`, false},
	{"typed_items", `
inputs: {items: {type: list, required: true, items: {type: object}}}
steps:
  - id: each
    for_each: ${ inputs.items }
    steps: []
    collect: ${ item }
  - return: {all: "${ steps.each }"}
`, false},
	{"wrong_type", `
inputs: {items: {type: string, required: true}}
steps:
  - for_each: ${ split(inputs.items, ",") }
    steps: []
  - return: {}
`, false},
	{"item_error", `
inputs: {items: {type: list, required: true}}
steps:
  - for_each: ${ inputs.items }
    steps:
      - set: {x: "${ item.nested.deeper + 1 }"}
  - return: {}
`, true},
	{"call_helper", `
inputs: {items: {type: list, required: true}}
steps:
  - id: each
    for_each: ${ inputs.items }
    steps:
      - id: c
        call: twice
        with: {x: "${ item }"}
    collect: ${ steps.c.y }
  - return: {all: "${ steps.each }"}
`, true},
}

const twiceFlow = `
name: twice
type: helper
inputs: {x: {type: any}}
outputs: {y: any}
steps:
  - return: {y: "${ [inputs.x, inputs.x] }"}
`

func lazyItemsJSON(n int) string {
	var b strings.Builder
	b.WriteString(`[`)
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		switch i % 5 {
		case 0:
			fmt.Fprintf(&b, `{"id": %d, "active": true, "amount": %d.5, "name": "caf\u00e9 %d", "tags": ["a", {"b": null}]}`, i, i%100, i)
		case 1:
			fmt.Fprintf(&b, `{"id": %d, "active": false, "amount": 1e3, "nested": {"deeper": %d}}`, i, i)
		case 2:
			fmt.Fprintf(&b, `{"id": %d, "active": true, "amount": -%d, "nested": {"deeper": "x"}}`, i, i)
		case 3:
			fmt.Fprintf(&b, `{"id": 12345678901234567890, "active": true, "amount": 0, "s": "line\nbreak \"q\""}`)
		case 4:
			fmt.Fprintf(&b, `{"active": true, "amount": %d, "list": [[1, 2], [], {}]}`, i)
		}
	}
	b.WriteString(`]`)
	return b.String()
}

// TestLazyInputsMatchEager: every flow gives the same outputs, or the same
// error, whether its input list came lazily decoded or decoded.
func TestLazyInputsMatchEager(t *testing.T) {
	files := map[string]string{"flows/twice.yaml": twiceFlow}
	for _, f := range lazyFlows {
		files["flows/"+f.name+".yaml"] = "name: " + f.name + "\ntype: action\noutputs: {total: any, n: any, all: any, a: any, b: any, other: any, seen: any, same: any, items: any, text: any}\n" + strings.TrimPrefix(f.flow, "\n")
	}
	p := loadProject(t, files)
	for _, items := range []string{lazyItemsJSON(0), lazyItemsJSON(1), lazyItemsJSON(12), `[1, "two", null, [3]]`} {
		doc := []byte(`{"items": ` + items + `}`)
		for _, f := range lazyFlows {
			t.Run(f.name, func(t *testing.T) {
				eager, err := value.DecodeJSON(doc)
				if err != nil {
					t.Fatal(err)
				}
				lazy, err := value.DecodeJSONLazy(doc, 1)
				if err != nil {
					t.Fatal(err)
				}
				if _, ok := lazy.(map[string]any)["items"].(*value.LazyList); !ok {
					t.Fatalf("the input list was not kept lazy")
				}
				if _, kept := lazyInputs(p.Flow(f.name), lazy.(map[string]any)); (kept["items"] != nil) != f.lazy {
					t.Fatalf("the run keeps the list lazy: %v, want %v", kept["items"] != nil, f.lazy)
				}
				r1, _ := newTestRunner(p, nil)
				want, werr := r1.Run(context.Background(), f.name, eager.(map[string]any))
				r2, _ := newTestRunner(p, nil)
				got, err := r2.Run(context.Background(), f.name, lazy.(map[string]any))
				if fmt.Sprint(err) != fmt.Sprint(werr) {
					t.Fatalf("error %v, eager %v", err, werr)
				}
				if err == nil && toJSON(t, got) != toJSON(t, want) {
					t.Fatalf("outputs %s, eager %s", toJSON(t, got), toJSON(t, want))
				}
			})
		}
	}
}

// TestLazyInputsLimit: a lazy list over the loop limit fails as a decoded
// one does.
func TestLazyInputsLimit(t *testing.T) {
	p := loadProject(t, map[string]string{"flows/sum.yaml": "name: sum\ntype: action\noutputs: {total: any, n: any}\n" + strings.TrimPrefix(lazyFlows[0].flow, "\n")})
	doc := []byte(`{"items": ` + lazyItemsJSON(20) + `}`)
	eager, _ := value.DecodeJSON(doc)
	lazy, _ := value.DecodeJSONLazy(doc, 1)
	var errs []string
	for _, in := range []any{eager, lazy} {
		r, _ := newTestRunner(p, nil)
		r.Limits.MaxLoopItems = 10
		_, err := r.Run(context.Background(), "sum", in.(map[string]any))
		if err == nil {
			t.Fatal("20 items ran under a limit of 10")
		}
		errs = append(errs, err.Error())
	}
	if errs[0] != errs[1] {
		t.Fatalf("lazy: %s\neager: %s", errs[1], errs[0])
	}
}
