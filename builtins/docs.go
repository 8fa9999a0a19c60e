package builtins

import (
	"fmt"
	"io"
	"strings"
)

var categoryTitles = map[string]string{
	"http":     "HTTP",
	"encoding": "Encoding",
	"crypto":   "Digests, signatures and ids",
	"dates":    "Dates and times",
	"objects":  "Objects",
	"lists":    "Lists",
	"strings":  "Strings",
	"values":   "Values",
}

// byCategory groups the specs in the order of Categories (anything in an
// unknown category comes last), each group sorted by name.
func byCategory() [][]Spec {
	specs, _ := registry()
	pos := map[string]int{}
	for i, c := range Categories {
		pos[c] = i
	}
	groups := make([][]Spec, len(Categories)+1)
	for _, s := range specs {
		i, ok := pos[s.Category]
		if !ok {
			i = len(Categories)
		}
		groups[i] = append(groups[i], s)
	}
	return groups
}

func categoryTitle(group []Spec) string {
	if t, ok := categoryTitles[group[0].Category]; ok {
		return t
	}
	if group[0].Category == "" {
		return "Other"
	}
	return group[0].Category
}

// exampleText shows an example as `expr → result`.
func exampleText(ex Example) string {
	if ex.Error != "" {
		return ex.Expr + " → error: " + ex.Error
	}
	return ex.Expr + " → " + ex.Result
}

// Text writes the list that `flowrun builtins` prints: every builtin grouped
// by category, with its signature, doc and examples.
func Text(w io.Writer) {
	var b strings.Builder
	b.WriteString("Functions for expressions, beside expr-lang's own (len, map, filter, toJSON, now, date, ...).\n")
	b.WriteString("Results are shown as JSON.\n")
	for _, group := range byCategory() {
		if len(group) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n%s\n", categoryTitle(group))
		for _, s := range group {
			fmt.Fprintf(&b, "\n  %s\n", s.Signature)
			for _, line := range wrapText(s.Doc, 72) {
				fmt.Fprintf(&b, "      %s\n", line)
			}
			for _, ex := range s.Examples {
				fmt.Fprintf(&b, "      e.g. %s\n", exampleText(ex))
			}
		}
	}
	io.WriteString(w, b.String())
}

// Markdown renders the library for the docs: a table per category with each
// builtin's name, signature, doc and first example.
func Markdown() string {
	var b strings.Builder
	b.WriteString("# Builtin functions\n\n")
	b.WriteString("<!-- Generated from builtins.All(); edit the specs in builtins/, not this file. -->\n\n")
	b.WriteString("Beside expr-lang's own functions (`len`, `map`, `filter`, `toJSON`, `now`, `date`, ...), expressions can call these. ")
	b.WriteString("Examples show results as JSON; every example is run by the tests. `flowrun builtins` prints the same list.\n")
	for _, group := range byCategory() {
		if len(group) == 0 {
			continue
		}
		fmt.Fprintf(&b, "\n## %s\n\n", categoryTitle(group))
		b.WriteString("| name | signature | description | example |\n|---|---|---|---|\n")
		for _, s := range group {
			example := ""
			if len(s.Examples) > 0 {
				example = mdCode(exampleText(s.Examples[0]))
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s |\n", s.Name, mdCode(s.Signature), mdCell(s.Doc), example)
		}
	}
	return b.String()
}

// mdCell makes text safe inside a table cell.
func mdCell(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

// mdCode writes s as inline code in a table cell, choosing a fence longer
// than any run of backticks inside it.
func mdCode(s string) string {
	s = mdCell(s)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") || len(fence) > 1 {
		return fence + " " + s + " " + fence
	}
	return fence + s + fence
}

func wrapText(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
