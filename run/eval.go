package run

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// evaluator runs compiled programs against one environment, reusing a VM.
type evaluator struct {
	env map[string]any
	vm  *vm.VM // nil: one is made on first use
}

// vmPool holds VMs between frames, so a run does not build a VM (and grow
// its stack) for every flow it calls.
var vmPool = sync.Pool{New: func() any { return new(vm.VM) }}

// acquire gives the evaluator a pooled VM with the given memory budget.
func (ev *evaluator) acquire(budget uint) {
	ev.vm = vmPool.Get().(*vm.VM)
	ev.vm.MemoryBudget = budget
}

// release returns the evaluator's VM to the pool, dropping the references
// it holds to values of the run.
func (ev *evaluator) release() {
	v := ev.vm
	if v == nil {
		return
	}
	ev.vm = nil
	clear(v.Stack[:cap(v.Stack)])
	v.Stack = v.Stack[:0]
	clear(v.Variables)
	clear(v.Scopes[:cap(v.Scopes)])
	v.Scopes = v.Scopes[:0]
	vmPool.Put(v)
}

func (ev *evaluator) run(e *lang.Expr) (any, error) {
	if e.Program == nil {
		return nil, fmt.Errorf("expression %q was not compiled", e.Src)
	}
	if ev.vm == nil {
		ev.vm = new(vm.VM)
	}
	out, err := ev.vm.Run(e.Program, ev.env)
	if err != nil {
		ee := &exprRunError{expr: e, err: err}
		if ee.isMemoryBudget() {
			return nil, &limitError{fmt.Sprintf("%s (the expression memory limit)", ee.Error()), ee}
		}
		return nil, ee
	}
	return out, nil
}

// exprRunError is an expression that failed at run time.
type exprRunError struct {
	expr *lang.Expr
	err  error
}

func (e *exprRunError) Error() string {
	msg := e.err.Error()
	var fe *file.Error
	if errors.As(e.err, &fe) {
		msg = fe.Message
	}
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("expression `%s`: %s", strings.TrimSpace(e.expr.Src), msg)
}

func (e *exprRunError) Unwrap() error { return e.err }

// pos is where in the file the expression failed: the failing part of a
// one-line expression, else the expression's start.
func (e *exprRunError) pos() lang.Pos {
	p := e.expr.Pos
	var fe *file.Error
	src := e.expr.Src
	if errors.As(e.err, &fe) && p.Line > 0 && !strings.ContainsAny(src, "\r\n") {
		lead := utf8.RuneCountInString(src[:leadingSpace(src)])
		if off := fe.From - lead; off > 0 && off < utf8.RuneCountInString(src) {
			p.Col += off
		}
	}
	return p
}

// isMemoryBudget reports an expression stopped by expr's memory budget.
func (e *exprRunError) isMemoryBudget() bool {
	return strings.Contains(e.err.Error(), "memory budget exceeded")
}

// eval evaluates a compiled value.
func (ev *evaluator) eval(v *lang.Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch v.Kind {
	case lang.ValConst:
		switch c := v.Lit.(type) {
		case string, bool, nil, float64, int:
			return c, nil
		}
		// YAML integers are int64 and constant objects are shared by every
		// run: hand out plain values
		return value.Normalize(v.Lit), nil
	case lang.ValExpr:
		return ev.run(v.Expr)
	case lang.ValTemplate:
		var b strings.Builder
		n := 16
		for _, p := range v.Parts {
			n += len(p.Text)
		}
		b.Grow(n)
		for _, p := range v.Parts {
			if p.Expr == nil {
				b.WriteString(p.Text)
				continue
			}
			x, err := ev.run(p.Expr)
			if err != nil {
				return nil, err
			}
			b.WriteString(value.Text(x))
		}
		return b.String(), nil
	case lang.ValMap:
		m := make(map[string]any, len(v.Keys))
		for i, k := range v.Keys {
			x, err := ev.eval(v.Vals[i])
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case lang.ValList:
		l := make([]any, len(v.Vals))
		for i, it := range v.Vals {
			x, err := ev.eval(it)
			if err != nil {
				return nil, err
			}
			l[i] = x
		}
		return l, nil
	}
	return nil, nil
}

func leadingSpace(s string) int {
	return len(s) - len(strings.TrimLeft(s, " \t\r\n"))
}
