package load

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// A project big enough to be read and parsed in parallel loads as it does
// one file at a time: the same problems, in the same order, the same flows.
func TestPrefetchAgrees(t *testing.T) {
	if runtime.GOMAXPROCS(0) < 2 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	}
	dir := t.TempDir()
	writeBigProject(t, dir, 40, 6)
	broken := map[string]string{
		"flows/flow_3.yaml":  "flowrun: 1\nname: flow_3\ntype: helper\nsteps:\n  - log: [\n", // does not parse
		"flows/flow_9.yaml":  "flowrun: 1\nname: flow_9\ntype: helper\nsteps:\n  - lag: x\n", // schema
		"flows/flow_12.yaml": "",                                                             // empty
		"flows/zz.yaml":      "flowrun: 1\nname: zz\ntype: action\nsteps:\n  - log: ${ nope }\n",
	}
	for name, text := range broken {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	over := map[string][]byte{filepath.Join(dir, "flows", "flow_20.yaml"): []byte("flowrun: 1\nname: flow_20\ntype: helper\nsteps:\n  - log: ${ 1 + }\n")}
	load := func(min int) (string, []string) {
		defer func(m int) { prefetchMin = m }(prefetchMin)
		prefetchMin = min
		p, ds := Inspect(dir, Options{Overlay: over})
		return fmt.Sprint(ds), flowNames(p)
	}
	oneDs, oneFlows := load(1 << 30)
	parDs, parFlows := load(2)
	if oneDs != parDs {
		t.Fatalf("problems differ\none by one: %s\nin parallel: %s", oneDs, parDs)
	}
	if fmt.Sprint(oneFlows) != fmt.Sprint(parFlows) || len(parFlows) < 35 {
		t.Fatalf("flows differ: %v, %v", oneFlows, parFlows)
	}
	if oneDs == "[]" {
		t.Fatal("the broken files reported nothing")
	}
}
