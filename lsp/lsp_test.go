package lsp

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func okta(t *testing.T) (string, *client) {
	dir, err := filepath.Abs("../connectors/okta")
	if err != nil {
		t.Fatal(err)
	}
	return dir, newClient(t)
}

func TestSmoke(t *testing.T) {
	dir, c := okta(t)
	uri, text := c.openFile(filepath.Join(dir, "flows", "get_user.yaml"))
	if len(c.diags) != 0 {
		t.Fatalf("diagnostics on a valid project: %v", c.diags)
	}
	l, ch := pos(t, text, "inputs.id", 0, len("inputs."))
	items := c.complete(uri, l, ch)
	t.Logf("%v", labels(items))
	l, ch = pos(t, text, "steps.get.status", 0, len("steps.get."))
	t.Logf("%v", labels(c.complete(uri, l, ch)))
	l, ch = pos(t, text, "steps.get.status", 0, len("steps."))
	t.Logf("%v", labels(c.complete(uri, l, ch)))
	l, ch = pos(t, text, "urlEncode", 0, 2)
	t.Log(c.hover(uri, l, ch))
	l, ch = pos(t, text, "call: check_response", 0, 8)
	t.Log(c.definition(uri, l, ch))
	l, ch = pos(t, text, "expect: any", 0, 2)
	t.Log(c.hover(uri, l, ch))
	t.Logf("%+v", c.symbols(uri))
	_ = slices.Contains[[]string]
	_ = strings.Contains
	c.close()
}
