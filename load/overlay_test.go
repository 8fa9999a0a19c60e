package load

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeProject(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const overlayConnector = "flowrun: 1\nname: acme\nbase_url: https://acme.example\n"

// The overlay is read instead of the disk, and a flow only in the overlay
// is loaded: an editor's unsaved buffers.
func TestOverlay(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"connector.yaml": overlayConnector,
		"flows/a.yaml":   "flowrun: 1\nname: a\ntype: action\nsteps:\n  - log: hi\n",
	})
	if _, err := Project(dir); err != nil {
		t.Fatalf("on disk: %v", err)
	}
	over := map[string][]byte{
		filepath.Join(dir, "flows", "a.yaml"): []byte("flowrun: 1\nname: a\ntype: action\nsteps:\n  - log: ${ nope }\n"),
		filepath.Join(dir, "flows", "b.yaml"): []byte("flowrun: 1\nname: b\ntype: action\nsteps:\n  - call: c\n"),
	}
	_, err := ProjectWith(dir, Options{Overlay: over})
	got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
	want := "flows/a.yaml:5:13: error: expression: unknown name nope\n" +
		"flows/b.yaml:5:11: error: call: no flow named \"c\""
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// Inspect returns the project as far as it loaded with the problems.
func TestInspect(t *testing.T) {
	dir := writeProject(t, map[string]string{
		"connector.yaml": overlayConnector,
		"flows/a.yaml":   "flowrun: 1\nname: a\ntype: helper\ninputs:\n  x: string\nsteps:\n  - log: ${ inputs.y }\n",
		"flows/b.yaml":   "flowrun: 1\nname: b\ntype: action\nstepz: []\n",
		"flows/c.yaml":   "flowrun: 1\nname: c\n  type: [\n",
	})
	p, ds := Inspect(dir, Options{})
	if p == nil || len(ds) != 3 {
		t.Fatalf("project %v, %d problems:\n%v", p, len(ds), ds)
	}
	if a := p.Flow("a"); a == nil || len(a.Steps) != 1 || a.Input("x") == nil {
		t.Fatalf("flow a: %+v", a)
	}
	if b := p.Flow("b"); b == nil || b.Node == nil || b.Steps != nil {
		t.Fatalf("flow b (refused by the schema): %+v", b)
	}
	if p.Flow("c") != nil {
		t.Fatal("flow c does not parse")
	}
	if _, err := ProjectWith(dir, Options{}); err == nil || err.Error() != ds.Error() {
		t.Fatalf("ProjectWith says\n%v\nInspect says\n%v", err, ds)
	}
}
