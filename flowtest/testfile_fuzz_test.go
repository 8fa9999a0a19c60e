package flowtest_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/flowtest"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/rogpeppe/go-internal/txtar"
)

// FuzzTestFile loads a project whose tests/x.yaml is the fuzz input and
// runs its cases: no panic, every load diagnostic and every case failure
// has a position, and those in x.yaml are inside it. The projects are the
// golden scripts' (connector, flows and fixtures; their suites are the
// seeds) and testdata/flowtest/acme; the first argument picks one.
func FuzzTestFile(f *testing.F) {
	var dirs []string
	scripts, err := filepath.Glob("../testdata/flowtest/script/*.txtar")
	if err != nil || len(scripts) == 0 {
		f.Fatalf("no golden scripts: %v", err)
	}
	sort.Strings(scripts)
	root := f.TempDir()
	for _, s := range scripts {
		ar, err := txtar.ParseFile(s)
		if err != nil {
			f.Fatal(err)
		}
		dir := filepath.Join(root, strings.TrimSuffix(filepath.Base(s), ".txtar"))
		idx := uint8(len(dirs))
		for _, m := range ar.Files {
			isSuite := strings.HasPrefix(m.Name, "tests/") && strings.HasSuffix(m.Name, ".yaml")
			if isSuite {
				f.Add(idx, m.Data)
				continue
			}
			if m.Name != "connector.yaml" && !strings.HasPrefix(m.Name, "flows/") && !strings.HasPrefix(m.Name, "tests/") {
				continue
			}
			p := filepath.Join(dir, filepath.FromSlash(m.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				f.Fatal(err)
			}
			if err := os.WriteFile(p, m.Data, 0o644); err != nil {
				f.Fatal(err)
			}
		}
		dirs = append(dirs, dir)
	}
	// acme: its connector, flows and fixtures; its suites are seeds
	acme := filepath.Join(root, "acme")
	if err := os.CopyFS(acme, os.DirFS("../testdata/flowtest/acme")); err != nil {
		f.Fatal(err)
	}
	copied, _ := filepath.Glob(filepath.Join(acme, "tests", "*.yaml"))
	for _, c := range copied {
		os.Remove(c)
	}
	suites, _ := filepath.Glob("../testdata/flowtest/acme/tests/*.yaml")
	for _, s := range suites {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(len(dirs)), b)
	}
	dirs = append(dirs, acme)
	for _, s := range []string{
		"flowrun: 1\ntests:\n  - name: a\n    flow: nope\n",
		"flowrun: 1\ntests:\n  - {}\n  - name: [x]\n    flow: get_user\n    inputs: [1]\n    http: [{request: {}, response: {status: 999}}]\n",
		"flowrun: 1\ntests:\n  - name: n\n    flow: get_user\n    now: yesterday\n    seen: [[1]]\n    cursor: {a: 1}\n",
		"flowrun: 1\ntests:\n  - name: f\n    flow: get_user\n    inputs: {id: u1}\n    http:\n      - request: {path: /x}\n        response: {json_file: ../../x.json}\n",
		"flowrun: 1\ntests: x\n", "tests:\n- - -\n", "", "\xff\xfe",
	} {
		f.Add(uint8(len(dirs)-1), []byte(s))
	}
	lineBreak := regexp.MustCompile("\r\n|\r|\n")
	f.Fuzz(func(t *testing.T, which uint8, data []byte) {
		dir := dirs[int(which)%len(dirs)]
		path := filepath.Join(dir, "tests", "x.yaml")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		lines := len(lineBreak.Split(string(data), -1))
		inside := func(what string, pos lang.Pos) {
			t.Helper()
			if pos.File == "" || pos.Line < 1 || pos.Col < 1 {
				t.Fatalf("%s without a position: %+v", what, pos)
			}
			if pos.File == path && pos.Line > lines {
				t.Fatalf("%s outside x.yaml (%d lines): %v", what, lines, pos)
			}
		}
		p, err := load.Project(dir)
		if err != nil {
			var ds lang.Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("load error is not a list of diagnostics: %T %v", err, err)
			}
			for _, d := range ds {
				if d.Message == "" {
					t.Fatalf("diagnostic without a message: %+v", d)
				}
				inside("diagnostic "+d.Message, d.Pos)
			}
			return
		}
		rep, err := flowtest.Run(context.Background(), p, flowtest.Options{Out: io.Discard, Parallel: 1, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if rep.Passed+rep.Failed+rep.Skipped != len(rep.Cases) {
			t.Fatalf("counts %d+%d+%d for %d cases", rep.Passed, rep.Failed, rep.Skipped, len(rep.Cases))
		}
		for _, c := range rep.Cases {
			if c.File != path {
				continue
			}
			inside("case "+c.Name, c.Pos)
			if c.Status == flowtest.Failed && len(c.Failures) == 0 {
				t.Fatalf("case %q failed without a failure", c.Name)
			}
			for _, fl := range c.Failures {
				if fl.Summary == "" {
					t.Fatalf("case %q: failure without a summary: %+v", c.Name, fl)
				}
				inside("failure "+fl.Summary, fl.Pos)
			}
		}
	})
}
