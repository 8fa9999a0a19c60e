package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/value"
)

const lazyLoopFlow = `flowrun: 1
name: sum
type: action
inputs:
  items: {type: list, required: true}
  note: string
outputs: {total: number, n: integer}
steps:
  - set: {total: 0, n: 0}
  - for_each: ${ inputs.items }
    steps:
      - set: {total: "${ vars.total + item.amount }", n: "${ vars.n + 1 }"}
  - return: {total: "${ vars.total }", n: "${ vars.n }"}
`

const lazyLenFlow = `flowrun: 1
name: count
type: action
inputs:
  items: {type: list, required: true}
  note: string
outputs: {n: integer, last: any}
steps:
  - for_each: ${ inputs.items }
    steps: []
  - return: {n: "${ len(inputs.items) }", last: "${ last(inputs.items) }"}
`

// bigItems is an inputs object whose list is over value.LazyMinBytes.
func bigItems(n int) string {
	var b strings.Builder
	b.WriteString(`{"items": [`)
	for i := range n {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, `{"id": %d, "amount": %d, "name": "caf\u00e9 item %d", "tags": ["a", "b"]}`, i, i%10, i)
	}
	b.WriteString(`], "note": "x"}`)
	return b.String()
}

// TestRunLazyInput: a large --input list, from a file or stdin, runs to the
// same outputs whether the flow loops over it (kept as text, decoded item
// by item) or also reads it whole (decoded first).
func TestRunLazyInput(t *testing.T) {
	t.Setenv("FLOWRUN_CACHE", "off")
	dir := t.TempDir()
	proj := filepath.Join(dir, "proj")
	for name, body := range map[string]string{"connector.yaml": "flowrun: 1\nname: lazyin\n", "flows/sum.yaml": lazyLoopFlow, "flows/count.yaml": lazyLenFlow} {
		p := filepath.Join(proj, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const n = 20000
	doc := bigItems(n)
	if len(doc) < value.LazyMinBytes {
		t.Fatalf("the input is %d bytes, under the lazy threshold", len(doc))
	}
	file := filepath.Join(dir, "in.json")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := range n {
		total += i % 10
	}
	wants := map[string]string{
		"sum":   fmt.Sprintf("{\n  \"n\": %d,\n  \"total\": %d\n}\n", n, total),
		"count": fmt.Sprintf("{\n  \"last\": {\n    \"amount\": %d,\n    \"id\": %d,\n    \"name\": \"café item %d\",\n    \"tags\": [\n      \"a\",\n      \"b\"\n    ]\n  },\n  \"n\": %d\n}\n", (n-1)%10, n-1, n-1, n),
	}
	for flow, want := range wants {
		for _, arg := range []string{"@" + file, "-"} {
			var stdout, stderr bytes.Buffer
			code := Main([]string{"run", proj, flow, "--input", arg}, strings.NewReader(doc), &stdout, &stderr)
			if code != exitOK || stdout.String() != want {
				t.Errorf("%s --input %s: exit %d\n%s%s\nwant\n%s", flow, arg, code, stdout.String(), stderr.String(), want)
			}
		}
	}
}

// TestReadInputsLazyErrors: large inputs that are not what a run takes
// (truncated, deeply nested, a huge string, a bad item in the middle) give
// the error the eager reading gives, from a file and from stdin; good ones
// decode to the same values.
func TestReadInputsLazyErrors(t *testing.T) {
	dir := t.TempDir()
	big := bigItems(15000)
	mid := len(big)/2 + strings.Index(big[len(big)/2:], ",\n") + 1 // between two items
	docs := map[string]string{
		"good":       big,
		"truncated":  big[:len(big)-3],
		"cut-inside": big[:mid],
		"bad-item":   big[:mid] + `,` + big[mid:],
		"deep":       `{"items": [` + strings.Repeat(`[`, 10001) + strings.Repeat(`]`, 10001) + `, ` + big[11:],
		"huge-str":   `{"items": ["` + strings.Repeat("x", 2<<20) + `"]}`,
		"huge-open":  `{"items": ["` + strings.Repeat("x", 2<<20) + `]}`,
		"ctl-char":   big[:mid] + "\"\x01\"," + big[mid:],
		"out-range":  `{"items": [1e999, ` + big[11:],
		"not-object": `[` + big + `]`,
		"trailing":   big + ` {}`,
		"empty":      strings.Repeat(" ", 2<<20),
	}
	for name, doc := range docs {
		file := filepath.Join(dir, name+".json")
		if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, arg := range []string{"@" + file, "-"} {
			e := &env{stdin: strings.NewReader(doc)}
			want, werr := readInputs(e, arg, false)
			e = &env{stdin: strings.NewReader(doc)}
			got, err := readInputs(e, arg, true)
			if (werr == nil) != (name == "good" || name == "empty" || name == "huge-str") {
				t.Errorf("%s (%s): eager error %v", name, arg[:1], werr)
			}
			if fmt.Sprint(err) != fmt.Sprint(werr) {
				t.Errorf("%s (%s): error %v, eager %v", name, arg[:1], err, werr)
				continue
			}
			if err == nil && !reflect.DeepEqual(value.MaterializeMap(got), want) {
				t.Errorf("%s (%s): lazy inputs differ once decoded", name, arg[:1])
			}
			if name == "good" {
				if _, ok := got["items"].(*value.LazyList); !ok {
					t.Errorf("good (%s): the list was not kept lazy", arg[:1])
				}
			}
		}
	}
}
