package lsp

import (
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	protocol "github.com/tliron/glsp/protocol_3_16"
)

// fileKind is what a project file is: "connector", "flow" or "test"
// (the schema kinds), or "" for a file that is not part of a project.
func fileKind(root, path string) string {
	rel, err := filepath.Rel(root, path)
	if err != nil {
		return ""
	}
	rel = filepath.ToSlash(rel)
	ext := filepath.Ext(rel)
	switch {
	case rel == "connector.yaml":
		return "connector"
	case ext != ".yaml" && ext != ".yml":
		return ""
	case strings.HasPrefix(rel, "flows/"):
		return "flow"
	case strings.HasPrefix(rel, "tests/"):
		return "test"
	}
	return ""
}

// findRoot finds the project a file belongs to: the nearest directory
// above it holding connector.yaml (on disk or open in the editor), or the
// parent of the flows/ or tests/ directory it is in. It returns "" for a
// file that is not connector.yaml, nor under flows/ or tests/.
func (s *Server) findRoot(path string) string {
	if filepath.Base(path) == "connector.yaml" {
		return filepath.Dir(path)
	}
	fallback := ""
	for d := filepath.Dir(path); ; {
		if s.exists(filepath.Join(d, "connector.yaml")) && fileKind(d, path) != "" {
			return d
		}
		if b := filepath.Base(d); fallback == "" && (b == "flows" || b == "tests") {
			fallback = filepath.Dir(d)
		}
		up := filepath.Dir(d)
		if up == d {
			break
		}
		d = up
	}
	return fallback
}

func (s *Server) exists(path string) bool {
	if _, ok := s.docs[path]; ok {
		return true
	}
	_, err := os.Stat(path)
	return err == nil
}

// project is one loaded project: the result of the last load, with the
// texts it was loaded from.
type project struct {
	root  string
	proj  *lang.Project // may be partial; nil when the root cannot be read
	diags lang.Diagnostics
	texts map[string][]string // lines of the files the diagnostics name
	// published lists the files whose diagnostics were last sent non-empty,
	// so that a file whose problems are gone is cleared.
	published map[string]bool
	// parsed keeps the trees of files that did not change since the last
	// load: an edit parses only the edited file again.
	parsed *load.ParseCache
}

// load (re)loads the project at root with the open documents overlaying
// the disk.
func (s *Server) load(root string) *project {
	over := map[string][]byte{}
	for path, d := range s.docs {
		if fileKind(root, path) != "" {
			over[path] = []byte(d.text)
		}
	}
	p := s.projects[root]
	if p == nil {
		p = &project{root: root, published: map[string]bool{}, parsed: load.NewParseCache()}
		s.projects[root] = p
	}
	p.proj, p.diags = load.Inspect(root, load.Options{Overlay: over, CheckOnly: true, ParseCache: p.parsed}) // the editor runs nothing
	p.texts = map[string][]string{}
	return p
}

// lines returns a file's lines: the open document's, else the disk's.
func (s *Server) lines(p *project, path string) []string {
	if d, ok := s.docs[path]; ok {
		return d.lines
	}
	if p != nil {
		if ls, ok := p.texts[path]; ok {
			return ls
		}
	}
	var ls []string
	if st, err := os.Stat(path); err == nil && !st.IsDir() && st.Size() <= load.MaxFileBytes {
		if b, err := os.ReadFile(path); err == nil {
			ls = splitLines(string(b))
		}
	}
	if p != nil {
		p.texts[path] = ls
	}
	return ls
}

// diagnostics converts the project's problems to LSP diagnostics by file.
// A problem that names no file of the project (a missing connector.yaml,
// a directory where a flow file should be) is shown at the top of every
// open document of the project.
func (s *Server) diagnostics(p *project) map[string][]protocol.Diagnostic {
	out := map[string][]protocol.Diagnostic{}
	sev := protocol.DiagnosticSeverityError
	src := "flowrun"
	for _, d := range p.diags {
		// positions of other files in messages are relative to the
		// project, as validate run in it says them
		msg := strings.ReplaceAll(d.Message, p.root+string(filepath.Separator), "")
		if d.Hint != "" {
			msg += " (hint: " + d.Hint + ")"
		}
		file := filepath.Clean(d.Pos.File)
		if !filepath.IsAbs(file) {
			file = filepath.Join(p.root, file)
		}
		targets := []string{file}
		if fileKind(p.root, file) == "" || isDir(file) {
			targets = nil
			if file != p.root {
				msg = relTo(p.root, file) + ": " + msg
			}
			for path := range s.docs {
				if fileKind(p.root, path) != "" {
					targets = append(targets, path)
				}
			}
		}
		for _, t := range targets {
			pos := d.Pos
			if t != file {
				pos = lang.Pos{}
			}
			out[t] = append(out[t], protocol.Diagnostic{
				Range:    wordRange(s.lines(p, t), pos),
				Severity: &sev,
				Source:   &src,
				Message:  msg,
			})
		}
	}
	return out
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

func relTo(root, path string) string {
	if r, err := filepath.Rel(root, path); err == nil && !strings.HasPrefix(r, "..") {
		return filepath.ToSlash(r)
	}
	return path
}

// publish sends the project's diagnostics: every file with problems, and
// an empty list for every file whose problems are gone.
func (s *Server) publish(p *project, notify func(method string, params any)) {
	byFile := s.diagnostics(p)
	files := make([]string, 0, len(byFile)+len(p.published))
	for f := range byFile {
		files = append(files, f)
	}
	for f := range p.published {
		if _, ok := byFile[f]; !ok {
			files = append(files, f)
		}
	}
	sort.Strings(files)
	next := map[string]bool{}
	for _, f := range files {
		ds := byFile[f]
		if ds == nil {
			ds = []protocol.Diagnostic{}
		} else {
			next[f] = true
		}
		params := protocol.PublishDiagnosticsParams{URI: s.uri(f), Diagnostics: ds}
		if d, ok := s.docs[f]; ok {
			v := uint32(d.version)
			params.Version = &v
		}
		notify(protocol.ServerTextDocumentPublishDiagnostics, params)
	}
	p.published = next
}

// uri is the URI of a path: the one the editor opened it with, if open.
func (s *Server) uri(path string) string {
	if d, ok := s.docs[path]; ok {
		return d.uri
	}
	return uriOf(path)
}
