package check

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/expr-lang/expr/builtin"
	"github.com/expr-lang/expr/file"
	"github.com/expr-lang/expr/types"
	"github.com/flowrun/flowrun/builtins"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

var identChainRe = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[A-Za-z_][A-Za-z0-9_]*(?:\??\.[A-Za-z_][A-Za-z0-9_]*)*$`)
})

// nameHint improves expr's "unknown name" and "unknown field" errors: a name
// that is called is an unknown function, and either gets a "did you mean"
// among the names that would fit there.
func (s *scope) nameHint(d lang.Diagnostic, src string, err error) lang.Diagnostic {
	var fe *file.Error
	if d.Hint != "" || !errors.As(err, &fe) {
		return d
	}
	at := runeToByte(src, fe.From)
	switch {
	case strings.HasPrefix(fe.Message, "unknown name "):
		name := strings.TrimPrefix(fe.Message, "unknown name ")
		if after := src[min(at+len(name), len(src)):]; strings.HasPrefix(strings.TrimLeft(after, " \t\r\n"), "(") {
			d.Message = "expression: unknown function " + name
			d.Hint = value.Suggest(name, functionNames())
			if d.Hint == "" {
				d.Hint = "`flowrun builtins` lists the functions"
			}
			return d
		}
		if where := lang.WhereIs(name); where != "" {
			// a name of the language used where it is not in scope: say
			// where it is, rather than guess a look-alike
			d.Hint = fmt.Sprintf("`%s` exists in %s", name, where)
			return d
		}
		d.Hint = value.Suggest(name, slices.Sorted(maps.Keys(s.env)))
		for _, scope := range []string{"inputs", "vars", "steps"} {
			if m, ok := s.env[scope].(types.Map); ok && d.Hint == "" {
				if _, ok := m[name]; ok {
					d.Hint = fmt.Sprintf("did you mean %q?", scope+"."+name)
				}
			}
		}
		if where := lang.WhereIs(name); d.Hint == "" && where != "" {
			d.Hint = fmt.Sprintf("%s is in scope in: %s", name, where)
		}
	case strings.HasPrefix(fe.Message, "unknown field "):
		name := strings.TrimPrefix(fe.Message, "unknown field ")
		before := strings.TrimSuffix(strings.TrimSuffix(strings.TrimRight(src[:at], " \t\r\n"), "."), "?")
		chain := identChainRe().FindString(before)
		if chain == "" {
			return d
		}
		var t types.Type = s.env
		for _, part := range strings.Split(chain, ".") {
			m, ok := t.(types.Map)
			if !ok {
				return d
			}
			if t, ok = m[strings.TrimSuffix(part, "?")]; !ok {
				return d
			}
		}
		if m, ok := t.(types.Map); ok {
			keys := make([]string, 0, len(m))
			for k := range m {
				if k != types.Extra {
					keys = append(keys, k)
				}
			}
			slices.Sort(keys)
			d.Hint = value.Suggest(name, keys)
			if d.Hint == "" && len(keys) > 0 && len(keys) <= 12 {
				d.Hint = "known fields: " + strings.Join(keys, ", ")
			}
		}
	}
	return d
}

// functionNames lists expr's own functions and the builtins library.
var functionNames = sync.OnceValue(func() []string {
	names := slices.Clone(builtin.Names)
	for _, sp := range builtins.All() {
		names = append(names, sp.Name)
	}
	slices.Sort(names)
	return slices.Compact(names)
})

// SchemaHint is the hint for a JSON Schema error on node n with message msg:
// an expression given to a key that takes a literal value (max_pages,
// concurrency, an enum such as type:) says so, since "expected integer, got
// string" does not tell that the ${ } is what is wrong. "" when there is
// nothing to add.
func SchemaHint(n *lang.Node, msg string) string {
	if n == nil || n.Kind != lang.StringNode || !strings.Contains(n.Str, "${") {
		return ""
	}
	if strings.HasPrefix(msg, "expected ") && strings.HasSuffix(msg, ", got string") ||
		strings.Contains(msg, " must be ") {
		return "this key takes a literal value, not an expression"
	}
	return ""
}
