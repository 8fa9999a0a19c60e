package check

import (
	"testing"

	"github.com/flowrun/flowrun/lang"
)

func TestSchemaHint(t *testing.T) {
	expr := &lang.Node{Kind: lang.StringNode, Str: "${ inputs.limit }"}
	lit := &lang.Node{Kind: lang.StringNode, Str: "3"}
	const want = "this key takes a literal value, not an expression"
	for _, c := range []struct {
		n    *lang.Node
		msg  string
		want string
	}{
		{expr, "expected integer, got string", want},
		{expr, "expected integer or boolean, got string", want},
		{expr, "method must be one of GET, POST", want},
		{lit, "expected integer, got string", ""},
		{expr, "unknown key \"x\" in http step", ""},
		{nil, "expected integer, got string", ""},
	} {
		if got := SchemaHint(c.n, c.msg); got != c.want {
			t.Errorf("SchemaHint(%v, %q) = %q, want %q", c.n, c.msg, got, c.want)
		}
	}
}
