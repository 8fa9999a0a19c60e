package value

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"time"
)

// Normalize converts values produced by expressions (typed slices and maps,
// int64, times) into the plain JSON-like values flows exchange.
func Normalize(v any) any {
	n, _ := Normalized(v)
	return n
}

// Normalized is Normalize that also reports whether anything changed, so
// that plain values (the common case) are walked without copying.
func Normalized(v any) (any, bool) {
	switch t := v.(type) {
	case nil, string, bool, int, float64:
		return v, false
	case int64:
		if t >= math.MinInt && t <= math.MaxInt {
			return int(t), true
		}
		return float64(t), true
	case int32:
		return int(t), true
	case float32:
		return float64(t), true
	case uint64:
		if t <= math.MaxInt64 {
			return int(t), true
		}
		return float64(t), true
	case time.Time:
		return t.Format(time.RFC3339Nano), true
	case time.Duration:
		return t.String(), true
	case map[string]any:
		var out map[string]any
		for k, x := range t {
			n, changed := Normalized(x)
			if !changed {
				continue
			}
			if out == nil {
				out = make(map[string]any, len(t))
				for k2, x2 := range t {
					out[k2] = x2
				}
			}
			out[k] = n
		}
		if out != nil {
			return out, true
		}
		return t, false
	case []any:
		var out []any
		for i, x := range t {
			n, changed := Normalized(x)
			if !changed {
				continue
			}
			if out == nil {
				out = make([]any, len(t))
				copy(out, t)
			}
			out[i] = n
		}
		if out != nil {
			return out, true
		}
		return t, false
	case json.Number:
		return fixNumbers(t), true
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = Normalize(rv.Index(i).Interface())
		}
		return out, true
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[fmt.Sprint(it.Key().Interface())] = Normalize(it.Value().Interface())
		}
		return out, true
	case reflect.Int, reflect.Int8, reflect.Int16:
		return int(rv.Int()), true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32:
		return int(rv.Uint()), true
	case reflect.Float32, reflect.Float64:
		return rv.Float(), true
	case reflect.String:
		return rv.String(), true
	case reflect.Bool:
		return rv.Bool(), true
	case reflect.Pointer:
		if rv.IsNil() {
			return nil, true
		}
		n, _ := Normalized(rv.Elem().Interface())
		return n, true
	}
	return v, false
}
