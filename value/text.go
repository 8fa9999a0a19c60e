package value

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"
)

// Text turns a value into text the way templates, query values, headers and
// toString() do: strings unchanged, numbers by FormatNumber, booleans
// true/false, null as "", times in RFC 3339, durations as Go durations, and
// objects and lists as compact JSON.
func Text(v any) string {
	if s, ok := ScalarText(v); ok {
		return s
	}
	b, err := MarshalJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// ScalarText is Text for scalars; ok is false for objects, lists and other
// non-scalars. Null gives "".
func ScalarText(v any) (string, bool) {
	switch s := v.(type) {
	case nil:
		return "", true
	case string:
		return s, true
	case bool:
		return strconv.FormatBool(s), true
	case int:
		return strconv.Itoa(s), true
	case int64:
		return strconv.FormatInt(s, 10), true
	case float64:
		return formatFloat(s), true
	case time.Time:
		return s.Format(time.RFC3339Nano), true
	case *time.Time:
		if s == nil {
			return "", true
		}
		return s.Format(time.RFC3339Nano), true
	case time.Duration:
		return s.String(), true
	case json.Number:
		return FormatNumber(s), true
	case fmt.Stringer:
		if reflect.ValueOf(v).Kind() != reflect.Map && reflect.ValueOf(v).Kind() != reflect.Slice {
			return s.String(), true
		}
	}
	if _, ok := Number(v); ok {
		return FormatNumber(v), true
	}
	switch rv := reflect.ValueOf(v); rv.Kind() {
	case reflect.String:
		return rv.String(), true
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), true
	}
	return "", false
}

// FormatNumber is the one number-to-text rule of the language: integers in
// full, other numbers in the shortest form that reads back to the same
// value, without an exponent between 1e-6 and 1e21 (as JavaScript prints
// them), so 1e20 is "100000000000000000000" and 3.0 is "3".
func FormatNumber(v any) string {
	switch n := v.(type) {
	case int:
		return strconv.Itoa(n)
	case int64:
		return strconv.FormatInt(n, 10)
	case uint64:
		return strconv.FormatUint(n, 10)
	case float64:
		return formatFloat(n)
	case json.Number:
		if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
		f, _ := n.Float64()
		return formatFloat(f)
	}
	f, _ := Number(v)
	if rv := reflect.ValueOf(v); rv.CanInt() {
		return strconv.FormatInt(rv.Int(), 10)
	} else if rv.CanUint() {
		return strconv.FormatUint(rv.Uint(), 10)
	}
	return formatFloat(f)
}

func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if a := math.Abs(f); a == 0 || (a >= 1e-6 && a < 1e21) {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Number converts any Go number (and json.Number) to float64.
func Number(v any) (float64, bool) {
	switch n := v.(type) {
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	case float32:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

// MarshalJSON encodes v compactly, keys sorted, without escaping HTML
// characters.
func MarshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(Normalize(v)); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// TypeName names the type of a run-time value in the language's terms:
// null, string, boolean, integer, number, object, list (and time, duration
// for what builtins produce).
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int, int64, int32, int16, int8, uint64, uint, uint32, uint16, uint8:
		return "integer"
	case float64, float32, json.Number:
		return "number"
	case time.Time, *time.Time:
		return "time"
	case time.Duration:
		return "duration"
	case map[string]any:
		return "object"
	case []any:
		return "list"
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map, reflect.Struct:
		return "object"
	case reflect.Slice, reflect.Array:
		return "list"
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	}
	return fmt.Sprintf("%T", v)
}
