package run

import (
	"errors"
	"fmt"
	"regexp"
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
		return nil, fmt.Errorf("expression %q was not compiled (was the project loaded with load.Options.CheckOnly?)", e.Src)
	}
	if ev.vm == nil {
		ev.vm = new(vm.VM)
	}
	out, err := ev.vm.Run(e.Program, ev.env)
	if err != nil {
		ee := &exprRunError{expr: e, err: err}
		if ee.isMemoryBudget() {
			return nil, &limitError{fmt.Sprintf("%s (the expression memory limit; it grows with --max-memory)", ee.Error()), ee}
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
	return fmt.Sprintf("expression `%s`: %s", strings.TrimSpace(e.expr.Src), languageMessage(msg))
}

var (
	// expr's run-time panics on operands of the wrong type, e.g.
	// "invalid operation: <nil> > int"
	invalidOpRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^invalid operation: (\S+(?: \S+)?) (<=|>=|<|>|\+|-|\*|/|%|\*\*) (\S+(?: \S+)?)$`)
	})
	// and Go's own on a type assertion, e.g.
	// "interface conversion: interface {} is nil, not bool"
	convRe = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^interface conversion: interface \{\} is (.+), not (.+)$`)
	})
)

// languageMessage says an expr run-time error in the language's words: no
// Go type names (SPEC §8.6: no user-facing message shows Go internals).
func languageMessage(msg string) string {
	if m := invalidOpRe().FindStringSubmatch(msg); m != nil {
		a, op, b := kindName(m[1]), m[2], kindName(m[3])
		switch op {
		case "<", ">", "<=", ">=":
			if a == "null" || b == "null" {
				if a == "null" {
					a, b = b, a
				}
				return fmt.Sprintf("cannot compare null with %s", article(a))
			}
			return fmt.Sprintf("cannot compare %s with %s", article(a), article(b))
		}
		return fmt.Sprintf("cannot apply %s to %s and %s", op, article(a), article(b))
	}
	if m := convRe().FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("expected %s, got %s", article(kindName(m[2])), article(kindName(m[1])))
	}
	if strings.Contains(msg, "interface {}") || strings.HasPrefix(msg, "reflect:") || strings.HasPrefix(msg, "runtime error:") {
		return "a value of the wrong type: " + goTypes.Replace(msg)
	}
	return strings.ReplaceAll(msg, "<nil>", "null")
}

var goTypes = strings.NewReplacer("map[string]interface {}", "object", "[]interface {}", "list", "interface {}", "value", "<nil>", "null", "runtime error: ", "", "reflect: ", "")

// kindName is the language's name for a Go type as %T prints it.
func kindName(t string) string {
	switch {
	case t == "<nil>" || t == "nil":
		return "null"
	case strings.HasPrefix(t, "int") || strings.HasPrefix(t, "uint") || strings.HasPrefix(t, "float"):
		return "number"
	case t == "string":
		return "string"
	case t == "bool":
		return "boolean"
	case strings.HasPrefix(t, "map["):
		return "object"
	case strings.HasPrefix(t, "[]"):
		return "list"
	case t == "time.Time":
		return "date"
	case t == "time.Duration":
		return "duration"
	}
	return "value"
}

func article(kind string) string {
	switch kind {
	case "null":
		return "null"
	case "object", "integer":
		return "an " + kind
	}
	return "a " + kind
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
