package lsp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/parser"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

// refs collects the names an expression reads and the member chains on
// them with constant names (steps.get, inputs.id).
type refs struct {
	names  []string
	chains [][]string
}

func (r *refs) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		r.names = append(r.names, n.Value)
	case *ast.MemberNode:
		var chain []string
		var cur ast.Node = n
		for {
			m, ok := cur.(*ast.MemberNode)
			if !ok {
				break
			}
			p, ok := m.Property.(*ast.StringNode)
			if !ok {
				return
			}
			chain = append([]string{p.Value}, chain...)
			cur = m.Node
		}
		if id, ok := cur.(*ast.IdentifierNode); ok {
			r.chains = append(r.chains, append([]string{id.Value}, chain...))
		}
	}
}

// TestScopeMatchesCheck keeps namesAt in step with the checker: every
// name that a shipped connector's expressions read (they compile, so the
// checker has them in scope) is among the names the server offers there,
// and so is every chain of fields they read on inputs, steps, vars and
// connection, as far as the declarations type it.
func TestScopeMatchesCheck(t *testing.T) {
	dirs, _ := filepath.Glob("../connectors/*")
	s := New("test", os.Stderr)
	checked := 0
	for _, dir := range dirs {
		dir, _ = filepath.Abs(dir)
		p, err := load.Project(dir)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		check := func(file string, v *lang.Value) {
			v.Exprs(func(e *lang.Expr, _ *lang.Node) {
				d := s.docs[file]
				if d == nil {
					b, _ := os.ReadFile(file)
					d = &document{uri: uriOf(file), path: file}
					d.set(string(b))
					s.docs[file] = d
				}
				a := &at{s: s, doc: d, line: e.Pos.Line - 1, col: e.Pos.Col - 1, rs: []rune(lineAt(d.lines, e.Pos.Line-1))}
				a.p = s.projectOf(file)
				a.kind = fileKind(a.p.root, file)
				tree, path := a.exprPath(a.col)
				names := a.scope(tree).namesAt(path)
				tr, err := parser.Parse(e.Src)
				if err != nil {
					t.Fatalf("%s: %v", e.Pos, err)
				}
				r := &refs{}
				ast.Walk(&tr.Node, r)
				for _, n := range r.names {
					if lookupFunction(n) != nil || n == "$env" {
						continue
					}
					if resolve(names, []string{n}) == nil {
						t.Errorf("%s: %q is read but not offered at %s", e.Pos, n, pathString(path))
					}
				}
				for _, ch := range r.chains {
					switch ch[0] {
					case "inputs", "steps", "vars", "connection":
						if resolve(names, ch[:2]) == nil {
							t.Errorf("%s: %v is read but not offered at %s", e.Pos, ch[:2], pathString(path))
						}
					}
				}
				checked++
			})
		}
		check(p.Connector.File, p.Connector.BaseURL)
		lang.AuthValues(p.Connector.Auth, func(v *lang.Value) { check(p.Connector.File, v) })
		for _, h := range p.Connector.HTTP.Headers {
			check(p.Connector.File, h.Value)
		}
		for _, name := range p.Order {
			f := p.Flows[name]
			for sec := lang.Section(0); sec < lang.NumSections; sec++ {
				lang.Walk(f.Section(sec), func(st lang.Step) bool {
					lang.Values(st, func(v *lang.Value) { check(f.File, v) })
					return true
				})
			}
			check(f.File, f.Dedupe)
			if f.Verify != nil {
				check(f.File, f.Verify.Secret)
			}
		}
		s.docs = map[string]*document{}
	}
	if checked < 300 {
		t.Fatalf("only %d expressions checked", checked)
	}
	t.Logf("%d expressions", checked)
}
