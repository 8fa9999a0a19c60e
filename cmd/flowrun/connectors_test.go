package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestShippedConnectors checks every connector project under connectors/:
// `flowrun validate` is clean and its `flowrun test` suite passes offline.
func TestShippedConnectors(t *testing.T) {
	dirs, err := filepath.Glob("../../connectors/*/connector.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no connectors found: %v", err)
	}
	for _, c := range dirs {
		dir := filepath.Dir(c)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := Main([]string{"validate", dir}, nil, &out, &errb); code != 0 {
				t.Fatalf("flowrun validate %s: exit %d\n%s%s", dir, code, out.String(), errb.String())
			}
			if _, err := os.Stat(filepath.Join(dir, "tests")); err != nil {
				t.Fatalf("connector %s has no tests/ suite", dir)
			}
			out.Reset()
			errb.Reset()
			if code := Main([]string{"test", dir}, nil, &out, &errb); code != 0 {
				t.Fatalf("flowrun test %s: exit %d\n%s%s", dir, code, out.String(), errb.String())
			}
			t.Log(lastLine(out.String()))
		})
	}
	// All of them in one call, as CI runs it: the projects load in parallel.
	args := []string{"validate"}
	for _, c := range dirs {
		args = append(args, filepath.Dir(c))
	}
	var out, errb bytes.Buffer
	if code := Main(append(args, "../../testdata/valid"), nil, &out, &errb); code != 0 {
		t.Fatalf("flowrun validate of every connector: exit %d\n%s%s", code, out.String(), errb.String())
	}
}

func lastLine(s string) string {
	s = string(bytes.TrimRight([]byte(s), "\n"))
	if i := bytes.LastIndexByte([]byte(s), '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
