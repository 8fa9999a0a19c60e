package interpreter

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"
)

// Limits that keep hostile YAML from exhausting memory or stack.
const (
	MaxFileBytes     = 2 << 20 // a project file larger than this is refused
	maxNestingDepth  = 1000    // nesting of mappings and lists
	maxExpandedNodes = 200_000 // nodes after aliases are expanded (alias bombs)
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
	Kind  NodeKind
	Pos   Pos // where the value starts (a block scalar: its | or > indicator)
	Str   string
	Bool  bool
	Int   int64
	Float float64
	Keys  []*Node // MapNode: the keys (StringNode), in file order
	Vals  []*Node // MapNode: the values, parallel to Keys
	Items []*Node // ListNode
	Flow  bool    // a flow-style ({...} or [...]) collection

	style byte // scalar style: 0 plain, '\'', '"', '|', '>'
	src   *sourceFile
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
	if n.src == nil || n.Kind != StringNode || off <= 0 {
		if n.style == '"' || n.style == '\'' {
			return Pos{n.Pos.File, n.Pos.Line, n.Pos.Col + 1}
		}
		if n.style != '|' && n.style != '>' || n.src == nil {
			return n.Pos
		}
	}
	off = min(off, len(n.Str))
	lines := n.src.lines
	line, col := n.Pos.Line-1, n.Pos.Col-1 // 0-based; col counts runes
	if line < 0 || line >= len(lines) {
		return n.Pos
	}
	cur := []rune(lines[line])
	switch n.style {
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
			if n.style == '"' && s == '\\' {
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
				if n.style == '\'' && v == '\'' && peek() == '\'' {
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

type sourceFile struct {
	name  string
	lines []string
}

// ParseYAML decodes one YAML document into a Node tree. Any problem is returned
// as Diagnostics with the position of the offending character.
func ParseYAML(file string, data []byte) (*Node, error) {
	if len(data) > MaxFileBytes {
		return nil, Diagnostics{{Pos: Pos{File: file, Line: 1, Col: 1},
			Message: fmt.Sprintf("file is %s, over the %s limit for a project file", humanBytes(len(data)), humanBytes(MaxFileBytes)),
			Hint:    "split it into several flow files"}}
	}
	if p, bad := binaryAt(data); bad {
		return nil, Diagnostics{{Pos: Pos{File: file, Line: p.Line, Col: p.Col},
			Message: "file is not UTF-8 text (binary data)", Hint: "project files are YAML text"}}
	}
	if len(bytes.TrimSpace(stripComments(data))) == 0 {
		return nil, Diagnostics{{Pos: Pos{File: file, Line: 1, Col: 1},
			Message: "file is empty", Hint: "a project file starts with `flowrun: 1`"}}
	}
	if p, deep := tooDeep(data); deep {
		return nil, Diagnostics{{Pos: Pos{File: file, Line: p.Line, Col: p.Col},
			Message: fmt.Sprintf("document nests deeper than %d levels", maxNestingDepth)}}
	}
	src := &sourceFile{name: file, lines: strings.Split(string(data), "\n")}
	for i, l := range src.lines {
		src.lines[i] = strings.TrimSuffix(l, "\r")
	}
	f, err := parseSafely(data)
	if err != nil {
		return nil, yamlError(file, err)
	}
	var docs []*ast.DocumentNode
	for _, d := range f.Docs {
		if d != nil && d.Body != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return nil, Diagnostics{{Pos: Pos{File: file, Line: 1, Col: 1},
			Message: "file is empty", Hint: "a project file starts with `flowrun: 1`"}}
	}
	if len(docs) > 1 {
		p := tokPos(file, docs[1].Start)
		if docs[1].Start == nil {
			p = tokPos(file, docs[1].Body.GetToken())
		}
		return nil, Diagnostics{{Pos: p, Message: "a file holds exactly one YAML document", Hint: "put each flow in a file of its own"}}
	}
	c := &converter{file: file, src: src, anchors: map[string]*Node{}}
	n := c.convert(docs[0].Body, 0)
	if c.err != nil {
		return nil, Diagnostics{*c.err}
	}
	return n, nil
}

// parseSafely runs the YAML parser, turning a panic inside it into an error.
func parseSafely(data []byte) (f *ast.File, err error) {
	defer func() {
		if r := recover(); r != nil {
			f, err = nil, fmt.Errorf("the YAML parser failed on this file: %v", r)
		}
	}()
	return parser.ParseBytes(data, 0)
}

func yamlError(file string, err error) error {
	type tokErr interface {
		GetToken() *token.Token
		GetMessage() string
	}
	var te tokErr
	if errors.As(err, &te) && te.GetToken() != nil {
		msg := te.GetMessage()
		hint := yamlHint(msg)
		tk := te.GetToken()
		// goccy/go-yaml blames the scalar before a stray `: `; the offending
		// character is the colon that follows it.
		if strings.HasPrefix(msg, "mapping value is not allowed") && tk.Next != nil && tk.Next.Type == token.MappingValueType {
			tk = tk.Next
		}
		if m := dupKeyRe.FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("key %q is already defined at %s:%s:%s", m[1], file, m[2], m[3])
		}
		return Diagnostics{{Pos: tokPos(file, tk), Message: "YAML: " + msg, Hint: hint}}
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return Diagnostics{{Pos: Pos{File: file, Line: 1, Col: 1}, Message: "YAML: " + msg}}
}

var dupKeyRe = regexp.MustCompile(`^mapping key "(.*)" already defined at \[(\d+):(\d+)\]$`)

func yamlHint(msg string) string {
	switch {
	case strings.Contains(msg, "already defined"):
		return "each key may appear once in a mapping"
	case strings.Contains(msg, "cannot start any token") && strings.Contains(msg, "\t"):
		return "YAML indents with spaces, not tabs"
	case strings.HasPrefix(msg, "mapping value is not allowed"):
		return "quote a value that holds `: `, such as '${ a ? b : c }'"
	case strings.Contains(msg, "not allowed in this context"):
		return "check this line's indentation against the lines above it"
	case strings.Contains(msg, "could not find flow mapping end token"):
		return "close the `{` with `}`, or write the mapping in block style"
	case strings.Contains(msg, "sequence end token ']' not found"):
		return "close the `[` with `]`, or write the list in block style"
	case strings.Contains(msg, "flow mapping"), strings.Contains(msg, "'}'"):
		return "an expression with `{`, `}` or `: ` inside a flow mapping must be quoted, or use block style"
	case strings.Contains(msg, "could not find end character of"):
		return "close the quoted text with the same quote it starts with"
	}
	return ""
}

func tokPos(file string, t *token.Token) Pos {
	if t == nil || t.Position == nil {
		return Pos{File: file, Line: 1, Col: 1}
	}
	return Pos{File: file, Line: max(t.Position.Line, 1), Col: max(t.Position.Column, 1)}
}

type converter struct {
	file     string
	src      *sourceFile
	anchors  map[string]*Node
	sizes    map[*Node]int
	expanded int
	err      *Diagnostic
}

func (c *converter) fail(p Pos, hint, format string, args ...any) *Node {
	if c.err == nil {
		c.err = &Diagnostic{Pos: p, Message: fmt.Sprintf(format, args...), Hint: hint}
	}
	return &Node{Kind: NullNode, Pos: p}
}

func (c *converter) convert(an ast.Node, depth int) *Node {
	if c.err != nil {
		return &Node{}
	}
	if depth > maxNestingDepth {
		return c.fail(tokPos(c.file, an.GetToken()), "", "document nests deeper than %d levels", maxNestingDepth)
	}
	p := tokPos(c.file, an.GetToken())
	switch v := an.(type) {
	case *ast.NullNode:
		return &Node{Kind: NullNode, Pos: p}
	case *ast.BoolNode:
		return &Node{Kind: BoolNode, Pos: p, Bool: v.Value, Str: v.Token.Value}
	case *ast.IntegerNode:
		n := &Node{Kind: IntNode, Pos: p, Str: v.Token.Value}
		switch x := v.Value.(type) {
		case int64:
			n.Int = x
		case uint64:
			if x > math.MaxInt64 {
				n.Kind, n.Float = FloatNode, float64(x)
			} else {
				n.Int = int64(x)
			}
		}
		return n
	case *ast.FloatNode:
		return &Node{Kind: FloatNode, Pos: p, Float: v.Value, Str: v.Token.Value}
	case *ast.InfinityNode:
		return &Node{Kind: FloatNode, Pos: p, Float: v.Value, Str: v.Token.Value}
	case *ast.NanNode:
		return &Node{Kind: FloatNode, Pos: p, Float: math.NaN(), Str: v.Token.Value}
	case *ast.StringNode:
		n := &Node{Kind: StringNode, Pos: p, Str: v.Value, src: c.src}
		switch v.Token.Type {
		case token.SingleQuoteType:
			n.style = '\''
		case token.DoubleQuoteType:
			n.style = '"'
		}
		return n
	case *ast.LiteralNode:
		n := &Node{Kind: StringNode, Pos: tokPos(c.file, v.Start), src: c.src, style: '|'}
		if v.Start != nil && strings.HasPrefix(v.Start.Value, ">") {
			n.style = '>'
		}
		if v.Value != nil {
			n.Str = v.Value.Value
		}
		return n
	case *ast.MappingNode:
		n := &Node{Kind: MapNode, Pos: p, Flow: v.IsFlowStyle}
		if len(v.Values) > 0 {
			n.Pos = tokPos(c.file, v.Values[0].Key.GetToken())
		}
		for _, mv := range v.Values {
			c.mapEntry(n, mv, depth)
		}
		return n
	case *ast.MappingValueNode:
		n := &Node{Kind: MapNode, Pos: tokPos(c.file, v.Key.GetToken())}
		c.mapEntry(n, v, depth)
		return n
	case *ast.SequenceNode:
		n := &Node{Kind: ListNode, Pos: p, Flow: v.IsFlowStyle}
		for _, it := range v.Values {
			n.Items = append(n.Items, c.convert(it, depth+1))
		}
		return n
	case *ast.AnchorNode:
		n := c.convert(v.Value, depth)
		name := ""
		if v.Name != nil {
			name = v.Name.GetToken().Value
		}
		c.anchors[name] = n
		return n
	case *ast.AliasNode:
		name := ""
		if v.Value != nil {
			name = v.Value.GetToken().Value
		}
		target, ok := c.anchors[name]
		if !ok {
			return c.fail(p, "define the anchor (&"+name+") before using it", "unknown alias *%s", name)
		}
		c.expanded += c.size(target)
		if c.expanded > maxExpandedNodes {
			return c.fail(p, "aliases that expand exponentially (a \"billion laughs\" document) are refused",
				"aliases expand this document past %d nodes", maxExpandedNodes)
		}
		return target
	case *ast.TagNode:
		tag := v.Start.Value
		switch tag {
		case "!!str":
			inner := c.convert(v.Value, depth)
			if inner.Kind != MapNode && inner.Kind != ListNode {
				cp := *inner
				cp.Kind = StringNode
				if cp.Str == "" && inner.Kind == NullNode {
					cp.Str = ""
				}
				return &cp
			}
			return inner
		case "!!int", "!!float", "!!bool", "!!null", "!!map", "!!seq":
			return c.convert(v.Value, depth)
		}
		return c.fail(p, "flowrun files use plain YAML values", "unsupported YAML tag %s", tag)
	case *ast.MergeKeyNode:
		return c.fail(p, "", "merge keys (<<) are not supported")
	case *ast.CommentGroupNode, *ast.CommentNode:
		return &Node{Kind: NullNode, Pos: p}
	case *ast.DocumentNode:
		return c.convert(v.Body, depth)
	}
	return c.fail(p, "", "unsupported YAML construct %s", an.Type())
}

func (c *converter) mapEntry(n *Node, mv *ast.MappingValueNode, depth int) {
	kp := tokPos(c.file, mv.Key.GetToken())
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		c.fail(kp, "", "merge keys (<<) are not supported")
		return
	}
	k := c.convert(mv.Key, depth+1)
	if k.Kind == MapNode || k.Kind == ListNode {
		c.fail(kp, "", "a mapping key must be a plain string")
		return
	}
	if k.Kind != StringNode {
		k = &Node{Kind: StringNode, Pos: k.Pos, Str: k.Str, src: c.src}
	}
	n.Keys = append(n.Keys, k)
	var val *Node
	if mv.Value == nil {
		val = &Node{Kind: NullNode, Pos: kp}
	} else {
		val = c.convert(mv.Value, depth+1)
	}
	n.Vals = append(n.Vals, val)
}

// size is the number of nodes under n with aliases expanded, memoised.
func (c *converter) size(n *Node) int {
	if c.sizes == nil {
		c.sizes = map[*Node]int{}
	}
	if s, ok := c.sizes[n]; ok {
		return s
	}
	s := 1
	for _, it := range n.Items {
		s += c.size(it)
		if s > maxExpandedNodes {
			break
		}
	}
	for _, v := range n.Vals {
		s += 1 + c.size(v)
		if s > maxExpandedNodes {
			break
		}
	}
	c.sizes[n] = s
	return s
}

// binaryAt reports the position of the first NUL byte or invalid UTF-8 sequence.
func binaryAt(data []byte) (Pos, bool) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || r == 0 {
			return Pos{Line: line, Col: col}, true
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return Pos{}, false
}

// tooDeep estimates the nesting depth of a YAML text without parsing it, so
// that a hostile document cannot exhaust the parser's stack.
func tooDeep(data []byte) (Pos, bool) {
	depth := 0
	line, col := 1, 0
	lineStart, comment := true, false
	indent, dashes := 0, 0
	for _, b := range data {
		col++
		switch {
		case b == '\n':
			line, col = line+1, 0
			lineStart, comment, indent, dashes = true, false, 0, 0
		case comment:
		case lineStart && b == ' ':
			indent++
		case lineStart && b == '-':
			dashes++
		case b == '#':
			comment = true
		case b == '[' || b == '{':
			depth++
			lineStart = false
		case b == ']' || b == '}':
			if depth > 0 {
				depth--
			}
			lineStart = false
		default:
			lineStart = false
		}
		if depth+indent/2+dashes > maxNestingDepth {
			return Pos{Line: line, Col: max(col, 1)}, true
		}
	}
	return Pos{}, false
}

func stripComments(data []byte) []byte {
	var out []byte
	for _, l := range bytes.Split(data, []byte("\n")) {
		t := bytes.TrimSpace(l)
		if len(t) == 0 || t[0] == '#' || string(t) == "---" {
			continue
		}
		out = append(out, t...)
		if len(out) > 0 {
			break
		}
	}
	return out
}

func humanBytes(n int) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}
