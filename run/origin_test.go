package run

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// Credentials stay with their origin: two httptest servers on 127.0.0.1 and
// two ports are two origins. home is base_url's origin; other must never see
// a credential.

// originSecrets are every form of credential the cases use.
var originSecrets = []string{
	"sekret-key-123",           // api_key: bearer, header auth, connector header
	"YWRhOnNla3JldC1rZXktMTIz", // basic ada:sekret-key-123
	"c2VrcmV0LWtleS0xMjM",      // base64 of the api key (a derived header), unpadded prefix
	"access-tok-777",           // OAuth 2.0 access token
	"csecret-456",              // OAuth 2.0 client secret
}

// originAuths are the connector auths; each case also sends connector
// headers built from the api key.
var originAuths = []struct{ name, auth, header, want string }{
	{"basic", "type: basic\nbasic: {username: \"${ connection.user }\", password: \"${ connection.api_key }\"}", "Authorization", "Basic YWRhOnNla3JldC1rZXktMTIz"},
	{"bearer", "type: bearer\nbearer: {token: \"${ connection.api_key }\"}", "Authorization", "Bearer sekret-key-123"},
	{"header", "type: header\nheader: {name: X-Api-Key, value: \"${ connection.api_key }\"}", "X-Api-Key", "sekret-key-123"},
	{"oauth2", `type: oauth2
oauth2:
  grant: client_credentials
  token_url: ${ connection.base_url }/oauth/token
  client_id: ${ connection.client_id }
  client_secret: ${ connection.client_secret }`, "Authorization", "Bearer access-tok-777"},
	{"connector header only", "type: none", "X-Secret", "sekret-key-123"},
}

const originHTTP = `headers:
  Accept: application/json
  X-Secret: ${ connection.api_key }
  X-Derived: "Key ${ base64Encode(connection.api_key) }"
`

// originServers starts home (base_url's origin) and other. home redirects
// /api/v2/redir/<code> and /api/v2/post307 to other, /api/v2/same to itself,
// links /api/v2/page to a next page on other, and issues OAuth tokens.
func originServers(t *testing.T) (home, other *recorder) {
	other = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		jsonReply(w, 200, `{"items": [2], "where": "other"}`)
	})
	home = newRecorder(t, func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		switch {
		case p == "/oauth/token":
			jsonReply(w, 200, `{"access_token": "access-tok-777", "token_type": "Bearer", "expires_in": 3600}`)
		case strings.HasPrefix(p, "/api/v2/redir/"):
			var code int
			fmt.Sscan(strings.TrimPrefix(p, "/api/v2/redir/"), &code)
			http.Redirect(w, r, other.URL+"/landed", code)
		case p == "/api/v2/post307":
			http.Redirect(w, r, other.URL+"/landed", http.StatusTemporaryRedirect)
		case p == "/api/v2/same":
			http.Redirect(w, r, "/api/v2/landed", http.StatusFound)
		case p == "/api/v2/page":
			w.Header().Set("Link", fmt.Sprintf(`<%s/page2>; rel="next"`, other.URL))
			jsonReply(w, 200, `{"items": [1], "where": "home"}`)
		default:
			jsonReply(w, 200, `{"items": [1], "where": "home"}`)
		}
	})
	return home, other
}

// originRun runs flows/main.yaml (steps) with the connector auth and http
// defaults against home, collecting trace messages of http steps.
func originRun(t *testing.T, auth, httpDefaults, steps, homeURL string) (map[string]any, error, []string) {
	t.Helper()
	p := loadProject(t, map[string]string{"connector.yaml": httpConnector(auth, httpDefaults),
		"flows/main.yaml": "name: main\ntype: action\n" + strings.TrimLeft(steps, "\n")})
	r, _ := newTestRunner(p, map[string]any{"base_url": homeURL, "api_key": "sekret-key-123", "user": "ada", "client_id": "cid", "client_secret": "csecret-456"})
	var mu sync.Mutex
	var msgs []string
	r.Trace = func(ev TraceEvent) {
		if ev.Kind == "http" {
			mu.Lock()
			msgs = append(msgs, ev.Message)
			mu.Unlock()
		}
	}
	out, err := r.Run(context.Background(), "main", nil)
	return out, err, msgs
}

// noCredentials fails when a request other received carries a credential.
func noCredentials(t *testing.T, other *recorder) {
	t.Helper()
	for _, rq := range other.requests() {
		all := rq.Path + "?" + rq.Query + "\n" + rq.Body
		for k, vs := range rq.Header {
			if sensitiveHeader(k) {
				t.Errorf("other origin got header %s: %q", k, vs)
			}
			all += "\n" + k + ": " + strings.Join(vs, ",")
		}
		for _, s := range originSecrets {
			if strings.Contains(all, s) {
				t.Errorf("other origin got the credential %q in\n%s", s, all)
			}
		}
	}
}

// gotCredentials fails unless the last request home received at path
// carries the auth's credential and the secret connector headers.
func gotCredentials(t *testing.T, home *recorder, path, header, want string) {
	t.Helper()
	for _, rq := range home.requests() {
		if rq.Path != path {
			continue
		}
		if got := rq.Header.Get(header); got != want {
			t.Errorf("home %s: %s = %q, want %q", path, header, got, want)
		}
		if rq.Header.Get("X-Secret") != "sekret-key-123" || rq.Header.Get("X-Derived") == "" {
			t.Errorf("home %s: connector secret headers missing: %v", path, rq.Header)
		}
		return
	}
	t.Errorf("home got no request for %s", path)
}

func landed(t *testing.T, other *recorder, n int) {
	t.Helper()
	if got := len(other.requests()); got != n {
		t.Errorf("other origin got %d requests, want %d", got, n)
	}
}

func TestRedirectToOtherOriginDropsCredentials(t *testing.T) {
	for _, a := range originAuths {
		for _, code := range []int{301, 302, 307, 308} {
			t.Run(fmt.Sprintf("%s/%d", a.name, code), func(t *testing.T) {
				home, other := originServers(t)
				out, err, msgs := originRun(t, a.auth, originHTTP, fmt.Sprintf(`outputs: {where: string}
steps:
  - id: r
    http: {path: /redir/%d}
  - return: {where: "${ steps.r.body.where }"}
`, code), home.URL)
				checkRun(t, out, err, `{"where":"other"}`, nil)
				gotCredentials(t, home, fmt.Sprintf("/api/v2/redir/%d", code), a.header, a.want)
				landed(t, other, 1)
				noCredentials(t, other)
				if len(msgs) != 1 || !strings.Contains(msgs[0], fmt.Sprintf("redirect %d from %s to %s followed without credentials", code, home.URL, other.URL)) {
					t.Errorf("trace messages %q", msgs)
				}
			})
		}
	}
}

func TestRedirectPostToOtherOriginRefused(t *testing.T) {
	for _, a := range originAuths {
		t.Run(a.name, func(t *testing.T) {
			home, other := originServers(t)
			_, err, msgs := originRun(t, a.auth, originHTTP, `steps:
  - id: send
    http:
      method: POST
      path: /post307
      json: {key: "${ connection.api_key }"}
`, home.URL)
			checkRun(t, nil, err, "", []string{`step "send"`, "refused to follow a 307 redirect from " + home.URL + " to " + other.URL, "only for GET and HEAD"})
			landed(t, other, 0)
			if len(msgs) != 1 || !strings.Contains(msgs[0], "refused") {
				t.Errorf("trace messages %q", msgs)
			}
		})
	}
}

func TestRedirectSameOriginKeepsCredentials(t *testing.T) {
	for _, a := range originAuths {
		t.Run(a.name, func(t *testing.T) {
			home, other := originServers(t)
			out, err, msgs := originRun(t, a.auth, originHTTP, `outputs: {where: string}
steps:
  - id: r
    http: {path: /same}
  - return: {where: "${ steps.r.body.where }"}
`, home.URL)
			checkRun(t, out, err, `{"where":"home"}`, nil)
			gotCredentials(t, home, "/api/v2/landed", a.header, a.want)
			landed(t, other, 0)
			if len(msgs) != 1 || msgs[0] != "" {
				t.Errorf("trace messages %q", msgs)
			}
		})
	}
}

func TestURLToOtherOriginGoesWithoutCredentials(t *testing.T) {
	for _, a := range originAuths {
		t.Run(a.name, func(t *testing.T) {
			home, other := originServers(t)
			out, err, msgs := originRun(t, a.auth, originHTTP, fmt.Sprintf(`outputs: {a: string, b: string}
steps:
  - id: a
    http: {url: "%s/api/v2/abs"}
  - id: b
    http: {url: "%s/x"}
  - return: {a: "${ steps.a.body.where }", b: "${ steps.b.body.where }"}
`, home.URL, other.URL), home.URL)
			checkRun(t, out, err, `{"a":"home","b":"other"}`, nil)
			gotCredentials(t, home, "/api/v2/abs", a.header, a.want) // url: on base_url's origin keeps them
			landed(t, other, 1)
			noCredentials(t, other)
			if other.requests()[0].Header.Get("Accept") != "application/json" {
				t.Errorf("the connector's other headers were dropped too")
			}
			if len(msgs) != 2 || msgs[0] != "" || !strings.Contains(msgs[1], "sent without the connection's credentials: "+other.URL) {
				t.Errorf("trace messages %q", msgs)
			}
		})
	}
}

func TestURLToAllowedOriginGetsCredentials(t *testing.T) {
	for _, a := range originAuths {
		t.Run(a.name, func(t *testing.T) {
			home, other := originServers(t)
			out, err, _ := originRun(t, a.auth, originHTTP+"allowed_origins: ["+other.URL+"]\n", fmt.Sprintf(`outputs: {b: string}
steps:
  - id: b
    http: {url: "%s/upload"}
  - return: {b: "${ steps.b.body.where }"}
`, other.URL), home.URL)
			checkRun(t, out, err, `{"b":"other"}`, nil)
			gotCredentials(t, other, "/upload", a.header, a.want)
		})
	}
}

func TestURLToOtherOriginWithExplicitCredentialsFails(t *testing.T) {
	home, other := originServers(t)
	cases := []struct{ name, step, want string }{
		{"auth", `http:
      url: "` + other.URL + `/x"
      auth:
        type: bearer
        bearer: {token: "${ connection.api_key }"}`, "its auth: settings would send credentials to " + other.URL},
		{"body", `http:
      method: POST
      url: "` + other.URL + `/x"
      json: {key: "${ connection.api_key }"}`, "its body holds a secret of the connection"},
		{"query", `http:
      url: "` + other.URL + `/x"
      query: {key: "${ connection.api_key }"}`, "its query holds a secret of the connection"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err, _ := originRun(t, "type: none", "", "steps:\n  - id: s\n    "+c.step+"\n", home.URL)
			checkRun(t, nil, err, "", []string{`step "s"`, c.want, "only to " + home.URL + " (base_url)"})
			landed(t, other, 0)
		})
	}
	// auth: false is not explicit credentials
	if _, err, _ := originRun(t, "type: none", "", "steps:\n  - http: {url: \""+other.URL+"/x\", auth: false}\n", home.URL); err != nil {
		t.Errorf("auth: false to another origin: %v", err)
	}
}

func TestPaginateNextOnOtherOriginGoesWithoutCredentials(t *testing.T) {
	for _, a := range originAuths {
		t.Run(a.name, func(t *testing.T) {
			home, other := originServers(t)
			out, err, msgs := originRun(t, a.auth, originHTTP, `outputs: {r: list}
steps:
  - id: l
    http:
      path: /page
      paginate:
        items: ${ response.body.items }
        next: ${ linkNext(response.headers.link) }
  - return:
      r: ${ steps.l.items }
`, home.URL)
			checkRun(t, out, err, `{"r":[1,2]}`, nil)
			gotCredentials(t, home, "/api/v2/page", a.header, a.want)
			landed(t, other, 1)
			noCredentials(t, other)
			if len(msgs) != 1 || !strings.Contains(msgs[0], "next page on "+other.URL+" sent without the connection's credentials") {
				t.Errorf("trace messages %q", msgs)
			}
		})
	}
}

func TestOriginOf(t *testing.T) {
	for _, c := range []struct {
		a, b string
		same bool
	}{
		{"https://a.example/x", "https://A.example:443/y", true},
		{"http://a.example", "http://a.example:80", true},
		{"http://127.0.0.1:80/x", "http://127.0.0.1:8080/x", false},
		{"http://a.example", "https://a.example", false},
		{"https://a.example", "https://b.a.example", false},
		{"http://[::1]:80", "http://[::1]", true},
	} {
		a, _ := url.Parse(c.a)
		b, _ := url.Parse(c.b)
		if got := originOf(a) == originOf(b); got != c.same {
			t.Errorf("same origin %s %s = %v", c.a, c.b, got)
		}
	}
}
