package run

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flowrun/flowrun/connection"
)

// httpConnector is a connector.yaml whose base URL is a connection
// parameter; auth and http are spliced in.
func httpConnector(auth, httpDefaults string) string {
	c := `flowrun: 1
name: test
base_url: ${ connection.base_url }/api/v2
connection:
  params:
    base_url: {type: string, required: true}
    api_key: {type: string, secret: true}
    user: string
    client_id: string
    client_secret: {type: string, secret: true}
`
	if auth != "" {
		c += "  auth:\n" + indent(auth, "    ")
	}
	if httpDefaults != "" {
		c += "http:\n" + indent(httpDefaults, "  ")
	}
	return c
}

func indent(s, by string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i, l := range lines {
		lines[i] = by + l
	}
	return strings.Join(lines, "\n") + "\n"
}

// recorder is an httptest server that records requests and answers with a
// handler.
type recorder struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	Method, Path, Query string
	Header              http.Header
	Body                string
}

func newRecorder(t testing.TB, h http.HandlerFunc) *recorder {
	rec := &recorder{}
	rec.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(b)))
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, recorded{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Clone(), string(b)})
		rec.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(rec.Close)
	return rec
}

func (rec *recorder) requests() []recorded {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

func jsonReply(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// httpRun loads a project with the given connector and flows/main.yaml
// (an action flow from body) and runs it against base.
func httpRun(t *testing.T, connector, body string, base string, inputs map[string]any) (map[string]any, error, *sleeps) {
	t.Helper()
	p := loadProject(t, map[string]string{"connector.yaml": connector, "flows/main.yaml": "name: main\ntype: action\n" + strings.TrimLeft(body, "\n")})
	r, sl := newTestRunner(p, map[string]any{"base_url": base, "api_key": "sekret-key-123"})
	out, err := r.Run(context.Background(), "main", inputs)
	return out, err, sl
}

func TestHTTPRequestShape(t *testing.T) {
	rec := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, `{"ok": true}`) })
	conn := httpConnector("", "headers:\n  Accept: application/json\n  X-Default: d\n")
	cases := []struct {
		name, steps string
		want        recorded
		wantCT      string
	}{
		{"path joins base_url", "http: {path: /users}", recorded{Method: "GET", Path: "/api/v2/users"}, ""},
		{"path without a slash", "http: {path: users/1}", recorded{Method: "GET", Path: "/api/v2/users/1"}, ""},
		{"absolute url", "http:\n      url: ${ connection.base_url }/other", recorded{Method: "GET", Path: "/other"}, ""},
		{"query: null left out, lists repeated, path query kept", `http:
      path: /search?fixed=1
      query:
        q: a b&c
        skip: null
        ids: ${ [1, 2, nil, 3] }
        flag: true
        n: 2.5`, recorded{Method: "GET", Path: "/api/v2/search", Query: "fixed=1&flag=true&ids=1&ids=2&ids=3&n=2.5&q=a%20b%26c"}, ""},
		{"json body", `http:
      method: POST
      path: /users
      json:
        email: ${ "ada@example.com" }
        tags: [a, b]
        n: 1`, recorded{Method: "POST", Path: "/api/v2/users", Body: `{"email":"ada@example.com","n":1,"tags":["a","b"]}`}, "application/json"},
		{"json null sends no body", `http:
      method: POST
      path: /users
      json: null`, recorded{Method: "POST", Path: "/api/v2/users"}, ""},
		{"form body", `http:
      method: POST
      path: /form
      form:
        grant: x y
        n: ${ 2 }`, recorded{Method: "POST", Path: "/api/v2/form", Body: "grant=x%20y&n=2"}, "application/x-www-form-urlencoded"},
		{"raw body with its own content type", `http:
      method: PUT
      path: /raw
      headers: {Content-Type: text/csv}
      body: "a,b\n${ 1 + 1 },3"`, recorded{Method: "PUT", Path: "/api/v2/raw", Body: "a,b\n2,3"}, "text/csv"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(rec.requests())
			if _, err, _ := httpRun(t, conn, "steps:\n  - "+c.steps+"\n", rec.URL, nil); err != nil {
				t.Fatal(err)
			}
			reqs := rec.requests()
			if len(reqs) != before+1 {
				t.Fatalf("%d requests", len(reqs)-before)
			}
			got := reqs[len(reqs)-1]
			if got.Method != c.want.Method || got.Path != c.want.Path || got.Query != c.want.Query || got.Body != c.want.Body {
				t.Errorf("got %s %s ?%s body %q\nwant %s %s ?%s body %q", got.Method, got.Path, got.Query, got.Body, c.want.Method, c.want.Path, c.want.Query, c.want.Body)
			}
			if ct := got.Header.Get("Content-Type"); ct != c.wantCT {
				t.Errorf("content type %q, want %q", ct, c.wantCT)
			}
			if got.Header.Get("Accept") != "application/json" || got.Header.Get("X-Default") != "d" {
				t.Errorf("default headers missing: %v", got.Header)
			}
		})
	}
	t.Run("step headers override and remove defaults", func(t *testing.T) {
		_, err, _ := httpRun(t, conn, `steps:
  - http:
      path: /h
      headers:
        Accept: text/plain
        X-Default: null
        X-Trace: ${ "t-" + string(7) }
`, rec.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		reqs := rec.requests()
		h := reqs[len(reqs)-1].Header
		if h.Get("Accept") != "text/plain" || h.Values("X-Default") != nil || h.Get("X-Trace") != "t-7" {
			t.Errorf("headers %v", h)
		}
	})
}

func TestHTTPResponses(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v2/json":
			w.Header().Add("X-Multi", "a")
			w.Header().Add("X-Multi", "b")
			jsonReply(w, 200, `{"id": 12, "f": 1.5, "big": 12345678901234, "l": [1, "x", null], "o": {"k": true}}`)
		case "/api/v2/vnd":
			w.Header().Set("Content-Type", "application/vnd.api+json")
			_, _ = io.WriteString(w, `{"data": []}`)
		case "/api/v2/text":
			w.Header().Set("Content-Type", "text/plain")
			_, _ = io.WriteString(w, `{"not": "parsed"}`)
		case "/api/v2/empty":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(204)
		case "/api/v2/bad":
			jsonReply(w, 200, `{"id": 1,`)
		case "/api/v2/bad500":
			jsonReply(w, 500, `<html>oops</html>`)
		case "/api/v2/notfound":
			jsonReply(w, 404, `{"error": "no such user"}`)
		}
	})
	conn := httpConnector("", "")
	run := func(path, extra string) (map[string]any, error) {
		out, err, _ := httpRun(t, conn, `outputs: {r: any}
steps:
  - id: h
    http:
      path: `+path+extra+`
  - return:
      r: ${ steps.h }
`, srv.URL, nil)
		return out, err
	}
	t.Run("json parsed, headers lower case and joined", func(t *testing.T) {
		out, err := run("/json", "")
		if err != nil {
			t.Fatal(err)
		}
		r := out["r"].(map[string]any)
		if got := toJSON(t, r["body"]); got != `{"big":12345678901234,"f":1.5,"id":12,"l":[1,"x",null],"o":{"k":true}}` {
			t.Errorf("body %s", got)
		}
		h := r["headers"].(map[string]any)
		if h["x-multi"] != "a, b" || !strings.HasPrefix(h["content-type"].(string), "application/json") || r["status"] != 200 {
			t.Errorf("response %v", r)
		}
		if _, ok := r["body"].(map[string]any)["id"].(int); !ok {
			t.Errorf("integers decode as int: %T", r["body"].(map[string]any)["id"])
		}
	})
	t.Run("+json parsed", func(t *testing.T) {
		out, err := run("/vnd", "")
		if err != nil || toJSON(t, out["r"].(map[string]any)["body"]) != `{"data":[]}` {
			t.Errorf("%v %v", out, err)
		}
	})
	t.Run("text stays text", func(t *testing.T) {
		out, err := run("/text", "")
		if err != nil || out["r"].(map[string]any)["body"] != `{"not": "parsed"}` {
			t.Errorf("%v %v", out, err)
		}
	})
	t.Run("empty body is null", func(t *testing.T) {
		out, err := run("/empty", "")
		if err != nil || out["r"].(map[string]any)["body"] != nil || out["r"].(map[string]any)["status"] != 204 {
			t.Errorf("%v %v", out, err)
		}
	})
	t.Run("malformed JSON", func(t *testing.T) {
		_, err := run("/bad", "")
		if err == nil || !strings.Contains(err.Error(), "/api/v2/bad: 200 response: body is not valid JSON") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("malformed JSON in an error response keeps the status", func(t *testing.T) {
		_, err := run("/bad500", "")
		var re *RunError
		if !errors.As(err, &re) || re.Status != 500 || re.Body != "<html>oops</html>" {
			t.Errorf("err = %#v", err)
		}
	})
	t.Run("unexpected status", func(t *testing.T) {
		_, err := run("/notfound", "")
		var re *RunError
		if !errors.As(err, &re) || re.Status != 404 || toJSON(t, re.Body) != `{"error":"no such user"}` ||
			!strings.Contains(err.Error(), `step "h": GET `+srv.URL+`/api/v2/notfound: 404 Not Found: {"error":"no such user"}`) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("expect list", func(t *testing.T) {
		out, err := run("/notfound", "\n      expect: [200, 404]")
		if err != nil || out["r"].(map[string]any)["status"] != 404 {
			t.Errorf("%v %v", out, err)
		}
		_, err = run("/json", "\n      expect: 201")
		if err == nil || !strings.Contains(err.Error(), "200 OK") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("expect any", func(t *testing.T) {
		out, err := run("/bad500", "\n      expect: any")
		if err != nil || out["r"].(map[string]any)["status"] != 500 {
			t.Errorf("%v %v", out, err)
		}
	})
	t.Run("error object in catch", func(t *testing.T) {
		out, err, _ := httpRun(t, conn, `outputs: {e: object}
steps:
  - try:
      - id: fetch
        http: {path: /notfound}
    catch:
      - return:
          e: ${ error }
`, srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		e := out["e"].(map[string]any)
		if e["status"] != 404 || e["code"] != "http_error" || e["headers"].(map[string]any)["content-type"] == nil || e["step"] != "fetch" || e["flow"] != "main" ||
			toJSON(t, e["body"]) != `{"error":"no such user"}` || !strings.Contains(e["message"].(string), "404 Not Found") {
			t.Errorf("error object %s", toJSON(t, e))
		}
	})
}

func TestHTTPBodyLimit(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		big := strings.Repeat("x", 4096)
		if r.URL.Path == "/api/v2/chunked" {
			w.Header().Set("Content-Type", "text/plain")
			for range 4 {
				_, _ = io.WriteString(w, big[:1024])
				w.(http.Flusher).Flush()
			}
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(big)))
		_, _ = io.WriteString(w, big)
	})
	p := loadProject(t, map[string]string{"connector.yaml": httpConnector("", ""), "flows/main.yaml": `name: main
type: action
inputs: {path: string}
steps:
  - http:
      path: ${ inputs.path }
`})
	for _, path := range []string{"/sized", "/chunked"} {
		r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL})
		r.Limits.MaxResponseBody = 1000
		_, err := r.Run(context.Background(), "main", map[string]any{"path": path})
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "over the 1000 bytes limit") {
			t.Errorf("%s: err = %v", path, err)
		}
	}
}

func TestHTTPRetries(t *testing.T) {
	retry := "retry: {attempts: 3, on: [429, 503], backoff: 1s, max_backoff: 30s}\n"
	t.Run("429 with Retry-After seconds", func(t *testing.T) {
		var n atomic.Int32
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "7")
				jsonReply(w, 429, `{"error": "slow down"}`)
				return
			}
			jsonReply(w, 200, `{"ok": true}`)
		})
		out, err, sl := httpRun(t, httpConnector("", retry), "outputs: {s: integer}\nsteps:\n  - id: h\n    http: {path: /x}\n  - return:\n      s: ${ steps.h.status }\n", srv.URL, nil)
		checkRun(t, out, err, `{"s":200}`, nil)
		if got := sl.list(); len(got) != 1 || got[0] != 7*time.Second {
			t.Errorf("waits %v", got)
		}
	})
	t.Run("503 with Retry-After HTTP date", func(t *testing.T) {
		now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
		var n atomic.Int32
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", now.Add(12*time.Second).Format(http.TimeFormat))
				w.WriteHeader(503)
				return
			}
			jsonReply(w, 200, `{}`)
		})
		p := loadProject(t, map[string]string{"connector.yaml": httpConnector("", retry), "flows/main.yaml": "name: main\ntype: action\nsteps:\n  - http: {path: /x}\n"})
		r, sl := newTestRunner(p, map[string]any{"base_url": srv.URL})
		r.Now = func() time.Time { return now }
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
		if got := sl.list(); len(got) != 1 || got[0] != 12*time.Second {
			t.Errorf("waits %v", got)
		}
	})
	t.Run("5xx twice then success, backoff with jitter", func(t *testing.T) {
		var n atomic.Int32
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) <= 2 {
				w.WriteHeader(503)
				return
			}
			jsonReply(w, 200, `{}`)
		})
		_, err, sl := httpRun(t, httpConnector("", retry), "steps:\n  - http: {path: /x}\n", srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		got := sl.list()
		if len(got) != 2 || got[0] < 500*time.Millisecond || got[0] > time.Second || got[1] < time.Second || got[1] > 2*time.Second {
			t.Errorf("waits %v, want ~[1s 2s] with jitter in [d/2, d]", got)
		}
	})
	t.Run("gives up after the attempts", func(t *testing.T) {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 503, `{"e": 1}`) })
		_, err, sl := httpRun(t, httpConnector("", retry), "steps:\n  - http: {path: /x}\n", srv.URL, nil)
		if err == nil || !strings.Contains(err.Error(), "503 Service Unavailable") || len(sl.list()) != 2 || len(srv.requests()) != 3 {
			t.Errorf("err = %v, waits %v, requests %d", err, sl.list(), len(srv.requests()))
		}
	})
	t.Run("step retry overrides the connector's", func(t *testing.T) {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
		_, err, _ := httpRun(t, httpConnector("", retry), "steps:\n  - http:\n      path: /x\n      retry: {attempts: 1}\n", srv.URL, nil)
		if err == nil || len(srv.requests()) != 1 {
			t.Errorf("err = %v, requests %d", err, len(srv.requests()))
		}
	})
	t.Run("retries happen before expect", func(t *testing.T) {
		var n atomic.Int32
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.WriteHeader(503)
				return
			}
			w.WriteHeader(202)
		})
		out, err, _ := httpRun(t, httpConnector("", retry), "outputs: {s: integer}\nsteps:\n  - id: h\n    http: {path: /x, expect: any}\n  - return:\n      s: ${ steps.h.status }\n", srv.URL, nil)
		checkRun(t, out, err, `{"s":202}`, nil)
	})
	t.Run("Retry-After longer than max_backoff is not waited out", func(t *testing.T) {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(429)
		})
		_, err, sl := httpRun(t, httpConnector("", retry), "steps:\n  - http: {path: /x}\n", srv.URL, nil)
		if err == nil || !strings.Contains(err.Error(), "429 Too Many Requests (not retried: Retry-After asks to wait 1h0m0s, longer than retry.max_backoff 30s)") || len(sl.list()) != 0 {
			t.Errorf("err = %v, waits %v", err, sl.list())
		}
	})
	t.Run("connection refused is retried", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close()
		p := loadProject(t, map[string]string{"connector.yaml": httpConnector("", retry), "flows/main.yaml": "name: main\ntype: action\noutputs: {s: integer}\nsteps:\n  - id: h\n    http: {method: POST, path: /x}\n  - return:\n      s: ${ steps.h.status }\n"})
		r, _ := newTestRunner(p, map[string]any{"base_url": "http://" + addr})
		var srv *http.Server
		var waits int
		r.Sleep = func(ctx context.Context, d time.Duration) error {
			// the service comes up while the runner waits to retry
			waits++
			if waits == 2 {
				l, err := net.Listen("tcp", addr)
				if err != nil {
					return err
				}
				srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(201) })}
				go srv.Serve(l)
			}
			return nil
		}
		out, err := r.Run(context.Background(), "main", nil)
		if srv != nil {
			defer srv.Close()
		}
		checkRun(t, out, err, `{"s":201}`, nil)
		if waits != 2 {
			t.Errorf("waits = %d", waits)
		}
	})
	t.Run("connection refused, out of attempts", func(t *testing.T) {
		l, _ := net.Listen("tcp", "127.0.0.1:0")
		addr := l.Addr().String()
		l.Close()
		_, err, sl := httpRun(t, httpConnector("", retry), "steps:\n  - http: {path: /x}\n", "http://"+addr, nil)
		if err == nil || !strings.Contains(err.Error(), "connection refused") || len(sl.list()) != 2 {
			t.Errorf("err = %v, waits %v", err, sl.list())
		}
	})
}

func TestHTTPTimeout(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	start := time.Now()
	_, err, _ := httpRun(t, httpConnector("", ""), "steps:\n  - id: slow\n    http: {path: /slow, timeout: 100ms}\n", srv.URL, nil)
	if err == nil || !strings.Contains(err.Error(), `step "slow": GET `+srv.URL+`/api/v2/slow: no response within 100ms`) {
		t.Errorf("err = %v", err)
	}
	if errors.Is(err, ErrCanceled) {
		t.Errorf("a step timeout is not a canceled run")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	t.Run("cancel stops an in-flight request", func(t *testing.T) {
		p := loadProject(t, map[string]string{"connector.yaml": httpConnector("", ""), "flows/main.yaml": "name: main\ntype: action\nsteps:\n  - http: {path: /slow}\n"})
		r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL})
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := r.Run(ctx, "main", nil)
		if !errors.Is(err, ErrCanceled) {
			t.Errorf("err = %v", err)
		}
	})
}

// oktaPages serves /api/v1/users like Okta: pages of users from the real
// response body, with Link headers carrying the after cursor.
func oktaPages(t *testing.T, pages int) *recorder {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "realdata", "okta-users-list-response.json"))
	if err != nil {
		t.Fatal(err)
	}
	var users []map[string]any
	if err := json.Unmarshal(data, &users); err != nil {
		t.Fatal(err)
	}
	var srv *recorder
	srv = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/users" {
			http.NotFound(w, r)
			return
		}
		page := 0
		if a := r.URL.Query().Get("after"); a != "" {
			fmt.Sscanf(a, "cursor%d", &page)
		}
		body := make([]map[string]any, 0, len(users))
		for _, u := range users {
			c := map[string]any{}
			for k, v := range u {
				c[k] = v
			}
			c["id"] = fmt.Sprintf("%s-p%d", u["id"], page)
			body = append(body, c)
		}
		self := srv.URL + "/api/v1/users?" + r.URL.RawQuery
		link := fmt.Sprintf(`<%s>; rel="self"`, self)
		if page+1 < pages {
			link += fmt.Sprintf(`, <%s/api/v1/users?after=cursor%d&limit=%s>; rel="next"`, srv.URL, page+1, r.URL.Query().Get("limit"))
		}
		w.Header().Set("Link", link)
		b, _ := json.Marshal(body)
		jsonReply(w, 200, string(b))
	})
	return srv
}

func TestPaginateLinkHeader(t *testing.T) {
	conn := strings.Replace(httpConnector(`type: header
header: {name: Authorization, value: "SSWS ${ connection.api_key }"}`, ""), "/api/v2", "", 1)
	flow := `inputs: {max: {type: integer, default: 100}}
outputs: {ids: list, pages: integer, logins: list}
steps:
  - id: users
    http:
      path: /api/v1/users
      query: {limit: 1}
      paginate:
        items: ${ response.body }
        next: ${ linkNext(response.headers.link) }
        max_pages: 3
  - return:
      ids: ${ map(steps.users.items, .id) }
      logins: ${ map(steps.users.items, .profile.login) }
      pages: ${ steps.users.pages }
`
	srv := oktaPages(t, 4)
	out, err, _ := httpRun(t, conn, flow, srv.URL, nil)
	checkRun(t, out, err, `{"ids":["00u118oQYT4TBTemp0g4-p0","00u118oQYT4TBTemp0g4-p1","00u118oQYT4TBTemp0g4-p2"],"logins":["alice.smith@example.com","alice.smith@example.com","alice.smith@example.com"],"pages":3}`, nil)
	reqs := srv.requests()
	if len(reqs) != 3 || reqs[0].Query != "limit=1" || reqs[1].Query != "after=cursor1&limit=1" || reqs[2].Query != "after=cursor2&limit=1" {
		t.Errorf("requests %+v", reqs)
	}
	for _, r := range reqs {
		if r.Header.Get("Authorization") != "SSWS sekret-key-123" {
			t.Errorf("page without credentials: %v", r.Header)
		}
	}
	t.Run("until no next link", func(t *testing.T) {
		srv := oktaPages(t, 2)
		out, err, _ := httpRun(t, conn, flow, srv.URL, nil)
		if err != nil || out["pages"] != 2 {
			t.Errorf("%v %v", out, err)
		}
	})
}

func TestPaginateNextQuery(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Query().Get("cursor") {
		case "":
			jsonReply(w, 200, `{"members": [1, 2], "response_metadata": {"next_cursor": "c2"}}`)
		case "c2":
			jsonReply(w, 200, `{"members": [3], "response_metadata": {"next_cursor": "c3"}}`)
		default:
			jsonReply(w, 200, `{"members": [], "response_metadata": {"next_cursor": ""}}`)
		}
	})
	out, err, _ := httpRun(t, httpConnector("", ""), `outputs: {r: any}
steps:
  - id: list
    http:
      path: /users.list
      query: {limit: 2}
      paginate:
        items: ${ response.body.members }
        next_query:
          cursor: ${ response.body.response_metadata.next_cursor }
  - return:
      r: ${ steps.list }
`, srv.URL, nil)
	checkRun(t, out, err, `{"r":{"items":[1,2,3],"pages":3}}`, nil)
	reqs := srv.requests()
	if len(reqs) != 3 || reqs[1].Query != "cursor=c2&limit=2" || reqs[2].Query != "cursor=c3&limit=2" {
		t.Errorf("requests %+v", reqs)
	}
	t.Run("a repeated cursor is an error, not a loop", func(t *testing.T) {
		srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
			jsonReply(w, 200, `{"members": [1], "next": "same"}`)
		})
		_, err, _ := httpRun(t, httpConnector("", ""), `steps:
  - http:
      path: /l
      paginate:
        items: ${ response.body.members }
        next_query:
          cursor: ${ response.body.next }
`, srv.URL, nil)
		if err == nil || !strings.Contains(err.Error(), "was already fetched") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestPaginateOtherHostGetsNoCredentials(t *testing.T) {
	other := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, `{"items": [3]}`) })
	home := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", fmt.Sprintf(`<%s/elsewhere>; rel="next"`, other.URL))
		jsonReply(w, 200, `{"items": [1, 2]}`)
	})
	for _, auth := range []string{
		"type: bearer\nbearer: {token: \"${ connection.api_key }\"}",
		"type: header\nheader: {name: X-Api-Key, value: \"${ connection.api_key }\"}",
	} {
		out, err, _ := httpRun(t, httpConnector(auth, "headers: {Accept: application/json}"), `outputs: {r: list}
steps:
  - id: l
    http:
      path: /l
      paginate:
        items: ${ response.body.items }
        next: ${ linkNext(response.headers.link) }
  - return:
      r: ${ steps.l.items }
`, home.URL, nil)
		checkRun(t, out, err, `{"r":[1,2,3]}`, nil)
		hr, or := home.requests(), other.requests()
		h, o := hr[len(hr)-1].Header, or[len(or)-1].Header
		if !strings.Contains(h.Get("Authorization")+h.Get("X-Api-Key"), "sekret-key-123") {
			t.Errorf("home host got no credentials: %v", h)
		}
		if o.Get("Authorization") != "" || o.Get("X-Api-Key") != "" || o.Get("Accept") != "application/json" {
			t.Errorf("other host got %v", o)
		}
	}
}

func TestAuth(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { jsonReply(w, 200, `{}`) })
	cases := []struct {
		name, auth, step string
		header, want     string
	}{
		{"none", "type: none", "http: {path: /x}", "Authorization", ""},
		{"basic", "type: basic\nbasic: {username: \"${ connection.user }\", password: \"${ connection.api_key }\"}", "http: {path: /x}", "Authorization", "Basic YWRhOnNla3JldC1rZXktMTIz"},
		{"bearer", "type: bearer\nbearer: {token: \"${ connection.api_key }\"}", "http: {path: /x}", "Authorization", "Bearer sekret-key-123"},
		{"header", "type: header\nheader: {name: X-Api-Key, value: \"${ connection.api_key }\"}", "http: {path: /x}", "X-Api-Key", "sekret-key-123"},
		{"auth false skips", "type: bearer\nbearer: {token: \"${ connection.api_key }\"}", "http: {path: /x, auth: false}", "Authorization", ""},
		{"step override", "type: bearer\nbearer: {token: \"${ connection.api_key }\"}", `http:
      path: /x
      auth:
        type: header
        header: {name: X-Other, value: "k-${ connection.user }"}`, "X-Other", "k-ada"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := loadProject(t, map[string]string{"connector.yaml": httpConnector(c.auth, ""), "flows/main.yaml": "name: main\ntype: action\nsteps:\n  - " + c.step + "\n"})
			r, _ := newTestRunner(p, map[string]any{"base_url": srv.URL, "api_key": "sekret-key-123", "user": "ada"})
			if _, err := r.Run(context.Background(), "main", nil); err != nil {
				t.Fatal(err)
			}
			reqs := srv.requests()
			h := reqs[len(reqs)-1].Header
			if got := h.Get(c.header); got != c.want {
				t.Errorf("%s = %q, want %q", c.header, got, c.want)
			}
			if c.name == "step override" && h.Get("Authorization") != "" {
				t.Errorf("the override still sent the connector's auth")
			}
		})
	}
}

// tokenServer is an OAuth 2.0 token endpoint and an API that accepts only
// the tokens the endpoint issued last.
type tokenServer struct {
	*recorder
	mu      sync.Mutex
	issued  int
	current string
	grants  []string
}

func newTokenServer(t *testing.T) *tokenServer {
	ts := &tokenServer{}
	ts.recorder = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		ts.mu.Lock()
		defer ts.mu.Unlock()
		switch r.URL.Path {
		case "/oauth/token":
			_ = r.ParseForm()
			id, secret, ok := r.BasicAuth()
			if !ok || id != "cid" || secret != "csecret-456" {
				jsonReply(w, 401, `{"error": "invalid_client"}`)
				return
			}
			grant := r.PostForm.Get("grant_type")
			ts.grants = append(ts.grants, grant)
			if grant == "refresh_token" && r.PostForm.Get("refresh_token") != "refresh-old-789" {
				jsonReply(w, 400, `{"error": "invalid_grant"}`)
				return
			}
			ts.issued++
			ts.current = fmt.Sprintf("access-new-%d", ts.issued)
			jsonReply(w, 200, fmt.Sprintf(`{"access_token": %q, "token_type": "Bearer", "expires_in": 3600, "refresh_token": "refresh-new-%d"}`, ts.current, ts.issued))
		default:
			if r.Header.Get("Authorization") != "Bearer "+ts.current || ts.current == "" {
				jsonReply(w, 401, `{"error": "invalid_token"}`)
				return
			}
			jsonReply(w, 200, `{"ok": true}`)
		}
	})
	return ts
}

func oauthConnector(grant string) string {
	return httpConnector(`type: oauth2
oauth2:
  grant: `+grant+`
  authorize_url: ${ connection.base_url }/oauth/authorize
  token_url: ${ connection.base_url }/oauth/token
  client_id: ${ connection.client_id }
  client_secret: ${ connection.client_secret }
  scopes: [read]`, "")
}

func TestOAuth2ClientCredentials(t *testing.T) {
	ts := newTokenServer(t)
	p := loadProject(t, map[string]string{"connector.yaml": oauthConnector("client_credentials"),
		"flows/main.yaml": "name: main\ntype: action\nsteps:\n  - http: {path: /a}\n  - http: {path: /b}\n"})
	r, _ := newTestRunner(p, map[string]any{"base_url": ts.URL, "client_id": "cid", "client_secret": "csecret-456"})
	for range 2 {
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
	}
	if ts.issued != 1 || !slices.Equal(ts.grants, []string{"client_credentials"}) {
		t.Errorf("token requests %v (issued %d), want one client_credentials grant reused", ts.grants, ts.issued)
	}
	if r.Connection.Redact("x access-new-1 csecret-456") != "x *** ***" {
		t.Errorf("the token and client secret are not redacted")
	}
}

func TestOAuth2RefreshWritesBack(t *testing.T) {
	ts := newTokenServer(t)
	dir := t.TempDir()
	connFile := filepath.Join(dir, "conn.yaml")
	p := loadProject(t, map[string]string{"connector.yaml": oauthConnector("authorization_code"),
		"flows/main.yaml": "name: main\ntype: action\nsteps:\n  - http: {path: /me}\n"})
	write := func(expiry string) {
		t.Helper()
		err := os.WriteFile(connFile, []byte(fmt.Sprintf(`params:
  base_url: %s
  client_id: cid
  client_secret: {env: FLOWRUN_TEST_CLIENT_SECRET}
token:
  access_token: access-old-000
  refresh_token: refresh-old-789
  expiry: %s
`, ts.URL, expiry)), 0o644)
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("FLOWRUN_TEST_CLIENT_SECRET", "csecret-456")
	t.Run("expired token is refreshed and saved", func(t *testing.T) {
		write("2020-01-01T00:00:00Z")
		conn, err := connection.Load(connFile, p.Connector)
		if err != nil {
			t.Fatal(err)
		}
		r := &Runner{Project: p, Connection: conn}
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ts.grants, []string{"refresh_token"}) {
			t.Errorf("grants %v", ts.grants)
		}
		st, err := os.Stat(connFile)
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o600 {
			t.Errorf("connection file mode %v, want 0600", st.Mode().Perm())
		}
		again, err := connection.Load(connFile, p.Connector)
		if err != nil {
			t.Fatal(err)
		}
		if again.Token.AccessToken != "access-new-1" || again.Token.RefreshToken != "refresh-new-1" || again.Token.Expiry.Before(time.Now()) {
			t.Errorf("saved token %+v", again.Token)
		}
		data, _ := os.ReadFile(connFile)
		if strings.Contains(string(data), "csecret-456") || !strings.Contains(string(data), "FLOWRUN_TEST_CLIENT_SECRET") {
			t.Errorf("the {env: NAME} reference was not kept:\n%s", data)
		}
	})
	t.Run("a 401 refreshes once", func(t *testing.T) {
		ts.mu.Lock()
		ts.grants, ts.current = nil, "something-else"
		ts.mu.Unlock()
		write("2999-01-01T00:00:00Z") // valid by its expiry, but revoked
		conn, err := connection.Load(connFile, p.Connector)
		if err != nil {
			t.Fatal(err)
		}
		r := &Runner{Project: p, Connection: conn}
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(ts.grants, []string{"refresh_token"}) || conn.Token.AccessToken != "access-new-2" {
			t.Errorf("grants %v token %+v", ts.grants, conn.Token)
		}
	})
	t.Run("a failed refresh names the endpoint's answer, not the secrets", func(t *testing.T) {
		write("2020-01-01T00:00:00Z")
		data, _ := os.ReadFile(connFile)
		_ = os.WriteFile(connFile, []byte(strings.Replace(string(data), "refresh-old-789", "refresh-bad-789", 1)), 0o600)
		conn, err := connection.Load(connFile, p.Connector)
		if err != nil {
			t.Fatal(err)
		}
		_, err = (&Runner{Project: p, Connection: conn}).Run(context.Background(), "main", nil)
		if err == nil || !strings.Contains(err.Error(), "oauth2 token: the token endpoint answered 400: invalid_grant") {
			t.Fatalf("err = %v", err)
		}
		if strings.Contains(conn.Redact(err.Error()), "refresh-bad-789") {
			t.Errorf("secret in %v", err)
		}
		// a login saves a new token into the same connection (the console's
		// Log in again under serve): the same runner uses it at once
		r := &Runner{Project: p, Connection: conn}
		if _, err := r.Run(context.Background(), "main", nil); err == nil {
			t.Fatal("the bad refresh token worked")
		}
		ts.mu.Lock()
		ts.current = "access-login-1"
		ts.mu.Unlock()
		if err := conn.SaveToken(&connection.Token{AccessToken: "access-login-1", RefreshToken: "refresh-old-789", Expiry: time.Now().Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Run(context.Background(), "main", nil); err != nil {
			t.Fatalf("after the login: %v", err)
		}
	})
}

func TestForEachParallel(t *testing.T) {
	const workers = 3
	var (
		mu               sync.Mutex
		active, maxSeen  int
		arrived          = make(chan struct{}, 100)
		barrier          = make(chan struct{})
		barrierOnce      sync.Once
		reachedAllAtOnce atomic.Bool
	)
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		active++
		maxSeen = max(maxSeen, active)
		if active == workers {
			reachedAllAtOnce.Store(true)
			barrierOnce.Do(func() { close(barrier) })
		}
		mu.Unlock()
		arrived <- struct{}{}
		// the first requests wait until `workers` bodies run at once
		select {
		case <-barrier:
		case <-time.After(5 * time.Second):
		}
		id := strings.TrimPrefix(r.URL.Path, "/api/v2/items/")
		var n int
		fmt.Sscan(id, &n)
		time.Sleep(time.Duration(10-n) * 3 * time.Millisecond) // later items finish first
		mu.Lock()
		active--
		mu.Unlock()
		jsonReply(w, 200, fmt.Sprintf(`{"id": %d}`, n))
	})
	flow := `inputs: {ids: list, fail_on: {type: integer, default: -1}}
outputs: {r: list}
steps:
  - id: loop
    for_each: ${ inputs.ids }
    concurrency: ` + fmt.Sprint(workers) + `
    collect: ${ steps.get.body.id * 10 + index }
    steps:
      - continue_if: ${ item != 5 }
      - if: ${ item == inputs.fail_on }
        then:
          - fail: item ${ item } failed
      - id: get
        http:
          path: /items/${ item }
  - return:
      r: ${ steps.loop }
`
	out, err, _ := httpRun(t, httpConnector("", ""), flow, srv.URL, map[string]any{"ids": []any{1, 2, 3, 4, 5, 6, 7, 8}})
	checkRun(t, out, err, `{"r":[10,21,32,43,65,76,87]}`, nil)
	if !reachedAllAtOnce.Load() || maxSeen != workers {
		t.Errorf("max concurrent bodies %d, want %d", maxSeen, workers)
	}
	t.Run("first error by input order, others canceled", func(t *testing.T) {
		_, err, _ := httpRun(t, httpConnector("", ""), flow, srv.URL, map[string]any{"ids": []any{1, 2, 3, 4}, "fail_on": 2})
		if err == nil || !strings.Contains(err.Error(), `step "fail": item 2 failed`) || errors.Is(err, ErrCanceled) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("continue_on_error and return", func(t *testing.T) {
		out, err, _ := httpRun(t, httpConnector("", ""), `outputs: {r: list, first: any}
steps:
  - id: loop
    for_each: [1, 2, 3, 4, 5, 6]
    concurrency: 4
    continue_on_error: true
    collect: ${ item }
    steps:
      - if: ${ item % 2 == 0 }
        then:
          - fail: even
  - for_each: [1, 2, 3]
    concurrency: 2
    steps:
      - if: ${ item == 2 }
        then:
          - return:
              r: ${ steps.loop }
              first: ${ item }
  - fail: not reached
`, srv.URL, nil)
		checkRun(t, out, err, `{"first":2,"r":[1,3,5]}`, nil)
	})
}

// TestSecretsNeverLeak runs flows that put the secret parameter and the
// Authorization header everywhere they could go (a hostile server echoing
// the request, a log line, an error message, a failing call) and greps every
// trace event, its JSON, and the error, each redacted as the CLI does.
func TestSecretsNeverLeak(t *testing.T) {
	const secret = `s3cr3t"<&>-value`
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		// echo the credentials back, in headers and body
		w.Header().Set("X-Echo", r.Header.Get("Authorization")+r.Header.Get("X-Api-Key"))
		b, _ := json.Marshal(map[string]any{"auth": r.Header.Get("Authorization"), "key": r.Header.Get("X-Api-Key"), "url": r.URL.String()})
		code := 200
		if strings.Contains(r.URL.Path, "fail") {
			code = 403
		}
		jsonReply(w, code, string(b))
	})
	auths := map[string]string{
		"header": "type: header\nheader: {name: Authorization, value: \"SSWS ${ connection.api_key }\"}",
		"basic":  "type: basic\nbasic: {username: \"${ connection.user }\", password: \"${ connection.api_key }\"}",
		"bearer": "type: bearer\nbearer: {token: \"${ connection.api_key }\"}",
		"apikey": "type: header\nheader: {name: X-Api-Key, value: \"${ connection.api_key }\"}",
	}
	flows := map[string]string{
		"flows/helper.yaml": `name: helper
type: helper
inputs: {k: string}
steps:
  - log: helper got ${ inputs.k }
  - http:
      path: /fail/${ inputs.k }
`,
		"flows/main.yaml": `name: main
type: action
outputs: {ok: boolean}
steps:
  - log: the key is ${ connection.api_key }
  - id: echo
    http:
      path: /echo
      query: {token: "${ connection.api_key }", q: "${ connection.api_key }"}
  - set:
      seen: ${ steps.echo.body }
  - try:
      - fail:
          message: bad key ${ connection.api_key }
          details: ${ steps.echo }
    catch:
      - log: caught ${ error.message } ${ toJSON(error.details) }
  - call: helper
    with:
      k: ${ connection.api_key }
`,
	}
	for name, auth := range auths {
		t.Run(name, func(t *testing.T) {
			files := map[string]string{"connector.yaml": httpConnector(auth, "")}
			for k, v := range flows {
				files[k] = v
			}
			p := loadProject(t, files)
			dir := t.TempDir()
			cf := filepath.Join(dir, "conn.json")
			cj, _ := json.Marshal(map[string]any{"params": map[string]any{"base_url": srv.URL, "api_key": secret, "user": "ada"}})
			if err := os.WriteFile(cf, cj, 0o600); err != nil {
				t.Fatal(err)
			}
			conn, err := connection.Load(cf, p.Connector)
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			r := &Runner{Project: p, Connection: conn, Trace: func(ev TraceEvent) {
				ev = RedactEvent(conn, ev)
				b, err := json.Marshal(ev)
				if err != nil {
					t.Error(err)
				}
				lines = append(lines, string(b), fmt.Sprintf("%+v", ev))
			}}
			_, err = r.Run(context.Background(), "main", nil)
			if err == nil {
				t.Fatal("the helper's 403 did not fail the run")
			}
			var re *RunError
			if !errors.As(err, &re) {
				t.Fatal(err)
			}
			lines = append(lines, conn.Redact(err.Error()), fmt.Sprintf("%v", conn.RedactValue(re.Body)), conn.Redact(re.Message))
			reqs := srv.requests()
			authValue := reqs[0].Header.Get("Authorization") + reqs[0].Header.Get("X-Api-Key")
			if authValue == "" {
				t.Fatal("no credentials were sent")
			}
			escaped, _ := json.Marshal(secret)
			needles := []string{secret, authValue, strings.Trim(string(escaped), `"`), "czNjcjN0Ijwm"} // the last: base64 of the start of the secret
			for _, l := range lines {
				for _, n := range needles {
					if strings.Contains(l, n) {
						t.Errorf("%q leaks in:\n%s", n, l)
					}
				}
			}
			if len(lines) < 10 {
				t.Errorf("only %d trace lines", len(lines))
			}
		})
	}
}

// TestResponseHeadersWhenRead checks that the analysis that skips building
// unread response headers never skips headers an expression reads.
func TestResponseHeadersWhenRead(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Total", "42")
		jsonReply(w, 200, `{"ok": true}`)
	})
	cases := []struct{ expr, want string }{
		{`${ steps.h.headers["x-total"] }`, `"42"`},
		{`${ steps.h.headers }`, `"42"`},
		{`${ steps.h }`, `"42"`},
		{`${ steps["h"]["headers"]["x-total"] }`, `"42"`},
		{`${ getPath(steps.h, "headers.x-total", "none") }`, `"42"`},
		{`${ steps }`, `"42"`},
		{`${ steps.h?.headers?.["x-total"] }`, `"42"`},
		{`${ steps.h.body }`, `{"ok":true}`},
	}
	for _, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			out, err, _ := httpRun(t, httpConnector("", ""), `outputs: {r: any}
steps:
  - id: h
    http: {path: /x}
  - return:
      r: '`+c.expr+`'
`, srv.URL, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := toJSON(t, out["r"]); !strings.Contains(got, c.want) {
				t.Errorf("got %s, want it to contain %s", got, c.want)
			}
		})
	}
	p := loadProject(t, map[string]string{"flows/main.yaml": `name: main
type: action
steps:
  - id: a
    http: {path: /x}
  - id: b
    http: {path: /y}
  - log: ${ steps.a.body } ${ steps.b.headers }
`})
	u := p.Flow("main").Reads
	if u.All || u.ReadsField("a", "headers") || !u.ReadsField("a", "body") || !u.ReadsField("b", "headers") {
		t.Errorf("analysis %+v", u)
	}
}

// TestPathStaysUnderBaseURL: a path that is an absolute URL (or
// protocol-relative) is refused instead of carrying the connection's
// credentials to another host.
func TestPathStaysUnderBaseURL(t *testing.T) {
	calls := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls++ }))
	defer srv.Close()
	p := loadProject(t, map[string]string{"flows/get.yaml": `name: get
type: action
inputs:
  p: {type: string, required: true}
steps:
  - http:
      path: ${ inputs.p }
`})
	r := &Runner{Project: p, Connection: &connection.Connection{Params: map[string]any{"base_url": srv.URL}}}
	for _, bad := range []string{srv.URL + "/x", "//" + strings.TrimPrefix(srv.URL, "http://") + "/x"} {
		_, err := r.Run(context.Background(), "get", map[string]any{"p": bad})
		if err == nil || !strings.Contains(err.Error(), "path must be relative to base_url") {
			t.Errorf("%q: err = %v", bad, err)
		}
	}
	if calls != 0 {
		t.Fatalf("%d requests were sent", calls)
	}
}

// policyTransport records the retry policy each request hands its
// transport, then sends it.
type policyTransport struct {
	mu   sync.Mutex
	seen []*TransportRetry
}

func (pt *policyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	pt.mu.Lock()
	pt.seen = append(pt.seen, TransportRetryOf(r.Context()))
	pt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestRetryInTransport(t *testing.T) {
	srv := newRecorder(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) })
	retry := "retry: {attempts: 3, on: [429, 503], backoff: 1s, max_backoff: 30s}\ntimeout: 7s\n"
	flow := "name: main\ntype: action\nsteps:\n  - http:\n      path: /x\n      retry: {attempts: 5, backoff: 2s}\n"
	rules := "name: rules\ntype: action\nsteps:\n  - http:\n      path: /x\n      on_response:\n        - {when: '${ response.status == 418 }', fail: teapot}\n"
	p := loadProject(t, map[string]string{"connector.yaml": httpConnector("", retry), "flows/main.yaml": flow, "flows/rules.yaml": rules})
	r, sl := newTestRunner(p, map[string]any{"base_url": srv.URL})
	pt := &policyTransport{}
	r.Client = &http.Client{Transport: pt}
	r.RetryInTransport = true
	// the transport has retried: the interpreter sends once and judges the 503
	if _, err := r.Run(context.Background(), "main", nil); err == nil || !strings.Contains(err.Error(), "503") {
		t.Fatalf("error %v", err)
	}
	want := TransportRetry{Attempts: 5, On: []int{429, 503}, Backoff: 2 * time.Second, MaxBackoff: 30 * time.Second, MaxWait: 30 * time.Second, Timeout: 7 * time.Second}
	if len(pt.seen) != 1 || pt.seen[0] == nil || fmt.Sprint(*pt.seen[0]) != fmt.Sprint(want) || len(sl.list()) != 0 {
		t.Fatalf("policies %v, waits %v; want one round trip with %v", pt.seen, sl.list(), want)
	}
	// a step with response rules keeps retrying statuses itself: the
	// transport gets no statuses to retry
	pt.seen = nil
	if _, err := r.Run(context.Background(), "rules", nil); err == nil {
		t.Fatal("no error")
	}
	if len(pt.seen) != 3 || pt.seen[0] == nil || pt.seen[0].On != nil || pt.seen[0].Attempts != 3 || len(sl.list()) != 2 {
		t.Fatalf("policies %v, waits %v; want 3 round trips without statuses", pt.seen, sl.list())
	}
}
