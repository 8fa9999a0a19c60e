package builtins

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/flowrun/flowrun/value"
)

func encodingDefs() []def {
	return []def{
		{
			Spec: Spec{
				Name:      "urlEncode",
				Category:  "encoding",
				Types:     []any{new(func(string) string)},
				Signature: "urlEncode(s string) string",
				Doc: "Percent-encodes text for one URL path segment or query value: everything except the RFC 3986 " +
					"unreserved characters `A-Z a-z 0-9 - . _ ~` is escaped, a space becomes %20.",
				Examples: []Example{
					{Expr: `urlEncode("a b/c?d=é")`, Result: `"a%20b%2Fc%3Fd%3D%C3%A9"`},
					{Expr: `"/users/" + urlEncode("ada@example.com")`, Result: `"/users/ada%40example.com"`},
					{Expr: `urlEncode(jsonDecode("42"))`, Error: "urlEncode: argument 1 must be a string, got number"},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				s, err := c.str(0)
				if err != nil {
					return nil, err
				}
				return value.EscapeRFC3986(s), nil
			},
		},
		{
			Spec: Spec{
				Name:      "urlDecode",
				Category:  "encoding",
				Types:     []any{new(func(string) string)},
				Signature: "urlDecode(s string) string",
				Doc:       "Decodes percent-encoding (%XX). A `+` stays a `+`; use parseQuery for form data, where `+` means a space.",
				Examples: []Example{
					{Expr: `urlDecode("a%20b%2Fc+d")`, Result: `"a b/c+d"`},
					{Expr: `urlDecode("100%")`, Error: "urlDecode: invalid URL escape"},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				s, err := c.str(0)
				if err != nil {
					return nil, err
				}
				out, err := url.PathUnescape(s)
				if err != nil {
					return nil, c.errorf("%v", err)
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:      "base64Encode",
				Category:  "encoding",
				Types:     []any{new(func(string) string)},
				Signature: "base64Encode(s string) string",
				Doc:       "Standard base64 (RFC 4648, `+/` alphabet) with `=` padding.",
				Examples: []Example{
					{Expr: `base64Encode("hello?>")`, Result: `"aGVsbG8/Pg=="`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				s, err := c.str(0)
				if err != nil {
					return nil, err
				}
				return base64.StdEncoding.EncodeToString([]byte(s)), nil
			},
		},
		{
			Spec: Spec{
				Name:      "base64Decode",
				Category:  "encoding",
				Types:     []any{new(func(string) string)},
				Signature: "base64Decode(s string) string",
				Doc:       "Decodes base64; padding is optional and the URL-safe alphabet is accepted too.",
				Examples: []Example{
					{Expr: `base64Decode("aGVsbG8/Pg==")`, Result: `"hello?>"`},
					{Expr: `base64Decode("aGVsbG8_Pg")`, Result: `"hello?>"`},
					{Expr: `base64Decode("not base64!")`, Error: "base64Decode: illegal base64 data"},
				},
			},
			min: 1, max: 1,
			impl: base64Decode,
		},
		{
			Spec: Spec{
				Name:      "base64UrlEncode",
				Category:  "encoding",
				Types:     []any{new(func(string) string)},
				Signature: "base64UrlEncode(s string) string",
				Doc:       "URL-safe base64 (RFC 4648 §5, `-_` alphabet) without padding, as used in JWTs.",
				Examples: []Example{
					{Expr: `base64UrlEncode("hello?>")`, Result: `"aGVsbG8_Pg"`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				s, err := c.str(0)
				if err != nil {
					return nil, err
				}
				return base64.RawURLEncoding.EncodeToString([]byte(s)), nil
			},
		},
		{
			Spec: Spec{
				Name:      "base64UrlDecode",
				Category:  "encoding",
				Types:     []any{new(func(string) string)},
				Signature: "base64UrlDecode(s string) string",
				Doc:       "Decodes URL-safe base64; padding is optional and the standard alphabet is accepted too.",
				Examples: []Example{
					{Expr: `base64UrlDecode("aGVsbG8_Pg")`, Result: `"hello?>"`},
					{Expr: `base64UrlDecode("aGVsbG8_Pg==")`, Result: `"hello?>"`},
				},
			},
			min: 1, max: 1,
			impl: base64Decode,
		},
		{
			Spec: Spec{
				Name:      "jsonEncode",
				Category:  "encoding",
				Types:     []any{new(func(any) string)},
				Signature: "jsonEncode(v any) string",
				Doc: "Compact JSON text with object keys sorted and without HTML escaping, e.g. for a signed body " +
					"(expr's toJSON indents).",
				Examples: []Example{
					{Expr: `jsonEncode({"b": [1, 2.5, nil], "a": "<x>"})`, Result: `"{\"a\":\"<x>\",\"b\":[1,2.5,null]}"`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				s, err := encodeJSON(c.args[0])
				if err != nil {
					return nil, c.errorf("%v", err)
				}
				return s, nil
			},
		},
		{
			Spec: Spec{
				Name:      "jsonDecode",
				Category:  "encoding",
				Types:     []any{new(func(string) any)},
				Signature: "jsonDecode(s string) any",
				Doc:       "Parses JSON text; numbers become floats. Trailing text after the value is an error.",
				Examples: []Example{
					{Expr: `jsonDecode("{\"id\": 7, \"tags\": [\"a\"]}").tags`, Result: `["a"]`},
					{Expr: `jsonDecode("{")`, Error: "jsonDecode: unexpected end of JSON input"},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				s, err := c.str(0)
				if err != nil {
					return nil, err
				}
				var v any
				if err := json.Unmarshal([]byte(s), &v); err != nil {
					return nil, c.errorf("%v", err)
				}
				return v, nil
			},
		},
		{
			Spec: Spec{
				Name:      "jwtDecode",
				Category:  "encoding",
				Types:     []any{new(func(string) map[string]any)},
				Signature: "jwtDecode(token string) object",
				Doc: "Reads a JWT (a leading `Bearer ` is ignored) into `{header, payload}` WITHOUT verifying its " +
					"signature: use it to read claims such as `exp`, never to trust them.",
				Examples: []Example{
					{
						Expr:   `jwtDecode("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1MSIsImV4cCI6MTcwMDAwMDAwMH0.c2ln")`,
						Result: `{"header":{"alg":"HS256","typ":"JWT"},"payload":{"exp":1700000000,"sub":"u1"}}`,
					},
					{Expr: `jwtDecode("abc")`, Error: "jwtDecode: a JWT has three parts separated by '.', got 1"},
				},
			},
			min: 1, max: 1,
			impl: jwtDecode,
		},
	}
}

// base64Decode accepts both alphabets, with or without padding.
func base64Decode(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	s = strings.TrimRight(s, "=")
	var b []byte
	if strings.ContainsAny(s, "-_") {
		b, err = base64.RawURLEncoding.DecodeString(s)
	} else {
		b, err = base64.RawStdEncoding.DecodeString(s)
	}
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	return string(b), nil
}

func jwtDecode(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	s = strings.TrimSpace(s)
	if len(s) > 7 && strings.EqualFold(s[:7], "bearer ") {
		s = strings.TrimSpace(s[7:])
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return nil, c.errorf("a JWT has three parts separated by '.', got %d", len(parts))
	}
	out := map[string]any{}
	for i, name := range []string{"header", "payload"} {
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[i], "="))
		if err != nil {
			return nil, c.errorf("the %s is not base64url: %v", name, err)
		}
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return nil, c.errorf("the %s is not JSON: %v", name, err)
		}
		out[name] = v
	}
	return out, nil
}
