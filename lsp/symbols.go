package lsp

import (
	"strings"

	"github.com/tliron/glsp"
	protocol "github.com/tliron/glsp/protocol_3_16"

	"github.com/flowrun/flowrun/lang"
)

// documentSymbol outlines a file: a flow with its steps that have ids
// (nested as the steps are; webhook flows by section), connector.yaml with
// its connection parameters, a test file with its cases.
func (s *Server) documentSymbol(_ *glsp.Context, params *protocol.DocumentSymbolParams) (any, error) {
	d := s.docOf(params.TextDocument.URI)
	if d == nil {
		return nil, nil
	}
	p := s.projectOf(d.path)
	if p == nil {
		return []protocol.DocumentSymbol{}, nil
	}
	tree := d.cur // parsed once per version: server.go
	if !d.curOK || tree == nil || tree.Kind != lang.MapNode {
		tree = d.parsed
	}
	if tree == nil || tree.Kind != lang.MapNode {
		return []protocol.DocumentSymbol{}, nil
	}
	sb := &symbolBuilder{lines: d.lines}
	whole := protocol.Range{End: protocol.Position{Line: uint32(max(len(d.lines)-1, 0)), Character: uint32(utf16Len(lineAt(d.lines, len(d.lines)-1)))}}
	name := tree.Get("name")
	top := protocol.DocumentSymbol{Name: strVal(name), Range: whole, SelectionRange: sb.sel(name, tree.Pos)}
	switch fileKind(p.root, d.path) {
	case "flow":
		top.Kind = protocol.SymbolKindFunction
		detail := strVal(tree.Get("type")) + " flow"
		top.Detail = &detail
		if lang.FlowType(strVal(tree.Get("type"))) == lang.Webhook {
			for _, sec := range []string{"register", "deregister", "event"} {
				k := tree.KeyNode(sec)
				if k == nil {
					continue
				}
				ss := protocol.DocumentSymbol{Name: sec, Kind: protocol.SymbolKindNamespace,
					Range: sb.block(k.Pos), SelectionRange: wordRange(d.lines, k.Pos)}
				ss.Children = sb.steps(tree.Get(sec).Get("steps"))
				top.Children = append(top.Children, ss)
			}
		} else {
			top.Children = sb.steps(tree.Get("steps"))
		}
	case "connector":
		top.Kind = protocol.SymbolKindModule
		params := tree.Get("connection").Get("params")
		if params != nil && params.Kind == lang.MapNode {
			for _, k := range params.Keys {
				top.Children = append(top.Children, protocol.DocumentSymbol{Name: k.Str, Kind: protocol.SymbolKindField,
					Range: sb.block(k.Pos), SelectionRange: wordRange(d.lines, k.Pos)})
			}
		}
	case "test":
		top.Name, top.Kind = d.path, protocol.SymbolKindFile
		var out []protocol.DocumentSymbol
		if cases := tree.Get("tests"); cases != nil && cases.Kind == lang.ListNode {
			for _, c := range cases.Items {
				nm := c.Get("name")
				if strVal(nm) == "" {
					continue
				}
				detail := strVal(c.Get("flow"))
				out = append(out, protocol.DocumentSymbol{Name: nm.Str, Detail: &detail, Kind: protocol.SymbolKindMethod,
					Range: sb.block(c.Pos), SelectionRange: sb.sel(nm, c.Pos)})
			}
		}
		return out, nil
	default:
		return []protocol.DocumentSymbol{}, nil
	}
	if top.Name == "" {
		top.Name = d.path
	}
	return []protocol.DocumentSymbol{top}, nil
}

type symbolBuilder struct {
	lines []string
}

// sel is the selection range of a symbol: its name's node, else pos.
func (b *symbolBuilder) sel(n *lang.Node, pos lang.Pos) protocol.Range {
	if n != nil {
		pos = n.Pos
	}
	r := wordRange(b.lines, pos)
	if n != nil && n.Kind == lang.StringNode && n.Style != '|' && n.Style != '>' {
		start := position(b.lines, n.Pos)
		end := start
		end.Character += uint32(utf16Len(n.Str))
		if n.Style == '"' || n.Style == '\'' {
			end.Character += 2
		}
		r = protocol.Range{Start: start, End: end}
	}
	return r
}

// steps lists the symbols of a step list: steps with ids, and the steps
// with ids nested in steps without one.
func (b *symbolBuilder) steps(list *lang.Node) []protocol.DocumentSymbol {
	var out []protocol.DocumentSymbol
	if list == nil || list.Kind != lang.ListNode {
		return out
	}
	for _, st := range list.Items {
		if st.Kind != lang.MapNode {
			continue
		}
		var nested []protocol.DocumentSymbol
		for _, k := range []string{"then", "else", "steps", "try", "catch"} {
			nested = append(nested, b.steps(st.Get(k))...)
		}
		nested = append(nested, b.steps(st.Get("http").Get("paginate").Get("each_page"))...)
		if sw := st.Get("switch"); sw != nil && sw.Kind == lang.ListNode {
			for _, c := range sw.Items {
				nested = append(nested, b.steps(c.Get("steps"))...)
				nested = append(nested, b.steps(c.Get("default"))...)
			}
		}
		id := st.Get("id")
		if strVal(id) == "" {
			out = append(out, nested...)
			continue
		}
		kind := lang.StepKindOf(st)
		detail := string(kind)
		if kind == lang.KindCall {
			detail += " " + strVal(st.Get("call"))
		}
		out = append(out, protocol.DocumentSymbol{Name: id.Str, Detail: &detail, Kind: protocol.SymbolKindMethod,
			Range: b.block(st.Pos), SelectionRange: b.sel(id, st.Pos), Children: nested})
	}
	return out
}

// block is the range of the YAML block that starts at pos (a list item's
// first key, or a key): to the end of the last line indented more than the
// item's dash (or the key) before a line that is not.
func (b *symbolBuilder) block(pos lang.Pos) protocol.Range {
	start := position(b.lines, pos)
	first := pos.Line - 1
	rs := []rune(lineAt(b.lines, first))
	limit := pos.Col - 1 // the block holds lines indented more than this
	for i := pos.Col - 2; i >= 0 && i < len(rs); i-- {
		if rs[i] == '-' {
			limit = i
			break
		}
		if rs[i] != ' ' {
			break
		}
	}
	last := first
	for i := first + 1; i < len(b.lines); i++ {
		l := b.lines[i]
		if t := strings.TrimSpace(l); t == "" || strings.HasPrefix(t, "#") {
			continue
		}
		if indentOf(l) <= limit {
			break
		}
		last = i
	}
	if first < 0 {
		return protocol.Range{Start: start, End: start}
	}
	// a block scalar's content lines count too: they are blank in the outline
	// but indented more than the limit, so last reaches them above
	return protocol.Range{Start: start, End: protocol.Position{Line: uint32(last), Character: uint32(utf16Len(lineAt(b.lines, last)))}}
}
