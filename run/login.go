package run

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"golang.org/x/oauth2"
)

// OAuthLogin is one OAuth 2.0 login (authorization code with PKCE) for the
// runner's connection, as `flowrun connection login` and the console's
// "log in again" run it: send the browser to AuthURL; when the service
// redirects back, Code checks the redirect and Exchange trades its code
// (with the PKCE verifier, which never leaves this value) for a token and
// writes it into the connection file (0600).
type OAuthLogin struct {
	// AuthURL is where to send the browser: the service's authorize_url
	// with the client id, scopes, redirect URI, state and the PKCE
	// challenge. It holds no secret.
	AuthURL string
	// State is the random value the redirect must carry back.
	State string
	// RedirectURL is where the service sends the browser back.
	RedirectURL string

	r        *Runner
	cfg      *oauth2.Config
	verifier string
}

// ErrNotOAuthLogin is returned (wrapped) by StartOAuthLogin for a connector
// that does not use OAuth 2.0 with grant authorization_code.
var ErrNotOAuthLogin = errors.New("no OAuth 2.0 login")

// CanOAuthLogin reports whether the project's connector logs in with OAuth
// 2.0, grant authorization_code.
func CanOAuthLogin(p *lang.Project) bool {
	if p == nil || p.Connector == nil {
		return false
	}
	a := p.Connector.Auth
	return a != nil && a.Type == "oauth2" && a.OAuth2 != nil && a.OAuth2.Grant == "authorization_code"
}

// StartOAuthLogin begins a login whose redirect comes back to redirectURL:
// it evaluates the connector's OAuth 2.0 settings with the connection (a
// revoked connection too: a login is how it comes back), and makes a new
// state and PKCE verifier. The client secret becomes one of the
// connection's secrets, redacted wherever it would show.
func (r *Runner) StartOAuthLogin(redirectURL string) (*OAuthLogin, error) {
	if !CanOAuthLogin(r.Project) {
		name := ""
		if r.Project != nil && r.Project.Connector != nil {
			name = r.Project.Connector.Name
		}
		return nil, fmt.Errorf("connector %q does not use OAuth 2.0 with grant authorization_code: %w", name, ErrNotOAuthLogin)
	}
	if r.Connection == nil {
		r.Connection = &connection.Connection{Params: map[string]any{}}
	}
	o := r.Project.Connector.Auth.OAuth2
	ev := evaluator{env: map[string]any{"connection": r.Connection.Env(), "connector": r.connectorEnv()}}
	val := func(v *lang.Value, what string) (string, error) {
		if v == nil {
			return "", nil
		}
		x, err := ev.eval(v)
		if err != nil {
			return "", &RequestError{Msg: fmt.Sprintf("oauth2 %s: %v", what, r.Connection.Redact(err.Error()))}
		}
		return ToText(x), nil
	}
	var vals [4]string
	for i, v := range []struct {
		v    *lang.Value
		what string
	}{{o.AuthorizeURL, "authorize_url"}, {o.TokenURL, "token_url"}, {o.ClientID, "client_id"}, {o.ClientSecret, "client_secret"}} {
		s, err := val(v.v, v.what)
		if err != nil {
			return nil, err
		}
		vals[i] = s
	}
	authURL, tokenURL, clientID, secret := vals[0], vals[1], vals[2], vals[3]
	r.Connection.AddSecret(secret)
	style := oauth2.AuthStyleInHeader
	if o.ClientAuth == "post" {
		style = oauth2.AuthStyleInParams
	}
	cfg := &oauth2.Config{ClientID: clientID, ClientSecret: secret, Scopes: o.Scopes, RedirectURL: redirectURL,
		Endpoint: oauth2.Endpoint{AuthURL: authURL, TokenURL: tokenURL, AuthStyle: style}}
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	l := &OAuthLogin{State: hex.EncodeToString(b), RedirectURL: redirectURL, r: r, cfg: cfg, verifier: oauth2.GenerateVerifier()}
	l.AuthURL = cfg.AuthCodeURL(l.State, oauth2.AccessTypeOffline, oauth2.S256ChallengeOption(l.verifier))
	return l, nil
}

// Code checks the query of the redirect back from the service and returns
// its authorization code: the state must be this login's, and the service
// must not have answered with an error.
func (l *OAuthLogin) Code(q url.Values) (string, error) {
	switch {
	case q.Get("state") != l.State:
		return "", errors.New("the redirect's state does not match (a stale or forged request)")
	case q.Get("error") != "":
		msg := "the service refused: " + q.Get("error")
		if d := q.Get("error_description"); d != "" {
			msg += " " + d
		}
		return "", errors.New(l.r.Connection.Redact(msg))
	case q.Get("code") == "":
		return "", errors.New("the redirect carries no code")
	}
	return q.Get("code"), nil
}

// Exchange trades the code for a token at the token_url (with the PKCE
// verifier; through the runner's Client when set) and saves it in the
// connection file with 0600 permissions, which also ends a revocation.
// Its errors are redacted.
func (l *OAuthLogin) Exchange(ctx context.Context, code string) error {
	if l.r.Client != nil {
		ctx = context.WithValue(ctx, oauth2.HTTPClient, l.r.Client)
	}
	tok, err := l.cfg.Exchange(ctx, code, oauth2.VerifierOption(l.verifier))
	if err != nil {
		l.r.Connection.AddSecret(code)
		return errors.New("exchanging the code: " + l.r.Connection.Redact(oauthErrText(err)))
	}
	if err := l.r.Connection.SaveToken(&connection.Token{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, TokenType: tok.TokenType, Expiry: tok.Expiry}); err != nil {
		return fmt.Errorf("saving the token: %w", err)
	}
	return nil
}
