package interpreter

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// authState caches, per Runner, what authorising a request costs: OAuth 2.0
// token sources.
type authState struct {
	mu  sync.Mutex
	src oauth2.TokenSource
}

func (r *Runner) authState() *authState {
	r.authOnce.Do(func() { r.auth = &authState{} })
	return r.auth
}

// authorize adds the connection's credentials to a request.
func (fr *frame) authorize(a *Auth, req *request) error {
	if a == nil {
		return nil
	}
	conn := fr.run.r.Connection
	evalStr := func(v *Value, what string) (string, error) {
		x, err := fr.ev.eval(v)
		if err != nil {
			return "", fmt.Errorf("auth %s: %w", what, err)
		}
		return toText(x), nil
	}
	switch a.Type {
	case "", "none":
		return nil
	case "basic":
		u, err := evalStr(a.Username, "username")
		if err != nil {
			return err
		}
		p, err := evalStr(a.Password, "password")
		if err != nil {
			return err
		}
		h := "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p))
		conn.AddSecret(h, base64.StdEncoding.EncodeToString([]byte(u+":"+p)))
		if p != "" {
			conn.AddSecret(p)
		}
		req.headers.Set("Authorization", h)
	case "bearer":
		t, err := evalStr(a.Token, "token")
		if err != nil {
			return err
		}
		conn.AddSecret(t)
		req.headers.Set("Authorization", "Bearer "+t)
	case "header":
		v, err := evalStr(a.HeaderV, "header value")
		if err != nil {
			return err
		}
		conn.AddSecret(v)
		req.headers.Set(a.Header, v)
	case "oauth2":
		tok, err := fr.oauthToken(a.OAuth2)
		if err != nil {
			return err
		}
		conn.AddSecret(tok.AccessToken)
		typ := tok.Type()
		req.headers.Set("Authorization", typ+" "+tok.AccessToken)
	default:
		return fmt.Errorf("unknown auth type %q", a.Type)
	}
	return nil
}

// oauthToken returns a valid token: client credentials are fetched (and
// cached); an authorization-code token is refreshed when expired and the new
// token written back to the connection file.
func (fr *frame) oauthToken(o *OAuth2) (*oauth2.Token, error) {
	r := fr.run.r
	st := r.authState()
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.src == nil {
		str := func(v *Value) string {
			x, _ := fr.ev.eval(v)
			return toText(x)
		}
		tokenURL := str(o.TokenURL)
		if o.RefreshURL != nil {
			if ru := str(o.RefreshURL); ru != "" && o.Grant == "authorization_code" {
				tokenURL = ru
			}
		}
		style := oauth2.AuthStyleInHeader
		if o.ClientAuth == "post" {
			style = oauth2.AuthStyleInParams
		}
		clientID, secret := str(o.ClientID), str(o.ClientSecret)
		r.Connection.AddSecret(secret)
		switch o.Grant {
		case "client_credentials":
			cc := &clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL, Scopes: o.Scopes, AuthStyle: style}
			st.src = oauth2.ReuseTokenSource(nil, cc.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, r.client())))
		default:
			ct := r.Connection.Token
			if ct == nil || ct.AccessToken == "" && ct.RefreshToken == "" {
				return nil, &UsageError{Msg: "connection has no OAuth 2.0 token", Hint: "run `flowrun connection login` first"}
			}
			cfg := &oauth2.Config{ClientID: clientID, ClientSecret: secret, Scopes: o.Scopes,
				Endpoint: oauth2.Endpoint{TokenURL: tokenURL, AuthURL: str(o.AuthorizeURL), AuthStyle: style}}
			start := &oauth2.Token{AccessToken: ct.AccessToken, RefreshToken: ct.RefreshToken, TokenType: ct.TokenType, Expiry: ct.Expiry}
			st.src = &savingSource{conn: r.Connection, src: cfg.TokenSource(context.WithValue(context.Background(), oauth2.HTTPClient, r.client()), start), last: ct.AccessToken}
		}
	}
	tok, err := st.src.Token()
	if err != nil {
		return nil, fmt.Errorf("oauth2: %s", r.Connection.Redact(err.Error()))
	}
	return tok, nil
}

// savingSource writes a refreshed token back to the connection file.
type savingSource struct {
	conn *Connection
	src  oauth2.TokenSource
	last string
}

func (s *savingSource) Token() (*oauth2.Token, error) {
	t, err := s.src.Token()
	if err != nil {
		return nil, err
	}
	if t.AccessToken != s.last {
		s.last = t.AccessToken
		if err := s.conn.SaveToken(&Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}); err != nil {
			return nil, fmt.Errorf("saving the refreshed token: %w", err)
		}
	}
	return t, nil
}
