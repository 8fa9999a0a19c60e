// Package temporal runs flowrun flows as Temporal workflows, for hosting
// many connections on several machines (docs/scaling.md). The interpreter
// (run.Runner) runs inside the workflow, so control flow and expressions
// are workflow code on the loaded, immutable project; every HTTP request is
// an activity whose retry policy is the step's (http.retry); `wait` is a
// workflow timer; a for_each with concurrency runs its items in workflow
// coroutines (results in input order, as always), and a for_each over more
// items than Engine.LoopPart runs in parts, each a child workflow
// (loop.go), within Temporal's history limits.
//
// Secrets never enter workflow history: the workflow sees the connection
// with each secret parameter replaced by a placeholder (Sealed), and the
// HTTP activity, which resolves the connection from its id itself, puts the
// real values into the request it sends and takes them out of the response
// it returns.
//
// cmd/flowrun's worker and start commands use this package; it imports run
// and lang, never cmd/flowrun.
package temporal

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/worker"
	"go.temporal.io/sdk/workflow"

	"github.com/flowrun/flowrun/builtins"
	"github.com/flowrun/flowrun/connection"
	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/run"
	"github.com/flowrun/flowrun/trigger"
)

// Names under which the workflow and activities are registered.
const (
	WorkflowName       = "flowrun.flow"
	HTTPActivityName   = "flowrun.http"
	SealedActivityName = "flowrun.connection"
)

// FlowInput starts a flow run: which project and flow, which connection
// (by id: the worker resolves it, so no secret is in the input) and the
// flow's inputs.
type FlowInput struct {
	Project      string         `json:"project"`
	Flow         string         `json:"flow"`
	ConnectionID string         `json:"connection_id"`
	Inputs       map[string]any `json:"inputs,omitempty"`
}

// Sealed is a connection as the workflow sees it: parameters with every
// secret replaced by a placeholder.
type Sealed struct {
	Params map[string]any `json:"params"`
	Token  *Token         `json:"token,omitempty"`
}

// Token is an OAuth 2.0 token with its secrets as placeholders.
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
}

// HTTPRequest is one request as the interpreter built it, secrets as
// placeholders.
type HTTPRequest struct {
	Project      string              `json:"project"`
	ConnectionID string              `json:"connection_id"`
	Method       string              `json:"method"`
	URL          string              `json:"url"`
	Host         string              `json:"host,omitempty"`
	Header       map[string][]string `json:"header,omitempty"`
	Body         []byte              `json:"body,omitempty"`
	// Retry is the step's retry policy (the connector's http.retry or the
	// step's retry), which is also the activity's retry policy: the
	// activity fails retryably on a status in Retry.On (or a connection
	// that failed) while attempts remain, and non-retryably on any other
	// error status, carrying the response. Nil in runs started before it
	// (the interpreter retried then).
	Retry *run.TransportRetry `json:"retry,omitempty"`
}

// Error types of the HTTP activity's failures.
const (
	// ErrHTTPStatus: the service answered with an error status; the
	// failure's details hold the HTTPResponse, which the interpreter judges
	// (a step may expect the status).
	ErrHTTPStatus = "flowrun.http.status"
	// ErrHTTPTransport: no response (the connection failed, the attempt
	// timed out).
	ErrHTTPTransport = "flowrun.http.transport"
	// ErrOAuth: the connector's OAuth 2.0 token could not be had on the
	// worker; the failure's details hold the run error code.
	ErrOAuth = "flowrun.oauth"
)

// minActivityAttempts is the least MaximumAttempts of an HTTP activity's
// retry policy: Temporal counts an attempt lost with its worker, which must
// be run again even when http.retry allows one attempt. The activity itself
// stops retrying statuses after the policy's attempts.
const minActivityAttempts = 10

// HTTPResponse is what the service answered, secrets replaced by their
// placeholders; Error is a transport error (no response), which the
// interpreter's retry rules judge like any other.
type HTTPResponse struct {
	Status int                 `json:"status"`
	Header map[string][]string `json:"header,omitempty"`
	Body   []byte              `json:"body,omitempty"`
	Error  string              `json:"error,omitempty"`
}

// Resolver finds a connection of a project by id. Only the activities call
// it, never workflow code.
type Resolver func(ctx context.Context, project *lang.Project, id string) (*connection.Connection, error)

// DirResolver resolves id to the connection file DIR/ID.yaml (or .yml,
// .json); ids are file names, so they cannot leave the directory.
func DirResolver(dir string) Resolver {
	return func(ctx context.Context, p *lang.Project, id string) (*connection.Connection, error) {
		if id == "" || strings.ContainsAny(id, `/\`) || strings.HasPrefix(id, ".") {
			return nil, fmt.Errorf("connection id %q is not a file name", id)
		}
		var last error
		for _, ext := range []string{".yaml", ".yml", ".json"} {
			c, err := connection.Load(dir+"/"+id+ext, p.Connector)
			if err == nil {
				return c, nil
			}
			last = err
			var fe *connection.FileError
			if !errors.As(err, &fe) {
				return nil, err
			}
		}
		return nil, fmt.Errorf("connection %q: %w", id, last)
	}
}

// Engine holds what a worker serves: the loaded projects and how to reach
// connections. Its methods are the workflow and the activities.
type Engine struct {
	Projects map[string]*lang.Project // by connector name
	Resolve  Resolver
	// Client sends the activities' requests; default: a client with the
	// standard transport. Redirects are not followed here: the interpreter
	// follows them, applying its origin rule.
	Client *http.Client
	Limits run.Limits
	// ActivityTimeout bounds one HTTP attempt's activity (default 1m); a
	// worker that dies mid-request is noticed after it, and the request is
	// sent again by another worker.
	ActivityTimeout time.Duration
	// IdempotencyHeader, when set, is added to every request but GET and
	// HEAD (unless the flow set it) with a value that is the same for every
	// attempt of one HTTP step of one run: "<workflow id>/<activity id>". A
	// service that honours it applies an effect once even when a worker dies
	// after sending and the activity is run again.
	IdempotencyHeader string
	// Sink receives the events of webhook deliveries started by an Ingress
	// (the delivery workflow's activity).
	Sink trigger.Sink
	// State is the trigger state scheduled polls read and commit (the
	// worker's --state-dsn).
	State trigger.StateStore
	// LoopPart is how many items of a for_each one child workflow runs
	// (loop.go; default DefaultLoopPart): a loop over more items runs in
	// parts, so that no workflow's history grows with the loop.
	LoopPart int

	// ConnectionTTL is how long a resolved connection is used before it is
	// resolved again (default 10s), so that a connection revoked (flowrun
	// connection revoke) or changed is noticed by every worker within it.
	ConnectionTTL time.Duration

	mu    sync.Mutex
	conns map[string]cachedConn  // by project + "\x00" + id
	oauth map[string]*run.Runner // holders of OAuth 2.0 tokens, by project + "\x00" + id
}

type cachedConn struct {
	c  *connection.Connection
	at time.Time
}

func (e *Engine) connectionTTL() time.Duration {
	if e.ConnectionTTL > 0 {
		return e.ConnectionTTL
	}
	return 10 * time.Second
}

// Register registers the workflow and activities on a worker.
func (e *Engine) Register(w worker.Registry) {
	w.RegisterWorkflowWithOptions(e.Workflow, workflow.RegisterOptions{Name: WorkflowName})
	w.RegisterActivityWithOptions(e.HTTP, activity.RegisterOptions{Name: HTTPActivityName})
	w.RegisterActivityWithOptions(e.Seal, activity.RegisterOptions{Name: SealedActivityName})
	w.RegisterWorkflowWithOptions(e.DeliveryWorkflow, workflow.RegisterOptions{Name: DeliveryWorkflowName})
	w.RegisterActivityWithOptions(e.Deliver, activity.RegisterOptions{Name: SinkActivityName})
	w.RegisterWorkflowWithOptions(e.PollWorkflow, workflow.RegisterOptions{Name: PollWorkflowName})
	w.RegisterActivityWithOptions(e.PollEvents, activity.RegisterOptions{Name: PollEventsActivityName})
	w.RegisterActivityWithOptions(e.DeliverBatch, activity.RegisterOptions{Name: SinkBatchActivityName})
	w.RegisterActivityWithOptions(e.CommitPoll, activity.RegisterOptions{Name: PollCommitActivityName})
	w.RegisterWorkflowWithOptions(e.LoopWorkflow, workflow.RegisterOptions{Name: LoopWorkflowName})
}

func (e *Engine) activityTimeout() time.Duration {
	if e.ActivityTimeout > 0 {
		return e.ActivityTimeout
	}
	return time.Minute
}

// Workflow runs one flow. It is deterministic: the interpreter gets the
// workflow's clock, timers, run id and an HTTP transport whose round trips
// are activities.
func (e *Engine) Workflow(ctx workflow.Context, in FlowInput) (map[string]any, error) {
	r, err := e.runner(ctx, in.Project, in.ConnectionID)
	if err != nil {
		return nil, err
	}
	out, err := r.Run(context.Background(), in.Flow, in.Inputs)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err() // cancelled (flowrun connection revoke): the run ends as cancelled
		}
		return nil, flowError(err)
	}
	return out, nil
}

// runner is the interpreter of a workflow (a flow's, or a loop part's) for
// a project's connection: the connection sealed by an activity, and the
// workflow's clock, timers, side effects and coroutines. Its version
// markers are recorded in this order in every run.
func (e *Engine) runner(ctx workflow.Context, project, connectionID string) (*run.Runner, error) {
	p := e.Projects[project]
	if p == nil {
		return nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("this worker serves no project %q", project), "config", nil)
	}
	// Version 1: the HTTP activity retries by the step's retry policy (runs
	// started before it retried in the interpreter, with workflow timers).
	retryInActivity := workflow.GetVersion(ctx, "retry-in-activity", workflow.DefaultVersion, 1) >= 1
	actx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: e.activityTimeout(),
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: 10 * time.Second, MaximumAttempts: 10},
	})
	var sealed Sealed
	if err := workflow.ExecuteActivity(actx, SealedActivityName, project, connectionID).Get(ctx, &sealed); err != nil {
		return nil, err
	}
	conn := &connection.Connection{Params: sealed.Params}
	if sealed.Token != nil {
		conn.Token = &connection.Token{AccessToken: sealed.Token.AccessToken, RefreshToken: sealed.Token.RefreshToken,
			TokenType: sealed.Token.TokenType, Expiry: sealed.Token.Expiry}
	}
	info := workflow.GetInfo(ctx)
	// Version 1: uuid() values are side effects, recorded in history (runs
	// started before it drew them at random, replayed to other values).
	var uuid func() string
	if workflow.GetVersion(ctx, "uuid-side-effect", workflow.DefaultVersion, 1) >= 1 {
		uuid = func() string {
			var u string
			err := workflow.SideEffect(ctx, func(workflow.Context) any {
				u, _ := builtins.NewUUID()
				return u
			}).Get(&u)
			if err != nil {
				panic(err) // a recorded string always decodes
			}
			return u
		}
	}
	// Version 1: a for_each with concurrency runs its items in workflow
	// coroutines (runs started before ran them one at a time). Not for
	// OAuth 2.0 projects: a token refresh holds a lock across its request,
	// which another coroutine must not wait for.
	// Version 1 of oauth-in-activity: the connector's OAuth 2.0 tokens are
	// fetched and refreshed by the HTTP activity on the worker, so no token
	// enters history (runs started before did it in workflow code, through
	// activities whose results held the tokens).
	oauthInActivity := workflow.GetVersion(ctx, "oauth-in-activity", workflow.DefaultVersion, 1) >= 1
	connectorOAuth, stepOAuth := usesOAuth2(p)
	parallel := workflow.GetVersion(ctx, "parallel-for-each", workflow.DefaultVersion, 1) >= 1 &&
		!stepOAuth && (!connectorOAuth || oauthInActivity)
	r := &run.Runner{
		Project:    p,
		Connection: conn,
		Client:     &http.Client{Transport: &activityTransport{ctx: actx, project: project, conn: connectionID}},
		Limits:     e.Limits,
		Sleep: func(c context.Context, d time.Duration) error {
			return workflow.Sleep(workflowContext(c, ctx), d)
		},
		Now:              func() time.Time { return workflow.Now(ctx) },
		TraceNow:         func() time.Time { return workflow.Now(ctx) },
		UUID:             uuid,
		Sequential:       !parallel,
		Parallel:         parallelInWorkflow(actx),
		RetryInTransport: retryInActivity,
		OAuthInTransport: oauthInActivity,
		RunID:            func() string { return info.WorkflowExecution.ID + "/" + info.WorkflowExecution.RunID },
	}
	// Version 1: a for_each over more items than the worker's loop part
	// runs in parts, each a child workflow (runs started before ran every
	// item in their own history).
	if workflow.GetVersion(ctx, "loop-parts", workflow.DefaultVersion, 1) >= 1 {
		r.LoopPart = e.loopPart()
		r.RunPart = e.runPart(ctx, project, connectionID)
	}
	return r, nil
}

// coroutineKey is the context key of the coroutine a part of a run runs
// in (a worker of a for_each with concurrency).
type coroutineKey struct{}

// coroutine is a worker of a for_each with concurrency in a workflow: its
// workflow context, and the loop's context, which the interpreter cancels
// (synchronously, in workflow code) when an item fails.
type coroutine struct {
	wctx workflow.Context
	loop context.Context
}

// workflowContext is the workflow context of the coroutine that c runs in:
// the one parallelInWorkflow gave it, else def (the workflow's own). Every
// blocking call (an activity's result, a timer) must be made with it.
func workflowContext(c context.Context, def workflow.Context) workflow.Context {
	if c != nil {
		if co, ok := c.Value(coroutineKey{}).(*coroutine); ok {
			return co.wctx
		}
	}
	return def
}

// parallelInWorkflow is the Runner's Parallel hook in a workflow: the
// workers of a for_each with concurrency are workflow coroutines
// (workflow.Go), each with its own workflow context carried in the run's
// context, joined by a workflow wait group. Coroutines are scheduled
// deterministically, so a replay gives each the same items and schedules
// the same activities in the same order.
func parallelInWorkflow(root workflow.Context) func(context.Context, int, func(context.Context)) {
	return func(c context.Context, workers int, body func(context.Context)) {
		parent := workflowContext(c, root)
		wg := workflow.NewWaitGroup(parent)
		for range workers {
			wg.Add(1)
			workflow.Go(parent, func(wc workflow.Context) {
				defer wg.Done()
				body(context.WithValue(c, coroutineKey{}, &coroutine{wctx: wc, loop: c}))
			})
		}
		wg.Wait(parent)
	}
}

// usesOAuth2 reports whether the project authenticates with OAuth 2.0:
// the connector's auth, an http step's own auth.
func usesOAuth2(p *lang.Project) (connector, step bool) {
	if a := p.Connector.Auth; a != nil && a.Type == "oauth2" {
		connector = true
	}
	found := false
	for _, f := range p.Flows {
		for sec := range lang.NumSections {
			lang.Walk(f.Section(lang.Section(sec)), func(st lang.Step) bool {
				if h, ok := st.(*lang.HTTPStep); ok && h.Auth != nil && h.Auth.Type == "oauth2" {
					found = true
				}
				return !found
			})
		}
	}
	return connector, found
}

// flowError makes a run's error the workflow's failure: an application
// error typed by the flow error's code, not retried (the interpreter has
// applied the connector's retry rules already).
func flowError(err error) error {
	var re *run.RunError
	if errors.As(err, &re) {
		typ := re.Code
		if typ == "" {
			typ = "flow_error"
		}
		return temporal.NewNonRetryableApplicationError(re.Error(), typ, nil, map[string]any{"status": re.Status, "step": re.Step, "flow": re.Flow})
	}
	return temporal.NewNonRetryableApplicationError(err.Error(), "flow_error", nil)
}

// activityTransport is the interpreter's HTTP transport inside a workflow:
// each round trip is one HTTP activity.
type activityTransport struct {
	ctx     workflow.Context
	project string
	conn    string
}

func (t *activityTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		body = b
	}
	in := HTTPRequest{Project: t.project, ConnectionID: t.conn, Method: req.Method, URL: req.URL.String(), Header: req.Header, Body: body}
	if req.Host != "" && req.Host != req.URL.Host {
		in.Host = req.Host
	}
	// the coroutine's own context: a worker of a for_each with concurrency
	// runs in its own (parallelInWorkflow)
	wctx := workflowContext(req.Context(), t.ctx)
	if co, ok := req.Context().Value(coroutineKey{}).(*coroutine); ok && co.loop.Err() != nil {
		return nil, co.loop.Err() // another item of the loop failed: start nothing more
	}
	actx := wctx
	if p := run.TransportRetryOf(req.Context()); p != nil {
		in.Retry = p
		actx = workflow.WithActivityOptions(wctx, activityOptions(workflow.GetActivityOptions(wctx), p))
	}
	var out HTTPResponse
	if err := workflow.ExecuteActivity(actx, HTTPActivityName, in).Get(wctx, &out); err != nil {
		var ae *temporal.ApplicationError
		if !errors.As(err, &ae) {
			return nil, err
		}
		switch ae.Type() {
		case ErrHTTPStatus:
			if !ae.HasDetails() || ae.Details(&out) != nil {
				return nil, err
			}
		case ErrHTTPTransport:
			return nil, errors.New(ae.Message())
		case ErrOAuth:
			code := lang.CodeAuthExpired
			if ae.HasDetails() {
				_ = ae.Details(&code)
			}
			return nil, run.CodedError(code, ae.Message())
		default:
			return nil, err
		}
	}
	if out.Error != "" {
		return nil, errors.New(out.Error)
	}
	return &http.Response{
		Status: fmt.Sprintf("%d %s", out.Status, http.StatusText(out.Status)), StatusCode: out.Status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: http.Header(out.Header), Body: io.NopCloser(bytes.NewReader(out.Body)),
		ContentLength: int64(len(out.Body)), Request: req,
	}, nil
}

// activityOptions are an HTTP activity's options for a step's retry
// policy: attempts (at least minActivityAttempts, for attempts lost with a
// worker) and backoff doubling from retry.backoff up to retry.max_backoff.
// The start-to-close timeout stays the worker's --activity-timeout, which
// should exceed the steps' timeouts (each attempt's request is bounded by
// its step's).
func activityOptions(ao workflow.ActivityOptions, p *run.TransportRetry) workflow.ActivityOptions {
	b := p.Backoff
	if b <= 0 {
		b = time.Second
	}
	ao.RetryPolicy = &temporal.RetryPolicy{InitialInterval: b, BackoffCoefficient: 2,
		MaximumInterval: max(p.MaxBackoff, b), MaximumAttempts: int32(max(p.Attempts, minActivityAttempts))}
	return ao
}

// placeholder is what stands for secret parameter name in workflow code:
// letters, digits and underscores only, so URL and JSON encoding keep it.
func placeholder(name string) string { return "__flowrun_sealed_" + name + "__" }

// secrets maps each placeholder of a connection to its real value.
func secrets(p *lang.Project, c *connection.Connection) map[string]string {
	m := map[string]string{}
	for _, f := range p.Connector.Params {
		if v, ok := c.Params[f.Name]; ok && f.Secret && v != nil {
			m[placeholder(f.Name)] = run.ToText(v)
		}
	}
	if c.Token != nil {
		if c.Token.AccessToken != "" {
			m[placeholder("token.access_token")] = c.Token.AccessToken
		}
		if c.Token.RefreshToken != "" {
			m[placeholder("token.refresh_token")] = c.Token.RefreshToken
		}
	}
	return m
}

func (e *Engine) connection(ctx context.Context, project, id string) (*lang.Project, *connection.Connection, error) {
	p := e.Projects[project]
	if p == nil {
		return nil, nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("this worker serves no project %q", project), "config", nil)
	}
	key := project + "\x00" + id
	e.mu.Lock()
	cc := e.conns[key]
	e.mu.Unlock()
	if cc.c != nil && time.Since(cc.at) < e.connectionTTL() {
		return p, cc.c, nil
	}
	if e.Resolve == nil {
		return nil, nil, temporal.NewNonRetryableApplicationError("the worker has no connections", "config", nil)
	}
	c, err := e.Resolve(ctx, p, id)
	if err != nil {
		return nil, nil, temporal.NewNonRetryableApplicationError(err.Error(), "config", nil)
	}
	if c.Revoked {
		return nil, nil, temporal.NewNonRetryableApplicationError(fmt.Sprintf("connection %q is revoked", id), "auth_expired", nil)
	}
	e.mu.Lock()
	if e.conns == nil {
		e.conns = map[string]cachedConn{}
	}
	e.conns[key] = cachedConn{c, time.Now()}
	e.mu.Unlock()
	return p, c, nil
}

// Seal is the activity that gives the workflow its connection: parameters
// with secrets as placeholders.
func (e *Engine) Seal(ctx context.Context, project, id string) (Sealed, error) {
	p, c, err := e.connection(ctx, project, id)
	if err != nil {
		return Sealed{}, err
	}
	s := Sealed{Params: map[string]any{}}
	for k, v := range c.Params {
		if f := p.Connector.Param(k); f != nil && f.Secret && v != nil {
			v = placeholder(k)
		}
		s.Params[k] = v
	}
	if t := c.Token; t != nil {
		s.Token = &Token{TokenType: t.TokenType, Expiry: t.Expiry}
		if t.AccessToken != "" {
			s.Token.AccessToken = placeholder("token.access_token")
		}
		if t.RefreshToken != "" {
			s.Token.RefreshToken = placeholder("token.refresh_token")
		}
	}
	return s, nil
}

// unseal puts the real secrets into s; Basic credentials are decoded,
// unsealed and encoded again.
func unseal(s string, sec map[string]string) string {
	if !strings.Contains(s, "__flowrun_sealed_") {
		if b, ok := strings.CutPrefix(s, "Basic "); ok {
			if raw, err := base64.StdEncoding.DecodeString(b); err == nil && strings.Contains(string(raw), "__flowrun_sealed_") {
				return "Basic " + base64.StdEncoding.EncodeToString([]byte(unseal(string(raw), sec)))
			}
		}
		return s
	}
	for ph, v := range sec {
		s = strings.ReplaceAll(s, ph, v)
	}
	return s
}

// reseal takes the real secrets out of s again (longest first would be
// ideal; secrets rarely contain each other).
func reseal(s string, sec map[string]string) string {
	for ph, v := range sec {
		if len(v) >= 4 && strings.Contains(s, v) {
			s = strings.ReplaceAll(s, v, ph)
		}
	}
	return s
}

// maxActivityBody bounds a response body carried through history; bodies
// beyond it fail the step (Temporal's payload limit is 2 MiB).
const maxActivityBody = 1 << 20

// HTTP is the activity that sends one request. With a retry policy
// (in.Retry) its outcome is the activity's: a status in Retry.On, or a
// failed connection that may be repeated, fails it retryably while
// attempts remain, after what the response asks to wait (Retry-After,
// rate-limit reset headers) when it says; any other error status fails it
// non-retryably with the response as the failure's details.
func (e *Engine) HTTP(ctx context.Context, in HTTPRequest) (HTTPResponse, error) {
	p, c, err := e.connection(ctx, in.Project, in.ConnectionID)
	if err != nil {
		return HTTPResponse{}, err
	}
	sec := secrets(p, c)
	pol := in.Retry
	last := pol == nil || int(activity.GetInfo(ctx).Attempt) >= pol.Attempts
	fail := func(msg string, err error) (HTTPResponse, error) {
		if pol == nil {
			return HTTPResponse{Error: reseal(msg, sec)}, nil
		}
		if !last && err != nil && run.RetryableError(err, in.Method) {
			return HTTPResponse{}, temporal.NewApplicationErrorWithOptions(reseal(msg, sec), ErrHTTPTransport,
				temporal.ApplicationErrorOptions{NextRetryDelay: pol.Delay(int(activity.GetInfo(ctx).Attempt))})
		}
		return HTTPResponse{}, temporal.NewNonRetryableApplicationError(reseal(msg, sec), ErrHTTPTransport, nil)
	}
	u, err := url.Parse(unseal(in.URL, sec))
	if err != nil {
		return fail("bad URL: "+err.Error(), nil)
	}
	body := in.Body
	if bytes.Contains(body, []byte("__flowrun_sealed_")) {
		body = []byte(unseal(string(body), sec))
	}
	rctx := ctx
	if pol != nil && pol.Timeout > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, pol.Timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(rctx, in.Method, u.String(), bytes.NewReader(body))
	if err != nil {
		return fail(err.Error(), nil)
	}
	for k, vs := range in.Header {
		for _, v := range vs {
			req.Header.Add(k, unseal(v, sec))
		}
	}
	if in.Host != "" {
		req.Host = in.Host
	}
	// the connector's OAuth 2.0 token is had here, on the worker
	oauth := req.Header.Get("Authorization") == "Bearer "+run.OAuthPlaceholder
	var authz string
	if oauth {
		if authz, err = e.oauthAuthorization(ctx, p, c, in, ""); err != nil {
			return HTTPResponse{}, oauthFailure(err, sec)
		}
		req.Header.Set("Authorization", authz)
		sec[run.OAuthPlaceholder] = strings.TrimPrefix(authz, "Bearer ")
	}
	if e.IdempotencyHeader != "" && in.Method != http.MethodGet && in.Method != http.MethodHead && req.Header.Get(e.IdempotencyHeader) == "" {
		info := activity.GetInfo(ctx)
		req.Header.Set(e.IdempotencyHeader, info.WorkflowExecution.ID+"/"+info.ActivityID)
	}
	base := e.Client
	if base == nil {
		base = http.DefaultClient
	}
	hc := *base
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err == nil && oauth && resp.StatusCode == http.StatusUnauthorized {
		// the token was refused: a new one, once, as the interpreter does
		again, aerr := e.oauthAuthorization(ctx, p, c, in, authz)
		if aerr != nil {
			resp.Body.Close()
			return HTTPResponse{}, oauthFailure(aerr, sec)
		}
		if again != authz {
			resp.Body.Close()
			sec[placeholder("oauth2.refused")] = sec[run.OAuthPlaceholder]
			sec[run.OAuthPlaceholder] = strings.TrimPrefix(again, "Bearer ")
			retry := req.Clone(rctx)
			retry.Body = io.NopCloser(bytes.NewReader(body))
			retry.Header.Set("Authorization", again)
			resp, err = hc.Do(retry)
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return HTTPResponse{}, ctx.Err() // the activity timed out or was canceled: Temporal retries it
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if rctx.Err() != nil {
			return fail(fmt.Sprintf("%s %s: no response within %s", in.Method, in.URL, pol.Timeout), err)
		}
		return fail(fmt.Sprintf("%s %s: %v", in.Method, in.URL, err), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxActivityBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return HTTPResponse{}, ctx.Err()
		}
		return fail(fmt.Sprintf("%s %s: reading response: %v", in.Method, in.URL, err), err)
	}
	if len(data) > maxActivityBody {
		return fail(fmt.Sprintf("%s %s: response body over the engine's 1 MiB limit", in.Method, in.URL), nil)
	}
	out := HTTPResponse{Status: resp.StatusCode, Header: map[string][]string{}}
	for k, vs := range resp.Header {
		for _, v := range vs {
			out.Header[k] = append(out.Header[k], reseal(v, sec))
		}
	}
	out.Body = data
	for _, v := range sec {
		if len(v) >= 4 && bytes.Contains(data, []byte(v)) {
			out.Body = []byte(reseal(string(data), sec))
			break
		}
	}
	if pol == nil || (out.Status < 400 && !slices.Contains(pol.On, out.Status)) {
		return out, nil
	}
	msg := fmt.Sprintf("%s %s: %d %s", in.Method, in.URL, out.Status, http.StatusText(out.Status))
	if !last && slices.Contains(pol.On, out.Status) {
		wait, hdr := run.WaitHint(resp.Header, time.Now())
		if wait == 0 || pol.MaxWait <= 0 || wait <= pol.MaxWait {
			if wait == 0 { // the response names no wait: the step's backoff, with jitter
				wait = pol.Delay(int(activity.GetInfo(ctx).Attempt))
			}
			return HTTPResponse{}, temporal.NewApplicationErrorWithOptions(msg, ErrHTTPStatus,
				temporal.ApplicationErrorOptions{NextRetryDelay: wait, Details: []any{out}})
		}
		msg += fmt.Sprintf(": not retried: %s asks to wait %s, longer than %s", hdr, lang.FormatWait(wait), pol.MaxWait)
	}
	if out.Status < 400 {
		return out, nil // a status below 400 in retry.on, on the last attempt
	}
	return HTTPResponse{}, temporal.NewApplicationErrorWithOptions(msg, ErrHTTPStatus,
		temporal.ApplicationErrorOptions{NonRetryable: true, Details: []any{out}})
}

// oauthAuthorization is the Authorization header of the connector's OAuth
// 2.0 auth for a request's connection, from a Runner kept per connection on
// this worker (it caches the token, refreshes it when expired or rejected,
// and writes a refreshed token back to the connection file).
func (e *Engine) oauthAuthorization(ctx context.Context, p *lang.Project, c *connection.Connection, in HTTPRequest, rejected string) (string, error) {
	key := in.Project + "\x00" + in.ConnectionID
	e.mu.Lock()
	r := e.oauth[key]
	if r == nil || r.Connection != c { // c is resolved again after ConnectionTTL
		if e.oauth == nil {
			e.oauth = map[string]*run.Runner{}
		}
		r = &run.Runner{Project: p, Connection: c, Client: e.Client, Limits: e.Limits}
		e.oauth[key] = r
	}
	e.mu.Unlock()
	return r.OAuthAuthorization(ctx, rejected)
}

// oauthFailure is the HTTP activity's failure when no token could be had:
// typed ErrOAuth with the run error code as its details, so the step fails
// with that code (auth_expired: only a new login helps); retried by the
// activity's policy only when the code is transient (the token endpoint
// failed).
func oauthFailure(err error, sec map[string]string) error {
	code := run.ErrorCode(err)
	return temporal.NewApplicationErrorWithOptions(reseal(err.Error(), sec), ErrOAuth,
		temporal.ApplicationErrorOptions{NonRetryable: code != lang.CodeTransient, Details: []any{code}})
}
