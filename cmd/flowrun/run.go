package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
	"github.com/flowrun/flowrun/value"
	"github.com/spf13/cobra"
)

type runOptions struct {
	project    string
	flow       string
	input      string
	connection string
	trace      bool
	traceJSON  string
	timeout    time.Duration
	state      string // record the run in this state directory's history

	projectName string // the connector's name, once loaded
	maxMemory   *int64 // --max-memory, see size.go
}

func newRunCmd(e *env) *cobra.Command {
	o := &runOptions{}
	cmd := &cobra.Command{
		Use:   "run PROJECT FLOW",
		Short: "Run a flow and print its outputs as JSON",
		Long: `run loads and checks PROJECT, runs FLOW with the given inputs and connection, and
prints the outputs as JSON on stdout.

Exit status: 0 success, 1 the flow failed (the error, its flow, step and
path:line:col on stderr), 2 usage or load errors, 130 interrupted.`,
		Example: `  flowrun run connectors/github get_issue --connection conn.yaml --input '{"owner":"o","repo":"r","number":1}'
  flowrun run . create_user --input @user.json --trace
  echo '{"email":"ada@example.com"}' | flowrun run . create_user --input -`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.project, o.flow = args[0], args[1]
			return runRun(e, o)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.input, "input", "i", "", "inputs as JSON, @file.json, or - for stdin")
	f.StringVarP(&o.connection, "connection", "c", "", "connection file (YAML or JSON: params, token)")
	f.BoolVar(&o.trace, "trace", false, "print a line per step on stderr")
	f.StringVar(&o.traceJSON, "trace-json", "", "write every step, with its inputs and outputs, as JSON lines to this file")
	f.DurationVar(&o.timeout, "timeout", 0, "stop the run after this long (e.g. 30s); 0 means no limit")
	f.StringVar(&o.state, "state", "", "record the run, with its steps (redacted), in this state directory's history (flowrun runs)")
	o.maxMemory = maxMemoryFlag(cmd)
	return cmd
}

// readInput reads --input: inline JSON, @file, or - for stdin.
func readInput(e *env, s string) (map[string]any, error) {
	return readInputs(e, s, false)
}

// readInputs is readInput; with lazy, a large array among the inputs is
// kept as its text (value.DecodeJSONLazy), which run.Runner.Run decodes
// item by item when the flow only loops over it, and whole otherwise.
func readInputs(e *env, s string, lazy bool) (map[string]any, error) {
	if s == "" {
		return map[string]any{}, nil
	}
	var data []byte
	var err error
	var release func() // the off-heap text's, see readOffHeap
	src := "--input"
	switch {
	case s == "-":
		src = "stdin"
		in := io.LimitReader(e.stdin, 64<<20)
		var ok bool
		if lazy {
			data, release, ok, err = readOffHeap(in, -1, 64<<20, value.LazyMinBytes)
		}
		if !ok && err == nil {
			data, err = io.ReadAll(in)
		}
	case strings.HasPrefix(s, "@"):
		src = s[1:]
		if lazy {
			data, release = readFileOffHeap(src)
		}
		if release == nil {
			data, err = os.ReadFile(src)
		}
	default:
		data = []byte(s)
	}
	if err != nil {
		return nil, usageErr("reading inputs: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		if release != nil {
			release()
		}
		return map[string]any{}, nil
	}
	var v any
	if lazy {
		v, err = value.DecodeJSONLazy(data, value.LazyMinBytes)
	} else {
		v, err = value.DecodeJSON(data)
	}
	if release != nil && !holdsLazy(v) {
		release() // decoded values never point into the text
	}
	if err != nil {
		return nil, usageErr("inputs from %s are not valid JSON: %v", src, err)
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, usageErr("inputs from %s must be a JSON object of input names to values", src)
	}
	return m, nil
}

// readFileOffHeap reads a large regular file with readOffHeap; nil release
// when it did not (then os.ReadFile reads it, and says what went wrong).
func readFileOffHeap(path string) (data []byte, release func()) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil, nil
	}
	data, release, ok, err := readOffHeap(f, st.Size(), st.Size()+1, value.LazyMinBytes)
	if !ok {
		return nil, nil
	}
	if err != nil || int64(len(data)) > st.Size() { // the file grew while read
		release()
		return nil, nil
	}
	return data, release
}

// holdsLazy reports whether decoded inputs kept some text (value.LazyList).
func holdsLazy(v any) bool {
	m, _ := v.(map[string]any)
	for _, x := range m {
		if _, ok := x.(*value.LazyList); ok {
			return true
		}
	}
	return false
}

func loadConnection(e *env, p *lang.Project, path string) (*connection.Connection, error) {
	if path == "" {
		c := &connection.Connection{Params: map[string]any{}}
		return c, nil
	}
	c, err := connection.Load(path, p.Connector)
	if err != nil {
		var ds lang.Diagnostics
		if errors.As(err, &ds) {
			for _, d := range ds {
				d.Pos.File = relPath(d.Pos.File)
				fmt.Fprintln(e.stderr, d.String())
			}
			return nil, &exitError{code: exitUsage, msg: "the connection file has problems"}
		}
		return nil, &exitError{code: exitUsage, msg: err.Error()}
	}
	return c, nil
}

// tracer writes trace events as text lines and/or JSON lines, redacted.
type tracer struct {
	mu   sync.Mutex
	text io.Writer
	json io.Writer
	conn *connection.Connection
}

func (t *tracer) event(ev run.TraceEvent) {
	ev = run.RedactEvent(t.conn, ev)
	ev.Pos = relPos(ev.Pos)
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.text != nil {
		fmt.Fprintln(t.text, t.conn.Redact(traceText(ev)))
	}
	if t.json != nil {
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(ev); err != nil {
			ev.Input, ev.Output = nil, nil
			buf.Reset()
			_ = enc.Encode(ev)
		}
		_, _ = io.WriteString(t.json, t.conn.Redact(buf.String()))
	}
}

// traceText is one --trace line, written when the step ends (so a block's
// steps come before the block's own line): indentation by call depth and
// block nesting, flow, step, kind, duration, then what the step did.
func traceText(ev run.TraceEvent) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%s %s (%s) %s", strings.Repeat("  ", ev.Depth+ev.Nest), ev.Flow, ev.Step, ev.Kind, ev.Duration.Round(time.Microsecond))
	if ev.Method != "" {
		fmt.Fprintf(&b, " %s %s", ev.Method, ev.URL)
		if ev.Status != 0 {
			fmt.Fprintf(&b, " -> %d", ev.Status)
		}
		if ev.Attempts > 1 {
			fmt.Fprintf(&b, " (%d attempts)", ev.Attempts)
		}
		if ev.Pages > 1 {
			fmt.Fprintf(&b, " (%d pages)", ev.Pages)
		}
	}
	if ev.Message != "" {
		fmt.Fprintf(&b, ": %s", ev.Message)
	}
	if ev.Error != "" {
		fmt.Fprintf(&b, " ERROR %s", firstLine(ev.Error))
	}
	return b.String()
}

// relPos shows a "path:line:col" position relative to the working directory.
func relPos(pos string) string {
	if i := strings.LastIndex(pos, ":"); i > 0 {
		if j := strings.LastIndex(pos[:i], ":"); j > 0 {
			return relPath(pos[:j]) + pos[j:]
		}
	}
	return relPath(pos)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

func runRun(e *env, o *runOptions) error {
	p, err := loadProject(e, o.project)
	if err != nil {
		return err
	}
	if p.Flow(o.flow) == nil {
		return usageErr("project %s has no flow %q%s", o.project, o.flow, hintSuffix(o.flow, p.Order))
	}
	// a run recorded in a state directory keeps its inputs: decode them
	in, err := readInputs(e, o.input, o.state == "")
	if err != nil {
		return err
	}
	o.projectName = p.Connector.Name
	conn, err := loadConnection(e, p, o.connection)
	if err != nil {
		return err
	}
	r := &run.Runner{Project: p, Connection: conn, Limits: run.Limits{MaxMemory: *o.maxMemory}}
	tr := &tracer{conn: conn}
	if o.trace {
		tr.text = e.stderr
	}
	if o.traceJSON != "" {
		f, err := os.OpenFile(o.traceJSON, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return usageErr("--trace-json: %v", err)
		}
		defer f.Close()
		tr.json = f
	}
	if tr.text != nil || tr.json != nil {
		r.Trace = tr.event
	}
	ctx := e.ctx
	if o.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.timeout)
		defer cancel()
	}
	if f := p.Flow(o.flow); f != nil {
		in = lang.TextInputs(f.Inputs, in) // a command line gives "3" for 3
	}
	var rec *trigger.StepRecorder
	if o.state != "" {
		rec = trigger.NewStepRecorder(conn)
		ctx = rec.Context(ctx)
	}
	start := time.Now()
	out, err := r.RunDecoded(ctx, o.flow, in) // in is value.DecodeJSON's (readInput)
	if rec != nil {
		if rerr := recordRun(e, o, conn, rec, in, start, err); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return runFailure(e, conn, err)
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(conn.RedactValue(out)); err != nil { // a secret never reaches the terminal
		return &exitError{code: exitFailed, msg: "outputs cannot be written as JSON: " + err.Error()}
	}
	return nil
}

// recordRun adds a `flowrun run --state` run to the history.
func recordRun(e *env, o *runOptions, conn *connection.Connection, sr *trigger.StepRecorder, in map[string]any, start time.Time, runErr error) error {
	st, err := trigger.Open(o.state)
	if err != nil {
		return &exitError{code: exitUsage, msg: err.Error()}
	}
	defer st.Close()
	rec := &trigger.RunRecord{Project: "", Flow: o.flow, Source: "run", Started: start, Duration: time.Since(start), Status: "ok"}
	var payload *trigger.Payload
	if runErr != nil {
		rec.Status, rec.Error = "error", conn.Redact(runErr.Error())
		if b, err := json.Marshal(conn.RedactValue(in)); err == nil {
			payload = &trigger.Payload{Input: json.RawMessage(conn.Redact(string(b)))}
		}
	}
	sr.Fill(rec)
	rec.Project = o.projectName
	id, err := st.RecordRun(context.WithoutCancel(e.ctx), rec, payload)
	if err != nil {
		fmt.Fprintf(e.stderr, "flowrun: recording the run: %v\n", err)
		return nil
	}
	fmt.Fprintf(e.stderr, "flowrun: recorded as run %d in %s\n", id, o.state)
	return nil
}

// runFailure prints a run error (redacted, paths relative) and picks the
// exit code: 2 for usage problems, 130 when interrupted, else 1.
func runFailure(e *env, conn *connection.Connection, err error) error {
	var ue *run.RequestError
	if errors.As(err, &ue) {
		return &exitError{code: exitUsage, msg: conn.Redact(ue.Error())}
	}
	var re *run.RunError
	if errors.As(err, &re) {
		re.Pos.File = relPath(re.Pos.File)
		for i, c := range re.Calls {
			re.Calls[i] = relCall(c)
		}
	}
	fmt.Fprintln(e.stderr, conn.Redact(err.Error()))
	if errors.Is(err, run.ErrCanceled) && e.ctx.Err() != nil {
		return &exitError{code: exitCanceled}
	}
	return &exitError{code: exitFailed}
}

func relCall(c string) string {
	if i := strings.Index(c, ": flow "); i > 0 {
		pos := c[:i]
		if j := strings.LastIndex(pos, ":"); j > 0 {
			if k := strings.LastIndex(pos[:j], ":"); k > 0 {
				return relPath(pos[:k]) + pos[k:] + c[i:]
			}
		}
	}
	return c
}

func hintSuffix(name string, candidates []string) string {
	if h := value.Suggest(name, candidates); h != "" {
		return " (" + h + ")"
	}
	return ""
}
