package lang

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

// Diags collects diagnostics during a load.
type Diags struct {
	List Diagnostics
}

// Add records a problem at p with an optional hint.
func (d *Diags) Add(p Pos, hint, format string, args ...any) {
	d.List = append(d.List, Diagnostic{Pos: p, Message: fmt.Sprintf(format, args...), Hint: hint})
}
