package builtins

import (
	"github.com/flowrun/flowrun/value"

	"fmt"
)

func listDefs() []def {
	return []def{
		{
			Spec: Spec{
				Name:      "chunk",
				Category:  "lists",
				Types:     []any{new(func(any, int) []any)},
				Signature: "chunk(list list, n int) list",
				Doc:       "Splits a list into lists of n items (the last may be shorter), e.g. for batch endpoints. n must be at least 1; null reads as [].",
				Examples: []Example{
					{Expr: `chunk([1, 2, 3, 4, 5], 2)`, Result: `[[1,2],[3,4],[5]]`},
					{Expr: `chunk([], 10)`, Result: `[]`},
					{Expr: `chunk([1], 0)`, Error: "chunk: the size must be at least 1, got 0"},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				l, err := c.list(0)
				if err != nil {
					return nil, err
				}
				n, err := c.int(1)
				if err != nil {
					return nil, err
				}
				if n <= 0 {
					return nil, c.errorf("the size must be at least 1, got %d", n)
				}
				out := make([]any, 0, len(l)/n+1)
				for i := 0; i < len(l); {
					end := len(l)
					if len(l)-i > n {
						end = i + n
					}
					out = append(out, append([]any(nil), l[i:end]...))
					i = end
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:      "unique",
				Category:  "lists",
				Types:     []any{new(func(any) []any)},
				Signature: "unique(list list) list",
				Doc:       "The list without repeated items, first occurrence kept, order kept. Items are equal when their JSON is equal, so objects and lists work too (expr's uniq only compares plain values).",
				Examples: []Example{
					{Expr: `unique([1, 2, 1, 3, 2])`, Result: `[1,2,3]`},
					{Expr: `unique([{"id": 1}, {"id": 2}, {"id": 1}])`, Result: `[{"id":1},{"id":2}]`},
					{Expr: `unique([1, 1.0, "1"])`, Result: `[1,"1"]`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				l, err := c.list(0)
				if err != nil {
					return nil, err
				}
				seen := make(map[string]bool, len(l))
				out := make([]any, 0, len(l))
				for _, item := range l {
					key, err := encodeJSON(item)
					if err != nil {
						// Not JSON (NaN, a function, ...): fall back to Go's view.
						key = fmt.Sprintf("\x00%T\x00%v", item, item)
					}
					if !seen[key] {
						seen[key] = true
						out = append(out, item)
					}
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:      "pluck",
				Category:  "lists",
				Types:     []any{new(func(any, string) []any)},
				Signature: "pluck(list list, key string) list",
				Doc:       "The value of key in each object of the list (null where an object lacks it or an item is null).",
				Examples: []Example{
					{Expr: `pluck([{"id": 1}, {"id": 2, "x": 0}, {}], "id")`, Result: `[1,2,null]`},
					{Expr: `pluck([1], "id")`, Error: "pluck: item 1 must be an object, got integer"},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				l, err := c.list(0)
				if err != nil {
					return nil, err
				}
				key, err := c.str(1)
				if err != nil {
					return nil, err
				}
				out := make([]any, len(l))
				for i, item := range l {
					m, ok := asObject(item)
					if !ok {
						return nil, c.errorf("item %d must be an object, got %s", i+1, typeName(item))
					}
					out[i] = m[key]
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:      "compact",
				Category:  "objects",
				Types:     []any{new(func(any) any)},
				Signature: "compact(v any) any",
				Doc: "v with its null-valued object keys removed, recursively (in nested objects and in the objects of lists); " +
					"list items are kept, nulls included, and other falsy values (0, \"\", false, {}) stay. " +
					"An http step's `omit_nulls: true` sends compact(json). (Before version 1.1, compact removed the null items of a list; " +
					"write filter(list, # != nil) for that.)",
				Examples: []Example{
					{Expr: `compact({"name": "Ada", "phone": nil, "address": {"city": "London", "zip": nil}})`, Result: `{"address":{"city":"London"},"name":"Ada"}`},
					{Expr: `compact([1, nil, {"a": nil, "b": 0}])`, Result: `[1,null,{"b":0}]`},
					{Expr: `compact({"a": "", "b": false, "c": {}})`, Result: `{"a":"","b":false,"c":{}}`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				return value.Compact(c.args[0]), nil
			},
		},
		{
			Spec: Spec{
				Name:      "keyBy",
				Category:  "lists",
				Types:     []any{new(func(any, string) map[string]any)},
				Signature: "keyBy(list list, key string) object",
				Doc: "An object from the value of key in each item (as text) to the item; later items win. " +
					"Null items and items whose key is missing or null are skipped.",
				Examples: []Example{
					{Expr: `keyBy([{"id": 1, "n": "a"}, {"id": 2, "n": "b"}], "id")`, Result: `{"1":{"id":1,"n":"a"},"2":{"id":2,"n":"b"}}`},
					{Expr: `keyBy([{"email": "a@x"}, {"name": "no email"}, nil], "email")`, Result: `{"a@x":{"email":"a@x"}}`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				l, err := c.list(0)
				if err != nil {
					return nil, err
				}
				key, err := c.str(1)
				if err != nil {
					return nil, err
				}
				out := make(map[string]any, len(l))
				for i, item := range l {
					if item == nil {
						continue
					}
					m, ok := asObject(item)
					if !ok {
						return nil, c.errorf("item %d must be an object, got %s", i+1, typeName(item))
					}
					v := m[key]
					if v == nil {
						continue
					}
					k, ok := scalarText(v)
					if !ok {
						return nil, c.errorf("item %d: the value of %s is a %s, not a string or number", i+1, quote(key), typeName(v))
					}
					out[k] = item
				}
				return out, nil
			},
		},
	}
}
