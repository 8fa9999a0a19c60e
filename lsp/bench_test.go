package lsp

import (
	"path/filepath"
	"testing"

	"github.com/flowrun/flowrun/load"
)

// BenchmarkReloadOkta is what one reload after an edit costs on the
// largest shipped connector (its 64 KB test suite included): the reason
// edits are debounced.
func BenchmarkReloadOkta(b *testing.B) {
	dir, err := filepath.Abs("../connectors/okta")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		load.Inspect(dir, load.Options{})
	}
}
