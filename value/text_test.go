package value

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"
)

// One number-to-text rule: templates, query values and toString agree.
func TestText(t *testing.T) {
	for _, c := range []struct {
		in   any
		want string
	}{
		{nil, ""}, {"s", "s"}, {true, "true"}, {3, "3"}, {int64(-7), "-7"},
		{3.0, "3"}, {0.25, "0.25"}, {1e20, "100000000000000000000"}, {1e21, "1e+21"},
		{1e-7, "1e-07"}, {0.000001, "0.000001"}, {-2.5, "-2.5"}, {json.Number("12"), "12"},
		{float32(1.5), "1.5"}, {uint8(4), "4"},
		{time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), "2026-01-02T03:04:05Z"},
		{90 * time.Second, "1m30s"},
		{map[string]any{"b": 1, "a": []any{true, "<x>"}}, `{"a":[true,"<x>"],"b":1}`},
		{[]any{1, nil}, `[1,null]`},
	} {
		if got := Text(c.in); got != c.want {
			t.Errorf("Text(%#v) = %q, want %q", c.in, got, c.want)
		}
	}
	q := url.Values{}
	AddQuery(q, "x", 1e20)
	AddQuery(q, "n", nil)
	AddQuery(q, "l", []any{1, nil, "a b"})
	if got := EncodeQuery(q); got != "l=1&l=a%20b&x=100000000000000000000" {
		t.Errorf("query %q", got)
	}
}

func TestEqualAndTypeName(t *testing.T) {
	if !Equal(1, 1.0) || !Equal(map[string]any{"a": []any{1}}, map[string]any{"a": []any{1.0}}) || Equal("1", 1) || Equal([]any{1}, []any{1, 2}) {
		t.Error("Equal")
	}
	for v, want := range map[any]string{nil: "null", "s": "string", 1: "integer", 1.5: "number", true: "boolean"} {
		if got := TypeName(v); got != want {
			t.Errorf("TypeName(%v) = %s", v, got)
		}
	}
	if TypeName(map[string]any{}) != "object" || TypeName([]any{}) != "list" || TypeName([]string{}) != "list" {
		t.Error("TypeName containers")
	}
}

func TestSuggest(t *testing.T) {
	if got := Suggest("metod", []string{"method", "path"}); got != `did you mean "method"?` {
		t.Error(got)
	}
	if got := Suggest("foo", []string{"floor"}); got != "" {
		t.Error(got)
	}
}
