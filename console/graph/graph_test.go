package graph

import (
	"bytes"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
)

// shipped loads every project under connectors/.
func shipped(t *testing.T) []*lang.Project {
	t.Helper()
	dirs, err := filepath.Glob("../../connectors/*/connector.yaml")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no shipped connectors: %v", err)
	}
	var out []*lang.Project
	for _, d := range dirs {
		p, err := load.Project(filepath.Dir(d))
		if err != nil {
			t.Fatalf("%s: %v", d, err)
		}
		out = append(out, p)
	}
	return out
}

type svgNode struct {
	ID, Kind, Path, Step string
}

// parseSVG reads the nodes and edges of a rendered SVG, failing on XML that
// does not parse.
func parseSVG(t *testing.T, data []byte) (nodes map[string]svgNode, edges [][2]string) {
	t.Helper()
	nodes = map[string]svgNode{}
	d := xml.NewDecoder(bytes.NewReader(data))
	sawRoot := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if !sawRoot {
			if se.Name.Local != "svg" || se.Name.Space != "http://www.w3.org/2000/svg" {
				t.Fatalf("root element is %v, want svg in the SVG namespace", se.Name)
			}
			sawRoot = true
		}
		attr := map[string]string{}
		for _, a := range se.Attr {
			attr[a.Name.Local] = a.Value
		}
		if se.Name.Local != "g" {
			continue
		}
		cls := strings.Fields(attr["class"])
		if len(cls) == 0 {
			continue
		}
		switch cls[0] {
		case "node":
			if _, dup := nodes[attr["id"]]; dup {
				t.Fatalf("node id %s twice", attr["id"])
			}
			nodes[attr["id"]] = svgNode{ID: attr["id"], Kind: attr["data-kind"], Path: attr["data-path"], Step: attr["data-step"]}
		case "edge":
			edges = append(edges, [2]string{attr["data-from"], attr["data-to"]})
		}
	}
	return nodes, edges
}

// TestShippedFlowsSVG draws every flow of every shipped connector and
// checks the SVG's structure against the flow: one node per step (every
// step of every section, by its path and label), edges between existing
// nodes, every step reachable from a start node.
func TestShippedFlowsSVG(t *testing.T) {
	total := 0
	for _, p := range shipped(t) {
		for _, name := range p.Order {
			f := p.Flows[name]
			t.Run(p.Connector.Name+"/"+name, func(t *testing.T) {
				g := Build(f)
				var b bytes.Buffer
				if err := SVG(&b, g, Options{}); err != nil {
					t.Fatal(err)
				}
				nodes, edges := parseSVG(t, b.Bytes())
				steps := 0
				for s := lang.Section(0); s < lang.NumSections; s++ {
					lang.Walk(f.Section(s), func(st lang.Step) bool {
						steps++
						found := false
						for _, n := range nodes {
							if n.Step == st.Base().Label() && n.Kind == string(st.Base().Kind) {
								found = true
								break
							}
						}
						if !found {
							t.Errorf("step %s (%s) at %s has no node", st.Base().Label(), st.Base().Kind, st.Base().Pos)
						}
						return true
					})
				}
				stepNodes := 0
				for _, n := range nodes {
					if n.Path != "" {
						stepNodes++
					}
				}
				if stepNodes != steps {
					t.Errorf("%d step nodes, want %d steps", stepNodes, steps)
				}
				total += steps
				// edges join nodes that exist; every node is reached from a start
				adj := map[string][]string{}
				for _, e := range edges {
					if _, ok := nodes[e[0]]; !ok {
						t.Errorf("edge from unknown node %q", e[0])
					}
					if _, ok := nodes[e[1]]; !ok {
						t.Errorf("edge to unknown node %q", e[1])
					}
					adj[e[0]] = append(adj[e[0]], e[1])
				}
				seen := map[string]bool{}
				var visit func(string)
				visit = func(id string) {
					if seen[id] {
						return
					}
					seen[id] = true
					for _, to := range adj[id] {
						visit(to)
					}
				}
				for id, n := range nodes {
					if n.Kind == KindStart {
						visit(id)
					}
				}
				for id, n := range nodes {
					if !seen[id] {
						t.Errorf("node %s (%s %s) is not reachable from a start", id, n.Kind, n.Step)
					}
				}
			})
		}
	}
	if total < 50 {
		t.Errorf("only %d steps in all shipped flows: connectors not found?", total)
	}
}

var (
	mermaidNode = regexp.MustCompile(`^  (n\d+)(\["|\(\["|\{\{"|\[/"|\[\[")[^"]*("\]|"\]\)|"\}\}|"\\\]|"\]\])$`)
	mermaidEdge = regexp.MustCompile(`^  (n\d+) -->(\|"[^"]*"\|)? (n\d+)$`)
	mermaidDef  = regexp.MustCompile(`^  (classDef k_\w+ [^ ]+|class [n0-9,]+ k_\w+)$`)
)

// TestShippedFlowsMermaidDOT checks the Mermaid and DOT of every shipped
// flow line by line: every node is declared once, every edge joins declared
// nodes, no label breaks out of its quotes. (scripts/e2e-console.sh also
// parses the Mermaid with mermaid's own parser.)
func TestShippedFlowsMermaidDOT(t *testing.T) {
	for _, p := range shipped(t) {
		for _, name := range p.Order {
			f := p.Flows[name]
			t.Run(p.Connector.Name+"/"+name, func(t *testing.T) {
				g := Build(f)
				var m bytes.Buffer
				if err := Mermaid(&m, g); err != nil {
					t.Fatal(err)
				}
				lines := strings.Split(strings.TrimRight(m.String(), "\n"), "\n")
				if lines[0] != "flowchart TD" {
					t.Fatalf("first line %q", lines[0])
				}
				decl := map[string]bool{}
				for _, l := range lines[1:] {
					if sm := mermaidNode.FindStringSubmatch(l); sm != nil {
						if decl[sm[1]] {
							t.Errorf("node %s declared twice", sm[1])
						}
						decl[sm[1]] = true
					}
				}
				for _, l := range lines[1:] {
					switch {
					case mermaidNode.MatchString(l), mermaidDef.MatchString(l):
					case mermaidEdge.MatchString(l):
						sm := mermaidEdge.FindStringSubmatch(l)
						if !decl[sm[1]] || !decl[sm[3]] {
							t.Errorf("edge between undeclared nodes: %q", l)
						}
					default:
						t.Errorf("line does not parse: %q", l)
					}
				}
				if len(decl) != len(g.Steps())+countKinds(g, KindStart, KindEnd) {
					t.Errorf("%d nodes declared, want %d", len(decl), len(g.Steps())+countKinds(g, KindStart, KindEnd))
				}
				var d bytes.Buffer
				if err := DOT(&d, g); err != nil {
					t.Fatal(err)
				}
				s := d.String()
				if !strings.HasPrefix(s, "digraph ") || !strings.HasSuffix(s, "}\n") {
					t.Errorf("DOT is not a digraph: %s", s)
				}
				for _, n := range g.Steps() {
					if !strings.Contains(s, "  "+n.ID+" [label=") {
						t.Errorf("DOT has no node %s", n.ID)
					}
				}
			})
		}
	}
}

func countKinds(g *Graph, kinds ...string) int {
	c := 0
	for _, n := range g.Nodes {
		for _, k := range kinds {
			if n.Kind == k {
				c++
			}
		}
	}
	return c
}

// TestSVGStatusAndLinks: a run laid over the diagram marks nodes, and links
// are written (escaped) when asked for.
func TestSVGStatusAndLinks(t *testing.T) {
	p, err := load.Project("../../connectors/example")
	if err != nil {
		t.Fatal(err)
	}
	g := Build(p.Flow("summarize"))
	var call *Node
	for _, n := range g.Steps() {
		if n.Call != "" {
			call = n
		}
	}
	if call == nil || call.Call != "classify" {
		t.Fatalf("summarize has no call node to classify: %+v", call)
	}
	var b bytes.Buffer
	err = SVG(&b, g, Options{IDPrefix: "x-", Status: map[string]string{call.ID: "failed"}, Link: func(n *Node) string {
		if n.Call != "" {
			return "/flows/" + n.Call + "?a=1&b=2"
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	s := b.String()
	for _, want := range []string{`id="x-` + call.ID + `"`, `data-status="failed"`, `href="/flows/classify?a=1&amp;b=2"`, `marker id="x-arrow"`} {
		if !strings.Contains(s, want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
	parseSVG(t, b.Bytes())
	if os.Getenv("FLOWRUN_GRAPH_DUMP") != "" {
		_ = os.WriteFile(os.Getenv("FLOWRUN_GRAPH_DUMP"), b.Bytes(), 0o644)
	}
}

// BenchmarkSVG draws and renders the example's summarize flow (every step
// kind) as the console does for each flow page.
func BenchmarkSVG(b *testing.B) {
	p, err := load.Project("../../connectors/example")
	if err != nil {
		b.Fatal(err)
	}
	f := p.Flow("summarize")
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := SVG(&buf, Build(f), Options{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/svg")
}
