package scaffold

import (
	"regexp"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/flowrun/flowrun/lang"
)

// snake turns an identifier from a description (listUsers, get-stations,
// X-Request-Id, HTTPServer) into a flowrun name: [a-z][a-z0-9_]*.
func snake(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case r < 128 && unicode.IsUpper(r):
			if i > 0 {
				prev := rs[i-1]
				nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
		case r < 128 && (unicode.IsLower(r) || unicode.IsDigit(r)):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	out := strings.Trim(multiUnderscore().ReplaceAllString(b.String(), "_"), "_")
	if out == "" {
		return ""
	}
	if out[0] >= '0' && out[0] <= '9' {
		out = "n" + out
	}
	return out
}

var multiUnderscore = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`_+`) })

// validName reports whether s is a flowrun name.
func validName(s string) bool { return lang.IsName(s) }

// names hands out unique names.
type names map[string]bool

func (n names) unique(base string) string {
	if base == "" {
		base = "x"
	}
	name := base
	for i := 2; n[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	n[name] = true
	return name
}
