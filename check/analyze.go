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
			if fe, ok := st.(*lang.ForEachStep); ok {
				c.loopItems(fe.Items)
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
	f.LoopInputs = c.loopInputs(f.InputsEscape)
}

type useCollector struct {
	members []*ast.MemberNode
	inner   map[ast.Node]bool // objects(), once every expression is visited
	// the member accesses compiled as calls of get (fetch.go),
	// and the members whose object is one, as the accesses they stand for
	alias    map[ast.Node]*ast.MemberNode
	idents   []*ast.IdentifierNode
	inputs   []*ast.IdentifierNode
	usesFlow bool
	// the whole expressions of for_each lists that are inputs.<name>
	// (the member, or the call of get standing for it)
	loops []ast.Node
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
		if e.Tree == nil {
			return
		}
		n := e.Tree
		ast.Walk(&n, c)
	})
}

// loopItems notes a for_each's list when it is exactly `${ inputs.<name> }`.
func (c *useCollector) loopItems(v *lang.Value) {
	if v == nil || v.Kind != lang.ValExpr || v.Expr.Tree == nil {
		return
	}
	if _, ok := inputMember(v.Expr.Tree); ok {
		c.loops = append(c.loops, v.Expr.Tree)
	}
}

// inputMember reports the name of n when n is inputs.<name> or
// inputs["name"] (as a member or as the call of get that stands for one).
func inputMember(n ast.Node) (string, bool) {
	var obj, prop ast.Node
	switch t := n.(type) {
	case *ast.MemberNode:
		if t.Optional || t.Method {
			return "", false
		}
		obj, prop = t.Node, t.Property
	case *ast.CallNode:
		if !isGet(t.Callee) || len(t.Arguments) != 2 {
			return "", false
		}
		obj, prop = t.Arguments[0], t.Arguments[1]
	default:
		return "", false
	}
	id, ok := obj.(*ast.IdentifierNode)
	if !ok || id.Value != "inputs" {
		return "", false
	}
	p, ok := prop.(*ast.StringNode)
	if !ok {
		return "", false
	}
	return p.Value, true
}

// loopInputs is Flow.LoopInputs: the inputs read as the list of some
// for_each and nowhere else. escape (inputs used as a whole) or any member
// of inputs with a computed name (inputs[k]) leaves none.
func (c *useCollector) loopInputs(escape bool) map[string]bool {
	if escape || len(c.loops) == 0 {
		return nil
	}
	loop := map[ast.Node]bool{}
	for _, n := range c.loops {
		loop[n] = true
		if m, ok := c.alias[n]; ok {
			loop[m] = true
		}
	}
	out := map[string]bool{}
	other := map[string]bool{}
	for _, m := range c.members {
		id, ok := m.Node.(*ast.IdentifierNode)
		if !ok || id.Value != "inputs" {
			continue
		}
		p, ok := m.Property.(*ast.StringNode)
		if !ok {
			return nil // inputs[k]: any input
		}
		if loop[m] && !m.Optional {
			out[p.Value] = true
		} else {
			other[p.Value] = true
		}
	}
	for name := range other {
		delete(out, name)
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// objects is the set of nodes that are the object of a member access,
// built once for result and inputsEscape.
func (c *useCollector) objects() map[ast.Node]bool {
	if c.inner == nil {
		c.inner = make(map[ast.Node]bool, len(c.members))
		for _, m := range c.members {
			c.inner[m.Node] = true
		}
	}
	return c.inner
}

// inputsEscape reports whether some `inputs` is not the object of a member
// access (inputs.x, inputs["x"], inputs?.x): `inputs` as a value, passed to
// a function or returned.
func (c *useCollector) inputsEscape() bool {
	inner := c.objects()
	for _, id := range c.inputs {
		if !inner[id] {
			return true
		}
	}
	return false
}

func (c *useCollector) result() lang.StepReads {
	u := lang.StepReads{Whole: map[string]bool{}, Fields: map[string]map[string]bool{}}
	inner := c.objects()
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
