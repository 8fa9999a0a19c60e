package gen

import (
	"fmt"
	"strings"
)

// prop is one documented key of a mapping.
type prop struct {
	name string
	desc string
	s    *Node
}

func p(name, desc string, s *Node) prop { return prop{name, desc, s} }

// describe attaches desc to s; markdownDescription repeats it when it holds
// markdown, so editors that render markdown show the code spans.
func describe(s *Node, desc string) *Node {
	s = s.with("description", desc)
	if strings.ContainsAny(desc, "`*") {
		s = s.with("markdownDescription", desc)
	}
	return s
}

func props(ps []prop) *Node {
	n := &Node{}
	for _, p := range ps {
		n.kvs = append(n.kvs, kv{p.name, describe(p.s, p.desc)})
	}
	return n
}

// closed is a mapping that allows exactly the keys ps. title names the mapping
// in messages such as `unknown key "x" in <title>`.
func closed(title, desc string, ps []prop, required ...string) *Node {
	n := o("title", title)
	n = describe(n, desc)
	n = n.with("type", "object").with("properties", props(ps))
	if len(required) > 0 {
		n = n.with("required", required)
	}
	return n.with("additionalProperties", false)
}

func ref(def string) *Node { return o("$ref", "#/$defs/"+def) }

func typ(types ...string) *Node {
	if len(types) == 1 {
		return o("type", types[0])
	}
	return o("type", types)
}

func str() *Node     { return typ("string") }
func boolean() *Node { return typ("boolean") }
func anyValue() *Node {
	return ref("value")
}

func integer(min int) *Node { return o("type", "integer", "minimum", min) }

func status() *Node {
	return o("type", "integer", "minimum", 100, "maximum", 599)
}

func enum(values ...string) *Node { return o("enum", values) }

func listOf(item *Node) *Node { return o("type", "array", "items", item) }

// mapOf is a mapping from names (identifiers) to values of schema v. A key
// that is not a name is rejected through the bad_name definition, which the
// schema package reports as a problem of the key.
func mapOf(v *Node) *Node {
	return o("type", "object", "patternProperties", o(identPattern, v), "additionalProperties", ref("bad_name"))
}

// freeMap is a mapping with any keys.
func freeMap(v *Node) *Node {
	return o("type", "object", "additionalProperties", v)
}

// forbid is a key that must not be present; msg is the predicate reported,
// e.g. `is only allowed in webhook flows`.
func forbid(msg string) *Node {
	d := strings.ToUpper(msg[:1]) + msg[1:] + "."
	return o("description", d, "not", o(), "errorMessage", msg)
}

// keyIn is an `if` condition: key is present and one of values.
func keyIn(key string, values ...string) *Node {
	var c *Node
	if len(values) == 1 {
		c = o("const", values[0])
	} else {
		c = o("enum", values)
	}
	return o("required", []string{key}, "properties", o(key, c))
}

func when(cond, then *Node) *Node { return o("if", cond, "then", then) }

func whenElse(cond, then, els *Node) *Node { return o("if", cond, "then", then, "else", els) }

// atMostOne allows at most one of keys; each later key gets one error naming
// the first key present.
func atMostOne(keys ...string) *Node {
	if len(keys) < 2 {
		panic("gen: atMostOne needs two keys")
	}
	first := keys[0]
	ps := &Node{}
	for _, k := range keys[1:] {
		ps.kvs = append(ps.kvs, kv{k, forbid(fmt.Sprintf("cannot be used together with %q", first))})
	}
	c := when(o("required", []string{first}), o("properties", ps))
	if len(keys) > 2 {
		c = c.with("else", atMostOne(keys[1:]...))
	}
	return c
}

// needsOneOf requires at least one of keys, with one error at the mapping.
func needsOneOf(keys ...string) *Node {
	var alts []any
	for _, k := range keys {
		alts = append(alts, o("required", []string{k}))
	}
	q := make([]string, len(keys))
	for i, k := range keys {
		q[i] = fmt.Sprintf("%q", k)
	}
	msg := "needs " + strings.Join(q[:len(q)-1], ", ") + " or " + q[len(q)-1]
	return when(o("not", o("anyOf", alts)), o("not", o(), "errorMessage", msg))
}

func allOf(conds ...*Node) []*Node { return conds }
