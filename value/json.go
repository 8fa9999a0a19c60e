package value

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
)

// DecodeJSON parses JSON into plain values: objects as map[string]any, arrays
// as []any, integers as int (when they fit) and other numbers as float64.
//
// It runs a small parser made for the shapes HTTP APIs send; anything that
// parser does not accept (invalid JSON, and the rare valid text it leaves to
// encoding/json) is decoded by encoding/json, whose result and error
// messages are the reference.
func DecodeJSON(data []byte) (any, error) {
	p := jsonParser{data: data}
	if v, ok := p.parse(); ok {
		return v, nil
	}
	return decodeJSONStd(data)
}

// decodeJSONStd is DecodeJSON with encoding/json.
func decodeJSONStd(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	// More is false before a stray '}' or ']' too ("{}}"): only the end of
	// the input may follow the value (found by FuzzStoredState)
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("invalid JSON: data after the top-level value")
	}
	if err := numbersInRange(v); err != nil {
		return nil, err
	}
	return fixNumbers(v), nil
}

// numbersInRange refuses a number too large for a float64 (1e400), which
// would decode to an infinity that no JSON can hold again.
func numbersInRange(v any) error {
	switch t := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(t), 64); err != nil {
			return fmt.Errorf("invalid JSON: number %s is out of range", t)
		}
	case map[string]any:
		for _, x := range t {
			if err := numbersInRange(x); err != nil {
				return err
			}
		}
	case []any:
		for _, x := range t {
			if err := numbersInRange(x); err != nil {
				return err
			}
		}
	}
	return nil
}

func fixNumbers(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(t), 10, 64); err == nil && i >= math.MinInt && i <= math.MaxInt {
			return int(i)
		}
		f, _ := t.Float64()
		return f
	case map[string]any:
		for k, x := range t {
			t[k] = fixNumbers(x)
		}
	case []any:
		for i, x := range t {
			t[i] = fixNumbers(x)
		}
	}
	return v
}

// maxJSONDepth is encoding/json's nesting limit.
const maxJSONDepth = 10000

// jsonParser is a recursive-descent JSON parser. It reports false, never an
// error, when it does not accept the input.
type jsonParser struct {
	data    []byte
	i       int
	depth   int
	keys    map[string]string // interned object keys, see key
	objects int               // objects begun
}

func (p *jsonParser) parse() (any, bool) {
	v, ok := p.value()
	if !ok {
		return nil, false
	}
	p.space()
	return v, p.i == len(p.data)
}

func (p *jsonParser) space() {
	for p.i < len(p.data) {
		switch p.data[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jsonParser) value() (any, bool) {
	p.space()
	if p.i >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.i]; {
	case c == '{':
		return p.object()
	case c == '[':
		return p.array()
	case c == '"':
		return p.str()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return true, p.literal("true")
	case c == 'f':
		return false, p.literal("false")
	case c == 'n':
		return nil, p.literal("null")
	}
	return nil, false
}

func (p *jsonParser) literal(s string) bool {
	if len(p.data)-p.i < len(s) || string(p.data[p.i:p.i+len(s)]) != s {
		return false
	}
	p.i += len(s)
	return true
}

func (p *jsonParser) object() (any, bool) {
	p.depth++
	if p.depth > maxJSONDepth {
		return nil, false
	}
	p.i++ // {
	p.objects++
	m := map[string]any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == '}' {
		p.i++
		p.depth--
		return m, true
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
		v, ok := p.value()
		if !ok {
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
			return m, true
		default:
			return nil, false
		}
	}
}

func (p *jsonParser) array() (any, bool) {
	p.depth++
	if p.depth > maxJSONDepth {
		return nil, false
	}
	p.i++ // [
	l := []any{}
	p.space()
	if p.i < len(p.data) && p.data[p.i] == ']' {
		p.i++
		p.depth--
		return l, true
	}
	for {
		v, ok := p.value()
		if !ok {
			return nil, false
		}
		l = append(l, v)
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
			return l, true
		default:
			return nil, false
		}
	}
}

// key reads an object key. From the second object of a document on, keys
// are interned, so a list of objects shares one string per key name.
func (p *jsonParser) key() (string, bool) {
	if p.objects < 2 {
		v, ok := p.str()
		if !ok {
			return "", false
		}
		return v.(string), true
	}
	start := p.i
	j := start + 1
	for j < len(p.data) {
		c := p.data[j]
		if c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			break
		}
		j++
	}
	plain := j < len(p.data) && p.data[j] == '"'
	if plain {
		if s, ok := p.keys[string(p.data[start+1:j])]; ok {
			p.i = j + 1
			return s, true
		}
	}
	v, ok := p.str()
	if !ok {
		return "", false
	}
	s := v.(string)
	if plain {
		if p.keys == nil {
			p.keys = make(map[string]string, 16)
		}
		if len(p.keys) < 4096 {
			p.keys[s] = s
		}
	}
	return s, true
}

// str reads a string. Plain ASCII text is taken as is; a string with escapes
// or other bytes is handed to encoding/json, which unescapes it and replaces
// invalid UTF-8 as it always does.
func (p *jsonParser) str() (any, bool) {
	start := p.i
	p.i++ // "
	plain := true
	for p.i < len(p.data) {
		c := p.data[p.i]
		switch {
		case c == '"':
			p.i++
			if plain {
				return string(p.data[start+1 : p.i-1]), true
			}
			var s string
			if err := json.Unmarshal(p.data[start:p.i], &s); err != nil {
				return nil, false
			}
			return s, true
		case c == '\\':
			plain = false
			p.i += 2
		case c < 0x20:
			return nil, false
		case c >= 0x80:
			plain = false
			p.i++
		default:
			p.i++
		}
	}
	return nil, false
}

func (p *jsonParser) number() (any, bool) {
	start := p.i
	d := p.data
	if d[p.i] == '-' {
		p.i++
	}
	if p.i >= len(d) {
		return nil, false
	}
	switch {
	case d[p.i] == '0':
		p.i++
	case d[p.i] >= '1' && d[p.i] <= '9':
		for p.i < len(d) && d[p.i] >= '0' && d[p.i] <= '9' {
			p.i++
		}
	default:
		return nil, false
	}
	isInt := true
	if p.i < len(d) && d[p.i] == '.' {
		isInt = false
		p.i++
		if !p.digits() {
			return nil, false
		}
	}
	if p.i < len(d) && (d[p.i] == 'e' || d[p.i] == 'E') {
		isInt = false
		p.i++
		if p.i < len(d) && (d[p.i] == '+' || d[p.i] == '-') {
			p.i++
		}
		if !p.digits() {
			return nil, false
		}
	}
	if isInt && p.i-start <= 18 && strconv.IntSize == 64 {
		// fits in int64 whatever the digits: no allocation
		n, neg := 0, d[start] == '-'
		for _, c := range d[start:p.i] {
			if c != '-' {
				n = n*10 + int(c-'0')
			}
		}
		if neg {
			n = -n
		}
		return n, true
	}
	s := string(d[start:p.i])
	if isInt {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil && n >= math.MinInt && n <= math.MaxInt {
			return int(n), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return nil, false // out of range: decodeJSONStd says so
	}
	return f, true
}

func (p *jsonParser) digits() bool {
	start := p.i
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}
