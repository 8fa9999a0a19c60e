package builtins_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/builtins"
)

// FuzzBuiltins calls every builtin with fuzzed strings and numbers (and
// values derived from them: parsed JSON, lists, objects, times, null) and
// asserts that none panics. Fn turns a panic into an "internal error", so the
// test fails on either.
func FuzzBuiltins(f *testing.F) {
	f.Add("a b/c", "2006-01-02", 1.5, int64(2))
	f.Add(`<https://a/?p=2>; rel="next", <https://a/?p=1>; rel=prev`, "a.b.0", 0.0, int64(0))
	f.Add(`{"a": {"b": [1, {"c": null}]}, "d": "x"}`, "a.b.1.c", -1.0, int64(-1))
	f.Add(`[1, 2, [3], {"k": 1}, null, "s"]`, "k", 1e300, int64(9223372036854775807))
	f.Add("2024-03-05T14:07:09+01:00", "Europe/Paris", 1700000000.0, int64(-9223372036854775808))
	f.Add("eyJhbGciOiJub25lIn0.eyJhIjoxfQ.", "(a|b)*c{2,}", 3.0, int64(1000))
	f.Add("%zz%", "+05:30", -62135596800.0, int64(253402300799))
	all := builtins.All()
	f.Fuzz(func(t *testing.T, a, b string, n float64, i int64) {
		var parsed any
		_ = json.Unmarshal([]byte(a), &parsed)
		obj := map[string]any{a: b, "n": n, "l": []any{a, n, nil}, "o": map[string]any{b: i}}
		list := []any{a, b, n, i, nil, obj, parsed}
		tm := time.Unix(i%1e10, 0)
		arg := []any{a, b, n, i, int(i), nil, parsed, obj, list, tm, true}
		calls := [][]any{
			{},
			{a}, {n}, {i}, {parsed}, {obj}, {list}, {nil}, {tm},
			{a, b}, {b, a}, {a, n}, {a, i}, {n, a}, {tm, b}, {parsed, a}, {parsed, b}, {obj, a}, {obj, b},
			{list, n}, {list, i}, {list, a}, {parsed, n}, {nil, nil},
			{a, b, a}, {b, a, b}, {a, b, n}, {tm, b, a}, {n, b, b}, {parsed, b, n}, {obj, a, parsed}, {list, b, obj},
			arg,
		}
		for _, spec := range all {
			if spec.Name == "uuid" || spec.Name == "nowUTC" {
				continue // no inputs to fuzz
			}
			for _, args := range calls {
				out, err := callNoPanic(t, spec, args)
				if err != nil && strings.Contains(err.Error(), "internal error") {
					t.Fatalf("%s(%s): %v", spec.Name, show(args), err)
				}
				if err == nil && out != nil {
					// Results must be plain values the rest of flowrun can
					// handle; times and JSON-able values only.
					if _, ok := out.(time.Time); !ok {
						if _, jerr := json.Marshal(out); jerr != nil && !strings.Contains(jerr.Error(), "unsupported value") {
							t.Fatalf("%s(%s) = %#v, which is not JSON: %v", spec.Name, show(args), out, jerr)
						}
					}
				}
			}
		}
	})
}

func callNoPanic(t *testing.T, spec builtins.Spec, args []any) (out any, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Fatalf("%s(%s) panicked: %v", spec.Name, show(args), r)
		}
	}()
	return spec.Fn(args...)
}

func show(args []any) string {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = fmt.Sprintf("%#v", a)
	}
	return strings.Join(parts, ", ")
}
