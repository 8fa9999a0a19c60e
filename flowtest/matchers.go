package flowtest

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/flowrun/flowrun/lang"
)

// A matcher stands where a mock's request (query, headers, json) or a case's
// expectation gives a value, written as a one-key mapping (SPEC §8.7):
//
//	{$any: true}         the key is present, with any value
//	{$regex: "^u[0-9]+$"} the value (as text) matches the regular expression
//	{$absent: true}      the key is not present
//
// Values holding matchers are plain JSON-like values with *matcher leaves;
// equal, subset and shown (compare.go) know them.
type matcher struct {
	kind string // "$any", "$regex", "$absent"
	re   *regexp.Regexp
	src  string // the regular expression as written
}

// matcherKinds are the keys that make a one-key mapping a matcher.
var matcherKinds = map[string]bool{"$any": true, "$regex": true, "$absent": true}

// display is the matcher as written, for diffs.
func (m *matcher) display() any {
	if m.kind == "$regex" {
		return map[string]any{"$regex": m.src}
	}
	return map[string]any{m.kind: true}
}

func (m *matcher) String() string { return compactJSON(m.display()) }

// matchField reports whether a value meets the matcher; present says
// whether the key (or header, or query parameter) exists at all.
func (m *matcher) matchField(got any, present bool) bool {
	switch m.kind {
	case "$absent":
		return !present
	case "$any":
		return present
	}
	if !present {
		return false
	}
	switch g := got.(type) {
	case nil, map[string]any:
		return false
	case []any:
		// a repeated query parameter: every value must match
		if len(g) == 0 {
			return false
		}
		for _, x := range g {
			if !m.matchField(x, true) {
				return false
			}
		}
		return true
	}
	return m.re.MatchString(text(got))
}

// decodeValue converts a node of a test file into a plain value whose
// matcher mappings are *matcher. A malformed matcher (an invalid regular
// expression, `$any: false`, `$absent` as a list element) is a failure at
// its position. top says whether n is the whole value (where $absent means
// "no value at all", e.g. no request body).
func decodeValue(n *lang.Node, top bool) (any, *Failure) {
	if n == nil {
		return nil, nil
	}
	switch n.Kind {
	case lang.MapNode:
		if len(n.Keys) == 1 && matcherKinds[n.Keys[0].Str] {
			return decodeMatcher(n.Keys[0].Str, n.Vals[0])
		}
		out := make(map[string]any, len(n.Keys))
		for i, k := range n.Keys {
			v, f := decodeValue(n.Vals[i], true)
			if f != nil {
				return nil, f
			}
			out[k.Str] = v
		}
		return out, nil
	case lang.ListNode:
		out := make([]any, len(n.Items))
		for i, it := range n.Items {
			v, f := decodeValue(it, false)
			if f != nil {
				return nil, f
			}
			if m, ok := v.(*matcher); ok && m.kind == "$absent" {
				return nil, &Failure{Pos: it.Pos, Summary: "{$absent: true} stands for a key of a mapping (or a header or query parameter), not a list element"}
			}
			out[i] = v
		}
		return out, nil
	}
	return plain(n.Value()), nil
}

func decodeMatcher(kind string, v *lang.Node) (any, *Failure) {
	switch kind {
	case "$any", "$absent":
		if v.Kind != lang.BoolNode || !v.Bool {
			return nil, &Failure{Pos: v.Pos, Summary: fmt.Sprintf("%s must be true: write {%s: true}", kind, kind)}
		}
		return &matcher{kind: kind}, nil
	}
	if v.Kind != lang.StringNode {
		return nil, &Failure{Pos: v.Pos, Summary: fmt.Sprintf("$regex must be a string (a Go regular expression), not %s", v.Kind)}
	}
	re, err := regexp.Compile(v.Str)
	if err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "error parsing regexp: ")
		return nil, &Failure{Pos: v.At(0), Summary: fmt.Sprintf("$regex %q is not a valid regular expression: %s", v.Str, msg)}
	}
	return &matcher{kind: "$regex", re: re, src: v.Str}, nil
}

// hasMatcher reports whether a value holds a matcher anywhere.
func hasMatcher(v any) bool {
	switch t := v.(type) {
	case *matcher:
		return true
	case map[string]any:
		for _, x := range t {
			if hasMatcher(x) {
				return true
			}
		}
	case []any:
		for _, x := range t {
			if hasMatcher(x) {
				return true
			}
		}
	}
	return false
}

// display replaces the matchers of a value by their written form.
func display(v any) any {
	switch t := v.(type) {
	case *matcher:
		return t.display()
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = display(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = display(x)
		}
		return out
	}
	return v
}
