package console

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

const (
	clientSecret = "csecret-0123456789abcdef"
	accessToken  = "at-secret-access-0123456789"
	refreshToken = "rt-secret-refresh-9876543210"
)

// oauthService is an authorization server for the tests: /authorize
// answers at once with a redirect back (the user allowed access, or
// denied it when deny is set), /token checks the code, the client's
// credentials and the PKCE verifier against the challenge.
type oauthService struct {
	srv *httptest.Server

	mu          sync.Mutex
	challenge   string
	redirectURI string
	deny        bool
	exchanges   int
}

func newOAuthService(t *testing.T) *oauthService {
	o := &oauthService{}
	o.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o.mu.Lock()
		defer o.mu.Unlock()
		switch r.URL.Path {
		case "/authorize":
			q := r.URL.Query()
			if q.Get("response_type") != "code" || q.Get("client_id") != "cid" || q.Get("code_challenge_method") != "S256" ||
				q.Get("code_challenge") == "" || q.Get("state") == "" || q.Get("scope") != "read write" {
				http.Error(w, "bad authorize request: "+r.URL.RawQuery, 400)
				return
			}
			o.challenge, o.redirectURI = q.Get("code_challenge"), q.Get("redirect_uri")
			back := url.Values{"state": {q.Get("state")}}
			if o.deny {
				back.Set("error", "access_denied")
				back.Set("error_description", "the user said no")
			} else {
				back.Set("code", "the-code")
			}
			http.Redirect(w, r, o.redirectURI+"?"+back.Encode(), http.StatusFound)
		case "/token":
			_ = r.ParseForm()
			user, pass, _ := r.BasicAuth()
			sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
			if user != "cid" || pass != clientSecret || r.PostForm.Get("code") != "the-code" || r.PostForm.Get("redirect_uri") != o.redirectURI ||
				base64.RawURLEncoding.EncodeToString(sum[:]) != o.challenge {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				_, _ = io.WriteString(w, `{"error":"invalid_grant","error_description":"wrong code, client or verifier"}`)
				return
			}
			o.exchanges++
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"access_token":"`+accessToken+`","refresh_token":"`+refreshToken+`","token_type":"Bearer","expires_in":3600}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(o.srv.Close)
	return o
}

// TestLogInAgain runs "log in again" through the console against the
// OAuth service, the test playing the browser: the button's POST redirects
// to the authorize URL (no secret in it), the service redirects back to the
// console's callback, which exchanges the code with the PKCE verifier and
// writes the token into the connection file (0600), ending its revocation
// and resuming the triggers paused with it. No page shows a token or the
// client secret; a state is good once.
func TestLogInAgain(t *testing.T) {
	svc := newOAuthService(t)
	dir := t.TempDir()
	conn := filepath.Join(dir, "conn.yaml")
	if err := os.WriteFile(conn, []byte("params:\n  base_url: "+svc.srv.URL+"\n  client_id: cid\n  client_secret: "+clientSecret+"\nrevoked_at: \"2026-01-01T00:00:00Z\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ps, err := Open([]string{"../testdata/trigger/oauth"}, []string{conn}, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	st, err := trigger.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	tr := &trigger.Trigger{Project: "oauthy", Flow: "me", Kind: "poll"}
	if err := st.CreateTrigger(ctx, tr); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(conn)
	if err := st.SetHold(ctx, trigger.Hold{TriggerID: tr.ID, Code: "auth_expired", Connection: abs}); err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Projects: ps, Store: st, Token: "console-token-1"})
	if err != nil {
		t.Fatal(err)
	}
	auth := map[string]string{"Authorization": "Bearer console-token-1"}
	noSecret := func(where, text string) {
		t.Helper()
		for _, sec := range []string{clientSecret, accessToken, refreshToken} {
			if strings.Contains(text, sec) {
				t.Errorf("%s shows the secret %q", where, sec)
			}
		}
	}

	page := do(t, s, "GET", "/c/oauthy/connection", nil, auth)
	noSecret("the connection page", page.body)
	if !strings.Contains(page.body, `id="login-button"`) || !strings.Contains(page.body, `id="revoked"`) ||
		!strings.Contains(page.body, "http://127.0.0.1:8686/oauth/callback") {
		t.Fatalf("connection page:\n%s", page.body)
	}
	if csp := page.h.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+svc.srv.URL+";") {
		t.Errorf("the connection page's CSP does not let the login form reach the service: %q", csp)
	}
	csrf := csrfRE.FindStringSubmatch(page.body)[1]
	if r := do(t, s, "POST", "/c/oauthy/connection/login", url.Values{}, auth); r.code != 403 {
		t.Errorf("login without the CSRF token: %d", r.code)
	}

	login := func() string {
		t.Helper()
		r := do(t, s, "POST", "/c/oauthy/connection/login", url.Values{"csrf": {csrf}}, auth)
		loc := r.h.Get("Location")
		if r.code != http.StatusSeeOther || !strings.HasPrefix(loc, svc.srv.URL+"/authorize?") {
			t.Fatalf("login: %d %q", r.code, loc)
		}
		noSecret("the redirect to the service", loc)
		// the browser at the service, which redirects back
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		back := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || !strings.HasPrefix(back, "http://127.0.0.1:8686/oauth/callback?") {
			t.Fatalf("the service answered %d %q", resp.StatusCode, back)
		}
		return strings.TrimPrefix(back, "http://127.0.0.1:8686")
	}

	// denied: nothing is written
	svc.mu.Lock()
	svc.deny = true
	svc.mu.Unlock()
	cb := login()
	r := do(t, s, "GET", cb, nil, nil) // the redirect back carries no token cookie
	if r.code != http.StatusSeeOther || r.h.Get("Location") != "/c/oauthy/connection" {
		t.Fatalf("callback after a denial: %d %q %s", r.code, r.h.Get("Location"), r.body)
	}
	page = do(t, s, "GET", "/c/oauthy/connection", nil, auth)
	if !strings.Contains(page.body, "login failed: the service refused: access_denied the user said no") || !strings.Contains(page.body, `id="revoked"`) {
		t.Errorf("connection page after a denial:\n%s", page.body)
	}
	svc.mu.Lock()
	svc.deny = false
	svc.mu.Unlock()

	// allowed
	cb = login()
	r = do(t, s, "GET", cb, nil, nil)
	if r.code != http.StatusSeeOther || r.h.Get("Location") != "/c/oauthy/connection" {
		t.Fatalf("callback: %d %q %s", r.code, r.h.Get("Location"), r.body)
	}
	noSecret("the callback's answer", r.body+r.h.Get("Location"))
	fi, err := os.Stat(conn)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("connection file mode %v, %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(conn)
	if !strings.Contains(string(b), accessToken) || !strings.Contains(string(b), refreshToken) || !strings.Contains(string(b), "client_id") || strings.Contains(string(b), "revoked") {
		t.Fatalf("connection file after login:\n%s", b)
	}
	if svc.exchanges != 1 {
		t.Errorf("%d code exchanges", svc.exchanges)
	}
	page = do(t, s, "GET", "/c/oauthy/connection", nil, auth)
	noSecret("the connection page after login", page.body)
	if !strings.Contains(page.body, "logged in: the new token is saved in") || !strings.Contains(page.body, "resumed the triggers paused with it: "+tr.ID) ||
		!strings.Contains(page.body, "OAuth token present (hidden), expires") || strings.Contains(page.body, `id="revoked"`) {
		t.Errorf("connection page after login:\n%s", page.body)
	}
	if _, held, _ := st.GetHold(ctx, tr.ID); held {
		t.Error("the trigger paused with the connection is still paused")
	}

	// a state is good once, and a made-up one is refused
	for _, target := range []string{cb, "/oauth/callback?code=x&state=made-up"} {
		if r := do(t, s, "GET", target, nil, nil); r.code != 400 || !strings.Contains(r.body, "unknown or over 10 minutes old") {
			t.Errorf("GET %s: %d", target, r.code)
		}
	}
	if svc.exchanges != 1 {
		t.Errorf("%d code exchanges after replayed callbacks", svc.exchanges)
	}
	// only the callback is open without the console's token
	if r := do(t, s, "GET", "/c/oauthy/connection", nil, nil); r.code != 401 {
		t.Errorf("the connection page without the token: %d", r.code)
	}
}

// TestNoLoginWithoutOAuth: a connector that does not log in with OAuth 2.0
// has no login button, and its login route refuses.
func TestNoLoginWithoutOAuth(t *testing.T) {
	s, _ := newTestServer(t, "")
	page := do(t, s, "GET", "/c/example/connection", nil, nil).body
	if strings.Contains(page, "login-button") {
		t.Error("a login button for an API-key connector")
	}
	csrf := csrfRE.FindStringSubmatch(page)[1]
	if r := do(t, s, "POST", "/c/example/connection/login", url.Values{"csrf": {csrf}}, nil); r.code != 400 {
		t.Errorf("login of an API-key connector: %d", r.code)
	}
}

// TestLogInAgainUnderServe: mounted under /console/ in flowrun serve's
// host, the login's redirect URI is the host's /console/oauth/callback and
// the token reaches the connection the host runs with.
func TestLogInAgainUnderServe(t *testing.T) {
	svc := newOAuthService(t)
	dir := t.TempDir()
	ps, _ := oauthProject(t, svc, dir, "")
	st, err := trigger.Open(filepath.Join(dir, "state"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv, err := New(Config{Projects: ps, Prefix: "/console", Store: st})
	if err != nil {
		t.Fatal(err)
	}
	h := &trigger.Host{Runner: &run.Runner{Project: ps[0].Project, Connection: ps[0].Connection}, Store: st, Console: srv}
	page := do(t, h, "GET", "/console/c/oauthy/connection", nil, nil)
	if !strings.Contains(page.body, "http://127.0.0.1:8686/console/oauth/callback") {
		t.Fatalf("connection page under serve:\n%s", page.body)
	}
	csrf := csrfRE.FindStringSubmatch(page.body)[1]
	r := do(t, h, "POST", "/console/c/oauthy/connection/login", url.Values{"csrf": {csrf}}, nil)
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(r.h.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if !strings.HasPrefix(back, "http://127.0.0.1:8686/console/oauth/callback?") {
		t.Fatalf("the service sent the browser to %q", back)
	}
	if r := do(t, h, "GET", strings.TrimPrefix(back, "http://127.0.0.1:8686"), nil, nil); r.code != http.StatusSeeOther || r.h.Get("Location") != "/console/c/oauthy/connection" {
		t.Fatalf("callback under serve: %d %q", r.code, r.h.Get("Location"))
	}
	if tok := h.Runner.Connection.Token; tok == nil || tok.AccessToken != accessToken {
		t.Fatalf("the host's connection has token %+v", tok)
	}
}

// TestLogInAgainBehindProxy: with a public URL (the console behind a proxy
// that ends TLS), the redirect URI the page shows and the service gets is
// built from it, not from the request's Host; a public URL that is not an
// absolute http(s) address is refused.
func TestLogInAgainBehindProxy(t *testing.T) {
	svc := newOAuthService(t)
	dir := t.TempDir()
	ps, _ := oauthProject(t, svc, dir, "")
	for _, bad := range []string{"ops.example.com", "ftp://ops.example.com", "https://", "https://ops.example.com/?x=1"} {
		if _, err := New(Config{Projects: ps, PublicURL: bad}); err == nil {
			t.Errorf("public URL %q was taken", bad)
		}
	}
	srv, err := New(Config{Projects: ps, Prefix: "/console", PublicURL: "https://ops.example.com/"})
	if err != nil {
		t.Fatal(err)
	}
	const want = "https://ops.example.com/console/oauth/callback"
	page := do(t, srv, "GET", "/console/c/oauthy/connection", nil, nil)
	if !strings.Contains(page.body, want) || strings.Contains(page.body, "127.0.0.1:8686/console/oauth") {
		t.Fatalf("connection page behind a proxy:\n%s", page.body)
	}
	csrf := csrfRE.FindStringSubmatch(page.body)[1]
	r := do(t, srv, "POST", "/console/c/oauthy/connection/login", url.Values{"csrf": {csrf}}, nil)
	loc, err := url.Parse(r.h.Get("Location"))
	if err != nil || loc.Query().Get("redirect_uri") != want {
		t.Fatalf("authorize redirect %q: %v", r.h.Get("Location"), err)
	}
}

// oauthProject writes dir/conn.yaml, a connection of the OAuth fixture
// project (testdata/trigger/oauth) to svc, with extra appended (YAML
// lines), and opens the project with it.
func oauthProject(t *testing.T, svc *oauthService, dir, extra string) ([]*Project, string) {
	t.Helper()
	conn := filepath.Join(dir, "conn.yaml")
	if err := os.WriteFile(conn, []byte("params:\n  base_url: "+svc.srv.URL+"\n  client_id: cid\n  client_secret: "+clientSecret+"\n"+extra), 0o600); err != nil {
		t.Fatal(err)
	}
	ps, err := Open([]string{"../testdata/trigger/oauth"}, []string{conn}, load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return ps, conn
}
