package lsp

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestManyRequests hammers the server with the requests an editor sends
// while one types and hovers: completion, hover, definition and document
// symbols at many positions of every file of the frozen Okta connector,
// pipelined (sent before any answer is read) and interleaved with edits.
// Every request is answered, none with an error, and between two edits a
// document is parsed once, not once per request (the server hung under
// such a burst when it re-parsed for each). FLOWRUN_LSP_SWEEP=all asks at
// every position of every line, not a sample.
func TestManyRequests(t *testing.T) {
	sweep := os.Getenv("FLOWRUN_LSP_SWEEP") == "all"
	dir := copyDir(t, connector(t, "okta"))
	var files []string
	for _, pat := range []string{"connector.yaml", "flows/*.yaml", "tests/*.yaml"} {
		m, _ := filepath.Glob(filepath.Join(dir, pat))
		files = append(files, m...)
	}
	if !sweep && len(files) > 6 {
		files = files[:6]
	}
	c := newClient(t)
	start := time.Now()
	requests := 0
	for fi, path := range files {
		uri, text := c.openFile(path)
		lines := strings.Split(text, "\n")
		var batch []map[string]any
		for l, line := range lines {
			if !sweep && l%4 != fi%4 {
				continue
			}
			cols := []int{0, len(line) / 2, utf16Len(line)}
			if sweep {
				cols = cols[:0]
				for col := 0; col <= utf16Len(line); col++ {
					cols = append(cols, col)
				}
			}
			for _, col := range cols {
				p := map[string]any{"textDocument": map[string]any{"uri": uri}, "position": lspPos{l, col}}
				for _, m := range []string{"textDocument/completion", "textDocument/hover", "textDocument/definition"} {
					batch = append(batch, map[string]any{"method": m, "params": p})
				}
			}
			batch = append(batch, map[string]any{"method": "textDocument/documentSymbol",
				"params": map[string]any{"textDocument": map[string]any{"uri": uri}}})
		}
		requests += c.pipeline(batch)
		// an edit (a half-typed key), requests on the broken text, the undo
		mid := len(lines) / 2
		c.change(uri, rng(mid, 0, mid, 0), "  x")
		requests += c.pipeline(batch[:min(len(batch), 60)])
		c.change(uri, rng(mid, 0, mid, 3), "")
		if got := c.symbols(uri); len(got) == 0 {
			t.Errorf("%s: no symbols after the undo", path)
		}
	}
	took := time.Since(start)
	t.Logf("%d requests on %d files in %s (%.2f ms each)", requests, len(files), took.Round(time.Millisecond), float64(took.Microseconds())/1000/float64(max(requests, 1)))
	c.close()
}

// pipeline sends every request before reading any answer, then checks that
// each one got an answer without an error. It returns how many were sent.
func (c *client) pipeline(reqs []map[string]any) int {
	c.t.Helper()
	first := c.id + 1
	for _, r := range reqs {
		c.id++
		c.send(map[string]any{"id": c.id, "method": r["method"], "params": r["params"]})
	}
	got := map[int]bool{}
	deadline := time.After(2 * time.Minute)
	for len(got) < len(reqs) {
		select {
		case m, ok := <-c.in:
			if !ok {
				c.t.Fatalf("the server closed the connection after %d of %d answers", len(got), len(reqs))
			}
			if m.ID == nil {
				c.note(m)
				continue
			}
			id, err := strconv.Atoi(string(*m.ID))
			if err != nil || id < first || id > c.id {
				c.t.Fatalf("unexpected answer id %s", *m.ID)
			}
			if m.Error != nil {
				r := reqs[id-first]
				p, _ := json.Marshal(r["params"])
				c.t.Errorf("%s %s: %s", r["method"], p, m.Error.Message)
			}
			got[id] = true
		case <-deadline:
			c.t.Fatalf("only %d of %d requests answered in 2 minutes", len(got), len(reqs))
		}
	}
	return len(reqs)
}

// TestParseOncePerVersion: requests read the document's tree; only an edit
// parses it again.
func TestParseOncePerVersion(t *testing.T) {
	d := &document{path: "flows/x.yaml"}
	d.set("flowrun: 1\nname: x\ntype: action\nsteps:\n  - log: hi\n")
	tree := d.cur
	if tree == nil || !d.curOK {
		t.Fatal("no tree")
	}
	a := &at{doc: d, line: 1}
	for range 3 {
		if a.tree() != tree {
			t.Fatal("the tree was parsed again")
		}
	}
	d.set("flowrun: 1\nname: x\ntype: action\nsteps:\n  - log: hi\n  - lo\n  x: [\n")
	if d.curOK || d.cur != nil {
		t.Fatal("a broken text has a tree")
	}
	a = &at{doc: d, line: 6}
	b1 := a.tree()
	if b1 == nil || b1 == tree {
		t.Fatal("no tree with the broken line blanked")
	}
	if a.tree() != b1 {
		t.Fatal("the blanked text was parsed again")
	}
}
