package interpreter

import (
	"fmt"
	"sort"
	"strings"
)

// Pos is a position in a project file. Line and Col are 1-based; Col counts
// characters (runes), as editors do.
type Pos struct {
	File string
	Line int
	Col  int
}

func (p Pos) String() string {
	if p.Line == 0 {
		return p.File
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
}

// Diagnostic is one problem found while loading or checking a project.
type Diagnostic struct {
	Pos     Pos
	Message string
	Hint    string // optional: what to do about it
}

func (d Diagnostic) String() string {
	s := d.Pos.String() + ": error: " + d.Message
	if d.Hint != "" {
		s += " (hint: " + d.Hint + ")"
	}
	return s
}

// Diagnostics is a list of problems; as an error it prints them all, one per line.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// Sort orders diagnostics by file, line, column and message and drops exact duplicates.
func (ds Diagnostics) Sort() Diagnostics {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.Pos.File != b.Pos.File {
			return a.Pos.File < b.Pos.File
		}
		if a.Pos.Line != b.Pos.Line {
			return a.Pos.Line < b.Pos.Line
		}
		if a.Pos.Col != b.Pos.Col {
			return a.Pos.Col < b.Pos.Col
		}
		return a.Message < b.Message
	})
	out := ds[:0]
	for i, d := range ds {
		if i > 0 && d == ds[i-1] {
			continue
		}
		out = append(out, d)
	}
	return out
}

// diags collects diagnostics during a load.
type diags struct {
	list Diagnostics
}

func (d *diags) add(p Pos, hint, format string, args ...any) {
	d.list = append(d.list, Diagnostic{Pos: p, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// suggest returns a "did you mean" hint for name among candidates, or "".
func suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := editDistance(strings.ToLower(name), strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	if best == "" || name == "" {
		return ""
	}
	// a short name is close only to a near-identical one: "foo" is not "floor"
	limit := 3
	switch n := len(name); {
	case n <= 2:
		limit = 0
	case n <= 5:
		limit = 1
	case n <= 8:
		limit = 2
	}
	if bestD <= limit || strings.HasPrefix(best, name) || strings.HasPrefix(name, best) {
		return fmt.Sprintf("did you mean %q?", best)
	}
	return ""
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent characters.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return 1 << 20
	}
	pprev := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], pprev[j-2]+1)
			}
		}
		pprev, prev, cur = prev, cur, pprev
	}
	return prev[len(rb)]
}

// Suggest returns a "did you mean" hint for name among candidates, or "".
func Suggest(name string, candidates []string) string { return suggest(name, candidates) }
