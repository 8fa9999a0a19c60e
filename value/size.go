package value

import (
	"reflect"
	"time"
	"unsafe"
)

// Approximate sizes, in bytes, of the parts of a plain value on a 64-bit
// platform: what holding it costs, not what encoding it costs.
const (
	sizeScalar = SizeScalar
	sizeString = 16 // a string header, plus its bytes
	sizeList   = 24 // a slice header, plus 16 per element and the elements
	sizeMap    = 48 // a map header, plus per entry its key and value
	sizeEntry  = 16 // per map entry beyond key and value (buckets, tophash)
)

// SizeScalar is the size of the smallest value: a number, a bool, null.
const SizeScalar = 16

// Size is the approximate number of bytes a value holds: strings count their
// bytes, lists and objects their elements, each reference in full (a list
// holding one string 1,000 times counts it 1,000 times, as encoding it
// would). It is the measure of the run's memory budget.
func Size(v any) int64 {
	n, _ := SizeAtMost(v, -1)
	return n
}

// SizeAtMost is Size, but stops walking once the size exceeds limit (a
// negative limit: never) and then reports over; n is at least the size
// counted so far.
func SizeAtMost(v any, limit int64) (n int64, over bool) {
	s := sizer{limit: limit}
	s.add(v)
	return s.n, s.over
}

// Measured is what Measure found.
type Measured struct {
	Size  int64 // at least the size counted before the walk stopped
	Over  bool  // over the limit, or too deep
	Deep  bool  // nested deeper than MaxSizeDepth
	Holds bool  // holds one of the maps asked about
}

// Measure is SizeAtMost that also reports whether v is nested deeper than
// MaxSizeDepth, and whether it holds (is, or contains) one of the given
// maps, by identity.
func Measure(v any, limit int64, maps ...map[string]any) Measured {
	// the maps asked about go in an array of this frame, not of s: a
	// sizer holding a slice of itself moves to the heap, one allocation per
	// value stored by a run
	var buf [2]unsafe.Pointer
	s := sizer{limit: limit, holds: buf[:0]}
	for _, m := range maps {
		if m != nil {
			s.holds = append(s.holds, reflect.ValueOf(m).UnsafePointer())
		}
	}
	s.add(v)
	return Measured{Size: s.n, Over: s.over, Deep: s.deep, Holds: s.found}
}

type sizer struct {
	n     int64
	limit int64
	over  bool
	depth int
	deep  bool
	holds []unsafe.Pointer
	found bool
}

// MaxSizeDepth is how deep Size follows nested lists and objects; a value
// nested deeper (or one that holds itself, as `${ [vars] }` set in vars
// does) counts as over any limit.
const MaxSizeDepth = 10_000

func (s *sizer) grow(k int64) bool {
	s.n += k
	if s.limit >= 0 && s.n > s.limit {
		s.over = true
	}
	return !s.over
}

func (s *sizer) add(v any) bool {
	switch t := v.(type) {
	case nil, bool, int, int64, float64, int32, float32, uint, uint64, time.Time, time.Duration:
		return s.grow(sizeScalar)
	case string:
		return s.grow(sizeString + int64(len(t)))
	case []byte:
		return s.grow(sizeList + int64(len(t)))
	case []any:
		if !s.enter() || !s.grow(sizeList+sizeScalar*int64(len(t))) {
			return false
		}
		for _, x := range t {
			if !s.add(x) {
				return false
			}
		}
		s.depth--
		return true
	case map[string]any:
		if len(s.holds) > 0 {
			p := reflect.ValueOf(t).UnsafePointer()
			for _, h := range s.holds {
				if p == h {
					s.found = true
				}
			}
		}
		if !s.enter() || !s.grow(sizeMap+(sizeEntry+sizeString+sizeScalar)*int64(len(t))) {
			return false
		}
		for k, x := range t {
			if !s.grow(int64(len(k))) || !s.add(x) {
				return false
			}
		}
		s.depth--
		return true
	case []string:
		if !s.grow(sizeList + sizeString*int64(len(t))) {
			return false
		}
		for _, x := range t {
			if !s.grow(int64(len(x))) {
				return false
			}
		}
		return true
	case []int:
		return s.grow(sizeList + 8*int64(len(t)))
	case []float64:
		return s.grow(sizeList + 8*int64(len(t)))
	}
	return s.reflect(reflect.ValueOf(v))
}

// enter goes one level deeper; past MaxSizeDepth the value is over. (A walk
// that stops early leaves depth as it is: the sizer is not used again.)
func (s *sizer) enter() bool {
	if s.depth >= MaxSizeDepth {
		s.over, s.deep = true, true
		return false
	}
	s.depth++
	return true
}

// reflect sizes what the switch above does not know: typed slices, maps
// and structs an expression or a builtin made.
func (s *sizer) reflect(rv reflect.Value) bool {
	if !s.enter() {
		return false
	}
	defer func() { s.depth-- }()
	switch rv.Kind() {
	case reflect.String:
		return s.grow(sizeString + int64(rv.Len()))
	case reflect.Slice, reflect.Array:
		if !s.grow(sizeList + int64(rv.Len())*int64(rv.Type().Elem().Size())) {
			return false
		}
		if scalarKind(rv.Type().Elem().Kind()) {
			return true
		}
		for i := range rv.Len() {
			if !s.reflect(rv.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if !s.grow(sizeMap + (sizeEntry+sizeString+sizeScalar)*int64(rv.Len())) {
			return false
		}
		it := rv.MapRange()
		for it.Next() {
			if !s.reflect(it.Key()) || !s.reflect(it.Value()) {
				return false
			}
		}
		return true
	case reflect.Interface, reflect.Pointer:
		if rv.IsNil() {
			return s.grow(sizeScalar)
		}
		return s.reflect(rv.Elem())
	case reflect.Struct:
		return s.grow(int64(rv.Type().Size()))
	case reflect.Invalid:
		return s.grow(sizeScalar)
	}
	return s.grow(sizeScalar)
}

func scalarKind(k reflect.Kind) bool {
	switch k {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128:
		return true
	}
	return false
}
