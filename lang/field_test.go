package lang

import (
	"fmt"
	"testing"

	"github.com/flowrun/flowrun/value"
)

// TestCoerceFieldsInto checks inputs against declared fields, writing into
// a new map and into the input map itself (as a call does with its freshly
// evaluated arguments): the same outputs and errors both ways, whatever
// the form of the values (the fast path for values already in run-time
// form, the general one for others).
func TestCoerceFieldsInto(t *testing.T) {
	fs := []*Field{
		{Name: "n", Type: "number", Required: true},
		{Name: "i", Type: "integer"},
		{Name: "s", Type: "string"},
		{Name: "b", Type: "boolean"},
		{Name: "a", Type: "any"},
		{Name: "e", Type: "string", Enum: []any{"x", "y"}},
		{Name: "d", Type: "integer", HasDefault: true, Default: int64(7)},
	}
	cases := []struct {
		in   map[string]any
		want string
	}{
		{map[string]any{"n": 2}, "map[a:<nil> b:<nil> d:7 e:<nil> i:<nil> n:2 s:<nil>] n:float64 d:int"},
		{map[string]any{"n": 2.5, "i": 3, "s": "t", "b": true, "a": []string{"p"}}, "map[a:[p] b:true d:7 e:<nil> i:3 n:2.5 s:t] n:float64 d:int"},
		{map[string]any{"n": int64(2), "i": 3.0, "e": "y", "d": 1}, "map[a:<nil> b:<nil> d:1 e:y i:3 n:2 s:<nil>] n:float64 d:int"},
		{map[string]any{"n": 2, "nope": 1}, `error: input "nope" is not declared`},
		{map[string]any{"n": 2, "zz": 1, "nope": 1}, `error: input "nope" is not declared`},
		{map[string]any{"n": "2", "nope": 1}, `error: input "nope" is not declared`},
		{map[string]any{"n": "2"}, `error: input "n": expected number, got string`},
		{map[string]any{"n": 1, "i": 2.5}, `error: input "i": expected integer, got number`},
		{map[string]any{"n": 1, "s": 3}, `error: input "s": expected string, got integer`},
		{map[string]any{"n": 1, "b": "true"}, `error: input "b": expected boolean, got string`},
		{map[string]any{"n": 1, "e": "z"}, `error: input "e": z is not one of x, y`},
		{map[string]any{"i": 1}, `error: input "n": is required`},
	}
	show := func(m map[string]any, err error) string {
		if err != nil {
			return "error: " + err.Error()
		}
		return fmt.Sprintf("%v n:%T d:%T", m, m["n"], m["d"])
	}
	for _, c := range cases {
		fresh := show(CoerceFields(fs, c.in, "input", false))
		if fresh != c.want {
			t.Errorf("%v: CoerceFields = %s, want %s", c.in, fresh, c.want)
		}
		in := make(map[string]any, len(c.in))
		for k, v := range c.in {
			in[k] = v
		}
		if got := show(CoerceFieldsInto(in, fs, in, "input", false)); got != c.want {
			t.Errorf("%v: CoerceFieldsInto itself = %s, want %s", c.in, got, c.want)
		}
	}
}

// TestCoerceNormalFields: for inputs decoded by value.DecodeJSON (already in
// normal form, which the test checks too), CoerceNormalFields gives what
// CoerceFields gives, errors included.
func TestCoerceNormalFields(t *testing.T) {
	fs := []*Field{
		{Name: "items", Type: "list", Items: &Field{Type: "object", Properties: []*Field{
			{Name: "id", Type: "integer", Required: true},
			{Name: "amount", Type: "number"},
			{Name: "tags", Type: "list", Items: &Field{Type: "string"}},
		}}},
		{Name: "n", Type: "number"},
		{Name: "i", Type: "integer"},
		{Name: "o", Type: "object"},
		{Name: "a", Type: "any"},
		{Name: "when", Type: "datetime"},
	}
	docs := []string{
		`{}`,
		`{"items": [{"id": 1, "amount": 2}, {"id": 2.0, "amount": 1.5, "tags": ["x"]}], "n": 3, "i": 4}`,
		`{"o": {"big": 12345678901234567890, "neg": -3, "f": 1e3, "deep": [[{"x": null}]]}, "a": [1, 2.5, "s", true, null]}`,
		`{"i": 1e2, "n": -0.5, "when": "2026-12-02T07:00:00Z"}`,
		`{"items": [{"amount": 1}]}`,
		`{"items": [{"id": 1, "tags": [3]}]}`,
		`{"i": 2.5}`,
		`{"when": "yesterday"}`,
		`{"nope": 1, "n": "x"}`,
	}
	for _, d := range docs {
		v, err := value.DecodeJSON([]byte(d))
		if err != nil {
			t.Fatal(err)
		}
		if _, changed := value.Normalized(v); changed {
			t.Fatalf("%s: DecodeJSON's value is not in normal form", d)
		}
		in := v.(map[string]any)
		a, errA := CoerceFields(fs, in, "input", false)
		b, errB := CoerceNormalFields(fs, in, "input", false)
		if fmt.Sprint(errA) != fmt.Sprint(errB) || fmt.Sprintf("%#v", a) != fmt.Sprintf("%#v", b) {
			t.Errorf("%s:\nCoerceFields       %#v %v\nCoerceNormalFields %#v %v", d, a, errA, b, errB)
		}
	}
}
