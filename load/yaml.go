package load

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"

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

// ParseYAML decodes one YAML document into a Node tree. Any problem is returned
// as Diagnostics with the position of the offending character.
func ParseYAML(file string, data []byte) (*lang.Node, error) {
	if len(data) > MaxFileBytes {
		return nil, lang.Diagnostics{{Pos: lang.Pos{File: file, Line: 1, Col: 1},
			Message: fmt.Sprintf("file is %s, over the %s limit for a project file", value.Bytes(len(data)), value.Bytes(MaxFileBytes)),
			Hint:    "split it into several flow files"}}
	}
	if p, bad := binaryAt(data); bad {
		return nil, lang.Diagnostics{{Pos: lang.Pos{File: file, Line: p.Line, Col: p.Col},
			Message: "file is not UTF-8 text (binary data)", Hint: "project files are YAML text"}}
	}
	if len(bytes.TrimSpace(stripComments(data))) == 0 {
		return nil, lang.Diagnostics{{Pos: lang.Pos{File: file, Line: 1, Col: 1},
			Message: "file is empty", Hint: "a project file starts with `flowrun: 1`"}}
	}
	if p, deep := tooDeep(data); deep {
		return nil, lang.Diagnostics{{Pos: lang.Pos{File: file, Line: p.Line, Col: p.Col},
			Message: fmt.Sprintf("document nests deeper than %d levels", maxNestingDepth)}}
	}
	src := &lang.Source{Name: file, Lines: strings.Split(string(data), "\n")}
	for i, l := range src.Lines {
		src.Lines[i] = strings.TrimSuffix(l, "\r")
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
		return nil, lang.Diagnostics{{Pos: lang.Pos{File: file, Line: 1, Col: 1},
			Message: "file is empty", Hint: "a project file starts with `flowrun: 1`"}}
	}
	if len(docs) > 1 {
		p := tokPos(file, docs[1].Start)
		if docs[1].Start == nil {
			p = tokPos(file, docs[1].Body.GetToken())
		}
		return nil, lang.Diagnostics{{Pos: p, Message: "a file holds exactly one YAML document", Hint: "put each flow in a file of its own"}}
	}
	c := &converter{file: file, src: src, anchors: map[string]*lang.Node{}}
	n := c.convert(docs[0].Body, 0)
	if c.err != nil {
		return nil, lang.Diagnostics{*c.err}
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
		if m := dupKeyRe().FindStringSubmatch(msg); m != nil {
			msg = fmt.Sprintf("key %q is already defined at %s:%s:%s", m[1], file, m[2], m[3])
		}
		return lang.Diagnostics{{Pos: tokPos(file, tk), Message: "YAML: " + msg, Hint: hint}}
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return lang.Diagnostics{{Pos: lang.Pos{File: file, Line: 1, Col: 1}, Message: "YAML: " + msg}}
}

var dupKeyRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^mapping key "(.*)" already defined at \[(\d+):(\d+)\]$`)
})

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

func tokPos(file string, t *token.Token) lang.Pos {
	if t == nil || t.Position == nil {
		return lang.Pos{File: file, Line: 1, Col: 1}
	}
	return lang.Pos{File: file, Line: max(t.Position.Line, 1), Col: max(t.Position.Column, 1)}
}

type converter struct {
	file     string
	src      *lang.Source
	anchors  map[string]*lang.Node
	sizes    map[*lang.Node]int
	expanded int
	err      *lang.Diagnostic
}

func (c *converter) fail(p lang.Pos, hint, format string, args ...any) *lang.Node {
	if c.err == nil {
		c.err = &lang.Diagnostic{Pos: p, Message: fmt.Sprintf(format, args...), Hint: hint}
	}
	return &lang.Node{Kind: lang.NullNode, Pos: p}
}

func (c *converter) convert(an ast.Node, depth int) *lang.Node {
	if c.err != nil {
		return &lang.Node{}
	}
	if depth > maxNestingDepth {
		return c.fail(tokPos(c.file, an.GetToken()), "", "document nests deeper than %d levels", maxNestingDepth)
	}
	p := tokPos(c.file, an.GetToken())
	switch v := an.(type) {
	case *ast.NullNode:
		return &lang.Node{Kind: lang.NullNode, Pos: p}
	case *ast.BoolNode:
		return &lang.Node{Kind: lang.BoolNode, Pos: p, Bool: v.Value, Str: v.Token.Value}
	case *ast.IntegerNode:
		n := &lang.Node{Kind: lang.IntNode, Pos: p, Str: v.Token.Value}
		switch x := v.Value.(type) {
		case int64:
			n.Int = x
		case uint64:
			if x > math.MaxInt64 {
				n.Kind, n.Float = lang.FloatNode, float64(x)
			} else {
				n.Int = int64(x)
			}
		}
		return n
	case *ast.FloatNode:
		return &lang.Node{Kind: lang.FloatNode, Pos: p, Float: v.Value, Str: v.Token.Value}
	case *ast.InfinityNode:
		return &lang.Node{Kind: lang.FloatNode, Pos: p, Float: v.Value, Str: v.Token.Value}
	case *ast.NanNode:
		return &lang.Node{Kind: lang.FloatNode, Pos: p, Float: math.NaN(), Str: v.Token.Value}
	case *ast.StringNode:
		n := &lang.Node{Kind: lang.StringNode, Pos: p, Str: v.Value, Src: c.src}
		switch v.Token.Type {
		case token.SingleQuoteType:
			n.Style = '\''
		case token.DoubleQuoteType:
			n.Style = '"'
		}
		return n
	case *ast.LiteralNode:
		n := &lang.Node{Kind: lang.StringNode, Pos: tokPos(c.file, v.Start), Src: c.src, Style: '|'}
		if v.Start != nil && strings.HasPrefix(v.Start.Value, ">") {
			n.Style = '>'
		}
		if v.Value != nil {
			n.Str = v.Value.Value
		}
		return n
	case *ast.MappingNode:
		n := &lang.Node{Kind: lang.MapNode, Pos: p, Flow: v.IsFlowStyle}
		if len(v.Values) > 0 {
			n.Pos = tokPos(c.file, v.Values[0].Key.GetToken())
		}
		for _, mv := range v.Values {
			c.mapEntry(n, mv, depth)
		}
		return n
	case *ast.MappingValueNode:
		n := &lang.Node{Kind: lang.MapNode, Pos: tokPos(c.file, v.Key.GetToken())}
		c.mapEntry(n, v, depth)
		return n
	case *ast.SequenceNode:
		n := &lang.Node{Kind: lang.ListNode, Pos: p, Flow: v.IsFlowStyle}
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
			if inner.Kind != lang.MapNode && inner.Kind != lang.ListNode {
				cp := *inner
				cp.Kind = lang.StringNode
				if cp.Str == "" && inner.Kind == lang.NullNode {
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
		return &lang.Node{Kind: lang.NullNode, Pos: p}
	case *ast.DocumentNode:
		return c.convert(v.Body, depth)
	}
	return c.fail(p, "", "unsupported YAML construct %s", an.Type())
}

func (c *converter) mapEntry(n *lang.Node, mv *ast.MappingValueNode, depth int) {
	kp := tokPos(c.file, mv.Key.GetToken())
	if _, ok := mv.Key.(*ast.MergeKeyNode); ok {
		c.fail(kp, "", "merge keys (<<) are not supported")
		return
	}
	k := c.convert(mv.Key, depth+1)
	if k.Kind == lang.MapNode || k.Kind == lang.ListNode {
		c.fail(kp, "", "a mapping key must be a plain string")
		return
	}
	if k.Kind != lang.StringNode {
		k = &lang.Node{Kind: lang.StringNode, Pos: k.Pos, Str: k.Str, Src: c.src}
	}
	n.Keys = append(n.Keys, k)
	var val *lang.Node
	if mv.Value == nil {
		val = &lang.Node{Kind: lang.NullNode, Pos: kp}
	} else {
		val = c.convert(mv.Value, depth+1)
	}
	n.Vals = append(n.Vals, val)
}

// size is the number of nodes under n with aliases expanded, memoised.
func (c *converter) size(n *lang.Node) int {
	if c.sizes == nil {
		c.sizes = map[*lang.Node]int{}
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
func binaryAt(data []byte) (lang.Pos, bool) {
	line, col := 1, 1
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 || r == 0 {
			return lang.Pos{Line: line, Col: col}, true
		}
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
		i += size
	}
	return lang.Pos{}, false
}

// tooDeep estimates the nesting depth of a YAML text without parsing it, so
// that a hostile document cannot exhaust the parser's stack.
func tooDeep(data []byte) (lang.Pos, bool) {
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
			return lang.Pos{Line: line, Col: max(col, 1)}, true
		}
	}
	return lang.Pos{}, false
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
