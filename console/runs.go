package console

import (
	"fmt"
	"sync"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/console/graph"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
)

// Run is one run started from the console, kept in memory: its inputs,
// outputs, error and every step's trace event, all redacted.
type Run struct {
	ID       string
	Project  string
	Flow     string
	Start    time.Time
	Duration time.Duration
	Status   string // running, ok or failed
	Error    string
	Code     string
	Inputs   any
	Outputs  any
	Steps    []run.TraceEvent
	// from a state store's history
	Trigger      string
	Connection   string // the named connection the run used ("" for none, or --connection FILE)
	Source       string // webhook, poll, run, replay; "console" for runs started here
	Events       int
	StepsDropped int
	Replayable   bool

	mu   sync.Mutex
	conn *connection.Connection
}

func (s *Server) newRun(p *Project, f *lang.Flow, in map[string]any) *Run {
	s.mu.Lock()
	s.seq++
	id := fmt.Sprintf("%d", s.seq)
	s.mu.Unlock()
	return &Run{ID: id, Project: p.Name, Connection: p.ConnectionName, Flow: f.Name, Start: s.cfg.Now(), Status: "running", Source: "console",
		Inputs: p.Connection.RedactValue(in), conn: p.Connection}
}

func (rn *Run) trace(ev run.TraceEvent) {
	ev = run.RedactEvent(rn.conn, ev)
	ev.Error = rn.conn.Redact(ev.Error)
	ev.Message = rn.conn.Redact(ev.Message)
	ev.URL = rn.conn.Redact(ev.URL)
	rn.mu.Lock()
	rn.Steps = append(rn.Steps, ev)
	rn.mu.Unlock()
}

func (rn *Run) finish(now time.Time, out map[string]any, err error, conn *connection.Connection) {
	rn.mu.Lock()
	defer rn.mu.Unlock()
	rn.Duration = now.Sub(rn.Start)
	if err != nil {
		rn.Status = "failed"
		rn.Error = conn.Redact(err.Error())
		rn.Code = run.ErrorCode(err)
		return
	}
	rn.Status = "ok"
	rn.Outputs = conn.RedactValue(out)
}

// status marks the diagram's nodes with the outcome of the run's steps in
// the flow itself (not in the flows it calls): failed wins over ok.
func (rn *Run) status(g *graph.Graph) map[string]string {
	byPos := map[string]string{}
	for _, n := range g.Steps() {
		byPos[n.Pos.String()] = n.ID
	}
	out := map[string]string{}
	rn.mu.Lock()
	defer rn.mu.Unlock()
	for _, ev := range rn.Steps {
		if ev.Depth != 0 || ev.Kind == "log" && ev.Step == "" {
			continue
		}
		id, ok := byPos[ev.Pos]
		if !ok {
			continue
		}
		if ev.Error != "" {
			out[id] = "failed"
		} else if out[id] == "" {
			out[id] = "ok"
		}
	}
	return out
}

func (s *Server) keep(rn *Run) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.runs = append(s.runs, rn)
	if len(s.runs) > s.cfg.MaxRuns {
		s.runs = s.runs[len(s.runs)-s.cfg.MaxRuns:]
	}
}

func (s *Server) getRun(id string) *Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rn := range s.runs {
		if rn.ID == id {
			return rn
		}
	}
	return nil
}

// recentRuns returns up to n runs (0: all), newest first.
func (s *Server) recentRuns(n int) []*Run {
	return s.runsOf("", "", n)
}

func (s *Server) runsOf(project, flow string, n int) []*Run {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*Run
	for i := len(s.runs) - 1; i >= 0; i-- {
		rn := s.runs[i]
		if (project == "" || rn.Project == project) && (flow == "" || rn.Flow == flow) {
			out = append(out, rn)
			if n > 0 && len(out) == n {
				break
			}
		}
	}
	return out
}
