package lsp

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
)

var (
	validateCmd = regexp.MustCompile(`^! exec flowrun validate((?: [^-\s]\S*)+)$`)
	wantLine    = regexp.MustCompile(`^(.*?):(\d+):(\d+): error: (.*)$`)
	wantNoLine  = regexp.MustCompile(`^(.*?): error: (.*)$`)
)

// TestDiagnosticsMatchValidate opens every golden invalid project of
// testdata/script (those whose one command is `flowrun validate`) in the
// server, one file per project, and checks that the diagnostics published
// for the whole project are the lines validate prints: same files, lines,
// columns and messages.
func TestDiagnosticsMatchValidate(t *testing.T) {
	files, err := filepath.Glob("../testdata/script/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	ran := 0
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var args []string
		var mkdirs []string
		usable := true
		for _, l := range strings.Split(string(ar.Comment), "\n") {
			l = strings.TrimSpace(l)
			switch {
			case l == "" || strings.HasPrefix(l, "#") || strings.HasPrefix(l, "exitcode") || strings.HasPrefix(l, "cmp std"):
			case strings.HasPrefix(l, "mkdir "):
				mkdirs = append(mkdirs, strings.Fields(l)[1:]...)
			case validateCmd.MatchString(l) && args == nil:
				args = strings.Fields(validateCmd.FindStringSubmatch(l)[1])
			default:
				usable = false
			}
		}
		if !usable || args == nil {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			var want string
			for _, f := range ar.Files {
				if f.Name == "want" {
					want = string(f.Data)
				}
				if f.Name == "want" || f.Name == "want_err" {
					continue
				}
				p := filepath.Join(dir, f.Name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, f.Data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			for _, m := range mkdirs {
				if err := os.MkdirAll(filepath.Join(dir, m), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			c := newClient(t)
			opened := map[string]string{} // project dir -> the file opened in it
			for _, a := range args {
				proj := filepath.Join(dir, a)
				if filepath.Base(a) == "connector.yaml" {
					proj = filepath.Dir(proj)
				}
				doc := firstFile(proj)
				if doc == "" {
					t.Skipf("project %s has no file to open", a)
				}
				b, _ := os.ReadFile(doc)
				c.open(doc, string(b))
				opened[proj] = doc
			}
			var wantLines []string
			for _, l := range strings.Split(strings.TrimSpace(want), "\n") {
				if l == "" {
					continue
				}
				if m := wantLine.FindStringSubmatch(l); m != nil {
					wantLines = append(wantLines, l)
					continue
				}
				m := wantNoLine.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("unexpected want line %q", l)
				}
				// a problem with no line: shown at the top of the open file
				// of its project, the path in the message unless it is
				// the project itself
				abs := filepath.Join(dir, m[1])
				for proj, doc := range opened {
					if abs != proj && !strings.HasPrefix(abs, proj+string(filepath.Separator)) {
						continue
					}
					msg := m[2]
					if abs != proj {
						msg = relTo(proj, abs) + ": " + msg
					}
					wantLines = append(wantLines, relTo(dir, doc)+":1:1: error: "+msg)
				}
			}
			var got []string
			for uri, ds := range c.diags {
				path := pathOf(uri)
				b, _ := os.ReadFile(path)
				lines := splitLines(string(b))
				for _, d := range ds {
					col := utf16ToRunes(lineAt(lines, d.Range.Start.Line), d.Range.Start.Character)
					got = append(got, relTo(dir, path)+":"+strconv.Itoa(d.Range.Start.Line+1)+":"+strconv.Itoa(col+1)+": error: "+d.Message)
					if d.Severity != 1 || d.Source != "flowrun" {
						t.Errorf("diagnostic %+v: want severity 1 (error), source flowrun", d)
					}
				}
			}
			sort.Strings(got)
			sort.Strings(wantLines)
			if !slices.Equal(got, wantLines) {
				t.Errorf("diagnostics:\n%s\nvalidate:\n%s", strings.Join(got, "\n"), strings.Join(wantLines, "\n"))
			}
			c.close()
		})
		ran++
	}
	if ran < 50 {
		t.Fatalf("only %d scripts compared", ran)
	}
}

// firstFile is the file an editor would open first in a project:
// connector.yaml, else the first flow file.
func firstFile(proj string) string {
	if st, err := os.Stat(filepath.Join(proj, "connector.yaml")); err == nil && !st.IsDir() {
		return filepath.Join(proj, "connector.yaml")
	}
	var first string
	_ = filepath.WalkDir(filepath.Join(proj, "flows"), func(p string, d os.DirEntry, err error) error {
		if err == nil && first == "" && !d.IsDir() {
			first = p
		}
		return nil
	})
	return first
}
