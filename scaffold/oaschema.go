package scaffold

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi/datamodel/high/base"

	"github.com/flowrun/flowrun/lang"
)

// fld is a flowrun field (SPEC §2) derived from a JSON Schema.
type fld struct {
	typ      string // string number integer boolean datetime object list any
	items    *fld
	props    []prop
	skipped  []string // property names the language cannot declare
	required bool
	def      any
	enum     []any
	desc     string
	nullable bool
}

type prop struct {
	name string
	f    *fld
}

// maxFieldDepth bounds how deep object properties are declared.
const maxFieldDepth = 3

// maxSchemaNodes bounds the schemas one field or example (of a parameter,
// a body, a response) visits. Depth alone does not bound the work: allOf
// stays at its depth, and a schema that lists the next one several times,
// level after level ($refs, not a cycle), expands exponentially; a 5 KB
// description took seconds, a 6 KB one hours (found by FuzzFromOpenAPI).
// Past the budget a field is "any" and an example leaves the rest out.
const maxSchemaNodes = 5000

// nodeBudget is a fresh budget for one field or example walk.
func nodeBudget() *int {
	n := maxSchemaNodes
	return &n
}

// schemaOf resolves a proxy, never panicking on a broken reference.
func schemaOf(sp *base.SchemaProxy) (s *base.Schema) {
	if sp == nil {
		return nil
	}
	defer func() {
		if recover() != nil {
			s = nil
		}
	}()
	return sp.Schema()
}

// field derives a field from a schema. depth counts object levels; refs holds
// the $refs being expanded, so recursive schemas stop.
func field(sp *base.SchemaProxy, depth int, refs []string, left *int) *fld {
	f := &fld{typ: "any"}
	if *left <= 0 {
		return f
	}
	*left--
	s := schemaOf(sp)
	if s == nil {
		return f
	}
	if ref := sp.GetReference(); ref != "" {
		for _, r := range refs {
			if r == ref {
				return f
			}
		}
		refs = append(refs, ref)
	}
	f.desc = firstLine(s.Description)
	if s.Nullable != nil && *s.Nullable {
		f.nullable = true
	}
	types := []string{}
	for _, t := range s.Type {
		if t == "null" {
			f.nullable = true
		} else {
			types = append(types, t)
		}
	}
	// allOf: merge; oneOf/anyOf: one non-null branch is that branch.
	if len(s.AllOf) > 0 {
		merged := &fld{typ: "object"}
		for _, sub := range s.AllOf {
			mf := field(sub, depth, refs, left)
			if mf.typ != "object" {
				return f
			}
			merged.props = append(merged.props, mf.props...)
			merged.skipped = append(merged.skipped, mf.skipped...)
		}
		merged.props = dedupeProps(merged.props)
		merged.desc = f.desc
		merged.nullable = f.nullable
		return merged
	}
	if alts := append(append([]*base.SchemaProxy{}, s.OneOf...), s.AnyOf...); len(alts) > 0 && len(types) == 0 {
		var only *base.SchemaProxy
		n := 0
		for _, a := range alts {
			as := schemaOf(a)
			if as != nil && len(as.Type) == 1 && as.Type[0] == "null" {
				f.nullable = true
				continue
			}
			only = a
			n++
		}
		if n == 1 {
			of := field(only, depth, refs, left)
			of.nullable = of.nullable || f.nullable
			if f.desc != "" {
				of.desc = f.desc
			}
			return of
		}
		return f
	}
	switch {
	case len(types) > 1:
		return f
	case len(types) == 1:
		f.typ = types[0]
	case s.Properties != nil && s.Properties.Len() > 0:
		f.typ = "object"
	case s.Items != nil:
		f.typ = "array"
	default:
		return f
	}
	switch f.typ {
	case "array":
		f.typ = "list"
		if s.Items != nil && s.Items.IsA() {
			f.items = field(s.Items.A, depth+1, refs, left)
			if f.items.typ == "any" {
				f.items = nil
			}
		}
	case "object":
		if depth < maxFieldDepth && s.Properties != nil {
			req := map[string]bool{}
			for _, r := range s.Required {
				req[r] = true
			}
			for name, p := range s.Properties.FromOldest() {
				if !lang.IsIdent(name) {
					f.skipped = append(f.skipped, name)
					continue
				}
				pf := field(p, depth+1, refs, left)
				pf.required = req[name] && !pf.nullable
				if ps := schemaOf(p); ps != nil && ps.ReadOnly != nil && *ps.ReadOnly {
					continue // readOnly: never sent
				}
				f.props = append(f.props, prop{name, pf})
			}
		}
	case "string":
		if s.Format == "date-time" {
			f.typ = "datetime"
		}
	case "integer", "number", "boolean":
	default:
		f.typ = "any"
		return f
	}
	if f.nullable {
		// A null may come or go: the field says so rather than reject it.
		if f.desc == "" {
			f.desc = "May be null."
		}
		f.typ, f.items, f.props = "any", nil, nil
		return f
	}
	if d, ok := scalarOf(s.Default); ok && conforms(d, f) {
		f.def = d
	}
	for _, e := range s.Enum {
		v, ok := scalarOf(e)
		if !ok || v == nil || !conforms(v, &fld{typ: f.typ}) {
			f.enum = nil
			break
		}
		f.enum = append(f.enum, v)
	}
	return f
}

func dedupeProps(ps []prop) []prop {
	seen := map[string]int{}
	var out []prop
	for _, p := range ps {
		if i, ok := seen[p.name]; ok {
			out[i].f.required = out[i].f.required || p.f.required
			continue
		}
		seen[p.name] = len(out)
		out = append(out, p)
	}
	return out
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = strings.TrimSpace(s[:i])
	}
	if len(s) > 200 {
		s = s[:197] + "..."
	}
	return s
}

// nodeValue turns a YAML node into plain Go values (maps, slices, strings,
// int64, float64, bool, nil). Timestamps stay text. Aliases are followed to
// a bounded depth.
func nodeValue(n *yaml.Node) any {
	return nodeValueDepth(n, 0)
}

func nodeValueDepth(n *yaml.Node, depth int) any {
	if n == nil || depth > 64 {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) > 0 {
			return nodeValueDepth(n.Content[0], depth+1)
		}
		return nil
	case yaml.AliasNode:
		return nodeValueDepth(n.Alias, depth+1)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = nodeValueDepth(n.Content[i+1], depth+1)
		}
		return m
	case yaml.SequenceNode:
		l := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			l = append(l, nodeValueDepth(c, depth+1))
		}
		return l
	case yaml.ScalarNode:
		switch n.ShortTag() {
		case "!!null":
			return nil
		case "!!bool":
			b, err := strconv.ParseBool(strings.ToLower(n.Value))
			if err == nil {
				return b
			}
		case "!!int":
			if i, err := strconv.ParseInt(n.Value, 0, 64); err == nil {
				return i
			}
		case "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
				return f
			}
		}
		return n.Value
	}
	return nil
}

// scalarOf is a node's value when it is a scalar.
func scalarOf(n *yaml.Node) (any, bool) {
	if n == nil || n.Kind != yaml.ScalarNode {
		return nil, false
	}
	return nodeValue(n), true
}

// conforms reports whether v fits the field's type (and its enum), so
// examples from a description are used only where the check would pass.
func conforms(v any, f *fld) bool {
	if f == nil {
		return true
	}
	if v == nil {
		return !f.required
	}
	ok := false
	switch f.typ {
	case "any":
		ok = true
	case "string":
		_, ok = v.(string)
	case "datetime":
		s, isStr := v.(string)
		if isStr {
			_, err := time.Parse(time.RFC3339, s)
			ok = err == nil
		}
	case "integer":
		switch x := v.(type) {
		case int64, int:
			ok = true
		case float64:
			ok = x == float64(int64(x))
		}
	case "number":
		switch v.(type) {
		case int64, int, float64:
			ok = true
		}
	case "boolean":
		_, ok = v.(bool)
	case "list":
		l, isList := v.([]any)
		ok = isList
		for _, e := range l {
			if ok && f.items != nil {
				ok = conforms(e, f.items)
			}
		}
	case "object":
		m, isMap := v.(map[string]any)
		ok = isMap
		for _, p := range f.props {
			if !ok {
				break
			}
			pv, has := m[p.name]
			if !has {
				ok = !p.f.required
				continue
			}
			ok = conforms(pv, p.f)
		}
	}
	if ok && len(f.enum) > 0 {
		for _, e := range f.enum {
			if e == v {
				return true
			}
		}
		return false
	}
	return ok
}

// example makes a value for a schema: its examples where the description
// has them, else one built from its type and format.
func example(sp *base.SchemaProxy, depth int, refs []string, left *int) any {
	if *left <= 0 {
		return nil
	}
	*left--
	s := schemaOf(sp)
	if s == nil || depth > 6 {
		return nil
	}
	if ref := sp.GetReference(); ref != "" {
		for _, r := range refs {
			if r == ref {
				return nil
			}
		}
		refs = append(refs, ref)
	}
	if s.Example != nil {
		return nodeValue(s.Example)
	}
	if len(s.Examples) > 0 {
		return nodeValue(s.Examples[0])
	}
	if s.Const != nil {
		return nodeValue(s.Const)
	}
	if s.Default != nil {
		return nodeValue(s.Default)
	}
	if len(s.Enum) > 0 {
		return nodeValue(s.Enum[0])
	}
	if len(s.AllOf) > 0 {
		m := map[string]any{}
		for _, sub := range s.AllOf {
			if sm, ok := example(sub, depth, refs, left).(map[string]any); ok {
				for k, v := range sm {
					m[k] = v
				}
			}
		}
		return m
	}
	for _, alts := range [][]*base.SchemaProxy{s.OneOf, s.AnyOf} {
		for _, a := range alts {
			if as := schemaOf(a); as != nil && !(len(as.Type) == 1 && as.Type[0] == "null") {
				return example(a, depth, refs, left)
			}
		}
	}
	typ := ""
	for _, t := range s.Type {
		if t != "null" {
			typ = t
			break
		}
	}
	if typ == "" {
		switch {
		case s.Properties != nil && s.Properties.Len() > 0:
			typ = "object"
		case s.Items != nil:
			typ = "array"
		}
	}
	switch typ {
	case "object":
		m := map[string]any{}
		if s.Properties != nil {
			for name, p := range s.Properties.FromOldest() {
				if v := example(p, depth+1, refs, left); v != nil {
					m[name] = v
				}
			}
		}
		return m
	case "array":
		if s.Items != nil && s.Items.IsA() {
			if v := example(s.Items.A, depth+1, refs, left); v != nil {
				return []any{v}
			}
		}
		return []any{}
	case "integer":
		return int64(1)
	case "number":
		return 1.5
	case "boolean":
		return true
	case "string":
		return stringExample(s.Format)
	}
	return nil
}

func stringExample(format string) string {
	switch format {
	case "date-time":
		return "2024-01-01T00:00:00Z"
	case "date":
		return "2024-01-01"
	case "email":
		return "user@example.com"
	case "uuid":
		return "00000000-0000-4000-8000-000000000001"
	case "uri", "url":
		return "https://example.com/"
	}
	return "example"
}

// valueFor is a test value for a field: a conforming example, else one made
// from the field's type.
func valueFor(f *fld, candidates ...any) any {
	for _, c := range candidates {
		if c != nil && conforms(c, f) {
			return c
		}
	}
	if f.def != nil {
		return f.def
	}
	if len(f.enum) > 0 {
		return f.enum[0]
	}
	switch f.typ {
	case "string":
		return "example"
	case "datetime":
		return "2024-01-01T00:00:00Z"
	case "integer":
		return int64(1)
	case "number":
		return 1.5
	case "boolean":
		return true
	case "list":
		if f.items != nil {
			return []any{valueFor(f.items)}
		}
		return []any{}
	case "object":
		m := map[string]any{}
		for _, p := range f.props {
			if p.f.required {
				m[p.name] = valueFor(p.f)
			}
		}
		return m
	}
	return "example"
}

// sortedKeys is the keys of m in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
