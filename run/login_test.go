package run

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/load"
)

// TestOAuthLoginStart: the authorization URL carries the client id,
// scopes, redirect URI, state and an S256 challenge and never the client
// secret; a revoked connection can start a login; the redirect back is
// checked (state, error, code); a connector without OAuth 2.0 is refused.
func TestOAuthLoginStart(t *testing.T) {
	p, err := load.Project("../testdata/trigger/oauth")
	if err != nil {
		t.Fatal(err)
	}
	conn := &connection.Connection{Params: map[string]any{"base_url": "https://auth.example", "client_id": "cid", "client_secret": "csecret-0123456789"}, Revoked: true}
	r := &Runner{Project: p, Connection: conn}
	l, err := r.StartOAuthLogin("http://127.0.0.1:8686/oauth/callback")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(l.AuthURL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "auth.example" || u.Path != "/authorize" || q.Get("client_id") != "cid" || q.Get("scope") != "read write" ||
		q.Get("redirect_uri") != "http://127.0.0.1:8686/oauth/callback" || q.Get("state") != l.State || len(l.State) != 32 ||
		q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("response_type") != "code" {
		t.Fatalf("authorization URL %s", l.AuthURL)
	}
	if strings.Contains(l.AuthURL, "csecret") || strings.Contains(l.AuthURL, l.verifier) {
		t.Fatal("the authorization URL holds the client secret or the PKCE verifier")
	}
	if got := conn.Redact("x csecret-0123456789 y"); strings.Contains(got, "csecret") {
		t.Errorf("the client secret is not redacted: %q", got)
	}
	l2, _ := r.StartOAuthLogin("http://127.0.0.1:8686/oauth/callback")
	if l2.State == l.State || l2.verifier == l.verifier {
		t.Error("two logins share a state or a verifier")
	}

	for _, c := range []struct {
		q    url.Values
		code string
		err  string
	}{
		{url.Values{"state": {l.State}, "code": {"abc"}}, "abc", ""},
		{url.Values{"state": {l2.State}, "code": {"abc"}}, "", "state does not match"},
		{url.Values{"code": {"abc"}}, "", "state does not match"},
		{url.Values{"state": {l.State}, "error": {"access_denied"}, "error_description": {"no"}}, "", "the service refused: access_denied no"},
		{url.Values{"state": {l.State}}, "", "carries no code"},
	} {
		code, err := l.Code(c.q)
		if code != c.code || (c.err == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), c.err) {
			t.Errorf("Code(%v) = %q, %v", c.q, code, err)
		}
	}

	ex, err := load.Project("../connectors/example")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := (&Runner{Project: ex}).StartOAuthLogin("http://x/cb"); !errors.Is(err, ErrNotOAuthLogin) {
		t.Errorf("a login for an API-key connector: %v", err)
	}
}
