package value

import (
	"strings"
	"testing"
)

func TestSize(t *testing.T) {
	s := strings.Repeat("x", 1000)
	for _, c := range []struct {
		v    any
		want int64
	}{
		{nil, 16},
		{3, 16},
		{"abc", 19},
		{[]any{"abc", 1}, 24 + 32 + 19 + 16},
		{map[string]any{"k": "v"}, 48 + 48 + 1 + 17},
		{[]int{1, 2, 3}, 24 + 24},
		{[]any{s, s}, 24 + 32 + 2*1016}, // a shared string counts in full each time
	} {
		if got := Size(c.v); got != c.want {
			t.Errorf("Size(%#v) = %d, want %d", c.v, got, c.want)
		}
	}
	if n, over := SizeAtMost([]any{s, s, s}, 1500); !over || n > 3000 {
		t.Errorf("SizeAtMost = %d, %v: want it to stop once over", n, over)
	}
	// a value that holds itself is over any limit, and the walk ends
	m := map[string]any{}
	m["self"] = []any{m}
	if _, over := SizeAtMost(m, 1<<40); !over {
		t.Error("a cyclic value is not over")
	}
	if Size(m) <= 0 {
		t.Error("no size for a cyclic value")
	}
}
