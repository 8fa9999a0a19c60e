package check

import (
	"reflect"

	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm/runtime"
)

// expr compiles `item.active` on a value it cannot type statically (an
// object of the language is a map[string]any) to OpFetch, and its
// runtime.Fetch goes through reflect: NumMethod, deref, MapIndex (which
// copies the value into a new 16-byte allocation) and Interface. That was a
// third of a for_each loop's CPU (bench/README.md, "Member access"). Once an
// expression has checked and its patches have applied, each such access is
// rewritten to a direct call of get:
//
//	x.name, x["name"]  ->  get(x, "name")
//
// get indexes a map[string]any directly and hands every other value to
// runtime.Fetch, so the results and the run-time errors ("cannot fetch name
// from <nil>") are expr's own. The callee is a constant of a signature expr
// calls without reflection or an argument buffer (OpCallTyped), so no
// expression can spell it. The call keeps the member's nature and location:
// the compiler sees the same types, and an error points at the same place.
// Optional access (x?.name) and method calls are left alone.
var getFn = get

func get(from, name any) any {
	if m, ok := from.(map[string]any); ok {
		return m[name.(string)]
	}
	return runtime.Fetch(from, name)
}

var (
	getType  = reflect.TypeOf(getFn)
	mapOfAny = reflect.TypeOf(map[string]any{})
)

// isGet reports a callee that is get.
func isGet(n ast.Node) bool {
	c, ok := n.(*ast.ConstantNode)
	if !ok {
		return false
	}
	v := reflect.ValueOf(c.Value)
	return v.Kind() == reflect.Func && v.Type() == getType && v.Pointer() == reflect.ValueOf(getFn).Pointer()
}

// getPatch rewrites the member accesses of a checked tree (see getFn).
type getPatch struct{}

func (getPatch) Visit(node *ast.Node) {
	m, ok := (*node).(*ast.MemberNode)
	if !ok || m.Optional || m.Method {
		return
	}
	prop, ok := m.Property.(*ast.StringNode)
	if !ok {
		return
	}
	if t := m.Node.Nature().Type; t != nil && t.Kind() != reflect.Interface && t != mapOfAny {
		return // a struct, a typed map or list: expr's own access is the right one
	}
	if t := m.Nature().Type; t != nil && t.Kind() == reflect.Func {
		return
	}
	loc := m.Location()
	callee := &ast.ConstantNode{Value: getFn}
	callee.SetLocation(loc)
	callee.SetType(getType)
	key := &ast.StringNode{Value: prop.Value}
	key.SetLocation(prop.Location())
	key.SetType(reflect.TypeOf(""))
	call := &ast.CallNode{Callee: callee, Arguments: []ast.Node{m.Node, key}}
	call.SetLocation(loc)
	call.SetNature(*m.Nature())
	*node = call
}
