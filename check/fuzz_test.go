package check

import (
	"fmt"
	"strings"
	"testing"

	"github.com/expr-lang/expr/types"

	"github.com/flowrun/flowrun/lang"
)

// FuzzTemplate compiles arbitrary text as a templated scalar in a typed
// scope: no panic, and a diagnostic for every failure; checked only (as
// validate and the editor do) it gets the same diagnostics.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"${ inputs.n + 1 }", "a ${ b } c", "$${ x }", "${ map(xs, {.id}) }", "${ '}' }", "${", "${ {\"a\": 1} }", "${ steps.x.body }", "${ now() | date }", "${ 1 / 0 }", "${ inputs.n.x }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 || strings.Count(src, "(") > 200 {
			return
		}
		var got [2]string
		for i, compile := range []bool{true, false} {
			d := &lang.Diags{}
			c := &projChecker{proj: &lang.Project{Flows: map[string]*lang.Flow{}}, d: d, compile: compile}
			s := &scope{c: c, flow: &lang.Flow{Name: "f"}, env: types.Map{"inputs": types.Map{"n": types.Int}, "vars": types.Map{}, "steps": types.Map{}},
				definite: map[string]bool{}, allIDs: map[string]bool{}}
			n := &lang.Node{Kind: lang.StringNode, Str: src, Pos: lang.Pos{File: "f.yaml", Line: 1, Col: 1}}
			v := lang.DecodeValue(n, d)
			if v == nil {
				t.Fatal("nil value")
			}
			s.value(v)
			failed := false
			v.Exprs(func(e *lang.Expr, _ *lang.Node) {
				failed = failed || e.Tree == nil || compile && e.Program == nil
				if !compile && e.Program != nil {
					t.Fatalf("%q: checked only, yet compiled", src)
				}
			})
			if failed && len(d.List) == 0 {
				t.Fatalf("%q (compile %v): expression not compiled and no diagnostic", src, compile)
			}
			got[i] = fmt.Sprint(d.List)
		}
		if got[0] != got[1] {
			t.Fatalf("%q: compiled and checked-only diagnostics differ:\n%s\n%s", src, got[0], got[1])
		}
	})
}
