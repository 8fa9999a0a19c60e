package run

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// authState caches, per Runner, what authorising a request costs: one OAuth
// 2.0 token source per oauth2 configuration (the connector's, and any that
// an http step's auth: override declares).
type authState struct {
	mu   sync.Mutex
	srcs map[*lang.OAuth2]*oauthSource
}

func (r *Runner) authState() *authState {
	r.authOnce.Do(func() { r.auth = &authState{srcs: map[*lang.OAuth2]*oauthSource{}} })
	return r.auth
}

// authorize adds the credentials of auth a to a request and records which
// headers it set.
func (fr *frame) authorize(a *lang.Auth, req *request) error {
	if a == nil {
		return nil
	}
	conn := fr.run.conn
	evalStr := func(v *lang.Value, what string) (string, error) {
		x, err := fr.ev.eval(v)
		if err != nil {
			return "", &codedError{code: lang.CodeConfig, msg: fmt.Sprintf("auth %s: %v", what, err), cause: err}
		}
		return value.Text(x), nil
	}
	set := func(name, value string) {
		req.headers.Set(name, value)
		req.authHeaders = append(req.authHeaders, http.CanonicalHeaderKey(name))
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
		cred := base64.StdEncoding.EncodeToString([]byte(u + ":" + p))
		conn.AddSecret("Basic "+cred, cred, p)
		set("Authorization", "Basic "+cred)
	case "bearer":
		t, err := evalStr(a.Token, "token")
		if err != nil {
			return err
		}
		if t == "" {
			return &codedError{code: lang.CodeConfig, msg: "auth: the bearer token is empty (is the connection parameter set?)"}
		}
		conn.AddSecret(t, "Bearer "+t)
		set("Authorization", "Bearer "+t)
	case "header":
		v, err := evalStr(a.HeaderV, "header value")
		if err != nil {
			return err
		}
		conn.AddSecret(v)
		set(a.Header, v)
	case "oauth2":
		if r := fr.run.r; r.OAuthInTransport && r.Project.Connector.Auth != nil && a.OAuth2 == r.Project.Connector.Auth.OAuth2 {
			set("Authorization", "Bearer "+OAuthPlaceholder)
			return nil
		}
		src, err := fr.oauthSource(a.OAuth2)
		if err != nil {
			return err
		}
		tok, err := src.token(fr.ctx, "")
		if err != nil {
			return err
		}
		set("Authorization", tok.Type()+" "+tok.AccessToken)
		req.oauth = src
	default:
		return fmt.Errorf("unknown auth type %q", a.Type)
	}
	return nil
}

// reauthorize is called when a request authorised with OAuth 2.0 got 401:
// it refreshes the token once (unless another request already did) and
// reports whether the request now carries a different token.
func (fr *frame) reauthorize(req *request) (bool, error) {
	used := req.headers.Get("Authorization")
	tok, err := req.oauth.token(fr.ctx, used)
	if err != nil {
		return false, err
	}
	h := tok.Type() + " " + tok.AccessToken
	if h == used {
		return false, nil
	}
	req.headers.Set("Authorization", h)
	return true, nil
}

// oauthSource returns the cached token source of an oauth2 configuration,
// building it on first use.
func (fr *frame) oauthSource(o *lang.OAuth2) (*oauthSource, error) {
	r := fr.run.r
	st := r.authState()
	st.mu.Lock()
	defer st.mu.Unlock()
	if s := st.srcs[o]; s != nil {
		return s, nil
	}
	conn := fr.run.conn
	var firstErr error
	str := func(v *lang.Value, what string) string {
		x, err := fr.ev.eval(v)
		if err != nil && firstErr == nil {
			firstErr = fmt.Errorf("oauth2 %s: %w", what, err)
		}
		return value.Text(x)
	}
	tokenURL := str(o.TokenURL, "token_url")
	refreshURL := tokenURL
	if o.RefreshURL != nil {
		if u := str(o.RefreshURL, "refresh_url"); u != "" {
			refreshURL = u
		}
	}
	clientID, secret := str(o.ClientID, "client_id"), str(o.ClientSecret, "client_secret")
	authURL := str(o.AuthorizeURL, "authorize_url")
	if firstErr != nil {
		return nil, firstErr
	}
	conn.AddSecret(secret)
	style := oauth2.AuthStyleInHeader
	if o.ClientAuth == "post" {
		style = oauth2.AuthStyleInParams
	}
	// token requests get their own timeout: they outlive any one run
	hc := *r.client()
	if hc.Timeout == 0 {
		hc.Timeout = 30 * time.Second
	}
	s := &oauthSource{conn: conn, grant: o.Grant, client: &hc}
	switch o.Grant {
	case "client_credentials":
		s.cc = &clientcredentials.Config{ClientID: clientID, ClientSecret: secret, TokenURL: tokenURL, Scopes: o.Scopes, AuthStyle: style}
	default:
		ct := conn.Token
		if ct == nil || ct.AccessToken == "" && ct.RefreshToken == "" {
			re := &RequestError{Msg: "the connection has no OAuth 2.0 token", Hint: "run `flowrun connection login` first"}
			return nil, &codedError{code: lang.CodeAuthExpired, msg: re.Error(), cause: re}
		}
		s.cfg = &oauth2.Config{ClientID: clientID, ClientSecret: secret, Scopes: o.Scopes,
			Endpoint: oauth2.Endpoint{TokenURL: refreshURL, AuthURL: authURL, AuthStyle: style}}
		s.tok = &oauth2.Token{AccessToken: ct.AccessToken, RefreshToken: ct.RefreshToken, TokenType: ct.TokenType, Expiry: ct.Expiry}
	}
	st.srcs[o] = s
	return s, nil
}

// oauthSource hands out a valid token: client credentials are fetched when
// missing or expired; an authorization-code token is refreshed when expired
// (or rejected) and the new token written back to the connection file.
type oauthSource struct {
	mu     sync.Mutex
	conn   *connection.Connection
	grant  string
	client *http.Client
	cc     *clientcredentials.Config
	cfg    *oauth2.Config
	tok    *oauth2.Token
}

// token returns the current token, fetching or refreshing it when it is
// invalid, or when rejected is the Authorization header value that carries it
// (a 401 said so).
func (s *oauthSource) token(ctx context.Context, rejected string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// a login saved a new token into the connection (the console's Log in
	// again under serve): use it rather than the one this source holds
	if ct := s.conn.CurrentToken(); s.cfg != nil && ct != nil && s.tok != nil &&
		(ct.AccessToken != s.tok.AccessToken || ct.RefreshToken != s.tok.RefreshToken) {
		s.tok = &oauth2.Token{AccessToken: ct.AccessToken, RefreshToken: ct.RefreshToken, TokenType: ct.TokenType, Expiry: ct.Expiry}
	}
	if s.tok != nil && s.tok.Valid() && (rejected == "" || rejected != s.tok.Type()+" "+s.tok.AccessToken) {
		return s.tok, nil
	}
	// the run's context cancels the request; its values carry the client
	hctx := context.WithValue(ctx, oauth2.HTTPClient, s.client)
	var (
		t   *oauth2.Token
		err error
	)
	if s.cc != nil {
		t, err = s.cc.Token(hctx)
	} else {
		if s.tok == nil || s.tok.RefreshToken == "" {
			re := &RequestError{Msg: "the OAuth 2.0 token has expired and the connection has no refresh token", Hint: "log in again: flowrun connection login"}
			return nil, &codedError{code: lang.CodeAuthExpired, msg: re.Error(), cause: re}
		}
		// in step with other processes using the connection file: a token
		// one of them refreshed is taken instead of refreshing again
		var ct *connection.Token
		ct, err = s.conn.RefreshToken(s.tok.AccessToken, func(cur *connection.Token) (*connection.Token, error) {
			rt := s.tok.RefreshToken
			if cur != nil && cur.RefreshToken != "" {
				rt = cur.RefreshToken
			}
			// an expired token makes the source refresh
			nt, err := s.cfg.TokenSource(hctx, &oauth2.Token{RefreshToken: rt, Expiry: time.Unix(1, 0)}).Token()
			if err != nil {
				return nil, err
			}
			return &connection.Token{AccessToken: nt.AccessToken, RefreshToken: nt.RefreshToken, TokenType: nt.TokenType, Expiry: nt.Expiry}, nil
		})
		if err == nil {
			t = &oauth2.Token{AccessToken: ct.AccessToken, RefreshToken: ct.RefreshToken, TokenType: ct.TokenType, Expiry: ct.Expiry}
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return nil, cancelError(ctx)
		}
		msg := "oauth2 token: " + s.conn.Redact(oauthErrText(err))
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			// the token endpoint refused: only a new login helps
			return nil, &codedError{code: lang.CodeAuthExpired, msg: msg, cause: err}
		}
		return nil, &codedError{code: lang.CodeTransient, msg: msg, cause: err}
	}
	s.conn.AddSecret(t.AccessToken, t.RefreshToken)
	s.tok = t // (RefreshToken saved an authorization-code token)
	return t, nil
}

func oauthErrText(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := fmt.Sprintf("the token endpoint answered %d", re.Response.StatusCode)
		if re.ErrorCode != "" {
			msg += ": " + re.ErrorCode
			if re.ErrorDescription != "" {
				msg += " (" + re.ErrorDescription + ")"
			}
		}
		return msg
	}
	return err.Error()
}

// Credentials go only to their origin. The connection's credentials (the
// headers auth sets, headers whose value is built from a secret connection
// parameter or holds a known secret, bodies built from secrets) are sent
// only to base_url's origin (scheme, host and port) and to the origins the
// connector lists in http.allowed_origins. A url: step, a redirect or a next
// page that goes elsewhere is sent without them, or fails when they cannot
// be taken off (explicit auth: settings, a body or query holding a secret, a
// redirect of another method than GET and HEAD).

// originOf is a URL's origin for comparisons: lower-case scheme and host,
// and always a port.
func originOf(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return scheme + "://" + host + ":" + port
}

// originText is a URL's origin as messages show it.
func originText(u *url.URL) string {
	return strings.ToLower(u.Scheme) + "://" + strings.ToLower(u.Host)
}

// credTrusted reports whether u's origin may receive the connection's
// credentials: base_url's origin or one of http.allowed_origins. The error is
// base_url's, which could not be evaluated (u is then not trusted).
func (fr *frame) credTrusted(u *url.URL) (bool, error) {
	o := originOf(u)
	for _, a := range fr.run.r.Project.Connector.HTTP.AllowedOrigins {
		if au, err := url.Parse(a); err == nil && originOf(au) == o {
			return true, nil
		}
	}
	base, err := fr.baseURL()
	if err != nil || base == "" {
		return false, err
	}
	bu, err := url.Parse(base)
	if err != nil {
		return false, nil
	}
	return originOf(bu) == o, nil
}

// credOrigins names the origins credentials go to, for messages.
func (fr *frame) credOrigins() string {
	var names []string
	if base, err := fr.baseURL(); err == nil && base != "" {
		if bu, err := url.Parse(base); err == nil && bu.Host != "" {
			names = append(names, originText(bu)+" (base_url)")
		}
	}
	names = append(names, fr.run.r.Project.Connector.HTTP.AllowedOrigins...)
	if len(names) == 0 {
		return "no origin (the connector has no base_url nor http.allowed_origins)"
	}
	return strings.Join(names, ", ")
}

// connRef finds references to the connection in an expression: the name
// after `connection.` or inside `connection["..."]`, or none when the whole
// connection is used.
var connRef = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`connection(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)|\s*\[\s*["']([^"']*)["']\s*\])?`)
})

// secretRefs caches secretRef per value: *lang.Value -> bool.
var secretRefs sync.Map

// secretRef reports whether a value is built from a secret of the
// connection: it refers to a secret connection parameter, to the OAuth token,
// or to the whole connection.
func (fr *frame) secretRef(v *lang.Value) bool {
	if v == nil || v.IsConst() {
		return false
	}
	if b, ok := secretRefs.Load(v); ok {
		return b.(bool)
	}
	c := fr.run.r.Project.Connector
	found := false
	v.Exprs(func(e *lang.Expr, _ *lang.Node) {
		src := e.Src
		for _, m := range connRef().FindAllStringSubmatchIndex(src, -1) {
			if m[0] > 0 {
				if p := src[m[0]-1]; p == '.' || p == '_' || p >= 'a' && p <= 'z' || p >= 'A' && p <= 'Z' || p >= '0' && p <= '9' {
					continue // a field named connection, or a longer name
				}
			}
			if e := m[1]; e < len(src) {
				if p := src[e]; p == '_' || p >= 'a' && p <= 'z' || p >= 'A' && p <= 'Z' || p >= '0' && p <= '9' {
					continue
				}
			}
			var name string
			switch {
			case m[2] >= 0:
				name = src[m[2]:m[3]]
			case m[4] >= 0:
				name = src[m[4]:m[5]]
			default:
				found = true // the whole connection: it may be any part of it
				continue
			}
			if name == "token" {
				found = true
			}
			for _, p := range c.Params {
				if p.Name == name && p.Secret {
					found = true
				}
			}
		}
	})
	secretRefs.Store(v, found)
	return found
}

// holdsSecret reports whether s contains a secret the connection knows.
func (fr *frame) holdsSecret(s string) bool {
	return s != "" && fr.run.conn.Redact(s) != s
}

// stripCreds deletes from h every header that carries credentials: those
// the auth set, those built from a secret, those holding a known secret and,
// with sensitive, the ones that carry credentials by name (Authorization,
// Cookie, X-Api-Key, ...). It reports whether it deleted any.
func (fr *frame) stripCreds(r *request, h http.Header, sensitive bool) bool {
	n := len(h)
	for _, k := range r.authHeaders {
		h.Del(k)
	}
	for _, k := range r.secretHeaders {
		h.Del(k)
	}
	for k, vs := range h {
		if sensitive && (sensitiveHeader(k) || k == "Cookie2" || k == "Proxy-Authorization") {
			delete(h, k)
			continue
		}
		for _, v := range vs {
			if fr.holdsSecret(v) {
				delete(h, k)
				break
			}
		}
	}
	return len(h) != n
}

// OAuthPlaceholder stands for the connector's OAuth 2.0 access token in
// the requests of a Runner with OAuthInTransport.
const OAuthPlaceholder = "__flowrun_oauth2_access_token__"

// OAuthAuthorization is the Authorization header value ("Bearer <access
// token>") of the connector's OAuth 2.0 auth for the Runner's connection:
// the token it holds, fetched (client credentials) or refreshed
// (authorization code, written back to the connection file) when it is
// missing, expired, or is the one in rejected (a 401 answered it). It is
// the other half of OAuthInTransport: the process that sends the requests
// calls it, and keeps the Runner (its tokens are cached in it) across
// requests. Its errors carry the codes a run's would (auth_expired when
// only a new login helps).
func (r *Runner) OAuthAuthorization(ctx context.Context, rejected string) (string, error) {
	a := r.Project.Connector.Auth
	if a == nil || a.Type != "oauth2" || a.OAuth2 == nil {
		return "", &RequestError{Msg: fmt.Sprintf("connector %q does not authenticate with OAuth 2.0", r.Project.Connector.Name)}
	}
	conn, err := r.connection()
	if err != nil {
		return "", err
	}
	ru := r.newRun(ctx, conn)
	fr := &frame{run: ru, ctx: ctx}
	fr.ev.env = map[string]any{"connection": ru.connEnv, "connector": ru.conEnv}
	src, err := fr.oauthSource(a.OAuth2)
	if err != nil {
		return "", err
	}
	tok, err := src.token(ctx, rejected)
	if err != nil {
		return "", err
	}
	return tok.Type() + " " + tok.AccessToken, nil
}
