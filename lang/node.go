package lang

import (
	"strings"
	"unicode/utf8"
)

// NodeKind is the kind of a YAML value.
type NodeKind uint8

const (
	NullNode NodeKind = iota
	BoolNode
	IntNode
	FloatNode
	StringNode
	MapNode
	ListNode
)

var kindNames = [...]string{"null", "boolean", "integer", "number", "string", "object", "list"}

func (k NodeKind) String() string { return kindNames[k] }

// Node is a decoded YAML value that remembers where it came from. The loader
// keeps every file as a Node tree so that any problem, found by the schema, the
// checker or at run time, can name the line and column it stems from.
type Node struct {
	Pos   Pos // where the value starts (a block scalar: its | or > indicator)
	Str   string
	Int   int64
	Float float64
	Keys  []*Node // MapNode: the keys (StringNode), in file order
	Vals  []*Node // MapNode: the values, parallel to Keys
	Items []*Node // ListNode
	Src   *Source // the file, for positions inside scalars

	// the one-byte fields together (a tree holds many nodes)
	Kind  NodeKind
	Bool  bool
	Flow  bool // a flow-style ({...} or [...]) collection
	Style byte // scalar style: 0 plain, '\'', '"', '|', '>'
}

// Get returns the value under key in a mapping, or nil.
func (n *Node) Get(key string) *Node {
	if n == nil || n.Kind != MapNode {
		return nil
	}
	for i, k := range n.Keys {
		if k.Str == key {
			return n.Vals[i]
		}
	}
	return nil
}

// KeyNode returns the key node for key in a mapping, or nil.
func (n *Node) KeyNode(key string) *Node {
	if n == nil || n.Kind != MapNode {
		return nil
	}
	for _, k := range n.Keys {
		if k.Str == key {
			return k
		}
	}
	return nil
}

// Value converts the node to a plain Go value: map[string]any, []any, string,
// int64, float64, bool or nil.
func (n *Node) Value() any {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case BoolNode:
		return n.Bool
	case IntNode:
		return n.Int
	case FloatNode:
		return n.Float
	case StringNode:
		return n.Str
	case MapNode:
		m := make(map[string]any, len(n.Keys))
		for i, k := range n.Keys {
			m[k.Str] = n.Vals[i].Value()
		}
		return m
	case ListNode:
		l := make([]any, len(n.Items))
		for i, it := range n.Items {
			l[i] = it.Value()
		}
		return l
	}
	return nil
}

// At returns the position of the byte offset off inside a string scalar's
// value, accounting for quoting, escapes, line folding and block indentation.
func (n *Node) At(off int) Pos {
	if n.Src == nil || n.Kind != StringNode || off <= 0 {
		if n.Style == '"' || n.Style == '\'' {
			return Pos{n.Pos.File, n.Pos.Line, n.Pos.Col + 1}
		}
		if n.Style != '|' && n.Style != '>' || n.Src == nil {
			return n.Pos
		}
	}
	off = min(off, len(n.Str))
	lines := n.Src.Lines
	line, col := n.Pos.Line-1, n.Pos.Col-1 // 0-based; col counts runes
	if line < 0 || line >= len(lines) {
		return n.Pos
	}
	if p, ok := n.atInLine(lines[line], off); ok && !SlowAt {
		return p
	}
	cur := []rune(lines[line])
	switch n.Style {
	case '"', '\'':
		col++
	case '|', '>':
		line++
		col = 0
		if line >= len(lines) {
			return n.Pos
		}
		cur = []rune(lines[line])
	}
	// peek returns the source rune at the cursor; '\n' at a line's end, -1 at EOF.
	peek := func() rune {
		if col < len(cur) {
			return cur[col]
		}
		if line+1 < len(lines) {
			return '\n'
		}
		return -1
	}
	adv := func() {
		if col < len(cur) {
			col++
			return
		}
		line++
		col = 0
		if line < len(lines) {
			cur = []rune(lines[line])
		}
	}
	val := n.Str
	steps := 0
	for i := 0; i < off; {
		v, size := utf8.DecodeRuneInString(val[i:])
		for {
			steps++
			if steps > 4*len(val)+1_000_000 {
				return n.Pos
			}
			s := peek()
			if s == -1 {
				return n.Pos
			}
			if n.Style == '"' && s == '\\' {
				// an escape: skip it whole, consuming one value rune
				if col+1 >= len(cur) { // escaped line break
					adv()
					adv()
					continue
				}
				skip := 2
				switch cur[col+1] {
				case 'x':
					skip = 4
				case 'u':
					skip = 6
				case 'U':
					skip = 10
				}
				for range skip {
					adv()
				}
				break
			}
			if s == v {
				adv()
				if n.Style == '\'' && v == '\'' && peek() == '\'' {
					adv()
				}
				break
			}
			if s == ' ' || s == '\t' || s == '\n' || s == '\r' {
				adv()
				continue
			}
			if v == ' ' || v == '\n' {
				break // folded line break: no source character
			}
			return n.Pos // cannot align; fall back to the scalar's start
		}
		i += size
	}
	if off < len(val) {
		t, _ := utf8.DecodeRuneInString(val[off:])
		for s := peek(); s != t && (s == ' ' || s == '\t' || s == '\n' || s == '\r'); s = peek() {
			adv()
		}
	}
	return Pos{n.Pos.File, line + 1, col + 1}
}

// SlowAt turns At's one-line fast path off, for the test that compares the
// two; never set otherwise.
var SlowAt = false

// atInLine is At for the common case, without the walk: a plain or quoted
// scalar that stands on its line exactly as it reads (no escapes, no doubled
// quote, no folding), where offsets map one to one onto columns.
func (n *Node) atInLine(src string, off int) (Pos, bool) {
	q := 0
	switch n.Style {
	case 0:
	case '"':
		if strings.ContainsAny(n.Str, `\"`) {
			return Pos{}, false
		}
		q = 1
	case '\'':
		if strings.Contains(n.Str, "'") {
			return Pos{}, false
		}
		q = 1
	default:
		return Pos{}, false
	}
	b := 0 // the byte where the value starts: n.Pos.Col counts runes
	for range n.Pos.Col - 1 {
		if b >= len(src) {
			return Pos{}, false
		}
		if src[b] < utf8.RuneSelf {
			b++
		} else {
			_, size := utf8.DecodeRuneInString(src[b:])
			b += size
		}
	}
	if q == 1 && (b >= len(src) || src[b] != n.Style) {
		return Pos{}, false
	}
	b += q
	if !strings.HasPrefix(src[b:], n.Str) || off < len(n.Str) && !utf8.RuneStart(n.Str[off]) {
		return Pos{}, false // (an offset inside a rune: the walk decides)
	}
	return Pos{n.Pos.File, n.Pos.Line, n.Pos.Col + q + utf8.RuneCountInString(n.Str[:off])}, true
}

// Source is a parsed file's text, kept for positions inside scalars.
type Source struct {
	Name  string
	Lines []string
}
