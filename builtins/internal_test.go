package builtins

import (
	"fmt"
	"sync"
	"testing"
)

func TestRegexCacheIsBounded(t *testing.T) {
	rc := newRegexCache(8)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				re, err := rc.get(fmt.Sprintf("^x{%d}$", (i+g)%20))
				if err != nil || re == nil {
					t.Errorf("get: %v", err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if n := rc.len(); n > 8 {
		t.Fatalf("cache holds %d patterns, want at most 8", n)
	}
	a, _ := rc.get("^a$")
	b, _ := rc.get("^a$")
	if a != b {
		t.Fatal("a cached pattern was compiled again")
	}
	if _, err := rc.get("("); err == nil {
		t.Fatal("an invalid pattern compiled")
	}
}

func TestParseLinksTerminates(t *testing.T) {
	for _, h := range []string{"<", ">", "<>", "<a>;", "<a>;=", "<a>; rel=", `<a>; rel="`, `<a>; rel="\`, "<a>,,,<b>", "<<a>>; rel=next", ";;;,,,", `<a> x y z ; rel = "next" ;`} {
		_ = parseLinks(h)
	}
	got := parseLinks(`<a>; rel="\`)
	if len(got) != 1 || got[0].url != "a" {
		t.Fatalf("got %+v", got)
	}
}
