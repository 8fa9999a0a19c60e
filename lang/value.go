package lang

import (
	"errors"
	"strings"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Expr is one `${ ... }` expression: its source and position, decoded by the
// loader, and its checked tree and program, made by the checker against the
// names in scope where it stands.
type Expr struct {
	Src     string
	Tree    ast.Node    // the checked tree; nil until checked, and when the check failed
	Program *vm.Program // the compiled program; also nil when the project was loaded only to be checked (load.Options.CheckOnly)
	Pos     Pos         // of the expression's first character
	Off     int         // byte offset of Src in its scalar's value, for positions inside it
}

// TemplatePart is a piece of a string scalar: literal text or an expression.
type TemplatePart struct {
	Text string
	Expr *Expr
}

// ValueKind says what a Value holds.
type ValueKind uint8

// The kinds of Value.
const (
	ValConst    ValueKind = iota // a constant: Lit
	ValExpr                      // one expression (which keeps its type): Expr
	ValTemplate                  // text with expressions: Parts
	ValMap                       // a mapping some of whose values hold expressions: Keys, Vals
	ValList                      // a list some of whose items hold expressions: Vals
)

// Value is a YAML value whose strings may hold expressions: a constant, one
// expression, a text template, or a mapping/list of values.
type Value struct {
	Kind  ValueKind
	Lit   any
	Expr  *Expr
	Parts []TemplatePart
	Keys  []string
	Vals  []*Value
	Node  *Node
}

// IsConst reports whether the value holds no expression.
func (v *Value) IsConst() bool { return v == nil || v.Kind == ValConst }

// Const returns the constant of a constant value.
func (v *Value) Const() any {
	if v == nil {
		return nil
	}
	return v.Lit
}

// Exprs calls fn for every expression of the value, in file order, with the
// string scalar that holds it.
func (v *Value) Exprs(fn func(e *Expr, scalar *Node)) {
	if v == nil {
		return
	}
	switch v.Kind {
	case ValExpr:
		fn(v.Expr, v.Node)
	case ValTemplate:
		for _, p := range v.Parts {
			if p.Expr != nil {
				fn(p.Expr, v.Node)
			}
		}
	case ValMap, ValList:
		for _, x := range v.Vals {
			x.Exprs(fn)
		}
	}
}

// DecodeValue turns a YAML value into a Value: string scalars holding `${ }`
// become expressions or templates (not yet compiled), a mapping or list
// without any expression becomes one constant. Problems with the template
// syntax itself are added to d.
func DecodeValue(n *Node, d *Diags) *Value {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case StringNode:
		if !HasTemplate(n.Str) {
			return &Value{Kind: ValConst, Lit: n.Str, Node: n}
		}
		return decodeTemplate(n, d)
	case MapNode:
		v := &Value{Kind: ValMap, Node: n}
		allConst := true
		for i, k := range n.Keys {
			cv := DecodeValue(n.Vals[i], d)
			v.Keys = append(v.Keys, k.Str)
			v.Vals = append(v.Vals, cv)
			allConst = allConst && cv.IsConst()
		}
		if allConst {
			return &Value{Kind: ValConst, Lit: n.Value(), Node: n}
		}
		return v
	case ListNode:
		v := &Value{Kind: ValList, Node: n}
		allConst := true
		for _, it := range n.Items {
			cv := DecodeValue(it, d)
			v.Vals = append(v.Vals, cv)
			allConst = allConst && cv.IsConst()
		}
		if allConst {
			return &Value{Kind: ValConst, Lit: n.Value(), Node: n}
		}
		return v
	}
	return &Value{Kind: ValConst, Lit: n.Value(), Node: n}
}

// decodeTemplate splits a string scalar holding `${` into text and expressions.
func decodeTemplate(n *Node, d *Diags) *Value {
	lits, spans, errOff, err := scanTemplate(n.Str)
	if err != nil {
		d.List = append(d.List, Diagnostic{Pos: n.At(errOff), Message: err.Error(),
			Hint: "close the expression with `}`, or write `$${` for a literal `${`"})
		return &Value{Kind: ValConst, Lit: n.Str, Node: n}
	}
	if len(spans) == 0 {
		return &Value{Kind: ValConst, Lit: lits[0], Node: n}
	}
	exprs := make([]*Expr, len(spans))
	for i, sp := range spans {
		src := n.Str[sp.start:sp.end]
		exprs[i] = &Expr{Src: src, Pos: n.At(sp.start + leadingSpace(src)), Off: sp.start}
		if strings.TrimSpace(src) == "" {
			d.List = append(d.List, Diagnostic{Pos: n.At(sp.start - 2), Message: "empty expression `${ }`"})
		}
	}
	if len(spans) == 1 && strings.TrimSpace(lits[0]) == "" && strings.TrimSpace(lits[1]) == "" {
		return &Value{Kind: ValExpr, Expr: exprs[0], Node: n}
	}
	v := &Value{Kind: ValTemplate, Node: n}
	for i, lit := range lits {
		if lit != "" {
			v.Parts = append(v.Parts, TemplatePart{Text: lit})
		}
		if i < len(exprs) {
			v.Parts = append(v.Parts, TemplatePart{Expr: exprs[i]})
		}
	}
	return v
}

func leadingSpace(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t\r\n"))
}

// rawSpan is an expression found in a scalar: its byte offsets.
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

// HasTemplate reports whether a string holds `${` or `$${`.
func HasTemplate(s string) bool { return strings.Contains(s, "${") }
