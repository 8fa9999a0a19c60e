package check

import (
	"fmt"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/types"
	"github.com/flowrun/flowrun/builtins"
	"github.com/flowrun/flowrun/lang"
)

// Runner.Now is the clock of a run, `now()` and `nowUTC()` in expressions
// included (flowrun test pins it per case). expr's `now` reads time.Now
// directly, so every compiled call is rewritten to read the run's clock from
// a scope name that no expression can spell: `now(tz)` becomes
// `flowrun now(<clock>, tz)`. Without a clock in scope it is time.Now.
// `uuid()` is rewritten the same way to read the run's source of UUIDs
// (Runner.UUID), random without one.
const (
	clockName  = lang.ClockName
	nowName    = "flowrun now"
	nowUTCName = "flowrun nowUTC"
	uuidName   = "flowrun uuid()"
	uuidSource = lang.UUIDName
)

type clockPatch struct{}

func (clockPatch) Visit(node *ast.Node) {
	var name string
	var args []ast.Node
	switch n := (*node).(type) {
	case *ast.BuiltinNode:
		if n.Name != "now" {
			return
		}
		name, args = nowName, n.Arguments
	case *ast.CallNode:
		id, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || len(n.Arguments) != 0 {
			return
		}
		switch id.Value {
		case "nowUTC":
			name = nowUTCName
		case "uuid":
			name = uuidName
		default:
			return
		}
	default:
		return
	}
	source := clockName
	if name == uuidName {
		source = uuidSource
	}
	loc := (*node).Location()
	callee, clock := &ast.IdentifierNode{Value: name}, &ast.IdentifierNode{Value: source}
	callee.SetLocation(loc)
	clock.SetLocation(loc)
	ast.Patch(node, &ast.CallNode{Callee: callee, Arguments: append([]ast.Node{clock}, args...)})
}

func clockNow(c any) time.Time {
	if f, ok := c.(func() time.Time); ok && f != nil {
		return f()
	}
	return time.Now()
}

// clockOptions define the functions the rewritten calls name.
func clockOptions() []expr.Option {
	return []expr.Option{
		expr.Function(nowName, func(args ...any) (any, error) {
			t := clockNow(args[0])
			if len(args) == 2 {
				if tz, ok := args[1].(*time.Location); ok {
					return t.In(tz), nil
				}
			}
			if len(args) != 1 {
				return nil, fmt.Errorf("now: invalid arguments (expected none, or a time zone)")
			}
			return t.Local(), nil
		}, new(func(any) time.Time), new(func(any, *time.Location) time.Time)),
		expr.Function(nowUTCName, func(args ...any) (any, error) { return clockNow(args[0]).UTC(), nil },
			new(func(any) time.Time)),
		expr.Function(uuidName, func(args ...any) (any, error) {
			if f, ok := args[0].(func() string); ok && f != nil {
				return f(), nil
			}
			return builtins.NewUUID()
		}, new(func(any) string)),
	}
}

// withClock is an environment with the clock's name in scope.
func withClock(env types.Map) types.Map {
	out := make(types.Map, len(env)+1)
	for k, v := range env {
		out[k] = v
	}
	out[clockName] = types.Any
	out[uuidSource] = types.Any
	out[memoryName] = types.Any // see memory.go
	return out
}
