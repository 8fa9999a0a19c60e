// Package builtins owns the function library that flowrun adds to expr-lang
// for connector work: URL and base64 encoding, digests and HMACs, dates and
// time zones, object and list helpers, and HTTP helpers such as linkNext.
//
// The library is a table of specs. Each Spec holds the function, its expr
// type signatures (for compile-time checking), a human signature, a short doc
// and examples. `flowrun builtins` (Text) and the docs (Markdown) are
// generated from the same table, and every example is run as a test.
//
// Values are the generic JSON-ish values flowrun uses: map[string]any, []any,
// string, float64, int, int64, bool and nil; times are time.Time. Every
// function is safe for concurrent use, never panics, never mutates its
// arguments, and reports a wrong argument with an error that names the
// function, e.g. `urlEncode: argument 1 must be a string, got number`.
//
// No builtin redefines one of expr-lang's own functions (len, map, filter,
// toJSON, now, date, uniq, flatten, keys, values, upper, lower, int, ...).
package builtins

import (
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/expr-lang/expr"
)

// Example is one expression and what it gives. It is shown in the docs and
// run by the tests.
type Example struct {
	// Expr is an expr-lang expression, evaluated with an empty environment.
	Expr string
	// Result is the expected result as compact JSON (encoding/json of the
	// value, sorted keys, no HTML escaping; times in RFC 3339).
	Result string
	// Error, when set, is a substring of the error the expression must raise.
	Error string
}

// Spec describes one builtin function.
type Spec struct {
	Name string
	// Fn is the implementation. It validates its arguments, returns an
	// error naming the function on bad input and never panics.
	Fn func(args ...any) (any, error)
	// Types are optional expr type signatures (such as
	// new(func(string) string)) given to expr.Function for compile-time
	// checking; several mean overloads.
	Types     []any
	Signature string // human text, e.g. "urlEncode(s string) string"
	Doc       string // one or two sentences
	Examples  []Example
	Category  string // see Categories
}

// Categories lists the categories of specs in the order Text and Markdown
// present them.
var Categories = []string{"http", "encoding", "crypto", "dates", "objects", "lists", "strings", "values"}

// def is a spec as written in the category files: the implementation takes a
// *call and the arity is checked before it runs.
type def struct {
	Spec
	min, max int // number of arguments; max < 0: variadic
	impl     func(c *call) (any, error)
}

var registry = sync.OnceValues(func() ([]Spec, map[string]int) {
	var defs []def
	for _, group := range [][]def{httpDefs(), encodingDefs(), cryptoDefs(), dateDefs(), objectDefs(), listDefs(), stringDefs(), valueDefs()} {
		defs = append(defs, group...)
	}
	specs := make([]Spec, 0, len(defs))
	for _, d := range defs {
		s := d.Spec
		s.Fn = wrap(s.Name, d.min, d.max, d.impl)
		specs = append(specs, s)
	}
	sort.SliceStable(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	index := make(map[string]int, len(specs))
	for i, s := range specs {
		index[s.Name] = i
	}
	return specs, index
})

// wrap checks the arity and turns a panic (a bug) into an error, so that no
// input can crash a run.
func wrap(name string, min, max int, impl func(c *call) (any, error)) func(args ...any) (any, error) {
	return func(args ...any) (out any, err error) {
		defer func() {
			if r := recover(); r != nil {
				out, err = nil, fmt.Errorf("%s: internal error: %v", name, r)
			}
		}()
		c := &call{name: name, args: args}
		if err := c.arity(min, max); err != nil {
			return nil, err
		}
		return impl(c)
	}
}

// All returns every builtin, sorted by name.
func All() []Spec {
	specs, _ := registry()
	return slices.Clone(specs)
}

// Lookup finds a builtin by name.
func Lookup(name string) (Spec, bool) {
	specs, index := registry()
	i, ok := index[name]
	if !ok {
		return Spec{}, false
	}
	return specs[i], true
}

var options = sync.OnceValue(func() []expr.Option {
	specs, _ := registry()
	opts := make([]expr.Option, 0, len(specs))
	for _, s := range specs {
		opts = append(opts, expr.Function(s.Name, s.Fn, s.Types...))
	}
	return opts
})

// Options returns an expr.Function option for every builtin, to pass to
// expr.Compile. The options are built once; the returned slice is a copy the
// caller may append to.
func Options() []expr.Option {
	return slices.Clone(options())
}
