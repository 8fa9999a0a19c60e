package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

func lspFrame(msg map[string]any) string {
	msg["jsonrpc"] = "2.0"
	b, _ := json.Marshal(msg)
	return fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(b), b)
}

// flowrun lsp over stdin and stdout: initialize, shutdown and exit give
// exit status 0; a stream that ends without them, 1.
func TestLSPCommand(t *testing.T) {
	session := lspFrame(map[string]any{"id": 1, "method": "initialize", "params": map[string]any{"capabilities": map[string]any{}}}) +
		lspFrame(map[string]any{"method": "initialized", "params": map[string]any{}}) +
		lspFrame(map[string]any{"id": 2, "method": "shutdown"}) +
		lspFrame(map[string]any{"method": "exit"})
	var out, errb bytes.Buffer
	if code := Main([]string{"lsp", "--stdio"}, strings.NewReader(session), &out, &errb); code != 0 {
		t.Fatalf("exit %d, stderr %s", code, errb.String())
	}
	if !strings.Contains(out.String(), `"serverInfo":{"name":"flowrun"`) || !strings.Contains(out.String(), `{"id":2,"result":null,"jsonrpc":"2.0"}`) {
		t.Errorf("stdout: %s", out.String())
	}
	out.Reset()
	if code := Main([]string{"lsp"}, strings.NewReader(lspFrame(map[string]any{"id": 1, "method": "initialize", "params": map[string]any{}})), &out, &errb); code != 1 {
		t.Errorf("a stream that ends without shutdown: exit %d", code)
	}
}
