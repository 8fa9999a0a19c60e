package bench

import (
	"testing"
)

// TestNodeREDSameResults checks that the Node-RED flows compute what the Go
// engines compute. It needs node, npm and nodered/node_modules
// (nodered/install.sh), and is skipped under -short.
func TestNodeREDSameResults(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	if m := NodeREDMissing(); m != "" {
		t.Skip(m)
	}
	if !NodeREDInstalled() {
		t.Skip("node-red is not installed: run nodered/install.sh")
	}
	items := Items()
	srv := Service()
	defer srv.Close()
	want := map[string]any{}
	for name, mk := range map[string]func() (Engine, error){
		"loop":         func() (Engine, error) { return LoopGo(items) },
		"transform":    func() (Engine, error) { return TransformGo(items) },
		"helper calls": CallsGo,
		"http":         func() (Engine, error) { return HTTPGo(srv.URL) },
	} {
		e, err := mk()
		if err != nil {
			t.Fatal(err)
		}
		v, err := e()
		if err != nil {
			t.Fatal(err)
		}
		want[name] = num(v)
	}
	// ops-scale 0 runs the warm-up ops (each checked inside run.js) and one timed op
	res, err := NodeRED(items, srv.URL, 0)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range res {
		seen[r.Workload] = true
		w, ok := want[r.Workload]
		if !ok {
			t.Errorf("unexpected workload %q", r.Workload)
			continue
		}
		if r.Result != w {
			t.Errorf("%s: node-red = %v (%T), go = %v", r.Workload, r.Result, r.Result, w)
		}
		if r.NsPerOp <= 0 || r.Ops < 1 {
			t.Errorf("%s: ns/op %v over %d ops", r.Workload, r.NsPerOp, r.Ops)
		}
	}
	for w := range want {
		if !seen[w] {
			t.Errorf("node-red did not run %s", w)
		}
	}
}
