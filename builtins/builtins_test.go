package builtins_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/expr-lang/expr"
	exprbuiltin "github.com/expr-lang/expr/builtin"

	"github.com/flowrun/flowrun/builtins"
)

// toJSON encodes a result the way Example.Result is written: compact, keys
// sorted, no HTML escaping.
func toJSON(t testing.TB, v any) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatalf("cannot encode %#v as JSON: %v", v, err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// eval compiles and runs an expression with the builtins and an empty env.
func eval(src string) (any, error) {
	program, err := expr.Compile(src, builtins.Options()...)
	if err != nil {
		return nil, err
	}
	return expr.Run(program, map[string]any{})
}

func TestExamples(t *testing.T) {
	all := builtins.All()
	if len(all) == 0 {
		t.Fatal("no builtins")
	}
	for _, spec := range all {
		t.Run(spec.Name, func(t *testing.T) {
			if len(spec.Examples) == 0 {
				t.Error("no examples")
			}
			if strings.TrimSpace(spec.Doc) == "" {
				t.Error("no doc")
			}
			if !strings.HasPrefix(spec.Signature, spec.Name+"(") {
				t.Errorf("signature %q does not start with %q", spec.Signature, spec.Name+"(")
			}
			if spec.Fn == nil {
				t.Fatal("no Fn")
			}
			hasResult := false
			for _, ex := range spec.Examples {
				if !strings.Contains(ex.Expr, spec.Name+"(") {
					t.Errorf("example %q does not call %s", ex.Expr, spec.Name)
				}
				if (ex.Result == "") == (ex.Error == "") {
					t.Errorf("example %q must give exactly one of Result and Error", ex.Expr)
					continue
				}
				got, err := eval(ex.Expr)
				if ex.Error != "" {
					if err == nil {
						t.Errorf("%s\n  = %s, want an error containing %q", ex.Expr, toJSON(t, got), ex.Error)
					} else if !strings.Contains(err.Error(), ex.Error) {
						t.Errorf("%s\n  error %q\n  does not contain %q", ex.Expr, err, ex.Error)
					}
					continue
				}
				hasResult = true
				if err != nil {
					t.Errorf("%s\n  error: %v", ex.Expr, err)
					continue
				}
				if g := toJSON(t, got); g != ex.Result {
					t.Errorf("%s\n  = %s\n want %s", ex.Expr, g, ex.Result)
				}
			}
			if !hasResult {
				t.Error("no example with a result")
			}
		})
	}
}

func TestTable(t *testing.T) {
	all := builtins.All()
	known := map[string]bool{}
	for _, c := range builtins.Categories {
		known[c] = true
	}
	seen := map[string]bool{}
	for i, s := range all {
		if seen[s.Name] {
			t.Errorf("%s is defined twice", s.Name)
		}
		seen[s.Name] = true
		if i > 0 && all[i-1].Name >= s.Name {
			t.Errorf("All() is not sorted: %s before %s", all[i-1].Name, s.Name)
		}
		if _, clash := exprbuiltin.Index[s.Name]; clash {
			t.Errorf("%s redefines an expr-lang builtin", s.Name)
		}
		if !known[s.Category] {
			t.Errorf("%s has unknown category %q", s.Name, s.Category)
		}
		got, ok := builtins.Lookup(s.Name)
		if !ok || got.Name != s.Name {
			t.Errorf("Lookup(%q) = %v, %v", s.Name, got.Name, ok)
		}
	}
	// Names is the list the Index is built from; check it too in case the two
	// ever diverge.
	for _, name := range exprbuiltin.Names {
		if seen[name] {
			t.Errorf("%s redefines an expr-lang builtin", name)
		}
	}
	if _, ok := builtins.Lookup("noSuchFunction"); ok {
		t.Error("Lookup found a function that does not exist")
	}
	if len(builtins.Options()) != len(all) {
		t.Errorf("Options() has %d options for %d builtins", len(builtins.Options()), len(all))
	}
	// The functions the spec (section 5) promises.
	for _, name := range []string{
		"urlEncode", "urlDecode", "queryString", "base64UrlEncode", "base64UrlDecode", "sha256",
		"hmacSha256", "uuid", "formatDate", "parseDate", "linkNext", "pick", "omit", "merge", "getPath",
	} {
		if !seen[name] {
			t.Errorf("missing %s", name)
		}
	}
}

func TestDocs(t *testing.T) {
	md := builtins.Markdown()
	var text bytes.Buffer
	builtins.Text(&text)
	for _, s := range builtins.All() {
		if !strings.Contains(md, "`"+s.Name+"`") {
			t.Errorf("Markdown lacks %s", s.Name)
		}
		if !strings.Contains(text.String(), s.Signature) {
			t.Errorf("Text lacks %s", s.Signature)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| `") {
			// 5 unescaped pipes make 4 cells.
			if n := strings.Count(line, "|") - strings.Count(line, `\|`); n != 5 {
				t.Errorf("table row has %d cell separators: %s", n, line)
			}
		}
	}
}

// call runs a builtin directly.
func call(t *testing.T, name string, args ...any) (any, error) {
	t.Helper()
	spec, ok := builtins.Lookup(name)
	if !ok {
		t.Fatalf("no builtin %s", name)
	}
	return spec.Fn(args...)
}

type edgeCase struct {
	name string
	fn   string
	args []any
	want string // JSON of the result
	err  string // or a substring of the error
}

func runCases(t *testing.T, cases []edgeCase) {
	t.Helper()
	for _, tc := range cases {
		name := tc.name
		if name == "" {
			name = tc.fn
		}
		t.Run(name, func(t *testing.T) {
			got, err := call(t, tc.fn, tc.args...)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%s(%v) = %v, %v; want error containing %q", tc.fn, tc.args, got, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("%s(%v): %v", tc.fn, tc.args, err)
			}
			if g := toJSON(t, got); g != tc.want {
				t.Fatalf("%s(%v)\n  = %s\n want %s", tc.fn, tc.args, g, tc.want)
			}
		})
	}
}

func TestLinkHeaders(t *testing.T) {
	github := `<https://api.github.com/repositories/1300192/issues?page=2>; rel="prev", ` +
		`<https://api.github.com/repositories/1300192/issues?page=4>; rel="next", ` +
		`<https://api.github.com/repositories/1300192/issues?page=515>; rel="last", ` +
		`<https://api.github.com/repositories/1300192/issues?page=1>; rel="first"`
	runCases(t, []edgeCase{
		{name: "okta", fn: "linkNext", args: []any{`<https://x.okta.com/api/v1/users?after=00u1&limit=2>; rel="next"`}, want: `"https://x.okta.com/api/v1/users?after=00u1&limit=2"`},
		{name: "okta self and next", fn: "linkNext", args: []any{`<https://x.okta.com/api/v1/users?limit=2>; rel="self", <https://x.okta.com/api/v1/users?after=00u1&limit=2>; rel="next"`}, want: `"https://x.okta.com/api/v1/users?after=00u1&limit=2"`},
		{name: "github", fn: "linkNext", args: []any{github}, want: `"https://api.github.com/repositories/1300192/issues?page=4"`},
		{name: "github last page", fn: "linkNext", args: []any{`<https://api.github.com/x?page=1>; rel="first", <https://api.github.com/x?page=3>; rel="prev"`}, want: `null`},
		{name: "unquoted rel", fn: "linkNext", args: []any{`<https://a/?p=2>;rel=next`}, want: `"https://a/?p=2"`},
		{name: "several rels", fn: "linkNext", args: []any{`<https://a/?p=2>; rel="next last"`}, want: `"https://a/?p=2"`},
		{name: "upper case", fn: "linkNext", args: []any{`<https://a/?p=2>; REL="Next"`}, want: `"https://a/?p=2"`},
		{name: "spaces", fn: "linkNext", args: []any{`  < https://a/?p=2 >  ;  rel = "next"  ,  `}, want: `"https://a/?p=2"`},
		{name: "comma in url", fn: "linkNext", args: []any{`<https://a/?ids=1,2;x=3>; rel="prev", <https://a/?ids=3,4>; rel="next"`}, want: `"https://a/?ids=3,4"`},
		{name: "other params first", fn: "linkNext", args: []any{`<https://a/?p=2>; title="a, b; \"c\""; rel="next"; type="application/json"`}, want: `"https://a/?p=2"`},
		{name: "rel in title ignored", fn: "linkNext", args: []any{`<https://a/1>; title="rel=next", <https://a/2>; rel="next"`}, want: `"https://a/2"`},
		{name: "first rel counts", fn: "linkNext", args: []any{`<https://a/1>; rel="prev"; rel="next"`}, want: `null`},
		{name: "relative", fn: "linkNext", args: []any{`</items?page=2>; rel="next"`}, want: `"/items?page=2"`},
		{name: "missing comma", fn: "linkNext", args: []any{`<https://a/1>; rel="prev" <https://a/2>; rel="next"`}, want: `"https://a/2"`},
		{name: "shopify", fn: "linkNext", args: []any{`<https://shop.myshopify.com/admin/api/2024-01/products.json?limit=1&page_info=abc>; rel="previous", <https://shop.myshopify.com/admin/api/2024-01/products.json?limit=1&page_info=def>; rel="next"`}, want: `"https://shop.myshopify.com/admin/api/2024-01/products.json?limit=1&page_info=def"`},
		{name: "list of header lines", fn: "linkNext", args: []any{[]any{`<https://a/1>; rel="prev"`, `<https://a/2>; rel="next"`}}, want: `"https://a/2"`},
		{name: "nil", fn: "linkNext", args: []any{nil}, want: `null`},
		{name: "empty", fn: "linkNext", args: []any{""}, want: `null`},
		{name: "garbage", fn: "linkNext", args: []any{`rel="next"`}, want: `null`},
		{name: "unterminated", fn: "linkNext", args: []any{`<https://a/2; rel="next"`}, want: `null`},
		{name: "unterminated quote", fn: "linkNext", args: []any{`<https://a/2>; rel="next`}, want: `"https://a/2"`},
		{name: "number", fn: "linkNext", args: []any{42}, err: "linkNext: argument 1 must be a string, got integer"},
		{name: "too many args", fn: "linkNext", args: []any{"a", "b"}, err: "linkNext: expects 1 argument, got 2"},
		{name: "all rels", fn: "parseLinkHeader", args: []any{github}, want: `{"first":"https://api.github.com/repositories/1300192/issues?page=1","last":"https://api.github.com/repositories/1300192/issues?page=515","next":"https://api.github.com/repositories/1300192/issues?page=4","prev":"https://api.github.com/repositories/1300192/issues?page=2"}`},
		{name: "first wins", fn: "parseLinkHeader", args: []any{`<https://a/1>; rel=next, <https://a/2>; rel=next`}, want: `{"next":"https://a/1"}`},
		{name: "parse nil", fn: "parseLinkHeader", args: []any{nil}, want: `{}`},
	})
}

func TestQueries(t *testing.T) {
	runCases(t, []edgeCase{
		{name: "sorted", fn: "queryString", args: []any{map[string]any{"b": "2", "a": "1", "c": "3"}}, want: `"a=1&b=2&c=3"`},
		{name: "escaping", fn: "queryString", args: []any{map[string]any{"q": "a b&c=d/é+~._-"}}, want: `"q=a%20b%26c%3Dd%2F%C3%A9%2B~._-"`},
		{name: "key escaping", fn: "queryString", args: []any{map[string]any{"a b": 1}}, want: `"a%20b=1"`},
		{name: "nil left out", fn: "queryString", args: []any{map[string]any{"a": nil, "b": 1}}, want: `"b=1"`},
		{name: "empty string kept", fn: "queryString", args: []any{map[string]any{"a": ""}}, want: `"a="`},
		{name: "bools", fn: "queryString", args: []any{map[string]any{"t": true, "f": false}}, want: `"f=false&t=true"`},
		{name: "numbers", fn: "queryString", args: []any{map[string]any{"i": 3, "f": 3.0, "g": 2.5, "big": 1e20, "neg": -0.5, "i64": int64(1 << 60)}}, want: `"big=100000000000000000000&f=3&g=2.5&i=3&i64=1152921504606846976&neg=-0.5"`},
		{name: "lists repeat", fn: "queryString", args: []any{map[string]any{"id": []any{1, "x y", nil, true}}}, want: `"id=1&id=x%20y&id=true"`},
		{name: "string list", fn: "queryString", args: []any{map[string]any{"id": []string{"a", "b"}}}, want: `"id=a&id=b"`},
		{name: "nested", fn: "queryString", args: []any{map[string]any{"m": map[string]any{"b": 1, "a": map[string]any{"x": nil, "y": "z"}}}}, want: `"m%5Ba%5D%5By%5D=z&m%5Bb%5D=1"`},
		{name: "objects in list", fn: "queryString", args: []any{map[string]any{"l": []any{map[string]any{"a": 1}, 2}}}, want: `"l%5B0%5D%5Ba%5D=1&l=2"`},
		{name: "time", fn: "queryString", args: []any{map[string]any{"since": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}}, want: `"since=2024-01-02T03%3A04%3A05Z"`},
		{name: "empty", fn: "queryString", args: []any{map[string]any{}}, want: `""`},
		{name: "map of strings", fn: "queryString", args: []any{map[string]string{"a": "1"}}, want: `"a=1"`},
		{name: "list arg", fn: "queryString", args: []any{[]any{1}}, err: "queryString: argument 1 must be an object, got list"},
		{name: "func value", fn: "queryString", args: []any{map[string]any{"f": func() {}}}, err: `queryString: cannot put a func() (the value of "f") in a query`},
		{name: "form", fn: "formEncode", args: []any{map[string]any{"q": "a b+c", "n": 1.5, "x": nil}}, want: `"n=1.5&q=a+b%2Bc"`},
		{name: "parse repeated", fn: "parseQuery", args: []any{"?a=1&a=2&b="}, want: `{"a":["1","2"],"b":""}`},
		{name: "parse url without query", fn: "parseQuery", args: []any{"https://a.example/x"}, want: `{}`},
		{name: "parse fragment", fn: "parseQuery", args: []any{"a=1#b=2"}, want: `{"a":"1"}`},
		{name: "parse key only", fn: "parseQuery", args: []any{"flag"}, want: `{"flag":""}`},
		{name: "parse semicolon", fn: "parseQuery", args: []any{"a=1;b=2"}, err: "parseQuery: invalid semicolon separator"},
	})
}

func TestEncodings(t *testing.T) {
	runCases(t, []edgeCase{
		{fn: "urlEncode", args: []any{""}, want: `""`},
		{fn: "urlEncode", args: []any{"AZaz09-._~"}, want: `"AZaz09-._~"`},
		{name: "urlEncode reserved", fn: "urlEncode", args: []any{"!*'();:@&=+$,/?#[]% "}, want: `"%21%2A%27%28%29%3B%3A%40%26%3D%2B%24%2C%2F%3F%23%5B%5D%25%20"`},
		{name: "urlEncode invalid utf8", fn: "urlEncode", args: []any{"\xff"}, want: `"%FF"`},
		{name: "urlEncode nil", fn: "urlEncode", args: []any{nil}, err: "urlEncode: argument 1 must be a string, got null"},
		{name: "urlEncode float", fn: "urlEncode", args: []any{1.5}, err: "urlEncode: argument 1 must be a string, got number"},
		{name: "urlEncode none", fn: "urlEncode", args: nil, err: "urlEncode: expects 1 argument, got 0"},
		{name: "urlDecode lower hex", fn: "urlDecode", args: []any{"%c3%a9"}, want: `"é"`},
		{name: "urlDecode bad", fn: "urlDecode", args: []any{"%g0"}, err: "urlDecode: invalid URL escape"},
		{name: "base64 round trip", fn: "base64Decode", args: []any{"/+8="}, want: `"\ufffd\ufffd"`},
		{name: "base64 no padding", fn: "base64Decode", args: []any{"YQ"}, want: `"a"`},
		{name: "base64 url no padding", fn: "base64UrlDecode", args: []any{"YWI"}, want: `"ab"`},
		{name: "base64 url std alphabet", fn: "base64UrlDecode", args: []any{"Pz8_"}, want: `"???"`},
		{name: "base64 bad", fn: "base64UrlDecode", args: []any{"a"}, err: "base64UrlDecode: illegal base64 data"},
		{name: "base64 url encode", fn: "base64UrlEncode", args: []any{"\xfb\xff"}, want: `"-_8"`},
		{name: "jsonEncode time", fn: "jsonEncode", args: []any{map[string]any{"t": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}}, want: `"{\"t\":\"2024-01-02T03:04:05Z\"}"`},
		{name: "jsonEncode NaN", fn: "jsonEncode", args: []any{math.NaN()}, err: "jsonEncode: json: unsupported value: NaN"},
		{name: "jsonDecode trailing", fn: "jsonDecode", args: []any{"1 2"}, err: "jsonDecode: invalid character"},
		{name: "jsonDecode null", fn: "jsonDecode", args: []any{"null"}, want: `null`},
		{name: "jwt bearer", fn: "jwtDecode", args: []any{"Bearer eyJhbGciOiJub25lIn0.eyJhIjoxfQ."}, want: `{"header":{"alg":"none"},"payload":{"a":1}}`},
		{name: "jwt bad json", fn: "jwtDecode", args: []any{"eyJhbGciOiJub25lIn0.YWJj.x"}, err: "jwtDecode: the payload is not JSON"},
		{name: "jwt bad base64", fn: "jwtDecode", args: []any{"!!.e30.x"}, err: "jwtDecode: the header is not base64url"},
		{name: "basicAuth unicode", fn: "basicAuth", args: []any{"zoë", "pä"}, want: `"Basic em/Dqzpww6Q="`},
	})
}

func TestCrypto(t *testing.T) {
	runCases(t, []edgeCase{
		{name: "sha256 empty", fn: "sha256", args: []any{""}, want: `"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"`},
		{name: "hmac empty key", fn: "hmacSha256", args: []any{"", ""}, want: `"b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad"`},
		{name: "hmac key type", fn: "hmacSha256", args: []any{1, "x"}, err: "hmacSha256: argument 1 must be a string, got integer"},
		{name: "hmac data type", fn: "hmacSha256", args: []any{"k", map[string]any{}}, err: "hmacSha256: argument 2 must be a string, got object"},
		{name: "equal lengths differ", fn: "timingSafeEqual", args: []any{"abc", "abcd"}, want: `false`},
	})
	seen := map[string]bool{}
	for range 100 {
		v, err := call(t, "uuid")
		if err != nil {
			t.Fatal(err)
		}
		s := v.(string)
		if len(s) != 36 || s[14] != '4' || !strings.ContainsRune("89ab", rune(s[19])) {
			t.Fatalf("not a v4 UUID: %s", s)
		}
		if seen[s] {
			t.Fatalf("repeated UUID %s", s)
		}
		seen[s] = true
	}
}

func TestDates(t *testing.T) {
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	local := time.Date(2024, 1, 15, 10, 0, 0, 0, paris)
	runCases(t, []edgeCase{
		{name: "time value keeps zone", fn: "formatDate", args: []any{local, "15:04 MST"}, want: `"10:00 CET"`},
		{name: "pointer", fn: "formatDate", args: []any{&local, "15:04"}, want: `"10:00"`},
		{name: "unix int64", fn: "formatDate", args: []any{int64(86400), "2006-01-02"}, want: `"1970-01-02"`},
		{name: "unix negative", fn: "formatDate", args: []any{-1, time.RFC3339}, want: `"1969-12-31T23:59:59Z"`},
		{name: "unix fraction", fn: "formatDate", args: []any{1.25, "05.000"}, want: `"01.250"`},
		{name: "unix huge", fn: "formatDate", args: []any{1e300, "2006"}, err: "outside the years 1 to 9999"},
		{name: "unix NaN", fn: "formatDate", args: []any{math.NaN(), "2006"}, err: "outside the years 1 to 9999"},
		{name: "date only", fn: "formatDate", args: []any{"2024-02-29", time.RFC3339}, want: `"2024-02-29T00:00:00Z"`},
		{name: "no offset", fn: "formatDate", args: []any{"2024-02-29T10:11:12", time.RFC3339}, want: `"2024-02-29T10:11:12Z"`},
		{name: "space separator", fn: "formatDate", args: []any{"2024-02-29 10:11:12+02:00", time.RFC3339}, want: `"2024-02-29T10:11:12+02:00"`},
		{name: "named layout", fn: "formatDate", args: []any{0, "RFC1123Z"}, want: `"Thu, 01 Jan 1970 00:00:00 +0000"`},
		{name: "bool", fn: "formatDate", args: []any{true, "2006"}, err: "formatDate: argument 1 must be a time, an RFC 3339 string or unix seconds, got boolean"},
		{name: "tz summer", fn: "formatDateTz", args: []any{"2024-07-01T00:00:00Z", "2006-01-02 15:04 -07:00", "America/Los_Angeles"}, want: `"2024-06-30 17:00 -07:00"`},
		{name: "tz winter", fn: "formatDateTz", args: []any{"2024-01-01T00:00:00Z", "2006-01-02 15:04 -07:00", "America/Los_Angeles"}, want: `"2023-12-31 16:00 -08:00"`},
		{name: "tz half hour", fn: "formatDateTz", args: []any{"2024-01-01T00:00:00Z", "15:04", "Asia/Kolkata"}, want: `"05:30"`},
		{name: "tz offset", fn: "formatDateTz", args: []any{"2024-01-01T00:00:00Z", "15:04", "-0330"}, want: `"20:30"`},
		{name: "tz utc", fn: "inTimeZone", args: []any{"2024-01-01T01:00:00+01:00", "UTC"}, want: `"2024-01-01T00:00:00Z"`},
		{name: "tz local refused", fn: "inTimeZone", args: []any{0, "Local"}, err: "unknown time zone"},
		{name: "tz bad offset", fn: "inTimeZone", args: []any{0, "+25:00"}, err: "unknown time zone"},
		{name: "tz path", fn: "inTimeZone", args: []any{0, "../../etc/passwd"}, err: "unknown time zone"},
		{name: "tz empty", fn: "inTimeZone", args: []any{0, ""}, err: "unknown time zone"},
		{name: "parse nano", fn: "parseDate", args: []any{"2024-01-01T00:00:00.123456789Z"}, want: `"2024-01-01T00:00:00.123456789Z"`},
		{name: "parse bad", fn: "parseDate", args: []any{"01/02/2024"}, err: `parseDate: cannot read "01/02/2024" as an RFC 3339 time`},
		{name: "parse layout mismatch", fn: "parseDate", args: []any{"x", "2006"}, err: `parseDate: cannot read "x" with layout "2006": "x" does not match "2006"`},
		{name: "parse in zone", fn: "parseDate", args: []any{"2024-01-15 10:00", "2006-01-02 15:04", "Europe/Paris"}, want: `"2024-01-15T10:00:00+01:00"`},
		{name: "parse layout with offset ignores tz", fn: "parseDate", args: []any{"2024-01-15 10:00 +0000", "2006-01-02 15:04 -0700", "Europe/Paris"}, want: `"2024-01-15T10:00:00Z"`},
		{name: "add duration value", fn: "addDuration", args: []any{"2024-01-01T00:00:00Z", 90 * time.Minute}, want: `"2024-01-01T01:30:00Z"`},
		{name: "add fraction", fn: "addDuration", args: []any{"2024-01-01T00:00:00Z", 0.5}, want: `"2024-01-01T00:00:00.5Z"`},
		{name: "add overflow", fn: "addDuration", args: []any{"9999-12-31T23:00:00Z", "2h"}, err: "outside the years 1 to 9999"},
		{name: "add huge", fn: "addDuration", args: []any{0, 1e300}, err: "out of range"},
		{name: "add bool", fn: "addDuration", args: []any{0, true}, err: "argument 2 must be a duration string"},
		{name: "diff far apart", fn: "dateDiff", args: []any{"9999-01-01T00:00:00Z", "0001-01-01T00:00:00Z"}, want: `315506361600`},
		{name: "toUnix", fn: "toUnix", args: []any{"1969-12-31T23:59:59.5Z"}, want: `-1`},
		{name: "toUnixMilli", fn: "toUnixMilli", args: []any{1.5}, want: `1500`},
		{name: "fromUnix string", fn: "fromUnix", args: []any{" 86400 "}, want: `"1970-01-02T00:00:00Z"`},
		{name: "fromUnix bad string", fn: "fromUnix", args: []any{"soon"}, err: `fromUnix: argument 1 must be a number, got the string "soon"`},
		{name: "fromUnix nil", fn: "fromUnix", args: []any{nil}, err: "fromUnix: argument 1 must be a number, got null"},
		{name: "fromUnixMilli negative", fn: "fromUnixMilli", args: []any{-1}, want: `"1969-12-31T23:59:59.999Z"`},
		{name: "isoDate", fn: "isoDate", args: []any{local}, want: `"2024-01-15T09:00:00Z"`},
	})
}

func TestObjects(t *testing.T) {
	obj := map[string]any{
		"a": map[string]any{
			"b":    []any{map[string]any{"c": 1.0}, nil, "x"},
			"null": nil,
			"0":    "zero key",
		},
		"list": []any{[]any{1, 2}, []any{3}},
		"s":    "text",
	}
	before := toJSON(t, obj)
	runCases(t, []edgeCase{
		{name: "deep", fn: "getPath", args: []any{obj, "a.b.0.c"}, want: `1`},
		{name: "numeric key on object", fn: "getPath", args: []any{obj, "a.0"}, want: `"zero key"`},
		{name: "list of lists", fn: "getPath", args: []any{obj, "list.0.1"}, want: `2`},
		{name: "negative", fn: "getPath", args: []any{obj, "list.-1.0"}, want: `3`},
		{name: "too negative", fn: "getPath", args: []any{obj, "list.-3", "d"}, want: `"d"`},
		{name: "out of range", fn: "getPath", args: []any{obj, "a.b.9", "d"}, want: `"d"`},
		{name: "not an index", fn: "getPath", args: []any{obj, "a.b.x", "d"}, want: `"d"`},
		{name: "missing key", fn: "getPath", args: []any{obj, "a.zz.c", "d"}, want: `"d"`},
		{name: "through null", fn: "getPath", args: []any{obj, "a.b.1.c", "d"}, want: `"d"`},
		{name: "null value gets default", fn: "getPath", args: []any{obj, "a.null", "d"}, want: `"d"`},
		{name: "into string", fn: "getPath", args: []any{obj, "s.length", "d"}, want: `"d"`},
		{name: "no default", fn: "getPath", args: []any{obj, "nope"}, want: `null`},
		{name: "empty path", fn: "getPath", args: []any{obj, "", "d"}, want: before},
		{name: "nil obj", fn: "getPath", args: []any{nil, "a", 0}, want: `0`},
		{name: "list path", fn: "getPath", args: []any{obj, []any{"a", "b", 0, "c"}}, want: `1`},
		{name: "float segment", fn: "getPath", args: []any{obj, []any{"list", 1.0, 0.0}}, want: `3`},
		{name: "bad segment", fn: "getPath", args: []any{obj, []any{true}}, err: "getPath: argument 2: path segment 1 must be a string or a whole number, got boolean"},
		{name: "bad path", fn: "getPath", args: []any{obj, 3}, err: "getPath: argument 2 must be a path string"},
		{name: "typed map", fn: "getPath", args: []any{map[string]string{"a": "b"}, "a"}, want: `"b"`},
		{name: "has null", fn: "hasPath", args: []any{obj, "a.null"}, want: `true`},
		{name: "has missing", fn: "hasPath", args: []any{obj, "a.nope"}, want: `false`},
		{name: "set new list item", fn: "setPath", args: []any{obj, "list.2", "new"}, want: `{"a":{"0":"zero key","b":[{"c":1},null,"x"],"null":null},"list":[[1,2],[3],"new"],"s":"text"}`},
		{name: "set in list", fn: "setPath", args: []any{obj, "a.b.0.c", 2}, want: `{"a":{"0":"zero key","b":[{"c":2},null,"x"],"null":null},"list":[[1,2],[3]],"s":"text"}`},
		{name: "set through null", fn: "setPath", args: []any{obj, "a.b.1.c", 2}, want: `{"a":{"0":"zero key","b":[{"c":1},{"c":2},"x"],"null":null},"list":[[1,2],[3]],"s":"text"}`},
		{name: "set nil obj", fn: "setPath", args: []any{nil, "x.y", true}, want: `{"x":{"y":true}}`},
		{name: "set top list", fn: "setPath", args: []any{[]any{1, 2}, "-1", 3}, want: `[1,3]`},
		{name: "set out of range", fn: "setPath", args: []any{obj, "list.5", 1}, err: `setPath: index 5 is out of range for a list of 2 (at "list")`},
		{name: "set key in list", fn: "setPath", args: []any{obj, "list.x", 1}, err: `setPath: cannot set "x" inside a list (at "list"): use an index`},
		{name: "set empty path", fn: "setPath", args: []any{obj, "", 1}, err: "setPath: the path must not be empty"},
		{name: "set on string", fn: "setPath", args: []any{"s", "a", 1}, err: "setPath: argument 1 must be an object or a list, got string"},
		{name: "pick none", fn: "pick", args: []any{obj}, want: `{}`},
		{name: "pick nil", fn: "pick", args: []any{nil, "a"}, want: `{}`},
		{name: "pick bad key", fn: "pick", args: []any{obj, 1}, err: "pick: argument 2 must be a string or a list of strings, got integer"},
		{name: "pick bad key list", fn: "pick", args: []any{obj, []any{"a", 1}}, err: "pick: argument 2 must be a list of strings, but holds an integer"},
		{name: "pick string list", fn: "pick", args: []any{obj, []string{"s"}}, want: `{"s":"text"}`},
		{name: "pick from string", fn: "pick", args: []any{"abc", "a"}, err: "pick: argument 1 must be an object, got string"},
		{name: "omit keys", fn: "omit", args: []any{obj, "a", []any{"list"}}, want: `{"s":"text"}`},
		{name: "merge one", fn: "merge", args: []any{obj}, want: before},
		{name: "merge nils", fn: "merge", args: []any{nil, nil}, want: `{}`},
		{name: "merge later wins", fn: "merge", args: []any{map[string]any{"a": 1}, map[string]any{"a": nil}}, want: `{"a":null}`},
	})
	if after := toJSON(t, obj); after != before {
		t.Fatalf("the input was changed:\n%s\n%s", before, after)
	}
}

func TestLists(t *testing.T) {
	runCases(t, []edgeCase{
		{name: "chunk exact", fn: "chunk", args: []any{[]any{1, 2, 3, 4}, 2}, want: `[[1,2],[3,4]]`},
		{name: "chunk big n", fn: "chunk", args: []any{[]any{1, 2}, int64(math.MaxInt64)}, want: `[[1,2]]`},
		{name: "chunk huge float", fn: "chunk", args: []any{[]any{1, 2}, 1e300}, want: `[[1,2]]`},
		{name: "chunk float", fn: "chunk", args: []any{[]any{1, 2}, 1.0}, want: `[[1],[2]]`},
		{name: "chunk fraction", fn: "chunk", args: []any{[]any{1}, 1.5}, err: "chunk: argument 2 must be a whole number, got 1.5"},
		{name: "chunk negative", fn: "chunk", args: []any{[]any{1}, -1}, err: "chunk: the size must be at least 1"},
		{name: "chunk NaN", fn: "chunk", args: []any{[]any{1}, math.NaN()}, err: "chunk: argument 2 must be a whole number"},
		{name: "chunk nil", fn: "chunk", args: []any{nil, 3}, want: `[]`},
		{name: "chunk string", fn: "chunk", args: []any{"abc", 1}, err: "chunk: argument 1 must be a list, got string"},
		{name: "chunk typed slice", fn: "chunk", args: []any{[]string{"a", "b", "c"}, 2}, want: `[["a","b"],["c"]]`},
		{name: "unique nested", fn: "unique", args: []any{[]any{map[string]any{"a": 1, "b": 2}, map[string]any{"b": 2, "a": 1.0}, []any{1}, []any{1}, nil, nil}}, want: `[{"a":1,"b":2},[1],null]`},
		{name: "pluck nil", fn: "pluck", args: []any{[]any{nil, map[string]any{"a": 1}}, "a"}, want: `[null,1]`},
		{name: "compact nil", fn: "compact", args: []any{nil}, want: `null`},
		{name: "compact typed map", fn: "compact", args: []any{map[string]string{"a": "x"}}, want: `{"a":"x"}`},
		{name: "keyBy strings and bools", fn: "keyBy", args: []any{[]any{map[string]any{"k": "x"}, map[string]any{"k": true}, map[string]any{"k": 1.5}}, "k"}, want: `{"1.5":{"k":1.5},"true":{"k":true},"x":{"k":"x"}}`},
		{name: "keyBy later wins", fn: "keyBy", args: []any{[]any{map[string]any{"k": 1, "n": 1}, map[string]any{"k": 1, "n": 2}}, "k"}, want: `{"1":{"k":1,"n":2}}`},
		{name: "keyBy object key", fn: "keyBy", args: []any{[]any{map[string]any{"k": map[string]any{}}}, "k"}, err: `keyBy: item 1: the value of "k" is a object, not a string or number`},
		{name: "keyBy scalar item", fn: "keyBy", args: []any{[]any{1}, "k"}, err: "keyBy: item 1 must be an object, got integer"},
	})
	// unique with a NaN (not JSON) must not fail.
	got, err := call(t, "unique", []any{math.NaN(), math.NaN(), 1})
	if err != nil || len(got.([]any)) != 2 {
		t.Fatalf("unique with NaN = %v, %v", got, err)
	}
}

func TestStrings(t *testing.T) {
	runCases(t, []edgeCase{
		{name: "truncate zero", fn: "truncate", args: []any{"abc", 0}, want: `""`},
		{name: "truncate runes", fn: "truncate", args: []any{"日本語テキスト", 3}, want: `"日本語"`},
		{name: "truncate huge", fn: "truncate", args: []any{"abc", 1e300}, want: `"abc"`},
		{name: "truncate invalid utf8", fn: "truncate", args: []any{"\xff\xfeab", 3}, want: `"\ufffd\ufffda"`},
		{name: "regex long", fn: "regexMatch", args: []any{strings.Repeat("a", 1001), "a"}, err: "regexMatch: the pattern is 1001 bytes long; at most 1000 are allowed"},
		{name: "regex bad", fn: "regexFind", args: []any{"a(", "a"}, err: "regexFind: invalid pattern \"a(\": error parsing regexp"},
		{name: "regex named group", fn: "regexReplace", args: []any{`(?P<user>\w+)@`, "ada@x", "${user} at "}, want: `"ada at x"`},
		{name: "regex dollar", fn: "regexReplace", args: []any{`\d`, "a1", "$$"}, want: `"a$"`},
		{name: "regex empty match", fn: "regexFind", args: []any{`x*`, "abc"}, want: `""`},
		{name: "regex arg type", fn: "regexMatch", args: []any{"a", 1}, err: "regexMatch: argument 2 must be a string, got integer"},
		{name: "toString int64", fn: "toString", args: []any{int64(-5)}, want: `"-5"`},
		{name: "toString float", fn: "toString", args: []any{1e20}, want: `"100000000000000000000"`},
		{name: "toString small", fn: "toString", args: []any{0.000001}, want: `"0.000001"`},
		{name: "toString list", fn: "toString", args: []any{[]any{"<a>", nil}}, want: `"[\"<a>\",null]"`},
		{name: "toString duration", fn: "toString", args: []any{90 * time.Second}, want: `"1m30s"`},
		{name: "toString func", fn: "toString", args: []any{func() {}}, err: "toString: json: unsupported type"},
		{name: "default false", fn: "default", args: []any{false, true}, want: `false`},
		{name: "default empty list", fn: "default", args: []any{[]any{}, 1}, want: `[]`},
		{name: "coalesce none", fn: "coalesce", args: nil, want: `null`},
		{name: "coalesce zero", fn: "coalesce", args: []any{nil, 0, 1}, want: `0`},
	})
}

// TestTypes checks that the declared expr signatures reject wrong literal
// arguments at compile time and let unknown values through.
func TestTypes(t *testing.T) {
	for _, src := range []string{
		`urlEncode(1)`,
		`sha256("a", "b")`,
		`chunk([1], "2")`,
		`uuid(1)`,
		`truncate("a", 1.5)`,
		`parseDate("a", "b", "c", "d")`,
	} {
		if _, err := expr.Compile(src, builtins.Options()...); err == nil {
			t.Errorf("%s compiled; want a type error", src)
		}
	}
	env := map[string]any{"v": map[string]any{"s": "x y", "n": 2, "l": []any{1, 2, 3}}}
	for src, want := range map[string]string{
		`urlEncode(v.s)`:  `"x%20y"`,
		`chunk(v.l, v.n)`: `[[1,2],[3]]`,
		`len(chunk(v.l, 1)) + toUnix(fromUnix(1))`: `4`,
		`pick(v, "s").s`:                      `"x y"`,
		`formatDate(now(), "2006") >= "2024"`: `true`,
		`getPath(v, "l.1") * 10`:              `20`,
	} {
		program, err := expr.Compile(src, append(builtins.Options(), expr.Env(env))...)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		got, err := expr.Run(program, env)
		if err != nil {
			t.Errorf("%s: %v", src, err)
			continue
		}
		if g := toJSON(t, got); g != want {
			t.Errorf("%s = %s, want %s", src, g, want)
		}
	}
}

// TestConcurrent runs every example from many goroutines at once and checks
// that each gives the result it gives alone (under -race this also checks the
// caches and the shared options).
func TestConcurrent(t *testing.T) {
	var programs []string
	for _, s := range builtins.All() {
		for _, ex := range s.Examples {
			programs = append(programs, ex.Expr)
		}
	}
	for i := range 300 {
		programs = append(programs, fmt.Sprintf(`regexMatch("^a{%d}$", "a")`, i))
	}
	want := make([]string, len(programs))
	for i, src := range programs {
		v, err := eval(src)
		want[i] = fmt.Sprintf("%#v %v", v, err)
	}
	if !strings.Contains(want[len(want)-299], "true") || !strings.Contains(want[len(want)-1], "false") {
		t.Fatalf("the regexMatch programs do not give what they should: %s, %s", want[len(want)-299], want[len(want)-1])
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range programs {
				i := (k + g*37) % len(programs)
				v, err := eval(programs[i])
				if got := fmt.Sprintf("%#v %v", v, err); got != want[i] && !strings.Contains(programs[i], "now") && !strings.Contains(programs[i], "uuid") {
					t.Errorf("%s: concurrently %s, alone %s", programs[i], got, want[i])
				}
			}
		}()
	}
	wg.Wait()
}
