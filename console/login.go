package console

import (
	"context"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/flowrun/flowrun/run"
)

// "Log in again" on the connection page of a project whose connector uses
// OAuth 2.0 (authorization code with PKCE) runs the login of `flowrun
// connection login` (run.OAuthLogin) with the console as the redirect
// target: the button's POST keeps the login (state and PKCE verifier)
// server-side and redirects the browser to the service's authorize_url;
// the service sends it back to /oauth/callback, which exchanges the code
// and writes the token into the connection file. No token or secret is
// ever put in a page, a URL or a log.

const (
	callbackPath  = "/oauth/callback"
	loginLifetime = 10 * time.Minute
	maxLogins     = 32
)

type pendingLogin struct {
	project *Project
	login   *run.OAuthLogin
	started time.Time
}

// loginResult is what the connection page says about the last login.
type loginResult struct {
	OK      bool
	Message string
}

// redirectURL is the console's callback: under Config.PublicURL, else as
// the browser reached it.
func (s *Server) redirectURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return strings.TrimRight(s.cfg.PublicURL, "/") + s.cfg.Prefix + callbackPath
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.cfg.Prefix + callbackPath
}

// authorizeOrigin is the origin of the service's authorize_url, which the
// connection page's Content-Security-Policy lets its login form go to; ""
// when the connector does not log in with OAuth 2.0 or the URL cannot be
// evaluated.
func (s *Server) authorizeOrigin(p *Project) string {
	if !run.CanOAuthLogin(p.Project) || len(p.Diagnostics) > 0 || p.Connection.File == "" {
		return ""
	}
	runner := &run.Runner{Project: p.Project, Connection: p.Connection}
	l, err := runner.StartOAuthLogin("http://127.0.0.1/")
	if err != nil {
		return ""
	}
	u, err := url.Parse(l.AuthURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// startLogin begins a login and redirects the browser to the service.
func (s *Server) startLogin(w http.ResponseWriter, r *http.Request) {
	p := s.project(w, r)
	if p == nil {
		return
	}
	if !run.CanOAuthLogin(p.Project) || len(p.Diagnostics) > 0 || p.Connection.File == "" {
		http.Error(w, "logging in needs a connector with OAuth 2.0 (grant authorization_code), no problems, and a connection file", http.StatusBadRequest)
		return
	}
	runner := &run.Runner{Project: p.Project, Connection: p.Connection, Client: s.cfg.Client}
	l, err := runner.StartOAuthLogin(s.redirectURL(r))
	if err != nil {
		s.setLogin(p, loginResult{Message: "cannot log in: " + p.Connection.Redact(err.Error())})
		http.Redirect(w, r, s.cfg.Prefix+"/c/"+url.PathEscape(p.Name)+"/connection", http.StatusSeeOther)
		return
	}
	now := s.cfg.Now()
	s.mu.Lock()
	if s.logins == nil {
		s.logins = map[string]*pendingLogin{}
	}
	for st, pl := range s.logins {
		if now.Sub(pl.started) > loginLifetime {
			delete(s.logins, st)
		}
	}
	if len(s.logins) >= maxLogins {
		s.mu.Unlock()
		http.Error(w, "too many logins under way: finish one or wait 10 minutes", http.StatusTooManyRequests)
		return
	}
	s.logins[l.State] = &pendingLogin{project: p, login: l, started: now}
	s.mu.Unlock()
	http.Redirect(w, r, l.AuthURL, http.StatusSeeOther)
}

// loginCallback is where the service sends the browser back: the state
// names the login, whose code is exchanged for a token saved in the
// connection file; under a state store, the project's triggers paused with
// this connection are resumed (as `flowrun connection login --state`).
func (s *Server) loginCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	pl := s.logins[q.Get("state")]
	if pl != nil {
		delete(s.logins, q.Get("state")) // one use
	}
	s.mu.Unlock()
	if pl == nil || s.cfg.Now().Sub(pl.started) > loginLifetime {
		s.renderStatus(w, r, http.StatusBadRequest, "error", "Login failed", map[string]any{
			"Message": "this login is unknown or over 10 minutes old (a stale or forged redirect): start again with \"Log in again\" on the connection page"})
		return
	}
	p := pl.project
	res := loginResult{}
	code, err := pl.login.Code(q)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
		err = pl.login.Exchange(ctx, code)
		cancel()
	}
	if err != nil {
		res.Message = "login failed: " + p.Connection.Redact(err.Error())
	} else {
		res.OK = true
		res.Message = "logged in: the new token is saved in " + p.Connection.File
		if s.cfg.Store != nil {
			file, _ := filepath.Abs(p.Connection.File)
			ids, rerr := s.cfg.Store.ResumeConnection(r.Context(), p.Project.Connector.Name, file)
			if rerr != nil {
				res.Message += "; resuming its paused triggers failed: " + rerr.Error()
			} else if len(ids) > 0 {
				res.Message += "; resumed the triggers paused with it: " + strings.Join(ids, ", ")
			}
		}
	}
	s.setLogin(p, res)
	http.Redirect(w, r, s.cfg.Prefix+"/c/"+url.PathEscape(p.Name)+"/connection", http.StatusSeeOther)
}

func (s *Server) setLogin(p *Project, res loginResult) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lastLogin == nil {
		s.lastLogin = map[string]loginResult{}
	}
	s.lastLogin[p.Name] = res
}

// takeLogin returns (once) what the last login of a project came to.
func (s *Server) takeLogin(p *Project) *loginResult {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, ok := s.lastLogin[p.Name]
	if !ok {
		return nil
	}
	delete(s.lastLogin, p.Name)
	return &res
}
