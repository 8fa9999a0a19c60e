package schema

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/flowrun/flowrun/schema/internal/gen"
)

var update = flag.Bool("update", false, "rewrite the schema JSON files from schema/internal/gen")

// TestSchemaFilesUpToDate checks that the embedded JSON files are what
// schema/internal/gen builds; -update rewrites them.
func TestSchemaFilesUpToDate(t *testing.T) {
	docs, err := gen.Documents()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range Kinds() {
		name := gen.Files[k]
		want := docs[name]
		if *update {
			if err := os.WriteFile(name, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, ok := JSON(k)
		if !ok {
			t.Fatalf("JSON(%q) missing", k)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date: run `go test ./schema -run TestSchemaFilesUpToDate -update`", name)
		}
	}
}
