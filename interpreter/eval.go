package interpreter

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/conf"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/vm"

	"github.com/flowrun/flowrun/builtins"
)

var (
	exprOptsOnce sync.Once
	exprOpts     []expr.Option
)

// exprOptions are the compile options shared by every expression: the
// builtins library.
func exprOptions() []expr.Option {
	exprOptsOnce.Do(func() {
		// expr.Function options rebuild their function on every Compile;
		// build the table once and copy it into each compile's config.
		c := conf.CreateNew()
		for _, o := range append(builtins.Options(), clockOptions()...) { // clock.go
			o(c)
		}
		fns := c.Functions
		exprOpts = []expr.Option{func(c *conf.Config) {
			for name, fn := range fns {
				c.Functions[name] = fn
			}
		}}
	})
	return exprOpts
}

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

func (ev *evaluator) run(e *Expr) (any, error) {
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
	expr *Expr
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
func (e *exprRunError) pos() Pos {
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
func (ev *evaluator) eval(v *Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch v.kind {
	case valConst:
		switch c := v.c.(type) {
		case string, bool, nil, float64, int:
			return c, nil
		}
		// YAML integers are int64 and constant objects are shared by every
		// run: hand out plain values
		return normalize(v.c), nil
	case valExpr:
		return ev.run(v.expr)
	case valTemplate:
		var b strings.Builder
		n := 16
		for _, p := range v.parts {
			n += len(p.text)
		}
		b.Grow(n)
		for _, p := range v.parts {
			if p.expr == nil {
				b.WriteString(p.text)
				continue
			}
			x, err := ev.run(p.expr)
			if err != nil {
				return nil, err
			}
			b.WriteString(toText(x))
		}
		return b.String(), nil
	case valMap:
		m := make(map[string]any, len(v.keys))
		for i, k := range v.keys {
			x, err := ev.eval(v.vals[i])
			if err != nil {
				return nil, err
			}
			m[k] = x
		}
		return m, nil
	case valList:
		l := make([]any, len(v.vals))
		for i, it := range v.vals {
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

// toText turns a value into text for string interpolation.
func toText(x any) string {
	switch t := x.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case int:
		return strconv.Itoa(t)
	case int64:
		return strconv.FormatInt(t, 10)
	case float64:
		return formatFloat(t)
	case time.Time:
		return t.Format(time.RFC3339Nano)
	case time.Duration:
		return t.String()
	case fmt.Stringer:
		return t.String()
	}
	b, err := marshalJSON(x)
	if err != nil {
		return fmt.Sprint(x)
	}
	return string(b)
}

func formatFloat(f float64) string {
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// marshalJSON encodes v compactly without escaping HTML characters.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(normalize(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// normalize converts values produced by expressions (typed slices and maps,
// int64, times) into the plain JSON-like values flows exchange.
func normalize(v any) any {
	n, _ := normalized(v)
	return n
}

// normalized is normalize that also reports whether anything changed, so
// that plain values (the common case) are walked without copying.
func normalized(v any) (any, bool) {
	switch t := v.(type) {
	case nil, string, bool, int, float64:
		return v, false
	case int64:
		if t >= math.MinInt && t <= math.MaxInt {
			return int(t), true
		}
		return float64(t), true
	case int32:
		return int(t), true
	case float32:
		return float64(t), true
	case uint64:
		if t <= math.MaxInt64 {
			return int(t), true
		}
		return float64(t), true
	case time.Time:
		return t.Format(time.RFC3339Nano), true
	case time.Duration:
		return t.String(), true
	case map[string]any:
		var out map[string]any
		for k, x := range t {
			n, changed := normalized(x)
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(t))
				for k2, x2 := range t {
					out[k2] = x2
				}
			}
			out[k] = n
		}
		if out != nil {
			return out, true
		}
		return t, false
	case []any:
		var out []any
		for i, x := range t {
			n, changed := normalized(x)
			if !changed {
				continue
			}
			if out == nil {
				out = make([]any, len(t))
				copy(out, t)
			}
			out[i] = n
		}
		if out != nil {
			return out, true
		}
		return t, false
	case json.Number:
		return fixNumbers(t), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out, true
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = normalize(it.Value().Interface())
		}
		return out, true
	case reflect.Int, reflect.Int8, reflect.Int16:
		return int(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return int(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	case reflect.String:
		return rv.String(), true
	case reflect.Bool:
		return rv.Bool(), true
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, true
		}
		n, _ := normalized(rv.Elem().Interface())
		return n, true
	}
	return v, false
}

// coerceField checks a value against a declared field and converts it to the
// field's run-time representation (integer -> int, number -> float64),
// filling defaults. It returns an error message naming what is wrong.
func coerceField(f *Field, v any, fromCLI bool) (any, string) {
	v = normalize(v)
	if v == nil {
		if f.HasDefault {
			return normalize(f.Default), ""
		}
		if f.Required {
			return nil, "is required"
		}
		return nil, ""
	}
	if s, ok := v.(string); ok && fromCLI {
		switch f.Type {
		case "integer":
			if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
				v = i
			}
		case "number":
			if x, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
				v = x
			}
		case "boolean":
			if b, err := strconv.ParseBool(strings.TrimSpace(s)); err == nil {
				v = b
			}
		}
	}
	if msg := checkField(f, v); msg != "" {
		return nil, msg
	}
	switch f.Type {
	case "integer":
		if x, ok := v.(float64); ok {
			v = int(x)
		}
	case "number":
		if x, ok := v.(int); ok {
			v = float64(x)
		}
	case "object":
		if m, ok := v.(map[string]any); ok && len(f.Properties) > 0 {
			out := make(map[string]any, len(m))
			for k, x := range m {
				out[k] = x
			}
			for _, p := range f.Properties {
				x, msg := coerceField(p, m[p.Name], fromCLI)
				if msg != "" {
					return nil, "property " + strconv.Quote(p.Name) + ": " + msg
				}
				if x != nil || p.HasDefault {
					out[p.Name] = x
				}
			}
			v = out
		}
	case "list":
		if l, ok := v.([]any); ok && f.Items != nil {
			out := make([]any, len(l))
			for i, x := range l {
				y, msg := coerceField(f.Items, x, fromCLI)
				if msg != "" {
					return nil, fmt.Sprintf("item %d: %s", i, msg)
				}
				out[i] = y
			}
			v = out
		}
	}
	return v, ""
}

// coerceFields applies coerceField to every declared field of an object and
// rejects undeclared keys.
func coerceFields(fs []*Field, in map[string]any, what string, fromCLI bool) (map[string]any, error) {
	return coerceFieldsInto(make(map[string]any, len(fs)), fs, in, what, fromCLI)
}

// coerceFieldsInto is coerceFields writing into out, which may be in itself
// when the caller owns in (a call's freshly evaluated arguments).
func coerceFieldsInto(out map[string]any, fs []*Field, in map[string]any, what string, fromCLI bool) (map[string]any, error) {
	for k := range in {
		if findField(fs, k) == nil {
			names := fieldNames(fs)
			sort.Strings(names)
			hint := suggest(k, names)
			if hint != "" {
				hint = " (" + hint + ")"
			}
			return nil, fmt.Errorf("%s %q is not declared%s", what, k, hint)
		}
	}
	for _, f := range fs {
		v, msg := coerceField(f, in[f.Name], fromCLI)
		if msg != "" {
			return nil, fmt.Errorf("%s %q: %s", what, f.Name, msg)
		}
		out[f.Name] = v
	}
	return out, nil
}
