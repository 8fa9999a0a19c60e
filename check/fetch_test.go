package check

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
)

type named map[string]any

func (named) Hello() string { return "hi" }

// TestGetMatchesFetch: member access rewritten to get gives expr's own
// values, errors and error positions.
func TestGetMatchesFetch(t *testing.T) {
	env := map[string]any{
		"obj":   map[string]any{"a": map[string]any{"b": 2}, "n": nil, "l": []any{1, 2}},
		"null":  nil,
		"list":  []any{map[string]any{"active": true}, map[string]any{"active": false}},
		"num":   3,
		"str":   "text",
		"typed": map[string]int{"x": 1},
		"named": named{"k": "v"},
	}
	for _, src := range []string{
		`obj.a.b`, `obj["a"]["b"]`, `obj.missing`, `obj.missing?.x`, `obj.n?.x`, `obj?.a?.b`,
		`obj.n.x`, `null.x`, `  null.x`, `obj.a.b.c`, `num.x`, `str.x`, `obj.l.x`, `obj.l[1]`, `obj.l[-1]`,
		`typed.x`, `typed.y`, `named.k`, `named.Hello`, `named.Hello()`,
		`filter(list, .active)`, `map(list, #.active)`, `len(obj.a)`, `obj.a.b + 1 == 3`,
	} {
		t.Run(src, func(t *testing.T) {
			plain, errP := expr.Compile(src)
			patched, errQ := expr.Compile(src, expr.Patch(getPatch{}))
			if errP != nil || errQ != nil {
				t.Fatalf("compile: %v / %v", errP, errQ)
			}
			run := func(p *vm.Program) string {
				out, err := expr.Run(p, env)
				if err != nil {
					var fe *file.Error
					if errors.As(err, &fe) {
						return fmt.Sprintf("error at %d: %s", fe.From, fe.Message)
					}
					return "error: " + err.Error()
				}
				return fmt.Sprintf("%#v", out)
			}
			if src == `obj.a.b` && !strings.Contains(patched.Disassemble(), "OpCallTyped") {
				t.Fatalf("not rewritten:\n%s", patched.Disassemble())
			}
			if a, b := run(plain), run(patched); a != b {
				t.Errorf("expr: %s\nget:  %s", a, b)
			}
		})
	}
}
