package builtins

import (
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/flowrun/flowrun/value"
)

// call carries one invocation of a builtin: its name (for error messages) and
// its arguments. The argument slice belongs to the caller (expr reuses its
// buffer), so nothing may keep a reference to it after the call returns.
type call struct {
	name string
	args []any
}

func (c *call) errorf(format string, a ...any) error {
	return fmt.Errorf("%s: %s", c.name, fmt.Sprintf(format, a...))
}

// argError reports argument i (0-based) having the wrong type.
func (c *call) argError(i int, want string) error {
	return c.errorf("argument %d must be %s, got %s", i+1, want, typeName(c.args[i]))
}

// arity checks the number of arguments; max < 0 means no upper bound.
func (c *call) arity(min, max int) error {
	n := len(c.args)
	if n >= min && (max < 0 || n <= max) {
		return nil
	}
	var want string
	switch {
	case max < 0:
		want = fmt.Sprintf("at least %d %s", min, plural(min, "argument"))
	case min == max:
		want = fmt.Sprintf("%d %s", min, plural(min, "argument"))
	default:
		want = fmt.Sprintf("%d to %d arguments", min, max)
	}
	return c.errorf("expects %s, got %d", want, n)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func (c *call) str(i int) (string, error) {
	switch v := c.args[i].(type) {
	case string:
		return v, nil
	case nil:
		return "", c.argError(i, "a string")
	}
	if rv := reflect.ValueOf(c.args[i]); rv.Kind() == reflect.String {
		return rv.String(), nil
	}
	return "", c.argError(i, "a string")
}

// integer converts a number to int when it is integral; values beyond the
// range of int saturate.
func integer(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return clampInt64(n), true
	case int32:
		return int(n), true
	case uint64:
		if n > math.MaxInt {
			return math.MaxInt, true
		}
		return int(n), true
	case json.Number:
		if i, err := n.Int64(); err == nil {
			return clampInt64(i), true
		}
	}
	f, ok := number(v)
	if !ok || math.IsNaN(f) || f != math.Trunc(f) {
		return 0, false
	}
	switch {
	case f >= math.MaxInt:
		return math.MaxInt, true
	case f <= math.MinInt:
		return math.MinInt, true
	}
	return int(f), true
}

func clampInt64(n int64) int {
	if int64(int(n)) == n {
		return int(n)
	}
	if n > 0 {
		return math.MaxInt
	}
	return math.MinInt
}

func (c *call) int(i int) (int, error) {
	if n, ok := integer(c.args[i]); ok {
		return n, nil
	}
	if _, ok := number(c.args[i]); ok {
		return 0, c.errorf("argument %d must be a whole number, got %s", i+1, formatNumber(c.args[i]))
	}
	return 0, c.argError(i, "a number")
}

// object returns argument i as an object. null gives a nil map, which reads
// as an empty object; maps with string keys of any value type are copied.
func (c *call) object(i int) (map[string]any, error) {
	if m, ok := asObject(c.args[i]); ok {
		return m, nil
	}
	return nil, c.argError(i, "an object")
}

func asObject(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case nil:
		return nil, true
	case map[string]any:
		return m, true
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Map || rv.Type().Key().Kind() != reflect.String {
		return nil, false
	}
	out := make(map[string]any, rv.Len())
	iter := rv.MapRange()
	for iter.Next() {
		out[iter.Key().String()] = iter.Value().Interface()
	}
	return out, true
}

// isObject reports whether v is a non-null object.
func isObject(v any) bool {
	if v == nil {
		return false
	}
	_, ok := asObject(v)
	return ok
}

// list returns argument i as a list; null reads as an empty list.
func (c *call) list(i int) ([]any, error) {
	if l, ok := asList(c.args[i]); ok {
		return l, nil
	}
	return nil, c.argError(i, "a list")
}

func asList(v any) ([]any, bool) {
	switch l := v.(type) {
	case nil:
		return nil, true
	case []any:
		return l, true
	case string:
		return nil, false
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array {
		return nil, false
	}
	out := make([]any, rv.Len())
	for i := range out {
		out[i] = rv.Index(i).Interface()
	}
	return out, true
}

func isList(v any) bool {
	if v == nil {
		return false
	}
	_, ok := asList(v)
	return ok
}

// sortedKeys returns the keys of m in byte order.
func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// quote shows a piece of user text in an error message, shortened.
func quote(s string) string {
	const max = 60
	if len(s) > max {
		r := []rune(s)
		if len(r) > max {
			s = string(r[:max]) + "..."
		}
	}
	return strconv.Quote(s)
}

func typeName(v any) string           { return value.TypeName(v) }
func number(v any) (float64, bool)    { return value.Number(v) }
func scalarText(v any) (string, bool) { return value.ScalarText(v) }
func formatNumber(v any) string       { return value.FormatNumber(v) }

// encodeJSON is compact JSON with sorted keys and without HTML escaping.
func encodeJSON(v any) (string, error) {
	b, err := value.MarshalJSON(v)
	return string(b), err
}

// article puts "a" or "an" before a type name.
func article(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}
