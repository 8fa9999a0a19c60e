package lsp

import (
	"encoding/json"
	"regexp"
	"sort"
	"strings"
	"sync"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/schema"
)

// The JSON Schemas `flowrun validate` checks files with are where keys and
// their descriptions are declared; completion and hover read them here, so
// that an editor offers exactly the keys validate accepts.

type jsonSchema struct {
	root map[string]any
}

var schemas = sync.OnceValue(func() map[string]*jsonSchema {
	out := map[string]*jsonSchema{}
	for _, k := range schema.Kinds() {
		b, ok := schema.JSON(k)
		if !ok {
			continue
		}
		var m map[string]any
		if json.Unmarshal(b, &m) == nil {
			out[k] = &jsonSchema{root: m}
		}
	}
	return out
})

func (s *jsonSchema) ref(n map[string]any) map[string]any {
	r, ok := n["$ref"].(string)
	if !ok || !strings.HasPrefix(r, "#/") {
		return nil
	}
	var cur any = s.root
	for _, part := range strings.Split(r[2:], "/") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[part]
	}
	m, _ := cur.(map[string]any)
	return m
}

// applicable lists the subschemas that apply to an instance (nil: not
// known): the node, what it refers to, allOf members, and the branch of each
// if/then/else the instance takes. A branch that forbids everything
// (`not: {}`) is left out.
func (s *jsonSchema) applicable(n map[string]any, inst *lang.Node, depth int) []map[string]any {
	if n == nil || depth > 40 {
		return nil
	}
	if forbids(n) {
		return nil
	}
	out := []map[string]any{n}
	out = append(out, s.applicable(s.ref(n), inst, depth+1)...)
	for _, sub := range asList(n["allOf"]) {
		out = append(out, s.applicable(asMap(sub), inst, depth+1)...)
	}
	if cond := asMap(n["if"]); cond != nil {
		m, known := s.matches(cond, inst)
		if m || !known {
			out = append(out, s.applicable(asMap(n["then"]), inst, depth+1)...)
		}
		if !m || !known {
			out = append(out, s.applicable(asMap(n["else"]), inst, depth+1)...)
		}
	}
	return out
}

// matches evaluates the few conditions the flowrun schemas use in `if`:
// required, properties with const or enum, type, pattern, not, anyOf. The
// second result is false when it cannot tell.
func (s *jsonSchema) matches(c map[string]any, inst *lang.Node) (bool, bool) {
	if inst == nil {
		return false, false
	}
	for k, v := range c {
		switch k {
		case "required":
			for _, r := range asList(v) {
				if name, _ := r.(string); inst.Kind != lang.MapNode || inst.KeyNode(name) == nil {
					return false, true
				}
			}
		case "properties":
			if inst.Kind != lang.MapNode {
				continue
			}
			for name, sub := range asMap(v) {
				if val := inst.Get(name); val != nil {
					if ok, known := s.matches(asMap(sub), val); known && !ok {
						return false, true
					}
				}
			}
		case "const":
			if inst.Value() != v {
				return false, true
			}
		case "enum":
			found := false
			for _, e := range asList(v) {
				found = found || inst.Value() == e
			}
			if !found {
				return false, true
			}
		case "type":
			if !typeMatches(v, inst) {
				return false, true
			}
		case "pattern":
			re, err := regexp.Compile(v.(string))
			if err != nil || inst.Kind != lang.StringNode || !re.MatchString(inst.Str) {
				return false, true
			}
		case "not":
			ok, known := s.matches(asMap(v), inst)
			if !known {
				return false, false
			}
			if ok {
				return false, true
			}
		case "anyOf":
			any := false
			for _, sub := range asList(v) {
				ok, known := s.matches(asMap(sub), inst)
				if !known {
					return false, false
				}
				any = any || ok
			}
			if !any {
				return false, true
			}
		default:
			return false, false
		}
	}
	return true, true
}

func typeMatches(t any, inst *lang.Node) bool {
	names := []string{}
	switch x := t.(type) {
	case string:
		names = append(names, x)
	case []any:
		for _, y := range x {
			if s, ok := y.(string); ok {
				names = append(names, s)
			}
		}
	}
	for _, n := range names {
		switch {
		case n == "string" && inst.Kind == lang.StringNode,
			n == "object" && inst.Kind == lang.MapNode,
			n == "array" && inst.Kind == lang.ListNode,
			n == "boolean" && inst.Kind == lang.BoolNode,
			n == "integer" && inst.Kind == lang.IntNode,
			n == "number" && (inst.Kind == lang.IntNode || inst.Kind == lang.FloatNode),
			n == "null" && inst.Kind == lang.NullNode:
			return true
		}
	}
	return false
}

// forbids reports whether a schema accepts nothing (`not: {}`).
func forbids(n map[string]any) bool {
	not, ok := n["not"].(map[string]any)
	return ok && len(not) == 0
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// keyInfo is a key a mapping may hold.
type keyInfo struct {
	name string
	doc  string
	sub  map[string]any // the key's schema
}

// keys lists the keys a mapping described by n may hold, sorted, with
// their descriptions: the properties of every applicable subschema,
// limited to those of the closed ones (additionalProperties: false),
// without the keys a branch forbids.
func (s *jsonSchema) keys(n map[string]any, inst *lang.Node) []keyInfo {
	subs := s.applicable(n, inst, 0)
	found := map[string]*keyInfo{}
	forbidden := map[string]bool{}
	var closed []map[string]any
	for _, sub := range subs {
		props := asMap(sub["properties"])
		if ap, ok := sub["additionalProperties"].(bool); ok && !ap {
			closed = append(closed, props)
		}
		for name, p := range props {
			pm := asMap(p)
			if forbids(pm) {
				forbidden[name] = true
				continue
			}
			ki := found[name]
			if ki == nil {
				ki = &keyInfo{name: name}
				found[name] = ki
			}
			if ki.doc == "" {
				ki.doc = describe(pm)
			}
			if ki.sub == nil || ki.sub["$ref"] == nil && pm["$ref"] != nil {
				ki.sub = pm
			}
		}
	}
	var out []keyInfo
	for name, ki := range found {
		ok := !forbidden[name]
		for _, c := range closed {
			if _, in := c[name]; !in {
				ok = false
			}
		}
		if ok {
			if ki.doc == "" {
				ki.doc = describe(s.ref(ki.sub))
			}
			out = append(out, *ki)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

func describe(n map[string]any) string {
	if d, ok := n["markdownDescription"].(string); ok {
		return d
	}
	d, _ := n["description"].(string)
	return d
}

// child is the schema of the value under key (or of a list's items, for an
// index) of an instance described by n.
func (s *jsonSchema) child(n map[string]any, inst *lang.Node, step seg) map[string]any {
	subs := s.applicable(n, inst, 0)
	if step.isIdx {
		for _, sub := range subs {
			if it := asMap(sub["items"]); it != nil {
				return it
			}
		}
		return nil
	}
	var best map[string]any
	for _, sub := range subs {
		if p := asMap(asMap(sub["properties"])[step.key]); p != nil {
			if forbids(p) {
				continue
			}
			if best == nil || p["$ref"] != nil && best["$ref"] == nil || len(p) > len(best) {
				best = p
			}
		}
	}
	if best != nil {
		return best
	}
	for _, sub := range subs {
		for pat, p := range asMap(sub["patternProperties"]) {
			if re, err := regexp.Compile(pat); err == nil && re.MatchString(step.key) {
				return asMap(p)
			}
		}
	}
	return nil
}

// at walks a path from a document's root: the schema of the node there
// and the instance node (nil where the tree ends).
func (s *jsonSchema) at(root *lang.Node, path []seg) (map[string]any, *lang.Node) {
	n, inst := s.root, root
	for _, st := range path {
		n = s.child(n, inst, st)
		if n == nil {
			return nil, nil
		}
		inst = lookup(inst, []seg{st})
	}
	return n, inst
}

// enum lists the values the schema n allows, when it lists them.
func (s *jsonSchema) enum(n map[string]any, inst *lang.Node) []string {
	var out []string
	seen := map[string]bool{}
	for _, sub := range s.applicable(n, inst, 0) {
		for _, e := range asList(sub["enum"]) {
			if str, ok := e.(string); ok && !seen[str] {
				seen[str] = true
				out = append(out, str)
			}
		}
	}
	return out
}
