package value

import (
	"fmt"
	"strings"
)

// Suggest returns a "did you mean" hint for name among candidates, or "".
func Suggest(name string, candidates []string) string {
	best, bestD := "", 1<<30
	for _, c := range candidates {
		d := EditDistance(strings.ToLower(name), strings.ToLower(c))
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

// EditDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent characters.
func EditDistance(a, b string) int {
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
