package graph

import (
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
)

// Options change how a graph is rendered as SVG.
type Options struct {
	// Link gives the address a node links to ("" for none): the called
	// flow's diagram for a call, the YAML source of a step.
	Link func(n *Node) string
	// Status marks nodes by ID: "ok", "failed" or "skipped" (a run laid
	// over the diagram).
	Status map[string]string
	// IDPrefix makes the SVG's element ids unique on a page with several
	// diagrams.
	IDPrefix string
}

// Formats lists the output formats of Write.
var Formats = []string{"svg", "mermaid", "dot"}

// Write renders g in the named format (svg, mermaid or dot).
func Write(w io.Writer, g *Graph, format string, o Options) error {
	switch format {
	case "svg":
		return SVG(w, g, o)
	case "mermaid":
		return Mermaid(w, g)
	case "dot":
		return DOT(w, g)
	}
	return fmt.Errorf("unknown format %q: want svg, mermaid or dot", format)
}

type style struct{ fill, stroke string }

var kindStyle = map[string]style{
	"http":        {"#e8f0fe", "#4a77c9"},
	"if":          {"#fff4db", "#c99a2e"},
	"switch":      {"#fff4db", "#c99a2e"},
	"for_each":    {"#f1e8fb", "#8a5cc2"},
	"try":         {"#eef0f2", "#6b7480"},
	"call":        {"#e3f6f3", "#2f8f80"},
	"return":      {"#e6f4e6", "#3c8d3c"},
	"fail":        {"#fde8e8", "#c23b3b"},
	"set":         {"#ffffff", "#8a929c"},
	"log":         {"#ffffff", "#8a929c"},
	"wait":        {"#ffffff", "#8a929c"},
	"continue_if": {"#fff4db", "#c99a2e"},
}

var statusStroke = map[string]string{"ok": "#2e8b3d", "failed": "#d12c2c", "skipped": "#a0a6ad"}

var esc = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")

func num(f float64) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.1f", f), "0"), ".")
}

// SVG renders g as a standalone SVG document (no scripts, no style sheet:
// presentation attributes only, so it shows the same in a page under a
// strict Content-Security-Policy, in an <img> and in a README).
// Every node is a <g class="node" id="..." data-kind data-step data-pos>,
// every edge a <g class="edge" data-from data-to>.
func SVG(w io.Writer, g *Graph, o Options) error {
	var b strings.Builder
	arrow := o.IDPrefix + "arrow"
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="flow-graph" data-flow="%s" width="%s" height="%s" viewBox="0 0 %s %s" role="img" aria-label="flow %s" font-family="system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif" font-size="12">`+"\n",
		esc.Replace(g.Flow), num(g.w), num(g.h), num(g.w), num(g.h), esc.Replace(g.Flow))
	fmt.Fprintf(&b, "<title>flow %s</title>\n", esc.Replace(g.Flow))
	fmt.Fprintf(&b, `<defs><marker id="%s" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#5f6670"/></marker></defs>`+"\n", esc.Replace(arrow))
	for _, f := range g.Frames {
		dash := ` stroke-dasharray="5 4"`
		if f.Node == "" {
			dash = ""
		}
		fmt.Fprintf(&b, `<g class="frame" data-node="%s"><rect x="%s" y="%s" width="%s" height="%s" rx="8" fill="none" stroke="#b9bfc7"%s/><text x="%s" y="%s" font-size="10" fill="#6b7480">%s</text></g>`+"\n",
			f.Node, num(f.x), num(f.y), num(f.w), num(f.h), dash, num(f.x+6), num(f.y+12), esc.Replace(f.Label))
	}
	frameOf := map[string]Frame{}
	for _, f := range g.Frames {
		if f.Node != "" {
			frameOf[f.Node] = f
		}
	}
	for _, e := range g.Edges {
		from, to := g.index[e.From], g.index[e.To]
		var d string
		lx, ly := to.x+4, to.y-6
		if e.Back {
			f := frameOf[e.To]
			right := f.x + f.w - hgap/2
			d = fmt.Sprintf("M%s %s H%s V%s H%s", num(from.x+from.w/2), num(from.y+from.h/2), num(right), num(to.y+to.h/2), num(to.x+to.w/2))
			lx, ly = right+3, (from.y+to.y)/2
		} else {
			x1, y1 := from.x, from.y+from.h
			x2, y2 := to.x, to.y
			ym := y2 - vgap/2
			if ym < y1 {
				ym = y1 + (y2-y1)/2
			}
			if x1 == x2 {
				d = fmt.Sprintf("M%s %s V%s", num(x1), num(y1), num(y2))
			} else {
				d = fmt.Sprintf("M%s %s V%s H%s V%s", num(x1), num(y1), num(ym), num(x2), num(y2))
			}
		}
		fmt.Fprintf(&b, `<g class="edge" data-from="%s" data-to="%s"><path d="%s" fill="none" stroke="#5f6670" stroke-width="1.3" marker-end="url(#%s)"/>`, e.From, e.To, d, esc.Replace(arrow))
		if e.Label != "" {
			fmt.Fprintf(&b, `<text x="%s" y="%s" font-size="10" fill="#4b525a">%s</text>`, num(lx), num(ly), esc.Replace(e.Label))
		}
		b.WriteString("</g>\n")
	}
	for _, n := range g.Nodes {
		writeNode(&b, n, o)
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func writeNode(b *strings.Builder, n *Node, o Options) {
	status := o.Status[n.ID]
	cls := "node kind-" + n.Kind
	if status != "" {
		cls += " status-" + status
	}
	fmt.Fprintf(b, `<g class="%s" id="%s%s" data-kind="%s"`, cls, esc.Replace(o.IDPrefix), n.ID, n.Kind)
	if n.Path != "" {
		fmt.Fprintf(b, ` data-step="%s" data-path="%s" data-pos="%s"`, esc.Replace(n.Label), esc.Replace(n.Path), esc.Replace(n.Pos.String()))
	}
	if status != "" {
		fmt.Fprintf(b, ` data-status="%s"`, status)
	}
	b.WriteString(">")
	href := ""
	if o.Link != nil {
		href = o.Link(n)
	}
	if href != "" {
		fmt.Fprintf(b, `<a href="%s">`, esc.Replace(href))
	}
	left, top := n.x-n.w/2, n.y
	switch n.Kind {
	case KindJoin:
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="%s" fill="#5f6670"/>`, num(n.x), num(n.y+n.h/2), num(n.w/2-1))
	case KindStart, KindEnd:
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" rx="%s" fill="#37404a"/>`, num(left), num(top), num(n.w), num(n.h), num(n.h/2))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="middle" fill="#ffffff" font-size="11">%s</text>`, num(n.x), num(top+n.h/2+4), esc.Replace(n.Label))
	default:
		st, ok := kindStyle[n.Kind]
		if !ok {
			st = style{"#ffffff", "#8a929c"}
		}
		stroke, sw := st.stroke, "1.2"
		if c := statusStroke[status]; c != "" {
			stroke, sw = c, "3"
		}
		fmt.Fprintf(b, `<title>%s (%s) %s — %s</title>`, esc.Replace(n.Label), n.Kind, esc.Replace(n.Full), esc.Replace(n.Pos.String()))
		rx := "6"
		if n.Ends {
			rx = num(n.h / 2)
		}
		fmt.Fprintf(b, `<rect x="%s" y="%s" width="%s" height="%s" rx="%s" fill="%s" stroke="%s" stroke-width="%s"/>`, num(left), num(top), num(n.w), num(n.h), rx, st.fill, stroke, sw)
		fmt.Fprintf(b, `<text x="%s" y="%s" font-weight="600" fill="#1f2328">%s</text>`, num(left+10), num(top+19), esc.Replace(short(n.Label, 24)))
		fmt.Fprintf(b, `<text x="%s" y="%s" text-anchor="end" font-size="9" fill="%s">%s</text>`, num(left+n.w-8), num(top+14), st.stroke, esc.Replace(n.Kind))
		fmt.Fprintf(b, `<text x="%s" y="%s" font-size="10.5" fill="#4b525a">%s</text>`, num(left+10), num(top+38), esc.Replace(n.Detail))
	}
	if href != "" {
		b.WriteString("</a>")
	}
	b.WriteString("</g>\n")
}

// flat returns the edges with join points removed (Mermaid and DOT lay
// out their own graphs): an edge into a join goes on to what follows it;
// the body of a for_each goes back to its node ("next"), and the node goes
// on to what follows the loop ("done").
func (g *Graph) flat() []Edge {
	out := map[Edge]bool{}
	var list []Edge
	addEdge := func(e Edge) {
		if e.From == e.To || out[e] {
			return
		}
		out[e] = true
		list = append(list, e)
	}
	forward := map[string]Edge{}  // a join's edge onwards
	loopOf := map[string]string{} // a loop join -> its for_each node
	for _, e := range g.Edges {
		if g.index[e.From].Kind != KindJoin {
			continue
		}
		if e.Back {
			loopOf[e.From] = e.To
		} else {
			forward[e.From] = e
		}
	}
	// follow a chain of joins to a real node
	var follow func(to, label string, depth int) (string, string)
	follow = func(to, label string, depth int) (string, string) {
		if g.index[to].Kind != KindJoin || depth > len(g.Nodes) {
			return to, label
		}
		if loop, ok := loopOf[to]; ok {
			return loop, "next"
		}
		f, ok := forward[to]
		if !ok {
			return "", ""
		}
		if label == "" {
			label = f.Label
		}
		return follow(f.To, label, depth+1)
	}
	for _, e := range g.Edges {
		if e.Back {
			continue
		}
		from := e.From
		label := e.Label
		if g.index[from].Kind == KindJoin {
			loop, ok := loopOf[from]
			if !ok {
				continue // reached through the edges into it
			}
			from = loop // the loop's "done"
		}
		to, l := follow(e.To, label, 0)
		if to == "" {
			continue
		}
		addEdge(Edge{From: from, To: to, Label: l})
	}
	id := func(s string) int { n, _ := strconv.Atoi(strings.TrimPrefix(s, "n")); return n }
	sort.SliceStable(list, func(i, j int) bool { return id(list[i].From) < id(list[j].From) })
	return list
}

var mermaidEsc = strings.NewReplacer("#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "&", "#amp;", "`", "#96;", "\n", " ")

// Mermaid renders g as a Mermaid flowchart.
func Mermaid(w io.Writer, g *Graph) error {
	var b strings.Builder
	b.WriteString("flowchart TD\n")
	classes := map[string][]string{}
	for _, n := range g.Nodes {
		if n.Kind == KindJoin {
			continue
		}
		text := mermaidEsc.Replace(n.Label)
		if n.Label == n.Kind && n.Detail != "" {
			text = mermaidEsc.Replace(n.Detail)
		} else if n.Detail != "" && n.Detail != n.Label {
			text += "<br/>" + mermaidEsc.Replace(n.Detail)
		}
		open, close := `["`, `"]`
		switch n.Kind {
		case KindStart, KindEnd, "return", "fail":
			open, close = `(["`, `"])`
		case "if", "switch", "try", "continue_if":
			open, close = `{{"`, `"}}`
		case "for_each":
			open, close = `[/"`, `"\]`
		case "call":
			open, close = `[["`, `"]]`
		}
		fmt.Fprintf(&b, "  %s%s%s%s\n", n.ID, open, text, close)
		if _, ok := kindStyle[n.Kind]; ok {
			classes[n.Kind] = append(classes[n.Kind], n.ID)
		} else if n.Kind == KindStart || n.Kind == KindEnd {
			classes["term"] = append(classes["term"], n.ID)
		}
	}
	for _, e := range g.flat() {
		if e.Label != "" {
			fmt.Fprintf(&b, "  %s -->|\"%s\"| %s\n", e.From, mermaidEsc.Replace(e.Label), e.To)
		} else {
			fmt.Fprintf(&b, "  %s --> %s\n", e.From, e.To)
		}
	}
	kinds := make([]string, 0, len(classes))
	for k := range classes {
		kinds = append(kinds, k)
	}
	sort.Strings(kinds)
	for _, k := range kinds {
		st := kindStyle[k]
		if k == "term" {
			st = style{"#37404a", "#37404a"}
			fmt.Fprintf(&b, "  classDef k_%s fill:%s,stroke:%s,color:#ffffff\n", k, st.fill, st.stroke)
		} else {
			fmt.Fprintf(&b, "  classDef k_%s fill:%s,stroke:%s\n", k, st.fill, st.stroke)
		}
		fmt.Fprintf(&b, "  class %s k_%s\n", strings.Join(classes[k], ","), k)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

var dotEsc = strings.NewReplacer(`\`, `\\`, `"`, `\"`, "\n", `\n`)

// DOT renders g as a Graphviz digraph.
func DOT(w io.Writer, g *Graph) error {
	var b strings.Builder
	fmt.Fprintf(&b, "digraph \"%s\" {\n", dotEsc.Replace(g.Flow))
	b.WriteString("  graph [rankdir=TB, fontname=\"Helvetica\"];\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, fillcolor=\"#ffffff\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9];\n")
	for _, n := range g.Nodes {
		if n.Kind == KindJoin {
			continue
		}
		label := n.Label
		if n.Label == n.Kind && n.Detail != "" {
			label = n.Detail
		} else if n.Detail != "" && n.Detail != n.Label {
			label += "\n" + n.Detail
		}
		attrs := fmt.Sprintf("label=\"%s\"", dotEsc.Replace(label))
		switch n.Kind {
		case KindStart, KindEnd:
			attrs += ", shape=oval, fillcolor=\"#37404a\", fontcolor=\"#ffffff\""
		default:
			if st, ok := kindStyle[n.Kind]; ok {
				attrs += fmt.Sprintf(", fillcolor=\"%s\", color=\"%s\"", st.fill, st.stroke)
			}
			if n.Kind == "if" || n.Kind == "switch" {
				attrs += ", shape=diamond"
			}
			attrs += fmt.Sprintf(", tooltip=\"%s\"", dotEsc.Replace(n.Pos.String()))
		}
		fmt.Fprintf(&b, "  %s [%s];\n", n.ID, attrs)
	}
	for _, e := range g.flat() {
		attrs := ""
		if e.Label != "" {
			attrs = fmt.Sprintf(" [label=\"%s\"]", dotEsc.Replace(e.Label))
		}
		if e.Label == "next" {
			attrs = " [label=\"next\", style=dashed]"
		}
		fmt.Fprintf(&b, "  %s -> %s%s;\n", e.From, e.To, attrs)
	}
	b.WriteString("}\n")
	_, err := io.WriteString(w, b.String())
	return err
}
