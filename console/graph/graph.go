// Package graph draws a flow as a graph: one node per step (a card), edges
// for the order of steps and for the branches of if, switch, try and
// for_each, and renders it as SVG (laid out here, no JavaScript needed),
// Mermaid or Graphviz DOT.
//
// It reads only the loaded tree of a flow (lang.Flow) through lang.Blocks,
// so a new step kind is drawn as a plain card until it is given a shape.
// `flowrun graph` and the console (package console) use it.
package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/flowrun/flowrun/lang"
)

// Node kinds that are not step kinds.
const (
	KindStart = "start" // where a section of the flow begins
	KindEnd   = "end"   // where a section ends by running off its last step
	KindJoin  = "join"  // where the branches of an if, switch or try meet again
)

// Node is one box of the graph: a step, or a start, end or join point.
type Node struct {
	ID     string   // n0, n1, ... in file order (stable for one flow)
	Kind   string   // a lang.StepKind, or KindStart, KindEnd, KindJoin
	Label  string   // the step's id, else its name, else its kind
	Detail string   // what the step does, in one short line
	Full   string   // the detail in full, for tooltips
	Path   string   // where the step sits: "steps.0.then.1"
	Pos    lang.Pos // the step's position in its file
	Call   string   // a call step: the flow it calls
	Ends   bool     // a return or fail: the path ends here
	Loop   string   // inside the body of these for_each nodes, innermost last (space separated IDs)

	x, y float64 // laid-out centre x and top y (SVG)
	w, h float64
}

// Edge goes from one node to another.
type Edge struct {
	From, To string
	Label    string
	Back     bool // the loop edge of a for_each body back to its node
}

// Frame is a rectangle drawn around a for_each body or a section.
type Frame struct {
	Label      string
	Node       string // the for_each node, or "" for a section
	x, y, w, h float64
}

// Graph is a drawn flow.
type Graph struct {
	Flow   string
	Title  string
	Type   lang.FlowType
	Nodes  []*Node
	Edges  []Edge
	Frames []Frame
	w, h   float64
	index  map[string]*Node
}

// Node returns the node with the given ID, or nil.
func (g *Graph) Node(id string) *Node { return g.index[id] }

// Steps returns the nodes that are steps, in file order.
func (g *Graph) Steps() []*Node {
	var out []*Node
	for _, n := range g.Nodes {
		switch n.Kind {
		case KindStart, KindEnd, KindJoin:
		default:
			out = append(out, n)
		}
	}
	return out
}

// Build draws a flow. Every section that has steps (steps; or register,
// deregister and event for webhook flows) begins at a start node.
func Build(f *lang.Flow) *Graph {
	g := &Graph{Flow: f.Name, Title: f.Title, Type: f.Type, index: map[string]*Node{}}
	var secs []*frag
	for s := lang.Section(0); s < lang.NumSections; s++ {
		steps := f.Section(s)
		if len(steps) == 0 {
			continue
		}
		start := g.add(&Node{Kind: KindStart, Label: s.String()})
		start.w, start.h = termW, termH
		body := g.list(steps, s.String(), "")
		fr := &frag{w: max(body.w, start.w), h: start.h + vgap + body.h}
		fr.place(start, (fr.w-start.w)/2, 0)
		fr.sub(body, (fr.w-body.w)/2, start.h+vgap)
		if body.entry != nil {
			g.edge(start.ID, body.entry.ID, "")
		}
		if len(body.exits) > 0 {
			end := g.add(&Node{Kind: KindEnd, Label: "end"})
			end.w, end.h = termW, termH
			fr.place(end, (fr.w-end.w)/2, fr.h+vgap)
			fr.h += vgap + end.h
			g.exitsTo(body.exits, end.ID)
		}
		if len(f.Register)+len(f.Event)+len(f.Deregister) > 0 {
			fr.frames = append(fr.frames, Frame{Label: s.String(), x: -pad, y: -pad - 14, w: fr.w + 2*pad, h: fr.h + 2*pad + 14})
		}
		secs = append(secs, fr)
	}
	// sections side by side
	var x float64
	for i, fr := range secs {
		if i > 0 {
			x += hgap * 3
		}
		fr.shift(x+margin, margin+20)
		x += fr.w
		g.h = max(g.h, fr.h)
		g.Frames = append(g.Frames, fr.frames...)
	}
	g.w = x + 2*margin
	g.h += 2*margin + 20
	return g
}

// layout constants (SVG units)
const (
	cardW  = 200.0
	cardH  = 50.0
	termW  = 90.0
	termH  = 28.0
	joinD  = 10.0
	vgap   = 30.0
	hgap   = 24.0
	pad    = 12.0
	margin = 16.0
)

// frag is a laid-out piece of the graph: its nodes (positions relative to
// the piece's top left), size, entry and the exits that continue to
// whatever comes next.
type frag struct {
	w, h   float64
	nodes  []*Node
	frames []Frame
	entry  *Node
	exits  []exit
}

type exit struct {
	node  *Node
	label string
}

func (f *frag) place(n *Node, x, y float64) {
	n.x, n.y = x+n.w/2, y
	f.nodes = append(f.nodes, n)
}

func (f *frag) sub(s *frag, x, y float64) {
	s.shift(x, y)
	f.nodes = append(f.nodes, s.nodes...)
	f.frames = append(f.frames, s.frames...)
}

func (f *frag) shift(x, y float64) {
	for _, n := range f.nodes {
		n.x += x
		n.y += y
	}
	for i := range f.frames {
		f.frames[i].x += x
		f.frames[i].y += y
	}
}

func (g *Graph) add(n *Node) *Node {
	n.ID = fmt.Sprintf("n%d", len(g.Nodes))
	g.Nodes = append(g.Nodes, n)
	g.index[n.ID] = n
	return n
}

func (g *Graph) edge(from, to, label string) {
	g.Edges = append(g.Edges, Edge{From: from, To: to, Label: label})
}

func (g *Graph) exitsTo(exits []exit, to string) {
	for _, e := range exits {
		g.edge(e.node.ID, to, e.label)
	}
}

// list lays out a list of steps top to bottom, centred on one axis.
func (g *Graph) list(steps []lang.Step, path, loop string) *frag {
	out := &frag{}
	var prev []exit
	items := make([]*frag, len(steps))
	for i, st := range steps {
		item := g.step(st, fmt.Sprintf("%s.%d", path, i), loop)
		items[i] = item
		if out.entry == nil {
			out.entry = item.entry
		}
		for _, e := range prev {
			g.edge(e.node.ID, item.entry.ID, e.label)
		}
		out.w = max(out.w, item.w)
		prev = item.exits
	}
	for i, item := range items {
		if i > 0 {
			out.h += vgap
		}
		out.sub(item, (out.w-item.w)/2, out.h)
		out.h += item.h
	}
	out.exits = prev
	return out
}

// step lays out one step and what it holds.
func (g *Graph) step(st lang.Step, path, loop string) *frag {
	b := st.Base()
	n := g.add(&Node{Kind: string(b.Kind), Label: b.Label(), Path: path, Pos: b.Pos, Loop: loop})
	n.w, n.h = cardW, cardH
	n.Full = detail(st)
	n.Detail = short(n.Full, 30)
	fr := &frag{}
	switch s := st.(type) {
	case *lang.CallStep:
		n.Call = s.Flow
	case *lang.ReturnStep, *lang.FailStep:
		n.Ends = true
	}
	var branches []*frag
	var labels []string
	switch s := st.(type) {
	case *lang.IfStep:
		branches = append(branches, g.list(s.Then, path+".then", loop), g.list(s.Else, path+".else", loop))
		labels = []string{"then", "else"}
	case *lang.SwitchStep:
		for i, c := range s.Cases {
			branches = append(branches, g.list(c.Steps, fmt.Sprintf("%s.switch.%d", path, i), loop))
			labels = append(labels, short(valueText(c.When), 18))
		}
		branches = append(branches, g.list(s.Default, path+".default", loop))
		labels = append(labels, "default")
	case *lang.TryStep:
		branches = append(branches, g.list(s.Try, path+".try", loop), g.list(s.Catch, path+".catch", loop))
		labels = []string{"try", "on error"}
	case *lang.ForEachStep:
		label := "for each"
		if s.Concurrency > 1 {
			label = fmt.Sprintf("for each, %d at a time", s.Concurrency)
		}
		return g.loop(n, fr, s.Steps, path+".steps", loop, label, "each")
	case *lang.HTTPStep:
		if s.Paginate.Streams() {
			return g.loop(n, fr, s.Paginate.EachPage, path+".http.paginate.each_page", loop, "each page", "page")
		}
	}
	if branches == nil {
		fr.w, fr.h = n.w, n.h
		fr.place(n, 0, 0)
		fr.entry = n
		if !n.Ends {
			fr.exits = []exit{{n, ""}}
		}
		return fr
	}
	// a row of branches under the node, meeting again at a join
	var rowW, rowH float64
	for i, br := range branches {
		if i > 0 {
			rowW += hgap
		}
		w := br.w
		if br.entry == nil {
			w = 40 // an empty branch goes straight down
			rowH = max(rowH, joinD)
		}
		rowW += w
		rowH = max(rowH, br.h)
	}
	fr.w = max(n.w, rowW)
	fr.place(n, (fr.w-n.w)/2, 0)
	x := (fr.w - rowW) / 2
	top := n.h + vgap
	var exits []exit
	for i, br := range branches {
		w := br.w
		if br.entry == nil {
			// an empty branch: a point in its own column, so that its
			// edge does not cross the other branches
			w = 40
			pass := g.add(&Node{Kind: KindJoin, Loop: loop})
			pass.w, pass.h = joinD, joinD
			fr.place(pass, x+(w-joinD)/2, top)
			g.edge(n.ID, pass.ID, labels[i])
			exits = append(exits, exit{pass, ""})
		} else {
			g.edge(n.ID, br.entry.ID, labels[i])
			exits = append(exits, br.exits...)
			fr.sub(br, x, top)
		}
		x += w + hgap
	}
	fr.h = top + rowH
	fr.entry = n
	if len(exits) > 0 {
		join := g.add(&Node{Kind: KindJoin, Loop: loop})
		join.w, join.h = joinD, joinD
		fr.place(join, (fr.w-join.w)/2, fr.h+vgap)
		fr.h += vgap + join.h
		g.exitsTo(exits, join.ID)
		fr.exits = []exit{{join, ""}}
	}
	return fr
}

// loop lays out a step whose body runs again and again (a for_each, a
// paginate's each_page): the body in a frame under the node, and a join
// that goes back to the node.
func (g *Graph) loop(n *Node, fr *frag, steps []lang.Step, path, loop, label, each string) *frag {
	inner := strings.TrimSpace(loop + " " + n.ID)
	body := g.list(steps, path, inner)
	join := g.add(&Node{Kind: KindJoin, Loop: inner})
	join.w, join.h = joinD, joinD
	fr.w = max(cardW, body.w+2*pad+hgap)
	fr.place(n, (fr.w-n.w)/2, 0)
	top := n.h + vgap
	fr.sub(body, pad+(fr.w-2*pad-hgap-body.w)/2, top+pad)
	jy := top + pad + body.h + vgap
	if body.entry == nil {
		jy = top + pad
	}
	fr.place(join, (fr.w-join.w)/2, jy)
	fr.frames = append(fr.frames, Frame{Label: label, Node: n.ID, x: 0, y: top, w: fr.w, h: jy + join.h + pad - top})
	fr.h = jy + join.h + pad
	if body.entry != nil {
		g.edge(n.ID, body.entry.ID, each)
		g.exitsTo(body.exits, join.ID)
	} else {
		g.edge(n.ID, join.ID, each)
	}
	g.Edges = append(g.Edges, Edge{From: join.ID, To: n.ID, Label: "next", Back: true})
	fr.entry = n
	fr.exits = []exit{{join, "done"}}
	return fr
}

// detail says what a step does, in one line.
func detail(st lang.Step) string {
	switch s := st.(type) {
	case *lang.SetStep:
		names := make([]string, len(s.Vars))
		for i, v := range s.Vars {
			names[i] = v.Name
		}
		return "set " + strings.Join(names, ", ")
	case *lang.HTTPStep:
		m := s.Method
		if m == "" {
			m = valueText(s.MethodValue)
		}
		where := valueText(s.Path)
		if s.URL != nil {
			where = valueText(s.URL)
		}
		d := strings.TrimSpace(m + " " + where)
		if s.Paginate != nil {
			d += " (pages)"
		}
		return d
	case *lang.IfStep:
		return "if " + valueText(s.Cond)
	case *lang.SwitchStep:
		return fmt.Sprintf("switch: %d case(s)", len(s.Cases))
	case *lang.ForEachStep:
		d := "for each " + valueText(s.Items)
		if s.Concurrency > 1 {
			d += fmt.Sprintf(" (%d at a time)", s.Concurrency)
		}
		return d
	case *lang.CallStep:
		return "call " + s.Flow
	case *lang.ReturnStep:
		return "return"
	case *lang.FailStep:
		return "fail: " + valueText(s.Message)
	case *lang.TryStep:
		return "try"
	case *lang.ContinueIfStep:
		return "continue if " + valueText(s.Cond)
	case *lang.LogStep:
		return "log " + valueText(s.Message)
	case *lang.WaitStep:
		if s.Fixed > 0 {
			return "wait " + s.Fixed.String()
		}
		return "wait " + valueText(s.Duration)
	}
	return string(st.Base().Kind)
}

// valueText shows a value as it was written, shortly.
func valueText(v *lang.Value) string {
	if v == nil {
		return ""
	}
	switch v.Kind {
	case lang.ValExpr:
		return "${ " + strings.TrimSpace(v.Expr.Src) + " }"
	case lang.ValTemplate:
		var b strings.Builder
		for _, p := range v.Parts {
			if p.Expr != nil {
				b.WriteString("${ " + strings.TrimSpace(p.Expr.Src) + " }")
			} else {
				b.WriteString(p.Text)
			}
		}
		return b.String()
	case lang.ValMap:
		return "{" + strings.Join(v.Keys, ", ") + "}"
	case lang.ValList:
		return fmt.Sprintf("[%d items]", len(v.Vals))
	}
	switch x := v.Lit.(type) {
	case string:
		return x
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		return "{" + strings.Join(keys, ", ") + "}"
	}
	return fmt.Sprint(v.Lit)
}

// short cuts s to n runes, with an ellipsis, on one line.
func short(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
