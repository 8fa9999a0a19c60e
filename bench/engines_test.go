package bench

import (
	"testing"
)

// TestSameResults checks correctness before speed: every engine of a
// workload computes the same result.
func TestSameResults(t *testing.T) {
	items := Items()
	srv := Service()
	defer srv.Close()
	dir := t.TempDir()
	if err := WriteLoadProject(dir, 20, 20); err != nil {
		t.Fatal(err)
	}
	cases := map[string]map[string]func() (Engine, error){
		"loop": {
			"flowrun": func() (Engine, error) { return LoopFlowrun(items) },
			"go+expr": func() (Engine, error) { return LoopExpr(items) },
			"go":      func() (Engine, error) { return LoopGo(items) },
			"goja":    func() (Engine, error) { return LoopGoja(items) },
			"sdk":     func() (Engine, error) { return LoopSDK(items[:300]) },
		},
		"transform": {
			"flowrun": func() (Engine, error) { return TransformFlowrun(items) },
			"go+expr": func() (Engine, error) { return TransformExpr(items) },
			"go":      func() (Engine, error) { return TransformGo(items) },
			"goja":    func() (Engine, error) { return TransformGoja(items) },
			"sdk":     func() (Engine, error) { return TransformSDK(items) },
			"sdk-for": func() (Engine, error) { return TransformSDKFor(items[:300]) },
		},
		"calls": {
			"flowrun": CallsFlowrun, "go+expr": CallsExpr, "go": CallsGo, "goja": CallsGoja,
		},
		"http": {
			"flowrun": func() (Engine, error) { return HTTPFlowrun(srv.URL) },
			"go":      func() (Engine, error) { return HTTPGo(srv.URL) },
		},
		"load": {
			"flowrun": func() (Engine, error) { return LoadFlowrun(dir) },
		},
	}
	for w, engines := range cases {
		var want any
		wantFrom := ""
		for _, name := range []string{"go", "flowrun", "go+expr", "goja", "sdk", "sdk-for"} {
			mk, ok := engines[name]
			if !ok {
				continue
			}
			e, err := mk()
			if err != nil {
				t.Fatalf("%s/%s: %v", w, name, err)
			}
			got, err := e()
			if err != nil {
				t.Fatalf("%s/%s: %v", w, name, err)
			}
			got = num(got)
			if (name == "sdk" && w == "loop") || name == "sdk-for" {
				// the SDK loops run on the first 300 items only (they are slow): compare with Go on those
				g, _ := LoopGo(items[:300])
				if w == "transform" {
					g, _ = TransformGo(items[:300])
				}
				want300, _ := g()
				if got != num(want300) {
					t.Errorf("%s/%s = %v, want %v", w, name, got, want300)
				}
				continue
			}
			if want == nil {
				want, wantFrom = got, name
				continue
			}
			if got != want {
				t.Errorf("%s: %s = %v (%T), but %s = %v", w, name, got, got, wantFrom, want)
			}
		}
	}
}

// num makes numbers of any Go type comparable.
func num(v any) any {
	switch x := v.(type) {
	case int:
		return float64(x)
	case int64:
		return float64(x)
	}
	return v
}

func BenchmarkCallsFlowrun(b *testing.B) {
	e, err := CallsFlowrun()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := e(); err != nil {
			b.Fatal(err)
		}
	}
}
