package schema_test

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/schema"
)

// mutantsPerFile bounds the mutants tried per file; all of them (~46,000
// over 100 files) agreed when this test was written, with -quick.mutants 1000.
var mutantsPerFile = flag.Int("quick.mutants", 100, "mutants per file in TestQuickPassAgreesOnMutants")

// projectFiles are the YAML files the differential test starts from: every
// shipped connector and the valid testdata, with the schema kind of each.
func projectFiles(t testing.TB) map[string]string {
	t.Helper()
	files := map[string]string{}
	for _, root := range []string{"../connectors", "../testdata", "testdata"} {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
				return err
			}
			slash := filepath.ToSlash(path)
			base := filepath.Base(path)
			switch {
			case strings.HasPrefix(slash, "testdata/valid/"):
				switch {
				case strings.HasPrefix(base, "connector"):
					files[path] = "connector"
				case strings.HasPrefix(base, "tests"):
					files[path] = "test"
				default:
					files[path] = "flow"
				}
			case base == "connector.yaml":
				files[path] = "connector"
			case strings.Contains(slash, "/tests/"):
				files[path] = "test"
			case strings.Contains(slash, "/flows/"):
				files[path] = "flow"
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return files
}

// agree checks that the quick pass and the full validator agree on n: the
// quick pass proves valid exactly the documents Validate finds no problem in,
// and ValidateNode reports what Validate reports.
func agree(t *testing.T, what, kind string, n *lang.Node) bool {
	t.Helper()
	full := schema.Validate(kind, n.Value())
	quick := schema.QuickValid(kind, n)
	if quick && len(full) > 0 {
		t.Errorf("%s: the quick pass accepts a document the validator rejects: %v", what, full)
		return false
	}
	if !quick && len(full) == 0 {
		t.Errorf("%s: the quick pass is not sure of a valid document", what)
		return false
	}
	if got := schema.ValidateNode(kind, n); !reflect.DeepEqual(got, full) {
		t.Errorf("%s: ValidateNode = %v, Validate = %v", what, got, full)
		return false
	}
	return true
}

func TestQuickPassAgreesOnShippedFiles(t *testing.T) {
	files := projectFiles(t)
	if len(files) < 20 {
		t.Fatalf("only %d files", len(files))
	}
	for path, kind := range files {
		n := parse(t, path)
		if n == nil {
			continue
		}
		agree(t, path, kind, n)
	}
}

// TestQuickPassAgreesOnMutants breaks every shipped file in many small ways
// (a key dropped, renamed or added; a value replaced by one of each type)
// and checks that the quick pass and the validator agree on each copy, and
// that the problems reported (and so their positions) are the same.
func TestQuickPassAgreesOnMutants(t *testing.T) {
	files := projectFiles(t)
	limit := *mutantsPerFile
	if testing.Short() {
		limit = min(limit, 20)
	}
	total, invalid := 0, 0
	for path, kind := range files {
		root := parse(t, path)
		if root == nil {
			continue
		}
		ms := mutants(root)
		stride := max(1, len(ms)/limit)
		fails := 0
		for i := 0; i < len(ms) && fails < 3; i += stride {
			n := ms[i].apply(root)
			total++
			if len(schema.Validate(kind, n.Value())) > 0 {
				invalid++
			}
			if !agree(t, fmt.Sprintf("%s, %s", path, ms[i].what), kind, n) {
				fails++
			}
		}
	}
	t.Logf("%d mutants of %d files, %d of them invalid", total, len(files), invalid)
	if invalid == 0 || invalid == total {
		t.Errorf("the mutants should be a mix of valid and invalid documents")
	}
}

func parse(t testing.TB, path string) *lang.Node {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n, err := load.ParseYAML(path, data)
	if err != nil || n.Kind != lang.MapNode {
		return nil // not a project file the schema sees
	}
	return n
}

type mutant struct {
	what  string
	apply func(root *lang.Node) *lang.Node // returns a changed copy of root
}

// replacements are the values a scalar or collection is replaced with.
var replacements = []struct {
	name string
	node lang.Node
}{
	{"null", lang.Node{Kind: lang.NullNode}},
	{"true", lang.Node{Kind: lang.BoolNode, Bool: true}},
	{"0", lang.Node{Kind: lang.IntNode}},
	{"-1", lang.Node{Kind: lang.IntNode, Int: -1}},
	{"100000", lang.Node{Kind: lang.IntNode, Int: 100000}},
	{"2.0", lang.Node{Kind: lang.FloatNode, Float: 2}},
	{"1.5", lang.Node{Kind: lang.FloatNode, Float: 1.5}},
	{`""`, lang.Node{Kind: lang.StringNode}},
	{`"bad-name"`, lang.Node{Kind: lang.StringNode, Str: "bad-name"}},
	{`"30s"`, lang.Node{Kind: lang.StringNode, Str: "30s"}},
	{`"${ x }"`, lang.Node{Kind: lang.StringNode, Str: "${ x }"}},
	{"{}", lang.Node{Kind: lang.MapNode}},
	{"[]", lang.Node{Kind: lang.ListNode}},
}

// mutants lists the changes of root, each at one node (by its path of
// child indexes, so that it applies to a fresh copy).
func mutants(root *lang.Node) []mutant {
	var out []mutant
	var walk func(n *lang.Node, path []int, where string)
	walk = func(n *lang.Node, path []int, where string) {
		p := append([]int(nil), path...)
		for _, r := range replacements {
			out = append(out, mutant{where + " = " + r.name, func(root *lang.Node) *lang.Node {
				c := clone(root)
				*at(c, p) = r.node
				return c
			}})
		}
		switch n.Kind {
		case lang.MapNode:
			out = append(out, mutant{where + ": add unknown key", func(root *lang.Node) *lang.Node {
				c := clone(root)
				m := at(c, p)
				m.Keys = append(m.Keys, &lang.Node{Kind: lang.StringNode, Str: "zz_unknown"})
				m.Vals = append(m.Vals, &lang.Node{Kind: lang.StringNode, Str: "x"})
				return c
			}})
			for i, k := range n.Keys {
				out = append(out, mutant{where + ": drop " + k.Str, func(root *lang.Node) *lang.Node {
					c := clone(root)
					m := at(c, p)
					m.Keys = append(m.Keys[:i:i], m.Keys[i+1:]...)
					m.Vals = append(m.Vals[:i:i], m.Vals[i+1:]...)
					return c
				}}, mutant{where + ": misspell " + k.Str, func(root *lang.Node) *lang.Node {
					c := clone(root)
					m := at(c, p)
					m.Keys[i] = &lang.Node{Kind: lang.StringNode, Str: k.Str + "x", Pos: k.Pos}
					return c
				}})
				walk(n.Vals[i], append(path, i), where+"/"+k.Str)
			}
		case lang.ListNode:
			for i, it := range n.Items {
				out = append(out, mutant{fmt.Sprintf("%s: drop item %d", where, i), func(root *lang.Node) *lang.Node {
					c := clone(root)
					l := at(c, p)
					l.Items = append(l.Items[:i:i], l.Items[i+1:]...)
					return c
				}})
				walk(it, append(path, i), fmt.Sprintf("%s/%d", where, i))
			}
		}
	}
	walk(root, nil, "")
	return out
}

// at follows a path of child indexes (map values or list items).
func at(n *lang.Node, path []int) *lang.Node {
	for _, i := range path {
		if n.Kind == lang.MapNode {
			n = n.Vals[i]
		} else {
			n = n.Items[i]
		}
	}
	return n
}

func clone(n *lang.Node) *lang.Node {
	c := *n
	if n.Keys != nil {
		c.Keys = append([]*lang.Node(nil), n.Keys...)
		c.Vals = make([]*lang.Node, len(n.Vals))
		for i, v := range n.Vals {
			c.Vals[i] = clone(v)
		}
	}
	if n.Items != nil {
		c.Items = make([]*lang.Node, len(n.Items))
		for i, v := range n.Items {
			c.Items[i] = clone(v)
		}
	}
	return &c
}

// BenchmarkValidateShipped validates every shipped file both ways in one
// process: the full validator on the decoded value (what the loader did
// before ValidateNode) and ValidateNode on the node tree.
func BenchmarkValidateShipped(b *testing.B) {
	t := b
	type doc struct {
		kind string
		n    *lang.Node
	}
	var docs []doc
	for path, kind := range projectFiles(t) {
		if n := parse(t, path); n != nil {
			docs = append(docs, doc{kind, n})
		}
	}
	b.Run("full", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range docs {
				schema.Validate(d.kind, d.n.Value())
			}
		}
	})
	b.Run("node", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, d := range docs {
				schema.ValidateNode(d.kind, d.n)
			}
		}
	})
}
