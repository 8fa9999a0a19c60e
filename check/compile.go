package check

import (
	"errors"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"
	"unsafe"

	"github.com/flowrun/flowrun/builtins"
	"github.com/flowrun/flowrun/lang"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/checker/nature"
	"github.com/expr-lang/expr/compiler"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/optimizer"
	"github.com/expr-lang/expr/types"
	"github.com/expr-lang/expr/vm"
)

// exprError converts an expr compile error into a diagnostic positioned at the
// offending character inside the YAML scalar.
func exprError(n *lang.Node, src string, start int, err error) lang.Diagnostic {
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
	return lang.Diagnostic{Pos: n.At(off), Message: "expression: " + msg, Hint: exprHint(msg, src)}
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
		return "convert one side, e.g. toString(x) or int(x)"
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

// nullableEquality makes `==` and `!=` between two integers, or two strings,
// compare values of any type. A name typed integer or string may hold null
// at run time (error.status without a status, an optional input not given),
// and expr compiles such an equality to a type assertion that panics on
// null; compared as
// values, null == 404 is false as the language says (SPEC §8.6).
type nullableEquality struct{}

var anyType = reflect.TypeOf((*any)(nil)).Elem()

func (nullableEquality) Visit(node *ast.Node) {
	b, ok := (*node).(*ast.BinaryNode)
	if !ok || (b.Operator != "==" && b.Operator != "!=") {
		return
	}
	k := b.Left.Type().Kind()
	if k != b.Right.Type().Kind() || (k != reflect.Int && k != reflect.String) {
		return
	}
	// the side that can be null (a literal cannot) compares as any value
	if isLiteral(b.Left) {
		b.Right.SetType(anyType)
	} else {
		b.Left.SetType(anyType)
	}
}

func isLiteral(n ast.Node) bool {
	switch n.(type) {
	case *ast.IntegerNode, *ast.StringNode:
		return true
	}
	return false
}

// baseConfig returns the project's expr configuration: the builtins and
// functions, without an environment (scope.config sets it). Building it
// once per project instead of once per scope saved ~30% of the check's
// allocations.
func (c *projChecker) baseConfig() *conf.Config {
	if c.cfg == nil {
		cfg := conf.CreateNew()
		for _, o := range Options() {
			o(cfg)
		}
		for name := range cfg.Disabled {
			delete(cfg.Builtins, name)
		}
		cfg.Check()
		c.cfg = cfg
	}
	return c.cfg
}

// envNature is the nature of a scope's environment, as types.Map.Nature
// computes it, with the natures of its values taken from the project's cache.
func (c *projChecker) envNature(env types.Map) nature.Nature {
	if _, ok := env[types.Extra]; ok {
		return env.Nature()
	}
	nt := nature.NatureOf(map[string]any{})
	if nt.TypeData == nil {
		nt.TypeData = new(nature.TypeData)
	}
	nt.Fields = make(map[string]nature.Nature, len(env))
	nt.Strict = true
	for k, v := range env {
		nt.Fields[k] = c.typeNature(v)
	}
	return nt
}

// typeNature is t.Nature(), cached by identity for maps.
func (c *projChecker) typeNature(t types.Type) nature.Nature {
	m, ok := t.(types.Map)
	if !ok || m == nil {
		return t.Nature()
	}
	key := reflect.ValueOf(m).UnsafePointer()
	if nt, ok := c.natures[key]; ok {
		return nt
	}
	nt := m.Nature()
	if c.natures == nil {
		c.natures = map[unsafe.Pointer]nature.Nature{}
	}
	c.natures[key] = nt
	return nt
}

// compileWith checks and compiles one expression with a shared
// configuration, as expr.Compile does, with coll as the only patch visitor,
// and returns the final tree and the program; without compile it stops
// before the run-time rewrites and the bytecode and returns no program.
func compileWith(c *conf.Config, src string, coll *nameCollector, compile bool) (ast.Node, *vm.Program, error) {
	c.Visitors = append(c.Visitors[:0], clockPatch{}) // see clock.go
	if coll != nil {
		c.Visitors = append(c.Visitors, coll)
	}
	tree, err := checker.ParseCheck(src, c)
	if err != nil {
		return nil, nil, err
	}
	if tree, err = patchMemory(src, tree, c); err != nil { // see memory.go
		return nil, nil, err
	}
	var env envRef
	ast.Walk(&tree.Node, &env)
	if env.found {
		return nil, nil, (&file.Error{Location: env.loc, Message: "unknown name $env"}).Bind(tree.Source)
	}
	ast.Walk(&tree.Node, nullableEquality{})
	if c.Optimize {
		if err := optimizer.Optimize(&tree.Node, c); err != nil {
			var fe *file.Error
			if errors.As(err, &fe) {
				return nil, nil, fe.Bind(tree.Source)
			}
			return nil, nil, err
		}
	}
	if !compile {
		return tree.Node, nil, nil
	}
	ast.Walk(&tree.Node, getPatch{}) // see fetch.go
	prog, err := compiler.Compile(tree, c)
	if err != nil {
		return nil, nil, err
	}
	return tree.Node, prog, nil
}

var (
	optsOnce sync.Once
	opts     []expr.Option
)

// Options are the compile options shared by every expression: the
// builtins library.
func Options() []expr.Option {
	optsOnce.Do(func() {
		// expr.Function options rebuild their function on every Compile;
		// build the table once and copy it into each compile's config.
		c := conf.CreateNew()
		for _, o := range append(builtins.Options(), clockOptions()...) { // clock.go
			o(c)
		}
		fns := c.Functions // memory.go adds its functions to a config when a rewrite needs them
		opts = []expr.Option{func(c *conf.Config) {
			for name, fn := range fns {
				c.Functions[name] = fn
			}
		}}
	})
	return opts
}
