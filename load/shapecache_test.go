package load

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load/loadtest"
)

func countEntries(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.Type().IsRegular() {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

const squareFlow = `flowrun: 1
name: square
type: action
inputs:
  x: {type: integer, required: true}
outputs:
  y: integer
steps:
  - return:
      y: ${ inputs.x * inputs.x }
`

// TestShapeCache: accepted files are recorded, a second load uses the
// records (and gives the same project), an edited file is validated again,
// and a file with problems is never recorded.
func TestShapeCache(t *testing.T) {
	proj, cdir := t.TempDir(), filepath.Join(t.TempDir(), "shapes")
	loadtest.Write(t, proj, map[string]string{"connector.yaml": testConnector, "flows/square.yaml": squareFlow})
	c := OpenShapeCache(cdir)
	if c == nil {
		t.Fatal("OpenShapeCache returned nil: the test binary cannot be identified")
	}
	for i := range 2 {
		p, err := ProjectWith(proj, Options{ShapeCache: c})
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		ret, ok := p.Flow("square").Steps[0].(*lang.ReturnStep)
		if !ok || ret.Value.Kind != lang.ValMap || ret.Value.Vals[0].Expr.Program == nil {
			t.Fatalf("load %d: the flow's return is not compiled", i)
		}
		if n := countEntries(t, cdir); n != 2 {
			t.Fatalf("load %d: %d cache entries, want 2 (connector and flow)", i, n)
		}
	}

	// A schema problem: reported on every load, never recorded.
	bad := strings.Replace(squareFlow, "type: action", "type: action\ndescriptio: typo", 1)
	loadtest.Write(t, proj, map[string]string{"flows/square.yaml": bad})
	for i := range 2 {
		_, err := ProjectWith(proj, Options{ShapeCache: c})
		if err == nil || !strings.Contains(err.Error(), `unknown key "descriptio"`) {
			t.Fatalf("load %d of the edited file: err = %v, want the unknown key", i, err)
		}
	}
	if n := countEntries(t, cdir); n != 2 {
		t.Fatalf("%d cache entries after a rejected file, want 2", n)
	}

	// An entry is what makes a load skip the schema: with one planted for
	// the bad file's bytes, its (harmless) unknown key goes unreported. This
	// is the trust the cache asks for; its key covers the binary, the kind
	// and every byte of the file.
	c.add("flow", []byte(bad))
	if _, err := ProjectWith(proj, Options{ShapeCache: c}); err != nil {
		t.Fatalf("load with a planted entry: %v", err)
	}
	// The same bytes as another kind do not match.
	if c.known("test", []byte(bad)) {
		t.Error("an entry for a flow matched the same bytes as a test file")
	}
}

// TestShapeCacheUnusable: a cache directory that cannot be created is
// ignored; the load validates and succeeds.
func TestShapeCacheUnusable(t *testing.T) {
	proj := t.TempDir()
	loadtest.Write(t, proj, map[string]string{"connector.yaml": testConnector, "flows/square.yaml": squareFlow})
	blocker := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	c := OpenShapeCache(filepath.Join(blocker, "shapes"))
	for i := range 2 {
		if _, err := ProjectWith(proj, Options{ShapeCache: c}); err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
	}
	loadtest.Write(t, proj, map[string]string{"flows/square.yaml": strings.Replace(squareFlow, "type: action", "type: acton", 1)})
	if _, err := ProjectWith(proj, Options{ShapeCache: c}); err == nil || !strings.Contains(err.Error(), `"type" must be one of`) {
		t.Fatalf("err = %v, want the schema problem", err)
	}
	// A directory where an entry would be is not taken for an entry.
	c2 := OpenShapeCache(t.TempDir())
	if err := os.MkdirAll(c2.path("flow", []byte(squareFlow)), 0o755); err != nil {
		t.Fatal(err)
	}
	if c2.known("flow", []byte(squareFlow)) {
		t.Error("a directory counted as an entry")
	}
}

func TestDefaultShapeCacheDir(t *testing.T) {
	t.Setenv("FLOWRUN_CACHE", "off")
	if d := DefaultShapeCacheDir(); d != "" {
		t.Errorf("off: %q", d)
	}
	t.Setenv("FLOWRUN_CACHE", "/x/y")
	if d := DefaultShapeCacheDir(); d != "/x/y" {
		t.Errorf("set: %q", d)
	}
	t.Setenv("FLOWRUN_CACHE", "")
	t.Setenv("XDG_CACHE_HOME", "/cachehome")
	if d := DefaultShapeCacheDir(); d != filepath.Join("/cachehome", "flowrun", "shapes") {
		t.Errorf("default: %q", d)
	}
	if OpenShapeCache("") != nil {
		t.Error("OpenShapeCache(\"\") is not nil")
	}
}

const testConnector = `flowrun: 1
name: test
base_url: ${ connection.base_url }
connection:
  params:
    base_url: {type: string, default: "http://127.0.0.1:1"}
`
