package interpreter

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/flowrun/flowrun/schema"
)

var identRe = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
var nameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)

// topNameRe finds a flow's name in a file that does not parse.
var topNameRe = regexp.MustCompile(`(?m)^name:[ \t]*["']?([a-z][a-z0-9_]*)["']?[ \t]*(?:#.*)?\r?$`)

// Load reads, validates and compiles the connector project in dir. Problems
// with the project are returned as Diagnostics, all of them, sorted.
func Load(dir string) (*Project, error) {
	return LoadWith(dir, LoadOptions{})
}

// LoadOptions tunes LoadWith.
type LoadOptions struct {
	// ShapeCache, when set, skips the schema pass for files it recorded as
	// accepted, and records the files the schema accepts.
	ShapeCache *ShapeCache
}

// LoadWith is Load with options.
func LoadWith(dir string, o LoadOptions) (*Project, error) {
	l := &loader{dir: dir, shapes: o.ShapeCache}
	p := l.load()
	if len(l.d.list) > 0 {
		return nil, l.d.list.Sort()
	}
	return p, nil
}

type loader struct {
	dir    string
	shapes *ShapeCache
	d      diags
	proj   *Project
	flows  []*flowSrc

	fileInvalid bool   // set by parseFile: the schema found problems in the last file
	lastData    []byte // set by parseFile: the last file's bytes, when it could read them

	// broken holds the names of flows whose files did not parse: calls and
	// tests that name them are not reported as unknown on top of the
	// file's own error.
	broken map[string]bool
}

type flowSrc struct {
	file    string
	node    *Node
	flow    *Flow
	invalid bool // the schema found problems: skip the deeper checks
}

func (l *loader) load() *Project {
	p := &Project{Dir: l.dir, Flows: map[string]*Flow{}}
	l.proj = p
	st, err := os.Stat(l.dir)
	if err != nil {
		l.d.add(Pos{File: l.dir}, "give the path of a connector project directory", "cannot read project: %s", errText(err))
		return nil
	}
	if !st.IsDir() {
		l.d.add(Pos{File: l.dir}, "give the directory that holds connector.yaml", "not a directory")
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
				l.d.add(Pos{File: path}, "", "cannot read: %s", errText(err))
				return nil
			}
			ext := filepath.Ext(path)
			if ext != ".yaml" && ext != ".yml" {
				return nil
			}
			if d.IsDir() {
				l.d.add(Pos{File: path}, "rename it, or move the flows inside it up", "is a directory, not a YAML file")
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
			l.d.add(Pos{File: root}, "", "cannot read: %s", errText(err))
		}
	}
	sort.Strings(files)
	sort.Strings(tests)
	if cnode != nil {
		p.Connector = l.connector(cfile, cnode)
	}
	if len(files) == 0 && cnode != nil {
		l.d.add(Pos{File: cfile, Line: 1, Col: 1}, "add flows as flows/<name>.yaml", "project has no flows")
	}
	for _, f := range files {
		n := l.parseFile(f, "flow", false)
		if n == nil {
			if m := topNameRe.FindSubmatch(l.lastData); m != nil {
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
			l.d.add(n.Get("name").Pos, "flow names are unique in a project", "flow %q is already defined at %s", fs.flow.Name, prev.Pos)
			continue
		}
		p.Flows[fs.flow.Name] = fs.flow
		l.flows = append(l.flows, fs)
	}
	l.systemFlowCounts()
	for _, fs := range l.flows {
		if !fs.invalid && p.Connector != nil {
			l.flowBody(fs)
		}
	}
	for name := range p.Flows {
		p.Order = append(p.Order, name)
	}
	sort.Strings(p.Order)
	for _, f := range tests {
		n := l.parseFile(f, "test", false)
		if n == nil {
			continue
		}
		if !l.fileInvalid {
			l.checkTests(f, n)
		}
		p.Tests = append(p.Tests, &TestFile{File: f, Node: n})
	}
	return p
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
func (l *loader) parseFile(path, kind string, required bool) *Node {
	l.fileInvalid = true
	l.lastData = nil
	st, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			if required {
				l.d.add(Pos{File: l.dir}, "a project needs connector.yaml at its top; run `flowrun schema connector` for its shape", "no connector.yaml in project")
			}
			return nil
		}
		l.d.add(Pos{File: path}, "", "cannot read: %s", errText(err))
		return nil
	}
	if st.IsDir() {
		l.d.add(Pos{File: path}, "", "is a directory, not a YAML file")
		return nil
	}
	if st.Size() > MaxFileBytes {
		l.d.add(Pos{File: path, Line: 1, Col: 1}, "split it into several files", "file is %s, over the %s limit for a project file", humanBytes(int(st.Size())), humanBytes(MaxFileBytes))
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		l.d.add(Pos{File: path}, "", "cannot read: %s", errText(err))
		return nil
	}
	l.lastData = data
	n, err := ParseYAML(path, data)
	if err != nil {
		var ds Diagnostics
		if errors.As(err, &ds) {
			l.d.list = append(l.d.list, ds...)
		} else {
			l.d.add(Pos{File: path, Line: 1, Col: 1}, "", "%v", err)
		}
		return nil
	}
	if n.Kind != MapNode {
		l.d.add(n.Pos, "a project file is a mapping that starts with `flowrun: 1`", "expected a mapping of keys, got %s", n.Kind)
		return nil
	}
	if l.shapes.known(kind, data) {
		l.fileInvalid = false
		return n
	}
	errs := schema.Validate(kind, n.Value())
	for _, e := range errs {
		l.schemaError(n, e)
	}
	l.fileInvalid = len(errs) > 0
	if !l.fileInvalid {
		l.shapes.add(kind, data)
	}
	return n
}

// schemaError maps a schema error's instance location back to its YAML node.
func (l *loader) schemaError(root *Node, e schema.Error) {
	n := root
	for _, seg := range e.Path {
		var next *Node
		switch n.Kind {
		case MapNode:
			next = n.Get(seg)
		case ListNode:
			if i, err := strconv.Atoi(seg); err == nil && i >= 0 && i < len(n.Items) {
				next = n.Items[i]
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	pos := n.Pos
	if e.Key != "" {
		if k := n.KeyNode(e.Key); k != nil {
			pos = k.Pos
		}
	}
	hint := ""
	if len(e.Allowed) > 0 {
		name := e.Key
		if name == "" && n.Kind == StringNode {
			name = n.Str
		}
		hint = suggest(name, e.Allowed)
		if hint == "" && len(e.Allowed) <= 12 {
			hint = "one of: " + strings.Join(e.Allowed, ", ")
		}
	}
	l.d.list = append(l.d.list, Diagnostic{Pos: pos, Message: e.Message, Hint: hint})
}

func (l *loader) str(n *Node, key string) string {
	if v := n.Get(key); v != nil && v.Kind == StringNode {
		return v.Str
	}
	return ""
}

func (l *loader) duration(n *Node, what string) time.Duration {
	if n == nil {
		return 0
	}
	if n.Kind != StringNode {
		l.d.add(n.Pos, "write a duration such as 500ms, 30s, 5m or 1h", "%s must be a duration, got %s", what, n.Kind)
		return 0
	}
	d, err := time.ParseDuration(n.Str)
	if err != nil || d < 0 {
		l.d.add(n.Pos, "write a duration such as 500ms, 30s, 5m or 1h", "%s: %q is not a duration", what, n.Str)
		return 0
	}
	return d
}

// fields decodes a mapping of field declarations.
func (l *loader) fields(n *Node, what string) []*Field {
	if n == nil || n.Kind != MapNode {
		return nil
	}
	var out []*Field
	for i, k := range n.Keys {
		if !identRe.MatchString(k.Str) && !l.fileInvalid { // else the schema said so
			l.d.add(k.Pos, "use letters, digits and _ and start with a letter", "%s name %q is not an identifier", what, k.Str)
		}
		f := l.field(k.Str, n.Vals[i], what)
		f.Pos = k.Pos
		out = append(out, f)
	}
	return out
}

func (l *loader) field(name string, n *Node, what string) *Field {
	f := &Field{Name: name, Type: "any", Pos: n.Pos}
	switch n.Kind {
	case StringNode:
		f.Type = n.Str
		return f
	case NullNode:
		return f
	case MapNode:
	default:
		return f
	}
	if t := l.str(n, "type"); t != "" {
		f.Type = t
	}
	if r := n.Get("required"); r != nil && r.Kind == BoolNode {
		f.Required = r.Bool
	}
	if s := n.Get("secret"); s != nil && s.Kind == BoolNode {
		f.Secret = s.Bool
	}
	f.Title, f.Description = l.str(n, "title"), l.str(n, "description")
	if it := n.Get("items"); it != nil {
		f.Items = l.field("items", it, what)
	}
	if ps := n.Get("properties"); ps != nil {
		f.Properties = l.fields(ps, what+" property")
	}
	if en := n.Get("enum"); en != nil && en.Kind == ListNode {
		for _, it := range en.Items {
			v := it.Value()
			if msg := checkType(f.typeOnly(), v); msg != "" {
				l.d.add(it.Pos, "", "enum value of %s %q: %s", what, name, msg)
			}
			f.Enum = append(f.Enum, v)
		}
	}
	if d := n.Get("default"); d != nil {
		f.Default, f.HasDefault = d.Value(), true
		if msg := checkField(f, f.Default); msg != "" {
			l.d.add(d.Pos, "", "default of %s %q: %s", what, name, msg)
		}
	}
	return f
}

func (f *Field) typeOnly() *Field {
	return &Field{Name: f.Name, Type: f.Type, Items: f.Items, Properties: f.Properties}
}

// connector decodes connector.yaml.
func (l *loader) connector(file string, n *Node) *Connector {
	c := &Connector{File: file, Node: n,
		Name: l.str(n, "name"), Title: l.str(n, "title"), Version: l.str(n, "version"), Description: l.str(n, "description")}
	c.HTTP.Retry = Retry{Attempts: 1, Backoff: time.Second, MaxBackoff: 30 * time.Second}
	if l.fileInvalid {
		return c
	}
	if cn := n.Get("connection"); cn != nil {
		c.Params = l.fields(cn.Get("params"), "connection parameter")
	}
	sc := l.connectorScope(c)
	if b := n.Get("base_url"); b != nil {
		c.BaseURL = sc.value(b)
	}
	if cn := n.Get("connection"); cn != nil {
		if a := cn.Get("auth"); a != nil {
			c.Auth = sc.auth(a)
		}
	}
	if c.Auth == nil {
		c.Auth = &Auth{Type: "none"}
	}
	if h := n.Get("http"); h != nil {
		c.HTTP.Timeout = l.duration(h.Get("timeout"), "http.timeout")
		c.HTTP.Headers = sc.namedValues(h.Get("headers"))
		if r := h.Get("retry"); r != nil {
			c.HTTP.Retry = l.retry(r, c.HTTP.Retry)
		}
	}
	if c.HTTP.Timeout == 0 {
		c.HTTP.Timeout = 30 * time.Second
	}
	return c
}

func (l *loader) retry(n *Node, def Retry) Retry {
	r := def
	r.Set = true
	if a := n.Get("attempts"); a != nil && a.Kind == IntNode {
		r.Attempts = int(a.Int)
	}
	if on := n.Get("on"); on != nil && on.Kind == ListNode {
		r.On = nil
		for _, it := range on.Items {
			if it.Kind == IntNode {
				r.On = append(r.On, int(it.Int))
			}
		}
	}
	if b := n.Get("backoff"); b != nil {
		r.Backoff = l.duration(b, "retry.backoff")
	}
	if b := n.Get("max_backoff"); b != nil {
		r.MaxBackoff = l.duration(b, "retry.max_backoff")
	}
	return r
}

// flowSignature decodes what other flows and tests see of a flow: its name,
// type, inputs and outputs.
func (l *loader) flowSignature(fs *flowSrc) *Flow {
	n := fs.node
	f := &Flow{File: fs.file, Node: n, Pos: n.Pos, Name: l.str(n, "name"), Type: l.str(n, "type"),
		Title: l.str(n, "title"), Description: l.str(n, "description")}
	if f.Name == "" {
		if fs.invalid {
			return nil // the schema said why
		}
		l.d.add(n.Pos, "", "flow has no name")
		return nil
	}
	if nn := n.Get("name"); nn != nil {
		f.Pos = nn.Pos
		if !nameRe.MatchString(f.Name) && !fs.invalid {
			l.d.add(nn.Pos, "use lower-case letters, digits and _, starting with a letter", "flow name %q is not well formed", f.Name)
		}
	}
	f.Inputs = l.fields(n.Get("inputs"), "input")
	f.Outputs = l.fields(n.Get("outputs"), "output")
	return f
}

func (l *loader) systemFlowCounts() {
	seen := map[string]*Flow{}
	for _, fs := range l.flows {
		t := fs.flow.Type
		if t != "authping" && t != "revoke" {
			continue
		}
		if prev, ok := seen[t]; ok {
			l.d.add(fs.node.Get("type").Pos, "a project has at most one "+t+" flow", "a second %s flow: %q is already the %s flow (%s)", t, prev.Name, t, prev.Pos)
			continue
		}
		seen[t] = fs.flow
	}
}

// checkTests checks what the schema cannot in a test file: that the flows
// named exist and that the inputs given are declared.
func (l *loader) checkTests(file string, n *Node) {
	cases := n.Get("tests")
	if cases == nil || cases.Kind != ListNode {
		return
	}
	names := map[string]Pos{}
	for _, c := range cases.Items {
		if nm := c.Get("name"); nm != nil && nm.Kind == StringNode {
			if prev, dup := names[nm.Str]; dup {
				l.d.add(nm.Pos, "test names are unique in a file", "test %q is already defined at %s", nm.Str, prev)
			}
			names[nm.Str] = nm.Pos
		}
		fn := c.Get("flow")
		if fn == nil || fn.Kind != StringNode {
			continue
		}
		f := l.proj.Flows[fn.Str]
		if f == nil && l.broken[fn.Str] {
			continue // its file's own error is reported
		}
		if f == nil {
			l.d.add(fn.Pos, suggest(fn.Str, l.proj.Order0()), "test names unknown flow %q", fn.Str)
			continue
		}
		if in := c.Get("inputs"); in != nil && in.Kind == MapNode {
			for _, k := range in.Keys {
				if f.Input(k.Str) == nil {
					l.d.add(k.Pos, suggest(k.Str, fieldNames(f.Inputs)), "flow %q has no input %q", f.Name, k.Str)
				}
			}
		}
	}
}

// Order0 lists flow names even while a load is in progress.
func (p *Project) Order0() []string {
	if len(p.Order) > 0 {
		return p.Order
	}
	out := make([]string, 0, len(p.Flows))
	for n := range p.Flows {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func fieldNames(fs []*Field) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = f.Name
	}
	return out
}

// checkType reports, as text, how v fails to be of the field's type; "" if it fits.
func checkType(f *Field, v any) string {
	if v == nil {
		return ""
	}
	want := f.Type
	got := typeName(v)
	switch want {
	case "", "any":
		return ""
	case "string":
		if got == "string" {
			return ""
		}
	case "datetime":
		if s, ok := v.(string); ok {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return fmt.Sprintf("%q is not an RFC 3339 date-time", s)
			}
			return ""
		}
	case "number":
		if got == "number" || got == "integer" {
			return ""
		}
	case "integer":
		if got == "integer" {
			return ""
		}
		if x, ok := v.(float64); ok && x == float64(int64(x)) {
			return ""
		}
	case "boolean":
		if got == "boolean" {
			return ""
		}
	case "object":
		if m, ok := v.(map[string]any); ok {
			for _, p := range f.Properties {
				if msg := checkField(p, m[p.Name]); msg != "" {
					return "property " + strconv.Quote(p.Name) + ": " + msg
				}
			}
			return ""
		}
	case "list":
		if xs, ok := v.([]any); ok {
			if f.Items != nil {
				for i, x := range xs {
					if msg := checkType(f.Items, x); msg != "" {
						return fmt.Sprintf("item %d: %s", i, msg)
					}
				}
			}
			return ""
		}
	default:
		return ""
	}
	return fmt.Sprintf("expected %s, got %s", want, got)
}

// checkField checks a value against a field: type, enum and required.
func checkField(f *Field, v any) string {
	if v == nil {
		if f.Required && !f.HasDefault {
			return "is required"
		}
		return ""
	}
	if msg := checkType(f, v); msg != "" {
		return msg
	}
	if len(f.Enum) > 0 {
		for _, e := range f.Enum {
			if equalJSON(e, v) {
				return ""
			}
		}
		parts := make([]string, len(f.Enum))
		for i, e := range f.Enum {
			parts[i] = fmt.Sprint(e)
		}
		return fmt.Sprintf("%v is not one of %s", v, strings.Join(parts, ", "))
	}
	return ""
}

func equalJSON(a, b any) bool {
	switch x := a.(type) {
	case int64:
		return numEq(float64(x), b)
	case int:
		return numEq(float64(x), b)
	case float64:
		return numEq(x, b)
	}
	return a == b
}

func numEq(x float64, b any) bool {
	switch y := b.(type) {
	case int64:
		return x == float64(y)
	case int:
		return x == float64(y)
	case float64:
		return x == y
	}
	return false
}
