package value

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// AddQuery adds a query parameter the way http steps do: null is left out,
// a list repeats the key for each non-null item, anything else is Text.
func AddQuery(q url.Values, k string, v any) {
	switch t := Normalize(v).(type) {
	case nil:
	case []any:
		for _, x := range t {
			if x != nil {
				q.Add(k, Text(x))
			}
		}
	default:
		q.Set(k, Text(t))
	}
}

// AddForm adds a form field, with objects and lists in bracket notation
// (k[sub], k[0]) as Stripe and PHP read them; null is left out.
func AddForm(q url.Values, k string, v any) {
	switch t := v.(type) {
	case nil:
	case []any:
		for i, x := range t {
			AddForm(q, fmt.Sprintf("%s[%d]", k, i), x)
		}
	case map[string]any:
		for sk, x := range t {
			AddForm(q, k+"["+sk+"]", x)
		}
	default:
		q.Add(k, Text(t))
	}
}

// EncodeQuery encodes with keys sorted and spaces as %20.
func EncodeQuery(q url.Values) string {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		for _, v := range q[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(strings.ReplaceAll(url.QueryEscape(k), "+", "%20"))
			b.WriteByte('=')
			b.WriteString(strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	return b.String()
}

// EscapeRFC3986 percent-encodes every byte except the RFC 3986 unreserved
// characters A-Z a-z 0-9 - . _ ~; a space becomes %20.
func EscapeRFC3986(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !unreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 2*n)
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if unreserved(ch) {
			b.WriteByte(ch)
		} else {
			b.WriteByte('%')
			b.WriteByte(hex[ch>>4])
			b.WriteByte(hex[ch&15])
		}
	}
	return b.String()
}

func unreserved(ch byte) bool {
	return 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' ||
		ch == '-' || ch == '.' || ch == '_' || ch == '~'
}

// FromQuery turns parsed query or form values into an object: a key given
// once is a string, a repeated key a list of strings.
func FromQuery(values url.Values) map[string]any {
	out := make(map[string]any, len(values))
	for k, vs := range values {
		if len(vs) == 1 {
			out[k] = vs[0]
			continue
		}
		l := make([]any, len(vs))
		for i, v := range vs {
			l[i] = v
		}
		out[k] = l
	}
	return out
}
