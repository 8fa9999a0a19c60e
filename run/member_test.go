package run

import (
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
)

// TestMemberAccessCompiledDirect: the checker compiles member access on
// objects to a direct call (check/fetch.go), not expr's reflective OpFetch.
func TestMemberAccessCompiledDirect(t *testing.T) {
	p := loadProject(t, map[string]string{"flows/sum.yaml": loopFlow})
	fe := p.Flow("sum").Steps[1].(*lang.ForEachStep)
	ifs := fe.Steps[0].(*lang.IfStep)
	set := ifs.Then[0].(*lang.SetStep)
	for _, e := range []*lang.Expr{ifs.Cond.Expr, set.Vars[0].Value.Expr, fe.Items.Expr} {
		d := e.Program.Disassemble()
		if strings.Contains(d, "OpFetch") || !strings.Contains(d, "OpCallTyped") {
			t.Errorf("%s:\n%s", e.Src, d)
		}
	}
}
