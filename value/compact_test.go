package value

import (
	"encoding/json"
	"testing"
)

func TestCompact(t *testing.T) {
	cases := []struct{ in, want string }{
		{`null`, `null`},
		{`1`, `1`},
		{`{"a":null,"b":1}`, `{"b":1}`},
		{`{"a":{"b":null,"c":{"d":null}},"e":[null,{"f":null,"g":2}]}`, `{"a":{"c":{}},"e":[null,{"g":2}]}`},
		{`[null,1,{"x":null}]`, `[null,1,{}]`},
		{`{"a":[],"b":{},"c":false,"d":0,"e":""}`, `{"a":[],"b":{},"c":false,"d":0,"e":""}`},
	}
	for _, c := range cases {
		in, err := DecodeJSON([]byte(c.in))
		if err != nil {
			t.Fatal(err)
		}
		before, _ := json.Marshal(in)
		got, _ := json.Marshal(Compact(in))
		if string(got) != c.want {
			t.Errorf("Compact(%s) = %s, want %s", c.in, got, c.want)
		}
		after, _ := json.Marshal(in)
		if string(before) != string(after) {
			t.Errorf("Compact(%s) modified its argument: %s", c.in, after)
		}
	}
}
