package builtins

func valueDefs() []def {
	return []def{
		{
			Spec: Spec{
				Name:      "default",
				Category:  "values",
				Types:     []any{new(func(any, any) any)},
				Signature: "default(v any, d any) any",
				Doc:       "d when v is null or the empty string, else v (0, false and [] are kept).",
				Examples: []Example{
					{Expr: `default(nil, "n/a")`, Result: `"n/a"`},
					{Expr: `default("", 10)`, Result: `10`},
					{Expr: `default(0, 10)`, Result: `0`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				if empty(c.args[0]) {
					return c.args[1], nil
				}
				return c.args[0], nil
			},
		},
		{
			Spec: Spec{
				Name:      "coalesce",
				Category:  "values",
				Types:     []any{new(func(...any) any)},
				Signature: "coalesce(vs ...any) any",
				Doc:       "The first argument that is neither null nor the empty string, or null.",
				Examples: []Example{
					{Expr: `coalesce(nil, "", "b", "c")`, Result: `"b"`},
					{Expr: `coalesce(nil, nil)`, Result: `null`},
				},
			},
			min: 0, max: -1,
			impl: func(c *call) (any, error) {
				for _, v := range c.args {
					if !empty(v) {
						return v, nil
					}
				}
				return nil, nil
			},
		},
		{
			Spec: Spec{
				Name:      "toString",
				Category:  "values",
				Types:     []any{new(func(any) string)},
				Signature: "toString(v any) string",
				Doc: "v as text: strings unchanged, numbers without a trailing .0 or exponent, true/false, null as \"\", " +
					"times in RFC 3339, objects and lists as compact JSON (expr's string() writes Go syntax for those).",
				Examples: []Example{
					{Expr: `toString(3.0) + "/" + toString(0.25) + "/" + toString(nil) + "/" + toString(true)`, Result: `"3/0.25//true"`},
					{Expr: `toString({"b": 1, "a": [true]})`, Result: `"{\"a\":[true],\"b\":1}"`},
					{Expr: `toString(fromUnix(0))`, Result: `"1970-01-01T00:00:00Z"`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				if s, ok := scalarText(c.args[0]); ok {
					return s, nil
				}
				s, err := encodeJSON(c.args[0])
				if err != nil {
					return nil, c.errorf("%v", err)
				}
				return s, nil
			},
		},
	}
}

func empty(v any) bool {
	switch s := v.(type) {
	case nil:
		return true
	case string:
		return s == ""
	}
	return false
}
