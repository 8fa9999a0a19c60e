package load

import (
	"github.com/flowrun/flowrun/check"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"

	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/schema"
)

// topNameRe finds a flow's name in a file that does not parse.
var topNameRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^name:[ \t]*["']?([a-z][a-z0-9_]*)["']?[ \t]*(?:#.*)?\r?$`)
})

// Project reads, checks and compiles the connector project in dir. Problems
// with the project are returned as Diagnostics, all of them, sorted.
func Project(dir string) (*lang.Project, error) {
	return ProjectWith(dir, Options{})
}

// Options tunes ProjectWith.
type Options struct {
	// ShapeCache, when set, skips the schema pass for files it recorded as
	// accepted, and records the files the schema accepts.
	ShapeCache *ShapeCache
	// Overlay, when set, holds file contents by path that are read instead
	// of the disk: an editor's unsaved buffers. Paths are as the loader
	// names them, filepath.Join(dir, "flows", "x.yaml"). A .yaml or .yml
	// file under flows/ or tests/ that is only in the overlay is loaded too.
	Overlay map[string][]byte
	// CheckOnly checks every expression but compiles none to a program
	// (check.Project without compile): for validate and the editor, which
	// never run what they load. Such a project must not be run: its first
	// expression fails ("was not compiled").
	CheckOnly bool
	// ParseCache, when set, reuses the trees of files whose bytes have not
	// changed since the last load with it (see ParseCache).
	ParseCache *ParseCache
}

// ProjectWith is Project with options.
func ProjectWith(dir string, o Options) (*lang.Project, error) {
	p, l := loadWith(dir, o)
	if len(l.d.List) > 0 {
		return nil, l.d.List.Sort()
	}
	return p, nil
}

// Inspect loads the project in dir as far as it goes and returns it with
// every problem found, sorted: the problems ProjectWith returns, and a
// project that may be partial (nil when dir cannot be read). Flows whose
// files do not parse are missing from it; flows the schema refused have
// their signature (name, type, inputs, outputs) and node tree but no steps.
// Editors use it to complete and navigate a project that has problems; a
// project with problems must not be run.
func Inspect(dir string, o Options) (*lang.Project, lang.Diagnostics) {
	p, l := loadWith(dir, o)
	return p, l.d.List.Sort()
}

// loadWith loads the project in dir with o, and keeps in o.ParseCache only
// the files this load read.
func loadWith(dir string, o Options) (*lang.Project, *loader) {
	l := &loader{dir: dir, shapes: o.ShapeCache, overlay: o.Overlay, checkOnly: o.CheckOnly, parsed: o.ParseCache, read: map[string]bool{}}
	p := l.load()
	l.parsed.keep(l.read)
	return p, l
}

type loader struct {
	dir    string
	shapes *ShapeCache
	// checkOnly: Options.CheckOnly
	checkOnly bool
	parsed    *ParseCache           // Options.ParseCache
	read      map[string]bool       // the files read, for parsed.keep
	pre       map[string]prefetched // flow files read and parsed ahead (prefetch.go)
	d         lang.Diags
	proj      *lang.Project
	flows     []*flowSrc

	fileInvalid bool // set by parseFile: the schema found problems in the last file
	// bad holds the nodes the schema found problems at; a step holding one
	// is decoded but not checked further (error recovery: the rest of the
	// file is still checked, and nothing is reported twice; see schemaBroken)
	bad map[*lang.Node]bool
	// valueD, when set, receives the diagnostics of values while a file
	// whose shape is wrong is decoded (see flowBody)
	valueD   *lang.Diags
	lastData []byte // set by parseFile: the last file's bytes, when it could read them

	// broken holds the names of flows whose files did not parse: calls and
	// tests that name them are not reported as unknown on top of the
	// file's own error.
	broken map[string]bool

	overlay map[string][]byte // Options.Overlay
}

type flowSrc struct {
	file    string
	node    *lang.Node
	flow    *lang.Flow
	invalid bool // the schema found problems: skip the deeper checks
}

func (l *loader) load() *lang.Project {
	p := &lang.Project{Dir: l.dir, Flows: map[string]*lang.Flow{}}
	l.proj = p
	st, err := os.Stat(l.dir)
	if err != nil {
		l.d.Add(lang.Pos{File: l.dir}, "give the path of a connector project directory", "cannot read project: %s", errText(err))
		return nil
	}
	if !st.IsDir() {
		l.d.Add(lang.Pos{File: l.dir}, "give the directory that holds connector.yaml", "not a directory")
		return nil
	}
	cfile := filepath.Join(l.dir, "connector.yaml")
	cnode := l.parseFile(cfile, "connector", true)
	var files, tests []string
	for _, sub := range []string{"flows", "tests"} {
		root := filepath.Join(l.dir, sub)
		if _, err := os.Stat(root); err != nil {
			continue
		}
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				l.d.Add(lang.Pos{File: path}, "", "cannot read: %s", errText(err))
				return nil
			}
			ext := filepath.Ext(path)
			if ext != ".yaml" && ext != ".yml" {
				return nil
			}
			if d.IsDir() {
				l.d.Add(lang.Pos{File: path}, "rename it, or move the flows inside it up", "is a directory, not a YAML file")
				return filepath.SkipDir
			}
			if sub == "flows" {
				files = append(files, path)
			} else {
				tests = append(tests, path)
			}
			return nil
		})
		if err != nil {
			l.d.Add(lang.Pos{File: root}, "", "cannot read: %s", errText(err))
		}
	}
	files, tests = l.overlayFiles(files, tests)
	sort.Strings(files)
	sort.Strings(tests)
	l.prefetch(files, "flow")
	if cnode != nil {
		p.Connector = l.connector(cfile, cnode)
	}
	if len(files) == 0 && cnode != nil {
		l.d.Add(lang.Pos{File: cfile, Line: 1, Col: 1}, "add flows as flows/<name>.yaml", "project has no flows")
	}
	for _, f := range files {
		n := l.parseFile(f, "flow", false)
		if n == nil {
			if m := topNameRe().FindSubmatch(l.lastData); m != nil {
				if l.broken == nil {
					l.broken = map[string]bool{}
				}
				l.broken[string(m[1])] = true
			}
			continue
		}
		fs := &flowSrc{file: f, node: n, invalid: l.fileInvalid}
		fs.flow = l.flowSignature(fs)
		if fs.flow == nil {
			continue
		}
		if prev, dup := p.Flows[fs.flow.Name]; dup {
			l.d.Add(n.Get("name").Pos, "flow names are unique in a project", "flow %q is already defined at %s", fs.flow.Name, prev.Pos)
			continue
		}
		p.Flows[fs.flow.Name] = fs.flow
		l.flows = append(l.flows, fs)
	}
	l.systemFlowCounts()
	for name := range p.Flows {
		p.Order = append(p.Order, name)
	}
	sort.Strings(p.Order)
	var checked []*lang.Flow
	for _, fs := range l.flows {
		if p.Connector != nil {
			l.fileInvalid = fs.invalid
			l.flowBody(fs)
			checked = append(checked, fs.flow)
		}
	}
	if p.Connector != nil {
		check.Project(p, checked, l.broken, &l.d, !l.checkOnly)
	}
	for _, f := range tests {
		n := l.parseFile(f, "test", false)
		if n == nil {
			continue
		}
		if !l.fileInvalid {
			l.checkTests(f, n)
		}
		p.Tests = append(p.Tests, &lang.TestFile{File: f, Node: n})
	}
	return p
}

// overlayFiles adds the overlay's files under flows/ and tests/ that are
// not on disk.
func (l *loader) overlayFiles(files, tests []string) ([]string, []string) {
	if len(l.overlay) == 0 {
		return files, tests
	}
	seen := map[string]bool{}
	for _, f := range append(files[:len(files):len(files)], tests...) {
		seen[f] = true
	}
	for path := range l.overlay {
		ext := filepath.Ext(path)
		if seen[path] || ext != ".yaml" && ext != ".yml" {
			continue
		}
		switch {
		case strings.HasPrefix(path, filepath.Join(l.dir, "flows")+string(filepath.Separator)):
			files = append(files, path)
		case strings.HasPrefix(path, filepath.Join(l.dir, "tests")+string(filepath.Separator)):
			tests = append(tests, path)
		}
	}
	return files, tests
}

func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// parseFile reads and parses one file and validates it against its schema.
// It sets l.fileInvalid when the schema found problems.
func (l *loader) parseFile(path, kind string, required bool) *lang.Node {
	l.fileInvalid = true
	l.lastData = nil
	st, err := l.stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			if required {
				l.d.Add(lang.Pos{File: l.dir}, "a project needs connector.yaml at its top; run `flowrun schema connector` for its shape", "no connector.yaml in project")
			}
			return nil
		}
		l.d.Add(lang.Pos{File: path}, "", "cannot read: %s", errText(err))
		return nil
	}
	if st.IsDir() {
		l.d.Add(lang.Pos{File: path}, "", "is a directory, not a YAML file")
		return nil
	}
	if st.Size() > MaxFileBytes {
		l.d.Add(lang.Pos{File: path, Line: 1, Col: 1}, "split it into several files", "file is %s, over the %s limit for a project file", value.Bytes(int(st.Size())), value.Bytes(MaxFileBytes))
		return nil
	}
	pf, pre := l.pre[path] // prefetch.go
	data := pf.data
	if !pre {
		data, err = l.readFile(path)
		if err != nil {
			l.d.Add(lang.Pos{File: path}, "", "cannot read: %s", errText(err))
			return nil
		}
	}
	l.lastData = data
	l.read[path] = true
	if f := l.parsed.get(path, kind, data); f != nil {
		for _, e := range f.errs {
			l.schemaError(f.node, e)
		}
		l.fileInvalid = len(f.errs) > 0
		return f.node
	}
	n := pf.node
	if n == nil {
		if n, err = ParseYAML(path, data); err != nil {
			var ds lang.Diagnostics
			if errors.As(err, &ds) {
				l.d.List = append(l.d.List, ds...)
			} else {
				l.d.Add(lang.Pos{File: path, Line: 1, Col: 1}, "", "%v", err)
			}
			return nil
		}
	}
	if n.Kind != lang.MapNode {
		l.d.Add(n.Pos, "a project file is a mapping that starts with `flowrun: 1`", "expected a mapping of keys, got %s", n.Kind)
		return nil
	}
	var errs []schema.Error
	if !l.shapes.known(kind, data) {
		errs = schema.ValidateNode(kind, n)
		if len(errs) == 0 {
			l.shapes.add(kind, data)
		}
	}
	for _, e := range errs {
		l.schemaError(n, e)
	}
	l.fileInvalid = len(errs) > 0
	l.parsed.put(path, &parsedFile{kind: kind, data: data, node: n, errs: errs})
	return n
}

// stat is os.Stat that sees the overlay's files.
func (l *loader) stat(path string) (fs.FileInfo, error) {
	if data, ok := l.overlay[path]; ok {
		return overlayInfo{name: filepath.Base(path), size: int64(len(data))}, nil
	}
	return os.Stat(path)
}

// readFile is os.ReadFile that reads the overlay's files from it.
func (l *loader) readFile(path string) ([]byte, error) {
	if data, ok := l.overlay[path]; ok {
		return data, nil
	}
	return os.ReadFile(path)
}

// overlayInfo describes a file of the overlay.
type overlayInfo struct {
	name string
	size int64
}

func (i overlayInfo) Name() string       { return i.name }
func (i overlayInfo) Size() int64        { return i.size }
func (i overlayInfo) Mode() fs.FileMode  { return 0o644 }
func (i overlayInfo) ModTime() time.Time { return time.Time{} }
func (i overlayInfo) IsDir() bool        { return false }
func (i overlayInfo) Sys() any           { return nil }

// schemaError maps a schema error's instance location back to its YAML node.
func (l *loader) schemaError(root *lang.Node, e schema.Error) {
	n := root
	for _, seg := range e.Path {
		var next *lang.Node
		switch n.Kind {
		case lang.MapNode:
			next = n.Get(seg)
		case lang.ListNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Items) {
				next = n.Items[i]
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	if l.bad == nil {
		l.bad = map[*lang.Node]bool{}
	}
	l.bad[n] = true // the parts around it are still checked (see schemaBroken)
	pos := n.Pos
	if e.Key != "" {
		if k := n.KeyNode(e.Key); k != nil {
			pos = k.Pos
		}
	}
	hint := ""
	if len(e.Allowed) > 0 {
		name := e.Key
		if name == "" && n.Kind == lang.StringNode {
			name = n.Str
		}
		hint = value.Suggest(name, e.Allowed)
		if hint == "" && len(e.Allowed) <= 12 {
			hint = "one of: " + strings.Join(e.Allowed, ", ")
		}
	}
	if hint == "" {
		hint = check.SchemaHint(n, e.Message)
	}
	l.d.List = append(l.d.List, lang.Diagnostic{Pos: pos, Message: e.Message, Hint: hint})
}

func (l *loader) systemFlowCounts() {
	seen := map[lang.FlowType]*lang.Flow{}
	for _, fs := range l.flows {
		t := fs.flow.Type
		if t != lang.AuthPing && t != lang.Revoke {
			continue
		}
		if prev, ok := seen[t]; ok {
			l.d.Add(fs.node.Get("type").Pos, "a project has at most one "+string(t)+" flow", "a second %s flow: %q is already the %s flow (%s)", t, prev.Name, t, prev.Pos)
			continue
		}
		seen[t] = fs.flow
	}
}

// checkTests checks what the schema cannot in a test file: that the flows
// named exist and that the inputs given are declared.
func (l *loader) checkTests(file string, n *lang.Node) {
	cases := n.Get("tests")
	if cases == nil || cases.Kind != lang.ListNode {
		return
	}
	names := map[string]lang.Pos{}
	for _, c := range cases.Items {
		if nm := c.Get("name"); nm != nil && nm.Kind == lang.StringNode {
			if prev, dup := names[nm.Str]; dup {
				l.d.Add(nm.Pos, "test names are unique in a file", "test %q is already defined at %s", nm.Str, prev)
			}
			names[nm.Str] = nm.Pos
		}
		fn := c.Get("flow")
		if fn == nil || fn.Kind != lang.StringNode {
			continue
		}
		f := l.proj.Flows[fn.Str]
		if f == nil && l.broken[fn.Str] {
			continue // its file's own error is reported
		}
		if f == nil {
			l.d.Add(fn.Pos, value.Suggest(fn.Str, l.proj.Order), "test names unknown flow %q", fn.Str)
			continue
		}
		if in := c.Get("inputs"); in != nil && in.Kind == lang.MapNode {
			for _, k := range in.Keys {
				if f.Input(k.Str) == nil {
					l.d.Add(k.Pos, value.Suggest(k.Str, lang.FieldNames(f.Inputs)), "flow %q has no input %q", f.Name, k.Str)
				}
			}
		}
	}
}

// schemaBroken reports whether the schema found a problem at n or inside it.
func (l *loader) schemaBroken(n *lang.Node) bool {
	if len(l.bad) == 0 || n == nil {
		return false
	}
	if l.bad[n] {
		return true
	}
	for _, v := range n.Vals {
		if l.schemaBroken(v) {
			return true
		}
	}
	for _, it := range n.Items {
		if l.schemaBroken(it) {
			return true
		}
	}
	return false
}
