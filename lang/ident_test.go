package lang

import (
	"regexp"
	"testing"
)

// The hand-written matchers agree with the patterns the docs state.
func TestIdentAndNameMatchTheirPatterns(t *testing.T) {
	ident := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	name := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	cases := []string{"", "a", "A", "_", "_1", "1a", "a1", "ab_c9", "a-b", "a.b", "é", "a b", "Z9_", "z\n", "a\x00", "9", "aZ", "snake_case_2"}
	for _, s := range cases {
		if got, want := IsIdent(s), ident.MatchString(s); got != want {
			t.Errorf("IsIdent(%q) = %v, the pattern says %v", s, got, want)
		}
		if got, want := IsName(s), name.MatchString(s); got != want {
			t.Errorf("IsName(%q) = %v, the pattern says %v", s, got, want)
		}
	}
}

func FuzzIdent(f *testing.F) {
	ident := regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	name := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	for _, s := range []string{"", "a_1", "1", "A-b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if IsIdent(s) != ident.MatchString(s) || IsName(s) != name.MatchString(s) {
			t.Fatalf("%q: IsIdent %v IsName %v disagree with the patterns", s, IsIdent(s), IsName(s))
		}
	})
}
