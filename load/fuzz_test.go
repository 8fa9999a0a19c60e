package load

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
	"github.com/rogpeppe/go-internal/txtar"
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
	// the golden scripts' flow files: each member, not the whole archive
	entries, err := filepath.Glob("../testdata/script/*.txtar")
	if err != nil || len(entries) == 0 {
		f.Fatalf("no golden scripts to seed from: %v", err)
	}
	for _, e := range entries {
		ar, err := txtar.ParseFile(e)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range ar.Files {
			if strings.Contains(m.Name, "flows/") && len(m.Data) < 4096 {
				f.Add(m.Data)
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
			walkNodes(n, func(s *lang.Node) {
				if s.Kind == lang.StringNode {
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
		_, err = Project(dir)
		// validate's check-only load finds the same problems
		if _, err2 := ProjectWith(dir, Options{CheckOnly: true}); fmt.Sprint(err) != fmt.Sprint(err2) {
			t.Fatalf("compiled and checked-only loads differ:\n%v\n%v", err, err2)
		}
		lines := len(regexp.MustCompile("\r\n|\r|\n").Split(string(data), -1)) // YAML line breaks
		if ds, ok := err.(lang.Diagnostics); ok {
			for _, d := range ds {
				if d.Pos.File == "" || d.Message == "" {
					t.Fatalf("diagnostic without file or message: %+v", d)
				}
				if d.Pos.File == p && (d.Pos.Line < 1 || d.Pos.Line > lines || d.Pos.Col < 1) {
					t.Fatalf("diagnostic outside the file (%d lines): %s", lines, d)
				}
			}
		}
	})
}

func walkNodes(n *lang.Node, fn func(*lang.Node)) {
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

// TestAtFastPath compares At's one-line fast path with the walk it skips,
// at every offset of every string scalar of the shipped connectors and the
// golden scripts' flow files.
func TestAtFastPath(t *testing.T) {
	var files [][]byte
	paths, _ := filepath.Glob("../connectors/*/*/*.yaml")
	more, _ := filepath.Glob("../connectors/*/*.yaml")
	for _, p := range append(paths, more...) {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, b)
	}
	scripts, _ := filepath.Glob("../testdata/script/*.txtar")
	for _, e := range scripts {
		ar, err := txtar.ParseFile(e)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range ar.Files {
			if strings.HasSuffix(m.Name, ".yaml") {
				files = append(files, m.Data)
			}
		}
	}
	files = append(files, []byte("a: \"é ${ x }\"\nb: 'it''s ${ y }'\nc: \"tab\\t${ z }\"\nd: ü ${ w }\ne: plain\n  folded ${ v }\n"))
	checked := 0
	for _, data := range files {
		n, err := ParseYAML("x.yaml", data)
		if err != nil {
			continue
		}
		walkNodes(n, func(s *lang.Node) {
			if s.Kind != lang.StringNode {
				return
			}
			for off := 0; off <= len(s.Str) && off < 200; off++ {
				fast := s.At(off)
				lang.SlowAt = true
				slow := s.At(off)
				lang.SlowAt = false
				if fast != slow {
					t.Errorf("%q at %d: fast path %v, walk %v", s.Str, off, fast, slow)
					return
				}
				checked++
			}
		})
	}
	if checked < 10000 {
		t.Errorf("only %d offsets checked", checked)
	}
}
