package lsp

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// connector is a shipped connector; "okta" is a copy frozen in testdata
// (the editor tests pin exact positions in it; the shipped one evolves,
// and TestValidateMatches covers every shipped connector as it is).
func connector(t *testing.T, name string) string {
	t.Helper()
	root := filepath.Join("..", "connectors", name)
	if name == "okta" {
		root = filepath.Join("testdata", "okta")
	}
	dir, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// lineRange is the range of a whole line (0-based), for edits.
func lineRange(text string, line int) lspRange {
	ls := strings.Split(text, "\n")
	return lspRange{Start: lspPos{line, 0}, End: lspPos{line, utf16Len(ls[line])}}
}

func rng(l1, c1, l2, c2 int) lspRange { return lspRange{lspPos{l1, c1}, lspPos{l2, c2}} }

func wantLabels(t *testing.T, what string, items []completionItem, want ...string) {
	t.Helper()
	got := labels(items)
	if !slices.Equal(got, want) {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func hasLabels(t *testing.T, what string, items []completionItem, want []string, not []string) {
	t.Helper()
	got := labels(items)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s: %q missing from %q", what, w, got)
		}
	}
	for _, n := range not {
		if slices.Contains(got, n) {
			t.Errorf("%s: %q offered in %q", what, n, got)
		}
	}
}

func find(items []completionItem, label string) *completionItem {
	for i := range items {
		if items[i].Label == label {
			return &items[i]
		}
	}
	return nil
}

// A valid project has no diagnostics; a change to a helper's inputs in its
// unsaved buffer re-checks its callers, open or not, and undoing it clears
// them.
func TestHelperChangeRechecksCallers(t *testing.T) {
	dir := connector(t, "okta")
	c := newClient(t)
	uri, text := c.openFile(filepath.Join(dir, "flows", "check_response.yaml"))
	if len(c.diags) != 0 {
		t.Fatalf("diagnostics on a valid project: %v", c.diags)
	}
	l, _ := pos(t, text, "  response:", 0, 0)
	c.change(uri, rng(l, 2, l, 10), "resp")
	getUser := uriOf(filepath.Join(dir, "flows", "get_user.yaml"))
	ds := c.diags[getUser]
	var got []string
	for _, d := range ds {
		got = append(got, d.Range.String()+" "+d.Message)
	}
	want := []string{
		`35:10-35:24 call check_response: required input "resp" is not given (hint: add it under with:)`,
		`37:6-37:14 call check_response: "response" is not an input of flow "check_response" (hint: did you mean "resp"?)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("get_user.yaml:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	callers := 0
	for u := range c.diags {
		if u != uri {
			callers++
		}
	}
	if callers < 5 {
		t.Errorf("only %d callers re-checked: %v", callers, c.diags)
	}
	c.change(uri, rng(l, 2, l, 6), "response")
	if len(c.diags) != 0 {
		t.Errorf("diagnostics left after the undo: %v", c.diags)
	}
	c.close()
}

func TestCompletion(t *testing.T) {
	dir := connector(t, "okta")
	c := newClient(t)
	uri, text := c.openFile(filepath.Join(dir, "flows", "get_user.yaml"))

	// call: flow names, helpers first, not authping/revoke nor itself
	l, _ := pos(t, text, "  - call: check_response", 0, 0)
	c.change(uri, lineRange(text, l), "  - call: ")
	items := c.complete(uri, l, 10)
	wantLabels(t, "call:", items, "check_response", "list_all", "log_events", "create_user", "custom_api_action", "deactivate_user",
		"event_hook", "list_users", "system_log", "verify_event_hook")
	if it := find(items, "check_response"); it == nil || it.TextEdit.Range != rng(l, 10, l, 10) || it.Detail != "helper flow" ||
		!strings.Contains(it.Documentation.Value, "- `response`: object, required") {
		t.Errorf("check_response item: %+v", it)
	}
	c.change(uri, lineRange(text, l), "  - call: li")
	items = c.complete(uri, l, 12)
	wantLabels(t, "call: li", items, "list_all", "list_users")
	if items[0].TextEdit.Range != rng(l, 10, l, 12) {
		t.Errorf("call: li replaces %s", items[0].TextEdit.Range)
	}
	c.change(uri, lineRange(text, l), "  - call: check_response")

	// with: the called flow's inputs not given yet
	l, _ = pos(t, text, "      response: ${ steps.get }", 0, 0)
	c.change(uri, rng(l+1, 0, l+1, 0), "      \n")
	items = c.complete(uri, l+1, 6)
	wantLabels(t, "with:", items, "allow")
	if it := items[0]; it.Detail != "list of integer" || it.TextEdit.NewText != "allow: " || it.TextEdit.Range != rng(l+1, 6, l+1, 6) {
		t.Errorf("allow item: %+v", it)
	}
	c.change(uri, rng(l+1, 0, l+2, 0), "")

	// a new step: its kinds first, then id and name
	cur := strings.Split(text, "\n")
	last := len(cur) - 1
	c.change(uri, rng(last, 0, last, 0), "  - ")
	items = c.complete(uri, last, 4)
	wantLabels(t, "new step", items, "call", "continue_if", "fail", "for_each", "http", "if", "log", "return", "set", "switch", "try", "wait", "id", "name")
	if it := find(items, "http"); it == nil || it.Kind != 14 || !strings.Contains(it.Documentation.Value, "Sends an HTTP request") {
		t.Errorf("http item: %+v", it)
	}
	// half a key on a line that does not parse yet
	c.change(uri, rng(last, 4, last, 4), "id: x\n    ht")
	items = c.complete(uri, last+1, 6)
	hasLabels(t, "step with an id", items, []string{"http", "set", "name"}, []string{"id", "then"})
	if it := find(items, "http"); it == nil || it.TextEdit.Range != rng(last+1, 4, last+1, 6) || it.TextEdit.NewText != "http: " {
		t.Errorf("http item: %+v", it)
	}
	c.change(uri, rng(last, 0, last+1, 6), "")

	// http keys, minus those written
	l, _ = pos(t, text, "      expect: any", 0, 0)
	c.change(uri, rng(l+1, 0, l+1, 0), "      \n")
	items = c.complete(uri, l+1, 6)
	hasLabels(t, "http keys", items, []string{"method", "query", "headers", "json", "paginate", "retry", "timeout"}, []string{"path", "expect", "id", "http"})
	c.change(uri, rng(l+1, 0, l+2, 0), "")

	// an enum: the flow types
	l, _ = pos(t, text, "type: action", 0, 0)
	c.change(uri, lineRange(text, l), "type: ")
	wantLabels(t, "type:", c.complete(uri, l, 6), "action", "helper", "authping", "revoke", "webhook", "poll")
	c.change(uri, lineRange(text, l), "type: action")

	// expressions: names in scope, then fields
	l, ch := pos(t, text, "urlEncode(inputs.id)", 0, 0)
	items = c.complete(uri, l, ch)
	hasLabels(t, "names", items, []string{"inputs", "vars", "steps", "connection", "connector", "flow", "urlEncode", "len", "getPath", "nil"},
		[]string{"error", "item", "response", "request", "cursor"})
	if it := find(items, "urlEncode"); it == nil || it.Detail != "urlEncode(s string) string" || it.Kind != 3 {
		t.Errorf("urlEncode item: %+v", it)
	}
	items = c.complete(uri, l, ch+3)
	wantLabels(t, "url", items, "urlDecode", "urlEncode")
	if items[0].TextEdit.Range != rng(l, ch, l, ch+3) {
		t.Errorf("url replaces %s", items[0].TextEdit.Range)
	}
	l, ch = pos(t, text, "inputs.id", 0, len("inputs."))
	items = c.complete(uri, l, ch)
	wantLabels(t, "inputs.", items, "id")
	if items[0].Detail != "string" || !strings.Contains(items[0].Documentation.Value, "A user id (00u...)") {
		t.Errorf("inputs.id item: %+v", items[0])
	}
	l, ch = pos(t, text, "steps.get.status", 0, len("steps."))
	wantLabels(t, "steps.", c.complete(uri, l, ch), "get")
	wantLabels(t, "steps.get.", c.complete(uri, l, ch+len("get.")), "body", "headers", "status")

	// a call's result is the called flow's outputs
	uri2, text2 := c.openFile(filepath.Join(dir, "flows", "list_users.yaml"))
	l, ch = pos(t, text2, "steps.all.pages", 0, len("steps.all."))
	items = c.complete(uri2, l, ch)
	wantLabels(t, "steps.all.", items, "items", "pages")
	if items[1].Detail != "integer" {
		t.Errorf("pages: %+v", items[1])
	}
	// connection: the connector's parameters and the token
	l, ch = pos(t, text2, "inputs.limit", 0, 0)
	c.change(uri2, rng(l, ch, l, ch+len("inputs.limit")), "connection.")
	items = c.complete(uri2, l, ch+len("connection."))
	wantLabels(t, "connection.", items, "api_token", "client_id", "client_secret", "domain", "token", "token_type")
	c.close()
}

func TestCompletionScopes(t *testing.T) {
	dir := connector(t, "example")
	c := newClient(t)
	uri, text := c.openFile(filepath.Join(dir, "flows", "summarize.yaml"))
	// in a for_each body: its as: name, and index; in catch: error
	l, ch := pos(t, text, "concat(vars.invalid, [error.message])", 0, 0)
	items := c.complete(uri, l, ch)
	hasLabels(t, "catch in for_each", items, []string{"order", "index", "error", "vars", "steps"}, []string{"item", "response"})
	l, ch = pos(t, text, "vars.total_paid + order.amount", 0, len("vars."))
	wantLabels(t, "vars.", c.complete(uri, l, ch), "invalid", "largest", "largest_amount", "refunded", "total_paid")
	// steps ids: every id of the section
	l, ch = pos(t, text, "len(steps.counted)", 0, len("len(steps."))
	wantLabels(t, "steps.", c.complete(uri, l, ch), "counted", "tier", "tiers")

	// paginate: response
	uri2, text2 := c.openFile(filepath.Join(connector(t, "okta"), "flows", "list_all.yaml"))
	l, ch = pos(t, text2, "response.headers.link", 0, 0)
	hasLabels(t, "paginate", c.complete(uri2, l, ch), []string{"response", "inputs"}, []string{"error"})
	wantLabels(t, "response.", c.complete(uri2, l, ch+len("response.")), "body", "headers", "status")

	// paginate.each_page and collect: page and response; page is not offered in next
	shipped, err := filepath.Abs(filepath.Join("..", "connectors", "okta", "flows", "user_report.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	uri3, text3 := c.openFile(shipped)
	l, ch = pos(t, text3, "vars.total + len(page.items)", 0, 0)
	hasLabels(t, "each_page", c.complete(uri3, l, ch), []string{"page", "response", "vars", "inputs"}, []string{"error", "item"})
	l, ch = pos(t, text3, "len(page.items)", 0, len("len(page."))
	wantLabels(t, "page.", c.complete(uri3, l, ch), "items", "number")
	l, ch = pos(t, text3, "map(filter(page.items", 0, 0)
	hasLabels(t, "collect", c.complete(uri3, l, ch), []string{"page", "response"}, nil)
	l, ch = pos(t, text3, "linkNext(response.headers.link)", 0, 0)
	hasLabels(t, "next", c.complete(uri3, l, ch), []string{"response"}, []string{"page"})
	c.close()
}

func TestCompletionWebhook(t *testing.T) {
	c := newClient(t)
	uri, text := c.openFile(filepath.Join(connector(t, "okta"), "flows", "event_hook.yaml"))
	l, ch := pos(t, text, "${ webhook.secret }", 0, 3)
	hasLabels(t, "verify.secret", c.complete(uri, l, ch), []string{"webhook", "registration", "inputs", "connection"}, []string{"steps", "vars", "flow", "request"})
	l, ch = pos(t, text, "${ event.uuid }", 0, 3)
	wantLabels(t, "dedupe", c.complete(uri, l, ch+len("event.")), "actor", "displayMessage", "eventType", "outcome", "published", "severity", "targets", "uuid")
	l, ch = pos(t, text, "${ inputs.name }", 0, 3)
	hasLabels(t, "register", c.complete(uri, l, ch), []string{"webhook", "steps", "vars"}, []string{"request", "registration"})
	l, ch = pos(t, text, "${ urlEncode(registration.id) }", 0, 3)
	hasLabels(t, "deregister", c.complete(uri, l, ch), []string{"webhook", "registration"}, []string{"request"})
	c.close()
}

func TestHover(t *testing.T) {
	dir := connector(t, "okta")
	c := newClient(t)
	uri, text := c.openFile(filepath.Join(dir, "flows", "get_user.yaml"))
	l, ch := pos(t, text, "urlEncode", 0, 3)
	h, r := c.hover(uri, l, ch)
	if !strings.HasPrefix(h, "```\nurlEncode(s string) string\n```\n\nPercent-encodes") ||
		!strings.Contains(h, `urlEncode("a b/c?d=é") → "a%20b%2Fc%3Fd%3D%C3%A9"`) || r != rng(l, ch-3, l, ch+6) {
		t.Errorf("urlEncode hover %s: %q", r, h)
	}
	l, ch = pos(t, text, "inputs.id", 0, len("inputs."))
	h, r = c.hover(uri, l, ch)
	if want := "input `id`: string, required\n\nA user id (00u...), or a login such as alice@example.com."; h != want || r != rng(l, ch, l, ch+2) {
		t.Errorf("inputs.id hover %s: %q", r, h)
	}
	l, ch = pos(t, text, "steps.get.status", 0, len("steps."))
	if h, _ = c.hover(uri, l, ch); h != "step `get` (http): `{status, headers, body}`" {
		t.Errorf("steps.get hover: %q", h)
	}
	l, ch = pos(t, text, "expect: any", 0, 1)
	h, r = c.hover(uri, l, ch)
	if !strings.HasPrefix(h, "**expect**\n\nThe statuses that count as success") || r != rng(l, 6, l, 12) {
		t.Errorf("expect hover %s: %q", r, h)
	}
	l, ch = pos(t, text, "response: ${ steps.get }", 0, 2)
	h, _ = c.hover(uri, l, ch)
	if !strings.HasPrefix(h, "input `response`: object, required\n\nThe result of an http step") || !strings.HasSuffix(h, "(of flow `check_response`)") {
		t.Errorf("with: key hover: %q", h)
	}
	l, ch = pos(t, text, "call: check_response", 0, 9)
	h, r = c.hover(uri, l, ch)
	if !strings.HasPrefix(h, "**check_response** (helper flow): Check an Okta response") || r != rng(l, 10, l, 24) {
		t.Errorf("call hover %s: %q", r, h)
	}
	l, ch = pos(t, text, "  - id: get", 0, 4)
	if h, _ = c.hover(uri, l, ch); !strings.HasPrefix(h, "**id**\n\nNames the step") {
		t.Errorf("id hover: %q", h)
	}
	if h, _ = c.hover(uri, 0, 0); !strings.HasPrefix(h, "**flowrun**\n\nThe language version") {
		t.Errorf("flowrun hover: %q", h)
	}
	c.close()
}

func TestDefinition(t *testing.T) {
	dir := connector(t, "okta")
	c := newClient(t)
	uri, text := c.openFile(filepath.Join(dir, "flows", "get_user.yaml"))
	helper := uriOf(filepath.Join(dir, "flows", "check_response.yaml"))
	l, ch := pos(t, text, "call: check_response", 0, 12)
	want := func(what string, got *location, uri string, r lspRange) {
		t.Helper()
		if got == nil || got.URI != uri || got.Range != r {
			t.Errorf("%s: got %+v, want %s %s", what, got, uri, r)
		}
	}
	want("call:", c.definition(uri, l, ch), helper, rng(1, 6, 1, 20))
	l, ch = pos(t, text, "steps.get.status", 0, len("steps.g"))
	want("steps.get", c.definition(uri, l, ch), uri, rng(28, 8, 28, 11))
	l, ch = pos(t, text, "inputs.id", 0, len("inputs."))
	want("inputs.id", c.definition(uri, l, ch), uri, rng(6, 2, 6, 4))
	l, ch = pos(t, text, "response: ${ steps.get }", 0, 3)
	want("with: response", c.definition(uri, l, ch), helper, rng(9, 2, 9, 10))
	if got := c.definition(uri, 0, 2); got != nil {
		t.Errorf("flowrun: has a definition %+v", got)
	}
	// connection parameters are declared in connector.yaml
	uri2, text2 := c.openFile(filepath.Join(dir, "connector.yaml"))
	l, ch = pos(t, text2, "connection.domain", 0, len("connection.d"))
	want("connection.domain", c.definition(uri2, l, ch), uri2, rng(9, 4, 9, 10))
	// a test names its flow
	uri3, text3 := c.openFile(filepath.Join(dir, "tests", "okta.yaml"))
	l, ch = pos(t, text3, "flow: get_user", 0, 7)
	want("flow: get_user", c.definition(uri3, l, ch), uri, rng(1, 6, 1, 14))
	c.close()
}

func symbolTree(ss []docSymbol, indent string) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "%s%s (%s) %d %s %s\n", indent, s.Name, s.Detail, s.Kind, s.Range, s.SelectionRange)
		b.WriteString(symbolTree(s.Children, indent+"  "))
	}
	return b.String()
}

func TestDocumentSymbols(t *testing.T) {
	c := newClient(t)
	uri, _ := c.openFile(filepath.Join(connector(t, "example"), "flows", "summarize.yaml"))
	got := symbolTree(c.symbols(uri), "")
	want := `summarize (action flow) 12 0:0-94:0 2:6-2:15
  counted (for_each) 6 38:4-74:47 38:8-38:15
  tiers (for_each) 6 75:4-84:34 75:8-75:13
    tier (call classify) 6 81:8-84:34 81:12-81:16
`
	if got != want {
		t.Errorf("summarize.yaml:\n%s\nwant\n%s", got, want)
	}
	uri, _ = c.openFile(filepath.Join(connector(t, "okta"), "flows", "event_hook.yaml"))
	got = symbolTree(c.symbols(uri), "")
	want = `event_hook (webhook flow) 12 0:0-124:0 1:6-1:16
  register () 3 37:0-80:36 37:0-37:8
    hook (http) 6 39:6-58:19 39:10-39:14
  deregister () 3 81:0-100:20 81:0-81:10
    deactivate (http) 6 83:6-87:19 83:10-83:20
    delete (http) 6 92:6-96:19 92:10-92:16
  event () 3 101:0-123:40 101:0-101:5
    shaped (call log_events) 6 118:6-121:63 118:10-118:16
`
	if got != want {
		t.Errorf("event_hook.yaml:\n%s\nwant\n%s", got, want)
	}
	c.close()
}

// Broken and unsaved files: a flow only in the editor is part of the
// project; its problems are shown at their characters (UTF-16 columns on
// lines with astral characters) and go away when fixed.
func TestBrokenFiles(t *testing.T) {
	dir := copyDir(t, connector(t, "okta"))
	c := newClient(t)
	path := filepath.Join(dir, "flows", "new.yaml")
	text := "flowrun: 1\nname: new\ntype: action\nsteps:\n  - log: \"😀é ${ inputs.nope }\"\n  - call: get_usr\n"
	uri := c.open(path, text)
	var got []string
	for _, d := range c.diags[uri] {
		got = append(got, d.Range.String()+" "+d.Message)
	}
	want := []string{
		"4:24-4:28 expression: unknown field nope",
		`5:10-5:17 call: no flow named "get_usr" (hint: did you mean "get_user"?)`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("new.yaml:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// a YAML error
	c.replaceAll(uri, "flowrun: 1\nname: new\ntype: action\nsteps:\n  - log: [\n")
	if ds := c.diags[uri]; len(ds) != 1 || ds[0].Range != rng(4, 9, 4, 10) || !strings.HasPrefix(ds[0].Message, "YAML: ") {
		t.Errorf("YAML error: %+v", ds)
	}
	// completion still works from the outline and the last tree that parsed
	c.replaceAll(uri, "flowrun: 1\nname: new\ntype: action\nsteps:\n  - id: a\n    h\n")
	hasLabels(t, "half a key", c.complete(uri, 5, 5), []string{"http", "name"}, []string{"id"})
	c.replaceAll(uri, "flowrun: 1\nname: new\ntype: action\nsteps:\n  - log: hi\n")
	if len(c.diags) != 0 {
		t.Errorf("diagnostics after the fix: %v", c.diags)
	}
	// closing an unsaved file drops it from the project
	c.replaceAll(uri, "flowrun: 1\nname: new\ntype: action\nsteps:\n  - call: nope\n")
	if len(c.diags[uri]) != 1 {
		t.Errorf("before close: %v", c.diags)
	}
	c.notify("textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": uri}})
	c.sync()
	if len(c.diags) != 0 {
		t.Errorf("after close: %v", c.diags)
	}
	// a project file saved on disk with a problem, reported on open of another
	if err := os.WriteFile(path, []byte("flowrun: 1\nname: new\ntype: acton\nsteps:\n  - log: hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	c.openFile(filepath.Join(dir, "connector.yaml"))
	if ds := c.diags[uri]; len(ds) != 1 || ds[0].Range != rng(2, 6, 2, 11) {
		t.Errorf("saved file: %+v", c.diags)
	}
	// a file outside any project gets nothing
	other := c.open(filepath.Join(dir, "connection.example.yaml"), "not: [a project file\n")
	if _, ok := c.diags[other]; ok || len(c.complete(other, 0, 3)) != 0 {
		t.Errorf("connection.example.yaml is not a project file")
	}
	c.close()
}

// The LSP lifecycle: requests before initialize are refused, and exit
// without shutdown ends the server with a failure.
func TestLifecycle(t *testing.T) {
	c := newClient(t)
	c.notify("exit", nil)
	if ok := <-c.done; ok {
		t.Fatal("exit without shutdown reported success")
	}
}
