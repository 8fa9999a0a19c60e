package value

import (
	"encoding/json"
	"math"
	"strconv"
)

// LazyList is a JSON array kept as its text, each item decoded when it is
// asked for: a 1,000,000-item input list costs its bytes and one offset per
// item instead of a million maps. The text was checked when the list was
// made (DecodeJSONLazy), so every item decodes, to exactly what DecodeJSON
// gives for it. A LazyList is never modified; it is safe for concurrent use.
//
// Only a for_each over an input the flow uses for nothing else sees one
// (run/, check/analyze.go): everything else gets List's plain []any.
type LazyList struct {
	raw  []byte   // the array's text, from '[' to ']'
	offs []uint32 // where each item starts in raw
}

// Len is the number of items.
func (l *LazyList) Len() int { return len(l.offs) }

// At decodes item i.
func (l *LazyList) At(i int) any {
	// depth 2: the item of a list in the inputs object, as DecodeJSON
	// counted it
	p := jsonParser{data: l.raw, i: int(l.offs[i]), depth: 2}
	v, ok := p.value()
	if !ok {
		// the text was checked by skip; this is a bug, not bad input
		panic("value: a lazily decoded list item does not decode")
	}
	return v
}

// List decodes every item: the []any DecodeJSON gives for the array.
func (l *LazyList) List() []any {
	out := make([]any, len(l.offs))
	p := jsonParser{data: l.raw, depth: 2}
	for i, off := range l.offs {
		p.i = int(off)
		v, ok := p.value()
		if !ok {
			panic("value: a lazily decoded list item does not decode")
		}
		out[i] = v
	}
	return out
}

// Materialize returns v with every LazyList directly in it (v itself, or a
// value of the object v) decoded; v is not modified. Other values are
// returned as they are.
func Materialize(v any) any {
	switch t := v.(type) {
	case *LazyList:
		return t.List()
	case map[string]any:
		var out map[string]any
		for k, x := range t {
			if l, ok := x.(*LazyList); ok {
				if out == nil {
					out = make(map[string]any, len(t))
					for k2, y := range t {
						out[k2] = y
					}
				}
				out[k] = l.List()
			}
		}
		if out != nil {
			return out
		}
	}
	return v
}

// MaterializeMap is Materialize for an object.
func MaterializeMap(m map[string]any) map[string]any {
	return Materialize(m).(map[string]any)
}

// LazyMinBytes is the smallest array DecodeJSONLazy keeps as text: below
// it, decoding is cheaper than the offsets and the bookkeeping.
const LazyMinBytes = 1 << 20

// DecodeJSONLazy is DecodeJSON for an object of inputs, except that each
// value of the top-level object that is an array of at least minBytes of
// text is a *LazyList over data (which must then not change). The result
// and every error are DecodeJSON's: anything the lazy reading does not
// accept is decoded by DecodeJSON, whose answer is the reference.
func DecodeJSONLazy(data []byte, minBytes int) (any, error) {
	if minBytes < 1 {
		minBytes = 1
	}
	p := jsonParser{data: data}
	if v, ok := p.lazyTop(minBytes); ok {
		return v, nil
	}
	return DecodeJSON(data)
}

// lazyTop parses a whole document that is an object, keeping its large
// arrays as LazyLists; false for anything else (and for what parse would
// not accept).
func (p *jsonParser) lazyTop(minBytes int) (any, bool) {
	p.space()
	if p.i >= len(p.data) || p.data[p.i] != '{' || len(p.data) > math.MaxUint32 {
		return nil, false
	}
	p.depth++
	p.i++ // {
	p.objects++
	m := map[string]any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		p.depth--
		p.space()
		return m, p.i == len(p.data)
	}
	for {
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != '"' {
			return nil, false
		}
		k, ok := p.key()
		if !ok {
			return nil, false
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return nil, false
		}
		p.i++
		p.space()
		var v any
		if p.i < len(p.data) && p.data[p.i] == '[' {
			start := p.i
			offs, ok := p.skipArray(true)
			if !ok {
				return nil, false
			}
			if p.i-start >= minBytes {
				v = &LazyList{raw: p.data[start:p.i:p.i], offs: offs}
			} else {
				p.i = start
				if v, ok = p.value(); !ok {
					return nil, false
				}
			}
		} else if v, ok = p.value(); !ok {
			return nil, false
		}
		m[k] = v
		p.space()
		if p.i >= len(p.data) {
			return nil, false
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			p.space()
			return m, p.i == len(p.data)
		default:
			return nil, false
		}
	}
}

// skip passes over one value, accepting exactly what value accepts,
// without building it.
func (p *jsonParser) skip() bool {
	p.space()
	if p.i >= len(p.data) {
		return false
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.skipObject()
	case c == '[':
		_, ok := p.skipArray(false)
		return ok
	case c == '"':
		return p.skipStr()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.skipNumber()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return false
}

func (p *jsonParser) skipObject() bool {
	p.depth++
	if p.depth > maxJSONDepth {
		return false
	}
	p.i++ // {
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		p.depth--
		return true
	}
	for {
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != '"' || !p.skipStr() {
			return false
		}
		p.space()
		if p.i >= len(p.data) || p.data[p.i] != ':' {
			return false
		}
		p.i++
		if !p.skip() {
			return false
		}
		p.space()
		if p.i >= len(p.data) {
			return false
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			p.depth--
			return true
		default:
			return false
		}
	}
}

// skipArray passes over an array; with offsets, it returns where each of
// its items starts, from the array's '['.
func (p *jsonParser) skipArray(offsets bool) ([]uint32, bool) {
	p.depth++
	if p.depth > maxJSONDepth {
		return nil, false
	}
	start := p.i
	p.i++ // [
	var offs []uint32
	if offsets {
		offs = []uint32{}
	}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		p.depth--
		return offs, true
	}
	for {
		p.space()
		if offsets {
			offs = append(offs, uint32(p.i-start))
		}
		if !p.skip() {
			return nil, false
		}
		p.space()
		if p.i >= len(p.data) {
			return nil, false
		}
		switch p.data[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			p.depth--
			return offs, true
		default:
			return nil, false
		}
	}
}

// skipStr passes over a string str accepts: a string with escapes or
// non-ASCII bytes is accepted when encoding/json would decode it (str hands
// it to json.Unmarshal).
func (p *jsonParser) skipStr() bool {
	start := p.i
	p.i++ // "
	plain := true
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			return plain || json.Valid(p.data[start:p.i])
		case c == '\\':
			plain = false
			p.i += 2
		case c < 0x20:
			return false
		case c >= 0x80:
			plain = false
			p.i++
		default:
			p.i++
		}
	}
	return false
}

// skipNumber passes over a number number accepts: it refuses what does not
// fit in a float64 (1e400).
func (p *jsonParser) skipNumber() bool {
	start := p.i
	d := p.data
	if d[p.i] == '-' {
		p.i++
	}
	if p.i >= len(d) {
		return false
	}
	switch {
	case d[p.i] == '0':
		p.i++
	case d[p.i] >= '1' && d[p.i] <= '9':
		for p.i < len(d) && d[p.i] >= '0' && d[p.i] <= '9' {
			p.i++
		}
	default:
		return false
	}
	exp := false
	if p.i < len(d) && d[p.i] == '.' {
		p.i++
		if !p.digits() {
			return false
		}
	}
	if p.i < len(d) && (d[p.i] == 'e' || d[p.i] == 'E') {
		exp = true
		p.i++
		if p.i < len(d) && (d[p.i] == '+' || d[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return false
		}
	}
	if !exp && p.i-start <= 300 {
		return true // fewer than 300 digits and no exponent: within range
	}
	// number falls back to ParseFloat for whatever ParseInt refuses, so
	// the number is accepted when ParseFloat accepts it
	_, err := strconv.ParseFloat(string(d[start:p.i]), 64)
	return err == nil
}
