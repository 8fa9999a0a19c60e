package interpreter

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits bound what one run may do, so a hostile or buggy flow fails cleanly.
type Limits struct {
	MaxDepth        int   // nested calls (default 32)
	MaxSteps        int64 // steps executed in one run (default 50,000,000)
	MaxLoopItems    int   // items of one for_each (default 10,000,000)
	MaxResponseBody int64 // bytes of one HTTP response body (default 10 MiB)
	MaxConcurrency  int   // upper bound on for_each concurrency (default 64)
}

func (l Limits) withDefaults() Limits {
	if l.MaxDepth <= 0 {
		l.MaxDepth = 32
	}
	if l.MaxSteps <= 0 {
		l.MaxSteps = 50_000_000
	}
	if l.MaxLoopItems <= 0 {
		l.MaxLoopItems = 10_000_000
	}
	if l.MaxResponseBody <= 0 {
		l.MaxResponseBody = 10 << 20
	}
	if l.MaxConcurrency <= 0 {
		l.MaxConcurrency = 64
	}
	return l
}

// Runner runs the flows of one loaded project for one connection. A Runner is
// safe for concurrent runs.
type Runner struct {
	Project    *Project
	Connection *Connection
	Client     *http.Client // default: a client with the standard transport
	Limits     Limits
	Trace      func(TraceEvent) // optional; called for every step (and log line)
	Sleep      func(ctx context.Context, d time.Duration) error
	Now        func() time.Time

	authOnce sync.Once
	auth     *authState
}

// TraceEvent describes one executed step.
type TraceEvent struct {
	RunID    string        `json:"run_id"`
	Flow     string        `json:"flow"`
	Step     string        `json:"step"`
	Kind     string        `json:"kind"`
	Pos      string        `json:"pos"`
	Depth    int           `json:"depth"`
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Method   string        `json:"method,omitempty"`
	URL      string        `json:"url,omitempty"`
	Status   int           `json:"status,omitempty"`
	Attempts int           `json:"attempts,omitempty"`
	Message  string        `json:"message,omitempty"` // log lines, skips
	Error    string        `json:"error,omitempty"`
	Input    any           `json:"input,omitempty"`
	Output   any           `json:"output,omitempty"`
}

// RunError is a flow that failed: where, why, and through which calls.
type RunError struct {
	Pos     Pos
	Flow    string
	Step    string
	Message string
	Code    any
	Status  int
	Body    any
	Details any
	Calls   []string // the call chain, innermost last: "flows/a.yaml:12:5: flow \"a\" calls \"b\""
	cause   error
}

func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: flow %q, step %q: %s", e.Pos, e.Flow, e.Step, e.Message)
	for i := len(e.Calls) - 1; i >= 0; i-- {
		b.WriteString("\n\tcalled from " + e.Calls[i])
	}
	return b.String()
}

func (e *RunError) Unwrap() error { return e.cause }

// Object is the error as flows see it in catch: {message, code, status, body, step, flow}.
func (e *RunError) Object() map[string]any {
	return map[string]any{"message": e.Message, "code": e.Code, "status": e.Status, "body": e.Body,
		"step": e.Step, "flow": e.Flow, "details": e.Details}
}

// ErrCanceled reports a run stopped by its context (Ctrl-C or --timeout).
var ErrCanceled = errors.New("run canceled")

type control uint8

const (
	ctlNext control = iota
	ctlReturn
	ctlContinue // continue_if was false
)

// run is the state shared by every frame of one run.
type run struct {
	r       *Runner
	ctx     context.Context
	id      string
	steps   atomic.Int64
	limits  Limits
	baseURL string
	baseErr error
	once    sync.Once
	conn    map[string]any // the connection as expressions see it
	conEnv  map[string]any
}

// frame is one flow invocation.
type frame struct {
	run   *run
	flow  *Flow
	depth int
	calls []string
	ev    evaluator
	vars  map[string]any
	steps map[string]any
	ret   any
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (r *Runner) newRun(ctx context.Context) *run {
	return &run{r: r, ctx: ctx, id: newRunID(), limits: r.Limits.withDefaults(),
		conn: r.Connection.env(), conEnv: r.connectorEnv()}
}

// Run runs an action or helper flow (or any flow's main steps) with inputs
// and returns its outputs.
func (r *Runner) Run(ctx context.Context, flowName string, inputs map[string]any) (map[string]any, error) {
	return r.run(ctx, flowName, inputs, false)
}

// RunCLI is Run with inputs given on the command line: strings convert to
// declared number, integer and boolean inputs.
func (r *Runner) RunCLI(ctx context.Context, flowName string, inputs map[string]any) (map[string]any, error) {
	return r.run(ctx, flowName, inputs, true)
}

func (r *Runner) run(ctx context.Context, flowName string, inputs map[string]any, fromCLI bool) (map[string]any, error) {
	f := r.Project.Flow(flowName)
	if f == nil {
		return nil, &UsageError{Msg: fmt.Sprintf("no flow named %q", flowName), Hint: suggest(flowName, r.Project.Order)}
	}
	if f.Type == "webhook" {
		return nil, &UsageError{Msg: fmt.Sprintf("flow %q is a webhook flow: it runs on deliveries (flowrun trigger on / flowrun serve)", flowName)}
	}
	if err := r.checkConnection(); err != nil {
		return nil, err
	}
	in, err := coerceFields(f.Inputs, inputs, "input", fromCLI)
	if err != nil {
		return nil, &UsageError{Msg: fmt.Sprintf("flow %q: %v", flowName, err)}
	}
	ctx, cancel := r.flowTimeout(ctx, f)
	defer cancel()
	ru := r.newRun(ctx)
	extra := map[string]any{}
	if f.Type == "poll" {
		extra["cursor"] = nil
	}
	return ru.runFlow(f, f.Steps, in, extra, 0, nil)
}

func (r *Runner) flowTimeout(ctx context.Context, f *Flow) (context.Context, context.CancelFunc) {
	if f.Timeout > 0 {
		return context.WithTimeout(ctx, f.Timeout)
	}
	return context.WithCancel(ctx)
}

// Section runs one section of a flow (a webhook's register, deregister or
// event; a poll's steps) with extra names in scope, and returns what it returned.
func (r *Runner) Section(ctx context.Context, flowName, section string, inputs map[string]any, extra map[string]any) (map[string]any, error) {
	f := r.Project.Flow(flowName)
	if f == nil {
		return nil, &UsageError{Msg: fmt.Sprintf("no flow named %q", flowName), Hint: suggest(flowName, r.Project.Order)}
	}
	if err := r.checkConnection(); err != nil {
		return nil, err
	}
	var steps []Step
	switch section {
	case "register":
		steps = f.Register
	case "deregister":
		steps = f.Deregister
	case "event":
		steps = f.Event
	default:
		steps = f.Steps
	}
	in, err := coerceFields(f.Inputs, inputs, "input", false)
	if err != nil {
		return nil, &UsageError{Msg: fmt.Sprintf("flow %q: %v", flowName, err)}
	}
	ctx, cancel := r.flowTimeout(ctx, f)
	defer cancel()
	ru := r.newRun(ctx)
	return ru.runFlow(f, steps, in, extra, 0, nil)
}

// EvalDedupe evaluates a poll flow's dedupe key for one event.
func (r *Runner) EvalDedupe(f *Flow, event any, inputs map[string]any) (string, error) {
	if f.Dedupe == nil {
		return "", nil
	}
	ev := evaluator{env: map[string]any{"event": event, "inputs": inputs}}
	v, err := ev.eval(f.Dedupe)
	if err != nil {
		return "", err
	}
	return toText(v), nil
}

// EvalVerifySecret evaluates a webhook flow's verify.secret.
func (r *Runner) EvalVerifySecret(f *Flow, registration any, webhook map[string]any, inputs map[string]any) (string, error) {
	if f.Verify == nil || f.Verify.Secret == nil {
		return "", nil
	}
	ev := evaluator{env: map[string]any{"registration": registration, "webhook": webhook, "inputs": inputs,
		"connection": r.Connection.env()}}
	v, err := ev.eval(f.Verify.Secret)
	if err != nil {
		return "", err
	}
	return toText(v), nil
}

// UsageError is a problem with how flowrun was invoked (exit code 2).
type UsageError struct {
	Msg  string
	Hint string
}

func (e *UsageError) Error() string {
	if e.Hint != "" {
		return e.Msg + " (hint: " + e.Hint + ")"
	}
	return e.Msg
}

func (r *Runner) checkConnection() error {
	if r.Connection == nil {
		r.Connection = &Connection{Params: map[string]any{}}
	}
	if r.Connection.Revoked {
		return &UsageError{Msg: fmt.Sprintf("connection %s was revoked", r.Connection.File), Hint: "create a new connection (flowrun connection login) or remove `revoked` from the file"}
	}
	return nil
}

func (ru *run) runFlow(f *Flow, steps []Step, inputs map[string]any, extra map[string]any, depth int, calls []string) (map[string]any, error) {
	fr := &frame{run: ru, flow: f, depth: depth, calls: calls, vars: map[string]any{}, steps: map[string]any{}}
	env := make(map[string]any, 8+len(extra))
	env["inputs"] = inputs
	env["vars"] = fr.vars
	env["steps"] = fr.steps
	env["connection"] = ru.conn
	env["connector"] = ru.conEnv
	env["flow"] = map[string]any{"name": f.Name, "run_id": ru.id, "type": f.Type}
	for k, v := range extra {
		env[k] = v
	}
	fr.ev.env = env
	ctl, err := fr.execSteps(steps)
	if err != nil {
		return nil, err
	}
	if ctl != ctlReturn || fr.ret == nil {
		return map[string]any{}, nil
	}
	out, ok := fr.ret.(map[string]any)
	if !ok {
		return nil, fr.errorf(f.Pos, "", "return: expected an object of outputs, got %s", typeName(fr.ret))
	}
	return out, nil
}

func (r *Runner) connectorEnv() map[string]any {
	c := r.Project.Connector
	return map[string]any{"name": c.Name, "title": c.Title, "version": c.Version}
}

func (fr *frame) errorf(p Pos, step string, format string, args ...any) *RunError {
	return &RunError{Pos: p, Flow: fr.flow.Name, Step: step, Message: fmt.Sprintf(format, args...), Calls: fr.calls}
}

// wrap turns any error raised by a step into a *RunError positioned at it.
func (fr *frame) wrap(st Step, err error) error {
	var re *RunError
	if errors.As(err, &re) {
		return err
	}
	if errors.Is(err, ErrCanceled) {
		return err
	}
	b := st.Base()
	e := &RunError{Pos: b.Pos, Flow: fr.flow.Name, Step: b.Label(), Message: err.Error(), Calls: fr.calls, cause: err}
	var he *HTTPError
	if errors.As(err, &he) {
		e.Status, e.Body, e.Code = he.Status, he.Body, he.Status
	}
	var ee *exprRunError
	if errors.As(err, &ee) {
		e.Pos = ee.expr.Pos
	}
	return e
}

func (fr *frame) execSteps(steps []Step) (control, error) {
	for _, st := range steps {
		ctl, err := fr.exec(st)
		if err != nil || ctl != ctlNext {
			return ctl, err
		}
	}
	return ctlNext, nil
}

func (fr *frame) canceled() error {
	if err := fr.run.ctx.Err(); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("%w: timed out", ErrCanceled)
		}
		return ErrCanceled
	}
	return nil
}

func (fr *frame) exec(st Step) (control, error) {
	ru := fr.run
	if n := ru.steps.Add(1); n > ru.limits.MaxSteps {
		return ctlNext, fr.wrap(st, fmt.Errorf("run exceeded %d steps (limit)", ru.limits.MaxSteps))
	}
	if err := fr.canceled(); err != nil {
		return ctlNext, err
	}
	var ev *TraceEvent
	if ru.r.Trace != nil {
		b := st.Base()
		ev = &TraceEvent{RunID: ru.id, Flow: fr.flow.Name, Step: b.Label(), Kind: b.Kind, Pos: b.Pos.String(), Depth: fr.depth, Start: time.Now()}
	}
	ctl, result, err := fr.execKind(st, ev)
	if err != nil {
		err = fr.wrap(st, err)
	} else if id := st.Base().ID; id != "" {
		fr.steps[id] = result
	}
	if ev != nil {
		ev.Duration = time.Since(ev.Start)
		if err != nil {
			ev.Error = err.Error()
		}
		if ev.Output == nil && result != nil {
			ev.Output = result
		}
		ru.r.Trace(*ev)
	}
	return ctl, err
}

func (fr *frame) execKind(st Step, ev *TraceEvent) (control, any, error) {
	switch s := st.(type) {
	case *SetStep:
		var out map[string]any
		if s.ID != "" || ev != nil {
			out = make(map[string]any, len(s.Vars))
		}
		for _, nv := range s.Vars {
			v, err := fr.ev.eval(nv.Value)
			if err != nil {
				return ctlNext, nil, err
			}
			fr.vars[nv.Name] = v
			if out != nil {
				out[nv.Name] = v
			}
		}
		return ctlNext, out, nil
	case *HTTPStep:
		res, err := fr.execHTTP(s, ev)
		return ctlNext, res, err
	case *IfStep:
		ok, err := fr.cond(s.Cond)
		if err != nil {
			return ctlNext, nil, err
		}
		if ok {
			ctl, err := fr.execSteps(s.Then)
			return ctl, nil, err
		}
		ctl, err := fr.execSteps(s.Else)
		return ctl, nil, err
	case *SwitchStep:
		for _, c := range s.Cases {
			ok, err := fr.cond(c.When)
			if err != nil {
				return ctlNext, nil, err
			}
			if ok {
				ctl, err := fr.execSteps(c.Steps)
				return ctl, nil, err
			}
		}
		ctl, err := fr.execSteps(s.Default)
		return ctl, nil, err
	case *ForEachStep:
		return fr.execForEach(s)
	case *CallStep:
		out, err := fr.execCall(s, ev)
		return ctlNext, out, err
	case *ReturnStep:
		v, err := fr.ev.eval(s.Value)
		if err != nil {
			return ctlNext, nil, err
		}
		v = normalize(v)
		if err := fr.checkReturn(s, v); err != nil {
			return ctlNext, nil, err
		}
		fr.ret = v
		return ctlReturn, v, nil
	case *FailStep:
		return ctlNext, nil, fr.execFail(s)
	case *TryStep:
		return fr.execTry(s)
	case *ContinueIfStep:
		ok, err := fr.cond(s.Cond)
		if err != nil {
			return ctlNext, nil, err
		}
		if ok {
			return ctlNext, nil, nil
		}
		if ev != nil && s.Message != nil {
			m, _ := fr.ev.eval(s.Message)
			ev.Message = toText(m)
		}
		return ctlContinue, nil, nil
	case *LogStep:
		m, err := fr.ev.eval(s.Message)
		if err != nil {
			return ctlNext, nil, err
		}
		if ev != nil {
			ev.Message = toText(m)
		}
		return ctlNext, nil, nil
	case *WaitStep:
		d := s.Fixed
		if !s.Duration.IsConst() {
			v, err := fr.ev.eval(s.Duration)
			if err != nil {
				return ctlNext, nil, err
			}
			d, err = toDuration(v)
			if err != nil {
				return ctlNext, nil, err
			}
		}
		return ctlNext, nil, fr.run.r.sleep(fr.run.ctx, d)
	}
	panic(fmt.Sprintf("interpreter: unknown step type %T", st))
}

func toDuration(v any) (time.Duration, error) {
	switch t := v.(type) {
	case string:
		d, err := time.ParseDuration(t)
		if err != nil || d < 0 {
			return 0, fmt.Errorf("wait: %q is not a duration", t)
		}
		return d, nil
	case time.Duration:
		return t, nil
	}
	return 0, fmt.Errorf("wait: expected a duration, got %s", typeName(v))
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		return r.Sleep(ctx, d)
	}
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ErrCanceled
	}
}

func (fr *frame) cond(v *Value) (bool, error) {
	x, err := fr.ev.eval(v)
	if err != nil {
		return false, err
	}
	switch t := x.(type) {
	case bool:
		return t, nil
	case nil:
		return false, nil
	}
	return false, fmt.Errorf("condition must be true or false, got %s", typeName(x))
}

func (fr *frame) checkReturn(s *ReturnStep, v any) error {
	f := fr.flow
	switch f.Type {
	case "action", "helper":
	default:
		return nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("return: expected an object of outputs, got %s", typeName(v))
	}
	for k := range m {
		if f.Output(k) == nil {
			return fmt.Errorf("return: %q is not a declared output", k)
		}
	}
	for _, o := range f.Outputs {
		x, msg := coerceField(o, m[o.Name], false)
		if msg != "" {
			return fmt.Errorf("output %q: %s", o.Name, msg)
		}
		if x != nil || o.HasDefault {
			m[o.Name] = x
		}
	}
	return nil
}

func (fr *frame) execFail(s *FailStep) error {
	msg, err := fr.ev.eval(s.Message)
	if err != nil {
		return err
	}
	e := fr.errorf(s.Pos, s.Label(), "%s", toText(msg))
	if s.Code != nil {
		if e.Code, err = fr.ev.eval(s.Code); err != nil {
			return err
		}
	}
	if s.Details != nil {
		if e.Details, err = fr.ev.eval(s.Details); err != nil {
			return err
		}
	}
	return e
}

func (fr *frame) execTry(s *TryStep) (control, any, error) {
	ctl, err := fr.execSteps(s.Try)
	if err == nil {
		return ctl, nil, nil
	}
	if errors.Is(err, ErrCanceled) {
		return ctlNext, nil, err
	}
	var re *RunError
	if !errors.As(err, &re) {
		re = &RunError{Message: err.Error(), Flow: fr.flow.Name}
	}
	if re.Calls != nil && len(re.Calls) > len(fr.calls) {
		// raised inside a called flow: keep the innermost step and flow
	}
	old, had := fr.ev.env["error"]
	fr.ev.env["error"] = re.Object()
	ctl, err = fr.execSteps(s.Catch)
	if had {
		fr.ev.env["error"] = old
	} else {
		delete(fr.ev.env, "error")
	}
	return ctl, nil, err
}

func (fr *frame) execCall(s *CallStep, ev *TraceEvent) (any, error) {
	ru := fr.run
	target := ru.r.Project.Flow(s.Flow)
	if target == nil {
		return nil, fmt.Errorf("call: no flow named %q", s.Flow)
	}
	if fr.depth+1 > ru.limits.MaxDepth {
		return nil, fmt.Errorf("call %s: call depth exceeds %d (recursion?)", s.Flow, ru.limits.MaxDepth)
	}
	in := make(map[string]any, len(s.With))
	for _, nv := range s.With {
		v, err := fr.ev.eval(nv.Value)
		if err != nil {
			return nil, err
		}
		in[nv.Name] = v
	}
	if ev != nil {
		ev.Input = in
	}
	args, err := coerceFields(target.Inputs, in, "input", false)
	if err != nil {
		return nil, fmt.Errorf("call %s: %v", s.Flow, err)
	}
	calls := append(fr.calls[:len(fr.calls):len(fr.calls)], fmt.Sprintf("%s: flow %q, step %q", s.Pos, fr.flow.Name, s.Label()))
	extra := map[string]any{}
	if target.Type == "poll" {
		extra["cursor"] = nil
	}
	return ru.runFlow(target, target.Steps, args, extra, fr.depth+1, calls)
}

func (fr *frame) execForEach(s *ForEachStep) (control, any, error) {
	x, err := fr.ev.eval(s.Items)
	if err != nil {
		return ctlNext, nil, err
	}
	items, ok := toList(x)
	if !ok {
		return ctlNext, nil, fmt.Errorf("for_each: expected a list, got %s", typeName(x))
	}
	if len(items) > fr.run.limits.MaxLoopItems {
		return ctlNext, nil, fmt.Errorf("for_each: %d items exceed the limit of %d", len(items), fr.run.limits.MaxLoopItems)
	}
	if s.Concurrency > 1 && len(items) > 1 {
		return fr.forEachParallel(s, items)
	}
	env := fr.ev.env
	oldItem, hadItem := env[s.As]
	oldIdx, hadIdx := env[s.Index]
	defer func() {
		restore(env, s.As, oldItem, hadItem)
		restore(env, s.Index, oldIdx, hadIdx)
	}()
	var results []any
	if s.Collect != nil {
		results = make([]any, 0, len(items))
	}
	for i, it := range items {
		env[s.As] = it
		env[s.Index] = i
		ctl, err := fr.execSteps(s.Steps)
		if err != nil {
			if s.ContinueOnError && !errors.Is(err, ErrCanceled) {
				continue
			}
			return ctlNext, nil, err
		}
		if ctl == ctlReturn {
			return ctl, nil, nil
		}
		if ctl == ctlContinue {
			continue
		}
		if s.Collect != nil {
			v, err := fr.ev.eval(s.Collect)
			if err != nil {
				if s.ContinueOnError {
					continue
				}
				return ctlNext, nil, err
			}
			results = append(results, v)
		}
	}
	if results == nil {
		results = []any{}
	}
	return ctlNext, results, nil
}

func restore(env map[string]any, k string, v any, had bool) {
	if had {
		env[k] = v
	} else {
		delete(env, k)
	}
}

func toList(x any) ([]any, bool) {
	switch t := x.(type) {
	case []any:
		return t, true
	case nil:
		return nil, true
	}
	n := normalize(x)
	l, ok := n.([]any)
	return l, ok
}

// forEachParallel runs a loop body with several workers; results keep input order.
func (fr *frame) forEachParallel(s *ForEachStep, items []any) (control, any, error) {
	workers := min(s.Concurrency, fr.run.limits.MaxConcurrency, len(items))
	type slot struct {
		v    any
		keep bool
	}
	results := make([]slot, len(items))
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		errIdx   = len(items)
		returned bool
		retVal   any
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(fr.run.ctx)
	defer cancel()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// each worker has its own frame: its own variables, step results and VM
			sub := &frame{run: fr.run, flow: fr.flow, depth: fr.depth, calls: fr.calls}
			sub.vars = cloneMap(fr.vars)
			sub.steps = cloneMap(fr.steps)
			env := cloneMap(fr.ev.env)
			env["vars"] = sub.vars
			env["steps"] = sub.steps
			sub.ev.env = env
			for {
				i := int(next.Add(1) - 1)
				if i >= len(items) || ctx.Err() != nil {
					return
				}
				env[s.As] = items[i]
				env[s.Index] = i
				ctl, err := sub.execSteps(s.Steps)
				if err == nil && ctl == ctlNext && s.Collect != nil {
					var v any
					v, err = sub.ev.eval(s.Collect)
					if err == nil {
						results[i] = slot{v, true}
					}
				}
				if err != nil {
					if s.ContinueOnError && !errors.Is(err, ErrCanceled) {
						continue
					}
					mu.Lock()
					if i < errIdx {
						firstErr, errIdx = err, i
					}
					mu.Unlock()
					cancel()
					return
				}
				if ctl == ctlReturn {
					mu.Lock()
					if !returned {
						returned, retVal = true, sub.ret
					}
					mu.Unlock()
					cancel()
					return
				}
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return ctlNext, nil, firstErr
	}
	if returned {
		fr.ret = retVal
		return ctlReturn, nil, nil
	}
	if err := fr.canceled(); err != nil {
		return ctlNext, nil, err
	}
	out := make([]any, 0, len(items))
	for _, r := range results {
		if r.keep {
			out = append(out, r.v)
		}
	}
	return ctlNext, out, nil
}

func cloneMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+2)
	for k, v := range m {
		out[k] = v
	}
	return out
}
