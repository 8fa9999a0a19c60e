package run_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/load/loadtest"
	"github.com/flowrun/flowrun/run"
)

// The fuzz target of the credential origin rule: paths joined to base_url,
// next links and next URLs of paginate, url: steps and redirects all come
// from the fuzz input; home is base_url's origin, other (127.0.0.2, home's
// port when it is free) and other2 (127.0.0.1, another port) are not. They
// must never see a credential of the connection: not its auth header, not
// a header, query or body holding its secret.

const fuzzOriginKey = "sekret-key-123"

// fuzzOriginCreds are the forms the connection's credentials take on the
// wire: the key (bearer token, X-Secret) and its base64 (X-Derived).
var fuzzOriginCreds = []string{fuzzOriginKey, "c2VrcmV0LWtleS0xMjM"}

var fuzzOriginFiles = map[string]string{
	"connector.yaml": `flowrun: 1
name: origins
base_url: ${ connection.base_url }/api
connection:
  params:
    base_url: {type: string, required: true}
    api_key: {type: string, secret: true}
  auth:
    type: bearer
    bearer: {token: "${ connection.api_key }"}
http:
  headers:
    X-Secret: ${ connection.api_key }
    X-Derived: "Key ${ base64Encode(connection.api_key) }"
`,
	"flows/join.yaml": `flowrun: 1
name: join
type: action
inputs:
  method: {type: string, required: true}
  path: {type: string, required: true}
steps:
  - http:
      method: ${ inputs.method }
      path: ${ inputs.path }
      expect: any
  - return: {}
`,
	"flows/joinkey.yaml": `flowrun: 1
name: joinkey
type: action
inputs:
  path: {type: string, required: true}
steps:
  - http:
      path: ${ inputs.path }
      query: {api_key: "${ connection.api_key }"}
      expect: any
  - return: {}
`,
	"flows/pages.yaml": `flowrun: 1
name: pages
type: action
inputs:
  path: {type: string, required: true}
steps:
  - http:
      path: ${ inputs.path }
      expect: any
      paginate:
        items: ${ response.body.items ?? [] }
        next: ${ linkNext(response.headers.link) ?? response.body.next }
        max_pages: 6
  - return: {}
`,
	"flows/abs.yaml": `flowrun: 1
name: abs
type: action
inputs:
  method: {type: string, required: true}
  url: {type: string, required: true}
steps:
  - http:
      method: ${ inputs.method }
      url: ${ inputs.url }
      expect: any
  - return: {}
`,
}

// fuzzOriginHit is one request a server received.
type fuzzOriginHit struct {
	server string // home, other, other2
	method string
	url    string
	header http.Header
	body   string
}

type fuzzOriginWorld struct {
	mu                sync.Mutex
	hits              []fuzzOriginHit
	link, next        string // what every server answers with
	home, other, oth2 string // host:port
}

func (w *fuzzOriginWorld) expand(s string) string {
	return strings.NewReplacer("{home}", w.home, "{other}", w.other, "{other2}", w.oth2, "{secret}", fuzzOriginKey).Replace(s)
}

// server starts a server on addr that records requests and answers every
// one alike: a redirect to next at .../redirect (307 at .../redirect307;
// {query} in next is the request's query, as services keep it), else a page of one item with next in its Link header and body.
func (w *fuzzOriginWorld) server(t testing.TB, name, addr string) string {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return ""
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.mu.Lock()
		w.hits = append(w.hits, fuzzOriginHit{name, r.Method, r.URL.String(), r.Header.Clone(), string(b)})
		link, next := w.link, w.next
		w.mu.Unlock()
		next = strings.ReplaceAll(next, "{query}", r.URL.RawQuery)
		switch {
		case strings.HasSuffix(r.URL.Path, "/redirect"):
			rw.Header().Set("Location", next)
			rw.WriteHeader(http.StatusFound)
			return
		case strings.HasSuffix(r.URL.Path, "/redirect307"):
			rw.Header().Set("Location", next)
			rw.WriteHeader(http.StatusTemporaryRedirect)
			return
		}
		if link != "" {
			rw.Header().Set("Link", link)
		}
		rw.Header().Set("Content-Type", "application/json")
		body, _ := json.Marshal(map[string]any{"items": []any{1}, "next": next})
		rw.Write(body)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return ln.Addr().String()
}

var fuzzOriginMethods = []string{"GET", "POST", "HEAD", "PUT", "DELETE"}

// FuzzOrigin runs four flows per input: join (method, path), joinkey
// (path, with the secret in its query), pages (path, then paginate) and
// abs (method, url:). In the strings, {home}, {other}, {other2} are the
// servers' host:port and {secret} the connection's key.
func FuzzOrigin(f *testing.F) {
	for _, s := range []struct {
		method           uint8
		path, link, next string
		abs              string
	}{
		{0, "/users", `<http://{other}/p2>; rel="next"`, "", "http://{home}/api/x"},
		{0, "redirect", "", "http://{other}/landed", "http://{other}/x"},
		{1, "redirect307", "", "http://{other}/landed", "http://{other2}/api/redirect"},
		{1, "redirect", `<http://{home}/api/p2>; rel="next"`, "http://{other2}/landed", "http://{home}/api/redirect"},
		{0, "/list", "", "//{other}/p2", "HTTP://{HOME}/api"},
		{0, "/list", `<http://{other2}/a?key={secret}>; rel="next"`, "", "http://u:p@{other}/"},
		{0, "/list", `</api/p2>; rel="next", <http://{other}/>; rel="last"`, "?page=2", "https://{home}/"},
		{0, "@{other}/x", `<http://{home}/api/p3>; rel=next`, "http://{other}/api/redirect", "http://{home}:/api"},
		{0, "\\\\{other}/x", `< http://{other}:80/ >;rel="next"`, "http://[::ffff:127.0.0.2]:1/", "http://127.0.0.1.:1/"},
		{2, "redirect", "", "/api/next", "http://{home}@{other}/"},
		{0, "..%2F..%2F", "", "http:{other}/x", "http://{other}#@{home}/"},
	} {
		f.Add(s.method, s.path, s.link, s.next, s.abs)
	}
	dir := f.TempDir()
	loadtest.Write(f, dir, fuzzOriginFiles)
	p, err := load.Project(dir)
	if err != nil {
		f.Fatal(err)
	}
	w := &fuzzOriginWorld{}
	w.home = w.server(f, "home", "127.0.0.1:0")
	port := w.home[strings.LastIndex(w.home, ":"):]
	if w.other = w.server(f, "other", "127.0.0.2"+port); w.other == "" {
		w.other = w.server(f, "other", "127.0.0.2:0")
	}
	w.oth2 = w.server(f, "other2", "127.0.0.1:0")
	if w.home == "" || w.other == "" || w.oth2 == "" {
		f.Fatal("cannot listen on 127.0.0.1 and 127.0.0.2")
	}
	f.Fuzz(func(t *testing.T, method uint8, path, link, next, abs string) {
		w.mu.Lock()
		w.link, w.next = w.expand(link), w.expand(next)
		w.mu.Unlock()
		m := fuzzOriginMethods[int(method)%len(fuzzOriginMethods)]
		for _, c := range []struct {
			flow string
			in   map[string]any
		}{
			{"join", map[string]any{"method": m, "path": w.expand(path)}},
			{"joinkey", map[string]any{"path": w.expand(path)}},
			{"pages", map[string]any{"path": w.expand(path)}},
			{"abs", map[string]any{"method": m, "url": w.expand(abs)}},
		} {
			w.mu.Lock()
			w.hits = nil
			w.mu.Unlock()
			conn := &connection.Connection{Params: map[string]any{"base_url": "http://" + w.home, "api_key": fuzzOriginKey}}
			conn.AddSecret(fuzzOriginKey)
			r := &run.Runner{Project: p, Connection: conn, Sleep: func(context.Context, time.Duration) error { return nil }}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_, err := r.Run(ctx, c.flow, c.in)
			cancel()
			w.mu.Lock()
			hits := w.hits
			w.mu.Unlock()
			for _, h := range hits {
				if h.server == "home" {
					continue
				}
				if leak := fuzzOriginLeak(h); leak != "" {
					t.Fatalf("flow %s %v: %s %s %s got %s (run error: %v)\nall requests:\n%s", c.flow, c.in, h.server, h.method, h.url, leak, err, fuzzOriginShow(hits))
				}
			}
		}
	})
}

// fuzzOriginLeak names the credential a request carries, if any. An
// Authorization header is one unless it is the Basic of a URL's userinfo
// (which the fuzz input wrote, not the connection).
func fuzzOriginLeak(h fuzzOriginHit) string {
	all := h.url + "\n" + h.body
	for k, vs := range h.header {
		v := strings.Join(vs, ",")
		if k == "Authorization" && !strings.HasPrefix(v, "Basic ") {
			return "Authorization: " + v
		}
		all += "\n" + k + ": " + v
	}
	for _, s := range fuzzOriginCreds {
		if strings.Contains(all, s) {
			return fmt.Sprintf("the credential %q", s)
		}
	}
	return ""
}

func fuzzOriginShow(hits []fuzzOriginHit) string {
	var b strings.Builder
	for _, h := range hits {
		fmt.Fprintf(&b, "  %s %s %s %v\n", h.server, h.method, h.url, h.header)
	}
	return b.String()
}
