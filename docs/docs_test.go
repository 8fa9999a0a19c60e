package docs

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/flowrun/flowrun/builtins"
	"github.com/flowrun/flowrun/flowtest"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/schema"
)

// loadProject loads the connector project in dir. It is the only place the
// docs tests call the loader.
func loadProject(dir string) (*lang.Project, error) {
	return load.Project(dir)
}

// ---- pages and fenced blocks -------------------------------------------

type page struct {
	name string // file name under docs/
	text string
}

func readPages(t *testing.T) []page {
	t.Helper()
	names, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	var out []page
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page{name: n, text: string(b)})
	}
	if len(out) == 0 {
		t.Fatal("no pages in docs/")
	}
	return out
}

// block is one fenced code block of a page.
type block struct {
	page  string
	line  int // of the opening fence, 1-based
	lang  string
	attrs map[string]string // key=value and bare words (value "")
	body  string
}

func (b block) String() string { return fmt.Sprintf("%s:%d", b.page, b.line) }

func (b block) has(k string) bool { _, ok := b.attrs[k]; return ok }

var fenceRe = regexp.MustCompile("^(```+|~~~+)(.*)$")

// blocks returns the fenced code blocks of a page, in order. Fences start at
// the beginning of a line.
func blocks(p page) []block {
	var out []block
	lines := strings.Split(p.text, "\n")
	for i := 0; i < len(lines); i++ {
		m := fenceRe.FindStringSubmatch(lines[i])
		if m == nil {
			continue
		}
		fence := m[1]
		b := block{page: p.name, line: i + 1}
		b.lang, b.attrs = parseInfo(m[2])
		var body []string
		for i++; i < len(lines); i++ {
			if strings.HasPrefix(lines[i], fence) && strings.TrimSpace(strings.TrimLeft(lines[i], fence[:1])) == "" {
				break
			}
			body = append(body, lines[i])
		}
		b.body = strings.Join(body, "\n") + "\n"
		out = append(out, b)
	}
	return out
}

var attrRe = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_-]*)(?:=("[^"]*"|\S+))?`)

// parseInfo splits an info string such as `yaml title="flows/x.yaml" bad`
// into its language and attributes.
func parseInfo(info string) (string, map[string]string) {
	info = strings.TrimSpace(info)
	lang, rest, _ := strings.Cut(info, " ")
	attrs := map[string]string{}
	for _, m := range attrRe.FindAllStringSubmatch(rest, -1) {
		attrs[m[1]] = strings.Trim(m[2], `"`)
	}
	return lang, attrs
}

// ---- (a) every schema key is documented --------------------------------

func schemaKeys(t *testing.T) map[string][]string {
	t.Helper()
	keys := map[string][]string{}
	// walk visits a schema node: the names under "properties" are keys of
	// the language; every subschema is visited in turn.
	var walk func(kind string, v any)
	walk = func(kind string, v any) {
		node, ok := v.(map[string]any)
		if !ok {
			return
		}
		if ps, ok := node["properties"].(map[string]any); ok {
			for k, sub := range ps {
				if !slices.Contains(keys[k], kind) {
					keys[k] = append(keys[k], kind)
				}
				walk(kind, sub)
			}
		}
		for _, kw := range []string{"$defs", "patternProperties", "dependentSchemas"} {
			if m, ok := node[kw].(map[string]any); ok {
				for _, sub := range m {
					walk(kind, sub)
				}
			}
		}
		for _, kw := range []string{"items", "additionalProperties", "if", "then", "else", "not", "contains", "propertyNames", "unevaluatedProperties"} {
			walk(kind, node[kw])
		}
		for _, kw := range []string{"allOf", "anyOf", "oneOf", "prefixItems"} {
			if l, ok := node[kw].([]any); ok {
				for _, sub := range l {
					walk(kind, sub)
				}
			}
		}
	}
	for _, kind := range schema.Kinds() {
		b, ok := schema.JSON(kind)
		if !ok {
			t.Fatalf("schema %q is missing", kind)
		}
		var doc any
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("schema %q: %v", kind, err)
		}
		walk(kind, doc)
	}
	return keys
}

func TestEverySchemaKeyIsDocumented(t *testing.T) {
	var all strings.Builder
	for _, p := range readPages(t) {
		all.WriteString(p.text)
	}
	text := all.String()
	keys := schemaKeys(t)
	if len(keys) < 50 {
		t.Fatalf("found only %d schema keys: is the walk right?", len(keys))
	}
	for _, k := range slices.Sorted(mapKeys(keys)) {
		if !strings.Contains(text, "`"+k+"`") {
			t.Errorf("key %q (%s schema) appears nowhere in docs/ as `%s`", k, strings.Join(keys[k], ", "), k)
		}
	}
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// ---- (b) the builtins page is current -----------------------------------

func TestBuiltinsPageIsCurrent(t *testing.T) {
	want := builtins.Markdown()
	if os.Getenv("FLOWRUN_UPDATE") != "" {
		if err := os.WriteFile("builtins.md", []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile("builtins.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("docs/builtins.md is out of date with the builtins table: run FLOWRUN_UPDATE=1 go test ./docs")
	}
}

// ---- (c) every YAML example is checked ----------------------------------

// exampleProject is the files of one example project, gathered from blocks.
type exampleProject struct {
	name   string
	files  map[string]string
	from   []block
	bad    *block // the block marked bad, if any
	expect []string
}

func TestExamples(t *testing.T) {
	pages := readPages(t)
	var scaffold string
	var projects []*exampleProject
	checked, unchecked := 0, 0
	for _, p := range pages {
		bs := blocks(p)
		byName := map[string]*exampleProject{}
		for i, b := range bs {
			if b.lang != "yaml" && b.lang != "yml" {
				continue
			}
			switch {
			case b.has("unchecked"):
				unchecked++
				continue
			case b.has("connection"):
				checked++
				checkConnectionFile(t, b)
				continue
			}
			var file, body string
			switch {
			case b.has("steps"):
				file = "flows/fragment.yaml"
				body = "flowrun: 1\nname: fragment\ntype: action\nsteps:\n" + indent(b.body, "  ")
			case b.attrs["title"] != "":
				file, body = b.attrs["title"], b.body
			default:
				t.Errorf("%s: a yaml block must say what it is: title=\"PATH\" (a project file), steps, connection or unchecked; see README.md", b)
				continue
			}
			if b.has("scaffold") {
				if scaffold != "" {
					t.Errorf("%s: a second scaffold block", b)
				}
				scaffold = body
			}
			checked++
			name := b.attrs["project"]
			var ep *exampleProject
			if name != "" {
				ep = byName[name]
			}
			if ep == nil {
				label := name
				if label == "" {
					label = fmt.Sprintf("line%d", b.line)
				}
				ep = &exampleProject{name: strings.TrimSuffix(p.name, ".md") + "/" + label, files: map[string]string{}}
				projects = append(projects, ep)
				if name != "" {
					byName[name] = ep
				}
			}
			if _, dup := ep.files[file]; dup {
				t.Errorf("%s: project %q already has %s", b, name, file)
			}
			ep.files[file] = body
			ep.from = append(ep.from, b)
			if b.has("bad") {
				bb := b
				ep.bad = &bb
				if i+1 >= len(bs) || bs[i+1].lang != "text" {
					t.Errorf("%s: a bad example must be followed by a ```text block holding the error it gets", b)
					continue
				}
				for _, l := range strings.Split(bs[i+1].body, "\n") {
					if strings.TrimSpace(l) != "" {
						ep.expect = append(ep.expect, strings.TrimSpace(l))
					}
				}
			}
		}
	}
	if scaffold == "" {
		t.Fatal("no yaml block is marked scaffold (the connector.yaml that lone flow examples use)")
	}
	if checked < 20 {
		t.Errorf("only %d YAML examples were checked", checked)
	}
	t.Logf("%d YAML examples checked, %d marked unchecked, %d projects", checked, unchecked, len(projects))
	for _, ep := range projects {
		t.Run(ep.name, func(t *testing.T) { checkProject(t, ep, scaffold) })
	}
}

func indent(s, prefix string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		if l != "" {
			lines[i] = prefix + l
		}
	}
	return strings.Join(lines, "\n") + "\n"
}

func checkProject(t *testing.T, ep *exampleProject, scaffold string) {
	dir := t.TempDir()
	files := map[string]string{}
	for k, v := range ep.files {
		files[k] = v
	}
	if _, ok := files["connector.yaml"]; !ok {
		files["connector.yaml"] = scaffold
	}
	hasFlow := false
	for k := range files {
		hasFlow = hasFlow || strings.HasPrefix(k, "flows/")
	}
	if !hasFlow {
		files["flows/doc_noop.yaml"] = "flowrun: 1\nname: doc_noop\ntype: action\nsteps:\n  - log: ok\n"
	}
	for name, body := range files {
		if filepath.IsAbs(name) || strings.Contains(name, "..") {
			t.Fatalf("%s: file %q must be a relative path inside the project", ep.from[0], name)
		}
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	where := make([]string, len(ep.from))
	for i, b := range ep.from {
		where[i] = b.String()
	}
	proj, err := loadProject(dir)
	if ep.bad != nil {
		if err == nil {
			t.Errorf("%s: the example is marked bad, but it loads without error", ep.bad)
			return
		}
		got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
		for _, want := range ep.expect {
			if !strings.Contains(got, want) {
				t.Errorf("%s: the error shown is not the error the example gets\nshown: %s\ngot:\n%s", ep.bad, want, got)
			}
		}
		return
	}
	if err != nil {
		got := strings.ReplaceAll(err.Error(), dir+string(filepath.Separator), "")
		t.Errorf("example at %s does not validate:\n%s", strings.Join(where, ", "), got)
		return
	}
	if len(proj.Tests) == 0 {
		return
	}
	var out bytes.Buffer
	rep, err := flowtest.Run(context.Background(), proj, flowtest.Options{Out: &out, Parallel: 1})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Failed > 0 {
		t.Errorf("the test suite of the example at %s fails:\n%s", strings.Join(where, ", "),
			strings.ReplaceAll(out.String(), dir+string(filepath.Separator), ""))
	}
}

// checkConnectionFile checks a connection file example: the keys a
// connection file may hold, and {env: NAME} values.
func checkConnectionFile(t *testing.T, b block) {
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(b.body), &doc); err != nil {
		t.Errorf("%s: connection file: %v", b, err)
		return
	}
	for k, v := range doc {
		switch k {
		case "params":
			ps, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s: params must be a mapping", b)
				continue
			}
			for name, pv := range ps {
				if m, ok := pv.(map[string]any); ok {
					if _, isEnv := m["env"]; !isEnv || len(m) != 1 {
						t.Errorf("%s: param %q: a mapping value must be {env: NAME}", b, name)
					}
				}
			}
		case "token":
			tok, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s: token must be a mapping", b)
				continue
			}
			for tk := range tok {
				if !slices.Contains([]string{"access_token", "refresh_token", "token_type", "expiry"}, tk) {
					t.Errorf("%s: unknown token key %q", b, tk)
				}
			}
		case "revoked_at", "revoked", "flowrun":
		default:
			t.Errorf("%s: unknown key %q in a connection file", b, k)
		}
	}
}

// ---- (d) links stay in the repository and resolve ------------------------

var linkRe = regexp.MustCompile(`!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)`)

// links returns the targets of the Markdown links of a text, outside code.
func links(text string) []string {
	var out []string
	inFence := false
	for _, l := range strings.Split(text, "\n") {
		if fenceRe.MatchString(l) {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		l = inlineCodeRe.ReplaceAllString(l, "")
		for _, m := range linkRe.FindAllStringSubmatch(l, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

var inlineCodeRe = regexp.MustCompile("`[^`]*`")

var headingRe = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*#*\s*$`)

// anchors returns the heading anchors of a Markdown text, as GitHub makes them.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	seen := map[string]int{}
	inFence := false
	for _, l := range strings.Split(text, "\n") {
		if fenceRe.MatchString(l) {
			inFence = !inFence
			continue
		}
		if inFence {
			continue
		}
		m := headingRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		s := slug(m[1])
		if n := seen[s]; n > 0 {
			out[fmt.Sprintf("%s-%d", s, n)] = true
		} else {
			out[s] = true
		}
		seen[s]++
	}
	return out
}

func slug(h string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(h) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r > 127:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestLinks(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	files := []string{filepath.Join(root, "README.md")}
	for _, p := range readPages(t) {
		files = append(files, filepath.Join(root, "docs", p.name))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, f)
		for _, target := range links(string(b)) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") || strings.HasPrefix(target, "//") {
				t.Errorf("%s: link %q leaves the repository: the docs must be complete in themselves", rel, target)
				continue
			}
			path, frag, _ := strings.Cut(target, "#")
			dest := f
			if path != "" {
				dest = filepath.Join(filepath.Dir(f), filepath.FromSlash(path))
				if r, err := filepath.Rel(root, dest); err != nil || strings.HasPrefix(r, "..") {
					t.Errorf("%s: link %q points outside the repository", rel, target)
					continue
				}
				if _, err := os.Stat(dest); err != nil {
					t.Errorf("%s: link %q: no such file", rel, target)
					continue
				}
			}
			if frag != "" && strings.HasSuffix(dest, ".md") {
				db, err := os.ReadFile(dest)
				if err != nil {
					t.Errorf("%s: link %q: %v", rel, target, err)
					continue
				}
				if !anchors(string(db))[frag] {
					t.Errorf("%s: link %q: no heading with anchor #%s", rel, target, frag)
				}
			}
		}
	}
}

func TestEveryPageIsReachable(t *testing.T) {
	pages := readPages(t)
	text := map[string]string{}
	for _, p := range pages {
		text[p.name] = p.text
	}
	seen := map[string]bool{"README.md": true}
	queue := []string{"README.md"}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, target := range links(text[p]) {
			path, _, _ := strings.Cut(target, "#")
			if path == "" || strings.Contains(path, "/") {
				continue
			}
			if _, ok := text[path]; ok && !seen[path] {
				seen[path] = true
				queue = append(queue, path)
			}
		}
	}
	for _, p := range pages {
		if !seen[p.name] {
			t.Errorf("%s is not reachable by links from docs/README.md", p.name)
		}
	}
}
