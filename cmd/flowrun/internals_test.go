package main

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

// goInternals are pieces of Go's own messages that no user-facing output may
// show (SPEC §8.6): type assertions, runtime panics, stack dumps, reflection.
var goInternals = []string{"interface {}", "runtime error", "goroutine", "reflect:"}

func findGoInternals(t *testing.T, where, out string) {
	t.Helper()
	for _, bad := range goInternals {
		if i := strings.Index(out, bad); i >= 0 {
			line := out[strings.LastIndexByte(out[:i], '\n')+1:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			t.Errorf("%s shows Go internals (%q): %s", where, bad, line)
		}
	}
}

// TestNoGoInternals checks the expected outputs of every golden script (the
// want* sections, which TestScripts holds the command's output to) and the
// verbose output of each shipped connector's test suite.
func TestNoGoInternals(t *testing.T) {
	scripts, err := filepath.Glob("../../testdata/script/*.txtar")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no golden scripts found: %v", err)
	}
	for _, s := range scripts {
		a, err := txtar.ParseFile(s)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range a.Files {
			if strings.HasPrefix(f.Name, "want") {
				findGoInternals(t, filepath.Base(s)+": "+f.Name, string(f.Data))
			}
		}
	}
	dirs, err := filepath.Glob("../../connectors/*/connector.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no connectors found: %v", err)
	}
	for _, c := range dirs {
		dir := filepath.Dir(c)
		var out, errb bytes.Buffer
		Main([]string{"test", "--verbose", dir}, nil, &out, &errb)
		findGoInternals(t, "flowrun test "+filepath.Base(dir), out.String()+errb.String())
	}
}

// TestConsoleProjectsPerConnection: under serve --connections the console
// gets one project per host (h and its peers), keyed by connection, with
// that host's own connection object and limits.
func TestConsoleProjectsPerConnection(t *testing.T) {
	p := &lang.Project{Connector: &lang.Connector{Name: "acme"}}
	mk := func(name string, mem int64) *trigger.Host {
		r := &run.Runner{Project: p, Connection: &connection.Connection{Params: map[string]any{}}}
		r.Limits.MaxMemory = mem
		return &trigger.Host{Runner: r, Named: name, ConnectionName: name}
	}
	h, peer := mk("eu", 1<<20), mk("us", 2<<20)
	h.Peers = []*trigger.Host{peer}
	ps := consoleProjects(h, "connectors/acme")
	if len(ps) != 2 {
		t.Fatalf("%d projects, want 2", len(ps))
	}
	for i, x := range []*trigger.Host{h, peer} {
		if ps[i].Name != "acme@"+x.Named || ps[i].ConnectionName != x.Named || ps[i].Connection != x.Runner.Connection || ps[i].Limits.MaxMemory != x.Runner.Limits.MaxMemory {
			t.Errorf("project %d: %+v", i, ps[i])
		}
	}
	if one := consoleProjects(mk("", 0), "connectors/acme"); len(one) != 1 || one[0].Name != "acme" || one[0].Dir != "connectors/acme" {
		t.Errorf("one --connection FILE host: %+v", one[0])
	}
}

// Each registered command's name is the name of the command it builds, so
// that newRoot, which builds only the command named by the first argument,
// finds every one of them; and the whole tree has each name once.
func TestCommandNames(t *testing.T) {
	e := &env{stdout: io.Discard, stderr: io.Discard, ctx: context.Background()}
	root := newRoot(e, "")
	seen := map[string]bool{}
	for _, c := range root.Commands() {
		seen[c.Name()] = true
		one := newRoot(e, c.Name())
		if got := one.Commands(); len(got) != 1 || got[0].Name() != c.Name() {
			t.Errorf("newRoot(%q) built %d command(s), want just %q", c.Name(), len(got), c.Name())
		}
	}
	if len(seen) != len(root.Commands()) {
		t.Errorf("%d commands, %d names: a name is used twice", len(root.Commands()), len(seen))
	}
	if got := len(newRoot(e, "help").Commands()); got != len(root.Commands()) {
		t.Errorf("newRoot(help) built %d commands, want all %d", got, len(root.Commands()))
	}
}
