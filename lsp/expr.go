package lsp

import (
	"sort"
	"strings"
	"sync"

	exprbuiltin "github.com/expr-lang/expr/builtin"

	"github.com/flowrun/flowrun/builtins"
)

// exprStart finds the `${` whose expression holds rune column col of a
// line: the rune column where the expression's text starts, and whether it
// holds col (an expression not closed yet holds everything after it). It
// skips `$${` (a literal) and looks inside quotes the way the loader's
// template scanner does.
func exprStart(line string, col int) (int, bool) {
	rs := []rune(line)
	col = min(col, len(rs))
	open := -1
	depth := 0
	for i := 0; i < col; i++ {
		if open < 0 {
			if i+2 < len(rs) && rs[i] == '$' && rs[i+1] == '$' && rs[i+2] == '{' {
				i += 2
				continue
			}
			if i+1 < len(rs) && rs[i] == '$' && rs[i+1] == '{' {
				open, depth = i+2, 0
				i++
			}
			continue
		}
		switch c := rs[i]; c {
		case '"', '\'', '`':
			j := i + 1
			for j < col && rs[j] != c {
				if rs[j] == '\\' && c != '`' {
					j++
				}
				j++
			}
			if j >= col {
				return open, true // inside a string literal: still the expression
			}
			i = j
		case '{':
			depth++
		case '}':
			if depth == 0 {
				open = -1
			} else {
				depth--
			}
		}
	}
	return open, open >= 0
}

// exprEnd is the rune column of the `}` closing an expression starting at
// start, or the line's end.
func exprEnd(line string, start int) int {
	rs := []rune(line)
	depth := 0
	for i := start; i < len(rs); i++ {
		switch c := rs[i]; c {
		case '"', '\'', '`':
			for i++; i < len(rs) && rs[i] != c; i++ {
				if rs[i] == '\\' && c != '`' {
					i++
				}
			}
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return i
			}
			depth--
		}
	}
	return len(rs)
}

// chainBefore splits the member chain that ends at col of an expression
// text: `steps.get.bo` gives ["steps", "get", "bo"]; the last part is what
// is typed of the name being completed. ok is false after something the
// chain cannot follow (a call, an index, a literal).
func chainBefore(rs []rune, col int) (parts []string, start int, ok bool) {
	i := col
	for i > 0 && (isWord(rs[i-1]) || rs[i-1] == '.' || rs[i-1] == '?' || rs[i-1] == '#' || rs[i-1] == '$') {
		i--
	}
	text := strings.ReplaceAll(string(rs[i:col]), "?.", ".")
	if i > 0 && (rs[i-1] == ')' || rs[i-1] == ']' || rs[i-1] == '"' || rs[i-1] == '\'') {
		return nil, 0, false
	}
	parts = strings.Split(text, ".")
	for _, p := range parts[:len(parts)-1] {
		if p == "" {
			return nil, 0, false
		}
	}
	last := parts[len(parts)-1]
	return parts, col - len([]rune(last)), true
}

// function is a function expressions can call.
type function struct {
	name      string
	signature string
	doc       string // markdown
}

// functions lists flowrun's builtins (with docs and examples) and
// expr-lang's own, sorted by name.
var functions = sync.OnceValue(func() []function {
	var out []function
	seen := map[string]bool{}
	for _, s := range builtins.All() {
		var b strings.Builder
		b.WriteString("```\n" + s.Signature + "\n```\n\n" + s.Doc)
		if len(s.Examples) > 0 {
			b.WriteString("\n\nExamples:\n")
			for _, ex := range s.Examples {
				res := ex.Result
				if ex.Error != "" {
					res = "error: " + ex.Error
				}
				b.WriteString("\n    " + ex.Expr + " → " + res)
			}
		}
		out = append(out, function{name: s.Name, signature: s.Signature, doc: b.String()})
		seen[s.Name] = true
	}
	for _, f := range exprbuiltin.Builtins {
		if seen[f.Name] || strings.HasPrefix(f.Name, "$") {
			continue
		}
		seen[f.Name] = true
		out = append(out, function{name: f.Name, signature: f.Name + "(...)",
			doc: "`" + f.Name + "`: an expr-lang builtin; see the language reference (docs/expressions.md)."})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
})

func lookupFunction(name string) *function {
	fs := functions()
	i := sort.Search(len(fs), func(i int) bool { return fs[i].name >= name })
	if i < len(fs) && fs[i].name == name {
		return &fs[i]
	}
	return nil
}

// exprKeywords are the literals and operators written as words.
var exprKeywords = []string{"true", "false", "nil", "in", "not", "and", "or", "matches", "contains", "startsWith", "endsWith", "let"}
