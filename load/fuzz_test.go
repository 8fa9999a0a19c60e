package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/expr-lang/expr/types"
)

const fuzzConnector = "flowrun: 1\nname: fuzz\nbase_url: https://${ connection.host }/api\nconnection:\n  params:\n    host: {type: string, required: true}\n"

// FuzzLoad feeds arbitrary bytes to the loader as a flow file (and to the
// YAML layer directly): whatever the input, no panic, and every diagnostic
// has a position inside the file.
func FuzzLoad(f *testing.F) {
	seeds := []string{
		"flowrun: 1\nname: a\ntype: action\nsteps:\n  - set: {x: 1}\n  - return: {}\n",
		"flowrun: 1\nname: a\ntype: action\ninputs:\n  n: {type: integer, default: 2}\noutputs:\n  y: integer\nsteps:\n  - id: s\n    for_each: ${ 1..inputs.n }\n    collect: ${ item * 2 }\n    steps: []\n  - return:\n      y: ${ sum(steps.s) }\n",
		"flowrun: 1\nname: h\ntype: webhook\nregister: {steps: []}\nderegister: {steps: []}\nevent:\n  steps:\n    - return: {events: []}\n",
		"a: &x [*x]\n", "a: |\n  ${ foo }\n", "a: \"\\u00e9 ${ x\"\n", "- - - - [[[[{{{\n", "\x00\xff", "a:\n\t- b\n",
		"flowrun: 1\nname: p\ntype: poll\nschedule: 5m\nsteps:\n  - return:\n      events: []\n      cursor: '${ cursor ?? 0 }'\n",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	if entries, err := filepath.Glob("../testdata/script/*.txtar"); err == nil {
		for _, e := range entries {
			if b, err := os.ReadFile(e); err == nil && len(b) < 4096 {
				f.Add(b)
			}
		}
	}
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "flows"), 0o755); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "connector.yaml"), []byte(fuzzConnector), 0o644); err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseYAML("x.yaml", data)
		if err == nil {
			walkNodes(n, func(s *Node) {
				if s.Kind == StringNode {
					for off := 0; off <= len(s.Str) && off < 64; off++ {
						p := s.At(off)
						if p.Line < 1 || p.Col < 1 {
							t.Fatalf("At(%d) = %v", off, p)
						}
					}
				}
			})
		}
		p := filepath.Join(dir, "flows", "x.yaml")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = Load(dir)
		if ds, ok := err.(Diagnostics); ok {
			for _, d := range ds {
				if d.Pos.File == "" || d.Message == "" {
					t.Fatalf("diagnostic without file or message: %+v", d)
				}
			}
		}
	})
}

func walkNodes(n *Node, fn func(*Node)) {
	if n == nil {
		return
	}
	fn(n)
	for _, k := range n.Keys {
		fn(k)
	}
	for _, v := range n.Vals {
		walkNodes(v, fn)
	}
	for _, it := range n.Items {
		walkNodes(it, fn)
	}
}

// FuzzTemplate compiles arbitrary text as a templated scalar in a typed
// scope: no panic, and a diagnostic for every failure.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"${ inputs.n + 1 }", "a ${ b } c", "$${ x }", "${ map(xs, {.id}) }", "${ '}' }", "${", "${ {\"a\": 1} }", "${ steps.x.body }", "${ now() | date }"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, src string) {
		if len(src) > 4096 || strings.Count(src, "(") > 200 {
			return
		}
		l := &loader{proj: &Project{Flows: map[string]*Flow{}}}
		s := &scope{l: l, flow: &Flow{Name: "f"}, env: types.Map{"inputs": types.Map{"n": types.Int}, "vars": types.Map{}, "steps": types.Map{}},
			definite: map[string]bool{}, allIDs: map[string]bool{}}
		n := &Node{Kind: StringNode, Str: src, Pos: Pos{File: "f.yaml", Line: 1, Col: 1}}
		v := s.value(n)
		if v == nil {
			t.Fatal("nil value")
		}
		if v.kind == valExpr && v.expr.Program == nil && len(l.d.list) == 0 {
			t.Fatalf("%q: expression not compiled and no diagnostic", src)
		}
	})
}
