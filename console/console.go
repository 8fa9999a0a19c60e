// Package console is flowrun's web console: server-rendered pages
// (html/template, no JavaScript) showing a set of loaded projects, their
// flows as diagrams (package graph) with the checker's diagnostics, a form
// per action flow that runs it, the connection (secrets redacted), triggers
// and runs with each step's inputs and outputs.
//
// A Server is an http.Handler; `flowrun console` serves it on loopback and
// `flowrun serve --console` mounts it under /console/. Every asset is
// embedded. Security: POSTs carry a CSRF token, responses a strict
// Content-Security-Policy, and a Server with a Token refuses requests that
// do not present it; without one it answers only requests from a loopback
// peer addressed to a loopback host name (against DNS rebinding).
package console

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/load"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Project is one project shown by the console.
type Project struct {
	Name        string // the URL key: the connector's name (made unique by Open)
	Dir         string
	Project     *lang.Project
	Diagnostics lang.Diagnostics // from load.Inspect; a project with any is never run
	Connection  *connection.Connection
	// ConnectionName is the named connection (flowrun serve --connections
	// DIR) the project is shown with; "" for a --connection FILE. One
	// project served with several named connections is one Project each.
	ConnectionName string
	// Limits are the limits of the runs started from the console with this
	// project (under flowrun serve, its host Runner's: --max-memory).
	Limits run.Limits
}

// Config configures a Server.
type Config struct {
	Projects []*Project
	// Prefix is the path the console is mounted at ("" or "/console").
	Prefix string
	// PublicURL, when set, is the address at which browsers reach the
	// server the console is mounted in (e.g. https://ops.example.com behind
	// a proxy that ends TLS): OAuth 2.0 log-in-again's redirect URI is built
	// from it. Without it the redirect URI is built from the request's Host.
	PublicURL string
	// Token, when set, must be presented by every request: as a bearer
	// token, or once as ?token= (which sets a cookie). Without one the
	// console answers only loopback host names.
	Token string
	// Store, when set, lists triggers and the run history (flowrun
	// serve's state store).
	Store *trigger.Store
	// Replay, when set, replays a failed stored run and returns the new
	// run's id (trigger.Host.Replay, under flowrun serve).
	Replay func(ctx context.Context, runID int64) (int64, int, error)
	// Pause and Resume, when set, pause a trigger by hand and lift its
	// hold (trigger.Host.Pause and Resume under flowrun serve, which also
	// tell the scheduler at once); nil: the Store's.
	Pause  func(ctx context.Context, id, reason string) error
	Resume func(ctx context.Context, id string) (bool, error)
	// Client is the HTTP client of runs started from the console (tests
	// point it at a mock); nil: the default.
	Client *http.Client
	// MaxRuns is how many runs started from the console are kept in memory
	// (default 200).
	MaxRuns int
	Now     func() time.Time
}

// Server serves the console.
type Server struct {
	cfg   Config
	csrf  string
	tmpl  map[string]*template.Template
	mux   *http.ServeMux
	byKey map[string]*Project

	mu        sync.Mutex
	runs      []*Run // newest last
	seq       int
	logins    map[string]*pendingLogin // by state
	lastLogin map[string]loginResult   // by project
}

// Open loads the projects in dirs for the console (problems are kept as
// diagnostics to show, not returned), with the connection file given for
// each ("" for none).
func Open(dirs, connFiles []string, o load.Options) ([]*Project, error) {
	var out []*Project
	seen := map[string]int{}
	for i, dir := range dirs {
		p, ds := load.Inspect(dir, o)
		if p == nil || p.Connector == nil {
			if len(ds) > 0 {
				return nil, ds
			}
			return nil, fmt.Errorf("%s: not a project", dir)
		}
		name := p.Connector.Name
		if name == "" {
			name = filepath.Base(dir)
		}
		seen[name]++
		if seen[name] > 1 {
			name = fmt.Sprintf("%s-%d", name, seen[name])
		}
		cp := &Project{Name: name, Dir: dir, Project: p, Diagnostics: ds}
		if i < len(connFiles) && connFiles[i] != "" {
			c, err := connection.Load(connFiles[i], p.Connector)
			if err != nil {
				return nil, err
			}
			cp.Connection = c
		}
		if cp.Connection == nil {
			cp.Connection = &connection.Connection{Params: map[string]any{}}
		}
		out = append(out, cp)
	}
	return out, nil
}

// New returns a console server.
func New(cfg Config) (*Server, error) {
	if cfg.MaxRuns <= 0 {
		cfg.MaxRuns = 200
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.Prefix = strings.TrimRight(cfg.Prefix, "/")
	if cfg.PublicURL != "" {
		u, err := url.Parse(cfg.PublicURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return nil, fmt.Errorf("public URL %q: give the absolute http(s) address browsers reach the console's server at, e.g. https://ops.example.com", cfg.PublicURL)
		}
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, csrf: hex.EncodeToString(b), byKey: map[string]*Project{}}
	for _, p := range cfg.Projects {
		s.byKey[p.Name] = p
	}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := http.NewServeMux()
	static, _ := fs.Sub(staticFS, "static")
	m.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	m.HandleFunc("GET /{$}", s.home)
	m.HandleFunc("GET /c/{project}/{$}", s.connector)
	m.HandleFunc("GET /c/{project}/connection", s.connectionPage)
	m.HandleFunc("POST /c/{project}/connection/test", s.testConnection)
	m.HandleFunc("POST /c/{project}/connection/revoke", s.revokeConnection)
	m.HandleFunc("POST /c/{project}/connection/login", s.startLogin)
	m.HandleFunc("GET "+callbackPath, s.loginCallback)
	m.HandleFunc("POST /triggers/{id}/pause", s.pauseTrigger)
	m.HandleFunc("POST /triggers/{id}/resume", s.resumeTrigger)
	m.HandleFunc("POST /triggers/{id}/reset", s.resetTrigger)
	m.HandleFunc("POST /runs/{id}/replay", s.replayRun)
	m.HandleFunc("GET /c/{project}/flows/{flow}", s.flowPage)
	m.HandleFunc("GET /c/{project}/flows/{flow}/source", s.sourcePage)
	m.HandleFunc("GET /c/{project}/flows/{flow}/graph/{format}", s.graphFile)
	m.HandleFunc("POST /c/{project}/flows/{flow}/run", s.runFlow)
	m.HandleFunc("GET /runs", s.runsPage)
	m.HandleFunc("GET /runs/{id}", s.runPage)
	m.HandleFunc("GET /triggers", s.triggersPage)
	s.mux = m
}

// ServeHTTP checks the request (host, token, CSRF), sets the security
// headers and serves the page.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp(""))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	if s.cfg.Token == "" {
		// both ends on loopback: the peer (a console mounted in a serve
		// that listens more widely) and the Host (against DNS rebinding)
		if !loopbackHost(r.Host) || !loopbackHost(r.RemoteAddr) {
			http.Error(w, "the console answers only on a loopback address (start it with --console-token to serve others)", http.StatusForbidden)
			return
		}
	} else if strings.TrimPrefix(r.URL.Path, s.cfg.Prefix) == callbackPath && r.Method == http.MethodGet {
		// the service's redirect back from a login: a cross-site navigation,
		// which carries no SameSite=Strict cookie; the login's state (128
		// random bits, kept here, one use) is what authorizes it
	} else if !s.authorized(w, r) {
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		if !s.checkCSRF(r) {
			http.Error(w, "missing or wrong CSRF token: reload the page and try again", http.StatusForbidden)
			return
		}
	}
	path := strings.TrimPrefix(r.URL.Path, s.cfg.Prefix)
	if path == "" {
		http.Redirect(w, r, s.cfg.Prefix+"/", http.StatusFound)
		return
	}
	r2 := r.Clone(r.Context())
	r2.URL.Path = path
	r2.URL.RawPath = ""
	s.mux.ServeHTTP(w, r2)
}

// csp is the console's Content-Security-Policy; formOrigin, when set, is
// one more origin forms may go to (the connection page's login form, which
// is redirected to the service's authorize_url).
func csp(formOrigin string) string {
	form := "'self'"
	if formOrigin != "" {
		form += " " + formOrigin
	}
	return "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action " + form + "; frame-ancestors 'none'; base-uri 'none'"
}

const tokenCookie = "flowrun_console_token"

// authorized checks the console token: a bearer header, the cookie, or
// ?token= once (which sets the cookie and redirects without it).
func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	eq := func(t string) bool {
		return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.cfg.Token)) == 1
	}
	if a := r.Header.Get("Authorization"); strings.HasPrefix(a, "Bearer ") && eq(strings.TrimPrefix(a, "Bearer ")) {
		return true
	}
	if c, err := r.Cookie(tokenCookie); err == nil && eq(c.Value) {
		return true
	}
	if q := r.URL.Query(); r.Method == http.MethodGet && eq(q.Get("token")) {
		http.SetCookie(w, &http.Cookie{Name: tokenCookie, Value: s.cfg.Token, Path: s.cfg.Prefix + "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		q.Del("token")
		u := *r.URL
		u.RawQuery = q.Encode()
		http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
		return false
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="flowrun console"`)
	http.Error(w, "the console needs its token: open it with ?token=... or send Authorization: Bearer ...", http.StatusUnauthorized)
	return false
}

// checkCSRF: the form's token matches, and a browser that says where the
// request came from says it came from this origin.
func (s *Server) checkCSRF(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	if err := r.ParseForm(); err != nil {
		return false
	}
	t := r.PostForm.Get("csrf")
	return t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(s.csrf)) == 1
}

// loopbackHost reports whether a Host header names a loopback address.
func loopbackHost(host string) bool {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Loopback reports whether a listen address (host:port) is bound to
// loopback only.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	return loopbackHost(host)
}

func (s *Server) project(w http.ResponseWriter, r *http.Request) *Project {
	p := s.byKey[r.PathValue("project")]
	if p == nil {
		s.notFound(w, r, "no project "+r.PathValue("project"))
	}
	return p
}

// projectOf is the project a trigger or stored run of connector and named
// connection ran with, or nil.
func (s *Server) projectOf(connector, connName string) *Project {
	for _, p := range s.cfg.Projects {
		if p.Project.Connector.Name == connector && p.ConnectionName == connName {
			return p
		}
	}
	return nil
}

// runner is a Runner over the project's connection: the same connection
// object its flowrun serve host runs with, so a token refreshed or a
// rate-limit budget spent here is that host's.
func (s *Server) runner(p *Project, trace func(run.TraceEvent)) *run.Runner {
	return &run.Runner{Project: p.Project, Connection: p.Connection, Client: s.cfg.Client, Now: s.cfg.Now, Limits: p.Limits, Trace: trace}
}

func (s *Server) flow(w http.ResponseWriter, r *http.Request) (*Project, *lang.Flow) {
	p := s.project(w, r)
	if p == nil {
		return nil, nil
	}
	f := p.Project.Flow(r.PathValue("flow"))
	if f == nil {
		s.notFound(w, r, "no flow "+r.PathValue("flow"))
		return nil, nil
	}
	return p, f
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request, msg string) {
	s.renderStatus(w, r, http.StatusNotFound, "error", "Not found", map[string]any{"Message": msg})
}

// flowsByType groups a project's flows by type, in the order of lang.FlowTypes.
func flowsByType(p *lang.Project) []flowGroup {
	var out []flowGroup
	for _, t := range lang.FlowTypes {
		var fs []*lang.Flow
		for _, name := range p.Order {
			if f := p.Flows[name]; f.Type == t {
				fs = append(fs, f)
			}
		}
		if len(fs) > 0 {
			out = append(out, flowGroup{Type: string(t), Flows: fs})
		}
	}
	return out
}

type flowGroup struct {
	Type  string
	Flows []*lang.Flow
}

// diagnosticsOf returns the diagnostics of one file.
func diagnosticsOf(ds lang.Diagnostics, file string) lang.Diagnostics {
	var out lang.Diagnostics
	for _, d := range ds {
		if d.Pos.File == file {
			out = append(out, d)
		}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
