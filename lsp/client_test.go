package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// client is an editor for the tests: it speaks JSON-RPC with LSP framing
// to a server over pipes, as VS Code or Neovim do over stdio.
type client struct {
	t     *testing.T
	w     io.WriteCloser
	in    chan rpcMessage
	id    int
	diags map[string][]diagnostic // the last diagnostics published, by URI
	pubs  int                     // publishDiagnostics notifications seen
	done  chan bool
}

type rpcMessage struct {
	ID     *json.RawMessage `json:"id,omitempty"`
	Method string           `json:"method,omitempty"`
	Params json.RawMessage  `json:"params,omitempty"`
	Result json.RawMessage  `json:"result,omitempty"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

type lspPos struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

type lspRange struct {
	Start lspPos `json:"start"`
	End   lspPos `json:"end"`
}

func (r lspRange) String() string {
	return fmt.Sprintf("%d:%d-%d:%d", r.Start.Line, r.Start.Character, r.End.Line, r.End.Character)
}

type diagnostic struct {
	Range    lspRange `json:"range"`
	Severity int      `json:"severity"`
	Source   string   `json:"source"`
	Message  string   `json:"message"`
}

type duplex struct {
	io.Reader
	io.WriteCloser
}

// newClient starts a server and initializes it.
func newClient(t *testing.T) *client {
	t.Helper()
	cr, sw := io.Pipe() // server -> client
	sr, cw := io.Pipe() // client -> server
	c := &client{t: t, w: cw, in: make(chan rpcMessage, 10000), diags: map[string][]diagnostic{}, done: make(chan bool, 1)}
	s := New("test", io.Discard)
	go func() {
		ok := s.Serve(context.Background(), duplex{sr, sw})
		sw.Close()
		c.done <- ok
	}()
	go func() {
		br := bufio.NewReader(cr)
		defer close(c.in)
		for {
			m, err := readMessage(br)
			if err != nil {
				return
			}
			c.in <- m
		}
	}()
	t.Cleanup(func() { cw.Close() })
	var res struct {
		Capabilities map[string]any `json:"capabilities"`
		ServerInfo   struct{ Name string }
	}
	c.call("initialize", map[string]any{"processId": nil, "rootUri": nil, "capabilities": map[string]any{}}, &res)
	if res.ServerInfo.Name != "flowrun" || res.Capabilities["completionProvider"] == nil {
		t.Fatalf("initialize: %+v", res)
	}
	c.notify("initialized", map[string]any{})
	return c
}

func readMessage(br *bufio.Reader) (rpcMessage, error) {
	var m rpcMessage
	n := -1
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return m, err
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			break
		}
		if v, ok := strings.CutPrefix(line, "Content-Length: "); ok {
			n, _ = strconv.Atoi(v)
		}
	}
	if n < 0 {
		return m, fmt.Errorf("no Content-Length")
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		return m, err
	}
	return m, json.Unmarshal(body, &m)
}

func (c *client) send(m map[string]any) {
	c.t.Helper()
	m["jsonrpc"] = "2.0"
	b, err := json.Marshal(m)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, err := fmt.Fprintf(c.w, "Content-Length: %d\r\n\r\n%s", len(b), b); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *client) notify(method string, params any) {
	c.t.Helper()
	c.send(map[string]any{"method": method, "params": params})
}

// call sends a request and waits for its answer, recording the
// notifications that come before it. It returns the error message, if the
// server answered with one.
func (c *client) call(method string, params any, result any) string {
	c.t.Helper()
	c.id++
	id := c.id
	c.send(map[string]any{"id": id, "method": method, "params": params})
	for m := range c.in {
		if m.ID == nil {
			c.note(m)
			continue
		}
		if string(*m.ID) != strconv.Itoa(id) {
			c.t.Fatalf("answer to %s for id %s", method, *m.ID)
		}
		if m.Error != nil {
			return m.Error.Message
		}
		if result != nil {
			if err := json.Unmarshal(m.Result, result); err != nil {
				c.t.Fatalf("%s: %v in %s", method, err, m.Result)
			}
		}
		return ""
	}
	c.t.Fatalf("%s: the server closed the connection", method)
	return ""
}

func (c *client) note(m rpcMessage) {
	if m.Method != "textDocument/publishDiagnostics" {
		return
	}
	var p struct {
		URI         string       `json:"uri"`
		Diagnostics []diagnostic `json:"diagnostics"`
	}
	if err := json.Unmarshal(m.Params, &p); err != nil {
		c.t.Fatal(err)
	}
	c.pubs++
	if len(p.Diagnostics) == 0 {
		delete(c.diags, p.URI)
		return
	}
	c.diags[p.URI] = p.Diagnostics
}

// sync waits until the server handled everything sent before: requests
// are handled in order, so once a request is answered the notifications
// sent before it have been handled and their diagnostics received.
func (c *client) sync() {
	c.t.Helper()
	c.call("flowrun/sync", map[string]any{}, nil)
}

func (c *client) open(path, text string) string {
	c.t.Helper()
	uri := uriOf(path)
	c.notify("textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": uri, "languageId": "yaml", "version": 1, "text": text}})
	c.sync()
	return uri
}

func (c *client) openFile(path string) (string, string) {
	c.t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		c.t.Fatal(err)
	}
	return c.open(path, string(b)), string(b)
}

var versions = map[string]int{}

// change sends one edit: text replaces the range.
func (c *client) change(uri string, r lspRange, text string) {
	c.t.Helper()
	versions[uri]++
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": versions[uri] + 1},
		"contentChanges": []any{map[string]any{"range": r, "text": text}},
	})
	c.sync()
}

// replaceAll sends the whole new text.
func (c *client) replaceAll(uri, text string) {
	c.t.Helper()
	versions[uri]++
	c.notify("textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": uri, "version": versions[uri] + 1},
		"contentChanges": []any{map[string]any{"text": text}},
	})
	c.sync()
}

type completionItem struct {
	Label         string `json:"label"`
	Kind          int    `json:"kind"`
	Detail        string `json:"detail"`
	Documentation struct {
		Kind  string `json:"kind"`
		Value string `json:"value"`
	} `json:"documentation"`
	TextEdit struct {
		Range   lspRange `json:"range"`
		NewText string   `json:"newText"`
	} `json:"textEdit"`
}

func (c *client) complete(uri string, line, char int) []completionItem {
	c.t.Helper()
	var res struct {
		Items []completionItem `json:"items"`
	}
	if msg := c.call("textDocument/completion", map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": lspPos{line, char}}, &res); msg != "" {
		c.t.Fatalf("completion: %s", msg)
	}
	return res.Items
}

func labels(items []completionItem) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = it.Label
	}
	return out
}

func (c *client) hover(uri string, line, char int) (string, lspRange) {
	c.t.Helper()
	var res *struct {
		Contents struct{ Value string } `json:"contents"`
		Range    lspRange               `json:"range"`
	}
	if msg := c.call("textDocument/hover", map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": lspPos{line, char}}, &res); msg != "" {
		c.t.Fatalf("hover: %s", msg)
	}
	if res == nil {
		return "", lspRange{}
	}
	return res.Contents.Value, res.Range
}

type location struct {
	URI   string   `json:"uri"`
	Range lspRange `json:"range"`
}

func (c *client) definition(uri string, line, char int) *location {
	c.t.Helper()
	var res *location
	if msg := c.call("textDocument/definition", map[string]any{"textDocument": map[string]any{"uri": uri},
		"position": lspPos{line, char}}, &res); msg != "" {
		c.t.Fatalf("definition: %s", msg)
	}
	return res
}

type docSymbol struct {
	Name           string      `json:"name"`
	Detail         string      `json:"detail"`
	Kind           int         `json:"kind"`
	Range          lspRange    `json:"range"`
	SelectionRange lspRange    `json:"selectionRange"`
	Children       []docSymbol `json:"children"`
}

func (c *client) symbols(uri string) []docSymbol {
	c.t.Helper()
	var res []docSymbol
	if msg := c.call("textDocument/documentSymbol", map[string]any{"textDocument": map[string]any{"uri": uri}}, &res); msg != "" {
		c.t.Fatalf("documentSymbol: %s", msg)
	}
	return res
}

// close ends the session as an editor does: shutdown, then exit.
func (c *client) close() {
	c.t.Helper()
	if msg := c.call("shutdown", nil, nil); msg != "" {
		c.t.Fatalf("shutdown: %s", msg)
	}
	c.notify("exit", nil)
	if ok := <-c.done; !ok {
		c.t.Fatal("the server did not see shutdown before exit")
	}
}

// pos finds the line and UTF-16 column of the nth (0-based) occurrence of
// marker in text, plus off characters.
func pos(t *testing.T, text, marker string, nth, off int) (int, int) {
	t.Helper()
	i := -1
	for k := 0; k <= nth; k++ {
		j := strings.Index(text[i+1:], marker)
		if j < 0 {
			t.Fatalf("%q not found %d times", marker, nth+1)
		}
		i += 1 + j
	}
	line := strings.Count(text[:i], "\n")
	ls := strings.LastIndex(text[:i], "\n") + 1
	return line, utf16Len(text[ls:i]) + off
}

// copyDir copies a project into a temporary directory (tests edit files).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
