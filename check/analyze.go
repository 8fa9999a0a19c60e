package check

import (
	"github.com/expr-lang/expr/ast"

	"github.com/flowrun/flowrun/lang"
)

// analyze computes, once at load, what runs of a flow need to know about
// it, from its compiled expressions: whether it reads `flow`, what it reads
// of `steps`, and what each section writes.
func analyze(f *lang.Flow) {
	c := &useCollector{}
	for s := lang.SectionSteps; s < lang.NumSections; s++ {
		list := f.Section(s)
		var w lang.Writes
		lang.Walk(list, func(st lang.Step) bool {
			if st.Base().ID != "" {
				w.Steps = true
			}
			if _, ok := st.(*lang.SetStep); ok {
				w.Vars = true
			}
			lang.Values(st, c.value)
			return true
		})
		f.Writes[s] = w
	}
	c.value(f.Dedupe)
	f.Reads = c.result()
	f.UsesFlow = c.usesFlow
	f.InputsEscape = c.inputsEscape()
}

type useCollector struct {
	members []*ast.MemberNode
	// the member accesses compiled as calls of get (fetch.go),
	// and the members whose object is one, as the accesses they stand for
	alias    map[ast.Node]*ast.MemberNode
	idents   []*ast.IdentifierNode
	inputs   []*ast.IdentifierNode
	usesFlow bool
}

// Visit implements ast.Visitor.
func (c *useCollector) Visit(n *ast.Node) {
	switch t := (*n).(type) {
	case *ast.MemberNode:
		if a, ok := c.alias[t.Node]; ok { // children are visited first
			m := *t
			m.Node = a
			c.addAlias(t, &m)
			return
		}
		c.members = append(c.members, t)
	case *ast.CallNode:
		if isGet(t.Callee) && len(t.Arguments) == 2 {
			m := &ast.MemberNode{Node: t.Arguments[0], Property: t.Arguments[1]}
			if a, ok := c.alias[m.Node]; ok {
				m.Node = a
			}
			c.addAlias(t, m)
		}
	case *ast.IdentifierNode:
		switch t.Value {
		case "steps":
			c.idents = append(c.idents, t)
		case "flow":
			c.usesFlow = true
		case "inputs":
			c.inputs = append(c.inputs, t)
		}
	}
}

func (c *useCollector) addAlias(n ast.Node, m *ast.MemberNode) {
	if c.alias == nil {
		c.alias = map[ast.Node]*ast.MemberNode{}
	}
	c.alias[n] = m
	c.members = append(c.members, m)
}

func (c *useCollector) value(v *lang.Value) {
	v.Exprs(func(e *lang.Expr, _ *lang.Node) {
		if e.Program == nil {
			return
		}
		n := e.Program.Node()
		ast.Walk(&n, c)
	})
}

// inputsEscape reports whether some `inputs` is not the object of a member
// access (inputs.x, inputs["x"], inputs?.x): `inputs` as a value, passed to
// a function or returned.
func (c *useCollector) inputsEscape() bool {
	inner := map[ast.Node]bool{}
	for _, m := range c.members {
		inner[m.Node] = true
	}
	for _, id := range c.inputs {
		if !inner[id] {
			return true
		}
	}
	return false
}

func (c *useCollector) result() lang.StepReads {
	u := lang.StepReads{Whole: map[string]bool{}, Fields: map[string]map[string]bool{}}
	inner := map[ast.Node]bool{} // nodes that are the object of a member access
	for _, m := range c.members {
		inner[m.Node] = true
	}
	for _, id := range c.idents {
		if !inner[id] {
			u.All = true // `steps` as a value
		}
	}
	stepOf := func(n ast.Node) (string, bool) { // n is steps.<id>
		m, ok := n.(*ast.MemberNode)
		if !ok {
			return "", false
		}
		if id, ok := m.Node.(*ast.IdentifierNode); !ok || id.Value != "steps" {
			return "", false
		}
		p, ok := m.Property.(*ast.StringNode)
		if !ok {
			u.All = true
			return "", false
		}
		return p.Value, true
	}
	for _, m := range c.members {
		if id, ok := stepOf(m); ok && !inner[m] {
			u.Whole[id] = true
		}
		if id, ok := stepOf(m.Node); ok {
			p, ok := m.Property.(*ast.StringNode)
			if !ok {
				u.Whole[id] = true
				continue
			}
			if u.Fields[id] == nil {
				u.Fields[id] = map[string]bool{}
			}
			u.Fields[id][p.Value] = true
		}
	}
	return u
}
