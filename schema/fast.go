package schema

import (
	"encoding/json"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/flowrun/flowrun/lang"
)

// ValidateNode checks a parsed YAML file against the schema of kind, as
// Validate(kind, n.Value()) does, and returns the same problems.
//
// Most files are valid, and proving that needs no error tree: a quick pass
// walks the node tree against the schema document itself (no conversion to
// Go maps, no jsonschema compile) and answers only "valid" or "not sure".
// Only when it is not sure does ValidateNode run the full validator, which
// then finds and words the problems; so the problems, and their positions,
// are the full validator's by construction. schema/quick_test.go checks that
// the two agree on every shipped file and on mutated copies of them.
func ValidateNode(kind string, n *lang.Node) []Error {
	if q := quickSchema(kind); q != nil && q.valid(n) {
		return nil
	}
	return Validate(kind, n.Value())
}

// quickValid reports whether the quick pass proves n valid against kind.
func quickValid(kind string, n *lang.Node) bool {
	q := quickSchema(kind)
	return q != nil && q.valid(n)
}

var quick = map[string]*quickKind{
	"connector": {file: "connector.schema.json"},
	"flow":      {file: "flow.schema.json"},
	"test":      {file: "test.schema.json"},
}

type quickKind struct {
	once sync.Once
	file string
	root *qschema // nil when the document could not be read
}

func quickSchema(kind string) *qschema {
	k, ok := quick[kind]
	if !ok {
		return nil
	}
	k.once.Do(func() {
		b, err := files.ReadFile(k.file)
		if err != nil {
			return
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		var raw any
		if dec.Decode(&raw) != nil {
			return
		}
		qc := &qcompiler{doc: raw, refs: map[string]*qschema{}}
		k.root = qc.compile(raw)
	})
	return k.root
}

// type bits of qschema.types
const (
	tNull = 1 << iota
	tBoolean
	tInteger
	tNumber
	tString
	tObject
	tArray
)

var typeBits = map[string]uint8{
	"null": tNull, "boolean": tBoolean, "integer": tInteger, "number": tNumber,
	"string": tString, "object": tObject, "array": tArray,
}

// qschema is one schema of the document, compiled for the quick pass. It
// knows the keywords the embedded schemas use; a schema with any other
// keyword is unsupported, and meeting it makes the pass "not sure".
type qschema struct {
	unsupported bool
	never       bool // the false schema
	types       uint8
	props       map[string]*qschema
	patProps    []patProp
	addl        *qschema // additionalProperties; nil allows any
	required    []string
	enum        []any
	hasEnum     bool
	cnst        any
	hasConst    bool
	pattern     *regexp.Regexp
	items       *qschema
	minItems    int
	maxItems    int
	minLen      int
	maxLen      int
	minProps    int
	maxProps    int
	minimum     *big.Rat
	maximum     *big.Rat
	exMinimum   *big.Rat
	exMaximum   *big.Rat
	allOf       []*qschema
	anyOf       []*qschema
	oneOf       []*qschema
	not         *qschema
	ifS         *qschema
	thenS       *qschema
	elseS       *qschema
	ref         *qschema
}

type patProp struct {
	re *regexp.Regexp
	s  *qschema
}

// annotations are keywords that never make a document invalid.
var annotations = map[string]bool{
	"$schema": true, "$id": true, "$comment": true, "$defs": true, "title": true,
	"description": true, "markdownDescription": true, "errorMessage": true,
	"examples": true, "default": true, "deprecated": true,
}

type qcompiler struct {
	doc  any
	refs map[string]*qschema
}

func (qc *qcompiler) compile(raw any) *qschema {
	s := &qschema{minItems: -1, maxItems: -1, minLen: -1, maxLen: -1, minProps: -1, maxProps: -1}
	switch raw := raw.(type) {
	case bool:
		s.never = !raw
		return s
	case map[string]any:
		qc.fill(s, raw)
		return s
	}
	s.unsupported = true
	return s
}

func (qc *qcompiler) list(v any) ([]*qschema, bool) {
	l, ok := v.([]any)
	if !ok {
		return nil, false
	}
	out := make([]*qschema, len(l))
	for i, x := range l {
		out[i] = qc.compile(x)
	}
	return out, true
}

func (qc *qcompiler) fill(s *qschema, m map[string]any) {
	bad := func() { s.unsupported = true }
	for k, v := range m {
		if annotations[k] {
			continue
		}
		switch k {
		case "type":
			switch t := v.(type) {
			case string:
				s.types |= typeBits[t]
				if typeBits[t] == 0 {
					bad()
				}
			case []any:
				for _, x := range t {
					name, _ := x.(string)
					if typeBits[name] == 0 {
						bad()
					}
					s.types |= typeBits[name]
				}
			default:
				bad()
			}
		case "properties":
			pm, ok := v.(map[string]any)
			if !ok {
				bad()
				continue
			}
			s.props = make(map[string]*qschema, len(pm))
			for name, x := range pm {
				s.props[name] = qc.compile(x)
			}
		case "patternProperties":
			pm, ok := v.(map[string]any)
			if !ok {
				bad()
				continue
			}
			for p, x := range pm {
				re, err := regexp.Compile(p)
				if err != nil {
					bad()
					continue
				}
				s.patProps = append(s.patProps, patProp{re, qc.compile(x)})
			}
		case "additionalProperties":
			s.addl = qc.compile(v)
		case "required":
			l, ok := v.([]any)
			if !ok {
				bad()
				continue
			}
			for _, x := range l {
				name, ok := x.(string)
				if !ok {
					bad()
				}
				s.required = append(s.required, name)
			}
		case "enum":
			l, ok := v.([]any)
			if !ok {
				bad()
				continue
			}
			s.enum, s.hasEnum = l, true
		case "const":
			s.cnst, s.hasConst = v, true
		case "pattern":
			p, _ := v.(string)
			re, err := regexp.Compile(p)
			if err != nil {
				bad()
				continue
			}
			s.pattern = re
		case "items":
			if _, ok := v.([]any); ok {
				bad() // the pre-2020 tuple form
				continue
			}
			s.items = qc.compile(v)
		case "minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties":
			n, ok := v.(json.Number)
			i, err := strconv.Atoi(string(n))
			if !ok || err != nil || i < 0 {
				bad()
				continue
			}
			switch k {
			case "minItems":
				s.minItems = i
			case "maxItems":
				s.maxItems = i
			case "minLength":
				s.minLen = i
			case "maxLength":
				s.maxLen = i
			case "minProperties":
				s.minProps = i
			case "maxProperties":
				s.maxProps = i
			}
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum":
			n, ok := v.(json.Number)
			r, ok2 := new(big.Rat).SetString(string(n))
			if !ok || !ok2 {
				bad()
				continue
			}
			switch k {
			case "minimum":
				s.minimum = r
			case "maximum":
				s.maximum = r
			case "exclusiveMinimum":
				s.exMinimum = r
			case "exclusiveMaximum":
				s.exMaximum = r
			}
		case "allOf", "anyOf", "oneOf":
			l, ok := qc.list(v)
			if !ok || len(l) == 0 {
				bad()
				continue
			}
			switch k {
			case "allOf":
				s.allOf = l
			case "anyOf":
				s.anyOf = l
			case "oneOf":
				s.oneOf = l
			}
		case "not":
			s.not = qc.compile(v)
		case "if":
			s.ifS = qc.compile(v)
		case "then":
			s.thenS = qc.compile(v)
		case "else":
			s.elseS = qc.compile(v)
		case "$ref":
			ref, _ := v.(string)
			s.ref = qc.resolve(ref)
		default:
			bad()
		}
	}
}

// resolve compiles a local reference ("#/$defs/step") once; recursive
// schemas share the one compiled node.
func (qc *qcompiler) resolve(ref string) *qschema {
	if s, ok := qc.refs[ref]; ok {
		return s
	}
	s := &qschema{minItems: -1, maxItems: -1, minLen: -1, maxLen: -1, minProps: -1, maxProps: -1}
	qc.refs[ref] = s
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok {
		s.unsupported = true
		return s
	}
	r := reporter{raw: qc.doc}
	target := r.schemaNodeAt(frag)
	if frag != "" && target == nil {
		s.unsupported = true
		return s
	}
	switch t := target.(type) {
	case bool:
		s.never = !t
	case map[string]any:
		qc.fill(s, t)
	default:
		s.unsupported = true
	}
	return s
}

// ---- the pass ---------------------------------------------------------------

// valid reports whether n is valid against s for certain: false means
// invalid or not sure.
func (s *qschema) valid(n *lang.Node) bool {
	v := qvalidator{}
	ok := v.check(s, n)
	return ok && !v.unsure
}

type qvalidator struct {
	unsure bool // met something the pass does not decide; the answer is void
}

func nodeTypes(n *lang.Node) (bits uint8, ok bool) {
	switch n.Kind {
	case lang.NullNode:
		return tNull, true
	case lang.BoolNode:
		return tBoolean, true
	case lang.IntNode:
		return tInteger | tNumber, true
	case lang.FloatNode:
		if math.IsNaN(n.Float) || math.IsInf(n.Float, 0) {
			return 0, false // normalised to a string by Validate
		}
		if n.Float == math.Trunc(n.Float) {
			return tInteger | tNumber, true
		}
		return tNumber, true
	case lang.StringNode:
		return tString, true
	case lang.MapNode:
		return tObject, true
	case lang.ListNode:
		return tArray, true
	}
	return 0, false
}

func (v *qvalidator) check(s *qschema, n *lang.Node) bool {
	if v.unsure {
		return false
	}
	if s.unsupported {
		v.unsure = true
		return false
	}
	if s.never {
		return false
	}
	if n == nil {
		v.unsure = true
		return false
	}
	bits, ok := nodeTypes(n)
	if !ok {
		v.unsure = true
		return false
	}
	if s.types != 0 && bits&s.types == 0 {
		return false
	}
	if s.ref != nil && !v.check(s.ref, n) {
		return false
	}
	if s.hasConst && !v.equal(n, s.cnst) {
		return false
	}
	if s.hasEnum {
		found := false
		for _, e := range s.enum {
			if v.equal(n, e) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	switch n.Kind {
	case lang.StringNode:
		if s.pattern != nil && !s.pattern.MatchString(n.Str) {
			return false
		}
		if s.minLen >= 0 || s.maxLen >= 0 {
			c := utf8.RuneCountInString(n.Str)
			if (s.minLen >= 0 && c < s.minLen) || (s.maxLen >= 0 && c > s.maxLen) {
				return false
			}
		}
	case lang.IntNode, lang.FloatNode:
		if s.minimum != nil || s.maximum != nil || s.exMinimum != nil || s.exMaximum != nil {
			var x big.Rat
			if n.Kind == lang.IntNode {
				x.SetInt64(n.Int)
			} else {
				x.SetFloat64(n.Float)
			}
			if (s.minimum != nil && x.Cmp(s.minimum) < 0) || (s.maximum != nil && x.Cmp(s.maximum) > 0) ||
				(s.exMinimum != nil && x.Cmp(s.exMinimum) <= 0) || (s.exMaximum != nil && x.Cmp(s.exMaximum) >= 0) {
				return false
			}
		}
	case lang.MapNode:
		if !v.object(s, n) {
			return false
		}
	case lang.ListNode:
		if (s.minItems >= 0 && len(n.Items) < s.minItems) || (s.maxItems >= 0 && len(n.Items) > s.maxItems) {
			return false
		}
		if s.items != nil {
			for _, it := range n.Items {
				if !v.check(s.items, it) {
					return false
				}
			}
		}
	}
	for _, x := range s.allOf {
		if !v.check(x, n) {
			return false
		}
	}
	if s.anyOf != nil {
		found := false
		for _, x := range s.anyOf {
			if v.check(x, n) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	if s.oneOf != nil {
		matched := 0
		for _, x := range s.oneOf {
			if v.check(x, n) {
				matched++
			}
		}
		if matched != 1 {
			return false
		}
	}
	if s.not != nil && v.check(s.not, n) {
		return false
	}
	if s.ifS != nil {
		if v.check(s.ifS, n) {
			if s.thenS != nil && !v.check(s.thenS, n) {
				return false
			}
		} else if s.elseS != nil && !v.check(s.elseS, n) {
			return false
		}
	}
	return !v.unsure
}

func (v *qvalidator) object(s *qschema, n *lang.Node) bool {
	if len(n.Keys) != len(n.Vals) {
		v.unsure = true
		return false
	}
	if (s.minProps >= 0 && len(n.Keys) < s.minProps) || (s.maxProps >= 0 && len(n.Keys) > s.maxProps) {
		return false
	}
	for i, k := range n.Keys {
		// a key given twice: Value keeps the last, so leave it to Validate
		for _, k2 := range n.Keys[:i] {
			if k2.Str == k.Str {
				v.unsure = true
				return false
			}
		}
	}
	for _, r := range s.required {
		if n.KeyNode(r) == nil {
			return false
		}
	}
	if s.props == nil && s.patProps == nil && s.addl == nil {
		return true
	}
	for i, k := range n.Keys {
		val := n.Vals[i]
		matched := false
		if p, ok := s.props[k.Str]; ok {
			matched = true
			if !v.check(p, val) {
				return false
			}
		}
		for _, pp := range s.patProps {
			if pp.re.MatchString(k.Str) {
				matched = true
				if !v.check(pp.s, val) {
					return false
				}
			}
		}
		if !matched && s.addl != nil && !v.check(s.addl, val) {
			return false
		}
	}
	return true
}

// equal compares a node with a JSON value of the schema (enum, const) as
// JSON Schema does; values it does not compare make the pass unsure.
func (v *qvalidator) equal(n *lang.Node, want any) bool {
	switch w := want.(type) {
	case nil:
		return n.Kind == lang.NullNode
	case bool:
		return n.Kind == lang.BoolNode && n.Bool == w
	case string:
		return n.Kind == lang.StringNode && n.Str == w
	case json.Number:
		r, ok := new(big.Rat).SetString(string(w))
		if !ok {
			v.unsure = true
			return false
		}
		var x big.Rat
		switch n.Kind {
		case lang.IntNode:
			x.SetInt64(n.Int)
		case lang.FloatNode:
			if math.IsNaN(n.Float) || math.IsInf(n.Float, 0) {
				v.unsure = true
				return false
			}
			x.SetFloat64(n.Float)
		default:
			return false
		}
		return x.Cmp(r) == 0
	}
	v.unsure = true
	return false
}
