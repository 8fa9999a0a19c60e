package load

import (
	"fmt"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/flowrun/flowrun/lang"
)

// A project loaded with CheckOnly (validate, the editor) gets the same
// problems and the same analyses as one loaded to run, and no programs.
func TestCheckOnlyAgreesWithCompile(t *testing.T) {
	dirs, _ := filepath.Glob("../connectors/*")
	dirs = append(dirs, "../testdata/valid")
	// The golden CLI scripts' projects, most of them with problems.
	scripts, _ := filepath.Glob("../testdata/script/*.txtar")
	for _, s := range scripts {
		a, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		if err := txtar.Write(a, dir); err != nil {
			t.Fatal(err)
		}
		dirs = append(dirs, dir)
	}
	n := 0
	for _, dir := range dirs {
		full, fullDs := Inspect(dir, Options{})
		only, onlyDs := Inspect(dir, Options{CheckOnly: true})
		if fmt.Sprint(fullDs) != fmt.Sprint(onlyDs) {
			t.Errorf("%s: problems differ\ncompiled:   %v\ncheck only: %v", dir, fullDs, onlyDs)
			continue
		}
		if full == nil || only == nil {
			continue
		}
		for name, f := range full.Flows {
			g := only.Flows[name]
			if g == nil {
				t.Errorf("%s: flow %s missing when checked only", dir, name)
				continue
			}
			n++
			if f.UsesFlow != g.UsesFlow || f.InputsEscape != g.InputsEscape || !reflect.DeepEqual(f.LoopInputs, g.LoopInputs) ||
				!reflect.DeepEqual(f.Reads, g.Reads) || !reflect.DeepEqual(f.Writes, g.Writes) {
				t.Errorf("%s: flow %s: analyses differ\ncompiled:   %v %v %v %+v %+v\ncheck only: %v %v %v %+v %+v", dir, name,
					f.UsesFlow, f.InputsEscape, f.LoopInputs, f.Reads, f.Writes, g.UsesFlow, g.InputsEscape, g.LoopInputs, g.Reads, g.Writes)
			}
			for sec := range lang.NumSections {
				lang.Walk(g.Section(sec), func(st lang.Step) bool {
					lang.Values(st, func(v *lang.Value) {
						v.Exprs(func(e *lang.Expr, _ *lang.Node) {
							if e.Program != nil {
								t.Errorf("%s: flow %s: %q compiled when checked only", dir, name, e.Src)
							}
						})
					})
					return true
				})
			}
		}
	}
	if n < 50 {
		t.Fatalf("compared %d flows; the globs found too few", n)
	}
}
