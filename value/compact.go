package value

// Compact returns v with null-valued object keys removed, recursively:
// inside objects and inside the objects of lists. List items are kept,
// nulls included, so positions in a list keep their meaning. v itself is not
// modified; parts without a null key are shared, not copied.
func Compact(v any) any {
	out, _ := compact(Normalize(v))
	return out
}

// compact returns the compacted value and whether it differs from v.
func compact(v any) (any, bool) {
	switch t := v.(type) {
	case map[string]any:
		var m map[string]any // made on the first change
		for k, x := range t {
			c, changed := compact(x)
			if x != nil && !changed {
				continue
			}
			if m == nil {
				m = make(map[string]any, len(t))
				for k2, x2 := range t {
					m[k2] = x2
				}
			}
			if x == nil {
				delete(m, k)
			} else {
				m[k] = c
			}
		}
		if m == nil {
			return t, false
		}
		return m, true
	case []any:
		var l []any
		for i, x := range t {
			c, changed := compact(x)
			if changed && l == nil {
				l = make([]any, len(t))
				copy(l, t[:i])
			}
			if l != nil {
				l[i] = c
			}
		}
		if l == nil {
			return t, false
		}
		return l, true
	}
	return v, false
}
