package interpreter

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/vm"
)

// Expr is one compiled `${ ... }` expression.
type Expr struct {
	Src     string
	Program *vm.Program
	Pos     Pos // of the expression's first character
}

// templatePart is a piece of a string scalar: literal text or an expression.
type templatePart struct {
	text string
	expr *Expr
}

// Value is a YAML value compiled for evaluation: a constant, one expression
// (which keeps its type), a text template, or a mapping/list of values.
type Value struct {
	kind  valueKind
	c     any   // valConst
	expr  *Expr // valExpr
	parts []templatePart
	keys  []string
	vals  []*Value
	Node  *Node
}

type valueKind uint8

const (
	valConst valueKind = iota
	valExpr
	valTemplate
	valMap
	valList
)

// IsConst reports whether the value holds no expression.
func (v *Value) IsConst() bool { return v == nil || v.kind == valConst }

// Const returns the constant of a constant value.
func (v *Value) Const() any {
	if v == nil {
		return nil
	}
	return v.c
}

// rawSpan is an expression found in a scalar: its source and byte offsets.
type rawSpan struct {
	start, end int // the expression text is s[start:end], between "${" and "}"
}

// scanTemplate splits a scalar into literal text and expression spans. It
// returns an error message and the byte offset it applies to when a `${` is
// not closed.
func scanTemplate(s string) (lits []string, spans []rawSpan, errOff int, err error) {
	var lit strings.Builder
	i := 0
	for i < len(s) {
		if strings.HasPrefix(s[i:], "$${") {
			lit.WriteString("${")
			i += 3
			continue
		}
		if strings.HasPrefix(s[i:], "${") {
			end, ok := matchBrace(s, i+2)
			if !ok {
				return nil, nil, i, errors.New("`${` is not closed by a matching `}`")
			}
			lits = append(lits, lit.String())
			lit.Reset()
			spans = append(spans, rawSpan{i + 2, end})
			i = end + 1
			continue
		}
		lit.WriteByte(s[i])
		i++
	}
	lits = append(lits, lit.String())
	return lits, spans, 0, nil
}

// matchBrace finds the `}` closing an expression that starts at i, skipping
// nested braces and string literals.
func matchBrace(s string, i int) (int, bool) {
	depth := 0
	for i < len(s) {
		switch c := s[i]; c {
		case '"', '\'', '`':
			i++
			for i < len(s) && s[i] != c {
				if s[i] == '\\' && c != '`' {
					i++
				}
				i++
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i, true
			}
			depth--
		}
		i++
	}
	return 0, false
}

// hasTemplate reports whether a string holds `${` or `$${`.
func hasTemplate(s string) bool { return strings.Contains(s, "${") }

// exprError converts an expr compile error into a diagnostic positioned at the
// offending character inside the YAML scalar.
func exprError(n *Node, src string, start int, err error) Diagnostic {
	var fe *file.Error
	msg := err.Error()
	off := start
	if errors.As(err, &fe) {
		msg = fe.Message
		off = start + runeToByte(src, fe.From)
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSpace(msg)
	if msg == "unexpected token EOF" {
		msg = "unexpected end of the expression"
	}
	return Diagnostic{Pos: n.At(off), Message: "expression: " + msg, Hint: exprHint(msg, src)}
}

func runeToByte(s string, r int) int {
	i := 0
	for n := 0; n < r && i < len(s); n++ {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return i
}

func exprHint(msg, src string) string {
	switch {
	case strings.Contains(msg, "unexpected token Operator(\":\")") || strings.Contains(msg, "unexpected token Bracket(\"{\")"):
		return "a map literal in map/filter needs parentheses: ({\"id\": .id})"
	case msg == "unknown name $env":
		return "the language has no $env; name what you need: inputs, vars, steps, connection, ..."
	case strings.Contains(msg, "mismatched types"):
		return "convert one side, e.g. string(x) or int(x)"
	}
	return ""
}

// nameCollector is an expr AST visitor that records the member accesses the
// checker must verify itself (steps.X), and the names used.
type nameCollector struct {
	stepRefs []stepRef
}

type stepRef struct {
	id   string
	from int // rune offset in the expression source
}

func (c *nameCollector) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok {
		return
	}
	id, ok := m.Node.(*ast.IdentifierNode)
	if !ok || id.Value != "steps" {
		return
	}
	if p, ok := m.Property.(*ast.StringNode); ok {
		c.stepRefs = append(c.stepRefs, stepRef{id: p.Value, from: m.Property.Location().From})
	}
}

// envRef finds expr's built-in `$env`, the whole scope as one map. The
// language has no such name: it would hand a flow the connection (secrets
// included) wholesale, and the interpreter reuses scope maps between calls.
type envRef struct {
	found bool
	loc   file.Location
}

func (e *envRef) Visit(node *ast.Node) {
	if id, ok := (*node).(*ast.IdentifierNode); ok && id.Value == "$env" && !e.found {
		e.found, e.loc = true, id.Location()
	}
}

// newCompileConfig builds an expr configuration once, for a scope to compile
// many expressions with (expr.Compile would rebuild it for each one).
func newCompileConfig(opts []expr.Option) *conf.Config {
	c := conf.CreateNew()
	for _, o := range opts {
		o(c)
	}
	for name := range c.Disabled {
		delete(c.Builtins, name)
	}
	c.Check()
	return c
}

// compileWith compiles one expression with a shared configuration, as
// expr.Compile does, with coll as the only patch visitor.
func compileWith(c *conf.Config, src string, coll *nameCollector) (*vm.Program, error) {
	c.Visitors = append(c.Visitors[:0], clockPatch{}) // see clock.go
	if coll != nil {
		c.Visitors = append(c.Visitors, coll)
	}
	tree, err := checker.ParseCheck(src, c)
	if err != nil {
		return nil, err
	}
	var env envRef
	ast.Walk(&tree.Node, &env)
	if env.found {
		return nil, (&file.Error{Location: env.loc, Message: "unknown name $env"}).Bind(tree.Source)
	}
	if c.Optimize {
		if err := optimizer.Optimize(&tree.Node, c); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, fe.Bind(tree.Source)
			}
			return nil, err
		}
	}
	return compiler.Compile(tree, c)
}

// typeName describes a run-time value's type in the language's terms.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, int32, uint64, uint, uint32:
		return "integer"
	case float64, float32:
		return "number"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	return fmt.Sprintf("%T", v)
}
