package check

import (
	"fmt"
	"math"
	"reflect"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/checker"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/parser"
	"github.com/expr-lang/expr/vm/runtime"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// A run's memory budget (run/memory.go) counts what the run stores, but one
// expression can build a string or list far bigger than anything it was
// given: `join(map(1..30000, big), "")`, `repeat(s, n)`, `s + s` on a big
// s. expr's own memory budget counts allocations, not bytes. So, once an
// expression has checked, the operations that can build big results are
// rewritten to ask the run's budget first, with the budget read from a scope
// name no expression can spell (lang.MemoryName), as now() reads the clock:
//
//	a + b          -> flowrun add(<memory>, a, b)     (a known string or list)
//	join(l, sep)   -> flowrun join(<memory>, l, sep)  (likewise repeat, replace,
//	                                                   toJSON, string, jsonEncode, toString)
//
// Without a budget in scope (a poll's dedupe key, validate) the rewritten
// calls do what the originals do.
const memoryName = lang.MemoryName

// memoryGuarded are the builtins rewritten, with an estimate of the bytes
// their result takes (at least limit+1 when it does not fit).
var memoryGuarded = map[string]func(args []any, limit int64) int64{
	"join":       estimateJoin,
	"repeat":     estimateRepeat,
	"replace":    estimateReplace,
	"toJSON":     estimateEncode,
	"string":     estimateEncode,
	"jsonEncode": estimateEncode,
	"toString":   estimateEncode,
}

const (
	addName       = "flowrun add"
	addStringName = "flowrun add string"
	addListName   = "flowrun add list"
	guardPrefix   = "flowrun "
)

// memoryPatch rewrites a checked tree; patched reports whether it did.
type memoryPatch struct {
	funcs   conf.FunctionsTable
	patched bool
}

func (p *memoryPatch) Visit(node *ast.Node) {
	var name string
	var args []ast.Node
	switch n := (*node).(type) {
	case *ast.BinaryNode:
		if n.Operator != "+" || !addable(n.Left) || !addable(n.Right) || (isLiteral(n.Left) && isLiteral(n.Right)) ||
			(!builds(n.Left) && !builds(n.Right)) {
			return
		}
		name, args = addName, []ast.Node{n.Left, n.Right}
		if t := n.Type(); t != nil {
			switch {
			case t.Kind() == reflect.String:
				name = addStringName
			case t == reflect.TypeOf([]any{}):
				name = addListName
			}
		}
	case *ast.BuiltinNode:
		if _, ok := memoryGuarded[n.Name]; !ok || n.Name == "jsonEncode" || n.Name == "toString" {
			return
		}
		name, args = guardPrefix+n.Name, n.Arguments
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || (id.Value != "jsonEncode" && id.Value != "toString") {
			return
		}
		name, args = guardPrefix+id.Value, n.Arguments
	default:
		return
	}
	if _, ok := p.funcs[name]; !ok {
		f := memoryFunction(name, p.funcs)
		if f == nil {
			return
		}
		p.funcs[name] = f // the config's own table: the re-check and the compiler find it there
	}
	loc := (*node).Location()
	callee, mem := &ast.IdentifierNode{Value: name}, &ast.IdentifierNode{Value: memoryName}
	callee.SetLocation(loc)
	mem.SetLocation(loc)
	ast.Patch(node, &ast.CallNode{Callee: callee, Arguments: append([]ast.Node{mem}, args...)})
	p.patched = true
}

// builds reports an operand of + the checker knows is a string or a list:
// `a + b` with both unknown (`vars.total + item.amount`, mostly numbers) is
// left as it is, to keep loops fast; a set of its result is still charged,
// so a string doubled by a step per iteration stops at the budget.
func builds(n ast.Node) bool {
	t := n.Type()
	if t == nil {
		return false
	}
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Array:
		return true
	}
	return false
}

// addable reports an operand of + that may be a string or a list: not a
// number, a date or a duration the checker knows of.
func addable(n ast.Node) bool {
	t := n.Type()
	if t == nil {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Slice, reflect.Array, reflect.Interface:
		return true
	}
	return false
}

// memoryFunction returns the function a rewritten call names (addName,
// guardPrefix+<builtin>), made from the original in fns (flowrun's builtin
// of that name, else expr's) the first time a rewrite needs it: building
// their signatures takes reflect.FuncOf, 140-280 us for all of them, which
// a load with no such call (a cold `flowrun run` of a small flow) does not
// pay. nil for a name that has none.
func memoryFunction(name string, fns conf.FunctionsTable) *builtin.Function {
	if f, ok := memoryFuncs.Load(name); ok {
		return f.(*builtin.Function)
	}
	var f *builtin.Function
	add := func(ret reflect.Type) *builtin.Function {
		return &builtin.Function{Name: name, Func: memoryAdd,
			Types: []reflect.Type{reflect.FuncOf([]reflect.Type{anyType, anyType, anyType}, []reflect.Type{ret}, false)}}
	}
	switch name {
	case addName:
		f = add(anyType)
	case addStringName:
		f = add(reflect.TypeFor[string]())
	case addListName:
		f = add(reflect.TypeFor[[]any]())
	default:
		f = guardFunction(strings.TrimPrefix(name, guardPrefix), fns)
		if f == nil {
			return nil
		}
	}
	actual, _ := memoryFuncs.LoadOrStore(name, f)
	return actual.(*builtin.Function)
}

// memoryFuncs holds the functions memoryFunction made, by name.
var memoryFuncs sync.Map

// memoryAdd is a + b, charged to the budget in args[0].
func memoryAdd(args ...any) (any, error) {
	a, b := args[1], args[2]
	if m, ok := args[0].(lang.MemoryBudget); ok && m != nil {
		if err := m.Check(estimateAdd(a, b, m.Limit())); err != nil {
			return nil, err
		}
	}
	return runtime.Add(a, b), nil
}

// guardFunction is the guarded form of the builtin name: its estimate is
// charged to the budget in args[0] before the original runs on the rest.
func guardFunction(name string, fns conf.FunctionsTable) *builtin.Function {
	estimate, ok := memoryGuarded[name]
	if !ok {
		return nil
	}
	orig := fns[name]
	if orig == nil {
		if i, ok := builtin.Index[name]; ok {
			orig = builtin.Builtins[i]
		}
	}
	if orig == nil || len(orig.Types) == 0 {
		return nil
	}
	types := make([]reflect.Type, len(orig.Types))
	for i, t := range orig.Types {
		in := []reflect.Type{anyType}
		for j := range t.NumIn() {
			in = append(in, t.In(j))
		}
		outs := make([]reflect.Type, t.NumOut())
		for j := range outs {
			outs[j] = t.Out(j)
		}
		types[i] = reflect.FuncOf(in, outs, t.IsVariadic())
	}
	call := callOf(orig)
	return &builtin.Function{Name: guardPrefix + name, Types: types, Func: func(args ...any) (any, error) {
		if m, ok := args[0].(lang.MemoryBudget); ok && m != nil {
			if err := m.Check(estimate(args[1:], m.Limit())); err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
		}
		return call(args[1:])
	}}
}

func callOf(f *builtin.Function) func(args []any) (any, error) {
	switch {
	case f.Func != nil:
		return func(args []any) (any, error) { return f.Func(args...) }
	case f.Fast != nil:
		return func(args []any) (any, error) { return f.Fast(args[0]), nil }
	case f.Safe != nil:
		return func(args []any) (any, error) {
			v, _, err := f.Safe(args...)
			return v, err
		}
	}
	return func([]any) (any, error) { return nil, fmt.Errorf("%s: not callable", f.Name) }
}

func estimateAdd(a, b any, limit int64) int64 {
	switch x := a.(type) {
	case string:
		if y, ok := b.(string); ok {
			return int64(len(x)) + int64(len(y))
		}
	case []any:
		if y, ok := b.([]any); ok {
			return 24 + 16*(int64(len(x))+int64(len(y)))
		}
	}
	return 0 // numbers, dates, or an error runtime.Add reports
}

func estimateJoin(args []any, limit int64) int64 {
	var sep int64
	if len(args) > 1 {
		if s, ok := args[1].(string); ok {
			sep = int64(len(s))
		}
	}
	var n int64
	switch l := args[0].(type) {
	case []any:
		for _, x := range l {
			if s, ok := x.(string); ok {
				n += int64(len(s))
			}
			if n += sep; n > limit {
				return n
			}
		}
	case []string:
		for _, s := range l {
			if n += int64(len(s)) + sep; n > limit {
				return n
			}
		}
	}
	return n
}

func estimateRepeat(args []any, limit int64) int64 {
	s, _ := args[0].(string)
	k, ok := toInt64(args[1])
	if !ok || k <= 0 || len(s) == 0 {
		return 0
	}
	if k > math.MaxInt64/int64(len(s)) {
		return math.MaxInt64
	}
	return int64(len(s)) * k
}

func estimateReplace(args []any, limit int64) int64 {
	s, _ := args[0].(string)
	old, _ := args[1].(string)
	repl, _ := args[2].(string)
	if len(repl) <= len(old) {
		return int64(len(s))
	}
	var k int64
	if old == "" {
		k = int64(utf8.RuneCountInString(s)) + 1
	} else {
		k = int64(strings.Count(s, old))
	}
	if len(args) > 3 {
		if m, ok := toInt64(args[3]); ok && m >= 0 && m < k {
			k = m
		}
	}
	return int64(len(s)) + k*int64(len(repl)-len(old))
}

// estimateEncode is the text of a value: at most about twice what it holds
// (quotes, escapes, indentation).
func estimateEncode(args []any, limit int64) int64 {
	n, _ := value.SizeAtMost(args[0], limit/2+1)
	return 2 * n
}

func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n >= math.MaxInt64 {
			return math.MaxInt64, true
		}
		return int64(n), true
	}
	return 0, false
}

// patchMemory rewrites a tree that checked (see memoryPatch) and checks it
// again, which types the new calls. Should that fail, the expression is
// compiled as it was written.
func patchMemory(src string, tree *parser.Tree, c *conf.Config) (*parser.Tree, error) {
	p := memoryPatch{funcs: c.Functions}
	ast.Walk(&tree.Node, &p)
	if !p.patched {
		return tree, nil
	}
	if _, err := checker.Check(tree, c); err == nil {
		return tree, nil
	}
	vs := c.Visitors
	c.Visitors = []ast.Visitor{clockPatch{}}
	defer func() { c.Visitors = vs }()
	return checker.ParseCheck(src, c)
}
