package lsp

import (
	"fmt"
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/flowrun/flowrun/lang"
)

// target is what a position points at, for hover and definition.
type target struct {
	rng protocol.Range // of the word pointed at

	// in an expression: the chain of names up to the word (["steps", "get"])
	// and whether the word is called (a function)
	chain []string
	call  bool
	names []member

	// in YAML: the key pointed at, or the key whose value is pointed at
	key       string
	onKey     bool
	container []seg
	value     string
	tree      *lang.Node
}

// targetAt finds what the position points at; nil for nothing.
func (a *at) targetAt() *target {
	line := string(a.rs)
	if start, ok := exprStart(line, a.col); ok && a.col < exprEnd(line, start)+1 {
		ws, we := a.col, a.col
		for ws > 0 && isWord(a.rs[ws-1]) {
			ws--
		}
		for we < len(a.rs) && isWord(a.rs[we]) {
			we++
		}
		if ws == we {
			return nil
		}
		parts, _, ok := chainBefore(a.rs, we)
		if !ok {
			return nil
		}
		t := &target{rng: a.rng(ws, we), chain: parts}
		rest := strings.TrimLeft(string(a.rs[we:]), " ")
		t.call = strings.HasPrefix(rest, "(")
		tree, path := a.exprPath(start)
		t.names = a.scope(tree).namesAt(path)
		return t
	}
	li := parseLine(line)
	for i, e := range li.elems {
		if e.dash {
			continue
		}
		tree := a.tree()
		container := newOutline(a.doc.lines).containerOf(a.line, e.col, li.elems[:i])
		klen := len([]rune(e.key))
		if a.col >= e.col && a.col <= e.col+klen {
			return &target{rng: a.rng(e.col, e.col+klen), key: e.key, onKey: true, container: container, tree: tree}
		}
		if a.col > e.col+klen && e.value != "" {
			vs := strings.Index(line, e.value)
			from := len([]rune(line[:max(vs, 0)]))
			return &target{rng: a.rng(from, from+len([]rune(e.value))), key: e.key, container: container, value: strings.Trim(e.value, `"'`), tree: tree}
		}
	}
	return nil
}

// member is the name or field the expression chain points at.
func (t *target) member() *member { return resolve(t.names, t.chain) }

func (s *Server) hover(_ *glsp.Context, params *protocol.HoverParams) (*protocol.Hover, error) {
	a := s.at(params.TextDocument.URI, params.Position)
	if a == nil || a.kind == "" {
		return nil, nil
	}
	t := a.targetAt()
	if t == nil {
		return nil, nil
	}
	text := a.hoverText(t)
	if text == "" {
		return nil, nil
	}
	return &protocol.Hover{Contents: protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: text}, Range: &t.rng}, nil
}

func (a *at) hoverText(t *target) string {
	if t.chain != nil {
		if len(t.chain) == 1 {
			if f := lookupFunction(t.chain[0]); f != nil && (t.call || resolve(t.names, t.chain) == nil) {
				return f.doc
			}
		}
		if m := t.member(); m != nil {
			return m.doc
		}
		return ""
	}
	if !t.onKey {
		if (t.key == "call" && a.kind == "flow" || t.key == "flow" && a.kind == "test") && a.proj() != nil {
			if f := a.proj().Flow(t.value); f != nil {
				return flowDoc(f)
			}
		}
		return ""
	}
	if n := len(t.container); n > 0 && t.container[n-1].key == "with" {
		if f := a.calledFlow(lookup(t.tree, t.container[:n-1])); f != nil {
			if in := f.Input(t.key); in != nil {
				m := fieldMember(in, "input", f.File)
				return m.doc + fmt.Sprintf("\n\n(of flow `%s`)", f.Name)
			}
		}
	}
	sch := schemas()[a.kind]
	if sch == nil {
		return ""
	}
	n, inst := sch.at(t.tree, t.container)
	if n == nil {
		return ""
	}
	for _, k := range sch.keys(n, inst) {
		if k.name == t.key {
			if k.doc == "" {
				return ""
			}
			return fmt.Sprintf("**%s**\n\n%s", k.name, k.doc)
		}
	}
	return ""
}

func (s *Server) definition(_ *glsp.Context, params *protocol.DefinitionParams) (any, error) {
	a := s.at(params.TextDocument.URI, params.Position)
	if a == nil || a.kind == "" {
		return nil, nil
	}
	t := a.targetAt()
	if t == nil {
		return nil, nil
	}
	if t.chain != nil {
		m := t.member()
		if m == nil || m.def == nil {
			return nil, nil
		}
		file := m.file
		if file == "" {
			file = a.doc.path
		}
		return a.location(file, *m.def), nil
	}
	proj := a.proj()
	if proj == nil {
		return nil, nil
	}
	if !t.onKey && (t.key == "call" && a.kind == "flow" || t.key == "flow" && a.kind == "test") {
		if f := proj.Flow(t.value); f != nil {
			return a.location(f.File, f.Pos), nil
		}
		return nil, nil
	}
	if n := len(t.container); t.onKey && n > 0 && t.container[n-1].key == "with" {
		if f := a.calledFlow(lookup(t.tree, t.container[:n-1])); f != nil {
			if in := f.Input(t.key); in != nil {
				return a.location(f.File, in.Pos), nil
			}
		}
	}
	return nil, nil
}

// location is an LSP location of a position in a project file.
func (a *at) location(file string, p lang.Pos) protocol.Location {
	return protocol.Location{URI: a.s.uri(file), Range: wordRange(a.s.lines(a.p, file), p)}
}
