package lang

// IsIdent reports whether s is an identifier: a letter or underscore, then
// letters, digits and underscores ([A-Za-z_][A-Za-z0-9_]*), the form of an
// input, output, variable or step id that expressions can name.
func IsIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// IsName reports whether s is a flow or connector name: a lower-case
// letter, then lower-case letters, digits and underscores ([a-z][a-z0-9_]*).
func IsName(s string) bool {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
