package builtins

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"

	"github.com/flowrun/flowrun/value"
)

// maxDepth bounds the nesting that queryString and formEncode follow.
const maxDepth = 32

func httpDefs() []def {
	return []def{
		{
			Spec: Spec{
				Name:      "queryString",
				Category:  "http",
				Types:     []any{new(func(any) string)},
				Signature: "queryString(obj object) string",
				Doc: "Builds a URL query string (without `?`): keys sorted, values percent-encoded as by urlEncode (space is %20), " +
					"null values left out, a list repeats its key, numbers without a trailing .0, booleans as true/false, " +
					"nested objects in bracket form (`a[b]=1`, brackets encoded).",
				Examples: []Example{
					{Expr: `queryString({"q": "x y", "limit": 10, "after": nil})`, Result: `"limit=10&q=x%20y"`},
					{Expr: `queryString({"id": [1, 2], "active": true, "ratio": 0.5})`, Result: `"active=true&id=1&id=2&ratio=0.5"`},
					{Expr: `queryString({"metadata": {"plan": "pro"}})`, Result: `"metadata%5Bplan%5D=pro"`},
					{Expr: `queryString(nil)`, Result: `""`},
					{Expr: `queryString("a=1")`, Error: "queryString: argument 1 must be an object, got string"},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) { return encodeQuery(c, value.EscapeRFC3986) },
		},
		{
			Spec: Spec{
				Name:      "formEncode",
				Category:  "http",
				Types:     []any{new(func(any) string)},
				Signature: "formEncode(obj object) string",
				Doc: "Encodes an object as application/x-www-form-urlencoded text: like queryString (keys sorted, nulls left out, " +
					"lists repeat the key) but a space becomes `+`.",
				Examples: []Example{
					{Expr: `formEncode({"grant_type": "client_credentials", "scope": "read write"})`, Result: `"grant_type=client_credentials&scope=read+write"`},
					{Expr: `formEncode({"a": ["x&y", "z"], "b": nil})`, Result: `"a=x%26y&a=z"`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) { return encodeQuery(c, url.QueryEscape) },
		},
		{
			Spec: Spec{
				Name:      "parseQuery",
				Category:  "http",
				Types:     []any{new(func(string) map[string]any)},
				Signature: "parseQuery(s string) object",
				Doc: "Parses a query string (or the query of a full URL) into an object; a key given once maps to a string, " +
					"a repeated key to a list of strings. `+` reads as a space.",
				Examples: []Example{
					{Expr: `parseQuery("a=1&b=x+y&b=z%21")`, Result: `{"a":"1","b":["x y","z!"]}`},
					{Expr: `parseQuery("https://api.example.com/users?after=00u1&limit=2#top").after`, Result: `"00u1"`},
					{Expr: `parseQuery("")`, Result: `{}`},
					{Expr: `parseQuery("a=%zz")`, Error: `parseQuery: invalid URL escape "%zz"`},
				},
			},
			min: 1, max: 1,
			impl: parseQuery,
		},
		{
			Spec: Spec{
				Name:      "linkNext",
				Category:  "http",
				Types:     []any{new(func(any) any)},
				Signature: "linkNext(header string|null) string|null",
				Doc: "The URL of the `rel=\"next\"` link in an RFC 8288 Link header (as sent by GitHub, Okta, Shopify, ...), " +
					"or null when there is none. Made for `paginate.next: ${ linkNext(response.headers.link) }`.",
				Examples: []Example{
					{Expr: `linkNext("<https://x.okta.com/api/v1/users?after=00u1&limit=2>; rel=\"next\"")`, Result: `"https://x.okta.com/api/v1/users?after=00u1&limit=2"`},
					{Expr: `linkNext("<https://api.github.com/repositories/1/issues?page=1>; rel=\"prev\", <https://api.github.com/repositories/1/issues?page=3>; rel=\"next\"")`, Result: `"https://api.github.com/repositories/1/issues?page=3"`},
					{Expr: `linkNext("<https://api.example.com/items?page=9>; rel=\"last\"")`, Result: `null`},
					{Expr: `linkNext(nil)`, Result: `null`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				h, err := linkHeaderArg(c)
				if err != nil {
					return nil, err
				}
				for _, l := range parseLinks(h) {
					for _, r := range l.rels {
						if r == "next" {
							return l.url, nil
						}
					}
				}
				return nil, nil
			},
		},
		{
			Spec: Spec{
				Name:      "parseLinkHeader",
				Category:  "http",
				Types:     []any{new(func(any) map[string]any)},
				Signature: "parseLinkHeader(header string|null) object",
				Doc: "All links of an RFC 8288 Link header as an object from relation type (lower case) to URL; " +
					"a link with `rel=\"next last\"` appears under both, and the first link of a relation wins.",
				Examples: []Example{
					{Expr: `parseLinkHeader("<https://a.example/?p=1>; rel=\"first prev\", <https://a.example/?p=3>; rel=next")`, Result: `{"first":"https://a.example/?p=1","next":"https://a.example/?p=3","prev":"https://a.example/?p=1"}`},
					{Expr: `parseLinkHeader("")`, Result: `{}`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				h, err := linkHeaderArg(c)
				if err != nil {
					return nil, err
				}
				out := map[string]any{}
				for _, l := range parseLinks(h) {
					for _, r := range l.rels {
						if _, seen := out[r]; !seen {
							out[r] = l.url
						}
					}
				}
				return out, nil
			},
		},
		{
			Spec: Spec{
				Name:      "basicAuth",
				Category:  "http",
				Types:     []any{new(func(string, string) string)},
				Signature: "basicAuth(user string, password string) string",
				Doc:       "The value of an HTTP Basic Authorization header: `Basic ` and base64 of `user:password`.",
				Examples: []Example{
					{Expr: `basicAuth("ada", "s3cret")`, Result: `"Basic YWRhOnMzY3JldA=="`},
					{Expr: `basicAuth("api_key_123", "")`, Result: `"Basic YXBpX2tleV8xMjM6"`},
					{Expr: `basicAuth("a:b", "c")`, Error: "basicAuth: the user must not contain ':'"},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				user, err := c.str(0)
				if err != nil {
					return nil, err
				}
				pass, err := c.str(1)
				if err != nil {
					return nil, err
				}
				if strings.Contains(user, ":") {
					return nil, c.errorf("the user must not contain ':' (RFC 7617)")
				}
				return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), nil
			},
		},
	}
}

func encodeQuery(c *call, escape func(string) string) (any, error) {
	obj, err := c.object(0)
	if err != nil {
		return nil, err
	}
	var parts []string
	var walk func(key string, v any, depth int) error
	walk = func(key string, v any, depth int) error {
		if depth > maxDepth {
			return c.errorf("the value of %s is nested too deeply", quote(key))
		}
		if v == nil {
			return nil
		}
		if s, ok := scalarText(v); ok {
			parts = append(parts, escape(key)+"="+escape(s))
			return nil
		}
		if m, ok := asObject(v); ok {
			for _, k := range sortedKeys(m) {
				if err := walk(key+"["+k+"]", m[k], depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		if l, ok := asList(v); ok {
			for i, item := range l {
				if isObject(item) || isList(item) {
					if err := walk(key+"["+strconv.Itoa(i)+"]", item, depth+1); err != nil {
						return err
					}
				} else if err := walk(key, item, depth+1); err != nil {
					return err
				}
			}
			return nil
		}
		return c.errorf("cannot put a %s (the value of %s) in a query", typeName(v), quote(key))
	}
	for _, k := range sortedKeys(obj) {
		if err := walk(k, obj[k], 0); err != nil {
			return nil, err
		}
	}
	return strings.Join(parts, "&"), nil
}

func parseQuery(c *call) (any, error) {
	s, err := c.str(0)
	if err != nil {
		return nil, err
	}
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		s = s[i+1:]
	} else if strings.Contains(s, "://") {
		s = ""
	}
	values, err := url.ParseQuery(s)
	if err != nil {
		return nil, c.errorf("%v", err)
	}
	return value.FromQuery(values), nil
}

// linkHeaderArg reads a Link header value: a string, null (no header) or a
// list of strings (one per header line).
func linkHeaderArg(c *call) (string, error) {
	switch v := c.args[0].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	}
	if l, ok := asList(c.args[0]); ok {
		parts := make([]string, 0, len(l))
		for _, item := range l {
			s, ok := item.(string)
			if !ok {
				return "", c.errorf("argument 1 must be a string or a list of strings, got a list holding a %s", typeName(item))
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ", "), nil
	}
	return c.str(0)
}

type link struct {
	url  string
	rels []string
}

// parseLinks reads an RFC 8288 Link header: `<url>; param=value; ...`,
// links separated by commas. URLs may hold commas and semicolons; parameter
// values may be quoted (with backslash escapes) or bare tokens. Only the first
// rel parameter of a link counts; its value lists relation types separated by
// spaces. Malformed parts are skipped rather than rejected.
func parseLinks(h string) []link {
	var out []link
	i := 0
	skipSpace := func() {
		for i < len(h) && (h[i] == ' ' || h[i] == '\t' || h[i] == '\r' || h[i] == '\n') {
			i++
		}
	}
	for i < len(h) {
		j := strings.IndexByte(h[i:], '<')
		if j < 0 {
			break
		}
		i += j + 1
		k := strings.IndexByte(h[i:], '>')
		if k < 0 {
			break
		}
		l := link{url: strings.TrimSpace(h[i : i+k])}
		i += k + 1
		relSeen := false
	params:
		for i < len(h) {
			skipSpace()
			if i >= len(h) {
				break
			}
			switch h[i] {
			case ',':
				i++
				break params
			case '<': // a missing comma: the next link starts here
				break params
			case ';':
				i++
			default: // stray text: skip it
				i++
				continue
			}
			skipSpace()
			start := i
			for i < len(h) && h[i] != '=' && h[i] != ';' && h[i] != ',' && h[i] != ' ' && h[i] != '\t' {
				i++
			}
			name := strings.ToLower(h[start:i])
			skipSpace()
			var value string
			if i < len(h) && h[i] == '=' {
				i++
				skipSpace()
				if i < len(h) && h[i] == '"' {
					i++
					var b strings.Builder
					for i < len(h) && h[i] != '"' {
						if h[i] == '\\' && i+1 < len(h) {
							i++
						}
						b.WriteByte(h[i])
						i++
					}
					if i < len(h) {
						i++ // the closing quote
					}
					value = b.String()
				} else {
					start := i
					for i < len(h) && h[i] != ';' && h[i] != ',' {
						i++
					}
					value = strings.TrimSpace(h[start:i])
				}
			}
			if name == "rel" && !relSeen {
				relSeen = true
				l.rels = strings.Fields(strings.ToLower(value))
			}
		}
		out = append(out, l)
	}
	return out
}
