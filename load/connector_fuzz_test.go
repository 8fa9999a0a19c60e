package load_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/rogpeppe/go-internal/txtar"
)

// fuzzConnectorFlow is the project's one flow: it sends a request through
// whatever base_url, auth and http defaults the connector gives.
const fuzzConnectorFlow = `flowrun: 1
name: main
type: action
steps:
  - id: get
    http:
      path: /ping
      expect: any
  - return: {}
`

// FuzzConnectorYAML loads a project whose connector.yaml is the fuzz input
// (with one flow): no panic, and every diagnostic is positioned inside its
// file. A connector that loads runs the flow once against a local server
// (every request, whatever its URL, goes there): no panic either.
func FuzzConnectorYAML(f *testing.F) {
	seeds, _ := filepath.Glob("../connectors/*/connector.yaml")
	seeds = append(seeds, "../testdata/flowtest/acme/connector.yaml")
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	scripts, _ := filepath.Glob("../testdata/script/*.txtar")
	for _, s := range scripts {
		ar, err := txtar.ParseFile(s)
		if err != nil {
			f.Fatal(err)
		}
		for _, m := range ar.Files {
			if filepath.Base(m.Name) == "connector.yaml" {
				f.Add(m.Data)
			}
		}
	}
	for _, s := range []string{
		"flowrun: 1\nname: a\nbase_url: ${ connection.u }\nconnection:\n  params:\n    u: {type: string, default: \"http://x\"}\n  auth:\n    type: oauth2\n    oauth2:\n      grant: client_credentials\n      token_url: ${ connection.u }/token\n      client_id: id\n      client_secret: s\n",
		"flowrun: 1\nname: a\nbase_url: http://h\nhttp:\n  retry: {attempts: 3, on: [200], backoff: 1h}\n  headers: {X-A: '${ connector.name }'}\n  allowed_origins: ['http://h:1', x]\n",
		"flowrun: 1\nname: a\nconnection:\n  params:\n    p: {type: list, items: {type: object, properties: {q: datetime}}, default: [{q: 1}]}\n",
		"flowrun: 1\nname: a\nbase_url: http://h\nconnection:\n  auth:\n    type: basic\n    header: {name: X, value: y}\n",
		"flowrun: 1\nname: 'a b'\nbase_url: &b [*b]\n", "flowrun: 2\n", "", "name: x\n\tbase_url: y\n", "flowrun: 1\nname: a\nbase_url: \"${ \"\n",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "flows"), 0o755); err != nil {
		f.Fatal(err)
	}
	flowPath := filepath.Join(dir, "flows", "main.yaml")
	if err := os.WriteFile(flowPath, []byte(fuzzConnectorFlow), 0o644); err != nil {
		f.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.Method == "POST" {
			io.WriteString(w, `{"access_token": "tok-from-server", "token_type": "Bearer", "expires_in": 3600}`)
			return
		}
		io.WriteString(w, `{"ok": true}`)
	}))
	f.Cleanup(srv.Close)
	client := &http.Client{Transport: toServer{srv}}
	path := filepath.Join(dir, "connector.yaml")
	lineBreak := regexp.MustCompile("\r\n|\r|\n")
	flowLines := len(lineBreak.Split(fuzzConnectorFlow, -1))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		p, err := load.Project(dir)
		if err != nil {
			var ds lang.Diagnostics
			if !errors.As(err, &ds) {
				t.Fatalf("load error is not a list of diagnostics: %T %v", err, err)
			}
			lines := len(lineBreak.Split(string(data), -1))
			for _, d := range ds {
				if d.Message == "" || d.Pos.Line < 1 || d.Pos.Col < 1 {
					t.Fatalf("diagnostic without a message or position: %+v", d)
				}
				switch d.Pos.File {
				case path:
					if d.Pos.Line > lines {
						t.Fatalf("diagnostic outside connector.yaml (%d lines): %s", lines, d)
					}
				case flowPath:
					if d.Pos.Line > flowLines {
						t.Fatalf("diagnostic outside flows/main.yaml: %s", d)
					}
				default:
					t.Fatalf("diagnostic in another file: %s", d)
				}
			}
			return
		}
		params := map[string]any{}
		for _, fd := range p.Connector.Params {
			params[fd.Name] = fuzzParamValue(fd)
		}
		conn := &connection.Connection{Params: params, Token: &connection.Token{AccessToken: "tok-fuzz", RefreshToken: "ref-fuzz", Expiry: time.Now().Add(time.Hour)}}
		r := &run.Runner{Project: p, Connection: conn, Client: client,
			Sleep: func(context.Context, time.Duration) error { return nil }}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, _ = r.Run(ctx, "main", nil)
	})
}

// fuzzParamValue is a value of a declared param's type: its default, or
// the first of its enum, or a plain one.
func fuzzParamValue(f *lang.Field) any {
	switch {
	case f.HasDefault:
		return f.Default
	case len(f.Enum) > 0:
		return f.Enum[0]
	}
	switch f.Type {
	case "integer":
		return 1
	case "number":
		return 1.5
	case "boolean":
		return true
	case "datetime":
		return "2026-01-02T03:04:05Z"
	case "list":
		return []any{}
	case "object":
		m := map[string]any{}
		for _, p := range f.Properties {
			m[p.Name] = fuzzParamValue(p)
		}
		return m
	}
	return "p-" + f.Name
}

// toServer sends every request to one local server over real HTTP,
// whatever its URL: a fuzzed connector reaches no other host.
type toServer struct{ srv *httptest.Server }

func (t toServer) RoundTrip(r *http.Request) (*http.Response, error) {
	c := r.Clone(r.Context())
	c.URL.Scheme, c.URL.Host = "http", strings.TrimPrefix(t.srv.URL, "http://")
	return t.srv.Client().Transport.RoundTrip(c)
}
