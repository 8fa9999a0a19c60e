package gen

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
)

// Node is a JSON object whose keys keep the order they were written in, so the
// generated schema reads top-down like the language reference.
type Node struct {
	kvs []kv
}

type kv struct {
	k string
	v any
}

// o builds a Node from alternating keys and values.
func o(pairs ...any) *Node {
	if len(pairs)%2 != 0 {
		panic("gen: odd number of arguments to o")
	}
	n := &Node{}
	for i := 0; i < len(pairs); i += 2 {
		n.kvs = append(n.kvs, kv{pairs[i].(string), pairs[i+1]})
	}
	return n
}

// with returns a copy of n with key k set to v (replacing, or appended).
func (n *Node) with(k string, v any) *Node {
	c := &Node{kvs: slices.Clone(n.kvs)}
	for i := range c.kvs {
		if c.kvs[i].k == k {
			c.kvs[i].v = v
			return c
		}
	}
	c.kvs = append(c.kvs, kv{k, v})
	return c
}

// get returns the value of key k.
func (n *Node) get(k string) (any, bool) {
	for _, e := range n.kvs {
		if e.k == k {
			return e.v, true
		}
	}
	return nil, false
}

// MarshalJSON writes the keys in order, without HTML escaping.
func (n *Node) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, e := range n.kvs {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := marshal(e.k)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		v, err := marshal(e.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

func indent(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// refs calls f with the name of every "#/$defs/..." reference under v.
func refs(v any, f func(string)) {
	switch v := v.(type) {
	case *Node:
		for _, e := range v.kvs {
			if s, ok := e.v.(string); ok && e.k == "$ref" {
				f(strings.TrimPrefix(s, "#/$defs/"))
				continue
			}
			refs(e.v, f)
		}
	case []any:
		for _, x := range v {
			refs(x, f)
		}
	case []*Node:
		for _, x := range v {
			refs(x, f)
		}
	}
}
