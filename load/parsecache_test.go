package load

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/flowrun/flowrun/lang"
)

// Loading through a ParseCache, edit after edit, gives what loading afresh
// gives, and reuses the tree of every file whose bytes did not change.
func TestParseCacheEdits(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"connector.yaml": overlayConnector,
		"flows/a.yaml":   "flowrun: 1\nname: a\ntype: action\nsteps:\n  - log: hi\n",
		"flows/b.yaml":   "flowrun: 1\nname: b\ntype: action\nsteps:\n  - call: a\n",
		"flows/c.yaml":   "flowrun: 1\nname: c\ntype: action\nsteps:\n  - bogus: 1\n",
	})
	a, b := filepath.Join(dir, "flows", "a.yaml"), filepath.Join(dir, "flows", "b.yaml")
	edits := []map[string][]byte{
		nil,
		{a: []byte("flowrun: 1\nname: a\ntype: action\nsteps:\n  - log: ${ nope }\n")}, // a check problem
		{a: []byte("flowrun: 1\nname: a\ntype: action\nsteps:\n  - log: [\n")},         // a syntax error
		{a: []byte("flowrun: 1\nname: a\ntype: action\nsteps:\n  - lag: hi\n")},        // a schema problem
		{b: []byte("flowrun: 1\nname: b\ntype: action\nsteps:\n  - call: zz\n")},       // another file
		nil, // back to the disk
	}
	cache := NewParseCache()
	var prevB any
	for i, over := range edits {
		fresh, freshDs := Inspect(dir, Options{Overlay: over, CheckOnly: true})
		got, gotDs := Inspect(dir, Options{Overlay: over, CheckOnly: true, ParseCache: cache})
		if fmt.Sprint(freshDs) != fmt.Sprint(gotDs) {
			t.Fatalf("edit %d: problems differ\nfresh:  %v\ncached: %v", i, freshDs, gotDs)
		}
		if fmt.Sprint(flowNames(fresh)) != fmt.Sprint(flowNames(got)) {
			t.Fatalf("edit %d: flows differ: %v, %v", i, flowNames(fresh), flowNames(got))
		}
		if fb := got.Flows["b"]; fb != nil {
			if i > 0 && i != 4 && i != 5 && fb.Node != prevB {
				t.Errorf("edit %d: b.yaml did not change, yet it was parsed again", i)
			}
			if (i == 4 || i == 5) && fb.Node == prevB {
				t.Errorf("edit %d: b.yaml changed, yet its old tree was used", i)
			}
			prevB = fb.Node
		}
	}
	// A file gone from the project is gone from the cache.
	if err := os.Remove(b); err != nil {
		t.Fatal(err)
	}
	Inspect(dir, Options{ParseCache: cache})
	if _, ok := cache.files[b]; ok || len(cache.files) != 3 {
		t.Errorf("after b.yaml was removed the cache holds %d files (b: %v)", len(cache.files), ok)
	}
}

func flowNames(p *lang.Project) []string {
	if p == nil {
		return nil
	}
	return slices.Sorted(maps.Keys(p.Flows))
}
