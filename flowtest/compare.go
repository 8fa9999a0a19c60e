package flowtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/flowrun/flowrun/value"
	"github.com/pmezard/go-difflib/difflib"
)

// Values compared here are plain JSON-like values: map[string]any, []any,
// string, bool, nil and numbers (int, int64 or float64, compared by value).

// plain converts a value from the interpreter or a YAML node into plain
// JSON-like values, going through JSON for anything unusual.
func plain(v any) any {
	switch t := v.(type) {
	case nil, string, bool, int, int64, float64:
		return v
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = plain(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = plain(x)
		}
		return out
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	x, err := value.DecodeJSON(b)
	if err != nil {
		return string(b)
	}
	return x
}

// number reports v as a number: its integer value when it is an integer.
func number(v any) (f float64, i int64, isInt, ok bool) {
	switch t := v.(type) {
	case int:
		return float64(t), int64(t), true, true
	case int64:
		return float64(t), t, true, true
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			return t, int64(t), true, true
		}
		return t, 0, false, true
	}
	return 0, 0, false, false
}

// equal reports whether two values are the same JSON value. Matchers in a
// (see matchers.go) match as they say; a key whose matcher is $absent must
// be missing from b.
func equal(a, b any) bool {
	if m, ok := a.(*matcher); ok {
		return m.matchField(b, true)
	}
	if fa, ia, inta, ok := number(a); ok {
		fb, ib, intb, ok := number(b)
		if !ok {
			return false
		}
		if inta && intb {
			return ia == ib
		}
		return fa == fb
	}
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			return false
		}
		n := 0
		for k, xv := range x {
			yv, ok := y[k]
			if m, isM := xv.(*matcher); isM {
				if !m.matchField(yv, ok) {
					return false
				}
				if ok {
					n++
				}
				continue
			}
			if !ok || !equal(xv, yv) {
				return false
			}
			n++
		}
		return n == len(y)
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}

// subset reports whether got contains want: every key of a wanted mapping is
// in got's mapping with a value that contains the wanted one (a wanted null
// also accepts a missing key); lists have the same length and contain each
// other element by element; other values are equal.
func subset(want, got any) bool {
	switch w := want.(type) {
	case *matcher:
		return w.matchField(got, true)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if m, isM := wv.(*matcher); isM {
				if !m.matchField(gv, ok) {
					return false
				}
				continue
			}
			if !ok {
				if wv == nil {
					continue
				}
				return false
			}
			if !subset(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok || len(w) != len(g) {
			return false
		}
		for i := range w {
			if !subset(w[i], g[i]) {
				return false
			}
		}
		return true
	}
	return equal(want, got)
}

// match compares with subset or equal.
func match(want, got any, partial bool) bool {
	if partial {
		return subset(want, got)
	}
	return equal(want, got)
}

// shown is got as a diff against want shows it: where a matcher of want
// matches, the matcher as written (so that only real differences show); a
// missing key whose matcher is $absent, the matcher too. With partial, only
// the keys of want's mappings are kept, since a subset comparison ignores
// the others.
func shown(want, got any, partial bool) any {
	switch w := want.(type) {
	case *matcher:
		if w.matchField(got, true) {
			return w.display()
		}
		return got
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return got
		}
		out := make(map[string]any, len(g))
		if !partial {
			for k, gv := range g {
				out[k] = gv
			}
		}
		for k, wv := range w {
			if gv, ok := g[k]; ok {
				out[k] = shown(wv, gv, partial)
			} else if m, isM := wv.(*matcher); isM && m.kind == "$absent" {
				out[k] = m.display()
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok {
			return got
		}
		out := make([]any, len(g))
		for i := range g {
			if i < len(w) {
				out[i] = shown(w[i], g[i], partial)
			} else {
				out[i] = g[i]
			}
		}
		return out
	}
	return got
}

// project keeps of got what want talks about (see shown).
func project(want, got any) any { return shown(want, got, true) }

// jsonText renders a value as indented JSON with sorted keys.
func jsonText(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%#v\n", v)
	}
	return buf.String()
}

// compactJSON renders a value as one line of JSON.
func compactJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// diff is a line-based unified diff of two values as indented JSON.
func diff(fromName, toName string, from, to any) string {
	from, to = display(from), display(to)
	a, b := jsonText(from), jsonText(to)
	d, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A:        lines(a),
		B:        lines(b),
		FromFile: fromName,
		ToFile:   toName,
		Context:  3,
	})
	if err != nil || d == "" {
		return fromName + ": " + compactJSON(from) + "\n" + toName + ": " + compactJSON(to) + "\n"
	}
	return d
}

// lines splits text into lines that keep their newline.
func lines(s string) []string {
	l := strings.SplitAfter(s, "\n")
	if l[len(l)-1] == "" {
		l = l[:len(l)-1]
	}
	return l
}

// text turns a scalar into the text an HTTP header or query carries, as the
// interpreter does when it builds the request.
func text(v any) string { return value.Text(v) }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
