package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/console/graph"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/value"
)

var pages = []string{"home", "connector", "flow", "source", "connection", "runs", "run", "triggers", "error"}

func (s *Server) parseTemplates() error {
	funcs := template.FuncMap{
		"json": prettyJSON,
		"dur": func(d time.Duration) string {
			if d < time.Millisecond {
				return d.Round(time.Microsecond).String()
			}
			return d.Round(time.Millisecond).String()
		},
		"when": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"enumText": func(v any) string { return value.Text(v) },
		"defText": func(f *lang.Field) string {
			if !f.HasDefault {
				return ""
			}
			if s, ok := f.Default.(string); ok {
				return s
			}
			b, _ := json.Marshal(f.Default)
			return string(b)
		},
		"isJSON": func(f *lang.Field) bool {
			switch f.Type {
			case "object", "list", "any", "":
				return true
			}
			return false
		},
		"pos": func(p lang.Pos) string { return relTo(p) },
		"args": func(kv ...any) map[string]any {
			m := map[string]any{}
			for i := 0; i+1 < len(kv); i += 2 {
				m[fmt.Sprint(kv[i])] = kv[i+1]
			}
			return m
		},
	}
	s.tmpl = map[string]*template.Template{}
	for _, p := range pages {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html")
		if err != nil {
			return err
		}
		s.tmpl[p] = t
	}
	return nil
}

// relTo shows a position relative to the working directory.
func relTo(p lang.Pos) string {
	if wd, err := os.Getwd(); err == nil {
		p.File = strings.TrimPrefix(p.File, wd+string(os.PathSeparator))
	}
	return p.String()
}

func prettyJSON(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Sprint(v)
	}
	return strings.TrimRight(b.String(), "\n")
}

// page is what every template gets.
type page struct {
	Title    string
	Prefix   string
	CSRF     string
	Projects []*Project
	Data     map[string]any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, name, title string, data map[string]any) {
	s.renderStatus(w, r, http.StatusOK, name, title, data)
}

func (s *Server) renderStatus(w http.ResponseWriter, r *http.Request, status int, name, title string, data map[string]any) {
	var b bytes.Buffer
	err := s.tmpl[name].Execute(&b, page{Title: title, Prefix: s.cfg.Prefix, CSRF: s.csrf, Projects: s.cfg.Projects, Data: data})
	if err != nil {
		http.Error(w, "rendering "+name+": "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	named := false
	for _, p := range s.cfg.Projects {
		named = named || p.ConnectionName != ""
	}
	s.render(w, r, "home", "Connectors", map[string]any{"Runs": s.recentRuns(10), "Named": named})
}

func (s *Server) connector(w http.ResponseWriter, r *http.Request) {
	p := s.project(w, r)
	if p == nil {
		return
	}
	s.render(w, r, "connector", p.Project.Connector.Title, map[string]any{
		"P": p, "Groups": flowsByType(p.Project), "Diags": p.Diagnostics,
	})
}

// svgFor draws a flow for a page, its nodes linking to their source lines
// and called flows.
func (s *Server) svgFor(p *Project, f *lang.Flow, status map[string]string) template.HTML {
	g := graph.Build(f)
	base := s.cfg.Prefix + "/c/" + url.PathEscape(p.Name) + "/flows/"
	var b bytes.Buffer
	_ = graph.SVG(&b, g, graph.Options{Status: status, Link: func(n *graph.Node) string {
		if n.Call != "" {
			return base + url.PathEscape(n.Call)
		}
		if n.Path != "" {
			return fmt.Sprintf("%s%s/source#L%d", base, url.PathEscape(f.Name), n.Pos.Line)
		}
		return ""
	}})
	return template.HTML(b.String()) // built by graph.SVG, which escapes every text
}

func (s *Server) flowPage(w http.ResponseWriter, r *http.Request) {
	p, f := s.flow(w, r)
	if f == nil {
		return
	}
	s.render(w, r, "flow", f.Name, map[string]any{
		"P": p, "F": f, "SVG": s.svgFor(p, f, nil), "Diags": diagnosticsOf(p.Diagnostics, f.File),
		"Runnable": len(p.Diagnostics) == 0 && f.Type == lang.Action,
		"Runs":     s.runsOf(p.Name, f.Name, 10),
	})
}

func (s *Server) graphFile(w http.ResponseWriter, r *http.Request) {
	_, f := s.flow(w, r)
	if f == nil {
		return
	}
	format := r.PathValue("format")
	ctype := map[string]string{"svg": "image/svg+xml", "mermaid": "text/plain; charset=utf-8", "dot": "text/vnd.graphviz; charset=utf-8"}[format]
	if ctype == "" {
		http.Error(w, "format is svg, mermaid or dot", http.StatusNotFound)
		return
	}
	g := graph.Build(f)
	for _, n := range g.Nodes {
		n.Pos.File = strings.TrimPrefix(relTo(lang.Pos{File: n.Pos.File}), "")
	}
	var b bytes.Buffer
	if err := graph.Write(&b, g, format, graph.Options{}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", ctype)
	_, _ = w.Write(b.Bytes())
}

type sourceLine struct {
	N    int
	Text string
	Diag string
}

func (s *Server) sourcePage(w http.ResponseWriter, r *http.Request) {
	p, f := s.flow(w, r)
	if f == nil {
		return
	}
	data, err := os.ReadFile(f.File)
	if err != nil {
		s.notFound(w, r, err.Error())
		return
	}
	diags := map[int][]string{}
	for _, d := range diagnosticsOf(p.Diagnostics, f.File) {
		diags[d.Pos.Line] = append(diags[d.Pos.Line], d.Message)
	}
	var lines []sourceLine
	for i, l := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		lines = append(lines, sourceLine{N: i + 1, Text: l, Diag: strings.Join(diags[i+1], "; ")})
	}
	s.render(w, r, "source", f.Name+" source", map[string]any{"P": p, "F": f, "File": relTo(lang.Pos{File: f.File}), "Lines": lines})
}

// paramView is a connection parameter as shown: never a secret's value.
type paramView struct {
	Name, Type, Description, Value string
	Secret, Set                    bool
}

func (s *Server) connectionPage(w http.ResponseWriter, r *http.Request) {
	p := s.project(w, r)
	if p == nil {
		return
	}
	var params []paramView
	for _, f := range p.Project.Connector.Params {
		v, ok := p.Connection.Params[f.Name]
		pv := paramView{Name: f.Name, Type: f.Type, Description: f.Description, Secret: f.Secret, Set: ok && v != nil}
		if !f.Secret && ok {
			pv.Value = p.Connection.Redact(value.Text(v))
		}
		params = append(params, pv)
	}
	var authType string
	if a := p.Project.Connector.Auth; a != nil {
		authType = a.Type
	}
	data := map[string]any{
		"P": p, "Params": params, "Auth": authType, "File": p.Connection.File,
		"Token": p.Connection.Token != nil, "Revoked": p.Connection.Revoked,
		"Login": s.takeLogin(p), "OAuth": run.CanOAuthLogin(p.Project),
		"AuthPing": firstOfType(p.Project, lang.AuthPing), "Runs": s.runsOf(p.Name, "", 5),
		"Revoke": firstOfType(p.Project, lang.Revoke),
	}
	if t := p.Connection.Token; t != nil && !t.Expiry.IsZero() {
		data["Expiry"] = t.Expiry
	}
	if origin := s.authorizeOrigin(p); origin != "" {
		data["CanLogin"] = true
		data["RedirectURL"] = s.redirectURL(r)
		w.Header().Set("Content-Security-Policy", csp(origin))
	}
	s.render(w, r, "connection", p.Project.Connector.Title+" connection", data)
}

func firstOfType(p *lang.Project, t lang.FlowType) string {
	for _, n := range p.Order {
		if p.Flows[n].Type == t {
			return n
		}
	}
	return ""
}

// testConnection runs the project's authping flow.
func (s *Server) testConnection(w http.ResponseWriter, r *http.Request) {
	p := s.project(w, r)
	if p == nil {
		return
	}
	name := firstOfType(p.Project, lang.AuthPing)
	if name == "" || len(p.Diagnostics) > 0 {
		http.Error(w, "this project has no authping flow to run", http.StatusBadRequest)
		return
	}
	run := s.start(r.Context(), p, p.Project.Flow(name), map[string]any{})
	http.Redirect(w, r, s.cfg.Prefix+"/runs/"+run.ID, http.StatusSeeOther)
}

// revokeConnection runs the project's revoke flow and, when it succeeds,
// marks the connection file revoked (as `flowrun connection revoke`).
func (s *Server) revokeConnection(w http.ResponseWriter, r *http.Request) {
	p := s.project(w, r)
	if p == nil {
		return
	}
	name := firstOfType(p.Project, lang.Revoke)
	if name == "" || len(p.Diagnostics) > 0 || p.Connection.File == "" {
		http.Error(w, "revoking needs a revoke flow and a connection file", http.StatusBadRequest)
		return
	}
	rn := s.newRun(p, p.Project.Flow(name), map[string]any{})
	runner := s.runner(p, rn.trace)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), time.Minute)
	defer cancel()
	err := runner.Revoke(ctx)
	if err == nil {
		if err = p.Connection.MarkRevoked(s.cfg.Now()); err != nil {
			err = fmt.Errorf("the token was revoked but the connection file could not be updated: %w", err)
		}
	}
	rn.finish(s.cfg.Now(), map[string]any{"revoked": err == nil}, err, p.Connection)
	s.keep(rn)
	http.Redirect(w, r, s.cfg.Prefix+"/runs/"+rn.ID, http.StatusSeeOther)
}

// pauseTrigger pauses a trigger by hand (code manual) with the reason
// given, until it is resumed.
func (s *Server) pauseTrigger(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Store == nil {
		http.Error(w, "no state directory", http.StatusBadRequest)
		return
	}
	id := r.PathValue("id")
	reason := strings.TrimSpace(r.PostForm.Get("reason"))
	if len(reason) > 500 {
		reason = strings.ToValidUTF8(reason[:500], "") // not a rune cut in two
	}
	if reason == "" {
		reason = "paused from the console"
	}
	pause := s.cfg.Pause
	if pause == nil {
		pause = func(ctx context.Context, id, reason string) error {
			return s.cfg.Store.Pause(ctx, id, reason, s.cfg.Now())
		}
	}
	if err := pause(r.Context(), id, reason); err != nil {
		s.triggerError(w, r, id, "pause", err)
		return
	}
	http.Redirect(w, r, s.cfg.Prefix+"/triggers", http.StatusSeeOther)
}

// resumeTrigger resumes a paused or delayed trigger (as `flowrun trigger
// resume`).
func (s *Server) resumeTrigger(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Store == nil {
		http.Error(w, "no state directory", http.StatusBadRequest)
		return
	}
	resume := s.cfg.Resume
	if resume == nil {
		resume = s.cfg.Store.Resume
	}
	if _, err := resume(r.Context(), r.PathValue("id")); err != nil {
		s.triggerError(w, r, r.PathValue("id"), "resume", err)
		return
	}
	http.Redirect(w, r, s.cfg.Prefix+"/triggers", http.StatusSeeOther)
}

// triggerError shows the triggers page again with what went wrong beside
// the trigger (400, or 404 for a trigger that is not on).
func (s *Server) triggerError(w http.ResponseWriter, r *http.Request, id, action string, err error) {
	code := http.StatusBadRequest
	msg := err.Error()
	if errors.Is(err, trigger.ErrNotFound) {
		code = http.StatusNotFound
		msg = "no trigger " + id + " is on"
	}
	s.renderTriggers(w, r, code, &formError{ID: id, Action: action, Message: msg, Cursor: r.PostForm.Get("cursor")})
}

// runFlow runs an action flow with the inputs of its form.
func (s *Server) runFlow(w http.ResponseWriter, r *http.Request) {
	p, f := s.flow(w, r)
	if f == nil {
		return
	}
	if len(p.Diagnostics) > 0 || f.Type != lang.Action {
		http.Error(w, "only the action flows of a project without problems can be run", http.StatusBadRequest)
		return
	}
	in := map[string]any{}
	var bad []string
	for _, fd := range f.Inputs {
		raw := strings.TrimSpace(r.PostForm.Get("in." + fd.Name))
		if raw == "" {
			continue
		}
		switch fd.Type {
		case "object", "list", "any", "":
			v, err := value.DecodeJSON([]byte(raw))
			if err != nil {
				bad = append(bad, fmt.Sprintf("%s: not valid JSON: %v", fd.Name, err))
				continue
			}
			in[fd.Name] = v
		default:
			in[fd.Name] = raw
		}
	}
	in = lang.TextInputs(f.Inputs, in)
	if len(bad) > 0 {
		rn := s.newRun(p, f, in)
		rn.finish(s.cfg.Now(), nil, fmt.Errorf("the form's inputs: %s", strings.Join(bad, "; ")), p.Connection)
		s.keep(rn)
		http.Redirect(w, r, s.cfg.Prefix+"/runs/"+rn.ID, http.StatusSeeOther)
		return
	}
	rn := s.start(r.Context(), p, f, in)
	http.Redirect(w, r, s.cfg.Prefix+"/runs/"+rn.ID, http.StatusSeeOther)
}

// start runs a flow to its end and keeps the run.
func (s *Server) start(ctx context.Context, p *Project, f *lang.Flow, in map[string]any) *Run {
	rn := s.newRun(p, f, in)
	runner := s.runner(p, rn.trace)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Minute)
	defer cancel()
	out, err := runner.Run(ctx, f.Name, in)
	rn.finish(s.cfg.Now(), out, err, p.Connection)
	s.keep(rn)
	return rn
}

func (s *Server) runsPage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	var list []*Run
	if q.Get("trigger") == "" {
		for _, rn := range s.recentRuns(0) {
			if (q.Get("flow") == "" || q.Get("flow") == rn.Flow) && (q.Get("failed") == "" || rn.Status == "failed") {
				list = append(list, rn)
			}
		}
	}
	data := map[string]any{"Flow": q.Get("flow"), "Trigger": q.Get("trigger"), "Failed": q.Get("failed") != "", "HasStore": s.cfg.Store != nil}
	stored, err := s.storeRuns(r.Context(), q, 100)
	if err != nil {
		data["Error"] = err.Error()
	}
	data["Runs"] = mergeRuns(list, stored)
	s.render(w, r, "runs", "Runs", data)
}

func (s *Server) runPage(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	rn := s.getRun(id)
	if rn == nil {
		var err error
		if rn, err = s.storeRun(r.Context(), id); err != nil && !errors.Is(err, trigger.ErrRunNotFound) {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	if rn == nil {
		s.notFound(w, r, "no run "+id)
		return
	}
	data := map[string]any{"Run": rn, "CanReplay": s.cfg.Replay != nil && rn.Replayable && rn.Status == "failed" && strings.HasPrefix(id, storePrefix)}
	p := s.projectOf(rn.Project, rn.Connection)
	if p == nil {
		p = s.byKey[rn.Project]
	}
	if p != nil {
		if f := p.Project.Flow(rn.Flow); f != nil {
			data["SVG"] = s.svgFor(p, f, rn.status(graph.Build(f)))
		}
	}
	s.render(w, r, "run", "Run "+rn.ID, data)
}

// replayRun replays a failed stored run (flowrun runs replay) and shows
// the new run.
func (s *Server) replayRun(w http.ResponseWriter, r *http.Request) {
	n, ok := strings.CutPrefix(r.PathValue("id"), storePrefix)
	id, err := strconv.ParseInt(n, 10, 64)
	if s.cfg.Replay == nil || !ok || err != nil {
		http.Error(w, "only stored runs can be replayed, under flowrun serve --console", http.StatusBadRequest)
		return
	}
	newID, _, err := s.cfg.Replay(r.Context(), id)
	if err != nil && newID == 0 {
		http.Error(w, "replay: "+err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, s.cfg.Prefix+"/runs/"+storePrefix+strconv.FormatInt(newID, 10), http.StatusSeeOther)
}

// resetTrigger sets a poll trigger's cursor (as `flowrun trigger reset
// [--cursor JSON] [--forget-dedupe]`): to the JSON of the form's cursor
// field, or to none when it is empty.
func (s *Server) resetTrigger(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Store == nil {
		http.Error(w, "no state directory", http.StatusBadRequest)
		return
	}
	id := r.PathValue("id")
	fail := func(err error) { s.triggerError(w, r, id, "reset", err) }
	var cursor json.RawMessage
	if raw := strings.TrimSpace(r.PostForm.Get("cursor")); raw != "" {
		if err := checkJSON(raw); err != nil {
			fail(fmt.Errorf("the cursor is not valid JSON: %v; nothing was changed", err))
			return
		}
		cursor = json.RawMessage(raw)
	}
	t, err := s.cfg.Store.GetTrigger(r.Context(), id)
	if err != nil {
		fail(err)
		return
	}
	if t.Kind != "poll" {
		fail(fmt.Errorf("trigger %s is a %s trigger; only a poll trigger has a cursor", id, t.Kind))
		return
	}
	if err := s.cfg.Store.ResetTrigger(r.Context(), id, cursor, r.PostForm.Get("forget_dedupe") != ""); err != nil {
		fail(err)
		return
	}
	http.Redirect(w, r, s.cfg.Prefix+"/triggers", http.StatusSeeOther)
}

// checkJSON says what is wrong with a JSON text, and where.
func checkJSON(raw string) error {
	var v any
	dec := json.NewDecoder(strings.NewReader(raw))
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		return fmt.Errorf("more than one value (at byte %d)", dec.InputOffset()+1)
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return fmt.Errorf("%v (at byte %d)", err, se.Offset)
	}
	if err != nil {
		return fmt.Errorf("%v", err)
	}
	return nil
}

// formError is what went wrong with a trigger's form, shown beside it.
type formError struct {
	ID, Action, Message, Cursor string
}

// triggerRow is a trigger as the console shows it: never its secret.
type triggerRow struct {
	ID, Project, Connection, Flow, Kind, State, Schedule, LastError string
	LastRunAt, CreatedAt, Since                                     time.Time
	Delivered                                                       int64
	CursorSize                                                      int
	Held                                                            bool   // paused or delayed: can be resumed
	Paused                                                          bool   // paused until resumed
	Code, Reason, Meaning                                           string // what holds it (language 1.1 codes, or manual)
	Err                                                             *formError
}

func (s *Server) triggersPage(w http.ResponseWriter, r *http.Request) {
	s.renderTriggers(w, r, http.StatusOK, nil)
}

// holdReasons says what each code that holds a trigger means.
var holdReasons = map[string]string{
	lang.CodeAuthExpired: "the service refused the credentials: log in again (or fix the connection), then resume",
	lang.CodeConfig:      "a connection or parameter problem: fix the connection, then resume",
	trigger.HoldManual:   "paused by hand",
	lang.CodeThrottled:   "the service asked to wait",
	lang.CodeTransient:   "the service failed: polls back off",
}

func (s *Server) renderTriggers(w http.ResponseWriter, r *http.Request, status int, fe *formError) {
	data := map[string]any{"HasStore": s.cfg.Store != nil, "FormError": fe}
	if s.cfg.Store != nil {
		ts, err := s.cfg.Store.ListTriggers(r.Context())
		if err != nil {
			data["Error"] = err.Error()
		}
		holds, _ := s.cfg.Store.Holds(r.Context())
		var rows []triggerRow
		for _, t := range ts {
			row := triggerRow{ID: t.ID, Project: t.Project, Flow: t.Flow, Kind: t.Kind, State: "on",
				LastError: t.LastError, LastRunAt: t.LastRunAt, CreatedAt: t.CreatedAt, Delivered: t.Delivered, CursorSize: len(t.Cursor)}
			row.Connection = t.Connection
			var conn *connection.Connection
			p := s.projectOf(t.Project, t.Connection)
			if p == nil {
				for _, q := range s.cfg.Projects {
					if q.Project.Connector.Name == t.Project {
						p = q // a trigger of the project with a connection not shown: its schedule
						break
					}
				}
			}
			if p != nil {
				if p.ConnectionName == t.Connection {
					conn = p.Connection
				}
				if f := p.Project.Flow(t.Flow); f != nil && f.Schedule > 0 {
					row.Schedule = "every " + f.Schedule.String()
				}
			}
			if hd, ok := holds[t.ID]; ok {
				row.Held, row.Paused = true, hd.Paused()
				row.State, row.Code, row.Since = hd.String(), hd.Code, hd.Since
				row.Reason, row.Meaning = hd.Reason, holdReasons[hd.Code]
				if conn != nil {
					row.Reason = conn.Redact(row.Reason) // stored redacted; again with what the console knows
				}
			}
			if conn != nil {
				row.LastError = conn.Redact(row.LastError)
			}
			if fe != nil && fe.ID == t.ID {
				row.Err = fe
			}
			rows = append(rows, row)
		}
		data["Triggers"] = rows
	}
	s.renderStatus(w, r, status, "triggers", "Triggers", data)
}
