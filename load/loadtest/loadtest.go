// Package loadtest writes small projects for tests of the packages that load
// and run them.
package loadtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Write writes files (path -> content, slash-separated, relative to dir)
// into dir.
func Write(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
