package lang

import (
	"time"

	"github.com/expr-lang/expr/types"
)

// Prop is one field of an object that a name in scope holds: its check-time
// type and how a run builds its value from C. Declaring both in one place is
// what keeps `validate` and runs from drifting apart: a field the checker
// accepts is a field a run fills.
type Prop[C any] struct {
	Name string
	Type types.Type
	Get  func(C) any
}

// Object is the declaration of an object-valued name (connector, flow,
// error, ...).
type Object[C any] []Prop[C]

// Type is the object's check-time type.
func (o Object[C]) Type() types.Map {
	m := make(types.Map, len(o))
	for _, p := range o {
		m[p.Name] = p.Type
	}
	return m
}

// Value builds the object's run-time value.
func (o Object[C]) Value(c C) map[string]any {
	m := make(map[string]any, len(o))
	for _, p := range o {
		m[p.Name] = p.Get(c)
	}
	return m
}

// ConnectorEnv is what a run knows of the connector: connector.yaml and its
// base_url evaluated for the connection.
type ConnectorEnv struct {
	C       *Connector
	BaseURL string
}

// ConnectorObject is `connector`.
var ConnectorObject = Object[ConnectorEnv]{
	{"name", types.String, func(e ConnectorEnv) any { return e.C.Name }},
	{"title", types.String, func(e ConnectorEnv) any { return e.C.Title }},
	{"version", types.String, func(e ConnectorEnv) any { return e.C.Version }},
	{"base_url", types.String, func(e ConnectorEnv) any { return e.BaseURL }},
}

// FlowEnv is what a run knows of the running flow.
type FlowEnv struct {
	F     *Flow
	RunID string
}

// FlowObject is `flow`.
var FlowObject = Object[FlowEnv]{
	{"name", types.String, func(e FlowEnv) any { return e.F.Name }},
	{"run_id", types.String, func(e FlowEnv) any { return e.RunID }},
	{"type", types.String, func(e FlowEnv) any { return string(e.F.Type) }},
}

// HTTPResult is an http step's answer as flows see it.
type HTTPResult struct {
	Status  int
	Headers map[string]any // lower-case names
	Body    any
}

// ResponseObject is an http step's result (`steps.<id>` of a step without
// paginate) and `response` inside paginate.
var ResponseObject = Object[HTTPResult]{
	{"status", types.Int, func(r HTTPResult) any { return r.Status }},
	{"headers", types.Map{types.Extra: types.String}, func(r HTTPResult) any { return r.Headers }},
	{"body", types.Any, func(r HTTPResult) any { return r.Body }},
}

// PagedResult is an http step's result with paginate.
type PagedResult struct {
	Items []any
	Pages int
}

// PagesObject is the result of an http step with paginate.
var PagesObject = Object[PagedResult]{
	{"items", types.Array(types.Any), func(r PagedResult) any { return r.Items }},
	{"pages", types.Int, func(r PagedResult) any { return r.Pages }},
}

// PageInfo is one page of a paginated http step, as its each_page steps
// see it.
type PageInfo struct {
	Items  []any
	Number int // 1 for the first page
}

// PageObject is `page` in the each_page steps and collect of paginate.
var PageObject = Object[PageInfo]{
	{"items", types.Array(types.Any), func(p PageInfo) any { return p.Items }},
	{"number", types.Int, func(p PageInfo) any { return p.Number }},
}

// Request is a webhook delivery as the event steps see it.
type Request struct {
	Method  string
	Path    string
	Headers map[string]any // lower-case names, each one string
	Query   map[string]any
	Body    any    // parsed JSON, or form fields, or the text
	Raw     string // the body's bytes as text
}

// RequestObject is `request` in a webhook flow's event steps and dedupe.
var RequestObject = Object[*Request]{
	{"method", types.String, func(r *Request) any { return r.Method }},
	{"path", types.String, func(r *Request) any { return r.Path }},
	{"headers", types.Map{types.Extra: types.String}, func(r *Request) any { return r.Headers }},
	{"query", types.Map{types.Extra: types.Any}, func(r *Request) any { return r.Query }},
	{"body", types.Any, func(r *Request) any { return r.Body }},
	{"raw", types.String, func(r *Request) any { return r.Raw }},
}

// Hook is `webhook`: where deliveries go and the secret made for them.
type Hook struct {
	URL    string
	Secret string
}

// WebhookObject is `webhook` in a webhook flow.
var WebhookObject = Object[Hook]{
	{"url", types.String, func(h Hook) any { return h.URL }},
	{"secret", types.String, func(h Hook) any { return h.Secret }},
}

// ErrorInfo is a caught error as `catch` sees it: one shape for every
// error (SPEC §8.3).
type ErrorInfo struct {
	Message    string
	Code       string         // what fail or a response rule gave, else one of the Code... constants
	Status     int            // 0: none (the error was not an HTTP response)
	Headers    map[string]any // the response's headers (lower-case names); nil: none
	Body       any
	Details    any
	RetryAfter time.Duration // how long the service asked to wait; 0: it did not say
	Step       string
	Flow       string
}

// The codes of errors that neither `fail` nor a response rule named.
const (
	CodeHTTPError   = "http_error"   // a status outside `expect`
	CodeAuthExpired = "auth_expired" // 401/403 after a token refresh was tried or was not possible
	CodeThrottled   = "throttled"    // 429 after the retries, or a rate-limit wait over max_wait
	CodeTransient   = "transient"    // network errors, timeouts, 5xx after the retries
	CodeConfig      = "config"       // a connection or parameter problem
	CodeCancelled   = "cancelled"    // the run was cancelled or timed out
	CodeFailed      = "failed"       // a `fail` step without a code
	CodeFlowError   = "flow_error"   // the flow itself went wrong: an expression, an output, a limit
)

// ErrorObject is `error` in a catch block.
var ErrorObject = Object[*ErrorInfo]{
	{"message", types.String, func(e *ErrorInfo) any { return e.Message }},
	{"code", types.String, func(e *ErrorInfo) any { return e.Code }},
	{"status", types.Int, func(e *ErrorInfo) any {
		if e.Status == 0 {
			return nil
		}
		return e.Status
	}},
	{"headers", types.Map{types.Extra: types.String}, func(e *ErrorInfo) any {
		if e.Headers == nil {
			return nil
		}
		return e.Headers
	}},
	{"body", types.Any, func(e *ErrorInfo) any { return e.Body }},
	{"details", types.Any, func(e *ErrorInfo) any { return e.Details }},
	{"retry_after", types.String, func(e *ErrorInfo) any {
		if e.RetryAfter <= 0 {
			return nil
		}
		return FormatWait(e.RetryAfter)
	}},
	{"step", types.String, func(e *ErrorInfo) any { return e.Step }},
	{"flow", types.String, func(e *ErrorInfo) any { return e.Flow }},
}

// FormatWait writes a wait as a duration that `wait` steps and
// `retry: {after}` read back: whole seconds when it is at least a second
// ("2s", "1m30s"), else milliseconds.
func FormatWait(d time.Duration) string {
	if d >= time.Second {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// TokenObject is `connection.token`, an OAuth 2.0 token.
var TokenObject = Object[TokenInfo]{
	{"access_token", types.String, func(t TokenInfo) any { return t.AccessToken }},
	{"refresh_token", types.String, func(t TokenInfo) any { return t.RefreshToken }},
	{"token_type", types.String, func(t TokenInfo) any { return t.TokenType }},
	{"expiry", types.String, func(t TokenInfo) any {
		if t.Expiry == "" {
			return nil
		}
		return t.Expiry
	}},
}

// TokenInfo is an OAuth 2.0 token as expressions see it.
type TokenInfo struct {
	AccessToken, RefreshToken, TokenType string
	Expiry                               string // RFC 3339, "" when unknown
}

// Name documents a name in scope: where it exists. The checker uses the
// table to say, for a name that is unknown where it stands, where it exists.
type Name struct {
	Name  string
	Where string // where it exists, in words, as the reference and hints say it
}

// Names lists the names expressions may use, in the order of the reference.
var Names = []Name{
	{"inputs", "every flow's steps; dedupe; verify.secret"},
	{"vars", "the steps of every flow (variables set by `set`)"},
	{"steps", "the steps of every flow (results of steps with an id, once they ran)"},
	{"connection", "every flow's steps; connector.yaml; verify.secret"},
	{"connector", "every flow's steps; connector.yaml"},
	{"flow", "every flow's steps"},
	{"item", "the steps and collect of a for_each (rename it with as:)"},
	{"index", "the steps and collect of a for_each (rename it with index:)"},
	{"cursor", "the steps of poll flows"},
	{"request", "the event steps and dedupe of webhook flows"},
	{"registration", "the deregister and event steps and verify.secret of webhook flows"},
	{"webhook", "the register, deregister and event steps and verify.secret of webhook flows"},
	{"response", "paginate's items, next, next_query, each_page and collect; the when, fail and retry of on_response rules"},
	{"page", "the each_page steps and collect of paginate"},
	{"error", "catch blocks"},
	{"event", "the dedupe expression of poll and webhook flows"},
}

// WhereIs says where a name exists, or "" for a name that is not one of Names.
func WhereIs(name string) string {
	for _, n := range Names {
		if n.Name == name {
			return n.Where
		}
	}
	return ""
}

// ClockName is the scope name under which a run puts its clock, for `now()`
// and `nowUTC()` (see check/clock.go). No expression can spell it.
const ClockName = "flowrun clock"

// UUIDName is the scope name under which a run puts its source of
// `uuid()` values, when it has one (see check/clock.go): a Temporal
// workflow records each value in its history, so a replay sees the same.
const UUIDName = "flowrun uuid"
