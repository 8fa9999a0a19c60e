package run

import (
	"errors"
	"net"
	"time"

	"github.com/flowrun/flowrun/lang"
	"github.com/flowrun/flowrun/value"
	"github.com/flowrun/flowrun/webhook"
)

// a run error tells webhook.Deliver what kind of failure it is
var _ webhook.CodedError = (*RunError)(nil)

// codedError is an error that knows its code (SPEC §8.3) and what of a
// response it carries.
type codedError struct {
	code       string
	msg        string
	status     int
	headers    map[string]any
	body       any
	details    any
	retryAfter time.Duration
	cause      error
}

func (e *codedError) Error() string { return e.msg }
func (e *codedError) Unwrap() error { return e.cause }

// coded is implemented by errors that carry their code.
type coded interface{ errorCode() string }

func (e *codedError) errorCode() string { return e.code }

// CodedError is an error with a run error code (lang.Code*), for a
// transport to return from a round trip: the step fails with that code,
// as if the interpreter had met the error itself.
func CodedError(code, msg string) error { return &codedError{code: code, msg: msg} }
func (e *HTTPError) errorCode() string  { return e.Code }

// withCode gives err a code unless it already has one (or is a
// cancellation or a limit, whose codes are their own).
func withCode(code string, err error) error {
	if err == nil || codeOf(err) != lang.CodeFlowError || errors.Is(err, ErrLimit) {
		return err
	}
	return &codedError{code: code, msg: err.Error(), cause: err}
}

// ErrorCode is the code of an error a run returned, as `error.code` says it
// in a catch: what a fail step or a response rule gave, else one of
// http_error, auth_expired, throttled, transient, config, cancelled, failed
// or flow_error. The trigger host acts on it.
func ErrorCode(err error) string {
	var re *RunError
	if errors.As(err, &re) && re.Code != "" {
		return re.Code
	}
	return codeOf(err)
}

// RetryAfter is how long the service asked to wait before trying again,
// when the error says (a throttled request); 0 otherwise.
func RetryAfter(err error) time.Duration {
	var re *RunError
	if errors.As(err, &re) {
		return re.RetryAfter
	}
	return 0
}

// codeOf finds the code of an error that is not (yet) a RunError.
func codeOf(err error) string {
	var c coded
	switch {
	case errors.As(err, &c):
		return c.errorCode()
	case errors.Is(err, ErrCanceled):
		return lang.CodeCancelled
	}
	var re *RequestError
	if errors.As(err, &re) {
		return lang.CodeConfig
	}
	var te *timeoutError
	if errors.As(err, &te) {
		return lang.CodeTransient
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return lang.CodeTransient
	}
	return lang.CodeFlowError
}

// ErrorCode implements the interface through which webhook.Deliver and the
// trigger host read an error's code.
func (e *RunError) ErrorCode() string { return e.Code }

// RetryWait is how long the service asked to wait (0: it did not say).
func (e *RunError) RetryWait() time.Duration { return e.RetryAfter }

// fill copies what an underlying error carries into the run error.
func (e *RunError) fill(err error) {
	var he *HTTPError
	var ce *codedError
	switch {
	case errors.As(err, &he):
		e.Code, e.Status, e.Headers, e.Body, e.RetryAfter = he.Code, he.Status, he.Headers, he.Body, he.RetryAfter
	case errors.As(err, &ce):
		e.Code, e.Status, e.Headers, e.Body, e.Details, e.RetryAfter = ce.code, ce.status, ce.headers, ce.body, ce.details, ce.retryAfter
	default:
		e.Code = codeOf(err)
	}
	if e.Code == "" {
		e.Code = lang.CodeFlowError
	}
}

// errorFromObject builds an error from an object given to fail (an error
// object of a catch, or a mapping written like one): message, code, status,
// headers, body, details and retry_after are taken from it.
func errorFromObject(m map[string]any, defCode string) *codedError {
	e := &codedError{code: defCode, msg: value.Text(m["message"])}
	if c, ok := m["code"]; ok && c != nil && value.Text(c) != "" {
		e.code = value.Text(c)
	}
	if s, ok := toInt(m["status"]); ok {
		e.status = s
	}
	if h, ok := m["headers"].(map[string]any); ok {
		e.headers = h
	}
	e.body = m["body"]
	e.details = value.Normalize(m["details"])
	if ra, ok := m["retry_after"].(string); ok {
		if d, err := time.ParseDuration(ra); err == nil && d > 0 {
			e.retryAfter = d
		}
	}
	return e
}

func toInt(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), true
	case float64:
		if n == float64(int(n)) {
			return int(n), true
		}
	}
	return 0, false
}
