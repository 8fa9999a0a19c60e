package builtins

import (
	"maps"
	"strconv"
	"strings"
)

func objectDefs() []def {
	return []def{
		{
			Spec: Spec{
				Name:      "pick",
				Category:  "objects",
				Types:     []any{new(func(any, ...any) map[string]any)},
				Signature: "pick(obj object, keys ...string|list) object",
				Doc:       "A new object with only the given keys of obj (keys obj lacks are left out). Keys may also be given as a list; null obj reads as {}.",
				Examples: []Example{
					{Expr: `pick({"id": 1, "name": "Ada", "password": "x"}, "id", "name")`, Result: `{"id":1,"name":"Ada"}`},
					{Expr: `pick({"id": 1, "name": "Ada"}, ["id", "email"])`, Result: `{"id":1}`},
				},
			},
			min: 1, max: -1,
			impl: func(c *call) (any, error) {
				obj, keys, err := objectAndKeys(c)
				if err != nil {
					return nil, err
				}
				out := make(map[string]any, len(keys))
				for _, k := range keys {
					if v, ok := obj[k]; ok {
						out[k] = v
					}
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:      "omit",
				Category:  "objects",
				Types:     []any{new(func(any, ...any) map[string]any)},
				Signature: "omit(obj object, keys ...string|list) object",
				Doc:       "A new object with all keys of obj except the given ones. Keys may also be given as a list; null obj reads as {}.",
				Examples: []Example{
					{Expr: `omit({"id": 1, "name": "Ada", "password": "x"}, "password")`, Result: `{"id":1,"name":"Ada"}`},
					{Expr: `omit(nil, "a")`, Result: `{}`},
				},
			},
			min: 1, max: -1,
			impl: func(c *call) (any, error) {
				obj, keys, err := objectAndKeys(c)
				if err != nil {
					return nil, err
				}
				out := maps.Clone(obj)
				if out == nil {
					out = map[string]any{}
				}
				for _, k := range keys {
					delete(out, k)
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:      "merge",
				Category:  "objects",
				Types:     []any{new(func(...any) map[string]any)},
				Signature: "merge(objs ...object) object",
				Doc:       "A new object with the keys of all objects, later ones winning (shallow: nested objects are replaced, not merged). Null arguments are skipped.",
				Examples: []Example{
					{Expr: `merge({"a": 1, "b": {"x": 1}}, nil, {"b": {"y": 2}, "c": 3})`, Result: `{"a":1,"b":{"y":2},"c":3}`},
					{Expr: `merge()`, Result: `{}`},
					{Expr: `merge({"a": 1}, [1])`, Error: "merge: argument 2 must be an object, got list"},
				},
			},
			min: 0, max: -1,
			impl: func(c *call) (any, error) {
				out := map[string]any{}
				for i := range c.args {
					obj, err := c.object(i)
					if err != nil {
						return nil, err
					}
					maps.Copy(out, obj)
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:     "getPath",
				Category: "objects",
				Types: []any{
					new(func(any, any) any),
					new(func(any, any, any) any),
				},
				Signature: "getPath(obj any, path string|list, default? any) any",
				Doc: "The value at a dotted path (`a.b.0.c`: numeric segments index lists, -1 is the last item), or default (null if not given) " +
					"when a segment is missing or the value is null. A list path such as `[\"a.b\", 0]` reaches keys holding dots.",
				Examples: []Example{
					{Expr: `getPath({"a": {"b": [{"c": 42}]}}, "a.b.0.c")`, Result: `42`},
					{Expr: `getPath({"a": {"b": []}}, "a.b.0.c", "none")`, Result: `"none"`},
					{Expr: `getPath({"items": [1, 2, 3]}, "items.-1")`, Result: `3`},
					{Expr: `getPath({"a.b": {"c": 1}}, ["a.b", "c"])`, Result: `1`},
				},
			},
			min: 2, max: 3,
			impl: func(c *call) (any, error) {
				segs, err := c.path(1)
				if err != nil {
					return nil, err
				}
				v, found := walkPath(c.args[0], segs)
				if !found || v == nil {
					if len(c.args) == 3 {
						return c.args[2], nil
					}
					return nil, nil
				}
				return v, nil
			},
		},
		{
			Spec: Spec{
				Name:      "hasPath",
				Category:  "objects",
				Types:     []any{new(func(any, any) bool)},
				Signature: "hasPath(obj any, path string|list) bool",
				Doc:       "Whether the path (as for getPath) exists, even if its value is null.",
				Examples: []Example{
					{Expr: `hasPath({"a": {"b": nil}}, "a.b")`, Result: `true`},
					{Expr: `hasPath({"a": [1]}, "a.1")`, Result: `false`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				segs, err := c.path(1)
				if err != nil {
					return nil, err
				}
				_, found := walkPath(c.args[0], segs)
				return found, nil
			},
		},
		{
			Spec: Spec{
				Name:      "setPath",
				Category:  "objects",
				Types:     []any{new(func(any, any, any) any)},
				Signature: "setPath(obj object|list|null, path string|list, value any) object|list",
				Doc: "A copy of obj with value set at the path (as for getPath); obj itself is not changed. Missing objects on the way " +
					"are created; a list index may be an existing item, -1 for the last, or the list's length to append.",
				Examples: []Example{
					{Expr: `setPath({"a": {"x": 1}}, "a.b.c", 2)`, Result: `{"a":{"b":{"c":2},"x":1}}`},
					{Expr: `setPath({"tags": ["a"]}, "tags.1", "b")`, Result: `{"tags":["a","b"]}`},
					{Expr: `setPath({"a": "text"}, "a.b", 1)`, Error: `setPath: cannot set "b" inside a string (at "a")`},
				},
			},
			min: 3, max: 3,
			impl: func(c *call) (any, error) {
				segs, err := c.path(1)
				if err != nil {
					return nil, err
				}
				if len(segs) == 0 {
					return nil, c.errorf("the path must not be empty")
				}
				if c.args[0] != nil && !isObject(c.args[0]) && !isList(c.args[0]) {
					return nil, c.argError(0, "an object or a list")
				}
				return setPath(c, c.args[0], segs, 0, c.args[2])
			},
		},
	}
}

// objectAndKeys reads (obj, keys...) where each key argument is a string or a
// list of strings.
func objectAndKeys(c *call) (map[string]any, []string, error) {
	obj, err := c.object(0)
	if err != nil {
		return nil, nil, err
	}
	var keys []string
	for i := 1; i < len(c.args); i++ {
		switch v := c.args[i].(type) {
		case string:
			keys = append(keys, v)
			continue
		}
		l, ok := asList(c.args[i])
		if !ok || c.args[i] == nil {
			return nil, nil, c.argError(i, "a string or a list of strings")
		}
		for _, item := range l {
			s, ok := item.(string)
			if !ok {
				return nil, nil, c.errorf("argument %d must be a list of strings, but holds %s", i+1, article(typeName(item)))
			}
			keys = append(keys, s)
		}
	}
	return obj, keys, nil
}

// path reads argument i as a path: dotted text ("" is the value itself) or a
// list of string and integer segments.
func (c *call) path(i int) ([]string, error) {
	if s, ok := c.args[i].(string); ok {
		if s == "" {
			return nil, nil
		}
		return strings.Split(s, "."), nil
	}
	l, ok := asList(c.args[i])
	if !ok || c.args[i] == nil {
		return nil, c.argError(i, "a path string such as \"a.b.0\" or a list of segments")
	}
	segs := make([]string, len(l))
	for j, item := range l {
		if s, ok := item.(string); ok {
			segs[j] = s
			continue
		}
		n, ok := integer(item)
		if !ok {
			return nil, c.errorf("argument %d: path segment %d must be a string or a whole number, got %s", i+1, j+1, typeName(item))
		}
		segs[j] = strconv.Itoa(n)
	}
	return segs, nil
}

// listIndex reads a list index segment; negative counts from the end.
func listIndex(seg string, n int) (int, bool) {
	i, err := strconv.Atoi(seg)
	if err != nil {
		return 0, false
	}
	if i < 0 {
		i += n
	}
	return i, true
}

func walkPath(v any, segs []string) (any, bool) {
	for _, seg := range segs {
		if m, ok := asObject(v); ok && v != nil {
			if v, ok = m[seg]; !ok {
				return nil, false
			}
			continue
		}
		if l, ok := asList(v); ok && v != nil {
			i, ok := listIndex(seg, len(l))
			if !ok || i < 0 || i >= len(l) {
				return nil, false
			}
			v = l[i]
			continue
		}
		return nil, false
	}
	return v, true
}

func setPath(c *call, v any, segs []string, depth int, value any) (any, error) {
	if depth == len(segs) {
		return value, nil
	}
	seg := segs[depth]
	at := func() string {
		if depth == 0 {
			return "the top"
		}
		return quote(strings.Join(segs[:depth], "."))
	}
	if v == nil || isObject(v) {
		m, _ := asObject(v)
		out := make(map[string]any, len(m)+1)
		maps.Copy(out, m)
		child, err := setPath(c, m[seg], segs, depth+1, value)
		if err != nil {
			return nil, err
		}
		out[seg] = child
		return out, nil
	}
	if l, ok := asList(v); ok {
		i, ok := listIndex(seg, len(l))
		if !ok {
			return nil, c.errorf("cannot set %s inside a list (at %s): use an index", quote(seg), at())
		}
		if i < 0 || i > len(l) {
			return nil, c.errorf("index %s is out of range for a list of %d (at %s)", seg, len(l), at())
		}
		out := make([]any, len(l), len(l)+1)
		copy(out, l)
		if i == len(l) {
			out = append(out, nil)
		}
		child, err := setPath(c, out[i], segs, depth+1, value)
		if err != nil {
			return nil, err
		}
		out[i] = child
		return out, nil
	}
	return nil, c.errorf("cannot set %s inside a %s (at %s)", quote(seg), typeName(v), at())
}
