package value

import (
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// lazyDocs are inputs objects whose values are the JSON seeds, alone, in
// arrays and in objects, valid and not: every shape DecodeJSONLazy meets.
func lazyDocs(t testing.TB) []string {
	var docs []string
	for _, s := range jsonSeeds {
		docs = append(docs,
			`{"items": [`+s+`]}`,
			`{"items": [`+s+`, `+s+`], "n": 1}`,
			`{"a": "x", "items": [`+s+`,{"k":`+s+`}], "b": [1, 2]}`,
			`{"items": `+s+`}`,
			` { "items" : [ `+s+` ] , "items": [`+s+`, 3] } `,
			`{"items": [{"a": 1}, [`+s+`]]`,
			`{"items": [[1], `+s+`]}`+s,
			s,
		)
	}
	docs = append(docs,
		`{}`, ` {} `, `{} x`, `{"a": []}`, `{"a": [], "a": [1]}`, `[{"a": [1]}]`, `{"a": [1,]}`, `{"a": [1 2]}`,
		`{"a": [`+strings.Repeat(`[`, 10001)+strings.Repeat(`]`, 10001)+`]}`,
		`{"a": [`+strings.Repeat(`[`, 9998)+strings.Repeat(`]`, 9998)+`]}`,
		`{"a": [`+strings.Repeat(`[`, 9999)+strings.Repeat(`]`, 9999)+`]}`,
		`{"a": [`+strings.Repeat(`{"b":`, 9998)+`1`+strings.Repeat(`}`, 9998)+`]}`,
		`{"a": [`+strings.Repeat(`{"b":`, 9999)+`1`+strings.Repeat(`}`, 9999)+`]}`,
		`{"a": ["`+strings.Repeat(`x`, 3<<20)+`", "`+strings.Repeat(`\u00e9`, 1000)+`"]}`,
		`{"a": ["`+strings.Repeat(`x`, 3<<20)+`]}`, // unterminated
		`{"a": [1e308, -1e308, 1e309, 0.`+strings.Repeat(`0`, 400)+`1]}`,
		`{"a": [1`+strings.Repeat(`0`, 308)+`]}`,
		`{"a": [1`+strings.Repeat(`0`, 309)+`]}`,
		`{"a": [12345678901234567890123, -9223372036854775809, 123456789012345678, 1234567890123456789]}`,
		`{"a": ["\ud800", "\u12", "\x", "tab	in"]}`,
		`{"a": [{"x": 1, "x": 2}, {"y": {"z": [true, false, null]}}]}`,
		`{"a": [1, 2, 3]`, `{"a": [1, 2, 3],`, `{"a": [1, 2, 3]}}`, `{"a": [1, 2, 3]]`,
	)
	files, _ := filepath.Glob("../testdata/realdata/*.json")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, `{"items": [`+string(b)+`, `+string(b)+`]}`, `{"items": `+string(b)+`}`)
	}
	return docs
}

// TestDecodeJSONLazyMatchesEager: for every shape, the lazy decoding gives
// DecodeJSON's value (item by item and as a whole) or DecodeJSON's error.
func TestDecodeJSONLazyMatchesEager(t *testing.T) {
	lazies := 0
	for _, doc := range lazyDocs(t) {
		lazies += checkLazy(t, []byte(doc), 1)
		checkLazy(t, []byte(doc), LazyMinBytes)
	}
	if lazies < 50 {
		t.Errorf("only %d lists were kept lazy: the test does not test the lazy path", lazies)
	}
}

func checkLazy(t testing.TB, data []byte, minBytes int) (lazies int) {
	t.Helper()
	got, err := DecodeJSONLazy(data, minBytes)
	want, werr := DecodeJSON(data)
	short := string(data)
	if len(short) > 200 {
		short = short[:200] + "..."
	}
	if (err == nil) != (werr == nil) || (err != nil && errText(err) != errText(werr)) {
		t.Fatalf("%q: error %v, DecodeJSON %v", short, err, werr)
	}
	if err != nil {
		return 0
	}
	if m, ok := got.(map[string]any); ok {
		wm := want.(map[string]any)
		for k, v := range m {
			l, ok := v.(*LazyList)
			if !ok {
				continue
			}
			lazies++
			wl := wm[k].([]any)
			if l.Len() != len(wl) {
				t.Fatalf("%q: %s has %d items, want %d", short, k, l.Len(), len(wl))
			}
			for i := range l.Len() {
				if x := l.At(i); !reflect.DeepEqual(x, wl[i]) {
					t.Fatalf("%q: %s[%d] = %#v, want %#v", short, k, i, x, wl[i])
				}
			}
		}
	}
	if m := Materialize(got); !reflect.DeepEqual(m, want) {
		t.Fatalf("%q: materialised %#v, want %#v", short, m, want)
	}
	return lazies
}

// errText is an error's message without the number it names when a
// number is out of range: DecodeJSON names the first one it meets in an
// object, in Go's map order.
func errText(err error) string {
	return outOfRange.ReplaceAllString(err.Error(), "number N is out of range")
}

var outOfRange = regexp.MustCompile(`number \S+ is out of range`)

func FuzzDecodeJSONLazy(f *testing.F) {
	for _, s := range jsonSeeds {
		f.Add([]byte(`{"items": [` + s + `], "x": ` + s + `}`))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkLazy(t, data, 1)
	})
}

// TestLazyListConcurrent: the workers of a parallel loop read one list.
func TestLazyListConcurrent(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"items": [`)
	for i := range 2000 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(`{"id": ` + strings.Repeat("1", 1+i%17) + `, "name": "caf\u00e9", "tags": ["a", "b"]}`)
	}
	b.WriteString(`]}`)
	data := []byte(b.String())
	v, err := DecodeJSONLazy(data, 1)
	if err != nil {
		t.Fatal(err)
	}
	l := v.(map[string]any)["items"].(*LazyList)
	want := l.List()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := w; i < l.Len(); i += 4 {
				if x := l.At(i); !reflect.DeepEqual(x, want[i]) {
					t.Errorf("item %d: %v, want %v", i, x, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestMaterializeCopies: Materialize never changes the object it is given.
func TestMaterializeCopies(t *testing.T) {
	v, err := DecodeJSONLazy([]byte(`{"a": [1, 2], "b": 3}`), 1)
	if err != nil {
		t.Fatal(err)
	}
	m := v.(map[string]any)
	got := MaterializeMap(m)
	if _, ok := m["a"].(*LazyList); !ok {
		t.Fatalf("the argument was changed: %#v", m)
	}
	if !reflect.DeepEqual(got, map[string]any{"a": []any{1, 2}, "b": 3}) {
		t.Fatalf("%#v", got)
	}
	plain := map[string]any{"a": 1}
	if out := MaterializeMap(plain); reflect.ValueOf(out).Pointer() != reflect.ValueOf(plain).Pointer() {
		t.Errorf("an object without lazy lists was copied")
	}
}
