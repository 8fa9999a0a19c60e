package value

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

var jsonSeeds = []string{
	`{"a": 1, "b": [true, false, null], "c": {"d": "e"}}`,
	`[1, -0, 0, -1, 1.5, 1e3, 1E-2, 1.0, 12345678901234567890, -9223372036854775808, 9223372036854775807, 123456789012345678, 1e999]`,
	`"plain"`, `"esc \" \\ \/ \n \u00e9 \ud83d\ude00"`, `"caf\u00e9 café"`, "\"bad \xff utf8\"",
	`  {"dup": 1, "dup": 2}  `, `{}`, `[]`, `[[[[]]]]`, `null`, `true`,
	// invalid
	``, ` `, `{`, `[1,]`, `{"a":1,}`, `{"a" 1}`, `01`, `1.`, `.5`, `-`, `1e`, `+1`, `tru`, `nul`, `"\x01"`, "\"ctl \x01\"",
	`{"a":1} x`, `[1] [2]`, `{}}`, `[]]`, `1}`, `{} ]`, `"s"]`, `{1: 2}`, `"unterminated`, `"\`, `"\q"`, `[1 2]`, `NaN`, `Infinity`,
}

func TestDecodeJSONMatchesEncodingJSON(t *testing.T) {
	seeds := append([]string(nil), jsonSeeds...)
	files, _ := filepath.Glob("../testdata/realdata/*.json")
	if len(files) < 10 {
		t.Fatalf("the real payloads of ../testdata/realdata are missing (found %d files)", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		seeds = append(seeds, string(b))
	}
	for _, s := range seeds {
		checkDecodeJSON(t, []byte(s))
	}
}

func checkDecodeJSON(t *testing.T, data []byte) {
	t.Helper()
	got, err := DecodeJSON(data)
	want, werr := decodeJSONStd(data)
	if err == nil && !json.Valid(data) {
		t.Fatalf("%q: accepted, but it is not JSON", data) // (the reverse is allowed: 1e999 is refused)
	}
	if (err == nil) != (werr == nil) {
		t.Fatalf("%q: error %v, encoding/json %v", data, err, werr)
	}
	if err != nil {
		if err.Error() != werr.Error() {
			t.Fatalf("%q: error %q, encoding/json %q", data, err, werr)
		}
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\n got %#v\nwant %#v", data, got, want)
	}
}

func FuzzDecodeJSON(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkDecodeJSON(t, data)
	})
}

func TestNormalize(t *testing.T) {
	type odd struct{ A []int }
	x := 3
	in := map[string]any{"a": int64(1), "b": []any{int32(2), map[string]any{"c": float32(1.5)}}, "s": []string{"x"},
		"o": odd{A: []int{1}}, "p": &x, "n": nil, "m": map[string]int{"k": 1}}
	got := Normalize(in)
	if toJSON(t, got) != `{"a":1,"b":[2,{"c":1.5}],"m":{"k":1},"n":null,"o":{"A":[1]},"p":3,"s":["x"]}` {
		t.Errorf("%s", toJSON(t, got))
	}
	if _, ok := in["a"].(int64); !ok {
		t.Errorf("normalize changed its argument")
	}
	plain := map[string]any{"a": 1, "l": []any{"x", true}}
	Normalize(plain).(map[string]any)["z"] = 1
	if _, same := plain["z"]; !same {
		t.Errorf("plain values are not returned as they are (copied)")
	}
}

func BenchmarkDecodeJSON(b *testing.B) {
	data, err := os.ReadFile("../testdata/realdata/stripe-fixtures3.json")
	if err != nil {
		b.Fatal(err)
	}
	b.Run("flowrun", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := DecodeJSON(data); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := decodeJSONStd(data); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func toJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := MarshalJSON(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
