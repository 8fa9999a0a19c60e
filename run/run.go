package run

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"net/http"
	"reflect"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
)

// Limits bound what one run may do, so a hostile or buggy flow fails cleanly.
// A limit that is hit raises an error that wraps ErrLimit; try/catch and
// continue_on_error do not swallow it.
type Limits struct {
	MaxDepth        int           // nested calls (default 32)
	MaxSteps        int64         // steps executed in one run (default 50,000,000)
	MaxLoopItems    int           // items of one for_each, or collected by one paginate (default 10,000,000)
	MaxResponseBody int64         // bytes of one HTTP response body (default 10 MiB)
	MaxConcurrency  int           // upper bound on for_each concurrency (default 64)
	ExprMemory      uint          // expr's memory budget for one evaluation, in its units (default: MaxMemory/24, at least expr's own 1,000,000)
	MaxMemory       int64         // bytes one run may hold, approximately (default DefaultMaxMemory, 256 MiB); see memory.go
	Timeout         time.Duration // the whole run (default: none; the context and the flow's timeout still apply)
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
	if l.MaxMemory <= 0 {
		l.MaxMemory = DefaultMaxMemory
	}
	if l.ExprMemory == 0 {
		l.ExprMemory = maxExprMemory(l.MaxMemory)
	}
	return l
}

// Runner runs the flows of one loaded project for one connection. A Runner is
// safe for concurrent runs; set its fields before the first run.
type Runner struct {
	Project    *lang.Project
	Connection *connection.Connection
	Client     *http.Client // default: a client with the standard transport
	Limits     Limits
	// Trace, when set, is called after every step (and for every log line).
	// Steps of a for_each with concurrency > 1 call it from several
	// goroutines. Events are not redacted: use Connection.Redact on what
	// leaves the process.
	Trace func(TraceEvent)
	// Sleep waits for retries and wait steps; default: a timer that the
	// run's context interrupts. Tests set it to record waits.
	Sleep func(ctx context.Context, d time.Duration) error
	Now   func() time.Time // the clock for now() in expressions and Retry-After dates; default time.Now
	// Sequential runs for_each loops with concurrency one item at a time
	// (results in input order, as always): for hosts whose code must not
	// start goroutines, such as a Temporal workflow (engine/temporal).
	Sequential bool
	// Parallel, when set, runs the workers of a for_each with concurrency
	// (when not Sequential) instead of goroutines: it calls body workers
	// times concurrently, each with ctx or a context derived from it, and
	// returns once every call has returned. The workers take the items in
	// turn from a shared counter, so that under a deterministic scheduler
	// (a Temporal workflow's coroutines, engine/temporal) the same items
	// go to the same workers in every replay; results keep input order and
	// the first error (by input order) stops the workers taking more items.
	Parallel func(ctx context.Context, workers int, body func(ctx context.Context))
	// LoopPart and RunPart, when both set, run a for_each over more than
	// LoopPart items in parts of LoopPart items, one after the other, each
	// by RunPart (engine/temporal: a child workflow that calls
	// RunLoopPart), so that no one host's record of the run grows with the
	// loop. Results keep input order; vars and the loop body's step
	// results carry from one part to the next.
	LoopPart int
	RunPart  func(ctx context.Context, p LoopPart) (LoopPartResult, error)
	// RunID, when set, makes each run's id (flow.run_id, traces) instead of
	// a random one, so that a replayed run sees the same id.
	RunID func() string
	// RetryInTransport leaves the retries of an HTTP step without
	// on_response rules to the Client's transport: the interpreter makes one
	// round trip, whose request carries the step's policy
	// (TransportRetryOf), and judges the response it gets as the last one.
	// engine/temporal makes the policy an activity's retry policy.
	RetryInTransport bool
	// OAuthInTransport leaves the connector's OAuth 2.0 tokens to the
	// transport: a request the connector's oauth2 auth authorises carries
	// "Authorization: Bearer " + OAuthPlaceholder, which the transport
	// replaces with a token it holds (OAuthAuthorization, in another
	// process), and the Runner neither fetches nor refreshes tokens: a 401
	// it gets is final (the transport refreshed and tried again already).
	// engine/temporal uses it so that no token enters a workflow's history.
	// An http step's own oauth2 auth is authorised as without it.
	OAuthInTransport bool
	// UUID, when set, makes the values of uuid() in expressions, so that a
	// replayed run sees the same ones (a Temporal workflow records each in
	// its history); default: random.
	UUID func() string
	// TraceNow is the clock of trace events (Start, Duration); default
	// time.Now. A Temporal workflow gives its own, so a replay makes the
	// same events.
	TraceNow func() time.Time

	connOnce sync.Once
	authOnce sync.Once
	auth     *authState
	connEnv  atomic.Pointer[map[string]any] // connector env, built once
}

// TraceEvent describes one executed step.
type TraceEvent struct {
	RunID    string        `json:"run_id"`
	Flow     string        `json:"flow"`
	Step     string        `json:"step"`
	Kind     string        `json:"kind"`
	Pos      string        `json:"pos"`
	Depth    int           `json:"depth"` // call depth: 0 in the flow that was run
	Nest     int           `json:"nest"`  // how deep in if/switch/for_each/try blocks of its flow
	Start    time.Time     `json:"start"`
	Duration time.Duration `json:"duration_ns"`
	Method   string        `json:"method,omitempty"`
	URL      string        `json:"url,omitempty"`
	Status   int           `json:"status,omitempty"`
	Attempts int           `json:"attempts,omitempty"` // HTTP attempts of the last request (retries + 1)
	Pages    int           `json:"pages,omitempty"`    // pages fetched by a paginated http step
	Message  string        `json:"message,omitempty"`  // log lines, continue_if messages
	Error    string        `json:"error,omitempty"`
	Input    any           `json:"input,omitempty"`  // call: the inputs; http: the request
	Output   any           `json:"output,omitempty"` // the step's result
}

// RunError is a flow that failed: where, why, and through which calls.
type RunError struct {
	Pos        lang.Pos
	Flow       string
	Step       string
	Message    string
	Code       string // see ErrorCode
	Status     int    // 0: not an HTTP response
	Headers    map[string]any
	Body       any
	Details    any
	RetryAfter time.Duration // how long the service asked to wait; 0: it did not say
	Calls      []string      // the call chain, innermost last: `flows/a.yaml:12:5: flow "a", step "b"`
	cause      error
}

// maxChainShown is how many calls of a long chain Error prints.
const maxChainShown = 10

func (e *RunError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: flow %q, step %q: %s", e.Pos, e.Flow, e.Step, e.Message)
	n := len(e.Calls)
	for i := n - 1; i >= 0; i-- {
		if n > maxChainShown && i == n-maxChainShown/2-1 {
			skip := n - maxChainShown
			fmt.Fprintf(&b, "\n\t... %d more calls", skip)
			i -= skip - 1
			continue
		}
		b.WriteString("\n\tcalled from " + e.Calls[i])
	}
	return b.String()
}

func (e *RunError) Unwrap() error { return e.cause }

// object is the error as flows see it in catch (lang.ErrorObject). step
// and flow name where it was raised, which is inside the called flow when a
// call failed.
func (e *RunError) object() map[string]any {
	return lang.ErrorObject.Value(&lang.ErrorInfo{Message: e.Message, Code: e.Code, Status: e.Status, Headers: e.Headers,
		Body: e.Body, Details: value.Normalize(e.Details), RetryAfter: e.RetryAfter, Step: e.Step, Flow: e.Flow})
}

// ErrCanceled reports a run stopped by its context (Ctrl-C, --timeout or
// the flow's timeout).
var ErrCanceled = errors.New("run canceled")

// ErrLimit reports a run stopped by one of its Limits.
var ErrLimit = errors.New("limit exceeded")

// limitError is an error that hit a limit: it wraps ErrLimit.
type limitError struct {
	msg   string
	cause error
}

func (e *limitError) Error() string        { return e.msg }
func (e *limitError) Is(target error) bool { return target == ErrLimit }
func (e *limitError) Unwrap() error        { return e.cause }

func limitf(format string, args ...any) error { return &limitError{msg: fmt.Sprintf(format, args...)} }

// uncatchable reports errors that try/catch and continue_on_error let through.
func uncatchable(err error) bool {
	return errors.Is(err, ErrCanceled) || errors.Is(err, ErrLimit)
}

type control uint8

const (
	ctlNext     control = iota
	ctlReturn           // return ran: the frame's ret holds the outputs
	ctlContinue         // continue_if was false
)

// run is the state shared by every frame of one run.
type run struct {
	r       *Runner
	conn    *connection.Connection
	idOnce  sync.Once
	id      string // see runID
	steps   atomic.Int64
	limits  Limits
	trace   func(TraceEvent) // Runner.Trace and WithTrace's; nil: none
	baseURL string
	baseErr error
	once    sync.Once
	connEnv map[string]any // the connection as expressions see it
	conEnv  map[string]any // the connector as expressions see it

	budgetOnce sync.Once
	budgetV    *budget // see budget()

	mem *memory // the run's byte budget: memory.go
}

// frame is one flow invocation (or one worker of a parallel loop).
type frame struct {
	run   *run
	ctx   context.Context
	flow  *lang.Flow
	depth int
	nest  int       // block nesting, for traces
	calls *callSite // the call that started this frame; nil at the top
	// site is the call this frame is making: the callee's calls points at
	// it while the call runs (this frame outlives it), and the frame's next
	// call reuses it. Errors copy the chain (callSite.chain) when made.
	site  callSite
	ev    evaluator
	vars  map[string]any
	steps map[string]any
	ret   any
	// caught are the errors of the catch blocks being run, innermost last,
	// so that `fail: ${ error }` raises the very error again
	caught []caughtError
	held   held // what it charged to the run's memory budget: memory.go
	worker bool // a parallel loop's worker (its steps map is a copy)
	// callFresh: the callee of the call step run last is an action or a
	// helper, whose outputs are always a new map (see recycleResult)
	callFresh bool
	retSize   int64 // ret's value.Size when returnMap knew it, else 0 or -1
}

type caughtError struct {
	obj map[string]any
	err *RunError
}

var framePool = sync.Pool{New: func() any { return new(frame) }}

// runID identifies the run in traces and as flow.run_id; it is made on
// first use.
func (ru *run) runID() string {
	ru.idOnce.Do(func() {
		if ru.r.RunID != nil {
			ru.id = ru.r.RunID()
		} else {
			ru.id = newRunID()
		}
	})
	return ru.id
}

func newRunID() string {
	var b [16]byte
	return string(strconv.AppendUint(b[:0], rand.Uint64(), 36))
}

func (r *Runner) newRun(ctx context.Context, conn *connection.Connection) *run {
	l, hint := r.limitsFor(ctx)
	return &run{r: r, conn: conn, limits: l, mem: &memory{limit: l.MaxMemory, hint: hint},
		connEnv: conn.Env(), conEnv: r.connectorEnv()}
}

// Run runs an action or helper flow (or any flow's main steps) with inputs
// and returns its outputs. An input may be a *value.LazyList (a large list
// the CLI kept as text): it stays so when the flow only loops over it, and
// is decoded first otherwise (see lazyInputs); the outputs are the same.
func (r *Runner) Run(ctx context.Context, flowName string, inputs map[string]any) (map[string]any, error) {
	return r.run(ctx, flowName, inputs, false)
}

// RunDecoded is Run for inputs whose values are in normal form already, as
// value.DecodeJSON returns them (`flowrun run --input` reads them so): they
// are checked against the flow's declared inputs as Run checks them, but
// not walked to be normalised first, which for a large input is a walk
// over every item. Other inputs (Go values built by the caller) go to Run.
func (r *Runner) RunDecoded(ctx context.Context, flowName string, inputs map[string]any) (map[string]any, error) {
	return r.run(ctx, flowName, inputs, true)
}

// recoverRun turns a panic of the interpreter (a bug) into an error, so that
// no input crashes the process that runs flows.
func recoverRun(err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("internal error (please report it): %v\n%s", p, debug.Stack())
	}
}

func (r *Runner) run(ctx context.Context, flowName string, inputs map[string]any, normal bool) (out map[string]any, err error) {
	defer recoverRun(&err)
	f := r.Project.Flow(flowName)
	if f == nil {
		return nil, &RequestError{Msg: fmt.Sprintf("no flow named %q", flowName), Hint: value.Suggest(flowName, r.Project.Order)}
	}
	if f.Type == lang.Webhook {
		return nil, &RequestError{Msg: fmt.Sprintf("flow %q is a webhook flow: it runs on deliveries (flowrun trigger on / flowrun serve)", flowName)}
	}
	conn, err := r.connection()
	if err != nil {
		return nil, err
	}
	inputs, lazy := lazyInputs(f, inputs)
	coerce := lang.CoerceFields
	if normal {
		coerce = lang.CoerceNormalFields
	}
	in, err := coerce(f.Inputs, inputs, "input", false)
	if err != nil {
		return nil, &RequestError{Msg: fmt.Sprintf("flow %q: %v", flowName, err)}
	}
	for k, l := range lazy {
		in[k] = l
	}
	ru := r.newRun(ctx, conn)
	ru.trace = r.traceFor(ctx)
	ctx, cancel := r.runContext(ctx, f, ru.limits)
	defer cancel()
	var extra map[string]any
	if f.Type == lang.Poll {
		extra = map[string]any{"cursor": nil}
	}
	return ru.runFlow(ctx, f, lang.SectionSteps, in, extra, 0, nil)
}

// runContext applies the flow's timeout and the run timeout limit.
func (r *Runner) runContext(ctx context.Context, f *lang.Flow, l Limits) (context.Context, context.CancelFunc) {
	d := f.Timeout
	if l.Timeout > 0 && (d == 0 || l.Timeout < d) {
		d = l.Timeout
	}
	if d > 0 {
		return context.WithTimeout(ctx, d)
	}
	return ctx, func() {}
}

// Section runs one section of a flow (a webhook's register, deregister or
// event; a poll's steps) with extra names in scope, and returns what it returned.
func (r *Runner) Section(ctx context.Context, flowName, section string, inputs map[string]any, extra map[string]any) (out map[string]any, err error) {
	defer recoverRun(&err)
	f := r.Project.Flow(flowName)
	if f == nil {
		return nil, &RequestError{Msg: fmt.Sprintf("no flow named %q", flowName), Hint: value.Suggest(flowName, r.Project.Order)}
	}
	conn, err := r.connection()
	if err != nil {
		return nil, err
	}
	sec, _ := lang.ParseSection(section) // an unknown name runs the main steps
	in, err := lang.CoerceFields(f.Inputs, inputs, "input", false)
	if err != nil {
		return nil, &RequestError{Msg: fmt.Sprintf("flow %q: %v", flowName, err)}
	}
	ru := r.newRun(ctx, conn)
	ru.trace = r.traceFor(ctx)
	ctx, cancel := r.runContext(ctx, f, ru.limits)
	defer cancel()
	return ru.runFlow(ctx, f, sec, in, extra, 0, nil)
}

// EvalDedupe evaluates a poll flow's dedupe key for one event.
func (r *Runner) EvalDedupe(f *lang.Flow, event any, inputs map[string]any) (string, error) {
	if f.Dedupe == nil {
		return "", nil
	}
	ev := evaluator{env: map[string]any{"event": event, "inputs": inputs}}
	v, err := ev.eval(f.Dedupe)
	if err != nil {
		return "", err
	}
	return value.Text(v), nil
}

// EvalVerifySecret evaluates a webhook flow's verify.secret.
func (r *Runner) EvalVerifySecret(f *lang.Flow, registration any, webhook map[string]any, inputs map[string]any) (string, error) {
	if f.Verify == nil || f.Verify.Secret == nil {
		return "", nil
	}
	// a revoked connection still verifies: a webhook trigger paused for
	// it keeps the deliveries that pass (trigger/connpause.go)
	conn := r.verifyConnection()
	ev := evaluator{env: map[string]any{"registration": registration, "webhook": webhook, "inputs": inputs,
		"connection": conn.Env()}}
	v, err := ev.eval(f.Verify.Secret)
	if err != nil {
		return "", err
	}
	return value.Text(v), nil
}

// RequestError is a run that was asked for something that cannot run: an
// unknown flow, inputs that do not fit the flow's declaration, a revoked
// connection. The CLI reports it as a usage error (exit 2).
type RequestError struct {
	Msg  string
	Hint string
}

func (e *RequestError) Error() string {
	if e.Hint != "" {
		return e.Msg + " (hint: " + e.Hint + ")"
	}
	return e.Msg
}

// checkConnection reports a revoked connection (and gives a runner without
// one an empty connection).
func (r *Runner) checkConnection() error {
	_, err := r.connection()
	return err
}

// connection returns the runner's connection (an empty one when none was
// given) unless it was revoked.
func (r *Runner) connection() (*connection.Connection, error) {
	r.connOnce.Do(func() {
		if r.Connection == nil {
			r.Connection = &connection.Connection{Params: map[string]any{}}
		}
	})
	c := r.Connection
	if c.Revoked {
		return nil, &RequestError{Msg: fmt.Sprintf("connection %s was revoked", c.File), Hint: "create a new connection (flowrun connection login) or remove `revoked` from the file"}
	}
	return c, nil
}

// verifyConnection is the runner's connection for evaluating verify.secret:
// revoked or not (the signature secret is the trigger's, not the grant's).
func (r *Runner) verifyConnection() *connection.Connection {
	r.connOnce.Do(func() {
		if r.Connection == nil {
			r.Connection = &connection.Connection{Params: map[string]any{}}
		}
	})
	return r.Connection
}

func (ru *run) runFlow(ctx context.Context, f *lang.Flow, sec lang.Section, inputs map[string]any, extra map[string]any, depth int, calls *callSite) (map[string]any, error) {
	// Frames and their scope maps are reused: nothing keeps either once the
	// flow returned (expressions cannot name the scope itself, see envRef;
	// parallel loop workers copy it and are joined before their step ends).
	fr := framePool.Get().(*frame)
	env := fr.ev.env
	*fr = frame{run: ru, ctx: ctx, flow: f, depth: depth, calls: calls}
	defer func() {
		fr.releaseHeld()
		clear(env)
		*fr = frame{}
		fr.ev.env = env
		framePool.Put(fr)
	}()
	// A flow whose steps never set a variable or keep a step result shares
	// one empty map (no step writes it): helper calls stay cheap.
	steps := f.Section(sec)
	w := f.Writes[sec]
	if w.Vars {
		fr.vars = map[string]any{}
	} else {
		fr.vars = emptyMap
	}
	if w.Steps {
		fr.steps = map[string]any{}
	} else {
		fr.steps = emptyMap
	}
	if env == nil {
		env = make(map[string]any, 8) // one map group: the 6 names, loop variables
	}
	env["inputs"] = inputs
	env["vars"] = fr.vars
	env["steps"] = fr.steps
	env["connection"] = ru.connEnv
	env["connector"] = ru.conEnv
	if !memoryOff {
		env[lang.MemoryName] = ru.mem // see check/memory.go
	}
	if ru.r.Now != nil {
		env[lang.ClockName] = ru.r.Now // now() in expressions: see check/clock.go
	}
	if ru.r.UUID != nil {
		env[lang.UUIDName] = ru.r.UUID // uuid() in expressions: see check/clock.go
	}
	if f.UsesFlow {
		env["flow"] = lang.FlowObject.Value(lang.FlowEnv{F: f, RunID: ru.runID()})
	}
	for k, v := range extra {
		env[k] = v
	}
	fr.ev.env = env
	fr.ev.acquire(ru.limits.ExprMemory)
	defer fr.ev.release()
	ctl, err := fr.execSteps(steps)
	if err != nil {
		return nil, err
	}
	if ctl == ctlReturn {
		out, ok := fr.ret.(map[string]any)
		if ok && calls != nil && fr.retSize > 0 {
			calls.size = fr.retSize // the calling frame's site: see exec
		}
		if !ok {
			if fr.ret == nil {
				return map[string]any{}, nil
			}
			return nil, fr.errorf(f.Pos, "", "return: expected an object of outputs, got %s", value.TypeName(fr.ret))
		}
		return out, nil
	}
	// The flow ended without return: fill the outputs' defaults. Falling off
	// the end with a required output unset is an error; continue_if ending
	// the flow at top level is quiet.
	if f.Type != lang.Action && f.Type != lang.Helper {
		return map[string]any{}, nil
	}
	out := make(map[string]any, len(f.Outputs))
	for _, o := range f.Outputs {
		if o.HasDefault {
			out[o.Name] = value.Normalize(o.Default)
		} else if o.Required && ctl != ctlContinue {
			return nil, fr.errorf(f.Pos, "", "flow ended without return, but output %q is required", o.Name)
		}
	}
	return out, nil
}

// connectorEnv is `connector`, built once per runner (its base_url is
// evaluated for the runner's connection).
func (r *Runner) connectorEnv() map[string]any {
	if p := r.connEnv.Load(); p != nil {
		return *p
	}
	c := r.Project.Connector
	e := lang.ConnectorEnv{C: c}
	if c.BaseURL != nil {
		ev := evaluator{env: map[string]any{"connection": r.Connection.Env(), "connector": lang.ConnectorObject.Value(e)}}
		if v, err := ev.eval(c.BaseURL); err == nil {
			e.BaseURL = value.Text(v)
		}
	}
	m := lang.ConnectorObject.Value(e)
	r.connEnv.Store(&m)
	return m
}

func (fr *frame) errorf(p lang.Pos, step string, format string, args ...any) *RunError {
	return &RunError{Pos: p, Flow: fr.flow.Name, Step: step, Message: fmt.Sprintf(format, args...), Code: lang.CodeFlowError, Calls: fr.calls.chain()}
}

// wrap turns any error raised by a step into a *RunError positioned at it.
func (fr *frame) wrap(st lang.Step, err error) error {
	var re *RunError
	if errors.As(err, &re) {
		return err
	}
	b := st.Base()
	e := &RunError{Pos: b.Pos, Flow: fr.flow.Name, Step: b.Label(), Message: err.Error(), Calls: fr.calls.chain(), cause: err}
	e.fill(err)
	var ee *exprRunError
	if errors.As(err, &ee) {
		e.Pos = ee.pos()
	}
	return e
}

// execBlock runs a nested step list (a branch or loop body).
func (fr *frame) execBlock(steps []lang.Step) (control, error) {
	fr.nest++
	ctl, err := fr.execSteps(steps)
	fr.nest--
	return ctl, err
}

func (fr *frame) execSteps(steps []lang.Step) (control, error) {
	for _, st := range steps {
		ctl, err := fr.exec(st)
		if err != nil || ctl != ctlNext {
			return ctl, err
		}
	}
	return ctlNext, nil
}

// canceled returns ErrCanceled (wrapped with the reason) once the run's
// context is done.
func (fr *frame) canceled() error {
	if err := fr.ctx.Err(); err != nil {
		return cancelError(fr.ctx)
	}
	return nil
}

func cancelError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("%w: timed out", ErrCanceled)
	}
	return ErrCanceled
}

func (fr *frame) exec(st lang.Step) (control, error) {
	ru := fr.run
	if n := ru.steps.Add(1); n > ru.limits.MaxSteps {
		return ctlNext, fr.wrap(st, limitf("run exceeded %d steps (limit)", ru.limits.MaxSteps))
	}
	if err := fr.canceled(); err != nil {
		return ctlNext, fr.wrap(st, err)
	}
	if ru.trace == nil {
		ctl, result, err := fr.execKind(st, nil)
		if err != nil {
			return ctl, fr.wrap(st, err)
		}
		if id := st.Base().ID; id != "" {
			c, call := st.(*lang.CallStep)
			if call && fr.site.step == c && fr.site.size > 0 {
				result, err = fr.holdStepSized(id, result, fr.site.size)
			} else {
				result, err = fr.holdStep(id, result)
			}
			if err != nil {
				return ctl, fr.wrap(st, err)
			}
			if call {
				fr.recycleResult(c, result)
			} else {
				fr.steps[id] = result
			}
		}
		return ctl, nil
	}
	b := st.Base()
	ev := &TraceEvent{RunID: ru.runID(), Flow: fr.flow.Name, Step: b.Label(), Kind: string(b.Kind), Pos: b.Pos.String(), Depth: fr.depth, Nest: fr.nest, Start: ru.r.traceNow()}
	ctl, result, err := fr.execKind(st, ev)
	if err != nil {
		err = fr.wrap(st, err)
	} else if b.ID != "" {
		if result, err = fr.holdStep(b.ID, result); err != nil {
			err = fr.wrap(st, err)
		} else {
			fr.steps[b.ID] = result
		}
	}
	ev.Duration = ru.r.traceNow().Sub(ev.Start)
	if err != nil {
		ev.Error = err.Error()
	}
	if ev.Output == nil && result != nil {
		ev.Output = result
	}
	ru.trace(*ev)
	return ctl, err
}

func (fr *frame) execKind(st lang.Step, ev *TraceEvent) (control, any, error) {
	switch s := st.(type) {
	case *lang.SetStep:
		var out map[string]any
		if s.ID != "" || ev != nil {
			out = make(map[string]any, len(s.Vars))
		}
		for _, nv := range s.Vars {
			v, err := fr.ev.eval(nv.Value)
			if err != nil {
				return ctlNext, nil, err
			}
			if v, err = fr.holdVar(nv.Name, v); err != nil {
				return ctlNext, nil, err
			}
			fr.vars[nv.Name] = v
			if out != nil {
				out[nv.Name] = v
			}
		}
		if out == nil {
			return ctlNext, nil, nil
		}
		return ctlNext, out, nil
	case *lang.HTTPStep:
		return fr.execHTTP(s, ev)
	case *lang.IfStep:
		ok, err := fr.cond(s.Cond)
		if err != nil {
			return ctlNext, nil, err
		}
		if ok {
			ctl, err := fr.execBlock(s.Then)
			return ctl, nil, err
		}
		ctl, err := fr.execBlock(s.Else)
		return ctl, nil, err
	case *lang.SwitchStep:
		for _, c := range s.Cases {
			ok, err := fr.cond(c.When)
			if err != nil {
				return ctlNext, nil, err
			}
			if ok {
				ctl, err := fr.execBlock(c.Steps)
				return ctl, nil, err
			}
		}
		ctl, err := fr.execBlock(s.Default)
		return ctl, nil, err
	case *lang.ForEachStep:
		return fr.execForEach(s)
	case *lang.CallStep:
		out, err := fr.execCall(s, ev)
		if err != nil {
			return ctlNext, nil, err
		}
		return ctlNext, out, nil
	case *lang.ReturnStep:
		var v any
		var err error
		size := int64(-1) // v's value.Size, when returnMap knows it
		if s.Value != nil && s.Value.Kind == lang.ValMap && (fr.flow.Type == lang.Action || fr.flow.Type == lang.Helper) {
			v, size, err = fr.returnMap(s.Value)
		} else {
			v, err = fr.ev.eval(s.Value)
			if err == nil {
				// a mapping written in the return step is a new object each
				// time; anything else may be shared (a constant, a variable)
				// and is copied
				v, err = fr.checkReturn(value.Normalize(v), s.Value != nil && s.Value.Kind == lang.ValMap)
			}
		}
		if err != nil {
			return ctlNext, nil, err
		}
		if size < 0 || size > fr.run.mem.limit { // else v fits: no walk
			if err := fr.run.mem.fits(v); err != nil {
				return ctlNext, nil, err
			}
		}
		fr.ret, fr.retSize = v, size
		return ctlReturn, v, nil
	case *lang.FailStep:
		return ctlNext, nil, fr.execFail(s)
	case *lang.TryStep:
		return fr.execTry(s)
	case *lang.ContinueIfStep:
		ok, err := fr.cond(s.Cond)
		if err != nil {
			return ctlNext, nil, err
		}
		if ok {
			return ctlNext, nil, nil
		}
		if ev != nil && s.Message != nil {
			m, _ := fr.ev.eval(s.Message)
			ev.Message = value.Text(m)
		}
		return ctlContinue, nil, nil
	case *lang.LogStep:
		m, err := fr.ev.eval(s.Message)
		if err != nil {
			return ctlNext, nil, err
		}
		if ev != nil {
			ev.Message = value.Text(m)
		}
		return ctlNext, nil, nil
	case *lang.WaitStep:
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
		if ev != nil {
			ev.Message = d.String()
		}
		if err := fr.run.r.sleep(fr.ctx, d); err != nil {
			return ctlNext, nil, err
		}
		return ctlNext, nil, nil
	}
	panic(fmt.Sprintf("interpreter: unknown step type %T", st))
}

func toDuration(v any) (time.Duration, error) {
	switch t := v.(type) {
	case string:
		d, err := time.ParseDuration(strings.TrimSpace(t))
		if err != nil || d < 0 {
			return 0, fmt.Errorf("wait: %q is not a duration (write e.g. 500ms, 30s, 5m)", t)
		}
		return d, nil
	case time.Duration:
		if t < 0 {
			return 0, fmt.Errorf("wait: negative duration %s", t)
		}
		return t, nil
	}
	return 0, fmt.Errorf("wait: expected a duration such as \"30s\", got %s", value.TypeName(v))
}

func (r *Runner) sleep(ctx context.Context, d time.Duration) error {
	if r.Sleep != nil {
		if err := r.Sleep(ctx, d); err != nil {
			if ctx.Err() != nil {
				return cancelError(ctx)
			}
			return err
		}
		return nil
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
		return cancelError(ctx)
	}
}

func (fr *frame) cond(v *lang.Value) (bool, error) {
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
	return false, fmt.Errorf("condition must be true or false, got %s", value.TypeName(x))
}

// resultPool holds the result maps of calls that nothing reads any more
// (see recycleResult): a helper called in a loop then builds its outputs
// in the map of the previous call instead of a new one.
var resultPool sync.Pool

// The sizes value.Size gives an object: its own, and each entry's beyond
// its key's bytes and its value's size.
var (
	sizeObject = value.Size(map[string]any{})
	sizeEntry  = value.Size(map[string]any{"": nil}) - sizeObject - value.Size(nil)
)

// returnMap is the outputs of an action or helper flow's `return:` written
// as a mapping: what checkReturn(value.Normalize(eval(v)), true) makes (the
// same values and errors, in the same order), with one map write per
// output, in a recycled map when there is one. size is the map's
// value.Size when every output is a scalar or a string, else -1.
func (fr *frame) returnMap(v *lang.Value) (_ any, size int64, _ error) {
	f := fr.flow
	var buf [8]any
	vals := buf[:0]
	if len(v.Keys) > len(buf) {
		vals = make([]any, 0, len(v.Keys))
	}
	for i := range v.Keys {
		x, err := fr.ev.eval(v.Vals[i])
		if err != nil {
			return nil, -1, err
		}
		vals = append(vals, value.Normalize(x))
	}
	for _, k := range v.Keys {
		if f.Output(k) == nil {
			return nil, -1, fmt.Errorf("return: %q is not a declared output of flow %q", k, f.Name)
		}
	}
	m, _ := resultPool.Get().(map[string]any)
	if m == nil {
		m = make(map[string]any, max(len(v.Keys), len(f.Outputs)))
	}
	size = sizeObject
	for _, o := range f.Outputs {
		var x any
		given := false
		for i, k := range v.Keys {
			if k == o.Name { // the last one, as when the mapping was a map
				x, given = vals[i], true
			}
		}
		x, msg := lang.CoerceField(o, x, false)
		if msg != "" {
			clear(m)
			resultPool.Put(m)
			return nil, -1, fmt.Errorf("output %q: %s", o.Name, msg)
		}
		if given || x != nil {
			m[o.Name] = x
			if size >= 0 {
				switch x.(type) {
				case nil, bool, int, float64, string:
					size += sizeEntry + int64(len(o.Name)) + value.Size(x)
				default:
					size = -1
				}
			}
		}
	}
	return m, size, nil
}

// recycleResult replaces the result of call step s, which has an id, with
// res, and gives the old result map to resultPool when nothing can hold it:
// it is the map the callee's return built (an action's or helper's outputs
// are always a new map), the flow reads steps.<id> only through its members
// (check/analyze.go), and this frame is not a parallel loop's worker, whose
// steps map starts as a copy of the loop frame's. (A traced run keeps every
// result in its events: exec does not call this then.)
func (fr *frame) recycleResult(s *lang.CallStep, res any) {
	old, had := fr.steps[s.ID]
	fr.steps[s.ID] = res
	if !had || fr.worker {
		return
	}
	m, ok := old.(map[string]any)
	if !ok || len(m) > 8 || fr.flow.Reads.All || fr.flow.Reads.Whole[s.ID] {
		return
	}
	if !fr.callFresh {
		return
	}
	clear(m)
	resultPool.Put(m)
}

// checkReturn checks the outputs of an action or helper flow against its
// declaration and returns them with defaults filled: in v itself when it is
// fresh (made for this return), else in a new object.
func (fr *frame) checkReturn(v any, fresh bool) (any, error) {
	f := fr.flow
	if f.Type != lang.Action && f.Type != lang.Helper {
		return v, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		if v == nil && len(f.Outputs) == 0 {
			return map[string]any{}, nil
		}
		return nil, fmt.Errorf("return: expected an object of outputs, got %s", value.TypeName(v))
	}
	for k := range m {
		if f.Output(k) == nil {
			return nil, fmt.Errorf("return: %q is not a declared output of flow %q", k, f.Name)
		}
	}
	out := m
	if !fresh {
		out = make(map[string]any, len(f.Outputs))
	}
	for _, o := range f.Outputs {
		x, given := m[o.Name]
		x, msg := lang.CoerceField(o, x, false)
		if msg != "" {
			return nil, fmt.Errorf("output %q: %s", o.Name, msg)
		}
		if given || x != nil {
			out[o.Name] = x
		}
	}
	return out, nil
}

func (fr *frame) execFail(s *lang.FailStep) error {
	msg, err := fr.ev.eval(s.Message)
	if err != nil {
		return err
	}
	if m, ok := msg.(map[string]any); ok && s.Code == nil && s.Details == nil {
		// fail: ${ error } in a catch raises the caught error unchanged
		for i := len(fr.caught) - 1; i >= 0; i-- {
			if sameMap(fr.caught[i].obj, m) {
				return fr.caught[i].err
			}
		}
		// an object written like an error (or an error passed on to
		// another flow) is raised with its fields, from here
		ce := errorFromObject(m, lang.CodeFailed)
		e := fr.errorf(s.Pos, s.Label(), "%s", nonEmpty(ce.msg, "failed"))
		e.cause = ce
		e.fill(ce)
		return e
	}
	e := fr.errorf(s.Pos, s.Label(), "%s", nonEmpty(value.Text(msg), "failed"))
	e.Code = lang.CodeFailed
	if s.Code != nil {
		c, err := fr.ev.eval(s.Code)
		if err != nil {
			return err
		}
		if t := value.Text(c); t != "" {
			e.Code = t
		}
	}
	if s.Details != nil {
		if e.Details, err = fr.ev.eval(s.Details); err != nil {
			return err
		}
	}
	return e
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// sameMap reports whether a and b are the same map (not equal ones).
func sameMap(a, b map[string]any) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

func (fr *frame) execTry(s *lang.TryStep) (control, any, error) {
	ctl, err := fr.execBlock(s.Try)
	if err == nil {
		return ctl, nil, nil
	}
	if uncatchable(err) {
		return ctlNext, nil, err
	}
	var re *RunError
	if !errors.As(err, &re) {
		re = &RunError{Message: err.Error(), Flow: fr.flow.Name, Step: s.Label(), Pos: s.Pos, cause: err}
		re.fill(err)
	}
	env := fr.ev.env
	old, had := env["error"]
	obj := re.object()
	env["error"] = obj
	fr.caught = append(fr.caught, caughtError{obj, re})
	ctl, err = fr.execBlock(s.Catch)
	fr.caught = fr.caught[:len(fr.caught)-1]
	restore(env, "error", old, had)
	return ctl, nil, err
}

// argsPool holds argument maps of calls (see execCall).
var argsPool = sync.Pool{New: func() any { return make(map[string]any, 8) }}

func (fr *frame) execCall(s *lang.CallStep, ev *TraceEvent) (any, error) {
	ru := fr.run
	target := ru.r.Project.Flow(s.Flow)
	if target == nil {
		return nil, fmt.Errorf("call: no flow named %q", s.Flow)
	}
	if fr.depth+1 > ru.limits.MaxDepth {
		return nil, limitf("call %s: calls nest deeper than %d (limit; unbounded recursion?)", s.Flow, ru.limits.MaxDepth)
	}
	fr.callFresh = target.Type == lang.Action || target.Type == lang.Helper
	// The argument map becomes the callee's `inputs`; unless the callee
	// uses `inputs` as a whole value (check/analyze.go), nothing holds it
	// once the call returned, and the next call reuses it: a call in a loop
	// then allocates no argument map.
	var in map[string]any
	if !target.InputsEscape {
		if m, ok := argsPool.Get().(map[string]any); ok {
			in = m
			defer func() {
				clear(in)
				argsPool.Put(in)
			}()
		}
	}
	if in == nil {
		in = make(map[string]any, len(s.With))
	}
	for _, nv := range s.With {
		v, err := fr.ev.eval(nv.Value)
		if err != nil {
			return nil, err
		}
		in[nv.Name] = v
	}
	if ev != nil {
		ev.Input = maps.Clone(in) // the trace keeps what was passed, before defaults
	}
	args, err := lang.CoerceFieldsInto(in, target.Inputs, in, "input", false)
	if err != nil {
		return nil, fmt.Errorf("call %s: %v", s.Flow, err)
	}
	fr.site = callSite{step: s, flow: fr.flow.Name, parent: fr.calls}
	calls := &fr.site
	var extra map[string]any
	if target.Type == lang.Poll {
		extra = map[string]any{"cursor": nil}
	}
	return ru.runFlow(fr.ctx, target, lang.SectionSteps, args, extra, fr.depth+1, calls)
}

func (fr *frame) execForEach(s *lang.ForEachStep) (control, any, error) {
	x, err := fr.ev.eval(s.Items)
	if err != nil {
		return ctlNext, nil, err
	}
	items, ok := toItems(x)
	if !ok {
		return ctlNext, nil, fmt.Errorf("for_each: expected a list, got %s", value.TypeName(x))
	}
	if items.len() > fr.run.limits.MaxLoopItems {
		return ctlNext, nil, limitf("for_each: %d items exceed the limit of %d", items.len(), fr.run.limits.MaxLoopItems)
	}
	if r := fr.run.r; r.RunPart != nil && r.LoopPart > 0 && items.len() > r.LoopPart {
		return fr.forEachParts(s, items)
	}
	return fr.forEachItems(s, items, 0)
}

// forEachItems runs a loop's body for items, the first of which is item
// offset of the loop's list (a part of it runs elsewhere: parts.go).
func (fr *frame) forEachItems(s *lang.ForEachStep, items forItems, offset int) (control, any, error) {
	var col collected
	defer col.release(fr.run)
	if s.Concurrency > 1 && items.len() > 1 && !fr.run.r.Sequential {
		return fr.forEachParallel(s, items, offset, &col)
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
		results = make([]any, 0, items.len())
		if err := col.add(fr.run, int64(items.len())*collectSlot); err != nil {
			return ctlNext, nil, err
		}
	}
	for i := range items.len() {
		env[s.As] = items.at(i)
		env[s.Index] = offset + i
		ctl, err := fr.execBlock(s.Steps)
		if err != nil {
			if s.ContinueOnError && !uncatchable(err) {
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
				if s.ContinueOnError && !uncatchable(err) {
					continue
				}
				return ctlNext, nil, fr.wrap(s, err)
			}
			if err := col.add(fr.run, fr.run.mem.size(v)-value.SizeScalar); err != nil {
				return ctlNext, nil, fr.wrap(s, err)
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
	n := value.Normalize(x)
	l, ok := n.([]any)
	return l, ok
}

// forEachParallel runs a loop body with several workers, each with its own
// frame (variables, step results, VM); results keep input order. The first
// error (by input order) cancels the other iterations.
func (fr *frame) forEachParallel(s *lang.ForEachStep, items forItems, offset int, col *collected) (control, any, error) {
	n := items.len()
	workers := min(s.Concurrency, fr.run.limits.MaxConcurrency, n)
	type slot struct {
		v    any
		keep bool
	}
	if s.Collect != nil {
		if err := col.add(fr.run, int64(n)*(collectSlot+32)); err != nil {
			return ctlNext, nil, err
		}
	}
	results := make([]slot, n)
	var (
		next     atomic.Int64
		mu       sync.Mutex
		firstErr error
		errIdx   = n
		returned bool
		retVal   any
		wg       sync.WaitGroup
	)
	ctx, cancel := context.WithCancel(fr.ctx)
	defer cancel()
	body := func(ctx context.Context) {
		defer func() {
			var err error
			recoverRun(&err)
			if err != nil {
				mu.Lock()
				firstErr, errIdx = err, -1 // a bug outranks any flow error
				mu.Unlock()
				cancel()
			}
		}()
		sub := &frame{run: fr.run, ctx: ctx, flow: fr.flow, depth: fr.depth, nest: fr.nest + 1, calls: fr.calls, worker: true}
		sub.vars = cloneMap(fr.vars)
		sub.steps = cloneMap(fr.steps)
		env := cloneMap(fr.ev.env)
		env["vars"] = sub.vars
		env["steps"] = sub.steps
		sub.ev.env = env
		sub.ev.acquire(fr.run.limits.ExprMemory)
		defer sub.ev.release()
		defer sub.releaseHeld()
		for {
			i := int(next.Add(1) - 1)
			if i >= n || ctx.Err() != nil {
				return
			}
			env[s.As] = items.at(i)
			env[s.Index] = offset + i
			ctl, err := sub.execSteps(s.Steps)
			if err == nil && ctl == ctlNext && s.Collect != nil {
				var v any
				v, err = sub.ev.eval(s.Collect)
				if err == nil {
					err = col.add(fr.run, fr.run.mem.size(v)-value.SizeScalar)
				}
				if err == nil {
					results[i] = slot{v, true}
				} else {
					err = sub.wrap(s, err)
				}
			}
			if err != nil {
				if s.ContinueOnError && !uncatchable(err) {
					continue
				}
				// an iteration canceled because another one failed is
				// not the error to report
				if errors.Is(err, ErrCanceled) && fr.ctx.Err() == nil {
					return
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
	}
	if h := fr.run.r.Parallel; h != nil {
		h(ctx, workers, body)
	} else {
		for range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				body(ctx)
			}()
		}
		wg.Wait()
	}
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
	out := make([]any, 0, n)
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

// callSite is one link of a call chain: a call step and the flow it is in.
// The chain is formatted only when an error needs it.
type callSite struct {
	step   *lang.CallStep
	flow   string
	parent *callSite
	// size is the value.Size of the callee's outputs when its return
	// mapping knew it (returnMap), else 0; the callee sets it as it returns
	size int64
}

// chain lists the calls outermost first, as RunError.Calls has them.
func (c *callSite) chain() []string {
	var out []string
	for ; c != nil; c = c.parent {
		out = append(out, fmt.Sprintf("%s: flow %q, step %q", c.step.Pos, c.flow, c.step.Label()))
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// emptyMap stands for the vars or steps of a flow that never writes them; it
// is never written to.
var emptyMap = map[string]any{}

// RedactEvent returns a trace event with every secret of conn removed from
// its text fields, inputs and outputs.
func RedactEvent(conn *connection.Connection, ev TraceEvent) TraceEvent {
	ev.URL = conn.Redact(ev.URL)
	ev.Message = conn.Redact(ev.Message)
	ev.Error = conn.Redact(ev.Error)
	ev.Input = conn.RedactValue(ev.Input)
	ev.Output = conn.RedactValue(ev.Output)
	return ev
}

func (r *Runner) traceNow() time.Time {
	if r.TraceNow != nil {
		return r.TraceNow()
	}
	return time.Now()
}
