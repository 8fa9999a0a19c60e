package lsp

import (
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/flowrun/flowrun/lang"
)

// The outline finds where in a YAML document a position is from the text's
// indentation alone, so that completion works while the buffer does not
// parse (a key half typed). The path it gives is then looked up in the
// last tree the document parsed to.

// seg is one step of a path from a document's root: a mapping key, or a
// list index.
type seg struct {
	key   string
	index int
	isIdx bool
}

func (s seg) String() string {
	if s.isIdx {
		return strconv.Itoa(s.index)
	}
	return s.key
}

func pathString(p []seg) string {
	parts := make([]string, len(p))
	for i, s := range p {
		parts[i] = s.String()
	}
	return strings.Join(parts, "/")
}

// elem is a structural element of a line: a list dash or a mapping key.
type elem struct {
	col   int // in runes, 0-based
	dash  bool
	key   string
	value string // the rest of the line after "key:", trimmed
}

// lineInfo is a line's structure.
type lineInfo struct {
	elems []elem
	blank bool // empty, or a comment only, or the content of a block scalar
}

var keyRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s#'"\-?:,\[\]{}][^:#]*?|-[^\s:#][^:#]*?)[ \t]*:(?:[ \t]+|$)`)
})

// parseLine finds the dashes and the key of one line.
func parseLine(line string) lineInfo {
	rs := []rune(line)
	i := 0
	for i < len(rs) && rs[i] == ' ' {
		i++
	}
	if i == len(rs) || rs[i] == '#' {
		return lineInfo{blank: true}
	}
	var li lineInfo
	for i < len(rs) && rs[i] == '-' && (i+1 == len(rs) || rs[i+1] == ' ' || rs[i+1] == '\t') {
		li.elems = append(li.elems, elem{col: i, dash: true})
		i++
		for i < len(rs) && (rs[i] == ' ' || rs[i] == '\t') {
			i++
		}
	}
	rest := string(rs[i:])
	if m := keyRe().FindStringSubmatch(rest); m != nil {
		k := strings.TrimSpace(m[1])
		if len(k) >= 2 && (k[0] == '"' || k[0] == '\'') {
			k = k[1 : len(k)-1]
		}
		li.elems = append(li.elems, elem{col: i, key: k, value: strings.TrimSpace(stripComment(rest[len(m[0]):]))})
	}
	return li
}

// stripComment drops a trailing " # comment" outside quotes.
func stripComment(s string) string {
	var q rune
	prev := ' '
	for i, r := range s {
		switch {
		case q != 0:
			if r == q {
				q = 0
			}
		case r == '"' || r == '\'':
			q = r
		case r == '#' && (prev == ' ' || prev == '\t'):
			return s[:i]
		}
		prev = r
	}
	return s
}

// outline holds the structure of every line of a text.
type outline struct {
	lines []string
	info  []lineInfo
}

var blockIndicator = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^[|>][-+0-9]*$`) })

func newOutline(lines []string) *outline {
	o := &outline{lines: lines, info: make([]lineInfo, len(lines))}
	block := -1 // inside a block scalar: lines indented more than this are its content
	for i, l := range lines {
		ind := indentOf(l)
		if block >= 0 {
			if strings.TrimSpace(l) == "" || ind > block {
				o.info[i] = lineInfo{blank: true}
				continue
			}
			block = -1
		}
		o.info[i] = parseLine(l)
		if es := o.info[i].elems; len(es) > 0 {
			last := es[len(es)-1]
			if !last.dash && blockIndicator().MatchString(last.value) {
				block = es[0].col
				if len(es) > 1 || es[0].dash {
					block = last.col - 1
					if es[0].dash {
						block = es[0].col
					}
				}
			}
		}
	}
	return o
}

func indentOf(l string) int {
	n := 0
	for _, r := range l {
		if r != ' ' {
			break
		}
		n++
	}
	return n
}

// place is where a position is in a document.
type place struct {
	// container is the path of the mapping (or list) the position is in.
	container []seg
	// key is set in a value position: the key whose value holds the position.
	key string
	// inKey: the position is where a key is written (the start of a line,
	// after its indentation and dashes); word is what is typed of it.
	inKey     bool
	word      string
	wordStart int // rune column where word starts
	newItem   bool
}

// placeAt finds the place of a position (line 0-based, col in runes).
func (o *outline) placeAt(line, col int) place {
	cur := []rune(lineAt(o.lines, line))
	col = min(col, len(cur))
	li := parseLine(string(cur[:col]))
	ws := col
	for ws > 0 && !isSpace(cur[ws-1]) {
		ws--
	}
	pl := place{word: string(cur[ws:col]), wordStart: ws}
	elems, t := li.elems, ws
	if n := len(elems); n > 0 && !elems[n-1].dash {
		// a value position: the key's container is the place's
		pl.key, t = elems[n-1].key, elems[n-1].col
		elems = elems[:n-1]
	} else {
		pl.inKey = true
		pl.newItem = n > 0
	}
	pl.container = o.containerOf(line, t, elems)
	return pl
}

func isSpace(r rune) bool { return r == ' ' || r == '\t' }

// containerOf finds the path of the mapping holding an element at column t
// on line, given the elements left of it on that line.
func (o *outline) containerOf(line, t int, left []elem) []seg {
	var path []seg
	inList := false // looking for the list holding an item at column t
	index := 0
	i := line
	cur := left
	for {
		var parent *elem
		for j := len(cur) - 1; j >= 0; j-- {
			if cur[j].col < t {
				parent = &cur[j]
				cur = cur[:j]
				break
			}
		}
		for parent == nil {
			i--
			if i < 0 {
				if inList {
					path = append([]seg{{index: index, isIdx: true}}, path...)
				}
				return path
			}
			info := o.info[i]
			if info.blank || len(info.elems) == 0 {
				continue
			}
			first := info.elems[0]
			switch {
			case inList && first.col == t && first.dash:
				index++
				continue
			case inList && first.col == t && !first.dash && first.value == "":
				parent, cur = &info.elems[0], nil
				continue
			case first.col < t:
				for j := len(info.elems) - 1; j >= 0; j-- {
					if info.elems[j].col < t {
						parent = &info.elems[j]
						cur = info.elems[:j]
						break
					}
				}
			}
		}
		if inList {
			path = append([]seg{{index: index, isIdx: true}}, path...)
		}
		if parent.dash {
			inList, index, t = true, 0, parent.col
			continue
		}
		path = append([]seg{{key: parent.key}}, path...)
		inList, t = false, parent.col
	}
}

// lookup follows a path in a tree; nil where it ends.
func lookup(n *lang.Node, path []seg) *lang.Node {
	for _, s := range path {
		if n == nil {
			return nil
		}
		if s.isIdx {
			if n.Kind != lang.ListNode || s.index >= len(n.Items) {
				return nil
			}
			n = n.Items[s.index]
			continue
		}
		n = n.Get(s.key)
	}
	return n
}

// nodePath finds the path of the deepest node of a tree that starts at or
// before a position and holds it, with the nodes along it: what hover and
// definition use on a document that parses. A key's path ends with the key.
func nodePath(root *lang.Node, line, col int) (path []seg, nodes []*lang.Node) {
	n := root
	nodes = append(nodes, n)
	for {
		switch n.Kind {
		case lang.MapNode:
			best := -1
			for i, k := range n.Keys {
				if before(k.Pos, line, col) {
					best = i
				}
			}
			if best < 0 {
				return path, nodes
			}
			path = append(path, seg{key: n.Keys[best].Str})
			n = n.Vals[best]
		case lang.ListNode:
			best := -1
			for i, it := range n.Items {
				if before(it.Pos, line, col) || (it.Kind == lang.MapNode && len(it.Keys) > 0 && before(it.Keys[0].Pos, line, col+2)) {
					best = i
				}
			}
			if best < 0 {
				return path, nodes
			}
			path = append(path, seg{index: best, isIdx: true})
			n = n.Items[best]
		default:
			return path, nodes
		}
		nodes = append(nodes, n)
	}
}

// before reports whether p (1-based) is at or before line, col (0-based).
func before(p lang.Pos, line, col int) bool {
	return p.Line-1 < line || p.Line-1 == line && p.Col-1 <= col
}
