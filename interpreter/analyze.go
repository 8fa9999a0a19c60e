package interpreter

import (
	"github.com/expr-lang/expr/ast"
)

// stepUse is what a flow's expressions read of `steps`, found once per flow
// from its compiled programs, so that a run can skip building results
// nobody reads (an http step's response headers). It errs on the side of
// "used": anything it cannot follow counts as reading everything.
type stepUse struct {
	all    bool                       // `steps` itself, or steps[<not a constant>]
	whole  map[string]bool            // steps.<id> read as a whole
	fields map[string]map[string]bool // steps.<id>.<field>
}

// readsField reports whether steps.<id>.<field> (or more) may be read.
func (u *stepUse) readsField(id, field string) bool {
	return u.all || u.whole[id] || u.fields[id][field]
}

// stepUses returns the cached analysis of a flow.
func (r *Runner) stepUses(f *Flow) *stepUse {
	if v, ok := r.stepUse.Load(f); ok {
		return v.(*stepUse)
	}
	u := analyzeFlow(f)
	r.stepUse.Store(f, u)
	return u
}

func analyzeFlow(f *Flow) *stepUse {
	c := &useCollector{}
	for _, list := range [][]Step{f.Steps, f.Register, f.Deregister, f.Event} {
		c.steps(list)
	}
	return c.result()
}

type useCollector struct {
	members []*ast.MemberNode
	idents  []*ast.IdentifierNode
	unknown bool // a step type this analysis does not know
}

// Visit implements ast.Visitor.
func (c *useCollector) Visit(n *ast.Node) {
	switch t := (*n).(type) {
	case *ast.MemberNode:
		c.members = append(c.members, t)
	case *ast.IdentifierNode:
		if t.Value == "steps" {
			c.idents = append(c.idents, t)
		}
	}
}

func (c *useCollector) value(v *Value) {
	if v == nil {
		return
	}
	switch v.kind {
	case valExpr:
		c.expr(v.expr)
	case valTemplate:
		for _, p := range v.parts {
			c.expr(p.expr)
		}
	case valMap, valList:
		for _, x := range v.vals {
			c.value(x)
		}
	}
}

func (c *useCollector) expr(e *Expr) {
	if e == nil || e.Program == nil {
		return
	}
	n := e.Program.Node()
	ast.Walk(&n, c)
}

func (c *useCollector) named(nvs []NamedValue) {
	for _, nv := range nvs {
		c.value(nv.Value)
	}
}

func (c *useCollector) auth(a *Auth) {
	if a == nil {
		return
	}
	for _, v := range []*Value{a.Username, a.Password, a.Token, a.HeaderV} {
		c.value(v)
	}
	if o := a.OAuth2; o != nil {
		for _, v := range []*Value{o.AuthorizeURL, o.TokenURL, o.RefreshURL, o.ClientID, o.ClientSecret} {
			c.value(v)
		}
	}
}

func (c *useCollector) steps(list []Step) {
	for _, st := range list {
		switch s := st.(type) {
		case *SetStep:
			c.named(s.Vars)
		case *HTTPStep:
			for _, v := range []*Value{s.Path, s.URL, s.JSON, s.Form, s.Body} {
				c.value(v)
			}
			c.named(s.Query)
			c.named(s.Headers)
			c.auth(s.Auth)
			if p := s.Paginate; p != nil {
				c.value(p.Items)
				c.value(p.Next)
				c.named(p.NextQuery)
			}
		case *IfStep:
			c.value(s.Cond)
			c.steps(s.Then)
			c.steps(s.Else)
		case *SwitchStep:
			for _, k := range s.Cases {
				c.value(k.When)
				c.steps(k.Steps)
			}
			c.steps(s.Default)
		case *ForEachStep:
			c.value(s.Items)
			c.value(s.Collect)
			c.steps(s.Steps)
		case *CallStep:
			c.named(s.With)
		case *ReturnStep:
			c.value(s.Value)
		case *FailStep:
			c.value(s.Message)
			c.value(s.Code)
			c.value(s.Details)
		case *TryStep:
			c.steps(s.Try)
			c.steps(s.Catch)
		case *ContinueIfStep:
			c.value(s.Cond)
			c.value(s.Message)
		case *LogStep:
			c.value(s.Message)
		case *WaitStep:
			c.value(s.Duration)
		default:
			c.unknown = true
		}
	}
}

func (c *useCollector) result() *stepUse {
	u := &stepUse{all: c.unknown, whole: map[string]bool{}, fields: map[string]map[string]bool{}}
	inner := map[ast.Node]bool{} // nodes that are the object of a member access
	for _, m := range c.members {
		inner[m.Node] = true
	}
	for _, id := range c.idents {
		if !inner[id] {
			u.all = true // `steps` as a value
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
			u.all = true
			return "", false
		}
		return p.Value, true
	}
	for _, m := range c.members {
		if id, ok := stepOf(m); ok && !inner[m] {
			u.whole[id] = true
		}
		if id, ok := stepOf(m.Node); ok {
			p, ok := m.Property.(*ast.StringNode)
			if !ok {
				u.whole[id] = true
				continue
			}
			if u.fields[id] == nil {
				u.fields[id] = map[string]bool{}
			}
			u.fields[id][p.Value] = true
		}
	}
	return u
}
