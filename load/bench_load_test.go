package load

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// writeBigProject writes a project of flows x steps: http, if, for_each and
// call steps with expressions, every helper calling the previous one.
func writeBigProject(tb testing.TB, dir string, flows, steps int) {
	if err := os.MkdirAll(filepath.Join(dir, "flows"), 0o755); err != nil {
		tb.Fatal(err)
	}
	conn := "flowrun: 1\nname: big\nbase_url: https://${ connection.host }/api\nconnection:\n  params:\n    host: {type: string, required: true}\n"
	if err := os.WriteFile(filepath.Join(dir, "connector.yaml"), []byte(conn), 0o644); err != nil {
		tb.Fatal(err)
	}
	for f := range flows {
		var b []byte
		b = fmt.Appendf(b, "flowrun: 1\nname: flow_%d\ntype: helper\ninputs:\n  n: {type: integer, default: 3}\n  name: {type: string, default: x}\noutputs:\n  total: integer\nsteps:\n  - set: {total: 0}\n", f)
		for s := 0; s < steps-2; s++ {
			switch s % 4 {
			case 0:
				b = fmt.Appendf(b, "  - id: s%d\n    http:\n      path: /items/${ inputs.name }\n      query: {page: \"${ vars.total }\"}\n", s)
			case 1:
				b = fmt.Appendf(b, "  - if: ${ inputs.n > %d && steps.s%d.status == 200 }\n    then:\n      - set:\n          total: ${ vars.total + len(steps.s%d.body ?? []) }\n", s, s-1, s-1)
			case 2:
				b = fmt.Appendf(b, "  - for_each: ${ 1..inputs.n }\n    steps:\n      - set:\n          total: ${ vars.total + item * %d }\n", s)
			case 3:
				if f > 0 {
					b = fmt.Appendf(b, "  - id: c%d\n    call: flow_%d\n    with:\n      n: ${ inputs.n - 1 }\n", s, f-1)
				} else {
					b = fmt.Appendf(b, "  - log: step %d of ${ inputs.name }\n", s)
				}
			}
		}
		b = fmt.Appendf(b, "  - return:\n      total: ${ vars.total }\n")
		if err := os.WriteFile(filepath.Join(dir, "flows", fmt.Sprintf("flow_%d.yaml", f)), b, 0o644); err != nil {
			tb.Fatal(err)
		}
	}
}

// BenchmarkLoad200x20 loads, checks and compiles a project of 200 flows of
// 20 steps, as `flowrun run` loads a project.
func BenchmarkLoad200x20(b *testing.B) { benchLoadBig(b, Options{}) }

// BenchmarkValidate200x20 is BenchmarkLoad200x20 as `flowrun validate` and
// the editor load it: checked, not compiled (Options.CheckOnly).
func BenchmarkValidate200x20(b *testing.B) { benchLoadBig(b, Options{CheckOnly: true}) }

func benchLoadBig(b *testing.B, o Options) {
	dir := b.TempDir()
	writeBigProject(b, dir, 200, 20)
	b.ReportAllocs()
	for b.Loop() {
		p, err := ProjectWith(dir, o)
		if err != nil {
			b.Fatal(err)
		}
		if len(p.Flows) != 200 {
			b.Fatalf("%d flows", len(p.Flows))
		}
	}
}

// BenchmarkValidateConnectors loads and checks every shipped connector
// (connectors/*), as `flowrun validate` does without the shape cache: parse,
// schema, check (not compile: Options.CheckOnly).
func BenchmarkValidateConnectors(b *testing.B) {
	dirs, err := filepath.Glob(filepath.Join("..", "connectors", "*", "connector.yaml"))
	if err != nil || len(dirs) == 0 {
		b.Fatalf("no connectors: %v", err)
	}
	b.ReportAllocs()
	for b.Loop() {
		for _, c := range dirs {
			if _, err := ProjectWith(filepath.Dir(c), Options{CheckOnly: true}); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkEdit200x20 is what the language server does on an edit of one
// flow of the 200 x 20 project: load it again, checked only, with the
// edited file in the overlay; "cold" without a ParseCache, "cached" with
// the project's cache (only the edited file is parsed again).
func BenchmarkEdit200x20(b *testing.B) {
	dir := b.TempDir()
	writeBigProject(b, dir, 200, 20)
	path := filepath.Join(dir, "flows", "flow_7.yaml")
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name  string
		cache *ParseCache
	}{{"cold", nil}, {"cached", NewParseCache()}} {
		b.Run(bc.name, func(b *testing.B) {
			Inspect(dir, Options{CheckOnly: true, ParseCache: bc.cache}) // the project as opened
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				i++
				over := map[string][]byte{path: fmt.Appendf(append([]byte(nil), data...), "# edit %d\n", i)}
				p, ds := Inspect(dir, Options{Overlay: over, CheckOnly: true, ParseCache: bc.cache})
				if len(ds) > 0 || len(p.Flows) != 200 {
					b.Fatalf("%d flows, %v", len(p.Flows), ds)
				}
			}
		})
	}
}
