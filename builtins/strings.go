package builtins

import (
	"container/list"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxPattern is the longest regular expression the regex functions accept.
const maxPattern = 1000

func stringDefs() []def {
	return []def{
		{
			Spec: Spec{
				Name:      "isRelativePath",
				Category:  "strings",
				Types:     []any{new(func(string) bool)},
				Signature: "isRelativePath(s string) bool",
				Doc:       "Whether s is a path that stays under a base URL when joined to it: it starts with /, is not protocol-relative (//), holds no scheme (://) and no .. segment. Custom API Actions check their relative_url with it.",
				Examples: []Example{
					{Expr: `isRelativePath("/repos/octocat/hello/issues?state=open")`, Result: `true`},
					{Expr: `isRelativePath("https://evil.example.com/x")`, Result: `false`},
					{Expr: `isRelativePath("//evil.example.com/x")`, Result: `false`},
					{Expr: `isRelativePath("/repos/../../admin")`, Result: `false`},
					{Expr: `isRelativePath("users")`, Result: `false`},
				},
			},
			min: 1, max: 1,
			impl: func(c *call) (any, error) {
				s, err := c.str(0)
				if err != nil {
					return nil, err
				}
				return isRelativePath(s), nil
			},
		},
		{
			Spec: Spec{
				Name:      "truncate",
				Category:  "strings",
				Types:     []any{new(func(string, int) string)},
				Signature: "truncate(s string, n int) string",
				Doc:       "The first n characters (Unicode code points, not bytes) of s, e.g. to fit a field's maximum length.",
				Examples: []Example{
					{Expr: `truncate("Grüße aus Köln", 5)`, Result: `"Grüße"`},
					{Expr: `truncate("short", 100)`, Result: `"short"`},
					{Expr: `truncate("x", -1)`, Error: "truncate: the length must not be negative, got -1"},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				s, err := c.str(0)
				if err != nil {
					return nil, err
				}
				n, err := c.int(1)
				if err != nil {
					return nil, err
				}
				if n < 0 {
					return nil, c.errorf("the length must not be negative, got %d", n)
				}
				if n >= len(s) {
					return s, nil
				}
				i := 0
				for k := 0; k < n && i < len(s); k++ {
					_, size := utf8.DecodeRuneInString(s[i:])
					i += size
				}
				return s[:i], nil
			},
		},
		{
			Spec: Spec{
				Name:      "regexMatch",
				Category:  "strings",
				Types:     []any{new(func(string, string) bool)},
				Signature: "regexMatch(pattern string, s string) bool",
				Doc:       "Whether the Go (RE2) regular expression matches somewhere in s; anchor it with ^ and $ to match all of s.",
				Examples: []Example{
					{Expr: `regexMatch("^[a-z0-9-]+$", "acme-eu")`, Result: `true`},
					{Expr: `regexMatch("(?i)bearer", "Bearer abc")`, Result: `true`},
					{Expr: `regexMatch("(", "x")`, Error: "regexMatch: invalid pattern"},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				re, s, err := regexArgs(c)
				if err != nil {
					return nil, err
				}
				return re.MatchString(s), nil
			},
		},
		{
			Spec: Spec{
				Name:      "regexReplace",
				Category:  "strings",
				Types:     []any{new(func(string, string, string) string)},
				Signature: "regexReplace(pattern string, s string, replacement string) string",
				Doc:       "Replaces every match in s; in the replacement `$1` or `${name}` stands for a group and `$$` for a dollar sign.",
				Examples: []Example{
					{Expr: `regexReplace("[^0-9+]", "+1 (555) 010-9999", "")`, Result: `"+15550109999"`},
					{Expr: `regexReplace("(\\w+)@(\\w+)", "ada@acme", "$2/$1")`, Result: `"acme/ada"`},
				},
			},
			min: 3, max: 3,
			impl: func(c *call) (any, error) {
				re, s, err := regexArgs(c)
				if err != nil {
					return nil, err
				}
				repl, err := c.str(2)
				if err != nil {
					return nil, err
				}
				return re.ReplaceAllString(s, repl), nil
			},
		},
		{
			Spec: Spec{
				Name:      "regexFind",
				Category:  "strings",
				Types:     []any{new(func(string, string) any)},
				Signature: "regexFind(pattern string, s string) string|null",
				Doc:       "The first match of the pattern in s, or null.",
				Examples: []Example{
					{Expr: `regexFind("[0-9]+", "order #1234 shipped")`, Result: `"1234"`},
					{Expr: `regexFind("[0-9]+", "none")`, Result: `null`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				re, s, err := regexArgs(c)
				if err != nil {
					return nil, err
				}
				loc := re.FindStringIndex(s)
				if loc == nil {
					return nil, nil
				}
				return s[loc[0]:loc[1]], nil
			},
		},
		{
			Spec: Spec{
				Name:      "regexSubmatch",
				Category:  "strings",
				Types:     []any{new(func(string, string) any)},
				Signature: "regexSubmatch(pattern string, s string) list|null",
				Doc:       "The first match and its groups as a list `[match, group1, ...]` (null for a group that took no part), or null when nothing matches.",
				Examples: []Example{
					{Expr: `regexSubmatch("page=(\\d+)", "/items?page=7&limit=50")[1]`, Result: `"7"`},
					{Expr: `regexSubmatch("(a)|(b)", "b")`, Result: `["b",null,"b"]`},
					{Expr: `regexSubmatch("x", "y")`, Result: `null`},
				},
			},
			min: 2, max: 2,
			impl: func(c *call) (any, error) {
				re, s, err := regexArgs(c)
				if err != nil {
					return nil, err
				}
				loc := re.FindStringSubmatchIndex(s)
				if loc == nil {
					return nil, nil
				}
				out := make([]any, len(loc)/2)
				for i := range out {
					if a, b := loc[2*i], loc[2*i+1]; a >= 0 {
						out[i] = s[a:b]
					}
				}
				return out, nil
			},
		},
	}
}

// regexArgs reads (pattern, s) and compiles the pattern through the cache.
func regexArgs(c *call) (*regexp.Regexp, string, error) {
	pattern, err := c.str(0)
	if err != nil {
		return nil, "", err
	}
	s, err := c.str(1)
	if err != nil {
		return nil, "", err
	}
	if len(pattern) > maxPattern {
		return nil, "", c.errorf("the pattern is %d bytes long; at most %d are allowed", len(pattern), maxPattern)
	}
	re, err := regexes.get(pattern)
	if err != nil {
		return nil, "", c.errorf("invalid pattern %s: %v", quote(pattern), err)
	}
	return re, s, nil
}

// regexCache is a small LRU cache of compiled patterns, safe for concurrent
// use. (A *regexp.Regexp is itself safe for concurrent use.)
type regexCache struct {
	mu    sync.Mutex
	max   int
	order *list.List // of *regexEntry, most recently used first
	index map[string]*list.Element
}

type regexEntry struct {
	pattern string
	re      *regexp.Regexp
}

var regexes = newRegexCache(256)

func newRegexCache(max int) *regexCache {
	return &regexCache{max: max, order: list.New(), index: map[string]*list.Element{}}
}

func (rc *regexCache) get(pattern string) (*regexp.Regexp, error) {
	rc.mu.Lock()
	if el, ok := rc.index[pattern]; ok {
		rc.order.MoveToFront(el)
		re := el.Value.(*regexEntry).re
		rc.mu.Unlock()
		return re, nil
	}
	rc.mu.Unlock()

	// Compile outside the lock; two goroutines may both compile the same
	// pattern, which is harmless.
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	if el, ok := rc.index[pattern]; ok {
		rc.order.MoveToFront(el)
		return el.Value.(*regexEntry).re, nil
	}
	rc.index[pattern] = rc.order.PushFront(&regexEntry{pattern: pattern, re: re})
	for rc.order.Len() > rc.max {
		last := rc.order.Back()
		rc.order.Remove(last)
		delete(rc.index, last.Value.(*regexEntry).pattern)
	}
	return re, nil
}

func (rc *regexCache) len() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.order.Len()
}

// isRelativePath reports whether p stays under a base URL it is joined to.
func isRelativePath(p string) bool {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.Contains(p, "://") || strings.Contains(p, "\\") {
		return false
	}
	path, _, _ := strings.Cut(p, "?")
	path, _, _ = strings.Cut(path, "#")
	for _, seg := range strings.Split(path, "/") {
		if seg == ".." || strings.EqualFold(seg, "%2e%2e") || strings.EqualFold(seg, ".%2e") || strings.EqualFold(seg, "%2e.") {
			return false
		}
	}
	return true
}
