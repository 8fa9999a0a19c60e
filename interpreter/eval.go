package interpreter

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr"
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
		exprOpts = builtins.Options()
	})
	return exprOpts
}

// evaluator runs compiled programs against one environment, reusing a VM.
type evaluator struct {
	env map[string]any
	vm  vm.VM
}

func (ev *evaluator) run(e *Expr) (any, error) {
	if e.Program == nil {
		return nil, fmt.Errorf("expression %q was not compiled", e.Src)
	}
	out, err := ev.vm.Run(e.Program, ev.env)
	if err != nil {
		return nil, &exprRunError{expr: e, err: err}
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
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return fmt.Sprintf("expression `%s`: %s", strings.TrimSpace(e.expr.Src), msg)
}

// eval evaluates a compiled value.
func (ev *evaluator) eval(v *Value) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch v.kind {
	case valConst:
		return v.c, nil
	case valExpr:
		return ev.run(v.expr)
	case valTemplate:
		var b strings.Builder
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

// DecodeJSON parses JSON into plain values, keeping integers as int (when
// they fit) and other numbers as float64.
func DecodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("invalid JSON: data after the top-level value")
	}
	return fixNumbers(v), nil
}

func fixNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = fixNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = fixNumbers(x)
		}
	}
	return v
}

// normalize converts values produced by expressions (typed slices and maps,
// int64, times) into the plain JSON-like values flows exchange.
func normalize(v any) any {
	switch t := v.(type) {
	case nil, string, bool, int, float64:
		return v
	case int64:
		if t >= math.MinInt && t <= math.MaxInt {
			return int(t)
		}
		return float64(t)
	case int32:
		return int(t)
	case float32:
		return float64(t)
	case uint64:
		if t <= math.MaxInt64 {
			return int(t)
		}
		return float64(t)
	case time.Time:
		return t.Format(time.RFC3339Nano)
	case time.Duration:
		return t.String()
	case map[string]any:
		var out map[string]any
		for k, x := range t {
			n := normalize(x)
			if !sameValue(n, x) {
				if out == nil {
					out = make(map[string]any, len(t))
					for k2, x2 := range t {
						out[k2] = x2
					}
				}
				out[k] = n
			}
		}
		if out != nil {
			return out
		}
		return t
	case []any:
		var out []any
		for i, x := range t {
			n := normalize(x)
			if !sameValue(n, x) {
				if out == nil {
					out = make([]any, len(t))
					copy(out, t)
				}
				out[i] = n
			}
		}
		if out != nil {
			return out
		}
		return t
	case json.Number:
		return fixNumbers(t)
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = normalize(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = normalize(it.Value().Interface())
		}
		return out
	case reflect.Int, reflect.Int8, reflect.Int16:
		return int(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return int(rv.Uint())
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return normalize(rv.Elem().Interface())
	}
	return v
}

// sameValue reports whether normalize left x unchanged (cheaply, by identity
// for the composite kinds).
func sameValue(n, x any) bool {
	switch nx := n.(type) {
	case map[string]any:
		xm, ok := x.(map[string]any)
		return ok && reflect.ValueOf(nx).UnsafePointer() == reflect.ValueOf(xm).UnsafePointer()
	case []any:
		xl, ok := x.([]any)
		return ok && len(nx) == len(xl) && (len(nx) == 0 || &nx[0] == &xl[0])
	}
	switch x.(type) {
	case map[string]any, []any:
		return false
	}
	return n == x
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
	out := make(map[string]any, len(fs))
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
