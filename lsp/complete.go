package lsp

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/flowrun/flowrun/lang"
)

// at is a position in an open document, with what the requests need.
type at struct {
	s    *Server
	doc  *document
	p    *project // nil outside a project
	kind string   // connector, flow, test or ""
	line int      // 0-based
	col  int      // runes, 0-based
	rs   []rune   // the line's runes
}

func (s *Server) at(uri string, pos protocol.Position) *at {
	d := s.docOf(uri)
	if d == nil {
		return nil
	}
	a := &at{s: s, doc: d, line: int(pos.Line)}
	line := lineAt(d.lines, a.line)
	a.rs = []rune(line)
	a.col = utf16ToRunes(line, int(pos.Character))
	if a.p = s.projectOf(d.path); a.p != nil {
		a.kind = fileKind(a.p.root, d.path)
	}
	return a
}

func (a *at) proj() *lang.Project {
	if a.p == nil {
		return nil
	}
	return a.p.proj
}

// tree is the document's tree for completion: the text's, else the text's
// with the position's line blanked (a key half typed), else the last one
// that parsed.
func (a *at) tree() *lang.Node {
	if a.doc.curOK {
		return a.doc.cur
	}
	if n := a.doc.blankedTree(a.line); n != nil {
		return n
	}
	return a.doc.parsed
}

// exprPath is the tree and the path of the value holding an expression
// that starts at rune column start of the position's line: from the tree
// when the text parses, else from the outline.
func (a *at) exprPath(start int) (*lang.Node, []seg) {
	if n := a.doc.cur; a.doc.curOK {
		path, _ := nodePath(n, a.line, start)
		return n, path
	}
	pl := newOutline(a.doc.lines).placeAt(a.line, start)
	return a.tree(), append(pl.container, seg{key: pl.key})
}

// rng is the range on the position's line from rune column from to to.
func (a *at) rng(from, to int) protocol.Range {
	line := string(a.rs)
	return protocol.Range{
		Start: protocol.Position{Line: uint32(a.line), Character: uint32(runesToUTF16(line, from))},
		End:   protocol.Position{Line: uint32(a.line), Character: uint32(runesToUTF16(line, to))},
	}
}

func (a *at) scope(tree *lang.Node) *scopeBuilder {
	return &scopeBuilder{proj: a.proj(), kind: a.kind, root: tree, file: a.doc.path}
}

func (s *Server) completion(_ *glsp.Context, params *protocol.CompletionParams) (any, error) {
	a := s.at(params.TextDocument.URI, params.Position)
	if a == nil || a.kind == "" {
		return nil, nil
	}
	trigger := ""
	if params.Context != nil && params.Context.TriggerCharacter != nil {
		trigger = *params.Context.TriggerCharacter
	}
	items := a.complete(trigger)
	if items == nil {
		items = []protocol.CompletionItem{}
	}
	sort.SliceStable(items, func(i, j int) bool { return *items[i].SortText < *items[j].SortText })
	return protocol.CompletionList{IsIncomplete: false, Items: items}, nil
}

func (a *at) complete(trigger string) []protocol.CompletionItem {
	if start, ok := exprStart(string(a.rs), a.col); ok {
		return a.completeExpr(start)
	}
	if trigger == "." || trigger == "{" {
		return nil
	}
	tree := a.tree()
	o := newOutline(a.doc.lines)
	pl := o.placeAt(a.line, a.col)
	if pl.inKey {
		if trigger == " " || trigger == ":" {
			return nil
		}
		return a.completeKey(tree, pl)
	}
	if trigger == ":" {
		return nil
	}
	return a.completeValue(tree, pl)
}

// completeExpr completes inside `${ }`: names in scope, their fields, and
// functions.
func (a *at) completeExpr(start int) []protocol.CompletionItem {
	parts, from, ok := chainBefore(a.rs, a.col)
	if !ok {
		return nil
	}
	tree, path := a.exprPath(start)
	names := a.scope(tree).namesAt(path)
	typed := parts[len(parts)-1]
	edit := a.rng(from, a.col)
	var items []protocol.CompletionItem
	if len(parts) == 1 {
		for _, m := range names {
			if hasPrefix(m.name, typed) {
				items = append(items, memberItem(m, protocol.CompletionItemKindVariable, edit, "0"))
			}
		}
		for _, f := range functions() {
			if hasPrefix(f.name, typed) {
				items = append(items, item(f.name, protocol.CompletionItemKindFunction, f.signature, f.doc, f.name, edit, "1"))
			}
		}
		for _, k := range exprKeywords {
			if hasPrefix(k, typed) {
				items = append(items, item(k, protocol.CompletionItemKindKeyword, "", "", k, edit, "2"))
			}
		}
		return items
	}
	m := resolve(names, parts[:len(parts)-1])
	if m == nil {
		return nil
	}
	for _, f := range m.fields {
		if hasPrefix(f.name, typed) {
			items = append(items, memberItem(f, protocol.CompletionItemKindField, edit, "0"))
		}
	}
	return items
}

// resolve follows a chain of names (["steps", "get"]) to its member.
func resolve(names []member, chain []string) *member {
	var m *member
	for i, name := range chain {
		if i == 0 {
			for j := range names {
				if names[j].name == name {
					m = &names[j]
				}
			}
		} else if m != nil {
			m = m.field(name)
		}
		if m == nil {
			return nil
		}
	}
	return m
}

func hasPrefix(name, typed string) bool {
	return strings.HasPrefix(strings.ToLower(name), strings.ToLower(typed))
}

func memberItem(m member, kind protocol.CompletionItemKind, edit protocol.Range, sort string) protocol.CompletionItem {
	return item(m.name, kind, m.typ, m.doc, m.name, edit, sort)
}

func item(label string, kind protocol.CompletionItemKind, detail, doc, insert string, edit protocol.Range, sortGroup string) protocol.CompletionItem {
	it := protocol.CompletionItem{Label: label, Kind: &kind, TextEdit: protocol.TextEdit{Range: edit, NewText: insert}}
	if detail != "" {
		it.Detail = &detail
	}
	if doc != "" {
		it.Documentation = protocol.MarkupContent{Kind: protocol.MarkupKindMarkdown, Value: doc}
	}
	st := sortGroup + label
	it.SortText = &st
	return it
}

// completeKey completes a mapping key: the keys the schema allows there
// that are not written yet (step kinds first in a step), or a called
// flow's inputs under with:.
func (a *at) completeKey(tree *lang.Node, pl place) []protocol.CompletionItem {
	edit := a.rng(pl.wordStart, a.col)
	container := lookup(tree, pl.container)
	present := map[string]bool{}
	if container != nil && container.Kind == lang.MapNode {
		for _, k := range container.Keys {
			if k.Pos.Line-1 != a.line {
				present[k.Str] = true
			}
		}
	}
	var items []protocol.CompletionItem
	// with: of a call step: the called flow's inputs
	if n := len(pl.container); n > 0 && pl.container[n-1].key == "with" {
		step := lookup(tree, pl.container[:n-1])
		if f := a.calledFlow(step); f != nil {
			for _, in := range f.Inputs {
				if !present[in.Name] {
					m := fieldMember(in, "input", f.File)
					items = append(items, item(in.Name, protocol.CompletionItemKindField, typeText(in), m.doc, in.Name+": ", edit, "0"))
				}
			}
			return items
		}
	}
	sch := schemas()[a.kind]
	if sch == nil {
		return nil
	}
	n, _ := sch.at(tree, pl.container)
	if n == nil {
		return nil
	}
	inst := container
	if inst == nil || inst.Kind != lang.MapNode {
		inst = &lang.Node{Kind: lang.MapNode}
	}
	keys := sch.keys(n, inst)
	isStep := false
	for _, k := range keys {
		if _, ok := lang.StepCompanions[lang.StepKind(k.name)]; ok {
			isStep = true
		}
	}
	// a step without its kind yet: the kinds, id and name (the schema
	// lists every kind's keys there)
	kindless := isStep && lang.StepKindOf(inst) == ""
	for _, k := range keys {
		_, isKind := lang.StepCompanions[lang.StepKind(k.name)]
		if present[k.name] || kindless && !isKind && k.name != "id" && k.name != "name" {
			continue
		}
		kind, group := protocol.CompletionItemKindProperty, "1"
		if _, ok := lang.StepCompanions[lang.StepKind(k.name)]; ok && isStep {
			kind, group = protocol.CompletionItemKindKeyword, "0"
		}
		items = append(items, item(k.name, kind, "", k.doc, k.name+": ", edit, group))
	}
	return items
}

// calledFlow is the flow a call step names, from the project.
func (a *at) calledFlow(step *lang.Node) *lang.Flow {
	name := strVal(step.Get("call"))
	if name == "" || a.proj() == nil {
		return nil
	}
	return a.proj().Flow(name)
}

// completeValue completes a value: flow names after call: (and flow: in a
// test), and the values the schema lists (type:, method:, ...).
func (a *at) completeValue(tree *lang.Node, pl place) []protocol.CompletionItem {
	edit := a.rng(pl.wordStart, a.col)
	var items []protocol.CompletionItem
	if pl.key == "call" && a.kind == "flow" || pl.key == "flow" && a.kind == "test" {
		proj := a.proj()
		if proj == nil {
			return nil
		}
		self := ""
		if tree != nil {
			self = strVal(tree.Get("name"))
		}
		for _, name := range proj.Order {
			f := proj.Flows[name]
			if pl.key == "call" && (f.Type == lang.AuthPing || f.Type == lang.Revoke || name == self) {
				continue
			}
			if hasPrefix(name, pl.word) {
				group := "1"
				if f.Type == lang.Helper {
					group = "0"
				}
				items = append(items, item(name, protocol.CompletionItemKindModule, string(f.Type)+" flow", flowDoc(f), name, edit, group))
			}
		}
		return items
	}
	sch := schemas()[a.kind]
	if sch == nil {
		return nil
	}
	path := append(slices.Clone(pl.container), seg{key: pl.key})
	n, inst := sch.at(tree, path)
	if n == nil {
		return nil
	}
	if inst == nil {
		inst = &lang.Node{Kind: lang.StringNode, Str: pl.word}
	}
	for i, v := range sch.enum(n, inst) {
		if hasPrefix(v, pl.word) {
			// in the schema's order
			items = append(items, item(v, protocol.CompletionItemKindEnumMember, "", "", v, edit, fmt.Sprintf("%03d", i)))
		}
	}
	return items
}

// flowDoc describes a flow for completion and hover: its type, title,
// description, inputs and outputs.
func flowDoc(f *lang.Flow) string {
	var b strings.Builder
	fmt.Fprintf(&b, "**%s** (%s flow)", f.Name, f.Type)
	if f.Title != "" {
		b.WriteString(": " + f.Title)
	}
	if f.Description != "" {
		b.WriteString("\n\n" + strings.TrimSpace(f.Description))
	}
	list := func(what string, fs []*lang.Field) {
		if len(fs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n\n%s:", what)
		names := make([]string, 0, len(fs))
		for _, x := range fs {
			s := fmt.Sprintf("\n- `%s`: %s", x.Name, typeText(x))
			if x.Required && !x.HasDefault {
				s += ", required"
			}
			names = append(names, s)
		}
		b.WriteString(strings.Join(names, ""))
	}
	list("Inputs", f.Inputs)
	list("Outputs", f.Outputs)
	return b.String()
}
